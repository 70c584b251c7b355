/*
 * conn: a client connection's socket glue.  The bufferevent owns the socket
 * and both evbuffers and writes what the direct flush could not; our own
 * read event fills the input buffer.  What to do with the bytes is the
 * owner's (struct conn_ops): conn.c reads, writes, changes state and frees.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "msgrouter/addr.h"
#include "msgrouter/clock.h"
#include "msgrouter/conn.h"
#include "msgrouter/log.h"

/*
 * What conn_close(discard) reads and throws away at most: 64 reads of
 * 16 KiB, 1 MiB.  A peer that keeps sending past that is reset anyway.
 */
#define CONN_DISCARD_BUF	16384
#define CONN_DISCARD_READS	64

/*
 * The most of a TLS client's queue gathered into one piece per routing
 * pass (conn_tls_pack): four full records, in one 64 KiB allocation.
 */
#define CONN_TLS_PACK		(65536 - 128)
/*
 * conn_tls_read_ahead's reads: one record's plaintext at most per SSL_read,
 * and at most CONN_TLS_AHEAD_MAX per call (about the read-ahead buffer).
 */
#define CONN_TLS_RECORD		16384
#define CONN_TLS_AHEAD_MAX	(4 * CONN_TLS_RECORD)
/* OpenSSL's read-ahead buffer: four full records and their overhead. */
#define CONN_TLS_READ_BUFFER	(4 * CONN_TLS_RECORD + 1024)

static void	conn_read_cb(evutil_socket_t, short, void *);
static void	conn_first_read_cb(struct bufferevent *, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
static void	conn_tls_read_cb(struct bufferevent *, void *);
static void	conn_tls_event_cb(struct bufferevent *, short, void *);
static void	conn_tls_deadline_cb(evutil_socket_t, short, void *);
static short	conn_tls_read_ahead(struct conn *);

static const char *const conn_states[] = {
	[CONN_NEW] = "new",
	[CONN_OPEN] = "open",
	[CONN_PAUSED] = "paused",
	[CONN_DONE] = "done",
	[CONN_CLOSED] = "closed",
};

static const char *const conn_reasons[] = {
	[CONN_REASON_EOF] = "eof",
	[CONN_REASON_ERROR] = "error",
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
};

_Static_assert(sizeof conn_states / sizeof conn_states[0] == CONN_NSTATES,
    "a name for every state");
_Static_assert(sizeof conn_reasons / sizeof conn_reasons[0] == CONN_NREASONS,
    "a name for every reason");
_Static_assert(CONN_NREASONS <= 16, "cn_done_reason holds every reason");
/* 10,000 idle clients are measured with it (docs/PERFORMANCE.md). */
_Static_assert(sizeof (struct conn) <= 200, "struct conn stays 200 bytes");

/* The transitions conn.h lists, as [from] = bit mask of the legal "to". */
#define CONN_TO(s)	(1u << (s))
static const unsigned conn_legal[CONN_NSTATES] = {
	[CONN_NEW] = CONN_TO(CONN_OPEN) | CONN_TO(CONN_DONE) |
	    CONN_TO(CONN_CLOSED),
	[CONN_OPEN] = CONN_TO(CONN_PAUSED) | CONN_TO(CONN_DONE) |
	    CONN_TO(CONN_CLOSED),
	[CONN_PAUSED] = CONN_TO(CONN_OPEN) | CONN_TO(CONN_DONE) |
	    CONN_TO(CONN_CLOSED),
	[CONN_DONE] = CONN_TO(CONN_CLOSED),
	[CONN_CLOSED] = 0,
};

const char *
conn_state_name(enum conn_state state)
{
	if ((size_t)state >= CONN_NSTATES)
		return "unknown";
	return conn_states[state];
}

const char *
conn_reason_name(enum conn_reason reason)
{
	if ((size_t)reason >= CONN_NREASONS)
		return "unknown";
	return conn_reasons[reason];
}

/* Every state change goes through here; an illegal one is a broken invariant. */
static void
conn_set_state(struct conn *c, enum conn_state to)
{
	assert(conn_legal[c->cn_state] & CONN_TO(to));
	log_debug("client %u: %s -> %s", c->cn_id,
	    conn_state_name(c->cn_state), conn_state_name(to));
	c->cn_state = (uint8_t)to;
}

enum conn_state
conn_state(const struct conn *c)
{
	return (enum conn_state)c->cn_state;
}

int
conn_eof_reason(const struct conn *c)
{
	if (c->cn_state != CONN_DONE || c->cn_done_reason == CONN_REASON_SHUTDOWN)
		return -1;
	return c->cn_done_reason;
}

struct conn *
conn_new(struct event_base *base, int fd, const struct sockaddr *sa,
    int socklen, const struct conn_ops *ops, struct router *owner)
{
	struct conn	*c;
	int		 one = 1;

	if ((c = calloc(1, sizeof *c)) == NULL) {
		close(fd);
		return NULL;
	}
	c->cn_ops = ops;
	c->cn_router = owner;
	c->cn_refs = 1;
	c->cn_state = CONN_NEW;
	c->cn_connected = clock_now_ms();
	TAILQ_INIT(&c->cn_waiters);
	addr_copy(&c->cn_peer, sa, socklen);
	/* Forwarded messages go out as soon as they are routed (TCP only). */
	if (c->cn_peer.sa.sa_family != AF_UNIX)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof one);

	c->cn_bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->cn_bev == NULL) {
		close(fd);
		free(c);
		return NULL;
	}
	/*
	 * Until its first byte arrives a client is watched by the
	 * bufferevent's own read event: most of a crowd of idle clients never
	 * needs our read event, whose struct event is 144 bytes of heap each.
	 * The first readiness switches to it (conn_first_read_cb).  Writes are
	 * left to the bufferevent only when a direct flush comes up short: see
	 * conn_flush.
	 */
	bufferevent_setcb(c->cn_bev, conn_first_read_cb, conn_write_cb,
	    conn_event_cb, c);
	if (bufferevent_disable(c->cn_bev, EV_WRITE) != 0 ||
	    bufferevent_enable(c->cn_bev, EV_READ) != 0) {
		bufferevent_free(c->cn_bev);
		free(c);
		return NULL;
	}
	return c;
}

