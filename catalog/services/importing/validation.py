"""Validation of a PyPI JSON document, field by field, before anything is written.

Every rule lives in catalog.validation; here they are applied field by field
with the document path of each value. The result (``PackageData``) is what
``catalog.services.importing.writing`` writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from catalog.models import (
    KEYWORDS_MAX_LENGTH,
    PEOPLE_MAX_LENGTH,
    SUMMARY_MAX_LENGTH,
    URL_MAX_LENGTH,
)
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
from catalog.versions import canonicalize_name

LICENSE_NAME_MAX = 100


class InvalidDocument(Exception):
    """A document that cannot be imported; names the field and the reason."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


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


def _project_urls(info: dict) -> dict | None:
    project_urls = info.get("project_urls")
    if project_urls is None:
        return None
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
    return project_urls


def _classifiers(info: dict) -> list[str]:
    classifiers = info.get("classifiers") or []
    if not isinstance(classifiers, list):
        raise InvalidDocument("info.classifiers", "expected a list of strings")
    for index, classifier in enumerate(classifiers):
        _check(text_problem(classifier, max_length=255), f"info.classifiers[{index}]")
        if not classifier.strip():
            raise InvalidDocument(f"info.classifiers[{index}]", "is empty")
    return classifiers


def _vulnerabilities(document: dict) -> list:
    vulnerabilities = document.get("vulnerabilities")
    if vulnerabilities is None:
        vulnerabilities = []
    if not isinstance(vulnerabilities, list):
        raise InvalidDocument("vulnerabilities", "expected a list")
    bad = json_strings_problem(vulnerabilities)
    if bad:
        raise InvalidDocument(f"vulnerabilities.{bad[0]}".rstrip("."), bad[1])
    return vulnerabilities


def _info_fields(document: dict, info: dict) -> dict[str, Any]:
    """The package fields stored as published, checked in document order."""
    fields: dict[str, Any] = {
        key: _text(info, key, f"info.{key}", max_length=limit)
        for key, limit in INFO_TEXT_FIELDS.items()
    }
    fields.update({key: _url(info, key, f"info.{key}") for key in INFO_URL_FIELDS})
    fields.update({key: _string_list(info, key, f"info.{key}") for key in INFO_LIST_FIELDS})
    fields["license_text"] = _text(info, "license", "info.license")
    fields["project_urls"] = _project_urls(info)
    fields["classifier_order"] = _classifiers(info)
    fields["vulnerabilities"] = _vulnerabilities(document)
    return fields


def _latest(info: dict) -> tuple[str, dict[str, Any]]:
    """info.version and what the document says about that release."""
    latest = info.get("version")
    if latest is not None:
        _check(version_problem(latest), "info.version")
    return latest or "", {
        "requires_python": _text(info, "requires_python", "info.requires_python", max_length=255),
        "yanked": _bool(info, "yanked", "info.yanked"),
        "yanked_reason": _text(info, "yanked_reason", "info.yanked_reason", max_length=255),
    }


def _releases(document: dict, latest: str) -> tuple[list[ReleaseData], bool]:
    """The releases with their files, and whether the document lists them all."""
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
    return releases, full


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
    fields = _info_fields(document, info)
    classifiers = fields["classifier_order"]
    latest, latest_values = _latest(info)
    releases, full = _releases(document, latest)
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
