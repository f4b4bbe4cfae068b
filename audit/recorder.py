"""Writing entries: JSON-safe values, the hash chain, and one write per batch.

Each store has its own chain (documented in docs/audit.md):

- relational entries are chained in id order. The chain tip is read under a
  transaction-level advisory lock on PostgreSQL (lock and read in one round
  trip), and the entries are inserted in the same transaction as the change,
  so a rollback removes both and concurrent writers never fork the chain;
- MongoDB entries use the chain position as ``_id``, and ``audit_chain``
  holds the tip (position and hash). An append first moves the tip, with a
  compare-and-swap from the tip this process last saw, to the positions it
  claims, then inserts its entries there: two writers never claim the same
  positions, and only a writer whose view is stale reads the tip again. A
  crash between the two writes leaves a gap that ``--verify-chain`` reports.

A batch (a save, a queryset update, a bulk create) costs a constant number of
queries: PostgreSQL one (``audit_append``), MongoDB two (move the tip, insert
the entries).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from audit.context import AuditContext, get_context, is_enabled
from audit.entry_fields import CONTENT_NAMES

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
MONGO_ENTRIES = "audit_entries"
MONGO_CHAIN = "audit_chain"
SQL_STORE = "sql"
MONGO_STORE = "mongo"
# Arbitrary constant naming the chain's advisory lock on PostgreSQL.
_PG_CHAIN_LOCK = 7_265_746_101
_BULK_CHUNK = 2000


@dataclass
class EntryData:
    """One change to one object, before it gets its place in the chain."""

    model: str
    object_key: str
    operation: str
    # {field: [old, new]} of JSON-safe values. None when only changes_json is given.
    changes: dict[str, Any] | None
    raw: bool = False
    note: str = ""
    # Set for entries that must say something the context does not (a restore).
    context: AuditContext | None = field(default=None, repr=False)
    # The canonical text of the changes (changes_text()), when the caller wrote
    # it directly: a bulk create of large documents serializes each one once.
    changes_json: str | None = field(default=None, repr=False)

    def changes_text(self) -> str:
        if self.changes_json is not None:
            return self.changes_json
        return canonical_json(self.changes)

    def changes_dict(self) -> dict[str, Any]:
        if self.changes is None:
            self.changes = json.loads(self.changes_json or "{}")
        return self.changes


# --- JSON-safe values ----------------------------------------------------------


_JSON_PLAIN = frozenset({str, int, float, bool, type(None)})


def json_safe(value: Any) -> Any:
    """A value that JSON (and so both stores) keeps exactly: dates as ISO strings, etc."""
    if type(value) in _JSON_PLAIN or isinstance(value, bool | int | str | float):
        return value
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = value.astimezone(UTC)
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [json_safe(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    to_mongo = getattr(value, "to_mongo", None)  # MongoEngine embedded documents
    if callable(to_mongo):
        return json_safe(to_mongo())
    return str(value)  # ObjectId and anything else with a stable text form


def _timestamp() -> datetime:
    # Milliseconds: what MongoDB keeps, so both stores hash the same text.
    now = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _ts_text(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds")


def normalize_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return ipaddress.ip_address(value.strip()).compressed
    except ValueError:
        return None


def _chain_key() -> bytes:
    return (getattr(settings, "AUDIT_CHAIN_KEY", "") or "").encode()


def canonical_json(value: Any, *, default: Callable[[Any], Any] | None = None) -> str:
    """Sorted keys, no spaces, unescaped text: one text per value, in both stores.

    ``default`` (json.dumps') turns values JSON does not know into ones it does.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default
    )


def content_json(entry: Mapping[str, Any]) -> str:
    """The canonical JSON of an entry's content (what its digest covers)."""
    content = {key: entry[key] for key in CONTENT_NAMES}
    content["timestamp"] = _ts_text(entry["timestamp"])
    content["raw"] = bool(entry["raw"])
    return canonical_json(content)


_SORTED_CONTENT_NAMES = tuple(sorted(CONTENT_NAMES))


def _content_text(row: Mapping[str, Any], changes_text: str, ts_text: str) -> str:
    """content_json(row) around changes already in canonical text, without parsing them.

    The canonical JSON of a dict is its members in key order, each value in
    canonical JSON: written here member by member (strings through the same
    C encoder json.dumps uses), with the changes' text and the timestamp's
    (``_ts_text``, the same for a whole batch) as given.
    """
    members = []
    for key in _SORTED_CONTENT_NAMES:
        if key == "changes":
            text = changes_text
        elif key == "timestamp":
            text = encode_basestring(ts_text)
        elif key == "raw":
            text = "true" if row["raw"] else "false"
        else:
            value = row[key]
            text = encode_basestring(value) if type(value) is str else canonical_json(value)
        members.append(f'"{key}":{text}')
    return "{" + ",".join(members) + "}"


def _digest(text: str, key: bytes | None = None) -> str:
    return hmac.digest(_chain_key() if key is None else key, text.encode(), "sha256").hex()


