/*
 * cluster: the link between this node and the other nodes of a cluster
 * over NATS (docs/CLUSTER.md: "The connection's life", "Subjects and
 * messages", "Links and peers").
 *
 * Everything here runs on the loop's thread except the connector thread
 * (connect and subscribe, which block) and libnats's closed callback,
 * which only activate events under cl_mu.  Messages are taken off two
 * sync subscriptions by natsev's drain: <name>.node.<N> (this node's
 * BATCH and TICK messages) and <name>.hb (every node's heartbeat).
 *
 * Sending: router_decide hands a frame for another node's id to
 * cluster_append, which copies it unchanged into that peer's open batch.
 * A batch is closed at CLUSTER_BATCH_MAX or at the end of the loop pass
 * (cl_flush_ev, activated once per pass), and goes to the peer's queue of
 * messages; messages are published, taking their sequence number and the
 * link's frame count then, while the library buffers less than
 * CLUSTER_HANDOFF, and again after each write event.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/time.h>

#include <event2/event.h>
#include <event2/util.h>

#include <nats/nats.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "msgrouter/clock.h"
#include "msgrouter/cluster.h"
#include "msgrouter/clusterproto.h"
#include "msgrouter/config.h"
#include "msgrouter/framing.h"
#include "msgrouter/hash.h"
#include "msgrouter/idmap.h"
#include "msgrouter/log.h"
#include "msgrouter/natsev.h"
#include "msgrouter/router.h"

#define CLUSTER_SUBJECT_MAX	96
#define CLUSTER_BACKOFF_MIN_MS	100
#define CLUSTER_BACKOFF_MAX_MS	2000
/* The owner cache: direct-mapped, a power of two. */
#define CLUSTER_OWNER_CACHE	4096
/* NATS's default max_payload, used while not connected. */
#define CLUSTER_MAX_PAYLOAD	(1024 * 1024)
/* Ids per PAUSE or RESUME message: 64 KiB of body. */
#define CLUSTER_CONTROL_IDS	16384
/*
 * A link message's seq: the low half of the receiver's epoch as the
 * sender knows it, then the message's number on the link (docs/CLUSTER.md,
 * "Common header"); a receiver ignores what was for an earlier process.
 */
#define CLUSTER_SEQ(epoch, n)	((uint64_t)(uint32_t)(epoch) << 32 | \
				    (uint32_t)(n))
#define CLUSTER_SEQ_EPOCH(seq)	((uint32_t)((seq) >> 32))
/* libnats's reason for a failed connect (a TLS verdict can be long). */
#define CLUSTER_ERR_MAX		384

/* A complete message waiting for the hand-off to libnats. */
/* How long a node listens before it joins: two heartbeats and a little. */
#define CLUSTER_PROBE_MS(cl)	(2 * (cl)->cl_cf->cf_cluster_heartbeat_ms + 100)

struct cluster_msg {
	TAILQ_ENTRY(cluster_msg) cm_entry;
	size_t			 cm_len;	/* header and body */
	uint32_t		 cm_frames;
	unsigned char		 cm_data[];	/* header first */
};
TAILQ_HEAD(cluster_msg_list, cluster_msg);

struct cluster_peer {
	enum cluster_peer_state	 cp_state;
	uint64_t		 cp_epoch;	/* from its heartbeats */
	uint64_t		 cp_last_hb;	/* clock_now_ms() */
	int			 cp_logged_mismatch;
	int			 cp_logged_stale;
	/* Sending to it. */
	unsigned char		*cp_batch;	/* header room, then frames */
	size_t			 cp_batch_len;	/* header included; 0: none */
	uint32_t		 cp_batch_frames;
	int			 cp_flagged;	/* in the end-of-pass flush */
	struct cluster_msg_list	 cp_queue;
	size_t			 cp_queue_bytes;
	uint64_t		 cp_seq_out;	/* last seq published */
	uint64_t		 cp_frames_out;	/* frames published */
	/* Receiving from it. */
	uint64_t		 cp_seq_in;
	uint64_t		 cp_frames_in_next; /* frames_before expected */
	uint64_t		 cp_frames_in;
	uint64_t		 cp_dropped_in_transit;
};

struct cluster {
	struct router		*cl_rt;
	const struct config	*cl_cf;		/* the router's, live */
	unsigned		 cl_node;
	uint64_t		 cl_epoch;
	uint64_t		 cl_fingerprint;
	uint64_t		 cl_hb_seq;
	char			 cl_url[256];	/* for logs, no credentials */
	char			 cl_node_subject[CLUSTER_SUBJECT_MAX];
	char			 cl_hb_subject[CLUSTER_SUBJECT_MAX];
	struct event_base	*cl_base;
	struct natsev		*cl_ne;
	natsOptions		*cl_opts;
	natsConnection		*cl_nc;		/* the loop's, or NULL */
	int64_t			 cl_max_payload; /* its server's; 0: none */
	natsSubscription	*cl_sub_node;
	natsSubscription	*cl_sub_hb;
	int			 cl_was_connected; /* for one log per change */
	char			 cl_last_err[CLUSTER_ERR_MAX]; /* logged last */
	unsigned		 cl_backoff_ms;
	uint64_t		 cl_reconnects;
	uint64_t		 cl_bad_messages;
	struct event		*cl_flush_ev;	/* end of the loop pass */
	struct event		*cl_hb_ev;	/* every heartbeat */
	struct event		*cl_retry_ev;	/* connect again */
	struct event		*cl_closed_ev;	/* libnats closed it */
	struct event		*cl_handover_ev; /* the connector is done */
	struct event		*cl_exit_ev;	/* cluster_shutdown's deadline */
	int			 cl_exiting;	/* cluster_shutdown runs the loop */
	/*
	 * Joining (docs/CLUSTER.md, "Two processes with one number"): on its
	 * first connection a node listens for heartbeats with its own number
	 * until cl_probe_until, publishing nothing; a node that finds its
	 * number in use (cl_duplicate) publishes nothing again and stops.
	 */
	uint64_t		 cl_started_ms;	/* Unix time, in heartbeats */
	uint64_t		 cl_probe_until; /* clock_now_ms(); 0: joined */
	int			 cl_probed;	/* the first connection came */
	int			 cl_duplicate;
	const struct idmap	*cl_idmap;	/* the router's */
	/*
	 * Owners of ids seen lately: idmap_decode is ten SipHash rounds
	 * (about 150 ns), a hit one load and a compare.  Never stale: the
	 * map is a function of the secret, which is restart-only.  Id 0 (never
	 * a client's) marks an empty slot.
	 */
	struct {
		uint32_t	 id;
		uint8_t		 owner;
	}			 cl_owners[CLUSTER_OWNER_CACHE];
	unsigned char		 cl_flagged[IDMAP_NODES];
	size_t			 cl_nflagged;
	struct cluster_peer	 cl_peers[IDMAP_NODES];

	/* The connector thread's, under cl_mu. */
	pthread_mutex_t		 cl_mu;
	pthread_t		 cl_connector;
	int			 cl_connecting;
	natsConnection		*cl_new_nc;
	natsSubscription	*cl_new_sub_node;
	natsSubscription	*cl_new_sub_hb;
	natsStatus		 cl_new_status;
	char			 cl_new_err[CLUSTER_ERR_MAX];
};

/*
 * libnats's closed callback runs on one of its threads, possibly while
 * the cluster is being freed: it finds the cluster here, under a lock.
 */
