"""Create the development superuser used by scripts/run, if it is missing."""

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from audit.context import AuditedCommand


class Command(AuditedCommand):
    help = "Create a staff superuser (ADMIN_USERNAME / ADMIN_PASSWORD) unless it already exists."

    def handle(self, *args, **options):
        username = os.environ.get("ADMIN_USERNAME", "admin")
        password = os.environ.get("ADMIN_PASSWORD")
        if not password:
            if not settings.DEBUG:
                raise CommandError("ADMIN_PASSWORD must be set when DEBUG is off.")
            password = "admin"  # noqa: S105 - development default, DEBUG only
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"Superuser {username!r} already exists.")
            return
        User.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(f"Created superuser {username!r} (password from ADMIN_PASSWORD).")
