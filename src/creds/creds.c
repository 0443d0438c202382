/*
 * creds: which profile, region, endpoint and keys to use, read from the
 * command line, the environment and the AWS config files in the order the
 * AWS CLI v2 uses (see include/gpuctl/creds.h).
 */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "gpuctl/creds.h"
#include "gpuctl/util.h"
#include "creds_int.h"

struct ctx {
	char *profile;
	const char *profile_from; /* "--profile", "AWS_PROFILE", … or NULL */
	struct creds_ini config;
	struct creds_ini creds;
};

#define CTX_INIT                                           \
	{                                                  \
		NULL, NULL, CREDS_INI_INIT, CREDS_INI_INIT \
	}

static int nonempty(const char *s)
{
	return s && *s;
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
static const char *config_get(const struct ctx *c, const char *key)
{
	const struct creds_ini_section *any = NULL;
	const char *v = NULL, *sv;
	size_t i;

	for (i = 0; i < c->config.nr; i++) {
		const struct creds_ini_section *s = &c->config.sections[i];

		if (!section_is(s->name, "profile", c->profile))
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

/* A profile setting: the credentials file's [NAME] first, then config. */
static const char *profile_get(const struct ctx *c, const char *key,
			       const struct creds_ini **from)
{
	const struct creds_ini_section *s;
	const char *v;

	s = creds_ini_section(&c->creds, c->profile);
	v = creds_ini_get(&c->creds, s, key);
	if (v) {
		*from = &c->creds;
		return v;
	}
	*from = &c->config;
	return config_get(c, key);
}

static int profile_exists(const struct ctx *c)
{
	size_t i;

	if (creds_ini_section(&c->creds, c->profile))
		return 1;
	for (i = 0; i < c->config.nr; i++)
		if (section_is(c->config.sections[i].name, "profile",
			       c->profile))
			return 1;
	return 0;
}

static const char *path_or(const struct creds_ini *ini, const char *def)
{
	return ini->path ? ini->path : def;
}

static void ctx_release(struct ctx *c)
{
	free(c->profile);
	creds_ini_release(&c->config);
	creds_ini_release(&c->creds);
}

static int ctx_load(const struct creds_inputs *in, struct ctx *c,
		    struct gpuctl_err *err)
{
	static const char *const vars[] = {"AWS_PROFILE",
					   "AWS_DEFAULT_PROFILE"};
	char *cfg = NULL, *crd = NULL;
	const char *p = NULL;
	int rc = -1;
	size_t i;

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
	if (c->profile_from && !profile_exists(c)) {
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
static char *services_endpoint(const struct ctx *c, const char *svc)
{
	const struct creds_ini *from;
	const char *name, *block = NULL;
	char *ret = NULL;
	size_t i;

	name = profile_get(c, "services", &from);
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

static int resolve_endpoint(const struct creds_inputs *in, const struct ctx *c,
			    struct creds_config *out, struct gpuctl_err *err)
{
	const char *senv = nonempty(in->service_env) ? in->service_env : "EC2";
	const struct creds_ini *from, *pfrom = NULL;
	const char *ign, *e_svc = NULL, *e_all = NULL, *p_all = NULL;
	char *var, *svc, *sect = NULL, *src = NULL, *url = NULL;
	int ignore, rc = -1;
	size_t i;

	var = xasprintf("AWS_ENDPOINT_URL_%s", senv);
	svc = xstrdup(senv);
	for (i = 0; svc[i]; i++)
		svc[i] = svc[i] >= 'A' && svc[i] <= 'Z' ? (char)(svc[i] + 32)
							: svc[i];
	ign = env_get(in->envp, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	if (!ign)
		ign = profile_get(c, "ignore_configured_endpoint_urls", &from);
	ignore = ign && !strcasecmp(ign, "true");

	if (!ignore) {
		e_svc = env_get(in->envp, var);
		sect = services_endpoint(c, svc);
		e_all = env_get(in->envp, "AWS_ENDPOINT_URL");
		p_all = profile_get(c, "endpoint_url", &pfrom);
	}
	if (nonempty(in->endpoint_url)) {
		url = xstrdup(in->endpoint_url);
		src = xstrdup("--endpoint-url");
	} else if (e_svc) {
		url = xstrdup(e_svc);
		src = xstrdup(var);
	} else if (sect) {
		url = xstrdup(sect);
		src = xasprintf("the services section of profile %.100s in %s",
				c->profile, c->config.path);
	} else if (e_all) {
		url = xstrdup(e_all);
		src = xstrdup("AWS_ENDPOINT_URL");
	} else if (nonempty(p_all)) {
		url = xstrdup(p_all);
		src =
		    xasprintf("profile %.100s in %s", c->profile, pfrom->path);
	} else {
		url =
		    xasprintf("https://%s.%s.amazonaws.com%s", svc, out->region,
			      starts_with(out->region, "cn-") ? ".cn" : "");
		src = xstrdup("default");
	}
	if (!valid_endpoint(url)) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"bad endpoint URL \"%.200s\" from %s: want "
			"http://HOST[:PORT][/PATH] or https://…",
			url, src);
		goto out;
	}
	set_str(&out->endpoint_url, url);
	set_str(&out->endpoint_source, src);
	rc = 0;
out:
	free(var);
	free(svc);
	free(sect);
	free(src);
	free(url);
	return rc;
}

int creds_resolve_region(const struct creds_inputs *in,
			 struct creds_config *out, struct gpuctl_err *err)
{
	static const char *const vars[] = {"AWS_REGION", "AWS_DEFAULT_REGION"};
	struct ctx c = CTX_INIT;
	const struct creds_ini *from = NULL;
	const char *r = NULL, *v;
	char *src = NULL;
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
		v = profile_get(&c, "region", &from);
		if (nonempty(v)) {
			r = v;
			src = xasprintf("profile %s in %s", c.profile,
					from->path);
		}
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
		v = profile_get(&c, "ca_bundle", &from);
	set_str(&out->ca_bundle, nonempty(v) ? v : NULL);
	rc = 0;
out:
	free(src);
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
	out->creds_world_readable = 0;
}

static int from_env(const struct creds_inputs *in, long long now,
		    struct creds_config *out, struct gpuctl_err *err)
{
	const char *ak, *sk, *tok, *exp;
	long long when = 0;

	ak = env_get(in->envp, "AWS_ACCESS_KEY_ID");
	if (!ak)
		return 0;
	sk = env_get(in->envp, "AWS_SECRET_ACCESS_KEY");
	if (!sk)
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "partial credentials in the environment: "
			       "AWS_ACCESS_KEY_ID is set but "
			       "AWS_SECRET_ACCESS_KEY is not");
	/* botocore's order: the older name first */
	tok = env_get(in->envp, "AWS_SECURITY_TOKEN");
	if (!tok)
		tok = env_get(in->envp, "AWS_SESSION_TOKEN");
	exp = env_get(in->envp, "AWS_CREDENTIAL_EXPIRATION");
	if (exp && creds_parse_time(exp, &when) < 0)
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 "
			       "time such as 2026-11-26T12:00:00Z");
	if (exp && when <= now)
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "the credentials in the environment expired at "
			       "%.40s (AWS_CREDENTIAL_EXPIRATION)",
			       exp);
	out->access_key_id = xstrdup(ak);
	out->secret_access_key = xstrdup(sk);
	out->session_token = tok ? xstrdup(tok) : NULL;
	out->expiration = when;
	out->creds_source = xstrdup("environment");
	return 1;
}

/*
 * Static keys from a file: ak (non-empty) found means sk must be there.
 * Returns 1 when found, 0 when not, -1 on partial keys.
 */
static int from_values(const char *what, const char *path, const char *profile,
		       const char *ak, const char *sk, const char *tok1,
		       const char *tok2, unsigned mode,
		       struct creds_config *out, struct gpuctl_err *err)
{
	const char *tok = tok1 ? tok1 : tok2;

	if (!nonempty(ak))
		return 0;
	if (!nonempty(sk))
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "partial credentials for profile \"%.100s\" in "
			       "%s: aws_access_key_id is set but "
			       "aws_secret_access_key is not",
			       profile, path);
	out->access_key_id = xstrdup(ak);
	out->secret_access_key = xstrdup(sk);
	out->session_token = nonempty(tok) ? xstrdup(tok) : NULL;
	out->creds_source = xasprintf("%s %s", what, path);
	out->creds_world_readable = (mode & 077) != 0;
	return 1;
}

int creds_resolve_credentials(const struct creds_inputs *in,
			      struct creds_config *out, struct gpuctl_err *err)
{
	struct ctx c = CTX_INIT;
	const struct creds_ini_section *s;
	const struct creds_ini *from;
	const char *cp;
	long long now = in->now ? in->now : (long long)time(NULL);
	int r, rc = -1;

	clear_keys(out);
	if (ctx_load(in, &c, err) < 0)
		goto out;
	set_str(&out->profile, c.profile);

	if (!nonempty(in->profile)) {
		r = from_env(in, now, out, err);
		if (r)
			goto done;
	}

	s = creds_ini_section(&c.creds, c.profile);
	r = from_values("shared credentials file", c.creds.path, c.profile,
			creds_ini_get(&c.creds, s, "aws_access_key_id"),
			creds_ini_get(&c.creds, s, "aws_secret_access_key"),
			creds_ini_get(&c.creds, s, "aws_security_token"),
			creds_ini_get(&c.creds, s, "aws_session_token"),
			c.creds.mode, out, err);
	if (r)
		goto done;

	cp = profile_get(&c, "credential_process", &from);
	if (nonempty(cp)) {
		if (creds_process_fetch(c.profile, cp, in->envp, now, out,
					err) < 0)
			goto out;
		out->creds_source = xstrdup("credential_process");
		r = 1;
		goto done;
	}

	r = from_values("config file", c.config.path, c.profile,
			config_get(&c, "aws_access_key_id"),
			config_get(&c, "aws_secret_access_key"),
			config_get(&c, "aws_security_token"),
			config_get(&c, "aws_session_token"), c.config.mode, out,
			err);
	if (r)
		goto done;

	err_set(err, GPUCTL_ERR_CONFIG,
		"no credentials found for profile \"%.100s\": looked at %s, "
		"the shared credentials file %s (AWS_SHARED_CREDENTIALS_FILE), "
		"the config file %s (AWS_CONFIG_FILE) and the profile's "
		"credential_process",
		c.profile,
		nonempty(in->profile)
		    ? "the environment (skipped: --profile was given)"
		    : "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
		path_or(&c.creds, "~/.aws/credentials"),
		path_or(&c.config, "~/.aws/config"));
	err_hint(err, "run \"aws configure\", set AWS_ACCESS_KEY_ID and "
		      "AWS_SECRET_ACCESS_KEY, or add credential_process to "
		      "the profile");
	goto out;
done:
	if (r < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		clear_keys(out);
	ctx_release(&c);
	return rc;
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
