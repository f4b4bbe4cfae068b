"""Offline batch jobs over a MongoDB collection: walk, compute, write back, checkpoint.

The runner walks a collection in ``_id`` ranges: every batch is a fresh
``find({"_id": {"$gt": last}}).sort("_id", 1).limit(n)``, so no cursor stays
open across the collection and nothing uses skip. Each batch is computed by
the job, written with unordered bulk writes, then checkpointed in
``job_checkpoints``; ``resume=True`` starts after the last checkpointed
``_id``. Jobs only write what changed, so a batch that was written but not
checkpointed (a crash in between) is redone without effect, and an
interrupted, resumed run ends identical to an uninterrupted one.

Limit: ``_id`` range walks compare within one BSON type; the catalog's
collections use string ids throughout.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from mongoengine.connection import get_db
from pymongo import DeleteOne, InsertOne, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError
from tqdm import tqdm

from audit.mongo import audited_bulk_write
from catalog.documents import release_document_id
from catalog.mapping import default_release, latest_summary
from catalog.versions import canonicalize_name, parse_version

CHECKPOINTS = "job_checkpoints"
Document = dict[str, Any]
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
_START = object()


class JobError(ValueError):
    """Bad arguments or a checkpoint that cannot be resumed: nothing was written."""


# --- walking -----------------------------------------------------------------


def _after_query(where: Document, after: Any) -> Document:
    if after is _START:
        return dict(where)
    if not where:
        return {"_id": {"$gt": after}}
    return {"$and": [where, {"_id": {"$gt": after}}]}


def collection_walk(
    collection: Collection,
    *,
    batch_size: int,
    where: Document | None = None,
    after: Any = _START,
    projection: Document | None = None,
) -> Iterator[list[Document]]:
    """Yield batches in ``_id`` order, one bounded query per batch."""
    last = after
    while True:
        query = _after_query(where or {}, last)
        batch = list(collection.find(query, projection).sort("_id", 1).limit(batch_size))
        if not batch:
            return
        yield batch
        if len(batch) < batch_size:
            return
        last = batch[-1]["_id"]


def where_parse(items: list[str] | None) -> Document:
    """``--where field=value`` pairs as an equality filter.

    Field names must be plain (dotted) names, never operators; a value is a
    JSON number, true, false or null when it parses as one, else the literal
    string, so user input can never become an operator or a regex.
    """
    where: Document = {}
    for item in items or []:
        name, sep, raw = item.partition("=")
        if not sep or not _FIELD.match(name):
            raise JobError(f"--where {item!r}: expected FIELD=VALUE with a plain field name")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        if isinstance(value, dict | list):
            value = raw
        where[name] = value
    return where


# --- jobs --------------------------------------------------------------------


@dataclass
class BatchPlan:
    """What a job wants written for one batch, and what it counted."""

    updates: list[UpdateOne] = field(default_factory=list)
    # (old _id, new document): written as insert then delete, never losing either.
    renames: list[tuple[Any, Document]] = field(default_factory=list)
    # Old _ids of renames a crashed run left half done (the new copy is stored,
    # the old one is not deleted yet): only the delete remains.
    finish_renames: list[Any] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    collections: tuple[str, ...]  # the first is the default
    plan: Callable[..., BatchPlan]


def _changed(doc: Document, values: Document) -> Document:
    """The values that differ from the document's; an absent field is filled in, even with null."""
    return {k: v for k, v in values.items() if k not in doc or doc[k] != v}


# package_stats ---------------------------------------------------------------

_RELEASE_PROJECTION = {
    "package": 1,
    "version": 1,
    "requires_python": 1,
    "yanked": 1,
    "created": 1,
    "files.size": 1,
}


def package_stats_compute(releases: list[Document]) -> Document:
    """The denormalized fields of a package document, from its release documents."""
    parsed = [
        SimpleNamespace(
            version=r["version"],
            # Recomputed through catalog.versions, never trusting a stored key.
            sort_key=(p := parse_version(r["version"])).sort_key,
            is_prerelease=p.is_prerelease,
            yanked=bool(r.get("yanked")),
            created=r.get("created"),
            requires_python=r.get("requires_python") or "",
        )
        for r in releases
    ]
    dates = [r.created for r in parsed if r.created is not None]
    return {
        "release_count": len(releases),
        "latest": latest_summary(default_release(parsed)),
        "first_release": min(dates) if dates else None,
        "last_release": max(dates) if dates else None,
        "total_size": sum(f.get("size") or 0 for r in releases for f in r.get("files") or []),
    }


