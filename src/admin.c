/*
 * admin: evhttp on the router's event_base.  Each request is answered at
 * once from the router's own state; between requests only the connections'
 * bookkeeping runs (adoption, deadlines, the listener's accept back-off).
 *
 * Bounds: request headers and body sizes, an idle timeout and a deadline
 * on each connection's whole life (a slowloris sender that trickles one
 * header byte at a time is cut at the deadline), a cap on concurrent
 * connections, one request per connection, and /clients pages of at most
 * ADMIN_LIMIT_MAX clients.  The routing port shares nothing with these
 * connections but the loop.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "msgrouter/addr.h"
#include "msgrouter/admin.h"
#include "msgrouter/clock.h"
#include "msgrouter/closed.h"
#include "msgrouter/config.h"
#include "msgrouter/conn.h"
#include "msgrouter/dashboard.h"
#include "msgrouter/listener.h"
#include "msgrouter/log.h"
#include "msgrouter/parse.h"
#include "msgrouter/registry.h"
#include "msgrouter/report.h"
#include "msgrouter/router.h"
#include "msgrouter/stats.h"
#include "msgrouter/tls.h"

#define ADMIN_JSON_TYPE		"application/json"
#define ADMIN_BEARER		"Bearer "
/*
 * The dashboard's files: scripts and styles only from their own files on
 * this port, data only from this port, never framed.
 */
#define ADMIN_DASHBOARD_CSP	"default-src 'none'; script-src 'self'; " \
	"style-src 'self'; img-src 'self' data:; connect-src 'self'; " \
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
#define ADMIN_STR(x)		ADMIN_STR_(x)
#define ADMIN_STR_(x)		#x
/* The admin port's TLS sessions: never resumed on the TLS port. */
#define ADMIN_TLS_SESSION_ID	"msgrouterd-admin"

static const struct listener_conf admin_listener_conf = {
	.lc_name = "admin",
	.lc_key = "admin.listen",
	.lc_backlog = LISTENER_BACKLOG_ADMIN,
};

/* One HTTP connection we count and put a deadline on. */
struct admin_conn {
	struct admin			*ac_admin;
	struct bufferevent		*ac_bev;
	struct evhttp_connection	*ac_evcon;	/* NULL until adopted */
	struct event			*ac_deadline;
	int				 ac_reserve; /* past the cap: /healthz */
	int				 ac_refuse;	/* HTTPS without SSL */
	int				 ac_asked;	/* its request came */
	TAILQ_ENTRY(admin_conn)		 ac_entry;
};

TAILQ_HEAD(admin_conn_list, admin_conn);

struct admin {
	struct router		*ad_router;
	struct evhttp		*ad_http;
	struct listener		*ad_listener;	/* NULL until admin_listen */
	struct event		*ad_adopt_ev;
	struct admin_conn_list	 ad_pending;	/* accepted, not yet adopted */
	struct admin_conn_list	 ad_conns;	/* adopted and counted */
	size_t			 ad_nconns;
	size_t			 ad_nreserve;	/* of ad_nconns, ac_reserve */
};

static void	admin_request_cb(struct evhttp_request *, void *);

/*
 * evhttp_set_bevcb's callback, called for each accepted connection before
 * evhttp makes its connection object around the bufferevent.  libevent 2.1
 * has no hook that hands us the new evhttp_connection, so we keep a
 * reference on the bufferevent and adopt the connection from the loop (the
 * next thing the loop runs: no I/O on the new socket can come first).
 */
/*
 * With admin.tls = yes each connection is a bufferevent_openssl with an SSL
 * from the [tls] context, a new one after a reload like the TLS port's.
 */
