/*
 * msgrouterd: flags, configuration, wiring and the event loop.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <event2/event.h>

#include "msgrouter/addr.h"
#include "msgrouter/admin.h"
#include "msgrouter/config.h"
#include "msgrouter/log.h"
#include "msgrouter/parse.h"
#include "msgrouter/router.h"

/* Exit statuses: 1 for a runtime failure such as a busy port, 2 for usage. */
#define EXIT_USAGE	2

static void
usage(FILE *f)
{
	fprintf(f,
"usage: msgrouterd [-l ADDR:PORT] [--admin ADDR:PORT|off]\n"
"                  [--id-mode random|sequential]\n"
"                  [--max-clients N] [--max-message-size BYTES]\n"
"                  [--queue-limit BYTES]\n"
"                  [--slow-consumer backpressure|drop|disconnect]\n"
"                  [--log-level debug|info|warn|error] [-V] [-h]\n"
"\n"
"  -l, --listen ADDR:PORT     listen address (default %s; port 0: any)\n"
"      --admin ADDR:PORT|off  admin HTTP interface (default %s)\n"
"      --id-mode MODE         random (default) or sequential client ids\n"
"      --max-clients N        connections past N are closed (default %d)\n"
"      --max-message-size B   payload + 0x00 limit (default 1M)\n"
"      --queue-limit B        queued bytes per destination (default 8M)\n"
"      --slow-consumer P      backpressure (default), drop or disconnect\n"
"      --log-level L          debug, info (default), warn or error\n"
"  -V, --version              print the version and exit\n"
"  -h, --help                 print this help and exit\n"
"\n"
"Sizes take K, M or G suffixes (powers of 1024).\n",
	    CONFIG_DEFAULT_LISTEN, CONFIG_DEFAULT_ADMIN_LISTEN,
	    CONFIG_DEFAULT_MAX_CLIENTS);
}

/* A bad flag value: one line naming the flag, then exit status 2. */
static void __attribute__((noreturn))
bad_flag(const char *flag, const char *value, const char *expected)
{
	fprintf(stderr, "msgrouterd: %s: expected %s, got \"%s\"\n", flag,
	    expected, value);
	exit(EXIT_USAGE);
}

