"""A Content-Security-Policy on every response (Django 5.2 has none built in).

The policy allows scripts and styles only from the site itself: no inline
script, no ``eval``, no plugins, no framing, and forms post only here. Package
descriptions are sanitized already (readme_renderer); the policy is the second
wall should a script ever get through, since it would run in the site's origin.
Images may come from any https host because descriptions show badges and
screenshots hosted elsewhere, as on PyPI.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy and HEADER not in response:
            response[HEADER] = self.policy
        return response
