"""Timeouts shared by both clients: the per-call default and deadlines."""

from __future__ import annotations

import enum
import time
from typing import Optional, Union

__all__ = ["DEFAULT", "TimeoutArg", "check_timeout", "resolve", "deadline",
           "left"]


class _Default(enum.Enum):
    """The type of :data:`DEFAULT`."""

    DEFAULT = "DEFAULT"

    def __repr__(self) -> str:
        return "DEFAULT"


#: A call's ``timeout`` left at this takes the client's own ``timeout``.
DEFAULT = _Default.DEFAULT

#: Seconds (``0``: do not wait), ``None`` (no limit) or :data:`DEFAULT`.
TimeoutArg = Union[float, None, _Default]


def check_timeout(name: str, value: Optional[float]) -> Optional[float]:
    """Return value if it is None or a number of seconds >= 0, else raise."""
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(
            f"{name} is seconds or None, not {type(value).__name__}")
    if not value >= 0:  # also refuses NaN
        raise ValueError(f"{name} must be >= 0 or None, got {value}")
    return float(value)


def resolve(timeout: TimeoutArg, default: Optional[float]) -> Optional[float]:
    """The timeout a call uses: its own, or the client's for DEFAULT."""
    if isinstance(timeout, _Default):
        return default
    return check_timeout("timeout", timeout)


def deadline(timeout: Optional[float]) -> Optional[float]:
    """The monotonic time at which a wait of timeout seconds ends."""
    return None if timeout is None else time.monotonic() + timeout


def left(at: Optional[float]) -> Optional[float]:
    """Seconds left before the deadline (at least 0), None for no limit."""
    return None if at is None else max(0.0, at - time.monotonic())
