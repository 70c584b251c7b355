/*
 * test_ops: the daemon as operators run it: --check-config, exit statuses,
 * SIGHUP reloads with clients connected, and the SIGTERM drain.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "http_client.h"

/* The drain tests' traffic: FRAMES frames of PAYLOAD bytes and a 0x00. */
#define FRAMES		512
#define PAYLOAD		16383
#define FRAME_LEN	(4 + PAYLOAD + 1)

/* msgrouterd run to its exit, as daemon_run(); out and err are arrays. */
#define run(args, out, err)						\
	daemon_run(args, out, sizeof out, err, sizeof err)

/*
 * A file msgrouterd refuses: with -t (check) and at a start (start) it
 * exits 2 with exactly want on stderr, and -t prints nothing on stdout.
 */
static void
refused(const char *const *check, const char *const *start, const char *want)
{
	char	out[8192], err[4096];

	assert_int_equal(run(check, out, err), 2);
	assert_string_equal(out, "");
	assert_string_equal(err, want);
	assert_int_equal(run(start, out, err), 2);
	assert_string_equal(err, want);
}

static void
test_check_config_good(void **state)
{
	char	path[256], out[8192], err[4096];
	const char *args[] = { "-c", path, "--check-config", "--queue-limit",
	    "2M", NULL };

	harness_tmp_path(path, sizeof path, "good.conf");
	harness_write_file(path,
	    "[router]\n"
	    "listen = 127.0.0.1:0\n"
	    "queue_limit = 16M\n"
	    "slow_consumer = drop\n"
	    "shutdown_timeout = 2500ms\n"
	    "[admin]\n"
	    "listen = off\n");
	assert_int_equal(run(args, out, err), 0);
	assert_string_equal(err, "");
	assert_string_equal(out,
	    "router.listen = 127.0.0.1:0  # file\n"
	    "router.max_clients = 10000  # default\n"
	    "router.max_message_size = 1M  # default\n"
	    "router.queue_limit = 2M  # flag\n"
	    "router.slow_consumer = drop  # file\n"
	    "router.id_mode = random  # default\n"
	    "router.shutdown_timeout = 2500ms  # file\n"
	    "router.unix_mode = 0660  # default\n"
	    "router.sndbuf = 0  # default\n"
	    "router.scan_limit = 64  # default\n"
	    "router.scan_window = 10s  # default\n"
	    "router.scan_ban = 60s  # default\n"
	    "router.max_clients_per_address = 0  # default\n"
	    "router.reuseport = no  # default\n"
	    "admin.listen = off  # file\n"
	    "admin.token =  # default\n"
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
	unlink(path);
}

/* The example configuration shipped in etc/ is valid as it is. */
static void
test_check_config_example(void **state)
{
	char		 path[512], out[8192], err[4096];
	const char	*srcdir = getenv("srcdir");
	const char	*args[] = { "-c", path, "-t", NULL };

	snprintf(path, sizeof path, "%s/etc/msgrouterd.conf",
	    srcdir != NULL ? srcdir : "..");
	assert_int_equal(run(args, out, err), 0);
	assert_string_equal(err, "");
	/* Every key is in the file, at its default. */
	assert_string_equal(out,
	    "router.listen = 127.0.0.1:8080  # file\n"
	    "router.max_clients = 10000  # file\n"
	    "router.max_message_size = 1M  # file\n"
	    "router.queue_limit = 8M  # file\n"
	    "router.slow_consumer = backpressure  # file\n"
	    "router.id_mode = random  # file\n"
	    "router.shutdown_timeout = 5s  # file\n"
	    "router.unix_mode = 0660  # file\n"
	    "router.sndbuf = 0  # file\n"
	    "router.scan_limit = 64  # file\n"
	    "router.scan_window = 10s  # file\n"
	    "router.scan_ban = 60s  # file\n"
	    "router.max_clients_per_address = 0  # file\n"
	    "router.reuseport = no  # file\n"
	    "admin.listen = 127.0.0.1:8081  # file\n"
	    "admin.token =  # file\n"
	    "admin.unix_mode = 0660  # file\n"
	    "admin.tls = no  # file\n"
	    "log.level = info  # file\n"
	    "tls.listen = off  # file\n"
	    "tls.cert =  # file\n"
	    "tls.key =  # file\n"
	    "tls.ca =  # file\n"
	    "tls.min_version = TLSv1.2  # file\n"
	    "tls.ciphers =  # file\n"
	    "tls.ciphersuites =  # file\n"
	    "tls.handshake_timeout = 10s  # file\n"
	    "cluster.nats =  # file\n"
	    "cluster.node =  # file\n"
	    "cluster.name = msgrouter  # file\n"
	    "cluster.secret =  # file\n"
	    "cluster.secret_file =  # file\n"
	    "cluster.heartbeat = 1s  # file\n"
	    "cluster.peer_timeout = 3s  # file\n"
	    "cluster.link_limit = 64M  # file\n"
	    "cluster.nats_ca =  # file\n"
	    "cluster.nats_cert =  # file\n"
	    "cluster.nats_key =  # file\n");
}

static void
test_check_config_bad(void **state)
{
	char		 path[256], want[512];
	const char	*check[] = { "-c", path, "-t", NULL };
	const char	*start[] = { "-c", path, "-l", "127.0.0.1:0", NULL };

	harness_tmp_path(path, sizeof path, "bad.conf");
	harness_write_file(path,
	    "# comment\n"
	    "[router]\n"
	    "max_clients = 10\n"
	    "\n"
	    "queue_limit = lots\n");
	/* Without -t nothing starts either: the same line and status 2. */
	snprintf(want, sizeof want, "%s:5: queue_limit: expected a size like "
	    "8M, got \"lots\"\n", path);
	refused(check, start, want);

	harness_write_file(path, "[router]\nmax_clients = 10\n[routing]\n");
	snprintf(want, sizeof want, "%s:3: [routing]: unknown section, "
	    "expected [router], [admin], [log], [tls] or [cluster]\n", path);
	refused(check, start, want);
	unlink(path);

	snprintf(want, sizeof want, "%s: cannot open: No such file or "
	    "directory\n", path);
	refused(check, start, want);
}

/*
 * "token = ;abc" holds only a comment for libinih, which would mean no
 * token and no authentication: refused at -t and at start, with status 2,
 * and without the text that may be the token.
 */
static void
test_check_config_token_comment(void **state)
{
	char		 path[256], out[8192], err[4096], want[512];
	const char	*check[] = { "-c", path, "-t", NULL };
	const char	*start[] = { "-c", path, "-l", "127.0.0.1:0", "--admin",
			    "127.0.0.1:0", NULL };

	harness_tmp_path(path, sizeof path, "comment.conf");
	harness_write_file(path, "[admin]\ntoken = ;s3cret\n");
	snprintf(want, sizeof want, "%s:2: token: expected a value before "
	    "the inline comment, got 7 bytes of comment (not shown)\n", path);
	refused(check, start, want);

	/* Right after the "=", the ";" is the token's first byte. */
	harness_write_file(path, "[admin]\ntoken=;s3cret\n");
	assert_int_equal(run(check, out, err), 0);
	assert_string_equal(err, "");
	assert_non_null(strstr(out,
	    "admin.token = (hidden, 7 bytes)  # file\n"));
	unlink(path);
}

/* Bad flags: exit status 2 and one line naming the flag and the value. */
static void
test_bad_flag(void **state)
{
	static const struct {
		const char	*args[4];
		const char	*err;
	} cases[] = {
		{ { "--queue-limit", "lots", "-t", NULL },
		    "msgrouterd: --queue-limit: expected a size like 8M, got "
		    "\"lots\"\n" },
		{ { "--max-clients", "0", "-t", NULL },
		    "msgrouterd: --max-clients: expected a number from 1 to "
		    "1000000, got \"0\"\n" },
		{ { "--shutdown-timeout", "1h", "-t", NULL },
		    "msgrouterd: --shutdown-timeout: expected a duration like "
		    "5s or 250ms, got \"1h\"\n" },
		{ { "--admin", "on", "-t", NULL },
		    "msgrouterd: --admin: expected ADDRESS:PORT like "
		    "127.0.0.1:8081 or off, got \"on\"\n" },
	};
	char	out[8192], err[4096];
	size_t	i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(run(cases[i].args, out, err), 2);
		assert_string_equal(err, cases[i].err);
	}
}