struct conn *
conn_new_tls(struct event_base *base, int fd, const struct sockaddr *sa,
    int socklen, const struct conn_ops *ops, struct router *owner,
    void *ssl, uint64_t handshake_ms)
{
	struct conn	*c;
	struct timeval	 tv;
	int		 one = 1;

	if ((c = calloc(1, sizeof *c)) == NULL) {
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	c->cn_ops = ops;
	c->cn_router = owner;
	c->cn_refs = 1;
	c->cn_state = CONN_NEW;
	c->cn_tls = 1;
	c->cn_connected = clock_now_ms();
	TAILQ_INIT(&c->cn_waiters);
	addr_copy(&c->cn_peer, sa, socklen);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	/*
	 * Read-ahead: one read(2) takes as many records as the socket holds,
	 * up to CONN_TLS_READ_BUFFER, instead of two per record.  Only here,
	 * where conn_tls_read_ahead takes the records bufferevent_openssl
	 * leaves, not on the context, which the admin port's evhttp shares.
	 * The buffer goes with an idle client's others (RELEASE_BUFFERS).
	 */
	SSL_set_read_ahead(ssl, 1);
	SSL_set_default_read_buffer_len(ssl, CONN_TLS_READ_BUFFER);

	/*
	 * It owns the SSL from here, and frees it with the socket; when it
	 * fails it has freed the SSL already, but left the socket open.
	 */
	c->cn_bev = bufferevent_openssl_socket_new(base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (c->cn_bev == NULL) {
		close(fd);
		free(c);
		return NULL;
	}
	/* A peer that closes without a close_notify has sent EOF. */
	bufferevent_openssl_set_allow_dirty_shutdown(c->cn_bev, 1);
	bufferevent_setcb(c->cn_bev, conn_tls_read_cb, conn_write_cb,
	    conn_tls_event_cb, c);
	/*
	 * The bufferevent writes whenever its queue holds bytes (the id,
	 * queued now, once the handshake is done): conn_flush leaves it be.
	 * A deadline timer, not a bufferevent timeout, which every byte of a
	 * slow ClientHello would renew.
	 */
	c->cn_writing = 1;
	tv.tv_sec = (time_t)(handshake_ms / 1000);
	tv.tv_usec = (suseconds_t)(handshake_ms % 1000) * 1000;
	c->cn_hs_ev = evtimer_new(base, conn_tls_deadline_cb, c);
	if (c->cn_hs_ev == NULL || evtimer_add(c->cn_hs_ev, &tv) != 0 ||
	    bufferevent_enable(c->cn_bev, EV_READ | EV_WRITE) != 0) {
		if (c->cn_hs_ev != NULL)
			event_free(c->cn_hs_ev);
		bufferevent_free(c->cn_bev);
		free(c);
		return NULL;
	}
	return c;
}

void
conn_configure(struct conn *c, size_t resume_mark, size_t first_read_max)
{
	/* The write callback runs when the queue is at the resume mark. */
	bufferevent_setwatermark(c->cn_bev, EV_WRITE, resume_mark, 0);
	/*
	 * No read watermark: in libevent 2.1 it hangs a callback on the input
	 * buffer that runs on every drain of every frame.  A TLS client's
	 * bufferevent reads at most this, then the rest of the TLS record
	 * (16 KiB) per readiness, conn_tls_read_ahead at most
	 * CONN_TLS_AHEAD_MAX more, and the router routes every complete frame
	 * before the next: its unparsed input stays within one largest frame
	 * and six records.
	 */
	(void)bufferevent_set_max_single_read(c->cn_bev, first_read_max);
}

void
conn_ref(struct conn *c)
{
	/* The owner's and one per nested callback: a few at most. */
	assert(c->cn_refs < UINT8_MAX);
	c->cn_refs++;
}

void
conn_unref(struct conn *c)
{
	assert(c->cn_refs > 0);
	if (--c->cn_refs == 0) {
		assert(c->cn_state == CONN_CLOSED);
		free(c);
	}
}

/*
 * Read and discard what the peer sent and we never read.  Closing a socket
 * with unread input makes the kernel reset the connection and throw away
 * the bytes it has not sent yet: the tail of a drain.  Bounded: a peer that
 * keeps sending is reset anyway.
 */
static void
conn_discard_input(struct conn *c)
{
	char	buf[CONN_DISCARD_BUF];
	int	i;

	for (i = 0; i < CONN_DISCARD_READS; i++) {
		if (recv(bufferevent_getfd(c->cn_bev), buf, sizeof buf,
		    MSG_DONTWAIT) <= 0)
			break;
	}
}

/*
 * A TLS client goes: its handshake deadline if the handshake never ended,
 * and a close_notify if it did (not waited for: the socket closes next).
 */
static void
conn_tls_close(struct conn *c)
{
	SSL	*ssl = bufferevent_openssl_get_ssl(c->cn_bev);

	if (c->cn_state == CONN_NEW) {
		if (c->cn_hs_ev != NULL)
			event_free(c->cn_hs_ev);
		return;
	}
	if (ssl != NULL && SSL_is_init_finished(ssl)) {
		(void)SSL_shutdown(ssl);
		/* Its record buffer lives until the deferred free otherwise. */
		(void)SSL_free_buffers(ssl);
		ERR_clear_error();
	}
}

void
conn_close(struct conn *c, int discard)
{
	if (c->cn_state == CONN_CLOSED)
		return;
	if (c->cn_tls)
		conn_tls_close(c);
	conn_set_state(c, CONN_CLOSED);
	if (discard)
		conn_discard_input(c);
	if (!c->cn_tls && c->cn_read_ev != NULL)
		event_free(c->cn_read_ev);
	c->cn_read_ev = NULL;
	bufferevent_free(c->cn_bev);
	c->cn_bev = NULL;
	conn_unref(c);
}

void
conn_info(const struct conn *c, struct conn_info *ci)
{
	memset(ci, 0, sizeof *ci);
	ci->ci_id = c->cn_id;
	ci->ci_paused = c->cn_blocked_on != NULL;
	ci->ci_connected = c->cn_connected;
	ci->ci_queued = conn_queued(c);
	ci->ci_msgs_in = c->cn_msgs_in;
	ci->ci_bytes_in = c->cn_bytes_in;
	ci->ci_msgs_out = c->cn_msgs_out;
	ci->ci_bytes_out = c->cn_bytes_out;
	ci->ci_dropped = c->cn_dropped;
	ci->ci_peer = c->cn_peer;
	ci->ci_tls = c->cn_tls;
	if (c->cn_tls && c->cn_state != CONN_NEW && c->cn_bev != NULL) {
		SSL	*ssl = bufferevent_openssl_get_ssl(c->cn_bev);

		if (ssl != NULL) {
			ci->ci_tls_protocol = SSL_get_version(ssl);
			ci->ci_tls_cipher = SSL_get_cipher_name(ssl);
		}
	}
}

struct evbuffer *
conn_input(struct conn *c)
{
	return bufferevent_get_input(c->cn_bev);
}

struct evbuffer *
conn_output(struct conn *c)
{
	return bufferevent_get_output(c->cn_bev);
}

size_t
conn_queued(const struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->cn_bev));
}

