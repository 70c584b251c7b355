/*
 * Integration tests of a cluster node's network setup (docs/CLUSTER.md,
 * "Configuration" and the walk-through's production notes): NATS URLs
 * with a user and password or a token, tls:// with the operator's CA (and
 * a client certificate), and router.reuseport with the systemd template
 * unit.  Each test starts nats-server(s) of its own on free loopback ports
 * (tests/natscluster.h, nc_solo_*), stopped by pid; skipped without a
 * nats-server.
 *
 * Credentials must never show: not in /stats, /metrics or /healthz, not in
 * any log line, not in msgrouterd -t.  A tls:// URL means TLS whatever the
 * server says, and a server certificate that the named CA did not sign is
 * refused (logged, retried with back-off, local routing unharmed).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "msgrouter/client.h"
#include "harness.h"
#include "http_client.h"
#include "natscluster.h"

#define SECRET		"test-cluster-net-secret-0123456789"
#define PASSWORD	"pw@S3cret-Zq"	/* an '@': libnats splits at the last */
#define TOKEN		"T0ken-Xq81v"

static char		certs[256];	/* tests/tls-certs.sh's files */
/* Every test's nats-servers, stopped by net_teardown if it fails. */
static struct nc_server	srv[2];

/* Write a node's config file: the secret, then more (may be ""). */
static void
conf_write(char *path, size_t len, const char *tag, const char *more)
{
	char	text[2048];

	harness_tmp_path(path, len, tag);
	snprintf(text, sizeof text, "[cluster]\nsecret = " SECRET "\n"
	    "heartbeat = 200ms\npeer_timeout = 1s\n%s", more);
	harness_write_file(path, text);
}

/* Node number node on url with the config at conf; listen may be NULL. */
static void
node_start(struct daemon *d, const char *conf, const char *url, int node,
    const char *listen)
{
	char		 num[8];
	const char	*args[] = { "-c", conf, "--admin", "127.0.0.1:0",
			    "--cluster-nats", url, "--node", num,
			    listen != NULL ? "-l" : NULL, listen, NULL };

	snprintf(num, sizeof num, "%d", node);
	harness_start(d, args);
}

/* /stats' cluster object, as a new reference. */
static json_t *
cluster_stats(struct daemon *d)
{
	json_t	*s = daemon_admin_json(d, "/stats");
	json_t	*c = json_object_get(s, "cluster");

	assert_non_null(c);
	json_incref(c);
	json_decref(s);
	return c;
}

static int
nats_connected(struct daemon *d)
{
	json_t	*c = cluster_stats(d);
	int	 up = json_is_true(json_object_get(c, "nats_connected"));

	json_decref(c);
	return up;
}

static void
wait_connected(struct daemon *d)
{
	long long	deadline = tc_now_ms() + HARNESS_TIMEOUT_MS;

	while (!nats_connected(d)) {
		if (tc_now_ms() > deadline)
			fail_msg("node not connected to NATS in time");
		usleep(20000);
	}
}

/* Wait until d sees node as state. */
static void
wait_peer(struct daemon *d, int node, const char *state)
{
	long long	 deadline = tc_now_ms() + HARNESS_TIMEOUT_MS;
	json_t		*s;
	int		 ok;

	for (;;) {
		s = daemon_admin_json(d, "/stats");
		ok = strcmp(nc_peer_state(s, node), state) == 0;
		json_decref(s);
		if (ok)
			return;
		if (tc_now_ms() > deadline)
			fail_msg("node %d not %s in time", node, state);
		usleep(20000);
	}
}

/* Wait until the server's log holds n lines with s. */
static void
wait_server_log(struct nc_server *ns, const char *s, int n)
{
	long long	deadline = tc_now_ms() + HARNESS_TIMEOUT_MS;

	while (nc_solo_log_count(ns, s) < n) {
		if (tc_now_ms() > deadline)
			fail_msg("nats-server log: %d of \"%s\" wanted, "
			    "%d seen", n, s, nc_solo_log_count(ns, s));
		usleep(20000);
	}
}

/* GET path; the body (and head) must not hold word.  Returns the status. */
static int
admin_without(struct daemon *d, const char *path, const char *word)
{
	struct http_response	r;
	int			status;

	assert_int_equal(http_request(d->admin_port, "GET", path, NULL, &r,
	    HARNESS_TIMEOUT_MS), 0);
	if (strstr(r.body, word) != NULL || strstr(r.head, word) != NULL)
		fail_msg("%s shows \"%s\"", path, word);
	status = r.status;
	http_response_free(&r);
	return status;
}

