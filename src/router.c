/*
 * router: accept connections, route frames from senders to destinations and
 * apply the slow-consumer policy.  Everything runs on one event_base.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "msgrouter/addr.h"
#include "msgrouter/clock.h"
#include "msgrouter/closed.h"
#include "msgrouter/conn.h"
#include "msgrouter/log.h"
#include "msgrouter/parse.h"
#include "msgrouter/policy.h"
#include "msgrouter/registry.h"
#include "msgrouter/router.h"

/* How long accept stays off after the process runs out of descriptors. */
#define ROUTER_ACCEPT_BACKOFF_MS	250

static uint32_t
router_conn_key(const void *e)
{
	return ((const struct conn *)e)->cn_id;
}

struct router *
router_new(struct event_base *base, const struct config *cf)
{
	struct router	*rt;

	if ((rt = calloc(1, sizeof *rt)) == NULL)
		return NULL;
	rt->rt_base = base;
	rt->rt_config = *cf;
	TAILQ_INIT(&rt->rt_conns);
	if ((rt->rt_registry = registry_new(router_conn_key)) == NULL) {
		free(rt);
		return NULL;
	}
	if ((rt->rt_closed = closed_new(CLOSED_RING_SIZE)) == NULL) {
		registry_free(rt->rt_registry);
		free(rt);
		return NULL;
	}
	rt->rt_started = clock_now_ms();
	return rt;
}

/* Close every connection and release the listener. */
void
router_free(struct router *rt)
{
	struct conn	*c;

	if (rt == NULL)
		return;
	while ((c = TAILQ_FIRST(&rt->rt_conns)) != NULL)
		conn_close(c, CONN_REASON_SHUTDOWN);
	if (rt->rt_listener != NULL)
		evconnlistener_free(rt->rt_listener);
	if (rt->rt_accept_ev != NULL)
		event_free(rt->rt_accept_ev);
	if (rt->rt_drain_ev != NULL)
		event_free(rt->rt_drain_ev);
	registry_free(rt->rt_registry);
	closed_free(rt->rt_closed);
	free(rt);
}

/* Accept is back on: the back-off timer fired or a connection closed. */
static void
router_accept_resume(struct router *rt)
{
	if (!rt->rt_accept_paused || rt->rt_draining)
		return;
	rt->rt_accept_paused = 0;
	evtimer_del(rt->rt_accept_ev);
	evconnlistener_enable(rt->rt_listener);
	log_info("accepting connections again");
}

static void
router_accept_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	router_accept_resume(arg);
}

int
router_accept_exhausted(int err)
{
	switch (err) {
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		return 1;
	default:
		return 0;
	}
}

/*
 * accept() failed.  Out of descriptors or memory, retrying at once would
 * spin: turn the listener off for a moment, as relayd and tmux do.
 */
static void
router_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct router	*rt = arg;
	struct timeval	 tv;
	int		 err = EVUTIL_SOCKET_ERROR();

	rt->rt_stats.st_accept_errors++;
	if (!router_accept_exhausted(err)) {
		log_debug("accept: %s", strerror(err));
		return;
	}
	if (rt->rt_accept_paused)
		return;
	log_warnx("accept: %s; pausing accept for %d ms",
	    strerror(err), ROUTER_ACCEPT_BACKOFF_MS);
	rt->rt_accept_paused = 1;
	evconnlistener_disable(l);
	tv.tv_sec = 0;
	tv.tv_usec = ROUTER_ACCEPT_BACKOFF_MS * 1000;
	evtimer_add(rt->rt_accept_ev, &tv);
}

/* Keep a rejected connection in the ring of closed ones, without an id. */
static void
router_record_rejected(struct router *rt, const struct sockaddr *sa,
    int socklen)
{
	struct conn_info	ci;
	uint64_t		now = clock_now_ms();

	memset(&ci, 0, sizeof ci);
	if (socklen > 0 && (size_t)socklen <= sizeof ci.ci_peer)
		memcpy(&ci.ci_peer, sa, (size_t)socklen);
	ci.ci_connected = now;
	closed_add(rt->rt_closed, &ci, CONN_REASON_MAX_CLIENTS, now);
}

