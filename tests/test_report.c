/*
 * Unit tests for the formatters: the /stats JSON, client records live and
 * closed, the paged list, and the Prometheus text, all on filled structs
 * without a router or a socket.
 */
#include "config.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <jansson.h>

#include "msgrouter/closed.h"
#include "msgrouter/cluster.h"
#include "msgrouter/conn.h"
#include "msgrouter/report.h"
#include "msgrouter/stats.h"

/* A snapshot whose figures are all different, so a swap shows. */
static void
fill_snapshot(struct stats_snapshot *ss)
{
	memset(ss, 0, sizeof *ss);
	ss->ss_version = "9.8.7";
	ss->ss_uptime_seconds = 101;
	ss->ss_connected = 2;
	ss->ss_accepted = 3;
	ss->ss_rejected = 4;
	ss->ss_disconnected_slow = 5;
	ss->ss_disconnected_oversize = 6;
	ss->ss_paused = 7;
	ss->ss_paused_total = 8;
	ss->ss_forwarded = 9;
	ss->ss_dropped_unknown = 10;
	ss->ss_dropped_queue_full = 11;
	ss->ss_bytes_received = 12;
	ss->ss_bytes_forwarded = 13;
	ss->ss_bytes_queued = 14;
	ss->ss_max_clients = 15;
	ss->ss_max_message_size = 16;
	ss->ss_queue_limit = 17;
	ss->ss_received = 18;
	ss->ss_accept_errors = 19;
	ss->ss_dropped_sender_gone = 20;
	ss->ss_disconnected_sender_gone = 21;
	ss->ss_sndbuf = 22;
	ss->ss_slow_consumer = "drop";
	ss->ss_id_mode = "sequential";
	ss->ss_tls_handshakes = 23;
	ss->ss_tls_handshake_failures = 24;
	ss->ss_disconnected_scan = 25;
	ss->ss_rejected_banned = 26;
	ss->ss_rejected_per_address = 27;
	ss->ss_banned_addresses = 28;
	ss->ss_scan_limit = 29;
	ss->ss_max_clients_per_address = 30;
}

