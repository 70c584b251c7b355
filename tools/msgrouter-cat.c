/*
 * msgrouter-cat: netcat for msgrouterd.  Each stdin line becomes one
 * message; each message received is written to stdout with a newline.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msgrouter/client.h"
#include "msgrouter/parse.h"
#include "tool.h"

#define CAT_DEFAULT_HOST	"127.0.0.1:8080"
#define CAT_CONNECT_MS		5000
/* The router's default max_message_size, and the bounds it accepts. */
#define CAT_DEFAULT_MAX_MESSAGE	MR_DEFAULT_MAX_MESSAGE
#define CAT_MAX_MESSAGE_MAX	(1024ULL * 1024 * 1024)
/* Room in the line buffer beyond the message for an "ID " prefix. */
#define CAT_LINE_EXTRA		16
/* Stop reading stdin while this much is queued for the router. */
#define CAT_PAUSE_PENDING	(1024 * 1024)
/* One read of stdin, so that what one read queues stays bounded. */
#define CAT_READ_SIZE		65536

struct cat {
	struct mr_client	*cat_client;
	const char		*cat_host;
	struct tool_tls		 cat_tls;
	uint32_t		 cat_to;
	int			 cat_have_to;
	size_t			 cat_max_message; /* payload + 0x00 */
	char			*cat_line;	/* the unfinished stdin line */
	size_t			 cat_line_max;	/* cat_max_message + extra */
	size_t			 cat_len;
	size_t			 cat_lineno;
	int			 cat_too_long;	/* skipping a long line */
	int			 cat_eof;
	const char		*cat_id_file;
	double			 cat_wait_s;
	int			 cat_waiting;	/* stdin done, all sent */
	uint64_t		 cat_deadline;	/* ns: the end of --wait */
};

/* The help text, on f. */
static void
cat_usage(FILE *f)
{
	fprintf(f,
"usage: msgrouter-cat [-H HOST:PORT|unix:/PATH] [--to ID] [--id-file FILE]\n"
"                     [--max-message-size BYTES] [--wait SECONDS]\n"
"                     [--tls [--ca FILE] [--cert FILE --key FILE]\n"
"                     [--insecure]] [-h]\n"
"\n"
"  -H, --host HOST:PORT   router address (default %s),\n"
"                         or unix:/PATH for a Unix socket\n"
"  -t, --to ID            send every stdin line to ID; without it, lines\n"
"                         are \"ID message\"\n"
"  -i, --id-file FILE     write our id (decimal and a newline) to FILE\n"
"  -m, --max-message-size BYTES\n"
"                         the router's limit on payload + 0x00, like 64K\n"
"                         (default 1M); longer lines are skipped\n"
"  -w, --wait SECONDS     after stdin ends, keep receiving this long\n"
TOOL_TLS_USAGE
"  -h, --help             print this help and exit\n"
"\n"
"Our id is printed on stderr.  Received messages go to stdout, one per\n"
"line.  Exit status: 0 at the end of stdin, 1 when the router cannot be\n"
"reached or goes away, 2 for bad usage.\n", CAT_DEFAULT_HOST);
}

/* Parse a decimal id below 2^32 at s; *used is how many digits it took. */
static int
cat_parse_id(const char *s, size_t len, uint32_t *id, size_t *used)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	if (i == 0)
		return -1;
	*id = (uint32_t)v;
	*used = i;
	return 0;
}

/* The router went away or failed: say so and exit 1. */
static void __attribute__((noreturn))
cat_fail(struct cat *cat, const char *what, int error)
{
	fprintf(stderr, "msgrouter-cat: %s %s: %s\n", what, cat->cat_host,
	    tool_connect_error(&cat->cat_tls, error));
	exit(1);
}

/* Write our id to path, through a rename so readers never see half. */
static void
cat_write_id(const char *path, uint32_t id)
{
	char	 tmp[4096];
	FILE	*f;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
		fprintf(stderr, "msgrouter-cat: %s: path too long\n", path);
		exit(1);
	}
	if ((f = fopen(tmp, "w")) == NULL ||
	    fprintf(f, "%" PRIu32 "\n", id) < 0 || fclose(f) != 0 ||
	    rename(tmp, path) != 0) {
		fprintf(stderr, "msgrouter-cat: %s: %s\n", path,
		    strerror(errno));
		exit(1);
	}
}