static void
router_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int socklen, void *arg)
{
	struct router	*rt = arg;
	char		 peer[ADDR_STRLEN];

	if (rt->rt_draining) {
		close(fd);
		return;
	}
	if (registry_count(rt->rt_registry) >= rt->rt_config.cf_max_clients) {
		rt->rt_stats.st_rejected++;
		log_info("client %s rejected: max_clients %llu reached",
		    addr_format(sa, peer, sizeof peer),
		    (unsigned long long)rt->rt_config.cf_max_clients);
		router_record_rejected(rt, sa, socklen);
		close(fd);
		return;
	}
	if (conn_new(rt, fd, sa, socklen) == NULL) {
		log_warnx("client %s: out of memory, closed",
		    addr_format(sa, peer, sizeof peer));
		return;
	}
	/* Send the id now. */
	router_flush(rt);
}

int
router_listen(struct router *rt)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	const char		*why;
	char			 buf[ADDR_STRLEN];

	if (addr_parse(rt->rt_config.cf_listen, &ss, &sslen, &why) != 0) {
		log_errorx("listen %s: %s", rt->rt_config.cf_listen, why);
		return -1;
	}
	rt->rt_listener = evconnlistener_new_bind(rt->rt_base,
	    router_accept_cb, rt,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    1024, (struct sockaddr *)&ss, (int)sslen);
	if (rt->rt_listener == NULL) {
		log_error("cannot listen on %s (router.listen)",
		    rt->rt_config.cf_listen);
		return -1;
	}
	evconnlistener_set_error_cb(rt->rt_listener, router_accept_error_cb);
	rt->rt_accept_ev = evtimer_new(rt->rt_base, router_accept_timer_cb, rt);
	if (rt->rt_accept_ev == NULL)
		return -1;

	sslen = sizeof rt->rt_addr;
	getsockname(evconnlistener_get_fd(rt->rt_listener),
	    (struct sockaddr *)&rt->rt_addr, &sslen);
	log_info("listening on %s", addr_format((struct sockaddr *)&rt->rt_addr,
	    buf, sizeof buf));
	return 0;
}

void
router_configure(struct router *rt, const struct config *cf)
{
	struct conn	*c;

	/* Input already received keeps the limit it arrived under. */
	TAILQ_FOREACH(c, &rt->rt_conns, cn_entry) {
		c->cn_max_before = conn_max_message(c);
		c->cn_max_until = c->cn_bytes_in;
	}
	rt->rt_config = *cf;
	TAILQ_FOREACH(c, &rt->rt_conns, cn_entry)
		conn_configure(c);
}

void
router_mark_dirty(struct router *rt, struct conn *c)
{
	if (c->cn_flags & CONN_DIRTY)
		return;
	c->cn_flags |= CONN_DIRTY;
	c->cn_dirty_next = rt->rt_dirty;
	rt->rt_dirty = c;
}

void
router_flush(struct router *rt)
{
	struct conn	*c;

	/* Pop one at a time: a flush may close the connection it writes. */
	while ((c = rt->rt_dirty) != NULL) {
		rt->rt_dirty = c->cn_dirty_next;
		c->cn_dirty_next = NULL;
		c->cn_flags &= ~CONN_DIRTY;
		conn_flush(c);
	}
}

/* Take a connection off the flush list. */
static void
router_unmark_dirty(struct router *rt, struct conn *c)
{
	struct conn	**pp;

	if (!(c->cn_flags & CONN_DIRTY))
		return;
	for (pp = &rt->rt_dirty; *pp != NULL; pp = &(*pp)->cn_dirty_next) {
		if (*pp == c) {
			*pp = c->cn_dirty_next;
			break;
		}
	}
	c->cn_dirty_next = NULL;
	c->cn_flags &= ~CONN_DIRTY;
}

void
router_forget(struct router *rt, struct conn *c)
{
	registry_remove(rt->rt_registry, c->cn_id);
	TAILQ_REMOVE(&rt->rt_conns, c, cn_entry);
	router_unmark_dirty(rt, c);
	if (c->cn_flags & CONN_DRAINING)
		router_drain_check(rt, c);
	/* A slot is free again: no need to wait for the back-off timer. */
	if (rt->rt_accept_paused)
		router_accept_resume(rt);
}

