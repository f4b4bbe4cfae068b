"""Refuse requests whose address holds a NUL character, before any view runs.

PostgreSQL cannot store or compare a string holding NUL (psycopg2 raises
``ValueError`` for the literal), so ``/project/x%00y/`` would reach a query and
answer 500 on every view that looks a name up. No name, version, username or
search text can hold one (import validation refuses it), so such a request
names nothing: it is a 400 for the whole site. A percent-encoded lone
surrogate (undecodable UTF-8 becomes U+FFFD in Django, so only NUL can get
through decoding) needs nothing here.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest


class RejectNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path_info or _query_has_nul(request):
            return HttpResponseBadRequest(
                "400 Bad Request: the address contains a NUL character.\n",
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


def _query_has_nul(request: HttpRequest) -> bool:
    # The raw query: "%00" is how a NUL arrives; decoding every parameter would
    # make each request pay for parsing it (Django parses GET lazily anyway).
    raw = request.META.get("QUERY_STRING", "")
    if "%00" not in raw and "\x00" not in raw:
        return False
    return any(
        "\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists()
    )
