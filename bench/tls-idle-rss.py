#!/usr/bin/env python3
"""What an idle client costs the router, TLS or plain: its RSS growth.

Makes a throwaway CA and server certificate with the openssl command,
starts msgrouterd with a TLS port, opens N clients that finish their
handshake (TLS) and read their id, waits for the heap trim, and prints the
daemon's VmRSS before and after and the growth per client.

    bench/tls-idle-rss.py --daemon src/msgrouterd -n 10000 --mode tls
    bench/tls-idle-rss.py --daemon src/msgrouterd -n 10000 --mode plain
    bench/tls-idle-rss.py --daemon src/msgrouterd -n 10000 --mode tls --mtls
    bench/tls-idle-rss.py --daemon src/msgrouterd -n 10000 --mode tls --tls12

--send makes each client send itself one 64-byte message and read it back
before it goes idle, so that the buffers of a connection that has carried
traffic are counted too.
--mtls gives the daemon tls.ca and each client a certificate (the server
keeps the peer's certificate for the connection's life); --tls12 makes the
clients stop at TLSv1.2.  --burst connects every client first and then
runs all the handshakes at once (a reconnect storm); --stall has each
client send its ClientHello and stop, to measure what a handshake under
way holds (read within tls.handshake_timeout, 10 s by default).  With
--heap it also prints the heap in use per client (glibc's malloc_stats()
through gdb), to tell live allocations from pages the heap keeps.

A heap profile of the idle clients: --wrap runs the daemon under a
profiler and --kill ends it with SIGKILL while the clients are connected,
so that everything they hold is reported as never freed:

    bench/tls-idle-rss.py -n 1000 --mode tls --wrap "heaptrack -o idle" \
        --start-wait 3 --kill
    heaptrack_print -f idle.zst --print-leaks 1 -p 0 -a 0 -T 0 -t 0

Use a build without sanitizers: ASan's RSS says nothing about ours.  The
descriptor limit must allow N (ulimit -n).
"""
import argparse
import os
import resource
import selectors
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time


