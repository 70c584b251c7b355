/*
 * msgrouterd: flags, configuration, wiring and the event loop.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "msgrouter/admin.h"
#include "msgrouter/bufmem.h"
#ifdef HAVE_NATS
#include "msgrouter/cluster.h"
#include "msgrouter/natsev.h"
#endif
#include "msgrouter/config.h"
#include "msgrouter/log.h"
#include "msgrouter/router.h"
#include "msgrouter/tls.h"

/* Exit statuses: 1 for a runtime failure such as a busy port, 2 for usage. */
#define EXIT_USAGE	2

static void
usage(FILE *f)
{
	fprintf(f,
"usage: msgrouterd [-c FILE] [-t] [-l ADDR:PORT|off] [--admin ADDR:PORT|off]\n"
"                  [--tls-listen ADDR:PORT|off] [--tls-cert FILE]\n"
"                  [--tls-key FILE] [--tls-ca FILE]\n"
"                  [--id-mode random|sequential] [--max-clients N]\n"
"                  [--max-message-size BYTES] [--queue-limit BYTES]\n"
"                  [--slow-consumer backpressure|drop|disconnect]\n"
"                  [--shutdown-timeout DURATION]\n"
"                  [--log-level debug|info|warn|error]\n"
"                  [--scan-limit N] [--scan-window DURATION]\n"
"                  [--scan-ban DURATION] [--max-clients-per-address N]\n"
"                  [--cluster-nats URL[,URL...]] [--node N]\n"
"                  [--cluster-name NAME]\n"
"                  [-V] [-h]\n"
"\n"
"  -c, --config FILE          read settings from an INI file\n"
"  -t, --check-config         validate, print the effective settings, exit\n"
"  -l, --listen ADDR:PORT     listen address (default %s; port 0: any)\n"
"                             or unix:/PATH; up to 4, comma-separated;\n"
"                             off needs --tls-listen\n"
"      --admin ADDR:PORT|off  admin HTTP interface (default %s), or\n"
"                             unix:/PATH\n"
"      --tls-listen ADDR:PORT TLS client port (default off)\n"
"      --tls-cert FILE        server certificate chain (PEM)\n"
"      --tls-key FILE         its private key (PEM, no passphrase)\n"
"      --tls-ca FILE          clients must present a certificate from it\n"
"      --id-mode MODE         random (default) or sequential client ids\n"
"      --max-clients N        connections past N are closed (default %d)\n"
"      --max-message-size B   payload + 0x00 limit (default 1M)\n"
"      --queue-limit B        queued bytes per destination (default 8M)\n"
"      --slow-consumer P      backpressure (default), drop or disconnect\n"
"      --shutdown-timeout D   how long SIGTERM flushes queues (default 5s)\n"
"      --log-level L          debug, info (default), warn or error\n"
"      --scan-limit N         unknown ids an address may send to within\n"
"                             the scan window (default 64; 0: off)\n"
"      --scan-window D        the scan window (default 10s)\n"
"      --scan-ban D           how long a scanning address is refused\n"
"                             (default 60s)\n"
"      --max-clients-per-address N\n"
"                             connections per source address (default 0:\n"
"                             no limit)\n"
"      --cluster-nats URLS    NATS servers of a cluster (default none: no\n"
"                             cluster); nats:// or tls://, comma-separated\n"
"      --node N               this node's number in the cluster, 0-255\n"
"      --cluster-name NAME    the cluster's subject prefix (default msgrouter)\n"
"  -V, --version              print the version and exit\n"
"  -h, --help                 print this help and exit\n"
"\n"
"Flags override the file, which overrides the defaults.  Sizes take K, M\n"
"or G suffixes (powers of 1024); durations take ms, s, or m or min for\n"
"minutes (a bare number is seconds).  SIGHUP re-reads the file, SIGTERM\n"
"and SIGINT drain the queues and exit.\n",
	    CONFIG_DEFAULT_LISTEN, CONFIG_DEFAULT_ADMIN_LISTEN,
	    CONFIG_DEFAULT_MAX_CLIENTS);
}