/* Turn one complete stdin line into a queued message, or complain. */
static void
cat_line(struct cat *cat, const char *line, size_t len)
{
	uint32_t	dst = cat->cat_to;
	size_t		used;
	int		r;

	cat->cat_lineno++;
	if (!cat->cat_have_to) {
		if (cat_parse_id(line, len, &dst, &used) != 0 ||
		    used == len || line[used] != ' ') {
			fprintf(stderr, "msgrouter-cat: stdin line %zu: "
			    "expected \"ID message\" with a decimal ID below "
			    "2^32, skipped\n", cat->cat_lineno);
			return;
		}
		line += used + 1;
		len -= used + 1;
	}
	/* The router would disconnect us for it, losing the lines after. */
	if (len >= cat->cat_max_message) {
		fprintf(stderr, "msgrouter-cat: stdin line %zu: a message of "
		    "%zu bytes is over --max-message-size %zu with its 0x00, "
		    "skipped\n", cat->cat_lineno, len, cat->cat_max_message);
		return;
	}
	r = mr_client_queue(cat->cat_client, dst, line, len);
	if (r == MR_EINVAL)
		fprintf(stderr, "msgrouter-cat: stdin line %zu: a message "
		    "cannot hold a 0x00 byte, skipped\n", cat->cat_lineno);
	else if (r != MR_OK)
		fprintf(stderr, "msgrouter-cat: stdin line %zu: %s, skipped\n",
		    cat->cat_lineno, mr_strerror(r));
}

/* Read what stdin has and queue the complete lines. */
static void
cat_read_stdin(struct cat *cat)
{
	char	*nl, *p;
	size_t	 left, want;
	ssize_t	 n;

	want = cat->cat_line_max - cat->cat_len;
	if (want > CAT_READ_SIZE)
		want = CAT_READ_SIZE;
	n = read(STDIN_FILENO, cat->cat_line + cat->cat_len, want);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		fprintf(stderr, "msgrouter-cat: stdin: %s\n", strerror(errno));
		exit(1);
	}
	if (n == 0) {
		cat->cat_eof = 1;
		/* A last line without a newline is still a line. */
		if (cat->cat_len > 0 && !cat->cat_too_long)
			cat_line(cat, cat->cat_line, cat->cat_len);
		cat->cat_len = 0;
		return;
	}
	cat->cat_len += (size_t)n;

	p = cat->cat_line;
	left = cat->cat_len;
	while ((nl = memchr(p, '\n', left)) != NULL) {
		if (cat->cat_too_long) {
			cat->cat_too_long = 0;
			cat->cat_lineno++;
		} else
			cat_line(cat, p, (size_t)(nl - p));
		left -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
	if (left == cat->cat_line_max || (cat->cat_too_long && left > 0)) {
		if (!cat->cat_too_long)
			fprintf(stderr, "msgrouter-cat: stdin line %zu: longer "
			    "than %zu bytes, over --max-message-size %zu, "
			    "skipped\n", cat->cat_lineno + 1,
			    cat->cat_line_max, cat->cat_max_message);
		cat->cat_too_long = 1;
		left = 0;
	}
	memmove(cat->cat_line, p, left);
	cat->cat_len = left;
}

/* Print every message that has arrived; exit 1 if the router is gone. */
static void
cat_receive(struct cat *cat)
{
	const char	*msg;
	size_t		 len;
	int		 r;

	while ((r = mr_client_recv(cat->cat_client, 0, &msg, &len)) == MR_OK ||
	    r == MR_ETOOBIG) {
		if (r == MR_ETOOBIG) {
			fprintf(stderr, "msgrouter-cat: a received message "
			    "was over %zu bytes, dropped\n",
			    cat->cat_max_message);
			continue;
		}
		fwrite(msg, 1, len, stdout);
		putchar('\n');
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "msgrouter-cat: stdout: %s\n", strerror(errno));
		exit(1);
	}
	if (r != MR_EAGAIN)
		cat_fail(cat, "connection to", r);
}

/* Take one command line option into cat; -1 for one it does not know. */
static int
cat_option(void *arg, int ch, const char *value)
{
	struct cat	*cat = arg;
	uint64_t	 max;
	size_t		 used;

	switch (ch) {
	case 'H':
		cat->cat_host = value;
		break;
	case 't':
		if (cat_parse_id(value, strlen(value), &cat->cat_to,
		    &used) != 0 || value[used] != '\0')
			tool_bad_flag("--to", value,
			    "a decimal id from 0 to 4294967295");
		cat->cat_have_to = 1;
		break;
	case 'i':
		cat->cat_id_file = value;
		break;
	case 'm':
		if (parse_size(value, &max) != 0 || max < 1 ||
		    max > CAT_MAX_MESSAGE_MAX)
			tool_bad_flag("--max-message-size", value,
			    "a size from 1 to 1G like 64K or 1M");
		cat->cat_max_message = (size_t)max;
		break;
	case 'w':
		if (tool_parse_seconds(value, 0, 1e6, &cat->cat_wait_s) != 0)
			tool_bad_flag("--wait", value,
			    "seconds from 0 to 1000000 like 0.5");
		break;
	default:
		return tool_tls_option(&cat->cat_tls, ch, value);
	}
	return 0;
}

