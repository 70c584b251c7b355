/*
 * Unit tests for the address table: keys (IPv4, IPv6 /64, IPv4-mapped,
 * Unix), insert and look-up, the per-address limit, the scan counter
 * (a repeated id is not counted, the window, the exact limit, off at 0,
 * the ban and its end), and the bound: a flood of a million addresses
 * leaves memory as it was and never evicts an entry with a live
 * connection or, while idle entries remain, a ban.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "msgrouter/addrtab.h"

#define SEED0	0x0123456789abcdefULL
#define SEED1	0xfedcba9876543210ULL

static const struct addrtab_scan scan_default = { 64, 10000, 60000 };

/* The key of a numeric IPv4 or IPv6 address. */
static struct addrtab_key
key_of(const char *text)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct addrtab_key	 k;

	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		assert_int_equal(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
	}
	assert_int_equal(addrtab_key((struct sockaddr *)&ss, &k), 0);
	return k;
}

/* The key of IPv4 address n (host order). */
static struct addrtab_key
key_v4(uint32_t n)
{
	struct addrtab_key	k;

	memset(&k, 0, sizeof k);
	k.ak_family = AF_INET;
	k.ak_prefix = n;
	return k;
}

/* IPv4, IPv6 /64 grouping, IPv4-mapped as IPv4, Unix not tracked. */
static void
test_keys(void **state)
{
	struct addrtab_key	a, b;
	struct sockaddr_un	sun;
	char			buf[ADDRTAB_STRLEN];

	a = key_of("192.0.2.7");
	assert_int_equal(a.ak_family, AF_INET);
	assert_true(a.ak_prefix == 0xc0000207ULL);
	assert_string_equal(addrtab_format(&a, buf, sizeof buf), "192.0.2.7");

	b = key_of("::ffff:192.0.2.7");
	assert_int_equal(b.ak_family, AF_INET);
	assert_true(b.ak_prefix == a.ak_prefix);

	a = key_of("2001:db8:1:2::1");
	b = key_of("2001:db8:1:2:ffff:eeee:dddd:cccc");
	assert_int_equal(a.ak_family, AF_INET6);
	assert_true(a.ak_prefix == b.ak_prefix);
	assert_string_equal(addrtab_format(&a, buf, sizeof buf),
	    "2001:db8:1:2::/64");
	b = key_of("2001:db8:1:3::1");
	assert_true(a.ak_prefix != b.ak_prefix);

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	assert_int_equal(addrtab_key((struct sockaddr *)&sun, &a), -1);
}

/* Insert, look up, and the /64 and IPv4-mapped groups share one entry. */
static void
test_insert_lookup(void **state)
{
	struct addrtab		*at = addrtab_new(0, SEED0, SEED1);
	struct addrtab_key	 k4 = key_of("10.1.2.3");
	struct addrtab_key	 k6a = key_of("2001:db8::1");
	struct addrtab_key	 k6b = key_of("2001:db8::2");
	struct addrtab_key	 km = key_of("::ffff:10.1.2.3");
	struct addrtab_entry	*e;

	assert_non_null(at);
	assert_int_equal(addrtab_limit(at), ADDRTAB_LIMIT_MIN);
	assert_null(addrtab_find(at, &k4));
	assert_int_equal(addrtab_connect(at, &k4, 0, 1, NULL), ADDRTAB_ADMIT);
	assert_int_equal(addrtab_connect(at, &km, 0, 2, NULL), ADDRTAB_ADMIT);
	assert_int_equal(addrtab_connect(at, &k6a, 0, 3, NULL), ADDRTAB_ADMIT);
	assert_int_equal(addrtab_connect(at, &k6b, 0, 4, NULL), ADDRTAB_ADMIT);
	assert_int_equal(addrtab_count(at), 2);
	assert_non_null(e = addrtab_find(at, &k4));
	assert_int_equal(e->ae_conns, 2);
	assert_int_equal(e->ae_active, 2);
	assert_non_null(e = addrtab_find(at, &k6a));
	assert_int_equal(e->ae_conns, 2);
	addrtab_disconnect(at, &k6b, 5);
	assert_int_equal(addrtab_find(at, &k6a)->ae_conns, 1);
	/* A disconnect of an address never counted in changes nothing. */
	k4 = key_v4(99);
	addrtab_disconnect(at, &k4, 6);
	assert_null(addrtab_find(at, &k4));
	addrtab_free(at);
}

