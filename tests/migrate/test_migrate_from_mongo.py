"""migrate_from_mongo, the rollback path: documents back into the relational tables."""

from __future__ import annotations

import json
from datetime import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.core.management.color import no_style
from django.db import connection, transaction
from mongoengine.connection import get_db

from catalog import mapping
from catalog.models import Classifier, License, Maintainer, Package, Release, ReleaseFile, User
from catalog.services.migration.from_mongo import catalog_migrate_from_mongo, state_id
from catalog.services.migration.state import migration_state
from catalog.services.seed import catalog_seed
from catalog.services.sync import live_sync_enabled, live_sync_flush
from tests.migrate.conftest import by_collection, migrate, snapshot, totals

pytestmark = pytest.mark.django_db

CATALOG_MODELS = (User, License, Classifier, Package, Maintainer, Release, ReleaseFile)
# Not in the users document (profile fields only): a restored user gets the defaults.
USER_FIELDS_NOT_IN_DOCUMENTS = {"last_login", "is_superuser"}


class Crash(Exception):
    """Stands for the process dying in the middle of a run."""


def crash_after(batch: int):
    def on_batch(collection: str, number: int) -> None:
        if number == batch:
            raise Crash(f"stopped after batch {number} ({collection})")

    return on_batch


def reverse(*args: str) -> dict:
    """Run migrate_from_mongo --json and return its report."""
    out = StringIO()
    call_command("migrate_from_mongo", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def reverse_text(*args: str) -> str:
    out = StringIO()
    call_command("migrate_from_mongo", *args, stdout=out)
    return out.getvalue()


def wipe_sql() -> None:
    """A fresh relational database: no catalog rows, sequences starting again at 1."""
    Package.objects.all().delete()
    User.objects.all().delete()
    License.objects.all().delete()
    Classifier.objects.all().delete()
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), CATALOG_MODELS):
            cursor.execute(sql)


def _ms(value):
    # MongoDB keeps milliseconds: a restored timestamp has that precision.
    return mapping.milliseconds(value) if isinstance(value, datetime) else value


def _rows(queryset, key, exclude=()) -> dict:
    rows = {}
    for row in queryset.values():
        rows[key(row)] = {k: _ms(v) for k, v in row.items() if k not in exclude}
    return rows


def sql_snapshot(*, passwords: bool = True) -> dict[str, dict]:
    """Every catalog row by natural key, with its relations by name."""
    excluded = USER_FIELDS_NOT_IN_DOCUMENTS | (set() if passwords else {"password"})
    users = _rows(User.objects.all(), lambda r: r["username"], excluded)
    packages = _rows(Package.objects.all(), lambda r: r["name"], {"license_id"})
    for package in Package.objects.select_related("license").prefetch_related(
        "classifiers", "roles__user"
    ):
        packages[package.name].update(
            license=(package.license.name, package.license.spdx_id) if package.license else None,
            classifiers=sorted(c.name for c in package.classifiers.all()),
            maintainers=sorted((m.user.username, m.role) for m in package.roles.all()),
        )
    names = dict(Package.objects.values_list("pk", "name"))
    releases = _rows(Release.objects.all(), lambda r: (names[r["package_id"]], r["version"]))
    # File documents carry no id or updated: files are matched by filename.
    files = _rows(ReleaseFile.objects.all(), lambda r: r["filename"], {"id", "updated"})
    return {"users": users, "packages": packages, "releases": releases, "files": files}


def changed_keys(before: dict, after: dict) -> set[tuple[str, object]]:
    return {
        (table, key)
        for table in before
        for key in set(before[table]) | set(after[table])
        if before[table].get(key) != after[table].get(key)
    }


@pytest.fixture
def migrated(catalog):
    """The small catalog, copied into MongoDB (with password hashes)."""
    migrate("--include-credentials")


def docs():
    return get_db()


# --- the round trip -------------------------------------------------------------------


