import pytest

from catalog.versions import canonicalize_name, parse_version

# Ascending PEP 440 order, legacy versions first (they sort below every valid one).
ORDERED = [
    "1.0-SNAPSHOT",
    "2004d",
    "0.1",
    "0.9.8-beta",
    "0.9.8",
    "1.0.dev1",
    "1.0a1.dev1",
    "1.0a1",
    "1.0a2",
    "1.0b1",
    "1.0rc1",
    "1.0",
    "1.0+local.1",
    "1.0.post1.dev1",
    "1.0.post1",
    "1.0.1",
    "1.10",
    "2.0",
    "2013.10",
    "1!0.1",
]


def test_sort_key_orders_versions_like_pep_440():
    shuffled = sorted(ORDERED, key=lambda v: (len(v) * 7919) % 31)
    assert sorted(shuffled, key=lambda v: parse_version(v).sort_key) == ORDERED


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("1.0.dev1", "1.0a1"),
        ("1.0a1", "1.0rc1"),
        ("1.0rc1", "1.0"),
        ("1.0", "1.0.post1"),
        ("1.0.post1", "1!0.1"),
        ("1.9", "1.10"),
        ("2004d", "0.0.1"),
    ],
)
def test_pairs(earlier, later):
    assert parse_version(earlier).sort_key < parse_version(later).sort_key


def test_equal_versions_share_a_key():
    assert parse_version("1.0").sort_key == parse_version("1.0.0").sort_key


@pytest.mark.parametrize(
    "version", ["2004d", "1.0-SNAPSHOT", "foo", "1.0.0.0.0.0.0.0.1", "-", "x" * 100]
)
def test_legacy_versions_never_raise(version):
    parsed = parse_version(version)
    assert parsed.sort_key.isdigit()
    assert parsed.version == version


@pytest.mark.parametrize(
    ("version", "pre"),
    [
        ("1.0", False),
        ("1.0a1", True),
        ("1.0.dev3", True),
        ("1.0.post1", False),
        ("1.0-SNAPSHOT", True),
        ("2004d", False),
    ],
)
def test_prerelease_flag(version, pre):
    assert parse_version(version).is_prerelease is pre


def test_keys_have_fixed_width():
    assert len({len(parse_version(v).sort_key) for v in ORDERED}) == 1


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("Django", "django"),
        ("Foo_Bar.baz", "foo-bar-baz"),
        ("PKG__30", "pkg-30"),
        ("zope.interface", "zope-interface"),
    ],
)
def test_canonical_names(name, canonical):
    assert canonicalize_name(name) == canonical
