/*
 * conn: one client connection's socket glue.  The bufferevent owns the
 * socket and both buffers and writes what a direct flush could not; our own
 * read event reads up to CONN_READ_MAX bytes per readiness (libevent 2.1's
 * bufferevent reads 4096 bytes at a time after an ioctl).
 *
 * A TLS client (conn_new_tls) has a bufferevent_openssl instead, which
 * reads and writes for it: its read callback reports what arrived through
 * co_input (with the records OpenSSL read ahead, which the bufferevent
 * leaves), conn_read reads nothing more, and the queue is written by the
 * bufferevent alone (cn_writing stays set); conn_flush only gathers the
 * queue's head into one piece, so that it goes out in full 16 KiB records.
 * The plaintext path pays one flag test in conn_read for it, and one in
 * conn_flush when a short write left it writing.
 *
 * conn.c knows nothing of routing: it tells its owner (the router) what
 * happened through struct conn_ops, and the owner decides, through the
 * functions below, how much to read, when to stop reading and when to
 * close.  The members under "the router's" are the router's alone; conn.c
 * never touches them, and the router touches conn.c's only through these
 * functions.
 */
#ifndef MSGROUTER_CONN_H
#define MSGROUTER_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "msgrouter/addr.h"
#include "msgrouter/framing.h"

struct bufferevent;
struct conn;
struct event;
struct event_base;
struct evbuffer;
struct router;

/*
 * The most one read takes: a little under 64 KiB so that libevent's chain
 * (data plus its header) is one 64 KiB allocation.
 */
#define CONN_READ_MAX		(65536 - 128)

/*
 * A connection's states.  Legal transitions (conn_set_state asserts them):
 *
 *	NEW	-> OPEN		its first bytes arrived: our read event reads
 *			(TLS: the handshake completed)
 *	NEW	-> DONE		EOF or an error before any byte; the drain
 *	OPEN	-> PAUSED	conn_pause: the router's backpressure
 *	OPEN	-> DONE		EOF or a read error; the drain
 *	PAUSED	-> OPEN		conn_resume
 *	PAUSED	-> DONE		the drain
 *	any	-> CLOSED	conn_close
 *
 * In DONE nothing more is read, but what was read is still routed (the
 * router kicks it) and the queue is still written: accepted data is never
 * lost to an EOF, a half-close or the drain.
 */
enum conn_state {
	CONN_NEW = 0,	/* accepted; the bufferevent waits for first bytes */
	CONN_OPEN,	/* our read event watches the socket */
	CONN_PAUSED,	/* not read until conn_resume */
	CONN_DONE,	/* reading over for good; routing and writing go on */
	CONN_CLOSED,	/* socket and buffers freed; struct goes with refs */
	CONN_NSTATES
};

enum conn_reason {
	CONN_REASON_EOF = 0,
	CONN_REASON_ERROR,
	CONN_REASON_OVERSIZE,
	CONN_REASON_SLOW_CONSUMER,
	CONN_REASON_MAX_CLIENTS,
	CONN_REASON_SHUTDOWN,
	CONN_REASON_SENDER_GONE,	/* paused, then reset: conn_peer_gone */
	CONN_REASON_TLS,		/* the handshake failed */
	CONN_REASON_TLS_TIMEOUT,	/* tls.handshake_timeout passed */
	CONN_REASON_SCAN,		/* sent too many unknown ids */
	CONN_REASON_BANNED,		/* refused: its address is banned */
	CONN_REASON_PER_ADDRESS,	/* refused: max_clients_per_address */
	CONN_NREASONS
};

/*
 * What a connection tells its owner, from libevent's callbacks.  The
 * connection holds a reference across each call, so the owner may close it
 * inside.
 */
struct conn_ops {
	/*
	 * Input to handle: the socket is readable (arrived 0: read it with
	 * conn_read), the bufferevent's first read put arrived bytes in the
	 * input, the connection went DONE on an EOF or error, or conn_kick.
	 */
	void	(*co_input)(struct conn *, size_t arrived);
	/* The bufferevent wrote and the queue is at or under its mark. */
	void	(*co_written)(struct conn *, size_t queued);
	/* A write failed, or the peer went away while we only wrote. */
	void	(*co_error)(struct conn *, enum conn_reason);
	/* TLS: the handshake completed (NEW -> OPEN). */
	void	(*co_handshake)(struct conn *);
};

/* The router's flags (cn_rflags). */
#define CONN_DIRTY		0x01	/* on the router's flush list */
#define CONN_DRAINING		0x02	/* counted by the drain as not done */
#define CONN_SHED		0x04	/* its last read had frames dropped */
#define CONN_WATCHED		0x08	/* on the router's rt_watch, a reference */
#define CONN_RHELD		0x10	/* other nodes hold senders to it */

