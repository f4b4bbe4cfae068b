"""Profile the cold pages of bench/pages.py in one process, on both stores.

    uv run python bench/pages_profile.py [--repeat 20] [--profile PATH-PREFIX]

Uses bench/pages.py's catalog (seeded when empty) and its MongoDB copy, turns
the page cache off and requests each page through Django's test client (server
time, no network): prints the mean milliseconds per page and store, and with
``--profile`` writes a cProfile of each page (``PREFIX-<store>-<page>.prof``).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pages  # noqa: E402

PAGES = {
    "healthz": "/healthz",
    "home": "/",
    "search": "/search/?q=bench",
    "thirty": f"/project/{pages.THIRTY}/",
    "thousand": f"/project/{pages.THOUSAND}/",
    "json": f"/pypi/{pages.THOUSAND}/json",
    "simple": f"/simple/{pages.THOUSAND}/",
    "simple-json": f"/simple/{pages.THOUSAND}/",
}


def measure(*, repeat: int, profile: str | None, save: str | None = None) -> None:
    from django.test import Client, override_settings

    client = Client(HTTP_HOST="127.0.0.1")
    for backend in ("sql", "mongo"):
        with override_settings(
            CATALOG_READ_BACKEND=backend, CATALOG_PAGE_CACHE=False, CATALOG_LIVE_SYNC=False
        ):
            for label, path in PAGES.items():
                headers = (
                    {"HTTP_ACCEPT": "application/vnd.pypi.simple.v1+json"}
                    if label == "simple-json"
                    else {}
                )
                response = client.get(path, **headers)
                assert response.status_code == 200, (path, response.status_code)
                started = time.perf_counter()
                for _ in range(repeat):
                    client.get(path, **headers)
                elapsed = (time.perf_counter() - started) / repeat * 1000
                if save:
                    Path(save).mkdir(parents=True, exist_ok=True)
                    (Path(save) / f"{backend}-{label}").write_bytes(response.content)
                print(f"{backend:6} {label:12} {elapsed:8.2f} ms  {len(response.content):8} bytes")
                if profile:
                    profiler = cProfile.Profile()
                    profiler.enable()
                    for _ in range(repeat):
                        client.get(path, **headers)
                    profiler.disable()
                    profiler.dump_stats(f"{profile}-{backend}-{label}.prof")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--packages", type=int, default=300)
    parser.add_argument("--profile", help="write cProfile files with this path prefix")
    parser.add_argument("--save", help="write each page's body to this directory (to compare)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL")
        or f"sqlite:///{ROOT / 'var' / 'bench_pages.sqlite3'}",
    )
    args = parser.parse_args()
    (ROOT / "var").mkdir(exist_ok=True)
    from project.local_mongo import private_server

    with private_server() as base:
        # Before Django reads its settings (catalog_prepare sets Django up).
        os.environ["MONGODB_URI"] = base + "pyindex_bench_pages"
        pages.catalog_prepare(database_url=args.database_url, packages=args.packages)
        print(f"copied {pages.mongo_fill()} documents into MongoDB", file=sys.stderr)
        measure(repeat=args.repeat, profile=args.profile, save=args.save)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
