"""How fast ``seed_catalog --profile pypi`` writes a PyPI-shaped catalog on PostgreSQL.

    scripts/bench seed                          # 20,000 and 100,000 projects
    scripts/bench seed --sizes 20000 --fingerprint --vacuum

For each size a scratch database ``pyindex_seedbench_<size>`` is created,
migrated, seeded with ``seed_catalog --profile pypi --seed 1`` in a child
process (the command's own output, stage timings included, is shown), and
dropped afterwards (a 100,000-project catalog takes about 3 GB). The parent
prints releases per second for each size against the target of issue #16
(20,000 releases per second) and exits 1 when it is missed.

``--fingerprint`` prints one digest per table of everything the seeder
decides (every column but the write-time ``updated`` stamps): two versions of
the seeder that print the same digests wrote the same catalog. ``--vacuum``
prints how many pages of the loaded tables are all-visible after the seed
(index-only scans read the table for the others) and times a VACUUM ANALYZE.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PG_PORT = os.environ.get("PYINDEX_PG_PORT", "54329")
TARGET = 20000
CHILD_ENV = {
    "DJANGO_SETTINGS_MODULE": "project.settings",
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key-not-for-production",
    "ALLOWED_HOSTS": "testserver",
    "CATALOG_LIVE_SYNC": "0",
    "LOG_LEVEL": "ERROR",
}
# Table: its order (a unique key) and the columns left out (stamped at write time).
FINGERPRINTED = {
    "catalog_user": ("id", ["last_login", "updated", "password"]),
    "catalog_package": ("id", []),
    "catalog_release": ("id", ["updated"]),
    "catalog_releasefile": ("id", ["updated"]),
    "catalog_maintainer": ("package_id, user_id", ["id", "updated"]),
    "catalog_searchterm": ("package_id, term", []),
    "catalog_package_classifiers": ("package_id, classifier_id", ["id"]),
    "catalog_catalogcounter": ("name", ["id"]),
}


def _admin(base: str):
    import psycopg2

    conn = psycopg2.connect(urlsplit(base)._replace(path="/postgres").geturl())
    conn.autocommit = True
    return conn


def _server_cpu(admin) -> float:
    """CPU seconds used so far by the PostgreSQL server: its postmaster and every process
    it started (backends that ended are in the postmaster's children's time)."""
    with admin.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        (data,) = cursor.fetchone()
    postmaster = int(Path(data, "postmaster.pid").read_text().split()[0])
    tick = os.sysconf("SC_CLK_TCK")

    def times(pid: int) -> tuple[int, list[int]]:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1]), [int(v) for v in fields[11:15]]

    _, own = times(postmaster)
    total = sum(own)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent, used = times(int(entry.name))
            except (OSError, IndexError):
                continue
            if parent == postmaster:
                total += used[0] + used[1]
    return total / tick


def _fingerprint(url: str) -> dict[str, str]:
    import psycopg2

    digests = {}
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cursor:
            for table, (order, left_out) in FINGERPRINTED.items():
                dropped = "".join(f" - '{column}'" for column in left_out)
                cursor.execute(
                    "SELECT count(*), md5(string_agg(md5((to_jsonb(t)"  # noqa: S608
                    f"{dropped})::text), '' ORDER BY {order})) FROM {table} t"
                )
                count, digest = cursor.fetchone()
                digests[table] = f"{count} rows {digest}"
    finally:
        conn.close()
    return digests


LOADED = [
    "catalog_package",
    "catalog_release",
    "catalog_releasefile",
    "catalog_searchterm",
    "catalog_maintainer",
    "catalog_package_classifiers",
]


def _vacuum(url: str) -> None:
    """How much of the loaded tables is all-visible (what index-only scans need), and
    what a VACUUM ANALYZE of them costs right after the seed."""
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT sum(relallvisible), sum(relpages) FROM pg_class WHERE relname = ANY(%s)",
                [LOADED],
            )
            visible, pages = cursor.fetchone()
            started = time.perf_counter()
            cursor.execute("VACUUM (ANALYZE) " + ", ".join(LOADED))
            seconds = time.perf_counter() - started
    finally:
        conn.close()
    print(
        f"  after the seed {visible:,} of {pages:,} pages all-visible; "
        f"VACUUM (ANALYZE) of the loaded tables then took {seconds:.1f} s"
    )


def run(size: int, base: str, fingerprint: bool, vacuum: bool, extra: list[str]) -> float | None:
    name = f"pyindex_seedbench_{size}"
    url = urlsplit(base)._replace(path="/" + name).geturl()
    admin = _admin(base)
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {**os.environ, **CHILD_ENV, "DATABASE_URL": url}
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        command = [*manage, "seed_catalog", "--profile", "pypi", "--seed", "1"]
        command += ["--packages", str(size), *extra]
        server = _server_cpu(admin)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        python = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        server = _server_cpu(admin) - server
        print(f"$ manage.py {' '.join(command[2:])}")
        print(done.stdout.rstrip())
        print(
            f"  CPU: Python {python:.1f} s (the command and its generator process), "
            f"PostgreSQL {server:.1f} s; command wall time {wall:.1f} s"
        )
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return None
        if vacuum:
            _vacuum(url)
        if fingerprint:
            for table, digest in _fingerprint(url).items():
                print(f"  {table:30} {digest}")
        match = re.search(r"Seeded \d+ packages, (\d+) releases, .* in ([\d.]+)s", done.stdout)
        return int(match.group(1)) / float(match.group(2)) if match else None
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--postgres-url", default=f"postgres://postgres@127.0.0.1:{PG_PORT}/")
    parser.add_argument("--fingerprint", action="store_true")
    parser.add_argument(
        "--vacuum", action="store_true", help="report all-visible pages, time a VACUUM ANALYZE"
    )
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="more seed_catalog arguments")
    args = parser.parse_args()
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    rates = {}
    for size in (int(s) for s in args.sizes.split(",")):
        rates[size] = run(size, args.postgres_url, args.fingerprint, args.vacuum, rest)
    missed = False
    for size, rate in rates.items():
        verdict = "failed" if rate is None else ("met" if rate >= TARGET else "missed")
        missed |= verdict != "met"
        shown = "-" if rate is None else f"{rate:,.0f}"
        print(f"{size:>9,} projects: {shown} releases/s (target {TARGET:,}): {verdict}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
