"""AsyncClient against the real msgrouterd (and a socketpair where the test
must control every byte the client reads)."""

from __future__ import annotations

import asyncio
import errno
import socket
from typing import Awaitable, Callable, List, Tuple, TypeVar

import pytest

from msgrouter import (DEFAULT_MAX_MESSAGE_SIZE, AsyncClient, ClientClosed,
                       ConnectError, ConnectionClosed, InvalidAddress,
                       InvalidDestination, MessageTooLarge, NulInPayload,
                       ReceivedTooLarge, Timeout)

from support import DEADLINE, Daemon, pattern

T = DEADLINE
_R = TypeVar("_R")


def run(coro: Awaitable[_R]) -> _R:
    """Run a test coroutine in a new event loop, within the deadline."""
    async def bounded() -> _R:
        return await asyncio.wait_for(coro, 4 * T)
    return asyncio.run(bounded())


_BYTES = bytes(range(1, 256)) * 2


def payload(sender: int, seq: int) -> bytes:
    """Message seq of sender: 0 to 199 bytes, none 0x00, which differ from
    the messages next to it in length, head and filler."""
    start = (seq * 31 + sender * 17) % 255
    return (b"%d:%d:" % (sender, seq) + _BYTES[start:start + 200])[:seq % 200]


def test_seed_exchange(daemon: Daemon) -> None:
    async def main() -> None:
        async with await AsyncClient.connect(daemon.address) as c1, \
                await AsyncClient.connect(daemon.address) as c2:
            assert c1.id != c2.id
            await c1.send(c2.id, b"hello, number 2")
            assert await c2.recv(timeout=T) == b"hello, number 2"
            await c2.send(c1.id, b"hello back, number 1")
            assert await c1.recv(timeout=T) == b"hello back, number 1"
        assert c1.closed and c2.closed
    run(main())
    assert daemon.stop() == 0
    c = daemon.counters()
    assert (c["forwarded"], c["bytes_forwarded"], c["bytes_received"],
            c["accepted"]) == (2, 16 + 21, 20 + 25, 2)


def test_100000_messages_every_byte_checked(daemon: Daemon) -> None:
    """Two clients send each other 100,000 messages each at once, through
    a small send bound (so send() waits for room often); every message
    arrives once, in order, byte for byte, and the queue never passes its
    bound by more than one message."""
    n = 100_000
    max_pending = 64 * 1024

    async def main() -> int:
        a = await AsyncClient.connect(daemon.address, max_pending=max_pending,
                                      max_message_size=1024)
        b = await AsyncClient.connect(daemon.address, max_pending=max_pending,
                                      max_message_size=1024)
        worst = 0

        async def sender(me: int, c: AsyncClient, dest: int) -> None:
            nonlocal worst
            for seq in range(n):
                await c.send(dest, payload(me, seq))
                worst = max(worst, c.pending)

        async def receiver(sender: int, c: AsyncClient) -> int:
            got = 0
            async for msg in c:
                assert msg == payload(sender, got), f"message {got}"
                got += 1
                if got == n:
                    break
            return got

        results = await asyncio.gather(
            sender(0, a, b.id), sender(1, b, a.id),
            receiver(0, b), receiver(1, a))
        assert list(results[2:]) == [n, n]
        for c in (a, b):
            await c.flush(timeout=T)
            assert c.pending == 0
            with pytest.raises(Timeout):
                await c.recv(timeout=0.01)
            await c.close()
        return worst

    worst = run(main())
    assert worst <= max_pending + 4 + 200
    assert daemon.stop() == 0
    c = daemon.counters()
    body = sum(len(payload(s, q)) + 1 for s in (0, 1) for q in range(n))
    assert (c["forwarded"], c["bytes_forwarded"],
            c["bytes_received"]) == (2 * n, body, body + 2 * n * 4)


def test_fragmented_input() -> None:
    """A message written one byte at a time comes out whole."""
    async def main() -> None:
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        loop = asyncio.get_running_loop()
        for b in (0, 0, 0, 9):          # the id, one byte at a time
            await loop.sock_sendall(ours, bytes([b]))
        c = await AsyncClient.attach(theirs, connect_timeout=T)
        assert c.id == 9
        msg = b"sent one byte at a time"
        task = asyncio.ensure_future(c.recv(timeout=T))
        for b in msg:
            await loop.sock_sendall(ours, bytes([b]))
            for _ in range(3):
                await asyncio.sleep(0)
            assert not task.done()
        await loop.sock_sendall(ours, b"\0")
        assert await task == msg
        await c.close()
        ours.close()
    run(main())


def test_many_messages_in_one_read() -> None:
    async def main() -> None:
        ours, theirs = socket.socketpair()
        ours.sendall((5).to_bytes(4, "big"))
        c = await AsyncClient.attach(theirs, connect_timeout=T)
        msgs = [b"message %d" % i + b"!" * (i % 5) for i in range(3000)]
        ours.sendall(b"".join(m + b"\0" for m in msgs))
        assert [await c.recv(timeout=T) for _ in msgs] == msgs
        ours.close()
        # The end of the stream ends the iteration.
        assert [m async for m in c] == []
        with pytest.raises(ConnectionClosed):
            await c.recv(timeout=T)
        await c.close()
    run(main())


