"""``job_run``: a job over a collection, batch by batch, checkpointed after each write."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from mongoengine.connection import get_db
from pymongo import DeleteOne, InsertOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError
from tqdm import tqdm

from audit.mongo import audited_bulk_write
from catalog.newest import counters_recount, newest_lists_refresh
from catalog.package_files import package_files_refresh
from catalog.services.offline.jobs import JOBS, BatchPlan, Job
from catalog.services.offline.walk import (
    START,
    Document,
    JobError,
    after_query,
    collection_walk,
    field_name_plain,
)
from catalog.services.package_summaries import package_summaries_refresh

CHECKPOINTS = "job_checkpoints"


@dataclass
class JobResult:
    job: str
    collection: str
    where: Document
    batches: int = 0
    processed: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    # Job-specific counters (license_unmatched, renamed, ...).
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    resumed_from: Any = None
    last_id: Any = None
    complete: bool = False
    # Totals over every run of this checkpoint, the resumed ones included.
    total_processed: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


class _Checkpoint:
    """A job's position in ``job_checkpoints``: one document per job and collection."""

    def __init__(self, collection: Collection, *, job: str, target: str, where: Document):
        self.collection = collection
        self.id = f"{job}:{target}"
        self.state = {"job": job, "collection": target}
        self.where_pairs = sorted([k, v] for k, v in where.items())
        self.totals: Counter = Counter()
        self.batches_before = 0

    def resume(self, result: JobResult) -> Any:
        """The ``_id`` to resume after (START for none); marks ``result`` complete if it is."""
        saved = self.collection.find_one({"_id": self.id})
        if saved is None:
            return START
        if saved.get("where") != self.where_pairs:
            raise JobError(
                f"checkpoint {self.id!r} was made with --where "
                f"{dict(saved.get('where') or [])!r}; resume with the same filter "
                "or run again without --resume"
            )
        if saved.get("status") == "complete":
            result.complete = True
            result.last_id = saved.get("last_id")
            result.total_processed = saved.get("counts", {}).get("processed", 0)
            return START
        if "last_id" not in saved:
            return START
        result.resumed_from = saved["last_id"]
        self.totals.update(saved.get("counts") or {})
        self.batches_before = saved.get("batches", 0)
        return saved["last_id"]

    def start(self, after: Any) -> None:
        now = datetime.now(UTC)
        state = self.state | {"where": self.where_pairs, "status": "running"}
        if after is START:
            # A fresh start forgets any earlier position and totals.
            state |= {"batches": 0, "counts": {}, "started_at": now}
        self.collection.update_one(
            {"_id": self.id},
            {"$set": state | {"updated_at": now}}
            | ({"$unset": {"last_id": ""}} if after is START else {}),
            upsert=True,
        )

    def advance(self, *, last_id: Any, batches: int) -> None:
        self.collection.update_one(
            {"_id": self.id},
            {
                "$set": {
                    "last_id": last_id,
                    "batches": batches,
                    "counts": dict(self.totals),
                    "updated_at": datetime.now(UTC),
                }
            },
        )

    def complete(self) -> None:
        self.collection.update_one(
            {"_id": self.id},
            {"$set": {"status": "complete", "updated_at": datetime.now(UTC)}},
        )


def _arguments_check(
    *, job: str, collection: str | None, batch_size: int, limit: int | None, where: Document
) -> tuple[Job, str]:
    """The job and its collection; JobError for arguments that cannot run."""
    if job not in JOBS:
        raise JobError(f"unknown job {job!r} (known: {', '.join(JOBS)})")
    spec = JOBS[job]
    collection = collection or spec.collections[0]
    if collection not in spec.collections:
        raise JobError(f"job {job!r} runs on {', '.join(spec.collections)}, not {collection!r}")
    if batch_size < 1:
        raise JobError("batch size must be at least 1")
    if limit is not None and limit < 1:
        raise JobError("limit must be at least 1")
    for name in where:
        if not field_name_plain(name):
            raise JobError(f"--where field {name!r} is not a plain field name")
    return spec, collection


def _batch_process(
    spec: Job,
    batch: list[Document],
    *,
    target: Collection,
    result: JobResult,
    number: int,
    on_batch: Callable[[int, str], None] | None,
) -> Counter:
    """Compute and write one batch; returns its counts."""
    plan = spec.plan(batch, db=target.database, collection=target.name)
    if on_batch:
        on_batch(number, "computed")
    failed = plan_write(
        target,
        plan,
        result,
        between=(lambda: on_batch(number, "renames_inserted")) if on_batch else None,
    )
    if plan.packages_touched:
        # Releases that moved to another package change what both packages'
        # documents say of their releases (the package page reads that).
        package_summaries_refresh(target.database, names=plan.packages_touched)
    if plan.files_touched:
        package_files_refresh(names=plan.files_touched, db=target.database)
    if on_batch:
        on_batch(number, "written")
    plan.counts["processed"] += len(batch)
    plan.counts["failed"] += failed
    plan.counts["updated"] -= failed
    return plan.counts


