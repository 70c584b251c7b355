/*
 * parse: the value syntaxes shared by the command line and the config file.
 */
#ifndef MSGROUTER_PARSE_H
#define MSGROUTER_PARSE_H

#include <stdint.h>

/* "8M", "1024", "64K", "1G": powers of 1024.  0 on success, -1 if malformed. */
int	parse_size(const char *, uint64_t *);
/* "5s", "250ms", "2m" or "2min", "2" (seconds): result in milliseconds. */
int	parse_duration_ms(const char *, uint64_t *);
/* A plain decimal unsigned integer, no sign, no suffix. */
int	parse_uint(const char *, uint64_t *);
/* Format a byte count the way parse_size reads it back ("8M", "1536K", "100"). */
void	format_size(uint64_t, char *, unsigned long);
/* Format milliseconds the way parse_duration_ms reads them ("5s", "250ms"). */
void	format_duration_ms(uint64_t, char *, unsigned long);

#endif
