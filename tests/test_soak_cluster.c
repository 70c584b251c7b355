/*
 * The cluster chaos soak (docs/ROBUSTNESS.md, docs/CLUSTER.md): a real
 * 3-server nats-server cluster and three msgrouterd nodes
 * (tests/natscluster.h), NWB well-behaved clients spread over the three
 * nodes (client i on node i % 3; each sends to every client, so two pairs
 * in three cross nodes and one in three is local), exchanging the soak's
 * verified messages (tests/soakmsg.h: sender, destination, per-pair
 * sequence, derived body, checksum) with a window of WINDOW messages per
 * sender.  A child process runs misbehaving clients on every node: some
 * never read, some send garbage, some send frames to random ids of the
 * other nodes (unknown there), to random 32-bit ids and to the never
 * readers (so that their senders are held across nodes).
 *
 * The chaos phase repeats, one at a time, with a gap between them:
 *   - SIGKILL of a node, started again after a short time (under
 *     peer_timeout: its peers never see it down, only a new epoch) or a
 *     long one (they count it down first); its clients reconnect and get
 *     new ids, which their peers learn from the test, out of band;
 *   - SIGTERM of a NATS server, started again on its ports (short or
 *     longer than peer_timeout);
 *   - SIGSTOP of a NATS server, SIGCONT after a while;
 *   - SIGKILL of a node while another node's NATS server is stalled, the
 *     node started again at once and the server continued once the new
 *     process has subscribed: what the stalled node published to the
 *     dead one reaches the new process, which must not count it as its
 *     link's (docs/CLUSTER.md, "seq"); the event touches the pairs of
 *     both.  A killed node has recovered once it has joined (it listens
 *     first) and both others logged its new epoch.
 * An event "recovers" once every node is connected to NATS and sees the
 * two others up, and every well-behaved client is connected.
 *
 * What is checked, and so proven for this run:
 *   - every well-behaved message that arrives is whole and addressed to
 *     its receiver (corruption fails at once), never a repeat and never
 *     out of order within its pair (its sequence is never below the next
 *     expected);
 *   - a gap in a pair's sequence is a loss, and it is allowed only if the
 *     pair was touched by an event (a killed node holds one of its ends;
 *     a NATS server stopped serves one of its ends, across nodes) and the
 *     lost message was sent within [start - PRE_MS, recovered + POST_MS]
 *     of that event; anything else fails.  Loss at the tail of a pair is
 *     found by probes: a sender with no progress for STALL_MS sends one
 *     more message on a pair with messages outstanding, whose arrival
 *     shows what before it is lost;
 *   - for the NATS events (where no node dies, so every counter
 *     survives): for each direction A -> B, the well-behaved messages
 *     lost are at most the frames counted dropped_peer_down at A plus
 *     dropped_in_transit at B from A over the event (from just before it
 *     to just before the next one, once the counts settled).  The faulty
 *     clients' frames are counted there too, so this is an inequality:
 *     it proves that no loss went uncounted in total, not which counted
 *     frame was which;
 *   - for a killed node no such check is possible: what its process held
 *     (client buffers, queues, the link) dies uncounted with its counters,
 *     and frames its peers published to it before they heard of its death
 *     are dropped by NATS (no interest) and counted by no one, or refused
 *     by the new process while it listens (bad_messages_total); frames to
 *     its old ids after it joined are dropped_unknown at it.  So for a
 *     kill only the window and the pairs are checked;
 *   - at every look (once a second) every running node's /stats
 *     satisfies the per-node identity (nc_node_identity), no node and no
 *     NATS server has died unasked, and each node's RSS is recorded;
 *   - after the last event, the faulty clients leave, every outstanding
 *     pair is settled (probes), then a quiet phase in which every pair
 *     (each sender takes its destinations in turn) delivers with zero
 *     loss (any gap fails), after which all messages
 *     sent are accounted for (received or lost within an event), the
 *     per-node and per-link identities hold on all three nodes
 *     (nc_expect_identities), every node holds exactly its well-behaved
 *     clients, each node's RSS stayed under a bound from its limits, the
 *     nodes exit with status 0 on SIGTERM (LeakSanitizer clean under the
 *     sanitizers) and no daemon log, killed incarnations included, holds
 *     a sanitizer report.
 *
 * Not proven: that a counted drop is a particular lost message; anything
 * about frames lost inside a killed node; what the faulty clients'
 * frames became (only that they broke nothing).
 *
 * Duration: SOAK_CLUSTER_SECONDS=N (or the first argument) sets the
 * chaos phase; SOAK_CLUSTER=1 alone makes it 300 s; neither, a short run
 * (CHAOS_SHORT s) for make check.  SOAK_CLUSTER_SEED=N replays the
 * clients' choices (the timing differs).  Skipped without a nats-server
 * ($NATS_SERVER).
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
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "msgrouter/idmap.h"
#include "harness.h"
#include "natscluster.h"
#include "soakmsg.h"

#define SECRET		"soak-cluster-secret-0123456789"
#define NWB		60	/* well-behaved clients, i on node i % 3 */
#define WINDOW		8	/* messages in flight per sender */
#define RING		64	/* send times kept per pair */
#define BODY_MAX	6000
#define STALL_MS	1000	/* no progress: probe */
#define PRE_MS		3000	/* a loss may be of a message sent so long */
#define POST_MS		1000	/* before an event, or after its recovery */
#define GAP_MS		(PRE_MS + POST_MS)	/* between events, at least */
#define CHAOS_SHORT	24	/* s of chaos in make check */
#define CHAOS_LONG	300	/* with SOAK_CLUSTER=1 */
#define QUIET_MS	3000
#define MAX_EVENTS	512
#define MAX_IDS		(MAX_EVENTS + 1)
#define MAX_RUNS	(NC_NODES + MAX_EVENTS)

/* The nodes' limits: small, so that the worst case is small too. */
#define MAX_CLIENTS	200
#define QUEUE_LIMIT	(64 * 1024)
#define MAX_MESSAGE	(16 * 1024)
#define LINK_LIMIT	(1024 * 1024)
#define WORST_KB	((long)MAX_CLIENTS * (QUEUE_LIMIT + MAX_MESSAGE) / \
			    1024 + (NC_NODES - 1) * LINK_LIMIT / 1024)
