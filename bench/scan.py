#!/usr/bin/env python3
"""Measure the id-scanning defence: live clients a scanner reaches.

Starts msgrouterd with the scan rule scaled down by --scale (window and ban
divided by it, the limit kept), connects --idle idle clients from 127.0.0.1
(random ids), then runs each phase for --seconds with the same daemon:

  naive-1      one address (127.0.0.2): a scanner that sprays 5-byte frames
               to random ids flat out, is closed and banned, waits out the
               ban and reconnects (a refused reconnection retries 50 ms on)
  naive-1000   the same from 1000 addresses (127.0.1.0 and on) at once
  paced-1      one address sending scan_limit ids, then waiting for the
               window (and a --margin) to pass: never banned, about the
               most the rule lets through
  paced-1000   the same from 1000 addresses

For each phase it reads /stats before and after: unknown ids probed
(messages.dropped_unknown_destination_total), deliveries to live clients
(messages.forwarded_total: only scanners send), scanning closes and
refusals.  A probe's rate scales by 1/scale for the default window and ban,
so probes per hour at the defaults = measured per second / scale * 3600;
live clients reached per hour = probes * idle / 2^32 (random ids over the
32-bit space; the measured deliveries confirm the order of magnitude).

Standard library only.  Example (from the build directory):
  python3 bench/scan.py --daemon tests/msgrouterd-plain --scale 10 \\
      --seconds 40
"""

import argparse
import asyncio
import json
import os
import random
import re
import resource
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

LIMIT = 64
WINDOW_MS = 10000
BAN_MS = 60000


def stats(admin):
    with urllib.request.urlopen("http://%s/stats" % admin, timeout=30) as r:
        j = json.load(r)
    return {
        "probes": j["messages"]["dropped_unknown_destination_total"],
        "hits": j["messages"]["forwarded_total"],
        "scan_closed": j["clients"]["disconnected_scan_total"],
        "refused": j["clients"]["rejected_banned_total"],
        "connected": j["clients"]["connected"],
    }


