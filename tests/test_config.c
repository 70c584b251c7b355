/*
 * test_config: the configuration file parser, the shared validators, the
 * precedence of defaults, file and flags, and the reload rules.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "msgrouter/addr.h"
#include "msgrouter/config.h"

static char	err[CONFIG_ERRLEN];

/* Read len bytes of text as the file "t.conf" over the defaults; 0 or -1. */
static int
read_bytes(struct config *cf, const char *text, size_t len)
{
	FILE	*fp;
	int	 rc;

	config_defaults(cf);
	err[0] = '\0';
	fp = fmemopen((void *)text, len, "r");
	assert_non_null(fp);
	rc = config_read_fp(cf, fp, "t.conf", err, sizeof err);
	fclose(fp);
	return rc;
}

/* Read text as the file "t.conf" over the defaults; 0 or -1. */
static int
read_text(struct config *cf, const char *text)
{
	return read_bytes(cf, text, strlen(text));
}

/* Expect text to fail with exactly this message. */
static void
expect_error(const char *text, const char *message)
{
	struct config	cf;

	assert_int_equal(read_text(&cf, text), -1);
	assert_string_equal(err, message);
}

/* Every setting of cf is want's, and every one came from origin. */
static void
expect_settings(const struct config *cf, const struct config *want,
    int origin)
{
	int	k;

	assert_string_equal(cf->cf_listen, want->cf_listen);
	assert_int_equal(cf->cf_max_clients, want->cf_max_clients);
	assert_int_equal(cf->cf_max_message_size, want->cf_max_message_size);
	assert_int_equal(cf->cf_queue_limit, want->cf_queue_limit);
	assert_int_equal(cf->cf_slow_consumer, want->cf_slow_consumer);
	assert_int_equal(cf->cf_id_mode, want->cf_id_mode);
	assert_int_equal(cf->cf_shutdown_timeout_ms,
	    want->cf_shutdown_timeout_ms);
	assert_string_equal(cf->cf_admin_listen, want->cf_admin_listen);
	assert_string_equal(cf->cf_admin_token, want->cf_admin_token);
	assert_int_equal(cf->cf_log_level, want->cf_log_level);
	if (origin == CONFIG_ORIGIN_DEFAULT) {
		assert_int_equal(cf->cf_unix_mode, 0660);
		assert_int_equal(cf->cf_admin_unix_mode, 0660);
	}
	assert_int_equal(cf->cf_sndbuf, want->cf_sndbuf);
	assert_string_equal(cf->cf_tls_listen, want->cf_tls_listen);
	assert_string_equal(cf->cf_tls_cert, want->cf_tls_cert);
	assert_string_equal(cf->cf_tls_key, want->cf_tls_key);
	assert_string_equal(cf->cf_tls_ca, want->cf_tls_ca);
	assert_int_equal(cf->cf_tls_min_version, want->cf_tls_min_version);
	assert_string_equal(cf->cf_tls_ciphers, want->cf_tls_ciphers);
	assert_string_equal(cf->cf_tls_ciphersuites,
	    want->cf_tls_ciphersuites);
	assert_int_equal(cf->cf_tls_handshake_timeout_ms,
	    want->cf_tls_handshake_timeout_ms);
	assert_int_equal(cf->cf_admin_tls, want->cf_admin_tls);
	assert_int_equal(cf->cf_scan_limit, want->cf_scan_limit);
	assert_int_equal(cf->cf_scan_window_ms, want->cf_scan_window_ms);
	assert_int_equal(cf->cf_scan_ban_ms, want->cf_scan_ban_ms);
	assert_int_equal(cf->cf_max_clients_per_address,
	    want->cf_max_clients_per_address);
	assert_string_equal(cf->cf_cluster_nats, want->cf_cluster_nats);
	assert_int_equal(cf->cf_cluster_node, want->cf_cluster_node);
	assert_string_equal(cf->cf_cluster_name, want->cf_cluster_name);
	assert_string_equal(cf->cf_cluster_secret, want->cf_cluster_secret);
	assert_string_equal(cf->cf_cluster_secret_file,
	    want->cf_cluster_secret_file);
	assert_int_equal(cf->cf_cluster_heartbeat_ms,
	    want->cf_cluster_heartbeat_ms);
	assert_int_equal(cf->cf_cluster_peer_timeout_ms,
	    want->cf_cluster_peer_timeout_ms);
	assert_int_equal(cf->cf_cluster_link_limit, want->cf_cluster_link_limit);
	assert_int_equal(cf->cf_reuseport, want->cf_reuseport);
	assert_string_equal(cf->cf_cluster_nats_ca, want->cf_cluster_nats_ca);
	assert_string_equal(cf->cf_cluster_nats_cert,
	    want->cf_cluster_nats_cert);
	assert_string_equal(cf->cf_cluster_nats_key, want->cf_cluster_nats_key);
	for (k = 0; k < CONFIG_NKEYS; k++)
		assert_int_equal(cf->cf_origin[k], origin);
}

static void
test_defaults(void **state)
{
	static const struct config want = {
		.cf_listen = "127.0.0.1:8080",
		.cf_max_clients = 10000,
		.cf_max_message_size = 1048576,
		.cf_queue_limit = 8388608,
		.cf_slow_consumer = SLOW_CONSUMER_BACKPRESSURE,
		.cf_id_mode = ID_MODE_RANDOM,
		.cf_shutdown_timeout_ms = 5000,
		.cf_admin_listen = "127.0.0.1:8081",
		.cf_admin_token = "",
		.cf_log_level = LOG_LEVEL_INFO,
		.cf_tls_listen = "off",
		.cf_tls_min_version = TLS_VERSION_1_2,
		.cf_tls_handshake_timeout_ms = 10000,
		.cf_scan_limit = 64,
		.cf_scan_window_ms = 10000,
		.cf_scan_ban_ms = 60000,
		.cf_max_clients_per_address = 0,
		.cf_cluster_node = CONFIG_NODE_UNSET,
		.cf_cluster_name = "msgrouter",
		.cf_cluster_heartbeat_ms = 1000,
		.cf_cluster_peer_timeout_ms = 3000,
		.cf_cluster_link_limit = 64 * 1024 * 1024,
	};
	struct config	cf;

	assert_int_equal(config_load(&cf, NULL, NULL, 0, err, sizeof err), 0);
	expect_settings(&cf, &want, CONFIG_ORIGIN_DEFAULT);
}

