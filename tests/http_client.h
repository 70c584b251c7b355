/*
 * http_client: a tiny blocking HTTP/1.0 client for the admin tests.  One
 * request per connection, the whole response read until EOF, every wait
 * bounded by a deadline.
 */
#ifndef MSGROUTER_TESTS_HTTP_CLIENT_H
#define MSGROUTER_TESTS_HTTP_CLIENT_H

#include <stddef.h>

struct http_response {
	int	 status;	/* 0: no response */
	char	*head;		/* status line and headers, NUL-terminated */
	char	*body;		/* NUL-terminated */
	size_t	 body_len;
};

/*
 * Send "METHOD path HTTP/1.0" with the extra header lines (each ending in
 * \r\n, or NULL) to 127.0.0.1:port and read the response.  0, or -1 if no
 * well-formed response came within timeout_ms.
 */
int	http_request(int port, const char *method, const char *path,
	    const char *headers, struct http_response *, int timeout_ms);
/* The same to the Unix socket at sockpath (a file path, no "unix:"). */
int	http_request_unix(const char *sockpath, const char *method,
	    const char *path, const char *headers, struct http_response *,
	    int timeout_ms);
/* The value of a response header (case-insensitive name), or NULL. */
const char *http_header(const struct http_response *, const char *name,
	    char *buf, size_t len);
void	http_response_free(struct http_response *);

#endif
