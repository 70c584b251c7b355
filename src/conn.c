/*
 * conn: a client connection.  The bufferevent owns the socket and both
 * evbuffers and writes what the direct flush could not; our own read event
 * fills the input buffer, and the router routes from it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "msgrouter/addr.h"
#include "msgrouter/clock.h"
#include "msgrouter/closed.h"
#include "msgrouter/conn.h"
#include "msgrouter/log.h"
#include "msgrouter/policy.h"
#include "msgrouter/registry.h"
#include "msgrouter/router.h"

static void	conn_read_cb(evutil_socket_t, short, void *);
static void	conn_first_read_cb(struct bufferevent *, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
static int	conn_finish(struct conn *);

static const char *conn_reasons[] = {
	"eof", "error", "oversize", "slow_consumer", "max_clients", "shutdown"
};

const char *
conn_reason_name(enum conn_reason reason)
{
	return conn_reasons[reason];
}

struct conn *
conn_new(struct router *rt, int fd, const struct sockaddr *sa, int socklen)
{
	struct conn	*c;
	uint32_t	 be;
	int		 one = 1;
	char		 peer[ADDR_STRLEN];

	if ((c = calloc(1, sizeof *c)) == NULL) {
		close(fd);
		return NULL;
	}
	c->cn_router = rt;
	TAILQ_INIT(&c->cn_waiters);
	if ((size_t)socklen <= sizeof c->cn_peer)
		memcpy(&c->cn_peer, sa, (size_t)socklen);
	/* Forwarded messages go out as soon as they are routed. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

	c->cn_bev = bufferevent_socket_new(rt->rt_base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
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
	bufferevent_disable(c->cn_bev, EV_WRITE);
	bufferevent_enable(c->cn_bev, EV_READ);
	conn_configure(c);

	c->cn_id = registry_next_id(rt->rt_registry, rt->rt_config.cf_id_mode);
	if (registry_add(rt->rt_registry, c) != 0)
		goto fail;
	TAILQ_INSERT_TAIL(&rt->rt_conns, c, cn_entry);
	c->cn_connected = clock_now_ms();
	rt->rt_stats.st_accepted++;

	be = htonl(c->cn_id);
	evbuffer_add(bufferevent_get_output(c->cn_bev), &be, sizeof be);
	router_mark_dirty(rt, c);
	log_info("client %u connected from %s", c->cn_id,
	    addr_format(&c->cn_peer.sa, peer, sizeof peer));
	return c;

fail:
	bufferevent_free(c->cn_bev);
	free(c);
	return NULL;
}

/* What the bufferevent may read at once: one largest frame at most. */
static size_t
conn_first_read_max(const struct config *cf)
{
	size_t	max = (size_t)cf->cf_max_message_size + FRAMING_HEADER_LEN;

	return max < CONN_READ_MAX ? max : CONN_READ_MAX;
}

void
conn_configure(struct conn *c)
{
	const struct config *cf = &c->cn_router->rt_config;

	/*
	 * The write callback runs when the queue is at the resume mark.
	 */
	bufferevent_setwatermark(c->cn_bev, EV_WRITE,
	    policy_resume_mark((size_t)cf->cf_queue_limit), 0);
	/*
	 * Unparsed input is bounded by one largest frame: conn_read never
	 * reads past it, and the bufferevent's one first read is held under
	 * it too.  No read watermark: in libevent 2.1 it hangs a callback on
	 * the input buffer that runs on every drain of every frame.
	 */
	(void)bufferevent_set_max_single_read(c->cn_bev,
	    conn_first_read_max(cf));
	/*
	 * A new limit or policy may let paused senders through: wake them
	 * all; each decides again and pauses again if it must.
	 */
	conn_wake_waiters(c);
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
	char	buf[16384];
	int	i;

	for (i = 0; i < 64; i++) {
		if (recv(bufferevent_getfd(c->cn_bev), buf, sizeof buf,
		    MSG_DONTWAIT) <= 0)
			break;
	}
}

