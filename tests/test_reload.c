/*
 * test_reload: router_configure on live connections, driven step by step on
 * socketpairs: a new max_message_size spares the frame in progress.
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
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/util.h>

#include "msgrouter/config.h"
#include "msgrouter/conn.h"
#include "msgrouter/router.h"

/* Far more loop turns than any step needs; a stuck step fails, not hangs. */
#define MAX_TURNS	10000

struct peer {
	struct conn	*conn;	/* the router's side */
	int		 fd;	/* the client's side, blocking */
	uint32_t	 id;
};

struct fixture {
	struct event_base	*base;
	struct router		*rt;
	struct config		 cf;
};

/* Hand one end of a socketpair to the router, as an accept would. */
static void
peer_open(struct fixture *fx, struct peer *p)
{
	struct sockaddr_in	sin;
	uint32_t		be;
	int			sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(evutil_make_socket_nonblocking(sv[0]), 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_non_null(p->conn = router_attach(fx->rt, sv[0],
	    (struct sockaddr *)&sin, sizeof sin));
	router_flush(fx->rt);
	p->fd = sv[1];
	assert_int_equal(read(p->fd, &be, sizeof be), (ssize_t)sizeof be);
	p->id = ntohl(be);
	assert_int_equal(p->id, p->conn->cn_id);
}

/* Write a frame's header and len payload bytes of c, and a 0x00 if end. */
static void
peer_write(struct peer *p, uint32_t dst, char c, size_t len, int header,
    int end)
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
	assert_int_equal(write(p->fd, buf, n), (ssize_t)n);
	free(buf);
}

/* Run the loop until *counter reaches want. */
static void
pump_until(struct fixture *fx, const uint64_t *counter, uint64_t want)
{
	int	turns;

	for (turns = 0; *counter < want && turns < MAX_TURNS; turns++)
		event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(*counter, want);
}

/* Read exactly len bytes, all equal to c and then a 0x00. */
static void
expect_message(struct peer *p, char c, size_t len)
{
	char	*buf;
	size_t	 got = 0, i;
	ssize_t	 n;

	assert_non_null(buf = malloc(len + 1));
	while (got < len + 1) {
		n = read(p->fd, buf + got, len + 1 - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	for (i = 0; i < len; i++)
		assert_int_equal(buf[i], c);
	assert_int_equal(buf[len], '\0');
	free(buf);
}

static int
setup(void **state)
{
	struct fixture	*fx;

	fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	assert_non_null(fx->base = event_base_new());
	config_defaults(&fx->cf);
	fx->cf.cf_max_message_size = 64 * 1024;
	assert_non_null(fx->rt = router_new(fx->base, &fx->cf));
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;

	router_free(fx->rt);
	event_base_free(fx->base);
	free(fx);
	return 0;
}

/*
 * A frame started under a 64K limit finishes at 30001 bytes after the limit
 * drops to 1K; the next frame is held to 1K.
 */
static void
test_max_message_in_progress(void **state)
{
	struct fixture	*fx = *state;
	struct stats	*st = &fx->rt->rt_stats;
	struct peer	 a, b;

	peer_open(fx, &a);
	peer_open(fx, &b);

	peer_write(&a, b.id, 'x', 20000, 1, 0);
	pump_until(fx, &a.conn->cn_bytes_in, 20004);

	fx->cf.cf_max_message_size = 1024;
	router_configure(fx->rt, &fx->cf);
	assert_int_equal(router_max_message(fx->rt, a.conn), 64 * 1024);
	assert_int_equal(router_max_message(fx->rt, b.conn), 1024);

	peer_write(&a, b.id, 'x', 10000, 0, 1);
	pump_until(fx, &st->st_forwarded, 1);
	expect_message(&b, 'x', 30000);
	assert_int_equal(router_max_message(fx->rt, a.conn), 1024);

	/* Within the new limit: routed. */
	peer_write(&a, b.id, 'y', 1023, 1, 1);
	pump_until(fx, &st->st_forwarded, 2);
	expect_message(&b, 'y', 1023);

	/* Past it: the sender is disconnected, nothing is forwarded. */
	peer_write(&a, b.id, 'z', 1024, 1, 1);
	pump_until(fx, &st->st_disconnected_oversize, 1);
	assert_int_equal(st->st_forwarded, 2);
	close(a.fd);
	close(b.fd);
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
	struct fixture	*fx = *state;
	struct stats	*st = &fx->rt->rt_stats;
	struct peer	 a, b;

	peer_open(fx, &a);
	peer_open(fx, &b);
	peer_write(&a, b.id, 'q', 1000, 1, 0);
	pump_until(fx, &a.conn->cn_bytes_in, 1004);

	fx->cf.cf_max_message_size = 256 * 1024;
	router_configure(fx->rt, &fx->cf);
	/* Held to the limit it started under, though the new one is larger. */
	assert_int_equal(router_max_message(fx->rt, a.conn), 64 * 1024);
	peer_write(&a, b.id, 'q', 60000, 0, 1);
	pump_until(fx, &st->st_forwarded, 1);
	expect_message(&b, 'q', 61000);
	assert_int_equal(router_max_message(fx->rt, a.conn), 256 * 1024);

	peer_write(&a, b.id, 'r', 100000, 1, 1);
	pump_until(fx, &st->st_forwarded, 2);
	expect_message(&b, 'r', 100000);
	assert_int_equal(st->st_disconnected_oversize, 0);
	close(a.fd);
	close(b.fd);
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
