/*
 * clock: monotonic milliseconds for connection ages, closed-client ages and
 * the uptime.
 */
#include "config.h"

#include <time.h>

#include "msgrouter/clock.h"

uint64_t
clock_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
