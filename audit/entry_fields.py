"""The fields of an audit entry, listed once.

Everything that writes or reads entries derives from this list: the recorder
(what an entry's digest covers), the timeline, the chain verification and the
benchmark (what they read from either store), and the SQL of PostgreSQL's
``audit_append()`` (generated from it, ``audit/migrations/_append_function.py``).
``AuditEntry`` declares the same columns; ``tests/audit/test_entry_fields.py``
fails when the model, the timeline's entry or the function in the database
disagrees with the list.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EntryField:
    """One content field of an entry and the PostgreSQL type ``audit_append()`` casts it to."""

    name: str
    pg_type: str = "text"


# What an entry says, in the order of the table's columns; the digest covers these.
CONTENT_FIELDS: tuple[EntryField, ...] = (
    EntryField("model"),
    EntryField("object_key"),
    EntryField("operation"),
    EntryField("changes", "jsonb"),
    EntryField("timestamp", "timestamptz"),
    EntryField("actor"),
    EntryField("actor_id", "bigint"),
    EntryField("remote_addr", "inet"),
    EntryField("correlation_id"),
    EntryField("raw", "boolean"),
    EntryField("note"),
)
CONTENT_NAMES: tuple[str, ...] = tuple(f.name for f in CONTENT_FIELDS)
# The chain's links, computed from the content and the previous entry.
CHAIN_NAMES: tuple[str, ...] = ("prev_hash", "hash")
ENTRY_NAMES: tuple[str, ...] = (*CONTENT_NAMES, *CHAIN_NAMES)
