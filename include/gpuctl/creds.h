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
 * Region, last: when none of those names one, the instance metadata
 * service's (IMDSv2, see below), as the AWS CLI v2 does.
 *
 * Credentials, in the order of the AWS CLI v2 (botocore's
 * create_credential_resolver):
 *   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *      AWS_SECURITY_TOKEN or AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION
 *      (skipped when --profile was given);
 *   2. assume role: the profile has role_arn (and no
 *      web_identity_token_file), with source_profile (a chain of profiles;
 *      a loop is an error naming them) or credential_source (Environment,
 *      Ec2InstanceMetadata, EcsContainer); role_session_name, external_id,
 *      duration_seconds, mfa_serial (the code is asked for on the terminal,
 *      through inputs->prompt).  STS AssumeRole goes through inputs->sts;
 *   3. web identity: web_identity_token_file + role_arn (+
 *      role_session_name) of the profile, or AWS_WEB_IDENTITY_TOKEN_FILE,
 *      AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME (not with --profile): STS
 *      AssumeRoleWithWebIdentity, unsigned;
 *   4. IAM Identity Center (SSO): sso_account_id / sso_role_name with
 *      sso_session (an [sso-session NAME] section) or the legacy
 *      sso_start_url and sso_region; the token `aws sso login` cached in
 *      ~/.aws/sso/cache/SHA1(session name or start URL).json is exchanged
 *      at the portal (GetRoleCredentials, endpoint as for service SSO,
 *      default https://portal.sso.REGION.amazonaws.com).  An expired token
 *      is an error saying to run `aws sso login`: refreshing it is the AWS
 *      CLI's job;
 *   5. the shared credentials file, 6. credential_process, 7. the config
 *      file's static keys (for a source profile, 3 to 7 make its chain);
 *   8. the container credentials endpoint:
 *      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on 169.254.170.2) or
 *      _FULL_URI (https, or http to a loopback address, 169.254.170.2,
 *      169.254.170.23 or fd00:ec2::23), with the Authorization token of
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read on every fetch) or
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN;
 *   9. the instance metadata service, IMDSv2 (a token PUT, then the role's
 *      credentials), at AWS_EC2_METADATA_SERVICE_ENDPOINT, the profile's
 *      ec2_metadata_service_endpoint or http://169.254.169.254 (the IPv6
 *      one with endpoint mode IPv6); never with
 *      AWS_EC2_METADATA_DISABLED=true; one attempt of 1 s
 *      (AWS_METADATA_SERVICE_TIMEOUT, _NUM_ATTEMPTS), and no answer at all
 *      is "not on EC2", not an error.
 * credential_process is run without a shell (split like Python's
 * shlex.split), with the given environment, stdout captured (at most 1 MiB)
 * and stderr passed through.
 *
 * The AWS CLI's cache: credentials from AssumeRole, AssumeRoleWithWebIdentity
 * and GetRoleCredentials are read from and written to
 * $HOME/.aws/cli/cache/KEY.json, KEY and JSON shape as botocore makes them
 * (the SHA-1 of the request's arguments as Python's json.dumps writes them),
 * written atomically, 0600.  An entry is used while it has 15 minutes left
 * (botocore's window), so the AWS CLI and gpuctl share one session.
 *
 * Every secret read or fetched (secret keys, session tokens, SSO access
 * tokens, web identity tokens, container tokens) is registered with the
 * logger's redaction before any request carries it.
 *
 * Errors are GPUCTL_ERR_CONFIG (exit 3) and never contain a secret or the
 * output of credential_process; an STS or portal refusal is the service's
 * error (GPUCTL_ERR_AWS).
 *
 * Ownership: every char * in struct creds_config belongs to the struct;
 * creds_config_release() frees them (wiping the secrets).  The inputs are
 * borrowed and may be freed once the call returns.
 */
#ifndef GPUCTL_CREDS_H
#define GPUCTL_CREDS_H

#include "gpuctl/err.h"

/* A parameter of an STS call; borrowed. */
struct creds_param {
	const char *key;
	const char *value;
};

/* One STS Query API call (version 2011-06-15); every pointer is borrowed. */
struct creds_sts_request {
	const char *action;	  /* AssumeRole, AssumeRoleWithWebIdentity */
	const char *endpoint_url; /* as for EC2, service STS */
	const char *region;	  /* the signing region */
	const char *ca_bundle;	  /* NULL: the system's */
	/* the caller's keys; access_key_id NULL: an unsigned request */
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;
	const struct creds_param *params;
	size_t nparams;
};

/*
 * What AssumeRole or AssumeRoleWithWebIdentity answered; the strings are
 * the result's, as the service sent them (creds checks them);
 * creds_sts_result_release() wipes the secrets and frees them.
 */
struct creds_sts_result {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;
	char *expiration; /* ISO 8601 */
	char *assumed_role_id;
	char *arn;
};

void creds_sts_result_release(struct creds_sts_result *r);

/*
 * STS, which creds cannot call itself (it is XML, src/ec2's): the caller
 * passes an implementation in (gpuctl's is ec2_sts_call()).  call returns
 * 0 with out filled, or -1 with err filled (GPUCTL_ERR_AWS for STS's
 * error answer, with its code).
 */
struct creds_sts {
	int (*call)(void *arg, const struct creds_sts_request *req,
		    struct creds_sts_result *out, struct gpuctl_err *err);
	void *arg;
};

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
	/* STS; call NULL: a profile that assumes a role is an error */
	struct creds_sts sts;
	/*
	 * Asks the user for an MFA code: shows prompt, puts the answer (at
	 * most size - 1 bytes, no newline) into answer.  Returns 0, or -1
	 * with err filled.  NULL: the controlling terminal (/dev/tty), echo
	 * off; no terminal is an error.
	 */
	int (*prompt)(void *arg, const char *prompt, char *answer, size_t size,
		      struct gpuctl_err *err);
	void *prompt_arg;
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
	/* seconds since the epoch (credential_process Expiration,
	 * AWS_CREDENTIAL_EXPIRATION, temporary credentials); 0 = none */
	long long expiration;
	/*
	 * When creds_refresh() fetches new ones: 5 minutes before expiration
	 * (a third of their lifetime when that is shorter); 0 = never
	 * (static keys)
	 */
	long long refresh_at;
	/* "environment", "shared credentials file PATH", "config file PATH",
	 * "credential_process", "assume-role profile "NAME" (ROLE ARN; source:
	 * …)", "web identity …", "IAM Identity Center (SSO) profile …",
	 * "container credentials endpoint URL", "instance metadata …"; never
	 * a secret */
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

/*
 * Fresh temporary credentials for a long command, called before each
 * request is signed: when force is set (the service refused the keys as
 * expired) or refresh_at has come, resolves the credentials again (with
 * force, not from the AWS CLI's cache) and puts them into c.  Returns 1
 * when the keys changed, 0 when nothing was due (or c holds static keys),
 * -1 with err filled when fresh ones are needed and cannot be had.  A
 * failed refresh before the keys expire is only a warning.  A role that
 * needs an MFA code is not asked again (as botocore): its session ends.
 * in is the one the first resolution used.
 */
int creds_refresh(const struct creds_inputs *in, struct creds_config *c,
		  int force, struct gpuctl_err *err);

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

/* Writes t as "2026-11-26T12:00:00Z" into out. */
void creds_format_time(long long t, char out[21]);

#endif
