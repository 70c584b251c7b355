/*
 * Integration tests of the id-scanning defence and the per-address limit,
 * against the real daemon.  Several source addresses on one machine: the
 * clients bind to 127.0.0.2, 127.0.0.3... (all of 127/8 is loopback on
 * Linux).
 *
 * - A scanner is let through scan_limit unknown ids, closed at the next
 *   one, logged once with its address, and banned: its reconnections are
 *   closed at once without an id, while a client that keeps writing to a
 *   peer that left, and clients of other addresses, go on.
 * - A ban ends after scan_ban; the count starts again.
 * - max_clients_per_address refuses the connection past it, without an id.
 * - scan_limit is applied by a reload.
 * - Unix-domain clients have no address: neither limited nor banned.
 * - On a dual-stack listener IPv4 peers arrive as IPv4-mapped IPv6 and
 *   are counted per IPv4 address, not as one IPv6 /64.
 * - A banned scanner reconnecting in a loop cannot flush the ring of closed
 *   clients: its refusals are one record with a count.
 * - Frames to ids that were live a moment ago are not counted: two clients
 *   of one address, each writing to its own peer that left, interleaved,
 *   and one client writing to two peers that left, in turn, far past
 *   scan_limit, are neither closed nor banned; nor is a client writing to
 *   its departed peer closed when a scanner of its address is banned.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "http_client.h"

/*
 * Connect to the daemon from source address src (port chosen by the
 * kernel); with id non-NULL, read the 4-byte id.  The fd, or -1.
 */
