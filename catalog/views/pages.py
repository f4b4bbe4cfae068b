"""The HTML pages: home, search, a package or release, a user, and the health check.

Views parse the request, call one selector and render; they never touch a
model or a document, so both stores serve the same pages.
"""

from __future__ import annotations

import functools

import trove_classifiers
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import format_html_join
from django.views.decorators.http import require_safe

from catalog import selectors
from catalog.links import path_for
from catalog.rendering import description_show
from catalog.selectors.types import SEARCH_QUERY_MAX_LENGTH, NotFound, PackageDetail, SearchQuery
from catalog.versions import canonicalize_name
from catalog.views.cache import conditional, last_modified_set, page_cached
from catalog.views.responses import not_found, version_redirect

SEARCH_ORDERS = {"": "Relevance", "name": "Name", "-updated": "Recently updated"}
FILTER_MAX_LENGTH = 255
FILTER_MAX_COUNT = 20  # classifier filters per search: each one is a subquery
PAGE_MAX_DIGITS = 9  # no search has a billion pages; int() of 5,000 digits raises


def bad_request(request: HttpRequest, message: str, context: dict | None = None) -> HttpResponse:
    return render(request, "catalog/search.html", {**(context or {}), "error": message}, status=400)


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """A trivial view: the benchmark's ceiling."""
    return HttpResponse("ok\n", content_type="text/plain")


@require_safe
@conditional
def home(request: HttpRequest) -> HttpResponse:
    return page_cached(
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

    return page_cached(request, "search?" + request.GET.urlencode(), build)


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
    return last_modified_set(response, detail.last_modified)


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

    return page_cached(
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
            return version_redirect(name, version, "catalog:release") or not_found(
                request, str(exc)
            )
        canonical_url = path_for("catalog:release", name, version)
        return _package_page(request, detail, canonical_url=canonical_url)

    return page_cached(
        request,
        f"release:{name}:{version}",
        build,
        stamp=lambda: selectors.package_stamp(name=name),
    )


@require_safe
@conditional
def user(request: HttpRequest, username: str) -> HttpResponse:
    def build() -> HttpResponse:
        try:
            profile = selectors.user_profile_get(username=username)
        except NotFound as exc:
            return not_found(request, str(exc))
        response = render(request, "catalog/user.html", {"profile": profile})
        return last_modified_set(response, profile.updated)

    return page_cached(request, f"user:{username}", build)
