"""Relational row <-> MongoDB document, declared once.

The migration, the live sync, the verifier, the reverse migration, the merge
tool and the Mongo selectors all go through these functions, so a document
has exactly one shape; the fields each document holds are declared in
``catalog.document_fields``. Each ``*_document`` function returns the raw dict that
is written to MongoDB (keys are the stored field names, ``_id`` included);
each ``*_fields`` function (with ``package_relations`` and ``release_files``)
turns such a dict back into model field values, checking every value against
its model field (``DocumentInvalid`` names each one that cannot be stored).

The ``*_documents`` functions build documents for a batch of primary keys in a
constant number of queries (no per-row lazy loads).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import bson
import bson.errors
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from catalog import search
from catalog.document_fields import (
    FILE_FIELDS,
    HISTORY_FIELDS,
    LATEST_FIELDS,
    PACKAGE_FIELDS,
    RELEASE_FIELDS,
    USER_FIELDS,
)
from catalog.documents import COUNTER_NAMES, COUNTERS_ID, release_document_id
from catalog.file_entries import ENTRY_FIELDS, file_entries
from catalog.models import (
    CatalogCounter,
    Classifier,
    License,
    Maintainer,
    Package,
    Release,
    ReleaseFile,
    User,
    release_version_fields,
)
from catalog.rendering import description_html_render
from catalog.validation import (
    depth_problem,
    json_strings_problem,
    packagetype_problem,
    text_problem,
)
from catalog.versions import canonicalize_name

Document = dict[str, Any]


def milliseconds(value: datetime | None) -> datetime | None:
    """MongoDB stores milliseconds: truncate so a round trip compares equal."""
    if value is None:
        return None
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _clean(value: Any) -> Any:
    return milliseconds(value) if isinstance(value, datetime) else value


# --- packages ----------------------------------------------------------------


def latest_summary(release: Release | None) -> Document | None:
    if release is None:
        return None
    return {field: _clean(getattr(release, field)) for field in LATEST_FIELDS}


def package_document(
    package: Package,
    *,
    classifiers: Sequence[str],
    maintainers: Sequence[Maintainer],
    latest: Release | None,
    release_count: int,
    history: Sequence[Mapping[str, Any]],
) -> Document:
    """A package document; ``history`` is its releases' HISTORY_FIELDS values, newest first."""
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
    doc["history"] = [history_entry(r) for r in history]
    doc["terms"] = document_terms(doc)
    return doc


def history_entry(release: Mapping[str, Any]) -> Document:
    """A line of a package document's release history, from a release's values."""
    return {field: _clean(release[field]) for field in HISTORY_FIELDS}


# The release history's order: newest version first, the later row first among
# equal versions ("1.0" and "1.0.0"), as the SQL package page orders it.
HISTORY_ORDER = ("-sort_key", "-pk")


def document_terms(doc: Document) -> list[str]:
    """A package document's search terms: the same as its row's SearchTerm rows."""
    return search.package_terms(
        name=str(doc.get("_id") or ""),
        display_name=str(doc.get("display_name") or ""),
        summary=str(doc.get("summary") or ""),
        keywords=str(doc.get("keywords") or ""),
    )


def default_release(releases: Iterable[Release]) -> Release | None:
    """The release a package page shows: newest neither yanked nor pre-release, else newest."""
    ordered = sorted(releases, key=lambda r: r.sort_key, reverse=True)
    for release in ordered:
        if not release.yanked and not release.is_prerelease:
            return release
    return ordered[0] if ordered else None


