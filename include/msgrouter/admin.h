/*
 * admin: the operators' HTTP interface on its own port, served by evhttp in
 * the router's event_base: /stats, /clients, /metrics, /healthz and an
 * index.  Each request reads the router's state as it is then: /stats,
 * /metrics and the /clients pages through the stats collector (stats.h),
 * /clients?state=closed from the ring of closed clients, /clients/ID from
 * the registry and /healthz from the drain flag; the report formatters
 * render the replies.  It changes nothing in the router but one counter:
 * its accept() failures add to the router's accept_errors.  Every request,
 * connection and response is bounded.
 */
#ifndef MSGROUTER_ADMIN_H
#define MSGROUTER_ADMIN_H

#include <stddef.h>
#include <stdint.h>

struct router;
struct admin;

/* Bounds of the interface; see docs/ADMIN.md. */
#define ADMIN_LIMIT_DEFAULT	100	/* clients per /clients page */
/* Plain numbers: admin.c spells them out in the 400 reply. */
#define ADMIN_LIMIT_MIN		1
#define ADMIN_LIMIT_MAX		10000
#define ADMIN_MAX_CONNS		64	/* concurrent HTTP connections */
/*
 * Connections accepted past ADMIN_MAX_CONNS for /healthz alone: a probe
 * still gets its answer while the cap is full.  Any other request on one
 * of them is answered 503.
 */
#define ADMIN_HEALTHZ_RESERVE	8
#define ADMIN_MAX_HEADERS	8192	/* request line and headers, bytes */
#define ADMIN_MAX_BODY		1024	/* request body, bytes */
#define ADMIN_IDLE_TIMEOUT_S	5	/* no progress reading or writing */
#define ADMIN_DEADLINE_S	10	/* a connection's whole life */

/* What GET /clients asks for, once its query string is checked. */
struct admin_query {
	size_t		aq_limit;
	uint64_t	aq_cursor;	/* 0: from the start */
	int		aq_sort_queued;	/* top aq_limit by queued bytes */
	int		aq_closed;	/* the ring of closed clients */
};

/* An admin interface for the router, not yet listening; NULL on failure. */
struct admin	*admin_new(struct router *);
/* Close every admin connection and the listener. */
void		 admin_free(struct admin *);
/*
 * Listen on "ADDR:PORT" and log "admin listening on ADDR:PORT" with the
 * port bound; -1 with a logged reason naming the address and admin.listen.
 * Accept backs off as on the routing port (listener.h).
 */
int		 admin_listen(struct admin *, const char *addr);
/*
 * Warn if the interface answers other hosts without a token: bound to an
 * address that is not loopback while admin.token is empty.  Called after
 * admin_listen and after each reload, as the token may change then.
 */
void		 admin_warn_open(const struct admin *);
/* The port admin_listen bound (useful with port 0); 0 before. */
uint16_t	 admin_port(const struct admin *);
/*
 * Check a /clients query string (NULL: none).  Returns 0, or -1 with a
 * message for the 400 reply in *why.
 */
int		 admin_parse_clients_query(const char *, struct admin_query *,
		    const char **why);
/*
 * Whether an Authorization header value grants access when the configured
 * token is token ("" grants everything).  Constant time in the token.
 */
int		 admin_token_ok(const char *token, const char *authorization);

#endif
