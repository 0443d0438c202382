/* Tests of util/: the string buffer, parsers, errors and redaction. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gpuctl/digest.h"
#include "gpuctl/err.h"
#include "gpuctl/log.h"
#include "gpuctl/util.h"

static void test_buf(void **state)
{
	struct buf b = BUF_INIT;
	char *p;
	size_t len;
	int i;

	(void)state;
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	buf_adds(&b, "abc");
	buf_addch(&b, '-');
	buf_addf(&b, "%d:%s", 42, "x");
	assert_string_equal(b.data, "abc-42:x");
	assert_int_equal(b.len, 8);
	for (i = 0; i < 10000; i++)
		buf_addch(&b, 'z');
	assert_int_equal(b.len, 10008);
	assert_int_equal(b.data[b.len], '\0');
	buf_reset(&b);
	assert_string_equal(b.data, "");
	buf_add(&b, "a\0b", 3);
	p = buf_detach(&b, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "a\0b", 3);
	assert_string_equal(b.data, "");
	free(p);
	p = buf_detach(&b, &len); /* an empty buffer detaches as "" */
	assert_string_equal(p, "");
	free(p);
	buf_release(&b);
}

static void test_parse_long(void **state)
{
	long v = -1;

	(void)state;
	assert_int_equal(parse_long("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_long("101", 0, 100, &v), -1);
	assert_int_equal(parse_long("-1", -5, 100, &v), -1);
	assert_int_equal(parse_long("4x", 0, 100, &v), -1);
	assert_int_equal(parse_long("", 0, 100, &v), -1);
	assert_int_equal(parse_long(" 4", 0, 100, &v), -1);
	assert_int_equal(parse_long("99999999999999999999999", 0, 100, &v), -1);
	assert_int_equal(v, 42);
}

static void test_hex(void **state)
{
	const unsigned char in[] = {0x00, 0xab, 0xff, 0x10};
	char out[9];

	(void)state;
	hex_encode(in, 4, out);
	assert_string_equal(out, "00abff10");
}

static void test_err(void **state)
{
	struct gpuctl_err e = GPUCTL_ERR_INIT;

	(void)state;
	assert_int_equal(err_set(&e, GPUCTL_ERR_CONFIG, "no %s", "region"), -1);
	err_prefix(&e, "launch");
	err_hint(&e, "pass --region");
	assert_string_equal(e.message, "launch: no region");
	assert_string_equal(e.hint, "pass --region");
	assert_int_equal(err_exit_status(&e), 3);
	e.kind = GPUCTL_ERR_AWS;
	assert_int_equal(err_exit_status(&e), 4);
	e.kind = GPUCTL_ERR_TIMEOUT;
	assert_int_equal(err_exit_status(&e), 5);
	e.kind = GPUCTL_ERR_SSH;
	assert_int_equal(err_exit_status(&e), 255);
	e.kind = GPUCTL_ERR_USAGE;
	assert_int_equal(err_exit_status(&e), 2);
	e.kind = GPUCTL_ERR_NETWORK;
	assert_int_equal(err_exit_status(&e), 1);
	err_clear(&e);
	assert_null(e.message);
	assert_int_equal(err_exit_status(&e), 0);
}

static void expect_redacted(const char *in, const char *want)
{
	char *got = log_redact(in, strlen(in));

	assert_string_equal(got, want);
	free(got);
}

static void test_redact_patterns(void **state)
{
	(void)state;
	expect_redacted("Authorization: AWS4-HMAC-SHA256 Credential=AKID/"
			"20150830/us-east-1/ec2/aws4_request, SignedHeaders="
			"host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e"
			"86291e8372ff2a2260956d9b8aae1d763fbf31\r\n",
			"Authorization: AWS4-HMAC-SHA256 Credential=AKID/"
			"20150830/us-east-1/ec2/aws4_request, SignedHeaders="
			"host;x-amz-date, Signature=[REDACTED]\n");
	expect_redacted("GET /?X-Amz-Signature=abcdef&X-Amz-Security-Token="
			"tok%2Fen&a=b",
			"GET /?X-Amz-Signature=[REDACTED]&X-Amz-Security-"
			"Token=[REDACTED]&a=b");
	expect_redacted("x-amz-security-token: FQoGZXIvYXdzE\n",
			"x-amz-security-token: [REDACTED]\n");
	/* a code that merely starts like the field name is left alone */
	expect_redacted("<Code>SignatureDoesNotMatch</Code>",
			"<Code>SignatureDoesNotMatch</Code>");
	/* private keys, in PEM and in CreateKeyPair's answer */
	expect_redacted("a\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n"
			"-----END OPENSSH PRIVATE KEY-----\nz",
			"a\n[REDACTED PRIVATE KEY]\nz");
	expect_redacted("<keyMaterial>-----BEGIN RSA PRIVATE KEY-----\nMII"
			"\n-----END RSA PRIVATE KEY-----</keyMaterial><x>",
			"[REDACTED PRIVATE KEY]<x>");
	expect_redacted("-----BEGIN RSA PRIVATE KEY-----\nMIIE truncated",
			"[REDACTED PRIVATE KEY]");
	/* public keys and certificates stay */
	expect_redacted("-----BEGIN PUBLIC KEY-----\nMFk\n",
			"-----BEGIN PUBLIC KEY-----\nMFk\n");
	/* control characters cannot reach the terminal */
	expect_redacted("a\x1b[31mb\x07", "a?[31mb?");
}

static void test_redact_registered(void **state)
{
	(void)state;
	log_add_secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
	log_add_secret("tok/en+x=");
	log_add_secret("abc"); /* too short to register */
	expect_redacted("k=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY!",
			"k=[REDACTED]!");
	/* the form-encoded spelling too */
	expect_redacted("T=tok%2Fen%2Bx%3D;", "T=[REDACTED];");
	expect_redacted("abc", "abc");
	log_forget_secrets();
	expect_redacted("tok/en+x=", "tok/en+x=");
}

/* SHA-256 and HMAC against FIPS 180-2 and RFC 4231 test vectors. */
static void test_digest(void **state)
{
	char hex[2 * DIGEST_SHA256_LEN + 1];
	unsigned char mac[DIGEST_SHA256_LEN];
	unsigned char key[20];

	(void)state;
	digest_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
				 "b00361a396177a9cb410ff61f20015ad");
	digest_sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
				 "27ae41e4649b934ca495991b7852b855");
	memset(key, 0x0b, sizeof(key));
	digest_hmac_sha256(key, sizeof(key), "Hi There", 8, mac);
	hex_encode(mac, sizeof(mac), hex);
	assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b"
				 "881dc200c9833da726e9376c2e32cff7");
}

