/*
 * libmsgrouter-client: a small blocking-or-polling client for msgrouterd.
 *
 * Protocol: on connect the router sends our 4-byte big-endian id; a message
 * is sent as a 4-byte big-endian destination id, payload bytes (no 0x00) and
 * one 0x00; the router delivers payload + 0x00 to the destination.
 *
 * Errors are returned as negative MR_E* codes, never printed and never fatal;
 * mr_strerror() describes them.  Functions returning int return 0 (or a
 * count) on success; mr_client_send() may also return MR_QUEUED (positive).
 *
 * Ownership: a struct mr_client is created by mr_client_connect() and freed
 * by mr_client_close(), which closes the socket.  Payloads passed to the
 * library are copied into the send buffer (mr_client_queue, mr_client_send)
 * before the call returns; the caller keeps them.  A received message
 * (mr_client_recv) points into the client's own buffer: it stays valid until
 * the next call on that client, and the caller must not free it.
 *
 * One client is not thread-safe; distinct clients are independent, except
 * that clients made with one struct mr_tls share its error text (see
 * mr_tls_error()).
 *
 * TLS (mr_client_connect_tls): the same protocol inside TLS.  A struct
 * mr_tls holds the settings (CA, client certificate, verification) and one
 * OpenSSL context shared by every client made with it; it must outlive
 * them.  mr_client_fd() is still the socket to poll, and the calls keep
 * their meaning: MR_EAGAIN with timeout 0 means TLS had nothing more either.
 */
#ifndef MSGROUTER_CLIENT_H
#define MSGROUTER_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum mr_error {
	MR_QUEUED = 1,		/* mr_client_send: queued, not all written yet */
	MR_OK = 0,
	MR_EAGAIN = -1,		/* non-blocking call: nothing to do yet */
	MR_ETIMEDOUT = -2,	/* the timeout passed */
	MR_ECLOSED = -3,	/* the router closed the connection */
	MR_EINVAL = -4,		/* bad argument: payload with 0x00, bad address */
	MR_ECONNECT = -5,	/* cannot reach the router */
	MR_EIO = -6,		/* socket error; errno has the detail */
	MR_ENOMEM = -7,		/* out of memory */
	MR_ETOOBIG = -8,	/* message larger than the receive limit */
	MR_ETLS = -9,		/* TLS failure; mr_tls_error() has the detail */
};

/* The default bound on one received message, payload + 0x00. */
#define MR_DEFAULT_MAX_MESSAGE	(1024 * 1024)
/* The default bound on bytes queued for sending (mr_client_pending). */
#define MR_DEFAULT_MAX_PENDING	(16 * 1024 * 1024)

struct mr_client;

/*
 * Connect to "HOST:PORT" ("127.0.0.1:8080", "[::1]:8080", "localhost:8080")
 * or to a Unix socket, "unix:/PATH" ("unix:/run/msgrouterd/router.sock"),
 * and wait for the id, for at most timeout_ms (-1: no limit).  On success
 * *out is the new client.
 */
int		 mr_client_connect(const char *hostport, int timeout_ms,
		    struct mr_client **out);
/*
 * Take over fd, a connected stream socket (TCP or AF_UNIX, for example one
 * end of a socketpair), make it non-blocking and wait for the id as
 * mr_client_connect() does.  On success the client owns fd and
 * mr_client_close() closes it; on failure the caller still owns fd.
 */
int		 mr_client_attach(int fd, int timeout_ms, struct mr_client **out);
/* Close the socket and free everything, unsent data included. */
void		 mr_client_close(struct mr_client *);
/* The id the router gave us. */
uint32_t	 mr_client_id(const struct mr_client *);
/* The socket, for poll/epoll/libevent; it is non-blocking. */
int		 mr_client_fd(const struct mr_client *);
/*
 * Bound received messages (payload + 0x00); larger ones fail MR_ETOOBIG
 * once, their bytes are discarded and the next recv returns the message
 * after them.  The receive buffer never grows past this bound (or 256 KiB,
 * whichever is larger).
 */
void		 mr_client_set_max_message(struct mr_client *, size_t);
/*
 * Bound the bytes queued but not yet written (default MR_DEFAULT_MAX_PENDING).
 * A frame that would go past it is refused by mr_client_queue() with
 * MR_EAGAIN (flush, then queue again) or, if it is larger than the bound
 * on its own, MR_ETOOBIG.
 */
void		 mr_client_set_max_pending(struct mr_client *, size_t);

