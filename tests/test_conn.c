/*
 * Unit tests for a connection's read path on a socketpair: conn_new,
 * conn_read_cb, router_input and the flush, without a listener.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "msgrouter/config.h"
#include "msgrouter/conn.h"
#include "msgrouter/log.h"
#include "msgrouter/router.h"

/*
 * A client sends a message to itself and goes away before reading it.
 * Routing it queues it to the sender, the flush at the end of routing gets
 * EPIPE and closes the sender; the read callback that routed must not
 * touch the freed connection afterwards (it did, found by fuzz_router:
 * a use after free that ASan reports here).
 */
static void
test_self_message_then_gone(void **state)
{
	struct event_base	*base = event_base_new();
	struct sockaddr_in	 sin;
	struct router		*rt;
	struct config		 cf;
	struct conn		*c;
	unsigned char		 frame[8];
	uint32_t		 be;
	int			 sv[2], i;

	config_defaults(&cf);
	assert_non_null(base);
	assert_non_null(rt = router_new(base, &cf));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	assert_non_null(c = conn_new(rt, sv[0], (struct sockaddr *)&sin,
	    sizeof sin));
	router_flush(rt);
	be = htonl(c->cn_id);
	memcpy(frame, &be, 4);
	memcpy(frame + 4, "hi", 3);
	assert_int_equal(write(sv[1], frame, 7), 7);
	close(sv[1]);
	for (i = 0; i < 4; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	/* The sender is gone, closed once, and its frame was counted. */
	assert_int_equal(router_queued_bytes(rt), 0);
	assert_true(TAILQ_EMPTY(&rt->rt_conns));
	assert_int_equal(rt->rt_stats.st_frames, 1);
	assert_int_equal(rt->rt_stats.st_forwarded, 1);
	router_free(rt);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self_message_then_gone),
	};

	log_init(LOG_LEVEL_ERROR);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
