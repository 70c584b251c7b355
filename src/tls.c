/*
 * tls: the server's SSL_CTX, built from the [tls] keys, swapped whole on a
 * reload.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "msgrouter/config.h"
#include "msgrouter/log.h"
#include "msgrouter/tls.h"

/*
 * Sessions a server keeps for resumption (OpenSSL's default is 20,480, up
 * to a few MiB); TLSv1.3 resumes through stateless tickets anyway.
 */
#define TLS_SESSION_CACHE	1024
/* Names the sessions of this server (needed with client certificates). */
#define TLS_SESSION_ID		"msgrouterd"

struct tls {
	SSL_CTX		*tl_ctx;	/* current: new connections use it */
};

const char *
tls_error(char *buf, size_t len, const char *def)
{
	unsigned long	e;

	if ((e = ERR_get_error()) == 0) {
		snprintf(buf, len, "%s", def);
		return buf;
	}
	ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* A key file with a passphrase fails to load rather than ask a terminal. */
static int
tls_no_passphrase_cb(char *buf, int size, int rwflag, void *arg)
{
	return 0;
}

/* Record "tls.KEY: FILE: why" from OpenSSL's error queue; returns NULL. */
static SSL_CTX *
tls_failed(SSL_CTX *ctx, const char *key, const char *file, const char *def,
    char *err, size_t errlen)
{
	char	why[256];

	tls_error(why, sizeof why, def);
	if (file != NULL)
		snprintf(err, errlen, "tls.%s: %s: %s", key, file, why);
	else
		snprintf(err, errlen, "tls.%s: %s", key, why);
	SSL_CTX_free(ctx);
	return NULL;
}

/* Require client certificates that chain to the CA file. */
static int
tls_ctx_ca(SSL_CTX *ctx, const char *ca)
{
	STACK_OF(X509_NAME)	*names;

	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		return -1;
	/* The CA names the server sends in its CertificateRequest. */
	if ((names = SSL_load_client_CA_file(ca)) == NULL)
		return -1;
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return 0;
}

/* A complete server context from cf's [tls] keys, or NULL with err. */
static SSL_CTX *
tls_ctx_new(const struct config *cf, char *err, size_t errlen)
{
	SSL_CTX	*ctx;
	int	 version;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return tls_failed(NULL, "cert", NULL, "out of memory", err,
		    errlen);
	SSL_CTX_set_default_passwd_cb(ctx, tls_no_passphrase_cb);
	version = cf->cf_tls_min_version == TLS_VERSION_1_3 ?
	    TLS1_3_VERSION : TLS1_2_VERSION;
	if (SSL_CTX_set_min_proto_version(ctx, version) != 1)
		return tls_failed(ctx, "min_version", NULL, "not supported",
		    err, errlen);
	if (cf->cf_tls_ciphers[0] != '\0' &&
	    SSL_CTX_set_cipher_list(ctx, cf->cf_tls_ciphers) != 1)
		return tls_failed(ctx, "ciphers", cf->cf_tls_ciphers,
		    "no cipher matches", err, errlen);
	if (cf->cf_tls_ciphersuites[0] != '\0' &&
	    SSL_CTX_set_ciphersuites(ctx, cf->cf_tls_ciphersuites) != 1)
		return tls_failed(ctx, "ciphersuites", cf->cf_tls_ciphersuites,
		    "no ciphersuite matches", err, errlen);
	if (SSL_CTX_use_certificate_chain_file(ctx, cf->cf_tls_cert) != 1)
		return tls_failed(ctx, "cert", cf->cf_tls_cert,
		    "cannot load the certificate", err, errlen);
	if (SSL_CTX_use_PrivateKey_file(ctx, cf->cf_tls_key,
	    SSL_FILETYPE_PEM) != 1)
		return tls_failed(ctx, "key", cf->cf_tls_key,
		    "cannot load the key (a passphrase is not supported)",
		    err, errlen);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return tls_failed(ctx, "key", cf->cf_tls_key,
		    "does not match tls.cert", err, errlen);
	if (cf->cf_tls_ca[0] != '\0' && tls_ctx_ca(ctx, cf->cf_tls_ca) != 0)
		return tls_failed(ctx, "ca", cf->cf_tls_ca,
		    "cannot load the CA certificates", err, errlen);
	/* An idle connection keeps no read or write record buffer. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/*
	 * Client-initiated renegotiation only costs the server CPU.  A peer
	 * that closes without a close_notify has sent EOF, as on the plain
	 * port: the framing already drops a frame cut short, so a truncation
	 * loses nothing that a plain client's EOF would keep.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, TLS_SESSION_CACHE);
	SSL_CTX_set_session_id_context(ctx,
	    (const unsigned char *)TLS_SESSION_ID, sizeof TLS_SESSION_ID - 1);
	return ctx;
}

struct tls *
tls_new(const struct config *cf, char *err, size_t errlen)
{
	struct tls	*tl;

	if ((tl = calloc(1, sizeof *tl)) == NULL) {
		snprintf(err, errlen, "tls: out of memory");
		return NULL;
	}
	if ((tl->tl_ctx = tls_ctx_new(cf, err, errlen)) == NULL) {
		free(tl);
		return NULL;
	}
	return tl;
}

void
tls_free(struct tls *tl)
{
	if (tl == NULL)
		return;
	SSL_CTX_free(tl->tl_ctx);
	free(tl);
}

int
tls_reload(struct tls *tl, const struct config *cf, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = tls_ctx_new(cf, err, errlen)) == NULL)
		return -1;
	/* Connections made with the old one hold their own reference. */
	SSL_CTX_free(tl->tl_ctx);
	tl->tl_ctx = ctx;
	return 0;
}

SSL *
tls_ssl_new(struct tls *tl)
{
	return SSL_new(tl->tl_ctx);
}

void
tls_describe(struct tls *tl, char *buf, size_t len)
{
	X509		*x = SSL_CTX_get0_certificate(tl->tl_ctx);
	BIGNUM		*bn;
	char		*serial = NULL, subject[256];

	if (x == NULL) {
		snprintf(buf, len, "no certificate");
		return;
	}
	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof subject);
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) != NULL)
		serial = BN_bn2hex(bn);
	snprintf(buf, len, "subject %s, serial %s", subject,
	    serial != NULL ? serial : "?");
	OPENSSL_free(serial);
	BN_free(bn);
}