/* The JSON path "group.name" (or "name") as an integer; -1 if absent. */
static long long
jint(json_t *root, const char *group, const char *name)
{
	json_t	*o = group != NULL ? json_object_get(root, group) : root;
	json_t	*v = json_object_get(o, name);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static const char *
jstr(json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

/* Every name the issue lists, with the value it must have. */
static void
test_stats_json(void **state)
{
	static const struct {
		const char	*group, *name;
		long long	 value;
	} want[] = {
		{ NULL, "uptime_seconds", 101 },
		{ NULL, "accept_errors_total", 19 },
		{ "clients", "connected", 2 },
		{ "clients", "accepted_total", 3 },
		{ "clients", "rejected_total", 4 },
		{ "clients", "disconnected_slow_total", 5 },
		{ "clients", "disconnected_oversize_total", 6 },
		{ "clients", "paused", 7 },
		{ "clients", "paused_total", 8 },
		{ "messages", "received_total", 18 },
		{ "messages", "forwarded_total", 9 },
		{ "messages", "dropped_unknown_destination_total", 10 },
		{ "messages", "dropped_queue_full_total", 11 },
		{ "bytes", "received_total", 12 },
		{ "bytes", "forwarded_total", 13 },
		{ "bytes", "queued", 14 },
		{ "config", "max_clients", 15 },
		{ "config", "max_message_size", 16 },
		{ "config", "queue_limit", 17 },
		{ "messages", "dropped_sender_gone_total", 20 },
		{ "clients", "disconnected_sender_gone_total", 21 },
		{ "config", "sndbuf", 22 },
		{ "clients", "disconnected_scan_total", 25 },
		{ "clients", "rejected_banned_total", 26 },
		{ "clients", "rejected_per_address_total", 27 },
		{ "clients", "banned_addresses", 28 },
		{ "config", "scan_limit", 29 },
		{ "config", "max_clients_per_address", 30 },
	};
	struct stats_snapshot	 ss;
	json_t			*j;
	size_t			 i;

	fill_snapshot(&ss);
	j = report_stats_json(&ss);
	assert_non_null(j);
	assert_string_equal(jstr(j, "version"), "9.8.7");
	for (i = 0; i < sizeof want / sizeof want[0]; i++)
		if (jint(j, want[i].group, want[i].name) != want[i].value)
			fail_msg("%s %s is %lld, expected %lld",
			    want[i].group != NULL ? want[i].group : "",
			    want[i].name, jint(j, want[i].group, want[i].name),
			    want[i].value);
	assert_string_equal(jstr(json_object_get(j, "config"),
	    "slow_consumer"), "drop");
	assert_string_equal(jstr(json_object_get(j, "config"), "id_mode"),
	    "sequential");
	assert_true(json_is_false(json_object_get(j, "draining")));
	/* Nothing else in the groups: a new figure must be added on purpose. */
	assert_int_equal(json_object_size(json_object_get(j, "clients")), 12);
	assert_int_equal(json_object_size(json_object_get(j, "messages")), 5);
	assert_int_equal(json_object_size(json_object_get(j, "bytes")), 3);
	assert_int_equal(json_object_size(json_object_get(j, "config")), 8);
	json_decref(j);

	/* Past jansson's signed range a counter is clamped, not wrapped. */
	ss.ss_bytes_received = UINT64_MAX;
	j = report_stats_json(&ss);
	assert_int_equal(jint(j, "bytes", "received_total"), INT64_MAX);
	json_decref(j);
}

/* The whole buffer as a NUL-terminated string (caller frees). */
static char *
drain_string(struct evbuffer *b)
{
	size_t	 len = evbuffer_get_length(b);
	char	*s = malloc(len + 1);

	assert_non_null(s);
	evbuffer_remove(b, s, len);
	s[len] = '\0';
	return s;
}

/* Value of the sample line "name value" in text; -1 if absent. */
static long long
prom_value(const char *text, const char *name)
{
	char		 pat[160];
	const char	*p;

	snprintf(pat, sizeof pat, "\n%s ", name);
	if ((p = strstr(text, pat)) == NULL)
		return -1;
	return strtoll(p + strlen(pat), NULL, 10);
}

/*
 * Each sample of text comes after its HELP and TYPE lines, is named
 * msgrouter_*, counters end in _total and gauges do not.  The number of
 * samples.
 */
static int
prom_check(const char *text)
{
	char	*line, *save, help[160], type[160], name[128], kind[16];
	char	*copy;
	int	 samples = 0, n;

	assert_true(text[strlen(text) - 1] == '\n');
	help[0] = type[0] = '\0';
	copy = strdup(text);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			assert_int_equal(sscanf(line + 7, "%127s", help), 1);
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			n = sscanf(line + 7, "%127s %15s", type, kind);
			assert_int_equal(n, 2);
			assert_string_equal(type, help);
			assert_true(strcmp(kind, "counter") == 0 ||
			    strcmp(kind, "gauge") == 0);
			continue;
		}
		assert_int_equal(sscanf(line, "%127[^ {]", name), 1);
		assert_string_equal(name, type);
		assert_int_equal(strncmp(name, "msgrouter_", 10), 0);
		n = strlen(name) > 6 &&
		    strcmp(name + strlen(name) - 6, "_total") == 0;
		assert_int_equal(n, strcmp(kind, "counter") == 0);
		samples++;
	}
	free(copy);
	return samples;
}

/*
 * Each sample comes after its HELP and TYPE lines, counters end in _total,
 * gauges do not, and every JSON figure has its Prometheus twin.
 */
