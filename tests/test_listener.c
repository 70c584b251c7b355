/*
 * Tests of the listener module in one process: a real loopback socket on
 * an event_base of our own.  Binding port 0 and reading the address back,
 * handing accepted descriptors over, the accept back-off on a real EMFILE
 * (RLIMIT_NOFILE lowered to the descriptors open), listener_resume,
 * closing for a drain, the evhttp case, and Unix sockets (the file's
 * mode, a stale file replaced, a live one or another file left alone, the
 * file removed on free only while it is ours, a path too long).  The log
 * goes to a file so that its lines, which the daemon's tests and operators
 * grep, are checked too.
 *
 * The loop is stepped one blocking pass (EVLOOP_ONCE) at a time, so every
 * count is exact: while accept is paused, nothing but the back-off timer
 * can wake the loop (a deadline timer fails the test if nothing does).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "msgrouter/addr.h"
#include "msgrouter/listener.h"
#include "msgrouter/log.h"

#include "harness.h"

#define DEADLINE_S	15

static const struct listener_conf test_conf = {
	.lc_name = "test",
	.lc_key = "test.listen",
	.lc_backlog = 8,
};

/* A routing-port style listener: no name in its lines. */
static const struct listener_conf test_conf_unnamed = {
	.lc_name = "",
	.lc_key = "router.listen",
	.lc_backlog = 8,
};

struct fixture {
	struct event_base	*base;
	struct event		*deadline;
	int			 timed_out;
	struct listener		*ls;
	uint64_t		 errors;	/* the listener's counter */
	int			 accepted;	/* connections handed over */
	evutil_socket_t		 fd;		/* the last one, or -1 */
	struct sockaddr_storage	 peer;		/* as the callback got it */
	int			 peerlen;
	struct rlimit		 saved;
	int			 lowered;	/* RLIMIT_NOFILE is lowered */
	FILE			*log;		/* stderr goes here */
	int			 saved_stderr;
};

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	((struct fixture *)arg)->timed_out = 1;
}

static int
setup(void **state)
{
	struct fixture	*fx;
	struct timeval	 tv = { DEADLINE_S, 0 };

	if ((fx = calloc(1, sizeof *fx)) == NULL)
		return -1;
	fx->fd = -1;
	fx->base = event_base_new();
	if (fx->base == NULL)
		return -1;
	fx->deadline = evtimer_new(fx->base, deadline_cb, fx);
	if (fx->deadline == NULL || evtimer_add(fx->deadline, &tv) != 0)
		return -1;
	/* The log, to a file: every line is one write(2) on descriptor 2. */
	fflush(stderr);
	if ((fx->log = tmpfile()) == NULL ||
	    (fx->saved_stderr = dup(STDERR_FILENO)) < 0 ||
	    dup2(fileno(fx->log), STDERR_FILENO) < 0)
		return -1;
	*state = fx;
	return 0;
}

/* The log so far, NUL-terminated; the caller frees it. */
static char *
log_text(struct fixture *fx)
{
	struct stat	 st;
	char		*s;
	ssize_t		 n;

	fflush(stderr);
	assert_int_equal(fstat(fileno(fx->log), &st), 0);
	assert_non_null(s = calloc(1, (size_t)st.st_size + 1));
	n = pread(fileno(fx->log), s, (size_t)st.st_size, 0);
	assert_int_equal(n, st.st_size);
	return s;
}

static void
rlimit_restore(struct fixture *fx)
{
	if (fx->lowered) {
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &fx->saved), 0);
		fx->lowered = 0;
	}
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;
	char		*log;

	rlimit_restore(fx);
	listener_free(fx->ls);
	if (fx->fd >= 0)
		close(fx->fd);
	/* Put stderr back and show what was logged, for a failing test. */
	log = log_text(fx);
	fflush(stderr);
	dup2(fx->saved_stderr, STDERR_FILENO);
	close(fx->saved_stderr);
	fclose(fx->log);
	fprintf(stderr, "%s", log);
	free(log);
	event_free(fx->deadline);
	event_base_free(fx->base);
	free(fx);
	return 0;
}

/* How many log lines hold s. */
static int
log_count(struct fixture *fx, const char *s)
{
	char	*log = log_text(fx), *p;
	int	 n = 0;

	for (p = log; (p = strstr(p, s)) != NULL; p += strlen(s))
		n++;
	free(log);
	return n;
}

