from django.urls import path

from catalog.views import api, feeds, pages, simple

app_name = "catalog"

urlpatterns = [
    path("", pages.home, name="home"),
    path("healthz", pages.healthz, name="healthz"),
    path("search/", pages.search, name="search"),
    path("project/<str:name>/", pages.package, name="package"),
    path("project/<str:name>/<str:version>/", pages.release, name="release"),
    path("user/<str:username>/", pages.user, name="user"),
    path("pypi/<str:name>/json", api.package_json, name="json_package"),
    path("pypi/<str:name>/<str:version>/json", api.package_json, name="json_release"),
    path("simple/", simple.simple_index, name="simple_index"),
    path("simple/<str:name>/", simple.simple_project, name="simple_project"),
    path("rss/updates.xml", feeds.NewestReleasesFeed(), name="feed_releases"),
    path("rss/packages.xml", feeds.NewestPackagesFeed(), name="feed_packages"),
    path("rss/project/<str:name>/releases.xml", feeds.PackageReleasesFeed(), name="feed_package"),
]
