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

static void
test_sizes(void **state)
{
	uint64_t	v;

	assert_int_equal(parse_size("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_size("1024", &v), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(parse_size("64K", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(parse_size("8M", &v), 0);
	assert_int_equal(v, 8 << 20);
	assert_int_equal(parse_size("8m", &v), 0);
	assert_int_equal(v, 8 << 20);
	assert_int_equal(parse_size("2G", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(parse_size("8MiB", &v), 0);
	assert_int_equal(v, 8 << 20);
	assert_int_equal(parse_size("", &v), -1);
	assert_int_equal(parse_size("lots", &v), -1);
	assert_int_equal(parse_size("-1", &v), -1);
	assert_int_equal(parse_size("8 M", &v), -1);
	assert_int_equal(parse_size("8T", &v), -1);
	assert_int_equal(parse_size("8Mx", &v), -1);
	assert_int_equal(parse_size("99999999999999999999", &v), -1);
	assert_int_equal(parse_size("17179869184G", &v), -1);
}

static void
test_durations(void **state)
{
	uint64_t	v;

	assert_int_equal(parse_duration_ms("5s", &v), 0);
	assert_int_equal(v, 5000);
	assert_int_equal(parse_duration_ms("250ms", &v), 0);
	assert_int_equal(v, 250);
	assert_int_equal(parse_duration_ms("3", &v), 0);
	assert_int_equal(v, 3000);
	/* Minutes, as documented: m or min, lower case only. */
	assert_int_equal(parse_duration_ms("2m", &v), 0);
	assert_int_equal(v, 120000);
	assert_int_equal(parse_duration_ms("2min", &v), 0);
	assert_int_equal(v, 120000);
	assert_int_equal(parse_duration_ms("0m", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_duration_ms("307445734561825m", &v), 0);
	assert_int_equal(v, 307445734561825ULL * 60000);
	assert_int_equal(parse_duration_ms("307445734561826m", &v), -1);
	assert_int_equal(parse_duration_ms("2M", &v), -1);
	assert_int_equal(parse_duration_ms("2mi", &v), -1);
	assert_int_equal(parse_duration_ms("2mins", &v), -1);
	assert_int_equal(parse_duration_ms("m", &v), -1);
	assert_int_equal(parse_duration_ms("5x", &v), -1);
	assert_int_equal(parse_duration_ms("s", &v), -1);
	assert_int_equal(parse_duration_ms("-5s", &v), -1);
}

static void
test_uint(void **state)
{
	uint64_t	v;

	assert_int_equal(parse_uint("10000", &v), 0);
	assert_int_equal(v, 10000);
	assert_int_equal(parse_uint("10k", &v), -1);
	assert_int_equal(parse_uint("+1", &v), -1);
	assert_int_equal(parse_uint("", &v), -1);
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
	};
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	const char		*why;
	char			 buf[ADDR_STRLEN];
	size_t			 i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		assert_int_equal(addr_parse(good[i], &ss, &len, &why), 0);
		assert_string_equal(addr_format((struct sockaddr *)&ss, buf,
		    sizeof buf), good[i]);
	}
	assert_int_equal(addr_parse("localhost:80", &ss, &len, &why), 0);
	assert_string_equal(addr_format((struct sockaddr *)&ss, buf,
	    sizeof buf), "127.0.0.1:80");
}

static void
test_addr_bad(void **state)
{
	static const char *bad[] = {
		"", "8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
		"127.0.0.1:-1", "127.0.0.1:80x", "::1:80", "[::1]80", "[::1",
		"example.org:80", ":80", "[]:80",
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