/* The most settings one command line may carry (every flag repeated). */
#define MAX_FLAGS	64

/*
 * The flags that set a configuration key: each is checked by that key's
 * validator (config_set) and applied over the file on every reload.
 */
static const struct daemon_flag {
	const char	*df_name;	/* long option, without "--" */
	int		 df_ch;		/* getopt_long's code */
	enum config_key	 df_key;
} daemon_flags[] = {
	{ "listen",		'l', CONFIG_ROUTER_LISTEN },
	{ "admin",		'A', CONFIG_ADMIN_LISTEN },
	{ "id-mode",		'I', CONFIG_ROUTER_ID_MODE },
	{ "max-clients",	'C', CONFIG_ROUTER_MAX_CLIENTS },
	{ "max-message-size",	'M', CONFIG_ROUTER_MAX_MESSAGE_SIZE },
	{ "queue-limit",	'Q', CONFIG_ROUTER_QUEUE_LIMIT },
	{ "slow-consumer",	'S', CONFIG_ROUTER_SLOW_CONSUMER },
	{ "shutdown-timeout",	'T', CONFIG_ROUTER_SHUTDOWN_TIMEOUT },
	{ "log-level",		'L', CONFIG_LOG_LEVEL },
	{ "tls-listen",		1001, CONFIG_TLS_LISTEN },
	{ "tls-cert",		1002, CONFIG_TLS_CERT },
	{ "tls-key",		1003, CONFIG_TLS_KEY },
	{ "tls-ca",		1004, CONFIG_TLS_CA },
	/* Long only: codes past any character. */
	{ "scan-limit",		0x5c0, CONFIG_ROUTER_SCAN_LIMIT },
	{ "scan-window",	0x5c1, CONFIG_ROUTER_SCAN_WINDOW },
	{ "scan-ban",		0x5c2, CONFIG_ROUTER_SCAN_BAN },
	{ "max-clients-per-address", 0x5c3,
	    CONFIG_ROUTER_MAX_CLIENTS_PER_ADDRESS },
	{ "cluster-nats",	0x5d0, CONFIG_CLUSTER_NATS },
	{ "node",		0x5d1, CONFIG_CLUSTER_NODE },
	{ "cluster-name",	0x5d2, CONFIG_CLUSTER_NAME },
};
#define DAEMON_NFLAGS	(sizeof daemon_flags / sizeof daemon_flags[0])

/* The options that are not configuration keys. */
static const struct option daemon_options[] = {
	{ "config",		required_argument, NULL, 'c' },
	{ "check-config",	no_argument,	   NULL, 't' },
	{ "version",		no_argument,	   NULL, 'V' },
	{ "help",		no_argument,	   NULL, 'h' },
};
#define DAEMON_NOPTIONS	(sizeof daemon_options / sizeof daemon_options[0])

/* The signals the daemon handles, all through the loop (signal_cb). */
static const int daemon_signals[] = { SIGHUP, SIGINT, SIGTERM };
#define DAEMON_NSIGNALS	(sizeof daemon_signals / sizeof daemon_signals[0])

/* The process's objects, and what the signal callbacks need to reload. */
struct daemon {
	struct event_base	*d_base;
	struct event		*d_sigev[DAEMON_NSIGNALS];
	struct event		*d_trim_ev;
	struct router		*d_router;
	int			 d_nats;	/* libnats was used */
	struct admin		*d_admin;	/* NULL: --admin off */
	struct tls		*d_tls;		/* NULL: no TLS configured */
	const char		*d_path;	/* -c FILE or NULL */
	struct config_flag	 d_flags[MAX_FLAGS];
	size_t			 d_nflags;
	uint64_t		 d_trim_seen;	/* bytes received, last tick */
	size_t			 d_trim_queued;	/* bytes queued, last tick */
	uint64_t		 d_trim_since;	/* in or out since the last trim */
	uint64_t		 d_trim_handshakes; /* TLS ones ended, last tick */
};

/*
 * Check a flag's value with the validator the file uses, and remember it:
 * flags are applied again over the file on every reload.
 */
