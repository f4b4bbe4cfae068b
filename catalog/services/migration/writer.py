"""The bulk writer: one batch of rows becomes one unordered ``bulk_write``.

``InsertOne`` for new documents, ``ReplaceOne(upsert=True)`` for changed ones,
``DeleteOne`` for stale ones; an unchanged document (same ``checksum``) is not
written. A row that cannot be mapped, a document that fails its checks and a
write MongoDB refuses are reported by key, and the rest of the batch is
written. After each batch the position is checkpointed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo import DeleteOne, InsertOne, ReplaceOne
from pymongo.errors import BulkWriteError

from audit.mongo import audited_bulk_write
from catalog import mapping
from catalog.services.migration.specs import CollectionSpec, SortedStream
from catalog.services.migration.state import (
    BatchHook,
    CollectionReport,
    RowError,
    state_collection,
)

DUPLICATE_KEY = 11000


@dataclass
class BatchContext:
    """The options of a run, as its batches need them, and its progress."""

    include_credentials: bool
    dry_run: bool
    prune: bool
    force: bool
    batch_size: int
    on_batch: BatchHook | None = None
    progress: Any = None
    batches: int = 0
    # Packages whose package or release documents this run wrote or deleted: their
    # file parts (catalog.package_files) are rebuilt when the run ends.
    packages_touched: set[str] = field(default_factory=set)


def _build(
    spec: CollectionSpec, pks: Sequence[int], ctx: BatchContext, report: CollectionReport
) -> tuple[list[mapping.Document], set[int]]:
    """Documents for ``pks``; a row that cannot be mapped is reported and skipped."""
    try:
        return spec.build(pks, ctx.include_credentials), set()
    except Exception:  # noqa: S110 - isolate the failing row below, then report it
        pass
    docs: list[mapping.Document] = []
    failed: set[int] = set()
    for pk in pks:
        try:
            docs.extend(spec.build([pk], ctx.include_credentials))
        except Exception as exc:  # noqa: BLE001 - one bad row must not stop the run
            failed.add(pk)
            report.fail(f"id {pk}", "", f"cannot be mapped: {type(exc).__name__}: {exc}")
    return docs, failed


def batch_apply(
    spec: CollectionSpec,
    ctx: BatchContext,
    report: CollectionReport,
    pks: Sequence[int],
    existing: dict[Any, dict[str, Any]],
) -> None:
    """Write the documents of ``pks`` given what MongoDB holds for them (``existing``).

    ``existing`` maps ``_id`` to ``{sql_id, checksum}`` for every stored document
    that belongs to these rows; those whose row is gone (or renamed) are stale.
    """
    docs, failed_pks = _build(spec, pks, ctx, report) if pks else ([], set())
    report.read += len(docs) + len(failed_pks)
    ops: list[Any] = []
    keys: list[Any] = []
    produced: set[Any] = set()
    for doc in docs:
        key = doc["_id"]
        produced.add(key)
        problems = spec.problems(doc)
        if problems:
            # One failed document, however many reasons.
            report.failed += 1
            report.errors.extend(RowError(spec.name, str(key), f, r) for f, r in problems)
            continue
        doc[mapping.CHECKSUM_FIELD] = mapping.document_checksum(doc)
        old = existing.get(key)
        if old is None:
            ops.append(InsertOne(doc))
        elif old.get(mapping.CHECKSUM_FIELD) == doc[mapping.CHECKSUM_FIELD] and not ctx.force:
            report.unchanged += 1
            continue
        else:
            ops.append(ReplaceOne({"_id": key}, doc, upsert=True))
        keys.append(key)
    if ctx.prune:
        for key, old in existing.items():
            # A row that failed keeps its previous document.
            if key in produced or old.get("sql_id") in failed_pks:
                continue
            # Conditional on sql_id: the document may have been rewritten for another row.
            ops.append(DeleteOne({"_id": key, "sql_id": old.get("sql_id")}))
            keys.append(key)
    if ops:
        ctx.packages_touched.update(_packages_of(spec, ops, existing))
        operations_write(spec, ctx, report, ops, keys)


def _packages_of(spec: CollectionSpec, ops: list[Any], existing: dict[Any, dict[str, Any]]):
    """The packages whose documents (or releases' documents) these operations change."""
    if spec.name == "packages":
        # A new, deleted or renamed package (an edit in place keeps its files).
        for op in ops:
            if isinstance(op, InsertOne):
                yield op._doc["_id"]
            elif isinstance(op, DeleteOne):
                yield op._filter["_id"]
    elif spec.name == "releases":
        for op in ops:
            if isinstance(op, DeleteOne):
                package = existing.get(op._filter["_id"], {}).get("package")
            else:
                package = op._doc.get("package")
            if isinstance(package, str):
                yield package


def _count(ops: Iterable[Any], kind: type) -> int:
    return sum(isinstance(op, kind) for op in ops)


def operations_write(
    spec: CollectionSpec,
    ctx: BatchContext,
    report: CollectionReport,
    ops: list[Any],
    keys: list[Any],
) -> None:
    """Write ``ops`` (``keys[i]`` is the ``_id`` of ``ops[i]``) unordered, counting into ``report``.

    A dry run only counts. An insert refused for a duplicate ``_id`` is retried
    as a replacement; any other refused operation is reported by key.
    """
    if ctx.dry_run:
        report.inserted += _count(ops, InsertOne)
        report.updated += _count(ops, ReplaceOne)
        report.deleted += _count(ops, DeleteOne)
        return
    failed: dict[int, dict[str, Any]] = {}
    try:
        result = audited_bulk_write(spec.collection, ops, ordered=False).bulk_api_result
    except BulkWriteError as exc:
        result = exc.details
        failed = {error["index"]: error for error in result.get("writeErrors", ())}
    retry: list[Any] = []
    retry_keys: list[Any] = []
    for index, error in failed.items():
        op = ops[index]
        if isinstance(op, InsertOne) and error.get("code") == DUPLICATE_KEY:
            # A document with this _id exists under another sql_id (the row was
            # recreated, or the document came from elsewhere): replace it.
            retry.append(ReplaceOne({"_id": keys[index]}, op._doc, upsert=True))
            retry_keys.append(keys[index])
        else:
            report.fail(str(keys[index]), "", _write_error(error))
    report.inserted += result.get("nInserted", 0)
    report.updated += _count((op for i, op in enumerate(ops) if i not in failed), ReplaceOne)
    report.deleted += result.get("nRemoved", 0)
    if retry:
        operations_write(spec, ctx, report, retry, retry_keys)


def _write_error(error: dict[str, Any]) -> str:
    if error.get("code") == DUPLICATE_KEY:
        return (
            "another document already holds one of this document's unique keys "
            f"({error.get('errmsg', 'E11000')})"
        )
    return f"MongoDB refused the write: {error.get('errmsg', error)}"


def batch_checkpoint(spec: CollectionSpec, ctx: BatchContext, state_update: dict[str, Any]) -> None:
    """Save the run's position (``state_update``) and tell ``on_batch``."""
    if not ctx.dry_run:
        state_collection().update_one({"_id": spec.name}, {"$set": state_update})
    ctx.batches += 1
    if ctx.on_batch is not None:
        ctx.on_batch(spec.name, ctx.batches)


# --- a primary-key range ------------------------------------------------------


def _stored_by_sql_id(spec: CollectionSpec, after: int, through: int, batch_size: int):
    query = {"sql_id": {"$gt": after, "$lte": through}}
    projection = {"sql_id": 1, "package": 1, mapping.CHECKSUM_FIELD: 1}
    cursor = spec.collection.find(query, projection).sort("sql_id", 1).batch_size(batch_size)
    return SortedStream(iter(cursor))


def range_run(
    spec: CollectionSpec, ctx: BatchContext, index: int, low: int, high: int, position: int | None
) -> CollectionReport:
    """Rows ``low < pk <= high`` (from ``position``, where a run stopped), batch by batch.

    The stored documents of the range stream beside them, so each batch knows
    which of its documents are new, changed or unchanged, and which stored ones
    no longer have a row. The position is checkpointed as ``positions.<index>``.
    """
    report = CollectionReport(spec.name)
    last = low if position is None else position
    stored = _stored_by_sql_id(spec, last, high, ctx.batch_size)
    while True:
        pks = list(
            spec.model.objects.filter(pk__gt=last, pk__lte=high)
            .order_by("pk")
            .values_list("pk", flat=True)[: ctx.batch_size]
        )
        upper = pks[-1] if len(pks) == ctx.batch_size else high
        existing = stored.take_through(upper)
        if pks or existing:
            batch_apply(spec, ctx, report, pks, existing)
            if ctx.progress is not None:
                ctx.progress.update(len(pks))
        last = upper
        batch_checkpoint(spec, ctx, {f"positions.{index}": last})
        if upper == high:
            return report
