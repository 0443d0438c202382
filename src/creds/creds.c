/*
 * creds: which profile, region, endpoint and keys to use, read from the
 * command line, the environment and the AWS config files in the order the
 * AWS CLI v2 uses (see include/gpuctl/creds.h).  This file holds the
 * chain; the providers that fetch temporary credentials are in assume.c,
 * sso.c and meta.c, the AWS CLI's cache in cache.c.
 */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "gpuctl/creds.h"
#include "gpuctl/log.h"
#include "gpuctl/util.h"
#include "creds_int.h"

/* Temporary keys are fetched again this long before they expire... */
#define REFRESH_MARGIN 300
/* ... or when a third of their lifetime is left, if that is shorter. */
#define REFRESH_SHARE 3

static int nonempty(const char *s)
{
	return s && *s;
}

const char *creds_env(const struct creds_ctx *c, const char *name)
{
	return env_get(c->in->envp, name);
}

int creds_is_true(const char *s)
{
	return s && !strcasecmp(s, "true");
}

/* The file named by env var var (with ~ expanded), else $HOME/def. */
static char *file_path(char *const *envp, const char *var, const char *def)
{
	const char *v = env_get(envp, var);
	char *home, *ret = NULL;

	if (v && v[0] != '~')
		return xstrdup(v);
	if (v && v[1] && v[1] != '/')
		return xstrdup(v); /* ~user: left as it is */
	home = env_home(envp);
	if (home)
		ret = v ? xasprintf("%s%s", home, v + 1)
			: xasprintf("%s/%s", home, def);
	free(home);
	return ret;
}

/*
 * 1 when the config file section name is the profile's: [default],
 * or "profile" and the name as shlex.split() gives it (as botocore's
 * build_profile_map()).
 */
static int section_is(const char *name, const char *prefix, const char *want)
{
	char **argv;
	int argc, match;

	if (!strcmp(prefix, "profile") && !strcmp(name, "default"))
		return !strcmp(want, "default");
	if (!starts_with(name, prefix))
		return 0;
	argv = creds_split_command(name, &argc);
	match = argv && argc == 2 && !strcmp(argv[1], want);
	creds_argv_free(argv);
	return match;
}

/* key from the last [profile NAME] section that has it, or [DEFAULT]. */
static const char *config_get(const struct creds_ctx *c, const char *profile,
			      const char *key)
{
	const struct creds_ini_section *any = NULL;
	const char *v = NULL, *sv;
	size_t i;

	for (i = 0; i < c->config.nr; i++) {
		const struct creds_ini_section *s = &c->config.sections[i];

		if (!section_is(s->name, "profile", profile))
			continue;
		any = s;
		sv = creds_ini_section_get(s, key);
		if (sv)
			v = sv;
	}
	if (!v && any)
		v = creds_ini_get(&c->config, any, key); /* [DEFAULT] */
	return v;
}

const char *creds_profile_get(const struct creds_ctx *c, const char *profile,
			      const char *key, const struct creds_ini **from)
{
	const struct creds_ini_section *s;
	const char *v;

	s = creds_ini_section(&c->creds, profile);
	v = creds_ini_get(&c->creds, s, key);
	if (v) {
		if (from)
			*from = &c->creds;
		return v;
	}
	if (from)
		*from = &c->config;
	return config_get(c, profile, key);
}

int creds_profile_exists(const struct creds_ctx *c, const char *profile)
{
	return creds_ini_section(&c->creds, profile) ||
	       creds_config_section(c, "profile", profile);
}

const struct creds_ini_section *creds_config_section(const struct creds_ctx *c,
						     const char *prefix,
						     const char *name)
{
	const struct creds_ini_section *found = NULL;
	size_t i;

	for (i = 0; i < c->config.nr; i++)
		if (section_is(c->config.sections[i].name, prefix, name))
			found = &c->config.sections[i];
	return found;
}

static const char *path_or(const struct creds_ini *ini, const char *def)
{
	return ini->path ? ini->path : def;
}

static void ctx_release(struct creds_ctx *c)
{
	free(c->profile);
	creds_ini_release(&c->config);
	creds_ini_release(&c->creds);
}