/* max_clients_per_address: refused at the limit, admitted after a close. */
static void
test_per_address(void **state)
{
	struct addrtab		*at = addrtab_new(0, SEED0, SEED1);
	struct addrtab_key	 k = key_of("10.0.0.1");
	struct addrtab_key	 other = key_of("10.0.0.2");
	int			 i;

	assert_int_equal(addrtab_connect(at, &k, 2, 1, NULL), ADDRTAB_ADMIT);
	assert_int_equal(addrtab_connect(at, &k, 2, 1, NULL), ADDRTAB_ADMIT);
	assert_int_equal(addrtab_connect(at, &k, 2, 1, NULL),
	    ADDRTAB_PER_ADDRESS);
	/* The refused one was not counted. */
	assert_int_equal(addrtab_find(at, &k)->ae_conns, 2);
	assert_int_equal(addrtab_connect(at, &other, 2, 1, NULL),
	    ADDRTAB_ADMIT);
	addrtab_disconnect(at, &k, 2);
	assert_int_equal(addrtab_connect(at, &k, 2, 3, NULL), ADDRTAB_ADMIT);
	/* 0: no limit. */
	for (i = 0; i < 1000; i++)
		assert_int_equal(addrtab_connect(at, &k, 0, 4, NULL),
		    ADDRTAB_ADMIT);
	assert_int_equal(addrtab_find(at, &k)->ae_conns, 1002);
	addrtab_free(at);
}

/* One unknown id sent to from this address at time now. */
static enum addrtab_scan_verdict
unknown(struct addrtab *at, const struct addrtab_key *k, uint32_t id,
    const struct addrtab_scan *sc, uint64_t now)
{
	uint64_t	count, elapsed;

	return addrtab_unknown(at, k, id, sc, now, &count, &elapsed, NULL);
}

/* A client that keeps sending to one departed peer is never banned. */
static void
test_scan_repeat(void **state)
{
	struct addrtab		*at = addrtab_new(0, SEED0, SEED1);
	struct addrtab_key	 k = key_of("10.0.0.1");
	uint64_t		 t;

	assert_int_equal(addrtab_connect(at, &k, 0, 0, NULL), ADDRTAB_ADMIT);
	for (t = 0; t < 100000; t++)
		assert_int_equal(unknown(at, &k, 0xdeadbeef, &scan_default,
		    t / 10), ADDRTAB_SCAN_OK);
	assert_int_equal(addrtab_find(at, &k)->ae_count, 1);
	/* A second departed peer is one more, not one per frame. */
	for (t = 0; t < 1000; t++)
		assert_int_equal(unknown(at, &k, 0xfeedface, &scan_default,
		    10000 + t), ADDRTAB_SCAN_OK);
	assert_false(addrtab_banned(at, &k, 20000));
	addrtab_free(at);
}

/* The limit is exact: scan_limit ids pass, the next one bans. */
static void
test_scan_limit_exact(void **state)
{
	struct addrtab		*at = addrtab_new(0, SEED0, SEED1);
	struct addrtab_key	 k = key_of("10.0.0.1");
	struct addrtab_key	 other = key_of("10.0.0.2");
	uint64_t		 count, elapsed;
	uint32_t		 id;

	assert_int_equal(addrtab_connect(at, &k, 0, 0, NULL), ADDRTAB_ADMIT);
	for (id = 1; id <= 64; id++)
		assert_int_equal(unknown(at, &k, id, &scan_default, 100 + id),
		    ADDRTAB_SCAN_OK);
	assert_false(addrtab_banned(at, &k, 164));
	assert_int_equal(addrtab_unknown(at, &k, 65, &scan_default, 300,
	    &count, &elapsed, NULL), ADDRTAB_SCAN_BAN);
	assert_int_equal(count, 65);
	assert_int_equal(elapsed, 199);
	assert_true(addrtab_banned(at, &k, 300));
	assert_false(addrtab_banned(at, &other, 300));
	/* Banned: further frames and connections are refused, not re-logged. */
	assert_int_equal(unknown(at, &k, 66, &scan_default, 301),
	    ADDRTAB_SCAN_BANNED);
	assert_int_equal(addrtab_connect(at, &k, 0, 400, NULL), ADDRTAB_BANNED);
	assert_int_equal(addrtab_connect(at, &k, 0, 60299, NULL),
	    ADDRTAB_BANNED);
	assert_int_equal(addrtab_connect(at, &other, 0, 400, NULL),
	    ADDRTAB_ADMIT);
	/* The ban ends scan_ban after it began; the count starts again. */
	assert_false(addrtab_banned(at, &k, 60300));
	assert_int_equal(addrtab_connect(at, &k, 0, 60300, NULL),
	    ADDRTAB_ADMIT);
	for (id = 1000; id < 1064; id++)
		assert_int_equal(unknown(at, &k, id, &scan_default, 60400),
		    ADDRTAB_SCAN_OK);
	assert_int_equal(unknown(at, &k, 2000, &scan_default, 60400),
	    ADDRTAB_SCAN_BAN);
	addrtab_free(at);
}