/* Count a complete frame taken off a sender's input, whatever became of it. */
static inline void
router_consumed(struct stats *st, struct conn *src)
{
	st->st_frames++;
	src->cn_msgs_in++;
}

/*
 * Count n complete frames from src dropped because dst's queue could not
 * take them (over queue_limit, or out of memory).  Their sender is read
 * gently for a while (CONN_SHED, conn.h).
 */
static inline void
router_dropped(struct stats *st, struct conn *src, struct conn *dst,
    uint64_t n)
{
	st->st_frames += n;
	st->st_dropped_queue_full += n;
	src->cn_msgs_in += n;
	src->cn_flags |= CONN_SHED;
	dst->cn_dropped += n;
}

/* shutdown_timeout passed with bytes still queued. */
static void
router_drain_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	router_drain_finish(arg, "timed out");
}

void
router_drain_start(struct router *rt)
{
	struct conn	*c;
	struct timeval	 tv;
	uint64_t	 ms = rt->rt_config.cf_shutdown_timeout_ms;
	char		 when[32];

	if (rt->rt_draining)
		return;
	rt->rt_draining = 1;
	/* Closing the socket, not just disabling it, refuses new clients. */
	if (rt->rt_listener != NULL) {
		evconnlistener_free(rt->rt_listener);
		rt->rt_listener = NULL;
	}
	if (rt->rt_accept_ev != NULL)
		evtimer_del(rt->rt_accept_ev);
	rt->rt_accept_paused = 0;
	router_flush(rt);

	rt->rt_drain_forwarded = rt->rt_stats.st_bytes_forwarded;
	TAILQ_FOREACH(c, &rt->rt_conns, cn_entry) {
		/* Nothing new is read; what was read is still routed. */
		conn_stop_reading(c);
		rt->rt_drain_queued += conn_queued(c);
		if (!(c->cn_flags & CONN_PAUSED) && c->cn_read_ev != NULL &&
		    conn_has_frame(c))
			event_active(c->cn_read_ev, EV_READ, 0);
		router_drain_check(rt, c);
	}
	format_duration_ms(ms, when, sizeof when);
	log_info("draining: queued_bytes=%llu clients=%zu "
	    "shutdown_timeout=%s", (unsigned long long)rt->rt_drain_queued,
	    rt->rt_drain_pending, when);
	if (rt->rt_drain_pending == 0) {
		router_drain_finish(rt, "complete");
		return;
	}
	rt->rt_drain_ev = evtimer_new(rt->rt_base, router_drain_timer_cb, rt);
	if (rt->rt_drain_ev == NULL) {
		router_drain_finish(rt, "out of memory");
		return;
	}
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(rt->rt_drain_ev, &tv);
}

void
router_drain_check(struct router *rt, struct conn *c)
{
	int	busy;

	if (!rt->rt_draining || rt->rt_drain_done)
		return;
	busy = !(c->cn_flags & CONN_CLOSED) && !conn_idle(c);
	if (busy && !(c->cn_flags & CONN_DRAINING)) {
		c->cn_flags |= CONN_DRAINING;
		rt->rt_drain_pending++;
	} else if (!busy && (c->cn_flags & CONN_DRAINING)) {
		c->cn_flags &= ~CONN_DRAINING;
		/* Closed with bytes still queued: an error or EOF mid-drain. */
		if (c->cn_flags & CONN_CLOSED)
			rt->rt_drain_abandoned += conn_queued(c);
		if (--rt->rt_drain_pending == 0)
			router_drain_finish(rt, "complete");
	}
}

/*
 * Drop the complete frames a sender sent that could not be routed before
 * the drain ended (its destination stayed full), counted as dropped for a
 * full queue so that every frame received is accounted for.
 */