static int ctx_load(const struct creds_inputs *in, struct creds_ctx *c,
		    struct gpuctl_err *err)
{
	static const char *const vars[] = {"AWS_PROFILE",
					   "AWS_DEFAULT_PROFILE"};
	char *cfg = NULL, *crd = NULL;
	const char *p = NULL;
	int rc = -1;
	size_t i;

	c->in = in;
	c->now = in->now ? in->now : (long long)time(NULL);
	if (nonempty(in->profile)) {
		p = in->profile;
		c->profile_from = "--profile";
	}
	for (i = 0; !p && i < 2; i++) {
		p = env_get(in->envp, vars[i]);
		c->profile_from = p ? vars[i] : NULL;
	}
	c->profile = xstrdup(p ? p : "default");
	cfg = file_path(in->envp, "AWS_CONFIG_FILE", ".aws/config");
	crd = file_path(in->envp, "AWS_SHARED_CREDENTIALS_FILE",
			".aws/credentials");
	if (creds_ini_load(&c->config, cfg, err) < 0 ||
	    creds_ini_load(&c->creds, crd, err) < 0)
		goto out;
	if (c->profile_from && !creds_profile_exists(c, c->profile)) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"the config profile (%.100s) could not be found",
			c->profile);
		err_hint(err,
			 "add [profile %.100s] to %s or [%.100s] to %s, or "
			 "fix %s",
			 c->profile, path_or(&c->config, "~/.aws/config"),
			 c->profile, path_or(&c->creds, "~/.aws/credentials"),
			 c->profile_from);
		goto out;
	}
	rc = 0;
out:
	free(cfg);
	free(crd);
	return rc;
}

static void set_str(char **field, const char *v)
{
	free(*field);
	*field = v ? xstrdup(v) : NULL;
}

