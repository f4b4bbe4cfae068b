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

import hashlib
import json
import secrets
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from catalog.documents import PackageDocument
from catalog.file_entries import ENTRY_FIELDS, entry_values, file_entries, json_entry_show
from catalog.listings import listing_min_releases
from catalog.selectors.common import json_releases_join, simple_entry

COLLECTION = "package_files"
# Files per part (a release is never split: one with more files has a part of its own).
PART_FILES = 2000
# Packages whose release documents one read takes.
REFRESH_BATCH = 200
# The kept texts of large packages (see package_texts): their collection, and the
# characters per document (at most 12 MB of UTF-8, under MongoDB's 16 MB).
TEXTS_COLLECTION = "package_listings"
TEXT_CHUNK = 3_000_000
TEXT_KINDS = ("json", "simple_html", "simple_json", "versions")

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


def json_entries(releases: list[Document]) -> dict[str, list[str]]:
    """Every release's files (``json_entry`` each) as the JSON API serves them, by version:
    yanked with their release when only the release is."""
    return {
        release["version"]: [
            json_entry_show(
                f["json_entry"],
                file_yanked=bool(f.get("yanked")),
                release_yanked=bool(release.get("yanked")),
                release_reason=release.get("yanked_reason"),
            )
            for f in release["files"]
        ]
        for release in releases
    }


def simple_entries(releases: list[Document], form: str) -> tuple[list[str], list[str]]:
    """The versions (oldest first) and every file's Simple entry (``simple_html`` or
    ``simple_json`` each, with what its release lends it), by filename."""
    field = "simple_json" if form == "json" else "simple_html"
    versions: list[str] = []
    files: list[tuple[str, str]] = []
    for release in reversed(releases):
        versions.append(release["version"])
        lent = (
            release.get("requires_python"),
            bool(release.get("yanked")),
            release.get("yanked_reason"),
        )
        for f in release["files"]:
            values = {
                "requires_python": f.get("requires_python"),
                "yanked": bool(f.get("yanked")),
                "yanked_reason": f.get("yanked_reason"),
            }
            files.append((f["filename"], simple_entry(f[field], values, lent, form=form)))
    files.sort(key=lambda pair: pair[0])
    return versions, [entry for _, entry in files]


def package_texts(name: str, releases: list[Document]) -> list[Document]:
    """The kept texts of package ``name`` from its parts' releases (newest first).

    What its JSON API and Simple pages list of every file, joined once when the
    files were written rather than on every view: the JSON API's "releases"
    object between its braces (``json``, with its SHA-256 for the ETag), the
    Simple entries (``simple_html``, ``simple_json``) and the versions (a JSON
    array). Each text is cut into documents of TEXT_CHUNK characters, all of one
    ``build``: a page uses a text only when it finds every piece of one build.
    """
    json_text = json_releases_join([r["version"] for r in releases], json_entries(releases))
    versions, html = simple_entries(releases, "html")
    objects = simple_entries(releases, "json")[1]
    texts = {
        "json": json_text,
        "simple_html": "".join(html),
        "simple_json": ", ".join(objects),
        "versions": json.dumps(versions),
    }
    build = secrets.token_hex(8)
    docs = []
    for kind, text in texts.items():
        pieces = [text[i : i + TEXT_CHUNK] for i in range(0, len(text), TEXT_CHUNK)] or [""]
        for n, piece in enumerate(pieces):
            doc = {
                "_id": f"{name}#{kind}#{n}",
                "package": name,
                "kind": kind,
                "n": n,
                "chunks": len(pieces),
                "build": build,
                "text": piece,
            }
            if kind == "json" and n == 0:
                doc["sha256"] = hashlib.sha256(text.encode()).hexdigest()
            docs.append(doc)
    return docs


def package_texts_read(db, name: str, kinds: tuple[str, ...]) -> dict[str, Any] | None:
    """The kept texts ``kinds`` of package ``name`` (and ``sha256`` of its JSON text), or
    None when any is missing or its pieces are not all of one build (being rewritten)."""
    found: dict[str, list[Document]] = defaultdict(list)
    query = {"package": name, "kind": {"$in": list(kinds)}}
    for doc in db[TEXTS_COLLECTION].find(query).sort([("kind", 1), ("n", 1)]):
        found[doc["kind"]].append(doc)
    docs = [doc for kind in kinds for doc in found.get(kind, [])]
    if not docs or len({doc["build"] for doc in docs}) != 1:
        return None
    texts: dict[str, Any] = {}
    for kind in kinds:
        pieces = found.get(kind, [])
        if not pieces or [d["n"] for d in pieces] != list(range(pieces[0]["chunks"])):
            return None
        texts[kind] = "".join(d["text"] for d in pieces)
    texts["sha256"] = found["json"][0].get("sha256") if "json" in found else None
    return texts


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
        parts, texts = [], []
        for name in sorted(known):
            own = package_files_parts(name, releases[name])
            parts.extend(own)
            if len(releases[name]) >= listing_min_releases():
                texts.extend(package_texts(name, [r for p in own for r in p["releases"]]))
        target.delete_many({"package": {"$in": chunk}})
        db[TEXTS_COLLECTION].delete_many({"package": {"$in": chunk}})
        if parts:
            target.insert_many(parts, ordered=False)
        if texts:
            db[TEXTS_COLLECTION].insert_many(texts, ordered=False)
        rebuilt += len(known)
    return rebuilt


def package_files_refresh_all(*, db=None) -> int:
    """Rebuild the parts of every package, and drop those of packages gone (a full migration)."""
    db = db if db is not None else PackageDocument._get_collection().database
    names = {d["_id"] for d in db.packages.find({}, {"_id": 1})}
    names |= {d["package"] for d in collection(db).find({"part": 0}, {"package": 1})}
    kept = db[TEXTS_COLLECTION].find({"kind": "json", "n": 0}, {"package": 1})
    names |= {d["package"] for d in kept}
    return package_files_refresh(names=names, db=db)


def ensure_indexes(db=None) -> None:
    """The index the pages read parts along (a package's, in order)."""
    collection(db).create_index([("package", 1), ("part", 1)], name="package_part")
    db = db if db is not None else PackageDocument._get_collection().database
    db[TEXTS_COLLECTION].create_index([("package", 1), ("kind", 1), ("n", 1)], name="package_kind")