def test_round_trip_sql_to_mongo_to_fresh_sql_gives_back_equal_rows(db):
    catalog_seed(packages=8, seed=3)
    before = sql_snapshot()
    migrate("--include-credentials")
    stored = snapshot()
    wipe_sql()

    report = reverse("--include-credentials")

    assert report["ok"] is True
    assert report["direction"] == "from_mongo"
    counts = by_collection(report)
    assert list(counts) == ["users", "packages", "releases"]
    for name in counts:
        assert counts[name]["inserted"] == counts[name]["read"] == len(stored[name]) > 0
    after = sql_snapshot()
    assert after.keys() == before.keys()
    for table in before:
        assert set(after[table]) == set(before[table]), table
        for key, row in before[table].items():
            assert after[table][key] == row, (table, key)
    # The same primary keys, and the forward mapping agrees document by document.
    call_command("migrate_to_mongo", "--verify", "--include-credentials", stdout=StringIO())
    assert snapshot() == stored
    # The sequences were reset: new rows do not collide with the restored keys.
    package = Package.objects.create(display_name="After-Restore")
    assert package.pk > max(row["id"] for row in before["packages"].values())
    assert User.objects.create_user(username="newcomer").pk


def test_a_document_whose_key_is_taken_gets_the_next_one(migrated, monkeypatch):
    wipe_sql()
    zed = User.objects.create_user(username="zed")  # created since, on the first key
    docs()["users"].update_one({"_id": "alice"}, {"$set": {"sql_id": zed.pk}})
    docs()["users"].update_one({"_id": "bob"}, {"$set": {"sql_id": zed.pk + 1}})
    # The batch must succeed as a whole, not through the per-document retry.
    monkeypatch.setattr("catalog.services.migration.from_mongo.WRITE_ERRORS", ())

    report = reverse("--no-prune")

    assert report["ok"] is True
    alice, bob = User.objects.get(username="alice"), User.objects.get(username="bob")
    assert bob.pk == zed.pk + 1
    assert alice.pk == zed.pk + 2
    assert Maintainer.objects.filter(user=alice).count() == 6
    assert User.objects.create_user(username="later").pk == zed.pk + 3


def test_restored_rows_keep_the_timestamps_of_their_documents(migrated):
    stored = snapshot()
    wipe_sql()

    reverse()

    package = Package.objects.get(name="demo-pkg-1")
    document = stored["packages"]["demo-pkg-1"]
    assert package.updated == document["updated"]
    assert package.created == document["created"]
    release = Release.objects.get(package=package, version="1.1.0")
    assert release.updated == stored["releases"]["demo-pkg-1==1.1.0"]["updated"]
    assert User.objects.get(username="bob").updated == stored["users"]["bob"]["updated"]


# --- idempotency and changes --------------------------------------------------------------


def test_a_run_on_unchanged_data_writes_nothing_and_says_so(migrated):
    before = sql_snapshot()

    first = reverse()
    text = reverse_text()

    assert totals(first) == {
        "read": 32,
        "inserted": 0,
        "updated": 0,
        "unchanged": 32,
        "deleted": 0,
        "failed": 0,
    }
    assert "The relational catalog was already up to date: nothing written" in text
    assert sql_snapshot() == before


def test_a_second_run_after_a_restore_writes_nothing(migrated):
    wipe_sql()
    reverse()
    restored = sql_snapshot()

    again = reverse()

    assert totals(again)["unchanged"] == 32
    assert again["written"] == 0
    assert sql_snapshot() == restored


def test_a_changed_document_updates_exactly_its_row(migrated):
    before = sql_snapshot()
    releases = docs()["releases"]
    docs()["packages"].update_one({"_id": "demo-pkg-2"}, {"$set": {"summary": "Edited in Mongo"}})
    releases.update_one(
        {"_id": "demo-pkg-4==1.1.0"},
        {"$set": {"yanked": True, "yanked_reason": "broken", "files.1.size": 4242}},
    )

    report = reverse()

    counts = by_collection(report)
    assert (counts["packages"]["updated"], counts["packages"]["unchanged"]) == (1, 5)
    assert (counts["releases"]["updated"], counts["releases"]["unchanged"]) == (1, 23)
    assert counts["users"]["unchanged"] == 2
    after = sql_snapshot()
    assert changed_keys(before, after) == {
        ("packages", "demo-pkg-2"),
        ("releases", ("demo-pkg-4", "1.1.0")),
        ("files", "demo-pkg-4-1.1.0-1.tar.gz"),
    }
    assert after["packages"]["demo-pkg-2"]["summary"] == "Edited in Mongo"
    release = Release.objects.get(package__name="demo-pkg-4", version="1.1.0")
    assert (release.yanked, release.yanked_reason) == (True, "broken")
    assert ReleaseFile.objects.get(filename="demo-pkg-4-1.1.0-1.tar.gz").size == 4242


