"""Benchmark migrate_to_mongo against the save() loop and its floor, on SQLite and PostgreSQL.

    uv run python bench/migrate.py [--packages 2000] [--sample 3000] [--batch-size 1000]
        [--workers 1] [--backends sqlite,postgres] [--small-factor 10] [--json]
    scripts/bench migrate --packages 50          # a smoke run, well under a minute

For each relational backend it builds a catalog with seed_catalog (2,000
packages are about 200,000 releases and 370,000 files; a database already
seeded with the same number of packages is reused) and measures, in one
process, documents per second of:

(a) today's usual approach: rows read as model instances with their related
    rows loaded lazily, one MongoEngine document built and save()d at a time,
    on a sample of --sample documents (at most a fifth of the catalog) in the
    catalog's mix of users, releases and packages;
(b) catalog_migrate(), the service behind `manage.py migrate_to_mongo`, into
    empty collections, under the command's audit context; then (b2) the same
    call again on unchanged data;
(c) the floor: the same rows read with values_list(), assembled into the same
    document dicts (checksum included) by the plainest code, and written with
    insert_many into empty collections.

(a) and (b) run with the settings a user has (AUDIT_ENABLED, on by default),
and the targets compare them so; with auditing on, both are also measured
with it off (audit_disabled()), shown for information. (c) runs first, (b)
last. The floor's documents are checked against the migration's: same _id,
same checksum.

Memory: a dry run of the migration (catalog_migrate(dry_run=True): reads and
maps everything, writes nothing) in a fresh process per catalog size, on the
catalog and on one seeded with --small-factor times fewer packages. A first,
untraced run gives the time and the RSS growth (and pays one-time costs:
imports, query compilation); the peak is tracemalloc's over a second run
(Python allocations of the pipeline). The pipeline holds one batch at a time,
so its memory is bounded by the batch size; the memory runs use
--memory-batch-size (default 100) so that every collection of the small catalog spans
several full batches too. With batches larger than a collection of the small
catalog (its 200 packages in one batch of 1,000) the comparison would measure
how full a batch is, not growth.

Targets (the exit status is 1 when one is missed): (c) at most 2 times (b);
the re-run under a fifth of the first run; peak memory growing less than 20
percent when the catalog grows tenfold; and (b) against (a): at least 10
times on a real mongod (--mongodb-uri). The local server is a Python process
whose own bulk advantage is small (insert_many against one write at a time),
so the floor's ratio to the loop, (c) / (a), is printed beside ours, and on
the bench's own local server (b) / (a) must reach at least half of it.

The live sync is off (CATALOG_LIVE_SYNC=0: it has no part in a bulk
migration). MongoDB is --mongodb-uri, by default a SecantusDB server the bench
starts for itself (secantusd-py on a free port, storage in a temporary
directory, stopped at the end); every collection of that database is dropped
between the measurements, so its name must contain "bench". SQLite databases live under
var/, PostgreSQL ones (pyindex_bench_migrate_<packages>) on the server of
--postgres-url (the one scripts/lib.sh starts).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "project.settings",
    "SECRET_KEY": "bench-only-secret-key-not-for-production",
    # DEBUG keeps every query in memory: it would distort both time and memory.
    "DEBUG": "0",
    "CATALOG_LIVE_SYNC": "0",
    "LOG_LEVEL": "ERROR",
}
PG_PORT = os.environ.get("PYINDEX_PG_PORT", "54329")
BENCH_DATABASE = "pyindex_bench_migrate"


# --- databases (parent process) ----------------------------------------------


def database_url(backend: str, packages: int, postgres_url: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{ROOT / 'var' / f'bench_migrate_{packages}.sqlite3'}"
    server = urlsplit(postgres_url)
    return server._replace(path=f"/pyindex_bench_migrate_{packages}").geturl()


def _pg_admin(url: str, statement: str) -> None:
    import psycopg2
    from psycopg2 import errors

    parts = urlsplit(url)
    try:
        conn = psycopg2.connect(parts._replace(path="/postgres").geturl())
    except psycopg2.OperationalError as exc:
        raise SystemExit(
            f"PostgreSQL is not reachable at {parts.hostname}:{parts.port}: {exc}\n"
            "Start it with scripts/bench, or `source scripts/lib.sh; start_postgres`, "
            "or leave it out with --backends sqlite"
        ) from exc
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement)
    except errors.DuplicateDatabase:
        pass
    finally:
        conn.close()


def database_create(url: str) -> None:
    if url.startswith("postgres"):
        _pg_admin(url, f'CREATE DATABASE "{urlsplit(url).path.lstrip("/")}"')
    else:
        (ROOT / "var").mkdir(exist_ok=True)


def database_drop(url: str) -> None:
    if url.startswith("postgres"):
        _pg_admin(url, f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}"')
    else:
        Path(urlsplit(url).path).unlink(missing_ok=True)


def child_run(kind: str, url: str, args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    """Run one measurement in a fresh process; its result comes back as JSON."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            kind,
            "--database-url",
            url,
            "--out",
            out.name,
            "--packages",
            str(extra.get("packages", args.packages)),
            "--sample",
            str(args.sample),
            "--batch-size",
            str(args.batch_size),
            "--memory-batch-size",
            str(args.memory_batch_size),
            "--workers",
            str(args.workers),
            "--mongodb-uri",
            args.mongodb_uri,
            "--server-kind",
            args.server_kind,
        ]
        env = {**os.environ, **BENCH_ENV, "DATABASE_URL": url, "MONGODB_URI": args.mongodb_uri}
        done = subprocess.run(command, env=env, cwd=ROOT, check=False)
        if done.returncode:
            raise SystemExit(f"bench/migrate.py --child {kind} failed on {_redact(url)}")
        return json.loads(Path(out.name).read_text())


