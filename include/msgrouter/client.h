/*
 * libmsgrouter-client: a small blocking-or-polling client for msgrouterd.
 *
 * Protocol: on connect the router sends our 4-byte big-endian id; a message
 * is sent as a 4-byte big-endian destination id, payload bytes (no 0x00) and
 * one 0x00; the router delivers payload + 0x00 to the destination.
 *
 * Errors are returned as negative MR_E* codes, never printed and never fatal;
 * mr_strerror() describes them.  Functions returning int return 0 (or a
 * count) on success.
 *
 * Ownership: a struct mr_client is created by mr_client_connect() and freed
 * by mr_client_close(), which closes the socket.  Payloads passed to the
 * library are copied (mr_client_queue) or written out (mr_client_send)
 * before the call returns; the caller keeps them.  A received message
 * (mr_client_recv) points into the client's own buffer: it stays valid until
 * the next call on that client, and the caller must not free it.
 *
 * One client is not thread-safe; distinct clients are independent.
 */
#ifndef MSGROUTER_CLIENT_H
#define MSGROUTER_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum mr_error {
	MR_OK = 0,
	MR_EAGAIN = -1,		/* non-blocking call: nothing to do yet */
	MR_ETIMEDOUT = -2,	/* the timeout passed */
	MR_ECLOSED = -3,	/* the router closed the connection */
	MR_EINVAL = -4,		/* bad argument: payload with 0x00, bad address */
	MR_ECONNECT = -5,	/* cannot reach the router */
	MR_EIO = -6,		/* socket error; errno has the detail */
	MR_ENOMEM = -7,		/* out of memory */
	MR_ETOOBIG = -8,	/* message larger than the receive limit */
	MR_EPROTO = -9,		/* the router broke the protocol */
};

/* The default bound on one received message, payload + 0x00. */
#define MR_DEFAULT_MAX_MESSAGE	(1024 * 1024)

struct mr_client;

/*
 * Connect to "HOST:PORT" ("127.0.0.1:8080", "[::1]:8080", "localhost:8080")
 * and wait for the id, for at most timeout_ms (-1: no limit).  On success
 * *out is the new client.
 */
int		 mr_client_connect(const char *hostport, int timeout_ms,
		    struct mr_client **out);
/* Close the socket and free everything, unsent data included. */
void		 mr_client_close(struct mr_client *);
/* The id the router gave us. */
uint32_t	 mr_client_id(const struct mr_client *);
/* The socket, for poll/epoll/libevent; it is non-blocking. */
int		 mr_client_fd(const struct mr_client *);
/* Bound received messages (payload + 0x00); larger ones fail MR_ETOOBIG. */
void		 mr_client_set_max_message(struct mr_client *, size_t);

/*
 * Append one message to the send buffer without I/O.  A payload holding a
 * 0x00 is refused with MR_EINVAL and nothing is queued.
 */
int		 mr_client_queue(struct mr_client *, uint32_t dst,
		    const void *payload, size_t len);
/*
 * Write the send buffer, waiting at most timeout_ms (0: write what the
 * socket takes now and return MR_EAGAIN if some remains; -1: no limit).
 */
int		 mr_client_flush(struct mr_client *, int timeout_ms);
/* Bytes queued but not yet written. */
size_t		 mr_client_pending(const struct mr_client *);
/* mr_client_queue() then mr_client_flush(). */
int		 mr_client_send(struct mr_client *, uint32_t dst,
		    const void *payload, size_t len, int timeout_ms);

/*
 * Receive the next message, waiting at most timeout_ms (0: only what has
 * already arrived, MR_EAGAIN if no whole message; -1: no limit).  On
 * success *msg points at the payload, *len is its length without the 0x00,
 * and the payload is followed by its 0x00 so it is also a C string.
 */
int		 mr_client_recv(struct mr_client *, int timeout_ms,
		    const char **msg, size_t *len);

const char	*mr_strerror(int);

#ifdef __cplusplus
}
#endif

#endif