/* word is nowhere: admin pages and every log line. */
static void
expect_hidden(struct daemon *d, const char *word)
{
	assert_int_equal(admin_without(d, "/stats", word), 200);
	assert_int_equal(admin_without(d, "/metrics", word), 200);
	assert_int_equal(admin_without(d, "/healthz", word), 200);
	assert_int_equal(daemon_log_count(d, word), 0);
}

/* msgrouterd -t with url: cluster.nats shown as want, word nowhere. */
static void
check_config_hidden(const char *conf, const char *url, const char *want,
    const char *word)
{
	char		 out[16384], err[4096], line[512];
	const char	*args[] = { "-c", conf, "--cluster-nats", url,
			    "--node", "1", "-t", NULL };

	assert_int_equal(daemon_run(args, out, sizeof out, err, sizeof err),
	    0);
	snprintf(line, sizeof line, "cluster.nats = %s  # flag\n", want);
	if (strstr(out, line) == NULL)
		fail_msg("-t does not print \"%s\":\n%s", line, out);
	assert_null(strstr(out, word));
	assert_null(strstr(err, word));
}

/*
 * A node on a server that wants credentials, given in the URL: connected,
 * cluster.nats_url without them, and them nowhere (word is the secret
 * part), before and after its exit.
 */
static void
credentials_case(const char *auth, const char *cred, const char *word)
{
	struct nc_server	*ns = &srv[0];
	struct daemon		 d;
	char			 conf[256], url[256], shown[128];
	json_t			*c;

	nc_need_nats();
	nc_solo_start(ns, "auth", auth);
	conf_write(conf, sizeof conf, "auth-node.conf", "");
	snprintf(url, sizeof url, "nats://%s@127.0.0.1:%d", cred, ns->port);
	snprintf(shown, sizeof shown, "nats://(hidden)@127.0.0.1:%d",
	    ns->port);
	node_start(&d, conf, url, 1, NULL);
	wait_connected(&d);
	c = cluster_stats(&d);
	assert_string_equal(json_string_value(json_object_get(c, "nats_url")),
	    shown);
	json_decref(c);
	harness_wait_log(&d, "nats: connected to nats://(hidden)@127.0.0.1:",
	    1);
	expect_hidden(&d, word);
	check_config_hidden(conf, url, shown, word);
	harness_stop(&d);
	assert_int_equal(daemon_log_count(&d, word), 0);
	nc_solo_stop(ns);
	unlink(conf);
}

/* nats://USER:PASSWORD@HOST:PORT, the password with an '@' in it. */
static void
test_user_password(void **state)
{
	credentials_case("authorization { user: u, password: \"" PASSWORD
	    "\" }", "u:" PASSWORD, "S3cret");
}

/* nats://TOKEN@HOST:PORT. */
static void
test_token(void **state)
{
	credentials_case("authorization { token: \"" TOKEN "\" }", TOKEN,
	    TOKEN);
}

/*
 * A wrong password: a clear error naming the URL without credentials,
 * logged once; retried with back-off (the server sees the attempts, the
 * fifth not before 750 ms: 50-100, 100-200, 200-400, 400-800 ms apart at
 * least); local routing goes on, /healthz 200 says NATS is down.
 */