/*
 * Append one message to the send buffer without I/O.  A payload holding a
 * 0x00 is refused with MR_EINVAL and nothing is queued; so is a frame that
 * does not fit under the pending bound (MR_EAGAIN, or MR_ETOOBIG if it never
 * can, see mr_client_set_max_pending).
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
/*
 * Queue one message and flush, all within timeout_ms (0: no waiting; -1: no
 * limit).  The result says whether the message was queued:
 *
 *  MR_OK        queued, and the whole send buffer, this frame included, was
 *               written to the socket.
 *  MR_QUEUED    queued, but the flush did not finish in time: the frame
 *               waits in the send buffer (mr_client_pending() > 0) and goes
 *               out with the next mr_client_flush() or mr_client_send().
 *               Do not send it again.
 *  MR_EAGAIN,   not queued: the send buffer was full (max_pending) and not
 *  MR_ETIMEDOUT enough of it could be written in time (MR_EAGAIN with
 *               timeout 0).  Nothing changed but what was written of older
 *               frames; sending again later is safe.
 *  MR_EINVAL,   not queued (see mr_client_queue()); sending the same
 *  MR_ETOOBIG,  payload again fails the same way, except after MR_ENOMEM.
 *  MR_ENOMEM
 *  MR_ECLOSED,  the connection is broken, before or after the frame was
 *  MR_EIO,      queued: whether the router got it is unknown.  Close the
 *  MR_ETLS      client.
 *
 * When the send buffer is full, only enough of it is written to make room
 * for this frame before it is queued.
 */
int		 mr_client_send(struct mr_client *, uint32_t dst,
		    const void *payload, size_t len, int timeout_ms);

/*
 * Receive the next message, waiting at most timeout_ms (0: only what has
 * already arrived, MR_EAGAIN if no whole message; -1: no limit).  On
 * success *msg points at the payload, *len is its length without the 0x00,
 * and the payload is followed by its 0x00 so it is also a C string.
 * MR_EAGAIN with timeout 0 means the socket was read until it had nothing
 * more, so it suits edge-triggered epoll.  Messages that arrived before the
 * router closed are returned before MR_ECLOSED.  recv does not write: queued
 * data waits for mr_client_flush().
 */
int		 mr_client_recv(struct mr_client *, int timeout_ms,
		    const char **msg, size_t *len);

const char	*mr_strerror(int);

struct mr_tls;

/*
 * New TLS settings: verify the router's certificate against the system's
 * CA store and its name against the host of the address; no client
 * certificate.  NULL when out of memory or when OpenSSL cannot start.
 */
struct mr_tls	*mr_tls_new(void);
/* Free the settings; every client made with them must be closed first. */
void		 mr_tls_free(struct mr_tls *);
/*
 * Verify the router's certificate against the CA certificates in the PEM
 * file cafile instead of the system's.  MR_ETLS if it cannot be loaded.
 */
int		 mr_tls_set_ca(struct mr_tls *, const char *cafile);
/*
 * Present the client certificate in the PEM file certfile (with its chain)
 * and its private key from keyfile, for routers that require one (mTLS).
 * MR_ETLS if either cannot be loaded or the key does not match.
 */
int		 mr_tls_set_cert(struct mr_tls *, const char *certfile,
		    const char *keyfile);
/*
 * insecure != 0: accept any certificate and name.  The traffic is still
 * encrypted, but anyone on the path can pose as the router.
 */
void		 mr_tls_set_insecure(struct mr_tls *, int insecure);
/*
 * Why the last call made with these settings failed with MR_ETLS, in one
 * line: OpenSSL's reason and, when the router's certificate was refused,
 * the verification result, like "certificate verify failed (unable to get
 * local issuer certificate)".  Clients made with one mr_tls in different
 * threads need one mr_tls per thread for this text to be theirs.
 */
const char	*mr_tls_error(const struct mr_tls *);
/*
 * Like mr_client_connect(), then a TLS handshake with tls's settings, all
 * within timeout_ms; the name checked in the router's certificate is the
 * HOST of hostport (an IP address is checked as one; a "unix:/PATH" has
 * none, and only the chain is verified).  A failed handshake
 * or verification is MR_ETLS, with the reason in mr_tls_error().  Later
 * calls on the client may also return MR_ETLS.
 */
int		 mr_client_connect_tls(const char *hostport,
		    struct mr_tls *tls, int timeout_ms, struct mr_client **out);

#ifdef __cplusplus
}
#endif

#endif
