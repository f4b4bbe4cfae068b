"""Writing one validated package with its releases and files, in one transaction.

An older document (a lower ``last_serial``) never changes a stored package; a
project document removes the releases and files it no longer lists, a
per-version one touches only its release.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.document_fields import FILE_FIELDS
from catalog.models import Classifier, License, Package, Release, ReleaseFile
from catalog.services.importing.validation import InvalidDocument, PackageData, ReleaseData
from catalog.services.listings import listings_refresh_on_commit
from catalog.services.sync import live_sync_enqueue
from catalog.versions import parse_version

# Every file field but the natural key, and the release it belongs to.
FILE_COLUMNS_WRITTEN = ("release_id", *(f for f in FILE_FIELDS if f != "filename"))
RELEASE_COLUMNS_WRITTEN = (
    "yanked",
    "yanked_reason",
    "requires_python",
    "created",
)


class _Stale(Exception):
    """Raised inside the write to roll back an older document's changes."""


def _release_values(
    data: PackageData, release: ReleaseData, stored: Release | None
) -> dict[str, Any]:
    files = [f.values for f in release.files]
    if release.version == data.latest_version:
        values = dict(data.latest_values)
    elif files:
        yanked = all(f["yanked"] for f in files)
        values = {
            "yanked": yanked,
            "yanked_reason": next((f["yanked_reason"] for f in files if f["yanked_reason"]), None)
            if yanked
            else None,
            # PyPI copies a release's Requires-Python onto its files.
            "requires_python": next(
                (f["requires_python"] for f in files if f["requires_python"]), None
            ),
        }
    else:
        values = {"yanked": False, "yanked_reason": None, "requires_python": None}
    if stored is not None and release.version != data.latest_version:
        # What a per-version document said about this release stays, unless
        # its files now say otherwise.
        if not values["requires_python"] and stored.requires_python:
            values["requires_python"] = stored.requires_python
        if not files:
            values["yanked"], values["yanked_reason"] = stored.yanked, stored.yanked_reason
    times = [f["upload_time"] for f in files if f["upload_time"]]
    # The first upload; unknown (None) for a release without files. The sort
    # key and pre-release flag come from the version (Release bulk_create).
    values["created"] = min(times) if times else (stored.created if stored else None)
    return values


def _changed(obj: Any, values: dict[str, Any]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def package_write(*, data: PackageData) -> tuple[str, int, int]:
    """Write one validated package; returns (status, releases written, files written).

    An older document (a lower ``last_serial``, or none while the stored
    package has one) never changes a stored package: its changes are rolled
    back and it is reported ``skipped``; an identical one is ``unchanged``.
    """
    try:
        return _package_write(data=data)
    except _Stale:
        return "skipped", 0, 0


@dataclass
class _Rows:
    """The rows of one model a write adds, changes and removes."""

    new: list = field(default_factory=list)
    dirty: list = field(default_factory=list)
    removed: list = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.new or self.dirty or self.removed)

    @property
    def written(self) -> int:
        return len(self.new) + len(self.dirty)


def _package_fields_write(
    package: Package | None, data: PackageData, *, describes_package: bool
) -> tuple[Package, bool]:
    """The package created or its fields updated; returns it and whether it changed."""
    license_obj = License.objects.get_or_create(name=data.license)[0] if data.license else None
    values = (
        {**data.fields, "display_name": data.display_name, "license": license_obj}
        if describes_package
        else {}
    )
    if package is not None:
        return package, _changed(package, values)
    times = [f.values["upload_time"] for r in data.releases for f in r.files]
    times = [t for t in times if t]
    package = Package(
        name=data.name,
        created=min(times) if times else timezone.now(),
        last_serial=data.last_serial,
        **values,
    )
    package.save()
    return package, False


def _classifiers_write(package: Package, wanted: list[str], *, describes_package: bool) -> bool:
    current = set(package.classifiers.values_list("name", flat=True))
    if not describes_package or set(wanted) == current:
        return False
    existing = {c.name: c for c in Classifier.objects.filter(name__in=wanted)}
    Classifier.objects.bulk_create(
        [Classifier(name=n) for n in wanted if n not in existing], ignore_conflicts=True
    )
    package.classifiers.set(Classifier.objects.filter(name__in=wanted))
    return True


