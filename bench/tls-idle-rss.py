#!/usr/bin/env python3
"""What an idle client costs the router, TLS or plain: its RSS growth.

Makes a throwaway CA and server certificate with the openssl command,
starts msgrouterd with a TLS port, opens N clients that finish their
handshake (TLS) and read their id, waits for the heap trim, and prints the
daemon's VmRSS before and after and the growth per client.

    bench/tls-idle-rss.py --daemon src/msgrouterd -n 10000 --mode tls
    bench/tls-idle-rss.py --daemon src/msgrouterd -n 10000 --mode plain

Use a build without sanitizers: ASan's RSS says nothing about ours.  The
descriptor limit must allow N (ulimit -n).
"""
import argparse
import os
import resource
import socket
import ssl
import subprocess
import sys
import tempfile
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
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
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, a.n + 200)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < a.n + 100:
        sys.exit(f"descriptor limit {hard} is too low for {a.n} clients")
    with tempfile.TemporaryDirectory() as d:
        make_certs(d)
        plain, tls = free_port(), free_port()
        p = subprocess.Popen([a.daemon, "-l", f"127.0.0.1:{plain}",
                              "--admin", "off", "--log-level", "warn",
                              "--max-clients", str(a.n + 100),
                              "--tls-listen", f"127.0.0.1:{tls}",
                              "--tls-cert", f"{d}/server.pem",
                              "--tls-key", f"{d}/server.key"])
        try:
            time.sleep(0.5)
            ctx = ssl.create_default_context(cafile=f"{d}/ca.pem")
            before = rss_kib(p.pid)
            conns = []
            t0 = time.time()
            for _ in range(a.n):
                port = tls if a.mode == "tls" else plain
                s = socket.create_connection(("127.0.0.1", port))
                if a.mode == "tls":
                    s = ctx.wrap_socket(s, server_hostname="localhost")
                got = b""
                while len(got) < 4:
                    got += s.recv(4 - len(got))
                conns.append(s)
            t1 = time.time()
            time.sleep(2.5)     # the daemon trims its heap once a second
            after = rss_kib(p.pid)
            print(f"{a.mode}: {a.n} idle clients connected in "
                  f"{t1 - t0:.1f} s; VmRSS {before} -> {after} KiB, "
                  f"{(after - before) * 1024 / a.n:.0f} bytes per client")
            for s in conns:
                s.close()
        finally:
            p.terminate()
            p.wait()


if __name__ == "__main__":
    main()
