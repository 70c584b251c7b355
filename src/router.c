/*
 * router: accept clients, route frames from senders to destinations, apply
 * the slow-consumer policy, and drain.  Everything runs on one event_base.
 *
 * A message's path, in the order of this file: conn.c reports input
 * (router_input_cb); router_read reads at most one largest frame of
 * unparsed input; router_route takes frames off it, mostly in runs straight
 * from the input's memory (router_route_segment), else one at a time
 * (framing_next); router_decide looks up the destination and asks the
 * policy; a forwarded frame is copied or moved into the destination's
 * output queue (router_run_flush, router_move) and counted
 * (router_forwarded); router_flush writes every destination that got data
 * (conn_flush), and router_written wakes the senders that waited for it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/util.h>

#include "msgrouter/addr.h"
#include "msgrouter/addrtab.h"
#include "msgrouter/clock.h"
#include "msgrouter/closed.h"
#ifdef HAVE_NATS
#include "msgrouter/cluster.h"
#include "msgrouter/clusterproto.h"
#endif
#include "msgrouter/conn.h"
#include "msgrouter/departed.h"
#include "msgrouter/idmap.h"
#include "msgrouter/listener.h"
#include "msgrouter/log.h"
#include "msgrouter/parse.h"
#include "msgrouter/policy.h"
#include "msgrouter/registry.h"
#include "msgrouter/router.h"
#include "msgrouter/tls.h"

static void	router_input_cb(struct conn *, size_t);
static void	router_written_cb(struct conn *, size_t);
static void	router_error_cb(struct conn *, enum conn_reason);
static void	router_handshake_cb(struct conn *);
static void	router_drain_check(struct router *, struct conn *);
static void	router_mark_dirty(struct router *, struct conn *);
static void	router_unmark_dirty(struct router *, struct conn *);
static void	router_wake_waiters(struct router *, struct conn *);
#ifdef HAVE_NATS
static void	router_release_remote(struct router *, struct conn *);
#endif
static void	router_watch_cb(evutil_socket_t, short, void *);
static int	router_idmap(struct router *);

static const struct conn_ops router_conn_ops = {
	.co_input = router_input_cb,
	.co_written = router_written_cb,
	.co_error = router_error_cb,
	.co_handshake = router_handshake_cb,
};

/* A sender waiting for a destination to drain (backpressure). */
#define router_paused(c)	((c)->cn_blocked_on != NULL)

static uint32_t
router_conn_key(const void *e)
{
	return ((const struct conn *)e)->cn_id;
}

/* The address table's limit for max_clients. */
static size_t
router_addrtab_limit(const struct config *cf)
{
	return (size_t)cf->cf_max_clients * ROUTER_ADDRTAB_PER_CLIENT;
}

struct router *
router_new(struct event_base *base, const struct config *cf)
{
	struct router	*rt;
	uint64_t	 seed[2];

	if ((rt = calloc(1, sizeof *rt)) == NULL)
		return NULL;
	/* A random key per process: no one can aim addresses at a probe run. */
	evutil_secure_rng_get_bytes(seed, sizeof seed);
	if ((rt->rt_addrtab = addrtab_new(router_addrtab_limit(cf), seed[0],
	    seed[1])) == NULL)
		goto fail;
	if ((rt->rt_departed = departed_new(cf->cf_max_clients)) == NULL)
		goto fail;
	rt->rt_base = base;
	rt->rt_config = *cf;
	TAILQ_INIT(&rt->rt_conns);
	if ((rt->rt_registry = registry_new(router_conn_key)) == NULL)
		goto fail;
	if ((rt->rt_closed = closed_new(CLOSED_RING_SIZE,
	    CLOSED_REJECTED_SIZE)) == NULL)
		goto fail;
	rt->rt_watch_ev = evtimer_new(base, router_watch_cb, rt);
	if (rt->rt_watch_ev == NULL || router_idmap(rt) != 0)
		goto fail;
	rt->rt_started = clock_now_ms();
	return rt;
fail:
	if (rt->rt_watch_ev != NULL)
		event_free(rt->rt_watch_ev);
	if (rt->rt_closed != NULL)
		closed_free(rt->rt_closed);
	if (rt->rt_registry != NULL)
		registry_free(rt->rt_registry);
	departed_free(rt->rt_departed);
	addrtab_free(rt->rt_addrtab);
	free(rt);
	return NULL;
}

/*
 * A cluster node's id map, from the secret the configuration checked.
 * Nothing on a single node.
 */
static int
router_idmap(struct router *rt)
{
	char	secret[CONFIG_SECRET_MAX], err[CONFIG_ERRLEN];
	int	n, rc = -1;

	if (!config_cluster_wanted(&rt->rt_config))
		return 0;
	if ((n = config_cluster_secret(&rt->rt_config, secret, sizeof secret,
	    err, sizeof err)) < 0) {
		log_errorx("%s", err);
		return -1;
	}
	if ((rt->rt_idmap = calloc(1, sizeof *rt->rt_idmap)) != NULL &&
	    idmap_init(rt->rt_idmap, rt->rt_config.cf_id_mode, secret,
	    (size_t)n) == 0) {
		rt->rt_node = (unsigned)rt->rt_config.cf_cluster_node;
		rc = 0;
	} else
		log_errorx("cluster: cannot set up the id map");
	explicit_bzero(secret, sizeof secret);
	if (rc != 0) {
		free(rt->rt_idmap);
		rt->rt_idmap = NULL;
	}
	return rc;
}

void
router_free(struct router *rt)
{
	struct conn	*c;
	size_t		 i;

	if (rt == NULL)
		return;
#ifdef HAVE_NATS
	cluster_free(rt->rt_cluster);
	rt->rt_cluster = NULL;
#endif
	while ((c = TAILQ_FIRST(&rt->rt_conns)) != NULL)
		router_close(rt, c, CONN_REASON_SHUTDOWN);
#ifdef HAVE_NATS
	/* No waiter is left: forget every hold, both ways. */
	for (i = 0; i < IDMAP_NODES; i++) {
		router_remote_forget(rt, (unsigned)i);
		free(rt->rt_link_wait[i]);
	}
#endif
	/* Every client is closed: the watch list only holds references. */
	router_watch_paused(rt);
	free(rt->rt_watch);
	event_free(rt->rt_watch_ev);
	for (i = 0; i < rt->rt_nlisteners; i++)
		listener_free(rt->rt_listeners[i]);
	listener_free(rt->rt_tls_listener);
	if (rt->rt_drain_ev != NULL)
		event_free(rt->rt_drain_ev);
	registry_free(rt->rt_registry);
	closed_free(rt->rt_closed);
	departed_free(rt->rt_departed);
	addrtab_free(rt->rt_addrtab);
	free(rt->rt_idmap);
	free(rt);
}

/*
 * Keep a rejected connection, without an id, among the closed ones: in the
 * rejections' own ring, where repeats from one source are counted in one
 * record, so a flood cannot push out the records of clients.
 */
static void
router_record_rejected(struct router *rt, const struct sockaddr *sa,
    int socklen, enum conn_reason reason)
{
	union addr_any	peer;

	addr_copy(&peer, sa, socklen);
	closed_reject(rt->rt_closed, &peer, reason, clock_now_ms());
}

/*
 * A listener accepted a connection: refuse it while draining or at
 * max_clients, else attach it (TLS on the tls.listen port) and send its id
 * now (a TLS client's once its handshake is done).
 */
static void
router_accept(struct router *rt, evutil_socket_t fd, struct sockaddr *sa,
    int socklen, int tls)
{
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
		router_record_rejected(rt, sa, socklen,
		    CONN_REASON_MAX_CLIENTS);
		close(fd);
		return;
	}
	/* router_attach logs its own failure. */
	if ((tls ? router_attach_tls(rt, fd, sa, socklen) :
	    router_attach(rt, fd, sa, socklen)) == NULL)
		return;
	/* Send the id now. */
	router_flush(rt);
}

static void
router_accept_cb(evutil_socket_t fd, struct sockaddr *sa, int socklen,
    void *arg)
{
	router_accept(arg, fd, sa, socklen, 0);
}

static void
router_tls_accept_cb(evutil_socket_t fd, struct sockaddr *sa, int socklen,
    void *arg)
{
	router_accept(arg, fd, sa, socklen, 1);
}

/*
 * The TLS port first: once the routing port says "listening on ADDR"
 * (ready, for supervisors and tests) every port is up.
 */
