"""Benchmark: the cost of auditing, measured side by side in one run.

For each store (PostgreSQL, or the relational database of DATABASE_URL when
it is set, and MongoDB: MONGODB_URI's server, else a SecantusDB server
started for the bench) it times single-object saves, updates and deletes, and bulk
creates, queryset updates, bulk updates and queryset deletes, with auditing
off (``audit_disabled()``: the plain ORM / MongoEngine path) and on, and
prints operations per second and the on/off ratio. Next to each ratio it
prints its floor: the unaudited time plus only the storage work the
requirements impose (one entry per object, in the change's transaction),
measured side by side with precomputed statements; no implementation can go
below it here (see "floors" below). It also counts the queries of one
relational batch at two batch sizes, to show the audit adds a constant number
per batch.

Runs in a throwaway test database (``test_<name>``), created and dropped here.

    scripts/bench audit             # starts the test PostgreSQL server, then runs this
    uv run python bench/audit.py    # defaults: 1000 single ops, 500 document ops, 5 x 2000 bulk
    uv run python bench/audit.py --single 300 --batch 500 --batches 2 --json

Off and on are interleaved (blocks of single operations, alternate batches),
so load from other processes hits both sides alike.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
if not os.environ.get("MONGODB_URI"):
    # A throwaway local server of its own (secantusd-py), stopped at exit.
    import atexit

    from project.local_mongo import private_server

    _server = private_server()
    os.environ["MONGODB_URI"] = _server.__enter__() + "pyindex_bench_audit"
    atexit.register(_server.__exit__, None, None, None)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models.sql import InsertQuery  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_databases,
    teardown_databases,
)

from audit.context import audit_context, audit_disabled  # noqa: E402
from audit.entry_fields import ENTRY_NAMES  # noqa: E402
from audit.recorder import MONGO_INDEXES, mongo_db  # noqa: E402
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
    # The lowest ratio any audited implementation could reach here (see floors()).
    floor: float | None = None

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


# --- floors: the storage work no audited implementation can skip ------------------
#
# Whatever records the changes must, per the issue, write one entry per object
# (relational: in the same transaction as the change). The floor of a ratio is
# (unaudited time + that work alone) / unaudited time, where "that work" is
# measured with precomputed SQL or documents: the change with and without
# BEGIN / one multi-row INSERT of the entries / COMMIT around it, and for
# documents the insert of the entry documents. No old-value read, no hashing,
# no chain lock, no Python: a lower bound. A target below its floor cannot
# be met on this machine by any implementation of the requirements.

FLOOR_COLLECTION = "bench_floor_entries"


def _entry_values(n: int, tag: str) -> list[tuple]:
    """Entries like the audit's: small changes, 64-character hashes."""
    now = datetime.now(UTC)
    return [
        (
            "catalog.release",
            f"{tag}-{i}",
            "bulk_update",
            '{"comment":["","bench"]}',  # as MongoDB entries keep it; PostgreSQL: jsonb
            now,
            "command:bench_audit",
            None,
            None,
            "6f8538483319482999f9191a80e5b34f",
            False,
            "",
            f"{i:064x}",
            f"{i + 1:064x}",
        )
        for i in range(n)
    ]


_RECORD_TYPES = (
    "model varchar, object_key varchar, operation varchar, changes jsonb, "
    '"timestamp" timestamptz, actor varchar, actor_id bigint, remote_addr inet, '
    "correlation_id varchar, raw boolean, note varchar, prev_hash varchar, hash varchar"
)


def _entries_statement(count: int, tag: str) -> tuple[str, list]:
    """One INSERT of ``count`` entry rows, built before the clock starts.

    PostgreSQL: the rows as one JSON parameter (``jsonb_to_recordset``, the
    quickest single statement measured here: half the time of a 2,000-row
    VALUES list); other databases: a multi-row VALUES list.
    """
    rows = _entry_values(count, tag)
    columns = ", ".join(f'"{name}"' for name in ENTRY_NAMES)
    insert = f"INSERT INTO audit_auditentry ({columns}) "
    if connection.vendor == "postgresql":
        data = [
            {
                **dict(zip(ENTRY_NAMES, row, strict=True)),
                "changes": json.loads(row[3]),
                "timestamp": row[4].isoformat(),
            }
            for row in rows
        ]
        sql = f"SELECT {columns} FROM jsonb_to_recordset(%s::jsonb) AS x({_RECORD_TYPES})"  # noqa: S608
        return insert + sql, [json.dumps(data)]
    values = ", ".join(["(" + ", ".join(["%s"] * len(ENTRY_NAMES)) + ")"] * count)
    return insert + "VALUES " + values, [v for row in rows for v in row]


