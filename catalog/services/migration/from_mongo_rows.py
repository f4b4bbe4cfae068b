"""Documents -> rows for the reverse migration (``from_mongo``): per collection, how a
batch of documents is mapped, compared with the rows it maps to, and written.

Each collection has three functions (``from_mongo.ROW_SPECS`` lists them):
``*_map`` turns one document into model field values (through
``catalog.mapping``, validated, nothing written), ``*_plan`` compares a batch
of them with the stored rows by natural key (what to insert, update or leave),
and ``*_write`` carries a plan out in bulk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from django.core.management.color import no_style
from django.db import connection
from django.db.models import Model

from catalog import mapping
from catalog.document_fields import FILE_FIELDS, PACKAGE_FIELDS, RELEASE_FIELDS, USER_FIELDS
from catalog.models import Classifier, License, Maintainer, Package, Release, ReleaseFile, User
from catalog.services.migration.specs import SPECS
from catalog.services.migration.state import BatchHook, RowError

Through = Package.classifiers.through


# --- mapped documents and what to do with them ----------------------------------


@dataclass
class MappedDocument:
    """A document mapped to model field values (validated, nothing written yet)."""

    key: str
    sql_id: int | None
    fields: dict[str, Any]
    extra: Any = None  # packages: PackageRelations; releases: (package name, files)


@dataclass
class _Change:
    item: MappedDocument
    pk: int | None  # the row's key (an update), or the free sql_id to insert with
    changed: list[str]  # model fields whose stored values differ from the document's
    extra: Any = None  # the collection's own plan for related rows


@dataclass
class BatchPlan:
    inserts: list[_Change] = field(default_factory=list)
    updates: list[_Change] = field(default_factory=list)
    unchanged: int = 0
    failures: dict[str, list[RowError]] = field(default_factory=dict)

    def fail(self, collection: str, key: str, field_name: str, reason: str) -> None:
        self.failures.setdefault(key, []).append(RowError(collection, key, field_name, reason))


@dataclass
class ReverseRun:
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


def _documents_exist(run: ReverseRun, collection: str, keys: Iterable[str]) -> set[str]:
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


def _scalar_updates(plan: BatchPlan) -> list[tuple[int, dict[str, Any], list[str]]]:
    return [(c.pk, c.item.fields, c.changed) for c in plan.updates]


# --- users -------------------------------------------------------------------------


def user_map(doc: mapping.Document, run: ReverseRun) -> MappedDocument:
    """A user document as field values (the hash only with credentials asked for)."""
    fields = mapping.user_fields(doc, include_credentials=run.include_credentials)
    return MappedDocument(str(doc["_id"]), mapping.document_sql_id(doc), fields)


def users_plan(items: list[MappedDocument], run: ReverseRun) -> BatchPlan:
    """Users to insert, update or leave, by username."""
    plan = BatchPlan()
    columns = ["pk", "username", *USER_FIELDS, "password"]
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


def users_write(plan: BatchPlan) -> None:
    """Carry out a users plan; a new user without a hash gets an unusable password."""
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


def package_map(doc: mapping.Document, run: ReverseRun) -> MappedDocument:
    """A package document as field values and relations (license, classifiers, maintainers)."""
    fields, relations, sql_id = _mapped(
        doc, mapping.package_fields, mapping.package_relations, mapping.document_sql_id
    )
    return MappedDocument(str(doc["_id"]), sql_id, fields, relations)


def packages_plan(items: list[MappedDocument], run: ReverseRun) -> BatchPlan:
    """Packages to insert, update or leave, by name; relations compared too."""
    plan = BatchPlan()
    columns = ["pk", "name", *PACKAGE_FIELDS, "license__name", "license__spdx_id"]
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


def packages_write(plan: BatchPlan) -> None:
    """Carry out a packages plan: rows, license, classifier links and maintainers."""
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


def release_map(doc: mapping.Document, run: ReverseRun) -> MappedDocument:
    """A release document as field values, its package name and its files."""
    fields, files, sql_id = _mapped(
        doc, mapping.release_fields, mapping.release_files, mapping.document_sql_id
    )
    return MappedDocument(str(doc["_id"]), sql_id, fields, (doc["package"], files))


def releases_plan(items: list[MappedDocument], run: ReverseRun) -> BatchPlan:
    """Releases to insert, update or leave, by package and version; their files too."""
    plan = BatchPlan()
    names = {item.extra[0] for item in items}
    package_ids = dict(Package.objects.filter(name__in=names).values_list("name", "pk"))
    pending = _documents_exist(run, "packages", names - package_ids.keys())
    columns = ["pk", "package_id", *RELEASE_FIELDS]
    rows = {
        (row["package_id"], row["version"]): row
        for row in Release.objects.filter(
            package_id__in=list(package_ids.values()),
            version__in={i.fields["version"] for i in items},
        ).values(*columns)
    }
    release_pks = [row["pk"] for row in rows.values()]
    filenames = {f["filename"] for item in items for f in item.extra[1]}
    file_columns = ["pk", "release_id", *FILE_FIELDS]
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
        if _files_claimed(plan, item, files, claimed):
            continue
        row = rows.get((package_id, item.fields["version"]))
        release_plan = _release_files_plan(
            _ReleasePlan(package_id),
            files,
            release_pk=row["pk"] if row else None,
            stored_files=stored_files,
            files_of=files_of,
            batch_filenames=filenames,
        )
        if row is None:
            pk = item.sql_id if item.sql_id in free else None
            plan.inserts.append(_Change(item, pk, [], release_plan))
            free.discard(item.sql_id)
        elif (changed := _differing(row, item.fields)) or release_plan.changes_files:
            plan.updates.append(_Change(item, row["pk"], changed, release_plan))
        else:
            plan.unchanged += 1
    return plan


def _files_claimed(
    plan: BatchPlan, item: MappedDocument, files: list[dict[str, Any]], claimed: dict[str, str]
) -> bool:
    """Fail a release one of whose files an earlier document of the batch holds.

    Otherwise its files are claimed (``claimed`` maps a filename to its release's key).
    """
    taken = [f["filename"] for f in files if f["filename"] in claimed]
    for filename in taken:
        plan.fail(
            "releases",
            item.key,
            "files.filename",
            f"{filename!r} is also a file of {claimed[filename]!r}",
        )
    if taken:
        return True
    claimed.update((f["filename"], item.key) for f in files)
    return False


def _release_files_plan(
    release_plan: _ReleasePlan,
    files: list[dict[str, Any]],
    *,
    release_pk: int | None,
    stored_files: dict[str, dict[str, Any]],
    files_of: dict[int, dict[str, dict[str, Any]]],
    batch_filenames: set[str],
) -> _ReleasePlan:
    """What to do with a release's file rows to make them its document's ``files``."""
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
        files_of[release_pk][name]["pk"] for name in leaving if name not in batch_filenames
    ]
    return release_plan


def releases_write(plan: BatchPlan) -> None:
    """Carry out a releases plan: rows, then file deletions, moves and creations."""
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