int
router_listen(struct router *rt)
{
	struct listener_conf	 conf = {
		.lc_name = "",		/* "listening on ADDR": ready */
		.lc_key = "router.listen",
		.lc_backlog = LISTENER_BACKLOG_ROUTER,
		.lc_unix_mode = (mode_t)rt->rt_config.cf_unix_mode,
		.lc_reuseport = rt->rt_config.cf_reuseport,
	};
	struct listener_conf	 tls_conf = {
		.lc_name = "tls",	/* "tls listening on ADDR" */
		.lc_key = "tls.listen",
		.lc_backlog = LISTENER_BACKLOG_ROUTER,
		.lc_unix_mode = (mode_t)rt->rt_config.cf_unix_mode,
	};
	char			 addrs[CONFIG_LISTEN_ADDRS][CONFIG_LISTEN_MAX];
	struct listener		*ls;
	size_t			 n, i;

	if (strcmp(rt->rt_config.cf_tls_listen, "off") != 0) {
		if (rt->rt_tls == NULL) {
			log_errorx("cannot listen on %s (tls.listen): no TLS "
			    "context", rt->rt_config.cf_tls_listen);
			return -1;
		}
		rt->rt_tls_listener = listener_new(rt->rt_base, &tls_conf,
		    rt->rt_config.cf_tls_listen, router_tls_accept_cb, rt,
		    &rt->rt_stats.st_accept_errors);
		if (rt->rt_tls_listener == NULL)
			return -1;
	}
	if (strcmp(rt->rt_config.cf_listen, "off") == 0)
		return 0;
	/* The configuration checked the list: at most CONFIG_LISTEN_ADDRS. */
	n = config_listen_addrs(rt->rt_config.cf_listen, addrs,
	    CONFIG_LISTEN_ADDRS);
	for (i = 0; i < n && i < CONFIG_LISTEN_ADDRS; i++) {
		ls = listener_new(rt->rt_base, &conf, addrs[i],
		    router_accept_cb, rt, &rt->rt_stats.st_accept_errors);
		if (ls == NULL)
			return -1;
		rt->rt_listeners[rt->rt_nlisteners++] = ls;
	}
	return 0;
}

size_t
router_max_message(const struct router *rt, struct conn *c)
{
	uint64_t	head;

	head = c->cn_bytes_in - evbuffer_get_length(conn_input(c));
	if (head < c->cn_max_until)
		return c->cn_max_before;
	return (size_t)rt->rt_config.cf_max_message_size;
}

/* During a drain, count c as not done: something is queued to or from it. */
static inline void
router_drain_busy(struct router *rt, struct conn *c)
{
	if (rt->rt_draining && !rt->rt_drain_done &&
	    !(c->cn_rflags & CONN_DRAINING)) {
		c->cn_rflags |= CONN_DRAINING;
		rt->rt_drain_pending++;
	}
}

/*
 * The counters.  Every frame taken off a sender's input is counted once,
 * here, as forwarded or dropped, so that received = forwarded + dropped
 * holds by construction.
 */

/* Count n bytes read from c. */
static inline void
router_received(struct router *rt, struct conn *c, size_t n)
{
	c->cn_bytes_in += n;
	rt->rt_stats.st_bytes_received += n;
}

/* Count n frames (bytes of payload and 0x00) queued from src to dst. */
static inline void
router_forwarded(struct router *rt, struct conn *src, struct conn *dst,
    uint64_t n, size_t bytes)
{
	struct stats	*st = &rt->rt_stats;

	st->st_frames += n;
	st->st_forwarded += n;
	st->st_bytes_forwarded += bytes;
	src->cn_msgs_in += n;
	dst->cn_msgs_out += n;
	dst->cn_bytes_out += bytes;
	router_mark_dirty(rt, dst);
	/*
	 * A drain counts dst as not done now, not after its flush: the drain
	 * check of another client flushed before it could end the drain with
	 * these bytes still queued (fuzz_router: regress-drain-unflushed-dst).
	 */
	router_drain_busy(rt, dst);
}

enum router_drop {
	ROUTER_DROP_UNKNOWN,		/* no such destination */
	ROUTER_DROP_QUEUE_FULL,		/* its queue could not take them */
	ROUTER_DROP_SENDER_GONE,	/* buffered from a sender that reset */
	ROUTER_DROP_PEER_DOWN,		/* its owner node is not up */
	ROUTER_DROP_LINK_FULL,		/* the link to its owner is full */
	ROUTER_DROP_TOO_LARGE,		/* over what NATS carries */
};

/*
 * Count n frames from src dropped, to dst (NULL if unknown).  Their sender
 * is read gently for a while (CONN_SHED, ROUTER_READ_SHED).
 */
static inline void
router_dropped(struct router *rt, struct conn *src, struct conn *dst,
    uint64_t n, enum router_drop why)
{
	struct stats	*st = &rt->rt_stats;

	st->st_frames += n;
	switch (why) {
	case ROUTER_DROP_UNKNOWN:
		st->st_dropped_unknown += n;
		break;
	case ROUTER_DROP_QUEUE_FULL:
		st->st_dropped_queue_full += n;
		break;
	case ROUTER_DROP_SENDER_GONE:
		st->st_dropped_sender_gone += n;
		break;
	case ROUTER_DROP_PEER_DOWN:
		st->st_dropped_peer_down += n;
		break;
	case ROUTER_DROP_LINK_FULL:
		st->st_dropped_link_full += n;
		break;
	case ROUTER_DROP_TOO_LARGE:
		st->st_dropped_too_large += n;
		break;
	}
	src->cn_msgs_in += n;
	src->cn_rflags |= CONN_SHED;
	if (dst != NULL)
		dst->cn_dropped += n;
}

/*
 * A cluster node's counters: a frame of src put in a batch for another
 * node (in the link until it is sent or discarded), frames sent, frames
 * discarded with their peer, frames lost in transit, and a frame from
 * another node forwarded or dropped here.
 */
#ifdef HAVE_NATS
static inline void
router_linked(struct router *rt, struct conn *src)
{
	rt->rt_stats.st_frames++;
	rt->rt_stats.st_link_queued_frames++;
	src->cn_msgs_in++;
}

#endif

void
router_cluster_sent(struct router *rt, uint64_t n, uint64_t bytes)
{
	rt->rt_stats.st_link_queued_frames -= n;
	rt->rt_stats.st_cluster_frames_out += n;
	rt->rt_stats.st_cluster_bytes_out += bytes;
}

void
router_cluster_discarded(struct router *rt, uint64_t n)
{
	rt->rt_stats.st_link_queued_frames -= n;
	rt->rt_stats.st_dropped_peer_down += n;
}

void
router_cluster_lost(struct router *rt, uint64_t n)
{
	rt->rt_stats.st_dropped_in_transit += n;
}

#ifdef HAVE_NATS
static void
router_remote_counted(struct router *rt, struct conn *dst, size_t len,
    enum router_drop why, int forwarded)
{
	struct stats	*st = &rt->rt_stats;

	st->st_cluster_frames_in++;
	st->st_cluster_bytes_in += FRAMING_HEADER_LEN + len;
	if (forwarded) {
		st->st_forwarded++;
		st->st_bytes_forwarded += len;
		dst->cn_msgs_out++;
		dst->cn_bytes_out += len;
		router_mark_dirty(rt, dst);
		router_drain_busy(rt, dst);
		return;
	}
	switch (why) {
	case ROUTER_DROP_UNKNOWN:
		st->st_dropped_unknown++;
		break;
	default:
		st->st_dropped_queue_full++;
		break;
	}
	if (dst != NULL)
		dst->cn_dropped++;
}
#endif

/*
 * Read at most CONN_READ_MAX bytes, and never past one largest frame of
 * unparsed input: that bounds what a sender can make us hold.  A sender
 * whose frames were just dropped gets ROUTER_READ_SHED.  -1 if out of
 * memory.
 */
static int
router_read(struct router *rt, struct conn *c)
{
	size_t	have, room;
	ssize_t	n;

	have = evbuffer_get_length(conn_input(c));
	room = router_max_message(rt, c) + FRAMING_HEADER_LEN;
	room = have < room ? room - have : 0;
	if (room > CONN_READ_MAX)
		room = CONN_READ_MAX;
	if (c->cn_rflags & CONN_SHED) {
		if (room > ROUTER_READ_SHED)
			room = ROUTER_READ_SHED;
		c->cn_rflags &= ~CONN_SHED;
	}
	if ((n = conn_read(c, room)) < 0)
		return -1;
	router_received(rt, c, (size_t)n);
	return 0;
}

/* A complete frame is buffered from this client. */
static int
router_has_frame(const struct router *rt, struct conn *c)
{
	uint32_t	dst;
	size_t		len;

	/* framing remembers how far it scanned: asking again costs little. */
	return framing_next(&c->cn_framing, conn_input(c),
	    router_max_message(rt, c), &dst, &len) == FRAMING_FRAME;
}

/* Nothing queued to it, nothing buffered from it to route, not paused. */
static int
router_idle(const struct router *rt, struct conn *c)
{
	return !router_paused(c) && conn_queued(c) == 0 &&
	    !router_has_frame(rt, c);
}

/*
 * A peer that sent EOF (or whose read failed): close it once every
 * complete frame it sent is routed (a partial frame dies with it) and
 * everything queued for it is written, since it may have shut down only
 * its sending side.
 */
