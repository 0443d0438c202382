/*
 * AWS Signature Version 4, after aws-c-auth's aws_signing.c: the canonical
 * request, the string to sign and the signature are built in stages that
 * can each be called alone.  Unlike aws-c-auth, the signing key is cached
 * in struct sigv4_signer, and nothing is ever logged here.
 *
 * The hot path (sigv4_sign() with a cached key) works in scratch buffers
 * kept in the signer, hashes with a pre-fetched SHA-256 and signs with an
 * HMAC context that stays keyed with the cached key, so a signature costs
 * a handful of allocations (the result strings) and four SHA-256 blocks
 * beyond the hashing of the canonical request.
 */
#include "gpuctl/sigv4.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SCOPE_TERM "aws4_request"
/* Largest time sigv4_amz_date() accepts: 9999-12-31T23:59:59Z. */
#define MAX_TIME 253402300799LL

/* One header to sign, pointing into the caller's strings. */
struct hdr {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
	size_t idx; /* input order, to keep the sort stable */
	int plain;  /* no blank to trim or fold: copied as it is */
};

/* One query parameter, encoded, in struct work's qbuf. */
struct qpair {
	size_t key_off, key_len, val_off, val_len;
	const char *key, *val; /* set once qbuf stops growing */
};

/* Scratch space, kept in the signer between calls. */
struct work {
	struct hdr *hdrs;
	size_t hdrs_alloc;
	struct qpair *qp;
	size_t qp_alloc;
	struct buf qbuf;
	struct buf path;
	struct buf cred;
};

/* Crypto handles the signer keeps; all NULL for the one-shot stages. */
struct crypto {
	EVP_MD *md;
	EVP_MD_CTX *mdctx;
	EVP_MAC *mac;
	EVP_MAC_CTX *macctx; /* keyed with the cached key when have_key */
};

struct sigv4_signer {
	struct crypto c;
	int have_key;
	unsigned char key[SIGV4_KEY_LEN];
	char *secret; /* copy of the secret the key came from */
	size_t secret_len;
	char date[9];
	struct buf region;
	struct buf service;
	unsigned long derivations;
	struct work w;
	struct buf creq, sh, sts, out;
};

/* What the signer adds to the request, decided before canonicalizing. */
struct plan {
	char amz_date[SIGV4_DATE_LEN + 1];
	char payload_hash[SIGV4_HEX_LEN + 1];
	int add_date;	 /* add X-Amz-Date (header form) */
	int add_token;	 /* add X-Amz-Security-Token, signed */
	int add_sha;	 /* add x-amz-content-sha256 (header form) */
	int token_after; /* add the token after signing */
	size_t query_off, query_len; /* canonical query inside the creq */
};

static const char hexdig[] = "0123456789ABCDEF";

/*
 * Appends without a call when the buffer has room: the signer's buffers
 * keep their memory between signatures, so after the first one they
 * always have.  Same result as buf_add(), buf_adds() and buf_addch().
 */
/* Lower-case hex digit pairs of 0x00..0xff, for hex_lower(). */
static const char hexpairs[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

/* hex_encode() two digits at a time: three digests on every signature. */
static void hex_lower(const unsigned char *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		memcpy(out + 2 * i, hexpairs + 2 * in[i], 2);
	out[2 * n] = '\0';
}

static inline void put_mem(struct buf *b, const void *s, size_t n)
{
	if (b->alloc - b->len > n) {
		memcpy(b->data + b->len, s, n);
		b->len += n;
		b->data[b->len] = '\0';
	} else {
		buf_add(b, s, n);
	}
}

static inline void put_str(struct buf *b, const char *s)
{
	put_mem(b, s, strlen(s));
}

static inline void put_ch(struct buf *b, char c)
{
	if (b->alloc - b->len > 1) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
	} else {
		buf_addch(b, c);
	}
}

/* RFC 3986 unreserved: A-Z a-z 0-9 - . _ ~ */
static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

/* RFC 9110 tchar, what a header name or a method may hold: a bitmap of
 * A-Z a-z 0-9 ! # $ % & ' * + - . ^ _ ` | ~ (bytes 0x00-0xff). */
static const unsigned long long tchar_bits[4] = {0x03ff6cfa00000000ULL,
						 0x57ffffffc7fffffeULL, 0, 0};

static int is_tchar(unsigned char c)
{
	return (int)((tchar_bits[c >> 6] >> (c & 63)) & 1);
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive compare of a name with a lower-case literal. */
static int name_is(const struct hdr *h, const char *lc)
{
	size_t i, n = strlen(lc);

	if (h->name_len != n)
		return 0;
	for (i = 0; i < n; i++)
		if (lower(h->name[i]) != lc[i])
			return 0;
	return 1;
}

void sigv4_uri_encode(struct buf *out, const char *s, size_t len,
		      int encode_slash)
{
	size_t i;
	char *p;

	/* Worst case three bytes out for each in. */
	if (len > (SIZE_MAX - 1) / 3)
		abort();
	buf_grow(out, 3 * len);
	p = out->data + out->len;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_unreserved(c) || (c == '/' && !encode_slash)) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hexdig[c >> 4];
			*p++ = hexdig[c & 15];
		}
	}
	out->len = (size_t)(p - out->data);
	out->data[out->len] = '\0';
}

