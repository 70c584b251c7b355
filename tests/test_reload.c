/*
 * test_reload: router_configure on live connections, driven step by step on
 * socketpairs: a new max_message_size spares the frame in progress.
 */
#include "config.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "msgrouter/config.h"
#include "msgrouter/conn.h"
#include "msgrouter/router.h"

#include "inproc.h"

/* Write a frame's header and len payload bytes of c, and a 0x00 if end. */
static void
peer_write(struct inproc_client *p, uint32_t dst, char c, size_t len,
    int header, int end)
{
	char		*buf;
	size_t		 n = 0;
	uint32_t	 be = htonl(dst);

	assert_non_null(buf = malloc(len + 5));
	if (header) {
		memcpy(buf, &be, 4);
		n = 4;
	}
	memset(buf + n, c, len);
	n += len;
	if (end)
		buf[n++] = '\0';
	assert_int_equal(write(p->ic_fd, buf, n), (ssize_t)n);
	free(buf);
}

/* Read exactly len bytes, all equal to c and then a 0x00. */
static void
expect_message(struct inproc_client *p, char c, size_t len)
{
	char	*buf;
	size_t	 got = 0, i;
	ssize_t	 n;

	assert_non_null(buf = malloc(len + 1));
	while (got < len + 1) {
		n = read(p->ic_fd, buf + got, len + 1 - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	for (i = 0; i < len; i++)
		assert_int_equal(buf[i], c);
	assert_int_equal(buf[len], '\0');
	free(buf);
}

/* A router whose max_message_size is 64K. */
static int
setup(void **state)
{
	struct config	cf;

	config_defaults(&cf);
	cf.cf_max_message_size = 64 * 1024;
	*state = inproc_new(&cf);
	return 0;
}

static int
teardown(void **state)
{
	inproc_free(*state);
	return 0;
}

/*
 * Connect a and b; a starts a frame to b (header and len bytes of c);
 * then a reload sets max_message_size to max: a's frame in progress is
 * still held to the 64K it started under, b is held to max at once.
 */
static void
start_then_reload(struct inproc *ip, struct inproc_client *a,
    struct inproc_client *b, char c, size_t len, uint64_t max)
{
	struct config	cf = ip->ip_rt->rt_config;

	inproc_connect(ip, a, 0);
	inproc_connect(ip, b, 0);
	peer_write(a, b->ic_id, c, len, 1, 0);
	inproc_run_until_count(ip, &a->ic_conn->cn_bytes_in, len + 4);

	cf.cf_max_message_size = max;
	router_configure(ip->ip_rt, &cf);
	assert_int_equal(router_max_message(ip->ip_rt, a->ic_conn), 64 * 1024);
	assert_int_equal(router_max_message(ip->ip_rt, b->ic_conn), max);
}

/*
 * a ends a frame to b with len bytes of c and its 0x00 (a whole frame if
 * header): it is forwarded, and b reads total bytes of c and the 0x00.
 */
static void
forward(struct inproc *ip, struct inproc_client *a, struct inproc_client *b,
    char c, size_t len, int header, size_t total)
{
	const uint64_t	*forwarded = &ip->ip_rt->rt_stats.st_forwarded;

	peer_write(a, b->ic_id, c, len, header, 1);
	inproc_run_until_count(ip, forwarded, *forwarded + 1);
	expect_message(b, c, total);
}

/*
 * A frame started under a 64K limit finishes at 30001 bytes after the limit
 * drops to 1K; the next frame is held to 1K.
 */
static void
test_max_message_in_progress(void **state)
{
	struct inproc		*ip = *state;
	struct stats		*st = &ip->ip_rt->rt_stats;
	struct inproc_client	 a, b;

	start_then_reload(ip, &a, &b, 'x', 20000, 1024);
	forward(ip, &a, &b, 'x', 10000, 0, 30000);
	assert_int_equal(router_max_message(ip->ip_rt, a.ic_conn), 1024);

	/* Within the new limit: routed. */
	forward(ip, &a, &b, 'y', 1023, 1, 1023);

	/* Past it: the sender is disconnected, nothing is forwarded. */
	peer_write(&a, b.ic_id, 'z', 1024, 1, 1);
	inproc_run_until_count(ip, &st->st_disconnected_oversize, 1);
	assert_int_equal(st->st_forwarded, 2);
	close(a.ic_fd);
	close(b.ic_fd);
}

/*
 * A raised limit, like a lowered one, applies from the next frame: the
 * frame in progress stays held to the 64K it started under (its 61001
 * bytes fit), and the next may use the new 256K.  One rule both ways: a
 * frame is judged by the limit in force when its first byte arrived.
 */
static void
test_max_message_raised(void **state)
{
	struct inproc		*ip = *state;
	struct inproc_client	 a, b;

	start_then_reload(ip, &a, &b, 'q', 1000, 256 * 1024);
	forward(ip, &a, &b, 'q', 60000, 0, 61000);
	assert_int_equal(router_max_message(ip->ip_rt, a.ic_conn), 256 * 1024);

	forward(ip, &a, &b, 'r', 100000, 1, 100000);
	assert_int_equal(ip->ip_rt->rt_stats.st_disconnected_oversize, 0);
	assert_int_equal(ip->ip_rt->rt_stats.st_forwarded, 2);
	close(a.ic_fd);
	close(b.ic_fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_max_message_in_progress,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_message_raised,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