static void
test_prometheus(void **state)
{
	struct stats_snapshot	 ss;
	struct evbuffer		*b = evbuffer_new();
	char			*text, name[128];
	const char		*k;
	json_t			*j, *group, *v;
	int			 samples;

	fill_snapshot(&ss);
	assert_int_equal(report_stats_prometheus(b, &ss), 0);
	text = drain_string(b);
	assert_true(text[strlen(text) - 1] == '\n');

	samples = prom_check(text);
	/* 30 figures of the table, build_info, config_info, draining. */
	assert_int_equal(samples, 33);

	j = report_stats_json(&ss);
	assert_int_equal(prom_value(text, "msgrouter_uptime_seconds"), 101);
	assert_int_equal(prom_value(text, "msgrouter_accept_errors_total"), 19);
	assert_int_equal(prom_value(text, "msgrouter_tls_handshakes_total"), 23);
	assert_int_equal(prom_value(text,
	    "msgrouter_tls_handshake_failures_total"), 24);
	assert_int_equal(jint(j, "tls", "handshakes_total"), 23);
	assert_int_equal(jint(j, "tls", "handshake_failures_total"), 24);
	json_object_foreach(j, k, group) {
		const char	*f;

		if (!json_is_object(group))
			continue;
		json_object_foreach(group, f, v) {
			if (!json_is_integer(v))
				continue;
			snprintf(name, sizeof name, "msgrouter_%s_%s", k, f);
			assert_int_equal(prom_value(text, name),
			    json_integer_value(v));
		}
	}
	json_decref(j);
	assert_non_null(strstr(text,
	    "\nmsgrouter_build_info{version=\"9.8.7\"} 1\n"));
	assert_non_null(strstr(text, "\nmsgrouter_config_info{"
	    "slow_consumer=\"drop\",id_mode=\"sequential\"} 1\n"));
	assert_non_null(strstr(text, "\nmsgrouter_draining 0\n"));
	free(text);

	/* Prometheus takes the full unsigned range. */
	ss.ss_bytes_received = UINT64_MAX;
	ss.ss_draining = 1;
	assert_int_equal(report_stats_prometheus(b, &ss), 0);
	text = drain_string(b);
	assert_non_null(strstr(text,
	    "\nmsgrouter_bytes_received_total 18446744073709551615\n"));
	assert_non_null(strstr(text, "\nmsgrouter_draining 1\n"));
	free(text);
	evbuffer_free(b);
}

/*
 * A node's cluster object and its msgrouter_cluster_* twins: every figure
 * of the object and of each peer under its name, the link's limit beside
 * its bytes, a peer series per peer.
 */
