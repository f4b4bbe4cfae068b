"""The relational catalog: the source of truth until a site flips to MongoDB."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from audit.tracking import AuditedModelMixin, AuditedQuerySet
from catalog import search
from catalog.links import path_for
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


class Package(AuditedModelMixin, models.Model):
    # Canonical (PEP 503) name: the natural key in both stores.
    name = models.CharField(max_length=NAME_MAX_LENGTH, unique=True, editable=False)
    display_name = models.CharField(max_length=NAME_MAX_LENGTH)
    summary = models.CharField(max_length=SUMMARY_MAX_LENGTH, blank=True)
    description = models.TextField(blank=True)
    description_content_type = models.CharField(max_length=128, blank=True)
    keywords = models.CharField(max_length=KEYWORDS_MAX_LENGTH, blank=True)
    home_page = models.URLField(max_length=URL_MAX_LENGTH, blank=True)
    docs_url = models.URLField("documentation URL", max_length=URL_MAX_LENGTH, blank=True)
    project_urls = models.JSONField(default=dict, blank=True)
    # PyPI allows long author lists in these; 1024 covers what it publishes.
    author = models.CharField(max_length=PEOPLE_MAX_LENGTH, blank=True)
    author_email = models.CharField(max_length=PEOPLE_MAX_LENGTH, blank=True)
    maintainer = models.CharField(
        "maintainer (as published)", max_length=PEOPLE_MAX_LENGTH, blank=True
    )
    maintainer_email = models.CharField(max_length=PEOPLE_MAX_LENGTH, blank=True)
    license = models.ForeignKey(
        License, null=True, blank=True, on_delete=models.SET_NULL, related_name="packages"
    )
    classifiers = models.ManyToManyField(Classifier, blank=True, related_name="packages")
    maintainers = models.ManyToManyField(
        User, through="Maintainer", blank=True, related_name="packages"
    )
    # PyPI's change serial for imported packages (0 for local ones): an older
    # document never overwrites a newer one.
    last_serial = models.BigIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    objects = PackageQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="package_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.name

    def save(self, *args, **kwargs) -> None:
        if self.display_name:
            self.name = canonicalize_name(self.display_name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and not SEARCH_SOURCE_FIELDS & set(update_fields):
            return super().save(*args, **kwargs)
        using = kwargs.get("using") or "default"
        with transaction.atomic(using=using, savepoint=False):
            super().save(*args, **kwargs)
            # Replace even when "adding": an instance built with a stored pk updates its row.
            search_terms_write(sources=_sources([self]), using=using)

    def get_absolute_url(self) -> str:
        return path_for("catalog:package", self.name)


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


class ReleaseQuerySet(AuditedQuerySet):
    def newest_first(self) -> ReleaseQuerySet:
        return self.order_by("-sort_key", "-id")

    def stable(self) -> ReleaseQuerySet:
        return self.filter(is_prerelease=False, yanked=False)


class Release(AuditedModelMixin, models.Model):
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="releases")
    # As published; the sort key and pre-release flag are computed from it on save.
    version = models.CharField(max_length=VERSION_MAX_LENGTH)
    sort_key = models.CharField(max_length=SORT_KEY_LENGTH, editable=False)
    is_prerelease = models.BooleanField("pre-release", default=False, editable=False)
    yanked = models.BooleanField(default=False)
    yanked_reason = models.CharField(max_length=255, blank=True)
    requires_python = models.CharField(max_length=255, blank=True)
    summary = models.CharField(max_length=SUMMARY_MAX_LENGTH, blank=True)
    comment = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        ordering = ["package_id", "-sort_key"]
        indexes = [
            models.Index(fields=["package", "-sort_key"], name="release_newest_first"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["package", "version"], name="release_version_unique"),
            models.CheckConstraint(condition=~Q(version=""), name="release_version_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.package_id and self.package} {self.version}"

    def save(self, *args, **kwargs) -> None:
        self.compute_version_fields()
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return path_for("catalog:release", self.package.name, self.version)

    def compute_version_fields(self) -> None:
        parsed = parse_version(self.version)
        self.sort_key = parsed.sort_key
        self.is_prerelease = parsed.is_prerelease


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
    filename = models.CharField(max_length=255, unique=True)
    url = models.URLField(max_length=URL_MAX_LENGTH, blank=True)
    size = models.BigIntegerField(default=0)
    packagetype = models.CharField(max_length=32, choices=PackageType.choices)
    python_version = models.CharField(max_length=64, blank=True)
    requires_python = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField("SHA-256", max_length=64)
    md5 = models.CharField("MD5", max_length=32, blank=True)
    upload_time = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["release_id", "filename"]
        constraints = [
            models.CheckConstraint(condition=Q(size__gte=0), name="file_size_not_negative"),
        ]

    def __str__(self) -> str:
        return self.filename


class CatalogCounter(models.Model):
    """A running count of a catalog table's rows, for the home page.

    Kept by database triggers (migration 0005), so every write path counts,
    bulk loads and ``COPY`` included: an insert or delete statement adds or
    takes away its number of rows in the same transaction.
    """

    name = models.CharField(max_length=32, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: {self.value}"


SearchSource = tuple[int, str, str, str, str]  # pk, name, display_name, summary, keywords


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
