"""PEP 440 versions, canonical names and database sort keys (through `packaging`).

The sort key is computed once, when a release is written, so that both stores
order releases in the database ("newest first") without parsing versions at
read time. It is a fixed-width string of digits only: digit strings of equal
length compare the same under every collation (PostgreSQL's locale-aware ones
included) and in MongoDB, so a plain ORDER BY / sort on it is PEP 440 order.

Versions that are not PEP 440 ("legacy", e.g. ``2004d``, ``0.9.8-beta``,
``1.0-SNAPSHOT``) are kept as published, sort below every valid version, and
are ordered among themselves by their leading numbers; they never raise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.utils import canonicalize_name as _canonicalize_name
from packaging.version import InvalidVersion, Version

RELEASE_PARTS = 6
PART_WIDTH = 10
_PART_MAX = 10**PART_WIDTH - 1
_PRE_PHASE = {"a": 1, "b": 2, "rc": 3}
_LEGACY_PRE = re.compile(r"(alpha|beta|pre|preview|rc|snapshot|dev|a\d|b\d)", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")

SORT_KEY_LENGTH = 1 + 4 + RELEASE_PARTS * PART_WIDTH + (1 + PART_WIDTH) * 3 + 1


def canonicalize_name(name: str) -> str:
    """PEP 503 normalized name: ``Foo_Bar.baz`` -> ``foo-bar-baz``."""
    return _canonicalize_name(name)


def _num(value: int) -> str:
    return str(min(max(value, 0), _PART_MAX)).zfill(PART_WIDTH)


def _release_digits(parts: tuple[int, ...] | list[int]) -> str:
    padded = list(parts[:RELEASE_PARTS]) + [0] * (RELEASE_PARTS - len(parts[:RELEASE_PARTS]))
    return "".join(_num(p) for p in padded)


@dataclass(frozen=True)
class ParsedVersion:
    version: str
    canonical: str
    sort_key: str
    is_prerelease: bool
    is_legacy: bool


def parse_version(version: str) -> ParsedVersion:
    """Parse a published version string; never raises for a non-empty string."""
    try:
        parsed = Version(version)
    except InvalidVersion:
        return _legacy(version)
    epoch = str(min(parsed.epoch, 9999)).zfill(4)
    release = _release_digits(parsed.release)
    # Mirrors packaging's comparison key: a dev release with no pre/post
    # segment sorts before the pre-releases of the same version.
    if parsed.pre is not None:
        pre = str(_PRE_PHASE[parsed.pre[0]]) + _num(parsed.pre[1])
    elif parsed.post is None and parsed.dev is not None:
        pre = "0" + _num(0)
    else:
        pre = "4" + _num(0)
    post = "0" + _num(0) if parsed.post is None else "1" + _num(parsed.post)
    dev = "1" + _num(0) if parsed.dev is None else "0" + _num(parsed.dev)
    local = "1" if parsed.local else "0"
    return ParsedVersion(
        version=version,
        canonical=str(parsed),
        sort_key="1" + epoch + release + pre + post + dev + local,
        is_prerelease=parsed.is_prerelease,
        is_legacy=False,
    )


def _legacy(version: str) -> ParsedVersion:
    numbers = [int(d[:PART_WIDTH]) for d in _DIGITS.findall(version)]
    key = "0" + "0000" + _release_digits(numbers) + "0" * ((1 + PART_WIDTH) * 3 + 1)
    return ParsedVersion(
        version=version,
        canonical=version.strip().lower(),
        sort_key=key,
        is_prerelease=bool(_LEGACY_PRE.search(version)),
        is_legacy=True,
    )


def version_sort_key(version: str) -> str:
    return parse_version(version).sort_key
