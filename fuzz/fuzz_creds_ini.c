/*
 * The config and credentials file reader.  Every input goes through
 * creds_ini_parse() and the lookups on what it read (sections, keys,
 * [DEFAULT], "key =" sub-blocks, and the shlex-style split applied to a
 * credential_process line).  An input holding a NUL byte is also split
 * there into a config file and a credentials file, written to a private
 * temporary folder, and resolved by creds_resolve_region() and
 * creds_resolve_credentials() as `gpuctl` would.  Inputs that mention
 * credential_process skip that step: the chain would run the command.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpuctl/creds.h"
#include "creds/creds_int.h"
#include "fuzz.h"

static const char *const keys[] = {
    "region",
    "aws_access_key_id",
    "aws_secret_access_key",
    "endpoint_url",
    "services",
    "ec2",
    "ca_bundle",
    "ignore_configured_endpoint_urls",
};

static char dir[64], cfg_path[96], crd_path[96];

static void cleanup(void)
{
	unlink(cfg_path);
	unlink(crd_path);
	rmdir(dir);
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t w;

	if (fd < 0)
		return -1;
	while (n > 0) {
		w = write(fd, p, n);
		if (w <= 0)
			break;
		p += w;
		n -= (size_t)w;
	}
	close(fd);
	return n ? -1 : 0;
}

static int mentions_process(const uint8_t *data, size_t size)
{
	static const char word[] = "credential_process";
	size_t i, j, n = sizeof(word) - 1;

	for (i = 0; i + n <= size; i++) {
		for (j = 0; j < n; j++)
			if (tolower(data[i + j]) != word[j])
				break;
		if (j == n)
			return 1;
	}
	return 0;
}

static void resolve(const uint8_t *data, size_t size, const uint8_t *nul)
{
	char env_cfg[128], env_crd[128];
	char *envp[] = {env_cfg, env_crd, "HOME=/nonexistent", NULL};
	const char *profiles[] = {NULL, "fuzz"};
	size_t k;

	if (!dir[0]) {
		const char *tmp = getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%s/gpuctl-fuzz-XXXXXX",
			 tmp && strlen(tmp) < 32 ? tmp : "/tmp");
		if (!mkdtemp(dir)) {
			dir[0] = '\0';
			return;
		}
		snprintf(cfg_path, sizeof(cfg_path), "%s/config", dir);
		snprintf(crd_path, sizeof(crd_path), "%s/credentials", dir);
		atexit(cleanup);
	}
	if (write_file(cfg_path, data, (size_t)(nul - data)) < 0 ||
	    write_file(crd_path, nul + 1, size - (size_t)(nul - data) - 1) < 0)
		return;
	snprintf(env_cfg, sizeof(env_cfg), "AWS_CONFIG_FILE=%s", cfg_path);
	snprintf(env_crd, sizeof(env_crd), "AWS_SHARED_CREDENTIALS_FILE=%s",
		 crd_path);
	for (k = 0; k < 2; k++) {
		struct creds_inputs in = {0};
		struct creds_config c = CREDS_CONFIG_INIT;
		struct gpuctl_err err = GPUCTL_ERR_INIT;
		int rc;

		in.envp = envp;
		in.profile = profiles[k];
		in.now = 1700000000;
		rc = creds_resolve_region(&in, &c, &err);
		if (rc == 0)
			FUZZ_CHECK(c.profile && c.region && c.endpoint_url &&
				   c.region_source && c.endpoint_source);
		else
			FUZZ_CHECK(err.kind == GPUCTL_ERR_CONFIG &&
				   err.message);
		err_clear(&err);
		rc = creds_resolve_credentials(&in, &c, &err);
		if (rc == 0)
			FUZZ_CHECK(c.access_key_id && c.secret_access_key &&
				   c.creds_source);
		else
			FUZZ_CHECK(err.kind == GPUCTL_ERR_CONFIG &&
				   err.message);
		err_clear(&err);
		creds_config_release(&c);
	}
}

static void split(const char *line)
{
	char **argv;
	int argc = -1, i;

	argv = creds_split_command(line, &argc);
	if (!argv)
		return;
	FUZZ_CHECK(argc >= 0);
	for (i = 0; i < argc; i++)
		FUZZ_CHECK(argv[i] != NULL);
	FUZZ_CHECK(argv[argc] == NULL);
	creds_argv_free(argv);
}

static void lookups(const struct creds_ini *ini,
		    const struct creds_ini_section *s)
{
	size_t i, k;

	for (i = 0; i < s->nr; i++) {
		FUZZ_CHECK(s->entries[i].key && s->entries[i].value);
		for (k = 0; s->entries[i].key[k]; k++)
			FUZZ_CHECK(
			    !isupper((unsigned char)s->entries[i].key[k]));
		FUZZ_CHECK(creds_ini_section_get(s, s->entries[i].key));
		if (i < 8) {
			char *sub = creds_ini_subvalue(s->entries[i].value,
						       "endpoint_url");
			free(sub);
			split(s->entries[i].value);
		}
	}
	for (k = 0; k < sizeof(keys) / sizeof(*keys); k++)
		(void)creds_ini_get(ini, s, keys[k]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct creds_ini ini = CREDS_INI_INIT;
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	const uint8_t *nul;
	size_t i;
	int rc;

	rc = creds_ini_parse(&ini, "fuzz", (const char *)data, size, &err);
	if (rc == 0) {
		FUZZ_CHECK(err.kind == GPUCTL_ERR_NONE);
		for (i = 0; i < ini.nr; i++) {
			FUZZ_CHECK(ini.sections[i].name);
			FUZZ_CHECK(creds_ini_section(
				       &ini, ini.sections[i].name) != NULL);
			lookups(&ini, &ini.sections[i]);
		}
		lookups(&ini, &ini.defaults);
		(void)creds_ini_section(&ini, "default");
		(void)creds_ini_section(&ini, "profile default");
	} else {
		FUZZ_CHECK(rc == -1 && err.message);
	}
	err_clear(&err);
	creds_ini_release(&ini);

	nul = memchr(data, '\0', size);
	if (nul && !mentions_process(data, size))
		resolve(data, size, nul);
	return 0;
}
