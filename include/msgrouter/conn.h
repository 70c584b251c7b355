/*
 * conn: one client connection's life: accept, id, reads, writes, pause and
 * resume, close.  The bufferevent owns the socket and both buffers; reads go
 * through our own event so that one readiness reads up to CONN_READ_MAX bytes
 * (libevent 2.1's bufferevent reads 4096 bytes at a time after an ioctl).
 */
#ifndef MSGROUTER_CONN_H
#define MSGROUTER_CONN_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "msgrouter/framing.h"

struct bufferevent;
struct event;
struct evbuffer;
struct router;

/*
 * The most one read takes: a little under 64 KiB so that libevent's chain
 * (data plus its header) is one 64 KiB allocation.
 */
#define CONN_READ_MAX		(65536 - 128)

/*
 * The most one read takes from a sender whose last read had frames dropped
 * (to a full queue, to an unknown id): it is never paused for that, but
 * while its traffic goes to the bin it gets a page per pass of the loop,
 * like a client that sends a window of small messages, not 64 KiB.
 */
#define CONN_READ_SHED		4096

#define CONN_PAUSED		0x01	/* reading stopped: backpressure */
#define CONN_DIRTY		0x02	/* on the router's flush list */
#define CONN_WRITING		0x04	/* EV_WRITE enabled: short write */
#define CONN_CLOSED		0x08	/* being closed */
#define CONN_EOF		0x10	/* read EOF or error: route what is left */
#define CONN_DRAINING		0x20	/* counted by the drain as not done */
#define CONN_BUSY		0x40	/* in its own read callback: free later */
#define CONN_SHED		0x80	/* its last read had frames dropped */


enum conn_reason {
	CONN_REASON_EOF = 0,
	CONN_REASON_ERROR,
	CONN_REASON_OVERSIZE,
	CONN_REASON_SLOW_CONSUMER,
	CONN_REASON_MAX_CLIENTS,
	CONN_REASON_SHUTDOWN,
};

struct conn {
	uint32_t		 cn_id;
	uint32_t		 cn_flags;
	struct router		*cn_router;
	struct bufferevent	*cn_bev;
	struct event		*cn_read_ev;
	struct framing		 cn_framing;
	struct conn		*cn_dirty_next;	/* router's flush list */
	struct conn		*cn_blocked_on;	/* destination we wait for */
	TAILQ_HEAD(, conn)	 cn_waiters;	/* senders waiting for us */
	TAILQ_ENTRY(conn)	 cn_wait_entry;
	TAILQ_ENTRY(conn)	 cn_entry;	/* router's list of all */
	uint64_t		 cn_msgs_in;
	uint64_t		 cn_bytes_in;
	uint64_t		 cn_msgs_out;
	uint64_t		 cn_bytes_out;
	uint64_t		 cn_dropped;	/* addressed to us, dropped */
	uint64_t		 cn_connected;	/* monotonic ms */
	/*
	 * A reload changes max_message_size only for frames not yet started:
	 * input bytes before cn_max_until (in cn_bytes_in terms) keep the
	 * limit cn_max_before.
	 */
	uint64_t		 cn_max_until;
	size_t			 cn_max_before;
	union {
		struct sockaddr		sa;
		struct sockaddr_in	sin;
		struct sockaddr_in6	sin6;
	}			 cn_peer;
	/*
	 * Last: it fills the padding after cn_peer.  Every byte of struct
	 * conn counts against 10,000 idle clients (docs/PERFORMANCE.md).
	 */
	enum conn_reason	 cn_eof_reason;	/* with CONN_EOF: eof or error */
};

/*
 * One client's figures at one moment, for reports: the admin interface's
 * live clients and the ring of closed ones are both filled by conn_info.
 */
struct conn_info {
	uint32_t		 ci_id;		/* 0: rejected before an id */
	int			 ci_paused;
	uint64_t		 ci_connected;	/* monotonic ms */
	uint64_t		 ci_queued;	/* bytes waiting to be written */
	uint64_t		 ci_msgs_in;
	uint64_t		 ci_bytes_in;
	uint64_t		 ci_msgs_out;
	uint64_t		 ci_bytes_out;
	uint64_t		 ci_dropped;
	union {
		struct sockaddr		sa;
		struct sockaddr_in	sin;
		struct sockaddr_in6	sin6;
	}			 ci_peer;
};

/* Take over an accepted socket: give it an id and start reading. */
struct conn	*conn_new(struct router *, int fd, const struct sockaddr *,
		    int socklen);
/* Apply the router's current limits (after a reload). */
void		 conn_configure(struct conn *);
/* Close with a reason, logged once; frees everything. */
void		 conn_close(struct conn *, enum conn_reason);
const char	*conn_reason_name(enum conn_reason);
struct evbuffer	*conn_input(struct conn *);
struct evbuffer	*conn_output(struct conn *);
/* Write what is queued now; enable write events only on a short write. */
int		 conn_flush(struct conn *);
/* Stop reading until dst drains; the frame of len bytes at the head stays. */
void		 conn_pause(struct conn *, struct conn *dst, size_t len);
/* Resume a paused sender and route what it has buffered, from the loop. */
void		 conn_resume(struct conn *);
/* Stop reading from this client for good (the drain). */
void		 conn_stop_reading(struct conn *);
/* Resume every sender waiting for this destination. */
void		 conn_wake_waiters(struct conn *);
/* The max_message_size that applies to the frame at the head of input. */
size_t		 conn_max_message(struct conn *);
/* Fill a report record with this client's figures now. */
void		 conn_info(struct conn *, struct conn_info *);
/* A complete frame is buffered from this client. */
int		 conn_has_frame(struct conn *);
/* Nothing queued to it, nothing buffered from it to route, not paused. */
int		 conn_idle(struct conn *);
/* Bytes waiting to be written to this client. */
size_t		 conn_queued(struct conn *);

#endif
