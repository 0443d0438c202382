/* SHA-256, HMAC, base64, random bytes and wiping over libcrypto. */
#include "gpuctl/digest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

void digest_sha256(const void *data, size_t n,
		   unsigned char out[DIGEST_SHA256_LEN])
{
	unsigned int len = 0;

	if (!EVP_Digest(data, n, out, &len, EVP_sha256(), NULL) ||
	    len != DIGEST_SHA256_LEN)
		abort(); /* only on a broken libcrypto */
}

void digest_sha256_hex(const void *data, size_t n,
		       char hex[2 * DIGEST_SHA256_LEN + 1])
{
	unsigned char md[DIGEST_SHA256_LEN];

	digest_sha256(data, n, md);
	hex_encode(md, sizeof(md), hex);
}

void digest_hmac_sha256(const void *key, size_t keylen, const void *data,
			size_t n, unsigned char out[DIGEST_SHA256_LEN])
{
	unsigned int len = 0;

	if (keylen > INT32_MAX ||
	    !HMAC(EVP_sha256(), key, (int)keylen, data, n, out, &len) ||
	    len != DIGEST_SHA256_LEN)
		abort();
}

char *digest_base64(const void *data, size_t n)
{
	const unsigned char *in = data;
	size_t chunk, off = 0, o = 0;
	char *r;

	if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
		abort();
	r = xmalloc(4 * ((n + 2) / 3) + 1);
	/* EVP_EncodeBlock takes an int: go by whole 3-byte groups */
	while (off < n) {
		chunk = n - off > 3 * 4096 ? 3 * 4096 : n - off;
		o += (size_t)EVP_EncodeBlock((unsigned char *)r + o, in + off,
					     (int)chunk);
		off += chunk;
	}
	r[o] = '\0';
	return r;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int digest_base64_decode(const char *in, size_t n, struct buf *out)
{
	unsigned long acc = 0;
	int bits = 0, pad = 0, v;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		v = b64_value(c);
		if (v < 0 || pad)
			return -1; /* a bad character, or data after '=' */
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addch(out, (char)((acc >> bits) & 0xff));
		}
	}
	/* what is left must be padding bits only, and pad must fit them */
	if (pad > 2 || (bits == 6) || (pad && bits / 2 != pad) ||
	    (acc & ((1ul << bits) - 1)))
		return -1;
	return 0;
}

int digest_random(void *p, size_t n)
{
	if (n > INT32_MAX)
		return -1;
	return RAND_bytes(p, (int)n) == 1 ? 0 : -1;
}

void digest_wipe(void *p, size_t n)
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}
