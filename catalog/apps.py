from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Live sync into MongoDB (receivers check CATALOG_LIVE_SYNC when they run).
        from catalog import signals

        signals.connect()
