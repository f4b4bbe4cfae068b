"""The release history rows (a template tag) render exactly what the template loop did."""

from dataclasses import asdict
from datetime import UTC, datetime
from html import escape
from types import SimpleNamespace

import pytest
from django.template import Context, Template
from django.test import override_settings

from catalog.selectors.types import FileRow, ReleaseRow
from catalog.templatetags.catalog_history import history_rows

# The loop the tag replaced, kept as the reference for its output.
LOOP = (
    '{% for r in releases %}<li class="release{% if r.version == current %} release--current'
    '{% endif %}"><a href="{{ package_url }}{{ r.version|urlencode:\'\' }}/"'
    '{% if r.version == current %} aria-current="page"{% endif %}><span class="release__version'
    '">{{ r.version }}</span>{% if r.version == current %} <span class="badge badge--current">'
    'this version</span>{% endif %}{% if r.is_prerelease %} <span class="badge badge--pre">'
    'pre-release</span>{% endif %}{% if r.yanked %} <span class="badge badge--yanked">yanked'
    "</span>{% endif %}{% if r.created %} <time datetime=\"{{ r.created|date:'Y-m-d' }}\">"
    '{{ r.created|date:"M j, Y" }}</time>{% else %} <span class="release__date">upload date '
    'unknown</span>{% endif %}</a>{% if r.yanked and r.yanked_reason %}<p class="release__reason'
    '">Yanked: {{ r.yanked_reason }}</p>{% endif %}</li>\n{% empty %}<li class="empty">No '
    "releases yet.</li>\n{% endfor %}"
)
TAG = "{% load catalog_history %}{% release_history_items package package_url release %}"

ROWS = [
    ReleaseRow("2.0rc1", True, False, None, datetime(2024, 12, 31, 23, 59, tzinfo=UTC)),
    ReleaseRow(
        "1.0", False, True, "<script>alert(1)</script> & co", datetime(2009, 1, 5, tzinfo=UTC)
    ),
    ReleaseRow("0.9", False, True, None, None),
    ReleaseRow('../../etc/<b>"x"', False, False, "", datetime(1999, 7, 4, 12, tzinfo=UTC)),
    ReleaseRow("1.0+local.7", False, False, None, datetime(2020, 2, 29, 0, 30, tzinfo=UTC)),
    ReleaseRow("0.1", False, True, "line one\nline </li> two", None),
]
URL = "/project/a&b/"


def _shown(current: str | None) -> SimpleNamespace | None:
    """The shown release as the page passes it (a ReleaseDetail's fields)."""
    if current is None:
        return None
    row = next(
        (r for r in ROWS if r.version == current), ReleaseRow(current, False, False, None, None)
    )
    return SimpleNamespace(**asdict(row))


def _contexts(releases: list[ReleaseRow], current: str | None) -> tuple[dict, dict, dict]:
    """The loop's context, and the tag's with the rows read live and from a kept listing."""
    loop = {"releases": releases, "package_url": URL, "current": current}
    live = SimpleNamespace(releases=releases, history_html=None)
    kept = SimpleNamespace(releases=[], history_html=history_rows(releases, escape(URL), None))
    tag = {"package_url": URL, "release": _shown(current)}
    return loop, {**tag, "package": live}, {**tag, "package": kept}


@pytest.mark.parametrize("current", ["1.0", "2.0rc1", "0.1", '../../etc/<b>"x"', None, "not-there"])
@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Kolkata"])
def test_tag_output_equals_the_template_loop(current, zone):
    with override_settings(TIME_ZONE=zone):
        # Kept in the zone it is shown in (the listing's format holds the zone).
        loop, live, kept = _contexts(ROWS, current)
        expected = Template(LOOP).render(Context(loop))
        assert Template(TAG).render(Context(live)) == expected
        # A kept listing's rows (none marked) with the shown one marked at read time.
        assert Template(TAG).render(Context(kept)) == expected
    assert "&lt;script&gt;" in expected
    if current in {r.version for r in ROWS}:
        assert expected.count('aria-current="page"') == 1


