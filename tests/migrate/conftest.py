"""A small catalog built through the ORM, and helpers to read MongoDB back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from mongoengine.connection import get_db

from catalog.models import Classifier, License, Maintainer, Package, Release, ReleaseFile, User

COLLECTIONS = ("packages", "releases", "users")


def build_catalog(*, packages: int = 6, releases: int = 4, files: int = 2) -> None:
    """Packages with releases, files, maintainers, a license and classifiers."""
    mit = License.objects.create(name="MIT License", spdx_id="MIT")
    classifiers = [
        Classifier.objects.create(name=name)
        for name in (
            "Programming Language :: Python :: 3",
            "License :: OSI Approved :: MIT License",
        )
    ]
    owner = User.objects.create_user(username="alice", email="alice@example.org", password="pw-1")
    helper = User.objects.create_user(username="bob", email="bob@example.org", password="pw-2")
    created = datetime(2024, 1, 1, tzinfo=UTC)
    for p in range(packages):
        package = Package.objects.create(
            display_name=f"Demo_Pkg.{p}",
            summary=f"Demo package {p}",
            license=mit if p % 2 == 0 else None,
            project_urls={"Source": f"https://example.org/{p}"},
            created=created,
        )
        package.classifiers.set(classifiers[: 1 + p % 2])
        Maintainer.objects.create(package=package, user=owner, role="owner")
        if p % 3 == 0:
            Maintainer.objects.create(package=package, user=helper, role="maintainer")
        for r in range(releases):
            version = f"1.{r}.0" if r != releases - 1 else f"2.0.0rc{p}"
            release = Release.objects.create(
                package=package, version=version, created=created + timedelta(days=r)
            )
            for f in range(files):
                ReleaseFile.objects.create(
                    release=release,
                    filename=f"{package.name}-{version}-{f}.tar.gz",
                    size=1000 + f,
                    packagetype="sdist",
                    sha256=f"{p:04d}{r:04d}{f:04d}".ljust(64, "0"),
                    upload_time=created + timedelta(days=r, hours=f),
                )


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The default hasher is slow on purpose; these tests only need some hash.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def catalog(db):
    build_catalog()


def snapshot() -> dict[str, dict]:
    """Every document of every collection, by _id."""
    db = get_db()
    return {name: {d["_id"]: d for d in db[name].find()} for name in COLLECTIONS}


def migrate(*args: str) -> dict:
    """Run migrate_to_mongo --json and return its report."""
    from io import StringIO

    out = StringIO()
    call_command("migrate_to_mongo", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def totals(report: dict) -> dict[str, int]:
    keys = ("read", "inserted", "updated", "unchanged", "deleted", "failed")
    return {k: sum(c[k] for c in report["collections"]) for k in keys}


def by_collection(report: dict) -> dict[str, dict]:
    """A migration report's collections, by name."""
    return {c["collection"]: c for c in report["collections"]}
