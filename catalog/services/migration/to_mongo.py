"""Copy the relational catalog into MongoDB: fast, idempotent, resumable, verified.

How a run works, per collection (users, releases, packages):

- **Full run.** Primary keys are read in keyset batches (``pk > last ORDER BY
  pk LIMIT n``, never OFFSET), split into primary-key ranges when there are
  several workers. Next to each range, one MongoDB cursor streams the
  ``(_id, sql_id, checksum)`` of the documents already there, sorted by
  ``sql_id``; the two streams are merged batch by batch, so every batch knows
  which of its documents are new, changed or unchanged, and which stored
  documents no longer have a row (pruned). Nothing is held beyond one batch.
- **Incremental run** (``since``, or the high-water mark of the last run):
  only rows whose ``(updated, pk)`` is past the mark, plus rows whose document
  depends on a changed row of another table (a release changes its package's
  latest-release summary, a file changes its release, ...); each of those
  tables has its own ``(updated, pk)`` mark from the last run, so a re-run on
  unchanged data reads no rows.
- **Writes** are one unordered ``bulk_write`` per batch: ``InsertOne`` for new
  documents, ``ReplaceOne(upsert=True)`` for changed ones, ``DeleteOne`` for
  stale ones. Unchanged documents (same ``checksum``) are not written, so a
  re-run on unchanged data writes nothing. A failing document is reported by
  key and the rest of its batch is written.
- **Checkpoints.** After each batch the position is saved in the
  ``migration_state`` collection (never in the source database); a run that
  stops is resumed from there by the next run. When a collection completes,
  its high-water mark (the largest ``(updated, pk)`` when the run started)
  becomes the starting point of the next incremental run.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import Max, Min, Model, Q
from pymongo import DeleteOne

from audit.context import audit_context_snapshot
from catalog import mapping
from catalog.documents import COUNTERS_COLLECTION, release_document_id
from catalog.models import Package, Release, User
from catalog.newest import newest_lists_refresh
from catalog.package_files import package_files_refresh, package_files_refresh_all
from catalog.services.migration.specs import (
    COLLECTIONS,
    PK_MAX,
    SPECS,
    CollectionSpec,
    SortedStream,
    collections_check,
    sql_id_windows,
)
from catalog.services.migration.state import (
    BatchHook,
    CollectionReport,
    Mark,
    MigrationResult,
    changed_since,
    dependency_marks,
    latest_mark,
    mapping_db,
    migration_state,
    progress_bar,
    rows_past,
    state_collection,
)
from catalog.services.migration.workers import worker_run_range, worker_setup
from catalog.services.migration.writer import (
    BatchContext,
    batch_apply,
    batch_checkpoint,
    operations_write,
    range_run,
)


def counters_copy() -> None:
    """Carry the relational row counters into MongoDB (the home page's counts)."""
    doc = mapping.counters_document()
    mapping_db()[COUNTERS_COLLECTION].replace_one({"_id": doc["_id"]}, doc, upsert=True)


def summaries_write() -> None:
    """What the home page and feeds read beside the documents: counters and newest lists."""
    counters_copy()
    newest_lists_refresh()


# --- full runs: primary-key ranges ------------------------------------------------


def _split_ranges(model: type[Model], workers: int) -> list[tuple[int, int]]:
    bounds = model.objects.aggregate(low=Min("pk"), high=Max("pk"))
    low, high = (bounds["low"] or 1), (bounds["high"] or 1)
    if workers <= 1 or high - low < workers:
        return [(0, PK_MAX)]
    step = (high - low + 1) // workers
    edges = [0] + [low - 1 + step * i for i in range(1, workers)] + [PK_MAX]
    return list(zip(edges, edges[1:], strict=False))


# --- incremental runs: changed rows, in primary-key batches --------------------


def _changed_pks(
    spec: CollectionSpec,
    since: Mark,
    extra: Iterable[int] = (),
    marks: dict[str, dict[str, Any] | None] | None = None,
) -> list[int]:
    changed = set(spec.model.objects.filter(rows_past(since)).values_list("pk", flat=True))
    changed |= spec.dependents(changed_since(since, marks))
    changed.update(extra)
    return sorted(changed)


def _stored_for(spec: CollectionSpec, pks: Sequence[int], ids: Iterable[Any]):
    """What MongoDB holds for these rows: by sql_id (renames, deletions) and by _id."""
    projection = {"sql_id": 1, "package": 1, mapping.CHECKSUM_FIELD: 1}
    # Two lookups, each along its own index (the local server scans the whole
    # collection for an $or; a mongod would plan each branch on its index).
    stored = {
        doc["_id"]: doc for doc in spec.collection.find({"sql_id": {"$in": list(pks)}}, projection)
    }
    ids = [key for key in ids if key not in stored]
    if ids:
        stored.update(
            (doc["_id"], doc) for doc in spec.collection.find({"_id": {"$in": ids}}, projection)
        )
    return stored


def _natural_keys(spec: CollectionSpec, pks: Sequence[int]) -> list[Any]:
    if spec.name == "packages":
        return list(Package.objects.filter(pk__in=pks).values_list("name", flat=True))
    if spec.name == "users":
        return list(User.objects.filter(pk__in=pks).values_list("username", flat=True))
    return [
        release_document_id(name, version)
        for name, version in Release.objects.filter(pk__in=pks).values_list(
            "package__name", "version"
        )
    ]


def _run_pks(
    spec: CollectionSpec, ctx: BatchContext, pks: Sequence[int], report: CollectionReport
) -> None:
    for start in range(0, len(pks), ctx.batch_size):
        batch = pks[start : start + ctx.batch_size]
        existing = _stored_for(spec, batch, _natural_keys(spec, batch))
        batch_apply(spec, ctx, report, batch, existing)
        if ctx.progress is not None:
            ctx.progress.update(len(batch))
        batch_checkpoint(spec, ctx, {"position": batch[-1]})


def _prune_sweep(spec: CollectionSpec, ctx: BatchContext, report: CollectionReport) -> set[str]:
    """Delete documents whose row is gone, walking both stores in sql_id order.

    Reads only keys. Returns the packages of deleted releases (their summary changed).
    """
    touched: set[str] = set()
    cursor = (
        # Every document that came from a row (sql_id > 0): a range of the sql_id index.
        spec.collection.find({"sql_id": {"$gt": 0}}, {"sql_id": 1, "package": 1})
        .sort("sql_id", 1)
        .batch_size(ctx.batch_size)
    )
    stored = SortedStream(iter(cursor))
    for pks, upper, window in sql_id_windows(spec.model, stored, ctx.batch_size):
        if window:
            touched.update(_stale_delete(spec, ctx, report, pks, window))
        batch_checkpoint(spec, ctx, {"prune_position": upper})
    return touched


def _stale_delete(
    spec: CollectionSpec,
    ctx: BatchContext,
    report: CollectionReport,
    pks: list[int],
    window: dict[Any, dict[str, Any]],
) -> set[str]:
    """Delete the documents of ``window`` whose row is not among ``pks``; their packages."""
    present = set(pks)
    keep = set(_natural_keys(spec, pks)) if pks else set()
    stale = [
        (key, doc) for key, doc in window.items() if key not in keep or doc["sql_id"] not in present
    ]
    ops = [DeleteOne({"_id": key, "sql_id": doc["sql_id"]}) for key, doc in stale]
    if not ops:
        return set()
    packages = {doc["package"] for _, doc in stale if doc.get("package")}
    ctx.packages_touched.update(packages)
    # Written ahead of the deletes: a run that stops after them still
    # refreshes these packages (their latest release and count).
    _packages_to_refresh(ctx, packages)
    operations_write(spec, ctx, report, ops, [key for key, _ in stale])
    return packages


REFRESH_FIELD = "refresh"


def _packages_to_refresh(ctx: BatchContext, names: set[str]) -> None:
    """Keep, in the packages collection's state, the packages a pruned release changed."""
    if ctx.dry_run or not names:
        return
    state_collection().update_one(
        {"_id": "packages"}, {"$addToSet": {REFRESH_FIELD: {"$each": sorted(names)}}}, upsert=True
    )


# --- a whole run ---------------------------------------------------------------


def _plan(
    spec: CollectionSpec,
    *,
    since: datetime | None,
    full: bool,
    restart: bool,
    workers: int,
) -> dict[str, Any]:
    """The state document of the run to do now: resumed, incremental or full."""
    previous = migration_state(spec.name)
    if previous and previous.get("status") == "running" and not restart:
        # Resume the interrupted run, unless this one asks for something else.
        wanted_since = Mark(since, 0).as_state() if since is not None else None
        same = (
            (since is None and not full)
            or (full and previous.get("mode") == "full")
            or (wanted_since is not None and previous.get("since") == wanted_since)
        )
        if same:
            return {**previous, "resumed": True}
    pending = latest_mark(spec.model)
    base = {
        "_id": spec.name,
        "status": "running",
        "started": datetime.now(UTC).isoformat(),
        "pending_mark": pending.as_state() if pending else None,
        "pending_dependency_marks": dependency_marks(spec.depends_on),
        "high_water": (previous or {}).get("high_water"),
        "dependency_marks": (previous or {}).get("dependency_marks"),
        "resumed": False,
    }
    if since is not None:
        return {
            **base,
            "mode": "incremental",
            "since": Mark(since, 0).as_state(),
            "since_dependencies": None,
        }
    if not full and previous and previous.get("high_water"):
        return {
            **base,
            "mode": "incremental",
            "since": previous["high_water"],
            "since_dependencies": previous.get("dependency_marks"),
        }
    ranges = _split_ranges(spec.model, workers)
    return {**base, "mode": "full", "since": None, "ranges": ranges, "positions": {}}


def _run_collection(
    spec: CollectionSpec,
    ctx: BatchContext,
    *,
    since: datetime | None,
    full: bool,
    restart: bool,
    workers: int,
    prune: bool | None,
    extra_pks: set[int],
    show_progress: bool,
) -> tuple[CollectionReport, set[str]]:
    started = time.perf_counter()
    # Packages a pruning run (this one, or one that stopped) must refresh.
    refresh = sorted((migration_state(spec.name) or {}).get(REFRESH_FIELD) or [])
    plan = _plan(spec, since=since, full=full, restart=restart, workers=workers)
    resumed = plan.pop("resumed")
    if refresh:
        plan[REFRESH_FIELD] = refresh
    report = CollectionReport(spec.name, mode=plan["mode"], resumed=resumed)
    if plan.get("since"):
        report.since = str(Mark.from_state(plan["since"]))
    if not ctx.dry_run:
        state_collection().replace_one({"_id": spec.name}, plan, upsert=True)
    ctx.prune = True if prune is None else prune
    touched: set[str] = set()
    if plan["mode"] == "full":
        _full_run(spec, ctx, plan, report, workers=workers, show_progress=show_progress)
    else:
        touched = _incremental_run(
            spec, ctx, plan, report, extra_pks=extra_pks, show_progress=show_progress
        )
    ctx.progress = None
    if not ctx.dry_run:
        _run_done(spec, ctx, plan)
    report.seconds = round(time.perf_counter() - started, 3)
    return report, touched


def _full_run(
    spec: CollectionSpec,
    ctx: BatchContext,
    plan: dict[str, Any],
    report: CollectionReport,
    *,
    workers: int,
    show_progress: bool,
) -> None:
    """Every primary-key range of the plan not finished yet (all of them, unless resumed)."""
    ranges = [tuple(r) for r in plan["ranges"]]
    positions = {int(k): v for k, v in (plan.get("positions") or {}).items()}
    todo = [(i, lo, hi, positions.get(i)) for i, (lo, hi) in enumerate(ranges)]
    todo = [t for t in todo if t[3] is None or t[3] < t[2]]
    total = spec.model.objects.filter(
        _remaining_filter([(lo, hi, pos) for _, lo, hi, pos in todo])
    ).count()
    with progress_bar(spec.name, total, show_progress) as bar:
        ctx.progress = bar
        for part in _run_ranges(spec, ctx, todo, workers):
            report.add(part)


def _incremental_run(
    spec: CollectionSpec,
    ctx: BatchContext,
    plan: dict[str, Any],
    report: CollectionReport,
    *,
    extra_pks: set[int],
    show_progress: bool,
) -> set[str]:
    """The rows changed since the plan's mark, then the prune sweep; the packages it touched."""
    since_mark = Mark.from_state(plan["since"])
    pks = _changed_pks(spec, since_mark, extra_pks, plan.get("since_dependencies"))
    if plan.get("position") is not None:
        pks = [pk for pk in pks if pk > plan["position"]]
    refresh = plan.get(REFRESH_FIELD)
    refresh_pks = (
        set(Package.objects.filter(name__in=refresh).values_list("pk", flat=True))
        if refresh
        else set()
    )
    # Never skipped by a resumed position: rewriting an up-to-date package
    # writes nothing, and a name may have been added since the position.
    pks = sorted(set(pks) | refresh_pks)
    with progress_bar(spec.name, len(pks), show_progress) as bar:
        ctx.progress = bar
        _run_pks(spec, ctx, pks, report)
    return _prune_sweep(spec, ctx, report) if ctx.prune else set()


def _run_done(spec: CollectionSpec, ctx: BatchContext, plan: dict[str, Any]) -> None:
    """Mark the collection's run done, with the high-water marks of the next one."""
    # The mark taken when the run started: rows changed during the run are
    # past it, so the next incremental run picks them up.
    state_collection().update_one(
        {"_id": spec.name},
        {
            "$set": {
                "status": "done",
                "finished": datetime.now(UTC).isoformat(),
                "high_water": plan.get("pending_mark") or plan.get("high_water"),
                "dependency_marks": (
                    plan.get("pending_dependency_marks")
                    if plan.get("pending_mark")
                    else plan.get("dependency_marks")
                ),
                "include_credentials": ctx.include_credentials,
            },
            "$unset": {
                "positions": "",
                "position": "",
                "prune_position": "",
                **({REFRESH_FIELD: ""} if plan.get(REFRESH_FIELD) else {}),
            },
        },
    )
    # Declared indexes, built after the bulk load (cheaper than maintaining them
    # during it); creating an index that exists is a no-op.
    spec.document.ensure_indexes()


def _remaining_filter(ranges: Sequence[tuple[int, int, int | None]]) -> Q:
    condition = Q(pk__in=[])
    for low, high, position in ranges:
        condition |= Q(pk__gt=low if position is None else position, pk__lte=high)
    return condition


def _run_ranges(
    spec: CollectionSpec,
    ctx: BatchContext,
    todo: list[tuple[int, int, int, int | None]],
    workers: int,
) -> list[CollectionReport]:
    if workers <= 1 or len(todo) <= 1:
        return [range_run(spec, ctx, *t) for t in todo]
    # Separate processes, each with its own connections to both databases (a
    # forked connection must not be shared), and this run's audit context: the
    # same actor and correlation id, and no entries under audit_disabled().
    connections.close_all()
    options = {
        "include_credentials": ctx.include_credentials,
        "dry_run": ctx.dry_run,
        "prune": ctx.prune,
        "force": ctx.force,
        "batch_size": ctx.batch_size,
    }
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=worker_setup,
        initargs=(_stores(),),
    )
    with pool:
        audit = audit_context_snapshot()
        futures = [pool.submit(worker_run_range, spec.name, options, audit, *t) for t in todo]
        reports = []
        for future in futures:
            part = future.result()
            if ctx.progress is not None:
                ctx.progress.update(part.read)
            reports.append(part)
        return reports


