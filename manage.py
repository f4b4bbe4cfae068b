#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    from django.core.management import execute_from_command_line
    from pymongo.errors import ServerSelectionTimeoutError

    try:
        execute_from_command_line(sys.argv)
    except ServerSelectionTimeoutError:
        from django.conf import settings

        if not settings.MONGODB_LOCAL:
            raise
        # The default URI and nothing listening: say how to start it, at once
        # (the local URI's server selection gives up after a second).
        from project.local_mongo import START_COMMAND

        sys.stderr.write(
            f"error: no MongoDB server answers at {settings.MONGODB_URI}.\n"
            f"Start this checkout's local server with `{START_COMMAND}` (scripts/run does), "
            "or set MONGODB_URI to a MongoDB server.\n"
        )
        sys.exit(2)


if __name__ == "__main__":
    main()
