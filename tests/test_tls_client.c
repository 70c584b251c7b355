/*
 * test_tls_client: libmsgrouter-client and msgrouter-cat over TLS against a
 * fake router played by a thread of the test with OpenSSL.  The certificates
 * are made at start by tests/tls-certs.sh in a temporary directory.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "msgrouter/client.h"

/* Long enough to never fire on a loaded machine; only failures wait it. */
#define WAIT_MS		5000
/* The id the fake router gives. */
#define FAKE_ID		42
/* A message larger than a TLS record and than one socket write. */
#define BIG_LEN		(300 * 1024)

static char	certdir[256];

/* What a fake router serves and what it saw. */
struct fake {
	const char	*fk_cert;	/* its certificate, in certdir */
	int		 fk_plain;	/* no TLS at all */
	int		 fk_verify;	/* require a client certificate */
	int		 fk_garbage;	/* clear bytes into the session after the id */
	int		 fk_listen;
	uint16_t	 fk_port;
	pthread_t	 fk_thread;
	SSL_CTX		*fk_ctx;
	int		 fk_handshake_ok;
	char		 fk_peer_cn[128];
	char		 fk_host[64];	/* "127.0.0.1:PORT" */
	char		 fk_name[64];	/* "localhost:PORT" */
};

/* certdir/name into buf. */
static const char *
cert_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", certdir, name);
	return buf;
}

/* Write all of buf, over TLS or not; -1 on failure. */
static int
fake_write(struct fake *fk, SSL *ssl, int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	int		 n;

	while (len > 0) {
		if (fk->fk_plain)
			n = (int)write(fd, p, len);
		else
			n = SSL_write(ssl, p, (int)len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Serve one connection: the handshake, the id, then every frame's payload
 * and 0x00 echoed back to its sender, until the client closes.
 */
static void *
fake_run(void *arg)
{
	struct fake	*fk = arg;
	struct pollfd	 pfd = { fk->fk_listen, POLLIN, 0 };
	struct timeval	 tv = { WAIT_MS / 1000, 0 };
	static char	 buf[BIG_LEN + 64];
	uint32_t	 be = htonl(FAKE_ID);
	X509		*peer;
	SSL		*ssl = NULL;
	size_t		 have = 0;
	char		*nul;
	int		 fd, n;

	if (poll(&pfd, 1, WAIT_MS) != 1 ||
	    (fd = accept(fk->fk_listen, NULL, NULL)) == -1)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (!fk->fk_plain) {
		ssl = SSL_new(fk->fk_ctx);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) != 1)
			goto out;
		fk->fk_handshake_ok = 1;
		if ((peer = SSL_get1_peer_certificate(ssl)) != NULL) {
			X509_NAME_get_text_by_NID(X509_get_subject_name(peer),
			    NID_commonName, fk->fk_peer_cn,
			    sizeof fk->fk_peer_cn);
			X509_free(peer);
		}
	}
	if (fake_write(fk, ssl, fd, &be, sizeof be) != 0)
		goto out;
	if (fk->fk_garbage) {
		/* Not a TLS record: the client must fail, not deliver it. */
		if (write(fd, "garbage!\n\0", 10) != 10)
			goto out;
		n = SSL_read(ssl, buf, sizeof buf);
		goto out;
	}
	for (;;) {
		if (fk->fk_plain)
			n = (int)read(fd, buf + have, sizeof buf - have);
		else
			n = SSL_read(ssl, buf + have, (int)(sizeof buf - have));
		if (n <= 0)
			break;
		have += (size_t)n;
		while (have > 4 && (nul = memchr(buf + 4, '\0', have - 4)) !=
		    NULL) {
			size_t	frame = (size_t)(nul - buf) + 1;

			if (fake_write(fk, ssl, fd, buf + 4, frame - 4) != 0)
				goto out;
			memmove(buf, buf + frame, have - frame);
			have -= frame;
		}
		if (have == sizeof buf)
			break;
	}
out:
	if (ssl != NULL) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	ERR_clear_error();
	close(fd);
	return NULL;
}

/* Start a fake router on a free loopback port. */
static void
fake_start(struct fake *fk)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	char			cert[512], key[512], ca[512], name[64];

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fk->fk_listen = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fk->fk_listen >= 0);
	assert_int_equal(bind(fk->fk_listen, (struct sockaddr *)&sin,
	    sizeof sin), 0);
	assert_int_equal(listen(fk->fk_listen, 4), 0);
	assert_int_equal(getsockname(fk->fk_listen, (struct sockaddr *)&sin,
	    &len), 0);
	fk->fk_port = ntohs(sin.sin_port);
	snprintf(fk->fk_host, sizeof fk->fk_host, "127.0.0.1:%u", fk->fk_port);
	snprintf(fk->fk_name, sizeof fk->fk_name, "localhost:%u", fk->fk_port);

	if (!fk->fk_plain) {
		fk->fk_ctx = SSL_CTX_new(TLS_server_method());
		assert_non_null(fk->fk_ctx);
		snprintf(name, sizeof name, "%s.pem", fk->fk_cert);
		cert_path(cert, sizeof cert, name);
		snprintf(name, sizeof name, "%s.key", fk->fk_cert);
		cert_path(key, sizeof key, name);
		assert_int_equal(SSL_CTX_use_certificate_chain_file(fk->fk_ctx,
		    cert), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey_file(fk->fk_ctx, key,
		    SSL_FILETYPE_PEM), 1);
		if (fk->fk_verify) {
			assert_int_equal(SSL_CTX_load_verify_locations(
			    fk->fk_ctx, cert_path(ca, sizeof ca, "ca.pem"),
			    NULL), 1);
			SSL_CTX_set_verify(fk->fk_ctx, SSL_VERIFY_PEER |
			    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		}
	}
	assert_int_equal(pthread_create(&fk->fk_thread, NULL, fake_run, fk),
	    0);
}

