/*
 * The EC2 Query protocol: form-encoded POST requests signed with SigV4,
 * answered with XML.  Errors are read into struct gpuctl_err.  The same
 * client speaks other Query APIs (STS) and takes temporary keys afresh
 * from its refresh callback.
 */
#include "gpuctl/ec2.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>

#include "gpuctl/http.h"
#include "gpuctl/log.h"
#include "gpuctl/sigv4.h"

#include "ec2_int.h"

struct ec2_client {
	struct http_client *http;
	struct sigv4_signer *signer;
	char *endpoint;
	char *host;
	char *path;
	char *region;
	char *access_key_id;
	char *secret_access_key;
	char *session_token;
	char *service;
	char *api_version;
	int (*refresh)(void *arg, int force, struct ec2_credentials *out,
		       struct gpuctl_err *err);
	void *refresh_arg;
};

/* One call in flight: what prepare() signs on every attempt. */
struct call {
	struct ec2_client *c;
	const char *action;
	struct buf body;
	char payload_hash[65];
	struct sigv4_result sig;
	int have_sig;
	struct http_header headers[5];
	int expired; /* the keys were refused as expired: force a refresh */
	int forced;  /* that happened once in this call */
};

void ec2_form_add(struct buf *b, const char *key, const char *value)
{
	if (b->len)
		buf_addch(b, '&');
	sigv4_uri_encode(b, key, strlen(key), 1);
	buf_addch(b, '=');
	sigv4_uri_encode(b, value, strlen(value), 1);
}

/* Replaces the keys the client signs with. */
static void set_keys(struct ec2_client *c, const struct ec2_credentials *k)
{
	free(c->access_key_id);
	secure_free_str(c->secret_access_key);
	secure_free_str(c->session_token);
	c->access_key_id = xstrdup(k->access_key_id);
	c->secret_access_key = xstrdup(k->secret_access_key);
	c->session_token = k->session_token ? xstrdup(k->session_token) : NULL;
	log_add_secret(c->secret_access_key);
	log_add_secret(c->session_token);
}

struct ec2_client *ec2_client_new(const struct ec2_client_options *opts,
				  struct gpuctl_err *err)
{
	struct http_options hopts = {0};
	struct ec2_client *c = xcalloc(1, sizeof(*c));

	if (http_url_parts(opts->endpoint_url, &c->host, &c->path, err))
		goto fail;
	hopts.ca_bundle = opts->ca_bundle;
	hopts.timeout_ms = opts->timeout_ms;
	hopts.max_attempts = opts->max_attempts;
	c->http = http_client_new(&hopts, err);
	if (!c->http)
		goto fail;
	c->signer = sigv4_signer_new();
	c->endpoint = xstrdup(opts->endpoint_url);
	c->region = xstrdup(opts->region);
	c->service = xstrdup(opts->service ? opts->service : "ec2");
	c->api_version =
	    xstrdup(opts->api_version ? opts->api_version : EC2_API_VERSION);
	c->refresh = opts->refresh;
	c->refresh_arg = opts->refresh_arg;
	if (opts->access_key_id) {
		struct ec2_credentials k = {opts->access_key_id,
					    opts->secret_access_key,
					    opts->session_token};

		set_keys(c, &k);
	}
	return c;
fail:
	ec2_client_free(c);
	return NULL;
}

void ec2_client_free(struct ec2_client *c)
{
	if (!c)
		return;
	http_client_free(c->http);
	sigv4_signer_free(c->signer);
	free(c->endpoint);
	free(c->host);
	free(c->path);
	free(c->region);
	free(c->access_key_id);
	secure_free_str(c->secret_access_key);
	secure_free_str(c->session_token);
	free(c->service);
	free(c->api_version);
	free(c);
}

static int prepare(void *ctx, long long now, struct http_request *req,
		   struct gpuctl_err *err)
{
	struct call *call = ctx;
	struct ec2_client *c = call->c;
	struct sigv4_header hs[2] = {
	    {"Host", c->host},
	    {"Content-Type",
	     "application/x-www-form-urlencoded; charset=utf-8"},
	};
	struct sigv4_creds creds;
	struct sigv4_request sreq = {0};
	struct sigv4_params p = {0};
	struct ec2_credentials k = {0};
	size_t i, n = 0;
	int r;

