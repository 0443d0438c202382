/*
 * Tests for sigv4/: every case of the two AWS SigV4 test suites in
 * $GPUCTL_FIXTURES/sigv4/ (one cmocka test per case, discovered from the
 * directories at run time), then unit tests of the helpers, the key cache,
 * bad input, and reference signatures computed with botocore.
 *
 * The raw requests of the suites are parsed here (request line, headers
 * with folded lines and repeated names, body): the signer only takes
 * structured input.
 */
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "gpuctl/err.h"
#include "gpuctl/sigv4.h"
#include "gpuctl/util.h"

/* How many cases each suite holds (PROVENANCE.md sections 1 and 2). */
#define AWS_C_AUTH_CASES 38
#define BOTOCORE_CASES	 34

#define EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The inputs the botocore suite implies (botocore's test_sigv4.py). */
#define SUITE_KEY_ID "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_TIME   1440938160LL /* 2015-08-30T12:36:00Z */

/* -------------------------------------------------------------------- */
/* A raw HTTP request, parsed                                            */

struct raw_request {
	char *method;
	char *path;
	char *query; /* NULL when the target has no '?' */
	struct sigv4_header *headers;
	size_t nheaders;
	char *body;
	size_t body_len;
};

static void raw_request_release(struct raw_request *r)
{
	size_t i;

	free(r->method);
	free(r->path);
	free(r->query);
	for (i = 0; i < r->nheaders; i++) {
		free((char *)r->headers[i].name);
		free((char *)r->headers[i].value);
	}
	free(r->headers);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* The next line of text[*pos..len) without its LF (or CRLF). */
static int next_line(const char *text, size_t len, size_t *pos,
		     const char **line, size_t *line_len)
{
	const char *s = text + *pos, *nl;
	size_t n;

	if (*pos >= len)
		return 0;
	nl = memchr(s, '\n', len - *pos);
	n = nl ? (size_t)(nl - s) : len - *pos;
	*pos += n + (nl ? 1 : 0);
	if (n && s[n - 1] == '\r')
		n--;
	*line = s;
	*line_len = n;
	return 1;
}

/*
 * Parses "METHOD SP target SP HTTP/1.1", "Name:value" lines (a line that
 * starts with a blank continues the value before it: unfolded into one
 * space), an empty line, and the body.  The target may hold spaces (the
 * suites' get-space case), so the version is found from the right.
 */
static int parse_request(const char *text, size_t len, struct raw_request *r)
{
	const char *line, *sp1, *sp2, *colon, *q;
	size_t n, pos = 0, alloc = 0;

	memset(r, 0, sizeof(*r));
	if (!next_line(text, len, &pos, &line, &n))
		return -1;
	sp1 = memchr(line, ' ', n);
	for (sp2 = line + n; sp2 > line && sp2[-1] != ' '; sp2--)
		;
	if (!sp1 || sp2 <= sp1 + 1)
		return -1;
	sp2--;
	r->method = xstrndup(line, (size_t)(sp1 - line));
	q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
	if (q) {
		r->path = xstrndup(sp1 + 1, (size_t)(q - sp1 - 1));
		r->query = xstrndup(q + 1, (size_t)(sp2 - q - 1));
	} else {
		r->path = xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	}
	while (next_line(text, len, &pos, &line, &n)) {
		if (!n)
			break;
		if (line[0] == ' ' || line[0] == '\t') {
			struct buf v = BUF_INIT;
			char *old;

			if (!r->nheaders)
				return -1;
			while (n && (*line == ' ' || *line == '\t')) {
				line++;
				n--;
			}
			old = (char *)r->headers[r->nheaders - 1].value;
			buf_adds(&v, old);
			buf_addch(&v, ' ');
			buf_add(&v, line, n);
			free(old);
			r->headers[r->nheaders - 1].value =
			    buf_detach(&v, NULL);
			continue;
		}
		colon = memchr(line, ':', n);
		if (!colon)
			return -1;
		if (r->nheaders == alloc) {
			alloc = alloc ? 2 * alloc : 8;
			r->headers =
			    xrealloc(r->headers, alloc * sizeof(*r->headers));
		}
		r->headers[r->nheaders].name =
		    xstrndup(line, (size_t)(colon - line));
		r->headers[r->nheaders].value =
		    xstrndup(colon + 1, (size_t)(line + n - colon - 1));
		r->nheaders++;
	}
	r->body_len = len - pos;
	r->body = xstrndup(text + pos, r->body_len);
	return 0;
}

/* -------------------------------------------------------------------- */
/* Fixture files and discovery                                           */

static const char *fixtures_dir(void)
{
	const char *d = getenv("GPUCTL_FIXTURES");

	return d && *d ? d : "../shared/fixtures";
}

/* Reads dir/name into a fresh string; fails the test when missing. */
static char *slurp(const char *dir, const char *name, size_t *len)
{
	struct buf path = BUF_INIT, b = BUF_INIT;

	buf_addf(&path, "%s/%s", dir, name);
	if (read_file(path.data, &b)) {
		fail_msg("cannot read %s", path.data);
	}
	buf_release(&path);
	return buf_detach(&b, len);
}

static int is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode);
}

struct tcase {
	char *dir;  /* the case folder */
	char *name; /* the case name: the folder's last part */
	char *test_name;
	int *ran; /* bumped when the test runs to its end */
};

