"""Relational row <-> MongoDB document, declared once.

The migration, the live sync, the verifier, the reverse migration, the merge
tool and the Mongo selectors all go through these functions, so a document
has exactly one shape. Each ``*_document`` function returns the raw dict that
is written to MongoDB (keys are the stored field names, ``_id`` included);
each ``*_fields`` function turns such a dict back into model field values.

The ``*_documents`` functions build documents for a batch of primary keys in a
constant number of queries (no per-row lazy loads).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import bson
import bson.errors
from django.db.models import Count, Prefetch

from catalog.documents import release_document_id
from catalog.models import Maintainer, Package, Release, ReleaseFile, User

Document = dict[str, Any]

PACKAGE_FIELDS = (
    "display_name",
    "summary",
    "description",
    "description_content_type",
    "keywords",
    "home_page",
    "docs_url",
    "project_urls",
    "author",
    "author_email",
    "maintainer",
    "maintainer_email",
    "last_serial",
    "created",
    "updated",
)
RELEASE_FIELDS = (
    "version",
    "sort_key",
    "is_prerelease",
    "yanked",
    "yanked_reason",
    "requires_python",
    "summary",
    "comment",
    "created",
    "updated",
)
FILE_FIELDS = (
    "filename",
    "url",
    "size",
    "packagetype",
    "python_version",
    "requires_python",
    "sha256",
    "md5",
    "upload_time",
)
USER_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "homepage",
    "is_staff",
    "is_active",
    "date_joined",
    "updated",
)


def _ms(value: datetime | None) -> datetime | None:
    """MongoDB stores milliseconds: truncate so a round trip compares equal."""
    if value is None:
        return None
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _clean(value: Any) -> Any:
    return _ms(value) if isinstance(value, datetime) else value


# --- packages ----------------------------------------------------------------


def latest_summary(release: Release | None) -> Document | None:
    if release is None:
        return None
    return {
        "version": release.version,
        "sort_key": release.sort_key,
        "created": _ms(release.created),
        "requires_python": release.requires_python,
        "is_prerelease": release.is_prerelease,
        "yanked": release.yanked,
    }


def package_document(
    package: Package,
    *,
    classifiers: Sequence[str],
    maintainers: Sequence[Maintainer],
    latest: Release | None,
    release_count: int,
) -> Document:
    doc: Document = {"_id": package.name, "sql_id": package.pk}
    for field in PACKAGE_FIELDS:
        doc[field] = _clean(getattr(package, field))
    doc["license"] = (
        {"name": package.license.name, "spdx_id": package.license.spdx_id}
        if package.license_id
        else None
    )
    doc["classifiers"] = sorted(classifiers)
    doc["maintainers"] = [
        {"user_id": m.user_id, "username": m.user.username, "role": m.role}
        for m in sorted(maintainers, key=lambda m: (m.role != "owner", m.user.username))
    ]
    doc["latest"] = latest_summary(latest)
    doc["release_count"] = release_count
    return doc


def default_release(releases: Iterable[Release]) -> Release | None:
    """The release a package page shows: newest neither yanked nor pre-release, else newest."""
    ordered = sorted(releases, key=lambda r: r.sort_key, reverse=True)
    for release in ordered:
        if not release.yanked and not release.is_prerelease:
            return release
    return ordered[0] if ordered else None


def package_documents(pks: Sequence[int]) -> list[Document]:
    """Documents for a batch of packages, in a constant number of queries."""
    packages = list(
        Package.objects.filter(pk__in=pks)
        .select_related("license")
        .annotate(num_releases=Count("releases"))
        .order_by("pk")
    )
    classifiers: dict[int, list[str]] = defaultdict(list)
    for package_id, name in Package.classifiers.through.objects.filter(
        package_id__in=pks
    ).values_list("package_id", "classifier__name"):
        classifiers[package_id].append(name)
    maintainers: dict[int, list[Maintainer]] = defaultdict(list)
    for m in Maintainer.objects.filter(package_id__in=pks).select_related("user"):
        maintainers[m.package_id].append(m)
    candidates: dict[int, list[Release]] = defaultdict(list)
    for release in (
        Release.objects.filter(package_id__in=pks)
        .only(*(f for f in RELEASE_FIELDS if f != "updated"), "package_id")
        .order_by("package_id", "-sort_key")
    ):
        candidates[release.package_id].append(release)
    return [
        package_document(
            p,
            classifiers=classifiers[p.pk],
            maintainers=maintainers[p.pk],
            latest=default_release(candidates[p.pk]),
            release_count=p.num_releases,
        )
        for p in packages
    ]


def package_fields(doc: Document) -> dict[str, Any]:
    """Model field values for a package document (license and m2m handled by the caller)."""
    fields = {field: doc.get(field) for field in PACKAGE_FIELDS}
    fields["name"] = doc["_id"]
    for text in (
        "summary",
        "description",
        "description_content_type",
        "keywords",
        "home_page",
        "docs_url",
        "author",
        "author_email",
        "maintainer",
        "maintainer_email",
    ):
        fields[text] = fields[text] or ""
    fields["project_urls"] = fields["project_urls"] or {}
    fields["last_serial"] = fields["last_serial"] or 0
    return fields


# --- releases ----------------------------------------------------------------


def file_document(release_file: ReleaseFile) -> Document:
    return {field: _clean(getattr(release_file, field)) for field in FILE_FIELDS}


def release_document(
    release: Release, *, package_name: str, files: Iterable[ReleaseFile]
) -> Document:
    doc: Document = {
        "_id": release_document_id(package_name, release.version),
        "sql_id": release.pk,
        "package": package_name,
    }
    for field in RELEASE_FIELDS:
        doc[field] = _clean(getattr(release, field))
    doc["files"] = [file_document(f) for f in sorted(files, key=lambda f: f.filename)]
    return doc


def release_documents(pks: Sequence[int]) -> list[Document]:
    """Documents for a batch of releases, in a constant number of queries."""
    releases = (
        Release.objects.filter(pk__in=pks)
        .select_related("package")
        .only(*RELEASE_FIELDS, "package__name")
        .prefetch_related(Prefetch("files", queryset=ReleaseFile.objects.order_by("filename")))
        .order_by("pk")
    )
    return [release_document(r, package_name=r.package.name, files=r.files.all()) for r in releases]


def release_fields(doc: Document) -> dict[str, Any]:
    fields = {field: doc.get(field) for field in RELEASE_FIELDS}
    for text in ("yanked_reason", "requires_python", "summary", "comment"):
        fields[text] = fields[text] or ""
    return fields


def file_fields(doc: Document) -> dict[str, Any]:
    fields = {field: doc.get(field) for field in FILE_FIELDS}
    for text in ("url", "python_version", "requires_python", "md5", "packagetype", "sha256"):
        fields[text] = fields[text] or ""
    fields["size"] = fields["size"] or 0
    return fields


# --- users -------------------------------------------------------------------


def user_document(user: User, *, include_credentials: bool = False) -> Document:
    doc: Document = {"_id": user.username, "sql_id": user.pk}
    for field in USER_FIELDS:
        doc[field] = _clean(getattr(user, field))
    if include_credentials:
        doc["password"] = user.password
    return doc


def user_documents(pks: Sequence[int], *, include_credentials: bool = False) -> list[Document]:
    users = User.objects.filter(pk__in=pks).order_by("pk")
    return [user_document(u, include_credentials=include_credentials) for u in users]


def user_fields(doc: Document) -> dict[str, Any]:
    fields = {field: doc.get(field) for field in USER_FIELDS}
    fields["username"] = doc["_id"]
    for text in ("first_name", "last_name", "email", "homepage"):
        fields[text] = fields[text] or ""
    if doc.get("password"):
        fields["password"] = doc["password"]
    return fields


# --- checksums ---------------------------------------------------------------


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        # Naive values are UTC (MongoDB stores UTC); aware ones may come with any
        # tzinfo object (datetime.UTC, bson's utc), so normalize before printing.
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return _ms(value).isoformat()
    return str(value)


CHECKSUM_FIELD = "checksum"


def document_checksum(doc: Document) -> str:
    """A stable checksum of a document's content.

    Key order, the tzinfo object of datetimes (at any depth) and the stored
    ``checksum`` field itself do not matter, so a document read back from
    MongoDB has the checksum of the document built from its row.
    """
    content = {k: v for k, v in doc.items() if k != CHECKSUM_FIELD}
    payload = json.dumps(content, sort_keys=True, default=_json_default, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


# --- validation --------------------------------------------------------------
# A row can hold values its document cannot (JSON of the wrong shape, a role
# outside the choices, an integer beyond 64 bits). The migration and the live
# sync report such a row by key and field instead of writing it.

MAINTAINER_ROLES = frozenset(Maintainer.Role.values)
_INT64 = 2**63


def _bson_problems(doc: Document) -> list[tuple[str, str]]:
    try:
        bson.encode(doc)
    except (bson.errors.InvalidDocument, OverflowError) as exc:
        return [("", f"cannot be stored in MongoDB: {exc}")]
    return []


def package_problems(doc: Document) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not doc.get("_id"):
        problems.append(("name", "is empty"))
    if not doc.get("display_name"):
        problems.append(("display_name", "is empty"))
    urls = doc.get("project_urls")
    if not isinstance(urls, dict):
        problems.append(
            ("project_urls", f"expected an object of label -> URL, got {type(urls).__name__}")
        )
    else:
        for label, url in urls.items():
            if label.startswith("$"):
                problems.append(("project_urls", f"label {label!r} may not start with '$'"))
            if not isinstance(url, str):
                problems.append(
                    ("project_urls", f"URL of {label!r} must be a string, got {type(url).__name__}")
                )
    for m in doc.get("maintainers") or ():
        if m["role"] not in MAINTAINER_ROLES:
            problems.append(
                (
                    "maintainers.role",
                    f"{m['username']!r} has role {m['role']!r}, expected one of "
                    f"{', '.join(sorted(MAINTAINER_ROLES))}",
                )
            )
    return problems or _bson_problems(doc)


def release_problems(doc: Document) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not doc.get("version"):
        problems.append(("version", "is empty"))
    if not doc.get("sort_key"):
        problems.append(("sort_key", "is empty (the release was written without save())"))
    for f in doc.get("files") or ():
        if not f.get("filename"):
            problems.append(("files.filename", "is empty"))
        if not 0 <= (f.get("size") or 0) < _INT64:
            problems.append(("files.size", f"{f['filename']!r}: {f['size']} is out of range"))
    return problems or _bson_problems(doc)


def user_problems(doc: Document) -> list[tuple[str, str]]:
    if not doc.get("_id"):
        return [("username", "is empty")]
    return _bson_problems(doc)
