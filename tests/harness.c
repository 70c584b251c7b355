/*
 * harness: spawn msgrouterd, find its port, and drive it with sockets.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "http_client.h"

/*
 * Every daemon daemon_start() spawned, for harness_teardown() and
 * harness_finish(): the struct daemon lives in a test's frame, gone when
 * an assertion leaves it, so the run keeps its own copy of what it needs.
 */
struct harness_run {
	pid_t	hr_pid;
	int	hr_running;
	int	hr_status;	/* exit status or 128 + signal; -1: running */
	int	hr_dumped;	/* its log went to stderr */
	char	hr_log[256];
};

static struct harness_run	*harness_runs;
static size_t			 harness_nruns;

long long
tc_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
tc_cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
harness_timeout_ms(void)
{
	const char	*s = getenv("HARNESS_TIMEOUT_SCALE");
	int		 scale = s != NULL ? atoi(s) : 1;

	return 15000 * (scale >= 1 ? scale : 1);
}

int
harness_wrapped(void)
{
	const char	*w = getenv("MSGROUTERD_WRAPPER");

	return w != NULL && w[0] != '\0';
}

/* The run of the daemon whose log is at path, or NULL. */
static struct harness_run *
harness_run_find(const char *path)
{
	size_t	i;

	for (i = 0; i < harness_nruns; i++)
		if (strcmp(harness_runs[i].hr_log, path) == 0)
			return &harness_runs[i];
	return NULL;
}

/* Remember a daemon just spawned; untracked (its log kept) if no memory. */
static void
harness_run_add(struct daemon *d)
{
	struct harness_run	*r;

	r = realloc(harness_runs, (harness_nruns + 1) * sizeof *r);
	if (r == NULL)
		return;
	harness_runs = r;
	r += harness_nruns++;
	memset(r, 0, sizeof *r);
	r->hr_pid = d->pid;
	r->hr_running = 1;
	r->hr_status = -1;
	snprintf(r->hr_log, sizeof r->hr_log, "%s", d->log_path);
}

/* Record the exit of the daemon logging to path. */
static void
harness_run_exited(const char *path, int status)
{
	struct harness_run	*r = harness_run_find(path);

	if (r != NULL) {
		r->hr_running = 0;
		r->hr_status = status;
	}
}

/* waitpid's status as one number: the exit status, or 128 + signal. */
static int
harness_exit_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

