"""The release history rows (a template tag) render exactly what the template loop did."""

from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.test import override_settings

from catalog.selectors.types import FileRow, ReleaseRow

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
TAG = "{% load catalog_history %}{% release_history_items releases package_url current %}"

ROWS = [
    ReleaseRow("2.0rc1", True, False, None, datetime(2024, 12, 31, 23, 59, tzinfo=UTC)),
    ReleaseRow(
        "1.0", False, True, "<script>alert(1)</script> & co", datetime(2009, 1, 5, tzinfo=UTC)
    ),
    ReleaseRow("0.9", False, True, None, None),
    ReleaseRow('../../etc/<b>"x"', False, False, "", datetime(1999, 7, 4, 12, tzinfo=UTC)),
    ReleaseRow("1.0+local.7", False, False, None, datetime(2020, 2, 29, 0, 30, tzinfo=UTC)),
]


@pytest.mark.parametrize("current", ["1.0", "2.0rc1", None, "not-there"])
@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Kolkata"])
def test_tag_output_equals_the_template_loop(current, zone):
    context = {"releases": ROWS, "package_url": "/project/a&b/", "current": current}
    with override_settings(TIME_ZONE=zone):
        expected = Template(LOOP).render(Context(context))
        assert Template(TAG).render(Context(context)) == expected
    assert "&lt;script&gt;" in expected


def test_no_releases():
    context = {"releases": [], "package_url": "/project/x/", "current": None}
    assert Template(TAG).render(Context(context)) == Template(LOOP).render(Context(context))


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
