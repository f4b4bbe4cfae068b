"""Bring MongoDB documents back into the relational catalog: the rollback path.

The inverse of ``to_mongo``, with the same report and
guarantees, through the same mapping (the ``*_fields`` functions of
``catalog.mapping``; per collection in ``from_mongo_rows``):

- **Order.** Users, then packages (license, classifiers, maintainers), then
  releases with their files, so the rows a document refers to exist when it is
  written. A reference that does not resolve (a maintainer who is not a user, a
  release whose package is missing) fails that document only.
- **Batches.** Documents are read in ``_id`` order by range queries
  (``{"_id": {"$gt": last}}`` sorted by ``_id``, limited to one batch; never
  skip). A batch is mapped and validated before anything is written, compared
  with the rows its documents map to by natural key (username, canonical name,
  package and version, filename), and written in bulk in one transaction: new
  rows created, changed rows updated, equal rows left alone, so a re-run on
  unchanged data writes nothing. If the database refuses a batch, each document
  is written again in its own savepoint and only the refused one fails.
- **Keys.** A new row takes its document's ``sql_id`` as primary key when that
  key is free, so references and the forward mapping stay stable (restoring
  into a fresh database gives back the same keys); the PostgreSQL sequences are
  reset after such inserts.
- **Prune.** Then rows whose document is gone are deleted (the table is walked
  in primary-key batches and MongoDB asked for their keys). An empty collection
  is never taken to mean "delete every row": that is a wrong MONGODB_URI or
  an empty server.
- **Checkpoints.** After each batch the position is saved in MongoDB's
  ``migration_state`` collection under ``from_mongo:<collection>`` (never in
  the database being written); an interrupted run resumes there and ends as a
  clean run would.
- **No echo.** The live sync is suspended for the run: the documents are the
  source, and writing them back would only rewrite them.

Files, maintainers and classifier links are embedded in their parent's
document, so a changed document replaces them, whatever ``prune`` says.
Timestamps are restored as stored, ``updated`` included (although the models
set it on save); MongoDB keeps milliseconds, so restored times have that
precision.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Model
from mongoengine import Document as MongoDocument

from catalog import mapping
from catalog.documents import (
    PackageDocument,
    ReleaseDocument,
    UserDocument,
    release_document_id,
)
from catalog.models import Package, Release, User
from catalog.services.listings import listings_refresh_all
from catalog.services.migration.from_mongo_rows import (
    BatchPlan,
    MappedDocument,
    ReverseRun,
    package_map,
    packages_plan,
    packages_write,
    release_map,
    releases_plan,
    releases_write,
    user_map,
    users_plan,
    users_write,
)
from catalog.services.migration.specs import collections_check
from catalog.services.migration.state import (
    BatchHook,
    CollectionReport,
    MigrationResult,
    RowError,
    progress_bar,
    state_collection,
)
from catalog.services.sync import live_sync_suspended

COLLECTIONS = ("users", "packages", "releases")
STATE_PREFIX = "from_mongo:"
DOCUMENTS, PRUNE = "documents", "prune"
# What a refused write raises: the database's errors, and a value a field cannot convert.
WRITE_ERRORS = (DatabaseError, ValidationError, ValueError, TypeError)


def state_id(collection: str) -> str:
    """The ``migration_state`` document of a collection's reverse run."""
    return STATE_PREFIX + collection


# --- collections -------------------------------------------------------------------


@dataclass(frozen=True)
class RowSpec:
    """How one collection's documents become rows (``from_mongo_rows``), and its prune keys."""

    name: str
    model: type[Model]
    document: type[MongoDocument]
    map: Callable[[mapping.Document, ReverseRun], MappedDocument]
    plan: Callable[[list[MappedDocument], ReverseRun], BatchPlan]
    write: Callable[[BatchPlan], None]
    # Prune: the columns that make a row's document _id, and how.
    key_columns: tuple[str, ...]
    document_id: Callable[..., str]

    @property
    def collection(self):
        return self.document._get_collection()


