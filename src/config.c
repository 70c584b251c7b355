/*
 * config: defaults, one validator per key shared by the command line and the
 * file, the INI file reader (libinih), --check-config output and the rules
 * of a reload.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <ini.h>

#include "msgrouter/addr.h"
#include "msgrouter/config.h"
#include "msgrouter/log.h"
#include "msgrouter/parse.h"

struct config_keydef;

typedef int	(*config_set_fn)(struct config *, const struct config_keydef *,
		    const char *, char *, size_t);
typedef void	(*config_format_fn)(const struct config *,
		    const struct config_keydef *, char *, size_t);

/* One key: where it lives in the file and in struct config, how it parses. */
struct config_keydef {
	const char		*kd_section;
	const char		*kd_name;
	int			 kd_live;	/* a reload applies it */
	int			 kd_string;	/* a NUL-terminated char array */
	int			 kd_secret;	/* never shown in messages */
	size_t			 kd_offset;
	size_t			 kd_size;
	config_set_fn		 kd_set;
	config_format_fn	 kd_format;
	uint64_t		 kd_min;
	uint64_t		 kd_max;
};

#define CONFIG_FIELD(f)	\
	offsetof(struct config, f), sizeof(((struct config *)0)->f)

static int	config_set_listen(struct config *, const struct config_keydef *,
		    const char *, char *, size_t);
static int	config_set_admin_listen(struct config *,
		    const struct config_keydef *, const char *, char *, size_t);
static int	config_set_listen_off(struct config *,
		    const struct config_keydef *, const char *, char *, size_t);
static int	config_set_path(struct config *, const struct config_keydef *,
		    const char *, char *, size_t);
static int	config_set_tls_version(struct config *,
		    const struct config_keydef *, const char *, char *, size_t);
static int	config_set_bool(struct config *, const struct config_keydef *,
		    const char *, char *, size_t);
static int	config_set_token(struct config *, const struct config_keydef *,
		    const char *, char *, size_t);
static int	config_set_router_listen(struct config *,
		    const struct config_keydef *, const char *, char *, size_t);
static int	config_set_mode(struct config *, const struct config_keydef *,
		    const char *, char *, size_t);
static int	config_set_count(struct config *, const struct config_keydef *,
		    const char *, char *, size_t);
static int	config_set_size(struct config *, const struct config_keydef *,
		    const char *, char *, size_t);
static int	config_set_duration(struct config *,
		    const struct config_keydef *, const char *, char *, size_t);
static int	config_set_slow(struct config *, const struct config_keydef *,
		    const char *, char *, size_t);
static int	config_set_id_mode(struct config *,
		    const struct config_keydef *, const char *, char *, size_t);
static int	config_set_nats(struct config *, const struct config_keydef *,
		    const char *, char *, size_t);
static int	config_set_cluster_name(struct config *,
		    const struct config_keydef *, const char *, char *, size_t);
static int	config_set_node(struct config *, const struct config_keydef *,
		    const char *, char *, size_t);
static void	config_format_nats(const struct config *,
		    const struct config_keydef *, char *, size_t);
static void	config_format_node(const struct config *,
		    const struct config_keydef *, char *, size_t);
static int	config_set_log_level(struct config *,
		    const struct config_keydef *, const char *, char *, size_t);

static void	config_format_string(const struct config *,
		    const struct config_keydef *, char *, size_t);
static void	config_format_tls_version(const struct config *,
		    const struct config_keydef *, char *, size_t);
static void	config_format_bool(const struct config *,
		    const struct config_keydef *, char *, size_t);
static void	config_format_token(const struct config *,
		    const struct config_keydef *, char *, size_t);
static void	config_format_count(const struct config *,
		    const struct config_keydef *, char *, size_t);
static void	config_format_size(const struct config *,
		    const struct config_keydef *, char *, size_t);
static void	config_format_duration(const struct config *,
		    const struct config_keydef *, char *, size_t);
static void	config_format_slow(const struct config *,
		    const struct config_keydef *, char *, size_t);
static void	config_format_id_mode(const struct config *,
		    const struct config_keydef *, char *, size_t);
static void	config_format_log_level(const struct config *,
		    const struct config_keydef *, char *, size_t);
static void	config_format_mode(const struct config *,
		    const struct config_keydef *, char *, size_t);

