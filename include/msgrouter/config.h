/*
 * config: the daemon's settings, their defaults, and the one validator per
 * key that the command line and the configuration file share.
 */
#ifndef MSGROUTER_CONFIG_H
#define MSGROUTER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "msgrouter/log.h"
#include "msgrouter/registry.h"

enum slow_consumer {
	SLOW_CONSUMER_BACKPRESSURE = 0,
	SLOW_CONSUMER_DROP,
	SLOW_CONSUMER_DISCONNECT,
};

/*
 * Every key of the file.  --check-config prints them section by section,
 * in the order each section first appears here (config_print).
 */
enum config_key {
	CONFIG_ROUTER_LISTEN = 0,
	CONFIG_ROUTER_MAX_CLIENTS,
	CONFIG_ROUTER_MAX_MESSAGE_SIZE,
	CONFIG_ROUTER_QUEUE_LIMIT,
	CONFIG_ROUTER_SLOW_CONSUMER,
	CONFIG_ROUTER_ID_MODE,
	CONFIG_ROUTER_SHUTDOWN_TIMEOUT,
	CONFIG_ADMIN_LISTEN,
	CONFIG_ADMIN_TOKEN,
	CONFIG_LOG_LEVEL,
	CONFIG_ROUTER_UNIX_MODE,
	CONFIG_ADMIN_UNIX_MODE,
	CONFIG_ROUTER_SNDBUF,
	CONFIG_TLS_LISTEN,
	CONFIG_TLS_CERT,
	CONFIG_TLS_KEY,
	CONFIG_TLS_CA,
	CONFIG_TLS_MIN_VERSION,
	CONFIG_TLS_CIPHERS,
	CONFIG_TLS_CIPHERSUITES,
	CONFIG_TLS_HANDSHAKE_TIMEOUT,
	CONFIG_ADMIN_TLS,
	CONFIG_ROUTER_SCAN_LIMIT,
	CONFIG_ROUTER_SCAN_WINDOW,
	CONFIG_ROUTER_SCAN_BAN,
	CONFIG_ROUTER_MAX_CLIENTS_PER_ADDRESS,
	CONFIG_CLUSTER_NATS,
	CONFIG_CLUSTER_NODE,
	CONFIG_CLUSTER_NAME,
	CONFIG_CLUSTER_SECRET,
	CONFIG_CLUSTER_SECRET_FILE,
	CONFIG_CLUSTER_HEARTBEAT,
	CONFIG_CLUSTER_PEER_TIMEOUT,
	CONFIG_CLUSTER_LINK_LIMIT,
	CONFIG_ROUTER_REUSEPORT,
	CONFIG_CLUSTER_NATS_CA,
	CONFIG_CLUSTER_NATS_CERT,
	CONFIG_CLUSTER_NATS_KEY,
	CONFIG_NKEYS
};

/* Where a setting's value came from: later sources win. */
enum config_origin {
	CONFIG_ORIGIN_DEFAULT = 0,
	CONFIG_ORIGIN_FILE,
	CONFIG_ORIGIN_FLAG,
};

/* router.listen: up to CONFIG_LISTEN_ADDRS addresses, comma-separated. */
#define CONFIG_LISTEN_MAX	256
#define CONFIG_LISTEN_ADDRS	4

/* tls.min_version. */
enum tls_version {
	TLS_VERSION_1_2 = 0,
	TLS_VERSION_1_3,
};

/*
 * The admin token's buffer: at most 190 bytes and the NUL, the most that
 * "token = " leaves of a file's 198-byte line (config.c checks the sum).
 */
#define CONFIG_TOKEN_MAX	191
/* A file name (tls.cert...) or an OpenSSL cipher list: one file line. */
#define CONFIG_PATH_MAX		192
/* cluster.name: 1-64 of [A-Za-z0-9_-] (one NATS subject token) and NUL. */
#define CONFIG_CLUSTER_NAME_MAX	65
/* cluster.node when none is set. */
#define CONFIG_NODE_UNSET	256
/* The longest cluster secret, from the file or secret_file. */
#define CONFIG_SECRET_MAX	1024
/* The shortest secret in router.id_mode = random (idmap's minimum). */
#define CONFIG_SECRET_MIN	16

