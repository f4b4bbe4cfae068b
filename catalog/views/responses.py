"""Answers shared by the pages and the APIs: 404s in the caller's format, version redirects."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render

from catalog import selectors
from catalog.links import path_for


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


def version_redirect(name: str, version: str, view: str) -> HttpResponse | None:
    """A redirect to the stored spelling of an equal PEP 440 version (2.0.0 -> 2.0), if any."""
    stored = selectors.release_version_equivalent(name=name, version=version)
    if stored is None or stored == version:
        return None
    return HttpResponsePermanentRedirect(path_for(view, name, stored))