/* A listen address in use: one line naming it, exit status 1. */
static void
test_bind_failure(void **state)
{
	char		 addr[64], out[8192], err[8192];
	const char	*args[] = { "-l", addr, "--admin", "off", NULL };
	int		 fd;

	fd = harness_listener(addr, sizeof addr);

	assert_int_equal(run(args, out, err), 1);
	snprintf(out, sizeof out, "error cannot listen on %s (router.listen): "
	    "Address already in use\n", addr);
	assert_non_null(strstr(err, out));
	assert_null(strstr(err, "listening on"));
	close(fd);
}

/*
 * Start the daemon on a config file holding text, at a path for tag, with
 * --admin admin (the harness adds -l 127.0.0.1:0).
 */
static void
start(struct daemon *d, char *path, size_t len, const char *tag,
    const char *text, const char *admin)
{
	const char	*args[] = { "-c", path, "--admin", admin, NULL };

	harness_tmp_path(path, len, tag);
	harness_write_file(path, text);
	harness_start(d, args);
}

/* Send a message and check that it arrives, byte for byte. */
static void
route_ok(int from, int to, uint32_t to_id, const char *payload)
{
	assert_int_equal(tc_send(from, to_id, payload), 0);
	tc_expect_msg(to, payload);
}

static void
test_reload_live(void **state)
{
	struct daemon	 d;
	char		 path[256], *frame;
	uint32_t	 a_id, b_id, c_id;
	int		 a, b, c, i;

	start(&d, path, sizeof path, "live.conf",
	    "[router]\nqueue_limit = 1M\n"
	    "slow_consumer = backpressure\n", "off");
	assert_true((a = tc_connect(&d, &a_id)) >= 0);
	assert_true((b = tc_connect(&d, &b_id)) >= 0);
	assert_true((c = tc_connect(&d, &c_id)) >= 0);
	route_ok(a, b, b_id, "before");

	harness_write_file(path, "[router]\nqueue_limit = 1K\n"
	    "slow_consumer = disconnect\n");
	kill(d.pid, SIGHUP);
	harness_wait_log(&d, "settings changed", 1);
	assert_int_equal(daemon_log_count(&d,
	    "reload: router.queue_limit: 1M -> 1K"), 1);
	assert_int_equal(daemon_log_count(&d,
	    "reload: router.slow_consumer: backpressure -> disconnect"), 1);
	assert_int_equal(daemon_log_count(&d, "2 settings changed"), 1);

	/* Nobody was dropped: every pair still routes. */
	route_ok(a, b, b_id, "after");
	route_ok(b, c, c_id, "b to c");
	route_ok(c, a, a_id, "c to a");
	assert_int_equal(daemon_log_count(&d, " closed: "), 0);

	/*
	 * The new limit and policy are in force: b stops reading, a floods
	 * it, and once the router holds more than 1K for b it disconnects b.
	 * Under the old ones a would have been paused instead.
	 */
	assert_non_null(frame = malloc(FRAME_LEN));
	*(uint32_t *)frame = htonl(b_id);
	memset(frame + 4, 'x', PAYLOAD);
	frame[FRAME_LEN - 1] = '\0';
	for (i = 0; i < 4 * FRAMES; i++) {
		if (daemon_log_count(&d, "disconnecting slow consumer") > 0)
			break;
		assert_int_equal(tc_write(a, frame, FRAME_LEN), 0);
	}
	free(frame);
	harness_wait_log(&d, "disconnecting slow consumer", 1);
	assert_int_equal(tc_expect_close(b, HARNESS_TIMEOUT_MS), 0);
	route_ok(c, a, a_id, "still here");

	harness_stop(&d);
	harness_expect_counters(&d, (const struct counter_want[]){
	    { "disconnected_slow", 1 }, { "accepted", 3 }, { NULL, 0 } });
	close(a);
	close(b);
	close(c);
	unlink(path);
}

