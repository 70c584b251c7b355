/*
 * Integration tests: the real msgrouterd on a free loopback port, driven
 * with raw sockets.  Every test asserts exact bytes or exact counts.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define T	HARNESS_TIMEOUT_MS

static void
start(struct daemon *d, const char *const *args)
{
	assert_int_equal(daemon_start(d, args), 0);
}

/* Stop with SIGTERM; the exit status must be 0. */
static void
stop(struct daemon *d)
{
	int rc = daemon_stop(d, SIGTERM, T);
	if (rc != 0)
		daemon_dump_log(d);
	assert_int_equal(rc, 0);
}

/* A counter from the line the daemon logs at exit. */
static long long
counter(struct daemon *d, const char *name)
{
	return daemon_log_value(d, "final counters", name);
}

static void
expect_msg(int fd, const char *payload)
{
	assert_int_equal(tc_expect(fd, payload, strlen(payload) + 1, T), 0);
}

/* The seed's test: two clients say hello to each other. */
static void
test_two_clients(void **state)
{
	struct daemon	d;
	uint32_t	id1, id2;
	int		c1, c2;

	start(&d, NULL);
	c1 = tc_connect(&d, &id1);
	c2 = tc_connect(&d, &id2);
	assert_true(c1 >= 0 && c2 >= 0);
	assert_int_not_equal(id1, id2);
	assert_int_equal(tc_send(c1, id2, "hello, number 2"), 0);
	expect_msg(c2, "hello, number 2");
	assert_int_equal(tc_send(c2, id1, "hello back, number 1"), 0);
	expect_msg(c1, "hello back, number 1");
	close(c1);
	close(c2);
	stop(&d);
	assert_int_equal(counter(&d, "forwarded"), 2);
	assert_int_equal(counter(&d, "bytes_forwarded"), 16 + 21);
	assert_int_equal(counter(&d, "bytes_received"), 20 + 25);
	assert_int_equal(counter(&d, "accepted"), 2);
}

/*
 * A frame written one byte at a time arrives whole, and only once complete:
 * a message from a third client, sent while the frame is half written,
 * arrives first and unmixed.
 */
static void
test_fragmented(void **state)
{
	struct daemon	d;
	uint32_t	ida, idb, idc;
	char		frame[64];
	size_t		len, i;
	int		a, b, c;

	start(&d, NULL);
	a = tc_connect(&d, &ida);
	b = tc_connect(&d, &idb);
	c = tc_connect(&d, &idc);
	len = tc_frame(frame, idb, "sent one byte at a time");
	for (i = 0; i < len / 2; i++)
		assert_int_equal(tc_write(a, frame + i, 1), 0);
	assert_int_equal(tc_send(c, idb, "from c"), 0);
	expect_msg(b, "from c");
	for (; i < len; i++)
		assert_int_equal(tc_write(a, frame + i, 1), 0);
	expect_msg(b, "sent one byte at a time");
	close(a);
	close(b);
	close(c);
	stop(&d);
	assert_int_equal(counter(&d, "forwarded"), 2);
}

/* Hundreds of frames in one write, to three destinations, each in order. */
static void
test_coalesced(void **state)
{
	enum { N = 300 };
	struct daemon	 d;
	uint32_t	 ids, idr[3];
	char		*buf, payload[32], got[64];
	size_t		 off = 0;
	int		 s, r[3], i;

	start(&d, NULL);
	s = tc_connect(&d, &ids);
	for (i = 0; i < 3; i++)
		r[i] = tc_connect(&d, &idr[i]);
	buf = malloc(N * 40);
	for (i = 0; i < N; i++) {
		snprintf(payload, sizeof payload, "msg %d", i);
		off += tc_frame(buf + off, idr[i % 3], payload);
	}
	assert_int_equal(tc_write(s, buf, off), 0);
	for (i = 0; i < N; i++) {
		snprintf(payload, sizeof payload, "msg %d", i);
		assert_int_equal(tc_recv_msg(r[i % 3], got, sizeof got, T),
		    (ssize_t)strlen(payload) + 1);
		assert_string_equal(got, payload);
	}
	free(buf);
	close(s);
	for (i = 0; i < 3; i++)
		close(r[i]);
	stop(&d);
	assert_int_equal(counter(&d, "forwarded"), N);
}

/* A message to oneself is delivered like any other. */
static void
test_self(void **state)
{
	struct daemon	d;
	uint32_t	id;
	int		c;

	start(&d, NULL);
	c = tc_connect(&d, &id);
	assert_int_equal(tc_send(c, id, "note to self"), 0);
	expect_msg(c, "note to self");
	close(c);
	stop(&d);
}

