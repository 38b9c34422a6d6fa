"""Where the http source may connect: no cloud metadata, no loopback or private networks.

A search is written by a user, so its URL is untrusted: without this check a search
could read ``http://169.254.169.254/`` (cloud credentials) or poke services on the
bot's own host. The rules, checked for every hop of a redirect and again against the
address actually connected to (so a DNS answer that changes between the check and the
connection cannot slip through):

1. a host or address on the deny list is always refused (metadata endpoints are on
   it by default, plus ``settings.http_deny_hosts`` when present);
2. when ``settings.http_allow_hosts`` is set, only hosts on it may be reached;
3. otherwise every resolved address must be globally routable: loopback, private,
   link-local, shared (CGNAT), multicast, reserved and unspecified addresses are
   refused unless the host is on the allow list (or ``http_deny_private`` is off).

Allow and deny entries are host names (``api.example.com``), suffixes
(``*.example.com`` or ``.example.com``), addresses or networks (``10.1.0.0/16``).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud metadata services (AWS, GCP, Azure, Alibaba, Oracle, AWS IPv6).
DEFAULT_DENY = (
    "169.254.169.254",
    "169.254.170.2",
    "100.100.100.200",
    "192.0.0.192",
    "fd00:ec2::254",
    "metadata.google.internal",
    "metadata",
)


class ForbiddenHost(Exception):
    """The destination is not allowed; the message says why and how to allow it."""


@dataclass(frozen=True)
class HostRules:
    names: frozenset[str]
    suffixes: tuple[str, ...]
    networks: tuple[IPNetwork, ...]

    @classmethod
    def parse(cls, entries: Iterable[str]) -> HostRules:
        names: set[str] = set()
        suffixes: list[str] = []
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower().strip("[]")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if entry.startswith("*.") or entry.startswith("."):
                suffixes.append("." + entry.lstrip("*."))
            else:
                names.add(entry.rstrip("."))
        return cls(frozenset(names), tuple(suffixes), tuple(networks))

    def __bool__(self) -> bool:
        return bool(self.names or self.suffixes or self.networks)

    def match_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return host in self.names or any(host.endswith(s) for s in self.suffixes)

    def match_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


@dataclass(frozen=True)
class HostPolicy:
    allow: HostRules
    deny: HostRules
    deny_private: bool = True

    @classmethod
    def from_settings(cls, settings: Any) -> HostPolicy:
        allow = getattr(settings, "http_allow_hosts", ()) or ()
        deny = tuple(getattr(settings, "http_deny_hosts", ()) or ())
        deny_private = bool(getattr(settings, "http_deny_private", True))
        return cls(HostRules.parse(allow), HostRules.parse(DEFAULT_DENY + deny), deny_private)

    def check(self, host: str, port: int) -> list[IPAddress]:
        """The addresses ``host`` resolves to, if every one may be reached; else ForbiddenHost."""
        if not host:
            raise ForbiddenHost("the URL has no host")
        if self.deny.match_host(host):
            raise ForbiddenHost(f"host {host} is on the deny list")
        addresses = resolve(host, port)
        for address in addresses:
            self.check_address(host, address)
        return addresses

    def check_address(self, host: str, address: IPAddress) -> None:
        """Refuse one resolved (or actually connected) address of ``host``."""
        address = _unmapped(address)
        if self.deny.match_address(address):
            raise ForbiddenHost(f"host {host} ({address}) is on the deny list")
        allowed = self.allow.match_host(host) or self.allow.match_address(address)
        if self.allow and not allowed:
            raise ForbiddenHost(f"host {host} ({address}) is not in HTTP_SOURCE_ALLOW_HOSTS")
        if self.deny_private and not allowed and is_internal(address):
            raise ForbiddenHost(
                f"host {host} resolves to {address}, a loopback, private, link-local or "
                "reserved address; add it to HTTP_SOURCE_ALLOW_HOSTS to allow it"
            )


def is_internal(address: IPAddress) -> bool:
    """Anything not globally routable (loopback, private, link-local, CGNAT, reserved...)."""
    address = _unmapped(address)
    return not address.is_global or address.is_multicast


def resolve(host: str, port: int) -> list[IPAddress]:
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OSError(f"cannot resolve host {host}: {exc}") from None
    addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    return sorted(addresses, key=str)


def literal_address(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is one (``[::1]`` too), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _unmapped(address: IPAddress) -> IPAddress:
    # ::ffff:127.0.0.1 is 127.0.0.1 in disguise.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
