"""Import documents in the format of PyPI's JSON API (``/pypi/<name>/json``).

Each document is validated completely before anything is written, then the
package with all its releases and files is written in one transaction: a bad
document is reported (file, field, reason) and skipped, never half-written.
Values are stored as published (nulls stay null) and served back unchanged by
the JSON API; derived values (the display license, sort keys) sit beside them.
A project document is the whole state of the package: importing it twice
changes nothing, and a newer document (higher ``last_serial``) updates exactly
what differs, including releases and files that disappeared from it. A
per-version document describes one release and removes nothing else.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import DataError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from catalog.mapping import FILE_FIELDS
from catalog.models import (
    KEYWORDS_MAX_LENGTH,
    PEOPLE_MAX_LENGTH,
    SUMMARY_MAX_LENGTH,
    URL_MAX_LENGTH,
    Classifier,
    License,
    Package,
    Release,
    ReleaseFile,
)
from catalog.serial import serial_managed
from catalog.validation import (
    DESCRIPTION_MAX_LENGTH,
    STRING_MAX_LENGTH,
    datetime_parse,
    depth_problem,
    filename_problem,
    integer_problem,
    json_strings_problem,
    name_problem,
    packagetype_problem,
    text_problem,
    url_problem,
    version_problem,
)
from catalog.versions import canonicalize_name, parse_version

LICENSE_NAME_MAX = 100


class InvalidDocument(Exception):
    """A document that cannot be imported; names the field and the reason."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass
class DocumentOutcome:
    source: str
    status: str  # imported | updated | unchanged | skipped | failed
    name: str | None = None
    releases: int = 0
    files: int = 0
    field: str | None = None
    reason: str | None = None


@dataclass
class ImportReport:
    outcomes: list[DocumentOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def _count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def imported(self) -> int:
        return self._count("imported")

    @property
    def updated(self) -> int:
        return self._count("updated")

    @property
    def unchanged(self) -> int:
        return self._count("unchanged")

    @property
    def skipped(self) -> int:
        return self._count("skipped")

    @property
    def failed(self) -> int:
        return self._count("failed")

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "documents": [asdict(o) for o in self.outcomes],
        }


# --- validation --------------------------------------------------------------
# Every rule lives in catalog.validation; here they are applied field by field
# with the document path of each value, before anything is written.

# info fields stored as published (a string or null), with their length bound.
INFO_TEXT_FIELDS = {
    "summary": SUMMARY_MAX_LENGTH,
    "description": DESCRIPTION_MAX_LENGTH,
    "description_content_type": 128,
    "keywords": KEYWORDS_MAX_LENGTH,
    "author": PEOPLE_MAX_LENGTH,
    "author_email": PEOPLE_MAX_LENGTH,
    "maintainer": PEOPLE_MAX_LENGTH,
    "maintainer_email": PEOPLE_MAX_LENGTH,
    "platform": PEOPLE_MAX_LENGTH,
    "license_expression": PEOPLE_MAX_LENGTH,
}
INFO_URL_FIELDS = ("home_page", "docs_url", "download_url", "bugtrack_url")
# info fields that are lists of strings or null.
INFO_LIST_FIELDS = ("license_files", "requires_dist", "provides_extra", "dynamic")
# Every file field but the natural key, and the release it belongs to.
FILE_COLUMNS_WRITTEN = ("release_id", *(f for f in FILE_FIELDS if f != "filename"))
RELEASE_COLUMNS_WRITTEN = (
    "sort_key",
    "is_prerelease",
    "yanked",
    "yanked_reason",
    "requires_python",
    "created",
)
HEX = frozenset("0123456789abcdef")


@dataclass
class FileData:
    filename: str
    values: dict[str, Any]  # model field values, as published


@dataclass
class ReleaseData:
    version: str
    files: list[FileData]


