"""Live-sync receivers: say which documents a relational write affects.

Connected in ``CatalogConfig.ready()``. They only queue primary keys; the
documents are rebuilt after the transaction commits (``catalog.services.sync``).
Writes that bypass signals (``QuerySet.update``, ``bulk_create``) are picked up
by the next incremental ``migrate_to_mongo`` run.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

from catalog.models import Classifier, License, Maintainer, Package, Release, ReleaseFile, User
from catalog.services.sync import live_sync_enabled, live_sync_enqueue

# Writers that set the serial themselves (import_pypi) turn the per-row bump off.
_serial_managed: ContextVar[bool] = ContextVar("catalog_serial_managed", default=False)


@contextmanager
def serial_managed():
    """Within this block, release and file writes do not raise their package's serial."""
    token = _serial_managed.set(True)
    try:
        yield
    finally:
        _serial_managed.reset(token)


def raise_serial(package_ids) -> None:
    """Raise these packages' last_serial by one (unless a writer manages it)."""
    if package_ids and not _serial_managed.get():
        # `updated` stays: the incremental migration refreshes the package
        # document through the changed release or file row (its dependents).
        Package.objects.filter(pk__in=list(package_ids)).update(last_serial=F("last_serial") + 1)


def release_serial(sender, instance: Release, raw: bool = False, **kwargs) -> None:
    if not raw:
        raise_serial([instance.package_id])


def file_serial(sender, instance: ReleaseFile, raw: bool = False, **kwargs) -> None:
    if not raw:
        raise_serial(
            Release.objects.filter(pk=instance.release_id).values_list("package_id", flat=True)
        )


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
    """Rows a restore of a deletion recreated in bulk (no post_save): rebuild their documents."""
    if not live_sync_enabled() or not pks:
        return
    if sender is Release:
        packages = Release.objects.filter(pk__in=pks).values_list("package_id", flat=True)
        live_sync_enqueue(releases=pks, packages=set(packages))
    elif sender is ReleaseFile:
        releases = ReleaseFile.objects.filter(pk__in=pks).values_list("release_id", flat=True)
        live_sync_enqueue(releases=set(releases))
    elif sender is Maintainer:
        packages = Maintainer.objects.filter(pk__in=pks).values_list("package_id", flat=True)
        live_sync_enqueue(packages=set(packages))
    elif sender is Package:
        live_sync_enqueue(packages=pks)
    elif sender is User:
        live_sync_enqueue(users=pks)


def connect() -> None:
    from audit.signals import objects_restored

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


def signal_name(signal) -> str:
    return "save" if signal is post_save else "delete"
