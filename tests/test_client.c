/*
 * test_client: libmsgrouter-client against a fake router played by the test
 * on the other end of a socketpair or on a loopback listener.
 */
#include "config.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "msgrouter/client.h"

/* Long enough to never fire on a loaded machine; only failures wait it. */
#define WAIT_MS		5000

/* A client on one end of a socketpair; the test is the router on the other. */
struct fake {
	int			 f_router;
	struct mr_client	*f_client;
};

/* Write all of buf to fd, failing the test on error. */
static void
write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

/* Start a fake router that sends id, then extra, in one write. */
static struct fake *
fake_start(uint32_t id, const void *extra, size_t extralen)
{
	struct fake	*f;
	char		 first[64];
	uint32_t	 be = htonl(id);
	int		 sv[2];

	assert_true(extralen <= sizeof first - sizeof be);
	f = calloc(1, sizeof *f);
	assert_non_null(f);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memcpy(first, &be, sizeof be);
	if (extralen > 0)
		memcpy(first + sizeof be, extra, extralen);
	write_all(sv[1], first, sizeof be + extralen);
	assert_int_equal(mr_client_attach(sv[0], WAIT_MS, &f->f_client),
	    MR_OK);
	assert_int_equal(mr_client_id(f->f_client), id);
	assert_int_equal(mr_client_fd(f->f_client), sv[0]);
	f->f_router = sv[1];
	return f;
}

static int
fake_setup(void **state)
{
	*state = fake_start(0x0a0b0c0d, NULL, 0);
	return 0;
}

static int
fake_teardown(void **state)
{
	struct fake	*f = *state;

	mr_client_close(f->f_client);
	if (f->f_router != -1)
		close(f->f_router);
	free(f);
	return 0;
}

/*
 * Read exactly len bytes as the router and compare them with want; then
 * check that nothing more was sent.
 */