def _redact(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=parts.hostname or "").geturl() if parts.password else url


def catalog_prepare(url: str, packages: int, args: argparse.Namespace) -> dict[str, int]:
    """A migrated database seeded with ``packages`` packages (reused when it has them)."""
    database_create(url)
    catalog = child_run("prepare", url, args, packages=packages)
    if catalog["packages"] != packages:
        print(
            f"==> {_redact(url)} has {catalog['packages']} packages, not {packages}: recreating",
            file=sys.stderr,
        )
        database_drop(url)
        database_create(url)
        catalog = child_run("prepare", url, args, packages=packages)
    return catalog


# --- the child process -------------------------------------------------------


def django_setup() -> None:
    for key, value in BENCH_ENV.items():
        os.environ.setdefault(key, value)
    import django

    django.setup()


def catalog_counts() -> dict[str, int]:
    from catalog.models import Package, Release, ReleaseFile, User

    return {
        "packages": Package.objects.count(),
        "releases": Release.objects.count(),
        "files": ReleaseFile.objects.count(),
        "users": User.objects.count(),
    }


def child_prepare(args: argparse.Namespace) -> dict[str, Any]:
    from django.core.management import call_command

    from catalog.models import Package
    from catalog.services.seed import catalog_seed

    call_command("migrate", interactive=False, verbosity=0)
    if not Package.objects.exists():
        print(
            f"==> seeding {args.packages} packages into {_redact(args.database_url)} "
            "(about a minute per 2,000 packages)",
            file=sys.stderr,
            flush=True,
        )
        catalog_seed(packages=args.packages, seed=1)
    return catalog_counts()


def mongo_clear() -> None:
    """Drop every collection of the bench's MongoDB database."""
    from mongoengine.connection import get_db

    db = get_db()
    for name in db.list_collection_names():
        db.drop_collection(name)


def catalog_clear() -> None:
    """Drop the catalog's collections and the migration's checkpoints (not the audit trail)."""
    from catalog.documents import PackageDocument, ReleaseDocument, UserDocument
    from catalog.services.migration.state import state_collection

    for document in (UserDocument, ReleaseDocument, PackageDocument):
        document._get_collection().drop()
    state_collection().drop()


def stored_checksums() -> dict[str, dict[Any, str]]:
    from catalog.documents import PackageDocument, ReleaseDocument, UserDocument

    return {
        document._get_collection_name(): {
            doc["_id"]: doc.get("checksum")
            for doc in document._get_collection().find({}, {"checksum": 1})
        }
        for document in (UserDocument, ReleaseDocument, PackageDocument)
    }