void
conn_close(struct conn *c, enum conn_reason reason)
{
	struct router		*rt = c->cn_router;
	struct conn_info	 ci;

	if (c->cn_flags & CONN_CLOSED)
		return;
	c->cn_flags |= CONN_CLOSED;
	/* The ring keeps the counters as they are at close, unsent included. */
	conn_info(c, &ci);
	closed_add(rt->rt_closed, &ci, reason, clock_now_ms());
	log_info("client %u closed: %s; in %llu msgs %llu bytes, out %llu "
	    "msgs %llu bytes, dropped %llu, %zu bytes unsent", c->cn_id,
	    conn_reason_name(reason), (unsigned long long)c->cn_msgs_in,
	    (unsigned long long)c->cn_bytes_in,
	    (unsigned long long)c->cn_msgs_out,
	    (unsigned long long)c->cn_bytes_out,
	    (unsigned long long)c->cn_dropped, conn_queued(c));

	if (c->cn_flags & CONN_PAUSED) {
		TAILQ_REMOVE(&c->cn_blocked_on->cn_waiters, c, cn_wait_entry);
		c->cn_blocked_on = NULL;
		c->cn_flags &= ~CONN_PAUSED;
		rt->rt_stats.st_paused--;
	}
	/* Whoever waits for us must not wait for ever: the lost wake-up. */
	conn_wake_waiters(c);
	router_forget(rt, c);
	if (reason == CONN_REASON_SHUTDOWN)
		conn_discard_input(c);
	if (c->cn_read_ev != NULL)
		event_free(c->cn_read_ev);
	c->cn_read_ev = NULL;
	bufferevent_free(c->cn_bev);
	c->cn_bev = NULL;
	/* Closed from inside its own read callback: that frees it on return. */
	if (!(c->cn_flags & CONN_BUSY))
		free(c);
}

void
conn_info(struct conn *c, struct conn_info *ci)
{
	memset(ci, 0, sizeof *ci);
	ci->ci_id = c->cn_id;
	ci->ci_paused = (c->cn_flags & CONN_PAUSED) != 0;
	ci->ci_connected = c->cn_connected;
	ci->ci_queued = conn_queued(c);
	ci->ci_msgs_in = c->cn_msgs_in;
	ci->ci_bytes_in = c->cn_bytes_in;
	ci->ci_msgs_out = c->cn_msgs_out;
	ci->ci_bytes_out = c->cn_bytes_out;
	ci->ci_dropped = c->cn_dropped;
	_Static_assert(sizeof ci->ci_peer == sizeof c->cn_peer, "peer size");
	memcpy(&ci->ci_peer, &c->cn_peer, sizeof ci->ci_peer);
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
conn_max_message(struct conn *c)
{
	uint64_t	head;

	head = c->cn_bytes_in - evbuffer_get_length(conn_input(c));
	if (head < c->cn_max_until)
		return c->cn_max_before;
	return (size_t)c->cn_router->rt_config.cf_max_message_size;
}

size_t
conn_queued(struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->cn_bev));
}

/*
 * After a write: resume waiting senders once the queue is back at the
 * resume mark, tell a drain, and close a peer that sent EOF once it has
 * everything.  Returns -1 if the connection was closed.
 */
static int
conn_written(struct conn *c, size_t queued)
{
	size_t	mark;

	if (!TAILQ_EMPTY(&c->cn_waiters)) {
		mark = policy_resume_mark(
		    (size_t)c->cn_router->rt_config.cf_queue_limit);
		if (queued <= mark)
			conn_wake_waiters(c);
	}
	if (c->cn_router->rt_draining)
		router_drain_check(c->cn_router, c);
	if (queued == 0 && (c->cn_flags & CONN_EOF))
		return conn_finish(c);
	return 0;
}

/*
 * Write the queue now rather than one loop iteration later, and leave write
 * events to the bufferevent only when the socket took less than all of it:
 * no epoll_ctl and no extra wake-up per message, as refrouter does it.
 */
int
conn_flush(struct conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->cn_bev);
	size_t		 queued;
	int		 n;

	if (c->cn_flags & (CONN_WRITING | CONN_CLOSED))
		return 0;
	if (evbuffer_get_length(out) == 0)
		return 0;
	/* The bufferevent freezes its output's start between its own writes. */
	evbuffer_unfreeze(out, 1);
	n = evbuffer_write(out, bufferevent_getfd(c->cn_bev));
	evbuffer_freeze(out, 1);
	if (n < 0) {
		int err = errno;
		if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
			log_info("client %u: write: %s", c->cn_id,
			    strerror(err));
			conn_close(c, CONN_REASON_ERROR);
			return -1;
		}
	}
	queued = evbuffer_get_length(out);
	if (queued > 0) {
		c->cn_flags |= CONN_WRITING;
		bufferevent_enable(c->cn_bev, EV_WRITE);
	}
	return conn_written(c, queued);
}

