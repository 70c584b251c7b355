/*
 * fuzz_router: the daemon's whole input path without a network.  Clients
 * are socketpairs handed to router_attach, so conn.c reads them and the
 * router routes and flushes them exactly as in msgrouterd.
 * The input is a little program: write raw bytes or whole frames from a
 * client, run the loop, read or stop reading a client's deliveries, close,
 * half-close and reopen clients, reconfigure the limits and the policy,
 * start and end a drain.  Each client comes from its own source address
 * (127.1.0.N), and the scan defence is on with a small limit, so that
 * frames to unknown ids close a client for scanning along the way.  Afterwards the counters must add up, every
 * delivered message must be one some client sent to that destination
 * (whole, never mixed, never twice), a started drain must have ended,
 * routed or dropped every frame and reported bytes the clients received, a
 * half-closed client must have been closed once served, and everything is
 * freed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "msgrouter/config.h"
#include "msgrouter/conn.h"
#include "msgrouter/framing.h"
#include "msgrouter/log.h"
#include "msgrouter/registry.h"
#include "msgrouter/router.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

#define NPEER		4	/* clients connected at a time */
#define MAX_PEERS	32	/* clients in one run, reconnections included */
#define MAX_SENT	4096
#define SETTLE_MIN	64	/* loop turns with every client reading */
#define SETTLE_MAX	1024	/* while a drain or a half-close is not done */

/* A client's end of its socketpair and what went through it. */
struct peer {
	int		 fd;		/* -1: not connected */
	uint32_t	 id;
	int		 shut;		/* shutdown(SHUT_WR): sends no more */
	size_t		 wrote;		/* bytes the router wrote, at close */
	struct evbuffer	*pending;	/* to write when the socket takes it */
	struct evbuffer	*sent;		/* every byte written */
	struct evbuffer	*got;		/* every byte delivered */
};

/* One frame a client sent, by the protocol's definition. */
struct sent_frame {
	uint32_t	 dst;
	size_t		 off, len;	/* payload + 0x00 within sent */
	struct peer	*from;
	int		 matched;
};

struct fuzz_input {
	const uint8_t	*p;
	size_t		 left;
};

static uint8_t
next_byte(struct fuzz_input *in)
{
	if (in->left == 0)
		return 0;
	in->left--;
	return *in->p++;
}

static void
peer_open(struct router *rt, struct peer *pe, size_t n)
{
	struct sockaddr_in	sin;
	struct conn		*c;
	int			sv[2], sz = 4096;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
		abort();
	/* Small buffers: queues build up within a short input. */
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	/* Its own address: a ban for scanning refuses no other client. */
	sin.sin_addr.s_addr = htonl(0x7f010000u + (uint32_t)n);
	if ((c = router_attach(rt, sv[0], (struct sockaddr *)&sin, sizeof sin))
	    == NULL)
		abort();
	pe->fd = sv[1];
	pe->id = c->cn_id;
	pe->shut = 0;
	router_flush(rt);
}

/*
 * Every byte the router wrote to this client: what it read and what waits
 * in its socket, frozen when it closes (the router cannot write after).
 */
static size_t
peer_wrote(const struct peer *pe)
{
	int	unread = 0;

	if (pe->fd == -1)
		return pe->wrote;
	if (ioctl(pe->fd, FIONREAD, &unread) != 0 || unread < 0)
		abort();
	return evbuffer_get_length(pe->got) + (size_t)unread;
}

/* What the router wrote to all clients of the run so far. */
static size_t
peers_wrote(const struct peer *all, size_t nall)
{
	size_t	i, n = 0;

	for (i = 0; i < nall; i++)
		n += peer_wrote(&all[i]);
	return n;
}

static void
peer_close(struct peer *pe)
{
	if (pe->fd == -1)
		return;
	pe->wrote = peer_wrote(pe);
	close(pe->fd);
	pe->fd = -1;
	evbuffer_drain(pe->pending, evbuffer_get_length(pe->pending));
}