static pthread_mutex_t	 cluster_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cluster	*cluster_current;
static pthread_once_t	 cluster_openssl_once = PTHREAD_ONCE_INIT;

static void	cluster_publish_queue(struct cluster *, unsigned);
static int	cluster_quiet(const struct cluster *);
static void	cluster_heartbeat_out(struct cluster *);
static void	cluster_flush_cb(evutil_socket_t, short, void *);
static void	cluster_connect(struct cluster *);
static void	cluster_closed_cb(evutil_socket_t, short, void *);

static const char *const cluster_state_names[] = {
	[CLUSTER_PEER_UNKNOWN] = "unknown",
	[CLUSTER_PEER_UP] = "up",
	[CLUSTER_PEER_DOWN] = "down",
	[CLUSTER_PEER_MISMATCH] = "mismatch",
};

unsigned
cluster_owner(struct cluster *cl, uint32_t id)
{
	size_t		i = hash_u64(id) & (CLUSTER_OWNER_CACHE - 1);
	unsigned	owner;

	if (cl->cl_owners[i].id == id && id != 0)
		return cl->cl_owners[i].owner;
	owner = idmap_decode(cl->cl_idmap, id, NULL);
	cl->cl_owners[i].id = id;
	cl->cl_owners[i].owner = (uint8_t)owner;
	return owner;
}

int
cluster_peer_up(const struct cluster *cl, unsigned node)
{
	return cl->cl_peers[node & (IDMAP_NODES - 1)].cp_state ==
	    CLUSTER_PEER_UP;
}

int
cluster_peer_down(const struct cluster *cl, unsigned node)
{
	return cl->cl_peers[node & (IDMAP_NODES - 1)].cp_state ==
	    CLUSTER_PEER_DOWN;
}

static size_t
cluster_link_bytes(const struct cluster *cl, const struct cluster_peer *cp)
{
	(void)cl;
	return cp->cp_batch_len + cp->cp_queue_bytes;
}

int
cluster_link_full(const struct cluster *cl, unsigned node)
{
	const struct cluster_peer	*cp = &cl->cl_peers[node &
					    (IDMAP_NODES - 1)];

	return cluster_link_bytes(cl, cp) >= cl->cl_cf->cf_cluster_link_limit;
}

/* Close node's open batch: its header written but seq, left to publish. */
static void
cluster_close_batch(struct cluster *cl, unsigned node)
{
	struct cluster_peer	*cp = &cl->cl_peers[node];
	struct cluster_msg	*m;

	if (cp->cp_batch_len == 0)
		return;
	if ((m = malloc(sizeof *m + cp->cp_batch_len)) == NULL) {
		log_warnx("cluster: node %u: out of memory, %u frames dropped",
		    node, cp->cp_batch_frames);
		router_cluster_discarded(cl->cl_rt, cp->cp_batch_frames);
	} else {
		memcpy(m->cm_data, cp->cp_batch, cp->cp_batch_len);
		m->cm_len = cp->cp_batch_len;
		m->cm_frames = cp->cp_batch_frames;
		TAILQ_INSERT_TAIL(&cp->cp_queue, m, cm_entry);
		cp->cp_queue_bytes += m->cm_len;
	}
	cp->cp_batch_len = 0;
	cp->cp_batch_frames = 0;
}

long long
cluster_append(struct cluster *cl, unsigned node, const unsigned char *frame,
    size_t len)
{
	struct cluster_peer	*cp = &cl->cl_peers[node];
	size_t			 room = CLUSTER_BATCH_MAX;
	int64_t			 max = cl->cl_max_payload;

	if (max <= 0)
		max = CLUSTER_MAX_PAYLOAD;
	if (CLUSTERPROTO_HEADER_LEN + len > (uint64_t)max)
		return max > CLUSTERPROTO_HEADER_LEN + 1 ?
		    max - CLUSTERPROTO_HEADER_LEN : 1;	/* the caller logs */
	/* A batch is one NATS message: never more than the server takes. */
	if ((uint64_t)max < room)
		room = (size_t)max;

	if (cp->cp_batch_len > 0 && cp->cp_batch_len + len > room)
		cluster_close_batch(cl, node);
	if (cp->cp_batch == NULL || (cp->cp_batch_len == 0 &&
	    CLUSTER_BATCH_MAX < CLUSTERPROTO_HEADER_LEN + len)) {
		/* A frame larger than a batch goes alone. */
		size_t		 want = CLUSTERPROTO_HEADER_LEN + len;
		unsigned char	*b;

		if (want < CLUSTER_BATCH_MAX)
			want = CLUSTER_BATCH_MAX;
		if ((b = realloc(cp->cp_batch, want)) == NULL) {
			log_warnx("cluster: node %u: out of memory, a frame "
			    "dropped", node);
			return -1;
		}
		cp->cp_batch = b;
	}
	if (cp->cp_batch_len == 0)
		cp->cp_batch_len = CLUSTERPROTO_HEADER_LEN;
	memcpy(cp->cp_batch + cp->cp_batch_len, frame, len);
	cp->cp_batch_len += len;
	cp->cp_batch_frames++;
	if (!cp->cp_flagged) {
		cp->cp_flagged = 1;
		cl->cl_flagged[cl->cl_nflagged++] = (unsigned char)node;
		if (cl->cl_nflagged == 1)
			event_active(cl->cl_flush_ev, EV_TIMEOUT, 0);
	}
	return 0;
}

/* Publish one message, with the link's next seq and frame count. */
static natsStatus
cluster_publish(struct cluster *cl, unsigned node, unsigned char *msg,
    size_t len, uint8_t type, uint32_t count)
{
	struct cluster_peer		*cp = &cl->cl_peers[node];
	struct clusterproto_header	 h;
	char				 subject[CLUSTER_SUBJECT_MAX];

	memset(&h, 0, sizeof h);
	h.ch_type = type;
	h.ch_from = (uint8_t)cl->cl_node;
	h.ch_to = (uint8_t)node;
	h.ch_epoch = cl->cl_epoch;
	h.ch_seq = CLUSTER_SEQ(cp->cp_epoch, cp->cp_seq_out + 1);
	h.ch_frames_before = cp->cp_frames_out;
	h.ch_count = count;
	h.ch_length = (uint32_t)(len - CLUSTERPROTO_HEADER_LEN);
	clusterproto_header_put(msg, &h);
	snprintf(subject, sizeof subject, "%s.node.%u",
	    cl->cl_cf->cf_cluster_name, node);
	return natsConnection_Publish(cl->cl_nc, subject, msg, (int)len);
}

static void
cluster_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/*
 * PAUSE or RESUME of n of our ids to node, published at once (not behind
 * the link's queued batches: it must reach the sender soon, and the data
 * it is about flows the other way).  Outside the link's sequence (seq 0):
 * a lost one is repaired by the FULL PAUSE sent every heartbeat.  Sets of
 * more than CLUSTER_CONTROL_IDS go in several messages, none FULL.
 * -1 if not connected or the library refused it.
 */
