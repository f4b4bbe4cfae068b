"""Each file's JSON API and Simple entries are computed when it is written, by every write path,
and what its release lends it (a yank, a Requires-Python) shows whatever was written last."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from catalog.documents import ReleaseDocument
from catalog.models import Release, ReleaseFile
from tests.web.conftest import fill_mongo

PIP_ACCEPT = "application/vnd.pypi.simple.v1+json"
STORES = ["sql", "mongo"]


def _pages(client) -> dict[str, object]:
    project = client.get("/pypi/demo-pkg/json").json()
    simple_json = json.loads(client.get("/simple/demo-pkg/", HTTP_ACCEPT=PIP_ACCEPT).content)
    return {
        "json": {f["filename"]: f for files in project["releases"].values() for f in files},
        "html": client.get("/simple/demo-pkg/").content.decode(),
        "simple": {f["filename"]: f for f in simple_json["files"]},
    }


def _serve(settings, store: str) -> None:
    settings.CATALOG_READ_BACKEND = store
    if store == "mongo":
        fill_mongo()


@pytest.mark.parametrize("store", STORES)
def test_queryset_update_and_bulk_update_rewrite_the_entries(client, catalog, settings, store):
    ReleaseFile.objects.filter(filename="demo_pkg-1.9.tar.gz").update(
        yanked=True, yanked_reason="bad <upload>", size=77
    )
    wheel = ReleaseFile.objects.get(filename="demo_pkg-1.9-py3-none-any.whl")
    wheel.requires_python = ">=3.11"
    wheel.sha256 = "cd" * 32
    ReleaseFile.objects.bulk_update([wheel], ["requires_python", "sha256"])
    _serve(settings, store)
    pages = _pages(client)

    sdist = pages["json"]["demo_pkg-1.9.tar.gz"]
    assert (sdist["yanked"], sdist["yanked_reason"], sdist["size"]) == (True, "bad <upload>", 77)
    assert pages["simple"]["demo_pkg-1.9.tar.gz"]["yanked"] == "bad <upload>"
    assert 'data-yanked="bad &lt;upload&gt;">demo_pkg-1.9.tar.gz</a>' in pages["html"]
    assert pages["json"]["demo_pkg-1.9-py3-none-any.whl"]["digests"]["sha256"] == "cd" * 32
    assert pages["simple"]["demo_pkg-1.9-py3-none-any.whl"]["requires-python"] == ">=3.11"
    assert (
        "#sha256=" + "cd" * 32 + '" data-requires-python="&gt;=3.11">demo_pkg-1.9-py3-none-any.whl'
    ) in pages["html"]


@pytest.mark.parametrize("store", STORES)
def test_a_release_yanked_or_given_requires_python_later_lends_it_to_its_files(
    client, catalog, settings, store
):
    release = Release.objects.get(package=catalog["demo_pkg"], version="1.9")
    release.yanked, release.yanked_reason = True, "withdrawn"
    release.requires_python = ">=3.13"
    release.save()
    _serve(settings, store)
    pages = _pages(client)

    for filename in ("demo_pkg-1.9.tar.gz", "demo_pkg-1.9-py3-none-any.whl"):
        assert pages["json"][filename]["yanked"] is True
        assert pages["json"][filename]["yanked_reason"] == "withdrawn"
        assert pages["simple"][filename]["yanked"] == "withdrawn"
        assert pages["simple"][filename]["requires-python"] == ">=3.13"
    assert (
        ' data-requires-python="&gt;=3.13" data-yanked="withdrawn">demo_pkg-1.9.tar.gz</a>'
        in (pages["html"])
    )


@pytest.mark.parametrize("store", STORES)
def test_hostile_file_values_are_escaped_once_and_unsafe_urls_are_no_links(
    client, catalog, settings, store
):
    release = Release.objects.get(package=catalog["demo_pkg"], version="1.0")
    moment = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=2)))
    ReleaseFile.objects.create(
        release=release,
        filename='demo_pkg-1.0-"x"<b>.zip',
        url="javascript:alert(1)",
        packagetype="sdist",
        sha256="ef" * 32,
        upload_time=moment,
        comment_text="ünïcode ☃",
    )
    _serve(settings, store)
    pages = _pages(client)

    assert "demo_pkg-1.0-&quot;x&quot;&lt;b&gt;.zip<br>" in pages["html"]
    assert "javascript:" not in pages["html"]
    entry = pages["json"]['demo_pkg-1.0-"x"<b>.zip']
    # Stored as UTC, whatever zone the value was written in.
    assert entry["upload_time"] == "2024-05-06T05:08:09"
    assert entry["upload_time_iso_8601"] == "2024-05-06T05:08:09.123000Z"
    assert entry["comment_text"] == "ünïcode ☃"
    assert pages["simple"]['demo_pkg-1.0-"x"<b>.zip']["upload-time"] == (
        "2024-05-06T05:08:09.123000Z"
    )


def test_documents_written_before_entries_serve_the_same_pages(client, catalog, settings):
    settings.CATALOG_READ_BACKEND = "sql"
    expected = [
        client.get("/pypi/demo-pkg/json").content,
        client.get("/simple/demo-pkg/").content,
        client.get("/simple/demo-pkg/", HTTP_ACCEPT=PIP_ACCEPT).content,
    ]
    fill_mongo()
    collection = ReleaseDocument._get_collection()
    for doc in collection.find({}):
        for file in doc["files"]:
            for name in ("json_entry", "simple_html", "simple_json"):
                del file[name]
        collection.replace_one({"_id": doc["_id"]}, doc)
    assert not collection.count_documents({"files.json_entry": {"$exists": True}})
    # Nor the package file parts, which came later still (catalog.package_files).
    collection.database.package_files.delete_many({})
    settings.CATALOG_READ_BACKEND = "mongo"
    assert [
        client.get("/pypi/demo-pkg/json").content,
        client.get("/simple/demo-pkg/").content,
        client.get("/simple/demo-pkg/", HTTP_ACCEPT=PIP_ACCEPT).content,
    ] == expected


def test_a_release_document_saved_through_mongoengine_recomputes_its_entries(
    client, catalog, settings
):
    fill_mongo()
    settings.CATALOG_READ_BACKEND = "mongo"
    doc = ReleaseDocument.objects.get(package="demo-pkg", version="1.9")
    doc.files[0].size = 4242
    doc.files[0].upload_time = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    doc.save()
    entry = _pages(client)["json"][doc.files[0].filename]
    assert entry["size"] == 4242
    assert entry["upload_time"] == "2024-01-02T03:04:05"


def test_an_upsert_of_files_rewrites_their_entries(client, catalog, settings):
    stored = ReleaseFile.objects.get(filename="demo_pkg-1.9.tar.gz")
    again = ReleaseFile(
        release_id=stored.release_id,
        filename=stored.filename,
        url=stored.url,
        size=31337,
        packagetype=stored.packagetype,
        sha256=stored.sha256,
        upload_time=stored.upload_time,
    )
    ReleaseFile.objects.bulk_create(
        [again], update_conflicts=True, unique_fields=["filename"], update_fields=["size"]
    )
    assert _pages(client)["json"]["demo_pkg-1.9.tar.gz"]["size"] == 31337