static int
connect_from(struct daemon *d, const char *src, uint32_t *id)
{
	struct sockaddr_in	sin;
	uint32_t		be;
	int			fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	if (inet_pton(AF_INET, src, &sin.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1)
		goto fail;
	sin.sin_port = htons((uint16_t)d->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1)
		goto fail;
	if (id != NULL) {
		if (tc_read_exact(fd, &be, sizeof be, HARNESS_TIMEOUT_MS) != 0)
			goto fail;
		*id = ntohl(be);
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * The daemon closes fd without sending a byte (a refused connection gets
 * no id); 0, or -1 if a byte came or it stayed open.
 */
static int
expect_closed_without_id(int fd)
{
	long long	deadline = tc_now_ms() + HARNESS_TIMEOUT_MS;
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	char		c;
	ssize_t		n;

	for (;;) {
		if (tc_now_ms() > deadline)
			return -1;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(fd, &c, 1);
		if (n == 0 || (n == -1 && errno == ECONNRESET))
			return 0;
		if (n == 1)
			return -1;
		if (errno != EINTR && errno != EAGAIN)
			return -1;
	}
}

/*
 * In the ring of closed clients: how many closes the records with this
 * reason and a peer from source address src stand for (with id, if id is
 * not 0; else none: rejections, coalesced into one record with a count).
 */
static int
closed_count(struct daemon *d, const char *reason, const char *src,
    uint32_t id)
{
	json_t		*j = daemon_admin_json(d, "/clients?state=closed&limit=1000");
	json_t		*list = json_object_get(j, "clients"), *c, *cid;
	const char	*peer;
	size_t		 i, len = strlen(src);
	int		 n = 0;

	for (i = 0; i < json_array_size(list); i++) {
		c = json_array_get(list, i);
		peer = json_string_value(json_object_get(c, "peer"));
		cid = json_object_get(c, "id");
		if (strcmp(json_string_value(json_object_get(c, "reason")),
		    reason) != 0 || peer == NULL ||
		    strncmp(peer, src, len) != 0 || peer[len] != ':')
			continue;
		if (id == 0 ? json_is_null(cid) :
		    json_integer_value(cid) == (json_int_t)id)
			n += (int)json_integer_value(json_object_get(c,
			    "count"));
	}
	json_decref(j);
	return n;
}

/* An unknown id for the n-th probe: never one of the live ids. */
static uint32_t
probe_id(int n, const uint32_t *live, int nlive)
{
	uint32_t	id = 0x5ca00000u + (uint32_t)n * 7919u;
	int		i;

	for (i = 0; i < nlive; i++)
		if (live[i] == id)
			return probe_id(n + 1000000, live, nlive);
	return id;
}

/* Send n frames from fd to distinct unknown ids, from probe number first. */
static void
probe(int fd, int first, int n, const uint32_t *live, int nlive)
{
	char	frame[16];
	int	i;

	for (i = first; i < first + n; i++)
		assert_int_equal(tc_write(fd, frame, tc_frame(frame,
		    probe_id(i, live, nlive), "x")), 0);
}

/*
 * The scanner at 127.0.0.2 gets 64 unknown ids through (a frame to a live
 * client is not counted: it is delivered), is closed at the 65th with one
 * log line naming its address, and is refused at once, without an id, for
 * scan_ban.  A client at 127.0.0.3 that keeps writing to a peer that left
 * goes on; a client at 127.0.0.4 connects during the ban.
 */
static void
test_scanner_banned(void **state)
{
	static const char *args[] = { "--admin", "127.0.0.1:0", NULL };
	struct daemon	 d;
	uint32_t	 idv, ids, idl, idgone, ido, live[4];
	int		 v, s, l, gone, o, i;
	json_t		*j;
	struct http_response r;

	harness_start(&d, args);
	assert_true((v = tc_connect(&d, &idv)) >= 0);
	assert_true((s = connect_from(&d, "127.0.0.2", &ids)) >= 0);
	assert_true((l = connect_from(&d, "127.0.0.3", &idl)) >= 0);
	assert_true((gone = connect_from(&d, "127.0.0.3", &idgone)) >= 0);
	live[0] = idv;
	live[1] = ids;
	live[2] = idl;
	live[3] = idgone;

	/* The peer leaves; the loyal client writes to it 500 times. */
	close(gone);
	harness_wait_client(&d, idgone, " closed: eof");
	for (i = 0; i < 500; i++)
		assert_int_equal(tc_send(l, idgone, "are you there"), 0);

	/* 64 unknown ids pass; a live destination in between is served. */
	probe(s, 0, 64, live, 4);
	assert_int_equal(tc_send(s, idv, "found you"), 0);
	tc_expect_msg(v, "found you");
	/* And the loyal client's 500 are routed: it is still served. */
	tc_ping_pong(l, idl, v, idv, 1);
	assert_int_equal(daemon_stat(&d, "messages",
	    "dropped_unknown_destination_total"), 564);
	assert_int_equal(daemon_stat(&d, "clients", "disconnected_scan_total"), 0);

	/* The 65th: closed, logged once with the address, banned. */
	probe(s, 64, 1, live, 4);
	assert_int_equal(tc_expect_close(s, HARNESS_TIMEOUT_MS), 0);
	close(s);
	harness_wait_log(&d, "address 127.0.0.2: 65 unknown ids in ", 1);
	harness_wait_log(&d, "s: banned for 60 s", 1);
	harness_wait_client(&d, ids, " closed: scan");
	for (i = 0; i < 3; i++) {
		assert_true((s = connect_from(&d, "127.0.0.2", NULL)) >= 0);
		assert_int_equal(expect_closed_without_id(s), 0);
		close(s);
	}
	assert_int_equal(daemon_log_count(&d, "address 127.0.0.2:"), 1);

	/* Everyone else goes on. */
	assert_true((o = connect_from(&d, "127.0.0.4", &ido)) >= 0);
	tc_ping_pong(l, idl, v, idv, 3);
	tc_ping_pong(o, ido, v, idv, 3);

	j = daemon_admin_json(&d, "/stats");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
	    "clients"), "disconnected_scan_total")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
	    "clients"), "rejected_banned_total")), 3);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
	    "clients"), "rejected_total")), 3);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
	    "clients"), "banned_addresses")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
	    "clients"), "connected")), 3);
	json_decref(j);
	assert_int_equal(closed_count(&d, "scan", "127.0.0.2", ids), 1);
	assert_int_equal(closed_count(&d, "banned", "127.0.0.2", 0), 3);
	assert_int_equal(closed_count(&d, "scan", "127.0.0.3", idl), 0);

	assert_int_equal(http_request(d.admin_port, "GET", "/metrics", NULL,
	    &r, HARNESS_TIMEOUT_MS), 0);
	assert_non_null(strstr(r.body,
	    "\nmsgrouter_clients_disconnected_scan_total 1\n"));
	assert_non_null(strstr(r.body,
	    "\nmsgrouter_clients_rejected_banned_total 3\n"));
	http_response_free(&r);

	close(v);
	close(l);
	close(o);
	harness_stop(&d);
	harness_expect_counters(&d, (const struct counter_want[]){
	    { "disconnected_scan", 1 }, { "rejected", 3 },
	    { "rejected_banned", 3 }, { "rejected_per_address", 0 },
	    { "dropped_unknown", 565 }, { NULL, 0 } });
}

