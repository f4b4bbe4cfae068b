"""The Simple repository API: PEP 503 HTML and PEP 691 JSON, negotiated on Accept."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from html import escape
from itertools import islice
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from catalog import selectors
from catalog.selectors.types import SIMPLE_INDEX_CHUNK, NotFound
from catalog.versions import canonicalize_name
from catalog.views.cache import conditional, page_cached
from catalog.views.responses import not_found

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
SIMPLE_HTML = "application/vnd.pypi.simple.v1+html"
SIMPLE_API_VERSION = "1.1"
# PEP 691: "latest" asks for the newest version the server has; the answer
# names the concrete one.
SIMPLE_ALIASES = {
    "application/vnd.pypi.simple.latest+json": SIMPLE_JSON,
    "application/vnd.pypi.simple.latest+html": SIMPLE_HTML,
}


def _simple_format(request: HttpRequest) -> str | None:
    """The media type to answer with, from the Accept header (None: nothing acceptable)."""
    accept = request.headers.get("Accept", "")
    if not accept.strip():
        return "text/html"
    offered = [SIMPLE_JSON, SIMPLE_HTML, "text/html"]
    best, best_q = None, 0.0
    for item in accept.split(","):
        media, *params = (p.strip() for p in item.split(";"))
        media = SIMPLE_ALIASES.get(media.lower(), media.lower())
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        candidates = (
            ["text/html"]
            if media in {"*/*", "application/*"}
            else ["text/html"]
            if media == "text/*"
            else [media]
            if media in offered
            else []
        )
        for candidate in candidates:
            # Ties go to the earlier entry in the header (pip lists its preference first).
            if quality > best_q or (quality == best_q and best is None):
                best, best_q = candidate, quality
    return best if best_q > 0 else None


def _not_acceptable() -> HttpResponse:
    response = HttpResponse(
        f"406 Not Acceptable: use text/html, {SIMPLE_HTML} or {SIMPLE_JSON}\n",
        status=406,
        content_type="text/plain",
    )
    patch_vary_headers(response, ["Accept"])
    return response


SIMPLE_INDEX_HEAD = (
    '<!DOCTYPE html>\n<html>\n<head><meta name="pypi:repository-version" content="1.1">'
    "<title>Simple index</title></head>\n<body>\n"
)
SIMPLE_INDEX_TAIL = "</body>\n</html>\n"


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _simple_index_html(names: Iterator[str]) -> Iterator[bytes]:
    yield SIMPLE_INDEX_HEAD.encode()
    for chunk in _chunks(names, SIMPLE_INDEX_CHUNK):
        # A name is quoted whole into a relative link: "javascript:x" is no scheme.
        yield "".join(
            f'<a href="{escape(quote(name, safe=""))}/">{escape(name)}</a>\n' for name in chunk
        ).encode()
    yield SIMPLE_INDEX_TAIL.encode()


def _simple_index_json(names: Iterator[str]) -> Iterator[bytes]:
    meta = json.dumps({"api-version": SIMPLE_API_VERSION, "_last-serial": 0})
    yield f'{{"meta": {meta}, "projects": ['.encode()
    separator = ""
    for chunk in _chunks(names, SIMPLE_INDEX_CHUNK):
        yield (separator + ", ".join(json.dumps({"name": name}) for name in chunk)).encode()
        separator = ", "
    yield b"]}"


@require_safe
def simple_index(request: HttpRequest) -> HttpResponseBase:
    """Every project, streamed from the database in chunks: memory stays flat at any size.

    The ETag comes from the stamp (project count, newest change) before a
    single name is read, so a client that has the index gets a 304 for one
    small query, and ``/simple/`` is never held whole in memory or the cache.
    """
    media = _simple_format(request)
    if media is None:
        return _not_acceptable()
    stamp = selectors.simple_index_stamp()
    raw = f"{media}:{stamp.etag}"
    etag = f'"{hashlib.sha256(raw.encode()).hexdigest()[:32]}"'
    last_modified = stamp.newest.timestamp() if stamp.newest else None
    not_modified = get_conditional_response(
        request, etag=etag, last_modified=int(last_modified) if last_modified else None
    )
    if not_modified is not None:
        return not_modified
    names = selectors.simple_index_names()
    if media == SIMPLE_JSON:
        body, content_type = _simple_index_json(names), SIMPLE_JSON
    else:
        body, content_type = _simple_index_html(names), f"{media}; charset=utf-8"
    response = StreamingHttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified)
    patch_vary_headers(response, ["Accept"])
    return response


@require_safe
@conditional
def simple_project(request: HttpRequest, name: str) -> HttpResponse:
    canonical = canonicalize_name(name)
    if canonical != name:
        return redirect("catalog:simple_project", name=canonical)
    return page_cached(
        request,
        f"simple:{name}",
        lambda: _simple_project_build(request, name),
        stamp=lambda: selectors.package_stamp(name=name),
        media=str(_simple_format(request)),
    )


def _simple_project_build(request: HttpRequest, name: str) -> HttpResponse:
    media = _simple_format(request)
    if media is None:
        return _not_acceptable()
    form = "json" if media == SIMPLE_JSON else "html"
    try:
        project = selectors.simple_project_get(name=name, form=form)
    except NotFound as exc:
        return not_found(request, str(exc))
    if form == "json":
        # The files are stored PEP 691 objects (catalog.file_entries), joined as
        # json.dumps of the whole answer would write them.
        head = json.dumps(
            {
                "meta": {"api-version": SIMPLE_API_VERSION, "_last-serial": project.last_serial},
                "name": project.name,
                "versions": project.versions,
            }
        )[:-1]
        body = f'{head}, "files": [{", ".join(project.files)}]}}'
        response = HttpResponse(body, content_type=SIMPLE_JSON)
    else:
        context = {
            "project": project,
            # Stored lines, escaped when they were written (catalog.file_entries).
            "files_html": mark_safe("".join(project.files)),  # noqa: S308
        }
        response = render(
            request, "catalog/simple/project.html", context, content_type=f"{media}; charset=utf-8"
        )
    patch_vary_headers(response, ["Accept"])
    response["X-PyPI-Last-Serial"] = str(project.last_serial)
    return response