int
cluster_control(struct cluster *cl, unsigned node, int type,
    const uint32_t *ids, size_t n, int full)
{
	struct clusterproto_header	 h;
	unsigned char			*msg;
	char				 subject[CLUSTER_SUBJECT_MAX];
	size_t				 i, k, len;
	int				 rv = 0;

	if (cl->cl_nc == NULL || cluster_quiet(cl))
		return -1;
	if (n > CLUSTER_CONTROL_IDS)
		full = 0;
	if ((msg = malloc(CLUSTERPROTO_HEADER_LEN + 4 *
	    (n < CLUSTER_CONTROL_IDS ? n : CLUSTER_CONTROL_IDS))) == NULL)
		return -1;
	snprintf(subject, sizeof subject, "%s.node.%u",
	    cl->cl_cf->cf_cluster_name, node);
	i = 0;
	do {
		k = n - i < CLUSTER_CONTROL_IDS ? n - i : CLUSTER_CONTROL_IDS;
		memset(&h, 0, sizeof h);
		h.ch_type = (uint8_t)type;
		h.ch_from = (uint8_t)cl->cl_node;
		h.ch_to = (uint8_t)node;
		h.ch_flags = full ? CLUSTERPROTO_FLAG_FULL : 0;
		h.ch_epoch = cl->cl_epoch;
		h.ch_count = (uint32_t)k;
		h.ch_length = (uint32_t)(4 * k);
		clusterproto_header_put(msg, &h);
		for (len = 0; len < k; len++)
			cluster_put32(msg + CLUSTERPROTO_HEADER_LEN + 4 * len,
			    ids[i + len]);
		if (natsConnection_Publish(cl->cl_nc, subject, msg,
		    (int)(CLUSTERPROTO_HEADER_LEN + 4 * k)) != NATS_OK)
			rv = -1;
		i += k;
	} while (i < n);
	free(msg);
	return rv;
}

/* Nothing goes out: listening before joining, or stopping as a duplicate. */
static int
cluster_quiet(const struct cluster *cl)
{
	return cl->cl_probe_until != 0 || cl->cl_duplicate;
}

/* Hand node's queued messages to libnats while it buffers little. */
static void
cluster_publish_queue(struct cluster *cl, unsigned node)
{
	struct cluster_peer	*cp = &cl->cl_peers[node];
	struct cluster_msg	*m;
	natsStatus		 s;
	int			 buffered;

	if (cluster_quiet(cl))
		return;
	while (cl->cl_nc != NULL && (m = TAILQ_FIRST(&cp->cp_queue)) != NULL) {
		buffered = natsConnection_Buffered(cl->cl_nc);
		if (buffered < 0 || buffered >= CLUSTER_HANDOFF)
			return;
		s = cluster_publish(cl, node, m->cm_data, m->cm_len,
		    CLUSTERPROTO_BATCH, m->cm_frames);
		if (s != NATS_OK) {
			/* Closed: the closed event follows; kept until then. */
			if (s != NATS_CONNECTION_CLOSED)
				log_warnx("cluster: node %u: publish: %s", node,
				    natsStatus_GetText(s));
			return;
		}
		cp->cp_seq_out++;
		cp->cp_frames_out += m->cm_frames;
		router_cluster_sent(cl->cl_rt, m->cm_frames,
		    m->cm_len - CLUSTERPROTO_HEADER_LEN);
		TAILQ_REMOVE(&cp->cp_queue, m, cm_entry);
		cp->cp_queue_bytes -= m->cm_len;
		free(m);
		if (cluster_link_bytes(cl, cp) <=
		    cl->cl_cf->cf_cluster_link_limit / 2)
			router_link_drained(cl->cl_rt, node);
	}
}

/* The end of the loop pass: close every batch opened in it, publish. */
static void
cluster_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster	*cl = arg;
	unsigned	 node;
	size_t		 i;

	for (i = 0; i < cl->cl_nflagged; i++) {
		node = cl->cl_flagged[i];
		cl->cl_peers[node].cp_flagged = 0;
		cluster_close_batch(cl, node);
		cluster_publish_queue(cl, node);
	}
	cl->cl_nflagged = 0;
}

/* Nothing held for any peer, here or in the library. */
static int
cluster_idle(const struct cluster *cl)
{
	unsigned	node;

	for (node = 0; node < IDMAP_NODES; node++)
		if (cl->cl_peers[node].cp_batch_len > 0 ||
		    !TAILQ_EMPTY(&cl->cl_peers[node].cp_queue))
			return 0;
	return cl->cl_nc == NULL || natsConnection_Buffered(cl->cl_nc) <= 0;
}

/* During cluster_shutdown: end the loop once everything is written. */
static void
cluster_exit_check(struct cluster *cl)
{
	if (cl->cl_exiting && cluster_idle(cl))
		event_base_loopexit(cl->cl_base, NULL);
}

/* The adapter wrote: libnats's buffer went down; hand it more. */
static void
cluster_written(natsConnection *nc, void *arg)
{
	struct cluster	*cl = arg;
	unsigned	 node;

	if (nc != cl->cl_nc)
		return;
	for (node = 0; node < IDMAP_NODES; node++)
		if (!TAILQ_EMPTY(&cl->cl_peers[node].cp_queue))
			cluster_publish_queue(cl, node);
	cluster_exit_check(cl);
}

/* Forget what is held for a peer: counted dropped_peer_down. */
static void
cluster_discard(struct cluster *cl, unsigned node)
{
	struct cluster_peer	*cp = &cl->cl_peers[node];
	struct cluster_msg	*m;
	uint64_t		 n = cp->cp_batch_frames;

	while ((m = TAILQ_FIRST(&cp->cp_queue)) != NULL) {
		n += m->cm_frames;
		TAILQ_REMOVE(&cp->cp_queue, m, cm_entry);
		free(m);
	}
	cp->cp_queue_bytes = 0;
	cp->cp_batch_len = 0;
	cp->cp_batch_frames = 0;
	/* Its PAUSEs and ours to it are void: never wedged on a lost peer. */
	router_remote_forget(cl->cl_rt, node);
	if (n > 0) {
		log_warnx("cluster: node %u: %llu messages to it dropped "
		    "(peer down)", node, (unsigned long long)n);
		router_cluster_discarded(cl->cl_rt, n);
	}
}

/*
 * A new epoch of a peer: a new peer, the link starts again both ways, and
 * so do its counters (/stats peers[]): the per-link identity compares
 * ours with the new process's, which start at zero.
 */
static void
cluster_peer_reset(struct cluster *cl, unsigned node, uint64_t epoch)
{
	struct cluster_peer	*cp = &cl->cl_peers[node];

	cluster_discard(cl, node);
	cp->cp_epoch = epoch;
	cp->cp_seq_out = 0;
	cp->cp_frames_out = 0;
	cp->cp_seq_in = 0;
	cp->cp_frames_in_next = 0;
	cp->cp_frames_in = 0;
	cp->cp_dropped_in_transit = 0;
}

/*
 * A heartbeat with our number from another process.  The one that started
 * later (or is still listening before it joins) stops: it logs why,
 * publishes nothing more and drains its clients as on SIGTERM, exiting
 * with status 1.  The older one logs it once and goes on.
 */
static void
cluster_duplicate(struct cluster *cl, uint64_t epoch,
    const struct clusterproto_heartbeat *hb)
{
	struct cluster_peer	*cp = &cl->cl_peers[cl->cl_node];
	int			 younger;

	younger = cl->cl_probe_until != 0 ||
	    hb->hb_started_ms < cl->cl_started_ms ||
	    (hb->hb_started_ms == cl->cl_started_ms && epoch < cl->cl_epoch);
	if (!younger) {
		if (!cp->cp_logged_mismatch)
			log_warnx("cluster: node %u is also used by a process "
			    "started later (epoch %016llx), which should stop",
			    cl->cl_node, (unsigned long long)epoch);
		cp->cp_logged_mismatch = 1;
		return;
	}
	if (cl->cl_duplicate)
		return;
	cl->cl_duplicate = 1;
	log_errorx("cluster: node %u is already used by another process "
	    "(epoch %016llx%s): this one stops (give each node its own number)",
	    cl->cl_node, (unsigned long long)epoch,
	    hb->hb_fingerprint != cl->cl_fingerprint ? ", whose secret or "
	    "id_mode differs: another cluster with this name?" : "");
	cl->cl_rt->rt_exit_status = 1;
	if (!cl->cl_rt->rt_draining)
		router_drain_start(cl->cl_rt);
}

