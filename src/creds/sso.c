/*
 * sso: IAM Identity Center profiles, as botocore's SSOProvider: the token
 * `aws sso login` left in $HOME/.aws/sso/cache/SHA1.json is exchanged for
 * role credentials at the portal (GetRoleCredentials, REST JSON), which
 * are cached like the AWS CLI caches them.  gpuctl never refreshes the
 * token: that is `aws sso login`'s job.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gpuctl/creds.h"
#include "gpuctl/http.h"
#include "gpuctl/log.h"
#include "gpuctl/util.h"
#include "creds_int.h"

#define SSO_FILE_MAX (256 * 1024)

/* The settings of one SSO profile, borrowed from the files. */
struct sso_conf {
	const char *session; /* sso_session, or NULL (legacy) */
	const char *start_url;
	const char *region;
	const char *account;
	const char *role;
};

static const char *const sso_keys[] = {"sso_start_url", "sso_region",
				       "sso_account_id", "sso_role_name"};

/* Fills conf; returns 1 when the profile is an SSO one, 0 when not. */
static int read_conf(const struct creds_ctx *c, const char *profile,
		     struct sso_conf *conf, struct gpuctl_err *err)
{
	const struct creds_ini_section *sess = NULL;
	const char *v[4];
	struct buf missing = BUF_INIT;
	size_t i;

	if (!creds_profile_get(c, profile, "sso_account_id", NULL) &&
	    !creds_profile_get(c, profile, "sso_role_name", NULL))
		return 0;
	conf->session = creds_profile_get(c, profile, "sso_session", NULL);
	if (conf->session) {
		sess = creds_config_section(c, "sso-session", conf->session);
		if (!sess)
			return err_set(err, GPUCTL_ERR_CONFIG,
				       "the sso_session \"%.100s\" of profile "
				       "\"%.100s\" does not exist: add "
				       "[sso-session %.100s] to %s",
				       conf->session, profile, conf->session,
				       c->config.path ? c->config.path
						      : "~/.aws/config");
	}
	for (i = 0; i < 4; i++) {
		const char *pv =
		    creds_profile_get(c, profile, sso_keys[i], NULL);
		const char *sv =
		    sess ? creds_ini_get(&c->config, sess, sso_keys[i]) : NULL;

		/* botocore: a key in both must have one value */
		if (pv && sv && strcmp(pv, sv))
			return err_set(err, GPUCTL_ERR_CONFIG,
				       "%s differs between profile \"%.100s\" "
				       "(%.200s) and sso-session \"%.100s\" "
				       "(%.200s)",
				       sso_keys[i], profile, pv, conf->session,
				       sv);
		v[i] = sv ? sv : pv;
		if (!v[i] || !*v[i])
			buf_addf(&missing, "%s%s", missing.len ? ", " : "",
				 sso_keys[i]);
	}
	if (missing.len) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"profile \"%.100s\" is set up for IAM Identity Center "
			"(SSO) but lacks %s",
			profile, missing.data);
		err_hint(err, "run \"aws configure sso --profile %.100s\"",
			 profile);
		buf_release(&missing);
		return -1;
	}
	if (strspn(v[1], "abcdefghijklmnopqrstuvwxyz0123456789-") !=
	    strlen(v[1]))
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "the sso_region \"%.64s\" of profile \"%.100s\" "
			       "is not a region such as us-east-1",
			       v[1], profile);
	conf->start_url = v[0];
	conf->region = v[1];
	conf->account = v[2];
	conf->role = v[3];
	return 1;
}

/* Appends s percent-encoded (RFC 3986 unreserved kept) for a query. */
static void add_encoded(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch)) {
			buf_addch(b, (char)ch);
		} else {
			buf_addch(b, '%');
			buf_addch(b, hex[ch >> 4]);
			buf_addch(b, hex[ch & 15]);
		}
	}
}

static void login_hint(struct gpuctl_err *err, const char *profile)
{
	err_hint(err,
		 "run \"aws sso login --profile %.100s\" (gpuctl reads the "
		 "token the AWS CLI caches; renewing it is the AWS CLI's job)",
		 profile);
}

