/*
 * Tests of the admin module in one process: query parsing and the token
 * check as plain functions, then a real router and admin interface on an
 * event_base of our own, driven by evhttp's client on the same base, and
 * the collector's pages and top-N on connected clients whose queues we
 * fill by hand.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "msgrouter/admin.h"
#include "msgrouter/config.h"
#include "msgrouter/conn.h"
#include "msgrouter/listener.h"
#include "msgrouter/log.h"
#include "msgrouter/registry.h"
#include "msgrouter/router.h"
#include "msgrouter/stats.h"

#include "harness.h"
#include "inproc.h"

#define DEADLINE_MS	15000

static void
test_query(void **state)
{
	static const struct {
		const char	*q;
		int		 ok;
		size_t		 limit;
		uint64_t	 cursor;
		int		 sort, closed;
	} cases[] = {
		{ NULL, 1, 100, 0, 0, 0 },
		{ "", 1, 100, 0, 0, 0 },
		{ "limit=1", 1, 1, 0, 0, 0 },
		{ "limit=10000&cursor=77", 1, 10000, 77, 0, 0 },
		{ "cursor=0", 1, 100, 0, 0, 0 },
		{ "sort=queued&limit=5", 1, 5, 0, 1, 0 },
		{ "state=closed", 1, 100, 0, 0, 1 },
		{ "state=open&limit=3", 1, 3, 0, 0, 0 },
		{ "state=closed&cursor=12&limit=2", 1, 2, 12, 0, 1 },
		{ "limit=0", 0, 0, 0, 0, 0 },
		{ "limit=10001", 0, 0, 0, 0, 0 },
		{ "limit=abc", 0, 0, 0, 0, 0 },
		{ "limit=-1", 0, 0, 0, 0, 0 },
		{ "limit=", 0, 0, 0, 0, 0 },
		{ "limit=5&limit=6", 0, 0, 0, 0, 0 },
		{ "cursor=x", 0, 0, 0, 0, 0 },
		{ "sort=id", 0, 0, 0, 0, 0 },
		{ "state=gone", 0, 0, 0, 0, 0 },
		{ "sort=queued&cursor=3", 0, 0, 0, 0, 0 },
		{ "sort=queued&state=closed", 0, 0, 0, 0, 0 },
		{ "bogus=1", 0, 0, 0, 0, 0 },
	};
	struct admin_query	q;
	const char		*why;
	size_t			i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		why = NULL;
		if (!cases[i].ok) {
			assert_int_equal(admin_parse_clients_query(cases[i].q,
			    &q, &why), -1);
			assert_non_null(why);
			continue;
		}
		assert_int_equal(admin_parse_clients_query(cases[i].q, &q,
		    &why), 0);
		assert_int_equal(q.aq_limit, cases[i].limit);
		assert_int_equal(q.aq_cursor, cases[i].cursor);
		assert_int_equal(q.aq_sort_queued, cases[i].sort);
		assert_int_equal(q.aq_closed, cases[i].closed);
	}
}

static void
test_token(void **state)
{
	char	long_token[CONFIG_TOKEN_MAX + 16];

	assert_true(admin_token_ok("", NULL));
	assert_true(admin_token_ok("", "Bearer anything"));
	assert_true(admin_token_ok("s3cret", "Bearer s3cret"));
	assert_true(admin_token_ok("s3cret", "bearer s3cret"));
	assert_false(admin_token_ok("s3cret", NULL));
	assert_false(admin_token_ok("s3cret", ""));
	assert_false(admin_token_ok("s3cret", "s3cret"));
	assert_false(admin_token_ok("s3cret", "Basic s3cret"));
	assert_false(admin_token_ok("s3cret", "Bearer s3cre"));
	assert_false(admin_token_ok("s3cret", "Bearer s3cret2"));
	assert_false(admin_token_ok("s3cret", "Bearer S3cret"));
	assert_false(admin_token_ok("s3cret", "Bearer "));
	memset(long_token, 'a', sizeof long_token - 1);
	long_token[sizeof long_token - 1] = '\0';
	memcpy(long_token, "Bearer ", 7);
	assert_false(admin_token_ok("aaaa", long_token));
}

/* A router and its admin interface on loopback, ports chosen by the kernel. */
struct fixture {
	struct inproc		*ip;
	struct event_base	*base;	/* ip's */
	struct router		*rt;	/* ip's */
	struct admin		*ad;
	int			 port;	/* admin */
};