/* The end of listening: first heartbeat out, what waited for peers too. */
static void
cluster_join(struct cluster *cl)
{
	unsigned	node;

	cl->cl_probe_until = 0;
	if (cl->cl_duplicate || cl->cl_nc == NULL)
		return;
	log_info("cluster: node %u joins (its number is free)", cl->cl_node);
	cluster_heartbeat_out(cl);
	for (node = 0; node < IDMAP_NODES; node++)
		if (!TAILQ_EMPTY(&cl->cl_peers[node].cp_queue))
			cluster_publish_queue(cl, node);
}

static void
cluster_heartbeat_in(struct cluster *cl, const struct clusterproto_header *h,
    const unsigned char *body)
{
	struct clusterproto_heartbeat	 hb;
	struct cluster_peer		*cp = &cl->cl_peers[h->ch_from];
	uint64_t			 now = clock_now_ms();

	clusterproto_heartbeat_get(&hb, body);
	if (h->ch_from == cl->cl_node) {
		if (h->ch_epoch != cl->cl_epoch)
			cluster_duplicate(cl, h->ch_epoch, &hb);
		return;
	}
	if (hb.hb_fingerprint != cl->cl_fingerprint) {
		if (cp->cp_state != CLUSTER_PEER_MISMATCH ||
		    cp->cp_epoch != h->ch_epoch)
			log_warnx("cluster: node %u: secret or id_mode differs, "
			    "refused", h->ch_from);
		if (cp->cp_state == CLUSTER_PEER_UP)
			cluster_discard(cl, h->ch_from);
		cp->cp_state = CLUSTER_PEER_MISMATCH;
		cp->cp_epoch = h->ch_epoch;
		cp->cp_last_hb = now;
		return;
	}
	if (cp->cp_epoch != h->ch_epoch) {
		if (cp->cp_state == CLUSTER_PEER_UP ||
		    cp->cp_state == CLUSTER_PEER_DOWN)
			log_info("cluster: node %u restarted (new epoch)",
			    h->ch_from);
		cluster_peer_reset(cl, h->ch_from, h->ch_epoch);
	}
	if (cp->cp_state != CLUSTER_PEER_UP)
		log_info("cluster: node %u up", h->ch_from);
	cp->cp_state = CLUSTER_PEER_UP;
	cp->cp_last_hb = now;
}

/* Deliver a BATCH's frames as the peer's; how many there were whole. */
static uint32_t
cluster_batch_deliver(struct cluster *cl, const struct clusterproto_header *h,
    const unsigned char *body)
{
	const unsigned char	*p = body, *end = body + h->ch_length, *nul;
	uint32_t		 n, dst;

	for (n = 0; n < h->ch_count; n++) {
		if (end - p < FRAMING_MIN_FRAME || (nul = memchr(p +
		    FRAMING_HEADER_LEN, 0, (size_t)(end - p) -
		    FRAMING_HEADER_LEN)) == NULL)
			break;
		dst = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | (uint32_t)p[3];
		router_deliver_remote(cl->cl_rt, h->ch_from, dst,
		    p + FRAMING_HEADER_LEN,
		    (size_t)(nul - p) - FRAMING_HEADER_LEN + 1);
		p = nul + 1;
	}
	return n;
}

/* A BATCH or TICK: loss from the link's counts, then the frames. */
static void
cluster_link_in(struct cluster *cl, const struct clusterproto_header *h,
    const unsigned char *body)
{
	struct cluster_peer	*cp = &cl->cl_peers[h->ch_from];
	uint64_t		 lost;
	uint32_t		 n;

	if (h->ch_to != cl->cl_node || h->ch_from == cl->cl_node ||
	    cp->cp_state == CLUSTER_PEER_MISMATCH) {
		cl->cl_bad_messages++;
		return;
	}
	/*
	 * Of the peer's link to an earlier process of this node number: it
	 * has not heard of our epoch yet (we restarted within its
	 * peer_timeout, and listen before we join).  Its frames are
	 * delivered (those for our clients reach them; the old ids are
	 * unknown here), but its counts are not our link's: taken as ours,
	 * its frame count would be counted lost here and the peer's new
	 * link (counting from 0 again) refused as repeats.
	 */
	if (CLUSTER_SEQ_EPOCH(h->ch_seq) != (uint32_t)cl->cl_epoch) {
		if (!cp->cp_logged_stale) {
			cp->cp_logged_stale = 1;
			log_info("cluster: node %u: messages for an earlier "
			    "run of node %u: delivered, not counted on the "
			    "link", h->ch_from, cl->cl_node);
		}
		if (h->ch_type == CLUSTERPROTO_BATCH &&
		    cluster_batch_deliver(cl, h, body) < h->ch_count)
			cl->cl_bad_messages++;
		return;
	}
	/*
	 * A peer sends only to nodes it saw UP, with its fingerprint: one of
	 * an epoch we have not heard a heartbeat of (it overtook it, on
	 * another subject) is a new peer, or the same one restarted.
	 */
	if (cp->cp_epoch != h->ch_epoch)
		cluster_peer_reset(cl, h->ch_from, h->ch_epoch);
	/*
	 * Message 1 after others of this epoch: the peer started its link to
	 * us again, on our first heartbeat.  What came before was of its link
	 * to an earlier process with our number (it still had it up when we
	 * joined): its counts are not this link's, and its frames_before must
	 * not make every message of the new link look like a repeat.  (The
	 * epoch in seq, checked above, keeps that link's messages out; this
	 * stays as a second defence.)
	 */
	if ((uint32_t)h->ch_seq == 1 && cp->cp_seq_in != 0) {
		cp->cp_frames_in_next = 0;
		cp->cp_frames_in = 0;
		cp->cp_dropped_in_transit = 0;
	}
	if (h->ch_frames_before > cp->cp_frames_in_next) {
		lost = h->ch_frames_before - cp->cp_frames_in_next;
		log_warnx("cluster: node %u: %llu messages lost in transit",
		    h->ch_from, (unsigned long long)lost);
		cp->cp_dropped_in_transit += lost;
		router_cluster_lost(cl->cl_rt, lost);
	} else if (h->ch_frames_before < cp->cp_frames_in_next) {
		cl->cl_bad_messages++;	/* a repeat: never delivered twice */
		return;
	}
	cp->cp_seq_in = h->ch_seq;
	cp->cp_frames_in_next = h->ch_frames_before + h->ch_count;
	if (h->ch_type != CLUSTERPROTO_BATCH)
		return;
	n = cluster_batch_deliver(cl, h, body);
	cp->cp_frames_in += n;
	if (n < h->ch_count) {
		/* Never delivered half: the rest counts as lost. */
		cl->cl_bad_messages++;
		cp->cp_dropped_in_transit += h->ch_count - n;
		router_cluster_lost(cl->cl_rt, h->ch_count - n);
	}
}

/*
 * PAUSE or RESUME from an UP peer of the epoch we know: its ids, to the
 * router's waiters on remote destinations.  One of a peer not UP (yet, or
 * any more) or of another epoch is ignored, not counted bad: the peer may
 * see us up before we see it, and its next FULL set says it again.
 */