/*
 * Gather the head of a TLS client's queue into one contiguous piece, at the
 * end of each routing pass (conn_flush), before its bufferevent writes.
 * bufferevent_openssl calls SSL_write once per evbuffer chain, and its
 * socket BIO sends each record with a write(2) of its own; the router
 * queues frames in chains of a few KiB (copies of 4 KiB read chains, runs
 * of small frames), so a 4 KiB frame was a record and a system call of its
 * own.  One SSL_write of the piece makes full 16 KiB records instead.
 *
 * Safe with a write in progress: the bufferevent writes only from its write
 * event, never from the append itself, and after SSL_write wants the socket
 * it retries with the first chain, which a pull-up only makes longer and
 * which starts with the same bytes (OpenSSL accepts a retry with a longer
 * buffer, and bufferevent_openssl sets SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
 * for the move).  Bounded: at most CONN_TLS_PACK bytes are copied per call,
 * and none when the head is contiguous already, however long the queue.
 */
static void
conn_tls_pack(struct conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->cn_bev);
	size_t		 len = evbuffer_get_length(out);

	if (len > CONN_TLS_PACK)
		len = CONN_TLS_PACK;
	/* Out of memory leaves the queue as it was: still written, in pieces. */
	if (len > 0)
		(void)evbuffer_pullup(out, (ev_ssize_t)len);
}

