/*
 * natsev_roundtrip: publish batches of frames and receive them back
 * through src/natsev.c, everything on the loop's thread.
 *
 * The connection's life is the one docs/CLUSTER.md plans for the daemon.
 * libnats's own reconnect is off: in libnats 3.4 with an event loop, the
 * protocol parser is not reset on reconnect, so a message cut by the
 * disconnect is completed with the new connection's bytes and delivered
 * (seen here: "PONG\r\nMSG ..." inside a payload).  Instead a closed
 * connection is destroyed on the loop and a connector thread makes a new
 * one (natsConnection_Connect blocks), subscribes, and hands it over.
 * Until then nothing is published: frames wait on our side, and only what
 * the library held when the connection broke is lost.
 */
#include "config.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "msgrouter/natsev.h"
#include "natsev_roundtrip.h"

struct roundtrip {
	const struct roundtrip_params	*r_p;
	struct roundtrip_result		*r_res;
	struct event_base		*r_base;
	struct event			*r_pump;
	struct event			*r_closed;	/* a connection closed */
	struct event			*r_handover;	/* a connection is ready */
	natsOptions			*r_opts;
	natsConnection			*r_nc;		/* loop's, or NULL */
	natsSubscription		*r_sub;
	char				 r_subject[64];
	pthread_t			 r_loop_thread;
	unsigned long			 r_total;	/* frames to send */
	unsigned char			*r_batch;
	int				 r_midway_done;

	/* The connector thread's result, under r_mu. */
	pthread_mutex_t			 r_mu;
	pthread_t			 r_connector;
	int				 r_connecting;
	natsConnection			*r_new_nc;
	natsSubscription		*r_new_sub;
	natsStatus			 r_new_status;
};

/*
 * The closed callback runs on a libnats thread, possibly after the run
 * ended: it finds the run here, under a lock, or nothing.
 */
static pthread_mutex_t	 roundtrip_mu = PTHREAD_MUTEX_INITIALIZER;
static struct roundtrip	*roundtrip_current;

/* Byte j of frame k's payload: a pattern that shows any shift or mix. */
static unsigned char
roundtrip_byte(unsigned long k, size_t j)
{
	return (unsigned char)('a' + (k * 7 + j) % 26);
}

/* Fill the batch with frames first .. first + n - 1. */
static size_t
roundtrip_fill(struct roundtrip *r, unsigned long first, unsigned n)
{
	size_t		 fs = r->r_p->rp_frame_size, j;
	unsigned char	*p = r->r_batch;
	uint32_t	 id;
	unsigned	 i;

	for (i = 0; i < n; i++) {
		id = htonl((uint32_t)(first + i + 1));
		memcpy(p, &id, 4);
		for (j = 0; j < fs - 5; j++)
			p[4 + j] = roundtrip_byte(first + i, j);
		p[fs - 1] = 0;
		p += fs;
	}
	return (size_t)(p - r->r_batch);
}

/*
 * Publish batches while the library holds less than rp_handoff bytes;
 * the rest waits on our side until the adapter reports a write event
 * (roundtrip_written): what the router's per-peer queues will do, so that
 * a broken connection loses at most the hand-off.  Nothing is published
 * without a connection.
 */
static void
roundtrip_pump_cb(evutil_socket_t fd, short what, void *arg)
{
	struct roundtrip	*r = arg;
	struct roundtrip_result	*res = r->r_res;
	const struct roundtrip_params *p = r->r_p;
	natsStatus		 s;
	size_t			 len;
	int			 buffered;

	if (r->r_nc == NULL)
		return;		/* the hand-over restarts the pump */
	while (res->rr_batches_out < p->rp_batches) {
		buffered = natsConnection_Buffered(r->r_nc);
		if (buffered < 0 || (size_t)buffered >= p->rp_handoff)
			break;
		len = roundtrip_fill(r, res->rr_frames_out, p->rp_frames);
		s = natsConnection_Publish(r->r_nc, r->r_subject, r->r_batch,
		    (int)len);
		if (s == NATS_CONNECTION_CLOSED) {
			res->rr_refused++;
			return;	/* the closed callback follows */
		}
		if (s != NATS_OK) {
			snprintf(res->rr_error, sizeof res->rr_error,
			    "publish: %s", natsStatus_GetText(s));
			event_base_loopbreak(r->r_base);
			return;
		}
		res->rr_batches_out++;
		res->rr_frames_out += p->rp_frames;
		buffered = natsConnection_Buffered(r->r_nc);
		if (buffered > 0 && (unsigned long)buffered >
		    res->rr_max_buffered)
			res->rr_max_buffered = (unsigned long)buffered;
	}
}

