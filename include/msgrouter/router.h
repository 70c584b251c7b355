/*
 * router: the listener, the id registry, forwarding and the slow-consumer
 * policy.  One router per process, driven by one event_base.
 */
#ifndef MSGROUTER_ROUTER_H
#define MSGROUTER_ROUTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include "msgrouter/config.h"
#include "msgrouter/stats.h"

struct closed;
struct event;
struct event_base;
struct evbuffer;
struct evconnlistener;
struct registry;
struct conn;

TAILQ_HEAD(conn_list, conn);

struct router {
	struct event_base	*rt_base;
	struct config		 rt_config;
	struct registry		*rt_registry;
	struct evconnlistener	*rt_listener;
	struct event		*rt_accept_ev;	/* re-enables accept after EMFILE */
	int			 rt_accept_paused;
	int			 rt_draining;	/* no new connections or reads */
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
	struct sockaddr_storage	 rt_addr;	/* bound listen address */
};

struct router	*router_new(struct event_base *, const struct config *);
void		 router_free(struct router *);
/* Bind and listen on the configured address; -1 with errno-based log. */
int		 router_listen(struct router *);
/*
 * Is this accept() error the process or system running out of descriptors
 * or memory, where retrying at once would spin, rather than one failed
 * connection (ECONNABORTED...)?  Every listener backs off on these alone.
 */
int		 router_accept_exhausted(int);
/* Apply new limits and policy to the router and every connection. */
void		 router_configure(struct router *, const struct config *);
/*
 * Route every complete frame buffered from this sender, then flush the
 * destinations it filled.  Returns -1 if the sender was closed.
 */
int		 router_input(struct router *, struct conn *);
/*
 * Take one frame (header, then len bytes of payload and 0x00) off the head
 * of in and append its payload and 0x00 to out: large frames by moving
 * chains, small ones by copying, so that out's memory follows its length.
 */
void		 router_move(struct evbuffer *in, struct evbuffer *out,
		    size_t len);
/* Write out every destination that received data since the last flush. */
void		 router_flush(struct router *);
/* Queue a connection for router_flush. */
void		 router_mark_dirty(struct router *, struct conn *);
/* Forget a connection: registry, dirty list, waiters. */
void		 router_forget(struct router *, struct conn *);
/*
 * Graceful drain: close the listener, stop reading, keep writing what is
 * queued; the loop exits once every queue is empty or shutdown_timeout
 * passes.
 */
void		 router_drain_start(struct router *);
/* End the drain now (second signal): log the counts and exit the loop. */
void		 router_drain_finish(struct router *, const char *why);
/*
 * Something changed for this client during a drain (a write, routing, a
 * close): count it as done or not, and end the drain when all are done.
 */
void		 router_drain_check(struct router *, struct conn *);
/* Total bytes waiting to be written to clients. */
size_t		 router_queued_bytes(const struct router *);
/* Log the counters in one line. */
void		 router_log_stats(const struct router *, const char *);

#endif