/* A window that ended forgets its count: 64 per window never bans. */
static void
test_scan_window(void **state)
{
	struct addrtab		*at = addrtab_new(0, SEED0, SEED1);
	struct addrtab_key	 k = key_of("10.0.0.1");
	uint64_t		 w, t0;
	uint32_t		 id = 1;
	int			 i;

	for (w = 0; w < 10; w++) {
		t0 = w * 10000;
		for (i = 0; i < 64; i++)
			assert_int_equal(unknown(at, &k, id++, &scan_default,
			    t0 + (uint64_t)i * 150), ADDRTAB_SCAN_OK);
	}
	/* 65 in one window, even late in it, bans. */
	for (i = 0; i < 64; i++)
		assert_int_equal(unknown(at, &k, id++, &scan_default,
		    100000 + 9000), ADDRTAB_SCAN_OK);
	assert_int_equal(unknown(at, &k, id++, &scan_default, 109999),
	    ADDRTAB_SCAN_BAN);
	addrtab_free(at);
}

/* scan_limit 0 turns it off; a zero-length ban only closes the sender. */
static void
test_scan_off(void **state)
{
	static const struct addrtab_scan off = { 0, 10000, 60000 };
	static const struct addrtab_scan noban = { 2, 10000, 0 };
	struct addrtab		*at = addrtab_new(0, SEED0, SEED1);
	struct addrtab_key	 k = key_of("10.0.0.1");
	uint32_t		 id;

	for (id = 1; id < 100000; id++)
		assert_int_equal(unknown(at, &k, id, &off, 5), ADDRTAB_SCAN_OK);
	/* Off does not even make an entry. */
	assert_int_equal(addrtab_count(at), 0);
	assert_int_equal(unknown(at, &k, 1, &noban, 5), ADDRTAB_SCAN_OK);
	assert_int_equal(unknown(at, &k, 2, &noban, 5), ADDRTAB_SCAN_OK);
	assert_int_equal(unknown(at, &k, 3, &noban, 5), ADDRTAB_SCAN_BAN);
	assert_false(addrtab_banned(at, &k, 5));
	assert_int_equal(addrtab_connect(at, &k, 0, 5, NULL), ADDRTAB_ADMIT);
	addrtab_free(at);
}

/* Turning the defence off forgets every ban and count. */
static void
test_unban_all(void **state)
{
	static const struct addrtab_scan sc = { 1, 10000, 60000 };
	struct addrtab		*at = addrtab_new(0, SEED0, SEED1);
	struct addrtab_key	 a = key_of("10.0.0.1"), b = key_of("10.0.0.2");

	assert_int_equal(unknown(at, &a, 1, &sc, 5), ADDRTAB_SCAN_OK);
	assert_int_equal(unknown(at, &a, 2, &sc, 5), ADDRTAB_SCAN_BAN);
	assert_int_equal(unknown(at, &b, 1, &sc, 5), ADDRTAB_SCAN_OK);
	assert_int_equal(addrtab_unban_all(at, 6), 1);
	assert_false(addrtab_banned(at, &a, 6));
	assert_int_equal(addrtab_connect(at, &a, 0, 6, NULL), ADDRTAB_ADMIT);
	/* b's count went too: one more id does not ban it. */
	assert_int_equal(unknown(at, &b, 2, &sc, 7), ADDRTAB_SCAN_OK);
	assert_int_equal(addrtab_unban_all(at, 8), 0);
	addrtab_free(at);
}

