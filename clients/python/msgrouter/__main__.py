"""``python3 -m msgrouter``: send and receive messages from the command line.

Like msgrouter-cat: it connects, prints its id on standard error as
``msgrouter: id N`` (and to ``--id-file``), sends each line of standard
input as one message (to ``--to ID``, or lines of the form ``ID message``)
and prints each message it receives on a line of its own.  At the end of
its input it finishes sending, keeps receiving for ``--wait`` seconds, and
exits 0; 1 when the router cannot be reached or goes away; 2 for bad usage.
"""

from __future__ import annotations

import argparse
import os
import select
import ssl
import sys
import time
from typing import List, Optional

from ._frame import ID_MAX
from .client import Client
from .errors import (ConnectError, ConnectionClosed, InvalidAddress,
                     InvalidMessage, MessageTooLarge, NulInPayload,
                     ReceivedTooLarge, Timeout, TransportError)

PROG = "msgrouter"
#: Bytes read from standard input at once.
READ_SIZE = 64 * 1024
#: Standard input is not read while this much waits to be sent.
PAUSE_PENDING = 1024 * 1024
#: The connection, the TLS handshake and the id, in seconds.
CONNECT_TIMEOUT = 5.0
#: The largest --max-message-size: 1 GiB, as msgrouter-cat.
MAX_MESSAGE_MAX = 1024 ** 3


def _parse_size(text: str) -> int:
    """A size like 512, 64K, 1M or 1G (powers of 1024), from 1 to 1G."""
    units = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}
    digits = text.rstrip("KMGkmg")
    unit = text[len(digits):].upper()
    if not digits.isascii() or not digits.isdigit() or unit not in units:
        raise argparse.ArgumentTypeError(
            f"expected a size from 1 to 1G like 64K or 1M, got {text!r}")
    value = int(digits) * units[unit]
    if not 1 <= value <= MAX_MESSAGE_MAX:
        raise argparse.ArgumentTypeError(
            f"expected a size from 1 to 1G like 64K or 1M, got {text!r}")
    return value


def _parse_id(text: str) -> int:
    """A decimal id from 0 to 2**32 - 1."""
    if not text.isascii() or not text.isdigit() or int(text) > ID_MAX:
        raise argparse.ArgumentTypeError(
            f"expected a decimal id from 0 to {ID_MAX}, got {text!r}")
    return int(text)


def _parse_seconds(text: str) -> float:
    """Seconds from 0 to 1000000, a decimal fraction allowed."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1e6:
        raise argparse.ArgumentTypeError(
            f"expected seconds from 0 to 1000000 like 0.5, got {text!r}")
    return value


def _arguments() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"python3 -m {PROG}",
        description="Send each line of standard input as one msgrouterd "
        "message and print each message received on a line of its own.  "
        "Our id is printed on standard error.",
        epilog="Exit status: 0 at the end of standard input, 1 when the "
        "router cannot be reached or goes away, 2 for bad usage.")
    p.add_argument("-H", "--host", default="127.0.0.1:8080",
                   metavar="HOST:PORT",
                   help="router address: HOST:PORT, [IPV6]:PORT or "
                   "unix:PATH (default %(default)s)")
    p.add_argument("-t", "--to", type=_parse_id, metavar="ID",
                   help="send every line to ID; without it, lines are "
                   "\"ID message\"")
    p.add_argument("-i", "--id-file", metavar="FILE",
                   help="write our id (decimal and a newline) to FILE")
    p.add_argument("-m", "--max-message-size", type=_parse_size,
                   default=1024 * 1024, metavar="BYTES",
                   help="the router's limit on payload + 0x00, like 64K "
                   "(default 1M); longer lines are skipped")
    p.add_argument("-w", "--wait", type=_parse_seconds, default=0.0,
                   metavar="SECONDS",
                   help="after standard input ends, keep receiving this "
                   "long")
    p.add_argument("--tls", action="store_true",
                   help="speak TLS, checking the router's certificate "
                   "against the system's CAs")
    p.add_argument("--cafile", metavar="FILE",
                   help="with --tls: trust the CA certificates in FILE "
                   "instead (implies --tls)")
    return p


def _warn(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


class _Cat:
    """The state of one run: the client, the line buffer, the counts."""

    def __init__(self, client: Client, to: Optional[int],
                 max_message: int) -> None:
        self.client = client
        self.to = to
        self.max_message = max_message
        self.line = bytearray()
        self.lineno = 0
        self.too_long = False  # skipping the rest of a long line
        self.eof = False
        self.out = sys.stdout.buffer

    def send_line(self, line: bytes) -> None:
        """Send one complete stdin line, or say why it is skipped."""
        self.lineno += 1
        dest = self.to
        if dest is None:
            head, sep, line = line.partition(b" ")
            if not sep or not head.isdigit() or int(head) > ID_MAX:
                _warn(f"stdin line {self.lineno}: expected \"ID message\" "
                      f"with a decimal ID below 2^32, skipped")
                return
            dest = int(head)
        try:
            self.client.send(dest, line, timeout=0)
        except NulInPayload:
            _warn(f"stdin line {self.lineno}: a message cannot hold a "
                  f"0x00 byte, skipped")
        except MessageTooLarge:
            _warn(f"stdin line {self.lineno}: a message of {len(line)} "
                  f"bytes is over --max-message-size {self.max_message} "
                  f"with its 0x00, skipped")
        except (InvalidMessage, Timeout) as e:
            _warn(f"stdin line {self.lineno}: {e}, skipped")

    def read_stdin(self) -> None:
        """Read what standard input has and send its complete lines."""
        data = os.read(0, READ_SIZE)
        if not data:
            self.eof = True
            if self.line and not self.too_long:
                self.send_line(bytes(self.line))  # a last line, no newline
            self.line.clear()
            return
        lines = data.split(b"\n")
        rest = lines.pop()
        for piece in lines:
            if self.too_long:
                self.too_long = False
                self.lineno += 1
            elif self.line:
                self.line += piece
                self.send_line(bytes(self.line))
                self.line.clear()
            else:
                self.send_line(piece)
        if not self.too_long:
            self.line += rest
            # Longer than any message with an "ID " in front: skip it.
            if len(self.line) > self.max_message + 11:
                _warn(f"stdin line {self.lineno + 1}: longer than "
                      f"{self.max_message + 11} bytes, over "
                      f"--max-message-size {self.max_message}, skipped")
                self.too_long = True
                self.line.clear()

    def receive(self) -> None:
        """Print every message that has arrived (ConnectionClosed if the
        router is gone)."""
        try:
            while True:
                try:
                    msg = self.client.recv(timeout=0)
                except Timeout:
                    break
                except ReceivedTooLarge:
                    _warn(f"a received message was over {self.max_message} "
                          f"bytes, dropped")
                    continue
                self.out.write(msg + b"\n")
        finally:
            self.out.flush()


def _write_id(path: str, client_id: int) -> None:
    """Write the id to path through a rename: readers never see half."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{client_id}\n")
    os.replace(tmp, path)