static void
test_wrong_password(void **state)
{
	struct nc_server	*ns = &srv[0];
	struct daemon		 d;
	struct http_response	 r;
	char			 conf[256], url[256], want[256];
	long long		 t0, dt;
	uint32_t		 ida, idb;
	int			 a, b;
	json_t			*j;

	nc_need_nats();
	nc_solo_start(ns, "auth", "authorization { user: u, password: \""
	    PASSWORD "\" }");
	conf_write(conf, sizeof conf, "auth-node.conf", "");
	snprintf(url, sizeof url, "nats://u:wrong-Pw7@127.0.0.1:%d", ns->port);
	t0 = tc_now_ms();
	node_start(&d, conf, url, 1, NULL);
	snprintf(want, sizeof want, "nats: cannot connect to "
	    "nats://(hidden)@127.0.0.1:%d: Authentication Violation: "
	    "Authorization Violation (retrying)", ns->port);
	harness_wait_log(&d, want, 1);
	wait_server_log(ns, "authentication error", 5);
	dt = tc_now_ms() - t0;
	assert_true(dt >= 750);
	/* Logged once for the lot. */
	assert_int_equal(daemon_log_count(&d, "cannot connect"), 1);
	assert_false(nats_connected(&d));

	a = tc_connect(&d, &ida);
	b = tc_connect(&d, &idb);
	assert_true(a >= 0 && b >= 0);
	tc_ping_pong(a, ida, b, idb, 10);
	close(a);
	close(b);
	assert_int_equal(http_request(d.admin_port, "GET", "/healthz", NULL,
	    &r, HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(r.status, 200);
	j = json_loads(r.body, 0, NULL);
	http_response_free(&r);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "nats")),
	    "down");
	json_decref(j);
	expect_hidden(&d, "wrong-Pw7");
	harness_stop(&d);
	assert_int_equal(daemon_log_count(&d, "wrong-Pw7"), 0);
	nc_solo_stop(ns);
	unlink(conf);
}

/* Frames of 1 to 4000 bytes of every value but 0, both ways, in order. */
static void
exchange_exact(int a, uint32_t ida, int b, uint32_t idb)
{
	static char	frame[4 + 4001], want[4001];
	size_t		len, i;
	uint32_t	dst;
	int		k, from;

	for (k = 0; k < 60; k++) {
		len = 1 + (size_t)(k * 677) % 4000;
		for (i = 0; i < len; i++)
			want[i] = (char)(1 + (k + i * 7) % 255);
		want[len] = '\0';
		from = k % 2 == 0 ? a : b;
		dst = htonl(k % 2 == 0 ? idb : ida);
		memcpy(frame, &dst, 4);
		memcpy(frame + 4, want, len + 1);
		assert_int_equal(tc_write(from, frame, 4 + len + 1), 0);
		assert_int_equal(tc_expect(k % 2 == 0 ? b : a, want, len + 1,
		    HARNESS_TIMEOUT_MS), 0);
	}
}

/* The port of d's "tls listening on 127.0.0.1:PORT" log line. */
static int
tls_port(struct daemon *d)
{
	static const char	 mark[] = "tls listening on 127.0.0.1:";
	char			 buf[16384], *p;
	FILE			*f;
	size_t			 n;

	assert_non_null(f = fopen(d->log_path, "r"));
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_non_null(p = strstr(buf, mark));
	return atoi(p + sizeof mark - 1);
}

/*
 * A TLS client of d (the library, verifying d's certificate against the
 * test CA) and plain client b of another node: a message each way.  Both
 * of d's OpenSSL users at work: its TLS port on the loop, libnats's TLS
 * to NATS.
 */
static void
tls_client_exchange(struct daemon *d, int b, uint32_t idb)
{
	struct mr_tls		*tls;
	struct mr_client	*c;
	char			 hostport[64], path[300], buf[64];
	const char		*msg;
	size_t			 len;

	assert_non_null(tls = mr_tls_new());
	snprintf(path, sizeof path, "%s/ca.pem", certs);
	assert_int_equal(mr_tls_set_ca(tls, path), MR_OK);
	snprintf(hostport, sizeof hostport, "127.0.0.1:%d", tls_port(d));
	assert_int_equal(mr_client_connect_tls(hostport, tls,
	    HARNESS_TIMEOUT_MS, &c), MR_OK);
	assert_int_equal(mr_client_send(c, idb, "over TLS twice", 14,
	    HARNESS_TIMEOUT_MS), MR_OK);
	tc_expect_msg(b, "over TLS twice");
	snprintf(buf, sizeof buf, "back to %08x", mr_client_id(c));
	assert_int_equal(tc_send(b, mr_client_id(c), buf), 0);
	assert_int_equal(mr_client_recv(c, HARNESS_TIMEOUT_MS, &msg, &len),
	    MR_OK);
	assert_int_equal(len, strlen(buf));
	assert_memory_equal(msg, buf, len);
	mr_client_close(c);
	mr_tls_free(tls);
}

