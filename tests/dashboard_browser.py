#!/usr/bin/env python3
"""The admin dashboard in a real browser: headless Chromium, driven over
the DevTools protocol on a pipe (--remote-debugging-pipe: the standard
library suffices, no websocket client), against the real msgrouterd
carrying traffic, with a slow consumer and a closed client; with
$NATS_SERVER, two cluster nodes over a nats-server it starts (and stops
by its pid): the cluster panel against node 1's /stats, then node 2 and
NATS stopped.

Every wait polls a condition until a deadline; nothing sleeps for a fixed
time to let something happen.  Usage: dashboard_browser.py MSGROUTERD
CHROMIUM OUTDIR (the screenshots go to OUTDIR).
"""

import base64
import fcntl
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

DEADLINE = 20.0		# seconds for any one wait
TOKEN = "dash-s3cret"


class Fail(Exception):
    pass


def wait_until(what, fn, deadline=DEADLINE):
    """Call fn until it returns a true value; that value, or Fail."""
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        try:
            v = fn()
            if v:
                return v
            last = v
        except (OSError, ValueError, KeyError) as e:
            last = e
        time.sleep(0.05)
    raise Fail("timed out waiting for %s (last: %r)" % (what, last))


class Daemon:
    """msgrouterd on free loopback ports, its log in a file."""

    def __init__(self, exe, tmp, name, token=None, extra=()):
        self.log_path = os.path.join(tmp, name + ".log")
        args = [exe, "-l", "127.0.0.1:0", "--admin", "127.0.0.1:0",
                "--queue-limit", "64K", "--id-mode", "sequential"]
        args += list(extra)
        if token is not None:
            conf = os.path.join(tmp, name + ".conf")
            with open(conf, "w") as f:
                f.write("[admin]\ntoken = %s\n" % token)
            args[1:1] = ["-c", conf]
        self.token = token
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        self.port = self.admin_port = None

        def ready():
            if self.proc.poll() is not None:
                raise Fail("msgrouterd exited: " + self.read_log())
            for line in self.read_log().splitlines():
                if " admin listening on " in line:
                    self.admin_port = int(line.rsplit(":", 1)[1])
                elif " listening on " in line:
                    self.port = int(line.rsplit(":", 1)[1])
            return self.port and self.admin_port
        wait_until("msgrouterd to listen", ready)

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    def get(self, path):
        """GET a JSON endpoint with the token."""
        req = urllib.request.Request("http://127.0.0.1:%d%s" %
                                     (self.admin_port, path))
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.load(r)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.admin_port, path)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.log.close()
        return rc


