/*
 * creds: the configuration and credentials chain, as the AWS CLI v2 reads it.
 *
 * Everything comes in through struct creds_inputs: the module never calls
 * getenv(), so tests pass a fake environment.  Files read:
 *   AWS_CONFIG_FILE (default $HOME/.aws/config): [default], [profile NAME],
 *     [services NAME] sections;
 *   AWS_SHARED_CREDENTIALS_FILE (default $HOME/.aws/credentials): [NAME].
 * They are parsed as botocore's configloader does (Python's RawConfigParser):
 * '#' and ';' comment lines only (no inline comments), '=' or ':' between
 * key and value, keys folded to lower case, section names case-sensitive,
 * indented continuation lines and "key =" sub-sections, [DEFAULT] values
 * inherited by every section of the same file.  A missing file is no error;
 * an unreadable or malformed one is.  A repeated section merges into the
 * earlier one (later values win), where botocore would refuse the file.
 *
 * Precedence (command-line flag > environment > profile):
 *   profile:  --profile, AWS_PROFILE, AWS_DEFAULT_PROFILE, "default"
 *   region:   --region, AWS_REGION, AWS_DEFAULT_REGION, profile "region"
 *   endpoint: --endpoint-url, AWS_ENDPOINT_URL_<SERVICE>, the profile's
 *             [services NAME] "<service> =" block's endpoint_url,
 *             AWS_ENDPOINT_URL, profile "endpoint_url", then
 *             https://<service>.REGION.amazonaws.com (.amazonaws.com.cn
 *             for cn- regions).  AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true,
 *             or the profile's ignore_configured_endpoint_urls = true,
 *             skips all but --endpoint-url
 *   ca bundle: AWS_CA_BUNDLE, profile "ca_bundle"
 * A profile setting is looked up in the credentials file's [NAME] first,
 * then in the config file (as botocore's session.full_config merges them).
 *
 * Credentials, in botocore's order: environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SECURITY_TOKEN or AWS_SESSION_TOKEN,
 * AWS_CREDENTIAL_EXPIRATION; skipped when --profile was given), the shared
 * credentials file, the profile's credential_process, the config file.
 * credential_process is run without a shell (split like Python's
 * shlex.split), with the given environment, stdout captured (at most 1 MiB)
 * and stderr passed through.
 *
 * Errors are GPUCTL_ERR_CONFIG (exit 3) and never contain a secret or the
 * output of credential_process.
 *
 * Ownership: every char * in struct creds_config belongs to the struct;
 * creds_config_release() frees them (wiping the secrets).  The inputs are
 * borrowed and may be freed once the call returns.
 */
#ifndef GPUCTL_CREDS_H
#define GPUCTL_CREDS_H

#include "gpuctl/err.h"

struct creds_inputs {
	/* "K=V" strings, NULL-terminated (or NULL: an empty environment) */
	char *const *envp;
	const char *profile;	  /* --profile, or NULL */
	const char *region;	  /* --region, or NULL */
	const char *endpoint_url; /* --endpoint-url, or NULL */
	/* "EC2": reads AWS_ENDPOINT_URL_EC2 and the services section's
	 * "ec2"; NULL means "EC2" */
	const char *service_env;
	/* seconds since the epoch, for expiry checks; 0 reads the clock */
	long long now;
};

/* An empty struct creds_config, ready to be filled. */
/* clang-format off */
#define CREDS_CONFIG_INIT { 0 }
/* clang-format on */

struct creds_config {
	/* the profile in use ("default" …) */
	char *profile;
	/* NULL when none was found */
	char *region;
	/* "--region", "AWS_REGION", "AWS_DEFAULT_REGION" or
	 * "profile NAME in PATH" */
	char *region_source;
	/* resolved, or the default https://ec2.REGION.amazonaws.com */
	char *endpoint_url;
	/* "--endpoint-url", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL",
	 * "profile NAME in PATH", "the services section of profile NAME in
	 * PATH" or "default" */
	char *endpoint_source;
	/* AWS_CA_BUNDLE or profile ca_bundle, or NULL */
	char *ca_bundle;
	/* the keys (secret_access_key and session_token are wiped when
	 * freed); session_token is NULL if none */
	char *access_key_id;
	char *secret_access_key;
	char *session_token;
	/* seconds since the epoch (credential_process Expiration or
	 * AWS_CREDENTIAL_EXPIRATION); 0 = none */
	long long expiration;
	/* "environment", "shared credentials file PATH", "config file PATH"
	 * or "credential_process" */
	char *creds_source;
	/* the file that held the keys has group or other permission bits
	 * (mode & 077), for a warning by the caller */
	int creds_world_readable;
};

/*
 * Fills profile, region, region_source, endpoint_url, endpoint_source and
 * ca_bundle (replacing earlier values).  No region → -1, GPUCTL_ERR_CONFIG.
 * An explicitly chosen profile (--profile, AWS_PROFILE, AWS_DEFAULT_PROFILE)
 * found in neither file → -1, GPUCTL_ERR_CONFIG.
 */
int creds_resolve_region(const struct creds_inputs *in,
			 struct creds_config *out, struct gpuctl_err *err);

/*
 * Fills profile, the keys, expiration, creds_source and
 * creds_world_readable (replacing earlier values).  No credentials, partial
 * ones, or a failing credential_process → -1, GPUCTL_ERR_CONFIG.
 */
int creds_resolve_credentials(const struct creds_inputs *in,
			      struct creds_config *out, struct gpuctl_err *err);

/* Frees every field (wiping the secrets) and zeroes the struct. */
void creds_config_release(struct creds_config *c);

/*
 * Splits a command line as Python's shlex.split() does in POSIX mode
 * (botocore's compat_shell_split): blanks separate words; '...' is literal;
 * in "..." a backslash escapes only \ and "; elsewhere a backslash escapes
 * any character.  Returns a NULL-terminated array (caller frees it with
 * creds_argv_free()) and sets *argc, or NULL when a quote is unclosed or
 * the line ends in a backslash.
 */
char **creds_split_command(const char *line, int *argc);
void creds_argv_free(char **argv);

/*
 * Parses an ISO 8601 UTC time, "2026-11-26T12:00:00Z", with optional
 * fractional seconds and a Z, +HH:MM, -HH:MM or +HHMM zone (none means
 * UTC), into seconds since the epoch.  Returns 0, or -1 when s is not such
 * a time.
 */
int creds_parse_time(const char *s, long long *out);

#endif
