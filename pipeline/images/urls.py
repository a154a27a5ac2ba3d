"""Image URLs → the parts a request needs, or None when the URL cannot be fetched (bad_url)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters with a meaning in a path or query stay as they are (and so do existing %XX
# escapes); spaces, non-ASCII and control characters are escaped the way browsers do, since
# http.client refuses them outright.
_SAFE_CHARS = "!#$%&'()*+,/:;=?@[]~"


@dataclass(frozen=True)
class Target:
    """One fetchable URL: where to connect and what to ask for."""

    scheme: str  # "http" | "https"
    host: str  # lower case, IDNA (ASCII), IPv6 without brackets
    port: int
    path: str  # path + query, escaped, never empty

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The canonical URL: compared for redirect loops, sent to a proxy."""
        return f"{self.scheme}://{self.host_header}{self.path}"


def parse_target(url: object) -> Target | None:
    """Parse an absolute http(s) URL; None for anything else (data:, relative, garbage)."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            return None
        host = _ascii_host(parts.hostname)
        port = DEFAULT_PORTS[scheme] if parts.port is None else parts.port
    except (ValueError, UnicodeError):  # bad port, bad IPv6 literal, un-encodable IDN
        return None
    if host is None or port == 0:
        return None
    path = quote(parts.path or "/", safe=_SAFE_CHARS)
    if parts.query:
        path += "?" + quote(parts.query, safe=_SAFE_CHARS)
    return Target(scheme, host, port, path)


def _ascii_host(hostname: str) -> str | None:
    """IDNA-encoded lower-case host; None when it holds characters no host can have."""
    host = hostname.rstrip(".").lower()
    if not host:
        return None
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
    if any(c.isspace() or c in "/\\?#@%<>\"'`{}|^" for c in host) or not host.isprintable():
        return None
    return host
