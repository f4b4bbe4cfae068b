"""How page cost grows with the catalog: 1,000, 10,000 and 100,000 PyPI-shaped projects.

    scripts/bench scale                               # PostgreSQL, sizes 1000,10000,100000
    scripts/bench scale --sizes 1000,10000 --samples 20
    scripts/bench scale --backends sql,mongo --mongo-max-size 10000
    scripts/bench scale --backends sql,sqlite --sqlite-max-size 100000

For each size a PostgreSQL database ``pyindex_scale_<size>`` is migrated and
seeded once with ``seed_catalog --profile pypi`` (kept for later runs), plus one
project with 1,000 releases (``scale-thousand``). A child process per size and
read backend then requests every page through Django's WSGI handler (the test
client: server time, no network) ``--samples`` times, cold (page cache off)
and warm (page cache on, after one request fills it), and reports p50 and p99
in milliseconds. The mongo backend first brings the MongoDB documents up to
date with ``migrate_to_mongo`` (incremental), on sizes up to --mongo-max-size.
The sqlite backend reads the same pages from a SQLite catalog seeded the same
way (``var/scale_<size>.sqlite3``, kept), on sizes up to --sqlite-max-size.

The parent prints one table and, for each page, the ratio of its cold p50 at
the largest size to the smallest. Targets (issue #16): at most 1.5 for every
page but the full ``/simple/`` index and search; search p99 at most 100 ms at
the largest size on PostgreSQL. It exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_PORT = os.environ.get("PYINDEX_PG_PORT", "54329")
THOUSAND = "scale-thousand"
RATIO_TARGET = 1.5
SEARCH_P99_TARGET_MS = 100.0
EXEMPT = {"simple index"}
CHILD_ENV = {
    "DJANGO_SETTINGS_MODULE": "project.settings",
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key-not-for-production",
    "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0",
    "CATALOG_LIVE_SYNC": "0",
    "LOG_LEVEL": "ERROR",
}


# --- child: one size, one backend ------------------------------------------------


def _catalog_ensure(size: int) -> None:
    from django.core.management import call_command

    from audit.context import audit_disabled
    from catalog.models import Package, PackageListing, Release, User
    from catalog.services.listings import listings_refresh, listings_refresh_all
    from catalog.services.seed_pypi import catalog_seed_pypi

    call_command("migrate", verbosity=0)
    if not Package.objects.exists():
        started = time.perf_counter()
        result = catalog_seed_pypi(projects=size, seed=1)
        print(
            f"seeded {size:,} projects, {result.releases:,} releases, {result.files:,} files "
            f"in {time.perf_counter() - started:.1f} s "
            f"({result.releases / result.seconds:,.0f} releases/s)",
            file=sys.stderr,
        )
    if not Package.objects.filter(name=THOUSAND).exists():
        with audit_disabled():
            package = Package.objects.create(
                display_name=THOUSAND, summary="A project with 1,000 releases"
            )
            releases = [
                Release(package=package, version=f"{i // 100}.{i % 100}") for i in range(1000)
            ]
            Release.objects.bulk_create(releases)
            listings_refresh(package_ids=[package.pk])  # bulk_create sends no signals
    if not PackageListing.objects.exists():
        # A catalog seeded before the kept listings (the seeder builds them now).
        print(f"built {listings_refresh_all():,} release listings", file=sys.stderr)
    if not User.objects.filter(username="scale-admin").exists():
        User.objects.create_superuser("scale-admin", "scale-admin@example.org", "scale-admin")


def _pages() -> dict[str, str]:
    from django.db.models import Count

    from catalog.admin import PackageAdmin
    from catalog.models import Classifier, Package, Release

    typical = (
        Package.objects.annotate(n=Count("releases"))
        .filter(n__gte=9, n__lte=13)
        .order_by("pk")
        .values_list("name", "summary")
        .first()
    )
    name, summary = typical
    release = Release.objects.filter(package__name=name).order_by("-sort_key").first()
    words = " ".join(summary.split()[1:3])
    classifier = Classifier.objects.filter(name__startswith="Topic ::").order_by("pk").first()
    # The admin searches show a full changelist page at every size, so that the
    # ratio compares catalogs, not pages of 30 rows with pages of 100: the
    # longest start of the typical name that still matches a page of packages,
    # and the 1,000-release package's releases.
    per_page = PackageAdmin.list_per_page
    prefix = next(
        (
            name[:length]
            for length in range(len(name), 0, -1)
            if Package.objects.filter(name__startswith=name[:length])[:per_page].count() == per_page
        ),
        name[:1],
    )
    return {
        "home": "/",
        "search exact name": f"/search/?q={quote(name)}",
        "search name prefix": f"/search/?q={quote(name[:5])}",
        "search two words": f"/search/?q={quote(words)}",
        "search classifier": f"/search/?c={quote(classifier.name)}",
        "search no hit": "/search/?q=zzqxv-nothing",
        "package (typical)": f"/project/{name}/",
        "package (1,000 releases)": f"/project/{THOUSAND}/",
        "release": f"/project/{name}/{quote(release.version)}/",
        "simple index": "/simple/",
        "simple project": f"/simple/{name}/",
        "json api": f"/pypi/{name}/json",
        "rss updates": "/rss/updates.xml",
        "admin packages (search)": f"/admin/catalog/package/?q={quote(prefix)}",
        "admin releases (search)": f"/admin/catalog/release/?q={quote(THOUSAND)}",
    }


def _measure(client, url: str, samples: int) -> tuple[float, float, int]:
    times = []
    status = 0
    for _ in range(samples):
        started = time.perf_counter()
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
        times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    times.sort()
    p99 = times[min(len(times) - 1, int(round(0.99 * (len(times) - 1))))]
    return statistics.median(times), p99, status


def child(size: int, backend: str, samples: int) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command
    from django.test import Client

    from catalog.models import User

    _catalog_ensure(size)
    if backend == "mongo":
        call_command("migrate_to_mongo", verbosity=0)
    pages = _pages()
    client = Client()
    client.force_login(User.objects.get(username="scale-admin"))
    rows = []
    for mode in ("cold", "warm"):
        settings.CATALOG_PAGE_CACHE = mode == "warm"
        cache.clear()
        for page, url in pages.items():
            client.get(url)  # connections, templates, and in warm mode the page cache
            p50, p99, status = _measure(client, url, samples)
            rows.append(
                {"page": page, "mode": mode, "p50": p50, "p99": p99, "status": status, "url": url}
            )
    print(json.dumps({"size": size, "backend": backend, "rows": rows}))


# --- parent ----------------------------------------------------------------------


def _database_ensure(base: str, size: int) -> str:
    import psycopg2

    parts = urlsplit(base)
    name = f"pyindex_scale_{size}"
    conn = psycopg2.connect(parts._replace(path="/postgres").geturl())
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return parts._replace(path="/" + name).geturl()


def _sqlite_url(size: int) -> str:
    return f"sqlite:///{ROOT / 'var' / f'scale_{size}.sqlite3'}"


def _run_child(size: int, backend: str, url: str, samples: int) -> dict:
    read = "mongo" if backend == "mongo" else "sql"  # sqlite: the sql selectors on SQLite
    env = {**os.environ, **CHILD_ENV, "DATABASE_URL": url, "CATALOG_READ_BACKEND": read}
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            str(size),
            "--backend",
            backend,
            "--samples",
            str(samples),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        check=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument(
        "--backends",
        default="sql",
        help="sql (PostgreSQL), mongo (MongoDB, copied from PostgreSQL), sqlite; comma-separated",
    )
    parser.add_argument("--mongo-max-size", type=int, default=10000)
    parser.add_argument("--sqlite-max-size", type=int, default=100000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--postgres-url", default=f"postgres://postgres@127.0.0.1:{PG_PORT}/")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="sql", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.backend, args.samples)
        return 0
    sizes = sorted(int(s) for s in args.sizes.split(","))
    backends = [b for b in args.backends.split(",") if b]
    results = []
    for size in sizes:
        url = _database_ensure(args.postgres_url, size)
        for backend in backends:
            if backend == "mongo" and size > args.mongo_max_size:
                continue
            if backend == "sqlite":
                if size > args.sqlite_max_size:
                    continue
                results.append(_run_child(size, backend, _sqlite_url(size), args.samples))
                continue
            results.append(_run_child(size, backend, url, args.samples))
    if args.json:
        print(json.dumps(results))
    return _report(results, sizes)


def _report(results: list[dict], sizes: list[int]) -> int:
    table: dict[tuple, dict] = {}
    for result in results:
        for row in result["rows"]:
            table[(result["backend"], row["page"], row["mode"], result["size"])] = row
    pages = list(dict.fromkeys(row["page"] for result in results for row in result["rows"]))
    backends = list(dict.fromkeys(result["backend"] for result in results))
    header = f"{'backend':8} {'page':26} {'mode':5}" + "".join(f" {size:>17,}" for size in sizes)
    print("p50 / p99 in ms per catalog size (projects)")
    print(header + "   ratio")
    missed = []
    for backend in backends:
        measured = [s for s in sizes if (backend, pages[0], "cold", s) in table]
        for page in pages:
            for mode in ("cold", "warm"):
                cells, ratio = [], ""
                for size in sizes:
                    row = table.get((backend, page, mode, size))
                    cells.append(f" {row['p50']:8.1f}/{row['p99']:8.1f}" if row else f" {'-':>17}")
                if len(measured) > 1:
                    first = table[(backend, page, mode, measured[0])]["p50"]
                    last = table[(backend, page, mode, measured[-1])]["p50"]
                    value = last / first if first else 0.0
                    ratio = f"   {value:5.2f}"
                    exempt = page in EXEMPT or page.startswith("search")
                    if mode == "cold" and not exempt and value > RATIO_TARGET:
                        missed.append(f"{backend} {page}: cost ratio {value:.2f} > {RATIO_TARGET}")
                print(f"{backend:8} {page:26} {mode:5}" + "".join(cells) + ratio)
        largest = measured[-1] if measured else None
        if backend == "sql" and largest:
            for page in pages:
                row = table[(backend, page, "cold", largest)]
                if page.startswith("search") and row["p99"] > SEARCH_P99_TARGET_MS:
                    missed.append(
                        f"sql {page}: p99 {row['p99']:.0f} ms > {SEARCH_P99_TARGET_MS:.0f} ms "
                        f"at {largest:,}"
                    )
    bad = [
        f"{r['backend']} {row['page']} {row['mode']} at {r['size']:,}: HTTP {row['status']}"
        for r in results
        for row in r["rows"]
        if row["status"] != 200
    ]
    print(
        "targets: cold p50 at the largest size / the smallest <= 1.5 (all but /simple/ and "
        "search); search p99 <= 100 ms on PostgreSQL at the largest size"
    )
    for line in bad + missed:
        print("  missed:", line)
    if not (bad or missed):
        print("  all met")
    return 1 if bad or missed else 0


if __name__ == "__main__":
    sys.exit(main())