static void
cluster_control_in(struct cluster *cl, const struct clusterproto_header *h,
    const unsigned char *body)
{
	struct cluster_peer	*cp = &cl->cl_peers[h->ch_from];
	uint32_t		*ids;
	uint32_t		 i;

	if (h->ch_to != cl->cl_node || h->ch_from == cl->cl_node) {
		cl->cl_bad_messages++;
		return;
	}
	if (cp->cp_state != CLUSTER_PEER_UP || cp->cp_epoch != h->ch_epoch)
		return;
	if ((ids = calloc(h->ch_count + 1, sizeof *ids)) == NULL) {
		log_warnx("cluster: node %u: out of memory, a %s ignored",
		    h->ch_from, h->ch_type == CLUSTERPROTO_PAUSE ? "PAUSE" :
		    "RESUME");
		return;
	}
	for (i = 0; i < h->ch_count; i++)
		ids[i] = (uint32_t)body[4 * i] << 24 |
		    (uint32_t)body[4 * i + 1] << 16 |
		    (uint32_t)body[4 * i + 2] << 8 | body[4 * i + 3];
	router_remote_control(cl->cl_rt, h->ch_from,
	    h->ch_type == CLUSTERPROTO_PAUSE, ids, h->ch_count,
	    (h->ch_flags & CLUSTERPROTO_FLAG_FULL) != 0);
	free(ids);
}

static void
cluster_message_in(struct cluster *cl, natsMsg *m)
{
	const unsigned char		*d;
	struct clusterproto_header	 h;
	enum clusterproto_error		 e;
	size_t				 len;

	d = (const unsigned char *)natsMsg_GetData(m);
	len = (size_t)natsMsg_GetDataLength(m);
	if ((e = clusterproto_header_get(&h, d, len)) != CLUSTERPROTO_OK) {
		if (cl->cl_bad_messages++ == 0)
			log_warnx("cluster: a message on %s refused: %s",
			    natsMsg_GetSubject(m), clusterproto_strerror(e));
		return;
	}
	/*
	 * Before we join (or once we know we are a duplicate) no peer knows
	 * our epoch: what comes on our subject was sent to another process
	 * with our number (one that ran before, or still runs).  Not ours.
	 */
	if (h.ch_type != CLUSTERPROTO_HEARTBEAT && cluster_quiet(cl)) {
		cl->cl_bad_messages++;
		return;
	}
	switch (h.ch_type) {
	case CLUSTERPROTO_HEARTBEAT:
		cluster_heartbeat_in(cl, &h, d + CLUSTERPROTO_HEADER_LEN);
		break;
	case CLUSTERPROTO_BATCH:
	case CLUSTERPROTO_TICK:
		cluster_link_in(cl, &h, d + CLUSTERPROTO_HEADER_LEN);
		break;
	case CLUSTERPROTO_PAUSE:
	case CLUSTERPROTO_RESUME:
		cluster_control_in(cl, &h, d + CLUSTERPROTO_HEADER_LEN);
		break;
	default:
		cl->cl_bad_messages++;
		break;
	}
}

/* Take every queued message off one subscription. */
static void
cluster_drain_sub(struct cluster *cl, natsSubscription *sub)
{
	natsMsg		*m;
	natsStatus	 s;
	int		 pending;

	while (sub != NULL) {
		if (natsSubscription_GetPending(sub, &pending, NULL) !=
		    NATS_OK || pending <= 0)
			return;
		s = natsSubscription_NextMsg(&m, sub, 0);
		if (s == NATS_SLOW_CONSUMER)
			continue;
		if (s != NATS_OK)
			return;
		cluster_message_in(cl, m);
		natsMsg_Destroy(m);
	}
}

/* natsev's drain, after each read event: heartbeats first, then links. */
static void
cluster_drain(natsConnection *nc, void *arg)
{
	struct cluster	*cl = arg;

	if (nc != cl->cl_nc)
		return;		/* not handed over yet */
	cluster_drain_sub(cl, cl->cl_sub_hb);
	cluster_drain_sub(cl, cl->cl_sub_node);
	router_flush(cl->cl_rt);
}

static void
cluster_heartbeat_out(struct cluster *cl)
{
	unsigned char			 msg[CLUSTERPROTO_HEADER_LEN +
					    CLUSTERPROTO_HEARTBEAT_LEN];
	struct clusterproto_header	 h;
	struct clusterproto_heartbeat	 hb;

	if (cluster_quiet(cl))
		return;
	memset(&h, 0, sizeof h);
	h.ch_type = CLUSTERPROTO_HEARTBEAT;
	h.ch_from = (uint8_t)cl->cl_node;
	h.ch_epoch = cl->cl_epoch;
	h.ch_seq = ++cl->cl_hb_seq;
	h.ch_length = CLUSTERPROTO_HEARTBEAT_LEN;
	clusterproto_header_put(msg, &h);
	hb.hb_fingerprint = cl->cl_fingerprint;
	hb.hb_started_ms = cl->cl_started_ms;
	hb.hb_heartbeat_ms = (uint32_t)cl->cl_cf->cf_cluster_heartbeat_ms;
	hb.hb_peer_timeout_ms = (uint32_t)cl->cl_cf->cf_cluster_peer_timeout_ms;
	clusterproto_heartbeat_put(msg + CLUSTERPROTO_HEADER_LEN, &hb);
	(void)natsConnection_Publish(cl->cl_nc, cl->cl_hb_subject, msg,
	    (int)sizeof msg);
}

/*
 * Every heartbeat: ours out, a TICK on every idle up link (its frame count,
 * so that a receiver sees loss at the tail of a burst), peers silent for
 * peer_timeout counted down.
 */
static void
cluster_hb_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster		*cl = arg;
	struct cluster_peer	*cp;
	unsigned char		 tick[CLUSTERPROTO_HEADER_LEN];
	uint64_t		 now = clock_now_ms();
	unsigned		 node;

	if (cl->cl_probe_until != 0 && now >= cl->cl_probe_until)
		cluster_join(cl);
	else if (cl->cl_nc != NULL)
		cluster_heartbeat_out(cl);
	for (node = 0; node < IDMAP_NODES; node++) {
		cp = &cl->cl_peers[node];
		if (cp->cp_state == CLUSTER_PEER_MISMATCH && now -
		    cp->cp_last_hb >= cl->cl_cf->cf_cluster_peer_timeout_ms) {
			/* Gone (or fixed and restarted: a new epoch). */
			log_info("cluster: node %u (secret or id_mode "
			    "differs) silent for %llu ms: down", node,
			    (unsigned long long)(now - cp->cp_last_hb));
			cp->cp_state = CLUSTER_PEER_DOWN;
			continue;
		}
		if (cp->cp_state != CLUSTER_PEER_UP)
			continue;
		if (now - cp->cp_last_hb >= cl->cl_cf->cf_cluster_peer_timeout_ms) {
			log_warnx("cluster: node %u down: no heartbeat for "
			    "%llu ms", node,
			    (unsigned long long)(now - cp->cp_last_hb));
			cp->cp_state = CLUSTER_PEER_DOWN;
			cluster_discard(cl, node);
			continue;
		}
		if (cluster_quiet(cl))
			continue;
		if (cl->cl_nc != NULL && TAILQ_EMPTY(&cp->cp_queue) &&
		    cp->cp_batch_len == 0 &&
		    cluster_publish(cl, node, tick, sizeof tick,
		    CLUSTERPROTO_TICK, 0) == NATS_OK)
			cp->cp_seq_out++;
		/* The complete set of our ids it must hold (may be none). */
		if (cl->cl_nc != NULL)
			router_remote_refresh(cl->cl_rt, node);
	}
}