@dataclass
class PackageData:
    display_name: str
    name: str
    fields: dict[str, Any]
    license: str | None
    classifiers: list[str]
    latest_version: str
    # info.requires_python, info.yanked and info.yanked_reason: what the
    # document says about the release it describes (latest_version).
    latest_values: dict[str, Any]
    releases: list[ReleaseData]
    last_serial: int
    # A project document (``releases``) states the whole release list; a
    # per-version one (``/pypi/<name>/<version>/json``, only ``urls``)
    # describes one release and says nothing about the others.
    full: bool = True


def _check(problem: str | None, path: str) -> None:
    if problem:
        raise InvalidDocument(path, problem)


def _text(obj: dict, key: str, path: str, *, max_length: int = STRING_MAX_LENGTH) -> str | None:
    """A string field as published (None when null or absent)."""
    value = obj.get(key)
    if value is not None:
        _check(text_problem(value, max_length=max_length), path)
    return value


def _url(obj: dict, key: str, path: str) -> str | None:
    value = obj.get(key)
    if value is not None:
        _check(url_problem(value, max_length=URL_MAX_LENGTH), path)
    return value


def _bool(obj: dict, key: str, path: str) -> bool:
    value = obj.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidDocument(path, f"expected true or false, got {value!r}"[:200])
    return value


def _string_list(obj: dict, key: str, path: str) -> list[str] | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidDocument(path, f"expected a list of strings, got {type(value).__name__}")
    for index, item in enumerate(value):
        _check(text_problem(item, max_length=PEOPLE_MAX_LENGTH), f"{path}[{index}]")
    return value


def _license_name(info: dict, classifiers: list[str]) -> str | None:
    """The display license (derived): the SPDX expression, a one-line license, or a classifier's."""
    expression = info.get("license_expression")
    if isinstance(expression, str) and expression.strip():
        return expression.strip()[:LICENSE_NAME_MAX]
    text = info.get("license")
    if isinstance(text, str):
        text = text.strip()
        if (
            text
            and "\n" not in text
            and len(text) <= LICENSE_NAME_MAX
            and text.upper() != "UNKNOWN"
        ):
            return text
    for classifier in classifiers:
        parts = classifier.split(" :: ")
        if parts[0] == "License" and len(parts) > 1 and parts[-1] != "OSI Approved":
            return parts[-1][:LICENSE_NAME_MAX]
    return None


def _upload_time(raw: dict, path: str) -> tuple[datetime | None, str | None]:
    """(the upload time, the published upload_time_iso_8601 or None)."""
    iso = raw.get("upload_time_iso_8601")
    plain = raw.get("upload_time")
    when = None
    for key, value in (("upload_time_iso_8601", iso), ("upload_time", plain)):
        if value is None:
            continue
        parsed, problem = datetime_parse(value)
        _check(problem, f"{path}.{key}")
        when = when or parsed
    if iso is not None:
        _check(text_problem(iso, max_length=40), f"{path}.upload_time_iso_8601")
    return when, iso


