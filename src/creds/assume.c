/*
 * assume: profiles that assume a role (role_arn with source_profile or
 * credential_source, as botocore's AssumeRoleProvider) and web identity
 * (AssumeRoleWithWebIdentityProvider), through the STS interface the
 * caller passes in, with the AWS CLI's cache; the MFA prompt on the
 * terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "gpuctl/creds.h"
#include "gpuctl/log.h"
#include "gpuctl/util.h"
#include "creds_int.h"

#define MAX_ROLE_ARGS 5
#define MFA_CODE_MAX  64
/* a web identity token file (a JWT is a few KiB) */
#define TOKEN_FILE_MAX (64 * 1024)

static int nonempty(const char *s)
{
	return s && *s;
}

/* botocore's _has_assume_role_config_vars() */
static int has_role(const struct creds_ctx *c, const char *profile)
{
	return creds_profile_get(c, profile, "role_arn", NULL) &&
	       !creds_profile_get(c, profile, "web_identity_token_file", NULL);
}

/* botocore's _has_static_credentials() */
static int has_static(const struct creds_ctx *c, const char *profile)
{
	return creds_profile_get(c, profile, "aws_access_key_id", NULL) ||
	       creds_profile_get(c, profile, "aws_secret_access_key", NULL);
}

/* The canonical credential_source names, compared without case. */
static const char *const sources[] = {"Environment", "Ec2InstanceMetadata",
				      "EcsContainer"};

static int source_index(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(sources) / sizeof(*sources); i++)
		if (!strcasecmp(name, sources[i]))
			return (int)i;
	return -1;
}

/* "a -> b -> c" for a loop message. */
static void add_chain(struct buf *b, const char *const *visited, size_t n,
		      const char *last)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf_addf(b, "\"%.100s\" -> ", visited[i]);
	buf_addf(b, "\"%.100s\"", last);
}

/*
 * Checks the role configuration of profile and of every profile its
 * source_profile chain goes through, as botocore's _get_role_config()
 * does before anything is fetched.  visited holds the chain so far.
 */
static int check_chain(const struct creds_ctx *c, const char *profile,
		       const char **visited, size_t n, struct gpuctl_err *err)
{
	const char *src, *cs;
	const char **more;
	struct buf b = BUF_INIT;
	int rc;

	src = creds_profile_get(c, profile, "source_profile", NULL);
	cs = creds_profile_get(c, profile, "credential_source", NULL);
	if (src && cs)
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "profile \"%.100s\" has both source_profile and "
			       "credential_source: keep one",
			       profile);
	if (!src && !cs) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"profile \"%.100s\" has role_arn but neither "
			"source_profile nor credential_source",
			profile);
		err_hint(err, "add source_profile = PROFILE (whose keys "
			      "assume the role) or credential_source = "
			      "Environment, Ec2InstanceMetadata or "
			      "EcsContainer");
		return -1;
	}
	if (cs) {
		if (source_index(cs) >= 0)
			return 0;
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "the credential_source \"%.60s\" of profile "
			       "\"%.100s\" is not valid: use Environment, "
			       "Ec2InstanceMetadata or EcsContainer",
			       cs, profile);
	}
	if (!creds_profile_exists(c, src))
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "the source_profile \"%.100s\" of profile "
			       "\"%.100s\" does not exist",
			       src, profile);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(visited[i], src))
			continue;
		/* a profile may name itself to use its own static keys */
		if (!strcmp(src, profile) && has_static(c, src))
			return 0;
		add_chain(&b, visited, n, src);
		err_set(err, GPUCTL_ERR_CONFIG,
			"the source_profile settings form a loop: %s", b.data);
		err_hint(err, "one profile of the chain needs keys of its "
			      "own (or credential_source) instead of "
			      "source_profile");
		buf_release(&b);
		return -1;
	}
	if (has_static(c, src) || !has_role(c, src))
		return 0;
	more = xcalloc(n + 1, sizeof(*more));
	memcpy(more, visited, n * sizeof(*more));
	more[n] = src;
	rc = check_chain(c, src, more, n + 1, err);
	free(more);
	return rc;
}

/*
 * The signal that interrupted the prompt: set by its handler only, while
 * the terminal's echo is off (the one use of a mutable global here).
 */
static volatile sig_atomic_t prompt_signal;

static void on_prompt_signal(int sig)
{
	prompt_signal = sig;
}

