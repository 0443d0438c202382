/*
 * http: the HTTP transport (libcurl), and the one retry policy.
 *
 * One struct http_client holds one libcurl handle that is reused across
 * calls, so connections are kept alive.  TLS verification is always on;
 * there is no way to turn it off.  A CA bundle may be named instead of the
 * system's.
 *
 * Retries: http_send() calls prepare() before every attempt, so the request
 * is signed afresh each time (with the clock corrected once the server has
 * said it is skewed), and classify() after every answer, to learn whether
 * the answer is final, worth retrying (throttled, 5xx) or a clock-skew
 * error.  Broken connections are retried too.  Waits between attempts use
 * capped exponential backoff with full jitter and honour Retry-After.
 */
#ifndef GPUCTL_HTTP_H
#define GPUCTL_HTTP_H

#include <stddef.h>

#include "gpuctl/err.h"
#include "gpuctl/util.h"

struct http_client;

struct http_options {
	const char *ca_bundle;	 /* NULL: the system's trust store */
	long connect_timeout_ms; /* 0: 10 s */
	long timeout_ms;	 /* per attempt; 0: 60 s */
	int max_attempts;	 /* 0: 8 */
	long base_delay_ms;	 /* 0: 100 ms */
	long max_delay_ms;	 /* 0: 20 s */
	long budget_ms;		 /* all attempts and waits; 0: 5 min */
	size_t max_response;	 /* bytes; 0: 256 MiB */
	const char *user_agent;	 /* NULL: gpuctl/VERSION */
};

struct http_header {
	const char *name;
	const char *value;
};

/* A request; the strings are borrowed. */
struct http_request {
	const char *method;
	const char *url;
	const struct http_header *headers;
	size_t nheaders;
	const void *body;
	size_t body_len;
};

struct http_response {
	long status;
	struct buf body;
	long long date;	  /* the Date header, seconds since the epoch; 0 */
	long retry_after; /* seconds, -1 when absent */
	/*
	 * Set by the caller before http_send() when the body is a secret (a
	 * private key): the buffer is then wiped whenever it moves or is
	 * released.  Kept across http_response_release().
	 */
	int secret;
};

enum http_verdict {
	HTTP_DONE = 0,	 /* final: success or an error not worth retrying */
	HTTP_RETRY,	 /* throttled or a server error: back off, retry */
	HTTP_CLOCK_SKEW, /* the server rejects our clock: correct, retry */
};

struct http_exchange {
	/*
	 * Fills *req for this attempt.  now is the corrected time in seconds
	 * since the epoch.  Returns 0, or -1 with err filled to give up.
	 */
	int (*prepare)(void *ctx, long long now, struct http_request *req,
		       struct gpuctl_err *err);
	/* Judges an answer; NULL means "retry 5xx and 429 only". */
	enum http_verdict (*classify)(void *ctx,
				      const struct http_response *resp);
	void *ctx;
};

/* Returns NULL with err filled when libcurl cannot be set up. */
struct http_client *http_client_new(const struct http_options *opts,
				    struct gpuctl_err *err);
void http_client_free(struct http_client *c);

/*
 * Runs the exchange with retries.  Returns 0 when an answer came back (of
 * any status: resp->status tells), or -1 with err filled when none did
 * (connection failures past the retries, a response too large, the time
 * budget spent).  resp must be initialised with http_response_init().
 */
int http_send(struct http_client *c, const struct http_exchange *x,
	      struct http_response *resp, struct gpuctl_err *err);

void http_response_init(struct http_response *r);
void http_response_release(struct http_response *r);

/* Seconds to add to the local clock, as learned from a skew error. */
long long http_clock_offset(const struct http_client *c);

/*
 * The backoff before retry number attempt (1 for the first retry), in
 * milliseconds: a uniform draw (r in [0, 1)) under
 * min(max_delay, base * 2^(attempt-1)), and at least Retry-After.
 * Pure, for tests.
 */
long http_backoff_ms(int attempt, long base_ms, long max_ms, long retry_after_s,
		     double r);

/*
 * Splits an http or https URL into what a request signer needs: the Host
 * header value as libcurl sends it (host, and :port when not the scheme's
 * default) and the path ("/" when empty).  Both belong to the caller.
 * Returns -1 with err filled (GPUCTL_ERR_CONFIG) for a URL that is not
 * http(s), has no host, or carries a query, credentials or fragment.
 */
int http_url_parts(const char *url, char **host_header, char **path,
		   struct gpuctl_err *err);

/* 1 for HTTP statuses that are retried by default (429, 500, 502-504). */
int http_status_retryable(long status);

#endif