def _file(raw: Any, path: str) -> FileData:
    if not isinstance(raw, dict):
        raise InvalidDocument(path, f"expected an object, got {type(raw).__name__}")
    filename = raw.get("filename")
    if filename is None:
        raise InvalidDocument(f"{path}.filename", "is required")
    _check(filename_problem(filename), f"{path}.filename")
    size = raw.get("size", 0)
    _check(integer_problem(size), f"{path}.size")
    packagetype = raw.get("packagetype")
    _check(packagetype_problem(packagetype), f"{path}.packagetype")
    digests = raw.get("digests") or {}
    if not isinstance(digests, dict):
        raise InvalidDocument(f"{path}.digests", "expected an object")
    sha256 = digests.get("sha256")
    if sha256 is None:
        raise InvalidDocument(f"{path}.digests.sha256", "is required")
    hexes = {}
    for key, length in (("sha256", 64), ("md5", 32), ("blake2b_256", 64)):
        value = digests.get(key)
        if value is None:
            hexes[key] = ""
            continue
        if not isinstance(value, str) or len(value) != length or not set(value) <= HEX:
            raise InvalidDocument(
                f"{path}.digests.{key}", f"expected {length} lowercase hexadecimal characters"
            )
        hexes[key] = value
    upload_time, iso = _upload_time(raw, path)
    python_version = _text(raw, "python_version", f"{path}.python_version", max_length=64)
    return FileData(
        filename=filename,
        values={
            "url": _url(raw, "url", f"{path}.url") or "",
            "size": size,
            "packagetype": packagetype,
            "python_version": python_version or "",
            "requires_python": _text(
                raw, "requires_python", f"{path}.requires_python", max_length=255
            ),
            **hexes,
            "upload_time": upload_time,
            "upload_time_iso_8601": iso,
            "has_sig": _bool(raw, "has_sig", f"{path}.has_sig"),
            "comment_text": _text(raw, "comment_text", f"{path}.comment_text"),
            "yanked": _bool(raw, "yanked", f"{path}.yanked"),
            "yanked_reason": _text(raw, "yanked_reason", f"{path}.yanked_reason", max_length=255),
        },
    )


def document_validate(document: Any) -> PackageData:
    """Check a PyPI JSON document field by field; raise InvalidDocument on the first problem."""
    if not isinstance(document, dict):
        raise InvalidDocument(
            "(document)", f"expected a JSON object, got {type(document).__name__}"
        )
    _check(depth_problem(document), "(document)")
    info = document.get("info")
    if not isinstance(info, dict):
        raise InvalidDocument("info", "is required and must be an object")
    display = info.get("name")
    if display is None or display == "":
        raise InvalidDocument("info.name", "is required")
    _check(name_problem(display), "info.name")
    fields: dict[str, Any] = {
        key: _text(info, key, f"info.{key}", max_length=limit)
        for key, limit in INFO_TEXT_FIELDS.items()
    }
    fields.update({key: _url(info, key, f"info.{key}") for key in INFO_URL_FIELDS})
    fields.update({key: _string_list(info, key, f"info.{key}") for key in INFO_LIST_FIELDS})
    fields["license_text"] = _text(info, "license", "info.license")
    project_urls = info.get("project_urls")
    if project_urls is not None:
        if not isinstance(project_urls, dict):
            raise InvalidDocument("info.project_urls", "expected an object of label: URL")
        for label, url in project_urls.items():
            _check(text_problem(label, max_length=255), f"info.project_urls[{label!r}]")
            if label.startswith("$") or "." in label:
                # Stored as a MongoDB field name.
                raise InvalidDocument(
                    f"info.project_urls[{label!r}]", "a label may not start with '$' or hold '.'"
                )
            _check(url_problem(url, max_length=URL_MAX_LENGTH), f"info.project_urls[{label!r}]")
    fields["project_urls"] = project_urls
    classifiers = info.get("classifiers") or []
    if not isinstance(classifiers, list):
        raise InvalidDocument("info.classifiers", "expected a list of strings")
    for index, classifier in enumerate(classifiers):
        _check(text_problem(classifier, max_length=255), f"info.classifiers[{index}]")
        if not classifier.strip():
            raise InvalidDocument(f"info.classifiers[{index}]", "is empty")
    fields["classifier_order"] = classifiers
    vulnerabilities = document.get("vulnerabilities")
    if vulnerabilities is None:
        vulnerabilities = []
    if not isinstance(vulnerabilities, list):
        raise InvalidDocument("vulnerabilities", "expected a list")
    bad = json_strings_problem(vulnerabilities)
    if bad:
        raise InvalidDocument(f"vulnerabilities.{bad[0]}".rstrip("."), bad[1])
    fields["vulnerabilities"] = vulnerabilities

    latest = info.get("version")
    if latest is not None:
        _check(version_problem(latest), "info.version")
    latest = latest or ""
    latest_values = {
        "requires_python": _text(info, "requires_python", "info.requires_python", max_length=255),
        "yanked": _bool(info, "yanked", "info.yanked"),
        "yanked_reason": _text(info, "yanked_reason", "info.yanked_reason", max_length=255),
    }

    raw_releases = document.get("releases")
    full = raw_releases is not None
    if not full:
        # The per-version endpoint has no "releases": its "urls" are that version's files.
        if not latest:
            raise InvalidDocument("info.version", "a per-version document (no releases) needs it")
        raw_releases = {latest: document.get("urls") or []}
    if not isinstance(raw_releases, dict):
        raise InvalidDocument("releases", "expected an object of version: [files]")
    releases = []
    seen_files: set[str] = set()
    for version, files in raw_releases.items():
        path = f"releases[{version!r}]"
        _check(version_problem(version), path)
        if not isinstance(files, list):
            raise InvalidDocument(path, "expected a list of files")
        parsed = [_file(f, f"{path}[{i}]") for i, f in enumerate(files)]
        for f in parsed:
            if f.filename in seen_files:
                raise InvalidDocument(path, f"file {f.filename!r} appears twice in the document")
            seen_files.add(f.filename)
        releases.append(ReleaseData(version=version, files=parsed))
    last_serial = document.get("last_serial")
    if last_serial is None:
        last_serial = 0
    _check(integer_problem(last_serial), "last_serial")
    return PackageData(
        display_name=display,
        name=canonicalize_name(display),
        fields=fields,
        license=_license_name(info, classifiers),
        classifiers=list(dict.fromkeys(classifiers)),
        latest_version=latest,
        latest_values=latest_values,
        releases=releases,
        last_serial=last_serial,
        full=full,
    )