static void
router_finish(struct router *rt, struct conn *c)
{
	int	reason = conn_eof_reason(c);

	if (reason >= 0 && router_idle(rt, c))
		router_close(rt, c, (enum conn_reason)reason);
}

/* Take a sender off its destination's list of waiters. */
static void
router_unblock(struct router *rt, struct conn *c)
{
	TAILQ_REMOVE(&c->cn_blocked_on->cn_waiters, c, cn_wait_entry);
	c->cn_blocked_on = NULL;
	rt->rt_stats.st_paused--;
}

/*
 * Put a sender that just paused on the watch list, with a reference, and
 * start the tick if the list was empty.  If the list cannot grow (out of
 * memory) the sender is only not watched: it goes on as before, held until
 * its destination drains.
 */
static void
router_watch(struct router *rt, struct conn *c)
{
	struct timeval	  tv = { ROUTER_WATCH_MS / 1000,
			    (ROUTER_WATCH_MS % 1000) * 1000 };
	struct conn	**w;
	size_t		  n;

	if (c->cn_rflags & CONN_WATCHED)
		return;
	if (rt->rt_nwatch == rt->rt_watch_size) {
		n = rt->rt_watch_size != 0 ? rt->rt_watch_size * 2 : 16;
		/* At most one entry per client: n * sizeof *w cannot wrap. */
		if ((w = realloc(rt->rt_watch, n * sizeof *w)) == NULL) {
			log_debug("client %u: paused, not watched (out of "
			    "memory)", c->cn_id);
			return;
		}
		rt->rt_watch = w;
		rt->rt_watch_size = n;
	}
	if (rt->rt_nwatch == 0 && evtimer_add(rt->rt_watch_ev, &tv) != 0)
		return;
	conn_ref(c);
	c->cn_rflags |= CONN_WATCHED;
	rt->rt_watch[rt->rt_nwatch++] = c;
}

/*
 * Stop a sender until dst drains.  The frame at the head stays; it is
 * complete, so remember that its payload holds no 0x00: routing it again
 * after resume finds the end at once instead of scanning up to
 * max_message_size bytes.
 */
static void
router_pause(struct router *rt, struct conn *src, struct conn *dst,
    size_t len)
{
	src->cn_blocked_on = dst;
	src->cn_framing.fr_scanned = len - 1;
	TAILQ_INSERT_TAIL(&dst->cn_waiters, src, cn_wait_entry);
	conn_pause(src);
	router_watch(rt, src);
	rt->rt_stats.st_paused++;
	rt->rt_stats.st_paused_total++;
	/* A remote destination's stand-in (router_rdst) has no queue here. */
	log_debug("client %u: paused, client %u has %zu bytes queued",
	    src->cn_id, dst->cn_id, dst->cn_bev != NULL ? conn_queued(dst) :
	    (size_t)0);
}

/* Let a paused sender go on: conn_resume routes its input from the loop. */
static void
router_resume(struct router *rt, struct conn *c)
{
	if (!router_paused(c))
		return;
	router_unblock(rt, c);
	conn_resume(c);
	log_debug("client %u: resumed", c->cn_id);
}

/* Resume every sender waiting for this destination. */
static void
router_wake_waiters(struct router *rt, struct conn *c)
{
	struct conn	*w;

	while ((w = TAILQ_FIRST(&c->cn_waiters)) != NULL)
		router_resume(rt, w);
}

/* What the bufferevent may read at once: one largest frame at most. */
static size_t
router_first_read_max(const struct config *cf)
{
	size_t	max = (size_t)cf->cf_max_message_size + FRAMING_HEADER_LEN;

	return max < CONN_READ_MAX ? max : CONN_READ_MAX;
}

/*
 * Apply the router's limits to one client.  Unparsed input is bounded by
 * one largest frame: router_read never reads past it, and the bufferevent's
 * one first read is held under it too.  A new limit or policy may let
 * paused senders through: wake them all; each decides again and pauses
 * again if it must.
 */
static void
router_configure_conn(struct router *rt, struct conn *c)
{
	const struct config	*cf = &rt->rt_config;

	conn_configure(c, policy_resume_mark((size_t)cf->cf_queue_limit),
	    router_first_read_max(cf));
	router_wake_waiters(rt, c);
#ifdef HAVE_NATS
	/* Likewise the other nodes' senders held for it. */
	if ((c->cn_rflags & CONN_RHELD) &&
	    (cf->cf_slow_consumer != SLOW_CONSUMER_BACKPRESSURE ||
	    conn_queued(c) <= policy_resume_mark((size_t)cf->cf_queue_limit)))
		router_release_remote(rt, c);
#endif
}

/*
 * Cap the kernel's send buffer of a new client at router.sndbuf (0: leave
 * the kernel's default, which tcp_wmem autotuning grows to 4 MiB).  The
 * kernel doubles the value for its bookkeeping and caps it at
 * net.core.wmem_max.  A failure is logged once, not per client.
 */
static void
router_set_sndbuf(struct router *rt, int fd)
{
	int	size = (int)rt->rt_config.cf_sndbuf;

	if (size == 0 || setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size,
	    sizeof size) == 0 || rt->rt_sndbuf_failed)
		return;
	rt->rt_sndbuf_failed = 1;
	log_warn("router.sndbuf %d: setsockopt SO_SNDBUF", size);
}

/* A ban was lifted early to make room in the address table: say so. */
static void
router_log_lifted(const struct router *rt, const struct addrtab_lifted *l,
    uint64_t now)
{
	char	a[ADDRTAB_STRLEN];

	if (!l->al_lifted)
		return;
	log_warnx("address %s: ban lifted %llu ms early: address table full "
	    "(%zu addresses)", addrtab_format(&l->al_key, a, sizeof a),
	    (unsigned long long)(l->al_ban_until - now),
	    addrtab_count(rt->rt_addrtab));
}

/*
 * The source address's say on a new connection: counted in, or closed at
 * once without an id because the address is banned for scanning or already
 * has max_clients_per_address connections.  Unix-domain peers have no
 * address to track: they are always admitted (their socket's file mode
 * decides who connects).  0 if admitted; -1 if fd was closed.
 */
static int
router_admit(struct router *rt, int fd, const struct sockaddr *sa,
    int socklen)
{
	union addr_any		 u;
	struct addrtab_key	 k;
	struct addrtab_lifted	 lifted;
	enum conn_reason	 reason;
	uint64_t		 now = clock_now_ms();
	uint64_t		 max = rt->rt_config.cf_max_clients_per_address;
	char			 peer[ADDR_STRLEN];

	/* A copy: sa may be shorter than its family's address. */
	addr_copy(&u, sa, socklen);
	if (addrtab_key(&u.sa, &k) != 0)
		return 0;
	switch (addrtab_connect(rt->rt_addrtab, &k, max, now, &lifted)) {
	case ADDRTAB_ADMIT:
		router_log_lifted(rt, &lifted, now);
		return 0;
	case ADDRTAB_BANNED:
		/* Logged once, at the ban: a banned scanner reconnects fast. */
		rt->rt_stats.st_rejected_banned++;
		reason = CONN_REASON_BANNED;
		log_debug("client %s rejected: address banned",
		    addr_format(sa, peer, sizeof peer));
		break;
	case ADDRTAB_PER_ADDRESS:
		rt->rt_stats.st_rejected_per_address++;
		reason = CONN_REASON_PER_ADDRESS;
		log_info("client %s rejected: max_clients_per_address %llu "
		    "reached", addr_format(sa, peer, sizeof peer),
		    (unsigned long long)max);
		break;
	case ADDRTAB_FULL:
	default:
		/* More live connections than the table's limit: not tracked. */
		rt->rt_stats.st_rejected_per_address++;
		reason = CONN_REASON_PER_ADDRESS;
		log_warnx("client %s rejected: address table full (%zu "
		    "addresses with live connections)",
		    addr_format(sa, peer, sizeof peer),
		    addrtab_count(rt->rt_addrtab));
		break;
	}
	rt->rt_stats.st_rejected++;
	router_record_rejected(rt, sa, socklen, reason);
	close(fd);
	return -1;
}

/* Undo router_admit's count for a connection that goes away. */
static void
router_unadmit(struct router *rt, const struct sockaddr *sa)
{
	struct addrtab_key	k;

	if (addrtab_key(sa, &k) == 0)
		addrtab_disconnect(rt->rt_addrtab, &k, clock_now_ms());
}

/* A new TLS client's connection, with an SSL from the current context. */
static struct conn *
router_conn_tls(struct router *rt, int fd, const struct sockaddr *sa,
    int socklen)
{
	SSL	*ssl;

	if (rt->rt_tls == NULL || (ssl = tls_ssl_new(rt->rt_tls)) == NULL) {
		close(fd);
		return NULL;
	}
	return conn_new_tls(rt->rt_base, fd, sa, socklen, &router_conn_ops,
	    rt, ssl, rt->rt_config.cf_tls_handshake_timeout_ms);
}