struct suite {
	const char *label;
	struct tcase *cases;
	size_t n, alloc;
	int ran;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void suite_add(struct suite *s, const char *dir, const char *name)
{
	struct tcase *c;

	if (s->n == s->alloc) {
		s->alloc = s->alloc ? 2 * s->alloc : 64;
		s->cases = xrealloc(s->cases, s->alloc * sizeof(*s->cases));
	}
	c = &s->cases[s->n++];
	c->dir = xstrdup(dir);
	c->name = xstrdup(name);
	c->test_name = NULL;
	c->ran = &s->ran;
}

/*
 * Adds every case under root: a folder that holds marker (a file name, or
 * with "%s" the folder's name plus an extension) is a case; other folders
 * are searched, so botocore's normalize-path/ and post-sts-token/ count.
 * Entries are sorted so that the order is stable.
 */
static void discover(struct suite *s, const char *root, const char *rel,
		     const char *marker, int depth)
{
	struct buf path = BUF_INIT;
	char **names = NULL;
	size_t n = 0, alloc = 0, i;
	struct dirent *de;
	DIR *d;

	buf_addf(&path, "%s%s%s", root, *rel ? "/" : "", rel);
	d = opendir(path.data);
	if (!d) {
		buf_release(&path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 64;
			names = xrealloc(names, alloc * sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		struct buf sub = BUF_INIT, rel2 = BUF_INIT, mark = BUF_INIT;

		buf_addf(&sub, "%s/%s", path.data, names[i]);
		buf_addf(&rel2, "%s%s%s", rel, *rel ? "/" : "", names[i]);
		buf_addf(&mark, "%s/", sub.data);
		buf_addf(&mark, marker, names[i]);
		if (is_dir(sub.data)) {
			if (is_file(mark.data))
				suite_add(s, sub.data, rel2.data);
			else if (depth < 3)
				discover(s, root, rel2.data, marker, depth + 1);
		}
		buf_release(&sub);
		buf_release(&rel2);
		buf_release(&mark);
		free(names[i]);
	}
	free(names);
	buf_release(&path);
}

static void suite_release(struct suite *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->cases[i].dir);
		free(s->cases[i].name);
		free(s->cases[i].test_name);
	}
	free(s->cases);
	memset(s, 0, sizeof(*s));
}

/* -------------------------------------------------------------------- */
/* Comparing                                                             */

/* Asserts got == the file's text (a final newline in the file is ignored). */
static void expect_text(const char *what, const char *got, const char *dir,
			const char *file)
{
	size_t len;
	char *want = slurp(dir, file, &len);

	if (len && want[len - 1] == '\n')
		want[--len] = '\0';
	if (!got || strcmp(got, want)) {
		print_error("%s: %s differs from %s\n--- got:\n%s\n"
			    "--- want:\n%s\n",
			    dir, what, file, got ? got : "(null)", want);
		free(want);
		fail();
	}
	free(want);
}

/* The value of the line "prefix..." in text, or NULL (caller frees). */
static char *line_value(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *s = text, *e;

	while (s && *s) {
		e = strchr(s, '\n');
		if (!strncmp(s, prefix, n))
			return xstrndup(s + n, e ? (size_t)(e - s - n)
						 : strlen(s + n));
		s = e ? e + 1 : NULL;
	}
	return NULL;
}

/* Asserts that text holds the line "name:value". */
static void expect_line(const char *text, const char *name, const char *value)
{
	struct buf want = BUF_INIT;
	char *got;

	buf_addf(&want, "%s:", name);
	got = line_value(text, want.data);
	if (!got || strcmp(got, value))
		fail_msg("signed request lacks %s:%s", name, value);
	free(got);
	buf_release(&want);
}

/* Splits a query on '&' and sorts the parts, for order-free compares. */
static char *sorted_params(const char *q)
{
	char **parts = NULL, *copy = xstrdup(q), *s = copy, *amp;
	struct buf out = BUF_INIT;
	size_t n = 0, i;

	for (;;) {
		parts = xrealloc(parts, (n + 1) * sizeof(*parts));
		parts[n++] = s;
		amp = strchr(s, '&');
		if (!amp)
			break;
		*amp = '\0';
		s = amp + 1;
	}
	qsort(parts, n, sizeof(*parts), cmp_str);
	for (i = 0; i < n; i++) {
		if (i)
			buf_addch(&out, '&');
		buf_adds(&out, parts[i]);
	}
	free(parts);
	free(copy);
	return buf_detach(&out, NULL);
}

/*
 * The canonical form of a query, to compare two that differ in order or
 * in what they encode (the suite's URLs hold raw UTF-8).
 */
static char *canonical(const char *q)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct buf b = BUF_INIT;

	if (sigv4_canonical_query(&b, q, NULL, 0, &err))
		fail_msg("canonical query: %s", err.message);
	return buf_detach(&b, NULL);
}

/* -------------------------------------------------------------------- */
/* aws-c-auth suite                                                      */

struct context {
	char *key_id, *secret, *token, *region, *service;
	long long time;
	long expires;
	int normalize, sign_body, omit_token;
};

static void context_release(struct context *c)
{
	free(c->key_id);
	free(c->secret);
	free(c->token);
	free(c->region);
	free(c->service);
}

static char *json_str(json_t *o, const char *key, int required)
{
	json_t *v = json_object_get(o, key);

	if (!v && !required)
		return NULL;
	assert_true(json_is_string(v));
	return xstrdup(json_string_value(v));
}

static int json_flag(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return v && json_is_true(v);
}

static long long parse_iso8601(const char *s)
{
	struct tm tm;
	char z = 0;

	memset(&tm, 0, sizeof(tm));
	assert_int_equal(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year,
				&tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
				&tm.tm_min, &tm.tm_sec, &z),
			 7);
	assert_int_equal(z, 'Z');
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm);
}

static void read_context(const char *dir, struct context *c)
{
	json_error_t jerr;
	json_t *root, *cr, *v;
	char *text = slurp(dir, "context.json", NULL);

	memset(c, 0, sizeof(*c));
	root = json_loads(text, 0, &jerr);
	free(text);
	if (!root)
		fail_msg("%s/context.json: %s", dir, jerr.text);
	cr = json_object_get(root, "credentials");
	assert_non_null(cr);
	c->key_id = json_str(cr, "access_key_id", 1);
	c->secret = json_str(cr, "secret_access_key", 1);
	c->token = json_str(cr, "token", 0);
	c->region = json_str(root, "region", 1);
	c->service = json_str(root, "service", 1);
	v = json_object_get(root, "timestamp");
	assert_true(json_is_string(v));
	c->time = parse_iso8601(json_string_value(v));
	v = json_object_get(root, "expiration_in_seconds");
	assert_true(json_is_integer(v));
	c->expires = (long)json_integer_value(v);
	c->normalize = json_flag(root, "normalize");
	c->sign_body = json_flag(root, "sign_body");
	c->omit_token = json_flag(root, "omit_session_token");
	json_decref(root);
}

static void fill_inputs(const struct raw_request *raw, const struct context *c,
			struct sigv4_request *req, struct sigv4_creds *creds,
			struct sigv4_params *p)
{
	memset(req, 0, sizeof(*req));
	req->method = raw->method;
	req->path = raw->path;
	req->query = raw->query;
	req->headers = raw->headers;
	req->nheaders = raw->nheaders;
	/*
	 * The harness hashes the body only with sign_body; otherwise the
	 * payload hash is that of the empty string.
	 */
	if (c->sign_body) {
		req->payload = raw->body;
		req->payload_len = raw->body_len;
	}
	creds->access_key_id = c->key_id;
	creds->secret_access_key = c->secret;
	creds->session_token = c->token;
	memset(p, 0, sizeof(*p));
	p->region = c->region;
	p->service = c->service;
	p->time = c->time;
	p->normalize_path = c->normalize;
	p->omit_session_token = c->omit_token;
	p->sign_body = c->sign_body;
	p->expires = c->expires;
}