def _package_stats_plan(batch: list[Document], *, db) -> BatchPlan:
    plan = BatchPlan()
    by_package: dict[str, list[Document]] = defaultdict(list)
    # The batch is in _id order, so its releases are one range of the
    # (package, sort_key) index; releases of packages outside the batch
    # (skipped by --where) are ignored.
    in_range = {"package": {"$gte": batch[0]["_id"], "$lte": batch[-1]["_id"]}}
    # Sorted (newest first per package, along the index): without a sort a
    # server returns documents in whatever order it stores them.
    releases = db.releases.find(in_range, _RELEASE_PROJECTION).sort(
        [("package", 1), ("sort_key", -1)]
    )
    for release in releases:
        by_package[release["package"]].append(release)
    for doc in batch:
        changed = _changed(doc, package_stats_compute(by_package[doc["_id"]]))
        if changed:
            plan.updates.append(UpdateOne({"_id": doc["_id"]}, {"$set": changed}))
            plan.counts["updated"] += 1
        else:
            plan.counts["unchanged"] += 1
    return plan


# normalize -------------------------------------------------------------------

# Common license names that name exactly one SPDX license. Ambiguous ones
# ("BSD License", "GPL", "GNU GPL v3" without "only"/"or later") stay unmapped.
_LICENSE_NAMES = {
    "mit license": "MIT",
    "the mit license": "MIT",
    "mit-license": "MIT",
    "apache 2.0": "Apache-2.0",
    "apache 2": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "apache license version 2.0": "Apache-2.0",
    "apache software license 2.0": "Apache-2.0",
    "bsd 2-clause license": "BSD-2-Clause",
    "bsd 3-clause license": "BSD-3-Clause",
    "new bsd license": "BSD-3-Clause",
    "simplified bsd license": "BSD-2-Clause",
    "isc license": "ISC",
    "isc license (iscl)": "ISC",
    "mozilla public license 2.0": "MPL-2.0",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "the unlicense": "Unlicense",
    "the unlicense (unlicense)": "Unlicense",
    "python software foundation license": "PSF-2.0",
    "zlib license": "Zlib",
    "boost software license 1.0": "BSL-1.0",
    "cc0 1.0 universal": "CC0-1.0",
}


@lru_cache(maxsize=1)
def _licensing():
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


@lru_cache(maxsize=4096)
def spdx_identifier(name: str) -> str | None:
    """The SPDX expression a license name clearly denotes, else None.

    SPDX ids and their aliases ("mit", "GPL-3.0+", "MIT OR Apache-2.0") come
    from license-expression's SPDX list; a few common long names from the
    table above. Anything else is not a clear match.
    """
    text = " ".join(name.split())
    if not text:
        return None
    if text.lower() in _LICENSE_NAMES:
        return _LICENSE_NAMES[text.lower()]
    try:
        expression = _licensing().parse(text, validate=True, strict=True)
    except Exception:  # license-expression raises several error types for unknown text
        return None
    if expression is None:
        return None
    rendered = expression.render()
    # ScanCode's own keys are not SPDX identifiers.
    return None if "LicenseRef-" in rendered else rendered