def _stores() -> dict[str, Any]:
    """The databases this process uses, for workers that load the settings afresh.

    The same as the settings say, unless a caller changed them at run time (a
    test database, a script pointing at another server).
    """
    return {
        "sql_name": connections["default"].settings_dict["NAME"],
        "mongo": dict(settings.MONGODB_DATABASES["default"]),
    }


def catalog_migrate(
    *,
    collections: Sequence[str] = COLLECTIONS,
    batch_size: int = 1000,
    dry_run: bool = False,
    include_credentials: bool = False,
    since: datetime | None = None,
    full: bool = False,
    restart: bool = False,
    prune: bool | None = None,
    force: bool = False,
    workers: int = 1,
    progress: bool = False,
    on_batch: BatchHook | None = None,
) -> MigrationResult:
    """Copy the relational catalog into MongoDB (see the module docstring).

    ``since`` starts an incremental run at that time; without it a run resumes an
    interrupted one, or continues from the last high-water mark, or (first run,
    or ``full``) copies everything. ``prune`` (default on) removes documents whose
    row is gone. ``force`` rewrites documents even when their checksum matches.
    ``on_batch(collection, n)`` is called after each checkpointed batch.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if workers < 1:
        raise ValueError("workers must be at least 1")
    collections_check(collections, known=COLLECTIONS)
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    started = time.perf_counter()
    ctx = BatchContext(
        include_credentials=include_credentials,
        dry_run=dry_run,
        prune=True,
        force=force,
        batch_size=batch_size,
        on_batch=on_batch,
    )
    reports: list[CollectionReport] = []
    touched_packages: set[str] = set()
    for name in COLLECTIONS:
        if name not in collections:
            continue
        extra: set[int] = set()
        if name == "packages" and touched_packages:
            extra = set(
                Package.objects.filter(name__in=touched_packages).values_list("pk", flat=True)
            )
        report, touched = _run_collection(
            SPECS[name],
            ctx,
            since=since,
            full=full,
            restart=restart,
            workers=workers,
            prune=prune,
            extra_pks=extra,
            show_progress=progress,
        )
        touched_packages |= touched
        reports.append(report)
    if not dry_run:
        if any(r.mode == "full" and r.collection != "users" for r in reports):
            # A full run (perhaps resumed: earlier batches were written by the run
            # that stopped) rebuilds every package's file parts.
            package_files_refresh_all()
        else:
            package_files_refresh(names=ctx.packages_touched)
        summaries_write()
    return MigrationResult(
        collections=reports,
        dry_run=dry_run,
        include_credentials=include_credentials,
        workers=workers,
        seconds=round(time.perf_counter() - started, 3),
    )


def documents_sync(
    *,
    packages: Iterable[int] = (),
    releases: Iterable[int] = (),
    users: Iterable[int] = (),
    include_credentials: bool | None = None,
) -> MigrationResult:
    """Bring the documents of these rows up to date (the live sync's write path).

    A row that no longer exists (or was renamed) has its document removed.
    """
    started = time.perf_counter()
    if include_credentials is None:
        state = migration_state("users") or {}
        include_credentials = bool(state.get("include_credentials"))
    ctx = BatchContext(
        include_credentials=include_credentials,
        dry_run=False,
        prune=True,
        force=False,
        batch_size=1000,
    )
    reports = []
    for name, pks in (("users", users), ("releases", releases), ("packages", packages)):
        pks = sorted(set(pks))
        if not pks:
            continue
        spec = SPECS[name]
        report = CollectionReport(name, mode="sync")
        for start in range(0, len(pks), ctx.batch_size):
            batch = pks[start : start + ctx.batch_size]
            existing = _stored_for(spec, batch, _natural_keys(spec, batch))
            batch_apply(spec, ctx, report, batch, existing)
        reports.append(report)
    if reports:
        package_files_refresh(names=ctx.packages_touched)
        summaries_write()
    return MigrationResult(
        collections=reports,
        dry_run=False,
        include_credentials=include_credentials,
        workers=1,
        seconds=round(time.perf_counter() - started, 3),
    )
