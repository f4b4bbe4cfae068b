"""The collections a migration writes, how each is built, and how both stores are walked.

A collection is driven by one table (users, releases, packages); its documents
also hold rows of other tables, so a change there changes the document too
(``depends_on`` and ``dependents``). Rows and documents are walked side by
side in ``sql_id`` order: primary keys in keyset batches, next to one MongoDB
cursor sorted by ``sql_id`` (``SortedStream``), so nothing is held beyond one
batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Model
from mongoengine import Document as MongoDocument

from catalog import mapping
from catalog.documents import PackageDocument, ReleaseDocument, UserDocument
from catalog.models import Classifier, License, Maintainer, Package, Release, ReleaseFile, User
from catalog.services.migration.state import Since

# Upper bound of the last primary-key range (stored in MongoDB, so within int64).
PK_MAX = 2**62


@dataclass(frozen=True)
class CollectionSpec:
    """How one collection is built from its driving table."""

    name: str
    model: type[Model]
    document: type[MongoDocument]
    build: Callable[[Sequence[int], bool], list[mapping.Document]]
    problems: Callable[[mapping.Document], list[tuple[str, str]]]
    # Other tables whose rows are part of the document, and the primary keys
    # whose document depends on rows of those tables changed since a time
    # (given per table: each table has its own high-water mark).
    depends_on: tuple[type[Model], ...]
    dependents: Callable[[Since], set[int]]

    @property
    def collection(self):
        return self.document._get_collection()


def _package_dependents(changed: Since) -> set[int]:
    pks: set[int] = set()
    pks.update(changed(Release).values_list("package_id", flat=True))
    # A file's change raises its package's last_serial (catalog.receivers).
    pks.update(changed(ReleaseFile).values_list("release__package_id", flat=True))
    pks.update(changed(Maintainer).values_list("package_id", flat=True))
    pks.update(Package.objects.filter(license__in=changed(License)).values_list("pk", flat=True))
    pks.update(
        Package.objects.filter(classifiers__in=changed(Classifier)).values_list("pk", flat=True)
    )
    pks.update(
        Maintainer.objects.filter(user__in=changed(User)).values_list("package_id", flat=True)
    )
    return pks


def _release_dependents(changed: Since) -> set[int]:
    pks: set[int] = set()
    pks.update(changed(ReleaseFile).values_list("release_id", flat=True))
    # A renamed package renames its releases' _id and package field.
    pks.update(Release.objects.filter(package__in=changed(Package)).values_list("pk", flat=True))
    return pks


SPECS: dict[str, CollectionSpec] = {
    spec.name: spec
    for spec in (
        CollectionSpec(
            name="users",
            model=User,
            document=UserDocument,
            build=lambda pks, creds: mapping.user_documents(pks, include_credentials=creds),
            problems=mapping.user_problems,
            depends_on=(),
            dependents=lambda since: set(),
        ),
        # Releases before packages: a pruned release refreshes its package.
        CollectionSpec(
            name="releases",
            model=Release,
            document=ReleaseDocument,
            build=lambda pks, creds: mapping.release_documents(pks),
            problems=mapping.release_problems,
            depends_on=(ReleaseFile, Package),
            dependents=_release_dependents,
        ),
        CollectionSpec(
            name="packages",
            model=Package,
            document=PackageDocument,
            build=lambda pks, creds: mapping.package_documents(pks),
            problems=mapping.package_problems,
            depends_on=(Release, ReleaseFile, Maintainer, License, Classifier, User),
            dependents=_package_dependents,
        ),
    )
}
COLLECTIONS = tuple(SPECS)


def collections_check(collections: Iterable[str], *, known: Sequence[str]) -> None:
    """Refuse collection names a migration does not know, naming the known ones."""
    unknown = set(collections) - set(known)
    if unknown:
        raise ValueError(
            f"unknown collection(s): {', '.join(sorted(unknown))}; "
            f"expected some of {', '.join(known)}"
        )


# --- walking both stores in sql_id order ----------------------------------------


class SortedStream:
    """Documents of a cursor sorted by ``sql_id``, taken a window at a time."""

    def __init__(self, iterator: Iterator[dict[str, Any]]):
        self._iterator = iterator
        self._next = next(iterator, None)

    def take_through(self, sql_id: int) -> dict[Any, dict[str, Any]]:
        """The next documents up to ``sql_id`` (included), by ``_id``."""
        taken = {}
        while self._next is not None and self._next["sql_id"] <= sql_id:
            taken[self._next["_id"]] = self._next
            self._next = next(self._iterator, None)
        return taken


def sql_id_windows(
    model: type[Model], stored: SortedStream, batch_size: int
) -> Iterator[tuple[list[int], int, dict[Any, dict[str, Any]]]]:
    """The table's primary keys in keyset batches, each with the stored documents beside it.

    Yields ``(pks, upper, window)``: ``window`` holds every stored document with
    an ``sql_id`` up to ``upper``, the batch's last key (``PK_MAX`` for the last
    batch, so documents past the last row come with it).
    """
    last = 0
    while True:
        pks = list(
            model.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        upper = pks[-1] if len(pks) == batch_size else PK_MAX
        yield pks, upper, stored.take_through(upper)
        if upper == PK_MAX:
            return
        last = upper
