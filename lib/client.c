/*
 * client: libmsgrouter-client, one connection to msgrouterd over a plain
 * non-blocking socket, or TLS on one (OpenSSL), waited on with poll(2).  No
 * libevent, no threads, no output: every failure is a negative MR_E* code.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "msgrouter/addr.h"
#include "msgrouter/client.h"

#define MR_HEADER_LEN	4
/* First size of the receive buffer; it doubles while reads fill it. */
#define MR_IN_INITIAL	4096
/* The receive buffer may grow to this even when messages are smaller. */
#define MR_IN_READ_MAX	(256 * 1024)
/* Compact the receive buffer before a read when less than this is free. */
#define MR_IN_MIN_ROOM	1024
/* The most one SSL_write is given; it takes an int. */
#define MR_TLS_WRITE_MAX	(1024 * 1024)
/* Room for mr_tls_error(). */
#define MR_TLS_ERRLEN	256

/* A growable byte buffer: data in [b_off, b_len) of b_data[0, b_cap). */
struct mr_buf {
	char	*b_data;
	size_t	 b_off;
	size_t	 b_len;
	size_t	 b_cap;
};

/* When a wait ends: never (dl_mode -1), not at all (0) or at dl_at (1). */
struct mr_deadline {
	int		dl_mode;
	struct timespec	dl_at;
};

struct mr_client {
	int		c_fd;
	uint32_t	c_id;
	int		c_eof;		/* the router closed its side */
	int		c_skipping;	/* discarding an oversized message */
	size_t		c_max_message;
	size_t		c_max_pending;
	size_t		c_scanned;	/* input bytes known to hold no 0x00 */
	size_t		c_consume;	/* bytes of the last returned message */
	int		c_grow;		/* the last read filled the buffer */
	struct mr_buf	c_in;
	struct mr_buf	c_out;
	short		c_want;		/* what to poll for after MR_EAGAIN */
	int		c_tls_broken;	/* TLS failed: no close_notify */
	SSL		*c_ssl;		/* NULL for plain */
	struct mr_tls	*c_tls;		/* where TLS errors are told */
};

/* TLS settings and the OpenSSL context of every client made with them. */
struct mr_tls {
	SSL_CTX		*t_ctx;
	BIO_METHOD	*t_bio;		/* a socket BIO that never raises SIGPIPE */
	int		 t_insecure;
	int		 t_have_ca;	/* a CA file replaced the system store */
	int		 t_defaults;	/* the system store is loaded */
	char		 t_error[MR_TLS_ERRLEN];
};

/* Bytes held by a buffer. */
static size_t
mrbuf_used(const struct mr_buf *b)
{
	return b->b_len - b->b_off;
}

/* Drop the first n held bytes; an emptied buffer restarts at offset 0. */
static void
mrbuf_drain(struct mr_buf *b, size_t n)
{
	b->b_off += n;
	if (b->b_off == b->b_len)
		b->b_off = b->b_len = 0;
}

/* Move the held bytes to the start of the buffer. */
static void
mrbuf_compact(struct mr_buf *b)
{
	size_t	used = mrbuf_used(b);

	if (b->b_off == 0)
		return;
	if (used > 0)
		memmove(b->b_data, b->b_data + b->b_off, used);
	b->b_off = 0;
	b->b_len = used;
}

/* Resize the allocation to cap bytes, which must hold what is used. */
static int
mrbuf_resize(struct mr_buf *b, size_t cap)
{
	char	*p;

	mrbuf_compact(b);
	if ((p = realloc(b->b_data, cap)) == NULL)
		return MR_ENOMEM;
	b->b_data = p;
	b->b_cap = cap;
	return MR_OK;
}

/* Make room for need more bytes after the held ones, doubling the size. */
static int
mrbuf_reserve(struct mr_buf *b, size_t need)
{
	size_t	cap, want;

	if (b->b_cap - b->b_len >= need)
		return MR_OK;
	want = mrbuf_used(b) + need;
	if (want <= b->b_cap) {
		mrbuf_compact(b);
		return MR_OK;
	}
	cap = b->b_cap > 0 ? b->b_cap : 64;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	return mrbuf_resize(b, cap);
}