static struct bufferevent *
admin_bev_new(struct admin *ad, struct event_base *base, int *refuse)
{
	struct router		*rt = ad->ad_router;
	struct bufferevent	*bev;
	SSL			*ssl;

	*refuse = 0;
	if (!rt->rt_config.cf_admin_tls || rt->rt_tls == NULL)
		return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if ((ssl = tls_ssl_new(rt->rt_tls)) != NULL) {
		/*
		 * The admin port never asks for a client certificate, even
		 * with tls.ca set, and its sessions are its own: the TLS port
		 * shares the context's session cache and ticket keys, and
		 * OpenSSL does not check a certificate again on resumption,
		 * so a session or ticket from here must not resume there (a
		 * different session id context makes it a full handshake).
		 */
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
		if (SSL_set_session_id_context(ssl,
		    (const unsigned char *)ADMIN_TLS_SESSION_ID,
		    sizeof ADMIN_TLS_SESSION_ID - 1) != 1) {
			SSL_free(ssl);
			goto refuse;
		}
		/* libevent owns the SSL from here, and frees it on failure. */
		bev = bufferevent_openssl_socket_new(base, -1, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (bev != NULL) {
			bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
			return bev;
		}
	}
refuse:
	/*
	 * Out of memory: given NULL, evhttp would make a plain bufferevent
	 * itself and answer in clear.  This one is closed at adoption, before
	 * any I/O, and its output is frozen so that nothing can go out in
	 * clear even if there is no memory to adopt it (evhttp's timeout
	 * closes it then).
	 */
	*refuse = 1;
	if ((bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) != NULL)
		(void)evbuffer_freeze(bufferevent_get_output(bev), 0);
	return bev;
}

static struct bufferevent *
admin_bev_cb(struct event_base *base, void *arg)
{
	struct admin		*ad = arg;
	struct admin_conn	*ac;
	struct bufferevent	*bev;
	int			 refuse;

	bev = admin_bev_new(ad, base, &refuse);
	if (bev == NULL || (ac = calloc(1, sizeof *ac)) == NULL)
		return bev;
	ac->ac_refuse = refuse;
	ac->ac_admin = ad;
	ac->ac_bev = bev;
	bufferevent_incref(bev);
	TAILQ_INSERT_TAIL(&ad->ad_pending, ac, ac_entry);
	event_active(ad->ad_adopt_ev, EV_TIMEOUT, 0);
	return bev;
}

/*
 * evhttp freed an adopted connection: forget it.  Its descriptor is free
 * again, so accept need not wait for the end of a back-off.
 */
static void
admin_conn_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct admin_conn	*ac = arg;
	struct admin		*ad = ac->ac_admin;

	evhttp_connection_set_closecb(evcon, NULL, NULL);
	TAILQ_REMOVE(&ad->ad_conns, ac, ac_entry);
	ad->ad_nconns--;
	if (ac->ac_reserve)
		ad->ad_nreserve--;
	event_free(ac->ac_deadline);
	free(ac);
	listener_resume(ad->ad_listener);
}

/* A connection outlived ADMIN_DEADLINE_S: close it, whatever it is doing. */
static void
admin_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admin_conn	*ac = arg;

	log_debug("admin: connection past its %d s deadline, closed",
	    ADMIN_DEADLINE_S);
	/* Calls admin_conn_close_cb, which frees ac and this event. */
	evhttp_connection_free(ac->ac_evcon);
}

/*
 * All the connections are taken: close the oldest one whose request has not
 * come yet (idle, or sending it slowly), so that a new one, /healthz above
 * all, gets in; a connection already answered is never cut.  0, or -1 if
 * every connection has its request.
 */
static int
admin_evict(struct admin *ad)
{
	struct admin_conn	*ac;

	TAILQ_FOREACH(ac, &ad->ad_conns, ac_entry) {
		if (!ac->ac_asked) {
			log_debug("admin: %d connections open, closing the "
			    "oldest without a request", ADMIN_MAX_CONNS +
			    ADMIN_HEALTHZ_RESERVE);
			/* Calls admin_conn_close_cb, which frees ac. */
			evhttp_connection_free(ac->ac_evcon);
			return 0;
		}
	}
	return -1;
}

/*
 * Find the evhttp_connection of each newly accepted bufferevent: evhttp
 * makes it the bufferevent's callback argument.  If evhttp already freed
 * it (out of memory), bufferevent_free cleared the callbacks and our
 * reference kept the bufferevent readable.
 */
