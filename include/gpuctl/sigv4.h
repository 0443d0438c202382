/*
 * sigv4: AWS Signature Version 4 (AWS4-HMAC-SHA256), header and presigned
 * query forms.
 *
 * Pure: the request, the credentials, the region, the service and the time
 * are passed in.  Nothing here reads the clock or a file, writes a log line
 * or keeps global state.  The only state is struct sigv4_signer, which
 * caches the derived signing key for one (secret, date, region, service)
 * and keeps scratch space so that signing does not churn the allocator.  A
 * signer is not safe to share between threads without a lock.
 *
 * The signing stages can be called one by one, as in aws-c-auth:
 *   sigv4_canonical_request() -> sigv4_string_to_sign() ->
 *   sigv4_signing_key() -> sigv4_signature() ->
 *   sigv4_authorization() or sigv4_presigned_query().
 * sigv4_sign() runs them all and is what callers normally use.
 *
 * Ownership: const pointers passed in are borrowed for the call only.
 * Every char * in a struct sigv4_result belongs to the result and is freed
 * by sigv4_result_release().  Output struct buf arguments are appended to;
 * the caller owns and releases them.
 *
 * Errors: functions that take a struct gpuctl_err return 0, or -1 after
 * filling it (kind GPUCTL_ERR_CONFIG for bad credentials, region or
 * service, GPUCTL_ERR_OTHER for a malformed request or a crypto failure).
 * Messages never contain secret material.
 */
#ifndef GPUCTL_SIGV4_H
#define GPUCTL_SIGV4_H

#include <stddef.h>

#include "gpuctl/err.h"
#include "gpuctl/util.h"

#define SIGV4_ALGORITHM	  "AWS4-HMAC-SHA256"
#define SIGV4_KEY_LEN	  32	  /* bytes of a derived signing key */
#define SIGV4_HEX_LEN	  64	  /* hex digits of a SHA-256 or a signature */
#define SIGV4_DATE_LEN	  16	  /* YYYYMMDDTHHMMSSZ */
#define SIGV4_MAX_EXPIRES 604800L /* seven days, the AWS limit */
/* The payload hash to send when the body is not signed (S3 only). */
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

struct sigv4_header {
	const char *name;
	const char *value;
};

struct sigv4_creds {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token; /* NULL if none */
};

/*
 * The request to sign.  headers are the headers to sign, exactly as they
 * will be sent: names in any case (compared without case), values with no
 * CR or LF (unfold folded lines into one line first).  A name may appear
 * more than once; its values are joined with ',' in the order given.  Pass
 * only headers that will not change on the way (Host, Content-Type, ...),
 * not User-Agent, Content-Length added by a library, Expect or the like.
 * Host is required.
 *
 * If headers already hold X-Amz-Date it must equal the signing time; if
 * they hold X-Amz-Security-Token it must equal the session token; if they
 * hold x-amz-content-sha256 it must equal the payload hash.  The signer
 * then signs them and does not add them again.
 */
struct sigv4_request {
	const char *method; /* "GET", "POST" */
	/*
	 * The URI path as it appears on the request line, "/" for EC2.  The
	 * signer URI-encodes it (every byte but A-Z a-z 0-9 - . _ ~ and '/')
	 * to make the canonical URI.  Since a path already on the wire is
	 * encoded, a '%' in it becomes %25: the double encoding that every
	 * service but S3 uses.  NULL or "" is "/".
	 */
	const char *path;
	/*
	 * The query string as sent, without '?', or NULL.  Keys and values
	 * may be percent-encoded already ('%XX' is decoded, then encoded
	 * again in canonical form); '+' is taken literally, not as a space.
	 * A parameter without '=' has an empty value.
	 */
	const char *query;
	const struct sigv4_header *headers;
	size_t nheaders;
	const void *payload; /* may be NULL when payload_len is 0 */
	size_t payload_len;
	/*
	 * Lower-case hex SHA-256 of the payload, or SIGV4_UNSIGNED_PAYLOAD,
	 * or NULL to hash payload here.
	 */
	const char *payload_hash;
};

enum sigv4_form {
	SIGV4_HEADER, /* Authorization header */
	SIGV4_QUERY,  /* presigned URL: X-Amz-* query parameters */
};

struct sigv4_params {
	const char *region;  /* "us-east-1" */
	const char *service; /* "ec2" */
	long long time;	     /* signing time, seconds since the epoch, UTC */
	int normalize_path; /* 1: remove dot segments and empty ones (not S3) */
	int omit_session_token; /* add the token after signing, unsigned */
	/*
	 * SIGV4_HEADER: add and sign x-amz-content-sha256 (the payload hash).
	 * Ignored for SIGV4_QUERY.
	 */
	int sign_body;
	long expires; /* SIGV4_QUERY: X-Amz-Expires, 1..SIGV4_MAX_EXPIRES */
};

/* A header that sigv4_sign() asks the caller to add; owned by the result. */
struct sigv4_header_owned {
	char *name;
	char *value;
};

/*
 * What sigv4_sign() produces.  Zero it (or use SIGV4_RESULT_INIT) before
 * the first use; sigv4_sign() releases what it held before.
 */
