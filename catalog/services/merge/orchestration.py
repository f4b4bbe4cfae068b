"""``sources_merge``: read every source, combine per key by policy, write what changed.

Records are grouped by normalized key in source order; keys are then taken in
write batches, each looked up in the target (one query per LOOKUP_BATCHES
batches), combined, stamped with provenance, and written in one unordered
bulk write; conflicts go to the conflict report (the report and the conflicts
collection, one record per key and field).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mongoengine.connection import get_db
from pymongo import UpdateOne

from audit.mongo import audited_bulk_write
from catalog.newest import counters_recount, newest_lists_refresh
from catalog.package_files import package_files_refresh
from catalog.services.merge.keys import key_label, key_normalizers, record_contribution
from catalog.services.merge.policies import (
    POLICIES,
    PROVENANCE,
    Contribution,
    Policy,
    combine,
)
from catalog.services.merge.results import (
    DEFAULT_CONFLICTS_COLLECTION,
    Change,
    Conflict,
    Document,
    MalformedRecord,
    MergeError,
    MergeResult,
    SourceCounts,
)
from catalog.services.merge.sources import SourceSpec, source_records
from catalog.services.merge.target import (
    bulk_write,
    collection_name_check,
    existing_documents,
    own_collections,
    sorted_keys,
    unstorable,
    write_operation,
)
from catalog.services.package_summaries import package_summaries_refresh

# Target lookups cover this many write batches.
LOOKUP_BATCHES = 10

_MISSING = object()
_OUTCOME_COUNTER = {
    "insert": "inserted",
    "update": "updated",
    "unchanged": "unchanged",
    "conflict": "conflicts",
}


def provenance(*, sources: list[str], policy: str, at: datetime) -> Document:
    """What every written document records about the merge that wrote it."""
    return {"sources": sources, "policy": policy, "at": at}


def _conflict_id(into: str, conflict: Conflict) -> str:
    digest = hashlib.sha256(f"{into}\0{conflict.key}\0{conflict.field}".encode()).hexdigest()
    return digest[:32]


def conflict_record_operation(
    *, into: str, conflict: Conflict, policy: str, now: datetime
) -> UpdateOne:
    """The conflicts collection's record of one key and field (one per pair, kept up to date)."""
    return UpdateOne(
        {"_id": _conflict_id(into, conflict)},
        {
            "$set": {
                "into": into,
                "key": conflict.key,
                "field": conflict.field,
                "policy": policy,
                "reason": conflict.reason,
                "values": conflict.values,
            },
            "$setOnInsert": {"detected_at": now},
        },
        upsert=True,
    )


def _arguments_check(
    *,
    sources: Sequence[SourceSpec],
    into: str,
    key: Sequence[str],
    policy: str,
    priority: Sequence[str] | None,
    batch_size: int,
    conflicts_collection: str,
) -> dict[str, int]:
    """Raise MergeError for a configuration that cannot run; returns each source's rank."""
    if len(sources) < 2:
        raise MergeError("merge needs two or more sources")
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise MergeError(f"source names must be unique, got {', '.join(names)}")
    if policy not in POLICIES:
        raise MergeError(f"unknown policy {policy!r} (expected one of {', '.join(POLICIES)})")
    if not key or any(not k or k.startswith("$") or k == PROVENANCE for k in key):
        raise MergeError(f"invalid key {list(key)!r}: field names, not operators")
    if batch_size < 1:
        raise MergeError("batch size must be at least 1")
    collection_name_check(into, option="--into")
    collection_name_check(conflicts_collection, option="--conflicts-collection")
    if conflicts_collection == into:
        raise MergeError("--into and --conflicts-collection must be different collections")
    for spec in sources:
        if spec.kind == "mongo" and spec.location in own_collections():
            raise MergeError(
                f"source {spec.name!r}: {spec.location!r} is the project's own bookkeeping"
            )
    order = list(priority or names)
    unknown = [n for n in order if n not in names]
    if unknown or sorted(order) != sorted(names):
        raise MergeError(
            f"--priority must list every source once ({', '.join(names)}), got {', '.join(order)}"
        )
    return {name: position for position, name in enumerate(order)}


def _records_group(
    sources: Sequence[SourceSpec],
    *,
    key: list[str],
    normalizers: dict[str, Callable[[Any], Any]],
    policy: str,
    batch_size: int,
    result: MergeResult,
) -> dict[tuple, list[Contribution]]:
    """Every record grouped by its normalized key, in source order; bad records reported."""
    groups: dict[tuple, list[Contribution]] = {}
    for spec in sources:
        counts = result.sources[spec.name]
        for record in source_records(spec, batch_size=batch_size):
            counts.read += 1
            if isinstance(record, MalformedRecord):
                counts.failed += 1
                result.malformed.append(record)
                continue
            keyed, problem = record_contribution(record, key, normalizers, policy)
            if problem:
                counts.failed += 1
                result.malformed.append(MalformedRecord(spec.name, record.where, problem))
                continue
            groups.setdefault(keyed.key_values, []).append(keyed.value)
    result.totals.read = sum(c.read for c in result.sources.values())
    result.totals.failed = sum(c.failed for c in result.sources.values())
    return groups


# The catalog's own collections, which the pages read.
CATALOG_COLLECTIONS = ("packages", "releases")


@dataclass
class _Run:
    """One merge's settings and report, shared by the per-key steps."""

    into: str
    policy: str
    key: list[str]
    rank: dict[str, int]
    now: datetime
    result: MergeResult
    writes: list[tuple[str, Any]]
    conflict_writes: list[UpdateOne]
    # Packages whose documents summarize what this run writes (catalog collections).
    touched: set[str]


