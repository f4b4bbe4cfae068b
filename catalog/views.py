"""Public pages, the PyPI JSON API and the Simple repository API.

Views parse the request, call one selector and render; they never touch a
model or a document, so both stores serve the same pages.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from html import escape
from itertools import islice
from urllib.parse import quote

import trove_classifiers
from django.conf import settings
from django.core.cache import cache
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponsePermanentRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.utils.cache import get_conditional_response, patch_vary_headers, set_response_etag
from django.utils.html import format_html_join
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.http import require_safe

from catalog import selectors
from catalog.links import path_for
from catalog.rendering import description_show
from catalog.selectors.types import (
    SEARCH_QUERY_MAX_LENGTH,
    SIMPLE_INDEX_CHUNK,
    FileRow,
    NotFound,
    PackageDetail,
    ReleaseDetail,
    ReleaseRow,
    SearchQuery,
)
from catalog.versions import canonicalize_name

SEARCH_ORDERS = {"": "Relevance", "name": "Name", "-updated": "Recently updated"}
FILTER_MAX_LENGTH = 255
FILTER_MAX_COUNT = 20  # classifier filters per search: each one is a subquery
PAGE_MAX_DIGITS = 9  # no search has a billion pages; int() of 5,000 digits raises
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
SIMPLE_HTML = "application/vnd.pypi.simple.v1+html"
SIMPLE_API_VERSION = "1.1"
# PEP 691: "latest" asks for the newest version the server has; the answer
# names the concrete one.
SIMPLE_ALIASES = {
    "application/vnd.pypi.simple.latest+json": SIMPLE_JSON,
    "application/vnd.pypi.simple.latest+html": SIMPLE_HTML,
}


def conditional(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Add an ETag (and keep the view's Last-Modified) and answer conditional GETs with 304."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if response.status_code != 200 or response.streaming:
            return response
        set_response_etag(response)
        last_modified = response.get("Last-Modified")
        return get_conditional_response(
            request,
            etag=response.get("ETag"),
            last_modified=parse_http_date_safe(last_modified) if last_modified else None,
            response=response,
        )

    return wrapper


def _cached(
    request: HttpRequest,
    key: str,
    build: Callable[[], HttpResponse],
    *,
    stamp: Callable[[], str | None] | None = None,
    media: str = "",
) -> HttpResponse:
    """A rendered page from the cache while it is fresh, else built and kept.

    With ``stamp`` (package pages) a cached page is served while the
    package's stamp is unchanged; a stamp just checked is trusted for
    CATALOG_STAMP_SECONDS. Without one (lists) a page is kept for
    CATALOG_LIST_CACHE_SECONDS. The key holds the store, host and media type,
    since pages carry absolute URLs and negotiated formats.
    """
    if not settings.CATALOG_PAGE_CACHE:
        return build()
    exact = stamp is not None and selectors.stamp_is_exact()
    timeout = (
        settings.CATALOG_PACKAGE_CACHE_SECONDS if exact else settings.CATALOG_LIST_CACHE_SECONDS
    )
    if timeout <= 0:
        return build()
    raw = "\x1f".join((selectors.backend_name(), request.scheme, request.get_host(), media, key))
    cache_key = "catalog:page:" + hashlib.sha256(raw.encode()).hexdigest()
    checked_key = cache_key + ":checked"
    hit = cache.get(cache_key)
    trusted = hit is not None and stamp is not None and bool(cache.get(checked_key))
    current = ""
    if stamp is not None and not trusted:
        current = stamp()
        if current is None:
            return build()  # no such package: the view's 404
    if hit is not None and (trusted or hit[0] == current):
        if stamp is not None and not trusted:
            _stamp_checked(checked_key)
        _, content, content_type, headers = hit
        response = HttpResponse(content, content_type=content_type)
        for name, value in headers.items():
            response[name] = value
        return response
    response = build()
    if response.status_code == 200:
        kept = {
            name: response[name]
            for name in (
                "Last-Modified",
                "Vary",
                "X-PyPI-Last-Serial",
                "Access-Control-Allow-Origin",
            )
            if response.has_header(name)
        }
        cache.set(cache_key, (current, response.content, response["Content-Type"], kept), timeout)
        if stamp is not None:
            _stamp_checked(checked_key)
    return response


def _stamp_checked(checked_key: str) -> None:
    if settings.CATALOG_STAMP_SECONDS > 0:
        cache.set(checked_key, True, settings.CATALOG_STAMP_SECONDS)


def _last_modified(response: HttpResponse, stamp: datetime | None) -> HttpResponse:
    if stamp is not None:
        response["Last-Modified"] = http_date(stamp.timestamp())
    return response


def not_found(request: HttpRequest, message: str) -> HttpResponse:
    """A 404 in the shape the caller expects: text for pip, JSON for API clients, else a page."""
    if request.path.startswith("/simple/"):
        return HttpResponse(
            f"404 Not Found: {message}\n", status=404, content_type="text/plain; charset=utf-8"
        )
    if request.path.startswith("/pypi/"):
        return JsonResponse({"message": "Not Found", "detail": message}, status=404)
    return render(request, "catalog/404.html", {"message": message}, status=404)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The site-wide 404 handler (``handler404``)."""
    return not_found(request, "There is nothing at this address.")


