"""The asyncio client: one connection to msgrouterd over asyncio streams.

    async with await AsyncClient.connect("127.0.0.1:8080") as c:
        print("my id is", c.id)
        await c.send(c.id, b"hello")    # to ourselves
        async for msg in c:             # until the router closes
            print(msg)

Same framing, bounds, timeouts and exceptions as the blocking
:class:`msgrouter.Client`.
"""

from __future__ import annotations

import asyncio
import socket
import ssl as _ssl
from typing import Awaitable, List, Optional, Tuple, Type, TypeVar
from types import TracebackType

from . import _timeout
from ._address import parse_address, peer_name
from ._base import _ClientBase
from ._frame import (DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_PENDING,
                     HEADER_LEN, Deframer, check_bounds, decode_id,
                     encode)
from ._timeout import DEFAULT, TimeoutArg
from .errors import (ClientClosed, ConnectError, ConnectionClosed,
                     InvalidAddress, Timeout, TransportError)

__all__ = ["AsyncClient"]

#: Bytes asked for by one read of the stream, and the stream's buffer limit.
READ_SIZE = 256 * 1024

_T = TypeVar("_T")


async def _within(aw: Awaitable[_T], timeout: Optional[float],
                  what: str) -> _T:
    """Await aw for at most timeout seconds (None: no limit), or Timeout."""
    if timeout is None:
        return await aw
    try:
        return await asyncio.wait_for(aw, timeout)
    except asyncio.TimeoutError:
        raise Timeout(f"{what}: timed out") from None


async def _io(aw: Awaitable[_T], timeout: Optional[float], what: str) -> _T:
    """_within, with a stream's OSError turned into the library's own."""
    try:
        return await _within(aw, timeout, what)
    except OSError as e:
        if isinstance(e, (Timeout, ConnectionClosed)):
            raise
        raise _closed_or_transport(what, e) from e


def _closed_or_transport(what: str, e: OSError) -> Exception:
    """The library's exception for an OSError from the stream."""
    if isinstance(e, (ConnectionResetError, BrokenPipeError,
                      ConnectionAbortedError)):
        return ConnectionClosed("the router closed the connection")
    if e.errno is not None and not isinstance(e, _ssl.SSLError):
        return TransportError(e.errno, f"{what}: {e.strerror or e}")
    return TransportError(f"{what}: {e}")