/*
 * Unknown destination: dropped and counted, the sender stays connected and
 * its next message goes through.
 */
static void
test_unknown_destination(void **state)
{
	struct daemon	d;
	uint32_t	ida, idb, unknown;
	int		a, b;

	start(&d, NULL);
	a = tc_connect(&d, &ida);
	b = tc_connect(&d, &idb);
	unknown = ida ^ idb ^ 0x5a5a5a5a;
	if (unknown == ida || unknown == idb || unknown == 0)
		unknown = 0x01020304;
	assert_int_equal(tc_send(a, unknown, "into the void"), 0);
	assert_int_equal(tc_send(a, idb, "still here"), 0);
	expect_msg(b, "still here");
	close(a);
	close(b);
	stop(&d);
	assert_int_equal(counter(&d, "dropped_unknown"), 1);
	assert_int_equal(counter(&d, "forwarded"), 1);
	assert_int_equal(counter(&d, "frames"), 2);
}

/*
 * A sender that disconnects mid-message: nothing of its partial frame
 * reaches the destination, and later messages to its id are dropped.
 */
static void
test_disconnect_mid_message(void **state)
{
	struct daemon	d;
	uint32_t	ida, idb, idc;
	char		frame[64];
	size_t		len;
	int		a, b, c;

	start(&d, NULL);
	a = tc_connect(&d, &ida);
	b = tc_connect(&d, &idb);
	c = tc_connect(&d, &idc);
	len = tc_frame(frame, idb, "never finished");
	assert_int_equal(tc_write(a, frame, len - 5), 0);
	close(a);
	assert_int_equal(daemon_wait_log(&d, "closed: eof", 1, T), 0);
	assert_int_equal(tc_send(c, ida, "to the departed"), 0);
	assert_int_equal(tc_send(c, idb, "complete"), 0);
	/* b gets exactly the complete message: no bytes from a's frame. */
	expect_msg(b, "complete");
	close(b);
	close(c);
	stop(&d);
	assert_int_equal(counter(&d, "dropped_unknown"), 1);
	assert_int_equal(counter(&d, "forwarded"), 1);
}

/*
 * max_message_size bounds payload + 0x00: exactly the limit passes, one
 * byte more disconnects the sender, logged with its id; others carry on.
 */
static void
test_oversize(void **state)
{
	static const char *args[] = { "--max-message-size", "100", NULL };
	struct daemon	d;
	uint32_t	ida, idb;
	char		payload[200], line[64];
	int		a, b;

	start(&d, args);
	a = tc_connect(&d, &ida);
	b = tc_connect(&d, &idb);
	memset(payload, 'x', 99);
	payload[99] = '\0';
	assert_int_equal(tc_send(a, idb, payload), 0);
	expect_msg(b, payload);
	memset(payload, 'y', 100);
	payload[100] = '\0';
	assert_int_equal(tc_send(a, idb, payload), 0);
	assert_int_equal(tc_expect_close(a, T), 0);
	snprintf(line, sizeof line, "client %u: no 0x00 within", ida);
	assert_int_equal(daemon_wait_log(&d, line, 1, T), 0);
	snprintf(line, sizeof line, "client %u closed: oversize", ida);
	assert_int_equal(daemon_wait_log(&d, line, 1, T), 0);
	/* b is still served. */
	assert_int_equal(tc_send(b, idb, "fine"), 0);
	expect_msg(b, "fine");
	close(a);
	close(b);
	stop(&d);
	assert_int_equal(counter(&d, "disconnected_oversize"), 1);
	assert_int_equal(counter(&d, "forwarded"), 2);
}

/* Oversize is detected without the 0x00 ever arriving. */
static void
test_oversize_endless(void **state)
{
	static const char *args[] = { "--max-message-size", "1K", NULL };
	struct daemon	d;
	uint32_t	ida, be;
	char		junk[4096];
	int		a;

	start(&d, args);
	a = tc_connect(&d, &ida);
	be = htonl(ida);
	memset(junk, 'j', sizeof junk);
	assert_int_equal(tc_write(a, &be, 4), 0);
	(void)tc_write(a, junk, sizeof junk);
	assert_int_equal(tc_expect_close(a, T), 0);
	close(a);
	stop(&d);
	assert_int_equal(counter(&d, "disconnected_oversize"), 1);
}

/* Two clients exchange n messages, each checked. */
static void
ping_pong(int a, uint32_t ida, int b, uint32_t idb, int n)
{
	assert_int_equal(tc_ping_pong(a, ida, b, idb, n), 0);
}

