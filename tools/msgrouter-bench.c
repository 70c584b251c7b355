/*
 * msgrouter-bench: drive a running msgrouterd with pairs of clients that
 * exchange checked messages, and report throughput, latency and losses.
 *
 * Client i sends to client i^1.  A payload is 40 bytes of header, then a
 * filler:
 *	16 hex digits	sequence number of the relation
 *	16 hex digits	send time, ns of CLOCK_MONOTONIC since the start
 *	 8 hex digits	sender index
 *	filler		letters 'a'..'z' from the letter (seq % 26)
 * so every byte received is checked.  One thread, level-triggered epoll;
 * framing goes through libmsgrouter-client's non-blocking calls, with one
 * flush (one write) per batch of messages and one clock read per batch.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/resource.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "msgrouter/client.h"
#include "tool.h"

#define BENCH_DEFAULT_HOST	"127.0.0.1:8080"
#define BENCH_CONNECT_MS	5000
#define BENCH_HEADER		40
#define BENCH_MAX_ERRORS	32
#define BENCH_EVENTS		256
/* A spammer queues this much per flush. */
#define BENCH_SPAM_CHUNK	(256 * 1024)
#define NS			1000000000ULL

/*
 * Latency histogram: exact below 128 ns, then 64 linear sub-buckets per
 * power of two (error under 1.6 %), up to 2^64 ns.
 */
#define HIST_SUB_BITS	6
#define HIST_SUB	(1 << HIST_SUB_BITS)
#define HIST_EXACT	(2 * HIST_SUB)
#define HIST_BUCKETS	(HIST_EXACT + (64 - HIST_SUB_BITS - 1) * HIST_SUB)

struct hist {
	uint64_t	h_count[HIST_BUCKETS];
	uint64_t	h_total;
	uint64_t	h_max;
	long double	h_sum;
};

enum conn_kind {
	CONN_PAIR,
	CONN_SPAMMER,
	CONN_STALLED,
	CONN_IDLE,
};

struct conn {
	struct mr_client	*cn_client;
	enum conn_kind		 cn_kind;
	size_t			 cn_index;
	uint32_t		 cn_id;
	struct conn		*cn_peer;	/* pair peer, or spam target */
	int			 cn_dead;
	int			 cn_out_armed;	/* EPOLLOUT is registered */
	int			 cn_probed;	/* stalled: found open or closed */
	uint64_t		 cn_last_data;	/* stalled: ns of the last read */
	uint64_t		 cn_next_seq;	/* next sequence to send */
	uint64_t		 cn_expect;	/* next sequence from peer */
};

/* -H A,B,...: at most this many routers. */
#define BENCH_HOSTS_MAX	16

struct bench {
	/* Flags. */
	const char	*b_host;	/* as given: one or several, commas */
	char		*b_hosts_buf;	/* b_host split at its commas */
	const char	*b_hosts[BENCH_HOSTS_MAX];
	size_t		 b_nhosts;
	int		 b_cross;	/* a pair's ends on different routers */
	struct tool_tls	 b_tls;
	size_t		 b_pairs;
	size_t		 b_size;
	size_t		 b_window;
	double		 b_duration;
	double		 b_warmup;
	double		 b_drain;
	size_t		 b_stalled;
	size_t		 b_idle;
	long		 b_router_pid;
	int		 b_json;
	int		 b_quiet;

	int		 b_epfd;
	struct conn	*b_conns;	/* pairs, spammers, stalled, idle */
	size_t		 b_nconns;
	char		*b_msg;		/* one payload being built */
	char		*b_filler;	/* the alphabet, repeated */
	uint64_t	 b_start;	/* ns, CLOCK_MONOTONIC */
	uint64_t	 b_measure_from;
	uint64_t	 b_measure_to;
	int		 b_generating;
	uint64_t	 b_drain_to;	/* set when generating stops */
	uint64_t	 b_next_progress;
	uint64_t	 b_progress_t;	/* the last progress line's time */
	uint64_t	 b_progress_received; /* and b_received then */

	uint64_t	 b_sent;
	uint64_t	 b_received;
	uint64_t	 b_measured;
	uint64_t	 b_lost;
	uint64_t	 b_corrupt;
	uint64_t	 b_spam_bytes;
	uint64_t	 b_spam_closed;
	uint64_t	 b_stalled_closed;
	uint64_t	 b_stalled_open;
	uint64_t	 b_stalled_backlog;
	uint64_t	 b_idle_connected;
	uint64_t	 b_idle_dropped;
	long		 b_rss_before_kb;
	long		 b_rss_after_kb;
	double		 b_setup_s;
	int		 b_drained;
	struct hist	 b_hist;

	char		*b_errors[BENCH_MAX_ERRORS];
	size_t		 b_nerrors;
	size_t		 b_errors_dropped;
};

static volatile sig_atomic_t bench_interrupted;