static void expect_b64(const char *raw, size_t n, const char *enc)
{
	struct buf b = BUF_INIT;
	char *e = digest_base64(raw, n);

	assert_string_equal(e, enc);
	assert_int_equal(digest_base64_decode(e, strlen(e), &b), 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, raw, n);
	free(e);
	buf_release(&b);
}

static void test_base64(void **state)
{
	struct buf b = BUF_INIT;
	char big[40000];
	char *e;
	size_t i;

	(void)state;
	expect_b64("", 0, "");
	expect_b64("f", 1, "Zg==");
	expect_b64("fo", 2, "Zm8=");
	expect_b64("foo", 3, "Zm9v");
	expect_b64("foob", 4, "Zm9vYg==");
	expect_b64("\0\xff\x80", 3, "AP+A");
	/* longer than one EVP_EncodeBlock chunk */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	e = digest_base64(big, sizeof(big));
	assert_int_equal(strlen(e), 4 * ((sizeof(big) + 2) / 3));
	assert_int_equal(digest_base64_decode(e, strlen(e), &b), 0);
	assert_memory_equal(b.data, big, sizeof(big));
	free(e);
	buf_reset(&b);
	/* white space and line breaks are skipped */
	assert_int_equal(digest_base64_decode("Zm9v\r\nYm Fy\n", 12, &b), 0);
	assert_string_equal(b.data, "foobar");
	buf_reset(&b);
	assert_int_equal(digest_base64_decode("Zm9v!", 5, &b), -1);
	buf_reset(&b);
	assert_int_equal(digest_base64_decode("Zg==Zg", 6, &b), -1);
	buf_reset(&b);
	assert_int_equal(digest_base64_decode("Z", 1, &b), -1);
	buf_reset(&b);
	assert_int_equal(digest_base64_decode("Zh==", 4, &b), -1);
	buf_release(&b);
}

static void test_random(void **state)
{
	unsigned char a[32] = {0}, z[32] = {0};

	(void)state;
	assert_int_equal(digest_random(a, sizeof(a)), 0);
	/* 2^-256 to fail by chance */
	assert_memory_not_equal(a, z, sizeof(a));
	digest_wipe(a, sizeof(a));
	assert_memory_equal(a, z, sizeof(a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buf),
	    cmocka_unit_test(test_parse_long),
	    cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_err),
	    cmocka_unit_test(test_redact_patterns),
	    cmocka_unit_test(test_redact_registered),
	    cmocka_unit_test(test_digest),
	    cmocka_unit_test(test_base64),
	    cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