/*
 * A short ban ends: the address connects again, and its count starts
 * again from nothing (scan_limit ids pass, the next one bans again).
 */
static void
test_ban_expiry(void **state)
{
	static const char *args[] = { "--scan-limit", "3", "--scan-ban",
	    "2s", NULL };
	struct daemon	d;
	uint32_t	id, live[1];
	long long	deadline;
	int		s, refused = 0;

	harness_start(&d, args);
	assert_true((s = connect_from(&d, "127.0.0.5", &id)) >= 0);
	live[0] = id;
	probe(s, 0, 4, live, 1);
	assert_int_equal(tc_expect_close(s, HARNESS_TIMEOUT_MS), 0);
	close(s);
	harness_wait_log(&d, "address 127.0.0.5: 4 unknown ids in ", 1);
	harness_wait_log(&d, "banned for 2 s", 1);

	/* Refused until the ban ends, then admitted with an id. */
	deadline = tc_now_ms() + HARNESS_TIMEOUT_MS;
	for (;;) {
		assert_true(tc_now_ms() < deadline);
		assert_true((s = connect_from(&d, "127.0.0.5", NULL)) >= 0);
		if (tc_read_exact(s, &id, sizeof id, HARNESS_TIMEOUT_MS) == 0)
			break;
		refused++;
		close(s);
	}
	/* Under valgrind the first try may come after the ban. */
	if (!harness_wrapped())
		assert_true(refused >= 1);
	live[0] = ntohl(id);
	probe(s, 100, 3, live, 1);
	assert_int_equal(tc_send(s, live[0], "still here"), 0);
	tc_expect_msg(s, "still here");
	probe(s, 200, 1, live, 1);
	assert_int_equal(tc_expect_close(s, HARNESS_TIMEOUT_MS), 0);
	close(s);
	harness_wait_log(&d, "address 127.0.0.5: 4 unknown ids in ", 2);
	harness_stop(&d);
	harness_expect_counters(&d, (const struct counter_want[]){
	    { "disconnected_scan", 2 }, { "rejected_banned", refused },
	    { "rejected", refused }, { NULL, 0 } });
}

/*
 * max_clients_per_address 2: the third connection from one address is
 * closed at once without an id; another address is not affected; once one
 * of the two leaves, the address connects again.
 */
static void
test_per_address(void **state)
{
	static const char *args[] = { "--admin", "127.0.0.1:0",
	    "--max-clients-per-address", "2", NULL };
	struct daemon	d;
	uint32_t	ida, idb, idc, idd;
	int		a, b, c, dd, x;

	harness_start(&d, args);
	assert_true((a = connect_from(&d, "127.0.0.6", &ida)) >= 0);
	assert_true((b = connect_from(&d, "127.0.0.6", &idb)) >= 0);
	assert_true((x = connect_from(&d, "127.0.0.6", NULL)) >= 0);
	assert_int_equal(expect_closed_without_id(x), 0);
	close(x);
	harness_wait_log(&d, "rejected: max_clients_per_address 2 reached",
	    1);
	assert_true((c = connect_from(&d, "127.0.0.7", &idc)) >= 0);
	tc_ping_pong(a, ida, c, idc, 2);
	tc_ping_pong(b, idb, c, idc, 2);

	close(a);
	harness_wait_client(&d, ida, " closed: eof");
	assert_true((dd = connect_from(&d, "127.0.0.6", &idd)) >= 0);
	tc_ping_pong(dd, idd, b, idb, 2);

	assert_int_equal(daemon_stat(&d, "clients", "rejected_per_address_total"),
	    1);
	assert_int_equal(daemon_stat(&d, "clients", "rejected_total"), 1);
	assert_int_equal(closed_count(&d, "per_address", "127.0.0.6", 0), 1);
	close(b);
	close(c);
	close(dd);
	harness_stop(&d);
	harness_expect_counters(&d, (const struct counter_want[]){
	    { "rejected", 1 }, { "rejected_per_address", 1 },
	    { "rejected_banned", 0 }, { "accepted", 4 }, { NULL, 0 } });
}

/*
 * scan_limit is live: 0 at start lets 200 unknown ids through; after a
 * reload to 5 the sixth closes the sender and bans its address; a reload
 * back to 0 lets the address in again.
 */