/*
 * Write the queue now rather than one loop iteration later, and leave write
 * events to the bufferevent only when the socket took less than all of it:
 * no epoll_ctl and no extra wake-up per message.
 * Returns 1 after a write, 0 when there was nothing to write or the
 * bufferevent writes, -1 on a write error (the owner closes).
 */
int
conn_flush(struct conn *c)
{
	struct evbuffer	*out;
	int		 n, err;

	if (c->cn_writing || c->cn_state == CONN_CLOSED) {
		/* A TLS client's bufferevent writes: give it full records. */
		if (c->cn_tls && c->cn_state != CONN_CLOSED)
			conn_tls_pack(c);
		return 0;
	}
	out = bufferevent_get_output(c->cn_bev);
	if (evbuffer_get_length(out) == 0)
		return 0;
	/* The bufferevent freezes its output's start between its own writes. */
	evbuffer_unfreeze(out, 1);
	n = evbuffer_write(out, bufferevent_getfd(c->cn_bev));
	err = errno;
	evbuffer_freeze(out, 1);
	if (n < 0 && err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
		log_info("client %u: write: %s", c->cn_id, strerror(err));
		return -1;
	}
	if (evbuffer_get_length(out) > 0) {
		c->cn_writing = 1;
		if (bufferevent_enable(c->cn_bev, EV_WRITE) != 0) {
			log_warnx("client %u: cannot watch for writes",
			    c->cn_id);
			return -1;
		}
	}
	return 1;
}

/* The bufferevent wrote and the queue is at or under the resume mark. */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	size_t		 queued = conn_queued(c);

	/* A TLS client's bufferevent keeps writing (conn_new_tls). */
	if (queued == 0 && !c->cn_tls) {
		c->cn_writing = 0;
		bufferevent_disable(bev, EV_WRITE);
	}
	conn_ref(c);
	c->cn_ops->co_written(c, queued);
	conn_unref(c);
}

/*
 * Reading is over: EOF, a read error, or the drain (CONN_REASON_SHUTDOWN).
 * Routing and writing go on.
 */
