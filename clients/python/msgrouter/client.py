"""The blocking client: one connection to msgrouterd over a plain socket.

    with Client.connect("127.0.0.1:8080") as c:
        print("my id is", c.id)
        c.send(c.id, b"hello")          # to ourselves
        print(c.recv(timeout=5))        # b'hello'

It mirrors libmsgrouter-client (docs/CLIENT.md): a non-blocking socket
waited on with poll(2), a bounded send buffer, a bounded receive buffer,
and outcomes that say whether a message was queued.
"""

from __future__ import annotations

import select
import socket
import ssl as _ssl
import time
from typing import Iterator, Optional, Type, Union
from types import TracebackType

from . import _timeout
from ._address import Address, parse_address, peer_name
from ._base import _ClientBase
from ._frame import (DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_PENDING,
                     HEADER_LEN, Deframer, check_bounds, decode_id,
                     encode)
from ._timeout import DEFAULT, TimeoutArg
from .errors import (ClientClosed, ConnectError, ConnectionClosed,
                     InvalidAddress, Timeout, TransportError)

__all__ = ["Client"]

#: Bytes asked for by one read of the socket.
READ_SIZE = 256 * 1024
#: Bytes handed to one send(2): what is pending, up to this.
SEND_CHUNK = 256 * 1024

_POLLIN = 1
_POLLOUT = 4


def _wait_fd(fd: int, events: int, at: Optional[float]) -> None:
    """Wait until fd is ready for events, or raise Timeout at the deadline.

    Errors and hang-ups count as ready: the next read or write reports
    them.  A deadline already passed (timeout 0) raises without waiting.
    """
    while True:
        left = _timeout.left(at)
        if left is not None and left <= 0:
            raise Timeout("timed out")
        if hasattr(select, "poll"):
            p = select.poll()
            p.register(fd, (select.POLLIN if events & _POLLIN else 0) |
                       (select.POLLOUT if events & _POLLOUT else 0))
            # Round up: a wait must not end before its deadline.
            ms = None if left is None else int(left * 1000) + 1
            if p.poll(ms):
                return
        else:  # pragma: no cover - platforms without poll(2)
            r = [fd] if events & _POLLIN else []
            w = [fd] if events & _POLLOUT else []
            rr, ww, xx = select.select(r, w, [fd], left)
            if rr or ww or xx:
                return


def _connect_error(what: str, e: OSError) -> ConnectError:
    """A ConnectError for e, keeping its errno."""
    if e.errno is not None:
        return ConnectError(e.errno, f"{what}: {e.strerror or e}")
    return ConnectError(f"{what}: {e}")


def open_socket(addr: Address, ssl: Optional[_ssl.SSLContext],
                server_hostname: Optional[str], at: Optional[float]
                ) -> socket.socket:
    """Connect a stream socket to addr (TLS if ssl) before the deadline.

    Raises Timeout, ConnectError, or InvalidAddress for a TLS context that
    checks host names with no name to check.
    """
    if ssl is not None and server_hostname is None and not addr.is_unix:
        server_hostname = addr.host
    if at is not None and at <= time.monotonic():
        # A timeout of 0 would make the connect non-blocking instead.
        raise Timeout(f"connecting to {addr}: timed out")
    sock: Optional[socket.socket] = None
    try:
        if addr.path is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(_timeout.left(at))
            sock.connect(addr.path)
        else:
            assert addr.host is not None
            sock = socket.create_connection((addr.host, addr.port),
                                            timeout=_timeout.left(at))
            # Messages are small and latency matters more than packets.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ssl is not None:
            sock.settimeout(_timeout.left(at))
            sock = ssl.wrap_socket(sock, server_hostname=server_hostname)
        return sock
    except socket.timeout:
        if sock is not None:
            sock.close()
        raise Timeout(f"connecting to {addr}: timed out") from None
    except _ssl.SSLError as e:
        if sock is not None:
            sock.close()
        raise ConnectError(f"TLS handshake with {addr}: {e}") from e
    except ValueError as e:
        # check_hostname without server_hostname, for a Unix socket.
        if sock is not None:
            sock.close()
        raise InvalidAddress(
            f"{addr}: {e}; pass server_hostname= or use a context "
            f"with check_hostname False") from e
    except OSError as e:
        if sock is not None:
            sock.close()
        raise _connect_error(f"cannot connect to {addr}", e) from e


