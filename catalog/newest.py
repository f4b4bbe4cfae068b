"""The newest lists of the home page and feeds in MongoDB, chosen when the catalog is written.

"The ten newest releases" is a sort on an index for a real ``mongod``, but a
server may sort in memory every document the filter selects (the local
SecantusDB does, and it reads whole documents first): a page would pay for the
whole catalog, or for every release sharing the newest timestamp. So the
writers choose the lists: after every write of package or release documents
(the migration, the live sync, a merge, an offline job) ``newest_lists_refresh``
stores the ``_id`` s of each list, in order, in one document
(``catalog_counters``, ``_id`` NEWEST_ID), and a page reads those documents by
``_id``.

A refresh is correct whatever the stored lists say: it reads a window of the
field's index back from the previous list's last entry (``since``), and once a
window holds ``limit`` documents, every document outside it is older than all of
them, so the window's newest are the newest (ties on the timestamp are all in the
window: ``$gte``). The previous lists only make the window small; when a window
holds too few (the newest were deleted, or back-dated), it widens.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from catalog.documents import COUNTERS_COLLECTION, COUNTERS_ID, NEWEST_ID, PackageDocument

# Widening windows back from ``since`` (or now): each a range read on an index.
NEWEST_WINDOWS = (timedelta(days=1), timedelta(days=30), timedelta(days=365), timedelta(days=3650))


# name -> (collection, field, sort, length kept): the home page shows 10 of
# the first two, the feeds 40 of the first and the last.
NEWEST_LISTS: dict[str, tuple[str, str, list[tuple[str, int]], int]] = {
    "releases_created": ("releases", "created", [("created", -1), ("sql_id", -1)], 40),
    "packages_updated": ("packages", "updated", [("updated", -1), ("_id", 1)], 10),
    "packages_created": ("packages", "created", [("created", -1), ("_id", 1)], 40),
}


def newest_docs(
    collection,
    field: str,
    sort: list[tuple[str, int]],
    projection: dict[str, Any],
    limit: int,
    *,
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """The ``limit`` newest documents by ``field`` (then ``sort``'s tie-break).

    Looked for in windows ``field >= t``, ``t`` going back from ``since`` (first
    ``since`` itself) or from now: once a window holds ``limit`` documents,
    every document outside it is older than all of them. Undated documents come
    last, from the unbounded read.
    """
    base = since or datetime.now(UTC)
    starts = ([since] if since else []) + [base - window for window in NEWEST_WINDOWS]
    for start in starts:
        docs = list(collection.find({field: {"$gte": start}}, projection).sort(sort).limit(limit))
        if len(docs) >= limit:
            return docs
    return list(collection.find({}, projection).sort(sort).limit(limit))


def _database():
    return PackageDocument._get_collection().database


def newest_lists_refresh() -> dict[str, Any]:
    """Choose the newest lists again from the stored documents, and keep them (NEWEST_ID)."""
    db = _database()
    kept = db[COUNTERS_COLLECTION].find_one({"_id": NEWEST_ID}) or {}
    doc: dict[str, Any] = {"_id": NEWEST_ID}
    for name, (collection, field, sort, length) in NEWEST_LISTS.items():
        previous = kept.get(name) or {}
        since = previous.get("since") if len(previous.get("ids") or ()) >= length else None
        docs = newest_docs(db[collection], field, sort, {field: 1}, length, since=since)
        doc[name] = {
            "ids": [d["_id"] for d in docs],
            # Where the next refresh starts looking (None: the list is not full).
            "since": docs[-1].get(field) if len(docs) >= length else None,
        }
    db[COUNTERS_COLLECTION].replace_one({"_id": NEWEST_ID}, doc, upsert=True)
    return doc


def counters_recount(db=None) -> dict[str, int]:
    """Count what MongoDB holds into the counters document (``_id`` COUNTERS_ID).

    The migration and the live sync copy the relational counters, which describe
    the same rows. A merge or an offline job writes documents no row stands for
    (or deletes some), so after one the home page's counts are taken from the
    collections themselves: a count of each, and the files summed over the
    release documents on the server.
    """
    db = db if db is not None else _database()
    totals = list(
        db.releases.aggregate(
            [{"$group": {"_id": None, "files": {"$sum": {"$size": {"$ifNull": ["$files", []]}}}}}]
        )
    )
    counts = {
        "packages": db.packages.count_documents({}),
        "releases": db.releases.count_documents({}),
        "files": totals[0]["files"] if totals else 0,
        "users": db.users.count_documents({}),
    }
    db[COUNTERS_COLLECTION].replace_one(
        {"_id": COUNTERS_ID}, {"_id": COUNTERS_ID, **counts}, upsert=True
    )
    return counts