static void
conn_read_done(struct conn *c, enum conn_reason reason)
{
	/* A TLS client leaves NEW only by its handshake (conn_stop_reading). */
	assert(!(c->cn_tls && c->cn_state == CONN_NEW));
	conn_set_state(c, CONN_DONE);
	c->cn_done_reason = (uint8_t)reason;
	if (c->cn_tls || c->cn_read_ev == NULL)
		bufferevent_disable(c->cn_bev, EV_READ);
	else
		event_del(c->cn_read_ev);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	int		 err = EVUTIL_SOCKET_ERROR();

	conn_ref(c);
	if ((what & BEV_EVENT_READING) && c->cn_state == CONN_NEW) {
		/*
		 * EOF or an error on the bufferevent's first read (it has
		 * stopped reading): as after conn_read's, what is queued for
		 * the client is still written before it is closed.
		 */
		if (what & BEV_EVENT_ERROR)
			log_info("client %u: read: %s", c->cn_id,
			    strerror(err));
		conn_read_done(c, (what & BEV_EVENT_ERROR) ?
		    CONN_REASON_ERROR : CONN_REASON_EOF);
		c->cn_ops->co_input(c, 0);
	} else if (what & BEV_EVENT_ERROR) {
		log_info("client %u: %s: %s", c->cn_id,
		    (what & BEV_EVENT_READING) ? "read" : "write",
		    strerror(err));
		c->cn_ops->co_error(c, CONN_REASON_ERROR);
	} else
		c->cn_ops->co_error(c, CONN_REASON_EOF);
	conn_unref(c);
}

/*
 * The bufferevent read a new client's first bytes (at most first_read_max).
 * From now on our own event reads, up to CONN_READ_MAX at a time without an
 * ioctl; then the owner handles what arrived.
 */
static void
conn_first_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	size_t		 n = evbuffer_get_length(bufferevent_get_input(bev));

	conn_ref(c);
	c->cn_read_ev = event_new(bufferevent_get_base(bev),
	    bufferevent_getfd(bev), EV_READ | EV_PERSIST, conn_read_cb, c);
	if (c->cn_read_ev == NULL || event_add(c->cn_read_ev, NULL) != 0) {
		log_warnx("client %u: cannot watch for reads (out of memory)",
		    c->cn_id);
		c->cn_ops->co_error(c, CONN_REASON_ERROR);
		conn_unref(c);
		return;
	}
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, conn_write_cb, conn_event_cb, c);
	conn_set_state(c, CONN_OPEN);
	c->cn_ops->co_input(c, n);
	conn_unref(c);
}

/* The socket is readable, or conn_kick: the owner reads and routes. */
static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	conn_ref(c);
	c->cn_ops->co_input(c, 0);
	conn_unref(c);
}

ssize_t
conn_read(struct conn *c, size_t max)
{
	struct evbuffer		*in;
	struct evbuffer_iovec	 v[2];
	struct iovec		 iov[2];
	size_t			 want, got;
	ssize_t			 n;
	int			 nv, i;

	/* A TLS client's bufferevent reads: its callback reports input. */
	if (c->cn_state != CONN_OPEN || max == 0 || c->cn_tls)
		return 0;
	in = bufferevent_get_input(c->cn_bev);
	/* The bufferevent freezes the input's end: we are the one who reads. */
	evbuffer_unfreeze(in, 0);
	nv = evbuffer_reserve_space(in, (ev_ssize_t)max, v, 2);
	if (nv <= 0) {
		evbuffer_freeze(in, 0);
		log_warnx("client %u: out of memory", c->cn_id);
		return -1;
	}
	/* The extents may be larger than asked for: read only max. */
	for (i = 0, want = max; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len < want ? v[i].iov_len : want;
		want -= iov[i].iov_len;
	}
	n = readv(bufferevent_getfd(c->cn_bev), iov, nv);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR)) {
		/*
		 * The sender is done, but what it sent before is accepted
		 * data: the owner routes it first, even if that means waiting
		 * for a full destination.
		 */
		if (n < 0)
			log_info("client %u: read: %s", c->cn_id,
			    strerror(errno));
		conn_read_done(c, n == 0 ? CONN_REASON_EOF : CONN_REASON_ERROR);
	}
	got = n > 0 ? (size_t)n : 0;
	for (i = 0, want = got; i < nv; i++) {
		v[i].iov_len = want < v[i].iov_len ? want : v[i].iov_len;
		want -= v[i].iov_len;
	}
	evbuffer_commit_space(in, v, nv);
	evbuffer_freeze(in, 0);
	return (ssize_t)got;
}