def package_documents(pks: Sequence[int]) -> list[Document]:
    """Documents for a batch of packages, in a constant number of queries."""
    # The default release is picked in the database (default_release's rule, on
    # the package's newest-first index), so a batch holds one release per
    # package, however many releases the packages have.
    newest = Release.objects.filter(package=OuterRef("pk")).order_by("-sort_key")
    stable = newest.filter(yanked=False, is_prerelease=False)
    # The count as a subquery too: Count("releases") would join the releases and
    # GROUP BY, and the grouped query evaluates the default-release subqueries
    # once per joined release row (quadratic in the release count).
    release_count = (
        Release.objects.filter(package=OuterRef("pk"))
        .order_by()
        .values("package")
        .annotate(n=Count("pk"))
        .values("n")
    )
    packages = list(
        Package.objects.filter(pk__in=pks)
        .select_related("license")
        .annotate(
            num_releases=Coalesce(Subquery(release_count), 0),
            latest_id=Coalesce(
                Subquery(stable.values("pk")[:1]), Subquery(newest.values("pk")[:1])
            ),
        )
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
    history: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in (
        Release.objects.filter(package_id__in=pks)
        .order_by("package_id", *HISTORY_ORDER)
        .values("package_id", *HISTORY_FIELDS)
    ):
        history[row["package_id"]].append(row)
    latest_ids = {p.latest_id for p in packages if p.latest_id is not None}
    latest = {r.pk: r for r in Release.objects.filter(pk__in=latest_ids).only(*LATEST_FIELDS)}
    return [
        package_document(
            p,
            classifiers=classifiers[p.pk],
            maintainers=maintainers[p.pk],
            latest=latest.get(p.latest_id),
            release_count=p.num_releases,
            history=history[p.pk],
        )
        for p in packages
    ]


# --- releases ----------------------------------------------------------------


def file_document(row: Mapping[str, Any]) -> Document:
    """An embedded file from a file row's values, with its API entries (catalog.file_entries)."""
    doc = {field: _clean(row[field]) for field in FILE_FIELDS}
    # As the row stores them; computed here for a row read without them.
    doc.update({f: row[f] for f in ENTRY_FIELDS} if ENTRY_FIELDS[0] in row else file_entries(row))
    return doc


def release_document(
    row: Mapping[str, Any], *, package_name: str, files: Iterable[Mapping[str, Any]]
) -> Document:
    """A release document from the release row's values and its files' values."""
    doc: Document = {
        "_id": release_document_id(package_name, row["version"]),
        "sql_id": row["pk"],
        "package": package_name,
    }
    for field in RELEASE_FIELDS:
        doc[field] = _clean(row[field])
    doc["files"] = [file_document(f) for f in sorted(files, key=lambda f: f["filename"])]
    return doc


def release_documents(pks: Sequence[int]) -> list[Document]:
    """Documents for a batch of releases, in two queries.

    Rows are read as values, not model instances: releases are the bulk of a
    migration, and instances would cost their construction (and signals) for
    nothing here.
    """
    files: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in ReleaseFile.objects.filter(release_id__in=pks).values(
        "release_id", *FILE_FIELDS, *ENTRY_FIELDS
    ):
        files[row["release_id"]].append(row)
    releases = (
        Release.objects.filter(pk__in=pks)
        .values("pk", "package__name", *RELEASE_FIELDS)
        .order_by("pk")
    )
    return [
        release_document(r, package_name=r["package__name"], files=files[r["pk"]]) for r in releases
    ]


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


# --- counters ----------------------------------------------------------------


def counters_document() -> Document:
    """The relational row counters (kept by triggers) as one document."""
    counts = dict(CatalogCounter.objects.values_list("name", "value"))
    return {"_id": COUNTERS_ID, **{name: counts.get(name, 0) for name in COUNTER_NAMES}}


# --- checksums ---------------------------------------------------------------


def json_default(value: Any) -> str:
    """JSON for what a document holds besides JSON types: datetimes as UTC ISO to the ms."""
    if isinstance(value, datetime):
        if value.tzinfo is UTC and not value.microsecond % 1000:
            return value.isoformat()  # what the rows give, already in milliseconds
        # Naive values are UTC (MongoDB stores UTC); aware ones may come with any
        # tzinfo object (datetime.UTC, bson's utc), so normalize before printing.
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return milliseconds(value).isoformat()
    return str(value)


CHECKSUM_FIELD = "checksum"


def document_checksum(doc: Document) -> str:
    """A stable checksum of a document's content.

    Key order, the tzinfo object of datetimes (at any depth) and the stored
    ``checksum`` field itself do not matter, so a document read back from
    MongoDB has the checksum of the document built from its row.
    """
    content = {k: v for k, v in doc.items() if k != CHECKSUM_FIELD}
    payload = json.dumps(content, sort_keys=True, default=json_default, separators=(",", ":"))
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


def _project_urls_problems(urls: Any) -> list[tuple[str, str]]:
    if urls is None:  # PyPI's null: no project URLs
        return []
    if not isinstance(urls, dict):
        return [("project_urls", f"expected an object of label -> URL, got {type(urls).__name__}")]
    problems = []
    for label, url in urls.items():
        if label.startswith("$"):
            problems.append(("project_urls", f"label {label!r} may not start with '$'"))
        if not isinstance(url, str):
            problems.append(
                ("project_urls", f"URL of {label!r} must be a string, got {type(url).__name__}")
            )
    return problems


def package_problems(doc: Document) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not doc.get("_id"):
        problems.append(("name", "is empty"))
    if not doc.get("display_name"):
        problems.append(("display_name", "is empty"))
    problems.extend(_project_urls_problems(doc.get("project_urls")))
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


# --- documents -> rows (the reverse migration) ---------------------------------
# A document can hold what its row cannot: a missing or wrong-typed value, a
# string longer than its column, a role outside the choices. Each function
# below checks every value against the model field it goes to and raises
# DocumentInvalid naming each bad field, so the reverse migration reports the
# document and writes none of it. A value the document leaves out takes the
# model's constant default (blank text, False, 0, {}); a timestamp it leaves out
# is missing, except ``updated``, which then means "changed now".

Problem = tuple[str, str]

_INTEGER_RANGES = {"BigIntegerField": (-_INT64, _INT64 - 1), "IntegerField": (-(2**31), 2**31 - 1)}
_MUTABLE_DEFAULTS = (dict, list)
ABSENT = object()  # a field the document does not have


class DocumentInvalid(ValueError):
    """A document that cannot become rows; ``problems`` lists (field, reason)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in self.problems))


def _expected(kind: str, value: Any) -> str:
    return f"expected {kind}, got {type(value).__name__}"


def value_problem(field: models.Field, value: Any) -> str | None:
    """Why ``value`` cannot be stored in ``field``, or None when it can."""
    if value is None:
        return None if field.null or getattr(field, "auto_now", False) else "is missing"
    if isinstance(field, models.BooleanField):
        return None if isinstance(value, bool) else _expected("a boolean", value)
    if isinstance(field, models.IntegerField):
        if isinstance(value, bool) or not isinstance(value, int):
            return _expected("an integer", value)
        low, high = _INTEGER_RANGES.get(field.get_internal_type(), (-_INT64, _INT64 - 1))
        return None if low <= value <= high else f"{value} is out of range"
    if isinstance(field, models.DateTimeField):
        return None if isinstance(value, datetime) else _expected("a date and time", value)
    if isinstance(field, models.CharField | models.TextField):
        if not isinstance(value, str):
            return _expected("a string", value)
        if field.max_length is not None and len(value) > field.max_length:
            return f"is {len(value)} characters long; at most {field.max_length} fit"
        # The import's rules (catalog.validation): the field's validators.
        return text_problem(value, max_length=len(value)) or _validators_problem(field, value)
    if isinstance(field, models.JSONField):
        bad = depth_problem(value) or json_strings_problem(value)
        if isinstance(bad, tuple):
            return f"{bad[0]}: {bad[1]}" if bad[0] else bad[1]
        return bad
    return None


def _validators_problem(field: models.Field, value: Any) -> str | None:
    for validator in field.validators:
        if getattr(validator, "__module__", "") != "catalog.validation":
            continue
        try:
            validator(value)
        except ValidationError as exc:
            return "; ".join(exc.messages)
    return None


def _checked(
    model: type[models.Model], fields: dict[str, Any], *, prefix: str = "", subject: str = ""
) -> list[Problem]:
    """Fill constant defaults into ``fields``, make datetimes aware, list what cannot be stored.

    A missing ``auto_now`` timestamp is left out: the row's save sets it.
    """
    problems = []
    for name, value in list(fields.items()):
        field = model._meta.get_field(name)
        # A field left out of the document takes the default; an explicit
        # null stays null where the column allows it (PyPI's nulls).
        absent = value is ABSENT
        if absent:
            value = None
        if value is None and getattr(field, "auto_now", False):
            del fields[name]  # the row's own timestamp, set when it is written
            continue
        if value is None and (absent or not field.null):
            if field.has_default() and (
                not callable(field.default) or field.default in _MUTABLE_DEFAULTS
            ):
                value = field.get_default()
            elif isinstance(field, models.CharField | models.TextField) and field.blank:
                value = "" if not field.null else None
        elif isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)  # MongoDB stores UTC
        fields[name] = value
        reason = value_problem(field, value)
        if reason:
            problems.append((prefix + name, subject + reason))
    return problems


def same_value(stored: Any, given: Any) -> bool:
    """Whether a row's value equals a document's, as MongoDB keeps it (datetimes to the ms)."""
    if isinstance(stored, datetime) and isinstance(given, datetime):
        return milliseconds(stored) == milliseconds(given)
    return stored == given


def _raise(problems: list[Problem]) -> None:
    if problems:
        raise DocumentInvalid(problems)


def document_sql_id(doc: Document) -> int | None:
    """The relational primary key a document was built from (None when it has none)."""
    value = doc.get("sql_id")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < _INT64:
        raise DocumentInvalid([("sql_id", f"expected a positive integer, got {value!r}")])
    return value


def package_fields(doc: Document) -> dict[str, Any]:
    """Model field values of a package document (relations: ``package_relations``)."""
    fields = {"name": doc.get("_id"), **{field: doc.get(field, ABSENT) for field in PACKAGE_FIELDS}}
    if fields["description_html"] in (None, ABSENT) and isinstance(fields["description"], str):
        # A document written before descriptions were rendered on write.
        content_type = fields["description_content_type"]
        fields["description_html"] = description_html_render(
            fields["description"], content_type if isinstance(content_type, str) else ""
        )
    problems = _checked(Package, fields)
    name = fields["name"]
    if name == "":
        problems.append(("name", "is empty"))
    elif isinstance(name, str) and canonicalize_name(name) != name:
        problems.append(
            (
                "name",
                f"{name!r} is not a canonical (PEP 503) name; expected {canonicalize_name(name)!r}",
            )
        )
    if fields["display_name"] == "":
        problems.append(("display_name", "is empty"))
    problems.extend(_project_urls_problems(fields["project_urls"]))
    _raise(problems)
    return fields


@dataclass(frozen=True)
class PackageRelations:
    """What a package document says about rows of other tables."""

    license: tuple[str, str] | None  # (name, spdx_id)
    classifiers: frozenset[str]
    maintainers: dict[str, str]  # username -> role


def package_relations(doc: Document) -> PackageRelations:
    problems: list[Problem] = []
    license_ = None
    raw = doc.get("license")
    if raw is not None and not isinstance(raw, dict):
        problems.append(("license", _expected("an object {name, spdx_id} or null", raw)))
    elif raw is not None:
        values = {"name": raw.get("name"), "spdx_id": raw.get("spdx_id")}
        problems.extend(_checked(License, values, prefix="license."))
        if values["name"] == "":
            problems.append(("license.name", "is empty"))
        license_ = (values["name"], values["spdx_id"])

    classifiers: set[str] = set()
    raw = doc.get("classifiers") or []
    if not isinstance(raw, list):
        problems.append(("classifiers", _expected("a list of names", raw)))
        raw = []
    name_field = Classifier._meta.get_field("name")
    for name in raw:
        reason = "is empty" if name == "" else value_problem(name_field, name)
        if reason:
            problems.append(("classifiers", f"{name!r} {reason}"))
        else:
            classifiers.add(name)

    maintainers: dict[str, str] = {}
    raw = doc.get("maintainers") or []
    if not isinstance(raw, list):
        problems.append(("maintainers", _expected("a list of {user_id, username, role}", raw)))
        raw = []
    username_field = User._meta.get_field("username")
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            problems.append(("maintainers", f"entry {index}: " + _expected("an object", entry)))
            continue
        username, role = entry.get("username"), entry.get("role")
        reason = "is empty" if username == "" else value_problem(username_field, username)
        if reason:
            problems.append(("maintainers.username", f"entry {index}: {reason}"))
            continue
        if not isinstance(role, str) or role not in MAINTAINER_ROLES:
            problems.append(
                (
                    "maintainers.role",
                    f"{username!r} has role {role!r}, expected one of "
                    f"{', '.join(sorted(MAINTAINER_ROLES))}",
                )
            )
        elif username in maintainers:
            problems.append(("maintainers.username", f"{username!r} is listed twice"))
        else:
            maintainers[username] = role
    _raise(problems)
    return PackageRelations(license_, frozenset(classifiers), maintainers)


def release_fields(doc: Document) -> dict[str, Any]:
    """Model field values of a release document; its package is ``doc["package"]``.

    The sort key and pre-release flag are computed from the version, as
    ``Release.save()`` does, rather than trusted from the document.
    """
    fields = {
        field: doc.get(field, ABSENT)
        for field in RELEASE_FIELDS
        if field not in ("sort_key", "is_prerelease")
    }
    problems = _checked(Release, fields)
    package = doc.get("package")
    name_field = Package._meta.get_field("name")
    reason = "is empty" if package == "" else value_problem(name_field, package)
    if reason:
        problems.append(("package", reason))
    version = fields["version"]
    if version == "":
        problems.append(("version", "is empty"))
    elif isinstance(version, str):
        fields["sort_key"], fields["is_prerelease"] = release_version_fields(version)
    if not problems and doc.get("_id") != release_document_id(package, version):
        problems.append(
            (
                "_id",
                f"does not match its package and version "
                f"(expected {release_document_id(package, version)!r})",
            )
        )
    _raise(problems)
    return fields


def release_files(doc: Document) -> list[dict[str, Any]]:
    """Model field values of the files embedded in a release document."""
    problems: list[Problem] = []
    raw = doc.get("files") or []
    if not isinstance(raw, list):
        _raise([("files", _expected("a list of files", raw))])
    files = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            problems.append(("files", f"entry {index}: " + _expected("an object", entry)))
            continue
        fields = {field: entry.get(field, ABSENT) for field in FILE_FIELDS}
        name = fields["filename"]
        subject = f"{name!r}: " if isinstance(name, str) and name else f"entry {index}: "
        problems.extend(_checked(ReleaseFile, fields, prefix="files.", subject=subject))
        if name == "":
            problems.append(("files.filename", f"entry {index}: is empty"))
        elif isinstance(name, str):
            if name in seen:
                problems.append(("files.filename", f"{name!r} is listed twice"))
            seen.add(name)
        if isinstance(fields["size"], int) and fields["size"] < 0:
            problems.append(("files.size", f"{subject}{fields['size']} is negative"))
        if isinstance(fields["packagetype"], str):
            reason = packagetype_problem(fields["packagetype"])
            if reason:
                problems.append(("files.packagetype", subject + reason))
        files.append(fields)
    _raise(problems)
    return files


def user_fields(doc: Document, *, include_credentials: bool = False) -> dict[str, Any]:
    """Model field values of a user document.

    The password hash is included only when asked for and the document has one.
    """
    fields = {
        "username": doc.get("_id"),
        **{field: doc.get(field, ABSENT) for field in USER_FIELDS},
    }
    if include_credentials and doc.get("password"):
        fields["password"] = doc["password"]
    problems = _checked(User, fields)
    if fields["username"] == "":
        problems.append(("username", "is empty"))
    _raise(problems)
    return fields