/* Each stage alone, fed the expected output of the stage before it. */
static void check_stages(const char *dir, const struct sigv4_request *req,
			 const struct sigv4_creds *creds,
			 const struct sigv4_params *p, enum sigv4_form form,
			 const char *prefix, const char *signed_headers)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct buf creq = BUF_INIT, sh = BUF_INIT, sts = BUF_INIT;
	struct buf file = BUF_INIT;
	unsigned char key[SIGV4_KEY_LEN];
	char sig[SIGV4_HEX_LEN + 1];
	char *want;
	size_t len;

	assert_int_equal(
	    sigv4_canonical_request(req, creds, p, form, &creq, &sh, &err), 0);
	buf_addf(&file, "%s-canonical-request.txt", prefix);
	expect_text("canonical request (stage alone)", creq.data, dir,
		    file.data);
	assert_string_equal(sh.data, signed_headers);

	want = slurp(dir, file.data, &len);
	assert_int_equal(sigv4_string_to_sign(p, want, len, &sts, &err), 0);
	free(want);
	buf_reset(&file);
	buf_addf(&file, "%s-string-to-sign.txt", prefix);
	expect_text("string to sign (stage alone)", sts.data, dir, file.data);

	want = slurp(dir, file.data, &len);
	assert_int_equal(
	    sigv4_signing_key(creds->secret_access_key, p, key, &err), 0);
	assert_int_equal(sigv4_signature(key, want, len, sig, &err), 0);
	free(want);
	buf_reset(&file);
	buf_addf(&file, "%s-signature.txt", prefix);
	expect_text("signature (stage alone)", sig, dir, file.data);

	buf_release(&creq);
	buf_release(&sh);
	buf_release(&sts);
	buf_release(&file);
	err_clear(&err);
}

static void test_aws_c_auth_case(void **state)
{
	struct tcase *tc = *state;
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct sigv4_result res = SIGV4_RESULT_INIT;
	struct sigv4_signer *s = sigv4_signer_new();
	struct raw_request raw;
	struct context c;
	struct sigv4_request req;
	struct sigv4_creds creds;
	struct sigv4_params p;
	struct buf auth = BUF_INIT, q = BUF_INIT;
	char *text, *signed_req, *want_q, *got_q, *line, *sp;
	size_t len, i;

	read_context(tc->dir, &c);
	text = slurp(tc->dir, "request.txt", &len);
	assert_int_equal(parse_request(text, len, &raw), 0);
	free(text);
	fill_inputs(&raw, &c, &req, &creds, &p);

	/* Header form, all at once. */
	if (sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err))
		fail_msg("%s: sigv4_sign: %s", tc->name, err.message);
	expect_text("canonical request", res.canonical_request, tc->dir,
		    "header-canonical-request.txt");
	expect_text("string to sign", res.string_to_sign, tc->dir,
		    "header-string-to-sign.txt");
	expect_text("signature", res.signature, tc->dir,
		    "header-signature.txt");
	assert_null(res.query);
	signed_req = slurp(tc->dir, "header-signed-request.txt", NULL);
	line = line_value(signed_req, "Authorization:");
	assert_non_null(line);
	assert_string_equal(res.authorization, line);
	free(line);
	/* What the signer asks us to add is what the signed request has. */
	for (i = 0; i < res.nadd_headers; i++)
		expect_line(signed_req, res.add_headers[i].name,
			    res.add_headers[i].value);
	assert_int_equal(res.nadd_headers,
			 1 + (c.token != NULL) + (c.sign_body != 0));
	free(signed_req);
	check_stages(tc->dir, &req, &creds, &p, SIGV4_HEADER, "header",
		     res.signed_headers);
	assert_int_equal(sigv4_authorization(&creds, &p, res.signed_headers,
					     res.signature, &auth, &err),
			 0);
	assert_string_equal(auth.data, res.authorization);

	/* Query form. */
	if (sigv4_sign(s, &req, &creds, &p, SIGV4_QUERY, &res, &err))
		fail_msg("%s: sigv4_sign (query): %s", tc->name, err.message);
	expect_text("canonical request", res.canonical_request, tc->dir,
		    "query-canonical-request.txt");
	expect_text("string to sign", res.string_to_sign, tc->dir,
		    "query-string-to-sign.txt");
	expect_text("signature", res.signature, tc->dir, "query-signature.txt");
	assert_null(res.authorization);
	assert_int_equal(res.nadd_headers, 0);
	check_stages(tc->dir, &req, &creds, &p, SIGV4_QUERY, "query",
		     res.signed_headers);
	/* The URL's parameters are in another order: compare them sorted. */
	signed_req = slurp(tc->dir, "query-signed-request.txt", NULL);
	line = strchr(signed_req, '?');
	assert_non_null(line);
	sp = strchr(line, ' ');
	assert_non_null(sp);
	*sp = '\0';
	want_q = canonical(line + 1);
	got_q = canonical(res.query);
	assert_string_equal(got_q, want_q);
	assert_non_null(strstr(res.query, "&X-Amz-Signature="));
	assert_string_equal(strstr(res.query, "&X-Amz-Signature=") + 17,
			    res.signature);
	assert_int_equal(sigv4_presigned_query(&req, &creds, &p,
					       res.signed_headers,
					       res.signature, &q, &err),
			 0);
	assert_string_equal(q.data, res.query);
	free(want_q);
	free(got_q);
	free(signed_req);

	buf_release(&auth);
	buf_release(&q);
	sigv4_result_release(&res);
	sigv4_signer_free(s);
	raw_request_release(&raw);
	context_release(&c);
	err_clear(&err);
	(*tc->ran)++;
}

/* -------------------------------------------------------------------- */
/* botocore suite                                                        */