static void
test_every_key(void **state)
{
	static const struct config want = {
		.cf_listen = "[::1]:9000",
		.cf_max_clients = 42,
		.cf_max_message_size = 65536,
		.cf_queue_limit = 2097152,
		.cf_slow_consumer = SLOW_CONSUMER_DISCONNECT,
		.cf_id_mode = ID_MODE_SEQUENTIAL,
		.cf_shutdown_timeout_ms = 250,
		.cf_admin_listen = "off",
		.cf_admin_token = "s3cr3t-T0ken",
		.cf_log_level = LOG_LEVEL_WARN,
		.cf_sndbuf = 65536,
		.cf_tls_listen = "[::1]:9443",
		.cf_tls_cert = "/dev/null",
		.cf_tls_key = "/dev/null",
		.cf_tls_ca = "/dev/null",
		.cf_tls_min_version = TLS_VERSION_1_3,
		.cf_tls_ciphers = "ECDHE+AESGCM",
		.cf_tls_ciphersuites = "TLS_AES_128_GCM_SHA256",
		.cf_tls_handshake_timeout_ms = 2000,
		.cf_admin_tls = 1,
		.cf_scan_limit = 0,
		.cf_scan_window_ms = 2500,
		.cf_scan_ban_ms = 120000,
		.cf_max_clients_per_address = 7,
		.cf_cluster_nats = "tls://a:4222,tls://b:4222",
		.cf_cluster_node = 9,
		.cf_cluster_name = "c_1",
		.cf_cluster_secret = "0123456789abcdef",
		.cf_cluster_secret_file = "/dev/null",
		.cf_cluster_heartbeat_ms = 500,
		.cf_cluster_peer_timeout_ms = 2000,
		.cf_cluster_link_limit = 16 * 1024 * 1024,
		.cf_reuseport = 1,
		.cf_cluster_nats_ca = "/dev/null",
		.cf_cluster_nats_cert = "/dev/null",
		.cf_cluster_nats_key = "/dev/null",
	};
	struct config	cf;

	assert_int_equal(read_text(&cf,
	    "; a full file\n"
	    "[router]\n"
	    "listen = [::1]:9000\n"
	    "max_clients = 42\n"
	    "max_message_size = 64K\n"
	    "queue_limit = 2M\n"
	    "slow_consumer = disconnect\n"
	    "id_mode = sequential\n"
	    "shutdown_timeout = 250ms\n"
	    "unix_mode = 0600\n"
	    "sndbuf = 64K\n"
	    "scan_limit = 0\n"
	    "scan_window = 2500ms\n"
	    "scan_ban = 2min\n"
	    "max_clients_per_address = 7\n"
	    "reuseport = yes\n"
	    "[admin]\n"
	    "listen = off\n"
	    "token = s3cr3t-T0ken\n"
	    "unix_mode = 0640\n"
	    "tls = yes\n"
	    "[log]\n"
	    "level = warn\n"
	    "[tls]\n"
	    "listen = [::1]:9443\n"
	    "cert = /dev/null\n"
	    "key = /dev/null\n"
	    "ca = /dev/null\n"
	    "min_version = TLSv1.3\n"
	    "ciphers = ECDHE+AESGCM\n"
	    "ciphersuites = TLS_AES_128_GCM_SHA256\n"
	    "handshake_timeout = 2s\n"
	    "[cluster]\n"
	    "nats = tls://a:4222,tls://b:4222\n"
	    "node = 9\n"
	    "name = c_1\n"
	    "secret = 0123456789abcdef\n"
	    "secret_file = /dev/null\n"
	    "heartbeat = 500ms\n"
	    "peer_timeout = 2s\n"
	    "link_limit = 16M\n"
	    "nats_ca = /dev/null\n"
	    "nats_cert = /dev/null\n"
	    "nats_key = /dev/null\n"), 0);
	assert_string_equal(err, "");
	assert_int_equal(cf.cf_unix_mode, 0600);
	assert_int_equal(cf.cf_admin_unix_mode, 0640);
	expect_settings(&cf, &want, CONFIG_ORIGIN_FILE);
}

static void
test_size_suffixes(void **state)
{
	static const struct {
		const char	*text;
		uint64_t	 bytes;
	} cases[] = {
		{ "[router]\nqueue_limit = 1024\n", 1024 },
		{ "[router]\nqueue_limit = 3K\n", 3 * 1024 },
		{ "[router]\nqueue_limit = 3k\n", 3 * 1024 },
		{ "[router]\nqueue_limit = 5M\n", 5 * 1024 * 1024 },
		{ "[router]\nqueue_limit = 2G\n", 2ULL << 30 },
		{ "[router]\nqueue_limit = 64G\n", 64ULL << 30 },
		{ "[router]\nqueue_limit = 8MiB\n", 8 << 20 },
	};
	struct config	cf;
	size_t		i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(read_text(&cf, cases[i].text), 0);
		assert_int_equal(cf.cf_queue_limit, cases[i].bytes);
	}
}

static void
test_duration_suffixes(void **state)
{
	static const struct {
		const char	*text;
		uint64_t	 ms;
	} cases[] = {
		{ "[router]\nshutdown_timeout = 0\n", 0 },
		{ "[router]\nshutdown_timeout = 750ms\n", 750 },
		{ "[router]\nshutdown_timeout = 30s\n", 30000 },
		{ "[router]\nshutdown_timeout = 7\n", 7000 },
		{ "[router]\nshutdown_timeout = 3600s\n", 3600000 },
	};
	struct config	cf;
	size_t		i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(read_text(&cf, cases[i].text), 0);
		assert_int_equal(cf.cf_shutdown_timeout_ms, cases[i].ms);
	}
}

/* Comments, blank lines, indentation, inline ";" comments, CRLF, BOM. */
static void
test_syntax_accepted(void **state)
{
	struct config	cf;

	assert_int_equal(read_text(&cf,
	    "\xef\xbb\xbf# comment\r\n"
	    "\r\n"
	    "  [router]  \r\n"
	    "\tmax_clients = 7 ; inline comment\r\n"
	    "    id_mode=sequential\r\n"
	    "[log]\r\n"
	    "level: debug\r\n"), 0);
	assert_int_equal(cf.cf_max_clients, 7);
	assert_int_equal(cf.cf_id_mode, ID_MODE_SEQUENTIAL);
	assert_int_equal(cf.cf_log_level, LOG_LEVEL_DEBUG);
}