/* Writes v as exactly n decimal digits (v is in range here). */
static void put_digits(char *out, int v, int n)
{
	while (n-- > 0) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

int sigv4_amz_date(long long t, char out[SIGV4_DATE_LEN + 1])
{
	long long days, secs, z, era, doe, yoe, doy, mp, y, m, d;

	out[0] = '\0';
	if (t < 0 || t > MAX_TIME)
		return -1;
	/*
	 * By hand, without gmtime_r() and strftime(): both take glibc's time
	 * zone lock on every call.  Days to a civil date as in H. Hinnant's
	 * days_from_civil inverse (proleptic Gregorian, UTC), t >= 0 here.
	 */
	days = t / 86400;
	secs = t % 86400;
	z = days + 719468;
	era = z / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	put_digits(out, (int)y, 4);
	put_digits(out + 4, (int)m, 2);
	put_digits(out + 6, (int)d, 2);
	out[8] = 'T';
	put_digits(out + 9, (int)(secs / 3600), 2);
	put_digits(out + 11, (int)(secs / 60 % 60), 2);
	put_digits(out + 13, (int)(secs % 60), 2);
	out[15] = 'Z';
	out[16] = '\0';
	return 0;
}

/* -------------------------------------------------------------------- */
/* Input checks                                                          */

/* A printable ASCII word with none of the bytes in bad (scope parts). */
static int is_word(const char *s, const char *bad)
{
	const char *b;

	if (!s || !*s)
		return 0;
	for (; *s; s++) {
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return 0;
		for (b = bad; *b; b++)
			if (*s == *b)
				return 0;
	}
	return 1;
}

/* Everything but the secret, which only signing needs. */
static int check_creds(const struct sigv4_creds *creds, struct gpuctl_err *err)
{
	const char *t;

	if (!creds)
		return err_set(err, GPUCTL_ERR_CONFIG, "sigv4: no credentials");
	if (!is_word(creds->access_key_id, "/,;=&"))
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "sigv4: missing or malformed access key id");
	if (creds->session_token) {
		if (!*creds->session_token)
			return err_set(err, GPUCTL_ERR_CONFIG,
				       "sigv4: empty session token");
		for (t = creds->session_token; *t; t++)
			if ((unsigned char)*t < ' ' ||
			    (unsigned char)*t == 0x7f)
				return err_set(err, GPUCTL_ERR_CONFIG,
					       "sigv4: session token holds a "
					       "control character");
	}
	return 0;
}

static int check_params(const struct sigv4_params *p, enum sigv4_form form,
			char amz_date[SIGV4_DATE_LEN + 1],
			struct gpuctl_err *err)
{
	if (!p)
		return err_set(err, GPUCTL_ERR_OTHER, "sigv4: no parameters");
	if (!is_word(p->region, "/"))
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "sigv4: missing or malformed region");
	if (!is_word(p->service, "/"))
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "sigv4: missing or malformed service name");
	if (sigv4_amz_date(p->time, amz_date))
		return err_set(err, GPUCTL_ERR_OTHER,
			       "sigv4: signing time %lld out of range",
			       p->time);
	if (form == SIGV4_QUERY &&
	    (p->expires < 1 || p->expires > SIGV4_MAX_EXPIRES))
		return err_set(err, GPUCTL_ERR_OTHER,
			       "sigv4: expiry %ld not in 1..%ld seconds",
			       p->expires, SIGV4_MAX_EXPIRES);
	if (form != SIGV4_HEADER && form != SIGV4_QUERY)
		return err_set(err, GPUCTL_ERR_OTHER,
			       "sigv4: unknown signature form");
	return 0;
}

static int check_hash(const char *h)
{
	size_t i;

	if (!strcmp(h, SIGV4_UNSIGNED_PAYLOAD))
		return 0;
	for (i = 0; i < SIGV4_HEX_LEN; i++)
		if (!((h[i] >= '0' && h[i] <= '9') ||
		      (h[i] >= 'a' && h[i] <= 'f')))
			return -1;
	return h[i] ? -1 : 0;
}

/* -------------------------------------------------------------------- */
/* Hashing                                                               */

static int sha256_hex(struct crypto *c, const void *data, size_t len,
		      char out[SIGV4_HEX_LEN + 1], struct gpuctl_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int ok;

	if (!data)
		data = "";
	if (c && c->md)
		ok = EVP_DigestInit_ex2(c->mdctx, c->md, NULL) &&
		     EVP_DigestUpdate(c->mdctx, data, len) &&
		     EVP_DigestFinal_ex(c->mdctx, md, &n);
	else
		ok = EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	if (!ok || n != 32)
		return err_set(err, GPUCTL_ERR_OTHER, "sigv4: sha-256 failed");
	hex_lower(md, 32, out);
	return 0;
}

static int hmac(const unsigned char *key, size_t key_len, const void *data,
		size_t len, unsigned char out[SIGV4_KEY_LEN])
{
	unsigned int n = 0;

	if (key_len > INT_MAX)
		return -1;
	if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) ||
	    n != SIGV4_KEY_LEN)
		return -1;
	return 0;
}

static int derive_key(const char *secret, size_t secret_len, const char *date8,
		      const char *region, const char *service,
		      unsigned char key[SIGV4_KEY_LEN], struct gpuctl_err *err)
{
	unsigned char k1[SIGV4_KEY_LEN], k2[SIGV4_KEY_LEN];
	size_t n = 4 + secret_len;
	unsigned char *ks;
	int rc = -1;

	if (secret_len > SIZE_MAX - 4)
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "sigv4: secret too long");
	ks = xmalloc(n);
	memcpy(ks, "AWS4", 4);
	memcpy(ks + 4, secret, secret_len);
	if (hmac(ks, n, date8, 8, k1) ||
	    hmac(k1, sizeof(k1), region, strlen(region), k2) ||
	    hmac(k2, sizeof(k2), service, strlen(service), k1) ||
	    hmac(k1, sizeof(k1), SCOPE_TERM, strlen(SCOPE_TERM), key)) {
		err_set(err, GPUCTL_ERR_OTHER, "sigv4: hmac-sha256 failed");
		goto out;
	}
	rc = 0;
out:
	secure_free(ks, n);
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	return rc;
}

/* -------------------------------------------------------------------- */
/* Canonical URI and query                                               */

static int check_path(const char *path, struct gpuctl_err *err)
{
	const char *s;

	if (*path && *path != '/')
		return err_set(err, GPUCTL_ERR_OTHER,
			       "sigv4: path \"%.200s\" does not start with '/'",
			       path);
	for (s = path; *s; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s == 0x7f)
			return err_set(err, GPUCTL_ERR_OTHER,
				       "sigv4: path holds a control character");
	return 0;
}

