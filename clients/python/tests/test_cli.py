"""python3 -m msgrouter, the command line, against the real daemon and
msgrouter-cat; and python3 -m msgrouter.bench, briefly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

from msgrouter import Client

from support import (DEADLINE, Daemon, python_cli, python_env, read_line)

T = DEADLINE


def start(argv: List[str]) -> "subprocess.Popen[bytes]":
    return subprocess.Popen(argv, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=python_env())


def finish(p: "subprocess.Popen[bytes]") -> Tuple[int, bytes, bytes]:
    """Close stdin, wait for the exit; the status, stdout and stderr."""
    out, err = p.communicate(timeout=T)
    return p.returncode, out, err


def test_cli_sends_and_receives(daemon: Daemon, tmp_path: Path) -> None:
    id_file = tmp_path / "py.id"
    with Client.connect(daemon.address, connect_timeout=T) as peer:
        p = start(python_cli("-H", daemon.address, "--id-file",
                             str(id_file), "--to", str(peer.id)))
        assert p.stdin is not None and p.stdout is not None
        assert p.stderr is not None
        line = read_line(p.stderr)
        cli_id = int(id_file.read_text())
        assert line == b"msgrouter: id %d\n" % cli_id
        p.stdin.write(b"first line\n\nthird \xff line\n")
        p.stdin.flush()
        assert [peer.recv(timeout=T) for _ in range(3)] == \
            [b"first line", b"", b"third \xff line"]
        peer.send(cli_id, b"back to the cli")
        assert read_line(p.stdout) == b"back to the cli\n"
        p.stdin.write(b"last, without newline")
        rc, out, err = finish(p)
        assert (rc, out, err) == (0, b"", b"")
        assert peer.recv(timeout=T) == b"last, without newline"
    assert daemon.stop() == 0
    assert daemon.counters()["forwarded"] == 5


def test_cli_and_msgrouter_cat(daemon: Daemon, cat_binary: str,
                               tmp_path: Path) -> None:
    """The Python command line and the C one talk, both ways."""
    cat = start([cat_binary, "-H", daemon.address, "--id-file",
                 str(tmp_path / "cat.id")])
    assert cat.stderr is not None and cat.stdout is not None
    cat_id = int(read_line(cat.stderr).split()[-1])
    py = start(python_cli("-H", daemon.address, "--to", str(cat_id)))
    assert py.stderr is not None and py.stdin is not None
    assert py.stdout is not None and cat.stdin is not None
    py_id = int(read_line(py.stderr).split()[-1])
    py.stdin.write(b"from python\n")
    py.stdin.flush()
    assert read_line(cat.stdout) == b"from python\n"
    cat.stdin.write(b"%d from c\n" % py_id)
    cat.stdin.flush()
    assert read_line(py.stdout) == b"from c\n"
    assert finish(py) == (0, b"", b"")
    assert finish(cat) == (0, b"", b"")


def test_cli_skips_bad_lines(daemon: Daemon) -> None:
    """Lines it cannot send are reported with their number and skipped;
    the lines after them are sent."""
    with Client.connect(daemon.address, connect_timeout=T) as peer:
        p = start(python_cli("-H", daemon.address,
                             "--max-message-size", "16"))
        lines = (b"%d ok 1\n" % peer.id +
                 b"no id here\n" +
                 b"%d has a \0 byte\n" % peer.id +
                 b"%d %s\n" % (peer.id, b"x" * 16) +
                 b"99999999999 too big an id\n" +
                 b"%d %s\n" % (peer.id, b"y" * 15) +
                 b"%d ok 2\n" % peer.id)
        out, err = p.communicate(lines, timeout=T)
        assert p.returncode == 0 and out == b""
        assert err.decode().splitlines()[1:] == [
            'msgrouter: stdin line 2: expected "ID message" with a '
            'decimal ID below 2^32, skipped',
            "msgrouter: stdin line 3: a message cannot hold a 0x00 byte, "
            "skipped",
            "msgrouter: stdin line 4: a message of 16 bytes is over "
            "--max-message-size 16 with its 0x00, skipped",
            'msgrouter: stdin line 5: expected "ID message" with a '
            'decimal ID below 2^32, skipped',
        ]
        assert [peer.recv(timeout=T) for _ in range(3)] == \
            [b"ok 1", b"y" * 15, b"ok 2"]


def test_cli_exit_status(daemon: Daemon) -> None:
    def run(*args: str) -> Tuple[int, str]:
        r = subprocess.run(python_cli(*args), stdin=subprocess.DEVNULL,
                           capture_output=True, env=python_env(), timeout=T)
        return r.returncode, r.stderr.decode()

    rc, err = run("--to", "4294967296")
    assert rc == 2 and "--to: expected a decimal id from 0 to 4294967295" \
        in err
    rc, err = run("-m", "2X")
    assert rc == 2 and "expected a size from 1 to 1G" in err
    rc, err = run("-H", "localhost")
    assert rc == 2 and err.startswith("msgrouter: --host: ")
    rc, err = run("-H", "unix:/nonexistent/r.sock")
    assert rc == 1 and err.startswith(
        "msgrouter: cannot connect to unix:/nonexistent/r.sock: ")
    rc, err = run("-H", daemon.address)
    assert rc == 0 and err.startswith("msgrouter: id ")


def test_cli_router_goes_away(daemon: Daemon) -> None:
    p = start(python_cli("-H", daemon.address, "--to", "1"))
    assert p.stderr is not None
    assert read_line(p.stderr).startswith(b"msgrouter: id ")
    assert daemon.stop() == 0
    rc, out, err = finish(p)
    assert (rc, out) == (1, b"")
    assert err == (b"msgrouter: connection to %s: the router closed the "
                   b"connection\n" % daemon.address.encode())


def test_bench_runs_and_checks(daemon: Daemon) -> None:
    """A short run of the benchmark: every message sent is received and
    checked, none lost or corrupt."""
    r = subprocess.run(
        [sys.executable, "-m", "msgrouter.bench", "-H", daemon.address,
         "--duration", "0.3", "--warmup", "0.1", "--json"],
        stdin=subprocess.DEVNULL, capture_output=True, env=python_env(),
        timeout=T)
    assert r.returncode == 0, r.stderr.decode()
    report = json.loads(r.stdout)
    assert report["msgs"] > 0
    assert (report["lost"], report["corrupt"], report["drained"]) == \
        (0, 0, True)
    assert report["sent"] == report["received"]
    assert daemon.stop() == 0
    assert daemon.counters()["forwarded"] == report["sent"]
