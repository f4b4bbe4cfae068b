"""What the writers keep for the MongoDB pages stays right after every kind of write.

Package documents embed their release history (and count and default
release), and the newest lists of the home page and feeds are chosen when
documents are written (catalog.newest). Each test changes releases through
one write path (the live sync, an incremental migration, a merge, an offline
job) and checks that the MongoDB pages are then the SQL pages, byte for byte,
with the page cache off.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from bson import json_util
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from mongoengine.connection import get_db

from catalog import mapping, package_files, selectors
from catalog.documents import ReleaseDocument
from catalog.models import Release
from tests.migrate.conftest import migrate
from tests.web.conftest import make_release

PAGES = [
    "/",
    "/project/demo-pkg/",
    "/project/demo/",
    "/project/other/",
    "/pypi/demo-pkg/json",
    "/pypi/demo/json",
    "/pypi/other/json",
    "/simple/demo-pkg/",
    "/simple/demo/",
    "/rss/updates.xml",
    "/rss/packages.xml",
]


def pages(client, backend: str, urls: list[str]) -> dict[str, tuple[int, str]]:
    with override_settings(CATALOG_READ_BACKEND=backend):
        return {
            url: (r.status_code, r.getvalue().decode()) for url in urls for r in [client.get(url)]
        }


def assert_same_pages(client, urls: list[str] = PAGES) -> None:
    sql, mongo = pages(client, "sql", urls), pages(client, "mongo", urls)
    for url in urls:
        assert sql[url] == mongo[url], url


def assert_same_files(client, name: str) -> None:
    """The package's files on its Simple page and JSON API are the same on both stores.

    (Its serial is not: the relational one counts the row writes, which a
    writer of documents does not see.)
    """
    urls = [f"/simple/{name}/", f"/pypi/{name}/json"]
    sql, mongo = pages(client, "sql", urls), pages(client, "mongo", urls)
    assert sql[urls[0]] == mongo[urls[0]]
    sql_json, mongo_json = json.loads(sql[urls[1]][1]), json.loads(mongo[urls[1]][1])
    assert (sql_json["releases"], sql_json["urls"]) == (mongo_json["releases"], mongo_json["urls"])


def mongo_newest(limit: int = 3) -> list[tuple[str, str]]:
    with override_settings(CATALOG_READ_BACKEND="mongo"):
        return [(r.package, r.version) for r in selectors.releases_newest_list(limit=limit)]


@pytest.fixture(params=[200, 1], ids=["rows", "kept-listings"])
def grown(catalog, settings, request):
    """The web catalog with enough releases that every newest list is full; every test runs
    with the release lists read from the rows and documents, and with every package
    keeping them (SQL listings, MongoDB texts) whatever its size."""
    settings.CATALOG_LISTING_MIN_RELEASES = request.param
    settings.CATALOG_PAGE_CACHE = False
    settings.CATALOG_LIVE_SYNC = False
    for index in range(45):
        make_release(catalog["other"], f"2.{index}", days=-index - 1, files=1)
    migrate()
    return catalog


def test_the_lists_are_kept_full_and_the_pages_match(client, grown):
    kept = get_db().catalog_counters.find_one({"_id": "newest"})
    assert len(kept["releases_created"]["ids"]) == 40
    assert kept["releases_created"]["ids"][0] == "other==3.0rc1"
    assert kept["releases_created"]["since"] is not None
    assert_same_pages(client)


def test_live_sync_keeps_history_and_newest_lists_right(
    client, grown, settings, django_capture_on_commit_callbacks
):
    settings.CATALOG_LIVE_SYNC = True
    package = grown["demo_pkg"]

    with django_capture_on_commit_callbacks(execute=True):
        make_release(package, "3.0", days=30)
    assert mongo_newest(1) == [("demo-pkg", "3.0")]
    assert ">3.0<" in pages(client, "mongo", ["/project/demo-pkg/"])["/project/demo-pkg/"][1]
    assert_same_pages(client)

    with django_capture_on_commit_callbacks(execute=True):
        release = Release.objects.get(package=package, version="1.10")
        release.yanked, release.yanked_reason = True, "a bad build"
        release.save()
    assert_same_pages(client)

    # The newest releases deleted: the lists fill up again from older ones.
    with django_capture_on_commit_callbacks(execute=True):
        Release.objects.filter(version__in=["3.0", "3.0rc1", "0.1", "2.0b1"]).delete()
    assert mongo_newest(1) == [("demo-pkg", "1.11")]
    assert_same_pages(client)

    with django_capture_on_commit_callbacks(execute=True):
        demo = grown["demo"]
        demo.summary = "A new summary, shown beside its releases"
        demo.save()
    assert_same_pages(client)


def test_an_incremental_migration_catches_writes_that_bypassed_the_sync(client, grown):
    Release.objects.filter(package=grown["demo_pkg"], version="1.9").update(
        yanked=True, yanked_reason="found late", updated=timezone.now()
    )
    Release.objects.filter(version="3.0rc1").delete()
    make_release(grown["demo"], "0.2", days=40)
    assert pages(client, "mongo", ["/project/demo/"]) != pages(client, "sql", ["/project/demo/"])

    migrate()

    assert mongo_newest(1) == [("demo", "0.2")]
    assert_same_pages(client)
    out = StringIO()
    call_command("migrate_to_mongo", "--verify", stdout=out)  # CommandError on a mismatch
    assert "Verified: MongoDB matches the relational catalog" in out.getvalue()


def _release_document_file(tmp_path, release: Release, **changes) -> str:
    """The release's document as a merge source (JSON Lines), as another store would hold it."""
    doc = {**mapping.release_documents([release.pk])[0], **changes}
    path = tmp_path / "releases.jsonl"
    path.write_text(json_util.dumps(doc) + "\n")
    return str(path)