/* The adapter wrote: the library's buffer went down, publish more. */
static void
roundtrip_written(natsConnection *nc, void *arg)
{
	struct roundtrip	*r = arg;

	if (nc == r->r_nc)
		roundtrip_pump_cb(-1, 0, r);
}

/* Check one received batch frame by frame. */
static void
roundtrip_check(struct roundtrip *r, const unsigned char *d, size_t len)
{
	struct roundtrip_result	*res = r->r_res;
	size_t			 fs = r->r_p->rp_frame_size, j;
	const unsigned char	*end = d + len, *z;
	uint32_t		 id;
	unsigned long		 k;

	while (d < end) {
		/* The header may hold 0x00: the 0x00 is searched after it. */
		if (end - d < 5 || (z = memchr(d + 4, 0, (size_t)(end - d - 4)))
		    == NULL) {
			res->rr_bad++;
			return;
		}
		k = res->rr_frames_in + res->rr_lost;
		memcpy(&id, d, 4);
		if (r->r_p->rp_allow_gaps && ntohl(id) > k + 1) {
			res->rr_lost += ntohl(id) - (k + 1);
			k = ntohl(id) - 1;
		}
		res->rr_frames_in++;
		if (ntohl(id) != k + 1 || (size_t)(z - d + 1) != fs)
			res->rr_bad++;
		else
			for (j = 0; j < fs - 5; j++)
				if (d[4 + j] != roundtrip_byte(k, j)) {
					res->rr_bad++;
					break;
				}
		d = z + 1;
	}
}

/* The adapter's drain: every queued message, on the loop's thread. */
static void
roundtrip_drain(natsConnection *nc, void *arg)
{
	struct roundtrip	*r = arg;
	struct roundtrip_result	*res = r->r_res;
	natsMsg			*m;
	natsStatus		 s;

	/* Read events of a connection not handed over yet: later. */
	if (r->r_sub == NULL || nc != r->r_nc)
		return;
	for (;;) {
		s = natsSubscription_NextMsg(&m, r->r_sub, 0);
		if (s == NATS_SLOW_CONSUMER) {
			res->rr_slow++;
			continue;
		}
		if (s != NATS_OK)
			break;
		if (!pthread_equal(pthread_self(), r->r_loop_thread))
			res->rr_off_loop++;
		res->rr_batches_in++;
		roundtrip_check(r, (const unsigned char *)natsMsg_GetData(m),
		    (size_t)natsMsg_GetDataLength(m));
		natsMsg_Destroy(m);
	}
	if (res->rr_batches_in > 0 && !r->r_midway_done &&
	    r->r_p->rp_midway != NULL) {
		r->r_midway_done = 1;
		r->r_p->rp_midway(r->r_p->rp_midway_arg);
	}
	if (res->rr_frames_in + res->rr_lost >= r->r_total || res->rr_bad > 0)
		event_base_loopbreak(r->r_base);
}

