/*
 * Tests for src/creds: profile, region, endpoint and credentials chain.
 *
 * Fake home directories live in tests/unit/data/creds/home-*; files whose
 * mode or contents must be made at run time (CRLF, credential_process
 * lines naming the fixture script) go into a mkdtemp() directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gpuctl/creds.h"
#include "gpuctl/err.h"
#include "gpuctl/log.h"
#include "gpuctl/util.h"
#include "../../src/creds/creds_int.h"

#define NOW 1767225600LL /* 2026-01-01T00:00:00Z */

static char *data_dir;	 /* .../tests/unit/data/creds */
static char *basic_home; /* data_dir/home-basic */
static char *quirk_home; /* data_dir/home-quirks */
static char *tmp_dir;

struct env {
	char *v[40];
	int n;
};

static void env_add(struct env *e, const char *k, const char *v)
{
	assert_true(e->n < 38);
	e->v[e->n++] = xasprintf("%s=%s", k, v);
	e->v[e->n] = NULL;
}

static void env_free(struct env *e)
{
	int i;

	for (i = 0; i < e->n; i++)
		free(e->v[i]);
	e->n = 0;
	e->v[0] = NULL;
}

static struct creds_inputs inputs(struct env *e)
{
	struct creds_inputs in = {0};
	int i;

	/* never the real instance metadata service from a unit test */
	for (i = 0; i < e->n; i++)
		if (starts_with(e->v[i], "AWS_EC2_METADATA_DISABLED="))
			break;
	if (i == e->n)
		env_add(e, "AWS_EC2_METADATA_DISABLED", "true");

	in.envp = e->v;
	in.service_env = "EC2";
	in.now = NOW;
	return in;
}

static char *tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmp_dir, name);
}

/* Writes name under tmp_dir with the given mode; returns its path. */
static char *write_tmp(const char *name, const char *text, mode_t mode)
{
	char *path = tmp_path(name);
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

/* Writes text to path, 0600. */
static void write_file_at(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int group_setup(void **state)
{
	const char *d = getenv("GPUCTL_TESTDATA");
	char tmpl[] = "/tmp/gpuctl-creds-XXXXXX";

	(void)state;
	data_dir = xasprintf("%s/creds", d && *d ? d : "tests/unit/data");
	if (data_dir[0] != '/') {
		char cwd[4096];

		if (!getcwd(cwd, sizeof(cwd)))
			return -1;
		free(data_dir);
		data_dir = xasprintf("%s/%s/creds", cwd,
				     d && *d ? d : "tests/unit/data");
	}
	basic_home = xasprintf("%s/home-basic", data_dir);
	quirk_home = xasprintf("%s/home-quirks", data_dir);
	if (!mkdtemp(tmpl))
		return -1;
	tmp_dir = xstrdup(tmpl);
	return 0;
}

/* rm -r path (the homes the STS tests make). */
static void rm_tree(const char *path)
{
	struct dirent *d;
	DIR *dir = opendir(path);

	while (dir && (d = readdir(dir))) {
		char *p;

		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		p = xasprintf("%s/%s", path, d->d_name);
		if (unlink(p) < 0)
			rm_tree(p);
		free(p);
	}
	if (dir)
		closedir(dir);
	rmdir(path);
}

static int group_teardown(void **state)
{
	static const char *const names[] = {
	    "config",	 "credentials", "crlf",	    "proc-config",
	    "args.out",	 "loop",	"ro-creds", "rw-creds",
	    "bad1",	 "bad2",	"bad3",	    "services-config",
	    "dflt",	 "proc-creds",	"wi-token", "home/.aws/config",
	    "home/.aws", "home",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *p = tmp_path(names[i]);

		if (unlink(p) < 0)
			rmdir(p);
		free(p);
	}
	for (i = 0; i < 4; i++) {
		static const char *const homes[] = {"sts-home", "sts-chain",
						    "sts-mfa", "sso-home"};
		char *p = tmp_path(homes[i]);

		rm_tree(p);
		free(p);
	}
	rmdir(tmp_dir);
	free(tmp_dir);
	free(basic_home);
	free(quirk_home);
	free(data_dir);
	return 0;
}

/* Resolves credentials; asserts success. */
static void creds_ok(const struct creds_inputs *in, struct creds_config *c)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;

	if (creds_resolve_credentials(in, c, &err) < 0)
		fail_msg("unexpected error: %s", err.message);
	err_clear(&err);
}

/* Resolves credentials; asserts failure of this kind, returns the message. */
static char *creds_fail_as(const struct creds_inputs *in,
			   enum gpuctl_err_kind kind)
{
	struct creds_config c = CREDS_CONFIG_INIT;
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	char *msg;

	assert_int_equal(creds_resolve_credentials(in, &c, &err), -1);
	assert_int_equal(err.kind, kind);
	if (kind == GPUCTL_ERR_CONFIG)
		assert_int_equal(err_exit_status(&err), 3);
	assert_null(c.access_key_id);
	assert_null(c.secret_access_key);
	msg = xstrdup(err.message);
	err_clear(&err);
	creds_config_release(&c);
	return msg;
}

/* The same for a configuration error (exit 3). */
static char *creds_fail(const struct creds_inputs *in)
{
	return creds_fail_as(in, GPUCTL_ERR_CONFIG);
}

static void region_ok(const struct creds_inputs *in, struct creds_config *c)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;

	if (creds_resolve_region(in, c, &err) < 0)
		fail_msg("unexpected error: %s", err.message);
	err_clear(&err);
}

static char *region_fail(const struct creds_inputs *in, char **hint)
{
	struct creds_config c = CREDS_CONFIG_INIT;
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	char *msg;

	assert_int_equal(creds_resolve_region(in, &c, &err), -1);
	assert_int_equal(err.kind, GPUCTL_ERR_CONFIG);
	msg = xstrdup(err.message);
	if (hint)
		*hint = err.hint ? xstrdup(err.hint) : NULL;
	err_clear(&err);
	creds_config_release(&c);
	return msg;
}

/* --- credentials ------------------------------------------------------ */

static void test_env_keys(void **state)
{
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;

	(void)state;
	env_add(&e, "HOME", "/nonexistent-gpuctl");
	env_add(&e, "AWS_ACCESS_KEY_ID", "AKIDENV");
	env_add(&e, "AWS_SECRET_ACCESS_KEY", "envsecret");
	env_add(&e, "AWS_SESSION_TOKEN", "envtoken");
	in = inputs(&e);
	creds_ok(&in, &c);
	assert_string_equal(c.access_key_id, "AKIDENV");
	assert_string_equal(c.secret_access_key, "envsecret");
	assert_string_equal(c.session_token, "envtoken");
	assert_string_equal(c.creds_source, "environment");
	assert_string_equal(c.profile, "default");
	assert_int_equal(c.creds_world_readable, 0);
	assert_true(c.expiration == 0);
	creds_config_release(&c);
	assert_null(c.access_key_id);

	/* botocore reads AWS_SECURITY_TOKEN before AWS_SESSION_TOKEN */
	env_add(&e, "AWS_SECURITY_TOKEN", "oldtoken");
	in = inputs(&e);
	creds_ok(&in, &c);
	assert_string_equal(c.session_token, "oldtoken");
	creds_config_release(&c);

	/* and AWS_CREDENTIAL_EXPIRATION */
	env_add(&e, "AWS_CREDENTIAL_EXPIRATION", "2026-06-01T00:00:00Z");
	in = inputs(&e);
	creds_ok(&in, &c);
	assert_true(c.expiration == NOW + 151 * 86400LL);
	creds_config_release(&c);
	env_free(&e);
}

