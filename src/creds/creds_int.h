/*
 * creds internals: the INI reader shared by creds.c and process.c, and
 * what the providers (assume.c, sso.c, meta.c) and the AWS CLI's cache
 * (cache.c) share with the chain in creds.c.
 *
 * Ownership: a struct creds_ini owns every string in it; creds_ini_release()
 * wipes and frees them (values may be secrets).  creds_ini_get() returns a
 * pointer into the struct, valid until it is released.
 */
#ifndef GPUCTL_CREDS_INT_H
#define GPUCTL_CREDS_INT_H

#include <stddef.h>

#include "gpuctl/creds.h"
#include "gpuctl/err.h"
#include "gpuctl/http.h"
#include "gpuctl/util.h"

struct creds_ini_entry {
	char *key;   /* folded to lower case */
	char *value; /* stripped; continuation lines joined with '\n' */
};

struct creds_ini_section {
	char *name;
	struct creds_ini_entry *entries;
	size_t nr, alloc;
};

struct creds_ini {
	char *path;    /* NULL when there is no such file to read */
	int exists;    /* the file was there and was read */
	unsigned mode; /* its permission bits */
	struct creds_ini_section *sections;
	size_t nr, alloc;
	struct creds_ini_section defaults; /* [DEFAULT] */
};

#define CREDS_INI_INIT \
	{              \
		0      \
	}

/*
 * Reads and parses path (which may be NULL: no file).  A missing file or a
 * path that is not a regular file leaves ini empty and returns 0; an
 * unreadable or malformed file returns -1 with err set.
 */
int creds_ini_load(struct creds_ini *ini, const char *path,
		   struct gpuctl_err *err);
/* Parses text (name is used in messages).  Returns 0 or -1 with err set. */
int creds_ini_parse(struct creds_ini *ini, const char *name, const char *text,
		    size_t len, struct gpuctl_err *err);
void creds_ini_release(struct creds_ini *ini);

/* The section named name (exact match), or NULL. */
const struct creds_ini_section *creds_ini_section(const struct creds_ini *ini,
						  const char *name);
/* key in sect only; NULL when it has none. */
const char *creds_ini_section_get(const struct creds_ini_section *s,
				  const char *key);
/* key in sect, falling back to [DEFAULT]; NULL when neither has it. */
const char *creds_ini_get(const struct creds_ini *ini,
			  const struct creds_ini_section *sect,
			  const char *key);
/*
 * The value of key in a nested block ("s3 =\n  key = value" gives the
 * value "\nkey = value").  Returns a fresh string (caller frees) or NULL.
 */
char *creds_ini_subvalue(const char *block, const char *key);

/*
 * Runs a credential_process command line and fills out's keys.  profile
 * names it in messages.  Returns 0 or -1 with err set.
 */
struct creds_config;
int creds_process_fetch(const char *profile, const char *cmdline,
			char *const *envp, long long now,
			struct creds_config *out, struct gpuctl_err *err);
/*
 * Reads credential_process output (text, len bytes, need not be
 * NUL-terminated) into out's keys, as creds_process_fetch() does with what
 * the command printed.  Pure: for tests and fuzzing.  Returns 0 or -1
 * with err set.
 */
int creds_process_parse(const char *profile, const char *text, size_t len,
			long long now, struct creds_config *out,
			struct gpuctl_err *err);

/* ---- the chain ---- */

/* The files, the profile and the inputs of one resolution. */
struct creds_ctx {
	const struct creds_inputs *in;
	long long now;
	char *profile;		  /* the top profile */
	const char *profile_from; /* "--profile", "AWS_PROFILE", … or NULL */
	struct creds_ini config;
	struct creds_ini creds;
	const char *region;    /* the resolved region, or NULL */
	const char *ca_bundle; /* or NULL */
	int refreshing;	       /* creds_refresh(): no MFA prompt */
	int force;	       /* creds_refresh(force): no cache reads */
};

/*
 * A profile's setting: the credentials file's [profile] first, then the
 * config file's [profile NAME] ([default]), as botocore's full_config
 * merges them.  *from (may be NULL) gets the file.  NULL when unset.
 */
const char *creds_profile_get(const struct creds_ctx *c, const char *profile,
			      const char *key, const struct creds_ini **from);
/* 1 when either file has a section for profile. */
int creds_profile_exists(const struct creds_ctx *c, const char *profile);
/*
 * The config file's [PREFIX NAME] section ("sso-session", "services"),
 * the last one when repeated; NULL when there is none.
 */
const struct creds_ini_section *creds_config_section(const struct creds_ctx *c,
						     const char *prefix,
						     const char *name);
/*
 * The endpoint of a service as the AWS CLI finds it: service_env "STS"
 * reads AWS_ENDPOINT_URL_STS, the [services] block's "sts", then
 * AWS_ENDPOINT_URL and the profile's endpoint_url (--endpoint-url is
 * EC2's only), else fallback.  *url and *source belong to the caller.
 */