def content_digest(entry: Mapping[str, Any]) -> str:
    """HMAC-SHA256 of an entry's content (keyed with AUDIT_CHAIN_KEY)."""
    return _digest(content_json(entry))


def link_hash(prev_hash: str, digest: str) -> str:
    """An entry's hash: its predecessor's hash and its content digest, chained.

    PostgreSQL computes the same thing (``sha256(prev || digest)``) when it
    appends a batch, so the chain is extended in one round trip.
    """
    return hashlib.sha256((prev_hash + digest).encode()).hexdigest()


def stored_entry_hash(entry: Mapping[str, Any]) -> str:
    """Recompute the hash of an entry as read back from either store."""
    return link_hash(entry["prev_hash"], content_digest(entry))


def _fields(
    entry: EntryData, ctx: AuditContext, ts: datetime, *, changes: Any = None
) -> dict[str, Any]:
    ctx = entry.context or ctx
    note = entry.note or ctx.note
    return {
        "model": entry.model,
        "object_key": str(entry.object_key)[:255],
        "operation": entry.operation,
        "changes": entry.changes_dict() if changes is None else changes,
        "timestamp": ts,
        "actor": ctx.actor[:255],
        "actor_id": ctx.actor_id,
        "remote_addr": normalize_ip(ctx.remote_addr),
        "correlation_id": ctx.correlation_id,
        "raw": entry.raw,
        "note": note[:255],
    }


def _chain(rows: list[dict[str, Any]], prev: str) -> str:
    for row in rows:
        row["prev_hash"] = prev
        row["hash"] = prev = link_hash(prev, content_digest(row))
    return prev


# --- relational store ------------------------------------------------------------

# Entries collected by a queryset delete (one post_delete per object) and
# written in one insert when the delete finishes, inside its transaction.
_sql_buffer: ContextVar[tuple[str, list[EntryData]] | None] = ContextVar(
    "audit_sql_buffer", default=None
)


@contextmanager
def sql_batch(using: str) -> Iterator[None]:
    """Collect relational entries made in the block and write them in one batch."""
    if _sql_buffer.get() is not None:
        yield
        return
    buffer: list[EntryData] = []
    token = _sql_buffer.set((using, buffer))
    try:
        yield
    finally:
        _sql_buffer.reset(token)
    sql_record(buffer, using=using)


def sql_chain_tip(using: str) -> str:
    """The hash of the newest relational entry, with the chain locked until commit."""
    connection = connections[using]
    table = "audit_auditentry"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One round trip: the second statement gets its own snapshot, taken
            # after the lock is granted, so it sees the last committed entry.
            cursor.execute(
                f"SELECT pg_advisory_xact_lock(%s); "  # noqa: S608 - constant table name
                f"SELECT hash FROM {table} ORDER BY id DESC LIMIT 1",
                [_PG_CHAIN_LOCK],
            )
        else:
            cursor.execute(f"SELECT hash FROM {table} ORDER BY id DESC LIMIT 1")  # noqa: S608
        row = cursor.fetchone()
    return row[0] if row else GENESIS_HASH


def sql_record(entries: Iterable[EntryData], *, using: str = "default") -> int:
    """Append relational entries to the chain, in the caller's transaction."""
    entries = list(entries)
    if not entries or not is_enabled():
        return 0
    buffered = _sql_buffer.get()
    if buffered is not None and buffered[0] == using:
        buffered[1].extend(entries)
        return len(entries)
    from audit.models import AuditEntry

    ctx = get_context()
    ts = _timestamp()
    rows = [_fields(e, ctx, ts) for e in entries]
    connection = connections[using]
    with transaction.atomic(using=using, savepoint=False):
        if connection.vendor == "postgresql":
            # One round trip: audit_append() (migration 0002) takes the chain
            # lock, reads the tip and inserts the batch, chaining each entry.
            # Each entry is serialized once: its canonical JSON is both what the
            # digest covers and, with the digest appended, the function's input.
            parts = []
            for row in rows:
                text = content_json(row)
                parts.append(f'{text[:-1]},"digest":"{_digest(text)}"}}')
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT audit_append(%s, %s, %s::jsonb)",
                    [_PG_CHAIN_LOCK, GENESIS_HASH, "[" + ",".join(parts) + "]"],
                )
        else:
            from audit.models import AuditChainTip

            _chain(rows, sql_chain_tip(using))
            created = AuditEntry.objects.using(using).bulk_create(
                [AuditEntry(**row) for row in rows], batch_size=_BULK_CHUNK
            )
            newest = created[-1]
            if newest.pk is None:  # a database that returns no ids from bulk inserts
                newest = AuditEntry.objects.using(using).order_by("-id").only("id", "hash")[0]
            # The tip moves with the append (audit_append() does it on PostgreSQL).
            AuditChainTip.objects.using(using).update_or_create(
                store=SQL_STORE, defaults={"entry_id": newest.pk, "hash": newest.hash}
            )
    return len(rows)


# --- MongoDB store -------------------------------------------------------------


def mongo_db():
    from mongoengine.connection import get_db

    return get_db()