static int
setup(void **state)
{
	struct fixture	*fx = calloc(1, sizeof *fx);
	struct config	 cf;

	log_init(LOG_LEVEL_WARN);
	config_defaults(&cf);
	strcpy(cf.cf_listen, "127.0.0.1:0");
	assert_non_null(fx);
	fx->ip = inproc_new(&cf);
	fx->base = fx->ip->ip_base;
	fx->rt = fx->ip->ip_rt;
	if (router_listen(fx->rt) != 0)
		return -1;
	fx->ad = admin_new(fx->rt);
	if (fx->ad == NULL || admin_listen(fx->ad, "127.0.0.1:0") != 0)
		return -1;
	fx->port = admin_port(fx->ad);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;

	admin_free(fx->ad);
	inproc_free(fx->ip);
	free(fx);
	return 0;
}

struct response {
	int	 done;
	int	 code;		/* 0: no response */
	char	*body;
	char	 type[128];
	char	 www_auth[64];
	char	 allow[64];
	char	 conn[32];
};

static void
copy_header(struct evhttp_request *req, const char *name, char *buf,
    size_t len)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(req),
	    name);

	snprintf(buf, len, "%s", v != NULL ? v : "");
}

static void
response_cb(struct evhttp_request *req, void *arg)
{
	struct response	*r = arg;
	struct evbuffer	*in;
	size_t		 len;

	r->done = 1;
	if (req == NULL || evhttp_request_get_response_code(req) == 0)
		return;
	r->code = evhttp_request_get_response_code(req);
	copy_header(req, "Content-Type", r->type, sizeof r->type);
	copy_header(req, "WWW-Authenticate", r->www_auth, sizeof r->www_auth);
	copy_header(req, "Allow", r->allow, sizeof r->allow);
	copy_header(req, "Connection", r->conn, sizeof r->conn);
	in = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(in);
	r->body = malloc(len + 1);
	evbuffer_remove(in, r->body, len);
	r->body[len] = '\0';
}

static int
response_done(void *arg)
{
	return ((struct response *)arg)->done;
}

/* One request through evhttp's client on the fixture's own loop. */
static void
request(struct fixture *fx, enum evhttp_cmd_type method, const char *path,
    const char *auth, struct response *r)
{
	struct evhttp_connection	*evcon;
	struct evhttp_request		*req;
	struct evkeyvalq		*h;

	memset(r, 0, sizeof *r);
	evcon = evhttp_connection_base_new(fx->base, NULL, "127.0.0.1",
	    (unsigned short)fx->port);
	assert_non_null(evcon);
	req = evhttp_request_new(response_cb, r);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", "127.0.0.1");
	if (auth != NULL)
		evhttp_add_header(h, "Authorization", auth);
	assert_int_equal(evhttp_make_request(evcon, req, method, path), 0);
	inproc_run_until(fx->ip, response_done, r);
	evhttp_connection_free(evcon);
}

static void
response_free(struct response *r)
{
	free(r->body);
	r->body = NULL;
}

/* The response's JSON body, checked to be an object. */
static json_t *
response_json(struct response *r)
{
	json_t	*j;

	assert_string_equal(r->type, "application/json");
	j = json_loads(r->body, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_object(j));
	return j;
}

/* A request whose status must be code; the body is not looked at. */
static void
expect_code(struct fixture *fx, enum evhttp_cmd_type method,
    const char *path, const char *auth, int code)
{
	struct response	r;

	request(fx, method, path, auth, &r);
	assert_int_equal(r.code, code);
	response_free(&r);
}

/* Status and the JSON error body of a failed request. */
static void
expect_error(struct fixture *fx, enum evhttp_cmd_type method,
    const char *path, const char *auth, int code)
{
	struct response	 r;
	json_t		*j;

	request(fx, method, path, auth, &r);
	assert_int_equal(r.code, code);
	j = response_json(&r);
	assert_true(json_is_string(json_object_get(j, "error")));
	assert_true(strlen(json_string_value(json_object_get(j, "error"))) > 0);
	json_decref(j);
	response_free(&r);
}

