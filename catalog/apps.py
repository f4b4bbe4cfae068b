from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # E-mail normalization, the package serial and the live sync into MongoDB
        # (its receivers check CATALOG_LIVE_SYNC when they run).
        from catalog import receivers

        receivers.connect()
