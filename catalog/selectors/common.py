"""Small rules both stores share, so their pages cannot drift apart."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

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