def test_embedded_relations_follow_their_document(migrated):
    """License, classifiers and maintainers by name; missing ones are created."""
    docs()["packages"].update_one(
        {"_id": "demo-pkg-3"},
        {
            "$set": {
                "license": {"name": "Apache Software License", "spdx_id": "Apache-2.0"},
                "classifiers": ["Framework :: Django", "Programming Language :: Python :: 3"],
                "maintainers": [
                    {"user_id": 0, "username": "bob", "role": "owner"},
                ],
            }
        },
    )
    docs()["releases"].update_one(
        {"_id": "demo-pkg-0==1.0.0"},
        {
            "$set": {
                "files": [
                    {
                        "filename": "demo-pkg-0-1.0.0-1.tar.gz",
                        "size": 1001,
                        "packagetype": "sdist",
                        "sha256": "1" * 64,
                        "upload_time": datetime(2024, 1, 1),
                    },
                    {
                        "filename": "demo_pkg_0-1.0.0-py3-none-any.whl",
                        "size": 5,
                        "packagetype": "bdist_wheel",
                        "sha256": "2" * 64,
                        "upload_time": datetime(2024, 1, 2),
                    },
                ]
            }
        },
    )

    report = reverse()

    assert report["ok"] is True
    package = Package.objects.get(name="demo-pkg-3")
    assert (package.license.name, package.license.spdx_id) == (
        "Apache Software License",
        "Apache-2.0",
    )
    assert sorted(c.name for c in package.classifiers.all()) == [
        "Framework :: Django",
        "Programming Language :: Python :: 3",
    ]
    assert [(m.user.username, m.role) for m in package.roles.all()] == [("bob", "owner")]
    release = Release.objects.get(package__name="demo-pkg-0", version="1.0.0")
    assert sorted(f.filename for f in release.files.all()) == [
        "demo-pkg-0-1.0.0-1.tar.gz",
        "demo_pkg_0-1.0.0-py3-none-any.whl",
    ]
    assert not ReleaseFile.objects.filter(filename="demo-pkg-0-1.0.0-0.tar.gz").exists()
    # Back in agreement with the documents (derived fields aside, which verify rebuilds).
    assert totals(reverse())["updated"] == 0


def test_new_documents_become_rows_and_a_file_moves_to_the_release_that_lists_it(migrated):
    releases = docs()["releases"]
    moved = releases.find_one({"_id": "demo-pkg-1==1.0.0"})["files"][0]
    releases.update_one({"_id": "demo-pkg-1==1.0.0"}, {"$pop": {"files": -1}})
    new = dict(releases.find_one({"_id": "demo-pkg-1==1.1.0"}), _id="demo-pkg-1==3.0", sql_id=None)
    new.update(version="3.0", files=[moved])
    releases.insert_one(new)

    report = reverse()

    counts = by_collection(report)["releases"]
    assert (counts["inserted"], counts["updated"], counts["failed"]) == (1, 1, 0)
    release = Release.objects.get(package__name="demo-pkg-1", version="3.0")
    assert [f.filename for f in release.files.all()] == [moved["filename"]]
    assert (
        not release.is_prerelease
        and release.sort_key
        > Release.objects.get(package__name="demo-pkg-1", version="1.1.0").sort_key
    )
    assert Release.objects.get(package__name="demo-pkg-1", version="1.0.0").files.count() == 1


# --- prune ---------------------------------------------------------------------------------


def remove_package_documents(name: str) -> None:
    docs()["packages"].delete_one({"_id": name})
    docs()["releases"].delete_many({"package": name})


def test_rows_whose_document_is_gone_are_deleted(migrated):
    remove_package_documents("demo-pkg-0")
    docs()["releases"].delete_one({"_id": "demo-pkg-1==1.0.0"})
    docs()["users"].delete_one({"_id": "bob"})
    # bob maintains demo-pkg-0 and demo-pkg-3: the latter's document must drop him too.
    docs()["packages"].update_one(
        {"_id": "demo-pkg-3"}, {"$pull": {"maintainers": {"username": "bob"}}}
    )

    report = reverse()

    assert report["ok"] is True
    counts = by_collection(report)
    assert counts["users"]["deleted"] == 1
    assert counts["packages"]["deleted"] == 1
    # demo-pkg-0's releases went with their package; demo-pkg-1 1.0.0 is pruned.
    assert counts["releases"]["deleted"] == 1
    assert not Package.objects.filter(name="demo-pkg-0").exists()
    assert not User.objects.filter(username="bob").exists()
    assert not Release.objects.filter(package__name="demo-pkg-1", version="1.0.0").exists()
    assert Release.objects.count() == 24 - 4 - 1