/*
 * Dot-segment removal as the AWS SDKs do it: empty and "." segments go,
 * ".." drops the segment before it, a final '/' stays.
 */
static void normalize_path(struct buf *out, const char *path)
{
	const char *s = path, *e;
	size_t start = out->len, n;

	while (*s) {
		while (*s == '/')
			s++;
		e = s;
		while (*e && *e != '/')
			e++;
		n = (size_t)(e - s);
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (out->len > start &&
			       out->data[out->len - 1] != '/')
				out->len--;
			if (out->len > start)
				out->len--;
			out->data[out->len] = '\0';
		} else if (n && !(n == 1 && s[0] == '.')) {
			put_ch(out, '/');
			put_mem(out, s, n);
		}
		s = e;
	}
	if (out->len == start)
		put_ch(out, '/');
	else if (s > path && s[-1] == '/')
		put_ch(out, '/');
}

static int canonical_uri(struct work *w, struct buf *out, const char *path,
			 int normalize, struct gpuctl_err *err)
{
	if (!path || !*path)
		path = "/";
	if (check_path(path, err))
		return -1;
	if (!normalize) {
		sigv4_uri_encode(out, path, strlen(path), 0);
		return 0;
	}
	buf_reset(&w->path);
	normalize_path(&w->path, path);
	sigv4_uri_encode(out, w->path.data, w->path.len, 0);
	return 0;
}

/* Decodes %XX in s[0..len) and appends it encoded to b. */
static int reencode(struct buf *b, const char *s, size_t len)
{
	size_t i, run = 0;
	char c;

	for (i = 0; i < len; i++) {
		if (s[i] != '%')
			continue;
		if (i + 2 >= len)
			return -1;
		if (hexval((unsigned char)s[i + 1]) < 0 ||
		    hexval((unsigned char)s[i + 2]) < 0)
			return -1;
		sigv4_uri_encode(b, s + run, i - run, 1);
		c = (char)(hexval((unsigned char)s[i + 1]) << 4 |
			   hexval((unsigned char)s[i + 2]));
		sigv4_uri_encode(b, &c, 1, 1);
		i += 2;
		run = i + 1;
	}
	sigv4_uri_encode(b, s + run, len - run, 1);
	return 0;
}

static struct qpair *qp_next(struct work *w, size_t n)
{
	if (n >= w->qp_alloc) {
		w->qp_alloc = w->qp_alloc ? 2 * w->qp_alloc : 16;
		w->qp = xrealloc(w->qp, w->qp_alloc * sizeof(*w->qp));
	}
	return &w->qp[n];
}

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn)
{
	int r = memcmp(a, b, an < bn ? an : bn);

	if (r)
		return r;
	return an < bn ? -1 : an > bn;
}

static int cmp_qpair(const void *va, const void *vb)
{
	const struct qpair *a = va, *b = vb;
	int r = cmp_bytes(a->key, a->key_len, b->key, b->key_len);

	return r ? r : cmp_bytes(a->val, a->val_len, b->val, b->val_len);
}

static int canonical_query(struct work *w, struct buf *out, const char *query,
			   const struct sigv4_header *extra, size_t nextra,
			   struct gpuctl_err *err)
{
	const char *s = query, *amp, *eq;
	struct qpair *q;
	size_t i, n = 0;

	buf_reset(&w->qbuf);
	while (s && *s) {
		amp = strchr(s, '&');
		if (!amp)
			amp = s + strlen(s);
		if (amp > s) {
			eq = memchr(s, '=', (size_t)(amp - s));
			if (!eq)
				eq = amp;
			q = qp_next(w, n++);
			q->key_off = w->qbuf.len;
			if (reencode(&w->qbuf, s, (size_t)(eq - s)))
				goto bad;
			q->key_len = w->qbuf.len - q->key_off;
			q->val_off = w->qbuf.len;
			if (eq < amp &&
			    reencode(&w->qbuf, eq + 1, (size_t)(amp - eq - 1)))
				goto bad;
			q->val_len = w->qbuf.len - q->val_off;
		}
		s = *amp ? amp + 1 : amp;
	}
	for (i = 0; i < nextra; i++) {
		if (!extra[i].name || !extra[i].value)
			return err_set(err, GPUCTL_ERR_OTHER,
				       "sigv4: query parameter %zu is NULL", i);
		q = qp_next(w, n++);
		q->key_off = w->qbuf.len;
		sigv4_uri_encode(&w->qbuf, extra[i].name, strlen(extra[i].name),
				 1);
		q->key_len = w->qbuf.len - q->key_off;
		q->val_off = w->qbuf.len;
		sigv4_uri_encode(&w->qbuf, extra[i].value,
				 strlen(extra[i].value), 1);
		q->val_len = w->qbuf.len - q->val_off;
	}
	for (i = 0; i < n; i++) {
		w->qp[i].key = w->qbuf.data + w->qp[i].key_off;
		w->qp[i].val = w->qbuf.data + w->qp[i].val_off;
	}
	if (n > 1)
		qsort(w->qp, n, sizeof(*w->qp), cmp_qpair);
	for (i = 0; i < n; i++) {
		if (i)
			put_ch(out, '&');
		put_mem(out, w->qp[i].key, w->qp[i].key_len);
		put_ch(out, '=');
		put_mem(out, w->qp[i].val, w->qp[i].val_len);
	}
	return 0;
bad:
	/* Not quoted: a query may hold a token or a signature. */
	return err_set(err, GPUCTL_ERR_OTHER,
		       "sigv4: bad percent-encoding in the query string");
}

/* -------------------------------------------------------------------- */
/* Canonical headers and request                                         */

