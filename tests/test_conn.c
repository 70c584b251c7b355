/*
 * Unit tests for a connection's read path on a socketpair: router_attach,
 * conn.c's reads, the router's routing and the flush, without a listener;
 * and a connection's states, walked through one at a time.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
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
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <openssl/ssl.h>

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

static int
nothing_watched(void *arg)
{
	return ((struct fixture *)arg)->rt->rt_nwatch == 0;
}

/* Read what b was sent; done when only a and b are left. */
static int
b_drained_two_left(void *arg)
{
	struct fixture	*fx = arg;

	drain_fd(fx->b.ic_fd);
	return registry_count(fx->rt->rt_registry) == 2;
}

/*
 * Two senders paused on b, which does not read.  One resets (an AF_UNIX
 * close with its id unread is ECONNRESET for the router's end, like a TCP
 * RST); the other only half-closes.  The watch tick frees the reset one
 * within a second: closed with sender_gone, its buffered frames counted as
 * dropped (sender_gone), so that the counters still add up.  The
 * half-closed one stays paused, and once b drains its frames are
 * delivered and it is closed at EOF.
 */
static void
test_paused_sender_gone(void **state)
{
	struct fixture			*fx = *state;
	struct stats			*st = &fx->rt->rt_stats;
	struct inproc_client		 gone, half;
	const struct closed_entry	*ce;
	uint32_t			 gone_id;

	inproc_attach(fx->ip, &gone, CLIENT_BUFSZ);	/* never reads its id */
	inproc_connect(fx->ip, &half, CLIENT_BUFSZ);
	gone_id = gone.ic_conn->cn_id;
	fill_frames(gone.ic_fd, fx->b.ic_id, 65536);
	fill_frames(half.ic_fd, fx->b.ic_id, 65536);
	inproc_run_until_count(fx->ip, &st->st_paused, 2);
	assert_ptr_equal(gone.ic_conn->cn_blocked_on, fx->b.ic_conn);
	assert_ptr_equal(half.ic_conn->cn_blocked_on, fx->b.ic_conn);

	assert_int_equal(shutdown(half.ic_fd, SHUT_WR), 0);
	close(gone.ic_fd);
	inproc_run_until_count(fx->ip, &st->st_disconnected_sender_gone, 1);
	assert_null(registry_find(fx->rt->rt_registry, gone_id));
	assert_non_null(ce = closed_get(fx->rt->rt_closed,
	    closed_newest(fx->rt->rt_closed)));
	assert_int_equal(ce->ce_info.ci_id, gone_id);
	assert_int_equal(ce->ce_reason, CONN_REASON_SENDER_GONE);
	assert_true(st->st_dropped_sender_gone >= 1);
	assert_int_equal(st->st_paused, 1);
	assert_ptr_equal(half.ic_conn->cn_blocked_on, fx->b.ic_conn);
	assert_int_equal(st->st_frames, st->st_forwarded +
	    st->st_dropped_unknown + st->st_dropped_queue_full +
	    st->st_dropped_sender_gone);

	/* b drains: the half-closed sender's frames all go out, then EOF. */
	inproc_run_until(fx->ip, b_drained_two_left, fx);
	assert_non_null(ce = closed_get(fx->rt->rt_closed,
	    closed_newest(fx->rt->rt_closed)));
	assert_int_equal(ce->ce_info.ci_id, half.ic_id);
	assert_int_equal(ce->ce_reason, CONN_REASON_EOF);
	assert_int_equal(ce->ce_info.ci_msgs_in, 65536 / 64);
	assert_int_equal(st->st_paused, 0);
	assert_int_equal(st->st_frames, st->st_forwarded +
	    st->st_dropped_unknown + st->st_dropped_queue_full +
	    st->st_dropped_sender_gone);
	assert_int_equal(st->st_frames - st->st_dropped_sender_gone,
	    fx->b.ic_conn->cn_msgs_out);
	/*
	 * The next tick forgets the closed sender (and frees it: the watch
	 * list held the last reference), and the tick stops.
	 */
	inproc_run_until(fx->ip, nothing_watched, fx);
	assert_false(evtimer_pending(fx->rt->rt_watch_ev, NULL));
	close(half.ic_fd);
}

