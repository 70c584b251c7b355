/*
 * idmap: a cluster's ids and the nodes that own them.  Each node owns a
 * local space of 2^24 ids; the owner of an id is computed from the id
 * alone, with nothing looked up and nothing sent per message.
 *
 * Random mode: id = F_k(node << 24 | local), where F_k is a keyed 32-bit
 * permutation (a Feistel network of IDMAP_ROUNDS rounds whose round
 * function is SipHash-2-4 under a key derived from the cluster's secret);
 * the owner is F_k^-1(id) >> 24.  Without the secret, ids of one node
 * look like ids of any node.  Sequential mode: id = node << 24 | local,
 * and anyone can read the owner from the id's top byte.
 *
 * Id 0 is never a client's id (docs/PROTOCOL.md): the one (node, local)
 * pair that maps to it is not usable, and idmap_encode returns 0 for it.
 * Pure code: no I/O, no allocation (tests/test_idmap.c).
 */
#ifndef MSGROUTER_IDMAP_H
#define MSGROUTER_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#include "msgrouter/registry.h"
#include "msgrouter/siphash.h"

#define IDMAP_NODE_BITS		8
#define IDMAP_NODES		(1u << IDMAP_NODE_BITS)
#define IDMAP_LOCAL_BITS	24
#define IDMAP_WIDTH		(IDMAP_NODE_BITS + IDMAP_LOCAL_BITS)
/* Rounds of the Feistel network: NIST SP 800-38G's FF1 uses 10 too. */
#define IDMAP_ROUNDS		10
/* The shortest secret idmap_init accepts in random mode, in bytes. */
#define IDMAP_SECRET_MIN	16
/* Narrower ids, for tests that walk a whole permutation. */
#define IDMAP_WIDTH_MIN		(IDMAP_NODE_BITS + 2)

struct idmap {
	struct siphash_key	im_key;
	enum id_mode		im_mode;
	unsigned		im_width;	/* bits of an id, even */
	unsigned		im_half;	/* bits of a Feistel half */
	uint32_t		im_half_mask;
	uint32_t		im_local_mask;	/* local ids of a node */
};

/*
 * Set up the map for 32-bit ids.  Random mode needs a secret of at least
 * IDMAP_SECRET_MIN bytes; sequential mode ignores it (NULL is fine).
 * Returns -1 when the secret is too short.
 */
int		idmap_init(struct idmap *, enum id_mode, const void *secret,
		    size_t len);
/*
 * The same with ids of width bits (even, IDMAP_WIDTH_MIN to IDMAP_WIDTH):
 * the node still takes IDMAP_NODE_BITS, local ids the rest.  Tests only.
 */
int		idmap_init_width(struct idmap *, enum id_mode, const void *,
		    size_t, unsigned width);
/*
 * The id of local id local on node node (both masked to their widths), or
 * 0 when that pair is the one that maps to the reserved id 0: the caller
 * picks another local id.
 */
uint32_t	idmap_encode(const struct idmap *, unsigned node, uint32_t local);
/* The node that owns an id, and its local id if local is not NULL. */
unsigned	idmap_decode(const struct idmap *, uint32_t id, uint32_t *local);
/*
 * A 64-bit fingerprint of the secret and the id mode for the heartbeat:
 * equal on two nodes when they map ids the same way, and revealing nothing
 * about the secret (a SipHash output under the derived key).
 */
uint64_t	idmap_fingerprint(const struct idmap *);

#endif