/* router_attach for a plain (0) or a TLS (1) client. */
static struct conn *
router_attach_as(struct router *rt, int fd, const struct sockaddr *sa,
    int socklen, int tls)
{
	struct conn	*c;
	union addr_any	 u;
	uint32_t	 be;
	char		 peer[ADDR_STRLEN];

	if (router_admit(rt, fd, sa, socklen) != 0)
		return NULL;
	router_set_sndbuf(rt, fd);
	c = tls ? router_conn_tls(rt, fd, sa, socklen) :
	    conn_new(rt->rt_base, fd, sa, socklen, &router_conn_ops, rt);
	if (c == NULL) {
		log_warnx("client %s: out of memory, closed",
		    addr_format(sa, peer, sizeof peer));
		addr_copy(&u, sa, socklen);
		router_unadmit(rt, &u.sa);
		return NULL;
	}
	router_configure_conn(rt, c);
	if (rt->rt_idmap != NULL)
		c->cn_id = registry_next_local_id(rt->rt_registry,
		    rt->rt_idmap, rt->rt_node);
	else
		c->cn_id = registry_next_id(rt->rt_registry,
		    rt->rt_config.cf_id_mode);
	if (registry_add(rt->rt_registry, c) != 0) {
		log_warnx("client %s: out of memory, closed",
		    addr_format(sa, peer, sizeof peer));
		router_unadmit(rt, &c->cn_peer.sa);
		conn_close(c, 0);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&rt->rt_conns, c, cn_entry);
	rt->rt_stats.st_accepted++;
	log_info("client %u connected from %s%s", c->cn_id,
	    addr_format(&c->cn_peer.sa, peer, sizeof peer),
	    tls ? " (tls)" : "");
	be = htonl(c->cn_id);
	if (evbuffer_add(conn_output(c), &be, sizeof be) != 0) {
		log_warnx("client %u: out of memory for its id", c->cn_id);
		router_close(rt, c, CONN_REASON_ERROR);
		return NULL;
	}
	router_mark_dirty(rt, c);
	return c;
}

struct conn *
router_attach(struct router *rt, int fd, const struct sockaddr *sa,
    int socklen)
{
	return router_attach_as(rt, fd, sa, socklen, 0);
}

struct conn *
router_attach_tls(struct router *rt, int fd, const struct sockaddr *sa,
    int socklen)
{
	return router_attach_as(rt, fd, sa, socklen, 1);
}

/*
 * Forget a client that is being closed: its waits, its waiters (who must
 * not wait for ever: the lost wake-up), the registry, the lists and the
 * drain's count.  A slot is free again, so accept need not wait for its
 * back-off timer.
 */
static void
router_detach(struct router *rt, struct conn *c)
{
	size_t	i;

	if (router_paused(c))
		router_unblock(rt, c);
	router_wake_waiters(rt, c);
#ifdef HAVE_NATS
	/* Other nodes' senders go on: their frames meet an unknown id. */
	if (c->cn_rflags & CONN_RHELD)
		router_release_remote(rt, c);
#endif
	registry_remove(rt->rt_registry, c->cn_id);
	/* Its peers may write to it a while yet: no scanners, they. */
	departed_add(rt->rt_departed, c->cn_id);
	router_unadmit(rt, &c->cn_peer.sa);
	TAILQ_REMOVE(&rt->rt_conns, c, cn_entry);
	router_unmark_dirty(rt, c);
	if ((c->cn_rflags & CONN_DRAINING) && !rt->rt_drain_done) {
		/* Closed with bytes still queued: an error or EOF mid-drain. */
		c->cn_rflags &= ~CONN_DRAINING;
		rt->rt_drain_abandoned += conn_queued(c);
		if (--rt->rt_drain_pending == 0)
			router_drain_finish(rt, "complete");
	}
	for (i = 0; i < rt->rt_nlisteners; i++)
		listener_resume(rt->rt_listeners[i]);
	listener_resume(rt->rt_tls_listener);
}

void
router_close(struct router *rt, struct conn *c, enum conn_reason reason)
{
	struct conn_info	ci;

	if (conn_state(c) == CONN_CLOSED)
		return;
	if (reason == CONN_REASON_TLS || reason == CONN_REASON_TLS_TIMEOUT)
		rt->rt_stats.st_tls_handshake_failures++;
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
	router_detach(rt, c);
	conn_close(c, reason == CONN_REASON_SHUTDOWN);
}

/* conn.c: a TLS client's handshake is done. */
static void
router_handshake_cb(struct conn *c)
{
	struct router	*rt = c->cn_router;
	struct conn_info ci;

	rt->rt_stats.st_tls_handshakes++;
	conn_info(c, &ci);
	log_info("client %u: tls handshake done: %s, %s", c->cn_id,
	    ci.ci_tls_protocol != NULL ? ci.ci_tls_protocol : "?",
	    ci.ci_tls_cipher != NULL ? ci.ci_tls_cipher : "?");
	/* A handshake that ends during the drain: its id goes out, no reads. */
	if (rt->rt_draining)
		conn_stop_reading(c);
}

/* conn.c: a write failed, or the peer left while we only wrote. */
static void
router_error_cb(struct conn *c, enum conn_reason reason)
{
	router_close(c->cn_router, c, reason);
}

_Static_assert(CONFIG_MAX_MESSAGE_MAX <= UINT32_MAX,
    "cn_max_before holds any max_message_size");

void
router_configure(struct router *rt, const struct config *cf)
{
	struct conn	*c;
	size_t		 n;

	/* Input already received keeps the limit it arrived under. */
	TAILQ_FOREACH(c, &rt->rt_conns, cn_entry) {
		c->cn_max_before = (uint32_t)router_max_message(rt, c);
		c->cn_max_until = c->cn_bytes_in;
	}
	/* The defence turned off: nobody stays banned by it. */
	if (cf->cf_scan_limit == 0 && rt->rt_config.cf_scan_limit != 0 &&
	    (n = addrtab_unban_all(rt->rt_addrtab, clock_now_ms())) > 0)
		log_info("scan_limit 0: %zu banned addresses let in again", n);
	rt->rt_config = *cf;
	/* More clients may come: room for their addresses (never shrinks). */
	if (addrtab_grow(rt->rt_addrtab, router_addrtab_limit(cf)) != 0)
		log_warnx("address table: out of memory to grow to %zu "
		    "addresses; it keeps %zu", router_addrtab_limit(cf),
		    addrtab_limit(rt->rt_addrtab));
	if (departed_grow(rt->rt_departed, cf->cf_max_clients) != 0)
		log_warnx("departed ids: out of memory to remember %llu; it "
		    "keeps %zu", (unsigned long long)cf->cf_max_clients,
		    departed_size(rt->rt_departed));
	TAILQ_FOREACH(c, &rt->rt_conns, cn_entry)
		router_configure_conn(rt, c);
#ifdef HAVE_NATS
	if (rt->rt_cluster != NULL)
		cluster_configure(rt->rt_cluster);
#endif
}

/* Queue a destination for router_flush. */
static void
router_mark_dirty(struct router *rt, struct conn *c)
{
	if (c->cn_rflags & CONN_DIRTY)
		return;
	c->cn_rflags |= CONN_DIRTY;
	c->cn_dirty_next = rt->rt_dirty;
	rt->rt_dirty = c;
}

/* Take a connection off the flush list. */
static void
router_unmark_dirty(struct router *rt, struct conn *c)
{
	struct conn	**pp;

	if (!(c->cn_rflags & CONN_DIRTY))
		return;
	for (pp = &rt->rt_dirty; *pp != NULL; pp = &(*pp)->cn_dirty_next) {
		if (*pp == c) {
			*pp = c->cn_dirty_next;
			break;
		}
	}
	c->cn_dirty_next = NULL;
	c->cn_rflags &= ~CONN_DIRTY;
}

/*
 * After a write to c: resume the senders waiting for it once its queue is
 * back at the resume mark, tell a drain, and close a peer that sent EOF
 * once it has everything.
 */
static void
router_written(struct router *rt, struct conn *c, size_t queued)
{
	size_t	mark;

	if (!TAILQ_EMPTY(&c->cn_waiters)) {
		mark = policy_resume_mark((size_t)rt->rt_config.cf_queue_limit);
		if (queued <= mark)
			router_wake_waiters(rt, c);
	}
#ifdef HAVE_NATS
	/* The same mark lets the other nodes' senders go (RESUME). */
	if ((c->cn_rflags & CONN_RHELD) && queued <=
	    policy_resume_mark((size_t)rt->rt_config.cf_queue_limit))
		router_release_remote(rt, c);
#endif
	router_drain_check(rt, c);
	if (queued == 0)
		router_finish(rt, c);
}