static void test_botocore_case(void **state)
{
	struct tcase *tc = *state;
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct sigv4_result res = SIGV4_RESULT_INIT;
	struct sigv4_signer *s = sigv4_signer_new();
	struct raw_request raw;
	struct sigv4_request req;
	struct sigv4_creds creds = {SUITE_KEY_ID, SUITE_SECRET, NULL};
	struct sigv4_params p = {0};
	struct buf file = BUF_INIT;
	char *text, *creq, *sreq, *token, *base = strrchr(tc->name, '/');
	size_t len, i;

	base = base ? base + 1 : tc->name;
	buf_addf(&file, "%s.req", base);
	text = slurp(tc->dir, file.data, &len);
	assert_int_equal(parse_request(text, len, &raw), 0);
	free(text);
	/* The token, if any, is the one in the expected canonical request. */
	buf_reset(&file);
	buf_addf(&file, "%s.creq", base);
	creq = slurp(tc->dir, file.data, NULL);
	token = line_value(creq, "x-amz-security-token:");
	free(creq);
	creds.session_token = token;

	memset(&req, 0, sizeof(req));
	req.method = raw.method;
	req.path = raw.path;
	req.query = raw.query;
	req.headers = raw.headers;
	req.nheaders = raw.nheaders;
	req.payload = raw.body;
	req.payload_len = raw.body_len;
	p.region = "us-east-1";
	p.service = "service";
	p.time = SUITE_TIME;
	p.normalize_path = 1;

	if (sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err))
		fail_msg("%s: sigv4_sign: %s", tc->name, err.message);
	expect_text("canonical request", res.canonical_request, tc->dir,
		    file.data);
	buf_reset(&file);
	buf_addf(&file, "%s.sts", base);
	expect_text("string to sign", res.string_to_sign, tc->dir, file.data);
	buf_reset(&file);
	buf_addf(&file, "%s.authz", base);
	expect_text("authorization", res.authorization, tc->dir, file.data);
	/*
	 * The .req already has X-Amz-Date (and the token, but in
	 * get-vanilla-with-session-token): only what the .sreq adds is added.
	 */
	buf_reset(&file);
	buf_addf(&file, "%s.sreq", base);
	sreq = slurp(tc->dir, file.data, NULL);
	for (i = 0; i < res.nadd_headers; i++) {
		assert_string_not_equal(res.add_headers[i].name, "X-Amz-Date");
		expect_line(sreq, res.add_headers[i].name,
			    res.add_headers[i].value);
	}
	free(sreq);

	buf_release(&file);
	free(token);
	sigv4_result_release(&res);
	sigv4_signer_free(s);
	raw_request_release(&raw);
	err_clear(&err);
	(*tc->ran)++;
}

/* -------------------------------------------------------------------- */
/* Unit tests                                                            */

static char *encoded(const char *s, int encode_slash)
{
	struct buf b = BUF_INIT;

	sigv4_uri_encode(&b, s, strlen(s), encode_slash);
	return buf_detach(&b, NULL);
}

#define ASSERT_ENCODES(in, slash, want)              \
	do {                                         \
		char *got_ = encoded((in), (slash)); \
		assert_string_equal(got_, (want));   \
		free(got_);                          \
	} while (0)

static void test_uri_encode(void **state)
{
	const char *unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "abcdefghijklmnopqrstuvwxyz";

	(void)state;
	ASSERT_ENCODES(unreserved, 1, unreserved);
	ASSERT_ENCODES("~", 1, "~");
	ASSERT_ENCODES("a b", 1, "a%20b");
	ASSERT_ENCODES("100%", 1, "100%25");
	ASSERT_ENCODES("%20", 1, "%2520");
	ASSERT_ENCODES("a+b", 1, "a%2Bb");
	ASSERT_ENCODES("/a/b", 0, "/a/b");
	ASSERT_ENCODES("/a/b", 1, "%2Fa%2Fb");
	ASSERT_ENCODES("!#$&'()*+,:;=?@[]", 1,
		       "%21%23%24%26%27%28%29%2A%2B%2C%3A%3B%3D%3F%40%5B%5D");
	ASSERT_ENCODES("\"<>\\^`{|}", 1, "%22%3C%3E%5C%5E%60%7B%7C%7D");
	/* U+1234 and U+00E9 as UTF-8; hex digits upper-case. */
	ASSERT_ENCODES("\xe1\x88\xb4", 1, "%E1%88%B4");
	ASSERT_ENCODES("caf\xc3\xa9", 0, "caf%C3%A9");
	ASSERT_ENCODES("", 1, "");
	{
		/* Bytes that are not text, embedded NUL included. */
		struct buf b = BUF_INIT;

		sigv4_uri_encode(&b, "\0\x7f\xff", 3, 1);
		assert_string_equal(b.data, "%00%7F%FF");
		buf_release(&b);
	}
}

static void test_amz_date(void **state)
{
	char d[SIGV4_DATE_LEN + 1];

	(void)state;
	assert_int_equal(sigv4_amz_date(SUITE_TIME, d), 0);
	assert_string_equal(d, "20150830T123600Z");
	assert_int_equal(sigv4_amz_date(0, d), 0);
	assert_string_equal(d, "19700101T000000Z");
	assert_int_equal(sigv4_amz_date(951782400, d), 0); /* leap day */
	assert_string_equal(d, "20000229T000000Z");
	assert_int_equal(sigv4_amz_date(253402300799LL, d), 0);
	assert_string_equal(d, "99991231T235959Z");
	assert_int_equal(sigv4_amz_date(253402300800LL, d), -1);
	assert_int_equal(sigv4_amz_date(-1, d), -1);
	assert_int_equal(sigv4_amz_date(LLONG_MIN, d), -1);
	assert_int_equal(sigv4_amz_date(LLONG_MAX, d), -1);
}

static void expect_uri(const char *path, int normalize, const char *want)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct buf b = BUF_INIT;

	if (sigv4_canonical_uri(&b, path, normalize, &err))
		fail_msg("canonical uri of \"%s\": %s", path, err.message);
	if (strcmp(b.data, want))
		fail_msg("canonical uri of \"%s\" (normalize %d): got \"%s\", "
			 "want \"%s\"",
			 path ? path : "(null)", normalize, b.data, want);
	buf_release(&b);
}

static void test_canonical_uri(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct buf b = BUF_INIT;

	(void)state;
	expect_uri("/", 1, "/");
	expect_uri("", 1, "/");
	expect_uri(NULL, 0, "/");
	expect_uri("/a/b/../c", 1, "/a/c");
	expect_uri("/a/./b/", 1, "/a/b/");
	expect_uri("/a/b/..", 1, "/a");
	expect_uri("/a/b/../", 1, "/a/");
	expect_uri("/a/b/.", 1, "/a/b");
	expect_uri("/..", 1, "/");
	expect_uri("/../../a", 1, "/a");
	expect_uri("/./", 1, "/");
	expect_uri("//", 1, "/");
	expect_uri("//a//b//", 1, "/a/b/");
	expect_uri("/a/.../b", 1, "/a/.../b");
	expect_uri("/a/..b/.c", 1, "/a/..b/.c");
	expect_uri("/a b/../c d", 1, "/c%20d");
	/* Without normalization everything stays, only encoded. */
	expect_uri("/a/../b", 0, "/a/../b");
	expect_uri("//a//", 0, "//a//");
	expect_uri("/a b", 0, "/a%20b");
	/* A path already encoded is encoded again (non-S3 rule). */
	expect_uri("/a%2Fb", 1, "/a%252Fb");
	expect_uri("/a%20b", 0, "/a%2520b");
	expect_uri("/\xe1\x88\xb4", 1, "/%E1%88%B4");
	expect_uri("/$delete", 1, "/%24delete");

	assert_int_equal(sigv4_canonical_uri(&b, "relative", 1, &err), -1);
	assert_non_null(err.message);
	assert_int_equal(sigv4_canonical_uri(&b, "/a\nb", 1, &err), -1);
	assert_int_equal(b.len, 0);
	buf_release(&b);
	err_clear(&err);
}