MONGO_INDEXES = (
    ([("model", 1), ("object_key", 1), ("timestamp", 1)], "audit_object_time"),
    ([("actor", 1), ("timestamp", 1)], "audit_actor_time"),
    ([("correlation_id", 1)], "audit_correlation"),
    ([("timestamp", 1)], "audit_time"),
    ([("model", 1), ("operation", 1), ("timestamp", 1)], "audit_model_op_time"),
)
_indexed: set[int] = set()
# The chain tip this process last wrote or read, per database: (seq, hash), or
# None for an empty chain. Checked, not trusted: every append moves the tip
# document from this value with a compare-and-swap (see mongo_record).
_mongo_tips: dict[tuple[int, str], tuple[int, str] | None] = {}
_mongo_append_lock = threading.Lock()
_UNKNOWN: Any = object()
_DUPLICATE_KEY = 11000


def ensure_mongo_indexes() -> None:
    """The same lookups as the relational table's indexes (idempotent)."""
    collection = mongo_db()[MONGO_ENTRIES]
    for keys, name in MONGO_INDEXES:
        collection.create_index(keys, name=name)


def mongo_record(entries: Iterable[EntryData]) -> int:
    """Append MongoDB entries to the chain right after the change they describe."""
    entries = list(entries)
    if not entries or not is_enabled():
        return 0
    from pymongo.errors import BulkWriteError

    db = mongo_db()
    if id(db.client) not in _indexed:  # once per client: index creation is a round trip
        ensure_mongo_indexes()
        _indexed.add(id(db.client))
    collection, chain = db[MONGO_ENTRIES], db[MONGO_CHAIN]
    ctx = get_context()
    ts = _timestamp()
    ts_text, key = _ts_text(ts), _chain_key()
    pending = []
    for entry in entries:
        # Changes are kept as their canonical text: read back, they hash exactly
        # as written (no BSON type drift), and nothing queries inside them. The
        # text is made once, for the stored entry and for its digest.
        row = _fields(entry, ctx, ts, changes=entry.changes_text())
        pending.append((row, _digest(_content_text(row, row["changes"], ts_text), key)))
    store = (id(db.client), db.name)
    with _mongo_append_lock:
        tip = _mongo_tips.get(store, _UNKNOWN)
        while pending:
            if tip is _UNKNOWN:
                head = chain.find_one({"_id": MONGO_STORE})
                tip = (head["seq"], head["hash"]) if head else None
            seq, prev = tip or (0, GENESIS_HASH)
            for offset, (row, digest) in enumerate(pending, start=1):
                row["_id"] = seq + offset
                row["prev_hash"] = prev
                row["hash"] = prev = link_hash(prev, digest)
            new = (pending[-1][0]["_id"], prev)
            if not _move_tip(chain, tip, new):
                tip = _UNKNOWN  # another writer moved it (or the store was emptied)
                continue
            tip = new
            try:
                collection.insert_many([row for row, _ in pending], ordered=True)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", ())
                if any(error.get("code") != _DUPLICATE_KEY for error in errors):
                    raise
                # Positions the tip document did not know were taken (entries of
                # an older version, which moved it after inserting): keep what
                # went in and chain the rest after the real last entry.
                inserted = exc.details.get("nInserted", 0)
                logger.info(
                    "audit: MongoDB chain positions after %s were taken; chaining the other"
                    " %s entries after the last stored one",
                    seq + inserted,
                    len(pending) - inserted,
                )
                pending = pending[inserted:]
                real = _mongo_tip(collection, after=seq + inserted)
                tip = real if _move_tip(chain, new, real) else _UNKNOWN
                continue
            pending = []
        _mongo_tips[store] = tip
    return len(entries)


def _move_tip(chain, old: tuple[int, str] | None, new: tuple[int, str]) -> bool:
    """Compare and swap the chain's tip document: False when it is not at ``old``."""
    from pymongo.errors import DuplicateKeyError

    seq, hash_ = new
    if old is None:
        try:
            chain.insert_one({"_id": MONGO_STORE, "seq": seq, "hash": hash_})
        except DuplicateKeyError:
            return False
        return True
    result = chain.update_one(
        {"_id": MONGO_STORE, "seq": old[0], "hash": old[1]}, {"$set": {"seq": seq, "hash": hash_}}
    )
    return result.matched_count == 1


def mongo_entry_changes(doc: Mapping[str, Any]) -> dict[str, Any]:
    changes = doc.get("changes")
    return json.loads(changes) if isinstance(changes, str) else changes


def _mongo_tip(collection, *, after: int) -> tuple[int, str]:
    seq, prev = after, None
    for row in collection.find({"_id": {"$gte": after}}, {"hash": 1}).sort("_id", 1):
        seq, prev = row["_id"], row["hash"]
    if prev is None:
        row = collection.find_one({"_id": {"$lte": after}}, {"hash": 1}, sort=[("_id", -1)])
        seq, prev = (row["_id"], row["hash"]) if row else (0, GENESIS_HASH)
    return seq, prev