def rss_kib(pid, field="VmRSS"):
    pid = daemon_pid(pid)
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def make_certs(d):
    def run(*args):
        subprocess.run(args, check=True, cwd=d, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out",
        "ca.pem", "-days", "2", "-subj", "/CN=bench CA")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key",
        "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem",
        "-CAkey", "ca.key", "-days", "2", "-extfile", "ext", "-out",
        "server.pem")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-nodes", "-keyout", "client.key",
        "-out", "client.csr", "-subj", "/CN=bench client")
    with open(os.path.join(d, "cext"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    run("openssl", "x509", "-req", "-in", "client.csr", "-CA", "ca.pem",
        "-CAkey", "ca.key", "-days", "2", "-extfile", "cext", "-out",
        "client.pem")


def heap_in_use(pid, errfile):
    """Bytes the heap has allocated, from glibc's malloc_stats() called
    through gdb (it prints to the daemon's stderr), or None."""
    with open(errfile) as f:
        f.seek(0, 2)
        start = f.tell()
    try:
        subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex",
                        "call (void)malloc_stats()"], capture_output=True,
                       timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    with open(errfile) as f:
        f.seek(start)
        text = f.read()
    total = text.split("Total (incl. mmap):")
    if len(total) < 2:
        return None
    for line in total[1].splitlines():
        if line.startswith("in use bytes"):
            return int(line.split()[-1])
    return None


DAEMON_COMM = "msgrouterd"


def daemon_pid(pid):
    """The daemon's pid: pid itself, or its descendant under --wrap."""
    todo = [pid]
    while todo:
        q = todo.pop()
        try:
            with open(f"/proc/{q}/comm") as f:
                if f.read().strip() == DAEMON_COMM:
                    return q
            with open(f"/proc/{q}/task/{q}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return pid


def burst(n, port, ctx, stall=False):
    """n TLS clients connected first, then all their handshakes at once,
    as after a restart of a node that many clients reconnect to.  With
    stall, each sends its ClientHello and goes no further."""
    socks = [socket.create_connection(("127.0.0.1", port))
             for _ in range(n)]
    sel = selectors.DefaultSelector()
    conns = []
    for s in socks:
        s.setblocking(False)
        conns.append(ctx.wrap_socket(s, server_hostname="localhost",
                                     do_handshake_on_connect=False))
    todo = list(range(n))
    if stall:
        for c in conns:
            try:
                c.do_handshake()
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
        return conns
    while todo:
        for i in todo:
            try:
                conns[i].do_handshake()
            except ssl.SSLWantReadError:
                sel.register(conns[i], selectors.EVENT_READ, i)
            except ssl.SSLWantWriteError:
                sel.register(conns[i], selectors.EVENT_WRITE, i)
        todo = []
        if not sel.get_map():
            break
        for key, _ in sel.select(timeout=30):
            sel.unregister(key.fileobj)
            todo.append(key.data)
        if not todo and sel.get_map():
            sys.exit("burst: handshakes stalled")
    for s in conns:
        s.setblocking(True)
    return conns


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--daemon", default="src/msgrouterd")
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--mode", choices=("tls", "plain"), default="tls")
    ap.add_argument("--mtls", action="store_true",
                    help="client certificates (tls.ca)")
    ap.add_argument("--tls12", action="store_true",
                    help="clients stop at TLSv1.2")
    ap.add_argument("--burst", action="store_true",
                    help="TLS: all handshakes at once, after every connect")
    ap.add_argument("--stall", action="store_true",
                    help="TLS: each client sends its ClientHello and stops "
                    "(what a handshake holds until tls.handshake_timeout)")
    ap.add_argument("--send", action="store_true",
                    help="one message to itself before going idle")
    ap.add_argument("--wrap", default="",
                    help="command line the daemon runs under (a profiler)")
    ap.add_argument("--start-wait", type=float, default=0.5,
                    help="seconds the daemon gets to start")
    ap.add_argument("--kill", action="store_true",
                    help="SIGKILL the daemon at the end (for --wrap)")
    ap.add_argument("--heap", action="store_true",
                    help="also the heap in use per client (gdb)")
    a = ap.parse_args()
    global DAEMON_COMM
    DAEMON_COMM = os.path.basename(a.daemon)[:15]     # as /proc/PID/comm
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, a.n + 200)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < a.n + 100:
        sys.exit(f"descriptor limit {hard} is too low for {a.n} clients")
    with tempfile.TemporaryDirectory() as d:
        make_certs(d)
        plain, tls = free_port(), free_port()
        args = [a.daemon, "-l", f"127.0.0.1:{plain}",
                "--admin", "off", "--log-level", "warn",
                "--max-clients", str(a.n + 100),
                "--tls-listen", f"127.0.0.1:{tls}",
                "--tls-cert", f"{d}/server.pem",
                "--tls-key", f"{d}/server.key"]
        if a.mtls:
            args += ["--tls-ca", f"{d}/ca.pem"]
        errfile = f"{d}/daemon.err"
        p = subprocess.Popen(a.wrap.split() + args,
                             stderr=open(errfile, "w"))
        try:
            time.sleep(a.start_wait)
            ctx = ssl.create_default_context(cafile=f"{d}/ca.pem")
            if a.mtls:
                ctx.load_cert_chain(f"{d}/client.pem", f"{d}/client.key")
            if a.tls12:
                ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            before = rss_kib(p.pid)
            heap0 = heap_in_use(daemon_pid(p.pid), errfile) if a.heap else None
            conns = []
            t0 = time.time()
            port = tls if a.mode == "tls" else plain
            if a.stall and a.mode == "tls":
                conns = burst(a.n, port, ctx, stall=True)
            elif a.burst and a.mode == "tls":
                ready = burst(a.n, port, ctx)
            for i in range(0 if a.stall else a.n):
                if a.burst and a.mode == "tls":
                    s = ready[i]
                else:
                    s = socket.create_connection(("127.0.0.1", port))
                if a.mode == "tls" and not a.burst:
                    s = ctx.wrap_socket(s, server_hostname="localhost")
                got = b""
                while len(got) < 4:
                    got += s.recv(4 - len(got))
                if a.send:
                    s.sendall(got + b"m" * 63 + b"\0")
                    echo = b""
                    while len(echo) < 64:
                        echo += s.recv(64 - len(echo))
                conns.append(s)
            t1 = time.time()
            time.sleep(2.5)     # the daemon trims its heap once a second
            after = rss_kib(p.pid)
            what = a.mode + (" mtls" if a.mtls else "") + \
                (" tls1.2" if a.tls12 else "") + (" sent" if a.send else "") + \
                (" burst" if a.burst else "")
            if a.stall:
                what += " stalled after ClientHello"
            elif a.mode == "tls":
                what += " " + conns[0].version() + " " + conns[0].cipher()[0]
            print(f"{what}: {a.n} idle clients connected in "
                  f"{t1 - t0:.1f} s; VmRSS {before} -> {after} KiB, "
                  f"{(after - before) * 1024 / a.n:.0f} bytes per client "
                  f"(peak {rss_kib(p.pid, 'VmHWM')} KiB)")
            heap1 = heap_in_use(daemon_pid(p.pid), errfile) if a.heap else None
            if heap0 is not None and heap1 is not None:
                print(f"heap in use {heap0} -> {heap1} bytes, "
                      f"{(heap1 - heap0) / a.n:.0f} bytes per client")
            if a.kill:
                os.kill(daemon_pid(p.pid), signal.SIGKILL)
                time.sleep(3)       # the profiler writes its data
            for s in conns:
                s.close()
        finally:
            p.terminate()
            p.wait()
            with open(errfile) as f:
                for line in f:
                    if " error " in line or " warn " in line:
                        sys.stderr.write(line)


if __name__ == "__main__":
    main()