def _insert_sql(objs: list[Any]) -> tuple[str, list]:
    """The INSERT Django runs for ``objs`` (one multi-row statement)."""
    model = type(objs[0])
    fields = [f for f in model._meta.local_concrete_fields if not f.primary_key]
    query = InsertQuery(model)
    query.insert_values(fields, objs)
    [(sql, params)] = query.get_compiler(connection=connection).as_sql()
    return sql, list(params)


def _timed(statements: list[tuple[str, list]], *, framed: bool) -> float:
    with connection.cursor() as cursor:
        started = time.perf_counter()
        if framed:
            cursor.execute("BEGIN")
        for sql, params in statements:
            cursor.execute(sql, params)
        if framed:
            cursor.execute("COMMIT")
        return time.perf_counter() - started


class Floors:
    """Seconds per object that the entry work alone adds, per operation."""

    def __init__(self) -> None:
        self.extra: dict[str, float] = {}
        self.objects: dict[str, int] = {}

    def add(self, op: str, extra: float, objects: int) -> None:
        self.extra[op] = self.extra.get(op, 0.0) + extra
        self.objects[op] = self.objects.get(op, 0) + objects

    def sql(
        self,
        op: str,
        off: tuple[str, list],
        on: tuple[str, list],
        objects: int,
        tag: str,
        *,
        framed: bool = False,
    ) -> None:
        """``off`` in autocommit (or BEGIN/COMMIT when ``framed``) against ``on``,
        the same change to other rows, in BEGIN, one INSERT of the entries, COMMIT."""
        entries = _entries_statement(objects, tag)
        off_s = _timed([off], framed=framed)
        on_s = _timed([on, entries], framed=True)
        self.add(op, on_s - off_s, objects)

    def per_object(self, op: str) -> float:
        return max(self.extra[op], 0.0) / self.objects[op]


def sql_floors(n: int, batch: int, batches: int, tag: str) -> Floors:
    floors = Floors()
    pairs = [
        [
            Package(display_name=f"floor-{tag}-{mode}-{i}", name=f"floor-{tag}-{mode}-{i}")
            for mode in ("off", "on")
        ]
        for i in range(n)
    ]
    by_name = "UPDATE catalog_package SET summary = %s WHERE name = %s"
    delete = "DELETE FROM catalog_package WHERE name = %s"
    for i, (a, b) in enumerate(pairs):
        floors.sql("save (create)", _insert_sql([a]), _insert_sql([b]), 1, f"{tag}c{i}")
    for i, (a, b) in enumerate(pairs):
        floors.sql(
            "save (update)", (by_name, ["u", a.name]), (by_name, ["u", b.name]), 1, f"{tag}u{i}"
        )
    for i, (a, b) in enumerate(pairs):
        floors.sql(
            "save in atomic",
            (by_name, ["t", a.name]),
            (by_name, ["t", b.name]),
            1,
            f"{tag}t{i}",
            framed=True,
        )
    for i, (a, b) in enumerate(pairs):
        # Django deletes in a transaction with or without the audit: framed both ways.
        floors.sql("delete", (delete, [a.name]), (delete, [b.name]), 1, f"{tag}d{i}", framed=True)
    for k in range(batches):
        with audit_disabled():
            a, b = _package(f"floor-{tag}-{k}-off"), _package(f"floor-{tag}-{k}-on")
        floors.sql(
            "bulk_create",
            _insert_sql(_releases(a, batch, f"f{k}")),
            _insert_sql(_releases(b, batch, f"f{k}")),
            batch,
            f"{tag}bc{k}",
            framed=True,  # Django's bulk_create, bulk_update and delete are atomic anyway
        )
        for op, sql, framed in (
            (
                "queryset update",
                "UPDATE catalog_release SET comment = 'q' WHERE package_id = %s",
                False,
            ),
            ("bulk_update", "UPDATE catalog_release SET summary = 'b' WHERE package_id = %s", True),
            ("queryset delete", "DELETE FROM catalog_release WHERE package_id = %s", True),
        ):
            floors.sql(op, (sql, [a.pk]), (sql, [b.pk]), batch, f"{tag}{op}{k}", framed=framed)
        with audit_disabled():
            Package.objects.filter(pk__in=[a.pk, b.pk]).delete()
    return floors


