"""Relational capture: saves, deletes, m2m, queryset and bulk writes, rollbacks, fixtures."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from catalog.models import Classifier, License, Maintainer, Package, Release, User
from tests.audit.conftest import sql_entries

pytestmark = pytest.mark.django_db


def test_create_records_every_field_with_the_system_actor():
    package = Package.objects.create(display_name="Demo_Pkg", summary="A demo")

    [entry] = sql_entries(model="catalog.package")
    assert entry.operation == "create"
    assert entry.object_key == str(package.pk)
    assert entry.changes["name"] == [None, "demo-pkg"]
    assert entry.changes["summary"] == [None, "A demo"]
    assert entry.changes["created"][1] == package.created.isoformat()
    assert "updated" not in entry.changes  # auto_now says nothing new
    assert entry.actor == "system"
    assert len(entry.correlation_id) == 32


def test_update_records_old_and_new_values_and_noop_saves_record_nothing(package):
    package.summary = "Better"
    package.save()
    package.save()  # nothing changed
    reloaded = Package.objects.get(pk=package.pk)
    reloaded.save()  # loaded and saved unchanged

    entries = sql_entries(model="catalog.package", operation="update")
    # A change raises the package's serial (what mirrors watch); a no-op save does not.
    assert [e.changes for e in entries] == [
        {"summary": ["A demo", "Better"], "last_serial": [0, 1]}
    ]


def test_update_fields_limits_the_diff_to_the_saved_fields(package):
    package.summary = "Saved"
    package.keywords = "not saved"
    package.save(update_fields=["summary"])

    [entry] = sql_entries(model="catalog.package", operation="update")
    assert entry.changes == {"summary": ["A demo", "Saved"], "last_serial": [0, 1]}


def test_instance_built_without_loading_is_diffed_against_the_stored_row(package):
    stale = Package(
        pk=package.pk, display_name="Demo_Pkg", summary="Rewritten", created=package.created
    )
    stale.save()

    [entry] = sql_entries(model="catalog.package", operation="update")
    assert entry.changes == {"summary": ["A demo", "Rewritten"], "last_serial": [0, 1]}


def test_deferred_fields_are_read_before_the_save(package):
    partial = Package.objects.only("pk", "display_name").get(pk=package.pk)
    partial.summary = "From deferred"
    partial.save()

    [entry] = sql_entries(model="catalog.package", operation="update")
    assert entry.changes == {"summary": ["A demo", "From deferred"], "last_serial": [0, 1]}


def test_delete_records_the_last_values_and_cascades(package, releases):
    package_pk = package.pk
    package.delete()

    deleted = sql_entries(operation="delete")
    assert {(e.model, e.object_key) for e in deleted} == {
        ("catalog.package", str(package_pk)),
        *{("catalog.release", str(r.pk)) for r in releases},
    }
    package_entry = next(e for e in deleted if e.model == "catalog.package")
    assert package_entry.changes["summary"] == ["A demo", None]


def test_rollback_leaves_no_entry(package):
    with pytest.raises(RuntimeError), transaction.atomic():
        package.summary = "Rolled back"
        package.save()
        Release.objects.filter(package=package).update(yanked=True)
        raise RuntimeError("boom")

    assert sql_entries(operation="update") == []
    package.refresh_from_db()
    assert package.summary == "A demo"


def test_m2m_add_remove_clear_in_both_directions(package):
    web, cli = Classifier.objects.create(name="Web"), Classifier.objects.create(name="CLI")
    other = Package.objects.create(display_name="other")

    package.classifiers.add(web, cli)
    package.classifiers.add(web)  # already linked: nothing new
    package.classifiers.remove(cli)
    web.packages.add(other)  # reverse side: recorded on the package
    package.classifiers.clear()

    entries = sql_entries(model="catalog.package", operation__startswith="m2m")
    assert [(e.object_key, e.operation, e.changes) for e in entries] == [
        (str(package.pk), "m2m_add", {"classifiers": {"added": sorted([web.pk, cli.pk])}}),
        (str(package.pk), "m2m_remove", {"classifiers": {"removed": [cli.pk]}}),
        (str(other.pk), "m2m_add", {"classifiers": {"added": [web.pk]}}),
        (str(package.pk), "m2m_clear", {"classifiers": {"removed": [web.pk]}}),
    ]


def test_maintainers_through_model_rows_are_recorded(package):
    user = User.objects.create_user(username="ann", password="x-password-123")
    package.maintainers.add(user, through_defaults={"role": "owner"})

    [entry] = sql_entries(model="catalog.maintainer")
    link = Maintainer.objects.get()
    assert entry.object_key == str(link.pk)
    assert entry.changes["role"] == [None, "owner"]
    assert entry.changes["user"] == [None, user.pk]


def test_queryset_update_records_one_entry_per_changed_object(package, releases):
    Release.objects.filter(version="1.0").update(yanked=True)  # one already yanked below
    Release.objects.filter(package=package).update(yanked=True, yanked_reason="broken")

    entries = sql_entries(model="catalog.release", operation="bulk_update")
    by_key = [(e.object_key, e.changes) for e in entries]
    first = str(releases[0].pk)
    assert by_key[0] == (first, {"yanked": [False, True]})
    assert sorted(by_key[1:]) == sorted(
        [(first, {"yanked_reason": ["", "broken"]})]
        + [
            (str(r.pk), {"yanked": [False, True], "yanked_reason": ["", "broken"]})
            for r in releases[1:]
        ]
    )


def test_queryset_update_with_expressions_reads_back_the_stored_values(package):
    Package.objects.filter(pk=package.pk).update(last_serial=F("last_serial") + 5)
    Package.objects.filter(pk=package.pk).update(last_serial=F("last_serial"))  # no change

    [entry] = sql_entries(model="catalog.package", operation="bulk_update")
    assert entry.changes == {"last_serial": [0, 5]}


def _count_queries(func) -> int:
    from django.db import connection

    with CaptureQueriesContext(connection) as ctx:
        func()
    return len(ctx.captured_queries)


def _releases(package, count: int, start: int = 0) -> list[Release]:
    items = [Release(package=package, version=f"{start + i}.0") for i in range(count)]
    for r in items:
        r.compute_version_fields()
    return items


def test_bulk_writes_cost_a_constant_number_of_queries(package):
    # 60 rows: within one of Django's own batches on every backend (SQLite's bound
    # on query parameters, the 100-row delete chunks), so any growth would be ours.
    small = _count_queries(lambda: Release.objects.bulk_create(_releases(package, 3)))
    large = _count_queries(lambda: Release.objects.bulk_create(_releases(package, 60, 100)))
    assert small == large

    created = sql_entries(model="catalog.release", operation="bulk_create")
    assert len(created) == 63
    assert created[0].changes["version"] == [None, "0.0"]

    small = _count_queries(lambda: Release.objects.filter(version="0.0").update(comment="x"))
    large = _count_queries(lambda: Release.objects.filter(sort_key__gt="").update(comment="y"))
    assert small == large
    assert len(sql_entries(operation="bulk_update")) == 1 + 63

    def bulk_update(count: int):
        items = list(Release.objects.order_by("pk")[:count])
        for r in items:
            r.summary = f"s{count}"
        return lambda: Release.objects.bulk_update(items, ["summary"])

    assert _count_queries(bulk_update(2)) == _count_queries(bulk_update(60))

    small = _count_queries(lambda: Release.objects.filter(version="0.0").delete())
    large = _count_queries(lambda: Release.objects.filter(sort_key__gt="").delete())
    assert small == large
    assert len(sql_entries(operation="bulk_delete")) == 63


def test_bulk_update_records_only_changed_objects(package, releases):
    releases[0].comment = "changed"
    Release.objects.bulk_update(releases, ["comment"])

    [entry] = sql_entries(model="catalog.release", operation="bulk_update")
    assert (entry.object_key, entry.changes) == (str(releases[0].pk), {"comment": ["", "changed"]})


def test_upsert_records_creates_and_updates(db):
    License.objects.create(name="MIT", spdx_id="")
    License.objects.bulk_create(
        [License(name="MIT", spdx_id="MIT"), License(name="BSD", spdx_id="BSD-3-Clause")],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["spdx_id"],
    )

    entries = sql_entries(model="catalog.license")
    mit = License.objects.get(name="MIT")
    assert [(e.operation, e.changes.get("spdx_id")) for e in entries] == [
        ("create", [None, ""]),
        ("bulk_update", ["", "MIT"]),
        ("bulk_create", [None, "BSD-3-Clause"]),
    ]
    assert entries[1].object_key == str(mit.pk)


def test_fixture_loading_is_recorded_as_raw(tmp_path, package):
    fixture = tmp_path / "licenses.json"
    fixture.write_text(
        json.dumps(
            [
                {
                    "model": "catalog.license",
                    "pk": 7,
                    "fields": {"name": "ISC", "spdx_id": "ISC", "updated": "2024-01-01T00:00:00Z"},
                },
                {
                    "model": "catalog.package",
                    "pk": package.pk,
                    "fields": {
                        **_package_fields(package),
                        "summary": "From fixture",
                        "created": package.created.isoformat(),
                    },
                },
            ]
        )
    )
    call_command("loaddata", str(fixture), verbosity=0)

    created, updated = sql_entries(raw=True)
    assert (created.model, created.operation, created.object_key) == (
        "catalog.license",
        "create",
        "7",
    )
    assert (updated.model, updated.operation) == ("catalog.package", "update")
    assert updated.changes == {"summary": ["A demo", "From fixture"]}


def _package_fields(package) -> dict:
    from django.core import serializers

    return json.loads(serializers.serialize("json", [package]))[0]["fields"]


def test_email_normalizer_change_is_recorded():
    user = User.objects.create_user(
        username="ann", email="  Ann@Example.ORG ", password="pw-12345678"
    )
    # Django's rule: the domain is lowercased, the local part kept.
    assert User.objects.get(pk=user.pk).email == "Ann@example.org"
    user.email = " Ann@EXAMPLE.ORG"
    user.save()  # normalizes to the stored value: nothing changed

    # Package e-mails are PyPI metadata: stored as published.
    package = Package.objects.create(display_name="x", maintainer_email=" Bob@Example.org ")
    package.maintainer_email = "Bob <Bob@Example.org> "
    package.save()

    [user_entry] = sql_entries(model="catalog.user")
    assert user_entry.changes["email"] == [None, "Ann@example.org"]
    assert user_entry.changes["password"] == [None, "<redacted>"]
    pkg_entries = sql_entries(model="catalog.package")
    assert pkg_entries[0].changes["maintainer_email"] == [None, " Bob@Example.org "]
    assert pkg_entries[1].changes == {
        "maintainer_email": [" Bob@Example.org ", "Bob <Bob@Example.org> "],
        "last_serial": [0, 1],
    }
