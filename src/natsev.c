/*
 * natsev: the libevent adapter.  Modelled on libnats's own
 * adapters/libevent.h, with two differences.
 *
 * Delivery: after natsConnection_ProcessReadEvent the owner's drain
 * callback runs on the loop's thread, so messages are taken off sync
 * subscriptions where the router lives; nothing is delivered by a library
 * thread.
 *
 * Re-attaching: libnats calls the attach callback from its reconnect
 * thread while holding the connection's lock.  The library's adapter
 * frees the old events there; event_free on an event whose callback the
 * loop is running waits for that callback, and a callback in
 * natsConnection_ProcessReadEvent waits for the connection's lock: a
 * deadlock.  Here attach only records the new socket and activates
 * ne_attach; the loop's thread re-assigns the read and write events to
 * the socket.  Until it has, read and write requests are recorded and
 * applied then.  One mutex, ne_mu, orders all of it; it is taken inside
 * the connection's lock (the callbacks run under it) and never the other
 * way round.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "msgrouter/log.h"
#include "msgrouter/natsev.h"

struct natsev {
	struct event_base	*ne_base;
	natsConnection		*ne_nc;		/* set by the first attach */
	natsev_drain_fn		 ne_drain;
	natsev_written_fn	 ne_written;
	void			*ne_arg;
	pthread_mutex_t		 ne_mu;
	struct event		*ne_read;	/* assigned on the loop thread */
	struct event		*ne_write;
	struct event		*ne_attach;	/* applies a new socket */
	evutil_socket_t		 ne_fd;		/* socket of ne_read/ne_write */
	evutil_socket_t		 ne_new_fd;	/* attached, not yet applied */
	bool			 ne_pending;	/* ne_new_fd waits for the loop */
	bool			 ne_want_read;
	bool			 ne_want_write;
	unsigned long		 ne_reads;
};

int
natsev_threads(void)
{
	return evthread_use_pthreads();
}

/* The socket is readable or writable: let the library read or write. */
static void
natsev_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct natsev	*ne = arg;
	natsConnection	*nc;

	pthread_mutex_lock(&ne->ne_mu);
	nc = ne->ne_nc;
	pthread_mutex_unlock(&ne->ne_mu);
	if (nc == NULL)
		return;		/* detached in this loop pass */
	if (what & EV_READ) {
		natsConnection_ProcessReadEvent(nc);
		ne->ne_reads++;
		ne->ne_drain(nc, ne->ne_arg);
	}
	if (what & EV_WRITE) {
		natsConnection_ProcessWriteEvent(nc);
		if (ne->ne_written != NULL)
			ne->ne_written(nc, ne->ne_arg);
	}
}

/* Add or delete one of the two events, from any thread; with ne_mu held. */
static int
natsev_want(struct natsev *ne, struct event *ev, bool want)
{
	if (ne->ne_pending || ne->ne_fd == EVUTIL_INVALID_SOCKET)
		return 0;	/* applied by natsev_attach_cb */
	return want ? event_add(ev, NULL) : event_del_noblock(ev);
}

/* On the loop's thread: move both events to the socket last attached. */
static void
natsev_attach_cb(evutil_socket_t unused, short what, void *arg)
{
	struct natsev	*ne = arg;

	pthread_mutex_lock(&ne->ne_mu);
	if (ne->ne_pending) {
		event_del(ne->ne_read);
		event_del(ne->ne_write);
		ne->ne_fd = ne->ne_new_fd;
		ne->ne_pending = false;
		event_assign(ne->ne_read, ne->ne_base, ne->ne_fd,
		    EV_READ | EV_PERSIST, natsev_io_cb, ne);
		event_assign(ne->ne_write, ne->ne_base, ne->ne_fd,
		    EV_WRITE | EV_PERSIST, natsev_io_cb, ne);
		if (ne->ne_want_read && event_add(ne->ne_read, NULL) != 0)
			log_warnx("nats: cannot watch the socket for reading");
		if (ne->ne_want_write && event_add(ne->ne_write, NULL) != 0)
			log_warnx("nats: cannot watch the socket for writing");
	}
	pthread_mutex_unlock(&ne->ne_mu);
}

