/*
 * cache: the AWS CLI's credential cache, $HOME/.aws/cli/cache/KEY.json,
 * shared with the AWS CLI v2.  KEY is botocore's: the SHA-1 of the call's
 * arguments as Python's json.dumps(args, sort_keys=True) writes them
 * (BaseAssumeRoleCredentialFetcher._create_cache_key, with separators
 * (',', ':') for SSOCredentialFetcher's), so the writer of each byte
 * matters: jansson escapes differently (upper-case hex, DEL kept), hence
 * the small writer here.  Also the bounded reader of secret files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "gpuctl/creds.h"
#include "gpuctl/log.h"
#include "gpuctl/util.h"
#include "creds_int.h"

/* botocore's CachedCredentialFetcher.DEFAULT_EXPIRY_WINDOW_SECONDS */
#define CACHE_WINDOW (15 * 60)
#define CACHE_MAX    (256 * 1024)

char *creds_aws_dir(const struct creds_ctx *c, const char *sub)
{
	char *home = env_home(c->in->envp), *dir;

	if (!home)
		return NULL;
	dir = xasprintf("%s/.aws/%s", home, sub);
	free(home);
	return dir;
}

/* The next code point of UTF-8 s (advanced); a stray byte b is U+DC00+b,
 * as Python's surrogateescape reads it. */
static unsigned long next_cp(const unsigned char **s)
{
	const unsigned char *p = *s;
	unsigned long cp;
	int n, i;

	if (p[0] < 0x80) {
		*s = p + 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0) {
		n = 1;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 2;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 3;
		cp = p[0] & 0x07;
	} else {
		goto stray;
	}
	for (i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			goto stray;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
	    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		goto stray;
	*s = p + n + 1;
	return cp;
stray:
	*s = p + 1;
	return 0xdc00 + p[0];
}

/* A string as json.dumps(ensure_ascii=True) writes it. */
static void py_str(struct buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned long cp;

	buf_addch(b, '"');
	while (*s) {
		cp = next_cp(&s);
		switch (cp) {
		case '"':
			buf_adds(b, "\\\"");
			break;
		case '\\':
			buf_adds(b, "\\\\");
			break;
		case '\n':
			buf_adds(b, "\\n");
			break;
		case '\r':
			buf_adds(b, "\\r");
			break;
		case '\t':
			buf_adds(b, "\\t");
			break;
		case '\b':
			buf_adds(b, "\\b");
			break;
		case '\f':
			buf_adds(b, "\\f");
			break;
		default:
			if (cp >= 0x20 && cp <= 0x7e) {
				buf_addch(b, (char)cp);
			} else if (cp < 0x10000) {
				buf_addf(b, "\\u%04lx", cp);
			} else {
				cp -= 0x10000;
				buf_addf(b, "\\u%04lx\\u%04lx",
					 0xd800 | (cp >> 10),
					 0xdc00 | (cp & 0x3ff));
			}
		}
	}
	buf_addch(b, '"');
}

void creds_py_json(struct buf *out, const struct creds_key_arg *args, size_t n,
		   int compact)
{
	const struct creds_key_arg **sorted, *t;
	size_t i, j;

	/* sort_keys: by code point, which strcmp gives for UTF-8 */
	sorted = xcalloc(n ? n : 1, sizeof(*sorted));
	for (i = 0; i < n; i++)
		sorted[i] = &args[i];
	for (i = 1; i < n; i++)
		for (j = i;
		     j > 0 && strcmp(sorted[j - 1]->name, sorted[j]->name) > 0;
		     j--) {
			t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	buf_addch(out, '{');
	for (i = 0; i < n; i++) {
		if (i)
			buf_adds(out, compact ? "," : ", ");
		py_str(out, sorted[i]->name);
		buf_adds(out, compact ? ":" : ": ");
		if (sorted[i]->str)
			py_str(out, sorted[i]->str);
		else
			buf_addf(out, "%lld", sorted[i]->num);
	}
	buf_addch(out, '}');
	free(sorted);
}

static char *sha1_hex(const void *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char *hex;

	if (!EVP_Digest(data, len, md, &n, EVP_sha1(), NULL))
		abort(); /* no SHA-1 in libcrypto: nothing sensible left */
	hex = xmalloc(2 * n + 1);
	hex_encode(md, n, hex);
	return hex;
}

char *creds_sha1_hex(const char *s)
{
	return sha1_hex(s, strlen(s));
}

char *creds_cache_key(const struct creds_key_arg *args, size_t n, int compact)
{
	struct buf b = BUF_INIT;
	char *key;

	creds_py_json(&b, args, n, compact);
	key = sha1_hex(b.data, b.len);
	buf_release_secret(&b);
	/* botocore's _make_file_safe() has nothing to do for hex */
	return key;
}

int creds_read_secret_file(const char *path, size_t max, const char *what,
			   struct buf *out, struct gpuctl_err *err)
{
	struct stat st;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err_set(err, GPUCTL_ERR_CONFIG, "cannot read %s %.300s: %s",
			what, path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"%s %.300s is not a regular file of at most %zu bytes",
			what, path, max);
		goto fail;
	}
	/* one allocation, so no copy of the secret is left behind */
	buf_grow(out, max + 1);
	do {
		r = read(fd, out->data + out->len, max + 1 - out->len);
		if (r > 0)
			out->len += (size_t)r;
	} while ((r > 0 && out->len <= max) || (r < 0 && errno == EINTR));
	out->data[out->len] = '\0';
	if (r < 0 || out->len > max || memchr(out->data, '\0', out->len)) {
		err_set(err, GPUCTL_ERR_CONFIG, "cannot read %s %.300s: %s",
			what, path,
			r < 0 ? strerror(errno)
			      : "binary, or larger than it should be");
		buf_release_secret(out);
		goto fail;
	}
	close(fd);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* A string member of o, or NULL. */
static const char *member(json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

/* Reads the entry at path (ours, a regular file, not too big) into b. */
static int read_entry(const char *path, struct buf *b)
{
	struct stat st;
	int fd, rc = -1;
	ssize_t r;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 022) ||
	    st.st_size > CACHE_MAX) {
		log_debug("ignoring %s: not a private file of this user", path);
		goto out;
	}
	buf_grow(b, (size_t)st.st_size + 1);
	do {
		r = read(fd, b->data + b->len, b->alloc - b->len - 1);
		if (r > 0)
			b->len += (size_t)r;
	} while ((r > 0 && b->len + 1 < b->alloc) || (r < 0 && errno == EINTR));
	b->data[b->len] = '\0';
	rc = r < 0 ? -1 : 0;
out:
	close(fd);
	return rc;
}

int creds_cache_load(const struct creds_ctx *c, const char *key,
		     struct creds_config *out, const char *source)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct buf b = BUF_INIT;
	json_t *doc = NULL, *cr;
	char *dir = NULL, *path = NULL, *src = NULL;
	const char *exp;
	long long when;
	int rc = 0;

	if (c->force)
		return 0;
	dir = creds_aws_dir(c, "cli/cache");
	if (!dir)
		return 0;
	path = xasprintf("%s/%s.json", dir, key);
	if (read_entry(path, &b) < 0)
		goto out;
	doc = json_loadb(b.data, b.len, 0, NULL);
	cr = json_object_get(doc, "Credentials");
	exp = member(cr, "Expiration");
	if (!exp || creds_parse_time(exp, &when) < 0) {
		log_debug("ignoring %s: no credentials with an expiration",
			  path);
		goto out;
	}
	if (when - c->now < CACHE_WINDOW) {
		log_debug("%s: the cached credentials expire within 15 "
			  "minutes",
			  path);
		goto out;
	}
	src = xasprintf("%s (from the AWS CLI's cache)", source);
	if (creds_take_keys(c, path, member(cr, "AccessKeyId"),
			    member(cr, "SecretAccessKey"),
			    member(cr, "SessionToken"), exp, out, src,
			    &err) < 0) {
		log_debug("ignoring %s: %s", path, err.message);
		goto out;
	}
	log_debug("credentials from %s", path);
	rc = 1;
out:
	err_clear(&err);
	json_decref(doc);
	buf_release_secret(&b);
	free(dir);
	free(path);
	free(src);
	return rc;
}

