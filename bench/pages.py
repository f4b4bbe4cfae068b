"""Benchmark the public pages under a production WSGI server, on both read backends.

    uv run python bench/pages.py [--packages 300] [--seconds 3] [--workers 2] [--json]

Serves the seeded catalog with gunicorn (the same settings as production:
DEBUG off, persistent database connections) and loads it with wrk (Debian's
package; installed with apt-get when missing). For each backend it measures
the home page, a search, a package with about 30 releases, one with 1,000
releases with its JSON API and Simple page, and /healthz, a trivial view on
the same server: the ceiling. Each backend is served twice, warm (the page
cache on, as deployed) and cold (CATALOG_PAGE_CACHE=0: every request renders,
as the long tail of a real index does). It prints requests per second and
p50/p99 latency, with each page's throughput as a ratio of the ceiling
measured in the same run, and the targets: warm, 1/3 (30 releases) and 1/10
(1,000); cold, 1/4 (home, search, 30 releases) and 1/8 (1,000 releases, its
JSON API and Simple page).

The database is DATABASE_URL (default: SQLite under var/). It is migrated and
seeded with seed_catalog when empty; the two measured packages (bench-thirty,
bench-thousand) are added when missing. MongoDB is MONGODB_URI's server, by
default a SecantusDB server the bench starts for itself (secantusd-py on a
free port, throwaway storage); before the mongo-mode runs the catalog is
copied into it through catalog.mapping (database pyindex_bench_pages).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

THIRTY = "bench-thirty"
THOUSAND = "bench-thousand"
# Throughput as a share of /healthz: warm (page cache on) and cold (off, issue #16).
WARM_TARGETS = {f"/project/{THIRTY}/": 1 / 3, f"/project/{THOUSAND}/": 1 / 10}
COLD_TARGETS = {
    "/": 1 / 4,
    "/search/?q=bench": 1 / 4,
    f"/project/{THIRTY}/": 1 / 4,
    f"/project/{THOUSAND}/": 1 / 8,
    f"/pypi/{THOUSAND}/json": 1 / 8,
    f"/simple/{THOUSAND}/": 1 / 8,
}
DESCRIPTION = """# A benchmark package

A *typical* README: a few paragraphs, a list, a table and some code.

## Install

```console
$ pip install bench-package
```

## Features