struct sigv4_result {
	char amz_date[SIGV4_DATE_LEN + 1]; /* YYYYMMDDTHHMMSSZ */
	/*
	 * The canonical request and string to sign, for debugging.  The
	 * canonical request holds the session token when it is signed, and a
	 * presigned query is a bearer credential: redact before logging.
	 */
	char *canonical_request;
	char *string_to_sign;
	char *signed_headers;		   /* "host;x-amz-date" */
	char signature[SIGV4_HEX_LEN + 1]; /* lower-case hex */
	char *authorization; /* SIGV4_HEADER: Authorization value, else NULL */
	/*
	 * SIGV4_QUERY: the whole signed query string (without '?'): the
	 * request's parameters and the X-Amz-* ones in canonical order,
	 * X-Amz-Security-Token after them when omit_session_token, and
	 * X-Amz-Signature last.  NULL for SIGV4_HEADER.
	 */
	char *query;
	/*
	 * Headers to add to the request, in this order, each only when the
	 * signer added it: X-Amz-Date, X-Amz-Security-Token,
	 * x-amz-content-sha256 (SIGV4_HEADER; for SIGV4_QUERY none).  The
	 * Authorization header is not in this list.  The array and its
	 * strings are one allocation: free only through
	 * sigv4_result_release().
	 */
	struct sigv4_header_owned *add_headers;
	size_t nadd_headers;
};

#define SIGV4_RESULT_INIT                                       \
	{                                                       \
		{0}, NULL, NULL, NULL, {0}, NULL, NULL, NULL, 0 \
	}

struct sigv4_signer;

/* A new signer with an empty key cache; free with sigv4_signer_free(). */
struct sigv4_signer *sigv4_signer_new(void);
/* Wipes the cached key and secret, then frees (NULL is fine). */
void sigv4_signer_free(struct sigv4_signer *s);
/* How many signing keys this signer has derived (for tests). */
unsigned long sigv4_signer_key_derivations(const struct sigv4_signer *s);

/*
 * Signs req in the given form and fills out (released first).  On failure
 * out is left released (all pointers NULL).
 */
int sigv4_sign(struct sigv4_signer *s, const struct sigv4_request *req,
	       const struct sigv4_creds *creds, const struct sigv4_params *p,
	       enum sigv4_form form, struct sigv4_result *out,
	       struct gpuctl_err *err);
/* Frees what r holds and zeroes it; safe to call twice. */
void sigv4_result_release(struct sigv4_result *r);

/* Stage 1: the canonical request, and the signed header list ("a;b"). */
int sigv4_canonical_request(const struct sigv4_request *req,
			    const struct sigv4_creds *creds,
			    const struct sigv4_params *p, enum sigv4_form form,
			    struct buf *out, struct buf *signed_headers,
			    struct gpuctl_err *err);

/*
 * Stage 2: the string to sign for a canonical request of len bytes:
 * "AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex sha256 of creq>".
 */
int sigv4_string_to_sign(const struct sigv4_params *p, const char *creq,
			 size_t len, struct buf *out, struct gpuctl_err *err);

/*
 * Stage 3a: derives the signing key for the date of p->time, p->region and
 * p->service, without any cache.  The caller wipes key when done.
 */
int sigv4_signing_key(const char *secret_access_key,
		      const struct sigv4_params *p,
		      unsigned char key[SIGV4_KEY_LEN], struct gpuctl_err *err);

/*
 * The same through the signer's cache: derives only when the secret, date,
 * region or service differ from the last call.  key is a copy (wipe it).
 */
int sigv4_signer_signing_key(struct sigv4_signer *s,
			     const char *secret_access_key,
			     const struct sigv4_params *p,
			     unsigned char key[SIGV4_KEY_LEN],
			     struct gpuctl_err *err);

/* Stage 3b: hex HMAC-SHA256 of the string to sign under key. */
int sigv4_signature(const unsigned char key[SIGV4_KEY_LEN], const char *sts,
		    size_t len, char out[SIGV4_HEX_LEN + 1],
		    struct gpuctl_err *err);

/*
 * Stage 4, header form: appends the Authorization value
 * "AWS4-HMAC-SHA256 Credential=<id>/<scope>, SignedHeaders=<list>,
 * Signature=<hex>".
 */
int sigv4_authorization(const struct sigv4_creds *creds,
			const struct sigv4_params *p,
			const char *signed_headers, const char *signature,
			struct buf *out, struct gpuctl_err *err);

/*
 * Stage 4, query form: appends the presigned query string for req (see
 * struct sigv4_result.query).  signed_headers and signature come from the
 * earlier stages run with SIGV4_QUERY.
 */
int sigv4_presigned_query(const struct sigv4_request *req,
			  const struct sigv4_creds *creds,
			  const struct sigv4_params *p,
			  const char *signed_headers, const char *signature,
			  struct buf *out, struct gpuctl_err *err);

/*
 * Helpers.  sigv4_amz_date() writes YYYYMMDDTHHMMSSZ for t (0 to the end
 * of year 9999) and returns 0, or -1 when t is out of range.
 */
int sigv4_amz_date(long long t, char out[SIGV4_DATE_LEN + 1]);

/*
 * Appends len bytes of s URI-encoded as SigV4 wants: every byte but
 * A-Z a-z 0-9 - . _ ~ becomes %XX (upper-case hex), so a space is %20 and
 * '%' is %25; '/' is kept unless encode_slash.
 */
void sigv4_uri_encode(struct buf *out, const char *s, size_t len,
		      int encode_slash);

/*
 * Appends the canonical URI for path: normalized when normalize (dot
 * segments resolved, empty segments dropped, a final '/' kept), then
 * encoded with '/' kept.
 */
int sigv4_canonical_uri(struct buf *out, const char *path, int normalize,
			struct gpuctl_err *err);

/*
 * Appends the canonical query string for query (as sent, may be NULL) plus
 * nextra raw (unencoded) name=value pairs: every pair encoded, sorted by
 * name then value, joined with '&'.
 */
int sigv4_canonical_query(struct buf *out, const char *query,
			  const struct sigv4_header *extra, size_t nextra,
			  struct gpuctl_err *err);

#endif
