"""A small catalog covering every case the pages show, in both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from catalog import mapping
from catalog.documents import PackageDocument, ReleaseDocument, UserDocument, ensure_indexes
from catalog.models import Classifier, License, Maintainer, Package, Release, ReleaseFile, User
from catalog.package_files import package_files_refresh_all
from catalog.services.migration.to_mongo import summaries_write

BASE_TIME = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)

HOSTILE_MARKDOWN = """# Demo package

A **friendly** description.

<script>alert("xss")</script>
<img src="https://example.invalid/x.png" onerror="alert(1)">
[click me](javascript:alert(2))
<a href="https://example.org/docs" onclick="steal()">docs</a>
"""

RST = """Other
=====

A *reStructuredText* description.

.. raw:: html

   <script>alert("rst")</script>
"""


def fill_mongo() -> None:
    """Copy the relational catalog into MongoDB through the shared mapping."""
    for document, build, pks in (
        (PackageDocument, mapping.package_documents, Package.objects.values_list("pk", flat=True)),
        (ReleaseDocument, mapping.release_documents, Release.objects.values_list("pk", flat=True)),
        (UserDocument, mapping.user_documents, User.objects.values_list("pk", flat=True)),
    ):
        collection = document._get_collection()
        # Live sync (when enabled) may already have written some: start clean.
        collection.delete_many({})
        docs = build(list(pks))
        if docs:
            collection.insert_many(docs)
    ensure_indexes()  # as migrate_to_mongo leaves them: the pages read along them
    package_files_refresh_all()
    summaries_write()


def make_release(package: Package, version: str, *, days: int, files: int = 2, **fields) -> Release:
    release = Release.objects.create(
        package=package, version=version, created=BASE_TIME + timedelta(days=days), **fields
    )
    base = package.name.replace("-", "_")
    for index in range(files):  # at most an sdist and a wheel
        is_wheel = index == 1
        filename = f"{base}-{version}" + ("-py3-none-any.whl" if is_wheel else ".tar.gz")
        ReleaseFile.objects.create(
            release=release,
            filename=filename,
            url=f"https://files.example.org/packages/{filename}",
            size=1000 + index * 250,
            packagetype="bdist_wheel" if is_wheel else "sdist",
            python_version="py3" if is_wheel else "source",
            sha256=f"{index:02d}" + "ab" * 31,
            md5="0" * 32,
            upload_time=BASE_TIME + timedelta(days=days, minutes=index),
        )
    return release


@pytest.fixture(autouse=True)
def clear_page_cache(settings):
    """Rendered pages are cached per process: every test starts cold, and sees
    every change at once (no stamp is trusted without checking it)."""
    from django.core.cache import cache

    settings.CATALOG_STAMP_SECONDS = 0
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def catalog(db):
    alice = User.objects.create_user(
        username="alice", password="x-password-1", first_name="Alice", last_name="Liddell"
    )
    bob = User.objects.create_user(username="bob", password="x-password-2")
    User.objects.create_user(username="carol", password="x-password-3")
    mit = License.objects.create(name="MIT License", spdx_id="MIT")
    classifiers = {
        name: Classifier.objects.create(name=name)
        for name in (
            "Programming Language :: Python :: 3",
            "Programming Language :: Python :: 3.12",
            "Framework :: Django",
            "Development Status :: 5 - Production/Stable",
        )
    }
    demo_pkg = Package.objects.create(
        display_name="Demo_Pkg",
        summary="A demonstration package",
        description=HOSTILE_MARKDOWN,
        description_content_type="text/markdown; variant=GFM",
        home_page="https://example.org/demo",
        project_urls={"Source": "https://example.org/demo/src"},
        author="Alice Liddell",
        author_email="alice@example.org",
        license=mit,
        license_text="MIT License",
        last_serial=42,
        created=BASE_TIME,
    )
    demo_pkg.classifiers.set(
        [
            classifiers["Programming Language :: Python :: 3.12"],
            classifiers["Framework :: Django"],
            classifiers["Development Status :: 5 - Production/Stable"],
        ]
    )
    Maintainer.objects.create(package=demo_pkg, user=bob, role="maintainer")
    Maintainer.objects.create(package=demo_pkg, user=alice, role="owner")
    make_release(demo_pkg, "1.0", days=1, requires_python=">=3.8")
    make_release(demo_pkg, "1.10", days=3, requires_python=">=3.9")
    make_release(demo_pkg, "1.9", days=2)
    make_release(demo_pkg, "2.0b1", days=5)
    make_release(demo_pkg, "1.11", days=4, yanked=True, yanked_reason="broken wheel")

    demo = Package.objects.create(
        display_name="demo", summary="The plain demo", created=BASE_TIME + timedelta(days=1)
    )
    demo.classifiers.set([classifiers["Programming Language :: Python :: 3"]])
    Maintainer.objects.create(package=demo, user=alice, role="owner")
    make_release(demo, "0.1", days=6, files=1)

    other = Package.objects.create(
        display_name="Other",
        summary="Something else, mentions demo in passing",
        description=RST,
        description_content_type="text/x-rst",
        created=BASE_TIME + timedelta(days=2),
    )
    make_release(other, "3.0rc1", days=7, files=1)
    return {"demo_pkg": demo_pkg, "demo": demo, "other": other, "alice": alice, "bob": bob}


@pytest.fixture(params=["sql", "mongo"])
def backend(request, settings, catalog):
    """Run a test once per store, with the catalog in it."""
    settings.CATALOG_READ_BACKEND = request.param
    if request.param == "mongo":
        fill_mongo()
    return request.param