/* Wait for the fake router's connection to end and free it. */
static void
fake_stop(struct fake *fk)
{
	pthread_join(fk->fk_thread, NULL);
	close(fk->fk_listen);
	SSL_CTX_free(fk->fk_ctx);
}

/* TLS settings trusting certdir/ca.pem, with a client certificate or not. */
static struct mr_tls *
tls_with(const char *cafile, const char *client)
{
	struct mr_tls	*t;
	char		 ca[512], cert[512], key[512], name[64];

	assert_non_null(t = mr_tls_new());
	if (cafile != NULL)
		assert_int_equal(mr_tls_set_ca(t, cert_path(ca, sizeof ca,
		    cafile)), MR_OK);
	if (client != NULL) {
		snprintf(name, sizeof name, "%s.pem", client);
		cert_path(cert, sizeof cert, name);
		snprintf(name, sizeof name, "%s.key", client);
		cert_path(key, sizeof key, name);
		assert_int_equal(mr_tls_set_cert(t, cert, key), MR_OK);
	}
	return t;
}

/* Send msg to anyone and expect the fake router's echo. */
static void
expect_echo(struct mr_client *c, const char *msg, size_t len)
{
	const char	*got;
	size_t		 gotlen;

	assert_int_equal(mr_client_send(c, 7, msg, len, WAIT_MS), MR_OK);
	assert_int_equal(mr_client_recv(c, WAIT_MS, &got, &gotlen), MR_OK);
	assert_int_equal(gotlen, len);
	assert_memory_equal(got, msg, len);
}

/* Connect to fk over TLS and expect failure with every want in the error. */
static void
expect_refused(struct fake *fk, const char *host, struct mr_tls *t, ...)
{
	struct mr_client	*c = NULL;
	const char		*want;
	va_list			 ap;

	assert_int_equal(mr_client_connect_tls(host, t, WAIT_MS, &c),
	    MR_ETLS);
	assert_null(c);
	va_start(ap, t);
	while ((want = va_arg(ap, const char *)) != NULL) {
		if (strstr(mr_tls_error(t), want) == NULL)
			fail_msg("error \"%s\" lacks \"%s\"", mr_tls_error(t),
			    want);
	}
	va_end(ap);
	fake_stop(fk);
}

