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

#include "msgrouter/closed.h"
#include "msgrouter/config.h"
#include "msgrouter/conn.h"
#include "msgrouter/log.h"
#include "msgrouter/registry.h"
#include "msgrouter/router.h"

#include "harness.h"
#include "inproc.h"

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

/* The clients' socket buffers, unless a test asks for others. */
#define CLIENT_BUFSZ	(1 << 20)

/* What a test wants of the fixture (its prestate; NULL: the defaults). */
struct fixture_want {
	uint64_t	queue_limit;	/* 0: the default */
	int		b_bufsz;	/* 0: CLIENT_BUFSZ */
};

/* A router and two clients, a and b, that have read their ids. */
struct fixture {
	struct inproc		*ip;
	struct router		*rt;	/* ip's */
	struct inproc_client	 a, b;
};

static int
setup(void **state)
{
	const struct fixture_want	*want = *state;
	struct fixture			*fx;
	struct config			 cf;

	config_defaults(&cf);
	if (want != NULL && want->queue_limit != 0)
		cf.cf_queue_limit = want->queue_limit;
	assert_non_null(fx = calloc(1, sizeof *fx));
	fx->ip = inproc_new(&cf);
	fx->rt = fx->ip->ip_rt;
	inproc_connect(fx->ip, &fx->a, CLIENT_BUFSZ);
	inproc_connect(fx->ip, &fx->b, want != NULL && want->b_bufsz != 0 ?
	    want->b_bufsz : CLIENT_BUFSZ);
	*state = fx;
	return 0;
}

/* Close the test's ends still open; the router closes its own. */
static int
teardown(void **state)
{
	struct fixture	*fx = *state;

	if (fx->a.ic_fd >= 0)
		close(fx->a.ic_fd);
	if (fx->b.ic_fd >= 0)
		close(fx->b.ic_fd);
	inproc_free(fx->ip);
	free(fx);
	return 0;
}

static int
one_client_left(void *arg)
{
	return registry_count(((struct fixture *)arg)->rt->rt_registry) == 1;
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
	struct fixture			*fx = *state;
	const struct closed_entry	*ce;
	char				 frame[8];
	size_t				 len;

	len = tc_frame(frame, fx->a.ic_id, "hi");
	assert_int_equal(write(fx->a.ic_fd, frame, len), (ssize_t)len);
	close(fx->a.ic_fd);
	fx->a.ic_fd = -1;
	inproc_run_until(fx->ip, one_client_left, fx);
	/* The sender is gone, closed once, and its frame was counted. */
	assert_ptr_equal(TAILQ_FIRST(&fx->rt->rt_conns), fx->b.ic_conn);
	assert_int_equal(closed_newest(fx->rt->rt_closed), 1);
	assert_non_null(ce = closed_get(fx->rt->rt_closed, 1));
	assert_int_equal(ce->ce_info.ci_id, fx->a.ic_id);
	assert_int_equal(ce->ce_reason, CONN_REASON_ERROR);
	assert_int_equal(router_queued_bytes(fx->rt), 0);
	assert_int_equal(fx->rt->rt_stats.st_frames, 1);
	assert_int_equal(fx->rt->rt_stats.st_forwarded, 1);
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

/* Read what is there now, without waiting; returns the bytes read. */
static size_t
drain_fd(int fd)
{
	char	buf[4096];
	size_t	total = 0;
	ssize_t	n;

	while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
		total += (size_t)n;
	return total;
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
	struct fixture		*fx = *state;
	struct event_base	*base = fx->ip->ip_base;
	struct stats		*st = &fx->rt->rt_stats;
	struct conn		*c = fx->a.ic_conn;
	uint64_t		 before, most;
	const size_t		 fill = 192 * 1024;
	int			 i;

	/* To nobody: after the first read, no read takes more than a page. */
	fill_frames(fx->a.ic_fd, fx->b.ic_id + 1, fill);
	most = 0;
	for (i = 0; i < 200 && c->cn_bytes_in < fill; i++) {
		before = c->cn_bytes_in;
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (i > 0 && c->cn_bytes_in - before > most)
			most = c->cn_bytes_in - before;
	}
	assert_int_equal(c->cn_bytes_in, fill);
	assert_int_equal(most, ROUTER_READ_SHED);
	assert_int_equal(st->st_dropped_unknown, fill / 64);

	/* To a reader: the next read after a delivering one is full size. */
	fill_frames(fx->a.ic_fd, fx->b.ic_id, fill);
	most = 0;
	for (i = 0; i < 200 && c->cn_bytes_in < 2 * fill; i++) {
		before = c->cn_bytes_in;
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (c->cn_bytes_in - before > most)
			most = c->cn_bytes_in - before;
	}
	assert_int_equal(c->cn_bytes_in, 2 * fill);
	assert_true(most > 8 * ROUTER_READ_SHED);
	assert_int_equal(st->st_forwarded, fill / 64);
	assert_int_equal(st->st_frames, 2 * fill / 64);
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
	struct fixture	*fx = *state;
	struct stats	*st = &fx->rt->rt_stats;

	/* A delivered batch: a now reads through its own event. */
	fill_frames(fx->a.ic_fd, fx->b.ic_id, 4096);
	inproc_run_until_count(fx->ip, &st->st_forwarded, 64);
	assert_int_equal(drain_fd(fx->b.ic_fd), 64 * 60);

	/*
	 * Now no chain of 1 KiB to 32 KiB can be had: the read takes a
	 * 64 KiB chain, the run of 64 frames for b needs a 4 KiB one.
	 */
	fail_min = 1024;
	fail_max = 32768;
	fill_frames(fx->a.ic_fd, fx->b.ic_id, 4096);
	inproc_run_until_count(fx->ip, &st->st_frames, 128);
	fail_min = fail_max = 0;

	assert_int_equal(st->st_forwarded, 64);
	assert_int_equal(st->st_dropped_queue_full, 64);
	assert_int_equal(st->st_frames, st->st_forwarded +
	    st->st_dropped_unknown + st->st_dropped_queue_full);
	/* b is gone, a is still there. */
	assert_int_equal(registry_count(fx->rt->rt_registry), 1);
	assert_ptr_equal(registry_find(fx->rt->rt_registry, fx->a.ic_id),
	    fx->a.ic_conn);
	assert_null(registry_find(fx->rt->rt_registry, fx->b.ic_id));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_self_message_then_gone,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_shed_dropping_sender,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_out_of_memory,
		    setup, teardown),
	};

	/* Before libevent allocates anything: no failures until armed. */
	event_set_mem_functions(failing_malloc, failing_realloc, free);
	log_init(LOG_LEVEL_ERROR);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