/* Indexed by enum config_key. */
static const struct config_keydef config_keys[CONFIG_NKEYS] = {
	[CONFIG_ROUTER_LISTEN] = { "router", "listen", 0, 1, 0,
	    CONFIG_FIELD(cf_listen), config_set_router_listen,
	    config_format_string, 0, 0 },
	[CONFIG_ROUTER_MAX_CLIENTS] = { "router", "max_clients", 1, 0, 0,
	    CONFIG_FIELD(cf_max_clients), config_set_count,
	    config_format_count, 1, CONFIG_MAX_CLIENTS_MAX },
	[CONFIG_ROUTER_MAX_MESSAGE_SIZE] = { "router", "max_message_size",
	    1, 0, 0, CONFIG_FIELD(cf_max_message_size), config_set_size,
	    config_format_size, CONFIG_MAX_MESSAGE_MIN,
	    CONFIG_MAX_MESSAGE_MAX },
	[CONFIG_ROUTER_QUEUE_LIMIT] = { "router", "queue_limit", 1, 0, 0,
	    CONFIG_FIELD(cf_queue_limit), config_set_size,
	    config_format_size, CONFIG_QUEUE_LIMIT_MIN,
	    CONFIG_QUEUE_LIMIT_MAX },
	[CONFIG_ROUTER_SLOW_CONSUMER] = { "router", "slow_consumer", 1, 0, 0,
	    CONFIG_FIELD(cf_slow_consumer), config_set_slow,
	    config_format_slow, 0, 0 },
	[CONFIG_ROUTER_ID_MODE] = { "router", "id_mode", 0, 0, 0,
	    CONFIG_FIELD(cf_id_mode), config_set_id_mode,
	    config_format_id_mode, 0, 0 },
	[CONFIG_ROUTER_SHUTDOWN_TIMEOUT] = { "router", "shutdown_timeout",
	    1, 0, 0, CONFIG_FIELD(cf_shutdown_timeout_ms), config_set_duration,
	    config_format_duration, 0, CONFIG_SHUTDOWN_MS_MAX },
	[CONFIG_ADMIN_LISTEN] = { "admin", "listen", 0, 1, 0,
	    CONFIG_FIELD(cf_admin_listen), config_set_admin_listen,
	    config_format_string, 0, 0 },
	[CONFIG_ADMIN_TOKEN] = { "admin", "token", 1, 1, 1,
	    CONFIG_FIELD(cf_admin_token), config_set_token,
	    config_format_token, 0, 0 },
	[CONFIG_LOG_LEVEL] = { "log", "level", 1, 0, 0,
	    CONFIG_FIELD(cf_log_level), config_set_log_level,
	    config_format_log_level, 0, 0 },
	[CONFIG_ROUTER_SCAN_LIMIT] = { "router", "scan_limit", 1, 0, 0,
	    CONFIG_FIELD(cf_scan_limit), config_set_count,
	    config_format_count, 0, CONFIG_SCAN_LIMIT_MAX },
	[CONFIG_ROUTER_SCAN_WINDOW] = { "router", "scan_window", 1, 0, 0,
	    CONFIG_FIELD(cf_scan_window_ms), config_set_duration,
	    config_format_duration, 1, CONFIG_SCAN_WINDOW_MS_MAX },
	[CONFIG_ROUTER_SCAN_BAN] = { "router", "scan_ban", 1, 0, 0,
	    CONFIG_FIELD(cf_scan_ban_ms), config_set_duration,
	    config_format_duration, 0, CONFIG_SCAN_BAN_MS_MAX },
	[CONFIG_ROUTER_MAX_CLIENTS_PER_ADDRESS] = { "router",
	    "max_clients_per_address", 1, 0, 0,
	    CONFIG_FIELD(cf_max_clients_per_address), config_set_count,
	    config_format_count, 0, CONFIG_MAX_CLIENTS_MAX },
	[CONFIG_ROUTER_UNIX_MODE] = { "router", "unix_mode", 0, 0, 0,
	    CONFIG_FIELD(cf_unix_mode), config_set_mode,
	    config_format_mode, 0600, 0777 },
	[CONFIG_ADMIN_UNIX_MODE] = { "admin", "unix_mode", 0, 0, 0,
	    CONFIG_FIELD(cf_admin_unix_mode), config_set_mode,
	    config_format_mode, 0600, 0777 },
	[CONFIG_ROUTER_SNDBUF] = { "router", "sndbuf", 1, 0, 0,
	    CONFIG_FIELD(cf_sndbuf), config_set_size, config_format_size, 0,
	    CONFIG_SNDBUF_MAX },
	[CONFIG_TLS_LISTEN] = { "tls", "listen", 0, 1, 0,
	    CONFIG_FIELD(cf_tls_listen), config_set_listen_off,
	    config_format_string, 0, 0 },
	[CONFIG_TLS_CERT] = { "tls", "cert", 1, 1, 0,
	    CONFIG_FIELD(cf_tls_cert), config_set_path,
	    config_format_string, 0, 0 },
	[CONFIG_TLS_KEY] = { "tls", "key", 1, 1, 0,
	    CONFIG_FIELD(cf_tls_key), config_set_path,
	    config_format_string, 0, 0 },
	[CONFIG_TLS_CA] = { "tls", "ca", 1, 1, 0,
	    CONFIG_FIELD(cf_tls_ca), config_set_path,
	    config_format_string, 0, 0 },
	[CONFIG_TLS_MIN_VERSION] = { "tls", "min_version", 1, 0, 0,
	    CONFIG_FIELD(cf_tls_min_version), config_set_tls_version,
	    config_format_tls_version, 0, 0 },
	[CONFIG_TLS_CIPHERS] = { "tls", "ciphers", 1, 1, 0,
	    CONFIG_FIELD(cf_tls_ciphers), config_set_path,
	    config_format_string, 0, 0 },
	[CONFIG_TLS_CIPHERSUITES] = { "tls", "ciphersuites", 1, 1, 0,
	    CONFIG_FIELD(cf_tls_ciphersuites), config_set_path,
	    config_format_string, 0, 0 },
	[CONFIG_TLS_HANDSHAKE_TIMEOUT] = { "tls", "handshake_timeout", 1, 0, 0,
	    CONFIG_FIELD(cf_tls_handshake_timeout_ms), config_set_duration,
	    config_format_duration, CONFIG_HANDSHAKE_MS_MIN,
	    CONFIG_HANDSHAKE_MS_MAX },
	[CONFIG_ADMIN_TLS] = { "admin", "tls", 0, 0, 0,
	    CONFIG_FIELD(cf_admin_tls), config_set_bool,
	    config_format_bool, 0, 0 },
	[CONFIG_CLUSTER_NATS] = { "cluster", "nats", 0, 1, 0,
	    CONFIG_FIELD(cf_cluster_nats), config_set_nats,
	    config_format_nats, 0, 0 },
	[CONFIG_CLUSTER_NODE] = { "cluster", "node", 0, 0, 0,
	    CONFIG_FIELD(cf_cluster_node), config_set_node,
	    config_format_node, 0, CONFIG_NODE_MAX },
	[CONFIG_CLUSTER_NAME] = { "cluster", "name", 0, 1, 0,
	    CONFIG_FIELD(cf_cluster_name), config_set_cluster_name,
	    config_format_string, 0, 0 },
	[CONFIG_CLUSTER_SECRET] = { "cluster", "secret", 0, 1, 1,
	    CONFIG_FIELD(cf_cluster_secret), config_set_token,
	    config_format_token, 0, 0 },
	[CONFIG_CLUSTER_SECRET_FILE] = { "cluster", "secret_file", 0, 1, 0,
	    CONFIG_FIELD(cf_cluster_secret_file), config_set_path,
	    config_format_string, 0, 0 },
	[CONFIG_CLUSTER_HEARTBEAT] = { "cluster", "heartbeat", 1, 0, 0,
	    CONFIG_FIELD(cf_cluster_heartbeat_ms), config_set_duration,
	    config_format_duration, CONFIG_HEARTBEAT_MS_MIN,
	    CONFIG_HEARTBEAT_MS_MAX },
	[CONFIG_CLUSTER_PEER_TIMEOUT] = { "cluster", "peer_timeout", 1, 0, 0,
	    CONFIG_FIELD(cf_cluster_peer_timeout_ms), config_set_duration,
	    config_format_duration, 2 * CONFIG_HEARTBEAT_MS_MIN,
	    CONFIG_PEER_TIMEOUT_MS_MAX },
	[CONFIG_CLUSTER_LINK_LIMIT] = { "cluster", "link_limit", 1, 0, 0,
	    CONFIG_FIELD(cf_cluster_link_limit), config_set_size,
	    config_format_size, CONFIG_LINK_LIMIT_MIN, CONFIG_LINK_LIMIT_MAX },
	[CONFIG_ROUTER_REUSEPORT] = { "router", "reuseport", 0, 0, 0,
	    CONFIG_FIELD(cf_reuseport), config_set_bool,
	    config_format_bool, 0, 0 },
	[CONFIG_CLUSTER_NATS_CA] = { "cluster", "nats_ca", 0, 1, 0,
	    CONFIG_FIELD(cf_cluster_nats_ca), config_set_path,
	    config_format_string, 0, 0 },
	[CONFIG_CLUSTER_NATS_CERT] = { "cluster", "nats_cert", 0, 1, 0,
	    CONFIG_FIELD(cf_cluster_nats_cert), config_set_path,
	    config_format_string, 0, 0 },
	[CONFIG_CLUSTER_NATS_KEY] = { "cluster", "nats_key", 0, 1, 0,
	    CONFIG_FIELD(cf_cluster_nats_key), config_set_path,
	    config_format_string, 0, 0 },
};

#define CONFIG_SECTIONS	"[router], [admin], [log], [tls] or [cluster]"

static const char *const config_origins[] = {
	[CONFIG_ORIGIN_DEFAULT] = "default",
	[CONFIG_ORIGIN_FILE] = "file",
	[CONFIG_ORIGIN_FLAG] = "flag",
};

static const char *const slow_consumer_names[] = {
	[SLOW_CONSUMER_BACKPRESSURE] = "backpressure",
	[SLOW_CONSUMER_DROP] = "drop",
	[SLOW_CONSUMER_DISCONNECT] = "disconnect",
};

static const char *const tls_version_names[] = {
	[TLS_VERSION_1_2] = "TLSv1.2",
	[TLS_VERSION_1_3] = "TLSv1.3",
};

static const char *const id_mode_names[] = {
	[ID_MODE_RANDOM] = "random",
	[ID_MODE_SEQUENTIAL] = "sequential",
};