/*
 * Alternating between two unknown ids counts every frame: the rule keeps
 * one previous id, as documented (docs/SECURITY.md).
 */
static void
test_scan_alternating(void **state)
{
	struct addrtab		*at = addrtab_new(0, SEED0, SEED1);
	struct addrtab_key	 k = key_of("10.0.0.1");
	int			 i;

	for (i = 0; i < 64; i++)
		assert_int_equal(unknown(at, &k, i % 2 ? 7 : 8, &scan_default,
		    10), ADDRTAB_SCAN_OK);
	assert_int_equal(unknown(at, &k, 8, &scan_default, 10),
	    ADDRTAB_SCAN_BAN);
	addrtab_free(at);
}

/*
 * A million addresses through a table of 1024: the count stays at the
 * limit, the memory as it was, and every address with a live connection
 * and every ban (idle entries remain to evict) is still there.
 */
static void
test_flood(void **state)
{
	struct addrtab		*at = addrtab_new(ADDRTAB_LIMIT_MIN, SEED0,
				    SEED1);
	struct addrtab_key	 k;
	struct addrtab_lifted	 lifted;
	struct addrtab_scan	 sc = { 64, 10000, 1000000000 };
	size_t			 mem = addrtab_memory(at);
	uint32_t		 i, id;
	uint64_t		 now = 1;

	/* 100 addresses with a live connection, 100 banned ones. */
	for (i = 0; i < 100; i++) {
		k = key_v4(0x0a000000 + i);
		assert_int_equal(addrtab_connect(at, &k, 0, now, NULL),
		    ADDRTAB_ADMIT);
		k = key_v4(0x0b000000 + i);
		for (id = 1; id <= 65; id++)
			(void)unknown(at, &k, id, &sc, now);
		assert_true(addrtab_banned(at, &k, now));
	}
	for (i = 0; i < 1000000; i++) {
		k = key_v4(0xc0000000 + i);
		now++;
		assert_int_equal(addrtab_connect(at, &k, 0, now, &lifted),
		    ADDRTAB_ADMIT);
		assert_int_equal(lifted.al_lifted, 0);
		addrtab_disconnect(at, &k, now);
		assert_true(addrtab_count(at) <= ADDRTAB_LIMIT_MIN);
	}
	assert_int_equal(addrtab_count(at), ADDRTAB_LIMIT_MIN);
	assert_int_equal(addrtab_memory(at), mem);
	for (i = 0; i < 100; i++) {
		k = key_v4(0x0a000000 + i);
		assert_non_null(addrtab_find(at, &k));
		assert_int_equal(addrtab_find(at, &k)->ae_conns, 1);
		k = key_v4(0x0b000000 + i);
		assert_true(addrtab_banned(at, &k, now));
	}
	/* The newest addresses are there: the oldest were evicted. */
	k = key_v4(0xc0000000 + 999999);
	assert_non_null(addrtab_find(at, &k));
	k = key_v4(0xc0000000);
	assert_null(addrtab_find(at, &k));
	addrtab_free(at);
}

/*
 * A table full of bans: a new address lifts the ban that ends first (of
 * its sample), and says so; the count stays at the limit.
 */
static void
test_full_of_bans(void **state)
{
	struct addrtab		*at = addrtab_new(ADDRTAB_LIMIT_MIN, SEED0,
				    SEED1);
	struct addrtab_key	 k;
	struct addrtab_lifted	 lifted;
	struct addrtab_scan	 sc = { 1, 10000, 60000 };
	uint32_t		 i;

	for (i = 0; i < ADDRTAB_LIMIT_MIN; i++) {
		k = key_v4(0x0a000000 + i);
		assert_int_equal(unknown(at, &k, 1, &sc, i), ADDRTAB_SCAN_OK);
		assert_int_equal(unknown(at, &k, 2, &sc, i), ADDRTAB_SCAN_BAN);
	}
	assert_int_equal(addrtab_count_banned(at, 5000), ADDRTAB_LIMIT_MIN);
	k = key_v4(0x7f000001);
	assert_int_equal(addrtab_connect(at, &k, 0, 5000, &lifted),
	    ADDRTAB_ADMIT);
	assert_int_equal(lifted.al_lifted, 1);
	assert_int_equal(lifted.al_key.ak_family, AF_INET);
	assert_true(lifted.al_ban_until > 5000);
	assert_false(addrtab_banned(at, &lifted.al_key, 5000));
	assert_int_equal(addrtab_count(at), ADDRTAB_LIMIT_MIN);
	assert_int_equal(addrtab_count_banned(at, 5000), ADDRTAB_LIMIT_MIN - 1);
	addrtab_free(at);
}

