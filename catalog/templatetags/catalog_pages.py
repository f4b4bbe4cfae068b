"""Page fragments too long for the template engine's per-node cost.

A package may have thousands of releases (PyPI has projects with more than
5,000). The release history loop in the template language cost about 0.3 ms
per release (variable lookups, two ``date`` filters, ``urlencode``), so such a
page took seconds to render; the same markup built here takes a few
milliseconds per thousand releases. The output is the one the template gave,
byte for byte, through the same filters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape  # what django.utils.html.escape calls, without a SafeString per value
from urllib.parse import quote

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.safestring import SafeString, mark_safe

from catalog.selectors.types import ReleaseRow

register = template.Library()


@register.simple_tag(name="release_history_items")
def release_history_items(
    releases: Sequence[ReleaseRow], current: str | None, package_url: str
) -> SafeString:
    """The ``<li>`` of every release, newest first, the one shown marked current."""
    if not releases:
        return mark_safe('<li class="empty">No releases yet.</li>\n')
    base = escape(package_url)
    # The ``date`` filter's "Y-m-d" and "M j, Y" (its per-call cost was most of
    # the page): month names of the active language, in the current time zone.
    months = {number: str(name).title() for number, name in MONTHS_3.items()}
    zone = timezone.get_current_timezone() if settings.USE_TZ else None
    parts: list[str] = []
    append = parts.append
    for r in releases:
        is_current = r.version == current
        version = escape(r.version)
        append('<li class="release release--current">' if is_current else '<li class="release">')
        append(f'<a href="{base}{escape(quote(r.version, safe=""))}/"')
        if is_current:
            append(' aria-current="page"')
        append(f'><span class="release__version">{version}</span>')
        if is_current:
            append(' <span class="badge badge--current">this version</span>')
        if r.is_prerelease:
            append(' <span class="badge badge--pre">pre-release</span>')
        if r.yanked:
            append(' <span class="badge badge--yanked">yanked</span>')
        if r.created:
            d = _local(r.created, zone)
            append(
                f' <time datetime="{d.year:04d}-{d.month:02d}-{d.day:02d}">'
                f"{escape(months[d.month])} {d.day}, {d.year:04d}</time>"
            )
        else:
            append(' <span class="release__date">upload date unknown</span>')
        append("</a>")
        if r.yanked and r.yanked_reason:
            append(f'<p class="release__reason">Yanked: {escape(r.yanked_reason)}</p>')
        append("</li>\n")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


def _local(value: datetime, zone) -> datetime:
    # As template_localtime(): aware values in the current time zone.
    if zone is not None and timezone.is_aware(value):
        return value.astimezone(zone)
    return value
