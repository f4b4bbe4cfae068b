"""The page cache: rendered pages kept per store, host and media type, ETags and Last-Modified.

Views wrap themselves in ``conditional`` and build their page through
``page_cached``; with ``CATALOG_PAGE_CACHE=0`` every page is built per request.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, parse_http_date_safe, quote_etag

from catalog import selectors


def conditional(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Add an ETag (and keep the view's Last-Modified) and answer conditional GETs with 304."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if response.status_code != 200 or response.streaming:
            return response
        # Django's set_response_etag hashes with MD5; SHA-256 runs at twice its
        # speed here (the CPU's SHA extensions), which a 1 MB JSON page feels.
        # A view that knows its body's digest more cheaply sets the ETag itself.
        if response.content and not response.has_header("ETag"):
            response["ETag"] = quote_etag(hashlib.sha256(response.content).hexdigest())
        last_modified = response.get("Last-Modified")
        return get_conditional_response(
            request,
            etag=response.get("ETag"),
            last_modified=parse_http_date_safe(last_modified) if last_modified else None,
            response=response,
        )

    return wrapper


def page_cached(
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
                "ETag",  # when the view set it (else `conditional` hashes the body)
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


def last_modified_set(response: HttpResponse, stamp: datetime | None) -> HttpResponse:
    """``response`` with a Last-Modified header from ``stamp`` (none when it is unknown)."""
    if stamp is not None:
        response["Last-Modified"] = http_date(stamp.timestamp())
    return response