#define CONFIG_NITEMS(a)	(sizeof (a) / sizeof (a)[0])

static int	config_name_find(const char *const *, size_t, const char *);

/* The field a key describes, inside cf. */
static void *
config_field(struct config *cf, const struct config_keydef *kd)
{
	return (char *)cf + kd->kd_offset;
}

static const void *
config_cfield(const struct config *cf, const struct config_keydef *kd)
{
	return (const char *)cf + kd->kd_offset;
}

/* Write "expected <what>, got "<value>"" into err, the one error shape. */
static int
config_expected(char *err, size_t errlen, const char *what, const char *value)
{
	snprintf(err, errlen, "expected %s, got \"%s\"", what, value);
	return -1;
}

void
config_defaults(struct config *cf)
{
	memset(cf, 0, sizeof *cf);
	strcpy(cf->cf_listen, CONFIG_DEFAULT_LISTEN);
	cf->cf_max_clients = CONFIG_DEFAULT_MAX_CLIENTS;
	cf->cf_max_message_size = CONFIG_DEFAULT_MAX_MESSAGE;
	cf->cf_queue_limit = CONFIG_DEFAULT_QUEUE_LIMIT;
	cf->cf_slow_consumer = SLOW_CONSUMER_BACKPRESSURE;
	cf->cf_id_mode = ID_MODE_RANDOM;
	cf->cf_shutdown_timeout_ms = CONFIG_DEFAULT_SHUTDOWN_MS;
	strcpy(cf->cf_admin_listen, CONFIG_DEFAULT_ADMIN_LISTEN);
	/* cf_admin_token stays "": no token, no authentication. */
	cf->cf_admin_token[0] = '\0';
	cf->cf_log_level = LOG_LEVEL_INFO;
	cf->cf_scan_limit = CONFIG_DEFAULT_SCAN_LIMIT;
	cf->cf_scan_window_ms = CONFIG_DEFAULT_SCAN_WINDOW_MS;
	cf->cf_scan_ban_ms = CONFIG_DEFAULT_SCAN_BAN_MS;
	/* cf_max_clients_per_address stays 0: no limit. */
	cf->cf_unix_mode = CONFIG_DEFAULT_UNIX_MODE;
	cf->cf_admin_unix_mode = CONFIG_DEFAULT_UNIX_MODE;
	strcpy(cf->cf_tls_listen, "off");
	cf->cf_tls_min_version = TLS_VERSION_1_2;
	cf->cf_tls_handshake_timeout_ms = CONFIG_DEFAULT_HANDSHAKE_MS;
	/* cf_cluster_nats stays "": no cluster. */
	cf->cf_cluster_node = CONFIG_NODE_UNSET;
	strcpy(cf->cf_cluster_name, CONFIG_DEFAULT_CLUSTER_NAME);
	cf->cf_cluster_heartbeat_ms = CONFIG_DEFAULT_HEARTBEAT_MS;
	cf->cf_cluster_peer_timeout_ms = CONFIG_DEFAULT_PEER_TIMEOUT_MS;
	cf->cf_cluster_link_limit = CONFIG_DEFAULT_LINK_LIMIT;
}

/* Check one ADDRESS:PORT or unix:/PATH. */
static int
config_check_listen(const char *value, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	const char		*why;
	char			 what[160];

	if (addr_parse(value, &ss, &sslen, &why) == 0)
		return 0;
	if (strncmp(value, ADDR_UNIX_PREFIX, strlen(ADDR_UNIX_PREFIX)) == 0)
		snprintf(what, sizeof what, "unix:/PATH (%s)", why);
	else
		snprintf(what, sizeof what,
		    "ADDRESS:PORT like 127.0.0.1:8080 (%s)", why);
	return config_expected(err, errlen, what, value);
}

/* Check an ADDRESS:PORT and copy it into the key's char array. */
static int
config_set_listen(struct config *cf, const struct config_keydef *kd,
    const char *value, char *err, size_t errlen)
{
	char	what[160];

	if (strlen(value) >= kd->kd_size) {
		snprintf(what, sizeof what, "ADDRESS:PORT of at most %zu bytes",
		    kd->kd_size - 1);
		return config_expected(err, errlen, what, value);
	}
	if (config_check_listen(value, err, errlen) != 0)
		return -1;
	strcpy(config_field(cf, kd), value);
	return 0;
}

size_t
config_listen_addrs(const char *list, char (*addrs)[CONFIG_LISTEN_MAX],
    size_t max)
{
	const char	*p = list, *end;
	size_t		 n = 0, len;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (n == max)
			return n + 1;
		if (len >= CONFIG_LISTEN_MAX)
			len = CONFIG_LISTEN_MAX - 1;
		memcpy(addrs[n], p, len);
		addrs[n][len] = '\0';
		n++;
		if (*end == '\0')
			return n;
		p = end + 1;
	}
}

/*
 * The routing port takes a list: "127.0.0.1:8080, unix:/run/x.sock", so
 * that TCP and Unix-socket clients share one router.
 */
static int
config_set_router_listen(struct config *cf, const struct config_keydef *kd,
    const char *value, char *err, size_t errlen)
{
	char	addrs[CONFIG_LISTEN_ADDRS][CONFIG_LISTEN_MAX];
	char	what[160];
	size_t	n, i;

	/* No plain port: TLS clients only (config_check wants tls.listen). */
	if (strcmp(value, "off") == 0) {
		strcpy(config_field(cf, kd), value);
		return 0;
	}
	if (strlen(value) >= kd->kd_size) {
		snprintf(what, sizeof what, "ADDRESS:PORT of at most %zu bytes",
		    kd->kd_size - 1);
		return config_expected(err, errlen, what, value);
	}
	n = config_listen_addrs(value, addrs, CONFIG_LISTEN_ADDRS);
	if (n > CONFIG_LISTEN_ADDRS) {
		snprintf(what, sizeof what, "at most %d addresses separated "
		    "by commas", CONFIG_LISTEN_ADDRS);
		return config_expected(err, errlen, what, value);
	}
	for (i = 0; i < n && n > 1; i++) {
		if (addrs[i][0] == '\0')
			return config_expected(err, errlen, "addresses "
			    "separated by commas, none of them empty", value);
	}
	for (i = 0; i < n; i++) {
		/* One address: its own message, as it always was. */
		if (config_check_listen(n == 1 ? value : addrs[i], err,
		    errlen) != 0)
			return -1;
	}
	strcpy(config_field(cf, kd), value);
	return 0;
}

/*
 * A Unix socket file's mode, in octal ("0660"): the owner (the daemon's
 * user) must keep read and write, and no bits beyond 0777.
 */
static int
config_set_mode(struct config *cf, const struct config_keydef *kd,
    const char *value, char *err, size_t errlen)
{
	const char	*p;
	uint64_t	 v = 0;

	for (p = value; *p >= '0' && *p <= '7' && p - value < 5; p++)
		v = v * 8 + (uint64_t)(*p - '0');
	if (p == value || *p != '\0' || v > kd->kd_max ||
	    (v & kd->kd_min) != kd->kd_min)
		return config_expected(err, errlen, "an octal mode from 0600 "
		    "to 0777 with the owner's read and write, like 0660",
		    value);
	*(uint64_t *)config_field(cf, kd) = v;
	return 0;
}

