/*
 * Unit tests for router_move: what a forwarded frame leaves behind in
 * memory.  Input chains are references to static buffers, so whether a
 * chain was moved to the destination (its extents point into the static
 * buffer) or copied (they do not) is seen exactly.
 */
#include "config.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "msgrouter/conn.h"
#include "msgrouter/framing.h"
#include "msgrouter/router.h"

static char	chain_a[65536], chain_b[65536];
static char	big[3 * 65536];

/* Does any extent of buf lie inside [mem, mem + len)? */
static int
aliases(struct evbuffer *buf, const char *mem, size_t len)
{
	struct evbuffer_iovec	v[64];
	int			n, i;

	n = evbuffer_peek(buf, -1, NULL, v, 64);
	assert_true(n <= 64);
	for (i = 0; i < n; i++) {
		const char *p = v[i].iov_base;
		if (p >= mem && p < mem + len)
			return 1;
	}
	return 0;
}

/* A sender's input and a destination's queue. */
struct fixture {
	struct evbuffer	*in, *out;
};

static int
setup(void **state)
{
	struct fixture	*fx;

	if ((fx = calloc(1, sizeof *fx)) == NULL ||
	    (fx->in = evbuffer_new()) == NULL ||
	    (fx->out = evbuffer_new()) == NULL)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;

	evbuffer_free(fx->in);
	evbuffer_free(fx->out);
	free(fx);
	return 0;
}

#define move_test(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

/*
 * A small frame whose first bytes end one read chain and whose rest
 * starts the next: copied, so the destination holds none of the first
 * chain (64 KiB kept alive for a few queued bytes) nor of the second.
 */
static void
test_small_frame_across_chains(void **state)
{
	struct fixture	*fx = *state;
	struct evbuffer	*in = fx->in, *out = fx->out;
	uint32_t	 be = htonl(42);
	size_t		 fill = sizeof chain_a - 4 - 50;

	/* chain a: [other frame's tail...][header][50 payload bytes] */
	memset(chain_a, 'a', sizeof chain_a);
	memcpy(chain_a + fill, &be, 4);
	/* chain b: [150 payload bytes][0x00][next frame...] */
	memset(chain_b, 'b', sizeof chain_b);
	chain_b[150] = '\0';
	evbuffer_add_reference(in, chain_a, sizeof chain_a, NULL, NULL);
	evbuffer_add_reference(in, chain_b, sizeof chain_b, NULL, NULL);
	evbuffer_drain(in, fill);

	router_move(in, out, 201);
	assert_int_equal(evbuffer_get_length(out), 201);
	assert_int_equal(evbuffer_get_length(in), sizeof chain_b - 151);
	assert_false(aliases(out, chain_a, sizeof chain_a));
	assert_false(aliases(out, chain_b, sizeof chain_b));
	assert_memory_equal(evbuffer_pullup(out, 50), chain_a + fill + 4, 50);
}

/* A small frame that is all of the input: copied too. */
static void
test_small_frame_whole_input(void **state)
{
	struct fixture	*fx = *state;
	struct evbuffer	*in = fx->in, *out = fx->out;
	uint32_t	 be = htonl(7);

	memcpy(chain_a, &be, 4);
	memcpy(chain_a + 4, "hello", 6);
	evbuffer_add_reference(in, chain_a, 10, NULL, NULL);
	router_move(in, out, 6);
	assert_int_equal(evbuffer_get_length(in), 0);
	assert_int_equal(evbuffer_get_length(out), 6);
	assert_false(aliases(out, chain_a, sizeof chain_a));
	assert_memory_equal(evbuffer_pullup(out, 6), "hello", 6);
}

/* A large frame moves its chains: no copy of megabytes of payload. */
static void
test_large_frame_moves(void **state)
{
	struct fixture	*fx = *state;
	struct evbuffer	*in = fx->in, *out = fx->out;
	uint32_t	 be = htonl(9);
	size_t		 len = sizeof big - 4, i;

	memcpy(big, &be, 4);
	memset(big + 4, 'L', len - 1);
	big[sizeof big - 1] = '\0';
	/* Three reference chains of 64 KiB. */
	for (i = 0; i < 3; i++)
		evbuffer_add_reference(in, big + i * 65536, 65536, NULL, NULL);
	assert_true(len >= 2 * CONN_READ_MAX);
	router_move(in, out, len);
	assert_int_equal(evbuffer_get_length(in), 0);
	assert_int_equal(evbuffer_get_length(out), len);
	assert_true(aliases(out, big, sizeof big));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		move_test(test_small_frame_across_chains),
		move_test(test_small_frame_whole_input),
		move_test(test_large_frame_moves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