	if (c->refresh) {
		r = c->refresh(c->refresh_arg, call->expired, &k, err);
		if (r < 0)
			return -1;
		call->forced |= call->expired;
		call->expired = 0;
		if (r > 0)
			set_keys(c, &k);
	}
	creds = (struct sigv4_creds){c->access_key_id, c->secret_access_key,
				     c->session_token};
	call->headers[n++] = (struct http_header){hs[1].name, hs[1].value};
	if (!c->access_key_id) /* unsigned, as AssumeRoleWithWebIdentity */
		goto send;
	sreq.method = "POST";
	sreq.path = c->path;
	sreq.headers = hs;
	sreq.nheaders = 2;
	sreq.payload = call->body.data;
	sreq.payload_len = call->body.len;
	sreq.payload_hash = call->payload_hash;
	p.region = c->region;
	p.service = c->service;
	p.time = now;
	p.normalize_path = 1;
	if (call->have_sig)
		sigv4_result_release(&call->sig);
	if (sigv4_sign(c->signer, &sreq, &creds, &p, SIGV4_HEADER, &call->sig,
		       err))
		return -1;
	call->have_sig = 1;
	if (log_enabled(LOG_DEBUG2)) {
		log_text(LOG_DEBUG2,
			 "canonical request: ", call->sig.canonical_request,
			 strlen(call->sig.canonical_request));
		log_text(LOG_DEBUG2,
			 "string to sign: ", call->sig.string_to_sign,
			 strlen(call->sig.string_to_sign));
	}
	for (i = 0; i < call->sig.nadd_headers && n < 4; i++)
		call->headers[n++] =
		    (struct http_header){call->sig.add_headers[i].name,
					 call->sig.add_headers[i].value};
	call->headers[n++] =
	    (struct http_header){"Authorization", call->sig.authorization};
send:
	log_debug("%s %s (Action=%s)", "POST", c->endpoint, call->action);
	req->method = "POST";
	req->url = c->endpoint;
	req->headers = call->headers;
	req->nheaders = n;
	req->body = call->body.data;
	req->body_len = call->body.len;
	return 0;
}

static const char *const retry_codes[] = {
    "RequestLimitExceeded",	 "Throttling",	  "ThrottlingException",
    "RequestThrottled",		 "InternalError", "InternalFailure",
    "ServiceUnavailable",	 "Unavailable",	  "EC2ThrottledException",
    "RequestThrottledException", "SlowDown",	  "PriorRequestNotComplete",
};

static enum http_verdict classify(void *ctx, const struct http_response *r)
{
	struct call *call = ctx;
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	enum http_verdict v = HTTP_DONE;
	size_t i;

	if (r->status >= 200 && r->status < 300)
		return HTTP_DONE;
	if (!ec2_parse_error(r->body.data, r->body.len, r->status, &e) &&
	    e.code) {
		/* temporary keys past their end: fetch new ones, once */
		if (call->c->refresh && !call->forced &&
		    (!strcmp(e.code, "ExpiredToken") ||
		     !strcmp(e.code, "ExpiredTokenException") ||
		     !strcmp(e.code, "RequestExpired"))) {
			call->expired = 1;
			v = HTTP_RETRY;
		}
		if (!call->expired &&
		    (!strcmp(e.code, "RequestTimeTooSkewed") ||
		     !strcmp(e.code, "RequestExpired")))
			v = HTTP_CLOCK_SKEW;
		for (i = 0; i < sizeof(retry_codes) / sizeof(*retry_codes); i++)
			if (!strcmp(e.code, retry_codes[i]))
				v = HTTP_RETRY;
	}
	if (v == HTTP_DONE && http_status_retryable(r->status))
		v = HTTP_RETRY;
	err_clear(&e);
	return v;
}

static xmlNode *child(xmlNode *n, const char *name)
{
	for (n = n ? n->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    !strcmp((const char *)n->name, name))
			return n;
	return NULL;
}

static char *text_of(xmlNode *n)
{
	xmlChar *s;
	char *r, *start, *end;

	if (!n)
		return NULL;
	s = xmlNodeGetContent(n);
	if (!s)
		return NULL;
	start = (char *)s;
	while (*start == ' ' || *start == '\n' || *start == '\t' ||
	       *start == '\r')
		start++;
	end = start + strlen(start);
	while (end > start && (end[-1] == ' ' || end[-1] == '\n' ||
			       end[-1] == '\t' || end[-1] == '\r'))
		end--;
	r = xstrndup(start, (size_t)(end - start));
	xmlFree(s);
	return r;
}

