from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit import normalize, receivers

        # Normalizers first: the audit records the normalized values they produce.
        normalize.connect()
        receivers.connect_all()