/*
 * tls:// with the operator's CA: a nats-server that requires TLS and a
 * client certificate, two nodes with nats_ca, nats_cert and nats_key
 * route to each other byte-exact.  Node 1 also serves clients over TLS
 * ([tls]), and one of them talks to node 2: OpenSSL is then initialised
 * before libnats, the order in which libnats 3.4's cleanup at exit would
 * crash the daemon (harness_stop wants exit status 0).
 */
static void
test_tls(void **state)
{
	struct nc_server	*ns = &srv[0];
	struct daemon		 d1, d2;
	char			 extra[1024], more[1024], conf1[256];
	char			 conf2[256], url[128];
	uint32_t		 ida, idb;
	int			 a, b;
	json_t			*c;

	nc_need_nats();
	snprintf(extra, sizeof extra, "tls {\n  cert_file: \"%s/server.pem\"\n"
	    "  key_file: \"%s/server.key\"\n  ca_file: \"%s/ca.pem\"\n"
	    "  verify: true\n}\n", certs, certs, certs);
	nc_solo_start(ns, "tls", extra);
	snprintf(url, sizeof url, "tls://127.0.0.1:%d", ns->port);
	snprintf(more, sizeof more, "nats_ca = %s/ca.pem\n"
	    "nats_cert = %s/client.pem\nnats_key = %s/client.key\n", certs,
	    certs, certs);
	conf_write(conf2, sizeof conf2, "tls-node2.conf", more);
	snprintf(more + strlen(more), sizeof more - strlen(more),
	    "[tls]\nlisten = 127.0.0.1:0\ncert = %s/server.pem\n"
	    "key = %s/server.key\n", certs, certs);
	conf_write(conf1, sizeof conf1, "tls-node1.conf", more);
	node_start(&d1, conf1, url, 1, NULL);
	node_start(&d2, conf2, url, 2, NULL);
	wait_connected(&d1);
	wait_connected(&d2);
	c = cluster_stats(&d1);
	assert_string_equal(json_string_value(json_object_get(c, "nats_url")),
	    url);
	json_decref(c);
	wait_peer(&d1, 2, "up");
	wait_peer(&d2, 1, "up");

	a = tc_connect(&d1, &ida);
	b = tc_connect(&d2, &idb);
	assert_true(a >= 0 && b >= 0);
	exchange_exact(a, ida, b, idb);
	tls_client_exchange(&d1, b, idb);
	close(a);
	close(b);
	harness_stop(&d2);
	harness_stop(&d1);
	nc_solo_stop(ns);
	unlink(conf1);
	unlink(conf2);
}

/*
 * Refused: a server whose certificate the named CA did not sign (the node
 * trusts only the second CA), and a plain server behind a tls:// URL
 * (libnats would speak plain text to it unless told TLS).  Each is logged
 * with the reason, retried with back-off, and local routing goes on.  A
 * nats_ca that holds no certificate stops the node at start, saying so.
 */
static void
test_tls_refused(void **state)
{
	struct nc_server	*ns = &srv[0], *plain = &srv[1];
	struct daemon		 d, dp;
	char			 extra[1024], more[512], conf[256], url[128];
	char			 want[512], out[4096], err[4096];
	const char		*args[] = { "-c", conf, "-l", "127.0.0.1:0",
				    "--admin", "off", "--node", "3",
				    "--cluster-nats", url, NULL };
	uint32_t		 ida, idb;
	int			 a, b;

	nc_need_nats();
	snprintf(extra, sizeof extra, "tls {\n  cert_file: \"%s/server.pem\"\n"
	    "  key_file: \"%s/server.key\"\n}\n", certs, certs);
	nc_solo_start(ns, "tls", extra);
	nc_solo_start(plain, "plain", "");
	snprintf(more, sizeof more, "nats_ca = %s/ca2.pem\n", certs);
	conf_write(conf, sizeof conf, "tls-node.conf", more);

	snprintf(url, sizeof url, "tls://127.0.0.1:%d", ns->port);
	node_start(&d, conf, url, 1, NULL);
	snprintf(want, sizeof want, "nats: cannot connect to %s: SSL Error: "
	    "SSL handshake error: 20:unable to get local issuer certificate:",
	    url);
	harness_wait_log(&d, want, 1);
	wait_server_log(ns, "TLS handshake error", 3);
	assert_int_equal(daemon_log_count(&d, "cannot connect"), 1);
	assert_false(nats_connected(&d));
	a = tc_connect(&d, &ida);
	b = tc_connect(&d, &idb);
	assert_true(a >= 0 && b >= 0);
	tc_ping_pong(a, ida, b, idb, 5);
	close(a);
	close(b);

	snprintf(url, sizeof url, "tls://127.0.0.1:%d", plain->port);
	node_start(&dp, conf, url, 2, NULL);
	snprintf(want, sizeof want, "nats: cannot connect to %s: Secure "
	    "Connection not available (retrying)", url);
	harness_wait_log(&dp, want, 1);
	assert_false(nats_connected(&dp));
	harness_stop(&dp);
	harness_stop(&d);

	/* A CA file without a certificate: the node does not start. */
	snprintf(more, sizeof more, "nats_ca = %s/ca.key\n", certs);
	conf_write(conf, sizeof conf, "tls-node.conf", more);
	assert_int_equal(daemon_run(args, out, sizeof out, err, sizeof err),
	    1);
	snprintf(want, sizeof want, "cluster: nats options: SSL Error: Error "
	    "loading trusted certificates '%s/ca.key'", certs);
	if (strstr(err, want) == NULL)
		fail_msg("no \"%s\" in:\n%s", want, err);
	nc_solo_stop(plain);
	nc_solo_stop(ns);
	unlink(conf);
}

