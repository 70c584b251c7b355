/*
 * Unit tests for clusterproto: the header's exact bytes, round trips of
 * every type, and each malformed message refused with its reason.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "msgrouter/clusterproto.h"

/* A BATCH of two frames (ids 1 and 0x0a0b0c0d) and its header. */
static const uint8_t batch_body[] = {
	0x00, 0x00, 0x00, 0x01, 'h', 'i', 0x00,
	0x0a, 0x0b, 0x0c, 0x0d, 0x00,
};

static size_t
make_batch(uint8_t *msg)
{
	struct clusterproto_header	h = {
		.ch_type = CLUSTERPROTO_BATCH, .ch_from = 3, .ch_to = 250,
		.ch_flags = 0, .ch_epoch = 0x0102030405060708ULL,
		.ch_seq = 0x1112131415161718ULL,
		.ch_frames_before = 0x2122232425262728ULL, .ch_count = 2,
		.ch_length = sizeof batch_body,
	};

	clusterproto_header_put(msg, &h);
	memcpy(msg + CLUSTERPROTO_HEADER_LEN, batch_body, sizeof batch_body);
	return CLUSTERPROTO_HEADER_LEN + sizeof batch_body;
}

/* The layout of docs/CLUSTER.md, byte for byte, big-endian. */
static void
test_header_bytes(void **state)
{
	static const uint8_t want[CLUSTERPROTO_HEADER_LEN] = {
		'M', 'R', 'C', '1', 1, 3, 250, 0,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
		0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
		0x00, 0x00, 0x00, 0x02,
		0x00, 0x00, 0x00, sizeof batch_body,
	};
	uint8_t				msg[128];
	struct clusterproto_header	h;
	size_t				len = make_batch(msg);

	assert_memory_equal(msg, want, sizeof want);
	assert_int_equal(clusterproto_header_get(&h, msg, len),
	    CLUSTERPROTO_OK);
	assert_int_equal(h.ch_type, CLUSTERPROTO_BATCH);
	assert_int_equal(h.ch_from, 3);
	assert_int_equal(h.ch_to, 250);
	assert_int_equal(h.ch_epoch, 0x0102030405060708ULL);
	assert_int_equal(h.ch_seq, 0x1112131415161718ULL);
	assert_int_equal(h.ch_frames_before, 0x2122232425262728ULL);
	assert_int_equal(h.ch_count, 2);
	assert_int_equal(h.ch_length, sizeof batch_body);
}

/* Heartbeat, TICK, PAUSE with FULL: each type reads back as written. */
static void
test_types(void **state)
{
	struct clusterproto_header	h = {
		.ch_type = CLUSTERPROTO_HEARTBEAT, .ch_from = 7,
		.ch_epoch = 99, .ch_seq = 5,
		.ch_length = CLUSTERPROTO_HEARTBEAT_LEN,
	}, g;
	struct clusterproto_heartbeat	hb = { 0xfedcba9876543210ULL,
					    1764547200000ULL, 1000, 3000 }, hb2;
	static const uint8_t		hb_want[CLUSTERPROTO_HEARTBEAT_LEN] = {
		0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
		0x00, 0x00, 0x01, 0x9a, 0xd7, 0x35, 0x84, 0x00,
		0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x0b, 0xb8,
	};
	uint8_t				msg[64];

	clusterproto_header_put(msg, &h);
	clusterproto_heartbeat_put(msg + CLUSTERPROTO_HEADER_LEN, &hb);
	assert_memory_equal(msg + CLUSTERPROTO_HEADER_LEN, hb_want,
	    sizeof hb_want);
	assert_int_equal(clusterproto_header_get(&g, msg,
	    CLUSTERPROTO_HEADER_LEN + CLUSTERPROTO_HEARTBEAT_LEN),
	    CLUSTERPROTO_OK);
	clusterproto_heartbeat_get(&hb2, msg + CLUSTERPROTO_HEADER_LEN);
	assert_memory_equal(&hb, &hb2, sizeof hb);

	memset(&h, 0, sizeof h);
	h.ch_type = CLUSTERPROTO_TICK;
	h.ch_epoch = 1;
	h.ch_frames_before = 12345;
	clusterproto_header_put(msg, &h);
	assert_int_equal(clusterproto_header_get(&g, msg,
	    CLUSTERPROTO_HEADER_LEN), CLUSTERPROTO_OK);
	assert_int_equal(g.ch_frames_before, 12345);

	h.ch_type = CLUSTERPROTO_PAUSE;
	h.ch_flags = CLUSTERPROTO_FLAG_FULL;
	h.ch_count = 2;
	h.ch_length = 8;
	clusterproto_header_put(msg, &h);
	memset(msg + CLUSTERPROTO_HEADER_LEN, 0xab, 8);
	assert_int_equal(clusterproto_header_get(&g, msg,
	    CLUSTERPROTO_HEADER_LEN + 8), CLUSTERPROTO_OK);
	assert_int_equal(g.ch_flags, CLUSTERPROTO_FLAG_FULL);
	assert_int_equal(g.ch_count, 2);

	/* An empty FULL PAUSE: nothing is to be held.  Empty otherwise: no. */
	h.ch_count = 0;
	h.ch_length = 0;
	clusterproto_header_put(msg, &h);
	assert_int_equal(clusterproto_header_get(&g, msg,
	    CLUSTERPROTO_HEADER_LEN), CLUSTERPROTO_OK);
	assert_int_equal(g.ch_count, 0);
	h.ch_flags = 0;
	clusterproto_header_put(msg, &h);
	assert_int_equal(clusterproto_header_get(&g, msg,
	    CLUSTERPROTO_HEADER_LEN), CLUSTERPROTO_BAD_BODY);
	h.ch_type = CLUSTERPROTO_RESUME;
	h.ch_flags = CLUSTERPROTO_FLAG_FULL;
	clusterproto_header_put(msg, &h);
	assert_int_equal(clusterproto_header_get(&g, msg,
	    CLUSTERPROTO_HEADER_LEN), CLUSTERPROTO_BAD_BODY);
}

