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
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_SPEEDUP = 10.0  # (b) / (a), at least
TARGET_FLOOR = 2.0  # (c) / (b), at most
TARGET_RERUN = 0.2  # re-run / first run, under
TARGET_MEMORY = 20.0  # peak memory growth in percent for a tenfold catalog, under
BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "project.settings",
    "SECRET_KEY": "bench-only-secret-key-not-for-production",
    # DEBUG keeps every query in memory: it would distort both time and memory.
    "DEBUG": "0",
    "CATALOG_LIVE_SYNC": "0",
    "LOG_LEVEL": "ERROR",
}
PG_PORT = os.environ.get("PYINDEX_PG_PORT", "54329")
MB = 1024 * 1024
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


def _ms(value):
    """A datetime (or None) to MongoDB's milliseconds, as catalog.mapping does."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000) if value else value


def _clean(value):
    return _ms(value) if isinstance(value, datetime) else value


# (a) one document at a time ---------------------------------------------------


def loop_sample(size: int) -> dict[str, list[int]]:
    """Primary keys spread over each table, in the catalog's mix of documents."""
    from catalog.models import Package, Release, User

    pks = {
        name: list(model.objects.order_by("pk").values_list("pk", flat=True))
        for name, model in (("users", User), ("releases", Release), ("packages", Package))
    }
    total = sum(len(v) for v in pks.values())
    # At most a fifth of the catalog: a smoke run on a tiny catalog stays quick.
    size = min(size, max(1, total // 5))
    sample = {}
    for name, keys in pks.items():
        n = min(len(keys), max(1, round(size * len(keys) / total))) if keys else 0
        step = max(1, len(keys) // n) if n else 1
        sample[name] = keys[::step][:n]
    return sample


def _save(document_cls, doc: dict[str, Any]) -> None:
    from catalog.mapping import document_checksum

    doc["checksum"] = document_checksum(doc)
    doc[document_cls._meta["id_field"]] = doc.pop("_id")
    document_cls(**doc).save()


def _loop_rows(sample: dict[str, list[int]]):
    """Rows as model instances, related rows loaded lazily, one document save() at a time.

    Yields after each document written.
    """
    from catalog.documents import (
        PackageDocument,
        ReleaseDocument,
        UserDocument,
        release_document_id,
    )
    from catalog.mapping import FILE_FIELDS, PACKAGE_FIELDS, RELEASE_FIELDS, USER_FIELDS
    from catalog.models import Package, Release, User

    for user in User.objects.filter(pk__in=sample["users"]).order_by("pk"):
        doc = {"_id": user.username, "sql_id": user.pk}
        doc.update({f: _clean(getattr(user, f)) for f in USER_FIELDS})
        _save(UserDocument, doc)
        yield
    for release in Release.objects.filter(pk__in=sample["releases"]).order_by("pk"):
        name = release.package.name  # a query per release
        doc = {
            "_id": release_document_id(name, release.version),
            "sql_id": release.pk,
            "package": name,
        }
        doc.update({f: _clean(getattr(release, f)) for f in RELEASE_FIELDS})
        doc["files"] = [
            {f: _clean(getattr(file, f)) for f in FILE_FIELDS}
            for file in release.files.order_by("filename")  # and another
        ]
        _save(ReleaseDocument, doc)
        yield
    for package in Package.objects.filter(pk__in=sample["packages"]).order_by("pk"):
        doc = {"_id": package.name, "sql_id": package.pk}
        doc.update({f: _clean(getattr(package, f)) for f in PACKAGE_FIELDS})
        license_ = package.license
        doc["license"] = {"name": license_.name, "spdx_id": license_.spdx_id} if license_ else None
        doc["classifiers"] = sorted(c.name for c in package.classifiers.all())
        roles = sorted(package.roles.all(), key=lambda m: (m.role != "owner", m.user.username))
        doc["maintainers"] = [
            {"user_id": m.user_id, "username": m.user.username, "role": m.role} for m in roles
        ]
        releases = list(package.releases.order_by("-sort_key"))
        latest = next((r for r in releases if not r.yanked and not r.is_prerelease), None)
        latest = latest or (releases[0] if releases else None)
        doc["latest"] = latest and {
            "version": latest.version,
            "sort_key": latest.sort_key,
            "created": _ms(latest.created),
            "requires_python": latest.requires_python,
            "is_prerelease": latest.is_prerelease,
            "yanked": latest.yanked,
        }
        doc["release_count"] = len(releases)
        _save(PackageDocument, doc)
        yield


def loop_save(sample: dict[str, list[int]]) -> tuple[float, int]:
    """(seconds, documents) of the save() loop over ``sample``."""
    gc.collect()
    written = 0
    started = time.perf_counter()
    for _ in _loop_rows(sample):
        written += 1
    seconds = time.perf_counter() - started
    catalog_clear()
    return seconds, written


# (c) the floor ------------------------------------------------------------------


def floor_run(batch_size: int) -> tuple[dict[str, float], dict[str, dict[Any, str]]]:
    """values_list() reads, plain dicts, insert_many; returns timings and checksums.

    Primary-key keyset batches, as the migration reads; the related rows of a
    batch by primary-key range. Then the collections' declared indexes, as the
    migration leaves them (a server builds them per document: on the local
    server each index costs about as much as the insert itself).

    The audited floor adds what an audited migration must also store: one
    entry per document (its JSON and a hash, chained) inserted with
    insert_many into the audit collection, with that collection's indexes;
    timed apart ("entries").
    """
    import hashlib

    from audit.recorder import MONGO_ENTRIES, ensure_mongo_indexes, mongo_db
    from catalog.documents import PackageDocument, ReleaseDocument, UserDocument
    from catalog.mapping import (
        FILE_FIELDS,
        PACKAGE_FIELDS,
        RELEASE_FIELDS,
        USER_FIELDS,
        document_checksum,
    )
    from catalog.models import Maintainer, Package, Release, ReleaseFile, User

    def dates(model, fields):
        return [
            f for f in fields if model._meta.get_field(f).get_internal_type() == "DateTimeField"
        ]

    timings = {"read": 0.0, "build": 0.0, "insert": 0.0, "indexes": 0.0, "entries": 0.0}
    ensure_mongo_indexes()
    entries = mongo_db()[MONGO_ENTRIES]
    now = datetime.now(UTC)
    chain = {"seq": 0, "hash": ""}
    checksums: dict[str, dict[Any, str]] = {}

    def batches(model, fields):
        last = 0
        while True:
            started = time.perf_counter()
            rows = list(
                model.objects.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", *fields)[:batch_size]
            )
            timings["read"] += time.perf_counter() - started
            if not rows:
                return
            yield rows
            last = rows[-1][0]

    def write(document, docs, sums):
        started = time.perf_counter()
        for doc in docs:
            doc["checksum"] = sums[doc["_id"]] = document_checksum(doc)
        timings["build"] += time.perf_counter() - started
        started = time.perf_counter()
        document._get_collection().insert_many(docs, ordered=False)
        timings["insert"] += time.perf_counter() - started
        started = time.perf_counter()
        rows = []
        for doc in docs:
            text = json.dumps(doc, sort_keys=True, default=str)
            chain["seq"] += 1
            chain["hash"] = hashlib.sha256((chain["hash"] + text).encode()).hexdigest()
            rows.append(
                {
                    "_id": chain["seq"],
                    "model": document._get_collection_name(),
                    "object_key": str(doc["_id"]),
                    "operation": "bulk_create",
                    "timestamp": now,
                    "actor": "command:bench_floor",
                    "correlation_id": "bench-floor",
                    "changes": text,
                    "hash": chain["hash"],
                }
            )
        entries.insert_many(rows, ordered=True)
        timings["entries"] += time.perf_counter() - started

    # users
    sums = checksums[UserDocument._get_collection_name()] = {}
    keys = ("sql_id", "_id", *USER_FIELDS)
    stamps = dates(User, USER_FIELDS)
    for rows in batches(User, ("username", *USER_FIELDS)):
        started = time.perf_counter()
        docs = []
        for row in rows:
            doc = dict(zip(keys, row, strict=True))
            for key in stamps:
                doc[key] = _ms(doc[key])
            docs.append(doc)
        timings["build"] += time.perf_counter() - started
        write(UserDocument, docs, sums)

    # releases, files embedded
    sums = checksums[ReleaseDocument._get_collection_name()] = {}
    keys = ("sql_id", "package", *RELEASE_FIELDS)
    stamps = dates(Release, RELEASE_FIELDS)
    for rows in batches(Release, ("package__name", *RELEASE_FIELDS)):
        started = time.perf_counter()
        files: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for release_id, *values in (
            ReleaseFile.objects.filter(release_id__gte=rows[0][0], release_id__lte=rows[-1][0])
            .order_by("release_id", "filename")
            .values_list("release_id", *FILE_FIELDS)
        ):
            file = dict(zip(FILE_FIELDS, values, strict=True))
            file["upload_time"] = _ms(file["upload_time"])
            files[release_id].append(file)
        timings["read"] += time.perf_counter() - started
        started = time.perf_counter()
        docs = []
        for row in rows:
            doc = dict(zip(keys, row, strict=True))
            doc["_id"] = f"{doc['package']}=={doc['version']}"
            for key in stamps:
                doc[key] = _ms(doc[key])
            doc["files"] = files.get(doc["sql_id"], [])
            docs.append(doc)
        timings["build"] += time.perf_counter() - started
        write(ReleaseDocument, docs, sums)

    # packages: license, classifiers, maintainers, latest release and count embedded
    sums = checksums[PackageDocument._get_collection_name()] = {}
    keys = ("sql_id", "_id", *PACKAGE_FIELDS, "license_name", "license_spdx")
    stamps = dates(Package, PACKAGE_FIELDS)
    through = Package.classifiers.through
    for rows in batches(Package, ("name", *PACKAGE_FIELDS, "license__name", "license__spdx_id")):
        started = time.perf_counter()
        low, high = rows[0][0], rows[-1][0]
        classifiers = defaultdict(list)
        for package_id, name in through.objects.filter(
            package_id__gte=low, package_id__lte=high
        ).values_list("package_id", "classifier__name"):
            classifiers[package_id].append(name)
        roles = defaultdict(list)
        for package_id, user_id, username, role in Maintainer.objects.filter(
            package_id__gte=low, package_id__lte=high
        ).values_list("package_id", "user_id", "user__username", "role"):
            roles[package_id].append((role != "owner", username, user_id, role))
        latest: dict[int, tuple] = {}
        newest: dict[int, tuple] = {}
        counts: dict[int, int] = defaultdict(int)
        for row in (
            Release.objects.filter(package_id__gte=low, package_id__lte=high)
            .order_by("package_id", "-sort_key")
            .values_list(
                "package_id",
                "version",
                "sort_key",
                "created",
                "requires_python",
                "is_prerelease",
                "yanked",
            )
        ):
            package_id = row[0]
            counts[package_id] += 1
            if package_id not in newest:
                newest[package_id] = row
            if package_id not in latest and not row[5] and not row[6]:
                latest[package_id] = row
        timings["read"] += time.perf_counter() - started
        started = time.perf_counter()
        docs = []
        for row in rows:
            doc = dict(zip(keys, row, strict=True))
            for key in stamps:
                doc[key] = _ms(doc[key])
            name, spdx = doc.pop("license_name"), doc.pop("license_spdx")
            doc["license"] = None if name is None else {"name": name, "spdx_id": spdx}
            pk = doc["sql_id"]
            doc["classifiers"] = sorted(classifiers.get(pk, ()))
            doc["maintainers"] = [
                {"user_id": user_id, "username": username, "role": role}
                for _, username, user_id, role in sorted(roles.get(pk, ()))
            ]
            chosen = latest.get(pk) or newest.get(pk)
            doc["latest"] = chosen and {
                "version": chosen[1],
                "sort_key": chosen[2],
                "created": _ms(chosen[3]),
                "requires_python": chosen[4],
                "is_prerelease": chosen[5],
                "yanked": chosen[6],
            }
            doc["release_count"] = counts.get(pk, 0)
            docs.append(doc)
        timings["build"] += time.perf_counter() - started
        write(PackageDocument, docs, sums)
    started = time.perf_counter()
    for document in (UserDocument, ReleaseDocument, PackageDocument):
        document.ensure_indexes()
    timings["indexes"] = time.perf_counter() - started
    return timings, checksums


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
    out["loop"] = {"documents": written, "seconds": seconds}
    if out["audit_enabled"]:
        with audit_disabled():
            seconds, written = loop_save(sample)
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


def _rate(part: dict[str, Any] | None) -> float:
    if not part or not part["seconds"]:
        return 0.0
    return part.get("documents", 0) / part["seconds"]


def _target(name, label, value, op, target, *, counts=True) -> dict[str, Any]:
    ok = {">=": value >= target, "<=": value <= target, "<": value < target}[op]
    return {
        "name": name,
        "label": label,
        "value": value,
        "op": op,
        "target": target,
        # Informative rows (auditing off on both sides) do not decide the exit status.
        "ok": ok if counts else None,
        "met": ok,
    }


def backend_summary(
    name: str, run: dict[str, Any], small: dict, full: dict, *, local: bool
) -> dict[str, Any]:
    rates = {
        key: _rate(run.get(key))
        for key in (
            "loop",
            "loop_unaudited",
            "migrate",
            "migrate_unaudited",
            "floor",
            "floor_audited",
        )
    }
    growth = (full["peak_bytes"] - small["peak_bytes"]) / small["peak_bytes"] * 100
    loop, migrate, floor = rates["loop"], rates["migrate"], rates["floor"]
    # Each side against the floor of the same work: audited, entries included.
    audited = bool(rates["migrate_unaudited"])
    migrate_floor = rates["floor_audited"] if audited else floor
    # On the local server the bulk advantage itself is small: at least half the
    # floor's, the floor doing the same work as ours (entries included when audited).
    speedup_target = round(migrate_floor / loop / 2, 2) if local else TARGET_SPEEDUP
    targets = [
        _target(
            "floor_speedup", "(c) / (a) docs/s, the floor's", floor / loop, ">=", 0, counts=False
        ),
        *(
            [
                _target(
                    "floor_audited_speedup",
                    "(c2) / (a) docs/s, the floor's",
                    migrate_floor / loop,
                    ">=",
                    0,
                    counts=False,
                )
            ]
            if audited
            else []
        ),
        _target("speedup", "(b) / (a) docs/s", migrate / loop, ">=", speedup_target),
        _target(
            "floor",
            "(c2) / (b) docs/s" if audited else "(c) / (b) docs/s",
            migrate_floor / migrate,
            "<=",
            TARGET_FLOOR,
        ),
        _target(
            "rerun",
            "re-run / first run, time",
            run["rerun"]["seconds"] / run["migrate"]["seconds"],
            "<",
            TARGET_RERUN,
        ),
        _target("memory", "peak growth, 10x catalog, %", growth, "<", TARGET_MEMORY),
    ]
    if rates["migrate_unaudited"]:
        unaudited = rates["migrate_unaudited"]
        targets[2:2] = [
            _target(
                "speedup_unaudited",
                "  audit off: (b) / (a)",
                unaudited / rates["loop_unaudited"],
                ">=",
                round(floor / rates["loop_unaudited"] / 2, 2) if local else TARGET_SPEEDUP,
                counts=False,
            ),
            _target(
                "floor_unaudited",
                "  audit off: (c) / (b)",
                floor / unaudited,
                "<=",
                TARGET_FLOOR,
                counts=False,
            ),
        ]
    differ = run["migrate"]["failed"] + run["floor"]["check"]["differ"]
    if differ:
        targets.append(
            {
                "name": "same documents",
                "label": "failed or differing documents",
                "value": differ,
                "op": "==",
                "target": 0,
                "ok": False,
                "met": False,
            }
        )
    return {
        "backend": name,
        "rates": rates,
        "throughput": run,
        "memory": {"small": small, "full": full, "growth_percent": growth},
        "targets": targets,
    }


def print_report(summaries: list[dict[str, Any]], args: argparse.Namespace) -> None:
    first = summaries[0]["throughput"]
    catalog = first["catalog"]
    small = summaries[0]["memory"]["small"]["catalog"]
    audit = "on" if first["audit_enabled"] else "off"
    print(
        f"catalog: {catalog['packages']:,} packages, {catalog['releases']:,} releases, "
        f"{catalog['files']:,} files, {catalog['users']:,} users = {first['documents']:,} "
        f"documents; small catalog (memory): {small['packages']:,} packages, "
        f"{small['releases']:,} releases"
    )
    print(
        f"settings: MongoDB {first['mongodb']}, "
        f"AUDIT_ENABLED={audit} (the default: on), CATALOG_LIVE_SYNC=off; "
        f"--batch-size {args.batch_size} (memory runs: {args.memory_batch_size}), "
        f"--workers {args.workers}, "
        f"loop sample {first['loop']['documents']:,} documents"
    )
    print(f"{'backend':9} {'measurement':44} {'documents':>10} {'seconds':>9} {'docs/s':>9}")
    for s in summaries:
        run = s["throughput"]
        rows = [(f"(a) save() loop, audit {audit}", run["loop"])]
        if run.get("loop_unaudited"):
            rows.append(("    the same, audit off", run["loop_unaudited"]))
        rows.append((f"(b) migrate_to_mongo, audit {audit}", run["migrate"]))
        if run.get("migrate_unaudited"):
            rows.append(("    the same, audit off", run["migrate_unaudited"]))
        rerun, parts = run["rerun"], run["floor"]["parts"]
        spent = ", ".join(f"{name} {sec:.2f} s" for name, sec in rerun["collections"].items())
        rows += [
            ("(b2) re-run on unchanged data", {**rerun, "documents": None}),
            (
                f"read {rerun['read']:,} rows, wrote {rerun['written']:,} documents; {spent}",
                None,
            ),
            ("(c) floor: values_list + insert_many", run["floor"]),
            (
                f"read {parts['read']:.2f} s, build + checksum {parts['build']:.2f} s, "
                f"insert_many {parts['insert']:.2f} s, indexes {parts['indexes']:.2f} s",
                None,
            ),
            ("(c2) the floor + an entry per document", run["floor_audited"]),
            (f"entries: build, hash, insert_many {parts['entries']:.2f} s", None),
        ]
        for label, part in rows:
            if part is None:  # a detail of the row above
                print(f"{'':9}     {label}")
                continue
            docs = part.get("documents")
            rate = f"{docs / part['seconds']:9.0f}" if docs else f"{'-':>9}"
            shown = f"{docs:10,}" if docs is not None else f"{'-':>10}"
            print(f"{s['backend']:9} {label:44} {shown} {part['seconds']:9.2f} {rate}")
        for size in ("small", "full"):
            m = s["memory"][size]
            label = f"dry run, {m['catalog']['packages']:,} packages"
            print(
                f"{s['backend']:9} {label:44}"
                f" {m['documents']:10,} {m['seconds']:9.2f} {m['documents'] / m['seconds']:9.0f}"
                f"  peak {m['peak_bytes'] / MB:.1f} MB (tracemalloc),"
                f" RSS +{m['rss_growth_bytes'] / MB:.0f} MB"
            )
    print("targets:")
    for s in summaries:
        for t in s["targets"]:
            value = t["value"]
            shown = f"{value:.0f}" if t["name"] == "memory" else f"{value:.2f}"
            verdict = {True: "ok", False: "MISSED", None: "(info)"}[t["ok"]]
            print(
                f"  {s['backend']:9} {t['label']:28} {shown:>8}  target {t['op']} {t['target']:g}"
                f"  {verdict}"
            )


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
