"""Behind a TLS reverse proxy: the client's address and scheme as the proxy saw them.

Only a request whose peer is one of `http.trusted_proxies` has its `X-Forwarded-For`
and `X-Forwarded-Proto` believed: anyone else could write them, to slip past the
login backoff of their address or to pass for HTTPS. In `X-Forwarded-For` the client
is the rightmost address that is not one of our proxies (each proxy appends the peer it
saw, so what lies left of that was written by the client)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Middleware

from dispatcher.web.auth import Handler

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def forwarded_middleware(trusted_proxies: Sequence[str]) -> Middleware:
    networks: tuple[Network, ...] = tuple(
        ipaddress.ip_network(n, strict=False) for n in trusted_proxies
    )

    def trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        return address is not None and any(address in n for n in networks)

    @web.middleware
    async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        peer = request.remote or ""
        if not networks or not trusted(_address(peer)):
            return await handler(request)
        client = peer
        hops = [h for v in request.headers.getall("X-Forwarded-For", ()) for h in v.split(",")]
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                break  # not an address: what is left of it cannot be believed either
            client = str(address)
            if not trusted(address):
                break
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
        scheme = proto if proto in ("http", "https") else request.scheme
        return await handler(request.clone(remote=client, scheme=scheme))

    return forwarded