static uint64_t
router_drop_input(struct router *rt, struct conn *src)
{
	struct evbuffer	*in = conn_input(src);
	struct conn	*dst;
	uint32_t	 dst_id;
	size_t		 len;
	uint64_t	 n = 0;

	while (framing_next(&src->cn_framing, in, conn_max_message(src),
	    &dst_id, &len) == FRAMING_FRAME) {
		evbuffer_drain(in, FRAMING_HEADER_LEN + len);
		router_consumed(&rt->rt_stats, src);
		rt->rt_stats.st_dropped_queue_full++;
		if ((dst = registry_find(rt->rt_registry, dst_id)) != NULL)
			dst->cn_dropped++;
		n++;
	}
	return n;
}

void
router_drain_finish(struct router *rt, const char *why)
{
	struct conn	*c;
	uint64_t	 frames = 0, queued;

	if (rt->rt_drain_done)
		return;
	rt->rt_drain_done = 1;
	TAILQ_FOREACH(c, &rt->rt_conns, cn_entry) {
		if (c->cn_flags & CONN_DRAINING)
			rt->rt_drain_abandoned += conn_queued(c);
		frames += router_drop_input(rt, c);
	}
	if (rt->rt_drain_ev != NULL)
		evtimer_del(rt->rt_drain_ev);
	/* Every byte queued at the start or routed since went out or not. */
	queued = rt->rt_drain_queued + (rt->rt_stats.st_bytes_forwarded -
	    rt->rt_drain_forwarded);
	log_info("drain %s: flushed_bytes=%llu abandoned_bytes=%llu "
	    "abandoned_frames=%llu", why,
	    (unsigned long long)(queued - rt->rt_drain_abandoned),
	    (unsigned long long)rt->rt_drain_abandoned,
	    (unsigned long long)frames);
	event_base_loopexit(rt->rt_base, NULL);
}

/*
 * Frames at least this long move whole chains from the sender's input to
 * the destination (evbuffer_remove_buffer); shorter ones are copied.  A
 * moved chain keeps all its memory alive, also the bytes before the frame
 * and the unused room after it, up to two read chains per frame: with
 * frames of at least two chains that is at most as much again as the bytes
 * counted against queue_limit, whereas moving the chain that holds the
 * first bytes of a small frame would pin 64 KiB for a few bytes.
 */
#define ROUTER_MOVE_MIN		(2 * CONN_READ_MAX)
#define ROUTER_COPY_IOV		8

void
router_move(struct evbuffer *in, struct evbuffer *out, size_t len)
{
	struct evbuffer_iovec	v[ROUTER_COPY_IOV];
	size_t			left, take, done;
	int			n, i;

	evbuffer_drain(in, FRAMING_HEADER_LEN);
	if (len >= ROUTER_MOVE_MIN) {
		evbuffer_remove_buffer(in, out, len);
		return;
	}
	for (left = len; left > 0; left -= done) {
		n = evbuffer_peek(in, (ev_ssize_t)left, NULL, v,
		    ROUTER_COPY_IOV);
		if (n > ROUTER_COPY_IOV)
			n = ROUTER_COPY_IOV;
		for (i = 0, done = 0; i < n && done < left; i++) {
			take = v[i].iov_len < left - done ?
			    v[i].iov_len : left - done;
			evbuffer_add(out, v[i].iov_base, take);
			done += take;
		}
		evbuffer_drain(in, done);
	}
}

enum router_verdict {
	ROUTER_FORWARD,		/* queue the frame to *dstp */
	ROUTER_CONSUMED,	/* dropped and counted: take it off the input */
	ROUTER_STOP,		/* the sender is paused: the frame stays */
	ROUTER_CLOSED,		/* the sender was closed */
};

/*
 * Decide what becomes of one complete frame of len bytes (payload and
 * 0x00) for dst_id: the registry look-up and the slow-consumer policy.
 * Every counter but the forwarding ones is updated here.
 */
