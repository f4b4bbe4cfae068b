"""Template side of ``catalog.links``: the one place templates turn package data into links.

``{{ url|http_url }}`` is the URL when it is http(s), else ""; ``{% external_link
url label %}`` is an ``<a>`` or plain text; ``{% route 'catalog:package' name %}``
is ``{% url %}`` that cannot fail on a stored name or version holding ``/``.
"""

from __future__ import annotations

from django import template

from catalog import links

register = template.Library()


@register.filter(name="http_url")
def http_url(value: object) -> str:
    return links.http_url(value)


@register.simple_tag(name="external_link")
def external_link(url: object, label: object = None, rel: str = "nofollow") -> str:
    return links.external_link(url, label, rel=rel)


@register.simple_tag(name="route")
def route(viewname: str, *args: object) -> str:
    return links.path_for(viewname, *args)