void
conn_pause(struct conn *c)
{
	if (c->cn_state != CONN_OPEN)
		return;
	conn_set_state(c, CONN_PAUSED);
	if (c->cn_tls)
		bufferevent_disable(c->cn_bev, EV_READ);
	else
		event_del(c->cn_read_ev);
}

/*
 * Resume through the loop, not by routing here: the caller may be deep in
 * another connection's callback.  The activation also covers input that was
 * already buffered when we paused and that no readiness would announce.
 */
void
conn_resume(struct conn *c)
{
	if (c->cn_state == CONN_PAUSED) {
		conn_set_state(c, CONN_OPEN);
		if ((c->cn_tls ? bufferevent_enable(c->cn_bev, EV_READ) :
		    event_add(c->cn_read_ev, NULL)) != 0)
			log_warnx("client %u: cannot watch for reads",
			    c->cn_id);
	}
	conn_kick(c);
}

void
conn_kick(struct conn *c)
{
	if (c->cn_tls) {
		/* The read callback, from the loop, whatever the input. */
		if (c->cn_state != CONN_NEW && c->cn_state != CONN_CLOSED)
			bufferevent_trigger(c->cn_bev, EV_READ,
			    BEV_TRIG_IGNORE_WATERMARKS |
			    BEV_TRIG_DEFER_CALLBACKS);
		return;
	}
	if (c->cn_read_ev != NULL && c->cn_state != CONN_CLOSED)
		event_active(c->cn_read_ev, EV_READ, 0);
}

void
conn_stop_reading(struct conn *c)
{
	/*
	 * From now on activations (conn_kick) route what was read, without
	 * watching the socket, which would spin on readiness nobody consumes.
	 */
	if (c->cn_tls && c->cn_state == CONN_NEW) {
		/*
		 * Its handshake goes on (it needs reads), under its deadline,
		 * so that the id queued for it can go out; the owner stops it
		 * reading once it is done (co_handshake).
		 */
		return;
	}
	if (c->cn_state != CONN_DONE && c->cn_state != CONN_CLOSED)
		conn_read_done(c, CONN_REASON_SHUTDOWN);
}

