"""Interrupted runs resume to the state of a clean run; --verify names every mismatch."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from mongoengine.connection import get_db

from catalog.models import Package, Release
from catalog.services.migration.state import migration_state
from catalog.services.migration.to_mongo import catalog_migrate
from tests.migrate.conftest import COLLECTIONS, build_catalog, migrate, snapshot, totals

pytestmark = pytest.mark.django_db


class Crash(Exception):
    """Stands for the process dying (killed, out of memory, network gone)."""


def crash_after(batch: int):
    def on_batch(collection: str, number: int) -> None:
        if number == batch:
            raise Crash(f"stopped after batch {number} ({collection})")

    return on_batch


def clean_run_snapshot() -> dict:
    db = get_db()
    for name in [*COLLECTIONS, "migration_state"]:
        db[name].delete_many({})
    catalog_migrate(batch_size=3)
    return snapshot()


@pytest.fixture
def bigger_catalog(db):
    build_catalog(packages=9, releases=5, files=2)


# In batches of 3: users take batch 1, releases 2-17, packages 18-21.
@pytest.mark.parametrize("crash_at", [1, 2, 7, 17, 18, 20])
def test_a_run_interrupted_at_any_batch_resumes_to_the_clean_state(bigger_catalog, crash_at):
    with pytest.raises(Crash):
        catalog_migrate(batch_size=3, on_batch=crash_after(crash_at))
    assert any((migration_state(n) or {}).get("status") == "running" for n in COLLECTIONS)

    resumed = migrate("--batch-size", "3")

    assert resumed["ok"] is True
    assert any(c["resumed"] for c in resumed["collections"])
    # A resumed run does not read again what was done before the crash.
    assert totals(resumed)["read"] < 9 + 45 + 2
    after_resume = snapshot()
    expected = clean_run_snapshot()
    for name in COLLECTIONS:
        assert set(after_resume[name]) == set(expected[name]), name
        for key, doc in expected[name].items():
            assert after_resume[name][key] == doc, (name, key)


def test_an_interrupted_incremental_run_resumes_from_its_mark(bigger_catalog):
    catalog_migrate(batch_size=3)
    Release.objects.filter(version="1.0.0").update(yanked=True)
    for release in Release.objects.filter(version="1.0.0"):
        release.save()  # bumps updated
    # Batch 1 is the users' prune sweep (it checkpoints too); 2 and 3 are releases.
    with pytest.raises(Crash):
        catalog_migrate(batch_size=3, on_batch=crash_after(3))
    assert migration_state("releases")["status"] == "running"

    report = migrate("--batch-size", "3")

    releases = next(c for c in report["collections"] if c["collection"] == "releases")
    assert releases["mode"] == "incremental"
    assert releases["resumed"] is True
    assert releases["updated"] == 9 - 6  # two batches of three were written before the crash
    assert all(
        doc["yanked"] for key, doc in snapshot()["releases"].items() if key.endswith("==1.0.0")
    )
    call_command("migrate_to_mongo", "--verify", stdout=StringIO())


def test_restart_discards_the_checkpoint(bigger_catalog):
    with pytest.raises(Crash):
        catalog_migrate(batch_size=3, on_batch=crash_after(4))

    report = migrate("--batch-size", "3", "--restart")

    assert not any(c["resumed"] for c in report["collections"])
    counts = {c["collection"]: (c["mode"], c["read"]) for c in report["collections"]}
    # Users had completed before the crash; the others start over.
    assert counts == {
        "users": ("incremental", 0),
        "releases": ("full", 45),
        "packages": ("full", 9),
    }


def verify_output(*args: str) -> tuple[str, bool]:
    out = StringIO()
    try:
        call_command("migrate_to_mongo", "--verify", *args, stdout=out)
    except CommandError:
        return out.getvalue(), False
    return out.getvalue(), True


def test_verify_passes_after_a_migration(catalog):
    migrate()

    text, ok = verify_output()

    assert ok
    assert "Verified: MongoDB matches the relational catalog" in text


def test_verify_names_each_tampered_missing_and_extra_document(catalog):
    migrate()
    db = get_db()
    db["packages"].update_one({"_id": "demo-pkg-1"}, {"$set": {"summary": "tampered"}})
    db["releases"].update_one(
        {"_id": "demo-pkg-2==1.1.0"}, {"$set": {"files.0.sha256": "0" * 64, "yanked": True}}
    )
    db["releases"].delete_one({"_id": "demo-pkg-3==1.0.0"})
    db["users"].insert_one({"_id": "mallory", "sql_id": 999})
    db["users"].insert_one({"_id": "nobody"})

    text, ok = verify_output()

    assert not ok
    # The stored checksum still matches the row: only the edited fields differ.
    assert "packages 'demo-pkg-1': differs in summary\n" in text
    assert "releases 'demo-pkg-2==1.1.0': differs in files, yanked\n" in text
    assert "releases 'demo-pkg-3==1.0.0': missing from MongoDB" in text
    assert "users 'mallory': in MongoDB but not in the relational database" in text
    assert "users 'nobody': in MongoDB but not in the relational database" in text
    assert "users: 2 rows but 4 documents" in text


def test_verify_json_lists_mismatches_by_key_and_field(catalog):
    migrate()
    get_db()["packages"].update_one({"_id": "demo-pkg-1"}, {"$set": {"release_count": 99}})
    out = StringIO()

    with pytest.raises(CommandError, match="1 mismatch"):
        call_command("migrate_to_mongo", "--verify", "--json", stdout=out)

    report = json.loads(out.getvalue())
    assert report["ok"] is False
    packages = next(c for c in report["collections"] if c["collection"] == "packages")
    assert packages["mismatches"] == [
        {
            "collection": "packages",
            "key": "demo-pkg-1",
            "kind": "differs",
            "fields": ["release_count"],
        }
    ]


def test_verify_catches_a_stale_row_change_and_a_forced_run_repairs_tampering(catalog):
    migrate()
    get_db()["packages"].update_one({"_id": "demo-pkg-1"}, {"$set": {"summary": "tampered"}})
    # The stored checksum still matches the row: an ordinary run skips the document.
    migrate("--full")
    assert not verify_output()[1]

    migrate("--full", "--force")

    assert verify_output()[1]


def test_verify_writes_nothing(catalog):
    migrate()
    Package.objects.filter(name="demo-pkg-0").update(summary="changed in SQL")
    before = snapshot()

    text, ok = verify_output()

    assert not ok
    assert "packages 'demo-pkg-0': differs in summary, terms, checksum" in text
    assert snapshot() == before


def test_verify_with_credentials_compares_password_hashes(catalog):
    migrate("--include-credentials")
    assert verify_output("--include-credentials")[1]
    # Without the flag, copied hashes are not a mismatch.
    assert verify_output()[1]

    get_db()["users"].update_one({"_id": "alice"}, {"$set": {"password": "x"}})

    text, ok = verify_output("--include-credentials")
    assert not ok
    assert "users 'alice': differs in password\n" in text