/* The bufferevent wrote and the queue is at or under the resume mark. */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	size_t		 queued = conn_queued(c);

	if (queued == 0) {
		c->cn_flags &= ~CONN_WRITING;
		bufferevent_disable(bev, EV_WRITE);
	}
	(void)conn_written(c, queued);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	int		 err = EVUTIL_SOCKET_ERROR();

	if ((what & BEV_EVENT_READING) && c->cn_read_ev == NULL) {
		/*
		 * EOF or an error on the bufferevent's first read (it has
		 * stopped reading): as in conn_read, what is queued for the
		 * client is still written before it is closed.
		 */
		if (what & BEV_EVENT_ERROR)
			log_info("client %u: read: %s", c->cn_id,
			    strerror(err));
		c->cn_flags |= CONN_EOF;
		c->cn_eof_reason = (what & BEV_EVENT_ERROR) ?
		    CONN_REASON_ERROR : CONN_REASON_EOF;
		bufferevent_disable(bev, EV_READ);
		(void)conn_finish(c);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		log_info("client %u: %s: %s", c->cn_id,
		    (what & BEV_EVENT_READING) ? "read" : "write",
		    strerror(err));
		conn_close(c, CONN_REASON_ERROR);
	} else
		conn_close(c, CONN_REASON_EOF);
}

/*
 * The bufferevent read a new client's first bytes (at most one largest
 * frame).  From now on our own event reads, up to CONN_READ_MAX at a time
 * without an ioctl; then route what arrived.
 */
static void
conn_first_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct router	*rt = c->cn_router;
	size_t		 n = evbuffer_get_length(bufferevent_get_input(bev));

	c->cn_read_ev = event_new(rt->rt_base, bufferevent_getfd(bev),
	    EV_READ | EV_PERSIST, conn_read_cb, c);
	if (c->cn_read_ev == NULL) {
		log_warnx("client %u: out of memory", c->cn_id);
		conn_close(c, CONN_REASON_ERROR);
		return;
	}
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, conn_write_cb, conn_event_cb, c);
	event_add(c->cn_read_ev, NULL);
	c->cn_bytes_in += n;
	rt->rt_stats.st_bytes_received += n;
	/* As in conn_read_cb: routing may close us; free on the way out. */
	c->cn_flags |= CONN_BUSY;
	router_input(rt, c);
	if (c->cn_flags & CONN_CLOSED)
		free(c);
	else
		c->cn_flags &= ~CONN_BUSY;
}

/*
 * A peer that sent EOF: close it once every complete frame it sent is
 * routed (a partial frame dies with it) and everything queued for it is
 * written, since it may have shut down only its sending side.  A frame
 * still here when not paused means the flush at the end of routing resumed
 * us, and the resume's activation routes the rest.  Returns -1 if closed.
 */
static int
conn_finish(struct conn *c)
{
	if (c->cn_flags & CONN_CLOSED || !conn_idle(c))
		return 0;
	conn_close(c, c->cn_eof_reason);
	return -1;
}

int
conn_has_frame(struct conn *c)
{
	uint32_t	dst;
	size_t		len;

	/* framing remembers how far it scanned: asking again costs little. */
	return framing_next(&c->cn_framing, bufferevent_get_input(c->cn_bev),
	    conn_max_message(c), &dst, &len) == FRAMING_FRAME;
}

int
conn_idle(struct conn *c)
{
	return !(c->cn_flags & CONN_PAUSED) && conn_queued(c) == 0 &&
	    !conn_has_frame(c);
}

/*
 * Read at most CONN_READ_MAX bytes, and never past one largest frame of
 * unparsed input: that bounds what a sender can make us hold.  Then route.
 */