/* The help text, on f. */
static void
bench_usage(FILE *f)
{
	fprintf(f,
"usage: msgrouter-bench [-H HOST:PORT|unix:/PATH[,...]] [--cross] [--pairs N]\n"
"                       [--size BYTES] [--window W] [--duration S] [--warmup S]\n"
"                       [--drain S] [--stalled K] [--idle C]\n"
"                       [--router-pid PID] [--json] [-q]\n"
"                       [--tls [--ca FILE] [--cert FILE --key FILE]\n"
"                       [--insecure]] [-h]\n"
"\n"
"  -H, --host HOST:PORT   router address (default %s),\n"
"                         or unix:/PATH for a Unix socket; several,\n"
"                         comma-separated (nodes of a cluster): pairs go\n"
"                         round them\n"
"      --cross            each pair's two ends on different routers\n"
"  -p, --pairs N          2N clients, client i sends to i^1 (default 10)\n"
"  -s, --size BYTES       payload bytes, at least %d (default 64)\n"
"  -w, --window W         messages in flight per sender (default 64)\n"
"  -d, --duration S       measured seconds (default 5)\n"
"      --warmup S         seconds before measuring (default 1)\n"
"      --drain S          wait at most S for messages in flight (default 5)\n"
"      --stalled K        K clients that never read and K senders\n"
"                         spamming them (default 0)\n"
"      --idle C           hold C idle connections during the run\n"
"      --router-pid PID   read the router's RSS around the idle connects\n"
"      --json             print one JSON object on stdout\n"
"  -q, --quiet            no progress lines on stderr\n"
TOOL_TLS_USAGE
"  -h, --help             print this help and exit\n"
"\n"
"Exit status: 0 when nothing was lost or corrupt and no error happened,\n"
"1 otherwise, 2 for bad usage.\n", BENCH_DEFAULT_HOST, BENCH_HEADER);
}

/* A whole number from min to max for flag, or exit 2. */
static size_t
flag_count(const char *flag, const char *value, size_t min, size_t max)
{
	unsigned long long	 v;
	char			*end, what[96];

	errno = 0;
	v = strtoull(value, &end, 10);
	if (value[0] < '0' || value[0] > '9' || errno != 0 || *end != '\0' ||
	    v < min || v > max) {
		snprintf(what, sizeof what, "a number from %zu to %zu", min,
		    max);
		tool_bad_flag(flag, value, what);
	}
	return (size_t)v;
}

/* Seconds from min to 86400 for flag, or exit 2. */
static double
flag_seconds(const char *flag, const char *value, double min)
{
	double	v;
	char	what[96];

	if (tool_parse_seconds(value, min, 86400, &v) != 0) {
		snprintf(what, sizeof what, "seconds from %g to 86400", min);
		tool_bad_flag(flag, value, what);
	}
	return v;
}

