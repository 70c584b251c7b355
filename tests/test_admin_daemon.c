/*
 * Integration tests of the admin interface against the real daemon: exact
 * counters after a known exchange, paging, the slow client found by
 * sort=queued, close reasons in state=closed, the Prometheus text, and the
 * --admin flag.  Every wait has a deadline.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "http_client.h"

/* GET path from the daemon's admin port; status and parsed JSON body. */
static json_t *
get_json(struct daemon *d, const char *path, int *status)
{
	struct http_response	 r;
	json_t			*j;
	char			 type[64];

	assert_int_equal(http_request(d->admin_port, "GET", path, NULL, &r,
	    HARNESS_TIMEOUT_MS), 0);
	*status = r.status;
	assert_non_null(http_header(&r, "Content-Type", type, sizeof type));
	assert_string_equal(type, "application/json");
	j = json_loads(r.body, 0, NULL);
	if (j == NULL)
		fprintf(stderr, "not JSON: %s\n", r.body);
	assert_non_null(j);
	http_response_free(&r);
	return j;
}

/* GET path, expecting 200 and a JSON object. */
static json_t *
get_ok(struct daemon *d, const char *path)
{
	json_t	*j;
	int	 status;

	j = get_json(d, path, &status);
	assert_int_equal(status, 200);
	assert_true(json_is_object(j));
	return j;
}

