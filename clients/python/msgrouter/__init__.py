"""msgrouter: a client for the msgrouterd message router.

msgrouterd gives each client that connects a 4-byte id; clients send each
other messages (any bytes but 0x00) addressed by id, and the router
forwards them.  This package speaks that protocol with the standard
library only:

- :class:`Client`, blocking (sockets and poll);
- :class:`AsyncClient`, for asyncio (streams);
- ``python3 -m msgrouter``, a small command line like msgrouter-cat.

Two clients say hello::

    from msgrouter import Client

    with Client.connect("127.0.0.1:8080") as a, \\
            Client.connect("127.0.0.1:8080") as b:
        a.send(b.id, b"hello, number 2")
        print(b.recv(timeout=5))        # b'hello, number 2'

Every exception the library raises derives from
:class:`MsgRouterError`; see :mod:`msgrouter.errors`.
"""

from __future__ import annotations

from ._frame import DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_PENDING
from ._timeout import DEFAULT
from .aio import AsyncClient
from .client import Client
from .errors import (ClientClosed, ConnectError, ConnectionClosed,
                     InvalidAddress, InvalidDestination, InvalidMessage,
                     MessageTooLarge, MsgRouterError, NulInPayload,
                     ReceivedTooLarge, Timeout, TransportError)

__version__ = "0.1.0"

__all__ = [
    "AsyncClient",
    "Client",
    "DEFAULT",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_MAX_PENDING",
    "ClientClosed",
    "ConnectError",
    "ConnectionClosed",
    "InvalidAddress",
    "InvalidDestination",
    "InvalidMessage",
    "MessageTooLarge",
    "MsgRouterError",
    "NulInPayload",
    "ReceivedTooLarge",
    "Timeout",
    "TransportError",
]
