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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

long long
tc_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

/* Read the whole log into a NUL-terminated malloc'd string. */
static char *
daemon_read_log(struct daemon *d)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 len = 0, cap = 0, n;

	if ((f = fopen(d->log_path, "r")) == NULL)
		return strdup("");
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			if ((buf = realloc(buf, cap)) == NULL) {
				fclose(f);
				return NULL;
			}
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
	char	*log = daemon_read_log(d), *p, *eol;
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
	char		*log = daemon_read_log(d), *p, *eol, *line = NULL;
	char		 key[128];
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

void
daemon_dump_log(struct daemon *d)
{
	char	*log = daemon_read_log(d);

	if (log != NULL) {
		fprintf(stderr, "---- %s ----\n%s---- end ----\n", d->log_path,
		    log);
		free(log);
	}
}

/* Parse the port from the first "<marker>ADDR:PORT" line, 0 if none yet. */
static int
daemon_find_port(struct daemon *d, const char *marker)
{
	char	*log = daemon_read_log(d), *p, *eol;
	int	 port = 0;

	if (log == NULL)
		return 0;
	if ((p = strstr(log, marker)) != NULL &&
	    (eol = strchr(p, '\n')) != NULL) {
		*eol = '\0';
		if ((p = strrchr(p, ':')) != NULL)
			port = atoi(p + 1);
	}
	free(log);
	return port;
}

int
daemon_start(struct daemon *d, const char *const *args)
{
	const char	*bin = getenv("MSGROUTERD");
	const char	*tmp = getenv("TESTS_TMPDIR");
	const char	*wrapper = getenv("MSGROUTERD_WRAPPER");
	const char	*argv[96];
	static int	 seq;
	static char	 words[512];
	char		*w, *save;
	long long	 deadline;
	int		 argc = 0, fd, status, i, want_admin = 0;

	memset(d, 0, sizeof *d);
	if (bin == NULL)
		bin = "../src/msgrouterd";
	if (tmp == NULL)
		tmp = ".";
	snprintf(d->log_path, sizeof d->log_path, "%s/daemon-%d-%d.log", tmp,
	    (int)getpid(), seq++);
	/* "valgrind --error-exitcode=99 ...": words before the daemon. */
	if (wrapper != NULL && wrapper[0] != '\0') {
		snprintf(words, sizeof words, "%s", wrapper);
		for (w = strtok_r(words, " ", &save); w != NULL && argc < 30;
		    w = strtok_r(NULL, " ", &save))
			argv[argc++] = w;
	}
	argv[argc++] = bin;
	argv[argc++] = "-l";
	argv[argc++] = "127.0.0.1:0";
	for (i = 0; args != NULL && args[i] != NULL && argc < 90; i++) {
		argv[argc++] = args[i];
		if (strcmp(args[i], "--admin") == 0 && args[i + 1] != NULL &&
		    strcmp(args[i + 1], "off") != 0)
			want_admin = 1;
	}
	/*
	 * The admin interface listens on 127.0.0.1:8081 by default: tests
	 * that do not ask for it must not race for that port.
	 */
	for (i = 0; args != NULL && args[i] != NULL; i++)
		if (strcmp(args[i], "--admin") == 0)
			break;
	if (args == NULL || args[i] == NULL) {
		argv[argc++] = "--admin";
		argv[argc++] = "off";
	}
	argv[argc] = NULL;

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
	deadline = tc_now_ms() + HARNESS_TIMEOUT_MS;
	for (;;) {
		if (d->port == 0)
			d->port = daemon_find_port(d, "info  listening on ");
		if (want_admin && d->admin_port == 0)
			d->admin_port = daemon_find_port(d,
			    "admin listening on ");
		if (d->port != 0 && (!want_admin || d->admin_port != 0))
			break;
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			daemon_dump_log(d);
			return -1;
		}
		if (tc_now_ms() > deadline) {
			daemon_dump_log(d);
			return -1;
		}
		harness_pause();
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
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			return 128 + WTERMSIG(status);
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

/*
 * Connect to the daemon's routing port; a receive buffer of rcvbuf bytes
 * (0: the default) is set before connecting, so the window stays small.
 */
static int
harness_connect(struct daemon *d, int rcvbuf)
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
	sin.sin_port = htons((uint16_t)d->port);
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

	if ((fd = harness_connect(d, rcvbuf)) == -1)
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
	return harness_connect(d, 0);
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
tc_write(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
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

int
tc_read_exact(int fd, void *buf, size_t len, int timeout_ms)
{
	long long	 deadline = tc_now_ms() + timeout_ms;
	char		*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if (tc_wait_readable(fd, deadline) != 0)
			return -1;
		n = read(fd, p, len);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
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

int
tc_ping_pong(int a, uint32_t ida, int b, uint32_t idb, int n)
{
	char	msg[32];
	int	i;

	for (i = 0; i < n; i++) {
		snprintf(msg, sizeof msg, "ping %d", i);
		if (tc_send(a, idb, msg) != 0 ||
		    tc_expect(b, msg, strlen(msg) + 1, HARNESS_TIMEOUT_MS) != 0)
			return -1;
		snprintf(msg, sizeof msg, "pong %d", i);
		if (tc_send(b, ida, msg) != 0 ||
		    tc_expect(a, msg, strlen(msg) + 1, HARNESS_TIMEOUT_MS) != 0)
			return -1;
	}
	return 0;
}
