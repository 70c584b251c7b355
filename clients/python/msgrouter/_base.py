"""What the blocking and the asyncio client share: their settings and state."""

from __future__ import annotations

from typing import Optional

from ._frame import Deframer


class _ClientBase:
    """The read-only properties of a connection to msgrouterd.

    Subclasses set ``_id``, ``_address``, ``_closed``, ``_timeout``,
    ``_in`` and ``_max_pending`` when they connect.
    """

    _id: int
    _address: str
    _closed: bool
    _timeout: Optional[float]
    _in: Deframer
    _max_pending: int

    @property
    def id(self) -> int:
        """The id the router gave us, from 1 to 2**32 - 1."""
        return self._id

    @property
    def address(self) -> str:
        """The router's address, as given to ``connect``."""
        return self._address

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._closed

    @property
    def timeout(self) -> Optional[float]:
        """The default timeout of every call, in seconds (None: no limit)."""
        return self._timeout

    @property
    def max_message_size(self) -> int:
        """The bound on one message, payload + 0x00, both ways."""
        return self._in.max_message_size
