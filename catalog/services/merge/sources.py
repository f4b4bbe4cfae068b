"""The sources a merge reads: JSON / JSON Lines files, MongoDB collections, the catalog.

Each source yields records (a document and where it was found, so an operator
can find it again) or, for what cannot be parsed, a ``MalformedRecord``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any, Literal

from bson import json_util
from bson.json_util import JSONOptions
from mongoengine.connection import get_db

from catalog.services.merge.results import Document, MalformedRecord, MergeError

# Collection sources are read in batches of READ_BATCH documents (each a
# bounded _id range query).
READ_BATCH = 10_000
# MongoDB's own limit on nesting in a BSON document; a deeper record cannot be
# stored, and Python's JSON parser would hit its recursion limit long before.
MAX_DEPTH = 100

_JSON_OPTIONS = JSONOptions(tz_aware=True, tzinfo=UTC)


@dataclass(frozen=True)
class SourceSpec:
    name: str
    kind: Literal["file", "mongo", "sql"]
    location: str


@dataclass
class Record:
    """One document read from a source, and where: how an operator finds it again."""

    source: str
    where: str  # "line 12", "item 3", "_id 'x'"
    doc: Any


def _sql_packages():
    from catalog.mapping import package_documents
    from catalog.models import Package

    return Package, package_documents


def _sql_releases():
    from catalog.mapping import release_documents
    from catalog.models import Release

    return Release, release_documents


def _sql_users():
    from catalog.mapping import user_documents
    from catalog.models import User

    return User, user_documents


_SQL_SOURCES: dict[str, Callable[[], tuple[Any, Callable[[Sequence[int]], list[Document]]]]] = {
    "packages": _sql_packages,
    "releases": _sql_releases,
    "users": _sql_users,
}


def source_spec_parse(text: str) -> SourceSpec:
    """``mirror=file:dump.jsonl``, ``old=mongo:packages_old``, ``live=sql:packages``."""
    name, sep, spec = text.partition("=")
    kind, sep2, location = spec.partition(":")
    if not sep or not sep2 or not name or not location:
        raise MergeError(f"source {text!r}: expected NAME=KIND:LOCATION (file:, mongo: or sql:)")
    if kind not in ("file", "mongo", "sql"):
        raise MergeError(f"source {name!r}: unknown kind {kind!r} (expected file, mongo or sql)")
    if kind == "sql" and location not in _SQL_SOURCES:
        raise MergeError(
            f"source {name!r}: unknown relational source {location!r} "
            f"(expected one of {', '.join(sorted(_SQL_SOURCES))})"
        )
    return SourceSpec(name=name, kind=kind, location=location)


def _parsed(source: str, where: str, text: str) -> Any:
    """The parsed JSON text, or a MalformedRecord saying why it cannot be."""
    try:
        return json_util.loads(text, json_options=_JSON_OPTIONS)
    except ValueError as exc:
        return MalformedRecord(source, where, f"not valid JSON: {exc}")
    except RecursionError:
        return MalformedRecord(
            source, where, f"JSON nested too deeply (the limit is {MAX_DEPTH} levels)"
        )


def _file_records(spec: SourceSpec) -> Iterator[Record | MalformedRecord]:
    path = Path(spec.location)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MergeError(f"source {spec.name!r}: cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise MergeError(f"source {spec.name!r}: {path} is not UTF-8 text") from exc
    if path.suffix.lower() not in (".jsonl", ".ndjson") and text.lstrip().startswith("["):
        items = _parsed(spec.name, str(path), text)
        if isinstance(items, MalformedRecord):
            yield items
            return
        for number, item in enumerate(items, start=1):
            yield Record(spec.name, f"item {number}", item)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        doc = _parsed(spec.name, f"line {number}", line)
        yield doc if isinstance(doc, MalformedRecord) else Record(spec.name, f"line {number}", doc)


def _mongo_records(spec: SourceSpec, *, batch_size: int) -> Iterator[Record]:
    from catalog.services.offline.walk import collection_walk

    collection = get_db()[spec.location]
    for batch in collection_walk(collection, batch_size=max(batch_size, READ_BATCH)):
        for doc in batch:
            yield Record(spec.name, f"_id {doc['_id']!r}", doc)


def _sql_records(spec: SourceSpec, *, batch_size: int) -> Iterator[Record]:
    model, build = _SQL_SOURCES[spec.location]()
    pks = list(model.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), batch_size):
        for doc in build(pks[start : start + batch_size]):
            yield Record(spec.name, f"_id {doc['_id']!r}", doc)


def source_records(spec: SourceSpec, *, batch_size: int) -> Iterator[Record | MalformedRecord]:
    """Every record of one source, in the source's order."""
    if spec.kind == "file":
        return _file_records(spec)
    if spec.kind == "mongo":
        return _mongo_records(spec, batch_size=batch_size)
    return _sql_records(spec, batch_size=batch_size)
