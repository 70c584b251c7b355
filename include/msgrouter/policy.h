/*
 * policy: what to do with a message for a destination whose queue is full.
 * A pure decision, apart from the connection it concerns, so that the rule
 * is tested on its own.
 */
#ifndef MSGROUTER_POLICY_H
#define MSGROUTER_POLICY_H

#include <stddef.h>

#include "msgrouter/config.h"

enum policy_action {
	POLICY_FORWARD,		/* queue it */
	POLICY_PAUSE,		/* stop reading the sender, keep the message */
	POLICY_DROP,		/* discard the message */
	POLICY_DISCONNECT,	/* close the destination, discard the message */
};

/*
 * Decide for a message of len bytes to a destination with queued bytes
 * waiting and a limit.  A message always goes to an empty queue, so a
 * message larger than the limit cannot wedge its sender for ever.
 */
static inline enum policy_action
policy_decide(size_t queued, size_t len, size_t limit, enum slow_consumer sc)
{
	if (queued == 0 || queued + len <= limit)
		return POLICY_FORWARD;
	switch (sc) {
	case SLOW_CONSUMER_DROP:
		return POLICY_DROP;
	case SLOW_CONSUMER_DISCONNECT:
		return POLICY_DISCONNECT;
	case SLOW_CONSUMER_BACKPRESSURE:
	default:
		return POLICY_PAUSE;
	}
}

/* A paused sender resumes once its destination holds at most this much. */
static inline size_t
policy_resume_mark(size_t limit)
{
	return limit / 2;
}

#endif