static void
test_bad_values(void **state)
{
	expect_error("[router]\n\n# spare\nqueue_limit = lots\n",
	    "t.conf:4: queue_limit: expected a size like 8M, got \"lots\"");
	expect_error("[router]\nqueue_limit = 512\n",
	    "t.conf:2: queue_limit: expected a size from 1K to 64G, "
	    "got \"512\"");
	expect_error("[router]\nqueue_limit = 65G\n",
	    "t.conf:2: queue_limit: expected a size from 1K to 64G, "
	    "got \"65G\"");
	expect_error("[router]\nmax_message_size = 0\n",
	    "t.conf:2: max_message_size: expected a size from 1 to 1G, "
	    "got \"0\"");
	expect_error("[router]\nmax_message_size = -1\n",
	    "t.conf:2: max_message_size: expected a size like 8M, "
	    "got \"-1\"");
	expect_error("[router]\nmax_message_size = 99999999999999999999K\n",
	    "t.conf:2: max_message_size: expected a size like 8M, "
	    "got \"99999999999999999999K\"");
	expect_error("[router]\nmax_clients = 0\n",
	    "t.conf:2: max_clients: expected a number from 1 to 1000000, "
	    "got \"0\"");
	expect_error("[router]\nmax_clients = 10K\n",
	    "t.conf:2: max_clients: expected a number from 1 to 1000000, "
	    "got \"10K\"");
	expect_error("[router]\nshutdown_timeout = soon\n",
	    "t.conf:2: shutdown_timeout: expected a duration like 5s or "
	    "250ms, got \"soon\"");
	expect_error("[router]\nshutdown_timeout = 3601s\n",
	    "t.conf:2: shutdown_timeout: expected a duration from 0s to "
	    "3600s, got \"3601s\"");
	expect_error("[router]\nsndbuf = 65M\n",
	    "t.conf:2: sndbuf: expected a size from 0 to 64M, got \"65M\"");
	expect_error("[router]\nslow_consumer = ignore\n",
	    "t.conf:2: slow_consumer: expected backpressure, drop or "
	    "disconnect, got \"ignore\"");
	expect_error("[router]\nid_mode = Random\n",
	    "t.conf:2: id_mode: expected random or sequential, "
	    "got \"Random\"");
	expect_error("[log]\nlevel = loud\n",
	    "t.conf:2: level: expected debug, info, warn or error, "
	    "got \"loud\"");
	/* '#' is not an inline comment: the value keeps it. */
	expect_error("[router]\nqueue_limit = 8M # big\n",
	    "t.conf:2: queue_limit: expected a size like 8M, "
	    "got \"8M # big\"");
}

static void
test_bad_addresses(void **state)
{
	struct config	cf;

	expect_error("[router]\nlisten = 127.0.0.1\n",
	    "t.conf:2: listen: expected ADDRESS:PORT like 127.0.0.1:8080 "
	    "(expected ADDRESS:PORT), got \"127.0.0.1\"");
	expect_error("[router]\nlisten = 127.0.0.1:70000\n",
	    "t.conf:2: listen: expected ADDRESS:PORT like 127.0.0.1:8080 "
	    "(port must be a number from 0 to 65535), "
	    "got \"127.0.0.1:70000\"");
	expect_error("[router]\nlisten = example.com:80\n",
	    "t.conf:2: listen: expected ADDRESS:PORT like 127.0.0.1:8080 "
	    "(not a numeric IPv4 or IPv6 address), got \"example.com:80\"");
	expect_error("[router]\nlisten = nowhere\n",
	    "t.conf:2: listen: expected ADDRESS:PORT like 127.0.0.1:8080 "
	    "(expected ADDRESS:PORT), got \"nowhere\"");
	expect_error("[tls]\nlisten = 127.0.0.1\n",
	    "t.conf:2: listen: expected ADDRESS:PORT like 127.0.0.1:8080 "
	    "(expected ADDRESS:PORT), got \"127.0.0.1\"");
	expect_error("[admin]\nlisten = nowhere\n",
	    "t.conf:2: listen: expected ADDRESS:PORT like 127.0.0.1:8081 "
	    "or off, got \"nowhere\"");
	assert_int_equal(read_text(&cf, "[admin]\nlisten = 0.0.0.0:0\n"), 0);
	assert_string_equal(cf.cf_admin_listen, "0.0.0.0:0");
}

/* config_load of a file's text: 0, or -1 with the message in err. */
static char	*temp_file(const char *);

static int
load_text(struct config *cf, const char *text)
{
	char	*path = temp_file(text);
	int	 rc;

	rc = config_load(cf, path, NULL, 0, err, sizeof err);
	unlink(path);
	free(path);
	return rc;
}

/*
 * The [tls] keys' values, and the rules between keys that config_load
 * checks once everything is read: something listens, TLS has a readable
 * certificate and key.
 */
static void
test_tls_rules(void **state)
{
	struct config	cf;

	expect_error("[tls]\nmin_version = TLSv1.1\n", "t.conf:2: "
	    "min_version: expected TLSv1.2 or TLSv1.3, got \"TLSv1.1\"");
	expect_error("[tls]\nhandshake_timeout = 5ms\n", "t.conf:2: "
	    "handshake_timeout: expected a duration from 10ms to 600s, got "
	    "\"5ms\"");
	expect_error("[admin]\ntls = maybe\n",
	    "t.conf:2: tls: expected yes or no, got \"maybe\"");
	assert_int_equal(load_text(&cf, "[router]\nlisten = off\n"), -1);
	assert_string_equal(err, "router.listen: off needs tls.listen: no "
	    "client could connect");
	assert_int_equal(load_text(&cf, "[router]\nlisten = off\n[tls]\n"
	    "listen = 127.0.0.1:0\n"), -1);
	assert_string_equal(err, "tls.cert: needed by tls.listen");
	assert_int_equal(load_text(&cf, "[tls]\nlisten = 127.0.0.1:0\n"
	    "cert = /dev/null\n"), -1);
	assert_string_equal(err, "tls.key: needed by tls.listen");
	assert_int_equal(load_text(&cf, "[admin]\ntls = yes\n"), -1);
	assert_string_equal(err, "tls.cert: needed by admin.tls = yes");
	assert_int_equal(load_text(&cf, "[tls]\nlisten = 127.0.0.1:0\n"
	    "cert = /nonexistent/c.pem\nkey = /dev/null\n"), -1);
	assert_string_equal(err, "tls.cert: /nonexistent/c.pem: cannot open: "
	    "No such file or directory");
	assert_int_equal(load_text(&cf, "[tls]\nlisten = 127.0.0.1:0\n"
	    "cert = /dev/null\nkey = /dev/null\nca = /nonexistent/ca\n"),
	    -1);
	assert_string_equal(err, "tls.ca: /nonexistent/ca: cannot open: "
	    "No such file or directory");
	/* TLS only. */
	assert_int_equal(load_text(&cf, "[router]\nlisten = off\n[tls]\n"
	    "listen = 127.0.0.1:0\ncert = /dev/null\nkey = /dev/null\n"), 0);
	assert_string_equal(cf.cf_listen, "off");
	assert_true(config_tls_wanted(&cf));
	/* Files named but no TLS wanted: not checked. */
	assert_int_equal(load_text(&cf, "[tls]\ncert = /nonexistent\n"), 0);
	assert_false(config_tls_wanted(&cf));
}