def mongo_floors(n: int, batch: int, batches: int) -> Floors:
    """The insert of the entry documents (a scratch collection with the entries' indexes)."""
    floors = Floors()
    collection = mongo_db()[FLOOR_COLLECTION]
    for keys, name in MONGO_INDEXES:
        collection.create_index(keys, name=name)
    position = 0

    def documents(count: int, tag: str) -> list[dict]:
        nonlocal position
        docs = []
        for row in _entry_values(count, tag):
            position += 1
            docs.append({"_id": position, **dict(zip(ENTRY_NAMES, row, strict=True))})
        return docs

    for op in ("save (create)", "save (update)", "delete"):
        for i in range(n):
            doc = documents(1, f"{op}{i}")[0]
            started = time.perf_counter()
            collection.insert_one(doc)
            floors.add(op, time.perf_counter() - started, 1)
    for op in ("insert", "queryset update", "queryset delete"):
        for k in range(batches):
            docs = documents(batch, f"{op}{k}")
            started = time.perf_counter()
            collection.insert_many(docs)
            floors.add(op, time.perf_counter() - started, batch)
    # Kept, 40,000 documents in the process would slow the measurements after (GC).
    collection.drop()
    return floors


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


def _fresh(section: Callable[..., Any], *args: Any) -> Any:
    """Run one section after a full garbage collection.

    What the sections before left for the collector would otherwise come due
    in one pause of tens of milliseconds inside whichever block runs then,
    audited or not (it made one ratio 3.7x instead of 2.5x).
    """
    gc.collect()
    return section(*args)


def run(*, single: int, mongo_single_n: int, batch: int, batches: int) -> BenchResult:
    measures = []
    sql_floor = _fresh(sql_floors, single, batch, batches, "f")
    mongo_floor = _fresh(mongo_floors, mongo_single_n, batch, batches)
    for store, kind, timers, floors in (
        ("sql", "single", _fresh(sql_single, single, "s"), sql_floor),
        ("sql", "bulk", _fresh(sql_bulk, batch, batches, "b"), sql_floor),
        ("mongo", "single", _fresh(mongo_single, mongo_single_n, "s"), mongo_floor),
        ("mongo", "bulk", _fresh(mongo_bulk, batch, batches, "b"), mongo_floor),
    ):
        for op, (objects, off, on) in timers.rates().items():
            # The unaudited time per object plus the entry work alone, over the former.
            floor = 1 + floors.per_object(op) * off
            measures.append(Measure(store, kind, op, objects, off, on, floor))
    return BenchResult(
        database=connection.vendor,
        mongodb=settings.MONGODB_URI,
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
            row["floor"] = round(measure.floor, 3)
        print(json.dumps(payload, indent=2))
        return
    print(f"relational: {result.database}; documents: {result.mongodb}")
    print(
        f"{'store':6} {'kind':6} {'operation':16} {'objects':>8} {'off/s':>10} {'on/s':>10} "
        f"{'ratio':>6} {'floor':>6}  target"
    )
    for m in result.measures:
        target = 1.5 if m.kind == "single" else 2.0
        if m.ratio <= target:
            flag = "ok"
        elif m.floor is not None and m.floor > target:
            flag = f"over {target}x; the floor is above it"
        else:
            flag = f"over {target}x"
        print(
            f"{m.store:6} {m.kind:6} {m.operation:16} {m.objects:8d} {m.off_per_s:10.0f} "
            f"{m.on_per_s:10.0f} {m.ratio:5.2f}x {m.floor:5.2f}x  {flag}"
        )
    print("queries per relational batch (audit on / off):")
    for q in result.queries:
        print(
            f"  {q.operation:16} small batch {q.small} / {q.off_small}, "
            f"large batch {q.large} / {q.off_large}"
        )


if __name__ == "__main__":
    main()
