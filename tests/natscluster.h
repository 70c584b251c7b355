/*
 * A cluster for tests (docs/CLUSTER.md): a real 3-server nats-server
 * cluster ($NATS_SERVER, routes between the three) and msgrouterd nodes on
 * them, all on free loopback ports, and the checks every cluster test
 * makes of /stats.  Used by tests/test_cluster, tests/test_cluster_net and
 * tests/test_soak_cluster.
 *
 * Node i (index 0 .. NC_NODES - 1) has the node number i + 1 and talks to
 * NATS server i; index NC_NODES is free for a test's fourth node.  NATS
 * servers are stopped by pid.  Tests of one node on a server of its own
 * (tests/test_cluster_net: credentials, TLS) use nc_solo_*.
 */
#ifndef NATSCLUSTER_H
#define NATSCLUSTER_H

#include <sys/types.h>

#include <jansson.h>

#include "harness.h"

#define NC_SERVERS	3
#define NC_NODES	3

struct nc_server {
	pid_t	pid;
	int	port;		/* clients */
	int	route_port;
	char	conf[256];
	char	log[256];
	char	url[64];
};

struct ncluster {
	struct nc_server	servers[NC_SERVERS];
	struct daemon		nodes[NC_NODES + 1];
	char			conf_path[256];	/* the nodes' config file */
};

/* Nonzero when $NATS_SERVER names a nats-server (else tests skip). */
int		 nc_have_nats(void);
/* skip() the calling test without a nats-server. */
void		 nc_need_nats(void);

/*
 * Pick ports, write conf (the nodes' config file: at least a [cluster]
 * secret) and start the servers and the first nnodes nodes.
 */
void		 nc_setup(struct ncluster *, const char *conf, int nnodes);
/* Stop every node and server, remove the files. */
void		 nc_teardown(struct ncluster *);

/* A free loopback port (bound, read, closed: the caller binds it next). */
int		 nc_port(void);
/*
 * One nats-server of its own, no routes: a free port, its config
 * "listen: 127.0.0.1:PORT" and extra (TLS, authorization), files named
 * by tag; url is nats://127.0.0.1:PORT.  nc_solo_stop stops it (by pid) and
 * removes its files; nc_solo_log_count counts s in its log (the first
 * 64 KiB).
 */
void		 nc_solo_start(struct nc_server *, const char *tag,
		     const char *extra);
void		 nc_solo_stop(struct nc_server *);
int		 nc_solo_log_count(struct nc_server *, const char *s);

void		 nc_nats_start(struct ncluster *, int i);
void		 nc_nats_stop(struct ncluster *, int i);
/* Node i (number i + 1) on NATS server i, with the shared config. */
void		 nc_node_start(struct ncluster *, int i);

/* GET /stats of node i (the caller json_decref's it). */
json_t		*nc_stats(struct ncluster *, int i);
/* The integer at a dotted path ("cluster.frames_in_total"); fails if none. */
long long	 nc_jint(json_t *, const char *path);
/* The peer object for node in a /stats, or NULL; its state or "unknown". */
json_t		*nc_peer(json_t *stats, int node);
const char	*nc_peer_state(json_t *stats, int node);

/*
 * Wait until every live node (live[i] for index i < NC_NODES) sees every
 * other live node as state, and node_gone (a number, or 0) as down.
 */
void		 nc_wait_peers(struct ncluster *, const int *live,
		     const char *state, int node_gone);

/*
 * The per-node identity from one node's /stats, which holds at every
 * moment (link_queued_frames counts what the links hold): its two sides
 * into *lhs and *rhs, and whether they are equal.
 */
int		 nc_node_identity(json_t *stats, long long *lhs,
		     long long *rhs);
/*
 * The identities, once the links are idle (see tests/test_cluster.c):
 *   received + frames_in = forwarded + every dropped counter + frames_out
 *                          + link_queued_frames        (per node)
 *   frames_out(A -> B) = frames_in(B <- A) + dropped_in_transit(B <- A)
 *                                                      (per live link)
 * nc_identities_hold checks once (verbose: print what differs);
 * nc_expect_identities polls until they hold or fails at the deadline.
 */
int		 nc_identities_hold(struct ncluster *, const int *live,
		     int verbose);
void		 nc_expect_identities(struct ncluster *, const int *live);

#endif
