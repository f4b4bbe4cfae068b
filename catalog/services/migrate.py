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

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import Max, Min, Model, Q, QuerySet
from mongoengine import Document as MongoDocument
from pymongo import DeleteOne, InsertOne, ReplaceOne
from pymongo.errors import BulkWriteError
from tqdm import tqdm

from audit.context import audit_context_snapshot
from audit.mongo import audited_bulk_write
from catalog import mapping
from catalog.documents import (
    COUNTERS_COLLECTION,
    PackageDocument,
    ReleaseDocument,
    UserDocument,
    release_document_id,
)
from catalog.models import (
    Classifier,
    License,
    Maintainer,
    Package,
    Release,
    ReleaseFile,
    User,
)
from catalog.services.migrate_workers import worker_run_range, worker_setup

STATE_COLLECTION = "migration_state"
DUPLICATE_KEY = 11000
# Upper bound of the last primary-key range (stored in MongoDB, so within int64).
PK_MAX = 2**62

BatchHook = Callable[[str, int], None]


# --- results -----------------------------------------------------------------


@dataclass
class RowError:
    collection: str
    key: str
    field: str
    reason: str

    def __str__(self) -> str:
        where = f" {self.field}" if self.field else ""
        return f"{self.collection} {self.key!r}{where}: {self.reason}"


@dataclass
class CollectionReport:
    collection: str
    mode: str = "full"
    since: str | None = None
    resumed: bool = False
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[RowError] = field(default_factory=list)

    @property
    def written(self) -> int:
        return self.inserted + self.updated + self.deleted

    def add(self, other: CollectionReport) -> None:
        for name in ("read", "inserted", "updated", "unchanged", "deleted", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)

    def fail(self, key: str, field_name: str, reason: str) -> None:
        self.failed += 1
        self.errors.append(RowError(self.collection, key, field_name, reason))


@dataclass
class MigrationResult:
    collections: list[CollectionReport]
    dry_run: bool
    include_credentials: bool
    workers: int
    seconds: float = 0.0
    direction: str = "to_mongo"

    @property
    def failed(self) -> int:
        return sum(c.failed for c in self.collections)

    @property
    def written(self) -> int:
        return sum(c.written for c in self.collections)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(ok=self.ok, failed=self.failed, written=self.written)
        for report, out in zip(self.collections, data["collections"], strict=True):
            out["written"] = report.written
        return data


# --- collections -------------------------------------------------------------


@dataclass(frozen=True)
class CollectionSpec:
    """How one collection is built from its driving table."""

    name: str
    model: type[Model]
    document: type[MongoDocument]
    build: Callable[[Sequence[int], bool], list[mapping.Document]]
    problems: Callable[[mapping.Document], list[tuple[str, str]]]
    # Other tables whose rows are part of the document, and the primary keys
    # whose document depends on rows of those tables changed since a time
    # (given per table: each table has its own high-water mark).
    depends_on: tuple[type[Model], ...]
    dependents: Callable[[Since], set[int]]

    @property
    def collection(self):
        return self.document._get_collection()


# The rows of a table changed since that table's mark.
Since = Callable[[type[Model]], QuerySet]


def _package_dependents(changed: Since) -> set[int]:
    pks: set[int] = set()
    pks.update(changed(Release).values_list("package_id", flat=True))
    # A file's change raises its package's last_serial (catalog.signals).
    pks.update(changed(ReleaseFile).values_list("release__package_id", flat=True))
    pks.update(changed(Maintainer).values_list("package_id", flat=True))
    pks.update(Package.objects.filter(license__in=changed(License)).values_list("pk", flat=True))
    pks.update(
        Package.objects.filter(classifiers__in=changed(Classifier)).values_list("pk", flat=True)
    )
    pks.update(
        Maintainer.objects.filter(user__in=changed(User)).values_list("package_id", flat=True)
    )
    return pks


def _release_dependents(changed: Since) -> set[int]:
    pks: set[int] = set()
    pks.update(changed(ReleaseFile).values_list("release_id", flat=True))
    # A renamed package renames its releases' _id and package field.
    pks.update(Release.objects.filter(package__in=changed(Package)).values_list("pk", flat=True))
    return pks


