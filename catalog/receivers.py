"""Signal receivers of the catalog, connected in ``CatalogConfig.ready()``.

- E-mail normalization (``pre_save``, both stores): a user's e-mail follows
  ``catalog.normalize`` before it is written, so the audit records the
  normalized value.
- The package serial: a change of a release or file raises its package's
  ``last_serial`` (unless a writer manages it, ``catalog.serial``).
- Documents written through MongoEngine (a release or package document
  saved or deleted one at a time): what the package documents keep of their
  releases, the file parts and the newest lists are brought up to date.
- Live sync: say which documents a relational write affects. They only queue
  primary keys; the documents are rebuilt after the transaction commits
  (``catalog.services.sync``). Writes that bypass signals
  (``QuerySet.update``, ``bulk_create``) are picked up by the next
  incremental ``migrate_to_mongo`` run.
"""

from __future__ import annotations

from django.apps import apps
from django.db.models.signals import (
    m2m_changed,
    post_delete,
    post_migrate,
    post_save,
    pre_delete,
    pre_save,
)
from mongoengine import signals as mongo_signals

from audit.signals import objects_restored
from catalog.counters import triggers_ensure
from catalog.documents import PackageDocument, ReleaseDocument, UserDocument
from catalog.listings import listing_triggers_ensure
from catalog.models import Classifier, License, Maintainer, Package, Release, ReleaseFile, User
from catalog.newest import newest_lists_refresh
from catalog.normalize import user_emails_normalize
from catalog.package_files import package_files_refresh
from catalog.services.listings import listings_refresh_on_commit
from catalog.services.package_summaries import package_summaries_refresh
from catalog.services.sync import live_sync_enabled, live_sync_enqueue


def normalize_user(sender, instance: User, raw: bool = False, **kwargs) -> None:
    if not raw:  # fixtures load values as given
        user_emails_normalize(instance)


def normalize_user_document(sender, document: UserDocument, **kwargs) -> None:
    user_emails_normalize(document)


def release_serial(sender, instance: Release, raw: bool = False, **kwargs) -> None:
    if not raw:
        Package.objects.filter(pk=instance.package_id).serial_raise()


def file_serial(sender, instance: ReleaseFile, raw: bool = False, **kwargs) -> None:
    if not raw:
        package_ids = Release.objects.filter(pk=instance.release_id).values_list(
            "package_id", flat=True
        )
        if package_ids:
            Package.objects.filter(pk__in=list(package_ids)).serial_raise()


def release_document_changed(sender, document: ReleaseDocument, **kwargs) -> None:
    """A release document saved or deleted through MongoEngine (not the migration's bulk
    writes): its package's release summary and file parts, and the newest lists, follow."""
    if isinstance(document.package, str):
        db = ReleaseDocument._get_collection().database
        package_summaries_refresh(db, names=[document.package])
        package_files_refresh(names=[document.package], db=db)
    newest_lists_refresh()


def package_document_changed(sender, document: PackageDocument, **kwargs) -> None:
    """A package document saved or deleted through MongoEngine: the newest lists follow, and a
    new or deleted package gets or loses its file parts."""
    package_files_refresh(names=[document.name])
    newest_lists_refresh()


def package_changed(sender, instance: Package, **kwargs) -> None:
    live_sync_enqueue(packages=[instance.pk])


def release_changed(sender, instance: Release, **kwargs) -> None:
    # The package document summarizes its releases (latest, count).
    live_sync_enqueue(releases=[instance.pk], packages=[instance.package_id])


def file_changed(sender, instance: ReleaseFile, **kwargs) -> None:
    live_sync_enqueue(releases=[instance.release_id])


def maintainer_changed(sender, instance: Maintainer, **kwargs) -> None:
    live_sync_enqueue(packages=[instance.package_id])


def user_changed(sender, instance: User, **kwargs) -> None:
    # Package documents embed maintainers' usernames.
    packages = Maintainer.objects.filter(user_id=instance.pk).values_list("package_id", flat=True)
    live_sync_enqueue(users=[instance.pk], packages=packages if live_sync_enabled() else ())


def license_changed(sender, instance: License, **kwargs) -> None:
    if live_sync_enabled():
        # pre_delete for deletions: SET_NULL then updates the packages without signals.
        live_sync_enqueue(packages=instance.packages.values_list("pk", flat=True))


def classifier_changed(sender, instance: Classifier, **kwargs) -> None:
    if live_sync_enabled():
        live_sync_enqueue(packages=instance.packages.values_list("pk", flat=True))