/* conn.c: the bufferevent wrote what a direct flush left. */
static void
router_written_cb(struct conn *c, size_t queued)
{
	router_written(c->cn_router, c, queued);
}

void
router_flush(struct router *rt)
{
	struct conn	*c;
	int		 rv;

	/* Pop one at a time: a flush may close the connection it writes. */
	while ((c = rt->rt_dirty) != NULL) {
		rt->rt_dirty = c->cn_dirty_next;
		c->cn_dirty_next = NULL;
		c->cn_rflags &= ~CONN_DIRTY;
		if ((rv = conn_flush(c)) < 0)
			router_close(rt, c, CONN_REASON_ERROR);
		else if (rv > 0)
			router_written(rt, c, conn_queued(c));
	}
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
	ROUTER_REMOTE,		/* to rt_remote_owner's batch (a cluster) */
	ROUTER_LOCAL,		/* router_decide_remote: not another node's */
};

/* Milliseconds as seconds for a log line: "60", "0.25". */
static const char *
router_seconds(uint64_t ms, char *buf, size_t len)
{
	size_t	n;

	snprintf(buf, len, "%llu.%03llu", (unsigned long long)(ms / 1000),
	    (unsigned long long)(ms % 1000));
	n = strlen(buf);
	while (buf[n - 1] == '0')
		buf[--n] = '\0';
	if (buf[n - 1] == '.')
		buf[--n] = '\0';
	return buf;
}

/*
 * The scan defence, on the unknown-id path only: count the frame against
 * its sender's address (addrtab_unknown), unless dst_id was live a moment
 * ago (departed_has: a peer that left, not a guess).  Whether the sender
 * is to be closed: its address went past scan_limit now (logged once, with
 * the address) or was banned already.  Not inlined: router_decide, on the
 * path of every run, keeps the size and layout it had without it.
 */
static __attribute__((noinline)) int
router_scanning(struct router *rt, struct conn *src, uint32_t dst_id)
{
	const struct config	*cf = &rt->rt_config;
	struct addrtab_scan	 sc;
	struct addrtab_key	 k;
	struct addrtab_lifted	 lifted;
	uint64_t		 now, count, elapsed;
	char			 a[ADDRTAB_STRLEN], in[32], ban[32];

	/*
	 * Neither counted nor closed, even from a banned address: the frame
	 * reaches no one, and the client writing it is no scanner.
	 */
	if (departed_has(rt->rt_departed, dst_id))
		return 0;
	if (addrtab_key(&src->cn_peer.sa, &k) != 0)
		return 0;
	sc.as_limit = cf->cf_scan_limit;
	sc.as_window_ms = cf->cf_scan_window_ms;
	sc.as_ban_ms = cf->cf_scan_ban_ms;
	now = clock_now_ms();
	switch (addrtab_unknown(rt->rt_addrtab, &k, dst_id, &sc, now, &count,
	    &elapsed, &lifted)) {
	case ADDRTAB_SCAN_OK:
		router_log_lifted(rt, &lifted, now);
		return 0;
	case ADDRTAB_SCAN_BAN:
		log_warnx("address %s: %llu unknown ids in %s s: banned for "
		    "%s s", addrtab_format(&k, a, sizeof a),
		    (unsigned long long)count,
		    router_seconds(elapsed, in, sizeof in),
		    router_seconds(cf->cf_scan_ban_ms, ban, sizeof ban));
		break;
	case ADDRTAB_SCAN_BANNED:
		break;
	}
	rt->rt_stats.st_disconnected_scan++;
	return 1;
}

#ifdef HAVE_NATS
/*
 * Backpressure across nodes (docs/CLUSTER.md, "Backpressure across
 * nodes").  On the sending node, a remote destination a peer asked us to
 * hold (PAUSE): its conn is a stand-in holding only cn_id and cn_waiters,
 * so that router_pause, router_unblock and router_wake_waiters treat it as
 * a local destination (cn_blocked_on points at it).
 */
struct router_rdst {
	struct conn		 rd_conn;
	unsigned		 rd_node;
	int			 rd_seen;	/* in the FULL set being applied */
	LIST_ENTRY(router_rdst)	 rd_entry;
};

/* On the owner: one of our ids over queue_limit, the nodes told to hold. */
struct router_rhold {
	uint32_t		 rh_id;
	uint8_t			 rh_nodes[IDMAP_NODES / 8];
	LIST_ENTRY(router_rhold) rh_entry;
};

#define ROUTER_RBUCKET(id)	(((id) ^ (id) >> 16) & (ROUTER_RHASH - 1))

static struct router_rdst *
router_rdst_find(struct router *rt, uint32_t id)
{
	struct router_rdst	*rd;

	LIST_FOREACH(rd, &rt->rt_rdst[ROUTER_RBUCKET(id)], rd_entry)
		if (rd->rd_conn.cn_id == id)
			return rd;
	return NULL;
}

static void
router_rdst_add(struct router *rt, unsigned node, uint32_t id)
{
	struct router_rdst	*rd;

	if ((rd = router_rdst_find(rt, id)) != NULL) {
		rd->rd_seen = 1;
		return;
	}
	if ((rd = calloc(1, sizeof *rd)) == NULL) {
		log_warnx("cluster: node %u: out of memory, a PAUSE of id %u "
		    "ignored", node, id);
		return;
	}
	rd->rd_conn.cn_id = id;
	TAILQ_INIT(&rd->rd_conn.cn_waiters);
	rd->rd_node = node;
	rd->rd_seen = 1;
	LIST_INSERT_HEAD(&rt->rt_rdst[ROUTER_RBUCKET(id)], rd, rd_entry);
	rt->rt_nrdst++;
	log_debug("cluster: node %u: senders to id %u held", node, id);
}

/* RESUME: its senders go on (each routes its frame again), it is gone. */
static void
router_rdst_free(struct router *rt, struct router_rdst *rd)
{
	router_wake_waiters(rt, &rd->rd_conn);
	LIST_REMOVE(rd, rd_entry);
	rt->rt_nrdst--;
	log_debug("cluster: node %u: senders to id %u resumed", rd->rd_node,
	    rd->rd_conn.cn_id);
	free(rd);
}

/* Free node's stand-ins (all, or those not seen in a FULL set). */
static void
router_rdst_sweep(struct router *rt, unsigned node, int unseen_only)
{
	struct router_rdst	*rd, *next;
	size_t			 b;

	for (b = 0; b < ROUTER_RHASH && rt->rt_nrdst > 0; b++)
		for (rd = LIST_FIRST(&rt->rt_rdst[b]); rd != NULL; rd = next) {
			next = LIST_NEXT(rd, rd_entry);
			if (rd->rd_node == node &&
			    (!unseen_only || !rd->rd_seen))
				router_rdst_free(rt, rd);
		}
}

void
router_remote_control(struct router *rt, unsigned node, int pause,
    const uint32_t *ids, size_t n, int full)
{
	struct router_rdst	*rd;
	size_t			 b, i;

	if (full)
		for (b = 0; b < ROUTER_RHASH; b++)
			LIST_FOREACH(rd, &rt->rt_rdst[b], rd_entry)
				if (rd->rd_node == node)
					rd->rd_seen = 0;
	for (i = 0; i < n; i++) {
		/* Only the owner may hold its ids. */
		if (ids[i] == 0 || cluster_owner(rt->rt_cluster, ids[i]) !=
		    node)
			continue;
		if (pause)
			router_rdst_add(rt, node, ids[i]);
		else if ((rd = router_rdst_find(rt, ids[i])) != NULL)
			router_rdst_free(rt, rd);
	}
	if (full)
		router_rdst_sweep(rt, node, 1);
}

/*
 * The stand-in that senders wait on while node's link is full (its cn_id
 * is 0: no client's), made at the first wait and kept.  NULL if out of
 * memory: the frame is then dropped and counted.
 */
static struct router_rdst *
router_link_wait(struct router *rt, unsigned node)
{
	struct router_rdst	*rd = rt->rt_link_wait[node & 255];

	if (rd == NULL && (rd = calloc(1, sizeof *rd)) != NULL) {
		TAILQ_INIT(&rd->rd_conn.cn_waiters);
		rd->rd_node = node;
		rt->rt_link_wait[node & 255] = rd;
	}
	return rd;
}

void
router_link_drained(struct router *rt, unsigned node)
{
	struct router_rdst	*rd = rt->rt_link_wait[node & 255];

	if (rd != NULL && !TAILQ_EMPTY(&rd->rd_conn.cn_waiters)) {
		log_debug("cluster: node %u: link under link_limit / 2, "
		    "senders resumed", node);
		router_wake_waiters(rt, &rd->rd_conn);
	}
}