def start_daemon(path, scale, max_clients):
    log = tempfile.NamedTemporaryFile(prefix="scan-bench-", suffix=".log",
                                      delete=False)
    args = [path, "-l", "127.0.0.1:0", "--admin", "127.0.0.1:0",
            "--max-clients", str(max_clients),
            "--scan-limit", str(LIMIT),
            "--scan-window", "%dms" % (WINDOW_MS // scale),
            "--scan-ban", "%dms" % (BAN_MS // scale)]
    # At info: the ports are read from the "listening on" lines.
    p = subprocess.Popen(args, stdout=log, stderr=log)
    port = admin = None
    deadline = time.time() + 30
    while time.time() < deadline and (port is None or admin is None):
        time.sleep(0.1)
        text = open(log.name).read()
        m = re.search(r"info  listening on 127\.0\.0\.1:(\d+)", text)
        if m:
            port = int(m.group(1))
        m = re.search(r"admin listening on (127\.0\.0\.1:\d+)", text)
        if m:
            admin = m.group(1)
    if port is None or admin is None:
        p.kill()
        sys.exit("msgrouterd did not start; log: %s" % log.name)
    return p, port, admin, log.name


def connect_idle(port, n):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        got = b""
        while len(got) < 4:
            chunk = s.recv(4 - len(got))
            if not chunk:
                sys.exit("idle client refused")
            got += chunk
        s.setblocking(False)
        socks.append(s)
    return socks


def frames(n, rnd):
    return b"".join(struct.pack(">I", rnd.getrandbits(32)) + b"\0"
                    for _ in range(n))


async def open_from(src, port):
    """A connection from src; its id, or None if refused (banned)."""
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port,
                                             local_addr=(src, 0))
    except OSError:
        return None, None, None
    try:
        idb = await asyncio.wait_for(r.readexactly(4), 30)
    except (asyncio.IncompleteReadError, OSError, asyncio.TimeoutError):
        w.close()
        return None, None, None
    return r, w, idb


async def naive(src, port, scale, stop, rnd):
    """Spray until closed, wait out the ban, reconnect."""
    while time.time() < stop:
        r, w, _ = await open_from(src, port)
        if r is None:
            await asyncio.sleep(0.05)
            continue
        try:
            while time.time() < stop:
                w.write(frames(200, rnd))
                await w.drain()
                if r.at_eof():
                    break
                await asyncio.sleep(0)
                try:
                    if await asyncio.wait_for(r.read(4096), 0.001) == b"":
                        break
                except asyncio.TimeoutError:
                    pass
        except OSError:
            pass
        w.close()
        await asyncio.sleep(BAN_MS / scale / 1000.0)


MARGIN = 1.1


async def paced(src, port, scale, stop, rnd):
    """scan_limit ids per window, then wait for the window to pass."""
    window = WINDOW_MS / scale / 1000.0
    closed = 0
    while time.time() < stop:
        r, w, _ = await open_from(src, port)
        if r is None:
            await asyncio.sleep(0.05)
            continue
        try:
            while time.time() < stop:
                w.write(frames(LIMIT, rnd))
                await w.drain()
                # Past the window by a margin: on a loaded machine the
                # router may read one batch late and the next one early.
                await asyncio.sleep(window * MARGIN)
                if r.at_eof():
                    closed += 1
                    break
        except OSError:
            closed += 1
        w.close()
    return closed


def addresses(n, single):
    if single:
        return ["127.0.0.2"]
    return ["127.0.%d.%d" % (1 + i // 250, 1 + i % 250) for i in range(n)]


async def phase(kind, srcs, port, scale, seconds):
    stop = time.time() + seconds
    rnd = random.Random(len(srcs) * 7 + (kind == "paced"))
    fn = naive if kind == "naive" else paced
    res = await asyncio.gather(*(fn(s, port, scale, stop, rnd)
                                 for s in srcs))
    return sum(x or 0 for x in res)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--daemon", default="src/msgrouterd")
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=40)
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--addresses", type=int, default=1000)
    ap.add_argument("--phases", default="naive-1,naive-N,paced-1,paced-N")
    ap.add_argument("--margin", type=float, default=MARGIN,
                    help="paced: wait window * margin between batches")
    a = ap.parse_args()
    globals()["MARGIN"] = a.margin

    want = a.idle + 2 * a.addresses + 200
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    p, port, admin, logname = start_daemon(a.daemon, a.scale,
                                           a.idle + a.addresses + 100)
    try:
        t0 = time.time()
        idle = connect_idle(port, a.idle)
        print("%d idle clients connected (%d in /stats) in %.1f s; scale "
              "%d: window %d ms, ban %d ms, limit %d; %.0f s per phase; "
              "paced margin %.2f" %
              (len(idle), stats(admin)["connected"], time.time() - t0,
               a.scale, WINDOW_MS // a.scale, BAN_MS // a.scale, LIMIT,
               a.seconds, MARGIN))
        print("%-11s %9s %9s %8s %9s %12s %14s" %
              ("phase", "addresses", "probes/s", "hits", "closes",
               "probes/h@dflt", "live/h@dflt"))
        for ph in a.phases.split(","):
            kind, n = ph.split("-")
            srcs = addresses(a.addresses, n == "1")
            before = stats(admin)
            t = time.time()
            closed = asyncio.run(phase(kind, srcs, port, a.scale,
                                       a.seconds))
            dt = time.time() - t
            after = stats(admin)
            d = {k: after[k] - before[k] for k in before}
            rate = d["probes"] / dt
            per_hour = rate / a.scale * 3600
            live = per_hour * a.idle / 2 ** 32
            print("%-11s %9d %9.1f %8d %9d %12.0f %14.4f" %
                  (ph, len(srcs), rate, d["hits"], d["scan_closed"],
                   per_hour, live))
            if kind == "paced" and (closed or d["scan_closed"]):
                print("  paced scanners were closed %d times (%d by the "
                      "router)" % (closed, d["scan_closed"]))
            sys.stdout.flush()
        for s in idle:
            s.close()
    finally:
        p.terminate()
        p.wait()
        os.unlink(logname)


if __name__ == "__main__":
    main()