static void expect_query(const char *q, const char *want)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct buf b = BUF_INIT;

	if (sigv4_canonical_query(&b, q, NULL, 0, &err))
		fail_msg("canonical query of \"%s\": %s", q, err.message);
	if (strcmp(b.data, want))
		fail_msg("canonical query of \"%s\": got \"%s\", want \"%s\"",
			 q ? q : "(null)", b.data, want);
	buf_release(&b);
}

static void test_canonical_query(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct buf b = BUF_INIT;
	const struct sigv4_header extra[] = {
	    {"X-Amz-Credential", "AKID/20150830/r/s/aws4_request"},
	    {"a b", "c;d"},
	};

	(void)state;
	expect_query(NULL, "");
	expect_query("", "");
	expect_query("b=2&a=1&a=0", "a=0&a=1&b=2");
	expect_query("Param1=value2&Param1=Value1",
		     "Param1=Value1&Param1=value2");
	expect_query("a", "a=");
	expect_query("a=&b", "a=&b=");
	expect_query("&&a=1&", "a=1");
	expect_query("a=b=c", "a=b%3Dc");
	expect_query("x=a%20b%26c", "x=a%20b%26c");
	expect_query("x=a+b", "x=a%2Bb");
	expect_query("x=%7e%41", "x=~A");
	expect_query("%e1%88%b4=1", "%E1%88%B4=1");
	expect_query("\xe1\x88\xb4=bar", "%E1%88%B4=bar");
	expect_query("k=a b", "k=a%20b");
	/* Sorted by encoded name: '%' (0x25) before letters. */
	expect_query("Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
		     "%E1%88%B4=Value1&Param=Value2&Param-3=Value3");

	assert_int_equal(sigv4_canonical_query(&b, "b=1", extra, 2, &err), 0);
	assert_string_equal(b.data,
			    "X-Amz-Credential=AKID%2F20150830%2Fr%2Fs%2F"
			    "aws4_request&a%20b=c%3Bd&b=1");
	buf_reset(&b);
	assert_int_equal(sigv4_canonical_query(&b, "k=%zz", NULL, 0, &err), -1);
	assert_non_null(strstr(err.message, "percent"));
	assert_int_equal(sigv4_canonical_query(&b, "k=%4", NULL, 0, &err), -1);
	assert_int_equal(sigv4_canonical_query(&b, "k%", NULL, 0, &err), -1);
	buf_release(&b);
	err_clear(&err);
}

/* A typical EC2 call, as ec2/ builds it. */
#define EC2_BODY   "Action=DescribeRegions&Version=2016-11-15&Value=a%20b%26c"
#define EC2_CT	   "application/x-www-form-urlencoded; charset=utf-8"
#define REF_KEY_ID "AKIAIOSFODNN7EXAMPLE"
#define REF_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define REF_TOKEN  "IQoJb3JpZ2luX2VjEXAMPLE/token+with=chars"
#define REF_TIME   1715938200LL /* 2024-05-17T09:30:00Z */

static void ec2_inputs(struct sigv4_header hs[2], struct sigv4_request *req,
		       struct sigv4_params *p, const char *host,
		       const char *region)
{
	hs[0] = (struct sigv4_header){"Host", host};
	hs[1] = (struct sigv4_header){"Content-Type", EC2_CT};
	memset(req, 0, sizeof(*req));
	req->method = "POST";
	req->path = "/";
	req->headers = hs;
	req->nheaders = 2;
	req->payload = EC2_BODY;
	req->payload_len = strlen(EC2_BODY);
	memset(p, 0, sizeof(*p));
	p->region = region;
	p->service = "ec2";
	p->time = REF_TIME;
	p->normalize_path = 1;
}

/*
 * Expected values computed once with botocore 1.29.27 (/usr/bin/python3),
 * an implementation independent of this one:
 *
 *   import datetime
 *   import botocore.auth as A
 *   from botocore.awsrequest import AWSRequest
 *   from botocore.credentials import Credentials
 *   class FixedDatetime(datetime.datetime):
 *       @classmethod
 *       def utcnow(cls):
 *           return cls(2024, 5, 17, 9, 30, 0)  # 1715938200
 *   A.datetime.datetime = FixedDatetime
 *   for token in (None, "IQoJb3JpZ2luX2VjEXAMPLE/token+with=chars"):
 *       creds = Credentials("AKIAIOSFODNN7EXAMPLE",
 *                           "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", token)
 *       body = b"Action=DescribeRegions&Version=2016-11-15&Value=a%20b%26c"
 *       req = AWSRequest(method="POST",
 *                        url="https://ec2.eu-west-1.amazonaws.com/",
 *                        data=body, headers={"Content-Type":
 *                        "application/x-www-form-urlencoded; charset=utf-8"})
 *       A.SigV4Auth(creds, "ec2", "eu-west-1").add_auth(req)
 *       print(repr(token), req.headers["Authorization"])
 *   creds = Credentials("AKIAIOSFODNN7EXAMPLE",
 *                       "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
 *                       "IQoJb3JpZ2luX2VjEXAMPLE/token+with=chars")
 *   req = AWSRequest(method="GET", url="https://ec2.us-east-1.amazonaws.com/"
 *                    "?Action=DescribeRegions&Version=2016-11-15")
 *   A.SigV4QueryAuth(creds, "ec2", "us-east-1", expires=300).add_auth(req)
 *   print(req.url)
 */
#define REF_AUTH_NO_TOKEN                                                      \
	"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240517/eu-west-1/" \
	"ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date, "       \
	"Signature="                                                           \
	"ead165421692e25c8285ac777cca9a16ebee5de9fa6dfe9cff673bd45566403a"
#define REF_AUTH_TOKEN                                                         \
	"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240517/eu-west-1/" \
	"ec2/aws4_request, "                                                   \
	"SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "    \
	"Signature="                                                           \
	"5048e3e967362834db20420b27a02d576a052f580144a10e657d2118e7898d76"
