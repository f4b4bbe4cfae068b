"""process_offline: the job runner (batches, checkpoints, resume, limits) and its jobs."""

from __future__ import annotations

import copy
import json

import pytest
from packaging.version import Version

from catalog.services.offline.runner import job_run
from tests.offline.conftest import build_catalog, restore, snapshot


class InjectedFailure(Exception):
    pass


def expected_stats(releases: list[dict]) -> dict:
    """The package fields, computed independently of the job (packaging's Version directly)."""
    if not releases:
        return {
            "release_count": 0,
            "latest": None,
            "first_release": None,
            "last_release": None,
            "total_size": 0,
        }
    stable = [r for r in releases if not r["yanked"] and not Version(r["version"]).is_prerelease]
    newest = max(stable or releases, key=lambda r: Version(r["version"]))
    return {
        "release_count": len(releases),
        "latest": newest["version"],
        "first_release": min(r["created"] for r in releases),
        "last_release": max(r["created"] for r in releases),
        "total_size": sum(f["size"] for r in releases for f in r["files"]),
    }


def test_list_names_the_jobs(offline):
    code, out, _ = offline("--list")

    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert names == ["package_stats", "normalize"]


def test_unknown_job_is_a_clear_error(offline):
    code, _, err = offline("recount", "--no-progress")

    assert code == 1
    assert "unknown job 'recount' (known: package_stats, normalize)" in err


def test_package_stats_matches_values_computed_independently(offline, db):
    build_catalog(db, packages=40, seed=7)
    releases = list(db.releases.find())

    code, out, err = offline("package_stats", "--batch-size=7", "--no-progress")

    assert code == 0, err
    assert "batches 6, processed 40, updated 40, unchanged 0, failed 0" in out
    checked_latest = 0
    for package in db.packages.find():
        own = [r for r in releases if r["package"] == package["_id"]]
        expected = expected_stats(own)
        assert package["release_count"] == expected["release_count"]
        assert (package["latest"] or {}).get("version") == expected["latest"]
        assert package["first_release"] == expected["first_release"]
        assert package["last_release"] == expected["last_release"]
        assert package["total_size"] == expected["total_size"]
        checked_latest += expected["latest"] is not None
    assert checked_latest > 30


def test_package_stats_prefers_stable_then_falls_back(offline, db):
    db.packages.insert_many([{"_id": "stable"}, {"_id": "only-pre"}])
    db.releases.insert_many(
        [
            {"_id": "stable==1.0", "package": "stable", "version": "1.0", "yanked": False},
            {"_id": "stable==1.10", "package": "stable", "version": "1.10", "yanked": True},
            {"_id": "stable==2.0b1", "package": "stable", "version": "2.0b1", "yanked": False},
            {"_id": "stable==1.9", "package": "stable", "version": "1.9", "yanked": False},
            {"_id": "only-pre==1.0a1", "package": "only-pre", "version": "1.0a1"},
            {"_id": "only-pre==1.0a10", "package": "only-pre", "version": "1.0a10"},
            {"_id": "only-pre==1.0a9", "package": "only-pre", "version": "1.0a9"},
        ]
    )

    code, _, err = offline("package_stats", "--no-progress")

    assert code == 0, err
    assert db.packages.find_one({"_id": "stable"})["latest"]["version"] == "1.9"
    only_pre = db.packages.find_one({"_id": "only-pre"})["latest"]
    assert only_pre["version"] == "1.0a10"
    assert only_pre["is_prerelease"] is True


def test_second_run_changes_nothing(offline, db):
    build_catalog(db, packages=15, seed=3)
    offline("package_stats", "--no-progress")
    before = snapshot(db, "packages")

    code, out, _ = offline("package_stats", "--no-progress", "--json")

    report = json.loads(out)
    assert code == 0
    assert (report["updated"], report["unchanged"]) == (0, 15)
    assert snapshot(db, "packages") == before