/* The access token `aws sso login` cached, into tok (a secret). */
static int load_token(const struct creds_ctx *c, const char *profile,
		      const struct sso_conf *conf, struct buf *tok,
		      struct gpuctl_err *err)
{
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	struct buf b = BUF_INIT;
	char *dir, *hash, *path = NULL, *fixed = NULL;
	const char *name = conf->session ? conf->session : conf->start_url;
	const char *at, *exp;
	json_t *doc = NULL;
	long long when;
	size_t n;
	int rc = -1;

	dir = creds_aws_dir(c, "sso/cache");
	hash = creds_sha1_hex(name);
	if (dir)
		path = xasprintf("%s/%s.json", dir, hash);
	if (!path || creds_read_secret_file(path, SSO_FILE_MAX,
					    "the SSO token file", &b, &e) < 0) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"no IAM Identity Center (SSO) login for %s "
			"\"%.200s\" (looked for %s)",
			conf->session ? "sso-session" : "start URL", name,
			path ? path : "~/.aws/sso/cache");
		login_hint(err, profile);
		goto out;
	}
	doc = json_loadb(b.data, b.len, 0, NULL);
	at = json_string_value(json_object_get(doc, "accessToken"));
	exp = json_string_value(json_object_get(doc, "expiresAt"));
	if (!at || !*at || !exp) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"the SSO token file %s holds no accessToken and "
			"expiresAt",
			path);
		login_hint(err, profile);
		goto out;
	}
	/* older AWS CLIs wrote "2019-11-14T04:24:45UTC" */
	n = strlen(exp);
	if (n > 3 && !strcmp(exp + n - 3, "UTC"))
		exp = fixed = xasprintf("%.*sZ", (int)(n - 3), exp);
	if (creds_parse_time(exp, &when) < 0) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"the SSO token file %s has an unreadable expiresAt",
			path);
		login_hint(err, profile);
		goto out;
	}
	if (when <= c->now) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"the IAM Identity Center (SSO) login for profile "
			"\"%.100s\" expired at %.40s",
			profile, exp);
		login_hint(err, profile);
		goto out;
	}
	log_add_secret(at);
	buf_adds(tok, at);
	rc = 0;
out:
	err_clear(&e);
	json_decref(doc);
	buf_release_secret(&b);
	free(dir);
	free(hash);
	free(path);
	free(fixed);
	return rc;
}

/* Reads the portal's answer into res. */
static int parse_role_creds(const char *body, size_t len,
			    struct creds_sts_result *res)
{
	json_t *doc = json_loadb(body, len, 0, NULL), *rc, *exp;
	const char *v[3];
	char when[21];
	int ok = 0;

	rc = json_object_get(doc, "roleCredentials");
	v[0] = json_string_value(json_object_get(rc, "accessKeyId"));
	v[1] = json_string_value(json_object_get(rc, "secretAccessKey"));
	v[2] = json_string_value(json_object_get(rc, "sessionToken"));
	exp = json_object_get(rc, "expiration");
	if (v[0] && v[1] && v[2] && json_is_integer(exp) &&
	    json_integer_value(exp) > 0) {
		/* milliseconds since the epoch */
		creds_format_time(json_integer_value(exp) / 1000, when);
		res->access_key_id = xstrdup(v[0]);
		res->secret_access_key = xstrdup(v[1]);
		res->session_token = xstrdup(v[2]);
		res->expiration = xstrdup(when);
		ok = 1;
	}
	json_decref(doc);
	return ok ? 0 : -1;
}

/* The portal's error answer as err. */
static void portal_error(const char *body, size_t len, long status,
			 const char *profile, struct gpuctl_err *err)
{
	json_t *doc = json_loadb(body, len, 0, NULL);
	const char *msg = json_string_value(json_object_get(doc, "message"));

	if (status == 401) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"the IAM Identity Center (SSO) login for profile "
			"\"%.100s\" has expired or is not valid (portal: "
			"%.200s)",
			profile, msg ? msg : "401");
		login_hint(err, profile);
	} else {
		err_set(err, GPUCTL_ERR_AWS,
			"IAM Identity Center (SSO) GetRoleCredentials: HTTP "
			"%ld%s%.200s",
			status, msg ? ": " : "", msg ? msg : "");
		err->http_status = status;
	}
	json_decref(doc);
}

