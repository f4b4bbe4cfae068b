"""(c) the floor of bench/migrate.py: values_list() reads, plain dicts, insert_many.

Imported in the bench's child process, after Django is set up.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from audit.recorder import MONGO_ENTRIES, ensure_mongo_indexes, mongo_db
from catalog.document_fields import (
    FILE_FIELDS,
    HISTORY_FIELDS,
    LATEST_FIELDS,
    PACKAGE_FIELDS,
    RELEASE_FIELDS,
    USER_FIELDS,
)
from catalog.documents import PackageDocument, ReleaseDocument, UserDocument
from catalog.file_entries import ENTRY_FIELDS
from catalog.mapping import document_checksum, document_terms
from catalog.models import Maintainer, Package, Release, ReleaseFile, User

# Columns of a row of the packages' release query: package_id, *LATEST_FIELDS.
_PRERELEASE = 1 + LATEST_FIELDS.index("is_prerelease")
_YANKED = 1 + LATEST_FIELDS.index("yanked")


def ms(value):
    """A datetime (or None) to MongoDB's milliseconds, as catalog.mapping does."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000) if value else value


def clean(value):
    return ms(value) if isinstance(value, datetime) else value


def _dates(model, fields) -> list[str]:
    return [f for f in fields if model._meta.get_field(f).get_internal_type() == "DateTimeField"]


class Floor:
    """One floor run: its timings, the audit chain of its entries, and its checksums."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.timings = {"read": 0.0, "build": 0.0, "insert": 0.0, "indexes": 0.0, "entries": 0.0}
        ensure_mongo_indexes()
        self.entries = mongo_db()[MONGO_ENTRIES]
        self.now = datetime.now(UTC)
        self.chain = {"seq": 0, "hash": ""}
        self.checksums: dict[str, dict[Any, str]] = {}

    def batches(self, model, fields):
        """Rows ``(pk, *fields)`` in primary-key keyset batches, as the migration reads."""
        last = 0
        while True:
            started = time.perf_counter()
            rows = list(
                model.objects.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", *fields)[: self.batch_size]
            )
            self.timings["read"] += time.perf_counter() - started
            if not rows:
                return
            yield rows
            last = rows[-1][0]

    def write(self, document, docs: list[dict[str, Any]]) -> None:
        """Checksums, insert_many, then one chained audit entry per document."""
        sums = self.checksums.setdefault(document._get_collection_name(), {})
        started = time.perf_counter()
        for doc in docs:
            doc["checksum"] = sums[doc["_id"]] = document_checksum(doc)
        self.timings["build"] += time.perf_counter() - started
        started = time.perf_counter()
        document._get_collection().insert_many(docs, ordered=False)
        self.timings["insert"] += time.perf_counter() - started
        started = time.perf_counter()
        rows = [self._entry(document, doc) for doc in docs]
        self.entries.insert_many(rows, ordered=True)
        self.timings["entries"] += time.perf_counter() - started

    def _entry(self, document, doc: dict[str, Any]) -> dict[str, Any]:
        text = json.dumps(doc, sort_keys=True, default=str)
        self.chain["seq"] += 1
        self.chain["hash"] = hashlib.sha256((self.chain["hash"] + text).encode()).hexdigest()
        return {
            "_id": self.chain["seq"],
            "model": document._get_collection_name(),
            "object_key": str(doc["_id"]),
            "operation": "bulk_create",
            "timestamp": self.now,
            "actor": "command:bench_floor",
            "correlation_id": "bench-floor",
            "changes": text,
            "hash": self.chain["hash"],
        }

    def users(self) -> None:
        keys = ("sql_id", "_id", *USER_FIELDS)
        stamps = _dates(User, USER_FIELDS)
        self.checksums[UserDocument._get_collection_name()] = {}
        for rows in self.batches(User, ("username", *USER_FIELDS)):
            started = time.perf_counter()
            docs = []
            for row in rows:
                doc = dict(zip(keys, row, strict=True))
                for key in stamps:
                    doc[key] = ms(doc[key])
                docs.append(doc)
            self.timings["build"] += time.perf_counter() - started
            self.write(UserDocument, docs)

    def releases(self) -> None:
        """Releases, their files embedded."""
        keys = ("sql_id", "package", *RELEASE_FIELDS)
        stamps = _dates(Release, RELEASE_FIELDS)
        self.checksums[ReleaseDocument._get_collection_name()] = {}
        for rows in self.batches(Release, ("package__name", *RELEASE_FIELDS)):
            started = time.perf_counter()
            files = _files(rows[0][0], rows[-1][0])
            self.timings["read"] += time.perf_counter() - started
            started = time.perf_counter()
            docs = []
            for row in rows:
                doc = dict(zip(keys, row, strict=True))
                doc["_id"] = f"{doc['package']}=={doc['version']}"
                for key in stamps:
                    doc[key] = ms(doc[key])
                doc["files"] = files.get(doc["sql_id"], [])
                docs.append(doc)
            self.timings["build"] += time.perf_counter() - started
            self.write(ReleaseDocument, docs)

    def packages(self) -> None:
        """Packages: license, classifiers, maintainers, latest release, count, history embedded."""
        keys = ("sql_id", "_id", *PACKAGE_FIELDS, "license_name", "license_spdx")
        stamps = _dates(Package, PACKAGE_FIELDS)
        self.checksums[PackageDocument._get_collection_name()] = {}
        columns = ("name", *PACKAGE_FIELDS, "license__name", "license__spdx_id")
        for rows in self.batches(Package, columns):
            started = time.perf_counter()
            related = _PackageRelated(rows[0][0], rows[-1][0])
            self.timings["read"] += time.perf_counter() - started
            started = time.perf_counter()
            docs = []
            for row in rows:
                doc = dict(zip(keys, row, strict=True))
                for key in stamps:
                    doc[key] = ms(doc[key])
                related.embed(doc)
                docs.append(doc)
            self.timings["build"] += time.perf_counter() - started
            self.write(PackageDocument, docs)

    def indexes(self) -> None:
        """The collections' declared indexes, as the migration leaves them."""
        started = time.perf_counter()
        for document in (UserDocument, ReleaseDocument, PackageDocument):
            document.ensure_indexes()
        self.timings["indexes"] = time.perf_counter() - started


