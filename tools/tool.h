/*
 * tool: what msgrouter-cat and msgrouter-bench share: the command line, the
 * message for a bad flag value, the TLS flags and connect, and the monotonic
 * clock.
 */
#ifndef MSGROUTER_TOOL_H
#define MSGROUTER_TOOL_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "msgrouter/client.h"

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

/* The TLS flags' option values, above every character. */
enum {
	TOOL_OPT_TLS = 0x1000, TOOL_OPT_CA, TOOL_OPT_CERT, TOOL_OPT_KEY,
	TOOL_OPT_INSECURE,
};

/* The TLS flags, for a tool's option table. */
#define TOOL_TLS_LONGOPTS \
	{ "tls",	no_argument,		NULL, TOOL_OPT_TLS }, \
	{ "ca",		required_argument,	NULL, TOOL_OPT_CA }, \
	{ "cert",	required_argument,	NULL, TOOL_OPT_CERT }, \
	{ "key",	required_argument,	NULL, TOOL_OPT_KEY }, \
	{ "insecure",	no_argument,		NULL, TOOL_OPT_INSECURE }

/* The TLS flags' help lines. */
#define TOOL_TLS_USAGE \
"      --tls              connect over TLS, verifying the router's\n" \
"                         certificate and that it names the HOST of -H\n" \
"      --ca FILE          CA certificates (PEM) to verify it with, instead\n" \
"                         of the system's\n" \
"      --cert FILE, --key FILE\n" \
"                         our certificate and key (PEM), for a router\n" \
"                         that requires client certificates\n" \
"      --insecure         do not verify the router's certificate or name\n"

/* What the TLS flags asked for, and the settings made from them. */
struct tool_tls {
	int		 tt_on;
	const char	*tt_ca;
	const char	*tt_cert;
	const char	*tt_key;
	int		 tt_insecure;
	struct mr_tls	*tt_tls;
};

/* Take a TLS flag into tt: 0, or -1 if ch is not one. */
int		tool_tls_option(struct tool_tls *, int, const char *);
/*
 * Check the TLS flags together and load the files: exit 2 for flags that do
 * not go together, 1 for a file that cannot be loaded.
 */
void		tool_tls_start(struct tool_tls *);
/* Connect to host, over TLS if tt says so; as mr_client_connect(). */
int		tool_connect(struct tool_tls *, const char *, int,
		    struct mr_client **);
/*
 * Why a connection to host failed with error r: "HOST: detail", with errno
 * or TLS's reason where they say more.
 */
const char	*tool_connect_error(const struct tool_tls *, int);
void		tool_tls_free(struct tool_tls *);

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
