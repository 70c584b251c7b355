/*
 * config: the daemon's settings, their defaults and the command line.
 */
#ifndef MSGROUTER_CONFIG_H
#define MSGROUTER_CONFIG_H

#include <stdint.h>

#include "msgrouter/log.h"
#include "msgrouter/registry.h"

enum slow_consumer {
	SLOW_CONSUMER_BACKPRESSURE = 0,
	SLOW_CONSUMER_DROP,
	SLOW_CONSUMER_DISCONNECT,
};

#define CONFIG_LISTEN_MAX	128

struct config {
	char			cf_listen[CONFIG_LISTEN_MAX];
	uint64_t		cf_max_clients;
	uint64_t		cf_max_message_size;	/* payload + 0x00 */
	uint64_t		cf_queue_limit;		/* per destination */
	enum slow_consumer	cf_slow_consumer;
	enum id_mode		cf_id_mode;
	uint64_t		cf_shutdown_timeout_ms;
	enum log_level		cf_log_level;
};

#define CONFIG_DEFAULT_LISTEN		"127.0.0.1:8080"
#define CONFIG_DEFAULT_MAX_CLIENTS	10000
#define CONFIG_DEFAULT_MAX_MESSAGE	(1024 * 1024)
#define CONFIG_DEFAULT_QUEUE_LIMIT	(8 * 1024 * 1024)
#define CONFIG_DEFAULT_SHUTDOWN_MS	5000

/* Bounds enforced on every source of settings. */
#define CONFIG_MAX_CLIENTS_MAX		1000000
#define CONFIG_MAX_MESSAGE_MIN		1
#define CONFIG_MAX_MESSAGE_MAX		(1024ULL * 1024 * 1024)
#define CONFIG_QUEUE_LIMIT_MIN		1024
#define CONFIG_QUEUE_LIMIT_MAX		(64ULL * 1024 * 1024 * 1024)

void		 config_defaults(struct config *);
int		 config_parse_slow_consumer(const char *, enum slow_consumer *);
const char	*config_slow_consumer_name(enum slow_consumer);
int		 config_parse_id_mode(const char *, enum id_mode *);
const char	*config_id_mode_name(enum id_mode);

#endif
