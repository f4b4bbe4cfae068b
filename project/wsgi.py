import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
application = get_wsgi_application()

# --- embedded MongoDB store ---------------------------------------------------
# The in-process store starts empty in every server process (runserver and
# gunicorn both load this module): fill it from SQL before serving.
from catalog.services.sync import embedded_store_fill  # noqa: E402

embedded_store_fill()
