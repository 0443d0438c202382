/*
 * ssh_console_fingerprints(): the host key fingerprints cloud-init prints
 * on the console, between the BEGIN and END SSH HOST KEY FINGERPRINTS
 * lines.
 */
#include <string.h>

#include "gpuctl/ssh.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char **v;
	size_t i, j;

	v = ssh_console_fingerprints((const char *)data, size);
	FUZZ_CHECK(v != NULL);
	for (i = 0; v[i]; i++) {
		/* "SHA256:" and 43 base64 digits, each one once */
		FUZZ_CHECK(strlen(v[i]) == 50);
		FUZZ_CHECK(!memcmp(v[i], "SHA256:", 7));
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(v[i], v[j]) != 0);
	}
	ssh_strv_free(v);
	return 0;
}
