/*
 * report: JSON and Prometheus renderings of the collector's figures.  The
 * numeric figures are listed once, in report_metrics; JSON nests them by
 * group, Prometheus joins group and name after the msgrouter_ prefix.
 */
#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>

#include <event2/buffer.h>

#include "msgrouter/addr.h"
#include "msgrouter/addrtab.h"
#include "msgrouter/closed.h"
#include "msgrouter/cluster.h"
#include "msgrouter/conn.h"
#include "msgrouter/report.h"
#include "msgrouter/stats.h"

struct report_metric {
	const char	*rm_group;	/* JSON object; NULL: top level */
	const char	*rm_name;	/* JSON key */
	const char	*rm_type;	/* Prometheus: "counter" or "gauge" */
	const char	*rm_help;
	size_t		 rm_offset;	/* uint64_t in struct stats_snapshot */
};

#define M(g, n, t, h, f) { g, n, t, h, offsetof(struct stats_snapshot, f) }
static const struct report_metric report_metrics[] = {
	M(NULL, "uptime_seconds", "gauge",
	    "Seconds since msgrouterd started.", ss_uptime_seconds),
	M(NULL, "accept_errors_total", "counter",
	    "accept() failures on the routing and admin ports "
	    "(EMFILE: out of descriptors).", ss_accept_errors),
	M("clients", "connected", "gauge",
	    "Clients connected now.", ss_connected),
	M("clients", "accepted_total", "counter",
	    "Connections accepted and given an id.", ss_accepted),
	M("clients", "rejected_total", "counter",
	    "Connections closed at once without an id: max_clients reached, "
	    "address banned, or max_clients_per_address reached.",
	    ss_rejected),
	M("clients", "disconnected_slow_total", "counter",
	    "Clients disconnected as slow consumers.", ss_disconnected_slow),
	M("clients", "disconnected_oversize_total", "counter",
	    "Clients disconnected for a message over max_message_size.",
	    ss_disconnected_oversize),
	M("clients", "paused", "gauge",
	    "Senders whose reading is paused by backpressure now.", ss_paused),
	M("clients", "paused_total", "counter",
	    "Backpressure pauses since start.", ss_paused_total),
	M("messages", "received_total", "counter",
	    "Complete messages read from clients, whatever became of them.",
	    ss_received),
	M("messages", "forwarded_total", "counter",
	    "Messages queued to their destination.", ss_forwarded),
	M("messages", "dropped_unknown_destination_total", "counter",
	    "Messages dropped: no client has the destination id.",
	    ss_dropped_unknown),
	M("messages", "dropped_queue_full_total", "counter",
	    "Messages dropped: the destination's queue was over queue_limit.",
	    ss_dropped_queue_full),
	M("bytes", "received_total", "counter",
	    "Bytes read from clients, headers included.", ss_bytes_received),
	M("bytes", "forwarded_total", "counter",
	    "Payload and 0x00 bytes of forwarded messages.",
	    ss_bytes_forwarded),
	M("bytes", "queued", "gauge",
	    "Bytes waiting to be written to clients now.", ss_bytes_queued),
	M("config", "max_clients", "gauge",
	    "Effective max_clients.", ss_max_clients),
	M("config", "max_message_size", "gauge",
	    "Effective max_message_size in bytes (payload and 0x00).",
	    ss_max_message_size),
	M("config", "queue_limit", "gauge",
	    "Effective queue_limit in bytes per destination.", ss_queue_limit),
	M("messages", "dropped_sender_gone_total", "counter",
	    "Messages dropped: buffered from a paused sender that reset.",
	    ss_dropped_sender_gone),
	M("clients", "disconnected_sender_gone_total", "counter",
	    "Paused senders closed because they reset the connection.",
	    ss_disconnected_sender_gone),
	M("config", "sndbuf", "gauge",
	    "Effective router.sndbuf in bytes (0: the kernel's default).",
	    ss_sndbuf),
	M("tls", "handshakes_total", "counter",
	    "TLS handshakes completed on the TLS port.", ss_tls_handshakes),
	M("tls", "handshake_failures_total", "counter",
	    "TLS handshakes that failed or passed tls.handshake_timeout.",
	    ss_tls_handshake_failures),
	M("clients", "disconnected_scan_total", "counter",
	    "Clients disconnected for sending to more than scan_limit unknown "
	    "ids within scan_window.", ss_disconnected_scan),
	M("clients", "rejected_banned_total", "counter",
	    "Of rejected_total: connections from an address banned for "
	    "scanning.", ss_rejected_banned),
	M("clients", "rejected_per_address_total", "counter",
	    "Of rejected_total: connections past max_clients_per_address.",
	    ss_rejected_per_address),
	M("clients", "banned_addresses", "gauge",
	    "Source addresses banned for scanning now.", ss_banned_addresses),
	M("config", "scan_limit", "gauge",
	    "Effective scan_limit (0: the scan defence is off).",
	    ss_scan_limit),
	M("config", "max_clients_per_address", "gauge",
	    "Effective max_clients_per_address (0: no limit).",
	    ss_max_clients_per_address),
};
#undef M

