"""Fetching a linked file from the public internet only, bounded in size and time.

A link given by an editor is fetched by the portal, so it must not become a way
to read the portal's own services (Solr, Redis, PostgreSQL, a cloud metadata
endpoint) or to scan ports. Here:

- only http and https are fetched;
- the host is resolved and every address it resolves to must be public: no
  loopback, private, shared, link-local, multicast, reserved or unspecified
  address, in IPv4 or IPv6, including IPv4 addresses embedded in IPv6 ones
  (IPv4-mapped, 6to4, Teredo, NAT64);
- the connection goes to the address that was checked (a second DNS answer
  cannot swap it), and TLS still checks the certificate against the host name;
- redirects are followed here, each one checked the same way, a few at most;
- the whole download has one deadline, not only a per-read timeout, and a size cap.

Failures are FetchError with a code; nothing the server sent is kept in them.
`allowed_networks` lets an intranet (or a test server on 127.0.0.1) be fetched:
it names address ranges, never host names, so DNS cannot widen it.

Nothing here knows about CKAN: the check process (check_process.py) calls it
with the portal's settings.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

SCHEMES = ("http", "https")
REDIRECTS = (301, 302, 303, 307, 308)
CHUNK = 64 * 1024
USER_AGENT = "ckanext-mel link check"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# NAT64 prefixes (RFC 6052, RFC 8215): the IPv4 address is in the last 32 bits.
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class FetchError(Exception):
    """A link that was not fetched; `code` says why, `params` add what a reader needs."""

    def __init__(self, code: str, **params: object):
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Policy:
    max_bytes: int
    deadline: float = 30.0  # seconds for the whole download, redirects included
    max_redirects: int = 3
    allowed_networks: tuple[Network, ...] = field(default_factory=tuple)


@dataclass
class Fetched:
    content: bytes
    url: str  # after redirects
    redirects: int


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Address ranges from the configuration ("127.0.0.1/32", "10.20.0.0/16"); ValueError if one is wrong."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values if value.strip())


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries, if it is of a form that carries one."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in prefix for prefix in NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    # IPv4-compatible (::a.b.c.d, deprecated) addresses
    if int(address) >> 32 == 0 and int(address) > 0xFFFF:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: Address) -> bool:
    """Whether an address is on the public internet (and so may be fetched)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)  # the IPv4 address itself, over a dual-stack socket
    inner = embedded_ipv4(address)
    if inner is not None and not is_public(inner):
        return False
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
        or not address.is_global
    )


def allowed(address: Address, networks: Sequence[Network]) -> bool:
    inner = embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    for candidate in (address, inner):
        if candidate is not None and any(candidate in network for network in networks):
            return True
    return is_public(address)


def check_url(url: str) -> tuple[str, str, int]:
    """The scheme, host and port of a link that may be fetched (FetchError otherwise)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise FetchError("bad-url") from error
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise FetchError("scheme", scheme=scheme or "?")
    if not parts.hostname:
        raise FetchError("bad-url")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def resolve(host: str, port: int, networks: Sequence[Network]) -> Address:
    """The address to connect to; every address the host has must be allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchError("dns", host=host) from error
    addresses = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if not allowed(address, networks):
            raise FetchError("address", host=host)
        addresses.append(address)
    if not addresses:
        raise FetchError("dns", host=host)
    return addresses[0]


class _Deadline:
    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds
        self.seconds = seconds

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise FetchError("timeout", seconds=self.seconds)
        return left


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP connection to an address checked beforehand, whatever DNS says later."""

    def __init__(self, host: str, port: int, address: Address, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address
        # The socket, kept here: http.client forgets it once the response owns it.
        self.pinned: socket.socket | None = None

    def connect(self) -> None:
        self.sock = self.pinned = socket.create_connection((str(self.address), self.port), self.timeout)

    def read_timeout(self, seconds: float) -> None:
        """Bound the next read of the response (its socket is ours until the connection closes)."""
        if self.pinned is None:
            raise RuntimeError("read_timeout before connect")
        self.pinned.settimeout(seconds)


class _PinnedTLSConnection(_PinnedConnection):
    default_port = 443

    def connect(self) -> None:
        super().connect()
        context = ssl.create_default_context()
        self.sock = self.pinned = context.wrap_socket(self.sock, server_hostname=self.host)


def fetch(url: str, policy: Policy) -> Fetched:
    """The body of a 200 answer to url, within the policy's deadline and size (FetchError otherwise)."""
    deadline = _Deadline(policy.deadline)
    for redirects in range(policy.max_redirects + 1):
        scheme, host, port = check_url(url)
        address = resolve(host, port, policy.allowed_networks)
        connection_class = _PinnedTLSConnection if scheme == "https" else _PinnedConnection
        connection = connection_class(host, port, address, timeout=deadline.left())
        try:
            response = _request(connection, url, deadline)
            if response.status in REDIRECTS:
                location = response.getheader("Location")
                if not location:
                    raise FetchError("http-status", status=response.status)
                url = urljoin(url, location.strip())
                continue
            if response.status != 200:
                raise FetchError("http-status", status=response.status)
            return Fetched(_body(connection, response, policy, deadline), url, redirects)
        except FetchError:
            raise
        except TimeoutError as error:
            raise FetchError("timeout", seconds=policy.deadline) from error
        except ssl.SSLError as error:
            raise FetchError("tls") from error
        except (OSError, http.client.HTTPException) as error:
            # One code for every connection failure: refused, reset or closed are not told apart.
            raise FetchError("connection") from error
        finally:
            connection.close()
            if connection.pinned is not None:
                connection.pinned.close()
    raise FetchError("redirects", limit=policy.max_redirects)


def _request(connection: _PinnedConnection, url: str, deadline: _Deadline) -> http.client.HTTPResponse:
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    connection.timeout = deadline.left()
    connection.connect()
    connection.request(
        "GET",
        target,
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity", "Connection": "close"},
    )
    connection.read_timeout(deadline.left())
    return connection.getresponse()


def _body(
    connection: _PinnedConnection,
    response: http.client.HTTPResponse,
    policy: Policy,
    deadline: _Deadline,
) -> bytes:
    length = response.getheader("Content-Length")
    if length and length.strip().isdigit() and int(length) > policy.max_bytes:
        raise FetchError("too-large", limit=policy.max_bytes)
    body = bytearray()
    while True:
        # Each read waits at most until the deadline: a server that sends a byte now
        # and then cannot hold the download longer than the deadline.
        connection.read_timeout(deadline.left())
        chunk = response.read1(CHUNK)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > policy.max_bytes:
            raise FetchError("too-large", limit=policy.max_bytes)
        deadline.left()
