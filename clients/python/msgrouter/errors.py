"""Every exception the msgrouter client raises, in one place.

All of them derive from :class:`MsgRouterError`, so ``except
MsgRouterError`` catches everything the library raises on purpose.  Each
also derives from the built-in exception a Python programmer would expect
(``ValueError``, ``TimeoutError``, ``ConnectionError``, ``OSError``), so
code written against those keeps working.  The original exception, when
there is one (an ``OSError``, an ``ssl.SSLError``), is the ``__cause__``.

The hierarchy::

    MsgRouterError
    +-- InvalidAddress           a malformed address string     (ValueError)
    +-- InvalidMessage           a message refused before sending (ValueError)
    |   +-- InvalidDestination   destination outside 0..2**32-1
    |   +-- NulInPayload         the payload holds a 0x00 byte
    |   +-- MessageTooLarge      payload + 0x00 over max_message_size
    +-- ReceivedTooLarge         an incoming message over max_message_size
    +-- Timeout                  the timeout passed              (TimeoutError)
    +-- ConnectError             the router cannot be reached (ConnectionError)
    +-- ConnectionClosed         the router closed the connection
    |                                                         (ConnectionError)
    +-- TransportError           another socket or TLS error mid-session
    |                                                                 (OSError)
    +-- ClientClosed             the client was closed with close()
"""

from __future__ import annotations

__all__ = [
    "MsgRouterError",
    "InvalidAddress",
    "InvalidMessage",
    "InvalidDestination",
    "NulInPayload",
    "MessageTooLarge",
    "ReceivedTooLarge",
    "Timeout",
    "ConnectError",
    "ConnectionClosed",
    "TransportError",
    "ClientClosed",
]


class MsgRouterError(Exception):
    """The base class of every exception the msgrouter client raises."""


class InvalidAddress(MsgRouterError, ValueError):
    """The router address is malformed.

    Accepted forms are ``"HOST:PORT"`` (``"127.0.0.1:8080"``,
    ``"localhost:8080"``), ``"[IPV6]:PORT"`` (``"[::1]:8080"``) with a port
    from 1 to 65535, and ``"unix:/path/to/socket"``.
    """


class InvalidMessage(MsgRouterError, ValueError):
    """A message was refused before anything of it was sent or queued.

    Sending the same message again fails the same way: fix it first.  The
    connection is unaffected and stays usable.
    """


class InvalidDestination(InvalidMessage):
    """The destination id is not an integer from 0 to 2**32 - 1."""


class NulInPayload(InvalidMessage):
    """The payload holds a 0x00 byte, which the protocol uses as terminator.

    A 0x00 would end the frame early and the router would read the rest as
    a new frame, so such a payload is never sent.  ``offset`` is the index
    of the first 0x00.
    """

    def __init__(self, offset: int) -> None:
        super().__init__(
            f"a payload cannot hold a 0x00 byte (found at offset {offset})")
        self.offset = offset


class MessageTooLarge(InvalidMessage):
    """The payload and its 0x00 are larger than ``max_message_size``.

    The router disconnects a sender whose message is over its own
    ``max_message_size``, so the client refuses it first.  ``size`` is the
    payload length plus one (the 0x00), ``limit`` the client's bound.
    """

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"a message of {size - 1} bytes is over max_message_size "
            f"{limit} with its 0x00")
        self.size = size
        self.limit = limit


class ReceivedTooLarge(MsgRouterError):
    """An incoming message was larger than the client's ``max_message_size``.

    Raised once per such message, in its place in the stream: its bytes
    were discarded (they are never held whole), and the next receive goes
    on with the message after it.  The connection stays usable.  ``limit``
    is the bound it passed.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"a received message was over max_message_size {limit} with its "
            f"0x00; it was discarded")
        self.limit = limit


class Timeout(MsgRouterError, TimeoutError):
    """The operation's timeout passed before it could complete.

    From ``connect``: no connection or no id in time.  From ``recv``: no
    whole message arrived in time.  From ``send``: the message was *not*
    queued (the send buffer was full and did not drain in time); sending it
    again later is safe.  From ``flush``: bytes are still pending.
    """


class ConnectError(MsgRouterError, ConnectionError):
    """The router could not be reached, or the TLS handshake failed.

    ``errno`` and ``strerror`` are those of the system error when there is
    one (``ECONNREFUSED``, ``ENOENT`` for a Unix socket path, ...); the
    original exception is the ``__cause__``.
    """


class ConnectionClosed(MsgRouterError, ConnectionError):
    """The router closed the connection (or reset it).

    Messages that arrived before the close are still returned by ``recv``
    first; after them every ``recv`` raises this.  From ``send``, the
    message may or may not have reached the router: close the client.
    """


class TransportError(MsgRouterError, OSError):
    """A socket or TLS error other than a close, after the connection was up.

    ``errno`` is the system's error number when there is one; the original
    exception is the ``__cause__``.  The connection is no longer usable.
    """


class ClientClosed(MsgRouterError):
    """The client was closed with ``close()``; only ``close()`` may follow."""

    def __init__(self) -> None:
        super().__init__("the client is closed")
