from django.contrib import admin
from django.urls import include, path

from catalog import mongo_admin

urlpatterns = [
    # Before admin/: the Django admin would take "mongo/" for an app label.
    path("admin/mongo/", mongo_admin.site.urls),
    path("admin/", admin.site.urls),
    # --- public site (issue 4) ---
    path("", include("catalog.urls")),
]

# Friendly 404s: a page for people, text under /simple/, JSON under /pypi/.
handler404 = "catalog.views.responses.page_not_found"
