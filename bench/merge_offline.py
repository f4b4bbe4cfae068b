"""Benchmarks for merge_sources and process_offline package_stats, each against its floor.

    uv run python bench/merge_offline.py [--docs 100000] [--releases 200000]

1. Merge: two sources of --docs documents each (a JSON Lines file and a MongoDB
   collection), 50 percent overlap, policy newest, into an empty collection;
   against the floor: one insert_many of the already-merged result.
2. package_stats over --releases release documents (about 100 per package)
   against one aggregation pipeline computing the same fields (without writing).

Both run in one process against MONGODB_URI's server (by default a SecantusDB
server started for the bench, with throwaway storage), and print the ratios
measured side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
if not os.environ.get("MONGODB_URI"):
    # A throwaway local server of its own (secantusd-py), stopped at exit.
    import atexit

    from project.local_mongo import private_server

    _server = private_server()
    os.environ["MONGODB_URI"] = _server.__enter__() + "pyindex_bench_merge_offline"
    atexit.register(_server.__exit__, None, None, None)

import django  # noqa: E402

django.setup()

from mongoengine.connection import get_db  # noqa: E402

from catalog.documents import release_document_id  # noqa: E402
from catalog.services.merge.orchestration import sources_merge  # noqa: E402
from catalog.services.merge.sources import source_spec_parse  # noqa: E402
from catalog.services.offline.runner import job_run  # noqa: E402
from catalog.versions import parse_version  # noqa: E402

BASE = datetime(2020, 1, 1, tzinfo=UTC)


def timed(function):
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def source_doc(n: int, *, source: str, rng: random.Random) -> dict:
    return {
        "_id": f"Pkg_{n:07d}" if source == "a" else f"pkg-{n:07d}",
        "summary": f"package {n} from {source}",
        "author_email": f"author{n}@example.org",
        "keywords": " ".join(rng.sample(["web", "cli", "db", "ml", "io", "test"], 2)),
        "release_count": rng.randint(1, 50),
        "updated": (BASE + timedelta(minutes=rng.randint(0, 10**6))).isoformat(),
    }


def bench_merge(db, docs: int, workdir: Path) -> None:
    rng = random.Random(1)
    half = docs // 2
    path = workdir / "a.jsonl"
    with path.open("w") as out:
        for n in range(docs):
            out.write(json.dumps(source_doc(n, source="a", rng=rng)) + "\n")
    db.bench_b.drop()
    db.bench_b.insert_many(source_doc(n, source="b", rng=rng) for n in range(half, half + docs))
    db.bench_merged.drop()

    seconds, result = timed(
        lambda: sources_merge(
            sources=[source_spec_parse(f"a=file:{path}"), source_spec_parse("b=mongo:bench_b")],
            into="bench_merged",
            normalize=["canonical-name"],
            policy="newest",
            batch_size=1000,
        )
    )
    merged = list(db.bench_merged.find())
    db.bench_floor.drop()
    floor, _ = timed(lambda: db.bench_floor.insert_many(merged))
    t = result.totals
    print(
        f"merge: 2 x {docs} documents, {t.matched} matched, {t.inserted} merged documents, "
        f"{t.conflicts} conflicts"
    )
    print(f"  merge_sources (newest)     {seconds:8.2f} s  {t.inserted / seconds:10.0f} docs/s")
    print(f"  floor: one insert_many     {floor:8.2f} s  {len(merged) / floor:10.0f} docs/s")
    print(f"  ratio merge / floor        {seconds / floor:8.1f} x")
    for name in ("bench_b", "bench_merged", "bench_floor", "merge_conflicts"):
        db[name].drop()


def build_releases(db, releases: int) -> int:
    rng = random.Random(2)
    packages = max(1, releases // 100)
    versions = [f"{major}.{minor}" for major in range(10) for minor in range(20)]
    versions += [f"{v}rc1" for v in versions[:50]]
    db.packages.drop()
    db.releases.drop()
    db.packages.insert_many({"_id": f"pkg-{p:06d}", "release_count": 0} for p in range(packages))
    batch = []
    for n in range(releases):
        package = f"pkg-{n % packages:06d}"
        version = versions[(n // packages) % len(versions)]
        parsed = parse_version(version)
        batch.append(
            {
                "_id": release_document_id(package, version),
                "package": package,
                "version": version,
                "sort_key": parsed.sort_key,
                "is_prerelease": parsed.is_prerelease,
                "yanked": rng.random() < 0.05,
                "requires_python": ">=3.9",
                "created": BASE + timedelta(hours=rng.randint(0, 40000)),
                "files": [{"size": rng.randint(1000, 10**7)} for _ in range(rng.randint(0, 3))],
            }
        )
        if len(batch) == 10000:
            db.releases.insert_many(batch)
            batch = []
    if batch:
        db.releases.insert_many(batch)
    return packages


PIPELINE = [
    {
        "$addFields": {
            "stable": {"$cond": [{"$or": ["$yanked", "$is_prerelease"]}, 0, 1]},
            # The sizes through $map: the local server does not resolve "$files.size"
            # (a path through an array of documents) in an expression; mongod does.
            "size": {"$sum": {"$map": {"input": "$files", "as": "f", "in": "$$f.size"}}},
        }
    },
    {"$sort": {"package": 1, "stable": -1, "sort_key": -1}},
    {
        "$group": {
            "_id": "$package",
            "release_count": {"$sum": 1},
            "latest": {"$first": "$version"},
            "first_release": {"$min": "$created"},
            "last_release": {"$max": "$created"},
            "total_size": {"$sum": "$size"},
        }
    },
]


def bench_package_stats(db, releases: int) -> None:
    packages = build_releases(db, releases)
    seconds, result = timed(lambda: job_run(job="package_stats", batch_size=500))
    pipeline, rows = timed(lambda: list(db.releases.aggregate(PIPELINE)))
    # The two computations must agree, or the comparison means nothing.
    stored = {d["_id"]: d for d in db.packages.find()}
    disagree = sum(
        1
        for row in rows
        if (stored[row["_id"]]["release_count"], stored[row["_id"]]["total_size"])
        != (row["release_count"], row["total_size"])
        or stored[row["_id"]]["latest"]["version"] != row["latest"]
    )
    print(f"package_stats: {releases} releases, {packages} packages, {result.updated} updated")
    print(
        f"  process_offline package_stats {seconds:8.2f} s  "
        f"{releases / seconds:10.0f} releases/s (writes included)"
    )
    print(
        f"  one aggregation pipeline      {pipeline:8.2f} s  "
        f"{releases / pipeline:10.0f} releases/s (no writes)"
    )
    print(f"  ratio job / pipeline          {seconds / pipeline:8.1f} x   ({disagree} disagree)")
    db.packages.drop()
    db.releases.drop()
    db.job_checkpoints.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--releases", type=int, default=200_000)
    args = parser.parse_args()
    db = get_db()
    print(f"store: {os.environ['MONGODB_URI']}")
    with tempfile.TemporaryDirectory() as workdir:
        bench_merge(db, args.docs, Path(workdir))
    bench_package_stats(db, args.releases)


if __name__ == "__main__":
    main()