static void
test_reload_broken(void **state)
{
	struct daemon	 d;
	char		 path[256], want[512];
	uint32_t	 id[4];
	int		 fd[4];

	start(&d, path, sizeof path, "broken.conf",
	    "[router]\nmax_clients = 3\n", "off");
	assert_true((fd[0] = tc_connect(&d, &id[0])) >= 0);
	assert_true((fd[1] = tc_connect(&d, &id[1])) >= 0);

	/* Line 2 alone would lower max_clients; line 3 spoils the file. */
	harness_write_file(path,
	    "[router]\nmax_clients = 2\nqueue_limit = 2X\n");
	kill(d.pid, SIGHUP);
	snprintf(want, sizeof want, "error reload: %s:3: queue_limit: "
	    "expected a size like 8M, got \"2X\"; keeping the running "
	    "configuration", path);
	harness_wait_log(&d, want, 1);

	/* Still routing, and max_clients is still 3: a third gets in. */
	route_ok(fd[0], fd[1], id[1], "still routing");
	assert_true((fd[2] = tc_connect(&d, &id[2])) >= 0);
	route_ok(fd[2], fd[0], id[0], "third");
	assert_true((fd[3] = tc_connect_raw(&d)) >= 0);
	assert_int_equal(tc_expect_close(fd[3], HARNESS_TIMEOUT_MS), 0);
	close(fd[3]);
	assert_int_equal(daemon_log_count(&d,
	    "rejected: max_clients 3 reached"), 1);

	/* A good file afterwards applies. */
	harness_write_file(path, "[router]\nmax_clients = 4\n");
	kill(d.pid, SIGHUP);
	harness_wait_log(&d, "reload: router.max_clients: 3 -> 4", 1);
	assert_true((fd[3] = tc_connect(&d, &id[3])) >= 0);
	route_ok(fd[3], fd[2], id[2], "fourth");

	harness_stop(&d);
	harness_expect_counters(&d, (const struct counter_want[]){
	    { "rejected", 1 }, { "accepted", 4 }, { NULL, 0 } });
	for (int i = 0; i < 4; i++)
		close(fd[i]);
	unlink(path);
}