/* The integer at "a.b" (or "a") in j; -1 when absent or not an integer. */
static long long
jnum(json_t *j, const char *path)
{
	char	 buf[128], *dot;
	json_t	*v;

	snprintf(buf, sizeof buf, "%s", path);
	if ((dot = strchr(buf, '.')) != NULL) {
		*dot = '\0';
		v = json_object_get(json_object_get(j, buf), dot + 1);
	} else
		v = json_object_get(j, buf);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static const char *
jstr(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

/* /stats's figure at path, now. */
static long long
stat_now(struct daemon *d, const char *path)
{
	json_t		*j = get_ok(d, "/stats");
	long long	 v = jnum(j, path);

	json_decref(j);
	return v;
}

/* Poll /stats until the figure at path reaches at least want. */
static void
wait_stat(struct daemon *d, const char *path, long long want)
{
	long long	deadline = tc_now_ms() + HARNESS_TIMEOUT_MS;

	while (stat_now(d, path) < want) {
		if (tc_now_ms() > deadline) {
			daemon_dump_log(d);
			fail_msg("%s never reached %lld", path, want);
		}
	}
}

/* "127.0.0.1:PORT" of our end of fd, as the daemon sees its peer. */
static void
local_peer(int fd, char *buf, size_t len)
{
	struct sockaddr_in	sin;
	socklen_t		sl = sizeof sin;

	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(buf, len, "127.0.0.1:%u", ntohs(sin.sin_port));
}

/*
 * test_exchange's traffic: A sends one message to an unknown id and three
 * to B, B one back.  Unknown first: B's third message proves A's four were
 * routed.
 */
static void
exchange_traffic(int a, uint32_t ida, int b, uint32_t idb)
{
	assert_int_equal(tc_send(a, 999999, "lost"), 0);	/* 9 bytes */
	assert_int_equal(tc_send(a, idb, "hello"), 0);		/* 10 */
	assert_int_equal(tc_send(a, idb, "x"), 0);		/* 6 */
	assert_int_equal(tc_send(a, idb, "abc"), 0);		/* 8 */
	tc_expect_msg(b, "hello");
	tc_expect_msg(b, "x");
	tc_expect_msg(b, "abc");
	assert_int_equal(tc_send(b, ida, "hi"), 0);		/* 7 */
	tc_expect_msg(a, "hi");
}

/* Every figure of /stats after exchange_traffic(). */
static void
exchange_stats(struct daemon *d)
{
	json_t	*j = get_ok(d, "/stats");

	assert_string_equal(jstr(j, "version"), PACKAGE_VERSION);
	assert_true(jnum(j, "uptime_seconds") >= 0);
	assert_int_equal(jnum(j, "clients.connected"), 2);
	assert_int_equal(jnum(j, "clients.accepted_total"), 2);
	assert_int_equal(jnum(j, "clients.rejected_total"), 0);
	assert_int_equal(jnum(j, "clients.disconnected_slow_total"), 0);
	assert_int_equal(jnum(j, "clients.disconnected_oversize_total"), 0);
	assert_int_equal(jnum(j, "clients.paused"), 0);
	assert_int_equal(jnum(j, "clients.paused_total"), 0);
	assert_int_equal(jnum(j, "messages.received_total"), 5);
	assert_int_equal(jnum(j, "messages.forwarded_total"), 4);
	assert_int_equal(jnum(j, "messages.dropped_unknown_destination_total"),
	    1);
	assert_int_equal(jnum(j, "messages.dropped_queue_full_total"), 0);
	assert_int_equal(jnum(j, "bytes.received_total"), 9 + 10 + 6 + 8 + 7);
	assert_int_equal(jnum(j, "bytes.forwarded_total"), 6 + 2 + 4 + 3);
	assert_int_equal(jnum(j, "bytes.queued"), 0);
	assert_int_equal(jnum(j, "config.max_clients"), 50);
	assert_int_equal(jnum(j, "config.max_message_size"), 1024 * 1024);
	assert_int_equal(jnum(j, "config.queue_limit"), 64 * 1024);
	assert_string_equal(jstr(json_object_get(j, "config"),
	    "slow_consumer"), "backpressure");
	assert_string_equal(jstr(json_object_get(j, "config"), "id_mode"),
	    "sequential");
	json_decref(j);
}

/*
 * A client's counters after exchange_traffic(), in /clients/ID or in the
 * ring of closed clients: A sent 4 messages, 33 bytes, and got 1, 3 bytes.
 */
static void
exchange_client_a(json_t *c, uint32_t ida, const char *peer)
{
	assert_int_equal(jnum(c, "id"), ida);
	assert_string_equal(jstr(c, "peer"), peer);
	assert_int_equal(jnum(c, "messages_in"), 4);
	assert_int_equal(jnum(c, "bytes_in"), 33);
	assert_int_equal(jnum(c, "messages_out"), 1);
	assert_int_equal(jnum(c, "bytes_out"), 3);
	assert_int_equal(jnum(c, "dropped_messages"), 0);
}

/* /clients/ID of both clients after exchange_traffic(). */
static void
exchange_clients(struct daemon *d, uint32_t ida, const char *peer,
    uint32_t idb)
{
	char	 path[64];
	json_t	*j;

	snprintf(path, sizeof path, "/clients/%u", ida);
	j = get_ok(d, path);
	exchange_client_a(j, ida, peer);
	assert_true(jnum(j, "connected_seconds") >= 0);
	assert_int_equal(jnum(j, "queued_bytes"), 0);
	assert_true(json_is_false(json_object_get(j, "paused")));
	json_decref(j);

	snprintf(path, sizeof path, "/clients/%u", idb);
	j = get_ok(d, path);
	assert_int_equal(jnum(j, "messages_in"), 1);
	assert_int_equal(jnum(j, "bytes_in"), 7);
	assert_int_equal(jnum(j, "messages_out"), 3);
	assert_int_equal(jnum(j, "bytes_out"), 12);
	json_decref(j);
}

/* The figures of exchange_stats() in the Prometheus text. */
static void
exchange_metrics(struct daemon *d)
{
	struct http_response	r;
	char			type[64];

	assert_int_equal(http_request(d->admin_port, "GET", "/metrics", NULL,
	    &r, HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(http_header(&r, "Content-Type", type, sizeof type),
	    "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(strstr(r.body,
	    "# TYPE msgrouter_messages_forwarded_total counter\n"
	    "msgrouter_messages_forwarded_total 4\n"));
	assert_non_null(strstr(r.body,
	    "\nmsgrouter_messages_dropped_unknown_destination_total 1\n"));
	assert_non_null(strstr(r.body,
	    "\nmsgrouter_bytes_received_total 40\n"));
	assert_non_null(strstr(r.body,
	    "\nmsgrouter_bytes_forwarded_total 15\n"));
	assert_non_null(strstr(r.body, "\nmsgrouter_clients_connected 2\n"));
	assert_non_null(strstr(r.body, "# HELP msgrouter_clients_connected "));
	assert_non_null(strstr(r.body, "\nmsgrouter_config_info{slow_consumer="
	    "\"backpressure\",id_mode=\"sequential\"} 1\n"));
	http_response_free(&r);
}

/*
 * A has left: its record shows in the ring with its final counters, and
 * /clients/ID no longer finds it.
 */
static void
exchange_closed(struct daemon *d, uint32_t ida, const char *peer)
{
	long long	 deadline = tc_now_ms() + HARNESS_TIMEOUT_MS;
	char		 path[64];
	json_t		*j, *c;
	int		 status;

	for (;;) {
		j = get_ok(d, "/clients?state=closed");
		c = json_array_get(json_object_get(j, "clients"), 0);
		if (c != NULL)
			break;
		json_decref(j);
		assert_true(tc_now_ms() < deadline);
	}
	assert_int_equal(json_array_size(json_object_get(j, "clients")), 1);
	assert_string_equal(jstr(c, "reason"), "eof");
	exchange_client_a(c, ida, peer);
	assert_true(jnum(c, "closed_seconds_ago") >= 0);
	json_decref(j);
	snprintf(path, sizeof path, "/clients/%u", ida);
	j = get_json(d, path, &status);
	assert_int_equal(status, 404);
	assert_non_null(jstr(j, "error"));
	json_decref(j);
}

/*
 * A known exchange: every counter of /stats, both clients and /metrics
 * have exact values, and so does A's record once it has left.
 */
static void
test_exchange(void **state)
{
	static const char *const args[] = { "--admin", "127.0.0.1:0",
	    "--id-mode", "sequential", "--max-clients", "50",
	    "--queue-limit", "64K", NULL };
	struct daemon	d;
	uint32_t	ida, idb;
	char		peer[64];
	int		a, b;

	harness_start(&d, args);
	assert_true((a = tc_connect(&d, &ida)) >= 0);
	assert_true((b = tc_connect(&d, &idb)) >= 0);
	local_peer(a, peer, sizeof peer);
	exchange_traffic(a, ida, b, idb);
	exchange_stats(&d);
	exchange_clients(&d, ida, peer, idb);
	exchange_metrics(&d);
	close(a);
	exchange_closed(&d, ida, peer);
	close(b);
	harness_stop(&d);
}

#define PAGED	25

/* limit=7 pages visit all 25 clients exactly once; bad limits are 400. */
static void
test_paging(void **state)
{
	static const char *const args[] = { "--admin", "127.0.0.1:0", NULL };
	struct daemon	 d;
	uint32_t	 ids[PAGED], seen[PAGED + 10];
	int		 fds[PAGED], i, n = 0, pages = 0, status;
	char		 path[96];
	json_t		*j, *list, *next;
	size_t		 k;

	harness_start(&d, args);
	for (i = 0; i < PAGED; i++)
		assert_true((fds[i] = tc_connect(&d, &ids[i])) >= 0);

	snprintf(path, sizeof path, "/clients?limit=7");
	for (;;) {
		j = get_ok(&d, path);
		list = json_object_get(j, "clients");
		assert_true(json_array_size(list) <= 7);
		for (k = 0; k < json_array_size(list); k++) {
			assert_true(n < PAGED + 10);
			seen[n++] = (uint32_t)jnum(json_array_get(list, k),
			    "id");
		}
		pages++;
		next = json_object_get(j, "next_cursor");
		if (json_is_null(next)) {
			json_decref(j);
			break;
		}
		assert_true(json_is_integer(next));
		snprintf(path, sizeof path, "/clients?limit=7&cursor=%lld",
		    (long long)json_integer_value(next));
		json_decref(j);
		assert_true(pages < 100);
	}
	assert_int_equal(n, PAGED);
	assert_true(pages >= 4);
	qsort(ids, PAGED, sizeof ids[0], tc_cmp_u32);
	qsort(seen, PAGED, sizeof seen[0], tc_cmp_u32);
	assert_memory_equal(ids, seen, sizeof ids);

	/* The default limit (100) takes them all at once. */
	j = get_ok(&d, "/clients");
	assert_int_equal(json_array_size(json_object_get(j, "clients")), PAGED);
	assert_true(json_is_null(json_object_get(j, "next_cursor")));
	json_decref(j);

	j = get_json(&d, "/clients?limit=10001", &status);
	assert_int_equal(status, 400);
	assert_non_null(jstr(j, "error"));
	json_decref(j);
	j = get_json(&d, "/clients?limit=lots", &status);
	assert_int_equal(status, 400);
	json_decref(j);
	j = get_ok(&d, "/clients?limit=10000");
	assert_int_equal(json_array_size(json_object_get(j, "clients")), PAGED);
	json_decref(j);

	for (i = 0; i < PAGED; i++)
		close(fds[i]);
	harness_stop(&d);
}

/*
 * Write frames of payload size len to dst on fd (non-blocking) until
 * done(d) holds, checking between bursts.  Whole frames cycle through one
 * buffer, so a partial write just resumes inside it.
 */
static void
flood(struct daemon *d, int fd, uint32_t dst, size_t len,
    int (*done)(struct daemon *))
{
	long long	 deadline = tc_now_ms() + HARNESS_TIMEOUT_MS;
	size_t		 flen = 4 + len + 1, nframes = 65536 / flen + 1;
	size_t		 total = flen * nframes, off = 0, i;
	char		*buf = malloc(total), *payload = malloc(len + 1);
	ssize_t		 n;

	assert_non_null(buf);
	memset(payload, 'p', len);
	payload[len] = '\0';
	for (i = 0; i < nframes; i++)
		tc_frame(buf + i * flen, dst, payload);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (!done(d)) {
		for (;;) {
			n = send(fd, buf + off, total - off, MSG_NOSIGNAL);
			if (n <= 0)
				break;
			off = (off + (size_t)n) % total;
		}
		assert_true(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
		if (tc_now_ms() > deadline) {
			daemon_dump_log(d);
			fail_msg("flood: condition not reached");
		}
	}
	free(buf);
	free(payload);
}

static int
sender_paused(struct daemon *d)
{
	return stat_now(d, "clients.paused") >= 1;
}

/* Backpressure: sort=queued names the client that does not read. */
static void
test_sort_queued(void **state)
{
	static const char *const args[] = { "--admin", "127.0.0.1:0",
	    "--queue-limit", "64K", NULL };
	struct daemon	 d;
	uint32_t	 idr, ids, idle_id[3];
	int		 r, s, idle[3], i;
	char		 path[64];
	json_t		*j, *top;

	harness_start(&d, args);
	for (i = 0; i < 3; i++)
		assert_true((idle[i] = tc_connect(&d, &idle_id[i])) >= 0);
	assert_true((r = tc_connect_small(&d, &idr)) >= 0);
	assert_true((s = tc_connect(&d, &ids)) >= 0);
	flood(&d, s, idr, 4000, sender_paused);

	j = get_ok(&d, "/clients?sort=queued&limit=2");
	top = json_array_get(json_object_get(j, "clients"), 0);
	assert_int_equal(jnum(top, "id"), idr);
	assert_true(jnum(top, "queued_bytes") > 0);
	assert_true(jnum(top, "messages_out") > 0);
	assert_true(json_is_false(json_object_get(top, "paused")));
	/* Everyone else has nothing queued. */
	assert_int_equal(jnum(json_array_get(json_object_get(j, "clients"), 1),
	    "queued_bytes"), 0);
	assert_true(json_is_null(json_object_get(j, "next_cursor")));
	json_decref(j);

	snprintf(path, sizeof path, "/clients/%u", ids);
	j = get_ok(&d, path);
	assert_true(json_is_true(json_object_get(j, "paused")));
	assert_true(jnum(j, "messages_in") > 0);
	json_decref(j);
	j = get_ok(&d, "/stats");
	assert_int_equal(jnum(j, "clients.paused"), 1);
	assert_true(jnum(j, "clients.paused_total") >= 1);
	assert_true(jnum(j, "bytes.queued") > 0);
	json_decref(j);

	close(s);
	close(r);
	for (i = 0; i < 3; i++)
		close(idle[i]);
	harness_stop(&d);
}

static int
slow_disconnected(struct daemon *d)
{
	return stat_now(d, "clients.disconnected_slow_total") >= 1;
}

/* test_closed's clients: the ids of those that leave, in order. */
struct closed_ids {
	uint32_t	eof, oversize, slow;
};

/*
 * Four ways to leave, one after the other: an EOF, 100 bytes without a
 * 0x00 against max_message_size 64, a slow reader cut off by the
 * disconnect policy, and a fifth client past max_clients 4.  The three
 * clients still connected besides s go into x, s into *s.
 */
static void
closed_leave(struct daemon *d, struct closed_ids *id, int *s, int x[3])
{
	uint32_t	ids, idx;
	char		big[4 + 100];
	int		c, i;

	assert_true((c = tc_connect(d, &id->eof)) >= 0);
	close(c);
	wait_stat(d, "clients.accepted_total", 1);

	assert_true((c = tc_connect(d, &id->oversize)) >= 0);
	memset(big, 'x', sizeof big);
	assert_int_equal(tc_write(c, big, sizeof big), 0);
	assert_int_equal(tc_expect_close(c, HARNESS_TIMEOUT_MS), 0);
	close(c);

	assert_true((c = tc_connect_small(d, &id->slow)) >= 0);
	assert_true((*s = tc_connect(d, &ids)) >= 0);
	flood(d, *s, id->slow, 60, slow_disconnected);
	assert_int_equal(tc_expect_close(c, HARNESS_TIMEOUT_MS), 0);
	close(c);

	/* s and three more make four: the fifth is rejected. */
	for (i = 0; i < 3; i++)
		assert_true((x[i] = tc_connect(d, &idx)) >= 0);
	assert_true((c = tc_connect_raw(d)) >= 0);
	assert_int_equal(tc_expect_close(c, HARNESS_TIMEOUT_MS), 0);
	close(c);
	wait_stat(d, "clients.rejected_total", 1);
}

/* The whole ring after closed_leave(): newest first, each with its reason. */
static void
closed_ring(struct daemon *d, const struct closed_ids *id)
{
	static const char *const reasons[] = { "max_clients", "slow_consumer",
	    "oversize", "eof" };
	json_t	*j, *list, *c;
	int	 i;

	j = get_ok(d, "/stats");
	assert_int_equal(jnum(j, "clients.disconnected_oversize_total"), 1);
	assert_int_equal(jnum(j, "clients.disconnected_slow_total"), 1);
	assert_true(jnum(j, "messages.dropped_queue_full_total") >= 1);
	json_decref(j);

	j = get_ok(d, "/clients?state=closed");
	list = json_object_get(j, "clients");
	assert_int_equal(json_array_size(list), 4);
	for (i = 0; i < 4; i++)
		assert_string_equal(jstr(json_array_get(list, i), "reason"),
		    reasons[i]);
	c = json_array_get(list, 0);
	assert_true(json_is_null(json_object_get(c, "id")));
	assert_int_equal(jnum(c, "messages_in"), 0);
	c = json_array_get(list, 1);
	assert_int_equal(jnum(c, "id"), id->slow);
	assert_true(jnum(c, "dropped_messages") >= 1);
	assert_true(jnum(c, "queued_bytes") > 0);
	assert_true(jnum(c, "messages_out") > 0);
	c = json_array_get(list, 2);
	assert_int_equal(jnum(c, "id"), id->oversize);
	/* Unparsed input is read up to one largest frame, no further. */
	assert_int_equal(jnum(c, "bytes_in"), 64 + 4);
	c = json_array_get(list, 3);
	assert_int_equal(jnum(c, "id"), id->eof);
	assert_true(json_is_null(json_object_get(j, "next_cursor")));
	json_decref(j);
}

/* The ring in pages of 3 then 1, following next_cursor; no sort=queued. */
static void
closed_pages(struct daemon *d)
{
	char	 path[96];
	json_t	*j, *list, *next;
	int	 status;

	j = get_ok(d, "/clients?state=closed&limit=3");
	assert_int_equal(json_array_size(json_object_get(j, "clients")), 3);
	next = json_object_get(j, "next_cursor");
	assert_true(json_is_integer(next));
	snprintf(path, sizeof path, "/clients?state=closed&limit=3&cursor=%lld",
	    (long long)json_integer_value(next));
	json_decref(j);
	j = get_ok(d, path);
	list = json_object_get(j, "clients");
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(jstr(json_array_get(list, 0), "reason"), "eof");
	assert_true(json_is_null(json_object_get(j, "next_cursor")));
	json_decref(j);

	j = get_json(d, "/clients?state=closed&sort=queued", &status);
	assert_int_equal(status, 400);
	json_decref(j);
}

/* The ring shows each close with its reason, newest first, and pages. */
static void
test_closed(void **state)
{
	static const char *const args[] = { "--admin", "127.0.0.1:0",
	    "--id-mode", "sequential", "--slow-consumer", "disconnect",
	    "--queue-limit", "1K", "--max-message-size", "64",
	    "--max-clients", "4", NULL };
	struct daemon		d;
	struct closed_ids	id;
	int			s, x[3], i;

	harness_start(&d, args);
	closed_leave(&d, &id, &s, x);
	closed_ring(&d, &id);
	closed_pages(&d);
	close(s);
	for (i = 0; i < 3; i++)
		close(x[i]);
	harness_stop(&d);
}

/* GET path: just the status (0: no answer, the connection closed). */
static int
get_status(struct daemon *d, const char *path)
{
	struct http_response	r;
	int			status;

	if (http_request(d->admin_port, "GET", path, NULL, &r,
	    HARNESS_TIMEOUT_MS) != 0)
		return 0;
	status = r.status;
	http_response_free(&r);
	return status;
}

/*
 * ADMIN_MAX_CONNS idle connections fill the cap (admin.h): /healthz still
 * answers 200 on the reserve past it, any other route there gets 503 with
 * a JSON error, and once the idle ones leave every route answers again.
 * Accepted connections are adopted in the order they came, so the 65th
 * connection is the first of the reserve.
 */
static void
test_healthz_reserve(void **state)
{
	static const char *const args[] = { "--admin", "127.0.0.1:0", NULL };
	struct daemon	 d;
	int		 idle[64], i, status;
	long long	 deadline;
	json_t		*j;

	harness_start(&d, args);
	assert_int_equal(get_status(&d, "/stats"), 200);
	for (i = 0; i < 64; i++)
		assert_true((idle[i] = tc_connect_port(d.admin_port)) >= 0);

	j = get_json(&d, "/stats", &status);
	assert_int_equal(status, 503);
	assert_non_null(strstr(jstr(j, "error"), "only /healthz"));
	json_decref(j);
	for (i = 0; i < 3; i++) {
		j = get_ok(&d, "/healthz");
		assert_string_equal(jstr(j, "status"), "ok");
		json_decref(j);
	}
	assert_int_equal(get_status(&d, "/metrics"), 503);

	for (i = 0; i < 64; i++)
		close(idle[i]);
	deadline = tc_now_ms() + HARNESS_TIMEOUT_MS;
	while ((status = get_status(&d, "/stats")) != 200) {
		assert_int_equal(status, 503);
		if (tc_now_ms() > deadline)
			fail_msg("/stats still refused after the idle left");
	}
	harness_stop(&d);
}

/*
 * More idle connections than the cap and its reserve (admin.h: 64 + 8)
 * cannot keep /healthz out: each new connection closes the oldest one
 * that has not sent a request, so a probe always gets in and is answered
 * at once, again and again; the newest idle ones stay.
 */
#define FLOOD_IDLE	80

static void
test_healthz_idle_flood(void **state)
{
	static const char *const args[] = { "--admin", "127.0.0.1:0", NULL };
	struct daemon	 d;
	int		 idle[FLOOD_IDLE], i;
	long long	 start;
	char		 c;
	json_t		*j;

	harness_start(&d, args);
	for (i = 0; i < FLOOD_IDLE; i++)
		assert_true((idle[i] = tc_connect_port(d.admin_port)) >= 0);
	for (i = 0; i < 5; i++) {
		start = tc_now_ms();
		j = get_ok(&d, "/healthz");
		assert_string_equal(jstr(j, "status"), "ok");
		json_decref(j);
		/* Not after an idle one's 10 s deadline (valgrind: slow). */
		if (!harness_wrapped())
			assert_true(tc_now_ms() - start < 2000);
	}
	/* The oldest went first; the newest is still open. */
	assert_int_equal(tc_expect_close(idle[0], HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(recv(idle[FLOOD_IDLE - 1], &c, 1, MSG_DONTWAIT), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	for (i = 0; i < FLOOD_IDLE; i++)
		close(idle[i]);
	harness_stop(&d);
}

/*
 * A sender paused by backpressure on a receiver that never reads resets
 * its connection: within a second (the watch tick) its id is gone from
 * /clients, the ring has it with reason sender_gone, what it had buffered
 * is counted as dropped (sender_gone) so that the counters add up, and
 * another pair goes on as before.
 */
static void
test_paused_sender_reset(void **state)
{
	static const char *const args[] = { "--admin", "127.0.0.1:0",
	    "--queue-limit", "16K", NULL };
	struct daemon	 d;
	uint32_t	 idr, ids, idx, idy;
	int		 r, s, x, y, status, limit;
	long long	 t0, deadline;
	char		 path[64];
	json_t		*j, *c;

	harness_start(&d, args);
	assert_true((x = tc_connect(&d, &idx)) >= 0);
	assert_true((y = tc_connect(&d, &idy)) >= 0);
	assert_true((r = tc_connect_small(&d, &idr)) >= 0);
	assert_true((s = tc_connect(&d, &ids)) >= 0);
	flood(&d, s, idr, 1000, sender_paused);
	snprintf(path, sizeof path, "/clients/%u", ids);
	j = get_ok(&d, path);
	assert_true(json_is_true(json_object_get(j, "paused")));
	json_decref(j);

	t0 = tc_now_ms();
	tc_close_reset(s);
	/* About a second; 3 s unless valgrind slows the daemon. */
	limit = harness_wrapped() ? HARNESS_TIMEOUT_MS : 3000;
	deadline = t0 + limit;
	for (;;) {
		j = get_json(&d, path, &status);
		json_decref(j);
		if (status == 404)
			break;
		assert_int_equal(status, 200);
		if (tc_now_ms() > deadline) {
			daemon_dump_log(&d);
			fail_msg("client %u still there %d ms after its reset",
			    ids, limit);
		}
	}
	print_message("paused sender freed %lld ms after its reset\n",
	    tc_now_ms() - t0);

	j = get_ok(&d, "/clients?state=closed");
	c = json_array_get(json_object_get(j, "clients"), 0);
	assert_int_equal(jnum(c, "id"), ids);
	assert_string_equal(jstr(c, "reason"), "sender_gone");
	json_decref(j);
	j = get_ok(&d, "/stats");
	assert_int_equal(jnum(j, "clients.disconnected_sender_gone_total"), 1);
	assert_int_equal(jnum(j, "clients.paused"), 0);
	assert_true(jnum(j, "messages.dropped_sender_gone_total") >= 1);
	assert_int_equal(jnum(j, "messages.received_total"),
	    jnum(j, "messages.forwarded_total") +
	    jnum(j, "messages.dropped_unknown_destination_total") +
	    jnum(j, "messages.dropped_queue_full_total") +
	    jnum(j, "messages.dropped_sender_gone_total"));
	assert_int_equal(jnum(j, "clients.connected"), 3);
	json_decref(j);

	/* The other pair, and the receiver, are untouched. */
	assert_int_equal(tc_send(x, idy, "still"), 0);
	tc_expect_msg(y, "still");
	assert_int_equal(tc_send(y, idx, "here"), 0);
	tc_expect_msg(x, "here");
	snprintf(path, sizeof path, "/clients/%u", idr);
	json_decref(get_ok(&d, path));

	/* The receiver leaves too, so that the drain has nothing to wait for. */
	tc_close_reset(r);
	deadline = tc_now_ms() + HARNESS_TIMEOUT_MS;
	while (stat_now(&d, "clients.connected") != 2)
		if (tc_now_ms() > deadline)
			fail_msg("the receiver's reset was not noticed");
	close(x);
	close(y);
	harness_stop(&d);
	harness_expect_counters(&d, (const struct counter_want[]){
	    { "accepted", 4 }, { "dropped_unknown", 0 },
	    { "dropped_queue_full", 0 }, { NULL, 0 } });
	assert_true(daemon_counter(&d, "dropped_sender_gone") >= 1);
	assert_int_equal(daemon_counter(&d, "frames"),
	    daemon_counter(&d, "forwarded") +
	    daemon_counter(&d, "dropped_sender_gone"));
}

/*
 * Bytes the daemon handed to the kernel for a receiver that never reads
 * (TC_SMALL_RCVBUF), once its sender is paused: forwarded but no longer
 * queued in the daemon.  They sit in the daemon's send buffer and the
 * receiver's receive buffer.
 */
static long long
kernel_held(const char *conf)
{
	const char	*args[] = { "--admin", "127.0.0.1:0", "--queue-limit",
			    "16K", "-c", conf, NULL };
	struct daemon	 d;
	uint32_t	 idr, ids;
	int		 r, s;
	long long	 held;
	json_t		*j;

	harness_start(&d, args);
	assert_true((r = tc_connect_small(&d, &idr)) >= 0);
	assert_true((s = tc_connect(&d, &ids)) >= 0);
	flood(&d, s, idr, 1000, sender_paused);
	j = get_ok(&d, "/stats");
	held = jnum(j, "bytes.forwarded_total") - jnum(j, "bytes.queued");
	json_decref(j);
	tc_close_reset(s);
	tc_close_reset(r);
	harness_stop(&d);
	return held;
}

/*
 * router.sndbuf caps the kernel's send buffer of client sockets: with 16K
 * (the kernel doubles it to 32K) a stalled receiver holds at most that and
 * its own receive buffer in the kernel; with the kernel's default, tcp_wmem
 * autotuning lets it hold far more.
 */
static void
test_sndbuf(void **state)
{
	char		conf[512];
	long long	dflt, capped;

	harness_tmp_path(conf, sizeof conf, "default.conf");
	harness_write_file(conf, "[router]\nsndbuf = 0\n");
	dflt = kernel_held(conf);
	harness_write_file(conf, "[router]\nsndbuf = 16K\n");
	capped = kernel_held(conf);
	unlink(conf);
	print_message("held by the kernel for a stalled receiver: %lld bytes "
	    "by default, %lld with sndbuf = 16K\n", dflt, capped);
	assert_true(capped > 0);
	assert_true(capped <= 2 * 16384 + 2 * TC_SMALL_RCVBUF + 4096);
	assert_true(dflt > 4 * capped);
}

/* Errors over the wire: JSON bodies and the right status. */
static void
test_errors(void **state)
{
	static const char *const args[] = { "--admin", "127.0.0.1:0", NULL };
	static const struct {
		const char	*method, *path;
		int		 status;
	} cases[] = {
		{ "GET", "/nope", 404 },
		{ "GET", "/clients/77", 404 },
		{ "GET", "/clients?cursor=x", 400 },
		{ "POST", "/stats", 405 },
		{ "DELETE", "/clients/1", 405 },
	};
	struct daemon		 d;
	struct http_response	 r;
	json_t			*j;
	size_t			 i;
	char			 len[32];

	harness_start(&d, args);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(http_request(d.admin_port, cases[i].method,
		    cases[i].path, NULL, &r, HARNESS_TIMEOUT_MS), 0);
		assert_int_equal(r.status, cases[i].status);
		j = json_loads(r.body, 0, NULL);
		assert_non_null(j);
		assert_true(json_is_string(json_object_get(j, "error")));
		json_decref(j);
		http_response_free(&r);
	}
	assert_int_equal(http_request(d.admin_port, "GET", "/healthz", NULL,
	    &r, HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"status\":\"ok\"}\n");
	http_response_free(&r);
	assert_int_equal(http_request(d.admin_port, "HEAD", "/metrics", NULL,
	    &r, HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	/* The length GET would have: the Prometheus text is a few KB. */
	assert_non_null(http_header(&r, "Content-Length", len, sizeof len));
	assert_true(atoi(len) > 1000);
	http_response_free(&r);
	harness_stop(&d);
}

/* GET path with extra header lines; the status, and r kept for checks. */
static int
dash_get(struct daemon *d, const char *path, const char *headers,
    struct http_response *r)
{
	assert_int_equal(http_request(d->admin_port, "GET", path, headers, r,
	    HARNESS_TIMEOUT_MS), 0);
	return r->status;
}

/*
 * The dashboard's files: no token needed (they hold no figures), their
 * security headers, / as the page for a browser and as JSON otherwise;
 * the JSON endpoints keep asking for the token.
 */
static void
test_dashboard(void **state)
{
	static const char	 csp[] = "default-src 'none'; script-src "
	    "'self'; style-src 'self'; img-src 'self' data:; connect-src "
	    "'self'; base-uri 'none'; form-action 'self'; "
	    "frame-ancestors 'none'";
	static const char	 html[] = "Accept: text/html,application/"
	    "xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n";
	static const char	 bearer[] = "Authorization: Bearer dash-tok\r\n";
	static const struct {
		const char	*path, *type, *marker;
	} files[] = {
		{ "/dashboard", "text/html; charset=utf-8",
		    "<script src=\"/dashboard.js\" defer></script>" },
		{ "/dashboard.js", "text/javascript; charset=utf-8",
		    "getJSON(\"/stats\")" },
		{ "/dashboard.css", "text/css; charset=utf-8", ".panel {" },
	};
	const char		*args[] = { "-c", NULL, "--admin",
				    "127.0.0.1:0", NULL };
	char			 conf[256], buf[512];
	struct daemon		 d;
	struct http_response	 r;
	size_t			 i;

	harness_tmp_path(conf, sizeof conf, "dash.conf");
	harness_write_file(conf, "[admin]\ntoken = dash-tok\n");
	args[1] = conf;
	harness_start(&d, args);
	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		assert_int_equal(dash_get(&d, files[i].path, NULL, &r), 200);
		assert_string_equal(http_header(&r, "Content-Type", buf,
		    sizeof buf), files[i].type);
		assert_string_equal(http_header(&r, "Content-Security-Policy",
		    buf, sizeof buf), csp);
		assert_string_equal(http_header(&r, "X-Content-Type-Options",
		    buf, sizeof buf), "nosniff");
		assert_string_equal(http_header(&r, "Cache-Control", buf,
		    sizeof buf), "no-store");
		assert_non_null(strstr(r.body, files[i].marker));
		/* No inline script: the page's only script is the file. */
		if (i == 0)
			assert_null(strstr(r.body, "<script>"));
		http_response_free(&r);
	}
	/* A browser asking for / gets the page, without the token. */
	assert_int_equal(dash_get(&d, "/", html, &r), 200);
	assert_non_null(strstr(r.body, "<!DOCTYPE html>"));
	http_response_free(&r);
	/* Any other client of / gets the JSON index, with the token. */
	assert_int_equal(dash_get(&d, "/", NULL, &r), 401);
	http_response_free(&r);
	assert_int_equal(dash_get(&d, "/", bearer, &r), 200);
	assert_non_null(strstr(r.body, "\"/dashboard\""));
	http_response_free(&r);
	/* The figures keep needing it, whatever the Accept header. */
	assert_int_equal(dash_get(&d, "/stats", html, &r), 401);
	http_response_free(&r);
	assert_int_equal(dash_get(&d, "/dashboard/x", NULL, &r), 401);
	http_response_free(&r);
	assert_int_equal(dash_get(&d, "/stats", bearer, &r), 200);
	http_response_free(&r);
	harness_stop(&d);
	unlink(conf);
}

/* A busy admin port is fatal at start (1) and named; a bad value is 2. */
static void
test_flag(void **state)
{
	char		 addr[64], out[4096], err[4096], want[96];
	const char	*args[] = { "-l", "127.0.0.1:0", "--admin", addr,
			    NULL };
	const char	*bad[] = { "-l", "127.0.0.1:0", "--admin",
			    "localhost", NULL };
	int		 fd;

	fd = harness_listener(addr, sizeof addr);
	assert_int_equal(daemon_run(args, out, sizeof out, err, sizeof err),
	    1);
	snprintf(want, sizeof want, "error cannot listen on %s (admin.listen): "
	    "Address already in use\n", addr);
	assert_non_null(strstr(err, want));
	close(fd);

	assert_int_equal(daemon_run(bad, out, sizeof out, err, sizeof err), 2);
	assert_non_null(strstr(err, "--admin"));
}

/* --admin off: no admin port, and routing as usual. */
static void
test_off(void **state)
{
	static const char *const args[] = { "--admin", "off", NULL };
	struct daemon	 d;

	harness_start(&d, args);
	assert_int_equal(d.admin_port, 0);
	assert_int_equal(daemon_log_count(&d, "admin listening"), 0);
	harness_stop(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_exchange),
		harness_unit_test(test_paging),
		harness_unit_test(test_sort_queued),
		harness_unit_test(test_closed),
		harness_unit_test(test_errors),
		harness_unit_test(test_dashboard),
		harness_unit_test(test_flag),
		harness_unit_test(test_off),
		harness_unit_test(test_healthz_reserve),
		harness_unit_test(test_paused_sender_reset),
		harness_unit_test(test_sndbuf),
		harness_unit_test(test_healthz_idle_flood),
	};

	harness_init();
	return harness_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