static void
admin_adopt_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admin			*ad = arg;
	struct admin_conn		*ac;
	struct evhttp_connection	*evcon;
	bufferevent_data_cb		 readcb;
	struct timeval			 tv = { ADMIN_DEADLINE_S, 0 };
	void				*cbarg;

	while ((ac = TAILQ_FIRST(&ad->ad_pending)) != NULL) {
		TAILQ_REMOVE(&ad->ad_pending, ac, ac_entry);
		bufferevent_getcb(ac->ac_bev, &readcb, NULL, NULL, &cbarg);
		bufferevent_decref(ac->ac_bev);
		evcon = readcb != NULL ? cbarg : NULL;
		if (evcon == NULL) {
			free(ac);
			continue;
		}
		if (ac->ac_refuse) {
			log_warnx("admin: out of memory for TLS, connection "
			    "closed");
			evhttp_connection_free(evcon);
			free(ac);
			continue;
		}
		/*
		 * The cap is enforced here, before the request line is known:
		 * the reserve past it is taken by whoever comes, and
		 * admin_request_cb answers anything but /healthz on it 503.
		 * Idle connections cannot hold it: when all are taken, the
		 * oldest without a request makes room for the new one.
		 */
		if (ad->ad_nconns >= ADMIN_MAX_CONNS + ADMIN_HEALTHZ_RESERVE &&
		    admin_evict(ad) != 0) {
			log_debug("admin: %d connections open, closing a new "
			    "one", ADMIN_MAX_CONNS + ADMIN_HEALTHZ_RESERVE);
			evhttp_connection_free(evcon);
			free(ac);
			continue;
		}
		ac->ac_deadline = evtimer_new(ad->ad_router->rt_base,
		    admin_deadline_cb, ac);
		if (ac->ac_deadline == NULL) {
			evhttp_connection_free(evcon);
			free(ac);
			continue;
		}
		ac->ac_evcon = evcon;
		evtimer_add(ac->ac_deadline, &tv);
		evhttp_connection_set_closecb(evcon, admin_conn_close_cb, ac);
		TAILQ_INSERT_TAIL(&ad->ad_conns, ac, ac_entry);
		if (ad->ad_nconns >= ADMIN_MAX_CONNS) {
			ac->ac_reserve = 1;
			ad->ad_nreserve++;
		}
		ad->ad_nconns++;
	}
}

