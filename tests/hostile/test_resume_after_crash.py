"""Resumed runs finish what the crashed run started.

- A pruning incremental ``migrate_to_mongo`` deletes the documents of removed
  releases and must then refresh their packages (latest release, count). It
  is stopped after every batch, the prune sweep's included, resumed, and the
  documents compared one by one with those of an uninterrupted run.
- ``process_offline normalize`` renames documents (insert the new spelling,
  then delete the old). It is stopped at every stage of every batch, between
  a rename's insert and its delete included, then run again (resumed or
  not), and compared one by one with an uninterrupted run.
"""

from __future__ import annotations

import copy

import pytest
from mongoengine.connection import get_db

from catalog.models import Package, Release
from catalog.services.migration.to_mongo import catalog_migrate
from catalog.services.offline.runner import job_run
from tests.migrate.conftest import COLLECTIONS, build_catalog

pytestmark = pytest.mark.django_db


class Crash(Exception):
    """Stands for the process dying between two steps."""


def stored(names) -> dict[str, dict]:
    db = get_db()
    return {name: {d["_id"]: d for d in db[name].find()} for name in names}


def restore(data: dict[str, dict]) -> None:
    db = get_db()
    for name, docs in data.items():
        db[name].delete_many({})
        if docs:
            db[name].insert_many(copy.deepcopy(list(docs.values())))


def assert_same_documents(got: dict[str, dict], expected: dict[str, dict], where: str) -> None:
    for name, docs in expected.items():
        assert set(got[name]) == set(docs), (where, name)
        for key, doc in docs.items():
            assert got[name][key] == doc, (where, name, key)


# --- migrate_to_mongo: a pruning incremental run -------------------------------------


@pytest.fixture
def pruned_catalog(db):
    """A migrated catalog, then releases removed (newest of three packages) and edits."""
    build_catalog(packages=6, releases=4, files=1)
    catalog_migrate(batch_size=3)
    newest = [
        Release.objects.filter(package__name=f"demo-pkg-{p}").order_by("-sort_key").first()
        for p in (0, 2, 4)
    ]
    Release.objects.filter(pk__in=[r.pk for r in newest]).delete()
    Release.objects.filter(package__name="demo-pkg-1", version="1.0.0").delete()
    package = Package.objects.get(name="demo-pkg-5")
    package.summary = "edited after the first migration"
    package.save()
    return stored([*COLLECTIONS, "migration_state"])


def test_a_pruning_incremental_run_stopped_at_any_batch_ends_like_a_clean_run(pruned_catalog):
    baseline = pruned_catalog
    batches: list[tuple[str, int]] = []
    catalog_migrate(batch_size=3, on_batch=lambda name, n: batches.append((name, n)))
    expected = stored(COLLECTIONS)
    # The clean run did refresh the pruned packages.
    assert expected["packages"]["demo-pkg-0"]["release_count"] == 3
    assert expected["packages"]["demo-pkg-1"]["release_count"] == 3
    assert {name for name, _ in batches} == set(COLLECTIONS)
    for crash_at in range(1, len(batches) + 1):
        restore(baseline)

        def stop(name: str, number: int, crash_at=crash_at) -> None:
            if number == crash_at:
                raise Crash(f"after batch {number} ({name})")

        with pytest.raises(Crash):
            catalog_migrate(batch_size=3, on_batch=stop)
        result = catalog_migrate(batch_size=3)
        assert result.ok, crash_at
        assert_same_documents(stored(COLLECTIONS), expected, f"crash after batch {crash_at}")
        # And the next run has nothing left to do.
        again = catalog_migrate(batch_size=3)
        assert again.written == 0, crash_at


def test_a_releases_only_run_leaves_the_refresh_to_the_next_packages_run(pruned_catalog):
    catalog_migrate(batch_size=3, collections=["users", "releases"])
    assert get_db()["packages"].find_one({"_id": "demo-pkg-0"})["release_count"] == 4
    catalog_migrate(batch_size=3, collections=["packages"])
    assert get_db()["packages"].find_one({"_id": "demo-pkg-0"})["release_count"] == 3
    assert "refresh" not in get_db()["migration_state"].find_one({"_id": "packages"})


# --- process_offline normalize: renames ----------------------------------------------


def _package(_id: str, **fields) -> dict:
    return {
        "_id": _id,
        "display_name": _id,
        "author_email": " Someone@Example.ORG ",
        "license": {"name": "MIT License", "spdx_id": ""},
        **fields,
    }


@pytest.fixture
def spellings(db):
    """Documents under non-canonical names, as an older writer stored them."""
    db_ = get_db()
    packages = [
        _package("Alpha_Pkg"),
        _package("Beta.Pkg"),
        _package("beta-pkg-2"),
        _package("Gamma--Pkg"),
        _package("delta"),
        _package("Epsilon_"),
        _package("zeta"),
    ]
    releases = [
        {"_id": f"{p['_id']}=={v}", "package": p["_id"], "version": v}
        for p in packages
        for v in ("1.0", "2.0")
    ]
    db_["packages"].insert_many(packages)
    db_["releases"].insert_many(releases)
    return stored(["packages", "releases", "job_checkpoints"])


@pytest.mark.parametrize("collection", ["packages", "releases"])
@pytest.mark.parametrize("resume", [True, False])
def test_normalize_stopped_at_any_stage_ends_like_a_clean_run(spellings, collection, resume):
    stages: list[tuple[int, str]] = []
    job_run(
        job="normalize",
        collection=collection,
        batch_size=2,
        on_batch=lambda n, stage: stages.append((n, stage)),
    )
    expected = stored([collection])
    assert any(stage == "renames_inserted" for _, stage in stages)
    if collection == "packages":
        assert "alpha-pkg" in expected["packages"] and "Alpha_Pkg" not in expected["packages"]
    for point in stages:
        restore(spellings)

        def stop(number: int, stage: str, point=point) -> None:
            if (number, stage) == point:
                raise Crash(f"at {stage} of batch {number}")

        with pytest.raises(Crash):
            job_run(job="normalize", collection=collection, batch_size=2, on_batch=stop)
        result = job_run(job="normalize", collection=collection, batch_size=2, resume=resume)
        assert result.complete and not result.errors, point
        assert result.counts.get("name_collisions", 0) == 0, point
        assert_same_documents(stored([collection]), expected, f"stopped at {point}")


def test_a_real_collision_is_still_left_to_an_operator(db):
    db_ = get_db()
    db_["packages"].insert_many([_package("Same_Name"), _package("same-name", summary="other")])
    result = job_run(job="normalize", collection="packages", batch_size=10)
    assert result.counts["name_collisions"] == 1
    assert {d["_id"] for d in db_["packages"].find()} == {"Same_Name", "same-name"}