static void
test_http_errors(void **state)
{
	static const struct {
		enum evhttp_cmd_type	 method;
		const char		*path;
		int			 code;
	} cases[] = {
		{ EVHTTP_REQ_GET, "/nope", 404 },
		{ EVHTTP_REQ_GET, "/stats/", 404 },
		{ EVHTTP_REQ_GET, "/clients/", 404 },
		{ EVHTTP_REQ_GET, "/clients/abc", 404 },
		{ EVHTTP_REQ_GET, "/clients/0", 404 },
		{ EVHTTP_REQ_GET, "/clients/4294967296", 404 },
		{ EVHTTP_REQ_GET, "/clients/12345", 404 },
		{ EVHTTP_REQ_GET, "/clients?limit=10001", 400 },
		{ EVHTTP_REQ_GET, "/clients?limit=ten", 400 },
		{ EVHTTP_REQ_GET, "/clients?sort=size", 400 },
		{ EVHTTP_REQ_DELETE, "/clients/1", 405 },
		{ EVHTTP_REQ_PUT, "/stats", 405 },
	};
	struct fixture	*fx = *state;
	struct response	 r;
	size_t		 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		expect_error(fx, cases[i].method, cases[i].path, NULL,
		    cases[i].code);

	request(fx, EVHTTP_REQ_POST, "/stats", NULL, &r);
	assert_int_equal(r.code, 405);
	assert_string_equal(r.allow, "GET, HEAD");
	response_free(&r);

	/* HEAD: the status and headers of GET, no body. */
	request(fx, EVHTTP_REQ_HEAD, "/stats", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.type, "application/json");
	assert_string_equal(r.body, "");
	response_free(&r);

	/* One request per connection. */
	request(fx, EVHTTP_REQ_GET, "/", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.conn, "close");
	assert_non_null(strstr(r.body, "\"/metrics\""));
	assert_non_null(strstr(r.body, "\"/clients?state=closed\""));
	response_free(&r);
}

static void
test_http_token(void **state)
{
	struct fixture	*fx = *state;
	struct config	*cf = &fx->rt->rt_config;
	struct response	 r;

	strcpy(cf->cf_admin_token, "s3cret");
	expect_error(fx, EVHTTP_REQ_GET, "/stats", NULL, 401);
	request(fx, EVHTTP_REQ_GET, "/metrics", "Bearer wrong", &r);
	assert_int_equal(r.code, 401);
	assert_string_equal(r.www_auth, "Bearer");
	response_free(&r);
	expect_error(fx, EVHTTP_REQ_GET, "/nope", NULL, 401);
	expect_error(fx, EVHTTP_REQ_GET, "/", "Bearer s3cre", 401);

	expect_code(fx, EVHTTP_REQ_GET, "/stats", "Bearer s3cret", 200);
	expect_code(fx, EVHTTP_REQ_GET, "/metrics", "Bearer s3cret", 200);
	/* Probes need no token. */
	expect_code(fx, EVHTTP_REQ_GET, "/healthz", NULL, 200);

	/* A reload changes the token: the next request sees the new one. */
	strcpy(cf->cf_admin_token, "other");
	expect_error(fx, EVHTTP_REQ_GET, "/stats", "Bearer s3cret", 401);
	expect_code(fx, EVHTTP_REQ_GET, "/stats", "Bearer other", 200);
	cf->cf_admin_token[0] = '\0';
	expect_code(fx, EVHTTP_REQ_GET, "/stats", NULL, 200);
}

static void
test_healthz(void **state)
{
	struct fixture	*fx = *state;
	struct response	 r;
	json_t		*j;

	request(fx, EVHTTP_REQ_GET, "/healthz", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "{\"status\":\"ok\"}\n");
	response_free(&r);

	fx->rt->rt_draining = 1;
	request(fx, EVHTTP_REQ_GET, "/healthz", NULL, &r);
	assert_int_equal(r.code, 503);
	assert_string_equal(r.body, "{\"status\":\"draining\"}\n");
	response_free(&r);
	request(fx, EVHTTP_REQ_GET, "/stats", NULL, &r);
	j = response_json(&r);
	assert_true(json_is_true(json_object_get(j, "draining")));
	json_decref(j);
	response_free(&r);
	fx->rt->rt_draining = 0;
}

struct count_arg {
	struct fixture	*fx;
	size_t		 want;
};

static int
clients_connected(void *arg)
{
	struct count_arg *ca = arg;

	return registry_count(ca->fx->rt->rt_registry) == ca->want;
}

