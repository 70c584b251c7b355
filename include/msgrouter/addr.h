/*
 * addr: "HOST:PORT", "[V6]:PORT" and "unix:/PATH" listen and connect
 * addresses.
 */
#ifndef MSGROUTER_ADDR_H
#define MSGROUTER_ADDR_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

/*
 * Longest text addr_format writes: "unix:" and the longest socket path
 * (107 bytes on Linux), and the NUL; "[v6 address]:65535" is shorter.
 */
#define ADDR_STRLEN	128
#define ADDR_UNIX_PREFIX	"unix:"
/* Longest path of a "unix:" address: sun_path less its NUL. */
#define ADDR_UNIX_PATH_MAX	\
	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/*
 * Room for a peer's IPv4 or IPv6 address, 28 bytes rather than 128.  A
 * peer on a Unix socket is kept as its family alone (sa_family AF_UNIX,
 * no path: clients connect from unnamed sockets anyway).
 */
union addr_any {
	struct sockaddr		sa;
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
};

/*
 * Parse a numeric "1.2.3.4:80", "[::1]:80" or "localhost:80" into *ss; the
 * port may be 0.  "unix:/PATH" is a Unix socket (AF_UNIX): the path must be
 * absolute and at most ADDR_UNIX_PATH_MAX bytes.  Returns 0, or -1 with a
 * reason in *why.
 */
int		 addr_parse(const char *, struct sockaddr_storage *, socklen_t *,
		    const char **why);
/*
 * Format a socket address as "1.2.3.4:80", "[::1]:80", "unix:/PATH" into
 * buf; a Unix socket without a path (a peer) is "unix".
 */
const char	*addr_format(const struct sockaddr *, char *, size_t);
/*
 * Copy an accepted peer's address; one on a Unix socket keeps its family
 * only, another that does not fit is left zeroed.
 */
void		 addr_copy(union addr_any *, const struct sockaddr *, int socklen);
/*
 * Whether only this host can reach the address: 127/8, ::1, ::ffff:127/104
 * and any Unix socket.
 */
int		 addr_is_loopback(const struct sockaddr *);

#endif
