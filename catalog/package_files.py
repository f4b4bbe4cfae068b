"""Every file of a package in a few documents: what its JSON API and Simple pages list.

A project's JSON API and its Simple page list every file of every release. Read
from the release documents, a package with 1,000 releases costs 1,000
documents on every cold view (the local server reads and projects each one in
Python: about 100 ms). So the writers keep, per package, its releases' file
entries (``catalog.file_entries``, computed when the files were written) in
the ``package_files`` collection: parts of at most PART_FILES files, ``_id``
``<package>#<n>``, each holding whole releases in history order (newest
first) with what the pages lend from a release (yanked, reason,
Requires-Python). A package without releases has one empty part, so a
package with no parts is one no writer has seen yet (the pages then read the
release documents).

The parts are rebuilt from the release documents (never from the rows), so
every writer of release documents keeps them with one call,
``package_files_refresh``: the migration and the live sync, merges, offline
jobs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from catalog.documents import PackageDocument
from catalog.file_entries import ENTRY_FIELDS, entry_values, file_entries

COLLECTION = "package_files"
# Files per part (a release is never split: one with more files has a part of its own).
PART_FILES = 2000
# Packages whose release documents one read takes.
REFRESH_BATCH = 200

# What a part keeps of a release and of each file.
RELEASE_KEPT = ("version", "yanked", "yanked_reason", "requires_python")
FILE_KEPT = ("filename", "yanked", "yanked_reason", "requires_python", *ENTRY_FIELDS)

Document = dict[str, Any]


def collection(db=None):
    return (db if db is not None else PackageDocument._get_collection().database)[COLLECTION]


def _history_key(release: Document) -> tuple:
    """Newest first, then the later row, as the release history (mapping.HISTORY_ORDER)."""
    sql_id = release.get("sql_id")
    return (release.get("sort_key") or "", sql_id is not None, sql_id or 0)


def _file_kept(file: Document) -> Document:
    if not all(field in file for field in ENTRY_FIELDS):
        # A release document written before files kept their entries.
        file = {**file, **file_entries(entry_values(file))}
    return {field: file.get(field) for field in FILE_KEPT}


def package_files_parts(name: str, releases: list[Document]) -> list[Document]:
    """The parts of package ``name`` from its release documents (files whole)."""
    parts: list[Document] = []
    current: list[Document] = []
    count = 0
    for release in sorted(releases, key=_history_key, reverse=True):
        files = sorted(
            (_file_kept(f) for f in release.get("files") or []), key=lambda f: f["filename"]
        )
        if current and count + len(files) > PART_FILES:
            parts.append({"releases": current})
            current, count = [], 0
        current.append({**{f: release.get(f) for f in RELEASE_KEPT}, "files": files})
        count += len(files)
    parts.append({"releases": current})
    return [
        {"_id": f"{name}#{n}", "package": name, "part": n, **part} for n, part in enumerate(parts)
    ]


def package_files_refresh(*, names: Iterable[str], db=None) -> int:
    """Rebuild the parts of these packages from their release documents; returns how many.

    A name without a package document loses its parts. One read of the release
    documents and one of the package ids per REFRESH_BATCH packages, then the
    parts replaced (deleted, then inserted: a page read between the two finds
    none and reads the release documents).
    """
    db = db if db is not None else PackageDocument._get_collection().database
    target = collection(db)
    ordered = sorted(set(names))
    if ordered:
        ensure_indexes(db)  # a no-op once it exists
    rebuilt = 0
    for start in range(0, len(ordered), REFRESH_BATCH):
        chunk = ordered[start : start + REFRESH_BATCH]
        known = {d["_id"] for d in db.packages.find({"_id": {"$in": chunk}}, {"_id": 1})}
        releases: dict[str, list[Document]] = defaultdict(list)
        projection = {"sort_key": 1, "sql_id": 1, "package": 1, "files": 1}
        projection.update(dict.fromkeys(RELEASE_KEPT, 1))
        for release in db.releases.find({"package": {"$in": sorted(known)}}, projection):
            releases[release["package"]].append(release)
        parts = [p for name in sorted(known) for p in package_files_parts(name, releases[name])]
        target.delete_many({"package": {"$in": chunk}})
        if parts:
            target.insert_many(parts, ordered=False)
        rebuilt += len(known)
    return rebuilt


def package_files_refresh_all(*, db=None) -> int:
    """Rebuild the parts of every package, and drop those of packages gone (a full migration)."""
    db = db if db is not None else PackageDocument._get_collection().database
    names = {d["_id"] for d in db.packages.find({}, {"_id": 1})}
    names |= {d["package"] for d in collection(db).find({"part": 0}, {"package": 1})}
    return package_files_refresh(names=names, db=db)


def ensure_indexes(db=None) -> None:
    """The index the pages read parts along (a package's, in order)."""
    collection(db).create_index([("package", 1), ("part", 1)], name="package_part")