class AsyncClient(_ClientBase):
    """An asyncio connection to msgrouterd.

    Create one with ``await AsyncClient.connect(address)`` (or
    :meth:`attach` a socket you connected yourself); it reads the id the
    router sends first.  Use it as an async context manager, or ``await``
    :meth:`close`.  ``async for msg in client`` yields messages until the
    router closes the connection.

    Every method that waits takes ``timeout``: seconds, ``None`` (no
    limit), or :data:`msgrouter.DEFAULT` for the client's own ``timeout``
    (``None`` unless set); ``0`` does not wait (``recv`` then returns only
    a message already read from the connection).

    Memory is bounded: :meth:`send` waits while more than ``max_pending``
    bytes are queued in the transport, so at most that plus one message is
    queued; the receive side holds less than ``max_message_size`` bytes of
    an unfinished message, the messages of one read (256 KiB) and the
    stream's own buffer (256 KiB; reading pauses above it).

    Many tasks may send and receive on one client: sends are queued whole
    and in call order, and each message is returned to exactly one
    receiver.
    """

    def __init__(self, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, client_id: int,
                 deframer: Deframer, *, timeout: Optional[float],
                 max_pending: int, address: str) -> None:
        """Use :meth:`connect` or :meth:`attach` rather than this."""
        self._reader = reader
        self._writer = writer
        self._transport = writer.transport
        self._id = client_id
        self._in = deframer
        self._max_message = deframer.max_message_size
        self._timeout = timeout
        self._max_pending = max_pending
        self._address = address
        self._closed = False
        # Frames sent in this pass of the loop, written together at its end.
        self._out: List[bytes] = []
        self._out_size = 0
        self._loop = asyncio.get_running_loop()
        self._send_lock = asyncio.Lock()
        self._recv_lock = asyncio.Lock()
        # send() waits (in drain) while more than max_pending is queued.
        self._transport.set_write_buffer_limits(high=max_pending)

    @classmethod
    async def connect(cls, address: str, *,
                      connect_timeout: Optional[float] = 10.0,
                      timeout: Optional[float] = None,
                      ssl: Optional[_ssl.SSLContext] = None,
                      server_hostname: Optional[str] = None,
                      max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                      max_pending: int = DEFAULT_MAX_PENDING
                      ) -> AsyncClient:
        """Connect to the router at address and read our id.

        The arguments and exceptions are those of
        :meth:`msgrouter.Client.connect`: address is ``"HOST:PORT"``,
        ``"[IPV6]:PORT"`` or ``"unix:PATH"``; the connection, the TLS
        handshake (``ssl``, ``server_hostname``) and the id must come within
        ``connect_timeout``; ``timeout`` is the default of later calls.
        """
        addr = parse_address(address)
        conn_timeout = _timeout.check_timeout("connect_timeout",
                                              connect_timeout)
        settings = cls._settings(timeout, max_message_size, max_pending)
        if ssl is not None and server_hostname is None and not addr.is_unix:
            server_hostname = addr.host

        async def start() -> AsyncClient:
            try:
                if addr.path is not None:
                    r, w = await asyncio.open_unix_connection(
                        addr.path, ssl=ssl, server_hostname=server_hostname,
                        limit=READ_SIZE)
                else:
                    r, w = await asyncio.open_connection(
                        addr.host, addr.port, ssl=ssl,
                        server_hostname=server_hostname, limit=READ_SIZE)
            except _ssl.SSLError as e:
                raise ConnectError(f"TLS handshake with {addr}: {e}") from e
            except ValueError as e:
                raise InvalidAddress(
                    f"{addr}: {e}; pass server_hostname= or use a context "
                    f"with check_hostname False") from e
            except OSError as e:
                if e.errno is not None:
                    raise ConnectError(
                        e.errno, f"cannot connect to {addr}: "
                        f"{e.strerror or e}") from e
                raise ConnectError(f"cannot connect to {addr}: {e}") from e
            return await cls._start(r, w, str(addr), *settings)

        return await _within(start(), conn_timeout, f"connecting to {addr}")

    @classmethod
    async def attach(cls, sock: socket.socket, *,
                     connect_timeout: Optional[float] = 10.0,
                     timeout: Optional[float] = None,
                     max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                     max_pending: int = DEFAULT_MAX_PENDING
                     ) -> AsyncClient:
        """Take over sock, a connected stream socket, and read the id.

        sock may be TCP, a Unix socket or one end of a
        ``socket.socketpair()``.  The client owns it from then on, also
        when this fails (it is closed then).
        """
        settings = cls._settings(timeout, max_message_size, max_pending)
        conn_timeout = _timeout.check_timeout("connect_timeout",
                                              connect_timeout)
        address = peer_name(sock)
        try:
            if sock.family == socket.AF_UNIX:
                r, w = await asyncio.open_unix_connection(sock=sock,
                                                          limit=READ_SIZE)
            else:
                r, w = await asyncio.open_connection(sock=sock,
                                                     limit=READ_SIZE)
        except OSError as e:
            sock.close()
            raise ConnectError(f"cannot use the socket: {e}") from e
        return await _within(cls._start(r, w, address, *settings),
                             conn_timeout, "waiting for the id")

    @staticmethod
    def _settings(timeout: Optional[float], max_message_size: int,
                  max_pending: int) -> Tuple[Optional[float], int, int]:
        """Check the settings before any I/O; ValueError or TypeError."""
        t = _timeout.check_timeout("timeout", timeout)
        check_bounds(max_message_size, max_pending)
        return t, max_message_size, max_pending

    @classmethod
    async def _start(cls, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter, address: str,
                     timeout: Optional[float], max_message_size: int,
                     max_pending: int) -> AsyncClient:
        """Read the id on a new stream and make the client; close on error."""
        try:
            head = await reader.readexactly(HEADER_LEN)
        except asyncio.IncompleteReadError:
            writer.close()
            raise ConnectionClosed(
                f"{address}: the router closed the connection before "
                f"sending an id (at max_clients?)") from None
        except BaseException as e:
            writer.close()
            if isinstance(e, OSError):
                raise _closed_or_transport("reading the id", e) from e
            raise
        return cls(reader, writer, decode_id(head), Deframer(max_message_size),
                   timeout=timeout, max_pending=max_pending, address=address)

    # -- the connection ---------------------------------------------------

    @property
    def max_pending(self) -> int:
        """send() waits while more than this many bytes are queued."""
        return self._max_pending

    @property
    def pending(self) -> int:
        """Bytes queued by :meth:`send` but not yet written to the socket."""
        return self._out_size + self._transport.get_write_buffer_size()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"id={self._id}"
        return f"<msgrouter.AsyncClient {state} {self._address}>"

    # -- sending ----------------------------------------------------------

    async def send(self, dest: int, payload: bytes,
                   timeout: TimeoutArg = DEFAULT) -> None:
        """Queue payload for the client whose id is dest.

        The frame is queued whole; the event loop writes it, together with
        the other frames sent in the same pass of the loop (one write for
        a burst of sends).  While more than ``max_pending`` bytes are
        queued, this first waits (at most ``timeout``) for the transport to
        drain.

        Raises, with nothing of the message queued (sending it later is
        safe): :class:`~msgrouter.errors.NulInPayload`,
        :class:`~msgrouter.errors.MessageTooLarge`,
        :class:`~msgrouter.errors.InvalidDestination` (fix the message),
        :class:`~msgrouter.errors.Timeout` (the queue did not drain in
        time), and :class:`~msgrouter.errors.ConnectionClosed` or
        :class:`~msgrouter.errors.TransportError` (the connection is
        broken; messages queued before may or may not have arrived).
        Cancelling it queues nothing either.
        """
        frame = encode(dest, payload, self._max_message)
        if self._closed:
            raise ClientClosed()
        if self._transport.is_closing() or self._send_lock.locked() or \
                self._out_size + self._transport.get_write_buffer_size() > \
                self._max_pending:
            await self._wait_room(timeout)
        if not self._out:
            self._loop.call_soon(self._write_out)
        self._out.append(frame)
        self._out_size += len(frame)

    def _write_out(self) -> None:
        """Hand the frames queued by send() to the transport, in one write."""
        if not self._out:
            return
        data = b"".join(self._out) if len(self._out) > 1 else self._out[0]
        self._out.clear()
        self._out_size = 0
        if not self._transport.is_closing():
            self._writer.write(data)

    async def _wait_room(self, timeout: TimeoutArg) -> None:
        """Wait, in turn with other senders, until the transport takes
        more; raise if the connection is gone."""
        t = _timeout.resolve(timeout, self._timeout)

        async def room() -> None:
            async with self._send_lock:
                # What is queued here goes to the transport first, so that
                # the transport, not this queue, is over its mark.
                self._write_out()
                # drain() waits while the transport is over its high-water
                # mark (max_pending) and raises once the connection is lost.
                while True:
                    if self._transport.is_closing():
                        raise ConnectionClosed(
                            "the router closed the connection")
                    await self._writer.drain()
                    if self._transport.get_write_buffer_size() <= \
                            self._max_pending:
                        return

        await _io(room(), t, "send")

    async def flush(self, timeout: TimeoutArg = DEFAULT) -> None:
        """Wait until the transport has written everything queued.

        Raises :class:`~msgrouter.errors.Timeout` if bytes remain pending
        after ``timeout``, :class:`~msgrouter.errors.ConnectionClosed` or
        :class:`~msgrouter.errors.TransportError`.
        """
        self._check_open()
        t = _timeout.resolve(timeout, self._timeout)

        async def empty() -> None:
            async with self._send_lock:
                self._write_out()
                tr = self._transport
                # A high-water mark of 0 makes drain() wait for empty.
                tr.set_write_buffer_limits(high=0, low=0)
                try:
                    while tr.get_write_buffer_size() > 0:
                        if tr.is_closing():
                            raise ConnectionClosed(
                                "the router closed the connection")
                        await self._writer.drain()
                finally:
                    tr.set_write_buffer_limits(high=self._max_pending)

        await _io(empty(), t, "flush")

    # -- receiving --------------------------------------------------------

    async def recv(self, timeout: TimeoutArg = DEFAULT) -> bytes:
        """Return the next message's payload (without its 0x00).

        Waits at most ``timeout`` for a whole message, else raises
        :class:`~msgrouter.errors.Timeout`.  Messages that arrived before
        the router closed the connection are returned first; after them
        every call raises :class:`~msgrouter.errors.ConnectionClosed`.  A
        message over ``max_message_size`` raises
        :class:`~msgrouter.errors.ReceivedTooLarge` once in its place; the
        next call returns the message after it.  Cancelling it loses no
        message.
        """
        if self._closed:
            raise ClientClosed()
        msg = self._in.next()
        if msg is not None:
            return msg
        t = _timeout.resolve(timeout, self._timeout)
        return await _within(self._recv_wait(), t, "recv")

    async def _recv_wait(self) -> bytes:
        """Read until a whole message is there, in turn with other
        receivers."""
        async with self._recv_lock:
            while True:
                msg = self._in.next()
                if msg is not None:
                    return msg
                try:
                    data = await self._reader.read(READ_SIZE)
                except OSError as e:
                    raise _closed_or_transport("recv", e) from e
                if not data:
                    self._check_open()
                    raise ConnectionClosed(
                        "the router closed the connection")
                self._in.feed(data)

    def __aiter__(self) -> AsyncClient:
        return self

    async def __anext__(self) -> bytes:
        """The next message (with the client's timeout); the iteration ends
        when the router closes the connection."""
        try:
            return await self.recv()
        except ConnectionClosed:
            raise StopAsyncIteration from None

    # -- closing ----------------------------------------------------------

    async def close(self, timeout: TimeoutArg = DEFAULT) -> None:
        """Let the transport write what is still queued, then close.

        Waits at most ``timeout`` for that; what is left then is
        discarded, and so are messages received but not read.  Never
        raises (but cancellation); closing twice is harmless.
        """
        if self._closed:
            return
        self._closed = True
        t = _timeout.resolve(timeout, self._timeout)
        self._write_out()
        self._writer.close()
        try:
            await _within(self._writer.wait_closed(), t, "close")
        except (Timeout, OSError):
            self._transport.abort()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, exc_type: Optional[Type[BaseException]],
                        exc: Optional[BaseException],
                        tb: Optional[TracebackType]) -> None:
        await self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosed()