int creds_service_endpoint(const struct creds_ctx *c, const char *service_env,
			   const char *fallback, char **url, char **source,
			   struct gpuctl_err *err);
/* The environment's value of name, or NULL. */
const char *creds_env(const struct creds_ctx *c, const char *name);
/* 1 when s is "true" in any case. */
int creds_is_true(const char *s);

/*
 * Providers: each returns 1 when it filled out's keys and creds_source,
 * 0 when it is not configured (out untouched), -1 with err filled.
 */
int creds_from_env(const struct creds_ctx *c, struct creds_config *out,
		   struct gpuctl_err *err);
/* 3 to 7 of the chain for profile; env_ok: the variables may be read. */
int creds_profile_chain(const struct creds_ctx *c, const char *profile,
			int env_ok, struct creds_config *out,
			struct gpuctl_err *err);
int creds_assume_role(const struct creds_ctx *c, const char *profile,
		      struct creds_config *out, struct gpuctl_err *err);
int creds_web_identity(const struct creds_ctx *c, const char *profile,
		       int env_ok, struct creds_config *out,
		       struct gpuctl_err *err);
int creds_sso(const struct creds_ctx *c, const char *profile,
	      struct creds_config *out, struct gpuctl_err *err);
int creds_container(const struct creds_ctx *c, struct creds_config *out,
		    struct gpuctl_err *err);
int creds_imds(const struct creds_ctx *c, struct creds_config *out,
	       struct gpuctl_err *err);
/* The region IMDS names: 1 with *region and *source set, 0 when none. */
int creds_imds_region(const struct creds_ctx *c, char **region, char **source,
		      struct gpuctl_err *err);

/*
 * Puts temporary keys into out (replacing what it held), registering the
 * secrets with the logger, with refresh_at from their expiration.
 * source is copied.
 */
void creds_set_keys(const struct creds_ctx *c, struct creds_config *out,
		    const char *ak, const char *sk, const char *token,
		    long long expiration, const char *source);
/*
 * Checks keys a service sent (an access key of 16 to 128 letters and
 * digits, a secret and token of printable ASCII, an expiration in the
 * future) and puts them into out as creds_set_keys().  what names the
 * service in messages.  Returns 0, or -1 with err filled.
 */
int creds_take_keys(const struct creds_ctx *c, const char *what, const char *ak,
		    const char *sk, const char *token, const char *expiration,
		    struct creds_config *out, const char *source,
		    struct gpuctl_err *err);

/* ---- HTTP for the credential endpoints (meta.c) ---- */

struct creds_fetch {
	const char *method; /* "GET", "PUT" */
	const char *url;
	const struct http_header *headers;
	size_t nheaders;
	long timeout_ms; /* connect and per attempt */
	int attempts;
	const char *ca_bundle;
};

/*
 * One unsigned exchange; the answer's body (a secret: wiped when it moves
 * and never traced by --debug) goes into body, its status into *status.
 * Returns 0 when an answer came, -1 with err filled when none did.
 */
int creds_http(const struct creds_fetch *f, struct buf *body, long *status,
	       struct gpuctl_err *err);

/* ---- the AWS CLI's cache (cache.c) ---- */

/* A member of the object whose hash names a cache entry. */
struct creds_key_arg {
	const char *name;
	const char *str; /* a string, or NULL: num */
	long long num;
};

/*
 * Python's json.dumps(args, sort_keys=True) of a flat object (compact:
 * separators=(',', ':')), into out: ensure_ascii escapes, members sorted.
 */
void creds_py_json(struct buf *out, const struct creds_key_arg *args, size_t n,
		   int compact);
/* Lower-case hex SHA-1 of creds_py_json(): botocore's cache key. */
char *creds_cache_key(const struct creds_key_arg *args, size_t n, int compact);
/* Lower-case hex SHA-1 of s (the SSO token cache's file names). */
char *creds_sha1_hex(const char *s);
/*
 * Reads $HOME/.aws/cli/cache/KEY.json into out when it holds credentials
 * with at least 15 minutes left.  Returns 1 when it did, 0 when not (no
 * entry, an unusable one, or c->force).  source is what out's
 * creds_source says, " (from the AWS CLI's cache)" appended.
 */
int creds_cache_load(const struct creds_ctx *c, const char *key,
		     struct creds_config *out, const char *source);
/*
 * Writes the entry as botocore does ({"Credentials": {…}, …}, "sso" as
 * its ProviderType for GetRoleCredentials); a failure is only logged.
 */
void creds_cache_store(const struct creds_ctx *c, const char *key,
		       const char *provider_type,
		       const struct creds_sts_result *r);
/* $HOME/.aws/SUB (caller frees), or NULL without a home. */
char *creds_aws_dir(const struct creds_ctx *c, const char *sub);
/*
 * Reads a small file (at most max bytes) that holds a secret; returns 0,
 * or -1 with err filled naming what.
 */
int creds_read_secret_file(const char *path, size_t max, const char *what,
			   struct buf *out, struct gpuctl_err *err);

#endif