int
conn_peer_gone(const struct conn *c)
{
	struct pollfd	pfd;
	int		domain = 0;
	socklen_t	len = sizeof domain;

	if (c->cn_state == CONN_CLOSED)
		return 0;
	memset(&pfd, 0, sizeof pfd);
	pfd.fd = bufferevent_getfd(c->cn_bev);
	pfd.events = POLLIN;
	if (pfd.fd < 0 || poll(&pfd, 1, 0) != 1)
		return 0;
	/*
	 * POLLERR: an error is pending, ECONNRESET after a TCP reset or
	 * after an AF_UNIX peer closed with input it never read (the Unix
	 * analogue of a reset).  POLLHUP: TCP is in TCP_CLOSE (a reset or a
	 * timeout); but an AF_UNIX peer's plain close() gives POLLHUP too,
	 * and that is a TCP peer's FIN: a half-close, not gone.  A FIN alone
	 * gives POLLIN and POLLRDHUP only.
	 */
	if (pfd.revents & POLLERR)
		return 1;
	if (!(pfd.revents & POLLHUP))
		return 0;
	if (getsockopt(pfd.fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
	    domain == AF_UNIX)
		return 0;
	return 1;
}

/*
 * Take the records OpenSSL read ahead (conn_new_tls turns it on: one
 * read(2) brings several records, where there were two per record, header
 * and body) into the input, while the client is OPEN.  bufferevent_openssl
 * 2.1 reads only while SSL_pending() is non-zero, which counts the rest of
 * the current record and not the records behind it in the read buffer: left
 * there, they would wait for a readiness that may never come (the peer
 * waits for our answer).  So what it leaves we read here, from its read
 * callback, before the owner routes; at most CONN_TLS_AHEAD_MAX per call,
 * and if more is buffered, conn_kick brings us back from the loop.
 * Paused, DONE or CLOSED: nothing is read, as for a plain client; resuming
 * kicks.  Returns 0, or BEV_EVENT_EOF or BEV_EVENT_ERROR when a record was
 * the peer's close_notify or broken: the caller reports that after routing
 * what came before it.
 */
static short
conn_tls_read_ahead(struct conn *c)
{
	SSL			*ssl = bufferevent_openssl_get_ssl(c->cn_bev);
	struct evbuffer		*in = bufferevent_get_input(c->cn_bev);
	struct evbuffer_iovec	 v;
	size_t			 got = 0;
	int			 r, err;

	while (c->cn_state == CONN_OPEN && SSL_has_pending(ssl)) {
		if (got >= CONN_TLS_AHEAD_MAX) {
			conn_kick(c);
			break;
		}
		if (evbuffer_reserve_space(in, CONN_TLS_RECORD, &v, 1) < 1)
			break;	/* out of memory: the next read tries again */
		ERR_clear_error();
		if ((r = SSL_read(ssl, v.iov_base, (int)v.iov_len)) <= 0) {
			/* Nothing committed: the reservation lapses. */
			err = SSL_get_error(ssl, r);
			if (err == SSL_ERROR_WANT_READ ||
			    err == SSL_ERROR_WANT_WRITE)
				break;	/* a partial record: the socket's turn */
			if (err == SSL_ERROR_ZERO_RETURN) {
				ERR_clear_error();
				return BEV_EVENT_EOF;
			}
			/* OpenSSL's reason stays queued for the log line. */
			return BEV_EVENT_ERROR;
		}
		v.iov_len = (size_t)r;
		(void)evbuffer_commit_space(in, &v, 1);
		got += (size_t)r;
	}
	return 0;
}

/*
 * A TLS client's bufferevent read (or conn_kick): tell the owner how many
 * bytes arrived since the last call.  The owner only takes bytes off the
 * input in its co_input, so the input's length after the call is where
 * the next count starts.
 */
static void
conn_tls_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	size_t		 len;
	short		 ended;

	conn_ref(c);
	ended = conn_tls_read_ahead(c);
	len = evbuffer_get_length(bufferevent_get_input(bev));
	c->cn_ops->co_input(c, len > c->cn_tls_seen ? len - c->cn_tls_seen : 0);
	if (c->cn_state != CONN_CLOSED) {
		c->cn_tls_seen = evbuffer_get_length(bufferevent_get_input(bev));
		/* What bufferevent_openssl would have reported, had it read. */
		if (ended != 0)
			conn_tls_event_cb(bev, BEV_EVENT_READING | ended, c);
	}
	conn_unref(c);
}

/* The handshake is done: the deadline goes and the client is OPEN. */
static void
conn_tls_connected(struct conn *c)
{
	if (c->cn_hs_ev != NULL)
		event_free(c->cn_hs_ev);
	c->cn_tls_seen = 0;
	conn_set_state(c, CONN_OPEN);
	if (c->cn_ops->co_handshake != NULL)
		c->cn_ops->co_handshake(c);
}

/*
 * Why the handshake failed, logged with the peer: OpenSSL's first error
 * (bufferevent_openssl queues the SSL_get_error code first, library
 * errors after it), or the socket's.
 */
static void
conn_tls_log_failure(struct conn *c, short what, int err)
{
	const char	*stage = c->cn_state == CONN_NEW ? "tls handshake" :
			    "tls";
	char		 peer[ADDR_STRLEN], why[384];
	unsigned long	 e;
	long		 v;
	size_t		 n;
	SSL		*ssl;

	why[0] = '\0';
	while ((e = bufferevent_get_openssl_error(c->cn_bev)) != 0) {
		if (why[0] == '\0' && ERR_GET_LIB(e) != 0)
			ERR_error_string_n(e, why, sizeof why);
	}
	/* A record conn_tls_read_ahead found broken: its own SSL_read's. */
	if (why[0] == '\0' && (e = ERR_peek_error()) != 0)
		ERR_error_string_n(e, why, sizeof why);
	ERR_clear_error();
	if (why[0] == '\0')
		snprintf(why, sizeof why, "%s", (what & BEV_EVENT_EOF) ||
		    err == 0 ? "connection closed" : strerror(err));
	/* Why a client certificate was refused (expired, unknown CA...). */
	ssl = bufferevent_openssl_get_ssl(c->cn_bev);
	if (ssl != NULL && (v = SSL_get_verify_result(ssl)) != X509_V_OK) {
		n = strlen(why);
		snprintf(why + n, sizeof why - n, " (%s)",
		    X509_verify_cert_error_string(v));
	}
	log_info("client %u: %s from %s: %s", c->cn_id, stage,
	    addr_format(&c->cn_peer.sa, peer, sizeof peer), why);
}

