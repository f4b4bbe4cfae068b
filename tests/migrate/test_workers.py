"""--workers N: primary-key ranges migrated by separate processes, under the run's audit context."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from audit.context import audit_context, audit_disabled
from catalog.models import Release
from catalog.services.migration.to_mongo import catalog_migrate
from catalog.services.sync import live_sync_suspended
from tests.audit.conftest import mongo_entries
from tests.migrate.conftest import build_catalog, snapshot

# The workers are other processes: they see committed rows only.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(autouse=True)
def committed_catalog():
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("worker processes cannot open an in-memory SQLite test database")
    with live_sync_suspended():  # the documents come from the migration under test
        build_catalog(packages=8, releases=5, files=1)


def _writes_from_this_process(commands: list[tuple[str, str]], collection: str) -> list[str]:
    return [
        name
        for target, name in commands
        if target == collection and name in {"insert", "update", "delete"}
    ]


def test_workers_write_every_document_from_their_own_processes(mongo_commands):
    out = StringIO()
    call_command("migrate_to_mongo", "--workers", "3", "--batch-size", "7", stdout=out)

    stored = snapshot()
    assert len(stored["releases"]) == Release.objects.count() == 40
    assert len(stored["packages"]) == 8
    # This process asked the server for no release writes: the workers did them.
    assert _writes_from_this_process(mongo_commands, "releases") == []
    # And the copy is whole.
    verify = StringIO()
    call_command("migrate_to_mongo", "--verify", stdout=verify)
    assert "mismatches" in verify.getvalue()
    assert catalog_migrate().written == 0


def test_workers_record_the_runs_actor_and_correlation_id():
    with audit_context(actor="ops:nightly", correlation_id="run-42"):
        result = catalog_migrate(workers=3, batch_size=7)

    assert result.ok and result.workers == 3
    entries = mongo_entries(model="releases")
    assert len(entries) == 40
    assert {(e["actor"], e["correlation_id"]) for e in entries} == {("ops:nightly", "run-42")}
    out = StringIO()
    call_command("audit_log", "--verify-chain", "--store", "mongo", stdout=out)
    assert "chain OK" in out.getvalue()


def test_workers_record_nothing_under_audit_disabled():
    with audit_disabled():
        result = catalog_migrate(workers=3, batch_size=7)

    assert result.ok
    assert len(snapshot()["releases"]) == 40
    assert mongo_entries(model="releases") == []
    assert mongo_entries(model="packages") == []
