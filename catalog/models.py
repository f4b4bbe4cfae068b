"""The relational catalog: the source of truth until a site flips to MongoDB."""

from __future__ import annotations

from functools import lru_cache

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.tracking import AuditedModelMixin, AuditedQuerySet
from catalog import search
from catalog.file_entries import ENTRY_FIELDS, ENTRY_SOURCES, file_entries
from catalog.links import path_for
from catalog.rendering import description_html_render
from catalog.serial import serial_is_managed, serial_managed
from catalog.validation import validate_filename, validate_name, validate_url, validate_version
from catalog.versions import SORT_KEY_LENGTH, canonicalize_name, parse_version

NAME_MAX_LENGTH = 200
VERSION_MAX_LENGTH = 100
SUMMARY_MAX_LENGTH = 512
URL_MAX_LENGTH = 500
PEOPLE_MAX_LENGTH = 1024
KEYWORDS_MAX_LENGTH = 1024


# Audit (issue 6): every catalog model saves atomically with its audit entry
# (AuditedModelMixin) and its manager's queryset records update(), bulk_create(),
# bulk_update() and delete(), which send no per-object signal (AuditedQuerySet).
class AuditedUserManager(UserManager.from_queryset(AuditedQuerySet)):
    pass


class User(AuditedModelMixin, AbstractUser):
    """Staff and package maintainers (a custom user model from the first migration)."""

    homepage = models.URLField(max_length=URL_MAX_LENGTH, blank=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    objects = AuditedUserManager()

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def get_absolute_url(self) -> str:
        return path_for("catalog:user", self.username)


class License(AuditedModelMixin, models.Model):
    name = models.CharField(max_length=255, unique=True)
    spdx_id = models.CharField("SPDX identifier", max_length=100, blank=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Classifier(AuditedModelMixin, models.Model):
    """A trove classifier, e.g. ``Programming Language :: Python :: 3``."""

    name = models.CharField(max_length=255, unique=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def group(self) -> str:
        return self.name.split(" :: ", 1)[0]


# The fields a package's search terms are computed from (catalog/search.py).
SEARCH_SOURCE_FIELDS = frozenset({"name", "display_name", "summary", "keywords"})


class PackageQuerySet(AuditedQuerySet):
    """Package writes that bypass ``save()`` keep the search terms current too."""

    def search(self, query: str) -> PackageQuerySet:
        return self.filter(Q(name__icontains=query) | Q(summary__icontains=query))

    def update(self, **kwargs) -> int:
        # bulk_update() goes through update(), one call per batch.
        if not SEARCH_SOURCE_FIELDS & kwargs.keys():
            return super().update(**kwargs)
        with transaction.atomic(using=self.db, savepoint=False):
            pks = list(self.values_list("pk", flat=True))
            count = super().update(**kwargs)
            search_terms_refresh(package_ids=pks, using=self.db)
        return count

    def bulk_create(self, objs, *args, **kwargs) -> list:
        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            result = super().bulk_create(objs, *args, **kwargs)
            known = [o for o in objs if o.pk is not None]
            if len(known) == len(objs) and not kwargs.get("update_conflicts"):
                search_terms_write(sources=_sources(known), using=self.db, replace=False)
            else:
                # Ignored conflicts and upserts leave some primary keys unknown.
                names = [o.name for o in objs]
                search_terms_refresh(
                    package_ids=list(
                        Package.objects.using(self.db)
                        .filter(name__in=names)
                        .values_list("pk", flat=True)
                    ),
                    using=self.db,
                )
        return result

    def serial_raise(self) -> int:
        """Raise these packages' last_serial by one, unless a writer manages it (catalog.serial)."""
        if serial_is_managed():
            return 0
        # `updated` stays: the incremental migration refreshes the package
        # document through the changed release or file row (its dependents).
        return self.update(last_serial=F("last_serial") + 1)

    def delete(self):
        # The packages go: their releases' and files' deletions raise no serial.
        with serial_managed():
            return super().delete()


class ChildQuerySet(AuditedQuerySet):
    """Releases and files: a queryset delete raises each package's serial once."""

    package_path = "package_id"

    def delete(self):
        package_ids = set(self.values_list(self.package_path, flat=True))
        with transaction.atomic(using=self.db, savepoint=False):
            with serial_managed():
                result = super().delete()
            if package_ids:
                Package.objects.filter(pk__in=list(package_ids)).serial_raise()
        return result


class Package(AuditedModelMixin, models.Model):
    # PyPI's `info` fields are kept as published: a null stays null, an empty
    # string stays empty (the JSON API serves them back unchanged). Derived
    # values (the canonical name, the display license) live beside them.
    # Canonical (PEP 503) name: the natural key in both stores.
    name = models.CharField(max_length=NAME_MAX_LENGTH, unique=True, editable=False)
    display_name = models.CharField(max_length=NAME_MAX_LENGTH, validators=[validate_name])
    summary = models.CharField(max_length=SUMMARY_MAX_LENGTH, blank=True, null=True, default="")
    description = models.TextField(blank=True, null=True, default="")
    description_content_type = models.CharField(max_length=128, blank=True, null=True, default="")
    # The description as sanitized HTML, rendered when the package is written
    # (catalog.rendering): pages print it and never render per request.
    description_html = models.TextField(blank=True, editable=False)
    # Derived from the description on save: its changes say nothing the
    # description's entry does not (audit.tracking reads this).
    audit_ignored_fields = frozenset({"description_html"})
    keywords = models.CharField(max_length=KEYWORDS_MAX_LENGTH, blank=True, null=True, default="")
    home_page = models.URLField(
        max_length=URL_MAX_LENGTH, blank=True, null=True, default="", validators=[validate_url]
    )
    docs_url = models.URLField(
        "documentation URL",
        max_length=URL_MAX_LENGTH,
        blank=True,
        null=True,
        default="",
        validators=[validate_url],
    )
    # Not URLFields: PyPI serves what was published ("UNKNOWN" included), but
    # never a link with a scheme other than http(s).
    download_url = models.CharField(
        max_length=URL_MAX_LENGTH, blank=True, null=True, validators=[validate_url]
    )
    bugtrack_url = models.CharField(
        max_length=URL_MAX_LENGTH, blank=True, null=True, validators=[validate_url]
    )
    project_urls = models.JSONField(default=dict, blank=True, null=True)
    # PyPI allows long author lists in these; 1024 covers what it publishes.
    author = models.CharField(max_length=PEOPLE_MAX_LENGTH, blank=True, null=True, default="")
    author_email = models.CharField(max_length=PEOPLE_MAX_LENGTH, blank=True, null=True, default="")
    maintainer = models.CharField(
        "maintainer (as published)",
        max_length=PEOPLE_MAX_LENGTH,
        blank=True,
        null=True,
        default="",
    )
    maintainer_email = models.CharField(
        max_length=PEOPLE_MAX_LENGTH, blank=True, null=True, default=""
    )
    platform = models.CharField(max_length=PEOPLE_MAX_LENGTH, blank=True, null=True)
    # The published `license` field (often a whole license text) and the
    # SPDX `license_expression`; `license` below is the derived display value.
    license_text = models.TextField("license (as published)", blank=True, null=True)
    license_expression = models.CharField(max_length=PEOPLE_MAX_LENGTH, blank=True, null=True)
    license_files = models.JSONField(blank=True, null=True)
    requires_dist = models.JSONField(blank=True, null=True)
    provides_extra = models.JSONField(blank=True, null=True)
    dynamic = models.JSONField(blank=True, null=True)
    # Classifiers in the order they were published (the relation below has no order).
    classifier_order = models.JSONField(default=list, blank=True)
    vulnerabilities = models.JSONField(default=list, blank=True)
    license = models.ForeignKey(
        License,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="packages",
        verbose_name="license (display)",
    )
    classifiers = models.ManyToManyField(Classifier, blank=True, related_name="packages")
    maintainers = models.ManyToManyField(
        User, through="Maintainer", blank=True, related_name="packages"
    )
    # PyPI's change serial: an imported document's, raised by one on every
    # change made here (catalog.receivers), never lowered. An older document
    # never overwrites a newer one.
    last_serial = models.BigIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    objects = PackageQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        # "Newest packages" lists read the newest rows off this index.
        indexes = [models.Index(fields=["-created"], name="package_newest_created")]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="package_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.name

    def save(self, *args, **kwargs) -> None:
        if self.display_name:
            self.name = canonicalize_name(self.display_name)
        if self.pk is not None and not kwargs.get("force_insert") and self._changes_something():
            # A change a mirror must see: the serial goes up by at least one,
            # to the given value when that is higher.
            stored = (
                Package.objects.filter(pk=self.pk).values_list("last_serial", flat=True).first()
            )
            if stored is not None:
                self.last_serial = max(self.last_serial, stored + 1)
                if kwargs.get("update_fields") is not None:
                    kwargs["update_fields"] = {*kwargs["update_fields"], "last_serial"}
        update_fields = kwargs.get("update_fields")
        terms_written = update_fields is None or bool(SEARCH_SOURCE_FIELDS & set(update_fields))
        source = self._description_source()
        written = update_fields is None or bool(
            {"description", "description_content_type"} & set(update_fields)
        )
        stale = source != getattr(self, "_rendered_source", None) or (
            source is not None and source[0] and not self.description_html
        )
        if source is not None and written and stale:
            self.description_html = description_html_render(*source)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "description_html"}
        if terms_written:
            using = kwargs.get("using") or "default"
            with transaction.atomic(using=using, savepoint=False):
                super().save(*args, **kwargs)
                # Replace even when "adding": an instance built with a stored pk updates its row.
                search_terms_write(sources=_sources([self]), using=using)
        else:
            super().save(*args, **kwargs)
        self._rendered_source = source

    def get_absolute_url(self) -> str:
        return path_for("catalog:package", self.name)

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._rendered_source = instance._description_source()
        return instance

    def _description_source(self) -> tuple[str, str] | None:
        loaded = self.__dict__
        if "description" not in loaded or "description_content_type" not in loaded:
            return None  # deferred: not being written
        return (loaded["description"] or "", loaded["description_content_type"] or "")

    def delete(self, *args, **kwargs):
        with serial_managed():
            return super().delete(*args, **kwargs)

    def _changes_something(self) -> bool:
        """Whether a field differs from what was loaded (True when that is not known)."""
        loaded = self.__dict__.get("_audit_snapshot")
        if loaded is None:
            return True
        return any(
            value != self.__dict__.get(attname, value)
            for attname, value in loaded.items()
            if attname not in ("updated", "last_serial")
        )


class SearchTerm(models.Model):
    """One search term of a package (catalog/search.py), derived from its row, indexed on term.

    Kept by ``Package.save()`` and the package queryset's bulk writes, in the
    same transaction as the package; not audited (it is not data anyone edits).
    """

    pk = models.CompositePrimaryKey("term", "package")
    term = models.CharField(max_length=search.TERM_MAX_LENGTH)
    # Its own index (the foreign key's) serves replacing a package's terms.
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return self.term


class Maintainer(AuditedModelMixin, models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MAINTAINER = "maintainer", "Maintainer"

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="roles")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MAINTAINER)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["package_id", "role", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["package", "user"], name="maintainer_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) of {self.package}"


# The fields of a release derived from its version (catalog.versions).
RELEASE_VERSION_FIELDS = ("sort_key", "is_prerelease")


@lru_cache(maxsize=65536)
def release_version_fields(version: str) -> tuple[str, bool]:
    """(sort key, pre-release flag) of a release version: the one place they are derived.

    ``Release.save()``, the Release queryset's ``bulk_create`` and
    ``bulk_update`` (which skip ``save()``) and the COPY seeder, which writes
    rows without model objects, all take them from here; the database refuses
    an empty sort key (``release_sort_key_not_empty``).
    """
    parsed = parse_version(version)
    return parsed.sort_key, parsed.is_prerelease


class ReleaseQuerySet(ChildQuerySet):
    def bulk_create(self, objs, *args, **kwargs) -> list:
        objs = list(objs)
        for obj in objs:
            obj.compute_version_fields()
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        if "version" in fields:
            objs = list(objs)
            for obj in objs:
                obj.compute_version_fields()
            fields = [*fields, *(f for f in RELEASE_VERSION_FIELDS if f not in fields)]
        return super().bulk_update(objs, fields, *args, **kwargs)

    def newest_first(self) -> ReleaseQuerySet:
        return self.order_by("-sort_key", "-id")

    def stable(self) -> ReleaseQuerySet:
        return self.filter(is_prerelease=False, yanked=False)


class Release(AuditedModelMixin, models.Model):
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="releases")
    # As published; the sort key and pre-release flag are computed from it on save.
    version = models.CharField(max_length=VERSION_MAX_LENGTH, validators=[validate_version])
    sort_key = models.CharField(max_length=SORT_KEY_LENGTH, editable=False)
    is_prerelease = models.BooleanField("pre-release", default=False, editable=False)
    yanked = models.BooleanField(default=False)
    yanked_reason = models.CharField(max_length=255, blank=True, null=True, default="")
    # From `info.requires_python` of the release's own document, else its files'.
    requires_python = models.CharField(max_length=255, blank=True, null=True, default="")
    summary = models.CharField(max_length=SUMMARY_MAX_LENGTH, blank=True)
    comment = models.TextField(blank=True)
    # The first upload of its files; null (unknown) for a release without files.
    created = models.DateTimeField(default=timezone.now, null=True, blank=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        ordering = ["package_id", "-sort_key"]
        indexes = [
            models.Index(fields=["package", "-sort_key"], name="release_newest_first"),
            # The home page's and the feed's newest releases.
            models.Index(fields=["-created"], name="release_newest_created"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["package", "version"], name="release_version_unique"),
            models.CheckConstraint(condition=~Q(version=""), name="release_version_not_empty"),
            # Set from the version on every write path (release_version_fields);
            # an empty key would sort a release below every other one.
            models.CheckConstraint(condition=~Q(sort_key=""), name="release_sort_key_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.package_id and self.package} {self.version}"

    def save(self, *args, **kwargs) -> None:
        self.compute_version_fields()
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return path_for("catalog:release", self.package.name, self.version)

    def compute_version_fields(self) -> None:
        """Set the sort key and pre-release flag from the version (release_version_fields)."""
        self.sort_key, self.is_prerelease = release_version_fields(self.version)


class FileQuerySet(ChildQuerySet):
    """File writes that bypass ``save()`` keep the files' API entries current too."""

    package_path = "release__package_id"

    def bulk_create(self, objs, *args, **kwargs) -> list:
        objs = list(objs)
        for obj in objs:
            obj.entries_compute()
        update_fields = kwargs.get("update_fields")
        if kwargs.get("update_conflicts") and _ENTRY_SOURCE_SET.intersection(update_fields or ()):
            # An upsert that rewrites a file's fields rewrites its entries too.
            kwargs["update_fields"] = [*update_fields, *ENTRY_FIELDS]
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs) -> int:
        objs = list(objs)
        fields = list(fields)
        if _ENTRY_SOURCE_SET.intersection(fields):
            for obj in objs:
                obj.entries_compute()
            fields += [f for f in ENTRY_FIELDS if f not in fields]
        return super().bulk_update(objs, fields, *args, **kwargs)

    def update(self, **kwargs) -> int:
        # bulk_update() comes here with the entries already computed.
        if not _ENTRY_SOURCE_SET.intersection(kwargs) or _ENTRY_FIELD_SET.intersection(kwargs):
            return super().update(**kwargs)
        with transaction.atomic(using=self.db, savepoint=False):
            pks = list(self.values_list("pk", flat=True))
            count = super().update(**kwargs)
            file_entries_refresh(pks=pks, using=self.db)
        return count


_ENTRY_SOURCE_SET = frozenset(ENTRY_SOURCES)
_ENTRY_FIELD_SET = frozenset(ENTRY_FIELDS)


def file_entries_refresh(*, pks, using: str = "default", batch_size: int = 2000) -> int:
    """Recompute the stored API entries of these files from their rows (updates, backfill)."""
    pks = list(pks)
    for start in range(0, len(pks), batch_size):
        rows = ReleaseFile.objects.using(using).filter(pk__in=pks[start : start + batch_size])
        files = [
            ReleaseFile(pk=row["pk"], **file_entries(row))
            for row in rows.values("pk", *ENTRY_SOURCES)
        ]
        ReleaseFile.objects.using(using).bulk_update(files, ENTRY_FIELDS)
    return len(pks)


class ReleaseFile(AuditedModelMixin, models.Model):
    class PackageType(models.TextChoices):
        SDIST = "sdist", "Source"
        WHEEL = "bdist_wheel", "Wheel"
        EGG = "bdist_egg", "Egg"
        WININST = "bdist_wininst", "Windows installer"
        MSI = "bdist_msi", "MSI"
        RPM = "bdist_rpm", "RPM"
        DUMB = "bdist_dumb", "Dumb binary"
        DMG = "bdist_dmg", "DMG"

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="files")
    filename = models.CharField(max_length=255, unique=True, validators=[validate_filename])
    url = models.URLField(max_length=URL_MAX_LENGTH, blank=True, validators=[validate_url])
    size = models.BigIntegerField(default=0)
    packagetype = models.CharField(max_length=32, choices=PackageType.choices)
    python_version = models.CharField(max_length=64, blank=True)
    requires_python = models.CharField(max_length=255, blank=True, null=True, default="")
    sha256 = models.CharField("SHA-256", max_length=64)
    md5 = models.CharField("MD5", max_length=32, blank=True)
    blake2b_256 = models.CharField("BLAKE2b-256", max_length=64, blank=True)
    upload_time = models.DateTimeField(default=timezone.now, null=True, blank=True)
    # As published (microseconds and all); None for documents that predate it.
    upload_time_iso_8601 = models.CharField(max_length=40, blank=True, null=True)
    has_sig = models.BooleanField(default=False)
    comment_text = models.TextField(blank=True, null=True)
    yanked = models.BooleanField(default=False)
    yanked_reason = models.CharField(max_length=255, blank=True, null=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)
    # The file's JSON API object, Simple HTML line and PEP 691 object, computed
    # from the fields above on every write (catalog.file_entries): the APIs
    # join them instead of building them per request.
    json_entry = models.TextField(blank=True, default="", editable=False)
    simple_html = models.TextField(blank=True, default="", editable=False)
    simple_json = models.TextField(blank=True, default="", editable=False)
    # Derived from the fields above on save (audit.tracking reads this).
    audit_ignored_fields = frozenset(ENTRY_FIELDS)

    objects = FileQuerySet.as_manager()

    class Meta:
        ordering = ["release_id", "filename"]
        # The admin finds a file by its digest (a changelist search at millions of files).
        indexes = [models.Index(fields=["sha256"], name="file_sha256")]
        constraints = [
            models.CheckConstraint(condition=Q(size__gte=0), name="file_size_not_negative"),
        ]

    def __str__(self) -> str:
        return self.filename

    def save(self, *args, **kwargs) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is None or _ENTRY_SOURCE_SET.intersection(update_fields):
            self.entries_compute()
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, *ENTRY_FIELDS}
        super().save(*args, **kwargs)

    def entries_compute(self) -> None:
        """Set the API entries from the file's fields, as the database will hand them back."""
        values = {
            name: self._meta.get_field(name).to_python(getattr(self, name))
            for name in ENTRY_SOURCES
        }
        for name, text in file_entries(values).items():
            setattr(self, name, text)


class CatalogCounter(models.Model):
    """A running count of a catalog table's rows, for the home page.

    Kept by database triggers (migration 0008_catalog_counters; ``catalog.counters`` puts
    back after each migrate any that a SQLite table rebuild dropped), so every write path counts,
    bulk loads and ``COPY`` included: an insert or delete statement adds or
    takes away its number of rows in the same transaction.
    """

    name = models.CharField(max_length=32, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: {self.value}"


class PackageListing(models.Model):
    """A large package's release lists, rendered when its releases and files were written.

    A package with 1,000 releases lists them all on its page (the history),
    in its JSON API and on its Simple page: thousands of rows read and joined
    on every cold view. ``catalog.listings`` keeps them here as text, for
    packages with at least CATALOG_LISTING_MIN_RELEASES releases.

    Database triggers (``catalog.listings``) add one to ``written`` in the
    transaction of any write to the package's releases or files, whatever
    wrote it (admin, importer, bulk SQL). A listing is built from the rows
    committed after ``written`` was read, and records that value in
    ``built``; the pages use it only while ``built == written`` and its
    ``format`` and ``name`` are current, and read the rows otherwise.
    """

    package = models.OneToOneField(
        Package, on_delete=models.CASCADE, primary_key=True, related_name="listing"
    )
    written = models.BigIntegerField(default=0)
    built = models.BigIntegerField(null=True)
    # What the rendering depends on besides the rows (catalog.listings.listing_format).
    format = models.CharField(max_length=64, blank=True)
    # The package name the history's links were made for.
    name = models.CharField(max_length=NAME_MAX_LENGTH, blank=True)
    default_version = models.CharField(max_length=VERSION_MAX_LENGTH, null=True)
    releases_updated = models.DateTimeField(null=True)
    # The history's <li> rows, none marked as the shown release.
    history = models.TextField(blank=True)
    # The JSON API's "releases" object, between its braces, and the SHA-256 of its
    # UTF-8 bytes (the page's ETag hashes this, not the megabytes it stands for).
    json_releases = models.TextField(blank=True)
    json_releases_sha256 = models.CharField(max_length=64, blank=True)
    # Every file's Simple entry as served: HTML lines, and PEP 691 objects joined by ", ".
    simple_html = models.TextField(blank=True)
    simple_json = models.TextField(blank=True)
    # The versions of the PEP 691 answer, as a JSON array.
    simple_versions = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"listing of {self.name} (built {self.built}, written {self.written})"


# pk, name, display_name, summary, keywords
SearchSource = tuple[int, str, str, str | None, str | None]


def _sources(packages) -> list[SearchSource]:
    return [(p.pk, p.name, p.display_name, p.summary, p.keywords) for p in packages]


def search_terms_write(
    *, sources: list[SearchSource], using: str = "default", replace: bool = True
) -> int:
    """Store the terms of these saved packages, replacing the ones they had unless told not to."""
    if not sources:
        return 0
    manager = SearchTerm.objects.using(using)
    if replace:
        manager.filter(package_id__in=[pk for pk, *_ in sources]).delete()
    rows = [
        SearchTerm(term=term, package_id=pk)
        for pk, name, display_name, summary, keywords in sources
        for term in search.package_terms(
            name=name, display_name=display_name, summary=summary, keywords=keywords
        )
    ]
    manager.bulk_create(rows, batch_size=5000)
    return len(rows)


def search_terms_refresh(*, package_ids, using: str = "default", batch_size: int = 2000) -> int:
    """Recompute the stored terms of these packages from their rows (bulk paths, backfill)."""
    package_ids = list(package_ids)
    written = 0
    for start in range(0, len(package_ids), batch_size):
        sources = list(
            Package.objects.using(using)
            .filter(pk__in=package_ids[start : start + batch_size])
            .values_list("pk", "name", "display_name", "summary", "keywords")
        )
        written += search_terms_write(sources=sources, using=using)
    return written
