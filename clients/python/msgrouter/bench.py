"""``python3 -m msgrouter.bench``: measure AsyncClient pairs on a router.

Like msgrouter-bench: 2 N asyncio clients exchange messages in pairs,
client i sending to client i XOR 1 and receiving from it, each keeping at
most ``--window`` messages in flight.  After ``--warmup`` seconds it counts
the messages received for ``--duration`` seconds, then stops sending and
waits for those in flight.  Every message is checked byte for byte: a
payload is a 16-digit hex sequence number, an 8-digit hex sender index and
letters starting at (sequence mod 26), ``--size`` bytes in all.  It prints
messages/s (all receivers together) and exits 0 only if nothing was lost
or corrupt.  Everything runs in one thread, in one event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Dict, List, Optional, Union

from .aio import AsyncClient
from .errors import MsgRouterError

_LETTERS = b"abcdefghijklmnopqrstuvwxyz" * 2
#: The fixed part of a payload: sequence and sender, in hex.
_HEAD = 24


def payload(sender: int, seq: int, size: int) -> bytes:
    """The payload of message seq from sender, size bytes long."""
    head = b"%016x%08x" % (seq, sender)
    fill = size - _HEAD
    start = seq % 26
    whole, part = divmod(fill, 26)
    # Letters from (seq mod 26), repeated over the rest of the payload.
    cycle = _LETTERS[start:start + 26]
    return head + cycle * whole + cycle[:part]


class _Flow:
    """One direction of a pair: what was sent, received and checked."""

    def __init__(self) -> None:
        self.sent = 0
        self.received = 0
        self.corrupt = 0
        self.room = asyncio.Event()


async def _sender(client: AsyncClient, dest: int, index: int, size: int,
                  window: int, flow: _Flow, stop: asyncio.Event) -> None:
    """Keep window messages in flight until stop is set."""
    while not stop.is_set():
        while flow.sent - flow.received < window and not stop.is_set():
            await client.send(dest, payload(index, flow.sent, size))
            flow.sent += 1
        flow.room.clear()
        await flow.room.wait()


async def _receiver(client: AsyncClient, sender: int, size: int,
                    flow: _Flow, progress: asyncio.Event) -> None:
    """Check every message from sender, until cancelled."""
    async for msg in client:
        if msg != payload(sender, flow.received, size):
            flow.corrupt += 1
        flow.received += 1
        flow.room.set()
        progress.set()


async def run(host: str, pairs: int, size: int, window: int,
              duration: float, warmup: float, drain: float
              ) -> Dict[str, Union[int, float, str, bool]]:
    """Run the measurement; return the report."""
    t_setup = time.monotonic()
    clients: List[AsyncClient] = []
    try:
        for _ in range(2 * pairs):
            clients.append(await AsyncClient.connect(host))
        setup_s = time.monotonic() - t_setup
        flows = [_Flow() for _ in clients]   # flows[i]: from i to i ^ 1
        stop = asyncio.Event()
        progress = asyncio.Event()
        tasks = []
        for i, c in enumerate(clients):
            tasks.append(asyncio.ensure_future(_sender(
                c, clients[i ^ 1].id, i, size, window, flows[i], stop)))
            tasks.append(asyncio.ensure_future(_receiver(
                c, i ^ 1, size, flows[i ^ 1], progress)))

        def received() -> int:
            return sum(f.received for f in flows)

        await asyncio.sleep(warmup)
        n0, t0 = received(), time.monotonic()
        await asyncio.sleep(duration)
        n1, t1 = received(), time.monotonic()
        stop.set()
        for f in flows:
            f.room.set()
        # Wait for the messages in flight, at most --drain seconds.
        end = time.monotonic() + drain
        while not all(f.received == f.sent for f in flows):
            progress.clear()
            try:
                await asyncio.wait_for(progress.wait(),
                                       max(0.0, end - time.monotonic()))
            except asyncio.TimeoutError:
                break
        finished = all(f.received == f.sent for f in flows)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        sent = sum(f.sent for f in flows)
        got = received()
        return {
            "host": host, "pairs": pairs, "size": size, "window": window,
            "warmup_s": warmup, "duration_s": round(t1 - t0, 6),
            "setup_s": round(setup_s, 6),
            "msgs": n1 - n0, "msgs_per_s": round((n1 - n0) / (t1 - t0), 1),
            "payload_mb_per_s": round((n1 - n0) * size / (t1 - t0) / 1e6, 3),
            "sent": sent, "received": got, "lost": sent - got,
            "corrupt": sum(f.corrupt for f in flows), "drained": finished,
            "python": sys.version.split()[0],
        }
    finally:
        for c in clients:
            await c.close(timeout=1.0)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; return the exit status."""
    p = argparse.ArgumentParser(
        prog="python3 -m msgrouter.bench",
        description="Measure pairs of asyncio msgrouter clients exchanging "
        "checked messages through a running msgrouterd.")
    p.add_argument("-H", "--host", default="127.0.0.1:8080",
                   metavar="HOST:PORT", help="router (default %(default)s)")
    p.add_argument("-p", "--pairs", type=int, default=1,
                   help="pairs of clients (default %(default)s)")
    p.add_argument("-s", "--size", type=int, default=64,
                   help=f"payload bytes, from {_HEAD} (default %(default)s)")
    p.add_argument("-w", "--window", type=int, default=64,
                   help="messages in flight per sender (default %(default)s)")
    p.add_argument("-d", "--duration", type=float, default=5.0,
                   help="measured seconds (default %(default)s)")
    p.add_argument("--warmup", type=float, default=1.0,
                   help="seconds before measuring (default %(default)s)")
    p.add_argument("--drain", type=float, default=5.0,
                   help="seconds to wait for messages in flight at the end "
                   "(default %(default)s)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object instead of text")
    args = p.parse_args(argv)
    if args.pairs < 1 or args.size < _HEAD or args.window < 1 or \
            args.duration <= 0 or args.warmup < 0 or args.drain < 0:
        p.error(f"need --pairs >= 1, --size >= {_HEAD}, --window >= 1, "
                f"--duration > 0, --warmup and --drain >= 0")
    try:
        report = asyncio.run(run(args.host, args.pairs, args.size,
                                 args.window, args.duration, args.warmup,
                                 args.drain))
    except MsgRouterError as e:
        print(f"msgrouter.bench: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{report['msgs_per_s']:.0f} msgs/s, "
              f"{report['payload_mb_per_s']} MB/s payload "
              f"({report['pairs']} pairs, {report['size']} B, window "
              f"{report['window']}, {report['duration_s']} s, Python "
              f"{report['python']}); sent {report['sent']}, received "
              f"{report['received']}, lost {report['lost']}, corrupt "
              f"{report['corrupt']}")
    ok = report["lost"] == 0 and report["corrupt"] == 0 and report["drained"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