def _releases_write(package: Package, data: PackageData) -> tuple[dict[str, Release], _Rows]:
    """The releases stored before (by version) and what the document changed."""
    stored_releases = Release.objects.filter(package=package)
    if not data.full:
        stored_releases = stored_releases.filter(version__in=[r.version for r in data.releases])
    releases = {r.version: r for r in stored_releases}
    rows = _Rows()
    for release in data.releases:
        existing = releases.get(release.version)
        values = _release_values(data, release, existing)
        if existing is None:
            rows.new.append(Release(package=package, version=release.version, **values))
        elif _changed(existing, values):
            rows.dirty.append(existing)
    described = {r.version for r in data.releases}
    if data.full:
        rows.removed = [r.pk for v, r in releases.items() if v not in described]
    if rows.removed:
        Release.objects.filter(pk__in=rows.removed).delete()
    Release.objects.bulk_create(rows.new)
    if rows.dirty:
        Release.objects.bulk_update(rows.dirty, RELEASE_COLUMNS_WRITTEN)
    return releases, rows


def _files_write(
    package: Package, data: PackageData, releases: dict[str, Release], by_version: dict
) -> _Rows:
    # Only files of the releases this document describes are candidates for removal.
    wanted_files = {f.filename for r in data.releases for f in r.files}
    stored_files = ReleaseFile.objects.filter(release__package=package)
    if not data.full:
        stored_files = stored_files.filter(
            Q(release__in=list(releases.values())) | Q(filename__in=wanted_files)
        )
    files = {f.filename: f for f in stored_files}
    taken = set(
        ReleaseFile.objects.filter(filename__in=wanted_files - files.keys()).values_list(
            "filename", flat=True
        )
    )
    if taken:
        raise InvalidDocument(
            "releases", f"file {sorted(taken)[0]!r} already belongs to another package"
        )
    rows = _Rows()
    for release in data.releases:
        release_id = by_version[release.version].pk
        for f in release.files:
            values = {**f.values, "release_id": release_id}
            existing = files.get(f.filename)
            if existing is None:
                rows.new.append(ReleaseFile(filename=f.filename, **values))
            elif _changed(existing, values):
                rows.dirty.append(existing)
    rows.removed = [f.pk for name, f in files.items() if name not in wanted_files]
    if rows.removed:
        ReleaseFile.objects.filter(pk__in=rows.removed).delete()
    ReleaseFile.objects.bulk_create(rows.new)
    if rows.dirty:
        ReleaseFile.objects.bulk_update(rows.dirty, FILE_COLUMNS_WRITTEN)
    return rows


@transaction.atomic
def _package_write(*, data: PackageData) -> tuple[str, int, int]:
    package = Package.objects.select_for_update().filter(name=data.name).first()
    stale = package is not None and (
        data.last_serial < package.last_serial or (not data.last_serial and package.last_serial)
    )
    created = package is None
    # A per-version document speaks for the package only when its release is
    # the newest one; an older release's document updates that release alone.
    describes_package = data.full or created or _is_newest(package, data.latest_version)
    package, changed = _package_fields_write(package, data, describes_package=describes_package)
    if _classifiers_write(package, list(data.classifiers), describes_package=describes_package):
        changed = True
    releases, release_rows = _releases_write(package, data)
    by_version = {**releases, **{r.version: r for r in release_rows.new}}
    file_rows = _files_write(package, data, releases, by_version)
    _bulk_writes_tell(package, release_rows, file_rows)
    if created:
        return "imported", len(release_rows.new), len(file_rows.new)
    if not (changed or release_rows.changed or file_rows.changed):
        return "unchanged", 0, 0
    if stale:
        raise _Stale()
    # Any change is a change of the package: `updated` moves (the incremental
    # migration reads it) and the serial is raised (catalog.receivers: to the
    # document's, or by one when the document's is not higher).
    package.last_serial = max(package.last_serial, data.last_serial)
    package.save()
    return "updated", release_rows.written, file_rows.written


def _bulk_writes_tell(package: Package, release_rows: _Rows, file_rows: _Rows) -> None:
    """Queue the documents and the listing of what was written in bulk: ``bulk_create`` and
    ``bulk_update`` send no signals (deletions do, and the package's own save)."""
    written = {r.pk for r in (*release_rows.new, *release_rows.dirty)}
    written |= {f.release_id for f in (*file_rows.new, *file_rows.dirty)}
    if written:
        live_sync_enqueue(packages=[package.pk], releases=written)
        listings_refresh_on_commit(packages=[package.pk])


def _is_newest(package: Package, version: str) -> bool:
    """Whether ``version`` sorts at or above every stored release of ``package``."""
    newest = (
        Release.objects.filter(package=package)
        .order_by("-sort_key")
        .values_list("sort_key", flat=True)
        .first()
    )
    return newest is None or parse_version(version).sort_key >= newest
