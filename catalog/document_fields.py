"""Which fields a MongoDB document holds, declared once per entity.

``catalog.mapping`` copies these fields between a row and its document (both
ways); the MongoDB selectors read them into the read layer's types
(``catalog.selectors.types``), the migration verifies and the reverse
migration restores exactly them, and the MongoEngine documents
(``catalog.documents``) declare them. Besides these scalar fields a document
holds its key (``_id``: name, username, or ``package==version``), ``sql_id``,
the ``checksum`` and what ``catalog.mapping`` embeds (a package's license,
classifiers, maintainers, latest release, release count and release history; a release's
package and files, each file with its API entries, ``catalog.file_entries``).
"""

from __future__ import annotations

# A package document's own fields, as the row holds them.
PACKAGE_FIELDS = (
    "display_name",
    "summary",
    "description",
    "description_content_type",
    "description_html",  # rendered on write (catalog.rendering): both stores serve it
    "keywords",
    "home_page",
    "docs_url",
    "project_urls",
    "author",
    "author_email",
    "maintainer",
    "maintainer_email",
    "download_url",
    "bugtrack_url",
    "platform",
    "license_text",
    "license_expression",
    "license_files",
    "requires_dist",
    "provides_extra",
    "dynamic",
    "classifier_order",
    "vulnerabilities",
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
# A line of the release history a package document embeds as ``history`` (every
# release, newest first): what a package page lists, in the read layer's ReleaseRow
# order, so the page reads one document however many releases the package has.
HISTORY_FIELDS = (
    "version",
    "is_prerelease",
    "yanked",
    "yanked_reason",
    "created",
    "updated",
    "requires_python",
)
# The release a package document embeds as ``latest`` (its default release).
LATEST_FIELDS = ("version", "sort_key", "created", "requires_python", "is_prerelease", "yanked")
# A file embedded in its release's document; in the order of the read layer's
# FileRow, which the SQL selectors build positionally.
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
    "blake2b_256",
    "upload_time_iso_8601",
    "has_sig",
    "comment_text",
    "yanked",
    "yanked_reason",
)
# A user document's fields; the password hash only when credentials are copied.
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
