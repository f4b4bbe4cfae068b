"""Benchmark: the Django admin at catalog size, measured in one run.

Change form: a package's change page at 10, 1,000 and 2,000 releases (each
with two maintainers and three classifiers): HTML size, SQL queries and the
median server time of the page (the Django test client, in process: the
view, templates and database, no network), with each size's time as a ratio
of the 10-release page's (target: at most 3x at 1,000 releases), then one save
of an edit through the page's own form at each size.

Changelists (``--catalog``): the catalog seeded with ``seed_catalog`` at each
given number of packages (about 100 releases and 185 files per package: 10,000
packages are about a million releases), ANALYZEd, then the packages,
releases, files and audit entries changelists, unfiltered, filtered and
searched: queries, median time, and whether any query counted a whole table
(``COUNT(*)`` without a ``LIMIT``). The cost at each size is printed next to
the smallest's.

Runs in a throwaway test database (``test_<name>``), created and dropped here.

    scripts/bench admin                            # the change form only
    scripts/bench admin --catalog 1000,10000       # and the changelists at 100k and 1M releases
    uv run python bench/admin.py --runs 9 --json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
_PG_PORT = os.environ.get("PYINDEX_PG_PORT", "54329")
os.environ.setdefault(
    "DATABASE_URL", f"postgres://postgres@127.0.0.1:{_PG_PORT}/pyindex_bench_admin"
)
# Rebuilding documents after each save measures MongoDB, not the admin.
os.environ.setdefault("CATALOG_LIVE_SYNC", "0")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_databases,
    teardown_databases,
)

from audit.context import audit_disabled  # noqa: E402
from catalog.models import Classifier, Maintainer, Package, Release, User  # noqa: E402
from catalog.services.seed import catalog_seed  # noqa: E402
from tests.admin_form import form_data  # noqa: E402

SIZES = (10, 1000, 2000)
TARGET = 3.0
FULL_COUNT = re.compile(r'SELECT COUNT\(\*\) AS "__count" FROM "(\w+)"(?!.*LIMIT)', re.S)


@dataclass
class FormMeasure:
    releases: int
    bytes: int
    queries: int
    ms: float
    save_ms: float
    save_status: int
    ratio: float = 0.0


@dataclass
class ListMeasure:
    packages: int
    releases: int
    files: int
    page: str
    queries: int
    ms: float
    full_counts: list[str] = field(default_factory=list)


def timed_get(client: Client, url: str, runs: int) -> tuple[float, int, int]:
    """(median ms, bytes, queries) of ``runs`` GETs after one warm-up."""
    client.get(url)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    return statistics.median(times), len(response.content), len(captured.captured_queries)


def make_package(releases: int, users: list[User], classifiers: list[Classifier]) -> Package:
    package = Package.objects.create(
        display_name=f"bench-{releases}", summary="A benchmark package", description="# Bench\n"
    )
    rows = []
    for index in range(releases):
        rows.append(Release(package=package, version=f"{index // 100}.{index % 100}.0"))
    Release.objects.bulk_create(rows)
    for user in users:
        Maintainer.objects.create(package=package, user=user)
    package.classifiers.set(classifiers)
    return package


def change_form(runs: int) -> list[FormMeasure]:
    with audit_disabled():
        users = [User.objects.create_user(username=f"maint{i}") for i in range(2)]
        classifiers = [
            Classifier.objects.get_or_create(name=f"Topic :: Bench :: {i}")[0] for i in range(3)
        ]
        packages = {size: make_package(size, users, classifiers) for size in SIZES}
        staff = User.objects.create_superuser(username="bench-staff", email="", password=None)
    client = Client()
    client.force_login(staff)
    urls = {size: f"/admin/catalog/package/{p.pk}/change/" for size, p in packages.items()}
    # Sizes interleaved request by request: load from other processes hits all alike.
    times: dict[int, list[float]] = {size: [] for size in urls}
    for url in urls.values():
        client.get(url)
    for _ in range(runs):
        for size, url in urls.items():
            started = time.perf_counter()
            assert client.get(url).status_code == 200
            times[size].append((time.perf_counter() - started) * 1000)
    measures = []
    for size, url in urls.items():
        with CaptureQueriesContext(connection) as captured:
            html = client.get(url).content.decode()
        # Read now: the next request's request_started signal empties the query log.
        queries = len(captured.captured_queries)
        data = form_data(html, "package_form", summary="edited")
        started = time.perf_counter()
        status = client.post(url, data).status_code
        save_ms = (time.perf_counter() - started) * 1000
        measures.append(
            FormMeasure(
                size,
                len(html.encode()),
                queries,
                statistics.median(times[size]),
                save_ms,
                status,
            )
        )
    base = measures[0].ms
    for m in measures:
        m.ratio = m.ms / base
    return measures


def changelists(packages: int, runs: int) -> list[ListMeasure]:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE catalog_releasefile, catalog_release, catalog_maintainer, "
            "catalog_package_classifiers, catalog_package, catalog_classifier, catalog_license "
            "RESTART IDENTITY CASCADE"
        )
    with audit_disabled():
        User.objects.exclude(username="bench-staff").delete()
        started = time.perf_counter()
        result = catalog_seed(packages=packages, seed=1)
        print(f"  seeded {packages} packages in {time.perf_counter() - started:.0f}s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    staff = User.objects.get(username="bench-staff")
    client = Client()
    client.force_login(staff)
    some = Package.objects.order_by("pk")[packages // 2]
    pages = {
        "packages": "/admin/catalog/package/",
        "packages search": f"/admin/catalog/package/?q={some.name[:4]}",
        "releases": "/admin/catalog/release/",
        "releases of a package": f"/admin/catalog/release/?package__id__exact={some.pk}",
        "releases search": f"/admin/catalog/release/?q={some.name}",
        "releases yanked": "/admin/catalog/release/?yanked__exact=1",
        "files": "/admin/catalog/releasefile/",
        "files search": f"/admin/catalog/releasefile/?q={some.name.replace('-', '_')[:5]}",
        "audit entries": "/admin/audit/auditentry/",
        "release autocomplete": (
            "/admin/autocomplete/?app_label=catalog&model_name=releasefile"
            f"&field_name=release&term={some.name}"
        ),
    }
    measures = []
    for name, url in pages.items():
        ms, _, queries = timed_get(client, url, runs)
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        full = sorted(
            {m.group(1) for q in captured.captured_queries for m in FULL_COUNT.finditer(q["sql"])}
        )
        measures.append(
            ListMeasure(packages, result.releases, result.files, name, queries, ms, full)
        )
    return measures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed requests per page")
    parser.add_argument(
        "--catalog", default="", help="package counts to seed for the changelists, e.g. 1000,10000"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    connection.settings_dict.setdefault("TEST", {})["NAME"] = (
        f"bench_{connection.settings_dict['NAME']}" if connection.vendor == "postgresql" else None
    )
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        forms = change_form(args.runs)
        lists = []
        for packages in [int(n) for n in args.catalog.split(",") if n.strip()]:
            lists += changelists(packages, args.runs)
    finally:
        teardown_databases(old_config, verbosity=0)

    if args.json:
        print(
            json.dumps(
                {
                    "change_form": [asdict(m) for m in forms],
                    "changelists": [asdict(m) for m in lists],
                },
                indent=2,
            )
        )
        return
    print(f"database: {connection.vendor}; median of {args.runs} requests")
    print("package change form")
    print(f"{'releases':>8} {'KB':>7} {'queries':>7} {'ms':>8} {'ratio':>6} {'save ms':>8}")
    for m in forms:
        flag = "ok" if m.ratio <= TARGET or m.releases < 1000 else f"over {TARGET}x"
        print(
            f"{m.releases:8d} {m.bytes / 1000:7.1f} {m.queries:7d} {m.ms:8.1f} "
            f"{m.ratio:5.2f}x {m.save_ms:8.1f}  {flag if m.releases > SIZES[0] else ''}"
            f"{'' if m.save_status == 302 else f' save answered {m.save_status}'}"
        )
    if lists:
        print("changelists")
        print(f"{'packages':>8} {'releases':>9} {'files':>9} {'page':24} {'queries':>7} {'ms':>8}")
        base = {m.page: m.ms for m in lists if m.packages == lists[0].packages}
        for m in lists:
            growth = m.ms / base[m.page] if base.get(m.page) else 0
            full = f"  full COUNT(*) of {', '.join(m.full_counts)}" if m.full_counts else ""
            print(
                f"{m.packages:8d} {m.releases:9d} {m.files:9d} {m.page:24} {m.queries:7d} "
                f"{m.ms:8.1f} {growth:5.2f}x{full}"
            )


if __name__ == "__main__":
    main()
