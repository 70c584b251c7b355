"""Unix sockets and TLS: both clients against FakeRouter, a small server in
the test that speaks the protocol (id 42, and each frame delivered back to
its sender); and a Unix-socket client with a TCP one on the real
msgrouterd, plain and over TLS."""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, Iterator, List, Tuple

import pytest

from msgrouter import (AsyncClient, Client, ConnectError, InvalidAddress)

from support import (DEADLINE, Daemon, FakeRouter, pattern, python_cli,
                     python_env, read_line)

T = DEADLINE


@pytest.fixture
def unix_router() -> Iterator[Tuple[FakeRouter, str]]:
    # A short directory: a socket path must fit in sun_path (108 bytes).
    with tempfile.TemporaryDirectory(prefix="mr") as d:
        path = str(Path(d) / "r.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen()
        router = FakeRouter(listener)
        yield router, f"unix:{path}"
        router.close()


def server_context(cert: Tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


@pytest.fixture
def tls_router(cert: Tuple[Path, Path]
               ) -> Iterator[Tuple[FakeRouter, str]]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    router = FakeRouter(listener, server_context(cert))
    yield router, f"127.0.0.1:{listener.getsockname()[1]}"
    router.close()


@pytest.fixture
def tls_unix_router(cert: Tuple[Path, Path]
                    ) -> Iterator[Tuple[FakeRouter, str]]:
    with tempfile.TemporaryDirectory(prefix="mr") as d:
        path = str(Path(d) / "t.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen()
        router = FakeRouter(listener, server_context(cert))
        yield router, f"unix:{path}"
        router.close()


def client_context(cert: Tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert[0]))


def exchange_blocking(address: str, router: FakeRouter,
                      **kwargs: object) -> None:
    big = pattern(300_000, 5)
    with Client.connect(address, connect_timeout=T,
                        **kwargs) as c:  # type: ignore[arg-type]
        assert c.id == FakeRouter.ID
        assert c.send(7, b"echo me") is True
        assert c.recv(timeout=T) == b"echo me"
        assert c.send(9, big, timeout=T) is True
        assert c.recv(timeout=T) == big
    assert router.frames == [(7, b"echo me"), (9, big)]


def exchange_async(address: str, router: FakeRouter,
                   **kwargs: object) -> None:
    big = pattern(300_000, 6)

    async def main() -> None:
        async with await AsyncClient.connect(
                address, connect_timeout=T,
                **kwargs) as c:  # type: ignore[arg-type]
            assert c.id == FakeRouter.ID
            await c.send(7, b"echo me")
            assert await c.recv(timeout=T) == b"echo me"
            await c.send(9, big)
            await c.flush(timeout=T)
            assert await c.recv(timeout=T) == big
    asyncio.run(asyncio.wait_for(main(), 4 * T))
    assert router.frames == [(7, b"echo me"), (9, big)]


def test_unix_blocking(unix_router: Tuple[FakeRouter, str]) -> None:
    exchange_blocking(unix_router[1], unix_router[0])


def test_unix_async(unix_router: Tuple[FakeRouter, str]) -> None:
    exchange_async(unix_router[1], unix_router[0])


def test_unix_real_daemon(start_daemon: Callable[..., Daemon]) -> None:
    """msgrouterd on TCP and a Unix socket at once: the two clients share
    one router and exchange messages byte for byte."""
    big = pattern(200_000, 7)
    with tempfile.TemporaryDirectory(prefix="mr") as d:
        path = str(Path(d) / "r.sock")
        daemon = start_daemon("-l", f"127.0.0.1:0, unix:{path}")
        daemon.wait_log(f"listening on unix:{path}")
        with Client.connect(f"unix:{path}", connect_timeout=T) as u, \
                Client.connect(daemon.address, connect_timeout=T) as t:
            assert u.send(t.id, b"from unix") is True
            assert t.recv(timeout=T) == b"from unix"
            assert t.send(u.id, big, timeout=T) is True
            assert u.recv(timeout=T) == big
        daemon.wait_log("connected from unix")
        assert daemon.stop() == 0
        assert not Path(path).exists()


def test_tls_real_daemon(start_daemon: Callable[..., Daemon],
                         cert: Tuple[Path, Path]) -> None:
    """msgrouterd with a TLS port beside its plain one: a TLS client and a
    plain client share one router and exchange messages byte for byte,
    and the router's certificate is checked against the test CA."""
    big = pattern(200_000, 11)
    daemon = start_daemon("--tls-listen", "127.0.0.1:0",
                          "--tls-cert", str(cert[0]),
                          "--tls-key", str(cert[1]))
    m = re.search(r"tls listening on 127\.0\.0\.1:(\d+)\n", daemon.log())
    assert m is not None, daemon.log()
    with Client.connect(f"127.0.0.1:{m.group(1)}", ssl=client_context(cert),
                        connect_timeout=T) as s, \
            Client.connect(daemon.address, connect_timeout=T) as p:
        assert s.send(p.id, b"from tls") is True
        assert p.recv(timeout=T) == b"from tls"
        assert p.send(s.id, big, timeout=T) is True
        assert s.recv(timeout=T) == big
    daemon.wait_log("(tls)")
    assert daemon.stop() == 0


def test_tls_blocking(tls_router: Tuple[FakeRouter, str],
                      cert: Tuple[Path, Path]) -> None:
    exchange_blocking(tls_router[1], tls_router[0],
                      ssl=client_context(cert))


def test_tls_async(tls_router: Tuple[FakeRouter, str],
                   cert: Tuple[Path, Path]) -> None:
    exchange_async(tls_router[1], tls_router[0], ssl=client_context(cert))


def test_tls_over_unix(tls_unix_router: Tuple[FakeRouter, str],
                       cert: Tuple[Path, Path]) -> None:
    router, address = tls_unix_router
    with pytest.raises(InvalidAddress, match="server_hostname"):
        Client.connect(address, ssl=client_context(cert))
    exchange_blocking(address, router, ssl=client_context(cert),
                      server_hostname="localhost")
    router.frames.clear()
    exchange_async(address, router, ssl=client_context(cert),
                   server_hostname="localhost")


def test_tls_refuses_an_unknown_certificate(
        tls_router: Tuple[FakeRouter, str]) -> None:
    """A certificate the context does not trust is a ConnectError, before
    any id: the system CAs do not know our self-signed one."""
    address = tls_router[1]
    with pytest.raises(ConnectError, match="certificate verify failed"):
        Client.connect(address, connect_timeout=T,
                       ssl=ssl.create_default_context(cafile=None,
                                                      capath="/nonexistent"))

    async def main() -> None:
        with pytest.raises(ConnectError, match="certificate verify failed"):
            await AsyncClient.connect(
                address, connect_timeout=T,
                ssl=ssl.create_default_context(capath="/nonexistent"))
    asyncio.run(main())
    assert tls_router[0].frames == []


def test_tls_checks_the_name(tls_router: Tuple[FakeRouter, str],
                             cert: Tuple[Path, Path]) -> None:
    with pytest.raises(ConnectError):
        Client.connect(tls_router[1], connect_timeout=T,
                       ssl=client_context(cert),
                       server_hostname="not-the-name.example")


def test_cli_over_tls_and_unix(tls_router: Tuple[FakeRouter, str],
                               unix_router: Tuple[FakeRouter, str],
                               cert: Tuple[Path, Path]) -> None:
    """python3 -m msgrouter --cafile speaks TLS; -H unix:PATH a Unix
    socket: a line goes out as a frame and comes back printed."""
    runs: List[Tuple[FakeRouter, str, List[str]]] = [
        (tls_router[0], tls_router[1], ["--cafile", str(cert[0])]),
        (unix_router[0], unix_router[1], [])]
    for router, address, extra in runs:
        p = subprocess.Popen(
            python_cli("-H", address, "--to", "7", *extra),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=python_env())
        assert p.stdin is not None and p.stdout is not None
        p.stdin.write(b"over the wire\n")
        p.stdin.flush()
        assert read_line(p.stdout) == b"over the wire\n"
        out, err = p.communicate(timeout=T)
        assert (p.returncode, out, err) == \
            (0, b"", b"msgrouter: id %d\n" % FakeRouter.ID)
        assert router.frames == [(7, b"over the wire")]
