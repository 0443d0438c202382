/*
 * sigv4_bench: nanoseconds per SigV4 signature of a typical EC2 Query API
 * POST (gpuctl list's DescribeInstances), on one core, with the signing key
 * cached as gpuctl's client does it (one signer per process), against the
 * floor: the SHA-256 and HMAC-SHA256 work itself, done directly with
 * OpenSSL over the same bytes.
 *
 *   sign        sigv4_sign(): canonical request, string to sign, signature,
 *               Authorization header, payload hashed here (what one request
 *               costs the first time it is sent)
 *   sign-ph     the same with the payload hash passed in (what gpuctl does:
 *               it hashes the body once, before its retry loop)
 *   floor-evp   SHA-256(payload) + SHA-256(canonical request) +
 *               HMAC-SHA256(key, string to sign) through the EVP API,
 *               algorithms fetched once, HMAC context keyed once: the same
 *               crypto calls gpuctl makes, nothing else
 *   floor-raw   the same hashing with OpenSSL's low-level SHA256_* calls and
 *               an HMAC whose inner and outer states are precomputed from
 *               the key: the least SHA-256 work a signature can cost
 *
 * Output: one JSON object on stdout: medians, minima and maxima over RUNS
 * rounds of ns per signature (each round runs ITERS of each of the four in
 * turn), and of the per-round ratios sign / floor.
 *
 * usage: sigv4_bench [ITERS [RUNS [profile]]]
 * ("profile": only sigv4_sign() runs, silently, for perf or callgrind)
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>

#include "gpuctl/sigv4.h"

#define MAXRUNS 64

static const char body[] =
    "Action=DescribeInstances&Version=2016-11-15"
    "&Filter.1.Name=instance-state-name&Filter.1.Value.1=pending"
    "&Filter.1.Value.2=running&Filter.1.Value.3=stopping"
    "&Filter.1.Value.4=stopped&Filter.1.Value.5=shutting-down"
    "&Filter.2.Name=tag-key&Filter.2.Value.1=gpuctl%3Amanaged"
    "&MaxResults=1000";

static volatile unsigned sink; /* keeps results alive */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct ctx {
	struct sigv4_signer *s;
	struct sigv4_request req;
	struct sigv4_creds creds;
	struct sigv4_params p;
	struct sigv4_result res;
	char payload_hash[SIGV4_HEX_LEN + 1];
	/* the floor's inputs: the exact bytes gpuctl hashes */
	char *creq, *sts;
	size_t creq_len, sts_len;
	unsigned char key[SIGV4_KEY_LEN];
	EVP_MD *md;
	EVP_MD_CTX *mdctx;
	EVP_MAC *mac;
	EVP_MAC_CTX *macctx;
	SHA256_CTX inner, outer; /* HMAC states after the key pads */
};

static void die(const char *what)
{
	fprintf(stderr, "sigv4_bench: %s failed\n", what);
	exit(1);
}

static void sign_full(struct ctx *c)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;

	c->req.payload_hash = NULL;
	if (sigv4_sign(c->s, &c->req, &c->creds, &c->p, SIGV4_HEADER, &c->res,
		       &err))
		die("sigv4_sign");
	sink += (unsigned char)c->res.signature[0];
}

static void sign_ph(struct ctx *c)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;

	c->req.payload_hash = c->payload_hash;
	if (sigv4_sign(c->s, &c->req, &c->creds, &c->p, SIGV4_HEADER, &c->res,
		       &err))
		die("sigv4_sign");
	sink += (unsigned char)c->res.signature[0];
}

