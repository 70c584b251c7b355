/*
 * report: the formatters.  They render what the stats collector (stats.h)
 * and the closed ring (closed.h) return, as JSON (jansson) and as the
 * Prometheus text exposition format 0.0.4, from one table of figures so the
 * two cannot drift apart.  No formatter looks at the router itself.
 */
#ifndef MSGROUTER_REPORT_H
#define MSGROUTER_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct closed_entry;
struct conn_info;
struct evbuffer;
struct stats_snapshot;

#define REPORT_PROMETHEUS_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/* The /stats object; NULL if out of memory. */
json_t	*report_stats_json(const struct stats_snapshot *);
/* One live client; now_ms is CLOCK_MONOTONIC milliseconds. */
json_t	*report_client_json(const struct conn_info *, uint64_t now_ms);
/* The same with a TLS client's tls_protocol and tls_cipher (/clients/ID). */
json_t	*report_client_detail_json(const struct conn_info *, uint64_t now_ms);
/*
 * One closed client: its figures at close, how long ago, why, and count (1);
 * a rejection also its count, first_seconds_ago and source address.
 */
json_t	*report_closed_json(const struct closed_entry *, uint64_t now_ms);
/*
 * Append {"clients":[...],"next_cursor":C or null} to buf, dumping one
 * object at a time so that a page of 10,000 never exists as one tree.
 * next_cursor 0 means none.  The entries are n records of conn_info (live)
 * or pointers to closed_entry (closed).  0, or -1 if out of memory.
 */
int	 report_clients_json(struct evbuffer *, const struct conn_info *,
	    size_t n, uint64_t now_ms, uint64_t next_cursor);
int	 report_closed_list_json(struct evbuffer *,
	    const struct closed_entry *const *, size_t n, uint64_t now_ms,
	    uint64_t next_cursor);
/* Append a JSON value to buf, compact; 0 or -1. */
int	 report_dump_json(struct evbuffer *, const json_t *);
/* Append every figure of the snapshot as Prometheus text to buf. */
int	 report_stats_prometheus(struct evbuffer *,
	    const struct stats_snapshot *);

#endif