static int get_role_creds(const struct creds_ctx *c, const char *profile,
			  const struct sso_conf *conf, const char *key,
			  const char *source, struct creds_config *out,
			  struct gpuctl_err *err)
{
	struct creds_sts_result res = {0};
	struct creds_fetch f = {0};
	struct http_header h[1];
	struct buf tok = BUF_INIT, body = BUF_INIT, q = BUF_INIT;
	char *fallback, *base = NULL, *src = NULL, *url = NULL;
	long status = 0;
	int rc = -1;

	if (load_token(c, profile, conf, &tok, err) < 0)
		return -1;
	fallback =
	    xasprintf("https://portal.sso.%s.amazonaws.com%s", conf->region,
		      starts_with(conf->region, "cn-") ? ".cn" : "");
	if (creds_service_endpoint(c, "SSO", fallback, &base, &src, err) < 0)
		goto out;
	add_encoded(&q, conf->account);
	buf_adds(&q, "&role_name=");
	add_encoded(&q, conf->role);
	url = xasprintf("%s%sfederation/credentials?account_id=%s", base,
			base[strlen(base) - 1] == '/' ? "" : "/", q.data);
	h[0] = (struct http_header){"x-amz-sso_bearer_token", tok.data};
	f.method = "GET";
	f.url = url;
	f.headers = h;
	f.nheaders = 1;
	f.attempts = 3;
	f.ca_bundle = c->ca_bundle;
	log_debug("IAM Identity Center GetRoleCredentials at %s (%s)", base,
		  src);
	if (creds_http(&f, &body, &status, err) < 0)
		goto out;
	if (status != 200) {
		portal_error(body.data, body.len, status, profile, err);
		goto out;
	}
	if (parse_role_creds(body.data, body.len, &res) < 0) {
		err_set(err, GPUCTL_ERR_PARSE,
			"IAM Identity Center (SSO) GetRoleCredentials: an "
			"answer without roleCredentials");
		goto out;
	}
	if (creds_take_keys(c, "IAM Identity Center (SSO)", res.access_key_id,
			    res.secret_access_key, res.session_token,
			    res.expiration, out, source, err) < 0)
		goto out;
	creds_cache_store(c, key, "sso", &res);
	rc = 0;
out:
	creds_sts_result_release(&res);
	buf_release_secret(&tok);
	buf_release_secret(&body);
	buf_release(&q);
	free(fallback);
	free(base);
	free(src);
	free(url);
	return rc;
}

int creds_sso(const struct creds_ctx *c, const char *profile,
	      struct creds_config *out, struct gpuctl_err *err)
{
	struct creds_key_arg args[3];
	struct sso_conf conf = {0};
	char *key, *source;
	int r;

	r = read_conf(c, profile, &conf, err);
	if (r <= 0)
		return r;
	/* SSOCredentialFetcher._create_cache_key(): compact JSON */
	args[0] = (struct creds_key_arg){"roleName", conf.role, 0};
	args[1] = (struct creds_key_arg){"accountId", conf.account, 0};
	args[2] = conf.session
		      ? (struct creds_key_arg){"sessionName", conf.session, 0}
		      : (struct creds_key_arg){"startUrl", conf.start_url, 0};
	key = creds_cache_key(args, 3, 1);
	source = xasprintf("IAM Identity Center (SSO) profile \"%.100s\" "
			   "(account %.20s, role %.100s)",
			   profile, conf.account, conf.role);
	r = creds_cache_load(c, key, out, source);
	if (!r)
		r = get_role_creds(c, profile, &conf, key, source, out, err) < 0
			? -1
			: 1;
	free(key);
	free(source);
	return r;
}