/*
 * A table full of live connections: a new address is not admitted
 * (ADDRTAB_FULL) and nothing is evicted; once one closes, its entry makes
 * room (found by the search of the whole table).
 */
static void
test_full_of_live(void **state)
{
	struct addrtab		*at = addrtab_new(ADDRTAB_LIMIT_MIN, SEED0,
				    SEED1);
	struct addrtab_key	 k, gone;
	uint32_t		 i;

	for (i = 0; i < ADDRTAB_LIMIT_MIN; i++) {
		k = key_v4(0x0a000000 + i);
		assert_int_equal(addrtab_connect(at, &k, 0, i, NULL),
		    ADDRTAB_ADMIT);
	}
	k = key_v4(0x7f000001);
	assert_int_equal(addrtab_connect(at, &k, 0, 5000, NULL), ADDRTAB_FULL);
	assert_int_equal(unknown(at, &k, 1, &scan_default, 5000),
	    ADDRTAB_SCAN_OK);
	assert_null(addrtab_find(at, &k));
	assert_int_equal(addrtab_count(at), ADDRTAB_LIMIT_MIN);
	gone = key_v4(0x0a000000 + 517);
	addrtab_disconnect(at, &gone, 5001);
	assert_int_equal(addrtab_connect(at, &k, 0, 5002, NULL), ADDRTAB_ADMIT);
	assert_null(addrtab_find(at, &gone));
	for (i = 0; i < ADDRTAB_LIMIT_MIN; i++) {
		k = key_v4(0x0a000000 + i);
		if (i != 517)
			assert_int_equal(addrtab_find(at, &k)->ae_conns, 1);
	}
	addrtab_free(at);
}

/* Growing keeps every entry and raises the limit; it never shrinks. */
static void
test_grow(void **state)
{
	struct addrtab		*at = addrtab_new(ADDRTAB_LIMIT_MIN, SEED0,
				    SEED1);
	struct addrtab_key	 k;
	uint32_t		 i;

	for (i = 0; i < 1000; i++) {
		k = key_v4(i + 1);
		assert_int_equal(addrtab_connect(at, &k, 0, i, NULL),
		    ADDRTAB_ADMIT);
	}
	assert_int_equal(addrtab_grow(at, 20000), 0);
	assert_int_equal(addrtab_limit(at), 20000);
	assert_true(addrtab_memory(at) > 20000 * sizeof(struct addrtab_entry));
	assert_int_equal(addrtab_grow(at, 10), 0);
	assert_int_equal(addrtab_limit(at), 20000);
	assert_int_equal(addrtab_count(at), 1000);
	for (i = 0; i < 1000; i++) {
		k = key_v4(i + 1);
		assert_int_equal(addrtab_find(at, &k)->ae_conns, 1);
	}
	for (i = 1000; i < 20000; i++) {
		k = key_v4(i + 1);
		assert_int_equal(addrtab_connect(at, &k, 0, i, NULL),
		    ADDRTAB_ADMIT);
	}
	assert_int_equal(addrtab_count(at), 20000);
	addrtab_free(at);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_insert_lookup),
		cmocka_unit_test(test_per_address),
		cmocka_unit_test(test_scan_repeat),
		cmocka_unit_test(test_scan_limit_exact),
		cmocka_unit_test(test_scan_window),
		cmocka_unit_test(test_scan_off),
		cmocka_unit_test(test_scan_alternating),
		cmocka_unit_test(test_unban_all),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_full_of_bans),
		cmocka_unit_test(test_full_of_live),
		cmocka_unit_test(test_grow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
