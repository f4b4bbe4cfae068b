"""Give every request an audit context: the user, the client address, a correlation id.

The client address is ``REMOTE_ADDR`` unless the connection comes from a
trusted proxy (``AUDIT_TRUSTED_PROXIES``: addresses or networks). Then
``X-Forwarded-For`` is read from the right, skipping trusted proxies, and the
first untrusted address is the client: a client cannot forge its address by
sending its own header, because only hops appended by our proxies are
believed. A trusted proxy may also pass its request id (``X-Request-ID``),
which becomes the correlation id; the response carries it back as
``X-Correlation-ID``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from audit.context import new_correlation_id, request_context

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def parse_networks(values: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip()]


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def client_address(request: HttpRequest, trusted: list[Network]) -> str | None:
    """The client's address, believing forwarded headers only from trusted proxies."""
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    if peer is None:
        return None

    def is_trusted(addr) -> bool:
        return any(addr in net for net in trusted)

    if not is_trusted(peer):
        return peer.compressed
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    client = peer
    for hop in reversed(hops):
        addr = _address(hop)
        if addr is None:
            break  # garbage: stop at the last address we could vouch for
        client = addr
        if not is_trusted(addr):
            break
    return client.compressed


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.trusted = parse_networks(getattr(settings, "AUDIT_TRUSTED_PROXIES", []))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        correlation_id = self._correlation_id(request)
        with request_context(
            # request.user costs a query: resolved only if this request writes.
            user_loader=lambda: getattr(request, "user", None),
            remote_addr=client_address(request, self.trusted),
            correlation_id=correlation_id,
        ):
            response = self.get_response(request)
        response["X-Correlation-ID"] = correlation_id
        return response

    def _correlation_id(self, request: HttpRequest) -> str:
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        peer = _address(request.META.get("REMOTE_ADDR", ""))
        if given and peer and any(peer in n for n in self.trusted) and _REQUEST_ID.match(given):
            return given
        return new_correlation_id()
