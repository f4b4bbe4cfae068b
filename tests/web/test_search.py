"""Search relevance, on catalogs built for each rule, the same on both stores.

Every case runs on SQL and on MongoDB (the ``store`` fixture) and checks the
names in the order a visitor sees them; ``test_both_stores_give_the_same_pages``
compares the pages byte for byte.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import override_settings

from catalog.models import Classifier, Package
from tests.web.conftest import BASE_TIME, fill_mongo

# name, summary, keywords, days after BASE_TIME of its last update (newer = larger);
# created in this order (ids ascending).
PACKAGES = [
    ("parser", "Parse things", "", 1),
    ("parser-tools", "Helpers around it", "", 2),
    ("fast-parser", "A quick one", "", 3),
    ("json-kit", "Reads JSON with parsers inside", "", 4),
    ("requests", "HTTP for humans", "", 5),
    ("requests-mock", "Mock out the network", "", 6),
    ("DjangoRestFramework", "Web APIs made easy", "", 7),
    ("confy", "Settings files", "yaml,toml", 8),
    ("twin-a", "Identical words", "", 9),
    ("twin-b", "Identical words", "", 2),
    ("flask-cache", "Caching for Flask", "", 10),
    ("cache-json", "Fast JSON caching", "", 11),
    ("nothing-here", "Unrelated entirely", "", 12),
]


def names(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    return re.findall(r'class="package-snippet__name">([^<]+)<', response.content.decode())


@pytest.fixture
def search_catalog(db):
    for display, summary, keywords, _ in PACKAGES:
        Package.objects.create(display_name=display, summary=summary, keywords=keywords)
    for display, _, _, days in PACKAGES:
        Package.objects.filter(display_name=display).update(
            updated=BASE_TIME + timedelta(days=days)
        )


@pytest.fixture(params=["sql", "mongo"])
def store(request, settings, search_catalog):
    settings.CATALOG_READ_BACKEND = request.param
    if request.param == "mongo":
        fill_mongo()
    return request.param


def test_exact_name_then_name_prefix_and_words_then_summary_words(client, store):
    # parser: exact; parser-tools (prefix) and fast-parser (name word), added last first;
    # json-kit has "parsers" in its summary.
    assert names(client.get("/search/", {"q": "parser"})) == [
        "parser",
        "fast-parser",
        "parser-tools",
        "json-kit",
    ]


def test_plural_finds_the_singular_by_its_stem(client, store):
    # "parsers" is no project name: all four hold the word, names first.
    assert names(client.get("/search/", {"q": "parsers"})) == [
        "fast-parser",
        "parser-tools",
        "parser",
        "json-kit",
    ]


def test_name_prefix_ranks_above_a_summary_word(client, store):
    assert names(client.get("/search/", {"q": "pars"})) == ["parser-tools", "parser"]
    assert names(client.get("/search/", {"q": "requests-m"})) == ["requests-mock"]


def test_a_name_within_one_edit_is_found(client, store):
    for typo in ("reqests", "requestss", "requezts", "rqeuests"):
        assert names(client.get("/search/", {"q": typo}))[:1] == ["requests"], typo
    assert names(client.get("/search/", {"q": "rekwests"})) == []  # two edits


def test_typos_rank_after_names_that_hold_the_word(client, store):
    # "parsed" is one edit from "parser", but its stem "pars" is no word of any package.
    assert names(client.get("/search/", {"q": "parsed"})) == ["parser"]


def test_camel_case_names_are_split_into_words(client, store):
    assert names(client.get("/search/", {"q": "rest framework"})) == ["DjangoRestFramework"]
    assert names(client.get("/search/", {"q": "djangorestframework"})) == ["DjangoRestFramework"]


def test_keywords_are_searched(client, store):
    assert names(client.get("/search/", {"q": "toml"})) == ["confy"]


def test_every_word_must_match(client, store):
    # Both words: in the name (flask-cache, cache-json have one each) or the summary.
    assert names(client.get("/search/", {"q": "json cache"})) == ["cache-json"]
    assert names(client.get("/search/", {"q": "caching flask"})) == ["flask-cache"]


def test_within_a_rank_the_package_added_last_comes_first(client, store):
    # twin-b was added after twin-a (though updated earlier, and later by name).
    assert names(client.get("/search/", {"q": "identical"})) == ["twin-b", "twin-a"]


def test_common_words_alone_still_search_names(client, store):
    assert names(client.get("/search/", {"q": "the"})) == []
    assert names(client.get("/search/", {"q": "for humans"})) == ["requests"]


def test_search_counts_all_hits_and_stops_at_page_500(client, store):
    page = client.get("/search/", {"q": "parser"}).content.decode()
    assert "4 projects" in page
    response = client.get("/search/", {"q": "parser", "page": "501"})
    assert response.status_code == 404
    assert "search results stop at page 500 (the first 10,000 projects)" in (
        response.content.decode()
    )


def test_classifier_filters_can_be_picked_and_removed(client, store):
    django = Classifier.objects.create(name="Framework :: Django")
    typed = Classifier.objects.create(name="Typing :: Typed")
    Package.objects.get(name="djangorestframework").classifiers.set([django, typed])
    Package.objects.get(name="parser").classifiers.set([typed])
    if store == "mongo":
        fill_mongo()
    page = client.get("/search/").content.decode()
    assert '<option value="Framework :: Django">Framework :: Django</option>' in page
    assert '<optgroup label="Typing">' in page

    filtered = client.get("/search/", {"c": ["Typing :: Typed", "Framework :: Django"]})
    assert names(filtered) == ["DjangoRestFramework"]
    page = filtered.content.decode()
    assert '<input type="hidden" name="c" value="Typing :: Typed">' in page
    # Each active filter has a link to the same search without it.
    assert (
        'href="?c=Framework+%3A%3A+Django"><span aria-hidden="true">×</span>'
        '<span class="sr-only">Remove the filter Typing :: Typed</span>'
    ) in page
    assert names(client.get("/search/", {"c": "Typing :: Typed"})) == [
        "DjangoRestFramework",
        "parser",
    ]
    assert names(client.get("/search/", {"q": "parser", "c": "Typing :: Typed"})) == ["parser"]
    assert names(client.get("/search/", {"q": "parse things", "c": "Typing :: Typed"})) == [
        "parser"
    ]


def test_edits_change_what_is_found(client, store):
    package = Package.objects.get(name="confy")
    package.summary = "Reads INI parsers"
    package.keywords = ""
    package.save()
    Package.objects.filter(name="parser").update(summary="Renamed away", display_name="parsley")
    if store == "mongo":
        fill_mongo()
    assert names(client.get("/search/", {"q": "toml"})) == []
    assert "confy" in names(client.get("/search/", {"q": "parsers"}))
    assert names(client.get("/search/", {"q": "parsley"})) == ["parsley"]


QUERIES = [
    "parser",
    "parsers",
    "pars",
    "reqests",
    "rest framework",
    "json cache",
    "identical",
    "json",
    "a",
    "zzz",
    "$where",
    "^parser",
    "=parser",
    "n:parser",
]


def test_both_stores_give_the_same_pages(client, search_catalog):
    fill_mongo()
    for q in QUERIES:
        for extra in ({}, {"o": "name"}, {"o": "-updated"}):
            params = {"q": q, **extra}
            with override_settings(CATALOG_READ_BACKEND="sql"):
                sql = client.get("/search/", params)
            with override_settings(CATALOG_READ_BACKEND="mongo"):
                mongo = client.get("/search/", params)
            assert sql.status_code == mongo.status_code == 200, params
            assert sql.content.decode() == mongo.content.decode(), params


def test_term_prefixes_in_queries_are_plain_text(client, store):
    # Terms are stored with prefixes ("=", "^", "n:"): typed by a visitor they match nothing more.
    # "^parser" is no name: only the word "parser" counts.
    assert names(client.get("/search/", {"q": "^parser"})) == names(
        client.get("/search/", {"q": "parsers"})
    )
    assert names(client.get("/search/", {"q": "=parser"}))[0] != "parser"
    assert names(client.get("/search/", {"q": "n:zzz"})) == []


def test_pages_cross_ranks_the_same_on_both_stores(client, db):
    # 30 names starting with the word (rank 1), then 15 summaries holding it (rank 3).
    for i in range(30):
        Package.objects.create(display_name=f"bulkword-{i:02d}")
    for i in range(15):
        Package.objects.create(display_name=f"other-{i:02d}", summary="About bulkword things")
    fill_mongo()
    pages = {}
    for backend in ("sql", "mongo"):
        with override_settings(CATALOG_READ_BACKEND=backend):
            pages[backend] = [
                client.get("/search/", {"q": "bulkword", "page": str(n)}) for n in (1, 2, 3)
            ]
    for sql, mongo in zip(pages["sql"], pages["mongo"], strict=True):
        assert sql.content.decode() == mongo.content.decode()
    second = names(pages["sql"][1])
    # Within each rank the package added last comes first.
    assert second == [f"bulkword-{i:02d}" for i in range(9, -1, -1)] + [
        f"other-{i:02d}" for i in range(14, 4, -1)
    ]
    assert names(pages["sql"][2]) == [f"other-{i:02d}" for i in range(4, -1, -1)]
    assert "45 projects" in pages["mongo"][2].content.decode()


def test_page_slice():
    from catalog.selectors.common import page_slice

    assert page_slice([1, 30, 0, 15], offset=20, limit=20) == [(1, 19, 11), (3, 0, 9)]
    assert page_slice([1, 30, 0, 15], offset=0, limit=20) == [(0, 0, 1), (1, 0, 19)]
    assert page_slice([5], offset=20, limit=20) == []
