"""Router addresses: ``HOST:PORT``, ``[IPV6]:PORT`` and ``unix:PATH``."""

from __future__ import annotations

import socket
from typing import Any, NamedTuple, Optional

from .errors import InvalidAddress

__all__ = ["Address", "parse_address", "peer_name"]


class Address(NamedTuple):
    """A parsed router address: a TCP host and port, or a Unix socket path."""

    host: Optional[str]
    port: int
    path: Optional[str]

    @property
    def is_unix(self) -> bool:
        """Whether this is a Unix domain socket address."""
        return self.path is not None

    def __str__(self) -> str:
        if self.path is not None:
            return f"unix:{self.path}"
        assert self.host is not None
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


def parse_address(address: str) -> Address:
    """Parse a router address, or raise :class:`InvalidAddress`.

    ``"127.0.0.1:8080"``, ``"localhost:8080"`` and ``"[::1]:8080"`` are TCP
    addresses (a host name is resolved when connecting); the port is from 1
    to 65535.  ``"unix:/run/msgrouter.sock"`` is a Unix domain socket.
    """
    if not isinstance(address, str):
        raise InvalidAddress(
            f"an address is a str like \"127.0.0.1:8080\", not "
            f"{type(address).__name__}")
    if address.startswith("unix:"):
        path = address[len("unix:"):]
        if not path or "\0" in path:
            raise InvalidAddress(
                f"{address!r}: expected unix:PATH with a non-empty path")
        return Address(None, 0, path)
    if address.startswith("["):
        end = address.find("]")
        if end < 0 or address[end + 1:end + 2] != ":":
            raise InvalidAddress(f"{address!r}: expected [IPV6]:PORT")
        host, port = address[1:end], address[end + 2:]
        if ":" not in host:
            raise InvalidAddress(
                f"{address!r}: brackets are for IPv6 addresses only")
    else:
        host, sep, port = address.rpartition(":")
        if not sep or ":" in host:
            raise InvalidAddress(
                f"{address!r}: expected HOST:PORT, [IPV6]:PORT or unix:PATH")
    if not host:
        raise InvalidAddress(f"{address!r}: the host is empty")
    if not port.isascii() or not port.isdigit() or len(port) > 5 or \
            not 1 <= int(port) <= 65535:
        raise InvalidAddress(
            f"{address!r}: the port is a number from 1 to 65535")
    return Address(host, int(port), None)


def peer_name(sock: socket.socket) -> str:
    """A printable name for the peer of a connected socket, "" if none."""
    try:
        peer: Any = sock.getpeername()
    except OSError:
        return ""
    if isinstance(peer, tuple) and len(peer) >= 2:
        host, port = str(peer[0]), int(peer[1])
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"unix:{peer}" if peer else ""