static void
test_cluster(void **state)
{
	struct cluster_info	 ci;
	struct stats		 st;
	struct evbuffer		*b = evbuffer_new();
	char			*text, name[128];
	const char		*k;
	json_t			*j, *v, *p;
	size_t			 i;

	memset(&ci, 0, sizeof ci);
	memset(&st, 0, sizeof st);
	ci.ci_node = 3;
	ci.ci_name = "east";
	ci.ci_connected = 1;
	snprintf(ci.ci_url, sizeof ci.ci_url, "nats://(hidden)@10.0.0.1:4222");
	ci.ci_link_buffered = 5000;
	ci.ci_link_limit = 1048576;
	ci.ci_reconnects = 2;
	ci.ci_bad_messages = 4;
	ci.ci_npeers = 2;
	ci.ci_peers[0] = (struct cluster_peer_info){ 1, "up", 120, 100, 40, 0,
	    1, 4096 };
	ci.ci_peers[1] = (struct cluster_peer_info){ 7, "mismatch", 900, 0, 0,
	    6, 0, 0 };
	st.st_cluster_frames_out = 11;
	st.st_cluster_frames_in = 12;
	st.st_cluster_bytes_out = 13;
	st.st_cluster_bytes_in = 14;
	st.st_dropped_peer_down = 15;
	st.st_dropped_in_transit = 16;
	st.st_dropped_link_full = 17;
	st.st_link_queued_frames = 18;
	st.st_dropped_too_large = 19;

	j = report_cluster_json(&ci, &st);
	assert_non_null(j);
	assert_int_equal(jint(j, NULL, "node"), 3);
	assert_string_equal(jstr(j, "name"), "east");
	assert_true(json_is_true(json_object_get(j, "nats_connected")));
	assert_string_equal(jstr(j, "nats_url"), "nats://(hidden)@10.0.0.1:4222");
	assert_int_equal(jint(j, NULL, "link_buffered_bytes"), 5000);
	assert_int_equal(jint(j, NULL, "link_limit"), 1048576);
	assert_int_equal(jint(j, NULL, "dropped_in_transit_total"), 16);
	assert_int_equal(jint(j, NULL, "nats_reconnects_total"), 2);
	p = json_array_get(json_object_get(j, "peers"), 0);
	assert_int_equal(jint(p, NULL, "node"), 1);
	assert_string_equal(jstr(p, "state"), "up");
	assert_int_equal(jint(p, NULL, "last_heartbeat_ms"), 120);
	assert_int_equal(jint(p, NULL, "paused_senders"), 1);
	assert_int_equal(jint(p, NULL, "link_buffered_bytes"), 4096);
	p = json_array_get(json_object_get(j, "peers"), 1);
	assert_string_equal(jstr(p, "state"), "mismatch");
	assert_int_equal(jint(p, NULL, "dropped_in_transit_total"), 6);

	assert_int_equal(report_cluster_prometheus(b, &ci, &st), 0);
	text = drain_string(b);
	/* 14 figures of the node, its info, 2 peers x (up and 5 figures). */
	assert_int_equal(prom_check(text), 14 + 1 + 2 * 6);
	json_object_foreach(j, k, v) {
		if (!json_is_integer(v) || strcmp(k, "node") == 0)
			continue;
		snprintf(name, sizeof name, "msgrouter_cluster_%s", k);
		assert_int_equal(prom_value(text, name), json_integer_value(v));
	}
	assert_int_equal(prom_value(text, "msgrouter_cluster_nats_connected"),
	    1);
	json_array_foreach(json_object_get(j, "peers"), i, p) {
		json_object_foreach(p, k, v) {
			if (!json_is_integer(v) || strcmp(k, "node") == 0 ||
			    strcmp(k, "last_heartbeat_ms") == 0)
				continue;
			snprintf(name, sizeof name, "msgrouter_cluster_peer_%s"
			    "{peer=\"%lld\"}", k, jint(p, NULL, "node"));
			assert_int_equal(prom_value(text, name),
			    json_integer_value(v));
		}
	}
	assert_non_null(strstr(text, "\nmsgrouter_cluster_info{node=\"3\","
	    "name=\"east\"} 1\n"));
	assert_non_null(strstr(text, "\nmsgrouter_cluster_peer_up{peer=\"1\","
	    "state=\"up\"} 1\n"));
	assert_non_null(strstr(text, "\nmsgrouter_cluster_peer_up{peer=\"7\","
	    "state=\"mismatch\"} 0\n"));
	free(text);
	json_decref(j);
	evbuffer_free(b);
}

static void
fill_client(struct conn_info *ci, uint32_t id, int v6)
{
	memset(ci, 0, sizeof *ci);
	ci->ci_id = id;
	if (v6) {
		ci->ci_peer.sin6.sin6_family = AF_INET6;
		ci->ci_peer.sin6.sin6_port = htons(54321);
		inet_pton(AF_INET6, "::1", &ci->ci_peer.sin6.sin6_addr);
	} else {
		ci->ci_peer.sin.sin_family = AF_INET;
		ci->ci_peer.sin.sin_port = htons(54321);
		inet_pton(AF_INET, "127.0.0.1", &ci->ci_peer.sin.sin_addr);
	}
	ci->ci_connected = 10000;
	ci->ci_queued = 21;
	ci->ci_msgs_in = 22;
	ci->ci_bytes_in = 23;
	ci->ci_msgs_out = 24;
	ci->ci_bytes_out = 25;
	ci->ci_dropped = 26;
	ci->ci_paused = 1;
}