#define REF_PRESIGNED_QUERY                                                    \
	"Action=DescribeRegions&Version=2016-11-15&X-Amz-Algorithm=AWS4-HMAC-" \
	"SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240517%2Fus-east-1%" \
	"2Fec2%2Faws4_request&X-Amz-Date=20240517T093000Z&X-Amz-Expires=300&"  \
	"X-Amz-SignedHeaders=host&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPL" \
	"E%2Ftoken%2Bwith%3Dchars&X-Amz-Signature="                            \
	"5dca2b257d52ef112027c8e7dac22a3ffc14065c120bbadeb953914444912599"

static void test_botocore_reference(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct sigv4_result res = SIGV4_RESULT_INIT;
	struct sigv4_signer *s = sigv4_signer_new();
	struct sigv4_creds creds = {REF_KEY_ID, REF_SECRET, NULL};
	struct sigv4_header hs[2];
	struct sigv4_request req;
	struct sigv4_params p;
	char *got, *want;

	(void)state;
	ec2_inputs(hs, &req, &p, "ec2.eu-west-1.amazonaws.com", "eu-west-1");
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err), 0);
	assert_string_equal(res.authorization, REF_AUTH_NO_TOKEN);
	assert_int_equal(res.nadd_headers, 1);
	assert_string_equal(res.add_headers[0].name, "X-Amz-Date");
	assert_string_equal(res.add_headers[0].value, "20240517T093000Z");

	/* With a session token: signed, and handed back to add. */
	creds.session_token = REF_TOKEN;
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err), 0);
	assert_string_equal(res.authorization, REF_AUTH_TOKEN);
	assert_int_equal(res.nadd_headers, 2);
	assert_string_equal(res.add_headers[1].name, "X-Amz-Security-Token");
	assert_string_equal(res.add_headers[1].value, REF_TOKEN);

	/* The same, with the payload hash passed in. */
	req.payload_hash =
	    "8b2ea4ba2d1e4ad1ee1d7d6e1a0b2f8ca4ed4d5b9c9b6f6b6c2b2b8b4f0d0c1e";
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err), 0);
	assert_string_not_equal(res.authorization, REF_AUTH_TOKEN);
	req.payload = NULL;
	req.payload_len = 0;
	req.payload_hash = NULL;
	{
		struct buf b = BUF_INIT;
		char *h;

		/* The body's hash, found in the canonical request made above. */
		req.payload = EC2_BODY;
		req.payload_len = strlen(EC2_BODY);
		assert_int_equal(
		    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err),
		    0);
		h = strrchr(res.canonical_request, '\n') + 1;
		buf_adds(&b, h);
		req.payload = NULL;
		req.payload_len = 0;
		req.payload_hash = b.data;
		assert_int_equal(
		    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err),
		    0);
		assert_string_equal(res.authorization, REF_AUTH_TOKEN);
		buf_release(&b);
	}

	/* Presigned GET. */
	memset(&req, 0, sizeof(req));
	hs[0] = (struct sigv4_header){"host", "ec2.us-east-1.amazonaws.com"};
	req.method = "GET";
	req.path = "/";
	req.query = "Action=DescribeRegions&Version=2016-11-15";
	req.headers = hs;
	req.nheaders = 1;
	p.region = "us-east-1";
	p.expires = 300;
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_QUERY, &res, &err), 0);
	got = sorted_params(res.query);
	want = sorted_params(REF_PRESIGNED_QUERY);
	assert_string_equal(got, want);
	free(got);
	free(want);
	assert_int_equal(res.nadd_headers, 0);

	sigv4_result_release(&res);
	sigv4_result_release(&res);
	sigv4_signer_free(s);
	err_clear(&err);
}

static void test_key_cache(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct sigv4_result res = SIGV4_RESULT_INIT;
	struct sigv4_signer *s = sigv4_signer_new();
	struct sigv4_creds creds = {REF_KEY_ID, REF_SECRET, NULL};
	unsigned char k1[SIGV4_KEY_LEN], k2[SIGV4_KEY_LEN];
	struct sigv4_header hs[2];
	struct sigv4_request req;
	struct sigv4_params p;
	char first[SIGV4_HEX_LEN + 1];

	(void)state;
	ec2_inputs(hs, &req, &p, "ec2.eu-west-1.amazonaws.com", "eu-west-1");
	assert_int_equal(sigv4_signer_key_derivations(s), 0);
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err), 0);
	assert_int_equal(sigv4_signer_key_derivations(s), 1);
	memcpy(first, res.signature, sizeof(first));
	/* Same inputs: a hit, and the same signature. */
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err), 0);
	assert_int_equal(sigv4_signer_key_derivations(s), 1);
	assert_string_equal(res.signature, first);
	assert_string_equal(res.authorization, REF_AUTH_NO_TOKEN);
	/* Later the same day: still a hit (the key depends on the date). */
	p.time += 3600;
	p.expires = 60;
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_QUERY, &res, &err), 0);
	assert_int_equal(sigv4_signer_key_derivations(s), 1);
	/* A failed signing leaves the cache alone. */
	p.region = "bad/region";
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err), -1);
	assert_int_equal(sigv4_signer_key_derivations(s), 1);
	p.region = "eu-west-1";
	/* Each part of the key's inputs forces a new derivation. */
	p.time += 86400;
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err), 0);
	assert_int_equal(sigv4_signer_key_derivations(s), 2);
	p.region = "us-west-2";
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err), 0);
	assert_int_equal(sigv4_signer_key_derivations(s), 3);
	p.service = "sts";
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err), 0);
	assert_int_equal(sigv4_signer_key_derivations(s), 4);
	creds.secret_access_key = "another-secret";
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err), 0);
	assert_int_equal(sigv4_signer_key_derivations(s), 5);
	/* A secret of the same length that differs in one byte. */
	creds.secret_access_key = "another-secreT";
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err), 0);
	assert_int_equal(sigv4_signer_key_derivations(s), 6);
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err), 0);
	assert_int_equal(sigv4_signer_key_derivations(s), 6);

	/* The cached key is the uncached one. */
	assert_int_equal(
	    sigv4_signer_signing_key(s, "another-secreT", &p, k1, &err), 0);
	assert_int_equal(sigv4_signer_key_derivations(s), 6);
	assert_int_equal(sigv4_signing_key("another-secreT", &p, k2, &err), 0);
	assert_memory_equal(k1, k2, sizeof(k1));
	/* Back to the first inputs: the signature of the first call. */
	ec2_inputs(hs, &req, &p, "ec2.eu-west-1.amazonaws.com", "eu-west-1");
	creds.secret_access_key = REF_SECRET;
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err), 0);
	assert_int_equal(sigv4_signer_key_derivations(s), 7);
	assert_string_equal(res.signature, first);

	sigv4_result_release(&res);
	sigv4_signer_free(s);
	err_clear(&err);
}