/* The admin address also takes "off". */
static int
config_set_admin_listen(struct config *cf, const struct config_keydef *kd,
    const char *value, char *err, size_t errlen)
{
	if (strcmp(value, "off") == 0) {
		strcpy(config_field(cf, kd), value);
		return 0;
	}
	if (config_set_listen(cf, kd, value, err, errlen) == 0)
		return 0;
	/* A unix:/PATH keeps its own message. */
	if (strlen(value) < kd->kd_size &&
	    strncmp(value, ADDR_UNIX_PREFIX, strlen(ADDR_UNIX_PREFIX)) != 0)
		config_expected(err, errlen,
		    "ADDRESS:PORT like 127.0.0.1:8081 or off", value);
	return -1;
}

/* A listen address that also takes "off" (router.listen, tls.listen). */
static int
config_set_listen_off(struct config *cf, const struct config_keydef *kd,
    const char *value, char *err, size_t errlen)
{
	if (strcmp(value, "off") == 0) {
		strcpy(config_field(cf, kd), value);
		return 0;
	}
	return config_set_listen(cf, kd, value, err, errlen);
}

/*
 * A file name or an OpenSSL list: any text that fits ("" for none).  Files
 * are checked by config_check once every source is read.
 */
static int
config_set_path(struct config *cf, const struct config_keydef *kd,
    const char *value, char *err, size_t errlen)
{
	char	what[64];

	if (strlen(value) >= kd->kd_size) {
		snprintf(what, sizeof what, "at most %zu bytes",
		    kd->kd_size - 1);
		return config_expected(err, errlen, what, value);
	}
	strcpy(config_field(cf, kd), value);
	return 0;
}

/*
 * cluster.nats: "" (no cluster) or comma-separated nats:// or tls:// URLs,
 * each with a host after the scheme (and any user, password or token),
 * without spaces, all of one scheme: libnats secures the whole connection
 * or none of it, so a list that mixes them would mean plain text to some
 * server the operator wanted TLS to.  The error does not echo the value:
 * it may hold a password.
 */
static int
config_set_nats(struct config *cf, const struct config_keydef *kd,
    const char *value, char *err, size_t errlen)
{
	const char	*p = value, *end;
	size_t		 len = strlen(value), n, i;
	int		 tls = -1, this;

	if (len >= kd->kd_size) {
		snprintf(err, errlen, "expected at most %zu bytes of URLs, "
		    "got %zu (not shown)", kd->kd_size - 1, len);
		return -1;
	}
	for (i = 1; len > 0; i++) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		n = (size_t)(end - p);
		this = 0;
		if (n > 6 && strncmp(p, "nats://", 7) == 0 && n > 7)
			p += 7, n -= 7;
		else if (n > 6 && strncmp(p, "tls://", 6) == 0)
			p += 6, n -= 6, this = 1;
		else
			n = 0;
		if (n == 0 || memchr(p, ' ', n) != NULL ||
		    memchr(p, '\t', n) != NULL || *p == '@' || *p == ':') {
			snprintf(err, errlen, "expected nats://HOST:PORT or "
			    "tls://HOST:PORT as URL %zu (not shown)", i);
			return -1;
		}
		if (tls != -1 && this != tls) {
			snprintf(err, errlen, "expected every URL tls:// or "
			    "none, got URL %zu %s:// after %s:// (not shown)",
			    i, this ? "tls" : "nats", tls ? "tls" : "nats");
			return -1;
		}
		tls = this;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	strcpy(config_field(cf, kd), value);
	return 0;
}

/* cluster.node: 0-255, or empty for none. */
static int
config_set_node(struct config *cf, const struct config_keydef *kd,
    const char *value, char *err, size_t errlen)
{
	if (value[0] == '\0') {
		cf->cf_cluster_node = CONFIG_NODE_UNSET;
		return 0;
	}
	return config_set_count(cf, kd, value, err, errlen);
}

/* cluster.name: one NATS subject token of [A-Za-z0-9_-]. */
static int
config_set_cluster_name(struct config *cf, const struct config_keydef *kd,
    const char *value, char *err, size_t errlen)
{
	char	what[64];
	size_t	len = strlen(value);

	if (len == 0 || len >= kd->kd_size ||
	    strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_-") != len) {
		snprintf(what, sizeof what, "1 to %zu of A-Z a-z 0-9 _ -",
		    kd->kd_size - 1);
		return config_expected(err, errlen, what, value);
	}
	strcpy(config_field(cf, kd), value);
	return 0;
}

static int
config_set_tls_version(struct config *cf, const struct config_keydef *kd,
    const char *value, char *err, size_t errlen)
{
	int	i;

	if ((i = config_name_find(tls_version_names,
	    CONFIG_NITEMS(tls_version_names), value)) < 0)
		return config_expected(err, errlen, "TLSv1.2 or TLSv1.3",
		    value);
	cf->cf_tls_min_version = (enum tls_version)i;
	return 0;
}

static int
config_set_bool(struct config *cf, const struct config_keydef *kd,
    const char *value, char *err, size_t errlen)
{
	int	*v = config_field(cf, kd);

	if (strcmp(value, "yes") == 0)
		*v = 1;
	else if (strcmp(value, "no") == 0)
		*v = 0;
	else
		return config_expected(err, errlen, "yes or no", value);
	return 0;
}

/*
 * A token: printable ASCII without spaces, so that it survives an HTTP
 * header unchanged.  The error does not echo it: it is a secret.
 */
static int
config_set_token(struct config *cf, const struct config_keydef *kd,
    const char *value, char *err, size_t errlen)
{
	const char	*p;
	size_t		 len = strlen(value);

	for (p = value; *p != '\0'; p++) {
		if (*p < 0x21 || *p > 0x7e)
			break;
	}
	if (len >= kd->kd_size || *p != '\0') {
		snprintf(err, errlen, "expected at most %zu printable "
		    "characters without spaces, got %zu bytes (not shown)",
		    kd->kd_size - 1, len);
		return -1;
	}
	strcpy(config_field(cf, kd), value);
	return 0;
}

/* A plain number within the key's bounds. */
static int
config_set_count(struct config *cf, const struct config_keydef *kd,
    const char *value, char *err, size_t errlen)
{
	uint64_t	v;
	char		what[96];

	if (parse_uint(value, &v) != 0 || v < kd->kd_min || v > kd->kd_max) {
		snprintf(what, sizeof what, "a number from %llu to %llu",
		    (unsigned long long)kd->kd_min,
		    (unsigned long long)kd->kd_max);
		return config_expected(err, errlen, what, value);
	}
	*(uint64_t *)config_field(cf, kd) = v;
	return 0;
}

/* A number with a unit: how it reads, how it prints, what it is called. */
struct config_unit {
	const char	*cu_noun;	/* "a size" */
	const char	*cu_example;	/* "a size like 8M" */
	int		(*cu_parse)(const char *, uint64_t *);
	void		(*cu_format)(uint64_t, char *, unsigned long);
};

/* A size with an optional K, M or G suffix. */
static const struct config_unit config_unit_size = {
	"a size", "a size like 8M", parse_size, format_size
};

/* A duration (ms, s, m or min), in milliseconds. */
static const struct config_unit config_unit_duration = {
	"a duration", "a duration like 5s or 250ms", parse_duration_ms,
	format_duration_ms
};