/* The connector thread: connect and subscribe (both block), hand over. */
static void *
roundtrip_connector(void *arg)
{
	struct roundtrip	*r = arg;
	natsConnection		*nc = NULL;
	natsSubscription	*sub = NULL;
	natsStatus		 s;

	s = natsConnection_Connect(&nc, r->r_opts);
	if (s == NATS_OK)
		s = natsConnection_SubscribeSync(&sub, nc, r->r_subject);
	/* Our drain takes every message at once: no library-side limit. */
	if (s == NATS_OK)
		s = natsSubscription_SetPendingLimits(sub, -1, -1);
	if (s != NATS_OK) {
		natsSubscription_Destroy(sub);
		natsConnection_Destroy(nc);
		nc = NULL;
		sub = NULL;
	}
	pthread_mutex_lock(&r->r_mu);
	r->r_new_nc = nc;
	r->r_new_sub = sub;
	r->r_new_status = s;
	event_active(r->r_handover, EV_READ, 0);
	pthread_mutex_unlock(&r->r_mu);
	return NULL;
}

/* Start the connector thread, unless one runs. */
static void
roundtrip_connect(struct roundtrip *r)
{
	pthread_mutex_lock(&r->r_mu);
	if (!r->r_connecting) {
		if (pthread_create(&r->r_connector, NULL, roundtrip_connector,
		    r) == 0)
			r->r_connecting = 1;
		else
			snprintf(r->r_res->rr_error,
			    sizeof r->r_res->rr_error, "pthread_create failed");
	}
	pthread_mutex_unlock(&r->r_mu);
}

/* On the loop: take the connector's connection, or retry after a while. */
static void
roundtrip_handover_cb(evutil_socket_t fd, short what, void *arg)
{
	struct roundtrip	*r = arg;
	struct timeval		 tv = { 0, 0 };
	natsStatus		 s;

	pthread_join(r->r_connector, NULL);
	pthread_mutex_lock(&r->r_mu);
	r->r_connecting = 0;
	r->r_nc = r->r_new_nc;
	r->r_sub = r->r_new_sub;
	s = r->r_new_status;
	r->r_new_nc = NULL;
	r->r_new_sub = NULL;
	pthread_mutex_unlock(&r->r_mu);
	if (s != NATS_OK) {
		if (r->r_res->rr_batches_out == 0) {
			snprintf(r->r_res->rr_error, sizeof r->r_res->rr_error,
			    "connect: %s", natsStatus_GetText(s));
			event_base_loopbreak(r->r_base);
		} else
			roundtrip_connect(r);	/* server still down */
		return;
	}
	r->r_res->rr_connects++;
	evtimer_add(r->r_pump, &tv);
	/* Messages may have queued before the hand-over. */
	roundtrip_drain(r->r_nc, r);
}

/* On the loop: the connection closed; drop it and make a new one. */
static void
roundtrip_closed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct roundtrip	*r = arg;

	if (r->r_nc == NULL || !natsConnection_IsClosed(r->r_nc))
		return;
	natsSubscription_Destroy(r->r_sub);
	natsConnection_Destroy(r->r_nc);
	r->r_sub = NULL;
	r->r_nc = NULL;
	roundtrip_connect(r);
}

/* libnats's closed callback, on its thread: wake the loop. */
static void
roundtrip_lib_closed(natsConnection *nc, void *unused)
{
	pthread_mutex_lock(&roundtrip_mu);
	if (roundtrip_current != NULL)
		event_active(roundtrip_current->r_closed, EV_READ, 0);
	pthread_mutex_unlock(&roundtrip_mu);
}

static void
roundtrip_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct roundtrip	*r = arg;

	r->r_res->rr_timed_out = 1;
	event_base_loopbreak(r->r_base);
}

static double
roundtrip_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
roundtrip_init(void)
{
	return natsev_threads();
}