/* Signing must fail with a message, leave the result empty, not crash. */
static void expect_sign_error(struct sigv4_signer *s,
			      const struct sigv4_request *req,
			      const struct sigv4_creds *creds,
			      const struct sigv4_params *p,
			      enum sigv4_form form, const char *needle)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct sigv4_result res = SIGV4_RESULT_INIT;
	struct buf b = BUF_INIT, sh = BUF_INIT;

	if (!sigv4_sign(s, req, creds, p, form, &res, &err))
		fail_msg("signing succeeded, want an error with \"%s\"",
			 needle);
	assert_non_null(err.message);
	if (!strstr(err.message, needle))
		fail_msg("error \"%s\" lacks \"%s\"", err.message, needle);
	assert_null(res.canonical_request);
	assert_null(res.authorization);
	assert_null(res.add_headers);
	/* The stage alone fails alike (except for a missing secret). */
	if (creds && creds->secret_access_key && *creds->secret_access_key)
		assert_int_equal(
		    sigv4_canonical_request(req, creds, p, form, &b, &sh, &err),
		    -1);
	buf_release(&b);
	buf_release(&sh);
	err_clear(&err);
}

static void test_bad_input(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct sigv4_result res = SIGV4_RESULT_INIT;
	struct sigv4_signer *s = sigv4_signer_new();
	struct sigv4_creds creds = {REF_KEY_ID, REF_SECRET, NULL};
	struct sigv4_creds bad = creds;
	struct sigv4_header hs[3];
	struct sigv4_request req;
	struct sigv4_params p;
	unsigned char key[SIGV4_KEY_LEN];
	char sig[SIGV4_HEX_LEN + 1];
	struct buf b = BUF_INIT;

	(void)state;
	ec2_inputs(hs, &req, &p, "ec2.eu-west-1.amazonaws.com", "eu-west-1");
	/* A first good signing, so that errors also cover a used result. */
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err), 0);
	assert_int_equal(
	    sigv4_sign(s, NULL, &creds, &p, SIGV4_HEADER, &res, &err), -1);
	assert_null(res.authorization);
	assert_int_equal(
	    sigv4_sign(NULL, &req, &creds, &p, SIGV4_HEADER, &res, &err), -1);
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, NULL, &err), -1);
	expect_sign_error(s, &req, NULL, &p, SIGV4_HEADER, "credentials");
	expect_sign_error(s, &req, &creds, NULL, SIGV4_HEADER, "parameters");

	bad.access_key_id = NULL;
	expect_sign_error(s, &req, &bad, &p, SIGV4_HEADER, "access key");
	bad.access_key_id = "AKID/X";
	expect_sign_error(s, &req, &bad, &p, SIGV4_HEADER, "access key");
	bad = creds;
	bad.secret_access_key = "";
	expect_sign_error(s, &req, &bad, &p, SIGV4_HEADER, "secret");
	bad = creds;
	bad.session_token = "tok\r\nen";
	expect_sign_error(s, &req, &bad, &p, SIGV4_HEADER, "session token");

	p.time = -1;
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "time");
	p.time = 253402300800LL;
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "time");
	p.time = REF_TIME;
	p.region = "";
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "region");
	p.region = "eu west";
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "region");
	p.region = "eu-west-1";
	p.service = NULL;
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "service");
	p.service = "ec2";
	p.expires = 0;
	expect_sign_error(s, &req, &creds, &p, SIGV4_QUERY, "expiry");
	p.expires = SIGV4_MAX_EXPIRES + 1;
	expect_sign_error(s, &req, &creds, &p, SIGV4_QUERY, "expiry");
	p.expires = 0;
	expect_sign_error(s, &req, &creds, &p, (enum sigv4_form)7, "form");

	req.method = NULL;
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "method");
	req.method = "GET /";
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "method");
	req.method = "POST";
	req.path = "no-slash";
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "path");
	req.path = "/a\rb";
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "path");
	req.path = "/";
	req.query = "a=%G0";
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "percent");
	req.query = NULL;
	req.payload = NULL;
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "payload");
	req.payload = EC2_BODY;
	req.payload_hash = "ABCDEF";
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "payload hash");
	req.payload_hash = EMPTY_SHA256 "0";
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "payload hash");
	req.payload_hash = NULL;

	/* Headers. */
	req.headers = NULL;
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "headers");
	req.headers = hs;
	req.nheaders = 1;
	hs[0] = (struct sigv4_header){"Content-Type", EC2_CT};
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "Host");
	hs[0] = (struct sigv4_header){"Host", "ec2.eu-west-1.amazonaws.com"};
	req.nheaders = 2;
	hs[1] = (struct sigv4_header){"X-Bad\x01", "v"};
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "invalid name");
	hs[1] = (struct sigv4_header){"X Bad", "v"};
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "invalid name");
	hs[1] = (struct sigv4_header){"X-Bad:", "v"};
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "invalid name");
	hs[1] = (struct sigv4_header){"", "v"};
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "no name");
	hs[1] = (struct sigv4_header){"X-Ok", NULL};
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "no name");
	hs[1] = (struct sigv4_header){"X-Ok", "a\r\nX-Injected: 1"};
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER,
			  "control character");
	/* Headers that the signer would add must agree with the inputs. */
	hs[1] = (struct sigv4_header){"x-amz-date", "20240517T093001Z"};
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "X-Amz-Date");
	hs[1] = (struct sigv4_header){"X-Amz-Security-Token", "other"};
	bad = creds;
	bad.session_token = REF_TOKEN;
	expect_sign_error(s, &req, &bad, &p, SIGV4_HEADER, "session token");
	hs[1] = (struct sigv4_header){"X-Amz-Security-Token", REF_TOKEN};
	p.omit_session_token = 1;
	expect_sign_error(s, &req, &bad, &p, SIGV4_HEADER, "after signing");
	p.omit_session_token = 0;
	hs[1] = (struct sigv4_header){"X-Amz-Content-SHA256", EMPTY_SHA256};
	expect_sign_error(s, &req, &creds, &p, SIGV4_HEADER, "payload hash");

	/* The stages check their inputs too. */
	ec2_inputs(hs, &req, &p, "ec2.eu-west-1.amazonaws.com", "eu-west-1");
	assert_int_equal(sigv4_string_to_sign(&p, NULL, 0, &b, &err), -1);
	assert_int_equal(sigv4_signing_key(NULL, &p, key, &err), -1);
	assert_int_equal(
	    sigv4_signer_signing_key(NULL, REF_SECRET, &p, key, &err), -1);
	assert_int_equal(sigv4_signature(NULL, "x", 1, sig, &err), -1);
	assert_int_equal(
	    sigv4_authorization(&creds, &p, NULL, EMPTY_SHA256, &b, &err), -1);
	assert_int_equal(
	    sigv4_authorization(&creds, &p, "host", "zz", &b, &err), -1);
	assert_int_equal(sigv4_presigned_query(&req, &creds, &p, "host",
					       EMPTY_SHA256, &b, &err),
			 -1); /* expires 0 */
	assert_int_equal(b.len, 0);
	assert_int_equal(sigv4_canonical_query(&b, "a=1", NULL, 1, &err), -1);

	/* Still usable after all that. */
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err), 0);
	assert_string_equal(res.authorization, REF_AUTH_NO_TOKEN);

	buf_release(&b);
	sigv4_result_release(&res);
	sigv4_signer_free(s);
	sigv4_signer_free(NULL);
	err_clear(&err);
}