static enum router_verdict
router_decide(struct router *rt, struct conn *src, uint32_t dst_id,
    size_t len, struct conn **dstp)
{
	struct config	*cf = &rt->rt_config;
	struct stats	*st = &rt->rt_stats;
	struct conn	*dst;

	dst = registry_find(rt->rt_registry, dst_id);
	if (dst == NULL) {
		st->st_dropped_unknown++;
		router_consumed(st, src);
		src->cn_flags |= CONN_SHED;
		log_debug("client %u: message to unknown id %u dropped",
		    src->cn_id, dst_id);
		return ROUTER_CONSUMED;
	}
	switch (policy_decide(conn_queued(dst), len,
	    (size_t)cf->cf_queue_limit, cf->cf_slow_consumer)) {
	case POLICY_FORWARD:
		*dstp = dst;
		return ROUTER_FORWARD;
	case POLICY_PAUSE:
		/* The frame stays; it is routed again on resume. */
		conn_pause(src, dst, len);
		return ROUTER_STOP;
	case POLICY_DROP:
		router_dropped(st, src, dst, 1);
		return ROUTER_CONSUMED;
	case POLICY_DISCONNECT:
	default:
		router_dropped(st, src, dst, 1);
		st->st_disconnected_slow++;
		log_warnx("client %u: queue over queue_limit %llu, "
		    "disconnecting slow consumer", dst->cn_id,
		    (unsigned long long)cf->cf_queue_limit);
		conn_close(dst, CONN_REASON_SLOW_CONSUMER);
		return dst == src ? ROUTER_CLOSED : ROUTER_CONSUMED;
	}
}

/* Count a frame queued to its destination and have the destination flushed. */
static inline void
router_forwarded(struct router *rt, struct conn *src, struct conn *dst,
    size_t len)
{
	router_consumed(&rt->rt_stats, src);
	dst->cn_msgs_out++;
	dst->cn_bytes_out += len;
	rt->rt_stats.st_forwarded++;
	rt->rt_stats.st_bytes_forwarded += len;
	router_mark_dirty(rt, dst);
}

/*
 * A run: consecutive frames of one read batch that go to one destination.
 * They are copied to its queue with one reservation and one commit, so the
 * queue's callbacks (the bufferevent hangs one on every output buffer) run
 * once per run, not once per message.
 */
#define ROUTER_RUN_MAX	64

struct router_run {
	struct conn		*rr_dst;	/* NULL: no run open */
	const unsigned char	*rr_start;	/* header of the first frame */
	size_t			 rr_queued;	/* rr_dst's queue at the start */
	size_t			 rr_bytes;	/* payloads and their 0x00s */
	int			 rr_frames;
	size_t			 rr_len[ROUTER_RUN_MAX];
};

/*
 * Queue the run's payloads to its destination: frames lie back to back
 * from rr_start, each a header and rr_len bytes.  Reserving at most two
 * extents lets libevent fill the last chain's free space before it adds
 * one, so the queue's memory stays close to the bytes it holds.  Returns
 * -1 if the sender itself was closed.
 */
static int
router_run_flush(struct router *rt, struct conn *src, struct router_run *run)
{
	struct conn		*dst = run->rr_dst;
	struct evbuffer		*out;
	struct evbuffer_iovec	 v[2];
	const unsigned char	*q = run->rr_start;
	unsigned char		*w;
	size_t			 room, len, take;
	int			 nv, i, k;

	if (dst == NULL)
		return 0;
	run->rr_dst = NULL;
	out = conn_output(dst);
	nv = evbuffer_reserve_space(out, (ev_ssize_t)run->rr_bytes, v, 2);
	if (nv <= 0) {
		/*
		 * The queue cannot take the run: its frames are dropped like
		 * those of a full queue, so that every frame received is still
		 * forwarded or counted as dropped.
		 */
		log_warnx("client %u: out of memory, %d messages to it dropped",
		    dst->cn_id, run->rr_frames);
		router_dropped(&rt->rt_stats, src, dst,
		    (uint64_t)run->rr_frames);
		conn_close(dst, CONN_REASON_ERROR);
		return dst == src ? -1 : 0;
	}
	i = 0;
	w = v[0].iov_base;
	room = v[0].iov_len;
	for (k = 0; k < run->rr_frames; k++) {
		q += FRAMING_HEADER_LEN;
		len = run->rr_len[k];
		while (len > 0) {
			if (room == 0) {
				v[i].iov_len = (size_t)(w -
				    (unsigned char *)v[i].iov_base);
				i++;
				w = v[i].iov_base;
				room = v[i].iov_len;
			}
			take = len < room ? len : room;
			memcpy(w, q, take);
			w += take;
			q += take;
			room -= take;
			len -= take;
		}
	}
	v[i].iov_len = (size_t)(w - (unsigned char *)v[i].iov_base);
	evbuffer_commit_space(out, v, i + 1);

	rt->rt_stats.st_frames += (uint64_t)run->rr_frames;
	src->cn_msgs_in += (uint64_t)run->rr_frames;
	rt->rt_stats.st_forwarded += (uint64_t)run->rr_frames;
	rt->rt_stats.st_bytes_forwarded += run->rr_bytes;
	dst->cn_msgs_out += (uint64_t)run->rr_frames;
	dst->cn_bytes_out += run->rr_bytes;
	router_mark_dirty(rt, dst);
	return 0;
}