static void test_env_partial_and_expired(void **state)
{
	struct env e = {0};
	struct creds_inputs in;
	char *msg;

	(void)state;
	env_add(&e, "HOME", basic_home);
	env_add(&e, "AWS_ACCESS_KEY_ID", "AKIDENV");
	env_add(&e, "AWS_SECRET_ACCESS_KEY", ""); /* empty is unset */
	in = inputs(&e);
	msg = creds_fail(&in);
	assert_non_null(strstr(msg, "AWS_SECRET_ACCESS_KEY"));
	free(msg);
	env_free(&e);

	env_add(&e, "HOME", basic_home);
	env_add(&e, "AWS_ACCESS_KEY_ID", "AKIDENV");
	env_add(&e, "AWS_SECRET_ACCESS_KEY", "envsecret");
	env_add(&e, "AWS_CREDENTIAL_EXPIRATION", "2025-12-31T23:59:59Z");
	in = inputs(&e);
	msg = creds_fail(&in);
	assert_non_null(strstr(msg, "expired"));
	assert_null(strstr(msg, "envsecret"));
	free(msg);
	env_free(&e);
}

static void test_env_beats_files(void **state)
{
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;

	(void)state;
	env_add(&e, "HOME", basic_home);
	env_add(&e, "AWS_ACCESS_KEY_ID", "AKIDENV");
	env_add(&e, "AWS_SECRET_ACCESS_KEY", "envsecret");
	in = inputs(&e);
	creds_ok(&in, &c);
	assert_string_equal(c.access_key_id, "AKIDENV");
	assert_null(c.session_token);
	creds_config_release(&c);

	/* AWS_PROFILE does not turn the environment keys off */
	env_add(&e, "AWS_PROFILE", "tok");
	in = inputs(&e);
	creds_ok(&in, &c);
	assert_string_equal(c.access_key_id, "AKIDENV");
	assert_string_equal(c.profile, "tok");
	creds_config_release(&c);
	env_free(&e);
}

static void test_profile_flag_skips_env(void **state)
{
	struct stat st;
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;
	char *path;

	(void)state;
	env_add(&e, "HOME", basic_home);
	env_add(&e, "AWS_ACCESS_KEY_ID", "AKIDENV");
	env_add(&e, "AWS_SECRET_ACCESS_KEY", "envsecret");
	in = inputs(&e);
	in.profile = "tok";
	creds_ok(&in, &c);
	assert_string_equal(c.profile, "tok");
	assert_string_equal(c.access_key_id, "AKIDTOK");
	assert_string_equal(c.secret_access_key, "toksecret");
	assert_string_equal(c.session_token, "tokentoken");
	path = xasprintf("shared credentials file %s/.aws/credentials",
			 basic_home);
	assert_string_equal(c.creds_source, path);
	free(path);
	/* as the checkout left it (0644 under the usual umask) */
	path = xasprintf("%s/.aws/credentials", basic_home);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(c.creds_world_readable, (st.st_mode & 077) != 0);
	free(path);
	creds_config_release(&c);
	env_free(&e);
}

static void test_default_profile_from_credentials(void **state)
{
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;

	(void)state;
	env_add(&e, "HOME", basic_home);
	in = inputs(&e);
	creds_ok(&in, &c);
	assert_string_equal(c.profile, "default");
	assert_string_equal(c.access_key_id, "AKIDDEFAULT");
	assert_string_equal(c.secret_access_key, "defaultsecret");
	assert_null(c.session_token);
	creds_config_release(&c);
	env_free(&e);
}

static void test_profile_section_forms(void **state)
{
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;
	char *path, *msg;

	(void)state;
	/* [profile dev] in the credentials file is not profile dev: the
	 * keys come from [profile dev] in the config file */
	env_add(&e, "HOME", basic_home);
	in = inputs(&e);
	in.profile = "dev";
	creds_ok(&in, &c);
	assert_string_equal(c.access_key_id, "AKIDDEVCONFIG");
	assert_string_equal(c.secret_access_key, "devconfigsecret");
	path = xasprintf("config file %s/.aws/config", basic_home);
	assert_string_equal(c.creds_source, path);
	free(path);
	creds_config_release(&c);

	/* [prod] in the config file is not a profile */
	in.profile = "prod";
	msg = creds_fail(&in);
	assert_string_equal(msg,
			    "the config profile (prod) could not be found");
	free(msg);

	/* [profile "spaced name"] is split as shlex does */
	in.profile = "spaced name";
	region_ok(&in, &c);
	assert_string_equal(c.region, "us-east-2");
	creds_config_release(&c);
	env_free(&e);
}

static void test_unknown_profile(void **state)
{
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;
	char *msg, *hint = NULL;

	(void)state;
	env_add(&e, "HOME", basic_home);
	env_add(&e, "AWS_REGION", "us-west-1");
	in = inputs(&e);
	in.profile = "nope";
	msg = creds_fail(&in);
	assert_string_equal(msg,
			    "the config profile (nope) could not be found");
	free(msg);
	msg = region_fail(&in, &hint);
	assert_string_equal(msg,
			    "the config profile (nope) could not be found");
	assert_non_null(hint);
	assert_non_null(strstr(hint, "[profile nope]"));
	free(msg);
	free(hint);

	/* AWS_PROFILE naming a missing profile is an error too */
	env_add(&e, "AWS_PROFILE", "gone");
	in = inputs(&e);
	msg = region_fail(&in, NULL);
	assert_string_equal(msg,
			    "the config profile (gone) could not be found");
	free(msg);
	env_free(&e);

	/* no profile chosen and no files at all: region from env is fine */
	env_add(&e, "HOME", "/nonexistent-gpuctl");
	env_add(&e, "AWS_REGION", "us-west-1");
	in = inputs(&e);
	region_ok(&in, &c);
	assert_string_equal(c.profile, "default");
	creds_config_release(&c);
	env_free(&e);
}

static void test_quirky_file(void **state)
{
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;
	char *msg;

	(void)state;
	env_add(&e, "HOME", quirk_home);
	in = inputs(&e);
	creds_ok(&in, &c);
	/* whitespace stripped, keys folded to lower case, ':' accepted,
	 * "#" after a value kept (no inline comments), a blank token is
	 * no token */
	assert_string_equal(c.access_key_id, "AKIDQUIRK");
	assert_string_equal(c.secret_access_key, "quirk # not a comment");
	assert_null(c.session_token);
	creds_config_release(&c);

	/* [DEFAULT] is inherited by every section, and the credentials
	 * file wins over the config file for the region */
	region_ok(&in, &c);
	assert_string_equal(c.region, "eu-central-1");
	/* [default] and [profile default] are both the default profile */
	assert_string_equal(c.endpoint_url, "http://merged.example");
	creds_config_release(&c);

	/* a repeated section merges, later values win */
	in.profile = "dup";
	creds_ok(&in, &c);
	assert_string_equal(c.access_key_id, "AKIDSECOND");
	assert_string_equal(c.secret_access_key, "dupsecret");
	creds_config_release(&c);

	/* blank keys are no keys: the chain goes on and finds nothing */
	in.profile = "blank";
	msg = creds_fail(&in);
	assert_non_null(strstr(msg, "no credentials found"));
	free(msg);

	/* a key without its secret is an error, not a fall-through */
	in.profile = "partial";
	msg = creds_fail(&in);
	assert_non_null(strstr(msg, "partial credentials"));
	assert_non_null(strstr(msg, "aws_secret_access_key"));
	free(msg);
	env_free(&e);
}

