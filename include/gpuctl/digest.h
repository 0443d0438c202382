/*
 * digest: the one place above the SSH and signing floors where OpenSSL's
 * libcrypto is used: SHA-256, HMAC-SHA256, base64, random bytes and
 * wiping.  Modules outside sigv4/, creds/, ssh/ and util/ use these and
 * never include OpenSSL themselves (`make layers-check` says so).
 *
 * Ownership: returned char * belong to the caller (free()).
 */
#ifndef GPUCTL_DIGEST_H
#define GPUCTL_DIGEST_H

#include <stddef.h>

#include "gpuctl/util.h"

#define DIGEST_SHA256_LEN 32

/* SHA-256 of n bytes into out. */
void digest_sha256(const void *data, size_t n,
		   unsigned char out[DIGEST_SHA256_LEN]);
/* The same as 64 lower-case hex characters and a NUL into hex. */
void digest_sha256_hex(const void *data, size_t n,
		       char hex[2 * DIGEST_SHA256_LEN + 1]);
/* HMAC-SHA256 of data under key into out. */
void digest_hmac_sha256(const void *key, size_t keylen, const void *data,
			size_t n, unsigned char out[DIGEST_SHA256_LEN]);

/* Standard base64 (with padding, no line breaks) of n bytes; caller frees. */
char *digest_base64(const void *data, size_t n);
/*
 * Decodes base64, skipping white space (line breaks included), appending
 * the bytes to out.  Returns 0, or -1 (out then holds what was decoded
 * before the bad input) when in is not base64.
 */
int digest_base64_decode(const char *in, size_t n, struct buf *out);

/* n bytes from the system's CSPRNG.  Returns 0, or -1 when it failed. */
int digest_random(void *p, size_t n);

/* Wipes n bytes so that the compiler cannot drop the write. */
void digest_wipe(void *p, size_t n);

#endif
