/*
 * registry: ids to connections.  An open-addressing hash table (linear
 * probing, backward-shift deletion) of pointers, keyed by the 32-bit id each
 * entry carries itself, plus id allocation in random or sequential mode.
 */
#ifndef MSGROUTER_REGISTRY_H
#define MSGROUTER_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

enum id_mode {
	ID_MODE_RANDOM = 0,
	ID_MODE_SEQUENTIAL,
};

struct registry;

/*
 * The registry does not know what it stores: the registry_key_fn given to
 * registry_new returns an entry's id.  Entries must not change id while
 * registered.
 */
typedef uint32_t (*registry_key_fn)(const void *);

struct registry	*registry_new(registry_key_fn);
void		 registry_free(struct registry *);
/* Insert an entry whose id is not in use; -1 on allocation failure. */
int		 registry_add(struct registry *, void *);
/* Remove the entry with this id; returns it, or NULL. */
void		*registry_remove(struct registry *, uint32_t);
/* The entry with this id, or NULL. */
void		*registry_find(const struct registry *, uint32_t);
size_t		 registry_count(const struct registry *);
/*
 * Pick a fresh non-zero id that no entry holds.  Random mode draws from
 * libevent's CSPRNG; sequential mode counts 1, 2, 3... skipping ids in use
 * and never reusing one before the 32-bit space wraps.
 */
uint32_t	 registry_next_id(struct registry *, enum id_mode);
struct idmap;
/*
 * The same for a node of a cluster: a fresh id of node (idmap_decode gives
 * node back), from a random local id (random mode) or the next local id of
 * a counter over 1..2^24-1 (sequential mode; the counter is the one
 * registry_seed_sequential sets), skipping locals in use and the pair that
 * maps to the reserved id 0.  The registry holds only this node's ids.
 */
uint32_t	 registry_next_local_id(struct registry *, const struct idmap *,
		    unsigned node);
/* Make the next sequential id last + 1 (tests reach the wrap with it). */
void		 registry_seed_sequential(struct registry *, uint32_t last);
/*
 * Visit entries in table order starting at slot *cursor; fills at most max
 * entries into out and sets *cursor to where the next call resumes (0 when
 * the walk is complete).  Every entry is visited once while none is added or
 * removed.
 */
size_t		 registry_walk(const struct registry *, size_t *cursor,
		    void **out, size_t max);

#endif