/*
 * Route the complete frames that lie whole in the first contiguous segment
 * of the sender's input, straight from that memory: memchr for each 0x00,
 * one registry look-up per run of frames to one destination, one copy of
 * each payload into the destination's queue (the copy evbuffer_remove_buffer
 * makes anyway for part of a chain) and one drain of the input at the end.
 * Through the evbuffer API each frame cost a search, a copyout and three
 * buffer operations that each ran the buffers' callbacks.  The policy is
 * still decided for every frame, against the queue plus the open run.
 * Returns the frames taken off the input, or -1 if the sender was closed.
 * A frame that is not whole in the segment, or whose head an earlier call
 * already scanned, is left to framing_next.
 */
static ssize_t
router_route_segment(struct router *rt, struct conn *src, struct evbuffer *in)
{
	const struct config	*cf = &rt->rt_config;
	struct evbuffer_iovec	 v;
	struct router_run	 run;
	struct conn		*dst;
	const unsigned char	*p, *end, *nul;
	size_t			 max, len, n;
	ssize_t			 frames = 0;
	uint32_t		 dst_id;

	/*
	 * Input that arrived before a reload keeps its old max_message_size
	 * (conn_max_message): framing_next routes it.
	 */
	if (src->cn_framing.fr_scanned != 0 ||
	    src->cn_bytes_in - evbuffer_get_length(in) < src->cn_max_until ||
	    evbuffer_peek(in, -1, NULL, &v, 1) < 1)
		return 0;
	p = v.iov_base;
	end = p + v.iov_len;
	max = (size_t)cf->cf_max_message_size;
	run.rr_dst = NULL;
	while (!(src->cn_flags & CONN_PAUSED) && end - p >= FRAMING_MIN_FRAME) {
		/* A sender cannot make us scan more than one largest frame. */
		n = (size_t)(end - p) - FRAMING_HEADER_LEN;
		if (n > max)
			n = max;
		if ((nul = memchr(p + FRAMING_HEADER_LEN, 0, n)) == NULL) {
			/* framing_next goes on from here, or finds it oversize. */
			if (n < max)
				src->cn_framing.fr_scanned = n;
			break;
		}
		dst_id = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | (uint32_t)p[3];
		len = (size_t)(nul - p) - FRAMING_HEADER_LEN + 1;

		if (run.rr_dst != NULL && run.rr_dst->cn_id == dst_id &&
		    run.rr_frames < ROUTER_RUN_MAX &&
		    policy_decide(run.rr_queued + run.rr_bytes, len,
		    (size_t)cf->cf_queue_limit, cf->cf_slow_consumer) ==
		    POLICY_FORWARD) {
			run.rr_len[run.rr_frames++] = len;
			run.rr_bytes += len;
			p += FRAMING_HEADER_LEN + len;
			frames++;
			continue;
		}
		/* The decision needs the queue as it is: close the open run. */
		if (router_run_flush(rt, src, &run) != 0)
			return -1;
		switch (router_decide(rt, src, dst_id, len, &dst)) {
		case ROUTER_CLOSED:
			return -1;
		case ROUTER_STOP:
			goto out;
		case ROUTER_CONSUMED:
			break;
		case ROUTER_FORWARD:
			run.rr_dst = dst;
			/* Nothing else queues to dst until the run is flushed. */
			run.rr_queued = conn_queued(dst);
			run.rr_start = p;
			run.rr_bytes = len;
			run.rr_frames = 1;
			run.rr_len[0] = len;
			break;
		}
		p += FRAMING_HEADER_LEN + len;
		frames++;
	}
out:
	if (router_run_flush(rt, src, &run) != 0)
		return -1;
	if (frames > 0)
		evbuffer_drain(in, (size_t)(p - (const unsigned char *)v.iov_base));
	return frames;
}

