"""The collection a merge writes: which names it may write, current documents, bulk writes."""

from __future__ import annotations

from typing import Any

import bson
from pymongo import InsertOne, ReplaceOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from audit.mongo import audited_bulk_write
from catalog.services.merge.results import Document, MalformedRecord, MergeError, MergeResult

# Collection names MongoDB refuses or reserves, and the project's own
# bookkeeping, which a merge must never overwrite (the audit chain would break,
# a migration or job would resume from a forged position).
COLLECTION_NAME_MAX_LENGTH = 120


def own_collections() -> frozenset[str]:
    """The project's bookkeeping collections (audit, migration and job state)."""
    from audit.recorder import MONGO_CHAIN, MONGO_ENTRIES
    from catalog.services.migration.state import STATE_COLLECTION
    from catalog.services.offline.runner import CHECKPOINTS

    return frozenset({MONGO_ENTRIES, MONGO_CHAIN, STATE_COLLECTION, CHECKPOINTS})


def _name_problem(name: str) -> str | None:
    if len(name) > COLLECTION_NAME_MAX_LENGTH:
        return f"longer than {COLLECTION_NAME_MAX_LENGTH} characters"
    if "$" in name or "\x00" in name:
        return "contains '$' or a NUL character"
    if name.startswith(".") or name.endswith(".") or ".." in name:
        return "starts or ends with '.', or has an empty part"
    if name.startswith("system."):
        return "is a system collection"
    if any(ch < " " or ch == "\x7f" for ch in name):
        return "contains a control character"
    if name in own_collections():
        return "is the project's own bookkeeping (audit, migration or job state)"
    return None


def collection_name_check(name: str, *, option: str) -> None:
    """Raise MergeError unless ``name`` is a collection a merge may write."""
    if not isinstance(name, str) or not name:
        raise MergeError(f"{option}: a collection name is required")
    problem = _name_problem(name)
    if problem:
        raise MergeError(f"{option} {name[:80]!r}: not a collection a merge may write: {problem}")


def sorted_keys(groups: dict[tuple, Any]) -> list[tuple]:
    """Keys in first-field order when that field has one type (so lookups can be ranges)."""
    keys = list(groups)
    first_types = {type(k[0]) for k in keys}
    if len(first_types) == 1 and first_types <= {str, int}:
        keys.sort(key=lambda k: k[0])
    return keys


def existing_documents(
    target: Collection, key: list[str], chunk: list[tuple]
) -> dict[tuple, Document]:
    """The target's documents for a chunk of keys (one query per chunk)."""
    first = [k[0] for k in chunk]
    if len(key) == 1:
        query = {key[0]: {"$in": first}}
    else:
        query = {"$or": [dict(zip(key, k, strict=True)) for k in chunk]}
    wanted = set(chunk)
    found: dict[tuple, Document] = {}
    for doc in target.find(query):
        values = tuple(doc.get(f) for f in key)
        if values in wanted:
            found.setdefault(values, doc)
    return found


def unstorable(doc: Document) -> str | None:
    """Why MongoDB cannot store ``doc`` (an integer beyond 64 bits, ...), or None."""
    try:
        bson.encode(doc)
    except (bson.errors.InvalidDocument, OverflowError) as exc:
        return f"cannot be stored in MongoDB: {exc}"
    return None


def write_operation(
    action: str, merged: Document, key: list[str], key_values: tuple
) -> InsertOne | ReplaceOne:
    """The write for one merged document: an insert, else a replace by _id or by key."""
    if action == "insert":
        # Not an upsert: a document that appeared since the lookup fails
        # (reported) instead of being overwritten unseen.
        return InsertOne(merged)
    if "_id" in merged:
        return ReplaceOne({"_id": merged["_id"]}, merged, upsert=True)
    return ReplaceOne(dict(zip(key, key_values, strict=True)), merged, upsert=True)


def bulk_write(target: Collection, writes: list[tuple[str, Any]], result: MergeResult) -> int:
    """Write (key label, operation) pairs unordered; failures go to the result. Returns written."""
    if not writes:
        return 0
    try:
        outcome = audited_bulk_write(target, [op for _, op in writes], ordered=False)
    except BulkWriteError as exc:
        for error in exc.details.get("writeErrors", []):
            label = writes[error["index"]][0]
            result.malformed.append(MalformedRecord(result.into, f"key {label!r}", error["errmsg"]))
            result.totals.failed += 1
        return len(writes) - len(exc.details.get("writeErrors", []))
    return outcome.inserted_count + outcome.upserted_count + outcome.modified_count