def test_a_merge_into_releases_updates_its_package_and_the_newest_lists(client, grown, tmp_path):
    # The row exists, MongoDB does not know it yet: a merge brings its document.
    release = make_release(grown["demo"], "0.3", days=50, requires_python=">=3.10")
    source = _release_document_file(tmp_path, release)

    current = tmp_path / "current.jsonl"
    current.write_text(json_util.dumps(mapping.release_documents([release.pk - 1])[0]) + "\n")

    call_command(
        "merge_sources",
        f"--source=mirror=file:{source}",
        f"--source=current=file:{current}",
        "--into=releases",
    )

    assert mongo_newest(2) == [("demo", "0.3"), ("other", "3.0rc1")]
    # The home page's counts too: the merge counted what MongoDB now holds.
    assert_same_pages(client, ["/", "/project/demo/", "/project/demo/0.3/", "/rss/updates.xml"])
    assert_same_files(client, "demo")


def test_package_stats_repairs_histories_after_release_documents_changed(client, grown):
    Release.objects.filter(package=grown["demo_pkg"], version="1.0").update(
        yanked=True, yanked_reason="withdrawn"
    )
    get_db().releases.update_one(
        {"_id": "demo-pkg==1.0"}, {"$set": {"yanked": True, "yanked_reason": "withdrawn"}}
    )
    # The package document still lists 1.0 as it was.
    assert pages(client, "mongo", ["/project/demo-pkg/"]) != pages(
        client, "sql", ["/project/demo-pkg/"]
    )

    call_command("process_offline", "package_stats", "--no-progress")

    assert_same_pages(client)


def test_normalizing_release_names_moves_them_into_their_package(client, grown, tmp_path):
    release = make_release(grown["demo"], "0.4", days=60)
    doc = {**mapping.release_documents([release.pk])[0], "_id": "Demo==0.4", "package": "Demo"}
    get_db().releases.insert_one(doc)

    call_command("process_offline", "normalize", "--collection=releases", "--no-progress")

    assert get_db().releases.find_one({"_id": "demo==0.4"}) is not None
    assert mongo_newest(1) == [("demo", "0.4")]
    assert_same_pages(client, ["/", "/project/demo/", "/project/demo/0.4/", "/rss/updates.xml"])
    assert_same_files(client, "demo")