def _run(cat: _Cat, wait: float) -> None:
    """Move lines and messages until standard input ends and --wait has
    passed."""
    client = cat.client
    poller = select.poll()
    waiting_since: Optional[float] = None
    while True:
        if cat.eof and client.pending == 0:
            if waiting_since is None:
                waiting_since = time.monotonic()
            left = waiting_since + wait - time.monotonic()
            if left <= 0:
                break
            ms: Optional[int] = int(left * 1000) + 1
        else:
            ms = None
        poller.register(client.fileno(), select.POLLIN |
                        (select.POLLOUT if client.pending else 0))
        read_stdin = not cat.eof and client.pending < PAUSE_PENDING
        if read_stdin:
            poller.register(0, select.POLLIN)
        ready = dict(poller.poll(ms))
        poller.unregister(client.fileno())
        if read_stdin:
            poller.unregister(0)
        if client.fileno() in ready:
            cat.receive()
        if read_stdin and 0 in ready:
            cat.read_stdin()
        if client.pending:
            try:
                client.flush(timeout=0)
            except Timeout:
                pass
    cat.receive()  # what has already arrived is printed, not discarded


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; return the exit status."""
    args = _arguments().parse_args(argv)
    context: Optional[ssl.SSLContext] = None
    if args.tls or args.cafile:
        try:
            context = ssl.create_default_context(cafile=args.cafile)
        except (OSError, ssl.SSLError) as e:
            _warn(f"--cafile {args.cafile}: {e}")
            return 2
    try:
        client = Client.connect(
            args.host, connect_timeout=CONNECT_TIMEOUT, ssl=context,
            max_message_size=args.max_message_size,
            max_pending=PAUSE_PENDING + 5 * READ_SIZE +
            2 * args.max_message_size)
    except InvalidAddress as e:
        _warn(f"--host: {e}")
        return 2
    except (ConnectError, Timeout, ConnectionClosed, TransportError) as e:
        _warn(f"cannot connect to {args.host}: {e}")
        return 1
    with client:
        try:
            if args.id_file is not None:
                _write_id(args.id_file, client.id)
        except OSError as e:
            _warn(f"{args.id_file}: {e.strerror or e}")
            return 1
        _warn(f"id {client.id}")
        try:
            _run(_Cat(client, args.to, args.max_message_size), args.wait)
        except (ConnectionClosed, TransportError) as e:
            _warn(f"connection to {args.host}: {e}")
            return 1
        except BrokenPipeError:
            return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
