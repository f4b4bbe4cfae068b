"""The MongoDB mirror of the catalog (django-mongoengine documents).

Shaped for the pages that read them, not copied table by table:

- ``packages``: ``_id`` is the canonical name; maintainers, license and
  classifiers are embedded, with a summary of the latest release, the
  release count and the release history (a few fields per release: what the
  package page lists).
- ``releases``: one document per release (releases are unbounded per package,
  so they are not embedded), files embedded; ``_id`` is ``<package>==<version>``.
- ``users``: profile fields only; the password hash only when asked for.

``checksum`` is the SHA-256 of the rest of the document (``mapping.document_checksum``),
written by the migration and the live sync, so a re-run compares checksums and
writes only documents whose content changed.

``sql_id`` keeps the relational primary key: the reverse migration and the
verifier use it, and incremental runs use it as the tie-breaker of the
(updated, primary key) high-water mark.

How a row becomes one of these is declared once, in ``catalog/mapping.py``.
"""

from django_mongoengine import Document, EmbeddedDocument, fields

from audit.mongo import AuditedDocumentQuerySet
from catalog.file_entries import ENTRY_SOURCES, entry_values, file_entries


class LicenseEmbed(EmbeddedDocument):
    name = fields.StringField(required=True)
    spdx_id = fields.StringField()


class MaintainerEmbed(EmbeddedDocument):
    user_id = fields.IntField(required=True)
    username = fields.StringField(required=True)
    role = fields.StringField(required=True, choices=("owner", "maintainer"))


class LatestReleaseEmbed(EmbeddedDocument):
    version = fields.StringField(required=True)
    sort_key = fields.StringField()
    created = fields.DateTimeField(null=True)
    requires_python = fields.StringField()
    is_prerelease = fields.BooleanField(default=False)
    yanked = fields.BooleanField(default=False)


class PackageDocument(Document):
    name = fields.StringField(primary_key=True)
    sql_id = fields.IntField(null=True)
    display_name = fields.StringField(required=True)
    summary = fields.StringField()
    description = fields.StringField()
    description_content_type = fields.StringField()
    description_html = fields.StringField()
    keywords = fields.StringField()
    home_page = fields.StringField()
    docs_url = fields.StringField()
    project_urls = fields.DictField()
    author = fields.StringField()
    author_email = fields.StringField()
    maintainer = fields.StringField()
    maintainer_email = fields.StringField()
    download_url = fields.StringField(null=True)
    bugtrack_url = fields.StringField(null=True)
    platform = fields.StringField(null=True)
    # As published; `license` below is the display value derived from them.
    license_text = fields.StringField(null=True)
    license_expression = fields.StringField(null=True)
    license_files = fields.ListField(fields.StringField(), null=True)
    requires_dist = fields.ListField(fields.StringField(), null=True)
    provides_extra = fields.ListField(fields.StringField(), null=True)
    dynamic = fields.ListField(fields.StringField(), null=True)
    classifier_order = fields.ListField(fields.StringField())
    vulnerabilities = fields.ListField(fields.DictField())
    license = fields.EmbeddedDocumentField(LicenseEmbed, null=True)
    classifiers = fields.ListField(fields.StringField())
    maintainers = fields.ListField(fields.EmbeddedDocumentField(MaintainerEmbed))
    latest = fields.EmbeddedDocumentField(LatestReleaseEmbed, null=True)
    release_count = fields.IntField(default=0)
    # Every release's history line (document_fields.HISTORY_FIELDS), newest first:
    # the package page reads it here instead of one document per release.
    history = fields.ListField(fields.DictField())
    # Search terms (catalog/search.py), derived from the fields above.
    terms = fields.ListField(fields.StringField())
    last_serial = fields.IntField(default=0)
    created = fields.DateTimeField(null=True)
    updated = fields.DateTimeField(null=True)
    checksum = fields.StringField()
    # --- filled by `process_offline package_stats` from the releases collection.
    first_release = fields.DateTimeField(null=True)
    last_release = fields.DateTimeField(null=True)
    total_size = fields.LongField(default=0)
    # --- set by `merge_sources` on the documents it writes.
    provenance = fields.DictField(null=True)

    meta = {
        "collection": "packages",
        "indexes": [
            # Newest lists sort on these pairs: an index on the first key alone
            # would still sort the whole collection to break ties.
            {"fields": ["-updated", "+_id"], "name": "updated_newest"},
            {"fields": ["-created", "+_id"], "name": "created_newest"},
            "terms",
            "classifiers",
            "license.name",
            "maintainers.username",
            "sql_id",
        ],
        "auto_create_index": False,
        "queryset_class": AuditedDocumentQuerySet,  # audit (issue 6)
    }

    def __str__(self) -> str:
        return self.display_name or self.name


