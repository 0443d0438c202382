/*
 * ec2_parse_error(): the EC2 error document (<Response><Errors><Error>)
 * and the <ErrorResponse> form.  The whole input is the body.
 */
#include <string.h>

#include "gpuctl/ec2.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	int rc;

	rc = ec2_parse_error((const char *)data, size, 400, &err);
	if (rc == 0) {
		FUZZ_CHECK(err.kind == GPUCTL_ERR_AWS);
		FUZZ_CHECK(err.http_status == 400);
		FUZZ_CHECK(err.code && err.message);
		/* the message is cut to 200 bytes */
		FUZZ_CHECK(strlen(err.message) <= 200);
	} else {
		FUZZ_CHECK(rc == -1);
		FUZZ_CHECK(err.kind == GPUCTL_ERR_NONE && !err.code &&
			   !err.message && !err.request_id);
	}
	err_clear(&err);
	return 0;
}