/*
 * Write fixed-size numbered messages to dst until n are written; returns
 * how many were written before the socket would block for good (the
 * router stopped reading), as seen through the daemon's log.
 */
static int
spam(int fd, uint32_t dst, int from, int n, size_t size)
{
	char	*frame = malloc(size + 5), payload[8192];
	int	 i;

	assert_true(size < sizeof payload);
	for (i = from; i < n; i++) {
		memset(payload, 'a' + i % 26, size);
		snprintf(payload, 16, "%010d", i);
		payload[10] = ':';
		payload[size] = '\0';
		tc_frame(frame, dst, payload);
		if (tc_write(fd, frame, size + 5) != 0)
			break;
	}
	free(frame);
	return i;
}

/* A buffered reader of NUL-terminated messages. */
struct reader {
	int	fd;
	size_t	off, len;
	char	buf[65536];
};

/* The next message into out (with its 0x00); its length or -1. */
static ssize_t
reader_next(struct reader *r, char *out, size_t max)
{
	size_t	n = 0;
	char	c;

	for (;;) {
		if (r->off == r->len) {
			struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
			ssize_t k;
			if (poll(&pfd, 1, T) <= 0)
				return -1;
			if ((k = read(r->fd, r->buf, sizeof r->buf)) <= 0)
				return -1;
			r->off = 0;
			r->len = (size_t)k;
		}
		c = r->buf[r->off++];
		if (n == max)
			return -1;
		out[n++] = c;
		if (c == '\0')
			return (ssize_t)n;
	}
}

/*
 * Read numbered messages from fd until the expected count, checking that
 * each is whole, in order and intact; returns how many arrived.  With
 * gaps_ok, sequence numbers only have to increase (the drop policy).
 */
static int
drain_numbered(int fd, int expect, size_t size, int gaps_ok, int *last)
{
	struct reader	*r = calloc(1, sizeof *r);
	char		*buf = malloc(size + 1), want[16];
	int		 got = 0, seq, prev = -1;
	size_t		 j;

	r->fd = fd;
	while (got < expect) {
		if (reader_next(r, buf, size + 1) != (ssize_t)size + 1)
			break;
		seq = atoi(buf);
		if (gaps_ok)
			assert_true(seq > prev);
		else
			assert_int_equal(seq, prev + 1);
		snprintf(want, sizeof want, "%010d", seq);
		assert_memory_equal(buf, want, 10);
		for (j = 11; j < size; j++)
			assert_int_equal(buf[j], 'a' + seq % 26);
		prev = seq;
		got++;
	}
	free(buf);
	free(r);
	if (last != NULL)
		*last = prev;
	return got;
}

/*
 * backpressure: a client that never reads does not slow down others; its
 * sender is paused, not dropped; when the reader wakes up it receives
 * every message, in order, and the sender resumes.
 */
static void
test_backpressure(void **state)
{
	static const char *args[] = { "--queue-limit", "64K",
	    "--log-level", "debug", NULL };
	enum { N = 10000, SIZE = 1000 };
	struct daemon	d;
	uint32_t	ida, idb, ids, idp;
	char		line[64];
	int		a, b, s, p, sent;
	pid_t		child;

	start(&d, args);
	a = tc_connect(&d, &ida);
	b = tc_connect(&d, &idb);
	s = tc_connect_small(&d, &ids);
	p = tc_connect(&d, &idp);

	/* The spammer runs in a child: its writes block once paused. */
	if ((child = fork()) == 0) {
		sent = spam(p, ids, 0, N, SIZE);
		_exit(sent == N ? 0 : 1);
	}
	snprintf(line, sizeof line, "client %u: paused", idp);
	assert_int_equal(daemon_wait_log(&d, line, 1, T), 0);
	/* While the spammer is held, a and b talk at full speed. */
	ping_pong(a, ida, b, idb, 200);
	/* The stalled reader wakes up: all N arrive, in order. */
	assert_int_equal(drain_numbered(s, N, SIZE, 0, NULL), N);
	assert_int_equal(waitpid(child, &sent, 0), child);
	assert_true(WIFEXITED(sent) && WEXITSTATUS(sent) == 0);
	close(a);
	close(b);
	close(s);
	close(p);
	stop(&d);
	assert_int_equal(counter(&d, "forwarded"), N + 400);
	assert_int_equal(counter(&d, "dropped_queue_full"), 0);
	assert_true(counter(&d, "paused_total") >= 1);
}