/* Every state's and reason's name, and "unknown" past the last. */
static void
test_names(void **state)
{
	static const char *const states[] = {
		[CONN_NEW] = "new", [CONN_OPEN] = "open",
		[CONN_PAUSED] = "paused", [CONN_DONE] = "done",
		[CONN_CLOSED] = "closed", [CONN_NSTATES] = "unknown",
	};
	static const char *const reasons[] = {
		[CONN_REASON_EOF] = "eof", [CONN_REASON_ERROR] = "error",
		[CONN_REASON_OVERSIZE] = "oversize",
		[CONN_REASON_SLOW_CONSUMER] = "slow_consumer",
		[CONN_REASON_MAX_CLIENTS] = "max_clients",
		[CONN_REASON_SHUTDOWN] = "shutdown",
		[CONN_REASON_SENDER_GONE] = "sender_gone",
		[CONN_REASON_TLS] = "tls",
		[CONN_REASON_TLS_TIMEOUT] = "tls_timeout",
		[CONN_REASON_SCAN] = "scan",
		[CONN_REASON_BANNED] = "banned",
		[CONN_REASON_PER_ADDRESS] = "per_address",
		[CONN_NREASONS] = "unknown",
	};
	size_t	i;

	for (i = 0; i < sizeof states / sizeof states[0]; i++)
		assert_string_equal(conn_state_name((enum conn_state)i),
		    states[i]);
	assert_string_equal(conn_state_name((enum conn_state)255), "unknown");
	for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		assert_string_equal(conn_reason_name((enum conn_reason)i),
		    reasons[i]);
	assert_string_equal(conn_reason_name((enum conn_reason)255),
	    "unknown");
}

/*
 * The walk through the states: a sender s (the fixture's a) sends frames
 * of FRAME_LEN bytes (payload and 0x00) to a destination d (b), whose
 * socket buffers are small and whose queue_limit is QUEUE_LIMIT; frame k
 * is filled with 'a' + k % 26, so that every byte d gets is checked.
 */
#define QUEUE_LIMIT	4096
#define FRAME_LEN	1000
#define FRAME_WIRE	(4 + FRAME_LEN)
/* Frames s sends at once before its EOF: far more than d can hold. */
#define EOF_BATCH	48

static const struct fixture_want small_destination = {
	.queue_limit = QUEUE_LIMIT,
	.b_bufsz = 4096,
};

struct walk {
	struct fixture	*fx;
	struct conn	*s, *d;
	uint64_t	 sent;		/* frames s wrote */
	uint64_t	 received;	/* bytes d read, every one checked */
};

/* Write frames sent, sent + 1, ... (n of them) from s to d at once. */
static void
walk_send(struct walk *w, int fd, size_t n)
{
	unsigned char	*buf, *p;
	uint32_t	 be = htonl(w->fx->b.ic_id);
	size_t		 i;

	assert_non_null(buf = malloc(n * FRAME_WIRE));
	for (i = 0, p = buf; i < n; i++, p += FRAME_WIRE) {
		memcpy(p, &be, 4);
		memset(p + 4, 'a' + (int)((w->sent + i) % 26), FRAME_LEN - 1);
		p[FRAME_WIRE - 1] = '\0';
	}
	assert_int_equal(write(fd, buf, n * FRAME_WIRE),
	    (ssize_t)(n * FRAME_WIRE));
	w->sent += n;
	free(buf);
}