/* libnats: a socket is connected (first connect or reconnect). */
static natsStatus
natsev_lib_attach(void **userdata, void *loop, natsConnection *nc,
    natsSock fd)
{
	struct natsev	*ne = loop;

	pthread_mutex_lock(&ne->ne_mu);
	ne->ne_nc = nc;
	ne->ne_new_fd = fd;
	ne->ne_pending = true;
	/* A new socket is read from at once, as the library expects. */
	ne->ne_want_read = true;
	ne->ne_want_write = false;
	event_active(ne->ne_attach, EV_READ, 0);
	pthread_mutex_unlock(&ne->ne_mu);
	*userdata = ne;
	return NATS_OK;
}

/* libnats: start or stop reading the socket. */
static natsStatus
natsev_lib_read(void *userdata, bool add)
{
	struct natsev	*ne = userdata;
	int		 rc;

	pthread_mutex_lock(&ne->ne_mu);
	ne->ne_want_read = add;
	rc = natsev_want(ne, ne->ne_read, add);
	pthread_mutex_unlock(&ne->ne_mu);
	return rc == 0 ? NATS_OK : NATS_ERR;
}

/* libnats: start or stop the write event (data waits in its buffer). */
static natsStatus
natsev_lib_write(void *userdata, bool add)
{
	struct natsev	*ne = userdata;
	int		 rc;

	pthread_mutex_lock(&ne->ne_mu);
	ne->ne_want_write = add;
	rc = natsev_want(ne, ne->ne_write, add);
	pthread_mutex_unlock(&ne->ne_mu);
	return rc == 0 ? NATS_OK : NATS_ERR;
}

/*
 * libnats: the connection is closed for good.  Stop watching; the events
 * themselves are freed by natsev_free on the loop's thread.
 */
static natsStatus
natsev_lib_detach(void *userdata)
{
	struct natsev	*ne = userdata;

	pthread_mutex_lock(&ne->ne_mu);
	ne->ne_want_read = ne->ne_want_write = false;
	ne->ne_pending = false;
	ne->ne_nc = NULL;
	if (ne->ne_fd != EVUTIL_INVALID_SOCKET) {
		event_del_noblock(ne->ne_read);
		event_del_noblock(ne->ne_write);
	}
	ne->ne_fd = EVUTIL_INVALID_SOCKET;
	pthread_mutex_unlock(&ne->ne_mu);
	return NATS_OK;
}

struct natsev *
natsev_new(struct event_base *base, natsev_drain_fn drain,
    natsev_written_fn written, void *arg)
{
	struct natsev	*ne;

	if ((ne = calloc(1, sizeof *ne)) == NULL)
		return NULL;
	ne->ne_base = base;
	ne->ne_drain = drain;
	ne->ne_written = written;
	ne->ne_arg = arg;
	ne->ne_fd = ne->ne_new_fd = EVUTIL_INVALID_SOCKET;
	if (pthread_mutex_init(&ne->ne_mu, NULL) != 0) {
		free(ne);
		return NULL;
	}
	/* Assigned to the real socket by natsev_attach_cb. */
	ne->ne_read = event_new(base, EVUTIL_INVALID_SOCKET, 0, natsev_io_cb,
	    ne);
	ne->ne_write = event_new(base, EVUTIL_INVALID_SOCKET, 0, natsev_io_cb,
	    ne);
	ne->ne_attach = event_new(base, EVUTIL_INVALID_SOCKET, 0,
	    natsev_attach_cb, ne);
	if (ne->ne_read == NULL || ne->ne_write == NULL ||
	    ne->ne_attach == NULL) {
		natsev_free(ne);
		return NULL;
	}
	return ne;
}

natsStatus
natsev_options(struct natsev *ne, natsOptions *opts)
{
	natsStatus	s;

	s = natsOptions_SetEventLoop(opts, ne, natsev_lib_attach,
	    natsev_lib_read, natsev_lib_write, natsev_lib_detach);
	if (s == NATS_OK)
		s = natsOptions_SetSendAsap(opts, true);
	return s;
}

void
natsev_free(struct natsev *ne)
{
	if (ne == NULL)
		return;
	if (ne->ne_read != NULL)
		event_free(ne->ne_read);
	if (ne->ne_write != NULL)
		event_free(ne->ne_write);
	if (ne->ne_attach != NULL)
		event_free(ne->ne_attach);
	pthread_mutex_destroy(&ne->ne_mu);
	free(ne);
}

unsigned long
natsev_reads(const struct natsev *ne)
{
	return ne->ne_reads;
}