SPECS: dict[str, CollectionSpec] = {
    spec.name: spec
    for spec in (
        CollectionSpec(
            name="users",
            model=User,
            document=UserDocument,
            build=lambda pks, creds: mapping.user_documents(pks, include_credentials=creds),
            problems=mapping.user_problems,
            depends_on=(),
            dependents=lambda since: set(),
        ),
        # Releases before packages: a pruned release refreshes its package.
        CollectionSpec(
            name="releases",
            model=Release,
            document=ReleaseDocument,
            build=lambda pks, creds: mapping.release_documents(pks),
            problems=mapping.release_problems,
            depends_on=(ReleaseFile, Package),
            dependents=_release_dependents,
        ),
        CollectionSpec(
            name="packages",
            model=Package,
            document=PackageDocument,
            build=lambda pks, creds: mapping.package_documents(pks),
            problems=mapping.package_problems,
            depends_on=(Release, ReleaseFile, Maintainer, License, Classifier, User),
            dependents=_package_dependents,
        ),
    )
}
COLLECTIONS = tuple(SPECS)


# --- marks and state ---------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """A position in (updated, pk) order: rows sharing a timestamp are never skipped."""

    updated: datetime
    pk: int

    def as_state(self) -> dict[str, Any]:
        # An ISO string keeps the microseconds that a BSON date would drop.
        return {"updated": self.updated.isoformat(), "pk": self.pk}

    @classmethod
    def from_state(cls, data: dict[str, Any] | None) -> Mark | None:
        if not data:
            return None
        return cls(datetime.fromisoformat(data["updated"]), int(data["pk"]))

    def __str__(self) -> str:
        return f"{self.updated.isoformat()} (id {self.pk})"


def _latest_mark(model: type[Model]) -> Mark | None:
    row = model.objects.order_by("-updated", "-pk").values_list("updated", "pk").first()
    return Mark(*row) if row else None


def _dependency_marks(spec: CollectionSpec) -> dict[str, dict[str, Any] | None]:
    """The (updated, pk) mark of each table the collection's documents depend on."""
    marks: dict[str, dict[str, Any] | None] = {}
    for model in spec.depends_on:
        mark = _latest_mark(model)
        marks[model._meta.label_lower] = mark.as_state() if mark else None
    return marks


def _past(mark: Mark) -> Q:
    return Q(updated__gt=mark.updated) | Q(updated=mark.updated, pk__gt=mark.pk)


def _changed_since(since: Mark, marks: dict[str, dict[str, Any] | None] | None) -> Since:
    """Rows of a dependency table past its own mark (``since`` when none was stored).

    A table that was empty at the last run (mark None) is read from the start.
    """

    def changed(model: type[Model]) -> QuerySet:
        label = model._meta.label_lower
        if marks is None or label not in marks:
            return model.objects.filter(_past(since))
        mark = Mark.from_state(marks[label])
        return model.objects.filter(_past(mark)) if mark else model.objects.all()

    return changed


def state_collection():
    return mapping_db()[STATE_COLLECTION]


def mapping_db():
    return UserDocument._get_db()


def counters_copy() -> None:
    """Carry the relational row counters into MongoDB (the home page's counts)."""
    doc = mapping.counters_document()
    mapping_db()[COUNTERS_COLLECTION].replace_one({"_id": doc["_id"]}, doc, upsert=True)


def migration_state(collection: str) -> dict[str, Any] | None:
    """The stored state of the last run for one collection (None before the first run)."""
    return state_collection().find_one({"_id": collection})


# --- one batch ---------------------------------------------------------------


@dataclass
class _Context:
    include_credentials: bool
    dry_run: bool
    prune: bool
    force: bool
    batch_size: int
    on_batch: BatchHook | None = None
    progress: Any = None
    batches: int = 0