struct conn {
	/* conn.c's: read through the functions below. */
	struct bufferevent	*cn_bev;
	union {
		struct event	*cn_read_ev;	/* plain: NULL while NEW */
		struct event	*cn_hs_ev;	/* TLS, NEW: handshake deadline */
		size_t		 cn_tls_seen;	/* TLS, later: input reported */
	};
	const struct conn_ops	*cn_ops;
	uint8_t			 cn_state;	/* enum conn_state */
	uint8_t			 cn_done_reason:4; /* why DONE: EOF, ERROR... */
	uint8_t			 cn_writing:1;	/* EV_WRITE on: a short write */
	uint8_t			 cn_tls:1;	/* a bufferevent_openssl */
	uint8_t			 cn_refs;	/* the owner's and callbacks' */
	/* The router's. */
	uint8_t			 cn_rflags;	/* CONN_DIRTY... */
	uint32_t		 cn_max_before;	/* see cn_max_until */
	struct router		*cn_router;	/* owner: never used by conn.c */
	struct framing		 cn_framing;
	struct conn		*cn_dirty_next;	/* router's flush list */
	struct conn		*cn_blocked_on;	/* paused: destination we wait for */
	TAILQ_HEAD(, conn)	 cn_waiters;	/* senders waiting for us */
	TAILQ_ENTRY(conn)	 cn_wait_entry;
	TAILQ_ENTRY(conn)	 cn_entry;	/* router's list of all */
	uint64_t		 cn_msgs_in;
	uint64_t		 cn_bytes_in;
	uint64_t		 cn_msgs_out;
	uint64_t		 cn_bytes_out;
	uint64_t		 cn_dropped;	/* addressed to us, dropped */
	uint64_t		 cn_connected;	/* clock_now_ms() */
	/*
	 * A reload changes max_message_size only for frames not yet started:
	 * input bytes before cn_max_until (in cn_bytes_in terms) keep the
	 * limit cn_max_before (at most CONFIG_MAX_MESSAGE_MAX, 1 GiB).
	 */
	uint64_t		 cn_max_until;
	union addr_any		 cn_peer;	/* conn.c's */
	/*
	 * Last: it fills the padding after cn_peer.  Every byte of struct
	 * conn counts against 10,000 idle clients (docs/PERFORMANCE.md).
	 */
	uint32_t		 cn_id;
};

/*
 * One client's figures at one moment, for reports: the admin interface's
 * live clients and the ring of closed ones are both filled by conn_info.
 */
struct conn_info {
	uint32_t		 ci_id;		/* 0: rejected before an id */
	int			 ci_paused;
	uint64_t		 ci_connected;	/* clock_now_ms() */
	uint64_t		 ci_queued;	/* bytes waiting to be written */
	uint64_t		 ci_msgs_in;
	uint64_t		 ci_bytes_in;
	uint64_t		 ci_msgs_out;
	uint64_t		 ci_bytes_out;
	uint64_t		 ci_dropped;
	union addr_any		 ci_peer;
	int			 ci_tls;
	const char		*ci_tls_protocol; /* NULL until the handshake */
	const char		*ci_tls_cipher;	/* static OpenSSL strings */
};

/*
 * Take over an accepted socket in state NEW, with one reference (the
 * owner's, dropped by conn_close).  The socket is closed on failure.
 */
struct conn	*conn_new(struct event_base *, int fd, const struct sockaddr *,
		    int socklen, const struct conn_ops *, struct router *);
/*
 * The same for a TLS client: the handshake (server side) with a new SSL
 * from ssl_new's context, which must finish within handshake_ms, else
 * co_error(CONN_REASON_TLS_TIMEOUT); a failed one is co_error(
 * CONN_REASON_TLS), logged with OpenSSL's reason and the peer's address.
 * The SSL is freed with the connection.
 */
struct conn	*conn_new_tls(struct event_base *, int fd,
		    const struct sockaddr *, int socklen,
		    const struct conn_ops *, struct router *, void *ssl,
		    uint64_t handshake_ms);
/*
 * Set the queue length at which co_written runs (the resume mark) and the
 * most the bufferevent's first read may take.
 */
void		 conn_configure(struct conn *, size_t resume_mark,
		    size_t first_read_max);
/*
 * Free the socket and both buffers and drop the owner's reference; with
 * discard, first read and throw away what the peer sent (see conn.c).
 */
void		 conn_close(struct conn *, int discard);
/* Keep the struct alive across a call that may close it. */
void		 conn_ref(struct conn *);
/* Drop a reference; the last one frees the struct. */
void		 conn_unref(struct conn *);
enum conn_state	 conn_state(const struct conn *);
const char	*conn_state_name(enum conn_state);
const char	*conn_reason_name(enum conn_reason);
/* In DONE after the peer's EOF or a read error: which (else -1). */
int		 conn_eof_reason(const struct conn *);
/*
 * Read at most max bytes into the input, if OPEN.  Returns the bytes read
 * (0: none now, or EOF or a read error, after which the state is DONE), or
 * -1 when the input could not grow (out of memory).
 */
ssize_t		 conn_read(struct conn *, size_t max);
/*
 * Write what is queued now; enable write events only on a short write.
 * 1 if it wrote, 0 if it had nothing to do, -1 on an error.  A TLS client's
 * bufferevent writes (0): its queue's head is gathered for full records.
 */
int		 conn_flush(struct conn *);
/* Stop reading until conn_resume: OPEN -> PAUSED; otherwise nothing. */
void		 conn_pause(struct conn *);
/* PAUSED -> OPEN; then, in any state, conn_kick. */
void		 conn_resume(struct conn *);
/*
 * Stop reading for good (the drain): NEW, OPEN or PAUSED -> DONE.  A TLS
 * client in its handshake stays NEW: call it again once that is done.
 */
void		 conn_stop_reading(struct conn *);
/*
 * Have co_input run from the loop, for input already buffered that no
 * readiness will announce.  Nothing in NEW (no input) or CLOSED.
 */
void		 conn_kick(struct conn *);
struct evbuffer	*conn_input(struct conn *);
struct evbuffer	*conn_output(struct conn *);
/* Bytes waiting to be written to this client. */
size_t		 conn_queued(const struct conn *);
/*
 * The peer is gone for good: it reset the connection (TCP), or closed it
 * with our bytes unread (AF_UNIX's ECONNRESET).  A FIN or an AF_UNIX
 * peer's plain close is a half-close, not gone.  One poll(2) without
 * waiting; nothing is read and no pending error is consumed.
 */
int		 conn_peer_gone(const struct conn *);
/* Fill a report record with this client's figures now. */
void		 conn_info(const struct conn *, struct conn_info *);

#endif