static void
mrbuf_free(struct mr_buf *b)
{
	free(b->b_data);
	memset(b, 0, sizeof *b);
}

/* Start a deadline timeout_ms from now (-1: none, 0: do not wait). */
static void
deadline_start(struct mr_deadline *dl, int timeout_ms)
{
	if (timeout_ms <= 0) {
		/* No clock read: timeout 0 is the hot path of pollers. */
		dl->dl_mode = timeout_ms < 0 ? -1 : 0;
		return;
	}
	dl->dl_mode = 1;
	clock_gettime(CLOCK_MONOTONIC, &dl->dl_at);
	dl->dl_at.tv_sec += timeout_ms / 1000;
	dl->dl_at.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl->dl_at.tv_nsec >= 1000000000L) {
		dl->dl_at.tv_sec++;
		dl->dl_at.tv_nsec -= 1000000000L;
	}
}

/* Milliseconds left before the deadline, rounded up; -1 for none. */
static int
deadline_left(const struct mr_deadline *dl)
{
	struct timespec	now;
	long long	ns;

	if (dl->dl_mode < 0)
		return -1;
	if (dl->dl_mode == 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (long long)(dl->dl_at.tv_sec - now.tv_sec) * 1000000000LL +
	    (dl->dl_at.tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	if (ns / 1000000 >= INT_MAX)
		return INT_MAX;
	return (int)((ns + 999999) / 1000000);
}

/*
 * Wait until fd is ready for events.  MR_EAGAIN when the caller asked not to
 * wait, MR_ETIMEDOUT when the deadline passes.  Errors and hang-ups count as
 * ready: the next read or write reports them.
 */
static int
client_wait(int fd, short events, const struct mr_deadline *dl)
{
	struct pollfd	pfd;
	int		ms, n;

	if (dl->dl_mode == 0)
		return MR_EAGAIN;
	for (;;) {
		if ((ms = deadline_left(dl)) == 0)
			return MR_ETIMEDOUT;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, ms);
		if (n > 0)
			return MR_OK;
		if (n < 0 && errno != EINTR)
			return MR_EIO;
	}
}

/*
 * Say in t's error text why a TLS call failed: what failed, OpenSSL's
 * reason (the oldest error queued, the cause rather than its echoes) and,
 * when the router's certificate was refused, the verification result.
 */
static void
tls_error_set(struct mr_tls *t, SSL *ssl, const char *what)
{
	unsigned long	 e = ERR_peek_error();
	const char	*reason = NULL;
	char		 buf[MR_TLS_ERRLEN];
	long		 v;
	size_t		 n;

	if (t == NULL)
		return;
	if (e != 0 && ERR_SYSTEM_ERROR(e))
		reason = strerror(ERR_GET_REASON(e));
	else if (e != 0 && (reason = ERR_reason_error_string(e)) == NULL) {
		ERR_error_string_n(e, buf, sizeof buf);
		reason = buf;
	}
	n = (size_t)snprintf(t->t_error, sizeof t->t_error, "%s: %s", what,
	    reason != NULL ? reason : "connection closed");
	if (ssl != NULL && n < sizeof t->t_error &&
	    (v = SSL_get_verify_result(ssl)) != X509_V_OK)
		snprintf(t->t_error + n, sizeof t->t_error - n, " (%s)",
		    X509_verify_cert_error_string(v));
	ERR_clear_error();
}

/*
 * What a TLS call that returned ret <= 0 means: MR_EAGAIN with c_want set to
 * what TLS waits for, MR_ECLOSED when the router closed, else MR_EIO or
 * MR_ETLS (told in c_tls).
 */
static int
client_tls_result(struct mr_client *c, int ret, const char *what)
{
	unsigned long	e;

	switch (SSL_get_error(c->c_ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		c->c_want = POLLIN;
		return MR_EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		c->c_want = POLLOUT;
		return MR_EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return MR_ECLOSED;
	case SSL_ERROR_SYSCALL:
		c->c_tls_broken = 1;
		ERR_clear_error();
		if (ret == 0 || errno == EPIPE || errno == ECONNRESET)
			return MR_ECLOSED;
		return MR_EIO;
	default:
		c->c_tls_broken = 1;
		e = ERR_peek_error();
		/* A router that closes without close_notify has still closed. */
		if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			ERR_clear_error();
			return MR_ECLOSED;
		}
		tls_error_set(c->c_tls, c->c_ssl, what);
		return MR_ETLS;
	}
}

/*
 * Read at most len bytes: > 0 read, 0 at end of file, or MR_EAGAIN (c_want
 * says what to wait for), MR_ECLOSED, MR_EIO, MR_ETLS.
 */
static ssize_t
client_read(struct mr_client *c, char *buf, size_t len)
{
	ssize_t	n;
	int	r;

	if (c->c_ssl != NULL) {
		ERR_clear_error();
		r = SSL_read(c->c_ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
		if (r > 0)
			return r;
		r = client_tls_result(c, r, "TLS");
		return r == MR_ECLOSED ? 0 : r;
	}
	for (;;) {
		if ((n = recv(c->c_fd, buf, len, 0)) >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->c_want = POLLIN;
			return MR_EAGAIN;
		}
		if (errno == ECONNRESET)
			return 0;
		return MR_EIO;
	}
}

/*
 * Write at most len bytes: >= 0 written, or MR_EAGAIN (c_want says what to
 * wait for), MR_ECLOSED, MR_EIO, MR_ETLS.  A TLS write that must wait is
 * retried with the same bytes at the start of the buffer and at least as
 * many of them, which is all that SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER asks.
 */
static ssize_t
client_write(struct mr_client *c, const char *buf, size_t len)
{
	ssize_t	n;
	int	r;

	if (c->c_ssl != NULL) {
		ERR_clear_error();
		r = SSL_write(c->c_ssl, buf, len > MR_TLS_WRITE_MAX ?
		    MR_TLS_WRITE_MAX : (int)len);
		if (r > 0)
			return r;
		return client_tls_result(c, r, "TLS");
	}
	for (;;) {
		if ((n = send(c->c_fd, buf, len, MSG_NOSIGNAL)) >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->c_want = POLLOUT;
			return MR_EAGAIN;
		}
		if (errno == EPIPE || errno == ECONNRESET)
			return MR_ECLOSED;
		return MR_EIO;
	}
}

/*
 * One read into the receive buffer: > 0 bytes read, MR_EAGAIN if the socket
 * has nothing, MR_ECLOSED on end of file, MR_EIO, MR_ETLS or MR_ENOMEM.
 */
static int
client_fill(struct mr_client *c)
{
	struct mr_buf	*in = &c->c_in;
	size_t		 bound, room, cap;
	ssize_t		 n;
	int		 r;

	bound = c->c_max_message > MR_IN_READ_MAX ? c->c_max_message :
	    MR_IN_READ_MAX;
	if (in->b_cap - in->b_len < MR_IN_MIN_ROOM)
		mrbuf_compact(in);
	room = in->b_cap - in->b_len;
	if ((room == 0 || c->c_grow) && in->b_cap < bound) {
		cap = in->b_cap > 0 ? in->b_cap * 2 : MR_IN_INITIAL;
		if (cap > bound)
			cap = bound;
		if ((r = mrbuf_resize(in, cap)) != MR_OK)
			return r;
		room = in->b_cap - in->b_len;
	}
	c->c_grow = 0;
	/* The parser reports a full buffer as MR_ETOOBIG before we get here. */
	if (room == 0)
		return MR_ENOMEM;
	n = client_read(c, in->b_data + in->b_len, room);
	if (n > 0) {
		in->b_len += (size_t)n;
		c->c_grow = (size_t)n == room;
		return n > INT_MAX ? INT_MAX : (int)n;
	}
	if (n == 0) {
		c->c_eof = 1;
		return MR_ECLOSED;
	}
	return (int)n;
}

/*
 * Find the next whole message in the receive buffer.  Bytes already scanned
 * are not scanned again, and no more than c_max_message bytes are scanned for
 * one message, so a stream without 0x00 costs linear time and bounded memory.
 */
static int
client_parse(struct mr_client *c, const char **msg, size_t *len)
{
	struct mr_buf	*in = &c->c_in;
	const char	*start, *nul;
	size_t		 have, limit;

	if (c->c_skipping) {
		start = in->b_data + in->b_off;
		nul = memchr(start, '\0', mrbuf_used(in));
		if (nul == NULL) {
			mrbuf_drain(in, mrbuf_used(in));
			return MR_EAGAIN;
		}
		mrbuf_drain(in, (size_t)(nul - start) + 1);
		c->c_skipping = 0;
	}
	have = mrbuf_used(in);
	start = in->b_data + in->b_off;
	limit = have < c->c_max_message ? have : c->c_max_message;
	if (c->c_scanned < limit) {
		nul = memchr(start + c->c_scanned, '\0', limit - c->c_scanned);
		if (nul != NULL) {
			*msg = start;
			*len = (size_t)(nul - start);
			c->c_consume = *len + 1;
			c->c_scanned = 0;
			return MR_OK;
		}
		c->c_scanned = limit;
	}
	if (c->c_scanned >= c->c_max_message) {
		mrbuf_drain(in, c->c_scanned);
		c->c_scanned = 0;
		c->c_skipping = 1;
		return MR_ETOOBIG;
	}
	return MR_EAGAIN;
}

/* Read the 4-byte id the router sends first. */
static int
client_read_id(struct mr_client *c, const struct mr_deadline *dl)
{
	uint32_t	be;
	int		r;

	while (mrbuf_used(&c->c_in) < MR_HEADER_LEN) {
		r = client_fill(c);
		if (r == MR_EAGAIN) {
			r = client_wait(c->c_fd, c->c_want, dl);
			if (r == MR_EAGAIN)
				return MR_ETIMEDOUT;
			if (r != MR_OK)
				return r;
		} else if (r < 0)
			return r;
	}
	memcpy(&be, c->c_in.b_data + c->c_in.b_off, sizeof be);
	c->c_id = ntohl(be);
	mrbuf_drain(&c->c_in, MR_HEADER_LEN);
	return MR_OK;
}

/* A new client around a connected non-blocking fd, or NULL. */
static struct mr_client *
client_new(int fd)
{
	struct mr_client	*c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	c->c_fd = fd;
	c->c_want = POLLIN;
	c->c_max_message = MR_DEFAULT_MAX_MESSAGE;
	c->c_max_pending = MR_DEFAULT_MAX_PENDING;
	return c;
}

/* Read the id of a new client c; on failure c is closed, but not its fd. */
static int
client_start(struct mr_client *c, const struct mr_deadline *dl,
    struct mr_client **out)
{
	int	r;

	if ((r = client_read_id(c, dl)) != MR_OK) {
		c->c_fd = -1;
		mr_client_close(c);
		return r;
	}
	/* An idle client holds no buffer; the first read allocates one. */
	if (mrbuf_used(&c->c_in) == 0)
		mrbuf_free(&c->c_in);
	*out = c;
	return MR_OK;
}

/* Close fd without letting close(2) overwrite the errno being reported. */
static void
client_close_fd(int fd)
{
	int	saved = errno;

	close(fd);
	errno = saved;
}

/*
 * Wait until a connect in progress on fd ends: MR_OK once connected, else
 * why not, with errno set for MR_ECONNECT.
 */
static int
client_connect_wait(int fd, const struct mr_deadline *dl)
{
	socklen_t	errlen;
	int		r, err;

	r = client_wait(fd, POLLOUT, dl);
	if (r != MR_OK)
		return r == MR_EAGAIN ? MR_ETIMEDOUT : r;
	errlen = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) == -1)
		err = errno;
	if (err != 0) {
		errno = err;
		return MR_ECONNECT;
	}
	return MR_OK;
}