def test_no_prune_keeps_rows_whose_document_is_gone(migrated):
    remove_package_documents("demo-pkg-0")

    report = reverse("--no-prune")

    assert totals(report)["deleted"] == 0
    assert Package.objects.filter(name="demo-pkg-0").exists()
    assert Release.objects.filter(package__name="demo-pkg-0").count() == 4


def test_an_empty_collection_is_not_taken_as_delete_everything(migrated):
    for name in ("users", "packages", "releases"):
        docs()[name].delete_many({})
    out = StringIO()

    with pytest.raises(CommandError, match="3 document\\(s\\) could not be written"):
        call_command("migrate_from_mongo", stdout=out)

    assert "MongoDB holds no packages documents: refusing to delete all 6 rows" in out.getvalue()
    assert Package.objects.count() == 6
    assert User.objects.count() == 2


# --- dry run ----------------------------------------------------------------------------------


def test_dry_run_writes_nothing_but_reports_counts(migrated):
    wipe_sql()
    remove_package_documents("demo-pkg-5")
    before = snapshot()

    report = reverse("--dry-run")

    assert report["dry_run"] is True
    assert report["ok"] is True
    counts = by_collection(report)
    # Users and packages that the run would create first count as resolvable.
    assert {n: c["inserted"] for n, c in counts.items()} == {
        "users": 2,
        "packages": 5,
        "releases": 20,
    }
    assert not Package.objects.exists()
    assert not User.objects.exists()
    assert migration_state(state_id("packages")) is None
    assert snapshot() == before
    assert "Dry run: nothing was written." in reverse_text("--dry-run")


def test_dry_run_counts_updates_and_deletions(migrated):
    before = sql_snapshot()
    remove_package_documents("demo-pkg-5")
    docs()["users"].update_one({"_id": "alice"}, {"$set": {"first_name": "Alice"}})

    counts = by_collection(reverse("--dry-run"))

    assert counts["users"]["updated"] == 1
    assert counts["packages"]["deleted"] == 1
    assert sql_snapshot() == before


# --- bad documents -------------------------------------------------------------------------------


def test_bad_documents_are_reported_by_key_and_field_and_the_rest_is_restored(migrated):
    wipe_sql()
    db = docs()
    db["releases"].update_one({"_id": "demo-pkg-1==1.1.0"}, {"$unset": {"version": ""}})
    db["packages"].update_one({"_id": "demo-pkg-4"}, {"$set": {"maintainers.0.role": "emperor"}})
    db["packages"].update_one({"_id": "demo-pkg-2"}, {"$set": {"last_serial": "seven"}})
    db["packages"].update_one({"_id": "demo-pkg-5"}, {"$set": {"summary": "x" * 600}})
    db["users"].update_one({"_id": "bob"}, {"$set": {"is_staff": "yes"}})
    db["releases"].update_one({"_id": "demo-pkg-3==1.0.0"}, {"$set": {"files.0.size": -1}})
    out = StringIO()

    with pytest.raises(CommandError, match="document\\(s\\) could not be written"):
        call_command("migrate_from_mongo", "--batch-size", "2", stdout=out)

    text = out.getvalue()
    for line in (
        "releases 'demo-pkg-1==1.1.0' version: is missing",
        "packages 'demo-pkg-4' maintainers.role: 'alice' has role 'emperor', "
        "expected one of maintainer, owner",
        "packages 'demo-pkg-2' last_serial: expected an integer, got str",
        "packages 'demo-pkg-5' summary: is 600 characters long; at most 512 fit",
        "users 'bob' is_staff: expected a boolean, got str",
        "releases 'demo-pkg-3==1.0.0' files.size: 'demo-pkg-3-1.0.0-0.tar.gz': -1 is negative",
        # bob failed, so the packages he maintains cannot name him.
        "packages 'demo-pkg-0' maintainers.username: 'bob' is not a user in the relational catalog",
        # ... and the releases of packages that failed have no package to belong to.
        "releases 'demo-pkg-4==1.0.0' package: 'demo-pkg-4' is not a package in the "
        "relational catalog",
    ):
        assert line in text
    assert set(User.objects.values_list("username", flat=True)) == {"alice"}
    assert set(Package.objects.values_list("name", flat=True)) == {"demo-pkg-1"}
    assert Release.objects.filter(package__name="demo-pkg-1").count() == 3
    assert not Release.objects.filter(package__name="demo-pkg-1", version="1.1.0").exists()


