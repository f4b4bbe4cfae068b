"""Merge documents from several named sources into one MongoDB collection.

Sources are JSON / JSON Lines files, MongoDB collections (walked in ``_id``
ranges) or the relational catalog (through ``catalog.mapping``). Records are
matched on a key of one or more top-level fields after a named normalization,
and combined by a policy. The policy names shared with MongoDB's ``$merge``
keep their meaning there; the target collection's current document is what an
incoming document is "matched" against first:

- ``replace``: the incoming document replaces the one it matches;
- ``keep_existing``: the first document for a key (the target's, else the
  first source's) is kept;
- ``merge``: field level, incoming fields overwrite, others are kept;
- ``fail``: a match that would change a field is a conflict;
- ``newest``: field by field, the value from the document with the latest
  ``updated`` wins (the target's document takes part); equal timestamps with
  different values are a conflict;
- ``priority``: field by field, the first source in the priority order that
  has the field wins (the target's document comes last).

A key with a conflict is not written; its conflict goes to the report and to
the conflicts collection with every value. Every written document carries
``provenance`` (contributing sources, policy, when). A document whose merged
content equals the target's is not written, so a second identical run writes
nothing. Fields are compared at the top level: an embedded document is one
value.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import bson
from bson import ObjectId, json_util
from bson.json_util import JSONOptions
from mongoengine.connection import get_db
from pymongo import InsertOne, ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError

from audit.mongo import audited_bulk_write
from catalog.validation import record_problem
from catalog.versions import canonicalize_name

POLICIES = ("replace", "keep_existing", "merge", "fail", "newest", "priority")
NORMALIZATIONS = ("none", "canonical-name", "lowercase")
PROVENANCE = "provenance"
EXISTING = "(existing)"
DEFAULT_CONFLICTS_COLLECTION = "merge_conflicts"
# Target lookups cover this many write batches; collection sources are read
# in batches of READ_BATCH documents (each a bounded _id range query).
LOOKUP_BATCHES = 10
READ_BATCH = 10_000

Policy = Literal["replace", "keep_existing", "merge", "fail", "newest", "priority"]
Document = dict[str, Any]

_JSON_OPTIONS = JSONOptions(tz_aware=True, tzinfo=UTC)
_OLDEST = datetime.min.replace(tzinfo=UTC)


class MergeError(ValueError):
    """A configuration error: nothing was read or written."""


# MongoDB's own limit on nesting in a BSON document; a deeper record cannot be
# stored, and Python's JSON parser would hit its recursion limit long before.
MAX_DEPTH = 100
# Collection names MongoDB refuses or reserves, and the project's own
# bookkeeping, which a merge must never overwrite (the audit chain would break,
# a migration or job would resume from a forged position).
COLLECTION_NAME_MAX_LENGTH = 120


def _own_collections() -> frozenset[str]:
    from audit.recorder import MONGO_CHAIN, MONGO_ENTRIES
    from catalog.services.migration.state import STATE_COLLECTION
    from catalog.services.offline import CHECKPOINTS

    return frozenset({MONGO_ENTRIES, MONGO_CHAIN, STATE_COLLECTION, CHECKPOINTS})


def collection_name_check(name: str, *, option: str) -> None:
    """Raise MergeError unless ``name`` is a collection a merge may write."""
    if not isinstance(name, str) or not name:
        raise MergeError(f"{option}: a collection name is required")
    problem = None
    if len(name) > COLLECTION_NAME_MAX_LENGTH:
        problem = f"longer than {COLLECTION_NAME_MAX_LENGTH} characters"
    elif "$" in name or "\x00" in name:
        problem = "contains '$' or a NUL character"
    elif name.startswith(".") or name.endswith(".") or ".." in name:
        problem = "starts or ends with '.', or has an empty part"
    elif name.startswith("system."):
        problem = "is a system collection"
    elif any(ch < " " or ch == "\x7f" for ch in name):
        problem = "contains a control character"
    elif name in _own_collections():
        problem = "is the project's own bookkeeping (audit, migration or job state)"
    if problem:
        raise MergeError(f"{option} {name[:80]!r}: not a collection a merge may write: {problem}")


def _structure_problem(value: Any, path: str = "", depth: int = 0) -> str | None:
    """Why a record cannot be stored as it is (depth, field names), or None."""
    if depth > MAX_DEPTH:
        return f"nested more than {MAX_DEPTH} levels (MongoDB's limit)"
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"field name {key!r} at {path or 'top level'} is not a string"
            if key.startswith("$") or "\x00" in key:
                return (
                    f"field name {key[:40]!r} at {path or 'top level'} starts with '$' or holds NUL"
                )
            problem = _structure_problem(item, f"{path}.{key}" if path else key, depth + 1)
            if problem:
                return problem
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problem = _structure_problem(item, f"{path}[{index}]", depth + 1)
            if problem:
                return problem
    return None


def _key_value_problem(field_name: str, value: Any) -> str | None:
    # A key groups records in a dict and is looked up in MongoDB by equality:
    # only scalars do both (True == 1 in Python, NaN != NaN, objects are unhashable).
    if isinstance(value, bool) or not isinstance(value, str | int | float | ObjectId | datetime):
        return f"key field {field_name!r}: expected a string or a number, got {_json_type(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"key field {field_name!r}: {value!r} is not a usable key"
    return None


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


# --- sources -----------------------------------------------------------------


@dataclass(frozen=True)
class SourceSpec:
    name: str
    kind: Literal["file", "mongo", "sql"]
    location: str


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


@dataclass
class _Record:
    source: str
    where: str  # "line 12", "item 3", "_id 'x'": how an operator finds the record
    doc: Any


def _file_records(spec: SourceSpec) -> Iterator[_Record | MalformedRecord]:
    path = Path(spec.location)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MergeError(f"source {spec.name!r}: cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise MergeError(f"source {spec.name!r}: {path} is not UTF-8 text") from exc
    stripped = text.lstrip()
    if path.suffix.lower() not in (".jsonl", ".ndjson") and stripped.startswith("["):
        try:
            items = json_util.loads(text, json_options=_JSON_OPTIONS)
        except ValueError as exc:
            yield MalformedRecord(spec.name, str(path), f"not valid JSON: {exc}")
            return
        except RecursionError:
            yield MalformedRecord(
                spec.name, str(path), f"JSON nested too deeply (the limit is {MAX_DEPTH} levels)"
            )
            return
        for number, item in enumerate(items, start=1):
            yield _Record(spec.name, f"item {number}", item)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json_util.loads(line, json_options=_JSON_OPTIONS)
        except ValueError as exc:
            yield MalformedRecord(spec.name, f"line {number}", f"not valid JSON: {exc}")
            continue
        except RecursionError:
            yield MalformedRecord(
                spec.name,
                f"line {number}",
                f"JSON nested too deeply (the limit is {MAX_DEPTH} levels)",
            )
            continue
        yield _Record(spec.name, f"line {number}", doc)


def _mongo_records(spec: SourceSpec, *, batch_size: int) -> Iterator[_Record]:
    from catalog.services.offline import collection_walk

    collection = get_db()[spec.location]
    for batch in collection_walk(collection, batch_size=max(batch_size, READ_BATCH)):
        for doc in batch:
            yield _Record(spec.name, f"_id {doc['_id']!r}", doc)


def _sql_records(spec: SourceSpec, *, batch_size: int) -> Iterator[_Record]:
    model, build = _SQL_SOURCES[spec.location]()
    pks = list(model.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), batch_size):
        for doc in build(pks[start : start + batch_size]):
            yield _Record(spec.name, f"_id {doc['_id']!r}", doc)


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


def _source_records(spec: SourceSpec, *, batch_size: int) -> Iterator[_Record | MalformedRecord]:
    if spec.kind == "file":
        return _file_records(spec)
    if spec.kind == "mongo":
        return _mongo_records(spec, batch_size=batch_size)
    return _sql_records(spec, batch_size=batch_size)


# --- keys --------------------------------------------------------------------


def _normalizer(name: str) -> Callable[[Any], Any]:
    if name == "none":
        return lambda value: value
    if name == "canonical-name":
        return _require_str(canonicalize_name, name)
    if name == "lowercase":
        return _require_str(str.lower, name)
    raise MergeError(
        f"unknown normalization {name!r} (expected one of {', '.join(NORMALIZATIONS)})"
    )


def _require_str(function: Callable[[str], str], name: str) -> Callable[[Any], str]:
    def normalize(value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"{name} needs a string, got {type(value).__name__}")
        return function(value)

    return normalize


def key_normalizers(
    *, key: Sequence[str], normalize: Sequence[str]
) -> dict[str, Callable[[Any], Any]]:
    """``--normalize NAME`` applies to every key field; ``FIELD=NAME`` to one field."""
    names = dict.fromkeys(key, "none")
    for item in normalize or ["none"]:
        field_name, sep, name = item.rpartition("=")
        if not sep:
            names = dict.fromkeys(key, item)
        elif field_name not in names:
            raise MergeError(f"--normalize {item!r}: {field_name!r} is not a key field")
        else:
            names[field_name] = name
    return {field_name: _normalizer(name) for field_name, name in names.items()}


# --- results -----------------------------------------------------------------


@dataclass
class MalformedRecord:
    source: str
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source} {self.where}: {self.reason}"


@dataclass
class SourceCounts:
    read: int = 0
    matched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: int = 0
    failed: int = 0


@dataclass
class Conflict:
    key: str
    field: str
    reason: str
    # One entry per competing document: source, value and, for newest, updated.
    values: list[dict[str, Any]]


@dataclass
class Change:
    key: str
    action: Literal["insert", "update", "unchanged", "conflict"]
    fields: list[str]


@dataclass
class MergeResult:
    into: str
    policy: str
    key: list[str]
    dry_run: bool
    sources: dict[str, SourceCounts]
    # Documents (keys), not records: a key found in two sources counts once here.
    totals: SourceCounts
    malformed: list[MalformedRecord] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    written: int = 0
    conflicts_collection: str = DEFAULT_CONFLICTS_COLLECTION

    @property
    def ok(self) -> bool:
        """False when a record failed, or a key conflicted under ``fail``."""
        return (
            not self.malformed
            and not self.totals.failed
            and (self.policy != "fail" or not self.conflicts)
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


# --- combining ---------------------------------------------------------------


@dataclass
class _Contribution:
    source: str
    where: str
    doc: Document
    updated: datetime | None = None
    # The record's own _id when the key is other fields (kept for inserts).
    doc_id: Any = None


def _parse_updated(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # MongoDB keeps milliseconds: compare what a round trip keeps.
    return parsed.astimezone(UTC).replace(microsecond=parsed.microsecond // 1000 * 1000)


def _content(doc: Document | None) -> Document | None:
    """The fields that policies combine: not ``_id`` (set by the caller) nor provenance."""
    if doc is None:
        return None
    return {k: v for k, v in doc.items() if k not in ("_id", PROVENANCE)}


_MISSING = object()


def _combine(
    policy: str,
    contributions: list[_Contribution],
    existing: Document | None,
    *,
    rank: dict[str, int],
    key_label: str,
) -> tuple[Document | None, list[str], list[Conflict]]:
    """The merged document for one key, the sources that contributed, and conflicts."""
    if policy in ("newest", "priority"):
        return _combine_by_field(policy, contributions, existing, rank=rank, key_label=key_label)
    state: Document | None = _content(existing)
    origins: dict[str, str] = dict.fromkeys(state or {}, EXISTING)
    for c in contributions:
        if state is None or policy == "replace":
            state, origins = dict(c.doc), dict.fromkeys(c.doc, c.source)
        elif policy == "merge":
            state.update(c.doc)
            origins.update(dict.fromkeys(c.doc, c.source))
        elif policy == "fail":
            differing = [f for f, v in c.doc.items() if state.get(f, _MISSING) != v]
            if differing:
                return (
                    None,
                    [],
                    [
                        Conflict(
                            key=key_label,
                            field=f,
                            reason="policy fail: a match changes this field",
                            values=[
                                {"source": origins.get(f, "(absent)"), "value": state.get(f)},
                                {"source": c.source, "value": c.doc[f]},
                            ],
                        )
                        for f in differing
                    ],
                )
        # keep_existing: the state stays as it is.
    return state, _ordered_sources(origins, existing, rank), []


def _combine_by_field(
    policy: str,
    contributions: list[_Contribution],
    existing: Document | None,
    *,
    rank: dict[str, int],
    key_label: str,
) -> tuple[Document | None, list[str], list[Conflict]]:
    parties = list(contributions)
    if existing is not None:
        parties.append(
            _Contribution(
                EXISTING, "target", _content(existing), _parse_updated(existing.get("updated"))
            )
        )
    fields: dict[str, None] = {}
    for party in parties:
        fields.update(dict.fromkeys(party.doc))
    result: Document = {}
    origins: dict[str, str] = {}
    conflicts: list[Conflict] = []
    for name in fields:
        having = [p for p in parties if name in p.doc]
        if policy == "newest":
            best = max(p.updated or _OLDEST for p in having)
            winners = [p for p in having if (p.updated or _OLDEST) == best]
            reason = "equal updated timestamps with different values"
        else:
            best = min(rank.get(p.source, len(rank)) for p in having)
            winners = [p for p in having if rank.get(p.source, len(rank)) == best]
            reason = "same priority with different values"
        values = []
        for p in winners:
            if p.doc[name] not in values:
                values.append(p.doc[name])
        if len(values) > 1:
            conflicts.append(
                Conflict(
                    key=key_label,
                    field=name,
                    reason=reason,
                    values=[
                        {"source": p.source, "where": p.where, "value": p.doc[name]}
                        | ({"updated": p.updated} if policy == "newest" else {})
                        for p in winners
                    ],
                )
            )
            continue
        result[name] = values[0]
        origins[name] = winners[0].source
    if conflicts:
        return None, [], conflicts
    return result, _ordered_sources(origins, existing, rank), []


def _ordered_sources(origins: dict[str, str], existing: Document | None, rank) -> list[str]:
    names = set(origins.values())
    if EXISTING in names:
        # Fields kept from the target come from the sources of its last merge.
        names.discard(EXISTING)
        previous = ((existing or {}).get(PROVENANCE) or {}).get("sources") or []
        names.update(previous)
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


# --- the service -------------------------------------------------------------


def _key_label(values: tuple) -> str:
    return values[0] if len(values) == 1 and isinstance(values[0], str) else json.dumps(values)


def _conflict_id(into: str, conflict: Conflict) -> str:
    digest = hashlib.sha256(f"{into}\0{conflict.key}\0{conflict.field}".encode()).hexdigest()
    return digest[:32]


def sources_merge(
    *,
    sources: Sequence[SourceSpec],
    into: str,
    key: Sequence[str] = ("_id",),
    normalize: Sequence[str] = ("none",),
    policy: Policy = "merge",
    priority: Sequence[str] | None = None,
    dry_run: bool = False,
    batch_size: int = 1000,
    conflicts_collection: str = DEFAULT_CONFLICTS_COLLECTION,
    now: datetime | None = None,
) -> MergeResult:
    """Merge the sources into the ``into`` collection; see the module docstring."""
    if len(sources) < 2:
        raise MergeError("merge needs two or more sources")
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise MergeError(f"source names must be unique, got {', '.join(names)}")
    if policy not in POLICIES:
        raise MergeError(f"unknown policy {policy!r} (expected one of {', '.join(POLICIES)})")
    if not key or any(not k or k.startswith("$") or k == PROVENANCE for k in key):
        raise MergeError(f"invalid key {list(key)!r}: field names, not operators")
    if batch_size < 1:
        raise MergeError("batch size must be at least 1")
    collection_name_check(into, option="--into")
    collection_name_check(conflicts_collection, option="--conflicts-collection")
    if conflicts_collection == into:
        raise MergeError("--into and --conflicts-collection must be different collections")
    for spec in sources:
        if spec.kind == "mongo" and spec.location in _own_collections():
            raise MergeError(
                f"source {spec.name!r}: {spec.location!r} is the project's own bookkeeping"
            )
    order = list(priority or names)
    unknown = [n for n in order if n not in names]
    if unknown or sorted(order) != sorted(names):
        raise MergeError(
            f"--priority must list every source once ({', '.join(names)}), got {', '.join(order)}"
        )
    rank = {name: position for position, name in enumerate(order)}
    normalizers = key_normalizers(key=key, normalize=normalize)
    key = list(key)
    now = now or datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)

    result = MergeResult(
        into=into,
        policy=policy,
        key=key,
        dry_run=dry_run,
        sources={name: SourceCounts() for name in names},
        totals=SourceCounts(),
        conflicts_collection=conflicts_collection,
    )

    # Group every record by its normalized key, in source order.
    groups: dict[tuple, list[_Contribution]] = {}
    for spec in sources:
        counts = result.sources[spec.name]
        for record in _source_records(spec, batch_size=batch_size):
            counts.read += 1
            if isinstance(record, MalformedRecord):
                counts.failed += 1
                result.malformed.append(record)
                continue
            contribution, problem = _contribution(record, key, normalizers, policy)
            if problem:
                counts.failed += 1
                result.malformed.append(MalformedRecord(spec.name, record.where, problem))
                continue
            groups.setdefault(contribution.key_values, []).append(contribution.value)
    result.totals.read = sum(c.read for c in result.sources.values())
    result.totals.failed = sum(c.failed for c in result.sources.values())

    db = get_db()
    target = db[into]
    keys = _sorted_keys(groups)
    existing: dict[tuple, Document] = {}
    for start in range(0, len(keys), batch_size):
        batch_keys = keys[start : start + batch_size]
        if start % (batch_size * LOOKUP_BATCHES) == 0:
            existing = _existing_documents(
                target, key, keys[start : start + batch_size * LOOKUP_BATCHES]
            )
        writes, conflict_writes = [], []
        for key_values in batch_keys:
            contributions = groups[key_values]
            current = existing.get(key_values)
            label = _key_label(key_values)
            contributing = {c.source for c in contributions}
            matched = current is not None or len(contributions) > 1
            merged, merged_sources, conflicts = _combine(
                policy, contributions, current, rank=rank, key_label=label
            )
            if conflicts:
                action, changed = "conflict", sorted({c.field for c in conflicts})
                result.conflicts.extend(conflicts)
                conflict_writes.extend(
                    UpdateOne(
                        {"_id": _conflict_id(into, c)},
                        {
                            "$set": {
                                "into": into,
                                "key": c.key,
                                "field": c.field,
                                "policy": policy,
                                "reason": c.reason,
                                "values": c.values,
                            },
                            "$setOnInsert": {"detected_at": now},
                        },
                        upsert=True,
                    )
                    for c in conflicts
                )
            else:
                for field_name, value in zip(key, key_values, strict=True):
                    merged[field_name] = value
                if "_id" not in key:
                    doc_id = current["_id"] if current is not None else None
                    for c in contributions:
                        doc_id = c.doc_id if doc_id is None else doc_id
                    if doc_id is not None:
                        merged["_id"] = doc_id
                if into == "packages":
                    # Merged package documents are searched like migrated ones.
                    from catalog.mapping import document_terms

                    merged["terms"] = document_terms(merged)
                before = {k: v for k, v in (current or {}).items() if k != PROVENANCE}
                changed = sorted(
                    f for f in set(before) | set(merged) if before.get(f, _MISSING) != merged.get(f)
                )
                if current is None:
                    action, changed = "insert", []
                elif not changed:
                    action = "unchanged"
                else:
                    action = "update"
                if action != "unchanged":
                    merged[PROVENANCE] = {"sources": merged_sources, "policy": policy, "at": now}
                    unstorable = _unstorable(merged)
                    if unstorable:
                        # Checked before any write: a value MongoDB refuses would
                        # otherwise fail the bulk write part way through.
                        result.malformed.append(MalformedRecord(into, f"key {label!r}", unstorable))
                        result.totals.failed += 1
                        for name in contributing:
                            result.sources[name].failed += 1
                        continue
                    writes.append((label, _write_operation(action, merged, key, key_values)))
            result.changes.append(Change(key=label, action=action, fields=changed))
            outcome = _OUTCOME_COUNTER[action]
            setattr(result.totals, outcome, getattr(result.totals, outcome) + 1)
            result.totals.matched += matched
            for name in contributing:
                counts = result.sources[name]
                setattr(counts, outcome, getattr(counts, outcome) + 1)
                counts.matched += matched
        if not dry_run:
            result.written += _bulk_write(target, writes, result)
            if conflict_writes:
                audited_bulk_write(db[conflicts_collection], conflict_writes, ordered=False)
    return result


_OUTCOME_COUNTER = {
    "insert": "inserted",
    "update": "updated",
    "unchanged": "unchanged",
    "conflict": "conflicts",
}


@dataclass
class _Keyed:
    key_values: tuple
    value: _Contribution


def _contribution(
    record: _Record, key: list[str], normalizers: dict[str, Callable[[Any], Any]], policy: str
) -> tuple[_Keyed | None, str | None]:
    doc = record.doc
    if not isinstance(doc, dict):
        return None, f"expected a JSON object, got {type(doc).__name__}"
    # MongoDB's own limits, then the import's rules (catalog.validation).
    problem = _structure_problem(doc) or record_problem(doc)
    if problem:
        return None, problem
    values = []
    for field_name in key:
        value = doc.get(field_name)
        if value is None or value == "":
            return None, f"missing key field {field_name!r}"
        problem = _key_value_problem(field_name, value)
        if problem:
            return None, problem
        try:
            values.append(normalizers[field_name](value))
        except TypeError as exc:
            return None, f"key field {field_name!r}: {exc}"
    updated = _parse_updated(doc.get("updated"))
    if policy == "newest" and updated is None:
        return None, "field 'updated': missing or not a date (policy newest needs it)"
    content = _content(doc)
    if "updated" in content and updated is not None:
        content["updated"] = updated
    for field_name, value in zip(key, values, strict=True):
        if field_name != "_id":
            content[field_name] = value
    contribution = _Contribution(record.source, record.where, content, updated, doc.get("_id"))
    return _Keyed(tuple(values), contribution), None


def _sorted_keys(groups: dict[tuple, Any]) -> list[tuple]:
    """Keys in first-field order when that field has one type (so lookups can be ranges)."""
    keys = list(groups)
    first_types = {type(k[0]) for k in keys}
    if len(first_types) == 1 and first_types <= {str, int}:
        keys.sort(key=lambda k: k[0])
    return keys


def _existing_documents(target, key: list[str], chunk: list[tuple]) -> dict[tuple, Document]:
    """The target's documents for a chunk of keys (one query per chunk)."""
    first = [k[0] for k in chunk]
    if len(key) == 1:
        query = {key[0]: {"$in": first}}
    else:
        query = {"$or": [dict(zip(key, k, strict=True)) for k in chunk]}
    wanted = set(chunk)
    found: dict[tuple, Document] = {}
    for doc in target.find(query):
        values = tuple(doc.get(f) for f in key)
        if values in wanted:
            found.setdefault(values, doc)
    return found