/* Read what d has now, without waiting, checking each byte. */
static void
walk_receive(struct walk *w)
{
	unsigned char	buf[4096], want;
	uint64_t	k, at;
	ssize_t		n, i;

	while ((n = recv(w->fx->b.ic_fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
		for (i = 0; i < n; i++, w->received++) {
			k = w->received / FRAME_LEN;
			at = w->received % FRAME_LEN;
			want = at == FRAME_LEN - 1 ? '\0' : 'a' + k % 26;
			if (buf[i] != want)
				fail_msg("byte %llu of d's input is 0x%02x, "
				    "not 0x%02x", (unsigned long long)
				    w->received, buf[i], want);
		}
	}
}

/* s's last frame was forwarded, or it paused s. */
static int
walk_forwarded_or_paused(void *arg)
{
	struct walk	*w = arg;

	return w->fx->rt->rt_stats.st_forwarded == w->sent ||
	    w->s->cn_blocked_on != NULL;
}

/* d read what it had: s waits no longer. */
static int
walk_resumed(void *arg)
{
	struct walk	*w = arg;

	walk_receive(w);
	return w->s->cn_blocked_on == NULL;
}

/* d read every frame s sent. */
static int
walk_received_all(void *arg)
{
	struct walk	*w = arg;

	walk_receive(w);
	return w->received == w->sent * FRAME_LEN;
}

/* s read its EOF and waits for d with frames left (or s is closed). */
static int
walk_done_waiting(void *arg)
{
	struct walk	*w = arg;

	return conn_state(w->s) == CONN_CLOSED ||
	    (conn_eof_reason(w->s) == CONN_REASON_EOF &&
	    w->s->cn_blocked_on == w->d);
}

/* d read what it had, and the router closed a client. */
static int
walk_closed(void *arg)
{
	struct walk	*w = arg;

	walk_receive(w);
	return closed_newest(w->fx->rt->rt_closed) > 0;
}

/* s's end reads EOF: the router closed it, with nothing unread. */
static int
walk_s_eof(void *arg)
{
	char	byte;

	return recv(*(int *)arg, &byte, 1, MSG_DONTWAIT) == 0;
}

/* The drain's client t read its first bytes. */
static int
walk_t_open(void *arg)
{
	return conn_state(arg) == CONN_OPEN;
}

/* NEW, then OPEN once its first bytes are read (by the bufferevent). */
static void
states_new_open(struct walk *w, struct fixture *fx)
{
	struct stats	*st = &fx->rt->rt_stats;

	assert_int_equal(conn_state(w->s), CONN_NEW);
	assert_int_equal(conn_state(w->d), CONN_NEW);
	walk_send(w, fx->a.ic_fd, 1);
	inproc_run_until_count(fx->ip, &st->st_forwarded, 1);
	assert_int_equal(conn_state(w->s), CONN_OPEN);
	assert_int_equal(conn_state(w->d), CONN_NEW);
}

/*
 * PAUSED: one frame at a time, d reading none, until d is full; then OPEN
 * again once d reads and its queue falls to the resume mark.
 */
static void
states_paused_resumed(struct walk *w, struct fixture *fx)
{
	struct stats	*st = &fx->rt->rt_stats;

	while (w->s->cn_blocked_on == NULL) {
		assert_true(w->sent < 100);
		walk_send(w, fx->a.ic_fd, 1);
		inproc_run_until(fx->ip, walk_forwarded_or_paused, w);
	}
	assert_int_equal(conn_state(w->s), CONN_PAUSED);
	assert_ptr_equal(w->s->cn_blocked_on, w->d);
	assert_ptr_equal(TAILQ_FIRST(&w->d->cn_waiters), w->s);
	assert_int_equal(st->st_paused, 1);
	assert_int_equal(st->st_forwarded, w->sent - 1);
	assert_true(conn_queued(w->d) + FRAME_LEN > QUEUE_LIMIT);
	/* The frame that found d full waits at the head of s's input. */
	assert_int_equal(evbuffer_get_length(conn_input(w->s)), FRAME_WIRE);

	inproc_run_until(fx->ip, walk_resumed, w);
	assert_int_equal(conn_state(w->s), CONN_OPEN);
	assert_int_equal(st->st_paused, 0);
	assert_true(TAILQ_EMPTY(&w->d->cn_waiters));
	inproc_run_until(fx->ip, walk_received_all, w);
	assert_int_equal(st->st_forwarded, w->sent);
	assert_int_equal(conn_state(w->s), CONN_OPEN);
}

/*
 * DONE: s sends more than d can take and shuts down its write side.  Its
 * EOF is read, and its frames wait for d: not closed yet.  The caller's
 * reference keeps the struct to look at when it is closed.
 */
static void
states_done_at_eof(struct walk *w, struct fixture *fx)
{
	struct router	*rt = fx->rt;
	struct stats	*st = &rt->rt_stats;
	char		 byte;

	walk_send(w, fx->a.ic_fd, EOF_BATCH);
	assert_int_equal(shutdown(fx->a.ic_fd, SHUT_WR), 0);
	inproc_run_until(fx->ip, walk_done_waiting, w);
	assert_int_equal(conn_state(w->s), CONN_DONE);
	assert_int_equal(st->st_paused, 1);
	assert_int_equal(w->s->cn_bytes_in, w->sent * FRAME_WIRE);
	assert_true(st->st_forwarded < w->sent);
	assert_int_equal(evbuffer_get_length(conn_input(w->s)),
	    (w->sent - st->st_forwarded) * FRAME_WIRE);
	assert_ptr_equal(registry_find(rt->rt_registry, fx->a.ic_id), w->s);
	assert_int_equal(closed_newest(rt->rt_closed), 0);
	assert_int_equal(recv(fx->a.ic_fd, &byte, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
}

/* CLOSED once d has read enough for the rest: every frame routed. */
static void
states_closed(struct walk *w, struct fixture *fx)
{
	struct router			*rt = fx->rt;
	struct stats			*st = &rt->rt_stats;
	const struct closed_entry	*ce;

	inproc_run_until(fx->ip, walk_closed, w);
	assert_int_equal(conn_state(w->s), CONN_CLOSED);
	assert_int_equal(closed_newest(rt->rt_closed), 1);
	assert_non_null(ce = closed_get(rt->rt_closed, 1));
	assert_string_equal(conn_reason_name(ce->ce_reason), "eof");
	assert_int_equal(ce->ce_info.ci_id, fx->a.ic_id);
	assert_int_equal(ce->ce_info.ci_msgs_in, w->sent);
	assert_int_equal(ce->ce_info.ci_bytes_in, w->sent * FRAME_WIRE);
	assert_int_equal(ce->ce_info.ci_paused, 0);
	assert_null(registry_find(rt->rt_registry, fx->a.ic_id));
	inproc_run_until(fx->ip, walk_s_eof, &fx->a.ic_fd);
	inproc_run_until(fx->ip, walk_received_all, w);
	assert_int_equal(st->st_forwarded, w->sent);
	assert_int_equal(st->st_frames, w->sent);
	assert_int_equal(st->st_paused, 0);
}

/* DONE by the drain: t from OPEN, d from NEW; nothing is left. */
static void
states_done_by_drain(struct walk *w, struct fixture *fx)
{
	struct router		*rt = fx->rt;
	struct inproc_client	 t;

	inproc_connect(fx->ip, &t, 0);
	assert_int_equal(conn_state(t.ic_conn), CONN_NEW);
	walk_send(w, t.ic_fd, 1);
	inproc_run_until(fx->ip, walk_t_open, t.ic_conn);
	inproc_run_until(fx->ip, walk_received_all, w);
	assert_int_equal(conn_state(w->d), CONN_NEW);
	router_drain_start(rt);
	assert_int_equal(conn_state(t.ic_conn), CONN_DONE);
	assert_int_equal(conn_state(w->d), CONN_DONE);
	/* Not an EOF: the drain does not close them. */
	assert_int_equal(conn_eof_reason(t.ic_conn), -1);
	assert_int_equal(conn_eof_reason(w->d), -1);
	assert_int_equal(rt->rt_drain_done, 1);
	assert_int_equal(rt->rt_drain_abandoned, 0);
	assert_int_equal(registry_count(rt->rt_registry), 2);
	assert_int_equal(rt->rt_stats.st_forwarded, w->sent);
	close(t.ic_fd);
}

/*
 * One client through every state, and each change seen when it happens:
 * NEW after router_attach; OPEN once its first bytes are read; PAUSED on a
 * full destination (backpressure), OPEN again when that drains; DONE at its
 * EOF with frames still waiting for the full destination, which are routed
 * when it drains, and then CLOSED, reason "eof"; DONE by the drain, from
 * OPEN and from NEW.
 */
static void
test_states(void **state)
{
	struct fixture	*fx = *state;
	struct walk	 w = { .fx = fx, .s = fx->a.ic_conn,
			    .d = fx->b.ic_conn };

	states_new_open(&w, fx);
	states_paused_resumed(&w, fx);
	conn_ref(w.s);
	states_done_at_eof(&w, fx);
	states_closed(&w, fx);
	conn_unref(w.s);
	w.s = NULL;
	states_done_by_drain(&w, fx);
}

/*
 * bufferevent_openssl_socket_new fails (libevent out of memory): it has
 * freed the SSL already (libevent 2.1), so conn_new_tls must not free it
 * again (ASan would see the double free), but it closes the socket, which
 * libevent leaves open.
 */
static void
test_tls_bufferevent_fails(void **state)
{
	struct event_base	*base;
	struct sockaddr_in	 sin;
	SSL_CTX			*ctx;
	SSL			*ssl;
	int			 sv[2];
	char			 c;

	assert_non_null(base = event_base_new());
	assert_non_null(ctx = SSL_CTX_new(TLS_server_method()));
	assert_non_null(ssl = SSL_new(ctx));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fail_min = 1;
	fail_max = SIZE_MAX;
	assert_null(conn_new_tls(base, sv[0], (struct sockaddr *)&sin,
	    sizeof sin, NULL, NULL, ssl, 1000));
	fail_min = fail_max = 0;
	assert_int_equal(fcntl(sv[0], F_GETFD), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(read(sv[1], &c, 1), 0);
	close(sv[1]);
	SSL_CTX_free(ctx);
	event_base_free(base);
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
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_tls_bufferevent_fails),
		cmocka_unit_test_prestate_setup_teardown(test_states, setup,
		    teardown, (void *)&small_destination),
		cmocka_unit_test_prestate_setup_teardown(
		    test_paused_sender_gone, setup, teardown,
		    (void *)&small_destination),
	};

	/* Before libevent allocates anything: no failures until armed. */
	event_set_mem_functions(failing_malloc, failing_realloc, free);
	log_init(LOG_LEVEL_ERROR);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
