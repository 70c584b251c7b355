/*
 * inproc: a router in the test's own process, on an event_base of its own,
 * for unit tests that drive the real router and conn code a step at a
 * time.  Clients are socketpairs whose one end is handed to router_attach
 * as an accepted socket would be; nothing listens unless the test calls
 * router_listen.  Every function fails the running cmocka test itself.
 */
#ifndef MSGROUTER_TESTS_INPROC_H
#define MSGROUTER_TESTS_INPROC_H

#include <stdint.h>

struct config;
struct conn;
struct event_base;
struct router;

struct inproc {
	struct event_base	*ip_base;
	struct router		*ip_rt;
};

/* A client of the router: its struct conn and the test's end. */
struct inproc_client {
	struct conn	*ic_conn;
	int		 ic_fd;		/* blocking; -1 once closed */
	uint32_t	 ic_id;		/* 0 until read (inproc_connect) */
};

/* A router with cf (NULL: config_defaults) on a new event_base. */
struct inproc	*inproc_new(const struct config *cf);
/* Free the router, which closes its clients, then the event_base. */
void		 inproc_free(struct inproc *);
/*
 * A socketpair as a client from 127.0.0.1: the router's end, non-blocking,
 * to router_attach; the test's end, blocking, into ic_fd.  With bufsz > 0,
 * both ends' SO_SNDBUF and SO_RCVBUF are set to it first.  The client is
 * NEW, with its id queued and not yet written.
 */
void		 inproc_attach(struct inproc *, struct inproc_client *,
		    int bufsz);
/* inproc_attach, then router_flush, and read the client's id into ic_id. */
void		 inproc_connect(struct inproc *, struct inproc_client *,
		    int bufsz);
/*
 * Run the loop, one blocking pass at a time, until done(arg) holds; the
 * test fails, naming the caller's line, if it does not within
 * HARNESS_TIMEOUT_MS.
 */
#define inproc_run_until(ip, done, arg)					\
	inproc_run_until_at((ip), (done), (arg), __FILE__, __LINE__)
/* inproc_run_until *counter reaches want, which it must then equal. */
#define inproc_run_until_count(ip, counter, want)			\
	inproc_run_until_count_at((ip), (counter), (want), __FILE__, __LINE__)
void		 inproc_run_until_at(struct inproc *, int (*done)(void *),
		    void *arg, const char *file, int line);
void		 inproc_run_until_count_at(struct inproc *,
		    const uint64_t *counter, uint64_t want, const char *file,
		    int line);

#endif