/* [cluster]: its keys, the rules that tie them, and the secret unshown. */
static void
test_cluster_rules(void **state)
{
	struct config	 cf;
	char		 buf[CONFIG_SECRET_MAX], path[] = "/tmp/test_config.XXXXXX";
	char		 text[512];
	int		 fd;

	/* No cluster by default, and the defaults of the contract. */
	assert_int_equal(load_text(&cf, "[router]\n"), 0);
	assert_false(config_cluster_wanted(&cf));
	assert_int_equal(cf.cf_cluster_node, CONFIG_NODE_UNSET);
	assert_string_equal(cf.cf_cluster_name, "msgrouter");
	assert_int_equal(cf.cf_cluster_heartbeat_ms, 1000);
	assert_int_equal(cf.cf_cluster_peer_timeout_ms, 3000);
	assert_int_equal(cf.cf_cluster_link_limit, 64 * 1024 * 1024);
	assert_int_equal(cf.cf_reuseport, 0);
	assert_int_equal(config_cluster_secret(&cf, buf, sizeof buf, err,
	    sizeof err), 0);

	expect_error("[cluster]\nnode = 256\n", "t.conf:2: node: expected "
	    "a number from 0 to 255, got \"256\"");
	expect_error("[cluster]\nname = a.b\n", "t.conf:2: name: expected "
	    "1 to 64 of A-Z a-z 0-9 _ -, got \"a.b\"");
	expect_error("[cluster]\nnats = http://u:pw@h:1\n", "t.conf:2: nats: "
	    "expected nats://HOST:PORT or tls://HOST:PORT as URL 1 (not "
	    "shown)");
	expect_error("[cluster]\nnats = nats://h:1,\n", "t.conf:2: nats: "
	    "expected nats://HOST:PORT or tls://HOST:PORT as URL 2 (not "
	    "shown)");
	/* libnats secures all of the connection or none of it. */
	expect_error("[cluster]\nnats = tls://h:1,nats://h:2\n", "t.conf:2: "
	    "nats: expected every URL tls:// or none, got URL 2 nats:// after "
	    "tls:// (not shown)");
	expect_error("[cluster]\nnats = nats://h:1,tls://h:2\n", "t.conf:2: "
	    "nats: expected every URL tls:// or none, got URL 2 tls:// after "
	    "nats:// (not shown)");
	/* The NATS link's TLS files: with tls:// only, cert with key. */
	assert_int_equal(load_text(&cf, "[cluster]\nnats_ca = /dev/null\n"),
	    -1);
	assert_string_equal(err, "cluster.nats_ca: needs tls:// URLs in "
	    "cluster.nats");
	assert_int_equal(load_text(&cf, "[cluster]\nnats = nats://h:1\n"
	    "nats_cert = /dev/null\nnats_key = /dev/null\n"), -1);
	assert_string_equal(err, "cluster.nats_cert: needs tls:// URLs in "
	    "cluster.nats");
	assert_int_equal(load_text(&cf, "[cluster]\nnats = tls://h:1\n"
	    "nats_cert = /dev/null\n"), -1);
	assert_string_equal(err, "cluster.nats_key: needed by "
	    "cluster.nats_cert");
	assert_int_equal(load_text(&cf, "[cluster]\nnats = tls://h:1\n"
	    "nats_ca = /nonexistent/ca.pem\n"), -1);
	assert_string_equal(err, "cluster.nats_ca: /nonexistent/ca.pem: "
	    "cannot open: No such file or directory");
	expect_error("[cluster]\nheartbeat = 50ms\n", "t.conf:2: heartbeat: "
	    "expected a duration from 100ms to 60s, got \"50ms\"");
	expect_error("[cluster]\nlink_limit = 512K\n", "t.conf:2: "
	    "link_limit: expected a size from 1M to 4G, got \"512K\"");
	expect_error("[router]\nreuseport = 1\n", "t.conf:2: reuseport: "
	    "expected yes or no, got \"1\"");
	assert_int_equal(load_text(&cf, "[cluster]\nheartbeat = 2s\n"), -1);
	assert_string_equal(err, "cluster.peer_timeout: expected at least "
	    "twice cluster.heartbeat (2000ms), got 3000ms");
	assert_int_equal(load_text(&cf, "[cluster]\nsecret = "
	    "0123456789abcdef\nsecret_file = /dev/null\n"), -1);
	assert_string_equal(err, "cluster.secret and cluster.secret_file: "
	    "expected one of them, got both");
#ifdef HAVE_NATS
	assert_int_equal(load_text(&cf, "[cluster]\nnats = nats://h:1\n"), -1);
	assert_string_equal(err, "cluster.node: needed by cluster.nats (0-255, "
	    "unique in the cluster)");
	assert_int_equal(load_text(&cf, "[cluster]\nnats = nats://h:1\n"
	    "node = 0\nsecret = short-secret\n"), -1);
	assert_string_equal(err, "cluster.secret: expected at least 16 bytes "
	    "with router.id_mode = random, got 12 (not shown)");
	/* Sequential ids need no secret. */
	assert_int_equal(load_text(&cf, "[router]\nid_mode = sequential\n"
	    "[cluster]\nnats = nats://h:1\nnode = 0\n"), 0);
	assert_true(config_cluster_wanted(&cf));
	assert_int_equal(cf.cf_cluster_node, 0);

	/* secret_file: its bytes without the trailing newline. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789abcdef-file\n", 22), 22);
	close(fd);
	snprintf(text, sizeof text, "[cluster]\nnats = tls://u:pw@h:1,"
	    "tls://tok@h2:2,tls://u:p@ss@h3:3\nnode = 7\nname = edge-1\n"
	    "secret_file = %s\n"
	    "heartbeat = 250ms\npeer_timeout = 1s\nlink_limit = 8M\n"
	    "[router]\nreuseport = yes\n", path);
	assert_int_equal(load_text(&cf, text), 0);
	assert_int_equal(config_cluster_secret(&cf, buf, sizeof buf, err,
	    sizeof err), 21);
	assert_string_equal(buf, "0123456789abcdef-file");
	assert_string_equal(cf.cf_cluster_name, "edge-1");
	assert_int_equal(cf.cf_cluster_heartbeat_ms, 250);
	assert_int_equal(cf.cf_cluster_peer_timeout_ms, 1000);
	assert_int_equal(cf.cf_cluster_link_limit, 8 * 1024 * 1024);
	assert_int_equal(cf.cf_reuseport, 1);
	config_format(&cf, CONFIG_CLUSTER_NATS, text, sizeof text);
	/* Up to the last '@', as libnats reads it: none of "p@ss" shown. */
	assert_string_equal(text, "tls://(hidden)@h:1,tls://(hidden)@h2:2,"
	    "tls://(hidden)@h3:3");
	unlink(path);
	assert_int_equal(load_text(&cf, "[cluster]\nnats = nats://h:1\n"
	    "node = 1\nsecret_file = /nonexistent/s\n"), -1);
	assert_string_equal(err, "cluster.secret_file: /nonexistent/s: cannot "
	    "open: No such file or directory");

	/* The secret is never printed. */
	assert_int_equal(load_text(&cf, "[cluster]\nnats = nats://h:1\n"
	    "node = 1\nsecret = 0123456789abcdef-TOPSECRET\n"), 0);
	config_format(&cf, CONFIG_CLUSTER_SECRET, text, sizeof text);
	assert_string_equal(text, "(hidden, 26 bytes)");
#else
	(void)fd; (void)path; (void)text;
	assert_int_equal(load_text(&cf, "[cluster]\nnats = nats://h:1\n"
	    "node = 0\n"), -1);
	assert_string_equal(err, "cluster.nats: this msgrouterd was built "
	    "without libnats (configure --with-nats): no cluster");
#endif
}