def normalize_data(db) -> None:
    db.packages.insert_many(
        [
            {
                "_id": "Flask_Login",
                "author_email": " Max@Example.ORG ",
                "license": {"name": "MIT License", "spdx_id": ""},
            },
            {"_id": "ok-pkg", "maintainer_email": "a@b.c", "license": {"name": "apache-2.0"}},
            {"_id": "bsd-pkg", "license": {"name": "BSD License", "spdx_id": ""}},
            {"_id": "odd", "license": {"name": "Proprietary; ask us", "spdx_id": ""}},
            {"_id": "Zope.Interface", "summary": "clashes with the canonical one"},
            {"_id": "zope-interface", "summary": "already canonical"},
            {"_id": "gpl-pkg", "license": {"name": "GPL-3.0+"}},
        ]
        + [{"_id": f"Filler_{n:02d}", "author_email": f"U{n}@X.org"} for n in range(12)]
    )


def test_normalize_packages(offline, db):
    normalize_data(db)

    code, out, err = offline("normalize", "--batch-size=4", "--no-progress", "--json")

    assert code == 0, err
    report = json.loads(out)
    docs = {d["_id"]: d for d in db.packages.find()}
    flask = docs["flask-login"]
    assert "Flask_Login" not in docs
    assert flask["author_email"] == "max@example.org"
    assert flask["license"] == {"name": "MIT License", "spdx_id": "MIT"}
    assert docs["ok-pkg"]["license"]["spdx_id"] == "Apache-2.0"
    assert docs["gpl-pkg"]["license"]["spdx_id"] == "GPL-3.0-or-later"
    # Not clear matches: left as they are, and counted.
    assert docs["bsd-pkg"]["license"] == {"name": "BSD License", "spdx_id": ""}
    assert docs["odd"]["license"]["spdx_id"] == ""
    assert report["counts"]["license_unmatched"] == 2
    assert report["counts"]["license_mapped"] == 3
    # A spelling whose canonical name is taken is kept, never overwritten, and counted.
    assert docs["Zope.Interface"]["summary"] == "clashes with the canonical one"
    assert docs["zope-interface"]["summary"] == "already canonical"
    assert report["counts"]["name_collisions"] == 1
    assert sorted(k for k in docs if k.startswith("filler")) == [
        f"filler-{n:02d}" for n in range(12)
    ]
    assert docs["filler-03"]["author_email"] == "u3@x.org"
    assert report["counts"]["renamed"] == 13
    assert len(docs) == 19


def test_normalize_releases_and_users(offline, db):
    db.releases.insert_many(
        [
            {"_id": "Foo_Bar==1.0", "package": "Foo_Bar", "version": "1.0"},
            {"_id": "foo-bar==2.0", "package": "foo-bar", "version": "2.0"},
        ]
    )
    db.users.insert_many([{"_id": "ann", "email": "Ann@Example.org"}, {"_id": "bob"}])

    code, _, err = offline("normalize", "--collection=releases", "--no-progress")
    assert code == 0, err
    code, _, err = offline("normalize", "--collection=users", "--no-progress")
    assert code == 0, err

    assert sorted((d["_id"], d["package"]) for d in db.releases.find()) == [
        ("foo-bar==1.0", "foo-bar"),
        ("foo-bar==2.0", "foo-bar"),
    ]
    assert db.users.find_one({"_id": "ann"})["email"] == "ann@example.org"
    assert db.users.find_one({"_id": "bob"}) == {"_id": "bob"}


def test_job_writes_are_in_the_audit_trail_as_the_command(offline, db):
    from tests.audit.conftest import mongo_entries

    db.users.insert_many([{"_id": "ann", "email": "Ann@Example.org"}, {"_id": "bob"}])
    db.packages.insert_one({"_id": "Flask_Login", "summary": "s"})

    assert offline("normalize", "--collection=users", "--no-progress")[0] == 0
    assert offline("normalize", "--collection=packages", "--no-progress")[0] == 0

    [email] = mongo_entries(model="users")
    assert email["operation"] == "bulk_update"
    assert (email["object_key"], email["changes"]) == (
        "ann",
        {"email": ["Ann@Example.org", "ann@example.org"]},
    )
    assert email["actor"] == "command:process_offline"
    # A rename is the new document created, then the old one deleted.
    renamed = mongo_entries(model="packages")
    assert [(e["operation"], e["object_key"]) for e in renamed] == [
        ("bulk_create", "flask-login"),
        ("bulk_delete", "Flask_Login"),
    ]


JOBS_AND_DATA = {
    "package_stats": lambda db: build_catalog(db, packages=30, seed=11),
    "normalize": normalize_data,
}


