"""Password hashes never reach an audit entry, in either store: only that the password changed."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from audit.models import AuditEntry
from audit.recorder import MONGO_ENTRIES, mongo_db
from audit.tracking import REDACTED
from catalog.documents import UserDocument
from catalog.models import User
from tests.audit.conftest import mongo_entries

pytestmark = pytest.mark.django_db(transaction=True)


def every_entry_text() -> str:
    sql = [json.dumps(e.changes) for e in AuditEntry.objects.all()]
    mongo = [json.dumps(e, default=str) for e in mongo_db()[MONGO_ENTRIES].find()]
    return "\n".join(sql + mongo)


def hashes() -> list[str]:
    return [h for h in User.objects.values_list("password", flat=True) if h]


def test_no_hash_in_any_entry_through_migration_sync_and_changes(settings):
    settings.CATALOG_LIVE_SYNC = True
    user = User.objects.create_user(username="ann", password="first-password-1")
    old_hash = user.password
    call_command("migrate_to_mongo", "--include-credentials", stdout=StringIO())
    assert UserDocument._get_collection().find_one({"_id": "ann"})["password"] == old_hash
    user.set_password("second-password-2")
    user.save()
    call_command("migrate_to_mongo", "--include-credentials", "--full", stdout=StringIO())
    User.objects.filter(pk=user.pk).update(password="md5$raw$update")
    call_command("migrate_to_mongo", "--include-credentials", "--full", stdout=StringIO())
    text = every_entry_text()
    for secret in [old_hash, *hashes(), "md5$raw$update"]:
        assert secret not in text
    # What the entries do say: the password was set, then changed.
    users = mongo_entries(model="users", object_key="ann")
    assert users, "the user documents were audited"
    assert any(e["changes"].get("password") == [None, REDACTED] for e in users)
    assert any(e["changes"].get("password") == [REDACTED, REDACTED] for e in users)
    sql = AuditEntry.objects.filter(model="catalog.user", object_key=str(user.pk))
    assert any(e.changes.get("password") == [REDACTED, REDACTED] for e in sql)


def test_a_document_saved_through_mongoengine_is_redacted(db):
    document = UserDocument(username="bea", password="pbkdf2_sha256$1$salt$secret-hash")
    document.save()
    document.password = "pbkdf2_sha256$1$salt$other-hash"
    document.save()
    document.delete()
    text = every_entry_text()
    assert "secret-hash" not in text and "other-hash" not in text
    operations = [
        (e["operation"], e["changes"].get("password"))
        for e in mongo_entries(model="users", object_key="bea")
    ]
    assert operations == [
        ("create", [None, REDACTED]),
        ("update", [REDACTED, REDACTED]),
        ("delete", [REDACTED, None]),
    ]
