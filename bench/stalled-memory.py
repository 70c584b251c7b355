#!/usr/bin/env python3
"""What stalled receivers cost: the router's queues and the kernel's buffers.

Starts msgrouterd with the given router.sndbuf, opens N receivers that never
read (SO_RCVBUF 4096, so that their own side holds little) and N senders
(SO_SNDBUF 8192) that each fill their receiver until the router pauses
them, then reports:
the daemon's RSS, /proc/net/sockstat's TCP memory (pages, every TCP socket
of the host: the senders' and receivers' too, since all run here), and from
ss(8) the daemon's own sockets: bytes in their send queues (skmem w) and
receive queues (skmem r), and the send buffer sizes (skmem tb).

    bench/stalled-memory.py --daemon src/msgrouterd -n 1000 --sndbuf 0
    bench/stalled-memory.py --daemon src/msgrouterd -n 1000 --sndbuf 64K

Use a build without sanitizers: ASan's RSS says nothing about ours.
"""
import argparse
import json
import os
import re
import resource
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request


def sockstat_tcp_pages():
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                return int(line.split("mem")[1].split()[0])
    return -1


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def ss_daemon(port):
    """Sum skmem of the daemon's established sockets (source port = port)."""
    out = subprocess.run(["ss", "-tmnH", "state", "established",
                          "( sport = :%d )" % port],
                         capture_output=True, text=True).stdout
    tot = {"r": 0, "w": 0, "tb": 0, "n": 0}
    for m in re.finditer(r"skmem:\(([^)]*)\)", out):
        f = dict(re.match(r"([a-z]+)(\d+)", x).groups()
                 for x in m.group(1).split(","))
        tot["r"] += int(f.get("r", 0))
        tot["w"] += int(f.get("w", 0))
        tot["tb"] += int(f.get("tb", 0))
        tot["n"] += 1
    return tot


def stats(admin_port):
    with urllib.request.urlopen("http://127.0.0.1:%d/stats" % admin_port,
                                timeout=10) as r:
        return json.load(r)


def start(daemon, sndbuf, queue_limit, n):
    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    conf.write("[router]\nsndbuf = %s\n" % sndbuf)
    conf.close()
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    p = subprocess.Popen([daemon, "-c", conf.name, "-l", "127.0.0.1:0",
                          "--admin", "127.0.0.1:0", "--queue-limit",
                          queue_limit, "--max-clients", str(2 * n + 10)],
                         stdout=log, stderr=log)
    deadline = time.time() + 20
    port = admin = None
    while time.time() < deadline and (port is None or admin is None):
        time.sleep(0.05)
        with open(log.name) as f:
            text = f.read()
        m = re.search(r"info  listening on 127\.0\.0\.1:(\d+)", text)
        a = re.search(r"admin listening on 127\.0\.0\.1:(\d+)", text)
        if m is not None and a is not None:
            port, admin = int(m.group(1)), int(a.group(1))
    os.unlink(conf.name)
    if port is None:
        p.kill()
        sys.exit("msgrouterd did not start; see %s" % log.name)
    return p, port, admin, log.name


def connect(port, rcvbuf=0, sndbuf=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if sndbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    s.connect(("127.0.0.1", port))
    got = b""
    while len(got) < 4:
        got += s.recv(4 - len(got))
    return s, struct.unpack("!I", got)[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", default="src/msgrouterd")
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--sndbuf", default="0")
    ap.add_argument("--queue-limit", default="64K")
    ap.add_argument("--payload", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=90)
    a = ap.parse_args()

    resource.setrlimit(resource.RLIMIT_NOFILE, (4 * a.n + 100,) * 2)
    base_pages = sockstat_tcp_pages()
    p, port, admin, logpath = start(a.daemon, a.sndbuf, a.queue_limit, a.n)
    rss0 = rss_kb(p.pid)
    recv = [connect(port, 4096) for _ in range(a.n)]
    # The senders' own buffers small too: sockstat then shows mostly the
    # router's sockets, as it would on a host of its own.
    send = [connect(port, 0, 8192) for _ in range(a.n)]
    rss_idle = rss_kb(p.pid)
    for s, _ in send:
        s.setblocking(False)
    t0 = time.time()
    paused = 0
    while time.time() - t0 < a.timeout:
        for i, (s, _) in enumerate(send):
            frame = struct.pack("!I", recv[i][1]) + b"x" * a.payload + b"\0"
            buf = frame * 64
            try:
                while True:
                    s.send(buf)
            except BlockingIOError:
                pass
        st = stats(admin)
        paused = st["clients"]["paused"]
        if paused >= a.n:
            break
        time.sleep(0.2)
    time.sleep(1)   # let the last writes settle
    st = stats(admin)
    sk = ss_daemon(port)
    res = {
        "n": a.n, "sndbuf": a.sndbuf, "queue_limit": a.queue_limit,
        "seconds_to_fill": round(time.time() - t0, 1),
        "paused": st["clients"]["paused"],
        "daemon_rss_kb": {"start": rss0, "idle": rss_idle,
                          "stalled": rss_kb(p.pid)},
        "router_queued_bytes": st["bytes"]["queued"],
        "sockstat_tcp_pages": {"before": base_pages,
                               "stalled": sockstat_tcp_pages()},
        "daemon_sockets": sk["n"],
        "daemon_send_queues_bytes": sk["w"],
        "daemon_recv_queues_bytes": sk["r"],
        "daemon_sndbuf_sum_bytes": sk["tb"],
    }
    print(json.dumps(res, indent=1))
    for s, _ in send + recv:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        s.close()
    p.terminate()
    p.wait(timeout=30)
    os.unlink(logpath)


if __name__ == "__main__":
    main()