/*
 * router.reuseport = yes: two nodes of one cluster bound to one client
 * port.  Clients connecting to it land on both (sequential ids: the node
 * is id >> 24), each node counts its own, and frames go between any two
 * of them, wherever they landed.  A third process binding the port
 * without reuseport fails with a clear error.
 */
#define RP_CLIENTS	24
static void
test_reuseport(void **state)
{
	struct nc_server	*ns = &srv[0];
	struct daemon		 d[2];
	char			 conf[256], plain[256], listen[64], out[4096];
	char			 err[4096], want[128];
	const char		*args[] = { "-c", plain, "-l", listen,
				    "--admin", "off", NULL };
	int			 fd[RP_CLIENTS], on[2] = { 0, 0 };
	int			 first[2] = { -1, -1 }, second[2] = { -1, -1 };
	uint32_t		 id[RP_CLIENTS];
	int			 i, n, port;

	nc_need_nats();
	nc_solo_start(ns, "rp", "");
	harness_tmp_path(conf, sizeof conf, "rp-node.conf");
	harness_write_file(conf, "[router]\nreuseport = yes\n"
	    "id_mode = sequential\n[cluster]\nheartbeat = 200ms\n"
	    "peer_timeout = 1s\n");
	port = nc_port();
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	node_start(&d[0], conf, ns->url, 1, listen);
	node_start(&d[1], conf, ns->url, 2, listen);
	assert_int_equal(d[0].port, port);
	assert_int_equal(d[1].port, port);
	wait_peer(&d[0], 2, "up");
	wait_peer(&d[1], 1, "up");

	for (i = 0; i < RP_CLIENTS; i++) {
		fd[i] = tc_connect(&d[0], &id[i]);
		assert_true(fd[i] >= 0);
		n = (int)(id[i] >> 24);
		assert_true(n == 1 || n == 2);
		on[n - 1]++;
		if (first[n - 1] == -1)
			first[n - 1] = i;
		else if (second[n - 1] == -1)
			second[n - 1] = i;
	}
	/* 2^-23 to land all on one node by chance. */
	assert_true(on[0] > 0 && on[1] > 0);
	assert_int_equal(daemon_stat(&d[0], "clients", "connected"), on[0]);
	assert_int_equal(daemon_stat(&d[1], "clients", "connected"), on[1]);

	/* Across the nodes both ways, and within each node that has two. */
	tc_ping_pong(fd[first[0]], id[first[0]], fd[first[1]], id[first[1]],
	    10);
	for (n = 0; n < 2; n++)
		if (second[n] != -1)
			tc_ping_pong(fd[first[n]], id[first[n]], fd[second[n]],
			    id[second[n]], 5);
	for (i = 0; i < RP_CLIENTS; i++)
		if (i != first[0] && i != first[1])
			tc_ping_pong(fd[i], id[i],
			    fd[first[(id[i] >> 24) == 1 ? 1 : 0]],
			    id[first[(id[i] >> 24) == 1 ? 1 : 0]], 1);

	harness_tmp_path(plain, sizeof plain, "rp-plain.conf");
	harness_write_file(plain, "[router]\nreuseport = no\n");
	assert_int_equal(daemon_run(args, out, sizeof out, err, sizeof err),
	    1);
	snprintf(want, sizeof want, "cannot listen on %s (router.listen): "
	    "Address already in use", listen);
	if (strstr(err, want) == NULL && strstr(out, want) == NULL)
		fail_msg("no \"%s\" in:\n%s%s", want, out, err);

	for (i = 0; i < RP_CLIENTS; i++)
		close(fd[i]);
	harness_stop(&d[1]);
	harness_stop(&d[0]);
	nc_solo_stop(ns);
	unlink(conf);
	unlink(plain);
}