static void floor_evp(struct ctx *c)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t mn = 0;

	if (!EVP_DigestInit_ex2(c->mdctx, c->md, NULL) ||
	    !EVP_DigestUpdate(c->mdctx, body, sizeof(body) - 1) ||
	    !EVP_DigestFinal_ex(c->mdctx, md, &n))
		die("sha256");
	sink += md[0];
	if (!EVP_DigestInit_ex2(c->mdctx, c->md, NULL) ||
	    !EVP_DigestUpdate(c->mdctx, c->creq, c->creq_len) ||
	    !EVP_DigestFinal_ex(c->mdctx, md, &n))
		die("sha256");
	sink += md[0];
	if (!EVP_MAC_init(c->macctx, NULL, 0, NULL) ||
	    !EVP_MAC_update(c->macctx, (const unsigned char *)c->sts,
			    c->sts_len) ||
	    !EVP_MAC_final(c->macctx, md, &mn, sizeof(md)))
		die("hmac");
	sink += md[0];
}

static void floor_raw(struct ctx *c)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256_CTX h;

	SHA256_Init(&h);
	SHA256_Update(&h, body, sizeof(body) - 1);
	SHA256_Final(md, &h);
	sink += md[0];
	SHA256_Init(&h);
	SHA256_Update(&h, c->creq, c->creq_len);
	SHA256_Final(md, &h);
	sink += md[0];
	h = c->inner;
	SHA256_Update(&h, c->sts, c->sts_len);
	SHA256_Final(md, &h);
	h = c->outer;
	SHA256_Update(&h, md, sizeof(md));
	SHA256_Final(md, &h);
	sink += md[0];
}

static void setup(struct ctx *c)
{
	static struct sigv4_header hs[2] = {
	    {"Host", "ec2.us-west-1.amazonaws.com"},
	    {"Content-Type",
	     "application/x-www-form-urlencoded; charset=utf-8"},
	};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	unsigned char pad[64], md[SHA256_DIGEST_LENGTH];
	OSSL_PARAM params[2];
	char digest[] = "SHA256";
	size_t i;

	memset(c, 0, sizeof(*c));
	c->s = sigv4_signer_new();
	c->req.method = "POST";
	c->req.path = "/";
	c->req.headers = hs;
	c->req.nheaders = 2;
	c->req.payload = body;
	c->req.payload_len = sizeof(body) - 1;
	c->creds.access_key_id = "AKIDEXAMPLE";
	c->creds.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
	c->p.region = "us-west-1";
	c->p.service = "ec2";
	c->p.time = 1732579200; /* 2024-11-26T00:00:00Z */
	c->p.normalize_path = 1;
	SHA256((const unsigned char *)body, sizeof(body) - 1, md);
	hex_encode(md, sizeof(md), c->payload_hash);
	/* one signature to fill the key cache and get the floor's inputs */
	sign_full(c);
	c->creq = strdup(c->res.canonical_request);
	c->sts = strdup(c->res.string_to_sign);
	if (!c->creq || !c->sts)
		die("strdup");
	c->creq_len = strlen(c->creq);
	c->sts_len = strlen(c->sts);
	if (sigv4_signer_signing_key(c->s, c->creds.secret_access_key, &c->p,
				     c->key, &err))
		die("sigv4_signer_signing_key");
	c->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	c->mdctx = EVP_MD_CTX_new();
	c->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	c->macctx = c->mac ? EVP_MAC_CTX_new(c->mac) : NULL;
	if (!c->md || !c->mdctx || !c->macctx)
		die("EVP fetch");
	params[0] =
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(c->macctx, c->key, sizeof(c->key), params))
		die("EVP_MAC_init");
	/* HMAC pads: a 32-byte key is shorter than the block, no hashing */
	memset(pad, 0x36, sizeof(pad));
	for (i = 0; i < sizeof(c->key); i++)
		pad[i] ^= c->key[i];
	SHA256_Init(&c->inner);
	SHA256_Update(&c->inner, pad, sizeof(pad));
	memset(pad, 0x5c, sizeof(pad));
	for (i = 0; i < sizeof(c->key); i++)
		pad[i] ^= c->key[i];
	SHA256_Init(&c->outer);
	SHA256_Update(&c->outer, pad, sizeof(pad));
}

