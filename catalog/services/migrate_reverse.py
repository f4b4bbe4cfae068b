"""Bring MongoDB documents back into the relational catalog: the rollback path.

The inverse of ``catalog.services.migrate``, with the same report and
guarantees, through the same mapping (the ``*_fields`` functions of
``catalog.mapping``):

- **Order.** Users, then packages (license, classifiers, maintainers), then
  releases with their files, so the rows a document refers to exist when it is
  written. A reference that does not resolve (a maintainer who is not a user, a
  release whose package is missing) fails that document only.
- **Batches.** Documents are read in ``_id`` order by range queries
  (``{"_id": {"$gt": last}}`` sorted by ``_id``, limited to one batch; never
  skip). A batch is mapped and validated before anything is written, compared
  with the rows its documents map to by natural key (username, canonical name,
  package and version, filename), and written in bulk in one transaction: new
  rows created, changed rows updated, equal rows left alone, so a re-run on
  unchanged data writes nothing. If the database refuses a batch, each document
  is written again in its own savepoint and only the refused one fails.
- **Keys.** A new row takes its document's ``sql_id`` as primary key when that
  key is free, so references and the forward mapping stay stable (restoring
  into a fresh database gives back the same keys); the PostgreSQL sequences are
  reset after such inserts.
- **Prune.** Then rows whose document is gone are deleted (the table is walked
  in primary-key batches and MongoDB asked for their keys). An empty collection
  is never taken to mean "delete every row": that is a wrong MONGODB_URI or
  an empty server.
- **Checkpoints.** After each batch the position is saved in MongoDB's
  ``migration_state`` collection under ``from_mongo:<collection>`` (never in
  the database being written); an interrupted run resumes there and ends as a
  clean run would.
- **No echo.** The live sync is suspended for the run: the documents are the
  source, and writing them back would only rewrite them.

Files, maintainers and classifier links are embedded in their parent's
document, so a changed document replaces them, whatever ``prune`` says.
Timestamps are restored as stored, ``updated`` included (although the models
set it on save); MongoDB keeps milliseconds, so restored times have that
precision.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.db import DatabaseError, connection, transaction
from django.db.models import Model
from mongoengine import Document as MongoDocument

from catalog import mapping
from catalog.documents import (
    PackageDocument,
    ReleaseDocument,
    UserDocument,
    release_document_id,
)
from catalog.models import Classifier, License, Maintainer, Package, Release, ReleaseFile, User
from catalog.services.migrate import (
    BatchHook,
    CollectionReport,
    MigrationResult,
    RowError,
    _progress_bar,
    collections_check,
    state_collection,
)
from catalog.services.sync import live_sync_suspended

COLLECTIONS = ("users", "packages", "releases")
STATE_PREFIX = "from_mongo:"
DOCUMENTS, PRUNE = "documents", "prune"
# What a refused write raises: the database's errors, and a value a field cannot convert.
WRITE_ERRORS = (DatabaseError, ValidationError, ValueError, TypeError)
Through = Package.classifiers.through


def state_id(collection: str) -> str:
    return STATE_PREFIX + collection


# --- mapped documents and what to do with them ----------------------------------


@dataclass
class _Item:
    """A document mapped to model field values (validated, nothing written yet)."""

    key: str
    sql_id: int | None
    fields: dict[str, Any]
    extra: Any = None  # packages: PackageRelations; releases: (package name, files)


@dataclass
class _Change:
    item: _Item
    pk: int | None  # the row's key (an update), or the free sql_id to insert with
    changed: list[str]  # model fields whose stored values differ from the document's
    extra: Any = None  # the collection's own plan for related rows


@dataclass
class _Plan:
    inserts: list[_Change] = field(default_factory=list)
    updates: list[_Change] = field(default_factory=list)
    unchanged: int = 0
    failures: dict[str, list[RowError]] = field(default_factory=dict)

    def fail(self, collection: str, key: str, field_name: str, reason: str) -> None:
        self.failures.setdefault(key, []).append(RowError(collection, key, field_name, reason))


@dataclass
class _Run:
    collections: frozenset[str]
    dry_run: bool
    include_credentials: bool
    prune: bool
    batch_size: int
    on_batch: BatchHook | None
    progress: bool
    batches: int = 0


def _differing(row: dict[str, Any], fields: dict[str, Any]) -> list[str]:
    return [name for name, value in fields.items() if not mapping.same_value(row[name], value)]


def _free_ids(model: type[Model], wanted: Iterable[int | None]) -> set[int]:
    """Which of these primary keys no row holds yet."""
    ids = {pk for pk in wanted if pk is not None}
    if not ids:
        return set()
    return ids - set(model._base_manager.filter(pk__in=ids).values_list("pk", flat=True))


def _documents_exist(run: _Run, collection: str, keys: Iterable[str]) -> set[str]:
    """In a dry run, the keys whose rows this run would have created before needing them."""
    keys = list(keys)
    if not (run.dry_run and collection in run.collections and keys):
        return set()
    stored = SPECS[collection].collection.find({"_id": {"$in": keys}}, {"_id": 1})
    return {doc["_id"] for doc in stored}


# --- writing rows ---------------------------------------------------------------


def _create(model: type[Model], objs: list[Model], fields: Sequence[dict[str, Any]]) -> None:
    """Insert ``objs``; keep the ``updated`` of their documents, which ``auto_now`` overrides."""
    if not objs:
        return
    with_keys = [obj for obj in objs if obj.pk is not None]
    if with_keys:
        model.objects.bulk_create(with_keys)
        # Before the rows that take the next key: it must be past the given ones.
        _reset_sequences(model)
    model.objects.bulk_create([obj for obj in objs if obj.pk is None])
    stamped = []
    for obj, values in zip(objs, fields, strict=True):
        if values.get("updated") is not None:
            obj.updated = values["updated"]
            stamped.append(obj)
    if stamped:
        # bulk_update() does not run pre_save(), so the given value is stored.
        model.objects.bulk_update(stamped, ["updated"])


def _reset_sequences(*models: type[Model]) -> None:
    """After inserts with given primary keys, new rows must not collide with them."""
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def _update(model: type[Model], changes: Iterable[tuple[int, dict[str, Any], list[str]]]) -> None:
    """Write only the fields that differ: one bulk_update per set of changed fields."""
    todo = sorted(
        ((pk, values, tuple(sorted(names))) for pk, values, names in changes if names),
        key=lambda change: change[2],
    )
    for names, group in groupby(todo, key=lambda change: change[2]):
        objs = [model(pk=pk, **{name: values[name] for name in names}) for pk, values, _ in group]
        model.objects.bulk_update(objs, list(names))


def _scalar_updates(plan: _Plan) -> list[tuple[int, dict[str, Any], list[str]]]:
    return [(c.pk, c.item.fields, c.changed) for c in plan.updates]


# --- users -------------------------------------------------------------------------


def _map_user(doc: mapping.Document, run: _Run) -> _Item:
    fields = mapping.user_fields(doc, include_credentials=run.include_credentials)
    return _Item(str(doc["_id"]), mapping.document_sql_id(doc), fields)


def _plan_users(items: list[_Item], run: _Run) -> _Plan:
    plan = _Plan()
    columns = ["pk", "username", *mapping.USER_FIELDS, "password"]
    rows = {
        row["username"]: row
        for row in User.objects.filter(username__in=[i.key for i in items]).values(*columns)
    }
    free = _free_ids(User, (i.sql_id for i in items if i.key not in rows))
    for item in items:
        row = rows.get(item.key)
        if row is None:
            plan.inserts.append(_Change(item, item.sql_id if item.sql_id in free else None, []))
            free.discard(item.sql_id)
        elif changed := _differing(row, item.fields):
            plan.updates.append(_Change(item, row["pk"], changed))
        else:
            plan.unchanged += 1
    return plan


def _write_users(plan: _Plan) -> None:
    users = []
    for change in plan.inserts:
        user = User(pk=change.pk, **change.item.fields)
        if "password" not in change.item.fields:
            # Credentials were not asked for, or the document has none.
            user.set_unusable_password()
        users.append(user)
    _create(User, users, [c.item.fields for c in plan.inserts])
    _update(User, _scalar_updates(plan))


# --- packages ----------------------------------------------------------------------


@dataclass
class _PackageLinks:
    """Which relations of a package differ from its document."""

    license: bool
    classifiers: bool
    maintainers: bool


def _mapped(doc: mapping.Document, *parts: Callable[[mapping.Document], Any]) -> list[Any]:
    """Each part of a document's mapping; the problems of all parts together, if any."""
    problems: list[mapping.Problem] = []
    values: list[Any] = []
    for part in parts:
        try:
            values.append(part(doc))
        except mapping.DocumentInvalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise mapping.DocumentInvalid(problems)
    return values


