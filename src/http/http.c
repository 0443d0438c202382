/*
 * The HTTP transport: one libcurl easy handle, reused, with the retry
 * policy in http_send() and nowhere else.
 */
#include "gpuctl/http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "gpuctl/digest.h"
#include "gpuctl/log.h"

#ifndef GPUCTL_VERSION
#define GPUCTL_VERSION "0"
#endif

struct http_client {
	CURL *curl;
	struct http_options opts;
	char *ca_bundle;
	char *user_agent;
	long long clock_offset;
	/* per transfer */
	struct http_response *resp;
	int too_large;
};

static long or_default(long v, long def)
{
	return v > 0 ? v : def;
}

void http_response_init(struct http_response *r)
{
	r->status = 0;
	buf_init(&r->body);
	r->date = 0;
	r->retry_after = -1;
	r->secret = 0;
}

void http_response_release(struct http_response *r)
{
	int secret = r->secret;

	if (secret)
		buf_release_secret(&r->body);
	else
		buf_release(&r->body);
	http_response_init(r);
	r->secret = secret;
}

long long http_clock_offset(const struct http_client *c)
{
	return c->clock_offset;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	struct http_client *c = ud;
	size_t len = size * n;

	if (c->resp->body.len + len > c->opts.max_response) {
		c->too_large = 1;
		return 0; /* makes libcurl fail with CURLE_WRITE_ERROR */
	}
	if (!c->resp->body.alloc) {
		/*
		 * One block of the announced size, not a chain of copies
		 * that leaves the heap fragmented (a page of instances is
		 * megabytes).  A compressed answer grows past it as usual.
		 */
		curl_off_t cl = -1;

		if (curl_easy_getinfo(c->curl,
				      CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
				      &cl) == CURLE_OK &&
		    cl > 0 && (curl_off_t)len <= cl &&
		    (unsigned long long)cl <= c->opts.max_response)
			buf_grow(&c->resp->body, (size_t)cl);
	}
	if (c->resp->secret &&
	    c->resp->body.len + len + 1 > c->resp->body.alloc) {
		/* move a secret by hand, wiping the old copy */
		struct buf moved = BUF_INIT;

		buf_grow(&moved, 2 * (c->resp->body.len + len) + 4096);
		buf_add(&moved, c->resp->body.data, c->resp->body.len);
		buf_release_secret(&c->resp->body);
		c->resp->body = moved;
	}
	buf_add(&c->resp->body, data, len);
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	struct http_client *c = ud;
	size_t len = size * n;
	char *line = xstrndup(data, len);
	char *colon = strchr(line, ':');

	if (colon) {
		char *v = colon + 1;

		*colon = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		v[strcspn(v, "\r\n")] = '\0';
		if (!strcasecmp(line, "Date")) {
			time_t t = curl_getdate(v, NULL);

			c->resp->date = t > 0 ? (long long)t : 0;
		} else if (!strcasecmp(line, "Retry-After")) {
			long s;
			time_t t;

			if (!parse_long(v, 0, 3600, &s)) {
				c->resp->retry_after = s;
			} else if ((t = curl_getdate(v, NULL)) > 0) {
				long long d =
				    (long long)t - (long long)time(NULL);

				c->resp->retry_after =
				    d < 0 ? 0 : (d > 3600 ? 3600 : (long)d);
			}
		}
	} else if (starts_with(line, "HTTP/")) {
		/* a new response (after 100 Continue): forget the last */
		c->resp->date = 0;
		c->resp->retry_after = -1;
	}
	free(line);
	return len;
}

/*
 * --debug: curl's trace goes through the logger's redaction.  A body the
 * caller marked secret (keys, credentials) is not shown at all: its
 * secrets are not known before it is read.
 */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size,
		    void *ud)
{
	struct http_client *c = ud;
	const char *prefix;

	(void)h;
	if (type == CURLINFO_DATA_IN && c->resp && c->resp->secret) {
		log_debug("<< [%zu bytes not shown: they hold secrets]", size);
		return 0;
	}
	switch (type) {
	case CURLINFO_TEXT:
		prefix = "* ";
		break;
	case CURLINFO_HEADER_OUT:
		prefix = "> ";
		break;
	case CURLINFO_DATA_OUT:
		prefix = ">> ";
		break;
	case CURLINFO_HEADER_IN:
		prefix = "< ";
		break;
	case CURLINFO_DATA_IN:
		prefix = "<< ";
		break;
	default:
		return 0;
	}
	log_text(LOG_DEBUG, prefix, data, size);
	return 0;
}

