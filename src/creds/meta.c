/*
 * meta: credentials where gpuctl runs on AWS itself: the container
 * credentials endpoint (ECS, EKS Pod Identity) and the instance metadata
 * service (IMDSv2), as botocore's ContainerProvider and
 * InstanceMetadataProvider; the region IMDS names; and the small
 * unsigned HTTP exchange they and the SSO portal use.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "gpuctl/creds.h"
#include "gpuctl/http.h"
#include "gpuctl/log.h"
#include "gpuctl/util.h"
#include "creds_int.h"

#define ECS_HOST	"http://169.254.170.2"
#define IMDS_V4		"http://169.254.169.254"
#define IMDS_V6		"http://[fd00:ec2::254]"
#define IMDS_TOKEN_TTL	"21600"
#define IMDS_ROLE_PATH	"/latest/meta-data/iam/security-credentials/"
#define META_MAX	(1024 * 1024)
#define TOKEN_FILE_MAX	(64 * 1024)
#define CONTAINER_WAIT	2000 /* ms, botocore's ContainerMetadataFetcher */
#define CONTAINER_TRIES 3

static int prepare(void *ctx, long long now, struct http_request *req,
		   struct gpuctl_err *err)
{
	const struct creds_fetch *f = ctx;

	(void)now;
	(void)err;
	req->method = f->method;
	req->url = f->url;
	req->headers = f->headers;
	req->nheaders = f->nheaders;
	req->body = NULL;
	req->body_len = 0;
	return 0;
}

int creds_http(const struct creds_fetch *f, struct buf *body, long *status,
	       struct gpuctl_err *err)
{
	struct http_options o = {0};
	struct http_exchange x = {prepare, NULL, (void *)f};
	struct http_response resp;
	struct http_client *h;
	int rc = -1;

	o.ca_bundle = f->ca_bundle;
	o.connect_timeout_ms = f->timeout_ms;
	o.timeout_ms = f->timeout_ms;
	o.max_attempts = f->attempts;
	o.max_response = META_MAX;
	h = http_client_new(&o, err);
	if (!h)
		return -1;
	http_response_init(&resp);
	resp.secret = 1; /* credentials: wiped, and never traced */
	if (!http_send(h, &x, &resp, err)) {
		buf_release_secret(body);
		*body = resp.body; /* moved, not copied */
		buf_init(&resp.body);
		*status = resp.status;
		rc = 0;
	}
	http_response_release(&resp);
	http_client_free(h);
	return rc;
}

/* Keys from a JSON answer with AccessKeyId, SecretAccessKey, Token and
 * Expiration (the container endpoint's and IMDS's shape). */
static int take_json(const struct creds_ctx *c, const char *what,
		     const struct buf *body, const char *source,
		     struct creds_config *out, struct gpuctl_err *err)
{
	json_t *doc = json_loadb(body->data, body->len, 0, NULL);
	const char *code = json_string_value(json_object_get(doc, "Code"));
	int rc;

	if (!json_is_object(doc) || (code && strcmp(code, "Success"))) {
		json_decref(doc);
		return err_set(err, GPUCTL_ERR_PARSE,
			       "%s answered no credentials%s%.60s", what,
			       code ? ": " : "", code ? code : "");
	}
	rc = creds_take_keys(
	    c, what, json_string_value(json_object_get(doc, "AccessKeyId")),
	    json_string_value(json_object_get(doc, "SecretAccessKey")),
	    json_string_value(json_object_get(doc, "Token")),
	    json_string_value(json_object_get(doc, "Expiration")), out, source,
	    err);
	json_decref(doc);
	return rc;
}

/*
 * The host of an http(s) URL, as the container endpoint rules want it:
 * 1 when url may be fetched (https anywhere; http only to a loopback
 * address or the ECS and EKS link-local hosts).
 */
static int container_url_ok(const char *url)
{
	static const char *const hosts[] = {"169.254.170.2", "169.254.170.23",
					    "fd00:ec2::23"};
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	unsigned char a[16], b[16];
	char *hh = NULL, *path = NULL, *host, *end;
	int ok = 0;
	size_t i;

	if (http_url_parts(url, &hh, &path, &e) < 0) {
		err_clear(&e);
		return 0;
	}
	if (!strncasecmp(url, "https://", 8)) {
		ok = 1;
		goto out;
	}
	host = hh;
	if (*host == '[') {
		host++;
		end = strchr(host, ']');
	} else {
		end = strchr(host, ':');
	}
	if (end)
		*end = '\0';
	if (!strcasecmp(host, "localhost") ||
	    (inet_pton(AF_INET, host, a) == 1 && a[0] == 127) ||
	    (inet_pton(AF_INET6, host, a) == 1 &&
	     !memcmp(a, &in6addr_loopback, 16)))
		ok = 1;
	for (i = 0; !ok && i < sizeof(hosts) / sizeof(*hosts); i++) {
		int af = strchr(hosts[i], ':') ? AF_INET6 : AF_INET;

		ok = inet_pton(af, host, a) == 1 &&
		     inet_pton(af, hosts[i], b) == 1 &&
		     !memcmp(a, b, af == AF_INET ? 4 : 16);
	}
out:
	free(hh);
	free(path);
	return ok;
}

