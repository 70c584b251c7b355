/*
 * config: defaults and the names of enumerated settings.
 */
#include "config.h"

#include <string.h>

#include "msgrouter/config.h"

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
	cf->cf_log_level = LOG_LEVEL_INFO;
	strcpy(cf->cf_admin_listen, CONFIG_DEFAULT_ADMIN_LISTEN);
	/* cf_admin_token stays "": no token, no authentication. */
}

static const char *slow_consumer_names[] = {
	"backpressure", "drop", "disconnect"
};

int
config_parse_slow_consumer(const char *s, enum slow_consumer *sc)
{
	size_t	i;

	for (i = 0; i < sizeof slow_consumer_names /
	    sizeof slow_consumer_names[0]; i++) {
		if (strcmp(s, slow_consumer_names[i]) == 0) {
			*sc = (enum slow_consumer)i;
			return 0;
		}
	}
	return -1;
}

const char *
config_slow_consumer_name(enum slow_consumer sc)
{
	return slow_consumer_names[sc];
}

static const char *id_mode_names[] = { "random", "sequential" };

int
config_parse_id_mode(const char *s, enum id_mode *m)
{
	if (strcmp(s, id_mode_names[0]) == 0)
		*m = ID_MODE_RANDOM;
	else if (strcmp(s, id_mode_names[1]) == 0)
		*m = ID_MODE_SEQUENTIAL;
	else
		return -1;
	return 0;
}

const char *
config_id_mode_name(enum id_mode m)
{
	return id_mode_names[m];
}
