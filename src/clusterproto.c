/*
 * clusterproto: the cluster's message header and heartbeat, big-endian
 * like the client protocol's ids.
 */
#include "config.h"

#include "msgrouter/clusterproto.h"
#include "msgrouter/framing.h"

static void
clusterproto_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
clusterproto_put64(uint8_t *p, uint64_t v)
{
	clusterproto_put32(p, (uint32_t)(v >> 32));
	clusterproto_put32(p + 4, (uint32_t)v);
}

static uint32_t
clusterproto_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
clusterproto_get64(const uint8_t *p)
{
	return (uint64_t)clusterproto_get32(p) << 32 |
	    clusterproto_get32(p + 4);
}

void
clusterproto_header_put(uint8_t *out, const struct clusterproto_header *h)
{
	clusterproto_put32(out, CLUSTERPROTO_MAGIC);
	out[4] = h->ch_type;
	out[5] = h->ch_from;
	out[6] = h->ch_to;
	out[7] = h->ch_flags;
	clusterproto_put64(out + 8, h->ch_epoch);
	clusterproto_put64(out + 16, h->ch_seq);
	clusterproto_put64(out + 24, h->ch_frames_before);
	clusterproto_put32(out + 32, h->ch_count);
	clusterproto_put32(out + 36, h->ch_length);
}

/* Whether a body of the header's length fits its type and count. */
static int
clusterproto_body_ok(const struct clusterproto_header *h,
    const uint8_t *body)
{
	switch (h->ch_type) {
	case CLUSTERPROTO_HEARTBEAT:
		return h->ch_length == CLUSTERPROTO_HEARTBEAT_LEN &&
		    h->ch_count == 0;
	case CLUSTERPROTO_PAUSE:
	case CLUSTERPROTO_RESUME:
		/* A FULL PAUSE may be empty: nothing is to be held. */
		return (h->ch_count > 0 || (h->ch_type == CLUSTERPROTO_PAUSE &&
		    (h->ch_flags & CLUSTERPROTO_FLAG_FULL))) &&
		    h->ch_length / 4 == h->ch_count &&
		    h->ch_length % 4 == 0;
	case CLUSTERPROTO_TICK:
		return h->ch_length == 0 && h->ch_count == 0;
	case CLUSTERPROTO_BATCH:
	default:
		/* count frames take a header and a 0x00 each at least. */
		return h->ch_count > 0 && h->ch_length / FRAMING_MIN_FRAME >=
		    h->ch_count && body[h->ch_length - 1] == 0;
	}
}

enum clusterproto_error
clusterproto_header_get(struct clusterproto_header *h, const uint8_t *msg,
    size_t len)
{
	if (len < CLUSTERPROTO_HEADER_LEN)
		return CLUSTERPROTO_SHORT;
	if (clusterproto_get32(msg) != CLUSTERPROTO_MAGIC)
		return CLUSTERPROTO_BAD_MAGIC;
	h->ch_type = msg[4];
	h->ch_from = msg[5];
	h->ch_to = msg[6];
	h->ch_flags = msg[7];
	h->ch_epoch = clusterproto_get64(msg + 8);
	h->ch_seq = clusterproto_get64(msg + 16);
	h->ch_frames_before = clusterproto_get64(msg + 24);
	h->ch_count = clusterproto_get32(msg + 32);
	h->ch_length = clusterproto_get32(msg + 36);
	if (h->ch_type < CLUSTERPROTO_BATCH || h->ch_type > CLUSTERPROTO_TICK)
		return CLUSTERPROTO_BAD_TYPE;
	if (h->ch_epoch == 0)
		return CLUSTERPROTO_BAD_EPOCH;
	if (h->ch_length != len - CLUSTERPROTO_HEADER_LEN)
		return CLUSTERPROTO_BAD_LENGTH;
	if (!clusterproto_body_ok(h, msg + CLUSTERPROTO_HEADER_LEN))
		return CLUSTERPROTO_BAD_BODY;
	return CLUSTERPROTO_OK;
}

void
clusterproto_heartbeat_put(uint8_t *out,
    const struct clusterproto_heartbeat *hb)
{
	clusterproto_put64(out, hb->hb_fingerprint);
	clusterproto_put64(out + 8, hb->hb_started_ms);
	clusterproto_put32(out + 16, hb->hb_heartbeat_ms);
	clusterproto_put32(out + 20, hb->hb_peer_timeout_ms);
}

void
clusterproto_heartbeat_get(struct clusterproto_heartbeat *hb,
    const uint8_t *body)
{
	hb->hb_fingerprint = clusterproto_get64(body);
	hb->hb_started_ms = clusterproto_get64(body + 8);
	hb->hb_heartbeat_ms = clusterproto_get32(body + 16);
	hb->hb_peer_timeout_ms = clusterproto_get32(body + 20);
}

const char *
clusterproto_strerror(enum clusterproto_error e)
{
	switch (e) {
	case CLUSTERPROTO_OK:
		return "ok";
	case CLUSTERPROTO_SHORT:
		return "shorter than a header";
	case CLUSTERPROTO_BAD_MAGIC:
		return "not a msgrouter cluster message of this version";
	case CLUSTERPROTO_BAD_TYPE:
		return "unknown type";
	case CLUSTERPROTO_BAD_LENGTH:
		return "length does not match the message";
	case CLUSTERPROTO_BAD_BODY:
		return "body does not fit its type";
	case CLUSTERPROTO_BAD_EPOCH:
		return "epoch 0";
	}
	return "unknown error";
}
