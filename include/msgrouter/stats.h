/*
 * stats: the router's counters.  One struct, written by the hot path with
 * plain increments (one thread), read by whoever reports them.
 */
#ifndef MSGROUTER_STATS_H
#define MSGROUTER_STATS_H

#include <stdint.h>

struct stats {
	uint64_t	st_accepted;		/* connections given an id */
	uint64_t	st_rejected;		/* closed at once: max_clients */
	uint64_t	st_accept_errors;	/* accept() failures */
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
};

#endif