/* One blocking pass of the loop: wait for something, run it. */
static void
step(struct fixture *fx)
{
	assert_int_equal(event_base_loop(fx->base, EVLOOP_ONCE), 0);
	assert_false(fx->timed_out);
}

static void
accept_cb(evutil_socket_t fd, struct sockaddr *sa, int socklen, void *arg)
{
	struct fixture	*fx = arg;

	if (fx->fd >= 0)
		close(fx->fd);
	fx->fd = fd;
	fx->accepted++;
	assert_true(socklen > 0 && (size_t)socklen <= sizeof fx->peer);
	memcpy(&fx->peer, sa, (size_t)socklen);
	fx->peerlen = socklen;
}

static socklen_t
sockaddr_len(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_UNIX)
		return sizeof(struct sockaddr_un);
	return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
}

/* A blocking client connected to sa; loopback completes it in the backlog. */
static int
client(const struct sockaddr *sa)
{
	int	fd;

	assert_true((fd = socket(sa->sa_family, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(connect(fd, sa, sockaddr_len(sa)), 0);
	return fd;
}

/* Run out of descriptors: the limit becomes the lowest one free. */
static void
rlimit_exhaust(struct fixture *fx)
{
	struct rlimit	rl;
	int		fd;

	assert_true((fd = open("/dev/null", O_RDONLY)) >= 0);
	close(fd);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &fx->saved), 0);
	rl = fx->saved;
	rl.rlim_cur = (rlim_t)fd;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	fx->lowered = 1;
	errno = 0;
	assert_int_equal(open("/dev/null", O_RDONLY), -1);
	assert_int_equal(errno, EMFILE);
}

/* A listener on addr that hands connections to accept_cb. */
static void
listen_at(struct fixture *fx, const struct listener_conf *conf,
    const char *addr)
{
	fx->ls = listener_new(fx->base, conf, addr, accept_cb, fx,
	    &fx->errors);
	assert_non_null(fx->ls);
}

/*
 * A client is waiting and descriptors run out: the next pass of the loop
 * fails to accept it, once, and accept pauses.
 */
static void
accept_fails(struct fixture *fx)
{
	rlimit_exhaust(fx);
	step(fx);
	assert_int_equal(fx->errors, 1);
	assert_true(listener_paused(fx->ls));
}

/* "ADDR:PORT" of the listener's bound address. */
static const char *
bound(struct fixture *fx, char *buf, size_t len)
{
	return addr_format(listener_addr(fx->ls), buf, len);
}

static void
expect_log(struct fixture *fx, int n, const char *fmt, ...)
{
	va_list	ap;
	char	want[256];

	va_start(ap, fmt);
	vsnprintf(want, sizeof want, fmt, ap);
	va_end(ap);
	if (log_count(fx, want) != n)
		fail_msg("want %d of \"%s\", got %d", n, want,
		    log_count(fx, want));
}

/*
 * Port 0 on loopback: the address read back has the kernel's port; a
 * client there is accepted and its descriptor handed over, non-blocking
 * and close-on-exec, with the client's address.
 */
static void
accept_one(struct fixture *fx, const char *addr, int family)
{
	const struct sockaddr	*sa;
	struct sockaddr_storage	 local, peer;
	socklen_t		 len;
	char			 a[ADDR_STRLEN], b[ADDR_STRLEN];
	int			 c;

	listen_at(fx, &test_conf_unnamed, addr);
	sa = listener_addr(fx->ls);
	assert_int_equal(sa->sa_family, family);
	if (family == AF_INET)
		assert_int_not_equal(
		    ((const struct sockaddr_in *)sa)->sin_port, 0);
	else
		assert_int_not_equal(
		    ((const struct sockaddr_in6 *)sa)->sin6_port, 0);
	/* No name: the routing port's line, as the integration tests see it. */
	expect_log(fx, 1, " info  listening on %s\n", bound(fx, a, sizeof a));
	assert_false(listener_paused(fx->ls));

	c = client(sa);
	while (fx->accepted == 0)
		step(fx);
	assert_int_equal(fx->accepted, 1);
	assert_int_equal(fx->errors, 0);
	assert_true(fcntl(fx->fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fx->fd, F_GETFD) & FD_CLOEXEC);
	/* Both ends agree, and the callback got the client's address. */
	len = sizeof local;
	assert_int_equal(getsockname(c, (struct sockaddr *)&local, &len), 0);
	len = sizeof peer;
	assert_int_equal(getpeername(fx->fd, (struct sockaddr *)&peer, &len),
	    0);
	addr_format((struct sockaddr *)&local, a, sizeof a);
	assert_string_equal(addr_format((struct sockaddr *)&peer, b,
	    sizeof b), a);
	assert_string_equal(addr_format((struct sockaddr *)&fx->peer, b,
	    sizeof b), a);
	close(c);
}

static void
test_accept_v4(void **state)
{
	accept_one(*state, "127.0.0.1:0", AF_INET);
}

/* The same on IPv6 loopback, where the machine has it. */
static void
test_accept_v6(void **state)
{
	harness_need_ipv6();
	accept_one(*state, "[::1]:0", AF_INET6);
}

/* Each way setting up fails returns NULL and logs the address and key. */
static void
test_setup_failures(void **state)
{
	struct fixture		*fx = *state;
	static const struct listener_conf long_name = {
		.lc_name = "a-name-of-16-chr",
		.lc_key = "test.listen",
		.lc_backlog = 8,
	};
	char			 addr[ADDR_STRLEN];
	int			 fd;

	assert_null(listener_new(fx->base, &test_conf, "nonsense", accept_cb,
	    fx, &fx->errors));
	expect_log(fx, 1, " error cannot listen on nonsense (test.listen): "
	    "expected ADDRESS:PORT\n");
	assert_null(listener_new(fx->base, &long_name, "127.0.0.1:0",
	    accept_cb, fx, NULL));
	expect_log(fx, 1, " error cannot listen on 127.0.0.1:0 (test.listen): "
	    "name too long\n");

	/* An address in use: errno's text, as the daemon's tests expect. */
	fd = harness_listener(addr, sizeof addr);
	assert_null(listener_new(fx->base, &test_conf, addr, accept_cb, fx,
	    &fx->errors));
	expect_log(fx, 1, " error cannot listen on %s (test.listen): "
	    "Address already in use\n", addr);
	close(fd);
	assert_int_equal(fx->errors, 0);
	expect_log(fx, 0, "listening on");
}

/*
 * Out of descriptors: one failed accept, then accept is off until the
 * back-off timer, which is all that can wake the loop meanwhile; each
 * back-off costs one more failure, not a spin; with descriptors again the
 * waiting client is accepted when the back-off ends.
 */
static void
test_backoff_timer(void **state)
{
	struct fixture	*fx = *state;
	char		 a[ADDR_STRLEN];
	int		 c;

	listen_at(fx, &test_conf, "127.0.0.1:0");
	expect_log(fx, 1, " info  test listening on %s\n",
	    bound(fx, a, sizeof a));
	c = client(listener_addr(fx->ls));
	accept_fails(fx);
	expect_log(fx, 1, " warn  test accept on %s (test.listen): Too many "
	    "open files; pausing test accept for %d ms\n", a,
	    LISTENER_BACKOFF_MS);

	/* Paused: the next thing to happen is the end of the back-off. */
	step(fx);
	assert_int_equal(fx->errors, 1);
	assert_false(listener_paused(fx->ls));
	expect_log(fx, 1, " info  test accepting connections on %s again\n",
	    a);

	/* Still out of descriptors: one more failure, paused again. */
	step(fx);
	assert_int_equal(fx->errors, 2);
	assert_true(listener_paused(fx->ls));
	assert_int_equal(fx->accepted, 0);

	rlimit_restore(fx);
	step(fx);
	assert_false(listener_paused(fx->ls));
	assert_int_equal(fx->accepted, 0);
	step(fx);
	assert_int_equal(fx->accepted, 1);
	assert_int_equal(fx->errors, 2);
	expect_log(fx, 2, "pausing test accept for");
	expect_log(fx, 2, "test accepting connections on");
	close(c);
}

/*
 * A connection of the owner's closed: listener_resume turns accept on at
 * once (the timer is off: the very next pass accepts).  It does nothing
 * when accept is not paused, nor on NULL.  Unnamed, as the routing port:
 * its lines are the ones the daemon's tests wait for.
 */
static void
test_resume(void **state)
{
	struct fixture	*fx = *state;
	char		 a[ADDR_STRLEN];
	int		 c;

	listen_at(fx, &test_conf_unnamed, "127.0.0.1:0");
	listener_resume(fx->ls);
	listener_resume(NULL);
	expect_log(fx, 0, "accepting connections");
	c = client(listener_addr(fx->ls));
	accept_fails(fx);
	expect_log(fx, 1, " warn  accept on %s (router.listen): Too many open "
	    "files; pausing accept for %d ms\n", bound(fx, a, sizeof a),
	    LISTENER_BACKOFF_MS);
	/* Resumed while still out of descriptors: one failure more. */
	listener_resume(fx->ls);
	assert_false(listener_paused(fx->ls));
	step(fx);
	assert_int_equal(fx->errors, 2);
	assert_true(listener_paused(fx->ls));

	rlimit_restore(fx);
	listener_resume(fx->ls);
	step(fx);
	assert_int_equal(fx->accepted, 1);
	assert_int_equal(fx->errors, 2);
	assert_false(listener_paused(fx->ls));
	expect_log(fx, 2, " info  accepting connections on %s again\n", a);
	close(c);
}

/* A drain closes the socket: clients are refused, the address stays. */
static void
test_close(void **state)
{
	struct fixture		*fx = *state;
	struct sockaddr_storage	 ss;
	int			 fd;

	listen_at(fx, &test_conf, "127.0.0.1:0");
	memcpy(&ss, listener_addr(fx->ls), sizeof ss);
	listener_close(fx->ls);
	listener_close(fx->ls);
	assert_memory_equal(listener_addr(fx->ls), &ss, sizeof ss);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	errno = 0;
	assert_int_equal(connect(fd, (struct sockaddr *)&ss,
	    sizeof(struct sockaddr_in)), -1);
	assert_int_equal(errno, ECONNREFUSED);
	close(fd);
	listener_resume(fx->ls);
	assert_false(listener_paused(fx->ls));
}

static void
http_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*body = evbuffer_new();

	evbuffer_add_printf(body, "ok\n");
	evhttp_send_reply(req, 200, "OK", body);
	evbuffer_free(body);
}