static const struct option cat_longopts[] = {
	{ "host",	required_argument,	NULL, 'H' },
	{ "to",		required_argument,	NULL, 't' },
	{ "id-file",	required_argument,	NULL, 'i' },
	{ "max-message-size", required_argument, NULL, 'm' },
	{ "wait",	required_argument,	NULL, 'w' },
	TOOL_TLS_LONGOPTS,
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL,		0,			NULL, 0 }
};

const struct tool tool_self = {
	"msgrouter-cat", "H:t:i:m:w:h", cat_longopts, cat_usage, cat_option
};

/* Connect, announce our id and make the line buffer; exit if we cannot. */
static void
cat_start(struct cat *cat)
{
	uint32_t	id;
	int		r;

	tool_tls_start(&cat->cat_tls);
	r = tool_connect(&cat->cat_tls, cat->cat_host, CAT_CONNECT_MS,
	    &cat->cat_client);
	if (r == MR_EINVAL)
		tool_bad_flag("--host", cat->cat_host,
		    "HOST:PORT like 127.0.0.1:8080, [::1]:8080 or "
		    "localhost:8080, or unix:/PATH");
	if (r != MR_OK)
		cat_fail(cat, "cannot connect to", r);
	/*
	 * The router delivers messages up to the same limit.  Queued frames
	 * stay under the pause threshold plus what one read adds (at worst
	 * 5 bytes per newline) plus one longest frame.
	 */
	mr_client_set_max_message(cat->cat_client, cat->cat_max_message);
	mr_client_set_max_pending(cat->cat_client, CAT_PAUSE_PENDING +
	    5 * CAT_READ_SIZE + cat->cat_max_message + CAT_LINE_EXTRA);
	id = mr_client_id(cat->cat_client);
	/* The file first: whoever sees the line on stderr can read it. */
	if (cat->cat_id_file != NULL)
		cat_write_id(cat->cat_id_file, id);
	fprintf(stderr, "msgrouter-cat: id %" PRIu32 "\n", id);
	cat->cat_line_max = cat->cat_max_message + CAT_LINE_EXTRA;
	if ((cat->cat_line = malloc(cat->cat_line_max)) == NULL) {
		fprintf(stderr, "msgrouter-cat: out of memory\n");
		exit(1);
	}
}

/*
 * How long the next poll may wait: without limit while stdin is open or
 * something is queued, then until --wait has passed since both ended; 0
 * once it has.
 */
static int
cat_timeout(struct cat *cat)
{
	if (!cat->cat_eof || mr_client_pending(cat->cat_client) > 0)
		return -1;
	if (!cat->cat_waiting) {
		cat->cat_deadline = tool_now_ns() +
		    (uint64_t)(cat->cat_wait_s * 1e9);
		cat->cat_waiting = 1;
	}
	return tool_ms_until(cat->cat_deadline);
}

/*
 * Wait up to timeout ms for the router or stdin, then receive, read and
 * write what they allow.  Stdin is not read while much is queued.
 */
static void
cat_poll(struct cat *cat, int timeout)
{
	struct pollfd	pfd[2];
	int		nfds, r;

	pfd[0].fd = mr_client_fd(cat->cat_client);
	pfd[0].events = POLLIN;
	if (mr_client_pending(cat->cat_client) > 0)
		pfd[0].events |= POLLOUT;
	nfds = 1;
	if (!cat->cat_eof &&
	    mr_client_pending(cat->cat_client) < CAT_PAUSE_PENDING) {
		pfd[1].fd = STDIN_FILENO;
		pfd[1].events = POLLIN;
		nfds = 2;
	}
	if (poll(pfd, (nfds_t)nfds, timeout) == -1) {
		if (errno == EINTR)
			return;
		fprintf(stderr, "msgrouter-cat: poll: %s\n", strerror(errno));
		exit(1);
	}
	if (pfd[0].revents != 0)
		cat_receive(cat);
	if (nfds == 2 && pfd[1].revents != 0)
		cat_read_stdin(cat);
	if (mr_client_pending(cat->cat_client) > 0) {
		r = mr_client_flush(cat->cat_client, 0);
		if (r != MR_OK && r != MR_EAGAIN)
			cat_fail(cat, "connection to", r);
	}
}

int
main(int argc, char **argv)
{
	static struct cat	cat;
	int			timeout;

	cat.cat_host = CAT_DEFAULT_HOST;
	cat.cat_max_message = CAT_DEFAULT_MAX_MESSAGE;
	tool_getopt(argc, argv, &cat);
	cat_start(&cat);
	while ((timeout = cat_timeout(&cat)) != 0)
		cat_poll(&cat, timeout);
	/* What has already arrived is printed, not discarded. */
	cat_receive(&cat);
	mr_client_close(cat.cat_client);
	tool_tls_free(&cat.cat_tls);
	free(cat.cat_line);
	return 0;
}
