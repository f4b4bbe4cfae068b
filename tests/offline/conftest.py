"""Data for the offline job tests: package and release documents written straight to MongoDB."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from mongoengine.connection import get_db

from catalog.documents import release_document_id
from catalog.versions import parse_version

VERSIONS = [
    "0.1",
    "0.9",
    "1.0a1",
    "1.0b2",
    "1.0rc1",
    "1.0",
    "1.0.post1",
    "1.1.dev3",
    "1.1",
    "1.10",
    "2.0rc1",
    "2.0",
    "10.0",
    "1!0.5",
]


def build_catalog(db, *, packages: int, seed: int) -> None:
    """Packages with stale denormalized fields and 0..10 releases each."""
    rng = random.Random(seed)
    base = datetime(2020, 1, 1, tzinfo=UTC)
    package_docs, release_docs = [], []
    for n in range(packages):
        name = f"pkg-{n:03d}"
        package_docs.append(
            {
                "_id": name,
                "display_name": name,
                "release_count": 99,
                "latest": {"version": "0.0.0"},
                "total_size": -1,
            }
        )
        for version in rng.sample(VERSIONS, rng.randint(0, 10)):
            parsed = parse_version(version)
            release_docs.append(
                {
                    "_id": release_document_id(name, version),
                    "package": name,
                    "version": version,
                    "sort_key": parsed.sort_key,
                    "is_prerelease": parsed.is_prerelease,
                    "yanked": rng.random() < 0.2,
                    "requires_python": ">=3.8",
                    "created": base + timedelta(days=rng.randint(0, 1500)),
                    "files": [
                        {"filename": f"{name}-{version}-{i}.whl", "size": rng.randint(1, 10**6)}
                        for i in range(rng.randint(0, 3))
                    ],
                }
            )
    db.packages.insert_many(package_docs)
    if release_docs:
        db.releases.insert_many(release_docs)


@pytest.fixture
def db():
    return get_db()


@pytest.fixture
def offline(capsys):
    """Run process_offline; returns (exit code, stdout, stderr) as a shell would see them."""

    def run(*args: str) -> tuple[int, str, str]:
        code, message = 0, ""
        try:
            call_command("process_offline", *args)
        except CommandError as exc:
            code, message = 1, f"CommandError: {exc}\n"
        out, err = capsys.readouterr()
        return code, out, err + message

    return run


def snapshot(db, *names: str) -> dict[str, list[dict]]:
    return {name: list(db[name].find().sort("_id", 1)) for name in names}


def restore(db, data: dict[str, list[dict]]) -> None:
    for name, docs in data.items():
        db[name].delete_many({})
        if docs:
            db[name].insert_many(docs)
