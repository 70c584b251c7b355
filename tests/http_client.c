/*
 * http_client: blocking HTTP/1.0 over loopback or a Unix socket for tests,
 * part of the harness library.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "http_client.h"

/* Read everything until EOF into a NUL-terminated buffer; -1 on timeout. */
static int
http_read_all(int fd, char **out, size_t *outlen, long long deadline)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	char		*buf = NULL, *nbuf;
	size_t		 len = 0, cap = 0;
	ssize_t		 n;
	long long	 left;

	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			if ((nbuf = realloc(buf, cap)) == NULL)
				break;
			buf = nbuf;
		}
		if ((left = deadline - tc_now_ms()) <= 0)
			break;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* EOF, or a reset after a complete reply. */
			buf[len] = '\0';
			*out = buf;
			*outlen = len;
			return 0;
		}
		len += (size_t)n;
	}
	free(buf);
	return -1;
}

/* The request on a connection to sa, the response into r. */
static int
http_request_to(const struct sockaddr *sa, socklen_t salen,
    const char *method, const char *path, const char *headers,
    struct http_response *r, int timeout_ms)
{
	long long		 deadline = tc_now_ms() + timeout_ms;
	char			*all, *sep, req[2048];
	size_t			 len;
	int			 fd, n;

	memset(r, 0, sizeof *r);
	if ((fd = socket(sa->sa_family, SOCK_STREAM, 0)) == -1)
		return -1;
	n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n"
	    "%s\r\n", method, path, headers != NULL ? headers : "");
	if (connect(fd, sa, salen) != 0 ||
	    n < 0 || (size_t)n >= sizeof req ||
	    send(fd, req, (size_t)n, MSG_NOSIGNAL) != n ||
	    http_read_all(fd, &all, &len, deadline) != 0) {
		close(fd);
		return -1;
	}
	close(fd);
	if ((sep = strstr(all, "\r\n\r\n")) == NULL ||
	    sscanf(all, "HTTP/1.%*d %d", &r->status) != 1) {
		free(all);
		return -1;
	}
	*sep = '\0';
	r->head = all;
	r->body_len = len - (size_t)(sep + 4 - all);
	if ((r->body = malloc(r->body_len + 1)) == NULL) {
		http_response_free(r);
		return -1;
	}
	memcpy(r->body, sep + 4, r->body_len);
	r->body[r->body_len] = '\0';
	return 0;
}

int
http_request(int port, const char *method, const char *path,
    const char *headers, struct http_response *r, int timeout_ms)
{
	struct sockaddr_in	sin;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return http_request_to((struct sockaddr *)&sin, sizeof sin, method,
	    path, headers, r, timeout_ms);
}

int
http_request_unix(const char *sockpath, const char *method, const char *path,
    const char *headers, struct http_response *r, int timeout_ms)
{
	struct sockaddr_un	sun;

	memset(r, 0, sizeof *r);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(sockpath) >= sizeof sun.sun_path)
		return -1;
	strcpy(sun.sun_path, sockpath);
	return http_request_to((struct sockaddr *)&sun, sizeof sun, method,
	    path, headers, r, timeout_ms);
}

const char *
http_header(const struct http_response *r, const char *name, char *buf,
    size_t len)
{
	const char	*p, *eol;
	size_t		 nlen = strlen(name), vlen;

	for (p = strstr(r->head, "\r\n"); p != NULL; p = strstr(p, "\r\n")) {
		p += 2;
		if (strncasecmp(p, name, nlen) != 0 || p[nlen] != ':')
			continue;
		p += nlen + 1;
		while (*p == ' ')
			p++;
		eol = strstr(p, "\r\n");
		vlen = eol != NULL ? (size_t)(eol - p) : strlen(p);
		if (vlen >= len)
			vlen = len - 1;
		memcpy(buf, p, vlen);
		buf[vlen] = '\0';
		return buf;
	}
	return NULL;
}

void
http_response_free(struct http_response *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof *r);
}