/*
 * A change that needs a restart is logged and the old value kept; a key a
 * flag sets keeps the flag's value across reloads.
 */
static void
test_reload_restart_key(void **state)
{
	struct daemon	 d;
	char		 path[256];
	uint32_t	 id1, id2;
	int		 a, b;

	start(&d, path, sizeof path, "restart.conf",
	    "[router]\nid_mode = sequential\n", "off");
	assert_true((a = tc_connect(&d, &id1)) >= 0);
	/* The harness gives -l 127.0.0.1:0; the file cannot move it. */
	harness_write_file(path, "[router]\nid_mode = random\n"
	    "listen = 127.0.0.1:1\n");
	kill(d.pid, SIGHUP);
	harness_wait_log(&d, "1 setting changed", 1);
	assert_int_equal(daemon_log_count(&d, "warn  reload: router.id_mode: "
	    "random needs a restart; keeping sequential"), 1);
	assert_int_equal(daemon_log_count(&d, "router.listen"), 0);
	/* Same port, and ids still sequential. */
	assert_true((b = tc_connect(&d, &id2)) >= 0);
	assert_int_equal(id2, id1 + 1);
	route_ok(a, b, id2, "same port");
	close(a);
	close(b);
	harness_stop(&d);
	unlink(path);
}

/* log.level applies live: debug lines appear only after the reload. */
static void
test_reload_log_level(void **state)
{
	struct daemon	 d;
	char		 path[256];
	uint32_t	 a_id;
	int		 a;

	start(&d, path, sizeof path, "level.conf",
	    "[log]\nlevel = info\n", "off");
	assert_true((a = tc_connect(&d, &a_id)) >= 0);
	/* Id 0 is never given out: the message is dropped, at debug. */
	assert_int_equal(tc_send(a, 0, "lost"), 0);
	route_ok(a, a, a_id, "after the lost one");
	assert_int_equal(daemon_log_count(&d, "message to unknown id 0"), 0);

	harness_write_file(path, "[log]\nlevel = debug\n");
	kill(d.pid, SIGHUP);
	harness_wait_log(&d, "reload: log.level: info -> debug", 1);
	assert_int_equal(tc_send(a, 0, "lost"), 0);
	route_ok(a, a, a_id, "after the second");
	assert_int_equal(daemon_log_count(&d, "debug client "), 1);
	assert_int_equal(daemon_log_count(&d, "message to unknown id 0"), 1);
	close(a);
	harness_stop(&d);
	assert_int_equal(daemon_counter(&d, "dropped_unknown"), 2);
	unlink(path);
}

