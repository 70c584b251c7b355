/*
 * Integration tests of Unix sockets against the real daemon: a client on
 * the routing port's Unix socket and a TCP client route to each other,
 * byte-exact; the admin interface answers on its own Unix socket; the
 * socket files get unix_mode, a stale one is replaced at start, a live one
 * or a file of another kind is refused, and SIGTERM removes the files;
 * a path too long is a configuration error at -t.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "http_client.h"

/* One frame's payload in the byte-exact exchange: bytes 1 to 255 over. */
#define BIG_PAYLOAD	(64 * 1024)

/* msgrouterd run to its exit, as daemon_run(); out and err are arrays. */
#define run(args, out, err)						\
	daemon_run(args, out, sizeof out, err, sizeof err)

/* A socket path, in the test directory if it fits; nothing is at it. */
static void
sock_path(char *buf, size_t len, const char *tag)
{
	harness_sock_path(buf, len, tag);
	unlink(buf);
}

/* A socket file at path that nothing listens on: a daemon killed. */
static void
stale_socket(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	close(fd);
}

static int
file_mode(const char *path)
{
	struct stat	st;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	return (int)(st.st_mode & 07777);
}

static void
expect_gone(const char *path)
{
	errno = 0;
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
}

/* One frame of n bytes of payload, 1 to 255 over, seeded by seed. */
static char *
big_frame(uint32_t dst, size_t n, unsigned seed, size_t *len)
{
	char	*f;
	size_t	 i;

	assert_non_null(f = malloc(4 + n + 1));
	f[0] = (char)(dst >> 24);
	f[1] = (char)(dst >> 16);
	f[2] = (char)(dst >> 8);
	f[3] = (char)dst;
	for (i = 0; i < n; i++)
		f[4 + i] = (char)(1 + (i * 7 + seed) % 255);
	f[4 + n] = '\0';
	*len = 4 + n + 1;
	return f;
}

/* Send a big frame from one client and read it, exactly, at the other. */
static void
exchange_big(int from, int to, uint32_t to_id, unsigned seed)
{
	size_t	 len;
	char	*f = big_frame(to_id, BIG_PAYLOAD, seed, &len);

	assert_int_equal(tc_write(from, f, len), 0);
	/* Delivered as payload and 0x00, without the id. */
	assert_int_equal(tc_expect(to, f + 4, len - 4, HARNESS_TIMEOUT_MS), 0);
	free(f);
}

/*
 * router.listen with a TCP address and a Unix socket, the admin on another
 * socket: the files get their unix_mode from the file, a stale socket file
 * is replaced; a Unix client and a TCP client route to each other both
 * ways, byte-exact; /healthz and /clients answer over the admin socket and
 * name the Unix client's peer "unix"; a second daemon on the same path is
 * refused and leaves it working; SIGTERM removes both files.
 */