/* As botocore's validate_region_name(): a DNS label. */
static int valid_region(const char *r)
{
	size_t i, n = strlen(r);

	if (n < 1 || n > 63 || r[0] == '-' || r[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((r[i] >= 'a' && r[i] <= 'z') ||
		      (r[i] >= 'A' && r[i] <= 'Z') ||
		      (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
			return 0;
	return 1;
}

static int valid_endpoint(const char *u)
{
	const char *h;

	if (!strncasecmp(u, "https://", 8))
		h = u + 8;
	else if (!strncasecmp(u, "http://", 7))
		h = u + 7;
	else
		return 0;
	if (!*h || *h == '/' || *h == ':' || *h == '?' || *h == '#')
		return 0;
	for (; *u; u++)
		if ((unsigned char)*u <= ' ' || *u == 0x7f)
			return 0;
	return 1;
}

/* The endpoint_url under <service> in the profile's [services NAME]. */
static char *services_endpoint(const struct creds_ctx *c, const char *svc)
{
	const char *name, *block = NULL;
	char *ret = NULL;
	size_t i;

	name = creds_profile_get(c, c->profile, "services", NULL);
	if (!nonempty(name))
		return NULL;
	for (i = 0; i < c->config.nr; i++) {
		const struct creds_ini_section *s = &c->config.sections[i];
		const char *v;

		if (!section_is(s->name, "services", name))
			continue;
		v = creds_ini_get(&c->config, s, svc);
		if (v)
			block = v;
	}
	if (block && block[0] == '\n')
		ret = creds_ini_subvalue(block, "endpoint_url");
	if (ret && !*ret) {
		free(ret);
		ret = NULL;
	}
	return ret;
}

/* The endpoint; flag is --endpoint-url (EC2's only) or NULL. */
static int endpoint_of(const struct creds_ctx *c, const char *senv,
		       const char *flag, const char *fallback, char **url,
		       char **source, struct gpuctl_err *err)
{
	const struct creds_ini *pfrom = NULL;
	const char *ign, *e_svc = NULL, *e_all = NULL, *p_all = NULL;
	char *var, *svc, *sect = NULL, *src = NULL, *u = NULL;
	int ignore, rc = -1;
	size_t i;

	var = xasprintf("AWS_ENDPOINT_URL_%s", senv);
	svc = xstrdup(senv);
	for (i = 0; svc[i]; i++)
		svc[i] = svc[i] >= 'A' && svc[i] <= 'Z' ? (char)(svc[i] + 32)
							: svc[i];
	ign = creds_env(c, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	if (!ign)
		ign = creds_profile_get(
		    c, c->profile, "ignore_configured_endpoint_urls", NULL);
	ignore = creds_is_true(ign);

	if (!ignore) {
		e_svc = creds_env(c, var);
		sect = services_endpoint(c, svc);
		e_all = creds_env(c, "AWS_ENDPOINT_URL");
		p_all =
		    creds_profile_get(c, c->profile, "endpoint_url", &pfrom);
	}
	if (nonempty(flag)) {
		u = xstrdup(flag);
		src = xstrdup("--endpoint-url");
	} else if (e_svc) {
		u = xstrdup(e_svc);
		src = xstrdup(var);
	} else if (sect) {
		u = xstrdup(sect);
		src = xasprintf("the services section of profile %.100s in %s",
				c->profile, c->config.path);
	} else if (e_all) {
		u = xstrdup(e_all);
		src = xstrdup("AWS_ENDPOINT_URL");
	} else if (nonempty(p_all)) {
		u = xstrdup(p_all);
		src =
		    xasprintf("profile %.100s in %s", c->profile, pfrom->path);
	} else {
		u = xstrdup(fallback);
		src = xstrdup("default");
	}
	if (!valid_endpoint(u)) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"bad endpoint URL \"%.200s\" from %s: want "
			"http://HOST[:PORT][/PATH] or https://…",
			u, src);
		goto out;
	}
	*url = u;
	*source = src;
	u = src = NULL;
	rc = 0;
out:
	free(var);
	free(svc);
	free(sect);
	free(src);
	free(u);
	return rc;
}

int creds_service_endpoint(const struct creds_ctx *c, const char *service_env,
			   const char *fallback, char **url, char **source,
			   struct gpuctl_err *err)
{
	return endpoint_of(c, service_env, NULL, fallback, url, source, err);
}

static int resolve_endpoint(const struct creds_inputs *in,
			    const struct creds_ctx *c, struct creds_config *out,
			    struct gpuctl_err *err)
{
	const char *senv = nonempty(in->service_env) ? in->service_env : "EC2";
	char *svc, *fallback, *url = NULL, *src = NULL;
	size_t i;
	int rc;

	svc = xstrdup(senv);
	for (i = 0; svc[i]; i++)
		svc[i] = svc[i] >= 'A' && svc[i] <= 'Z' ? (char)(svc[i] + 32)
							: svc[i];
	fallback = xasprintf("https://%s.%s.amazonaws.com%s", svc, out->region,
			     starts_with(out->region, "cn-") ? ".cn" : "");
	rc = endpoint_of(c, senv, in->endpoint_url, fallback, &url, &src, err);
	if (!rc) {
		free(out->endpoint_url);
		free(out->endpoint_source);
		out->endpoint_url = url;
		out->endpoint_source = src;
	}
	free(svc);
	free(fallback);
	return rc;
}

int creds_resolve_region(const struct creds_inputs *in,
			 struct creds_config *out, struct gpuctl_err *err)
{
	static const char *const vars[] = {"AWS_REGION", "AWS_DEFAULT_REGION"};
	struct creds_ctx c = {0};
	const struct creds_ini *from = NULL;
	const char *r = NULL, *v;
	char *src = NULL, *imds = NULL;
	int rc = -1;
	size_t i;

	if (ctx_load(in, &c, err) < 0)
		goto out;
	set_str(&out->profile, c.profile);
	if (nonempty(in->region)) {
		r = in->region;
		src = xstrdup("--region");
	}
	for (i = 0; !r && i < 2; i++) {
		r = env_get(in->envp, vars[i]);
		if (r)
			src = xstrdup(vars[i]);
	}
	if (!r) {
		v = creds_profile_get(&c, c.profile, "region", &from);
		if (nonempty(v)) {
			r = v;
			src = xasprintf("profile %s in %s", c.profile,
					from->path);
		}
	}
	if (!r) {
		int found = creds_imds_region(&c, &imds, &src, err);

		if (found < 0)
			goto out;
		r = imds;
	}
	if (!r) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"no region configured: looked at --region, AWS_REGION, "
			"AWS_DEFAULT_REGION and the \"region\" of profile "
			"\"%.100s\" in %s",
			c.profile, path_or(&c.config, "~/.aws/config"));
		err_hint(err, "pass --region REGION or set AWS_REGION (AMIs "
			      "and prices differ by region)");
		goto out;
	}
	if (!valid_region(r)) {
		err_set(
		    err, GPUCTL_ERR_CONFIG,
		    "invalid region \"%.64s\" from %s: a region is letters, "
		    "digits and '-', such as us-west-1",
		    r, src);
		goto out;
	}
	set_str(&out->region, r);
	set_str(&out->region_source, src);
	if (resolve_endpoint(in, &c, out, err) < 0)
		goto out;
	v = env_get(in->envp, "AWS_CA_BUNDLE");
	if (!v)
		v = creds_profile_get(&c, c.profile, "ca_bundle", &from);
	set_str(&out->ca_bundle, nonempty(v) ? v : NULL);
	rc = 0;
out:
	free(src);
	free(imds);
	ctx_release(&c);
	return rc;
}

static void clear_keys(struct creds_config *out)
{
	secure_free_str(out->access_key_id);
	secure_free_str(out->secret_access_key);
	secure_free_str(out->session_token);
	free(out->creds_source);
	out->access_key_id = NULL;
	out->secret_access_key = NULL;
	out->session_token = NULL;
	out->creds_source = NULL;
	out->expiration = 0;
	out->refresh_at = 0;
	out->creds_world_readable = 0;
}

void creds_set_keys(const struct creds_ctx *c, struct creds_config *out,
		    const char *ak, const char *sk, const char *token,
		    long long expiration, const char *source)
{
	long long life = expiration - c->now, margin;

	clear_keys(out);
	out->access_key_id = xstrdup(ak);
	out->secret_access_key = xstrdup(sk);
	out->session_token = nonempty(token) ? xstrdup(token) : NULL;
	log_add_secret(sk);
	log_add_secret(token);
	out->expiration = expiration;
	margin = life / REFRESH_SHARE < REFRESH_MARGIN ? life / REFRESH_SHARE
						       : REFRESH_MARGIN;
	out->refresh_at = expiration ? expiration - margin : 0;
	out->creds_source = xstrdup(source);
}

/* Printable ASCII, no blanks: what a secret key or a token is. */
static int printable(const char *s, size_t min, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n < min || n > max)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 0x7f)
			return 0;
	return 1;
}