static int cmp_hdr(const void *va, const void *vb)
{
	const struct hdr *a = va, *b = vb;
	size_t i, n = a->name_len < b->name_len ? a->name_len : b->name_len;

	for (i = 0; i < n; i++) {
		unsigned char x = (unsigned char)lower(a->name[i]);
		unsigned char y = (unsigned char)lower(b->name[i]);

		if (x != y)
			return x < y ? -1 : 1;
	}
	if (a->name_len != b->name_len)
		return a->name_len < b->name_len ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/*
 * Insertion sort: stable, no allocation, and quick for the few headers a
 * request has.  Falls back to qsort() (made stable by idx) for many.
 */
static void sort_hdrs(struct hdr *h, size_t n)
{
	struct hdr t;
	size_t i, j;

	if (n > 32) {
		qsort(h, n, sizeof(*h), cmp_hdr);
		return;
	}
	for (i = 1; i < n; i++) {
		t = h[i];
		for (j = i; j > 0 && cmp_hdr(&h[j - 1], &t) > 0; j--)
			h[j] = h[j - 1];
		h[j] = t;
	}
}

/* 1 when two headers have the same name, compared without case. */
static int same_name(const struct hdr *a, const struct hdr *b)
{
	size_t i;

	if (a->name_len != b->name_len)
		return 0;
	for (i = 0; i < a->name_len; i++)
		if (lower(a->name[i]) != lower(b->name[i]))
			return 0;
	return 1;
}

/* The value with outer blanks trimmed. */
static void trim(const struct hdr *h, const char **s, const char **e)
{
	*s = h->value;
	*e = h->value + h->value_len;
	while (*s < *e && is_ws(**s))
		(*s)++;
	while (*e > *s && is_ws((*e)[-1]))
		(*e)--;
}

/* Appends the value trimmed, each run of blanks inside made one space. */
static void add_value(struct buf *out, const struct hdr *h)
{
	const char *s, *e;
	char *p;

	if (h->plain) {
		put_mem(out, h->value, h->value_len);
		return;
	}
	trim(h, &s, &e);
	buf_grow(out, (size_t)(e - s));
	p = out->data + out->len;
	while (s < e) {
		if (is_ws(*s)) {
			*p++ = ' ';
			while (is_ws(*s))
				s++;
		} else {
			*p++ = *s++;
		}
	}
	out->len = (size_t)(p - out->data);
	out->data[out->len] = '\0';
}

/* 1 when the header's trimmed value is exactly v. */
static int value_is(const struct hdr *h, const char *v)
{
	const char *s, *e;

	trim(h, &s, &e);
	return (size_t)(e - s) == strlen(v) && !memcmp(s, v, strlen(v));
}

static void push_hdr(struct work *w, size_t *n, const char *name,
		     const char *value)
{
	struct hdr *h = &w->hdrs[*n];

	h->name = name;
	h->name_len = strlen(name);
	h->value = value;
	h->value_len = strlen(value);
	h->idx = *n;
	h->plain = 0;
	(*n)++;
}

/*
 * Collects, checks and sorts the headers to sign into w->hdrs, with those
 * the plan adds; returns their count in *count.
 */
static int collect_headers(struct work *w, const struct sigv4_request *req,
			   const struct sigv4_creds *creds,
			   const struct sigv4_params *p, enum sigv4_form form,
			   struct plan *pl, size_t *count,
			   struct gpuctl_err *err)
{
	int have_host = 0, have_date = 0, have_token = 0, have_sha = 0;
	const char *token = creds->session_token;
	size_t i, n = 0;
	const char *s;
	unsigned char c, prev;
	int plain;

	if (req->nheaders && !req->headers)
		return err_set(err, GPUCTL_ERR_OTHER, "sigv4: no headers");
	if (req->nheaders > SIZE_MAX / sizeof(struct hdr) - 4)
		return err_set(err, GPUCTL_ERR_OTHER,
			       "sigv4: too many headers");
	if (req->nheaders + 3 > w->hdrs_alloc) {
		w->hdrs_alloc = req->nheaders + 8;
		w->hdrs = xrealloc(w->hdrs, w->hdrs_alloc * sizeof(*w->hdrs));
	}
	for (i = 0; i < req->nheaders; i++) {
		const struct sigv4_header *in = &req->headers[i];
		struct hdr *h;

		if (!in->name || !*in->name || !in->value)
			return err_set(err, GPUCTL_ERR_OTHER,
				       "sigv4: header %zu has no name or value",
				       i);
		for (s = in->name; *s; s++)
			if (!is_tchar((unsigned char)*s))
				return err_set(err, GPUCTL_ERR_OTHER,
					       "sigv4: header %zu has an "
					       "invalid name",
					       i);
		prev = ' '; /* a leading blank is not plain */
		plain = 1;
		for (s = in->value; (c = (unsigned char)*s); s++) {
			if ((c < ' ' && c != '\t') || c == 0x7f)
				return err_set(
				    err, GPUCTL_ERR_OTHER,
				    "sigv4: header \"%.64s\" holds a "
				    "control character",
				    in->name);
			if (c == '\t' || (c == ' ' && prev == ' '))
				plain = 0;
			prev = c;
		}
		push_hdr(w, &n, in->name, in->value);
		h = &w->hdrs[n - 1];
		h->plain = plain && prev != ' ';
		if (name_is(h, "host")) {
			have_host = 1;
		} else if (name_is(h, "x-amz-date")) {
			have_date = 1;
			if (!value_is(h, pl->amz_date))
				return err_set(err, GPUCTL_ERR_OTHER,
					       "sigv4: X-Amz-Date header does "
					       "not match the signing time %s",
					       pl->amz_date);
		} else if (name_is(h, "x-amz-security-token")) {
			have_token = 1;
			if (token && p->omit_session_token)
				return err_set(err, GPUCTL_ERR_OTHER,
					       "sigv4: X-Amz-Security-Token "
					       "header given but the token is "
					       "to be added after signing");
			if (token && !value_is(h, token))
				return err_set(err, GPUCTL_ERR_OTHER,
					       "sigv4: X-Amz-Security-Token "
					       "header does not match the "
					       "session token");
		} else if (name_is(h, "x-amz-content-sha256")) {
			have_sha = 1;
			if (!value_is(h, pl->payload_hash))
				return err_set(err, GPUCTL_ERR_OTHER,
					       "sigv4: x-amz-content-sha256 "
					       "header does not match the "
					       "payload hash");
		}
	}
	if (!have_host)
		return err_set(err, GPUCTL_ERR_OTHER,
			       "sigv4: the request has no Host header");
	if (form == SIGV4_HEADER) {
		pl->add_date = !have_date;
		pl->add_token = token && !p->omit_session_token && !have_token;
		pl->add_sha = p->sign_body && !have_sha;
	}
	pl->token_after = token && p->omit_session_token;
	if (pl->add_date)
		push_hdr(w, &n, "X-Amz-Date", pl->amz_date);
	if (pl->add_token)
		push_hdr(w, &n, "X-Amz-Security-Token", token);
	if (pl->add_sha)
		push_hdr(w, &n, "x-amz-content-sha256", pl->payload_hash);
	sort_hdrs(w->hdrs, n);
	*count = n;
	return 0;
}

static void add_lower(struct buf *out, const char *s, size_t n)
{
	char *p;
	size_t i;

	buf_grow(out, n);
	p = out->data + out->len;
	for (i = 0; i < n; i++)
		p[i] = lower(s[i]);
	out->len += n;
	out->data[out->len] = '\0';
}

static void add_scope(struct buf *out, const char *amz_date,
		      const struct sigv4_params *p)
{
	put_mem(out, amz_date, 8);
	put_ch(out, '/');
	put_str(out, p->region);
	put_ch(out, '/');
	put_str(out, p->service);
	put_str(out, "/" SCOPE_TERM);
}

/*
 * The X-Amz-* parameters of the presigned form, raw; their strings point
 * into pl, creds, w->cred and exp.  Returns how many (at most 6).
 */
static size_t presign_params(struct work *w, const struct sigv4_creds *creds,
			     const struct sigv4_params *p,
			     const struct plan *pl, const char *signed_headers,
			     char exp[24], struct sigv4_header *out)
{
	size_t n = 0;

	buf_reset(&w->cred);
	put_str(&w->cred, creds->access_key_id);
	put_ch(&w->cred, '/');
	add_scope(&w->cred, pl->amz_date, p);
	snprintf(exp, 24, "%ld", p->expires);
	out[n++] = (struct sigv4_header){"X-Amz-Algorithm", SIGV4_ALGORITHM};
	out[n++] = (struct sigv4_header){"X-Amz-Credential", w->cred.data};
	out[n++] = (struct sigv4_header){"X-Amz-Date", pl->amz_date};
	out[n++] = (struct sigv4_header){"X-Amz-Expires", exp};
	if (creds->session_token && !p->omit_session_token)
		out[n++] = (struct sigv4_header){"X-Amz-Security-Token",
						 creds->session_token};
	out[n++] = (struct sigv4_header){"X-Amz-SignedHeaders", signed_headers};
	return n;
}

static int check_request(const struct sigv4_request *req,
			 struct gpuctl_err *err)
{
	const char *s;

	if (!req)
		return err_set(err, GPUCTL_ERR_OTHER, "sigv4: no request");
	if (!req->method || !*req->method)
		return err_set(err, GPUCTL_ERR_OTHER, "sigv4: no method");
	for (s = req->method; *s; s++)
		if (!is_tchar((unsigned char)*s))
			return err_set(err, GPUCTL_ERR_OTHER,
				       "sigv4: invalid method");
	if (req->payload_len && !req->payload)
		return err_set(err, GPUCTL_ERR_OTHER,
			       "sigv4: payload length without payload");
	if (req->payload_hash && check_hash(req->payload_hash))
		return err_set(err, GPUCTL_ERR_OTHER,
			       "sigv4: payload hash is not lower-case hex "
			       "SHA-256");
	return 0;
}

/*
 * Stage 1 for both the public function and sigv4_sign(): checks every
 * input, fills pl, and appends the canonical request and the signed header
 * list.
 */
static int build_creq(struct work *w, struct crypto *c,
		      const struct sigv4_request *req,
		      const struct sigv4_creds *creds,
		      const struct sigv4_params *p, enum sigv4_form form,
		      struct plan *pl, struct buf *creq, struct buf *sh,
		      struct gpuctl_err *err)
{
	struct sigv4_header extra[6];
	size_t i, n = 0, nextra = 0;
	char exp[24];

	memset(pl, 0, sizeof(*pl));
	if (check_request(req, err) || check_creds(creds, err) ||
	    check_params(p, form, pl->amz_date, err))
		return -1;
	if (req->payload_hash) {
		memcpy(pl->payload_hash, req->payload_hash,
		       strlen(req->payload_hash) + 1);
	} else if (sha256_hex(c, req->payload, req->payload_len,
			      pl->payload_hash, err)) {
		return -1;
	}
	if (collect_headers(w, req, creds, p, form, pl, &n, err))
		return -1;

	for (i = 0; i < n; i++) {
		if (i && same_name(&w->hdrs[i], &w->hdrs[i - 1]))
			continue;
		if (i)
			put_ch(sh, ';');
		add_lower(sh, w->hdrs[i].name, w->hdrs[i].name_len);
	}

	put_str(creq, req->method);
	put_ch(creq, '\n');
	if (canonical_uri(w, creq, req->path, p->normalize_path, err))
		return -1;
	put_ch(creq, '\n');
	if (form == SIGV4_QUERY)
		nextra = presign_params(w, creds, p, pl, sh->data, exp, extra);
	pl->query_off = creq->len;
	if (canonical_query(w, creq, req->query, extra, nextra, err))
		return -1;
	pl->query_len = creq->len - pl->query_off;
	put_ch(creq, '\n');
	for (i = 0; i < n; i++) {
		const struct hdr *h = &w->hdrs[i];

		/* Repeated names are next to each other after the sort. */
		if (i && same_name(h, &w->hdrs[i - 1])) {
			put_ch(creq, ',');
		} else {
			if (i)
				put_ch(creq, '\n');
			add_lower(creq, h->name, h->name_len);
			put_ch(creq, ':');
		}
		add_value(creq, h);
	}
	put_ch(creq, '\n');
	put_ch(creq, '\n');
	put_mem(creq, sh->data, sh->len);
	put_ch(creq, '\n');
	put_str(creq, pl->payload_hash);
	return 0;
}

static int build_sts(struct crypto *c, const char *amz_date,
		     const struct sigv4_params *p, const char *creq, size_t len,
		     struct buf *out, struct gpuctl_err *err)
{
	char hex[SIGV4_HEX_LEN + 1];

	if (sha256_hex(c, creq, len, hex, err))
		return -1;
	put_str(out, SIGV4_ALGORITHM "\n");
	put_mem(out, amz_date, SIGV4_DATE_LEN);
	put_ch(out, '\n');
	add_scope(out, amz_date, p);
	put_ch(out, '\n');
	put_mem(out, hex, SIGV4_HEX_LEN);
	return 0;
}

static void work_release(struct work *w)
{
	free(w->hdrs);
	free(w->qp);
	buf_release(&w->qbuf);
	buf_release(&w->path);
	buf_release(&w->cred);
	memset(w, 0, sizeof(*w));
}

static void work_init(struct work *w)
{
	memset(w, 0, sizeof(*w));
	buf_init(&w->qbuf);
	buf_init(&w->path);
	buf_init(&w->cred);
}

/* -------------------------------------------------------------------- */
/* Public stages                                                         */

int sigv4_canonical_uri(struct buf *out, const char *path, int normalize,
			struct gpuctl_err *err)
{
	struct work w;
	int rc;

	work_init(&w);
	rc = canonical_uri(&w, out, path, normalize, err);
	work_release(&w);
	return rc;
}

int sigv4_canonical_query(struct buf *out, const char *query,
			  const struct sigv4_header *extra, size_t nextra,
			  struct gpuctl_err *err)
{
	struct work w;
	int rc;

	if (nextra && !extra)
		return err_set(err, GPUCTL_ERR_OTHER,
			       "sigv4: no query parameters");
	work_init(&w);
	rc = canonical_query(&w, out, query, extra, nextra, err);
	work_release(&w);
	return rc;
}

int sigv4_canonical_request(const struct sigv4_request *req,
			    const struct sigv4_creds *creds,
			    const struct sigv4_params *p, enum sigv4_form form,
			    struct buf *out, struct buf *signed_headers,
			    struct gpuctl_err *err)
{
	struct buf sh = BUF_INIT;
	struct work w;
	struct plan pl;
	int rc;

	work_init(&w);
	rc = build_creq(&w, NULL, req, creds, p, form, &pl, out, &sh, err);
	if (!rc && signed_headers)
		put_mem(signed_headers, sh.data, sh.len);
	buf_release(&sh);
	work_release(&w);
	return rc;
}

int sigv4_string_to_sign(const struct sigv4_params *p, const char *creq,
			 size_t len, struct buf *out, struct gpuctl_err *err)
{
	char amz_date[SIGV4_DATE_LEN + 1];

	if (!creq)
		return err_set(err, GPUCTL_ERR_OTHER,
			       "sigv4: no canonical request");
	if (check_params(p, SIGV4_HEADER, amz_date, err))
		return -1;
	return build_sts(NULL, amz_date, p, creq, len, out, err);
}

int sigv4_signing_key(const char *secret_access_key,
		      const struct sigv4_params *p,
		      unsigned char key[SIGV4_KEY_LEN], struct gpuctl_err *err)
{
	char amz_date[SIGV4_DATE_LEN + 1];

	if (!secret_access_key || !*secret_access_key)
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "sigv4: missing secret access key");
	if (check_params(p, SIGV4_HEADER, amz_date, err))
		return -1;
	amz_date[8] = '\0';
	return derive_key(secret_access_key, strlen(secret_access_key),
			  amz_date, p->region, p->service, key, err);
}