struct http_client {
	int		fd;
	char		buf[1024];
	size_t		len;
	int		eof;
};

static void
http_client_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_client	*hc = arg;
	ssize_t			 n;

	n = read(fd, hc->buf + hc->len, sizeof hc->buf - 1 - hc->len);
	if (n <= 0)
		hc->eof = 1;
	else
		hc->len += (size_t)n;
	hc->buf[hc->len] = '\0';
}

/* Read hc's whole reply through the loop. */
static void
http_client_wait(struct fixture *fx, struct http_client *hc)
{
	struct event	*ev;

	ev = event_new(fx->base, hc->fd, EV_READ | EV_PERSIST,
	    http_client_read_cb, hc);
	assert_non_null(ev);
	assert_int_equal(event_add(ev, NULL), 0);
	while (!hc->eof)
		step(fx);
	event_free(ev);
	assert_non_null(strstr(hc->buf, " 200 OK\r\n"));
	assert_non_null(strstr(hc->buf, "\r\n\r\nok\n"));
	close(hc->fd);
}

/* Send a request hc reads the reply to later. */
static void
http_client_send(struct http_client *hc, const struct sockaddr *sa)
{
	static const char	req[] = "GET / HTTP/1.0\r\n\r\n";

	memset(hc, 0, sizeof *hc);
	hc->fd = client(sa);
	assert_int_equal(write(hc->fd, req, sizeof req - 1),
	    (ssize_t)sizeof req - 1);
}

