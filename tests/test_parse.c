/*
 * Unit tests for value parsers and address parsing.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "msgrouter/addr.h"
#include "msgrouter/parse.h"

/* A text, what the parser must return for it, and the value if 0. */
struct parse_case {
	const char	*text;
	int		 rc;
	uint64_t	 value;
};

/* Each case through parse: its return, and its value when it accepts. */
static void
expect_parses(int (*parse)(const char *, uint64_t *),
    const struct parse_case *cases, size_t n)
{
	uint64_t	v;
	size_t		i;

	for (i = 0; i < n; i++) {
		if (parse(cases[i].text, &v) != cases[i].rc)
			fail_msg("\"%s\": expected %d", cases[i].text,
			    cases[i].rc);
		if (cases[i].rc == 0 && v != cases[i].value)
			fail_msg("\"%s\": %llu, expected %llu", cases[i].text,
			    (unsigned long long)v,
			    (unsigned long long)cases[i].value);
	}
}

static void
test_sizes(void **state)
{
	static const struct parse_case cases[] = {
		{ "0", 0, 0 },
		{ "1024", 0, 1024 },
		{ "64K", 0, 65536 },
		{ "8M", 0, 8 << 20 },
		{ "8m", 0, 8 << 20 },
		{ "2G", 0, 2ULL << 30 },
		{ "8MiB", 0, 8 << 20 },
		{ "", -1, 0 },
		{ "lots", -1, 0 },
		{ "-1", -1, 0 },
		{ "8 M", -1, 0 },
		{ "8T", -1, 0 },
		{ "8Mx", -1, 0 },
		{ "99999999999999999999", -1, 0 },
		{ "17179869184G", -1, 0 },
	};

	expect_parses(parse_size, cases, sizeof cases / sizeof cases[0]);
}

static void
test_durations(void **state)
{
	static const struct parse_case cases[] = {
		{ "5s", 0, 5000 },
		{ "250ms", 0, 250 },
		{ "3", 0, 3000 },
		/* Minutes, as documented: m or min, lower case only. */
		{ "2m", 0, 120000 },
		{ "2min", 0, 120000 },
		{ "0m", 0, 0 },
		{ "307445734561825m", 0, 307445734561825ULL * 60000 },
		{ "307445734561826m", -1, 0 },
		{ "2M", -1, 0 },
		{ "2mi", -1, 0 },
		{ "2mins", -1, 0 },
		{ "m", -1, 0 },
		{ "5x", -1, 0 },
		{ "s", -1, 0 },
		{ "-5s", -1, 0 },
	};

	expect_parses(parse_duration_ms, cases,
	    sizeof cases / sizeof cases[0]);
}

static void
test_uint(void **state)
{
	static const struct parse_case cases[] = {
		{ "10000", 0, 10000 },
		{ "10k", -1, 0 },
		{ "+1", -1, 0 },
		{ "", -1, 0 },
	};

	expect_parses(parse_uint, cases, sizeof cases / sizeof cases[0]);
}

static void
test_format_size(void **state)
{
	char	buf[32];

	format_size(8 << 20, buf, sizeof buf);
	assert_string_equal(buf, "8M");
	format_size(1536, buf, sizeof buf);
	assert_string_equal(buf, "1536");
	format_size(3072, buf, sizeof buf);
	assert_string_equal(buf, "3K");
	format_size(0, buf, sizeof buf);
	assert_string_equal(buf, "0");
}

/* Parse then format gives the text back, for both families. */
static void
test_addr_roundtrip(void **state)
{
	static const char *good[] = {
		"127.0.0.1:8080", "0.0.0.0:0", "[::1]:8080", "[::]:65535",
		"unix:/run/msgrouterd/router.sock", "unix:/",
	};
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	const char		*why;
	char			 buf[ADDR_STRLEN];
	union addr_any		 peer;
	size_t			 i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		assert_int_equal(addr_parse(good[i], &ss, &len, &why), 0);
		assert_string_equal(addr_format((struct sockaddr *)&ss, buf,
		    sizeof buf), good[i]);
	}
	assert_int_equal(addr_parse("localhost:80", &ss, &len, &why), 0);
	assert_string_equal(addr_format((struct sockaddr *)&ss, buf,
	    sizeof buf), "127.0.0.1:80");
	/* A peer on a Unix socket keeps its family alone: "unix". */
	assert_int_equal(addr_parse("unix:/a.sock", &ss, &len, &why), 0);
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 8);
	addr_copy(&peer, (struct sockaddr *)&ss, (int)len);
	assert_int_equal(peer.sa.sa_family, AF_UNIX);
	assert_string_equal(addr_format(&peer.sa, buf, sizeof buf), "unix");
}

static void
test_addr_bad(void **state)
{
	static const char *bad[] = {
		"", "8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
		"127.0.0.1:-1", "127.0.0.1:80x", "::1:80", "[::1]80", "[::1",
		"example.org:80", ":80", "[]:80", "unix:", "unix:rel.sock",
		"unix:/0123456789012345678901234567890123456789012345678901"
		    "2345678901234567890123456789012345678901234567890123456",
	};
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	const char		*why;
	size_t			 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = NULL;
		assert_int_equal(addr_parse(bad[i], &ss, &len, &why), -1);
		assert_non_null(why);
	}
}

/* Loopback is 127/8, ::1 and IPv4-mapped 127/8; the wildcards are not. */
static void
test_addr_loopback(void **state)
{
	static const struct {
		const char	*addr;
		int		 loopback;
	} cases[] = {
		{ "127.0.0.1:80", 1 }, { "127.255.0.9:80", 1 },
		{ "localhost:80", 1 }, { "[::1]:80", 1 },
		{ "[::ffff:127.0.0.2]:80", 1 }, { "0.0.0.0:80", 0 },
		{ "*:80", 0 }, { "[::]:80", 0 }, { "10.1.2.3:80", 0 },
		{ "unix:/run/x.sock", 1 },
		{ "128.0.0.1:80", 0 }, { "[::2]:80", 0 },
		{ "[::ffff:10.0.0.1]:80", 0 }, { "[fe80::1]:80", 0 },
	};
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	const char		*why;
	size_t			 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(addr_parse(cases[i].addr, &ss, &len, &why),
		    0);
		if (addr_is_loopback((struct sockaddr *)&ss) !=
		    cases[i].loopback)
			fail_msg("%s: loopback should be %d", cases[i].addr,
			    cases[i].loopback);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_format_size),
		cmocka_unit_test(test_addr_roundtrip),
		cmocka_unit_test(test_addr_bad),
		cmocka_unit_test(test_addr_loopback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
