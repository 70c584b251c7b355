/*
 * Unit tests for the rings of closed clients and rejected connections:
 * numbering, wrap-around, what is kept and what is forgotten, coalesced
 * rejections, floods of them, and the merged pages.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "msgrouter/closed.h"

/* A record whose fields all derive from id, so any mix-up shows. */
static void
fill(struct conn_info *ci, uint32_t id)
{
	memset(ci, 0, sizeof *ci);
	ci->ci_id = id;
	ci->ci_msgs_in = id * 10;
	ci->ci_bytes_in = id * 100;
	ci->ci_dropped = id + 1;
}

/* Close clients 1..n, each with fill()'s record, for reason, at time id. */
static void
add_closes(struct closed *cl, uint32_t n, int reason)
{
	struct conn_info	ci;
	uint32_t		id;

	for (id = 1; id <= n; id++) {
		fill(&ci, id);
		closed_add(cl, &ci, reason, id);
	}
}

static void
test_empty(void **state)
{
	struct closed			*cl = closed_new(4, 4);
	const struct closed_entry	*ce[2];
	uint64_t			 next = 99;

	assert_non_null(cl);
	assert_int_equal(closed_newest(cl), 0);
	assert_null(closed_get(cl, 0));
	assert_null(closed_get(cl, 1));
	assert_int_equal(closed_page(cl, 0, ce, 2, &next), 0);
	assert_int_equal(next, 0);
	closed_free(cl);
	assert_null(closed_new(0, 1));
	assert_null(closed_new(1, 0));
	closed_free(NULL);
}

/* Below capacity every record is kept with its sequence number. */
static void
test_fill(void **state)
{
	struct closed			*cl = closed_new(4, 4);
	const struct closed_entry	*ce;
	struct conn_info		 ci;
	uint32_t			 id;

	for (id = 1; id <= 3; id++) {
		fill(&ci, id);
		closed_add(cl, &ci, CONN_REASON_EOF + (int)id, 1000 + id);
	}
	assert_int_equal(closed_newest(cl), 3);
	for (id = 1; id <= 3; id++) {
		ce = closed_get(cl, id);
		assert_non_null(ce);
		assert_int_equal(ce->ce_seq, id);
		assert_int_equal(ce->ce_info.ci_id, id);
		assert_int_equal(ce->ce_info.ci_bytes_in, id * 100);
		assert_int_equal(ce->ce_info.ci_dropped, id + 1);
		assert_int_equal(ce->ce_reason, CONN_REASON_EOF + (int)id);
		assert_int_equal(ce->ce_closed, 1000 + id);
		assert_int_equal(ce->ce_first, 1000 + id);
		assert_int_equal(ce->ce_count, 1);
		assert_false(ce->ce_rejected);
	}
	assert_null(closed_get(cl, 4));
	closed_free(cl);
}

/* Past capacity the oldest go first; the newest capacity records stay. */
static void
test_wrap(void **state)
{
	struct closed			*cl = closed_new(4, 4);
	const struct closed_entry	*ce;
	uint64_t			 seq;

	add_closes(cl, 11, CONN_REASON_SLOW_CONSUMER);
	assert_int_equal(closed_newest(cl), 11);
	for (seq = 1; seq <= 7; seq++)
		assert_null(closed_get(cl, seq));
	for (seq = 8; seq <= 11; seq++) {
		ce = closed_get(cl, seq);
		assert_non_null(ce);
		assert_int_equal(ce->ce_seq, seq);
		assert_int_equal(ce->ce_info.ci_id, (uint32_t)seq);
		assert_int_equal(ce->ce_info.ci_msgs_in, seq * 10);
	}
	assert_null(closed_get(cl, 12));
	closed_free(cl);
}

/* The daemon's ring holds exactly the last CLOSED_RING_SIZE closes. */
static void
test_daemon_size(void **state)
{
	struct closed	*cl = closed_new(CLOSED_RING_SIZE, CLOSED_REJECTED_SIZE);

	add_closes(cl, CLOSED_RING_SIZE + 1, CONN_REASON_EOF);
	assert_int_equal(closed_newest(cl), CLOSED_RING_SIZE + 1);
	assert_null(closed_get(cl, 1));
	assert_int_equal(closed_get(cl, 2)->ce_info.ci_id, 2);
	assert_int_equal(closed_get(cl, CLOSED_RING_SIZE + 1)->ce_info.ci_id,
	    CLOSED_RING_SIZE + 1);
	closed_free(cl);
}

