import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Maintainer, Package, Release, ReleaseFile
from catalog.services.seed import catalog_seed
from catalog.versions import parse_version

pytestmark = pytest.mark.django_db


def snapshot():
    return {
        "packages": list(
            Package.objects.order_by("name").values_list(
                "name",
                "display_name",
                "summary",
                "description_content_type",
                "license__name",
                "created",
            )
        ),
        "releases": list(
            Release.objects.order_by("package__name", "version").values_list(
                "package__name", "version", "sort_key", "is_prerelease", "yanked", "created"
            )
        ),
        "files": list(
            ReleaseFile.objects.order_by("filename").values_list(
                "filename", "size", "sha256", "upload_time"
            )
        ),
        "maintainers": list(
            Maintainer.objects.order_by("package__name", "user__username").values_list(
                "package__name", "user__username", "role"
            )
        ),
    }


def wipe():
    Package.objects.all().delete()
    from catalog.models import User

    User.objects.all().delete()


def test_same_seed_same_catalog():
    catalog_seed(packages=8, seed=7)
    first = snapshot()
    wipe()
    catalog_seed(packages=8, seed=7)
    assert snapshot() == first
    wipe()
    catalog_seed(packages=8, seed=8)
    assert snapshot() != first


def test_catalog_is_realistic():
    result = catalog_seed(packages=60, seed=3)
    assert result.packages == 60
    assert Release.objects.count() == result.releases > 60
    counts = [p.releases.count() for p in Package.objects.all()]
    assert min(counts) >= 1 and max(counts) > 100
    versions = list(Release.objects.values_list("version", flat=True))
    assert any(parse_version(v).is_legacy for v in versions)
    assert Release.objects.filter(is_prerelease=True).exists()
    assert any(".post" in v for v in versions)
    assert Release.objects.filter(yanked=True).exists()
    types = set(Package.objects.values_list("description_content_type", flat=True))
    assert {"text/markdown", "text/x-rst"} <= types
    file = ReleaseFile.objects.order_by("pk").first()
    assert len(file.sha256) == 64 and file.size > 0
    assert Maintainer.objects.filter(role="owner").count() == 60
    # Stored sort keys are the ones packaging computes.
    for release in Release.objects.all()[:200]:
        assert release.sort_key == parse_version(release.version).sort_key


def test_command_reports_and_refuses_a_non_empty_catalog():
    out = StringIO()
    call_command("seed_catalog", "--packages", "5", "--seed", "1", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["packages"] == 5 and report["releases"] == Release.objects.count()
    with pytest.raises(CommandError, match="already has packages"):
        call_command("seed_catalog", "--packages", "5", stdout=StringIO())
    out = StringIO()
    call_command("seed_catalog", "--packages", "5", "--if-empty", stdout=out)
    assert "not seeding" in out.getvalue()
    assert Package.objects.count() == 5