static void
test_unix_routing(void **state)
{
	char			 rsock[200], asock[200], conf[256];
	char			 listen[256], admin[256], again[256];
	char			 out[4096], err[8192], line[512];
	const char		*args[] = { "-c", conf, "-l", listen, "--admin",
				    admin, NULL };
	const char		*second[] = { "-l", again, "--admin", "off",
				    NULL };
	struct daemon		 d;
	struct http_response	 r;
	uint32_t		 idu, idt;
	int			 u, t;
	static const struct counter_want want[] = {
		/* u, t, u again, and the second daemon's probe of the path. */
		{ "accepted", 4 }, { "rejected", 0 }, { "frames", 4 },
		{ "forwarded", 4 }, { "dropped_unknown", 0 },
		{ NULL, 0 },
	};

	sock_path(rsock, sizeof rsock, "router.sock");
	sock_path(asock, sizeof asock, "admin.sock");
	harness_tmp_path(conf, sizeof conf, "unix.conf");
	harness_write_file(conf, "[router]\nunix_mode = 0600\n"
	    "[admin]\nunix_mode = 0640\n");
	snprintf(listen, sizeof listen, "127.0.0.1:0, unix:%s", rsock);
	snprintf(admin, sizeof admin, "unix:%s", asock);
	stale_socket(rsock);

	harness_start(&d, args);
	assert_true(d.port > 0);
	assert_int_equal(d.admin_port, -1);
	assert_int_equal(daemon_log_count(&d, "removing stale socket unix:"),
	    1);
	assert_int_equal(file_mode(rsock), 0600);
	assert_int_equal(file_mode(asock), 0640);

	assert_true((u = tc_connect_unix(rsock, &idu)) >= 0);
	assert_true((t = tc_connect(&d, &idt)) >= 0);
	harness_wait_client(&d, idu, " connected from unix");
	assert_int_equal(tc_send(u, idt, "from the unix socket"), 0);
	tc_expect_msg(t, "from the unix socket");
	assert_int_equal(tc_send(t, idu, "from tcp"), 0);
	tc_expect_msg(u, "from tcp");
	exchange_big(u, t, idt, 1);
	exchange_big(t, u, idu, 2);

	assert_int_equal(http_request_unix(asock, "GET", "/healthz", NULL, &r,
	    HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"status\":\"ok\"}\n");
	http_response_free(&r);
	assert_int_equal(http_request_unix(asock, "GET", "/clients", NULL, &r,
	    HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"peer\":\"unix\""));
	assert_non_null(strstr(r.body, "\"peer\":\"127.0.0.1:"));
	http_response_free(&r);

	/* Another daemon on the routing socket: refused, ours untouched. */
	snprintf(again, sizeof again, "unix:%s", rsock);
	assert_int_equal(run(second, out, err), 1);
	snprintf(line, sizeof line, "error cannot listen on unix:%s "
	    "(router.listen): another process listens there\n", rsock);
	if (strstr(err, line) == NULL)
		fail_msg("want \"%s\" in:\n%s", line, err);
	assert_int_equal(file_mode(rsock), 0600);
	close(u);
	assert_true((u = tc_connect_unix(rsock, &idu)) >= 0);
	close(u);
	close(t);

	harness_stop(&d);
	harness_expect_counters(&d, want);
	expect_gone(rsock);
	expect_gone(asock);
	unlink(conf);
}

/*
 * A file that is not a socket at the path: the daemon does not start and
 * the file is as it was; a start that fails on a later address removes
 * the socket file of an earlier one; a path longer than a socket address
 * holds is a configuration error, found by -t.
 */
static void
test_unix_refused(void **state)
{
	char		 path[200], listen[320], longpath[256], out[4096];
	char		 err[4096], want[512], text[32], busy[64];
	const char	*args[] = { "-l", listen, "--admin", "off", NULL };
	const char	*check[] = { "-l", longpath, "-t", NULL };
	FILE		*f;
	int		 fd;

	sock_path(path, sizeof path, "file.sock");
	harness_write_file(path, "not a socket\n");
	snprintf(listen, sizeof listen, "unix:%s", path);
	assert_int_equal(run(args, out, err), 1);
	snprintf(want, sizeof want, "error cannot listen on unix:%s "
	    "(router.listen): the path exists and is not a socket\n", path);
	if (strstr(err, want) == NULL)
		fail_msg("want \"%s\" in:\n%s", want, err);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(text, sizeof text, f));
	fclose(f);
	assert_string_equal(text, "not a socket\n");
	unlink(path);

	/*
	 * A later address that cannot be bound: the daemon exits 1 and the
	 * socket file it had made for the first is gone.
	 */
	fd = harness_listener(busy, sizeof busy);
	snprintf(listen, sizeof listen, "unix:%s, %s", path, busy);
	assert_int_equal(run(args, out, err), 1);
	snprintf(want, sizeof want, "info  listening on unix:%s\n", path);
	assert_non_null(strstr(err, want));
	snprintf(want, sizeof want, "error cannot listen on %s "
	    "(router.listen): Address already in use\n", busy);
	assert_non_null(strstr(err, want));
	expect_gone(path);
	close(fd);

	/* "unix:" and a path of 108 bytes: one too many for sun_path. */
	snprintf(longpath, sizeof longpath, "unix:/%0107d", 0);
	assert_int_equal(run(check, out, err), 2);
	snprintf(want, sizeof want, "msgrouterd: --listen: expected unix:/PATH "
	    "(Unix socket path longer than 107 bytes), got \"%s\"\n",
	    longpath);
	assert_string_equal(err, want);
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_unix_routing),
		harness_unit_test(test_unix_refused),
	};

	harness_init();
	return harness_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