/* Connect n raw clients to the router and wait until it has them all. */
static void
connect_clients(struct fixture *fx, int *fds, size_t n)
{
	struct count_arg	 ca = { fx, n };
	size_t			 i;

	for (i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(fds[i] >= 0);
		assert_int_equal(connect(fds[i],
		    listener_addr(fx->rt->rt_listeners[0]),
		    sizeof(struct sockaddr_in)), 0);
	}
	inproc_run_until(fx->ip, clients_connected, &ca);
}

static int
rank_cmp(const void *a, const void *b)
{
	const struct conn_info *x = a, *y = b;

	if (x->ci_queued != y->ci_queued)
		return x->ci_queued > y->ci_queued ? -1 : 1;
	return x->ci_id < y->ci_id ? -1 : x->ci_id > y->ci_id;
}

#define NCLIENTS	40

/*
 * Pages visit every client once; top-N equals a full sort cut at N, ties
 * by id; the snapshot sums the queues.  Queues are filled by hand: the
 * bytes sit in each client's output because nothing flushes it.
 */
static void
test_collector(void **state)
{
	struct fixture		*fx = *state;
	struct conn_info	 all[NCLIENTS], top[NCLIENTS + 10], page[7];
	struct stats_snapshot	 ss;
	struct conn		*c;
	struct response		 r;
	uint32_t		 seen[NCLIENTS], ids[NCLIENTS];
	int			 fds[NCLIENTS];
	static const size_t	 ns[] = { 1, 2, 7, NCLIENTS - 1, NCLIENTS,
				    NCLIENTS + 10 };
	size_t			 i, k, n, got, cursor, pages;
	uint64_t		 sum = 0;
	char			 fill[512];
	json_t			*j, *a;

	connect_clients(fx, fds, NCLIENTS);
	/* Let every id go out, so that the queues hold only our bytes. */
	router_flush(fx->rt);
	memset(fill, 'q', sizeof fill);
	i = 0;
	TAILQ_FOREACH(c, &fx->rt->rt_conns, cn_entry) {
		/* Distinct sizes, with ties, and some empty queues. */
		n = (i * 37) % 11 * 40;
		evbuffer_add(conn_output(c), fill, n);
		sum += n;
		conn_info(c, &all[i++]);
	}
	assert_int_equal(i, NCLIENTS);

	stats_collect(fx->rt, &ss);
	assert_int_equal(ss.ss_connected, NCLIENTS);
	assert_int_equal(ss.ss_accepted, NCLIENTS);
	assert_int_equal(ss.ss_bytes_queued, sum);

	qsort(all, NCLIENTS, sizeof all[0], rank_cmp);
	for (k = 0; k < sizeof ns / sizeof ns[0]; k++) {
		got = stats_clients_top_queued(fx->rt, top, ns[k]);
		assert_int_equal(got, ns[k] < NCLIENTS ? ns[k] : NCLIENTS);
		for (i = 0; i < got; i++) {
			assert_int_equal(top[i].ci_id, all[i].ci_id);
			assert_int_equal(top[i].ci_queued, all[i].ci_queued);
		}
	}
	assert_int_equal(stats_clients_top_queued(fx->rt, top, 0), 0);

	/* Pages of 7: every id exactly once, then cursor 0. */
	cursor = 0;
	n = pages = 0;
	do {
		got = stats_clients_page(fx->rt, &cursor, page, 7);
		assert_true(got <= 7);
		for (i = 0; i < got; i++) {
			assert_true(n < NCLIENTS);
			seen[n++] = page[i].ci_id;
		}
		pages++;
	} while (cursor != 0);
	assert_int_equal(n, NCLIENTS);
	assert_true(pages >= NCLIENTS / 7);
	qsort(seen, n, sizeof seen[0], tc_cmp_u32);
	for (i = 0; i < NCLIENTS; i++)
		ids[i] = all[i].ci_id;
	qsort(ids, NCLIENTS, sizeof ids[0], tc_cmp_u32);
	assert_memory_equal(seen, ids, sizeof ids);

	/* The same top 3 over HTTP, largest first. */
	request(fx, EVHTTP_REQ_GET, "/clients?sort=queued&limit=3", NULL, &r);
	assert_int_equal(r.code, 200);
	j = response_json(&r);
	a = json_object_get(j, "clients");
	assert_int_equal(json_array_size(a), 3);
	assert_true(json_is_null(json_object_get(j, "next_cursor")));
	got = stats_clients_top_queued(fx->rt, top, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(json_integer_value(json_object_get(
		    json_array_get(a, i), "id")), top[i].ci_id);
		assert_int_equal(json_integer_value(json_object_get(
		    json_array_get(a, i), "queued_bytes")), top[i].ci_queued);
	}
	assert_true(top[0].ci_queued >= top[1].ci_queued);
	assert_true(top[0].ci_queued > 0);
	json_decref(j);
	response_free(&r);

	for (i = 0; i < NCLIENTS; i++)
		close(fds[i]);
}