static void
router_expect(int fd, const void *want, size_t len)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	char		*got, extra;
	size_t		 have = 0;
	ssize_t		 n;

	got = malloc(len + 1);
	assert_non_null(got);
	while (have < len) {
		assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
		n = read(fd, got + have, len - have);
		assert_true(n > 0);
		have += (size_t)n;
	}
	assert_memory_equal(got, want, len);
	free(got);
	n = recv(fd, &extra, 1, MSG_DONTWAIT);
	assert_int_equal(n, -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Receive one message and compare it, 0x00 terminator included. */
static void
expect_msg(struct mr_client *c, int timeout_ms, const char *want,
    size_t wantlen)
{
	const char	*msg = NULL;
	size_t		 len = 0;

	assert_int_equal(mr_client_recv(c, timeout_ms, &msg, &len), MR_OK);
	assert_int_equal(len, wantlen);
	assert_memory_equal(msg, want, wantlen);
	assert_int_equal(msg[len], '\0');
}

static void
expect_nothing(struct mr_client *c)
{
	const char	*msg;
	size_t		 len;

	assert_int_equal(mr_client_recv(c, 0, &msg, &len), MR_EAGAIN);
}

/*
 * The fake router writes len bytes; the client then returns the message
 * want (NULL: none yet), and nothing more.
 */
static void
feed(struct fake *f, const char *bytes, size_t len, const char *want,
    size_t wantlen)
{
	write_all(f->f_router, bytes, len);
	if (want != NULL)
		expect_msg(f->f_client, WAIT_MS, want, wantlen);
	expect_nothing(f->f_client);
}

/* Queued frames are [be32 dst][payload][0x00], back to back. */
static void
test_queue_frames(void **state)
{
	struct fake		*f = *state;
	static const char	 want[] =
	    "\x01\x02\x03\x04" "hello" "\0"
	    "\xff\xff\xff\xfe" "\0"
	    "\x00\x00\x00\x07" "\0";

	assert_int_equal(mr_client_queue(f->f_client, 0x01020304, "hello", 5),
	    MR_OK);
	assert_int_equal(mr_client_pending(f->f_client), 10);
	assert_int_equal(mr_client_queue(f->f_client, 0xfffffffe, "", 0),
	    MR_OK);
	assert_int_equal(mr_client_queue(f->f_client, 7, NULL, 0), MR_OK);
	assert_int_equal(mr_client_pending(f->f_client), 20);
	assert_int_equal(mr_client_flush(f->f_client, WAIT_MS), MR_OK);
	assert_int_equal(mr_client_pending(f->f_client), 0);
	router_expect(f->f_router, want, sizeof want - 1);
}

static void
test_send_frame(void **state)
{
	struct fake	*f = *state;

	assert_int_equal(mr_client_send(f->f_client, 0x100, "hi", 2, WAIT_MS),
	    MR_OK);
	assert_int_equal(mr_client_pending(f->f_client), 0);
	router_expect(f->f_router, "\x00\x00\x01\x00" "hi" "\0", 7);
}

/* A payload with a 0x00 inside is refused and leaves the queue untouched. */
static void
test_queue_refuses_nul(void **state)
{
	struct fake	*f = *state;

	assert_int_equal(mr_client_queue(f->f_client, 9, "ab", 2), MR_OK);
	assert_int_equal(mr_client_pending(f->f_client), 7);
	assert_int_equal(mr_client_queue(f->f_client, 9, "a\0b", 3),
	    MR_EINVAL);
	assert_int_equal(mr_client_queue(f->f_client, 9, "abc\0", 4),
	    MR_EINVAL);
	assert_int_equal(mr_client_queue(f->f_client, 9, NULL, 3), MR_EINVAL);
	assert_int_equal(mr_client_send(f->f_client, 9, "\0", 1, WAIT_MS),
	    MR_EINVAL);
	assert_int_equal(mr_client_pending(f->f_client), 7);
	assert_int_equal(mr_client_flush(f->f_client, WAIT_MS), MR_OK);
	router_expect(f->f_router, "\x00\x00\x00\x09" "ab" "\0", 7);
}

/* The pending bound refuses what does not fit, and what never can. */
static void
test_pending_bound(void **state)
{
	struct fake	*f = *state;
	char		 big[28];

	mr_client_set_max_pending(f->f_client, 32);
	assert_int_equal(mr_client_queue(f->f_client, 1, "aaaaa", 5), MR_OK);
	assert_int_equal(mr_client_queue(f->f_client, 2, "bbbbb", 5), MR_OK);
	assert_int_equal(mr_client_queue(f->f_client, 3, "ccccc", 5), MR_OK);
	assert_int_equal(mr_client_queue(f->f_client, 4, "ddddd", 5),
	    MR_EAGAIN);
	assert_int_equal(mr_client_pending(f->f_client), 30);
	memset(big, 'x', sizeof big);
	assert_int_equal(mr_client_queue(f->f_client, 5, big, sizeof big),
	    MR_ETOOBIG);
	assert_int_equal(mr_client_queue(f->f_client, 5, big, sizeof big - 1),
	    MR_EAGAIN);
	/* send writes enough of the full buffer to make room, then queues. */
	assert_int_equal(mr_client_send(f->f_client, 4, "ddddd", 5, WAIT_MS),
	    MR_OK);
	assert_int_equal(mr_client_pending(f->f_client), 0);
	router_expect(f->f_router,
	    "\0\0\0\x01" "aaaaa" "\0" "\0\0\0\x02" "bbbbb" "\0"
	    "\0\0\0\x03" "ccccc" "\0" "\0\0\0\x04" "ddddd" "\0", 40);
}

/* A message arriving in pieces is returned once whole. */
static void
test_recv_split(void **state)
{
	struct fake	*f = *state;

	expect_nothing(f->f_client);
	feed(f, "hel", 3, NULL, 0);
	feed(f, "lo\0wor", 6, "hello", 5);
	feed(f, "ld\0", 3, "world", 5);
}

static void
test_recv_byte_by_byte(void **state)
{
	struct fake	*f = *state;
	const char	*s = "abcdef";
	size_t		 i;

	for (i = 0; i < 6; i++)
		feed(f, s + i, 1, NULL, 0);
	write_all(f->f_router, "", 1);
	expect_msg(f->f_client, 0, "abcdef", 6);
	expect_nothing(f->f_client);
}

/* Several messages in one read come out one by one, empty ones included. */
static void
test_recv_coalesced(void **state)
{
	struct fake	*f = *state;

	write_all(f->f_router, "a\0bb\0\0ccc\0dd", 12);
	expect_msg(f->f_client, WAIT_MS, "a", 1);
	expect_msg(f->f_client, 0, "bb", 2);
	expect_msg(f->f_client, 0, "", 0);
	expect_msg(f->f_client, 0, "ccc", 3);
	expect_nothing(f->f_client);
	feed(f, "\0", 1, "dd", 2);
}

/* A message sent in the same segment as the id is not lost. */
static void
test_recv_after_id(void **state)
{
	struct fake	*f = fake_start(0xffffffff, "hi\0x", 4);

	expect_msg(f->f_client, 0, "hi", 2);
	expect_nothing(f->f_client);
	feed(f, "y\0", 2, "xy", 2);
	*state = f;
	fake_teardown(state);
}

/*
 * A message much larger than the socket buffers and the initial receive
 * buffer: the router writes what the socket takes while the client reads.
 */
static void
test_recv_large(void **state)
{
	struct fake	*f = *state;
	const size_t	 size = 700 * 1000;
	char		*big;
	const char	*msg = NULL;
	size_t		 off = 0, len = 0, i;
	ssize_t		 n;
	int		 r = MR_EAGAIN;

	big = malloc(size + 1);
	assert_non_null(big);
	for (i = 0; i < size; i++)
		big[i] = (char)('a' + i % 26);
	big[size] = '\0';
	assert_int_equal(fcntl(f->f_router, F_SETFL, O_NONBLOCK), 0);
	while (r == MR_EAGAIN) {
		if (off < size + 1) {
			n = write(f->f_router, big + off, size + 1 - off);
			if (n > 0)
				off += (size_t)n;
			else
				assert_true(errno == EAGAIN);
		}
		r = mr_client_recv(f->f_client, off < size + 1 ? 0 : WAIT_MS,
		    &msg, &len);
	}
	assert_int_equal(r, MR_OK);
	assert_int_equal(len, size);
	assert_memory_equal(msg, big, size + 1);
	expect_nothing(f->f_client);
	free(big);
}

/* An oversized message fails once, is skipped, and the next one arrives. */
static void
test_recv_toobig(void **state)
{
	struct fake	*f = *state;
	const char	*msg;
	size_t		 len;

	mr_client_set_max_message(f->f_client, 8);
	write_all(f->f_router, "1234567\0", 8);
	expect_msg(f->f_client, WAIT_MS, "1234567", 7);

	write_all(f->f_router, "123456789\0ok\0", 13);
	assert_int_equal(mr_client_recv(f->f_client, WAIT_MS, &msg, &len),
	    MR_ETOOBIG);
	expect_msg(f->f_client, WAIT_MS, "ok", 2);

	/* No 0x00 within the bound, the rest arriving later. */
	write_all(f->f_router, "abcdefghij", 10);
	assert_int_equal(mr_client_recv(f->f_client, WAIT_MS, &msg, &len),
	    MR_ETOOBIG);
	expect_nothing(f->f_client);
	feed(f, "klm", 3, NULL, 0);
	feed(f, "n\0next\0", 7, "next", 4);
}

/* Messages before the router's close are delivered, then MR_ECLOSED. */
static void
test_recv_closed(void **state)
{
	struct fake	*f = *state;
	const char	*msg;
	size_t		 len;

	write_all(f->f_router, "last\0part", 9);
	close(f->f_router);
	f->f_router = -1;
	expect_msg(f->f_client, WAIT_MS, "last", 4);
	assert_int_equal(mr_client_recv(f->f_client, WAIT_MS, &msg, &len),
	    MR_ECLOSED);
	assert_int_equal(mr_client_recv(f->f_client, 0, &msg, &len),
	    MR_ECLOSED);
}

/* Writing to a closed router fails MR_ECLOSED and raises no SIGPIPE. */
static void
test_send_closed(void **state)
{
	struct fake	*f = *state;

	close(f->f_router);
	f->f_router = -1;
	assert_int_equal(mr_client_send(f->f_client, 1, "x", 1, WAIT_MS),
	    MR_ECLOSED);
	assert_int_equal(mr_client_pending(f->f_client), 6);
}

static void
test_recv_timeout(void **state)
{
	struct fake	*f = *state;
	const char	*msg;
	size_t		 len;

	assert_int_equal(mr_client_recv(f->f_client, 0, &msg, &len),
	    MR_EAGAIN);
	assert_int_equal(mr_client_recv(f->f_client, 30, &msg, &len),
	    MR_ETIMEDOUT);
	write_all(f->f_router, "a", 1);
	assert_int_equal(mr_client_recv(f->f_client, 30, &msg, &len),
	    MR_ETIMEDOUT);
	write_all(f->f_router, "\0", 1);
	expect_msg(f->f_client, WAIT_MS, "a", 1);
}

/*
 * A router that does not read: flush(0) stops at what the socket takes,
 * flush with a timeout times out; once it reads, every byte arrives.
 */
static void
test_flush_timeout(void **state)
{
	struct fake	*f = *state;
	const size_t	 payload = 65536 - 5, frames = 64;
	const size_t	 total = frames * (payload + 5);
	char		*p, buf[65536];
	size_t		 i, got = 0, sum = 0, want_sum = 0;
	ssize_t		 n;
	int		 r;

	p = malloc(payload);
	assert_non_null(p);
	memset(p, 'z', payload);
	for (i = 0; i < frames; i++)
		assert_int_equal(mr_client_queue(f->f_client, (uint32_t)i, p,
		    payload), MR_OK);
	assert_int_equal(mr_client_pending(f->f_client), total);
	assert_int_equal(mr_client_flush(f->f_client, 0), MR_EAGAIN);
	assert_true(mr_client_pending(f->f_client) > 0);
	assert_true(mr_client_pending(f->f_client) < total);
	assert_int_equal(mr_client_flush(f->f_client, 30), MR_ETIMEDOUT);

	/* Every byte arrives once; the sum checks their values too. */
	for (i = 0; i < frames; i++)
		want_sum += (i >> 24 & 0xff) + (i >> 16 & 0xff) +
		    (i >> 8 & 0xff) + (i & 0xff) + payload * 'z';
	assert_int_equal(fcntl(f->f_router, F_SETFL, O_NONBLOCK), 0);
	do {
		r = mr_client_flush(f->f_client, 0);
		assert_true(r == MR_OK || r == MR_EAGAIN);
		while ((n = read(f->f_router, buf, sizeof buf)) > 0) {
			got += (size_t)n;
			for (i = 0; i < (size_t)n; i++)
				sum += (unsigned char)buf[i];
		}
	} while (got < total);
	assert_int_equal(r, MR_OK);
	assert_int_equal(got, total);
	assert_int_equal(sum, want_sum);
	assert_int_equal(mr_client_pending(f->f_client), 0);
	free(p);
}

/* The payload of the large frame in the send tests; well over SO_SNDBUF. */
#define BIG_PAYLOAD	(1024 * 1024)
#define BIG_FRAME	(4 + BIG_PAYLOAD + 1)

/*
 * Queue one frame of BIG_PAYLOAD 'z' to dst 1 on a client whose socket
 * holds far less, and write what the socket takes; returns what is left.
 */
static size_t
fill_socket(struct fake *f)
{
	int	 sndbuf = 65536;
	char	*p;

	assert_int_equal(setsockopt(mr_client_fd(f->f_client), SOL_SOCKET,
	    SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
	assert_non_null(p = malloc(BIG_PAYLOAD));
	memset(p, 'z', BIG_PAYLOAD);
	assert_int_equal(mr_client_queue(f->f_client, 1, p, BIG_PAYLOAD),
	    MR_OK);
	free(p);
	assert_int_equal(mr_client_flush(f->f_client, 0), MR_EAGAIN);
	assert_true(mr_client_pending(f->f_client) > 0);
	assert_true(mr_client_pending(f->f_client) < BIG_FRAME);
	return mr_client_pending(f->f_client);
}

/* Read what the router's socket has now into got + *have, up to max. */
static void
router_read_now(struct fake *f, char *got, size_t *have, size_t max)
{
	ssize_t	n;

	while ((n = recv(f->f_router, got + *have, max - *have,
	    MSG_DONTWAIT)) > 0) {
		*have += (size_t)n;
		assert_true(*have <= max);
		if (*have == max)
			break;
	}
	assert_true(n > 0 || errno == EAGAIN || errno == EWOULDBLOCK);
}

/*
 * Read everything the client sends, flushing it as the router reads, and
 * check that it is the big frame followed by tail (tlen bytes), once.
 */
static void
router_expect_big(struct fake *f, char *got, size_t have, const char *tail,
    size_t tlen)
{
	const size_t	 total = BIG_FRAME + tlen;
	size_t		 i;
	char		 extra;
	int		 r;

	do {
		r = mr_client_flush(f->f_client, 0);
		assert_true(r == MR_OK || r == MR_EAGAIN);
		router_read_now(f, got, &have, total);
	} while (have < total || r != MR_OK);
	assert_int_equal(mr_client_pending(f->f_client), 0);
	assert_memory_equal(got, "\0\0\0\x01", 4);
	for (i = 4; i < 4 + BIG_PAYLOAD; i++)
		if (got[i] != 'z')
			fail_msg("byte %zu is 0x%02x", i, (unsigned char)got[i]);
	assert_int_equal(got[4 + BIG_PAYLOAD], '\0');
	assert_memory_equal(got + BIG_FRAME, tail, tlen);
	/* Nothing more: the tail was sent once. */
	assert_int_equal(recv(f->f_router, &extra, 1, MSG_DONTWAIT), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

/*
 * Once send has queued the frame, a flush that does not finish is
 * MR_QUEUED, not a timeout: the frame goes out later, exactly once.
 */
static void
test_send_queued(void **state)
{
	struct fake	*f = *state;
	static const char tail[] = "\0\0\0\x07" "tail" "\0"
	    "\0\0\0\x08" "more" "\0";
	char		*got;
	size_t		 left;

	left = fill_socket(f);
	assert_int_equal(mr_client_send(f->f_client, 7, "tail", 4, 0),
	    MR_QUEUED);
	assert_int_equal(mr_client_pending(f->f_client), left + 9);
	assert_int_equal(mr_client_send(f->f_client, 8, "more", 4, 30),
	    MR_QUEUED);
	assert_int_equal(mr_client_pending(f->f_client), left + 18);
	assert_non_null(got = malloc(BIG_FRAME + 18));
	router_expect_big(f, got, 0, tail, 18);
	/* With room in the socket, the same call is MR_OK. */
	assert_int_equal(mr_client_send(f->f_client, 9, "done", 4, 0), MR_OK);
	router_expect(f->f_router, "\0\0\0\x09" "done" "\0", 9);
	free(got);
}

/*
 * When the send buffer is full and cannot drain, send queues nothing and
 * says so; once the router reads, send writes only what makes room, then
 * queues: the frame arrives once.
 */
static void
test_send_not_queued(void **state)
{
	struct fake	*f = *state;
	char		*got;
	size_t		 left, have = 0;

	left = fill_socket(f);
	/* Room for 8 more bytes; a 9-byte frame does not fit. */
	mr_client_set_max_pending(f->f_client, left + 8);
	assert_int_equal(mr_client_send(f->f_client, 7, "tail", 4, 0),
	    MR_EAGAIN);
	assert_int_equal(mr_client_pending(f->f_client), left);
	assert_int_equal(mr_client_send(f->f_client, 7, "tail", 4, 30),
	    MR_ETIMEDOUT);
	assert_int_equal(mr_client_pending(f->f_client), left);

	/* The router reads what its socket has: now there is room. */
	assert_non_null(got = malloc(BIG_FRAME + 9));
	router_read_now(f, got, &have, BIG_FRAME + 9);
	assert_true(have > 0);
	assert_int_equal(mr_client_send(f->f_client, 7, "tail", 4, 0),
	    MR_QUEUED);
	/* Only room was made: most of the big frame still waits. */
	assert_true(mr_client_pending(f->f_client) > 9);
	assert_true(mr_client_pending(f->f_client) <= left + 8);
	router_expect_big(f, got, have, "\0\0\0\x07" "tail" "\0", 9);
	free(got);
}

/* The router closes before the whole id arrived. */
static void
test_attach_closed_before_id(void **state)
{
	struct mr_client	*c = (struct mr_client *)1;
	int			 sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	write_all(sv[1], "\0\0", 2);
	close(sv[1]);
	assert_int_equal(mr_client_attach(sv[0], WAIT_MS, &c), MR_ECLOSED);
	assert_null(c);
	/* On failure the caller still owns the fd. */
	assert_true(fcntl(sv[0], F_GETFD) != -1);
	assert_int_equal(close(sv[0]), 0);
	assert_int_equal(mr_client_attach(-1, 0, &c), MR_EINVAL);
}

static void
test_connect_bad_address(void **state)
{
	static const char *bad[] = {
		"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:65536",
		"127.0.0.1:-1", "::1:80", "[::1:80", "[::1]80", "example.com:80",
		"1.2.3:80", ":80", "127.0.0.1:0",
	};
	struct mr_client	*c;
	size_t			 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		c = (struct mr_client *)1;
		assert_int_equal(mr_client_connect(bad[i], 0, &c), MR_EINVAL);
		assert_null(c);
	}
	assert_int_equal(mr_client_connect(NULL, 0, &c), MR_EINVAL);
	assert_int_equal(mr_client_connect("127.0.0.1:1", 0, NULL), MR_EINVAL);
}

/* A listener on a free loopback port of the given family, or -1. */
static int
listener(int family, char *hostport, size_t len)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 sslen = sizeof ss;
	int			 fd;

	memset(&ss, 0, sizeof ss);
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		sin6->sin6_addr = in6addr_loopback;
	if ((fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, family == AF_INET ?
	    sizeof *sin : sizeof *sin6) == -1 || listen(fd, 8) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1) {
		close(fd);
		return -1;
	}
	if (family == AF_INET)
		snprintf(hostport, len, "127.0.0.1:%u", ntohs(sin->sin_port));
	else
		snprintf(hostport, len, "[::1]:%u", ntohs(sin6->sin6_port));
	return fd;
}

/* A fake router thread: accept one connection, send the id or close. */
struct acceptor {
	pthread_t	a_thread;
	int		a_listen;
	uint32_t	a_id;
	int		a_hangup;
	int		a_fd;
};

static void *
acceptor_main(void *arg)
{
	struct acceptor	*a = arg;
	uint32_t	 be = htonl(a->a_id);

	a->a_fd = accept(a->a_listen, NULL, NULL);
	if (a->a_fd == -1)
		return NULL;
	if (a->a_hangup) {
		close(a->a_fd);
		a->a_fd = -1;
	} else if (write(a->a_fd, &be, sizeof be) != sizeof be) {
		close(a->a_fd);
		a->a_fd = -1;
	}
	return NULL;
}

/* Connect to a fake router at hostport and exchange one frame. */
static void
connect_and_send(int lfd, const char *hostport, uint32_t id)
{
	struct acceptor		 a = { .a_listen = lfd, .a_id = id };
	struct mr_client	*c = NULL;

	assert_int_equal(pthread_create(&a.a_thread, NULL, acceptor_main, &a),
	    0);
	assert_int_equal(mr_client_connect(hostport, WAIT_MS, &c), MR_OK);
	assert_int_equal(pthread_join(a.a_thread, NULL), 0);
	assert_true(a.a_fd != -1);
	assert_non_null(c);
	assert_int_equal(mr_client_id(c), id);
	assert_int_equal(mr_client_send(c, 0x11223344, "ping", 4, WAIT_MS),
	    MR_OK);
	router_expect(a.a_fd, "\x11\x22\x33\x44" "ping" "\0", 9);
	write_all(a.a_fd, "pong\0", 5);
	expect_msg(c, WAIT_MS, "pong", 4);
	mr_client_close(c);
	close(a.a_fd);
}

static void
test_connect_ipv4(void **state)
{
	char	hp[64], local[64];
	int	lfd;

	lfd = listener(AF_INET, hp, sizeof hp);
	assert_true(lfd != -1);
	connect_and_send(lfd, hp, 0x01000001);
	snprintf(local, sizeof local, "localhost%s", strchr(hp, ':'));
	connect_and_send(lfd, local, 0x00000002);
	close(lfd);
}

static void
test_connect_ipv6(void **state)
{
	char	hp[64];
	int	lfd;

	if ((lfd = listener(AF_INET6, hp, sizeof hp)) == -1) {
		skip();
		return;
	}
	connect_and_send(lfd, hp, 0xcafe0001);
	close(lfd);
}

/* A refused connection, a missing id, a router that hangs up. */
static void
test_connect_failures(void **state)
{
	struct acceptor		 a = { .a_hangup = 1 };
	struct mr_client	*c;
	char			 hp[64];
	int			 lfd;

	lfd = listener(AF_INET, hp, sizeof hp);
	assert_true(lfd != -1);
	/* Accepted by the kernel, but no id ever comes. */
	c = (struct mr_client *)1;
	assert_int_equal(mr_client_connect(hp, 30, &c), MR_ETIMEDOUT);
	assert_null(c);
	assert_int_equal(mr_client_connect(hp, 0, &c), MR_ETIMEDOUT);

	/* A new listener, so the next accept is not one of those two. */
	close(lfd);
	lfd = listener(AF_INET, hp, sizeof hp);
	assert_true(lfd != -1);
	a.a_listen = lfd;
	assert_int_equal(pthread_create(&a.a_thread, NULL, acceptor_main, &a),
	    0);
	assert_int_equal(mr_client_connect(hp, WAIT_MS, &c), MR_ECLOSED);
	assert_int_equal(pthread_join(a.a_thread, NULL), 0);
	close(lfd);

	/* Nobody listens on the port any more. */
	assert_int_equal(mr_client_connect(hp, WAIT_MS, &c), MR_ECONNECT);
	assert_int_equal(errno, ECONNREFUSED);
	assert_null(c);
}

static void
test_strerror(void **state)
{
	int	i, j;

	for (i = MR_ETOOBIG; i <= MR_OK; i++) {
		assert_non_null(mr_strerror(i));
		assert_string_not_equal(mr_strerror(i), "unknown error");
		for (j = MR_ETOOBIG; j < i; j++)
			assert_string_not_equal(mr_strerror(i),
			    mr_strerror(j));
	}
	assert_string_not_equal(mr_strerror(MR_QUEUED), "unknown error");
	assert_string_not_equal(mr_strerror(MR_QUEUED), mr_strerror(MR_OK));
	assert_string_equal(mr_strerror(-100), "unknown error");
	assert_string_equal(mr_strerror(MR_ETOOBIG), "message too big");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queue_frames,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_send_frame,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_queue_refuses_nul,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_pending_bound,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_recv_split,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_recv_byte_by_byte,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_recv_coalesced,
		    fake_setup, fake_teardown),
		cmocka_unit_test(test_recv_after_id),
		cmocka_unit_test_setup_teardown(test_recv_large,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_recv_toobig,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_recv_closed,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_send_closed,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_recv_timeout,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_flush_timeout,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_send_queued,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_send_not_queued,
		    fake_setup, fake_teardown),
		cmocka_unit_test(test_attach_closed_before_id),
		cmocka_unit_test(test_connect_bad_address),
		cmocka_unit_test(test_connect_ipv4),
		cmocka_unit_test(test_connect_ipv6),
		cmocka_unit_test(test_connect_failures),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