static void
test_reload(void **state)
{
	char		 path[256];
	const char	*args[] = { "-c", path, NULL };
	struct daemon	 d;
	uint32_t	 id, live[1];
	int		 s;

	harness_tmp_path(path, sizeof path, "scan.conf");
	harness_write_file(path, "[router]\nlisten = 127.0.0.1:0\n"
	    "scan_limit = 0\n");
	harness_start(&d, args);
	assert_true((s = connect_from(&d, "127.0.0.8", &id)) >= 0);
	live[0] = id;
	probe(s, 0, 200, live, 1);
	assert_int_equal(tc_send(s, id, "alive"), 0);
	tc_expect_msg(s, "alive");

	harness_write_file(path, "[router]\nlisten = 127.0.0.1:0\n"
	    "scan_limit = 5\n");
	assert_int_equal(kill(d.pid, SIGHUP), 0);
	harness_wait_log(&d, "reload: ", 1);
	probe(s, 1000, 5, live, 1);
	assert_int_equal(tc_send(s, id, "alive"), 0);
	tc_expect_msg(s, "alive");
	probe(s, 2000, 1, live, 1);
	assert_int_equal(tc_expect_close(s, HARNESS_TIMEOUT_MS), 0);
	close(s);
	harness_wait_log(&d, "address 127.0.0.8: 6 unknown ids in ", 1);
	assert_true((s = connect_from(&d, "127.0.0.8", NULL)) >= 0);
	assert_int_equal(expect_closed_without_id(s), 0);
	close(s);

	/* Off again: the ban goes with it. */
	harness_write_file(path, "[router]\nlisten = 127.0.0.1:0\n"
	    "scan_limit = 0\n");
	assert_int_equal(kill(d.pid, SIGHUP), 0);
	harness_wait_log(&d, "scan_limit 0: 1 banned addresses let in again",
	    1);
	assert_true((s = connect_from(&d, "127.0.0.8", &id)) >= 0);
	assert_int_equal(tc_send(s, id, "back"), 0);
	tc_expect_msg(s, "back");
	close(s);
	harness_stop(&d);
	unlink(path);
	harness_expect_counters(&d, (const struct counter_want[]){
	    { "disconnected_scan", 1 }, { "dropped_unknown", 206 },
	    { "rejected_banned", 1 }, { NULL, 0 } });
}

/*
 * Unix-domain clients are exempt: with max_clients_per_address 1 and
 * scan_limit 3, two of them connect, and one sends to 100 unknown ids and
 * stays; a TCP client from 127.0.0.9 is limited as usual.
 */
static void
test_unix_exempt(void **state)
{
	char		 sock[200], listen[256];
	const char	*args[] = { "-l", listen, "--max-clients-per-address",
			    "1", "--scan-limit", "3", NULL };
	struct daemon	 d;
	uint32_t	 ida, idb, idt, live[3];
	int		 a, b, t, x;

	harness_sock_path(sock, sizeof sock, "scan.sock");
	unlink(sock);
	snprintf(listen, sizeof listen, "127.0.0.1:0, unix:%s", sock);
	harness_start(&d, args);
	/* Ready at its first listener: wait for the second. */
	harness_wait_log(&d, "listening on unix:", 1);
	assert_true((a = tc_connect_unix(sock, &ida)) >= 0);
	assert_true((b = tc_connect_unix(sock, &idb)) >= 0);
	assert_true((t = connect_from(&d, "127.0.0.9", &idt)) >= 0);
	assert_true((x = connect_from(&d, "127.0.0.9", NULL)) >= 0);
	assert_int_equal(expect_closed_without_id(x), 0);
	close(x);
	live[0] = ida;
	live[1] = idb;
	live[2] = idt;
	probe(a, 0, 100, live, 3);
	tc_ping_pong(a, ida, b, idb, 2);
	tc_ping_pong(a, ida, t, idt, 2);
	close(a);
	close(b);
	close(t);
	harness_stop(&d);
	harness_expect_counters(&d, (const struct counter_want[]){
	    { "disconnected_scan", 0 }, { "rejected_per_address", 1 },
	    { "rejected", 1 }, { "dropped_unknown", 100 }, { NULL, 0 } });
}