/* Write what the socket takes of the pending bytes. */
static void
peer_push(struct peer *pe)
{
	unsigned char	*p;
	size_t		 n = evbuffer_get_length(pe->pending);
	ssize_t		 w;

	if (pe->fd == -1 || pe->shut || n == 0)
		return;
	p = evbuffer_pullup(pe->pending, -1);
	w = write(pe->fd, p, n);
	if (w > 0) {
		evbuffer_add(pe->sent, p, (size_t)w);
		evbuffer_drain(pe->pending, (size_t)w);
	}
}

/* Read up to max delivered bytes; the router closing us is EOF. */
static void
peer_read(struct peer *pe, size_t max)
{
	char	buf[4096];
	ssize_t	n;

	while (pe->fd != -1 && max > 0) {
		n = read(pe->fd, buf, max < sizeof buf ? max : sizeof buf);
		if (n == 0) {
			peer_close(pe);
			break;
		}
		if (n < 0)
			break;
		evbuffer_add(pe->got, buf, (size_t)n);
		max -= (size_t)n;
	}
}

/*
 * Two non-blocking passes of the loop.  router_drain_finish calls
 * event_base_loopexit, as the daemon's drain ends its loop: that activates
 * a callback which ends the pass it runs in, but a non-blocking pass ends
 * after one iteration anyway and every event_base_loop call starts with the
 * flag cleared, so the next turn runs as usual.
 */
static void
run_loop(struct event_base *base, struct peer **peers)
{
	int	i;

	for (i = 0; i < NPEER; i++)
		peer_push(peers[i]);
	event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_loop(base, EVLOOP_NONBLOCK);
}

/* Split a client's sent bytes into frames as the protocol defines them. */
static size_t
collect_frames(struct peer *pe, struct sent_frame *f, size_t n)
{
	unsigned char	*s;
	size_t		 len = evbuffer_get_length(pe->sent), pos = 0, i;

	s = evbuffer_pullup(pe->sent, -1);
	while (n < MAX_SENT && len - pos >= FRAMING_MIN_FRAME) {
		for (i = pos + FRAMING_HEADER_LEN; i < len && s[i] != 0; i++)
			;
		if (i == len)
			break;
		f[n].dst = (uint32_t)s[pos] << 24 | (uint32_t)s[pos + 1] << 16 |
		    (uint32_t)s[pos + 2] << 8 | s[pos + 3];
		f[n].off = pos + FRAMING_HEADER_LEN;
		f[n].len = i + 1 - f[n].off;
		f[n].from = pe;
		f[n].matched = 0;
		n++;
		pos = i + 1;
	}
	return n;
}

/* Every message delivered to pe matches one unmatched frame sent to it. */
static void
check_deliveries(struct peer *pe, struct sent_frame *f, size_t nf)
{
	unsigned char	*g = evbuffer_pullup(pe->got, -1), *s;
	size_t		 len = evbuffer_get_length(pe->got), pos = 4, end, i;

	/* First the client's id, then messages. */
	if (len < 4)
		return;
	if (((uint32_t)g[0] << 24 | (uint32_t)g[1] << 16 |
	    (uint32_t)g[2] << 8 | g[3]) != pe->id)
		abort();
	while (pos < len) {
		for (end = pos; end < len && g[end] != 0; end++)
			;
		if (end == len)
			break;	/* a message still arriving: fine */
		for (i = 0; i < nf; i++) {
			if (f[i].matched || f[i].dst != pe->id ||
			    f[i].len != end + 1 - pos)
				continue;
			s = evbuffer_pullup(f[i].from->sent, -1);
			if (memcmp(s + f[i].off, g + pos, f[i].len) == 0)
				break;
		}
		if (i == nf)
			abort();	/* never sent to us, mixed or twice */
		f[i].matched = 1;
		pos = end + 1;
	}
}

/*
 * While a drain runs: every client has stopped reading, and the clients it
 * counts as not done are exactly the ones flagged CONN_DRAINING.
 */
