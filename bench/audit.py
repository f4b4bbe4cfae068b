"""Benchmark: the cost of auditing, measured side by side in one run.

For each store (PostgreSQL, or the relational database of DATABASE_URL when
it is set, and MongoDB from MONGODB_URI) it times single-object saves, updates and deletes, and bulk
creates, queryset updates, bulk updates and queryset deletes, with auditing
off (``audit_disabled()``: the plain ORM / MongoEngine path) and on, and
prints operations per second and the on/off ratio. It also counts the
queries of one relational batch at two batch sizes, to show the audit adds a
constant number per batch.

Runs in a throwaway test database (``test_<name>``), created and dropped here.

    scripts/bench audit             # starts the test PostgreSQL server, then runs this
    uv run python bench/audit.py    # defaults: 1000 single ops, 500 document ops, 5 x 2000 bulk
    uv run python bench/audit.py --single 300 --batch 500 --batches 2 --json

Off and on are interleaved (blocks of single operations, alternate batches),
so load from other processes hits both sides alike.
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
# The figures are PostgreSQL's: the server scripts/lib.sh starts.
_PG_PORT = os.environ.get("PYINDEX_PG_PORT", "54329")
os.environ.setdefault(
    "DATABASE_URL", f"postgres://postgres@127.0.0.1:{_PG_PORT}/pyindex_bench_audit"
)
# The live sync rebuilds documents after every relational commit; its cost is
# the same with auditing on or off and would drown what is measured here.
os.environ.setdefault("CATALOG_LIVE_SYNC", "0")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
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


BLOCK = 20  # single ops alternate between the modes every BLOCK operations


def mode_context(mode: str):
    return audit_disabled() if mode == "off" else audit_context(command="bench_audit")


class Timers:
    """Elapsed time and count per (operation, mode), measured interleaved.

    The machine is shared: alternating the modes in small blocks makes load
    changes hit both sides alike, which separate runs per mode do not.
    """

    def __init__(self) -> None:
        self.elapsed: dict[tuple[str, str], float] = {}
        self.count: dict[tuple[str, str], int] = {}

    def run(self, op: str, mode: str, func: Callable[[], object], objects: int = 1) -> None:
        with mode_context(mode):
            started = time.perf_counter()
            func()
            elapsed = time.perf_counter() - started
        key = (op, mode)
        self.elapsed[key] = self.elapsed.get(key, 0.0) + elapsed
        self.count[key] = self.count.get(key, 0) + objects

    def rates(self) -> dict[str, tuple[int, float, float]]:
        ops = dict.fromkeys(op for op, _ in self.elapsed)
        return {
            op: (
                self.count[(op, "off")] + self.count[(op, "on")],
                self.count[(op, "off")] / self.elapsed[(op, "off")],
                self.count[(op, "on")] / self.elapsed[(op, "on")],
            )
            for op in ops
        }


def block_mode(i: int) -> str:
    return "off" if (i // BLOCK) % 2 == 0 else "on"


def _package(tag: str) -> Package:
    return Package.objects.create(display_name=f"bench-{tag}")


def _releases(package: Package, count: int, tag: str) -> list[Release]:
    items = [Release(package=package, version=f"{i}.{tag}") for i in range(count)]
    for release in items:
        release.compute_version_fields()
    return items


def sql_single(n: int, tag: str) -> Timers:
    timers = Timers()
    objs = [Package(display_name=f"single-{tag}-{i}", summary="s") for i in range(n)]
    for i, obj in enumerate(objs):
        timers.run("save (create)", block_mode(i), obj.save)
    for i, obj in enumerate(objs):
        obj.summary = "changed"
        timers.run("save (update)", block_mode(i), obj.save)

    def save_in_transaction(obj: Package) -> None:
        # What the admin and the services do: the transaction exists either way.
        with transaction.atomic():
            obj.save()

    for i, obj in enumerate(objs):
        obj.summary = "changed again"
        timers.run("save in atomic", block_mode(i), lambda obj=obj: save_in_transaction(obj))
    for i, obj in enumerate(objs):
        timers.run("delete", block_mode(i), obj.delete)
    return timers


def sql_bulk(batch: int, batches: int, tag: str) -> Timers:
    timers = Timers()
    for b in range(batches * 2):
        mode = "off" if b % 2 == 0 else "on"
        package = _package(f"{tag}-{b}")
        items = _releases(package, batch, f"{tag}{b}")
        timers.run("bulk_create", mode, lambda i=items: Release.objects.bulk_create(i), batch)
        qs = Release.objects.filter(package=package)
        timers.run("queryset update", mode, lambda qs=qs: qs.update(comment="bench"), batch)
        for release in items:
            release.summary = "bulk"
        timers.run(
            "bulk_update",
            mode,
            lambda i=items: Release.objects.bulk_update(i, ["summary"]),
            batch,
        )
        timers.run("queryset delete", mode, lambda qs=qs: qs.delete(), batch)
        package.delete()
    return timers


def mongo_single(n: int, tag: str) -> Timers:
    timers = Timers()
    docs = [
        PackageDocument(name=f"single-{tag}-{i}", display_name="x", summary="s") for i in range(n)
    ]
    for i, doc in enumerate(docs):
        timers.run("save (create)", block_mode(i), doc.save)
    for i, doc in enumerate(docs):
        doc.summary = "changed"
        timers.run("save (update)", block_mode(i), doc.save)
    for i, doc in enumerate(docs):
        timers.run("delete", block_mode(i), doc.delete)
    return timers


def mongo_bulk(batch: int, batches: int, tag: str) -> Timers:
    timers = Timers()
    for b in range(batches * 2):
        mode = "off" if b % 2 == 0 else "on"
        package = f"bulk-{tag}-{b}"
        docs = [
            ReleaseDocument(id=f"{package}=={i}", package=package, version=str(i), sort_key="k")
            for i in range(batch)
        ]
        timers.run(
            "insert",
            mode,
            lambda d=docs: ReleaseDocument.objects.insert(d, load_bulk=False),
            batch,
        )
        qs = ReleaseDocument.objects(package=package)
        timers.run("queryset update", mode, lambda qs=qs: qs.update(set__yanked=True), batch)
        timers.run("queryset delete", mode, lambda qs=qs: qs.delete(), batch)
    return timers


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


def run(*, single: int, mongo_single_n: int, batch: int, batches: int) -> BenchResult:
    measures = []
    for store, kind, timers in (
        ("sql", "single", sql_single(single, "s")),
        ("sql", "bulk", sql_bulk(batch, batches, "b")),
        ("mongo", "single", mongo_single(mongo_single_n, "s")),
        ("mongo", "bulk", mongo_bulk(batch, batches, "b")),
    ):
        for op, (objects, off, on) in timers.rates().items():
            measures.append(Measure(store, kind, op, objects, off, on))
    return BenchResult(
        database=connection.vendor,
        mongodb="embedded (mongomock)" if settings.MONGODB_EMBEDDED else "server",
        measures=measures,
        queries=query_counts(max(batch // 20, 10), batch),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--single", type=int, default=1000, help="single-object ops (SQL)")
    parser.add_argument("--mongo-single", type=int, default=500, help="single-object ops (Mongo)")
    parser.add_argument("--batch", type=int, default=2000, help="objects per bulk batch")
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    # Its own throwaway database, never the test suite's.
    connection.settings_dict.setdefault("TEST", {})["NAME"] = (
        f"bench_{connection.settings_dict['NAME']}" if connection.vendor == "postgresql" else None
    )
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        result = run(
            single=args.single,
            mongo_single_n=args.mongo_single,
            batch=args.batch,
            batches=args.batches,
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