/*
 * A listener on [::] takes IPv4 clients as ::ffff:a.b.c.d, whose first 64
 * bits are all 0: taken for IPv6 they would all be one /64.  With
 * max_clients_per_address 1, 127.0.0.10 and 127.0.0.11 both get in and a
 * second client from 127.0.0.10 does not.
 */
static void
test_v4_mapped(void **state)
{
	static const char *args[] = { "-l", "[::]:0",
	    "--max-clients-per-address", "1", NULL };
	struct daemon	d;
	uint32_t	ida, idb;
	int		a, b, x;

	harness_need_ipv6();
	harness_start(&d, args);
	assert_true((a = connect_from(&d, "127.0.0.10", &ida)) >= 0);
	assert_true((b = connect_from(&d, "127.0.0.11", &idb)) >= 0);
	assert_true((x = connect_from(&d, "127.0.0.10", NULL)) >= 0);
	assert_int_equal(expect_closed_without_id(x), 0);
	close(x);
	harness_wait_log(&d, "client [::ffff:127.0.0.10]:", 1);
	tc_ping_pong(a, ida, b, idb, 2);
	close(a);
	close(b);
	harness_stop(&d);
	harness_expect_counters(&d, (const struct counter_want[]){
	    { "accepted", 2 }, { "rejected_per_address", 1 }, { NULL, 0 } });
}

/*
 * Write frames of 1000 bytes from w to idr, which never reads, until the
 * log says idr was closed as a slow consumer.
 */
static void
make_slow_consumer(struct daemon *d, int w, uint32_t idr)
{
	long long	 deadline = tc_now_ms() + HARNESS_TIMEOUT_MS;
	char		 payload[1000], frame[4 + sizeof payload + 1], line[64];
	size_t		 len, off = 0;
	ssize_t		 n;

	memset(payload, 'p', sizeof payload - 1);
	payload[sizeof payload - 1] = '\0';
	len = tc_frame(frame, idr, payload);
	snprintf(line, sizeof line, "client %u closed: slow_consumer", idr);
	while (daemon_log_count(d, line) == 0) {
		if (tc_now_ms() > deadline) {
			daemon_dump_log(d);
			fail_msg("%u: never closed as a slow consumer", idr);
		}
		n = send(w, frame + off, len - off, MSG_DONTWAIT |
		    MSG_NOSIGNAL);
		if (n > 0)
			off = (off + (size_t)n) % len;
		else {
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
			poll(NULL, 0, 10);
		}
	}
	/* Finish the frame cut short, for the counters to add up. */
	while (off != 0) {
		assert_true(tc_now_ms() < deadline);
		n = send(w, frame + off, len - off, MSG_NOSIGNAL);
		assert_true(n > 0);
		off = (off + (size_t)n) % len;
	}
}

/*
 * A banned scanner reconnecting 500 times leaves the evidence in place: a
 * slow consumer's close and the scanner's own "scan" close stay among the
 * ten newest closed (the dashboard's page), behind one "banned" record
 * that counts the 500 refusals, first and last.
 */
