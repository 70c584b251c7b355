/*
 * A cluster for tests: nats-server processes and msgrouterd nodes on free
 * loopback ports (tests/natscluster.h).
 */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "http_client.h"
#include "natscluster.h"

/* A free loopback port: bound, read, closed (the servers bind it next). */
static int
nc_free_port(void)
{
	char	addr[64];
	int	fd = harness_listener(addr, sizeof addr);

	close(fd);
	return atoi(strchr(addr, ':') + 1);
}

int
nc_have_nats(void)
{
	const char	*bin = getenv("NATS_SERVER");

	return bin != NULL && bin[0] != '\0';
}

void
nc_need_nats(void)
{
	if (!nc_have_nats())
		skip();
}

int
nc_port(void)
{
	return nc_free_port();
}

/* Run the server of ns->conf, logging to ns->log, until it is ready. */
static void
nc_server_run(struct nc_server *ns)
{
	const char	*bin = getenv("NATS_SERVER");
	char		 buf[8192];
	long long	 deadline;
	int		 fd;
	ssize_t		 n;

	if ((ns->pid = fork()) == 0) {
		execl(bin, bin, "-c", ns->conf, "-l", ns->log, (char *)NULL);
		_exit(127);
	}
	assert_true(ns->pid > 0);
	deadline = tc_now_ms() + HARNESS_TIMEOUT_MS;
	for (;;) {
		assert_true(tc_now_ms() < deadline);
		assert_int_equal(waitpid(ns->pid, NULL, WNOHANG), 0);
		if ((fd = open(ns->log, O_RDONLY)) >= 0) {
			n = read(fd, buf, sizeof buf - 1);
			close(fd);
			buf[n > 0 ? n : 0] = '\0';
			if (strstr(buf, "Server is ready") != NULL)
				break;
		}
		usleep(10000);
	}
}

void
nc_solo_start(struct nc_server *ns, const char *tag, const char *extra)
{
	char	text[2048], name[64];

	memset(ns, 0, sizeof *ns);
	ns->port = nc_free_port();
	snprintf(name, sizeof name, "%s.conf", tag);
	harness_tmp_path(ns->conf, sizeof ns->conf, name);
	snprintf(name, sizeof name, "%s.log", tag);
	harness_tmp_path(ns->log, sizeof ns->log, name);
	unlink(ns->log);
	snprintf(text, sizeof text, "listen: 127.0.0.1:%d\n%s\n", ns->port,
	    extra != NULL ? extra : "");
	harness_write_file(ns->conf, text);
	snprintf(ns->url, sizeof ns->url, "nats://127.0.0.1:%d", ns->port);
	nc_server_run(ns);
}

void
nc_solo_stop(struct nc_server *ns)
{
	if (ns->pid > 0) {
		kill(ns->pid, SIGTERM);
		waitpid(ns->pid, NULL, 0);
		ns->pid = 0;
	}
	if (ns->conf[0] != '\0')
		unlink(ns->conf);
	if (ns->log[0] != '\0')
		unlink(ns->log);
}

int
nc_solo_log_count(struct nc_server *ns, const char *s)
{
	char	buf[65536], *p;
	int	fd, n = 0;
	ssize_t	len;

	if ((fd = open(ns->log, O_RDONLY)) < 0)
		return 0;
	len = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[len > 0 ? len : 0] = '\0';
	for (p = buf; (p = strstr(p, s)) != NULL; p += strlen(s))
		n++;
	return n;
}