/*
 * backpressure and the lost wake-up: when the destination that paused a
 * sender disconnects, the sender is resumed and its next messages flow.
 */
static void
test_backpressure_destination_leaves(void **state)
{
	static const char *args[] = { "--queue-limit", "16K",
	    "--log-level", "debug", NULL };
	enum { N = 5000, SIZE = 1000 };
	struct daemon	d;
	uint32_t	ids, idp, ida;
	char		line[64];
	int		s, p, a, status;
	pid_t		child;

	start(&d, args);
	s = tc_connect_small(&d, &ids);
	p = tc_connect(&d, &idp);
	a = tc_connect(&d, &ida);
	if ((child = fork()) == 0) {
		/* Blocks while paused; completes once s is gone. */
		spam(p, ids, 0, N, SIZE);
		_exit(tc_send(p, ida, "resumed") == 0 ? 0 : 1);
	}
	snprintf(line, sizeof line, "client %u: paused", idp);
	assert_int_equal(daemon_wait_log(&d, line, 1, T), 0);
	close(s);
	snprintf(line, sizeof line, "client %u: resumed", idp);
	assert_int_equal(daemon_wait_log(&d, line, 1, T), 0);
	expect_msg(a, "resumed");
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(p);
	close(a);
	stop(&d);
	/* Every frame was forwarded before s left or dropped after. */
	assert_int_equal(counter(&d, "forwarded") +
	    counter(&d, "dropped_unknown"), N + 1);
	assert_true(counter(&d, "dropped_unknown") > 0);
}

/*
 * backpressure and a sender that leaves while paused: what it sent before
 * closing was accepted, so every message still reaches the destination.
 */
static void
test_backpressure_sender_leaves(void **state)
{
	static const char *args[] = { "--queue-limit", "16K",
	    "--log-level", "debug", NULL };
	enum { N = 5000, SIZE = 1000 };
	struct daemon	d;
	uint32_t	ids, idp;
	char		line[64];
	int		s, p, status;
	pid_t		child;

	start(&d, args);
	s = tc_connect_small(&d, &ids);
	p = tc_connect(&d, &idp);
	if ((child = fork()) == 0)
		_exit(spam(p, ids, 0, N, SIZE) == N ? 0 : 1);
	/* The child's exit closes the sender, most likely while it is paused. */
	close(p);
	snprintf(line, sizeof line, "client %u: paused", idp);
	assert_int_equal(daemon_wait_log(&d, line, 1, T), 0);
	assert_int_equal(drain_numbered(s, N, SIZE, 0, NULL), N);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(line, sizeof line, "client %u closed: eof", idp);
	assert_int_equal(daemon_wait_log(&d, line, 1, T), 0);
	close(s);
	stop(&d);
	assert_int_equal(counter(&d, "forwarded"), N);
}

/*
 * A message to oneself, then a reset: the flush that routing ends with
 * fails on the very connection being read, which must not be used after
 * it is freed (ASan builds catch it; plain ones crash or exit non-zero).
 */
static void
test_self_then_reset(void **state)
{
	struct daemon	d;
	struct linger	lg = { 1, 0 };
	uint32_t	id, ida, idb;
	char		frame[64];
	size_t		len;
	int		i, c, a, b;

	start(&d, NULL);
	for (i = 0; i < 20; i++) {
		c = tc_connect(&d, &id);
		assert_true(c >= 0);
		len = tc_frame(frame, id, "hi");
		setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		assert_int_equal(tc_write(c, frame, len), 0);
		close(c);
	}
	/* Still routing. */
	a = tc_connect(&d, &ida);
	b = tc_connect(&d, &idb);
	ping_pong(a, ida, b, idb, 5);
	close(a);
	close(b);
	stop(&d);
}

/*
 * SIGTERM while a sender is paused: frames it had sent are accepted data;
 * the drain routes them as the slow reader catches up, every one arrives,
 * and every frame is accounted for.
 */