uint64_t
router_remote_paused(struct router *rt, unsigned node)
{
	struct router_rdst	*rd;
	struct conn		*w;
	uint64_t		 n = 0;
	size_t			 b;

	if ((rd = rt->rt_link_wait[node & 255]) != NULL)
		TAILQ_FOREACH(w, &rd->rd_conn.cn_waiters, cn_wait_entry)
			n++;

	for (b = 0; b < ROUTER_RHASH && rt->rt_nrdst > 0; b++)
		LIST_FOREACH(rd, &rt->rt_rdst[b], rd_entry)
			if (rd->rd_node == node)
				TAILQ_FOREACH(w, &rd->rd_conn.cn_waiters,
				    cn_wait_entry)
					n++;
	return n;
}

static struct router_rhold *
router_rhold_find(struct router *rt, uint32_t id)
{
	struct router_rhold	*rh;

	LIST_FOREACH(rh, &rt->rt_rhold[ROUTER_RBUCKET(id)], rh_entry)
		if (rh->rh_id == id)
			return rh;
	return NULL;
}

#define ROUTER_RHOLD_HAS(rh, n)	((rh)->rh_nodes[(n) / 8] & (1u << ((n) % 8)))

/*
 * dst went over queue_limit with a frame from node from: tell that node
 * to hold its senders to dst (once; a PAUSE lost on the way is repeated
 * by the FULL set of the next heartbeat).
 */
static void
router_hold_remote(struct router *rt, struct conn *dst, unsigned from)
{
	struct router_rhold	*rh = NULL;
	uint32_t		 id = dst->cn_id;

	if (dst->cn_rflags & CONN_RHELD)
		rh = router_rhold_find(rt, id);
	if (rh == NULL) {
		if ((rh = calloc(1, sizeof *rh)) == NULL) {
			log_warnx("client %u: out of memory, node %u not "
			    "told to hold its senders", id, from);
			return;
		}
		rh->rh_id = id;
		LIST_INSERT_HEAD(&rt->rt_rhold[ROUTER_RBUCKET(id)], rh,
		    rh_entry);
		dst->cn_rflags |= CONN_RHELD;
	}
	if (ROUTER_RHOLD_HAS(rh, from))
		return;
	rh->rh_nodes[from / 8] |= (uint8_t)(1u << (from % 8));
	(void)cluster_control(rt->rt_cluster, from, CLUSTERPROTO_PAUSE, &id,
	    1, 0);
	log_debug("client %u: over queue_limit, node %u told to hold its "
	    "senders", id, from);
}

static void
router_rhold_free(struct router *rt, struct router_rhold *rh)
{
	struct conn	*c;

	if ((c = registry_find(rt->rt_registry, rh->rh_id)) != NULL)
		c->cn_rflags &= ~CONN_RHELD;
	LIST_REMOVE(rh, rh_entry);
	free(rh);
}

/* c drained to half its limit, or is closing: RESUME to every node told. */
static void
router_release_remote(struct router *rt, struct conn *c)
{
	struct router_rhold	*rh;
	uint32_t		 id = c->cn_id;
	unsigned		 node;

	c->cn_rflags &= ~CONN_RHELD;
	if ((rh = router_rhold_find(rt, id)) == NULL)
		return;
	for (node = 0; node < IDMAP_NODES && rt->rt_cluster != NULL; node++)
		if (ROUTER_RHOLD_HAS(rh, node))
			(void)cluster_control(rt->rt_cluster, node,
			    CLUSTERPROTO_RESUME, &id, 1, 0);
	log_debug("client %u: under half its queue_limit, other nodes' "
	    "senders resumed", id);
	router_rhold_free(rt, rh);
}

void
router_remote_refresh(struct router *rt, unsigned node)
{
	struct router_rhold	*rh;
	uint32_t		*ids = NULL, *bigger;
	size_t			 b, n = 0, size = 0;

	for (b = 0; b < ROUTER_RHASH; b++)
		LIST_FOREACH(rh, &rt->rt_rhold[b], rh_entry) {
			if (!ROUTER_RHOLD_HAS(rh, node))
				continue;
			if (n == size) {
				size = size != 0 ? size * 2 : 64;
				if ((bigger = realloc(ids, size *
				    sizeof *ids)) == NULL) {
					free(ids);
					return;	/* the next heartbeat */
				}
				ids = bigger;
			}
			ids[n++] = rh->rh_id;
		}
	(void)cluster_control(rt->rt_cluster, node, CLUSTERPROTO_PAUSE, ids, n,
	    1);
	free(ids);
}

void
router_remote_forget(struct router *rt, unsigned node)
{
	struct router_rhold	*rh, *next;
	size_t			 b;
	unsigned		 i;

	router_rdst_sweep(rt, node, 0);
	router_link_drained(rt, node);
	for (b = 0; b < ROUTER_RHASH; b++)
		for (rh = LIST_FIRST(&rt->rt_rhold[b]); rh != NULL;
		    rh = next) {
			next = LIST_NEXT(rh, rh_entry);
			rh->rh_nodes[node / 8] &= (uint8_t)~(1u << (node % 8));
			for (i = 0; i < IDMAP_NODES / 8; i++)
				if (rh->rh_nodes[i] != 0)
					break;
			if (i == IDMAP_NODES / 8)
				router_rhold_free(rt, rh);
		}
}
#endif

#ifdef HAVE_NATS
/*
 * A cluster node, an id not registered here: ROUTER_LOCAL if this node
 * owns it, or a node never heard of or refused owns it (unknown, as on a
 * single node, and counted by the scan defence), else the owner's link
 * decides: down, dropped_peer_down; over link_limit, dropped_link_full; else
 * ROUTER_REMOTE with the owner in rt_remote_owner.  Not inlined: the
 * known-id path of router_decide stays as it was.
 */
static __attribute__((noinline)) enum router_verdict
router_decide_remote(struct router *rt, struct conn *src, uint32_t dst_id,
    size_t len)
{
	struct router_rdst	*rd;
	unsigned		 owner;

	if (dst_id == 0)
		return ROUTER_LOCAL;
	owner = cluster_owner(rt->rt_cluster, dst_id);
	if (owner == rt->rt_node)
		return ROUTER_LOCAL;
	if (!cluster_peer_up(rt->rt_cluster, owner)) {
		/*
		 * An id of a node never heard of (or refused) is an unknown
		 * id, here: counted so, and by the scan defence.
		 */
		if (!cluster_peer_down(rt->rt_cluster, owner))
			return ROUTER_LOCAL;
		router_dropped(rt, src, NULL, 1, ROUTER_DROP_PEER_DOWN);
		return ROUTER_CONSUMED;
	}
	/* The owner asked us to hold senders to it: as a local queue full. */
	if (rt->rt_nrdst > 0 && (rd = router_rdst_find(rt, dst_id)) != NULL) {
		router_pause(rt, src, &rd->rd_conn, len);
		return ROUTER_STOP;
	}
	/*
	 * Over link_limit (NATS slow or down): backpressure holds the sender
	 * until the link drains to half; drop and disconnect drop the frame
	 * (open question 4: the slow party is the link, not a client).
	 */
	if (cluster_link_full(rt->rt_cluster, owner)) {
		if (rt->rt_config.cf_slow_consumer ==
		    SLOW_CONSUMER_BACKPRESSURE &&
		    (rd = router_link_wait(rt, owner)) != NULL) {
			router_pause(rt, src, &rd->rd_conn, len);
			return ROUTER_STOP;
		}
		router_dropped(rt, src, NULL, 1, ROUTER_DROP_LINK_FULL);
		return ROUTER_CONSUMED;
	}
	rt->rt_remote_owner = owner;
	return ROUTER_REMOTE;
}

#define ROUTER_TOO_LARGE_LOG_MS	10000

/*
 * The frame of len bytes (header, payload, 0x00) at p to its owner node,
 * or dropped: too large for a NATS message (logged with the client, at
 * most every ROUTER_TOO_LARGE_LOG_MS), or memory ran out (cluster.c logs).
 */
static void
router_remote(struct router *rt, struct conn *src, const unsigned char *p,
    size_t len)
{
	long long	max;
	uint64_t	now;

	if ((max = cluster_append(rt->rt_cluster, rt->rt_remote_owner, p,
	    len)) == 0) {
		router_linked(rt, src);
		return;
	}
	if (max == -1) {
		router_dropped(rt, src, NULL, 1, ROUTER_DROP_LINK_FULL);
		return;
	}
	router_dropped(rt, src, NULL, 1, ROUTER_DROP_TOO_LARGE);
	now = clock_now_ms();
	if (rt->rt_too_large_logged != 0 &&
	    now - rt->rt_too_large_logged < ROUTER_TOO_LARGE_LOG_MS) {
		rt->rt_too_large_quiet++;
		return;
	}
	log_warnx("client %u: a frame of %zu bytes for node %u is over the "
	    "%lld bytes a NATS message carries here (max_payload less %d): "
	    "dropped; raise max_payload in nats-server", src->cn_id,
	    len - FRAMING_HEADER_LEN, rt->rt_remote_owner, max,
	    CLUSTERPROTO_HEADER_LEN);
	if (rt->rt_too_large_quiet > 0)
		log_warnx("cluster: %llu more frames too large for NATS "
		    "dropped in the last %llu s, not logged one by one",
		    (unsigned long long)rt->rt_too_large_quiet,
		    (unsigned long long)(now - rt->rt_too_large_logged) / 1000);
	rt->rt_too_large_logged = now;
	rt->rt_too_large_quiet = 0;
}
#endif