int ec2_parse_error(const char *body, size_t len, long status,
		    struct gpuctl_err *err)
{
	xmlDoc *doc;
	xmlNode *root, *errors, *e;
	int rc = -1;

	if (!len || len > EC2_MAX_RESPONSE || ec2_xml_refused(body, len))
		return -1;
	doc = ec2_xml_read(body, len);
	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	/* EC2: <Response><Errors><Error>; some services: <ErrorResponse> */
	if (root && !strcmp((const char *)root->name, "Response")) {
		errors = child(root, "Errors");
		e = child(errors, "Error");
	} else if (root && !strcmp((const char *)root->name, "ErrorResponse")) {
		e = child(root, "Error");
	} else {
		e = NULL;
	}
	if (e) {
		char *code = text_of(child(e, "Code"));
		char *msg = text_of(child(e, "Message"));
		char *rid = text_of(child(root, "RequestID"));

		if (!rid)
			rid = text_of(child(root, "RequestId"));
		err_set(err, GPUCTL_ERR_AWS, "%.200s",
			msg && *msg ? msg : "(no message)");
		err->http_status = status;
		err->code = code ? code : xstrdup("Unknown");
		err->request_id = rid;
		free(msg);
		rc = 0;
	}
	xmlFreeDoc(doc);
	return rc;
}

/*
 * One call.  secret: the answer holds a secret (a private key), so every
 * copy made here is wiped, and the body is copied in one allocation.
 */
static int call_once(struct ec2_client *c, const char *action,
		     const struct ec2_param *params, size_t nparams,
		     struct buf *body, int secret, struct gpuctl_err *err)
{
	struct call call = {0};
	struct http_exchange x = {prepare, classify, &call};
	struct http_response resp;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t i;
	int rc = -1;

	call.c = c;
	call.action = action;
	buf_init(&call.body);
	ec2_form_add(&call.body, "Action", action);
	ec2_form_add(&call.body, "Version", c->api_version);
	for (i = 0; i < nparams; i++)
		ec2_form_add(&call.body, params[i].key, params[i].value);
	if (!EVP_Digest(call.body.data, call.body.len, md, &mdlen, EVP_sha256(),
			NULL)) {
		err_set(err, GPUCTL_ERR_OTHER, "SHA-256 failed");
		goto out;
	}
	hex_encode(md, mdlen, call.payload_hash);
	http_response_init(&resp);
	resp.secret = secret;
	if (secret)
		buf_release_secret(body);
	else
		buf_release(body); /* the answer takes its place */
	if (http_send(c->http, &x, &resp, err))
		goto out_resp;
	if (secret) {
		buf_grow(body, resp.body.len);
		buf_add(body, resp.body.data, resp.body.len);
	} else {
		/* the answer itself, not a copy: a page can be megabytes */
		buf_release(body);
		*body = resp.body;
		buf_init(&resp.body);
	}
	if (resp.status >= 200 && resp.status < 300) {
		rc = 0;
		goto out_resp;
	}
	if (ec2_parse_error(body->data, body->len, resp.status, err)) {
		char *snippet =
		    log_redact(body->data, body->len > 200 ? 200 : body->len);

		err_set(err, GPUCTL_ERR_AWS, "HTTP %ld from %.200s%s%s",
			resp.status, c->endpoint, *snippet ? ": " : "",
			snippet);
		err->http_status = resp.status;
		free(snippet);
	}
out_resp:
	if (secret)
		buf_release_secret(&resp.body);
	http_response_release(&resp);
out:
	if (call.have_sig)
		sigv4_result_release(&call.sig);
	buf_release(&call.body);
	return rc;
}

int ec2_call(struct ec2_client *c, const char *action,
	     const struct ec2_param *params, size_t nparams, struct buf *body,
	     struct gpuctl_err *err)
{
	return call_once(c, action, params, nparams, body, 0, err);
}

int ec2_call_secret(struct ec2_client *c, const char *action,
		    const struct ec2_param *params, size_t nparams,
		    struct buf *body, struct gpuctl_err *err)
{
	return call_once(c, action, params, nparams, body, 1, err);
}
