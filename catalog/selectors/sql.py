"""The read layer on the relational catalog (Django ORM).

Every function runs a fixed number of queries whatever the number of
releases, files or maintainers: lists select only the columns they show. The
statements of the cold public pages are built by the ORM once per process and
then only bound (``catalog.selectors.prepared``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    Func,
    Max,
    Model,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Coalesce

from catalog.document_fields import FILE_FIELDS
from catalog.file_entries import json_entry_show
from catalog.listings import listing_current
from catalog.models import (
    CatalogCounter,
    Classifier,
    Maintainer,
    Package,
    Release,
    ReleaseFile,
    User,
)
from catalog.selectors.common import (
    default_version,
    maintainers_sorted,
    simple_entry,
)
from catalog.selectors.prepared import PreparedQuery
from catalog.selectors.types import (
    HOME_LIST_LENGTH,
    PUBLISHED_FIELDS,
    SIMPLE_INDEX_CHUNK,
    STAT_NAMES,
    CatalogStats,
    FileRow,
    HomePage,
    LicenseInfo,
    MaintainerRow,
    NotFound,
    PackageDetail,
    PackageJson,
    PackageListItem,
    ReleaseDetail,
    ReleaseListItem,
    ReleaseRow,
    SimpleIndexStamp,
    SimpleProject,
    UserProfile,
)
from catalog.versions import parse_version


class Milliseconds(Func):
    """A timestamp cut to milliseconds, the precision MongoDB keeps.

    "Newest first" lists order on it so that both stores break ties the same
    way (by name or id) when rows differ only in microseconds.
    """

    output_field = DateTimeField()

    def as_sql(self, compiler, connection, **extra_context):
        return self.as_sqlite(compiler, connection, **extra_context)

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler, connection, template="date_trunc('milliseconds', %(expressions)s)"
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        # SQLite keeps datetimes as ISO text: the first 23 characters end at milliseconds.
        return super().as_sql(compiler, connection, template="substr(%(expressions)s, 1, 23)")


def newest_order(field: str, tie: str) -> tuple:
    """The ordering of "newest first" lists on ``field`` (milliseconds), ties broken on ``tie``."""
    # Unknown times (a release without files) sort last, as in MongoDB.
    return (Milliseconds(field).desc(nulls_last=True), tie)


_NEWEST: dict[tuple, tuple[PreparedQuery, PreparedQuery, PreparedQuery]] = {}


def _newest_rows(
    model: type[Model], field: str, tie: str, limit: int, shape: Callable[[QuerySet], QuerySet]
) -> list[tuple]:
    """The ``limit`` newest rows of ``model`` in ``newest_order``, as ``shape`` selects them.

    No index serves the millisecond expression, so ordering a whole table on it
    sorts every row. The newest ``limit`` rows all lie at or after the
    millisecond of the ``limit``-th newest timestamp, which the column's own
    index finds; only those rows are then sorted on the expression. The three
    statements are prepared once per (model, field, tie, limit, shape).
    """
    key = (model, field, tie, limit, shape)
    if key not in _NEWEST:
        order = newest_order(field, tie)
        _NEWEST[key] = (
            PreparedQuery(
                lambda: (
                    model.objects.filter(**{f"{field}__isnull": False})
                    .order_by(f"-{field}")
                    .values_list(field)[limit - 1 : limit]
                ),
                params=(),
            ),
            PreparedQuery(
                lambda floor: shape(
                    model.objects.filter(**{f"{field}__gte": floor}).order_by(*order)[:limit]
                ),
                params=("floor",),
                kinds=(datetime,),
            ),
            PreparedQuery(lambda: shape(model.objects.order_by(*order)[:limit]), params=()),
        )
    edge_query, floored, whole = _NEWEST[key]
    edge = edge_query.rows()
    if not edge:
        return whole.rows()
    moment = edge[0][0]
    return floored.rows(moment.replace(microsecond=moment.microsecond // 1000 * 1000))


LIST_COLUMNS = ("name", "display_name", "summary", "default_version", "created", "updated")


def default_version_subquery() -> Coalesce:
    """A package's default version, as a subquery on its releases."""
    # Same rule as common.default_version, in the database: the newest stable
    # release by PEP 440 sort key, else the newest. Two probes down the
    # (package, sort key) index, each stopping at its first row, where one
    # ordering on "not stable" first read and sorted every release.
    releases = Release.objects.filter(package_id=OuterRef("pk"))

    def newest(queryset: QuerySet) -> Subquery:
        return Subquery(queryset.order_by("-sort_key", "-id").values("version")[:1])

    return Coalesce(newest(releases.filter(yanked=False, is_prerelease=False)), newest(releases))