- fast
- small
- [documented](https://example.org/docs)

| option | default |
| --- | --- |
| `size` | 10 |
| `mode` | `fast` |
"""
BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "project.settings",
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key-not-for-production",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0",
    "CONN_MAX_AGE": "600",
    "LOG_LEVEL": "ERROR",
}


@dataclass
class Measurement:
    backend: str
    mode: str  # warm (page cache on) or cold (off)
    page: str
    url: str
    rps: float
    p50_ms: float
    p99_ms: float
    ratio: float = 0.0
    target: float | None = None

    @property
    def meets_target(self) -> bool | None:
        return None if self.target is None else self.ratio >= self.target


# --- the catalog -------------------------------------------------------------


def _django_setup(database_url: str) -> None:
    os.environ.update(BENCH_ENV)
    os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()


def _release_package(name: str, releases: int, *, maintainer) -> None:
    """A package with ``releases`` releases (an sdist and a wheel each), bulk written."""
    from catalog.models import Classifier, License, Maintainer, Package, Release, ReleaseFile

    started = datetime(2020, 1, 1, tzinfo=UTC)
    package = Package.objects.create(
        display_name=name,
        summary=f"A benchmark package with {releases} releases",
        description=DESCRIPTION,
        description_content_type="text/markdown",
        home_page="https://example.org/" + name,
        project_urls={"Source": f"https://example.org/{name}/src"},
        author="Bench Mark",
        license=License.objects.order_by("pk").first(),
        created=started,
    )
    package.classifiers.set(Classifier.objects.order_by("pk")[:6])
    Maintainer.objects.create(package=package, user=maintainer, role="owner")
    objects = []
    for index in range(releases):
        major, minor, patch = index // 100, (index // 10) % 10, index % 10
        version = f"{major}.{minor}.{patch}" + ("rc1" if index % 25 == 24 else "")
        release = Release(
            package=package,
            version=version,
            created=started + timedelta(days=index),
            requires_python=">=3.8",
            yanked=index % 97 == 50,
            yanked_reason="broken build" if index % 97 == 50 else "",
        )
        objects.append(release)
    Release.objects.bulk_create(objects, batch_size=1000)
    files = []
    base = name.replace("-", "_")
    for release in Release.objects.filter(package=package).only("pk", "version", "created"):
        for suffix, kind in ((".tar.gz", "sdist"), ("-py3-none-any.whl", "bdist_wheel")):
            filename = f"{base}-{release.version}{suffix}"
            files.append(
                ReleaseFile(
                    release=release,
                    filename=filename,
                    url=f"https://files.example.org/{filename}",
                    size=12345,
                    packagetype=kind,
                    python_version="source" if kind == "sdist" else "py3",
                    sha256=f"{release.pk:064x}"[-64:],
                    upload_time=release.created,
                )
            )
    ReleaseFile.objects.bulk_create(files, batch_size=2000)


def catalog_prepare(*, database_url: str, packages: int) -> dict[str, int]:
    env = {**os.environ, **BENCH_ENV, "DATABASE_URL": database_url}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], check=True, env=env)
    subprocess.run(
        [*manage, "seed_catalog", "--packages", str(packages), "--seed", "1", "--if-empty"],
        check=True,
        env=env,
    )
    _django_setup(database_url)
    from django.db import connections

    from catalog.models import Package, Release, ReleaseFile, User

    maintainer, _ = User.objects.get_or_create(username="bench-maintainer")
    for name, count in ((THIRTY, 30), (THOUSAND, 1000)):
        if not Package.objects.filter(name=name).exists():
            _release_package(name, count, maintainer=maintainer)
    # The catalog may predate the kept listings, and _release_package writes in bulk.
    from catalog.services.listings import listings_refresh_all

    listings_refresh_all()
    if connections["default"].vendor == "postgresql":
        # Fresh bulk loads have no planner statistics until autovacuum runs.
        with connections["default"].cursor() as cursor:
            cursor.execute("ANALYZE")
    sizes = {
        "packages": Package.objects.count(),
        "releases": Release.objects.count(),
        "files": ReleaseFile.objects.count(),
    }
    connections.close_all()
    return sizes


# --- the server --------------------------------------------------------------


def mongo_fill(batch: int = 2000) -> int:
    """Copy the relational catalog into the MongoDB store through catalog.mapping."""
    from catalog import mapping
    from catalog.documents import PackageDocument, ReleaseDocument, UserDocument
    from catalog.models import Package, Release, User

    written = 0
    for document, build, model in (
        (PackageDocument, mapping.package_documents, Package),
        (ReleaseDocument, mapping.release_documents, Release),
        (UserDocument, mapping.user_documents, User),
    ):
        collection = document._get_collection()
        collection.delete_many({})
        pks = list(model.objects.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(pks), batch):
            docs = build(pks[start : start + batch])
            if docs:
                collection.insert_many(docs, ordered=False)
                written += len(docs)
    from catalog.documents import ensure_indexes
    from catalog.package_files import package_files_refresh_all
    from catalog.services.migration.to_mongo import summaries_write

    ensure_indexes()  # as migrate_to_mongo leaves them: the pages read along them
    package_files_refresh_all()  # each package's files in a few documents, as it does
    summaries_write()  # the home page's counts and newest lists, as the migration writes them
    return written


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_start(
    *, backend: str, database_url: str, workers: int, page_cache: bool = True
) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {
        **os.environ,
        **BENCH_ENV,
        "DATABASE_URL": database_url,
        "CATALOG_READ_BACKEND": backend,
        # The bench serves a fixed catalog: no live sync work during the runs,
        # and cached lists outlive a run.
        "CATALOG_LIVE_SYNC": "0",
        "CATALOG_LIST_CACHE_SECONDS": "600",
        "CATALOG_PAGE_CACHE": "1" if page_cache else "0",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--pythonpath",
        str(ROOT),
        "--preload",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--timeout",
        "600",
        "project.wsgi:application",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server, base
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not start within 600 seconds")


# --- the load ----------------------------------------------------------------


def wrk_ensure() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("==> installing wrk (apt-get)", file=sys.stderr)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", "wrk"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and apt-get could not install it")
    return found


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * _UNITS[unit]


def wrk_run(
    wrk: str, url: str, *, seconds: int, connections: int, settle: bool = True
) -> tuple[float, float, float]:
    """(requests per second, p50 ms, p99 ms) for ``url``."""
    # A warm-up so the first requests (template loading, cold caches) do not count;
    # long timeouts for a cold page on a loaded machine.
    # Cold (page cache off) there is no cache to fill: one round warms the rest.
    for _ in range(60 if settle else 1):
        warm = subprocess.run(
            [wrk, "-t1", "-c4", "-d2s", "--timeout", "60s", "--latency", url],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        found = re.search(r"\s99%\s+(\S+)", warm)
        answered = int(re.search(r"(\d+) requests in", warm).group(1))
        # Warm once every worker answers quickly (each keeps its own cache).
        if answered > 20 and found and _ms(found.group(1)) < 500:
            break
    result = subprocess.run(
        [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency", url],
        check=True,
        capture_output=True,
        text=True,
    )
    out = result.stdout
    if "Non-2xx or 3xx responses" in out:
        raise SystemExit(f"{url} answered with errors under load:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    if not rps:
        raise SystemExit(f"{url} answered no request in {seconds}s:\n{out}")
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    return rps, p50, p99


def pages_bench(
    *,
    database_url: str,
    packages: int,
    seconds: int,
    workers: int,
    connections: int,
    backends: tuple[str, ...] = ("sql", "mongo"),
    modes: tuple[str, ...] = ("warm", "cold"),
) -> tuple[dict[str, int], list[Measurement]]:
    wrk = wrk_ensure()
    sizes = catalog_prepare(database_url=database_url, packages=packages)
    pages = {
        "ceiling (/healthz)": "/healthz",
        "home": "/",
        "search": "/search/?q=bench",
        "package, 30 releases": f"/project/{THIRTY}/",
        "package, 1,000 releases": f"/project/{THOUSAND}/",
        "JSON API, 1,000 releases": f"/pypi/{THOUSAND}/json",
        "Simple, 1,000 releases": f"/simple/{THOUSAND}/",
    }
    measurements: list[Measurement] = []
    runs = [(b, m) for b in backends for m in modes]
    for index, (backend, mode) in enumerate(runs):
        if backend == "mongo" and (index == 0 or runs[index - 1][0] != "mongo"):
            _django_setup(database_url)
            from django.db import connections as databases

            print(f"==> copied {mongo_fill()} documents into MongoDB", file=sys.stderr)
            databases.close_all()
        server, base = server_start(
            backend=backend, database_url=database_url, workers=workers, page_cache=mode == "warm"
        )
        targets = WARM_TARGETS if mode == "warm" else COLD_TARGETS
        try:
            results = [
                (
                    page,
                    path,
                    *wrk_run(
                        wrk,
                        base + path,
                        seconds=seconds,
                        connections=connections,
                        settle=mode == "warm",
                    ),
                )
                for page, path in pages.items()
            ]
            # The machine is shared and noisy: measure the ceiling again at the end
            # and divide by the higher of the two, so ratios err on the low side.
            again = wrk_run(wrk, base + "/healthz", seconds=seconds, connections=connections)
            ceiling = max(results[0][2], again[0])
            for page, path, rps, p50, p99 in results:
                measurements.append(
                    Measurement(
                        backend=backend,
                        mode=mode,
                        page=page,
                        url=path,
                        rps=round(rps, 1),
                        p50_ms=round(p50, 2),
                        p99_ms=round(p99, 2),
                        ratio=round(rps / ceiling, 3),
                        target=targets.get(path),
                    )
                )
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    return sizes, measurements


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=300, help="seeded packages (if empty)")
    parser.add_argument("--seconds", type=int, default=3, help="load time per page")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL")
        or f"sqlite:///{ROOT / 'var' / 'bench_pages.sqlite3'}",
    )
    parser.add_argument(
        "--backends", default="sql,mongo", help="read backends to measure (comma-separated)"
    )
    parser.add_argument("--modes", default="warm,cold", help="page cache modes (comma-separated)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    backends = tuple(b for b in args.backends.split(",") if b)
    modes = tuple(m for m in args.modes.split(",") if m)
    if not set(backends) <= {"sql", "mongo"} or not set(modes) <= {"warm", "cold"}:
        parser.error("--backends takes sql and/or mongo, --modes warm and/or cold")
    (ROOT / "var").mkdir(exist_ok=True)
    options = {
        "database_url": args.database_url,
        "packages": args.packages,
        "seconds": args.seconds,
        "workers": args.workers,
        "connections": args.connections,
        "backends": backends,
        "modes": modes,
    }
    if os.environ.get("MONGODB_URI"):
        sizes, measurements = pages_bench(**options)
    else:
        from project.local_mongo import private_server

        with private_server() as base:
            os.environ["MONGODB_URI"] = base + "pyindex_bench_pages"
            sizes, measurements = pages_bench(**options)
    failed = [m for m in measurements if m.meets_target is False]
    if args.json:
        print(
            json.dumps(
                {
                    "catalog": sizes,
                    "results": [
                        {**asdict(m), "meets_target": m.meets_target} for m in measurements
                    ],
                },
                indent=2,
            )
        )
    else:
        print(
            f"catalog: {sizes['packages']} packages, {sizes['releases']} releases, "
            f"{sizes['files']} files; gunicorn {args.workers} workers, wrk {args.connections} "
            f"connections, {args.seconds:g}s per page"
        )
        print(
            f"{'backend':8} {'mode':5} {'page':26} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'x ceiling':>10}"
        )
        for m in measurements:
            verdict = ""
            if m.target is not None:
                verdict = f"  target {m.target:.2f}: {'ok' if m.meets_target else 'MISSED'}"
            print(
                f"{m.backend:8} {m.mode:5} {m.page:26} {m.rps:9.1f} {m.p50_ms:8.2f} "
                f"{m.p99_ms:8.2f} {m.ratio:10.3f}{verdict}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