static void
add_flag(struct daemon *d, const struct daemon_flag *df, const char *value)
{
	struct config	scratch;
	char		err[CONFIG_ERRLEN];

	config_defaults(&scratch);
	if (config_set(&scratch, df->df_key, value, CONFIG_ORIGIN_FLAG, err,
	    sizeof err) != 0) {
		fprintf(stderr, "msgrouterd: --%s: %s\n", df->df_name, err);
		exit(EXIT_USAGE);
	}
	if (d->d_nflags == MAX_FLAGS) {
		fprintf(stderr, "msgrouterd: too many flags\n");
		exit(EXIT_USAGE);
	}
	d->d_flags[d->d_nflags].cfl_key = df->df_key;
	d->d_flags[d->d_nflags].cfl_value = value;
	d->d_nflags++;
}

/* Put back the running [tls] settings in a reloaded configuration. */
static void
reload_keep_tls(const struct config *running, struct config *next)
{
	memcpy(next->cf_tls_cert, running->cf_tls_cert,
	    sizeof next->cf_tls_cert);
	memcpy(next->cf_tls_key, running->cf_tls_key, sizeof next->cf_tls_key);
	memcpy(next->cf_tls_ca, running->cf_tls_ca, sizeof next->cf_tls_ca);
	next->cf_tls_min_version = running->cf_tls_min_version;
	memcpy(next->cf_tls_ciphers, running->cf_tls_ciphers,
	    sizeof next->cf_tls_ciphers);
	memcpy(next->cf_tls_ciphersuites, running->cf_tls_ciphersuites,
	    sizeof next->cf_tls_ciphersuites);
	memcpy(next->cf_origin + CONFIG_TLS_CERT,
	    running->cf_origin + CONFIG_TLS_CERT,
	    CONFIG_TLS_CIPHERSUITES - CONFIG_TLS_CERT + 1);
}

/*
 * Re-read the certificate, key and CA (also when no key changed: the files
 * may have) into a new context for new connections.  If any fails, the
 * running context and its settings stay.
 */
static void
reload_tls(struct daemon *d, struct config *next)
{
	char	err[CONFIG_ERRLEN], desc[512];

	if (d->d_tls == NULL)
		return;
	if (tls_reload(d->d_tls, next, err, sizeof err) != 0) {
		log_errorx("reload: %s; keeping the running TLS certificate "
		    "and settings", err);
		reload_keep_tls(&d->d_router->rt_config, next);
		return;
	}
	tls_describe(d->d_tls, desc, sizeof desc);
	log_info("reload: tls: new connections get %s", desc);
}

/* SIGHUP: load the file again and apply what can change live. */
static void
reload(struct daemon *d)
{
	struct router	*rt = d->d_router;
	struct config	 next;
	char		 err[CONFIG_ERRLEN];
	int		 changed;

	if (rt->rt_draining) {
		log_info("reload: ignored while draining");
		return;
	}
	if (d->d_path == NULL) {
		log_info("reload: no configuration file (-c); nothing to do");
		return;
	}
	if (config_load(&next, d->d_path, d->d_flags, d->d_nflags, err,
	    sizeof err) != 0) {
		log_errorx("reload: %s; keeping the running configuration",
		    err);
		return;
	}
	reload_tls(d, &next);
	changed = config_reload(&rt->rt_config, &next);
	log_set_level(next.cf_log_level);
	router_configure(rt, &next);
	log_info("reload: %s read, %d setting%s changed", d->d_path, changed,
	    changed == 1 ? "" : "s");
	if (d->d_admin != NULL)
		admin_warn_open(d->d_admin);
}

static const char *
signal_name(int sig)
{
	switch (sig) {
	case SIGHUP:
		return "SIGHUP";
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	default:
		return strsignal(sig);
	}
}