int
router_input(struct router *rt, struct conn *src)
{
	struct evbuffer		*in = conn_input(src);
	struct stats		*st = &rt->rt_stats;
	struct conn		*dst;
	enum framing_result	 fr;
	uint32_t		 dst_id;
	size_t			 len, max;
	ssize_t			 n;
	int			 closed = 0;

	while (!(src->cn_flags & CONN_PAUSED)) {
		if ((n = router_route_segment(rt, src, in)) < 0) {
			closed = 1;
			break;
		}
		/* It may have paused the sender at the head frame. */
		if (n > 0 || (src->cn_flags & CONN_PAUSED))
			continue;

		/* The head frame spans segments, or is not complete yet. */
		max = conn_max_message(src);
		fr = framing_next(&src->cn_framing, in, max, &dst_id, &len);
		if (fr == FRAMING_NEED_MORE)
			break;
		if (fr == FRAMING_OVERSIZE) {
			st->st_disconnected_oversize++;
			log_warnx("client %u: no 0x00 within max_message_size "
			    "%zu bytes, disconnecting", src->cn_id, max);
			conn_close(src, CONN_REASON_OVERSIZE);
			closed = 1;
			break;
		}
		switch (router_decide(rt, src, dst_id, len, &dst)) {
		case ROUTER_CLOSED:
			closed = 1;
			goto out;
		case ROUTER_STOP:
			continue;
		case ROUTER_CONSUMED:
			evbuffer_drain(in, FRAMING_HEADER_LEN + len);
			continue;
		case ROUTER_FORWARD:
			router_move(in, conn_output(dst), len);
			router_forwarded(rt, src, dst, len);
			continue;
		}
	}
out:
	/*
	 * The sender may be one of the destinations (a message to itself):
	 * a write error there closes and frees it, and our caller must know
	 * not to touch it.  Flush it last, on its own, and see.
	 */
	if (!closed && (src->cn_flags & CONN_DIRTY)) {
		router_unmark_dirty(rt, src);
		router_flush(rt);
		if (conn_flush(src) != 0)
			closed = 1;
	} else
		router_flush(rt);
	return closed ? -1 : 0;
}

size_t
router_queued_bytes(const struct router *rt)
{
	struct conn	*c;
	size_t		 n = 0;

	TAILQ_FOREACH(c, &rt->rt_conns, cn_entry)
		n += conn_queued(c);
	return n;
}

void
router_log_stats(const struct router *rt, const char *what)
{
	const struct stats *st = &rt->rt_stats;

	log_info("%s: clients=%zu accepted=%llu rejected=%llu "
	    "disconnected_slow=%llu disconnected_oversize=%llu frames=%llu "
	    "forwarded=%llu dropped_unknown=%llu dropped_queue_full=%llu "
	    "bytes_received=%llu bytes_forwarded=%llu paused_total=%llu "
	    "accept_errors=%llu",
	    what, registry_count(rt->rt_registry),
	    (unsigned long long)st->st_accepted,
	    (unsigned long long)st->st_rejected,
	    (unsigned long long)st->st_disconnected_slow,
	    (unsigned long long)st->st_disconnected_oversize,
	    (unsigned long long)st->st_frames,
	    (unsigned long long)st->st_forwarded,
	    (unsigned long long)st->st_dropped_unknown,
	    (unsigned long long)st->st_dropped_queue_full,
	    (unsigned long long)st->st_bytes_received,
	    (unsigned long long)st->st_bytes_forwarded,
	    (unsigned long long)st->st_paused_total,
	    (unsigned long long)st->st_accept_errors);
}