def _email(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _finish_rename(plan: BatchPlan, old_id: Any) -> None:
    # The new name already holds exactly this document renamed: a run stopped
    # between a rename's insert and its delete. Finishing it (deleting the old
    # spelling) loses nothing and ends where an uninterrupted run ends.
    plan.finish_renames.append(old_id)
    plan.counts["renamed"] += 1
    plan.counts["updated"] += 1


def _normalize_packages_plan(batch: list[Document], *, db) -> BatchPlan:
    plan = BatchPlan()
    wanted = {canonicalize_name(d["_id"]) for d in batch if canonicalize_name(d["_id"]) != d["_id"]}
    stored = {d["_id"]: d for d in db.packages.find({"_id": {"$in": sorted(wanted)}})}
    taken = set(stored)
    for doc in batch:
        values = {k: _email(doc[k]) for k in ("author_email", "maintainer_email") if k in doc}
        license_doc = doc.get("license")
        if isinstance(license_doc, dict) and license_doc.get("name"):
            spdx = spdx_identifier(license_doc.get("spdx_id") or "") or spdx_identifier(
                license_doc["name"]
            )
            if spdx is None:
                plan.counts["license_unmatched"] += 1
            elif license_doc.get("spdx_id") != spdx:
                values["license"] = {**license_doc, "spdx_id": spdx}
                plan.counts["license_mapped"] += 1
        changed = _changed(doc, values)
        canonical = canonicalize_name(doc["_id"])
        if canonical != doc["_id"]:
            renamed = {**doc, **changed, "_id": canonical}
            if canonical in taken:
                if stored.get(canonical) == renamed:
                    _finish_rename(plan, doc["_id"])
                    continue
                # Two spellings of one package: an operator decides (merge_sources).
                plan.counts["name_collisions"] += 1
                plan.counts["unchanged"] += 1
                continue
            taken.add(canonical)
            plan.renames.append((doc["_id"], renamed))
            plan.counts["renamed"] += 1
            plan.counts["updated"] += 1
        elif changed:
            plan.updates.append(UpdateOne({"_id": doc["_id"]}, {"$set": changed}))
            plan.counts["updated"] += 1
        else:
            plan.counts["unchanged"] += 1
    return plan


def _normalize_releases_plan(batch: list[Document], *, db) -> BatchPlan:
    plan = BatchPlan()
    new_ids = {}
    for doc in batch:
        package = doc.get("package")
        if isinstance(package, str) and doc.get("version"):
            new_ids[doc["_id"]] = release_document_id(canonicalize_name(package), doc["version"])
    wanted = sorted({v for k, v in new_ids.items() if k != v})
    stored = {d["_id"]: d for d in db.releases.find({"_id": {"$in": wanted}})}
    taken = set(stored)
    for doc in batch:
        new_id = new_ids.get(doc["_id"])
        if new_id is None:
            plan.counts["missing_package_or_version"] += 1
            plan.counts["unchanged"] += 1
        elif new_id != doc["_id"]:
            renamed = {**doc, "_id": new_id, "package": canonicalize_name(doc["package"])}
            if new_id in taken:
                if stored.get(new_id) == renamed:
                    _finish_rename(plan, doc["_id"])
                    continue
                plan.counts["name_collisions"] += 1
                plan.counts["unchanged"] += 1
                continue
            taken.add(new_id)
            plan.renames.append((doc["_id"], renamed))
            plan.counts["renamed"] += 1
            plan.counts["updated"] += 1
        else:
            plan.counts["unchanged"] += 1
    return plan


def _normalize_users_plan(batch: list[Document], *, db) -> BatchPlan:
    plan = BatchPlan()
    for doc in batch:
        changed = _changed(doc, {"email": _email(doc["email"])} if "email" in doc else {})
        if changed:
            plan.updates.append(UpdateOne({"_id": doc["_id"]}, {"$set": changed}))
            plan.counts["updated"] += 1
        else:
            plan.counts["unchanged"] += 1
    return plan


_NORMALIZE_PLANS = {
    "packages": _normalize_packages_plan,
    "releases": _normalize_releases_plan,
    "users": _normalize_users_plan,
}


def _normalize_plan(batch: list[Document], *, db, collection: str) -> BatchPlan:
    return _NORMALIZE_PLANS[collection](batch, db=db)


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            name="package_stats",
            description=(
                "recompute release_count, latest, first_release, last_release and "
                "total_size of each package from the releases collection"
            ),
            collections=("packages",),
            plan=lambda batch, *, db, collection: _package_stats_plan(batch, db=db),
        ),
        Job(
            name="normalize",
            description=(
                "lowercase emails, canonical package names (packages, releases), "
                "license names to SPDX identifiers where they clearly match"
            ),
            collections=("packages", "releases", "users"),
            plan=_normalize_plan,
        ),
    )
}


