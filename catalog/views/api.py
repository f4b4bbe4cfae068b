"""The PyPI JSON API (``/pypi/<name>/json``, ``/pypi/<name>/<version>/json``) in PyPI's format."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import quote_etag
from django.views.decorators.http import require_safe

from catalog import selectors
from catalog.file_entries import file_json
from catalog.links import path_for
from catalog.selectors.common import json_releases_join
from catalog.selectors.types import FileRow, NotFound, ReleaseDetail, ReleaseRow
from catalog.versions import canonicalize_name
from catalog.views.cache import conditional, last_modified_set, page_cached
from catalog.views.responses import not_found, version_redirect


def _file_json(row: FileRow, *, release: ReleaseRow | ReleaseDetail) -> dict:
    return file_json(
        asdict(row), release_yanked=release.yanked, release_reason=release.yanked_reason
    )


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


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
    return page_cached(
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
            moved = version_redirect(name, version, "catalog:json_release")
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
    # Built as text: every release's files are stored JSON objects (catalog.file_entries),
    # joined as json.dumps(body, ensure_ascii=False) would write them.
    head = f'{{"info": {_dumps(info)}, "last_serial": {_dumps(detail.last_serial)}'
    urls = [_file_json(f, release=release) for f in release.files] if release else []
    # Stored with the package's info (its newest release's); for another
    # release they are unknown: an empty list, as PyPI sends when it knows none.
    describes_shown = release is not None and release.version == detail.default_version
    vulnerabilities = (published["vulnerabilities"] or []) if describes_shown else []
    tail = f', "urls": {_dumps(urls)}, "vulnerabilities": {_dumps(vulnerabilities)}}}'
    if version is not None:
        response = HttpResponse(head + tail, content_type="application/json")
    else:
        # PyPI lists every release (oldest first) only on the project URL.
        releases = data.releases_text
        if releases is None:
            releases = json_releases_join([r.version for r in detail.releases], data.files)
        head += ', "releases": {'
        tail = "}" + tail
        # Encoded part by part: one non-ASCII character in the info (a description)
        # would make a joined string of the megabyte of releases twice as wide, and
        # its encoding ten times as slow.
        body = releases.encode()
        response = HttpResponse(
            b"".join((head.encode(), body, tail.encode())), content_type="application/json"
        )
        # The ETag hashes the megabyte of releases through their digest, which a kept
        # listing stores: the same value from either store, for the same bytes.
        digest = data.releases_sha256 or hashlib.sha256(body).hexdigest()
        response["ETag"] = quote_etag(
            hashlib.sha256(f"{head}\x00{digest}\x00{tail}".encode()).hexdigest()
        )
    response["Access-Control-Allow-Origin"] = "*"
    response["X-PyPI-Last-Serial"] = str(detail.last_serial)
    return last_modified_set(response, detail.last_modified)
