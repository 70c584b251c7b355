/*
 * clusterproto: the messages nodes of a cluster exchange over NATS
 * (docs/CLUSTER.md, "Subjects and messages"): the 40-byte header every
 * message starts with, and the heartbeat's body.  Pure code: bytes in,
 * values out, every malformed case named (tests/test_clusterproto.c).
 * Not used by the daemon yet.
 */
#ifndef MSGROUTER_CLUSTERPROTO_H
#define MSGROUTER_CLUSTERPROTO_H

#include <stddef.h>
#include <stdint.h>

#define CLUSTERPROTO_MAGIC		0x4d524331u	/* "MRC1" */
#define CLUSTERPROTO_HEADER_LEN		40
#define CLUSTERPROTO_HEARTBEAT_LEN	24
/* flags: a PAUSE that is the complete set its sender holds paused. */
#define CLUSTERPROTO_FLAG_FULL		0x01

enum clusterproto_type {
	CLUSTERPROTO_BATCH = 1,		/* frames, unchanged */
	CLUSTERPROTO_HEARTBEAT = 2,	/* on <name>.hb */
	CLUSTERPROTO_PAUSE = 3,		/* ids: hold your senders */
	CLUSTERPROTO_RESUME = 4,	/* ids: let them go */
	CLUSTERPROTO_TICK = 5,		/* the link's counters, no body */
};

struct clusterproto_header {
	uint8_t		ch_type;	/* enum clusterproto_type */
	uint8_t		ch_from;	/* sender's node */
	uint8_t		ch_to;		/* receiver's node; HEARTBEAT: 0 */
	uint8_t		ch_flags;
	uint64_t	ch_epoch;	/* sender's, random, non-zero */
	uint64_t	ch_seq;		/* message number on the link */
	uint64_t	ch_frames_before; /* frames the link carried before */
	uint32_t	ch_count;	/* frames or ids in the body */
	uint32_t	ch_length;	/* body bytes */
};

struct clusterproto_heartbeat {
	uint64_t	hb_fingerprint;	/* idmap_fingerprint() */
	uint64_t	hb_started_ms;	/* Unix time, shown only */
	uint32_t	hb_heartbeat_ms;
	uint32_t	hb_peer_timeout_ms;
};

/* Why a message was refused; CLUSTERPROTO_OK when it was not. */
enum clusterproto_error {
	CLUSTERPROTO_OK = 0,
	CLUSTERPROTO_SHORT,		/* fewer bytes than a header */
	CLUSTERPROTO_BAD_MAGIC,		/* not ours, or another version */
	CLUSTERPROTO_BAD_TYPE,
	CLUSTERPROTO_BAD_LENGTH,	/* length is not what follows */
	CLUSTERPROTO_BAD_BODY,		/* the body does not fit the type */
	CLUSTERPROTO_BAD_EPOCH,		/* epoch 0 */
};

/* Write the header into out (CLUSTERPROTO_HEADER_LEN bytes). */
void	clusterproto_header_put(uint8_t *out,
	    const struct clusterproto_header *);
/*
 * Read and check the header of a message of len bytes: the magic and
 * version, the type, a non-zero epoch, ch_length equal to the bytes after
 * the header, and the body's size for its type (HEARTBEAT: 24 bytes;
 * PAUSE, RESUME: 4 per id; TICK: none; BATCH: at least one byte per
 * frame's header and 0x00, ending in 0x00).  The frames of a BATCH are
 * checked by whoever routes them.
 */
enum clusterproto_error clusterproto_header_get(
	    struct clusterproto_header *, const uint8_t *msg, size_t len);
/* The heartbeat's body (CLUSTERPROTO_HEARTBEAT_LEN bytes). */
void	clusterproto_heartbeat_put(uint8_t *out,
	    const struct clusterproto_heartbeat *);
void	clusterproto_heartbeat_get(struct clusterproto_heartbeat *,
	    const uint8_t *body);
/* A short name for an error, for log lines. */
const char *clusterproto_strerror(enum clusterproto_error);

#endif