static void
test_drain_routes_paused_input(void **state)
{
	static const char *args[] = { "--queue-limit", "16K",
	    "--log-level", "debug", "--shutdown-timeout", "60s", NULL };
	enum { N = 20000, SIZE = 1000 };
	struct daemon	d;
	uint32_t	ids, idp;
	char		line[64];
	int		s, p, got, last, rc;
	pid_t		child;

	start(&d, args);
	s = tc_connect_small(&d, &ids);
	p = tc_connect(&d, &idp);
	if ((child = fork()) == 0)
		_exit(spam(p, ids, 0, N, SIZE) == N ? 0 : 1);
	close(p);
	snprintf(line, sizeof line, "client %u: paused", idp);
	assert_int_equal(daemon_wait_log(&d, line, 1, T), 0);
	kill(d.pid, SIGTERM);
	assert_int_equal(daemon_wait_log(&d, "draining: ", 1, T), 0);
	/* The reader wakes up only now. */
	got = drain_numbered(s, N, SIZE, 0, &last);
	rc = daemon_wait_exit(&d, T);
	assert_int_equal(rc, 0);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(s);
	assert_int_equal(daemon_log_count(&d, "drain complete"), 1);
	assert_int_equal(daemon_log_value(&d, "drain complete",
	    "abandoned_frames"), 0);
	/* Everything accepted was forwarded, and the reader got all of it. */
	assert_true(got > 0);
	assert_int_equal(counter(&d, "forwarded"), got);
	assert_int_equal(counter(&d, "frames"), got);
}

/*
 * A reload that switches the policy re-decides for senders paused under
 * the old one: backpressure to disconnect cuts off the slow reader and the
 * sender's next message to someone else goes through.
 */
static void
test_reload_repolicies_paused(void **state)
{
	static const char *args[] = { "-c", NULL, "--log-level", "debug",
	    NULL };
	enum { N = 5000, SIZE = 1000 };
	struct daemon	 d;
	const char	*dir = getenv("TESTS_TMPDIR");
	char		 path[256], line[64];
	uint32_t	 ids, idp, ida;
	int		 s, p, a, status;
	FILE		*f;
	pid_t		 child;

	snprintf(path, sizeof path, "%s/test_routing-%d-reload.conf",
	    dir != NULL ? dir : ".", (int)getpid());
	f = fopen(path, "w");
	fprintf(f, "[router]\nqueue_limit = 16K\n"
	    "slow_consumer = backpressure\n");
	fclose(f);
	args[1] = path;
	start(&d, args);
	s = tc_connect_small(&d, &ids);
	p = tc_connect(&d, &idp);
	a = tc_connect(&d, &ida);
	if ((child = fork()) == 0) {
		spam(p, ids, 0, N, SIZE);
		_exit(tc_send(p, ida, "after the switch") == 0 ? 0 : 1);
	}
	snprintf(line, sizeof line, "client %u: paused", idp);
	assert_int_equal(daemon_wait_log(&d, line, 1, T), 0);
	f = fopen(path, "w");
	fprintf(f, "[router]\nqueue_limit = 16K\n"
	    "slow_consumer = disconnect\n");
	fclose(f);
	kill(d.pid, SIGHUP);
	snprintf(line, sizeof line, "client %u closed: slow_consumer", ids);
	assert_int_equal(daemon_wait_log(&d, line, 1, T), 0);
	expect_msg(a, "after the switch");
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(s);
	close(p);
	close(a);
	stop(&d);
	unlink(path);
	assert_int_equal(counter(&d, "disconnected_slow"), 1);
}

/*
 * A client that shuts down only its sending side still receives what is
 * queued for it; the router closes it once that is written.
 */
static void
test_half_close(void **state)
{
	enum { N = 5000, SIZE = 1000 };
	struct daemon	d;
	uint32_t	ida, idb, idp;
	char		line[64];
	int		a, b, p;

	start(&d, NULL);
	b = tc_connect_small(&d, &idb);
	p = tc_connect(&d, &idp);
	a = tc_connect(&d, &ida);
	/* Queue a backlog for b (8M limit: nothing is held back). */
	assert_int_equal(spam(p, idb, 0, N, SIZE), N);
	/* Per-sender order: once a has this, all of b's backlog is queued. */
	assert_int_equal(tc_send(p, ida, "routed"), 0);
	expect_msg(a, "routed");
	shutdown(b, SHUT_WR);
	assert_int_equal(drain_numbered(b, N, SIZE, 0, NULL), N);
	assert_int_equal(tc_expect_close(b, T), 0);
	snprintf(line, sizeof line, "client %u closed: eof", idb);
	assert_int_equal(daemon_wait_log(&d, line, 1, T), 0);
	assert_int_equal(daemon_log_count(&d, "0 bytes unsent"), 1);
	close(a);
	close(b);
	close(p);
	stop(&d);
	assert_int_equal(counter(&d, "forwarded"), N + 1);
}

/*
 * drop: messages that find the queue full are discarded and counted; what
 * the slow reader gets is whole messages in increasing order, and the
 * others are unaffected.
 */
