/*
 * fuzz_config: the configuration file parser (config_read_fp, on libinih)
 * with arbitrary file contents.  A file it accepts must hold values within
 * the documented bounds, and must read back to the same values when
 * written out key by key with config_format; config_reload against the
 * defaults must not trip over it.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgrouter/config.h"
#include "msgrouter/log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init(LOG_LEVEL_ERROR);
	return 0;
}

/* Write every key as the file would hold it and read that back. */
static void
round_trip(const struct config *cf)
{
	struct config	 again;
	char		*text = NULL, v[512], w[512], err[256];
	size_t		 len = 0;
	FILE		*f;
	int		 k;

	if ((f = open_memstream(&text, &len)) == NULL)
		abort();
	for (k = 0; k < CONFIG_NKEYS; k++) {
		/* config_format hides the token: it is written below. */
		if (strcmp(config_key_name(k), "token") == 0)
			continue;
		/*
		 * "key=value", the shortest line that holds the value: the
		 * file's line had at least that many bytes, so the line
		 * limit cannot refuse what the file was allowed to hold
		 * (router.listen keeps a list's spacing as written).
		 */
		config_format(cf, (enum config_key)k, v, sizeof v);
		fprintf(f, "[%s]\n%s=%s\n", config_key_section(k),
		    config_key_name(k), v);
	}
	/*
	 * The token as it is.  No space after "=": inih takes " ;" for a
	 * comment (a token "=;x" is ";x"; "= ;x" is refused).  The longest
	 * token fits on the line with room to spare.
	 */
	fprintf(f, "[admin]\ntoken=%s\n", cf->cf_admin_token);
	fclose(f);
	if ((f = fmemopen(text, len, "r")) == NULL)
		abort();
	config_defaults(&again);
	if (config_read_fp(&again, f, "round-trip", err, sizeof err) != 0) {
		fprintf(stderr, "round trip refused: %s\n%s", err, text);
		abort();
	}
	fclose(f);
	for (k = 0; k < CONFIG_NKEYS; k++) {
		config_format(cf, (enum config_key)k, v, sizeof v);
		config_format(&again, (enum config_key)k, w, sizeof w);
		if (strcmp(v, w) != 0) {
			fprintf(stderr, "%s: %s read back as %s\n",
			    config_key_name(k), v, w);
			abort();
		}
	}
	if (strcmp(cf->cf_admin_token, again.cf_admin_token) != 0)
		abort();
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	 cf, running;
	char		 err[256];
	FILE		*f;
	int		 rv;

	if (size == 0)
		return 0;
	if ((f = fmemopen((void *)(uintptr_t)data, size, "r")) == NULL)
		return 0;
	config_defaults(&cf);
	err[0] = '\0';
	rv = config_read_fp(&cf, f, "fuzz.conf", err, sizeof err);
	fclose(f);
	if (rv != 0) {
		if (err[0] == '\0' || memchr(err, '\0', sizeof err) == NULL)
			abort();
		return 0;
	}
	if (cf.cf_max_clients < 1 || cf.cf_max_clients > CONFIG_MAX_CLIENTS_MAX ||
	    cf.cf_max_message_size < CONFIG_MAX_MESSAGE_MIN ||
	    cf.cf_max_message_size > CONFIG_MAX_MESSAGE_MAX ||
	    cf.cf_queue_limit < CONFIG_QUEUE_LIMIT_MIN ||
	    cf.cf_queue_limit > CONFIG_QUEUE_LIMIT_MAX ||
	    memchr(cf.cf_listen, '\0', sizeof cf.cf_listen) == NULL ||
	    memchr(cf.cf_admin_token, '\0', sizeof cf.cf_admin_token) == NULL)
		abort();
	round_trip(&cf);
	config_defaults(&running);
	(void)config_reload(&running, &cf);
	return 0;
}
