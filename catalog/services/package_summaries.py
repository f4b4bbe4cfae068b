"""What a package document says of its releases, recomputed from the release documents.

A package document embeds its release count, its default release (``latest``)
and its release history (``catalog.mapping`` builds them from the rows). A
writer that changes release documents without the rows (a merge into the
releases collection, an offline job) recomputes them here, from the release
documents, with the values the mapping would give, so the package page stays
right whichever writer wrote last.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from pymongo import UpdateOne

from audit.mongo import audited_bulk_write
from catalog.document_fields import HISTORY_FIELDS
from catalog.mapping import default_release, latest_summary
from catalog.models import release_version_fields

Document = dict[str, Any]
# Packages whose releases one query reads.
REFRESH_BATCH = 500

RELEASE_PROJECTION = {
    "package": 1,
    "sql_id": 1,
    **dict.fromkeys(HISTORY_FIELDS, 1),
    "files.size": 1,
}


def release_view(doc: Document) -> SimpleNamespace:
    """What choosing the default release reads of a release document."""
    # Recomputed from the version, never trusting a stored key.
    sort_key, is_prerelease = release_version_fields(doc["version"])
    return SimpleNamespace(
        version=doc["version"],
        sort_key=sort_key,
        is_prerelease=is_prerelease,
        yanked=bool(doc.get("yanked")),
        created=doc.get("created"),
        requires_python=doc.get("requires_python") or "",
    )


def _history(releases: list[Document], parsed: list[SimpleNamespace]) -> list[Document]:
    """The package document's release history (catalog.mapping's, from release documents).

    Newest version first, then the later row (``sql_id``; a document without
    one after those with one), as mapping.HISTORY_ORDER orders the rows.
    """
    pairs = sorted(
        zip(releases, parsed, strict=True),
        key=lambda pair: (
            pair[1].sort_key,
            pair[0].get("sql_id") is not None,
            pair[0].get("sql_id") or 0,
        ),
        reverse=True,
    )
    return [
        {**{f: doc.get(f) for f in HISTORY_FIELDS}, "is_prerelease": view.is_prerelease}
        for doc, view in pairs
    ]


def package_summary_compute(releases: list[Document]) -> Document:
    """What a package document says of its releases (count, default release, history).

    From its release documents; the same values catalog.mapping builds from the rows.
    """
    parsed = [release_view(r) for r in releases]
    return {
        "release_count": len(releases),
        "latest": latest_summary(default_release(parsed)),
        "history": _history(releases, parsed),
    }


def package_summaries_refresh(db, *, names: Iterable[str]) -> int:
    """Recompute the release summary of these package documents; returns how many changed.

    One read of the releases per REFRESH_BATCH packages (a range of the
    ``package`` index) and one write of the documents that differ; a name
    without a package document is skipped.
    """
    changed = 0
    ordered = sorted(set(names))
    for start in range(0, len(ordered), REFRESH_BATCH):
        chunk = ordered[start : start + REFRESH_BATCH]
        releases: dict[str, list[Document]] = defaultdict(list)
        for release in db.releases.find({"package": {"$in": chunk}}, RELEASE_PROJECTION):
            releases[release["package"]].append(release)
        stored = db.packages.find(
            {"_id": {"$in": chunk}}, {"release_count": 1, "latest": 1, "history": 1}
        )
        updates = []
        for doc in stored:
            values = package_summary_compute(releases[doc["_id"]])
            differs = {k: v for k, v in values.items() if k not in doc or doc[k] != v}
            if differs:
                updates.append(UpdateOne({"_id": doc["_id"]}, {"$set": differs}))
        if updates:
            audited_bulk_write(db.packages, updates, ordered=False)
            changed += len(updates)
    return changed