int sigv4_signature(const unsigned char key[SIGV4_KEY_LEN], const char *sts,
		    size_t len, char out[SIGV4_HEX_LEN + 1],
		    struct gpuctl_err *err)
{
	unsigned char md[SIGV4_KEY_LEN];

	out[0] = '\0';
	if (!key || !sts)
		return err_set(err, GPUCTL_ERR_OTHER,
			       "sigv4: no key or string to sign");
	if (hmac(key, SIGV4_KEY_LEN, sts, len, md))
		return err_set(err, GPUCTL_ERR_OTHER,
			       "sigv4: hmac-sha256 failed");
	hex_encode(md, sizeof(md), out);
	return 0;
}

static void add_authorization(struct buf *out, const struct sigv4_creds *creds,
			      const char *amz_date,
			      const struct sigv4_params *p,
			      const char *signed_headers, const char *signature)
{
	put_str(out, SIGV4_ALGORITHM " Credential=");
	put_str(out, creds->access_key_id);
	put_ch(out, '/');
	add_scope(out, amz_date, p);
	put_str(out, ", SignedHeaders=");
	put_str(out, signed_headers);
	put_str(out, ", Signature=");
	put_str(out, signature);
}

int sigv4_authorization(const struct sigv4_creds *creds,
			const struct sigv4_params *p,
			const char *signed_headers, const char *signature,
			struct buf *out, struct gpuctl_err *err)
{
	char amz_date[SIGV4_DATE_LEN + 1];