void
nc_nats_start(struct ncluster *nc, int i)
{
	struct nc_server	*ns = &nc->servers[i];
	char			 text[1024], tag[32];

	snprintf(tag, sizeof tag, "cluster-nats%d.conf", i);
	harness_tmp_path(ns->conf, sizeof ns->conf, tag);
	snprintf(tag, sizeof tag, "cluster-nats%d.log", i);
	harness_tmp_path(ns->log, sizeof ns->log, tag);
	unlink(ns->log);
	snprintf(text, sizeof text,
	    "server_name: n%d\nlisten: 127.0.0.1:%d\n"
	    "cluster {\n  name: msgrouter-test\n  listen: 127.0.0.1:%d\n"
	    "  routes: [\n    nats-route://127.0.0.1:%d\n"
	    "    nats-route://127.0.0.1:%d\n    nats-route://127.0.0.1:%d\n"
	    "  ]\n}\n", i, ns->port, ns->route_port,
	    nc->servers[0].route_port, nc->servers[1].route_port,
	    nc->servers[2].route_port);
	harness_write_file(ns->conf, text);
	snprintf(ns->url, sizeof ns->url, "nats://127.0.0.1:%d", ns->port);
	nc_server_run(ns);
}

void
nc_nats_stop(struct ncluster *nc, int i)
{
	struct nc_server	*ns = &nc->servers[i];

	if (ns->pid <= 0)
		return;
	kill(ns->pid, SIGTERM);
	waitpid(ns->pid, NULL, 0);
	ns->pid = 0;
}

void
nc_node_start(struct ncluster *nc, int i)
{
	char		 node[8];
	const char	*args[] = { "-c", nc->conf_path, "--admin",
			    "127.0.0.1:0", "--cluster-nats",
			    nc->servers[i].url, "--node", node, NULL };

	snprintf(node, sizeof node, "%d", i + 1);
	harness_start(&nc->nodes[i], args);
}

void
nc_setup(struct ncluster *nc, const char *conf, int nnodes)
{
	int	i;

	memset(nc, 0, sizeof *nc);
	harness_tmp_path(nc->conf_path, sizeof nc->conf_path, "cluster.conf");
	harness_write_file(nc->conf_path, conf);
	for (i = 0; i < NC_SERVERS; i++) {
		nc->servers[i].port = nc_free_port();
		nc->servers[i].route_port = nc_free_port();
	}
	for (i = 0; i < NC_SERVERS; i++)
		nc_nats_start(nc, i);
	for (i = 0; i < nnodes; i++)
		nc_node_start(nc, i);
}

void
nc_teardown(struct ncluster *nc)
{
	int	i;

	for (i = 0; i <= NC_NODES; i++)
		if (nc->nodes[i].pid > 0)
			harness_stop(&nc->nodes[i]);
	for (i = 0; i < NC_SERVERS; i++) {
		nc_nats_stop(nc, i);
		if (nc->servers[i].conf[0] != '\0')
			unlink(nc->servers[i].conf);
		if (nc->servers[i].log[0] != '\0')
			unlink(nc->servers[i].log);
	}
	if (nc->conf_path[0] != '\0')
		unlink(nc->conf_path);
}

json_t *
nc_stats(struct ncluster *nc, int i)
{
	struct http_response	 r;
	json_t			*j;

	assert_int_equal(http_request(nc->nodes[i].admin_port, "GET",
	    "/stats", NULL, &r, HARNESS_TIMEOUT_MS), 0);
	assert_int_equal(r.status, 200);
	j = json_loads(r.body, 0, NULL);
	assert_non_null(j);
	http_response_free(&r);
	return j;
}

long long
nc_jint(json_t *j, const char *path)
{
	char	 buf[128], *p, *save;
	json_t	*v = j;

	snprintf(buf, sizeof buf, "%s", path);
	for (p = strtok_r(buf, ".", &save); p != NULL && v != NULL;
	    p = strtok_r(NULL, ".", &save))
		v = json_object_get(v, p);
	if (!json_is_integer(v)) {
		print_error("no integer at %s\n", path);
		fail();
	}
	return json_integer_value(v);
}

json_t *
nc_peer(json_t *stats, int node)
{
	json_t	*peers, *p;
	size_t	 k;

	peers = json_object_get(json_object_get(stats, "cluster"), "peers");
	json_array_foreach(peers, k, p)
		if (json_integer_value(json_object_get(p, "node")) == node)
			return p;
	return NULL;
}