static void
test_drop(void **state)
{
	static const char *args[] = { "--queue-limit", "16K",
	    "--slow-consumer", "drop", NULL };
	enum { N = 5000, SIZE = 1000 };
	struct daemon	d;
	uint32_t	ida, idb, ids, idp;
	int		a, b, s, p, got, last;

	start(&d, args);
	a = tc_connect(&d, &ida);
	b = tc_connect(&d, &idb);
	s = tc_connect_small(&d, &ids);
	p = tc_connect(&d, &idp);
	/* Drop never stops reading: the blocking writes all complete. */
	assert_int_equal(spam(p, ids, 0, N, SIZE), N);
	/* Per-sender order: once this arrives, all N were routed. */
	assert_int_equal(tc_send(p, ida, "after the flood"), 0);
	expect_msg(a, "after the flood");
	ping_pong(a, ida, b, idb, 100);
	stop(&d);
	/* The daemon closed s; read what it had got. */
	got = drain_numbered(s, N, SIZE, 1, &last);
	assert_true(got > 0);
	assert_true(got < N);
	assert_int_equal(counter(&d, "forwarded") +
	    counter(&d, "dropped_queue_full"), N + 1 + 200);
	assert_true(counter(&d, "dropped_queue_full") > 0);
	assert_int_equal(counter(&d, "disconnected_slow"), 0);
	close(a);
	close(b);
	close(s);
	close(p);
}

/*
 * disconnect: the slow destination is closed and counted; the message that
 * found its queue full is dropped and counted; the sender stays.
 */
static void
test_disconnect_slow(void **state)
{
	static const char *args[] = { "--queue-limit", "16K",
	    "--slow-consumer", "disconnect", NULL };
	enum { N = 5000, SIZE = 1000 };
	struct daemon	d;
	uint32_t	ida, idb, ids, idp;
	char		line[64];
	int		a, b, s, p;

	start(&d, args);
	a = tc_connect(&d, &ida);
	b = tc_connect(&d, &idb);
	s = tc_connect_small(&d, &ids);
	p = tc_connect(&d, &idp);
	assert_int_equal(spam(p, ids, 0, N, SIZE), N);
	assert_int_equal(tc_send(p, ida, "sender still connected"), 0);
	expect_msg(a, "sender still connected");
	ping_pong(a, ida, b, idb, 100);
	snprintf(line, sizeof line, "client %u closed: slow_consumer", ids);
	assert_int_equal(daemon_wait_log(&d, line, 1, T), 0);
	assert_int_equal(tc_expect_close(s, T), 0);
	close(a);
	close(b);
	close(s);
	close(p);
	stop(&d);
	assert_int_equal(counter(&d, "disconnected_slow"), 1);
	assert_int_equal(counter(&d, "dropped_queue_full"), 1);
	/* The rest went to s before it was cut off, or to nobody after. */
	assert_int_equal(counter(&d, "forwarded") +
	    counter(&d, "dropped_queue_full") +
	    counter(&d, "dropped_unknown"), N + 1 + 200);
}

/* max_clients: the next connection is closed without an id, and counted. */
static void
test_max_clients(void **state)
{
	static const char *args[] = { "--max-clients", "3", NULL };
	struct daemon	d;
	uint32_t	id[3], id4;
	long long	deadline;
	char		byte;
	int		c[3], x, i;

	start(&d, args);
	for (i = 0; i < 3; i++)
		assert_true((c[i] = tc_connect(&d, &id[i])) >= 0);
	x = tc_connect_raw(&d);
	assert_true(x >= 0);
	/* Closed at once: EOF before a single byte. */
	assert_int_equal(tc_read_exact(x, &byte, 1, T), -1);
	close(x);
	/* A slot frees up when a client leaves. */
	close(c[0]);
	assert_int_equal(daemon_wait_log(&d, "closed: eof", 1, T), 0);
	deadline = tc_now_ms() + T;
	while ((x = tc_connect(&d, &id4)) < 0 && tc_now_ms() < deadline)
		;
	assert_true(x >= 0);
	close(x);
	close(c[1]);
	close(c[2]);
	stop(&d);
	assert_int_equal(counter(&d, "rejected"), 1);
	assert_int_equal(counter(&d, "accepted"), 4);
}

/*
 * Per-pair order under load: eight senders each write 5000 numbered
 * messages to their own receiver in large batches at once; every receiver
 * gets all of them in order.
 */