/*
 * The default prompt: the controlling terminal, without echo.  Ctrl-C and
 * the like give the terminal its echo back before they take effect, as
 * OpenSSH's readpassphrase() does.
 */
static int tty_prompt(const char *prompt, char *answer, size_t size,
		      struct gpuctl_err *err)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	struct sigaction sa, saved[4];
	struct termios old, quiet;
	int fd, rc = -1, restore = 0;
	size_t n = 0, i;
	ssize_t r = 0;
	char ch;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "there is no terminal to ask for it on");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_prompt_signal; /* no SA_RESTART: read() returns */
	sigemptyset(&sa.sa_mask);
	prompt_signal = 0;
	for (i = 0; i < 4; i++)
		sigaction(sigs[i], &sa, &saved[i]);
	/* echo off before the prompt shows (as getpass), so that nothing
	 * typed after it is echoed or flushed */
	if (!tcgetattr(fd, &old)) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		restore = !tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	if (write(fd, prompt, strlen(prompt)) < 0)
		goto out;
	while (!prompt_signal) {
		r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || ch == '\n' || ch == '\r')
			break;
		if (n + 1 < size)
			answer[n++] = ch;
	}
	answer[n] = '\0';
	rc = r < 0 ? -1 : 0;
out:
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0)
		rc = -1;
	close(fd);
	for (i = 0; i < 4; i++)
		sigaction(sigs[i], &saved[i], NULL);
	if (prompt_signal) {
		explicit_bzero(answer, size);
		raise(prompt_signal);
		return err_set(err, GPUCTL_ERR_CONFIG, "interrupted");
	}
	if (rc < 0)
		err_set(err, GPUCTL_ERR_CONFIG,
			"could not read it from the terminal: %s",
			strerror(errno));
	return rc;
}

/* Asks for the MFA code of serial for profile into code. */
static int mfa_code(const struct creds_ctx *c, const char *profile,
		    const char *serial, char code[MFA_CODE_MAX],
		    struct gpuctl_err *err)
{
	char *prompt;
	int r;
	size_t i;

	if (c->refreshing) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"the role session of profile \"%.100s\" ended, and a "
			"new one needs an MFA code, which is asked only when "
			"a command starts",
			profile);
		err_hint(err, "run the command again");
		return -1;
	}
	prompt = xasprintf("Enter MFA code for %.200s: ", serial);
	if (c->in->prompt)
		r = c->in->prompt(c->in->prompt_arg, prompt, code, MFA_CODE_MAX,
				  err);
	else
		r = tty_prompt(prompt, code, MFA_CODE_MAX, err);
	free(prompt);
	if (r < 0) {
		err_prefix(err,
			   "profile \"%.100s\" needs an MFA code (mfa_serial "
			   "%.200s)",
			   profile, serial);
		err_hint(err,
			 "run gpuctl on a terminal, or run \"aws sts "
			 "get-caller-identity --profile %.100s\" there "
			 "first: gpuctl uses the session the AWS CLI "
			 "caches",
			 profile);
		return -1;
	}
	for (i = 0; code[i]; i++)
		if (code[i] < '0' || code[i] > '9')
			break;
	if (!i || code[i])
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "the MFA code for profile \"%.100s\" must be "
			       "digits",
			       profile);
	return 0;
}

/* The STS endpoint and signing region, as the AWS CLI picks them. */
static int sts_endpoint(const struct creds_ctx *c, char **url, char **src,
			const char **region, struct gpuctl_err *err)
{
	char *fallback;
	int rc;

	*region = c->region ? c->region : "us-east-1";
	fallback = c->region
		       ? xasprintf("https://sts.%s.amazonaws.com%s", c->region,
				   starts_with(c->region, "cn-") ? ".cn" : "")
		       : xstrdup("https://sts.amazonaws.com");
	rc = creds_service_endpoint(c, "STS", fallback, url, src, err);
	free(fallback);
	return rc;
}

/*
 * One STS call; takes the answer into out (with source) and stores it
 * in the cache under key.
 */
static int sts_call(const struct creds_ctx *c, const char *action,
		    const struct creds_config *caller,
		    const struct creds_param *params, size_t n, const char *key,
		    const char *source, struct creds_config *out,
		    struct gpuctl_err *err)
{
	struct creds_sts_request req = {0};
	struct creds_sts_result res = {0};
	char *url = NULL, *src = NULL, *what = NULL;
	int rc = -1;

