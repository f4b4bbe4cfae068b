"""PostgreSQL: append a batch of entries to the chain in one round trip.

audit_append(lock_key, genesis, entries) takes the chain's transaction-level
advisory lock, reads the newest entry's hash (a fresh snapshot, after the lock
is granted) and inserts the entries in order, each with
hash = sha256(prev_hash || digest), where the digest is the keyed HMAC of the
entry's content computed by the application (audit.recorder.link_hash).
Other databases append from Python (audit.recorder.sql_record).
"""

from django.db import migrations

CREATE = r"""
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

DROP = "DROP FUNCTION IF EXISTS audit_append(bigint, text, jsonb);"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