#ifdef __GLIBC__
/*
 * The heap keeps what the hot path frees (see the mallopt in main), so that
 * a busy router does not give pages back only to fault them in again a
 * moment later.  Once a second of quiet follows real traffic (less than
 * TRIM_QUIET_BYTES read in the last second, TRIM_AFTER_BYTES or more read
 * or written out of the queues since the last trim), all of it goes back
 * to the system: RSS falls back after a burst, and an idle router costs one
 * wake-up a second.  The queues count because a slow consumer's queue is
 * freed as it is written, often long after the last byte was read: a trim
 * taken while it was still full returned none of it.
 * TLS handshakes count too, as TRIM_HANDSHAKE_BYTES each: a handshake frees
 * its record and message buffers when it ends (about 36 KB measured), and
 * clients that reconnect all at once (a restart) leave tens of MB free in
 * the heap without a byte of traffic (bench/tls-idle-rss.py --burst).
 */
#define TRIM_INTERVAL_S		1
#define TRIM_QUIET_BYTES	(64 << 10)
#define TRIM_AFTER_BYTES	(1 << 20)
#define TRIM_HANDSHAKE_BYTES	(32 << 10)

static void
trim_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;
	struct stats	*st = &d->d_router->rt_stats;
	uint64_t	 now = st->st_bytes_received;
	uint64_t	 delta = now - d->d_trim_seen;
	uint64_t	 hs = st->st_tls_handshakes + st->st_tls_handshake_failures;
	size_t		 queued = router_queued_bytes(d->d_router);

	d->d_trim_seen = now;
	delta += (hs - d->d_trim_handshakes) * TRIM_HANDSHAKE_BYTES;
	d->d_trim_handshakes = hs;
	d->d_trim_since += delta;
	/* Written out, or dropped with a closed client: freed either way. */
	if (queued < d->d_trim_queued)
		d->d_trim_since += d->d_trim_queued - queued;
	d->d_trim_queued = queued;
	if (delta >= TRIM_QUIET_BYTES || d->d_trim_since < TRIM_AFTER_BYTES)
		return;
	d->d_trim_since = 0;
	log_debug("quiet: heap trimmed, %s", malloc_trim(0) ?
	    "memory returned to the system" : "nothing to return");
}
#endif

/*
 * SIGHUP reloads; SIGTERM or SIGINT starts the drain, and a second one ends
 * it at once.  libevent runs this from the loop, never from the handler.
 */
static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon	*d = arg;
	struct router	*rt = d->d_router;

	if (sig == SIGHUP) {
		reload(d);
		return;
	}
	if (rt->rt_draining) {
		log_warnx("%s received again: exiting at once",
		    signal_name((int)sig));
		router_drain_finish(rt, "interrupted");
		/* Past the drain, writing the cluster's link: stop that. */
		event_base_loopexit(d->d_base, NULL);
		return;
	}
	log_info("%s received, shutting down", signal_name((int)sig));
	router_drain_start(rt);
}

/* getopt_long's table: the plain options, then one per configuration flag. */
static void
options_build(struct option *o)
{
	size_t	i;

	memcpy(o, daemon_options, sizeof daemon_options);
	for (i = 0; i < DAEMON_NFLAGS; i++) {
		o[DAEMON_NOPTIONS + i].name = daemon_flags[i].df_name;
		o[DAEMON_NOPTIONS + i].has_arg = required_argument;
		o[DAEMON_NOPTIONS + i].flag = NULL;
		o[DAEMON_NOPTIONS + i].val = daemon_flags[i].df_ch;
	}
	memset(&o[DAEMON_NOPTIONS + DAEMON_NFLAGS], 0, sizeof *o);
}

/* The configuration flag getopt_long returned as ch, or NULL. */
static const struct daemon_flag *
flag_find(int ch)
{
	size_t	i;

	for (i = 0; i < DAEMON_NFLAGS; i++) {
		if (daemon_flags[i].df_ch == ch)
			return &daemon_flags[i];
	}
	return NULL;
}

/*
 * Read the command line into d: -c, -t, and every configuration flag.
 * Returns -1 to go on, or the status to exit with (-V, -h, a bad flag).
 */
