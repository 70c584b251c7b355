/*
 * clock: the daemon's one notion of "now" for ages and uptimes, from
 * CLOCK_MONOTONIC so that setting the wall clock moves nothing.
 */
#ifndef MSGROUTER_CLOCK_H
#define MSGROUTER_CLOCK_H

#include <stdint.h>

/* Milliseconds from CLOCK_MONOTONIC. */
uint64_t	clock_now_ms(void);

#endif