static void
test_bad_token(void **state)
{
	struct config	cf;
	char		long_token[CONFIG_TOKEN_MAX + 1];

	expect_error("[admin]\ntoken = two words\n",
	    "t.conf:2: token: expected at most 190 printable characters "
	    "without spaces, got 9 bytes (not shown)");
	/* One more than the buffer holds: refused, from a flag as well. */
	memset(long_token, 'x', sizeof long_token - 1);
	long_token[sizeof long_token - 1] = '\0';
	config_defaults(&cf);
	assert_int_equal(config_set(&cf, CONFIG_ADMIN_TOKEN, long_token,
	    CONFIG_ORIGIN_FLAG, err, sizeof err), -1);
	assert_string_equal(err, "expected at most 190 printable characters "
	    "without spaces, got 191 bytes (not shown)");
	long_token[190] = '\0';
	assert_int_equal(config_set(&cf, CONFIG_ADMIN_TOKEN, long_token,
	    CONFIG_ORIGIN_FLAG, err, sizeof err), 0);
	assert_int_equal(strlen(cf.cf_admin_token), 190);
	/* An empty token means none. */
	assert_int_equal(read_text(&cf, "[admin]\ntoken =\n"), 0);
	assert_string_equal(cf.cf_admin_token, "");
	assert_int_equal(cf.cf_origin[CONFIG_ADMIN_TOKEN], CONFIG_ORIGIN_FILE);
	assert_int_equal(read_text(&cf, "[admin]\ntoken = \t \r\n"), 0);
	assert_string_equal(cf.cf_admin_token, "");
}

/*
 * libinih cuts a value at a ";" after a blank.  When that leaves nothing
 * the line is refused, rather than read as an empty value: "token = ;abc"
 * would otherwise turn authentication off.
 */
static void
test_inline_comment_value(void **state)
{
	struct config	cf;

	/* The token's comment may be the token itself: not shown. */
	expect_error("[admin]\ntoken = ;abc\n",
	    "t.conf:2: token: expected a value before the inline comment, "
	    "got 4 bytes of comment (not shown)");
	expect_error("[admin]\n\ntoken:\t; no token \r\n",
	    "t.conf:3: token: expected a value before the inline comment, "
	    "got 10 bytes of comment (not shown)");
	expect_error("[log]\nlevel = ; debug\n",
	    "t.conf:2: level: expected a value before the inline comment, "
	    "got \"; debug\"");
	expect_error("[router]\nmax_clients = ;5\n",
	    "t.conf:2: max_clients: expected a value before the inline "
	    "comment, got \";5\"");

	/* No blank before the ";": it is the value's. */
	assert_int_equal(read_text(&cf, "[admin]\ntoken=;abc\n"), 0);
	assert_string_equal(cf.cf_admin_token, ";abc");
	assert_int_equal(read_text(&cf, "[admin]\ntoken = a;b\n"), 0);
	assert_string_equal(cf.cf_admin_token, "a;b");
	/* A comment after a value is still a comment. */
	assert_int_equal(read_text(&cf, "[admin]\ntoken = abc ;x\n"), 0);
	assert_string_equal(cf.cf_admin_token, "abc");
	/* "#" is never an inline comment: it stays in the value. */
	assert_int_equal(read_text(&cf, "[admin]\ntoken = #abc\n"), 0);
	assert_string_equal(cf.cf_admin_token, "#abc");
}

static void
test_bad_structure(void **state)
{
	expect_error("[router]\nmax_clients = 5\n[routr]\nqueue_limit = 1M\n",
	    "t.conf:3: [routr]: unknown section, expected [router], [admin], "
	    "[log], [tls] or [cluster]");
	expect_error("[router]\nbogus = 1\n",
	    "t.conf:2: bogus: unknown key in [router]");
	expect_error("[admin]\nqueue_limit = 1M\n",
	    "t.conf:2: queue_limit: unknown key in [admin]");
	expect_error("; no section yet\nqueue_limit = 1M\n",
	    "t.conf:2: queue_limit: key outside a section, expected [router], "
	    "[admin], [log], [tls] or [cluster] above it");
	expect_error("[router]\nqueue_limit = 1M\n\nqueue_limit = 2M\n",
	    "t.conf:4: queue_limit: set twice in [router], first on line 2");
	expect_error("[router]\nqueue_limit 1M\n",
	    "t.conf:2: expected \"key = value\" or \"[section]\", "
	    "got \"queue_limit 1M\"");
	expect_error("[router\nqueue_limit = 1M\n",
	    "t.conf:1: expected \"[section]\", got \"[router\"");
	expect_error("[router]\n= 1M\n",
	    "t.conf:2: expected \"key = value\", got no key");
}

/*
 * A token line that lost its "=" is not a key, but it still holds the
 * token: in a section with a secret the line is not quoted back (start-up
 * prints the error, a reload logs it).
 */
static void
test_secret_line_not_shown(void **state)
{
	expect_error("[admin]\ntoken s3cret\n",
	    "t.conf:2: expected \"key = value\" or \"[section]\", got 12 "
	    "bytes (not shown)");
	expect_error("[log]\nlevel = info\n[admin]\n\ttoken\ts3cret\r\n",
	    "t.conf:4: expected \"key = value\" or \"[section]\", got 12 "
	    "bytes (not shown)");
	/* Other sections quote it, as before. */
	expect_error("[admin]\ntoken = s\n[log]\nlevel debug\n",
	    "t.conf:4: expected \"key = value\" or \"[section]\", "
	    "got \"level debug\"");
}

