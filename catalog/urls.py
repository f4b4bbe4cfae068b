from django.urls import path

from catalog import feeds, views

app_name = "catalog"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("search/", views.search, name="search"),
    path("project/<str:name>/", views.package, name="package"),
    path("project/<str:name>/<str:version>/", views.release, name="release"),
    path("user/<str:username>/", views.user, name="user"),
    path("pypi/<str:name>/json", views.package_json, name="json_package"),
    path("pypi/<str:name>/<str:version>/json", views.package_json, name="json_release"),
    path("simple/", views.simple_index, name="simple_index"),
    path("simple/<str:name>/", views.simple_project, name="simple_project"),
    path("rss/updates.xml", feeds.NewestReleasesFeed(), name="feed_releases"),
    path("rss/packages.xml", feeds.NewestPackagesFeed(), name="feed_packages"),
    path("rss/project/<str:name>/releases.xml", feeds.PackageReleasesFeed(), name="feed_package"),
]