static void test_crlf_and_continuations(void **state)
{
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;
	char *cfg;

	(void)state;
	cfg = write_tmp("crlf",
			"[default]\r\n"
			"region = us-west-1\r\n"
			"aws_access_key_id = AKIDCRLF\r\n"
			"aws_secret_access_key = crlfsecret\r\n"
			"aws_session_token = part1\r\n"
			"   ; a comment inside a value is skipped\r\n"
			"  part2\r\n"
			"\r\n"
			"[profile x]\rregion = eu-north-1\r",
			0600);
	env_add(&e, "HOME", "/nonexistent-gpuctl");
	env_add(&e, "AWS_CONFIG_FILE", cfg);
	in = inputs(&e);
	creds_ok(&in, &c);
	assert_string_equal(c.access_key_id, "AKIDCRLF");
	assert_string_equal(c.secret_access_key, "crlfsecret");
	assert_string_equal(c.session_token, "part1\npart2");
	assert_int_equal(c.creds_world_readable, 0);
	creds_config_release(&c);
	in.profile = "x";
	region_ok(&in, &c);
	assert_string_equal(c.region, "eu-north-1");
	creds_config_release(&c);
	free(cfg);
	env_free(&e);
}

static void test_file_overrides(void **state)
{
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;
	char *crd, *home, *dir, *src;

	(void)state;
	crd = write_tmp("credentials",
			"[default]\naws_access_key_id = AKIDOVR\n"
			"aws_secret_access_key = ovrsecret\n"
			"aws_session_token = ovrtoken\n",
			0600);
	env_add(&e, "HOME", basic_home);
	env_add(&e, "AWS_SHARED_CREDENTIALS_FILE", crd);
	in = inputs(&e);
	creds_ok(&in, &c);
	assert_string_equal(c.access_key_id, "AKIDOVR");
	assert_string_equal(c.session_token, "ovrtoken");
	src = xasprintf("shared credentials file %s", crd);
	assert_string_equal(c.creds_source, src);
	free(src);
	creds_config_release(&c);
	/* the config file is still $HOME's */
	region_ok(&in, &c);
	assert_string_equal(c.region, "us-west-1");
	creds_config_release(&c);
	env_free(&e);

	/* AWS_CONFIG_FILE with a ~ */
	home = tmp_path("home");
	dir = tmp_path("home/.aws");
	assert_int_equal(mkdir(home, 0700), 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	free(write_tmp("home/.aws/config", "[default]\nregion = ca-central-1\n",
		       0600));
	env_add(&e, "HOME", home);
	env_add(&e, "AWS_CONFIG_FILE", "~/.aws/config");
	env_add(&e, "AWS_SHARED_CREDENTIALS_FILE", "/nonexistent-gpuctl/c");
	in = inputs(&e);
	region_ok(&in, &c);
	assert_string_equal(c.region, "ca-central-1");
	src = xasprintf("profile default in %s/.aws/config", home);
	assert_string_equal(c.region_source, src);
	free(src);
	creds_config_release(&c);
	env_free(&e);
	free(home);
	free(dir);
	free(crd);
}

static void test_world_readable(void **state)
{
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;
	char *ro, *rw;

	(void)state;
	ro = write_tmp("ro-creds",
		       "[default]\naws_access_key_id=A\n"
		       "aws_secret_access_key=S\n",
		       0600);
	rw = write_tmp("rw-creds",
		       "[default]\naws_access_key_id=A\n"
		       "aws_secret_access_key=S\n",
		       0644);
	env_add(&e, "HOME", "/nonexistent-gpuctl");
	env_add(&e, "AWS_SHARED_CREDENTIALS_FILE", ro);
	in = inputs(&e);
	creds_ok(&in, &c);
	assert_int_equal(c.creds_world_readable, 0);
	creds_config_release(&c);
	env_free(&e);

	env_add(&e, "HOME", "/nonexistent-gpuctl");
	env_add(&e, "AWS_SHARED_CREDENTIALS_FILE", rw);
	in = inputs(&e);
	creds_ok(&in, &c);
	assert_int_equal(c.creds_world_readable, 1);
	creds_config_release(&c);
	env_free(&e);
	free(ro);
	free(rw);
}

static void test_bad_files(void **state)
{
	static const char *const texts[] = {
	    "aws_access_key_id = A\n[default]\n",
	    "[default]\njust some words\n",
	    "[default]\n = value\n",
	};
	static const char *const names[] = {"bad1", "bad2", "bad3"};
	struct env e = {0};
	struct creds_inputs in;
	char *path, *msg;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		path = write_tmp(names[i], texts[i], 0600);
		env_add(&e, "HOME", "/nonexistent-gpuctl");
		env_add(&e, "AWS_CONFIG_FILE", path);
		in = inputs(&e);
		msg = creds_fail(&in);
		assert_non_null(strstr(msg, "could not parse"));
		assert_non_null(strstr(msg, path));
		assert_non_null(strstr(msg, i ? "line 2" : "line 1"));
		free(msg);
		free(path);
		env_free(&e);
	}

	/* a file that cannot be read (a symlink loop: root reads all) */
	path = tmp_path("loop");
	unlink(path);
	assert_int_equal(symlink(path, path), 0);
	env_add(&e, "HOME", "/nonexistent-gpuctl");
	env_add(&e, "AWS_SHARED_CREDENTIALS_FILE", path);
	env_add(&e, "AWS_REGION", "us-west-1");
	in = inputs(&e);
	msg = region_fail(&in, NULL);
	assert_non_null(strstr(msg, "could not read"));
	assert_non_null(strstr(msg, path));
	free(msg);
	free(path);
	env_free(&e);

	/* a directory is not a config file (botocore: isfile) */
	env_add(&e, "HOME", "/nonexistent-gpuctl");
	env_add(&e, "AWS_CONFIG_FILE", data_dir);
	env_add(&e, "AWS_REGION", "us-west-1");
	in = inputs(&e);
	msg = creds_fail(&in);
	assert_non_null(strstr(msg, "no credentials found"));
	free(msg);
	env_free(&e);
}

static void test_missing_credentials_message(void **state)
{
	struct env e = {0};
	struct creds_inputs in;
	char *msg;

	(void)state;
	env_add(&e, "HOME", "/nonexistent-gpuctl");
	in = inputs(&e);
	msg = creds_fail(&in);
	assert_string_equal(
	    msg, "no credentials found for profile \"default\": looked at "
		 "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the shared "
		 "credentials file /nonexistent-gpuctl/.aws/credentials "
		 "(AWS_SHARED_CREDENTIALS_FILE), the config file "
		 "/nonexistent-gpuctl/.aws/config (AWS_CONFIG_FILE: "
		 "role_arn, web_identity_token_file, sso_session, "
		 "credential_process, keys), the container credentials "
		 "endpoint and the instance metadata service");
	free(msg);
	env_free(&e);

	/* with --profile the message says the environment was skipped */
	env_add(&e, "HOME", basic_home);
	env_add(&e, "AWS_ACCESS_KEY_ID", "AKIDENV");
	env_add(&e, "AWS_SECRET_ACCESS_KEY", "envsecret");
	in = inputs(&e);
	in.profile = "cnprof";
	msg = creds_fail(&in);
	assert_non_null(strstr(msg, "skipped: --profile was given"));
	assert_non_null(strstr(msg, basic_home));
	assert_null(strstr(msg, "envsecret"));
	free(msg);
	env_free(&e);
}

