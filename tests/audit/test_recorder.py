"""Entry values and the append-only guarantee."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from bson import ObjectId

from audit.models import AppendOnlyError, AuditEntry
from audit.recorder import MONGO_ENTRIES, json_safe, mongo_db
from catalog.documents import PackageDocument
from catalog.models import License


def test_values_are_json_safe():
    oid = ObjectId("0123456789ab0123456789ab")
    value = {
        "when": datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),
        "day": date(2024, 5, 6),
        "price": Decimal("1.10"),
        "ref": oid,
        "tags": ("a", "b"),
    }
    assert json_safe(value) == {
        "when": "2024-05-06T07:08:09.123456+00:00",
        "day": "2024-05-06",
        "price": "1.10",
        "ref": "0123456789ab0123456789ab",
        "tags": ["a", "b"],
    }


@pytest.mark.django_db
def test_entries_cannot_be_changed_or_deleted_through_the_orm():
    License.objects.create(name="MIT")
    entry = AuditEntry.objects.get()

    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.update(actor="someone-else")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    entry.actor = "someone-else"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    assert AuditEntry.objects.get().actor == "system"


def test_document_entries_are_indexed_for_the_timeline_queries():
    PackageDocument(name="demo", display_name="demo").save()

    names = set(mongo_db()[MONGO_ENTRIES].index_information())
    assert {"audit_object_time", "audit_actor_time", "audit_correlation", "audit_time"} <= names


def test_entry_content_around_changes_text_is_the_canonical_content():
    from audit.recorder import _content_text, _ts_text, canonical_json, content_json

    row = {
        "model": "releases",
        "object_key": "démo==1.0",
        "operation": "bulk_create",
        "changes": {"summary": [None, "Ünïcode ✓"], "files": [None, [{"size": 1.5, "n": None}]]},
        "timestamp": datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC),
        "actor": "command:migrate_to_mongo",
        "actor_id": 42,
        "remote_addr": "203.0.113.9",
        "correlation_id": "c0ffee",
        "raw": 0,
        "note": 'quote " and \\ and \n',
    }
    text = _content_text(row, canonical_json(row["changes"]), _ts_text(row["timestamp"]))

    assert text == content_json(row)
    anonymous = {**row, "actor_id": None, "remote_addr": None, "raw": True, "changes": {}}
    assert _content_text(anonymous, "{}", _ts_text(row["timestamp"])) == content_json(anonymous)
