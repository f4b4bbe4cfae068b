"""Audit test helpers: small catalogs built through the ORM and entry readers."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from audit.recorder import MONGO_ENTRIES, mongo_db
from catalog.models import Package, Release


def sql_entries(**filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(**filters).order_by("id"))


def mongo_entries(**filters) -> list[dict]:
    return list(mongo_db()[MONGO_ENTRIES].find(filters).sort("_id", 1))


@pytest.fixture
def package(db) -> Package:
    return Package.objects.create(display_name="Demo_Pkg", summary="A demo")


@pytest.fixture
def releases(package) -> list[Release]:
    return [Release.objects.create(package=package, version=v) for v in ("1.0", "1.1", "2.0b1")]