struct http_client *http_client_new(const struct http_options *opts,
				    struct gpuctl_err *err)
{
	struct http_client *c;
	static int global_done;

	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
			err_set(err, GPUCTL_ERR_OTHER,
				"cannot initialise libcurl");
			return NULL;
		}
		global_done = 1;
	}
	c = xcalloc(1, sizeof(*c));
	if (opts)
		c->opts = *opts;
	c->opts.connect_timeout_ms =
	    or_default(c->opts.connect_timeout_ms, 10000);
	c->opts.timeout_ms = or_default(c->opts.timeout_ms, 60000);
	c->opts.max_attempts = (int)or_default(c->opts.max_attempts, 8);
	c->opts.base_delay_ms = or_default(c->opts.base_delay_ms, 100);
	c->opts.max_delay_ms = or_default(c->opts.max_delay_ms, 20000);
	c->opts.budget_ms = or_default(c->opts.budget_ms, 300000);
	if (!c->opts.max_response)
		c->opts.max_response = (size_t)256 << 20;
	c->ca_bundle =
	    opts && opts->ca_bundle ? xstrdup(opts->ca_bundle) : NULL;
	c->user_agent =
	    xstrdup(opts && opts->user_agent ? opts->user_agent
					     : "gpuctl/" GPUCTL_VERSION);
	c->curl = curl_easy_init();
	if (!c->curl) {
		http_client_free(c);
		err_set(err, GPUCTL_ERR_OTHER,
			"cannot create a libcurl handle");
		return NULL;
	}
	return c;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->ca_bundle);
	free(c->user_agent);
	free(c);
}

/* Sets the options that hold for every transfer of this client. */
static int setup_handle(struct http_client *c, const struct http_request *req,
			struct curl_slist *headers)
{
	CURL *h = c->curl;
	CURLcode rc = CURLE_OK;

	curl_easy_reset(h);
#define SET(opt, val)                                       \
	do {                                                \
		if (rc == CURLE_OK)                         \
			rc = curl_easy_setopt(h, opt, val); \
	} while (0)
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	/* TLS verification is always on; there is no switch. */
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_bundle)
		SET(CURLOPT_CAINFO, c->ca_bundle);
	SET(CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, c->opts.timeout_ms);
	SET(CURLOPT_USERAGENT, c->user_agent);
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, c);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, c);
	SET(CURLOPT_TCP_NODELAY, 1L);
	SET(CURLOPT_ACCEPT_ENCODING, "");
	if (log_enabled(LOG_DEBUG)) {
		SET(CURLOPT_DEBUGFUNCTION, on_debug);
		SET(CURLOPT_DEBUGDATA, c);
		SET(CURLOPT_VERBOSE, 1L);
	}
	if (!strcmp(req->method, "POST")) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDS, req->body ? req->body : "");
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	} else if (strcmp(req->method, "GET")) {
		SET(CURLOPT_CUSTOMREQUEST, req->method);
	}
#undef SET
	return rc == CURLE_OK ? 0 : -1;
}

/* One attempt.  Returns the libcurl code; resp is filled on CURLE_OK. */
static CURLcode perform_once(struct http_client *c,
			     const struct http_request *req,
			     struct http_response *resp)
{
	struct curl_slist *headers = NULL, *tmp;
	CURLcode rc;
	size_t i;

	/* Let libcurl send no headers of its own that we did not sign. */
	headers = curl_slist_append(headers, "Expect:");
	for (i = 0; headers && i < req->nheaders; i++) {
		char *line = xasprintf("%s: %s", req->headers[i].name,
				       req->headers[i].value);

		tmp = curl_slist_append(headers, line);
		secure_free_str(line);
		if (!tmp) {
			curl_slist_free_all(headers);
			return CURLE_OUT_OF_MEMORY;
		}
		headers = tmp;
	}
	if (!headers)
		return CURLE_OUT_OF_MEMORY;
	http_response_release(resp);
	c->resp = resp;
	c->too_large = 0;
	if (setup_handle(c, req, headers)) {
		rc = CURLE_FAILED_INIT;
	} else {
		rc = curl_easy_perform(c->curl);
		if (rc == CURLE_OK)
			curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE,
					  &resp->status);
	}
	/* The header list held the signature: wipe it. */
	for (tmp = headers; tmp; tmp = tmp->next)
		if (tmp->data)
			digest_wipe(tmp->data, strlen(tmp->data));
	curl_slist_free_all(headers);
	c->resp = NULL;
	return rc;
}

/* Broken connections and the like: worth another attempt. */
static int curl_retryable(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return 1;
	default:
		return 0;
	}
}

int http_status_retryable(long status)
{
	return status == 429 || status == 500 || status == 502 ||
	       status == 503 || status == 504;
}

long http_backoff_ms(int attempt, long base_ms, long max_ms, long retry_after_s,
		     double r)
{
	double cap = (double)base_ms;
	long ms;
	int i;

	for (i = 1; i < attempt && cap < (double)max_ms; i++)
		cap *= 2;
	if (cap > (double)max_ms)
		cap = (double)max_ms;
	if (r < 0 || r >= 1)
		r = 0;
	ms = (long)(cap * r);
	if (retry_after_s >= 0 && retry_after_s * 1000 > ms)
		ms = retry_after_s * 1000;
	return ms;
}

