from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # --- public site (issue 4) ---
    path("", include("catalog.urls")),
]

# Friendly 404s: a page for people, text under /simple/, JSON under /pypi/.
handler404 = "catalog.views.page_not_found"