const char *
nc_peer_state(json_t *stats, int node)
{
	json_t	*p = nc_peer(stats, node);

	return p != NULL ? json_string_value(json_object_get(p, "state")) :
	    "unknown";
}

void
nc_wait_peers(struct ncluster *nc, const int *live, const char *state,
    int node_gone)
{
	long long	 deadline = tc_now_ms() + HARNESS_TIMEOUT_MS;
	json_t		*s;
	int		 i, j, ok;

	do {
		ok = 1;
		for (i = 0; i < NC_NODES && ok; i++) {
			if (!live[i])
				continue;
			s = nc_stats(nc, i);
			for (j = 0; j < NC_NODES; j++) {
				if (j == i || (!live[j] && j + 1 != node_gone))
					continue;
				if (strcmp(nc_peer_state(s, j + 1), live[j] ?
				    state : "down") != 0)
					ok = 0;
			}
			json_decref(s);
		}
		if (ok)
			return;
		usleep(50000);
	} while (tc_now_ms() < deadline);
	fail_msg("peers not %s in time", state);
}

int
nc_node_identity(json_t *s, long long *lhs, long long *rhs)
{
	*lhs = nc_jint(s, "messages.received_total") +
	    nc_jint(s, "cluster.frames_in_total");
	*rhs = nc_jint(s, "messages.forwarded_total") +
	    nc_jint(s, "messages.dropped_unknown_destination_total") +
	    nc_jint(s, "messages.dropped_queue_full_total") +
	    nc_jint(s, "messages.dropped_sender_gone_total") +
	    nc_jint(s, "cluster.dropped_peer_down_total") +
	    nc_jint(s, "cluster.dropped_link_full_total") +
	    nc_jint(s, "cluster.dropped_too_large_total") +
	    nc_jint(s, "cluster.frames_out_total") +
	    nc_jint(s, "cluster.link_queued_frames");
	return *lhs == *rhs;
}

int
nc_identities_hold(struct ncluster *nc, const int *live, int verbose)
{
	json_t		*s[NC_NODES] = { NULL };
	json_t		*pa, *pb;
	long long	 lhs, rhs;
	int		 i, j, ok = 1;

	for (i = 0; i < NC_NODES; i++)
		if (live[i])
			s[i] = nc_stats(nc, i);
	for (i = 0; i < NC_NODES; i++) {
		if (!live[i])
			continue;
		if (!nc_node_identity(s[i], &lhs, &rhs)) {
			if (verbose)
				print_error("node %d: received + frames_in %lld"
				    " != %lld\n", i + 1, lhs, rhs);
			ok = 0;
		}
		for (j = 0; j < NC_NODES; j++) {
			if (j == i || !live[j])
				continue;
			/* Link i -> j. */
			pa = nc_peer(s[i], j + 1);
			pb = nc_peer(s[j], i + 1);
			lhs = pa != NULL ? nc_jint(pa, "frames_out_total") : 0;
			rhs = pb != NULL ? nc_jint(pb, "frames_in_total") +
			    nc_jint(pb, "dropped_in_transit_total") : 0;
			if (lhs != rhs) {
				if (verbose)
					print_error("link %d -> %d: out %lld, "
					    "in + lost %lld\n", i + 1, j + 1,
					    lhs, rhs);
				ok = 0;
			}
		}
	}
	for (i = 0; i < NC_NODES; i++)
		json_decref(s[i]);
	return ok;
}

void
nc_expect_identities(struct ncluster *nc, const int *live)
{
	long long	deadline = tc_now_ms() + HARNESS_TIMEOUT_MS;

	while (!nc_identities_hold(nc, live, 0)) {
		if (tc_now_ms() > deadline) {
			nc_identities_hold(nc, live, 1);
			fail_msg("identities do not hold");
		}
		usleep(50000);
	}
}