static double random_unit(void)
{
	unsigned int v;

	if (digest_random(&v, sizeof(v)))
		return 0.5;
	return (double)v / 4294967296.0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int http_send(struct http_client *c, const struct http_exchange *x,
	      struct http_response *resp, struct gpuctl_err *err)
{
	long long start = now_ms();
	int attempt, skew_fixed = 0;
	CURLcode last = CURLE_OK;
	const char *url = "";

	for (attempt = 1;; attempt++) {
		struct http_request req = {0};
		enum http_verdict v = HTTP_DONE;
		long wait;

		if (x->prepare(x->ctx, (long long)time(NULL) + c->clock_offset,
			       &req, err))
			return -1;
		url = req.url;
		last = perform_once(c, &req, resp);
		if (last == CURLE_OK) {
			v = x->classify ? x->classify(x->ctx, resp)
			    : http_status_retryable(resp->status) ? HTTP_RETRY
								  : HTTP_DONE;
			if (v == HTTP_DONE)
				return 0;
			if (v == HTTP_CLOCK_SKEW) {
				if (skew_fixed || !resp->date)
					return 0; /* the error stands */
				skew_fixed = 1;
				c->clock_offset =
				    resp->date - (long long)time(NULL);
				log_debug("clock skew: correcting by %lld s",
					  c->clock_offset);
				attempt--; /* a correction, not a retry */
				continue;
			}
		} else if (c->too_large) {
			return err_set(err, GPUCTL_ERR_PARSE,
				       "response from %.200s is larger than "
				       "%zu bytes",
				       url, c->opts.max_response);
		} else if (!curl_retryable(last)) {
			break;
		}
		if (attempt >= c->opts.max_attempts)
			break;
		wait = http_backoff_ms(
		    attempt, c->opts.base_delay_ms, c->opts.max_delay_ms,
		    last == CURLE_OK ? resp->retry_after : -1, random_unit());
		if (now_ms() - start + wait > c->opts.budget_ms)
			break;
		if (last == CURLE_OK)
			log_info("HTTP %ld, retrying in %ld ms (attempt %d "
				 "of %d)",
				 resp->status, wait, attempt + 1,
				 c->opts.max_attempts);
		else
			log_info("%s, retrying in %ld ms (attempt %d of %d)",
				 curl_easy_strerror(last), wait, attempt + 1,
				 c->opts.max_attempts);
		sleep_ms(wait);
	}
	if (last == CURLE_OK)
		return 0; /* retries spent: the last answer stands */
	err_set(err, GPUCTL_ERR_NETWORK, "%.200s: %s", url,
		curl_easy_strerror(last));
	if (last == CURLE_PEER_FAILED_VERIFICATION ||
	    last == CURLE_SSL_CACERT_BADFILE)
		err_hint(err, "the endpoint's TLS certificate could not be "
			      "verified; set AWS_CA_BUNDLE to the CA that "
			      "signed it");
	else if (attempt > 1)
		err_hint(err, "gave up after %d attempts", attempt);
	return -1;
}

int http_url_parts(const char *url, char **host_header, char **path,
		   struct gpuctl_err *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *p = NULL;
	char *extra = NULL;
	int rc = -1;

	*host_header = NULL;
	*path = NULL;
	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0)) {
		err_set(err, GPUCTL_ERR_CONFIG, "invalid endpoint URL '%.200s'",
			url);
		goto out;
	}
	if (strcmp(scheme, "http") && strcmp(scheme, "https")) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"endpoint URL '%.200s' is not http or https", url);
		goto out;
	}
	if (!curl_url_get(u, CURLUPART_QUERY, &extra, 0) ||
	    !curl_url_get(u, CURLUPART_USER, &extra, 0) ||
	    !curl_url_get(u, CURLUPART_FRAGMENT, &extra, 0)) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"endpoint URL '%.200s' must not have a query, user "
			"or fragment",
			url);
		goto out;
	}
	/* CURLUPART_PORT without DEFAULTPORT: only an explicit port. */
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK &&
	    !((!strcmp(scheme, "http") && !strcmp(port, "80")) ||
	      (!strcmp(scheme, "https") && !strcmp(port, "443"))))
		*host_header = xasprintf("%s:%s", host, port);
	else
		*host_header = xstrdup(host);
	if (curl_url_get(u, CURLUPART_PATH, &p, 0) || !*p)
		*path = xstrdup("/");
	else
		*path = xstrdup(p);
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(p);
	curl_free(extra);
	curl_url_cleanup(u);
	return rc;
}