/* GET /stats on the admin port with a bearer token (NULL: none). */
static int
admin_status(struct daemon *d, const char *token)
{
	struct http_response	resp;
	char			hdr[128];
	int			status;

	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n",
	    token != NULL ? token : "");
	assert_int_equal(http_request(d->admin_port, "GET", "/stats",
	    token != NULL ? hdr : NULL, &resp, HARNESS_TIMEOUT_MS), 0);
	status = resp.status;
	http_response_free(&resp);
	return status;
}

/* admin.token applies live: the old token stops working, the new one works. */
static void
test_reload_admin_token(void **state)
{
	struct daemon	 d;
	char		 path[256], want[512];

	start(&d, path, sizeof path, "token.conf",
	    "[admin]\ntoken = first-Token\n", "127.0.0.1:0");
	assert_int_equal(admin_status(&d, NULL), 401);
	assert_int_equal(admin_status(&d, "first-Token"), 200);

	harness_write_file(path, "[admin]\ntoken = second-Token\n");
	kill(d.pid, SIGHUP);
	harness_wait_log(&d, "reload: admin.token: (hidden, "
	    "11 bytes) -> (hidden, 12 bytes)", 1);
	assert_int_equal(admin_status(&d, "first-Token"), 401);
	assert_int_equal(admin_status(&d, "second-Token"), 200);
	/* The token itself is never logged. */
	assert_int_equal(daemon_log_count(&d, "Token"), 0);

	/*
	 * Only an inline comment after the "=": refused, not read as "no
	 * token", and the running token stays.
	 */
	harness_write_file(path, "[admin]\ntoken = ;third-Token\n");
	kill(d.pid, SIGHUP);
	snprintf(want, sizeof want, "error reload: %s:2: token: expected a "
	    "value before the inline comment, got 12 bytes of comment (not "
	    "shown); keeping the running configuration", path);
	harness_wait_log(&d, want, 1);
	assert_int_equal(admin_status(&d, NULL), 401);
	assert_int_equal(admin_status(&d, "second-Token"), 200);
	assert_int_equal(daemon_log_count(&d, "Token"), 0);

	/* Emptied: no token needed any more; on loopback, no warning. */
	harness_write_file(path, "[admin]\ntoken =\n");
	kill(d.pid, SIGHUP);
	harness_wait_log(&d, "reload: admin.token: (hidden, 12 bytes) -> \"\"",
	    1);
	assert_int_equal(admin_status(&d, NULL), 200);
	harness_stop(&d);
	assert_int_equal(daemon_log_count(&d, "has no token"), 0);
	unlink(path);
}

/*
 * An admin interface other hosts can reach, without a token: a warning at
 * start and after each reload that leaves it so, none while a token is set.
 */
static void
test_admin_open_warning(void **state)
{
	struct daemon	 d;
	char		 path[256], want[128];

	start(&d, path, sizeof path, "open.conf", "[admin]\ntoken =\n",
	    "0.0.0.0:0");
	snprintf(want, sizeof want, "warn  admin on 0.0.0.0:%d has no token: "
	    "anyone who can reach it can read /stats, /clients and /metrics",
	    d.admin_port);
	harness_wait_log(&d, want, 1);

	harness_write_file(path, "[admin]\ntoken = t0ken\n");
	kill(d.pid, SIGHUP);
	harness_wait_log(&d, "reload: admin.token: \"\" -> (hidden, 5 bytes)",
	    1);
	harness_wait_log(&d, "1 setting changed", 1);
	assert_int_equal(daemon_log_count(&d, want), 1);
	assert_int_equal(admin_status(&d, NULL), 401);

	harness_write_file(path, "[admin]\ntoken =\n");
	kill(d.pid, SIGHUP);
	harness_wait_log(&d, want, 2);
	assert_int_equal(admin_status(&d, NULL), 200);
	harness_stop(&d);
	assert_int_equal(daemon_log_count(&d, "has no token"), 2);
	unlink(path);
}

