/*
 * cluster: this node's link to the other nodes of a cluster over NATS
 * (docs/CLUSTER.md).  Built only with libnats; the router holds one only
 * when cluster.nats is set.
 *
 * One NATS connection, made by a connector thread (natsConnection_Connect
 * blocks) and handed to the loop; libnats's own reconnect is off (broken
 * in event-loop mode, see CLUSTER.md) and a closed connection is replaced
 * by a new one after a bounded back-off.  Messages are received on the
 * loop's thread only (natsev's drain, sync subscriptions).
 *
 * Per peer: an open batch of frames, complete messages held back until
 * the library's buffer is under CLUSTER_HANDOFF, sequence numbers and
 * frame counts per link, and its state from heartbeats.
 */
#ifndef MSGROUTER_CLUSTER_H
#define MSGROUTER_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "msgrouter/idmap.h"

struct router;
struct cluster;

/* A batch is published when it reaches this size, or at the pass's end. */
#define CLUSTER_BATCH_MAX	(128 * 1024)
/* Messages are handed to libnats while it buffers less than this. */
#define CLUSTER_HANDOFF		(1024 * 1024)

enum cluster_peer_state {
	CLUSTER_PEER_UNKNOWN = 0,	/* never heard */
	CLUSTER_PEER_UP,
	CLUSTER_PEER_DOWN,
	CLUSTER_PEER_MISMATCH,		/* another secret or id_mode */
};

struct cluster_peer_info {
	unsigned	cpi_node;
	const char	*cpi_state;		/* "up", "down", "mismatch" */
	uint64_t	cpi_last_heartbeat_ms;	/* ago; 0 if never */
	uint64_t	cpi_frames_out;
	uint64_t	cpi_frames_in;
	uint64_t	cpi_dropped_in_transit;
	uint64_t	cpi_paused_senders;
	uint64_t	cpi_link_buffered;	/* ours for the peer: vs link_limit */
};

struct cluster_info {
	unsigned	ci_node;
	const char	*ci_name;
	int		ci_connected;
	char		ci_url[256];		/* without credentials */
	uint64_t	ci_link_buffered;	/* ours and the library's */
	uint64_t	ci_reconnects;
	uint64_t	ci_bad_messages;
	uint64_t	ci_link_limit;		/* cluster.link_limit, per peer */
	size_t		ci_npeers;
	struct cluster_peer_info ci_peers[IDMAP_NODES];
};

/*
 * Start the link for the router (its configuration, id map and node):
 * the connector thread is started at once.  natsev_threads() must have
 * been called before the router's event base was made.  NULL if out of
 * memory or the options are refused (logged).
 */
struct cluster	*cluster_new(struct router *);
/* Stop the connector, drop what is held, close the connection. */
void		 cluster_free(struct cluster *);
/*
 * At exit, after the router's drain: close the open batches and run the
 * loop until the link has handed everything to NATS and the library has
 * written it, or timeout_ms passes (no connection: at once).  Logs what
 * was left behind.
 */
void		 cluster_shutdown(struct cluster *, uint64_t timeout_ms);
/* Apply the live keys (heartbeat, peer_timeout, link_limit). */
void		 cluster_configure(struct cluster *);
/* The node that owns id (idmap_decode, through a cache of owners). */
unsigned	 cluster_owner(struct cluster *, uint32_t id);
/* Whether frames may go to node: it is UP. */
int		 cluster_peer_up(const struct cluster *, unsigned node);
/* Whether node was UP once and is DOWN now (not unknown, not mismatch). */
int		 cluster_peer_down(const struct cluster *, unsigned node);
/* Whether the link to node holds link_limit bytes or more. */
int		 cluster_link_full(const struct cluster *, unsigned node);
/*
 * Append one frame, exactly as the client wrote it (4-byte id, payload,
 * 0x00: len bytes), to node's open batch.  Counted by the caller.  0, or
 * the largest frame a NATS message carries (the server's max_payload less
 * our header) if this one is larger, or -1 if memory ran out: the caller
 * drops the frame then.
 */
long long	 cluster_append(struct cluster *, unsigned node,
		    const unsigned char *frame, size_t len);
/*
 * Publish a PAUSE or RESUME (type, enum clusterproto_type) of n of this
 * node's ids to node, at once; full: a PAUSE that is the complete set
 * node must hold (it may be empty).  -1 if not connected or refused.
 */
int		 cluster_control(struct cluster *, unsigned node, int type,
		    const uint32_t *ids, size_t n, int full);
/* Whether the NATS connection is up. */
int		 cluster_connected(const struct cluster *);
/* The figures for /stats and /metrics. */
void		 cluster_info(const struct cluster *, struct cluster_info *);

#endif