def _result_finish(result: JobResult, run_counts: Counter, totals: Counter) -> None:
    result.processed = run_counts.pop("processed", 0)
    result.updated = run_counts.pop("updated", 0)
    result.unchanged = run_counts.pop("unchanged", 0)
    result.failed = run_counts.pop("failed", 0)
    result.counts = {k: v for k, v in sorted(run_counts.items()) if v}
    result.total_processed = totals.get("processed", 0)


def job_run(
    *,
    job: str,
    collection: str | None = None,
    batch_size: int = 500,
    limit: int | None = None,
    where: Document | None = None,
    resume: bool = False,
    progress: bool = False,
    on_batch: Callable[[int, str], None] | None = None,
) -> JobResult:
    """Run a job over a collection in ``_id`` ranges; see ``catalog.services.offline``.

    ``on_batch(number, stage)`` is called with stage ``"computed"`` before a
    batch is written, ``"renames_inserted"`` between the inserts and deletes of
    its renames, and ``"written"`` before it is checkpointed: operators can log
    from it, tests inject failures with it. A rename left half done by a run
    that stopped there (both spellings stored, the new one exactly the renamed
    old one) is finished by the next run that reaches it.
    """
    where = dict(where or {})
    spec, collection = _arguments_check(
        job=job, collection=collection, batch_size=batch_size, limit=limit, where=where
    )
    db = get_db()
    target = db[collection]
    checkpoint = _Checkpoint(db[CHECKPOINTS], job=job, target=collection, where=where)
    result = JobResult(job=job, collection=collection, where=where)
    after: Any = checkpoint.resume(result) if resume else START
    if result.complete:
        return result
    checkpoint.start(after)

    remaining = limit
    total = target.count_documents(after_query(where, after))
    bar = tqdm(
        total=min(total, limit) if limit else total,
        desc=f"{job} {collection}",
        unit="doc",
        disable=not progress,
        file=sys.stderr,
    )
    run_counts: Counter = Counter()
    try:
        while remaining is None or remaining > 0:
            size = batch_size if remaining is None else min(batch_size, remaining)
            batch = next(collection_walk(target, batch_size=size, where=where, after=after), None)
            if not batch:
                break
            number = checkpoint.batches_before + result.batches + 1
            counts = _batch_process(
                spec, batch, target=target, result=result, number=number, on_batch=on_batch
            )
            run_counts.update(counts)
            checkpoint.totals.update(counts)
            after = batch[-1]["_id"]
            result.batches += 1
            checkpoint.advance(last_id=after, batches=number)
            bar.update(len(batch))
            if remaining is not None:
                remaining -= len(batch)
            if len(batch) < size:
                break
    finally:
        bar.close()

    # Stopped by --limit exactly at the end is finished too.
    result.complete = (
        remaining is None
        or remaining > 0
        or not target.count_documents(after_query(where, after), limit=1)
    )
    if result.complete:
        checkpoint.complete()
    if collection in ("packages", "releases") and run_counts["updated"]:
        newest_lists_refresh()  # the home page's lists, as every writer of these keeps them
        counters_recount(target.database)  # a job may move, merge or drop documents
    result.last_id = None if after is START else after
    _result_finish(result, run_counts, checkpoint.totals)
    return result


def plan_write(
    target: Collection,
    plan: BatchPlan,
    result: JobResult,
    *,
    between: Callable[[], None] | None = None,
) -> int:
    """Write a batch's plan; returns how many documents failed (reported in result.errors).

    ``between`` is called after renamed documents are inserted and before the
    old spellings are deleted (tests stop a run there).
    """
    failed = 0
    if plan.updates:
        try:
            audited_bulk_write(target, plan.updates, ordered=False)
        except BulkWriteError as exc:
            for error in exc.details.get("writeErrors", []):
                op = plan.updates[error["index"]]
                result.errors.append(f"_id {op._filter['_id']!r}: {error['errmsg']}")
                failed += 1
    if plan.renames:
        # Insert the renamed documents first; delete an old one only once its
        # new copy is stored, so a failure never loses a document.
        inserted = set(range(len(plan.renames)))
        try:
            audited_bulk_write(target, [InsertOne(new) for _, new in plan.renames], ordered=False)
        except BulkWriteError as exc:
            for error in exc.details.get("writeErrors", []):
                old_id, new = plan.renames[error["index"]]
                inserted.discard(error["index"])
                result.errors.append(
                    f"_id {old_id!r}: cannot rename to {new['_id']!r}: {error['errmsg']}"
                )
                failed += 1
        if between is not None:
            between()
        deletes = [DeleteOne({"_id": plan.renames[i][0]}) for i in sorted(inserted)]
        if deletes:
            audited_bulk_write(target, deletes, ordered=False)
    if plan.finish_renames:
        audited_bulk_write(
            target, [DeleteOne({"_id": old_id}) for old_id in plan.finish_renames], ordered=False
        )
    return failed