def package_links_changed(sender, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    if not action.startswith("post_"):
        return
    if not reverse:
        live_sync_enqueue(packages=[instance.pk])
    elif pk_set:
        live_sync_enqueue(packages=pk_set)
    elif live_sync_enabled():  # post_clear from the other side: every linked package
        live_sync_enqueue(packages=instance.packages.values_list("pk", flat=True))


def rows_restored(sender, pks, **kwargs) -> None:
    """Rows a restore of a deletion recreated in bulk (no post_save): rebuild their documents
    and their packages' listings."""
    if not pks:
        return
    syncing = live_sync_enabled()
    if sender is Release:
        packages = set(Release.objects.filter(pk__in=pks).values_list("package_id", flat=True))
        listings_refresh_on_commit(packages=packages)
        if syncing:
            live_sync_enqueue(releases=pks, packages=packages)
    elif sender is ReleaseFile:
        releases = set(ReleaseFile.objects.filter(pk__in=pks).values_list("release_id", flat=True))
        listings_refresh_on_commit(releases=releases)
        if syncing:
            live_sync_enqueue(releases=releases)
    elif syncing and sender is Maintainer:
        packages = Maintainer.objects.filter(pk__in=pks).values_list("package_id", flat=True)
        live_sync_enqueue(packages=set(packages))
    elif syncing and sender is Package:
        live_sync_enqueue(packages=pks)
    elif syncing and sender is User:
        live_sync_enqueue(users=pks)


def listing_package_changed(sender, instance: Package, **kwargs) -> None:
    # The history's links hold the package's name.
    listings_refresh_on_commit(packages=[instance.pk])


def listing_release_changed(sender, instance: Release, **kwargs) -> None:
    listings_refresh_on_commit(packages=[instance.package_id])


def listing_file_changed(sender, instance: ReleaseFile, **kwargs) -> None:
    listings_refresh_on_commit(releases=[instance.release_id])


def connect() -> None:
    # Connected before the audit app's receivers (catalog comes first in
    # INSTALLED_APPS): the audit records the values the normalizers produce.
    pre_save.connect(normalize_user, sender=User, dispatch_uid="normalize-user-email")
    mongo_signals.pre_save.connect(normalize_user_document, sender=UserDocument)
    for signal in (mongo_signals.post_save, mongo_signals.post_delete):
        signal.connect(release_document_changed, sender=ReleaseDocument)
        signal.connect(package_document_changed, sender=PackageDocument)
    objects_restored.connect(rows_restored, dispatch_uid="catalog.live_sync.restored")
    receivers = [
        (package_changed, Package),
        (release_changed, Release),
        (file_changed, ReleaseFile),
        (maintainer_changed, Maintainer),
        (user_changed, User),
    ]
    for receiver, model in receivers:
        for signal in (post_save, post_delete):
            signal.connect(
                receiver,
                sender=model,
                dispatch_uid=f"catalog.live_sync.{signal_name(signal)}.{model.__name__}",
            )
    # last_serial: a change of a release or file is a change of its package.
    for receiver, model in ((release_serial, Release), (file_serial, ReleaseFile)):
        for signal in (post_save, post_delete):
            signal.connect(
                receiver,
                sender=model,
                dispatch_uid=f"catalog.serial.{signal_name(signal)}.{model.__name__}",
            )
    # The kept listings of large packages (catalog.services.listings).
    for receiver, model in (
        (listing_package_changed, Package),
        (listing_release_changed, Release),
        (listing_file_changed, ReleaseFile),
    ):
        for signal in (post_save, post_delete):
            signal.connect(
                receiver,
                sender=model,
                dispatch_uid=f"catalog.listings.{signal_name(signal)}.{model.__name__}",
            )
    for receiver, model in ((license_changed, License), (classifier_changed, Classifier)):
        post_save.connect(receiver, sender=model, dispatch_uid=f"catalog.live_sync.save.{model}")
        pre_delete.connect(
            receiver, sender=model, dispatch_uid=f"catalog.live_sync.pre_delete.{model}"
        )
    for through in (Package.classifiers.through, Package.maintainers.through):
        m2m_changed.connect(
            package_links_changed,
            sender=through,
            dispatch_uid=f"catalog.live_sync.m2m.{through.__name__}",
        )
    post_migrate.connect(
        counter_triggers_ensure,
        sender=apps.get_app_config("catalog"),
        dispatch_uid="catalog.counters.ensure",
    )
    post_migrate.connect(
        listing_triggers_after_migrate,
        sender=apps.get_app_config("catalog"),
        dispatch_uid="catalog.listings.ensure",
    )


def counter_triggers_ensure(sender, using: str = "default", **kwargs) -> None:
    """After a migrate: the row counters' triggers are all there (SQLite table rebuilds drop
    them; catalog.counters)."""
    triggers_ensure(using=using)


def listing_triggers_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """After a migrate: the triggers that count writes to releases and files are all there
    (catalog.listings)."""
    listing_triggers_ensure(using=using)


def signal_name(signal) -> str:
    return "save" if signal is post_save else "delete"