def test_bad_documents_fail_the_run_in_json_too(migrated):
    docs()["releases"].update_one({"_id": "demo-pkg-1==1.1.0"}, {"$set": {"files": "none"}})

    result = catalog_migrate_from_mongo()

    assert not result.ok
    [error] = [e for c in result.collections for e in c.errors]
    assert (error.collection, error.key, error.field) == ("releases", "demo-pkg-1==1.1.0", "files")
    assert error.reason == "expected a list of files, got str"


def test_a_document_with_a_nul_character_fails_alone(migrated):
    # Refused at the door (catalog.validation) on every database, before PostgreSQL would.
    docs()["packages"].update_one({"_id": "demo-pkg-2"}, {"$set": {"summary": "nul \x00 byte"}})
    docs()["packages"].update_one({"_id": "demo-pkg-3"}, {"$set": {"summary": "fine"}})

    result = catalog_migrate_from_mongo(batch_size=10)

    packages = result.collections[1]
    assert (packages.updated, packages.unchanged, packages.failed) == (1, 4, 1)
    assert packages.errors[0].key == "demo-pkg-2"
    assert packages.errors[0].field == "summary"
    assert packages.errors[0].reason == "contains a NUL character at position 4"
    assert Package.objects.get(name="demo-pkg-3").summary == "fine"
    assert Package.objects.get(name="demo-pkg-2").summary == "Demo package 2"


# --- interruption -----------------------------------------------------------------------------


def prepare_rollback() -> None:
    """Documents that differ from the rows: deleted, changed and new ones."""
    remove_package_documents("demo-pkg-0")
    docs()["packages"].update_one({"_id": "demo-pkg-2"}, {"$set": {"summary": "changed"}})
    docs()["releases"].update_one({"_id": "demo-pkg-3==1.2.0"}, {"$set": {"yanked": True}})
    carol = dict(docs()["users"].find_one({"_id": "bob"}), _id="carol", sql_id=500)
    docs()["users"].insert_one(carol)


def clean_run() -> tuple[dict, int]:
    """What an uninterrupted run gives (rolled back afterwards), and its number of batches."""
    batches = []
    with pytest.raises(Crash), transaction.atomic():
        catalog_migrate_from_mongo(
            batch_size=3, include_credentials=True, on_batch=lambda c, n: batches.append(n)
        )
        expected = sql_snapshot()
        raise Crash("roll back")
    get_db()["migration_state"].delete_many({})
    return expected, len(batches)


@pytest.mark.parametrize("crash_at", [1, 2, 3, 5, 8, 12, 16, 19])
def test_a_run_interrupted_at_any_batch_resumes_to_the_clean_state(migrated, crash_at):
    prepare_rollback()
    expected, batches = clean_run()
    assert crash_at < batches
    mongo = snapshot()

    with pytest.raises(Crash):
        catalog_migrate_from_mongo(
            batch_size=3, include_credentials=True, on_batch=crash_after(crash_at)
        )
    states = [migration_state(state_id(n)) or {} for n in ("users", "packages", "releases")]
    assert any(state.get("status") == "running" for state in states)

    resumed = reverse("--batch-size", "3", "--include-credentials")

    assert resumed["ok"] is True
    assert any(c["resumed"] for c in resumed["collections"])
    assert sql_snapshot() == expected
    assert snapshot() == mongo
    assert all(
        migration_state(state_id(n))["status"] == "done" for n in ("users", "packages", "releases")
    )


