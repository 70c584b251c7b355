/*
 * stats: the router's counters.  One struct, written with plain increments
 * on the one thread (by the hot path, and by both listeners for
 * accept_errors), read by whoever reports them.
 *
 * The collector: one snapshot of everything a report shows, taken from the
 * router's own state at the moment of the request, and the per-client
 * selections (a page in registry order, the top N by queued bytes).  The
 * formatters (report.h) render what the collector and the ring of closed
 * clients (closed.h) return, never the router itself.
 */
#ifndef MSGROUTER_STATS_H
#define MSGROUTER_STATS_H

#include <stddef.h>
#include <stdint.h>

struct conn_info;
struct router;

struct stats {
	uint64_t	st_accepted;		/* connections given an id */
	uint64_t	st_rejected;		/* closed at once, all reasons */
	uint64_t	st_accept_errors;	/* accept() failures, admin too */
	uint64_t	st_disconnected_slow;	/* slow consumers closed */
	uint64_t	st_disconnected_oversize;
	uint64_t	st_frames;		/* complete frames received */
	uint64_t	st_forwarded;		/* messages queued to a destination */
	uint64_t	st_dropped_unknown;	/* destination not connected */
	uint64_t	st_dropped_queue_full;	/* drop/disconnect policy */
	uint64_t	st_bytes_received;	/* every byte read, headers too */
	uint64_t	st_bytes_forwarded;	/* payload + 0x00 of forwarded */
	uint64_t	st_paused_total;	/* backpressure pauses */
	uint64_t	st_paused;		/* senders paused right now */
	uint64_t	st_dropped_sender_gone;	/* buffered from a reset sender */
	uint64_t	st_disconnected_sender_gone; /* paused, then reset */
	uint64_t	st_tls_handshakes;	/* TLS handshakes completed */
	uint64_t	st_tls_handshake_failures; /* failed or timed out */
	uint64_t	st_disconnected_scan;	/* closed for scanning ids */
	uint64_t	st_rejected_banned;	/* of st_rejected: address banned */
	uint64_t	st_rejected_per_address; /* of st_rejected: per address */
};

struct stats_snapshot {
	const char	*ss_version;
	uint64_t	 ss_uptime_seconds;
	int		 ss_draining;
	uint64_t	 ss_accept_errors;	/* routing and admin ports */
	/* clients */
	uint64_t	 ss_connected;
	uint64_t	 ss_accepted;
	uint64_t	 ss_rejected;
	uint64_t	 ss_disconnected_slow;
	uint64_t	 ss_disconnected_oversize;
	uint64_t	 ss_paused;
	uint64_t	 ss_paused_total;
	/* messages: received = forwarded + the three dropped counters */
	uint64_t	 ss_received;
	uint64_t	 ss_forwarded;
	uint64_t	 ss_dropped_unknown;
	uint64_t	 ss_dropped_queue_full;
	uint64_t	 ss_dropped_sender_gone;
	/* bytes */
	uint64_t	 ss_bytes_received;
	uint64_t	 ss_bytes_forwarded;
	uint64_t	 ss_bytes_queued;
	/* config: the effective limits */
	uint64_t	 ss_max_clients;
	uint64_t	 ss_max_message_size;
	uint64_t	 ss_queue_limit;
	const char	*ss_slow_consumer;
	const char	*ss_id_mode;
	uint64_t	 ss_disconnected_sender_gone;
	uint64_t	 ss_sndbuf;		/* router.sndbuf, 0: the kernel's */
	/* tls */
	uint64_t	 ss_tls_handshakes;
	uint64_t	 ss_tls_handshake_failures;
	/* the scan defence and the per-address limit */
	uint64_t	 ss_disconnected_scan;
	uint64_t	 ss_rejected_banned;
	uint64_t	 ss_rejected_per_address;
	uint64_t	 ss_banned_addresses;	/* banned now */
	uint64_t	 ss_scan_limit;
	uint64_t	 ss_max_clients_per_address;
};

/* Take a snapshot of the router's figures now (one walk of the clients). */
void	stats_collect(struct router *, struct stats_snapshot *);
/*
 * Fill at most max records with clients in registry order from *cursor (0:
 * the start); *cursor is where the next page starts, 0 after the last.
 * Every client is visited once while none connects or leaves.
 */
size_t	stats_clients_page(struct router *, size_t *cursor,
	    struct conn_info *, size_t max);
/*
 * Fill at most n records with the clients that have the most queued bytes,
 * largest first (ties: smaller id first).  A heap of n: O(clients log n).
 */
size_t	stats_clients_top_queued(struct router *, struct conn_info *,
	    size_t n);

#endif