/* The payload byte of frame i, so that a reordering or a loss shows. */
static char
frame_byte(int i)
{
	return (char)('a' + i % 26);
}

/*
 * a sends FRAMES large frames to b, which does not read, then a message to
 * itself: when that comes back, the router has routed every frame before
 * it, and what b's socket did not take is queued in the router.
 */
static void
fill_queue(int a, uint32_t a_id, uint32_t b_id)
{
	char	*frame;
	int	 i;

	assert_non_null(frame = malloc(FRAME_LEN));
	*(uint32_t *)frame = htonl(b_id);
	frame[FRAME_LEN - 1] = '\0';
	for (i = 0; i < FRAMES; i++) {
		memset(frame + 4, frame_byte(i), PAYLOAD);
		assert_int_equal(tc_write(a, frame, FRAME_LEN), 0);
	}
	free(frame);
	route_ok(a, a, a_id, "all routed");
}

/*
 * The fixture of the drain tests: the daemon on a config file (the test's
 * initial state is its text), a client a and a client b with a small
 * window, and fill_queue() done: the router holds a queue for b.
 */
struct queued {
	struct pair	p;
	char		path[256];
};

static int
queued_setup(void **state)
{
	const char	*text = *state;
	const char	*args[] = { "-c", NULL, "--admin", "off", NULL };
	struct queued	*q;

	assert_non_null(q = calloc(1, sizeof *q));
	*state = q;
	harness_tmp_path(q->path, sizeof q->path, "queued.conf");
	harness_write_file(q->path, text);
	args[1] = q->path;
	pair_open(&q->p, args, 1);
	fill_queue(q->p.a, q->p.ida, q->p.idb);
	return 0;
}

static int
queued_teardown(void **state)
{
	struct queued	*q = *state;

	pair_close(&q->p);
	unlink(q->path);
	free(q);
	return 0;
}

/* A drain test's pair, from its fixture. */
static struct pair *
queued_pair(void **state)
{
	struct queued	*q = *state;

	return &q->p;
}

#define queued_test(f, text)						\
	cmocka_unit_test_prestate_setup_teardown(f, queued_setup,	\
	    queued_teardown, (void *)(text))

/* SIGTERM and the drain has begun: its figures from the "draining" line. */
static long long
queued_sigterm(struct pair *p)
{
	long long	queued;

	kill(p->d.pid, SIGTERM);
	harness_wait_log(&p->d, "draining: ", 1);
	queued = daemon_log_value(&p->d, "draining: ", "queued_bytes");
	assert_true(queued > 0);
	assert_int_equal(daemon_log_value(&p->d, "draining: ", "clients"), 1);
	return queued;
}

static const char drain_conf[] = "[router]\nqueue_limit = 64M\n"
    "shutdown_timeout = 20s\n";

static void
test_drain_delivers_queue(void **state)
{
	struct pair	*p = queued_pair(state);
	char		*buf, *want;
	long long	 queued;
	int		 i;

	queued = queued_sigterm(p);
	/* No new clients, and no new messages, once the drain has begun. */
	assert_int_equal(tc_connect_raw(&p->d), -1);
	assert_int_equal(tc_send(p->a, p->idb, "too late"), 0);
	/*
	 * b sends too, and the router never reads it: closing a socket with
	 * unread input resets it, which must not cost b the bytes in flight.
	 */
	assert_int_equal(tc_send(p->b, p->ida, "unread"), 0);

	/* b reads every frame queued before the signal, and then EOF. */
	assert_non_null(buf = malloc(FRAME_LEN));
	assert_non_null(want = malloc(FRAME_LEN));
	for (i = 0; i < FRAMES; i++) {
		memset(want, frame_byte(i), PAYLOAD);
		want[PAYLOAD] = '\0';
		assert_int_equal(tc_read_exact(p->b, buf, PAYLOAD + 1,
		    HARNESS_TIMEOUT_MS), 0);
		assert_memory_equal(buf, want, PAYLOAD + 1);
	}
	free(buf);
	free(want);
	assert_int_equal(tc_expect_close(p->b, HARNESS_TIMEOUT_MS), 0);

	harness_wait_exit(&p->d, 20000 + HARNESS_TIMEOUT_MS);
	assert_int_equal(daemon_log_value(&p->d, "drain complete",
	    "flushed_bytes"), queued);
	assert_int_equal(daemon_log_value(&p->d, "drain complete",
	    "abandoned_bytes"), 0);
	assert_int_equal(daemon_counter(&p->d, "forwarded"), FRAMES + 1);
}

