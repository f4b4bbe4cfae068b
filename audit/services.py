"""Reading and maintaining the trail: timeline, as-of state, chain check, prune.

Commands, the admin, tests and benchmarks all call these functions; putting
objects back (revert, restore, restore a deletion) is in ``audit.restore``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from audit.context import audit_context
from audit.entry_fields import ENTRY_NAMES
from audit.models import AuditChainTip, AuditEntry, Operation
from audit.recorder import (
    GENESIS_HASH,
    MONGO_CHAIN,
    MONGO_ENTRIES,
    MONGO_STORE,
    SQL_STORE,
    EntryData,
    json_safe,
    mongo_db,
    mongo_entry_changes,
    mongo_record,
    sql_chain_tip,
    sql_record,
    stored_entry_hash,
)

_CHUNK = 5000


@dataclass(frozen=True)
class TimelineEntry:
    store: str
    id: int
    timestamp: datetime
    model: str
    object_key: str
    operation: str
    changes: dict[str, Any]
    actor: str
    actor_id: int | None
    remote_addr: str | None
    correlation_id: str
    raw: bool
    note: str
    prev_hash: str
    hash: str

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["timestamp"] = json_safe(self.timestamp)
        return data


def _sql_entry(row: Mapping[str, Any]) -> TimelineEntry:
    return TimelineEntry(store=SQL_STORE, id=row["id"], **{k: row[k] for k in ENTRY_NAMES})


def _mongo_entry(doc: Mapping[str, Any]) -> TimelineEntry:
    fields = {k: doc.get(k) for k in ENTRY_NAMES}
    fields["changes"] = mongo_entry_changes(doc)
    return TimelineEntry(store=MONGO_STORE, id=doc["_id"], **fields)


# --- which model a name means ------------------------------------------------------


def model_aliases(name: str) -> tuple[set[str], set[str]]:
    """(relational labels, collections) a user's --model value names.

    ``package``, ``catalog.package``, ``Package`` and ``packages`` all name the
    package in both stores (documents map to the model of the same name).
    """
    from audit.mongo import audited_documents, collection_label
    from audit.receivers import audited_models

    wanted = name.strip().lower()
    labels, collections = set(), set()
    models_by_name = {m._meta.model_name: m for m in audited_models()}
    for model in audited_models():
        if wanted in {model._meta.label_lower, model._meta.model_name}:
            labels.add(model._meta.label_lower)
    for document in audited_documents():
        base = document.__name__.lower().removesuffix("document")
        collection = collection_label(document)
        if wanted == collection or (
            base in models_by_name and models_by_name[base]._meta.label_lower in labels
        ):
            collections.add(collection)
            if base in models_by_name:
                labels.add(models_by_name[base]._meta.label_lower)
    if not labels and not collections:
        # Entries of models no longer audited (or audit's own prune entries) still match.
        labels.add(wanted)
        collections.add(wanted)
    return labels, collections


# --- timeline ------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineFilter:
    model: str | None = None
    object_key: str | None = None
    actor: str | None = None
    correlation_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    store: str | None = None


def _sql_timeline(flt: TimelineFilter, labels: set[str] | None) -> Iterator[TimelineEntry]:
    qs = AuditEntry.objects.all()
    if labels is not None:
        qs = qs.filter(model__in=labels)
    if flt.object_key is not None:
        qs = qs.filter(object_key=flt.object_key)
    if flt.actor:
        qs = qs.filter(actor=_actor(flt.actor))
    if flt.correlation_id:
        qs = qs.filter(correlation_id=flt.correlation_id)
    if flt.since:
        qs = qs.filter(timestamp__gte=flt.since)
    if flt.until:
        qs = qs.filter(timestamp__lt=flt.until)
    rows = qs.order_by("timestamp", "id").values("id", *ENTRY_NAMES)
    for row in rows.iterator(chunk_size=_CHUNK):
        yield _sql_entry(row)


def _mongo_timeline(flt: TimelineFilter, collections: set[str] | None) -> Iterator[TimelineEntry]:
    query: dict[str, Any] = {}
    if collections is not None:
        query["model"] = {"$in": sorted(collections)}
    if flt.object_key is not None:
        query["object_key"] = str(flt.object_key)
    if flt.actor:
        query["actor"] = _actor(flt.actor)
    if flt.correlation_id:
        query["correlation_id"] = str(flt.correlation_id)
    if flt.since or flt.until:
        query["timestamp"] = {}
        if flt.since:
            query["timestamp"]["$gte"] = flt.since
        if flt.until:
            query["timestamp"]["$lt"] = flt.until
    cursor = mongo_db()[MONGO_ENTRIES].find(query).sort([("timestamp", 1), ("_id", 1)])
    for doc in cursor.batch_size(_CHUNK):
        yield _mongo_entry(doc)


def _actor(value: str) -> str:
    # Plain strings only: user input never becomes a query operator.
    return str(value)


def audit_timeline_list(*, flt: TimelineFilter, limit: int | None = None) -> list[TimelineEntry]:
    """Entries of both stores matching ``flt``, merged oldest first."""
    return list(audit_timeline_iter(flt=flt, limit=limit))


def audit_timeline_iter(
    *, flt: TimelineFilter, limit: int | None = None
) -> Iterator[TimelineEntry]:
    labels = collections = None
    if flt.model:
        labels, collections = model_aliases(flt.model)
    streams = []
    if flt.store in (None, SQL_STORE):
        streams.append(_sql_timeline(flt, labels))
    if flt.store in (None, MONGO_STORE):
        streams.append(_mongo_timeline(flt, collections))
    merged = heapq.merge(*streams, key=lambda e: (e.timestamp, e.store, e.id))
    for count, entry in enumerate(merged, start=1):
        yield entry
        if limit and count >= limit:
            return


# --- state as of a time ----------------------------------------------------------------


@dataclass(frozen=True)
class ObjectState:
    store: str
    model: str
    object_key: str
    at: datetime | None
    exists: bool
    fields: dict[str, Any]
    entries_applied: int


def replay(entries: Iterable[TimelineEntry | AuditEntry]) -> tuple[dict[str, Any] | None, int]:
    """Fold entries (oldest first) into the object's field values; None once deleted."""
    state: dict[str, Any] | None = None
    applied = 0
    for entry in entries:
        applied += 1
        op, changes = entry.operation, entry.changes
        if op in (Operation.CREATE, Operation.BULK_CREATE):
            state = {name: pair[1] for name, pair in changes.items()}
        elif op in (Operation.UPDATE, Operation.BULK_UPDATE):
            state = dict(state or {})
            state.update({name: pair[1] for name, pair in changes.items()})
        elif op in (Operation.DELETE, Operation.BULK_DELETE):
            state = None
        elif op in (Operation.M2M_ADD, Operation.M2M_REMOVE, Operation.M2M_CLEAR):
            state = dict(state or {})
            for name, delta in changes.items():
                current = set(state.get(name) or [])
                current |= set(delta.get("added", []))
                current -= set(delta.get("removed", []))
                state[name] = sorted(current)
    return state, applied