/* A number in unit cu, within the key's bounds. */
static int
config_set_unit(struct config *cf, const struct config_keydef *kd,
    const struct config_unit *cu, const char *value, char *err,
    size_t errlen)
{
	uint64_t	v;
	char		lo[32], hi[32], what[96];

	if (cu->cu_parse(value, &v) != 0)
		return config_expected(err, errlen, cu->cu_example, value);
	if (v < kd->kd_min || v > kd->kd_max) {
		cu->cu_format(kd->kd_min, lo, sizeof lo);
		cu->cu_format(kd->kd_max, hi, sizeof hi);
		snprintf(what, sizeof what, "%s from %s to %s", cu->cu_noun,
		    lo, hi);
		return config_expected(err, errlen, what, value);
	}
	*(uint64_t *)config_field(cf, kd) = v;
	return 0;
}

static int
config_set_size(struct config *cf, const struct config_keydef *kd,
    const char *value, char *err, size_t errlen)
{
	return config_set_unit(cf, kd, &config_unit_size, value, err, errlen);
}

static int
config_set_duration(struct config *cf, const struct config_keydef *kd,
    const char *value, char *err, size_t errlen)
{
	return config_set_unit(cf, kd, &config_unit_duration, value, err,
	    errlen);
}

static int
config_set_slow(struct config *cf, const struct config_keydef *kd,
    const char *value, char *err, size_t errlen)
{
	if (config_parse_slow_consumer(value, &cf->cf_slow_consumer) != 0)
		return config_expected(err, errlen,
		    "backpressure, drop or disconnect", value);
	return 0;
}

static int
config_set_id_mode(struct config *cf, const struct config_keydef *kd,
    const char *value, char *err, size_t errlen)
{
	if (config_parse_id_mode(value, &cf->cf_id_mode) != 0)
		return config_expected(err, errlen, "random or sequential",
		    value);
	return 0;
}

static int
config_set_log_level(struct config *cf, const struct config_keydef *kd,
    const char *value, char *err, size_t errlen)
{
	if (log_parse_level(value, &cf->cf_log_level) != 0)
		return config_expected(err, errlen,
		    "debug, info, warn or error", value);
	return 0;
}

static void
config_format_string(const struct config *cf, const struct config_keydef *kd,
    char *buf, size_t len)
{
	snprintf(buf, len, "%s", (const char *)config_cfield(cf, kd));
}

/* A token is a secret: say whether one is set, never what it is. */
static void
config_format_token(const struct config *cf, const struct config_keydef *kd,
    char *buf, size_t len)
{
	size_t	n = strlen(config_cfield(cf, kd));

	if (n == 0)
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, "(hidden, %zu bytes)", n);
}

static void
config_format_nats(const struct config *cf, const struct config_keydef *kd,
    char *buf, size_t len)
{
	config_nats_display(config_cfield(cf, kd), buf, len);
}

/* cluster.node: empty when none is set. */
static void
config_format_node(const struct config *cf, const struct config_keydef *kd,
    char *buf, size_t len)
{
	if (cf->cf_cluster_node == CONFIG_NODE_UNSET)
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, "%llu",
		    (unsigned long long)cf->cf_cluster_node);
}

static void
config_format_count(const struct config *cf, const struct config_keydef *kd,
    char *buf, size_t len)
{
	snprintf(buf, len, "%llu",
	    (unsigned long long)*(const uint64_t *)config_cfield(cf, kd));
}

static void
config_format_size(const struct config *cf, const struct config_keydef *kd,
    char *buf, size_t len)
{
	format_size(*(const uint64_t *)config_cfield(cf, kd), buf, len);
}

static void
config_format_duration(const struct config *cf, const struct config_keydef *kd,
    char *buf, size_t len)
{
	format_duration_ms(*(const uint64_t *)config_cfield(cf, kd), buf, len);
}

static void
config_format_slow(const struct config *cf, const struct config_keydef *kd,
    char *buf, size_t len)
{
	snprintf(buf, len, "%s", config_slow_consumer_name(cf->cf_slow_consumer));
}

static void
config_format_id_mode(const struct config *cf, const struct config_keydef *kd,
    char *buf, size_t len)
{
	snprintf(buf, len, "%s", config_id_mode_name(cf->cf_id_mode));
}

static void
config_format_tls_version(const struct config *cf,
    const struct config_keydef *kd, char *buf, size_t len)
{
	snprintf(buf, len, "%s", config_tls_version_name(cf->cf_tls_min_version));
}

static void
config_format_bool(const struct config *cf, const struct config_keydef *kd,
    char *buf, size_t len)
{
	snprintf(buf, len, "%s", *(const int *)config_cfield(cf, kd) ? "yes" :
	    "no");
}

static void
config_format_log_level(const struct config *cf, const struct config_keydef *kd,
    char *buf, size_t len)
{
	snprintf(buf, len, "%s", log_level_name(cf->cf_log_level));
}

static void
config_format_mode(const struct config *cf, const struct config_keydef *kd,
    char *buf, size_t len)
{
	snprintf(buf, len, "%04llo",
	    (unsigned long long)*(const uint64_t *)config_cfield(cf, kd));
}

int
config_set(struct config *cf, enum config_key k, const char *value,
    enum config_origin origin, char *err, size_t errlen)
{
	const struct config_keydef *kd = &config_keys[k];

	if (kd->kd_set(cf, kd, value, err, errlen) != 0)
		return -1;
	cf->cf_origin[k] = (unsigned char)origin;
	return 0;
}

const char *
config_key_section(enum config_key k)
{
	return config_keys[k].kd_section;
}

const char *
config_key_name(enum config_key k)
{
	return config_keys[k].kd_name;
}

int
config_key_live(enum config_key k)
{
	return config_keys[k].kd_live;
}

void
config_format(const struct config *cf, enum config_key k, char *buf,
    size_t len)
{
	config_keys[k].kd_format(cf, &config_keys[k], buf, len);
}

/* names[i] of an enum-indexed array of n, or "unknown" if it has none. */
static const char *
config_name(const char *const *names, size_t n, size_t i)
{
	if (i >= n || names[i] == NULL)
		return "unknown";
	return names[i];
}

/* The index of s in an enum-indexed array of n names, or -1. */
static int
config_name_find(const char *const *names, size_t n, const char *s)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (names[i] != NULL && strcmp(s, names[i]) == 0)
			return (int)i;
	}
	return -1;
}

const char *
config_origin_name(enum config_origin origin)
{
	return config_name(config_origins, CONFIG_NITEMS(config_origins),
	    (size_t)origin);
}

/* The key named name in section, or -1. */
static int
config_key_find(const char *section, const char *name)
{
	int	k;

	for (k = 0; k < CONFIG_NKEYS; k++) {
		if (strcmp(config_keys[k].kd_section, section) == 0 &&
		    strcmp(config_keys[k].kd_name, name) == 0)
			return k;
	}
	return -1;
}

/* Whether any key lives in this section. */
static int
config_section_known(const char *section)
{
	int	k;

	for (k = 0; k < CONFIG_NKEYS; k++) {
		if (strcmp(config_keys[k].kd_section, section) == 0)
			return 1;
	}
	return 0;
}

/* Whether a key in this section is a secret (admin.token). */
static int
config_section_secret(const char *section)
{
	int	k;

	for (k = 0; k < CONFIG_NKEYS; k++) {
		if (config_keys[k].kd_secret &&
		    strcmp(config_keys[k].kd_section, section) == 0)
			return 1;
	}
	return 0;
}

/*
 * The longest line is what the buffer of libinih's header holds less the
 * newline and the NUL: 198 bytes.  A library built with a longer one is
 * held to it too, so the documented limit is the same everywhere and the
 * copy of the line fits.
 */
#define CONFIG_LINE_BUF	INI_MAX_LINE