/* The right CA: the id, a small message and one over many TLS records. */
static void
test_good_ca(void **state)
{
	struct fake		 fk = { .fk_cert = "server" };
	struct mr_tls		*t = tls_with("ca.pem", NULL);
	struct mr_client	*c;
	static char		 big[BIG_LEN];

	(void)state;
	fake_start(&fk);
	assert_int_equal(mr_client_connect_tls(fk.fk_host, t, WAIT_MS, &c),
	    MR_OK);
	assert_int_equal(mr_client_id(c), FAKE_ID);
	expect_echo(c, "hello", 5);
	memset(big, 'x', sizeof big);
	expect_echo(c, big, sizeof big);
	expect_echo(c, "after", 5);
	mr_client_close(c);
	fake_stop(&fk);
	assert_true(fk.fk_handshake_ok);
	assert_string_equal(fk.fk_peer_cn, "");

	/* The name in -H is checked too: localhost is in the certificate. */
	fake_start(&fk);
	assert_int_equal(mr_client_connect_tls(fk.fk_name, t, WAIT_MS, &c),
	    MR_OK);
	expect_echo(c, "by name", 7);
	mr_client_close(c);
	fake_stop(&fk);
	mr_tls_free(t);
}

/* A certificate from a CA we do not trust: refused, and said why. */
static void
test_wrong_ca(void **state)
{
	struct fake	 fk = { .fk_cert = "server" };
	struct mr_tls	*t = tls_with("ca2.pem", NULL);

	(void)state;
	fake_start(&fk);
	expect_refused(&fk, fk.fk_host, t, "certificate verify failed",
	    "unable to get local issuer certificate", NULL);
	assert_false(fk.fk_handshake_ok);
	mr_tls_free(t);

	/* Without --ca the system's store is used, and it lacks our CA. */
	t = tls_with(NULL, NULL);
	fake_start(&fk);
	expect_refused(&fk, fk.fk_host, t, "certificate verify failed",
	    "unable to get local issuer certificate", NULL);
	mr_tls_free(t);
}

/* A good chain for another name fails by IP and by name, unless insecure. */
static void
test_name_mismatch(void **state)
{
	struct fake		 fk = { .fk_cert = "wrongname" };
	struct mr_tls		*t = tls_with("ca.pem", NULL);
	struct mr_client	*c;

	(void)state;
	fake_start(&fk);
	expect_refused(&fk, fk.fk_host, t, "certificate verify failed",
	    "IP address mismatch", NULL);
	fake_start(&fk);
	expect_refused(&fk, fk.fk_name, t, "certificate verify failed",
	    "hostname mismatch", NULL);

	mr_tls_set_insecure(t, 1);
	fake_start(&fk);
	assert_int_equal(mr_client_connect_tls(fk.fk_host, t, WAIT_MS, &c),
	    MR_OK);
	expect_echo(c, "anyway", 6);
	mr_client_close(c);
	fake_stop(&fk);
	mr_tls_free(t);

	/* Insecure accepts a CA nobody trusts as well. */
	t = tls_with("ca2.pem", NULL);
	mr_tls_set_insecure(t, 1);
	fk.fk_cert = "server";
	fake_start(&fk);
	assert_int_equal(mr_client_connect_tls(fk.fk_host, t, WAIT_MS, &c),
	    MR_OK);
	mr_client_close(c);
	fake_stop(&fk);
	mr_tls_free(t);
}

