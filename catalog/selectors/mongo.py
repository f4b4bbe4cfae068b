"""The read layer on the MongoDB mirror (documents shaped by catalog/mapping.py).

Plain pymongo calls on the collections MongoEngine manages: projections keep
lists small, and every function runs a fixed number of operations. User input
only ever appears as a value or inside ``re.escape``; never as an operator.
Search reads the ``terms`` computed at write time (``catalog/search.py``), not
the text fields.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from catalog import package_files, search
from catalog.document_fields import FILE_FIELDS, PACKAGE_FIELDS, RELEASE_FIELDS, USER_FIELDS
from catalog.documents import (
    COUNTER_NAMES,
    COUNTERS_COLLECTION,
    COUNTERS_ID,
    NEWEST_ID,
    PackageDocument,
    ReleaseDocument,
    UserDocument,
    release_document_id,
)
from catalog.file_entries import entry_values, file_entries
from catalog.newest import NEWEST_LISTS, newest_docs
from catalog.selectors.common import (
    default_version,
    license_terms,
    maintainers_sorted,
    search_page_check,
    search_window,
)
from catalog.selectors.types import (
    HOME_LIST_LENGTH,
    PUBLISHED_FIELDS,
    SIMPLE_INDEX_CHUNK,
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
    SearchPage,
    SearchQuery,
    SimpleIndexStamp,
    SimpleProject,
    UserProfile,
)
from catalog.versions import parse_version

LIST_PROJECTION = {"display_name": 1, "summary": 1, "latest.version": 1, "created": 1, "updated": 1}
NEWEST_FIRST = [("sort_key", -1), ("sql_id", -1)]
RECENT_FIRST = [("updated", -1), ("_id", 1)]


def _packages():
    return PackageDocument._get_collection()


def _releases():
    return ReleaseDocument._get_collection()


def _users():
    return UserDocument._get_collection()


def _list_item(doc: dict[str, Any]) -> PackageListItem:
    latest = doc.get("latest") or {}
    return PackageListItem(
        name=doc["_id"],
        display_name=doc.get("display_name") or doc["_id"],
        summary=doc.get("summary") or "",
        version=latest.get("version"),
        created=doc.get("created"),
        updated=doc.get("updated"),
    )


# What a read type shows of a value a document leaves out (or holds as null).
_BLANK: dict[str, Any] = {"str": "", "int": 0}


def _shown(kind: str, value: Any) -> Any:
    if kind == "bool":
        return bool(value)
    if kind.startswith("dict"):
        return dict(value or {})
    return (value or _BLANK[kind]) if kind in _BLANK else value


def _document_fields(
    read_type: type, declared: Iterable[str], doc: dict[str, Any]
) -> dict[str, Any]:
    """The values of ``doc`` for the fields of ``read_type`` among ``declared``.

    ``declared`` is a list of ``catalog.document_fields``; a missing or null
    value shows as the read type's blank (``""``, ``0``, ``False``, ``{}``)
    unless the type allows None.
    """
    kinds = {f.name: f.type for f in dataclasses.fields(read_type)}
    return {name: _shown(kinds[name], doc.get(name)) for name in declared if name in kinds}


def _fields_of(read_type: type, declared: Iterable[str]) -> tuple[str, ...]:
    names = {f.name for f in dataclasses.fields(read_type)}
    return tuple(name for name in declared if name in names)


HISTORY_PROJECTION = {"_id": 0, **dict.fromkeys(_fields_of(ReleaseRow, RELEASE_FIELDS), 1)}


def _file_row(doc: dict[str, Any]) -> FileRow:
    return FileRow(**{**_document_fields(FileRow, FILE_FIELDS, doc), "filename": doc["filename"]})


def _release_row(doc: dict[str, Any]) -> ReleaseRow:
    """A history line (document_fields.HISTORY_FIELDS, ReleaseRow's order), field by field:
    a 1,000-release page makes 1,000 of these."""
    return ReleaseRow(
        doc["version"],
        bool(doc.get("is_prerelease")),
        bool(doc.get("yanked")),
        doc.get("yanked_reason"),
        doc.get("created"),
        doc.get("updated"),
        doc.get("requires_python"),
    )


RELEASE_ITEM_PROJECTION = {"package": 1, "version": 1, "created": 1}


def _release_items(
    docs: list[dict[str, Any]], packages: dict[str, dict[str, Any]] | None = None
) -> list[ReleaseListItem]:
    """Newest-release lines, with their packages' names and summaries (one lookup unless given)."""
    if packages is None:
        names = sorted({d["package"] for d in docs})
        packages = {
            p["_id"]: p
            for p in _packages().find({"_id": {"$in": names}}, {"display_name": 1, "summary": 1})
        }
    items = []
    for doc in docs:
        package = packages.get(doc["package"], {})
        items.append(
            ReleaseListItem(
                package=doc["package"],
                display_name=package.get("display_name") or doc["package"],
                version=doc["version"],
                summary=package.get("summary") or "",
                created=doc.get("created"),
            )
        )
    return items


def _summary_docs() -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The counters and the newest lists the writers keep (one read)."""
    found = {
        d["_id"]: d
        for d in _packages()
        .database[COUNTERS_COLLECTION]
        .find({"_id": {"$in": [COUNTERS_ID, NEWEST_ID]}})
    }
    return found.get(COUNTERS_ID), found.get(NEWEST_ID)


def _by_ids(collection, ids: list[Any], projection: dict[str, Any]) -> list[dict[str, Any]]:
    """The documents of ``ids`` in that order (one read by ``_id``); a deleted one is left out."""
    found = {d["_id"]: d for d in collection.find({"_id": {"$in": ids}}, projection)} if ids else {}
    return [found[i] for i in ids if i in found]


def _newest_ids(kept: dict[str, Any] | None, name: str, limit: int) -> list[Any]:
    """The first ``limit`` ``_id`` s of a newest list (catalog.newest) as the writers kept it.

    Before any writer kept the lists (a store written by an older version):
    chosen from the collection, as a writer would.
    """
    collection, field, sort, length = NEWEST_LISTS[name]
    if kept is not None and name in kept and limit <= length:
        return kept[name]["ids"][:limit]
    docs = newest_docs(_packages().database[collection], field, sort, {field: 1}, limit)
    return [d["_id"] for d in docs]


def catalog_stats_get() -> CatalogStats:
    return _stats(_summary_docs()[0])


def _stats(doc: dict[str, Any] | None) -> CatalogStats:
    """The counts the migration or live sync copied from the relational counters.

    Before any migration has written them: collection metadata for the
    documents and a sum over the releases for the files (a scan).
    """
    if doc is not None:
        return CatalogStats(**{name: doc.get(name) or 0 for name in COUNTER_NAMES})
    file_totals = list(
        _releases().aggregate(
            [{"$group": {"_id": None, "files": {"$sum": {"$size": {"$ifNull": ["$files", []]}}}}}]
        )
    )
    return CatalogStats(
        packages=_packages().estimated_document_count(),
        releases=_releases().estimated_document_count(),
        files=file_totals[0]["files"] if file_totals else 0,
        users=_users().estimated_document_count(),
    )


def catalog_home_get() -> HomePage:
    """Three reads: the counters and lists, the listed releases, the packages they show."""
    counters, kept = _summary_docs()
    releases = _by_ids(
        _releases(),
        _newest_ids(kept, "releases_created", HOME_LIST_LENGTH),
        RELEASE_ITEM_PROJECTION,
    )
    updated = _newest_ids(kept, "packages_updated", HOME_LIST_LENGTH)
    names = sorted({d["package"] for d in releases} | set(updated))
    packages = {d["_id"]: d for d in _packages().find({"_id": {"$in": names}}, LIST_PROJECTION)}
    return HomePage(
        stats=_stats(counters),
        newest_releases=_release_items(releases, packages),
        updated_packages=[_list_item(packages[name]) for name in updated if name in packages],
    )


def _filter_conditions(query: SearchQuery) -> list[dict[str, Any]]:
    """The search's classifier and license filters."""
    conditions: list[dict[str, Any]] = []
    for classifier in query.classifiers:
        # A filter matches the classifier itself and everything below it.
        conditions.append(
            {
                "$or": [
                    {"classifiers": classifier},
                    {"classifiers": {"$regex": "^" + re.escape(classifier + " :: ")}},
                ]
            }
        )
    if query.license:
        matches: list[dict[str, Any]] = []
        for term in license_terms(query.license):
            exact = {"$regex": "^" + re.escape(term) + "$", "$options": "i"}
            below = {"$regex": "^License :: (.* :: )?" + re.escape(term) + "$", "$options": "i"}
            matches += [
                {"license.name": exact},
                {"license.spdx_id": exact},
                # One identifier of an SPDX expression ("MIT" in "MIT OR Apache-2.0").
                {
                    "license_expression": {
                        "$regex": "(^|[ ()])" + re.escape(term) + "($|[ ()])",
                        "$options": "i",
                    }
                },
                {"classifiers": exact},
                {"classifiers": below},
            ]
        conditions.append({"$or": matches})
    return conditions


def _page(match: dict[str, Any], sort: list[tuple[str, int]], skip: int, limit: int) -> list:
    return list(_packages().find(match, LIST_PROJECTION).sort(sort).skip(skip).limit(limit))


def package_search(*, query: SearchQuery) -> SearchPage:
    search_page_check(query.page)
    conditions = _filter_conditions(query)
    terms = search.term_query(query.text) if query.text else None
    if terms is not None:
        return _ranked_search(query, terms, conditions)
    match: dict[str, Any] = {"$and": conditions} if conditions else {}
    total = _packages().count_documents(match)
    offset, limit, num_pages = search_window(total=total, page=query.page)
    sort = RECENT_FIRST if query.order == "-updated" else [("_id", 1)]
    docs = _page(match, sort, offset, limit) if total else []
    return SearchPage(
        results=[_list_item(d) for d in docs], total=total, page=query.page, num_pages=num_pages
    )


def _typo_names(terms: search.TermQuery) -> list[str]:
    if not terms.typo_keys:
        return []
    candidates = (
        _packages()
        .find({"terms": {"$in": list(terms.typo_keys)}}, {"_id": 1})
        .sort("_id", 1)
        .limit(search.TYPO_CANDIDATES_MAX)
    )
    return terms.typo_names([d["_id"] for d in candidates])


def _candidates(terms: search.TermQuery) -> list[dict[str, Any]]:
    """Every package that can rank by its terms, with ``sql_id`` and ``terms``: one index read.

    A hit of rank 0, 1 or 3 holds the exact name, the name prefix, or the
    first word as a name or summary word (ranks 1 and 3 need every word), so
    looking up these few terms on the multikey index finds them all. The
    filter is one plain field, which every server answers from the index
    (an ``$and``/``$or``/``$nor`` at the top, as one count per rank needed,
    made the local server read every package document).
    """
    wanted = [terms.exact, *([terms.prefix] if terms.prefix else [])]
    if terms.stems:
        wanted += [search.NAME_WORD + terms.stems[0], search.TEXT_WORD + terms.stems[0]]
    return list(_packages().find({"terms": {"$in": wanted}}, {"sql_id": 1, "terms": 1}))


def _rank(name: str, held: set[str], terms: search.TermQuery, typos: set[str]) -> int | None:
    """The rank of package ``name`` holding the search terms ``held`` (catalog/search.py)."""
    if terms.exact in held:
        return search.RANK_EXACT
    if (terms.prefix and terms.prefix in held) or (
        terms.stems and all(t in held for t in terms.name_word_terms)
    ):
        return search.RANK_NAME
    if name in typos:
        return search.RANK_TYPO
    if terms.stems and all(
        search.NAME_WORD + s in held or search.TEXT_WORD + s in held for s in terms.stems
    ):
        return search.RANK_TEXT
    return None


def _newest_package_first(hit: dict[str, Any]) -> tuple:
    """Within a rank, the package added last first: sql_id descending, as MongoDB sorts
    ``[("sql_id", -1), ("_id", 1)]`` (documents without one last), then ``_id``."""
    sql_id = hit.get("sql_id")
    return (sql_id is None, -(sql_id or 0), hit["_id"])


def _ranked_hits(terms: search.TermQuery, conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every hit (``_id``, ``sql_id``), best rank first, the newest package first within one.

    A fixed number of reads, each answered from an index: the typo names,
    the candidates by term, the typo hits by ``_id``, and with filters the
    filters applied to the hits by ``_id``. A package shows once, at its
    best rank.
    """
    typos = set(_typo_names(terms))
    found: dict[str, dict[str, Any]] = {}
    for doc in _candidates(terms):
        rank = _rank(doc["_id"], set(doc.get("terms") or ()), terms, typos)
        if rank is not None:
            found[doc["_id"]] = {"_id": doc["_id"], "sql_id": doc.get("sql_id"), "rank": rank}
    missing = sorted(typos - set(found))
    if missing:
        for doc in _packages().find({"_id": {"$in": missing}}, {"sql_id": 1}):
            found[doc["_id"]] = {**doc, "rank": search.RANK_TYPO}
    if conditions and found:
        kept = _packages().find({"$and": [{"_id": {"$in": list(found)}}, *conditions]}, {"_id": 1})
        found = {d["_id"]: found[d["_id"]] for d in kept}
    return sorted(found.values(), key=lambda hit: (hit["rank"], *_newest_package_first(hit)))


def _ranked_search(
    query: SearchQuery, terms: search.TermQuery, conditions: list[dict[str, Any]]
) -> SearchPage:
    """A text search on the documents' ``terms`` (multikey index), ranked here."""
    hits = [hit["_id"] for hit in _ranked_hits(terms, conditions)]
    total = len(hits)
    offset, limit, num_pages = search_window(total=total, page=query.page)
    if query.order in ("name", "-updated"):
        sort = [("_id", 1)] if query.order == "name" else RECENT_FIRST
        docs = _page({"_id": {"$in": hits}}, sort, offset, limit) if total else []
    else:
        shown = hits[offset : offset + limit]
        by_id = {d["_id"]: d for d in _packages().find({"_id": {"$in": shown}}, LIST_PROJECTION)}
        docs = [by_id[name] for name in shown if name in by_id]
    return SearchPage(
        results=[_list_item(d) for d in docs], total=total, page=query.page, num_pages=num_pages
    )


def _package(name: str, projection: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = _packages().find_one({"_id": name}, projection)
    if doc is None:
        raise NotFound(f"no package named {name!r}")
    return doc


def _release_detail(name: str, version: str) -> ReleaseDetail:
    doc = _releases().find_one({"_id": release_document_id(name, version)})
    if doc is None:
        raise NotFound(f"package {name!r} has no version {version!r}")
    return ReleaseDetail(
        **{**_document_fields(ReleaseDetail, RELEASE_FIELDS, doc), "version": doc["version"]},
        files=sorted((_file_row(f) for f in doc.get("files") or []), key=lambda f: f.filename),
    )


def package_detail_get(*, name: str, version: str | None = None) -> PackageDetail:
    return _package_detail(_package(name), version)


def _package_detail(doc: dict[str, Any], version: str | None) -> PackageDetail:
    name = doc["_id"]
    # Kept in the package document by every writer (catalog.mapping, the
    # offline package_stats job, merges); read from the releases only for a
    # document written before it was.
    history = doc.get("history")
    if history is None:
        history = _releases().find({"package": name}, HISTORY_PROJECTION).sort(NEWEST_FIRST)
    releases = [_release_row(r) for r in history]
    default = default_version(releases)
    shown = version or default
    license_doc = doc.get("license")
    return PackageDetail(
        **{
            **_document_fields(PackageDetail, PACKAGE_FIELDS, doc),
            "display_name": doc.get("display_name") or doc["_id"],
        },
        name=doc["_id"],
        license=LicenseInfo(license_doc["name"], license_doc.get("spdx_id") or "")
        if license_doc
        else None,
        classifiers=sorted(doc.get("classifiers") or []),
        maintainers=maintainers_sorted(
            MaintainerRow(m["username"], m["role"]) for m in doc.get("maintainers") or []
        ),
        releases=releases,
        default_version=default,
        release=_release_detail(name, shown) if shown else None,
    )


def package_json_get(*, name: str, version: str | None = None) -> PackageJson:
    doc = _package(name)
    detail = _package_detail(doc, version)
    # A missing field is what the relational default would be (documents
    # written before the field existed).
    published = {
        f: doc.get(f, [] if f in ("classifier_order", "vulnerabilities") else None)
        for f in PUBLISHED_FIELDS
    }
    # Every release's files are listed on the project JSON only; one version's
    # JSON shows that release's files (ReleaseDetail.files).
    files: dict[str, list[str]] = {}
    if version is None:
        kept = package_files.package_texts_read(_packages().database, name, ("json",))
        if kept is not None:
            return PackageJson(
                package=detail,
                files={},
                published=published,
                releases_text=kept["json"],
                releases_sha256=kept["sha256"],
            )
        files = package_files.json_entries(_releases_with_files(name, "json_entry"))
    return PackageJson(
        package=detail,
        files={r.version: files.get(r.version, []) for r in detail.releases},
        published=published,
    )


def release_version_equivalent(*, name: str, version: str) -> str | None:
    """The stored spelling of a PEP 440 version equal to ``version`` (``2.0`` for ``2.0.0``)."""
    parsed = parse_version(version)
    if parsed.is_legacy:
        return None
    doc = _releases().find_one(
        {"package": name, "sort_key": parsed.sort_key}, {"version": 1}, sort=[("sql_id", 1)]
    )
    return doc["version"] if doc else None


def user_profile_get(*, username: str) -> UserProfile:
    doc = _users().find_one({"_id": username})
    if doc is None:
        raise NotFound(f"no user named {username!r}")
    full_name = f"{doc.get('first_name') or ''} {doc.get('last_name') or ''}".strip()
    packages = _packages().find({"maintainers.username": username}, LIST_PROJECTION).sort("_id", 1)
    return UserProfile(
        **_document_fields(UserProfile, USER_FIELDS, doc),
        username=doc["_id"],
        full_name=full_name,
        packages=[_list_item(p) for p in packages],
    )


def simple_index_names() -> Iterator[str]:
    """Every project name in order, read in batches off the ``_id`` index."""
    cursor = _packages().find({}, {"_id": 1}).sort("_id", 1).batch_size(SIMPLE_INDEX_CHUNK)
    return (doc["_id"] for doc in cursor)


def simple_index_stamp() -> SimpleIndexStamp:
    """What changes whenever the list of names does: the count and the newest change.

    The most recently updated package is the first of the writers' list
    (catalog.newest): two reads by ``_id``.
    """
    counters, kept = _summary_docs()
    newest = _by_ids(_packages(), _newest_ids(kept, "packages_updated", 1), {"updated": 1})
    return SimpleIndexStamp(
        count=_stats(counters).packages, newest=newest[0].get("updated") if newest else None
    )


def simple_project_get(*, name: str, form: str = "html") -> SimpleProject:
    doc = _package(name, {"last_serial": 1})
    # The files' entry field ("html" or "json"), which is also the kept text's kind.
    field = f"simple_{form}"
    kept = package_files.package_texts_read(_packages().database, name, (field, "versions"))
    if kept is not None:
        # One text of every entry, joined as the page joins them.
        versions, files = json.loads(kept["versions"]), [kept[field]]
    else:
        versions, files = package_files.simple_entries(_releases_with_files(name, field), form)
    return SimpleProject(
        name=name, last_serial=doc.get("last_serial") or 0, versions=versions, files=files
    )


def _releases_with_files(name: str, field: str) -> list[dict[str, Any]]:
    """Every release of a package, newest first, with its files (by filename) and their
    ``field`` entry: the writers' parts (catalog.package_files, one read), or the
    release documents for a package no writer has made parts for yet."""
    parts = list(
        _packages().database[package_files.COLLECTION].find({"package": name}).sort("part", 1)
    )
    if parts:
        return [release for part in parts for release in part["releases"]]
    projection = {
        "version": 1,
        "sort_key": 1,
        "sql_id": 1,
        "yanked": 1,
        "yanked_reason": 1,
        "requires_python": 1,
        "files.filename": 1,
        "files.requires_python": 1,
        "files.yanked": 1,
        "files.yanked_reason": 1,
        f"files.{field}": 1,
    }
    releases = list(_releases().find({"package": name}, projection).sort(NEWEST_FIRST))
    return [
        {**r, "files": sorted(_files_with(r, field), key=lambda f: f["filename"])} for r in releases
    ]


def _files_with(release: dict[str, Any], field: str) -> list[dict[str, Any]]:
    """A release's files (as projected) with their ``field`` entry.

    A document written before files kept entries gets them computed here,
    from its files read whole (once per such release).
    """
    files = release.get("files") or []
    if all(field in f for f in files):
        return files
    whole = _releases().find_one({"_id": release["_id"]}, {"files": 1}) or {}
    return [
        f if field in f else {**f, field: file_entries(entry_values(f))[field]}
        for f in whole.get("files") or []
    ]


def releases_newest_list(*, limit: int) -> list[ReleaseListItem]:
    ids = _newest_ids(_summary_docs()[1], "releases_created", limit)
    return _release_items(_by_ids(_releases(), ids, RELEASE_ITEM_PROJECTION))


def packages_newest_list(*, limit: int) -> list[PackageListItem]:
    ids = _newest_ids(_summary_docs()[1], "packages_created", limit)
    return [_list_item(d) for d in _by_ids(_packages(), ids, LIST_PROJECTION)]


def package_releases_list(
    *, name: str, limit: int
) -> tuple[PackageListItem, list[ReleaseListItem]]:
    doc = _package(name, {"display_name": 1, "summary": 1, "created": 1, "updated": 1})
    item = PackageListItem(
        name=doc["_id"],
        display_name=doc.get("display_name") or doc["_id"],
        summary=doc.get("summary") or "",
        version=None,
        created=doc.get("created"),
        updated=doc.get("updated"),
    )
    rows = (
        _releases()
        .find({"package": name}, {"version": 1, "created": 1})
        .sort([("created", -1), ("sql_id", -1)])
        .limit(limit)
    )
    return item, [
        ReleaseListItem(item.name, item.display_name, r["version"], item.summary, r.get("created"))
        for r in rows
    ]


def package_stamp(*, name: str) -> str | None:
    """What a package's pages depend on, as far as its document shows (one read by _id).

    The package document changes with its fields, maintainers, classifiers,
    release count and default release; an edit to an older release alone does
    not touch it, so cached pages built on this stamp also expire by age.
    """
    doc = _packages().find_one(
        {"_id": name},
        {
            "updated": 1,
            "last_serial": 1,
            "license": 1,
            "classifiers": 1,
            "maintainers": 1,
            "latest": 1,
            "release_count": 1,
        },
    )
    return None if doc is None else repr(sorted(doc.items()))
