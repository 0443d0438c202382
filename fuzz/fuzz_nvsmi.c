/*
 * nvsmi_parse_csv() and nvsmi_parse_list(): the output of nvidia-smi's
 * CSV query and of nvidia-smi -L.  Both parsers read every input.
 */
#include <string.h>

#include "gpuctl/nvsmi.h"
#include "fuzz.h"

static void check(int rc, struct nvsmi_list *l, struct gpuctl_err *err)
{
	size_t i;

	if (rc == 0) {
		FUZZ_CHECK(err->kind == GPUCTL_ERR_NONE);
		FUZZ_CHECK(l->n == 0 || l->gpus != NULL);
		for (i = 0; i < l->n; i++) {
			FUZZ_CHECK(l->gpus[i].utilization_pct >= -1);
			FUZZ_CHECK(l->gpus[i].memory_total_mib >= -1);
		}
	} else {
		FUZZ_CHECK(rc == -1);
		FUZZ_CHECK(err->kind == GPUCTL_ERR_PARSE && err->message);
	}
	nvsmi_list_release(l);
	FUZZ_CHECK(l->gpus == NULL && l->n == 0);
	err_clear(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nvsmi_list l = NVSMI_LIST_INIT;
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	int rc;

	rc = nvsmi_parse_csv((const char *)data, size, &l, &err);
	check(rc, &l, &err);
	rc = nvsmi_parse_list((const char *)data, size, &l, &err);
	check(rc, &l, &err);
	return 0;
}
