/*
 * Unit tests for a connection's read path on a socketpair: router_attach,
 * conn.c's reads, the router's routing and the flush, without a listener.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "msgrouter/config.h"
#include "msgrouter/conn.h"
#include "msgrouter/log.h"
#include "msgrouter/router.h"

/* libevent's allocations of [fail_min, fail_max) bytes fail. */
static size_t	fail_min, fail_max;

static void *
failing_malloc(size_t n)
{
	return n >= fail_min && n < fail_max ? NULL : malloc(n);
}

static void *
failing_realloc(void *p, size_t n)
{
	return n >= fail_min && n < fail_max ? NULL : realloc(p, n);
}

/*
 * A client sends a message to itself and goes away before reading it.
 * Routing it queues it to the sender, the flush at the end of routing gets
 * EPIPE and closes the sender; the read callback that routed must not
 * touch the freed connection afterwards (it did, found by fuzz_router:
 * a use after free that ASan reports here).
 */
static void
test_self_message_then_gone(void **state)
{
	struct event_base	*base = event_base_new();
	struct sockaddr_in	 sin;
	struct router		*rt;
	struct config		 cf;
	struct conn		*c;
	unsigned char		 frame[8];
	uint32_t		 be;
	int			 sv[2], i;

	config_defaults(&cf);
	assert_non_null(base);
	assert_non_null(rt = router_new(base, &cf));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	assert_non_null(c = router_attach(rt, sv[0], (struct sockaddr *)&sin,
	    sizeof sin));
	router_flush(rt);
	be = htonl(c->cn_id);
	memcpy(frame, &be, 4);
	memcpy(frame + 4, "hi", 3);
	assert_int_equal(write(sv[1], frame, 7), 7);
	close(sv[1]);
	for (i = 0; i < 4; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	/* The sender is gone, closed once, and its frame was counted. */
	assert_int_equal(router_queued_bytes(rt), 0);
	assert_true(TAILQ_EMPTY(&rt->rt_conns));
	assert_int_equal(rt->rt_stats.st_frames, 1);
	assert_int_equal(rt->rt_stats.st_forwarded, 1);
	router_free(rt);
	event_base_free(base);
}

/*
 * A client on a socketpair with 1 MiB buffers: the router gets one end,
 * the test the other (*fd).
 */
static struct conn *
client_new(struct router *rt, int *fd)
{
	struct sockaddr_in	 sin;
	struct conn		*c;
	int			 sv[2], bufsz = 1 << 20, i;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	for (i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
	}
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	assert_non_null(c = router_attach(rt, sv[0], (struct sockaddr *)&sin,
	    sizeof sin));
	*fd = sv[1];
	return c;
}

/* Close the test's ends, let the router see it, free everything. */
static void
teardown_router(struct event_base *base, struct router *rt, int a, int b)
{
	int	i;

	close(a);
	close(b);
	for (i = 0; i < 4; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	router_free(rt);
	event_base_free(base);
}

/*
 * Fill a socket with len bytes of 64-byte frames (payload 59 bytes and its
 * 0x00) for id to.
 */
static void
fill_frames(int fd, uint32_t to, size_t len)
{
	unsigned char	buf[4096];
	uint32_t	be = htonl(to);
	size_t		i;

	assert_int_equal(len % sizeof buf, 0);
	for (i = 0; i < sizeof buf; i += 64) {
		memcpy(buf + i, &be, 4);
		memset(buf + i + 4, 'x', 59);
		buf[i + 63] = '\0';
	}
	for (i = 0; i < len; i += sizeof buf)
		assert_int_equal(write(fd, buf, sizeof buf), sizeof buf);
}

/*
 * A sender whose frames go to the bin (here: to an id nobody has) is read
 * a page per pass of the loop instead of 64 KiB, so that it cannot take the
 * router's time from clients whose messages are delivered; once a read of
 * it delivers again, it is read in full.  Nothing is lost either way: the
 * counters account for every frame.  EVLOOP_ONCE | EVLOOP_NONBLOCK is one
 * pass of the loop: one read per readable connection.
 */
static void
test_shed_dropping_sender(void **state)
{
	struct event_base	*base = event_base_new();
	struct router		*rt;
	struct config		 cf;
	struct conn		*c, *d;
	uint64_t		 before, most;
	const size_t		 fill = 192 * 1024;
	int			 cfd, dfd, i;

	config_defaults(&cf);
	assert_non_null(base);
	assert_non_null(rt = router_new(base, &cf));
	c = client_new(rt, &cfd);
	d = client_new(rt, &dfd);
	router_flush(rt);

	/* To nobody: after the first read, no read takes more than a page. */
	fill_frames(cfd, d->cn_id + 1, fill);
	most = 0;
	for (i = 0; i < 200 && c->cn_bytes_in < fill; i++) {
		before = c->cn_bytes_in;
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (i > 0 && c->cn_bytes_in - before > most)
			most = c->cn_bytes_in - before;
	}
	assert_int_equal(c->cn_bytes_in, fill);
	assert_int_equal(most, ROUTER_READ_SHED);
	assert_int_equal(rt->rt_stats.st_dropped_unknown, fill / 64);

	/* To a reader: the next read after a delivering one is full size. */
	fill_frames(cfd, d->cn_id, fill);
	most = 0;
	for (i = 0; i < 200 && c->cn_bytes_in < 2 * fill; i++) {
		before = c->cn_bytes_in;
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (c->cn_bytes_in - before > most)
			most = c->cn_bytes_in - before;
	}
	assert_int_equal(c->cn_bytes_in, 2 * fill);
	assert_true(most > 8 * ROUTER_READ_SHED);
	assert_int_equal(rt->rt_stats.st_forwarded, fill / 64);
	assert_int_equal(rt->rt_stats.st_frames, 2 * fill / 64);

	teardown_router(base, rt, cfd, dfd);
}

/*
 * A destination's queue cannot grow (out of memory): the destination is
 * closed and the run of messages for it is counted as dropped, so that
 * every message received is still forwarded or counted as dropped.  The
 * sender is not harmed.
 */
static void
test_queue_out_of_memory(void **state)
{
	struct event_base	*base = event_base_new();
	struct router		*rt;
	struct config		 cf;
	struct conn		*c, *d, *x;
	unsigned char		 buf[4096];
	int			 cfd, dfd, i, found;

	config_defaults(&cf);
	assert_non_null(base);
	assert_non_null(rt = router_new(base, &cf));
	c = client_new(rt, &cfd);
	d = client_new(rt, &dfd);
	router_flush(rt);
	assert_int_equal(read(dfd, buf, sizeof buf), 4);

	/* A delivered batch: c now reads through its own event. */
	fill_frames(cfd, d->cn_id, 4096);
	for (i = 0; i < 50 && rt->rt_stats.st_forwarded < 64; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(rt->rt_stats.st_forwarded, 64);
	while (read(dfd, buf, sizeof buf) > 0)
		;

	/*
	 * Now no chain of 1 KiB to 32 KiB can be had: the read takes a
	 * 64 KiB chain, the run of 64 frames for d needs a 4 KiB one.
	 */
	fail_min = 1024;
	fail_max = 32768;
	fill_frames(cfd, d->cn_id, 4096);
	for (i = 0; i < 50 && rt->rt_stats.st_frames < 128; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	fail_min = fail_max = 0;

	assert_int_equal(rt->rt_stats.st_frames, 128);
	assert_int_equal(rt->rt_stats.st_forwarded, 64);
	assert_int_equal(rt->rt_stats.st_dropped_queue_full, 64);
	assert_int_equal(rt->rt_stats.st_frames, rt->rt_stats.st_forwarded +
	    rt->rt_stats.st_dropped_unknown +
	    rt->rt_stats.st_dropped_queue_full);
	/* d is gone, c is still there. */
	found = 0;
	TAILQ_FOREACH(x, &rt->rt_conns, cn_entry) {
		assert_ptr_not_equal(x, d);
		found += x == c;
	}
	assert_int_equal(found, 1);

	teardown_router(base, rt, cfd, dfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self_message_then_gone),
		cmocka_unit_test(test_shed_dropping_sender),
		cmocka_unit_test(test_queue_out_of_memory),
	};

	/* Before libevent allocates anything: no failures until armed. */
	event_set_mem_functions(failing_malloc, failing_realloc, free);
	log_init(LOG_LEVEL_ERROR);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
