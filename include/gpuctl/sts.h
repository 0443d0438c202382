/*
 * sts: STS (AssumeRole, AssumeRoleWithWebIdentity) over the EC2 Query
 * client, which signs it for service "sts" (or sends it unsigned, for
 * web identity): the implementation of creds' struct creds_sts, so that
 * creds, a lower floor, never sees XML.
 */
#ifndef GPUCTL_STS_H
#define GPUCTL_STS_H

#include <stddef.h>

#include "gpuctl/creds.h"
#include "gpuctl/err.h"

#define EC2_STS_API_VERSION "2011-06-15"

/*
 * A creds_sts call: one STS request (with the client's retries) and its
 * answer read.  arg is unused.  Returns 0 with out filled (out's strings
 * are its own; release it with creds_sts_result_release()), or -1 with
 * err filled: GPUCTL_ERR_AWS for STS's error answer (AccessDenied, …).
 */
int ec2_sts_call(void *arg, const struct creds_sts_request *req,
		 struct creds_sts_result *out, struct gpuctl_err *err);

/*
 * Reads the answer to action (AssumeRole, AssumeRoleWithWebIdentity) into
 * out: the root <ACTIONResponse> in an STS namespace, its Credentials
 * (wiped from the parsed document) and AssumedRoleUser.  Pure: for tests
 * and fuzzing.  Returns 0, or -1 with err filled (GPUCTL_ERR_PARSE).
 */
int ec2_parse_sts(const char *action, const char *xml, size_t len,
		  struct creds_sts_result *out, struct gpuctl_err *err);

#endif