	if (check_creds(creds, err) ||
	    check_params(p, SIGV4_HEADER, amz_date, err))
		return -1;
	if (!signed_headers || !*signed_headers || !signature ||
	    check_hash(signature) || !strcmp(signature, SIGV4_UNSIGNED_PAYLOAD))
		return err_set(err, GPUCTL_ERR_OTHER,
			       "sigv4: missing signed headers or signature");
	add_authorization(out, creds, amz_date, p, signed_headers, signature);
	return 0;
}

/* After the canonical query: the late token and the signature. */
static void add_query_tail(struct buf *out, const struct sigv4_creds *creds,
			   const struct plan *pl, const char *signature)
{
	if (pl->token_after) {
		put_str(out, "&X-Amz-Security-Token=");
		sigv4_uri_encode(out, creds->session_token,
				 strlen(creds->session_token), 1);
	}
	put_str(out, "&X-Amz-Signature=");
	put_str(out, signature);
}

int sigv4_presigned_query(const struct sigv4_request *req,
			  const struct sigv4_creds *creds,
			  const struct sigv4_params *p,
			  const char *signed_headers, const char *signature,
			  struct buf *out, struct gpuctl_err *err)
{
	struct sigv4_header extra[6];
	struct work w;
	struct plan pl;
	size_t nextra;
	char exp[24];
	int rc = -1;