static void
test_client_json(void **state)
{
	struct conn_info	 ci;
	json_t			*j;

	fill_client(&ci, 4242, 0);
	j = report_client_json(&ci, 10000 + 7999);
	assert_int_equal(jint(j, NULL, "id"), 4242);
	assert_string_equal(jstr(j, "peer"), "127.0.0.1:54321");
	assert_int_equal(jint(j, NULL, "connected_seconds"), 7);
	assert_int_equal(jint(j, NULL, "queued_bytes"), 21);
	assert_int_equal(jint(j, NULL, "messages_in"), 22);
	assert_int_equal(jint(j, NULL, "bytes_in"), 23);
	assert_int_equal(jint(j, NULL, "messages_out"), 24);
	assert_int_equal(jint(j, NULL, "bytes_out"), 25);
	assert_int_equal(jint(j, NULL, "dropped_messages"), 26);
	assert_true(json_is_true(json_object_get(j, "paused")));
	assert_true(json_is_false(json_object_get(j, "tls")));
	assert_int_equal(json_object_size(j), 11);
	json_decref(j);
	/* /clients/ID adds nothing for a plain client... */
	j = report_client_detail_json(&ci, 10000 + 7999);
	assert_int_equal(json_object_size(j), 11);
	json_decref(j);
	/* ...and protocol and cipher for a TLS one (null before its handshake). */
	ci.ci_tls = 1;
	j = report_client_detail_json(&ci, 10000 + 7999);
	assert_true(json_is_true(json_object_get(j, "tls")));
	assert_true(json_is_null(json_object_get(j, "tls_protocol")));
	assert_int_equal(json_object_size(j), 13);
	json_decref(j);
	ci.ci_tls_protocol = "TLSv1.3";
	ci.ci_tls_cipher = "TLS_AES_128_GCM_SHA256";
	j = report_client_detail_json(&ci, 10000 + 7999);
	assert_string_equal(jstr(j, "tls_protocol"), "TLSv1.3");
	assert_string_equal(jstr(j, "tls_cipher"), "TLS_AES_128_GCM_SHA256");
	json_decref(j);
	ci.ci_tls = 0;

	fill_client(&ci, 1, 1);
	ci.ci_paused = 0;
	/* A clock read before the connect time gives 0, not a huge number. */
	j = report_client_json(&ci, 5);
	assert_string_equal(jstr(j, "peer"), "[::1]:54321");
	assert_int_equal(jint(j, NULL, "connected_seconds"), 0);
	assert_true(json_is_false(json_object_get(j, "paused")));
	json_decref(j);
}

