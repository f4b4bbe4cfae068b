"""The jobs: what each computes for a batch of documents, and the registry of jobs."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pymongo import UpdateOne

from catalog.documents import release_document_id
from catalog.services.offline.licenses import spdx_identifier
from catalog.services.offline.walk import Document
from catalog.services.package_summaries import (
    RELEASE_PROJECTION,
    package_summary_compute,
)
from catalog.versions import canonicalize_name


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
    # Package documents whose release summary the batch's writes change, and
    # packages whose file parts (catalog.package_files) are rebuilt after it.
    packages_touched: set[str] = field(default_factory=set)
    files_touched: set[str] = field(default_factory=set)


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


def package_stats_compute(releases: list[Document]) -> Document:
    """The denormalized fields of a package document, from its release documents."""
    dates = [r["created"] for r in releases if r.get("created") is not None]
    return {
        **package_summary_compute(releases),
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
    releases = db.releases.find(in_range, RELEASE_PROJECTION).sort(
        [("package", 1), ("sort_key", -1)]
    )
    for release in releases:
        by_package[release["package"]].append(release)
    # The job recomputes everything the packages keep of their releases.
    plan.files_touched.update(doc["_id"] for doc in batch)
    for doc in batch:
        changed = _changed(doc, package_stats_compute(by_package[doc["_id"]]))
        if changed:
            plan.updates.append(UpdateOne({"_id": doc["_id"]}, {"$set": changed}))
            plan.counts["updated"] += 1
        else:
            plan.counts["unchanged"] += 1
    return plan


def _email(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _plan_rename(
    plan: BatchPlan, old_id: Any, renamed: Document, *, stored: dict, taken: set
) -> None:
    """Move a document to its new ``_id``, unless another document holds that id."""
    new_id = renamed["_id"]
    if new_id in taken:
        if stored.get(new_id) != renamed:
            # Two spellings of one package: an operator decides (merge_sources).
            plan.counts["name_collisions"] += 1
            plan.counts["unchanged"] += 1
            return
        # The new id already holds exactly this document renamed: a run stopped
        # between a rename's insert and its delete. Finishing it (deleting the old
        # spelling) loses nothing and ends where an uninterrupted run ends.
        plan.finish_renames.append(old_id)
    else:
        taken.add(new_id)
        plan.renames.append((old_id, renamed))
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
            _plan_rename(plan, doc["_id"], renamed, stored=stored, taken=taken)
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
            _plan_rename(plan, doc["_id"], renamed, stored=stored, taken=taken)
            plan.packages_touched.update((doc["package"], renamed["package"]))
            plan.files_touched.update((doc["package"], renamed["package"]))
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
                "recompute release_count, latest, history, first_release, last_release, "
                "total_size and the file parts of each package from the releases collection"
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


def job_list() -> list[Job]:
    return list(JOBS.values())
