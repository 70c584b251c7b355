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
	int			 rt_draining;	/* no new connections or frames */
	int			 rt_drain_done;	/* counts logged, loop exiting */
	struct event		*rt_drain_ev;	/* shutdown_timeout */
	size_t			 rt_drain_pending; /* clients left to flush */
	uint64_t		 rt_drain_queued; /* bytes queued at the start */
	uint64_t		 rt_drain_abandoned;
	struct conn_list	 rt_conns;	/* every open connection */
	struct conn		*rt_dirty;	/* destinations to flush */
	struct stats		 rt_stats;
	struct closed		*rt_closed;	/* recently closed clients */
	struct timespec		 rt_started;	/* CLOCK_MONOTONIC */
	struct sockaddr_storage	 rt_addr;	/* bound listen address */
};

struct router	*router_new(struct event_base *, const struct config *);
void		 router_free(struct router *);
/* Bind and listen on the configured address; -1 with errno-based log. */
int		 router_listen(struct router *);
/* Apply new limits and policy to the router and every connection. */
void		 router_configure(struct router *, const struct config *);
/*
 * Route every complete frame buffered from this sender, then flush the
 * destinations it filled.  Returns -1 if the sender was closed.
 */
int		 router_input(struct router *, struct conn *);
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
/* A draining client's queue emptied or it closed: is the drain over? */
void		 router_drain_settle(struct router *, struct conn *);
/* Total bytes waiting to be written to clients. */
size_t		 router_queued_bytes(const struct router *);
/* Log the counters in one line. */
void		 router_log_stats(const struct router *, const char *);

#endif