struct config {
	char			cf_listen[CONFIG_LISTEN_MAX];
	uint64_t		cf_max_clients;
	uint64_t		cf_max_message_size;	/* payload + 0x00 */
	uint64_t		cf_queue_limit;		/* per destination */
	enum slow_consumer	cf_slow_consumer;
	enum id_mode		cf_id_mode;
	uint64_t		cf_shutdown_timeout_ms;
	char			cf_admin_listen[CONFIG_LISTEN_MAX]; /* "off" */
	char			cf_admin_token[CONFIG_TOKEN_MAX]; /* "": none */
	enum log_level		cf_log_level;
	uint64_t		cf_unix_mode;		/* router.listen's */
	uint64_t		cf_admin_unix_mode;
	uint64_t		cf_sndbuf;	/* SO_SNDBUF; 0: the kernel's */
	char			cf_tls_listen[CONFIG_LISTEN_MAX]; /* "off" */
	char			cf_tls_cert[CONFIG_PATH_MAX];	/* "": none */
	char			cf_tls_key[CONFIG_PATH_MAX];
	char			cf_tls_ca[CONFIG_PATH_MAX];	/* "": no mTLS */
	enum tls_version	cf_tls_min_version;
	char			cf_tls_ciphers[CONFIG_PATH_MAX]; /* "": default */
	char			cf_tls_ciphersuites[CONFIG_PATH_MAX];
	uint64_t		cf_tls_handshake_timeout_ms;
	int			cf_admin_tls;	/* HTTPS with the [tls] cert */
	uint64_t		cf_scan_limit;		/* 0: off */
	uint64_t		cf_scan_window_ms;
	uint64_t		cf_scan_ban_ms;
	uint64_t		cf_max_clients_per_address; /* 0: none */
	char			cf_cluster_nats[CONFIG_PATH_MAX]; /* "": none */
	uint64_t		cf_cluster_node; /* CONFIG_NODE_UNSET: none */
	char			cf_cluster_name[CONFIG_CLUSTER_NAME_MAX];
	char			cf_cluster_secret[CONFIG_TOKEN_MAX];
	char			cf_cluster_secret_file[CONFIG_PATH_MAX];
	uint64_t		cf_cluster_heartbeat_ms;
	uint64_t		cf_cluster_peer_timeout_ms;
	uint64_t		cf_cluster_link_limit;
	int			cf_reuseport;	/* SO_REUSEPORT on router.listen */
	char			cf_cluster_nats_ca[CONFIG_PATH_MAX]; /* "": system's */
	char			cf_cluster_nats_cert[CONFIG_PATH_MAX]; /* "": none */
	char			cf_cluster_nats_key[CONFIG_PATH_MAX];
	unsigned char		cf_origin[CONFIG_NKEYS]; /* config_origin */
};

#define CONFIG_DEFAULT_LISTEN		"127.0.0.1:8080"
#define CONFIG_DEFAULT_MAX_CLIENTS	10000
#define CONFIG_DEFAULT_MAX_MESSAGE	(1024 * 1024)
#define CONFIG_DEFAULT_QUEUE_LIMIT	(8 * 1024 * 1024)
#define CONFIG_DEFAULT_SHUTDOWN_MS	5000
#define CONFIG_DEFAULT_ADMIN_LISTEN	"127.0.0.1:8081"
#define CONFIG_DEFAULT_UNIX_MODE	0660
#define CONFIG_DEFAULT_HANDSHAKE_MS	10000
#define CONFIG_DEFAULT_SCAN_LIMIT	64
#define CONFIG_DEFAULT_SCAN_WINDOW_MS	10000
#define CONFIG_DEFAULT_SCAN_BAN_MS	60000
#define CONFIG_DEFAULT_CLUSTER_NAME	"msgrouter"
#define CONFIG_DEFAULT_HEARTBEAT_MS	1000
#define CONFIG_DEFAULT_PEER_TIMEOUT_MS	3000
#define CONFIG_DEFAULT_LINK_LIMIT	(64ULL * 1024 * 1024)