	if (!c->in->sts.call)
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "cannot call STS %s here", action);
	if (sts_endpoint(c, &url, &src, &req.region, err) < 0)
		goto out;
	req.action = action;
	req.endpoint_url = url;
	req.ca_bundle = c->ca_bundle;
	if (caller) {
		req.access_key_id = caller->access_key_id;
		req.secret_access_key = caller->secret_access_key;
		req.session_token = caller->session_token;
	}
	req.params = params;
	req.nparams = n;
	log_debug("STS %s at %s (%s)", action, url, src);
	if (c->in->sts.call(c->in->sts.arg, &req, &res, err) < 0) {
		err_prefix(err, "STS %s", action);
		goto out;
	}
	what = xasprintf("STS %s", action);
	if (creds_take_keys(c, what, res.access_key_id, res.secret_access_key,
			    res.session_token, res.expiration, out, source,
			    err) < 0)
		goto out;
	creds_cache_store(c, key, NULL, &res);
	rc = 0;
out:
	creds_sts_result_release(&res);
	free(url);
	free(src);
	free(what);
	return rc;
}

/* The source credentials of a role profile (already checked). */
static int fetch_role(const struct creds_ctx *c, const char *profile,
		      struct creds_config *out, struct gpuctl_err *err);

static int source_creds(const struct creds_ctx *c, const char *profile,
			struct creds_config *src, struct gpuctl_err *err)
{
	const char *sp = creds_profile_get(c, profile, "source_profile", NULL);
	const char *cs =
	    creds_profile_get(c, profile, "credential_source", NULL);
	int r = 0;

	if (cs) {
		switch (source_index(cs)) {
		case 0:
			r = creds_from_env(c, src, err);
			break;
		case 1:
			r = creds_imds(c, src, err);
			break;
		default:
			r = creds_container(c, src, err);
		}
		if (!r)
			err_set(err, GPUCTL_ERR_CONFIG,
				"no credentials found in the credential_source "
				"%.60s of profile \"%.100s\"",
				cs, profile);
		return r > 0 ? 0 : -1;
	}
	if (strcmp(sp, profile) && !has_static(c, sp) && has_role(c, sp))
		return fetch_role(c, sp, src, err);
	r = creds_profile_chain(c, sp, 0, src, err);
	if (!r) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"the source profile \"%.100s\" of profile \"%.100s\" "
			"has no credentials",
			sp, profile);
		err_hint(err,
			 "give [%.100s] aws_access_key_id and "
			 "aws_secret_access_key, credential_process, or an "
			 "sso_session",
			 sp);
	}
	return r > 0 ? 0 : -1;
}

static int fetch_role(const struct creds_ctx *c, const char *profile,
		      struct creds_config *out, struct gpuctl_err *err)
{
	struct creds_key_arg args[MAX_ROLE_ARGS];
	struct creds_param params[MAX_ROLE_ARGS + 1];
	struct creds_config src = CREDS_CONFIG_INIT;
	const char *arn, *name, *ext, *mfa, *dur;
	char *key = NULL, *source = NULL, *gen = NULL;
	char code[MFA_CODE_MAX] = "";
	size_t n = 0, np = 0, i;
	long secs = 0;
	int rc = -1;

	arn = creds_profile_get(c, profile, "role_arn", NULL);
	name = creds_profile_get(c, profile, "role_session_name", NULL);
	ext = creds_profile_get(c, profile, "external_id", NULL);
	mfa = creds_profile_get(c, profile, "mfa_serial", NULL);
	dur = creds_profile_get(c, profile, "duration_seconds", NULL);
	if (name && !*name)
		name = NULL; /* botocore generates one, as when unset */
	if (dur && parse_long(dur, 0, 43200, &secs)) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"the duration_seconds of profile \"%.100s\" is not a "
			"number of seconds (900 to 43200)",
			profile);
		goto out;
	}
	/* the arguments of AssumeRole, as botocore hashes them */
	if (dur)
		args[n++] =
		    (struct creds_key_arg){"DurationSeconds", NULL, secs};
	if (ext)
		args[n++] = (struct creds_key_arg){"ExternalId", ext, 0};
	args[n++] = (struct creds_key_arg){"RoleArn", arn, 0};
	if (name)
		args[n++] = (struct creds_key_arg){"RoleSessionName", name, 0};
	if (mfa)
		args[n++] = (struct creds_key_arg){"SerialNumber", mfa, 0};
	key = creds_cache_key(args, n, 0);
	source =
	    xasprintf("assume-role profile \"%.100s\" (%.300s)", profile, arn);
	if (creds_cache_load(c, key, out, source) > 0) {
		rc = 0;
		goto out;
	}
	if (source_creds(c, profile, &src, err) < 0)
		goto out;
	free(source);
	source = xasprintf("assume-role profile \"%.100s\" (%.300s; source: "
			   "%s)",
			   profile, arn, src.creds_source);
	if (!name)
		name = gen = xasprintf("gpuctl-session-%lld", c->now);
	for (i = 0; i < n; i++)
		if (strcmp(args[i].name, "DurationSeconds"))
			params[np++] =
			    (struct creds_param){args[i].name, args[i].str};
	if (gen)
		params[np++] = (struct creds_param){"RoleSessionName", name};
	if (dur)
		params[np++] = (struct creds_param){"DurationSeconds", dur};
	if (mfa) {
		if (mfa_code(c, profile, mfa, code, err) < 0)
			goto out;
		params[np++] = (struct creds_param){"TokenCode", code};
	}
	rc = sts_call(c, "AssumeRole", &src, params, np, key, source, out, err);