#define REPORT_NMETRICS	(sizeof report_metrics / sizeof report_metrics[0])

static uint64_t
report_value(const struct stats_snapshot *ss, const struct report_metric *m)
{
	uint64_t	v;

	memcpy(&v, (const char *)ss + m->rm_offset, sizeof v);
	return v;
}

/* jansson integers are signed 64-bit; a counter past that is clamped. */
static json_t *
report_uint(uint64_t v)
{
	return json_integer(v > (uint64_t)LLONG_MAX ?
	    (json_int_t)LLONG_MAX : (json_int_t)v);
}

/* Set key on obj to a new value, taking the reference; -1 if any is NULL. */
static int
report_set(json_t *obj, const char *key, json_t *v)
{
	if (obj == NULL || v == NULL) {
		json_decref(v);
		return -1;
	}
	return json_object_set_new(obj, key, v);
}

json_t *
report_stats_json(const struct stats_snapshot *ss)
{
	const struct report_metric	*m;
	json_t				*root, *group;
	size_t				 i;
	int				 err = 0;

	if ((root = json_object()) == NULL)
		return NULL;
	err |= report_set(root, "version", json_string(ss->ss_version));
	for (i = 0; i < REPORT_NMETRICS; i++) {
		m = &report_metrics[i];
		if (m->rm_group == NULL) {
			err |= report_set(root, m->rm_name,
			    report_uint(report_value(ss, m)));
			continue;
		}
		if ((group = json_object_get(root, m->rm_group)) == NULL) {
			group = json_object();
			err |= report_set(root, m->rm_group, group);
			if (group == NULL)
				break;
		}
		err |= report_set(group, m->rm_name,
		    report_uint(report_value(ss, m)));
	}
	group = json_object_get(root, "config");
	err |= report_set(group, "slow_consumer",
	    json_string(ss->ss_slow_consumer));
	err |= report_set(group, "id_mode", json_string(ss->ss_id_mode));
	err |= report_set(root, "draining", json_boolean(ss->ss_draining));
	if (err) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* Fill obj with the fields live and closed clients share. */
static int
report_client_fields(json_t *obj, const struct conn_info *ci,
    uint64_t connected_ms)
{
	char	peer[ADDR_STRLEN];
	int	err = 0;

	err |= report_set(obj, "id",
	    ci->ci_id != 0 ? json_integer(ci->ci_id) : json_null());
	err |= report_set(obj, "peer", json_string(addr_format(&ci->ci_peer.sa,
	    peer, sizeof peer)));
	err |= report_set(obj, "connected_seconds",
	    report_uint(connected_ms / 1000));
	err |= report_set(obj, "queued_bytes", report_uint(ci->ci_queued));
	err |= report_set(obj, "messages_in", report_uint(ci->ci_msgs_in));
	err |= report_set(obj, "bytes_in", report_uint(ci->ci_bytes_in));
	err |= report_set(obj, "messages_out", report_uint(ci->ci_msgs_out));
	err |= report_set(obj, "bytes_out", report_uint(ci->ci_bytes_out));
	err |= report_set(obj, "dropped_messages", report_uint(ci->ci_dropped));
	err |= report_set(obj, "paused", json_boolean(ci->ci_paused));
	err |= report_set(obj, "tls", json_boolean(ci->ci_tls));
	return err ? -1 : 0;
}

/* a - b, or 0 if the clock reads are out of order. */
static inline uint64_t
report_elapsed(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

json_t *
report_client_json(const struct conn_info *ci, uint64_t now_ms)
{
	json_t	*obj;

	if ((obj = json_object()) == NULL)
		return NULL;
	if (report_client_fields(obj, ci,
	    report_elapsed(now_ms, ci->ci_connected)) != 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

json_t *
report_client_detail_json(const struct conn_info *ci, uint64_t now_ms)
{
	json_t	*obj;
	int	 err = 0;

	if ((obj = report_client_json(ci, now_ms)) == NULL || !ci->ci_tls)
		return obj;
	/* null until the handshake is done */
	err |= report_set(obj, "tls_protocol", ci->ci_tls_protocol != NULL ?
	    json_string(ci->ci_tls_protocol) : json_null());
	err |= report_set(obj, "tls_cipher", ci->ci_tls_cipher != NULL ?
	    json_string(ci->ci_tls_cipher) : json_null());
	if (err) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

json_t *
report_closed_json(const struct closed_entry *ce, uint64_t now_ms)
{
	struct addrtab_key	 k;
	json_t			*obj;
	char			 source[ADDR_STRLEN > ADDRTAB_STRLEN ?
				    ADDR_STRLEN : ADDRTAB_STRLEN];
	int			 err = 0;

	if ((obj = json_object()) == NULL)
		return NULL;
	err |= report_client_fields(obj, &ce->ce_info,
	    report_elapsed(ce->ce_closed, ce->ce_info.ci_connected));
	err |= report_set(obj, "closed_seconds_ago",
	    report_uint(report_elapsed(now_ms, ce->ce_closed) / 1000));
	err |= report_set(obj, "reason",
	    json_string(conn_reason_name(ce->ce_reason)));
	err |= report_set(obj, "count", report_uint(ce->ce_count));
	if (ce->ce_rejected) {
		/* Coalesced: since the first, from this source. */
		err |= report_set(obj, "first_seconds_ago",
		    report_uint(report_elapsed(now_ms, ce->ce_first) / 1000));
		if (addrtab_key(&ce->ce_info.ci_peer.sa, &k) == 0)
			addrtab_format(&k, source, sizeof source);
		else
			addr_format(&ce->ce_info.ci_peer.sa, source,
			    sizeof source);
		err |= report_set(obj, "source", json_string(source));
	}
	if (err) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static int
report_dump_cb(const char *buf, size_t len, void *arg)
{
	return evbuffer_add(arg, buf, len);
}

int
report_dump_json(struct evbuffer *buf, const json_t *v)
{
	return json_dump_callback(v, report_dump_cb, buf,
	    JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Append one list item, taking the reference; a comma before all but the first. */
static int
report_list_item(struct evbuffer *buf, size_t i, json_t *obj)
{
	int	rv;

	if (obj == NULL)
		return -1;
	rv = (i > 0 && evbuffer_add(buf, ",", 1) != 0) ||
	    report_dump_json(buf, obj) != 0 ? -1 : 0;
	json_decref(obj);
	return rv;
}

/* Close the list opened by the callers below and add the cursor. */
static int
report_list_end(struct evbuffer *buf, uint64_t next_cursor)
{
	if (next_cursor == 0)
		return evbuffer_add_printf(buf, "],\"next_cursor\":null}") < 0 ?
		    -1 : 0;
	return evbuffer_add_printf(buf, "],\"next_cursor\":%llu}",
	    (unsigned long long)next_cursor) < 0 ? -1 : 0;
}

int
report_clients_json(struct evbuffer *buf, const struct conn_info *ci,
    size_t n, uint64_t now_ms, uint64_t next_cursor)
{
	size_t	i;

	if (evbuffer_add_printf(buf, "{\"clients\":[") < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (report_list_item(buf, i, report_client_json(&ci[i],
		    now_ms)) != 0)
			return -1;
	}
	return report_list_end(buf, next_cursor);
}

int
report_closed_list_json(struct evbuffer *buf,
    const struct closed_entry *const *ce, size_t n, uint64_t now_ms,
    uint64_t next_cursor)
{
	size_t	i;

	if (evbuffer_add_printf(buf, "{\"clients\":[") < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (report_list_item(buf, i, report_closed_json(ce[i],
		    now_ms)) != 0)
			return -1;
	}
	return report_list_end(buf, next_cursor);
}

int
report_stats_prometheus(struct evbuffer *buf, const struct stats_snapshot *ss)
{
	const struct report_metric	*m;
	char				 name[128];
	size_t				 i;
	int				 err = 0;

	for (i = 0; i < REPORT_NMETRICS; i++) {
		m = &report_metrics[i];
		if (m->rm_group != NULL)
			snprintf(name, sizeof name, "msgrouter_%s_%s",
			    m->rm_group, m->rm_name);
		else
			snprintf(name, sizeof name, "msgrouter_%s", m->rm_name);
		err |= evbuffer_add_printf(buf,
		    "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, m->rm_help,
		    name, m->rm_type, name,
		    (unsigned long long)report_value(ss, m)) < 0;
	}
	/* Strings go into labels of constant-1 info gauges, as is customary. */
	err |= evbuffer_add_printf(buf,
	    "# HELP msgrouter_build_info The running version.\n"
	    "# TYPE msgrouter_build_info gauge\n"
	    "msgrouter_build_info{version=\"%s\"} 1\n"
	    "# HELP msgrouter_config_info Effective enumerated settings.\n"
	    "# TYPE msgrouter_config_info gauge\n"
	    "msgrouter_config_info{slow_consumer=\"%s\",id_mode=\"%s\"} 1\n"
	    "# HELP msgrouter_draining 1 while draining at shutdown.\n"
	    "# TYPE msgrouter_draining gauge\n"
	    "msgrouter_draining %d\n",
	    ss->ss_version, ss->ss_slow_consumer, ss->ss_id_mode,
	    ss->ss_draining) < 0;
	return err ? -1 : 0;
}

json_t *
report_cluster_json(const struct cluster_info *ci, const struct stats *st)
{
	const struct cluster_peer_info	*pi;
	json_t				*obj, *peers, *p;
	size_t				 i;

	if ((peers = json_array()) == NULL)
		return NULL;
	for (i = 0; i < ci->ci_npeers; i++) {
		pi = &ci->ci_peers[i];
		p = json_object();
		report_set(p, "node", json_integer(pi->cpi_node));
		report_set(p, "state", json_string(pi->cpi_state));
		report_set(p, "last_heartbeat_ms",
		    report_uint(pi->cpi_last_heartbeat_ms));
		report_set(p, "frames_out_total",
		    report_uint(pi->cpi_frames_out));
		report_set(p, "frames_in_total", report_uint(pi->cpi_frames_in));
		report_set(p, "dropped_in_transit_total",
		    report_uint(pi->cpi_dropped_in_transit));
		report_set(p, "paused_senders",
		    report_uint(pi->cpi_paused_senders));
		report_set(p, "link_buffered_bytes",
		    report_uint(pi->cpi_link_buffered));
		json_array_append_new(peers, p);
	}
	obj = json_object();
	report_set(obj, "node", json_integer(ci->ci_node));
	report_set(obj, "name", json_string(ci->ci_name));
	report_set(obj, "nats_connected", json_boolean(ci->ci_connected));
	report_set(obj, "nats_url", json_string(ci->ci_url));
	report_set(obj, "frames_out_total",
	    report_uint(st->st_cluster_frames_out));
	report_set(obj, "frames_in_total",
	    report_uint(st->st_cluster_frames_in));
	report_set(obj, "bytes_out_total",
	    report_uint(st->st_cluster_bytes_out));
	report_set(obj, "bytes_in_total", report_uint(st->st_cluster_bytes_in));
	report_set(obj, "dropped_peer_down_total",
	    report_uint(st->st_dropped_peer_down));
	report_set(obj, "dropped_in_transit_total",
	    report_uint(st->st_dropped_in_transit));
	report_set(obj, "dropped_link_full_total",
	    report_uint(st->st_dropped_link_full));
	report_set(obj, "dropped_too_large_total",
	    report_uint(st->st_dropped_too_large));
	report_set(obj, "link_queued_frames",
	    report_uint(st->st_link_queued_frames));
	report_set(obj, "link_buffered_bytes",
	    report_uint(ci->ci_link_buffered));
	report_set(obj, "link_limit", report_uint(ci->ci_link_limit));
	report_set(obj, "nats_reconnects_total",
	    report_uint(ci->ci_reconnects));
	report_set(obj, "bad_messages_total", report_uint(ci->ci_bad_messages));
	report_set(obj, "peers", peers);
	return obj;
}

/*
 * The cluster's metric families: a name under msgrouter_cluster_, its
 * type and help, and where its value is (offset into the struct given).
 */
struct report_family {
	const char	*name, *type, *help;
	size_t		 off;
};

/* The node's cluster counters, from struct stats. */
static const struct report_family report_cluster_stats[] = {
#define C(n, t, h, f) { n, t, h, offsetof(struct stats, f) }
	C("frames_out_total", "counter", "Frames published to other nodes.",
	    st_cluster_frames_out),
	C("frames_in_total", "counter", "Frames received from other nodes' "
	    "batches.", st_cluster_frames_in),
	C("bytes_out_total", "counter", "Bytes of frames published to other "
	    "nodes, headers included.", st_cluster_bytes_out),
	C("bytes_in_total", "counter", "Bytes of frames received from other "
	    "nodes.", st_cluster_bytes_in),
	C("dropped_peer_down_total", "counter", "Frames dropped: their owner "
	    "node was down or went down.", st_dropped_peer_down),
	C("dropped_in_transit_total", "counter", "Frames lost between nodes, "
	    "counted at the receiver.", st_dropped_in_transit),
	C("dropped_link_full_total", "counter", "Frames dropped: the link to "
	    "their owner held link_limit.", st_dropped_link_full),
	C("dropped_too_large_total", "counter", "Frames dropped: larger than "
	    "a NATS message may be.", st_dropped_too_large),
	C("link_queued_frames", "gauge", "Frames in batches not published "
	    "yet.", st_link_queued_frames),
#undef C
};

/* The link's own figures, from struct cluster_info. */
static const struct report_family report_cluster_link[] = {
#define L(n, t, h, f) { n, t, h, offsetof(struct cluster_info, f) }
	L("link_buffered_bytes", "gauge", "Bytes held for other nodes, ours "
	    "and the NATS library's.", ci_link_buffered),
	L("link_limit", "gauge", "Effective cluster.link_limit in bytes per "
	    "peer.", ci_link_limit),
	L("nats_reconnects_total", "counter", "Connections to NATS made after "
	    "the first.", ci_reconnects),
	L("bad_messages_total", "counter", "Messages on our subjects refused: "
	    "not ours, malformed, a repeat.", ci_bad_messages),
#undef L
};

/* Per peer (msgrouter_cluster_peer_*), from struct cluster_peer_info. */
static const struct report_family report_cluster_peer[] = {
#define P(n, t, h, f) { n, t, h, offsetof(struct cluster_peer_info, f) }
	P("frames_out_total", "counter", "Frames published to the peer.",
	    cpi_frames_out),
	P("frames_in_total", "counter", "Frames received from the peer.",
	    cpi_frames_in),
	P("dropped_in_transit_total", "counter", "Frames the peer published "
	    "to this node that never arrived.", cpi_dropped_in_transit),
	P("paused_senders", "gauge", "Senders paused now for the peer: it "
	    "asked (backpressure) or its link holds link_limit.",
	    cpi_paused_senders),
	P("link_buffered_bytes", "gauge", "Bytes held here for the peer, in "
	    "batches and queued; compared with link_limit.", cpi_link_buffered),
#undef P
};

#define REPORT_NITEMS(a)	(sizeof (a) / sizeof (a)[0])

/* The uint64_t at off in the struct at base. */
static unsigned long long
report_field(const void *base, size_t off)
{
	return *(const uint64_t *)((const char *)base + off);
}

/* One family of one sample each, its value in the struct at base. */
static int
report_families(struct evbuffer *buf, const struct report_family *f,
    size_t n, const void *base)
{
	size_t	i;
	int	err = 0;

	for (i = 0; i < n; i++)
		err |= evbuffer_add_printf(buf, "# HELP msgrouter_cluster_%s "
		    "%s\n# TYPE msgrouter_cluster_%s %s\n"
		    "msgrouter_cluster_%s %llu\n", f[i].name, f[i].help,
		    f[i].name, f[i].type, f[i].name,
		    report_field(base, f[i].off)) < 0;
	return err;
}

/* msgrouter_cluster_peer_up and a family per figure, a series per peer. */
static int
report_cluster_peers(struct evbuffer *buf, const struct cluster_info *ci)
{
	const struct report_family	*f;
	const struct cluster_peer_info	*pi;
	size_t				 i, j;
	int				 err = 0;

	err |= evbuffer_add_printf(buf,
	    "# HELP msgrouter_cluster_peer_up 1 while the peer is up.\n"
	    "# TYPE msgrouter_cluster_peer_up gauge\n") < 0;
	for (i = 0; i < ci->ci_npeers; i++) {
		pi = &ci->ci_peers[i];
		err |= evbuffer_add_printf(buf,
		    "msgrouter_cluster_peer_up{peer=\"%u\",state=\"%s\"} "
		    "%d\n", pi->cpi_node, pi->cpi_state,
		    strcmp(pi->cpi_state, "up") == 0) < 0;
	}
	for (i = 0; i < REPORT_NITEMS(report_cluster_peer); i++) {
		f = &report_cluster_peer[i];
		err |= evbuffer_add_printf(buf, "# HELP msgrouter_cluster_peer_%s"
		    " %s\n# TYPE msgrouter_cluster_peer_%s %s\n", f->name,
		    f->help, f->name, f->type) < 0;
		for (j = 0; j < ci->ci_npeers; j++)
			err |= evbuffer_add_printf(buf, "msgrouter_cluster_peer_"
			    "%s{peer=\"%u\"} %llu\n", f->name,
			    ci->ci_peers[j].cpi_node,
			    report_field(&ci->ci_peers[j], f->off)) < 0;
	}
	return err;
}

int
report_cluster_prometheus(struct evbuffer *buf, const struct cluster_info *ci,
    const struct stats *st)
{
	int	err = 0;

	err |= report_families(buf, report_cluster_stats,
	    REPORT_NITEMS(report_cluster_stats), st);
	err |= report_families(buf, report_cluster_link,
	    REPORT_NITEMS(report_cluster_link), ci);
	err |= evbuffer_add_printf(buf,
	    "# HELP msgrouter_cluster_nats_connected 1 while connected to "
	    "NATS.\n"
	    "# TYPE msgrouter_cluster_nats_connected gauge\n"
	    "msgrouter_cluster_nats_connected %d\n"
	    "# HELP msgrouter_cluster_info This node.\n"
	    "# TYPE msgrouter_cluster_info gauge\n"
	    "msgrouter_cluster_info{node=\"%u\",name=\"%s\"} 1\n",
	    ci->ci_connected, ci->ci_node, ci->ci_name) < 0;
	err |= report_cluster_peers(buf, ci);
	return err ? -1 : 0;
}