# --- writing -----------------------------------------------------------------


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
    parsed = parse_version(release.version)
    values.update(
        sort_key=parsed.sort_key,
        is_prerelease=parsed.is_prerelease,
        # The first upload; unknown (None) for a release without files.
        created=min(times) if times else (stored.created if stored else None),
    )
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


@transaction.atomic
def _package_write(*, data: PackageData) -> tuple[str, int, int]:
    package = Package.objects.select_for_update().filter(name=data.name).first()
    stale = package is not None and (
        data.last_serial < package.last_serial or (not data.last_serial and package.last_serial)
    )
    license_obj = License.objects.get_or_create(name=data.license)[0] if data.license else None
    created = package is None
    changed = False
    # A per-version document speaks for the package only when its release is
    # the newest one; an older release's document updates that release alone.
    describes_package = data.full or created or _is_newest(package, data.latest_version)
    values = (
        {**data.fields, "display_name": data.display_name, "license": license_obj}
        if describes_package
        else {}
    )
    if created:
        times = [f.values["upload_time"] for r in data.releases for f in r.files]
        times = [t for t in times if t]
        package = Package(
            name=data.name,
            created=min(times) if times else timezone.now(),
            last_serial=data.last_serial,
            **values,
        )
        package.save()
    elif _changed(package, values):
        changed = True

    wanted = list(data.classifiers)
    current = set(package.classifiers.values_list("name", flat=True))
    if describes_package and set(wanted) != current:
        existing = {c.name: c for c in Classifier.objects.filter(name__in=wanted)}
        Classifier.objects.bulk_create(
            [Classifier(name=n) for n in wanted if n not in existing], ignore_conflicts=True
        )
        package.classifiers.set(Classifier.objects.filter(name__in=wanted))
        changed = True

    stored_releases = Release.objects.filter(package=package)
    if not data.full:
        stored_releases = stored_releases.filter(version__in=[r.version for r in data.releases])
    releases = {r.version: r for r in stored_releases}
    new_releases, dirty_releases = [], []
    for release in data.releases:
        existing = releases.get(release.version)
        values = _release_values(data, release, existing)
        if existing is None:
            new_releases.append(Release(package=package, version=release.version, **values))
        elif _changed(existing, values):
            dirty_releases.append(existing)
    described = {r.version for r in data.releases}
    gone = [r.pk for v, r in releases.items() if v not in described] if data.full else []
    if gone:
        Release.objects.filter(pk__in=gone).delete()
    Release.objects.bulk_create(new_releases)
    if dirty_releases:
        Release.objects.bulk_update(dirty_releases, RELEASE_COLUMNS_WRITTEN)
    by_version = {**releases, **{r.version: r for r in new_releases}}

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
    new_files, dirty_files = [], []
    for release in data.releases:
        release_id = by_version[release.version].pk
        for f in release.files:
            values = {**f.values, "release_id": release_id}
            existing = files.get(f.filename)
            if existing is None:
                new_files.append(ReleaseFile(filename=f.filename, **values))
            elif _changed(existing, values):
                dirty_files.append(existing)
    stale_files = [f.pk for name, f in files.items() if name not in wanted_files]
    if stale_files:
        ReleaseFile.objects.filter(pk__in=stale_files).delete()
    ReleaseFile.objects.bulk_create(new_files)
    if dirty_files:
        ReleaseFile.objects.bulk_update(dirty_files, FILE_COLUMNS_WRITTEN)
    if new_releases or dirty_releases or gone or new_files or dirty_files or stale_files:
        changed = True
    if created:
        return "imported", len(new_releases), len(new_files)
    if not changed:
        return "unchanged", 0, 0
    if stale:
        raise _Stale()
    # Any change is a change of the package: `updated` moves (the incremental
    # migration reads it) and the serial is raised (catalog.receivers: to the
    # document's, or by one when the document's is not higher).
    package.last_serial = max(package.last_serial, data.last_serial)
    package.save()
    return "updated", len(new_releases) + len(dirty_releases), len(new_files) + len(dirty_files)


