/*
 * router: the clients' lives (attach, close), the id registry, forwarding
 * and the slow-consumer policy, and the drain.  One router per process,
 * driven by one event_base.  It owns every struct conn: conn.c is its
 * socket glue and reports to it through struct conn_ops.
 */
#ifndef MSGROUTER_ROUTER_H
#define MSGROUTER_ROUTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include "msgrouter/config.h"
#include "msgrouter/conn.h"
#include "msgrouter/stats.h"

struct addrtab;
struct closed;
struct departed;
struct event;
struct event_base;
struct evbuffer;
struct listener;
struct registry;
struct conn;
struct tls;

TAILQ_HEAD(conn_list, conn);

/*
 * The most one read takes from a sender whose last read had frames dropped
 * (to a full queue, to an unknown id): it is never paused for that, but
 * while its traffic goes to the bin it gets a page per pass of the loop,
 * like a client that sends a window of small messages, not 64 KiB.
 */
#define ROUTER_READ_SHED	4096
/* Buckets of the tables of backpressure across nodes. */
#define ROUTER_RHASH		64

struct router_rdst;
struct router_rhold;

struct router {
	struct event_base	*rt_base;
	struct config		 rt_config;
	struct registry		*rt_registry;
	/* router.listen's addresses, in order; closed once draining. */
	struct listener		*rt_listeners[CONFIG_LISTEN_ADDRS];
	size_t			 rt_nlisteners;
	struct listener		*rt_tls_listener; /* tls.listen, or NULL */
	struct tls		*rt_tls;	/* the daemon's, or NULL */
	int			 rt_draining;	/* no new connections or reads */
	int			 rt_exit_status; /* msgrouterd's, once it drained */
	int			 rt_drain_done;	/* counts logged, loop exiting */
	struct event		*rt_drain_ev;	/* shutdown_timeout */
	size_t			 rt_drain_pending; /* clients left to flush */
	uint64_t		 rt_drain_queued; /* bytes queued at the start */
	uint64_t		 rt_drain_abandoned;
	uint64_t		 rt_drain_forwarded; /* st_bytes_forwarded then */
	struct conn_list	 rt_conns;	/* every open connection */
	struct conn		*rt_dirty;	/* destinations to flush */
	struct stats		 rt_stats;
	struct closed		*rt_closed;	/* recently closed clients */
	uint64_t		 rt_started;	/* clock_now_ms() */
	/*
	 * Senders that paused since the last tick of rt_watch_ev, each with
	 * a reference (CONN_WATCHED): the tick looks for those gone (reset)
	 * while paused and forgets those closed or resumed.  The timer runs
	 * only while the array is not empty.
	 */
	struct conn		**rt_watch;
	size_t			 rt_nwatch;
	size_t			 rt_watch_size;
	struct event		*rt_watch_ev;
	int			 rt_sndbuf_failed; /* logged once */
	struct addrtab		*rt_addrtab;	/* per source address */
	struct departed		*rt_departed;	/* ids of the clients that left */
	/*
	 * A cluster node (cluster.nats set): how ids map to nodes, and this
	 * node's number.  NULL and 0 on a single node.
	 */
	struct idmap		*rt_idmap;
	unsigned		 rt_node;
	struct cluster		*rt_cluster;	/* the NATS link, or NULL */
	unsigned		 rt_remote_owner; /* router_decide's, for the caller */
	/* Frames too large for NATS: logged at most every 10 s, the rest summed. */
	uint64_t		 rt_too_large_logged;	/* clock_now_ms() */
	uint64_t		 rt_too_large_quiet;	/* not logged since */
	/*
	 * Backpressure across nodes (docs/CLUSTER.md): the remote ids our
	 * senders must hold (a peer's PAUSE), each with its waiters, and our
	 * ids over queue_limit with the nodes told to hold them.  Hashed by
	 * id; empty unless a destination is slow.
	 */
	LIST_HEAD(, router_rdst) rt_rdst[ROUTER_RHASH];
	LIST_HEAD(, router_rhold) rt_rhold[ROUTER_RHASH];
	size_t			 rt_nrdst;
	/* Per node (IDMAP_NODES): senders held while its link is full. */
	struct router_rdst	*rt_link_wait[256];
};

/* The address table holds this many entries per max_clients. */
#define ROUTER_ADDRTAB_PER_CLIENT	2

