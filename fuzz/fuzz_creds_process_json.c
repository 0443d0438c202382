/*
 * What credential_process prints: creds_process_parse() (the JSON reader
 * creds_process_fetch() uses on the command's stdout, with its ISO 8601
 * Expiration through creds_parse_time()).
 */
#include <string.h>

#include "gpuctl/creds.h"
#include "creds/creds_int.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct creds_config c = CREDS_CONFIG_INIT;
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	int rc;

	rc = creds_process_parse("fuzz", (const char *)data, size, 1700000000LL,
				 &c, &err);
	if (rc == 0) {
		FUZZ_CHECK(err.kind == GPUCTL_ERR_NONE);
		FUZZ_CHECK(c.access_key_id && *c.access_key_id);
		FUZZ_CHECK(c.secret_access_key && *c.secret_access_key);
		FUZZ_CHECK(c.expiration == 0 || c.expiration > 1700000000LL);
	} else {
		FUZZ_CHECK(rc == -1);
		FUZZ_CHECK(err.kind == GPUCTL_ERR_CONFIG && err.message);
		FUZZ_CHECK(!c.access_key_id && !c.secret_access_key);
	}
	err_clear(&err);
	creds_config_release(&c);
	return 0;
}