/*
 * Bound to an evhttp, which gets the connections: the error callback gets
 * the evhttp as its argument, and still finds the listener to pause.
 */
static void
test_http(void **state)
{
	struct fixture		*fx = *state;
	struct evhttp		*http;
	struct http_client	 hc;
	char			 a[ADDR_STRLEN];

	assert_non_null(http = evhttp_new(fx->base));
	evhttp_set_gencb(http, http_cb, NULL);
	fx->ls = listener_new_http(fx->base, &test_conf, "127.0.0.1:0", http,
	    &fx->errors);
	assert_non_null(fx->ls);
	expect_log(fx, 1, " info  test listening on %s\n",
	    bound(fx, a, sizeof a));
	http_client_send(&hc, listener_addr(fx->ls));
	http_client_wait(fx, &hc);
	assert_int_equal(fx->errors, 0);

	http_client_send(&hc, listener_addr(fx->ls));
	accept_fails(fx);
	step(fx);
	assert_int_equal(fx->errors, 1);
	assert_false(listener_paused(fx->ls));
	rlimit_restore(fx);
	http_client_wait(fx, &hc);
	assert_int_equal(fx->errors, 1);

	/* The listener goes first: the evhttp holds its socket. */
	listener_free(fx->ls);
	fx->ls = NULL;
	evhttp_free(http);
}