static void
test_closed_json(void **state)
{
	struct closed_entry	 ce;
	json_t			*j;

	memset(&ce, 0, sizeof ce);
	fill_client(&ce.ce_info, 77, 0);
	ce.ce_seq = 3;
	ce.ce_closed = ce.ce_first = 10000 + 65000;
	ce.ce_count = 1;
	ce.ce_reason = CONN_REASON_SLOW_CONSUMER;
	j = report_closed_json(&ce, 10000 + 65000 + 12500);
	assert_int_equal(jint(j, NULL, "id"), 77);
	assert_int_equal(jint(j, NULL, "count"), 1);
	/* Only rejections say where from and since when. */
	assert_null(json_object_get(j, "source"));
	assert_null(json_object_get(j, "first_seconds_ago"));
	assert_int_equal(jint(j, NULL, "connected_seconds"), 65);
	assert_int_equal(jint(j, NULL, "closed_seconds_ago"), 12);
	assert_string_equal(jstr(j, "reason"), "slow_consumer");
	assert_int_equal(jint(j, NULL, "dropped_messages"), 26);
	assert_int_equal(jint(j, NULL, "queued_bytes"), 21);
	json_decref(j);

	/*
	 * A max_clients rejection never had an id; repeats from its source
	 * are one record, with their count, first and last time.
	 */
	ce.ce_info.ci_id = 0;
	ce.ce_reason = CONN_REASON_MAX_CLIENTS;
	ce.ce_rejected = 1;
	ce.ce_count = 500;
	ce.ce_first = ce.ce_closed - 42000;
	j = report_closed_json(&ce, ce.ce_closed);
	assert_true(json_is_null(json_object_get(j, "id")));
	assert_string_equal(jstr(j, "reason"), "max_clients");
	assert_int_equal(jint(j, NULL, "closed_seconds_ago"), 0);
	assert_int_equal(jint(j, NULL, "first_seconds_ago"), 42);
	assert_int_equal(jint(j, NULL, "count"), 500);
	assert_string_equal(jstr(j, "peer"), "127.0.0.1:54321");
	assert_string_equal(jstr(j, "source"), "127.0.0.1");
	json_decref(j);

	/* An IPv6 source is its /64. */
	fill_client(&ce.ce_info, 0, 1);
	inet_pton(AF_INET6, "2001:db8:1:2:3:4:5:6",
	    &ce.ce_info.ci_peer.sin6.sin6_addr);
	j = report_closed_json(&ce, ce.ce_closed);
	assert_string_equal(jstr(j, "source"), "2001:db8:1:2::/64");
	json_decref(j);
}

/* The streamed list parses, in order, with its cursor or null. */
static void
test_lists(void **state)
{
	struct evbuffer			*b = evbuffer_new();
	struct conn_info		 ci[3];
	struct closed_entry		 ce[2];
	const struct closed_entry	*cp[2] = { &ce[0], &ce[1] };
	json_t				*j, *a;
	char				*text;

	assert_int_equal(report_clients_json(b, ci, 0, 0, 0), 0);
	text = drain_string(b);
	assert_string_equal(text, "{\"clients\":[],\"next_cursor\":null}");
	free(text);

	fill_client(&ci[0], 5, 0);
	fill_client(&ci[1], 6, 1);
	fill_client(&ci[2], 7, 0);
	assert_int_equal(report_clients_json(b, ci, 3, 20000, 123456789012ULL),
	    0);
	text = drain_string(b);
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	assert_int_equal(jint(j, NULL, "next_cursor"), 123456789012LL);
	a = json_object_get(j, "clients");
	assert_int_equal(json_array_size(a), 3);
	assert_int_equal(jint(json_array_get(a, 0), NULL, "id"), 5);
	assert_int_equal(jint(json_array_get(a, 1), NULL, "id"), 6);
	assert_int_equal(jint(json_array_get(a, 2), NULL, "id"), 7);
	assert_int_equal(jint(json_array_get(a, 2), NULL, "connected_seconds"),
	    10);
	json_decref(j);
	free(text);

	memset(ce, 0, sizeof ce);
	fill_client(&ce[0].ce_info, 8, 0);
	fill_client(&ce[1].ce_info, 9, 0);
	ce[0].ce_reason = CONN_REASON_EOF;
	ce[1].ce_reason = CONN_REASON_OVERSIZE;
	assert_int_equal(report_closed_list_json(b, cp, 2, 20000, 0), 0);
	text = drain_string(b);
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_null(json_object_get(j, "next_cursor")));
	a = json_object_get(j, "clients");
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(jstr(json_array_get(a, 0), "reason"), "eof");
	assert_string_equal(jstr(json_array_get(a, 1), "reason"), "oversize");
	json_decref(j);
	free(text);
	evbuffer_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stats_json),
		cmocka_unit_test(test_prometheus),
		cmocka_unit_test(test_cluster),
		cmocka_unit_test(test_client_json),
		cmocka_unit_test(test_closed_json),
		cmocka_unit_test(test_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
