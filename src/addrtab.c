/*
 * addrtab: per source address records (live connections, unknown ids, a
 * ban) in one fixed array: open addressing, linear probing, backward-shift
 * deletion, SipHash under a per-process key.  The eviction rule is in
 * addrtab.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgrouter/addrtab.h"
#include "msgrouter/hash.h"
#include "msgrouter/siphash.h"

struct addrtab {
	struct addrtab_entry	*at_slots;
	size_t			 at_mask;	/* capacity - 1 (a power of 2) */
	size_t			 at_count;
	size_t			 at_limit;	/* entries at most */
	uint64_t		 at_seed0, at_seed1;
};

int
addrtab_key(const struct sockaddr *sa, struct addrtab_key *k)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint8_t			*b;
	uint64_t			 p = 0;
	int				 i;

	memset(k, 0, sizeof *k);
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		k->ak_family = AF_INET;
		k->ak_prefix = ntohl(sin->sin_addr.s_addr);
		return 0;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		b = sin6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			k->ak_family = AF_INET;
			k->ak_prefix = (uint64_t)b[12] << 24 |
			    (uint64_t)b[13] << 16 | (uint64_t)b[14] << 8 | b[15];
			return 0;
		}
		for (i = 0; i < 8; i++)
			p = p << 8 | b[i];
		k->ak_family = AF_INET6;
		k->ak_prefix = p;
		return 0;
	default:
		return -1;
	}
}

const char *
addrtab_format(const struct addrtab_key *k, char *buf, size_t len)
{
	struct in_addr	in;
	struct in6_addr	in6;
	char		a[INET6_ADDRSTRLEN];
	int		i;

	if (k->ak_family == AF_INET) {
		in.s_addr = htonl((uint32_t)k->ak_prefix);
		if (inet_ntop(AF_INET, &in, a, sizeof a) == NULL)
			snprintf(a, sizeof a, "?");
		snprintf(buf, len, "%s", a);
		return buf;
	}
	memset(&in6, 0, sizeof in6);
	for (i = 0; i < 8; i++)
		in6.s6_addr[i] = (uint8_t)(k->ak_prefix >> (56 - 8 * i));
	if (inet_ntop(AF_INET6, &in6, a, sizeof a) == NULL)
		snprintf(a, sizeof a, "?");
	snprintf(buf, len, "%s/64", a);
	return buf;
}

/* The smallest power of 2 that holds limit entries at most 80% full. */
static size_t
addrtab_capacity(size_t limit)
{
	size_t	cap = 1024;

	while (cap - cap / 5 < limit)
		cap <<= 1;
	return cap;
}

struct addrtab *
addrtab_new(size_t limit, uint64_t seed0, uint64_t seed1)
{
	struct addrtab	*at;
	size_t		 cap;

	if (limit < ADDRTAB_LIMIT_MIN)
		limit = ADDRTAB_LIMIT_MIN;
	cap = addrtab_capacity(limit);
	if ((at = calloc(1, sizeof *at)) == NULL)
		return NULL;
	/* calloc: the pages stay untouched until an address lands there. */
	if ((at->at_slots = calloc(cap, sizeof *at->at_slots)) == NULL) {
		free(at);
		return NULL;
	}
	at->at_mask = cap - 1;
	at->at_limit = limit;
	at->at_seed0 = seed0;
	at->at_seed1 = seed1;
	return at;
}

void
addrtab_free(struct addrtab *at)
{
	if (at == NULL)
		return;
	free(at->at_slots);
	free(at);
}

size_t
addrtab_count(const struct addrtab *at)
{
	return at->at_count;
}

size_t
addrtab_limit(const struct addrtab *at)
{
	return at->at_limit;
}

size_t
addrtab_memory(const struct addrtab *at)
{
	return sizeof *at + (at->at_mask + 1) * sizeof *at->at_slots;
}

/* The home slot of an address (the family tweaks the key). */
static inline size_t
addrtab_home(const struct addrtab *at, uint64_t prefix, uint8_t family)
{
	struct siphash_key	k = { at->at_seed0, at->at_seed1 ^ family };

	return (size_t)siphash_u64(&k, prefix) & at->at_mask;
}

static inline int
addrtab_match(const struct addrtab_entry *e, const struct addrtab_key *k)
{
	return e->ae_family == k->ak_family && e->ae_prefix == k->ak_prefix;
}

