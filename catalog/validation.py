"""What a value must be to enter the catalog: one set of rules for every door.

``import_pypi``, the admin forms (through the model fields' validators),
``migrate_from_mongo`` (through ``catalog.mapping``) and ``merge_sources``
input records all check values here, so a name, version, filename or URL that
PyPI itself would refuse is refused everywhere with the same reason.

Each ``*_problem`` function returns ``None`` for an acceptable value and a
short reason otherwise; the callers add the file, record and field.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from packaging.version import InvalidVersion, Version

from catalog.rendering import DESCRIPTION_MAX_LENGTH as RENDER_DESCRIPTION_MAX_LENGTH

# PEP 508 names: ASCII letters and digits, with ".", "_" and "-" inside.
NAME_PATTERN = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
# The distribution file extensions PyPI accepts (warehouse's upload check).
DIST_FILE_PATTERN = re.compile(r".+?\.(exe|tar\.gz|bz2|rpm|deb|zip|tgz|egg|dmg|msi|whl)$", re.I)
PACKAGE_TYPES = frozenset(
    {
        "sdist",
        "bdist_wheel",
        "bdist_egg",
        "bdist_wininst",
        "bdist_msi",
        "bdist_rpm",
        "bdist_dumb",
        "bdist_dmg",
    }
)
URL_SCHEMES = frozenset({"http", "https"})
_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.\-]*):")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NUL_OR_SURROGATE = re.compile(r"[\x00\ud800-\udfff]")
_WHITESPACE = re.compile(r"\s")

INT64_MAX = 2**63 - 1
# A PyPI JSON document is at most five levels deep (releases -> version ->
# files -> file -> digests); anything far deeper is not one.
MAX_DEPTH = 32
# Any one string field. Descriptions have their own, larger bound.
STRING_MAX_LENGTH = 65_536
# Descriptions: catalog.rendering's bound (512 KiB). PyPI bounds them by its
# upload size; 99 % of its descriptions are under 40,000 characters
# (pypi/warehouse#16358).
DESCRIPTION_MAX_LENGTH = RENDER_DESCRIPTION_MAX_LENGTH


def text_problem(value: Any, *, max_length: int = STRING_MAX_LENGTH) -> str | None:
    """A string storable in every store: no NUL, no lone surrogate, bounded."""
    if not isinstance(value, str):
        return f"expected a string, got {type(value).__name__}"
    bad = _NUL_OR_SURROGATE.search(value)
    if bad:
        what = "a NUL character" if bad.group() == "\x00" else "a lone surrogate"
        return f"contains {what} at position {bad.start()}"
    if len(value) > max_length:
        return f"is {len(value)} characters long, the limit is {max_length}"
    return None


def name_problem(value: Any) -> str | None:
    """A project name as PEP 508 allows it."""
    problem = text_problem(value, max_length=200)
    if problem:
        return problem
    if not NAME_PATTERN.match(value):
        return (
            f"{value!r} is not a valid project name (PEP 508: letters, digits, and "
            "'.', '_' or '-' between them)"
        )
    return None


def version_problem(value: Any) -> str | None:
    """A PEP 440 version, or a legacy one without '/', whitespace or control characters."""
    problem = text_problem(value, max_length=100)
    if problem:
        return problem
    if not value:
        return "is empty"
    try:
        Version(value)
        return None
    except InvalidVersion:
        pass
    if "/" in value or "\\" in value or _CONTROL.search(value) or _WHITESPACE.search(value):
        return f"{value!r} is not a version (no '/', whitespace or control characters)"
    if value in {".", ".."}:
        return f"{value!r} is not a version"
    return None


def filename_problem(value: Any) -> str | None:
    """A bare distribution file name with an extension PyPI accepts."""
    problem = text_problem(value, max_length=255)
    if problem:
        return problem
    if "/" in value or "\\" in value or _CONTROL.search(value) or value.startswith("."):
        return f"{value!r} is not a bare file name"
    if not DIST_FILE_PATTERN.match(value):
        return f"{value!r} has no distribution file extension PyPI accepts"
    return None


def packagetype_problem(value: Any) -> str | None:
    if value not in PACKAGE_TYPES:
        return f"{value!r} is not a package type (one of {', '.join(sorted(PACKAGE_TYPES))})"
    return None


def url_problem(value: Any, *, max_length: int = 500) -> str | None:
    """An http(s) URL, or text that is no link at all (PyPI's "UNKNOWN", a bare host).

    A value with any other scheme (``javascript:``, ``data:``, ``file:``) is refused.
    """
    problem = text_problem(value, max_length=max_length)
    if problem:
        return problem
    if _CONTROL.search(value):
        return "contains a control character"
    scheme = _SCHEME.match(value)
    if scheme and scheme.group(1).lower() not in URL_SCHEMES:
        return f"scheme {scheme.group(1)!r} is not allowed (http or https only)"
    return None


def integer_problem(value: Any, *, low: int = 0, high: int = INT64_MAX) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"expected an integer, got {value!r}"[:200]
    if not low <= value <= high:
        return f"{value} is out of range ({low} to {high})"[:200]
    return None


def datetime_parse(value: Any) -> tuple[datetime | None, str | None]:
    """(aware UTC datetime, None) for an ISO 8601 string, else (None, reason)."""
    if not isinstance(value, str):
        return None, f"expected an ISO 8601 string, got {type(value).__name__}"
    problem = text_problem(value, max_length=64)
    if problem:
        return None, problem
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None, f"{value!r} is not an ISO 8601 date-time"
    try:
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:
        return None, f"{value!r} is out of range in UTC"
    if not 1 < parsed.year < 9999:
        return None, f"{value!r} is out of range"
    return parsed, None


def depth_problem(value: Any, *, limit: int = MAX_DEPTH) -> str | None:
    """Nesting deeper than ``limit`` levels (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return f"is nested more than {limit} levels deep"
        stack.extend((child, depth + 1) for child in children)
    return None


def json_strings_problem(value: Any, *, integers: bool = True) -> tuple[str, str] | None:
    """(path, reason) of the first unstorable string (key or value) inside JSON data.

    With ``integers``, an integer outside 64 bits is one too.
    """
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                problem = text_problem(key)
                if problem:
                    return path or "(key)", f"key {problem}"
                stack.append((child, f"{path}.{key}" if path else key))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(item))
        elif isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return path, problem
        elif (
            integers
            and isinstance(item, int)
            and not isinstance(item, bool)
            and not -INT64_MAX - 1 <= item <= INT64_MAX
        ):
            return path, f"{item} is out of range for a 64-bit integer"
    return None


def record_problem(value: Any) -> str | None:
    """Why a free-form record (a merge input) cannot be stored: depth, strings, integers."""
    problem = depth_problem(value)
    if problem:
        return problem
    # Integers beyond 64 bits: merge_sources itself reports what MongoDB cannot hold.
    found = json_strings_problem(value, integers=False)
    if found:
        path, reason = found
        return f"field {path!r}: {reason}"
    return None


# --- model field validators (admin forms, full_clean) --------------------------


def _raise_problem(problem: str | None) -> None:
    if problem:
        raise ValidationError(problem)


def validate_name(value: Any) -> None:
    if value not in (None, ""):
        _raise_problem(name_problem(value))


def validate_version(value: Any) -> None:
    if value not in (None, ""):
        _raise_problem(version_problem(value))


def validate_filename(value: Any) -> None:
    if value not in (None, ""):
        _raise_problem(filename_problem(value))


def validate_url(value: Any) -> None:
    if value not in (None, ""):
        _raise_problem(url_problem(value))


def validate_text(value: Any) -> None:
    if value not in (None, ""):
        _raise_problem(text_problem(value))
