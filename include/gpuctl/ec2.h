/*
 * ec2: the EC2 Query API client.
 *
 * struct ec2_client signs each call with SigV4 (through sigv4/) and sends
 * it through http/ with its retries.  An EC2 error response becomes a
 * GPUCTL_ERR_AWS error carrying the HTTP status, the error code, its
 * message and the request ID.
 */
#ifndef GPUCTL_EC2_H
#define GPUCTL_EC2_H

#include <stddef.h>

#include "gpuctl/err.h"
#include "gpuctl/util.h"

#define EC2_API_VERSION "2016-11-15"

struct ec2_client;

/* Everything the client needs; the strings are copied. */
struct ec2_client_options {
	const char *endpoint_url;
	const char *region;
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token; /* NULL when none */
	const char *ca_bundle;	   /* NULL: the system's */
	long timeout_ms;	   /* per attempt, 0: the default */
	int max_attempts;	   /* 0: the default */
};

struct ec2_param {
	const char *key;
	const char *value;
};

/* Returns NULL with err filled on a bad endpoint URL. */
struct ec2_client *ec2_client_new(const struct ec2_client_options *opts,
				  struct gpuctl_err *err);
/* Wipes the secrets it held. */
void ec2_client_free(struct ec2_client *c);

/*
 * One Query API call: Action=action, Version=2016-11-15 and the params,
 * form-encoded in a signed POST.  On success (HTTP 2xx) returns 0 with the
 * response body in *body.  On an EC2 error returns -1 with err filled
 * (GPUCTL_ERR_AWS) and the body in *body too; on a transport failure
 * returns -1 with err filled and *body empty.
 */
int ec2_call(struct ec2_client *c, const char *action,
	     const struct ec2_param *params, size_t nparams, struct buf *body,
	     struct gpuctl_err *err);

/* Appends key=value form-encoded (RFC 3986, as SigV4 wants) to b. */
void ec2_form_add(struct buf *b, const char *key, const char *value);

/*
 * Reads an EC2 error document (<Response><Errors><Error><Code>…) into err
 * as a GPUCTL_ERR_AWS error with the given HTTP status.  Returns 0 when it
 * was one, -1 (err untouched) when the body is not an EC2 error document.
 */
int ec2_parse_error(const char *body, size_t len, long status,
		    struct gpuctl_err *err);

#endif