struct admin *
admin_new(struct router *rt)
{
	struct admin	*ad;

	if ((ad = calloc(1, sizeof *ad)) == NULL)
		return NULL;
	ad->ad_router = rt;
	TAILQ_INIT(&ad->ad_pending);
	TAILQ_INIT(&ad->ad_conns);
	ad->ad_adopt_ev = event_new(rt->rt_base, -1, 0, admin_adopt_cb, ad);
	ad->ad_http = evhttp_new(rt->rt_base);
	if (ad->ad_adopt_ev == NULL || ad->ad_http == NULL) {
		admin_free(ad);
		return NULL;
	}
	evhttp_set_bevcb(ad->ad_http, admin_bev_cb, ad);
	evhttp_set_gencb(ad->ad_http, admin_request_cb, ad);
	evhttp_set_max_headers_size(ad->ad_http, ADMIN_MAX_HEADERS);
	evhttp_set_max_body_size(ad->ad_http, ADMIN_MAX_BODY);
	evhttp_set_timeout(ad->ad_http, ADMIN_IDLE_TIMEOUT_S);
	/* Every method reaches admin_request_cb, which answers 405 in JSON. */
	evhttp_set_allowed_methods(ad->ad_http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	return ad;
}

void
admin_free(struct admin *ad)
{
	struct admin_conn	*ac;

	if (ad == NULL)
		return;
	/*
	 * The listener goes before the evhttp it is bound to (listener.h);
	 * the connections evhttp_free closes then find no listener to resume.
	 */
	listener_free(ad->ad_listener);
	ad->ad_listener = NULL;
	/* Frees every connection; admin_conn_close_cb empties ad_conns. */
	if (ad->ad_http != NULL)
		evhttp_free(ad->ad_http);
	while ((ac = TAILQ_FIRST(&ad->ad_conns)) != NULL) {
		TAILQ_REMOVE(&ad->ad_conns, ac, ac_entry);
		event_free(ac->ac_deadline);
		free(ac);
	}
	while ((ac = TAILQ_FIRST(&ad->ad_pending)) != NULL) {
		TAILQ_REMOVE(&ad->ad_pending, ac, ac_entry);
		bufferevent_decref(ac->ac_bev);
		free(ac);
	}
	if (ad->ad_adopt_ev != NULL)
		event_free(ad->ad_adopt_ev);
	free(ad);
}

int
admin_listen(struct admin *ad, const char *addr)
{
	struct listener_conf	conf = admin_listener_conf;

	conf.lc_unix_mode = (mode_t)ad->ad_router->rt_config.cf_admin_unix_mode;
	/* Its accept() failures count with the routing port's. */
	ad->ad_listener = listener_new_http(ad->ad_router->rt_base,
	    &conf, addr, ad->ad_http,
	    &ad->ad_router->rt_stats.st_accept_errors);
	if (ad->ad_listener == NULL)
		return -1;
	admin_warn_open(ad);
	return 0;
}

void
admin_warn_open(const struct admin *ad)
{
	const struct sockaddr	*sa;
	char			 buf[ADDR_STRLEN];

	if (ad->ad_listener == NULL ||
	    ad->ad_router->rt_config.cf_admin_token[0] != '\0')
		return;
	sa = listener_addr(ad->ad_listener);
	if (addr_is_loopback(sa))
		return;
	log_warnx("admin on %s has no token: anyone who can reach it can "
	    "read /stats, /clients and /metrics", addr_format(sa, buf,
	    sizeof buf));
}

uint16_t
admin_port(const struct admin *ad)
{
	const struct sockaddr	*sa;

	if (ad->ad_listener == NULL)
		return 0;
	sa = listener_addr(ad->ad_listener);
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

int
admin_token_ok(const char *token, const char *authorization)
{
	char		want[CONFIG_TOKEN_MAX], got[CONFIG_TOKEN_MAX];
	size_t		wlen, glen, i;
	unsigned char	diff;

	if (token[0] == '\0')
		return 1;
	if (authorization == NULL || strncasecmp(authorization, ADMIN_BEARER,
	    sizeof ADMIN_BEARER - 1) != 0)
		return 0;
	authorization += sizeof ADMIN_BEARER - 1;
	while (*authorization == ' ')
		authorization++;
	wlen = strnlen(token, sizeof want - 1);
	glen = strnlen(authorization, sizeof got);
	if (glen >= sizeof got)
		return 0;
	/*
	 * Compare whole fixed-size buffers so that the time taken does not
	 * depend on where the first difference is, nor on the token's length.
	 */
	memset(want, 0, sizeof want);
	memset(got, 0, sizeof got);
	memcpy(want, token, wlen);
	memcpy(got, authorization, glen);
	diff = (unsigned char)(wlen != glen);
	for (i = 0; i < sizeof want; i++)
		diff |= (unsigned char)(want[i] ^ got[i]);
	return diff == 0;
}

int
admin_parse_clients_query(const char *query, struct admin_query *q,
    const char **why)
{
	struct evkeyvalq	 kv;
	struct evkeyval		*e, *f;
	uint64_t		 v;
	int			 rv = -1, has_cursor = 0;

	memset(q, 0, sizeof *q);
	q->aq_limit = ADMIN_LIMIT_DEFAULT;
	if (query == NULL)
		return 0;
	TAILQ_INIT(&kv);
	if (evhttp_parse_query_str(query, &kv) != 0) {
		*why = "malformed query string";
		goto out;
	}
	TAILQ_FOREACH(e, &kv, next) {
		for (f = TAILQ_FIRST(&kv); f != e; f = TAILQ_NEXT(f, next)) {
			if (strcmp(f->key, e->key) == 0) {
				*why = "a query parameter is repeated";
				goto out;
			}
		}
		if (strcmp(e->key, "limit") == 0) {
			if (parse_uint(e->value, &v) != 0 ||
			    v < ADMIN_LIMIT_MIN || v > ADMIN_LIMIT_MAX) {
				*why = "limit must be a number from "
				    ADMIN_STR(ADMIN_LIMIT_MIN) " to "
				    ADMIN_STR(ADMIN_LIMIT_MAX);
				goto out;
			}
			q->aq_limit = (size_t)v;
		} else if (strcmp(e->key, "cursor") == 0) {
			if (parse_uint(e->value, &v) != 0) {
				*why = "cursor must be a next_cursor value";
				goto out;
			}
			q->aq_cursor = v;
			has_cursor = 1;
		} else if (strcmp(e->key, "sort") == 0) {
			if (strcmp(e->value, "queued") != 0) {
				*why = "sort must be queued";
				goto out;
			}
			q->aq_sort_queued = 1;
		} else if (strcmp(e->key, "state") == 0) {
			if (strcmp(e->value, "closed") == 0)
				q->aq_closed = 1;
			else if (strcmp(e->value, "open") != 0) {
				*why = "state must be open or closed";
				goto out;
			}
		} else {
			*why = "unknown query parameter: use limit, cursor, "
			    "sort or state";
			goto out;
		}
	}
	if (q->aq_sort_queued && (has_cursor || q->aq_closed)) {
		*why = "sort=queued takes neither cursor nor state=closed";
		goto out;
	}
	rv = 0;
out:
	evhttp_clear_headers(&kv);
	return rv;
}

/* Send body (may be NULL) with a status and our common headers. */
static void
admin_reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, struct evbuffer *body)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	char			 len[32];

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	/*
	 * libevent 2.1 writes the body of a HEAD reply and leaves out its
	 * length: give the length GET would have, and no body.
	 */
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD &&
	    body != NULL) {
		snprintf(len, sizeof len, "%zu", evbuffer_get_length(body));
		evhttp_add_header(h, "Content-Length", len);
		evbuffer_drain(body, evbuffer_get_length(body));
	}
	evhttp_send_reply(req, code, reason, body);
}

