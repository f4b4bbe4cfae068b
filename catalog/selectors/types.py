"""What the read layer returns: plain dataclasses, the same for both stores.

The templates, feeds and APIs only ever see these, so a page rendered from SQL
and one rendered from MongoDB come from identical inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

SEARCH_PER_PAGE = 20
# Like PyPI, results stop at a page: deep pages would cost an ever longer scan.
SEARCH_MAX_PAGES = 500
SEARCH_QUERY_MAX_LENGTH = 200
HOME_LIST_LENGTH = 10
FEED_LENGTH = 40


class NotFound(Exception):
    """The package, version or user asked for does not exist."""


@dataclass(frozen=True)
class LicenseInfo:
    name: str
    spdx_id: str = ""


@dataclass(frozen=True)
class MaintainerRow:
    username: str
    role: str


@dataclass(frozen=True)
class FileRow:
    filename: str
    url: str
    size: int
    packagetype: str
    python_version: str
    requires_python: str
    sha256: str
    md5: str
    upload_time: datetime | None


@dataclass(frozen=True)
class ReleaseRow:
    """One line of a release history: only what the history shows."""

    version: str
    is_prerelease: bool
    yanked: bool
    yanked_reason: str
    created: datetime | None
    updated: datetime | None = None
    requires_python: str = ""


@dataclass(frozen=True)
class ReleaseDetail:
    version: str
    is_prerelease: bool
    yanked: bool
    yanked_reason: str
    requires_python: str
    summary: str
    comment: str
    created: datetime | None
    updated: datetime | None
    files: list[FileRow] = field(default_factory=list)


@dataclass(frozen=True)
class PackageDetail:
    name: str
    display_name: str
    summary: str
    description: str
    description_content_type: str
    keywords: str
    home_page: str
    docs_url: str
    project_urls: dict[str, str]
    author: str
    author_email: str
    maintainer: str
    maintainer_email: str
    license: LicenseInfo | None
    classifiers: list[str]
    maintainers: list[MaintainerRow]
    last_serial: int
    created: datetime | None
    updated: datetime | None
    releases: list[ReleaseRow]
    default_version: str | None
    # The release the page shows: the default one, or the version asked for.
    release: ReleaseDetail | None

    @property
    def last_modified(self) -> datetime | None:
        stamps = [s for s in [self.updated, *(r.updated for r in self.releases)] if s]
        return max(stamps) if stamps else None


@dataclass(frozen=True)
class PackageJson:
    """Everything PyPI's JSON API shows: the package and every release with its files."""

    package: PackageDetail
    files: dict[str, list[FileRow]]


@dataclass(frozen=True)
class PackageListItem:
    name: str
    display_name: str
    summary: str
    version: str | None
    created: datetime | None
    updated: datetime | None


@dataclass(frozen=True)
class ReleaseListItem:
    package: str
    display_name: str
    version: str
    summary: str
    created: datetime | None


@dataclass(frozen=True)
class CatalogStats:
    packages: int
    releases: int
    files: int
    users: int


STAT_NAMES = ("packages", "releases", "files", "users")


@dataclass(frozen=True)
class HomePage:
    stats: CatalogStats
    newest_releases: list[ReleaseListItem]
    updated_packages: list[PackageListItem]


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    classifiers: tuple[str, ...] = ()
    license: str = ""
    order: str = ""  # "" (relevance), "name" or "-updated"
    page: int = 1


@dataclass(frozen=True)
class SearchPage:
    results: list[PackageListItem]
    total: int
    page: int
    num_pages: int  # the pages a visitor can open: at most SEARCH_MAX_PAGES

    @property
    def shown(self) -> int:
        """How many of the hits the pages reach."""
        return min(self.total, SEARCH_MAX_PAGES * SEARCH_PER_PAGE)

    @property
    def truncated(self) -> bool:
        return self.total > self.shown


@dataclass(frozen=True)
class UserProfile:
    username: str
    full_name: str
    homepage: str
    date_joined: datetime | None
    updated: datetime | None
    packages: list[PackageListItem]


@dataclass(frozen=True)
class SimpleFile:
    filename: str
    url: str
    sha256: str
    requires_python: str
    yanked: bool
    yanked_reason: str
    size: int
    upload_time: datetime | None


@dataclass(frozen=True)
class SimpleProject:
    name: str
    last_serial: int
    versions: list[str]
    files: list[SimpleFile]