ROW_SPECS: dict[str, RowSpec] = {
    spec.name: spec
    for spec in (
        RowSpec(
            "users",
            User,
            UserDocument,
            user_map,
            users_plan,
            users_write,
            ("username",),
            str,
        ),
        RowSpec(
            "packages",
            Package,
            PackageDocument,
            package_map,
            packages_plan,
            packages_write,
            ("name",),
            str,
        ),
        RowSpec(
            "releases",
            Release,
            ReleaseDocument,
            release_map,
            releases_plan,
            releases_write,
            ("package__name", "version"),
            release_document_id,
        ),
    )
}


# --- one batch -----------------------------------------------------------------------


def _map_batch(
    spec: RowSpec, docs: list[mapping.Document], run: ReverseRun, report: CollectionReport
) -> list[MappedDocument]:
    """Map every document; one that cannot be mapped is reported and left out."""
    items = []
    for doc in docs:
        key = str(doc.get("_id"))
        try:
            items.append(spec.map(doc, run))
        except mapping.DocumentInvalid as exc:
            report.failed += 1
            report.errors.extend(RowError(spec.name, key, f, r) for f, r in exc.problems)
        except Exception as exc:  # noqa: BLE001 - one odd document must not stop the run
            report.fail(key, "", f"cannot be mapped: {type(exc).__name__}: {exc}")
    return items


def _attempt(spec: RowSpec, items: list[MappedDocument], run: ReverseRun) -> BatchPlan:
    plan = spec.plan(items, run)
    if not run.dry_run:
        spec.write(plan)
    return plan


def _apply_batch(
    spec: RowSpec, items: list[MappedDocument], run: ReverseRun, report: CollectionReport
) -> None:
    """Compare and write one batch in one transaction; isolate a document the database refuses."""
    if not items:
        return
    plans: list[BatchPlan] = []
    try:
        with transaction.atomic():
            plans.append(_attempt(spec, items, run))
    except WRITE_ERRORS:
        with transaction.atomic():
            for item in items:
                try:
                    with transaction.atomic():  # a savepoint per document
                        plans.append(_attempt(spec, [item], run))
                except WRITE_ERRORS as exc:
                    reason = " ".join(str(exc).split())
                    report.fail(item.key, "", f"the database refused it: {reason}")
    for plan in plans:
        report.inserted += len(plan.inserts)
        report.updated += len(plan.updates)
        report.unchanged += plan.unchanged
        report.failed += len(plan.failures)
        for errors in plan.failures.values():
            report.errors.extend(errors)


def _checkpoint(spec: RowSpec, run: ReverseRun, position: dict[str, Any]) -> None:
    if not run.dry_run:
        state_collection().update_one({"_id": state_id(spec.name)}, {"$set": position})
    run.batches += 1
    if run.on_batch is not None:
        run.on_batch(spec.name, run.batches)


# --- phases ------------------------------------------------------------------------


def _copy_documents(
    spec: RowSpec, run: ReverseRun, report: CollectionReport, state: dict[str, Any]
) -> None:
    last = state.get("last_id")

    def query() -> dict[str, Any]:
        # _id are strings; a range on another type would never reach them.
        return {"_id": {"$type": "string", **({"$gt": last} if last is not None else {})}}

    total = spec.collection.count_documents(query()) if run.progress else 0
    with progress_bar(spec.name, total, run.progress) as bar:
        while True:
            docs = list(spec.collection.find(query()).sort("_id", 1).limit(run.batch_size))
            if not docs:
                break
            report.read += len(docs)
            _apply_batch(spec, _map_batch(spec, docs, run, report), run, report)
            bar.update(len(docs))
            last = docs[-1]["_id"]
            _checkpoint(spec, run, {"last_id": last})
            if len(docs) < run.batch_size:
                break
    for doc in spec.collection.find({"_id": {"$not": {"$type": "string"}}}, {"_id": 1}):
        report.read += 1
        report.fail(str(doc["_id"]), "_id", f"expected a string, got {type(doc['_id']).__name__}")