int
roundtrip_run(const struct roundtrip_params *p, struct roundtrip_result *res)
{
	struct roundtrip	 r;
	struct natsev		*ne = NULL;
	struct event		*deadline = NULL;
	natsStatus		 s;
	struct timeval		 tv;
	double			 t0;

	memset(res, 0, sizeof *res);
	memset(&r, 0, sizeof r);
	r.r_p = p;
	r.r_res = res;
	r.r_total = (unsigned long)p->rp_batches * p->rp_frames;
	r.r_loop_thread = pthread_self();
	pthread_mutex_init(&r.r_mu, NULL);
	snprintf(r.r_subject, sizeof r.r_subject, "natsev.test.%ld",
	    (long)getpid());
	if (p->rp_frame_size < 5 ||
	    (r.r_batch = malloc(p->rp_frame_size * p->rp_frames)) == NULL ||
	    (r.r_base = event_base_new()) == NULL ||
	    (ne = natsev_new(r.r_base, roundtrip_drain, roundtrip_written,
	    &r)) == NULL) {
		snprintf(res->rr_error, sizeof res->rr_error, "setup failed");
		goto out;
	}
	r.r_pump = evtimer_new(r.r_base, roundtrip_pump_cb, &r);
	r.r_closed = event_new(r.r_base, -1, 0, roundtrip_closed_cb, &r);
	r.r_handover = event_new(r.r_base, -1, 0, roundtrip_handover_cb, &r);
	deadline = evtimer_new(r.r_base, roundtrip_deadline_cb, &r);
	s = natsOptions_Create(&r.r_opts);
	if (s == NATS_OK)
		s = natsOptions_SetURL(r.r_opts, p->rp_url);
	if (s == NATS_OK)
		s = natsev_options(ne, r.r_opts);
	if (s == NATS_OK)
		s = natsOptions_SetAllowReconnect(r.r_opts, false);
	if (s == NATS_OK)
		s = natsOptions_SetClosedCB(r.r_opts, roundtrip_lib_closed,
		    NULL);
	if (s != NATS_OK) {
		snprintf(res->rr_error, sizeof res->rr_error, "options: %s",
		    natsStatus_GetText(s));
		goto out;
	}
	pthread_mutex_lock(&roundtrip_mu);
	roundtrip_current = &r;
	pthread_mutex_unlock(&roundtrip_mu);
	tv.tv_sec = p->rp_timeout_ms / 1000;
	tv.tv_usec = (p->rp_timeout_ms % 1000) * 1000;
	evtimer_add(deadline, &tv);
	roundtrip_connect(&r);
	t0 = roundtrip_now();
	event_base_dispatch(r.r_base);
	res->rr_seconds = roundtrip_now() - t0;
	res->rr_reads = natsev_reads(ne);
	if (res->rr_error[0] == '\0') {
		if (res->rr_timed_out)
			snprintf(res->rr_error, sizeof res->rr_error,
			    "timed out: %lu of %lu frames back, %lu lost",
			    res->rr_frames_in, r.r_total, res->rr_lost);
		else if (res->rr_bad > 0)
			snprintf(res->rr_error, sizeof res->rr_error,
			    "%lu frames not byte-exact or out of order",
			    res->rr_bad);
		else if (res->rr_off_loop > 0)
			snprintf(res->rr_error, sizeof res->rr_error,
			    "%lu messages off the loop thread",
			    res->rr_off_loop);
	}
out:
	pthread_mutex_lock(&roundtrip_mu);
	roundtrip_current = NULL;
	pthread_mutex_unlock(&roundtrip_mu);
	if (r.r_connecting) {
		pthread_join(r.r_connector, NULL);
		natsSubscription_Destroy(r.r_new_sub);
		natsConnection_Destroy(r.r_new_nc);
	}
	natsSubscription_Destroy(r.r_sub);
	natsConnection_Destroy(r.r_nc);
	natsOptions_Destroy(r.r_opts);
	if (r.r_pump != NULL)
		event_free(r.r_pump);
	if (r.r_closed != NULL)
		event_free(r.r_closed);
	if (r.r_handover != NULL)
		event_free(r.r_handover);
	if (deadline != NULL)
		event_free(deadline);
	natsev_free(ne);
	if (r.r_base != NULL)
		event_base_free(r.r_base);
	pthread_mutex_destroy(&r.r_mu);
	free(r.r_batch);
	return res->rr_error[0] == '\0' ? 0 : -1;
}
