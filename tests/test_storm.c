/*
 * Connection storms and resource exhaustion against the real daemon:
 * 10,000 concurrent clients that all get ids and all exchange a message
 * (and the memory one idle connection costs); descriptors running out
 * while the router stays near idle and comes back; the admin port under
 * 1,000 idle connections, oversized headers and a slowloris request while
 * routing goes on.  Counts and bytes are asserted, never durations.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "http_client.h"

#define T	HARNESS_TIMEOUT_MS

/* Raise our descriptor limit (the daemon inherits it); fail if we cannot. */
static void
need_nofile(rlim_t need)
{
	struct rlimit	rl;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur >= need)
		return;
	if (rl.rlim_max < need)
		fprintf(stderr, "RLIMIT_NOFILE hard limit %llu < %llu: raise it "
		    "(ulimit -Hn) to run this test\n",
		    (unsigned long long)rl.rlim_max, (unsigned long long)need);
	assert_true(rl.rlim_max >= need);
	rl.rlim_cur = need;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

/* Close with a reset: thousands of closes leave no TIME_WAIT behind. */
static void
close_reset(int fd)
{
	struct linger	l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	close(fd);
}

static int
connect_to(int port)
{
	struct sockaddr_in	sin;
	int			fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
expect_msg(int fd, const char *payload)
{
	assert_int_equal(tc_expect(fd, payload, strlen(payload) + 1, T), 0);
}

/* Two clients exchange n messages, each checked. */
static void
ping_pong(int a, uint32_t ida, int b, uint32_t idb, int n)
{
	assert_int_equal(tc_ping_pong(a, ida, b, idb, n), 0);
}

/*
 * 10,000 clients at once: every one gets a distinct id, every one sends a
 * message to the next and receives exactly the one from the previous.  The
 * RSS growth per idle connection is printed for docs/PERFORMANCE.md and
 * bounded.
 */
static void
test_ten_thousand(void **state)
{
	enum { N = 10000, BATCH = 500 };
	struct daemon	 d;
	uint32_t	*ids = calloc(N, sizeof *ids);
	int		*fds = calloc(N, sizeof *fds), i, k;
	long		 rss0, rss1;
	char		 msg[32];

	need_nofile(N + 1000);
	assert_int_equal(daemon_start(&d, NULL), 0);
	rss0 = daemon_rss_kb(&d);
	/* In batches: the listen backlog is 1024. */
	for (i = 0; i < N; i += BATCH) {
		for (k = i; k < i + BATCH; k++)
			assert_true((fds[k] = tc_connect_raw(&d)) >= 0);
		for (k = i; k < i + BATCH; k++) {
			assert_int_equal(tc_read_exact(fds[k], &ids[k], 4, T),
			    0);
			ids[k] = ntohl(ids[k]);
		}
	}
	rss1 = daemon_rss_kb(&d);
	fprintf(stderr, "storm: %d idle clients: RSS %ld KiB -> %ld KiB, "
	    "%.2f KiB per connection\n", N, rss0, rss1,
	    (double)(rss1 - rss0) / N);
	if (!harness_wrapped())
		assert_true((rss1 - rss0) / N < 16);

	for (i = 0; i < N; i++) {
		snprintf(msg, sizeof msg, "from %d", i);
		assert_int_equal(tc_send(fds[i], ids[(i + 1) % N], msg), 0);
	}
	for (i = 0; i < N; i++) {
		snprintf(msg, sizeof msg, "from %d", (i + N - 1) % N);
		expect_msg(fds[i], msg);
	}
	for (i = 0; i < N; i++)
		close_reset(fds[i]);
	assert_int_equal(daemon_stop(&d, SIGTERM, T), 0);
	assert_int_equal(daemon_log_value(&d, "final counters", "accepted"), N);
	assert_int_equal(daemon_log_value(&d, "final counters", "forwarded"),
	    N);
	assert_int_equal(daemon_log_value(&d, "final counters", "rejected"), 0);
	unlink(d.log_path);
	free(ids);
	free(fds);
}

/*
 * Out of descriptors: while connections wait that the router cannot
 * accept, it sits in its back-off, cycle after cycle, using next to no CPU
 * (a level-triggered listener retrying at once would burn a core); it
 * keeps routing, and everyone waiting gets an id once clients leave.  The
 * wait is on back-off cycles counted in the log, the bound on CPU ticks.
 */
static void
test_emfile_idle(void **state)
{
	static const char *args[] = { "--admin", "127.0.0.1:0", NULL };
	enum { N = 60, CYCLES = 8 };
	struct rlimit	 saved, low;
	struct daemon	 d;
	uint32_t	 ida, idb, id;
	long long	 ticks0, ticks1;
	int		 fd[N], adm[8], i, a, b, rc;

	/* Not under valgrind: see test_emfile in test_routing.c. */
	if (harness_wrapped())
		skip();
	getrlimit(RLIMIT_NOFILE, &saved);
	low = saved;
	low.rlim_cur = 40;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	rc = daemon_start(&d, args);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_int_equal(rc, 0);

	a = tc_connect(&d, &ida);
	b = tc_connect(&d, &idb);
	assert_true(a >= 0 && b >= 0);
	for (i = 0; i < N; i++)
		assert_true((fd[i] = tc_connect_raw(&d)) >= 0);
	/* The admin port runs out too. */
	for (i = 0; i < 8; i++)
		assert_true((adm[i] = connect_to(d.admin_port)) >= 0);
	assert_int_equal(daemon_wait_log(&d, "pausing accept for", 1, T), 0);
	ticks0 = daemon_cpu_ticks(&d);
	assert_int_equal(daemon_wait_log(&d, "pausing accept for", 1 + CYCLES,
	    T), 0);
	ticks1 = daemon_cpu_ticks(&d);
	fprintf(stderr, "emfile: %d back-off cycles took %lld CPU ticks\n",
	    CYCLES, ticks1 - ticks0);
	/* 8 cycles are about 2 s: a spinning listener would take ~200. */
	if (!harness_wrapped())
		assert_true(ticks1 - ticks0 < 50);
	ping_pong(a, ida, b, idb, 20);

	for (i = 0; i < 8; i++)
		close(adm[i]);
	/* Leave, one by one: each departure lets a waiting one in. */
	for (i = 0; i < N; i++) {
		assert_int_equal(tc_read_exact(fd[i], &id, 4, T), 0);
		close(fd[i]);
	}
	ping_pong(a, ida, b, idb, 5);
	close(a);
	close(b);
	assert_int_equal(daemon_stop(&d, SIGTERM, T), 0);
	assert_int_equal(daemon_log_value(&d, "final counters", "accepted"),
	    N + 2);
	/* About 4 failures per cycle at most, not thousands. */
	assert_true(daemon_log_value(&d, "final counters", "accept_errors") <
	    200);
	unlink(d.log_path);
}

/*
 * The admin port under abuse: 1,000 idle connections, a request with 16 KiB
 * of headers and a slowloris request trickling a byte at a time.  Routing
 * goes on meanwhile; the connections past the admin cap are closed at
 * once, the rest by the idle timeout, the slowloris by the deadline before
 * it is done; the daemon's memory stays bounded; /stats answers after.
 */
static void
test_admin_abuse(void **state)
{
	static const char *args[] = { "--admin", "127.0.0.1:0", NULL };
	enum { IDLE = 1000 };
	static const char slow[] = "GET /stats HTTP/1.1\r\nHost: x\r\n"
	    "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\r\n\r\n";
	struct daemon		 d;
	struct http_response	 r;
	struct pollfd		*pfd = calloc(IDLE + 1, sizeof *pfd);
	uint32_t		 ida, idb;
	long			 rss0, rss1;
	long long		 deadline;
	size_t			 slow_sent = 0;
	char			*big, buf[4096], *hdrs;
	int			 a, b, i, open_idle, slow_fd, closed_early;
	ssize_t			 n;

	need_nofile(IDLE + 200);
	assert_int_equal(daemon_start(&d, args), 0);
	a = tc_connect(&d, &ida);
	b = tc_connect(&d, &idb);
	ping_pong(a, ida, b, idb, 10);
	rss0 = daemon_rss_kb(&d);

	for (i = 0; i < IDLE; i++) {
		pfd[i].fd = connect_to(d.admin_port);
		assert_true(pfd[i].fd >= 0);
		pfd[i].events = POLLIN;
	}
	slow_fd = connect_to(d.admin_port);
	/* Oversized headers: refused, never served. */
	hdrs = malloc(16 * 1024 + 64);
	big = hdrs;
	memcpy(big, "X-Big: ", 7);
	memset(big + 7, 'b', 16 * 1024);
	memcpy(big + 7 + 16 * 1024, "\r\n", 3);
	(void)http_request(d.admin_port, "GET", "/stats", hdrs, &r, T);
	assert_true(r.status != 200);
	http_response_free(&r);
	free(hdrs);
	ping_pong(a, ida, b, idb, 50);

	/* Those past the cap are closed at once; read their EOFs. */
	deadline = tc_now_ms() + 3 * T;
	open_idle = IDLE;
	closed_early = 0;
	while ((open_idle > 0 || slow_fd != -1) && tc_now_ms() < deadline) {
		if (slow_fd != -1 && slow_sent < sizeof slow - 1) {
			if (write(slow_fd, slow + slow_sent, 1) == 1)
				slow_sent++;
		}
		if (slow_fd != -1) {
			struct pollfd sp = { .fd = slow_fd, .events = POLLIN };
			if (poll(&sp, 1, 0) == 1 &&
			    read(slow_fd, buf, sizeof buf) <= 0) {
				close(slow_fd);
				slow_fd = -1;
			}
		}
		if (poll(pfd, IDLE, 100) < 0)
			continue;
		for (i = 0; i < IDLE; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			n = read(pfd[i].fd, buf, sizeof buf);
			if (n <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_idle--;
			}
		}
		if (closed_early == 0 && open_idle <= 64) {
			closed_early = IDLE - open_idle;
			/* Routing is not held up by any of it. */
			ping_pong(a, ida, b, idb, 20);
			rss1 = daemon_rss_kb(&d);
			fprintf(stderr, "admin abuse: RSS %ld KiB -> %ld KiB "
			    "with %d connections refused\n", rss0, rss1,
			    closed_early);
			if (!harness_wrapped())
				assert_true(rss1 - rss0 < 8 * 1024);
		}
	}
	assert_int_equal(open_idle, 0);
	assert_true(closed_early >= IDLE - 64);
	/* The slowloris was cut before its request was complete. */
	assert_int_equal(slow_fd, -1);
	assert_true(slow_sent < sizeof slow - 1);

	assert_int_equal(http_request(d.admin_port, "GET", "/stats", NULL, &r,
	    T), 0);
	assert_int_equal(r.status, 200);
	http_response_free(&r);
	ping_pong(a, ida, b, idb, 10);
	close(a);
	close(b);
	assert_int_equal(daemon_stop(&d, SIGTERM, T), 0);
	assert_int_equal(daemon_log_value(&d, "final counters", "forwarded"),
	    2 * 90);
	unlink(d.log_path);
	free(pfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ten_thousand),
		cmocka_unit_test(test_emfile_idle),
		cmocka_unit_test(test_admin_abuse),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