def list_values(queryset: QuerySet, *first: str) -> QuerySet:
    """``queryset``'s packages as list rows (list columns and default version only),
    after the columns ``first`` names."""
    return queryset.annotate(default_version=default_version_subquery()).values_list(
        *first, *LIST_COLUMNS
    )


def list_items_of(rows: Iterable[tuple]) -> list[PackageListItem]:
    """List items from rows of ``list_values``."""
    return [
        PackageListItem(
            name=name,
            display_name=display_name,
            summary=summary,
            version=version,
            created=created,
            updated=updated,
        )
        for name, display_name, summary, version, created, updated in rows
    ]


def list_items(queryset: QuerySet) -> list[PackageListItem]:
    """The packages of ``queryset`` as list items (list columns and default version only)."""
    return list_items_of(list_values(queryset))


def _chosen_packages(chosen: QuerySet) -> QuerySet:
    # The order is found on the bare rows (a bulk load can leave thousands
    # with one timestamp, all of which the ordering then reads), and only the
    # chosen rows get their list columns, whose default-version subquery would
    # otherwise run for every row read.
    return list_values(Package.objects.filter(pk__in=chosen.values("pk")))


def _packages_newest(field: str, limit: int) -> list[PackageListItem]:
    """The newest packages by ``field``, then name, as list items."""
    items = list_items_of(_newest_rows(Package, field, "name", limit, _chosen_packages))
    items.sort(key=lambda item: item.name)
    items.sort(key=lambda item: _ms_key(getattr(item, field)), reverse=True)
    return items