def _prune(spec: RowSpec, run: ReverseRun, report: CollectionReport, state: dict[str, Any]) -> None:
    """Delete rows whose document is gone, walking the table in primary-key batches."""
    if spec.collection.find_one({}, {"_id": 1}) is None:
        count = spec.model.objects.count()
        if count:
            report.fail(
                "*",
                "",
                f"MongoDB holds no {spec.name} documents: refusing to delete all {count} rows "
                "(is MONGODB_URI the right database? --no-prune keeps them)",
            )
        return
    last = state.get("prune_position") or 0
    while True:
        rows = list(
            spec.model.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", *spec.key_columns)[: run.batch_size]
        )
        if not rows:
            break
        keys = {row[0]: spec.document_id(*row[1:]) for row in rows}
        stored = spec.collection.find({"_id": {"$in": list(keys.values())}}, {"_id": 1})
        present = {doc["_id"] for doc in stored}
        stale = [pk for pk, key in keys.items() if key not in present]
        if stale and not run.dry_run:
            with transaction.atomic():
                spec.model.objects.filter(pk__in=stale).delete()
        report.deleted += len(stale)
        last = rows[-1][0]
        _checkpoint(spec, run, {"phase": PRUNE, "prune_position": last})
        if len(rows) < run.batch_size:
            break


def _run_collection(spec: RowSpec, run: ReverseRun, *, restart: bool) -> CollectionReport:
    started = time.perf_counter()
    previous = state_collection().find_one({"_id": state_id(spec.name)})
    resumed = bool(previous and previous.get("status") == "running" and not restart)
    if resumed:
        state = previous
    else:
        state = {
            "_id": state_id(spec.name),
            "status": "running",
            "phase": DOCUMENTS,
            "started": datetime.now(UTC).isoformat(),
            "last_id": None,
            "prune_position": 0,
        }
        if not run.dry_run:
            state_collection().replace_one({"_id": state["_id"]}, state, upsert=True)
    report = CollectionReport(spec.name, mode="full", resumed=resumed)
    if state.get("phase", DOCUMENTS) == DOCUMENTS:
        _copy_documents(spec, run, report, state)
    if run.prune:
        _prune(spec, run, report, state)
    if not run.dry_run:
        state_collection().update_one(
            {"_id": state["_id"]},
            {
                "$set": {"status": "done", "finished": datetime.now(UTC).isoformat()},
                "$unset": {"last_id": "", "prune_position": "", "phase": ""},
            },
        )
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def catalog_migrate_from_mongo(
    *,
    collections: Sequence[str] = COLLECTIONS,
    batch_size: int = 1000,
    dry_run: bool = False,
    include_credentials: bool = False,
    prune: bool = True,
    restart: bool = False,
    progress: bool = False,
    on_batch: BatchHook | None = None,
) -> MigrationResult:
    """Write MongoDB's documents back into the relational catalog (see the module docstring).

    A run resumes an interrupted one unless ``restart``. ``prune`` (default on)
    deletes rows whose document is gone. Password hashes are restored only with
    ``include_credentials`` (and only from documents that have one); a user
    created without one gets an unusable password. ``on_batch(collection, n)``
    is called after each checkpointed batch.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    collections_check(collections, known=COLLECTIONS)
    started = time.perf_counter()
    run = ReverseRun(
        collections=frozenset(collections),
        dry_run=dry_run,
        include_credentials=include_credentials,
        prune=prune,
        batch_size=batch_size,
        on_batch=on_batch,
        progress=progress,
    )
    with live_sync_suspended():
        reports = [
            _run_collection(ROW_SPECS[name], run, restart=restart)
            for name in COLLECTIONS
            if name in collections
        ]
    if not dry_run:
        # Rows were written in bulk (no signals): the large packages' listings,
        # made stale by the triggers, are built again once.
        listings_refresh_all()
    return MigrationResult(
        collections=reports,
        dry_run=dry_run,
        include_credentials=include_credentials,
        workers=1,
        seconds=round(time.perf_counter() - started, 3),
        direction="from_mongo",
    )