/* Each malformed message is refused with its own reason. */
static void
test_malformed(void **state)
{
	struct clusterproto_header	h;
	uint8_t				msg[128], bad[128];
	size_t				len = make_batch(msg);

	/* Short, at every length below a header. */
	for (size_t n = 0; n < CLUSTERPROTO_HEADER_LEN; n++)
		assert_int_equal(clusterproto_header_get(&h, msg, n),
		    CLUSTERPROTO_SHORT);
	/* Magic or version. */
	memcpy(bad, msg, len);
	bad[3] = '2';
	assert_int_equal(clusterproto_header_get(&h, bad, len),
	    CLUSTERPROTO_BAD_MAGIC);
	/* Types 0 and 6. */
	memcpy(bad, msg, len);
	bad[4] = 0;
	assert_int_equal(clusterproto_header_get(&h, bad, len),
	    CLUSTERPROTO_BAD_TYPE);
	bad[4] = 6;
	assert_int_equal(clusterproto_header_get(&h, bad, len),
	    CLUSTERPROTO_BAD_TYPE);
	/* Epoch 0. */
	memcpy(bad, msg, len);
	memset(bad + 8, 0, 8);
	assert_int_equal(clusterproto_header_get(&h, bad, len),
	    CLUSTERPROTO_BAD_EPOCH);
	/* One byte more or less than the length says. */
	assert_int_equal(clusterproto_header_get(&h, msg, len - 1),
	    CLUSTERPROTO_BAD_LENGTH);
	assert_int_equal(clusterproto_header_get(&h, msg, len + 1),
	    CLUSTERPROTO_BAD_LENGTH);
	/* A batch not ending in 0x00 (a frame cut). */
	memcpy(bad, msg, len);
	bad[len - 1] = 'x';
	assert_int_equal(clusterproto_header_get(&h, bad, len),
	    CLUSTERPROTO_BAD_BODY);
	/* More frames than the body can hold; none at all. */
	memcpy(bad, msg, len);
	bad[35] = 3;
	assert_int_equal(clusterproto_header_get(&h, bad, len),
	    CLUSTERPROTO_BAD_BODY);
	bad[35] = 0;
	assert_int_equal(clusterproto_header_get(&h, bad, len),
	    CLUSTERPROTO_BAD_BODY);
	/* A TICK with a body; a PAUSE whose ids do not fill it. */
	memcpy(bad, msg, len);
	bad[4] = CLUSTERPROTO_TICK;
	bad[35] = 0;
	assert_int_equal(clusterproto_header_get(&h, bad, len),
	    CLUSTERPROTO_BAD_BODY);
	bad[4] = CLUSTERPROTO_PAUSE;
	bad[35] = 2;	/* 12 bytes: 3 ids, not 2 */
	assert_int_equal(clusterproto_header_get(&h, bad, len),
	    CLUSTERPROTO_BAD_BODY);
	/* A heartbeat of the wrong size. */
	bad[4] = CLUSTERPROTO_HEARTBEAT;
	bad[35] = 0;
	assert_int_equal(clusterproto_header_get(&h, bad, len),
	    CLUSTERPROTO_BAD_BODY);
	assert_string_equal(clusterproto_strerror(CLUSTERPROTO_BAD_BODY),
	    "body does not fit its type");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_bytes),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