def _unstorable(doc: Document) -> str | None:
    """Why MongoDB cannot store ``doc`` (an integer beyond 64 bits, ...), or None."""
    try:
        bson.encode(doc)
    except (bson.errors.InvalidDocument, OverflowError) as exc:
        return f"cannot be stored in MongoDB: {exc}"
    return None


def _write_operation(action: str, merged: Document, key: list[str], key_values: tuple):
    if action == "insert":
        # Not an upsert: a document that appeared since the lookup fails
        # (reported) instead of being overwritten unseen.
        return InsertOne(merged)
    if "_id" in merged:
        return ReplaceOne({"_id": merged["_id"]}, merged, upsert=True)
    return ReplaceOne(dict(zip(key, key_values, strict=True)), merged, upsert=True)


def _bulk_write(target, writes: list[tuple[str, Any]], result: MergeResult) -> int:
    if not writes:
        return 0
    try:
        outcome = audited_bulk_write(target, [op for _, op in writes], ordered=False)
    except BulkWriteError as exc:
        for error in exc.details.get("writeErrors", []):
            label = writes[error["index"]][0]
            result.malformed.append(MalformedRecord(result.into, f"key {label!r}", error["errmsg"]))
            result.totals.failed += 1
        return len(writes) - len(exc.details.get("writeErrors", []))
    return outcome.inserted_count + outcome.upserted_count + outcome.modified_count
