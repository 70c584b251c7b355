/*
 * natsev: our libevent adapter for libnats (built only with libnats,
 * configure --with-nats).  It plugs a natsConnection into the daemon's
 * event_base so that every message is received on the loop's own thread:
 * the socket's read event calls natsConnection_ProcessReadEvent and then
 * the owner's drain callback, which takes the queued messages off its
 * *sync* subscriptions with natsSubscription_NextMsg(&m, sub, 0).  No
 * async subscription, no library delivery thread, no natsConnection_Flush
 * or request/reply on the loop (they block).
 *
 * libnats still runs threads of its own (timers, the connection callbacks,
 * and a reconnect thread that attaches the new socket), which call into
 * the adapter: evthread_use_pthreads() must be called before the
 * event_base is made (natsev_threads), and the adapter applies a new
 * socket on the loop's thread (see natsev.c for why).
 */
#ifndef MSGROUTER_NATSEV_H
#define MSGROUTER_NATSEV_H

#include <nats/nats.h>

struct event_base;
struct natsev;

/*
 * Called on the loop's thread after each read event the library processed:
 * the owner drains its sync subscriptions there.
 */
typedef void (*natsev_drain_fn)(natsConnection *, void *arg);
/*
 * Called on the loop's thread after each write event the library
 * processed, when natsConnection_Buffered() may have gone down: the owner
 * hands the library more of what it holds back (NULL: nothing to do).
 */
typedef void (*natsev_written_fn)(natsConnection *, void *arg);

/*
 * Make libevent thread-safe (evthread_use_pthreads): once, before the
 * event_base the adapter will use is made.  Returns -1 on failure.
 */
int		 natsev_threads(void);
/*
 * An adapter for the base; drain is called after every read event,
 * written (if not NULL) after every write event.
 */
struct natsev	*natsev_new(struct event_base *, natsev_drain_fn,
		    natsev_written_fn, void *arg);
/*
 * Point the options at the adapter (natsOptions_SetEventLoop) and make
 * publishes arm the write event at once instead of waking the library's
 * flusher thread (natsOptions_SetSendAsap: with an event loop it writes
 * nothing in place, so one loop pass's publishes still go out in one
 * write).  Returns the natsStatus.
 */
natsStatus	 natsev_options(struct natsev *, natsOptions *);
/*
 * Free the adapter: after natsConnection_Destroy, on the loop's thread,
 * with the loop not running the adapter's events.
 */
void		 natsev_free(struct natsev *);
/* Read events processed and drains called so far (for tests). */
unsigned long	 natsev_reads(const struct natsev *);

#endif