/* --- region, endpoint, CA bundle --------------------------------------- */

static void test_region_precedence(void **state)
{
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;
	char *src;

	(void)state;
	env_add(&e, "HOME", basic_home);
	in = inputs(&e);
	region_ok(&in, &c);
	assert_string_equal(c.region, "us-west-1");
	src = xasprintf("profile default in %s/.aws/config", basic_home);
	assert_string_equal(c.region_source, src);
	free(src);
	assert_string_equal(c.endpoint_url,
			    "https://ec2.us-west-1.amazonaws.com");
	assert_string_equal(c.endpoint_source, "default");
	creds_config_release(&c);

	env_add(&e, "AWS_DEFAULT_REGION", "us-east-2");
	in = inputs(&e);
	region_ok(&in, &c);
	assert_string_equal(c.region, "us-east-2");
	assert_string_equal(c.region_source, "AWS_DEFAULT_REGION");
	creds_config_release(&c);

	env_add(&e, "AWS_REGION", "eu-west-3");
	in = inputs(&e);
	region_ok(&in, &c);
	assert_string_equal(c.region, "eu-west-3");
	assert_string_equal(c.region_source, "AWS_REGION");
	creds_config_release(&c);

	in.region = "ap-northeast-1";
	region_ok(&in, &c);
	assert_string_equal(c.region, "ap-northeast-1");
	assert_string_equal(c.region_source, "--region");
	assert_string_equal(c.endpoint_url,
			    "https://ec2.ap-northeast-1.amazonaws.com");
	creds_config_release(&c);
	env_free(&e);

	/* AWS_PROFILE beats AWS_DEFAULT_PROFILE; a region in the
	 * credentials file counts (botocore merges the two files) */
	env_add(&e, "HOME", basic_home);
	env_add(&e, "AWS_DEFAULT_PROFILE", "dev");
	in = inputs(&e);
	region_ok(&in, &c);
	assert_string_equal(c.profile, "dev");
	assert_string_equal(c.region, "eu-west-1");
	creds_config_release(&c);
	env_add(&e, "AWS_PROFILE", "tok");
	in = inputs(&e);
	region_ok(&in, &c);
	assert_string_equal(c.profile, "tok");
	assert_string_equal(c.region, "sa-east-1");
	src = xasprintf("profile tok in %s/.aws/credentials", basic_home);
	assert_string_equal(c.region_source, src);
	free(src);
	creds_config_release(&c);
	in.profile = "cnprof"; /* --profile beats both */
	region_ok(&in, &c);
	assert_string_equal(c.endpoint_url,
			    "https://ec2.cn-north-1.amazonaws.com.cn");
	creds_config_release(&c);
	env_free(&e);
}

static void test_missing_region(void **state)
{
	struct env e = {0};
	struct creds_inputs in;
	char *msg, *hint = NULL;

	(void)state;
	env_add(&e, "HOME", "/home/u");
	in = inputs(&e);
	msg = region_fail(&in, &hint);
	assert_string_equal(msg,
			    "no region configured: looked at --region, "
			    "AWS_REGION, AWS_DEFAULT_REGION and the \"region\" "
			    "of profile \"default\" in /home/u/.aws/config");
	assert_string_equal(hint, "pass --region REGION or set AWS_REGION "
				  "(AMIs and prices differ by region)");
	free(msg);
	free(hint);

	/* a region that cannot be a host name label */
	in.region = "us-west-1.evil.com/";
	msg = region_fail(&in, NULL);
	assert_non_null(strstr(msg, "invalid region"));
	assert_non_null(strstr(msg, "--region"));
	free(msg);
	env_free(&e);
}

