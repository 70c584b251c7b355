/*
 * msgrouterd dashboard: polls /stats, /clients?sort=queued and
 * /clients?state=closed once a second and draws them.  No framework and
 * nothing fetched from elsewhere: the admin port often has no internet.
 * With admin.token set, the token is asked once and kept in this tab's
 * sessionStorage only.  Each panel records the poll it last rendered
 * (data-poll) and shows its own error, so one failing panel stays visible.
 */
"use strict";

var POLL_MS = 1000;
var HISTORY = 180;		/* samples kept for the charts: 3 minutes */
var TOKEN_KEY = "msgrouterd.admin.token";
var SVG_NS = "http://www.w3.org/2000/svg";

var polls = 0;
var samples = [];		/* {t, min, mout, bin, bout} rates */
var prev = null;		/* the previous /stats and its time */
var timer = null;

function $(id) { return document.getElementById(id); }

/* 1234567 -> "1.2 M" (decimal, for counts and rates). */
function fmtCount(n) {
	var u = ["", " k", " M", " G", " T"], i = 0;
	if (n === null || n === undefined || isNaN(n))
		return "-";
	while (Math.abs(n) >= 1000 && i < u.length - 1) { n /= 1000; i++; }
	return (i === 0 ? String(Math.round(n * 10) / 10) :
	    n.toFixed(n < 10 ? 1 : 0)) + u[i];
}

/* 35651584 -> "34 MiB" (binary, for bytes). */
function fmtBytes(n) {
	var u = [" B", " KiB", " MiB", " GiB", " TiB"], i = 0;
	if (n === null || n === undefined || isNaN(n))
		return "-";
	while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
	return (i === 0 ? String(Math.round(n)) :
	    n.toFixed(n < 10 ? 1 : 0)) + u[i];
}

function fmtDuration(s) {
	var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
	    m = Math.floor(s % 3600 / 60), r = s % 60;
	if (d > 0) return d + "d " + h + "h " + m + "m";
	if (h > 0) return h + "h " + m + "m " + r + "s";
	if (m > 0) return m + "m " + r + "s";
	return r + "s";
}

/* Set a cell's text and keep the raw number for tests and tooltips. */
function setVal(id, text, raw) {
	var e = $(id);
	e.textContent = text;
	if (raw !== undefined)
		e.dataset.value = String(raw);
}

function setStatus(text, bad) {
	var s = $("status");
	s.textContent = text;
	s.className = bad ? "status bad" : "status";
}

function authHeaders() {
	var t = sessionStorage.getItem(TOKEN_KEY);
	return t ? { "Authorization": "Bearer " + t } : {};
}

/* GET a JSON endpoint; rejects with .status set on an HTTP error. */
function getJSON(path) {
	return fetch(path, { headers: authHeaders(), cache: "no-store",
	    credentials: "omit" }).then(function (r) {
		if (!r.ok) {
			var e = new Error(path + ": HTTP " + r.status);
			e.status = r.status;
			throw e;
		}
		return r.json();
	});
}

function showAuth(msg, isError) {
	var m = $("auth-msg");
	document.body.dataset.state = isError ? "auth-error" : "auth";
	m.textContent = msg;
	m.className = isError ? "error" : "";
	$("main").hidden = true;
	$("auth").hidden = false;
	setStatus(isError ? "token refused" : "token needed", isError);
	$("auth-token").focus();
}

function svg(tag, attrs, parent) {
	var e = document.createElementNS(SVG_NS, tag), k;
	for (k in attrs)
		e.setAttribute(k, attrs[k]);
	if (parent)
		parent.appendChild(e);
	return e;
}

