"""The read layer of the public site: one interface, two stores.

Each function picks its store per call from ``settings.CATALOG_READ_BACKEND``
(so a test can switch with ``override_settings``) and returns the plain
dataclasses of ``catalog.selectors.types``; views and templates never touch a
model or a document.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

from django.conf import settings

from catalog.selectors import mongo, sql, sql_search
from catalog.selectors.types import (
    HomePage,
    NotFound,
    PackageDetail,
    PackageJson,
    PackageListItem,
    ReleaseListItem,
    SearchPage,
    SearchQuery,
    SimpleIndexStamp,
    SimpleProject,
    UserProfile,
)

__all__ = [
    "NotFound",
    "backend_name",
    "catalog_home_get",
    "package_detail_get",
    "package_json_get",
    "package_releases_list",
    "package_search",
    "package_stamp",
    "packages_newest_list",
    "release_version_equivalent",
    "releases_newest_list",
    "simple_index_names",
    "simple_index_stamp",
    "simple_project_get",
    "user_profile_get",
]


def backend_name() -> str:
    return "mongo" if settings.CATALOG_READ_BACKEND == "mongo" else "sql"


def _backend() -> ModuleType:
    return mongo if backend_name() == "mongo" else sql


def catalog_home_get() -> HomePage:
    return _backend().catalog_home_get()


def package_search(*, query: SearchQuery) -> SearchPage:
    search = mongo.package_search if backend_name() == "mongo" else sql_search.package_search
    return search(query=query)


def package_detail_get(*, name: str, version: str | None = None) -> PackageDetail:
    return _backend().package_detail_get(name=name, version=version)


def package_json_get(*, name: str, version: str | None = None) -> PackageJson:
    return _backend().package_json_get(name=name, version=version)


def release_version_equivalent(*, name: str, version: str) -> str | None:
    return _backend().release_version_equivalent(name=name, version=version)


def user_profile_get(*, username: str) -> UserProfile:
    return _backend().user_profile_get(username=username)


def simple_index_names() -> Iterator[str]:
    return _backend().simple_index_names()


def simple_index_stamp() -> SimpleIndexStamp:
    return _backend().simple_index_stamp()


def simple_project_get(*, name: str, form: str = "html") -> SimpleProject:
    """A project's Simple page data, its files as ``form`` ("html" or "json") entries."""
    return _backend().simple_project_get(name=name, form=form)


def releases_newest_list(*, limit: int) -> list[ReleaseListItem]:
    return _backend().releases_newest_list(limit=limit)


def packages_newest_list(*, limit: int) -> list[PackageListItem]:
    return _backend().packages_newest_list(limit=limit)


def package_releases_list(
    *, name: str, limit: int
) -> tuple[PackageListItem, list[ReleaseListItem]]:
    return _backend().package_releases_list(name=name, limit=limit)


def package_stamp(*, name: str) -> str | None:
    return _backend().package_stamp(name=name)


def stamp_is_exact() -> bool:
    """Whether package_stamp sees every change (SQL) or only the package document's (mongo)."""
    return backend_name() == "sql"