/* Keep an error message for the report (the first BENCH_MAX_ERRORS). */
static void __attribute__((format(printf, 2, 3)))
bench_error(struct bench *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	if (b->b_nerrors == BENCH_MAX_ERRORS) {
		b->b_errors_dropped++;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	va_end(ap);
	if (s == NULL) {
		b->b_errors_dropped++;
		return;
	}
	b->b_errors[b->b_nerrors++] = s;
}

/* Record one latency in the histogram; no allocation. */
static void
hist_add(struct hist *h, uint64_t v)
{
	unsigned	e;
	size_t		i;

	if (v < HIST_EXACT)
		i = (size_t)v;
	else {
		e = 63 - (unsigned)__builtin_clzll(v);
		i = HIST_EXACT + (size_t)(e - HIST_SUB_BITS - 1) * HIST_SUB +
		    (size_t)((v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
	}
	h->h_count[i]++;
	h->h_total++;
	h->h_sum += (long double)v;
	if (v > h->h_max)
		h->h_max = v;
}

/* The middle of bucket i, in ns. */
static double
hist_value(size_t i)
{
	unsigned	e;
	uint64_t	sub, lo;

	if (i < HIST_EXACT)
		return (double)i;
	e = (unsigned)((i - HIST_EXACT) / HIST_SUB) + HIST_SUB_BITS + 1;
	sub = (i - HIST_EXACT) % HIST_SUB;
	lo = (HIST_SUB + sub) << (e - HIST_SUB_BITS);
	return (double)lo + (double)(1ULL << (e - HIST_SUB_BITS)) / 2;
}

/* The value below which a fraction q of the samples lie, in ns. */
static double
hist_quantile(const struct hist *h, double q)
{
	uint64_t	rank, seen = 0;
	size_t		i;
	double		v;

	rank = (uint64_t)(q * (double)h->h_total + 0.999999);
	if (rank == 0)
		rank = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->h_count[i];
		if (seen >= rank) {
			v = hist_value(i);
			return v > (double)h->h_max ? (double)h->h_max : v;
		}
	}
	return (double)h->h_max;
}

static void
hex_put(char *p, uint64_t v, int digits)
{
	static const char	hex[] = "0123456789abcdef";

	while (digits-- > 0) {
		p[digits] = hex[v & 0xf];
		v >>= 4;
	}
}

/* Decode digits lowercase hex digits; -1 if one is not. */
static int
hex_get(const char *p, int digits, uint64_t *out)
{
	uint64_t	v = 0;
	unsigned	c;
	int		i;

	for (i = 0; i < digits; i++) {
		c = (unsigned char)p[i];
		if (c >= '0' && c <= '9')
			v = v << 4 | (c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (c - 'a' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* Register or change a connection's epoll events. */
static void
conn_watch(struct bench *b, struct conn *cn, int op, uint32_t events)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof ev);
	ev.events = events;
	ev.data.ptr = cn;
	if (epoll_ctl(b->b_epfd, op, mr_client_fd(cn->cn_client), &ev) == -1) {
		fprintf(stderr, "msgrouter-bench: epoll_ctl: %s\n",
		    strerror(errno));
		exit(1);
	}
	cn->cn_out_armed = (events & EPOLLOUT) != 0;
}

/* Stop using a connection that failed; it is closed at the end. */
static void
conn_fail(struct bench *b, struct conn *cn, const char *what, int r)
{
	static const char	*kinds[] = { "client", "spammer", "stalled",
				    "idle" };

	if (cn->cn_dead)
		return;
	cn->cn_dead = 1;
	epoll_ctl(b->b_epfd, EPOLL_CTL_DEL, mr_client_fd(cn->cn_client), NULL);
	if (cn->cn_kind == CONN_SPAMMER && r == MR_ECLOSED) {
		b->b_spam_closed++;
		return;
	}
	if (cn->cn_kind == CONN_IDLE) {
		b->b_idle_dropped++;
		return;
	}
	bench_error(b, "%s %zu (id %" PRIu32 "): %s: %s",
	    kinds[cn->cn_kind], cn->cn_index, cn->cn_id, what,
	    tool_connect_error(&b->b_tls, r));
}

/* Write what is queued; watch for writability while some remains. */
static void
conn_flush(struct bench *b, struct conn *cn)
{
	int	r;

	r = mr_client_flush(cn->cn_client, 0);
	if (r != MR_OK && r != MR_EAGAIN) {
		conn_fail(b, cn, "write", r);
		return;
	}
	if ((r == MR_EAGAIN) != cn->cn_out_armed)
		conn_watch(b, cn, EPOLL_CTL_MOD,
		    EPOLLIN | (r == MR_EAGAIN ? EPOLLOUT : 0));
}

/* Build the payload of message seq from sender index at time t. */
static void
bench_build(struct bench *b, uint64_t seq, uint64_t t, size_t index)
{
	hex_put(b->b_msg, seq, 16);
	hex_put(b->b_msg + 16, t, 16);
	hex_put(b->b_msg + 32, index, 8);
	memcpy(b->b_msg + BENCH_HEADER, b->b_filler + seq % 26,
	    b->b_size - BENCH_HEADER);
}

/* Fill a pair sender's window with new messages and write them at once. */
static void
bench_refill(struct bench *b, struct conn *cn)
{
	uint64_t	t, in_flight;
	int		r;

	if (!b->b_generating || cn->cn_dead || cn->cn_peer->cn_dead)
		return;
	in_flight = cn->cn_next_seq - cn->cn_peer->cn_expect;
	if (in_flight >= b->b_window)
		return;
	t = tool_now_ns() - b->b_start;
	while (in_flight < b->b_window) {
		bench_build(b, cn->cn_next_seq, t, cn->cn_index);
		r = mr_client_queue(cn->cn_client, cn->cn_peer->cn_id, b->b_msg,
		    b->b_size);
		if (r == MR_EAGAIN)
			break;
		if (r != MR_OK) {
			conn_fail(b, cn, "queue", r);
			return;
		}
		cn->cn_next_seq++;
		b->b_sent++;
		in_flight++;
	}
	conn_flush(b, cn);
}

/* Keep a spammer's socket full of messages for its stalled client. */
static void
bench_spam(struct bench *b, struct conn *cn)
{
	size_t	before, queued = 0;
	int	r;

	if (cn->cn_dead)
		return;
	if (b->b_generating) {
		while (mr_client_pending(cn->cn_client) < BENCH_SPAM_CHUNK) {
			bench_build(b, cn->cn_next_seq, 0, cn->cn_index);
			r = mr_client_queue(cn->cn_client, cn->cn_peer->cn_id,
			    b->b_msg, b->b_size);
			if (r != MR_OK)
				break;
			cn->cn_next_seq++;
			queued += b->b_size + 5;
		}
	}
	before = mr_client_pending(cn->cn_client);
	r = mr_client_flush(cn->cn_client, 0);
	b->b_spam_bytes += before - mr_client_pending(cn->cn_client);
	if (r != MR_OK && r != MR_EAGAIN)
		conn_fail(b, cn, "write", r);
	else if (!b->b_generating && r == MR_OK)
		conn_watch(b, cn, EPOLL_CTL_MOD, EPOLLIN);
}

/* Check one received message against what its sender must have sent. */
static void
bench_check(struct bench *b, struct conn *cn, const char *msg, size_t len,
    uint64_t now)
{
	struct conn	*from = cn->cn_peer;
	uint64_t	 seq, t, index, lat;

	if (len != b->b_size || hex_get(msg, 16, &seq) != 0 ||
	    hex_get(msg + 16, 16, &t) != 0 ||
	    hex_get(msg + 32, 8, &index) != 0 || index != from->cn_index ||
	    seq < cn->cn_expect || seq >= from->cn_next_seq) {
		b->b_corrupt++;
		return;
	}
	b->b_lost += seq - cn->cn_expect;
	cn->cn_expect = seq + 1;
	if (memcmp(msg + BENCH_HEADER, b->b_filler + seq % 26,
	    b->b_size - BENCH_HEADER) != 0) {
		b->b_corrupt++;
		return;
	}
	b->b_received++;
	if (now >= b->b_measure_from && now < b->b_measure_to) {
		lat = now - b->b_start > t ? now - b->b_start - t : 0;
		hist_add(&b->b_hist, lat);
		b->b_measured++;
	}
}

/* Read and check all that has arrived on a connection. */
static void
bench_read(struct bench *b, struct conn *cn)
{
	const char	*msg;
	size_t		 len;
	uint64_t	 now = tool_now_ns();
	int		 r;

	while ((r = mr_client_recv(cn->cn_client, 0, &msg, &len)) == MR_OK ||
	    r == MR_ETOOBIG) {
		if (cn->cn_kind == CONN_STALLED) {
			/* Spam, or its oversized remains: only counted. */
			b->b_stalled_backlog += r == MR_OK ? len + 1 : 0;
			cn->cn_last_data = now;
		} else if (r == MR_ETOOBIG)
			b->b_corrupt++;
		else if (cn->cn_kind == CONN_PAIR)
			bench_check(b, cn, msg, len, now);
		else if (cn->cn_kind != CONN_SPAMMER)
			b->b_corrupt++;
	}
	if (cn->cn_kind == CONN_STALLED && r != MR_EAGAIN) {
		if (!cn->cn_probed)
			b->b_stalled_closed++;
		cn->cn_probed = 1;
		cn->cn_dead = 1;
		epoll_ctl(b->b_epfd, EPOLL_CTL_DEL,
		    mr_client_fd(cn->cn_client), NULL);
		return;
	}
	if (r != MR_EAGAIN)
		conn_fail(b, cn, "read", r);
	/* Our peer's messages left the network: it may send more. */
	if (cn->cn_kind == CONN_PAIR)
		bench_refill(b, cn->cn_peer);
}

/* Whether every message sent by a live pair has been received. */
static int
bench_all_received(struct bench *b)
{
	struct conn	*cn;
	size_t		 i;

	for (i = 0; i < 2 * b->b_pairs; i++) {
		cn = &b->b_conns[i];
		if (!cn->cn_dead && !cn->cn_peer->cn_dead &&
		    cn->cn_peer->cn_expect != cn->cn_next_seq)
			return 0;
	}
	return 1;
}

/* The router's resident memory from /proc, in KiB, or -1. */
static long
bench_rss_kb(long pid)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kb = -1;

	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * The router of connection index of a kind: pairs go round the routers
 * pair by pair, both ends on one (or, with --cross, the second end on the
 * next one); other connections round the routers one by one.
 */
static const char *
bench_host(const struct bench *b, enum conn_kind kind, size_t index)
{
	size_t	n = b->b_nhosts;

	if (kind == CONN_PAIR)
		return b->b_hosts[(index / 2 + (b->b_cross ? index % 2 : 0)) %
		    n];
	return b->b_hosts[index % n];
}

/* Connect one client of the given kind; exit 1 if that fails. */
static void
bench_connect(struct bench *b, struct conn *cn, enum conn_kind kind,
    size_t index)
{
	const char	*host = bench_host(b, kind, index);
	int		 r;

	cn->cn_kind = kind;
	cn->cn_index = index;
	r = tool_connect(&b->b_tls, host, BENCH_CONNECT_MS,
	    &cn->cn_client);
	if (r == MR_EINVAL)
		tool_bad_flag("--host", host,
		    "HOST:PORT like 127.0.0.1:8080 or [::1]:8080, or "
		    "unix:/PATH");
	if (r != MR_OK) {
		fprintf(stderr, "msgrouter-bench: cannot connect to %s "
		    "(connection %zu): %s\n", host, b->b_nconns,
		    tool_connect_error(&b->b_tls, r));
		exit(1);
	}
	b->b_nconns++;
	cn->cn_id = mr_client_id(cn->cn_client);
	if (kind == CONN_PAIR)
		mr_client_set_max_pending(cn->cn_client,
		    b->b_window * (b->b_size + 5) + MR_DEFAULT_MAX_PENDING);
	/* Stalled clients are never watched: they must not read. */
	if (kind != CONN_STALLED)
		conn_watch(b, cn, EPOLL_CTL_ADD, EPOLLIN);
}

/* Open every connection: pairs, spammers and their victims, idle ones. */
static void
bench_setup(struct bench *b)
{
	struct conn	*cn;
	size_t		 i, n;
	uint64_t	 t0 = tool_now_ns();

	n = 2 * b->b_pairs + 2 * b->b_stalled + b->b_idle;
	if ((b->b_conns = calloc(n, sizeof *b->b_conns)) == NULL) {
		fprintf(stderr, "msgrouter-bench: out of memory\n");
		exit(1);
	}
	cn = b->b_conns;
	for (i = 0; i < 2 * b->b_pairs; i++)
		bench_connect(b, &cn[i], CONN_PAIR, i);
	for (i = 0; i < 2 * b->b_pairs; i++)
		cn[i].cn_peer = &cn[i ^ 1];
	cn += 2 * b->b_pairs;
	for (i = 0; i < b->b_stalled; i++) {
		bench_connect(b, &cn[b->b_stalled + i], CONN_STALLED, i);
		bench_connect(b, &cn[i], CONN_SPAMMER, i);
		cn[i].cn_peer = &cn[b->b_stalled + i];
	}
	cn += 2 * b->b_stalled;
	if (b->b_router_pid > 0)
		b->b_rss_before_kb = bench_rss_kb(b->b_router_pid);
	for (i = 0; i < b->b_idle; i++)
		bench_connect(b, &cn[i], CONN_IDLE, i);
	b->b_idle_connected = b->b_idle;
	if (b->b_router_pid > 0)
		b->b_rss_after_kb = bench_rss_kb(b->b_router_pid);
	b->b_setup_s = (double)(tool_now_ns() - t0) / 1e9;
}

/*
 * Once a second, unless quiet, one progress line: the receive rate since
 * the last one, and the losses.
 */
static void
bench_progress(struct bench *b, uint64_t now)
{
	double	dt, rate, at;

	if (now < b->b_next_progress)
		return;
	b->b_next_progress += NS;
	if (b->b_quiet)
		return;
	dt = (double)(now - b->b_progress_t) / 1e9;
	rate = (double)(b->b_received - b->b_progress_received) / dt;
	at = (double)(now - b->b_start) / 1e9;
	fprintf(stderr, "msgrouter-bench: %5.1f s %-7s %10.0f msgs/s "
	    "%8.1f MB/s  lost %" PRIu64 " corrupt %" PRIu64 "%s\n", at,
	    now < b->b_measure_from ? "warmup" : now < b->b_measure_to ?
	    "measure" : "drain", rate, rate * (double)b->b_size / 1e6,
	    b->b_lost, b->b_corrupt, b->b_nerrors > 0 ? "  (errors)" : "");
	b->b_progress_t = now;
	b->b_progress_received = b->b_received;
}

/* The first signal ends the measurement, a second one the drain too. */
static void
bench_sigint(int sig)
{
	if (bench_interrupted < 2)
		bench_interrupted++;
}

/* Count a stalled client as still open, once. */
static void
bench_stalled_open(struct bench *b, struct conn *cn)
{
	if (cn->cn_probed)
		return;
	cn->cn_probed = 1;
	b->b_stalled_open++;
}

/*
 * After the run, find out whether the router closed the stalled clients.
 * A close is queued behind the data the router had sent, so read (and
 * count) that backlog: end of file means closed; 200 ms without data, or
 * data still flowing after 2 s, means open.
 */
static void
bench_probe_stalled(struct bench *b)
{
	struct epoll_event	 ev[BENCH_EVENTS];
	struct conn		*first, *cn;
	uint64_t		 now = tool_now_ns(), deadline = now + 2 * NS;
	size_t			 k, left = b->b_stalled;
	int			 n, i;

	first = &b->b_conns[2 * b->b_pairs + b->b_stalled];
	for (k = 0; k < b->b_stalled; k++) {
		first[k].cn_last_data = now;
		conn_watch(b, &first[k], EPOLL_CTL_ADD, EPOLLIN);
	}
	while (left > 0 && now < deadline && bench_interrupted < 2) {
		n = epoll_wait(b->b_epfd, ev, BENCH_EVENTS, 20);
		for (i = 0; i < n; i++) {
			cn = ev[i].data.ptr;
			if (!cn->cn_dead)
				bench_read(b, cn);
		}
		now = tool_now_ns();
		for (k = 0, left = 0; k < b->b_stalled; k++) {
			cn = &first[k];
			if (now - cn->cn_last_data >= NS / 5)
				bench_stalled_open(b, cn);
			left += !cn->cn_probed;
		}
	}
	for (k = 0; k < b->b_stalled; k++)
		bench_stalled_open(b, &first[k]);
}

/* Start the clock and the senders: pairs fill their windows, spammers spam. */
static void
bench_start(struct bench *b)
{
	size_t	k;

	b->b_start = tool_now_ns();
	b->b_measure_from = b->b_start + (uint64_t)(b->b_warmup * 1e9);
	b->b_measure_to = b->b_measure_from + (uint64_t)(b->b_duration * 1e9);
	b->b_generating = 1;
	b->b_progress_t = b->b_start;
	b->b_next_progress = b->b_start + NS;

	for (k = 0; k < 2 * b->b_pairs; k++)
		bench_refill(b, &b->b_conns[k]);
	for (k = 0; k < b->b_stalled; k++)
		conn_watch(b, &b->b_conns[2 * b->b_pairs + k], EPOLL_CTL_MOD,
		    EPOLLIN | EPOLLOUT);
}

/*
 * Whether the run is over at now.  Sending stops at the end of the
 * measurement or at the first signal; the drain after it ends when every
 * message has arrived, when --drain has passed, or at a second signal.
 */
static int
bench_over(struct bench *b, uint64_t now)
{
	if (b->b_generating && (now >= b->b_measure_to || bench_interrupted)) {
		b->b_generating = 0;
		b->b_drain_to = now + (uint64_t)(b->b_drain * 1e9);
	}
	if (b->b_generating)
		return 0;
	if (bench_all_received(b)) {
		b->b_drained = 1;
		return 1;
	}
	return now >= b->b_drain_to || bench_interrupted > 1;
}

/* Serve the n events epoll_wait returned: read, then write what waits. */
static void
bench_dispatch(struct bench *b, const struct epoll_event *ev, int n)
{
	struct conn	*cn;
	int		 i;

	for (i = 0; i < n; i++) {
		cn = ev[i].data.ptr;
		if (cn->cn_dead)
			continue;
		if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			bench_read(b, cn);
		if (cn->cn_dead || !(ev[i].events & EPOLLOUT))
			continue;
		if (cn->cn_kind == CONN_SPAMMER)
			bench_spam(b, cn);
		else
			conn_flush(b, cn);
	}
}

/* After the run: count what never arrived, and probe the stalled clients. */
static void
bench_finish(struct bench *b)
{
	struct conn	*cn;
	size_t		 k;

	if (bench_interrupted)
		bench_error(b, "interrupted");
	/* What never arrived is lost. */
	for (k = 0; k < 2 * b->b_pairs; k++) {
		cn = &b->b_conns[k];
		b->b_lost += cn->cn_next_seq - cn->cn_peer->cn_expect;
	}
	if (!b->b_drained && !bench_interrupted)
		bench_error(b, "messages still in flight after %.1f s of drain",
		    b->b_drain);
	if (b->b_stalled > 0)
		bench_probe_stalled(b);
}

/* Run the clients: warmup, measure, then drain what is in flight. */
static void
bench_run(struct bench *b)
{
	struct epoll_event	ev[BENCH_EVENTS];
	uint64_t		now;
	int			n;

	bench_start(b);
	for (;;) {
		now = tool_now_ns();
		if (bench_over(b, now))
			break;
		bench_progress(b, now);
		n = epoll_wait(b->b_epfd, ev, BENCH_EVENTS, 100);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "msgrouter-bench: epoll_wait: %s\n",
			    strerror(errno));
			exit(1);
		}
		bench_dispatch(b, ev, n);
	}
	bench_finish(b);
}

/* What both reports show, figured once from the counters. */
struct bench_figures {
	double	bf_msgs_per_s;
	double	bf_payload_mb_per_s;
	double	bf_spam_mb_per_s;
	int	bf_latency;		/* the latencies below are known */
	double	bf_p50_us;
	double	bf_p90_us;
	double	bf_p99_us;
	double	bf_p999_us;
	double	bf_max_us;
	double	bf_mean_us;
	int	bf_per_idle;		/* bf_bytes_per_idle is known */
	double	bf_bytes_per_idle;	/* router RSS growth per idle conn */
};

/* Figure the rates, latencies and memory per idle connection of a run. */
static void
bench_figure(const struct bench *b, struct bench_figures *f)
{
	const struct hist	*h = &b->b_hist;

	memset(f, 0, sizeof *f);
	f->bf_msgs_per_s = (double)b->b_measured / b->b_duration;
	f->bf_payload_mb_per_s = (double)b->b_measured * (double)b->b_size /
	    b->b_duration / 1e6;
	f->bf_spam_mb_per_s = (double)b->b_spam_bytes /
	    (b->b_warmup + b->b_duration) / 1e6;
	if ((f->bf_latency = h->h_total > 0)) {
		f->bf_p50_us = hist_quantile(h, 0.50) / 1e3;
		f->bf_p90_us = hist_quantile(h, 0.90) / 1e3;
		f->bf_p99_us = hist_quantile(h, 0.99) / 1e3;
		f->bf_p999_us = hist_quantile(h, 0.999) / 1e3;
		f->bf_max_us = (double)h->h_max / 1e3;
		f->bf_mean_us = (double)(h->h_sum / (long double)h->h_total) /
		    1e3;
	}
	f->bf_per_idle = b->b_router_pid > 0 && b->b_idle > 0 &&
	    b->b_rss_before_kb >= 0 && b->b_rss_after_kb >= 0;
	if (f->bf_per_idle)
		f->bf_bytes_per_idle = (double)(b->b_rss_after_kb -
		    b->b_rss_before_kb) * 1024 / (double)b->b_idle;
}

/* Set key in o to a count. */
static void
json_set_count(json_t *o, const char *key, uint64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

/* Set key in o to v if it is known, else to null. */
static void
json_set_real(json_t *o, const char *key, int known, double v)
{
	json_object_set_new(o, key, known ? json_real(v) : json_null());
}

/* The run's settings, rates and latencies. */
static void
bench_json_run(json_t *o, const struct bench *b,
    const struct bench_figures *f)
{
	json_object_set_new(o, "host", json_string(b->b_host));
	json_object_set_new(o, "tls", json_boolean(b->b_tls.tt_on));
	json_set_count(o, "pairs", b->b_pairs);
	json_set_count(o, "size", b->b_size);
	json_set_count(o, "window", b->b_window);
	json_set_real(o, "warmup_s", 1, b->b_warmup);
	json_set_real(o, "duration_s", 1, b->b_duration);
	json_set_real(o, "setup_s", 1, b->b_setup_s);
	json_set_count(o, "msgs", b->b_measured);
	json_set_real(o, "msgs_per_s", 1, f->bf_msgs_per_s);
	json_set_real(o, "payload_mb_per_s", 1, f->bf_payload_mb_per_s);
	json_set_real(o, "p50_us", f->bf_latency, f->bf_p50_us);
	json_set_real(o, "p90_us", f->bf_latency, f->bf_p90_us);
	json_set_real(o, "p99_us", f->bf_latency, f->bf_p99_us);
	json_set_real(o, "p999_us", f->bf_latency, f->bf_p999_us);
	json_set_real(o, "max_us", f->bf_latency, f->bf_max_us);
	json_set_real(o, "mean_us", f->bf_latency, f->bf_mean_us);
}

/* The message counts, the stalled and idle clients, the router's RSS. */
static void
bench_json_counts(json_t *o, const struct bench *b,
    const struct bench_figures *f)
{
	json_set_count(o, "sent", b->b_sent);
	json_set_count(o, "received", b->b_received);
	json_set_count(o, "lost", b->b_lost);
	json_set_count(o, "corrupt", b->b_corrupt);
	json_object_set_new(o, "drained", json_boolean(b->b_drained));
	json_set_count(o, "stalled", b->b_stalled);
	json_set_count(o, "spam_bytes", b->b_spam_bytes);
	json_set_real(o, "spam_mb_per_s", 1, f->bf_spam_mb_per_s);
	json_set_count(o, "spam_closed", b->b_spam_closed);
	json_set_count(o, "stalled_closed", b->b_stalled_closed);
	json_set_count(o, "stalled_open", b->b_stalled_open);
	json_set_count(o, "stalled_backlog_bytes", b->b_stalled_backlog);
	json_set_count(o, "idle", b->b_idle);
	json_set_count(o, "idle_connected", b->b_idle_connected);
	json_set_count(o, "idle_dropped", b->b_idle_dropped);
	if (b->b_router_pid > 0) {
		json_object_set_new(o, "router_rss_kb_before",
		    json_integer(b->b_rss_before_kb));
		json_object_set_new(o, "router_rss_kb_after",
		    json_integer(b->b_rss_after_kb));
		json_set_real(o, "router_bytes_per_idle_conn", f->bf_per_idle,
		    f->bf_bytes_per_idle);
	}
}

/* One JSON object with the run's settings and figures. */
static void
bench_report_json(const struct bench *b)
{
	struct bench_figures	 f;
	json_t			*o, *errors;
	char			*s;
	size_t			 i;

	bench_figure(b, &f);
	o = json_object();
	bench_json_run(o, b, &f);
	bench_json_counts(o, b, &f);
	errors = json_array();
	for (i = 0; i < b->b_nerrors; i++)
		json_array_append_new(errors, json_string(b->b_errors[i]));
	json_object_set_new(o, "errors", errors);
	json_set_count(o, "errors_dropped", b->b_errors_dropped);
	s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
	if (s == NULL) {
		fprintf(stderr, "msgrouter-bench: cannot render JSON\n");
		exit(1);
	}
	puts(s);
	free(s);
	json_decref(o);
}

/* A few lines for people. */
static void
bench_report_text(const struct bench *b)
{
	struct bench_figures	f;
	size_t			i;

	bench_figure(b, &f);
	printf("%zu pairs, %zu-byte payloads, window %zu, %.1f s after "
	    "%.1f s warmup\n", b->b_pairs, b->b_size, b->b_window,
	    b->b_duration, b->b_warmup);
	printf("  %.0f msgs/s, %.2f payload MB/s (%" PRIu64 " msgs measured)\n",
	    f.bf_msgs_per_s, f.bf_payload_mb_per_s, b->b_measured);
	if (f.bf_latency)
		printf("  latency us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f"
		    "  max %.1f\n", f.bf_p50_us, f.bf_p90_us, f.bf_p99_us,
		    f.bf_p999_us, f.bf_max_us);
	printf("  sent %" PRIu64 ", received %" PRIu64 ", lost %" PRIu64
	    ", corrupt %" PRIu64 "\n", b->b_sent, b->b_received, b->b_lost,
	    b->b_corrupt);
	if (b->b_stalled > 0)
		printf("  %zu stalled (%" PRIu64 " closed by the router, %"
		    PRIu64 " open, %" PRIu64 " bytes backlog): spam %" PRIu64
		    " bytes, %" PRIu64 " spammers closed\n", b->b_stalled,
		    b->b_stalled_closed, b->b_stalled_open,
		    b->b_stalled_backlog, b->b_spam_bytes, b->b_spam_closed);
	if (b->b_idle > 0) {
		printf("  %zu idle connections, %" PRIu64 " dropped",
		    b->b_idle, b->b_idle_dropped);
		if (f.bf_per_idle)
			printf(", router RSS %ld -> %ld KiB (%.0f bytes each)",
			    b->b_rss_before_kb, b->b_rss_after_kb,
			    f.bf_bytes_per_idle);
		printf("\n");
	}
	for (i = 0; i < b->b_nerrors; i++)
		printf("  error: %s\n", b->b_errors[i]);
}

/* Free everything; connections close here, after the report. */
static void
bench_free(struct bench *b)
{
	size_t	i;

	for (i = 0; i < b->b_nconns; i++)
		mr_client_close(b->b_conns[i].cn_client);
	for (i = 0; i < b->b_nerrors; i++)
		free(b->b_errors[i]);
	free(b->b_conns);
	free(b->b_msg);
	free(b->b_filler);
	tool_tls_free(&b->b_tls);
	close(b->b_epfd);
}

/* Allow one descriptor per connection, up to the hard limit. */
static void
bench_raise_nofile(size_t want)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want + 16)
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

enum {
	OPT_WARMUP = 256, OPT_DRAIN, OPT_STALLED, OPT_IDLE, OPT_ROUTER_PID,
	OPT_JSON, OPT_CROSS,
};

/* Take one command line option into b; -1 for one it does not know. */
static int
bench_option(void *arg, int ch, const char *value)
{
	struct bench	*b = arg;

	switch (ch) {
	case 'H':
		b->b_host = value;
		break;
	case 'p':
		b->b_pairs = flag_count("--pairs", value, 1, 100000);
		break;
	case 's':
		b->b_size = flag_count("--size", value, BENCH_HEADER,
		    MR_DEFAULT_MAX_MESSAGE - 1);
		break;
	case 'w':
		b->b_window = flag_count("--window", value, 1, 100000);
		break;
	case 'd':
		b->b_duration = flag_seconds("--duration", value, 0.001);
		break;
	case OPT_WARMUP:
		b->b_warmup = flag_seconds("--warmup", value, 0);
		break;
	case OPT_DRAIN:
		b->b_drain = flag_seconds("--drain", value, 0);
		break;
	case OPT_STALLED:
		b->b_stalled = flag_count("--stalled", value, 0, 100000);
		break;
	case OPT_IDLE:
		b->b_idle = flag_count("--idle", value, 0, 1000000);
		break;
	case OPT_ROUTER_PID:
		b->b_router_pid = (long)flag_count("--router-pid", value, 1,
		    1 << 30);
		break;
	case OPT_JSON:
		b->b_json = 1;
		break;
	case OPT_CROSS:
		b->b_cross = 1;
		break;
	case 'q':
		b->b_quiet = 1;
		break;
	default:
		return tool_tls_option(&b->b_tls, ch, value);
	}
	return 0;
}

static const struct option bench_longopts[] = {
	{ "host",	required_argument,	NULL, 'H' },
	{ "pairs",	required_argument,	NULL, 'p' },
	{ "size",	required_argument,	NULL, 's' },
	{ "window",	required_argument,	NULL, 'w' },
	{ "duration",	required_argument,	NULL, 'd' },
	{ "warmup",	required_argument,	NULL, OPT_WARMUP },
	{ "drain",	required_argument,	NULL, OPT_DRAIN },
	{ "stalled",	required_argument,	NULL, OPT_STALLED },
	{ "idle",	required_argument,	NULL, OPT_IDLE },
	{ "router-pid",	required_argument,	NULL, OPT_ROUTER_PID },
	{ "json",	no_argument,		NULL, OPT_JSON },
	{ "cross",	no_argument,		NULL, OPT_CROSS },
	{ "quiet",	no_argument,		NULL, 'q' },
	TOOL_TLS_LONGOPTS,
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL,		0,			NULL, 0 }
};

const struct tool tool_self = {
	"msgrouter-bench", "H:p:s:w:d:qh", bench_longopts, bench_usage,
	bench_option
};

/* Signals, descriptors, the payload buffers and epoll; exit 1 on failure. */
static void
bench_init(struct bench *b)
{
	struct sigaction	sa;
	size_t			i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = bench_sigint;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	bench_raise_nofile(2 * b->b_pairs + 2 * b->b_stalled + b->b_idle);
	tool_tls_start(&b->b_tls);
	b->b_msg = malloc(b->b_size);
	b->b_filler = malloc(b->b_size + 26);
	if (b->b_msg == NULL || b->b_filler == NULL) {
		fprintf(stderr, "msgrouter-bench: out of memory\n");
		exit(1);
	}
	for (i = 0; i < b->b_size + 26; i++)
		b->b_filler[i] = (char)('a' + i % 26);
	if ((b->b_epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		fprintf(stderr, "msgrouter-bench: epoll_create1: %s\n",
		    strerror(errno));
		exit(1);
	}
}

/* Split -H at its commas; --cross needs two routers at least. */
static void
bench_hosts(struct bench *b)
{
	char	*p, *save;

	if ((b->b_hosts_buf = strdup(b->b_host)) == NULL) {
		fprintf(stderr, "msgrouter-bench: out of memory\n");
		exit(1);
	}
	for (p = strtok_r(b->b_hosts_buf, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		if (b->b_nhosts == BENCH_HOSTS_MAX)
			tool_bad_flag("--host", b->b_host, "at most 16 "
			    "routers");
		b->b_hosts[b->b_nhosts++] = p;
	}
	if (b->b_nhosts == 0)
		tool_bad_flag("--host", b->b_host, "HOST:PORT");
	if (b->b_cross && b->b_nhosts < 2)
		tool_bad_flag("--host", b->b_host, "two routers or more "
		    "with --cross");
}

int
main(int argc, char **argv)
{
	static struct bench	 bench;
	struct bench		*b = &bench;
	int			 ok;

	b->b_host = BENCH_DEFAULT_HOST;
	b->b_pairs = 10;
	b->b_size = 64;
	b->b_window = 64;
	b->b_duration = 5;
	b->b_warmup = 1;
	b->b_drain = 5;
	tool_getopt(argc, argv, b);
	bench_hosts(b);

	bench_init(b);
	bench_setup(b);
	bench_run(b);
	if (b->b_json)
		bench_report_json(b);
	else
		bench_report_text(b);
	ok = b->b_lost == 0 && b->b_corrupt == 0 && b->b_nerrors == 0 &&
	    b->b_errors_dropped == 0 && b->b_idle_dropped == 0;
	bench_free(b);
	free(b->b_hosts_buf);
	return ok ? 0 : 1;
}