/*
 * Decide what becomes of one complete frame of len bytes (payload and
 * 0x00) for dst_id: the registry look-up and the slow-consumer policy.
 * Everything but forwarding is done and counted here.
 */
static enum router_verdict
router_decide(struct router *rt, struct conn *src, uint32_t dst_id,
    size_t len, struct conn **dstp)
{
	struct config	*cf = &rt->rt_config;
	struct conn	*dst;

	dst = registry_find(rt->rt_registry, dst_id);
	if (dst == NULL) {
#ifdef HAVE_NATS
		enum router_verdict	v;

		if (rt->rt_cluster != NULL &&
		    (v = router_decide_remote(rt, src, dst_id, len)) !=
		    ROUTER_LOCAL)
			return v;
#endif
		router_dropped(rt, src, NULL, 1, ROUTER_DROP_UNKNOWN);
		log_debug("client %u: message to unknown id %u dropped",
		    src->cn_id, dst_id);
		if (cf->cf_scan_limit != 0 && router_scanning(rt, src, dst_id)) {
			router_close(rt, src, CONN_REASON_SCAN);
			return ROUTER_CLOSED;
		}
		return ROUTER_CONSUMED;
	}
	switch (policy_decide(conn_queued(dst), len,
	    (size_t)cf->cf_queue_limit, cf->cf_slow_consumer)) {
	case POLICY_FORWARD:
		*dstp = dst;
		return ROUTER_FORWARD;
	case POLICY_PAUSE:
		/* The frame stays; it is routed again on resume. */
		router_pause(rt, src, dst, len);
		return ROUTER_STOP;
	case POLICY_DROP:
		router_dropped(rt, src, dst, 1, ROUTER_DROP_QUEUE_FULL);
		return ROUTER_CONSUMED;
	case POLICY_DISCONNECT:
	default:
		router_dropped(rt, src, dst, 1, ROUTER_DROP_QUEUE_FULL);
		rt->rt_stats.st_disconnected_slow++;
		log_warnx("client %u: queue over queue_limit %llu, "
		    "disconnecting slow consumer", dst->cn_id,
		    (unsigned long long)cf->cf_queue_limit);
		router_close(rt, dst, CONN_REASON_SLOW_CONSUMER);
		return dst == src ? ROUTER_CLOSED : ROUTER_CONSUMED;
	}
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

/* Open a run to dst with the frame at p. */
static void
router_run_open(struct router_run *run, struct conn *dst,
    const unsigned char *p, size_t len)
{
	run->rr_dst = dst;
	/* Nothing else queues to dst until the run is flushed. */
	run->rr_queued = conn_queued(dst);
	run->rr_start = p;
	run->rr_bytes = len;
	run->rr_frames = 1;
	run->rr_len[0] = len;
}

/*
 * Add the next frame to the open run if it goes to the same destination
 * and the policy, asked against the queue plus the run, forwards it.
 */
static int
router_run_add(const struct router *rt, struct router_run *run,
    uint32_t dst_id, size_t len)
{
	const struct config	*cf = &rt->rt_config;

	if (run->rr_dst == NULL || run->rr_dst->cn_id != dst_id ||
	    run->rr_frames == ROUTER_RUN_MAX ||
	    policy_decide(run->rr_queued + run->rr_bytes, len,
	    (size_t)cf->cf_queue_limit, cf->cf_slow_consumer) !=
	    POLICY_FORWARD)
		return 0;
	run->rr_len[run->rr_frames++] = len;
	run->rr_bytes += len;
	return 1;
}

/*
 * Queue the run's payloads to its destination: frames lie back to back
 * from rr_start, each a header and rr_len bytes.  Reserving at most two
 * extents lets libevent fill the last chain's free space before it adds
 * one, so the queue's memory stays close to the bytes it holds.  Returns
 * -1 if the sender itself was closed (a run to itself that memory could
 * not take): a return value, not a state look-up, on the per-run path.
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
		router_dropped(rt, src, dst, (uint64_t)run->rr_frames,
		    ROUTER_DROP_QUEUE_FULL);
		router_close(rt, dst, CONN_REASON_ERROR);
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
	router_forwarded(rt, src, dst, (uint64_t)run->rr_frames,
	    run->rr_bytes);
	return 0;
}

/*
 * Find the frame at p if it lies whole before end: 1 with its destination
 * and length (payload and 0x00), else 0 with *scanned set to the payload
 * bytes looked at.  A sender cannot make us scan more than one largest
 * frame.
 */
static int
router_scan(const unsigned char *p, const unsigned char *end, size_t max,
    uint32_t *dst_id, size_t *len, size_t *scanned)
{
	const unsigned char	*nul;
	size_t			 n;

	n = (size_t)(end - p) - FRAMING_HEADER_LEN;
	if (n > max)
		n = max;
	if ((nul = memchr(p + FRAMING_HEADER_LEN, 0, n)) == NULL) {
		*scanned = n;
		return 0;
	}
	*dst_id = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
	*len = (size_t)(nul - p) - FRAMING_HEADER_LEN + 1;
	return 1;
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
 * already scanned, is left to framing_next; so is input that arrived
 * before a reload, which keeps its old max_message_size.
 */
static ssize_t
router_route_segment(struct router *rt, struct conn *src, struct evbuffer *in)
{
	struct evbuffer_iovec	 v;
	struct router_run	 run;
	struct conn		*dst;
	const unsigned char	*p, *end;
	size_t			 max, len, scanned;
	ssize_t			 frames = 0;
	uint32_t		 dst_id;

	if (src->cn_framing.fr_scanned != 0 ||
	    src->cn_bytes_in - evbuffer_get_length(in) < src->cn_max_until ||
	    evbuffer_peek(in, -1, NULL, &v, 1) < 1)
		return 0;
	p = v.iov_base;
	end = p + v.iov_len;
	max = (size_t)rt->rt_config.cf_max_message_size;
	run.rr_dst = NULL;
	while (!router_paused(src) && end - p >= FRAMING_MIN_FRAME) {
		if (!router_scan(p, end, max, &dst_id, &len, &scanned)) {
			/* framing_next goes on from here, or finds it oversize. */
			if (scanned < max)
				src->cn_framing.fr_scanned = scanned;
			break;
		}
		if (!router_run_add(rt, &run, dst_id, len)) {
			/* The decision needs the queue as it is: close the run. */
			if (router_run_flush(rt, src, &run) != 0)
				return -1;
			switch (router_decide(rt, src, dst_id, len, &dst)) {
			case ROUTER_CLOSED:
				return -1;
			case ROUTER_STOP:
				continue;	/* paused: the loop ends */
			case ROUTER_CONSUMED:
				break;
			case ROUTER_FORWARD:
				router_run_open(&run, dst, p, len);
				break;
#ifdef HAVE_NATS
			case ROUTER_REMOTE:
				router_remote(rt, src, p,
				    FRAMING_HEADER_LEN + len);
				break;
#endif
			default:
				break;
			}
		}
		p += FRAMING_HEADER_LEN + len;
		frames++;
	}
	if (router_run_flush(rt, src, &run) != 0)
		return -1;
	if (frames > 0)
		evbuffer_drain(in, (size_t)(p - (const unsigned char *)v.iov_base));
	return frames;
}

/*
 * Route the frame at the head of the input, one at a time: one that spans
 * segments or is not complete yet.  Returns 1 to go on, 0 when the input
 * holds no complete frame, -1 if the sender was closed.
 */
static int
router_route_head(struct router *rt, struct conn *src, struct evbuffer *in)
{
	struct conn		*dst;
	enum framing_result	 fr;
	uint32_t		 dst_id;
	size_t			 len, max;

	max = router_max_message(rt, src);
	fr = framing_next(&src->cn_framing, in, max, &dst_id, &len);
	if (fr == FRAMING_NEED_MORE)
		return 0;
	if (fr == FRAMING_OVERSIZE) {
		rt->rt_stats.st_disconnected_oversize++;
		log_warnx("client %u: no 0x00 within max_message_size "
		    "%zu bytes, disconnecting", src->cn_id, max);
		router_close(rt, src, CONN_REASON_OVERSIZE);
		return -1;
	}
	switch (router_decide(rt, src, dst_id, len, &dst)) {
	case ROUTER_CLOSED:
		return -1;
	case ROUTER_STOP:
		break;
	case ROUTER_CONSUMED:
		evbuffer_drain(in, FRAMING_HEADER_LEN + len);
		break;
	case ROUTER_FORWARD:
		router_move(in, conn_output(dst), len);
		router_forwarded(rt, src, dst, 1, len);
		break;
#ifdef HAVE_NATS
	case ROUTER_REMOTE: {
		const unsigned char	*p;

		p = evbuffer_pullup(in, (ev_ssize_t)(FRAMING_HEADER_LEN + len));
		if (p != NULL)
			router_remote(rt, src, p, FRAMING_HEADER_LEN + len);
		else
			router_dropped(rt, src, NULL, 1, ROUTER_DROP_LINK_FULL);
		evbuffer_drain(in, FRAMING_HEADER_LEN + len);
		break;
	}
#endif
	default:
		break;
	}
	return 1;
}

#ifdef HAVE_NATS
void
router_deliver_remote(struct router *rt, unsigned from, uint32_t dst_id,
    const unsigned char *payload, size_t len)
{
	struct config	*cf = &rt->rt_config;
	struct conn	*dst;

	if ((dst = registry_find(rt->rt_registry, dst_id)) == NULL) {
		router_remote_counted(rt, NULL, len, ROUTER_DROP_UNKNOWN, 0);
		log_debug("cluster: message to unknown id %u dropped", dst_id);
		return;
	}
	switch (policy_decide(conn_queued(dst), len,
	    (size_t)cf->cf_queue_limit, cf->cf_slow_consumer)) {
	case POLICY_PAUSE:
		/*
		 * A node cannot stop reading NATS: the frame is accepted
		 * over the limit (the overshoot, bounded in CLUSTER.md) and
		 * the sending node is told to hold its senders to dst.
		 */
		router_hold_remote(rt, dst, from);
		/* FALLTHROUGH */
	case POLICY_FORWARD:
		if (evbuffer_add(conn_output(dst), payload, len) != 0) {
			router_remote_counted(rt, dst, len,
			    ROUTER_DROP_QUEUE_FULL, 0);
			return;
		}
		router_remote_counted(rt, dst, len, ROUTER_DROP_UNKNOWN, 1);
		return;
	case POLICY_DROP:
		router_remote_counted(rt, dst, len, ROUTER_DROP_QUEUE_FULL, 0);
		return;
	case POLICY_DISCONNECT:
	default:
		router_remote_counted(rt, dst, len, ROUTER_DROP_QUEUE_FULL, 0);
		rt->rt_stats.st_disconnected_slow++;
		log_warnx("client %u: queue over queue_limit %llu, "
		    "disconnecting slow consumer", dst->cn_id,
		    (unsigned long long)cf->cf_queue_limit);
		router_close(rt, dst, CONN_REASON_SLOW_CONSUMER);
		return;
	}
}
#endif

/*
 * Route every complete frame buffered from this sender until it is paused
 * or its input holds none, then write every destination it filled.
 */
static void
router_route(struct router *rt, struct conn *src)
{
	struct evbuffer	*in = conn_input(src);
	ssize_t		 n;

	while (!router_paused(src)) {
		if ((n = router_route_segment(rt, src, in)) < 0)
			break;
		/* It may have paused the sender at the head frame. */
		if (n > 0 || router_paused(src))
			continue;
		if (router_route_head(rt, src, in) <= 0)
			break;
	}
	router_flush(rt);
}

/*
 * conn.c: input to handle.  Read (unless the bufferevent's first read just
 * brought arrived bytes), route, and see whether a drain or an EOF is done
 * with this client.  conn.c holds a reference: closing c here is safe.
 */
static void
router_input_cb(struct conn *c, size_t arrived)
{
	struct router	*rt = c->cn_router;

	if (arrived > 0)
		router_received(rt, c, arrived);
	else if (router_read(rt, c) != 0) {
		router_close(rt, c, CONN_REASON_ERROR);
		return;
	}
	router_route(rt, c);
	if (conn_state(c) == CONN_CLOSED)
		return;
	router_drain_check(rt, c);
	router_finish(rt, c);
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
	size_t		 i;

	if (rt->rt_draining)
		return;
	rt->rt_draining = 1;
	/* Closing the socket, not just disabling it, refuses new clients. */
	for (i = 0; i < rt->rt_nlisteners; i++)
		listener_close(rt->rt_listeners[i]);
	listener_close(rt->rt_tls_listener);
	router_flush(rt);

	rt->rt_drain_forwarded = rt->rt_stats.st_bytes_forwarded;
	TAILQ_FOREACH(c, &rt->rt_conns, cn_entry) {
		/* Nothing new is read; what was read is still routed. */
		conn_stop_reading(c);
		rt->rt_drain_queued += conn_queued(c);
		if (!router_paused(c) && router_has_frame(rt, c))
			conn_kick(c);
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

/*
 * Something changed for this live client during a drain (a write, routing):
 * count it as done or not, and end the drain when all are done.  Clients
 * closed mid-drain are counted off by router_detach.
 */
static void
router_drain_check(struct router *rt, struct conn *c)
{
	int	busy;

	if (!rt->rt_draining || rt->rt_drain_done)
		return;
	busy = !router_idle(rt, c);
	if (busy)
		router_drain_busy(rt, c);
	else if (c->cn_rflags & CONN_DRAINING) {
		c->cn_rflags &= ~CONN_DRAINING;
		if (--rt->rt_drain_pending == 0)
			router_drain_finish(rt, "complete");
	}
}

/*
 * Drop the complete frames buffered from a sender that could not be routed
 * (the drain ended with their destination full, or the sender is gone),
 * counted as dropped for why, so that every frame received is accounted
 * for.  A partial frame at the tail was never a frame received.
 */
static uint64_t
router_drop_input(struct router *rt, struct conn *src, enum router_drop why)
{
	struct evbuffer	*in = conn_input(src);
	uint32_t	 dst_id;
	size_t		 len;
	uint64_t	 n = 0;

	while (framing_next(&src->cn_framing, in, router_max_message(rt, src),
	    &dst_id, &len) == FRAMING_FRAME) {
		evbuffer_drain(in, FRAMING_HEADER_LEN + len);
		router_dropped(rt, src, registry_find(rt->rt_registry, dst_id),
		    1, why);
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
		if (c->cn_rflags & CONN_DRAINING)
			rt->rt_drain_abandoned += conn_queued(c);
		frames += router_drop_input(rt, c, ROUTER_DROP_QUEUE_FULL);
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
 * A paused sender reset the connection: it can send nothing more and hold
 * nothing for anyone.  Its buffered frames are dropped (counted, reason
 * sender_gone) and its slot freed now, not when its destination drains.
 */
static void
router_sender_gone(struct router *rt, struct conn *c)
{
	uint64_t	frames;

	frames = router_drop_input(rt, c, ROUTER_DROP_SENDER_GONE);
	rt->rt_stats.st_disconnected_sender_gone++;
	log_info("client %u: reset while paused for client %u, %llu buffered "
	    "messages dropped", c->cn_id, c->cn_blocked_on->cn_id,
	    (unsigned long long)frames);
	router_close(rt, c, CONN_REASON_SENDER_GONE);
}

void
router_watch_paused(struct router *rt)
{
	struct conn	*c;
	size_t		 i = 0;

	while (i < rt->rt_nwatch) {
		c = rt->rt_watch[i];
		if (conn_state(c) != CONN_CLOSED && router_paused(c)) {
			if (!conn_peer_gone(c)) {
				i++;
				continue;
			}
			router_sender_gone(rt, c);
		}
		/* Closed or resumed: a new pause puts it back. */
		rt->rt_watch[i] = rt->rt_watch[--rt->rt_nwatch];
		c->cn_rflags &= ~CONN_WATCHED;
		conn_unref(c);
	}
	if (rt->rt_nwatch == 0)
		evtimer_del(rt->rt_watch_ev);
}

/* The tick: ROUTER_WATCH_MS while some sender is on the watch list. */
static void
router_watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct router	*rt = arg;
	struct timeval	 tv = { ROUTER_WATCH_MS / 1000,
			    (ROUTER_WATCH_MS % 1000) * 1000 };

	router_watch_paused(rt);
	if (rt->rt_nwatch > 0)
		evtimer_add(rt->rt_watch_ev, &tv);
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
	    "accept_errors=%llu dropped_sender_gone=%llu tls_handshakes=%llu "
	    "tls_handshake_failures=%llu disconnected_scan=%llu "
	    "rejected_banned=%llu rejected_per_address=%llu",
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
	    (unsigned long long)st->st_accept_errors,
	    (unsigned long long)st->st_dropped_sender_gone,
	    (unsigned long long)st->st_tls_handshakes,
	    (unsigned long long)st->st_tls_handshake_failures,
	    (unsigned long long)st->st_disconnected_scan,
	    (unsigned long long)st->st_rejected_banned,
	    (unsigned long long)st->st_rejected_per_address);
}
