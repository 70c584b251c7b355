/*
 * addr: parsing and formatting of numeric socket addresses.  No name
 * resolution beyond "localhost": a daemon's listen address should not depend
 * on DNS at start-up.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgrouter/addr.h"

/* "unix:/PATH" into a sockaddr_un; the prefix is already checked. */
static int
addr_parse_unix(const char *s, struct sockaddr_storage *ss,
    socklen_t *sslen, const char **why)
{
	struct sockaddr_un	*sau = (struct sockaddr_un *)ss;
	const char		*path = s + strlen(ADDR_UNIX_PREFIX);
	size_t			 len = strlen(path);

	if (path[0] != '/') {
		*why = "a Unix socket path must be absolute: unix:/PATH";
		return -1;
	}
	if (len > ADDR_UNIX_PATH_MAX) {
		*why = "Unix socket path longer than 107 bytes";
		return -1;
	}
	sau->sun_family = AF_UNIX;
	memcpy(sau->sun_path, path, len + 1);
	*sslen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	return 0;
}

int
addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
    const char **why)
{
	char			 host[ADDR_STRLEN];
	const char		*colon, *port_s, *h;
	size_t			 hlen;
	char			*end;
	unsigned long		 port;
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (strncmp(s, ADDR_UNIX_PREFIX, strlen(ADDR_UNIX_PREFIX)) == 0)
		return addr_parse_unix(s, ss, sslen, why);
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':') {
			*why = "expected [IPv6]:PORT";
			return -1;
		}
		h = s + 1;
		hlen = (size_t)(close - h);
		port_s = close + 2;
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			*why = "expected ADDRESS:PORT";
			return -1;
		}
		if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
			*why = "IPv6 addresses take brackets: [::1]:PORT";
			return -1;
		}
		h = s;
		hlen = (size_t)(colon - s);
		port_s = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof host) {
		*why = "missing or overlong address";
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (*port_s < '0' || *port_s > '9') {
		*why = "port must be a number from 0 to 65535";
		return -1;
	}
	port = strtoul(port_s, &end, 10);
	if (*end != '\0' || port > 65535) {
		*why = "port must be a number from 0 to 65535";
		return -1;
	}
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (strcmp(host, "*") == 0)
		strcpy(host, "0.0.0.0");
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*sslen = sizeof *sin;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof *sin6;
		return 0;
	}
	*why = "not a numeric IPv4 or IPv6 address";
	return -1;
}

const char *
addr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char	host[INET6_ADDRSTRLEN];

	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
		break;
	}
	case AF_UNIX: {
		const struct sockaddr_un *sau = (const struct sockaddr_un *)sa;
		/* A peer's copy has the family only: no path to print. */
		if (sau->sun_path[0] == '/')
			snprintf(buf, len, "%s%.*s", ADDR_UNIX_PREFIX,
			    (int)ADDR_UNIX_PATH_MAX, sau->sun_path);
		else
			snprintf(buf, len, "unix");
		break;
	}
	default:
		snprintf(buf, len, "unknown");
		break;
	}
	return buf;
}

int
addr_is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)sa;

	switch (sa->sa_family) {
	case AF_INET:
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	case AF_INET6:
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    sin6->sin6_addr.s6_addr[12] == 127;
	case AF_UNIX:
		return 1;
	default:
		return 0;
	}
}

void
addr_copy(union addr_any *dst, const struct sockaddr *sa, int socklen)
{
	memset(dst, 0, sizeof *dst);
	/* accept(2) gives at least the family (an unnamed peer, 2 bytes). */
	if (socklen >= (int)sizeof(sa_family_t) && sa->sa_family == AF_UNIX) {
		dst->sa.sa_family = AF_UNIX;
		return;
	}
	if (socklen > 0 && (size_t)socklen <= sizeof *dst)
		memcpy(dst, sa, (size_t)socklen);
}
