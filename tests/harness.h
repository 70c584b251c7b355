/*
 * harness: run the real msgrouterd on a free loopback port and talk to it
 * with raw sockets.  Every wait has a deadline; nothing sleeps for a fixed
 * time.
 *
 * The daemon_* and tc_* functions that return a status leave the verdict
 * to the caller; the harness_* and pair_* functions, tc_expect_msg and
 * tc_ping_pong fail the running cmocka test themselves, with the daemon's
 * log on stderr.  Tests run with harness_teardown (harness_unit_test) or
 * the pair fixture, and a test program ends with harness_finish(), which
 * removes the daemons' logs when every test passed and keeps them all when
 * one failed.
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
	int		admin_port;	/* 0: none; -1: a Unix socket */
	char		log_path[256];
	char		addr[64];	/* "127.0.0.1:PORT" */
};

/*
 * Start msgrouterd ($MSGROUTERD) with "-l 127.0.0.1:0" and the given
 * NULL-terminated extra arguments ("--admin off" unless they name
 * --admin).  It is ready when its log holds "info  listening on ADDR" and,
 * when the arguments give --admin an address, "admin listening on ADDR" as
 * well: the ports are read from those lines (-1 for a Unix socket's
 * "listening on unix:/PATH").  Returns 0, or -1 if it
 * exited (its log dumped) or did not listen in time (killed, log dumped).
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
/* A counter from the "final counters" line logged at exit; -1 if absent. */
long long daemon_counter(struct daemon *, const char *name);
/*
 * GET path from the daemon's admin port: the test fails unless it answers
 * 200 with JSON.  The caller owns the reference (json_decref).
 */
struct json_t	*daemon_admin_json(struct daemon *, const char *path);
/* The integer group.name of /stats now; the test fails if it is absent. */
long long	daemon_stat(struct daemon *, const char *group,
		    const char *name);
/* The daemon's resident set in KiB (VmRSS), or -1. */
long	daemon_rss_kb(struct daemon *);
/* CPU time the daemon has used, user + system, in clock ticks; or -1. */
long long daemon_cpu_ticks(struct daemon *);
/* Dump the log to stderr (for failing tests). */
void	daemon_dump_log(struct daemon *);
/*
 * Run msgrouterd with exactly args (no -l added) to its exit, stdout and
 * stderr captured into out and err (NUL-terminated, cut to fit).  Returns
 * the exit status, or -1 if it did not exit in time (it is killed).
 */
int	daemon_run(const char *const *args, char *out, size_t outlen,
	    char *err, size_t errlen);

/* daemon_start(), failing the test unless it is ready. */
void	harness_start(struct daemon *, const char *const *args);
/* Stop with SIGTERM; the test fails unless the exit status is 0. */
void	harness_stop(struct daemon *);
/* A final counter's name and the value it must have. */
struct counter_want {
	const char	*name;
	long long	 value;
};
/*
 * After the exit: each counter of the table (ended by a NULL name) must
 * have its value in the "final counters" line, or the test fails naming it.
 */
void	harness_expect_counters(struct daemon *, const struct counter_want *);
/* Wait up to timeout_ms for an exit by itself, which must be status 0. */
void	harness_wait_exit(struct daemon *, int timeout_ms);
/* daemon_wait_log() within HARNESS_TIMEOUT_MS, failing the test if not. */
void	harness_wait_log(struct daemon *, const char *s, int n);
/* Wait for the log line "client ID" followed by what (": paused", ...). */
void	harness_wait_client(struct daemon *, uint32_t id, const char *what);
/*
 * A path in the test directory ($TESTS_TMPDIR) for a file the test writes:
 * "tmp-PROGRAM-PID-tag", unique to this process and tag.
 */
void	harness_tmp_path(char *buf, size_t len, const char *tag);
/*
 * An absolute path for a Unix socket: harness_tmp_path's if it is absolute
 * and at most HARNESS_SOCK_PATH_MAX bytes (sun_path holds 107, and "unix:"
 * and the path must fit the tests' buffers), else one in /tmp.
 */
#define HARNESS_SOCK_PATH_MAX	96
void	harness_sock_path(char *buf, size_t len, const char *tag);
/* Write text to path, creating or truncating it. */
void	harness_write_file(const char *path, const char *text);
/*
 * A socket listening on a free loopback port, which the test keeps busy:
 * "127.0.0.1:PORT" into addr; returns the socket.
 */
