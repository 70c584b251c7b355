/*
 * listener: a listening socket on an evconnlistener, with the accept
 * back-off that the routing port and the admin port share; TCP, or a Unix
 * socket whose file it makes, guards and removes.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "msgrouter/addr.h"
#include "msgrouter/listener.h"
#include "msgrouter/log.h"

#define LISTENER_LEV_FLAGS \
	(LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC)

struct listener {
	const char			*ls_key;	/* lc_key */
	char				 ls_prefix[LISTENER_NAME_MAX + 2];
	char				 ls_text[ADDR_STRLEN];	/* ls_addr */
	struct sockaddr_storage		 ls_addr;	/* bound address */
	struct evconnlistener		*ls_lev;	/* NULL once closed */
	struct evhttp			*ls_http;	/* NULL: to ls_cb */
	struct evhttp_bound_socket	*ls_bound;	/* ls_lev, in ls_http */
	listener_accept_fn		*ls_cb;
	void				*ls_arg;
	uint64_t			*ls_errors;	/* may be NULL */
	struct event			*ls_timer;	/* ends the back-off */
	int				 ls_paused;
	int				 ls_unix;	/* a file to remove */
	dev_t				 ls_dev;	/* the file we bound */
	ino_t				 ls_ino;
	TAILQ_ENTRY(listener)		 ls_entry;	/* listener_http_all */
};

/*
 * The listeners bound to an evhttp, to find one from its evconnlistener:
 * evhttp_bind_listener makes the evhttp the evconnlistener's callback
 * argument, and the error callback gets the same argument, so in
 * listener_http_error_cb that argument is not ours.
 */
static TAILQ_HEAD(, listener) listener_http_all =
    TAILQ_HEAD_INITIALIZER(listener_http_all);

/*
 * Is this accept() error the process or the system out of descriptors or
 * memory, where retrying at once would spin, rather than one failed
 * connection (ECONNABORTED...)?
 */
static int
listener_exhausted(int err)
{
	switch (err) {
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		return 1;
	default:
		return 0;
	}
}

/* The back-off ended. */
static void
listener_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	listener_resume(arg);
}

/*
 * accept() failed: count it, and out of descriptors or memory turn the
 * listener off until the timer or listener_resume.
 */
static void
listener_accept_failed(struct listener *ls, int err)
{
	struct timeval	tv = { LISTENER_BACKOFF_MS / 1000,
			    (LISTENER_BACKOFF_MS % 1000) * 1000 };

	if (ls->ls_errors != NULL)
		(*ls->ls_errors)++;
	if (!listener_exhausted(err)) {
		log_debug("%saccept on %s (%s): %s", ls->ls_prefix,
		    ls->ls_text, ls->ls_key, strerror(err));
		return;
	}
	if (ls->ls_paused)
		return;
	log_warnx("%saccept on %s (%s): %s; pausing %saccept for %d ms",
	    ls->ls_prefix, ls->ls_text, ls->ls_key, strerror(err),
	    ls->ls_prefix, LISTENER_BACKOFF_MS);
	ls->ls_paused = 1;
	evconnlistener_disable(ls->ls_lev);
	/* Should the timer fail, the next connection to close resumes. */
	if (evtimer_add(ls->ls_timer, &tv) != 0)
		log_warnx("%saccept on %s (%s): cannot arm the back-off "
		    "timer", ls->ls_prefix, ls->ls_text, ls->ls_key);
}

/* The error callback of a listener that hands connections to ls_cb. */
static void
listener_error_cb(struct evconnlistener *lev, void *arg)
{
	listener_accept_failed(arg, EVUTIL_SOCKET_ERROR());
}

/* The error callback of a listener bound to an evhttp: arg is the evhttp. */
static void
listener_http_error_cb(struct evconnlistener *lev, void *arg)
{
	struct listener	*ls;
	int		 err = EVUTIL_SOCKET_ERROR();

	TAILQ_FOREACH(ls, &listener_http_all, ls_entry) {
		if (ls->ls_lev == lev) {
			listener_accept_failed(ls, err);
			return;
		}
	}
	log_warnx("accept: %s, on a listener not ours", strerror(err));
}

/* Hand an accepted connection to the owner's callback. */
static void
listener_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int socklen, void *arg)
{
	struct listener		*ls = arg;
	struct sockaddr_un	 sau;

	/*
	 * accept(2) fills only the family of an unnamed Unix peer (socklen
	 * 2), and the rest of libevent's buffer is uninitialised: hand on
	 * the family alone, which is all that we keep of a Unix peer.
	 */
	if (sa->sa_family == AF_UNIX) {
		memset(&sau, 0, sizeof sau);
		sau.sun_family = AF_UNIX;
		sa = (struct sockaddr *)&sau;
		socklen = (int)sizeof sau.sun_family;
	}
	ls->ls_cb(fd, sa, socklen, ls->ls_arg);
}

/* Log why a listener cannot be set up (errno says nothing). */
static void
listener_failed(const struct listener_conf *lc, const char *addr,
    const char *why)
{
	log_errorx("cannot listen on %s (%s): %s", addr, lc->lc_key, why);
}

