/*
 * tls: the server's TLS context, built from the [tls] keys.  One SSL_CTX is
 * current at a time; tls_ssl_new makes each new connection's SSL from it.
 * tls_reload builds a whole new context from the files and swaps it in
 * only if everything loaded, so a broken file on SIGHUP changes nothing:
 * connections already up keep the context they started with (an SSL holds
 * a reference to its SSL_CTX).
 *
 * Settings of every context: the certificate chain and key (checked to
 * match), with tls.ca clients must present a certificate that chains to it
 * (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT), tls.min_version,
 * tls.ciphers (TLSv1.2) and tls.ciphersuites (TLSv1.3) when set,
 * SSL_MODE_RELEASE_BUFFERS (an idle connection holds no record buffers), no
 * renegotiation, and a small server-side session cache.
 */
#ifndef MSGROUTER_TLS_H
#define MSGROUTER_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "msgrouter/config.h"

struct tls;

/*
 * Build the context from cf's [tls] keys.  NULL with "KEY: FILE: why" (or
 * "KEY: why") in err.
 */
struct tls	*tls_new(const struct config *, char *err, size_t errlen);
void		 tls_free(struct tls *);
/*
 * Build a new context from cf and make it current; on any failure keep the
 * current one and return -1 with the reason in err.
 */
int		 tls_reload(struct tls *, const struct config *, char *err,
		    size_t errlen);
/* A new server-side SSL from the current context; NULL if out of memory. */
SSL		*tls_ssl_new(struct tls *);
/*
 * The reason OpenSSL gave for the last failure on this thread, or def:
 * ERR_error_string of the first error queued (the queue is cleared).
 * buf holds at least 256 bytes.
 */
const char	*tls_error(char *buf, size_t len, const char *def);
/* The subject and serial of the current certificate, for the log. */
void		 tls_describe(struct tls *, char *buf, size_t len);

#endif