/* Header canonicalization details beyond the suites. */
static void test_headers(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct sigv4_result res = SIGV4_RESULT_INIT;
	struct sigv4_signer *s = sigv4_signer_new();
	struct sigv4_creds creds = {SUITE_KEY_ID, SUITE_SECRET, "tok"};
	struct sigv4_header hs[] = {
	    {"Host", "example.amazonaws.com"},
	    {"my-header", "\t b \t c\t"},
	    {"My-Header", "a"},
	    {"X-Amz-Date", "20150830T123600Z"},
	    {"Empty", ""},
	};
	struct sigv4_request req = {0};
	struct sigv4_params p = {0};

	(void)state;
	req.method = "GET";
	req.path = "/";
	req.headers = hs;
	req.nheaders = sizeof(hs) / sizeof(hs[0]);
	p.region = "us-east-1";
	p.service = "service";
	p.time = SUITE_TIME;
	p.normalize_path = 1;
	p.sign_body = 1;
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err), 0);
	assert_string_equal(res.canonical_request,
			    "GET\n/\n\n"
			    "empty:\n"
			    "host:example.amazonaws.com\n"
			    "my-header:b c,a\n"
			    "x-amz-content-sha256:" EMPTY_SHA256 "\n"
			    "x-amz-date:20150830T123600Z\n"
			    "x-amz-security-token:tok\n\n"
			    "empty;host;my-header;x-amz-content-sha256;"
			    "x-amz-date;x-amz-security-token\n" EMPTY_SHA256);
	/* X-Amz-Date was given: only the token and the hash to add. */
	assert_int_equal(res.nadd_headers, 2);
	assert_string_equal(res.add_headers[0].name, "X-Amz-Security-Token");
	assert_string_equal(res.add_headers[1].name, "x-amz-content-sha256");
	assert_string_equal(res.amz_date, "20150830T123600Z");

	/* omit_session_token: not signed, still to add. */
	p.omit_session_token = 1;
	p.sign_body = 0;
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_HEADER, &res, &err), 0);
	assert_null(strstr(res.canonical_request, "tok"));
	assert_int_equal(res.nadd_headers, 1);
	assert_string_equal(res.add_headers[0].value, "tok");
	/* ... and in the query form, after the canonical parameters. */
	p.expires = 60;
	assert_int_equal(
	    sigv4_sign(s, &req, &creds, &p, SIGV4_QUERY, &res, &err), 0);
	assert_null(strstr(res.canonical_request, "Token"));
	assert_non_null(strstr(res.query, "&X-Amz-Security-Token=tok&X-Amz-"
					  "Signature="));
	assert_int_equal(res.nadd_headers, 0);

	sigv4_result_release(&res);
	sigv4_signer_free(s);
	err_clear(&err);
}

/* -------------------------------------------------------------------- */
/* main                                                                  */

static int run_suite(struct suite *s, void (*fn)(void **), size_t expected)
{
	struct CMUnitTest *tests;
	size_t i;
	int failed;

	if (s->n != expected) {
		fprintf(stderr,
			"[  ERROR   ] %s: found %zu cases in %s, want %zu\n",
			s->label, s->n, fixtures_dir(), expected);
		return 1;
	}
	tests = xcalloc(s->n, sizeof(*tests));
	for (i = 0; i < s->n; i++) {
		s->cases[i].test_name =
		    xasprintf("%s/%s", s->label, s->cases[i].name);
		tests[i].name = s->cases[i].test_name;
		tests[i].test_func = fn;
		tests[i].initial_state = &s->cases[i];
	}
	failed = _cmocka_run_group_tests(s->label, tests, s->n, NULL, NULL);
	free(tests);
	/* Every case must have run to its end: none skipped. */
	if (!failed && (size_t)s->ran != s->n) {
		fprintf(stderr, "[  ERROR   ] %s: %d of %zu cases ran\n",
			s->label, s->ran, s->n);
		failed = 1;
	}
	return failed;
}

int main(void)
{
	const struct CMUnitTest units[] = {
	    cmocka_unit_test(test_uri_encode),
	    cmocka_unit_test(test_amz_date),
	    cmocka_unit_test(test_canonical_uri),
	    cmocka_unit_test(test_canonical_query),
	    cmocka_unit_test(test_headers),
	    cmocka_unit_test(test_botocore_reference),
	    cmocka_unit_test(test_key_cache),
	    cmocka_unit_test(test_bad_input),
	};
	struct suite aca = {0}, boto = {0};
	struct buf root = BUF_INIT;
	int failed = 0;

	buf_addf(&root, "%s/sigv4/aws-c-auth-v4", fixtures_dir());
	aca.label = "aws-c-auth-v4";
	discover(&aca, root.data, "", "request.txt", 0);
	buf_reset(&root);
	buf_addf(&root, "%s/sigv4/botocore-aws4_testsuite", fixtures_dir());
	boto.label = "botocore-aws4_testsuite";
	discover(&boto, root.data, "", "%s.req", 0);
	buf_release(&root);

	failed += cmocka_run_group_tests_name("sigv4", units, NULL, NULL);
	failed += run_suite(&aca, test_aws_c_auth_case, AWS_C_AUTH_CASES);
	failed += run_suite(&boto, test_botocore_case, BOTOCORE_CASES);
	suite_release(&aca);
	suite_release(&boto);
	return failed ? 1 : 0;
}
