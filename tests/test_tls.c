/*
 * test_tls: the TLS port of the real daemon, with a small blocking OpenSSL
 * client: TLS and plain clients routing to each other byte for byte,
 * client certificates (none, another CA's, expired, good), rotation by
 * SIGHUP, plain bytes and garbage on the TLS port, the handshake deadline,
 * the admin interface over HTTPS, the counters and flags in /stats and
 * /clients, the heap trim after handshakes, and frames of every size in
 * order however the server packs them into records.  The certificates are
 * made at test time by tests/tls-certs.sh.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "harness.h"
#include "http_client.h"

/* The certificates' directory, made once for the whole program. */
static char	certs[256];

/* A file of the certificates' directory: "DIR/name". */
static const char *
cert_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", certs, name);
	return buf;
}

/* One blocking TLS client. */
struct tlc {
	SSL_CTX		*ctx;
	SSL		*ssl;
	int		 fd;
	uint32_t	 id;
};

/*
 * Connect to port over TLS, verifying the server against ca.pem for
 * "localhost", with a client certificate if name is not NULL (name.pem,
 * name.key).  With read_id, read the 4-byte id.  0, or -1 if the handshake
 * or the id failed (the struct is freed then).  Reads and writes time out
 * after HARNESS_TIMEOUT_MS.
 */
static void	tlc_close(struct tlc *);
/* SO_RCVBUF of the next tlc_open, if not 0 (a window kept small). */
static int	tlc_rcvbuf;
/* The session tlc_open offers to resume, and its highest version, if set. */
static SSL_SESSION	*tlc_session;
static int		 tlc_max_version;
/* Ask for no session ticket: a TLSv1.2 session is then the server cache's. */
static int		 tlc_no_ticket;