/* mTLS: our certificate is presented; none, or a stranger's, is refused. */
static void
test_client_cert(void **state)
{
	struct fake		 fk = { .fk_cert = "server", .fk_verify = 1 };
	struct mr_tls		*t = tls_with("ca.pem", "client");
	struct mr_client	*c;

	(void)state;
	fake_start(&fk);
	assert_int_equal(mr_client_connect_tls(fk.fk_host, t, WAIT_MS, &c),
	    MR_OK);
	expect_echo(c, "mutual", 6);
	mr_client_close(c);
	fake_stop(&fk);
	assert_string_equal(fk.fk_peer_cn, "msgrouter test client");
	mr_tls_free(t);

	/* TLS 1.3 refuses after our handshake: the id read hears the alert. */
	t = tls_with("ca.pem", NULL);
	memset(fk.fk_peer_cn, 0, sizeof fk.fk_peer_cn);
	fake_start(&fk);
	expect_refused(&fk, fk.fk_host, t, "certificate required", NULL);
	mr_tls_free(t);

	t = tls_with("ca.pem", "other");
	fake_start(&fk);
	expect_refused(&fk, fk.fk_host, t, "unknown ca", NULL);
	mr_tls_free(t);
}

/* Bytes that are no TLS record, after the id: MR_ETLS, and why. */
static void
test_garbage_after_id(void **state)
{
	struct fake		 fk = { .fk_cert = "server", .fk_garbage = 1 };
	struct mr_tls		*t = tls_with("ca.pem", NULL);
	struct mr_client	*c;
	const char		*msg;
	size_t			 len;

	(void)state;
	fake_start(&fk);
	assert_int_equal(mr_client_connect_tls(fk.fk_host, t, WAIT_MS, &c),
	    MR_OK);
	assert_int_equal(mr_client_recv(c, WAIT_MS, &msg, &len), MR_ETLS);
	if (strncmp(mr_tls_error(t), "TLS: ", 5) != 0 ||
	    strlen(mr_tls_error(t)) <= 5)
		fail_msg("error \"%s\"", mr_tls_error(t));
	mr_client_close(c);
	fake_stop(&fk);
	mr_tls_free(t);
}

/* A plain port (the router's id comes in clear) fails the handshake. */
static void
test_plain_port(void **state)
{
	struct fake	 fk = { .fk_plain = 1 };
	struct mr_tls	*t = tls_with("ca.pem", NULL);

	(void)state;
	fake_start(&fk);
	expect_refused(&fk, fk.fk_host, t, "TLS handshake", NULL);
	mr_tls_free(t);
}

/* Files that cannot be loaded say which and why. */
static void
test_bad_files(void **state)
{
	struct mr_tls	*t;
	char		 cert[512], key[512], ca[512];

	(void)state;
	assert_non_null(t = mr_tls_new());
	assert_int_equal(mr_tls_set_ca(t, cert_path(ca, sizeof ca,
	    "missing.pem")), MR_ETLS);
	assert_non_null(strstr(mr_tls_error(t), "missing.pem: No such file"));
	assert_int_equal(mr_tls_set_cert(t, cert_path(cert, sizeof cert,
	    "client.pem"), cert_path(key, sizeof key, "server.key")), MR_ETLS);
	assert_non_null(strstr(mr_tls_error(t), "server.key"));
	assert_non_null(strstr(mr_tls_error(t), "mismatch"));
	assert_int_equal(mr_client_connect_tls("127.0.0.1", t, WAIT_MS, NULL),
	    MR_EINVAL);
	assert_string_equal(mr_strerror(MR_ETLS), "TLS failure");
	mr_tls_free(t);
}

/*
 * Run msgrouter-cat with args and input; its exit status, its stdout in
 * out and its stderr in err.
 */