/* The slot holding k, or the free slot that ends its probe run. */
static size_t
addrtab_slot(const struct addrtab *at, const struct addrtab_key *k)
{
	size_t	i = addrtab_home(at, k->ak_prefix, k->ak_family);

	while (at->at_slots[i].ae_family != 0 &&
	    !addrtab_match(&at->at_slots[i], k))
		i = (i + 1) & at->at_mask;
	return i;
}

struct addrtab_entry *
addrtab_find(struct addrtab *at, const struct addrtab_key *k)
{
	struct addrtab_entry	*e = &at->at_slots[addrtab_slot(at, k)];

	return e->ae_family != 0 ? e : NULL;
}

/* Empty slot i, shifting back the entries of its probe run that may move. */
static void
addrtab_delete(struct addrtab *at, size_t i)
{
	struct addrtab_entry	*s = at->at_slots;
	size_t			 j = i, home;

	for (;;) {
		j = (j + 1) & at->at_mask;
		if (s[j].ae_family == 0)
			break;
		home = addrtab_home(at, s[j].ae_prefix, s[j].ae_family);
		if (hash_stays(i, home, j))
			continue;
		s[i] = s[j];
		i = j;
	}
	memset(&s[i], 0, sizeof s[i]);
	at->at_count--;
}

/*
 * Whether a is a better victim than b (b may be NULL): only entries with
 * no live connection qualify; unbanned before banned; of the unbanned the
 * oldest activity, of the banned the ban that ends first.
 */
static int
addrtab_better_victim(const struct addrtab_entry *a,
    const struct addrtab_entry *b, uint64_t now)
{
	int	aban, bban;

	if (a->ae_family == 0 || a->ae_conns != 0)
		return 0;
	if (b == NULL)
		return 1;
	aban = now < a->ae_ban_until;
	bban = now < b->ae_ban_until;
	if (aban != bban)
		return !aban;
	if (aban)
		return a->ae_ban_until < b->ae_ban_until;
	return a->ae_active < b->ae_active;
}

/*
 * Make room for one entry in a table at its limit, by the rule in
 * addrtab.h: the sample from home first, then the whole table.  -1 if
 * every entry has live connections.
 */
static int
addrtab_evict(struct addrtab *at, size_t home, uint64_t now,
    struct addrtab_lifted *lifted)
{
	struct addrtab_entry	*s = at->at_slots, *v = NULL;
	size_t			 i, n, vi = 0;

	/* The first ADDRTAB_SAMPLE entries from home; the table holds more. */
	for (n = 0, i = home; n < ADDRTAB_SAMPLE; i = (i + 1) & at->at_mask) {
		if (s[i].ae_family == 0)
			continue;
		n++;
		if (addrtab_better_victim(&s[i], v, now)) {
			v = &s[i];
			vi = i;
		}
	}
	if (v == NULL) {
		/* Rare: 32 entries in a row all live.  Look at them all. */
		for (i = 0; i <= at->at_mask; i++) {
			if (addrtab_better_victim(&s[i], v, now)) {
				v = &s[i];
				vi = i;
			}
		}
	}
	if (v == NULL)
		return -1;
	if (now < v->ae_ban_until && lifted != NULL) {
		lifted->al_lifted = 1;
		lifted->al_key.ak_family = v->ae_family;
		lifted->al_key.ak_prefix = v->ae_prefix;
		lifted->al_ban_until = v->ae_ban_until;
	}
	addrtab_delete(at, vi);
	return 0;
}

struct addrtab_entry *
addrtab_get(struct addrtab *at, const struct addrtab_key *k, uint64_t now,
    struct addrtab_lifted *lifted)
{
	struct addrtab_entry	*e;
	size_t			 i;

	if (lifted != NULL)
		lifted->al_lifted = 0;
	i = addrtab_slot(at, k);
	if (at->at_slots[i].ae_family != 0)
		return &at->at_slots[i];
	if (at->at_count >= at->at_limit) {
		if (addrtab_evict(at, addrtab_home(at, k->ak_prefix,
		    k->ak_family), now, lifted) != 0)
			return NULL;
		/* The deletion may have moved the end of k's probe run. */
		i = addrtab_slot(at, k);
	}
	e = &at->at_slots[i];
	memset(e, 0, sizeof *e);
	e->ae_family = k->ak_family;
	e->ae_prefix = k->ak_prefix;
	e->ae_active = now;
	at->at_count++;
	return e;
}

