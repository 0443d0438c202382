/*
 * SigV4 canonicalisation and signing of arbitrary requests.  The input is
 * an HTTP request as the test suites write it (the .req files):
 *
 *   [FLAGS]METHOD SP PATH[?QUERY][ SP HTTP/1.1] LF
 *   Name:value LF ...          (a line starting with SP or HT continues)
 *   LF
 *   payload
 *
 * FLAGS is an optional first byte below 0x20 (other than HT, LF, CR):
 * bit 0 normalize_path, 1 presigned query form, 2 sign_body, 3 a session
 * token, 4 omit_session_token, 5 payload_hash UNSIGNED-PAYLOAD.  The
 * credentials and the time (2015-08-30T12:36:00Z) are fixed.
 * sigv4_canonical_uri(), sigv4_canonical_query(),
 * sigv4_canonical_request() and sigv4_sign() run on it; their output must
 * be canonical (only unreserved bytes, '/' and %XX) and the signature 64
 * lower-case hex digits.
 */
#include <string.h>

#include "gpuctl/sigv4.h"
#include "fuzz.h"

#define MAX_HEADERS 64

static const char auth_prefix[] =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
    "aws4_request, SignedHeaders=";

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

static int is_uhex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* s holds only unreserved bytes, %XX (upper-case) and bytes of extra. */
static int canonical(const char *s, size_t n, const char *extra)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_unreserved(c) || (c && strchr(extra, c)))
			continue;
		if (c == '%' && i + 2 < n && is_uhex((unsigned char)s[i + 1]) &&
		    is_uhex((unsigned char)s[i + 2])) {
			i += 2;
			continue;
		}
		return 0;
	}
	return 1;
}

static int lower_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < SIGV4_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[SIGV4_HEX_LEN] == '\0';
}

static int ends_with(const char *s, const char *a, const char *b)
{
	size_t ls = strlen(s), la = strlen(a), lb = strlen(b);

	return ls >= la + lb && !memcmp(s + ls - la - lb, a, la) &&
	       !memcmp(s + ls - lb, b, lb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct sigv4_creds base_creds = {
	    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
	struct sigv4_header headers[MAX_HEADERS];
	struct sigv4_request req = {0};
	struct sigv4_creds creds = base_creds;
	struct sigv4_params p = {0};
	struct sigv4_result res = SIGV4_RESULT_INIT;
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct buf b = BUF_INIT, sh = BUF_INIT;
	struct sigv4_signer *signer = NULL;
	enum sigv4_form form;
	unsigned flags = 0;
	char *text, *s, *nl, *sp, *q, *body;
	size_t nh = 0, body_len;
	int rc, rc_creq;

	if (size && data[0] < 0x20 && data[0] != '\t' && data[0] != '\n' &&
	    data[0] != '\r') {
		flags = data[0];
		data++;
		size--;
	}
	text = fuzz_strndup(data, size);

	/* the request line */
	s = text;
	nl = strchr(s, '\n');
	body = NULL;
	if (nl)
		*nl = '\0';
	if (nl && nl > s && nl[-1] == '\r')
		nl[-1] = '\0';
	req.method = s;
	sp = strchr(s, ' ');
	if (sp) {
		*sp = '\0';
		req.path = sp + 1;
		sp = strchr(sp + 1, ' ');
		if (sp)
			*sp = '\0';
		q = strchr(req.path, '?');
		if (q) {
			*q = '\0';
			req.query = q + 1;
		}
	}
	/* headers, unfolded into one line each, up to an empty line */
	s = nl ? nl + 1 : NULL;
	while (s && *s) {
		char *line = s, *colon;

		nl = strchr(s, '\n');
		if (nl)
			*nl = '\0';
		if (nl && nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		s = nl ? nl + 1 : NULL;
		if (!*line) {
			body = s;
			break;
		}
		if ((*line == ' ' || *line == '\t') && nh > 0) {
			/* a continuation: join it to the value before */
			char *v = (char *)headers[nh - 1].value;

			if ((uintptr_t)v >= (uintptr_t)text &&
			    (uintptr_t)v < (uintptr_t)line) {
				line[-1] = ' ';
				if (line - 2 >= v && line[-2] == '\0')
					line[-2] = ' ';
			}
			continue;
		}
		if (nh == MAX_HEADERS)
			continue;
		colon = strchr(line, ':');
		headers[nh].name = line;
		headers[nh].value = "";
		if (colon) {
			*colon = '\0';
			headers[nh].value = colon + 1;
		}
		nh++;
	}
	body_len = body ? size - (size_t)(body - text) : 0;
	req.headers = headers;
	req.nheaders = nh;
	req.payload = body;
	req.payload_len = body_len;
	if (flags & 0x20)
		req.payload_hash = SIGV4_UNSIGNED_PAYLOAD;
	if (flags & 0x08)
		creds.session_token = "AQoDYXdzEPT//////////wEXAMPLEtoken";
	p.region = "us-east-1";
	p.service = "service";
	p.time = 1440938160LL; /* 20150830T123600Z */
	p.normalize_path = (flags & 0x01) != 0;
	p.omit_session_token = (flags & 0x10) != 0;
	p.sign_body = (flags & 0x04) != 0;
	p.expires = 86400;
	form = flags & 0x02 ? SIGV4_QUERY : SIGV4_HEADER;

	/* stage by stage */
	rc = sigv4_canonical_uri(&b, req.path, p.normalize_path, &err);
	if (rc == 0) {
		FUZZ_CHECK(b.len > 0 && b.data[0] == '/');
		FUZZ_CHECK(canonical(b.data, b.len, "/"));
	}
	err_clear(&err);
	buf_reset(&b);
	rc = sigv4_canonical_query(&b, req.query, NULL, 0, &err);
	if (rc == 0)
		FUZZ_CHECK(canonical(b.data, b.len, "=&"));
	err_clear(&err);
	buf_reset(&b);
	rc_creq =
	    sigv4_canonical_request(&req, &creds, &p, form, &b, &sh, &err);
	err_clear(&err);

	/* the whole signature */
	signer = sigv4_signer_new();
	rc = sigv4_sign(signer, &req, &creds, &p, form, &res, &err);
	if (rc == 0) {
		FUZZ_CHECK(err.kind == GPUCTL_ERR_NONE);
		FUZZ_CHECK(lower_hex64(res.signature));
		FUZZ_CHECK(!strcmp(res.amz_date, "20150830T123600Z"));
		FUZZ_CHECK(res.canonical_request && res.string_to_sign &&
			   res.signed_headers);
		if (rc_creq == 0 && !(flags & 0x10))
			FUZZ_CHECK(!strcmp(res.canonical_request, b.data));
		if (form == SIGV4_HEADER) {
			FUZZ_CHECK(res.authorization && !res.query);
			FUZZ_CHECK(!strncmp(res.authorization, auth_prefix,
					    sizeof(auth_prefix) - 1));
			FUZZ_CHECK(ends_with(res.authorization,
					     ", Signature=", res.signature));
		} else {
			FUZZ_CHECK(res.query && !res.authorization);
			FUZZ_CHECK(ends_with(
			    res.query, "X-Amz-Signature=", res.signature));
			FUZZ_CHECK(
			    canonical(res.query, strlen(res.query), "=&"));
		}
	} else {
		FUZZ_CHECK(rc == -1 && err.message);
		FUZZ_CHECK(!res.canonical_request && !res.authorization &&
			   !res.query);
	}
	err_clear(&err);
	sigv4_result_release(&res);
	sigv4_signer_free(signer);
	buf_release(&b);
	buf_release(&sh);
	free(text);
	return 0;
}
