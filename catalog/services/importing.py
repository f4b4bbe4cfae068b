"""Import documents in the format of PyPI's JSON API (``/pypi/<name>/json``).

Each document is validated completely before anything is written, then the
package with all its releases and files is written in one transaction: a bad
document is reported (file, field, reason) and skipped, never half-written.
The document is the whole state of the package: importing it twice changes
nothing, and a newer document (higher ``last_serial``) updates exactly what
differs, including releases and files that disappeared from it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from audit.normalize import PACKAGE_EMAIL_FIELDS, normalize_email
from catalog.models import (
    KEYWORDS_MAX_LENGTH,
    NAME_MAX_LENGTH,
    PEOPLE_MAX_LENGTH,
    SUMMARY_MAX_LENGTH,
    URL_MAX_LENGTH,
    VERSION_MAX_LENGTH,
    Classifier,
    License,
    Package,
    Release,
    ReleaseFile,
)
from catalog.versions import canonicalize_name, parse_version

SHA256_HEX = frozenset("0123456789abcdef")
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


@dataclass
class FileData:
    filename: str
    url: str
    size: int
    packagetype: str
    python_version: str
    requires_python: str
    sha256: str
    md5: str
    upload_time: datetime | None
    yanked: bool
    yanked_reason: str


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
    info_yanked: bool
    info_yanked_reason: str
    releases: list[ReleaseData]
    last_serial: int
    # A project document (``releases``) states the whole release list; a
    # per-version one (``/pypi/<name>/<version>/json``, only ``urls``)
    # describes one release and says nothing about the others.
    full: bool = True


def _string(
    obj: dict, key: str, path: str, *, max_length: int | None = None, required: bool = False
) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise InvalidDocument(path, "is required")
        return ""
    if not isinstance(value, str):
        raise InvalidDocument(path, f"expected a string, got {type(value).__name__}")
    if required and not value.strip():
        raise InvalidDocument(path, "must not be empty")
    if max_length is not None and len(value) > max_length:
        raise InvalidDocument(path, f"is {len(value)} characters long, the limit is {max_length}")
    return value


def _datetime(value: Any, path: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidDocument(path, f"expected an ISO 8601 string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidDocument(path, f"{value!r} is not an ISO 8601 date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _license_name(info: dict, classifiers: list[str]) -> str | None:
    """A short license name: the SPDX expression, a one-line license, or the classifier's."""
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


def _file(raw: Any, path: str) -> FileData:
    if not isinstance(raw, dict):
        raise InvalidDocument(path, f"expected an object, got {type(raw).__name__}")
    filename = _string(raw, "filename", f"{path}.filename", max_length=255, required=True)
    size = raw.get("size", 0)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidDocument(f"{path}.size", f"expected a non-negative integer, got {size!r}")
    digests = raw.get("digests") or {}
    if not isinstance(digests, dict):
        raise InvalidDocument(f"{path}.digests", "expected an object")
    sha256 = _string(digests, "sha256", f"{path}.digests.sha256", required=True).lower()
    if len(sha256) != 64 or not set(sha256) <= SHA256_HEX:
        raise InvalidDocument(f"{path}.digests.sha256", "expected 64 hexadecimal characters")
    md5 = _string(digests, "md5", f"{path}.digests.md5", max_length=32)
    upload = raw.get("upload_time_iso_8601") or raw.get("upload_time")
    yanked = raw.get("yanked", False)
    if not isinstance(yanked, bool):
        raise InvalidDocument(f"{path}.yanked", f"expected true or false, got {yanked!r}")
    return FileData(
        filename=filename,
        url=_string(raw, "url", f"{path}.url", max_length=URL_MAX_LENGTH),
        size=size,
        packagetype=_string(raw, "packagetype", f"{path}.packagetype", max_length=32),
        python_version=_string(raw, "python_version", f"{path}.python_version", max_length=64),
        requires_python=_string(raw, "requires_python", f"{path}.requires_python", max_length=255),
        sha256=sha256,
        md5=md5,
        upload_time=_datetime(upload, f"{path}.upload_time_iso_8601"),
        yanked=yanked,
        yanked_reason=_string(raw, "yanked_reason", f"{path}.yanked_reason", max_length=255),
    )