#define XSTR(x)		#x
#define STR(x)		XSTR(x)

/* A well-behaved client: what it writes, what it has read, its ids. */
struct wb {
	int		fd;		/* -1 while its node is down */
	int		node;		/* index of its node */
	int		gen;		/* the node's incarnation it is on */
	uint32_t	id;
	uint32_t	ids[MAX_IDS];	/* every id it held, for reuse */
	int		nids;
	char		out[SOAKMSG_FRAME_MAX];
	size_t		out_len, out_off;
	char		in[65536];
	size_t		in_len;
	int		inflight;	/* sent, neither received nor lost */
	long long	progress;	/* one of its messages last arrived */
	long long	probe;		/* its last probe */
	int		next_to;	/* quiet: destinations in turn */
};

enum ev_kind { EV_KILL, EV_NATS_TERM, EV_NATS_STOP, EV_KILL_STALLED,
	EV_NKINDS };
static const char *const ev_names[EV_NKINDS] = { "node SIGKILL",
    "NATS SIGTERM", "NATS SIGSTOP", "node SIGKILL, another's NATS stalled" };

/* Counters of the running nodes, for the NATS events' accounting. */
struct snap {
	int		valid[NC_NODES];
	long long	peer_down[NC_NODES];
	long long	transit[NC_NODES][NC_NODES];	/* [from][at] */
};

struct event_rec {
	enum ev_kind	kind;
	int		target;		/* node index, or NATS server index */
	int		other;		/* EV_KILL_STALLED: the NATS stalled */
	int		slow;		/* down longer than peer_timeout */
	long long	start, end;	/* end: recovered; 0 while it is not */
	int		heard[NC_NODES];	/* "node T restarted" lines */
	long long	down_ms;
	struct snap	before, after;
	uint64_t	lost[NC_NODES][NC_NODES];	/* [from][to] nodes */
	uint64_t	lost_total;
};

/* What the faulty clients' process shares with the test. */
struct fshared {
	volatile int		port[NC_NODES];
	volatile uint64_t	connects, frames, garbage;
};

static struct ncluster	 cl;
static struct idmap	 im;
static struct wb	 wbs[NWB];
static uint32_t		 sent[NWB][NWB];	/* next seq to send */
static uint32_t		 got[NWB][NWB];		/* next seq expected */
static uint32_t		 sent_at[NWB][NWB][RING];	/* ms from t0 */
static uint32_t		 quiet_base[NWB][NWB];	/* sent[] when quiet began */
static long long	 t0;
static int		 node_gen[NC_NODES];
static struct event_rec	 evs[MAX_EVENTS];
static int		 nevs;
static int		 quiet;		/* from here any loss fails */
static int		 chaos_seconds = CHAOS_SHORT;
static uint32_t		 soak_seed;
static struct fshared	*fsh;
static pid_t		 faulty_pid;
/* Every incarnation of every node, for the logs' sanitizer check. */
static struct daemon	 runs[MAX_RUNS];
static int		 nruns;
static const int	 all_live[NC_NODES] = { 1, 1, 1 };

/* Figures for the report. */
static uint64_t		 delivered, lost_total, probes, foreign, reused;
static long long	 max_pre, max_post;
static long		 rss_start[NC_NODES], rss_peak[NC_NODES],
			 rss_end[NC_NODES], rss_first[NC_NODES];

#define rng(s)		soakmsg_rng(s)

static long long
soak_ms(void)
{
	return tc_now_ms() - t0;
}

/* Whether an event touches the pair from -> to (client indices). */
static int
ev_touches(const struct event_rec *e, int from, int to)
{
	int	a = wbs[from].node, b = wbs[to].node;

	if (e->kind == EV_KILL)
		return a == e->target || b == e->target;
	if (e->kind == EV_KILL_STALLED && (a == e->target || b == e->target))
		return 1;
	if (e->kind == EV_KILL_STALLED)
		return a != b && (a == e->other || b == e->other);
	return a != b && (a == e->target || b == e->target);
}

/*
 * The event that explains the loss of a message of from -> to sent at t
 * (soak_ms), or NULL.  One after its start first, then one just before.
 */
static struct event_rec *
ev_explaining(int from, int to, long long t)
{
	struct event_rec	*e;
	int			 k;

	if (quiet)
		return NULL;
	for (k = nevs - 1; k >= 0; k--) {
		e = &evs[k];
		if (ev_touches(e, from, to) && t >= e->start &&
		    (e->end == 0 || t <= e->end + POST_MS))
			return e;
	}
	for (k = 0; k < nevs; k++) {
		e = &evs[k];
		if (ev_touches(e, from, to) && t < e->start &&
		    t >= e->start - PRE_MS)
			return e;
	}
	return NULL;
}

/* Messages first .. last - 1 of from -> to are lost: explained, or -1. */
static int
loss_explain(int from, int to, uint32_t first, uint32_t last)
{
	struct event_rec	*e;
	uint32_t		 k;
	long long		 t;

	for (k = first; k != last; k++) {
		t = sent_at[from][to][k % RING];
		if ((e = ev_explaining(from, to, t)) == NULL) {
			fprintf(stderr, "soak: client %d (node %d) -> %d (node "
			    "%d): message %u sent at %lld ms lost, no event "
			    "explains it (%d events, quiet %d)\n", from,
			    wbs[from].node + 1, to, wbs[to].node + 1, k, t,
			    nevs, quiet);
			return -1;
		}
		e->lost[wbs[from].node][wbs[to].node]++;
		e->lost_total++;
		lost_total++;
		if (t < e->start && e->start - t > max_pre)
			max_pre = e->start - t;
		if (e->end != 0 && t > e->end && t - e->end > max_post)
			max_post = t - e->end;
	}
	return 0;
}

