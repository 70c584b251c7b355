/*
 * stats: the collector.  Everything is read from the router's own state at
 * the moment of the call: the loop is single-threaded, so nothing can move
 * underneath, and no copy can lag behind.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "msgrouter/addrtab.h"
#include "msgrouter/clock.h"
#include "msgrouter/config.h"
#include "msgrouter/conn.h"
#include "msgrouter/registry.h"
#include "msgrouter/router.h"
#include "msgrouter/stats.h"

/* Registry walks go through a small array on the stack, a chunk at a time. */
#define STATS_WALK_CHUNK	64

void
stats_collect(struct router *rt, struct stats_snapshot *ss)
{
	const struct stats	*st = &rt->rt_stats;
	const struct config	*cf = &rt->rt_config;

	memset(ss, 0, sizeof *ss);
	ss->ss_version = PACKAGE_VERSION;
	ss->ss_uptime_seconds = (clock_now_ms() - rt->rt_started) / 1000;
	ss->ss_draining = rt->rt_draining != 0;
	ss->ss_accept_errors = st->st_accept_errors;

	ss->ss_connected = registry_count(rt->rt_registry);
	ss->ss_accepted = st->st_accepted;
	ss->ss_rejected = st->st_rejected;
	ss->ss_disconnected_slow = st->st_disconnected_slow;
	ss->ss_disconnected_oversize = st->st_disconnected_oversize;
	ss->ss_paused = st->st_paused;
	ss->ss_paused_total = st->st_paused_total;
	ss->ss_tls_handshakes = st->st_tls_handshakes;
	ss->ss_tls_handshake_failures = st->st_tls_handshake_failures;

	ss->ss_received = st->st_frames;
	ss->ss_forwarded = st->st_forwarded;
	ss->ss_dropped_unknown = st->st_dropped_unknown;
	ss->ss_dropped_queue_full = st->st_dropped_queue_full;
	ss->ss_dropped_sender_gone = st->st_dropped_sender_gone;
	ss->ss_disconnected_sender_gone = st->st_disconnected_sender_gone;

	ss->ss_bytes_received = st->st_bytes_received;
	ss->ss_bytes_forwarded = st->st_bytes_forwarded;
	ss->ss_bytes_queued = router_queued_bytes(rt);

	ss->ss_max_clients = cf->cf_max_clients;
	ss->ss_max_message_size = cf->cf_max_message_size;
	ss->ss_queue_limit = cf->cf_queue_limit;
	ss->ss_slow_consumer = config_slow_consumer_name(cf->cf_slow_consumer);
	ss->ss_id_mode = config_id_mode_name(cf->cf_id_mode);
	ss->ss_sndbuf = cf->cf_sndbuf;

	ss->ss_disconnected_scan = st->st_disconnected_scan;
	ss->ss_rejected_banned = st->st_rejected_banned;
	ss->ss_rejected_per_address = st->st_rejected_per_address;
	ss->ss_banned_addresses = addrtab_count_banned(rt->rt_addrtab,
	    clock_now_ms());
	ss->ss_scan_limit = cf->cf_scan_limit;
	ss->ss_max_clients_per_address = cf->cf_max_clients_per_address;
}

size_t
stats_clients_page(struct router *rt, size_t *cursor, struct conn_info *out,
    size_t max)
{
	void	*chunk[STATS_WALK_CHUNK];
	size_t	 n = 0, got, want, i;

	while (n < max) {
		want = max - n < STATS_WALK_CHUNK ? max - n : STATS_WALK_CHUNK;
		got = registry_walk(rt->rt_registry, cursor, chunk, want);
		for (i = 0; i < got; i++)
			conn_info(chunk[i], &out[n++]);
		if (*cursor == 0)
			break;
	}
	return n;
}

/* True when a ranks below b: fewer queued bytes, or as many and a larger id. */
static inline int
stats_below(const struct conn_info *a, const struct conn_info *b)
{
	if (a->ci_queued != b->ci_queued)
		return a->ci_queued < b->ci_queued;
	return a->ci_id > b->ci_id;
}

static inline void
stats_swap(struct conn_info *h, size_t i, size_t j)
{
	struct conn_info	t = h[i];

	h[i] = h[j];
	h[j] = t;
}

/* Restore the min-heap (lowest rank at the root) below slot i of h[0..n). */
static void
stats_sift_down(struct conn_info *h, size_t n, size_t i)
{
	size_t	c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && stats_below(&h[c + 1], &h[c]))
			c++;
		if (!stats_below(&h[c], &h[i]))
			break;
		stats_swap(h, i, c);
		i = c;
	}
}

/* Move the new slot i up the min-heap. */
static void
stats_sift_up(struct conn_info *h, size_t i)
{
	size_t	p;

	while (i > 0) {
		p = (i - 1) / 2;
		if (!stats_below(&h[i], &h[p]))
			break;
		stats_swap(h, i, p);
		i = p;
	}
}

size_t
stats_clients_top_queued(struct router *rt, struct conn_info *h, size_t n)
{
	struct conn		*c;
	struct conn_info	 t;
	size_t			 len = 0, end;

	if (n == 0)
		return 0;
	TAILQ_FOREACH(c, &rt->rt_conns, cn_entry) {
		if (len < n) {
			conn_info(c, &h[len]);
			stats_sift_up(h, len++);
			continue;
		}
		/* Cheap test first: most clients do not beat the root. */
		if (conn_queued(c) < h[0].ci_queued)
			continue;
		conn_info(c, &t);
		if (!stats_below(&h[0], &t))
			continue;
		h[0] = t;
		stats_sift_down(h, len, 0);
	}
	/* Heap sort: the lowest goes to the end, so the array ends largest first. */
	for (end = len; end > 1; end--) {
		stats_swap(h, 0, end - 1);
		stats_sift_down(h, end - 1, 0);
	}
	return len;
}
