"""Live sync: ORM and admin writes reach MongoDB on commit, and nothing on rollback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import transaction

from catalog.models import Classifier, License, Maintainer, Package, Release, ReleaseFile, User
from catalog.services.sync import live_sync_enabled, live_sync_suspended
from tests.migrate.conftest import migrate, snapshot

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def synced(catalog, settings):
    settings.CATALOG_LIVE_SYNC = True
    migrate()


def test_saving_a_package_reaches_mongodb_on_commit(synced, django_capture_on_commit_callbacks):
    package = Package.objects.get(name="demo-pkg-1")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        package.summary = "Now with live sync"
        package.save()

    assert callbacks
    assert snapshot()["packages"]["demo-pkg-1"]["summary"] == "Now with live sync"


def test_nothing_is_written_before_commit_nor_on_rollback(
    synced, django_capture_on_commit_callbacks
):
    before = snapshot()
    package = Package.objects.get(name="demo-pkg-1")
    with django_capture_on_commit_callbacks(execute=False):
        package.summary = "pending"
        package.save()
        assert snapshot() == before  # not yet committed

    with pytest.raises(RuntimeError), transaction.atomic():
        Release.objects.create(package=package, version="9.9.9")
        Package.objects.get(name="demo-pkg-2").delete()
        raise RuntimeError("roll back")

    assert snapshot() == before


def test_release_file_and_maintainer_changes_reach_their_documents(
    synced, django_capture_on_commit_callbacks
):
    package = Package.objects.get(name="demo-pkg-2")
    with django_capture_on_commit_callbacks(execute=True):
        release = Release.objects.create(package=package, version="3.0.0")
        ReleaseFile.objects.create(
            release=release,
            filename="demo-pkg-2-3.0.0.tar.gz",
            packagetype="sdist",
            sha256="a" * 64,
        )
        Maintainer.objects.create(package=package, user=User.objects.get(username="bob"))

    docs = snapshot()
    assert docs["releases"]["demo-pkg-2==3.0.0"]["files"][0]["filename"] == (
        "demo-pkg-2-3.0.0.tar.gz"
    )
    assert docs["packages"]["demo-pkg-2"]["latest"]["version"] == "3.0.0"
    assert docs["packages"]["demo-pkg-2"]["release_count"] == 5
    assert [m["username"] for m in docs["packages"]["demo-pkg-2"]["maintainers"]] == [
        "alice",
        "bob",
    ]


def test_deletes_remove_documents(synced, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        Package.objects.get(name="demo-pkg-0").delete()
        ReleaseFile.objects.get(filename="demo-pkg-1-1.0.0-0.tar.gz").delete()

    docs = snapshot()
    assert "demo-pkg-0" not in docs["packages"]
    assert not [key for key in docs["releases"] if key.startswith("demo-pkg-0==")]
    assert len(docs["releases"]["demo-pkg-1==1.0.0"]["files"]) == 1


def test_user_rename_license_and_classifier_links_reach_package_documents(
    synced, django_capture_on_commit_callbacks
):
    package = Package.objects.get(name="demo-pkg-1")
    with django_capture_on_commit_callbacks(execute=True):
        bob = User.objects.get(username="bob")
        bob.username = "robert"
        bob.save()
        License.objects.filter(name="MIT License").get().delete()
        package.classifiers.add(Classifier.objects.create(name="Framework :: Django"))

    docs = snapshot()
    assert "bob" not in docs["users"] and "robert" in docs["users"]
    assert [m["username"] for m in docs["packages"]["demo-pkg-0"]["maintainers"]] == [
        "alice",
        "robert",
    ]
    assert docs["packages"]["demo-pkg-0"]["license"] is None
    assert "Framework :: Django" in docs["packages"]["demo-pkg-1"]["classifiers"]


def test_renaming_a_package_renames_its_release_documents(
    synced, django_capture_on_commit_callbacks
):
    package = Package.objects.get(name="demo-pkg-3")
    with django_capture_on_commit_callbacks(execute=True):
        package.display_name = "Shiny"
        package.save()

    docs = snapshot()
    assert "shiny" in docs["packages"] and "demo-pkg-3" not in docs["packages"]
    assert sorted(k for k in docs["releases"] if k.startswith("shiny==")) == [
        "shiny==1.0.0",
        "shiny==1.1.0",
        "shiny==1.2.0",
        "shiny==2.0.0rc3",
    ]
    assert not [k for k in docs["releases"] if k.startswith("demo-pkg-3==")]


def test_live_sync_off_writes_nothing(catalog, settings, django_capture_on_commit_callbacks):
    settings.CATALOG_LIVE_SYNC = False
    migrate()
    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        Package.objects.filter(name="demo-pkg-1").get().delete()

    assert snapshot() == before


def test_suspended_live_sync_writes_nothing_in_its_block_only(
    synced, django_capture_on_commit_callbacks
):
    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True), live_sync_suspended():
        assert not live_sync_enabled()
        package = Package.objects.get(name="demo-pkg-1")
        package.summary = "written from its document"
        package.save()
        Release.objects.filter(package=package, version="1.0.0").get().delete()

    assert snapshot() == before
    assert live_sync_enabled()
    with django_capture_on_commit_callbacks(execute=True):
        package.save()
    assert snapshot()["packages"]["demo-pkg-1"]["summary"] == "written from its document"


def test_admin_edit_reaches_mongodb(synced, staff_client, django_capture_on_commit_callbacks):
    user = User.objects.get(username="alice")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            f"/admin/catalog/user/{user.pk}/change/",
            {
                "username": "alice",
                "first_name": "Alice",
                "last_name": "Liddell",
                "email": "alice@example.org",
                "homepage": "alice.example.org",  # no scheme: https is assumed
                "is_active": "on",
                "date_joined_0": "2024-01-01",
                "date_joined_1": "00:00:00",
                "initial-date_joined_0": "2024-01-01",
                "initial-date_joined_1": "00:00:00",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert snapshot()["users"]["alice"]["last_name"] == "Liddell"
    assert snapshot()["users"]["alice"]["homepage"] == "https://alice.example.org"


@pytest.mark.slow
def test_the_web_server_writes_nothing_to_mongodb_at_start_up(tmp_path):
    """Set-up runs migrate_to_mongo; loading the WSGI application only serves."""
    database = tmp_path / "db.sqlite3"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SECRET_KEY": "test",
        "DATABASE_URL": f"sqlite:///{database}",
        "MONGODB_URI": os.environ["MONGODB_URI"],
        "PYINDEX_ENV_FILE": "",
    }
    script = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='project.settings'; "
        "django.setup(); from django.core.management import call_command; "
        "call_command('migrate', verbosity=0); "
        "from catalog.services.sync import live_sync_suspended; "
        "from tests.migrate.conftest import build_catalog; "
        "ctx = live_sync_suspended(); ctx.__enter__(); build_catalog(packages=3)"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)
    check = (
        "from project.wsgi import application; "
        "from catalog.documents import PackageDocument, ReleaseDocument; "
        "print(PackageDocument.objects.count(), ReleaseDocument.objects.count())"
    )

    done = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )

    assert done.stdout.split() == ["0", "0"]