def test_an_interrupted_restore_into_a_fresh_database_resumes_to_equal_rows(migrated):
    before = sql_snapshot()
    wipe_sql()
    with pytest.raises(Crash):
        catalog_migrate_from_mongo(batch_size=4, include_credentials=True, on_batch=crash_after(9))

    resumed = reverse("--batch-size", "4", "--include-credentials")

    releases = by_collection(resumed)["releases"]
    assert releases["resumed"] is True
    # Read again only from the checkpoint on.
    assert releases["read"] == 24 - 3 * 4
    assert sql_snapshot() == before


def test_restart_discards_the_checkpoint(migrated):
    with pytest.raises(Crash):
        catalog_migrate_from_mongo(batch_size=3, on_batch=crash_after(4))

    report = reverse("--batch-size", "3", "--restart")

    assert not any(c["resumed"] for c in report["collections"])
    assert totals(report)["read"] == 32


# --- credentials ---------------------------------------------------------------------------------


def test_password_hashes_are_restored_only_when_asked(migrated):
    hashes = dict(User.objects.values_list("username", "password"))
    wipe_sql()

    reverse()

    assert not any(u.has_usable_password() for u in User.objects.all())

    wipe_sql()
    reverse("--include-credentials")

    assert dict(User.objects.values_list("username", "password")) == hashes
    assert User.objects.get(username="alice").check_password("pw-1")


def test_existing_users_keep_their_password_unless_asked(migrated):
    alice = User.objects.get(username="alice")
    alice.set_password("changed-since")
    alice.save()

    reverse()

    assert User.objects.get(username="alice").check_password("changed-since")

    reverse("--include-credentials")

    assert User.objects.get(username="alice").check_password("pw-1")


def test_a_document_without_a_hash_leaves_the_password_alone(catalog):
    migrate()  # no password hashes in the documents

    report = reverse("--include-credentials")

    assert totals(report)["updated"] == 0
    assert User.objects.get(username="alice").check_password("pw-1")


# --- output and live sync -----------------------------------------------------------------------


def test_json_report_has_the_counts_of_each_collection(migrated):
    docs()["users"].update_one({"_id": "bob"}, {"$set": {"last_name": "Builder"}})

    report = reverse()

    assert report["direction"] == "from_mongo"
    assert report["ok"] is True
    assert report["written"] == 1
    for collection in report["collections"]:
        for key in ("read", "inserted", "updated", "unchanged", "deleted", "failed", "seconds"):
            assert key in collection
    assert by_collection(report)["users"] | {"seconds": 0} == {
        "collection": "users",
        "mode": "full",
        "since": None,
        "resumed": False,
        "read": 2,
        "inserted": 0,
        "updated": 1,
        "unchanged": 1,
        "deleted": 0,
        "failed": 0,
        "seconds": 0,
        "errors": [],
        "written": 1,
    }


def test_text_report_lists_each_collection(migrated):
    text = reverse_text()

    for word in ("users", "packages", "releases", "inserted", "unchanged", "deleted", "seconds"):
        assert word in text


def test_bad_arguments_are_refused_with_a_clear_message(db):
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        call_command("migrate_from_mongo", "--batch-size", "0", stdout=StringIO())
    with pytest.raises(CommandError, match="invalid choice: 'files'"):
        call_command("migrate_from_mongo", "--collection", "files", stdout=StringIO())


def test_the_reverse_run_does_not_echo_into_mongodb(
    migrated, settings, django_capture_on_commit_callbacks
):
    settings.CATALOG_LIVE_SYNC = True
    # Derived fields that the live sync would recompute if it echoed the writes.
    docs()["packages"].update_one(
        {"_id": "demo-pkg-1"}, {"$set": {"release_count": 99, "summary": "from Mongo"}}
    )
    docs()["releases"].delete_one({"_id": "demo-pkg-1==1.0.0"})
    before = snapshot()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report = reverse()

    assert totals(report)["deleted"] == 1
    assert Package.objects.get(name="demo-pkg-1").summary == "from Mongo"
    assert live_sync_flush not in callbacks
    assert snapshot() == before
    assert live_sync_enabled()  # suspended for the run only


def test_only_the_chosen_collections_are_read(migrated):
    docs()["users"].update_one({"_id": "bob"}, {"$set": {"last_name": "Builder"}})

    report = reverse("--collection", "users")

    assert [c["collection"] for c in report["collections"]] == ["users"]
    assert User.objects.get(username="bob").last_name == "Builder"