# --- the runner --------------------------------------------------------------


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


def job_list() -> list[Job]:
    return list(JOBS.values())


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
    """Run a job over a collection in ``_id`` ranges; see the module docstring.

    ``on_batch(number, stage)`` is called with stage ``"computed"`` before a
    batch is written, ``"renames_inserted"`` between the inserts and deletes of
    its renames, and ``"written"`` before it is checkpointed: operators can log
    from it, tests inject failures with it. A rename left half done by a run
    that stopped there (both spellings stored, the new one exactly the renamed
    old one) is finished by the next run that reaches it.
    """
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
    where = dict(where or {})
    for name in where:
        if not _FIELD.match(name):
            raise JobError(f"--where field {name!r} is not a plain field name")
    db = get_db()
    target = db[collection]
    checkpoints = db[CHECKPOINTS]
    checkpoint_id = f"{job}:{collection}"
    where_pairs = sorted([k, v] for k, v in where.items())

    result = JobResult(job=job, collection=collection, where=where)
    totals: Counter = Counter()
    after: Any = _START
    batches_before = 0
    if resume:
        saved = checkpoints.find_one({"_id": checkpoint_id})
        if saved is not None and saved.get("where") != where_pairs:
            raise JobError(
                f"checkpoint {checkpoint_id!r} was made with --where "
                f"{dict(saved.get('where') or [])!r}; resume with the same filter "
                "or run again without --resume"
            )
        if saved is not None and saved.get("status") == "complete":
            result.complete = True
            result.last_id = saved.get("last_id")
            result.total_processed = saved.get("counts", {}).get("processed", 0)
            return result
        if saved is not None and "last_id" in saved:
            after = result.resumed_from = saved["last_id"]
            totals.update(saved.get("counts") or {})
            batches_before = saved.get("batches", 0)
    now = datetime.now(UTC)
    state = {"job": job, "collection": collection, "where": where_pairs, "status": "running"}
    if after is _START:
        # A fresh start forgets any earlier position and totals.
        state |= {"batches": 0, "counts": {}, "started_at": now}
    checkpoints.update_one(
        {"_id": checkpoint_id},
        {"$set": state | {"updated_at": now}}
        | ({"$unset": {"last_id": ""}} if after is _START else {}),
        upsert=True,
    )

    remaining = limit
    total = target.count_documents(_after_query(where, after))
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
            number = batches_before + result.batches + 1
            plan = spec.plan(batch, db=db, collection=collection)
            if on_batch:
                on_batch(number, "computed")
            failed = _plan_write(
                target,
                plan,
                result,
                between=(lambda n=number: on_batch(n, "renames_inserted")) if on_batch else None,
            )
            if on_batch:
                on_batch(number, "written")
            plan.counts["processed"] += len(batch)
            plan.counts["failed"] += failed
            plan.counts["updated"] -= failed
            run_counts.update(plan.counts)
            totals.update(plan.counts)
            after = batch[-1]["_id"]
            result.batches += 1
            checkpoints.update_one(
                {"_id": checkpoint_id},
                {
                    "$set": {
                        "last_id": after,
                        "batches": number,
                        "counts": dict(totals),
                        "updated_at": datetime.now(UTC),
                    }
                },
            )
            bar.update(len(batch))
            if remaining is not None:
                remaining -= len(batch)
            if len(batch) < size:
                break
    finally:
        bar.close()

    # Stopped by --limit exactly at the end is finished too.
    finished = (
        remaining is None
        or remaining > 0
        or not target.count_documents(_after_query(where, after), limit=1)
    )
    if finished:
        checkpoints.update_one(
            {"_id": checkpoint_id},
            {"$set": {"status": "complete", "updated_at": datetime.now(UTC)}},
        )
    result.complete = finished
    result.last_id = None if after is _START else after
    result.processed = run_counts.pop("processed", 0)
    result.updated = run_counts.pop("updated", 0)
    result.unchanged = run_counts.pop("unchanged", 0)
    result.failed = run_counts.pop("failed", 0)
    result.counts = {k: v for k, v in sorted(run_counts.items()) if v}
    result.total_processed = totals.get("processed", 0)
    return result


def _plan_write(
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