def test_no_releases():
    loop, live, kept = _contexts([], None)
    expected = Template(LOOP).render(Context(loop))
    assert Template(TAG).render(Context(live)) == expected
    assert Template(TAG).render(Context(kept)) == expected


# The classifier loop of the package sidebar the tag replaced, kept as its reference.
CLASSIFIER_LOOP = (
    "{% for group, items in classifier_groups %}\n      <li><strong>{{ group }}</strong>\n"
    '        <ul>{% for full, label in items %}<li><a href="{{ search_url }}?c='
    "{{ full|urlencode:'' }}\">{{ label }}</a></li>{% endfor %}</ul>\n      </li>\n"
    "      {% endfor %}"
)
CLASSIFIER_TAG = "{% load catalog_lists %}{% classifier_group_items classifier_groups search_url %}"


@pytest.mark.parametrize(
    "groups",
    [
        [],
        [("Framework", [("Framework :: Django", "Django")])],
        [
            ("Topic", [("Topic :: A & B", "A & B"), ('Topic :: <x> "q" \' ü', '<x> "q" \' ü')]),
            ("Odd/Group?", [("Odd/Group? :: 100% #1", "100% #1")]),
        ],
    ],
)
def test_classifier_tag_equals_the_template_loop(groups):
    context = {"classifier_groups": groups, "search_url": "/search/?x=<&>"}
    expected = Template(CLASSIFIER_LOOP).render(Context(context))
    assert Template(CLASSIFIER_TAG).render(Context(context)) == expected


# The file loop of the release files section the tag replaced, kept as its reference.
FILES_LOOP = (
    "{% load catalog_links humanize catalog_dates %}{% for f in files %}\n"
    '    <li class="file">\n'
    '      {% with href=f.url|http_url %}{% if href %}<a class="file__name" '
    'href="{{ href }}">{{ f.filename }}</a>{% else %}<span class="file__name">'
    "{{ f.filename }}</span>{% endif %}{% endwith %}\n"
    '      <dl class="file__meta">\n'
    "        <dt>Size</dt><dd>{{ f.size|filesizeformat }}</dd>\n"
    "        <dt>Type</dt><dd>{{ f.packagetype }}{% if f.python_version %} "
    "({{ f.python_version }}){% endif %}</dd>\n"
    '        <dt>Uploaded</dt><dd>{% if f.upload_time %}<time datetime="{{ f.upload_time|'
    'date_stamp }}">{{ f.upload_time|date_minute }} UTC</time>{% else %}unknown{% endif %}'
    "</dd>\n"
    '        <dt>SHA256</dt><dd><code class="hash">{{ f.sha256 }}</code></dd>\n'
    "      </dl>\n"
    "    </li>\n"
    "    {% endfor %}"
)
FILES_TAG = "{% load catalog_lists %}{% release_file_items files %}"


def _file(filename, url, size, packagetype, python_version, upload_time, sha256="ab" * 32):
    return FileRow(
        filename=filename,
        url=url,
        size=size,
        packagetype=packagetype,
        python_version=python_version,
        requires_python=None,
        sha256=sha256,
        md5="",
        upload_time=upload_time,
    )


FILES = [
    _file("a-1.0.tar.gz", "https://files.example/a-1.0.tar.gz", 1250, "sdist", "", ROWS[0].created),
    _file(
        "x<script>\"&'.whl",
        "javascript:alert(1)",
        5 * 1024**3,
        "bdist_wheel",
        "py3 <b>",
        datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC),
        sha256="<x>",
    ),
    _file("b.zip", 'https://h.example/?q=<&>"', 0, "", "cp312", None),
]


@pytest.mark.parametrize("files", [FILES, FILES[:1], []])
@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_file_tag_equals_the_template_loop(files, zone):
    with override_settings(TIME_ZONE=zone):
        expected = Template(FILES_LOOP).render(Context({"files": files}))
        assert Template(FILES_TAG).render(Context({"files": files})) == expected