def object_state_at(
    *, model: str, object_key: str, at: datetime | None = None, store: str | None = None
) -> ObjectState:
    """The object's fields as of ``at`` (now when None), rebuilt from its entries."""
    labels, collections = model_aliases(model)
    if store is None:
        # "packages" (a collection) means the document; "package" the row.
        wanted = model.strip().lower()
        relational = labels | {label.rsplit(".", 1)[-1] for label in labels}
        store = MONGO_STORE if wanted in collections and wanted not in relational else SQL_STORE
    flt = TimelineFilter(model=model, object_key=str(object_key), store=store)
    entries = []
    for entry in audit_timeline_iter(flt=flt):
        if at is not None and entry.timestamp > at:
            break
        entries.append(entry)
    entries.sort(key=lambda e: e.id)  # chain order breaks timestamp ties
    state, applied = replay(entries)
    name = next(iter(labels if store == SQL_STORE else collections), model)
    return ObjectState(
        store=store,
        model=name,
        object_key=str(object_key),
        at=at,
        exists=state is not None,
        fields=state or {},
        entries_applied=applied,
    )


# --- chain verification -------------------------------------------------------------------


@dataclass(frozen=True)
class BrokenLink:
    store: str
    entry_id: int
    reason: str


@dataclass
class ChainReport:
    checked: dict[str, int] = field(default_factory=dict)
    broken: list[BrokenLink] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken


def _walk(
    entries: Iterable[Mapping[str, Any]], store: str, anchor: str | None
) -> tuple[int, BrokenLink | None]:
    prev: str | None = None
    checked = 0
    for entry in entries:
        entry_id = entry["id"]
        if prev is None:
            if entry["prev_hash"] != GENESIS_HASH and entry["prev_hash"] != anchor:
                return checked, BrokenLink(
                    store,
                    entry_id,
                    "its predecessor is missing and no prune entry anchors it "
                    "(entries were removed outside audit_log --prune-before)",
                )
        elif entry["prev_hash"] != prev:
            return checked, BrokenLink(
                store,
                entry_id,
                "its prev_hash does not match the entry before it "
                "(an entry was removed, inserted or reordered)",
            )
        if stored_entry_hash(entry) != entry["hash"]:
            return checked, BrokenLink(
                store, entry_id, "its content does not match its hash (the entry was edited)"
            )
        prev = entry["hash"]
        checked += 1
    return checked, None


def _sql_rows() -> Iterator[dict[str, Any]]:
    last = 0
    while True:
        rows = list(
            AuditEntry.objects.filter(id__gt=last)
            .order_by("id")
            .values("id", *ENTRY_NAMES)[:_CHUNK]
        )
        if not rows:
            return
        yield from rows
        last = rows[-1]["id"]


def _mongo_rows() -> Iterator[dict[str, Any]]:
    collection = mongo_db()[MONGO_ENTRIES]
    last = None
    while True:
        query = {} if last is None else {"_id": {"$gt": last}}
        docs = list(collection.find(query).sort("_id", 1).limit(_CHUNK))
        if not docs:
            return
        for doc in docs:
            row = {"id": doc["_id"], **{k: doc.get(k) for k in ENTRY_NAMES}}
            row["changes"] = mongo_entry_changes(doc)
            yield row
        last = docs[-1]["_id"]


def _sql_anchor() -> str | None:
    prune = (
        AuditEntry.objects.filter(operation=Operation.PRUNE)
        .order_by("-id")
        .values("changes")
        .first()
    )
    return prune["changes"].get("anchor_prev_hash") if prune else None


def _mongo_anchor() -> str | None:
    prune = mongo_db()[MONGO_ENTRIES].find_one(
        {"operation": Operation.PRUNE.value}, sort=[("_id", -1)]
    )
    return mongo_entry_changes(prune).get("anchor_prev_hash") if prune else None


def audit_chain_verify(*, stores: Iterable[str] = (SQL_STORE, MONGO_STORE)) -> ChainReport:
    """Walk each store's chain in order; report the first broken link of each.

    A chain whose newest entries were removed still links up: its end is
    compared with the tip kept beside it (``AuditChainTip`` for the relational
    chain, the ``audit_chain`` document for MongoDB), which every append moves.
    """
    report = ChainReport()
    for store in stores:
        last: dict[str, Any] = {}
        rows, anchor, tip = (
            (_sql_rows(), _sql_anchor(), _sql_tip())
            if store == SQL_STORE
            else (_mongo_rows(), _mongo_anchor(), _mongo_tip_kept())
        )
        checked, broken = _walk(_noting_last(rows, last), store, anchor)
        report.checked[store] = checked
        if broken is None:
            broken = _tip_mismatch(store, tip, last)
        if broken:
            report.broken.append(broken)
    return report