def _build(
    spec: CollectionSpec, pks: Sequence[int], ctx: _Context, report: CollectionReport
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


def _apply_batch(
    spec: CollectionSpec,
    ctx: _Context,
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
        _write(spec, ctx, report, ops, keys)


def _count(ops: Iterable[Any], kind: type) -> int:
    return sum(isinstance(op, kind) for op in ops)


def _write(
    spec: CollectionSpec,
    ctx: _Context,
    report: CollectionReport,
    ops: list[Any],
    keys: list[Any],
) -> None:
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
        _write(spec, ctx, report, retry, retry_keys)


def _write_error(error: dict[str, Any]) -> str:
    if error.get("code") == DUPLICATE_KEY:
        return (
            "another document already holds one of this document's unique keys "
            f"({error.get('errmsg', 'E11000')})"
        )
    return f"MongoDB refused the write: {error.get('errmsg', error)}"


def _after_batch(spec: CollectionSpec, ctx: _Context, state_update: dict[str, Any]) -> None:
    if not ctx.dry_run:
        state_collection().update_one({"_id": spec.name}, {"$set": state_update})
    ctx.batches += 1
    if ctx.on_batch is not None:
        ctx.on_batch(spec.name, ctx.batches)


# --- full runs: primary-key ranges, merged with a sorted MongoDB stream --------


class _Peekable:
    def __init__(self, iterator: Iterator[dict[str, Any]]):
        self._iterator = iterator
        self._next = next(iterator, None)

    def take_through(self, sql_id: int) -> dict[Any, dict[str, Any]]:
        taken = {}
        while self._next is not None and self._next["sql_id"] <= sql_id:
            taken[self._next["_id"]] = self._next
            self._next = next(self._iterator, None)
        return taken


def _stored_by_sql_id(spec: CollectionSpec, after: int, through: int, batch_size: int):
    query = {"sql_id": {"$gt": after, "$lte": through}}
    projection = {"sql_id": 1, mapping.CHECKSUM_FIELD: 1}
    cursor = spec.collection.find(query, projection).sort("sql_id", 1).batch_size(batch_size)
    return _Peekable(iter(cursor))


def _run_range(
    spec: CollectionSpec, ctx: _Context, index: int, low: int, high: int, position: int | None
) -> CollectionReport:
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
            _apply_batch(spec, ctx, report, pks, existing)
            if ctx.progress is not None:
                ctx.progress.update(len(pks))
        last = upper
        _after_batch(spec, ctx, {f"positions.{index}": last})
        if upper == high:
            return report


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
    dependency_marks: dict[str, dict[str, Any] | None] | None = None,
) -> list[int]:
    changed = set(spec.model.objects.filter(_past(since)).values_list("pk", flat=True))
    changed |= spec.dependents(_changed_since(since, dependency_marks))
    changed.update(extra)
    return sorted(changed)


def _stored_for(spec: CollectionSpec, pks: Sequence[int], ids: Iterable[Any]):
    """What MongoDB holds for these rows: by sql_id (renames, deletions) and by _id."""
    projection = {"sql_id": 1, mapping.CHECKSUM_FIELD: 1}
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
    spec: CollectionSpec, ctx: _Context, pks: Sequence[int], report: CollectionReport
) -> None:
    for start in range(0, len(pks), ctx.batch_size):
        batch = pks[start : start + ctx.batch_size]
        existing = _stored_for(spec, batch, _natural_keys(spec, batch))
        _apply_batch(spec, ctx, report, batch, existing)
        if ctx.progress is not None:
            ctx.progress.update(len(batch))
        _after_batch(spec, ctx, {"position": batch[-1]})


def _prune_sweep(spec: CollectionSpec, ctx: _Context, report: CollectionReport) -> set[str]:
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
    stored = _Peekable(iter(cursor))
    last = 0
    while True:
        pks = list(
            spec.model.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[: ctx.batch_size]
        )
        upper = pks[-1] if len(pks) == ctx.batch_size else PK_MAX
        window = stored.take_through(upper)
        if window:
            present = set(pks)
            keep = set(_natural_keys(spec, pks)) if pks else set()
            stale = [
                (key, doc)
                for key, doc in window.items()
                if key not in keep or doc["sql_id"] not in present
            ]
            ops = [DeleteOne({"_id": key, "sql_id": doc["sql_id"]}) for key, doc in stale]
            if ops:
                packages = {doc["package"] for _, doc in stale if doc.get("package")}
                # Written ahead of the deletes: a run that stops after them still
                # refreshes these packages (their latest release and count).
                _packages_to_refresh(ctx, packages)
                _write(spec, ctx, report, ops, [key for key, _ in stale])
                touched.update(packages)
        _after_batch(spec, ctx, {"prune_position": upper})
        if upper == PK_MAX:
            return touched
        last = upper


REFRESH_FIELD = "refresh"


def _packages_to_refresh(ctx: _Context, names: set[str]) -> None:
    """Keep, in the packages collection's state, the packages a pruned release changed."""
    if ctx.dry_run or not names:
        return
    state_collection().update_one(
        {"_id": "packages"}, {"$addToSet": {REFRESH_FIELD: {"$each": sorted(names)}}}, upsert=True
    )


