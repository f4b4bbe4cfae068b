"""The lists of the public pages, rendered in one pass: packages and releases (home,
search and user pages) and a package's classifiers.

As with the release history (``catalog_history``), the lists' markup is fixed
and only the values change: each row is formatted here with the escaping,
links (``catalog.links.path_for``, what ``{% route %}`` calls) and date formats
("Y-m-d\\TH:i:s\\Z" and "M j, Y" in the current time zone) the template loop
had, so the page is byte for byte what the loop rendered, without a dozen
template lookups per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo
from urllib.parse import quote

from django import template
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from catalog.links import http_url, path_for
from catalog.selectors.types import FileRow, PackageListItem, ReleaseListItem
from catalog.templatetags.catalog_dates import day, local, minute, months, stamp

register = template.Library()


def _time(moment: datetime, names: list[str], zone: tzinfo) -> str:
    """A ``<time>`` element as the templates wrote it (the date filter's two formats)."""
    moment = local(moment, zone)
    return (
        f'<time class="package-snippet__date" datetime="{stamp(moment)}">'
        f"{day(moment, names)}</time>"
    )


@register.simple_tag(name="package_list_items")
def package_list_items(items: Iterable[PackageListItem], empty: str) -> SafeString:
    """The ``<li>`` rows of a package list (``includes/package_list.html``)."""
    names, zone = months(), timezone.get_current_timezone()
    rows = []
    for item in items:
        version = (
            f'<span class="package-snippet__version">{escape(item.version)}</span>'
            if item.version
            else ""
        )
        updated = _time(item.updated, names, zone) if item.updated else ""
        href = escape(path_for("catalog:package", item.name))
        rows.append(
            '\n  <li class="package-snippet">\n'
            f'    <a class="package-snippet__link" href="{href}">\n'
            f'      <span class="package-snippet__name">{escape(item.display_name)}</span>\n'
            f"      {version}\n"
            f"      {updated}\n"
            "    </a>\n"
            f'    <p class="package-snippet__summary">{escape(item.summary)}</p>\n'
            "  </li>\n"
        )
    if not rows:
        rows.append(f'\n  <li class="empty">{escape(empty or "No packages.")}</li>\n')
    # Every value above went through escape() (path_for quotes, escape() escapes).
    return mark_safe("".join(rows))  # noqa: S308


@register.simple_tag(name="release_list_items")
def release_list_items(items: Iterable[ReleaseListItem]) -> SafeString:
    """The ``<li>`` rows of the home page's newest releases."""
    names, zone = months(), timezone.get_current_timezone()
    rows = []
    for item in items:
        href = escape(path_for("catalog:release", item.package, item.version))
        created = (
            _time(item.created, names, zone)
            if item.created
            else '<span class="package-snippet__date">date unknown</span>'
        )
        rows.append(
            '\n      <li class="package-snippet">\n'
            f'        <a class="package-snippet__link" href="{href}">\n'
            f'          <span class="package-snippet__name">{escape(item.display_name)}</span>\n'
            f'          <span class="package-snippet__version">{escape(item.version)}</span>\n'
            f"          {created}\n"
            "        </a>\n"
            f'        <p class="package-snippet__summary">{escape(item.summary)}</p>\n'
            "      </li>\n    "
        )
    if not rows:
        rows.append('<li class="empty">No releases yet.</li>\n    ')
    # Every value above went through escape().
    return mark_safe("".join(rows))  # noqa: S308


@register.simple_tag(name="classifier_group_items")
def classifier_group_items(
    groups: Iterable[tuple[str, Iterable[tuple[str, str]]]], search_url: str
) -> SafeString:
    """The ``<li>`` groups of a package's classifiers, each linking to a search on it."""
    base = escape(search_url)
    rows = []
    for group, items in groups:
        links = "".join(
            f'<li><a href="{base}?c={escape(quote(full, safe=""))}">{escape(label)}</a></li>'
            for full, label in items
        )
        rows.append(
            f"\n      <li><strong>{escape(group)}</strong>\n"
            f"        <ul>{links}</ul>\n      </li>\n      "
        )
    # Every value above went through escape() (the search terms through quote() first).
    return mark_safe("".join(rows))  # noqa: S308


@register.simple_tag(name="release_file_items")
def release_file_items(files: Iterable[FileRow]) -> SafeString:
    """The ``<li>`` entries of a release's download files (``includes/release_files.html``)."""
    names, zone = months(), timezone.get_current_timezone()
    rows = []
    for f in files:
        filename = escape(f.filename)
        href = http_url(f.url)
        link = (
            f'<a class="file__name" href="{escape(href)}">{filename}</a>'
            if href
            else f'<span class="file__name">{filename}</span>'
        )
        kind = escape(f.packagetype) + (
            f" ({escape(f.python_version)})" if f.python_version else ""
        )
        if f.upload_time:
            moment = local(f.upload_time, zone)
            uploaded = f'<time datetime="{stamp(moment)}">{minute(moment, names)} UTC</time>'
        else:
            uploaded = "unknown"
        rows.append(
            '\n    <li class="file">\n'
            f"      {link}\n"
            '      <dl class="file__meta">\n'
            f"        <dt>Size</dt><dd>{filesizeformat(f.size)}</dd>\n"
            f"        <dt>Type</dt><dd>{kind}</dd>\n"
            f"        <dt>Uploaded</dt><dd>{uploaded}</dd>\n"
            f'        <dt>SHA256</dt><dd><code class="hash">{escape(f.sha256)}</code></dd>\n'
            "      </dl>\n"
            "    </li>\n    "
        )
    # Every value above went through escape(), http_url() and escape(), or is
    # filesizeformat's text (digits and a unit).
    return mark_safe("".join(rows))  # noqa: S308
