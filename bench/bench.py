#!/usr/bin/env python3
"""bench: run msgrouterd next to the yardsticks and write results and plots.

Every scenario of issue 6 runs msgrouterd and refrouter (and nats-server and
redis-server where the comparison means something) alternately, one at a
time, on free loopback ports, with rload as the load generator.  Each run
records what rload reports, the server's CPU time from /proc/PID/stat, its
RSS, and the machine's load from /proc/stat, so that a run disturbed by
other work on the machine can be told apart and left out of the medians.

Output, in --out: results.json (every run and every median), summary.md (the
table of ratios), and PNG and SVG plots made with gnuplot.

TLS (scenarios tls64, tls4k, tls_idle): msgrouterd with a TLS listener next
to its plain one, loaded through each in turn by msgrouter-bench (rload
speaks no TLS, so the plain runs of these scenarios use msgrouter-bench
too: one load generator for both sides of the ratio).  The certificates
are made in --work by tests/tls-certs.sh.

Cluster (scenario cluster, issue 11): 50 pairs, 64 B, window 64, three
ways in turn: (a) one msgrouterd, (b) two msgrouterd nodes over one
nats-server with every pair across them (msgrouter-bench --cross: both
loaded by msgrouter-bench, every message checked), (c) the same clients
through a nats-server directly (rload --proto nats).  Each run records the
CPU of every process of it (each node, the nats-server) per frame that
crossed (the nodes' /stats frames_out); cluster_idle compares the RSS per
idle client of a node alone and of a node of a two-node cluster.  A
msgrouterd built without libnats refuses [cluster] nats: (b) is skipped,
as it is without nats-server.  A fourth column, (a'), loads node 1 of the
same two-node cluster with pairs that are all local to it: what being a
cluster node (libevent's locks, evthread_use_pthreads) costs the local
path, against (a).

The yardsticks (rload, refrouter) are not our code: they are built from
--tools into --work.  Without them only msgrouter-bench can load msgrouterd
and every comparison is skipped; without nats-server or redis-server those
columns are skipped.
"""

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
HZ = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1
# The protocol rload speaks to each kind of server.
PROTO = {"msgrouterd": "router", "msgrouterd-tls": "router",
         "refrouter": "router", "cluster": "router",
         "cluster-local": "router", "nats": "nats",
         "redis": "redis"}
# A run is disturbed when the rest of the machine used more than this much
# CPU (percent of one core) while it ran.
DISTURBED_OTHER_PCT = 25.0


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_s(pid):
    """utime + stime of a process, in seconds (None once it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / HZ
    except (OSError, IndexError, ValueError):
        return None


def proc_status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def machine_busy_s():
    """(busy, total) CPU seconds of the whole machine so far."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
    return busy / HZ, (busy + v[3] + v[4]) / HZ


class Server:
    """One server process on a free loopback port."""

    def __init__(self, kind, argv, port, logpath):
        self.kind = kind
        self.port = port
        self.log = open(logpath, "ab")
        self.proc = subprocess.Popen(argv, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at start (see %s)" %
                                   (kind, logpath))
            try:
                with socket.create_connection(("127.0.0.1", port), 0.2):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError("%s does not listen on %d" % (kind, port))
        time.sleep(0.2)

    @property
    def pid(self):
        return self.proc.pid

    def members(self):
        """The processes whose CPU a run records, by name."""
        return {self.kind: self.pid}

    def after_load(self):
        """Figures read from the server before it stops (none here)."""
        return {}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Cluster:
    """Two msgrouterd nodes over one nats-server, started and stopped as
    one server: run_load and run_idle see node 1 (port, pid), and
    msgrouter-bench gets both (ports)."""

    tls_port = None

    def __init__(self, bench, kind="cluster"):
        self.kind = kind    # cluster-local: the load on node 1 alone
        self.nats = bench.start("nats")
        self.nodes = []
        try:
            url = "nats://127.0.0.1:%d" % self.nats.port
            for n in (1, 2):
                self.nodes.append(bench.start_node(n, url))
            self.wait_up()
        except BaseException:
            self.stop()
            raise

    @property
    def port(self):
        return self.nodes[0].port

    @property
    def ports(self):
        return [n.port for n in self.nodes]

    @property
    def pid(self):
        return self.nodes[0].pid

    def members(self):
        m = {"node%d" % (i + 1): n.pid for i, n in enumerate(self.nodes)}
        m["nats-server"] = self.nats.pid
        return m

    def stats(self, node):
        url = "http://127.0.0.1:%d/stats" % node.admin_port
        with urllib.request.urlopen(url, timeout=5) as f:
            return json.load(f)["cluster"]

    def wait_up(self):
        """Until each node has its peer up: frames sent before the first
        heartbeat would be dropped (peer down), not measured."""
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                if all(any(p["state"] == "up" for p in self.stats(n)["peers"])
                       for n in self.nodes):
                    return
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        raise RuntimeError("cluster nodes do not see each other")

    def after_load(self):
        """Frames each way across the link, from both nodes' /stats."""
        try:
            st = [self.stats(n) for n in self.nodes]
        except (OSError, ValueError, KeyError):
            return {}
        return {"cluster_" + k: sum(c.get(k + "_total", 0) for c in st)
                for k in ("frames_out", "frames_in", "dropped_peer_down",
                          "dropped_in_transit")}

    def stop(self):
        for srv in self.nodes + [self.nats]:
            srv.stop()


