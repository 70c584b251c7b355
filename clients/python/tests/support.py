"""Test support: the real msgrouterd on a free loopback port, helper
processes, and small protocol-speaking servers for what msgrouterd does not
speak yet (Unix sockets, TLS).

Every wait has a deadline (DEADLINE seconds, scaled by
HARNESS_TIMEOUT_SCALE like the C harness); nothing sleeps a fixed time to
let something happen.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Callable, Dict, List, Optional, Sequence, Tuple

import pytest

HERE = Path(__file__).resolve().parent
PACKAGE_DIR = HERE.parent                 # clients/python
REPO = PACKAGE_DIR.parent.parent          # the source tree

DEADLINE = 15.0 * max(1, int(os.environ.get("HARNESS_TIMEOUT_SCALE", "1")))


def tool(env: str, built: str) -> str:
    """The path of a built program: $env, or the build in the source tree."""
    path = os.environ.get(env)
    if path:
        return path
    candidate = REPO / built
    if os.access(candidate, os.X_OK):
        return str(candidate)
    pytest.skip(f"{env} is not set and {candidate} is not built "
                f"(run the tests with make check)")


def wait_for(what: str, cond: Callable[[], bool],
             timeout: float = DEADLINE) -> None:
    """Poll cond every 5 ms until it is true; fail after timeout."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def pattern(n: int, seed: int = 0) -> bytes:
    """n payload bytes, none 0x00, that depend on every position and seed."""
    block = bytes((i * 7 + seed) % 255 + 1 for i in range(255))
    return (block * (n // 255 + 1))[:n]


class Daemon:
    """One msgrouterd on 127.0.0.1, port 0, logging to a file."""

    def __init__(self, binary: str, log_path: Path,
                 args: Sequence[str] = ()) -> None:
        argv = [binary, "-l", "127.0.0.1:0", *args]
        if "--admin" not in args:
            # Tests that do not ask for the admin port must not race for
            # its default, 127.0.0.1:8081.
            argv += ["--admin", "off"]
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL,
                                         stderr=log)
        self.returncode: Optional[int] = None
        end = time.monotonic() + DEADLINE
        while True:
            m = re.search(r"info  listening on 127\.0\.0\.1:(\d+)\n",
                          self.log())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                pytest.fail(f"msgrouterd exited {self.proc.returncode}:\n"
                            f"{self.log()}")
            if time.monotonic() > end:
                self.proc.kill()
                self.proc.wait()
                pytest.fail(f"msgrouterd did not listen:\n{self.log()}")
            time.sleep(0.005)
        self.address = f"127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the daemon and wait for its exit status."""
        if self.returncode is None:
            self.proc.send_signal(sig)
            try:
                self.returncode = self.proc.wait(DEADLINE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                pytest.fail(f"msgrouterd did not exit:\n{self.log()}")
        return self.returncode

    def counters(self) -> Dict[str, int]:
        """The counters of the line the daemon logs when it exits."""
        lines = [ln for ln in self.log().splitlines()
                 if "final counters:" in ln]
        assert lines, f"no final counters in the log:\n{self.log()}"
        return {k: int(v) for k, v in
                re.findall(r" (\w+)=(\d+)", lines[-1])}

    def wait_log(self, text: str, count: int = 1) -> None:
        """Wait until text is in count lines of the log."""
        wait_for(f"{count} x {text!r} in the daemon log",
                 lambda: sum(text in ln for ln in self.log().splitlines())
                 >= count)


def read_line(stream: IO[bytes], timeout: float = DEADLINE) -> bytes:
    """One line from a pipe, within timeout (b"" at end of file)."""
    end = time.monotonic() + timeout
    line = b""
    fd = stream.fileno()
    while not line.endswith(b"\n"):
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            pytest.fail(f"timed out reading a line; got {line!r}")
        ch = os.read(fd, 1)
        if not ch:
            return line
        line += ch
    return line


def python_env() -> Dict[str, str]:
    """The environment for `python3 -m msgrouter` in a child process."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PACKAGE_DIR) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def python_cli(*args: str) -> List[str]:
    return [sys.executable, "-m", "msgrouter", *args]


class FakeRouter:
    """A small server that speaks the router's side of the protocol.

    It sends each client the id 42, parses what it sends with its own
    parser (not the library's), records each frame as (destination,
    payload), and delivers each payload back to its sender (payload +
    0x00), whatever the destination.  It serves TCP or a Unix socket,
    with TLS if given a server context.
    """

    ID = 42

    def __init__(self, listener: socket.socket,
                 context: Optional[ssl.SSLContext] = None) -> None:
        self.listener = listener
        self.context = context
        self.frames: List[Tuple[int, bytes]] = []
        self.errors: List[str] = []
        self.conns: List[socket.socket] = []
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,),
                             daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        try:
            if self.context is not None:
                conn = self.context.wrap_socket(conn, server_side=True)
            self.conns.append(conn)
            conn.sendall(self.ID.to_bytes(4, "big"))
            buf = b""
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                buf += data
                while len(buf) > 4 and b"\0" in buf[4:]:
                    end = buf.index(b"\0", 4)
                    dest, payload = int.from_bytes(buf[:4], "big"), \
                        buf[4:end]
                    buf = buf[end + 1:]
                    self.frames.append((dest, payload))
                    conn.sendall(payload + b"\0")
        except (OSError, ssl.SSLError) as e:
            self.errors.append(repr(e))
        finally:
            conn.close()

    def close(self) -> None:
        self._stop = True
        # close() alone does not wake a thread blocked in accept().
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        self.thread.join(DEADLINE)
        assert not self.thread.is_alive(), "the fake router did not stop"


def make_cert(directory: Path) -> Tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, and its key,
    made with the openssl binary (skip if there is none)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl binary to make a test certificate "
                    "(apt-get install openssl)")
    cert, key = directory / "cert.pem", directory / "key.pem"
    r = subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
         "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=DEADLINE)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return cert, key
