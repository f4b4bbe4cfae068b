"""Actor, correlation id and client address from requests, commands and threads."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings

from audit.context import audit_context, audit_thread
from audit.models import AuditEntry
from catalog.documents import PackageDocument
from catalog.models import License, Package
from tests.audit.conftest import mongo_entries, sql_entries

ROOT = Path(__file__).resolve().parents[2]


def _edit_license(client, license, **headers):
    return client.post(
        f"/admin/catalog/license/{license.pk}/change/",
        {"name": license.name, "spdx_id": f"{license.spdx_id}x"},
        **headers,
    )


@pytest.mark.django_db
def test_request_records_user_address_and_correlation_id(staff_client, staff_user):
    license = License.objects.create(name="MIT")

    response = _edit_license(staff_client, license, REMOTE_ADDR="203.0.113.5")

    assert response.status_code == 302
    [entry] = sql_entries(model="catalog.license", operation="update")
    assert (entry.actor, entry.actor_id) == ("staff", staff_user.pk)
    assert entry.remote_addr == "203.0.113.5"
    assert entry.correlation_id == response["X-Correlation-ID"]
    assert entry.changes == {"spdx_id": ["", "x"]}


@pytest.mark.django_db
@override_settings(AUDIT_TRUSTED_PROXIES=["10.0.0.0/8", "2001:db8::/32"])
@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # From a trusted proxy: the right-most untrusted hop; a forged left part is ignored.
        ("10.0.0.1", "6.6.6.6, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
        ("2001:db8::1", "2001:db8::2, 198.51.100.8", "198.51.100.8"),
        # From anyone else: the header is the client's own claim and is not believed.
        ("198.51.100.9", "10.0.0.5, 1.2.3.4", "198.51.100.9"),
        # Garbage after the trusted hops: stop at the last address we can vouch for.
        ("10.0.0.1", "1.2.3.4, not-an-ip", "10.0.0.1"),
    ],
)
def test_forwarded_addresses_are_believed_only_from_trusted_proxies(
    staff_client, peer, forwarded, expected
):
    license = License.objects.create(name="MIT")
    _edit_license(staff_client, license, REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)

    [entry] = sql_entries(model="catalog.license", operation="update")
    assert entry.remote_addr == expected


@pytest.mark.django_db
@override_settings(AUDIT_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_request_id_is_taken_from_trusted_proxies_only(staff_client):
    license = License.objects.create(name="MIT")

    trusted = _edit_license(
        staff_client, license, REMOTE_ADDR="10.0.0.1", HTTP_X_REQUEST_ID="req-42"
    )
    license.refresh_from_db()
    untrusted = _edit_license(
        staff_client, license, REMOTE_ADDR="192.0.2.1", HTTP_X_REQUEST_ID="req-43"
    )

    assert trusted["X-Correlation-ID"] == "req-42"
    assert untrusted["X-Correlation-ID"] != "req-43"
    ids = [e.correlation_id for e in sql_entries(operation="update")]
    assert ids == ["req-42", untrusted["X-Correlation-ID"]]


@pytest.mark.django_db
def test_a_context_marks_both_stores_with_one_command_run():
    @audit_context(command="migrate_to_mongo")
    def run() -> None:
        Package.objects.create(display_name="demo")
        PackageDocument(name="demo", display_name="demo").save()

    run()

    [row] = sql_entries(model="catalog.package")
    [doc] = mongo_entries(model="packages")
    assert row.actor == doc["actor"] == "command:migrate_to_mongo"
    assert row.correlation_id == doc["correlation_id"]


def create_package(name: str) -> None:
    try:
        Package.objects.create(display_name=name)
    finally:
        connection.close()  # this thread's own connection


@pytest.mark.django_db(transaction=True)
def test_threads_started_with_audit_thread_keep_the_context():
    with audit_context(command="import_pypi") as ctx:
        worker = audit_thread(create_package, "from-worker")
        plain = threading.Thread(target=create_package, args=("plain",))
        # One after the other: SQLite's in-memory test database locks a table
        # against a second concurrent writer.
        worker.start(), worker.join()
        plain.start(), plain.join()

    entries = {e.changes["name"][1]: e for e in sql_entries(model="catalog.package")}
    assert entries["from-worker"].actor == "command:import_pypi"
    assert entries["from-worker"].correlation_id == ctx.correlation_id
    # A bare thread does not inherit context variables: it is the system actor.
    assert entries["plain"].actor == "system"
    assert entries["plain"].correlation_id != ctx.correlation_id


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_management_command_run_is_one_actor_and_one_correlation_id():
    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    if connection.vendor != "postgresql":
        pytest.skip("needs a database another process can open")
    result = subprocess.run(
        [sys.executable, "manage.py", "seed_catalog", "--packages", "3", "--seed", "7", "--audit"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr

    entries = AuditEntry.objects.all()
    assert entries.count() > 3
    assert set(entries.values_list("actor", flat=True)) == {"command:seed_catalog"}
    assert entries.values("correlation_id").distinct().count() == 1
