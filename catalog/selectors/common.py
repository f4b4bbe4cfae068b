"""Small rules both stores share, so their pages cannot drift apart."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from catalog.selectors.types import (
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


def search_window(*, total: int, page: int) -> tuple[int, int, int]:
    """(offset, limit, num_pages) for a results page; a page past the end is NotFound."""
    num_pages = max(1, math.ceil(total / SEARCH_PER_PAGE))
    if page < 1 or page > num_pages:
        raise NotFound(f"page {page} is past the end of the results ({num_pages} pages)")
    return (page - 1) * SEARCH_PER_PAGE, SEARCH_PER_PAGE, num_pages
