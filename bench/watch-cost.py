#!/usr/bin/env python3
"""The watch tick's cost: 10,000 idle clients, with 0 or 1 paused sender.

    bench/watch-cost.py DAEMON PAUSED

Starts DAEMON (a build without sanitizers), opens 10,000 idle clients and,
if PAUSED is 1, one sender paused by backpressure against a receiver that
never reads; then reads the daemon's CPU ticks (utime + stime of
/proc/PID/stat) and voluntary context switches over 20 s.
"""
import socket, struct, subprocess, time, re, resource, sys, tempfile, os
resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
daemon = sys.argv[1]; paused = int(sys.argv[2])
log = tempfile.NamedTemporaryFile("w+", delete=False)
p = subprocess.Popen([daemon, "-l", "127.0.0.1:0", "--admin", "off", "--max-clients", "20000", "--queue-limit", "1K", "--log-level", "info"], stdout=log, stderr=log)
port = None
while port is None:
    time.sleep(0.05)
    m = re.search(r"info  listening on 127\.0\.0\.1:(\d+)", open(log.name).read())
    port = int(m.group(1)) if m else None
def conn(rcv=0):
    s = socket.socket()
    if rcv: s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcv)
    s.connect(("127.0.0.1", port)); b = b""
    while len(b) < 4: b += s.recv(4 - len(b))
    return s, struct.unpack("!I", b)[0]
idle = [conn() for _ in range(10000)]
keep = []
if paused:
    r, rid = conn(4096); s, sid = conn(); s.setblocking(False)
    fr = (struct.pack("!I", rid) + b"x"*1000 + b"\0") * 64
    t = time.time()
    while time.time() - t < 5:
        try:
            while True: s.send(fr)
        except BlockingIOError: pass
        time.sleep(0.1)
    keep = [r, s]
time.sleep(2)
def ticks():
    f = open("/proc/%d/stat" % p.pid).read().split(")")[1].split()
    return int(f[11]) + int(f[12])
def wakeups():
    v = 0
    for l in open("/proc/%d/status" % p.pid):
        if "voluntary_ctxt_switches" in l: v += int(l.split()[1])
    return v
t0, w0 = ticks(), wakeups(); time.sleep(20); t1, w1 = ticks(), wakeups()
print("paused=%d: cpu ticks in 20 s: %d, context switches: %d" % (paused, t1 - t0, w1 - w0))
p.terminate(); p.wait()
os.unlink(log.name)