def document_validate(document: Any) -> PackageData:
    """Check a PyPI JSON document field by field; raise InvalidDocument on the first problem."""
    if not isinstance(document, dict):
        raise InvalidDocument(
            "(document)", f"expected a JSON object, got {type(document).__name__}"
        )
    info = document.get("info")
    if not isinstance(info, dict):
        raise InvalidDocument("info", "is required and must be an object")
    display = _string(info, "name", "info.name", max_length=NAME_MAX_LENGTH, required=True).strip()
    fields = {
        "summary": _string(info, "summary", "info.summary", max_length=SUMMARY_MAX_LENGTH),
        "description": _string(info, "description", "info.description"),
        "description_content_type": _string(
            info, "description_content_type", "info.description_content_type", max_length=128
        ),
        "keywords": _string(info, "keywords", "info.keywords", max_length=KEYWORDS_MAX_LENGTH),
        "home_page": _string(info, "home_page", "info.home_page", max_length=URL_MAX_LENGTH),
        "docs_url": _string(info, "docs_url", "info.docs_url", max_length=URL_MAX_LENGTH),
        "author": _string(info, "author", "info.author", max_length=PEOPLE_MAX_LENGTH),
        "author_email": _string(
            info, "author_email", "info.author_email", max_length=PEOPLE_MAX_LENGTH
        ),
        "maintainer": _string(info, "maintainer", "info.maintainer", max_length=PEOPLE_MAX_LENGTH),
        "maintainer_email": _string(
            info, "maintainer_email", "info.maintainer_email", max_length=PEOPLE_MAX_LENGTH
        ),
    }
    fields["summary"] = fields["summary"].strip()
    # What the pre_save hook would store (bulk writes skip it); comparing the
    # raw value with the stored one would make every re-import an update.
    for name in PACKAGE_EMAIL_FIELDS:
        fields[name] = normalize_email(fields[name])
    project_urls = info.get("project_urls") or {}
    if not isinstance(project_urls, dict):
        raise InvalidDocument("info.project_urls", "expected an object of label: URL")
    for label, url in project_urls.items():
        if not isinstance(url, str):
            raise InvalidDocument(f"info.project_urls.{label}", "expected a string")
        if len(url) > URL_MAX_LENGTH:
            raise InvalidDocument(f"info.project_urls.{label}", f"longer than {URL_MAX_LENGTH}")
    fields["project_urls"] = project_urls
    classifiers = info.get("classifiers") or []
    if not isinstance(classifiers, list) or not all(isinstance(c, str) for c in classifiers):
        raise InvalidDocument("info.classifiers", "expected a list of strings")
    for index, classifier in enumerate(classifiers):
        if len(classifier) > 255:
            raise InvalidDocument(f"info.classifiers[{index}]", "longer than 255 characters")
    latest = _string(info, "version", "info.version", max_length=VERSION_MAX_LENGTH)
    info_yanked = info.get("yanked", False)
    if not isinstance(info_yanked, bool):
        raise InvalidDocument("info.yanked", f"expected true or false, got {info_yanked!r}")

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
        if not version.strip():
            raise InvalidDocument(path, "a version must not be empty")
        if len(version) > VERSION_MAX_LENGTH:
            raise InvalidDocument(path, f"version longer than {VERSION_MAX_LENGTH} characters")
        if not isinstance(files, list):
            raise InvalidDocument(path, "expected a list of files")
        parsed = [_file(f, f"{path}[{i}]") for i, f in enumerate(files)]
        for f in parsed:
            if f.filename in seen_files:
                raise InvalidDocument(path, f"file {f.filename!r} appears twice in the document")
            seen_files.add(f.filename)
        releases.append(ReleaseData(version=version, files=parsed))
    last_serial = document.get("last_serial", 0) or 0
    if not isinstance(last_serial, int) or isinstance(last_serial, bool):
        raise InvalidDocument("last_serial", f"expected an integer, got {last_serial!r}")
    return PackageData(
        display_name=display,
        name=canonicalize_name(display),
        fields=fields,
        license=_license_name(info, classifiers),
        classifiers=sorted(set(classifiers)),
        latest_version=latest,
        info_yanked=info_yanked,
        info_yanked_reason=_string(info, "yanked_reason", "info.yanked_reason", max_length=255),
        releases=releases,
        last_serial=last_serial,
        full=full,
    )


# --- writing -----------------------------------------------------------------


def _release_values(data: PackageData, release: ReleaseData) -> dict[str, Any]:
    files = release.files
    if files:
        yanked = all(f.yanked for f in files)
        reason = next((f.yanked_reason for f in files if f.yanked_reason), "") if yanked else ""
        requires = next((f.requires_python for f in files if f.requires_python), "")
    else:
        yanked = data.info_yanked and release.version == data.latest_version
        reason = data.info_yanked_reason if yanked else ""
        requires = ""
    parsed = parse_version(release.version)
    return {
        "sort_key": parsed.sort_key,
        "is_prerelease": parsed.is_prerelease,
        "yanked": yanked,
        "yanked_reason": reason,
        "requires_python": requires,
    }


def _file_values(f: FileData) -> dict[str, Any]:
    return {
        "url": f.url,
        "size": f.size,
        "packagetype": f.packagetype,
        "python_version": f.python_version,
        "requires_python": f.requires_python,
        "sha256": f.sha256,
        "md5": f.md5,
        "upload_time": f.upload_time or timezone.now(),
    }