_Static_assert(sizeof "token = " - 1 + CONFIG_TOKEN_MAX - 1 <=
    CONFIG_LINE_BUF - 2, "the longest token fits on a \"token = \" line");

/*
 * One pass of libinih over a stream.  libinih gives the handler no line
 * number, so it reads through config_ini_reader, which counts lines; the
 * handler runs on the line the reader returned last, and a copy of that
 * line shows it what libinih took for a comment.
 */
struct config_reader {
	struct config	*rd_cf;
	FILE		*rd_fp;
	const char	*rd_name;
	int		 rd_line;
	int		 rd_failed;
	int		 rd_secret;	/* the section holds a secret key */
	int		 rd_seen[CONFIG_NKEYS];	/* line that set the key */
	char		*rd_err;
	size_t		 rd_errlen;
	char		 rd_text[CONFIG_LINE_BUF]; /* the line, unparsed */
};

/* Record the first error as "name:line: ..."; later ones are not reached. */
static void __attribute__((format(printf, 2, 3)))
config_reader_error(struct config_reader *rd, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (rd->rd_failed)
		return;
	rd->rd_failed = 1;
	n = snprintf(rd->rd_err, rd->rd_errlen, "%s:%d: ", rd->rd_name,
	    rd->rd_line);
	if (n < 0 || (size_t)n >= rd->rd_errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(rd->rd_err + n, rd->rd_errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/*
 * Read one line into str, num bytes at most, refusing what libinih would
 * misread: a NUL byte inside the line, a line too long for its buffer (it
 * would split it).  -1 at the end of the file or with the error recorded.
 */
static int
config_reader_line(struct config_reader *rd, char *str, int num)
{
	size_t	len;
	int	ch;

	/*
	 * fgets does not say how much it read: with the buffer filled first,
	 * the last NUL in it is the one fgets wrote.  Any other cut the line
	 * short for libinih and for us alike ("token = \0x" would be no token
	 * at all), so it is refused.
	 */
	memset(str, '\n', (size_t)num);
	if (fgets(str, num, rd->rd_fp) == NULL) {
		if (ferror(rd->rd_fp) && !rd->rd_failed) {
			rd->rd_failed = 1;
			snprintf(rd->rd_err, rd->rd_errlen, "%s: cannot read: "
			    "%s", rd->rd_name, strerror(errno));
		}
		return -1;
	}
	rd->rd_line++;
	len = strlen(str);
	if (memrchr(str, '\0', (size_t)num) != str + len) {
		config_reader_error(rd, "line holds a NUL byte");
		return -1;
	}
	if (len > 0 && str[len - 1] != '\n') {
		/*
		 * A full buffer without its newline: the end of the file, or
		 * the "\n" of a CRLF whose "\r" took the last byte (the line
		 * end is not one of the 198 bytes of text).
		 */
		ch = fgetc(rd->rd_fp);
		if (ch != EOF && !(ch == '\n' && str[len - 1] == '\r')) {
			config_reader_error(rd, "line longer than %d bytes",
			    num - 2);
			return -1;
		}
	}
	return 0;
}

/*
 * Remove a UTF-8 byte order mark from the first line and leading blanks
 * from every line, which also turns off libinih's continuation lines, and
 * keep a copy of what is left for the handler.
 */
static void
config_reader_trim(struct config_reader *rd, char *str)
{
	char	*p;

	if (rd->rd_line == 1 && strncmp(str, "\xef\xbb\xbf", 3) == 0)
		memmove(str, str + 3, strlen(str) - 2);
	for (p = str; *p == ' ' || *p == '\t'; p++)
		;
	memmove(str, p, strlen(p) + 1);
	/* libinih cuts the buffer up in place: keep the line for the handler. */
	memcpy(rd->rd_text, str, strlen(str) + 1);
}

/* A "[section]" line of len bytes: a section some key lives in. */
static int
config_reader_section(struct config_reader *rd, char *str, size_t len)
{
	char	*end;

	if ((end = memchr(str, ']', len)) == NULL) {
		config_reader_error(rd, "expected \"[section]\", "
		    "got \"%.*s\"", (int)len, str);
		return -1;
	}
	*end = '\0';
	if (!config_section_known(str + 1)) {
		config_reader_error(rd, "[%s]: unknown section, "
		    "expected " CONFIG_SECTIONS, str + 1);
		return -1;
	}
	rd->rd_secret = config_section_secret(str + 1);
	*end = ']';
	return 0;
}

/*
 * Check a trimmed line's shape: blank, a comment, a known section or
 * "key = value" (libinih only reports keys).  -1 with the error recorded.
 */
static int
config_reader_check(struct config_reader *rd, char *str)
{
	/* The line without its end, for messages. */
	size_t	len = strcspn(str, "\r\n");

	if (len == 0 || str[0] == ';' || str[0] == '#')
		return 0;
	if (str[0] == '[')
		return config_reader_section(rd, str, len);
	if (strcspn(str, "=:") >= len) {
		/* "token s3cret" lost its "=", not its secret. */
		if (rd->rd_secret)
			config_reader_error(rd, "expected \"key = value\" or "
			    "\"[section]\", got %zu bytes (not shown)", len);
		else
			config_reader_error(rd, "expected \"key = value\" or "
			    "\"[section]\", got \"%.*s\"", (int)len, str);
		return -1;
	}
	return 0;
}

/*
 * fgets for libinih, with the checks it does not make: lines too long for
 * its buffer, NUL bytes, unknown sections and lines that are neither a
 * section nor a key.  Every key is on one line.  Returning NULL ends the
 * parse, so it stops at the first error.
 */
static char *
config_ini_reader(char *str, int num, void *arg)
{
	struct config_reader	*rd = arg;

	if (rd->rd_failed)
		return NULL;
	if (num > (int)sizeof rd->rd_text)
		num = (int)sizeof rd->rd_text;
	if (config_reader_line(rd, str, num) != 0)
		return NULL;
	config_reader_trim(rd, str);
	if (config_reader_check(rd, str) != 0)
		return NULL;
	return str;
}

/*
 * The inline comment that took all of a key's value, or NULL.  libinih
 * passes the value with the comment cut off, so an empty value where the
 * line holds text after its "=" or ":" means the text was all comment: a
 * ";" after a blank, as in "token = ;abc".  The first "=" or ":" is the
 * one libinih split at, since a key holds neither.  *len is the comment's
 * length without trailing blanks.
 */
static const char *
config_comment_value(const struct config_reader *rd, const char *value,
    size_t *len)
{
	const char	*p;
	size_t		 n;

	if (value[0] != '\0')
		return NULL;
	p = rd->rd_text + strcspn(rd->rd_text, "=:");
	if (*p == '\0')
		return NULL;
	for (p++; isspace((unsigned char)*p); p++)
		;
	if (*p == '\0')
		return NULL;
	for (n = strlen(p); n > 0 && isspace((unsigned char)p[n - 1]); n--)
		;
	*len = n;
	return p;
}

/* libinih's handler: one key = value, validated as a flag would be. */
static int
config_ini_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct config_reader	*rd = arg;
	char			 msg[CONFIG_ERRLEN];
	const char		*comment;
	size_t			 len;
	int			 k;

	if (name[0] == '\0') {
		config_reader_error(rd, "expected \"key = value\", got no key");
		return 0;
	}
	if (section[0] == '\0') {
		config_reader_error(rd, "%s: key outside a section, expected "
		    CONFIG_SECTIONS " above it", name);
		return 0;
	}
	if ((k = config_key_find(section, name)) < 0) {
		config_reader_error(rd, "%s: unknown key in [%s]", name,
		    section);
		return 0;
	}
	if (rd->rd_seen[k] != 0) {
		config_reader_error(rd, "%s: set twice in [%s], first on "
		    "line %d", name, section, rd->rd_seen[k]);
		return 0;
	}
	/*
	 * "key = ;x" would otherwise quietly mean an empty value: for
	 * admin.token, no authentication at all.
	 */
	if ((comment = config_comment_value(rd, value, &len)) != NULL) {
		if (config_keys[k].kd_secret)
			config_reader_error(rd, "%s: expected a value before "
			    "the inline comment, got %zu bytes of comment "
			    "(not shown)", name, len);
		else
			config_reader_error(rd, "%s: expected a value before "
			    "the inline comment, got \"%.*s\"", name, (int)len,
			    comment);
		return 0;
	}
	if (config_set(rd->rd_cf, (enum config_key)k, value,
	    CONFIG_ORIGIN_FILE, msg, sizeof msg) != 0) {
		config_reader_error(rd, "%s: %s", name, msg);
		return 0;
	}
	rd->rd_seen[k] = rd->rd_line;
	return 1;
}

int
config_read_fp(struct config *cf, FILE *fp, const char *name, char *err,
    size_t errlen)
{
	struct config_reader	rd;
	int			rc;

	memset(&rd, 0, sizeof rd);
	rd.rd_cf = cf;
	rd.rd_fp = fp;
	rd.rd_name = name;
	rd.rd_err = err;
	rd.rd_errlen = errlen;
	rc = ini_parse_stream(config_ini_reader, &rd, config_ini_handler, &rd);
	if (rd.rd_failed)
		return -1;
	if (rc == -2) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	if (rc != 0) {
		/* Not expected: the reader lets through only what parses. */
		snprintf(err, errlen, "%s:%d: syntax error", name, rc);
		return -1;
	}
	return 0;
}

int
config_read_file(struct config *cf, const char *path, char *err,
    size_t errlen)
{
	FILE	*fp;
	int	 rc;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return -1;
	}
	rc = config_read_fp(cf, fp, path, err, errlen);
	fclose(fp);
	return rc;
}

int
config_tls_wanted(const struct config *cf)
{
	return strcmp(cf->cf_tls_listen, "off") != 0 || cf->cf_admin_tls;
}

int
config_cluster_wanted(const struct config *cf)
{
	return cf->cf_cluster_nats[0] != '\0';
}

int
config_cluster_tls(const struct config *cf)
{
	return strncmp(cf->cf_cluster_nats, "tls://", 6) == 0;
}

int
config_cluster_secret(const struct config *cf, char *buf, size_t size,
    char *err, size_t errlen)
{
	FILE	*fp;
	size_t	 n;

	if (cf->cf_cluster_secret[0] != '\0') {
		n = strlen(cf->cf_cluster_secret);
		if (n >= size) {
			snprintf(err, errlen, "cluster.secret: too long");
			return -1;
		}
		memcpy(buf, cf->cf_cluster_secret, n + 1);
		return (int)n;
	}
	if (cf->cf_cluster_secret_file[0] == '\0')
		return 0;
	if ((fp = fopen(cf->cf_cluster_secret_file, "r")) == NULL) {
		snprintf(err, errlen, "cluster.secret_file: %s: cannot open: "
		    "%s", cf->cf_cluster_secret_file, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, size, fp);
	if (ferror(fp) || n == size) {
		snprintf(err, errlen, "cluster.secret_file: %s: %s",
		    cf->cf_cluster_secret_file, ferror(fp) ? "cannot read" :
		    "longer than the most a secret may be");
		fclose(fp);
		return -1;
	}
	fclose(fp);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return (int)n;
}

void
config_nats_display(const char *urls, char *buf, size_t len)
{
	const char	*p = urls, *end, *at, *host, *q;
	size_t		 off = 0;
	int		 n;

	buf[0] = '\0';
	while (*p != '\0' && off < len) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		host = strstr(p, "://");
		host = host != NULL && host < end ? host + 3 : p;
		/* The last '@', as libnats splits: "u:p@ss@h" is host "h". */
		for (at = NULL, q = host; q < end; q++)
			if (*q == '@')
				at = q;
		if (at != NULL)
			n = snprintf(buf + off, len - off, "%s%.*s(hidden)%.*s",
			    off > 0 ? "," : "", (int)(host - p), p,
			    (int)(end - at), at);
		else
			n = snprintf(buf + off, len - off, "%s%.*s",
			    off > 0 ? "," : "", (int)(end - p), p);
		if (n < 0)
			break;
		off += (size_t)n;
		p = *end == ',' ? end + 1 : end;
	}
}

static int	config_check_file(const struct config *, enum config_key,
		    char *, size_t);

/*
 * The TLS files of the NATS link: only with tls:// URLs (a nats:// URL
 * would take any server's word that it needs no TLS), a client
 * certificate with its key, and every file readable.  Their contents are
 * libnats's to judge when the node starts.
 */
static int
config_check_nats_tls(const struct config *cf, char *err, size_t errlen)
{
	static const enum config_key	 keys[] = { CONFIG_CLUSTER_NATS_CA,
					    CONFIG_CLUSTER_NATS_CERT,
					    CONFIG_CLUSTER_NATS_KEY };
	size_t				 i;

	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (*(const char *)config_cfield(cf,
		    &config_keys[keys[i]]) == '\0')
			continue;
		if (!config_cluster_tls(cf)) {
			snprintf(err, errlen, "cluster.%s: needs tls:// URLs "
			    "in cluster.nats", config_keys[keys[i]].kd_name);
			return -1;
		}
		if (config_check_file(cf, keys[i], err, errlen) != 0)
			return -1;
	}
	if ((cf->cf_cluster_nats_cert[0] == '\0') !=
	    (cf->cf_cluster_nats_key[0] == '\0')) {
		snprintf(err, errlen, "cluster.%s: needed by cluster.%s",
		    cf->cf_cluster_nats_cert[0] == '\0' ? "nats_cert" :
		    "nats_key", cf->cf_cluster_nats_cert[0] == '\0' ?
		    "nats_key" : "nats_cert");
		return -1;
	}
	return 0;
}

