/*
 * addrtab: what the router knows per source address, for the per-address
 * limit and the id-scanning defence: live connections, the unknown ids it
 * sent lately, and a ban.  An address is an IPv4 address or an IPv6 /64
 * (IPv4-mapped IPv6 counts as its IPv4 address); Unix-domain peers have no
 * address and are never tracked.  No sockets, no clock: the caller passes
 * the time, so cmocka drives it alone.
 *
 * The table has a fixed limit of entries (the router sizes it from
 * max_clients; it only grows) in one open-addressing array (linear probing,
 * backward-shift deletion) keyed by a per-process random SipHash key, so a
 * stranger cannot aim his addresses at one probe run.  Memory is bounded
 * by the limit whatever the number of addresses seen.
 *
 * Eviction: a new address when the table holds its limit takes the place of
 * an entry that holds no live connection.  Of the first ADDRTAB_SAMPLE
 * entries from the new address's home slot (a random place, given the
 * key), the entry with the oldest activity and no active ban goes first;
 * failing that, the banned entry whose ban ends first (the ban is lifted
 * early, and the caller is told so it can log it: it is never silent).
 * Only when no entry of the sample qualifies is the whole table searched
 * the same way.  An entry with a live connection is never evicted: when
 * every entry has one (more live connections than the limit), the new
 * address is not admitted.
 */
#ifndef MSGROUTER_ADDRTAB_H
#define MSGROUTER_ADDRTAB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Slots looked at for a victim before the whole table is. */
#define ADDRTAB_SAMPLE		32
/* The smallest limit, whatever max_clients is. */
#define ADDRTAB_LIMIT_MIN	1024
/* "2001:db8:1:2::/64" and the NUL. */
#define ADDRTAB_STRLEN		48

/* A source address: an IPv4 address or an IPv6 /64 prefix. */
struct addrtab_key {
	uint64_t	ak_prefix;	/* host order: IPv4 in the low 32 bits */
	uint8_t		ak_family;	/* AF_INET or AF_INET6 */
};

/* One address's record. */
struct addrtab_entry {
	uint64_t	ae_prefix;
	uint64_t	ae_active;	/* ms: last connect, close, unknown id */
	uint64_t	ae_window;	/* ms: start of the scan window */
	uint64_t	ae_ban_until;	/* ms: banned while now < this */
	uint32_t	ae_conns;	/* live connections */
	uint32_t	ae_count;	/* unknown ids counted in the window */
	uint32_t	ae_last_id;	/* the previous unknown id */
	uint8_t		ae_family;	/* 0: free slot */
};

/* The scan rule's settings (router.scan_*). */
struct addrtab_scan {
	uint64_t	as_limit;	/* 0: off */
	uint64_t	as_window_ms;
	uint64_t	as_ban_ms;
};

/* What a connection from an address may do (addrtab_connect). */
enum addrtab_admit {
	ADDRTAB_ADMIT = 0,	/* counted in */
	ADDRTAB_BANNED,		/* the address is banned */
	ADDRTAB_PER_ADDRESS,	/* max_clients_per_address reached */
	ADDRTAB_FULL,		/* every entry has live connections */
};

/* What a frame to an unknown id does (addrtab_unknown). */
enum addrtab_scan_verdict {
	ADDRTAB_SCAN_OK = 0,	/* counted, or not: under the limit */
	ADDRTAB_SCAN_BAN,	/* past the limit now: banned from now */
	ADDRTAB_SCAN_BANNED,	/* the address was already banned */
};

/* A ban lifted early by an eviction, for the caller's log. */
struct addrtab_lifted {
	int			al_lifted;	/* 0: none */
	struct addrtab_key	al_key;
	uint64_t		al_ban_until;
};

struct addrtab;

/*
 * The key of a peer's address; -1 if it has none to track (AF_UNIX, or an
 * address that did not fit and was left zeroed).
 */
int		 addrtab_key(const struct sockaddr *, struct addrtab_key *);
/* Write "1.2.3.4" or "2001:db8::/64" into buf (ADDRTAB_STRLEN). */
const char	*addrtab_format(const struct addrtab_key *, char *, size_t);
/*
 * A table of at most limit entries (ADDRTAB_LIMIT_MIN at least) hashed
 * under the key seed0, seed1; NULL if out of memory.
 */
struct addrtab	*addrtab_new(size_t limit, uint64_t seed0, uint64_t seed1);
void		 addrtab_free(struct addrtab *);
/* Raise the limit (never lowers it), rehashing; 0, or -1 and unchanged. */
int		 addrtab_grow(struct addrtab *, size_t limit);
size_t		 addrtab_count(const struct addrtab *);
size_t		 addrtab_limit(const struct addrtab *);
/* The bytes the table holds: fixed by the limit. */
size_t		 addrtab_memory(const struct addrtab *);
/* The entry of this address, or NULL; valid until the next change. */
struct addrtab_entry *addrtab_find(struct addrtab *, const struct addrtab_key *);
/*
 * The entry of this address, made (zeroed, family and prefix set) if new,
 * evicting by the rule above; NULL when every entry has live connections.
 * A ban lifted to make room is described in *lifted (may be NULL).
 */
struct addrtab_entry *addrtab_get(struct addrtab *, const struct addrtab_key *,
		    uint64_t now_ms, struct addrtab_lifted *);
/*
 * A connection from this address: refused if the address is banned or
 * already has max_per_address (0: no limit) live ones, else counted in.
 */
enum addrtab_admit addrtab_connect(struct addrtab *,
		    const struct addrtab_key *, uint64_t max_per_address,
		    uint64_t now_ms, struct addrtab_lifted *);
/* A connection counted in by addrtab_connect went away. */
void		 addrtab_disconnect(struct addrtab *, const struct addrtab_key *,
		    uint64_t now_ms);
/*
 * A frame to the unknown id from this address: counted unless it repeats
 * the address's previous unknown id; past as_limit within as_window_ms the
 * address is banned for as_ban_ms (the count starts again after).  Nothing
 * when as_limit is 0.  *count and *elapsed_ms get the count and the time
 * since the window began, for the ban's log line.
 */
enum addrtab_scan_verdict addrtab_unknown(struct addrtab *,
		    const struct addrtab_key *, uint32_t id,
		    const struct addrtab_scan *, uint64_t now_ms,
		    uint64_t *count, uint64_t *elapsed_ms,
		    struct addrtab_lifted *);
/* Whether the address is banned now. */
int		 addrtab_banned(struct addrtab *, const struct addrtab_key *,
		    uint64_t now_ms);
/*
 * Forget every ban and scan count (scan_limit turned to 0 by a reload);
 * returns the bans lifted.
 */
size_t		 addrtab_unban_all(struct addrtab *, uint64_t now_ms);
/* Addresses banned now (a walk of the table, for reports). */
size_t		 addrtab_count_banned(const struct addrtab *, uint64_t now_ms);

#endif
