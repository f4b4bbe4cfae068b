"""Each file's entries in the JSON API and the Simple API, computed when the file is written.

A project's JSON API and Simple page list every file it has: thousands for a
long-lived project. Building a dictionary per file and encoding it on every
request made those pages cost hundreds of milliseconds uncached, so each file
row (and each embedded file of a release document, through
``catalog.mapping``) keeps three texts, computed from the file's own fields
only (``file_entries``): its JSON API object, its Simple HTML line and its
PEP 691 JSON object. The views join them.

An entry does not depend on the file's release, so a release edit leaves its
files' entries valid: the few values a release lends its files (a yanked
release yanks its files, a release's Requires-Python stands for files without
one) are spliced in at read time (``json_entry_show``, ``simple_html_show``,
``simple_json_show``), and only when they apply. The splicing relies on JSON
and escaped HTML never holding the key or attribute delimiters it looks for
inside a value.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any

from catalog.links import http_url

# The file fields the entries are computed from (catalog.mapping.FILE_FIELDS).
ENTRY_SOURCES = (
    "filename",
    "url",
    "size",
    "packagetype",
    "python_version",
    "requires_python",
    "sha256",
    "md5",
    "blake2b_256",
    "upload_time",
    "upload_time_iso_8601",
    "has_sig",
    "comment_text",
    "yanked",
    "yanked_reason",
)
# The stored entries: the JSON API object, the Simple HTML line, the PEP 691 object.
ENTRY_FIELDS = ("json_entry", "simple_html", "simple_json")


def _utc(value: datetime) -> datetime:
    # What the database hands back: UTC. An aware value in another zone is
    # stored as UTC, so its entry must say what a read would.
    if value.tzinfo is None or value.tzinfo is UTC:
        return value
    return value.astimezone(UTC)


@functools.lru_cache(maxsize=16)
def _iso_pair(value: datetime) -> tuple[str, str]:
    # One formatting for both forms; memoized as a file's entries ask for each twice.
    # isoformat, not strftime (six times slower); its first 19 characters are the
    # date and time to the second, whatever follows (fraction, offset) dropped.
    value = _utc(value)
    seconds = value.isoformat(timespec="seconds")[:19]
    return seconds, f"{seconds}.{value.microsecond // 1000:03d}000Z"


def iso_seconds(value: datetime | None) -> str | None:
    """``value`` in ISO 8601 to the second, no zone (the JSON API's ``upload_time``)."""
    return _iso_pair(value)[0] if value else None


def iso_ms(value: datetime | None) -> str | None:
    """``value`` in ISO 8601 with milliseconds and a Z.

    Milliseconds: what MongoDB keeps, so both stores give the same answer.
    """
    return None if value is None else _iso_pair(value)[1]


def file_json(
    values: Mapping[str, Any], *, release_yanked: bool = False, release_reason: str | None = None
) -> dict[str, Any]:
    """A file's object in PyPI's JSON API, from its field values (and its release's yank)."""
    yanked = bool(values["yanked"])
    digests = {
        "blake2b_256": values["blake2b_256"],
        "md5": values["md5"],
        "sha256": values["sha256"],
    }
    return {
        "comment_text": values["comment_text"],
        # Only the digests the file was published with.
        "digests": {k: v for k, v in digests.items() if v},
        "downloads": -1,
        "filename": values["filename"],
        "has_sig": bool(values["has_sig"]),
        "md5_digest": values["md5"] or None,
        "packagetype": values["packagetype"],
        "python_version": values["python_version"],
        "requires_python": values["requires_python"],
        "size": values["size"],
        "upload_time": iso_seconds(values["upload_time"]),
        # As published (microseconds); else what MongoDB keeps, so both stores agree.
        "upload_time_iso_8601": values["upload_time_iso_8601"] or iso_ms(values["upload_time"]),
        "url": values["url"],
        "yanked": yanked or release_yanked,
        # The file's own (as published), else its release's when only that is yanked.
        "yanked_reason": (release_reason or None)
        if release_yanked and not yanked
        else values["yanked_reason"],
    }


def _simple_values(
    values: Mapping[str, Any],
    release_requires_python: str | None,
    release_yanked: bool,
    release_reason: str | None,
) -> tuple[str | None, bool, str | None]:
    """(Requires-Python, yanked, reason) of a Simple entry: the file's, else its release's."""
    yanked = bool(values["yanked"])
    return (
        values["requires_python"] or release_requires_python or None,
        yanked or release_yanked,
        (values["yanked_reason"] if yanked else release_reason) or None,
    )


# Memoized: a release lends the same values to each of its files, and a
# project's releases mostly share them.
@functools.lru_cache(maxsize=1024)
def _simple_json_middle(requires_python: str | None, yanked: bool, reason: str | None) -> str:
    return json.dumps(
        {"requires-python": requires_python, "yanked": (reason or True) if yanked else False}
    )[1:-1]


@functools.lru_cache(maxsize=1024)
def _simple_html_attributes(requires_python: str | None, yanked: bool, reason: str | None) -> str:
    attributes = ""
    if requires_python:
        attributes += f' data-requires-python="{escape(requires_python)}"'
    if yanked:
        attributes += f' data-yanked="{escape(reason or "")}"'
    return attributes


def simple_html(values: Mapping[str, Any]) -> str:
    """A file's line on a PEP 503 project page (a link only for an http(s) URL), ``<br>`` ended."""
    filename = escape(values["filename"])
    href = http_url(values["url"])
    if not href:
        return f"{filename}<br>\n"
    sha256 = values["sha256"]
    fragment = f"#sha256={escape(sha256)}" if sha256 else ""
    attributes = _simple_html_attributes(*_simple_values(values, None, False, None))
    return f'<a href="{escape(href)}{fragment}"{attributes}>{filename}</a><br>\n'


def simple_json(values: Mapping[str, Any]) -> str:
    """A file's object in a PEP 691 project answer, as JSON text."""
    sha256 = values["sha256"]
    requires_python, yanked, reason = _simple_values(values, None, False, None)
    return json.dumps(
        {
            "filename": values["filename"],
            "url": values["url"],
            "hashes": {"sha256": sha256} if sha256 else {},
            "requires-python": requires_python,
            "yanked": (reason or True) if yanked else False,
            "size": values["size"],
            "upload-time": iso_ms(values["upload_time"]),
        }
    )


def entry_values(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The entry sources of a file given in part (a document, a seeded row): missing or empty
    fields read as a row's defaults."""
    return {
        "filename": doc["filename"],
        "url": doc.get("url") or "",
        "size": doc.get("size") or 0,
        "packagetype": doc.get("packagetype") or "",
        "python_version": doc.get("python_version") or "",
        "requires_python": doc.get("requires_python"),
        "sha256": doc.get("sha256") or "",
        "md5": doc.get("md5") or "",
        "blake2b_256": doc.get("blake2b_256") or "",
        "upload_time": doc.get("upload_time"),
        "upload_time_iso_8601": doc.get("upload_time_iso_8601"),
        "has_sig": bool(doc.get("has_sig")),
        "comment_text": doc.get("comment_text"),
        "yanked": bool(doc.get("yanked")),
        "yanked_reason": doc.get("yanked_reason"),
    }


def file_entries(values: Mapping[str, Any]) -> dict[str, str]:
    """The stored entries (``ENTRY_FIELDS``) of a file with these field values."""
    return {
        "json_entry": json.dumps(file_json(values), ensure_ascii=False),
        "simple_html": simple_html(values),
        "simple_json": simple_json(values),
    }


def json_entry_show(
    entry: str, *, file_yanked: bool, release_yanked: bool, release_reason: str | None
) -> str:
    """A stored JSON API entry as served: yanked with its release when only that is."""
    if not release_yanked or file_yanked:
        return entry
    # "yanked" and "yanked_reason" are the last keys; a JSON string cannot hold
    # the unescaped quote of this delimiter, so the last match is the key.
    cut = entry.rindex(', "yanked": ')
    reason = json.dumps(release_reason or None, ensure_ascii=False)
    return f'{entry[:cut]}, "yanked": true, "yanked_reason": {reason}}}'


def _lends(
    values: Mapping[str, Any], release_requires_python: str | None, release_yanked: bool
) -> bool:
    """Whether the release lends the file a value its Simple entries must show."""
    return bool(
        (release_requires_python and not values["requires_python"])
        or (release_yanked and not values["yanked"])
    )


def simple_html_show(
    entry: str,
    values: Mapping[str, Any],
    *,
    release_requires_python: str | None,
    release_yanked: bool,
    release_reason: str | None,
) -> str:
    """A stored Simple HTML line as served, with what its release lends it.

    ``values`` holds the file's ``requires_python``, ``yanked`` and ``yanked_reason``.
    """
    if not entry.startswith("<a ") or not _lends(values, release_requires_python, release_yanked):
        return entry
    # Escaped text holds no quote and no ">": the href ends at the first quote
    # after its own, the attributes at the first ">".
    href_end = entry.index('"', len('<a href="')) + 1
    attributes_end = entry.index(">", href_end)
    attributes = _simple_html_attributes(
        *_simple_values(values, release_requires_python, release_yanked, release_reason)
    )
    return entry[:href_end] + attributes + entry[attributes_end:]


def simple_json_show(
    entry: str,
    values: Mapping[str, Any],
    *,
    release_requires_python: str | None,
    release_yanked: bool,
    release_reason: str | None,
) -> str:
    """A stored PEP 691 file object as served, with what its release lends it."""
    if not _lends(values, release_requires_python, release_yanked):
        return entry
    start = entry.rindex(', "requires-python": ')
    end = entry.rindex(', "size": ')
    middle = _simple_json_middle(
        *_simple_values(values, release_requires_python, release_yanked, release_reason)
    )
    return f"{entry[:start]}, {middle}{entry[end:]}"
