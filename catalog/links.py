"""Links built from package data: only http(s) URLs become links, and our own
URLs are reversed in a way that cannot fail.

Package data (home pages, project URLs, file URLs, names, versions) comes from
imports and from rows written before anything validated them. A
``javascript:`` or ``data:`` URL rendered as ``href`` runs script in the
site's origin when clicked, and a name or version holding ``/`` makes
``reverse()`` raise ``NoReverseMatch``, which would take down every page that
lists the package. Templates use the filters in
``catalog/templatetags/catalog_links.py``; views and feeds call these
functions directly.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import format_html
from django.utils.http import RFC3986_SUBDELIMS

SAFE_SCHEMES = frozenset({"http", "https"})
# Control characters, space, DEL and any other whitespace (``\s`` is str.isspace()).
_NOT_IN_URL = re.compile(r"[\x00-\x20\x7f]|\s")
LINK_URL_MAX_LENGTH = 2048


def http_url(value: object) -> str:
    """``value`` if it is an absolute http(s) URL safe to put in ``href``, else ""."""
    if not isinstance(value, str) or not value or len(value) > LINK_URL_MAX_LENGTH:
        return ""
    # Browsers drop tabs and newlines inside a URL and strip leading control
    # characters and spaces ("java\tscript:" is javascript:): a URL holding any
    # of them, or any other whitespace, is not a link.
    if _NOT_IN_URL.search(value):
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an invalid IPv6 literal
        return ""
    if parts.scheme.lower() not in SAFE_SCHEMES or not parts.netloc:
        return ""
    return value


def external_link(url: object, label: object = None, *, rel: str = "nofollow") -> str:
    """An ``<a>`` for an http(s) URL; anything else as plain (escaped) text."""
    text = url if label is None or label == "" else label
    safe = http_url(url)
    if not safe:
        if label is None or label == "" or url is None or url == "":
            return format_html("{}", "" if text is None else text)
        return format_html("{} ({})", label, url)
    if rel:
        return format_html('<a href="{}" rel="{}">{}</a>', safe, rel, text)
    return format_html('<a href="{}">{}</a>', safe, text)


# What reverse() leaves unquoted in a path (RFC 3986 pchar).
_PATH_SAFE = RFC3986_SUBDELIMS + "/~:@"


@functools.lru_cache(maxsize=64)
def _path_template(viewname: str, arity: int, prefix: str, urlconf: str) -> tuple[str, ...]:
    """The reversed path of ``viewname`` split around its ``arity`` arguments.

    Kept per script prefix and URLconf (the key's other parts), as reverse() depends on them.
    """
    tokens = [f"arg{index}placeholder" for index in range(arity)]
    parts = [reverse(viewname, args=tokens)]
    for token in tokens:
        parts[-1:] = parts[-1].split(token, 1)
    return tuple(parts)


def path_for(viewname: str, *args: object) -> str:
    """``reverse(viewname, args=args)`` that never raises for odd arguments.

    A stored name or version holding ``/`` (or nothing at all) matches no URL
    pattern; it is then percent-encoded in full, so the page that lists it
    still renders and the link leads to a 404 rather than the page to a 500.
    Our routes take ``str`` arguments (anything but ``/``), so a path is the
    route's reversed text with each argument quoted as reverse() quotes it:
    built from a template kept per route, without resolving each time (a page
    lists dozens of links).
    """
    texts = [str(arg) for arg in args]
    if all(texts) and not any("/" in text for text in texts):
        urlconf = str(get_urlconf() or settings.ROOT_URLCONF)
        parts = _path_template(viewname, len(texts), get_script_prefix(), urlconf)
        path = parts[0]
        for text, part in zip(texts, parts[1:], strict=True):
            path += quote(text, safe=_PATH_SAFE) + part
        return path
    try:
        return reverse(viewname, args=texts)
    except NoReverseMatch:
        pass
    tokens = [f"arg{index}placeholder" for index in range(len(texts))]
    path = reverse(viewname, args=tokens)
    for token, text in zip(tokens, texts, strict=True):
        path = path.replace(token, quote(text, safe=""), 1)
    return path