static int
run_cat(const char *input, char *out, size_t outlen, char *err,
    size_t errlen, const char *args)
{
	char	 cmd[4096], path[512];
	FILE	*f;
	size_t	 n;
	int	 status;

	snprintf(path, sizeof path, "%s/cat.err", certdir);
	snprintf(cmd, sizeof cmd, "cd %s && printf '%s' | \"%s\" %s 2>%s",
	    certdir, input, getenv("MSGROUTER_CAT"), args, path);
	assert_non_null(f = popen(cmd, "r"));
	n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	status = pclose(f);
	assert_non_null(f = fopen(path, "r"));
	n = fread(err, 1, errlen - 1, f);
	err[n] = '\0';
	fclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* msgrouter-cat: --tls with --ca, --cert/--key, --insecure, and its errors. */
static void
test_cat(void **state)
{
	struct fake	 fk = { .fk_cert = "server", .fk_verify = 1 };
	char		 args[512], out[256], err[1024];

	(void)state;
	if (getenv("MSGROUTER_CAT") == NULL)
		skip();
	fake_start(&fk);
	snprintf(args, sizeof args, "-H %s --tls --ca ca.pem --cert client.pem "
	    "--key client.key -w 0.2", fk.fk_host);
	assert_int_equal(run_cat("5 over tls\\n", out, sizeof out, err,
	    sizeof err, args), 0);
	fake_stop(&fk);
	assert_string_equal(out, "over tls\n");
	assert_string_equal(fk.fk_peer_cn, "msgrouter test client");

	fk.fk_verify = 0;
	fake_start(&fk);
	snprintf(args, sizeof args, "-H %s --tls --ca ca2.pem",
	    fk.fk_host);
	assert_int_equal(run_cat("", out, sizeof out, err, sizeof err, args),
	    1);
	fake_stop(&fk);
	if (strstr(err, "cannot connect to 127.0.0.1:") == NULL ||
	    strstr(err, "TLS handshake: certificate verify failed (unable to "
	    "get local issuer certificate)") == NULL)
		fail_msg("stderr: %s", err);

	fk.fk_cert = "wrongname";
	fake_start(&fk);
	snprintf(args, sizeof args, "-H %s --tls --ca ca.pem", fk.fk_name);
	assert_int_equal(run_cat("", out, sizeof out, err, sizeof err, args),
	    1);
	fake_stop(&fk);
	if (strstr(err, "(hostname mismatch)") == NULL)
		fail_msg("stderr: %s", err);
	fake_start(&fk);
	snprintf(args, sizeof args, "-H %s --tls --insecure -w 0.2",
	    fk.fk_name);
	assert_int_equal(run_cat("1 trusting\\n", out, sizeof out, err,
	    sizeof err, args), 0);
	fake_stop(&fk);
	assert_string_equal(out, "trusting\n");

	/* Flags that do not go together are usage errors, before connecting. */
	assert_int_equal(run_cat("", out, sizeof out, err, sizeof err,
	    "--ca ca.pem"), 2);
	assert_non_null(strstr(err, "--ca needs --tls"));
	assert_int_equal(run_cat("", out, sizeof out, err, sizeof err,
	    "--tls --cert client.pem"), 2);
	assert_non_null(strstr(err, "--cert needs --key"));
	assert_int_equal(run_cat("", out, sizeof out, err, sizeof err,
	    "--tls --ca missing.pem"), 1);
	assert_non_null(strstr(err, "CA file missing.pem: No such file"));
}

/* Make the certificates in a new temporary directory. */
static int
certs_setup(void **state)
{
	const char	*tmp = getenv("TESTS_TMPDIR");
	const char	*script = getenv("TLS_CERTS_SH");
	char		 cmd[1024];

	(void)state;
	snprintf(certdir, sizeof certdir, "%s/tmp-tls-XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(certdir) == NULL)
		return -1;
	snprintf(cmd, sizeof cmd, "sh %s %s",
	    script != NULL ? script : "tests/tls-certs.sh", certdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
certs_teardown(void **state)
{
	char	cmd[512];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf %s", certdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_ca),
		cmocka_unit_test(test_wrong_ca),
		cmocka_unit_test(test_name_mismatch),
		cmocka_unit_test(test_client_cert),
		cmocka_unit_test(test_garbage_after_id),
		cmocka_unit_test(test_plain_port),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_cat),
	};

	/*
	 * The fake servers write to clients that may have gone (a TLS client
	 * refusing a plain server closes at once): an error, not a SIGPIPE
	 * that kills the test (exit 141, seen under load).
	 */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, certs_setup, certs_teardown);
}