static void test_endpoint_precedence(void **state)
{
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;
	char *msg, *src;

	(void)state;
	env_add(&e, "HOME", basic_home);
	env_add(&e, "AWS_PROFILE", "dev");
	in = inputs(&e);
	region_ok(&in, &c);
	assert_string_equal(c.endpoint_url, "http://127.0.0.1:5000");
	src = xasprintf("profile dev in %s/.aws/config", basic_home);
	assert_string_equal(c.endpoint_source, src);
	free(src);
	creds_config_release(&c);

	env_add(&e, "AWS_ENDPOINT_URL", "http://global.example");
	in = inputs(&e);
	region_ok(&in, &c);
	assert_string_equal(c.endpoint_url, "http://global.example");
	assert_string_equal(c.endpoint_source, "AWS_ENDPOINT_URL");
	creds_config_release(&c);

	env_add(&e, "AWS_ENDPOINT_URL_EC2", "https://ec2only.example/");
	in = inputs(&e);
	region_ok(&in, &c);
	assert_string_equal(c.endpoint_url, "https://ec2only.example/");
	assert_string_equal(c.endpoint_source, "AWS_ENDPOINT_URL_EC2");
	creds_config_release(&c);

	in.endpoint_url = "http://flag.example:8080";
	region_ok(&in, &c);
	assert_string_equal(c.endpoint_url, "http://flag.example:8080");
	assert_string_equal(c.endpoint_source, "--endpoint-url");
	creds_config_release(&c);

	/* the flag still wins when configured endpoints are ignored */
	env_add(&e, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE");
	in = inputs(&e);
	in.endpoint_url = "http://flag.example:8080";
	region_ok(&in, &c);
	assert_string_equal(c.endpoint_url, "http://flag.example:8080");
	creds_config_release(&c);
	in.endpoint_url = NULL;
	region_ok(&in, &c);
	assert_string_equal(c.endpoint_url,
			    "https://ec2.eu-west-1.amazonaws.com");
	assert_string_equal(c.endpoint_source, "default");
	creds_config_release(&c);

	/* a bad URL is refused, naming where it came from */
	in.endpoint_url = "ftp://x";
	msg = region_fail(&in, NULL);
	assert_non_null(strstr(msg, "bad endpoint URL \"ftp://x\""));
	assert_non_null(strstr(msg, "--endpoint-url"));
	free(msg);
	env_free(&e);
}

static void test_endpoint_services_section(void **state)
{
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;
	char *cfg;

	(void)state;
	env_add(&e, "HOME", basic_home);
	env_add(&e, "AWS_PROFILE", "svc");
	in = inputs(&e);
	region_ok(&in, &c);
	assert_string_equal(c.endpoint_url, "http://services.example:2");
	creds_config_release(&c);
	/* the services section beats AWS_ENDPOINT_URL ... */
	env_add(&e, "AWS_ENDPOINT_URL", "http://global.example");
	in = inputs(&e);
	region_ok(&in, &c);
	assert_string_equal(c.endpoint_url, "http://services.example:2");
	creds_config_release(&c);
	/* ... and the service's own variable beats it */
	env_add(&e, "AWS_ENDPOINT_URL_EC2", "http://ec2.example");
	in = inputs(&e);
	region_ok(&in, &c);
	assert_string_equal(c.endpoint_url, "http://ec2.example");
	creds_config_release(&c);
	env_free(&e);

	/* ignore_configured_endpoint_urls in the profile */
	cfg = write_tmp("services-config",
			"[default]\nregion = us-west-1\n"
			"endpoint_url = http://p.example\n"
			"ignore_configured_endpoint_urls = true\n",
			0600);
	env_add(&e, "HOME", "/nonexistent-gpuctl");
	env_add(&e, "AWS_CONFIG_FILE", cfg);
	in = inputs(&e);
	region_ok(&in, &c);
	assert_string_equal(c.endpoint_url,
			    "https://ec2.us-west-1.amazonaws.com");
	creds_config_release(&c);
	/* the environment variable overrides the profile setting */
	env_add(&e, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false");
	in = inputs(&e);
	region_ok(&in, &c);
	assert_string_equal(c.endpoint_url, "http://p.example");
	creds_config_release(&c);
	free(cfg);
	env_free(&e);
}

static void test_ca_bundle(void **state)
{
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;

	(void)state;
	env_add(&e, "HOME", basic_home);
	in = inputs(&e);
	region_ok(&in, &c);
	assert_string_equal(c.ca_bundle, "/etc/ssl/profile-ca.pem");
	creds_config_release(&c);
	env_add(&e, "AWS_CA_BUNDLE", "/etc/ssl/env-ca.pem");
	in = inputs(&e);
	region_ok(&in, &c);
	assert_string_equal(c.ca_bundle, "/etc/ssl/env-ca.pem");
	creds_config_release(&c);
	in.profile = "dev";
	region_ok(&in, &c);
	assert_string_equal(c.ca_bundle, "/etc/ssl/env-ca.pem");
	creds_config_release(&c);
	env_free(&e);

	env_add(&e, "HOME", basic_home);
	in = inputs(&e);
	in.profile = "dev";
	region_ok(&in, &c);
	assert_null(c.ca_bundle);
	creds_config_release(&c);
	env_free(&e);
}

/* --- credential_process ------------------------------------------------ */

/* Points AWS_CONFIG_FILE at a config whose default profile runs
 * cred-proc.sh with args (a command-line tail). */
static char *proc_config(struct env *e, const char *args)
{
	char *text, *path;

	text = xasprintf("[default]\nregion = us-west-1\n"
			 "credential_process = /bin/sh %s/cred-proc.sh %s\n",
			 data_dir, args);
	path = write_tmp("proc-config", text, 0600);
	free(text);
	env_add(e, "HOME", "/nonexistent-gpuctl");
	env_add(e, "AWS_CONFIG_FILE", path);
	return path;
}

static void test_process_ok(void **state)
{
	static const struct {
		const char *exp;
		long long want;
	} cases[] = {
	    {"2026-11-26T12:00:00Z", 1795694400LL},
	    {"2026-11-26T12:00:00.123456Z", 1795694400LL},
	    {"2026-11-26T12:00:00+00:00", 1795694400LL},
	    {"2026-11-26T14:00:00+02:00", 1795694400LL},
	};
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;
	char *path, *args;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		args = xasprintf("ok '%s'", cases[i].exp);
		path = proc_config(&e, args);
		in = inputs(&e);
		creds_ok(&in, &c);
		assert_string_equal(c.access_key_id, "AKIDPROC");
		assert_string_equal(c.secret_access_key, "procsecret");
		assert_string_equal(c.session_token, "proctoken");
		assert_string_equal(c.creds_source, "credential_process");
		assert_true(c.expiration == cases[i].want);
		assert_int_equal(c.creds_world_readable, 0);
		creds_config_release(&c);
		free(path);
		free(args);
		env_free(&e);
	}

	path = proc_config(&e, "notoken");
	in = inputs(&e);
	creds_ok(&in, &c);
	assert_null(c.session_token);
	assert_true(c.expiration == 0);
	creds_config_release(&c);
	free(path);
	env_free(&e);
}

static void test_process_args(void **state)
{
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;
	struct buf b = BUF_INIT;
	char *path, *out;

	(void)state;
	out = tmp_path("args.out");
	path = proc_config(&e, "args \"two words\" 'single \"q\"' "
			       "back\\ slash \"a\\\"b\\\\c\\d\" '' x#y");
	env_add(&e, "CREDS_ARGS_OUT", out);
	in = inputs(&e);
	creds_ok(&in, &c);
	assert_string_equal(c.access_key_id, "AKIDARGS");
	assert_int_equal(read_file(out, &b), 0);
	assert_string_equal(b.data, "two words\n"
				    "single \"q\"\n"
				    "back slash\n"
				    "a\"b\\c\\d\n"
				    "\n"
				    "x#y\n");
	buf_release(&b);
	creds_config_release(&c);
	free(path);
	free(out);
	env_free(&e);
}

static void test_process_errors(void **state)
{
	static const struct {
		const char *args;
		const char *want;
	} cases[] = {
	    {"version2", "unsupported Version"},
	    {"noversion", "no Version"},
	    {"nosecret", "SecretAccessKey is missing"},
	    {"numsecret", "SecretAccessKey is not a string"},
	    {"badexp", "Expiration is not an ISO 8601 time"},
	    {"ok 2025-12-31T23:59:59Z", "expired at 2025-12-31T23:59:59Z"},
	    {"fail", "exited with status 3"},
	    {"notjson", "did not print a JSON object"},
	    {"big", "more than 1048576 bytes"},
	    {"'unclosed", "not a valid command line"},
	};
	struct env e = {0};
	struct creds_inputs in;
	char *path, *msg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		path = proc_config(&e, cases[i].args);
		in = inputs(&e);
		msg = creds_fail(&in);
		if (!strstr(msg, cases[i].want))
			fail_msg("%s: got \"%s\"", cases[i].args, msg);
		assert_non_null(strstr(msg, "profile \"default\""));
		assert_null(strstr(msg, "LEAKSECRET"));
		free(msg);
		free(path);
		env_free(&e);
	}

	/* a command that is not there */
	path = write_tmp("proc-config",
			 "[default]\ncredential_process = "
			 "/nonexistent-gpuctl/helper --password hunter2\n",
			 0600);
	env_add(&e, "HOME", "/nonexistent-gpuctl");
	env_add(&e, "AWS_CONFIG_FILE", path);
	in = inputs(&e);
	msg = creds_fail(&in);
	assert_non_null(strstr(msg, "could not run credential_process"));
	assert_non_null(strstr(msg, "/nonexistent-gpuctl/helper"));
	assert_null(strstr(msg, "hunter2"));
	free(msg);
	free(path);
	env_free(&e);
}

static void test_process_order(void **state)
{
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;
	char *cfg, *crd, *text;

	(void)state;
	/* botocore: shared credentials file, then credential_process,
	 * then keys in the config file */
	text =
	    xasprintf("[default]\n"
		      "credential_process = /bin/sh %s/cred-proc.sh notoken\n"
		      "aws_access_key_id = AKIDCONFIG\n"
		      "aws_secret_access_key = configsecret\n",
		      data_dir);
	cfg = write_tmp("proc-config", text, 0600);
	free(text);
	crd = write_tmp("proc-creds",
			"[default]\naws_access_key_id = AKIDCREDS\n"
			"aws_secret_access_key = credssecret\n",
			0600);
	env_add(&e, "HOME", "/nonexistent-gpuctl");
	env_add(&e, "AWS_CONFIG_FILE", cfg);
	in = inputs(&e);
	creds_ok(&in, &c);
	assert_string_equal(c.access_key_id, "AKIDPROC");
	creds_config_release(&c);
	env_add(&e, "AWS_SHARED_CREDENTIALS_FILE", crd);
	in = inputs(&e);
	creds_ok(&in, &c);
	assert_string_equal(c.access_key_id, "AKIDCREDS");
	creds_config_release(&c);
	free(cfg);
	free(crd);
	env_free(&e);
}

