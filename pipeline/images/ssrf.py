"""SSRF guard: a hostname is resolved once, every address is checked, and the caller connects
to a checked address (never to the name again, so DNS rebinding cannot swap it afterwards).

Page authors choose image URLs, and redirects can point anywhere: without this guard a crawl
worker could be made to read cloud metadata endpoints or internal services.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
SHARED_NETWORK = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
NAT64_NETWORK = ipaddress.ip_network("64:ff9b::/96")  # embeds an IPv4 address (RFC 6052)


class ResolveError(Exception):
    """The name did not resolve. ``transient`` when the resolver said "try again"."""

    def __init__(self, host: str, transient: bool) -> None:
        super().__init__(host)
        self.transient = transient


@dataclass(frozen=True)
class HostMapEntry:
    ip: str
    port: int | None  # None: keep the URL's port


def parse_networks(cidrs: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Allow-list CIDRs; a malformed one is misconfiguration and raises ValueError."""
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def parse_host_map(host_map: Mapping[str, str] | None) -> dict[str, HostMapEntry]:
    """``{"images.example.org": "127.0.0.1:8080"}`` → entries keyed by lower-case host.

    Values are IP literals with an optional port (``[::1]:8080`` for IPv6); anything else is
    misconfiguration and raises ValueError.
    """
    entries: dict[str, HostMapEntry] = {}
    for host, target in (host_map or {}).items():
        entries[host.lower().rstrip(".")] = _parse_map_target(target)
    return entries


def _parse_map_target(target: str) -> HostMapEntry:
    text = target.strip()
    if text.startswith("["):
        ip, _, rest = text[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else None
    elif text.count(":") == 1:
        ip, port_text = text.split(":")
        port = int(port_text)
    else:
        ip, port = text, None
    ipaddress.ip_address(ip)  # raises ValueError for a name: the map must say where to go
    return HostMapEntry(ip, port)


def resolve(host: str, port: int, host_map: Mapping[str, HostMapEntry]) -> list[tuple[str, int]]:
    """(ip, port) pairs for ``host``, in resolver order, without duplicates."""
    entry = host_map.get(host)
    if entry is not None:
        return [(entry.ip, entry.port or port)]
    if _is_ip_literal(host):
        return [(host, port)]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ResolveError(host, transient=e.errno == socket.EAI_AGAIN) from e
    except (UnicodeError, ValueError, OSError) as e:  # labels too long, NUL bytes...
        raise ResolveError(host, transient=False) from e
    addresses: list[tuple[str, int]] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = (str(sockaddr[0]).split("%")[0], port)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ResolveError(host, transient=False)
    return addresses


def forbidden_kind(ip: str, allow: Iterable[IPNetwork] = ()) -> str | None:
    """Why the address may not be contacted ("loopback", "metadata"...), None if it may."""
    address = ipaddress.ip_address(ip)
    if any(address in network for network in allow if network.version == address.version):
        return None
    address = _embedded_ipv4(address) or address
    if address in METADATA_ADDRESSES:
        return "metadata"
    for kind in ("loopback", "link_local", "unspecified", "multicast", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return kind
    if address.version == 4 and address in SHARED_NETWORK:
        return "shared"
    if not address.is_global:  # documentation, benchmarking and other special ranges
        return "not_global"
    return None


def first_forbidden(addresses: Iterable[tuple[str, int]], allow: Iterable[IPNetwork]) -> str | None:
    """The kind of the first forbidden address: one bad address taints the whole name,
    since a client cannot know which one a later connection would get."""
    networks = tuple(allow)
    for ip, _port in addresses:
        kind = forbidden_kind(ip, networks)
        if kind is not None:
            return kind
    return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 IPv6 address."""
    if address.version != 6:
        return None
    assert isinstance(address, ipaddress.IPv6Address)
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64_NETWORK:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