def bad_request(request: HttpRequest, message: str, context: dict | None = None) -> HttpResponse:
    return render(request, "catalog/search.html", {**(context or {}), "error": message}, status=400)


# --- pages -------------------------------------------------------------------


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """A trivial view: the benchmark's ceiling."""
    return HttpResponse("ok\n", content_type="text/plain")


@require_safe
@conditional
def home(request: HttpRequest) -> HttpResponse:
    return _cached(
        request,
        "home",
        lambda: render(request, "catalog/home.html", {"page": selectors.catalog_home_get()}),
    )


@require_safe
@conditional
def search(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "").strip()
    classifiers = tuple(c for c in request.GET.getlist("c") if c)
    license_name = request.GET.get("license", "").strip()
    order = request.GET.get("o", "")
    raw_page = request.GET.get("page", "1") or "1"
    context = {
        "q": text,
        "classifiers": classifiers,
        "license": license_name,
        "order": order if order in SEARCH_ORDERS else "",
        "orders": SEARCH_ORDERS,
    }
    if len(text) > SEARCH_QUERY_MAX_LENGTH:
        return bad_request(
            request,
            f"The search text is too long ({len(text)} characters); "
            f"the limit is {SEARCH_QUERY_MAX_LENGTH}.",
            {**context, "q": text[:SEARCH_QUERY_MAX_LENGTH]},
        )
    if any(len(v) > FILTER_MAX_LENGTH for v in (*classifiers, license_name)):
        return bad_request(
            request, f"A filter is too long; the limit is {FILTER_MAX_LENGTH} characters.", context
        )
    if len(classifiers) > FILTER_MAX_COUNT:
        return bad_request(
            request,
            f"Too many classifier filters ({len(classifiers)}); the limit is {FILTER_MAX_COUNT}.",
            {**context, "classifiers": classifiers[:FILTER_MAX_COUNT]},
        )
    if any("\x00" in v for v in (text, license_name, *classifiers)):
        return bad_request(request, "The search contains a NUL character.", context)
    if (
        not (raw_page.isascii() and raw_page.isdigit())
        or len(raw_page) > PAGE_MAX_DIGITS
        or int(raw_page) < 1
    ):
        return bad_request(
            request, f"The page number {raw_page[:20]!r} is not a positive whole number.", context
        )
    query = SearchQuery(
        text=text,
        classifiers=classifiers,
        license=license_name,
        order=context["order"],
        page=int(raw_page),
    )

    context["active_filters"] = [
        (classifier, _search_url(request, drop_classifier=classifier)) for classifier in classifiers
    ]
    context["classifier_options"] = _classifier_options()

    def build() -> HttpResponse:
        try:
            results = selectors.package_search(query=query)
        except NotFound as exc:
            return not_found(request, str(exc))
        return render(request, "catalog/search.html", {**context, "results": results})

    return _cached(request, "search?" + request.GET.urlencode(), build)


def _search_url(request: HttpRequest, *, drop_classifier: str) -> str:
    """This search without one classifier filter, from its first page."""
    params = request.GET.copy()
    params.setlist("c", [c for c in params.getlist("c") if c and c != drop_classifier])
    params.pop("page", None)
    encoded = params.urlencode()
    return "?" + encoded if encoded else request.path


@functools.cache
def _classifier_options() -> str:
    """The trove classifiers a visitor can filter on, as <option>s grouped by their first level.

    The list is PyPI's (the trove-classifiers package), the same for both stores;
    built once per process.
    """
    groups: dict[str, list[str]] = {}
    for classifier in trove_classifiers.sorted_classifiers:
        groups.setdefault(classifier.split(" :: ", 1)[0], []).append(classifier)
    return format_html_join(
        "",
        '<optgroup label="{}">{}</optgroup>',
        (
            (group, format_html_join("", '<option value="{}">{}</option>', ((c, c) for c in items)))
            for group, items in groups.items()
        ),
    )


