/*
 * fuzz_admin_http: whole HTTP requests through the admin interface as the
 * daemon serves them: evhttp's parser, the connection bounds, method and
 * token checks, path dispatch and every handler, on a router with a few
 * clients (socketpairs) and a closed one.  Each input is written on a fresh
 * loopback connection, whose write side is then shut; the loop runs until
 * the admin side closes it.  The first byte says whether a token is set.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "msgrouter/admin.h"
#include "msgrouter/config.h"
#include "msgrouter/conn.h"
#include "msgrouter/log.h"
#include "msgrouter/router.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

static struct event_base	*base;
static struct router		*rt;
static struct admin		*ad;
static int			 peers[3];

/* Give the router a client on a socketpair; the fuzzer keeps the far end. */
static struct conn *
add_client(int *peer)
{
	struct sockaddr_in	sin;
	struct conn		*c;
	int			sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
		abort();
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(40000);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((c = router_attach(rt, sv[0], (struct sockaddr *)&sin, sizeof sin))
	    == NULL)
		abort();
	*peer = sv[1];
	return c;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct config	cf;
	int		spare, i;

	log_init(LOG_LEVEL_ERROR);
	/* As in msgrouterd: a peer gone mid-write is EPIPE, not a death. */
	signal(SIGPIPE, SIG_IGN);
	config_defaults(&cf);
	cf.cf_id_mode = ID_MODE_SEQUENTIAL;
	if ((base = event_base_new()) == NULL ||
	    (rt = router_new(base, &cf)) == NULL ||
	    (ad = admin_new(rt)) == NULL ||
	    admin_listen(ad, "127.0.0.1:0") != 0)
		abort();
	for (i = 0; i < 3; i++)
		add_client(&peers[i]);
	router_close(rt, add_client(&spare), CONN_REASON_EOF);
	close(spare);
	router_flush(rt);
	return 0;
}

/*
 * A connection to the admin port.  Thousands a second, each left in
 * TIME_WAIT by the admin side's close, would exhaust one address's
 * ephemeral ports: the source cycles through 127.1.0.0/16.  A source that
 * still clashes is skipped; the admin port refusing is a failure.
 */
static int
fuzz_connect(void)
{
	static uint32_t		seq;
	struct sockaddr_in	sin;
	int			fd, try;

	for (try = 0; try < 8; try++) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			return -1;
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(0x7f010000u |
		    (1 + seq++ % 65000));
		if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0) {
			sin.sin_port = htons(admin_port(ad));
			sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			if (connect(fd, (struct sockaddr *)&sin, sizeof sin)
			    == 0)
				return fd;
		}
		fprintf(stderr, "fuzz_connect: %s\n", strerror(errno));
		close(fd);
		if (errno == ECONNREFUSED)
			break;
	}
	return -1;
}

static void
client_read_cb(evutil_socket_t fd, short what, void *arg)
{
	char	buf[65536];
	ssize_t	n;

	while ((n = read(fd, buf, sizeof buf)) > 0)
		;
	if (n == 0 || (what & EV_TIMEOUT))
		event_base_loopbreak(base);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event		*ev;
	struct timeval		 tv = { 30, 0 };
	const uint8_t		*p;
	size_t			 left;
	ssize_t			 n;
	int			 fd;

	if (size < 1)
		return 0;
	strcpy(rt->rt_config.cf_admin_token, data[0] & 1 ? "s3cret" : "");
	if ((fd = fuzz_connect()) == -1)
		abort();
	/* Loopback takes a whole input before anyone reads. */
	for (p = data + 1, left = size - 1; left > 0; p += n, left -= (size_t)n)
		if ((n = write(fd, p, left)) <= 0)
			break;
	shutdown(fd, SHUT_WR);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	ev = event_new(base, fd, EV_READ | EV_PERSIST, client_read_cb, NULL);
	event_add(ev, &tv);
	event_base_dispatch(base);
	event_free(ev);
	close(fd);
	return 0;
}