def _ms_key(moment):
    # The millisecond ordering of _newest, in Python (None last when reversed).
    if moment is None:
        return (0, None)
    return (1, moment.replace(microsecond=moment.microsecond // 1000 * 1000))


_COUNTERS = PreparedQuery(lambda: CatalogCounter.objects.values_list("name", "value"), params=())


def catalog_stats_get() -> CatalogStats:
    """The catalog's row counts, from the counters the database keeps (one small read)."""
    counts = dict(_COUNTERS.rows())
    return CatalogStats(**{name: counts.get(name, 0) for name in STAT_NAMES})


def catalog_home_get() -> HomePage:
    stats = catalog_stats_get()
    return HomePage(
        stats=stats,
        newest_releases=releases_newest_list(limit=HOME_LIST_LENGTH),
        updated_packages=_packages_newest("updated", HOME_LIST_LENGTH),
    )


# What a package page shows of the package row (read as values: no model
# instance, no audit snapshot, on a read path).
DETAIL_COLUMNS = (
    "pk",
    "name",
    "display_name",
    "summary",
    "description",
    "description_content_type",
    "description_html",
    "keywords",
    "home_page",
    "docs_url",
    "project_urls",
    "author",
    "author_email",
    "maintainer",
    "maintainer_email",
    "license_id",
    "license__name",
    "license__spdx_id",
    "last_serial",
    "created",
    "updated",
    "releases_updated",
)
# Whether the package's kept listing (catalog.services.listings) may be shown,
# and what every page that uses it takes from it.
LISTING_COLUMNS = (
    "listing__written",
    "listing__built",
    "listing__format",
    "listing__default_version",
)
PAGE_COLUMNS = (*DETAIL_COLUMNS, *LISTING_COLUMNS, "listing__name", "listing__history")
RELEASE_DETAIL_COLUMNS = (
    "pk",
    "version",
    "is_prerelease",
    "yanked",
    "yanked_reason",
    "requires_python",
    "summary",
    "comment",
    "created",
    "updated",
)


def _releases_newest_change(package: object) -> QuerySet:
    """The newest ``updated`` of the releases of ``package`` (an id or an OuterRef)."""
    return (
        Release.objects.filter(package_id=package)
        .order_by()
        .values("package_id")
        .annotate(newest=Max("updated"))
    )


_RELEASES_UPDATED = PreparedQuery(
    lambda package_id: _releases_newest_change(package_id).values_list("newest"),
    params=("package_id",),
    kinds=(int,),
)


def releases_updated(*, package_id: int) -> datetime | None:
    """The newest ``updated`` of a package's releases."""
    rows = _RELEASES_UPDATED.rows(package_id)
    return rows[0][0] if rows else None


def _releases_updated() -> Case:
    """The newest ``updated`` of a package's releases: its listing's while that is current
    (it depends on the rows only), else a subquery, which the database then runs."""
    newest = Subquery(_releases_newest_change(OuterRef("pk")).values("newest"))
    return Case(
        When(listing__built=F("listing__written"), then=F("listing__releases_updated")),
        default=newest,
    )


def _package_query(columns: tuple[str, ...]) -> PreparedQuery:
    def build(name: str) -> QuerySet:
        packages = Package.objects.filter(name=name)
        if "releases_updated" in columns:
            packages = packages.annotate(releases_updated=_releases_updated())
        return packages.values_list(*columns)[:1]

    return PreparedQuery(build, params=("name",))


_PACKAGE_QUERIES: dict[tuple[str, ...], PreparedQuery] = {}


def _package(name: str, columns: tuple[str, ...] = PAGE_COLUMNS) -> dict:
    query = _PACKAGE_QUERIES.get(columns)
    if query is None:
        query = _PACKAGE_QUERIES[columns] = _package_query(columns)
    rows = query.rows(name)
    if not rows:
        raise NotFound(f"no package named {name!r}")
    return dict(zip(columns, rows[0], strict=True))


_RELEASE_DETAIL = PreparedQuery(
    lambda package_id, version: Release.objects.filter(
        package_id=package_id, version=version
    ).values_list(*RELEASE_DETAIL_COLUMNS)[:1],
    params=("package_id", "version"),
    kinds=(int, str),
)
_RELEASE_FILES = PreparedQuery(
    lambda release_id: (
        ReleaseFile.objects.filter(release_id=release_id)
        .order_by("filename")
        .values_list(*FILE_FIELDS)
    ),
    params=("release_id",),
    kinds=(int,),
)


def _release_detail(package: dict, version: str) -> ReleaseDetail:
    rows = _RELEASE_DETAIL.rows(package["pk"], version)
    if not rows:
        raise NotFound(f"package {package['name']!r} has no version {version!r}")
    release = dict(zip(RELEASE_DETAIL_COLUMNS, rows[0], strict=True))
    return ReleaseDetail(
        version=release["version"],
        is_prerelease=release["is_prerelease"],
        yanked=release["yanked"],
        yanked_reason=release["yanked_reason"],
        requires_python=release["requires_python"],
        summary=release["summary"],
        comment=release["comment"],
        created=release["created"],
        updated=release["updated"],
        files=[FileRow(*row) for row in _RELEASE_FILES.rows(release["pk"])],
    )


def package_detail_get(*, name: str, version: str | None = None) -> PackageDetail:
    return _package_detail(_package(name), version)


_CLASSIFIERS = PreparedQuery(
    lambda package_id: Classifier.objects.filter(packages=package_id).values_list("name"),
    params=("package_id",),
    kinds=(int,),
)
_MAINTAINERS = PreparedQuery(
    lambda package_id: Maintainer.objects.filter(package_id=package_id).values_list(
        "user__username", "role"
    ),
    params=("package_id",),
    kinds=(int,),
)
# The release history, newest first: only what the history and the default version
# need (the newest ``updated`` of the releases comes with the package row).
_HISTORY = PreparedQuery(
    lambda package_id: (
        Release.objects.filter(package_id=package_id)
        .order_by("-sort_key", "-id")
        .values_list(
            "version", "is_prerelease", "yanked", "yanked_reason", "created", "requires_python"
        )
    ),
    params=("package_id",),
    kinds=(int,),
)


def release_history(*, package_id: int) -> list[ReleaseRow]:
    """A package's releases, newest first, with what its history shows of each."""
    return [
        ReleaseRow(version, pre, yanked, reason, created, requires_python=requires_python)
        for version, pre, yanked, reason, created, requires_python in _HISTORY.rows(package_id)
    ]


def _listing_shown(package: dict) -> bool:
    """Whether the package row came with a listing that may be shown (``LISTING_COLUMNS``)."""
    return listing_current(
        package["listing__written"], package["listing__built"], package["listing__format"]
    )


def _package_detail(package: dict, version: str | None) -> PackageDetail:
    package_id = package["pk"]
    classifiers = sorted(name for (name,) in _CLASSIFIERS.rows(package_id))
    maintainers = maintainers_sorted(MaintainerRow(*row) for row in _MAINTAINERS.rows(package_id))
    history = None
    if _listing_shown(package):
        releases: list[ReleaseRow] = []
        default = package["listing__default_version"]
        if "listing__history" in package:  # a package page: it shows the history
            if package["listing__name"] == package["name"]:
                history = package["listing__history"]
            else:  # its links were made for the package's former name
                releases = release_history(package_id=package_id)
    else:
        releases = release_history(package_id=package_id)
        default = default_version(releases)
    shown = version or default
    return PackageDetail(
        name=package["name"],
        display_name=package["display_name"],
        summary=package["summary"] or "",
        description=package["description"] or "",
        description_content_type=package["description_content_type"] or "",
        description_html=package["description_html"],
        keywords=package["keywords"] or "",
        home_page=package["home_page"] or "",
        docs_url=package["docs_url"] or "",
        project_urls=dict(package["project_urls"] or {}),
        author=package["author"] or "",
        author_email=package["author_email"] or "",
        maintainer=package["maintainer"] or "",
        maintainer_email=package["maintainer_email"] or "",
        license=LicenseInfo(package["license__name"], package["license__spdx_id"])
        if package["license_id"]
        else None,
        classifiers=classifiers,
        maintainers=maintainers,
        last_serial=package["last_serial"],
        created=package["created"],
        updated=package["updated"],
        releases=releases,
        default_version=default,
        release=_release_detail(package, shown) if shown else None,
        releases_updated=package["releases_updated"],
        history_html=history,
    )


_JSON_FILES = PreparedQuery(
    lambda package_id: (
        ReleaseFile.objects.filter(release__package_id=package_id)
        .order_by("filename")
        .values_list("release__version", "json_entry", "yanked")
    ),
    params=("package_id",),
    kinds=(int,),
)


def json_release_files(*, package_id: int, releases: Iterable[ReleaseRow]) -> dict[str, list[str]]:
    """Every release's files as served in the JSON API (stored entries, yanked with their
    release), by version; ``releases`` are the package's."""
    yanked = {r.version: r for r in releases if r.yanked}
    files: dict[str, list[str]] = defaultdict(list)
    for release_version, entry, file_yanked in _JSON_FILES.rows(package_id):
        if release_version in yanked:
            release = yanked[release_version]
            entry = json_entry_show(
                entry,
                file_yanked=file_yanked,
                release_yanked=True,
                release_reason=release.yanked_reason,
            )
        files[release_version].append(entry)
    return files


_JSON_COLUMNS = tuple(dict.fromkeys((*DETAIL_COLUMNS, *PUBLISHED_FIELDS, *LISTING_COLUMNS)))


def package_json_get(*, name: str, version: str | None = None) -> PackageJson:
    columns = (
        _JSON_COLUMNS
        if version
        else (*_JSON_COLUMNS, "listing__json_releases", "listing__json_releases_sha256")
    )
    package = _package(name, columns)
    detail = _package_detail(package, version)
    published = {f: package[f] for f in PUBLISHED_FIELDS}
    if version is not None:
        # Every release's files are listed on the project JSON only; one
        # version's JSON shows that release's files (ReleaseDetail.files).
        return PackageJson(package=detail, files={}, published=published)
    if _listing_shown(package):
        return PackageJson(
            package=detail,
            files={},
            published=published,
            releases_text=package["listing__json_releases"],
            releases_sha256=package["listing__json_releases_sha256"],
        )
    files = json_release_files(package_id=package["pk"], releases=detail.releases)
    return PackageJson(
        package=detail,
        files={r.version: files[r.version] for r in detail.releases},
        published=published,
    )


def release_version_equivalent(*, name: str, version: str) -> str | None:
    """The stored spelling of a PEP 440 version equal to ``version`` (``2.0`` for ``2.0.0``)."""
    parsed = parse_version(version)
    if parsed.is_legacy:
        return None
    return (
        Release.objects.filter(package__name=name, sort_key=parsed.sort_key)
        .order_by("id")
        .values_list("version", flat=True)
        .first()
    )


def user_profile_get(*, username: str) -> UserProfile:
    columns = ("pk", "username", "first_name", "last_name", "homepage", "date_joined", "updated")
    rows = list(User.objects.filter(username=username).values(*columns)[:1])
    if not rows:
        raise NotFound(f"no user named {username!r}")
    user = rows[0]
    return UserProfile(
        username=user["username"],
        # What User.get_full_name() gives.
        full_name=f"{user['first_name']} {user['last_name']}".strip(),
        homepage=user["homepage"],
        date_joined=user["date_joined"],
        updated=user["updated"],
        packages=list_items(Package.objects.filter(roles__user_id=user["pk"]).order_by("name")),
    )


def simple_index_names() -> Iterator[str]:
    """Every project name in order, read in chunks (a server-side cursor on PostgreSQL)."""
    return (
        Package.objects.order_by("name")
        .values_list("name", flat=True)
        .iterator(chunk_size=SIMPLE_INDEX_CHUNK)
    )


def simple_index_stamp() -> SimpleIndexStamp:
    """What changes whenever the list of names does: the count and the newest change."""
    newest = Package.objects.order_by("-updated").values_list("updated", flat=True).first()
    return SimpleIndexStamp(count=catalog_stats_get().packages, newest=newest)


_SIMPLE_VERSIONS = PreparedQuery(
    lambda package_id: (
        Release.objects.filter(package_id=package_id)
        .order_by("sort_key", "id")
        .values_list("version")
    ),
    params=("package_id",),
    kinds=(int,),
)


# What a release lends its files on the Simple page (catalog.file_entries).
_FILE_LENDS = (
    "requires_python",
    "yanked",
    "yanked_reason",
    "release__requires_python",
    "release__yanked",
    "release__yanked_reason",
)


def _files_query(*entries: str) -> PreparedQuery:
    """A package's files by filename: the columns ``entries``, then ``_FILE_LENDS``."""
    return PreparedQuery(
        lambda package_id: (
            ReleaseFile.objects.filter(release__package_id=package_id)
            .order_by("filename")
            .values_list(*entries, *_FILE_LENDS)
        ),
        params=("package_id",),
        kinds=(int,),
    )


_SIMPLE_FILES = {"html": _files_query("simple_html"), "json": _files_query("simple_json")}
_LISTING_FILES = _files_query("release__version", "json_entry", "simple_html", "simple_json")


def listing_files(*, package_id: int) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """Every file of a package as its pages serve it, from one read: the JSON API entries by
    version, and the Simple HTML and PEP 691 entries by filename."""
    json_files: dict[str, list[str]] = defaultdict(list)
    html: list[str] = []
    objects: list[str] = []
    for (
        version,
        json_entry,
        html_entry,
        json_object,
        rp,
        yanked,
        reason,
        *release,
    ) in _LISTING_FILES.rows(package_id):
        json_files[version].append(
            json_entry_show(
                json_entry,
                file_yanked=yanked,
                release_yanked=release[1],
                release_reason=release[2],
            )
        )
        values = {"requires_python": rp, "yanked": yanked, "yanked_reason": reason}
        html.append(simple_entry(html_entry, values, release, form="html"))
        objects.append(simple_entry(json_object, values, release, form="json"))
    return json_files, html, objects


def simple_versions(*, package_id: int) -> list[str]:
    """A package's versions, oldest first (PEP 700)."""
    return [version for (version,) in _SIMPLE_VERSIONS.rows(package_id)]


def simple_files(*, package_id: int, form: str) -> list[str]:
    """Every file's Simple entry as served, by filename (``form``: "html" or "json")."""
    return [
        simple_entry(
            entry,
            {"requires_python": rp, "yanked": yanked, "yanked_reason": reason},
            release,
            form=form,
        )
        for entry, rp, yanked, reason, *release in _SIMPLE_FILES[form].rows(package_id)
    ]


_SIMPLE_COLUMNS = {
    form: (
        "pk",
        "last_serial",
        *LISTING_COLUMNS,
        f"listing__simple_{form}",
        "listing__simple_versions",
    )
    for form in ("html", "json")
}


def simple_project_get(*, name: str, form: str = "html") -> SimpleProject:
    package = _package(name, _SIMPLE_COLUMNS[form])
    package_id, serial = package["pk"], package["last_serial"]
    if _listing_shown(package):
        # One text of every entry, joined as the page joins them.
        versions = json.loads(package["listing__simple_versions"])
        files = [package[f"listing__simple_{form}"]]
    else:
        versions = simple_versions(package_id=package_id)
        files = simple_files(package_id=package_id, form=form)
    return SimpleProject(name=name, last_serial=serial, versions=versions, files=files)


def _release_list_values(queryset: QuerySet) -> QuerySet:
    return queryset.values_list(
        "package__name", "package__display_name", "version", "package__summary", "created"
    )


def releases_newest_list(*, limit: int) -> list[ReleaseListItem]:
    rows = _newest_rows(Release, "created", "-id", limit, _release_list_values)
    return [ReleaseListItem(*row) for row in rows]


def packages_newest_list(*, limit: int) -> list[PackageListItem]:
    return _packages_newest("created", limit)


def package_releases_list(
    *, name: str, limit: int
) -> tuple[PackageListItem, list[ReleaseListItem]]:
    package = _package(name, ("pk", *LIST_COLUMNS[:3], "created", "updated"))
    item = PackageListItem(
        name=package["name"],
        display_name=package["display_name"],
        summary=package["summary"],
        version=None,
        created=package["created"],
        updated=package["updated"],
    )
    rows = (
        Release.objects.filter(package_id=package["pk"])
        .order_by(*newest_order("created", "-id"))
        .values_list("version", "created")[:limit]
    )
    return item, [
        ReleaseListItem(
            package["name"], package["display_name"], version, package["summary"], created
        )
        for version, created in rows
    ]


# Stamp statements are built by the ORM once per process and then only bound to
# a name: compiling these nested subqueries costs more than running them.
_STAMP_NAME = "\x00package-stamp-name\x00"
_STAMP_SQL: dict[str, tuple[str, tuple]] = {}


def _stamp_querysets(name: str) -> dict[str, object]:
    def per_package(queryset, value):
        return Subquery(
            queryset.filter(package_id=OuterRef("pk"))
            .order_by()
            .values("package_id")
            .annotate(v=value)
            .values("v")
        )

    def per_release(value):
        # Probed per release through the foreign-key index: the cost follows
        # the package's size, not the catalog's.
        return Subquery(
            ReleaseFile.objects.filter(release_id=OuterRef("pk"))
            .order_by()
            .values("release_id")
            .annotate(v=value)
            .values("v")
        )

    return {
        "package": Package.objects.filter(name=name)
        .annotate(
            m_new=per_package(Maintainer.objects, Max("updated")),
            m_count=per_package(Maintainer.objects, Count("pk")),
            c_count=per_package(Package.classifiers.through.objects, Count("pk")),
        )
        .values_list("updated", "license__updated", "m_new", "m_count", "c_count"),
        "releases": Release.objects.filter(package__name=name)
        .annotate(file_new=per_release(Max("updated")), file_count=per_release(Count("pk")))
        .order_by()
        .values("package_id")
        .annotate(
            r_new=Max("updated"),
            r_count=Count("pk"),
            f_new=Max("file_new"),
            f_count=Sum("file_count"),
        )
        .values_list("r_new", "r_count", "f_new", "f_count"),
    }


def package_stamp(*, name: str) -> str | None:
    """What a package's pages depend on, in one query: any change to it changes the stamp.

    Counts catch deletions; the newest ``updated`` of the package, its
    license, maintainers, releases and files catches edits. None when there is
    no such package.
    """
    if not _STAMP_SQL:
        compiled = [q.query.sql_with_params() for q in _stamp_querysets(_STAMP_NAME).values()]
        # One round trip: the two statements side by side in one row.
        (first, first_params), (second, second_params) = compiled
        _STAMP_SQL["both"] = (
            # Both parts are ORM-compiled with placeholders; values stay parameters.
            f"SELECT * FROM ({first}) AS p LEFT JOIN ({second}) AS r ON 1 = 1",  # noqa: S608
            first_params + second_params,
        )
    sql, params = _STAMP_SQL["both"]
    with connection.cursor() as cursor:
        cursor.execute(sql, tuple(name if p == _STAMP_NAME else p for p in params))
        row = cursor.fetchone()
    return None if row is None else repr(row)