/* A nice upper bound for an axis: 1, 2 or 5 times a power of ten. */
function niceMax(v) {
	var p, m;
	if (!(v > 0))
		return 1;
	p = Math.pow(10, Math.floor(Math.log10(v)));
	m = v / p;
	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/* A line chart of two series (in, out) over the kept samples. */
function drawLines(el, keyIn, keyOut, fmt) {
	var W = 600, H = 160, L = 56, R = 6, T = 6, B = 18;
	var n = samples.length, max = 0, i, g, now, pts, key, x, y, s, k;
	while (el.firstChild)
		el.removeChild(el.firstChild);
	for (i = 0; i < n; i++)
		max = Math.max(max, samples[i][keyIn], samples[i][keyOut]);
	max = niceMax(max);
	g = svg("g", {}, el);
	for (k = 0; k <= 4; k++) {
		y = T + (H - T - B) * (1 - k / 4);
		svg("line", { "class": "grid", x1: L, x2: W - R, y1: y, y2: y }, g);
		svg("text", { x: L - 4, y: y + 3, "text-anchor": "end" },
		    g).textContent = fmt(max * k / 4) + "/s";
	}
	for (k = 0; k <= 3; k++) {
		x = L + (W - L - R) * k / 3;
		svg("text", { x: x, y: H - 4, "text-anchor": k === 0 ? "start" :
		    k === 3 ? "end" : "middle" }, g).textContent =
		    k === 3 ? "now" : "-" + (HISTORY - k * HISTORY / 3) + "s";
	}
	now = n > 0 ? samples[n - 1].t : 0;
	[keyIn, keyOut].forEach(function (key, j) {
		pts = [];
		for (i = 0; i < n; i++) {
			s = (samples[i].t - now) / 1000;
			x = L + (W - L - R) * (1 + s / HISTORY);
			y = T + (H - T - B) * (1 - samples[i][key] / max);
			if (x >= L)
				pts.push(x.toFixed(1) + "," + y.toFixed(1));
		}
		svg("polyline", { "class": j === 0 ? "in" : "out",
		    points: pts.join(" ") }, el);
	});
	el.dataset.points = String(n);
}

/* A bar chart of the drop and close counters since start. */
function drawDrops(el, st) {
	var W = 340, H = 160, L = 6, T = 14, B = 30, bars, max = 0, bw, g;
	bars = [
		["no dest", st.messages.dropped_unknown_destination_total],
		["queue full", st.messages.dropped_queue_full_total],
		["gone", st.messages.dropped_sender_gone_total],
		["slow", st.clients.disconnected_slow_total],
		["oversize", st.clients.disconnected_oversize_total],
		["scan", st.clients.disconnected_scan_total],
		["rejected", st.clients.rejected_total]
	];
	while (el.firstChild)
		el.removeChild(el.firstChild);
	bars.forEach(function (b) { max = Math.max(max, b[1]); });
	max = niceMax(max);
	bw = (W - L) / bars.length;
	g = svg("g", {}, el);
	svg("line", { "class": "grid", x1: 0, x2: W, y1: H - B, y2: H - B }, g);
	bars.forEach(function (b, i) {
		var h = (H - T - B) * b[1] / max, x = L + i * bw;
		var r = svg("rect", { "class": "bar", x: x + 6, y: H - B - h,
		    width: bw - 12, height: h }, g);
		r.dataset.cause = b[0];
		r.dataset.value = String(b[1]);
		svg("text", { x: x + bw / 2, y: H - B - h - 3,
		    "text-anchor": "middle" }, g).textContent = fmtCount(b[1]);
		svg("text", { x: x + bw / 2, y: H - B + 12,
		    "text-anchor": "middle" }, g).textContent = b[0];
	});
	svg("text", { x: W / 2, y: H - 2, "text-anchor": "middle" },
	    g).textContent = "count since start";
	el.dataset.points = String(bars.length);
}

function td(tr, text, cls) {
	var c = document.createElement("td");
	c.textContent = text;
	if (cls)
		c.className = cls;
	tr.appendChild(c);
	return c;
}

function renderTop(list, limit) {
	var tb = $("t-top");
	while (tb.firstChild)
		tb.removeChild(tb.firstChild);
	list.clients.forEach(function (c) {
		var tr = document.createElement("tr"), cell, bar, fill, pct;
		tr.dataset.id = String(c.id);
		tr.dataset.queued = String(c.queued_bytes);
		td(tr, String(c.id));
		td(tr, c.peer);
		cell = td(tr, "");
		bar = document.createElement("span");
		bar.className = "qbar";
		fill = document.createElement("span");
		pct = limit > 0 ? Math.min(100, 100 * c.queued_bytes / limit) : 0;
		fill.style.width = pct.toFixed(1) + "%";
		if (pct >= 100)
			fill.className = "full";
		bar.appendChild(fill);
		cell.appendChild(bar);
		cell.appendChild(document.createTextNode(fmtBytes(c.queued_bytes) +
		    " / " + fmtBytes(limit)));
		td(tr, c.paused ? "paused" : "-", c.paused ? "paused" : "");
		tb.appendChild(tr);
	});
}

function renderClosed(list) {
	var tb = $("t-closed");
	while (tb.firstChild)
		tb.removeChild(tb.firstChild);
	list.clients.forEach(function (c) {
		var tr = document.createElement("tr");
		/* Refusals repeated from one source: one row, their count. */
		var n = c.count > 1 ? c.count : 1;
		tr.dataset.id = c.id === null ? "" : String(c.id);
		tr.dataset.reason = c.reason;
		tr.dataset.count = String(n);
		td(tr, c.id === null ? "-" : String(c.id));
		td(tr, n > 1 && c.source ? c.source : c.peer);
		td(tr, n > 1 ? c.reason + " \u00d7" + n : c.reason, "reason");
		td(tr, fmtDuration(c.closed_seconds_ago) + " ago" + (n > 1 ?
		    ", first " + fmtDuration(c.first_seconds_ago) + " ago" : ""));
		td(tr, fmtBytes(c.queued_bytes));
		tb.appendChild(tr);
	});
}

/* 112 -> "112 ms", 3250 -> "3.3 s" (a heartbeat's age). */
function fmtMs(ms) {
	if (ms === null || ms === undefined || isNaN(ms))
		return "-";
	return ms < 1000 ? Math.round(ms) + " ms" :
	    (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + " s";
}

/* Set a cell's text, its raw value and its colour class. */
function setFlag(id, text, raw, cls) {
	setVal(id, text, raw);
	$(id).className = cls;
}

/*
 * A node of a cluster: /stats carries a cluster object (docs/ADMIN.md).
 * Without one the panel stays hidden and nothing else changes.
 */
function renderCluster(cl) {
	var tb = $("t-peers");
	if (cl === undefined || cl === null) {
		$("p-cluster").hidden = true;
		return;
	}
	$("p-cluster").hidden = false;
	setVal("v-cl-node", String(cl.node), cl.node);
	setVal("v-cl-name", cl.name, cl.name);
	setFlag("v-cl-nats", cl.nats_connected ? "connected" : "disconnected",
	    cl.nats_connected, cl.nats_connected ? "good" : "bad");
	setVal("v-cl-url", cl.nats_url, cl.nats_url);
	setVal("v-cl-out", fmtCount(cl.frames_out_total), cl.frames_out_total);
	setVal("v-cl-in", fmtCount(cl.frames_in_total), cl.frames_in_total);
	setFlag("v-cl-lost", fmtCount(cl.dropped_in_transit_total),
	    cl.dropped_in_transit_total,
	    cl.dropped_in_transit_total > 0 ? "bad" : "");
	setFlag("v-cl-down", fmtCount(cl.dropped_peer_down_total),
	    cl.dropped_peer_down_total,
	    cl.dropped_peer_down_total > 0 ? "bad" : "");
	setFlag("v-cl-full", fmtCount(cl.dropped_link_full_total),
	    cl.dropped_link_full_total,
	    cl.dropped_link_full_total > 0 ? "bad" : "");
	setVal("v-cl-link", fmtBytes(cl.link_buffered_bytes) +
	    (cl.link_limit !== undefined ? " (limit " +
	    fmtBytes(cl.link_limit) + " a peer)" : ""),
	    cl.link_buffered_bytes);
	while (tb.firstChild)
		tb.removeChild(tb.firstChild);
	(cl.peers || []).forEach(function (p) {
		var tr = document.createElement("tr"), lim = cl.link_limit;
		tr.dataset.node = String(p.node);
		tr.dataset.state = p.state;
		tr.dataset.heartbeat = String(p.last_heartbeat_ms);
		tr.dataset.out = String(p.frames_out_total);
		tr.dataset["in"] = String(p.frames_in_total);
		tr.dataset.paused = String(p.paused_senders);
		tr.dataset.lost = String(p.dropped_in_transit_total);
		td(tr, String(p.node));
		td(tr, p.state, p.state === "up" ? "good" :
		    p.state === "mismatch" ? "warn" : "bad");
		td(tr, fmtMs(p.last_heartbeat_ms) + " ago");
		td(tr, fmtCount(p.frames_out_total));
		td(tr, fmtCount(p.frames_in_total));
		td(tr, fmtCount(p.paused_senders), p.paused_senders > 0 ?
		    "warn" : "");
		td(tr, fmtCount(p.dropped_in_transit_total),
		    p.dropped_in_transit_total > 0 ? "bad" : "");
		td(tr, p.link_buffered_bytes === undefined ? "-" :
		    fmtBytes(p.link_buffered_bytes) + (lim > 0 ? " / " +
		    fmtBytes(lim) : ""), lim > 0 &&
		    p.link_buffered_bytes >= lim ? "bad" : "");
		tb.appendChild(tr);
	});
}

/* TLS figures, drawn as they are when /stats carries them. */
function renderExtra(st) {
	var box = $("extra"), any = false;
	while (box.firstChild)
		box.removeChild(box.firstChild);
	["tls"].forEach(function (k) {
		var pre;
		if (st[k] === undefined)
			return;
		any = true;
		pre = document.createElement("pre");
		pre.textContent = k + ": " + JSON.stringify(st[k], null, 1);
		box.appendChild(pre);
	});
	$("p-extra").hidden = !any;
}

/* Run one panel's renderer; an exception marks that panel only. */
function panel(id, fn) {
	var p = $(id), err = p.querySelector(".panel-error");
	try {
		fn();
		if (err)
			err.remove();
		p.dataset.poll = String(polls);
		p.dataset.error = "";
	} catch (e) {
		if (!err) {
			err = document.createElement("p");
			err.className = "panel-error";
			p.appendChild(err);
		}
		err.textContent = "cannot draw: " + e.message;
		p.dataset.error = e.message;
	}
}

function render(st, top, closed) {
	var now = Date.now(), dt, limit = st.config.queue_limit;
	if (prev !== null && now > prev.t) {
		dt = (now - prev.t) / 1000;
		samples.push({ t: now,
		    min: Math.max(0, st.messages.received_total -
			prev.st.messages.received_total) / dt,
		    mout: Math.max(0, st.messages.forwarded_total -
			prev.st.messages.forwarded_total) / dt,
		    bin: Math.max(0, st.bytes.received_total -
			prev.st.bytes.received_total) / dt,
		    bout: Math.max(0, st.bytes.forwarded_total -
			prev.st.bytes.forwarded_total) / dt });
		while (samples.length > HISTORY)
			samples.shift();
	}
	prev = { t: now, st: st };
	polls++;
	panel("p-overview", function () {
		setVal("v-version", st.version, st.version);
		setVal("v-uptime", fmtDuration(st.uptime_seconds),
		    st.uptime_seconds);
		setVal("v-draining", st.draining ? "draining" : "accepting",
		    st.draining);
		setVal("v-max-clients", fmtCount(st.config.max_clients),
		    st.config.max_clients);
		setVal("v-max-message", fmtBytes(st.config.max_message_size),
		    st.config.max_message_size);
		setVal("v-queue-limit", fmtBytes(limit), limit);
		setVal("v-slow-consumer", st.config.slow_consumer,
		    st.config.slow_consumer);
	});
	panel("p-clients", function () {
		setVal("v-connected", fmtCount(st.clients.connected),
		    st.clients.connected);
		setVal("v-paused", fmtCount(st.clients.paused), st.clients.paused);
		setVal("v-rejected", fmtCount(st.clients.rejected_total),
		    st.clients.rejected_total);
		setVal("v-accepted", fmtCount(st.clients.accepted_total),
		    st.clients.accepted_total);
		setVal("v-queued", fmtBytes(st.bytes.queued), st.bytes.queued);
	});
	panel("p-msgs", function () {
		drawLines($("c-msgs"), "min", "mout", fmtCount);
	});
	panel("p-bytes", function () {
		drawLines($("c-bytes"), "bin", "bout", fmtBytes);
	});
	panel("p-drops", function () { drawDrops($("c-drops"), st); });
	panel("p-top", function () { renderTop(top, limit); });
	panel("p-closed", function () { renderClosed(closed); });
	panel("p-cluster", function () { renderCluster(st.cluster); });
	panel("p-extra", function () { renderExtra(st); });
	document.body.dataset.polls = String(polls);
	setStatus((st.draining ? "DRAINING, " : "") + "updated " +
	    new Date(now).toLocaleTimeString(), st.draining);
}

function poll() {
	timer = null;
	Promise.all([getJSON("/stats"), getJSON("/clients?sort=queued&limit=10"),
	    getJSON("/clients?state=closed&limit=10")]).then(function (r) {
		document.body.dataset.state = "ok";
		$("auth").hidden = true;
		$("main").hidden = false;
		render(r[0], r[1], r[2]);
		timer = setTimeout(poll, POLL_MS);
	}, function (e) {
		if (e.status === 401) {
			var had = sessionStorage.getItem(TOKEN_KEY) !== null;
			sessionStorage.removeItem(TOKEN_KEY);
			showAuth(had ? "The router refused this token (HTTP 401): " +
			    "check admin.token and enter it again." :
			    "This admin interface needs its token (admin.token).",
			    had);
			return;		/* the form starts polling again */
		}
		document.body.dataset.state = "error";
		setStatus("cannot reach the router: " + e.message + "; retrying",
		    true);
		timer = setTimeout(poll, POLL_MS);
	});
}

document.addEventListener("DOMContentLoaded", function () {
	$("auth").addEventListener("submit", function (ev) {
		ev.preventDefault();
		sessionStorage.setItem(TOKEN_KEY, $("auth-token").value);
		$("auth-token").value = "";
		$("auth-msg").textContent = "checking\u2026";
		if (timer === null)
			poll();
	});
	poll();
});