/*
 * Why libnats failed, from the calling thread's error stack: the status's
 * text and, when it says more, libnats's last message without its
 * "(file.c:123): " prefix ("SSL handshake error: 20:unable to get local
 * issuer certificate:...", "Authorization Violation").  libnats never puts
 * a URL's user, password or token in these.
 */
static void
cluster_error_text(natsStatus s, char *buf, size_t len)
{
	const char	*text = natsStatus_GetText(s), *e, *p;

	e = nats_GetLastError(NULL);
	if (e != NULL && e[0] == '(' && (p = strstr(e, "): ")) != NULL)
		e = p + 3;
	if (e == NULL || e[0] == '\0' || strcmp(e, text) == 0)
		snprintf(buf, len, "%s", text);
	else
		snprintf(buf, len, "%s: %s", text, e);
}

/* The connector thread: connect and subscribe (both block), hand over. */
static void *
cluster_connector(void *arg)
{
	struct cluster		*cl = arg;
	natsConnection		*nc = NULL;
	natsSubscription	*node = NULL, *hb = NULL;
	natsStatus		 s;
	char			 err[CLUSTER_ERR_MAX];

	s = natsConnection_Connect(&nc, cl->cl_opts);
	if (s == NATS_OK)
		s = natsConnection_SubscribeSync(&node, nc,
		    cl->cl_node_subject);
	if (s == NATS_OK)
		s = natsConnection_SubscribeSync(&hb, nc, cl->cl_hb_subject);
	/* The drain takes every message at each read: no library limit. */
	if (s == NATS_OK)
		s = natsSubscription_SetPendingLimits(node, -1, -1);
	if (s == NATS_OK)
		s = natsSubscription_SetPendingLimits(hb, -1, -1);
	if (s != NATS_OK) {
		/* This thread's error stack: read it before anything else. */
		cluster_error_text(s, err, sizeof err);
		natsSubscription_Destroy(node);
		natsSubscription_Destroy(hb);
		natsConnection_Destroy(nc);
		nc = NULL;
		node = hb = NULL;
	}
	pthread_mutex_lock(&cl->cl_mu);
	cl->cl_new_nc = nc;
	cl->cl_new_sub_node = node;
	cl->cl_new_sub_hb = hb;
	cl->cl_new_status = s;
	if (s != NATS_OK)
		memcpy(cl->cl_new_err, err, sizeof cl->cl_new_err);
	event_active(cl->cl_handover_ev, EV_READ, 0);
	pthread_mutex_unlock(&cl->cl_mu);
	return NULL;
}

static void
cluster_connect(struct cluster *cl)
{
	pthread_mutex_lock(&cl->cl_mu);
	if (!cl->cl_connecting) {
		if (pthread_create(&cl->cl_connector, NULL, cluster_connector,
		    cl) == 0)
			cl->cl_connecting = 1;
		else
			log_warnx("cluster: cannot start the connector thread");
	}
	pthread_mutex_unlock(&cl->cl_mu);
}

static void
cluster_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	cluster_connect(arg);
}

/* Connect again after the back-off: 100 ms doubling to 2 s, jittered. */
static void
cluster_retry(struct cluster *cl)
{
	struct timeval	tv;
	uint32_t	r;
	unsigned	ms;

	if (cl->cl_backoff_ms == 0)
		cl->cl_backoff_ms = CLUSTER_BACKOFF_MIN_MS;
	else if ((cl->cl_backoff_ms *= 2) > CLUSTER_BACKOFF_MAX_MS)
		cl->cl_backoff_ms = CLUSTER_BACKOFF_MAX_MS;
	evutil_secure_rng_get_bytes(&r, sizeof r);
	ms = cl->cl_backoff_ms / 2 + r % (cl->cl_backoff_ms / 2 + 1);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(cl->cl_retry_ev, &tv);
}

/* On the loop: take the connector's connection, or retry later. */
static void
cluster_handover_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster	*cl = arg;
	natsStatus	 s;
	char		 raw[256], url[256], err[CLUSTER_ERR_MAX];
	unsigned	 node;

	pthread_join(cl->cl_connector, NULL);
	pthread_mutex_lock(&cl->cl_mu);
	cl->cl_connecting = 0;
	cl->cl_nc = cl->cl_new_nc;
	cl->cl_sub_node = cl->cl_new_sub_node;
	cl->cl_sub_hb = cl->cl_new_sub_hb;
	s = cl->cl_new_status;
	cl->cl_new_nc = NULL;
	cl->cl_new_sub_node = cl->cl_new_sub_hb = NULL;
	if (s != NATS_OK)
		memcpy(err, cl->cl_new_err, sizeof err);
	pthread_mutex_unlock(&cl->cl_mu);
	if (s != NATS_OK) {
		/* Once, and again when the reason changes. */
		if (cl->cl_was_connected != -1 ||
		    strcmp(err, cl->cl_last_err) != 0) {
			log_warnx("nats: cannot connect to %s: %s (retrying)",
			    cl->cl_url, err);
			memcpy(cl->cl_last_err, err, sizeof cl->cl_last_err);
			cl->cl_was_connected = -1;
		}
		cluster_retry(cl);
		return;
	}
	cl->cl_backoff_ms = 0;
	cl->cl_last_err[0] = '\0';
	/* Read once per connection, not per frame (it takes a lock). */
	cl->cl_max_payload = natsConnection_GetMaxPayload(cl->cl_nc);
	if (natsConnection_GetConnectedUrl(cl->cl_nc, raw, sizeof raw) !=
	    NATS_OK)
		raw[0] = '\0';
	config_nats_display(raw, url, sizeof url);
	explicit_bzero(raw, sizeof raw);
	log_info("nats: connected to %s", url[0] != '\0' ? url : cl->cl_url);
	if (cl->cl_was_connected != 0)
		cl->cl_reconnects++;
	cl->cl_was_connected = 1;
	/*
	 * Closed after the connector's last call but before this hand-over:
	 * its closed event found no connection here and did nothing.
	 */
	if (natsConnection_IsClosed(cl->cl_nc)) {
		cluster_closed_cb(-1, 0, cl);
		return;
	}
	if (!cl->cl_probed) {
		/*
		 * Listen first: another process with our number shows in its
		 * heartbeats (two of ours and a little); we join after, at a
		 * heartbeat tick.
		 */
		cl->cl_probed = 1;
		cl->cl_probe_until = clock_now_ms() + CLUSTER_PROBE_MS(cl);
		cluster_drain(cl->cl_nc, cl);
		return;
	}
	/* Subscribed first: the heartbeat follows our interest. */
	cluster_heartbeat_out(cl);
	for (node = 0; node < IDMAP_NODES; node++)
		if (!TAILQ_EMPTY(&cl->cl_peers[node].cp_queue))
			cluster_publish_queue(cl, node);
	cluster_drain(cl->cl_nc, cl);
}

/* On the loop: the connection closed; drop it and make a new one. */
static void
cluster_closed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster	*cl = arg;

	if (cl->cl_nc == NULL || !natsConnection_IsClosed(cl->cl_nc))
		return;
	log_warnx("nats: disconnected from %s (reconnecting)", cl->cl_url);
	cl->cl_was_connected = 2;
	natsSubscription_Destroy(cl->cl_sub_node);
	natsSubscription_Destroy(cl->cl_sub_hb);
	natsConnection_Destroy(cl->cl_nc);
	cl->cl_sub_node = cl->cl_sub_hb = NULL;
	cl->cl_nc = NULL;
	cl->cl_max_payload = 0;
	cluster_retry(cl);
}