/* Checks that the raw floor computes the same signature as gpuctl. */
static void check(struct ctx *c)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[SIGV4_HEX_LEN + 1];
	SHA256_CTX h = c->inner;

	SHA256_Update(&h, c->sts, c->sts_len);
	SHA256_Final(md, &h);
	h = c->outer;
	SHA256_Update(&h, md, sizeof(md));
	SHA256_Final(md, &h);
	hex_encode(md, sizeof(md), hex);
	if (strcmp(hex, c->res.signature))
		die("floor check (signatures differ)");
}

struct stat3 {
	double med, min, max;
};

static struct stat3 stats(double *v, int n)
{
	struct stat3 r;

	qsort(v, (size_t)n, sizeof(double), cmp_double);
	r.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	r.min = v[0];
	r.max = v[n - 1];
	return r;
}

#define NFN 4
static void (*const fns[NFN])(struct ctx *) = {sign_full, sign_ph, floor_evp,
					       floor_raw};
static const char *const names[NFN] = {"sign", "sign_payload_hash_given",
				       "floor_evp", "floor_raw"};

/*
 * runs rounds; in each, every function runs iters times in turn, so that
 * a noisy moment of the machine hits them alike.  ns[f][run] per call.
 */
static void measure(struct ctx *c, long iters, int runs, int nfn,
		    double ns[NFN][MAXRUNS])
{
	double t0;
	long i;
	int k, f;

	for (f = 0; f < nfn; f++) /* warm up */
		for (i = 0; i < iters / 10 + 1; i++)
			fns[f](c);
	for (k = 0; k < runs; k++) {
		for (f = 0; f < nfn; f++) {
			t0 = now_ns();
			for (i = 0; i < iters; i++)
				fns[f](c);
			ns[f][k] = (now_ns() - t0) / (double)iters;
		}
	}
}

static void print(const char *name, struct stat3 s, const char *unit, int last)
{
	printf("  \"%s\": {\"median%s\": %.3f, \"min%s\": %.3f, "
	       "\"max%s\": %.3f}%s\n",
	       name, unit, s.med, unit, s.min, unit, s.max, last ? "" : ",");
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 100000;
	int runs = argc > 2 ? atoi(argv[2]) : 9;
	static double ns[NFN][MAXRUNS];
	double ratio[MAXRUNS], ratio_evp[MAXRUNS];
	struct ctx c;
	int f, k;

	if (iters < 1 || runs < 1 || runs > MAXRUNS) {
		fprintf(stderr, "usage: sigv4_bench [ITERS [RUNS<=%d]]\n",
			MAXRUNS);
		return 2;
	}
	setup(&c);
	check(&c);
	if (argc > 3 && !strcmp(argv[3], "profile")) {
		measure(&c, iters, runs, 1, ns);
		return sink == 0xdeadbeef;
	}
	measure(&c, iters, runs, NFN, ns);
	for (k = 0; k < runs; k++) {
		ratio[k] = ns[0][k] / ns[3][k];
		ratio_evp[k] = ns[0][k] / ns[2][k];
	}
	printf("{\n  \"iterations\": %ld,\n  \"runs\": %d,\n", iters, runs);
	printf("  \"openssl\": \"%s\",\n", OpenSSL_version(OPENSSL_VERSION));
	printf("  \"payload_bytes\": %zu,\n  \"canonical_request_bytes\": "
	       "%zu,\n  \"string_to_sign_bytes\": %zu,\n",
	       sizeof(body) - 1, c.creq_len, c.sts_len);
	printf("  \"key_derivations\": %lu,\n",
	       sigv4_signer_key_derivations(c.s));
	for (f = 0; f < NFN; f++)
		print(names[f], stats(ns[f], runs), "_ns", 0);
	print("sign_over_floor_raw", stats(ratio, runs), "", 0);
	print("sign_over_floor_evp", stats(ratio_evp, runs), "", 1);
	printf("}\n");
	sigv4_result_release(&c.res);
	sigv4_signer_free(c.s);
	EVP_MAC_CTX_free(c.macctx);
	EVP_MAC_free(c.mac);
	EVP_MD_CTX_free(c.mdctx);
	EVP_MD_free(c.md);
	free(c.creq);
	free(c.sts);
	return sink == 0xdeadbeef;
}
