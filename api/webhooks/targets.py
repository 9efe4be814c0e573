"""A webhook's target: checked when it is set and again at every delivery (SSRF).

Only `http` and `https`, no user info in the URL. The host name is resolved and every address it
resolves to must be public (not loopback, private, link-local, shared, reserved, multicast or
unspecified) unless `MILESTONES_WEBHOOK_ALLOW_PRIVATE` allows them; the delivery then connects
to the address that was checked (TLS still verifies the certificate against the host name), so
a name that resolves to a public address at the check and a private one at the connect (DNS
rebinding) reaches nothing private. Redirects are not followed (`http.client` never does) and
at most `RESPONSE_MAX` bytes of a response body are read.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

RESPONSE_MAX = 4096  # bytes of a receiver's answer kept (and read)
URL_MAX = 2000

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefusedError(ValueError):
    """The URL is not one the service may deliver to; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line

    @classmethod
    def parse(cls, url: str) -> Target:
        """The target of `url`, or `TargetRefusedError` (not http(s), no host, user info...)."""
        if not 1 <= len(url) <= URL_MAX:
            raise TargetRefusedError(f"the URL has 1 to {URL_MAX} characters")
        if any(ord(c) <= 32 or ord(c) == 127 for c in url):
            raise TargetRefusedError("the URL contains spaces or control characters")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as error:
            raise TargetRefusedError(f"the URL is malformed: {error}") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise TargetRefusedError("only http and https URLs are delivered to")
        if parts.username is not None or parts.password is not None:
            raise TargetRefusedError("the URL may not carry a user name or password")
        if not parts.hostname:
            raise TargetRefusedError("the URL names no host")
        if parts.fragment:
            raise TargetRefusedError("the URL may not carry a fragment")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default = 443 if scheme == "https" else 80
        return cls(scheme, parts.hostname, port or default, path)


def refused_reason(address: Address) -> str | None:
    """Why an address is not delivered to (unless private targets are allowed), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.is_site_local:  # fec0::/10: deprecated, still routed inside some sites
            return "site-local"
        # The IPv4 address an IPv6 one carries (mapped, 6to4 2002::/16, Teredo's client) is
        # where it may end up: judged as that address.
        carried = (
            address.ipv4_mapped
            or address.sixtofour
            or (address.teredo[1] if address.teredo else None)
        )
        if carried is not None:
            address = carried
    for kind, hit in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if hit:
            return kind
    if not address.is_global:
        return "not global"
    return None


def resolve(target: Target, allow_private: bool) -> list[Address]:
    """The addresses the target's host resolves to, every one of them allowed; else
    `TargetRefusedError` naming the first refused one."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise TargetRefusedError(f"{target.host} does not resolve: {error}") from None
    addresses: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TargetRefusedError(f"{target.host} does not resolve")
    if not allow_private:
        for address in addresses:
            reason = refused_reason(address)
            if reason is not None:
                raise TargetRefusedError(
                    f"{target.host} resolves to {address}, a {reason} address; private "
                    "targets are refused (MILESTONES_WEBHOOK_ALLOW_PRIVATE allows them)"
                )
    return addresses


def check(url: str, allow_private: bool) -> Target:
    """The target of `url` if the service may deliver to it now, else `TargetRefusedError`."""
    target = Target.parse(url)
    resolve(target, allow_private)
    return target


@dataclass(frozen=True)
class Answer:
    status: int
    latency_ms: int
    body: bytes


class DeliveryError(Exception):
    """The POST did not get an answer (refused target, connection error, timeout)."""

    def __init__(self, reason: str, latency_ms: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.latency_ms = latency_ms


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the checked address; the Host header still names the host."""

    def __init__(self, host: str, port: int, address: Address, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self._address), self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """Connects to the checked address; SNI and the certificate check use the host name."""

    def __init__(
        self, host: str, port: int, address: Address, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((str(self._address), self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    allow_private: bool,
    context: ssl.SSLContext | None = None,
) -> Answer:
    """POST `body` to `url` after checking it; the answer's status and its first
    `RESPONSE_MAX` bytes. `DeliveryError` when there is no answer."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = Target.parse(url)
        address = resolve(target, allow_private)[0]
    except TargetRefusedError as error:
        raise DeliveryError(f"target refused: {error}", elapsed()) from None
    conn: http.client.HTTPConnection
    if target.scheme == "https":
        tls = context or ssl.create_default_context()
        conn = _PinnedHTTPS(target.host, target.port, address, timeout, tls)
    else:
        conn = _PinnedHTTP(target.host, target.port, address, timeout)
    try:
        conn.request(
            "POST",
            target.path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "milestone-ledger-webhooks/1",
                **headers,
            },
        )
        response = conn.getresponse()
        kept = response.read(RESPONSE_MAX)
        return Answer(response.status, elapsed(), kept)
    except (OSError, http.client.HTTPException) as error:
        raise DeliveryError(f"{type(error).__name__}: {error}"[:500], elapsed()) from None
    finally:
        conn.close()
