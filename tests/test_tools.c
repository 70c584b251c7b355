/*
 * test_tools: the client library, msgrouter-cat and msgrouter-bench against
 * the real msgrouterd started by the harness on a free loopback port.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "msgrouter/client.h"
#include "harness.h"

#define OUT_MAX		65536

/* A child process with pipes on its stdin, stdout and stderr. */
struct proc {
	pid_t	p_pid;
	int	p_in;
	int	p_out;
	int	p_err;
	char	p_outbuf[OUT_MAX];
	size_t	p_outlen;
	char	p_errbuf[OUT_MAX];
	size_t	p_errlen;
};

static const char *
tool_path(const char *env, const char *fallback)
{
	const char	*p = getenv(env);

	return p != NULL ? p : fallback;
}

/* Start argv with its three standard streams on pipes. */
static void
proc_start(struct proc *p, const char *const *argv)
{
	int	in[2], out[2], err[2];

	memset(p, 0, sizeof *p);
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	p->p_pid = fork();
	assert_true(p->p_pid != -1);
	if (p->p_pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	p->p_in = in[1];
	p->p_out = out[0];
	p->p_err = err[0];
}

/*
 * Read the child's stdout and stderr until want appears in the one chosen
 * (stderr if from_err), or both reach EOF, or the deadline; 0 if found.
 * want NULL reads to EOF.
 */
static int
proc_read_until(struct proc *p, int from_err, const char *want, int timeout_ms)
{
	struct pollfd	 pfd[2];
	long long	 deadline = tc_now_ms() + timeout_ms, left;
	ssize_t		 n;
	int		 i;

	for (;;) {
		p->p_outbuf[p->p_outlen] = '\0';
		p->p_errbuf[p->p_errlen] = '\0';
		if (want != NULL && strstr(from_err ? p->p_errbuf :
		    p->p_outbuf, want) != NULL)
			return 0;
		if (p->p_out == -1 && p->p_err == -1)
			return want == NULL ? 0 : -1;
		if ((left = deadline - tc_now_ms()) <= 0)
			return -1;
		pfd[0].fd = p->p_out;
		pfd[1].fd = p->p_err;
		pfd[0].events = pfd[1].events = POLLIN;
		if (poll(pfd, 2, (int)left) <= 0)
			continue;
		for (i = 0; i < 2; i++) {
			char	*buf = i == 0 ? p->p_outbuf : p->p_errbuf;
			size_t	*len = i == 0 ? &p->p_outlen : &p->p_errlen;
			int	*fd = i == 0 ? &p->p_out : &p->p_err;

			if (pfd[i].revents == 0)
				continue;
			n = read(*fd, buf + *len, OUT_MAX - 1 - *len);
			if (n <= 0) {
				close(*fd);
				*fd = -1;
			} else
				*len += (size_t)n;
		}
	}
}

/* Close stdin, read to EOF, and return the exit status (-1: none in time). */
static int
proc_finish(struct proc *p, int timeout_ms)
{
	long long	deadline = tc_now_ms() + timeout_ms;
	int		status;

	if (p->p_in != -1) {
		close(p->p_in);
		p->p_in = -1;
	}
	proc_read_until(p, 0, NULL, timeout_ms);
	/* Both pipes are at EOF: the child is exiting or has exited. */
	while (waitpid(p->p_pid, &status, WNOHANG) != p->p_pid) {
		if (tc_now_ms() > deadline) {
			kill(p->p_pid, SIGKILL);
			waitpid(p->p_pid, &status, 0);
			fprintf(stderr, "child %d killed; stderr:\n%s\n",
			    (int)p->p_pid, p->p_errbuf);
			return -1;
		}
		poll(NULL, 0, 5);
	}
	if (p->p_out != -1)
		close(p->p_out);
	if (p->p_err != -1)
		close(p->p_err);
	p->p_out = p->p_err = -1;
	if (!WIFEXITED(status)) {
		fprintf(stderr, "child %d died; stderr:\n%s\n", (int)p->p_pid,
		    p->p_errbuf);
		return 128 + WTERMSIG(status);
	}
	return WEXITSTATUS(status);
}

/*
 * Run argv to its exit, which must have the status given and want on
 * stderr: all of it if whole, else somewhere in it.
 */
static void
proc_exit(struct proc *p, const char *const *argv, int status,
    const char *want, int whole)
{
	proc_start(p, argv);
	assert_int_equal(proc_finish(p, HARNESS_TIMEOUT_MS), status);
	if (whole)
		assert_string_equal(p->p_errbuf, want);
	else
		assert_non_null(strstr(p->p_errbuf, want));
}

static void
proc_write(struct proc *p, const char *s)
{
	assert_int_equal(tc_write(p->p_in, s, strlen(s)), 0);
}

/*
 * Start msgrouter-cat with the NULL-terminated extra flags; return once it
 * has connected and written its id.
 */
static uint32_t
cat_start_flags(struct proc *p, struct daemon *d, const char *id_file,
    const char *const *extra)
{
	const char	*argv[16];
	FILE		*f;
	char		 line[64], want[64];
	unsigned long	 id;
	int		 argc = 0, i;

	argv[argc++] = tool_path("MSGROUTER_CAT", "../tools/msgrouter-cat");
	argv[argc++] = "-H";
	argv[argc++] = d->addr;
	argv[argc++] = "--id-file";
	argv[argc++] = id_file;
	for (i = 0; extra[i] != NULL; i++) {
		assert_true(argc < 15);
		argv[argc++] = extra[i];
	}
	argv[argc] = NULL;
	proc_start(p, argv);
	assert_int_equal(proc_read_until(p, 1, "msgrouter-cat: id ",
	    HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(proc_read_until(p, 1, "\n", HARNESS_TIMEOUT_MS), 0);
	/* The file is written before the line: it is there, and whole. */
	f = fopen(id_file, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof line, f));
	fclose(f);
	unlink(id_file);
	id = strtoul(line, NULL, 10);
	snprintf(want, sizeof want, "%lu\n", id);
	assert_string_equal(line, want);
	snprintf(want, sizeof want, "msgrouter-cat: id %lu\n", id);
	assert_string_equal(p->p_errbuf, want);
	return (uint32_t)id;
}

/* Start msgrouter-cat, with --to if to is not NULL. */
static uint32_t
cat_start(struct proc *p, struct daemon *d, const char *id_file,
    const char *to)
{
	const char	*extra[] = { to ? "--to" : NULL, to, NULL };

	return cat_start_flags(p, d, id_file, extra);
}

/* Two msgrouter-cat processes talk through the daemon, both ways. */
static void
test_cat_round_trip(void **state)
{
	struct daemon	 d;
	struct proc	*a, *b;
	char		 path_a[256], path_b[256], line[128], to_a[16];
	uint32_t	 id_a, id_b;

	a = malloc(sizeof *a);
	b = malloc(sizeof *b);
	assert_true(a != NULL && b != NULL);
	harness_start(&d, NULL);
	harness_tmp_path(path_a, sizeof path_a, "cat-a.id");
	harness_tmp_path(path_b, sizeof path_b, "cat-b.id");

	id_a = cat_start(a, &d, path_a, NULL);
	snprintf(to_a, sizeof to_a, "%" PRIu32, id_a);
	id_b = cat_start(b, &d, path_b, to_a);
	assert_true(id_a != id_b);

	/* b sends every line to a. */
	proc_write(b, "hello from b\n\nlast from b\n");
	assert_int_equal(proc_read_until(a, 0, "last from b\n",
	    HARNESS_TIMEOUT_MS), 0);
	assert_string_equal(a->p_outbuf, "hello from b\n\nlast from b\n");

	/* a addresses each line; a malformed one is named and skipped. */
	snprintf(line, sizeof line, "%" PRIu32 " hello from a\nnot an id\n"
	    "%" PRIu32 " bye\n", id_b, id_b);
	proc_write(a, line);
	assert_int_equal(proc_read_until(b, 0, "bye\n", HARNESS_TIMEOUT_MS),
	    0);
	assert_string_equal(b->p_outbuf, "hello from a\nbye\n");
	assert_int_equal(proc_read_until(a, 1, "stdin line 2:",
	    HARNESS_TIMEOUT_MS), 0);

	/* End of stdin: both exit 0 with nothing more printed. */
	assert_int_equal(proc_finish(b, HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(proc_finish(a, HARNESS_TIMEOUT_MS), 0);
	assert_string_equal(a->p_outbuf, "hello from b\n\nlast from b\n");
	assert_string_equal(b->p_outbuf, "hello from a\nbye\n");
	assert_non_null(strstr(a->p_errbuf, "msgrouter-cat: stdin line 2: "
	    "expected \"ID message\""));
	harness_stop(&d);
	free(a);
	free(b);
}

/* Write n bytes of c and then a newline to the child's stdin. */
static void
proc_write_fill(struct proc *p, char c, size_t n)
{
	char	*buf;

	assert_non_null(buf = malloc(n + 1));
	memset(buf, c, n);
	buf[n] = '\n';
	assert_int_equal(tc_write(p->p_in, buf, n + 1), 0);
	free(buf);
}

/* Receive one message of n bytes, all c. */
static void
expect_fill(struct mr_client *c, char ch, size_t n)
{
	const char	*msg;
	size_t		 len, i;

	assert_int_equal(mr_client_recv(c, HARNESS_TIMEOUT_MS, &msg, &len),
	    MR_OK);
	assert_int_equal(len, n);
	for (i = 0; i < n; i++)
		if (msg[i] != ch)
			fail_msg("byte %zu is 0x%02x", i, (unsigned char)msg[i]);
}

static void
expect_text(struct mr_client *c, const char *want)
{
	const char	*msg;
	size_t		 len;

	assert_int_equal(mr_client_recv(c, HARNESS_TIMEOUT_MS, &msg, &len),
	    MR_OK);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(msg, want, len);
}

/*
 * test_cat_max_message's end: b gets n bytes of fill and then "after",
 * msgrouter-cat exits 0, and the daemon forwarded those two and cut no one
 * off for oversize.
 */
static void
cat_max_done(struct daemon *d, struct mr_client *b, struct proc *p, char fill,
    size_t n)
{
	expect_fill(b, fill, n);
	expect_text(b, "after");
	assert_int_equal(proc_finish(p, HARNESS_TIMEOUT_MS), 0);
	mr_client_close(b);
	harness_stop(d);
	harness_expect_counters(d, (const struct counter_want[]){
	    { "disconnected_oversize", 0 }, { "forwarded", 2 }, { NULL, 0 } });
}

/*
 * A line the router would disconnect us for (payload + 0x00 over
 * max_message_size) is skipped with its line number, and the lines after
 * it still arrive: with the default 1M, and with --max-message-size 1K
 * against a daemon set to 1K.
 */
static void
test_cat_max_message(void **state)
{
	static const char *const args[] = { "--max-message-size", "1K",
	    NULL };
	static const char *const flags[] = { "--max-message-size", "1K",
	    NULL };
	struct daemon		 d;
	struct mr_client	*b;
	struct proc		*p;
	char			 path[256], to[16], line[32];

	assert_non_null(p = malloc(sizeof *p));
	harness_tmp_path(path, sizeof path, "cat-max.id");

	harness_start(&d, NULL);
	assert_int_equal(mr_client_connect(d.addr, HARNESS_TIMEOUT_MS, &b),
	    MR_OK);
	snprintf(to, sizeof to, "%" PRIu32, mr_client_id(b));
	cat_start(p, &d, path, to);
	proc_write_fill(p, 'x', 1024 * 1024 - 1);
	proc_write_fill(p, 'y', 1024 * 1024);
	proc_write(p, "after\n");
	cat_max_done(&d, b, p, 'x', 1024 * 1024 - 1);
	assert_non_null(strstr(p->p_errbuf, "msgrouter-cat: stdin line 2: a "
	    "message of 1048576 bytes is over --max-message-size 1048576 "
	    "with its 0x00, skipped\n"));

	/* "ID message" lines; the ID prefix does not count. */
	harness_start(&d, args);
	assert_int_equal(mr_client_connect(d.addr, HARNESS_TIMEOUT_MS, &b),
	    MR_OK);
	cat_start_flags(p, &d, path, flags);
	snprintf(line, sizeof line, "%" PRIu32 " ", mr_client_id(b));
	proc_write(p, line);
	proc_write_fill(p, 'a', 1023);
	proc_write(p, line);
	proc_write_fill(p, 'b', 1024);
	proc_write(p, line);
	proc_write_fill(p, 'c', 2000);
	snprintf(line, sizeof line, "%" PRIu32 " after\n", mr_client_id(b));
	proc_write(p, line);
	cat_max_done(&d, b, p, 'a', 1023);
	assert_non_null(strstr(p->p_errbuf, "msgrouter-cat: stdin line 2: a "
	    "message of 1024 bytes is over --max-message-size 1024 with its "
	    "0x00, skipped\n"));
	assert_non_null(strstr(p->p_errbuf, "msgrouter-cat: stdin line 3: "
	    "longer than 1040 bytes, over --max-message-size 1024, "
	    "skipped\n"));
	free(p);
}

/* The router going away, or never there, is exit status 1; usage is 2. */
static void
test_cat_failures(void **state)
{
	struct daemon	 d;
	struct proc	*p;
	char		 path[256], addr[64];
	const char	*cat = tool_path("MSGROUTER_CAT",
			    "../tools/msgrouter-cat");
	const char	*unreachable[] = { cat, "-H", addr, NULL };
	const char	*bad_to[] = { cat, "--to", "4294967296", NULL };
	const char	*bad_host[] = { cat, "-H", "localhost", NULL };
	const char	*bad_max[] = { cat, "--max-message-size", "2X", NULL };

	p = malloc(sizeof *p);
	assert_non_null(p);
	harness_start(&d, NULL);
	harness_tmp_path(path, sizeof path, "cat-gone.id");
	cat_start(p, &d, path, "1");
	snprintf(addr, sizeof addr, "%s", d.addr);
	harness_stop(&d);
	assert_int_equal(proc_read_until(p, 1, "closed", HARNESS_TIMEOUT_MS),
	    0);
	assert_int_equal(proc_finish(p, HARNESS_TIMEOUT_MS), 1);
	assert_non_null(strstr(p->p_errbuf, "msgrouter-cat: connection to "
	    "127.0.0.1:"));

	/* Nothing listens on the daemon's old port now. */
	proc_exit(p, unreachable, 1, "cannot connect to 127.0.0.1:", 0);
	proc_exit(p, bad_to, 2, "msgrouter-cat: --to: expected a decimal id "
	    "from 0 to 4294967295, got \"4294967296\"\n", 1);
	proc_exit(p, bad_host, 2, "--host: expected HOST:PORT", 0);
	proc_exit(p, bad_max, 2, "msgrouter-cat: --max-message-size: expected "
	    "a size from 1 to 1G like 64K or 1M, got \"2X\"\n", 1);
	free(p);
}

/* Run msgrouter-bench with extra flags and return its parsed report. */
static json_t *
bench_run(struct daemon *d, const char *const *flags, int *status)
{
	const char	*argv[32];
	struct proc	*p;
	json_error_t	 err;
	json_t		*report;
	int		 argc = 0, i;

	argv[argc++] = tool_path("MSGROUTER_BENCH", "../tools/msgrouter-bench");
	argv[argc++] = "-H";
	argv[argc++] = d->addr;
	argv[argc++] = "--json";
	argv[argc++] = "-q";
	for (i = 0; flags[i] != NULL; i++)
		argv[argc++] = flags[i];
	argv[argc] = NULL;
	p = malloc(sizeof *p);
	assert_non_null(p);
	proc_start(p, argv);
	*status = proc_finish(p, 60000);
	report = json_loads(p->p_outbuf, 0, &err);
	if (report == NULL || *status != 0)
		fprintf(stderr, "bench status %d, stdout: %s\nstderr: %s\n",
		    *status, p->p_outbuf, p->p_errbuf);
	assert_non_null(report);
	assert_true(json_is_object(report));
	/* Exactly one JSON object and its newline; -q: nothing on stderr. */
	assert_string_equal(p->p_outbuf + strlen(p->p_outbuf) - 2, "}\n");
	assert_string_equal(p->p_errbuf, "");
	free(p);
	return report;
}

static json_int_t
jint(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static double
jnum(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	assert_true(json_is_number(v));
	return json_number_value(v);
}

/* An integer of the bench's report and the value it must have. */
struct field_want {
	const char	*key;
	json_int_t	 value;
};

/* Each integer of the table (ended by a NULL key) has its value in r. */
static void
expect_fields(json_t *r, const struct field_want *want)
{
	for (; want->key != NULL; want++)
		if (jint(r, want->key) != want->value)
			fail_msg("bench report: %s is %lld, expected %lld",
			    want->key, (long long)jint(r, want->key),
			    (long long)want->value);
}

/* Start the daemon with args and run the bench with flags: exit 0. */
static json_t *
bench_check(struct daemon *d, const char *const *args,
    const char *const *flags)
{
	json_t	*r;
	int	 status;

	harness_start(d, args);
	r = bench_run(d, flags, &status);
	assert_int_equal(status, 0);
	return r;
}

/* A short checked run: no loss, no corruption, consistent figures. */
static void
test_bench_short(void **state)
{
	static const char *const flags[] = { "--duration", "1", "--warmup",
	    "0.2", "--pairs", "4", NULL };
	struct daemon	 d;
	json_t		*r;

	r = bench_check(&d, NULL, flags);
	expect_fields(r, (const struct field_want[]){
	    { "pairs", 4 }, { "size", 64 }, { "window", 64 }, { "lost", 0 },
	    { "corrupt", 0 }, { NULL, 0 } });
	assert_true(json_is_true(json_object_get(r, "drained")));
	assert_int_equal(json_array_size(json_object_get(r, "errors")), 0);
	assert_true(jint(r, "msgs") > 0);
	assert_int_equal(jint(r, "sent"), jint(r, "received"));
	assert_true(jint(r, "received") >= jint(r, "msgs"));
	assert_true(jnum(r, "msgs_per_s") == (double)jint(r, "msgs") /
	    jnum(r, "duration_s"));
	assert_true(jnum(r, "p50_us") > 0);
	assert_true(jnum(r, "p50_us") <= jnum(r, "p90_us"));
	assert_true(jnum(r, "p90_us") <= jnum(r, "p99_us"));
	assert_true(jnum(r, "p99_us") <= jnum(r, "p999_us"));
	assert_true(jnum(r, "p999_us") <= jnum(r, "max_us"));
	json_decref(r);
	/* The daemon saw every frame the bench sent, and dropped none. */
	harness_stop(&d);
	harness_expect_counters(&d, (const struct counter_want[]){
	    { "dropped_unknown", 0 }, { "dropped_queue_full", 0 },
	    { NULL, 0 } });
}

/*
 * Stalled receivers, spammers and idle connections are reported apart.
 * Under backpressure the router keeps the stalled client and what it
 * queued for it reaches it once it reads.
 */
static void
test_bench_stalled_idle(void **state)
{
	static const char *const args[] = { "--slow-consumer", "backpressure",
	    "--queue-limit", "64K", NULL };
	static const char *const flags[] = { "--duration", "0.3", "--warmup",
	    "0", "--pairs", "2", "--window", "8", "--size", "100",
	    "--stalled", "1", "--idle", "20", NULL };
	struct daemon	 d;
	json_t		*r;

	r = bench_check(&d, args, flags);
	expect_fields(r, (const struct field_want[]){
	    { "size", 100 }, { "stalled", 1 }, { "idle", 20 },
	    { "idle_connected", 20 }, { "idle_dropped", 0 },
	    { "stalled_open", 1 }, { "stalled_closed", 0 }, { "lost", 0 },
	    { "corrupt", 0 }, { NULL, 0 } });
	assert_true(jint(r, "spam_bytes") > 0);
	assert_true(jint(r, "stalled_backlog_bytes") > 64 * 1024);
	assert_true(jint(r, "stalled_backlog_bytes") <= jint(r, "spam_bytes"));
	json_decref(r);
	harness_stop(&d);
	assert_int_equal(daemon_counter(&d, "accepted"),
	    2 * 2 + 2 * 1 + 20);
}

/*
 * The disconnect policy closes the stalled client, and the bench sees it.
 * One second, not 0.2: the kernel's buffers toward the stalled client
 * (megabytes with tcp_wmem autotuning) fill before its 64K queue does, and
 * on a loaded machine 0.2 s of spam was not always enough for both.
 */
static void
test_bench_stalled_disconnect(void **state)
{
	static const char *const args[] = { "--slow-consumer", "disconnect",
	    "--queue-limit", "64K", NULL };
	static const char *const flags[] = { "--duration", "1", "--warmup",
	    "0", "--pairs", "1", "--stalled", "1", NULL };
	struct daemon	 d;
	json_t		*r;

	r = bench_check(&d, args, flags);
	expect_fields(r, (const struct field_want[]){
	    { "stalled_closed", 1 }, { "stalled_open", 0 }, { "lost", 0 },
	    { NULL, 0 } });
	json_decref(r);
	harness_stop(&d);
	assert_int_equal(daemon_counter(&d, "disconnected_slow"), 1);
}

/* Bad flags are exit status 2 with the flag named. */
static void
test_bench_usage(void **state)
{
	const char	*bench = tool_path("MSGROUTER_BENCH",
			    "../tools/msgrouter-bench");
	const char	*small[] = { bench, "--size", "39", NULL };
	const char	*extra[] = { bench, "extra", NULL };
	struct proc	*p;

	p = malloc(sizeof *p);
	assert_non_null(p);
	proc_exit(p, small, 2, "--size: expected a number from 40 to", 0);
	proc_start(p, extra);
	assert_int_equal(proc_finish(p, HARNESS_TIMEOUT_MS), 2);
	assert_string_equal(p->p_outbuf, "");
	free(p);
}

/*
 * Through the real router: a payload with a 0x00 is refused before it is
 * framed, so the destination receives only the next, valid message.
 */
static void
test_library_refuses_nul(void **state)
{
	struct daemon		 d;
	struct mr_client	*a, *b;
	const char		*msg;
	size_t			 len;

	harness_start(&d, NULL);
	assert_int_equal(mr_client_connect(d.addr, HARNESS_TIMEOUT_MS, &a),
	    MR_OK);
	assert_int_equal(mr_client_connect(d.addr, HARNESS_TIMEOUT_MS, &b),
	    MR_OK);
	assert_int_equal(mr_client_send(a, mr_client_id(b), "bad\0one", 7,
	    HARNESS_TIMEOUT_MS), MR_EINVAL);
	assert_int_equal(mr_client_pending(a), 0);
	assert_int_equal(mr_client_send(a, mr_client_id(b), "good", 4,
	    HARNESS_TIMEOUT_MS), MR_OK);
	assert_int_equal(mr_client_recv(b, HARNESS_TIMEOUT_MS, &msg, &len),
	    MR_OK);
	assert_int_equal(len, 4);
	assert_memory_equal(msg, "good", 5);
	assert_int_equal(mr_client_recv(b, 0, &msg, &len), MR_EAGAIN);

	/* The router going away is MR_ECLOSED, not an error or a hang. */
	harness_stop(&d);
	assert_int_equal(mr_client_recv(b, HARNESS_TIMEOUT_MS, &msg, &len),
	    MR_ECLOSED);
	assert_int_equal(daemon_counter(&d, "frames"), 1);
	mr_client_close(a);
	mr_client_close(b);
}

/* The test certificates (tests/tls-certs.sh) made in a new directory. */
static void
tls_certs(char *dir, size_t len)
{
	const char	*script = getenv("TLS_CERTS_SH");
	char		 cmd[1024];

	harness_tmp_path(dir, len, "tls");
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(cmd, sizeof cmd, "sh %s %s",
	    script != NULL ? script : "tests/tls-certs.sh", dir);
	assert_int_equal(system(cmd), 0);
}

static void
tls_certs_remove(const char *dir)
{
	char	cmd[1024];

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * The daemon with a TLS listener beside the plain one, its certificate
 * from dir, and with mtls its clients' certificates required: the TLS
 * address into tlsaddr.
 */
static void
tls_daemon_start(struct daemon *d, const char *dir, char *tlsaddr,
    size_t len, int mtls)
{
	static char	 cert[512], key[512], ca[512];
	const char	*args[] = { "--tls-listen", tlsaddr, "--tls-cert", cert,
			    "--tls-key", key, mtls ? "--tls-ca" : NULL, ca,
			    NULL };

	/* A port free a moment ago; the daemon binds it at once. */
	close(harness_listener(tlsaddr, len));
	snprintf(cert, sizeof cert, "%s/server.pem", dir);
	snprintf(key, sizeof key, "%s/server.key", dir);
	snprintf(ca, sizeof ca, "%s/ca.pem", dir);
	harness_start(d, args);
}

/* A TLS msgrouter-cat and a plain one talk through the daemon. */
static void
test_tls_cat_exchange(void **state)
{
	struct daemon	 d;
	struct proc	*a, *b;
	char		 dir[256], tlsaddr[64], ca[512], path_a[256];
	char		 path_b[256], to_a[16], line[64];
	const char	*tls[] = { "-H", tlsaddr, "--tls", "--ca", ca, "--to",
			    to_a, NULL };
	uint32_t	 id_a, id_b;

	a = malloc(sizeof *a);
	b = malloc(sizeof *b);
	assert_true(a != NULL && b != NULL);
	tls_certs(dir, sizeof dir);
	snprintf(ca, sizeof ca, "%s/ca.pem", dir);
	tls_daemon_start(&d, dir, tlsaddr, sizeof tlsaddr, 0);
	harness_tmp_path(path_a, sizeof path_a, "tls-a.id");
	harness_tmp_path(path_b, sizeof path_b, "tls-b.id");

	id_a = cat_start(a, &d, path_a, NULL);
	snprintf(to_a, sizeof to_a, "%" PRIu32, id_a);
	id_b = cat_start_flags(b, &d, path_b, tls);
	assert_true(id_a != id_b);

	/* TLS to plain, then plain to TLS: one id space. */
	proc_write(b, "over tls\nsecond\n");
	assert_int_equal(proc_read_until(a, 0, "second\n",
	    HARNESS_TIMEOUT_MS), 0);
	assert_string_equal(a->p_outbuf, "over tls\nsecond\n");
	snprintf(line, sizeof line, "%" PRIu32 " back in clear\n", id_b);
	proc_write(a, line);
	assert_int_equal(proc_read_until(b, 0, "back in clear\n",
	    HARNESS_TIMEOUT_MS), 0);
	assert_string_equal(b->p_outbuf, "back in clear\n");

	assert_int_equal(proc_finish(b, HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(proc_finish(a, HARNESS_TIMEOUT_MS), 0);
	harness_stop(&d);
	tls_certs_remove(dir);
	free(a);
	free(b);
}

/*
 * Against the daemon's TLS port: an untrusted CA and the system's store
 * are refused with the reason, --insecure is not; with client certificates
 * required, ours is accepted and none is refused.
 */
static void
test_tls_cat_verify(void **state)
{
	const char	*cat = tool_path("MSGROUTER_CAT",
			    "../tools/msgrouter-cat");
	struct daemon	 d;
	struct proc	*p;
	char		 dir[256], tlsaddr[64], ca[512], other[512];
	char		 cert[512], key[512];
	const char	*wrong_ca[] = { cat, "-H", tlsaddr, "--tls", "--ca",
			    other, NULL };
	const char	*system_ca[] = { cat, "-H", tlsaddr, "--tls", NULL };
	const char	*insecure[] = { cat, "-H", tlsaddr, "--tls",
			    "--insecure", NULL };
	const char	*no_cert[] = { cat, "-H", tlsaddr, "--tls", "--ca", ca,
			    NULL };
	const char	*with_cert[] = { cat, "-H", tlsaddr, "--tls", "--ca",
			    ca, "--cert", cert, "--key", key, NULL };

	p = malloc(sizeof *p);
	assert_non_null(p);
	tls_certs(dir, sizeof dir);
	snprintf(ca, sizeof ca, "%s/ca.pem", dir);
	snprintf(other, sizeof other, "%s/ca2.pem", dir);
	snprintf(cert, sizeof cert, "%s/client.pem", dir);
	snprintf(key, sizeof key, "%s/client.key", dir);

	tls_daemon_start(&d, dir, tlsaddr, sizeof tlsaddr, 0);
	proc_exit(p, wrong_ca, 1, "TLS handshake: certificate verify failed "
	    "(unable to get local issuer certificate)", 0);
	proc_exit(p, system_ca, 1, "TLS handshake: certificate verify failed",
	    0);
	proc_exit(p, insecure, 0, "msgrouter-cat: id ", 0);
	harness_stop(&d);

	tls_daemon_start(&d, dir, tlsaddr, sizeof tlsaddr, 1);
	proc_exit(p, with_cert, 0, "msgrouter-cat: id ", 0);
	proc_exit(p, no_cert, 1, "certificate required", 0);
	harness_stop(&d);
	tls_certs_remove(dir);
	free(p);
}

/* msgrouter-bench over TLS, verified: nothing lost or corrupt. */
static void
test_tls_bench(void **state)
{
	struct daemon	 d;
	char		 dir[256], tlsaddr[64], ca[512];
	const char	*flags[] = { "-H", tlsaddr, "--tls", "--ca", ca,
			    "--duration", "1", "--warmup", "0.2", "--pairs", "4",
			    "--size", "4096", "--window", "8", "--idle", "20",
			    NULL };
	json_t		*r;
	int		 status;

	tls_certs(dir, sizeof dir);
	snprintf(ca, sizeof ca, "%s/ca.pem", dir);
	tls_daemon_start(&d, dir, tlsaddr, sizeof tlsaddr, 0);
	r = bench_run(&d, flags, &status);
	assert_int_equal(status, 0);
	assert_true(json_is_true(json_object_get(r, "tls")));
	expect_fields(r, (const struct field_want[]){
		{ "lost", 0 }, { "corrupt", 0 }, { "idle_connected", 20 },
		{ "idle_dropped", 0 }, { NULL, 0 } });
	assert_true(jint(r, "received") > 0);
	assert_true(jint(r, "received") == jint(r, "sent"));
	json_decref(r);
	harness_stop(&d);
	tls_certs_remove(dir);
}

/*
 * -H unix:/PATH: the library, msgrouter-cat and msgrouter-bench reach the
 * router's Unix socket, and a Unix client and a TCP client talk.
 */
static void
test_tools_unix(void **state)
{
	static const char *const bench_flags[] = { "-H", NULL, "--duration",
	    "0.5", "--warmup", "0.1", "--pairs", "2", NULL };
	const char		*args[] = { "-l", NULL, NULL };
	const char		*cat_flags[] = { "-H", NULL, NULL };
	const char		*flags[sizeof bench_flags /
				    sizeof bench_flags[0]];
	char			 sock[200], listen[256], unix_addr[256];
	char			 id_file[256], line[64];
	struct daemon		 d;
	struct mr_client	*u, *t, *bad;
	struct proc		*cat;
	const char		*msg;
	size_t			 len, i;
	json_t			*r;
	int			 status;
	uint32_t		 id;

	harness_sock_path(sock, sizeof sock, "tools.sock");
	unlink(sock);
	snprintf(listen, sizeof listen, "127.0.0.1:0, unix:%s", sock);
	snprintf(unix_addr, sizeof unix_addr, "unix:%s", sock);
	args[1] = listen;
	harness_start(&d, args);
	/* Ready on the first address: the second may still be binding. */
	harness_wait_log(&d, "info  listening on unix:", 1);

	assert_int_equal(mr_client_connect(unix_addr, HARNESS_TIMEOUT_MS, &u),
	    MR_OK);
	assert_int_equal(mr_client_connect(d.addr, HARNESS_TIMEOUT_MS, &t),
	    MR_OK);
	assert_int_equal(mr_client_send(u, mr_client_id(t), "over unix", 9,
	    HARNESS_TIMEOUT_MS), MR_OK);
	assert_int_equal(mr_client_recv(t, HARNESS_TIMEOUT_MS, &msg, &len),
	    MR_OK);
	assert_memory_equal(msg, "over unix", 10);
	assert_int_equal(mr_client_send(t, mr_client_id(u), "over tcp", 8,
	    HARNESS_TIMEOUT_MS), MR_OK);
	assert_int_equal(mr_client_recv(u, HARNESS_TIMEOUT_MS, &msg, &len),
	    MR_OK);
	assert_memory_equal(msg, "over tcp", 9);
	mr_client_close(t);
	assert_int_equal(mr_client_connect("unix:relative.sock",
	    HARNESS_TIMEOUT_MS, &bad), MR_EINVAL);

	/* msgrouter-cat: a later -H wins over the harness's TCP one. */
	assert_non_null(cat = malloc(sizeof *cat));
	harness_tmp_path(id_file, sizeof id_file, "cat-unix.id");
	cat_flags[1] = unix_addr;
	id = cat_start_flags(cat, &d, id_file, cat_flags);
	assert_int_equal(mr_client_send(u, id, "to cat", 6,
	    HARNESS_TIMEOUT_MS), MR_OK);
	assert_int_equal(proc_read_until(cat, 0, "to cat\n",
	    HARNESS_TIMEOUT_MS), 0);
	snprintf(line, sizeof line, "%" PRIu32 " from cat\n", mr_client_id(u));
	proc_write(cat, line);
	assert_int_equal(mr_client_recv(u, HARNESS_TIMEOUT_MS, &msg, &len),
	    MR_OK);
	assert_memory_equal(msg, "from cat", 9);
	assert_int_equal(proc_finish(cat, HARNESS_TIMEOUT_MS), 0);
	free(cat);
	mr_client_close(u);

	/* msgrouter-bench: a checked run over the Unix socket. */
	for (i = 0; i < sizeof flags / sizeof flags[0]; i++)
		flags[i] = bench_flags[i];
	flags[1] = unix_addr;
	r = bench_run(&d, flags, &status);
	assert_int_equal(status, 0);
	assert_string_equal(json_string_value(json_object_get(r, "host")),
	    unix_addr);
	assert_int_equal(jint(r, "lost"), 0);
	assert_int_equal(jint(r, "corrupt"), 0);
	assert_true(jint(r, "msgs") > 0);
	json_decref(r);
	harness_stop(&d);
	errno = 0;
	assert_int_equal(access(sock, F_OK), -1);
	assert_int_equal(errno, ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_library_refuses_nul),
		harness_unit_test(test_cat_round_trip),
		harness_unit_test(test_cat_failures),
		harness_unit_test(test_cat_max_message),
		harness_unit_test(test_bench_usage),
		harness_unit_test(test_bench_short),
		harness_unit_test(test_bench_stalled_idle),
		harness_unit_test(test_bench_stalled_disconnect),
		harness_unit_test(test_tls_cat_exchange),
		harness_unit_test(test_tls_cat_verify),
		harness_unit_test(test_tls_bench),
		harness_unit_test(test_tools_unix),
	};

	harness_init();
	return harness_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
