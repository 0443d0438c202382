/*
 * Shared by the fuzz targets: the libFuzzer entry point and a cheap
 * invariant check that aborts (a crash for libFuzzer and for the replay).
 */
#ifndef GPUCTL_FUZZ_H
#define GPUCTL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
	abort();
}

#define FUZZ_CHECK(c)                                      \
	do {                                               \
		if (!(c))                                  \
			fuzz_fail(__FILE__, __LINE__, #c); \
	} while (0)

/* A NUL-terminated copy of data (caller frees). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