static void
test_order_under_load(void **state)
{
	enum { P = 8, N = 5000, SIZE = 100 };
	struct daemon	 d;
	uint32_t	 ids[P], idr[P];
	int		 s[P], r[P], i, status;
	pid_t		 child[P];

	start(&d, NULL);
	for (i = 0; i < P; i++) {
		s[i] = tc_connect(&d, &ids[i]);
		r[i] = tc_connect(&d, &idr[i]);
	}
	for (i = 0; i < P; i++) {
		if ((child[i] = fork()) == 0)
			_exit(spam(s[i], idr[i], 0, N, SIZE) == N ? 0 : 1);
	}
	for (i = 0; i < P; i++)
		assert_int_equal(drain_numbered(r[i], N, SIZE, 0, NULL), N);
	for (i = 0; i < P; i++) {
		assert_int_equal(waitpid(child[i], &status, 0), child[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		close(s[i]);
		close(r[i]);
	}
	stop(&d);
	assert_int_equal(counter(&d, "forwarded"), P * N);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Open n connections at once and collect their ids. */
static void
many_ids(struct daemon *d, int n, uint32_t *ids)
{
	int	*fds = calloc((size_t)n, sizeof *fds), i;

	for (i = 0; i < n; i++) {
		fds[i] = tc_connect(d, &ids[i]);
		assert_true(fds[i] >= 0);
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
}

static void
raise_nofile(int need)
{
	struct rlimit	rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < (rlim_t)need) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)need ? rl.rlim_max :
		    (rlim_t)need;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Random ids: thousands of connections, all non-zero and distinct. */
static void
test_random_ids(void **state)
{
	enum { N = 3000 };
	struct daemon	 d;
	uint32_t	*ids = calloc(N, sizeof *ids);
	int		 i;

	raise_nofile(N + 100);
	start(&d, NULL);
	many_ids(&d, N, ids);
	qsort(ids, N, sizeof *ids, cmp_u32);
	assert_int_not_equal(ids[0], 0);
	for (i = 1; i < N; i++)
		assert_int_not_equal(ids[i], ids[i - 1]);
	/* Not sequential: random ids are spread over the space. */
	assert_true(ids[N - 1] - ids[0] > 1000000u);
	stop(&d);
	free(ids);
}

/* Sequential ids: 1..N exactly, and never reused after a close. */
static void
test_sequential_ids(void **state)
{
	enum { N = 3000 };
	static const char *args[] = { "--id-mode", "sequential", NULL };
	struct daemon	 d;
	uint32_t	*ids = calloc(N, sizeof *ids), id;
	int		 i, fd;

	raise_nofile(N + 100);
	start(&d, args);
	many_ids(&d, N, ids);
	for (i = 0; i < N; i++)
		assert_int_equal(ids[i], (uint32_t)i + 1);
	fd = tc_connect(&d, &id);
	assert_int_equal(id, N + 1);
	close(fd);
	stop(&d);
	free(ids);
}

/* IPv6 listen addresses work where the machine has IPv6 loopback. */
static void
test_ipv6(void **state)
{
	static const char *args[] = { "-l", "[::1]:0", NULL };
	struct sockaddr_in6	sin6;
	struct daemon		d;
	uint32_t		be;
	int			fd, probe;

	probe = socket(AF_INET6, SOCK_STREAM, 0);
	memset(&sin6, 0, sizeof sin6);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	if (probe < 0 || bind(probe, (struct sockaddr *)&sin6,
	    sizeof sin6) != 0) {
		if (probe >= 0)
			close(probe);
		skip();
	}
	close(probe);
	start(&d, args);
	assert_true(daemon_log_count(&d, "listening on [::1]:") == 1);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	sin6.sin6_port = htons((uint16_t)d.port);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin6, sizeof sin6),
	    0);
	assert_int_equal(tc_read_exact(fd, &be, 4, T), 0);
	assert_int_equal(tc_send(fd, ntohl(be), "v6"), 0);
	expect_msg(fd, "v6");
	close(fd);
	stop(&d);
}

/*
 * Out of descriptors: accept pauses instead of spinning, the router keeps
 * serving the clients it has, and the waiting connections get their ids
 * once clients leave.
 */
static void
test_emfile(void **state)
{
	enum { N = 60 };
	struct rlimit	 saved, low;
	struct daemon	 d;
	uint32_t	 id, be, ida, idb;
	int		 fd[N], got = 0, i, a, b;

	/*
	 * Under valgrind the wrapper itself closes descriptors accepted past
	 * its own share of the limit, which looks like the router dropping
	 * clients: this test runs in the plain make check only.
	 */
	if (harness_wrapped())
		skip();
	getrlimit(RLIMIT_NOFILE, &saved);
	low = saved;
	low.rlim_cur = 32;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	i = daemon_start(&d, NULL);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_int_equal(i, 0);

	a = tc_connect(&d, &ida);
	b = tc_connect(&d, &idb);
	assert_true(a >= 0 && b >= 0);
	/* More than the daemon has descriptors for: some wait in the backlog. */
	for (i = 0; i < N; i++)
		assert_true((fd[i] = tc_connect_raw(&d)) >= 0);
	assert_int_equal(daemon_wait_log(&d, "pausing accept", 1, T), 0);
	/* The router still routes between the clients it has. */
	ping_pong(a, ida, b, idb, 20);
	/*
	 * Those accepted before the pause have their ids already: loopback
	 * delivers a write into the peer's queue at once.  Let them go.
	 */
	for (i = 0; i < N; i++) {
		int avail = 0;
		ioctl(fd[i], FIONREAD, &avail);
		if (avail >= 4) {
			assert_int_equal(tc_read_exact(fd[i], &be, 4, T), 0);
			got++;
		} else {
			/* Still waiting: keep it for the second round. */
			continue;
		}
		fd[i] = -fd[i] - 1;
	}
	assert_true(got > 0 && got < N);
	/* Only now let them go: each close lets the router accept again. */
	for (i = 0; i < N; i++) {
		if (fd[i] < 0) {
			close(-fd[i] - 1);
			fd[i] = -1;
		}
	}
	/* Room again: every waiting connection gets its id. */
	for (i = 0; i < N; i++) {
		if (fd[i] == -1)
			continue;
		assert_int_equal(tc_read_exact(fd[i], &id, 4, T), 0);
		close(fd[i]);
	}
	close(a);
	close(b);
	stop(&d);
	assert_int_equal(counter(&d, "accepted"), N + 2);
	/* A spinning listener would count many thousands of failures. */
	assert_true(counter(&d, "accept_errors") >= 1);
	assert_true(counter(&d, "accept_errors") < 200);
}

/* Bad flags exit 2 naming the flag; a port in use exits 1 naming it. */
static void
test_bad_command_lines(void **state)
{
	static const char *bad_size[] = { "--queue-limit", "lots", NULL };
	static const char *bad_policy[] = { "--slow-consumer", "ignore", NULL };
	static const char *unknown[] = { "--frobnicate", NULL };
	struct daemon	 d, d2;
	const char	*busy[3];
	char		 addr[64];
	int		 status;
	pid_t		 pid;
	const char	*bin = getenv("MSGROUTERD");

	if (bin == NULL)
		bin = "../src/msgrouterd";
	assert_int_equal(daemon_start(&d, bad_size), -1);
	assert_int_equal(daemon_log_count(&d,
	    "--queue-limit: expected a size"), 1);
	assert_int_equal(daemon_start(&d, bad_policy), -1);
	assert_int_equal(daemon_log_count(&d, "--slow-consumer"), 1);
	assert_int_equal(daemon_start(&d, unknown), -1);
	assert_int_equal(daemon_log_count(&d, "--frobnicate"), 1);

	/* Exit statuses, run directly. */
	if ((pid = fork()) == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		execl(bin, bin, "--queue-limit", "lots", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	assert_int_equal(WEXITSTATUS(status), 2);

	start(&d, NULL);
	snprintf(addr, sizeof addr, "127.0.0.1:%d", d.port);
	busy[0] = "-l";
	busy[1] = addr;
	busy[2] = NULL;
	assert_int_equal(daemon_start(&d2, busy), -1);
	assert_int_equal(daemon_log_count(&d2, addr), 1);
	if ((pid = fork()) == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		execl(bin, bin, "-l", addr, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	assert_int_equal(WEXITSTATUS(status), 1);
	stop(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_clients),
		cmocka_unit_test(test_fragmented),
		cmocka_unit_test(test_coalesced),
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_unknown_destination),
		cmocka_unit_test(test_disconnect_mid_message),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_oversize_endless),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_backpressure_destination_leaves),
		cmocka_unit_test(test_backpressure_sender_leaves),
		cmocka_unit_test(test_self_then_reset),
		cmocka_unit_test(test_drain_routes_paused_input),
		cmocka_unit_test(test_reload_repolicies_paused),
		cmocka_unit_test(test_half_close),
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_disconnect_slow),
		cmocka_unit_test(test_max_clients),
		cmocka_unit_test(test_order_under_load),
		cmocka_unit_test(test_random_ids),
		cmocka_unit_test(test_sequential_ids),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_emfile),
		cmocka_unit_test(test_bad_command_lines),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