def _is_newest(package: Package, version: str) -> bool:
    """Whether ``version`` sorts at or above every stored release of ``package``."""
    newest = (
        Release.objects.filter(package=package)
        .order_by("-sort_key")
        .values_list("sort_key", flat=True)
        .first()
    )
    return newest is None or parse_version(version).sort_key >= newest


# --- reading -----------------------------------------------------------------


def document_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files as given, and every ``*.json`` under a directory, in a stable order."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.json") if p.is_file())
        else:
            yield path


def _load(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidDocument("(file)", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidDocument("(file)", f"cannot be read: {exc}") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InvalidDocument(
            "(document)", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise InvalidDocument("(document)", "is nested too deeply to be a PyPI document") from None
    except ValueError as exc:  # a constant refused below, an integer too long to parse
        raise InvalidDocument("(document)", str(exc)) from None


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON, and PostgreSQL's jsonb refuses them.
    raise ValueError(f"{name} is not a JSON value")


def package_import(*, paths: Iterable[str | Path]) -> ImportReport:
    """Import every document under ``paths``; one bad document never stops the others."""
    started = time.perf_counter()
    report = ImportReport()
    for path in document_paths(paths):
        outcome = DocumentOutcome(source=str(path), status="failed")
        try:
            data = document_validate(_load(path))
            outcome.name = data.name
            with serial_managed():
                outcome.status, outcome.releases, outcome.files = package_write(data=data)
            if outcome.status == "skipped":
                outcome.reason = "the stored package is newer (higher last_serial)"
        except InvalidDocument as exc:
            outcome.status, outcome.field, outcome.reason = "failed", exc.field, exc.reason
        except (IntegrityError, DataError) as exc:
            outcome.status, outcome.field = "failed", "(database)"
            outcome.reason = f"rejected by a database constraint: {exc}".strip()
        report.outcomes.append(outcome)
    report.seconds = time.perf_counter() - started
    return report