static uint64_t
flag_size(const char *flag, const char *value, uint64_t min, uint64_t max)
{
	uint64_t	v;
	char		lo[32], hi[32], what[96];

	if (parse_size(value, &v) != 0 || v < min || v > max) {
		format_size(min, lo, sizeof lo);
		format_size(max, hi, sizeof hi);
		snprintf(what, sizeof what, "a size from %s to %s like 8M",
		    lo, hi);
		bad_flag(flag, value, what);
	}
	return v;
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;

	log_info("%s received, shutting down", strsignal((int)sig));
	event_base_loopbreak(base);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "listen",		required_argument, NULL, 'l' },
		{ "admin",		required_argument, NULL, 'A' },
		{ "id-mode",		required_argument, NULL, 'I' },
		{ "max-clients",	required_argument, NULL, 'C' },
		{ "max-message-size",	required_argument, NULL, 'M' },
		{ "queue-limit",	required_argument, NULL, 'Q' },
		{ "slow-consumer",	required_argument, NULL, 'S' },
		{ "log-level",		required_argument, NULL, 'L' },
		{ "version",		no_argument,	   NULL, 'V' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct config		 cf;
	struct event_config	*ecf;
	struct event_base	*base;
	struct event		*sigint, *sigterm;
	struct router		*rt;
	struct admin		*admin = NULL;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	const char		*why;
	uint64_t		 v;
	int			 ch;

	config_defaults(&cf);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":l:Vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			if (strlen(optarg) >= sizeof cf.cf_listen)
				bad_flag("--listen", optarg, "ADDR:PORT");
			strcpy(cf.cf_listen, optarg);
			break;
		case 'A':
			if (strlen(optarg) >= sizeof cf.cf_admin_listen ||
			    (strcmp(optarg, "off") != 0 &&
			    addr_parse(optarg, &ss, &sslen, &why) != 0))
				bad_flag("--admin", optarg, "ADDR:PORT or off");
			strcpy(cf.cf_admin_listen, optarg);
			break;
		case 'I':
			if (config_parse_id_mode(optarg, &cf.cf_id_mode) != 0)
				bad_flag("--id-mode", optarg,
				    "random or sequential");
			break;
		case 'C':
			if (parse_uint(optarg, &v) != 0 || v < 1 ||
			    v > CONFIG_MAX_CLIENTS_MAX)
				bad_flag("--max-clients", optarg,
				    "a number from 1 to 1000000");
			cf.cf_max_clients = v;
			break;
		case 'M':
			cf.cf_max_message_size = flag_size("--max-message-size",
			    optarg, CONFIG_MAX_MESSAGE_MIN,
			    CONFIG_MAX_MESSAGE_MAX);
			break;
		case 'Q':
			cf.cf_queue_limit = flag_size("--queue-limit", optarg,
			    CONFIG_QUEUE_LIMIT_MIN, CONFIG_QUEUE_LIMIT_MAX);
			break;
		case 'S':
			if (config_parse_slow_consumer(optarg,
			    &cf.cf_slow_consumer) != 0)
				bad_flag("--slow-consumer", optarg,
				    "backpressure, drop or disconnect");
			break;
		case 'L':
			if (log_parse_level(optarg, &cf.cf_log_level) != 0)
				bad_flag("--log-level", optarg,
				    "debug, info, warn or error");
			break;
		case 'V':
			printf("msgrouterd %s (libevent %s)\n", PACKAGE_VERSION,
			    event_get_version());
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "msgrouterd: %s needs a value\n",
			    argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "msgrouterd: unknown option %s\n",
			    argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "msgrouterd: unexpected argument \"%s\"\n",
		    argv[optind]);
		return EXIT_USAGE;
	}

	log_init(cf.cf_log_level);
	/* A peer that goes away mid-write is an EPIPE, not a death. */
	signal(SIGPIPE, SIG_IGN);

	/* Coalesce event changes into the epoll_wait call (changelist). */
	if ((ecf = event_config_new()) == NULL)
		return 1;
	event_config_set_flag(ecf, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	event_config_set_flag(ecf, EVENT_BASE_FLAG_NOLOCK);
	base = event_base_new_with_config(ecf);
	event_config_free(ecf);
	if (base == NULL) {
		log_error("cannot create the event base");
		return 1;
	}
	if ((rt = router_new(base, &cf)) == NULL) {
		log_error("out of memory");
		return 1;
	}
	if (router_listen(rt) != 0)
		return 1;
	if (strcmp(cf.cf_admin_listen, "off") != 0) {
		if ((admin = admin_new(rt)) == NULL) {
			log_error("admin: out of memory");
			return 1;
		}
		if (admin_listen(admin, cf.cf_admin_listen) != 0)
			return 1;
	}

	sigint = evsignal_new(base, SIGINT, signal_cb, base);
	sigterm = evsignal_new(base, SIGTERM, signal_cb, base);
	if (sigint == NULL || sigterm == NULL ||
	    evsignal_add(sigint, NULL) != 0 || evsignal_add(sigterm, NULL) != 0) {
		log_error("cannot install signal handlers");
		return 1;
	}
	log_info("msgrouterd %s: id_mode %s, max_clients %llu, "
	    "max_message_size %llu, queue_limit %llu, slow_consumer %s",
	    PACKAGE_VERSION, config_id_mode_name(cf.cf_id_mode),
	    (unsigned long long)cf.cf_max_clients,
	    (unsigned long long)cf.cf_max_message_size,
	    (unsigned long long)cf.cf_queue_limit,
	    config_slow_consumer_name(cf.cf_slow_consumer));

	event_base_dispatch(base);

	router_log_stats(rt, "final counters");
	admin_free(admin);
	router_free(rt);
	event_free(sigint);
	event_free(sigterm);
	event_base_free(base);
	log_info("exiting");
	return 0;
}
