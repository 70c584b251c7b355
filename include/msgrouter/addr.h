/*
 * addr: "HOST:PORT" and "[V6]:PORT" listen and connect addresses.
 */
#ifndef MSGROUTER_ADDR_H
#define MSGROUTER_ADDR_H

#include <netinet/in.h>
#include <sys/socket.h>

/* Longest text addr_format writes: "[v6 address]:65535" and the NUL. */
#define ADDR_STRLEN 64

/* Room for a peer's IPv4 or IPv6 address, 28 bytes rather than 128. */
union addr_any {
	struct sockaddr		sa;
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
};

/*
 * Parse a numeric "1.2.3.4:80", "[::1]:80" or "localhost:80" into *ss; the
 * port may be 0.  Returns 0, or -1 with a reason in *why.
 */
int		 addr_parse(const char *, struct sockaddr_storage *, socklen_t *,
		    const char **why);
/* Format a socket address as "1.2.3.4:80" or "[::1]:80" into buf. */
const char	*addr_format(const struct sockaddr *, char *, size_t);
/* Copy an accepted peer's address; one that does not fit is left zeroed. */
void		 addr_copy(union addr_any *, const struct sockaddr *, int socklen);
/* Whether only this host can reach the address: 127/8, ::1, ::ffff:127/104. */
int		 addr_is_loopback(const struct sockaddr *);

#endif
