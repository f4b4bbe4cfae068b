"""package_stats on a seeded catalog copied through the mapping, checked against SQL aggregates."""

from __future__ import annotations

import pytest
from django.db.models import Count, Max, Min, Sum

from catalog.mapping import package_documents, release_documents
from catalog.models import Package, Release, ReleaseFile
from catalog.services.seed import catalog_seed


@pytest.mark.django_db
def test_package_stats_agrees_with_the_relational_catalog(offline, db):
    catalog_seed(packages=12, seed=5)
    packages = package_documents(list(Package.objects.values_list("pk", flat=True)))
    histories = {doc["_id"]: doc["history"] for doc in packages}
    for doc in packages:
        # Stale denormalized fields, as after releases changed behind the package's back.
        doc.update(release_count=0, latest=None, history=[])
    db.packages.insert_many(packages)
    db.releases.insert_many(release_documents(list(Release.objects.values_list("pk", flat=True))))

    code, out, err = offline("package_stats", "--batch-size=5", "--no-progress")

    assert code == 0, err
    rows = Package.objects.annotate(
        count=Count("releases", distinct=True),
        first=Min("releases__created"),
        last=Max("releases__created"),
    )
    sizes = dict(
        ReleaseFile.objects.values_list("release__package__name").annotate(total=Sum("size"))
    )
    for package in rows:
        doc = db.packages.find_one({"_id": package.name})
        assert doc["release_count"] == package.count
        # The history the mapping builds from the rows, rebuilt from the documents.
        assert doc["history"] == histories[package.name]
        assert doc["total_size"] == sizes.get(package.name, 0)
        if package.count:
            # MongoDB keeps milliseconds.
            assert abs((doc["first_release"] - package.first).total_seconds()) < 0.001
            assert abs((doc["last_release"] - package.last).total_seconds()) < 0.001
            newest = (
                Release.objects.filter(package=package).stable().newest_first().first()
                or Release.objects.filter(package=package).newest_first().first()
            )
            assert doc["latest"]["version"] == newest.version
