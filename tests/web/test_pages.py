"""The public pages, as a visitor sees them, on both stores (the ``backend`` fixture)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from catalog.models import Package
from tests.web.conftest import fill_mongo


def text(response) -> str:
    return response.content.decode()


def test_home_shows_counts_newest_releases_and_updated_packages(client, backend):
    page = text(client.get("/"))
    # 3 packages, 7 releases, 5*2 + 1 + 1 files, 3 users.
    assert re.search(r"<strong>3</strong> packages", page)
    assert re.search(r"<strong>7</strong> releases", page)
    assert re.search(r"<strong>12</strong> files", page)
    assert re.search(r"<strong>3</strong> users", page)
    newest = page.split('id="newest-releases"')[1].split("</section>")[0]
    assert newest.index("3.0rc1") < newest.index("0.1") < newest.index("2.0b1")
    assert 'href="/project/other/3.0rc1/"' in newest
    assert "Something else, mentions demo in passing" in newest


def test_search_puts_the_exact_name_first_and_matches_summaries(client, backend):
    page = text(client.get("/search/", {"q": "Demo"}))
    names = re.findall(r'class="package-snippet__name">([^<]+)<', page)
    assert names == ["demo", "Demo_Pkg", "Other"]
    assert "3 projects" in page


def test_search_by_any_spelling_of_a_name(client, backend):
    names = re.findall(
        r'class="package-snippet__name">([^<]+)<', text(client.get("/search/", {"q": "demo.pkg"}))
    )
    assert names == ["Demo_Pkg"]


def test_search_classifier_filter_matches_sub_classifiers(client, backend):
    page = text(client.get("/search/", {"c": "Programming Language :: Python"}))
    names = re.findall(r'class="package-snippet__name">([^<]+)<', page)
    assert names == ["demo", "Demo_Pkg"]
    page = text(client.get("/search/", {"c": "Programming Language :: Python :: 3.12"}))
    assert re.findall(r'class="package-snippet__name">([^<]+)<', page) == ["Demo_Pkg"]
    # A prefix that is not a whole classifier level matches nothing.
    page = text(client.get("/search/", {"c": "Programming Language :: Pyth"}))
    assert "0 projects" in page


def test_search_license_filter_and_orders(client, backend):
    page = text(client.get("/search/", {"license": "MIT License"}))
    assert re.findall(r'class="package-snippet__name">([^<]+)<', page) == ["Demo_Pkg"]
    page = text(client.get("/search/", {"q": "demo", "o": "name"}))
    assert re.findall(r'class="package-snippet__name">([^<]+)<', page) == [
        "demo",
        "Demo_Pkg",
        "Other",
    ]


@pytest.mark.parametrize("hostile", [".*", "^demo$", "$where", '{"$gt": ""}', "a|b", "(", "\\"])
def test_search_input_is_literal_text(client, backend, hostile):
    response = client.get("/search/", {"q": hostile, "c": hostile, "license": hostile})
    assert response.status_code == 200
    assert "0 projects" in text(response)


def test_search_pagination_errors(client, backend):
    assert client.get("/search/", {"q": "demo", "page": "2"}).status_code == 404
    for bad in ("abc", "0", "-1", "1.5", "²"):
        response = client.get("/search/", {"q": "demo", "page": bad})
        assert response.status_code == 400, bad
        assert "is not a positive whole number" in text(response)
    response = client.get("/search/", {"q": "x" * 201})
    assert response.status_code == 400
    assert "The search text is too long (201 characters); the limit is 200." in text(response)


def test_search_paginates(client, backend):
    # 22 more packages with "bulk" in the name: 20 per page, so two pages.
    Package.objects.bulk_create(
        Package(name=f"bulk-{i:02d}", display_name=f"bulk-{i:02d}") for i in range(22)
    )
    if backend == "mongo":
        fill_mongo()
    first = text(client.get("/search/", {"q": "bulk", "o": "name"}))
    second = text(client.get("/search/", {"q": "bulk", "o": "name", "page": "2"}))
    names = re.findall(r'class="package-snippet__name">([^<]+)<', first)
    assert names == [f"bulk-{i:02d}" for i in range(20)]
    assert re.findall(r'class="package-snippet__name">([^<]+)<', second) == ["bulk-20", "bulk-21"]
    assert 'rel="next" href="?q=bulk&amp;o=name&amp;page=2"' in first
    assert "Page 2 of 2" in second and 'rel="prev"' in second
    assert client.get("/search/", {"q": "bulk", "page": "3"}).status_code == 404


def test_package_page_redirects_other_spellings(client, backend):
    response = client.get("/project/Demo_Pkg/")
    assert response.status_code == 301
    assert response["Location"] == "/project/demo-pkg/"
    response = client.get("/project/DEMO.pkg/1.9/")
    assert response["Location"] == "/project/demo-pkg/1.9/"


def test_package_page_shows_the_default_release(client, backend):
    page = text(client.get("/project/demo-pkg/"))
    # 2.0b1 is a pre-release and 1.11 is yanked: 1.10 is the default.
    assert '<span class="package-header__version">1.10</span>' in page
    assert '<code id="install-command" class="install__command">pip install Demo_Pkg</code>' in page
    assert 'aria-label="Copy the install command to the clipboard"' in page
    assert '<link rel="canonical" href="http://testserver/project/demo-pkg/">' in page
    assert "Latest version" in page
    assert "banner" not in page.split("</header>")[1].split('class="wrap package-layout"')[0]


def test_release_history_is_pep440_newest_first_with_markers(client, backend):
    page = text(client.get("/project/demo-pkg/"))
    history = page.split('id="history"')[1].split("</section>")[0]
    versions = re.findall(r'class="release__version">([^<]+)<', history)
    assert versions == ["2.0b1", "1.11", "1.10", "1.9", "1.0"]
    rows = dict(zip(versions, history.split("<li")[1:], strict=True))
    assert "pre-release" in rows["2.0b1"]
    assert "yanked" in rows["1.11"] and "Yanked: broken wheel" in rows["1.11"]
    assert 'aria-current="page"' in rows["1.10"] and "this version" in rows["1.10"]


def test_files_sidebar_maintainers_and_classifiers(client, backend):
    page = text(client.get("/project/demo-pkg/"))
    files = page.split('id="files"')[1].split("</section>")[0]
    assert "demo_pkg-1.10.tar.gz" in files and "demo_pkg-1.10-py3-none-any.whl" in files
    assert "00" + "ab" * 31 in files
    assert "1000\xa0bytes" in files and "Mar 4, 2024 12:00 UTC" in files
    sidebar = page.split('class="package-sidebar"')[1]
    # Owners first, each linking to the maintainer's page.
    assert sidebar.index('href="/user/alice/"') < sidebar.index('href="/user/bob/"')
    assert "MIT License (MIT)" in sidebar
    assert '<a href="https://example.org/demo/src" rel="nofollow">Source</a>' in sidebar
    assert "<strong>Programming Language</strong>" in sidebar
    assert (
        '<a href="/search/?c=Programming%20Language%20%3A%3A%20Python%20%3A%3A%203.12">'
        "Python :: 3.12</a>" in sidebar
    )
    assert 'href="mailto:alice@example.org">Alice Liddell</a>' in sidebar


def test_release_page_banners(client, backend):
    page = text(client.get("/project/demo-pkg/1.11/"))
    assert "This release has been yanked." in page and "Reason: broken wheel" in page
    assert "pip install Demo_Pkg==1.11" in page
    assert "Newer version available (1.10)" in page
    page = text(client.get("/project/demo-pkg/2.0b1/"))
    assert "This is a pre-release." in page
    page = text(client.get("/project/demo-pkg/1.0/"))
    assert "Python &gt;=3.8" in page
    assert "demo_pkg-1.0.tar.gz" in page and "demo_pkg-1.10.tar.gz" not in page
    assert '<link rel="canonical" href="http://testserver/project/demo-pkg/1.0/">' in page


def test_user_page_lists_maintained_packages(client, backend):
    page = text(client.get(reverse("catalog:user", args=["alice"])))
    assert "<h1>Alice Liddell</h1>" in page
    assert re.findall(r'class="package-snippet__name">([^<]+)<', page) == ["demo", "Demo_Pkg"]
    assert "does not maintain any packages" in text(client.get("/user/carol/"))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/project/nope/", "no package named &#x27;nope&#x27;"),
        ("/project/demo-pkg/9.9/", "package &#x27;demo-pkg&#x27; has no version &#x27;9.9&#x27;"),
        ("/user/nobody/", "no user named &#x27;nobody&#x27;"),
        ("/no/such/page/", "There is nothing at this address."),
    ],
)
def test_friendly_not_found_pages(client, backend, url, message):
    response = client.get(url)
    assert response.status_code == 404
    page = text(response)
    assert message in page
    assert 'href="/search/"' in page and "Skip to main content" in page


def test_accessible_markup(client, backend):
    page = text(client.get("/project/demo-pkg/"))
    assert '<a class="skip-link" href="#content">Skip to main content</a>' in page
    assert '<main id="content"' in page
    assert '<nav aria-label="Main">' in page
    assert '<span class="sr-only">Search</span>' in page
    assert '<label class="sr-only" for="site-search-q">Search packages</label>' in page


def test_model_urls(catalog):
    assert catalog["demo_pkg"].get_absolute_url() == "/project/demo-pkg/"
    assert catalog["demo_pkg"].releases.get(version="1.9").get_absolute_url() == (
        "/project/demo-pkg/1.9/"
    )
    assert catalog["alice"].get_absolute_url() == "/user/alice/"