def _noting_last(
    rows: Iterable[Mapping[str, Any]], last: dict[str, Any]
) -> Iterator[Mapping[str, Any]]:
    for row in rows:
        last["id"], last["hash"] = row["id"], row["hash"]
        yield row


def _sql_tip() -> tuple[int, str] | None:
    tip = AuditChainTip.objects.filter(store=SQL_STORE).values_list("entry_id", "hash").first()
    return (tip[0], tip[1]) if tip else None


def _mongo_tip_kept() -> tuple[int, str] | None:
    head = mongo_db()[MONGO_CHAIN].find_one({"_id": MONGO_STORE})
    return (head["seq"], head["hash"]) if head else None


def _tip_mismatch(
    store: str, tip: tuple[int, str] | None, last: Mapping[str, Any]
) -> BrokenLink | None:
    if tip is None:
        if last:
            return BrokenLink(
                store,
                last["id"],
                "the chain tip is missing (it was removed; every append writes it)",
            )
        return None
    entry_id, tip_hash = tip
    if not last:
        return BrokenLink(
            store,
            entry_id,
            f"the chain tip names entry #{entry_id} but no entry is stored (entries were removed)",
        )
    if last["id"] == entry_id and last["hash"] == tip_hash:
        return None
    if last["id"] < entry_id:
        reason = (
            f"the chain ends at entry #{last['id']} but its tip names entry #{entry_id}: "
            "the newest entries were removed (or a writer crashed after claiming them)"
        )
    else:
        reason = f"the chain's last entry does not match its tip (entry #{entry_id}, hash)"
    return BrokenLink(store, last["id"], reason)


# --- retention ----------------------------------------------------------------------------


@dataclass
class PruneResult:
    before: datetime
    deleted: dict[str, int] = field(default_factory=dict)


def audit_prune(*, before: datetime, command: str = "audit_log") -> PruneResult:
    """Remove entries older than ``before`` from the start of each chain, recording it.

    Only a prefix of the chain is removed (up to the first entry at or after
    ``before``), and a prune entry appended to the chain records the hash the
    first kept entry points back to, so the rest still verifies.
    """
    result = PruneResult(before=before)
    with audit_context(command=command):
        with transaction.atomic():
            tip = sql_chain_tip("default")  # also holds the chain lock until commit
            first_kept = (
                AuditEntry.objects.filter(timestamp__gte=before).order_by("id").values("id").first()
            )
            doomed = AuditEntry.objects.all()
            if first_kept is not None:
                doomed = doomed.filter(id__lt=first_kept["id"])
            deleted = doomed._raw_delete(doomed.db)  # the one sanctioned removal
            kept = AuditEntry.objects.order_by("id").values("prev_hash").first()
            anchor = kept["prev_hash"] if kept else tip
            sql_record([_prune_entry("audit.auditentry", before, deleted, anchor)])
            result.deleted[SQL_STORE] = deleted

        collection = mongo_db()[MONGO_ENTRIES]
        first_kept = collection.find_one(
            {"timestamp": {"$gte": before}}, {"_id": 1}, sort=[("_id", 1)]
        )
        query = {"_id": {"$lt": first_kept["_id"]}} if first_kept else {}
        head = mongo_db()[MONGO_CHAIN].find_one({"_id": MONGO_STORE})
        tip = head["hash"] if head else GENESIS_HASH
        deleted = collection.delete_many(query).deleted_count
        kept = collection.find_one({}, {"prev_hash": 1}, sort=[("_id", 1)])
        anchor = kept["prev_hash"] if kept else tip
        if deleted or kept:
            mongo_record([_prune_entry(MONGO_ENTRIES, before, deleted, anchor)])
        result.deleted[MONGO_STORE] = deleted
    return result


def _prune_entry(model: str, before: datetime, deleted: int, anchor: str) -> EntryData:
    changes = {"before": json_safe(before), "deleted": deleted, "anchor_prev_hash": anchor}
    return EntryData(model, "chain", Operation.PRUNE, changes)