/* Check a "HOST:PORT" with a port, or a "unix:/PATH". */
static int
client_parse_addr(const char *hostport, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	const char	*why;

	if (hostport == NULL || addr_parse(hostport, ss, sslen, &why) != 0)
		return MR_EINVAL;
	if ((ss->ss_family == AF_INET &&
	    ((struct sockaddr_in *)ss)->sin_port == 0) ||
	    (ss->ss_family == AF_INET6 &&
	    ((struct sockaddr_in6 *)ss)->sin6_port == 0))
		return MR_EINVAL;
	return MR_OK;
}

/* Connect a stream socket to ss before the deadline: the fd, or MR_E*. */
static int
client_socket_connect(const struct sockaddr_storage *ss, socklen_t sslen,
    const struct mr_deadline *dl)
{
	int	fd, r, one = 1;

	if ((fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return MR_EIO;
	if (connect(fd, (const struct sockaddr *)ss, sslen) == -1) {
		if (errno != EINPROGRESS && errno != EINTR)
			r = MR_ECONNECT;
		else
			r = client_connect_wait(fd, dl);
		if (r != MR_OK) {
			client_close_fd(fd);
			return r;
		}
	}
	/* Messages are small and latency matters more than packet count. */
	if (ss->ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

int
mr_client_connect(const char *hostport, int timeout_ms, struct mr_client **out)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	struct mr_deadline	 dl;
	struct mr_client	*c;
	int			 fd, r;

	if (out == NULL)
		return MR_EINVAL;
	*out = NULL;
	if ((r = client_parse_addr(hostport, &ss, &sslen)) != MR_OK)
		return r;
	deadline_start(&dl, timeout_ms);
	if ((fd = client_socket_connect(&ss, sslen, &dl)) < 0)
		return fd;
	if ((c = client_new(fd)) == NULL) {
		client_close_fd(fd);
		return MR_ENOMEM;
	}
	if ((r = client_start(c, &dl, out)) != MR_OK)
		client_close_fd(fd);
	return r;
}

int
mr_client_attach(int fd, int timeout_ms, struct mr_client **out)
{
	struct mr_deadline	 dl;
	struct mr_client	*c;
	int			 flags;

	if (out == NULL)
		return MR_EINVAL;
	*out = NULL;
	if (fd < 0)
		return MR_EINVAL;
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		return MR_EIO;
	deadline_start(&dl, timeout_ms);
	if ((c = client_new(fd)) == NULL)
		return MR_ENOMEM;
	return client_start(c, &dl, out);
}

void
mr_client_close(struct mr_client *c)
{
	if (c == NULL)
		return;
	mrbuf_free(&c->c_out);
	mrbuf_free(&c->c_in);
	if (c->c_ssl != NULL) {
		/* One try at close_notify, which a full socket may refuse. */
		if (!c->c_tls_broken && c->c_fd != -1 &&
		    SSL_is_init_finished(c->c_ssl))
			SSL_shutdown(c->c_ssl);
		ERR_clear_error();
		SSL_free(c->c_ssl);
	}
	if (c->c_fd != -1)
		client_close_fd(c->c_fd);
	free(c);
}

uint32_t
mr_client_id(const struct mr_client *c)
{
	return c->c_id;
}

int
mr_client_fd(const struct mr_client *c)
{
	return c->c_fd;
}

void
mr_client_set_max_message(struct mr_client *c, size_t max)
{
	c->c_max_message = max > 0 ? max : 1;
}

void
mr_client_set_max_pending(struct mr_client *c, size_t max)
{
	c->c_max_pending = max;
}

int
mr_client_queue(struct mr_client *c, uint32_t dst, const void *payload,
    size_t len)
{
	struct mr_buf	*out = &c->c_out;
	uint32_t	 be;
	size_t		 frame;
	char		*p;
	int		 r;

	if (payload == NULL && len > 0)
		return MR_EINVAL;
	if (len > 0 && memchr(payload, '\0', len) != NULL)
		return MR_EINVAL;
	if (len > SIZE_MAX - MR_HEADER_LEN - 1)
		return MR_ETOOBIG;
	frame = MR_HEADER_LEN + len + 1;
	if (frame > c->c_max_pending)
		return MR_ETOOBIG;
	if (mrbuf_used(out) > c->c_max_pending - frame)
		return MR_EAGAIN;
	if ((r = mrbuf_reserve(out, frame)) != MR_OK)
		return r;

	p = out->b_data + out->b_len;
	be = htonl(dst);
	memcpy(p, &be, MR_HEADER_LEN);
	if (len > 0)
		memcpy(p + MR_HEADER_LEN, payload, len);
	p[MR_HEADER_LEN + len] = '\0';
	out->b_len += frame;
	return MR_OK;
}

/*
 * Write the send buffer until at most keep bytes remain or the deadline
 * passes.
 */
static int
client_flush(struct mr_client *c, size_t keep, const struct mr_deadline *dl)
{
	struct mr_buf	*out = &c->c_out;
	ssize_t		 n;
	int		 r;

	while (mrbuf_used(out) > keep) {
		n = client_write(c, out->b_data + out->b_off, mrbuf_used(out));
		if (n >= 0) {
			mrbuf_drain(out, (size_t)n);
			continue;
		}
		if (n != MR_EAGAIN)
			return (int)n;
		if ((r = client_wait(c->c_fd, c->c_want, dl)) != MR_OK)
			return r;
	}
	return MR_OK;
}

int
mr_client_flush(struct mr_client *c, int timeout_ms)
{
	struct mr_deadline	dl;

	deadline_start(&dl, timeout_ms);
	return client_flush(c, 0, &dl);
}

size_t
mr_client_pending(const struct mr_client *c)
{
	return mrbuf_used(&c->c_out);
}

/*
 * The outcome tells whether the frame was queued, so that a caller never
 * has to guess between a duplicate and a loss: a negative code before the
 * frame is queued (room is made by writing only what must go first), and
 * MR_QUEUED rather than a timeout once it is, since from then on the frame
 * goes out with the next flush.
 */
int
mr_client_send(struct mr_client *c, uint32_t dst, const void *payload,
    size_t len, int timeout_ms)
{
	struct mr_deadline	dl;
	size_t			frame;
	int			r;

	deadline_start(&dl, timeout_ms);
	r = mr_client_queue(c, dst, payload, len);
	if (r == MR_EAGAIN) {
		/* queue checked that the frame fits under the bound alone. */
		frame = MR_HEADER_LEN + len + 1;
		r = client_flush(c, c->c_max_pending - frame, &dl);
		if (r != MR_OK)
			return r;
		r = mr_client_queue(c, dst, payload, len);
	}
	if (r != MR_OK)
		return r;
	r = client_flush(c, 0, &dl);
	if (r == MR_EAGAIN || r == MR_ETIMEDOUT)
		return MR_QUEUED;
	return r;
}

int
mr_client_recv(struct mr_client *c, int timeout_ms, const char **msg,
    size_t *len)
{
	struct mr_deadline	dl;
	int			r;

	if (c->c_consume > 0) {
		mrbuf_drain(&c->c_in, c->c_consume);
		c->c_consume = 0;
	}
	deadline_start(&dl, timeout_ms);
	for (;;) {
		if ((r = client_parse(c, msg, len)) != MR_EAGAIN)
			return r;
		if (c->c_eof)
			return MR_ECLOSED;
		r = client_fill(c);
		if (r == MR_EAGAIN) {
			if ((r = client_wait(c->c_fd, c->c_want, &dl)) != MR_OK)
				return r;
		} else if (r < 0 && r != MR_ECLOSED)
			return r;
	}
}

const char *
mr_strerror(int error)
{
	switch (error) {
	case MR_OK:
		return "success";
	case MR_QUEUED:
		return "queued, not yet written";
	case MR_EAGAIN:
		return "operation would block";
	case MR_ETIMEDOUT:
		return "timed out";
	case MR_ECLOSED:
		return "connection closed by the router";
	case MR_EINVAL:
		return "invalid argument";
	case MR_ECONNECT:
		return "cannot connect to the router";
	case MR_EIO:
		return "socket error";
	case MR_ENOMEM:
		return "out of memory";
	case MR_ETOOBIG:
		return "message too big";
	case MR_ETLS:
		return "TLS failure";
	default:
		return "unknown error";
	}
}

/*
 * The socket BIO of TLS clients.  OpenSSL's own writes with write(2), which
 * raises SIGPIPE on a closed connection; a library must not kill its caller,
 * so this one uses send(MSG_NOSIGNAL) as the plain path does.
 */
static int
tls_bio_write(BIO *b, const char *buf, int len)
{
	int	fd = (int)(intptr_t)BIO_get_data(b);
	ssize_t	n;

	BIO_clear_retry_flags(b);
	do
		n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_write(b);
	return (int)n;
}

static int
tls_bio_read(BIO *b, char *buf, int len)
{
	int	fd = (int)(intptr_t)BIO_get_data(b);
	ssize_t	n;

	BIO_clear_retry_flags(b);
	do
		n = recv(fd, buf, (size_t)len, 0);
	while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_read(b);
	return (int)n;
}

static long
tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_C_GET_FD:
		return (long)(intptr_t)BIO_get_data(b);
	default:
		return 0;
	}
}

struct mr_tls *
mr_tls_new(void)
{
	struct mr_tls	*t;

	if ((t = calloc(1, sizeof *t)) == NULL)
		return NULL;
	if ((t->t_ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    (t->t_bio = BIO_meth_new(BIO_get_new_index() |
	    BIO_TYPE_SOURCE_SINK, "msgrouter socket")) == NULL) {
		mr_tls_free(t);
		return NULL;
	}
	BIO_meth_set_write(t->t_bio, tls_bio_write);
	BIO_meth_set_read(t->t_bio, tls_bio_read);
	BIO_meth_set_ctrl(t->t_bio, tls_bio_ctrl);
	SSL_CTX_set_min_proto_version(t->t_ctx, TLS1_2_VERSION);
	/*
	 * One recv for many records rather than two per record (header,
	 * then body).  What it reads ahead is only ever handed out by the
	 * recv loop, which reads until TLS says it wants the socket again,
	 * so a poller never waits on bytes that are already here.
	 */
	SSL_CTX_set_read_ahead(t->t_ctx, 1);
	/*
	 * Partial writes drain our send buffer as records go out; the buffer
	 * may move between a write that must wait and its retry (queue grows
	 * it); an idle client frees OpenSSL's 34 KiB of record buffers.
	 */
	SSL_CTX_set_mode(t->t_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	return t;
}

void
mr_tls_free(struct mr_tls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->t_ctx);
	BIO_meth_free(t->t_bio);
	free(t);
}

int
mr_tls_set_ca(struct mr_tls *t, const char *cafile)
{
	X509_STORE	*store;
	char		 what[MR_TLS_ERRLEN];

	if (cafile == NULL)
		return MR_EINVAL;
	ERR_clear_error();
	if ((store = X509_STORE_new()) == NULL)
		return MR_ENOMEM;
	if (X509_STORE_load_file(store, cafile) != 1) {
		X509_STORE_free(store);
		snprintf(what, sizeof what, "CA file %s", cafile);
		tls_error_set(t, NULL, what);
		return MR_ETLS;
	}
	SSL_CTX_set_cert_store(t->t_ctx, store);
	t->t_have_ca = 1;
	return MR_OK;
}

int
mr_tls_set_cert(struct mr_tls *t, const char *certfile, const char *keyfile)
{
	char	what[MR_TLS_ERRLEN];

	if (certfile == NULL || keyfile == NULL)
		return MR_EINVAL;
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(t->t_ctx, certfile) != 1)
		snprintf(what, sizeof what, "certificate %s", certfile);
	else if (SSL_CTX_use_PrivateKey_file(t->t_ctx, keyfile,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(t->t_ctx) != 1)
		snprintf(what, sizeof what, "key %s", keyfile);
	else
		return MR_OK;
	tls_error_set(t, NULL, what);
	return MR_ETLS;
}

void
mr_tls_set_insecure(struct mr_tls *t, int insecure)
{
	t->t_insecure = insecure != 0;
}

const char *
mr_tls_error(const struct mr_tls *t)
{
	return t->t_error[0] != '\0' ? t->t_error : "no error";
}

/*
 * The host of "HOST:PORT" or "[V6]:PORT" into buf: what the router's
 * certificate must name.  addr_parse has already accepted hostport.
 */
static int
tls_host(const char *hostport, char *buf, size_t len)
{
	const char	*start = hostport, *end;

	if (*start == '[') {
		start++;
		end = strchr(start, ']');
	} else
		end = strrchr(start, ':');
	if (end == NULL || (size_t)(end - start) >= len)
		return MR_EINVAL;
	memcpy(buf, start, (size_t)(end - start));
	buf[end - start] = '\0';
	return MR_OK;
}

/*
 * Make c's TLS session for host: verification (chain and name, unless
 * insecure; the chain alone for host ""), SNI for a name, our socket BIO.
 */
static int
client_tls_new(struct mr_client *c, struct mr_tls *t, const char *host)
{
	struct in6_addr	 a6;
	BIO		*bio;
	int		 is_ip;

	if (!t->t_have_ca && !t->t_defaults && !t->t_insecure) {
		if (SSL_CTX_set_default_verify_paths(t->t_ctx) != 1) {
			tls_error_set(t, NULL, "the system's CA store");
			return MR_ETLS;
		}
		t->t_defaults = 1;
	}
	if ((c->c_ssl = SSL_new(t->t_ctx)) == NULL ||
	    (bio = BIO_new(t->t_bio)) == NULL)
		return MR_ENOMEM;
	BIO_set_data(bio, (void *)(intptr_t)c->c_fd);
	BIO_set_init(bio, 1);
	SSL_set_bio(c->c_ssl, bio, bio);
	c->c_tls = t;

	is_ip = inet_pton(AF_INET, host, &a6) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1;
	if (!is_ip && host[0] != '\0' &&
	    SSL_set_tlsext_host_name(c->c_ssl, host) != 1)
		return MR_ENOMEM;
	if (t->t_insecure) {
		SSL_set_verify(c->c_ssl, SSL_VERIFY_NONE, NULL);
		return MR_OK;
	}
	SSL_set_verify(c->c_ssl, SSL_VERIFY_PEER, NULL);
	if (host[0] == '\0')
		return MR_OK;
	SSL_set_hostflags(c->c_ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->c_ssl),
	    host) != 1 : SSL_set1_host(c->c_ssl, host) != 1)
		return MR_ENOMEM;
	return MR_OK;
}

