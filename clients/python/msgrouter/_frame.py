"""The msgrouter framing, both ways, with no I/O.

A client sends ``[4-byte big-endian destination id][payload][0x00]``, the
payload holding no 0x00; the router delivers ``[payload][0x00]``.  Both
clients (the blocking one and the asyncio one) use these functions, so the
framing is written and tested once, without sockets.
"""

from __future__ import annotations

from collections import deque
from typing import Deque, Optional

from .errors import (InvalidDestination, MessageTooLarge, NulInPayload,
                     ReceivedTooLarge)

__all__ = ["HEADER_LEN", "ID_MAX", "DEFAULT_MAX_MESSAGE_SIZE",
           "DEFAULT_MAX_PENDING", "encode", "decode_id", "Deframer"]

#: Bytes of the destination header, and of the id the router sends first.
HEADER_LEN = 4
#: The largest id (and destination).
ID_MAX = 0xFFFFFFFF
#: The router's default ``max_message_size``: payload + 0x00, 1 MiB.
DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024
#: The default bound on bytes queued for sending, 16 MiB (as the C library).
DEFAULT_MAX_PENDING = 16 * 1024 * 1024


def check_size(name: str, value: int, minimum: int) -> int:
    """Return value if it is an int of at least minimum, else raise.

    Raises ``TypeError`` or ``ValueError``: a bad setting is a programming
    error, not something the router did.
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


def check_bounds(max_message_size: int, max_pending: int) -> None:
    """Refuse bounds a client cannot work with (ValueError, TypeError)."""
    check_size("max_message_size", max_message_size, 1)
    check_size("max_pending", max_pending, 1)
    if max_pending < max_message_size + HEADER_LEN:
        raise ValueError(
            f"max_pending ({max_pending}) must hold one largest frame, "
            f"max_message_size + {HEADER_LEN} "
            f"({max_message_size + HEADER_LEN})")


def encode(dest: int, payload: bytes, max_message_size: int) -> bytes:
    """Return the frame that sends payload to dest, or raise before any I/O.

    Raises :class:`~msgrouter.errors.InvalidDestination` for a destination
    outside 0..2**32-1, :class:`~msgrouter.errors.NulInPayload` for a 0x00
    in the payload and :class:`~msgrouter.errors.MessageTooLarge` when the
    payload and its 0x00 are over max_message_size; ``TypeError`` when the
    payload is not bytes-like (a ``str`` must be encoded first).
    """
    # The common case first, with as few checks as it needs.
    if type(payload) is not bytes or type(dest) is not int or \
            not 0 <= dest <= ID_MAX:
        payload = _check_slow(dest, payload)
    if len(payload) >= max_message_size:
        raise MessageTooLarge(len(payload) + 1, max_message_size)
    nul = payload.find(0)
    if nul >= 0:
        raise NulInPayload(nul)
    return b"".join((dest.to_bytes(HEADER_LEN, "big"), payload, b"\0"))


def _check_slow(dest: int, payload: bytes) -> bytes:
    """Check what encode()'s fast path did not; return payload as bytes."""
    if not isinstance(dest, int) or isinstance(dest, bool):
        raise InvalidDestination(
            f"a destination is an int, not {type(dest).__name__}")
    if not 0 <= dest <= ID_MAX:
        raise InvalidDestination(
            f"a destination is from 0 to {ID_MAX}, got {dest}")
    if isinstance(payload, str):
        raise TypeError("a payload is bytes, not str: encode it first")
    # Bytes-like objects only (bytearray, memoryview, ...): bytes(12)
    # would be twelve 0x00 bytes, memoryview(12) is a TypeError.
    return bytes(memoryview(payload))


def decode_id(data: bytes) -> int:
    """Return the id in the 4 bytes the router sends on connect."""
    if len(data) != HEADER_LEN:
        raise ValueError(f"an id is {HEADER_LEN} bytes, got {len(data)}")
    return int.from_bytes(data, "big")


class Deframer:
    """Split the router's byte stream into messages, with bounded memory.

    Feed it what the socket returns with :meth:`feed` and take messages
    with :meth:`next` until it returns ``None``, then feed it again.  A
    message whose payload and 0x00 are over ``max_message_size`` is not
    held: its bytes are discarded as they come, and :meth:`next` raises
    :class:`~msgrouter.errors.ReceivedTooLarge` once in its place.  So what
    it holds is less than ``max_message_size`` bytes of an unfinished
    message plus the messages of the last chunk fed; a caller that feeds
    only when :meth:`next` has returned ``None`` keeps it bounded.
    """

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
                 ) -> None:
        self._limit = check_size("max_message_size", max_message_size, 1)
        # The unfinished message: always shorter than the limit.
        self._tail = bytearray()
        # Discarding an oversized message until its 0x00.
        self._skipping = False
        # Whole messages, in order; None stands for one that was too large.
        self._ready: Deque[Optional[bytes]] = deque()

    @property
    def max_message_size(self) -> int:
        """The bound on one message, payload + 0x00."""
        return self._limit

    @property
    def buffered(self) -> int:
        """Bytes held: the unfinished message and the messages not taken."""
        return len(self._tail) + sum(len(m) for m in self._ready if m)

    @property
    def has_message(self) -> bool:
        """Whether :meth:`next` returns a message (or raises) at once."""
        return bool(self._ready)

    @property
    def in_message(self) -> bool:
        """Whether part of a message has arrived but not its 0x00."""
        return bool(self._tail) or self._skipping

    def feed(self, data: bytes) -> None:
        """Take the next bytes of the stream (any split, any size)."""
        if not data:
            return
        limit = self._limit
        if data.find(0) < 0:
            # No end of message: the unfinished one grows, or is skipped.
            if not self._skipping:
                self._tail += data
                if len(self._tail) >= limit:
                    self._too_large()
            return
        parts = data.split(b"\0")
        last = parts.pop()
        first = parts[0]
        if self._skipping:
            self._skipping = False
        elif self._tail:
            self._tail += first
            msg = bytes(self._tail)
            self._tail.clear()
            self._ready.append(msg if len(msg) < limit else None)
        else:
            self._ready.append(first if len(first) < limit else None)
        if len(data) < limit:
            # No part can be over the limit: no check per message.
            self._ready.extend(parts[1:])
        else:
            self._ready.extend(m if len(m) < limit else None
                               for m in parts[1:])
        if last:
            self._tail += last
            if len(self._tail) >= limit:
                self._too_large()

    def _too_large(self) -> None:
        """Drop the unfinished message and skip the rest of it."""
        self._tail.clear()
        self._skipping = True
        self._ready.append(None)

    def next(self) -> Optional[bytes]:
        """Return the next whole message (payload only), or ``None``.

        Raises :class:`~msgrouter.errors.ReceivedTooLarge` in place of a
        message that was over ``max_message_size``.
        """
        if not self._ready:
            return None
        msg = self._ready.popleft()
        if msg is None:
            raise ReceivedTooLarge(self._limit)
        return msg