struct router	*router_new(struct event_base *, const struct config *);
/* Close every client and release the listener. */
void		 router_free(struct router *);
/*
 * Listen on tls.listen (rt_tls set first), then router.listen, each unless
 * "off" (listener.c logs "listening on ADDR" and every failure); 0 or -1.
 */
int		 router_listen(struct router *);
/* Apply new limits and policy to the router and every connection. */
void		 router_configure(struct router *, const struct config *);
/*
 * Take over an accepted socket as a client: an id, the registry, the id
 * queued to it (sent by the next router_flush).  First the source
 * address's admission (router_admit): a banned address, or one at
 * max_clients_per_address, is closed at once without an id (counted in
 * st_rejected and recorded in the closed ring).  NULL if refused or out of
 * memory (the socket is closed and the failure logged once).
 */
struct conn	*router_attach(struct router *, int fd, const struct sockaddr *,
		    int socklen);
/*
 * The same for a client on the TLS port: its handshake starts with an SSL
 * from rt_tls, and its id goes out once the handshake is done.
 */
struct conn	*router_attach_tls(struct router *, int fd,
		    const struct sockaddr *, int socklen);
/*
 * The one way a client goes: record it in the ring of closed clients, log
 * one line with the reason, forget it everywhere and close its socket.
 */
void		 router_close(struct router *, struct conn *, enum conn_reason);
/* The max_message_size that applies to the frame at the head of c's input. */
size_t		 router_max_message(const struct router *, struct conn *);
/*
 * Take one frame (header, then len bytes of payload and 0x00) off the head
 * of in and append its payload and 0x00 to out: large frames by moving
 * chains, small ones by copying, so that out's memory follows its length.
 */
void		 router_move(struct evbuffer *in, struct evbuffer *out,
		    size_t len);
/* Write out every destination that received data since the last flush. */
void		 router_flush(struct router *);
/*
 * Graceful drain: close the listener, stop reading, keep writing what is
 * queued; the loop exits once every queue is empty or shutdown_timeout
 * passes.
 */
void		 router_drain_start(struct router *);
/*
 * A cluster node: deliver one frame that another node's batch brought for
 * dst_id (payload and 0x00, len bytes) as if a local client had sent it:
 * unknown ids and the drop and disconnect policies are applied and counted
 * here; backpressure cannot stop a node (it must keep reading NATS), so
 * the frame is queued over the limit.  Call router_flush after a batch.
 */
void		 router_deliver_remote(struct router *, unsigned from,
		    uint32_t dst_id, const unsigned char *payload, size_t len);
/*
 * Backpressure across nodes.  A PAUSE (pause) or RESUME of node's ids;
 * full: a PAUSE that is node's complete set (waiters on its other ids are
 * resumed).  router_remote_refresh sends node the complete set of our ids
 * it must hold (every heartbeat).  router_remote_forget: node went down,
 * restarted or was refused: its waiters are resumed (their frames then
 * meet the peer's state) and our holds for it are forgotten.
 * router_remote_paused: senders here waiting for node's ids.
 */
void		 router_remote_control(struct router *, unsigned node,
		    int pause, const uint32_t *ids, size_t n, int full);
void		 router_remote_refresh(struct router *, unsigned node);
void		 router_remote_forget(struct router *, unsigned node);
uint64_t	 router_remote_paused(struct router *, unsigned node);
/*
 * The link to node holds link_limit / 2 bytes or less: the senders held
 * because it was full go on.
 */
void		 router_link_drained(struct router *, unsigned node);
/*
 * The cluster's counters (see struct stats): n frames of bytes handed to
 * NATS; n frames dropped from a batch or queue because their peer went
 * down; n frames lost in transit (counted at the receiver).
 */
void		 router_cluster_sent(struct router *, uint64_t n, uint64_t bytes);
void		 router_cluster_discarded(struct router *, uint64_t n);
void		 router_cluster_lost(struct router *, uint64_t n);
/* End the drain now (second signal): log the counts and exit the loop. */
void		 router_drain_finish(struct router *, const char *why);
/* Total bytes waiting to be written to clients. */
size_t		 router_queued_bytes(const struct router *);
/*
 * How often paused senders are checked for a reset (ROUTER_WATCH_MS), and
 * what the check does: close each one gone with reason sender_gone and
 * count its buffered frames as dropped (sender_gone).
 */
#define ROUTER_WATCH_MS		1000
void		 router_watch_paused(struct router *);
/* Log the counters in one line. */
void		 router_log_stats(const struct router *, const char *);

#endif