/* An IPv4 peer a.b.c.d:port. */
static void
peer4(union addr_any *u, const char *addr, uint16_t port)
{
	memset(u, 0, sizeof *u);
	u->sin.sin_family = AF_INET;
	u->sin.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, addr, &u->sin.sin_addr), 1);
}

/* An IPv6 peer [addr]:port. */
static void
peer6(union addr_any *u, const char *addr, uint16_t port)
{
	memset(u, 0, sizeof *u);
	u->sin6.sin6_family = AF_INET6;
	u->sin6.sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, addr, &u->sin6.sin6_addr), 1);
}

/* The IPv4 peer numbered i: 10.x.y.z, a different address for each i. */
static void
peer_n(union addr_any *u, uint32_t i)
{
	memset(u, 0, sizeof *u);
	u->sin.sin_family = AF_INET;
	u->sin.sin_port = htons((uint16_t)(1024 + i % 50000));
	u->sin.sin_addr.s_addr = htonl(0x0a000000 | i);
}

/* All records, newest first, by pages of size page; returns how many. */
static size_t
walk(const struct closed *cl, size_t page, const struct closed_entry **all,
    size_t max)
{
	uint64_t	cursor = 0, next;
	size_t		n = 0, got;

	do {
		got = closed_page(cl, cursor, all + n, max - n < page ?
		    max - n : page, &next);
		n += got;
		/* Every page but the last is full; the order never goes up. */
		if (next != 0) {
			assert_int_equal(got, page);
			assert_true(next < all[n - 1]->ce_seq);
		}
		cursor = next;
	} while (cursor != 0 && n < max);
	return n;
}

/*
 * Repeats from one source with one reason are one record: its count, its
 * first and last time, the last peer, and the newest number.  Another
 * reason, another IPv4 address or another IPv6 /64 is another record;
 * another port, another host in the /64, or the IPv4-mapped form is not.
 */