/* --- helpers ----------------------------------------------------------- */

static void test_split_command(void **state)
{
	char **argv;
	int argc;

	(void)state;
	argv = creds_split_command("  a 'b c'\td\"e f\"g h\\ i \"\" ", &argc);
	assert_non_null(argv);
	assert_int_equal(argc, 5);
	assert_string_equal(argv[0], "a");
	assert_string_equal(argv[1], "b c");
	assert_string_equal(argv[2], "de fg");
	assert_string_equal(argv[3], "h i");
	assert_string_equal(argv[4], "");
	assert_null(argv[5]);
	creds_argv_free(argv);

	argv = creds_split_command("", &argc);
	assert_non_null(argv);
	assert_int_equal(argc, 0);
	assert_null(argv[0]);
	creds_argv_free(argv);

	assert_null(creds_split_command("a 'b", &argc));
	assert_null(creds_split_command("a \"b\\\"", &argc));
	assert_null(creds_split_command("a b\\", &argc));
}

static void test_parse_time(void **state)
{
	long long t;

	(void)state;
	assert_int_equal(creds_parse_time("1970-01-01T00:00:00Z", &t), 0);
	assert_true(t == 0);
	assert_int_equal(creds_parse_time("2026-01-01T00:00:00Z", &t), 0);
	assert_true(t == NOW);
	assert_int_equal(creds_parse_time("2024-02-29 23:59:59", &t), 0);
	assert_true(t == 1709251199LL);
	assert_int_equal(creds_parse_time("2026-01-01T01:30:00+0130", &t), 0);
	assert_true(t == NOW);
	assert_int_equal(creds_parse_time("2025-12-31T19:00:00-05:00", &t), 0);
	assert_true(t == NOW);
	assert_int_equal(creds_parse_time("2023-02-29T00:00:00Z", &t), -1);
	assert_int_equal(creds_parse_time("2026-13-01T00:00:00Z", &t), -1);
	assert_int_equal(creds_parse_time("2026-01-01T24:00:00Z", &t), -1);
	assert_int_equal(creds_parse_time("2026-01-01T00:00:00.Z", &t), -1);
	assert_int_equal(creds_parse_time("2026-01-01T00:00:00Zjunk", &t), -1);
	assert_int_equal(creds_parse_time("2026-01-01", &t), -1);
	assert_int_equal(creds_parse_time("", &t), -1);
}

/* --- temporary credentials (issue 16) ----------------------------------- */

/* A fake STS: records what it was asked, answers keys numbered by call. */
struct fake_sts {
	int calls;
	int fail;	     /* answer an AccessDenied */
	const char *bad_key; /* answer this access key */
	long long life;	     /* seconds the keys last */
	char action[64];
	char caller[64];   /* the access key that signed, "" unsigned */
	char params[1024]; /* "K=V;" … */
};

static int fake_sts_call(void *arg, const struct creds_sts_request *req,
			 struct creds_sts_result *out, struct gpuctl_err *err)
{
	struct fake_sts *f = arg;
	struct buf b = BUF_INIT;
	char when[21];
	size_t i;

	f->calls++;
	snprintf(f->action, sizeof(f->action), "%s", req->action);
	snprintf(f->caller, sizeof(f->caller), "%s",
		 req->access_key_id ? req->access_key_id : "");
	for (i = 0; i < req->nparams; i++)
		buf_addf(&b, "%s=%s;", req->params[i].key,
			 req->params[i].value);
	snprintf(f->params, sizeof(f->params), "%s", b.data);
	buf_release(&b);
	if (f->fail) {
		err_set(err, GPUCTL_ERR_AWS, "not authorized");
		err->code = xstrdup("AccessDenied");
		return -1;
	}
	creds_format_time(NOW + (f->life ? f->life : 3600), when);
	out->access_key_id = f->bad_key ? xstrdup(f->bad_key)
					: xasprintf("ASIAFAKE%08d", f->calls);
	out->secret_access_key = xasprintf("fake-secret-%d", f->calls);
	out->session_token = xasprintf("fake/token+%d=", f->calls);
	out->expiration = xstrdup(when);
	out->arn = xstrdup("arn:aws:sts::123456789012:assumed-role/r/s");
	return 0;
}

/* A home of its own under tmp_dir with this config and credentials. */
static char *sts_home(const char *name, const char *config,
		      const char *credentials)
{
	char *home = tmp_path(name), *p;

	mkdir(home, 0700);
	p = xasprintf("%s/.aws", home);
	mkdir(p, 0700);
	free(p);
	p = xasprintf("%s/.aws/config", home);
	write_file_at(p, config);
	free(p);
	p = xasprintf("%s/.aws/credentials", home);
	write_file_at(p, credentials);
	free(p);
	return home;
}

static const char base_keys[] = "[base]\naws_access_key_id = AKIDBASE\n"
				"aws_secret_access_key = basesecret\n";

static int prompt_answer(void *arg, const char *prompt, char *answer,
			 size_t size, struct gpuctl_err *err)
{
	(void)err;
	assert_non_null(strstr(prompt, "Enter MFA code for "));
	snprintf(answer, size, "%s", (const char *)arg);
	return 0;
}

static void test_py_json_and_cache_keys(void **state)
{
	struct creds_key_arg a[5] = {
	    {"SerialNumber", "arn:aws:iam::123456789012:mfa/a", 0},
	    {"RoleSessionName", "s.name@x", 0},
	    {"RoleArn", "arn:aws:iam::123456789012:role/keys", 0},
	    {"ExternalId", "Ext-\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80\"\\/:x",
	     0},
	    {"DurationSeconds", NULL, 1800},
	};
	struct creds_key_arg ctl[1] = {{"RoleArn", "a\x01\x7f\t\n\r\b\f z", 0}};
	struct creds_key_arg sso[3] = {{"roleName", "Admin", 0},
				       {"accountId", "123456789012", 0},
				       {"sessionName", "corp", 0}};
	struct creds_key_arg dev[1] = {
	    {"RoleArn", "arn:aws:iam::123456789012:role/dev", 0}};
	struct buf b = BUF_INIT;
	char *k;

	(void)state;
	/* what Python's json.dumps(args, sort_keys=True) writes */
	creds_py_json(&b, a, 5, 0);
	assert_string_equal(
	    b.data, "{\"DurationSeconds\": 1800, \"ExternalId\": "
		    "\"Ext-\\u00fc\\u20ac\\ud83d\\ude00\\\"\\\\/:x\", "
		    "\"RoleArn\": \"arn:aws:iam::123456789012:role/keys\", "
		    "\"RoleSessionName\": \"s.name@x\", \"SerialNumber\": "
		    "\"arn:aws:iam::123456789012:mfa/a\"}");
	buf_reset(&b);
	creds_py_json(&b, ctl, 1, 0);
	assert_string_equal(b.data, "{\"RoleArn\": "
				    "\"a\\u0001\\u007f\\t\\n\\r\\b\\f z\"}");
	buf_release(&b);
	/* and the SHA-1s botocore names the files with */
	k = creds_cache_key(a, 5, 0);
	assert_string_equal(k, "2aa7168e879a2e2b694a578f95ac5daaf87b99e5");
	free(k);
	k = creds_cache_key(dev, 1, 0);
	assert_string_equal(k, "af854889538ac1a069a8274d5ee4dc500f8b1f91");
	free(k);
	k = creds_cache_key(ctl, 1, 0);
	assert_string_equal(k, "4a337adc847511efed147c8feeb7e2fa4dc85b3d");
	free(k);
	k = creds_cache_key(sso, 3, 1);
	assert_string_equal(k, "8457bc68cf9d4aa8d629a61563948e8bd3159d49");
	free(k);
	k = creds_sha1_hex("corp");
	assert_string_equal(k, "ee0bfd2552fbd840c02cc48b6e823320543c450f");
	free(k);
}

