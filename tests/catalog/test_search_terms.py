"""Search terms are computed at write time by every write path, the same for both stores."""

from __future__ import annotations

import importlib
import json
from io import StringIO

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection

from catalog import search
from catalog.models import Package, SearchTerm
from catalog.services.seed import catalog_seed
from catalog.services.seed_pypi import catalog_seed_pypi
from tests.catalog.factories import pypi_document
from tests.migrate.conftest import migrate, snapshot

pytestmark = pytest.mark.django_db


def stored() -> dict[str, list[str]]:
    terms: dict[str, list[str]] = {}
    for name, term in SearchTerm.objects.order_by("package__name", "term").values_list(
        "package__name", "term"
    ):
        terms.setdefault(name, []).append(term)
    return terms


def expected() -> dict[str, list[str]]:
    return {
        name: search.package_terms(
            name=name, display_name=display_name, summary=summary, keywords=keywords
        )
        for name, display_name, summary, keywords in Package.objects.values_list(
            "name", "display_name", "summary", "keywords"
        )
    }


def test_terms_of_a_package():
    terms = search.package_terms(
        name="django-rest-framework",
        display_name="DjangoRESTFramework",
        summary="Web APIs for Django, made easy; the parsers included",
        keywords="api,rest",
    )
    assert "=django-rest-framework" in terms
    assert {"^dj", "^django-rest-framewor"} <= set(terms)
    assert "^django-rest-framework" not in terms  # the whole name is the exact term
    assert {"n:django", "n:rest", "n:framework"} <= set(terms)
    # Summary words are stemmed, common words left out, name words not repeated.
    assert {"s:web", "s:api", "s:made", "s:easi", "s:parser", "s:includ"} <= set(terms)
    assert not {"s:the", "s:for", "s:django", "s:rest"} & set(terms)
    assert "~djano-rest-framework" in terms
    # Names over 32 characters get no typo terms.
    long_name = "a-very-long-project-name-over-32-characters"
    terms = search.package_terms(name=long_name, display_name=long_name, summary="", keywords="")
    assert not [t for t in terms if t.startswith("~")]
    short = search.package_terms(name="requests", display_name="requests", summary="", keywords="")
    assert "~reqests" in short and "~requests" not in short


@pytest.mark.parametrize(
    ("a", "b", "close"),
    [
        ("requests", "requests", True),
        ("requests", "reqests", True),
        ("requests", "requestss", True),
        ("requests", "requezts", True),
        ("requests", "rqeuests", True),
        ("requests", "rekwests", False),
        ("requests", "sequest", False),
        ("abcx", "abyc", False),
    ],
)
def test_within_one_edit(a, b, close):
    assert search.within_one_edit(a, b) is close
    assert search.within_one_edit(b, a) is close


def test_save_update_bulk_update_and_bulk_create_keep_terms():
    package = Package.objects.create(display_name="Alpha", summary="First parsers")
    Package.objects.bulk_create(
        [Package(name="beta", display_name="Beta", summary="Second one", keywords="toml")]
    )
    assert stored() == expected()
    assert "s:parser" in stored()["alpha"]
    package.summary = "Now about yaml"
    package.save()
    Package.objects.filter(name="beta").update(keywords="ini")
    beta = Package.objects.get(name="beta")
    beta.display_name = "BetaMax"
    Package.objects.bulk_update([beta], ["display_name"])
    assert stored() == expected()
    assert "s:yaml" in stored()["alpha"] and "s:parser" not in stored()["alpha"]
    assert {"s:ini", "n:max"} <= set(stored()["beta"])
    # A save of other fields leaves the terms alone (no query on them).
    package.home_page = "https://example.org/"
    package.save(update_fields=["home_page"])
    Package.objects.bulk_create(
        [Package(name="beta", display_name="Beta again")], ignore_conflicts=True
    )
    assert stored() == expected()
    package.delete()
    assert set(stored()) == {"beta"}


def test_seeding_profiles_write_terms():
    catalog_seed(packages=8, seed=3)
    assert stored() == expected()
    Package.objects.all().delete()
    catalog_seed_pypi(projects=30, seed=5)
    assert stored() == expected()
    assert len(stored()) == 30


def test_import_writes_and_updates_terms(tmp_path):
    document = pypi_document(versions=("1.0",))
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document))
    call_command("import_pypi", str(path), stdout=StringIO())
    assert stored() == expected() and stored()
    document["info"]["summary"] = "Completely different wording"
    document["last_serial"] += 1
    path.write_text(json.dumps(document))
    call_command("import_pypi", str(path), stdout=StringIO())
    assert stored() == expected()
    assert "s:word" in next(iter(stored().values()))


def test_documents_carry_the_same_terms_and_the_reverse_migration_keeps_rows_current():
    catalog_seed(packages=4, seed=2)
    migrate()
    docs = snapshot()["packages"]
    assert {name: doc["terms"] for name, doc in docs.items()} == stored()
    from mongoengine.connection import get_db

    name = sorted(docs)[0]
    get_db()["packages"].update_one({"_id": name}, {"$set": {"summary": "Restored wording"}})
    call_command("migrate_from_mongo", stdout=StringIO())
    assert "s:restor" in stored()[name]
    assert stored() == expected()


def test_live_sync_carries_new_terms(settings, django_capture_on_commit_callbacks):
    catalog_seed(packages=3, seed=2)
    settings.CATALOG_LIVE_SYNC = True
    migrate()
    package = Package.objects.order_by("name").first()
    with django_capture_on_commit_callbacks(execute=True):
        package.summary = "Synced zebra"
        package.save()
    assert "s:zebra" in snapshot()["packages"][package.name]["terms"]


def test_reindex_command_and_the_backfill_migration_rebuild_terms():
    catalog_seed(packages=5, seed=1)
    want = expected()
    SearchTerm.objects.all().delete()
    out = StringIO()
    call_command("search_reindex", stdout=out)
    assert stored() == want
    assert out.getvalue().startswith("Indexed 5 packages: ")

    SearchTerm.objects.all().delete()
    backfill = importlib.import_module("catalog.migrations.0007_search_terms").backfill

    class Editor:
        connection = connection

    backfill(django_apps, Editor())
    assert stored() == want