int	harness_listener(char *addr, size_t len);
/* Skip the running test (cmocka's skip) unless [::1] can be bound. */
void	harness_need_ipv6(void);
/* Raise our descriptor limit to n (the daemon inherits it), or fail. */
void	harness_need_nofile(long n);
/* Wait for a forked child of the test; it must exit with status 0. */
void	harness_child_ok(pid_t);

/*
 * cmocka teardown for any test that starts daemons: a daemon still running
 * when the test ends means the test did not get to its end; it is killed
 * and its log dumped.  Always returns 0.
 */
int	harness_teardown(void **state);
#define harness_unit_test(f)	cmocka_unit_test_teardown(f, harness_teardown)

/*
 * A daemon and two clients of it, a and b; a test that closes one sets it
 * to -1.  The test stops the daemon itself (harness_stop), to read its
 * counters.
 */
struct pair {
	struct daemon	d;
	int		a, b;
	uint32_t	ida, idb;
};
/* Start the daemon with args and connect a, then b (small window if asked). */
void	pair_open(struct pair *, const char *const *args, int small_b);
/* Connect a, then b, to the daemon p->d already started. */
void	pair_connect(struct pair *, int small_b);
/*
 * pair_open() with the daemon's descriptor limit (RLIMIT_NOFILE, which it
 * inherits) lowered to nofile while it starts; ours is restored.
 */
void	pair_open_nofile(struct pair *, const char *const *args, long nofile);
/* Close the clients still open, then do what harness_teardown does. */
void	pair_close(struct pair *);
/*
 * The pair as a cmocka fixture: the test's initial state is the daemon's
 * arguments (NULL-terminated, or NULL), and *state becomes a struct pair.
 */
int	pair_setup(void **state);
int	pair_teardown(void **state);
#define harness_pair_test(f, args)					\
	cmocka_unit_test_prestate_setup_teardown(f, pair_setup,	\
	    pair_teardown, (void *)(args))

/* Ignore SIGPIPE: a test writing to a socket the daemon closed goes on. */
void	harness_init(void);
/*
 * The end of a test program, given cmocka's count of failed tests: kill
 * and dump the daemons still running; if none was and nothing failed,
 * remove the logs of the daemons that exited with status 0 (and of those
 * that never started, whose logs were dumped); otherwise keep every log.
 * Returns the value for main.
 */
int	harness_finish(int failed);

/* Connect to the daemon and read the 4-byte id; returns the fd or -1. */
int	tc_connect(struct daemon *, uint32_t *id);
/* Connect without reading anything; returns the fd or -1. */
int	tc_connect_raw(struct daemon *);
/* Connect to 127.0.0.1:port (the admin port, say); the fd or -1. */
int	tc_connect_port(int port);
/*
 * tc_connect() with a receive buffer of TC_SMALL_RCVBUF set before the
 * connect, so the window stays small: a client that does not read soon
 * leaves what is sent to it queued in the router.
 */
int	tc_connect_small(struct daemon *, uint32_t *id);
#define TC_SMALL_RCVBUF		4096
/* Connect to the Unix socket at path and read the id; the fd or -1. */
int	tc_connect_unix(const char *path, uint32_t *id);
/* Close with a reset (SO_LINGER 0): no TIME_WAIT left behind. */
void	tc_close_reset(int fd);
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
/* The next bytes on fd are payload and its 0x00, or the test fails. */
void	tc_expect_msg(int fd, const char *payload);
/* Read the next NUL-terminated message into buf (with its NUL); length or -1. */
ssize_t	tc_recv_msg(int fd, char *buf, size_t max, int timeout_ms);
/* Wait for EOF or reset, discarding data; 0 if the peer closed in time. */
int	tc_expect_close(int fd, int timeout_ms);
/*
 * Exchange n messages back and forth between two clients, one at a time,
 * checking each: proof that both are served.  The test fails at a miss.
 */
void	tc_ping_pong(int a, uint32_t ida, int b, uint32_t idb, int n);
/* qsort's comparison of two uint32_t (client ids). */
int	tc_cmp_u32(const void *, const void *);
/* Milliseconds from CLOCK_MONOTONIC. */
long long tc_now_ms(void);

#endif