static void
test_coalesce(void **state)
{
	struct closed			*cl = closed_new(4, 8);
	const struct closed_entry	*ce;
	union addr_any			 u;
	char				 a[INET6_ADDRSTRLEN];

	peer4(&u, "192.0.2.7", 1000);
	closed_reject(cl, &u, CONN_REASON_BANNED, 100);
	peer4(&u, "192.0.2.7", 1001);
	closed_reject(cl, &u, CONN_REASON_BANNED, 200);
	peer6(&u, "::ffff:192.0.2.7", 1002);
	closed_reject(cl, &u, CONN_REASON_BANNED, 300);
	assert_int_equal(closed_newest(cl), 3);
	assert_null(closed_get(cl, 1));
	assert_null(closed_get(cl, 2));
	ce = closed_get(cl, 3);
	assert_non_null(ce);
	assert_true(ce->ce_rejected);
	assert_int_equal(ce->ce_count, 3);
	assert_int_equal(ce->ce_first, 100);
	assert_int_equal(ce->ce_closed, 300);
	assert_int_equal(ce->ce_reason, CONN_REASON_BANNED);
	assert_int_equal(ce->ce_info.ci_id, 0);
	assert_int_equal(ce->ce_info.ci_msgs_in, 0);
	/* The last peer, as it came. */
	assert_int_equal(ce->ce_info.ci_peer.sa.sa_family, AF_INET6);
	assert_int_equal(ntohs(ce->ce_info.ci_peer.sin6.sin6_port), 1002);

	/* Another reason, another address: records of their own. */
	peer4(&u, "192.0.2.7", 1003);
	closed_reject(cl, &u, CONN_REASON_PER_ADDRESS, 400);
	peer4(&u, "192.0.2.8", 1004);
	closed_reject(cl, &u, CONN_REASON_BANNED, 500);
	assert_int_equal(closed_get(cl, 4)->ce_count, 1);
	assert_int_equal(closed_get(cl, 5)->ce_count, 1);
	assert_int_equal(closed_get(cl, 3)->ce_count, 3);

	/* IPv6: one /64, whatever the host part; the next /64 is another. */
	peer6(&u, "2001:db8:1:2::1", 1);
	closed_reject(cl, &u, CONN_REASON_MAX_CLIENTS, 600);
	peer6(&u, "2001:db8:1:2:ffff:ffff:ffff:ffff", 2);
	closed_reject(cl, &u, CONN_REASON_MAX_CLIENTS, 700);
	peer6(&u, "2001:db8:1:3::1", 3);
	closed_reject(cl, &u, CONN_REASON_MAX_CLIENTS, 800);
	assert_null(closed_get(cl, 6));
	ce = closed_get(cl, 7);
	assert_int_equal(ce->ce_count, 2);
	assert_int_equal(ce->ce_first, 600);
	inet_ntop(AF_INET6, &ce->ce_info.ci_peer.sin6.sin6_addr, a, sizeof a);
	assert_string_equal(a, "2001:db8:1:2:ffff:ffff:ffff:ffff");
	assert_int_equal(closed_get(cl, 8)->ce_count, 1);

	/* Unix-domain peers have no address: all of them are one source. */
	memset(&u, 0, sizeof u);
	u.sa.sa_family = AF_UNIX;
	closed_reject(cl, &u, CONN_REASON_MAX_CLIENTS, 900);
	closed_reject(cl, &u, CONN_REASON_MAX_CLIENTS, 901);
	assert_int_equal(closed_get(cl, 10)->ce_count, 2);
	assert_int_equal(closed_get(cl, 10)->ce_first, 900);

	/* The first source again: bumped, with its first time kept. */
	peer4(&u, "192.0.2.7", 1005);
	closed_reject(cl, &u, CONN_REASON_BANNED, 1000);
	assert_null(closed_get(cl, 3));
	ce = closed_get(cl, 11);
	assert_int_equal(ce->ce_count, 4);
	assert_int_equal(ce->ce_first, 100);
	assert_int_equal(ce->ce_closed, 1000);
	closed_free(cl);
}

/* Full, a new source replaces the one rejected least recently. */
static void
test_reject_evict(void **state)
{
	struct closed			*cl = closed_new(4, 3);
	const struct closed_entry	*all[8];
	union addr_any			 u;
	uint32_t			 i;

	for (i = 1; i <= 3; i++) {
		peer_n(&u, i);
		closed_reject(cl, &u, CONN_REASON_BANNED, i);	/* seq 1..3 */
	}
	peer_n(&u, 1);
	closed_reject(cl, &u, CONN_REASON_BANNED, 4);	/* 1 bumped: seq 4 */
	peer_n(&u, 4);
	closed_reject(cl, &u, CONN_REASON_BANNED, 5);	/* 2 goes: seq 5 */
	assert_int_equal(walk(cl, 2, all, 8), 3);
	assert_int_equal(all[0]->ce_info.ci_peer.sin.sin_addr.s_addr,
	    htonl(0x0a000004));
	assert_int_equal(all[1]->ce_info.ci_peer.sin.sin_addr.s_addr,
	    htonl(0x0a000001));
	assert_int_equal(all[1]->ce_count, 2);
	assert_int_equal(all[2]->ce_info.ci_peer.sin.sin_addr.s_addr,
	    htonl(0x0a000003));
	/* Source 2 comes back as a new record, its count from 1. */
	peer_n(&u, 2);
	closed_reject(cl, &u, CONN_REASON_BANNED, 6);
	assert_int_equal(closed_get(cl, 6)->ce_count, 1);
	assert_int_equal(closed_get(cl, 6)->ce_first, 6);
	assert_null(closed_get(cl, 3));
	closed_free(cl);
}

/*
 * Clients and rejections in one list, newest first, by the number of their
 * last close; pages follow next, and a cursor left stale by a bump still
 * lists what lies below it.
 */