/* Bounds enforced on every source of settings. */
#define CONFIG_MAX_CLIENTS_MAX		1000000
#define CONFIG_MAX_MESSAGE_MIN		1
#define CONFIG_MAX_MESSAGE_MAX		(1024ULL * 1024 * 1024)
#define CONFIG_QUEUE_LIMIT_MIN		1024
#define CONFIG_QUEUE_LIMIT_MAX		(64ULL * 1024 * 1024 * 1024)
#define CONFIG_SHUTDOWN_MS_MAX		(3600ULL * 1000)
#define CONFIG_SNDBUF_MAX		(64ULL * 1024 * 1024)
#define CONFIG_HANDSHAKE_MS_MIN		10
#define CONFIG_HANDSHAKE_MS_MAX		(600ULL * 1000)
#define CONFIG_SCAN_LIMIT_MAX		1000000000
#define CONFIG_SCAN_WINDOW_MS_MAX	(3600ULL * 1000)
#define CONFIG_SCAN_BAN_MS_MAX		(24ULL * 3600 * 1000)
#define CONFIG_NODE_MAX			255
#define CONFIG_HEARTBEAT_MS_MIN		100
#define CONFIG_HEARTBEAT_MS_MAX		(60ULL * 1000)
#define CONFIG_PEER_TIMEOUT_MS_MAX	(600ULL * 1000)
#define CONFIG_LINK_LIMIT_MIN		(1024ULL * 1024)
#define CONFIG_LINK_LIMIT_MAX		(4ULL * 1024 * 1024 * 1024)

/* Room for any one error message ("file:line: key: expected ..."). */
#define CONFIG_ERRLEN			512

/* A setting given on the command line, applied over the file on each load. */
struct config_flag {
	enum config_key	 cfl_key;
	const char	*cfl_value;
};

void		 config_defaults(struct config *);
/*
 * Set one key from its text form, the same way for every source.  Returns
 * 0, or -1 with "expected ..., got \"...\"" in err.
 */
int		 config_set(struct config *, enum config_key, const char *,
		    enum config_origin, char *err, size_t errlen);
/* Read a configuration file over cf; -1 with "file:line: ..." in err. */
int		 config_read_file(struct config *, const char *path,
		    char *err, size_t errlen);
/* The same from an open stream; name is used in messages only. */
int		 config_read_fp(struct config *, FILE *, const char *name,
		    char *err, size_t errlen);
/*
 * The whole precedence chain: defaults, then the file (if path is not
 * NULL), then the flags in order.  Returns 0 or -1 with a message in err.
 */
int		 config_load(struct config *, const char *path,
		    const struct config_flag *, size_t nflags,
		    char *err, size_t errlen);
/*
 * Split router.listen's value into its addresses, at most max of them,
 * each cut to CONFIG_LISTEN_MAX bytes; returns how many.
 */
size_t		 config_listen_addrs(const char *,
		    char (*addrs)[CONFIG_LISTEN_MAX], size_t max);
/* Print "section.key = value  # origin" for every key. */
void		 config_print(const struct config *, FILE *);
/*
 * Prepare a reloaded configuration: log every changed key, and put back the
 * running value of each key that needs a restart.  Returns the number of
 * keys that changed, applied or not.
 */
int		 config_reload(const struct config *running, struct config *next);

/* Key names and properties, for flags, messages and documentation. */
const char	*config_key_section(enum config_key);
const char	*config_key_name(enum config_key);
int		 config_key_live(enum config_key);
/* Format a key's value as the file would hold it. */
void		 config_format(const struct config *, enum config_key, char *,
		    size_t);
const char	*config_origin_name(enum config_origin);

int		 config_parse_slow_consumer(const char *, enum slow_consumer *);
const char	*config_slow_consumer_name(enum slow_consumer);
int		 config_parse_id_mode(const char *, enum id_mode *);
const char	*config_id_mode_name(enum id_mode);
const char	*config_tls_version_name(enum tls_version);
/* Whether a TLS context is needed: tls.listen set or admin.tls = yes. */
int		 config_tls_wanted(const struct config *);
/* Whether this node is in a cluster: cluster.nats is set. */
int		 config_cluster_wanted(const struct config *);
/* Whether cluster.nats' URLs are tls:// (all or none of them are). */
int		 config_cluster_tls(const struct config *);
/*
 * The cluster's secret: cluster.secret, or the contents of
 * cluster.secret_file without a trailing newline, into buf (at least
 * CONFIG_SECRET_MAX bytes).  Returns its length (0: none), or -1 with a
 * message in err that never holds the secret.
 */
int		 config_cluster_secret(const struct config *, char *buf,
		    size_t size, char *err, size_t errlen);
/*
 * cluster.nats as it may be shown: the user, password or token of each URL
 * replaced by "(hidden)".
 */
void		 config_nats_display(const char *urls, char *buf, size_t len);

#endif