/* The Authorization value for the container endpoint into tok, if any. */
static int container_token(const struct creds_ctx *c, struct buf *tok,
			   struct gpuctl_err *err)
{
	const char *file =
	    creds_env(c, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *v = creds_env(c, "AWS_CONTAINER_AUTHORIZATION_TOKEN");

	if (file) {
		/* read on every fetch: EKS rotates it */
		if (creds_read_secret_file(file, TOKEN_FILE_MAX,
					   "the container authorization token "
					   "file",
					   tok, err) < 0)
			return -1;
	} else if (v) {
		buf_adds(tok, v);
	} else {
		return 0;
	}
	if (strpbrk(tok->data, "\r\n"))
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "the container authorization token (%s) holds "
			       "a line break: it is no header value",
			       file ? "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
				    : "AWS_CONTAINER_AUTHORIZATION_TOKEN");
	log_add_secret(tok->data);
	return 1;
}

int creds_container(const struct creds_ctx *c, struct creds_config *out,
		    struct gpuctl_err *err)
{
	const char *rel =
	    creds_env(c, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = creds_env(c, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *var = rel ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
			      : "AWS_CONTAINER_CREDENTIALS_FULL_URI";
	struct creds_fetch f = {0};
	struct http_header h[1];
	struct buf tok = BUF_INIT, body = BUF_INIT;
	char *url, *source = NULL;
	long status = 0;
	int rc = -1, t;

	if (!rel && !full)
		return 0;
	url = rel ? xasprintf("%s%s", ECS_HOST, rel) : xstrdup(full);
	if ((rel && rel[0] != '/') || !container_url_ok(url)) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"%s is not a URL gpuctl may fetch credentials from "
			"(%.200s)",
			var, rel ? rel : full);
		err_hint(err, "a full URI must be https, or http to a loopback "
			      "address, 169.254.170.2, 169.254.170.23 or "
			      "fd00:ec2::23");
		goto out;
	}
	t = container_token(c, &tok, err);
	if (t < 0)
		goto out;
	h[0] = (struct http_header){"Authorization", tok.data};
	f.method = "GET";
	f.url = url;
	f.headers = h;
	f.nheaders = t ? 1 : 0;
	f.timeout_ms = CONTAINER_WAIT;
	f.attempts = CONTAINER_TRIES;
	f.ca_bundle = c->ca_bundle;
	source = xasprintf("container credentials endpoint (%s)", var);
	if (creds_http(&f, &body, &status, err) < 0) {
		err_prefix(err, "the container credentials endpoint (%s)", var);
		goto out;
	}
	if (status != 200) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"the container credentials endpoint (%s) answered "
			"HTTP %ld",
			var, status);
		goto out;
	}
	if (take_json(c, "the container credentials endpoint", &body, source,
		      out, err) < 0)
		goto out;
	rc = 1;
out:
	buf_release_secret(&tok);
	buf_release_secret(&body);
	free(url);
	free(source);
	return rc;
}

/* An IMDS session: where, and its token (empty: IMDSv1). */
struct imds {
	char *base;
	struct buf token;
	long timeout_ms;
	int attempts;
};

static void imds_release(struct imds *m)
{
	free(m->base);
	buf_release_secret(&m->token);
}

/* A setting from the environment, else the profile. */
static const char *setting(const struct creds_ctx *c, const char *var,
			   const char *key)
{
	const char *v = creds_env(c, var);

	return v ? v : creds_profile_get(c, c->profile, key, NULL);
}

static int imds_get(const struct imds *m, const char *method, const char *path,
		    struct buf *body, long *status, struct gpuctl_err *err)
{
	struct creds_fetch f = {0};
	struct http_header h[1];
	char *url = xasprintf("%s%s", m->base, path);
	int rc;

	if (!strcmp(method, "PUT"))
		h[0] = (struct http_header){"X-aws-ec2-metadata-token-ttl-"
					    "seconds",
					    IMDS_TOKEN_TTL};
	else
		h[0] = (struct http_header){"X-aws-ec2-metadata-token",
					    m->token.data};
	f.method = method;
	f.url = url;
	f.headers = h;
	f.nheaders = !strcmp(method, "PUT") || m->token.len ? 1 : 0;
	f.timeout_ms = m->timeout_ms;
	f.attempts = m->attempts;
	rc = creds_http(&f, body, status, err);
	free(url);
	return rc;
}