	memset(&pl, 0, sizeof(pl));
	work_init(&w);
	if (check_creds(creds, err) ||
	    check_params(p, SIGV4_QUERY, pl.amz_date, err))
		goto out;
	if (!req || !signed_headers || !*signed_headers || !signature ||
	    check_hash(signature) ||
	    !strcmp(signature, SIGV4_UNSIGNED_PAYLOAD)) {
		err_set(err, GPUCTL_ERR_OTHER,
			"sigv4: missing request, signed headers or signature");
		goto out;
	}
	pl.token_after = creds->session_token && p->omit_session_token;
	nextra = presign_params(&w, creds, p, &pl, signed_headers, exp, extra);
	if (canonical_query(&w, out, req->query, extra, nextra, err))
		goto out;
	add_query_tail(out, creds, &pl, signature);
	rc = 0;
out:
	work_release(&w);
	return rc;
}

/* -------------------------------------------------------------------- */
/* The signer                                                            */

struct sigv4_signer *sigv4_signer_new(void)
{
	struct sigv4_signer *s = xcalloc(1, sizeof(*s));

	buf_init(&s->region);
	buf_init(&s->service);
	work_init(&s->w);
	buf_init(&s->creq);
	buf_init(&s->sh);
	buf_init(&s->sts);
	buf_init(&s->out);
	return s;
}

static void forget_key(struct sigv4_signer *s)
{
	OPENSSL_cleanse(s->key, sizeof(s->key));
	secure_free(s->secret, s->secret_len);
	s->secret = NULL;
	s->secret_len = 0;
	s->have_key = 0;
}

void sigv4_signer_free(struct sigv4_signer *s)
{
	if (!s)
		return;
	forget_key(s);
	EVP_MAC_CTX_free(s->c.macctx);
	EVP_MAC_free(s->c.mac);
	EVP_MD_CTX_free(s->c.mdctx);
	EVP_MD_free(s->c.md);
	buf_release(&s->region);
	buf_release(&s->service);
	work_release(&s->w);
	buf_release(&s->creq);
	buf_release(&s->sh);
	buf_release(&s->sts);
	buf_release(&s->out);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

unsigned long sigv4_signer_key_derivations(const struct sigv4_signer *s)
{
	return s ? s->derivations : 0;
}

/* Fetches the algorithms once per signer. */
static int crypto_ready(struct crypto *c, struct gpuctl_err *err)
{
	if (c->macctx)
		return 0;
	if (!c->md)
		c->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (c->md && !c->mdctx)
		c->mdctx = EVP_MD_CTX_new();
	if (c->mdctx && !c->mac)
		c->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (c->mac)
		c->macctx = EVP_MAC_CTX_new(c->mac);
	if (!c->macctx)
		return err_set(err, GPUCTL_ERR_OTHER,
			       "sigv4: cannot load SHA-256 or HMAC from "
			       "OpenSSL");
	return 0;
}

/* Makes s->key (and s->c.macctx) the key for these inputs. */
static int cached_key(struct sigv4_signer *s, const char *secret,
		      const char *date8, const struct sigv4_params *p,
		      struct gpuctl_err *err)
{
	size_t slen = strlen(secret);
	OSSL_PARAM params[2];
	char digest[] = "SHA256";

	if (s->have_key && s->secret_len == slen &&
	    !CRYPTO_memcmp(s->secret, secret, slen) &&
	    !memcmp(s->date, date8, 8) && !strcmp(s->region.data, p->region) &&
	    !strcmp(s->service.data, p->service))
		return 0;
	forget_key(s);
	if (derive_key(secret, slen, date8, p->region, p->service, s->key, err))
		return -1;
	s->derivations++;
	params[0] =
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(s->c.macctx, s->key, sizeof(s->key), params)) {
		OPENSSL_cleanse(s->key, sizeof(s->key));
		return err_set(err, GPUCTL_ERR_OTHER,
			       "sigv4: hmac-sha256 failed");
	}
	s->secret = xstrndup(secret, slen);
	s->secret_len = slen;
	memcpy(s->date, date8, 8);
	s->date[8] = '\0';
	buf_reset(&s->region);
	put_str(&s->region, p->region);
	buf_reset(&s->service);
	put_str(&s->service, p->service);
	s->have_key = 1;
	return 0;
}

int sigv4_signer_signing_key(struct sigv4_signer *s,
			     const char *secret_access_key,
			     const struct sigv4_params *p,
			     unsigned char key[SIGV4_KEY_LEN],
			     struct gpuctl_err *err)
{
	char amz_date[SIGV4_DATE_LEN + 1];