/*
 * Whether something listens on the Unix socket at path: 1 if it accepts a
 * connection (or its backlog is full), 0 if refused (a stale file), -1
 * with errno for anything else.  Non-blocking, so a full backlog cannot
 * hold us up.
 */
static int
listener_unix_live(const struct sockaddr_storage *ss, socklen_t sslen)
{
	int	fd, r, saved;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)ss, sslen) == 0)
		r = 1;
	else if (errno == EAGAIN || errno == EINPROGRESS)
		r = 1;
	else if (errno == ECONNREFUSED)
		r = 0;
	else
		r = -1;
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

/*
 * Make the listening socket of a "unix:/PATH" address, listening, or -1
 * with the reason logged.  A socket file already there is replaced only
 * if nothing listens on it; any other file is an error and left alone.
 * bind() makes the file with the umask's mode and Linux has no fchmod for
 * a socket's file: it is made 0600 under a umask of 077, then chmod to
 * mode before listen(), so no connection can be accepted under a wider
 * mode than asked, even for an instant (connect is refused until listen).
 */
static int
listener_unix_socket(struct listener *ls, const struct listener_conf *lc,
    const char *addr, const struct sockaddr_storage *ss, socklen_t sslen)
{
	const char	*path = ((const struct sockaddr_un *)ss)->sun_path;
	mode_t		 mode, mask;
	struct stat	 st;
	int		 fd, r;

	mode = lc->lc_unix_mode != 0 ? lc->lc_unix_mode : LISTENER_UNIX_MODE;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			listener_failed(lc, addr,
			    "the path exists and is not a socket");
			return -1;
		}
		if ((r = listener_unix_live(ss, sslen)) == 1) {
			listener_failed(lc, addr,
			    "another process listens there");
			return -1;
		}
		if (r == -1 && errno != ENOENT) {
			log_error("cannot listen on %s (%s): connect to the "
			    "socket there", addr, lc->lc_key);
			return -1;
		}
		if (r == 0) {
			log_info("%sremoving stale socket %s", ls->ls_prefix,
			    addr);
			if (unlink(path) != 0 && errno != ENOENT) {
				log_error("cannot listen on %s (%s): unlink "
				    "the stale socket", addr, lc->lc_key);
				return -1;
			}
		}
	} else if (errno != ENOENT) {
		log_error("cannot listen on %s (%s): stat", addr, lc->lc_key);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_error("cannot listen on %s (%s): socket", addr, lc->lc_key);
		return -1;
	}
	mask = umask(077);
	r = bind(fd, (const struct sockaddr *)ss, sslen);
	umask(mask);
	if (r != 0) {
		log_error("cannot listen on %s (%s)", addr, lc->lc_key);
		close(fd);
		return -1;
	}
	if (chmod(path, mode) != 0 || stat(path, &st) != 0) {
		log_error("cannot listen on %s (%s): chmod %04o", addr,
		    lc->lc_key, (unsigned)mode);
		unlink(path);
		close(fd);
		return -1;
	}
	if (listen(fd, lc->lc_backlog) != 0) {
		log_error("cannot listen on %s (%s)", addr, lc->lc_key);
		unlink(path);
		close(fd);
		return -1;
	}
	ls->ls_unix = 1;
	ls->ls_dev = st.st_dev;
	ls->ls_ino = st.st_ino;
	return fd;
}

/*
 * Remove a Unix socket's file if it is still the one we bound: another
 * daemon may have replaced it since (after our drain closed the socket).
 */
static void
listener_unix_remove(struct listener *ls)
{
	const char	*path = ((struct sockaddr_un *)&ls->ls_addr)->sun_path;
	struct stat	 st;

	if (!ls->ls_unix)
		return;
	ls->ls_unix = 0;
	if (stat(path, &st) != 0 || st.st_dev != ls->ls_dev ||
	    st.st_ino != ls->ls_ino)
		return;
	if (unlink(path) != 0)
		log_warn("%s%s (%s): cannot remove the socket file",
		    ls->ls_prefix, ls->ls_text, ls->ls_key);
}

/*
 * Everything but handing connections over: the struct, the bound socket
 * (disabled until the caller says where connections go), its address and
 * the back-off timer.  NULL with the reason logged.
 */
