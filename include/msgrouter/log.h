/*
 * log: one line per event on stderr, "time level message".  As in relayd,
 * log_warn and log_error append ": " and strerror(errno) to the message;
 * log_warnx and log_errorx do not.
 */
#ifndef MSGROUTER_LOG_H
#define MSGROUTER_LOG_H

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

void		 log_init(enum log_level);
void		 log_set_level(enum log_level);
int		 log_parse_level(const char *, enum log_level *);
const char	*log_level_name(enum log_level);

void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