def checksums_compare(
    expected: dict[str, dict[Any, str]], actual: dict[str, dict[Any, str]]
) -> dict[str, Any]:
    """How many documents differ (missing, extra or another checksum), with examples."""
    differ = 0
    examples = []
    for name, wanted in expected.items():
        got = actual.get(name, {})
        for key in wanted.keys() | got.keys():
            if wanted.get(key) != got.get(key):
                differ += 1
                if len(examples) < 5:
                    examples.append(f"{name} {key}")
    return {"differ": differ, "examples": examples}


def _timed(func, *args, **kwargs):
    gc.collect()
    started = time.perf_counter()
    value = func(*args, **kwargs)
    return time.perf_counter() - started, value


def child_throughput(args: argparse.Namespace) -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection

    from audit.context import audit_context, audit_disabled
    from bench.migrating.floor import floor_run
    from bench.migrating.loop import loop_sample, loop_save
    from catalog.services.migration.to_mongo import catalog_migrate

    catalog = catalog_counts()
    documents = catalog["users"] + catalog["releases"] + catalog["packages"]
    mongo_clear()
    out: dict[str, Any] = {
        "vendor": connection.vendor,
        "catalog": catalog,
        "documents": documents,
        "audit_enabled": bool(getattr(settings, "AUDIT_ENABLED", True)),
        "live_sync": bool(getattr(settings, "CATALOG_LIVE_SYNC", False)),
        "mongodb": args.server_kind,
    }

    # (c) the floor first, in a clean process.
    seconds, (parts, floor_sums) = _timed(floor_run, args.batch_size)
    out["floor"] = {"documents": documents, "seconds": seconds - parts["entries"], "parts": parts}
    out["floor_audited"] = {"documents": documents, "seconds": seconds}
    catalog_clear()

    # (a) one at a time, on a sample: as configured, then (auditing on) without it.
    sample = loop_sample(args.sample)
    with audit_context(command="bench_migrate_loop"):
        seconds, written = loop_save(sample)
    catalog_clear()
    out["loop"] = {"documents": written, "seconds": seconds}
    if out["audit_enabled"]:
        with audit_disabled():
            seconds, written = loop_save(sample)
        catalog_clear()
        out["loop_unaudited"] = {"documents": written, "seconds": seconds}

    # (b) the service as the command runs it, last: with auditing on, first once
    # without it (what the audit costs), then as configured, then again on
    # unchanged data.
    options = {"batch_size": args.batch_size, "workers": args.workers}
    if out["audit_enabled"]:
        with audit_disabled():
            seconds, unaudited = _timed(catalog_migrate, **options)
        out["migrate_unaudited"] = {
            "documents": sum(c.inserted for c in unaudited.collections),
            "seconds": seconds,
            "collections": {c.collection: c.seconds for c in unaudited.collections},
        }
        del unaudited
        catalog_clear()
    with audit_context(command="migrate_to_mongo"):
        seconds, first = _timed(catalog_migrate, **options)
        out["migrate"] = {
            "documents": sum(c.inserted for c in first.collections),
            "written": first.written,
            "failed": first.failed,
            "seconds": seconds,
            "collections": {c.collection: c.seconds for c in first.collections},
        }
        seconds, rerun = _timed(catalog_migrate, **options)
        out["rerun"] = {
            "written": rerun.written,
            "read": sum(c.read for c in rerun.collections),
            "modes": {c.collection: c.mode for c in rerun.collections},
            "seconds": seconds,
            "collections": {c.collection: c.seconds for c in rerun.collections},
        }
    out["floor"]["check"] = checksums_compare(stored_checksums(), floor_sums)
    mongo_clear()
    return out


def child_memory(args: argparse.Namespace) -> dict[str, Any]:
    import tracemalloc

    from catalog.services.migration.to_mongo import catalog_migrate

    catalog = catalog_counts()
    options = {"batch_size": args.memory_batch_size, "workers": args.workers, "dry_run": True}
    mongo_clear()
    # Untraced first: time and RSS growth without tracemalloc's own overhead.
    gc.collect()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds, result = _timed(catalog_migrate, **options)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    gc.collect()
    tracemalloc.start()
    catalog_migrate(**options)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "catalog": catalog,
        "documents": sum(c.read for c in result.collections),
        "seconds": seconds,
        "peak_bytes": peak,
        # ru_maxrss is in kilobytes on Linux.
        "rss_growth_bytes": (rss_after - rss_before) * 1024,
    }