static void
test_page_order(void **state)
{
	struct closed			*cl = closed_new(8, 8);
	const struct closed_entry	*p[8];
	struct conn_info		 ci;
	union addr_any			 a, b;
	uint64_t			 next;

	peer4(&a, "192.0.2.1", 1);
	peer4(&b, "192.0.2.2", 1);
	fill(&ci, 101);
	closed_add(cl, &ci, CONN_REASON_EOF, 1);		/* 1 */
	closed_reject(cl, &a, CONN_REASON_MAX_CLIENTS, 2);	/* 2 */
	fill(&ci, 102);
	closed_add(cl, &ci, CONN_REASON_SCAN, 3);		/* 3 */
	closed_reject(cl, &a, CONN_REASON_MAX_CLIENTS, 4);	/* 2 -> 4 */
	closed_reject(cl, &b, CONN_REASON_BANNED, 5);		/* 5 */
	fill(&ci, 103);
	closed_add(cl, &ci, CONN_REASON_SLOW_CONSUMER, 6);	/* 6 */

	assert_int_equal(closed_page(cl, 0, p, 8, &next), 5);
	assert_int_equal(next, 0);
	assert_int_equal(p[0]->ce_info.ci_id, 103);
	assert_int_equal(p[1]->ce_reason, CONN_REASON_BANNED);
	assert_int_equal(p[2]->ce_reason, CONN_REASON_MAX_CLIENTS);
	assert_int_equal(p[2]->ce_count, 2);
	assert_int_equal(p[2]->ce_seq, 4);
	assert_int_equal(p[3]->ce_info.ci_id, 102);
	assert_int_equal(p[4]->ce_info.ci_id, 101);

	/* Pages of 2: cursors 4, then 1. */
	assert_int_equal(closed_page(cl, 0, p, 2, &next), 2);
	assert_int_equal(next, 4);
	assert_int_equal(closed_page(cl, next, p, 2, &next), 2);
	assert_int_equal(p[0]->ce_seq, 4);
	assert_int_equal(p[1]->ce_info.ci_id, 102);
	assert_int_equal(next, 1);
	assert_int_equal(closed_page(cl, next, p, 2, &next), 1);
	assert_int_equal(p[0]->ce_info.ci_id, 101);
	assert_int_equal(next, 0);

	/* A cursor to a number no longer kept (2, bumped) lists from below. */
	assert_int_equal(closed_page(cl, 2, p, 8, &next), 1);
	assert_int_equal(p[0]->ce_info.ci_id, 101);
	/* A cursor past the newest lists from the newest. */
	assert_int_equal(closed_page(cl, 1000, p, 1, &next), 1);
	assert_int_equal(p[0]->ce_info.ci_id, 103);
	assert_int_equal(next, 5);
	closed_free(cl);
}

/* The daemon's rings after its clients closed: every record, by client. */
static void
check_clients_kept(const struct closed *cl, size_t nrejected)
{
	static const struct closed_entry	*all[CLOSED_RING_SIZE +
						    CLOSED_REJECTED_SIZE];
	size_t					 n, i, clients = 0;
	uint32_t				 want = CLOSED_RING_SIZE;

	n = walk(cl, 97, all, CLOSED_RING_SIZE + CLOSED_REJECTED_SIZE);
	assert_int_equal(n, CLOSED_RING_SIZE + nrejected);
	for (i = 0; i < n; i++) {
		if (i > 0)
			assert_true(all[i]->ce_seq < all[i - 1]->ce_seq);
		if (all[i]->ce_rejected)
			continue;
		/* Clients 1000 down to 1, each with its own figures. */
		assert_int_equal(all[i]->ce_info.ci_id, want);
		assert_int_equal(all[i]->ce_info.ci_msgs_in, want * 10);
		assert_int_equal(all[i]->ce_reason, want % 2 ?
		    CONN_REASON_SLOW_CONSUMER : CONN_REASON_SCAN);
		want--;
		clients++;
	}
	assert_int_equal(clients, CLOSED_RING_SIZE);
	assert_int_equal(want, 0);
}

/* CLOSED_RING_SIZE clients, some slow consumers, some scanners. */
static void
add_daemon_clients(struct closed *cl)
{
	struct conn_info	ci;
	uint32_t		id;

	for (id = 1; id <= CLOSED_RING_SIZE; id++) {
		fill(&ci, id);
		closed_add(cl, &ci, id % 2 ? CONN_REASON_SLOW_CONSUMER :
		    CONN_REASON_SCAN, id);
	}
}

