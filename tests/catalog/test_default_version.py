"""The default version the SQL lists show follows the rule of the package page, in every case."""

import pytest

from catalog.models import Package, Release
from catalog.selectors.common import default_version
from catalog.selectors.sql import list_items, package_detail_get

pytestmark = pytest.mark.django_db

CASES = {
    # newest first is what the page's history shows; the rule picks the default.
    "stable-under-pre": (["1.0", "2.0rc1"], {}, "1.0"),
    "stable-under-yanked": (["1.0", "1.1", "2.0"], {"2.0"}, "1.1"),
    "only-pre-releases": (["1.0a1", "1.0b2"], {}, "1.0b2"),
    "all-yanked": (["0.1", "0.2"], {"0.1", "0.2"}, "0.2"),
    # 1.0 and 1.0.0 share a sort key: the later row wins, as on the page.
    "equal-sort-keys": (["1.0.0", "1.0"], {}, "1.0"),
    "pep440-not-text-order": (["1.9", "1.10"], {}, "1.10"),
    "no-releases": ([], {}, None),
}


@pytest.fixture
def packages():
    for name, (versions, yanked, _) in CASES.items():
        package = Package.objects.create(display_name=name)
        for version in versions:
            Release.objects.create(package=package, version=version, yanked=version in yanked)


def test_list_items_show_the_rules_default_version(packages):
    shown = {item.name: item.version for item in list_items(Package.objects.all())}
    assert shown == {name: expected for name, (_, _, expected) in CASES.items()}
    for name in CASES:
        detail = package_detail_get(name=name)
        assert detail.default_version == default_version(detail.releases) == shown[name]
