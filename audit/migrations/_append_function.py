"""The PostgreSQL audit_append() function, as migrations 0002 and 0004 create it."""

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

CREATE_WITH_TIP = r"""
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
    -- The tip moves with the append: verify-chain compares the chain's end with it.
    INSERT INTO audit_auditchaintip (store, entry_id, hash)
    SELECT 'sql', id, hash FROM audit_auditentry ORDER BY id DESC LIMIT 1
    ON CONFLICT (store) DO UPDATE SET entry_id = EXCLUDED.entry_id, hash = EXCLUDED.hash;
END;
$$ LANGUAGE plpgsql VOLATILE;
"""
