/*
 * Integration tests for the NATS link's adapter (src/natsev.c) against a
 * real nats-server ($NATS_SERVER, found by configure) on a free loopback
 * port: batches of frames come back byte-exact and in order, on the
 * loop's thread; frames of every size up to a batch of near max_payload;
 * and a server restarted mid-run: the adapter re-attaches the new socket,
 * the traffic resumes, and what was lost is seen as a gap, never as
 * reordered or damaged frames.  Skipped without a nats-server.
 *
 * The servers are stopped by pid at the end of each test; a failing test
 * leaves its server to the teardown (nats_teardown), never running.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <cmocka.h>

#include <nats/nats.h>

#include "harness.h"
#include "natsev_roundtrip.h"

struct nats_server {
	pid_t	ns_pid;
	int	ns_port;
	char	ns_log[256];
	char	ns_url[64];
};

/* The test's server, global so that the teardown finds it. */
static struct nats_server	server;

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The port in the server's "Listening for client connections" line. */
static int
nats_server_port(const char *log)
{
	static const char	 marker[] =
	    "Listening for client connections on 127.0.0.1:";
	char			 buf[8192], *p;
	ssize_t			 n;
	int			 fd;

	if ((fd = open(log, O_RDONLY)) < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((p = strstr(buf, marker)) == NULL)
		return -1;
	return atoi(p + sizeof marker - 1);
}

/*
 * Start nats-server on 127.0.0.1, on port (0: a free one, chosen by the
 * server and read from its log), and wait until it listens.
 */
static void
nats_server_start(struct nats_server *ns, int port)
{
	const char	*bin = getenv("NATS_SERVER");
	char		 portstr[16], tag[32];
	long		 deadline;

	if (bin == NULL || bin[0] == '\0')
		skip();
	snprintf(tag, sizeof tag, "nats-%d", port);
	harness_tmp_path(ns->ns_log, sizeof ns->ns_log, tag);
	unlink(ns->ns_log);
	snprintf(portstr, sizeof portstr, "%d", port > 0 ? port : -1);
	ns->ns_pid = fork();
	assert_true(ns->ns_pid >= 0);
	if (ns->ns_pid == 0) {
		execl(bin, bin, "-a", "127.0.0.1", "-p", portstr, "-l",
		    ns->ns_log, (char *)NULL);
		_exit(127);
	}
	deadline = now_ms() + HARNESS_TIMEOUT_MS;
	while ((ns->ns_port = nats_server_port(ns->ns_log)) <= 0) {
		assert_true(waitpid(ns->ns_pid, NULL, WNOHANG) == 0);
		assert_true(now_ms() < deadline);
		usleep(10000);
	}
	snprintf(ns->ns_url, sizeof ns->ns_url, "nats://127.0.0.1:%d",
	    ns->ns_port);
}

/* Stop the server by its pid: SIGTERM, then SIGKILL past the deadline. */
static void
nats_server_stop(struct nats_server *ns)
{
	long	deadline = now_ms() + HARNESS_TIMEOUT_MS;
	pid_t	r;

	if (ns->ns_pid <= 0)
		return;
	kill(ns->ns_pid, SIGTERM);
	while ((r = waitpid(ns->ns_pid, NULL, WNOHANG)) == 0 &&
	    now_ms() < deadline)
		usleep(10000);
	if (r == 0) {
		kill(ns->ns_pid, SIGKILL);
		waitpid(ns->ns_pid, NULL, 0);
	}
	assert_true(r == ns->ns_pid);
	ns->ns_pid = 0;
	unlink(ns->ns_log);
}

/* A test that failed midway leaves its server running: kill it. */
static int
nats_teardown(void **state)
{
	if (server.ns_pid > 0) {
		kill(server.ns_pid, SIGKILL);
		waitpid(server.ns_pid, NULL, 0);
		server.ns_pid = 0;
	}
	return 0;
}

static void
print_result(const char *what, const struct roundtrip_result *r)
{
	print_message("%s: batches %lu/%lu, frames %lu/%lu, lost %lu, "
	    "connects %lu, reads %lu, max buffered %lu, %.3f s%s%s\n", what,
	    r->rr_batches_in, r->rr_batches_out, r->rr_frames_in,
	    r->rr_frames_out, r->rr_lost, r->rr_connects, r->rr_reads,
	    r->rr_max_buffered, r->rr_seconds, r->rr_error[0] ? ": " : "",
	    r->rr_error);
}

/*
 * 200 NATS messages of 500 frames of 64 bytes: every frame back once,
 * byte-exact, in order, on the loop's thread; the library's buffer held
 * at most the hand-off bound plus one batch.
 */
static void
test_roundtrip(void **state)
{
	struct nats_server	*ns = &server;
	struct roundtrip_params	p = { NULL, 200, 500, 64, 256 * 1024,
				    HARNESS_TIMEOUT_MS, 0, NULL, NULL };
	struct roundtrip_result	r;

	nats_server_start(ns, 0);
	p.rp_url = ns->ns_url;
	assert_int_equal(roundtrip_run(&p, &r), 0);
	print_result("64-byte frames", &r);
	assert_int_equal(r.rr_frames_in, 200 * 500);
	assert_int_equal(r.rr_batches_in, 200);
	assert_int_equal(r.rr_bad, 0);
	assert_int_equal(r.rr_off_loop, 0);
	assert_int_equal(r.rr_slow, 0);
	assert_true(r.rr_reads > 0);
	assert_true(r.rr_max_buffered <= p.rp_handoff + 500 * 64 + 128);
	nats_server_stop(ns);
}

/*
 * The smallest frames (header and 0x00 only; ids with 0x00 bytes) and
 * large ones: 9 frames of 100 KiB per message, near the default 1 MB
 * max_payload.
 */
static void
test_frame_sizes(void **state)
{
	struct nats_server	*ns = &server;
	struct roundtrip_params	p = { NULL, 300, 1000, 5, 1 << 20,
				    HARNESS_TIMEOUT_MS, 0, NULL, NULL };
	struct roundtrip_result	r;

	nats_server_start(ns, 0);
	p.rp_url = ns->ns_url;
	assert_int_equal(roundtrip_run(&p, &r), 0);
	print_result("5-byte frames", &r);
	assert_int_equal(r.rr_frames_in, 300 * 1000);
	p.rp_batches = 40;
	p.rp_frames = 9;
	p.rp_frame_size = 100 * 1024;
	assert_int_equal(roundtrip_run(&p, &r), 0);
	print_result("100 KiB frames", &r);
	assert_int_equal(r.rr_frames_in, 40 * 9);
	assert_int_equal(r.rr_bad, 0);
	nats_server_stop(ns);
}

/* The midway hook: restart the server on its port, from the loop. */
static void
restart_server(void *arg)
{
	struct nats_server	*ns = arg;
	int			 port = ns->ns_port;

	nats_server_stop(ns);
	nats_server_start(ns, port);
	assert_int_equal(ns->ns_port, port);
}

/*
 * The server restarted after the first batch came back: libnats
 * reconnects from its own thread, the adapter moves its events to the
 * new socket on the loop's thread, and the rest of the frames come back
 * in order.  Frames the library held when the connection broke are lost
 * (it empties its buffer on reconnect): they show as a gap in the ids.
 */
static void
test_server_restart(void **state)
{
	struct nats_server	*ns = &server;
	struct roundtrip_params	p = { NULL, 2000, 100, 64, 64 * 1024,
				    HARNESS_TIMEOUT_MS, 1, restart_server,
				    NULL };
	struct roundtrip_result	r;
	int			rc;

	nats_server_start(ns, 0);
	p.rp_url = ns->ns_url;
	p.rp_midway_arg = ns;
	rc = roundtrip_run(&p, &r);
	print_result("server restarted", &r);
	assert_int_equal(rc, 0);
	assert_int_equal(r.rr_bad, 0);
	assert_int_equal(r.rr_off_loop, 0);
	assert_int_equal(r.rr_frames_in + r.rr_lost, 2000 * 100);
	/* A second connection carried the rest, the last frame included. */
	assert_int_equal(r.rr_connects, 2);
	assert_true(r.rr_frames_in > 100);
	nats_server_stop(ns);
}

/*
 * libnats 3.4 leaks a message cut by a disconnect: natsParser_Destroy
 * frees the parser but not a message buffer it allocated (natsBuf_Create)
 * for a message split across reads.  LeakSanitizer's hook, read when the
 * test is built with --enable-sanitizers; no allocation of ours goes
 * through natsBuf_Create (a natsMsg we forget to destroy still shows).
 */
const char	*__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:natsBuf_Create\n";
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_roundtrip, nats_teardown),
		cmocka_unit_test_teardown(test_frame_sizes, nats_teardown),
		cmocka_unit_test_teardown(test_server_restart, nats_teardown),
	};
	int	failed;

	if (roundtrip_init() != 0) {
		fprintf(stderr, "test_natsev: evthread_use_pthreads failed\n");
		return 1;
	}
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	/* The library's own threads and buffers, for the leak checkers. */
	nats_CloseAndWait(HARNESS_TIMEOUT_MS);
	return failed;
}