int
addrtab_grow(struct addrtab *at, size_t limit)
{
	struct addrtab_entry	*old = at->at_slots, *s;
	size_t			 oldcap = at->at_mask + 1, cap, i, j;

	if (limit <= at->at_limit)
		return 0;
	cap = addrtab_capacity(limit);
	if (cap == oldcap) {
		at->at_limit = limit;
		return 0;
	}
	if ((s = calloc(cap, sizeof *s)) == NULL)
		return -1;
	at->at_slots = s;
	at->at_mask = cap - 1;
	at->at_limit = limit;
	for (i = 0; i < oldcap; i++) {
		if (old[i].ae_family == 0)
			continue;
		j = addrtab_home(at, old[i].ae_prefix, old[i].ae_family);
		while (s[j].ae_family != 0)
			j = (j + 1) & at->at_mask;
		s[j] = old[i];
	}
	free(old);
	return 0;
}

enum addrtab_admit
addrtab_connect(struct addrtab *at, const struct addrtab_key *k,
    uint64_t max_per_address, uint64_t now, struct addrtab_lifted *lifted)
{
	struct addrtab_entry	*e;

	if ((e = addrtab_get(at, k, now, lifted)) == NULL)
		return ADDRTAB_FULL;
	e->ae_active = now;
	if (now < e->ae_ban_until)
		return ADDRTAB_BANNED;
	if (max_per_address != 0 && e->ae_conns >= max_per_address)
		return ADDRTAB_PER_ADDRESS;
	e->ae_conns++;
	return ADDRTAB_ADMIT;
}

void
addrtab_disconnect(struct addrtab *at, const struct addrtab_key *k,
    uint64_t now)
{
	struct addrtab_entry	*e;

	/* Never evicted while it had a connection: it is there. */
	if ((e = addrtab_find(at, k)) == NULL || e->ae_conns == 0)
		return;
	e->ae_conns--;
	e->ae_active = now;
}

enum addrtab_scan_verdict
addrtab_unknown(struct addrtab *at, const struct addrtab_key *k, uint32_t id,
    const struct addrtab_scan *sc, uint64_t now, uint64_t *count,
    uint64_t *elapsed, struct addrtab_lifted *lifted)
{
	struct addrtab_entry	*e;

	*count = 0;
	*elapsed = 0;
	if (lifted != NULL)
		lifted->al_lifted = 0;
	if (sc->as_limit == 0)
		return ADDRTAB_SCAN_OK;
	/* Found at once when a live connection of the address sent it. */
	if ((e = addrtab_get(at, k, now, lifted)) == NULL)
		return ADDRTAB_SCAN_OK;
	e->ae_active = now;
	if (now < e->ae_ban_until)
		return ADDRTAB_SCAN_BANNED;
	/* A client that keeps writing to one peer that left is no scanner. */
	if (e->ae_count > 0 && id == e->ae_last_id)
		return ADDRTAB_SCAN_OK;
	e->ae_last_id = id;
	if (e->ae_count == 0 || now - e->ae_window >= sc->as_window_ms) {
		e->ae_window = now;
		e->ae_count = 0;
	}
	e->ae_count++;
	if (e->ae_count <= sc->as_limit)
		return ADDRTAB_SCAN_OK;
	*count = e->ae_count;
	*elapsed = now - e->ae_window;
	e->ae_ban_until = now + sc->as_ban_ms;
	e->ae_count = 0;
	return ADDRTAB_SCAN_BAN;
}

int
addrtab_banned(struct addrtab *at, const struct addrtab_key *k, uint64_t now)
{
	struct addrtab_entry	*e = addrtab_find(at, k);

	return e != NULL && now < e->ae_ban_until;
}

size_t
addrtab_count_banned(const struct addrtab *at, uint64_t now)
{
	size_t	i, n = 0;

	for (i = 0; i <= at->at_mask; i++) {
		if (at->at_slots[i].ae_family != 0 &&
		    now < at->at_slots[i].ae_ban_until)
			n++;
	}
	return n;
}

size_t
addrtab_unban_all(struct addrtab *at, uint64_t now)
{
	struct addrtab_entry	*e;
	size_t			 i, n = 0;

	for (i = 0; i <= at->at_mask; i++) {
		e = &at->at_slots[i];
		if (e->ae_family == 0)
			continue;
		if (now < e->ae_ban_until)
			n++;
		e->ae_ban_until = 0;
		e->ae_count = 0;
	}
	return n;
}