static void
test_long_line(void **state)
{
	struct config	cf;
	char		text[512];

	/*
	 * libinih's buffer holds 198 bytes of text and the newline: the
	 * longest token, 190 bytes, fits after "token = ".
	 */
	snprintf(text, sizeof text, "[admin]\n# %0196d\ntoken = %0190d\n",
	    0, 0);
	assert_int_equal(read_text(&cf, text), 0);
	assert_int_equal(strlen(cf.cf_admin_token), 190);
	/* Longer is an error naming the line, never a token cut short. */
	snprintf(text, sizeof text, "[admin]\n# %0196d\ntoken = %0191d\n",
	    0, 0);
	expect_error(text, "t.conf:3: line longer than 198 bytes");
	snprintf(text, sizeof text, "[admin]\ntoken = %0250d\n", 0);
	expect_error(text, "t.conf:2: line longer than 198 bytes");
	/* A line that fits with a token too long for it. */
	snprintf(text, sizeof text, "[admin]\ntoken=%0191d\n", 0);
	expect_error(text, "t.conf:2: token: expected at most 190 printable "
	    "characters without spaces, got 191 bytes (not shown)");
	/* A last line without its newline has room for one more byte. */
	snprintf(text, sizeof text, "[admin]\n# %0197d", 0);
	assert_int_equal(read_text(&cf, text), 0);
	snprintf(text, sizeof text, "[admin]\n# %0198d", 0);
	expect_error(text, "t.conf:2: line longer than 198 bytes");
}

/*
 * A CRLF file has the same 198 bytes a line: the "\r" of a line that
 * fills the buffer is its end, not a 199th byte of text.
 */
static void
test_long_line_crlf(void **state)
{
	struct config	cf;
	char		text[512];

	snprintf(text, sizeof text, "[admin]\r\n# %0196d\r\n"
	    "token = %0190d\r\n", 0, 0);
	assert_int_equal(read_text(&cf, text), 0);
	assert_int_equal(strlen(cf.cf_admin_token), 190);
	snprintf(text, sizeof text, "[admin]\r\ntoken = %0191d\r\n", 0);
	expect_error(text, "t.conf:2: line longer than 198 bytes");
}

/*
 * A NUL byte ends the text that libinih and the reader look at: the rest
 * of the line would vanish without a word, and "token = \0..." would read
 * as no token at all.  The line is refused, wherever it is.
 */
static void
test_nul_byte(void **state)
{
	struct config		cf;
	static const char	last[] = "[admin]\ntoken = \0;abc\n";
	static const char	cut[] = "[admin]\ntoken = s3cret\0xyz";
	static const char	mid[] = "[admin]\ntoken = a\0b\n[log]\n"
	    "level = info\n";
	static const char	comment[] = "[admin]\n# \0\ntoken = s3cret\n";

	assert_int_equal(read_bytes(&cf, last, sizeof last - 1), -1);
	assert_string_equal(err, "t.conf:2: line holds a NUL byte");
	assert_int_equal(read_bytes(&cf, cut, sizeof cut - 1), -1);
	assert_string_equal(err, "t.conf:2: line holds a NUL byte");
	assert_int_equal(read_bytes(&cf, mid, sizeof mid - 1), -1);
	assert_string_equal(err, "t.conf:2: line holds a NUL byte");
	assert_int_equal(read_bytes(&cf, comment, sizeof comment - 1), -1);
	assert_string_equal(err, "t.conf:2: line holds a NUL byte");
}

/* The first error is reported and parsing stops there. */
static void
test_first_error_wins(void **state)
{
	expect_error("[router]\nmax_clients = none\nqueue_limit = lots\n"
	    "[nope]\n",
	    "t.conf:2: max_clients: expected a number from 1 to 1000000, "
	    "got \"none\"");
}

static void
test_unreadable_file(void **state)
{
	struct config	cf;

	config_defaults(&cf);
	assert_int_equal(config_read_file(&cf, "/nonexistent/msgrouterd.conf",
	    err, sizeof err), -1);
	assert_string_equal(err, "/nonexistent/msgrouterd.conf: cannot open: "
	    "No such file or directory");
	assert_int_equal(config_read_file(&cf, "/", err, sizeof err), -1);
	assert_string_equal(err, "/: cannot read: Is a directory");
}

