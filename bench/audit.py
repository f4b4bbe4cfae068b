"""Benchmark: the cost of auditing, measured side by side in one run.

For each store (the relational database from DATABASE_URL, and MongoDB from
MONGODB_URI) it times single-object saves, updates and deletes, and bulk
creates, queryset updates, bulk updates and queryset deletes, with auditing
off (``audit_disabled()``: the plain ORM / MongoEngine path) and on, and
prints operations per second and the on/off ratio. It also counts the
queries of one relational batch at two batch sizes, to show the audit adds a
constant number per batch.

Runs in a throwaway test database (``test_<name>``), created and dropped here.

    uv run python bench/audit.py                   # defaults: 1000 single ops, 5 x 2000 bulk
    uv run python bench/audit.py --single 300 --batch 500 --batches 2 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_databases,
    teardown_databases,
)

from audit.context import audit_context, audit_disabled  # noqa: E402
from audit.recorder import mongo_db  # noqa: E402
from catalog.documents import PackageDocument, ReleaseDocument  # noqa: E402
from catalog.models import Package, Release  # noqa: E402


@dataclass
class Measure:
    store: str
    kind: str  # single | bulk
    operation: str
    objects: int
    off_per_s: float
    on_per_s: float

    @property
    def ratio(self) -> float:
        return self.off_per_s / self.on_per_s if self.on_per_s else float("inf")


@dataclass
class QueryCount:
    operation: str
    small: int
    large: int
    off_small: int
    off_large: int


@dataclass
class BenchResult:
    database: str
    mongodb: str
    measures: list[Measure]
    queries: list[QueryCount]


class Timer:
    def __init__(self) -> None:
        self.elapsed = 0.0

    def __call__(self, func: Callable[[], object]) -> None:
        started = time.perf_counter()
        func()
        self.elapsed += time.perf_counter() - started


def _package(tag: str) -> Package:
    return Package.objects.create(display_name=f"bench-{tag}")


def _releases(package: Package, count: int, tag: str) -> list[Release]:
    items = [Release(package=package, version=f"{i}.{tag}") for i in range(count)]
    for release in items:
        release.compute_version_fields()
    return items


def sql_single(n: int, tag: str) -> dict[str, float]:
    times = {"save (create)": Timer(), "save (update)": Timer(), "delete": Timer()}
    created = []
    for i in range(n):
        obj = Package(display_name=f"single-{tag}-{i}", summary="s")
        times["save (create)"](obj.save)
        created.append(obj)
    for obj in created:
        obj.summary = "changed"
        times["save (update)"](obj.save)
    for obj in created:
        times["delete"](obj.delete)
    return {op: n / t.elapsed for op, t in times.items()}


def sql_bulk(batch: int, batches: int, tag: str) -> dict[str, float]:
    times = {
        "bulk_create": Timer(),
        "queryset update": Timer(),
        "bulk_update": Timer(),
        "queryset delete": Timer(),
    }
    for b in range(batches):
        package = _package(f"{tag}-{b}")
        items = _releases(package, batch, f"{tag}{b}")
        times["bulk_create"](lambda items=items: Release.objects.bulk_create(items))
        qs = Release.objects.filter(package=package)
        times["queryset update"](lambda qs=qs: qs.update(comment="bench"))
        for release in items:
            release.summary = "bulk"
        times["bulk_update"](lambda items=items: Release.objects.bulk_update(items, ["summary"]))
        times["queryset delete"](lambda qs=qs: qs.delete())
        package.delete()
    total = batch * batches
    return {op: total / t.elapsed for op, t in times.items()}


def mongo_single(n: int, tag: str) -> dict[str, float]:
    times = {"save (create)": Timer(), "save (update)": Timer(), "delete": Timer()}
    docs = []
    for i in range(n):
        doc = PackageDocument(name=f"single-{tag}-{i}", display_name="x", summary="s")
        times["save (create)"](doc.save)
        docs.append(doc)
    for doc in docs:
        doc.summary = "changed"
        times["save (update)"](doc.save)
    for doc in docs:
        times["delete"](doc.delete)
    return {op: n / t.elapsed for op, t in times.items()}


def mongo_bulk(batch: int, batches: int, tag: str) -> dict[str, float]:
    times = {"insert": Timer(), "queryset update": Timer(), "queryset delete": Timer()}
    for b in range(batches):
        package = f"bulk-{tag}-{b}"
        docs = [
            ReleaseDocument(id=f"{package}=={i}", package=package, version=str(i), sort_key="k")
            for i in range(batch)
        ]
        times["insert"](lambda docs=docs: ReleaseDocument.objects.insert(docs, load_bulk=False))
        qs = ReleaseDocument.objects(package=package)
        times["queryset update"](lambda qs=qs: qs.update(set__yanked=True))
        times["queryset delete"](lambda qs=qs: qs.delete())
    total = batch * batches
    return {op: total / t.elapsed for op, t in times.items()}


def query_counts(small: int, large: int) -> list[QueryCount]:
    def count(func: Callable[[], object]) -> int:
        with CaptureQueriesContext(connection) as ctx:
            func()
        return len(ctx.captured_queries)

    results = []
    for label, op in (
        ("bulk_create", lambda p, items: Release.objects.bulk_create(items)),
        ("queryset update", lambda p, items: Release.objects.filter(package=p).update(comment="q")),
        ("queryset delete", lambda p, items: Release.objects.filter(package=p).delete()),
    ):
        row = {}
        for mode in ("on", "off"):
            for size in (small, large):
                package = _package(f"q-{label}-{mode}-{size}")
                items = _releases(package, size, "q")
                if label != "bulk_create":
                    with audit_disabled():
                        Release.objects.bulk_create(items)
                if mode == "off":
                    with audit_disabled():
                        row[(mode, size)] = count(lambda p=package, i=items, op=op: op(p, i))
                else:
                    row[(mode, size)] = count(lambda p=package, i=items, op=op: op(p, i))
        results.append(
            QueryCount(
                label,
                row[("on", small)],
                row[("on", large)],
                row[("off", small)],
                row[("off", large)],
            )
        )
    return results


def run(*, single: int, mongo_single_n: int, batch: int, batches: int, rounds: int) -> BenchResult:
    measures: dict[tuple[str, str, str], list[float]] = {}
    objects: dict[tuple[str, str, str], int] = {}

    def record(store: str, kind: str, n: int, mode: str, values: dict[str, float]) -> None:
        for op, rate in values.items():
            key = (store, kind, op)
            objects[key] = n
            measures.setdefault(key, [0.0, 0.0])
            index = 0 if mode == "off" else 1
            measures[key][index] = max(measures[key][index], rate)  # best of rounds

    for r in range(rounds):
        # Alternate the order so warm-up and cache effects do not favour one mode.
        for mode in ("off", "on") if r % 2 == 0 else ("on", "off"):
            tag = f"{r}{mode}"
            ctx = audit_disabled() if mode == "off" else audit_context(command="bench_audit")
            with ctx:
                record("sql", "single", single, mode, sql_single(single, tag))
                record("sql", "bulk", batch * batches, mode, sql_bulk(batch, batches, tag))
                record("mongo", "single", mongo_single_n, mode, mongo_single(mongo_single_n, tag))
                record("mongo", "bulk", batch * batches, mode, mongo_bulk(batch, batches, tag))
    result = [
        Measure(store, kind, op, objects[(store, kind, op)], off, on)
        for (store, kind, op), (off, on) in measures.items()
    ]
    return BenchResult(
        database=connection.vendor,
        mongodb="embedded (mongomock)" if settings.MONGODB_EMBEDDED else "server",
        measures=result,
        queries=query_counts(max(batch // 20, 10), batch),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--single", type=int, default=1000, help="single-object ops (SQL)")
    parser.add_argument("--mongo-single", type=int, default=500, help="single-object ops (Mongo)")
    parser.add_argument("--batch", type=int, default=2000, help="objects per bulk batch")
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="best of N rounds per mode")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        result = run(
            single=args.single,
            mongo_single_n=args.mongo_single,
            batch=args.batch,
            batches=args.batches,
            rounds=args.rounds,
        )
    finally:
        teardown_databases(old_config, verbosity=0)
        for name in ("packages", "releases", "audit_entries", "audit_chain"):
            mongo_db()[name].delete_many({})

    if args.json:
        payload = asdict(result)
        for measure, row in zip(result.measures, payload["measures"], strict=True):
            row["ratio"] = round(measure.ratio, 3)
        print(json.dumps(payload, indent=2))
        return
    print(f"relational: {result.database}; documents: {result.mongodb}")
    print(
        f"{'store':6} {'kind':6} {'operation':16} {'objects':>8} {'off/s':>10} {'on/s':>10} ratio"
    )
    for m in result.measures:
        target = 1.5 if m.kind == "single" else 2.0
        flag = "ok" if m.ratio <= target else f"over {target}x"
        print(
            f"{m.store:6} {m.kind:6} {m.operation:16} {m.objects:8d} {m.off_per_s:10.0f} "
            f"{m.on_per_s:10.0f} {m.ratio:5.2f}x {flag}"
        )
    print("queries per relational batch (audit on / off):")
    for q in result.queries:
        print(
            f"  {q.operation:16} small batch {q.small} / {q.off_small}, "
            f"large batch {q.large} / {q.off_large}"
        )


if __name__ == "__main__":
    main()
