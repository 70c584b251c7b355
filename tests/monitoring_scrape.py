"""The monitoring kit against the real daemon (run by test_monitoring.sh).

Start msgrouterd on free loopback ports, pass traffic through it with
msgrouter-bench, scrape /metrics, and require that promtool check metrics
finds no problem in the scrape and that every metric name the Prometheus
rules and the Grafana dashboard use is either exported by the scrape or
is one of the rules' recording rules.  With $NATS_SERVER (a build with
libnats), a nats-server on a free port and two cluster nodes on it carry
traffic across (msgrouter-bench --cross) and node 1's scrape is checked
the same way, so the msgrouter_cluster_* names are checked too; without
it they are left out of the name check, and it says so.  Every wait has
a deadline.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

DEADLINE = 15.0
# A PromQL identifier: metric names, recording rule names, functions, labels.
IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def fail(msg):
    raise AssertionError(msg)


def wait_ports(proc, log_path):
    """Read the routing and admin ports from the daemon's log."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            log = f.read()
        r = re.search(r"info  listening on 127\.0\.0\.1:(\d+)", log)
        a = re.search(r"admin listening on 127\.0\.0\.1:(\d+)", log)
        if r and a:
            return int(r.group(1)), int(a.group(1))
        if proc.poll() is not None:
            fail("msgrouterd exited with %d before listening" % proc.returncode)
        time.sleep(0.02)
    fail("msgrouterd did not log both listening lines in %gs" % DEADLINE)


def scrape(port):
    url = "http://127.0.0.1:%d/metrics" % port
    with urllib.request.urlopen(url, timeout=DEADLINE) as r:
        if r.status != 200:
            fail("GET /metrics: status %d" % r.status)
        ctype = r.headers.get("Content-Type", "")
        if not ctype.startswith("text/plain; version=0.0.4"):
            fail("GET /metrics: Content-Type %r" % ctype)
        return r.read().decode("utf-8")


def start_daemon(exe, args, log_path):
    """msgrouterd with args, its log in log_path: (proc, port, admin)."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([exe] + args, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log)
    port, admin = wait_ports(proc, log_path)
    return proc, port, admin


def stop_daemon(proc, what):
    """SIGTERM; fail unless it exits 0 within the deadline."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        rc = "killed after %gs" % DEADLINE
    if rc != 0:
        fail("%s exited %s after SIGTERM" % (what, rc))
    print("%s exited 0 after SIGTERM" % what)