struct eof_arg {
	int	*fds;
	size_t	 n;
	size_t	 closed;
};

/* How many of the fds the server closed (EOF), without blocking. */
static int
count_eof(void *arg)
{
	struct eof_arg	*ea = arg;
	char		 b;
	size_t		 i;

	ea->closed = 0;
	for (i = 0; i < ea->n; i++)
		if (recv(ea->fds[i], &b, 1, MSG_DONTWAIT | MSG_PEEK) == 0)
			ea->closed++;
	return 0;
}

static int
at_least_closed(void *arg)
{
	struct eof_arg	*ea = arg;
	size_t		 want = ea->closed;

	count_eof(arg);
	return ea->closed >= want;
}

#define EXTRA	5

/* Connections the admin port holds: the cap and the /healthz reserve. */
#define HELD	(ADMIN_MAX_CONNS + ADMIN_HEALTHZ_RESERVE)

/*
 * Past ADMIN_MAX_CONNS + ADMIN_HEALTHZ_RESERVE idle connections new ones
 * are closed at once; the count comes back down when they go, so the
 * interface answers again.
 */
static void
test_conn_cap(void **state)
{
	struct fixture		*fx = *state;
	struct sockaddr_in	 sin;
	struct eof_arg		 ea;
	struct response		 r;
	int			 fds[HELD + EXTRA], round;
	size_t			 i;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)fx->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < HELD + EXTRA; i++) {
			fds[i] = socket(AF_INET, SOCK_STREAM, 0);
			assert_int_equal(connect(fds[i],
			    (struct sockaddr *)&sin, sizeof sin), 0);
		}
		ea.fds = fds;
		ea.n = HELD + EXTRA;
		ea.closed = EXTRA;
		inproc_run_until(fx->ip, at_least_closed, &ea);
		/* Exactly the extra ones: the first HELD stay. */
		for (i = 0; i < 20; i++)
			event_base_loop(fx->base, EVLOOP_NONBLOCK);
		count_eof(&ea);
		assert_int_equal(ea.closed, EXTRA);
		for (i = 0; i < HELD + EXTRA; i++)
			close(fds[i]);
		/* Not at once: the server has to see the EOFs first. */
		for (;;) {
			request(fx, EVHTTP_REQ_GET, "/healthz", NULL, &r);
			if (r.code == 200)
				break;
			assert_int_equal(r.code, 0);
		}
		response_free(&r);
	}
}

/* Oversized headers are refused by evhttp; the interface stays up. */
static void
test_big_headers(void **state)
{
	struct fixture		*fx = *state;
	struct sockaddr_in	 sin;
	char			*req, buf[4096];
	size_t			 len = ADMIN_MAX_HEADERS * 2, have = 0;
	ssize_t			 n;
	long long		 deadline;
	int			 fd;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)fx->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	req = malloc(len + 64);
	strcpy(req, "GET /stats HTTP/1.1\r\nX-Big: ");
	memset(req + strlen(req), 'x', len);
	strcpy(req + len, "\r\n\r\n");
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL),
	    (ssize_t)strlen(req));
	free(req);
	/* Answered with an error status and closed: EOF after the reply. */
	deadline = tc_now_ms() + DEADLINE_MS;
	for (;;) {
		event_base_loop(fx->base, EVLOOP_NONBLOCK);
		n = recv(fd, buf + have, sizeof buf - 1 - have, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			break;
		if (n > 0)
			have += (size_t)n;
		assert_true(tc_now_ms() < deadline);
	}
	buf[have] = '\0';
	/* evhttp answers 413 or 400, or resets: never 200. */
	assert_null(strstr(buf, " 200 "));
	close(fd);
	expect_code(fx, EVHTTP_REQ_GET, "/healthz", NULL, 200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_token),
		cmocka_unit_test_setup_teardown(test_http_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_http_token, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_healthz, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collector, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_conn_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_headers, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