class Client:
    """A routing client: connected, its id read."""

    def __init__(self, port, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(("127.0.0.1", port))
        self.sock.settimeout(5)
        idb = b""
        while len(idb) < 4:
            chunk = self.sock.recv(4 - len(idb))
            if not chunk:
                raise Fail("closed before its id")
            idb += chunk
        self.id = struct.unpack(">I", idb)[0]
        self.peer = "127.0.0.1:%d" % self.sock.getsockname()[1]

    def frame(self, dest, payload):
        return struct.pack(">I", dest) + payload + b"\0"


class Traffic:
    """A sender to a reader, in threads, until stopped."""

    def __init__(self, port, port_b=None):
        self.a = Client(port)
        self.b = Client(port_b or port)
        self.stop = threading.Event()
        self.batch = self.a.frame(self.b.id, b"x" * 100) * 50
        self.threads = [threading.Thread(target=self.send, daemon=True),
                        threading.Thread(target=self.read, daemon=True)]
        for t in self.threads:
            t.start()

    def send(self):
        while not self.stop.is_set():
            try:
                self.a.sock.sendall(self.batch)
            except OSError:
                return
            time.sleep(0.005)

    def read(self):
        self.b.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                if not self.b.sock.recv(65536):
                    return
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(5)
        self.a.sock.close()
        self.b.sock.close()


class Browser:
    """Headless Chromium over the DevTools protocol on fds 3 and 4."""

    def __init__(self, exe, tmp):
        r_cmd, w_cmd = os.pipe()
        r_res, w_res = os.pipe()
        # Numbers above 4, so that dup2 onto 3 and 4 clobbers none of them.
        fds = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
               for fd in (r_cmd, w_cmd, r_res, w_res)]
        for fd in (r_cmd, w_cmd, r_res, w_res):
            os.close(fd)
        r_cmd, w_cmd, r_res, w_res = fds

        def child():
            os.dup2(r_cmd, 3)
            os.dup2(w_res, 4)
        self.errlog = open(os.path.join(tmp, "chromium.log"), "w")
        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--remote-debugging-pipe", "--user-data-dir=" +
             os.path.join(tmp, "profile"), "--no-first-run",
             "--disable-extensions", "--disable-background-networking",
             "--disable-sync", "--window-size=1280,800",
             "--hide-scrollbars", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.errlog,
            stderr=self.errlog, preexec_fn=child, pass_fds=(3, 4))
        os.close(r_cmd)
        os.close(w_res)
        self.w = w_cmd
        self.r = r_res
        self.buf = b""
        self.next_id = 0
        self.errors = []	# the page's exceptions and error log entries
        targets = self.call("Target.getTargets")["targetInfos"]
        page = [t for t in targets if t["type"] == "page"]
        if not page:
            page = [{"targetId": self.call("Target.createTarget",
                                           url="about:blank")["targetId"]}]
        self.session = self.call("Target.attachToTarget",
                                 targetId=page[0]["targetId"],
                                 flatten=True)["sessionId"]
        self.page("Page.enable")
        self.page("Runtime.enable")
        self.page("Log.enable")

    def _read_message(self, end):
        while b"\0" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise Fail("no answer from chromium")
            ready, _, _ = select.select([self.r], [], [], left)
            if ready:
                chunk = os.read(self.r, 1 << 20)
                if not chunk:
                    raise Fail("chromium closed its pipe")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, session=None, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        end = time.monotonic() + DEADLINE
        while True:
            m = self._read_message(end)
            if m.get("method") == "Runtime.exceptionThrown":
                self.errors.append(m["params"]["exceptionDetails"])
            elif m.get("method") == "Log.entryAdded" and \
                    m["params"]["entry"]["level"] == "error":
                self.errors.append(m["params"]["entry"])
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise Fail("%s: %s" % (method, m["error"]))
                return m["result"]

    def page(self, method, **params):
        return self.call(method, session=self.session, **params)

    def eval(self, expr):
        r = self.page("Runtime.evaluate", expression=expr,
                      returnByValue=True)
        if "exceptionDetails" in r:
            raise Fail("page script failed: %s: %s" %
                       (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def navigate(self, url):
        self.page("Page.navigate", url=url)

    def viewport(self, width, height, mobile=False):
        self.page("Emulation.setDeviceMetricsOverride", width=width,
                  height=height, deviceScaleFactor=1, mobile=mobile)

    def screenshot(self, path):
        data = self.page("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def type_token(self, token):
        """Type into the token field as a user would, and submit."""
        self.eval("document.getElementById('auth-token').focus()")
        self.page("Input.insertText", text=token)
        self.eval("document.querySelector('#auth button').click()")

    def close(self):
        try:
            self.call("Browser.close")
        except Fail:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.w)
        os.close(self.r)
        self.errlog.close()


# One evaluation of the whole page: what the assertions read.
PAGE_STATE = r"""(function () {
  if (!document.getElementById('main') || !document.body.dataset.state)
    return { state: 'none', polls: 0, auth_hidden: true };
  var v = function (id) { var e = document.getElementById(id);
    return e ? { text: e.textContent, value: e.dataset.value } : null; };
  var rows = function (id) {
    return Array.prototype.map.call(document.querySelectorAll(
      '#' + id + ' tr'), function (tr) {
        return { id: tr.dataset.id, queued: tr.dataset.queued,
          reason: tr.dataset.reason, cells: Array.prototype.map.call(
            tr.cells, function (c) { return c.textContent; }) }; }); };
  var poly = function (id) {
    return Array.prototype.map.call(document.querySelectorAll(
      '#' + id + ' polyline'), function (p) {
        return p.getAttribute('points'); }); };
  var panels = {};
  Array.prototype.forEach.call(document.querySelectorAll('section.panel'),
    function (p) { panels[p.id] = { poll: p.dataset.poll,
      error: p.dataset.error || '', hidden: p.hidden }; });
  return {
    state: document.body.dataset.state,
    polls: Number(document.body.dataset.polls),
    main_hidden: document.getElementById('main').hidden,
    auth_hidden: document.getElementById('auth').hidden,
    auth_msg: document.getElementById('auth-msg').textContent,
    status: document.getElementById('status').textContent,
    version: v('v-version'), uptime: v('v-uptime'),
    draining: v('v-draining'), queue_limit: v('v-queue-limit'),
    max_clients: v('v-max-clients'), connected: v('v-connected'),
    paused: v('v-paused'), rejected: v('v-rejected'),
    accepted: v('v-accepted'),
    msgs_points: document.getElementById('c-msgs').dataset.points,
    bytes_points: document.getElementById('c-bytes').dataset.points,
    msgs_lines: poly('c-msgs'), bytes_lines: poly('c-bytes'),
    axis_labels: Array.prototype.map.call(document.querySelectorAll(
      '#c-msgs text'), function (t) { return t.textContent; }),
    drops: Array.prototype.map.call(document.querySelectorAll(
      '#c-drops rect.bar'), function (r) {
        return [r.dataset.cause, Number(r.dataset.value)]; }),
    top: rows('t-top'), closed: rows('t-closed'), panels: panels,
    cluster: {
      hidden: document.getElementById('p-cluster').hidden,
      node: v('v-cl-node'), name: v('v-cl-name'), nats: v('v-cl-nats'),
      nats_class: document.getElementById('v-cl-nats').className,
      url: v('v-cl-url'), out: v('v-cl-out'), in: v('v-cl-in'),
      lost: v('v-cl-lost'), down: v('v-cl-down'), full: v('v-cl-full'),
      link: v('v-cl-link'),
      peers: Array.prototype.map.call(document.querySelectorAll(
        '#t-peers tr'), function (tr) {
          return { node: tr.dataset.node, state: tr.dataset.state,
            heartbeat: tr.dataset.heartbeat, out: tr.dataset.out,
            in: tr.dataset['in'], paused: tr.dataset.paused,
            lost: tr.dataset.lost,
            cells: Array.prototype.map.call(tr.cells, function (c) {
              return c.textContent; }),
            classes: Array.prototype.map.call(tr.cells, function (c) {
              return c.className; }) }; }) },
    extra: document.getElementById('extra').textContent,
    scroll_width: document.documentElement.scrollWidth,
    inner_width: window.innerWidth,
    stored: sessionStorage.getItem('msgrouterd.admin.token'),
    local_items: localStorage.length
  };
})()"""


def check(cond, what, state=None):
    if not cond:
        raise Fail(what + ("\npage: " + json.dumps(state, indent=1)
                           if state is not None else ""))
    print("ok   " + what)


def polled_past(browser, n):
    """The page state once it has rendered more than n polls."""
    def f():
        s = browser.eval(PAGE_STATE)
        return s if s["state"] == "ok" and s["polls"] > n else None
    return wait_until("the page to poll past %d" % n, f)


def settled(browser, d, polls):
    """The page, /stats and the queued list, taken so that the page polled
    in between two equal readings of the figures compared exactly: "within
    one poll" even if something (a pause) changes while we look."""
    def fields(st, top):
        return (st["clients"], st["messages"]["dropped_unknown_destination_total"],
                [(c["id"], c["queued_bytes"], c["paused"]) for c in top])

    def attempt():
        st1 = d.get("/stats")
        top1 = d.get("/clients?sort=queued&limit=10")["clients"]
        s = polled_past(browser, attempt.polls)
        attempt.polls = s["polls"]
        st2 = d.get("/stats")
        top2 = d.get("/clients?sort=queued&limit=10")["clients"]
        if fields(st1, top1) == fields(st2, top2):
            return s, st2, top2
        return None
    attempt.polls = polls
    return wait_until("figures steady across a poll", attempt)


def max_rate_seen(points):
    """Whether a polyline has a point above its zero line (y < 141)."""
    return any(float(p.split(",")[1]) < 141 for p in points.split())


def check_no_errors(browser, allowed=()):
    """No script exception, CSP violation or failed load on the page;
    allowed: substrings of the expected ones (a 401 in the token test)."""
    errs = [e for e in browser.errors if not any(
        a in json.dumps(e) for a in allowed)]
    check(not errs, "no script error or CSP violation on the page",
          errs or None)


def check_panels(s):
    for pid, p in s["panels"].items():
        if pid == "p-extra":
            continue	# only when /stats carries cluster or tls
        check(p["poll"] == str(s["polls"]) and p["error"] == "",
              "panel %s rendered at the latest poll" % pid, s)


def scenario_open(exe, chromium, tmp, outdir):
    # Five clients at most from 127.0.0.1: the refusals at the end.
    d = Daemon(exe, tmp, "open", extra=("--max-clients-per-address", "5"))
    browser = traffic = None
    held = []
    try:
        traffic = Traffic(d.port)
        # The slow consumer: a small receive buffer, never read.  Its
        # sender fills its queue past queue_limit and is paused.
        slow = Client(d.port, rcvbuf=4096)
        sender = Client(d.port)
        held += [slow, sender]
        sender.sock.setblocking(False)
        frame = sender.frame(slow.id, b"s" * 1000)

        def paused():
            try:
                while True:
                    sender.sock.send(frame)
            except BlockingIOError:
                pass
            return d.get("/stats")["clients"]["paused"] == 1
        wait_until("the slow consumer's sender to be paused", paused)
        # A client that leaves, and a message to nobody.
        gone = Client(d.port)
        gone.sock.sendall(gone.frame(0xFFFFFF00, b"nobody"))
        gone.sock.close()
        wait_until("the closed client in the ring", lambda: any(
            c["id"] == gone.id for c in
            d.get("/clients?state=closed")["clients"]))

        browser = Browser(chromium, tmp)
        browser.viewport(1280, 800)
        # / with a browser's Accept: text/html is the dashboard.
        browser.navigate(d.url("/"))
        s = polled_past(browser, 3)
        s, st, top = settled(browser, d, s["polls"])
        print("page after %d polls" % s["polls"])
        check(not s["main_hidden"] and s["auth_hidden"],
              "no token: the data shows, no token form", s)
        check(s["version"]["value"] == st["version"],
              "version %s" % st["version"], s)
        check(s["queue_limit"]["text"] == "64 KiB" and
              s["queue_limit"]["value"] == str(64 * 1024),
              "queue_limit shown as 64 KiB", s)
        check(s["max_clients"]["text"] == "10 k", "max_clients 10 k", s)
        check(s["draining"]["text"] == "accepting", "not draining", s)
        for key, field in (("connected", "connected"), ("paused", "paused"),
                           ("rejected", "rejected_total"),
                           ("accepted", "accepted_total")):
            check(s[key]["value"] == str(st["clients"][field]) and
                  s[key]["text"] == str(st["clients"][field]),
                  "%s = %d as in /stats" % (key, st["clients"][field]), s)
        check(st["clients"]["connected"] == 4 and
              st["clients"]["accepted_total"] == 5,
              "4 connected and 5 accepted (the closed one counted)", s)
        drops = dict(s["drops"])
        check(drops.get("no dest") ==
              st["messages"]["dropped_unknown_destination_total"] == 1,
              "one drop to an unknown destination in the drops chart", s)
        check(len(s["drops"]) == 7, "seven causes in the drops chart", s)
        # The slow consumer first, with its queued bytes (stable: its
        # sender is paused and it reads nothing).
        check(top[0]["id"] == slow.id and s["top"] and
              s["top"][0]["id"] == str(slow.id),
              "the slow consumer %d tops the queued list" % slow.id, s)
        check(s["top"][0]["queued"] == str(top[0]["queued_bytes"]) and
              top[0]["queued_bytes"] > 0,
              "its queued bytes %d as in /clients?sort=queued" %
              top[0]["queued_bytes"], s)
        check(s["top"][0]["cells"][1] == slow.peer,
              "its peer address %s" % slow.peer, s)
        check(s["top"][0]["cells"][2].endswith(" / 64 KiB"),
              "queued against queue_limit", s)
        sender_row = [r for r in s["top"] if r["id"] == str(sender.id)]
        check(sender_row and sender_row[0]["cells"][3] == "paused",
              "the paused sender marked paused", s)
        gone_row = [r for r in s["closed"] if r["id"] == str(gone.id)]
        check(gone_row and gone_row[0]["reason"] == "eof" and
              gone_row[0]["cells"][2] == "eof",
              "the closed client %d with reason eof" % gone.id, s)
        check(int(s["msgs_points"]) >= 3 and int(s["bytes_points"]) >= 3,
              "the rate charts have data points", s)
        check(len(s["msgs_lines"]) == 2 and
              max_rate_seen(s["msgs_lines"][0]) and
              max_rate_seen(s["bytes_lines"][0]),
              "in-rates above zero while traffic flows", s)
        check(any(t.endswith("/s") for t in s["axis_labels"]) and
              "now" in s["axis_labels"], "the axes are labelled", s)
        check_panels(s)
        check("cluster" not in st and s["cluster"]["hidden"] and
              "cluster" not in s["extra"],
              "a single node: no cluster panel, no cluster anywhere", s)
        check_no_errors(browser)
        browser.screenshot(os.path.join(outdir, "dashboard.png"))
        print("ok   screenshot %s" % os.path.join(outdir, "dashboard.png"))

        # A fifth client, then three refused past max_clients_per_address:
        # one row for the three, with their count and source address.
        held.append(Client(d.port))
        for _ in range(3):
            r = socket.create_connection(("127.0.0.1", d.port), timeout=5)
            check(r.recv(4) == b"", "refused without an id")
            r.close()
        wait_until("the three refusals counted", lambda: d.get("/stats")
                   ["clients"]["rejected_per_address_total"] == 3)
        n = s["polls"]
        s = wait_until("the refusals' row", lambda: (lambda s: s if any(
            r["reason"] == "per_address" for r in s["closed"]) else None)(
                polled_past(browser, n)))
        rows = [r for r in s["closed"] if r["reason"] == "per_address"]
        check(len(rows) == 1 and rows[0]["id"] == "" and
              rows[0]["cells"][1] == "127.0.0.1" and
              rows[0]["cells"][2] == "per_address \u00d73" and
              rows[0]["cells"][3].startswith("0s ago, first "),
              "three refusals in one row, counted, with their source", s)
        check(s["closed"][0]["reason"] == "per_address" and
              any(r["id"] == str(gone.id) for r in s["closed"]),
              "newest first, the closed client still listed", s)

        # A phone-width screen: one column, nothing wider than the screen.
        browser.viewport(390, 844, mobile=True)
        n = s["polls"]
        s = polled_past(browser, n + 1)
        check(s["scroll_width"] <= s["inner_width"],
              "phone width: no horizontal overflow (%d <= %d)" %
              (s["scroll_width"], s["inner_width"]), s)
        check_panels(s)
        browser.screenshot(os.path.join(outdir, "dashboard-phone.png"))
    finally:
        if browser:
            browser.close()
        if traffic:
            traffic.close()
        for c in held:
            c.sock.close()
        rc = d.stop()
    check(rc == 0, "msgrouterd exited 0")


def scenario_token(exe, chromium, tmp):
    d = Daemon(exe, tmp, "token", token=TOKEN)
    browser = None
    try:
        req = urllib.request.Request(d.url("/stats"))
        try:
            urllib.request.urlopen(req, timeout=5)
            raise Fail("/stats answered without the token")
        except urllib.error.HTTPError as e:
            check(e.code == 401, "/stats without the token is 401")
        browser = Browser(chromium, tmp)
        browser.viewport(1280, 800)
        browser.navigate(d.url("/dashboard"))
        s = wait_until("the token form", lambda: (lambda s: s if s["state"]
                       == "auth" and not s["auth_hidden"] else None)(
                           browser.eval(PAGE_STATE)))
        check(s["main_hidden"], "no data before the token", s)
        browser.type_token("wrong-token")
        s = wait_until("the wrong token's message", lambda: (
            lambda s: s if s["state"] == "auth-error" else None)(
                browser.eval(PAGE_STATE)))
        check("refused" in s["auth_msg"] and not s["auth_hidden"] and
              s["main_hidden"] and s["status"] == "token refused",
              "a wrong token: a clear message, not a blank page", s)
        check(s["stored"] is None, "the refused token is forgotten", s)
        browser.type_token(TOKEN)
        s = polled_past(browser, 1)
        st = d.get("/stats")
        check(s["connected"]["value"] == str(st["clients"]["connected"]) and
              s["version"]["value"] == st["version"],
              "the right token: the data shows", s)
        check(s["stored"] == TOKEN and s["local_items"] == 0,
              "the token in sessionStorage only", s)
        check_panels(s)
        check_no_errors(browser, allowed=("401",))
    finally:
        if browser:
            browser.close()
        rc = d.stop()
    check(rc == 0, "msgrouterd exited 0")


class Nats:
    """nats-server ($NATS_SERVER) on a free loopback port."""

    def __init__(self, exe, tmp):
        self.log_path = os.path.join(tmp, "nats.log")
        self.proc = subprocess.Popen(
            [exe, "-a", "127.0.0.1", "-p", "-1", "-l", self.log_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)

        def ready():
            if self.proc.poll() is not None:
                raise Fail("nats-server exited %d" % self.proc.returncode)
            with open(self.log_path) as f:
                log = f.read()
            m = re.search(r"Listening for client connections on "
                          r"127\.0\.0\.1:(\d+)", log)
            return m and "Server is ready" in log and m.group(1)
        self.url = "nats://127.0.0.1:%s" % wait_until("nats-server", ready)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# A node's view the page cannot have seen live: NATS lost, one peer down
# (with frames lost in transit and a full link), one refused.
CANNED_CLUSTER = {
    "node": 5, "name": "east", "nats_connected": False,
    "nats_url": "nats://(hidden)@10.1.2.3:4222", "frames_out_total": 1234567,
    "frames_in_total": 89, "bytes_out_total": 0, "bytes_in_total": 0,
    "dropped_peer_down_total": 12, "dropped_in_transit_total": 7,
    "dropped_link_full_total": 0, "dropped_too_large_total": 0,
    "link_queued_frames": 0, "link_buffered_bytes": 67108864,
    "link_limit": 67108864, "nats_reconnects_total": 3,
    "bad_messages_total": 0,
    "peers": [
        {"node": 6, "state": "down", "last_heartbeat_ms": 4250,
         "frames_out_total": 1234567, "frames_in_total": 89,
         "dropped_in_transit_total": 7, "paused_senders": 2,
         "link_buffered_bytes": 67108864},
        {"node": 9, "state": "mismatch", "last_heartbeat_ms": 120,
         "frames_out_total": 0, "frames_in_total": 0,
         "dropped_in_transit_total": 0, "paused_senders": 0,
         "link_buffered_bytes": 0}]}


def cluster_view(st):
    """What of a node's cluster object stays put while nothing is sent."""
    cl = dict(st["cluster"])
    cl["peers"] = [dict(p, last_heartbeat_ms=None) for p in cl["peers"]]
    return cl


def scenario_cluster(exe, chromium, tmp, outdir):
    nats_exe = os.environ.get("NATS_SERVER", "")
    if not nats_exe:
        print("SKIP the cluster scenario: no NATS_SERVER (built without "
              "libnats)")
        return
    nats = Nats(nats_exe, tmp)
    nodes = []
    browser = traffic = None
    held = []
    try:
        for n in (1, 2):
            nodes.append(Daemon(exe, tmp, "node%d" % n, extra=(
                "--cluster-nats", nats.url, "--node", str(n))))
        n1, n2 = nodes

        def peer(d, node):
            return [p for p in d.get("/stats")["cluster"]["peers"]
                    if p["node"] == node]
        wait_until("nodes 1 and 2 up at each other", lambda: [
            p["state"] for p in peer(n1, 2) + peer(n2, 1)] == ["up", "up"])
        # A pair across the nodes, then a never-reading receiver on node 2
        # whose sender on node 1 is paused across the nodes.
        traffic = Traffic(n1.port, n2.port)
        wait_until("frames from node 1 to node 2", lambda: peer(
            n2, 1)[0]["frames_in_total"] > 1000)
        slow = Client(n2.port, rcvbuf=4096)
        sender = Client(n1.port)
        held += [slow, sender]
        sender.sock.setblocking(False)
        frame = sender.frame(slow.id, b"s" * 1000)

        def paused():
            try:
                while True:
                    sender.sock.send(frame)
            except BlockingIOError:
                pass
            return peer(n1, 2)[0]["paused_senders"] == 1
        wait_until("node 1's sender paused for node 2", paused)
        traffic.close()
        traffic = None

        browser = Browser(chromium, tmp)
        browser.viewport(1280, 800)
        browser.navigate(n1.url("/"))
        s = polled_past(browser, 2)

        def steady():
            st1 = n1.get("/stats")
            s = polled_past(browser, steady.polls)
            steady.polls = s["polls"]
            st2 = n1.get("/stats")
            if cluster_view(st1) == cluster_view(st2):
                return s, st2
            return None
        steady.polls = s["polls"]
        s, st = wait_until("the cluster's figures steady across a poll",
                           steady)
        cl, c = st["cluster"], s["cluster"]
        check(not c["hidden"], "a cluster node: the cluster panel shows", s)
        check(c["node"]["text"] == "1" and c["name"]["text"] == "msgrouter",
              "node 1 of cluster msgrouter", s)
        check(c["nats"]["text"] == "connected" and
              c["nats"]["value"] == "true" and c["nats_class"] == "good",
              "NATS connected", s)
        check(c["url"]["text"] == cl["nats_url"] == nats.url,
              "the NATS URL %s" % nats.url, s)
        for key, field in (("out", "frames_out_total"),
                           ("in", "frames_in_total"),
                           ("lost", "dropped_in_transit_total"),
                           ("link", "link_buffered_bytes")):
            check(c[key]["value"] == str(cl[field]),
                  "cluster %s = %d as in /stats" % (key, cl[field]), s)
        check(cl["frames_out_total"] > 1000 and c["lost"]["value"] == "0",
              "frames sent across, none lost in transit", s)
        p2 = cl["peers"][0]
        check(len(c["peers"]) == 1 and c["peers"][0]["node"] == "2" and
              c["peers"][0]["state"] == "up" and
              c["peers"][0]["cells"][1] == "up" and
              c["peers"][0]["classes"][1] == "good",
              "one peer, node 2, up", s)
        row = c["peers"][0]
        check(row["out"] == str(p2["frames_out_total"]) and
              row["in"] == str(p2["frames_in_total"]) and
              row["lost"] == str(p2["dropped_in_transit_total"]) == "0",
              "node 2's frames out %d, in %d, lost 0 as in /stats"
              % (p2["frames_out_total"], p2["frames_in_total"]), s)
        check(row["paused"] == "1" and row["cells"][5] == "1" and
              row["classes"][5] == "warn",
              "node 1's sender paused for node 2: paused senders 1", s)
        check(int(row["heartbeat"]) < 3000 and
              re.match(r"^\d+(\.\d)? m?s ago$", row["cells"][2]),
              "node 2's last heartbeat %s" % row["cells"][2], s)
        check_panels(s)
        check_no_errors(browser)
        browser.screenshot(os.path.join(outdir, "dashboard-cluster.png"))
        print("ok   screenshot %s" %
              os.path.join(outdir, "dashboard-cluster.png"))
        # A phone: the peers' table scrolls inside its panel, not the page.
        browser.viewport(390, 844, mobile=True)
        s = polled_past(browser, s["polls"] + 1)
        check(s["scroll_width"] <= s["inner_width"] and
              not s["cluster"]["hidden"],
              "phone width with the cluster panel: no horizontal overflow "
              "(%d <= %d)" % (s["scroll_width"], s["inner_width"]), s)
        browser.viewport(1280, 800)

        # The states a live test does not reach at will, drawn from a
        # canned cluster object by the page's own renderer.
        s = browser.eval("(function () { renderCluster(%s); return %s; })()"
                         % (json.dumps(CANNED_CLUSTER), PAGE_STATE))
        c = s["cluster"]
        check(c["nats"]["text"] == "disconnected" and
              c["nats_class"] == "bad" and
              c["url"]["text"] == "nats://(hidden)@10.1.2.3:4222",
              "canned: NATS disconnected, in red, with its URL", s)
        check(c["lost"]["text"] == "7" and c["down"]["text"] == "12" and
              c["out"]["text"] == "1.2 M" and
              c["link"]["text"] == "64 MiB (limit 64 MiB a peer)",
              "canned: 7 lost in transit, 12 for a down peer, 1.2 M out", s)
        rows = {r["node"]: r for r in c["peers"]}
        check(rows["6"]["cells"] == ["6", "down", "4.3 s ago", "1.2 M",
                                     "89", "2", "7", "64 MiB / 64 MiB"] and
              rows["6"]["classes"][1] == "bad" and
              rows["6"]["classes"][6] == "bad" and
              rows["6"]["classes"][7] == "bad",
              "canned: node 6 down, its loss and full link in red", s)
        check(rows["9"]["cells"][1:3] == ["mismatch", "120 ms ago"] and
              rows["9"]["classes"][1] == "warn",
              "canned: node 9 refused (mismatch)", s)

        # Live: node 2 stops; node 1 counts it down after peer_timeout.
        check(n2.stop() == 0, "node 2 exited 0")
        nodes.remove(n2)
        n = s["polls"]
        s = wait_until("node 2 down on the page", lambda: (lambda s: s if [
            r["state"] for r in s["cluster"]["peers"]] == ["down"] and
            s["cluster"]["peers"][0]["classes"][1] == "bad" else None)(
                polled_past(browser, n)))
        check(True, "node 2 shown down after peer_timeout")
        # Live: NATS stops; node 1 says it is disconnected.
        nats.stop()
        s = wait_until("NATS disconnected on the page", lambda: (
            lambda s: s if s["cluster"]["nats"]["text"] == "disconnected"
            else None)(polled_past(browser, n)))
        check(s["cluster"]["nats_class"] == "bad" and
              s["state"] == "ok", "NATS disconnected shown; the page "
              "still polls node 1", s)
        check_panels(s)
        check_no_errors(browser)
    finally:
        if browser:
            browser.close()
        if traffic:
            traffic.close()
        for c in held:
            c.sock.close()
        rcs = [d.stop() for d in nodes]
        nats.stop()
    check(rcs == [0] * len(rcs), "the nodes exited 0")


def main():
    exe, chromium, outdir = sys.argv[1:4]
    tmp = tempfile.mkdtemp(prefix="msgrouter-dashboard.")
    ok = False
    try:
        scenario_open(exe, chromium, tmp, outdir)
        scenario_token(exe, chromium, tmp)
        scenario_cluster(exe, chromium, tmp, outdir)
        ok = True
    except Fail as e:
        print("FAIL " + str(e))
    finally:
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("logs kept in " + tmp)
            for name in ("open.log", "token.log", "node1.log", "node2.log",
                         "nats.log", "chromium.log"):
                p = os.path.join(tmp, name)
                if os.path.exists(p):
                    with open(p) as f:
                        print("--- %s (last 30 lines)" % name)
                        print("".join(f.readlines()[-30:]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
