"""Small rules both stores share, so their pages cannot drift apart."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from catalog.file_entries import simple_html_show, simple_json_show
from catalog.selectors.types import (
    SEARCH_MAX_PAGES,
    SEARCH_PER_PAGE,
    MaintainerRow,
    NotFound,
    ReleaseRow,
)


def default_version(releases: Sequence[ReleaseRow]) -> str | None:
    """Newest release neither yanked nor a pre-release, else the newest (input newest first)."""
    for release in releases:
        if not release.yanked and not release.is_prerelease:
            return release.version
    return releases[0].version if releases else None


# What json.dumps writes as it is between quotes (most versions are only these).
_JSON_PLAIN = re.compile(r"[A-Za-z0-9._+!-]*")


def _version_key(version: str) -> str:
    return (
        f'"{version}"'
        if _JSON_PLAIN.fullmatch(version)
        else json.dumps(version, ensure_ascii=False)
    )


def json_releases_join(versions: Sequence[str], files: Mapping[str, list[str]]) -> str:
    """The JSON API's "releases" object between its braces: every release (``versions``
    newest first, listed oldest first, as PyPI does) with its files' entries as served.

    Joined as json.dumps(..., ensure_ascii=False) of the whole object would write it.
    """
    return ", ".join(
        f"{_version_key(version)}: [{', '.join(files.get(version, ()))}]"
        for version in reversed(versions)
    )


def maintainers_sorted(rows: Iterable[MaintainerRow]) -> list[MaintainerRow]:
    return sorted(rows, key=lambda m: (m.role != "owner", m.username))


def search_page_check(page: int) -> None:
    """Refuse a page past the last one any search shows, before searching."""
    if page > SEARCH_MAX_PAGES:
        raise NotFound(
            f"search results stop at page {SEARCH_MAX_PAGES} (the first "
            f"{SEARCH_MAX_PAGES * SEARCH_PER_PAGE:,} projects); refine the search to see others"
        )


def search_window(*, total: int, page: int) -> tuple[int, int, int]:
    """(offset, limit, num_pages) for a results page; a page past the end is NotFound.

    ``num_pages`` stops at SEARCH_MAX_PAGES however many hits there are.
    """
    search_page_check(page)
    num_pages = min(SEARCH_MAX_PAGES, max(1, math.ceil(total / SEARCH_PER_PAGE)))
    if page < 1 or page > num_pages:
        raise NotFound(f"page {page} is past the end of the results ({num_pages} pages)")
    return (page - 1) * SEARCH_PER_PAGE, SEARCH_PER_PAGE, num_pages


def simple_entry(
    entry: str,
    values: Mapping[str, Any],
    release: tuple[str | None, bool, str | None],
    *,
    form: str,
) -> str:
    """A file's stored Simple entry as served, with what its release lends it.

    ``values`` holds the file's ``requires_python``, ``yanked`` and
    ``yanked_reason``; ``release`` is its release's (Requires-Python, yanked, reason).
    """
    show = simple_json_show if form == "json" else simple_html_show
    requires_python, yanked, reason = release
    return show(
        entry,
        values,
        release_requires_python=requires_python,
        release_yanked=yanked,
        release_reason=reason,
    )


def license_terms(value: str) -> list[str]:
    """What a license filter matches, case-insensitively: the value, with and without "License".

    ``MIT``, ``mit license`` and ``License :: OSI Approved :: MIT License``
    all find a package whose license is ``MIT``, ``MIT License`` or that
    classifier; each backend compares these terms to license names, SPDX ids,
    expressions and the ``License ::`` classifiers (whole or last part).
    """
    value = value.strip()
    terms = [value]
    if value.lower().endswith(" license"):
        terms.append(value[: -len(" license")].strip())
    else:
        terms.append(value + " License")
    return [t for t in dict.fromkeys(terms) if t]


def page_slice(counts: list[int], *, offset: int, limit: int) -> list[tuple[int, int, int]]:
    """Which (part, skip, take) of consecutive parts of these sizes make up a window."""
    window = []
    start = 0
    for part, count in enumerate(counts):
        skip = max(0, offset - start)
        take = min(count - skip, offset + limit - max(start, offset))
        if skip < count and take > 0:
            window.append((part, skip, take))
        start += count
    return window
