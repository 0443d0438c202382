/*
 * log: messages on stderr, with every secret redacted at one point.
 *
 * Everything that may carry a secret (HTTP traffic, the canonical request)
 * goes through log_redact() before it is written: Authorization signatures,
 * X-Amz-Signature, X-Amz-Security-Token and X-Amz-Credential values, and
 * every string registered with log_add_secret(), become "[REDACTED]".
 */
#ifndef GPUCTL_LOG_H
#define GPUCTL_LOG_H

#include <stddef.h>

enum log_level {
	LOG_QUIET = 0,
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,  /* --debug: requests and responses */
	LOG_DEBUG2, /* canonical requests and strings to sign */
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* 1 when messages at this level are written. */
int log_enabled(enum log_level level);

/*
 * Registers a secret value (a secret key, a session token) to redact
 * wherever it appears.  The logger keeps its own copy and wipes it in
 * log_forget_secrets().  Strings shorter than 4 bytes are ignored.
 */
void log_add_secret(const char *secret);
void log_forget_secrets(void);

/*
 * Returns a redacted copy of len bytes of text (caller frees).  Also
 * replaces control characters other than newline and tab with '?', so that
 * logged traffic cannot drive the terminal.
 */
char *log_redact(const char *text, size_t len);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Writes "prefix" then the redacted text, line by line. */
void log_text(enum log_level level, const char *prefix, const char *text,
	      size_t len);

#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