static int access_key_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 16 || n > 128)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}

int creds_take_keys(const struct creds_ctx *c, const char *what, const char *ak,
		    const char *sk, const char *token, const char *expiration,
		    struct creds_config *out, const char *source,
		    struct gpuctl_err *err)
{
	long long when = 0;

	if (!access_key_ok(ak) || !printable(sk, 1, 1024) ||
	    !printable(token, 1, 16384))
		return err_set(err, GPUCTL_ERR_PARSE,
			       "%s answered credentials that are malformed or "
			       "missing (access key, secret key and session "
			       "token)",
			       what);
	if (!expiration || creds_parse_time(expiration, &when) < 0)
		return err_set(err, GPUCTL_ERR_PARSE,
			       "%s answered credentials without a readable "
			       "expiration",
			       what);
	if (when <= c->now)
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "%s answered credentials that expired at %.40s "
			       "(is this machine's clock right?)",
			       what, expiration);
	creds_set_keys(c, out, ak, sk, token, when, source);
	return 0;
}

int creds_from_env(const struct creds_ctx *c, struct creds_config *out,
		   struct gpuctl_err *err)
{
	const char *ak, *sk, *tok, *exp;
	long long when = 0;

	ak = creds_env(c, "AWS_ACCESS_KEY_ID");
	if (!ak)
		return 0;
	sk = creds_env(c, "AWS_SECRET_ACCESS_KEY");
	if (!sk)
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "partial credentials in the environment: "
			       "AWS_ACCESS_KEY_ID is set but "
			       "AWS_SECRET_ACCESS_KEY is not");
	/* botocore's order: the older name first */
	tok = creds_env(c, "AWS_SECURITY_TOKEN");
	if (!tok)
		tok = creds_env(c, "AWS_SESSION_TOKEN");
	exp = creds_env(c, "AWS_CREDENTIAL_EXPIRATION");
	if (exp && creds_parse_time(exp, &when) < 0)
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 "
			       "time such as 2026-11-26T12:00:00Z");
	if (exp && when <= c->now)
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "the credentials in the environment expired at "
			       "%.40s (AWS_CREDENTIAL_EXPIRATION)",
			       exp);
	creds_set_keys(c, out, ak, sk, tok, when, "environment");
	/* the environment cannot change under us: nothing to refresh */
	out->refresh_at = 0;
	return 1;
}

