"""(a) the save() loop of bench/migrate.py: one document at a time, as usually done.

Imported in the bench's child process, after Django is set up.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from bench.migrating.floor import clean
from catalog.document_fields import (
    FILE_FIELDS,
    HISTORY_FIELDS,
    LATEST_FIELDS,
    PACKAGE_FIELDS,
    RELEASE_FIELDS,
    USER_FIELDS,
)
from catalog.documents import PackageDocument, ReleaseDocument, UserDocument, release_document_id
from catalog.mapping import document_checksum, document_terms
from catalog.models import Package, Release, User


def loop_sample(size: int) -> dict[str, list[int]]:
    """Primary keys spread over each table, in the catalog's mix of documents."""
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
    doc["checksum"] = document_checksum(doc)
    doc[document_cls._meta["id_field"]] = doc.pop("_id")
    document_cls(**doc).save()


def _loop_rows(sample: dict[str, list[int]]):
    """Rows as model instances, related rows loaded lazily, one document save() at a time.

    Yields after each document written.
    """
    from catalog.models import Package, Release, User

    for user in User.objects.filter(pk__in=sample["users"]).order_by("pk"):
        doc = {"_id": user.username, "sql_id": user.pk}
        doc.update({f: clean(getattr(user, f)) for f in USER_FIELDS})
        _save(UserDocument, doc)
        yield
    for release in Release.objects.filter(pk__in=sample["releases"]).order_by("pk"):
        name = release.package.name  # a query per release
        doc = {
            "_id": release_document_id(name, release.version),
            "sql_id": release.pk,
            "package": name,
        }
        doc.update({f: clean(getattr(release, f)) for f in RELEASE_FIELDS})
        doc["files"] = [
            {f: clean(getattr(file, f)) for f in FILE_FIELDS}
            for file in release.files.order_by("filename")  # and another
        ]
        _save(ReleaseDocument, doc)
        yield
    for package in Package.objects.filter(pk__in=sample["packages"]).order_by("pk"):
        doc = {"_id": package.name, "sql_id": package.pk}
        doc.update({f: clean(getattr(package, f)) for f in PACKAGE_FIELDS})
        license_ = package.license
        doc["license"] = {"name": license_.name, "spdx_id": license_.spdx_id} if license_ else None
        doc["classifiers"] = sorted(c.name for c in package.classifiers.all())
        roles = sorted(package.roles.all(), key=lambda m: (m.role != "owner", m.user.username))
        doc["maintainers"] = [
            {"user_id": m.user_id, "username": m.user.username, "role": m.role} for m in roles
        ]
        releases = list(package.releases.order_by("-sort_key", "-pk"))
        latest = next((r for r in releases if not r.yanked and not r.is_prerelease), None)
        latest = latest or (releases[0] if releases else None)
        doc["latest"] = latest and {f: clean(getattr(latest, f)) for f in LATEST_FIELDS}
        doc["release_count"] = len(releases)
        doc["history"] = [{f: clean(getattr(r, f)) for f in HISTORY_FIELDS} for r in releases]
        doc["terms"] = document_terms(doc)
        _save(PackageDocument, doc)
        yield


def loop_save(sample: dict[str, list[int]]) -> tuple[float, int]:
    """(seconds, documents) of the save() loop over ``sample`` (the caller clears MongoDB)."""
    gc.collect()
    written = 0
    started = time.perf_counter()
    for _ in _loop_rows(sample):
        written += 1
    return time.perf_counter() - started, written