def test_file_parts_split_large_packages_and_pages_read_them_whole(
    client, grown, monkeypatch, mongo_commands, settings
):
    monkeypatch.setattr(package_files, "PART_FILES", 3)
    package_files.package_files_refresh_all()
    parts = list(get_db().package_files.find({"package": "other"}).sort("part", 1))
    # 46 releases of one file each, three to a part, newest first.
    assert [len(p["releases"]) for p in parts] == [3] * 15 + [1]
    assert parts[0]["releases"][0]["version"] == "3.0rc1"
    assert_same_pages(client, ["/pypi/other/json", "/simple/other/"])

    mongo_commands.clear()
    with override_settings(CATALOG_READ_BACKEND="mongo"):
        assert client.get("/simple/other/").status_code == 200
    # The package, then its parts (or its kept texts): no release document.
    assert ("releases", "find") not in mongo_commands
    if settings.CATALOG_LISTING_MIN_RELEASES == 1:  # the kept texts, not even the parts
        assert mongo_commands == [("packages", "find"), ("package_listings", "find")]
    else:
        assert mongo_commands.count(("package_files", "find")) == 1


def test_simple_accepts_json_from_parts(client, grown):
    urls = ["/simple/demo-pkg/", "/simple/other/"]
    accept = "application/vnd.pypi.simple.v1+json"
    for url in urls:
        with override_settings(CATALOG_READ_BACKEND="sql"):
            sql = client.get(url, HTTP_ACCEPT=accept)
        with override_settings(CATALOG_READ_BACKEND="mongo"):
            mongo = client.get(url, HTTP_ACCEPT=accept)
        assert (sql.status_code, sql.content) == (mongo.status_code, mongo.content)
        assert b'"files"' in mongo.content


def test_a_release_document_saved_through_mongoengine_keeps_its_package_right(client, grown):
    Release.objects.filter(package=grown["demo_pkg"], version="1.9").update(
        yanked=True, yanked_reason="pulled"
    )
    doc = ReleaseDocument.objects.get(package="demo-pkg", version="1.9")
    doc.yanked, doc.yanked_reason = True, "pulled"
    doc.save()

    page = pages(client, "mongo", ["/project/demo-pkg/"])["/project/demo-pkg/"][1]
    assert "Yanked: pulled" in page
    assert_same_pages(client, ["/project/demo-pkg/", "/simple/demo-pkg/", "/pypi/demo-pkg/json"])

    ReleaseDocument.objects.get(package="demo-pkg", version="1.9").delete()
    Release.objects.filter(package=grown["demo_pkg"], version="1.9").delete()
    assert_same_files(client, "demo-pkg")
    page = pages(client, "mongo", ["/project/demo-pkg/"])["/project/demo-pkg/"][1]
    assert "/project/demo-pkg/1.9/" not in page


def test_imports_written_in_bulk_reach_the_live_sync(
    client, grown, settings, tmp_path, django_capture_on_commit_callbacks
):
    """import_pypi writes releases and files with bulk_create and bulk_update (no
    signals): the MongoDB pages of what it imports match the SQL ones at once."""
    from tests.catalog.factories import pypi_document
    from tests.catalog.test_import import per_version_document, run, write

    settings.CATALOG_LIVE_SYNC = True
    urls = [
        "/project/imported/",
        "/project/imported/1.0/",
        "/pypi/imported/json",
        "/simple/imported/",
        "/rss/project/imported/releases.xml",
    ]
    first = pypi_document(name="imported", versions=("1.0", "1.1"), serial=10)
    with django_capture_on_commit_callbacks(execute=True):
        report, failed = run(write(tmp_path, "first.json", first))
    assert not failed and report["imported"] == 1
    sql = pages(client, "sql", urls)
    assert sql["/project/imported/"][0] == 200 and ">1.1<" in sql["/project/imported/"][1]
    assert_same_pages(client, urls)

    # A newer document yanks a file of 1.0 and adds 2.0; then a per-version document.
    newer = pypi_document(name="imported", versions=("1.0", "1.1", "2.0"), serial=20)
    newer["releases"]["1.0"][0]["yanked"] = True
    with django_capture_on_commit_callbacks(execute=True):
        report, failed = run(write(tmp_path, "newer.json", newer))
    assert not failed and report["updated"] == 1
    newest = pypi_document(name="imported", versions=("1.0", "1.1", "2.0", "2.1"), serial=30)
    with django_capture_on_commit_callbacks(execute=True):
        report, failed = run(write(tmp_path, "2.1.json", per_version_document(newest, "2.1")))
    assert not failed and report["updated"] == 1
    assert ">2.1<" in pages(client, "mongo", ["/project/imported/"])["/project/imported/"][1]
    assert_same_pages(client, urls)
    assert_same_pages(client)
