from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit import checks, normalize, receivers  # noqa: F401 - checks registers itself

        # Normalizers first: the audit records the normalized values they produce.
        normalize.connect()
        receivers.connect_all()
