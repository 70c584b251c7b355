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

/* A path in the test directory, unique to this process and tag. */
static void
tmp_path(char *buf, size_t len, const char *tag)
{
	const char	*dir = getenv("TESTS_TMPDIR");

	snprintf(buf, len, "%s/test_ops-%d-%s", dir != NULL ? dir : ".",
	    (int)getpid(), tag);
}

static void
write_file(const char *path, const char *text)
{
	FILE	*f;

	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Read a whole small file into buf, NUL-terminated. */
static void
read_file(const char *path, char *buf, size_t len)
{
	FILE	*f;
	size_t	 n;

	assert_non_null(f = fopen(path, "r"));
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/*
 * Run msgrouterd with args to completion, stdout and stderr captured.
 * Returns the exit status, or -1 if it did not exit in time.
 */
static int
run(const char *const *args, char *out, size_t outlen, char *err,
    size_t errlen)
{
	const char	*bin = getenv("MSGROUTERD");
	const char	*argv[32];
	char		 opath[256], epath[256];
	struct daemon	 d;
	int		 argc = 0, fd, rc;

	tmp_path(opath, sizeof opath, "stdout");
	tmp_path(epath, sizeof epath, "stderr");
	argv[argc++] = bin != NULL ? bin : "../src/msgrouterd";
	while (*args != NULL && argc < 31)
		argv[argc++] = *args++;
	argv[argc] = NULL;
	memset(&d, 0, sizeof d);
	assert_true((d.pid = fork()) != -1);
	if (d.pid == 0) {
		fd = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, STDOUT_FILENO);
		fd = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	rc = daemon_wait_exit(&d, HARNESS_TIMEOUT_MS);
	if (rc == -1) {
		kill(d.pid, SIGKILL);
		daemon_wait_exit(&d, HARNESS_TIMEOUT_MS);
	}
	read_file(opath, out, outlen);
	read_file(epath, err, errlen);
	unlink(opath);
	unlink(epath);
	return rc;
}

static void
test_check_config_good(void **state)
{
	char	path[256], out[4096], err[4096];
	const char *args[] = { "-c", path, "--check-config", "--queue-limit",
	    "2M", NULL };

	tmp_path(path, sizeof path, "good.conf");
	write_file(path,
	    "[router]\n"
	    "listen = 127.0.0.1:0\n"
	    "queue_limit = 16M\n"
	    "slow_consumer = drop\n"
	    "shutdown_timeout = 2500ms\n"
	    "[admin]\n"
	    "listen = off\n");
	assert_int_equal(run(args, out, sizeof out, err, sizeof err), 0);
	assert_string_equal(err, "");
	assert_string_equal(out,
	    "router.listen = 127.0.0.1:0  # file\n"
	    "router.max_clients = 10000  # default\n"
	    "router.max_message_size = 1M  # default\n"
	    "router.queue_limit = 2M  # flag\n"
	    "router.slow_consumer = drop  # file\n"
	    "router.id_mode = random  # default\n"
	    "router.shutdown_timeout = 2500ms  # file\n"
	    "admin.listen = off  # file\n"
	    "admin.token =  # default\n"
	    "log.level = info  # default\n");
	unlink(path);
}

/* The example configuration shipped in etc/ is valid as it is. */
static void
test_check_config_example(void **state)
{
	char		 path[512], out[4096], err[4096];
	const char	*srcdir = getenv("srcdir");
	const char	*args[] = { "-c", path, "-t", NULL };

	snprintf(path, sizeof path, "%s/etc/msgrouterd.conf",
	    srcdir != NULL ? srcdir : "..");
	assert_int_equal(run(args, out, sizeof out, err, sizeof err), 0);
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
	    "admin.listen = 127.0.0.1:8081  # file\n"
	    "admin.token =  # file\n"
	    "log.level = info  # file\n");
}

static void
test_check_config_bad(void **state)
{
	char		 path[256], out[4096], err[4096], want[512];
	const char	*check[] = { "-c", path, "-t", NULL };
	const char	*start[] = { "-c", path, "-l", "127.0.0.1:0", NULL };

	tmp_path(path, sizeof path, "bad.conf");
	write_file(path,
	    "# comment\n"
	    "[router]\n"
	    "max_clients = 10\n"
	    "\n"
	    "queue_limit = lots\n");
	snprintf(want, sizeof want, "%s:5: queue_limit: expected a size like "
	    "8M, got \"lots\"\n", path);
	assert_int_equal(run(check, out, sizeof out, err, sizeof err), 2);
	assert_string_equal(out, "");
	assert_string_equal(err, want);
	/* Without -t nothing starts: the same line and status 2. */
	assert_int_equal(run(start, out, sizeof out, err, sizeof err), 2);
	assert_string_equal(err, want);

	write_file(path, "[router]\nmax_clients = 10\n[routing]\n");
	snprintf(want, sizeof want, "%s:3: [routing]: unknown section, "
	    "expected [router], [admin] or [log]\n", path);
	assert_int_equal(run(check, out, sizeof out, err, sizeof err), 2);
	assert_string_equal(err, want);
	unlink(path);

	snprintf(want, sizeof want, "%s: cannot open: No such file or "
	    "directory\n", path);
	assert_int_equal(run(check, out, sizeof out, err, sizeof err), 2);
	assert_string_equal(out, "");
	assert_string_equal(err, want);
}

/*
 * "token = ;abc" holds only a comment for libinih, which would mean no
 * token and no authentication: refused at -t and at start, with status 2,
 * and without the text that may be the token.
 */
static void
test_check_config_token_comment(void **state)
{
	char		 path[256], out[4096], err[4096], want[512];
	const char	*check[] = { "-c", path, "-t", NULL };
	const char	*start[] = { "-c", path, "-l", "127.0.0.1:0", "--admin",
			    "127.0.0.1:0", NULL };

	tmp_path(path, sizeof path, "comment.conf");
	write_file(path, "[admin]\ntoken = ;s3cret\n");
	snprintf(want, sizeof want, "%s:2: token: expected a value before "
	    "the inline comment, got 7 bytes of comment (not shown)\n", path);
	assert_int_equal(run(check, out, sizeof out, err, sizeof err), 2);
	assert_string_equal(out, "");
	assert_string_equal(err, want);
	assert_int_equal(run(start, out, sizeof out, err, sizeof err), 2);
	assert_string_equal(err, want);

	/* Right after the "=", the ";" is the token's first byte. */
	write_file(path, "[admin]\ntoken=;s3cret\n");
	assert_int_equal(run(check, out, sizeof out, err, sizeof err), 0);
	assert_string_equal(err, "");
	assert_non_null(strstr(out,
	    "admin.token = (hidden, 7 bytes)  # file\n"));
	unlink(path);
}

static void
test_bad_flag(void **state)
{
	char		 out[4096], err[4096];
	const char	*size[] = { "--queue-limit", "lots", "-t", NULL };
	const char	*range[] = { "--max-clients", "0", "-t", NULL };
	const char	*dur[] = { "--shutdown-timeout", "1h", "-t", NULL };
	const char	*admin[] = { "--admin", "on", "-t", NULL };

	assert_int_equal(run(size, out, sizeof out, err, sizeof err), 2);
	assert_string_equal(err, "msgrouterd: --queue-limit: expected a size "
	    "like 8M, got \"lots\"\n");
	assert_int_equal(run(range, out, sizeof out, err, sizeof err), 2);
	assert_string_equal(err, "msgrouterd: --max-clients: expected a "
	    "number from 1 to 1000000, got \"0\"\n");
	assert_int_equal(run(dur, out, sizeof out, err, sizeof err), 2);
	assert_string_equal(err, "msgrouterd: --shutdown-timeout: expected a "
	    "duration like 5s or 250ms, got \"1h\"\n");
	assert_int_equal(run(admin, out, sizeof out, err, sizeof err), 2);
	assert_string_equal(err, "msgrouterd: --admin: expected ADDRESS:PORT "
	    "like 127.0.0.1:8081 or off, got \"on\"\n");
}

/* A listen address in use: one line naming it, exit status 1. */
static void
test_bind_failure(void **state)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;
	char			 addr[64], out[4096], err[8192];
	const char		*args[] = { "-l", addr, "--admin", "off", NULL };
	int			 fd;

	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(addr, sizeof addr, "127.0.0.1:%u", ntohs(sin.sin_port));

	assert_int_equal(run(args, out, sizeof out, err, sizeof err), 1);
	snprintf(out, sizeof out, "error cannot listen on %s (router.listen): "
	    "Address already in use\n", addr);
	assert_non_null(strstr(err, out));
	assert_null(strstr(err, "listening on"));
	close(fd);
}

