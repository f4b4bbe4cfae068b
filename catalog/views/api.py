"""The PyPI JSON API (``/pypi/<name>/json``, ``/pypi/<name>/<version>/json``) in PyPI's format."""

from __future__ import annotations

import json
from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_safe

from catalog import selectors
from catalog.links import path_for
from catalog.selectors.types import FileRow, NotFound, ReleaseDetail, ReleaseRow
from catalog.versions import canonicalize_name
from catalog.views.cache import conditional, last_modified_set, page_cached
from catalog.views.responses import not_found, version_redirect


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S") if value else None


def iso_ms(value: datetime | None) -> str | None:
    """``value`` in ISO 8601 with milliseconds and a Z.

    Milliseconds: what MongoDB keeps, so both stores give the same answer.
    """
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
        "upload_time_iso_8601": row.upload_time_iso_8601 or iso_ms(row.upload_time),
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
    return last_modified_set(response, detail.last_modified)
