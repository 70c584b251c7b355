"""The blocking Client against the real msgrouterd (and a socketpair where
the test must control every byte the client reads)."""

from __future__ import annotations

import errno
import socket
import subprocess
from pathlib import Path
from typing import Callable, List

import pytest

from msgrouter import (DEFAULT_MAX_MESSAGE_SIZE, Client, ClientClosed,
                       ConnectError, ConnectionClosed, InvalidAddress,
                       InvalidDestination, MessageTooLarge, MsgRouterError,
                       NulInPayload, ReceivedTooLarge, Timeout)

from support import DEADLINE, Daemon, pattern, read_line, wait_for

T = DEADLINE


def frame(dest: int, payload: bytes) -> bytes:
    """The test's own framing, independent of the library's."""
    return dest.to_bytes(4, "big") + payload + b"\0"


def raw_connect(d: Daemon) -> "tuple[socket.socket, int]":
    """A plain socket to the daemon, and the id read from it."""
    s = socket.create_connection(("127.0.0.1", d.port), timeout=T)
    head = b""
    while len(head) < 4:
        chunk = s.recv(4 - len(head))
        assert chunk, "the daemon closed before the id"
        head += chunk
    return s, int.from_bytes(head, "big")


def fake_router(client_id: int = 7) -> "tuple[socket.socket, Client]":
    """A Client on one end of a socketpair; the test is the router."""
    ours, theirs = socket.socketpair()
    ours.sendall(client_id.to_bytes(4, "big"))
    return ours, Client(theirs, connect_timeout=T)


def test_seed_exchange(daemon: Daemon) -> None:
    """The seed's test: two clients say hello to each other."""
    with Client.connect(daemon.address, connect_timeout=T) as c1, \
            Client.connect(daemon.address, connect_timeout=T) as c2:
        assert c1.id != c2.id and c1.id != 0 and c2.id != 0
        assert c1.send(c2.id, b"hello, number 2") is True
        assert c2.recv(timeout=T) == b"hello, number 2"
        assert c2.send(c1.id, b"hello back, number 1") is True
        assert c1.recv(timeout=T) == b"hello back, number 1"
    assert c1.closed and c2.closed and c1.fileno() == -1
    assert daemon.stop() == 0
    c = daemon.counters()
    assert (c["forwarded"], c["bytes_forwarded"], c["bytes_received"],
            c["accepted"]) == (2, 16 + 21, 20 + 25, 2)


