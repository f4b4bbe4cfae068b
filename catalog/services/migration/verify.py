"""Compare MongoDB with the relational catalog, document by document, writing nothing.

Each collection is walked the way the migration walks it: primary keys in
keyset batches, next to a MongoDB cursor sorted by ``sql_id``. Every row's
document is built through ``catalog.mapping`` and compared with the stored one
(checksum first, then field by field to say which fields differ). Stored
documents without a row are reported as extra.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from catalog import mapping
from catalog.models import Package
from catalog.services.migration.specs import (
    COLLECTIONS,
    SPECS,
    CollectionSpec,
    SortedStream,
    sql_id_windows,
)

IN_SYNC = "in sync"  # both exist, with the same values
MISSING = "missing"  # a row without its document
EXTRA = "extra"  # a document without its row
DIFFERS = "differs"  # both exist, with different values


@dataclass
class Mismatch:
    collection: str
    key: str
    kind: str
    fields: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.kind == DIFFERS:
            return f"{self.collection} {self.key!r}: differs in {', '.join(self.fields)}"
        if self.kind == MISSING:
            return f"{self.collection} {self.key!r}: missing from MongoDB"
        return f"{self.collection} {self.key!r}: in MongoDB but not in the relational database"


@dataclass
class CollectionVerification:
    collection: str
    rows: int = 0
    documents: int = 0
    matching: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.rows == self.documents


@dataclass
class VerifyResult:
    collections: list[CollectionVerification]
    include_credentials: bool
    seconds: float = 0.0

    @property
    def mismatch_count(self) -> int:
        return sum(len(c.mismatches) for c in self.collections)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.collections)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(ok=self.ok, mismatch_count=self.mismatch_count)
        for report, out in zip(self.collections, data["collections"], strict=True):
            out["ok"] = report.ok
        return data


def _normalized(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=mapping.json_default)


def differing_fields(
    expected: mapping.Document, stored: mapping.Document, *, check_checksum: bool = True
) -> list[str]:
    """Top-level fields whose values differ (a stale stored checksum counts)."""
    names = sorted((set(expected) | set(stored)) - {mapping.CHECKSUM_FIELD})
    fields = [n for n in names if _normalized(expected.get(n)) != _normalized(stored.get(n))]
    if check_checksum and stored.get(mapping.CHECKSUM_FIELD) != mapping.document_checksum(expected):
        fields.append(mapping.CHECKSUM_FIELD)
    return fields


def _verify_collection(
    spec: CollectionSpec, *, batch_size: int, include_credentials: bool
) -> CollectionVerification:
    started = time.perf_counter()
    report = CollectionVerification(spec.name)
    collection = spec.collection
    report.rows = spec.model.objects.count()
    report.documents = collection.count_documents({})
    cursor = collection.find({"sql_id": {"$gt": 0}}).sort("sql_id", 1).batch_size(batch_size)
    stored = SortedStream(iter(cursor))
    matched_elsewhere: set[Any] = set()
    for pks, _, window in sql_id_windows(spec.model, stored, batch_size):
        expected_docs = spec.build(pks, include_credentials) if pks else []
        unmatched = []
        for expected in expected_docs:
            doc = window.pop(expected["_id"], None)
            if doc is None:
                unmatched.append(expected)
            else:
                _compare(report, spec, expected, doc, include_credentials)
        if unmatched:
            matched_elsewhere |= _compare_elsewhere(report, spec, unmatched, include_credentials)
        for key in window:
            if key not in matched_elsewhere:
                report.mismatches.append(Mismatch(spec.name, str(key), EXTRA))
    # Documents that never had a row (no sql_id) are extra too.
    for doc in collection.find({"$or": [{"sql_id": None}, {"sql_id": {"$lte": 0}}]}, {"_id": 1}):
        if doc["_id"] not in matched_elsewhere:
            report.mismatches.append(Mismatch(spec.name, str(doc["_id"]), EXTRA))
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _compare_elsewhere(
    report: CollectionVerification,
    spec: CollectionSpec,
    unmatched: list[mapping.Document],
    include_credentials: bool,
) -> set[Any]:
    """Expected documents not stored under their row's sql_id: looked up by _id.

    Such a document is stored under another sql_id (a recreated row). Returns the
    ``_id`` of those found; the others are missing.
    """
    found = {
        d["_id"]: d for d in spec.collection.find({"_id": {"$in": [e["_id"] for e in unmatched]}})
    }
    matched: set[Any] = set()
    for expected in unmatched:
        doc = found.get(expected["_id"])
        if doc is None:
            report.mismatches.append(Mismatch(spec.name, str(expected["_id"]), MISSING))
        else:
            matched.add(doc["_id"])
            _compare(report, spec, expected, doc, include_credentials)
    return matched


def _compare(
    report: CollectionVerification,
    spec: CollectionSpec,
    expected: mapping.Document,
    stored: mapping.Document,
    include_credentials: bool,
) -> None:
    check_checksum = True
    if not include_credentials and "password" in stored:
        # Whether hashes were copied is the operator's choice, not a mismatch; the
        # stored checksum covers the hash, so only the content can be compared.
        stored = {k: v for k, v in stored.items() if k != "password"}
        check_checksum = False
    expected_sum = mapping.document_checksum(expected)
    if mapping.document_checksum(stored) == expected_sum and (
        not check_checksum or stored.get(mapping.CHECKSUM_FIELD) == expected_sum
    ):
        report.matching += 1
        return
    fields = differing_fields(expected, stored, check_checksum=check_checksum)
    if fields:
        report.mismatches.append(Mismatch(spec.name, str(expected["_id"]), DIFFERS, fields))
    else:
        report.matching += 1


def catalog_verify(
    *,
    collections: Sequence[str] = COLLECTIONS,
    batch_size: int = 1000,
    include_credentials: bool = False,
) -> VerifyResult:
    """Compare counts and every document with the rows it comes from; write nothing."""
    started = time.perf_counter()
    reports = [
        _verify_collection(
            SPECS[name], batch_size=batch_size, include_credentials=include_credentials
        )
        for name in COLLECTIONS
        if name in collections
    ]
    return VerifyResult(
        collections=reports,
        include_credentials=include_credentials,
        seconds=round(time.perf_counter() - started, 3),
    )


@dataclass
class DocumentCheck:
    """One row's document: in sync, differs (in which fields) or missing."""

    collection: str
    key: str
    state: str  # IN_SYNC, DIFFERS or MISSING
    fields: list[str] = field(default_factory=list)
    # Packages only: their release documents, stored and expected (counts).
    releases_stored: int | None = None
    releases_expected: int | None = None


def package_document_check(*, pk: int) -> DocumentCheck:
    """Compare one package's stored document with the one its row builds, as the verifier does.

    A constant number of SQL queries (``mapping.package_documents``), one read of
    the document by ``_id`` and one count of its releases on the
    (package, sort_key) index.
    """
    documents = mapping.package_documents([pk])
    if not documents:
        raise Package.DoesNotExist(f"No package with primary key {pk}.")
    expected = documents[0]
    key = expected["_id"]
    stored = SPECS["packages"].collection.find_one({"_id": key})
    check = DocumentCheck(
        "packages",
        key,
        MISSING,
        releases_stored=SPECS["releases"].collection.count_documents({"package": key}),
        releases_expected=expected["release_count"],
    )
    if stored is None:
        return check
    report = CollectionVerification("packages")
    _compare(report, SPECS["packages"], expected, stored, include_credentials=False)
    if report.mismatches:
        check.state, check.fields = DIFFERS, report.mismatches[0].fields
    else:
        check.state = IN_SYNC
    return check
