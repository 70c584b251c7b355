/*
 * harness: run the real msgrouterd on a free loopback port and talk to it
 * with raw sockets.  Every wait has a deadline; nothing sleeps for a fixed
 * time.
 */
#ifndef MSGROUTER_TESTS_HARNESS_H
#define MSGROUTER_TESTS_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Generous: CI machines are slow, and sanitizers slow them further.  Under
 * valgrind (make check-valgrind) HARNESS_TIMEOUT_SCALE multiplies it.
 */
#define HARNESS_TIMEOUT_MS	(harness_timeout_ms())
int	harness_timeout_ms(void);
/*
 * Whether the daemon runs under $MSGROUTERD_WRAPPER (valgrind): its memory
 * and CPU figures are then the wrapper's, and tests skip bounds on them.
 */
int	harness_wrapped(void);

struct daemon {
	pid_t		pid;
	int		port;		/* routing port */
	int		admin_port;	/* admin port, or 0 */
	char		log_path[256];
	char		addr[64];	/* "127.0.0.1:PORT" */
};

/*
 * Start msgrouterd ($MSGROUTERD) with "-l 127.0.0.1:0" and the given
 * NULL-terminated extra arguments; wait for its "listening on" line.
 * Returns 0, or -1 if it exited or did not listen in time.
 */
int	daemon_start(struct daemon *, const char *const *args);
/* Send a signal and wait for exit; returns the exit status or -1. */
int	daemon_stop(struct daemon *, int sig, int timeout_ms);
/* Wait for the process to exit by itself; returns its status or -1. */
int	daemon_wait_exit(struct daemon *, int timeout_ms);
/* Wait until the log holds at least n lines containing s; 0 or -1. */
int	daemon_wait_log(struct daemon *, const char *s, int n, int timeout_ms);
/* How many log lines contain s now. */
int	daemon_log_count(struct daemon *, const char *s);
/*
 * Find "name=NUMBER" in the last log line containing marker; -1 if absent.
 * Used for the counters logged at exit.
 */
long long daemon_log_value(struct daemon *, const char *marker,
	    const char *name);
/* The daemon's resident set in KiB (VmRSS), or -1. */
long	daemon_rss_kb(struct daemon *);
/* CPU time the daemon has used, user + system, in clock ticks; or -1. */
long long daemon_cpu_ticks(struct daemon *);
/* Dump the log to stderr (for failing tests). */
void	daemon_dump_log(struct daemon *);

/* Connect to the daemon and read the 4-byte id; returns the fd or -1. */
int	tc_connect(struct daemon *, uint32_t *id);
/* Connect without reading anything; returns the fd or -1. */
int	tc_connect_raw(struct daemon *);
/*
 * tc_connect() with a receive buffer of TC_SMALL_RCVBUF set before the
 * connect, so the window stays small: a client that does not read soon
 * leaves what is sent to it queued in the router.
 */
int	tc_connect_small(struct daemon *, uint32_t *id);
#define TC_SMALL_RCVBUF		4096
/* Write all of buf (blocking); 0 or -1. */
int	tc_write(int fd, const void *buf, size_t len);
/* Write one frame: id, payload (strlen), 0x00. */
int	tc_send(int fd, uint32_t dst, const char *payload);
/* Encode one frame into buf; returns its length. */
size_t	tc_frame(char *buf, uint32_t dst, const char *payload);
/* Read exactly len bytes within timeout_ms; 0, or -1 on EOF/timeout. */
int	tc_read_exact(int fd, void *buf, size_t len, int timeout_ms);
/* Read exactly len bytes and compare; 0 if equal. */
int	tc_expect(int fd, const void *bytes, size_t len, int timeout_ms);
/* Read the next NUL-terminated message into buf (with its NUL); length or -1. */
ssize_t	tc_recv_msg(int fd, char *buf, size_t max, int timeout_ms);
/* Wait for EOF or reset, discarding data; 0 if the peer closed in time. */
int	tc_expect_close(int fd, int timeout_ms);
/*
 * Exchange n messages back and forth between two clients, one at a time,
 * checking each: proof that both are served.  0, or -1 at the first miss.
 */
int	tc_ping_pong(int a, uint32_t ida, int b, uint32_t idb, int n);
/* Milliseconds from CLOCK_MONOTONIC. */
long long tc_now_ms(void);

#endif
