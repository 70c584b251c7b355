/*
 * listener: one listening socket and its accept back-off.  It binds a TCP
 * address ("ADDR:PORT" or "[V6]:PORT", as the configuration holds it) or
 * a Unix socket ("unix:/PATH"),
 * hands each accepted descriptor to a callback or to an evhttp, and when
 * accept() fails for lack of descriptors or memory (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM) stops accepting for LISTENER_BACKOFF_MS, or until its
 * owner says a connection closed, whichever comes first: a level-triggered
 * listener retrying at once would spin on the connection waiting in the
 * backlog (relayd and tmux back off the same way).
 *
 * What it logs, where [N ] is its name and a space ("admin "; nothing for
 * the routing port, whose lines tests and operators know so):
 *	info	"[N ]listening on ADDR" with the port bound, also for port 0
 *	error	"cannot listen on ADDR (KEY): why", every failure to set up
 *	warn	"[N ]accept on ADDR (KEY): why; pausing [N ]accept for 250 ms"
 *	info	"[N ]accepting connections on ADDR again"
 *	debug	"[N ]accept on ADDR (KEY): why", errors that need no back-off
 *	info	"[N ]removing stale socket unix:/PATH"
 * Every accept() failure bumps the owner's counter, if it gave one.
 *
 * A Unix socket's file gets lc_unix_mode before the socket listens.  A
 * socket file already at the path is replaced only if nothing listens on
 * it (connect() refused); a live one, or a file of another kind, is an
 * error and left alone.  listener_close removes the file if it is still
 * the one bound (same device and inode).
 *
 * The router (router_listen) hands accepted sockets to router_accept_cb,
 * resumes the listener when a client closes (router_detach) and closes it
 * when a drain starts; its lines have no name, so "listening on ADDR" is
 * the routing port's, the line the tests and supervisors take as ready.
 * The admin interface (src/admin.c) is the evhttp case: listener_new_http.
 */
#ifndef MSGROUTER_LISTENER_H
#define MSGROUTER_LISTENER_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <event2/util.h>

struct event_base;
struct evhttp;
struct listener;

/* How long accept stays off after the process runs out of descriptors. */
#define LISTENER_BACKOFF_MS	250
/* listen(2) backlogs: the routing port takes bursts, the admin port few. */
#define LISTENER_BACKLOG_ROUTER	1024
#define LISTENER_BACKLOG_ADMIN	128
/* A Unix socket file's mode when the owner gives none. */
#define LISTENER_UNIX_MODE	0660
/* Longest lc_name. */
#define LISTENER_NAME_MAX	15

/*
 * What a listener is for; its owner keeps one, usually static const.  The
 * listener keeps lc_key: string literals are best.
 */
struct listener_conf {
	const char	*lc_name;	/* log prefix: "admin"; "" for none */
	const char	*lc_key;	/* config key of the address */
	int		 lc_backlog;
	mode_t		 lc_unix_mode;	/* 0: LISTENER_UNIX_MODE */
};

/*
 * A connection was accepted.  fd is non-blocking and close-on-exec, and
 * the callee's to keep or close; sa is the peer, socklen bytes of it.
 */
typedef void	listener_accept_fn(evutil_socket_t fd, struct sockaddr *sa,
		    int socklen, void *arg);

/*
 * Bind and listen on addr, hand each accepted connection to cb with arg,
 * and log "listening on ADDR" with the bound port.  accept_errors, if not
 * NULL, counts accept() failures and must outlive the listener.  NULL with
 * the reason logged on any failure.
 */
struct listener	*listener_new(struct event_base *,
		    const struct listener_conf *, const char *addr,
		    listener_accept_fn *cb, void *arg, uint64_t *accept_errors);
/*
 * The same for an evhttp: it gets each accepted connection.  The evhttp
 * must outlive the listener: free the listener first.
 */
struct listener	*listener_new_http(struct event_base *,
		    const struct listener_conf *, const char *addr,
		    struct evhttp *, uint64_t *accept_errors);
/* Close the socket if still open and free the listener; NULL is fine. */
void		 listener_free(struct listener *);
/*
 * Close the listening socket now, so that new connections are refused (a
 * drain); listener_addr still answers, the rest does nothing.
 */
void		 listener_close(struct listener *);
/*
 * A connection of the owner's closed: if accept is paused, accept again
 * now rather than when the back-off ends.  NULL is fine.
 */
void		 listener_resume(struct listener *);
/* Whether accept is paused by the back-off. */
int		 listener_paused(const struct listener *);
/* The address bound, port 0 resolved (getsockname). */
const struct sockaddr *listener_addr(const struct listener *);

#endif