class Bench:
    def __init__(self, args):
        self.a = args
        self.work = args.work
        os.makedirs(self.work, exist_ok=True)
        os.makedirs(args.out, exist_ok=True)
        self.rload = self.refrouter = None
        self.certs = self.can_cluster = None
        self.build_yardsticks()
        self.nats = shutil.which("nats-server")
        self.redis = shutil.which("redis-server")
        self.results = {"machine": self.machine(), "runs": [],
                        "scenarios": {}, "skipped": []}
        prev = os.path.join(args.out, "results.json")
        if args.update and os.path.exists(prev):
            # Keep the other scenarios; those run now replace theirs.
            with open(prev) as f:
                self.results = json.load(f)
            self.results["machine"] = self.machine()
        if self.rload is None:
            self.skip("rload/refrouter: %s not found; msgrouter-bench "
                      "loads msgrouterd alone, no comparisons" % args.tools)
        if self.nats is None:
            self.skip("nats-server not installed")
        if self.redis is None:
            self.skip("redis-server not installed")

    def skip(self, why):
        log("skipping " + why)
        self.results["skipped"].append(why)

    def build_yardsticks(self):
        tools = self.a.tools
        if not tools or not os.path.isdir(tools):
            return
        for name, libs in (("rload", ["-lpthread"]), ("refrouter", [])):
            src = os.path.join(tools, name, name + ".c")
            dst = os.path.join(self.work, name)
            if not os.path.exists(src):
                return
            if (not os.path.exists(dst) or
                    os.path.getmtime(dst) < os.path.getmtime(src)):
                log("building %s into %s" % (name, self.work))
                subprocess.run(["cc", "-O2", "-Wall", "-o", dst, src] + libs,
                               check=True)
            setattr(self, name, dst)

    def machine(self):
        m = {"cpus": NCPU, "kernel": os.uname().release}
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        m["cpu"] = line.split(":", 1)[1].strip()
                        break
            with open("/proc/meminfo") as f:
                m["mem_kb"] = int(f.readline().split()[1])
        except OSError:
            pass
        for prog, flag in (("nats-server", "--version"),
                           ("redis-server", "--version")):
            if shutil.which(prog):
                out = subprocess.run([prog, flag], capture_output=True,
                                     text=True).stdout.strip()
                m[prog] = out.splitlines()[0] if out else None
        m["msgrouterd"] = subprocess.run(
            [self.a.msgrouterd, "--version"], capture_output=True,
            text=True).stdout.strip()
        return m

    # -- servers -----------------------------------------------------------

    def make_certs(self):
        """The test CA and a server certificate for 127.0.0.1, once."""
        if self.certs is None:
            self.certs = os.path.join(self.work, "tls")
            os.makedirs(self.certs, exist_ok=True)
            subprocess.run(["sh", os.path.join(HERE, "..", "tests",
                                               "tls-certs.sh"), self.certs],
                           check=True)
        return self.certs

    def cluster_conf(self):
        """The nodes' configuration file: the secret lives only there."""
        path = os.path.join(self.work, "cluster.conf")
        with open(path, "w") as f:
            f.write("[cluster]\nsecret = bench-cluster-secret-0123456789\n")
        return path

    def cluster_ok(self):
        """Whether (b) can run: nats-server, msgrouter-bench, and a
        msgrouterd that accepts [cluster] nats (built with libnats).
        Checked once; the reason for a skip is recorded."""
        if self.can_cluster is None:
            why = None
            if self.nats is None:
                why = "nats-server not installed"
            elif not self.a.bench_tool:
                why = "no msgrouter-bench (--bench-tool)"
            else:
                p = subprocess.run(
                    [self.a.msgrouterd, "-t", "-c", self.cluster_conf(),
                     "--cluster-nats", "nats://127.0.0.1:4222", "--node",
                     "1"], capture_output=True, text=True)
                if p.returncode != 0:
                    why = "msgrouterd refuses [cluster] nats: %s" % (
                        (p.stderr.strip().splitlines() or ["?"])[-1])
            self.can_cluster = why is None
            if why:
                self.skip("cluster (two nodes): " + why)
        return self.can_cluster

    def available(self, kind):
        if kind in ("cluster", "cluster-local"):
            return self.cluster_ok()
        return {"msgrouterd": True, "msgrouterd-tls": True,
                "refrouter": self.refrouter is not None,
                "nats": self.nats is not None and self.rload is not None,
                "redis": self.redis is not None and
                self.rload is not None}[kind]

    def start(self, kind, extra=(), tag=None):
        if kind in ("cluster", "cluster-local"):
            return Cluster(self, kind)
        port = free_port()
        logpath = os.path.join(self.work, "%s.log" % (tag or kind))
        tls_port = None
        if kind in ("msgrouterd", "msgrouterd-tls"):
            # The default configuration; the admin interface is off only
            # so that runs never fight over its fixed port.
            argv = [self.a.msgrouterd, "-l", "127.0.0.1:%d" % port,
                    "--admin", "off"] + list(extra)
            if kind == "msgrouterd-tls":
                d = self.make_certs()
                tls_port = free_port()
                argv += ["--tls-listen", "127.0.0.1:%d" % tls_port,
                         "--tls-cert", os.path.join(d, "server.pem"),
                         "--tls-key", os.path.join(d, "server.key")]
        elif kind == "refrouter":
            argv = [self.refrouter, str(port)]
        elif kind == "nats":
            argv = [self.nats, "-a", "127.0.0.1", "-p", str(port)]
        elif kind == "redis":
            argv = [self.redis, "--port", str(port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no",
                    "--protected-mode", "no"]
        srv = Server(kind, argv, port, logpath)
        srv.tls_port = tls_port
        return srv

    def start_node(self, n, url):
        """Cluster node n on NATS at url, its admin interface on (for
        /stats) on a free port."""
        admin = free_port()
        srv = self.start("msgrouterd", (
            "-c", self.cluster_conf(), "--admin", "127.0.0.1:%d" % admin,
            "--cluster-nats", url, "--node", str(n)), tag="node%d" % n)
        srv.admin_port = admin
        return srv

    def bench_argv(self, srv):
        """msgrouter-bench's address, over TLS for msgrouterd-tls; every
        pair across the nodes of a cluster."""
        if srv.kind == "cluster":
            return [self.a.bench_tool, "--cross", "-H", ",".join(
                "127.0.0.1:%d" % p for p in srv.ports)]
        if srv.kind == "cluster-local":
            return [self.a.bench_tool, "-H", "127.0.0.1:%d" % srv.port]
        if srv.tls_port is None:
            return [self.a.bench_tool, "-H", "127.0.0.1:%d" % srv.port]
        return [self.a.bench_tool, "-H", "127.0.0.1:%d" % srv.tls_port,
                "--tls", "--ca", os.path.join(self.make_certs(), "ca.pem")]

    # -- one run -----------------------------------------------------------

    def load_argv(self, srv, p):
        proto = PROTO[srv.kind]
        # "gen": "bench" is for the routers; the others speak only rload.
        if self.rload is None or (p.get("gen") == "bench" and
                                  proto == "router"):
            argv = self.bench_argv(srv) + [
                    "--json", "-q", "--pairs", str(p["pairs"]),
                    "--size", str(p["size"]), "--window", str(p["window"]),
                    "--duration", str(self.a.duration),
                    "--warmup", str(self.a.warmup)]
            if p.get("stall"):
                argv += ["--stalled", str(p["stall"])]
            return argv
        argv = [self.rload, "--port", str(srv.port), "--proto", proto, "-q",
                "--pairs", str(p["pairs"]), "--size", str(p["size"]),
                "--window", str(p["window"]),
                "--duration", str(self.a.duration),
                "--warmup", str(self.a.warmup)]
        if p.get("stall"):
            argv += ["--stall", str(p["stall"])]
        return argv

    def run_load(self, kind, params, extra=()):
        """Start a server, load it once, stop it; return the run record."""
        srv = self.start(kind, extra)
        try:
            argv = self.load_argv(srv, params)
            pids = srv.members()
            cpu0 = {k: proc_cpu_s(p) for k, p in pids.items()}
            busy0, total0 = machine_busy_s()
            t0 = time.time()
            ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL)
            rss_peak_during = 0
            out = b""
            while True:
                try:
                    out, _ = proc.communicate(timeout=0.25)
                    break
                except subprocess.TimeoutExpired:
                    rss = proc_status_kb(srv.pid, "VmRSS") or 0
                    rss_peak_during = max(rss_peak_during, rss)
            # The load generator's own CPU: the only child reaped since.
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            ru = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime +
                                                  ru0.ru_stime)
            cpu1 = {k: proc_cpu_s(p) for k, p in pids.items()}
            busy1, total1 = machine_busy_s()
            # Before the stop: a cluster's nodes take a while to stop.
            wall = time.time() - t0
            hwm = proc_status_kb(srv.pid, "VmHWM")
            after = srv.after_load()
        finally:
            srv.stop()
        try:
            r = json.loads(out.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            r = {"errors": ["no JSON from the load generator"]}
        rec = {"server": kind, "params": params, "extra": list(extra),
               "wall_s": round(wall, 3), "load": r}
        rec.update(after)
        self.record_cpu(rec, cpu0, cpu1)
        elapsed = total1 - total0
        if elapsed > 0:
            busy_pct = (busy1 - busy0) / elapsed * 100 * NCPU
            rec["machine_busy_pct"] = round(busy_pct, 1)
            rec["server_cpu_pct"] = round(
                rec.get("server_cpu_s", 0) / wall * 100, 1)
            rec["load_cpu_pct"] = round(ru / wall * 100, 1)
        rec["server_rss_peak_kb"] = hwm
        rec["server_rss_sampled_max_kb"] = rss_peak_during
        return rec

    def record_cpu(self, rec, cpu0, cpu1):
        """The servers' CPU over the run: in all and per message verified;
        per process too when there are several (a cluster), per frame
        that crossed between nodes (every one, with --cross)."""
        used = {k: cpu1[k] - cpu0[k] for k in cpu0
                if cpu0[k] is not None and cpu1.get(k) is not None}
        if len(used) < len(cpu0):
            return
        rec["server_cpu_s"] = round(sum(used.values()), 3)
        msgs = rec.get("cluster_frames_out") or rec["load"].get("received")
        if msgs:
            rec["server_cpu_ns_per_msg"] = round(
                rec["server_cpu_s"] * 1e9 / msgs, 1)
        if len(used) > 1:
            rec["proc_cpu_s"] = {k: round(v, 3) for k, v in used.items()}
            if msgs:
                rec["proc_cpu_ns_per_msg"] = {
                    k: round(v * 1e9 / msgs, 1) for k, v in used.items()}

    def run_idle(self, kind, conns):
        srv = self.start(kind)
        try:
            before = proc_status_kb(srv.pid, "VmRSS")
            hold = 4 if not self.a.quick else 2
            proc = subprocess.Popen(
                [self.rload, "--port", str(srv.port), "--proto", PROTO[kind],
                 "--idle", str(conns), "--hold", str(hold), "-q"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            # Sample the RSS all along; only the hold counts (below).
            t0 = time.time()
            samples = []
            deadline = t0 + 60
            while proc.poll() is None and time.time() < deadline:
                time.sleep(0.2)
                samples.append((time.time() - t0,
                                proc_status_kb(srv.pid, "VmRSS") or 0))
            out, _ = proc.communicate()
        finally:
            srv.stop()
        try:
            r = json.loads(out.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            r = {"errors": ["no JSON from rload"]}
        # The hold: after the connects, before the closes (closing 10,000
        # clients at once is a transient that frees what it takes).
        start = (r.get("connect_s") or 0) + 0.3
        held = [kb for t, kb in samples if start <= t <= start + hold - 0.6]
        during = max(held) if held else max([kb for _, kb in samples] +
                                            [before])
        return {"server": kind, "params": {"idle": conns}, "load": r,
                "rss_before_kb": before, "rss_during_kb": during,
                "bytes_per_conn": round((during - before) * 1024 / conns, 1)}

    def run_idle_bench(self, kind, conns):
        """Idle connections opened by msgrouter-bench (TLS or not), with
        the router's RSS read before the first and after the last."""
        # The router needs a descriptor per client, the bench as many.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < conns + 256 <= hard or hard == resource.RLIM_INFINITY:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        srv = self.start(kind, ("--max-clients", str(conns + 64)))
        try:
            argv = self.bench_argv(srv) + [
                "--json", "-q", "--pairs", "1", "--duration", "0.2",
                "--warmup", "0", "--idle", str(conns),
                "--router-pid", str(srv.pid)]
            t0 = time.time()
            out = subprocess.run(argv, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL,
                                 timeout=300).stdout
            wall = time.time() - t0
        finally:
            srv.stop()
        try:
            r = json.loads(out.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            r = {"errors": ["no JSON from msgrouter-bench"]}
        return {"server": kind, "params": {"idle": conns}, "load": r,
                "wall_s": round(wall, 3),
                "rss_before_kb": r.get("router_rss_kb_before"),
                "rss_during_kb": r.get("router_rss_kb_after"),
                "bytes_per_conn": r.get("router_bytes_per_idle_conn")}

    # -- repetition and medians --------------------------------------------

    def clean(self, rec):
        """A run counts if nothing was lost and the machine was quiet."""
        load = rec["load"]
        if load.get("lost") or load.get("corrupt") or load.get("dup"):
            return False
        if load.get("setup_failed"):
            return False
        other = rec.get("machine_busy_pct", 0) - rec.get("server_cpu_pct", 0) \
            - rec.get("load_cpu_pct", 0)
        rec["other_pct"] = round(other, 1)
        return other <= DISTURBED_OTHER_PCT

    def forget(self, name):
        self.results["runs"] = [r for r in self.results["runs"]
                                if r.get("scenario") != name]

    def scenario(self, name, params, servers, runs=None, variants=None):
        """Alternate the servers run by run; medians per server."""
        self.forget(name)
        runs = runs or self.a.runs
        variants = variants or [(s, s, ()) for s in servers]
        variants = [v for v in variants if self.available(v[1])]
        if self.rload is None:
            variants = [v for v in variants
                        if v[1] in ("msgrouterd", "msgrouterd-tls",
                                    "cluster")]
        recs = {label: [] for label, _, _ in variants}
        for i in range(runs):
            for label, kind, extra in variants:
                # A disturbed run is kept in results.json, but repeated.
                for attempt in range(1 + self.a.retries):
                    log("%s: %s run %d/%d" % (name, label, i + 1, runs))
                    try:
                        rec = self.run_load(kind, dict(params), extra)
                    except RuntimeError as e:
                        self.skip("%s %s: %s" % (name, label, e))
                        break
                    rec["scenario"] = name
                    rec["label"] = label
                    rec["clean"] = self.clean(rec)
                    self.results["runs"].append(rec)
                    recs[label].append(rec)
                    l = rec["load"]
                    log("  %s msgs/s p50 %s us p99 %s us, cpu %s ns/msg, "
                        "other %s%%%s" % (
                            l.get("msgs_per_s"), l.get("p50_us"),
                            l.get("p99_us"), rec.get("server_cpu_ns_per_msg"),
                            rec.get("other_pct"),
                            "" if rec["clean"] else " (disturbed)"))
                    if rec["clean"]:
                        break
        sc = {"params": params,
              "servers": {label: summarize(r)
                          for label, r in recs.items() if r}}
        self.results["scenarios"][name] = sc
        self.save()
        return sc

    def idle_scenario(self, name, variants, runs):
        """Idle connections (rload --idle), the variants alternated run
        by run; the median bytes per connection of each."""
        if self.rload is None:
            return
        conns = 10000 if not self.a.quick else 2000
        variants = [v for v in variants if self.available(v[1])]
        vals = {label: [] for label, _ in variants}
        self.forget(name)
        for i in range(runs):
            for label, kind in variants:
                log("%s: %s, %d connections, run %d/%d" % (
                    name, label, conns, i + 1, runs))
                try:
                    rec = self.run_idle(kind, conns)
                except RuntimeError as e:
                    self.skip("%s %s: %s" % (name, label, e))
                    continue
                rec.update(scenario=name, label=label)
                self.results["runs"].append(rec)
                vals[label].append(rec)
                log("  %s B per connection" % rec["bytes_per_conn"])
        self.results["scenarios"][name] = {
            "params": {"idle": conns}, "servers": {
                label: {"bytes_per_conn": statistics.median(
                            r["bytes_per_conn"] for r in recs),
                        "rss_before_kb": statistics.median(
                            r["rss_before_kb"] or 0 for r in recs),
                        "connected": min(r["load"].get("connected") or 0
                                         for r in recs),
                        "runs": len(recs)}
                for label, recs in vals.items() if recs}}
        self.save()

    def cluster_scenarios(self):
        """Issue 11: (a) one node, (b) two nodes with every pair across
        them over one nats-server, (c) the same clients through a
        nats-server directly; then the idle RSS of a node, alone and in
        a cluster.  (a) against refrouter is t64's."""
        self.scenario("cluster", {"pairs": 50, "size": 64, "window": 64,
                                  "gen": "bench"}, [],
                      variants=[(CL_ONE, "msgrouterd", ()),
                                (CL_LOCAL, "cluster-local", ()),
                                (CL_TWO, "cluster", ()),
                                (CL_NATS, "nats", ())])
        self.idle_scenario("cluster_idle",
                           [("one node", "msgrouterd"),
                            ("cluster node", "cluster")], self.a.runs)

    def save(self):
        save_results(self.results, self.a.out)

    # -- the scenarios -----------------------------------------------------

    def run_all(self):
        every = ["msgrouterd", "refrouter", "nats", "redis"]
        pair = ["msgrouterd", "refrouter"]
        want = self.a.only.split(",") if self.a.only else None

        def on(name):
            return want is None or name in want

        if on("t64"):
            self.scenario("t64", {"pairs": 50, "size": 64, "window": 64},
                          every)
        if on("t4k"):
            self.scenario("t4k", {"pairs": 50, "size": 4096, "window": 8},
                          pair)
        if on("t500"):
            self.scenario("t500", {"pairs": 500, "size": 64, "window": 16},
                          pair)
        if on("latency"):
            self.scenario("latency", {"pairs": 1, "size": 64, "window": 1},
                          every)
        if on("stall"):
            ql = 8 << 20
            for policy in ("backpressure", "drop", "disconnect"):
                ex = ("--slow-consumer", policy)
                self.scenario("stall_" + policy,
                              {"pairs": 50, "size": 64, "window": 64,
                               "stall": 4, "queue_limit": ql}, [],
                              variants=[("msgrouterd+stall", "msgrouterd",
                                         ex)])
                self.scenario("nostall_" + policy,
                              {"pairs": 50, "size": 64, "window": 64}, [],
                              variants=[("msgrouterd", "msgrouterd", ex)])
            self.scenario("stall_refrouter",
                          {"pairs": 50, "size": 64, "window": 64,
                           "stall": 4}, [], runs=1,
                          variants=[("refrouter+stall", "refrouter", ())])
        if on("idle"):
            self.idle_scenario("idle", [(k, k) for k in every], 1)
        tls = [("msgrouterd", "msgrouterd", ()),
               ("msgrouterd+tls", "msgrouterd-tls", ())]
        if on("tls") or on("tls64"):
            self.scenario("tls64", {"pairs": 50, "size": 64, "window": 64,
                                    "gen": "bench"}, [], variants=tls)
        if on("tls") or on("tls4k"):
            self.scenario("tls4k", {"pairs": 50, "size": 4096, "window": 8,
                                    "gen": "bench"}, [], variants=tls)
        if on("tls") or on("tls_idle"):
            conns = 10000 if not self.a.quick else 2000
            sc = {"params": {"idle": conns}, "servers": {}}
            self.forget("tls_idle")
            for label, kind, _ in tls:
                vals = []
                for i in range(self.a.runs):
                    log("tls_idle: %s, %d connections, run %d/%d" % (
                        label, conns, i + 1, self.a.runs))
                    try:
                        rec = self.run_idle_bench(kind, conns)
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        self.skip("tls_idle %s: %s" % (label, e))
                        break
                    rec["scenario"] = "tls_idle"
                    rec["label"] = label
                    self.results["runs"].append(rec)
                    log("  %s B per connection, %s connected in %s s" % (
                        rec["bytes_per_conn"], rec["load"].get("idle"),
                        rec["load"].get("setup_s")))
                    if rec["bytes_per_conn"] is not None:
                        vals.append(rec["bytes_per_conn"])
                if vals:
                    sc["servers"][label] = {
                        "bytes_per_conn": statistics.median(vals),
                        "runs": len(vals)}
            self.results["scenarios"]["tls_idle"] = sc
            self.save()
        if on("cluster"):
            self.cluster_scenarios()
        if on("sizes"):
            sizes = [40, 64, 256, 1024, 4096, 16384, 65536]
            if self.a.quick:
                sizes = [40, 1024, 65536]
            for s in sizes:
                w = 64 if s <= 256 else 16 if s <= 1024 else 8 \
                    if s <= 4096 else 4
                self.scenario("size_%d" % s,
                              {"pairs": 50, "size": s, "window": w}, pair,
                              runs=self.a.sweep_runs)
        if on("clients"):
            pairs = [1, 5, 50, 500, 5000]
            if self.a.quick:
                pairs = [1, 50, 5000]
            for p in pairs:
                self.scenario("clients_%d" % (2 * p),
                              {"pairs": p, "size": 64, "window": 16}, pair,
                              runs=self.a.sweep_runs)


def summarize(recs):
    """Medians of all runs, and of the clean ones ("clean")."""
    ok = [r for r in recs if r.get("clean")]

    def meds(use):
        def med(key, src="load"):
            vals = [((r.get(src) or {}) if src else r).get(key)
                    for r in use]
            vals = [v for v in vals if v is not None]
            return statistics.median(vals) if vals else None
        procs = {k for r in use for k in r.get("proc_cpu_ns_per_msg", {})}
        return {"msgs_per_s": med("msgs_per_s"),
                "proc_cpu_ns_per_msg": {k: med(k, "proc_cpu_ns_per_msg")
                                        for k in sorted(procs)} or None,
                "payload_mb_per_s": med("payload_mb_per_s"),
                "p50_us": med("p50_us"), "p99_us": med("p99_us"),
                "server_cpu_ns_per_msg": med("server_cpu_ns_per_msg",
                                             None),
                "server_rss_peak_kb": med("server_rss_peak_kb", None),
                "spam_mb_per_s": med("spam_mb_per_s")}
    out = meds(recs)
    out.update({"runs": len(recs), "clean_runs": len(ok),
                "clean": meds(ok) if ok else None})
    return out


def resummarize(res):
    """Medians again from the runs in results.json."""
    for name, sc in res["scenarios"].items():
        if name in ("idle", "tls_idle", "cluster_idle"):
            continue
        groups = {}
        for r in res["runs"]:
            if r.get("scenario") == name:
                groups.setdefault(r["label"], []).append(r)
        sc["servers"] = {k: summarize(v) for k, v in groups.items()}


# What results.json keeps of each rload report.
LOAD_KEYS = ("msgs_per_s", "payload_mb_per_s", "p50_us", "p90_us", "p99_us",
             "p999_us", "max_us", "lost", "corrupt", "dup", "sent",
             "received", "spam_mb_per_s", "stalled_closed", "stalled_open",
             "spam_closed", "setup_failed", "connected", "connect_s",
             "ids_unique", "dropped_during_hold")


def save_results(res, out):
    """results.json: the medians, then one line per run, trimmed."""
    for rec in res["runs"]:
        load = rec.get("load", {})
        slim = {k: load[k] for k in LOAD_KEYS if k in load}
        if load.get("errors"):
            slim["errors"] = load["errors"][:3]
        rec["load"] = slim
    head = {k: v for k, v in res.items() if k != "runs"}
    text = json.dumps(head, indent=1, sort_keys=True)
    runs = ",\n".join("  " + json.dumps(r, sort_keys=True)
                       for r in res["runs"])
    text = text[:-2] + ',\n "runs": [\n' + runs + "\n ]\n}\n"
    with open(os.path.join(out, "results.json"), "w") as f:
        f.write(text)


# -- report ----------------------------------------------------------------

def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt(v, spec="%.2f"):
    return "-" if v is None else spec % v


def pair_meds(a, b):
    """Clean medians when both sides have clean runs, else all runs:
    never a clean figure against a disturbed one."""
    if a.get("clean") and b.get("clean"):
        ca, cb = dict(a), dict(b)
        ca.update(a["clean"])
        cb.update(b["clean"])
        ca["basis"] = cb["basis"] = "clean"
        return ca, cb
    a, b = dict(a), dict(b)
    a["basis"] = b["basis"] = "all"
    return a, b


# The cluster scenario's three columns (issue 11).
CL_ONE, CL_TWO, CL_NATS = ("a: one node", "b: two nodes, across",
                           "c: nats-server direct")
CL_LOCAL = "a': a cluster node, local pairs"


def cluster_rows(sc):
    """Main-table rows: (b) against (c), a cluster node's idle RSS
    against a single node's."""
    rows = []
    cl = sc.get("cluster", {}).get("servers", {})
    if cl.get(CL_TWO) and cl.get(CL_NATS):
        b, c = pair_meds(cl[CL_TWO], cl[CL_NATS])
        x = ratio(b.get("msgs_per_s"), c.get("msgs_per_s"))
        rows.append((
            "9. cluster: 2 nodes, all 50 pairs across / NATS direct, "
            "64 B, W 64", "%s / %s msgs/s" % (
                fmt(b.get("msgs_per_s"), "%.0f"),
                fmt(c.get("msgs_per_s"), "%.0f")), fmt(x), ">= 1.0",
            "met" if x is not None and x >= 1.0 else
            ("-" if x is None else "NOT met"),
            "%s (3 processes) / %s" % (
                fmt(b.get("server_cpu_ns_per_msg"), "%.0f"),
                fmt(c.get("server_cpu_ns_per_msg"), "%.0f")),
            "%d/%d, %d/%d (%s)" % (b.get("clean_runs", 0), b.get("runs", 0),
                                   c.get("clean_runs", 0), c.get("runs", 0),
                                   b["basis"])))
    if cl.get(CL_LOCAL) and cl.get(CL_ONE):
        a2, a = pair_meds(cl[CL_LOCAL], cl[CL_ONE])
        x = ratio(a2.get("msgs_per_s"), a.get("msgs_per_s"))
        rows.append((
            "10. cluster (a'): a cluster node's local pairs / one node",
            "%s / %s msgs/s" % (fmt(a2.get("msgs_per_s"), "%.0f"),
                                fmt(a.get("msgs_per_s"), "%.0f")), fmt(x),
            ">= 0.9", "met" if x is not None and x >= 0.9 else
            ("-" if x is None else "NOT met"),
            "%s / %s" % (fmt(a2.get("server_cpu_ns_per_msg"), "%.0f"),
                         fmt(a.get("server_cpu_ns_per_msg"), "%.0f")),
            "%d/%d, %d/%d (%s)" % (a2.get("clean_runs", 0),
                                   a2.get("runs", 0), a.get("clean_runs", 0),
                                   a.get("runs", 0), a2["basis"])))
    idle = sc.get("cluster_idle", {}).get("servers", {})
    one, node = idle.get("one node"), idle.get("cluster node")
    if one and node:
        x = ratio(node["bytes_per_conn"], one["bytes_per_conn"])
        rows.append((
            "11. cluster: %d idle connections on a node" %
            sc["cluster_idle"]["params"]["idle"],
            "%.0f / %.0f B/conn (cluster node / one node; RSS before "
            "%s / %s kB)" % (node["bytes_per_conn"], one["bytes_per_conn"],
                             node.get("rss_before_kb", "-"),
                             one.get("rss_before_kb", "-")), fmt(x),
            "<= 1.05", "met" if x is not None and x <= 1.05 else "NOT met",
            "", "%d, %d" % (node.get("runs", 1), one.get("runs", 1))))
    return rows


def cluster_table(res):
    """The three columns side by side, with each process's CPU per
    frame that crossed (per message verified for (a) and (c))."""
    cl = res["scenarios"].get("cluster", {}).get("servers", {})
    if not cl:
        return []
    lines = ["", "| cluster, 50 pairs, 64 B, W 64 | msgs/s | p50 us | "
             "p99 us | CPU ns/msg: node 1 | node 2 | nats-server | all "
             "| lost+corrupt (all runs) | clean/all runs |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for label in (CL_ONE, CL_LOCAL, CL_TWO, CL_NATS):
        v = cl.get(label)
        if not v:
            continue
        basis = v["clean"] if v.get("clean") else v
        # (a) and (c) are one process each: its column.
        procs = basis.get("proc_cpu_ns_per_msg") or {
            {CL_ONE: "node1", CL_NATS: "nats-server"}[label]:
            basis.get("server_cpu_ns_per_msg")}
        bad = sum((r["load"].get("lost") or 0) +
                  (r["load"].get("corrupt") or 0) for r in res["runs"]
                  if r.get("scenario") == "cluster" and
                  r.get("label") == label)
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %d | %d/%d |"
                     % (label, fmt(basis.get("msgs_per_s"), "%.0f"),
                        fmt(basis.get("p50_us"), "%.1f"),
                        fmt(basis.get("p99_us"), "%.1f"),
                        fmt(procs.get("node1"), "%.0f"),
                        fmt(procs.get("node2"), "%.0f"),
                        fmt(procs.get("nats-server"), "%.0f"),
                        fmt(basis.get("server_cpu_ns_per_msg"), "%.0f"),
                        bad, v.get("clean_runs", 0), v.get("runs", 0)))
    return lines


def report(res, out):
    sc = res["scenarios"]
    rows = []

    def srv(name, label):
        return sc.get(name, {}).get("servers", {}).get(label, {})

    pair = pair_meds

    def thr(name, title, target):
        m, r = srv(name, "msgrouterd"), srv(name, "refrouter")
        if not m:
            return
        m, r = pair(m, r)
        x = ratio(m.get("msgs_per_s"), r.get("msgs_per_s"))
        rows.append((title, "%s / %s msgs/s" % (
            fmt(m.get("msgs_per_s"), "%.0f"), fmt(r.get("msgs_per_s"),
                                                  "%.0f")),
            fmt(x), target, "met" if x is not None and x >= 0.9 else
            ("-" if x is None else "NOT met"),
            "%s / %s" % (fmt(m.get("server_cpu_ns_per_msg"), "%.0f"),
                         fmt(r.get("server_cpu_ns_per_msg"), "%.0f")),
            "%d/%d, %d/%d (%s)" % (m.get("clean_runs", 0), m.get("runs", 0),
                                   r.get("clean_runs", 0), r.get("runs", 0),
                                   m["basis"])))

    thr("t64", "1. 50 pairs, 64 B, W 64", ">= 0.9")
    thr("t4k", "2. 50 pairs, 4 KiB, W 8", ">= 0.9")
    thr("t500", "2. 500 pairs, 64 B, W 16", ">= 0.9")
    m, r = srv("latency", "msgrouterd"), srv("latency", "refrouter")
    if m:
        m, r = pair(m, r)
        for pct in ("p50_us", "p99_us"):
            x = ratio(m.get(pct), r.get(pct))
            rows.append(("3. 1 pair, W 1: " + pct[:3], "%s / %s us" % (
                fmt(m.get(pct), "%.1f"), fmt(r.get(pct), "%.1f")), fmt(x),
                "<= 1.1", "met" if x is not None and x <= 1.1 else
                ("-" if x is None else "NOT met"), "%s / %s" % (
                    fmt(m.get("server_cpu_ns_per_msg"), "%.0f"),
                    fmt(r.get("server_cpu_ns_per_msg"), "%.0f")),
                "%d/%d, %d/%d (%s)" % (
                    m.get("clean_runs", 0), m.get("runs", 0),
                    r.get("clean_runs", 0), r.get("runs", 0), m["basis"])))
    for policy in ("backpressure", "drop", "disconnect"):
        s = srv("stall_" + policy, "msgrouter+stall") or \
            srv("stall_" + policy, "msgrouterd+stall")
        n = srv("nostall_" + policy, "msgrouterd")
        if not s:
            continue
        rss = s.get("server_rss_peak_kb")
        s, n = pair(s, n)
        x = ratio(s.get("msgs_per_s"), n.get("msgs_per_s"))
        ql = sc["stall_" + policy]["params"]["queue_limit"]
        bound = 4 * ql / 1024 + 64 * 1024
        rows.append(("4. stalled 4+4, %s" % policy, "%s / %s msgs/s, "
                     "peak RSS %s MiB (bound %.0f)" % (
                         fmt(s.get("msgs_per_s"), "%.0f"),
                         fmt(n.get("msgs_per_s"), "%.0f"),
                         fmt(rss / 1024 if rss else None, "%.1f"),
                         bound / 1024), fmt(x), ">= 0.9, RSS < bound",
                     "met" if x is not None and x >= 0.9 and rss and
                     rss < bound else "NOT met",
                     "%s / %s" % (fmt(s.get("server_cpu_ns_per_msg"), "%.0f"),
                                  fmt(n.get("server_cpu_ns_per_msg"),
                                      "%.0f")),
                     "%d/%d, %d/%d (%s)" % (
                         s.get("clean_runs", 0), s.get("runs", 0),
                         n.get("clean_runs", 0), n.get("runs", 0),
                         s["basis"])))
    idle = sc.get("idle", {}).get("servers", {})
    if idle.get("msgrouterd"):
        b = idle["msgrouterd"]["bytes_per_conn"]
        rows.append(("5. %d idle connections" % sc["idle"]["params"]["idle"],
                     "%.0f B/conn (refrouter %s, nats %s, redis %s)" % (
                         b, *(fmt(idle.get(k, {}).get("bytes_per_conn"),
                                  "%.0f") for k in
                              ("refrouter", "nats", "redis"))),
                     "", "<= 1280 B", "met" if b <= 1280 else "NOT met",
                     "", "1"))
    def tls_thr(name, title, target):
        t, p = srv(name, "msgrouterd+tls"), srv(name, "msgrouterd")
        if not t or not p:
            return
        t, p = pair(t, p)
        x = ratio(t.get("msgs_per_s"), p.get("msgs_per_s"))
        rows.append((title, "%s / %s msgs/s (TLS / plain)" % (
            fmt(t.get("msgs_per_s"), "%.0f"), fmt(p.get("msgs_per_s"),
                                                  "%.0f")),
            fmt(x), ">= %.1f" % target, "met" if x is not None and
            x >= target else ("-" if x is None else "NOT met"),
            "%s / %s" % (fmt(t.get("server_cpu_ns_per_msg"), "%.0f"),
                         fmt(p.get("server_cpu_ns_per_msg"), "%.0f")),
            "%d/%d, %d/%d (%s)" % (t.get("clean_runs", 0), t.get("runs", 0),
                                   p.get("clean_runs", 0), p.get("runs", 0),
                                   t["basis"])))

    tls_thr("tls64", "6. TLS: 50 pairs, 64 B, W 64", 0.5)
    tls_thr("tls4k", "7. TLS: 50 pairs, 4 KiB, W 8", 0.6)
    ti = sc.get("tls_idle", {}).get("servers", {})
    if ti.get("msgrouterd+tls"):
        b = ti["msgrouterd+tls"]["bytes_per_conn"]
        rows.append(("8. %d idle TLS connections" %
                     sc["tls_idle"]["params"]["idle"],
                     "%.0f B/conn (plain %s, same method)" % (
                         b, fmt(ti.get("msgrouterd", {}).get(
                             "bytes_per_conn"), "%.0f")),
                     "", "<= 8192 B", "met" if b <= 8192 else "NOT met",
                     "", str(ti["msgrouterd+tls"].get("runs", 1))))
    rows += cluster_rows(sc)
    if "cluster" in sc:
        # (a) against refrouter is t64 (this msgrouterd, rload): reused.
        title = "12. cluster (a): one node / refrouter = row 1 (t64)"
        if "t64" in sc:
            thr("t64", title, ">= 0.9, unchanged")
        else:
            rows.append((title, "t64 not run (--only t64,cluster, or "
                         "--update)", "-", ">= 0.9, unchanged", "-", "",
                         ""))
    lines = ["| target | msgrouterd / reference | ratio | goal | status | "
             "router CPU ns/msg (msgrouterd / reference) | clean/all runs "
             "(medians of) |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append("| " + " | ".join(row) + " |")
    others = []
    for name in ("t64", "latency"):
        for k in ("nats", "redis"):
            o = srv(name, k)
            if o:
                others.append("| %s | %s | %s msgs/s | p50 %s us | p99 %s us "
                              "| %s ns/msg |" % (
                                  name, k, fmt(o.get("msgs_per_s"), "%.0f"),
                                  fmt(o.get("p50_us"), "%.1f"),
                                  fmt(o.get("p99_us"), "%.1f"),
                                  fmt(o.get("server_cpu_ns_per_msg"),
                                      "%.0f")))
    if others:
        lines += ["", "| scenario | server | throughput | p50 | p99 | "
                  "server CPU |", "|---|---|---|---|---|---|"] + others
    lines += cluster_table(res)
    if res.get("skipped"):
        lines += [""] + ["- skipped: " + s for s in res["skipped"]]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(text)
    print(text)


def plots(res, out):
    if shutil.which("gnuplot") is None:
        log("gnuplot not found: no plots")
        return
    sc = res["scenarios"]

    def series(prefix, key, xkey):
        data = {}
        for name, s in sc.items():
            if not name.startswith(prefix):
                continue
            x = s["params"][xkey] * (2 if xkey == "pairs" else 1)
            for label, v in s["servers"].items():
                if v.get(key) is not None:
                    data.setdefault(label, []).append((x, v[key]))
        return {k: sorted(v) for k, v in data.items()}

    made = []
    for fname, prefix, xkey, key, xlabel, ylabel in (
            ("sizes_msgs", "size_", "size", "msgs_per_s",
             "payload bytes", "messages/s"),
            ("sizes_mb", "size_", "size", "payload_mb_per_s",
             "payload bytes", "payload MB/s"),
            ("sizes_cpu", "size_", "size", "server_cpu_ns_per_msg",
             "payload bytes", "server CPU ns per message"),
            ("clients_msgs", "clients_", "pairs", "msgs_per_s",
             "clients", "messages/s"),
            ("clients_cpu", "clients_", "pairs", "server_cpu_ns_per_msg",
             "clients", "server CPU ns per message")):
        data = series(prefix, key, xkey)
        if not data:
            continue
        datfile = os.path.join(out, fname + ".dat")
        with open(datfile, "w") as f:
            for label, pts in data.items():
                f.write("# %s\n" % label)
                for x, y in pts:
                    f.write("%g %g\n" % (x, y))
                f.write("\n\n")
        labels = list(data)
        plot = ", ".join("'%s' index %d with linespoints lw 2 title '%s'" %
                         (datfile, i, l) for i, l in enumerate(labels))
        for term, ext in (("pngcairo size 800,500", "png"),
                          ("svg size 800,500", "svg")):
            script = ("set terminal %s\nset output '%s'\nset logscale x 2\n"
                      "set logscale y\nset grid\nset key top right\n"
                      "set xlabel '%s'\nset ylabel '%s'\nplot %s\n" %
                      (term, os.path.join(out, fname + "." + ext), xlabel,
                       ylabel, plot))
            subprocess.run(["gnuplot"], input=script, text=True, check=True)
        os.unlink(datfile)
        made.append(fname)
    # Ratios to refrouter for the headline scenarios.
    bars = []
    for name, title in (("t64", "64B W64"), ("t4k", "4KiB W8"),
                        ("t500", "500p W16")):
        m = sc.get(name, {}).get("servers", {})
        x = ratio(m.get("msgrouterd", {}).get("msgs_per_s"),
                  m.get("refrouter", {}).get("msgs_per_s"))
        if x is not None:
            bars.append((title, x))
    if bars:
        datfile = os.path.join(out, "ratios.dat")
        with open(datfile, "w") as f:
            for t, x in bars:
                f.write("\"%s\" %g\n" % (t, x))
        for term, ext in (("pngcairo size 640,400", "png"),
                          ("svg size 640,400", "svg")):
            script = ("set terminal %s\nset output '%s'\nset style fill "
                      "solid 0.6\nset boxwidth 0.6\nset yrange [0:1.2]\n"
                      "set grid y\nset ylabel 'msgrouterd / refrouter "
                      "msgs/s'\nf(x)=0.9\nplot '%s' using 0:2:xtic(1) with "
                      "boxes title 'ratio', 0.9 with lines dt 2 title "
                      "'target 0.9'\n" % (term, os.path.join(
                          out, "ratios." + ext), datfile))
            subprocess.run(["gnuplot"], input=script, text=True, check=True)
        os.unlink(datfile)
        made.append("ratios")
    log("plots: " + ", ".join(made))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--msgrouterd", help="required unless --report-only")
    ap.add_argument("--bench-tool", help="msgrouter-bench (without rload)")
    ap.add_argument("--tools", help="the shared yardsticks (rload, "
                    "refrouter sources)")
    ap.add_argument("--work", help="build dir for yardsticks and logs "
                    "(required unless --report-only)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--sweep-runs", type=int)
    ap.add_argument("--retries", type=int, help="repeat a disturbed run "
                    "up to this many times")
    ap.add_argument("--duration", type=float)
    ap.add_argument("--warmup", type=float)
    ap.add_argument("--only", help="comma-separated scenarios: t64, t4k, "
                    "t500, latency, stall, idle, sizes, clients, tls "
                    "(= tls64, tls4k, tls_idle), cluster")
    ap.add_argument("--update", action="store_true", help="keep the "
                    "scenarios of an earlier results.json in --out that "
                    "are not run now")
    ap.add_argument("--report-only", action="store_true",
                    help="redo summary and plots from results.json")
    a = ap.parse_args()
    if a.report_only:
        with open(os.path.join(a.out, "results.json")) as f:
            res = json.load(f)
        resummarize(res)
        save_results(res, a.out)
        report(res, a.out)
        plots(res, a.out)
        return 0
    if not a.msgrouterd or not a.work:
        ap.error("--msgrouterd and --work are required")
    a.runs = a.runs or (1 if a.quick else 5)
    a.sweep_runs = a.sweep_runs or (1 if a.quick else 3)
    if a.retries is None:
        a.retries = 0 if a.quick else 2
    a.duration = a.duration or (1.0 if a.quick else 5.0)
    a.warmup = a.warmup or (0.5 if a.quick else 1.0)
    b = Bench(a)
    b.run_all()
    b.save()
    report(b.results, a.out)
    plots(b.results, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