/*
 * The template unit, built as installed (etc/msgrouterd@.service), passes
 * systemd-analyze verify for an instance, with its ExecStart pointed at
 * the daemon under test (verify wants the command to exist); skipped
 * without systemd-analyze.  verify exits 0 on mere warnings, so any output
 * fails too.
 */
static void
test_systemd_template(void **state)
{
	const char	*unit = getenv("MSGROUTERD_TEMPLATE_UNIT");
	const char	*bin = getenv("MSGROUTERD");
	char		 dir[256], cmd[2048], out[4096];
	FILE		*p;
	size_t		 n;
	int		 rc;

	if (system("command -v systemd-analyze >/dev/null 2>&1") != 0 ||
	    unit == NULL || bin == NULL)
		skip();
	harness_tmp_path(dir, sizeof dir, "units");
	snprintf(cmd, sizeof cmd, "mkdir -p '%s' && grep -q '^ExecStart=.*"
	    "%%i\\.conf$' '%s' && grep -q '^RuntimeDirectory=msgrouterd/%%i$' "
	    "'%s' && sed 's|^\\(Exec[A-Za-z]*=\\)[^ ]*/msgrouterd |\\1%s |' "
	    "'%s' >'%s/msgrouterd@n1.service'", dir, unit, unit, bin, unit,
	    dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "systemd-analyze verify --man=no "
	    "'%s/msgrouterd@n1.service' 2>&1", dir);
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof out - 1, p);
	out[n] = '\0';
	rc = pclose(p);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	if (rc != 0 || n != 0)
		fail_msg("systemd-analyze verify (status %d):\n%s", rc, out);
}

/*
 * A NATS server with a max_payload under a batch (64 KiB here): batches
 * are cut to what a message carries, so the link never stops at one the
 * server refuses.  Three senders on node 1 fill one loop pass with more
 * than 64 KiB for node 2; every frame arrives, each sender's in order.
 */
static void
test_small_max_payload(void **state)
{
	enum { SENDERS = 3, FRAMES = 8, SIZE = 30000 };
	struct nc_server	*ns = &srv[0];
	struct daemon		 a, b;
	char			 conf[256], *buf, *msg;
	uint32_t		 ids[SENDERS], idr;
	size_t			 len = 0;
	ssize_t			 n;
	int			 fds[SENDERS], r, i, k, next[SENDERS];

	nc_need_nats();
	nc_solo_start(ns, "mp", "max_payload: 65536\n");
	conf_write(conf, sizeof conf, "mp-node.conf", "");
	node_start(&a, conf, ns->url, 1, NULL);
	node_start(&b, conf, ns->url, 2, NULL);
	wait_peer(&a, 2, "up");
	wait_peer(&b, 1, "up");
	assert_true((r = tc_connect(&b, &idr)) >= 0);
	for (i = 0; i < SENDERS; i++)
		assert_true((fds[i] = tc_connect(&a, &ids[i])) >= 0);
	msg = malloc(SIZE + 1);
	buf = malloc((size_t)FRAMES * (SIZE + 8));
	assert_non_null(msg);
	assert_non_null(buf);
	for (i = 0; i < SENDERS; i++) {
		for (k = 0, len = 0; k < FRAMES; k++) {
			memset(msg, 'a' + i, SIZE);
			snprintf(msg, 8, "%d-%04d", i, k);
			msg[6] = 'x';
			msg[SIZE] = '\0';
			len += tc_frame(buf + len, idr, msg);
		}
		assert_int_equal(tc_write(fds[i], buf, len), 0);
	}
	for (i = 0; i < SENDERS; i++)
		next[i] = 0;
	for (k = 0; k < SENDERS * FRAMES; k++) {
		n = tc_recv_msg(r, msg, SIZE + 1, HARNESS_TIMEOUT_MS);
		assert_int_equal(n, SIZE + 1);
		i = msg[0] - '0';
		assert_true(i >= 0 && i < SENDERS);
		assert_int_equal(atoi(msg + 2), next[i]);
		next[i]++;
	}
	assert_int_equal(daemon_log_count(&a, "publish:"), 0);
	free(buf);
	free(msg);
	close(r);
	for (i = 0; i < SENDERS; i++)
		close(fds[i]);
	harness_stop(&a);
	harness_stop(&b);
	nc_solo_stop(ns);
	unlink(conf);
}