CHILDREN = {"prepare": child_prepare, "throughput": child_throughput, "memory": child_memory}


# --- report ----------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=2000, help="catalog size (packages)")
    parser.add_argument("--sample", type=int, default=3000, help="documents of the save() loop")
    parser.add_argument("--batch-size", type=int, default=1000, help="migration batch size")
    parser.add_argument(
        "--memory-batch-size",
        type=int,
        default=100,
        help="batch size of the memory runs (below the small catalog's collection sizes)",
    )
    parser.add_argument("--workers", type=int, default=1, help="migration workers")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument(
        "--small-factor", type=int, default=10, help="the memory run's small catalog: N times fewer"
    )
    parser.add_argument(
        "--memory-packages",
        type=int,
        default=None,
        help="the memory runs' large catalog (default --packages): a dry run reads and maps "
        "but writes nothing, so it can be larger than the throughput catalog",
    )
    parser.add_argument(
        "--postgres-url",
        default=f"postgres://postgres@127.0.0.1:{PG_PORT}/",
        help="PostgreSQL server (the database name is the bench's own)",
    )
    parser.add_argument(
        "--mongodb-uri",
        default=None,
        help="MongoDB database (its collections are dropped; the name must contain 'bench'); "
        "default: a SecantusDB server started for the bench",
    )
    parser.add_argument("--server-kind", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.mongodb_uri and "bench" not in urlsplit(args.mongodb_uri).path:
        parser.error("--mongodb-uri must name a database whose name contains 'bench'")
    if args.child:
        django_setup()
        result = CHILDREN[args.child](args)
        Path(args.out).write_text(json.dumps(result, default=str))
        return 0

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends or set(backends) - {"sqlite", "postgres"}:
        parser.error("--backends takes sqlite, postgres or both, comma-separated")
    if args.packages < args.small_factor or args.small_factor < 2:
        parser.error("--packages must be at least --small-factor, which must be at least 2")
    memory_packages = args.memory_packages or args.packages
    small_packages = memory_packages // args.small_factor
    if args.mongodb_uri:
        args.server_kind = "server at --mongodb-uri"
        return measure(args, backends, small_packages)
    from project.local_mongo import private_server

    with (
        tempfile.TemporaryDirectory(prefix="bench-migrate-mongo-") as storage,
        private_server(storage) as base,
    ):
        args.mongodb_uri = base + BENCH_DATABASE
        args.server_kind = "local SecantusDB server (secantusd-py, started by the bench)"
        return measure(args, backends, small_packages)


def measure(args: argparse.Namespace, backends: list[str], small_packages: int) -> int:
    from bench.migrating.report import backend_summary, print_report

    local = not args.server_kind.startswith("server at")
    summaries = []
    for backend in backends:
        full_url = database_url(backend, args.packages, args.postgres_url)
        large_packages = args.memory_packages or args.packages
        large_url = database_url(backend, large_packages, args.postgres_url)
        small_url = database_url(backend, small_packages, args.postgres_url)
        catalog_prepare(full_url, args.packages, args)
        catalog_prepare(large_url, large_packages, args)
        catalog_prepare(small_url, small_packages, args)
        print(f"==> {backend}: measuring", file=sys.stderr, flush=True)
        run = child_run("throughput", full_url, args)
        memory_small = child_run("memory", small_url, args, packages=small_packages)
        memory_full = child_run("memory", large_url, args, packages=large_packages)
        summaries.append(backend_summary(backend, run, memory_small, memory_full, local=local))

    if args.json:
        print(
            json.dumps(
                {
                    "settings": {
                        "packages": args.packages,
                        "small_packages": small_packages,
                        "sample": args.sample,
                        "batch_size": args.batch_size,
                        "workers": args.workers,
                    },
                    "backends": summaries,
                    "ok": all(t["ok"] is not False for s in summaries for t in s["targets"]),
                },
                indent=2,
                default=str,
            )
        )
    else:
        print_report(summaries, args)
    return 0 if all(t["ok"] is not False for s in summaries for t in s["targets"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
