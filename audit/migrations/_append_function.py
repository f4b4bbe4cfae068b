"""The PostgreSQL audit_append() function, as migrations 0002 and 0004 create it.

``append_function_sql()`` generates the function from the entry's content
fields (``audit.entry_fields``). A migration freezes what it runs: 0002's text
is written out, 0004 passes the fields as they stood then
(``CONTENT_FIELDS_0004``). When ``audit.entry_fields`` changes, a new migration
re-creates the function with the fields as they stand at that migration
(written out in it, like 0004's); until then ``tests/audit/test_entry_fields.py``
fails, as the function in the database no longer writes what the list says.
"""

from collections.abc import Sequence

from audit.entry_fields import EntryField

CREATE_WITHOUT_TIP = r"""
CREATE OR REPLACE FUNCTION audit_append(lock_key bigint, genesis text, entries jsonb)
RETURNS void AS $$
DECLARE
    prev text;
    digest text;
    prevs text[] := '{}';
    hashes text[] := '{}';
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    SELECT hash INTO prev FROM audit_auditentry ORDER BY id DESC LIMIT 1;
    IF prev IS NULL THEN
        prev := genesis;
    END IF;
    -- The chain is sequential: hash in a loop, then insert the batch in one statement.
    FOR digest IN SELECT value->>'digest' FROM jsonb_array_elements(entries) LOOP
        prevs := prevs || prev;
        prev := encode(sha256(convert_to(prev || digest, 'UTF8')), 'hex');
        hashes := hashes || prev;
    END LOOP;
    INSERT INTO audit_auditentry (
        model, object_key, operation, changes, "timestamp", actor, actor_id,
        remote_addr, correlation_id, raw, note, prev_hash, hash
    )
    SELECT
        e->>'model', e->>'object_key', e->>'operation', e->'changes',
        (e->>'timestamp')::timestamptz, e->>'actor', (e->>'actor_id')::bigint,
        (e->>'remote_addr')::inet, e->>'correlation_id', (e->>'raw')::boolean,
        e->>'note', prevs[n], hashes[n]
    FROM jsonb_array_elements(entries) WITH ORDINALITY AS x(e, n)
    ORDER BY n;
END;
$$ LANGUAGE plpgsql VOLATILE;
"""


# The entry's content fields when migration 0004 ran (frozen: migrations are history).
CONTENT_FIELDS_0004 = (
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


def _column(name: str) -> str:
    # "timestamp" is a type name in SQL: quoted wherever it names the column.
    return f'"{name}"' if name == "timestamp" else name


def _json_value(field: EntryField) -> str:
    """The field's value read from an entry's JSON (``e``), cast to the column's type."""
    if field.pg_type == "jsonb":
        return f"e->'{field.name}'"
    if field.pg_type == "text":
        return f"e->>'{field.name}'"
    return f"(e->>'{field.name}')::{field.pg_type}"


def _wrapped(items: Sequence[str], indent: str) -> str:
    """Comma-separated items, lines kept under 80 characters."""
    lines, line = [], ""
    for item in items:
        if line and len(indent) + len(line) + len(item) + 2 > 80:
            lines.append(indent + line.rstrip())
            line = ""
        line += f"{item}, "
    lines.append(indent + line.rstrip().rstrip(","))
    return "\n".join(lines)


def append_function_sql(fields: Sequence[EntryField]) -> str:
    """CREATE OR REPLACE the function that appends a batch of entries with these content
    fields (then the chain's prev_hash and hash) and moves the chain tip."""
    columns = [*(_column(f.name) for f in fields), "prev_hash", "hash"]
    values = [*(_json_value(f) for f in fields), "prevs[n]", "hashes[n]"]
    return (
        _HEAD
        + "    INSERT INTO audit_auditentry (\n"
        + _wrapped(columns, " " * 8)
        + "\n    )\n    SELECT\n"
        + _wrapped(values, " " * 8)
        + "\n"
        + _TAIL
    )


_HEAD = r"""
CREATE OR REPLACE FUNCTION audit_append(lock_key bigint, genesis text, entries jsonb)
RETURNS void AS $$
DECLARE
    prev text;
    digest text;
    prevs text[] := '{}';
    hashes text[] := '{}';
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    SELECT hash INTO prev FROM audit_auditentry ORDER BY id DESC LIMIT 1;
    IF prev IS NULL THEN
        prev := genesis;
    END IF;
    -- The chain is sequential: hash in a loop, then insert the batch in one statement.
    FOR digest IN SELECT value->>'digest' FROM jsonb_array_elements(entries) LOOP
        prevs := prevs || prev;
        prev := encode(sha256(convert_to(prev || digest, 'UTF8')), 'hex');
        hashes := hashes || prev;
    END LOOP;
"""

_TAIL = r"""    FROM jsonb_array_elements(entries) WITH ORDINALITY AS x(e, n)
    ORDER BY n;
    -- The tip moves with the append: verify-chain compares the chain's end with it.
    INSERT INTO audit_auditchaintip (store, entry_id, hash)
    SELECT 'sql', id, hash FROM audit_auditentry ORDER BY id DESC LIMIT 1
    ON CONFLICT (store) DO UPDATE SET entry_id = EXCLUDED.entry_id, hash = EXCLUDED.hash;
END;
$$ LANGUAGE plpgsql VOLATILE;
"""

CREATE_WITH_TIP = append_function_sql(CONTENT_FIELDS_0004)
