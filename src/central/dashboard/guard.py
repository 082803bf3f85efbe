"""Which requests the dashboard accepts, so a web page in the user's browser cannot drive the edge.

The dashboard listens on a loopback address without a login, like other local
developer UIs. Two browser attacks reach such a server anyway: another site's
page posting a form to it (cross-site request forgery: stop a module, change a
twin) and a site whose name is re-pointed at 127.0.0.1 reading it (DNS
rebinding). Requiring the Host to be an IP address or localhost stops the
second; requiring a browser's Origin on a POST to be the dashboard itself stops
the first. Clients that are not browsers send no Origin and are not affected.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def host_name(host: str) -> str | None:
    """The name in a Host header (`127.0.0.1:8080`, `[::1]:8080`, `localhost`), None if it does not parse."""
    try:
        return urlsplit("//" + host).hostname
    except ValueError:
        return None


def trusted_host(host: str) -> bool:
    """True for an IP address or localhost: names an attacker could point at the dashboard are refused."""
    name = host_name(host)
    if name is None:
        return False
    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def refusal(method: str, host: str, scheme: str, origin: str | None) -> str | None:
    """Why the request is refused, or None to serve it."""
    if not trusted_host(host):
        return f"the dashboard answers only to an IP address or localhost, not {host!r}"
    if method.upper() not in SAFE_METHODS and origin is not None and origin != f"{scheme}://{host}":
        return f"a {method.upper()} from {origin!r} is not from this dashboard"
    return None