/* Whether id was once held by client `to` (a reused id, new epoch). */
static int
id_was(int to, uint32_t id)
{
	int	k;

	for (k = 0; k < wbs[to].nids - 1; k++)
		if (wbs[to].ids[k] == id)
			return 1;
	return 0;
}

/* Check one message client `to` read; 0 if whole, in order, expected. */
static int
wb_verify(int to, const char *m, size_t mlen)
{
	struct soakmsg	sm;
	uint32_t	e;

	switch (soakmsg_check(m, mlen, NWB, &sm)) {
	case SOAKMSG_FOREIGN:
		foreign++;
		return 0;
	case SOAKMSG_OK:
		break;
	case SOAKMSG_MALFORMED:
		fprintf(stderr, "soak: client %d: malformed message (%zu "
		    "bytes)\n", to, mlen);
		return -1;
	case SOAKMSG_CORRUPT:
		fprintf(stderr, "soak: client %d: corrupt message %u from %u\n",
		    to, sm.seq, sm.from);
		return -1;
	}
	if (sm.to != (unsigned)to) {
		/*
		 * A new epoch may give one of its clients an id that a client
		 * of the earlier one had: a message to the old id reaches it.
		 */
		if (wbs[sm.to].node == wbs[to].node &&
		    id_was((int)sm.to, wbs[to].id)) {
			reused++;
			return 0;
		}
		fprintf(stderr, "soak: client %d: message %u from %u for "
		    "client %u\n", to, sm.seq, sm.from, sm.to);
		return -1;
	}
	e = got[sm.from][to];
	if (sm.seq < e) {
		fprintf(stderr, "soak: client %d: from %u message %u again or "
		    "out of order (next expected %u)\n", to, sm.from, sm.seq,
		    e);
		return -1;
	}
	if (sm.seq != e && loss_explain((int)sm.from, to, e, sm.seq) != 0)
		return -1;
	got[sm.from][to] = sm.seq + 1;
	wbs[sm.from].inflight -= (int)(sm.seq + 1 - e);
	wbs[sm.from].progress = tc_now_ms();
	delivered++;
	return 0;
}

/* Connect client i to its node (running): a new id. */
static void
wb_connect(int i)
{
	struct wb	*w = &wbs[i];

	assert_true((w->fd = tc_connect(&cl.nodes[w->node], &w->id)) >= 0);
	assert_int_equal(fcntl(w->fd, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(idmap_decode(&im, w->id, NULL), w->node + 1);
	assert_true(w->nids < MAX_IDS);
	w->ids[w->nids++] = w->id;
	w->gen = node_gen[w->node];
	w->in_len = 0;
	w->out_len = w->out_off = 0;
	w->progress = tc_now_ms();
}

/* Client i's connection ended: only its node's death may end it. */
static void
wb_lost(int i)
{
	struct wb	*w = &wbs[i];

	if (w->gen == node_gen[w->node]) {
		fprintf(stderr, "soak: client %d lost its connection to node "
		    "%d, which was not killed\n", i, w->node + 1);
		fail();
	}
	close(w->fd);
	w->fd = -1;
	w->in_len = 0;
	w->out_len = w->out_off = 0;	/* a message cut: lost */
}

/* Read what client i has and verify each complete message. */
static void
wb_read(int i)
{
	struct wb	*w = &wbs[i];
	char		*nul;
	size_t		 used = 0, mlen;
	ssize_t		 n;

	n = read(w->fd, w->in + w->in_len, sizeof w->in - w->in_len);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		wb_lost(i);
		return;
	}
	if (n < 0)
		return;
	w->in_len += (size_t)n;
	while ((nul = memchr(w->in + used, '\0', w->in_len - used)) != NULL) {
		mlen = (size_t)(nul - (w->in + used));
		assert_int_equal(wb_verify(i, w->in + used, mlen), 0);
		used += mlen + 1;
	}
	memmove(w->in, w->in + used, w->in_len - used);
	w->in_len -= used;
	assert_true(w->in_len < sizeof w->in);
}

enum gen_mode { GEN_NONE, GEN_PROBES, GEN_ALL };

/*
 * The next message of client i: to a random client while the window
 * allows, or a probe on a pair with messages outstanding after STALL_MS
 * without progress.  0 if none now.
 */
static int
wb_next(int i, uint32_t *seed, enum gen_mode mode)
{
	struct wb	*w = &wbs[i];
	long long	 now = tc_now_ms();
	size_t		 len;
	int		 to = -1, k, c;

	if (mode == GEN_ALL && w->inflight < WINDOW) {
		/* Quiet, every pair in turn: each must deliver. */
		c = quiet ? w->next_to++ % NWB : (int)(rng(seed) % NWB);
		if (sent[i][c] - got[i][c] < RING - 1)
			to = c;
	} else if (mode != GEN_NONE && w->inflight > 0 &&
	    now - w->progress > STALL_MS && now - w->probe > STALL_MS) {
		c = (int)(rng(seed) % NWB);
		for (k = 0; k < NWB && to == -1; k++)
			if (sent[i][(c + k) % NWB] != got[i][(c + k) % NWB] &&
			    sent[i][(c + k) % NWB] - got[i][(c + k) % NWB] <
			    RING - 1)
				to = (c + k) % NWB;
		w->probe = now;
		probes += to != -1;
	}
	if (to == -1)
		return 0;
	len = rng(seed) % 16 == 0 ? rng(seed) % BODY_MAX : rng(seed) % 1000;
	w->out_len = soakmsg_build(w->out, wbs[to].id, (unsigned)i,
	    (unsigned)to, sent[i][to], len);
	w->out_off = 0;
	sent_at[i][to][sent[i][to] % RING] = (uint32_t)soak_ms();
	sent[i][to]++;
	w->inflight++;
	return 1;
}

/* Write what fits of client i's message, making one if there is none. */
static void
wb_write(int i, uint32_t *seed, enum gen_mode mode)
{
	struct wb	*w = &wbs[i];
	ssize_t		 n;

	if (w->out_off == w->out_len && !wb_next(i, seed, mode))
		return;
	n = write(w->fd, w->out + w->out_off, w->out_len - w->out_off);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			wb_lost(i);
		return;
	}
	w->out_off += (size_t)n;
}

