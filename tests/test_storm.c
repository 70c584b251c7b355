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

	harness_need_nofile(N + 1000);
	harness_start(&d, NULL);
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
		tc_expect_msg(fds[i], msg);
	}
	for (i = 0; i < N; i++)
		tc_close_reset(fds[i]);
	harness_stop(&d);
	harness_expect_counters(&d, (const struct counter_want[]){
	    { "accepted", N }, { "forwarded", N }, { "rejected", 0 },
	    { NULL, 0 } });
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
	struct pair	 p;
	uint32_t	 id;
	struct http_response r;
	const char	*v;
	long long	 ticks0, ticks1, errors;
	int		 fd[N], adm[8], i;

	/* Not under valgrind: see test_emfile in test_routing.c. */
	if (harness_wrapped())
		skip();
	pair_open_nofile(&p, args, 40);
	for (i = 0; i < N; i++)
		assert_true((fd[i] = tc_connect_raw(&p.d)) >= 0);
	/* The admin port runs out too. */
	for (i = 0; i < 8; i++)
		assert_true((adm[i] = tc_connect_port(p.d.admin_port)) >= 0);
	harness_wait_log(&p.d, "pausing accept for", 1);
	ticks0 = daemon_cpu_ticks(&p.d);
	harness_wait_log(&p.d, "pausing accept for", 1 + CYCLES);
	ticks1 = daemon_cpu_ticks(&p.d);
	fprintf(stderr, "emfile: %d back-off cycles took %lld CPU ticks\n",
	    CYCLES, ticks1 - ticks0);
	/* 8 cycles are about 2 s: a spinning listener would take ~200. */
	if (!harness_wrapped())
		assert_true(ticks1 - ticks0 < 50);
	tc_ping_pong(p.a, p.ida, p.b, p.idb, 20);

	for (i = 0; i < 8; i++)
		close(adm[i]);
	/* Leave, one by one: each departure lets a waiting one in. */
	for (i = 0; i < N; i++) {
		assert_int_equal(tc_read_exact(fd[i], &id, 4, T), 0);
		close(fd[i]);
	}
	tc_ping_pong(p.a, p.ida, p.b, p.idb, 5);
	/* /stats shows the failures the log counts (the monitoring alert). */
	assert_int_equal(http_request(p.d.admin_port, "GET", "/stats", NULL, &r,
	    T), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(v = strstr(r.body, "\"accept_errors_total\":"));
	errors = strtoll(v + strlen("\"accept_errors_total\":"), NULL, 10);
	http_response_free(&r);
	assert_true(errors > 0);
	close(p.a);
	close(p.b);
	harness_stop(&p.d);
	assert_int_equal(daemon_counter(&p.d, "accepted"), N + 2);
	assert_int_equal(daemon_counter(&p.d, "accept_errors"), errors);
	/* About 4 failures per cycle at most, not thousands. */
	assert_true(errors < 200);
}

/* The admin port's abusers: idle connections and a slowloris request. */
#define ABUSE_IDLE	1000
/* What the admin port holds: its cap of 64 and the /healthz reserve of 8. */
#define ABUSE_HELD	72

struct abuse {
	struct pollfd	idle[ABUSE_IDLE];
	int		open_idle;	/* idle ones not closed yet */
	int		closed_early;	/* closed when ABUSE_HELD or fewer left */
	int		slow_fd;	/* the slowloris, -1 once cut */
	size_t		slow_sent;
	long long	slow_last;	/* tc_now_ms() of its last byte */
};

static const char abuse_slow[] = "GET /stats HTTP/1.1\r\nHost: x\r\n"
    "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "\r\n\r\n";

/* Open the idle connections and the slowloris on the admin port. */
static void
abuse_open(struct abuse *ab, int port)
{
	int	i;

	for (i = 0; i < ABUSE_IDLE; i++) {
		ab->idle[i].fd = tc_connect_port(port);
		assert_true(ab->idle[i].fd >= 0);
		ab->idle[i].events = POLLIN;
	}
	ab->open_idle = ABUSE_IDLE;
	ab->slow_fd = tc_connect_port(port);
}

/* A request with 16 KiB of headers: refused, never served. */
static void
abuse_big_headers(int port)
{
	struct http_response	 r;
	char			*hdrs;

	assert_non_null(hdrs = malloc(16 * 1024 + 64));
	memcpy(hdrs, "X-Big: ", 7);
	memset(hdrs + 7, 'b', 16 * 1024);
	memcpy(hdrs + 7 + 16 * 1024, "\r\n", 3);
	(void)http_request(port, "GET", "/stats", hdrs, &r, T);
	assert_true(r.status != 200);
	http_response_free(&r);
	free(hdrs);
}