def _files(low: int, high: int) -> dict[int, list[dict[str, Any]]]:
    """The files of the releases ``low <= pk <= high``, by release."""
    files: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for release_id, *values in (
        ReleaseFile.objects.filter(release_id__gte=low, release_id__lte=high)
        .order_by("release_id", "filename")
        # With the API entries the rows keep (computed on write), as the mapping embeds them.
        .values_list("release_id", *FILE_FIELDS, *ENTRY_FIELDS)
    ):
        file = dict(zip((*FILE_FIELDS, *ENTRY_FIELDS), values, strict=True))
        file["upload_time"] = ms(file["upload_time"])
        files[release_id].append(file)
    return files


class _PackageRelated:
    """The rows of other tables that the packages ``low <= pk <= high`` embed."""

    def __init__(self, low: int, high: int) -> None:
        through = Package.classifiers.through
        self.classifiers: dict[int, list[str]] = defaultdict(list)
        for package_id, name in through.objects.filter(
            package_id__gte=low, package_id__lte=high
        ).values_list("package_id", "classifier__name"):
            self.classifiers[package_id].append(name)
        self.roles: dict[int, list[tuple]] = defaultdict(list)
        for package_id, user_id, username, role in Maintainer.objects.filter(
            package_id__gte=low, package_id__lte=high
        ).values_list("package_id", "user_id", "user__username", "role"):
            self.roles[package_id].append((role != "owner", username, user_id, role))
        self.latest: dict[int, tuple] = {}
        self.newest: dict[int, tuple] = {}
        self.counts: dict[int, int] = defaultdict(int)
        for row in (
            Release.objects.filter(package_id__gte=low, package_id__lte=high)
            .order_by("package_id", "-sort_key")
            .values_list("package_id", *LATEST_FIELDS)
        ):
            package_id = row[0]
            self.counts[package_id] += 1
            if package_id not in self.newest:
                self.newest[package_id] = row
            if package_id not in self.latest and not row[_PRERELEASE] and not row[_YANKED]:
                self.latest[package_id] = row
        # The release history, newest first (catalog.mapping.HISTORY_ORDER).
        self.history: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for package_id, *values in (
            Release.objects.filter(package_id__gte=low, package_id__lte=high)
            .order_by("package_id", "-sort_key", "-pk")
            .values_list("package_id", *HISTORY_FIELDS)
        ):
            self.history[package_id].append(
                {f: clean(v) for f, v in zip(HISTORY_FIELDS, values, strict=True)}
            )

    def embed(self, doc: dict[str, Any]) -> None:
        name, spdx = doc.pop("license_name"), doc.pop("license_spdx")
        doc["license"] = None if name is None else {"name": name, "spdx_id": spdx}
        pk = doc["sql_id"]
        doc["classifiers"] = sorted(self.classifiers.get(pk, ()))
        doc["maintainers"] = [
            {"user_id": user_id, "username": username, "role": role}
            for _, username, user_id, role in sorted(self.roles.get(pk, ()))
        ]
        chosen = self.latest.get(pk) or self.newest.get(pk)
        doc["latest"] = chosen and {
            field: clean(value) for field, value in zip(LATEST_FIELDS, chosen[1:], strict=True)
        }
        doc["release_count"] = self.counts.get(pk, 0)
        doc["history"] = self.history.get(pk, [])
        doc["terms"] = document_terms(doc)  # the search terms, computed on write


def floor_run(batch_size: int) -> tuple[dict[str, float], dict[str, dict[Any, str]]]:
    """values_list() reads, plain dicts, insert_many; returns timings and checksums.

    Primary-key keyset batches, as the migration reads; the related rows of a
    batch by primary-key range. Then the collections' declared indexes, as the
    migration leaves them (a server builds them per document: on the local
    server each index costs about as much as the insert itself).

    The audited floor adds what an audited migration must also store: one
    entry per document (its JSON and a hash, chained) inserted with
    insert_many into the audit collection, with that collection's indexes;
    timed apart ("entries").
    """
    floor = Floor(batch_size)
    floor.users()
    floor.releases()
    floor.packages()
    floor.indexes()
    return floor.timings, floor.checksums