def _changed(obj: Any, values: dict[str, Any]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


@transaction.atomic
def package_write(*, data: PackageData) -> tuple[str, int, int]:
    """Write one validated package; returns (status, releases written, files written)."""
    package = Package.objects.select_for_update().filter(name=data.name).first()
    if package is not None and data.last_serial and data.last_serial < package.last_serial:
        return "skipped", 0, 0
    license_obj = License.objects.get_or_create(name=data.license)[0] if data.license else None
    values = {
        **data.fields,
        "display_name": data.display_name,
        "license": license_obj,
        "last_serial": data.last_serial,
    }
    created = package is None
    changed = False
    # A per-version document speaks for the package only when its release is
    # the newest one; an older release's document updates that release alone.
    describes_package = data.full or created or _is_newest(package, data.latest_version)
    if not describes_package:
        values = {"last_serial": max(package.last_serial, data.last_serial)}
    if created:
        times = [f.upload_time for r in data.releases for f in r.files if f.upload_time]
        package = Package(name=data.name, created=min(times) if times else timezone.now(), **values)
        package.save()
    elif _changed(package, values):
        package.save()
        changed = True

    wanted = set(data.classifiers)
    current = set(package.classifiers.values_list("name", flat=True))
    if describes_package and wanted != current:
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
        values = _release_values(data, release)
        existing = releases.get(release.version)
        if existing is None:
            times = [f.upload_time for f in release.files if f.upload_time]
            new_releases.append(
                Release(
                    package=package,
                    version=release.version,
                    created=min(times) if times else timezone.now(),
                    **values,
                )
            )
        elif _changed(existing, values):
            dirty_releases.append(existing)
    gone = [r.pk for v, r in releases.items() if v not in {x.version for x in data.releases}]
    if gone:
        Release.objects.filter(pk__in=gone).delete()
    Release.objects.bulk_create(new_releases)
    if dirty_releases:
        Release.objects.bulk_update(
            dirty_releases,
            ["sort_key", "is_prerelease", "yanked", "yanked_reason", "requires_python"],
        )
    by_version = {**releases, **{r.version: r for r in new_releases}}

    # Only files of the releases this document describes are candidates for removal.
    stored_files = ReleaseFile.objects.filter(release__package=package)
    if not data.full:
        wanted_names = [f.filename for r in data.releases for f in r.files]
        stored_files = stored_files.filter(
            Q(release__in=list(releases.values())) | Q(filename__in=wanted_names)
        )
    files = {f.filename: f for f in stored_files}
    wanted_files = {f.filename for r in data.releases for f in r.files}
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
            values = {**_file_values(f), "release_id": release_id}
            existing = files.get(f.filename)
            if existing is None:
                new_files.append(ReleaseFile(filename=f.filename, **values))
            else:
                if f.upload_time is None:
                    values.pop("upload_time")
                if _changed(existing, values):
                    dirty_files.append(existing)
    stale = [f.pk for name, f in files.items() if name not in wanted_files]
    if stale:
        ReleaseFile.objects.filter(pk__in=stale).delete()
    ReleaseFile.objects.bulk_create(new_files)
    if dirty_files:
        ReleaseFile.objects.bulk_update(
            dirty_files,
            [
                "release_id",
                "url",
                "size",
                "packagetype",
                "python_version",
                "requires_python",
                "sha256",
                "md5",
                "upload_time",
            ],
        )
    if not created and (
        new_releases or dirty_releases or gone or new_files or dirty_files or stale
    ):
        changed = True
        # Release-level changes are a change to the package: bump `updated`,
        # which the incremental migration reads.
        package.save(update_fields=["updated"])
    status = "imported" if created else ("updated" if changed else "unchanged")
    return status, len(new_releases) + len(dirty_releases), len(new_files) + len(dirty_files)


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
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidDocument(
            "(document)", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None


def package_import(*, paths: Iterable[str | Path]) -> ImportReport:
    """Import every document under ``paths``; one bad document never stops the others."""
    started = time.perf_counter()
    report = ImportReport()
    for path in document_paths(paths):
        outcome = DocumentOutcome(source=str(path), status="failed")
        try:
            data = document_validate(_load(path))
            outcome.name = data.name
            outcome.status, outcome.releases, outcome.files = package_write(data=data)
            if outcome.status == "skipped":
                outcome.reason = "the stored package is newer (higher last_serial)"
        except InvalidDocument as exc:
            outcome.status, outcome.field, outcome.reason = "failed", exc.field, exc.reason
        except IntegrityError as exc:
            outcome.status, outcome.field = "failed", "(database)"
            outcome.reason = f"rejected by a database constraint: {exc}".strip()
        report.outcomes.append(outcome)
    report.seconds = time.perf_counter() - started
    return report
