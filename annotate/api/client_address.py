"""The client's address: REMOTE_ADDR, or what a trusted reverse proxy says it is.

X-Forwarded-For is honoured only when the peer is one of NEURONJUDGE_TRUSTED_PROXIES, since
anyone else can write the header. Each proxy appends the address it saw, so the client is
the right-most entry that is not itself a trusted proxy; entries left of it are the
client's own claims and are ignored.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.NEURONJUDGE_TRUSTED_PROXIES)


def client_address(request) -> str:
    address = request.META.get("REMOTE_ADDR") or "unknown"
    if not _is_trusted(address):
        return address
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
        if not _is_trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return address  # malformed: the proxy's own address is all we know
        address = hop
    return address