static int
parse_args(struct daemon *d, int argc, char *argv[], int *check)
{
	struct option			 longopts[DAEMON_NOPTIONS +
					    DAEMON_NFLAGS + 1];
	const struct daemon_flag	*df;
	int				 ch;

	options_build(longopts);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:tl:Vh", longopts, NULL))
	    != -1) {
		switch (ch) {
		case 'c':
			d->d_path = optarg;
			break;
		case 't':
			*check = 1;
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
			if ((df = flag_find(ch)) == NULL) {
				fprintf(stderr, "msgrouterd: unknown option "
				    "%s\n", argv[optind - 1]);
				usage(stderr);
				return EXIT_USAGE;
			}
			add_flag(d, df, optarg);
			break;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "msgrouterd: unexpected argument \"%s\"\n",
		    argv[optind]);
		return EXIT_USAGE;
	}
	return -1;
}

/* Process-wide settings made once, before the event base exists. */
static void
process_setup(const struct config *cf)
{
	log_init(cf->cf_log_level);
	/* A peer that goes away mid-write is an EPIPE, not a death. */
	signal(SIGPIPE, SIG_IGN);
	/* Nor is a reload sent before signals_setup takes SIGHUP over. */
	signal(SIGHUP, SIG_IGN);
#ifdef __GLIBC__
	/*
	 * Read chains (64 KiB) and queue chains come and go with every batch
	 * at the top of the heap; with glibc's default 128 KiB trim threshold
	 * that was a brk() every few reads and fresh pages to fault in (16 KiB
	 * messages: about two page faults per message and a third more CPU).
	 * Keep up to 8 MiB of freed heap and grow it 1 MiB at a time while
	 * busy; trim_cb gives it back once traffic goes quiet.
	 */
	(void)mallopt(M_TRIM_THRESHOLD, 8 << 20);
	(void)mallopt(M_TOP_PAD, 1 << 20);
#endif
}

/*
 * The event base, with event changes coalesced into the epoll_wait call
 * (changelist) and no locks (one thread).
 */
