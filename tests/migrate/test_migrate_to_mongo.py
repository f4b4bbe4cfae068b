"""migrate_to_mongo as an operator sees it: reports, exit codes, MongoDB contents."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from mongoengine.connection import get_db

from audit.recorder import json_safe
from catalog.documents import PackageDocument, ensure_indexes
from catalog.models import Maintainer, Package, Release, ReleaseFile, User
from catalog.services.migration.state import migration_state
from catalog.services.migration.to_mongo import catalog_migrate
from tests.migrate.conftest import build_catalog, by_collection, migrate, snapshot, totals

pytestmark = pytest.mark.django_db


def run_text(*args: str) -> str:
    out = StringIO()
    call_command("migrate_to_mongo", *args, stdout=out)
    return out.getvalue()


def test_first_run_copies_every_row_into_shaped_documents(catalog):
    report = migrate()

    assert report["ok"] is True
    counts = by_collection(report)
    assert counts["packages"]["inserted"] == 6
    assert counts["releases"]["inserted"] == 24
    assert counts["users"]["inserted"] == 2
    docs = snapshot()
    package = docs["packages"]["demo-pkg-0"]
    assert package["display_name"] == "Demo_Pkg.0"
    assert package["license"] == {"name": "MIT License", "spdx_id": "MIT"}
    assert [m["username"] for m in package["maintainers"]] == ["alice", "bob"]
    assert package["release_count"] == 4
    # The newest stable release, not the release candidate.
    assert package["latest"]["version"] == "1.2.0"
    release = docs["releases"]["demo-pkg-0==1.0.0"]
    assert [f["filename"] for f in release["files"]] == [
        "demo-pkg-0-1.0.0-0.tar.gz",
        "demo-pkg-0-1.0.0-1.tar.gz",
    ]
    assert release["sql_id"] == Release.objects.get(package__name="demo-pkg-0", version="1.0.0").pk


def test_the_migration_creates_the_declared_indexes(catalog):
    migrate()

    names = get_db()["releases"].index_information()
    assert names["package_newest_first_by_row"]["key"] == [
        ("package", 1),
        ("sort_key", -1),
        ("sql_id", -1),
    ]
    assert names["package_version_unique"]["unique"] is True


def test_second_run_writes_nothing_and_says_so(catalog):
    migrate()
    before = snapshot()

    text = run_text("--full")

    assert "nothing written" in text
    assert snapshot() == before
    assert totals(migrate("--full")) == {
        "read": 32,
        "inserted": 0,
        "updated": 0,
        "unchanged": 32,
        "deleted": 0,
        "failed": 0,
    }


def test_default_re_run_reads_no_row(catalog):
    migrate()
    before = snapshot()

    report = by_collection(migrate())

    assert snapshot() == before
    assert {c["mode"] for c in report.values()} == {"incremental"}
    # Every table the documents are built from is compared with its own
    # (updated, pk) mark of the last run, so nothing is read again.
    assert {name: c["read"] for name, c in report.items()} == {
        "users": 0,
        "releases": 0,
        "packages": 0,
    }
    assert sum(c["written"] for c in report.values()) == 0


def test_incremental_run_after_one_change_updates_exactly_its_documents(catalog):
    migrate()
    before = snapshot()
    release = Release.objects.get(package__name="demo-pkg-1", version="1.2.0")
    release.yanked = True
    release.yanked_reason = "broken wheel"
    release.save()

    report = migrate()

    counts = by_collection(report)
    assert counts["releases"]["mode"] == "incremental"
    assert counts["releases"]["updated"] == 1
    assert counts["releases"]["inserted"] == counts["releases"]["deleted"] == 0
    # Yanking the newest stable release changes the package's latest summary too.
    assert counts["packages"]["updated"] == 1
    after = snapshot()
    assert after["releases"]["demo-pkg-1==1.2.0"]["yanked_reason"] == "broken wheel"
    assert after["packages"]["demo-pkg-1"]["latest"]["version"] == "1.1.0"
    changed = {
        (name, key)
        for name in after
        for key in after[name]
        if after[name][key] != before[name].get(key)
    }
    assert changed == {("releases", "demo-pkg-1==1.2.0"), ("packages", "demo-pkg-1")}


def test_changes_through_related_tables_reach_their_documents(catalog):
    migrate()
    bob = User.objects.get(username="bob")
    bob.first_name = "Bob"
    bob.save()
    file = ReleaseFile.objects.get(filename="demo-pkg-4-1.1.0-1.tar.gz")
    file.size = 4242
    file.save()
    maintainer = Maintainer.objects.get(package__name="demo-pkg-3", user__username="bob")
    maintainer.role = "owner"
    maintainer.save()

    migrate()

    docs = snapshot()
    assert docs["releases"]["demo-pkg-4==1.1.0"]["files"][1]["size"] == 4242
    assert docs["users"]["bob"]["first_name"] == "Bob"
    assert [m["role"] for m in docs["packages"]["demo-pkg-3"]["maintainers"]] == [
        "owner",
        "owner",
    ]
    # Raises (non-zero exit) on any mismatch.
    call_command("migrate_to_mongo", "--verify", stdout=StringIO())


def test_deleted_child_rows_are_found_by_verify_and_fixed_by_a_full_run(catalog):
    """A deleted file leaves no timestamp: the live sync or a full run carries it."""
    migrate()
    ReleaseFile.objects.get(filename="demo-pkg-2-1.0.0-0.tar.gz").delete()
    migrate()
    out = StringIO()

    # The release lost a file and its package's serial went up: neither row has a timestamp
    # that moved.
    with pytest.raises(CommandError, match="2 mismatch"):
        call_command("migrate_to_mongo", "--verify", stdout=out)
    assert "releases 'demo-pkg-2==1.0.0': differs in files, checksum" in out.getvalue()
    assert "packages 'demo-pkg-2': differs in last_serial, checksum" in out.getvalue()

    report = migrate("--full")

    assert by_collection(report)["releases"]["updated"] == 1
    assert by_collection(report)["packages"]["updated"] == 1
    call_command("migrate_to_mongo", "--verify", stdout=StringIO())
    assert [f["filename"] for f in snapshot()["releases"]["demo-pkg-2==1.0.0"]["files"]] == [
        "demo-pkg-2-1.0.0-1.tar.gz"
    ]


def test_since_copies_only_rows_changed_after_the_given_time(catalog):
    migrate()
    cutoff = timezone.now()
    Package.objects.filter(name="demo-pkg-5").update(summary="edited", updated=timezone.now())

    report = migrate("--since", cutoff.isoformat())

    counts = by_collection(report)
    assert counts["packages"]["read"] == 1
    assert counts["packages"]["updated"] == 1
    assert counts["packages"]["since"].startswith(cutoff.isoformat()[:19])
    assert snapshot()["packages"]["demo-pkg-5"]["summary"] == "edited"


def test_rows_sharing_the_high_water_timestamp_are_not_skipped(catalog):
    migrate()
    same = timezone.now()
    # Two rows with the same updated value, on both sides of the mark's pk.
    first, second = Package.objects.order_by("pk")[:2]
    Package.objects.filter(pk=first.pk).update(summary="first", updated=same)
    catalog_migrate()
    Package.objects.filter(pk=second.pk).update(summary="second", updated=same)

    catalog_migrate()

    docs = snapshot()["packages"]
    assert docs[first.name]["summary"] == "first"
    assert docs[second.name]["summary"] == "second"


def test_deleted_rows_are_pruned(catalog):
    migrate()
    Package.objects.get(name="demo-pkg-0").delete()  # cascades to its 4 releases
    User.objects.create_user(username="carol")
    User.objects.get(username="carol").delete()

    report = migrate("--full")

    counts = by_collection(report)
    assert counts["packages"]["deleted"] == 1
    assert counts["releases"]["deleted"] == 4
    docs = snapshot()
    assert "demo-pkg-0" not in docs["packages"]
    assert not [k for k in docs["releases"] if k.startswith("demo-pkg-0==")]


def test_incremental_run_prunes_deleted_rows_and_refreshes_their_package(catalog):
    migrate()
    Release.objects.filter(package__name="demo-pkg-1", version="1.0.0").delete()

    report = migrate()

    counts = by_collection(report)
    assert counts["releases"]["deleted"] == 1
    docs = snapshot()
    assert "demo-pkg-1==1.0.0" not in docs["releases"]
    assert docs["packages"]["demo-pkg-1"]["release_count"] == 3


def test_no_prune_keeps_documents_of_deleted_rows(catalog):
    migrate()
    Package.objects.get(name="demo-pkg-0").delete()

    migrate("--full", "--no-prune")

    assert "demo-pkg-0" in snapshot()["packages"]


def test_renamed_package_moves_its_documents(catalog):
    migrate()
    package = Package.objects.get(name="demo-pkg-2")
    package.display_name = "Renamed"
    package.save()

    migrate()

    docs = snapshot()
    assert "demo-pkg-2" not in docs["packages"]
    assert docs["packages"]["renamed"]["sql_id"] == package.pk
    assert "renamed==1.0.0" in docs["releases"]
    assert "demo-pkg-2==1.0.0" not in docs["releases"]


def test_dry_run_writes_nothing_and_reports_what_it_would_write(catalog):
    report = migrate("--dry-run")

    assert report["dry_run"] is True
    assert totals(report)["inserted"] == 32
    assert snapshot() == {"packages": {}, "releases": {}, "users": {}}
    assert migration_state("packages") is None
    assert "Dry run: nothing was written." in run_text("--dry-run")


def test_credentials_are_copied_only_when_asked(catalog):
    migrate()
    assert "password" not in snapshot()["users"]["alice"]

    migrate("--full", "--include-credentials")

    alice = snapshot()["users"]["alice"]
    assert alice["password"] == User.objects.get(username="alice").password


def test_a_row_that_cannot_be_mapped_is_reported_and_the_rest_migrates(catalog):
    Package.objects.filter(name="demo-pkg-3").update(project_urls=["not", "a", "mapping"])
    Maintainer.objects.filter(package__name="demo-pkg-4", user__username="alice").update(
        role="emperor"
    )
    out = StringIO()

    with pytest.raises(CommandError, match="2 document\\(s\\) could not be written"):
        call_command("migrate_to_mongo", "--batch-size", "2", stdout=out)

    text = out.getvalue()
    assert "packages 'demo-pkg-3' project_urls: expected an object of label -> URL, got list" in (
        text
    )
    assert "packages 'demo-pkg-4' maintainers.role: 'alice' has role 'emperor'" in text
    docs = snapshot()
    assert set(docs["packages"]) == {"demo-pkg-0", "demo-pkg-1", "demo-pkg-2", "demo-pkg-5"}
    assert len(docs["releases"]) == 24


def test_a_unique_key_collision_fails_one_document_not_its_batch(catalog):
    migrate()
    ensure_indexes()
    # A stray document (another tool's) already holds demo-pkg-1 1.5.0's unique key.
    get_db()["releases"].insert_one(
        {"_id": "stray", "package": "demo-pkg-1", "version": "1.5.0", "sort_key": "x"}
    )
    package = Package.objects.get(name="demo-pkg-1")
    Release.objects.create(package=package, version="1.5.0")
    Release.objects.create(package=package, version="1.6.0")

    with pytest.raises(CommandError):
        call_command("migrate_to_mongo", stdout=StringIO())

    docs = snapshot()["releases"]
    assert "demo-pkg-1==1.6.0" in docs
    assert "demo-pkg-1==1.5.0" not in docs


def test_collision_is_named_in_the_json_report(catalog):
    migrate()
    get_db()["releases"].insert_one(
        {"_id": "stray", "package": "demo-pkg-1", "version": "1.5.0", "sort_key": "x"}
    )
    Release.objects.create(package=Package.objects.get(name="demo-pkg-1"), version="1.5.0")

    result = catalog_migrate()

    assert not result.ok
    [error] = [e for c in result.collections for e in c.errors]
    assert error.collection == "releases"
    assert error.key == "demo-pkg-1==1.5.0"
    assert "unique keys" in error.reason


def test_summary_lists_each_collection(catalog):
    text = run_text()

    for word in ("packages", "releases", "users", "inserted", "unchanged", "deleted"):
        assert word in text


def test_bad_arguments_are_refused_with_a_clear_message(db):
    with pytest.raises(CommandError, match="--since 'yesterday' is not an ISO 8601"):
        call_command("migrate_to_mongo", "--since", "yesterday", stdout=StringIO())
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        call_command("migrate_to_mongo", "--batch-size", "0", stdout=StringIO())


def test_the_high_water_mark_lives_in_mongodb(catalog):
    migrate()

    state = migration_state("packages")
    latest = Package.objects.order_by("-updated", "-pk").first()
    assert state["status"] == "done"
    assert state["high_water"] == {"updated": latest.updated.isoformat(), "pk": latest.pk}
    assert datetime.fromisoformat(state["finished"]) <= datetime.now(UTC)


def test_a_larger_catalog_in_small_batches(db):
    build_catalog(packages=15, releases=7, files=1)

    report = migrate("--batch-size", "4")

    assert totals(report)["inserted"] == 15 + 15 * 7 + 2
    call_command("migrate_to_mongo", "--verify", stdout=StringIO())


def test_migration_writes_are_in_the_audit_trail_as_the_command(catalog):
    from tests.audit.conftest import mongo_entries

    migrate()
    created = mongo_entries(model="packages")
    assert len(created) == 6
    assert {e["operation"] for e in created} == {"bulk_create"}
    assert {e["actor"] for e in created} == {"command:migrate_to_mongo"}
    assert len({e["correlation_id"] for e in created}) == 1
    assert created[0]["changes"]["display_name"] == [None, "Demo_Pkg.0"]
    assert len(mongo_entries(model="releases")) == 24
    # Each created document's entry holds the whole document as stored.
    for entry in created:
        stored = PackageDocument._get_collection().find_one({"_id": entry["object_key"]})
        recorded = {name: new for name, (old, new) in entry["changes"].items()}
        fields = {k: v for k, v in stored.items() if k != "_id" and v is not None}
        assert recorded == json_safe(fields)
        assert {old for old, new in entry["changes"].values()} == {None}

    migrate()  # unchanged: nothing written, nothing recorded
    assert len(mongo_entries(model="packages")) == 6

    Package.objects.filter(name="demo-pkg-1").update(summary="Changed", updated=timezone.now())
    Package.objects.get(name="demo-pkg-2").delete()
    migrate()
    later = mongo_entries(model="packages")[6:]
    assert [(e["operation"], e["object_key"]) for e in later] == [
        ("bulk_update", "demo-pkg-1"),
        ("bulk_delete", "demo-pkg-2"),
    ]
    assert later[0]["changes"]["summary"] == ["Demo package 1", "Changed"]
    assert later[0]["correlation_id"] != created[0]["correlation_id"]
    # The entries, written from text made once per document, keep the chain whole.
    out = StringIO()
    call_command("audit_log", "--verify-chain", "--store", "mongo", stdout=out)
    assert "chain OK" in out.getvalue()