/*
 * The rules of [cluster]: a node number, a secret of IDMAP_SECRET_MIN
 * bytes in random mode (from secret or secret_file, not both), peer_timeout
 * at least twice heartbeat; and a build with libnats.
 */
static int
config_check_cluster(const struct config *cf, char *err, size_t errlen)
{
	char	secret[CONFIG_SECRET_MAX];
	int	n;

	if (cf->cf_cluster_secret[0] != '\0' &&
	    cf->cf_cluster_secret_file[0] != '\0') {
		snprintf(err, errlen, "cluster.secret and cluster.secret_file: "
		    "expected one of them, got both");
		return -1;
	}
	if (cf->cf_cluster_peer_timeout_ms < 2 * cf->cf_cluster_heartbeat_ms) {
		snprintf(err, errlen, "cluster.peer_timeout: expected at least "
		    "twice cluster.heartbeat (%llums), got %llums",
		    (unsigned long long)cf->cf_cluster_heartbeat_ms,
		    (unsigned long long)cf->cf_cluster_peer_timeout_ms);
		return -1;
	}
	if (config_check_nats_tls(cf, err, errlen) != 0)
		return -1;
	if (!config_cluster_wanted(cf))
		return 0;
#ifndef HAVE_NATS
	snprintf(err, errlen, "cluster.nats: this msgrouterd was built "
	    "without libnats (configure --with-nats): no cluster");
	return -1;
#endif
	if (cf->cf_cluster_node == CONFIG_NODE_UNSET) {
		snprintf(err, errlen, "cluster.node: needed by cluster.nats "
		    "(0-%d, unique in the cluster)", CONFIG_NODE_MAX);
		return -1;
	}
	if ((n = config_cluster_secret(cf, secret, sizeof secret, err,
	    errlen)) < 0)
		return -1;
	explicit_bzero(secret, sizeof secret);
	if (cf->cf_id_mode == ID_MODE_RANDOM && n < CONFIG_SECRET_MIN) {
		snprintf(err, errlen, "cluster.secret: expected at least %d "
		    "bytes with router.id_mode = random, got %d (not shown)",
		    CONFIG_SECRET_MIN, n);
		return -1;
	}
	return 0;
}