/* Write text to a temporary file and return its path. */
static char *
temp_file(const char *text)
{
	const char	*dir = getenv("TESTS_TMPDIR");
	char		*path;
	int		 fd;
	size_t		 len = strlen(text);

	if (dir == NULL)
		dir = "/tmp";
	assert_true(asprintf(&path, "%s/test_config.XXXXXX", dir) > 0);
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void
test_precedence(void **state)
{
	struct config		 cf;
	struct config_flag	 flags[] = {
		{ CONFIG_ROUTER_QUEUE_LIMIT, "32M" },
		{ CONFIG_LOG_LEVEL, "error" },
		{ CONFIG_LOG_LEVEL, "debug" },	/* the last one wins */
	};
	char			*path;

	path = temp_file("[router]\nqueue_limit = 16M\nmax_clients = 9\n");
	assert_int_equal(config_load(&cf, path, flags, 3, err, sizeof err), 0);
	assert_int_equal(cf.cf_queue_limit, 32 << 20);
	assert_int_equal(cf.cf_origin[CONFIG_ROUTER_QUEUE_LIMIT],
	    CONFIG_ORIGIN_FLAG);
	assert_int_equal(cf.cf_max_clients, 9);
	assert_int_equal(cf.cf_origin[CONFIG_ROUTER_MAX_CLIENTS],
	    CONFIG_ORIGIN_FILE);
	assert_int_equal(cf.cf_log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(cf.cf_origin[CONFIG_LOG_LEVEL], CONFIG_ORIGIN_FLAG);
	assert_int_equal(cf.cf_max_message_size, 1 << 20);
	assert_int_equal(cf.cf_origin[CONFIG_ROUTER_MAX_MESSAGE_SIZE],
	    CONFIG_ORIGIN_DEFAULT);

	/* A bad file fails the load even where a flag would override it. */
	unlink(path);
	free(path);
	path = temp_file("[router]\nqueue_limit = huge\n");
	assert_int_equal(config_load(&cf, path, flags, 3, err, sizeof err), -1);
	assert_true(strstr(err, ":2: queue_limit: expected a size like 8M, "
	    "got \"huge\"") != NULL);
	unlink(path);
	free(path);
}

/* Flags and the file share one validator: same words, other prefix. */
static void
test_flag_validation(void **state)
{
	struct config		cf;
	struct config_flag	bad = { CONFIG_ROUTER_QUEUE_LIMIT, "lots" };

	config_defaults(&cf);
	assert_int_equal(config_set(&cf, CONFIG_ROUTER_QUEUE_LIMIT, "lots",
	    CONFIG_ORIGIN_FLAG, err, sizeof err), -1);
	assert_string_equal(err, "expected a size like 8M, got \"lots\"");
	assert_int_equal(cf.cf_queue_limit, 8 << 20);
	assert_int_equal(config_load(&cf, NULL, &bad, 1, err, sizeof err), -1);
	assert_string_equal(err, "command line: router.queue_limit: expected "
	    "a size like 8M, got \"lots\"");
}

static void
test_print(void **state)
{
	struct config		 cf;
	struct config_flag	 flag = { CONFIG_ROUTER_MAX_CLIENTS, "5" };
	char			*path, *out = NULL;
	size_t			 outlen = 0;
	FILE			*fp;

	path = temp_file("[router]\nlisten = 127.0.0.1:0\n"
	    "queue_limit = 1536K\nshutdown_timeout = 1500ms\n"
	    "[admin]\ntoken = abc\n");
	assert_int_equal(config_load(&cf, path, &flag, 1, err, sizeof err), 0);
	unlink(path);
	free(path);
	fp = open_memstream(&out, &outlen);
	assert_non_null(fp);
	config_print(&cf, fp);
	fclose(fp);
	assert_string_equal(out,
	    "router.listen = 127.0.0.1:0  # file\n"
	    "router.max_clients = 5  # flag\n"
	    "router.max_message_size = 1M  # default\n"
	    "router.queue_limit = 1536K  # file\n"
	    "router.slow_consumer = backpressure  # default\n"
	    "router.id_mode = random  # default\n"
	    "router.shutdown_timeout = 1500ms  # file\n"
	    "router.unix_mode = 0660  # default\n"
	    "router.sndbuf = 0  # default\n"
	    "router.scan_limit = 64  # default\n"
	    "router.scan_window = 10s  # default\n"
	    "router.scan_ban = 60s  # default\n"
	    "router.max_clients_per_address = 0  # default\n"
	    "router.reuseport = no  # default\n"
	    "admin.listen = 127.0.0.1:8081  # default\n"
	    "admin.token = (hidden, 3 bytes)  # file\n"
	    "admin.unix_mode = 0660  # default\n"
	    "admin.tls = no  # default\n"
	    "log.level = info  # default\n"
	    "tls.listen = off  # default\n"
	    "tls.cert =  # default\n"
	    "tls.key =  # default\n"
	    "tls.ca =  # default\n"
	    "tls.min_version = TLSv1.2  # default\n"
	    "tls.ciphers =  # default\n"
	    "tls.ciphersuites =  # default\n"
	    "tls.handshake_timeout = 10s  # default\n"
	    "cluster.nats =  # default\n"
	    "cluster.node =  # default\n"
	    "cluster.name = msgrouter  # default\n"
	    "cluster.secret =  # default\n"
	    "cluster.secret_file =  # default\n"
	    "cluster.heartbeat = 1s  # default\n"
	    "cluster.peer_timeout = 3s  # default\n"
	    "cluster.link_limit = 64M  # default\n"
	    "cluster.nats_ca =  # default\n"
	    "cluster.nats_cert =  # default\n"
	    "cluster.nats_key =  # default\n");
	free(out);
}

static void
test_reload_rules(void **state)
{
	struct config	running, next;

	config_defaults(&running);
	next = running;
	assert_int_equal(config_reload(&running, &next), 0);

	assert_int_equal(config_set(&next, CONFIG_ROUTER_LISTEN,
	    "127.0.0.1:9999", CONFIG_ORIGIN_FILE, err, sizeof err), 0);
	assert_int_equal(config_set(&next, CONFIG_ADMIN_LISTEN, "off",
	    CONFIG_ORIGIN_FILE, err, sizeof err), 0);
	assert_int_equal(config_set(&next, CONFIG_ROUTER_ID_MODE, "sequential",
	    CONFIG_ORIGIN_FILE, err, sizeof err), 0);
	assert_int_equal(config_set(&next, CONFIG_ROUTER_QUEUE_LIMIT, "64K",
	    CONFIG_ORIGIN_FILE, err, sizeof err), 0);
	assert_int_equal(config_set(&next, CONFIG_ROUTER_SLOW_CONSUMER, "drop",
	    CONFIG_ORIGIN_FILE, err, sizeof err), 0);
	assert_int_equal(config_set(&next, CONFIG_ADMIN_TOKEN, "t",
	    CONFIG_ORIGIN_FILE, err, sizeof err), 0);
	assert_int_equal(config_reload(&running, &next), 6);
	/* Restart-only keys keep the running value and origin. */
	assert_string_equal(next.cf_listen, "127.0.0.1:8080");
	assert_int_equal(next.cf_origin[CONFIG_ROUTER_LISTEN],
	    CONFIG_ORIGIN_DEFAULT);
	assert_string_equal(next.cf_admin_listen, "127.0.0.1:8081");
	assert_int_equal(next.cf_id_mode, ID_MODE_RANDOM);
	/* Live keys take the new value. */
	assert_int_equal(next.cf_queue_limit, 65536);
	assert_int_equal(next.cf_slow_consumer, SLOW_CONSUMER_DROP);
	assert_string_equal(next.cf_admin_token, "t");

	assert_int_equal(config_key_live(CONFIG_ROUTER_LISTEN), 0);
	assert_int_equal(config_key_live(CONFIG_ROUTER_ID_MODE), 0);
	assert_int_equal(config_key_live(CONFIG_ADMIN_LISTEN), 0);
	assert_int_equal(config_key_live(CONFIG_ROUTER_MAX_CLIENTS), 1);
	assert_int_equal(config_key_live(CONFIG_ROUTER_MAX_MESSAGE_SIZE), 1);
	assert_int_equal(config_key_live(CONFIG_ROUTER_QUEUE_LIMIT), 1);
	assert_int_equal(config_key_live(CONFIG_ROUTER_SLOW_CONSUMER), 1);
	assert_int_equal(config_key_live(CONFIG_ROUTER_SHUTDOWN_TIMEOUT), 1);
	assert_int_equal(config_key_live(CONFIG_ADMIN_TOKEN), 1);
	assert_int_equal(config_key_live(CONFIG_LOG_LEVEL), 1);
}

/* A string key set longer then shorter compares equal to a fresh one. */
static void
test_reload_string_compare(void **state)
{
	struct config	running, next;

	config_defaults(&running);
	config_defaults(&next);
	assert_int_equal(config_set(&next, CONFIG_ROUTER_LISTEN,
	    "[::1]:65535", CONFIG_ORIGIN_FLAG, err, sizeof err), 0);
	assert_int_equal(config_set(&next, CONFIG_ROUTER_LISTEN,
	    "127.0.0.1:8080", CONFIG_ORIGIN_FLAG, err, sizeof err), 0);
	assert_int_equal(config_reload(&running, &next), 0);
}

/* Every enum value has its name, both ways; past the end is "unknown". */
static void
test_names(void **state)
{
	static const struct {
		const char		*name;
		enum slow_consumer	 sc;
	} slow[] = {
		{ "backpressure", SLOW_CONSUMER_BACKPRESSURE },
		{ "drop", SLOW_CONSUMER_DROP },
		{ "disconnect", SLOW_CONSUMER_DISCONNECT },
	};
	enum slow_consumer	sc;
	enum id_mode		m;
	size_t			i;

	for (i = 0; i < sizeof slow / sizeof slow[0]; i++) {
		assert_int_equal(config_parse_slow_consumer(slow[i].name, &sc),
		    0);
		assert_int_equal(sc, slow[i].sc);
		assert_string_equal(config_slow_consumer_name(slow[i].sc),
		    slow[i].name);
	}
	assert_int_equal(config_parse_slow_consumer("unknown", &sc), -1);
	assert_string_equal(config_slow_consumer_name(
	    (enum slow_consumer)(SLOW_CONSUMER_DISCONNECT + 1)), "unknown");

	assert_int_equal(config_parse_id_mode("random", &m), 0);
	assert_int_equal(m, ID_MODE_RANDOM);
	assert_int_equal(config_parse_id_mode("sequential", &m), 0);
	assert_int_equal(m, ID_MODE_SEQUENTIAL);
	assert_int_equal(config_parse_id_mode("Random", &m), -1);
	assert_string_equal(config_id_mode_name(ID_MODE_RANDOM), "random");
	assert_string_equal(config_id_mode_name(ID_MODE_SEQUENTIAL),
	    "sequential");
	assert_string_equal(config_id_mode_name(
	    (enum id_mode)(ID_MODE_SEQUENTIAL + 1)), "unknown");

	assert_string_equal(config_origin_name(CONFIG_ORIGIN_DEFAULT),
	    "default");
	assert_string_equal(config_origin_name(CONFIG_ORIGIN_FILE), "file");
	assert_string_equal(config_origin_name(CONFIG_ORIGIN_FLAG), "flag");
	assert_string_equal(config_origin_name(
	    (enum config_origin)(CONFIG_ORIGIN_FLAG + 1)), "unknown");
}

/*
 * Unix sockets: router.listen takes unix:/PATH, alone or in a list with
 * TCP addresses, and says which address of a list is wrong; a path too
 * long for sun_path is an error at load time (msgrouterd -t); the
 * unix_mode keys take octal modes that leave the owner read and write.
 */
static void
test_unix(void **state)
{
	struct config	cf;
	char		addrs[CONFIG_LISTEN_ADDRS][CONFIG_LISTEN_MAX];
	char		text[512], path[ADDR_UNIX_PATH_MAX + 2];

	assert_int_equal(read_text(&cf,
	    "[router]\nlisten = unix:/run/msgrouterd/router.sock\n"), 0);
	assert_string_equal(cf.cf_listen, "unix:/run/msgrouterd/router.sock");
	assert_int_equal(config_listen_addrs(cf.cf_listen, addrs,
	    CONFIG_LISTEN_ADDRS), 1);
	assert_string_equal(addrs[0], "unix:/run/msgrouterd/router.sock");
	assert_int_equal(read_text(&cf, "[router]\nlisten = 127.0.0.1:8080 ,"
	    "unix:/run/r.sock, [::1]:0\n"), 0);
	assert_int_equal(config_listen_addrs(cf.cf_listen, addrs,
	    CONFIG_LISTEN_ADDRS), 3);
	assert_string_equal(addrs[0], "127.0.0.1:8080");
	assert_string_equal(addrs[1], "unix:/run/r.sock");
	assert_string_equal(addrs[2], "[::1]:0");
	expect_error("[router]\nlisten = 127.0.0.1:1, 127.0.0.1:2, "
	    "127.0.0.1:3, 127.0.0.1:4, 127.0.0.1:5\n",
	    "t.conf:2: listen: expected at most 4 addresses separated by "
	    "commas, got \"127.0.0.1:1, 127.0.0.1:2, 127.0.0.1:3, "
	    "127.0.0.1:4, 127.0.0.1:5\"");
	expect_error("[router]\nlisten = 127.0.0.1:1, unix:r.sock\n",
	    "t.conf:2: listen: expected unix:/PATH (a Unix socket path must "
	    "be absolute: unix:/PATH), got \"unix:r.sock\"");
	expect_error("[router]\nlisten = 127.0.0.1:1,\n",
	    "t.conf:2: listen: expected addresses separated by commas, none "
	    "of them empty, got \"127.0.0.1:1,\"");

	/* 107 bytes of path fit; 108 do not, for either port. */
	memset(path, 'a', sizeof path - 1);
	path[0] = '/';
	path[sizeof path - 1] = '\0';
	snprintf(text, sizeof text, "[admin]\nlisten = unix:%s\n", path);
	assert_true(strlen(path) == ADDR_UNIX_PATH_MAX + 1);
	assert_int_equal(read_text(&cf, text), -1);
	assert_non_null(strstr(err, "t.conf:2: listen: expected unix:/PATH "
	    "(Unix socket path longer than 107 bytes), got \"unix:/aaa"));
	snprintf(text, sizeof text, "[router]\nlisten = unix:%s\n", path);
	assert_int_equal(read_text(&cf, text), -1);
	assert_non_null(strstr(err, "(Unix socket path longer than 107 "
	    "bytes)"));
	path[sizeof path - 2] = '\0';
	snprintf(text, sizeof text, "[router]\nlisten = unix:%s\n", path);
	assert_int_equal(read_text(&cf, text), 0);

	assert_int_equal(read_text(&cf, "[router]\nunix_mode = 666\n"), 0);
	assert_int_equal(cf.cf_unix_mode, 0666);
	expect_error("[router]\nunix_mode = 0460\n",
	    "t.conf:2: unix_mode: expected an octal mode from 0600 to 0777 "
	    "with the owner's read and write, like 0660, got \"0460\"");
	expect_error("[admin]\nunix_mode = 01660\n",
	    "t.conf:2: unix_mode: expected an octal mode from 0600 to 0777 "
	    "with the owner's read and write, like 0660, got \"01660\"");
	expect_error("[admin]\nunix_mode = 0680\n",
	    "t.conf:2: unix_mode: expected an octal mode from 0600 to 0777 "
	    "with the owner's read and write, like 0660, got \"0680\"");
	expect_error("[admin]\nunix_mode = rw\n",
	    "t.conf:2: unix_mode: expected an octal mode from 0600 to 0777 "
	    "with the owner's read and write, like 0660, got \"rw\"");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_size_suffixes),
		cmocka_unit_test(test_duration_suffixes),
		cmocka_unit_test(test_syntax_accepted),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_bad_addresses),
		cmocka_unit_test(test_tls_rules),
		cmocka_unit_test(test_cluster_rules),
		cmocka_unit_test(test_bad_token),
		cmocka_unit_test(test_inline_comment_value),
		cmocka_unit_test(test_bad_structure),
		cmocka_unit_test(test_secret_line_not_shown),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_long_line_crlf),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_first_error_wins),
		cmocka_unit_test(test_unreadable_file),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_flag_validation),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_reload_rules),
		cmocka_unit_test(test_reload_string_compare),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_unix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