static struct event_base *
base_new(int locked)
{
	struct event_config	*ecf;
	struct event_base	*base;

	if ((ecf = event_config_new()) == NULL)
		return NULL;
	event_config_set_flag(ecf, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	/* A cluster node's base is locked: libnats calls it from threads. */
	if (!locked)
		event_config_set_flag(ecf, EVENT_BASE_FLAG_NOLOCK);
	base = event_base_new_with_config(ecf);
	event_config_free(ecf);
	return base;
}

/*
 * The signal events, added before anything listens: a daemon that has said
 * "listening on" (what supervisors and the tests take as ready) must drain
 * on a SIGTERM sent the next instant, not die of it.  A signal that comes
 * before the loop runs waits in libevent's pipe and is handled first.
 */
static int
signals_setup(struct daemon *d)
{
	size_t	i;

	for (i = 0; i < DAEMON_NSIGNALS; i++) {
		d->d_sigev[i] = evsignal_new(d->d_base, daemon_signals[i],
		    signal_cb, d);
		if (d->d_sigev[i] == NULL ||
		    evsignal_add(d->d_sigev[i], NULL) != 0) {
			log_errorx("cannot install signal handlers");
			return -1;
		}
	}
	return 0;
}

/* Make everything the loop runs: signals first, then router and admin. */
static int
daemon_setup(struct daemon *d, const struct config *cf)
{
	char			 err[CONFIG_ERRLEN], desc[512];
#ifdef __GLIBC__
	const struct timeval	 trim_tv = { TRIM_INTERVAL_S, 0 };
#endif

#ifdef HAVE_NATS
	/* Only a cluster node pays for libevent's locks. */
	d->d_nats = config_cluster_wanted(cf);
	if (d->d_nats && natsev_threads() != 0) {
		log_errorx("cluster: cannot make libevent thread-safe");
		return -1;
	}
#endif
	if ((d->d_base = base_new(config_cluster_wanted(cf))) == NULL) {
		log_errorx("cannot create the event base");
		return -1;
	}
	if (signals_setup(d) != 0)
		return -1;
#ifdef __GLIBC__
	if ((d->d_trim_ev = event_new(d->d_base, -1, EV_PERSIST, trim_cb,
	    d)) == NULL || event_add(d->d_trim_ev, &trim_tv) != 0) {
		log_errorx("cannot add the heap trim timer");
		return -1;
	}
#endif
	if ((d->d_router = router_new(d->d_base, cf)) == NULL) {
		log_errorx("out of memory");
		return -1;
	}
	if (config_tls_wanted(cf)) {
		if ((d->d_tls = tls_new(cf, err, sizeof err)) == NULL) {
			log_errorx("%s", err);
			return -1;
		}
		tls_describe(d->d_tls, desc, sizeof desc);
		log_info("tls: %s", desc);
		d->d_router->rt_tls = d->d_tls;
	}
	if (router_listen(d->d_router) != 0)
		return -1;
#ifdef HAVE_NATS
	if (config_cluster_wanted(cf) &&
	    (d->d_router->rt_cluster = cluster_new(d->d_router)) == NULL)
		return -1;
#endif
	if (strcmp(cf->cf_admin_listen, "off") != 0) {
		if ((d->d_admin = admin_new(d->d_router)) == NULL) {
			log_errorx("admin: out of memory");
			return -1;
		}
		if (admin_listen(d->d_admin, cf->cf_admin_listen) != 0)
			return -1;
	}
	return 0;
}

/*
 * Free everything daemon_setup made, in reverse, also after it failed half
 * way: leak checkers see a clean exit.
 */
static void
daemon_teardown(struct daemon *d)
{
	size_t	i;

	admin_free(d->d_admin);
	router_free(d->d_router);
	tls_free(d->d_tls);
	if (d->d_trim_ev != NULL)
		event_free(d->d_trim_ev);
	for (i = 0; i < DAEMON_NSIGNALS; i++) {
		if (d->d_sigev[i] != NULL)
			event_free(d->d_sigev[i]);
	}
	if (d->d_base != NULL)
		event_base_free(d->d_base);
#ifdef HAVE_NATS
	/* libnats's own threads end here: leak checkers see a clean exit. */
	if (d->d_nats)
		nats_CloseAndWait(2000);
#endif
}

int
main(int argc, char *argv[])
{
	struct daemon	d;
	struct config	cf;
	char		err[CONFIG_ERRLEN];
	int		check = 0, status;

	/* Before any other libevent call: buffer data on cache lines. */
	bufmem_install();
	memset(&d, 0, sizeof d);
	if ((status = parse_args(&d, argc, argv, &check)) >= 0)
		return status;
	if (config_load(&cf, d.d_path, d.d_flags, d.d_nflags, err,
	    sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		return EXIT_USAGE;
	}
	if (check) {
		/* The certificate, key and CA must load, not just open. */
		if (config_tls_wanted(&cf)) {
			struct tls	*tl;

			if ((tl = tls_new(&cf, err, sizeof err)) == NULL) {
				fprintf(stderr, "%s\n", err);
				return EXIT_USAGE;
			}
			tls_free(tl);
		}
		config_print(&cf, stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}

	process_setup(&cf);
	status = 1;
	if (daemon_setup(&d, &cf) == 0) {
		log_info("msgrouterd %s: config %s, id_mode %s, max_clients "
		    "%llu, max_message_size %llu, queue_limit %llu, "
		    "slow_consumer %s", PACKAGE_VERSION,
		    d.d_path != NULL ? d.d_path : "(none)",
		    config_id_mode_name(cf.cf_id_mode),
		    (unsigned long long)cf.cf_max_clients,
		    (unsigned long long)cf.cf_max_message_size,
		    (unsigned long long)cf.cf_queue_limit,
		    config_slow_consumer_name(cf.cf_slow_consumer));
		event_base_dispatch(d.d_base);
#ifdef HAVE_NATS
		/* Frames for other nodes still go out, within the timeout. */
		if (d.d_router->rt_cluster != NULL)
			cluster_shutdown(d.d_router->rt_cluster,
			    d.d_router->rt_config.cf_shutdown_timeout_ms);
#endif
		router_log_stats(d.d_router, "final counters");
		status = d.d_router->rt_exit_status;
	}
	daemon_teardown(&d);
	bufmem_shutdown();
	if (status == 0)
		log_info("exiting");
	else
		log_warnx("exiting with status %d", status);
	return status;
}