/* Whether the file a key names can be opened for reading; -1 with why. */
static int
config_check_file(const struct config *cf, enum config_key k, char *err,
    size_t errlen)
{
	const char	*path = config_cfield(cf, &config_keys[k]);
	FILE		*fp;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s.%s: %s: cannot open: %s",
		    config_keys[k].kd_section, config_keys[k].kd_name, path,
		    strerror(errno));
		return -1;
	}
	fclose(fp);
	return 0;
}

/*
 * The rules that tie keys together, checked once every source is read:
 * something listens for clients, and TLS has a readable certificate and
 * key (and CA, if one is named).  Their contents are tls.c's to judge.
 */
static int
config_check(const struct config *cf, char *err, size_t errlen)
{
	if (strcmp(cf->cf_listen, "off") == 0 &&
	    strcmp(cf->cf_tls_listen, "off") == 0) {
		snprintf(err, errlen, "router.listen: off needs tls.listen: "
		    "no client could connect");
		return -1;
	}
	if (config_check_cluster(cf, err, errlen) != 0)
		return -1;
	if (!config_tls_wanted(cf))
		return 0;
	if (cf->cf_tls_cert[0] == '\0' || cf->cf_tls_key[0] == '\0') {
		snprintf(err, errlen, "tls.%s: needed by %s",
		    cf->cf_tls_cert[0] == '\0' ? "cert" : "key",
		    strcmp(cf->cf_tls_listen, "off") != 0 ? "tls.listen" :
		    "admin.tls = yes");
		return -1;
	}
	if (config_check_file(cf, CONFIG_TLS_CERT, err, errlen) != 0 ||
	    config_check_file(cf, CONFIG_TLS_KEY, err, errlen) != 0)
		return -1;
	if (cf->cf_tls_ca[0] != '\0' &&
	    config_check_file(cf, CONFIG_TLS_CA, err, errlen) != 0)
		return -1;
	return 0;
}

int
config_load(struct config *cf, const char *path,
    const struct config_flag *flags, size_t nflags, char *err, size_t errlen)
{
	char	msg[CONFIG_ERRLEN];
	size_t	i;

	config_defaults(cf);
	if (path != NULL && config_read_file(cf, path, err, errlen) != 0)
		return -1;
	for (i = 0; i < nflags; i++) {
		if (config_set(cf, flags[i].cfl_key, flags[i].cfl_value,
		    CONFIG_ORIGIN_FLAG, msg, sizeof msg) != 0) {
			snprintf(err, errlen, "command line: %s.%s: %s",
			    config_key_section(flags[i].cfl_key),
			    config_key_name(flags[i].cfl_key), msg);
			return -1;
		}
	}
	return config_check(cf, err, errlen);
}

void
config_print(const struct config *cf, FILE *f)
{
	char	value[CONFIG_TOKEN_MAX + 32];
	int	k, first, seen;

	/*
	 * Section by section, in the order the sections first appear in the
	 * table (the example file's order), each section's keys in table
	 * order: keys added at the end of the table still print with their
	 * section.
	 */
	for (first = 0; first < CONFIG_NKEYS; first++) {
		for (k = 0, seen = 0; k < first && !seen; k++)
			seen = strcmp(config_keys[k].kd_section,
			    config_keys[first].kd_section) == 0;
		if (seen)
			continue;
		for (k = first; k < CONFIG_NKEYS; k++) {
			if (strcmp(config_keys[k].kd_section,
			    config_keys[first].kd_section) != 0)
				continue;
			config_format(cf, (enum config_key)k, value,
			    sizeof value);
			fprintf(f, "%s.%s =%s%s  # %s\n",
			    config_keys[k].kd_section, config_keys[k].kd_name,
			    value[0] != '\0' ? " " : "", value,
			    config_origin_name(
			    (enum config_origin)cf->cf_origin[k]));
		}
	}
}

/* Whether a key holds the same value in both configurations. */
static int
config_key_equal(const struct config *a, const struct config *b,
    const struct config_keydef *kd)
{
	if (kd->kd_string)
		return strcmp(config_cfield(a, kd), config_cfield(b, kd)) == 0;
	return memcmp(config_cfield(a, kd), config_cfield(b, kd),
	    kd->kd_size) == 0;
}

int
config_reload(const struct config *running, struct config *next)
{
	const struct config_keydef	*kd;
	char				 was[CONFIG_TOKEN_MAX + 32];
	char				 now[CONFIG_TOKEN_MAX + 32];
	int				 k, changed = 0;

	for (k = 0; k < CONFIG_NKEYS; k++) {
		kd = &config_keys[k];
		if (config_key_equal(running, next, kd))
			continue;
		changed++;
		config_format(running, (enum config_key)k, was, sizeof was);
		config_format(next, (enum config_key)k, now, sizeof now);
		if (kd->kd_live) {
			log_info("reload: %s.%s: %s -> %s", kd->kd_section,
			    kd->kd_name, was[0] != '\0' ? was : "\"\"",
			    now[0] != '\0' ? now : "\"\"");
			continue;
		}
		log_warnx("reload: %s.%s: %s needs a restart; keeping %s",
		    kd->kd_section, kd->kd_name, now, was);
		memcpy(config_field(next, kd), config_cfield(running, kd),
		    kd->kd_size);
		next->cf_origin[k] = running->cf_origin[k];
	}
	return changed;
}

int
config_parse_slow_consumer(const char *s, enum slow_consumer *sc)
{
	int	i;

	if ((i = config_name_find(slow_consumer_names,
	    CONFIG_NITEMS(slow_consumer_names), s)) < 0)
		return -1;
	*sc = (enum slow_consumer)i;
	return 0;
}

const char *
config_slow_consumer_name(enum slow_consumer sc)
{
	return config_name(slow_consumer_names,
	    CONFIG_NITEMS(slow_consumer_names), (size_t)sc);
}

int
config_parse_id_mode(const char *s, enum id_mode *m)
{
	int	i;

	if ((i = config_name_find(id_mode_names, CONFIG_NITEMS(id_mode_names),
	    s)) < 0)
		return -1;
	*m = (enum id_mode)i;
	return 0;
}

const char *
config_tls_version_name(enum tls_version v)
{
	return config_name(tls_version_names, CONFIG_NITEMS(tls_version_names),
	    (size_t)v);
}

const char *
config_id_mode_name(enum id_mode m)
{
	return config_name(id_mode_names, CONFIG_NITEMS(id_mode_names),
	    (size_t)m);
}