/*
 * Static keys from a file: ak (non-empty) found means sk must be there.
 * Returns 1 when found, 0 when not, -1 on partial keys.
 */
static int from_values(const struct creds_ctx *c, const char *what,
		       const char *path, const char *profile, const char *ak,
		       const char *sk, const char *tok1, const char *tok2,
		       unsigned mode, struct creds_config *out,
		       struct gpuctl_err *err)
{
	const char *tok = tok1 ? tok1 : tok2;
	char *src;

	if (!nonempty(ak))
		return 0;
	if (!nonempty(sk))
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "partial credentials for profile \"%.100s\" in "
			       "%s: aws_access_key_id is set but "
			       "aws_secret_access_key is not",
			       profile, path);
	src = xasprintf("%s %s", what, path);
	creds_set_keys(c, out, ak, sk, tok, 0, src);
	free(src);
	out->creds_world_readable = (mode & 077) != 0;
	return 1;
}

int creds_profile_chain(const struct creds_ctx *c, const char *profile,
			int env_ok, struct creds_config *out,
			struct gpuctl_err *err)
{
	const struct creds_ini_section *s;
	const char *cp;
	int r;

	r = creds_web_identity(c, profile, env_ok, out, err);
	if (!r)
		r = creds_sso(c, profile, out, err);
	if (r)
		return r;
	s = creds_ini_section(&c->creds, profile);
	r = from_values(c, "shared credentials file", c->creds.path, profile,
			creds_ini_get(&c->creds, s, "aws_access_key_id"),
			creds_ini_get(&c->creds, s, "aws_secret_access_key"),
			creds_ini_get(&c->creds, s, "aws_security_token"),
			creds_ini_get(&c->creds, s, "aws_session_token"),
			c->creds.mode, out, err);
	if (r)
		return r;
	cp = creds_profile_get(c, profile, "credential_process", NULL);
	if (nonempty(cp)) {
		struct creds_config got = CREDS_CONFIG_INIT;

		if (creds_process_fetch(profile, cp, c->in->envp, c->now, &got,
					err) < 0) {
			creds_config_release(&got);
			return -1;
		}
		creds_set_keys(c, out, got.access_key_id, got.secret_access_key,
			       got.session_token, got.expiration,
			       "credential_process");
		creds_config_release(&got);
		return 1;
	}
	return from_values(c, "config file", c->config.path, profile,
			   config_get(c, profile, "aws_access_key_id"),
			   config_get(c, profile, "aws_secret_access_key"),
			   config_get(c, profile, "aws_security_token"),
			   config_get(c, profile, "aws_session_token"),
			   c->config.mode, out, err);
}

/* The whole chain for the top profile (see creds.h). */
static int chain(const struct creds_ctx *c, struct creds_config *out,
		 struct gpuctl_err *err)
{
	int env_ok = !nonempty(c->in->profile), r = 0;