class FileEmbed(EmbeddedDocument):
    filename = fields.StringField(required=True)
    url = fields.StringField()
    size = fields.IntField(default=0)
    packagetype = fields.StringField()
    python_version = fields.StringField()
    requires_python = fields.StringField()
    sha256 = fields.StringField()
    md5 = fields.StringField()
    blake2b_256 = fields.StringField()
    upload_time = fields.DateTimeField(null=True)
    upload_time_iso_8601 = fields.StringField(null=True)
    has_sig = fields.BooleanField(default=False)
    comment_text = fields.StringField(null=True)
    yanked = fields.BooleanField(default=False)
    yanked_reason = fields.StringField(null=True)
    # Computed from the fields above when the file is written (catalog.file_entries).
    json_entry = fields.StringField()
    simple_html = fields.StringField()
    simple_json = fields.StringField()


class ReleaseDocument(Document):
    id = fields.StringField(primary_key=True)
    sql_id = fields.IntField(null=True)
    package = fields.StringField(required=True)
    version = fields.StringField(required=True)
    sort_key = fields.StringField(required=True)
    is_prerelease = fields.BooleanField(default=False)
    yanked = fields.BooleanField(default=False)
    yanked_reason = fields.StringField()
    requires_python = fields.StringField()
    summary = fields.StringField()
    comment = fields.StringField()
    created = fields.DateTimeField(null=True)
    updated = fields.DateTimeField(null=True)
    files = fields.ListField(fields.EmbeddedDocumentField(FileEmbed))
    checksum = fields.StringField()

    meta = {
        "collection": "releases",
        "indexes": [
            # The release history's whole sort (sort_key, then the row as tie
            # breaker), so a server streams it in index order instead of sorting
            # thousands of releases in memory.
            {"fields": ["package", "-sort_key", "-sql_id"], "name": "package_newest_first_by_row"},
            {"fields": ["package", "version"], "unique": True, "name": "package_version_unique"},
            "files.filename",
            {"fields": ["-created", "-sql_id"], "name": "created_newest"},
            "sql_id",
        ],
        "auto_create_index": False,
        "queryset_class": AuditedDocumentQuerySet,  # audit (issue 6)
    }

    def __str__(self) -> str:
        return f"{self.package} {self.version}"

    def clean(self) -> None:
        # A release saved as a document (the document admin) keeps its files'
        # API entries current, as a saved file row does.
        for file in self.files or []:
            values = entry_values({name: getattr(file, name) for name in ENTRY_SOURCES})
            for name, text in file_entries(values).items():
                setattr(file, name, text)


class UserDocument(Document):
    username = fields.StringField(primary_key=True)
    sql_id = fields.IntField(null=True)
    first_name = fields.StringField()
    last_name = fields.StringField()
    email = fields.StringField()
    homepage = fields.StringField()
    is_staff = fields.BooleanField(default=False)
    is_active = fields.BooleanField(default=True)
    date_joined = fields.DateTimeField(null=True)
    updated = fields.DateTimeField(null=True)
    # Only present when the operator copies credentials explicitly.
    password = fields.StringField(null=True)
    checksum = fields.StringField()

    meta = {
        "collection": "users",
        "indexes": ["sql_id"],
        "auto_create_index": False,
        "queryset_class": AuditedDocumentQuerySet,  # audit (issue 6)
    }

    def __str__(self) -> str:
        return self.username


# The catalog's row counts (home page), copied from the relational counters by the
# migration and the live sync: one document, ``_id`` COUNTERS_ID. Beside it, ``_id``
# NEWEST_ID, the newest lists of the home page and feeds (catalog.newest).
COUNTERS_COLLECTION = "catalog_counters"
COUNTERS_ID = "catalog"
NEWEST_ID = "newest"
COUNTER_NAMES = ("packages", "releases", "files", "users")


def release_document_id(package: str, version: str) -> str:
    return f"{package}=={version}"


DOCUMENTS = (PackageDocument, ReleaseDocument, UserDocument)


def ensure_indexes() -> None:
    """Create the indexes declared above (the migration calls this)."""
    for document in DOCUMENTS:
        document.ensure_indexes()