/* libnats's closed callback, on its thread: wake the loop. */
static void
cluster_lib_closed(natsConnection *nc, void *unused)
{
	pthread_mutex_lock(&cluster_mu);
	if (cluster_current != NULL)
		event_active(cluster_current->cl_closed_ev, EV_READ, 0);
	pthread_mutex_unlock(&cluster_mu);
}

/*
 * tls:// URLs: TLS on every connection, whatever the server says (libnats
 * 3.4 takes the scheme for a name: without natsOptions_SetSecure it speaks
 * plain text to a server that does not ask for TLS); the server's
 * certificate checked by OpenSSL against cluster.nats_ca, if named, and
 * the system's default trust store (libnats always loads it), and its
 * name against the URL's host (libnats forces that check); a client
 * certificate if the NATS servers want one.
 */
static natsStatus
cluster_tls_options(struct cluster *cl)
{
	const struct config	*cf = cl->cl_cf;
	natsStatus		 s;

	s = natsOptions_SetSecure(cl->cl_opts, true);
	if (s == NATS_OK && cf->cf_cluster_nats_ca[0] != '\0')
		s = natsOptions_LoadCATrustedCertificates(cl->cl_opts,
		    cf->cf_cluster_nats_ca);
	if (s == NATS_OK && cf->cf_cluster_nats_cert[0] != '\0')
		s = natsOptions_LoadCertificatesChain(cl->cl_opts,
		    cf->cf_cluster_nats_cert, cf->cf_cluster_nats_key);
	return s;
}

/* natsOptions from cluster.nats: the URLs, no reconnect, our adapter. */
static natsStatus
cluster_options(struct cluster *cl)
{
	const struct config	*cf = cl->cl_cf;
	char			 urls[CONFIG_PATH_MAX], *servers[64], *p, *last;
	natsStatus		 s;
	int			 n = 0;

	snprintf(urls, sizeof urls, "%s", cf->cf_cluster_nats);
	for (p = strtok_r(urls, ",", &last); p != NULL && n < 64;
	    p = strtok_r(NULL, ",", &last))
		servers[n++] = p;
	s = natsOptions_Create(&cl->cl_opts);
	if (s == NATS_OK)
		s = natsOptions_SetServers(cl->cl_opts, (const char **)servers,
		    n);
	if (s == NATS_OK)
		s = natsOptions_SetNoRandomize(cl->cl_opts, false);
	if (s == NATS_OK)
		s = natsOptions_SetName(cl->cl_opts, "msgrouterd");
	if (s == NATS_OK)
		s = natsev_options(cl->cl_ne, cl->cl_opts);
	if (s == NATS_OK)
		s = natsOptions_SetAllowReconnect(cl->cl_opts, false);
	if (s == NATS_OK)
		s = natsOptions_SetClosedCB(cl->cl_opts, cluster_lib_closed,
		    NULL);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(cl->cl_opts, 2000);
	if (s == NATS_OK && config_cluster_tls(cf))
		s = cluster_tls_options(cl);
	explicit_bzero(urls, sizeof urls);
	return s;
}

/*
 * At exit, OpenSSL's cleanup before libnats's: libnats 3.4's frees
 * OpenSSL's list of compression methods without clearing OpenSSL's
 * pointer to it (its _finalCleanup, run from its atexit handler once it
 * has used TLS), so OpenSSL's own cleanup, when it runs second, frees the
 * list again: a crash at exit whenever OpenSSL was initialised before
 * libnats (a node with [tls] too).  After OPENSSL_cleanup the pointer is
 * NULL and libnats frees nothing.  Registered after both libraries have
 * registered theirs, so it runs first (atexit runs in reverse).
 */
static void
cluster_openssl_exit(void)
{
	OPENSSL_cleanup();
}

static void
cluster_openssl_order(void)
{
	/* OpenSSL's atexit handler; libnats's came with nats_Open. */
	if (OPENSSL_init_ssl(0, NULL) == 1 && nats_Open(-1) == NATS_OK)
		atexit(cluster_openssl_exit);
}

struct cluster *
cluster_new(struct router *rt)
{
	struct cluster	*cl;
	natsStatus	 s;
	struct timeval	 tv;
	char		 err[CLUSTER_ERR_MAX];
	unsigned	 i;

	if ((cl = calloc(1, sizeof *cl)) == NULL)
		return NULL;
	cl->cl_rt = rt;
	cl->cl_cf = &rt->rt_config;
	cl->cl_base = rt->rt_base;
	cl->cl_node = rt->rt_node;
	cl->cl_idmap = rt->rt_idmap;
	cl->cl_fingerprint = idmap_fingerprint(rt->rt_idmap);
	gettimeofday(&tv, NULL);
	cl->cl_started_ms = (uint64_t)tv.tv_sec * 1000 +
	    (uint64_t)tv.tv_usec / 1000;
	do
		evutil_secure_rng_get_bytes(&cl->cl_epoch, sizeof cl->cl_epoch);
	while (cl->cl_epoch == 0);
	for (i = 0; i < IDMAP_NODES; i++)
		TAILQ_INIT(&cl->cl_peers[i].cp_queue);
	pthread_mutex_init(&cl->cl_mu, NULL);
	config_nats_display(cl->cl_cf->cf_cluster_nats, cl->cl_url,
	    sizeof cl->cl_url);
	snprintf(cl->cl_node_subject, sizeof cl->cl_node_subject,
	    "%s.node.%u", cl->cl_cf->cf_cluster_name, cl->cl_node);
	snprintf(cl->cl_hb_subject, sizeof cl->cl_hb_subject, "%s.hb",
	    cl->cl_cf->cf_cluster_name);
	if ((cl->cl_ne = natsev_new(cl->cl_base, cluster_drain,
	    cluster_written, cl)) == NULL ||
	    (cl->cl_flush_ev = event_new(cl->cl_base, -1, 0, cluster_flush_cb,
	    cl)) == NULL ||
	    (cl->cl_hb_ev = event_new(cl->cl_base, -1, EV_PERSIST,
	    cluster_hb_cb, cl)) == NULL ||
	    (cl->cl_retry_ev = evtimer_new(cl->cl_base, cluster_retry_cb,
	    cl)) == NULL ||
	    (cl->cl_closed_ev = event_new(cl->cl_base, -1, 0,
	    cluster_closed_cb, cl)) == NULL ||
	    (cl->cl_handover_ev = event_new(cl->cl_base, -1, 0,
	    cluster_handover_cb, cl)) == NULL) {
		log_warnx("cluster: out of memory");
		cluster_free(cl);
		return NULL;
	}
	if ((s = cluster_options(cl)) != NATS_OK) {
		cluster_error_text(s, err, sizeof err);
		log_warnx("cluster: nats options: %s", err);
		cluster_free(cl);
		return NULL;
	}
	pthread_once(&cluster_openssl_once, cluster_openssl_order);
	pthread_mutex_lock(&cluster_mu);
	cluster_current = cl;
	pthread_mutex_unlock(&cluster_mu);
	tv.tv_sec = cl->cl_cf->cf_cluster_heartbeat_ms / 1000;
	tv.tv_usec = (cl->cl_cf->cf_cluster_heartbeat_ms % 1000) * 1000;
	event_add(cl->cl_hb_ev, &tv);
	log_info("cluster: node %u of \"%s\", epoch %016llx, nats %s",
	    cl->cl_node, cl->cl_cf->cf_cluster_name,
	    (unsigned long long)cl->cl_epoch, cl->cl_url);
	cluster_connect(cl);
	return cl;
}