def test_large_messages_near_the_limit(daemon: Daemon) -> None:
    big = pattern(DEFAULT_MAX_MESSAGE_SIZE - 1, 3)

    async def main() -> None:
        async with await AsyncClient.connect(daemon.address) as a, \
                await AsyncClient.connect(daemon.address) as b:
            await a.send(b.id, big)
            assert await b.recv(timeout=T) == big
            with pytest.raises(MessageTooLarge):
                await a.send(b.id, big + b"x")
            await a.send(b.id, b"still here")
            assert await b.recv(timeout=T) == b"still here"
        async with await AsyncClient.connect(daemon.address) as a, \
                await AsyncClient.connect(daemon.address,
                                          max_message_size=1000) as b:
            await a.send(b.id, pattern(1000, 1))
            await a.send(b.id, pattern(999, 2))
            with pytest.raises(ReceivedTooLarge):
                await b.recv(timeout=T)
            assert await b.recv(timeout=T) == pattern(999, 2)
    run(main())
    assert daemon.stop() == 0
    c = daemon.counters()
    assert (c["forwarded"], c["disconnected_oversize"]) == (4, 0)


def test_daemon_closes_the_connection(daemon: Daemon) -> None:
    async def main() -> None:
        a = await AsyncClient.connect(daemon.address)
        b = await AsyncClient.connect(daemon.address)
        for i in range(3):
            await a.send(b.id, b"before the end %d" % i)
        await a.flush(timeout=T)
        assert await asyncio.get_running_loop().run_in_executor(
            None, daemon.stop) == 0
        assert [m async for m in b] == [b"before the end %d" % i
                                        for i in range(3)]
        for _ in range(2):
            with pytest.raises(ConnectionClosed):
                await b.recv(timeout=T)

        async def send_until_closed() -> None:
            while True:
                await a.send(b.id, b"into the void")
                await asyncio.sleep(0.001)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(send_until_closed(), T)
        await a.close()
        await b.close()
    run(main())
    assert daemon.counters()["forwarded"] == 3


def test_timeouts_and_cancellation(daemon: Daemon) -> None:
    async def main() -> None:
        async with await AsyncClient.connect(daemon.address,
                                             timeout=0.05) as c:
            with pytest.raises(Timeout):
                await c.recv()
            with pytest.raises(Timeout):
                await c.recv(timeout=0)
            # A cancelled recv loses nothing.
            task = asyncio.ensure_future(c.recv(timeout=None))
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await c.send(c.id, b"to myself")
            assert await c.recv(timeout=T) == b"to myself"
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            port = silent.getsockname()[1]
            with pytest.raises(Timeout):
                await AsyncClient.connect(f"127.0.0.1:{port}",
                                          connect_timeout=0.2)
    run(main())


def test_errors(daemon: Daemon) -> None:
    async def main() -> Tuple[int, int]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with pytest.raises(ConnectError) as ce:
            await AsyncClient.connect(f"127.0.0.1:{port}")
        assert ce.value.errno == errno.ECONNREFUSED
        with pytest.raises(InvalidAddress):
            await AsyncClient.connect("[::1]")
        with pytest.raises(ValueError, match="max_pending"):
            await AsyncClient.connect(daemon.address, max_message_size=10,
                                      max_pending=13)
        a = await AsyncClient.connect(daemon.address)
        b = await AsyncClient.connect(daemon.address)
        with pytest.raises(NulInPayload):
            await a.send(b.id, b"\0")
        with pytest.raises(InvalidDestination):
            await a.send(-1, b"x")
        assert a.pending == 0
        await a.send(b.id, b"the only one")
        assert await b.recv(timeout=T) == b"the only one"
        await a.close()
        await a.close()
        calls: List[Callable[[], Awaitable[object]]] = [
            lambda: a.send(b.id, b"x"), lambda: a.recv(), lambda: a.flush()]
        for call in calls:
            with pytest.raises(ClientClosed):
                await call()
        await b.close()
        return a.id, b.id
    run(main())
    assert daemon.stop() == 0
    c = daemon.counters()
    assert (c["forwarded"], c["bytes_received"]) == (1, 4 + 12 + 1)


def test_many_tasks_share_one_client(daemon: Daemon) -> None:
    """Ten tasks send and three receive on one pair: each message arrives
    exactly once, and each receiver sees each sender's messages in
    order."""
    async def main() -> None:
        async with await AsyncClient.connect(daemon.address) as a, \
                await AsyncClient.connect(daemon.address) as b:
            async def send(k: int) -> None:
                for i in range(500):
                    await a.send(b.id, b"%d %d" % (k, i))

            got: List[List[bytes]] = [[], [], []]

            async def recv(mine: List[bytes]) -> None:
                while sum(map(len, got)) < 5000:
                    try:
                        mine.append(await b.recv(timeout=0.2))
                    except Timeout:
                        pass
            await asyncio.gather(*[send(k) for k in range(10)],
                                 *[recv(g) for g in got])
            assert sorted(got[0] + got[1] + got[2]) == \
                sorted(b"%d %d" % (k, i) for k in range(10)
                       for i in range(500))
            for mine in got:
                for k in range(10):
                    seqs = [int(m.split()[1]) for m in mine
                            if m.startswith(b"%d " % k)]
                    assert seqs == sorted(seqs)
    run(main())