/*
 * Read what fill_queue sent to b, from stream offset *off, until *off
 * reaches limit, EOF or the deadline; every byte is checked against the
 * frames.  Returns 1 at limit, 0 at EOF, -1 on timeout or error.
 */
static int
read_stream(int fd, size_t *off, size_t limit, int timeout_ms)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	long long	 deadline = tc_now_ms() + timeout_ms, left;
	char		 buf[65536];
	size_t		 want, i, pos;
	ssize_t		 n;

	while (*off < limit) {
		if ((left = deadline - tc_now_ms()) <= 0 ||
		    poll(&pfd, 1, (int)left) != 1)
			return -1;
		want = limit - *off < sizeof buf ? limit - *off : sizeof buf;
		if ((n = read(fd, buf, want)) == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (i = 0; i < (size_t)n; i++) {
			pos = (*off + i) % (PAYLOAD + 1);
			if (buf[i] != (pos == PAYLOAD ? '\0' :
			    frame_byte((int)((*off + i) / (PAYLOAD + 1)))))
				fail_msg("stream byte %zu is 0x%02x", *off + i,
				    (unsigned char)buf[i]);
		}
		*off += (size_t)n;
	}
	return 1;
}

/*
 * The heap is trimmed once traffic goes quiet, and again once a queue that
 * was full at that trim has been written out: its memory was freed without
 * a byte read, and it must go back too (msgrouterd.c, trim_cb).  Each trim
 * logs one "quiet: heap trimmed" line at debug level; under sanitizers the
 * line is all there is to see, so the test counts lines, not RSS.
 */
static const char trim_conf[] = "[router]\nqueue_limit = 64M\n"
    "[log]\nlevel = debug\n";

static void
test_trim_after_queue_drains(void **state)
{
	struct pair	*p = queued_pair(state);
	size_t		 off = 0;

	/* 8 MiB read and queued for b, which does not read yet. */
	harness_wait_log(&p->d, "quiet: heap trimmed", 1);

	/* b takes it all; the router reads nothing meanwhile. */
	assert_int_equal(read_stream(p->b, &off, (size_t)FRAMES *
	    (PAYLOAD + 1), HARNESS_TIMEOUT_MS), 1);
	harness_wait_log(&p->d, "quiet: heap trimmed", 2);
	harness_stop(&p->d);
}

/*
 * b reads a little during the drain, then stops; the timeout ends the
 * drain and the exit is 0.  What b reads after SIGTERM is what was already
 * in the kernel buffers when the drain began (all that was routed to it
 * minus queued_bytes) plus the flushed_bytes, in order and uncut.
 */
static const char timeout_conf[] = "[router]\nqueue_limit = 64M\n"
    "shutdown_timeout = 300ms\n";

static void
test_drain_timeout(void **state)
{
	const size_t	 total = (size_t)FRAMES * (PAYLOAD + 1);
	struct pair	*p = queued_pair(state);
	long long	 queued, flushed, abandoned;
	size_t		 got = 0;

	queued = queued_sigterm(p);
	assert_true((size_t)queued < total);
	/*
	 * Two frames past what the kernel held, which the router can only
	 * have written during the drain: it flushes into the room b makes,
	 * unless the timeout has passed already.  Then b stops, far short of
	 * the whole queue, so the drain can only time out.
	 */
	assert_true(read_stream(p->b, &got, total - (size_t)queued +
	    2 * (PAYLOAD + 1), HARNESS_TIMEOUT_MS) >= 0);
	harness_wait_exit(&p->d, 300 + HARNESS_TIMEOUT_MS);
	/* The daemon is gone; what it handed to the kernel still arrives. */
	assert_int_equal(read_stream(p->b, &got, total, HARNESS_TIMEOUT_MS), 0);

	flushed = daemon_log_value(&p->d, "drain timed out", "flushed_bytes");
	abandoned = daemon_log_value(&p->d, "drain timed out",
	    "abandoned_bytes");
	assert_true(flushed >= 0);
	assert_true(abandoned > 0);
	assert_int_equal(got, total - (size_t)queued + (size_t)flushed);
}