static void
conn_read(struct conn *c, evutil_socket_t fd)
{
	struct router		*rt = c->cn_router;
	struct evbuffer		*in = bufferevent_get_input(c->cn_bev);
	struct evbuffer_iovec	 v[2];
	struct iovec		 iov[2];
	size_t			 have, room, want;
	ssize_t			 n;
	int			 nv, i;

	have = evbuffer_get_length(in);
	room = conn_max_message(c) + FRAMING_HEADER_LEN;
	room = have < room ? room - have : 0;
	if (room > CONN_READ_MAX)
		room = CONN_READ_MAX;
	if (c->cn_flags & CONN_SHED) {
		if (room > CONN_READ_SHED)
			room = CONN_READ_SHED;
		c->cn_flags &= ~CONN_SHED;
	}
	/* A drain reads nothing new, but routes what was read before. */
	if (room > 0 && !rt->rt_draining && !(c->cn_flags & CONN_EOF)) {
		/* Likewise the input's end: we are the one who reads. */
		evbuffer_unfreeze(in, 0);
		nv = evbuffer_reserve_space(in, (ev_ssize_t)room, v, 2);
		if (nv <= 0) {
			evbuffer_freeze(in, 0);
			log_warnx("client %u: out of memory", c->cn_id);
			conn_close(c, CONN_REASON_ERROR);
			return;
		}
		/* The extents may be larger than asked for: read only room. */
		for (i = 0, want = room; i < nv; i++) {
			iov[i].iov_base = v[i].iov_base;
			iov[i].iov_len = v[i].iov_len < want ? v[i].iov_len : want;
			want -= iov[i].iov_len;
		}
		n = readv(fd, iov, nv);
		if (n == 0 || (n < 0 && errno != EAGAIN &&
		    errno != EWOULDBLOCK && errno != EINTR)) {
			/*
			 * The sender is done, but what it sent before is
			 * accepted data: route it first, even if that means
			 * waiting for a full destination (see conn_resume).
			 */
			if (n < 0)
				log_info("client %u: read: %s", c->cn_id,
				    strerror(errno));
			c->cn_flags |= CONN_EOF;
			c->cn_eof_reason = n == 0 ? CONN_REASON_EOF :
			    CONN_REASON_ERROR;
			event_del(c->cn_read_ev);
			n = 0;
		}
		if (n < 0)
			n = 0;
		for (i = 0; i < nv; i++) {
			size_t take = (size_t)n < v[i].iov_len ?
			    (size_t)n : v[i].iov_len;
			v[i].iov_len = take;
			n -= (ssize_t)take;
		}
		c->cn_bytes_in += v[0].iov_len + (nv > 1 ? v[1].iov_len : 0);
		rt->rt_stats.st_bytes_received += v[0].iov_len +
		    (nv > 1 ? v[1].iov_len : 0);
		evbuffer_commit_space(in, v, nv);
		evbuffer_freeze(in, 0);
	}
	router_input(rt, c);
	if (c->cn_flags & CONN_CLOSED)
		return;
	if (rt->rt_draining)
		router_drain_check(rt, c);
	if (c->cn_flags & CONN_EOF)
		(void)conn_finish(c);
}

/*
 * The socket is readable, or a paused sender was resumed.  Routing may
 * close this very connection (its own flush fails, a message to itself
 * finds its queue full): it stays allocated until we are done with it.
 */
static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	c->cn_flags |= CONN_BUSY;
	conn_read(c, fd);
	if (c->cn_flags & CONN_CLOSED)
		free(c);
	else
		c->cn_flags &= ~CONN_BUSY;
}

void
conn_pause(struct conn *c, struct conn *dst, size_t len)
{
	struct stats	*st = &c->cn_router->rt_stats;

	c->cn_flags |= CONN_PAUSED;
	c->cn_blocked_on = dst;
	/*
	 * The frame at the head is complete: remember that its payload holds
	 * no 0x00, so routing it again after resume finds the end at once
	 * instead of scanning up to max_message_size bytes.
	 */
	c->cn_framing.fr_scanned = len - 1;
	TAILQ_INSERT_TAIL(&dst->cn_waiters, c, cn_wait_entry);
	event_del(c->cn_read_ev);
	st->st_paused++;
	st->st_paused_total++;
	log_debug("client %u: paused, client %u has %zu bytes queued",
	    c->cn_id, dst->cn_id, conn_queued(dst));
}

/*
 * Resume through the loop, not by routing here: the caller may be deep in
 * another connection's callback.  The activation also covers input that was
 * already buffered when we paused and that no readiness would announce.
 */
void
conn_resume(struct conn *c)
{
	if (!(c->cn_flags & CONN_PAUSED))
		return;
	c->cn_flags &= ~CONN_PAUSED;
	c->cn_blocked_on = NULL;
	c->cn_router->rt_stats.st_paused--;
	/*
	 * After EOF, and during a drain, there is nothing more to read, only
	 * input to route: activate without watching the socket, which would
	 * spin on readiness nobody consumes.
	 */
	if (!(c->cn_flags & CONN_EOF) && !c->cn_router->rt_draining)
		event_add(c->cn_read_ev, NULL);
	event_active(c->cn_read_ev, EV_READ, 0);
	log_debug("client %u: resumed", c->cn_id);
}

void
conn_stop_reading(struct conn *c)
{
	if (c->cn_read_ev != NULL)
		event_del(c->cn_read_ev);
	else
		bufferevent_disable(c->cn_bev, EV_READ);
}

void
conn_wake_waiters(struct conn *c)
{
	struct conn	*w;

	while ((w = TAILQ_FIRST(&c->cn_waiters)) != NULL) {
		TAILQ_REMOVE(&c->cn_waiters, w, cn_wait_entry);
		conn_resume(w);
	}
}