@pytest.mark.parametrize("stage", ["computed", "written"])
@pytest.mark.parametrize("job", JOBS_AND_DATA)
@pytest.mark.parametrize("failing_batch", [1, 3])
def test_resume_after_a_failure_ends_identical_to_an_uninterrupted_run(
    offline, db, job, stage, failing_batch
):
    JOBS_AND_DATA[job](db)
    original = copy.deepcopy(snapshot(db, "packages", "releases"))
    code, _, _ = offline(job, "--batch-size=4", "--no-progress")
    assert code == 0
    uninterrupted = snapshot(db, "packages", "releases")
    restore(db, copy.deepcopy(original))

    def fail(number: int, at: str) -> None:
        if number == failing_batch and at == stage:
            raise InjectedFailure(f"batch {number} {at}")

    with pytest.raises(InjectedFailure):
        job_run(job=job, batch_size=4, on_batch=fail)
    code, out, err = offline(job, "--batch-size=4", "--resume", "--no-progress")

    assert code == 0, err
    assert snapshot(db, "packages", "releases") == uninterrupted
    if failing_batch > 1:
        # The resumed run started after the last checkpointed batch, not from the top.
        assert "resumed after" in out
    if failing_batch > 1 and job == "package_stats":
        processed = int(out.split("processed ")[1].split(",")[0])
        assert processed == len(original["packages"]) - 4 * (failing_batch - 1)
    assert "complete" in out


def test_resume_after_completion_does_nothing(offline, db):
    build_catalog(db, packages=5, seed=1)
    offline("package_stats", "--no-progress")

    code, out, _ = offline("package_stats", "--resume", "--no-progress")

    assert code == 0
    assert "processed 0" in out
    assert "complete (5 documents in all runs)" in out


def test_limit_stops_early_and_resume_goes_on(offline, db):
    build_catalog(db, packages=12, seed=5)

    code, out, _ = offline("package_stats", "--limit=5", "--batch-size=2", "--no-progress")
    assert code == 0
    assert "processed 5," in out
    assert "stopped after 'pkg-004': run again with --resume" in out
    assert db.packages.count_documents({"release_count": 99}) == 7

    code, out, _ = offline("package_stats", "--resume", "--batch-size=2", "--no-progress")
    assert code == 0
    assert "processed 7," in out
    assert "complete (12 documents in all runs)" in out
    assert db.packages.count_documents({"release_count": 99}) == 0


def test_where_filters_documents_safely(offline, db):
    normalize_data(db)

    code, out, _ = offline(
        "normalize", "--where=license.name=MIT License", "--no-progress", "--json"
    )
    assert code == 0
    report = json.loads(out)
    assert report["processed"] == 1
    assert db.packages.find_one({"_id": "flask-login"})["license"]["spdx_id"] == "MIT"
    assert db.packages.find_one({"_id": "ok-pkg"})["license"] == {"name": "apache-2.0"}

    # A value that looks like an operator is only ever a literal.
    code, out, _ = offline("normalize", "--where=summary=$gt", "--no-progress", "--json")
    assert code == 0
    assert json.loads(out)["processed"] == 0

    code, _, err = offline("normalize", "--where=$where=1", "--no-progress")
    assert code == 1
    assert "plain field name" in err


def test_resume_with_another_filter_is_refused(offline, db):
    build_catalog(db, packages=6, seed=2)
    offline("package_stats", "--limit=2", "--no-progress")

    code, _, err = offline("package_stats", "--resume", "--where=display_name=pkg-005")

    assert code == 1
    assert "resume with the same filter" in err


def test_checkpoint_is_stored_after_each_batch(db):
    build_catalog(db, packages=10, seed=4)
    seen = []

    def record(number: int, stage: str) -> None:
        if stage == "computed":
            seen.append(db.job_checkpoints.find_one({"_id": "package_stats:packages"}))

    result = job_run(job="package_stats", batch_size=3, on_batch=record)

    assert result.batches == 4
    assert [c.get("last_id") for c in seen] == [None, "pkg-002", "pkg-005", "pkg-008"]
    final = db.job_checkpoints.find_one({"_id": "package_stats:packages"})
    assert final["status"] == "complete"
    assert final["last_id"] == "pkg-009"