static void
check_draining(struct router *rt)
{
	struct conn	*c;
	size_t		 n = 0;

	if (!rt->rt_draining)
		return;
	TAILQ_FOREACH(c, &rt->rt_conns, cn_entry) {
		if (conn_state(c) != CONN_DONE)
			abort();	/* read again, or attached */
		if (c->cn_rflags & CONN_DRAINING)
			n++;
	}
	if (!rt->rt_drain_done && n != rt->rt_drain_pending)
		abort();
}

/*
 * Once a drain ended no complete frame is left unrouted (router_drain_finish
 * counts them dropped and reading has stopped), and its figures add up:
 * what it reports flushed, the clients received; what they received since
 * beyond that was queued at the end and reported abandoned.  (A drain
 * once ended with a destination's forwarded bytes still queued and
 * reported them flushed: regress-drain-unflushed-dst in the corpus.)
 */
static void
check_drained(struct router *rt, const struct peer *all, size_t nall,
    size_t wrote_start)
{
	struct conn	*c;
	uint64_t	 total, flushed;
	uint32_t	 dst;
	size_t		 len, wrote;

	if (!rt->rt_drain_done)
		return;
	TAILQ_FOREACH(c, &rt->rt_conns, cn_entry) {
		if (framing_next(&c->cn_framing, conn_input(c),
		    router_max_message(rt, c), &dst, &len) == FRAMING_FRAME)
			abort();
	}
	total = rt->rt_drain_queued + (rt->rt_stats.st_bytes_forwarded -
	    rt->rt_drain_forwarded);
	if (rt->rt_drain_abandoned > total)
		abort();
	flushed = total - rt->rt_drain_abandoned;
	wrote = peers_wrote(all, nall) - wrote_start;
	if (wrote < flushed)
		abort();
	if (wrote > flushed + rt->rt_drain_abandoned)
		abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* One line per connection would drown the fuzzer's output. */
	log_init(LOG_LEVEL_ERROR);
	/* As in msgrouterd: a peer gone mid-write is EPIPE, not a death. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* Unknown ids a client's address may send to before it is closed. */
#define FUZZ_SCAN_LIMIT	8

/* One input's world: the router, its clients, and what the checks need. */
struct fuzz_run {
	struct fuzz_input	 in;
	struct event_base	*base;
	struct router		*rt;
	struct config		 cf;
	struct peer		 all[MAX_PEERS];
	struct peer		*peers[NPEER];	/* the slots the ops address */
	size_t			 nall;
	size_t			 wrote_start;	/* peers_wrote at drain start */
};

/* The router with the input's first limits and NPEER clients. */
static void
run_setup(struct fuzz_run *r)
{
	size_t	i;

	config_defaults(&r->cf);
	r->cf.cf_id_mode = ID_MODE_SEQUENTIAL;
	r->cf.cf_max_message_size = 1 + next_byte(&r->in) * 16;
	r->cf.cf_queue_limit = CONFIG_QUEUE_LIMIT_MIN;
	r->cf.cf_slow_consumer = (enum slow_consumer)(next_byte(&r->in) % 3);
	r->cf.cf_scan_limit = FUZZ_SCAN_LIMIT;
	if ((r->base = event_base_new()) == NULL ||
	    (r->rt = router_new(r->base, &r->cf)) == NULL)
		abort();
	for (i = 0; i < MAX_PEERS; i++) {
		r->all[i].pending = evbuffer_new();
		r->all[i].sent = evbuffer_new();
		r->all[i].got = evbuffer_new();
		r->all[i].fd = -1;
		r->all[i].shut = 0;
		r->all[i].wrote = 0;
	}
	for (i = 0; i < NPEER; i++) {
		r->peers[i] = &r->all[r->nall++];
		peer_open(r->rt, r->peers[i], r->nall - 1);
	}
}

/* What a client sends: raw bytes (op 0) or a whole frame (op 1). */
static void
run_send(struct fuzz_run *r, struct peer *pe, int whole)
{
	unsigned char	frame[4 + 4096 + 1];
	size_t		n, i;
	uint32_t	dst, be;

	if (!whole) {
		n = next_byte(&r->in) % 64 + 1;
		if (n > r->in.left)
			n = r->in.left;
		if (pe->fd != -1 && !pe->shut)
			evbuffer_add(pe->pending, r->in.p, n);
		r->in.p += n;
		r->in.left -= n;
		return;
	}
	/* To a client, or to nobody. */
	i = next_byte(&r->in);
	dst = i < NPEER ? r->peers[i]->id : (uint32_t)i << 16;
	n = (size_t)next_byte(&r->in) * 16;
	be = htonl(dst);
	memcpy(frame, &be, 4);
	memset(frame + 4, 'a', n);
	frame[4 + n] = 0;
	if (pe->fd != -1 && !pe->shut)
		evbuffer_add(pe->pending, frame, n + 5);
}

/* The signals (ops 10, 11): start the drain, or end it now. */
static void
run_signal(struct fuzz_run *r, int second)
{
	struct router	*rt = r->rt;

	if (second) {
		if (rt->rt_draining)
			router_drain_finish(rt, "interrupted");
		return;
	}
	if (rt->rt_draining)
		return;
	router_drain_start(rt);
	/* Writes since its count go to the clients' sockets. */
	r->wrote_start = peers_wrote(r->all, r->nall);
	/* It counted what was queued; nothing went out since. */
	if (!rt->rt_drain_done &&
	    rt->rt_drain_queued != router_queued_bytes(rt))
		abort();
}

/* The reloads (ops 9, 13): other limits, or another policy and timeout. */
static void
run_reload(struct fuzz_run *r, int policy)
{
	uint8_t	b;

	if (policy) {
		b = next_byte(&r->in);
		r->cf.cf_slow_consumer = (enum slow_consumer)(b % 3);
		/* 0: the drain's timer fires on the next loop turn. */
		r->cf.cf_shutdown_timeout_ms = (b & 0x80) ? 0 :
		    CONFIG_DEFAULT_SHUTDOWN_MS;
	} else {
		r->cf.cf_max_message_size = 1 + next_byte(&r->in) * 16;
		r->cf.cf_queue_limit = CONFIG_QUEUE_LIMIT_MIN +
		    (uint64_t)next_byte(&r->in) * 64;
	}
	router_configure(r->rt, &r->cf);
}

/* The client shuts down its sending side (op 12). */
static void
run_half_close(struct peer *pe)
{
	if (pe->fd == -1 || pe->shut)
		return;
	peer_push(pe);
	if (shutdown(pe->fd, SHUT_WR) != 0)
		abort();
	pe->shut = 1;
	evbuffer_drain(pe->pending, evbuffer_get_length(pe->pending));
}

/* Carry out one op: the low 4 bits say what, the high 4 which client. */
static void
run_op(struct fuzz_run *r, uint8_t op)
{
	size_t		 slot = (op >> 4) % NPEER;
	struct peer	*pe = r->peers[slot];

	switch (op & 0x0f) {
	case 0:
	case 1:
		run_send(r, pe, op & 0x0f);
		break;
	case 2:
	case 3:
	case 4:
		run_loop(r->base, r->peers);
		break;
	case 5:		/* the client reads a little */
		peer_read(pe, (size_t)next_byte(&r->in) * 32 + 1);
		break;
	case 6:		/* the client reads all it has */
		peer_read(pe, SIZE_MAX);
		break;
	case 7:		/* the client goes away */
		peer_close(pe);
		run_loop(r->base, r->peers);
		break;
	case 8:		/* a new client takes its place */
		/* Not while draining: the daemon no longer accepts. */
		if (pe->fd == -1 && r->nall < MAX_PEERS &&
		    !r->rt->rt_draining) {
			pe = r->peers[slot] = &r->all[r->nall++];
			peer_open(r->rt, pe, r->nall - 1);
		}
		break;
	case 9:
	case 13:
		run_reload(r, (op & 0x0f) == 13);
		break;
	case 10:
	case 11:
		run_signal(r, (op & 0x0f) == 11);
		break;
	case 12:
		run_half_close(pe);
		break;
	default:
		run_loop(r->base, r->peers);
		peer_read(pe, SIZE_MAX);
		break;
	}
}

/*
 * Let everything settle while every client reads, longer while a drain
 * runs or a half-closed client is still open: both must end.
 */
static void
run_settle(struct fuzz_run *r)
{
	struct router	*rt = r->rt;
	size_t		 i, n;
	int		 busy;

	for (i = 0; i < SETTLE_MAX; i++) {
		busy = rt->rt_draining && !rt->rt_drain_done;
		for (n = 0; n < NPEER; n++) {
			if (r->peers[n]->shut && r->peers[n]->fd != -1)
				busy = 1;
		}
		if (i >= SETTLE_MIN && !busy)
			break;
		run_loop(r->base, r->peers);
		for (n = 0; n < NPEER; n++)
			peer_read(r->peers[n], SIZE_MAX);
		check_draining(rt);
	}
	/* A drain ends once every queue is written. */
	if (rt->rt_draining && !rt->rt_drain_done)
		abort();
	check_drained(rt, r->all, r->nall, r->wrote_start);
	/*
	 * Without a drain (which stops reading, so an EOF goes unseen), a
	 * half-closed client is closed once its frames are routed and it
	 * has read what was queued to it.
	 */
	for (n = 0; n < NPEER; n++) {
		if (!rt->rt_draining && r->peers[n]->shut &&
		    r->peers[n]->fd != -1)
			abort();
	}
}

/*
 * Every frame received is forwarded or dropped, and every paused sender
 * is not read and is on its destination's list of waiters.
 */
static void
check_counters(struct router *rt)
{
	struct stats	*st = &rt->rt_stats;
	struct conn	*c, *w;
	uint64_t	 paused = 0;

	if (st->st_frames != st->st_forwarded + st->st_dropped_unknown +
	    st->st_dropped_queue_full + st->st_dropped_sender_gone)
		abort();
	TAILQ_FOREACH(c, &rt->rt_conns, cn_entry) {
		if (c->cn_blocked_on == NULL)
			continue;
		paused++;
		if (conn_state(c) != CONN_PAUSED && conn_state(c) != CONN_DONE)
			abort();
		TAILQ_FOREACH(w, &c->cn_blocked_on->cn_waiters,
		    cn_wait_entry) {
			if (w == c)
				break;
		}
		if (w == NULL)
			abort();
	}
	if (paused != st->st_paused)
		abort();
}

/* Free the router and the clients' ends. */
static void
run_teardown(struct fuzz_run *r)
{
	size_t	i;

	router_free(r->rt);
	event_base_free(r->base);
	for (i = 0; i < MAX_PEERS; i++) {
		peer_close(&r->all[i]);
		evbuffer_free(r->all[i].pending);
		evbuffer_free(r->all[i].sent);
		evbuffer_free(r->all[i].got);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sent_frame frames[MAX_SENT];
	static struct fuzz_run	 r;
	size_t			 nf = 0, i;

	memset(&r, 0, sizeof r);
	r.in.p = data;
	r.in.left = size;
	run_setup(&r);
	while (r.in.left > 0) {
		run_op(&r, next_byte(&r.in));
		check_draining(r.rt);
		check_drained(r.rt, r.all, r.nall, r.wrote_start);
	}
	run_settle(&r);
	check_counters(r.rt);
	for (i = 0; i < r.nall; i++)
		nf = collect_frames(&r.all[i], frames, nf);
	for (i = 0; i < r.nall; i++)
		check_deliveries(&r.all[i], frames, nf);
	run_teardown(&r);
	return 0;
}
