"""Fixtures: the daemon (started per test, stopped with SIGTERM, exit status
0 asserted), the built C tools, and a test certificate."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Callable, Iterator, List, Tuple

import pytest

# The package under test is the source tree's, never an installed copy.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from support import Daemon, make_cert, tool  # noqa: E402

_seq = itertools.count()


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    """Start msgrouterd with extra flags; every one started is stopped at
    the end with SIGTERM and must exit 0."""
    binary = tool("MSGROUTERD", "src/msgrouterd")
    daemons: List[Daemon] = []

    def start(*args: str) -> Daemon:
        d = Daemon(binary, tmp_path / f"daemon-{next(_seq)}.log", args)
        daemons.append(d)
        return d

    yield start
    for d in daemons:
        rc = d.stop()
        assert rc == 0, f"msgrouterd exited {rc}:\n{d.log()}"


@pytest.fixture
def daemon(start_daemon: Callable[..., Daemon]) -> Daemon:
    """msgrouterd with its defaults on a free loopback port."""
    return start_daemon()


@pytest.fixture
def cat_binary() -> str:
    return tool("MSGROUTER_CAT", "tools/msgrouter-cat")


@pytest.fixture(scope="session")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Path]:
    """A self-signed certificate (cert.pem, key.pem) for localhost."""
    return make_cert(tmp_path_factory.mktemp("tls"))
