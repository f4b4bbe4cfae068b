"""What the read layer returns: plain dataclasses, the same for both stores.

The templates, feeds and APIs only ever see these, so a page rendered from SQL
and one rendered from MongoDB come from identical inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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


# Row types (maintainers, files, history and list rows) are built by the
# thousand on a large package's pages: slots make each about twice as quick to build.
@dataclass(frozen=True, slots=True)
class MaintainerRow:
    username: str
    role: str


@dataclass(frozen=True, slots=True)
class FileRow:
    filename: str
    url: str
    size: int
    packagetype: str
    python_version: str
    requires_python: str | None
    sha256: str
    md5: str
    upload_time: datetime | None
    blake2b_256: str = ""
    upload_time_iso_8601: str | None = None
    has_sig: bool = False
    comment_text: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ReleaseRow:
    """One line of a release history: only what the history shows."""

    version: str
    is_prerelease: bool
    yanked: bool
    yanked_reason: str | None
    created: datetime | None
    updated: datetime | None = None
    requires_python: str | None = ""


@dataclass(frozen=True)
class ReleaseDetail:
    version: str
    is_prerelease: bool
    yanked: bool
    yanked_reason: str | None
    requires_python: str | None
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
    # Sanitized HTML rendered when the package was written (catalog.rendering).
    description_html: str
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
    # The newest change among the releases, when the store reads it as one
    # value rather than in each ReleaseRow (the SQL history skips the column).
    releases_updated: datetime | None = None
    # The history's rows, none marked as shown, from the package's kept listing
    # (catalog.services.listings); None: render them from ``releases``, then empty.
    history_html: str | None = None

    @property
    def last_modified(self) -> datetime | None:
        stamps = [self.updated, self.releases_updated, *(r.updated for r in self.releases)]
        stamps = [s for s in stamps if s]
        return max(stamps) if stamps else None


@dataclass(frozen=True)
class PackageJson:
    """Everything PyPI's JSON API shows: the package and every release with its files."""

    package: PackageDetail
    # Every release's files as JSON API objects (JSON text, catalog.file_entries),
    # for the project JSON; empty for one version's JSON (its files are
    # package.release.files).
    files: dict[str, list[str]]
    # The package's PyPI `info` fields as published (None where PyPI had null),
    # keyed by model field name (PUBLISHED_FIELDS).
    published: dict[str, Any] = field(default_factory=dict)
    # The "releases" object between its braces, from the package's kept listing;
    # None: join it from ``files`` (catalog.selectors.common.json_releases_join).
    releases_text: str | None = None
    # The SHA-256 of ``releases_text`` (UTF-8), kept with it.
    releases_sha256: str | None = None


# Package fields served back as published by the JSON API.
PUBLISHED_FIELDS = (
    "summary",
    "description",
    "description_content_type",
    "keywords",
    "home_page",
    "docs_url",
    "download_url",
    "bugtrack_url",
    "project_urls",
    "author",
    "author_email",
    "maintainer",
    "maintainer_email",
    "platform",
    "license_text",
    "license_expression",
    "license_files",
    "requires_dist",
    "provides_extra",
    "dynamic",
    "classifier_order",
    "vulnerabilities",
)


@dataclass(frozen=True, slots=True)
class PackageListItem:
    name: str
    display_name: str
    summary: str
    version: str | None
    created: datetime | None
    updated: datetime | None


@dataclass(frozen=True, slots=True)
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


# The Simple index streams its names in chunks of this many.
SIMPLE_INDEX_CHUNK = 5000


@dataclass(frozen=True)
class SimpleIndexStamp:
    """Changes whenever the Simple index does: a new, removed or renamed project."""

    count: int
    newest: datetime | None

    @property
    def etag(self) -> str:
        newest = self.newest.isoformat(timespec="milliseconds") if self.newest else "-"
        return f"{self.count}:{newest}"


@dataclass(frozen=True)
class SimpleProject:
    name: str
    last_serial: int
    versions: list[str]
    # Each file's entry as served (catalog.file_entries), by filename: an HTML
    # line ending in <br> for ``form="html"``, a PEP 691 JSON object for "json".
    files: list[str]