static void
test_closed_flood(void **state)
{
	static const char *args[] = { "--admin", "127.0.0.1:0",
	    "--scan-limit", "3", "--slow-consumer", "disconnect",
	    "--queue-limit", "1K", NULL };
	struct daemon	 d;
	uint32_t	 idr, idw, ids, live[2];
	long long	 deadline;
	int		 r, w, s, i;
	json_t		*j, *list, *c;

	harness_start(&d, args);
	assert_true((r = tc_connect_small(&d, &idr)) >= 0);
	assert_true((w = connect_from(&d, "127.0.0.12", &idw)) >= 0);
	make_slow_consumer(&d, w, idr);
	close(r);

	assert_true((s = connect_from(&d, "127.0.0.13", &ids)) >= 0);
	live[0] = idw;
	live[1] = ids;
	probe(s, 0, 4, live, 2);
	assert_int_equal(tc_expect_close(s, HARNESS_TIMEOUT_MS), 0);
	close(s);
	harness_wait_client(&d, ids, " closed: scan");

	for (i = 0; i < 500; i++) {
		assert_true((s = connect_from(&d, "127.0.0.13", NULL)) >= 0);
		close(s);
	}
	deadline = tc_now_ms() + HARNESS_TIMEOUT_MS;
	while (daemon_stat(&d, "clients", "rejected_banned_total") < 500) {
		assert_true(tc_now_ms() < deadline);
		poll(NULL, 0, 20);
	}
	assert_int_equal(daemon_stat(&d, "clients", "rejected_banned_total"), 500);

	j = daemon_admin_json(&d, "/clients?state=closed&limit=10");
	list = json_object_get(j, "clients");
	assert_int_equal(json_array_size(list), 3);
	c = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(c, "reason")),
	    "banned");
	assert_true(json_is_null(json_object_get(c, "id")));
	assert_int_equal(json_integer_value(json_object_get(c, "count")), 500);
	assert_string_equal(json_string_value(json_object_get(c, "source")),
	    "127.0.0.13");
	assert_true(json_integer_value(json_object_get(c,
	    "first_seconds_ago")) >= json_integer_value(json_object_get(c,
	    "closed_seconds_ago")));
	c = json_array_get(list, 1);
	assert_string_equal(json_string_value(json_object_get(c, "reason")),
	    "scan");
	assert_int_equal(json_integer_value(json_object_get(c, "id")), ids);
	assert_int_equal(json_integer_value(json_object_get(c, "count")), 1);
	c = json_array_get(list, 2);
	assert_string_equal(json_string_value(json_object_get(c, "reason")),
	    "slow_consumer");
	assert_int_equal(json_integer_value(json_object_get(c, "id")), idr);
	assert_true(json_integer_value(json_object_get(c,
	    "dropped_messages")) >= 1);
	assert_true(json_is_null(json_object_get(j, "next_cursor")));
	json_decref(j);
	assert_int_equal(closed_count(&d, "banned", "127.0.0.13", 0), 500);

	close(w);
	harness_stop(&d);
	harness_expect_counters(&d, (const struct counter_want[]){
	    { "disconnected_scan", 1 }, { "disconnected_slow", 1 },
	    { "rejected_banned", 500 }, { "rejected", 500 }, { NULL, 0 } });
}

/*
 * Connect a client from src and one more, its peer, that leaves; the
 * client's fd, its id in *id and the departed peer's in *gone.
 */
static int
connect_with_departed(struct daemon *d, const char *src, uint32_t *id,
    uint32_t *gone)
{
	int	fd, p;

	assert_true((fd = connect_from(d, src, id)) >= 0);
	assert_true((p = connect_from(d, src, gone)) >= 0);
	close(p);
	harness_wait_client(d, *gone, " closed: eof");
	return fd;
}

/*
 * Peers that left, as a restart of many peers behind one NAT leaves them:
 * two clients of 127.0.0.6 each write 200 frames to its own departed peer,
 * strictly interleaved (the sink v confirms each frame was routed before
 * the other client writes).  Every frame is a new "unknown id" for the
 * address's previous-id rule, 400 within the window, far past scan_limit
 * 64: none is counted, neither client is closed, the address is not
 * banned and still connects.
 */
static void
test_departed_two_clients(void **state)
{
	static const char *args[] = { "--admin", "127.0.0.1:0", NULL };
	struct daemon	d;
	uint32_t	idv, ida, idb, gonea, goneb, ido;
	int		v, a, b, o, i;

	harness_start(&d, args);
	assert_true((v = tc_connect(&d, &idv)) >= 0);
	a = connect_with_departed(&d, "127.0.0.6", &ida, &gonea);
	b = connect_with_departed(&d, "127.0.0.6", &idb, &goneb);
	for (i = 0; i < 200; i++) {
		assert_int_equal(tc_send(a, gonea, "are you there"), 0);
		assert_int_equal(tc_send(a, idv, "a"), 0);
		tc_expect_msg(v, "a");
		assert_int_equal(tc_send(b, goneb, "are you there"), 0);
		assert_int_equal(tc_send(b, idv, "b"), 0);
		tc_expect_msg(v, "b");
	}
	tc_ping_pong(a, ida, v, idv, 1);
	tc_ping_pong(b, idb, v, idv, 1);
	assert_int_equal(daemon_stat(&d, "messages",
	    "dropped_unknown_destination_total"), 400);
	assert_int_equal(daemon_stat(&d, "clients", "disconnected_scan_total"), 0);
	assert_int_equal(daemon_stat(&d, "clients", "banned_addresses"), 0);
	assert_int_equal(daemon_log_count(&d, "banned for"), 0);
	assert_true((o = connect_from(&d, "127.0.0.6", &ido)) >= 0);
	tc_ping_pong(o, ido, v, idv, 1);

	close(o);
	close(v);
	close(a);
	close(b);
	harness_stop(&d);
	harness_expect_counters(&d, (const struct counter_want[]){
	    { "disconnected_scan", 0 }, { "rejected", 0 },
	    { "dropped_unknown", 400 }, { NULL, 0 } });
}

