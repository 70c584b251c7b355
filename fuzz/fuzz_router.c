/*
 * fuzz_router: the daemon's whole input path without a network.  Clients
 * are socketpairs handed to router_attach, so conn.c reads them and the
 * router routes and flushes them exactly as in msgrouterd.
 * The input is a little program: write raw bytes or whole frames from a
 * client, run the loop, read or stop reading a client's deliveries, close,
 * half-close and reopen clients, reconfigure the limits and the policy,
 * start and end a drain.  Afterwards the counters must add up, every
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
peer_open(struct router *rt, struct peer *pe)
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
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sent_frame frames[MAX_SENT];
	struct fuzz_input	 in = { data, size };
	struct event_base	*base;
	struct router		*rt;
	struct config		 cf;
	struct peer		 all[MAX_PEERS], *peers[NPEER], *pe;
	struct stats		*st;
	struct conn		*c, *w;
	size_t			 nf = 0, nall = 0, n, i, wrote_start = 0;
	unsigned char		 frame[4 + 4096 + 1];
	uint32_t		 dst, be, paused = 0;
	uint8_t			 op, b;
	int			 busy;

	config_defaults(&cf);
	cf.cf_id_mode = ID_MODE_SEQUENTIAL;
	cf.cf_max_message_size = 1 + next_byte(&in) * 16;
	cf.cf_queue_limit = CONFIG_QUEUE_LIMIT_MIN;
	cf.cf_slow_consumer = (enum slow_consumer)(next_byte(&in) % 3);
	if ((base = event_base_new()) == NULL ||
	    (rt = router_new(base, &cf)) == NULL)
		abort();
	for (i = 0; i < MAX_PEERS; i++) {
		all[i].pending = evbuffer_new();
		all[i].sent = evbuffer_new();
		all[i].got = evbuffer_new();
		all[i].fd = -1;
		all[i].shut = 0;
		all[i].wrote = 0;
	}
	for (i = 0; i < NPEER; i++) {
		peers[i] = &all[nall++];
		peer_open(rt, peers[i]);
	}

	while (in.left > 0) {
		op = next_byte(&in);
		pe = peers[(op >> 4) % NPEER];
		switch (op & 0x0f) {
		case 0:		/* raw bytes, any chunking */
			n = next_byte(&in) % 64 + 1;
			if (n > in.left)
				n = in.left;
			if (pe->fd != -1 && !pe->shut)
				evbuffer_add(pe->pending, in.p, n);
			in.p += n;
			in.left -= n;
			break;
		case 1:		/* a whole frame to a client, or to nobody */
			i = next_byte(&in);
			dst = i < NPEER ? peers[i]->id : (uint32_t)i << 16;
			n = (size_t)next_byte(&in) * 16;
			be = htonl(dst);
			memcpy(frame, &be, 4);
			memset(frame + 4, 'a' + (int)(nf % 26), n);
			frame[4 + n] = 0;
			if (pe->fd != -1 && !pe->shut)
				evbuffer_add(pe->pending, frame, n + 5);
			break;
		case 2:
		case 3:
		case 4:
			run_loop(base, peers);
			break;
		case 5:		/* the client reads a little */
			peer_read(pe, (size_t)next_byte(&in) * 32 + 1);
			break;
		case 6:		/* the client reads all it has */
			peer_read(pe, SIZE_MAX);
			break;
		case 7:		/* the client goes away */
			peer_close(pe);
			run_loop(base, peers);
			break;
		case 8:		/* a new client takes its place */
			/* Not while draining: the daemon no longer accepts. */
			if (pe->fd == -1 && nall < MAX_PEERS &&
			    !rt->rt_draining) {
				pe = peers[(op >> 4) % NPEER] = &all[nall++];
				peer_open(rt, pe);
			}
			break;
		case 9:		/* a reload with other limits */
			cf.cf_max_message_size = 1 + next_byte(&in) * 16;
			cf.cf_queue_limit = CONFIG_QUEUE_LIMIT_MIN +
			    (uint64_t)next_byte(&in) * 64;
			router_configure(rt, &cf);
			break;
		case 10:	/* the first signal: drain */
			if (rt->rt_draining)
				break;
			router_drain_start(rt);
			/* Writes since its count go to the clients' sockets. */
			wrote_start = peers_wrote(all, nall);
			/* It counted what was queued; nothing went out since. */
			if (!rt->rt_drain_done &&
			    rt->rt_drain_queued != router_queued_bytes(rt))
				abort();
			break;
		case 11:	/* the second signal: end the drain now */
			if (rt->rt_draining)
				router_drain_finish(rt, "interrupted");
			break;
		case 12:	/* the client shuts down its sending side */
			if (pe->fd != -1 && !pe->shut) {
				peer_push(pe);
				if (shutdown(pe->fd, SHUT_WR) != 0)
					abort();
				pe->shut = 1;
				evbuffer_drain(pe->pending,
				    evbuffer_get_length(pe->pending));
			}
			break;
		case 13:	/* a reload with another policy and timeout */
			b = next_byte(&in);
			cf.cf_slow_consumer = (enum slow_consumer)(b % 3);
			/* 0: the drain's timer fires on the next loop turn. */
			cf.cf_shutdown_timeout_ms = (b & 0x80) ? 0 :
			    CONFIG_DEFAULT_SHUTDOWN_MS;
			router_configure(rt, &cf);
			break;
		default:
			run_loop(base, peers);
			peer_read(pe, SIZE_MAX);
			break;
		}
		check_draining(rt);
		check_drained(rt, all, nall, wrote_start);
	}
	/*
	 * Let everything settle while every client reads, longer while a
	 * drain runs or a half-closed client is still open: both must end.
	 */
	for (i = 0; i < SETTLE_MAX; i++) {
		busy = rt->rt_draining && !rt->rt_drain_done;
		for (n = 0; n < NPEER; n++) {
			if (peers[n]->shut && peers[n]->fd != -1)
				busy = 1;
		}
		if (i >= SETTLE_MIN && !busy)
			break;
		run_loop(base, peers);
		for (n = 0; n < NPEER; n++)
			peer_read(peers[n], SIZE_MAX);
		check_draining(rt);
	}
	/* A drain ends once every queue is written. */
	if (rt->rt_draining && !rt->rt_drain_done)
		abort();
	check_drained(rt, all, nall, wrote_start);
	/*
	 * Without a drain (which stops reading, so an EOF goes unseen), a
	 * half-closed client is closed once its frames are routed and it
	 * has read what was queued to it.
	 */
	for (n = 0; n < NPEER; n++) {
		if (!rt->rt_draining && peers[n]->shut && peers[n]->fd != -1)
			abort();
	}

	st = &rt->rt_stats;
	if (st->st_frames != st->st_forwarded + st->st_dropped_unknown +
	    st->st_dropped_queue_full)
		abort();
	TAILQ_FOREACH(c, &rt->rt_conns, cn_entry) {
		if (c->cn_blocked_on != NULL) {
			paused++;
			/* Not read, and on its destination's list of waiters. */
			if (conn_state(c) != CONN_PAUSED &&
			    conn_state(c) != CONN_DONE)
				abort();
			TAILQ_FOREACH(w, &c->cn_blocked_on->cn_waiters,
			    cn_wait_entry) {
				if (w == c)
					break;
			}
			if (w == NULL)
				abort();
		}
	}
	if (paused != st->st_paused)
		abort();
	for (i = 0; i < nall; i++)
		nf = collect_frames(&all[i], frames, nf);
	for (i = 0; i < nall; i++)
		check_deliveries(&all[i], frames, nf);

	router_free(rt);
	event_base_free(base);
	for (i = 0; i < MAX_PEERS; i++) {
		peer_close(&all[i]);
		evbuffer_free(all[i].pending);
		evbuffer_free(all[i].sent);
		evbuffer_free(all[i].got);
	}
	return 0;
}
