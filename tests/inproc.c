/*
 * inproc: a router in the test's process with clients on socketpairs.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/util.h>

#include "msgrouter/config.h"
#include "msgrouter/conn.h"
#include "msgrouter/router.h"

#include "harness.h"
#include "inproc.h"

struct inproc *
inproc_new(const struct config *cf)
{
	struct inproc	*ip;
	struct config	 defaults;

	if (cf == NULL) {
		config_defaults(&defaults);
		cf = &defaults;
	}
	assert_non_null(ip = calloc(1, sizeof *ip));
	assert_non_null(ip->ip_base = event_base_new());
	assert_non_null(ip->ip_rt = router_new(ip->ip_base, cf));
	return ip;
}

void
inproc_free(struct inproc *ip)
{
	if (ip == NULL)
		return;
	router_free(ip->ip_rt);
	event_base_free(ip->ip_base);
	free(ip);
}

void
inproc_attach(struct inproc *ip, struct inproc_client *ic, int bufsz)
{
	struct sockaddr_in	sin;
	int			sv[2], i;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (i = 0; bufsz > 0 && i < 2; i++) {
		assert_int_equal(setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF,
		    &bufsz, sizeof bufsz), 0);
		assert_int_equal(setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF,
		    &bufsz, sizeof bufsz), 0);
	}
	assert_int_equal(evutil_make_socket_nonblocking(sv[0]), 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(ic, 0, sizeof *ic);
	ic->ic_fd = sv[1];
	assert_non_null(ic->ic_conn = router_attach(ip->ip_rt, sv[0],
	    (struct sockaddr *)&sin, sizeof sin));
}

void
inproc_connect(struct inproc *ip, struct inproc_client *ic, int bufsz)
{
	uint32_t	be;

	inproc_attach(ip, ic, bufsz);
	router_flush(ip->ip_rt);
	assert_int_equal(read(ic->ic_fd, &be, sizeof be), (ssize_t)sizeof be);
	ic->ic_id = ntohl(be);
	assert_int_equal(ic->ic_id, ic->ic_conn->cn_id);
}

static void
inproc_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	*(int *)arg = 1;
}

void
inproc_run_until_at(struct inproc *ip, int (*done)(void *), void *arg,
    const char *file, int line)
{
	struct event	*deadline;
	struct timeval	 tv;
	int		 ms = HARNESS_TIMEOUT_MS, late = 0;

	/* The timer is what wakes a pass that nothing else would. */
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	assert_non_null(deadline = evtimer_new(ip->ip_base,
	    inproc_deadline_cb, &late));
	assert_int_equal(evtimer_add(deadline, &tv), 0);
	while (!done(arg) && !late)
		assert_int_not_equal(event_base_loop(ip->ip_base,
		    EVLOOP_ONCE), -1);
	event_free(deadline);
	if (late && !done(arg))
		fail_msg("%s:%d: not done within %d ms", file, line, ms);
}

struct inproc_count {
	const uint64_t	*counter;
	uint64_t	 want;
};

static int
inproc_count_reached(void *arg)
{
	struct inproc_count	*ic = arg;

	return *ic->counter >= ic->want;
}

void
inproc_run_until_count_at(struct inproc *ip, const uint64_t *counter,
    uint64_t want, const char *file, int line)
{
	struct inproc_count	ic = { counter, want };

	inproc_run_until_at(ip, inproc_count_reached, &ic, file, line);
	if (*counter != want)
		fail_msg("%s:%d: the count is %llu, not %llu", file, line,
		    (unsigned long long)*counter, (unsigned long long)want);
}
