"""The package as a package: pip installs it offline, pydoc renders it."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import DEADLINE, PACKAGE_DIR, python_env

MODULES = ["__init__.py", "__main__.py", "_address.py", "_base.py",
           "_frame.py", "_timeout.py", "aio.py", "bench.py", "client.py",
           "errors.py", "py.typed"]


def test_pip_install_offline(tmp_path: Path) -> None:
    """pip install --no-build-isolation works with no package index, with
    the system's setuptools, and installs every module and py.typed."""
    for need in ("pip", "setuptools", "wheel"):
        if importlib.util.find_spec(need) is None:
            pytest.skip(f"{sys.executable} has no {need} "
                        f"(apt-get install python3-pip)")
    # A copy: pip builds in the source directory, which may be read-only.
    src = tmp_path / "src"
    shutil.copytree(PACKAGE_DIR, src, ignore=shutil.ignore_patterns(
        "__pycache__", "*.pyc", "tests", "build", "*.egg-info",
        ".mypy_cache"))
    target = tmp_path / "site"
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_NO_CACHE_DIR="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1")
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-build-isolation",
         "--no-deps", "--target", str(target), str(src)],
        capture_output=True, env=env, timeout=4 * DEADLINE)
    assert r.returncode == 0, (r.stdout + r.stderr).decode()
    installed = sorted(p.name for p in (target / "msgrouter").iterdir()
                       if p.name != "__pycache__")
    assert installed == sorted(MODULES)
    r = subprocess.run(
        [sys.executable, "-c", "import msgrouter, sys; "
         "sys.stdout.write(msgrouter.__file__ + ' ' + msgrouter.__version__)"],
        capture_output=True, timeout=DEADLINE, cwd=str(tmp_path),
        env=dict(env, PYTHONPATH=str(target)))
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode() == \
        f"{target / 'msgrouter' / '__init__.py'} 0.1.0"


def test_source_modules_are_the_listed_ones() -> None:
    """MODULES above (and EXTRA_DIST in local.mk) name every file."""
    found = sorted(p.name for p in (PACKAGE_DIR / "msgrouter").iterdir()
                   if p.is_file() and not p.name.endswith(".pyc"))
    assert found == sorted(MODULES)


def test_pydoc_renders() -> None:
    for module, words in [
            ("msgrouter", ["Client", "AsyncClient", "two clients say hello"]),
            ("msgrouter.client", ["class Client", "connect(",
                                  "connect_timeout",
                                  "Send payload to the client whose id"]),
            ("msgrouter.aio", ["class AsyncClient", "async for msg in"]),
            ("msgrouter.errors", ["class NulInPayload", "ReceivedTooLarge"])]:
        r = subprocess.run([sys.executable, "-m", "pydoc", module],
                           capture_output=True, env=python_env(),
                           timeout=DEADLINE)
        text = r.stdout.decode()
        assert r.returncode == 0, r.stderr.decode()
        for w in words:
            assert w.lower() in text.lower(), (module, w)


def test_local_mk_ships_every_file() -> None:
    """make dist ships what local.mk names: every module and every test."""
    mk = (PACKAGE_DIR / "local.mk").read_text()
    names = [f"clients/python/msgrouter/{m}" for m in MODULES]
    names += [f"clients/python/tests/{p.name}"
              for p in (PACKAGE_DIR / "tests").iterdir()
              if p.suffix in (".py", ".sh")]
    names += ["clients/python/README.md", "clients/python/pyproject.toml"]
    missing = [n for n in names if n not in mk.split()]
    assert missing == []
