"""MongoDB capture: document saves and deletes, queryset update/modify/delete, bulk insert."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from audit.recorder import json_safe
from catalog.documents import PackageDocument, ReleaseDocument, UserDocument
from tests.audit.conftest import mongo_entries


def _package(name: str = "demo", **fields) -> PackageDocument:
    return PackageDocument(name=name, display_name=name.title(), **fields).save()


def test_document_save_update_noop_and_delete():
    doc = _package(summary="first", created=datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))
    doc.summary = "second"
    doc.save()
    doc.save()  # unchanged
    loaded = PackageDocument.objects.get(pk="demo")
    loaded.save()  # loaded and saved unchanged
    loaded.delete()

    entries = mongo_entries(model="packages")
    assert [e["operation"] for e in entries] == ["create", "update", "delete"]
    assert entries[0]["object_key"] == "demo"
    assert entries[0]["changes"]["summary"] == [None, "first"]
    # Recorded as stored: MongoDB keeps milliseconds.
    assert entries[0]["changes"]["created"] == [None, "2024-01-02T03:04:05.678000+00:00"]
    assert entries[1]["changes"] == {"summary": ["first", "second"]}
    assert entries[2]["changes"]["summary"] == ["second", None]
    assert entries[0]["actor"] == "system"


def test_new_instance_with_an_existing_id_is_diffed_against_the_stored_document():
    created = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    _package(summary="stored", created=created)
    # The same time to the microsecond: the server kept milliseconds, still no change.
    PackageDocument(name="demo", display_name="Demo", summary="replaced", created=created).save()

    entries = mongo_entries(model="packages")
    assert [e["operation"] for e in entries] == ["create", "update"]
    assert entries[1]["changes"] == {"summary": ["stored", "replaced"]}


def test_queryset_update_records_each_changed_document():
    for name in ("a", "b", "c"):
        _package(name, release_count=1 if name == "c" else 0)

    count = PackageDocument.objects(name__in=["a", "b", "c"]).update(set__release_count=1)

    assert count == 3
    updates = mongo_entries(operation="bulk_update")
    assert [(e["object_key"], e["changes"]) for e in updates] == [
        ("a", {"release_count": [0, 1]}),
        ("b", {"release_count": [0, 1]}),
    ]


def test_update_one_names_the_document_it_changed_and_upserts_are_creates():
    _package("a")
    _package("b")

    PackageDocument.objects(name__in=["a", "b"]).order_by("name").update_one(inc__release_count=2)
    PackageDocument.objects(name="new").update_one(set__display_name="New", upsert=True)
    PackageDocument.objects.get(pk="b").update(set__summary="via document")

    entries = mongo_entries(operation={"$in": ["bulk_update", "create"]})
    assert [(e["operation"], e["object_key"], e["changes"]) for e in entries[2:]] == [
        ("bulk_update", "a", {"release_count": [0, 2]}),
        ("create", "new", {"display_name": [None, "New"]}),
        ("bulk_update", "b", {"summary": [None, "via document"]}),
    ]


def test_modify_records_the_change_and_removal():
    _package("a", summary="old")

    PackageDocument.objects(name="a").modify(set__summary="new")
    PackageDocument.objects(name="a").modify(remove=True)

    entries = mongo_entries(model="packages")
    assert [(e["operation"], e["changes"].get("summary")) for e in entries] == [
        ("create", [None, "old"]),
        ("update", ["old", "new"]),
        ("delete", ["new", None]),
    ]


def test_queryset_delete_and_bulk_insert_record_each_document():
    uploaded = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    docs = [
        ReleaseDocument(id=f"demo=={v}", package="demo", version=v, sort_key=v, created=uploaded)
        for v in ("1.0", "2.0")
    ]
    ReleaseDocument.objects.insert(docs)
    stored = ReleaseDocument._get_collection().find_one({"_id": "demo==1.0"})
    deleted = ReleaseDocument.objects(package="demo").delete()

    assert deleted == 2
    assert ReleaseDocument.objects.count() == 0
    entries = mongo_entries(model="releases")
    assert [(e["operation"], e["object_key"]) for e in entries] == [
        ("bulk_create", "demo==1.0"),
        ("bulk_create", "demo==2.0"),
        ("bulk_delete", "demo==1.0"),
        ("bulk_delete", "demo==2.0"),
    ]
    assert entries[2]["changes"]["version"] == ["1.0", None]
    # A bulk insert is recorded as stored: the server keeps milliseconds.
    assert entries[0]["changes"]["created"] == [None, json_safe(stored["created"])]
    assert entries[0]["changes"]["created"][1].startswith("2024-01-02T03:04:05.678000")
    assert entries[0]["changes"]["created"] == entries[2]["changes"]["created"][::-1]


@pytest.mark.parametrize("size", [3, 60])
def test_bulk_document_writes_are_recorded_as_one_batch_each(size):
    from mongoengine.connection import get_db

    ReleaseDocument.objects.insert(
        [
            ReleaseDocument(id=f"p=={i}", package="p", version=str(i), sort_key="k")
            for i in range(size)
        ]
    )
    ReleaseDocument.objects(package="p").update(set__yanked=True)
    ReleaseDocument.objects(package="p").delete()
    # Entries are written per batch: their ids are contiguous and the hint moved once per batch.
    entries = mongo_entries(model="releases")
    assert len(entries) == 3 * size
    assert [e["_id"] for e in entries] == list(range(1, 3 * size + 1))
    assert get_db()["audit_chain"].find_one({"_id": "mongo"})["seq"] == 3 * size


def test_document_email_normalizer_is_recorded():
    UserDocument(username="ann", email="  Ann@Example.ORG ").save()

    [entry] = mongo_entries(model="users")
    assert entry["changes"]["email"] == [None, "Ann@example.org"]  # Django's rule: the domain
    assert UserDocument.objects.get(pk="ann").email == "Ann@example.org"


def test_raw_bulk_writes_through_the_audited_helper_are_recorded():
    from pymongo import DeleteOne, InsertOne, ReplaceOne, UpdateOne
    from pymongo.errors import BulkWriteError

    from audit.context import audit_context
    from audit.mongo import audited_bulk_write

    collection = PackageDocument._get_collection()
    collection.insert_one({"_id": "old", "display_name": "Old", "summary": "keep"})
    collection.insert_one({"_id": "gone", "display_name": "Gone"})

    with audit_context(command="migrate_to_mongo"), pytest.raises(BulkWriteError):
        audited_bulk_write(
            collection,
            [
                InsertOne({"_id": "new", "display_name": "New"}),
                ReplaceOne({"_id": "old"}, {"display_name": "Old", "summary": "replaced"}),
                UpdateOne({"display_name": "Old"}, {"$set": {"release_count": 3}}),
                DeleteOne({"_id": "gone"}),
                InsertOne({"_id": "old", "display_name": "duplicate"}),  # fails
            ],
            ordered=False,
        )

    entries = mongo_entries(model="packages")
    assert [(e["operation"], e["object_key"], e["changes"]) for e in entries] == [
        ("bulk_create", "new", {"display_name": [None, "New"]}),
        ("bulk_update", "old", {"release_count": [None, 3], "summary": ["keep", "replaced"]}),
        ("bulk_delete", "gone", {"display_name": ["Gone", None]}),
    ]
    assert {e["actor"] for e in entries} == {"command:migrate_to_mongo"}


def test_audited_bulk_write_records_what_actually_happened():
    from pymongo import DeleteOne, InsertOne, ReplaceOne
    from pymongo.errors import BulkWriteError

    from audit.mongo import audited_bulk_write

    collection = PackageDocument._get_collection()
    collection.insert_one({"_id": "kept", "display_name": "Kept", "sql_id": 1})
    collection.insert_one({"_id": "pruned", "display_name": "Pruned", "sql_id": 2})
    created = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)

    audited_bulk_write(
        collection,
        [
            # Conditional deletes: only the one whose condition holds is recorded.
            DeleteOne({"_id": "kept", "sql_id": 99}),
            DeleteOne({"_id": "pruned", "sql_id": 2}),
            # Nothing to replace without upsert: no entry.
            ReplaceOne({"_id": "absent"}, {"display_name": "Absent"}),
            # Recorded as stored: milliseconds.
            InsertOne({"_id": "dated", "display_name": "Dated", "created": created}),
        ],
        ordered=False,
    )
    with pytest.raises(BulkWriteError):
        audited_bulk_write(
            collection,
            [
                InsertOne({"_id": "kept", "display_name": "duplicate"}),  # fails
                InsertOne({"_id": "after-failure", "display_name": "Never"}),  # not run
            ],
        )

    entries = mongo_entries(model="packages")
    assert [(e["operation"], e["object_key"]) for e in entries] == [
        ("bulk_delete", "pruned"),
        ("bulk_create", "dated"),
    ]
    assert entries[1]["changes"]["created"] == [None, "2024-01-02T03:04:05.678000+00:00"]
    assert collection.find_one({"_id": "kept"})["display_name"] == "Kept"
    assert collection.find_one({"_id": "after-failure"}) is None


@pytest.mark.parametrize("tz_aware", [True, False])
def test_created_documents_are_recorded_as_stored_without_reading_them_back(tz_aware):
    from bson import CodecOptions, ObjectId

    from audit.mongo import _as_stored, created_changes_json, doc_changes
    from audit.recorder import canonical_json

    collection = PackageDocument._get_collection().with_options(
        codec_options=CodecOptions(tz_aware=tz_aware)
    )
    when = datetime(2024, 1, 2, 3, 4, 5, 678901)
    doc = {
        "_id": "dated",
        "display_name": "Dätéd ✓",
        "naive": when,
        "aware": when.replace(tzinfo=timezone(timedelta(hours=-5))),
        "files": [{"uploaded": when.replace(tzinfo=UTC), "size": 3, "tags": ("a", "b")}],
        "ref": ObjectId("0123456789ab0123456789ab"),
        "missing": None,
        "empty": "",
        "zero": 0,
        "flag": False,
    }

    text = created_changes_json(collection, doc)

    assert text == canonical_json(doc_changes(None, _as_stored(collection, doc)))
    changes = json.loads(text)
    assert "missing" not in changes and "_id" not in changes
    assert changes["zero"] == [None, 0] and changes["flag"] == [None, False]
    offset = "+00:00" if tz_aware else ""
    assert changes["aware"] == [None, f"2024-01-02T08:04:05.678000{offset}"]
    assert changes["files"][1][0]["uploaded"] == f"2024-01-02T03:04:05.678000{offset}"