def _document_complete(
    run: _Run,
    merged: Document,
    key_values: tuple,
    contributions: list[Contribution],
    current: Document | None,
) -> None:
    """Put the key fields, the _id and (for packages) the search terms into ``merged``."""
    for field_name, value in zip(run.key, key_values, strict=True):
        merged[field_name] = value
    if "_id" not in run.key:
        doc_id = current["_id"] if current is not None else None
        for c in contributions:
            doc_id = c.doc_id if doc_id is None else doc_id
        if doc_id is not None:
            merged["_id"] = doc_id
    if run.into == "packages":
        # Merged package documents are searched like migrated ones.
        from catalog.mapping import document_terms

        merged["terms"] = document_terms(merged)


def _change(current: Document | None, merged: Document) -> tuple[str, list[str]]:
    """insert, update (with the fields that differ) or unchanged."""
    before = {k: v for k, v in (current or {}).items() if k != PROVENANCE}
    changed = sorted(
        f for f in set(before) | set(merged) if before.get(f, _MISSING) != merged.get(f)
    )
    if current is None:
        return "insert", []
    if not changed:
        return "unchanged", changed
    return "update", changed


def _packages_touched(into: str, merged: Document, current: Document | None) -> set[str]:
    """The package documents whose release summary a write of ``merged`` can change."""
    if into == "packages":
        return {merged["_id"]} if isinstance(merged.get("_id"), str) else set()
    if into == "releases":
        names = {merged.get("package"), (current or {}).get("package")}
        return {n for n in names if isinstance(n, str)}
    return set()


def _counts_add(result: MergeResult, action: str, contributing: set[str], matched: bool) -> None:
    outcome = _OUTCOME_COUNTER[action]
    for counts in [result.totals, *(result.sources[name] for name in contributing)]:
        setattr(counts, outcome, getattr(counts, outcome) + 1)
        counts.matched += matched


def _key_merge(
    run: _Run, key_values: tuple, contributions: list[Contribution], current: Document | None
) -> None:
    """Combine one key, queue its write or conflict records, count it."""
    label = key_label(key_values)
    contributing = {c.source for c in contributions}
    matched = current is not None or len(contributions) > 1
    merged, merged_sources, conflicts = combine(
        run.policy, contributions, current, rank=run.rank, key_label=label
    )
    if conflicts:
        action, changed = "conflict", sorted({c.field for c in conflicts})
        run.result.conflicts.extend(conflicts)
        run.conflict_writes.extend(
            conflict_record_operation(into=run.into, conflict=c, policy=run.policy, now=run.now)
            for c in conflicts
        )
    else:
        _document_complete(run, merged, key_values, contributions, current)
        action, changed = _change(current, merged)
        if action != "unchanged":
            merged[PROVENANCE] = provenance(sources=merged_sources, policy=run.policy, at=run.now)
            problem = unstorable(merged)
            if problem:
                # Checked before any write: a value MongoDB refuses would
                # otherwise fail the bulk write part way through.
                run.result.malformed.append(MalformedRecord(run.into, f"key {label!r}", problem))
                run.result.totals.failed += 1
                for name in contributing:
                    run.result.sources[name].failed += 1
                return
            run.writes.append((label, write_operation(action, merged, run.key, key_values)))
            run.touched.update(_packages_touched(run.into, merged, current))
    run.result.changes.append(Change(key=label, action=action, fields=changed))
    _counts_add(run.result, action, contributing, matched)


def sources_merge(
    *,
    sources: Sequence[SourceSpec],
    into: str,
    key: Sequence[str] = ("_id",),
    normalize: Sequence[str] = ("none",),
    policy: Policy = "merge",
    priority: Sequence[str] | None = None,
    dry_run: bool = False,
    batch_size: int = 1000,
    conflicts_collection: str = DEFAULT_CONFLICTS_COLLECTION,
    now: datetime | None = None,
) -> MergeResult:
    """Merge the sources into the ``into`` collection; see ``catalog.services.merge``."""
    rank = _arguments_check(
        sources=sources,
        into=into,
        key=key,
        policy=policy,
        priority=priority,
        batch_size=batch_size,
        conflicts_collection=conflicts_collection,
    )
    normalizers = key_normalizers(key=key, normalize=normalize)
    key = list(key)
    now = now or datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    result = MergeResult(
        into=into,
        policy=policy,
        key=key,
        dry_run=dry_run,
        sources={spec.name: SourceCounts() for spec in sources},
        totals=SourceCounts(),
        conflicts_collection=conflicts_collection,
    )
    groups = _records_group(
        sources,
        key=key,
        normalizers=normalizers,
        policy=policy,
        batch_size=batch_size,
        result=result,
    )

    db = get_db()
    target = db[into]
    keys = sorted_keys(groups)
    existing: dict[tuple, Document] = {}
    touched: set[str] = set()
    for start in range(0, len(keys), batch_size):
        if start % (batch_size * LOOKUP_BATCHES) == 0:
            existing = existing_documents(
                target, key, keys[start : start + batch_size * LOOKUP_BATCHES]
            )
        run = _Run(
            into, policy, key, rank, now, result, writes=[], conflict_writes=[], touched=touched
        )
        for key_values in keys[start : start + batch_size]:
            _key_merge(run, key_values, groups[key_values], existing.get(key_values))
        if not dry_run:
            result.written += bulk_write(target, run.writes, result)
            if run.conflict_writes:
                audited_bulk_write(db[conflicts_collection], run.conflict_writes, ordered=False)
    if not dry_run and into in CATALOG_COLLECTIONS and touched:
        # The pages read what package documents say of their releases, their
        # file parts and the newest lists: written documents change all three.
        package_summaries_refresh(db, names=touched)
        package_files_refresh(names=touched, db=db)
        newest_lists_refresh()
        counters_recount(db)
    return result