static const char second_conf[] = "[router]\nqueue_limit = 64M\n"
    "shutdown_timeout = 3600s\n";

static void
test_drain_second_signal(void **state)
{
	struct pair	*p = queued_pair(state);

	queued_sigterm(p);
	/* A second signal ends an hour-long drain at once. */
	kill(p->d.pid, SIGINT);
	harness_wait_exit(&p->d, HARNESS_TIMEOUT_MS);
	assert_int_equal(daemon_log_count(&p->d,
	    "warn  SIGINT received again: exiting at once"), 1);
	assert_true(daemon_log_value(&p->d, "drain interrupted",
	    "abandoned_bytes") > 0);
}

/* A client that resets while the router writes to it costs only itself. */
static const char sigpipe_conf[] = "[router]\nqueue_limit = 64M\n";

static void
test_sigpipe(void **state)
{
	struct pair	*p = queued_pair(state);

	tc_close_reset(p->b);
	p->b = -1;
	harness_wait_log(&p->d, " closed: ", 1);
	route_ok(p->a, p->a, p->ida, "alive");
	harness_stop(&p->d);
}

/*
 * SIGTERM the moment the daemon says it listens: it must drain and exit 0,
 * as it does later on.  The harness sends it as soon as it reads the
 * ready line ("listening on", and "admin listening on" too when args give
 * the admin interface an address), so a daemon that logs it before it has
 * set up its signal handling dies of the signal instead, now and then:
 * many runs make that window show.
 */
static void
sigterm_at_ready(const char *const *args)
{
	struct daemon	d;
	int		runs = harness_wrapped() ? 5 : 50, i, rc;

	for (i = 0; i < runs; i++) {
		harness_start(&d, args);
		kill(d.pid, SIGTERM);
		rc = daemon_wait_exit(&d, HARNESS_TIMEOUT_MS);
		if (rc != 0 || daemon_log_count(&d, "drain complete") != 1) {
			daemon_dump_log(&d);
			fail_msg("run %d of %d: SIGTERM at the ready line: "
			    "exit status %d, %d \"drain complete\" lines",
			    i + 1, runs, rc,
			    daemon_log_count(&d, "drain complete"));
		}
	}
}

static void
test_sigterm_at_ready(void **state)
{
	sigterm_at_ready(NULL);
}

static void
test_sigterm_at_ready_admin(void **state)
{
	static const char *const args[] = { "--admin", "127.0.0.1:0", NULL };

	sigterm_at_ready(args);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_check_config_good),
		harness_unit_test(test_check_config_example),
		harness_unit_test(test_check_config_bad),
		harness_unit_test(test_check_config_token_comment),
		harness_unit_test(test_bad_flag),
		harness_unit_test(test_bind_failure),
		harness_unit_test(test_reload_live),
		harness_unit_test(test_reload_broken),
		harness_unit_test(test_reload_restart_key),
		harness_unit_test(test_reload_log_level),
		harness_unit_test(test_reload_admin_token),
		harness_unit_test(test_admin_open_warning),
		queued_test(test_drain_delivers_queue, drain_conf),
		queued_test(test_drain_timeout, timeout_conf),
		queued_test(test_trim_after_queue_drains, trim_conf),
		queued_test(test_drain_second_signal, second_conf),
		queued_test(test_sigpipe, sigpipe_conf),
		harness_unit_test(test_sigterm_at_ready),
		harness_unit_test(test_sigterm_at_ready_admin),
	};

	harness_init();
	return harness_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