	if (env_ok)
		r = creds_from_env(c, out, err);
	if (!r)
		r = creds_assume_role(c, c->profile, out, err);
	if (!r)
		r = creds_profile_chain(c, c->profile, env_ok, out, err);
	if (!r)
		r = creds_container(c, out, err);
	if (!r)
		r = creds_imds(c, out, err);
	if (r)
		return r < 0 ? -1 : 0;
	err_set(err, GPUCTL_ERR_CONFIG,
		"no credentials found for profile \"%.100s\": looked at %s, "
		"the shared credentials file %s (AWS_SHARED_CREDENTIALS_FILE), "
		"the config file %s (AWS_CONFIG_FILE: role_arn, "
		"web_identity_token_file, sso_session, credential_process, "
		"keys), the container credentials endpoint and the instance "
		"metadata service",
		c->profile,
		nonempty(c->in->profile)
		    ? "the environment (skipped: --profile was given)"
		    : "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
		path_or(&c->creds, "~/.aws/credentials"),
		path_or(&c->config, "~/.aws/config"));
	err_hint(err, "run \"aws configure\" or \"aws sso login\", set "
		      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add "
		      "role_arn or credential_process to the profile");
	return -1;
}

/* One resolution into out; region and ca_bundle are borrowed. */
static int resolve(const struct creds_inputs *in, struct creds_config *out,
		   const char *region, const char *ca_bundle, int refreshing,
		   int force, struct gpuctl_err *err)
{
	struct creds_ctx c = {0};
	int rc = -1;

	clear_keys(out);
	c.refreshing = refreshing;
	c.force = force;
	if (ctx_load(in, &c, err) < 0)
		goto out;
	c.region = region;
	c.ca_bundle = ca_bundle;
	set_str(&out->profile, c.profile);
	rc = chain(&c, out, err);
out:
	if (rc < 0)
		clear_keys(out);
	ctx_release(&c);
	return rc;
}

int creds_resolve_credentials(const struct creds_inputs *in,
			      struct creds_config *out, struct gpuctl_err *err)
{
	return resolve(in, out, out->region, out->ca_bundle, 0, 0, err);
}

int creds_refresh(const struct creds_inputs *in, struct creds_config *c,
		  int force, struct gpuctl_err *err)
{
	struct creds_config fresh = CREDS_CONFIG_INIT;
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	long long now = in->now ? in->now : (long long)time(NULL);
	char when[21];

	if (!c->refresh_at || (!force && now < c->refresh_at))
		return 0;
	if (resolve(in, &fresh, c->region, c->ca_bundle, 1, force, &e) < 0) {
		creds_config_release(&fresh);
		if (!force && now < c->expiration) {
			creds_format_time(c->expiration, when);
			log_warn("could not refresh the credentials (%s); the "
				 "ones held last until %s",
				 e.message, when);
			err_clear(&e);
			/* try again in a while, not on every request */
			c->refresh_at =
			    now + 30 < c->expiration ? now + 30 : c->expiration;
			return 0;
		}
		*err = e;
		err_prefix(err, "refreshing the temporary credentials");
		return -1;
	}
	clear_keys(c);
	c->access_key_id = fresh.access_key_id;
	c->secret_access_key = fresh.secret_access_key;
	c->session_token = fresh.session_token;
	c->expiration = fresh.expiration;
	c->refresh_at = fresh.refresh_at;
	c->creds_source = fresh.creds_source;
	c->creds_world_readable = fresh.creds_world_readable;
	fresh.access_key_id = fresh.secret_access_key = NULL;
	fresh.session_token = fresh.creds_source = NULL;
	creds_config_release(&fresh);
	return 1;
}

void creds_config_release(struct creds_config *c)
{
	clear_keys(c);
	free(c->profile);
	free(c->region);
	free(c->region_source);
	free(c->endpoint_url);
	free(c->endpoint_source);
	free(c->ca_bundle);
	memset(c, 0, sizeof(*c));
}

void creds_sts_result_release(struct creds_sts_result *r)
{
	free(r->access_key_id);
	secure_free_str(r->secret_access_key);
	secure_free_str(r->session_token);
	free(r->expiration);
	free(r->assumed_role_id);
	free(r->arn);
	memset(r, 0, sizeof(*r));
}
