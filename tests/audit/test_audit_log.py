"""audit_log: the merged timeline, as-of states, chain verification and pruning."""

from __future__ import annotations

import json
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from audit.context import audit_context
from audit.models import AuditEntry
from audit.recorder import MONGO_ENTRIES, mongo_db
from audit.services import object_state_at
from catalog.documents import PackageDocument
from catalog.models import Package

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("audit_log", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def run_json(*args: str) -> list[dict]:
    return [json.loads(line) for line in run(*args, "--json").splitlines()]


def tick() -> timezone.datetime:
    """A moment strictly between two writes (entries keep milliseconds)."""
    time.sleep(0.003)
    moment = timezone.now()
    time.sleep(0.003)
    return moment


def test_timeline_merges_both_stores_and_filters():
    with audit_context(command="import_pypi") as ctx:
        package = Package.objects.create(display_name="demo")
        PackageDocument(name="demo", display_name="demo").save()
    middle = tick()
    with audit_context(actor="ann"):
        package.summary = "changed"
        package.save()

    everything = run_json()
    assert [(e["store"], e["model"], e["operation"]) for e in everything] == [
        ("sql", "catalog.package", "create"),
        ("mongo", "packages", "create"),
        ("sql", "catalog.package", "update"),
    ]
    run_entries = run_json("--correlation", ctx.correlation_id)
    assert {e["actor"] for e in run_entries} == {"command:import_pypi"}
    assert [e["store"] for e in run_entries] == ["sql", "mongo"]
    assert [e["operation"] for e in run_json("--actor", "ann")] == ["update"]
    assert [e["operation"] for e in run_json("--since", middle.isoformat())] == ["update"]
    assert len(run_json("--until", middle.isoformat())) == 2
    assert [e["store"] for e in run_json("--model", "packages", "--object", "demo")] == ["mongo"]
    assert len(run_json("--model", "package")) == 3  # the row and its document
    assert len(run_json("--model", "catalog.package", "--object", str(package.pk))) == 2

    text = run("--actor", "ann")
    assert f"update catalog.package:{package.pk} by ann" in text
    assert 'summary: ["", "changed"]' in text


def test_bad_times_are_rejected_naming_the_option():
    with pytest.raises(CommandError, match=r"--since: 'yesterday' is not an ISO 8601"):
        run("--since", "yesterday")


def test_as_of_rebuilds_the_real_past_states_in_both_stores():
    package = Package.objects.create(display_name="demo", summary="v1")
    doc = PackageDocument(name="demo", display_name="demo", summary="v1").save()
    states = []
    for summary in ("v2", "v3"):
        moment = tick()
        stored = Package.objects.get(pk=package.pk)
        states.append((moment, stored.summary, stored.keywords))
        stored.summary, stored.keywords = summary, f"kw-{summary}"
        stored.save()
        doc.summary = summary
        doc.save()
    moment = tick()
    states.append((moment, "v3", "kw-v3"))
    Package.objects.filter(pk=package.pk).delete()
    doc.delete()
    gone = tick()

    for moment, summary, keywords in states:
        state = object_state_at(model="package", object_key=str(package.pk), at=moment)
        assert (state.fields["summary"], state.fields["keywords"]) == (summary, keywords)
        mongo = object_state_at(model="packages", object_key="demo", at=moment)
        assert mongo.fields["summary"] == summary
    assert not object_state_at(model="package", object_key=str(package.pk), at=gone).exists

    [line] = run_json(
        "--model", "package", "--object", str(package.pk), "--as-of", states[1][0].isoformat()
    )
    assert line["fields"]["summary"] == "v2"
    with pytest.raises(CommandError, match="did not exist"):
        run("--model", "package", "--object", str(package.pk), "--as-of", gone.isoformat())


def _write_both_stores(count: int = 3) -> None:
    for i in range(count):
        Package.objects.create(display_name=f"pkg{i}")
        PackageDocument(name=f"pkg{i}", display_name=f"pkg{i}").save()


def test_verify_chain_passes_then_catches_an_edited_relational_entry():
    _write_both_stores()
    assert "chain OK" in run("--verify-chain")

    target = AuditEntry.objects.order_by("id")[1]
    with connection.cursor() as cursor:  # what someone with database access could do
        cursor.execute(
            "UPDATE audit_auditentry SET actor = %s WHERE id = %s", ["someone-else", target.id]
        )
    with pytest.raises(CommandError, match=rf"sql chain broken at entry #{target.id}: .*edited"):
        run("--verify-chain")


def test_verify_chain_catches_removed_and_edited_document_entries():
    _write_both_stores()
    entries = mongo_db()[MONGO_ENTRIES]
    entries.delete_one({"_id": 2})
    with pytest.raises(CommandError, match=r"mongo chain broken at entry #3: .*removed"):
        run("--verify-chain", "--store", "mongo")

    entries.update_one({"_id": 1}, {"$set": {"changes.display_name": [None, "forged"]}})
    with pytest.raises(CommandError, match=r"mongo chain broken at entry #1: .*edited"):
        run("--verify-chain", "--store", "mongo")


def test_prune_keeps_the_chain_verifiable_and_is_recorded():
    _write_both_stores(2)
    cutoff = tick()
    Package.objects.create(display_name="late")
    PackageDocument(name="late", display_name="late").save()

    out = run("--prune-before", cutoff.isoformat())
    assert "sql: pruned 2 entries" in out
    assert "mongo: pruned 2 entries" in out
    assert "chain OK" in run("--verify-chain")

    [prune] = run_json("--model", "audit.auditentry")
    assert prune["operation"] == "prune"
    assert prune["actor"] == "command:audit_log"
    assert prune["changes"]["deleted"] == 2
    # Pruning everything still leaves a verifiable chain anchored by the prune entry.
    run("--prune-before", tick().isoformat())
    assert "chain OK" in run("--verify-chain")
    # Removing entries any other way is caught.
    Package.objects.create(display_name="after")
    first = AuditEntry.objects.order_by("id").first()
    AuditEntry.objects.filter(id=first.id)._raw_delete("default")
    with pytest.raises(CommandError, match="sql chain broken"):
        run("--verify-chain")