out:
	explicit_bzero(code, sizeof(code));
	creds_config_release(&src);
	free(key);
	free(source);
	free(gen);
	return rc;
}

int creds_assume_role(const struct creds_ctx *c, const char *profile,
		      struct creds_config *out, struct gpuctl_err *err)
{
	const char *visited[1] = {profile};

	if (!has_role(c, profile))
		return 0;
	if (check_chain(c, profile, visited, 1, err) < 0 ||
	    fetch_role(c, profile, out, err) < 0)
		return -1;
	return 1;
}

/* A web identity setting: the variable (when allowed), else the profile's. */
static const char *wi_get(const struct creds_ctx *c, const char *profile,
			  int env_ok, const char *key, const char *var)
{
	const char *v = env_ok ? creds_env(c, var) : NULL;

	return v ? v : creds_profile_get(c, profile, key, NULL);
}

int creds_web_identity(const struct creds_ctx *c, const char *profile,
		       int env_ok, struct creds_config *out,
		       struct gpuctl_err *err)
{
	struct creds_key_arg args[2];
	struct creds_param params[3];
	struct buf tok = BUF_INIT;
	const char *file, *arn, *name;
	char *key = NULL, *source = NULL, *gen = NULL;
	size_t n = 0;
	int rc = -1;

	file = wi_get(c, profile, env_ok, "web_identity_token_file",
		      "AWS_WEB_IDENTITY_TOKEN_FILE");
	if (!nonempty(file))
		return 0;
	arn = wi_get(c, profile, env_ok, "role_arn", "AWS_ROLE_ARN");
	name = wi_get(c, profile, env_ok, "role_session_name",
		      "AWS_ROLE_SESSION_NAME");
	if (!nonempty(arn)) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"a web identity token file is set (%.300s) but no "
			"role: set role_arn in profile \"%.100s\" or "
			"AWS_ROLE_ARN",
			file, profile);
		return -1;
	}
	args[n++] = (struct creds_key_arg){"RoleArn", arn, 0};
	if (name)
		args[n++] = (struct creds_key_arg){"RoleSessionName", name, 0};
	key = creds_cache_key(args, n, 0);
	source =
	    xasprintf("web identity (%.300s, token file %.300s)", arn, file);
	if (creds_cache_load(c, key, out, source) > 0) {
		rc = 1;
		goto out;
	}
	if (creds_read_secret_file(file, TOKEN_FILE_MAX,
				   "the web identity token file", &tok,
				   err) < 0)
		goto out;
	/* botocore sends the file as it is; a final newline is no token's */
	while (tok.len &&
	       (tok.data[tok.len - 1] == '\n' || tok.data[tok.len - 1] == '\r'))
		tok.data[--tok.len] = '\0';
	if (!tok.len) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"the web identity token file %.300s is empty", file);
		goto out;
	}
	log_add_secret(tok.data);
	if (!name)
		name = gen = xasprintf("gpuctl-session-%lld", c->now);
	params[0] = (struct creds_param){"RoleArn", arn};
	params[1] = (struct creds_param){"RoleSessionName", name};
	params[2] = (struct creds_param){"WebIdentityToken", tok.data};
	if (sts_call(c, "AssumeRoleWithWebIdentity", NULL, params, 3, key,
		     source, out, err) < 0)
		goto out;
	rc = 1;
out:
	buf_release_secret(&tok);
	free(key);
	free(source);
	free(gen);
	return rc;
}
