/*
 * Logging on stderr with one redaction point.  Everything that may hold a
 * secret passes through log_redact() before it is written.
 */
#include "gpuctl/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gpuctl/util.h"

#define REDACTED "[REDACTED]"

static enum log_level current_level = LOG_WARN;
/* every secret registered, however many temporary keys a run goes through */
static char **secrets;
static size_t nsecrets, asecrets;

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

int log_enabled(enum log_level level)
{
	return level <= current_level;
}

static void add_one_secret(const char *s)
{
	size_t i;

	if (strlen(s) < 4)
		return;
	for (i = 0; i < nsecrets; i++)
		if (!strcmp(secrets[i], s))
			return;
	if (nsecrets == asecrets) {
		asecrets = asecrets ? 2 * asecrets : 16;
		secrets = xrealloc(secrets, asecrets * sizeof(*secrets));
	}
	secrets[nsecrets++] = xstrdup(s);
}

void log_add_secret(const char *secret)
{
	static const char unreserved[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "abcdefghijklmnopqrstuvwxyz"
					 "0123456789-_.~";
	struct buf enc = BUF_INIT;
	const unsigned char *p;

	if (!secret)
		return;
	add_one_secret(secret);
	/* The same secret as it appears in a form body or a query. */
	for (p = (const unsigned char *)secret; *p; p++) {
		if (strchr(unreserved, *p))
			buf_addch(&enc, (char)*p);
		else
			buf_addf(&enc, "%%%02X", *p);
	}
	add_one_secret(enc.data);
	buf_release_secret(&enc);
}

void log_forget_secrets(void)
{
	size_t i;

	for (i = 0; i < nsecrets; i++)
		secure_free_str(secrets[i]);
	free(secrets);
	secrets = NULL;
	nsecrets = asecrets = 0;
}

/*
 * Names after which a value runs to the end of the token: a query or form
 * parameter, a header, or a field of the Authorization value.
 */
static const char *const redact_after[] = {
    "Signature=",	       /* Authorization and X-Amz-Signature */
    "X-Amz-Security-Token=",   /* presigned query */
    "X-Amz-Security-Token: ",  /* header */
    "X-Amz-Security-Token:",   /* header, no space */
    "aws_secret_access_key=",  /* config files */
    "aws_session_token=",      /* config files */
    "\"SecretAccessKey\": \"", /* credential_process JSON */
    "\"SessionToken\": \"",
    "\"SecretAccessKey\":\"",
    "\"SessionToken\":\"",
};

static size_t value_end(const char *text, size_t len, size_t i)
{
	while (i < len && text[i] != '&' && text[i] != ',' && text[i] != '\n' &&
	       text[i] != '\r' && text[i] != ' ' && text[i] != '"' &&
	       text[i] != '\t')
		i++;
	return i;
}

/* Spans redacted whole: private keys, as PEM or in EC2's XML. */
static const struct {
	const char *open, *close;
} redact_spans[] = {
    {"<keyMaterial>", "</keyMaterial>"},
    {"-----BEGIN ", "PRIVATE KEY-----"}, /* the close is found below */
};

/* The end of a span opened at text + i, or len when it runs to the end. */
static size_t span_end(const char *text, size_t len, size_t i, size_t k)
{
	const char *close = redact_spans[k].close;
	size_t n = strlen(close), j;

	if (k == 1) {
		/* "-----BEGIN ... PRIVATE KEY-----": only private keys */
		const char *nl = memchr(text + i, '\n', len - i);
		size_t line_end = nl ? (size_t)(nl - text) : len;
		int is_private = 0;

		for (j = i; j + n <= line_end; j++)
			if (!memcmp(text + j, close, n))
				is_private = 1;
		if (!is_private)
			return i;
		for (j = line_end; j + 9 <= len; j++)
			if (!memcmp(text + j, "-----END ", 9)) {
				const char *e = memchr(text + j, '\n', len - j);

				return e ? (size_t)(e - text) : len;
			}
		return len;
	}
	for (j = i + strlen(redact_spans[k].open); j + n <= len; j++)
		if (!memcmp(text + j, close, n))
			return j + n;
	return len;
}

char *log_redact(const char *text, size_t len)
{
	struct buf out = BUF_INIT;
	size_t i = 0, k;

	while (i < len) {
		int matched = 0;

		for (k = 0; k < sizeof(redact_spans) / sizeof(*redact_spans);
		     k++) {
			size_t n = strlen(redact_spans[k].open), end;

			if (n > len - i ||
			    memcmp(text + i, redact_spans[k].open, n))
				continue;
			end = span_end(text, len, i, k);
			if (end == i)
				continue;
			buf_adds(&out, "[REDACTED PRIVATE KEY]");
			i = end;
			matched = 1;
			break;
		}
		if (matched)
			continue;

		for (k = 0; k < nsecrets && !matched; k++) {
			size_t n = strlen(secrets[k]);

			if (n && n <= len - i &&
			    !memcmp(text + i, secrets[k], n)) {
				buf_adds(&out, REDACTED);
				i += n;
				matched = 1;
			}
		}
		for (k = 0; k < sizeof(redact_after) / sizeof(*redact_after) &&
			    !matched;
		     k++) {
			size_t n = strlen(redact_after[k]);

			if (n <= len - i &&
			    !strncasecmp(text + i, redact_after[k], n)) {
				buf_add(&out, text + i, n);
				i = value_end(text, len, i + n);
				buf_adds(&out, REDACTED);
				matched = 1;
			}
		}
		if (matched)
			continue;
		if (text[i] == '\r') {
			/* dropped: CRLF is shown as a plain newline */
		} else if ((unsigned char)text[i] < 0x20 && text[i] != '\n' &&
			   text[i] != '\t') {
			buf_addch(&out, '?');
		} else if (text[i] == 0x7f) {
			buf_addch(&out, '?');
		} else {
			buf_addch(&out, text[i]);
		}
		i++;
	}
	return buf_detach(&out, NULL);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	char *safe;
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	safe = log_redact(b.data, b.len);
	fprintf(stderr, "%s%s\n",
		level == LOG_WARN    ? "gpuctl: warning: "
		: level >= LOG_DEBUG ? "debug: "
				     : "gpuctl: ",
		safe);
	free(safe);
	buf_release_secret(&b);
}

void log_text(enum log_level level, const char *prefix, const char *text,
	      size_t len)
{
	char *safe, *line, *nl;

	if (!log_enabled(level))
		return;
	safe = log_redact(text, len);
	for (line = safe; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl) {
			fprintf(stderr, "%s%s\n", prefix, line);
			break;
		}
		fprintf(stderr, "%s%.*s\n", prefix, (int)(nl - line), line);
	}
	free(safe);
}