/* Not one byte came from the peer: the SSL's socket BIO counts them. */
static int
conn_tls_nothing_read(struct bufferevent *bev)
{
	SSL	*ssl = bufferevent_openssl_get_ssl(bev);
	BIO	*rbio = ssl != NULL ? SSL_get_rbio(ssl) : NULL;

	return rbio != NULL && BIO_number_read(rbio) == 0;
}

/*
 * A TLS client's events: the handshake's end (CONNECTED) or failure, and
 * later EOF or an error.  An EOF on reading ends reading as for a plain
 * client, what was read is routed and what is queued still written; the
 * bufferevent stopped writing too, so writing is turned back on.  A
 * broken record (an error) closes the client once what it sent is routed.
 */
static void
conn_tls_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	int		 err = EVUTIL_SOCKET_ERROR();
	size_t		 len;

	conn_ref(c);
	if (what & BEV_EVENT_CONNECTED) {
		conn_tls_connected(c);
	} else if (c->cn_state == CONN_NEW && (what & BEV_EVENT_EOF) &&
	    conn_tls_nothing_read(bev)) {
		/* A TCP check or a port scan, not a failed handshake. */
		log_debug("client %u: closed before a byte of the handshake",
		    c->cn_id);
		c->cn_ops->co_error(c, CONN_REASON_EOF);
	} else if (c->cn_state == CONN_NEW) {
		conn_tls_log_failure(c, what, err);
		c->cn_ops->co_error(c, CONN_REASON_TLS);
	} else if ((what & BEV_EVENT_READING) && c->cn_state != CONN_DONE &&
	    c->cn_state != CONN_CLOSED) {
		if (what & BEV_EVENT_ERROR)
			conn_tls_log_failure(c, what, err);
		conn_read_done(c, (what & BEV_EVENT_ERROR) ?
		    CONN_REASON_ERROR : CONN_REASON_EOF);
		len = evbuffer_get_length(bufferevent_get_input(bev));
		if (!(what & BEV_EVENT_ERROR))
			(void)bufferevent_enable(bev, EV_WRITE);
		c->cn_ops->co_input(c, len > c->cn_tls_seen ?
		    len - c->cn_tls_seen : 0);
		if (c->cn_state != CONN_CLOSED) {
			c->cn_tls_seen = evbuffer_get_length(
			    bufferevent_get_input(bev));
			if (what & BEV_EVENT_ERROR)
				c->cn_ops->co_error(c, CONN_REASON_ERROR);
		}
	} else if (what & BEV_EVENT_ERROR) {
		conn_tls_log_failure(c, what, err);
		c->cn_ops->co_error(c, CONN_REASON_ERROR);
	} else if ((what & BEV_EVENT_READING) && c->cn_state == CONN_DONE) {
		/* An EOF after the drain stopped reading: keep writing. */
		(void)bufferevent_enable(bev, EV_WRITE);
	} else
		c->cn_ops->co_error(c, CONN_REASON_EOF);
	conn_unref(c);
}

/* tls.handshake_timeout passed before the handshake ended. */
static void
conn_tls_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	char		 peer[ADDR_STRLEN];

	conn_ref(c);
	event_free(c->cn_hs_ev);
	c->cn_hs_ev = NULL;
	log_info("client %u: tls handshake from %s: timed out", c->cn_id,
	    addr_format(&c->cn_peer.sa, peer, sizeof peer));
	c->cn_ops->co_error(c, CONN_REASON_TLS_TIMEOUT);
	conn_unref(c);
}