# --- a whole run ---------------------------------------------------------------


def _progress_bar(name: str, total: int, enabled: bool):
    return tqdm(
        total=total,
        desc=name,
        unit="rows",
        file=sys.stderr,
        disable=not (enabled and sys.stderr.isatty()),
        leave=False,
    )


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
    pending = _latest_mark(spec.model)
    base = {
        "_id": spec.name,
        "status": "running",
        "started": datetime.now(UTC).isoformat(),
        "pending_mark": pending.as_state() if pending else None,
        "pending_dependency_marks": _dependency_marks(spec),
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
    ctx: _Context,
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
    refresh_pks: set[int] = set()
    if refresh:
        plan[REFRESH_FIELD] = refresh
        refresh_pks = set(Package.objects.filter(name__in=refresh).values_list("pk", flat=True))
    report = CollectionReport(spec.name, mode=plan["mode"], resumed=resumed)
    if plan.get("since"):
        report.since = str(Mark.from_state(plan["since"]))
    if not ctx.dry_run:
        state_collection().replace_one({"_id": spec.name}, plan, upsert=True)
    touched: set[str] = set()
    if plan["mode"] == "full":
        ctx.prune = True if prune is None else prune
        ranges = [tuple(r) for r in plan["ranges"]]
        positions = {int(k): v for k, v in (plan.get("positions") or {}).items()}
        todo = [(i, lo, hi, positions.get(i)) for i, (lo, hi) in enumerate(ranges)]
        todo = [t for t in todo if t[3] is None or t[3] < t[2]]
        total = spec.model.objects.filter(
            _remaining_filter([(lo, hi, pos) for _, lo, hi, pos in todo])
        ).count()
        with _progress_bar(spec.name, total, show_progress) as bar:
            ctx.progress = bar
            for part in _run_ranges(spec, ctx, todo, workers):
                report.add(part)
    else:
        since_mark = Mark.from_state(plan["since"])
        pks = _changed_pks(spec, since_mark, extra_pks, plan.get("since_dependencies"))
        if plan.get("position") is not None:
            pks = [pk for pk in pks if pk > plan["position"]]
        # Never skipped by a resumed position: rewriting an up-to-date package
        # writes nothing, and a name may have been added since the position.
        pks = sorted(set(pks) | refresh_pks)
        ctx.prune = True if prune is None else prune
        with _progress_bar(spec.name, len(pks), show_progress) as bar:
            ctx.progress = bar
            _run_pks(spec, ctx, pks, report)
        if ctx.prune:
            touched = _prune_sweep(spec, ctx, report)
    ctx.progress = None
    if not ctx.dry_run:
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
                    **({REFRESH_FIELD: ""} if refresh else {}),
                },
            },
        )
        # Declared indexes, built after the bulk load (cheaper than maintaining them
        # during it); creating an index that exists is a no-op.
        spec.document.ensure_indexes()
    report.seconds = round(time.perf_counter() - started, 3)
    return report, touched


def _remaining_filter(ranges: Sequence[tuple[int, int, int | None]]) -> Q:
    condition = Q(pk__in=[])
    for low, high, position in ranges:
        condition |= Q(pk__gt=low if position is None else position, pk__lte=high)
    return condition


def _run_ranges(
    spec: CollectionSpec,
    ctx: _Context,
    todo: list[tuple[int, int, int, int | None]],
    workers: int,
) -> list[CollectionReport]:
    if workers <= 1 or len(todo) <= 1:
        return [_run_range(spec, ctx, *t) for t in todo]
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


def collections_check(collections: Iterable[str], *, known: Sequence[str]) -> None:
    """Refuse collection names a migration does not know, naming the known ones."""
    unknown = set(collections) - set(known)
    if unknown:
        raise ValueError(
            f"unknown collection(s): {', '.join(sorted(unknown))}; "
            f"expected some of {', '.join(known)}"
        )


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
    ctx = _Context(
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
        counters_copy()
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
    ctx = _Context(
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
            _apply_batch(spec, ctx, report, batch, existing)
        reports.append(report)
    if reports:
        counters_copy()
    return MigrationResult(
        collections=reports,
        dry_run=False,
        include_credentials=include_credentials,
        workers=1,
        seconds=round(time.perf_counter() - started, 3),
    )
