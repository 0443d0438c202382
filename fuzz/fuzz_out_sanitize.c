/*
 * out_sanitize() and out_display_width(): what makes untrusted text
 * (tags, console output, error messages) safe for a terminal.
 */
#include <string.h>

#include "gpuctl/out.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf b = BUF_INIT;
	char *s = fuzz_strndup(data, size);
	size_t i;

	out_sanitize(&b, s);
	FUZZ_CHECK(b.data[b.len] == '\0');
	FUZZ_CHECK(strlen(b.data) == b.len);
	for (i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.data[i];

		/* no C0 control, no DEL */
		FUZZ_CHECK(c >= 0x20 && c != 0x7f);
	}
	(void)out_display_width(b.data);
	(void)out_display_width(s);
	buf_release(&b);
	free(s);
	return 0;
}