/*
 * 100,000 rejections from one banned address, beside 1,000 per_address
 * ones from it: two records with their exact counts, and every client
 * record is still there.
 */
static void
test_flood_one(void **state)
{
	struct closed			*cl;
	const struct closed_entry	*p[3];
	union addr_any			 u;
	uint64_t			 next;
	uint32_t			 i;

	cl = closed_new(CLOSED_RING_SIZE, CLOSED_REJECTED_SIZE);
	add_daemon_clients(cl);
	for (i = 0; i < 100000; i++) {
		peer4(&u, "198.51.100.9", (uint16_t)(1024 + i % 60000));
		closed_reject(cl, &u, CONN_REASON_BANNED, 10000 + i);
		if (i % 100 == 0)
			closed_reject(cl, &u, CONN_REASON_PER_ADDRESS,
			    10000 + i);
	}
	check_clients_kept(cl, 2);
	assert_int_equal(closed_page(cl, 0, p, 3, &next), 3);
	assert_int_equal(p[0]->ce_reason, CONN_REASON_BANNED);
	assert_int_equal(p[0]->ce_count, 100000);
	assert_int_equal(p[0]->ce_first, 10000);
	assert_int_equal(p[0]->ce_closed, 10000 + 99999);
	assert_int_equal(p[1]->ce_reason, CONN_REASON_PER_ADDRESS);
	assert_int_equal(p[1]->ce_count, 1000);
	assert_int_equal(p[1]->ce_first, 10000);
	assert_int_equal(p[1]->ce_closed, 10000 + 99900);
	/* Then the newest client. */
	assert_false(p[2]->ce_rejected);
	assert_int_equal(p[2]->ce_info.ci_id, CLOSED_RING_SIZE);
	closed_free(cl);
}

/*
 * 100,000 rejections from 5,000 addresses: still every client record, and
 * the rejection ring holds CLOSED_REJECTED_SIZE records.  Addresses taken
 * round-robin come back only after their record went (count 1); a few
 * taken again at once are coalesced (count 2).
 */
static void
test_flood_many(void **state)
{
	struct closed			*cl;
	const struct closed_entry	*p[CLOSED_REJECTED_SIZE + 1];
	union addr_any			 u;
	uint64_t			 next, sum = 0;
	uint32_t			 i;
	size_t				 n, twice = 0;

	cl = closed_new(CLOSED_RING_SIZE, CLOSED_REJECTED_SIZE);
	add_daemon_clients(cl);
	for (i = 0; i < 100000; i++) {
		peer_n(&u, i % 5000);
		closed_reject(cl, &u, CONN_REASON_BANNED, 10000 + i);
		if (i >= 100000 - 10) {
			/* The last ten are rejected twice in a row. */
			closed_reject(cl, &u, CONN_REASON_BANNED, 10000 + i);
		}
	}
	check_clients_kept(cl, CLOSED_REJECTED_SIZE);
	n = closed_page(cl, 0, p, CLOSED_REJECTED_SIZE + 1, &next);
	assert_int_equal(n, CLOSED_REJECTED_SIZE + 1);
	for (i = 0; i < CLOSED_REJECTED_SIZE; i++) {
		assert_true(p[i]->ce_rejected);
		/* Newest first: addresses 4999 down to 4900. */
		assert_int_equal(ntohl(p[i]->ce_info.ci_peer.sin.sin_addr.s_addr),
		    0x0a000000 | (4999 - i));
		sum += p[i]->ce_count;
		twice += p[i]->ce_count == 2;
	}
	assert_int_equal(twice, 10);
	assert_int_equal(sum, CLOSED_REJECTED_SIZE + 10);
	assert_false(p[CLOSED_REJECTED_SIZE]->ce_rejected);
	assert_int_equal(p[CLOSED_REJECTED_SIZE]->ce_info.ci_id,
	    CLOSED_RING_SIZE);
	closed_free(cl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_fill),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_daemon_size),
		cmocka_unit_test(test_coalesce),
		cmocka_unit_test(test_reject_evict),
		cmocka_unit_test(test_page_order),
		cmocka_unit_test(test_flood_one),
		cmocka_unit_test(test_flood_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