	if (!s)
		return err_set(err, GPUCTL_ERR_OTHER, "sigv4: no signer");
	if (!secret_access_key || !*secret_access_key)
		return err_set(err, GPUCTL_ERR_CONFIG,
			       "sigv4: missing secret access key");
	if (check_params(p, SIGV4_HEADER, amz_date, err) ||
	    crypto_ready(&s->c, err) ||
	    cached_key(s, secret_access_key, amz_date, p, err))
		return -1;
	memcpy(key, s->key, SIGV4_KEY_LEN);
	return 0;
}

/* The signature of sts under the cached key, through the keyed context. */
static int cached_signature(struct sigv4_signer *s, const char *sts, size_t len,
			    char out[SIGV4_HEX_LEN + 1], struct gpuctl_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t n = 0;

	/* A NULL key restarts the MAC with the key it already holds. */
	if (!EVP_MAC_init(s->c.macctx, NULL, 0, NULL) ||
	    !EVP_MAC_update(s->c.macctx, (const unsigned char *)sts, len) ||
	    !EVP_MAC_final(s->c.macctx, md, &n, sizeof(md)) ||
	    n != SIGV4_KEY_LEN)
		return err_set(err, GPUCTL_ERR_OTHER,
			       "sigv4: hmac-sha256 failed");
	hex_lower(md, SIGV4_KEY_LEN, out);
	return 0;
}

void sigv4_result_release(struct sigv4_result *r)
{
	if (!r)
		return;
	/*
	 * The strings are one block that starts with the canonical request
	 * (see fill_strings()); the headers to add are another.
	 */
	free(r->canonical_request);
	free(r->add_headers);
	memset(r, 0, sizeof(*r));
}

/* Copies b to p (with its NUL); returns p, *next past it. */
static char *put_buf(char *p, const struct buf *b, char **next)
{
	memcpy(p, b->data, b->len + 1);
	*next = p + b->len + 1;
	return p;
}

/*
 * The result's strings in one allocation (a signature is on every request:
 * five mallocs and frees were a third of what the signer spent outside
 * the hashing).  last is the Authorization value or the query.
 */
static void fill_strings(struct sigv4_signer *s, struct sigv4_result *out,
			 enum sigv4_form form)
{
	char *p =
	    xmalloc(s->creq.len + s->sts.len + s->sh.len + s->out.len + 4);

	out->canonical_request = put_buf(p, &s->creq, &p);
	out->string_to_sign = put_buf(p, &s->sts, &p);
	out->signed_headers = put_buf(p, &s->sh, &p);
	if (form == SIGV4_HEADER)
		out->authorization = put_buf(p, &s->out, &p);
	else
		out->query = put_buf(p, &s->out, &p);
}

/* The headers the caller adds, as one allocation. */
static void fill_add_headers(struct sigv4_result *out,
			     const struct sigv4_creds *creds,
			     const struct plan *pl, enum sigv4_form form)
{
	struct sigv4_header h[3];
	size_t i, n = 0, size;
	char *p;

	if (form == SIGV4_HEADER) {
		if (pl->add_date)
			h[n++] =
			    (struct sigv4_header){"X-Amz-Date", pl->amz_date};
		if (pl->add_token || pl->token_after)
			h[n++] = (struct sigv4_header){"X-Amz-Security-Token",
						       creds->session_token};
		if (pl->add_sha)
			h[n++] = (struct sigv4_header){"x-amz-content-sha256",
						       pl->payload_hash};
	}
	if (!n)
		return;
	size = n * sizeof(*out->add_headers);
	for (i = 0; i < n; i++)
		size += strlen(h[i].name) + strlen(h[i].value) + 2;
	out->add_headers = xmalloc(size);
	p = (char *)(out->add_headers + n);
	for (i = 0; i < n; i++) {
		size_t a = strlen(h[i].name) + 1, b = strlen(h[i].value) + 1;

		out->add_headers[i].name = memcpy(p, h[i].name, a);
		p += a;
		out->add_headers[i].value = memcpy(p, h[i].value, b);
		p += b;
	}
	out->nadd_headers = n;
}

int sigv4_sign(struct sigv4_signer *s, const struct sigv4_request *req,
	       const struct sigv4_creds *creds, const struct sigv4_params *p,
	       enum sigv4_form form, struct sigv4_result *out,
	       struct gpuctl_err *err)
{
	struct plan pl;
	char date8[9];
	int rc = -1;

	if (!out)
		return err_set(err, GPUCTL_ERR_OTHER, "sigv4: no result");
	sigv4_result_release(out);
	if (!s)
		return err_set(err, GPUCTL_ERR_OTHER, "sigv4: no signer");
	buf_reset(&s->creq);
	buf_reset(&s->sh);
	buf_reset(&s->sts);
	buf_reset(&s->out);
	/* build_creq() checks the rest of creds. */
	if (creds &&
	    (!creds->secret_access_key || !*creds->secret_access_key)) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"sigv4: missing secret access key");
		goto out;
	}
	if (crypto_ready(&s->c, err) ||
	    build_creq(&s->w, &s->c, req, creds, p, form, &pl, &s->creq, &s->sh,
		       err) ||
	    build_sts(&s->c, pl.amz_date, p, s->creq.data, s->creq.len, &s->sts,
		      err))
		goto out;
	memcpy(date8, pl.amz_date, 8);
	date8[8] = '\0';
	if (cached_key(s, creds->secret_access_key, date8, p, err))
		goto out;
	if (cached_signature(s, s->sts.data, s->sts.len, out->signature, err))
		goto out;

	if (form == SIGV4_HEADER) {
		add_authorization(&s->out, creds, pl.amz_date, p, s->sh.data,
				  out->signature);
	} else {
		put_mem(&s->out, s->creq.data + pl.query_off, pl.query_len);
		add_query_tail(&s->out, creds, &pl, out->signature);
	}
	memcpy(out->amz_date, pl.amz_date, sizeof(out->amz_date));
	fill_strings(s, out, form);
	fill_add_headers(out, creds, &pl, form);
	rc = 0;
out:
	if (rc)
		sigv4_result_release(out);
	return rc;
}