class Client(_ClientBase):
    """A blocking connection to msgrouterd.

    Create one with :meth:`Client.connect` (or wrap a socket you connected
    yourself with ``Client(sock)``); it reads the id the router sends
    first.  Use it as a context manager, or call :meth:`close`.

    Every method that waits takes ``timeout``: seconds, ``0`` (do not wait
    at all), ``None`` (no limit), or :data:`msgrouter.DEFAULT` for the
    client's own ``timeout`` (``None`` unless set).  Iterating over a
    client yields received messages until the router closes the connection.

    Memory is bounded: the send buffer holds at most ``max_pending`` bytes
    and the receive side less than ``max_message_size`` bytes of an
    unfinished message plus one read (256 KiB) of whole ones.

    One client must not be used by two threads at once; distinct clients
    are independent.
    """

    def __init__(self, sock: socket.socket, *,
                 connect_timeout: Optional[float] = 10.0,
                 timeout: Optional[float] = None,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 max_pending: int = DEFAULT_MAX_PENDING) -> None:
        """Take over sock, a connected stream socket, and read the id.

        sock may be TCP, a Unix socket, an ``ssl.SSLSocket`` or one end of
        a ``socket.socketpair()``; it is made non-blocking.  The id must
        arrive within ``connect_timeout`` seconds.  On success the client
        owns sock and :meth:`close` closes it; on failure the caller still
        owns it.  See :meth:`connect` for the other arguments.
        """
        self._timeout = _timeout.check_timeout("timeout", timeout)
        check_bounds(max_message_size, max_pending)
        self._max_pending = max_pending
        self._in = Deframer(max_message_size)
        self._out = bytearray()
        self._eof = False
        self._closed = False
        self._sock = sock
        self._fd = sock.fileno()
        self._address = peer_name(sock)
        at = _timeout.deadline(
            _timeout.check_timeout("connect_timeout", connect_timeout))
        sock.setblocking(False)
        self._id = self._read_id(at)

    @classmethod
    def connect(cls, address: str, *,
                connect_timeout: Optional[float] = 10.0,
                timeout: Optional[float] = None,
                ssl: Optional[_ssl.SSLContext] = None,
                server_hostname: Optional[str] = None,
                max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                max_pending: int = DEFAULT_MAX_PENDING) -> Client:
        """Connect to the router at address and read our id.

        address is ``"HOST:PORT"``, ``"[IPV6]:PORT"`` or ``"unix:PATH"``.
        The connection, the TLS handshake and the id must all come within
        ``connect_timeout`` seconds (``None``: no limit), else
        :class:`~msgrouter.errors.Timeout`.  ``timeout`` is the default of
        every later call.  ``ssl`` is an ``ssl.SSLContext`` for a router
        that speaks TLS; ``server_hostname`` is the name its certificate is
        checked against (default: the host of address).
        ``max_message_size`` is the router's own limit (payload + 0x00,
        default 1 MiB): larger sends are refused, larger receives skipped.
        ``max_pending`` bounds the bytes queued but not yet written.

        Raises :class:`~msgrouter.errors.InvalidAddress`,
        :class:`~msgrouter.errors.ConnectError` (unreachable, TLS failure),
        :class:`~msgrouter.errors.Timeout`, or
        :class:`~msgrouter.errors.ConnectionClosed` when the router closes
        the connection without an id (it is at ``max_clients``).
        """
        addr = parse_address(address)
        conn_timeout = _timeout.check_timeout("connect_timeout",
                                              connect_timeout)
        # Bad settings fail before anything is connected.
        _timeout.check_timeout("timeout", timeout)
        check_bounds(max_message_size, max_pending)
        at = _timeout.deadline(conn_timeout)
        sock = open_socket(addr, ssl, server_hostname, at)
        try:
            client = cls(sock, connect_timeout=_timeout.left(at),
                         timeout=timeout, max_message_size=max_message_size,
                         max_pending=max_pending)
        except BaseException:
            sock.close()
            raise
        client._address = str(addr)
        return client

    # -- the connection ---------------------------------------------------

    @property
    def max_pending(self) -> int:
        """The bound on bytes queued but not yet written."""
        return self._max_pending

    @property
    def pending(self) -> int:
        """Bytes queued by :meth:`send` but not yet written to the socket."""
        return len(self._out)

    def fileno(self) -> int:
        """The socket's descriptor, for ``select``/``selectors``; -1 once
        closed.  The socket is non-blocking."""
        return -1 if self._closed else self._fd

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"id={self._id}"
        return f"<msgrouter.Client {state} {self._address}>"

    # -- sending ----------------------------------------------------------

    def send(self, dest: int, payload: bytes,
             timeout: TimeoutArg = DEFAULT) -> bool:
        """Send payload to the client whose id is dest.

        The frame is queued whole and written within ``timeout``.  Returns
        ``True`` once it is written to the socket with everything queued
        before it; ``False`` when it is queued but the socket did not take
        it all in time (``timeout=0``: at once): it goes out with the next
        :meth:`send` or :meth:`flush`, so do **not** send it again.

        Raises, with nothing of the message queued (sending it later is
        safe): :class:`~msgrouter.errors.NulInPayload`,
        :class:`~msgrouter.errors.MessageTooLarge`,
        :class:`~msgrouter.errors.InvalidDestination` (fix the message),
        and :class:`~msgrouter.errors.Timeout` (``max_pending`` bytes
        were queued and not enough of them could be written in time).
        Raises :class:`~msgrouter.errors.ConnectionClosed` or
        :class:`~msgrouter.errors.TransportError` when the connection
        broke, before or after the frame was queued; close the client.
        """
        frame = encode(dest, payload, self._in.max_message_size)
        self._check_open()
        at = _timeout.deadline(_timeout.resolve(timeout, self._timeout))
        out = self._out
        if len(out) + len(frame) > self._max_pending:
            # Write only what must go to make room: the frame is not
            # queued unless it fits, so a Timeout here means "not sent".
            self._flush(self._max_pending - len(frame), at)
        out += frame
        try:
            self._flush(0, at)
        except Timeout:
            return False
        return True

    def flush(self, timeout: TimeoutArg = DEFAULT) -> None:
        """Write everything queued, within ``timeout``.

        Raises :class:`~msgrouter.errors.Timeout` if bytes remain pending
        (see :attr:`pending`), :class:`~msgrouter.errors.ConnectionClosed`
        or :class:`~msgrouter.errors.TransportError`.
        """
        self._check_open()
        self._flush(0, _timeout.deadline(
            _timeout.resolve(timeout, self._timeout)))

    def _flush(self, keep: int, at: Optional[float]) -> None:
        """Write the send buffer until at most keep bytes remain."""
        out = self._out
        while len(out) > keep:
            try:
                # Always from the start and never shorter than a try that
                # failed: TLS wants a retried write to repeat its bytes.
                with memoryview(out) as view:
                    n = self._sock.send(view[:SEND_CHUNK])
            except (BlockingIOError, _ssl.SSLWantWriteError):
                _wait_fd(self._fd, _POLLOUT, at)
                continue
            except _ssl.SSLWantReadError:
                _wait_fd(self._fd, _POLLIN, at)
                continue
            except (BrokenPipeError, ConnectionResetError) as e:
                raise ConnectionClosed(
                    "the router closed the connection") from e
            except OSError as e:
                raise _transport_error("send", e) from e
            del out[:n]

    # -- receiving --------------------------------------------------------

    def recv(self, timeout: TimeoutArg = DEFAULT) -> bytes:
        """Return the next message's payload (without its 0x00).

        Waits at most ``timeout`` for a whole message; with ``0``, only
        what has already arrived is looked at, and a
        :class:`~msgrouter.errors.Timeout` then means the socket was read
        until it had nothing more (so it suits edge-triggered polling).
        Messages that arrived before the router closed the connection are
        returned first; after them every call raises
        :class:`~msgrouter.errors.ConnectionClosed`.  A message over
        ``max_message_size`` raises
        :class:`~msgrouter.errors.ReceivedTooLarge` once in its place; the
        next call returns the message after it.  recv does not write:
        pending bytes wait for :meth:`send` or :meth:`flush`.
        """
        self._check_open()
        msg = self._in.next()
        if msg is not None:
            return msg
        at = _timeout.deadline(_timeout.resolve(timeout, self._timeout))
        while True:
            msg = self._in.next()
            if msg is not None:
                return msg
            if self._eof:
                raise ConnectionClosed("the router closed the connection")
            data = self._read()
            if isinstance(data, int):
                _wait_fd(self._fd, data, at)
            elif data:
                self._in.feed(data)
            else:
                self._eof = True

    def __iter__(self) -> Iterator[bytes]:
        """Yield messages (with the client's timeout) until the router
        closes the connection."""
        while True:
            try:
                msg = self.recv()
            except ConnectionClosed:
                return
            yield msg

    def _read(self) -> Union[bytes, int]:
        """One read: bytes (empty at end of file), or what to wait for."""
        try:
            return self._sock.recv(READ_SIZE)
        except (BlockingIOError, _ssl.SSLWantReadError):
            return _POLLIN
        except _ssl.SSLWantWriteError:
            return _POLLOUT
        except ConnectionResetError:
            return b""
        except OSError as e:
            raise _transport_error("recv", e) from e

    def _read_id(self, at: Optional[float]) -> int:
        """Read the 4-byte id the router sends first."""
        buf = b""
        while len(buf) < HEADER_LEN:
            data = self._read()
            if isinstance(data, int):
                _wait_fd(self._fd, data, at)
            elif data:
                buf += data
            else:
                raise ConnectionClosed(
                    f"{self._address}: the router closed the connection "
                    f"before sending an id (at max_clients?)")
        # A message may follow the id in the same read.
        self._in.feed(buf[HEADER_LEN:])
        return decode_id(buf[:HEADER_LEN])

    # -- closing ----------------------------------------------------------

    def close(self, timeout: TimeoutArg = DEFAULT) -> None:
        """Write what is still pending within ``timeout``, then close.

        Bytes the socket did not take in time are discarded, and so are
        messages received but not read.  Never raises; closing twice is
        harmless.  (Unlike ``mr_client_close()``, which discards pending
        bytes at once: with ``timeout=0`` this does the same.)
        """
        if self._closed:
            return
        try:
            if self._out:
                self._flush(0, _timeout.deadline(
                    _timeout.resolve(timeout, self._timeout)))
        except (Timeout, ConnectionClosed, TransportError):
            pass
        finally:
            self._closed = True
            self._out = bytearray()
            self._sock.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]],
                 exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosed()


def _transport_error(what: str, e: OSError) -> TransportError:
    """A TransportError for e, keeping its errno."""
    if e.errno is not None and not isinstance(e, _ssl.SSLError):
        return TransportError(e.errno, f"{what}: {e.strerror or e}")
    return TransportError(f"{what}: {e}")