/* Start the daemon on a config file; the harness adds -l 127.0.0.1:0. */
static void
start(struct daemon *d, const char *path, const char *text)
{
	const char	*args[] = { "-c", path, "--admin", "off", NULL };

	write_file(path, text);
	assert_int_equal(daemon_start(d, args), 0);
}

/* Send a message and check that it arrives, byte for byte. */
static void
route_ok(int from, int to, uint32_t to_id, const char *payload)
{
	char	buf[256];

	assert_int_equal(tc_send(from, to_id, payload), 0);
	assert_int_equal(tc_recv_msg(to, buf, sizeof buf, HARNESS_TIMEOUT_MS),
	    (ssize_t)strlen(payload) + 1);
	assert_string_equal(buf, payload);
}

static void
test_reload_live(void **state)
{
	struct daemon	 d;
	char		 path[256], *frame;
	uint32_t	 a_id, b_id, c_id;
	int		 a, b, c, i;

	tmp_path(path, sizeof path, "live.conf");
	start(&d, path, "[router]\nqueue_limit = 1M\n"
	    "slow_consumer = backpressure\n");
	assert_true((a = tc_connect(&d, &a_id)) >= 0);
	assert_true((b = tc_connect(&d, &b_id)) >= 0);
	assert_true((c = tc_connect(&d, &c_id)) >= 0);
	route_ok(a, b, b_id, "before");

	write_file(path, "[router]\nqueue_limit = 1K\n"
	    "slow_consumer = disconnect\n");
	kill(d.pid, SIGHUP);
	assert_int_equal(daemon_wait_log(&d, "settings changed", 1,
	    HARNESS_TIMEOUT_MS), 0);
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
	assert_int_equal(daemon_wait_log(&d, "disconnecting slow consumer", 1,
	    HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(tc_expect_close(b, HARNESS_TIMEOUT_MS), 0);
	route_ok(c, a, a_id, "still here");

	assert_int_equal(daemon_stop(&d, SIGTERM, HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(daemon_log_value(&d, "final counters",
	    "disconnected_slow"), 1);
	assert_int_equal(daemon_log_value(&d, "final counters",
	    "accepted"), 3);
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

	tmp_path(path, sizeof path, "broken.conf");
	start(&d, path, "[router]\nmax_clients = 3\n");
	assert_true((fd[0] = tc_connect(&d, &id[0])) >= 0);
	assert_true((fd[1] = tc_connect(&d, &id[1])) >= 0);

	/* Line 2 alone would lower max_clients; line 3 spoils the file. */
	write_file(path, "[router]\nmax_clients = 2\nqueue_limit = 2X\n");
	kill(d.pid, SIGHUP);
	snprintf(want, sizeof want, "error reload: %s:3: queue_limit: "
	    "expected a size like 8M, got \"2X\"; keeping the running "
	    "configuration", path);
	assert_int_equal(daemon_wait_log(&d, want, 1, HARNESS_TIMEOUT_MS), 0);

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
	write_file(path, "[router]\nmax_clients = 4\n");
	kill(d.pid, SIGHUP);
	assert_int_equal(daemon_wait_log(&d,
	    "reload: router.max_clients: 3 -> 4", 1, HARNESS_TIMEOUT_MS), 0);
	assert_true((fd[3] = tc_connect(&d, &id[3])) >= 0);
	route_ok(fd[3], fd[2], id[2], "fourth");

	assert_int_equal(daemon_stop(&d, SIGTERM, HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(daemon_log_value(&d, "final counters", "rejected"),
	    1);
	assert_int_equal(daemon_log_value(&d, "final counters", "accepted"),
	    4);
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

	tmp_path(path, sizeof path, "restart.conf");
	start(&d, path, "[router]\nid_mode = sequential\n");
	assert_true((a = tc_connect(&d, &id1)) >= 0);
	/* The harness gives -l 127.0.0.1:0; the file cannot move it. */
	write_file(path, "[router]\nid_mode = random\n"
	    "listen = 127.0.0.1:1\n");
	kill(d.pid, SIGHUP);
	assert_int_equal(daemon_wait_log(&d, "1 setting changed", 1,
	    HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(daemon_log_count(&d, "warn  reload: router.id_mode: "
	    "random needs a restart; keeping sequential"), 1);
	assert_int_equal(daemon_log_count(&d, "router.listen"), 0);
	/* Same port, and ids still sequential. */
	assert_true((b = tc_connect(&d, &id2)) >= 0);
	assert_int_equal(id2, id1 + 1);
	route_ok(a, b, id2, "same port");
	close(a);
	close(b);
	assert_int_equal(daemon_stop(&d, SIGTERM, HARNESS_TIMEOUT_MS), 0);
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

	tmp_path(path, sizeof path, "level.conf");
	start(&d, path, "[log]\nlevel = info\n");
	assert_true((a = tc_connect(&d, &a_id)) >= 0);
	/* Id 0 is never given out: the message is dropped, at debug. */
	assert_int_equal(tc_send(a, 0, "lost"), 0);
	route_ok(a, a, a_id, "after the lost one");
	assert_int_equal(daemon_log_count(&d, "message to unknown id 0"), 0);

	write_file(path, "[log]\nlevel = debug\n");
	kill(d.pid, SIGHUP);
	assert_int_equal(daemon_wait_log(&d, "reload: log.level: info -> debug",
	    1, HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(tc_send(a, 0, "lost"), 0);
	route_ok(a, a, a_id, "after the second");
	assert_int_equal(daemon_log_count(&d, "debug client "), 1);
	assert_int_equal(daemon_log_count(&d, "message to unknown id 0"), 1);
	close(a);
	assert_int_equal(daemon_stop(&d, SIGTERM, HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(daemon_log_value(&d, "final counters",
	    "dropped_unknown"), 2);
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
	const char	*args[] = { "-c", path, "--admin", "127.0.0.1:0", NULL };

	tmp_path(path, sizeof path, "token.conf");
	write_file(path, "[admin]\ntoken = first-Token\n");
	assert_int_equal(daemon_start(&d, args), 0);
	assert_true(d.admin_port > 0);
	assert_int_equal(admin_status(&d, NULL), 401);
	assert_int_equal(admin_status(&d, "first-Token"), 200);

	write_file(path, "[admin]\ntoken = second-Token\n");
	kill(d.pid, SIGHUP);
	assert_int_equal(daemon_wait_log(&d, "reload: admin.token: (hidden, "
	    "11 bytes) -> (hidden, 12 bytes)", 1, HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(admin_status(&d, "first-Token"), 401);
	assert_int_equal(admin_status(&d, "second-Token"), 200);
	/* The token itself is never logged. */
	assert_int_equal(daemon_log_count(&d, "Token"), 0);

	/*
	 * Only an inline comment after the "=": refused, not read as "no
	 * token", and the running token stays.
	 */
	write_file(path, "[admin]\ntoken = ;third-Token\n");
	kill(d.pid, SIGHUP);
	snprintf(want, sizeof want, "error reload: %s:2: token: expected a "
	    "value before the inline comment, got 12 bytes of comment (not "
	    "shown); keeping the running configuration", path);
	assert_int_equal(daemon_wait_log(&d, want, 1, HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(admin_status(&d, NULL), 401);
	assert_int_equal(admin_status(&d, "second-Token"), 200);
	assert_int_equal(daemon_log_count(&d, "Token"), 0);

	/* Emptied: no token needed any more; on loopback, no warning. */
	write_file(path, "[admin]\ntoken =\n");
	kill(d.pid, SIGHUP);
	assert_int_equal(daemon_wait_log(&d, "reload: admin.token: (hidden, "
	    "12 bytes) -> \"\"", 1, HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(admin_status(&d, NULL), 200);
	assert_int_equal(daemon_stop(&d, SIGTERM, HARNESS_TIMEOUT_MS), 0);
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
	const char	*args[] = { "-c", path, "--admin", "0.0.0.0:0", NULL };

	tmp_path(path, sizeof path, "open.conf");
	write_file(path, "[admin]\ntoken =\n");
	assert_int_equal(daemon_start(&d, args), 0);
	assert_true(d.admin_port > 0);
	snprintf(want, sizeof want, "warn  admin on 0.0.0.0:%d has no token: "
	    "anyone who can reach it can read /stats, /clients and /metrics",
	    d.admin_port);
	assert_int_equal(daemon_wait_log(&d, want, 1, HARNESS_TIMEOUT_MS), 0);

	write_file(path, "[admin]\ntoken = t0ken\n");
	kill(d.pid, SIGHUP);
	assert_int_equal(daemon_wait_log(&d, "reload: admin.token: \"\" -> "
	    "(hidden, 5 bytes)", 1, HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(daemon_wait_log(&d, "1 setting changed", 1,
	    HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(daemon_log_count(&d, want), 1);
	assert_int_equal(admin_status(&d, NULL), 401);

	write_file(path, "[admin]\ntoken =\n");
	kill(d.pid, SIGHUP);
	assert_int_equal(daemon_wait_log(&d, want, 2, HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(admin_status(&d, NULL), 200);
	assert_int_equal(daemon_stop(&d, SIGTERM, HARNESS_TIMEOUT_MS), 0);
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

static void
test_drain_delivers_queue(void **state)
{
	struct daemon	 d;
	char		 path[256], *buf, *want;
	uint32_t	 a_id, b_id;
	long long	 queued;
	int		 a, b, i;

	tmp_path(path, sizeof path, "drain.conf");
	start(&d, path, "[router]\nqueue_limit = 64M\n"
	    "shutdown_timeout = 20s\n");
	assert_true((a = tc_connect(&d, &a_id)) >= 0);
	assert_true((b = tc_connect_small(&d, &b_id)) >= 0);
	fill_queue(a, a_id, b_id);

	kill(d.pid, SIGTERM);
	assert_int_equal(daemon_wait_log(&d, "draining: ", 1,
	    HARNESS_TIMEOUT_MS), 0);
	queued = daemon_log_value(&d, "draining: ", "queued_bytes");
	assert_true(queued > 0);
	assert_int_equal(daemon_log_value(&d, "draining: ", "clients"), 1);
	/* No new clients, and no new messages, once the drain has begun. */
	assert_int_equal(tc_connect_raw(&d), -1);
	assert_int_equal(tc_send(a, b_id, "too late"), 0);
	/*
	 * b sends too, and the router never reads it: closing a socket with
	 * unread input resets it, which must not cost b the bytes in flight.
	 */
	assert_int_equal(tc_send(b, a_id, "unread"), 0);

	/* b reads every frame queued before the signal, and then EOF. */
	assert_non_null(buf = malloc(FRAME_LEN));
	assert_non_null(want = malloc(FRAME_LEN));
	for (i = 0; i < FRAMES; i++) {
		memset(want, frame_byte(i), PAYLOAD);
		want[PAYLOAD] = '\0';
		assert_int_equal(tc_read_exact(b, buf, PAYLOAD + 1,
		    HARNESS_TIMEOUT_MS), 0);
		assert_memory_equal(buf, want, PAYLOAD + 1);
	}
	free(buf);
	free(want);
	assert_int_equal(tc_expect_close(b, HARNESS_TIMEOUT_MS), 0);

	assert_int_equal(daemon_wait_exit(&d, 20000 + HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(daemon_log_value(&d, "drain complete",
	    "flushed_bytes"), queued);
	assert_int_equal(daemon_log_value(&d, "drain complete",
	    "abandoned_bytes"), 0);
	assert_int_equal(daemon_log_value(&d, "final counters", "forwarded"),
	    FRAMES + 1);
	close(a);
	close(b);
	unlink(path);
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
static void
test_trim_after_queue_drains(void **state)
{
	struct daemon	 d;
	char		 path[256];
	uint32_t	 a_id, b_id;
	size_t		 off = 0;
	int		 a, b;

	tmp_path(path, sizeof path, "trim.conf");
	start(&d, path, "[router]\nqueue_limit = 64M\n"
	    "[log]\nlevel = debug\n");
	assert_true((a = tc_connect(&d, &a_id)) >= 0);
	assert_true((b = tc_connect_small(&d, &b_id)) >= 0);
	/* 8 MiB read and queued for b, which does not read yet. */
	fill_queue(a, a_id, b_id);
	assert_int_equal(daemon_wait_log(&d, "quiet: heap trimmed", 1,
	    HARNESS_TIMEOUT_MS), 0);

	/* b takes it all; the router reads nothing meanwhile. */
	assert_int_equal(read_stream(b, &off, (size_t)FRAMES * (PAYLOAD + 1),
	    HARNESS_TIMEOUT_MS), 1);
	assert_int_equal(daemon_wait_log(&d, "quiet: heap trimmed", 2,
	    HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(daemon_stop(&d, SIGTERM, HARNESS_TIMEOUT_MS), 0);
	close(a);
	close(b);
	unlink(path);
}

/*
 * b reads a little during the drain, then stops; the timeout ends the
 * drain and the exit is 0.  What b reads after SIGTERM is what was already
 * in the kernel buffers when the drain began (all that was routed to it
 * minus queued_bytes) plus the flushed_bytes, in order and uncut.
 */
static void
test_drain_timeout(void **state)
{
	const size_t	 total = (size_t)FRAMES * (PAYLOAD + 1);
	struct daemon	 d;
	char		 path[256];
	uint32_t	 a_id, b_id;
	long long	 queued, flushed, abandoned;
	size_t		 got = 0;
	int		 a, b;

	tmp_path(path, sizeof path, "timeout.conf");
	start(&d, path, "[router]\nqueue_limit = 64M\n"
	    "shutdown_timeout = 300ms\n");
	assert_true((a = tc_connect(&d, &a_id)) >= 0);
	assert_true((b = tc_connect_small(&d, &b_id)) >= 0);
	fill_queue(a, a_id, b_id);

	kill(d.pid, SIGTERM);
	assert_int_equal(daemon_wait_log(&d, "draining: ", 1,
	    HARNESS_TIMEOUT_MS), 0);
	queued = daemon_log_value(&d, "draining: ", "queued_bytes");
	assert_true(queued > 0);
	assert_true((size_t)queued < total);
	assert_int_equal(daemon_log_value(&d, "draining: ", "clients"), 1);
	/*
	 * Two frames past what the kernel held, which the router can only
	 * have written during the drain: it flushes into the room b makes,
	 * unless the timeout has passed already.  Then b stops, far short of
	 * the whole queue, so the drain can only time out.
	 */
	assert_true(read_stream(b, &got, total - (size_t)queued +
	    2 * (PAYLOAD + 1), HARNESS_TIMEOUT_MS) >= 0);
	assert_int_equal(daemon_wait_exit(&d, 300 + HARNESS_TIMEOUT_MS), 0);
	/* The daemon is gone; what it handed to the kernel still arrives. */
	assert_int_equal(read_stream(b, &got, total, HARNESS_TIMEOUT_MS), 0);

	flushed = daemon_log_value(&d, "drain timed out", "flushed_bytes");
	abandoned = daemon_log_value(&d, "drain timed out", "abandoned_bytes");
	assert_true(flushed >= 0);
	assert_true(abandoned > 0);
	assert_int_equal(got, total - (size_t)queued + (size_t)flushed);
	close(a);
	close(b);
	unlink(path);
}

static void
test_drain_second_signal(void **state)
{
	struct daemon	 d;
	char		 path[256];
	uint32_t	 a_id, b_id;
	int		 a, b;

	tmp_path(path, sizeof path, "second.conf");
	start(&d, path, "[router]\nqueue_limit = 64M\n"
	    "shutdown_timeout = 3600s\n");
	assert_true((a = tc_connect(&d, &a_id)) >= 0);
	assert_true((b = tc_connect_small(&d, &b_id)) >= 0);
	fill_queue(a, a_id, b_id);

	kill(d.pid, SIGTERM);
	assert_int_equal(daemon_wait_log(&d, "draining: ", 1,
	    HARNESS_TIMEOUT_MS), 0);
	/* A second signal ends an hour-long drain at once. */
	kill(d.pid, SIGINT);
	assert_int_equal(daemon_wait_exit(&d, HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(daemon_log_count(&d,
	    "warn  SIGINT received again: exiting at once"), 1);
	assert_true(daemon_log_value(&d, "drain interrupted",
	    "abandoned_bytes") > 0);
	close(a);
	close(b);
	unlink(path);
}

/* A client that resets while the router writes to it costs only itself. */
static void
test_sigpipe(void **state)
{
	struct daemon	 d;
	struct linger	 lg = { 1, 0 };
	char		 path[256];
	uint32_t	 a_id, b_id;
	int		 a, b;

	tmp_path(path, sizeof path, "sigpipe.conf");
	start(&d, path, "[router]\nqueue_limit = 64M\n");
	assert_true((a = tc_connect(&d, &a_id)) >= 0);
	assert_true((b = tc_connect_small(&d, &b_id)) >= 0);
	fill_queue(a, a_id, b_id);
	setsockopt(b, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(b);
	assert_int_equal(daemon_wait_log(&d, " closed: ", 1,
	    HARNESS_TIMEOUT_MS), 0);
	route_ok(a, a, a_id, "alive");
	assert_int_equal(daemon_stop(&d, SIGTERM, HARNESS_TIMEOUT_MS), 0);
	close(a);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_config_good),
		cmocka_unit_test(test_check_config_example),
		cmocka_unit_test(test_check_config_bad),
		cmocka_unit_test(test_check_config_token_comment),
		cmocka_unit_test(test_bad_flag),
		cmocka_unit_test(test_bind_failure),
		cmocka_unit_test(test_reload_live),
		cmocka_unit_test(test_reload_broken),
		cmocka_unit_test(test_reload_restart_key),
		cmocka_unit_test(test_reload_log_level),
		cmocka_unit_test(test_reload_admin_token),
		cmocka_unit_test(test_admin_open_warning),
		cmocka_unit_test(test_drain_delivers_queue),
		cmocka_unit_test(test_drain_timeout),
		cmocka_unit_test(test_trim_after_queue_drains),
		cmocka_unit_test(test_drain_second_signal),
		cmocka_unit_test(test_sigpipe),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
