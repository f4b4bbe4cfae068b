"""Kept listings of large packages: the pages they serve are the pages the rows give, every
write makes them stale at once (triggers), and the writers rebuild them."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from mongoengine.connection import get_db

from catalog.listings import listing_triggers_ensure
from catalog.models import PackageListing, Release, ReleaseFile
from catalog.package_files import TEXT_KINDS, TEXTS_COLLECTION
from catalog.services.listings import listings_refresh
from tests.web.conftest import fill_mongo, make_release

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
PAGES = [
    ("/project/demo-pkg/", "text/html"),
    ("/project/demo-pkg/1.9/", "text/html"),
    ("/project/demo-pkg/1.11/", "text/html"),  # the yanked release, marked as shown
    ("/pypi/demo-pkg/json", "application/json"),
    ("/pypi/demo-pkg/1.9/json", "application/json"),
    ("/simple/demo-pkg/", "text/html"),
    ("/simple/demo-pkg/", SIMPLE_JSON),
]


@pytest.fixture
def large(settings, catalog):
    """demo-pkg (five releases) counts as large; demo (one) does not."""
    settings.CATALOG_READ_BACKEND = "sql"
    settings.CATALOG_LISTING_MIN_RELEASES = 3
    # Every page rendered: a write that leaves `updated` alone (QuerySet.update)
    # does not move the page cache's stamp.
    settings.CATALOG_PAGE_CACHE = False
    return catalog["demo_pkg"]


def pages(client) -> list[tuple[bytes, str, str | None]]:
    """Each page's body, ETag (the project JSON's hashes its releases by their digest) and
    Last-Modified (the newest change of the releases comes from a current listing)."""
    responses = [client.get(url, HTTP_ACCEPT=accept) for url, accept in PAGES]
    assert [r.status_code for r in responses] == [200] * len(PAGES)
    return [(r.content, r["ETag"], r.get("Last-Modified")) for r in responses]


def listing(package) -> PackageListing:
    return PackageListing.objects.get(package=package)


def live_pages(client, package) -> list[tuple[bytes, str, str | None]]:
    """The pages read from the rows (no listing)."""
    PackageListing.objects.filter(package=package).delete()
    return pages(client)


def test_pages_from_a_listing_are_the_pages_from_the_rows(client, large):
    live = pages(client)
    assert not PackageListing.objects.exists()  # built by writers, never by a read
    assert listings_refresh(package_ids=[large.pk, large.pk + 1]) == 1  # demo is too small
    kept = listing(large)
    assert kept.built == kept.written and kept.name == "demo-pkg"
    assert kept.default_version == "1.10"
    assert pages(client) == live


def test_the_pages_are_served_from_the_listing(client, large):
    listings_refresh(package_ids=[large.pk])
    PackageListing.objects.filter(package=large).update(
        history='<li class="release"><a href="/project/demo-pkg/9.9/">kept</a></li>\n',
        json_releases='"9.9": []',
        simple_html="kept-simple<br>\n",
    )
    page = client.get("/project/demo-pkg/").content.decode()
    assert ">kept</a>" in page and "1.10" in page  # the shown release still comes from its row
    assert client.get("/pypi/demo-pkg/json").json()["releases"] == {"9.9": []}
    assert "kept-simple<br>" in client.get("/simple/demo-pkg/").content.decode()


def test_fewer_queries_with_a_listing_whatever_the_size(client, large):
    for index in range(30):
        make_release(large, f"0.{index}", days=-index - 1)
    listings_refresh(package_ids=[large.pk])
    budgets = {  # no page cache, so no stamp
        # package with its listing, classifiers, maintainers, shown release, its files
        "/project/demo-pkg/": 5,
        "/pypi/demo-pkg/json": 5,
        "/simple/demo-pkg/": 1,  # package with its listing
    }
    for url, budget in budgets.items():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        assert len(captured) == budget, url


def _raw_file_insert(release: Release) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO catalog_releasefile (release_id, filename, url, size, packagetype, "
            "python_version, requires_python, sha256, md5, blake2b_256, upload_time, "
            "upload_time_iso_8601, has_sig, comment_text, yanked, yanked_reason, json_entry, "
            "simple_html, simple_json, updated) VALUES (%s, 'raw-1.9.zip', "
            "'https://files.example.org/raw-1.9.zip', 1, 'sdist', 'source', NULL, '', '', '', "
            "NULL, NULL, %s, NULL, %s, NULL, '{}', 'raw-1.9.zip<br>\n', '{}', %s)",
            [release.pk, False, False, release.created],
        )


WRITES = {
    "release update (no signals)": lambda p: Release.objects.filter(
        package=p, version="1.9"
    ).update(yanked=True, yanked_reason="found <late>"),
    "release bulk_create": lambda p: Release.objects.bulk_create(
        [Release(package=p, version="7.0", requires_python=">=3.13")]
    ),
    "release delete": lambda p: Release.objects.filter(package=p, version="1.0").delete(),
    "file update (no signals)": lambda p: ReleaseFile.objects.filter(
        release__package=p, release__version="1.10"
    ).update(yanked=True),
    "file delete": lambda p: ReleaseFile.objects.filter(
        release__package=p, filename__endswith=".whl"
    ).delete(),
    "file insert in plain SQL": lambda p: _raw_file_insert(p.releases.get(version="1.9")),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_any_write_makes_the_listing_stale_at_once(client, large, write):
    listings_refresh(package_ids=[large.pk])
    before = pages(client)
    WRITES[write](large)
    kept = listing(large)
    assert kept.written > kept.built
    after = pages(client)
    assert after != before  # the change shows
    assert after == live_pages(client, large)


def test_writers_rebuild_the_listing_on_commit(client, large, django_capture_on_commit_callbacks):
    listings_refresh(package_ids=[large.pk])
    with django_capture_on_commit_callbacks(execute=True):
        make_release(large, "3.0", days=9)
    kept = listing(large)
    assert kept.built == kept.written and kept.default_version == "3.0"
    assert '"3.0": [' in kept.json_releases and "demo_pkg-3.0.tar.gz" in kept.simple_html
    served = pages(client)
    assert served == live_pages(client, large)
    # A release deleted through the ORM (its files first) is rebuilt out of it.
    listings_refresh(package_ids=[large.pk])
    with django_capture_on_commit_callbacks(execute=True):
        Release.objects.get(package=large, version="3.0").delete()
    kept = listing(large)
    assert kept.built == kept.written and kept.default_version == "1.10"
    assert "3.0" not in kept.json_releases


def test_a_package_that_became_small_loses_its_listing(large, settings):
    listings_refresh(package_ids=[large.pk])
    settings.CATALOG_LISTING_MIN_RELEASES = 6
    assert listings_refresh(package_ids=[large.pk]) == 0
    assert not PackageListing.objects.exists()


def test_a_renamed_package_links_its_history_to_its_new_name(client, large):
    listings_refresh(package_ids=[large.pk])
    large.display_name = "Demo-Renamed"
    large.save()
    page = client.get("/project/demo-renamed/").content.decode()
    assert 'href="/project/demo-renamed/1.9/"' in page
    assert "/project/demo-pkg/" not in page


def test_another_time_zone_reads_the_rows(client, large, settings):
    listings_refresh(package_ids=[large.pk])
    PackageListing.objects.filter(package=large).update(history="<li>kept</li>\n")
    settings.TIME_ZONE = "Asia/Kolkata"
    assert "<li>kept</li>" not in client.get("/project/demo-pkg/").content.decode()


def test_missing_triggers_are_put_back_and_every_listing_marked_stale(large):
    listings_refresh(package_ids=[large.pk])
    on = " ON catalog_release" if connection.vendor == "postgresql" else ""
    name = (
        "catalog_listing_rel_update_new"
        if connection.vendor == "postgresql"
        else "catalog_listing_rel_update"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER {name}{on}")
    assert listing_triggers_ensure() == [name]
    assert listing(large).built is None
    assert listing_triggers_ensure() == []
    listings_refresh(package_ids=[large.pk])
    Release.objects.filter(package=large, version="1.9").update(yanked=True)  # counted again
    kept = listing(large)
    assert kept.written > kept.built


def test_mongo_pages_equal_the_pages_from_a_listing(client, large, settings):
    listings_refresh(package_ids=[large.pk])
    sql_pages = pages(client)
    fill_mongo()
    settings.CATALOG_READ_BACKEND = "mongo"
    assert pages(client) == sql_pages


def test_listings_rebuild_command(large):
    out = call_command_output("listings_rebuild")
    assert out.startswith("Built 1 listings (packages with at least 3 releases) in ")
    assert listing(large).built == listing(large).written
    assert call_command_output("listings_rebuild", "--package", "demo-pkg").startswith("Built 1")
    with pytest.raises(CommandError, match="no package named 'nope'"):
        call_command("listings_rebuild", "--package", "nope")


def call_command_output(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_mongo_pages_are_served_from_the_kept_texts(client, large, settings):
    live = pages(client)
    fill_mongo()  # the writers' refresh keeps the texts of packages large enough
    texts = get_db()[TEXTS_COLLECTION]
    assert sorted(d["kind"] for d in texts.find({"package": "demo-pkg"})) == sorted(TEXT_KINDS)
    assert texts.count_documents({"package": "demo"}) == 0  # one release: too small
    settings.CATALOG_READ_BACKEND = "mongo"
    assert pages(client) == live
    texts.update_one({"_id": "demo-pkg#simple_html#0"}, {"$set": {"text": "kept-simple<br>\n"}})
    assert "kept-simple<br>" in client.get("/simple/demo-pkg/").content.decode()
    # A text whose pieces are not all of one build (being rewritten) is not used.
    texts.update_one({"_id": "demo-pkg#simple_html#0"}, {"$set": {"build": "another"}})
    assert client.get("/simple/demo-pkg/").content == live[5][0]
    texts.update_one({"_id": "demo-pkg#json#0"}, {"$set": {"chunks": 2}})  # a piece missing
    assert client.get("/pypi/demo-pkg/json").content == live[3][0]


def test_a_text_longer_than_a_document_is_kept_in_pieces(client, large, settings, monkeypatch):
    live = pages(client)
    monkeypatch.setattr("catalog.package_files.TEXT_CHUNK", 100)
    fill_mongo()
    pieces = get_db()[TEXTS_COLLECTION].count_documents({"package": "demo-pkg", "kind": "json"})
    assert pieces > 10
    settings.CATALOG_READ_BACKEND = "mongo"
    assert pages(client) == live
