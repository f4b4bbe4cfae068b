"""RSS feeds: the newest releases, the newest packages, and one package's releases.

Text from package data goes through ``xml_text``: a summary or name holding a
control character (possible in rows written before import validation) would
otherwise make Django's feed writer raise, and the whole feed answer 500.
"""

from __future__ import annotations

import re

from django.contrib.syndication.views import Feed
from django.http import Http404
from django.urls import reverse

from catalog import selectors
from catalog.links import path_for
from catalog.selectors.types import FEED_LENGTH, PackageListItem, ReleaseListItem
from catalog.versions import canonicalize_name

# Characters XML 1.0 cannot hold (its Char production), lone surrogates included.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str | None) -> str:
    """``value`` without the characters an XML 1.0 document cannot contain."""
    return _NOT_XML.sub("", value or "")


class NewestReleasesFeed(Feed):
    title = "pyindex: newest releases"
    description = "The newest releases in the catalog."

    def link(self) -> str:
        return reverse("catalog:home")

    def items(self) -> list[ReleaseListItem]:
        return selectors.releases_newest_list(limit=FEED_LENGTH)

    def item_title(self, item: ReleaseListItem) -> str:
        return xml_text(f"{item.display_name} {item.version}")

    def item_description(self, item: ReleaseListItem) -> str:
        return xml_text(item.summary)

    def item_link(self, item: ReleaseListItem) -> str:
        return path_for("catalog:release", item.package, item.version)

    def item_pubdate(self, item: ReleaseListItem):
        return item.created


class NewestPackagesFeed(Feed):
    title = "pyindex: newest packages"
    description = "The packages most recently added to the catalog."

    def link(self) -> str:
        return reverse("catalog:home")

    def items(self) -> list[PackageListItem]:
        return selectors.packages_newest_list(limit=FEED_LENGTH)

    def item_title(self, item: PackageListItem) -> str:
        return xml_text(f"{item.display_name} added to pyindex")

    def item_description(self, item: PackageListItem) -> str:
        return xml_text(item.summary)

    def item_link(self, item: PackageListItem) -> str:
        return path_for("catalog:package", item.name)

    def item_pubdate(self, item: PackageListItem):
        return item.created


class PackageReleasesFeed(Feed):
    def get_object(self, request, name: str):
        try:
            return selectors.package_releases_list(name=canonicalize_name(name), limit=FEED_LENGTH)
        except selectors.NotFound as exc:
            raise Http404(str(exc)) from None

    def title(self, obj) -> str:
        return xml_text(f"pyindex: newest releases of {obj[0].display_name}")

    def link(self, obj) -> str:
        return path_for("catalog:package", obj[0].name)

    def description(self, obj) -> str:
        return xml_text(obj[0].summary or f"Releases of {obj[0].display_name}.")

    def items(self, obj) -> list[ReleaseListItem]:
        return obj[1]

    def item_title(self, item: ReleaseListItem) -> str:
        return xml_text(f"{item.display_name} {item.version}")

    def item_description(self, item: ReleaseListItem) -> str:
        return xml_text(item.summary)

    def item_link(self, item: ReleaseListItem) -> str:
        return path_for("catalog:release", item.package, item.version)

    def item_pubdate(self, item: ReleaseListItem):
        return item.created
