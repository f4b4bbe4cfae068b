from django.contrib.admin.apps import AdminConfig


class PyindexAdminConfig(AdminConfig):
    """django.contrib.admin with the project's site as ``admin.site``."""

    default_site = "project.admin.PyindexAdminSite"