/*
 * One client of 127.0.0.7 writes 200 frames to two departed peers in turn:
 * each differs from the address's previous unknown id, yet none is
 * counted; the client goes on and the address is not banned.
 */
static void
test_departed_alternating(void **state)
{
	static const char *args[] = { "--admin", "127.0.0.1:0", NULL };
	struct daemon	d;
	uint32_t	idv, idc, gone1, gone2, ido;
	int		v, c, o, i;

	harness_start(&d, args);
	assert_true((v = tc_connect(&d, &idv)) >= 0);
	c = connect_with_departed(&d, "127.0.0.7", &idc, &gone1);
	assert_true((o = connect_from(&d, "127.0.0.7", &gone2)) >= 0);
	close(o);
	harness_wait_client(&d, gone2, " closed: eof");
	for (i = 0; i < 200; i++)
		assert_int_equal(tc_send(c, i % 2 ? gone2 : gone1,
		    "anyone?"), 0);
	tc_ping_pong(c, idc, v, idv, 1);
	assert_int_equal(daemon_stat(&d, "messages",
	    "dropped_unknown_destination_total"), 200);
	assert_int_equal(daemon_stat(&d, "clients", "disconnected_scan_total"), 0);
	assert_int_equal(daemon_stat(&d, "clients", "banned_addresses"), 0);
	assert_int_equal(daemon_log_count(&d, "banned for"), 0);
	assert_true((o = connect_from(&d, "127.0.0.7", &ido)) >= 0);
	tc_ping_pong(o, ido, v, idv, 1);

	close(o);
	close(v);
	close(c);
	harness_stop(&d);
	harness_expect_counters(&d, (const struct counter_want[]){
	    { "disconnected_scan", 0 }, { "rejected", 0 },
	    { "dropped_unknown", 200 }, { NULL, 0 } });
}

/*
 * A scanner at 127.0.0.8 is banned at its 65th fresh id although departed
 * ids are remembered; a client of the same address that keeps writing to
 * its departed peer is not closed by the ban, but is at its first fresh
 * unknown id.
 */
static void
test_departed_banned_address(void **state)
{
	static const char *args[] = { "--admin", "127.0.0.1:0", NULL };
	struct daemon	d;
	uint32_t	idv, ida, gone, ids, live[3];
	int		v, a, s, i;

	harness_start(&d, args);
	assert_true((v = tc_connect(&d, &idv)) >= 0);
	a = connect_with_departed(&d, "127.0.0.8", &ida, &gone);
	assert_true((s = connect_from(&d, "127.0.0.8", &ids)) >= 0);
	live[0] = idv;
	live[1] = ida;
	live[2] = ids;
	probe(s, 0, 65, live, 3);
	assert_int_equal(tc_expect_close(s, HARNESS_TIMEOUT_MS), 0);
	close(s);
	harness_wait_log(&d, "address 127.0.0.8: 65 unknown ids in ", 1);

	for (i = 0; i < 100; i++)
		assert_int_equal(tc_send(a, gone, "are you there"), 0);
	tc_ping_pong(a, ida, v, idv, 1);
	assert_int_equal(daemon_stat(&d, "clients", "disconnected_scan_total"), 1);
	probe(a, 1000, 1, live, 3);
	assert_int_equal(tc_expect_close(a, HARNESS_TIMEOUT_MS), 0);
	close(a);
	harness_wait_client(&d, ida, " closed: scan");

	close(v);
	harness_stop(&d);
	harness_expect_counters(&d, (const struct counter_want[]){
	    { "disconnected_scan", 2 }, { "dropped_unknown", 166 },
	    { NULL, 0 } });
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_scanner_banned),
		harness_unit_test(test_ban_expiry),
		harness_unit_test(test_per_address),
		harness_unit_test(test_reload),
		harness_unit_test(test_unix_exempt),
		harness_unit_test(test_v4_mapped),
		harness_unit_test(test_closed_flood),
		harness_unit_test(test_departed_two_clients),
		harness_unit_test(test_departed_alternating),
		harness_unit_test(test_departed_banned_address),
	};

	harness_init();
	return harness_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