static void test_assume_role_and_cache(void **state)
{
	struct fake_sts f = {0};
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;
	struct stat st;
	char *home, *cache, *msg;

	(void)state;
	home = sts_home("sts-home",
			"[profile dev]\n"
			"role_arn = arn:aws:iam::123456789012:role/dev\n"
			"source_profile = base\nduration_seconds = 0900\n",
			base_keys);
	env_add(&e, "HOME", home);
	env_add(&e, "AWS_PROFILE", "dev");
	in = inputs(&e);
	in.sts.call = fake_sts_call;
	in.sts.arg = &f;
	c.region = xstrdup("eu-west-3");
	creds_ok(&in, &c);
	assert_int_equal(f.calls, 1);
	assert_string_equal(f.action, "AssumeRole");
	assert_string_equal(f.caller, "AKIDBASE");
	assert_string_equal(f.params,
			    "RoleArn=arn:aws:iam::123456789012:role/dev;"
			    "RoleSessionName=gpuctl-session-1767225600;"
			    "DurationSeconds=0900;");
	assert_string_equal(c.access_key_id, "ASIAFAKE00000001");
	assert_string_equal(c.session_token, "fake/token+1=");
	assert_int_equal(c.expiration, NOW + 3600);
	assert_int_equal(c.refresh_at, NOW + 3600 - 300);
	assert_non_null(strstr(c.creds_source, "assume-role profile \"dev\""));
	assert_non_null(strstr(c.creds_source, "shared credentials file"));
	/* the AWS CLI's entry: botocore's name (DurationSeconds 900), 0600 */
	{
		struct creds_key_arg k[2] = {
		    {"DurationSeconds", NULL, 900},
		    {"RoleArn", "arn:aws:iam::123456789012:role/dev", 0}};
		char *key = creds_cache_key(k, 2, 0);

		cache = xasprintf("%s/.aws/cli/cache/%s.json", home, key);
		free(key);
	}
	assert_int_equal(stat(cache, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* the next resolution reads it, STS untouched */
	creds_ok(&in, &c);
	assert_int_equal(f.calls, 1);
	assert_string_equal(c.access_key_id, "ASIAFAKE00000001");
	assert_non_null(strstr(c.creds_source, "from the AWS CLI's cache"));
	/* a refresh that is not due does nothing; a forced one calls STS */
	in.now = NOW + 60;
	assert_int_equal(creds_refresh(&in, &c, 0, NULL), 0);
	assert_int_equal(creds_refresh(&in, &c, 1, NULL), 1);
	assert_int_equal(f.calls, 2);
	assert_string_equal(c.access_key_id, "ASIAFAKE00000002");
	/* due: the cache holds what was just written, 59 minutes left */
	in.now = NOW + 3600 - 200;
	f.life = 4000;
	assert_int_equal(creds_refresh(&in, &c, 0, NULL), 1);
	assert_int_equal(f.calls, 3);
	/* STS refuses and the keys still hold: a warning, they stay */
	in.now = NOW + 4000 - 100;
	f.fail = 1;
	log_set_level(LOG_ERROR);
	assert_int_equal(creds_refresh(&in, &c, 0, NULL), 0);
	assert_string_equal(c.access_key_id, "ASIAFAKE00000003");
	/* forced, it is an error */
	{
		struct gpuctl_err err = GPUCTL_ERR_INIT;

		assert_int_equal(creds_refresh(&in, &c, 1, &err), -1);
		assert_int_equal(err.kind, GPUCTL_ERR_AWS);
		assert_non_null(strstr(err.message, "refreshing"));
		err_clear(&err);
	}
	log_set_level(LOG_WARN);
	/* malformed answers are refused */
	f.fail = 0;
	f.bad_key = "ASIA bad";
	unlink(cache);
	in.now = NOW;
	msg = creds_fail_as(&in, GPUCTL_ERR_PARSE);
	assert_non_null(strstr(msg, "malformed"));
	free(msg);
	f.bad_key = NULL;
	f.life = -10;
	msg = creds_fail(&in);
	assert_non_null(strstr(msg, "expired"));
	free(msg);
	/* without STS at hand */
	in.sts.call = NULL;
	msg = creds_fail(&in);
	assert_non_null(strstr(msg, "cannot call STS"));
	free(msg);
	free(cache);
	creds_config_release(&c);
	env_free(&e);
	free(home);
}

static void test_role_chains_and_loops(void **state)
{
	struct fake_sts f = {0};
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;
	char *home, *msg;

	(void)state;
	home = sts_home(
	    "sts-chain",
	    "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\n"
	    "source_profile = b\nrole_session_name = me\n"
	    "[profile b]\nrole_arn = arn:aws:iam::123456789012:role/b\n"
	    "source_profile = base\n"
	    "[profile x]\nrole_arn = arn:aws:iam::123456789012:role/x\n"
	    "source_profile = y\n"
	    "[profile y]\nrole_arn = arn:aws:iam::123456789012:role/y\n"
	    "source_profile = x\n"
	    "[profile self]\nrole_arn = arn:aws:iam::123456789012:role/s\n"
	    "source_profile = self\n"
	    "[profile selfless]\nrole_arn = arn:aws:iam::123456789012:role/s\n"
	    "source_profile = selfless\n"
	    "[profile wi]\nrole_arn = arn:aws:iam::123456789012:role/w\n"
	    "web_identity_token_file = /nonexistent-gpuctl/token\n",
	    "[base]\naws_access_key_id = AKIDBASE\n"
	    "aws_secret_access_key = basesecret\n"
	    "[self]\naws_access_key_id = AKIDSELF\n"
	    "aws_secret_access_key = selfsecret\n");
	env_add(&e, "HOME", home);
	in = inputs(&e);
	in.sts.call = fake_sts_call;
	in.sts.arg = &f;
	in.profile = "a";
	creds_ok(&in, &c);
	/* base assumed b, then b's keys assumed a */
	assert_int_equal(f.calls, 2);
	assert_string_equal(f.caller, "ASIAFAKE00000001");
	assert_string_equal(f.params, "RoleArn=arn:aws:iam::123456789012:"
				      "role/a;RoleSessionName=me;");
	assert_non_null(strstr(c.creds_source, "source: assume-role profile "
					       "\"b\""));
	in.profile = "x";
	msg = creds_fail(&in);
	assert_string_equal(msg, "the source_profile settings form a loop: "
				 "\"x\" -> \"y\" -> \"x\"");
	free(msg);
	/* naming itself: its own keys */
	in.profile = "self";
	creds_ok(&in, &c);
	assert_string_equal(f.caller, "AKIDSELF");
	in.profile = "selfless";
	msg = creds_fail(&in);
	assert_non_null(strstr(msg, "loop"));
	free(msg);
	/* role_arn with a token file is web identity, not assume role */
	in.profile = "wi";
	msg = creds_fail(&in);
	assert_non_null(strstr(msg, "web identity token file"));
	free(msg);
	creds_config_release(&c);
	env_free(&e);
	free(home);
}

static void test_mfa_and_web_identity(void **state)
{
	struct fake_sts f = {0};
	struct env e = {0};
	struct creds_config c = CREDS_CONFIG_INIT;
	struct creds_inputs in;
	char *home, *tok, *msg;

	(void)state;
	home = sts_home("sts-mfa",
			"[profile m]\nrole_arn = arn:aws:iam::123456789012:"
			"role/m\nsource_profile = base\n"
			"mfa_serial = arn:aws:iam::123456789012:mfa/u\n",
			base_keys);
	env_add(&e, "HOME", home);
	in = inputs(&e);
	in.sts.call = fake_sts_call;
	in.sts.arg = &f;
	in.profile = "m";
	in.prompt = prompt_answer;
	in.prompt_arg = (void *)"314159";
	creds_ok(&in, &c);
	assert_non_null(strstr(f.params, "SerialNumber=arn:aws:iam::"
					 "123456789012:mfa/u;"));
	assert_non_null(strstr(f.params, "TokenCode=314159;"));
	/* a refresh never asks again */
	in.now = NOW + 3500;
	{
		struct gpuctl_err err = GPUCTL_ERR_INIT;

		assert_int_equal(creds_refresh(&in, &c, 1, &err), -1);
		assert_non_null(strstr(err.message, "needs an MFA code"));
		err_clear(&err);
	}
	in.now = NOW;
	in.prompt_arg = (void *)"12ab";
	f.calls = 0;
	{
		/* the cache holds the session: no prompt at all */
		creds_ok(&in, &c);
		assert_int_equal(f.calls, 0);
	}
	creds_config_release(&c);
	env_free(&e);

	/* web identity from the environment, unsigned, newline dropped */
	tok = write_tmp("wi-token", "header.payload.sig\n", 0600);
	env_add(&e, "HOME", home);
	env_add(&e, "AWS_WEB_IDENTITY_TOKEN_FILE", tok);
	env_add(&e, "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/pod");
	in = inputs(&e);
	in.sts.call = fake_sts_call;
	in.sts.arg = &f;
	creds_ok(&in, &c);
	assert_string_equal(f.action, "AssumeRoleWithWebIdentity");
	assert_string_equal(f.caller, "");
	assert_non_null(strstr(f.params, "WebIdentityToken=header.payload."
					 "sig;"));
	assert_non_null(strstr(c.creds_source, "web identity"));
	/* --profile: the variables are not read */
	in.profile = "m";
	in.prompt_arg = (void *)"314159";
	creds_ok(&in, &c);
	assert_non_null(strstr(c.creds_source, "assume-role profile \"m\""));
	env_free(&e);
	env_add(&e, "HOME", home);
	env_add(&e, "AWS_WEB_IDENTITY_TOKEN_FILE", tok);
	in = inputs(&e);
	in.sts.call = fake_sts_call;
	in.sts.arg = &f;
	msg = creds_fail(&in);
	assert_non_null(strstr(msg, "AWS_ROLE_ARN"));
	free(msg);
	unlink(tok);
	free(tok);
	creds_config_release(&c);
	env_free(&e);
	free(home);
}

static void test_sso_and_metadata_config(void **state)
{
	struct env e = {0};
	struct creds_inputs in;
	char *home, *msg, *dir, *tok;

	(void)state;
	home = sts_home("sso-home",
			"[profile s]\nsso_session = corp\n"
			"sso_account_id = 123456789012\nsso_role_name = A\n"
			"[sso-session corp]\nsso_region = us-east-1\n"
			"sso_start_url = https://x.example/start\n",
			"");
	env_add(&e, "HOME", home);
	in = inputs(&e);
	in.profile = "s";
	msg = creds_fail(&in);
	assert_non_null(strstr(msg, "no IAM Identity Center (SSO) login"));
	assert_non_null(
	    strstr(msg, "ee0bfd2552fbd840c02cc48b6e823320543c450f"));
	free(msg);
	/* an expired login: no request at all (the portal is not there) */
	dir = xasprintf("%s/.aws/sso", home);
	mkdir(dir, 0700);
	free(dir);
	dir = xasprintf("%s/.aws/sso/cache", home);
	mkdir(dir, 0700);
	tok =
	    xasprintf("%s/ee0bfd2552fbd840c02cc48b6e823320543c450f.json", dir);
	write_file_at(tok, "{\"accessToken\": \"t0k\", \"expiresAt\": "
			   "\"2025-12-31T23:00:00UTC\"}");
	msg = creds_fail(&in);
	assert_non_null(strstr(msg, "expired at 2025-12-31T23:00:00Z"));
	free(msg);
	unlink(tok);
	free(tok);
	free(dir);
	env_free(&e);
	/* container URLs that may not be fetched, refused before any fetch */
	env_add(&e, "HOME", home);
	env_add(&e, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1/x");
	in = inputs(&e);
	msg = creds_fail(&in);
	assert_non_null(strstr(msg, "not a URL gpuctl may fetch"));
	free(msg);
	env_free(&e);
	env_add(&e, "HOME", home);
	env_add(&e, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/no-slash");
	in = inputs(&e);
	msg = creds_fail(&in);
	assert_non_null(strstr(msg, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"));
	free(msg);
	env_free(&e);
	env_add(&e, "HOME", home);
	env_add(&e, "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"http://127.0.0.1:9/x");
	env_add(&e, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "two\nlines");
	in = inputs(&e);
	msg = creds_fail(&in);
	assert_non_null(strstr(msg, "line break"));
	assert_null(strstr(msg, "two"));
	free(msg);
	env_free(&e);
	free(home);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_env_keys),
	    cmocka_unit_test(test_env_partial_and_expired),
	    cmocka_unit_test(test_env_beats_files),
	    cmocka_unit_test(test_profile_flag_skips_env),
	    cmocka_unit_test(test_default_profile_from_credentials),
	    cmocka_unit_test(test_profile_section_forms),
	    cmocka_unit_test(test_unknown_profile),
	    cmocka_unit_test(test_quirky_file),
	    cmocka_unit_test(test_crlf_and_continuations),
	    cmocka_unit_test(test_file_overrides),
	    cmocka_unit_test(test_world_readable),
	    cmocka_unit_test(test_bad_files),
	    cmocka_unit_test(test_missing_credentials_message),
	    cmocka_unit_test(test_region_precedence),
	    cmocka_unit_test(test_missing_region),
	    cmocka_unit_test(test_endpoint_precedence),
	    cmocka_unit_test(test_endpoint_services_section),
	    cmocka_unit_test(test_ca_bundle),
	    cmocka_unit_test(test_process_ok),
	    cmocka_unit_test(test_process_args),
	    cmocka_unit_test(test_process_errors),
	    cmocka_unit_test(test_process_order),
	    cmocka_unit_test(test_split_command),
	    cmocka_unit_test(test_parse_time),
	    cmocka_unit_test(test_py_json_and_cache_keys),
	    cmocka_unit_test(test_assume_role_and_cache),
	    cmocka_unit_test(test_role_chains_and_loops),
	    cmocka_unit_test(test_mfa_and_web_identity),
	    cmocka_unit_test(test_sso_and_metadata_config),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