static int
tlc_open(struct tlc *t, int port, const char *name, int read_id)
{
	struct sockaddr_in	 sin;
	struct timeval		 tv;
	char			 p[300], k[300];
	uint32_t		 be;
	int			 ms = HARNESS_TIMEOUT_MS, got = 0, n;

	memset(t, 0, sizeof *t);
	t->fd = -1;
	assert_non_null(t->ctx = SSL_CTX_new(TLS_client_method()));
	assert_int_equal(SSL_CTX_load_verify_locations(t->ctx,
	    cert_path(p, sizeof p, "ca.pem"), NULL), 1);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	if (tlc_max_version != 0)
		assert_int_equal(SSL_CTX_set_max_proto_version(t->ctx,
		    tlc_max_version), 1);
	if (tlc_no_ticket)
		SSL_CTX_set_options(t->ctx, SSL_OP_NO_TICKET);
	if (name != NULL) {
		snprintf(p, sizeof p, "%s/%s.pem", certs, name);
		snprintf(k, sizeof k, "%s/%s.key", certs, name);
		assert_int_equal(SSL_CTX_use_certificate_file(t->ctx, p,
		    SSL_FILETYPE_PEM), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey_file(t->ctx, k,
		    SSL_FILETYPE_PEM), 1);
	}
	assert_true((t->fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	if (tlc_rcvbuf != 0)
		setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &tlc_rcvbuf,
		    sizeof tlc_rcvbuf);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(t->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(t->fd, (struct sockaddr *)&sin, sizeof sin),
	    0);
	assert_non_null(t->ssl = SSL_new(t->ctx));
	SSL_set_fd(t->ssl, t->fd);
	SSL_set_tlsext_host_name(t->ssl, "localhost");
	assert_int_equal(SSL_set1_host(t->ssl, "localhost"), 1);
	if (tlc_session != NULL)
		assert_int_equal(SSL_set_session(t->ssl, tlc_session), 1);
	if (SSL_connect(t->ssl) != 1)
		goto fail;
	if (!read_id)
		return 0;
	while (got < 4) {
		n = SSL_read(t->ssl, (char *)&be + got, 4 - got);
		if (n <= 0)
			goto fail;
		got += n;
	}
	t->id = ntohl(be);
	return 0;
fail:
	ERR_clear_error();
	tlc_close(t);
	return -1;
}

static void
tlc_close(struct tlc *t)
{
	if (t->ssl != NULL) {
		(void)SSL_shutdown(t->ssl);
		SSL_free(t->ssl);
	}
	if (t->fd >= 0)
		close(t->fd);
	SSL_CTX_free(t->ctx);
	ERR_clear_error();
	memset(t, 0, sizeof *t);
	t->fd = -1;
}

/* Write all of buf over TLS, or fail the test. */
static void
tlc_write(struct tlc *t, const void *buf, size_t len)
{
	size_t	done = 0;
	int	n;

	while (done < len) {
		n = SSL_write(t->ssl, (const char *)buf + done,
		    (int)(len - done));
		assert_true(n > 0);
		done += (size_t)n;
	}
}

/* Read exactly len bytes over TLS: 0, or -1 on EOF, error or timeout. */
static int
tlc_read(struct tlc *t, void *buf, size_t len)
{
	size_t	done = 0;
	int	n;

	while (done < len) {
		n = SSL_read(t->ssl, (char *)buf + done, (int)(len - done));
		if (n <= 0) {
			ERR_clear_error();
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

/* Send one frame: dst, payload (len bytes, no 0x00 inside), 0x00. */
static void
tlc_send(struct tlc *t, uint32_t dst, const char *payload, size_t len)
{
	char		*buf;
	uint32_t	 be = htonl(dst);

	assert_non_null(buf = malloc(len + 5));
	memcpy(buf, &be, 4);
	memcpy(buf + 4, payload, len);
	buf[len + 4] = '\0';
	tlc_write(t, buf, len + 5);
	free(buf);
}

/* The next bytes are payload (len bytes) and its 0x00, or the test fails. */
static void
tlc_expect(struct tlc *t, const char *payload, size_t len)
{
	char	*buf;

	assert_non_null(buf = malloc(len + 1));
	assert_int_equal(tlc_read(t, buf, len + 1), 0);
	assert_memory_equal(buf, payload, len);
	assert_int_equal(buf[len], '\0');
	free(buf);
}

/* The server certificate's subject, one line. */
static void
tlc_peer_subject(struct tlc *t, char *buf, size_t len)
{
	X509	*x;

	assert_non_null(x = SSL_get1_peer_certificate(t->ssl));
	X509_NAME_oneline(X509_get_subject_name(x), buf, (int)len);
	X509_free(x);
}

/* A payload of len bytes without a 0x00, varied so that bytes count. */
static char *
payload_make(size_t len, unsigned seed)
{
	char	*p;
	size_t	 i;

	assert_non_null(p = malloc(len));
	for (i = 0; i < len; i++)
		p[i] = (char)(1 + (i * 7 + seed) % 255);
	return p;
}

/* The daemon's log, whole (free it). */
static char *
log_read(struct daemon *d)
{
	FILE	*f;
	char	*buf;
	long	 n;

	assert_non_null(f = fopen(d->log_path, "r"));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	assert_non_null(buf = calloc(1, (size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* The port of the "tls listening on 127.0.0.1:PORT" line. */
static int
tls_port(struct daemon *d)
{
	char	*log = log_read(d), *p;
	int	 port = 0;

	if ((p = strstr(log, "tls listening on 127.0.0.1:")) != NULL)
		port = atoi(p + strlen("tls listening on 127.0.0.1:"));
	free(log);
	assert_true(port > 0);
	return port;
}

/* Wait until /stats has group.name == want (or >= want, with at_least). */
static void
stats_wait_cmp(struct daemon *d, const char *group, const char *name,
    long long want, int at_least)
{
	long long	deadline = tc_now_ms() + HARNESS_TIMEOUT_MS, v;

	while ((v = daemon_stat(d, group, name)) != want &&
	    !(at_least && v > want)) {
		if (tc_now_ms() > deadline) {
			json_t	*all = daemon_admin_json(d, "/stats");
			char	*text = json_dumps(all, JSON_COMPACT);

			fail_msg("stats %s.%s never became %s%lld: %s", group,
			    name, at_least ? ">= " : "", want, text);
		}
		usleep(10000);
	}
}

static void
stats_wait(struct daemon *d, const char *group, const char *name,
    long long want)
{
	stats_wait_cmp(d, group, name, want, 0);
}

/* The daemon's arguments for a TLS port with the test server certificate. */
#define TLS_ARGS(cert, key)						\
	"--admin", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0",	\
	"--tls-cert", (cert), "--tls-key", (key)

/*
 * A TLS client and a plain client exchange messages both ways, small and
 * large, byte for byte; /stats counts the handshake and /clients says
 * which client is TLS, with protocol and cipher on /clients/ID.
 */
static void
test_exchange(void **state)
{
	struct daemon	 d;
	struct tlc	 t;
	char		 cert[300], key[300], path[64], *big, *back;
	const char	*args[] = { TLS_ARGS(cert_path(cert, sizeof cert,
	    "server.pem"), cert_path(key, sizeof key, "server.key")), NULL };
	json_t		*v, *list, *e;
	uint32_t	 idp;
	size_t		 i, bigl = 200000;
	int		 p, seen_tls = 0, seen_plain = 0;

	harness_start(&d, args);
	assert_int_equal(tlc_open(&t, tls_port(&d), NULL, 1), 0);
	assert_true((p = tc_connect(&d, &idp)) >= 0);
	assert_true(t.id != 0 && t.id != idp);

	/* Small, both ways. */
	tlc_send(&t, idp, "hello plain", 11);
	tc_expect_msg(p, "hello plain");
	assert_int_equal(tc_send(p, t.id, "hello tls"), 0);
	tlc_expect(&t, "hello tls", 9);
	/* Large (many TLS records), both ways, byte for byte. */
	big = payload_make(bigl, 3);
	back = payload_make(bigl, 11);
	tlc_send(&t, idp, big, bigl);
	{
		char		*got = malloc(bigl + 1);

		assert_non_null(got);
		assert_int_equal(tc_read_exact(p, got, bigl + 1,
		    HARNESS_TIMEOUT_MS), 0);
		assert_memory_equal(got, big, bigl);
		assert_int_equal(got[bigl], '\0');
		free(got);
	}
	{
		char		*frame = malloc(bigl + 5);
		uint32_t	 be = htonl(t.id);

		assert_non_null(frame);
		memcpy(frame, &be, 4);
		memcpy(frame + 4, back, bigl);
		frame[bigl + 4] = '\0';
		assert_int_equal(tc_write(p, frame, bigl + 5), 0);
		free(frame);
	}
	tlc_expect(&t, back, bigl);
	free(big);
	free(back);

	/* /stats and /clients. */
	assert_int_equal(daemon_stat(&d, "tls", "handshakes_total"), 1);
	assert_int_equal(daemon_stat(&d, "tls", "handshake_failures_total"),
	    0);
	v = daemon_admin_json(&d, "/clients");
	list = json_object_get(v, "clients");
	json_array_foreach(list, i, e) {
		if (json_integer_value(json_object_get(e, "id")) == t.id) {
			assert_true(json_is_true(json_object_get(e, "tls")));
			seen_tls++;
		} else if (json_integer_value(json_object_get(e, "id")) ==
		    idp) {
			assert_true(json_is_false(json_object_get(e, "tls")));
			seen_plain++;
		}
	}
	assert_int_equal(seen_tls, 1);
	assert_int_equal(seen_plain, 1);
	json_decref(v);
	snprintf(path, sizeof path, "/clients/%u", t.id);
	v = daemon_admin_json(&d, path);
	assert_string_equal(json_string_value(json_object_get(v,
	    "tls_protocol")), SSL_get_version(t.ssl));
	assert_string_equal(json_string_value(json_object_get(v,
	    "tls_cipher")), SSL_get_cipher_name(t.ssl));
	json_decref(v);
	snprintf(path, sizeof path, "/clients/%u", idp);
	v = daemon_admin_json(&d, path);
	assert_null(json_object_get(v, "tls_protocol"));
	json_decref(v);

	tlc_close(&t);
	close(p);
	harness_stop(&d);
	assert_int_equal(daemon_counter(&d, "tls_handshakes"), 1);
	assert_int_equal(daemon_counter(&d, "forwarded"), 4);
}

/*
 * With tls.ca, a client without a certificate, with one from another CA or
 * with an expired one gets no id, each logged with its address and
 * counted; a good one routes.
 */
static void
test_mtls(void **state)
{
	struct daemon	 d;
	struct tlc	 t, good;
	char		 cert[300], key[300], ca[300];
	const char	*args[] = { TLS_ARGS(cert_path(cert, sizeof cert,
	    "server.pem"), cert_path(key, sizeof key, "server.key")),
	    "--tls-ca", cert_path(ca, sizeof ca, "ca.pem"), NULL };
	const char	*bad[] = { NULL, "other", "expired" };
	const char	*why[] = { "peer did not return a certificate",
	    "certificate verify failed (unable to get local issuer",
	    "certificate verify failed (certificate has expired)" };
	uint32_t	 idp;
	char		*log;
	size_t		 i;
	int		 port, p;

	harness_start(&d, args);
	port = tls_port(&d);
	for (i = 0; i < 3; i++) {
		assert_int_equal(tlc_open(&t, port, bad[i], 1), -1);
		harness_wait_log(&d, "closed: tls;", (int)i + 1);
		log = log_read(&d);
		assert_non_null(strstr(log, why[i]));
		free(log);
	}
	assert_int_equal(daemon_log_count(&d,
	    ": tls handshake from 127.0.0.1:"), 3);
	assert_int_equal(daemon_stat(&d, "tls", "handshake_failures_total"),
	    3);
	assert_int_equal(daemon_stat(&d, "clients", "connected"), 0);

	assert_int_equal(tlc_open(&good, port, "client", 1), 0);
	assert_true((p = tc_connect(&d, &idp)) >= 0);
	tlc_send(&good, idp, "from mtls", 9);
	tc_expect_msg(p, "from mtls");
	assert_int_equal(tc_send(p, good.id, "to mtls"), 0);
	tlc_expect(&good, "to mtls", 7);
	assert_int_equal(daemon_stat(&d, "tls", "handshakes_total"), 1);
	tlc_close(&good);
	close(p);
	harness_stop(&d);
	assert_int_equal(daemon_counter(&d, "tls_handshake_failures"), 3);
}

/* Copy a file of the certificates' directory to path. */
static void
copy_file(const char *name, const char *path)
{
	char	 src[300], buf[8192];
	FILE	*in, *out;
	size_t	 n;

	assert_non_null(in = fopen(cert_path(src, sizeof src, name), "r"));
	assert_non_null(out = fopen(path, "w"));
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/*
 * SIGHUP re-reads the certificate files: a client connected before keeps
 * routing, new clients get the new certificate, and a broken file changes
 * nothing (logged).
 */
static void
test_rotation(void **state)
{
	struct daemon	 d;
	struct tlc	 a, b, c;
	char		 conf[256], cert[256], key[256], text[1024], subj[256];
	const char	*args[] = { "-c", conf, "--admin", "127.0.0.1:0",
	    NULL };

	harness_tmp_path(conf, sizeof conf, "conf");
	harness_tmp_path(cert, sizeof cert, "cert.pem");
	harness_tmp_path(key, sizeof key, "cert.key");
	copy_file("server.pem", cert);
	copy_file("server.key", key);
	snprintf(text, sizeof text, "[tls]\nlisten = 127.0.0.1:0\n"
	    "cert = %s\nkey = %s\n", cert, key);
	harness_write_file(conf, text);
	harness_start(&d, args);

	assert_int_equal(tlc_open(&a, tls_port(&d), NULL, 1), 0);
	tlc_peer_subject(&a, subj, sizeof subj);
	assert_string_equal(subj, "/CN=msgrouter test server");

	copy_file("server2.pem", cert);
	copy_file("server2.key", key);
	kill(d.pid, SIGHUP);
	harness_wait_log(&d, "reload: tls: new connections get subject "
	    "/CN=msgrouter test server 2, serial 1002", 1);
	assert_int_equal(tlc_open(&b, tls_port(&d), NULL, 1), 0);
	tlc_peer_subject(&b, subj, sizeof subj);
	assert_string_equal(subj, "/CN=msgrouter test server 2");
	/* The client from before still routes, both ways. */
	tlc_send(&a, b.id, "old to new", 10);
	tlc_expect(&b, "old to new", 10);
	tlc_send(&b, a.id, "new to old", 10);
	tlc_expect(&a, "new to old", 10);

	/* A broken certificate: logged, the running one stays. */
	harness_write_file(cert, "-----BEGIN CERTIFICATE-----\nbroken\n");
	kill(d.pid, SIGHUP);
	harness_wait_log(&d, "; keeping the running TLS certificate", 1);
	assert_int_equal(daemon_log_count(&d, "reload: tls.cert: "), 1);
	assert_int_equal(tlc_open(&c, tls_port(&d), NULL, 1), 0);
	tlc_peer_subject(&c, subj, sizeof subj);
	assert_string_equal(subj, "/CN=msgrouter test server 2");
	tlc_send(&c, a.id, "still", 5);
	tlc_expect(&a, "still", 5);

	tlc_close(&a);
	tlc_close(&b);
	tlc_close(&c);
	harness_stop(&d);
	assert_int_equal(daemon_counter(&d, "tls_handshakes"), 3);
	unlink(conf);
	unlink(cert);
	unlink(key);
}

/*
 * Plain bytes (an HTTP request) and random garbage on the TLS port: closed,
 * OpenSSL's reason logged with the address, counted; the daemon and the
 * other clients go on.
 */
static void
test_garbage(void **state)
{
	struct daemon	 d;
	struct tlc	 t;
	char		 cert[300], key[300], junk[4096];
	const char	*args[] = { TLS_ARGS(cert_path(cert, sizeof cert,
	    "server.pem"), cert_path(key, sizeof key, "server.key")), NULL };
	const char	 http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	uint32_t	 ida, idb;
	size_t		 i;
	int		 port, a, b, fd, round;

	harness_start(&d, args);
	port = tls_port(&d);
	assert_true((a = tc_connect(&d, &ida)) >= 0);
	assert_true((b = tc_connect(&d, &idb)) >= 0);
	assert_true((fd = tc_connect_port(port)) >= 0);
	assert_int_equal(tc_write(fd, http, sizeof http - 1), 0);
	assert_int_equal(tc_expect_close(fd, HARNESS_TIMEOUT_MS), 0);
	close(fd);
	harness_wait_log(&d, "SSL routines::http request", 1);

	/* Several kinds of garbage: random, all 0x16 (a handshake type). */
	for (round = 0; round < 3; round++) {
		for (i = 0; i < sizeof junk; i++)
			junk[i] = round == 1 ? 0x16 : (char)(random() & 0xff);
		assert_true((fd = tc_connect_port(port)) >= 0);
		(void)tc_write(fd, junk, sizeof junk);
		assert_int_equal(tc_expect_close(fd, HARNESS_TIMEOUT_MS), 0);
		close(fd);
	}
	harness_wait_log(&d, "closed: tls;", 4);
	assert_int_equal(daemon_log_count(&d,
	    ": tls handshake from 127.0.0.1:"), 4);
	assert_int_equal(daemon_stat(&d, "tls", "handshake_failures_total"),
	    4);
	stats_wait(&d, "clients", "connected", 2);
	/* Everyone else is fine. */
	tc_ping_pong(a, ida, b, idb, 3);
	assert_int_equal(tlc_open(&t, port, NULL, 1), 0);
	tlc_send(&t, ida, "after", 5);
	tc_expect_msg(a, "after");
	tlc_close(&t);
	close(a);
	close(b);
	harness_stop(&d);
}

/*
 * A connection that never finishes its handshake (silent, or a ClientHello
 * cut short) is closed at tls.handshake_timeout and its slot freed.
 */
static void
test_handshake_deadline(void **state)
{
	struct daemon	 d;
	char		 conf[256], text[1024], cert[300], key[300];
	const char	*args[] = { "-c", conf, "--admin", "127.0.0.1:0",
	    NULL };
	/* A TLS record header promising more than is sent. */
	const unsigned char hello[] = { 0x16, 0x03, 0x01, 0x01, 0x00, 0x01 };
	json_t		*v, *list, *e;
	size_t		 i;
	int		 fd, fd2, port, timeouts = 0;

	harness_tmp_path(conf, sizeof conf, "conf");
	snprintf(text, sizeof text, "[tls]\nlisten = 127.0.0.1:0\n"
	    "cert = %s\nkey = %s\nhandshake_timeout = 300ms\n",
	    cert_path(cert, sizeof cert, "server.pem"),
	    cert_path(key, sizeof key, "server.key"));
	harness_write_file(conf, text);
	harness_start(&d, args);
	port = tls_port(&d);
	assert_true((fd = tc_connect_port(port)) >= 0);
	assert_true((fd2 = tc_connect_port(port)) >= 0);
	assert_int_equal(tc_write(fd2, hello, sizeof hello), 0);
	stats_wait(&d, "clients", "connected", 2);
	assert_int_equal(tc_expect_close(fd, HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(tc_expect_close(fd2, HARNESS_TIMEOUT_MS), 0);
	harness_wait_log(&d, "closed: tls_timeout;", 2);
	assert_int_equal(daemon_log_count(&d, "tls handshake from 127.0.0.1:"),
	    2);
	assert_int_equal(daemon_log_count(&d, ": timed out"), 2);
	stats_wait(&d, "clients", "connected", 0);
	assert_int_equal(daemon_stat(&d, "tls", "handshake_failures_total"),
	    2);
	v = daemon_admin_json(&d, "/clients?state=closed");
	list = json_object_get(v, "clients");
	json_array_foreach(list, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "reason")),
		    "tls_timeout") == 0)
			timeouts++;
	}
	assert_int_equal(timeouts, 2);
	json_decref(v);
	close(fd);
	close(fd2);
	harness_stop(&d);
	unlink(conf);
}

/*
 * Backpressure: BP_FRAMES frames of BP_PAYLOAD bytes each way, over a 64K
 * queue: 8 MiB, more than the kernel's socket buffers (tcp_wmem grows a
 * sender's to 4 MiB) take before the router's queue fills.
 */
#define BP_FRAMES	512
#define BP_PAYLOAD	16383

/* Frame i's payload: its number in every byte but 0x00. */
static void
bp_payload(char *p, int i)
{
	memset(p, 1 + i % 250, BP_PAYLOAD);
}

/*
 * Backpressure across the two kinds: a plain sender to a TLS client that
 * does not read is paused and resumed by the TLS client's writes, and a
 * TLS sender to a plain client that does not read is paused (its
 * bufferevent stops reading) and resumed; every byte arrives in order.
 */
static void
test_backpressure(void **state)
{
	struct daemon	 d;
	struct tlc	 t;
	char		 cert[300], key[300], *p, *frame;
	const char	*args[] = { TLS_ARGS(cert_path(cert, sizeof cert,
	    "server.pem"), cert_path(key, sizeof key, "server.key")),
	    "--queue-limit", "64K", NULL };
	uint32_t	 idb, be;
	pid_t		 pid;
	long long	 paused;
	int		 b, i;

	harness_start(&d, args);
	tlc_rcvbuf = TC_SMALL_RCVBUF;
	assert_int_equal(tlc_open(&t, tls_port(&d), NULL, 1), 0);
	tlc_rcvbuf = 0;
	assert_true((b = tc_connect_small(&d, &idb)) >= 0);
	assert_non_null(p = malloc(BP_PAYLOAD + 1));
	assert_non_null(frame = malloc(BP_PAYLOAD + 5));

	/*
	 * Plain b to TLS t, t not reading: b is paused (perhaps more than
	 * once: the kernel's buffers take some), then resumed as t reads.
	 */
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		be = htonl(t.id);
		for (i = 0; i < BP_FRAMES; i++) {
			memcpy(frame, &be, 4);
			bp_payload(frame + 4, i);
			frame[BP_PAYLOAD + 4] = '\0';
			if (tc_write(b, frame, BP_PAYLOAD + 5) != 0)
				_exit(1);
		}
		_exit(0);
	}
	stats_wait_cmp(&d, "clients", "paused_total", 1, 1);
	for (i = 0; i < BP_FRAMES; i++) {
		bp_payload(p, i);
		tlc_expect(&t, p, BP_PAYLOAD);
	}
	harness_child_ok(pid);
	stats_wait(&d, "clients", "paused", 0);
	paused = daemon_stat(&d, "clients", "paused_total");

	/* TLS t to plain b, b not reading: t is paused, then resumed. */
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		for (i = 0; i < BP_FRAMES; i++) {
			bp_payload(p, i);
			tlc_send(&t, idb, p, BP_PAYLOAD);
		}
		_exit(0);
	}
	stats_wait_cmp(&d, "clients", "paused_total", paused + 1, 1);
	for (i = 0; i < BP_FRAMES; i++) {
		assert_int_equal(tc_read_exact(b, frame, BP_PAYLOAD + 1,
		    HARNESS_TIMEOUT_MS), 0);
		bp_payload(p, i);
		assert_memory_equal(frame, p, BP_PAYLOAD);
		assert_int_equal(frame[BP_PAYLOAD], '\0');
	}
	harness_child_ok(pid);
	stats_wait(&d, "clients", "paused", 0);

	free(p);
	free(frame);
	tlc_close(&t);
	close(b);
	harness_stop(&d);
	assert_int_equal(daemon_counter(&d, "forwarded"), 2 * BP_FRAMES);
	assert_int_equal(daemon_counter(&d, "dropped_queue_full"), 0);
}

/*
 * The frames of test_order: sizes from 1 byte to 200 KiB, mostly small,
 * from a fixed generator, so that every size class lands next to every
 * other in the TLS receiver's queue and in the TLS sender's records.
 */
#define ORDER_FRAMES	600
#define ORDER_BIG	(200 * 1024)

static size_t
order_len(int i)
{
	unsigned	x = (unsigned)i * 2654435761u;

	switch (x % 7) {
	case 0:
		return 1;
	case 1:
	case 2:
		return 1 + (x >> 8) % 100;		/* small */
	case 3:
	case 4:
		return 4096 + (x >> 8) % 64;		/* about a page */
	case 5:
		return 1 + (x >> 8) % 20000;		/* about a record */
	default:
		return i % 20 == 6 ? ORDER_BIG :	/* some 200 KiB */
		    16384 + (x >> 8) % 50000;
	}
}

/* Send test_order's frames to dst: over TLS with t, else on plain fd p. */
static void
order_send(struct tlc *t, int p, uint32_t dst, unsigned seed)
{
	char		*pl, *frame;
	uint32_t	 be = htonl(dst);
	size_t		 len;
	int		 i;

	assert_non_null(frame = malloc(ORDER_BIG + 5));
	for (i = 0; i < ORDER_FRAMES; i++) {
		len = order_len(i);
		pl = payload_make(len, seed + (unsigned)i);
		if (t != NULL)
			tlc_send(t, dst, pl, len);
		else {
			memcpy(frame, &be, 4);
			memcpy(frame + 4, pl, len);
			frame[len + 4] = '\0';
			assert_int_equal(tc_write(p, frame, len + 5), 0);
		}
		free(pl);
	}
	free(frame);
}

/* Read test_order's frames on r, each byte for byte and in order. */
static void
order_expect(struct tlc *r, unsigned seed)
{
	char	*pl, *got;
	size_t	 len;
	int	 i;

	assert_non_null(got = malloc(ORDER_BIG + 1));
	for (i = 0; i < ORDER_FRAMES; i++) {
		len = order_len(i);
		pl = payload_make(len, seed + (unsigned)i);
		assert_int_equal(tlc_read(r, got, len + 1), 0);
		if (memcmp(got, pl, len) != 0 || got[len] != '\0')
			fail_msg("frame %d of %zu bytes (seed %u) differs",
			    i, len, seed);
		free(pl);
	}
	free(got);
}

/*
 * Many frames of mixed sizes, 1 byte to 200 KiB, to a TLS receiver, from
 * a TLS sender (records read ahead several at a time) and then from a
 * plain one (large read chains, moved): they arrive byte for byte and in
 * order however the server gathers them into records.  Each sender writes
 * from a child while the receiver reads.
 */
static void
test_order(void **state)
{
	struct daemon	 d;
	struct tlc	 r, t;
	char		 cert[300], key[300];
	const char	*args[] = { TLS_ARGS(cert_path(cert, sizeof cert,
	    "server.pem"), cert_path(key, sizeof key, "server.key")), NULL };
	uint32_t	 idp;
	pid_t		 pid;
	int		 p;

	harness_start(&d, args);
	assert_int_equal(tlc_open(&r, tls_port(&d), NULL, 1), 0);
	assert_int_equal(tlc_open(&t, tls_port(&d), NULL, 1), 0);
	assert_true((p = tc_connect(&d, &idp)) >= 0);

	/* One sender at a time: order holds per sender only. */
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		order_send(&t, -1, r.id, 1);
		_exit(0);
	}
	order_expect(&r, 1);
	harness_child_ok(pid);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		order_send(NULL, p, r.id, 7);
		_exit(0);
	}
	order_expect(&r, 7);
	harness_child_ok(pid);

	tlc_close(&t);
	tlc_close(&r);
	close(p);
	harness_stop(&d);
	assert_int_equal(daemon_counter(&d, "forwarded"), 2 * ORDER_FRAMES);
	assert_int_equal(daemon_counter(&d, "dropped_queue_full"), 0);
}

/*
 * A good record and garbage behind it in one segment: the read-ahead takes
 * both at once, the frame in the good record is routed, and the client is
 * closed with OpenSSL's reason logged, never left with bytes in hand.
 */
static void
test_broken_record(void **state)
{
	struct daemon	 d;
	struct tlc	 t;
	char		 cert[300], key[300], buf[4096], *rec;
	const char	*args[] = { TLS_ARGS(cert_path(cert, sizeof cert,
	    "server.pem"), cert_path(key, sizeof key, "server.key")), NULL };
	BIO		*mem;
	uint32_t	 idp;
	long		 n;
	int		 p;

	harness_start(&d, args);
	assert_int_equal(tlc_open(&t, tls_port(&d), NULL, 1), 0);
	assert_true((p = tc_connect(&d, &idp)) >= 0);
	/* The frame's record into memory, not onto the socket. */
	assert_non_null(mem = BIO_new(BIO_s_mem()));
	SSL_set0_wbio(t.ssl, mem);
	tlc_send(&t, idp, "before the garbage", 18);
	n = BIO_get_mem_data(mem, &rec);
	assert_true(n > 0 && (size_t)n + 64 <= sizeof buf);
	memcpy(buf, rec, (size_t)n);
	memset(buf + n, 0x17, 64);	/* application data, bad lengths */
	assert_int_equal(tc_write(t.fd, buf, (size_t)n + 64), 0);
	tc_expect_msg(p, "before the garbage");
	assert_int_equal(tc_expect_close(t.fd, HARNESS_TIMEOUT_MS), 0);
	harness_wait_log(&d, "closed: error;", 1);
	assert_int_equal(daemon_log_count(&d, ": tls from 127.0.0.1:"), 1);

	close(t.fd);
	t.fd = -1;
	SSL_free(t.ssl);
	t.ssl = NULL;
	tlc_close(&t);
	close(p);
	harness_stop(&d);
	assert_int_equal(daemon_counter(&d, "forwarded"), 1);
}

/*
 * The drain with TLS clients: what is queued to an open one is written
 * before it is closed; one stuck in its handshake holds the drain up to
 * its deadline, not for ever.
 */
static void
test_drain(void **state)
{
	struct daemon	 d;
	struct tlc	 a;
	char		 conf[256], text[1024], cert[300], key[300], buf[16];
	const char	*args[] = { "-c", conf, NULL };
	uint32_t	 idb;
	int		 b, h;

	harness_tmp_path(conf, sizeof conf, "conf");
	snprintf(text, sizeof text, "[router]\nshutdown_timeout = 60s\n"
	    "[tls]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\n"
	    "handshake_timeout = 500ms\n",
	    cert_path(cert, sizeof cert, "server.pem"),
	    cert_path(key, sizeof key, "server.key"));
	harness_write_file(conf, text);
	harness_start(&d, args);
	assert_int_equal(tlc_open(&a, tls_port(&d), NULL, 1), 0);
	assert_true((b = tc_connect(&d, &idb)) >= 0);
	assert_true((h = tc_connect_port(tls_port(&d))) >= 0);
	assert_int_equal(tc_send(b, a.id, "last words"), 0);
	harness_wait_log(&d, "connected from 127.0.0.1", 3);
	kill(d.pid, SIGTERM);
	tlc_expect(&a, "last words", 10);
	/* Then EOF, once the drain is over. */
	assert_int_equal(tlc_read(&a, buf, 1), -1);
	harness_wait_exit(&d, HARNESS_TIMEOUT_MS);
	assert_int_equal(daemon_log_count(&d, "closed: tls_timeout;"), 1);
	assert_int_equal(daemon_log_count(&d, "drain complete"), 1);
	assert_int_equal(daemon_counter(&d, "forwarded"), 1);
	tlc_close(&a);
	close(b);
	close(h);
	unlink(conf);
}

/* admin.tls = yes: /healthz over HTTPS, nothing over plain HTTP. */
static void
test_admin_https(void **state)
{
	struct daemon		 d;
	struct tlc		 t;
	struct http_response	 resp;
	char			 conf[256], text[1024], cert[300], key[300];
	char			 buf[4096];
	const char		*args[] = { "-c", conf, "--admin",
	    "127.0.0.1:0", NULL };
	const char		 req[] = "GET /healthz HTTP/1.1\r\n"
	    "Host: localhost\r\nConnection: close\r\n\r\n";
	size_t			 got = 0;
	int			 n;

	harness_tmp_path(conf, sizeof conf, "conf");
	snprintf(text, sizeof text, "[admin]\ntls = yes\n[tls]\n"
	    "cert = %s\nkey = %s\n",
	    cert_path(cert, sizeof cert, "server.pem"),
	    cert_path(key, sizeof key, "server.key"));
	harness_write_file(conf, text);
	harness_start(&d, args);
	assert_int_equal(tlc_open(&t, d.admin_port, NULL, 0), 0);
	tlc_write(&t, req, sizeof req - 1);
	while (got < sizeof buf - 1 &&
	    (n = SSL_read(t.ssl, buf + got, (int)(sizeof buf - 1 - got))) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	assert_true(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
	tlc_close(&t);
	/* Plain HTTP gets no answer. */
	(void)http_request(d.admin_port, "GET", "/healthz", NULL, &resp,
	    HARNESS_TIMEOUT_MS);
	assert_int_not_equal(resp.status, 200);
	http_response_free(&resp);
	harness_stop(&d);
	unlink(conf);
}

/*
 * GET /healthz over TLS on t: the status line's code, or -1.  With sess,
 * the session once the answer is read: TLSv1.3 tickets come after it, and
 * the server's close without a close_notify must not make it unresumable.
 */
static int
tlc_healthz(struct tlc *t, SSL_SESSION **sess)
{
	const char	 req[] = "GET /healthz HTTP/1.1\r\n"
	    "Host: localhost\r\nConnection: close\r\n\r\n";
	char		 buf[4096];
	size_t		 got = 0;
	int		 n;

	SSL_set_options(t->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	tlc_write(t, req, sizeof req - 1);
	while (got < sizeof buf - 1 &&
	    (n = SSL_read(t->ssl, buf + got, (int)(sizeof buf - 1 - got))) > 0)
		got += (size_t)n;
	ERR_clear_error();
	if (sess != NULL)
		*sess = SSL_get1_session(t->ssl);
	buf[got] = '\0';
	if (strncmp(buf, "HTTP/1.1 ", 9) != 0)
		return -1;
	return atoi(buf + 9);
}

/*
 * admin.tls = yes with tls.ca set: the admin port asks for no client
 * certificate, while the TLS port still does; and a session the admin
 * port gave (a TLSv1.3 ticket, a TLSv1.2 ticket, a TLSv1.2 session in the
 * server's cache: the two ports share the context's) never lets a client
 * without a certificate in on the TLS port.
 */
static void
test_admin_https_mtls(void **state)
{
	struct daemon	 d;
	struct tlc	 t, held;
	char		 conf[256], text[1024], cert[300], key[300], ca[300];
	const char	*args[] = { "-c", conf, "--admin", "127.0.0.1:0",
	    NULL };
	const int	 versions[] = { 0, TLS1_2_VERSION, TLS1_2_VERSION };
	const int	 no_ticket[] = { 0, 0, 1 };
	SSL_SESSION	*sess;
	size_t		 i;
	int		 port;

	harness_tmp_path(conf, sizeof conf, "conf");
	snprintf(text, sizeof text, "[admin]\ntls = yes\n[tls]\n"
	    "listen = 127.0.0.1:0\ncert = %s\nkey = %s\nca = %s\n",
	    cert_path(cert, sizeof cert, "server.pem"),
	    cert_path(key, sizeof key, "server.key"),
	    cert_path(ca, sizeof ca, "ca.pem"));
	harness_write_file(conf, text);
	harness_start(&d, args);
	port = tls_port(&d);
	for (i = 0; i < sizeof versions / sizeof versions[0]; i++) {
		tlc_max_version = versions[i];
		tlc_no_ticket = no_ticket[i];
		assert_int_equal(tlc_open(&t, d.admin_port, NULL, 0), 0);
		sess = NULL;
		if (tlc_no_ticket) {
			/*
			 * The cache forgets a session when its connection
			 * ends without a close_notify: this one stays open
			 * (no request) while its session is offered.
			 */
			held = t;
			assert_non_null(sess = SSL_get1_session(held.ssl));
		} else {
			assert_int_equal(tlc_healthz(&t, &sess), 200);
			assert_non_null(sess);
			tlc_close(&t);
		}
		assert_int_equal(SSL_SESSION_is_resumable(sess), 1);
		/* The TLS port: no certificate, no id, session or not. */
		tlc_session = NULL;
		assert_int_equal(tlc_open(&t, port, NULL, 1), -1);
		tlc_session = sess;
		assert_int_equal(tlc_open(&t, port, NULL, 1), -1);
		/*
		 * The admin port resumes its own session (then, as the
		 * server's close ends it without a close_notify, the cache
		 * forgets it).
		 */
		assert_int_equal(tlc_open(&t, d.admin_port, NULL, 0), 0);
		assert_int_equal(SSL_session_reused(t.ssl), 1);
		assert_int_equal(tlc_healthz(&t, NULL), 200);
		tlc_close(&t);
		tlc_session = NULL;
		SSL_SESSION_free(sess);
		/* With one, it is in. */
		assert_int_equal(tlc_open(&t, port, "client", 1), 0);
		tlc_close(&t);
		if (tlc_no_ticket)
			tlc_close(&held);
	}
	tlc_max_version = tlc_no_ticket = 0;
	harness_wait_log(&d, "closed: tls;", 6);
	assert_int_equal(daemon_log_count(&d, "peer did not return a "
	    "certificate"), 6);
	harness_stop(&d);
	assert_int_equal(daemon_counter(&d, "tls_handshakes"), 3);
	assert_int_equal(daemon_counter(&d, "tls_handshake_failures"), 6);
	unlink(conf);
}

/*
 * A TCP connect and close on the TLS port without a byte (a load
 * balancer's check, a port scan) is an EOF, logged at debug, not a failed
 * handshake; a byte of a handshake that then stops short still is one.
 */
static void
test_tcp_check(void **state)
{
	struct daemon	 d;
	char		 cert[300], key[300];
	const char	*args[] = { TLS_ARGS(cert_path(cert, sizeof cert,
	    "server.pem"), cert_path(key, sizeof key, "server.key")), NULL };
	const unsigned char hello[] = { 0x16, 0x03, 0x01 };
	int		 port, fd, i;

	harness_start(&d, args);
	port = tls_port(&d);
	for (i = 0; i < 3; i++) {
		assert_true((fd = tc_connect_port(port)) >= 0);
		close(fd);
	}
	harness_wait_log(&d, "closed: eof;", 3);
	assert_int_equal(daemon_stat(&d, "tls", "handshake_failures_total"),
	    0);
	assert_int_equal(daemon_log_count(&d, "tls handshake from"), 0);
	/* Bytes that end short of a handshake still count. */
	assert_true((fd = tc_connect_port(port)) >= 0);
	assert_int_equal(tc_write(fd, hello, sizeof hello), 0);
	close(fd);
	harness_wait_log(&d, "closed: tls;", 1);
	assert_int_equal(daemon_stat(&d, "tls", "handshake_failures_total"),
	    1);
	assert_int_equal(daemon_log_count(&d, "tls handshake from"), 1);
	assert_int_equal(daemon_log_count(&d, "closed: eof;"), 3);
	harness_stop(&d);
}

/* -t loads the certificate: a broken one is refused with the key named. */
static void
test_check_config(void **state)
{
	char		 out[4096], err[4096], bad[256], key[300], cert[300];
	char		 key2[300];
	const char	*broken[] = { "-t", "--tls-listen", "127.0.0.1:0",
	    "--tls-cert", bad, "--tls-key", cert_path(key, sizeof key,
	    "server.key"), NULL };
	const char	*missing[] = { "-t", "--tls-listen", "127.0.0.1:0",
	    NULL };
	const char	*nokey[] = { "-t", "--tls-listen", "127.0.0.1:0",
	    "--tls-cert", cert_path(cert, sizeof cert, "server.pem"),
	    "--tls-key", cert_path(key2, sizeof key2, "client.key"), NULL };
	const char	*off[] = { "-t", "-l", "off", NULL };
	const char	*tlsonly[] = { "-t", "-l", "off", "--tls-listen",
	    "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key, NULL };

	harness_tmp_path(bad, sizeof bad, "bad.pem");
	harness_write_file(bad, "not a certificate\n");
	assert_int_equal(daemon_run(broken, out, sizeof out, err, sizeof err),
	    2);
	assert_true(strncmp(err, "tls.cert: ", 10) == 0);
	assert_non_null(strstr(err, bad));
	assert_int_equal(daemon_run(missing, out, sizeof out, err, sizeof err),
	    2);
	assert_string_equal(err, "tls.cert: needed by tls.listen\n");
	assert_int_equal(daemon_run(nokey, out, sizeof out, err, sizeof err),
	    2);
	assert_true(strncmp(err, "tls.key: ", 9) == 0);
	assert_non_null(strstr(err, "key values mismatch"));
	assert_int_equal(daemon_run(off, out, sizeof out, err, sizeof err), 2);
	assert_string_equal(err, "router.listen: off needs tls.listen: no "
	    "client could connect\n");
	/* TLS only is fine. */
	assert_int_equal(daemon_run(tlsonly, out, sizeof out, err, sizeof err),
	    0);
	assert_non_null(strstr(out, "router.listen = off"));
	assert_non_null(strstr(out, "tls.listen = 127.0.0.1:0"));
	unlink(bad);
}

/*
 * TLS handshakes free their buffers when they end, tens of KB each, with
 * not a byte of traffic: enough of them, then a quiet second, trim the
 * heap (msgrouterd.c, trim_cb), as traffic does.  40 handshakes count as
 * 1.25 MiB, past the 1 MiB that calls for a trim; the clients stay
 * connected and idle meanwhile.
 */
#define TRIM_CLIENTS	40

static void
test_trim_after_handshakes(void **state)
{
	struct daemon	 d;
	struct tlc	*t;
	char		 cert[300], key[300];
	const char	*args[] = { TLS_ARGS(cert_path(cert, sizeof cert,
	    "server.pem"), cert_path(key, sizeof key, "server.key")),
	    "--log-level", "debug", NULL };
	int		 i;

	assert_non_null(t = calloc(TRIM_CLIENTS, sizeof *t));
	harness_start(&d, args);
	for (i = 0; i < TRIM_CLIENTS; i++)
		assert_int_equal(tlc_open(&t[i], tls_port(&d), NULL, 1), 0);
	harness_wait_log(&d, "quiet: heap trimmed", 1);
	assert_int_equal(daemon_stat(&d, "tls", "handshakes_total"),
	    TRIM_CLIENTS);
	for (i = 0; i < TRIM_CLIENTS; i++)
		tlc_close(&t[i]);
	free(t);
	harness_stop(&d);
}

/* Make the certificates once, in the test directory. */
static int
certs_setup(void **state)
{
	const char	*script = getenv("TLS_CERTS_SH");
	char		 cmd[1024];

	harness_tmp_path(certs, sizeof certs, "certs");
	snprintf(cmd, sizeof cmd, "sh '%s' '%s'",
	    script != NULL ? script : "tests/tls-certs.sh", certs);
	return system(cmd) == 0 ? 0 : -1;
}

static int
certs_teardown(void **state)
{
	char	cmd[512];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", certs);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_exchange),
		harness_unit_test(test_mtls),
		harness_unit_test(test_rotation),
		harness_unit_test(test_garbage),
		harness_unit_test(test_handshake_deadline),
		harness_unit_test(test_backpressure),
		harness_unit_test(test_drain),
		harness_unit_test(test_admin_https),
		harness_unit_test(test_check_config),
		harness_unit_test(test_admin_https_mtls),
		harness_unit_test(test_tcp_check),
		harness_unit_test(test_trim_after_handshakes),
		harness_unit_test(test_order),
		harness_unit_test(test_broken_record),
	};

	harness_init();
	return harness_finish(cmocka_run_group_tests(tests, certs_setup,
	    certs_teardown));
}
