/*
 * registry: the id table.  Slots hold entry pointers only; the id lives in
 * the entry, so a slot costs 8 bytes and the table stays at most half full.
 */
#include "config.h"

#include <stdlib.h>

#include <event2/util.h>

#include "msgrouter/hash.h"
#include "msgrouter/idmap.h"
#include "msgrouter/registry.h"

#define REGISTRY_MIN_SLOTS	64

struct registry {
	void		**rg_slots;
	size_t		  rg_mask;	/* slots - 1, slots a power of two */
	size_t		  rg_count;
	uint32_t	  rg_seq;	/* last sequential id handed out */
	registry_key_fn	  rg_key;
};

struct registry *
registry_new(registry_key_fn key)
{
	struct registry	*rg;

	if ((rg = calloc(1, sizeof *rg)) == NULL)
		return NULL;
	if ((rg->rg_slots = calloc(REGISTRY_MIN_SLOTS, sizeof *rg->rg_slots))
	    == NULL) {
		free(rg);
		return NULL;
	}
	rg->rg_mask = REGISTRY_MIN_SLOTS - 1;
	rg->rg_key = key;
	return rg;
}

void
registry_free(struct registry *rg)
{
	if (rg == NULL)
		return;
	free(rg->rg_slots);
	free(rg);
}

/* Place an entry into a table known to have room and not to hold its id. */
static void
registry_place(void **slots, size_t mask, registry_key_fn key, void *e)
{
	size_t	i = hash_u64(key(e)) & mask;

	while (slots[i] != NULL)
		i = (i + 1) & mask;
	slots[i] = e;
}

/* Rehash into a table of nslots slots. */
static int
registry_resize(struct registry *rg, size_t nslots)
{
	void	**slots;
	size_t	  i;

	if ((slots = calloc(nslots, sizeof *slots)) == NULL)
		return -1;
	for (i = 0; i <= rg->rg_mask; i++) {
		if (rg->rg_slots[i] != NULL)
			registry_place(slots, nslots - 1, rg->rg_key,
			    rg->rg_slots[i]);
	}
	free(rg->rg_slots);
	rg->rg_slots = slots;
	rg->rg_mask = nslots - 1;
	return 0;
}

int
registry_add(struct registry *rg, void *e)
{
	/* Keep the load at or under one half: probes stay short. */
	if ((rg->rg_count + 1) * 2 > rg->rg_mask + 1 &&
	    registry_resize(rg, (rg->rg_mask + 1) * 2) != 0)
		return -1;
	registry_place(rg->rg_slots, rg->rg_mask, rg->rg_key, e);
	rg->rg_count++;
	return 0;
}

void *
registry_find(const struct registry *rg, uint32_t id)
{
	size_t	 i = hash_u64(id) & rg->rg_mask;
	void	*e;

	while ((e = rg->rg_slots[i]) != NULL) {
		if (rg->rg_key(e) == id)
			return e;
		i = (i + 1) & rg->rg_mask;
	}
	return NULL;
}

void *
registry_remove(struct registry *rg, uint32_t id)
{
	size_t	 i = hash_u64(id) & rg->rg_mask, j, home;
	void	*e, *found;

	while ((found = rg->rg_slots[i]) != NULL) {
		if (rg->rg_key(found) == id)
			break;
		i = (i + 1) & rg->rg_mask;
	}
	if (found == NULL)
		return NULL;

	/*
	 * Backward-shift deletion: move later members of the probe run into
	 * the hole when their home slot does not lie cyclically in (i, j].
	 */
	j = i;
	for (;;) {
		j = (j + 1) & rg->rg_mask;
		if ((e = rg->rg_slots[j]) == NULL)
			break;
		home = hash_u64(rg->rg_key(e)) & rg->rg_mask;
		if (hash_stays(i, home, j))
			continue;
		rg->rg_slots[i] = e;
		i = j;
	}
	rg->rg_slots[i] = NULL;
	rg->rg_count--;

	/* Shrink when a quarter full at most, so memory follows load. */
	if (rg->rg_mask + 1 > REGISTRY_MIN_SLOTS &&
	    rg->rg_count * 8 <= rg->rg_mask + 1)
		(void)registry_resize(rg, (rg->rg_mask + 1) / 2);
	return found;
}

size_t
registry_count(const struct registry *rg)
{
	return rg->rg_count;
}

uint32_t
registry_next_id(struct registry *rg, enum id_mode mode)
{
	uint32_t	id;

	for (;;) {
		if (mode == ID_MODE_SEQUENTIAL)
			id = ++rg->rg_seq;
		else
			evutil_secure_rng_get_bytes(&id, sizeof id);
		if (id != 0 && registry_find(rg, id) == NULL)
			return id;
	}
}

uint32_t
registry_next_local_id(struct registry *rg, const struct idmap *im,
    unsigned node)
{
	uint32_t	local, id;

	for (;;) {
		if (im->im_mode == ID_MODE_SEQUENTIAL)
			local = ++rg->rg_seq & im->im_local_mask;
		else {
			evutil_secure_rng_get_bytes(&local, sizeof local);
			local &= im->im_local_mask;
		}
		/* Encode is a bijection: an id in use is a local in use. */
		if (local != 0 && (id = idmap_encode(im, node, local)) != 0 &&
		    registry_find(rg, id) == NULL)
			return id;
	}
}

void
registry_seed_sequential(struct registry *rg, uint32_t last)
{
	rg->rg_seq = last;
}

size_t
registry_walk(const struct registry *rg, size_t *cursor, void **out,
    size_t max)
{
	size_t	i, n = 0;

	for (i = *cursor; i <= rg->rg_mask && n < max; i++) {
		if (rg->rg_slots[i] != NULL)
			out[n++] = rg->rg_slots[i];
	}
	*cursor = i > rg->rg_mask ? 0 : i;
	return n;
}
