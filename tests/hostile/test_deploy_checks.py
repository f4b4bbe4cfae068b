"""Operator safety nets: check --deploy warns about an empty AUDIT_CHAIN_KEY, and
audit_log --verify-chain notices the newest entries removed, on both stores."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.recorder import MONGO_CHAIN, MONGO_ENTRIES, mongo_db
from catalog.documents import UserDocument
from catalog.models import Package

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "a-production-like-secret-key-with-enough-length-and-entropy-0123456789",
    "ALLOWED_HOSTS": "example.org",
    "SECURE_SSL_REDIRECT": "1",
}


def deploy_check(**env: str) -> subprocess.CompletedProcess:
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; a deployment has not.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environment = {**inherited, **PRODUCTION, **env}
    return subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow
def test_check_deploy_warns_about_an_empty_chain_key():
    done = deploy_check(AUDIT_CHAIN_KEY="")
    assert done.returncode == 1
    assert "audit.W001" in done.stderr and "AUDIT_CHAIN_KEY is empty" in done.stderr
    short = deploy_check(AUDIT_CHAIN_KEY="short")
    assert short.returncode == 1 and "audit.W002" in short.stderr
    good = deploy_check(AUDIT_CHAIN_KEY="k" * 48)
    assert good.returncode == 0, good.stderr
    assert "no issues" in good.stdout


def verify() -> tuple[int, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("audit_log", "--verify-chain", stdout=out, stderr=err)
    except CommandError as exc:
        return 1, out.getvalue() + err.getvalue() + str(exc)
    return 0, out.getvalue() + err.getvalue()


def make_entries() -> None:
    for index in range(3):
        Package.objects.create(display_name=f"chained-{index}")
        UserDocument(username=f"chained-{index}").save()


@pytest.mark.django_db
def test_a_clean_chain_verifies():
    make_entries()
    code, text = verify()
    assert code == 0, text
    assert "chain OK" in text


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 2])
def test_removing_the_newest_relational_entries_is_detected(count):
    make_entries()
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM audit_auditentry WHERE id IN "
            "(SELECT id FROM audit_auditentry ORDER BY id DESC LIMIT %s)",
            [count],
        )
    code, text = verify()
    assert code == 1
    assert "sql chain broken" in text and "the newest entries were removed" in text


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 2])
def test_removing_the_newest_document_entries_is_detected(count):
    make_entries()
    entries = mongo_db()[MONGO_ENTRIES]
    newest = [e["_id"] for e in entries.find({}, {"_id": 1}).sort("_id", -1).limit(count)]
    entries.delete_many({"_id": {"$in": newest}})
    code, text = verify()
    assert code == 1
    assert "mongo chain broken" in text and "the newest entries were removed" in text


@pytest.mark.django_db
def test_removing_the_tips_is_detected():
    make_entries()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditchaintip")
    mongo_db()[MONGO_CHAIN].delete_many({})
    code, text = verify()
    assert code == 1
    assert text.count("the chain tip is missing") == 2


@pytest.mark.django_db
def test_removing_every_entry_is_detected():
    make_entries()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry")
    mongo_db()[MONGO_ENTRIES].delete_many({})
    code, text = verify()
    assert code == 1
    assert text.count("no entry is stored") == 2