static struct listener *
listener_bind(struct event_base *base, const struct listener_conf *lc,
    const char *addr, uint64_t *accept_errors)
{
	struct listener		*ls;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	const char		*why;
	evutil_socket_t		 fd;

	if (addr_parse(addr, &ss, &sslen, &why) != 0) {
		listener_failed(lc, addr, why);
		return NULL;
	}
	if (strlen(lc->lc_name) > LISTENER_NAME_MAX) {
		listener_failed(lc, addr, "name too long");
		return NULL;
	}
	if ((ls = calloc(1, sizeof *ls)) == NULL) {
		listener_failed(lc, addr, "out of memory");
		return NULL;
	}
	ls->ls_key = lc->lc_key;
	ls->ls_errors = accept_errors;
	snprintf(ls->ls_prefix, sizeof ls->ls_prefix, "%s%s", lc->lc_name,
	    lc->lc_name[0] != '\0' ? " " : "");
	if (ss.ss_family == AF_UNIX) {
		/* Already listening: a backlog of 0 tells libevent so. */
		fd = listener_unix_socket(ls, lc, addr, &ss, sslen);
		if (fd == -1) {
			free(ls);
			return NULL;
		}
		memcpy(&ls->ls_addr, &ss, sslen);
		ls->ls_lev = evconnlistener_new(base, NULL, NULL,
		    LISTENER_LEV_FLAGS | LEV_OPT_DISABLED, 0, fd);
		if (ls->ls_lev == NULL)
			close(fd);
	} else
		ls->ls_lev = evconnlistener_new_bind(base, NULL, NULL,
		    LISTENER_LEV_FLAGS | LEV_OPT_DISABLED, lc->lc_backlog,
		    (struct sockaddr *)&ss, (int)sslen);
	if (ls->ls_lev == NULL) {
		log_error("cannot listen on %s (%s)", addr, lc->lc_key);
		listener_free(ls);
		return NULL;
	}
	sslen = sizeof ls->ls_addr;
	if (getsockname(evconnlistener_get_fd(ls->ls_lev),
	    (struct sockaddr *)&ls->ls_addr, &sslen) != 0) {
		log_error("cannot listen on %s (%s): getsockname", addr,
		    lc->lc_key);
		listener_free(ls);
		return NULL;
	}
	addr_format((struct sockaddr *)&ls->ls_addr, ls->ls_text,
	    sizeof ls->ls_text);
	if ((ls->ls_timer = evtimer_new(base, listener_timer_cb, ls)) == NULL) {
		listener_failed(lc, addr, "out of memory");
		listener_free(ls);
		return NULL;
	}
	return ls;
}

/* Start accepting and say so. */
static struct listener *
listener_start(struct listener *ls)
{
	evconnlistener_enable(ls->ls_lev);
	log_info("%slistening on %s", ls->ls_prefix, ls->ls_text);
	return ls;
}

struct listener *
listener_new(struct event_base *base, const struct listener_conf *lc,
    const char *addr, listener_accept_fn *cb, void *arg,
    uint64_t *accept_errors)
{
	struct listener	*ls;

	if ((ls = listener_bind(base, lc, addr, accept_errors)) == NULL)
		return NULL;
	ls->ls_cb = cb;
	ls->ls_arg = arg;
	evconnlistener_set_cb(ls->ls_lev, listener_accept_cb, ls);
	evconnlistener_set_error_cb(ls->ls_lev, listener_error_cb);
	return listener_start(ls);
}

struct listener *
listener_new_http(struct event_base *base, const struct listener_conf *lc,
    const char *addr, struct evhttp *http, uint64_t *accept_errors)
{
	struct listener	*ls;

	if ((ls = listener_bind(base, lc, addr, accept_errors)) == NULL)
		return NULL;
	if ((ls->ls_bound = evhttp_bind_listener(http, ls->ls_lev)) == NULL) {
		listener_failed(lc, addr, "out of memory");
		listener_free(ls);
		return NULL;
	}
	ls->ls_http = http;
	TAILQ_INSERT_TAIL(&listener_http_all, ls, ls_entry);
	evconnlistener_set_error_cb(ls->ls_lev, listener_http_error_cb);
	return listener_start(ls);
}

void
listener_close(struct listener *ls)
{
	if (ls == NULL || ls->ls_lev == NULL)
		return;
	if (ls->ls_bound != NULL) {
		TAILQ_REMOVE(&listener_http_all, ls, ls_entry);
		/* Frees ls_lev too. */
		evhttp_del_accept_socket(ls->ls_http, ls->ls_bound);
		ls->ls_bound = NULL;
	} else
		evconnlistener_free(ls->ls_lev);
	ls->ls_lev = NULL;
	listener_unix_remove(ls);
	if (ls->ls_timer != NULL)
		evtimer_del(ls->ls_timer);
	ls->ls_paused = 0;
}

void
listener_free(struct listener *ls)
{
	if (ls == NULL)
		return;
	listener_close(ls);
	/* Done by listener_close, unless the listener never got that far. */
	listener_unix_remove(ls);
	if (ls->ls_timer != NULL)
		event_free(ls->ls_timer);
	free(ls);
}

/* Accept is back on: the back-off timer fired or a connection closed. */
void
listener_resume(struct listener *ls)
{
	if (ls == NULL || !ls->ls_paused)
		return;
	ls->ls_paused = 0;
	evtimer_del(ls->ls_timer);
	evconnlistener_enable(ls->ls_lev);
	log_info("%saccepting connections on %s again", ls->ls_prefix,
	    ls->ls_text);
}

int
listener_paused(const struct listener *ls)
{
	return ls->ls_paused;
}

const struct sockaddr *
listener_addr(const struct listener *ls)
{
	return (const struct sockaddr *)&ls->ls_addr;
}