/*
 * Finds IMDS and gets a token: 1 when it answered, 0 when it is off or
 * does not answer (not on EC2), -1 on a bad setting.
 */
static int imds_open(const struct creds_ctx *c, struct imds *m,
		     struct gpuctl_err *err)
{
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	struct buf body = BUF_INIT;
	const char *ep, *mode, *v;
	long n, status = 0;
	int rc = 0;

	if (creds_is_true(creds_env(c, "AWS_EC2_METADATA_DISABLED")))
		return 0;
	ep = setting(c, "AWS_EC2_METADATA_SERVICE_ENDPOINT",
		     "ec2_metadata_service_endpoint");
	mode = setting(c, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
		       "ec2_metadata_service_endpoint_mode");
	if (!ep)
		ep = mode && !strcasecmp(mode, "ipv6") ? IMDS_V6 : IMDS_V4;
	if (strncasecmp(ep, "http://", 7) && strncasecmp(ep, "https://", 8))
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "the instance metadata endpoint \"%.200s\" is "
			       "not an http or https URL",
			       ep);
	m->base = xstrdup(ep);
	for (n = (long)strlen(m->base); n > 8 && m->base[n - 1] == '/'; n--)
		m->base[n - 1] = '\0';
	v = setting(c, "AWS_METADATA_SERVICE_TIMEOUT",
		    "metadata_service_timeout");
	m->timeout_ms = v && !parse_long(v, 1, 60, &n) ? n * 1000 : 1000;
	v = setting(c, "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
		    "metadata_service_num_attempts");
	m->attempts = v && !parse_long(v, 1, 10, &n) ? (int)n : 1;
	if (imds_get(m, "PUT", "/latest/api/token", &body, &status, &e) < 0) {
		log_debug("no instance metadata service at %s: %s", m->base,
			  e.message);
		goto out;
	}
	if (status == 200 && body.len && body.len < 4096 &&
	    !strpbrk(body.data, "\r\n")) {
		buf_adds(&m->token, body.data);
		log_add_secret(m->token.data);
		rc = 1;
	} else if (status == 403 || status == 404 || status == 405) {
		rc = 1; /* no IMDSv2 here: on without a token, as botocore */
	} else {
		log_debug("the instance metadata service at %s refused a "
			  "token: HTTP %ld",
			  m->base, status);
	}
out:
	err_clear(&e);
	buf_release_secret(&body);
	return rc;
}

int creds_imds(const struct creds_ctx *c, struct creds_config *out,
	       struct gpuctl_err *err)
{
	struct imds m = {0};
	struct buf body = BUF_INIT;
	char *role = NULL, *path = NULL, *source = NULL;
	long status = 0;
	size_t n;
	int rc;

	buf_init(&m.token);
	rc = imds_open(c, &m, err);
	if (rc <= 0)
		goto out;
	rc = -1;
	if (imds_get(&m, "GET", IMDS_ROLE_PATH, &body, &status, err) < 0)
		goto out;
	if (status != 200 || !body.len) {
		log_debug("no IAM role on this instance (HTTP %ld)", status);
		rc = 0;
		goto out;
	}
	n = strcspn(body.data, "\r\n");
	role = xstrndup(body.data, n);
	if (!n || n > 128 ||
	    strspn(role, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789+=,.@_-") != n) {
		err_set(err, GPUCTL_ERR_PARSE,
			"the instance metadata service named no valid role");
		goto out;
	}
	path = xasprintf("%s%s", IMDS_ROLE_PATH, role);
	if (imds_get(&m, "GET", path, &body, &status, err) < 0)
		goto out;
	if (status != 200) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"the instance metadata service answered HTTP %ld for "
			"the credentials of role %s",
			status, role);
		goto out;
	}
	source =
	    xasprintf("instance metadata (role %s at %.200s)", role, m.base);
	if (take_json(c, "the instance metadata service", &body, source, out,
		      err) < 0)
		goto out;
	rc = 1;
out:
	imds_release(&m);
	buf_release_secret(&body);
	free(role);
	free(path);
	free(source);
	return rc;
}

int creds_imds_region(const struct creds_ctx *c, char **region, char **source,
		      struct gpuctl_err *err)
{
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	struct imds m = {0};
	struct buf body = BUF_INIT;
	long status = 0;
	int rc;

	buf_init(&m.token);
	rc = imds_open(c, &m, err);
	if (rc <= 0)
		goto out;
	rc = 0;
	if (imds_get(&m, "GET", "/latest/meta-data/placement/region", &body,
		     &status, &e) < 0 ||
	    status != 200 || !body.len || body.len > 63) {
		log_debug("the instance metadata service named no region");
		goto out;
	}
	*region = xstrdup(body.data);
	*source = xasprintf("instance metadata (%.200s)", m.base);
	rc = 1;
out:
	err_clear(&e);
	imds_release(&m);
	buf_release(&body);
	return rc;
}