def start_nats(exe, tmp):
    """nats-server on a free loopback port: (proc, url)."""
    log_path = os.path.join(tmp, "nats.log")
    proc = subprocess.Popen([exe, "-a", "127.0.0.1", "-p", "-1",
                             "-l", log_path], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if os.path.exists(log_path):
            with open(log_path, encoding="utf-8", errors="replace") as f:
                log = f.read()
            m = re.search(r"Listening for client connections on "
                          r"127\.0\.0\.1:(\d+)", log)
            if m and "Server is ready" in log:
                return proc, "nats://127.0.0.1:%s" % m.group(1)
        if proc.poll() is not None:
            fail("nats-server exited with %d" % proc.returncode)
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    fail("nats-server was not ready in %gs" % DEADLINE)


def stats(port):
    url = "http://127.0.0.1:%d/stats" % port
    with urllib.request.urlopen(url, timeout=DEADLINE) as r:
        return json.load(r)


def cluster_scrape(args, tmp, nats_exe):
    """Two nodes over one nats-server, traffic across: node 1's /metrics."""
    nats, url = start_nats(nats_exe, tmp)
    nodes = []
    try:
        for n in (1, 2):
            proc, port, admin = start_daemon(
                args.msgrouterd, ["-l", "127.0.0.1:0", "--admin",
                                  "127.0.0.1:0", "--id-mode", "sequential",
                                  "--cluster-nats", url, "--node", str(n)],
                os.path.join(tmp, "node%d.log" % n))
            nodes.append((proc, port, admin))
        end = time.monotonic() + DEADLINE
        while True:
            peers = [[p["state"] for p in stats(a)["cluster"]["peers"]]
                     for _, _, a in nodes]
            if peers == [["up"], ["up"]]:
                break
            if time.monotonic() > end:
                fail("the two nodes do not see each other up: %r" % peers)
            time.sleep(0.05)
        print("cluster: nodes 1 and 2 up over %s" % url)
        bench = subprocess.run(
            [args.bench, "-H", "127.0.0.1:%d,127.0.0.1:%d" %
             (nodes[0][1], nodes[1][1]), "--cross", "-p", "2",
             "-d", "0.3", "--warmup", "0.1", "-q"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=DEADLINE)
        sys.stdout.write(bench.stdout)
        if bench.returncode != 0:
            fail("msgrouter-bench --cross exited %d: %s"
                 % (bench.returncode, bench.stderr))
        text = scrape(nodes[0][2])
        names, samples = exported_names(text)
        out = samples.get("msgrouter_cluster_frames_out_total", 0)
        print("cluster scrape: %d bytes, %d metrics; frames out %d"
              % (len(text), len(names), out))
        if out == 0 or 'msgrouter_cluster_peer_up{peer="2",state="up"} 1' \
                not in text:
            fail("node 1's scrape does not show the cluster's traffic")
        lint(args, text, "node 1")
        return names
    finally:
        for i, (proc, _, _) in enumerate(nodes):
            stop_daemon(proc, "node %d" % (i + 1))
        nats.terminate()
        nats.wait(timeout=DEADLINE)


def lint(args, text, what):
    """promtool check metrics finds nothing in text."""
    r = subprocess.run([args.promtool, "check", "metrics"],
                       input=text, capture_output=True, text=True,
                       timeout=DEADLINE)
    print("promtool check metrics (%s): exit %d, %d bytes of output"
          % (what, r.returncode, len(r.stdout) + len(r.stderr)))
    if r.returncode != 0 or r.stdout or r.stderr:
        fail("promtool check metrics (%s):\n%s%s"
             % (what, r.stdout, r.stderr))


def exported_names(text):
    """The metric names of a scrape, and its samples by name (no labels)."""
    names, samples = set(), {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            name = IDENT.match(line).group(0)
            names.add(name)
            if "{" not in line:
                samples[name] = int(line.split()[1])
    return names, samples


def referenced(exprs):
    """msgrouter metric and recording rule names used in PromQL exprs."""
    found = set()
    for e in exprs:
        for tok in IDENT.findall(STRING.sub('""', e)):
            if "msgrouter_" in tok:
                found.add(tok)
    return found


def rules_names(path):
    """The recording rules defined and the names the rules' exprs use."""
    with open(path, encoding="utf-8") as f:
        lines = [l for l in f if not l.lstrip().startswith("#")]
    records = set()
    exprs = []
    current = None
    for line in lines:
        m = re.match(r"\s*-?\s*record:\s*(\S+)", line)
        if m:
            records.add(m.group(1))
        m = re.match(r"(\s*)expr:\s*(.*)$", line)
        if m:
            current = (len(m.group(1)), [m.group(2)])
            exprs.append(current[1])
            continue
        # The lines of a block scalar (expr: |) are indented deeper.
        if current and line.strip() and \
                len(line) - len(line.lstrip()) > current[0]:
            current[1].append(line.strip())
        else:
            current = None
    return records, [" ".join(e) for e in exprs]


def dashboard_exprs(path):
    """Every PromQL expression of the dashboard: targets and variables."""
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    exprs = []

    def walk(o):
        if isinstance(o, dict):
            if isinstance(o.get("expr"), str):
                exprs.append(o["expr"])
            q = o.get("query")
            if o.get("type") == "query":
                if isinstance(q, dict):
                    q = q.get("query")
                if isinstance(q, str):
                    exprs.append(q)
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(dash)
    return dash, exprs


def check_alerts_tested(rules, tests):
    """Every alert has a unit test where it fires and one where it does not."""
    with open(rules, encoding="utf-8") as f:
        alerts = re.findall(r"^\s*-\s*alert:\s*(\S+)", f.read(), re.M)
    with open(tests, encoding="utf-8") as f:
        lines = [l.strip() for l in f if l.strip() and
                 not l.lstrip().startswith("#")]
    fires, silent = set(), set()
    for i, line in enumerate(lines[:-2]):
        m = re.match(r"alertname:\s*(\S+)$", line)
        if not m:
            continue
        if lines[i + 1] == "exp_alerts: []":
            silent.add(m.group(1))
        elif lines[i + 1] == "exp_alerts:" and \
                lines[i + 2].startswith("- exp_labels:"):
            fires.add(m.group(1))
    if len(alerts) < 5:
        fail("%s: only %d alerts found" % (rules, len(alerts)))
    untested = [a for a in alerts if a not in fires or a not in silent]
    if untested:
        fail("%s lacks a firing and a silent case for: %s"
             % (tests, ", ".join(untested)))
    print("alerts: %d, each tested firing and silent" % len(alerts))


def check_dashboard_promql(args, exprs, tmp):
    """promtool parses every dashboard expression ($job and $instance
    standing for any value): each becomes a recording rule of a file
    that promtool check rules reads."""
    path = os.path.join(tmp, "dashboard-exprs.yml")
    with open(path, "w", encoding="utf-8") as f:
        f.write("groups:\n  - name: dashboard\n    rules:\n")
        for i, e in enumerate(exprs):
            if e.startswith("label_values("):
                continue	# a Grafana function, not PromQL
            e = e.replace("$job", ".*").replace("$instance", ".*")
            f.write("      - record: dashboard:expr_%d\n        expr: %s\n"
                    % (i, json.dumps(e)))
    r = subprocess.run([args.promtool, "check", "rules", path],
                       capture_output=True, text=True, timeout=DEADLINE)
    if r.returncode != 0:
        fail("the dashboard's PromQL does not parse:\n%s%s"
             % (r.stdout, r.stderr))
    print("dashboard: %d expressions parsed by promtool" % len(exprs))


def check_names(what, names, exported, records):
    missing = sorted(n for n in names if n not in exported and
                     n not in records)
    if missing:
        fail("%s names metrics /metrics does not export and no rule "
             "records: %s" % (what, ", ".join(missing)))
    print("%s: %d names, all exported or recorded" % (what, len(names)))


def run(args, tmp):
    proc, port, admin = start_daemon(
        args.msgrouterd, ["-l", "127.0.0.1:0", "--admin", "127.0.0.1:0"],
        os.path.join(tmp, "daemon.log"))
    try:
        print("msgrouterd pid %d: routing port %d, admin port %d"
              % (proc.pid, port, admin))
        # Two pairs exchanging checked messages, a stalled reader with its
        # spammer (backpressure pauses it): every counter class moves.
        bench = subprocess.run(
            [args.bench, "-H", "127.0.0.1:%d" % port, "-p", "2",
             "-d", "0.3", "--warmup", "0.1", "--stalled", "1", "-q"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=DEADLINE)
        sys.stdout.write(bench.stdout)
        if bench.returncode != 0:
            fail("msgrouter-bench exited %d: %s"
                 % (bench.returncode, bench.stderr))
        text = scrape(admin)
        names, samples = exported_names(text)
        fwd = samples.get("msgrouter_messages_forwarded_total", 0)
        rcv = samples.get("msgrouter_messages_received_total", -1)
        drops = samples.get(
            "msgrouter_messages_dropped_unknown_destination_total", 0) + \
            samples.get("msgrouter_messages_dropped_queue_full_total", 0) + \
            samples.get("msgrouter_messages_dropped_sender_gone_total", 0)
        print("scrape: %d bytes, %d metrics; forwarded %d, received %d"
              % (len(text), len(names), fwd, rcv))
        if fwd == 0 or rcv != fwd + drops:
            fail("the scrape does not show the traffic: forwarded %d, "
                 "received %d, dropped %d" % (fwd, rcv, drops))
        if samples.get("msgrouter_clients_paused_total", 0) == 0:
            fail("the stalled reader paused no sender")
        if any(n.startswith("msgrouter_cluster_") for n in names):
            fail("a single node exports msgrouter_cluster_ metrics")
        lint(args, text, "one node")
    finally:
        stop_daemon(proc, "msgrouterd")

    nats_exe = os.environ.get("NATS_SERVER", "")
    if nats_exe:
        names |= cluster_scrape(args, tmp, nats_exe)

    check_alerts_tested(args.rules, args.rules_test)
    records, exprs = rules_names(args.rules)
    if len(records) < 5 or len(exprs) < 10:
        fail("%s: only %d records, %d exprs found"
             % (args.rules, len(records), len(exprs)))
    rnames = referenced(exprs)
    dash, dexprs = dashboard_exprs(args.dashboard)
    if len(dexprs) < 10:
        fail("%s: only %d expressions found" % (args.dashboard,
                                                len(dexprs)))
    dnames = referenced(dexprs)
    check_dashboard_promql(args, dexprs, tmp)
    if not nats_exe:
        left = sorted(n for n in rnames | dnames
                      if n.startswith("msgrouter_cluster_"))
        print("NOTE: no NATS_SERVER (a build without libnats): the "
              "cluster's names not checked: %s" % ", ".join(left))
        rnames -= set(left)
        dnames -= set(left)
    check_names("rules", rnames, names, records)
    check_names("dashboard", dnames, names, records)


def main():
    p = argparse.ArgumentParser()
    for opt in ("msgrouterd", "bench", "promtool", "rules", "rules-test",
                "dashboard"):
        p.add_argument("--" + opt, required=True)
    args = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="tmp-monitoring.",
                           dir=os.environ.get("TESTS_TMPDIR"))
    try:
        run(args, tmp)
    except AssertionError as e:
        print("FAIL: %s" % e)
        for name in ("daemon.log", "nats.log", "node1.log", "node2.log"):
            log = os.path.join(tmp, name)
            if os.path.exists(log):
                with open(log, encoding="utf-8", errors="replace") as f:
                    sys.stdout.write("--- %s\n%s" % (log, f.read()))
        return 1
    shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