/* mkdir -p of $HOME/.aws/cli/cache, new folders 0700. */
static int make_dirs(const char *dir)
{
	char *p = xstrdup(dir), *s;
	int rc = 0;

	for (s = strchr(p + 1, '/'); rc == 0; s = strchr(s + 1, '/')) {
		if (s)
			*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			rc = -1;
		if (!s)
			break;
		*s = '/';
	}
	free(p);
	return rc;
}

static int write_all(int fd, const char *data, size_t len)
{
	ssize_t w;

	while (len) {
		w = write(fd, data, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

void creds_cache_store(const struct creds_ctx *c, const char *key,
		       const char *provider_type,
		       const struct creds_sts_result *r)
{
	json_t *root = json_object(), *cr = json_object(), *user;
	char *dir = NULL, *tmp = NULL, *path = NULL, *text = NULL;
	char when[32];
	long long t = 0;
	struct tm tm;
	time_t tt;
	int fd = -1, closed;

	if (creds_parse_time(r->expiration, &t) < 0)
		goto out;
	tt = (time_t)t;
	gmtime_r(&tt, &tm);
	/* as botocore writes it: SSO's format, or datetime.isoformat() */
	strftime(when, sizeof(when),
		 provider_type ? "%Y-%m-%dT%H:%M:%SZ"
			       : "%Y-%m-%dT%H:%M:%S+00:00",
		 &tm);
	if (provider_type)
		json_object_set_new(root, "ProviderType",
				    json_string(provider_type));
	json_object_set_new(cr, "AccessKeyId", json_string(r->access_key_id));
	json_object_set_new(cr, "SecretAccessKey",
			    json_string(r->secret_access_key));
	json_object_set_new(cr, "SessionToken", json_string(r->session_token));
	json_object_set_new(cr, "Expiration", json_string(when));
	json_object_set(root, "Credentials", cr);
	if (r->arn) {
		user = json_object();
		if (r->assumed_role_id)
			json_object_set_new(user, "AssumedRoleId",
					    json_string(r->assumed_role_id));
		json_object_set_new(user, "Arn", json_string(r->arn));
		json_object_set_new(root, "AssumedRoleUser", user);
	}
	text = json_dumps(root, JSON_PRESERVE_ORDER);
	dir = creds_aws_dir(c, "cli/cache");
	if (!text || !dir || make_dirs(dir) < 0)
		goto fail;
	path = xasprintf("%s/%s.json", dir, key);
	tmp = xasprintf("%s.XXXXXX", path);
	fd = mkstemp(tmp); /* 0600 from the start */
	if (fd < 0)
		goto fail;
	if (fchmod(fd, 0600) < 0 || write_all(fd, text, strlen(text)) < 0 ||
	    fsync(fd) < 0) {
		close(fd);
		fd = -1;
		unlink(tmp);
		goto fail;
	}
	closed = close(fd);
	fd = -1;
	if (closed < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		goto fail;
	}
	log_debug("cached the credentials in %s", path);
	goto out;
fail:
	log_debug("could not write the AWS CLI's cache %s: %s",
		  dir ? dir : "(no home)", strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	json_decref(cr);
	json_decref(root);
	if (text)
		secure_free_str(text);
	free(dir);
	free(tmp);
	free(path);
}