long
daemon_rss_kb(struct daemon *d)
{
	char	path[64], line[256];
	FILE	*f;
	long	kb = -1;

	snprintf(path, sizeof path, "/proc/%d/status", (int)d->pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

long long
daemon_cpu_ticks(struct daemon *d)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 ut, st;
	FILE			*f;
	size_t			 n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)d->pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command may hold spaces: fields count from its closing ')'. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/* Sleep a little between polls of a file: the log is a file, not a pipe. */
static void
harness_pause(void)
{
	struct timespec	ts = { 0, 5 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* Read a whole file into a NUL-terminated malloc'd string ("" if absent). */
static char *
harness_read_file(const char *path)
{
	FILE	*f;
	char	*buf = NULL, *nbuf;
	size_t	 len = 0, cap = 0, n;

	if ((f = fopen(path, "r")) == NULL)
		return strdup("");
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nbuf;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

int
daemon_log_count(struct daemon *d, const char *s)
{
	char	*log = harness_read_file(d->log_path), *p, *eol;
	int	 n = 0;

	if (log == NULL)
		return 0;
	for (p = log; *p != '\0'; p = eol + 1) {
		if ((eol = strchr(p, '\n')) == NULL)
			break;
		*eol = '\0';
		if (strstr(p, s) != NULL)
			n++;
	}
	free(log);
	return n;
}

int
daemon_wait_log(struct daemon *d, const char *s, int n, int timeout_ms)
{
	long long	deadline = tc_now_ms() + timeout_ms;

	while (daemon_log_count(d, s) < n) {
		if (tc_now_ms() > deadline)
			return -1;
		harness_pause();
	}
	return 0;
}

long long
daemon_log_value(struct daemon *d, const char *marker, const char *name)
{
	char		*log = harness_read_file(d->log_path), *p, *eol;
	char		*line = NULL, key[128];
	long long	 v = -1;

	if (log == NULL)
		return -1;
	for (p = log; *p != '\0'; p = eol + 1) {
		if ((eol = strchr(p, '\n')) == NULL)
			break;
		*eol = '\0';
		if (strstr(p, marker) != NULL)
			line = p;
	}
	snprintf(key, sizeof key, " %s=", name);
	if (line != NULL && (p = strstr(line, key)) != NULL)
		v = strtoll(p + strlen(key), NULL, 10);
	free(log);
	return v;
}

json_t *
daemon_admin_json(struct daemon *d, const char *path)
{
	struct http_response	 r;
	json_t			*j;

	assert_int_equal(http_request(d->admin_port, "GET", path, NULL, &r,
	    HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(j = json_loads(r.body, 0, NULL));
	http_response_free(&r);
	return j;
}

long long
daemon_stat(struct daemon *d, const char *group, const char *name)
{
	json_t		*j = daemon_admin_json(d, "/stats"), *g, *v;
	long long	 n;

	assert_non_null(g = json_object_get(j, group));
	v = json_object_get(g, name);
	assert_true(json_is_integer(v));
	n = json_integer_value(v);
	json_decref(j);
	return n;
}

long long
daemon_counter(struct daemon *d, const char *name)
{
	return daemon_log_value(d, "final counters", name);
}

/* Copy the log at path to stderr, and remember that it was shown. */
static void
harness_dump(const char *path)
{
	struct harness_run	*r = harness_run_find(path);
	char			*log = harness_read_file(path);

	if (log != NULL) {
		fprintf(stderr, "---- %s ----\n%s---- end ----\n", path, log);
		free(log);
		if (r != NULL)
			r->hr_dumped = 1;
	}
}

void
daemon_dump_log(struct daemon *d)
{
	harness_dump(d->log_path);
}

/*
 * Parse the port from the first "<marker>ADDR:PORT" line, 0 if none yet;
 * -1 if that line is a Unix socket's ("<marker>unix:/PATH").
 */
static int
daemon_find_port(struct daemon *d, const char *marker)
{
	char	*log = harness_read_file(d->log_path), *p, *eol;
	int	 port = 0;

	if (log == NULL)
		return 0;
	if ((p = strstr(log, marker)) != NULL &&
	    (eol = strchr(p, '\n')) != NULL) {
		*eol = '\0';
		if (strncmp(p + strlen(marker), "unix:", 5) == 0) {
			free(log);
			return -1;
		}
		if ((p = strrchr(p, ':')) != NULL)
			port = atoi(p + 1);
	}
	free(log);
	return port;
}

/*
 * The daemon's command line: the wrapper's words ("valgrind
 * --error-exitcode=99 ..."), the daemon, "-l 127.0.0.1:0", args and
 * "--admin off" unless args name --admin.  Returns whether args give the
 * admin interface an address.  The wrapper's words live in a static
 * buffer: one command line at a time.
 */
static int
daemon_argv(const char **argv, size_t max, const char *const *args)
{
	const char	*bin = getenv("MSGROUTERD");
	const char	*wrapper = getenv("MSGROUTERD_WRAPPER");
	static char	 words[512];
	char		*w, *save;
	size_t		 argc = 0, i;
	int		 want_admin = 0, admin_named = 0;

	if (wrapper != NULL && wrapper[0] != '\0') {
		snprintf(words, sizeof words, "%s", wrapper);
		for (w = strtok_r(words, " ", &save); w != NULL &&
		    argc < max / 3; w = strtok_r(NULL, " ", &save))
			argv[argc++] = w;
	}
	argv[argc++] = bin != NULL ? bin : "../src/msgrouterd";
	argv[argc++] = "-l";
	argv[argc++] = "127.0.0.1:0";
	for (i = 0; args != NULL && args[i] != NULL && argc < max - 3; i++) {
		argv[argc++] = args[i];
		if (strcmp(args[i], "--admin") != 0)
			continue;
		admin_named = 1;
		if (args[i + 1] != NULL && strcmp(args[i + 1], "off") != 0)
			want_admin = 1;
	}
	/*
	 * The admin interface listens on 127.0.0.1:8081 by default: tests
	 * that do not ask for it must not race for that port.
	 */
	if (!admin_named) {
		argv[argc++] = "--admin";
		argv[argc++] = "off";
	}
	argv[argc] = NULL;
	return want_admin;
}

/*
 * Wait until the daemon has logged its routing port and, if want_admin,
 * its admin port; 0, or -1 if it exited or the deadline passed.
 */
static int
daemon_wait_ready(struct daemon *d, int want_admin)
{
	long long	deadline = tc_now_ms() + HARNESS_TIMEOUT_MS;
	int		status;

	for (;;) {
		if (d->port == 0)
			d->port = daemon_find_port(d, "info  listening on ");
		if (want_admin && d->admin_port == 0)
			d->admin_port = daemon_find_port(d,
			    "admin listening on ");
		if (d->port != 0 && (!want_admin || d->admin_port != 0))
			return 0;
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			harness_run_exited(d->log_path,
			    harness_exit_status(status));
			return -1;
		}
		if (tc_now_ms() > deadline) {
			kill(d->pid, SIGKILL);
			daemon_wait_exit(d, HARNESS_TIMEOUT_MS);
			return -1;
		}
		harness_pause();
	}
}

int
daemon_start(struct daemon *d, const char *const *args)
{
	const char	*tmp = getenv("TESTS_TMPDIR");
	const char	*argv[96];
	static int	 seq;
	int		 fd, want_admin;

	memset(d, 0, sizeof *d);
	snprintf(d->log_path, sizeof d->log_path, "%s/daemon-%d-%d.log",
	    tmp != NULL ? tmp : ".", (int)getpid(), seq++);
	want_admin = daemon_argv(argv, sizeof argv / sizeof argv[0], args);
	if ((d->pid = fork()) == -1)
		return -1;
	if (d->pid == 0) {
		fd = open(d->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd == -1)
			_exit(127);
		dup2(fd, STDERR_FILENO);
		close(fd);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	harness_run_add(d);
	if (daemon_wait_ready(d, want_admin) != 0) {
		daemon_dump_log(d);
		return -1;
	}
	snprintf(d->addr, sizeof d->addr, "127.0.0.1:%d", d->port);
	return 0;
}

int
daemon_wait_exit(struct daemon *d, int timeout_ms)
{
	long long	deadline = tc_now_ms() + timeout_ms;
	int		status;

	if (d->pid <= 0)
		return -1;
	for (;;) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			status = harness_exit_status(status);
			harness_run_exited(d->log_path, status);
			return status;
		}
		if (tc_now_ms() > deadline)
			return -1;
		harness_pause();
	}
}

int
daemon_stop(struct daemon *d, int sig, int timeout_ms)
{
	int	rc;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, sig);
	if ((rc = daemon_wait_exit(d, timeout_ms)) == -1) {
		kill(d->pid, SIGKILL);
		daemon_wait_exit(d, timeout_ms);
		daemon_dump_log(d);
	}
	return rc;
}

/* Wait up to timeout_ms for pid; its status, or -1 (then it is killed). */
static int
harness_wait_pid(pid_t pid, int timeout_ms)
{
	long long	deadline = tc_now_ms() + timeout_ms;
	int		status;

	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (tc_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		harness_pause();
	}
	return harness_exit_status(status);
}

/* Read the file at path into buf (NUL-terminated, cut to fit); remove it. */
static void
harness_slurp(const char *path, char *buf, size_t len)
{
	char	*text = harness_read_file(path);

	snprintf(buf, len, "%s", text != NULL ? text : "");
	free(text);
	unlink(path);
}

int
daemon_run(const char *const *args, char *out, size_t outlen, char *err,
    size_t errlen)
{
	const char	*bin = getenv("MSGROUTERD");
	const char	*argv[32];
	char		 opath[256], epath[256];
	size_t		 argc = 0;
	pid_t		 pid;
	int		 fd, rc;

	harness_tmp_path(opath, sizeof opath, "stdout");
	harness_tmp_path(epath, sizeof epath, "stderr");
	argv[argc++] = bin != NULL ? bin : "../src/msgrouterd";
	while (*args != NULL && argc < 31)
		argv[argc++] = *args++;
	argv[argc] = NULL;
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		fd = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, STDOUT_FILENO);
		fd = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	rc = harness_wait_pid(pid, HARNESS_TIMEOUT_MS);
	harness_slurp(opath, out, outlen);
	harness_slurp(epath, err, errlen);
	return rc;
}

void
harness_start(struct daemon *d, const char *const *args)
{
	size_t	i;

	assert_int_equal(daemon_start(d, args), 0);
	for (i = 0; args != NULL && args[i] != NULL; i++)
		if (strcmp(args[i], "--admin") == 0 && args[i + 1] != NULL &&
		    strcmp(args[i + 1], "off") != 0)
			assert_true(d->admin_port > 0 || (d->admin_port == -1 &&
			    strncmp(args[i + 1], "unix:", 5) == 0));
}

void
harness_stop(struct daemon *d)
{
	int	rc = daemon_stop(d, SIGTERM, HARNESS_TIMEOUT_MS);

	if (rc != 0)
		daemon_dump_log(d);
	assert_int_equal(rc, 0);
}

void
harness_wait_exit(struct daemon *d, int timeout_ms)
{
	int	rc = daemon_wait_exit(d, timeout_ms);

	if (rc != 0)
		daemon_dump_log(d);
	assert_int_equal(rc, 0);
}

void
harness_wait_log(struct daemon *d, const char *s, int n)
{
	if (daemon_wait_log(d, s, n, HARNESS_TIMEOUT_MS) != 0) {
		daemon_dump_log(d);
		fail_msg("the log never held %d lines with \"%s\"", n, s);
	}
}

void
harness_wait_client(struct daemon *d, uint32_t id, const char *what)
{
	char	line[128];

	snprintf(line, sizeof line, "client %u%s", id, what);
	harness_wait_log(d, line, 1);
}

void
harness_expect_counters(struct daemon *d, const struct counter_want *want)
{
	long long	v;

	for (; want->name != NULL; want++) {
		if ((v = daemon_counter(d, want->name)) != want->value) {
			daemon_dump_log(d);
			fail_msg("final counter %s is %lld, expected %lld",
			    want->name, v, want->value);
		}
	}
}

void
harness_tmp_path(char *buf, size_t len, const char *tag)
{
	const char	*dir = getenv("TESTS_TMPDIR");

	snprintf(buf, len, "%s/tmp-%s-%d-%s", dir != NULL ? dir : ".",
	    program_invocation_short_name, (int)getpid(), tag);
}

void
harness_sock_path(char *buf, size_t len, const char *tag)
{
	harness_tmp_path(buf, len, tag);
	if (buf[0] == '/' && strlen(buf) <= HARNESS_SOCK_PATH_MAX)
		return;
	snprintf(buf, len, "/tmp/mr-%s-%d-%s", program_invocation_short_name,
	    (int)getpid(), tag);
}

void
harness_write_file(const char *path, const char *text)
{
	FILE	*f;

	assert_non_null(f = fopen(path, "w"));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

int
harness_listener(char *addr, size_t len)
{
	struct sockaddr_in	sin;
	socklen_t		sl = sizeof sin;
	int			fd;

	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(addr, len, "127.0.0.1:%u", ntohs(sin.sin_port));
	return fd;
}

void
harness_need_ipv6(void)
{
	struct sockaddr_in6	sin6;
	int			fd, ok;

	memset(&sin6, 0, sizeof sin6);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	if ((fd = socket(AF_INET6, SOCK_STREAM, 0)) < 0)
		skip();
	ok = bind(fd, (struct sockaddr *)&sin6, sizeof sin6) == 0;
	close(fd);
	if (!ok)
		skip();
}

void
harness_need_nofile(long n)
{
	struct rlimit	rl;
	rlim_t		need = (rlim_t)n;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur >= need)
		return;
	if (rl.rlim_max < need)
		fprintf(stderr, "RLIMIT_NOFILE hard limit %llu < %llu: "
		    "raise it (ulimit -Hn) to run this test\n",
		    (unsigned long long)rl.rlim_max, (unsigned long long)need);
	assert_true(rl.rlim_max >= need);
	rl.rlim_cur = need;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

void
harness_child_ok(pid_t pid)
{
	int	status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Kill the daemons still running and dump their logs; how many there were. */
static int
harness_kill_running(const char *why)
{
	struct harness_run	*r;
	size_t			 i;
	int			 status, n = 0;

	for (i = 0; i < harness_nruns; i++) {
		r = &harness_runs[i];
		if (!r->hr_running)
			continue;
		r->hr_running = 0;
		r->hr_status = -1;
		switch (waitpid(r->hr_pid, &status, WNOHANG)) {
		case 0:
			kill(r->hr_pid, SIGKILL);
			waitpid(r->hr_pid, &status, 0);
			fprintf(stderr, "harness: daemon %d still running %s; "
			    "killed\n", (int)r->hr_pid, why);
			harness_dump(r->hr_log);
			r->hr_status = harness_exit_status(status);
			n++;
			break;
		case -1:
			break;
		default:
			r->hr_status = harness_exit_status(status);
			break;
		}
	}
	return n;
}

int
harness_teardown(void **state)
{
	harness_kill_running("at the end of its test");
	return 0;
}

void
pair_open(struct pair *p, const char *const *args, int small_b)
{
	harness_start(&p->d, args);
	pair_connect(p, small_b);
}

void
pair_open_nofile(struct pair *p, const char *const *args, long nofile)
{
	struct rlimit	saved, low;
	int		rc;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = (rlim_t)nofile;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	rc = daemon_start(&p->d, args);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_int_equal(rc, 0);
	pair_connect(p, 0);
}

void
pair_connect(struct pair *p, int small_b)
{
	p->a = p->b = -1;
	assert_true((p->a = tc_connect(&p->d, &p->ida)) >= 0);
	if (small_b)
		p->b = tc_connect_small(&p->d, &p->idb);
	else
		p->b = tc_connect(&p->d, &p->idb);
	assert_true(p->b >= 0);
}

void
pair_close(struct pair *p)
{
	if (p->a != -1)
		close(p->a);
	if (p->b != -1)
		close(p->b);
	p->a = p->b = -1;
	harness_kill_running("at the end of its test");
}

int
pair_setup(void **state)
{
	const char *const	*args = *state;
	struct pair		*p;

	assert_non_null(p = calloc(1, sizeof *p));
	*state = p;
	pair_open(p, args, 0);
	return 0;
}

int
pair_teardown(void **state)
{
	pair_close(*state);
	free(*state);
	return 0;
}

void
harness_init(void)
{
	signal(SIGPIPE, SIG_IGN);
}

int
harness_finish(int failed)
{
	size_t	i;
	int	left;

	left = harness_kill_running("when the tests ended");
	if (failed == 0 && left == 0) {
		for (i = 0; i < harness_nruns; i++)
			if (harness_runs[i].hr_status == 0 ||
			    harness_runs[i].hr_dumped)
				unlink(harness_runs[i].hr_log);
	} else if (harness_nruns > 0)
		fprintf(stderr, "harness: a test failed: the daemons' logs "
		    "are kept (%s ...)\n", harness_runs[0].hr_log);
	free(harness_runs);
	harness_runs = NULL;
	harness_nruns = 0;
	return failed + left;
}

/*
 * Connect to 127.0.0.1:port; a receive buffer of rcvbuf bytes (0: the
 * default) is set before connecting, so the window stays small.
 */
static int
harness_connect(int port, int rcvbuf)
{
	struct sockaddr_in	sin;
	int			fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
	    sizeof rcvbuf) == -1) {
		close(fd);
		return -1;
	}
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* Connect as harness_connect does and read the 4-byte id. */
static int
harness_connect_id(struct daemon *d, int rcvbuf, uint32_t *id)
{
	uint32_t	be;
	int		fd;

	if ((fd = harness_connect(d->port, rcvbuf)) == -1)
		return -1;
	if (tc_read_exact(fd, &be, sizeof be, HARNESS_TIMEOUT_MS) != 0) {
		close(fd);
		return -1;
	}
	*id = ntohl(be);
	return fd;
}

int
tc_connect_raw(struct daemon *d)
{
	return harness_connect(d->port, 0);
}

int
tc_connect_port(int port)
{
	return harness_connect(port, 0);
}

int
tc_connect(struct daemon *d, uint32_t *id)
{
	return harness_connect_id(d, 0, id);
}

int
tc_connect_small(struct daemon *d, uint32_t *id)
{
	return harness_connect_id(d, TC_SMALL_RCVBUF, id);
}

int
tc_connect_unix(const char *path, uint32_t *id)
{
	struct sockaddr_un	sun;
	uint32_t		be;
	int			fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		return -1;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    tc_read_exact(fd, &be, sizeof be, HARNESS_TIMEOUT_MS) != 0) {
		close(fd);
		return -1;
	}
	*id = ntohl(be);
	return fd;
}

void
tc_close_reset(int fd)
{
	struct linger	l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	close(fd);
}

/* Wait until fd is readable; 0, or -1 at the deadline. */
static int
tc_wait_readable(int fd, long long deadline)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	long long	left;
	int		n;

	for (;;) {
		left = deadline - tc_now_ms();
		if (left < 0)
			return -1;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

/*
 * Move len bytes between p and fd: written (blocking) if out, or read as
 * they come until the deadline.  0, or -1 on an error, EOF or timeout.
 */
static int
tc_transfer(int fd, char *p, size_t len, int out, long long deadline)
{
	ssize_t	n;

	while (len > 0) {
		if (!out && tc_wait_readable(fd, deadline) != 0)
			return -1;
		n = out ? write(fd, p, len) : read(fd, p, len);
		if (n == -1 && (errno == EINTR || (!out && errno == EAGAIN)))
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
tc_write(int fd, const void *buf, size_t len)
{
	/* Written from, never to: the cast only shares tc_transfer. */
	return tc_transfer(fd, (char *)buf, len, 1, 0);
}

size_t
tc_frame(char *buf, uint32_t dst, const char *payload)
{
	uint32_t	be = htonl(dst);
	size_t		len = strlen(payload);

	memcpy(buf, &be, 4);
	memcpy(buf + 4, payload, len + 1);
	return len + 5;
}

int
tc_send(int fd, uint32_t dst, const char *payload)
{
	char	*buf;
	size_t	 len;
	int	 rc;

	if ((buf = malloc(strlen(payload) + 5)) == NULL)
		return -1;
	len = tc_frame(buf, dst, payload);
	rc = tc_write(fd, buf, len);
	free(buf);
	return rc;
}

int
tc_read_exact(int fd, void *buf, size_t len, int timeout_ms)
{
	return tc_transfer(fd, buf, len, 0, tc_now_ms() + timeout_ms);
}

int
tc_expect(int fd, const void *bytes, size_t len, int timeout_ms)
{
	char	*buf;
	int	 rc;

	if ((buf = malloc(len ? len : 1)) == NULL)
		return -1;
	rc = tc_read_exact(fd, buf, len, timeout_ms);
	if (rc == 0 && memcmp(buf, bytes, len) != 0)
		rc = -1;
	free(buf);
	return rc;
}

ssize_t
tc_recv_msg(int fd, char *buf, size_t max, int timeout_ms)
{
	long long	deadline = tc_now_ms() + timeout_ms;
	size_t		len = 0;
	ssize_t		n;

	/* Byte at a time: simple, and tests read little. */
	while (len < max) {
		if (tc_wait_readable(fd, deadline) != 0)
			return -1;
		n = read(fd, buf + len, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (buf[len++] == '\0')
			return (ssize_t)len;
	}
	return -1;
}

int
tc_expect_close(int fd, int timeout_ms)
{
	long long	deadline = tc_now_ms() + timeout_ms;
	char		buf[65536];
	ssize_t		n;

	for (;;) {
		if (tc_wait_readable(fd, deadline) != 0)
			return -1;
		n = read(fd, buf, sizeof buf);
		if (n == 0 || (n == -1 && errno == ECONNRESET))
			return 0;
		if (n == -1 && errno != EINTR && errno != EAGAIN)
			return -1;
	}
}

void
tc_expect_msg(int fd, const char *payload)
{
	assert_int_equal(tc_expect(fd, payload, strlen(payload) + 1,
	    HARNESS_TIMEOUT_MS), 0);
}

void
tc_ping_pong(int a, uint32_t ida, int b, uint32_t idb, int n)
{
	char	msg[32];
	int	i;

	for (i = 0; i < n; i++) {
		snprintf(msg, sizeof msg, "ping %d", i);
		assert_int_equal(tc_send(a, idb, msg), 0);
		tc_expect_msg(b, msg);
		snprintf(msg, sizeof msg, "pong %d", i);
		assert_int_equal(tc_send(b, ida, msg), 0);
		tc_expect_msg(a, msg);
	}
}