/*
 * An absolute path for a socket (harness_sock_path), and "unix:" and it in
 * addr; whatever is at the path is removed first.
 */
static const char *
unix_path(char *path, size_t len, char *addr, size_t alen, const char *tag)
{
	harness_sock_path(path, len, tag);
	assert_true(strlen(path) <= ADDR_UNIX_PATH_MAX);
	unlink(path);
	snprintf(addr, alen, "unix:%s", path);
	return addr;
}

/* A socket bound to path; listening if backlog > 0, else left stale. */
static int
unix_bound(const char *path, int backlog)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	if (backlog > 0)
		assert_int_equal(listen(fd, backlog), 0);
	return fd;
}

static ino_t
inode(const char *path)
{
	struct stat	st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_ino;
}

/*
 * A Unix socket: its line names the path, its file has the default mode
 * 0660 whatever the umask, a client is accepted and its address is the
 * family alone ("unix"); listener_free removes the file.
 */
static void
test_unix_accept(void **state)
{
	struct fixture	*fx = *state;
	char		 path[ADDR_STRLEN], addr[ADDR_STRLEN + 8];
	char		 a[ADDR_STRLEN];
	union addr_any	 peer;
	struct stat	 st;
	mode_t		 mask;
	int		 c;

	unix_path(path, sizeof path, addr, sizeof addr, "accept.sock");
	mask = umask(0);
	listen_at(fx, &test_conf, addr);
	umask(mask);
	expect_log(fx, 1, " info  test listening on %s\n", addr);
	assert_string_equal(bound(fx, a, sizeof a), addr);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, LISTENER_UNIX_MODE);

	c = client(listener_addr(fx->ls));
	while (fx->accepted == 0)
		step(fx);
	assert_int_equal(fx->errors, 0);
	assert_true(fcntl(fx->fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(fx->peer.ss_family, AF_UNIX);
	/* The family alone, the rest zeroed: the callback may format it. */
	assert_int_equal(fx->peerlen, sizeof(sa_family_t));
	assert_string_equal(addr_format((struct sockaddr *)&fx->peer, a,
	    sizeof a), "unix");
	addr_copy(&peer, (struct sockaddr *)&fx->peer, fx->peerlen);
	assert_int_equal(peer.sa.sa_family, AF_UNIX);
	assert_string_equal(addr_format(&peer.sa, a, sizeof a), "unix");
	assert_true(addr_is_loopback(&peer.sa));
	close(c);

	listener_free(fx->ls);
	fx->ls = NULL;
	errno = 0;
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/*
 * lc_unix_mode is the file's mode even under a umask that would take all
 * of it away (the mode is set before listen, not left to the umask); and
 * a drain (listener_close) removes the file too.
 */
static void
test_unix_mode(void **state)
{
	struct fixture	*fx = *state;
	static const struct listener_conf conf = {
		.lc_name = "test",
		.lc_key = "test.listen",
		.lc_backlog = 8,
		.lc_unix_mode = 0600,
	};
	char		 path[ADDR_STRLEN], addr[ADDR_STRLEN + 8];
	struct stat	 st;
	mode_t		 mask;

	unix_path(path, sizeof path, addr, sizeof addr, "mode.sock");
	mask = umask(0777);
	listen_at(fx, &conf, addr);
	umask(mask);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	listener_close(fx->ls);
	assert_int_equal(lstat(path, &st), -1);
}

/*
 * A socket file nothing listens on (a daemon killed) is replaced, and
 * said so; one a live process listens on is refused and left as it is.
 */
static void
test_unix_stale_and_live(void **state)
{
	struct fixture	*fx = *state;
	char		 path[ADDR_STRLEN], addr[ADDR_STRLEN + 8];
	ino_t		 ino;
	int		 fd, c;

	unix_path(path, sizeof path, addr, sizeof addr, "stale.sock");
	fd = unix_bound(path, 0);
	close(fd);
	listen_at(fx, &test_conf, addr);
	/* Not by inode: the file system may give the new file the old one. */
	expect_log(fx, 1, " info  test removing stale socket %s\n", addr);
	expect_log(fx, 1, " info  test listening on %s\n", addr);
	c = client(listener_addr(fx->ls));
	while (fx->accepted == 0)
		step(fx);
	close(c);

	/* Now ours is the live one: a second listener there is refused. */
	ino = inode(path);
	assert_null(listener_new(fx->base, &test_conf, addr, accept_cb, fx,
	    NULL));
	expect_log(fx, 1, " error cannot listen on %s (test.listen): another "
	    "process listens there\n", addr);
	assert_int_equal(inode(path), ino);
	c = client(listener_addr(fx->ls));
	while (fx->accepted == 1)
		step(fx);
	close(c);
	expect_log(fx, 1, "removing stale socket");
}

/*
 * A file that is not a socket is an error and stays as it was; a path
 * longer than sun_path holds, or a relative one, is refused before any
 * file is touched.
 */
static void
test_unix_refused(void **state)
{
	struct fixture	*fx = *state;
	char		 path[ADDR_STRLEN], addr[ADDR_STRLEN + 8], text[16];
	char		 longaddr[ADDR_STRLEN];
	FILE		*f;

	unix_path(path, sizeof path, addr, sizeof addr, "file.sock");
	harness_write_file(path, "keep me\n");
	assert_null(listener_new(fx->base, &test_conf, addr, accept_cb, fx,
	    NULL));
	expect_log(fx, 1, " error cannot listen on %s (test.listen): the "
	    "path exists and is not a socket\n", addr);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(text, sizeof text, f));
	fclose(f);
	assert_string_equal(text, "keep me\n");
	assert_int_equal(unlink(path), 0);

	/* "unix:/" and 107 bytes fit; 108 do not. */
	snprintf(longaddr, sizeof longaddr, "unix:/%0*d",
	    (int)ADDR_UNIX_PATH_MAX, 0);
	assert_null(listener_new(fx->base, &test_conf, longaddr, accept_cb,
	    fx, NULL));
	expect_log(fx, 1, " error cannot listen on %s (test.listen): Unix "
	    "socket path longer than 107 bytes\n", longaddr);
	assert_null(listener_new(fx->base, &test_conf, "unix:x.sock",
	    accept_cb, fx, NULL));
	expect_log(fx, 1, " error cannot listen on unix:x.sock (test.listen): "
	    "a Unix socket path must be absolute: unix:/PATH\n");
	expect_log(fx, 0, "listening on");
}

/*
 * The file is removed on free only while it is the one we bound: one that
 * another daemon put there since is left alone.
 */
static void
test_unix_not_ours(void **state)
{
	struct fixture	*fx = *state;
	char		 path[ADDR_STRLEN], addr[ADDR_STRLEN + 8];
	ino_t		 ino;
	int		 fd;

	unix_path(path, sizeof path, addr, sizeof addr, "ours.sock");
	listen_at(fx, &test_conf, addr);
	assert_int_equal(unlink(path), 0);
	fd = unix_bound(path, 1);
	ino = inode(path);
	listener_free(fx->ls);
	fx->ls = NULL;
	assert_int_equal(inode(path), ino);
	close(fd);
	assert_int_equal(unlink(path), 0);
}

/* An evhttp on a Unix socket answers as on TCP. */
static void
test_unix_http(void **state)
{
	struct fixture		*fx = *state;
	struct evhttp		*http;
	struct http_client	 hc;
	char			 path[ADDR_STRLEN], addr[ADDR_STRLEN + 8];

	unix_path(path, sizeof path, addr, sizeof addr, "http.sock");
	assert_non_null(http = evhttp_new(fx->base));
	evhttp_set_gencb(http, http_cb, NULL);
	fx->ls = listener_new_http(fx->base, &test_conf, addr, http,
	    &fx->errors);
	assert_non_null(fx->ls);
	http_client_send(&hc, listener_addr(fx->ls));
	http_client_wait(fx, &hc);
	assert_int_equal(fx->errors, 0);
	listener_free(fx->ls);
	fx->ls = NULL;
	evhttp_free(http);
	assert_int_equal(access(path, F_OK), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accept_v4, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_accept_v6, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_setup_failures, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_backoff_timer, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unix_accept, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unix_mode, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unix_stale_and_live, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unix_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unix_not_ours, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unix_http, setup,
		    teardown),
	};

	log_init(LOG_LEVEL_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