def _grouped_classifiers(classifiers: list[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for classifier in classifiers:
        group, _, rest = classifier.partition(" :: ")
        groups.setdefault(group, []).append((classifier, rest or group))
    return list(groups.items())


def _package_page(
    request: HttpRequest, detail: PackageDetail, *, canonical_url: str
) -> HttpResponse:
    release = detail.release
    shown = release.version if release else None
    if shown is None or (shown == detail.default_version and not release.is_prerelease):
        install = f"pip install {detail.display_name}"
    else:
        install = f"pip install {detail.display_name}=={shown}"
    context = {
        "package": detail,
        "release": release,
        "install": install,
        "description": description_show(detail.description_html, detail.description),
        "classifier_groups": _grouped_classifiers(detail.classifiers),
        "canonical_url": request.build_absolute_uri(canonical_url),
        "is_default": shown == detail.default_version,
    }
    response = render(request, "catalog/package.html", context)
    return _last_modified(response, detail.last_modified)


@require_safe
@conditional
def package(request: HttpRequest, name: str) -> HttpResponse:
    canonical = canonicalize_name(name)
    if canonical != name:
        return redirect("catalog:package", name=canonical, permanent=True)

    def build() -> HttpResponse:
        try:
            detail = selectors.package_detail_get(name=name)
        except NotFound as exc:
            return not_found(request, str(exc))
        canonical_url = path_for("catalog:package", name)
        return _package_page(request, detail, canonical_url=canonical_url)

    return _cached(
        request, f"package:{name}", build, stamp=lambda: selectors.package_stamp(name=name)
    )


@require_safe
@conditional
def release(request: HttpRequest, name: str, version: str) -> HttpResponse:
    canonical = canonicalize_name(name)
    if canonical != name:
        return redirect("catalog:release", name=canonical, version=version, permanent=True)

    def build() -> HttpResponse:
        try:
            detail = selectors.package_detail_get(name=name, version=version)
        except NotFound as exc:
            return _equivalent_version_redirect(name, version, "catalog:release") or not_found(
                request, str(exc)
            )
        canonical_url = path_for("catalog:release", name, version)
        return _package_page(request, detail, canonical_url=canonical_url)

    return _cached(
        request,
        f"release:{name}:{version}",
        build,
        stamp=lambda: selectors.package_stamp(name=name),
    )


def _equivalent_version_redirect(name: str, version: str, view: str) -> HttpResponse | None:
    """A redirect to the stored spelling of an equal PEP 440 version (2.0.0 -> 2.0), if any."""
    stored = selectors.release_version_equivalent(name=name, version=version)
    if stored is None or stored == version:
        return None
    return HttpResponsePermanentRedirect(path_for(view, name, stored))


@require_safe
@conditional
def user(request: HttpRequest, username: str) -> HttpResponse:
    def build() -> HttpResponse:
        try:
            profile = selectors.user_profile_get(username=username)
        except NotFound as exc:
            return not_found(request, str(exc))
        response = render(request, "catalog/user.html", {"profile": profile})
        return _last_modified(response, profile.updated)

    return _cached(request, f"user:{username}", build)


# --- JSON API (PyPI's format) ------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S") if value else None


def _iso_ms(value: datetime | None) -> str | None:
    # Milliseconds: what MongoDB keeps, so both stores give the same answer.
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}000Z"


def _file_json(row: FileRow, *, release: ReleaseRow | ReleaseDetail) -> dict:
    digests = {"blake2b_256": row.blake2b_256, "md5": row.md5, "sha256": row.sha256}
    return {
        "comment_text": row.comment_text,
        # Only the digests the file was published with.
        "digests": {k: v for k, v in digests.items() if v},
        "downloads": -1,
        "filename": row.filename,
        "has_sig": row.has_sig,
        "md5_digest": row.md5 or None,
        "packagetype": row.packagetype,
        "python_version": row.python_version,
        "requires_python": row.requires_python,
        "size": row.size,
        "upload_time": _iso(row.upload_time),
        # As published (microseconds); else what MongoDB keeps, so both stores agree.
        "upload_time_iso_8601": row.upload_time_iso_8601 or _iso_ms(row.upload_time),
        "url": row.url,
        "yanked": row.yanked or release.yanked,
        # The file's own (as published), else its release's when only that is yanked.
        "yanked_reason": (release.yanked_reason or None)
        if release.yanked and not row.yanked
        else row.yanked_reason,
    }


def _classifiers_in_order(published: list[str], current: list[str]) -> list[str]:
    """The classifiers in their published order; ones added here since, sorted, after them."""
    wanted = set(current)
    kept = [c for c in dict.fromkeys(published or []) if c in wanted]
    return kept + sorted(wanted - set(kept))


@require_safe
@conditional
def package_json(request: HttpRequest, name: str, version: str | None = None) -> HttpResponse:
    canonical = canonicalize_name(name)
    if canonical != name:
        if version:
            return redirect("catalog:json_release", name=canonical, version=version)
        return redirect("catalog:json_package", name=canonical)
    return _cached(
        request,
        f"json:{name}:{version or ''}",
        lambda: _package_json_build(request, name, version),
        stamp=lambda: selectors.package_stamp(name=name),
    )


def _package_json_build(request: HttpRequest, name: str, version: str | None) -> HttpResponse:
    try:
        data = selectors.package_json_get(name=name, version=version)
    except NotFound as exc:
        if version is not None:
            moved = _equivalent_version_redirect(name, version, "catalog:json_release")
            if moved is not None:
                return moved
        return not_found(request, str(exc))
    detail = data.package
    release = detail.release
    package_url = request.build_absolute_uri(path_for("catalog:package", name))
    published = data.published
    info = {
        "author": published["author"],
        "author_email": published["author_email"],
        "bugtrack_url": published["bugtrack_url"],
        "classifiers": _classifiers_in_order(published["classifier_order"], detail.classifiers),
        "description": published["description"],
        "description_content_type": published["description_content_type"],
        "docs_url": published["docs_url"],
        "download_url": published["download_url"],
        "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
        "dynamic": published["dynamic"],
        "home_page": published["home_page"],
        "keywords": published["keywords"],
        "license": published["license_text"],
        "license_expression": published["license_expression"],
        "license_files": published["license_files"],
        "maintainer": published["maintainer"],
        "maintainer_email": published["maintainer_email"],
        "name": detail.display_name,
        "package_url": package_url,
        "platform": published["platform"],
        "project_url": package_url,
        "project_urls": published["project_urls"],
        "provides_extra": published["provides_extra"],
        "release_url": request.build_absolute_uri(
            path_for("catalog:release", name, release.version)
        )
        if release
        else None,
        "requires_dist": published["requires_dist"],
        "requires_python": release.requires_python if release else None,
        "summary": published["summary"],
        "version": release.version if release else None,
        "yanked": release.yanked if release else False,
        "yanked_reason": release.yanked_reason if release else None,
    }
    body: dict = {"info": info, "last_serial": detail.last_serial}
    if version is None:
        # PyPI lists every release (oldest first) only on the project URL.
        body["releases"] = {
            r.version: [_file_json(f, release=r) for f in data.files[r.version]]
            for r in reversed(detail.releases)
        }
    body["urls"] = [_file_json(f, release=release) for f in release.files] if release else []
    # Stored with the package's info (its newest release's); for another
    # release they are unknown: an empty list, as PyPI sends when it knows none.
    describes_shown = release is not None and release.version == detail.default_version
    body["vulnerabilities"] = (published["vulnerabilities"] or []) if describes_shown else []
    response = HttpResponse(json.dumps(body, ensure_ascii=False), content_type="application/json")
    response["Access-Control-Allow-Origin"] = "*"
    response["X-PyPI-Last-Serial"] = str(detail.last_serial)
    return _last_modified(response, detail.last_modified)


# --- Simple repository API (PEP 503 HTML, PEP 691 JSON) ----------------------


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


def _simple_response(
    request: HttpRequest, template: str, context: dict, payload: dict
) -> HttpResponse:
    media = _simple_format(request)
    if media is None:
        return HttpResponse(
            f"406 Not Acceptable: use text/html, {SIMPLE_HTML} or {SIMPLE_JSON}\n",
            status=406,
            content_type="text/plain",
        )
    if media == SIMPLE_JSON:
        response = HttpResponse(json.dumps(payload), content_type=SIMPLE_JSON)
    else:
        response = render(request, template, context, content_type=f"{media}; charset=utf-8")
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
        return _simple_response(request, "", {}, {})
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
    return _cached(
        request,
        f"simple:{name}",
        lambda: _simple_project_build(request, name),
        stamp=lambda: selectors.package_stamp(name=name),
        media=str(_simple_format(request)),
    )


def _simple_project_build(request: HttpRequest, name: str) -> HttpResponse:
    try:
        project = selectors.simple_project_get(name=name)
    except NotFound as exc:
        return not_found(request, str(exc))
    payload = {
        "meta": {"api-version": SIMPLE_API_VERSION, "_last-serial": project.last_serial},
        "name": project.name,
        "versions": project.versions,
        "files": [
            {
                "filename": f.filename,
                "url": f.url,
                "hashes": {"sha256": f.sha256} if f.sha256 else {},
                "requires-python": f.requires_python or None,
                "yanked": (f.yanked_reason or True) if f.yanked else False,
                "size": f.size,
                "upload-time": _iso_ms(f.upload_time),
            }
            for f in project.files
        ],
    }
    response = _simple_response(
        request, "catalog/simple/project.html", {"project": project}, payload
    )
    response["X-PyPI-Last-Serial"] = str(project.last_serial)
    return response