static void
cluster_exit_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopexit(((struct cluster *)arg)->cl_base, NULL);
}

/* Bytes held for other nodes, ours and the library's. */
static uint64_t
cluster_held(const struct cluster *cl)
{
	uint64_t	n = 0;
	unsigned	node;
	int		buffered;

	for (node = 0; node < IDMAP_NODES; node++)
		n += cluster_link_bytes(cl, &cl->cl_peers[node]);
	if (cl->cl_nc != NULL && (buffered = natsConnection_Buffered(
	    cl->cl_nc)) > 0)
		n += (uint64_t)buffered;
	return n;
}

void
cluster_shutdown(struct cluster *cl, uint64_t timeout_ms)
{
	struct timeval	tv;
	uint64_t	left;

	/*
	 * Stopped while listening: the number may be another process's (its
	 * heartbeat not heard yet), so nothing is published on the way out
	 * either; what the clients sent for other nodes is abandoned.
	 */
	cluster_flush_cb(-1, 0, cl);
	if (cl->cl_nc != NULL && !cluster_idle(cl) && timeout_ms > 0 &&
	    !cluster_quiet(cl) &&
	    (cl->cl_exit_ev = evtimer_new(cl->cl_base, cluster_exit_cb,
	    cl)) != NULL) {
		log_info("cluster: writing %llu bytes for other nodes before "
		    "exiting", (unsigned long long)cluster_held(cl));
		tv.tv_sec = (time_t)(timeout_ms / 1000);
		tv.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
		evtimer_add(cl->cl_exit_ev, &tv);
		cl->cl_exiting = 1;
		event_base_dispatch(cl->cl_base);
		cl->cl_exiting = 0;
	}
	if ((left = cluster_held(cl)) > 0)
		log_warnx("cluster: %llu bytes for other nodes abandoned at "
		    "exit", (unsigned long long)left);
	else
		log_info("cluster: link flushed");
}

void
cluster_configure(struct cluster *cl)
{
	struct timeval	tv;
	unsigned	node;

	tv.tv_sec = cl->cl_cf->cf_cluster_heartbeat_ms / 1000;
	tv.tv_usec = (cl->cl_cf->cf_cluster_heartbeat_ms % 1000) * 1000;
	event_add(cl->cl_hb_ev, &tv);
	/* A larger link_limit (or another policy) may let held senders go. */
	for (node = 0; node < IDMAP_NODES; node++)
		if (cl->cl_cf->cf_slow_consumer != SLOW_CONSUMER_BACKPRESSURE ||
		    cluster_link_bytes(cl, &cl->cl_peers[node]) <=
		    cl->cl_cf->cf_cluster_link_limit / 2)
			router_link_drained(cl->cl_rt, node);
}

void
cluster_free(struct cluster *cl)
{
	struct cluster_msg	*m;
	unsigned		 i;

	if (cl == NULL)
		return;
	pthread_mutex_lock(&cluster_mu);
	if (cluster_current == cl)
		cluster_current = NULL;
	pthread_mutex_unlock(&cluster_mu);
	pthread_mutex_lock(&cl->cl_mu);
	i = (unsigned)cl->cl_connecting;
	pthread_mutex_unlock(&cl->cl_mu);
	if (i) {
		pthread_join(cl->cl_connector, NULL);
		natsSubscription_Destroy(cl->cl_new_sub_node);
		natsSubscription_Destroy(cl->cl_new_sub_hb);
		natsConnection_Destroy(cl->cl_new_nc);
	}
	natsSubscription_Destroy(cl->cl_sub_node);
	natsSubscription_Destroy(cl->cl_sub_hb);
	natsConnection_Destroy(cl->cl_nc);
	natsOptions_Destroy(cl->cl_opts);
	if (cl->cl_flush_ev != NULL)
		event_free(cl->cl_flush_ev);
	if (cl->cl_hb_ev != NULL)
		event_free(cl->cl_hb_ev);
	if (cl->cl_retry_ev != NULL)
		event_free(cl->cl_retry_ev);
	if (cl->cl_closed_ev != NULL)
		event_free(cl->cl_closed_ev);
	if (cl->cl_handover_ev != NULL)
		event_free(cl->cl_handover_ev);
	if (cl->cl_exit_ev != NULL)
		event_free(cl->cl_exit_ev);
	natsev_free(cl->cl_ne);
	for (i = 0; i < IDMAP_NODES; i++) {
		while ((m = TAILQ_FIRST(&cl->cl_peers[i].cp_queue)) != NULL) {
			TAILQ_REMOVE(&cl->cl_peers[i].cp_queue, m, cm_entry);
			free(m);
		}
		free(cl->cl_peers[i].cp_batch);
	}
	pthread_mutex_destroy(&cl->cl_mu);
	free(cl);
}

int
cluster_connected(const struct cluster *cl)
{
	return cl->cl_nc != NULL &&
	    natsConnection_Status(cl->cl_nc) == NATS_CONN_STATUS_CONNECTED;
}

void
cluster_info(const struct cluster *cl, struct cluster_info *ci)
{
	const struct cluster_peer	*cp;
	struct cluster_peer_info	*pi;
	uint64_t			 now = clock_now_ms();
	char				 raw[256];
	int				 buffered;
	unsigned			 node;

	memset(ci, 0, sizeof *ci);
	ci->ci_node = cl->cl_node;
	ci->ci_name = cl->cl_cf->cf_cluster_name;
	ci->ci_connected = cluster_connected(cl);
	snprintf(ci->ci_url, sizeof ci->ci_url, "%s", cl->cl_url);
	if (cl->cl_nc != NULL &&
	    natsConnection_GetConnectedUrl(cl->cl_nc, raw, sizeof raw) ==
	    NATS_OK && raw[0] != '\0')
		config_nats_display(raw, ci->ci_url, sizeof ci->ci_url);
	explicit_bzero(raw, sizeof raw);
	if (cl->cl_nc != NULL &&
	    (buffered = natsConnection_Buffered(cl->cl_nc)) > 0)
		ci->ci_link_buffered = (uint64_t)buffered;
	ci->ci_reconnects = cl->cl_reconnects;
	ci->ci_bad_messages = cl->cl_bad_messages;
	ci->ci_link_limit = cl->cl_cf->cf_cluster_link_limit;
	for (node = 0; node < IDMAP_NODES; node++) {
		cp = &cl->cl_peers[node];
		ci->ci_link_buffered += cluster_link_bytes(cl, cp);
		if (node == cl->cl_node || cp->cp_state == CLUSTER_PEER_UNKNOWN)
			continue;
		pi = &ci->ci_peers[ci->ci_npeers++];
		pi->cpi_node = node;
		pi->cpi_state = cluster_state_names[cp->cp_state];
		pi->cpi_last_heartbeat_ms = now - cp->cp_last_hb;
		pi->cpi_frames_out = cp->cp_frames_out;
		pi->cpi_frames_in = cp->cp_frames_in;
		pi->cpi_dropped_in_transit = cp->cp_dropped_in_transit;
		pi->cpi_paused_senders = router_remote_paused(cl->cl_rt, node);
		pi->cpi_link_buffered = cluster_link_bytes(cl, cp);
	}
}