/* Reply with a JSON value, taking the reference; 500 if it is NULL. */
static void
admin_reply_json(struct evhttp_request *req, int code, const char *reason,
    json_t *v)
{
	struct evbuffer	*body;

	if (v == NULL || (body = evbuffer_new()) == NULL) {
		json_decref(v);
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	if (report_dump_json(body, v) != 0 || evbuffer_add(body, "\n", 1) != 0) {
		json_decref(v);
		evbuffer_free(body);
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	json_decref(v);
	admin_reply(req, code, reason, ADMIN_JSON_TYPE, body);
	evbuffer_free(body);
}

/* Reply {"error": msg}. */
static void
admin_error(struct evhttp_request *req, int code, const char *reason,
    const char *msg)
{
	admin_reply_json(req, code, reason, json_pack("{s:s}", "error", msg));
}

/* GET /: the endpoints. */
static void
admin_index(struct admin *ad, struct evhttp_request *req, const char *query)
{
	admin_reply_json(req, 200, "OK", json_pack("{s:s,s:{s:s,s:s,s:s,s:s,"
	    "s:s,s:s,s:s,s:s,s:s}}",
	    "service", "msgrouterd admin",
	    "endpoints",
	    "/stats", "counters, gauges and effective limits (JSON)",
	    "/clients", "connected clients, paged: ?limit=N&cursor=C",
	    "/clients?sort=queued", "the clients with the most queued bytes",
	    "/clients?state=closed", "recently closed clients and why",
	    "/clients/ID", "one connected client",
	    "/metrics", "Prometheus text format 0.0.4",
	    "/healthz", "200 while accepting, 503 while draining",
	    "/dashboard", "the dashboard for browsers (HTML; also / with "
	    "Accept: text/html)",
	    "/", "this index"));
}

/* GET /stats. */
static void
admin_stats(struct admin *ad, struct evhttp_request *req, const char *query)
{
	struct stats_snapshot	ss;

	stats_collect(ad->ad_router, &ss);
	admin_reply_json(req, 200, "OK", report_stats_json(&ss));
}

/* GET /metrics. */
static void
admin_metrics(struct admin *ad, struct evhttp_request *req, const char *query)
{
	struct stats_snapshot	 ss;
	struct evbuffer		*body;

	stats_collect(ad->ad_router, &ss);
	if ((body = evbuffer_new()) == NULL ||
	    report_stats_prometheus(body, &ss) != 0) {
		if (body != NULL)
			evbuffer_free(body);
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	admin_reply(req, 200, "OK", REPORT_PROMETHEUS_TYPE, body);
	evbuffer_free(body);
}

/* GET /healthz: open to probes, no token. */
static void
admin_healthz(struct admin *ad, struct evhttp_request *req, const char *query)
{
	if (ad->ad_router->rt_draining)
		admin_reply_json(req, 503, "Service Unavailable",
		    json_pack("{s:s}", "status", "draining"));
	else
		admin_reply_json(req, 200, "OK",
		    json_pack("{s:s}", "status", "ok"));
}

/*
 * GET /clients?state=closed: clients and rejections merged, newest first,
 * from seq aq_cursor down.
 */
static int
admin_clients_closed(struct admin *ad, const struct admin_query *q,
    struct evbuffer *body)
{
	const struct closed_entry	**ce;
	uint64_t			 next;
	size_t				 n, max;
	int				 rv;

	max = q->aq_limit < CLOSED_RING_SIZE + CLOSED_REJECTED_SIZE ?
	    q->aq_limit : CLOSED_RING_SIZE + CLOSED_REJECTED_SIZE;
	if ((ce = calloc(max, sizeof *ce)) == NULL)
		return -1;
	n = closed_page(ad->ad_router->rt_closed, q->aq_cursor, ce, max,
	    &next);
	rv = report_closed_list_json(body, ce, n, clock_now_ms(), next);
	free(ce);
	return rv;
}

/* GET /clients: a page in registry order, or the top N by queued bytes. */
static void
admin_clients(struct admin *ad, struct evhttp_request *req, const char *query)
{
	struct admin_query	 q;
	struct conn_info	*ci = NULL;
	struct evbuffer		*body;
	const char		*why;
	size_t			 n, cursor;
	int			 rv;

	if (admin_parse_clients_query(query, &q, &why) != 0) {
		admin_error(req, 400, "Bad Request", why);
		return;
	}
	if ((body = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	if (q.aq_closed)
		rv = admin_clients_closed(ad, &q, body);
	else if ((ci = calloc(q.aq_limit, sizeof *ci)) == NULL)
		rv = -1;
	else if (q.aq_sort_queued) {
		n = stats_clients_top_queued(ad->ad_router, ci, q.aq_limit);
		rv = report_clients_json(body, ci, n, clock_now_ms(), 0);
	} else {
		cursor = (size_t)q.aq_cursor;
		n = stats_clients_page(ad->ad_router, &cursor, ci, q.aq_limit);
		rv = report_clients_json(body, ci, n, clock_now_ms(), cursor);
	}
	free(ci);
	if (rv == 0 && evbuffer_add(body, "\n", 1) == 0)
		admin_reply(req, 200, "OK", ADMIN_JSON_TYPE, body);
	else
		evhttp_send_error(req, 500, "Internal Server Error");
	evbuffer_free(body);
}

/* GET /clients/ID. */
static void
admin_client(struct admin *ad, struct evhttp_request *req, const char *idstr)
{
	struct conn		*c = NULL;
	struct conn_info	 ci;
	uint64_t		 id;

	if (parse_uint(idstr, &id) == 0 && id != 0 && id <= UINT32_MAX)
		c = registry_find(ad->ad_router->rt_registry, (uint32_t)id);
	if (c == NULL) {
		admin_error(req, 404, "Not Found", "no client with this id");
		return;
	}
	conn_info(c, &ci);
	admin_reply_json(req, 200, "OK", report_client_detail_json(&ci,
	    clock_now_ms()));
}

/*
 * The dashboard's file for this request, or NULL: its own paths, and / for
 * a browser (an Accept header naming text/html); other clients of / keep
 * the JSON index.
 */
static const struct dashboard_asset *
admin_asset_for(struct evhttp_request *req, const char *path)
{
	const char	*accept;

	if (strcmp(path, "/") == 0) {
		accept = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "Accept");
		if (accept != NULL && strstr(accept, "text/html") != NULL)
			return dashboard_page();
		return NULL;
	}
	return dashboard_find(path);
}

/*
 * Serve one of the dashboard's files.  They hold no figures (the script
 * fetches those with the token), so they need none.  The body refers to
 * the built-in bytes: nothing is copied.
 */
static void
admin_asset(struct evhttp_request *req, const struct dashboard_asset *da)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*body;

	if ((body = evbuffer_new()) == NULL ||
	    evbuffer_add_reference(body, da->da_data, da->da_len, NULL,
	    NULL) != 0) {
		if (body != NULL)
			evbuffer_free(body);
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	evhttp_add_header(h, "Content-Security-Policy", ADMIN_DASHBOARD_CSP);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	admin_reply(req, 200, "OK", da->da_type, body);
	evbuffer_free(body);
}

/*
 * The request's connection has had its request (admin_evict spares it
 * now); 1 if it is one of the /healthz reserve.  A walk of at most
 * ADMIN_MAX_CONNS + ADMIN_HEALTHZ_RESERVE: libevent 2.1 gives no way back
 * from a connection to our record.
 */
static int
admin_on_reserve(struct admin *ad, struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct admin_conn		*ac;

	evcon = evhttp_request_get_connection(req);
	TAILQ_FOREACH(ac, &ad->ad_conns, ac_entry) {
		if (ac->ac_evcon == evcon) {
			ac->ac_asked = 1;
			return ac->ac_reserve;
		}
	}
	return 0;
}

static const struct admin_route {
	const char	*ar_path;
	void		(*ar_fn)(struct admin *, struct evhttp_request *,
			    const char *);
} admin_routes[] = {
	{ "/",		admin_index },
	{ "/stats",	admin_stats },
	{ "/clients",	admin_clients },
	{ "/metrics",	admin_metrics },
	{ "/healthz",	admin_healthz },
};

#define ADMIN_CLIENT_PREFIX	"/clients/"

/*
 * Every request: the /healthz reserve, method, then the dashboard's files
 * (no token), then token (all but /healthz), then path.  One
 * request per connection: Connection: close bounds what an idle keep-alive
 * client holds, and makes the deadline per request.
 */
static void
admin_request_cb(struct evhttp_request *req, void *arg)
{
	struct admin		*ad = arg;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type	 method = evhttp_request_get_command(req);
	const struct dashboard_asset	*da;
	const char		*path, *query, *auth;
	size_t			 i;

	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	if (path == NULL || path[0] == '\0')
		path = "/";
	log_debug("admin: %s %s", method == EVHTTP_REQ_HEAD ? "HEAD" :
	    method == EVHTTP_REQ_GET ? "GET" : "other", path);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Connection", "close");

	if (admin_on_reserve(ad, req) && strcmp(path, "/healthz") != 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", "1");
		admin_error(req, 503, "Service Unavailable",
		    "too many admin connections: only /healthz is answered "
		    "past " ADMIN_STR(ADMIN_MAX_CONNS));
		return;
	}
	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		admin_error(req, 405, "Method Not Allowed",
		    "only GET and HEAD are allowed");
		return;
	}
	if ((da = admin_asset_for(req, path)) != NULL) {
		admin_asset(req, da);
		return;
	}
	if (strcmp(path, "/healthz") != 0) {
		/* Read at each request: a reload may change the token. */
		auth = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "Authorization");
		if (!admin_token_ok(ad->ad_router->rt_config.cf_admin_token,
		    auth)) {
			evhttp_add_header(evhttp_request_get_output_headers(req),
			    "WWW-Authenticate", "Bearer");
			admin_error(req, 401, "Unauthorized",
			    "missing or wrong bearer token");
			return;
		}
	}
	for (i = 0; i < sizeof admin_routes / sizeof admin_routes[0]; i++) {
		if (strcmp(path, admin_routes[i].ar_path) == 0) {
			admin_routes[i].ar_fn(ad, req, query);
			return;
		}
	}
	if (strncmp(path, ADMIN_CLIENT_PREFIX,
	    sizeof ADMIN_CLIENT_PREFIX - 1) == 0) {
		admin_client(ad, req, path + sizeof ADMIN_CLIENT_PREFIX - 1);
		return;
	}
	admin_error(req, 404, "Not Found", "no such endpoint: see /");
}