/*
 * A server that closes every connection right after the handshake (the
 * test plays it: INFO, PONG to the first PING, close).  The close can
 * come before the loop has taken the connection from the connector
 * thread; the node must still see it closed and connect again, every
 * time: NREPEAT connections, each within the harness's timeout (the
 * back-off is 2 s at most).
 * (Without the check at the hand-over, one in a few hundred left the
 * node on a closed connection for good: 438 here, once.)
 */
static void
test_closed_before_handover(void **state)
{
	enum { NREPEAT = 600 };
	static const char info[] = "INFO {\"server_id\":\"fake\","
	    "\"version\":\"2.9.0\",\"host\":\"127.0.0.1\",\"port\":1,"
	    "\"max_payload\":1048576,\"proto\":1}\r\n";
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof sin;
	struct pollfd		 pfd;
	struct daemon		 d;
	char			 conf[256], url[64], buf[4096];
	size_t			 have;
	ssize_t			 n;
	int			 ls, c, k, one = 1;

	nc_need_nats();
	assert_true((ls = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(ls, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(ls, 16), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sin, &slen), 0);
	snprintf(url, sizeof url, "nats://127.0.0.1:%d", ntohs(sin.sin_port));
	conf_write(conf, sizeof conf, "closing-node.conf", "");
	node_start(&d, conf, url, 1, NULL);
	for (k = 0; k < NREPEAT; k++) {
		pfd.fd = ls;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, HARNESS_TIMEOUT_MS) != 1)
			fail_msg("no connection in time after %d", k);
		assert_true((c = accept(ls, NULL, NULL)) >= 0);
		assert_int_equal(tc_write(c, info, sizeof info - 1), 0);
		for (have = 0; have < sizeof buf - 1;) {
			pfd.fd = c;
			if (poll(&pfd, 1, HARNESS_TIMEOUT_MS) != 1 ||
			    (n = read(c, buf + have, sizeof buf - 1 - have)) <= 0)
				break;
			have += (size_t)n;
			buf[have] = '\0';
			if (strstr(buf, "PING\r\n") != NULL) {
				(void)tc_write(c, "PONG\r\n", 6);
				break;
			}
		}
		close(c);
	}
	close(ls);
	harness_stop(&d);
	unlink(conf);
}

/* The nats-servers a failed test left, then the daemons. */
static int
net_teardown(void **state)
{
	nc_solo_stop(&srv[0]);
	nc_solo_stop(&srv[1]);
	return harness_teardown(state);
}
#define net_test(f)	cmocka_unit_test_teardown(f, net_teardown)

/* Make the certificates once, in the test directory. */
static int
group_setup(void **state)
{
	const char	*script = getenv("TLS_CERTS_SH");
	char		 cmd[1024];

	harness_init();
	if (!nc_have_nats())
		return 0;	/* every test but the unit's skips */
	harness_tmp_path(certs, sizeof certs, "certs");
	snprintf(cmd, sizeof cmd, "sh '%s' '%s'",
	    script != NULL ? script : "tests/tls-certs.sh", certs);
	return system(cmd) == 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	char	cmd[512];

	if (certs[0] == '\0')
		return 0;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", certs);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		net_test(test_user_password),
		net_test(test_token),
		net_test(test_wrong_password),
		net_test(test_tls),
		net_test(test_tls_refused),
		net_test(test_reuseport),
		net_test(test_systemd_template),
		net_test(test_small_max_payload),
		net_test(test_closed_before_handover),
	};

	return harness_finish(cmocka_run_group_tests(tests, group_setup,
	    group_teardown));
}