def _map_package(doc: mapping.Document, run: _Run) -> _Item:
    fields, relations, sql_id = _mapped(
        doc, mapping.package_fields, mapping.package_relations, mapping.document_sql_id
    )
    return _Item(str(doc["_id"]), sql_id, fields, relations)


def _plan_packages(items: list[_Item], run: _Run) -> _Plan:
    plan = _Plan()
    columns = ["pk", "name", *mapping.PACKAGE_FIELDS, "license__name", "license__spdx_id"]
    rows = {
        row["name"]: row
        for row in Package.objects.filter(name__in=[i.key for i in items]).values(*columns)
    }
    pks = [row["pk"] for row in rows.values()]
    classifiers: dict[int, set[str]] = defaultdict(set)
    for package_id, name in Through.objects.filter(package_id__in=pks).values_list(
        "package_id", "classifier__name"
    ):
        classifiers[package_id].add(name)
    maintainers: dict[int, dict[str, str]] = defaultdict(dict)
    for package_id, username, role in Maintainer.objects.filter(package_id__in=pks).values_list(
        "package_id", "user__username", "role"
    ):
        maintainers[package_id][username] = role
    usernames = {u for item in items for u in item.extra.maintainers}
    known = set(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    known |= _documents_exist(run, "users", usernames - known)
    free = _free_ids(Package, (i.sql_id for i in items if i.key not in rows))
    for item in items:
        relations: mapping.PackageRelations = item.extra
        unknown = sorted(set(relations.maintainers) - known)
        for username in unknown:
            plan.fail(
                "packages",
                item.key,
                "maintainers.username",
                f"{username!r} is not a user in the relational catalog",
            )
        if unknown:
            continue
        row = rows.get(item.key)
        if row is None:
            links = _PackageLinks(True, True, True)
            plan.inserts.append(
                _Change(item, item.sql_id if item.sql_id in free else None, [], links)
            )
            free.discard(item.sql_id)
            continue
        stored_license = (
            (row["license__name"], row["license__spdx_id"]) if row["license__name"] else None
        )
        links = _PackageLinks(
            license=relations.license != stored_license,
            classifiers=relations.classifiers != classifiers[row["pk"]],
            maintainers=relations.maintainers != maintainers[row["pk"]],
        )
        # The serial is never lowered, and raised by any change the documents bring.
        given_serial, stored_serial = item.fields["last_serial"], row["last_serial"]
        item.fields["last_serial"] = max(given_serial, stored_serial)
        changed = _differing(row, item.fields)
        if changed or links.license or links.classifiers or links.maintainers:
            if given_serial <= stored_serial:
                item.fields["last_serial"] = stored_serial + 1
                changed = _differing(row, item.fields)
            plan.updates.append(_Change(item, row["pk"], changed, links))
        else:
            plan.unchanged += 1
    return plan


def _licenses(wanted: dict[str, str]) -> dict[str, int]:
    """License ids by name: missing licenses are created, changed SPDX ids updated."""
    if not wanted:
        return {}
    stored = {lic.name: lic for lic in License.objects.filter(name__in=wanted)}
    License.objects.bulk_create(
        [License(name=name, spdx_id=spdx) for name, spdx in wanted.items() if name not in stored]
    )
    changed = []
    for lic in stored.values():
        if lic.spdx_id != wanted[lic.name]:
            lic.spdx_id = wanted[lic.name]
            changed.append(lic)
    License.objects.bulk_update(changed, ["spdx_id"])
    return dict(License.objects.filter(name__in=wanted).values_list("name", "pk"))


def _classifiers(wanted: set[str]) -> dict[str, int]:
    """Classifier ids by name; missing classifiers are created."""
    if not wanted:
        return {}
    stored = set(Classifier.objects.filter(name__in=wanted).values_list("name", flat=True))
    Classifier.objects.bulk_create([Classifier(name=name) for name in sorted(wanted - stored)])
    return dict(Classifier.objects.filter(name__in=wanted).values_list("name", "pk"))


def _write_packages(plan: _Plan) -> None:
    changes = plan.inserts + plan.updates
    license_ids = _licenses(
        {
            c.item.extra.license[0]: c.item.extra.license[1]
            for c in changes
            if c.extra.license and c.item.extra.license
        }
    )

    def license_id(change: _Change) -> int | None:
        lic = change.item.extra.license
        return license_ids[lic[0]] if lic else None

    packages = [Package(pk=c.pk, license_id=license_id(c), **c.item.fields) for c in plan.inserts]
    _create(Package, packages, [c.item.fields for c in plan.inserts])
    for change, package in zip(plan.inserts, packages, strict=True):
        change.pk = package.pk
    _update(Package, _scalar_updates(plan))
    _update(
        Package,
        [
            (c.pk, {"license_id": license_id(c)}, ["license_id"])
            for c in plan.updates
            if c.extra.license
        ],
    )

    relinked = [c for c in changes if c.extra.classifiers]
    classifier_ids = _classifiers({n for c in relinked for n in c.item.extra.classifiers})
    Through.objects.filter(
        package_id__in=[c.pk for c in plan.updates if c.extra.classifiers]
    ).delete()
    Through.objects.bulk_create(
        [
            Through(package_id=c.pk, classifier_id=classifier_ids[name])
            for c in relinked
            for name in sorted(c.item.extra.classifiers)
        ]
    )
    _write_maintainers([c for c in changes if c.extra.maintainers])


def _write_maintainers(changes: list[_Change]) -> None:
    """Make each package's maintainer rows those of its document (unchanged rows kept)."""
    if not changes:
        return
    wanted = {c.pk: c.item.extra.maintainers for c in changes}
    usernames = {u for roles in wanted.values() for u in roles}
    user_ids = dict(User.objects.filter(username__in=usernames).values_list("username", "pk"))
    stale, retitled = [], []
    stored: dict[int, set[str]] = defaultdict(set)
    for maintainer in Maintainer.objects.filter(package_id__in=wanted).select_related("user"):
        roles = wanted[maintainer.package_id]
        username = maintainer.user.username
        stored[maintainer.package_id].add(username)
        if username not in roles:
            stale.append(maintainer.pk)
        elif maintainer.role != roles[username]:
            maintainer.role = roles[username]
            retitled.append(maintainer)
    Maintainer.objects.filter(pk__in=stale).delete()
    Maintainer.objects.bulk_update(retitled, ["role"])
    Maintainer.objects.bulk_create(
        [
            Maintainer(package_id=package_id, user_id=user_ids[username], role=role)
            for package_id, roles in wanted.items()
            for username, role in sorted(roles.items())
            if username not in stored[package_id]
        ]
    )


# --- releases ----------------------------------------------------------------------


@dataclass
class _ReleasePlan:
    """A release's package, and what to do with its files."""

    package_id: int | None
    create: list[dict[str, Any]] = field(default_factory=list)
    # (file pk, values, changed fields); "release" among them moves the file here.
    update: list[tuple[int, dict[str, Any], list[str]]] = field(default_factory=list)
    delete: list[int] = field(default_factory=list)
    moves_out: bool = False  # files leave the release (deleted or taken by another)

    @property
    def changes_files(self) -> bool:
        return bool(self.create or self.update or self.moves_out)


def _map_release(doc: mapping.Document, run: _Run) -> _Item:
    fields, files, sql_id = _mapped(
        doc, mapping.release_fields, mapping.release_files, mapping.document_sql_id
    )
    return _Item(str(doc["_id"]), sql_id, fields, (doc["package"], files))


def _plan_releases(items: list[_Item], run: _Run) -> _Plan:
    plan = _Plan()
    names = {item.extra[0] for item in items}
    package_ids = dict(Package.objects.filter(name__in=names).values_list("name", "pk"))
    pending = _documents_exist(run, "packages", names - package_ids.keys())
    columns = ["pk", "package_id", *mapping.RELEASE_FIELDS]
    rows = {
        (row["package_id"], row["version"]): row
        for row in Release.objects.filter(
            package_id__in=list(package_ids.values()),
            version__in={i.fields["version"] for i in items},
        ).values(*columns)
    }
    release_pks = [row["pk"] for row in rows.values()]
    filenames = {f["filename"] for item in items for f in item.extra[1]}
    file_columns = ["pk", "release_id", *mapping.FILE_FIELDS]
    stored_files = {
        row["filename"]: row
        for row in ReleaseFile.objects.filter(filename__in=filenames).values(*file_columns)
    }
    files_of: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for row in ReleaseFile.objects.filter(release_id__in=release_pks).values(*file_columns):
        files_of[row["release_id"]][row["filename"]] = row
    free = _free_ids(Release, (i.sql_id for i in items))
    claimed: dict[str, str] = {}
    for item in items:
        package, files = item.extra
        package_id = package_ids.get(package)
        if package_id is None and package not in pending:
            plan.fail(
                "releases",
                item.key,
                "package",
                f"{package!r} is not a package in the relational catalog",
            )
            continue
        taken = [f["filename"] for f in files if f["filename"] in claimed]
        for filename in taken:
            plan.fail(
                "releases",
                item.key,
                "files.filename",
                f"{filename!r} is also a file of {claimed[filename]!r}",
            )
        if taken:
            continue
        claimed.update((f["filename"], item.key) for f in files)
        row = rows.get((package_id, item.fields["version"]))
        release_pk = row["pk"] if row else None
        release_plan = _ReleasePlan(package_id)
        for values in files:
            stored = stored_files.get(values["filename"])
            if stored is None:
                release_plan.create.append(values)
                continue
            changed = _differing(stored, values)
            if stored["release_id"] != release_pk:
                changed.append("release")
            if changed:
                release_plan.update.append((stored["pk"], values, changed))
        wanted = {f["filename"] for f in files}
        leaving = [name for name in files_of[release_pk] if name not in wanted]
        release_plan.moves_out = bool(leaving)
        # Deleted, unless another document of the batch takes them.
        release_plan.delete = [
            files_of[release_pk][name]["pk"] for name in leaving if name not in filenames
        ]
        if row is None:
            pk = item.sql_id if item.sql_id in free else None
            plan.inserts.append(_Change(item, pk, [], release_plan))
            free.discard(item.sql_id)
        elif (changed := _differing(row, item.fields)) or release_plan.changes_files:
            plan.updates.append(_Change(item, row["pk"], changed, release_plan))
        else:
            plan.unchanged += 1
    return plan


def _write_releases(plan: _Plan) -> None:
    releases = [
        Release(pk=c.pk, package_id=c.extra.package_id, **c.item.fields) for c in plan.inserts
    ]
    _create(Release, releases, [c.item.fields for c in plan.inserts])
    for change, release in zip(plan.inserts, releases, strict=True):
        change.pk = release.pk
    _update(Release, _scalar_updates(plan))
    changes = plan.inserts + plan.updates
    # Deletions first and creations last: filenames are unique across releases.
    ReleaseFile.objects.filter(pk__in=[pk for c in changes for pk in c.extra.delete]).delete()
    _update(
        ReleaseFile,
        [
            (
                pk,
                {**values, "release_id": c.pk},
                [n if n != "release" else "release_id" for n in names],
            )
            for c in changes
            for pk, values, names in c.extra.update
        ],
    )
    ReleaseFile.objects.bulk_create(
        [ReleaseFile(release_id=c.pk, **values) for c in changes for values in c.extra.create]
    )


# --- collections -------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    name: str
    model: type[Model]
    document: type[MongoDocument]
    map: Callable[[mapping.Document, _Run], _Item]
    plan: Callable[[list[_Item], _Run], _Plan]
    write: Callable[[_Plan], None]
    # Prune: the columns that make a row's document _id, and how.
    key_columns: tuple[str, ...]
    document_id: Callable[..., str]

    @property
    def collection(self):
        return self.document._get_collection()


SPECS: dict[str, _Spec] = {
    spec.name: spec
    for spec in (
        _Spec(
            "users",
            User,
            UserDocument,
            _map_user,
            _plan_users,
            _write_users,
            ("username",),
            str,
        ),
        _Spec(
            "packages",
            Package,
            PackageDocument,
            _map_package,
            _plan_packages,
            _write_packages,
            ("name",),
            str,
        ),
        _Spec(
            "releases",
            Release,
            ReleaseDocument,
            _map_release,
            _plan_releases,
            _write_releases,
            ("package__name", "version"),
            release_document_id,
        ),
    )
}


# --- one batch -----------------------------------------------------------------------


def _map_batch(
    spec: _Spec, docs: list[mapping.Document], run: _Run, report: CollectionReport
) -> list[_Item]:
    """Map every document; one that cannot be mapped is reported and left out."""
    items = []
    for doc in docs:
        key = str(doc.get("_id"))
        try:
            items.append(spec.map(doc, run))
        except mapping.DocumentInvalid as exc:
            report.failed += 1
            report.errors.extend(RowError(spec.name, key, f, r) for f, r in exc.problems)
        except Exception as exc:  # noqa: BLE001 - one odd document must not stop the run
            report.fail(key, "", f"cannot be mapped: {type(exc).__name__}: {exc}")
    return items


def _attempt(spec: _Spec, items: list[_Item], run: _Run) -> _Plan:
    plan = spec.plan(items, run)
    if not run.dry_run:
        spec.write(plan)
    return plan


def _apply_batch(spec: _Spec, items: list[_Item], run: _Run, report: CollectionReport) -> None:
    """Compare and write one batch in one transaction; isolate a document the database refuses."""
    if not items:
        return
    plans: list[_Plan] = []
    try:
        with transaction.atomic():
            plans.append(_attempt(spec, items, run))
    except WRITE_ERRORS:
        with transaction.atomic():
            for item in items:
                try:
                    with transaction.atomic():  # a savepoint per document
                        plans.append(_attempt(spec, [item], run))
                except WRITE_ERRORS as exc:
                    reason = " ".join(str(exc).split())
                    report.fail(item.key, "", f"the database refused it: {reason}")
    for plan in plans:
        report.inserted += len(plan.inserts)
        report.updated += len(plan.updates)
        report.unchanged += plan.unchanged
        report.failed += len(plan.failures)
        for errors in plan.failures.values():
            report.errors.extend(errors)


def _checkpoint(spec: _Spec, run: _Run, position: dict[str, Any]) -> None:
    if not run.dry_run:
        state_collection().update_one({"_id": state_id(spec.name)}, {"$set": position})
    run.batches += 1
    if run.on_batch is not None:
        run.on_batch(spec.name, run.batches)


# --- phases ------------------------------------------------------------------------


def _copy_documents(
    spec: _Spec, run: _Run, report: CollectionReport, state: dict[str, Any]
) -> None:
    last = state.get("last_id")

    def query() -> dict[str, Any]:
        # _id are strings; a range on another type would never reach them.
        return {"_id": {"$type": "string", **({"$gt": last} if last is not None else {})}}

    total = spec.collection.count_documents(query()) if run.progress else 0
    with _progress_bar(spec.name, total, run.progress) as bar:
        while True:
            docs = list(spec.collection.find(query()).sort("_id", 1).limit(run.batch_size))
            if not docs:
                break
            report.read += len(docs)
            _apply_batch(spec, _map_batch(spec, docs, run, report), run, report)
            bar.update(len(docs))
            last = docs[-1]["_id"]
            _checkpoint(spec, run, {"last_id": last})
            if len(docs) < run.batch_size:
                break
    for doc in spec.collection.find({"_id": {"$not": {"$type": "string"}}}, {"_id": 1}):
        report.read += 1
        report.fail(str(doc["_id"]), "_id", f"expected a string, got {type(doc['_id']).__name__}")


def _prune(spec: _Spec, run: _Run, report: CollectionReport, state: dict[str, Any]) -> None:
    """Delete rows whose document is gone, walking the table in primary-key batches."""
    if spec.collection.find_one({}, {"_id": 1}) is None:
        count = spec.model.objects.count()
        if count:
            report.fail(
                "*",
                "",
                f"MongoDB holds no {spec.name} documents: refusing to delete all {count} rows "
                "(is MONGODB_URI the right database? --no-prune keeps them)",
            )
        return
    last = state.get("prune_position") or 0
    while True:
        rows = list(
            spec.model.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", *spec.key_columns)[: run.batch_size]
        )
        if not rows:
            break
        keys = {row[0]: spec.document_id(*row[1:]) for row in rows}
        stored = spec.collection.find({"_id": {"$in": list(keys.values())}}, {"_id": 1})
        present = {doc["_id"] for doc in stored}
        stale = [pk for pk, key in keys.items() if key not in present]
        if stale and not run.dry_run:
            with transaction.atomic():
                spec.model.objects.filter(pk__in=stale).delete()
        report.deleted += len(stale)
        last = rows[-1][0]
        _checkpoint(spec, run, {"phase": PRUNE, "prune_position": last})
        if len(rows) < run.batch_size:
            break


def _run_collection(spec: _Spec, run: _Run, *, restart: bool) -> CollectionReport:
    started = time.perf_counter()
    previous = state_collection().find_one({"_id": state_id(spec.name)})
    resumed = bool(previous and previous.get("status") == "running" and not restart)
    if resumed:
        state = previous
    else:
        state = {
            "_id": state_id(spec.name),
            "status": "running",
            "phase": DOCUMENTS,
            "started": datetime.now(UTC).isoformat(),
            "last_id": None,
            "prune_position": 0,
        }
        if not run.dry_run:
            state_collection().replace_one({"_id": state["_id"]}, state, upsert=True)
    report = CollectionReport(spec.name, mode="full", resumed=resumed)
    if state.get("phase", DOCUMENTS) == DOCUMENTS:
        _copy_documents(spec, run, report, state)
    if run.prune:
        _prune(spec, run, report, state)
    if not run.dry_run:
        state_collection().update_one(
            {"_id": state["_id"]},
            {
                "$set": {"status": "done", "finished": datetime.now(UTC).isoformat()},
                "$unset": {"last_id": "", "prune_position": "", "phase": ""},
            },
        )
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def catalog_migrate_from_mongo(
    *,
    collections: Sequence[str] = COLLECTIONS,
    batch_size: int = 1000,
    dry_run: bool = False,
    include_credentials: bool = False,
    prune: bool = True,
    restart: bool = False,
    progress: bool = False,
    on_batch: BatchHook | None = None,
) -> MigrationResult:
    """Write MongoDB's documents back into the relational catalog (see the module docstring).

    A run resumes an interrupted one unless ``restart``. ``prune`` (default on)
    deletes rows whose document is gone. Password hashes are restored only with
    ``include_credentials`` (and only from documents that have one); a user
    created without one gets an unusable password. ``on_batch(collection, n)``
    is called after each checkpointed batch.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    collections_check(collections, known=COLLECTIONS)
    started = time.perf_counter()
    run = _Run(
        collections=frozenset(collections),
        dry_run=dry_run,
        include_credentials=include_credentials,
        prune=prune,
        batch_size=batch_size,
        on_batch=on_batch,
        progress=progress,
    )
    with live_sync_suspended():
        reports = [
            _run_collection(SPECS[name], run, restart=restart)
            for name in COLLECTIONS
            if name in collections
        ]
    return MigrationResult(
        collections=reports,
        dry_run=dry_run,
        include_credentials=include_credentials,
        workers=1,
        seconds=round(time.perf_counter() - started, 3),
        direction="from_mongo",
    )