/* One round of the well-behaved clients: poll, read, write. */
static void
wb_round(uint32_t *seed, enum gen_mode mode)
{
	struct pollfd	pfd[NWB];
	int		i;

	long long	now = tc_now_ms();
	struct wb	*w;

	for (i = 0; i < NWB; i++) {
		w = &wbs[i];
		pfd[i].fd = w->fd;	/* -1: ignored */
		pfd[i].events = POLLIN;
		if (w->out_off < w->out_len ||
		    (mode == GEN_ALL && w->inflight < WINDOW) ||
		    (mode != GEN_NONE && w->inflight > 0 &&
		    now - w->progress > STALL_MS && now - w->probe > STALL_MS))
			pfd[i].events |= POLLOUT;
		pfd[i].revents = 0;
	}
	if (poll(pfd, NWB, 20) < 0)
		assert_int_equal(errno, EINTR);
	for (i = 0; i < NWB; i++) {
		if (wbs[i].fd != -1 &&
		    (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
			wb_read(i);
		if (wbs[i].fd != -1 && (pfd[i].revents & POLLOUT))
			wb_write(i, seed, mode);
	}
}

static void
wb_run_for(uint32_t *seed, int ms)
{
	long long	end = tc_now_ms() + ms;

	while (tc_now_ms() < end)
		wb_round(seed, GEN_ALL);
}

/* Messages sent and neither received nor known lost. */
static long long
wb_outstanding(void)
{
	long long	n = 0;
	int		i, j;

	for (i = 0; i < NWB; i++)
		for (j = 0; j < NWB; j++)
			n += sent[i][j] - got[i][j];
	return n;
}

/* ---- the misbehaving clients, in a child process ---- */

enum fkind { FK_NOREAD, FK_GARBAGE, FK_RANDOM, FK_NKINDS };
/* Per node. */
static const int fk_count[FK_NKINDS] = { 2, 2, 2 };
#define NFAULTY		(NC_NODES * (2 + 2 + 2))

struct factor {
	enum fkind	kind;
	int		node;
	int		slot;		/* FK_NOREAD: its noread_ids[] */
	int		port;		/* its node's when it connected */
	int		fd;
	int		idlen;
	unsigned char	idb[4];
	char		pend[8192];
	size_t		plen, poff;
	long long	since, next;
};

static volatile sig_atomic_t	faulty_stop;
/* The never-readers' ids now (0: not connected). */
static uint32_t			noread_ids[NC_NODES * 2];
static int			nnoread;

static void
faulty_sigterm(int sig)
{
	faulty_stop = 1;
}

/* A non-blocking connection to a node; small window for a never-reader. */
static int
faulty_connect(int port, int small)
{
	struct sockaddr_in	sin;
	int			fd, sz = 4096;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	if (small)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
factor_close(struct factor *a, long long now)
{
	if (a->kind == FK_NOREAD)
		noread_ids[a->slot] = 0;
	if (a->fd != -1)
		tc_close_reset(a->fd);
	a->fd = -1;
	a->idlen = 0;
	a->plen = a->poff = 0;
	a->next = now + 100;
}

/*
 * A target for FK_RANDOM: an unknown id of another node, any id, or (one
 * in two) a never-reader, mostly on another node, whose queue fills so
 * that its senders are held across nodes.
 */
static uint32_t
faulty_target(struct factor *a, uint32_t *seed)
{
	uint32_t	id;
	unsigned	node;

	switch (rng(seed) % 4) {
	case 0:
		node = (unsigned)(a->node + 1 + rng(seed) % (NC_NODES - 1)) %
		    NC_NODES + 1;
		if ((id = idmap_encode(&im, node, rng(seed) & 0xffffff)) != 0)
			return id;
		/* FALLTHROUGH */
	case 1:
		return rng(seed);
	default:
		id = noread_ids[rng(seed) % (uint32_t)nnoread];
		return id != 0 ? id : rng(seed);
	}
}

/* Queue a frame of len payload bytes, never 'W' first, to dst. */
static void
faulty_frame(struct factor *a, uint32_t dst, size_t len, uint32_t *seed)
{
	if (soakmsg_junk(a->pend, sizeof a->pend, &a->plen, dst, len, seed))
		fsh->frames++;
}

/* Write what the socket takes; -1 if the connection is gone. */
static int
factor_push(struct factor *a)
{
	ssize_t	n;

	if (a->poff == a->plen)
		return 0;
	n = send(a->fd, a->pend + a->poff, a->plen - a->poff,
	    MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ||
		    errno == ENOTCONN ? 0 : -1;
	a->poff += (size_t)n;
	if (a->poff == a->plen)
		a->poff = a->plen = 0;
	return 0;
}

/* Read and throw away; -1 at the end of the connection. */
static int
factor_discard(struct factor *a)
{
	char	buf[4096];
	ssize_t	n;

	while ((n = recv(a->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
		;
	if (n == 0 || (errno != EAGAIN && errno != EINTR &&
	    errno != ENOTCONN))
		return -1;
	return 0;
}

static void
factor_step(struct factor *a, long long now, uint32_t *seed)
{
	struct pollfd	pfd;
	char		buf[4096];
	size_t		i, n;
	ssize_t		r;

	if (a->fd == -1) {
		if (now < a->next)
			return;
		if ((a->fd = faulty_connect(fsh->port[a->node],
		    a->kind == FK_NOREAD)) == -1) {
			a->next = now + 100;
			return;
		}
		fsh->connects++;
		a->port = fsh->port[a->node];
		a->since = now;
		return;
	}
	switch (a->kind) {
	case FK_NOREAD:
		/*
		 * Its id, then never a byte read; gone when its node is.  The
		 * killed node's FIN waits behind the bytes it could not send
		 * (a zero window): a new port says it restarted.
		 */
		if (a->port != fsh->port[a->node]) {
			factor_close(a, now);
			break;
		}
		if (a->idlen < 4 && (r = recv(a->fd, a->idb + a->idlen,
		    (size_t)(4 - a->idlen), MSG_DONTWAIT)) > 0) {
			a->idlen += (int)r;
			if (a->idlen == 4) {
				uint32_t	id;

				memcpy(&id, a->idb, 4);
				noread_ids[a->slot] = ntohl(id);
			}
		}
		pfd.fd = a->fd;
		pfd.events = POLLRDHUP;
		if (poll(&pfd, 1, 0) == 1 &&
		    (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
			factor_close(a, now);
		else if (a->idlen < 4 && now - a->since > 5000)
			factor_close(a, now);
		break;
	case FK_GARBAGE:
		/* Random bytes (never 'W') for half a second, then again. */
		n = rng(seed) % sizeof buf + 1;
		for (i = 0; i < n; i++)
			if ((buf[i] = (char)rng(seed)) == 'W')
				buf[i] = 0;
		if (send(a->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT) > 0)
			fsh->garbage += n;
		else if (errno != EAGAIN && errno != ENOTCONN) {
			factor_close(a, now);
			break;
		}
		if (factor_discard(a) != 0 || now - a->since > 500)
			factor_close(a, now);
		else
			a->next = now + 20;
		break;
	case FK_RANDOM:
		if (a->plen == 0) {
			a->since = now;
			for (i = 0; i < 4; i++)
				faulty_frame(a, faulty_target(a, seed),
				    rng(seed) % 2000 + 1, seed);
		}
		/* Held for long behind a stalled reader: give up, return. */
		if (factor_push(a) != 0 || factor_discard(a) != 0 ||
		    (a->plen > 0 && now - a->since > 3000))
			factor_close(a, now);
		else
			a->next = now + 10;
		break;
	default:
		break;
	}
}

/* The faulty clients' process: runs until SIGTERM. */
static void __attribute__((noreturn))
faulty_run(void)
{
	static struct factor	actors[NFAULTY];
	struct timespec		ts = { 0, 2 * 1000 * 1000 };
	uint32_t		seed = 0x9e3779b9;
	long long		now;
	int			n = 0, node, k, i;

	signal(SIGTERM, faulty_sigterm);
	for (i = 0; i < NWB; i++)
		if (wbs[i].fd != -1)
			close(wbs[i].fd);
	for (node = 0; node < NC_NODES; node++)
		for (k = 0; k < FK_NKINDS; k++)
			for (i = 0; i < fk_count[k]; i++) {
				actors[n].kind = (enum fkind)k;
				actors[n].node = node;
				actors[n].fd = -1;
				if (k == FK_NOREAD)
					actors[n].slot = nnoread++;
				n++;
			}
	while (!faulty_stop) {
		now = tc_now_ms();
		for (i = 0; i < n; i++)
			if (now >= actors[i].next)
				factor_step(&actors[i], now, &seed);
		nanosleep(&ts, NULL);
	}
	for (i = 0; i < n; i++)
		factor_close(&actors[i], 0);
	_exit(0);
}

/* ---- the cluster and its events ---- */

/* Node i started (again): its run is remembered, the faulty told. */
static void
node_started(int i)
{
	assert_true(nruns < MAX_RUNS);
	runs[nruns++] = cl.nodes[i];
	if (fsh != NULL)
		fsh->port[i] = cl.nodes[i].port;
}

/* No node nor NATS server has exited unasked. */
static void
check_alive(void)
{
	int	i, status;

	for (i = 0; i < NC_NODES; i++) {
		if (cl.nodes[i].pid > 0 &&
		    waitpid(cl.nodes[i].pid, &status, WNOHANG) != 0) {
			daemon_dump_log(&cl.nodes[i]);
			fail_msg("node %d died (status %d)", i + 1, status);
		}
		if (cl.servers[i].pid > 0 &&
		    waitpid(cl.servers[i].pid, &status, WNOHANG) != 0)
			fail_msg("NATS server %d died (status %d)", i, status);
	}
}

/* Counters of the running nodes. */
static void
snap_take(struct snap *sn)
{
	json_t	*s, *p;
	int	 i, j;

	memset(sn, 0, sizeof *sn);
	for (i = 0; i < NC_NODES; i++) {
		if (cl.nodes[i].pid <= 0)
			continue;
		s = nc_stats(&cl, i);
		sn->valid[i] = 1;
		sn->peer_down[i] = nc_jint(s,
		    "cluster.dropped_peer_down_total");
		for (j = 0; j < NC_NODES; j++)
			if (j != i && (p = nc_peer(s, j + 1)) != NULL)
				sn->transit[j][i] = nc_jint(p,
				    "dropped_in_transit_total");
		json_decref(s);
	}
}

/*
 * A look at the running nodes: each /stats satisfies the per-node
 * identity; RSS peaks.
 */
static void
look(void)
{
	long long	lhs, rhs;
	json_t		*s;
	long		rss;
	int		i;

	check_alive();
	for (i = 0; i < NC_NODES; i++) {
		if (cl.nodes[i].pid <= 0)
			continue;
		s = nc_stats(&cl, i);
		if (!nc_node_identity(s, &lhs, &rhs))
			fail_msg("node %d: received + frames_in %lld != %lld",
			    i + 1, lhs, rhs);
		json_decref(s);
		if ((rss = daemon_rss_kb(&cl.nodes[i])) > rss_peak[i])
			rss_peak[i] = rss;
	}
}

/* Each node's count of its log lines of node t's restarts. */
static void
restart_counts(int t, int *heard)
{
	char	line[64];
	int	j;

	snprintf(line, sizeof line, "cluster: node %d restarted", t + 1);
	for (j = 0; j < NC_NODES; j++)
		heard[j] = j != t ? daemon_log_count(&cl.nodes[j], line) : 0;
}

/*
 * A killed node back: it has joined (it listens first, refusing what
 * comes for its number) and the others have heard its new epoch.
 */
static int
rejoined(const struct event_rec *e)
{
	int	now[NC_NODES], j;

	if (e == NULL || (e->kind != EV_KILL && e->kind != EV_KILL_STALLED))
		return 1;
	if (daemon_log_count(&cl.nodes[e->target],
	    "joins (its number is free)") == 0)
		return 0;
	restart_counts(e->target, now);
	for (j = 0; j < NC_NODES; j++)
		if (j != e->target && now[j] <= e->heard[j])
			return 0;
	return 1;
}

/*
 * Every node connected to NATS and seeing the two others up, a killed
 * one rejoined.
 */
static int
recovered(const struct event_rec *e)
{
	json_t	*s;
	int	 i, j, ok = 1;

	for (i = 0; i < NC_NODES && ok; i++) {
		if (cl.nodes[i].pid <= 0)
			return 0;
		s = nc_stats(&cl, i);
		ok = json_is_true(json_object_get(json_object_get(s,
		    "cluster"), "nats_connected"));
		for (j = 0; j < NC_NODES && ok; j++)
			if (j != i &&
			    strcmp(nc_peer_state(s, j + 1), "up") != 0)
				ok = 0;
		json_decref(s);
	}
	for (i = 0; i < NWB && ok; i++)
		ok = wbs[i].fd != -1;
	return ok && rejoined(e);
}

/* Start event k: what, where and for how long (a fixed rotation). */
static void
event_start(uint32_t *seed)
{
	struct event_rec	*e;
	int			 k = nevs, round = nevs / EV_NKINDS;

	assert_true(nevs < MAX_EVENTS);
	e = &evs[nevs];
	memset(e, 0, sizeof *e);
	e->kind = (enum ev_kind)(k % EV_NKINDS);
	e->target = (k + round) % NC_NODES;
	e->other = (e->target + 1) % NC_NODES;
	e->slow = e->kind != EV_KILL_STALLED && round % 2;
	/* peer_timeout is 1 s: short well under it, long well over it. */
	e->down_ms = e->slow ? 1500 + rng(seed) % 1000 : 100 + rng(seed) % 300;
	snap_take(&e->before);
	e->start = soak_ms();
	nevs++;
	switch (e->kind) {
	case EV_KILL_STALLED:
		kill(cl.servers[e->other].pid, SIGSTOP);
		/* FALLTHROUGH */
	case EV_KILL:
		restart_counts(e->target, e->heard);
		node_gen[e->target]++;
		(void)daemon_stop(&cl.nodes[e->target], SIGKILL,
		    HARNESS_TIMEOUT_MS);
		cl.nodes[e->target].pid = 0;
		break;
	case EV_NATS_TERM:
		nc_nats_stop(&cl, e->target);
		break;
	case EV_NATS_STOP:
		kill(cl.servers[e->target].pid, SIGSTOP);
		break;
	default:
		break;
	}
}

/*
 * EV_KILL_STALLED: the stalled NATS server resumes once the restarted
 * node has joined (it hears the third node, and has listened).  What the
 * stalled node published to the dead one meanwhile then reaches the new
 * process before that node hears of the new epoch: the messages of an
 * old link, which the new process must not count as its link's
 * (docs/CLUSTER.md, "seq").
 */
static void
event_unstall(struct event_rec *e)
{
	long long	 deadline = tc_now_ms() + HARNESS_TIMEOUT_MS;
	json_t		*s;
	int		 third = 3 - e->target - e->other, up;

	do {
		s = nc_stats(&cl, e->target);
		up = strcmp(nc_peer_state(s, third + 1), "up") == 0 &&
		    daemon_log_count(&cl.nodes[e->target],
		    "joins (its number is free)") > 0;
		json_decref(s);
	} while (!up && tc_now_ms() < deadline);
	kill(cl.servers[e->other].pid, SIGCONT);
}

/* The end of event e's down time: the node or server back. */
static void
event_restore(struct event_rec *e)
{
	int	i;

	switch (e->kind) {
	case EV_KILL_STALLED:
	case EV_KILL:
		nc_node_start(&cl, e->target);
		node_started(e->target);
		for (i = 0; i < NWB; i++)
			if (wbs[i].node == e->target) {
				if (wbs[i].fd != -1)
					wb_lost(i);
				wb_connect(i);
			}
		rss_start[e->target] = daemon_rss_kb(&cl.nodes[e->target]);
		if (e->kind == EV_KILL_STALLED)
			event_unstall(e);
		break;
	case EV_NATS_TERM:
		nc_nats_start(&cl, e->target);
		break;
	case EV_NATS_STOP:
		kill(cl.servers[e->target].pid, SIGCONT);
		break;
	default:
		break;
	}
}

/*
 * The chaos phase: the well-behaved clients run all along; events one at
 * a time, each down for its time, restored, recovered, then a gap.
 */
static void
soak_chaos(uint32_t *seed)
{
	enum { IDLE, DOWN, RECOVER }	 state = IDLE;
	struct event_rec		*e = NULL;
	long long			 end, now, next_event, next_look,
					 down_until = 0, deadline = 0;

	end = tc_now_ms() + (long long)chaos_seconds * 1000;
	next_event = tc_now_ms() + 1000;
	next_look = tc_now_ms() + 1000;
	while ((now = tc_now_ms()) < end || state != IDLE) {
		wb_round(seed, GEN_ALL);
		if (now >= next_look) {
			look();
			next_look = tc_now_ms() + 1000;
		}
		switch (state) {
		case IDLE:
			if (now < next_event || now >= end)
				break;
			if (e != NULL)
				snap_take(&e->after);
			event_start(seed);
			e = &evs[nevs - 1];
			down_until = tc_now_ms() + e->down_ms;
			state = DOWN;
			break;
		case DOWN:
			if (now < down_until)
				break;
			event_restore(e);
			deadline = tc_now_ms() + 2 * HARNESS_TIMEOUT_MS;
			state = RECOVER;
			break;
		case RECOVER:
			if (now < down_until + 100)
				break;
			down_until = now;
			if (!recovered(e)) {
				if (now > deadline)
					fail_msg("no recovery from %s of %d",
					    ev_names[e->kind], e->target + 1);
				break;
			}
			e->end = soak_ms();
			next_event = tc_now_ms() + GAP_MS + rng(seed) % 1000;
			state = IDLE;
			break;
		}
	}
	/* The last event's counters, once its losses are counted. */
	wb_run_for(seed, GAP_MS);
	if (e != NULL)
		snap_take(&e->after);
}

/*
 * After the chaos: the faulty clients leave; every pair is settled (a
 * probe shows what is lost); then a quiet phase in which nothing may be
 * lost, drained to the last message.
 */
static void
soak_quiet(uint32_t *seed, pid_t faulty)
{
	long long	deadline;
	json_t		*s;
	int		i, ok;

	kill(faulty, SIGTERM);
	harness_child_ok(faulty);
	faulty_pid = 0;
	deadline = tc_now_ms() + 4 * HARNESS_TIMEOUT_MS;
	while (wb_outstanding() > 0) {
		wb_round(seed, GEN_PROBES);
		if (tc_now_ms() > deadline)
			fail_msg("%lld messages neither received nor lost",
			    wb_outstanding());
	}
	quiet = 1;
	memcpy(quiet_base, sent, sizeof quiet_base);
	wb_run_for(seed, QUIET_MS);
	deadline = tc_now_ms() + 4 * HARNESS_TIMEOUT_MS;
	while (wb_outstanding() > 0) {
		wb_round(seed, GEN_NONE);
		if (tc_now_ms() > deadline)
			fail_msg("%lld messages not received after the quiet "
			    "phase", wb_outstanding());
	}
	look();
	nc_expect_identities(&cl, all_live);
	/* Each node holds exactly its well-behaved clients. */
	deadline = tc_now_ms() + HARNESS_TIMEOUT_MS;
	do {
		ok = 1;
		for (i = 0; i < NC_NODES; i++) {
			s = nc_stats(&cl, i);
			ok &= nc_jint(s, "clients.connected") == NWB / NC_NODES;
			json_decref(s);
		}
		if (!ok)
			wb_round(seed, GEN_NONE);
	} while (!ok && tc_now_ms() < deadline);
	assert_true(ok);
}

/*
 * The faulty clients did their harm (counted by the nodes' last
 * incarnations): frames to unknown ids, senders held behind a never
 * reader on another node.
 */
static void
soak_faults_seen(void)
{
	static const char *const names[] = {
	    "messages.dropped_unknown_destination_total",
	    "clients.paused_total", "cluster.dropped_peer_down_total",
	    "cluster.dropped_in_transit_total", "cluster.bad_messages_total",
	    "cluster.nats_reconnects_total" };
	long long	 sum[sizeof names / sizeof names[0]] = { 0 };
	json_t		*s;
	size_t		 k;
	int		 i;

	for (i = 0; i < NC_NODES; i++) {
		s = nc_stats(&cl, i);
		for (k = 0; k < sizeof names / sizeof names[0]; k++)
			sum[k] += nc_jint(s, names[k]);
		json_decref(s);
	}
	fprintf(stderr, "soak: the nodes' last runs counted");
	for (k = 0; k < sizeof names / sizeof names[0]; k++)
		fprintf(stderr, "%s %s %lld", k > 0 ? "," : "",
		    strchr(names[k], '.') + 1, sum[k]);
	fprintf(stderr, "\n");
	assert_true(sum[0] > 0);
	assert_true(sum[1] > 0);
}

/* What the events lost, and the NATS events' accounting. */
static void
soak_account(void)
{
	struct event_rec	*e;
	uint64_t		 by_kind[EV_NKINDS] = { 0 }, counted;
	int			 n_kind[EV_NKINDS] = { 0 };
	int			 k, a, b;

	for (k = 0; k < nevs; k++) {
		e = &evs[k];
		by_kind[e->kind] += e->lost_total;
		n_kind[e->kind]++;
		fprintf(stderr, "soak: event %d at %lld ms: %s of %d, %s, down "
		    "%lld ms, recovered after %lld ms: %llu lost\n", k,
		    e->start, ev_names[e->kind], e->target + 1, e->slow ?
		    "long" : "short", e->down_ms, e->end - e->start,
		    (unsigned long long)e->lost_total);
		if (e->kind == EV_KILL || e->kind == EV_KILL_STALLED)
			continue;
		for (a = 0; a < NC_NODES; a++)
			for (b = 0; b < NC_NODES; b++) {
				if (a == b)
					continue;
				assert_true(e->before.valid[a] &&
				    e->after.valid[a] && e->before.valid[b] &&
				    e->after.valid[b]);
				counted = (uint64_t)(e->after.peer_down[a] -
				    e->before.peer_down[a] +
				    e->after.transit[a][b] -
				    e->before.transit[a][b]);
				if (e->lost[a][b] == 0 && counted == 0)
					continue;
				fprintf(stderr, "soak:   node %d -> %d: %llu "
				    "lost, counted %llu (peer_down at %d, in "
				    "transit at %d)\n", a + 1, b + 1,
				    (unsigned long long)e->lost[a][b],
				    (unsigned long long)counted, a + 1, b + 1);
				assert_true(e->lost[a][b] <= counted);
			}
	}
	for (k = 0; k < EV_NKINDS; k++)
		fprintf(stderr, "soak: %d %s events, %llu messages lost\n",
		    n_kind[k], ev_names[k], (unsigned long long)by_kind[k]);
	for (k = 0; k < EV_NKINDS; k++)
		assert_true(n_kind[k] > 0);
}

/* No sanitizer report in any node's log, killed incarnations included. */
static void
soak_check_logs(void)
{
	static const char *const bad[] = { "AddressSanitizer",
	    "LeakSanitizer", "runtime error:", "ThreadSanitizer" };
	size_t	k;
	int	r;

	for (r = 0; r < nruns; r++)
		for (k = 0; k < sizeof bad / sizeof bad[0]; k++)
			if (daemon_log_count(&runs[r], bad[k]) != 0) {
				daemon_dump_log(&runs[r]);
				fail_msg("%s in %s", bad[k], runs[r].log_path);
			}
}

static void
test_soak_cluster(void **state)
{
	uint32_t	seed = soak_seed;
	char		conf[512];
	pid_t		faulty;
	long		bound;
	int		i, j;

	nc_need_nats();
	assert_int_equal(idmap_init(&im, ID_MODE_RANDOM, SECRET,
	    sizeof SECRET - 1), 0);
	/* A small ASan quarantine, so that RSS follows what a node holds. */
	setenv("ASAN_OPTIONS", "quarantine_size_mb=1:malloc_context_size=5:"
	    "allocator_release_to_os_interval_ms=500", 1);
	/*
	 * The scan defence off: the faulty clients address random ids from
	 * 127.0.0.1 on purpose, and a ban would refuse the well-behaved
	 * clients' reconnections.  Small kernel send buffers, so that a
	 * never-reader's queue fills in seconds.
	 */
	snprintf(conf, sizeof conf, "[router]\nmax_clients = "
	    STR(MAX_CLIENTS) "\nqueue_limit = 64K\nmax_message_size = 16K\n"
	    "scan_limit = 0\nsndbuf = 8K\n[cluster]\nsecret = " SECRET "\n"
	    "heartbeat = 200ms\npeer_timeout = 1s\nlink_limit = 1M\n");
	nc_setup(&cl, conf, NC_NODES);
	for (i = 0; i < NC_NODES; i++)
		node_started(i);
	nc_wait_peers(&cl, all_live, "up", 0);
	t0 = tc_now_ms();
	for (i = 0; i < NWB; i++) {
		wbs[i].node = i % NC_NODES;
		wb_connect(i);
	}
	wb_run_for(&seed, 2000);
	for (i = 0; i < NC_NODES; i++)
		rss_first[i] = rss_start[i] = rss_peak[i] =
		    daemon_rss_kb(&cl.nodes[i]);
	look();

	fsh = mmap(NULL, sizeof *fsh, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(fsh != MAP_FAILED);
	memset((void *)fsh, 0, sizeof *fsh);
	for (i = 0; i < NC_NODES; i++)
		fsh->port[i] = cl.nodes[i].port;
	if ((faulty = fork()) == 0)
		faulty_run();
	assert_true(faulty > 0);
	faulty_pid = faulty;

	soak_chaos(&seed);
	soak_quiet(&seed, faulty);
	for (i = 0; i < NC_NODES; i++)
		rss_end[i] = daemon_rss_kb(&cl.nodes[i]);

	/* Everything accounted for; every pair delivered when quiet. */
	for (i = 0; i < NWB; i++)
		for (j = 0; j < NWB; j++) {
			assert_int_equal(got[i][j], sent[i][j]);
			assert_true(sent[i][j] > quiet_base[i][j]);
		}
	fprintf(stderr, "soak: %d s of chaos, %d events; %llu verified "
	    "messages, %llu lost (all within an event's window: up to %lld "
	    "ms before its start, %lld ms after its recovery), %llu probes, "
	    "%llu from faulty clients, %llu to a reused id; the faulty "
	    "clients: %llu connections, %llu frames, %llu bytes of garbage\n",
	    chaos_seconds, nevs, (unsigned long long)delivered,
	    (unsigned long long)lost_total, max_pre, max_post,
	    (unsigned long long)probes, (unsigned long long)foreign,
	    (unsigned long long)reused, (unsigned long long)fsh->connects,
	    (unsigned long long)fsh->frames,
	    (unsigned long long)fsh->garbage);
	soak_account();
	for (i = 0; i < NC_NODES; i++)
		fprintf(stderr, "soak: node %d: RSS %ld KiB at start, %ld at "
		    "its last start, %ld peak, %ld at end; worst case %ld "
		    "KiB\n", i + 1, rss_first[i], rss_start[i], rss_peak[i],
		    rss_end[i], WORST_KB);
	/*
	 * Well under the worst case its limits allow, ASan's inflation
	 * included (its allocator keeps what it freed in per-size lists).
	 */
	bound = WORST_KB / 2;
	if (!harness_wrapped())
		for (i = 0; i < NC_NODES; i++)
			assert_true(rss_peak[i] - rss_first[i] < bound);

	soak_faults_seen();
	for (i = 0; i < NWB; i++)
		close(wbs[i].fd);
	nc_teardown(&cl);
	soak_check_logs();
	/* The killed incarnations' logs (the harness keeps them). */
	for (i = 0; i < nruns; i++)
		if (daemon_log_count(&runs[i], "final counters") == 0)
			unlink(runs[i].log_path);
	munmap((void *)fsh, sizeof *fsh);
}

/*
 * After a failure: the faulty clients and the NATS servers go too (a
 * stopped one continued first); the nodes are the harness's.
 */
static int
soak_teardown(void **state)
{
	int	i;

	if (faulty_pid > 0) {
		kill(faulty_pid, SIGKILL);
		waitpid(faulty_pid, NULL, 0);
		faulty_pid = 0;
	}
	harness_teardown(state);
	for (i = 0; i < NC_SERVERS; i++) {
		if (cl.servers[i].pid > 0)
			kill(cl.servers[i].pid, SIGCONT);
		nc_nats_stop(&cl, i);
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_soak_cluster, soak_teardown),
	};
	const char	*s = getenv("SOAK_CLUSTER_SECONDS");
	const char	*on = getenv("SOAK_CLUSTER");

	if (argc > 1)
		s = argv[1];
	if (s != NULL && atoi(s) > 0)
		chaos_seconds = atoi(s);
	else if (on != NULL && atoi(on) > 0)
		chaos_seconds = CHAOS_LONG;
	/* SOAK_CLUSTER_SEED replays the traffic's choices (not the timing). */
	if ((s = getenv("SOAK_CLUSTER_SEED")) != NULL && atol(s) > 0)
		soak_seed = (uint32_t)atol(s);
	else
		soak_seed = (uint32_t)tc_now_ms() | 1;
	fprintf(stderr, "soak: %d s of chaos, seed %u\n", chaos_seconds,
	    soak_seed);
	harness_init();
	return harness_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