/* Run c's TLS handshake before the deadline. */
static int
client_tls_handshake(struct mr_client *c, const struct mr_deadline *dl)
{
	int	r;

	for (;;) {
		ERR_clear_error();
		if ((r = SSL_connect(c->c_ssl)) == 1)
			return MR_OK;
		r = client_tls_result(c, r, "TLS handshake");
		if (r == MR_ECLOSED) {
			/* A plain port, a refused client: say which. */
			c->c_tls_broken = 1;
			tls_error_set(c->c_tls, c->c_ssl, "TLS handshake");
			return MR_ETLS;
		}
		if (r != MR_EAGAIN)
			return r;
		if ((r = client_wait(c->c_fd, c->c_want, dl)) != MR_OK)
			return r == MR_EAGAIN ? MR_ETIMEDOUT : r;
	}
}

int
mr_client_connect_tls(const char *hostport, struct mr_tls *t, int timeout_ms,
    struct mr_client **out)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	struct mr_deadline	 dl;
	struct mr_client	*c;
	char			 host[ADDR_STRLEN];
	int			 fd, r;

	if (out == NULL)
		return MR_EINVAL;
	*out = NULL;
	if (t == NULL || client_parse_addr(hostport, &ss, &sslen) != MR_OK)
		return MR_EINVAL;
	/* A Unix socket has no name to check: its file mode guards it. */
	if (ss.ss_family == AF_UNIX)
		host[0] = '\0';
	else if (tls_host(hostport, host, sizeof host) != MR_OK)
		return MR_EINVAL;
	t->t_error[0] = '\0';
	deadline_start(&dl, timeout_ms);
	if ((fd = client_socket_connect(&ss, sslen, &dl)) < 0)
		return fd;
	if ((c = client_new(fd)) == NULL) {
		client_close_fd(fd);
		return MR_ENOMEM;
	}
	if ((r = client_tls_new(c, t, host)) != MR_OK ||
	    (r = client_tls_handshake(c, &dl)) != MR_OK) {
		c->c_fd = -1;
		mr_client_close(c);
		client_close_fd(fd);
		return r;
	}
	if ((r = client_start(c, &dl, out)) != MR_OK)
		client_close_fd(fd);
	return r;
}