def test_python_to_c_and_back(daemon: Daemon, cat_binary: str,
                              tmp_path: Path) -> None:
    """msgrouter-cat prints what Python sends it, and what it sends arrives
    in Python byte for byte."""
    id_file = tmp_path / "cat.id"
    cat = subprocess.Popen([cat_binary, "-H", daemon.address, "--id-file",
                            str(id_file)], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert cat.stdin is not None and cat.stdout is not None
    assert cat.stderr is not None
    try:
        line = read_line(cat.stderr)
        cat_id = int(id_file.read_text())
        assert line == b"msgrouter-cat: id %d\n" % cat_id
        with Client.connect(daemon.address, connect_timeout=T) as py:
            assert py.send(cat_id, b"from python, 1") is True
            assert py.send(cat_id, bytes(range(1, 256)).replace(b"\n", b""))
            assert read_line(cat.stdout) == b"from python, 1\n"
            assert read_line(cat.stdout) == \
                bytes(range(1, 256)).replace(b"\n", b"") + b"\n"
            cat.stdin.write(b"%d from c\n%d \xff\x01 bytes\n" % (py.id, py.id))
            cat.stdin.flush()
            assert py.recv(timeout=T) == b"from c"
            assert py.recv(timeout=T) == b"\xff\x01 bytes"
            cat.stdin.close()
            assert cat.wait(T) == 0
    finally:
        if cat.poll() is None:
            cat.kill()
            cat.wait()
        for f in (cat.stdout, cat.stderr):
            f.close()
    assert daemon.stop() == 0
    assert daemon.counters()["forwarded"] == 4


def test_fragmented_input() -> None:
    """A message fed one byte per read comes out only once its 0x00 has
    arrived, and whole."""
    ours, c = fake_router(0x01020304)
    with c:
        assert c.id == 0x01020304
        msg = b"sent one byte at a time"
        for b in msg:
            ours.sendall(bytes([b]))
            with pytest.raises(Timeout):
                c.recv(timeout=0)
        ours.sendall(b"\0")
        assert c.recv(timeout=0) == msg
        with pytest.raises(Timeout):
            c.recv(timeout=0)
    ours.close()


def test_many_messages_in_one_read() -> None:
    """Thousands of messages in one write: each comes out whole, in order,
    and recv(timeout=0) then says nothing more has arrived."""
    ours, c = fake_router()
    msgs = [b"message %d" % i + b"!" * (i % 5) for i in range(3000)]
    ours.sendall(b"".join(m + b"\0" for m in msgs))
    assert [c.recv(timeout=0) for _ in msgs] == msgs
    with pytest.raises(Timeout):
        c.recv(timeout=0)
    c.close()
    ours.close()


def test_many_messages_through_the_daemon(daemon: Daemon) -> None:
    """A burst of frames written at once by a raw socket to three Python
    clients arrives complete and in order at each."""
    raw, _ = raw_connect(daemon)
    cs = [Client.connect(daemon.address, connect_timeout=T)
          for _ in range(3)]
    want: List[List[bytes]] = [[], [], []]
    burst = b""
    for i in range(900):
        msg = b"burst %d to %d" % (i, i % 3)
        want[i % 3].append(msg)
        burst += frame(cs[i % 3].id, msg)
    raw.sendall(burst)
    for c, w in zip(cs, want):
        assert [c.recv(timeout=T) for _ in w] == w
        c.close()
    raw.close()
    assert daemon.stop() == 0
    assert daemon.counters()["forwarded"] == 900


def test_large_messages_near_the_limit(daemon: Daemon) -> None:
    """1 MiB with its 0x00 passes byte for byte; one byte more is refused
    before anything is sent, and the connection goes on."""
    big = pattern(DEFAULT_MAX_MESSAGE_SIZE - 1)
    with Client.connect(daemon.address, connect_timeout=T) as a, \
            Client.connect(daemon.address, connect_timeout=T) as b:
        assert a.send(b.id, big, timeout=T) is True
        assert b.recv(timeout=T) == big
        with pytest.raises(MessageTooLarge) as e:
            a.send(b.id, big + b"x")
        assert (e.value.size, e.value.limit) == (DEFAULT_MAX_MESSAGE_SIZE + 1,
                                                 DEFAULT_MAX_MESSAGE_SIZE)
        assert a.pending == 0
        assert a.send(b.id, b"still here") is True
        assert b.recv(timeout=T) == b"still here"
    assert daemon.stop() == 0
    c = daemon.counters()
    assert (c["forwarded"], c["disconnected_oversize"],
            c["bytes_received"]) == (2, 0, 4 + len(big) + 1 + 4 + 11)


def test_received_too_large_is_skipped_once(daemon: Daemon) -> None:
    with Client.connect(daemon.address, connect_timeout=T) as a, \
            Client.connect(daemon.address, connect_timeout=T,
                           max_message_size=1000) as b:
        assert b.max_message_size == 1000
        a.send(b.id, pattern(1000, 1))   # 1001 with its 0x00: over
        a.send(b.id, pattern(999, 2))    # exactly 1000: fits
        a.send(b.id, b"after")
        with pytest.raises(ReceivedTooLarge) as e:
            b.recv(timeout=T)
        assert e.value.limit == 1000
        assert b.recv(timeout=T) == pattern(999, 2)
        assert b.recv(timeout=T) == b"after"


def test_daemon_closes_the_connection(daemon: Daemon) -> None:
    """Messages sent before the router stops are delivered, then every
    recv raises ConnectionClosed and iteration ends; send fails too."""
    a = Client.connect(daemon.address, connect_timeout=T)
    b = Client.connect(daemon.address, connect_timeout=T)
    for i in range(3):
        a.send(b.id, b"before the end %d" % i)
    assert daemon.stop() == 0
    assert daemon.counters()["forwarded"] == 3
    assert list(b) == [b"before the end %d" % i for i in range(3)]
    for _ in range(2):
        with pytest.raises(ConnectionClosed):
            b.recv(timeout=T)
    with pytest.raises(ConnectionClosed):
        a.recv(timeout=T)
    # The first write may still reach the kernel; the reset follows.
    def send_fails() -> bool:
        try:
            a.send(b.id, b"into the void", timeout=T)
        except ConnectionClosed:
            return True
        return False
    wait_for("send to raise ConnectionClosed", send_fails)
    a.close()
    b.close()


def test_router_full_closes_without_id(
        start_daemon: Callable[..., Daemon]) -> None:
    d = start_daemon("--max-clients", "1")
    with Client.connect(d.address, connect_timeout=T):
        with pytest.raises(ConnectionClosed, match="before sending an id"):
            Client.connect(d.address, connect_timeout=T)
    assert d.stop() == 0
    assert d.counters()["rejected"] == 1


def test_send_is_bounded_and_never_half_sent(
        start_daemon: Callable[..., Daemon]) -> None:
    """To a receiver that does not read, sends queue up to max_pending and
    then fail with Timeout, queueing nothing; every message that was
    accepted arrives whole and in order once the receiver reads."""
    d = start_daemon("--queue-limit", "64K")
    rx = Client.connect(d.address, connect_timeout=T)
    tx = Client.connect(d.address, connect_timeout=T,
                        max_message_size=10000, max_pending=100000)
    accepted = 0
    end_reached = False
    for i in range(100000):
        try:
            tx.send(rx.id, pattern(5000, i % 200), timeout=0)
        except Timeout:
            end_reached = True
            break
        accepted += 1
        assert tx.pending <= tx.max_pending
    assert end_reached, "the send buffer never filled"
    assert tx.pending > tx.max_pending - 5005
    with pytest.raises(Timeout):
        tx.flush(timeout=0)
    got = 0
    while got < accepted:
        try:
            tx.flush(timeout=0)
        except Timeout:
            pass
        try:
            msg = rx.recv(timeout=T)
        except Timeout:
            pytest.fail(f"{got} of {accepted} messages arrived")
        assert msg == pattern(5000, got % 200), f"message {got}"
        got += 1
    assert tx.pending == 0
    with pytest.raises(Timeout):
        rx.recv(timeout=0)
    tx.close()
    rx.close()
    assert d.stop() == 0
    assert d.counters()["forwarded"] == accepted


def test_timeouts(daemon: Daemon) -> None:
    with Client.connect(daemon.address, connect_timeout=T,
                        timeout=0.05) as c:
        assert c.timeout == 0.05
        with pytest.raises(Timeout) as e:
            c.recv()
        assert isinstance(e.value, TimeoutError)
        with pytest.raises(Timeout):
            c.recv(timeout=0)
        c.send(c.id, b"to myself")
        assert c.recv(timeout=None) == b"to myself"
    # A server that accepts but never sends an id.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        with pytest.raises(Timeout, match="timed out"):
            Client.connect(f"127.0.0.1:{port}", connect_timeout=0.2)
        with pytest.raises(Timeout, match="timed out"):
            Client.connect(f"127.0.0.1:{port}", connect_timeout=0)


def test_errors(daemon: Daemon, tmp_path: Path) -> None:
    # Nothing listens on a port we bound and closed.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectError) as ce:
        Client.connect(f"127.0.0.1:{port}", connect_timeout=T)
    assert ce.value.errno == errno.ECONNREFUSED
    assert isinstance(ce.value, ConnectionError)
    with pytest.raises(ConnectError) as ce:
        Client.connect(f"unix:{tmp_path}/none.sock", connect_timeout=T)
    assert ce.value.errno == errno.ENOENT
    with pytest.raises(InvalidAddress):
        Client.connect("127.0.0.1", connect_timeout=T)
    with pytest.raises(ValueError, match="max_pending"):
        Client.connect(daemon.address, max_message_size=100, max_pending=103)
    with pytest.raises(ValueError):
        Client.connect(daemon.address, timeout=-1)

    with Client.connect(daemon.address, connect_timeout=T) as a, \
            Client.connect(daemon.address, connect_timeout=T) as b:
        with pytest.raises(NulInPayload) as ne:
            a.send(b.id, b"ab\0cd")
        assert ne.value.offset == 2
        with pytest.raises(InvalidDestination):
            a.send(2 ** 32, b"x")
        with pytest.raises(TypeError):
            a.send(b.id, "text")  # type: ignore[arg-type]
        assert a.pending == 0
        assert a.send(b.id, b"the only one") is True
        assert b.recv(timeout=T) == b"the only one"
    calls: List[Callable[[], object]] = [
        lambda: a.send(b.id, b"x"), lambda: a.recv(), lambda: a.flush()]
    for call in calls:
        with pytest.raises(ClientClosed):
            call()
    a.close()                                 # twice is harmless
    assert daemon.stop() == 0
    c = daemon.counters()
    assert (c["forwarded"], c["bytes_received"]) == (1, 4 + 12 + 1)


def test_every_error_is_a_msgrouter_error() -> None:
    import msgrouter.errors as errors
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), MsgRouterError), name
        assert getattr(errors, name).__doc__, name
