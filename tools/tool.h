/*
 * tool: what msgrouter-cat and msgrouter-bench share: the command line, the
 * message for a bad flag value, and the monotonic clock.
 */
#ifndef MSGROUTER_TOOL_H
#define MSGROUTER_TOOL_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

/* The exit status for bad usage. */
#define EXIT_USAGE	2

/* What each tool defines once, as tool_self: its name, flags and usage. */
struct tool {
	const char		*tl_name;	/* starts every message */
	const char		*tl_shortopts;
	const struct option	*tl_longopts;
	void			(*tl_usage)(FILE *);
	/* Take one option's value; -1 for one the tool does not know. */
	int			(*tl_option)(void *, int, const char *);
};

extern const struct tool	tool_self;

/*
 * Parse the command line into arg with tool_self.tl_option: -h prints the
 * usage and exits 0; an unknown flag or an extra argument exits 2.
 */
void		tool_getopt(int, char **, void *);
/* A bad flag value: one line naming the flag, then exit status 2. */
void		tool_bad_flag(const char *, const char *, const char *)
		    __attribute__((noreturn));
/* Seconds as a decimal fraction from min to max: 0, or -1 if not that. */
int		tool_parse_seconds(const char *, double, double, double *);
/* Nanoseconds of CLOCK_MONOTONIC. */
uint64_t	tool_now_ns(void);
/* Milliseconds from now to a tool_now_ns() deadline, rounded up; 0 after. */
int		tool_ms_until(uint64_t);

#endif