/*
 * One more byte of the slowloris request, at most every 100 ms (the whole
 * request takes 16 s, past the admin's 10 s deadline, however fast the
 * loop turns); close it once the daemon has.
 */
static void
abuse_slow_step(struct abuse *ab)
{
	struct pollfd	sp = { .fd = ab->slow_fd, .events = POLLIN };
	char		buf[4096];
	long long	now = tc_now_ms();

	if (ab->slow_fd == -1)
		return;
	if (ab->slow_sent < sizeof abuse_slow - 1 &&
	    now - ab->slow_last >= 100 &&
	    write(ab->slow_fd, abuse_slow + ab->slow_sent, 1) == 1) {
		ab->slow_sent++;
		ab->slow_last = now;
	}
	if (poll(&sp, 1, 0) == 1 && read(ab->slow_fd, buf, sizeof buf) <= 0) {
		close(ab->slow_fd);
		ab->slow_fd = -1;
	}
}

/* Wait up to 100 ms for idle connections the daemon closed; close ours. */
static void
abuse_idle_step(struct abuse *ab)
{
	char	buf[4096];
	int	i;

	if (poll(ab->idle, ABUSE_IDLE, 100) < 0)
		return;
	for (i = 0; i < ABUSE_IDLE; i++) {
		if (ab->idle[i].fd < 0 || ab->idle[i].revents == 0)
			continue;
		if (read(ab->idle[i].fd, buf, sizeof buf) <= 0) {
			close(ab->idle[i].fd);
			ab->idle[i].fd = -1;
			ab->open_idle--;
		}
	}
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
	struct daemon		 d;
	struct http_response	 r;
	struct abuse		*ab = calloc(1, sizeof *ab);
	uint32_t		 ida, idb;
	long			 rss0, rss1;
	long long		 deadline;
	int			 a, b;

	assert_non_null(ab);
	harness_need_nofile(ABUSE_IDLE + 200);
	harness_start(&d, args);
	assert_true((a = tc_connect(&d, &ida)) >= 0);
	assert_true((b = tc_connect(&d, &idb)) >= 0);
	tc_ping_pong(a, ida, b, idb, 10);
	rss0 = daemon_rss_kb(&d);
	abuse_open(ab, d.admin_port);
	abuse_big_headers(d.admin_port);
	tc_ping_pong(a, ida, b, idb, 50);

	/* Those past the cap are closed at once; read their EOFs. */
	deadline = tc_now_ms() + 3 * T;
	while ((ab->open_idle > 0 || ab->slow_fd != -1) &&
	    tc_now_ms() < deadline) {
		abuse_slow_step(ab);
		abuse_idle_step(ab);
		if (ab->closed_early == 0 && ab->open_idle <= ABUSE_HELD) {
			ab->closed_early = ABUSE_IDLE - ab->open_idle;
			/* Routing is not held up by any of it. */
			tc_ping_pong(a, ida, b, idb, 20);
			rss1 = daemon_rss_kb(&d);
			fprintf(stderr, "admin abuse: RSS %ld KiB -> %ld KiB "
			    "with %d connections refused\n", rss0, rss1,
			    ab->closed_early);
			if (!harness_wrapped())
				assert_true(rss1 - rss0 < 8 * 1024);
		}
	}
	assert_int_equal(ab->open_idle, 0);
	assert_true(ab->closed_early >= ABUSE_IDLE - ABUSE_HELD);
	/* The slowloris was cut before its request was complete. */
	assert_int_equal(ab->slow_fd, -1);
	assert_true(ab->slow_sent < sizeof abuse_slow - 1);

	assert_int_equal(http_request(d.admin_port, "GET", "/stats", NULL, &r,
	    T), 0);
	assert_int_equal(r.status, 200);
	http_response_free(&r);
	tc_ping_pong(a, ida, b, idb, 10);
	close(a);
	close(b);
	harness_stop(&d);
	assert_int_equal(daemon_counter(&d, "forwarded"), 2 * 90);
	free(ab);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_ten_thousand),
		harness_unit_test(test_emfile_idle),
		harness_unit_test(test_admin_abuse),
	};

	harness_init();
	return harness_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
