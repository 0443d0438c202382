/*
 * Host keys: gpuctl's known_hosts (OpenSSH format), the check of a
 * session's key under the policy, pinned fingerprints from the console.
 *
 * Our own parser rather than libssh2_knownhost_*: it must say which line
 * holds the old key, keep comments and unknown lines as they are, and
 * survive any corrupt line.
 */
#include "ssh_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "gpuctl/log.h"

#define MAX_BLOB 16384

/* base64 without padding, NUL-terminated into out (4*ceil(n/3)+1). */
static void b64_encode(const unsigned char *in, size_t n, char *out,
		       int padding)
{
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);

	if (!padding)
		while (len > 0 && out[len - 1] == '=')
			out[--len] = '\0';
}

/* Decodes base64 (with padding) of s[0..n); returns the length or -1. */
static int b64_decode(const char *s, size_t n, unsigned char *out, size_t outsz)
{
	int len, pad = 0;

	if (n == 0 || n % 4 || n / 4 * 3 > outsz)
		return -1;
	if (s[n - 1] == '=')
		pad++;
	if (n > 1 && s[n - 2] == '=')
		pad++;
	len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (len < 0)
		return -1;
	return len - pad;
}

void ssh_fingerprint_format(const unsigned char sha256[32], char out[64])
{
	char b64[48];

	b64_encode(sha256, 32, b64, 0);
	snprintf(out, 64, "SHA256:%s", b64);
}

/* The type name a key blob starts with, into type (size n). */
static int blob_type(const unsigned char *blob, size_t len, char *type,
		     size_t n)
{
	size_t tl;

	if (len < 4)
		return -1;
	tl = (size_t)blob[0] << 24 | (size_t)blob[1] << 16 |
	     (size_t)blob[2] << 8 | blob[3];
	if (tl == 0 || tl >= n || tl > len - 4)
		return -1;
	memcpy(type, blob + 4, tl);
	type[tl] = '\0';
	return 0;
}

/* "host" for port 22, else "[host]:port". */
static char *host_name(const char *host, int port)
{
	if (port <= 0 || port == 22)
		return xstrdup(host);
	return xasprintf("[%s]:%d", host, port);
}

/* A "|1|salt|hash" entry against name. */
static int hashed_match(const char *pat, size_t plen, const char *name)
{
	unsigned char salt[64], hash[64], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	const char *bar;
	int sl, hl;

	if (plen < 3 || memcmp(pat, "|1|", 3))
		return 0;
	pat += 3;
	plen -= 3;
	bar = memchr(pat, '|', plen);
	if (!bar)
		return 0;
	sl = b64_decode(pat, (size_t)(bar - pat), salt, sizeof(salt));
	hl = b64_decode(bar + 1, plen - (size_t)(bar - pat) - 1, hash,
			sizeof(hash));
	if (sl != 20 || hl != 20)
		return 0;
	if (!HMAC(EVP_sha1(), salt, sl, (const unsigned char *)name,
		  strlen(name), mac, &maclen))
		return 0;
	return maclen == 20 && !memcmp(mac, hash, 20);
}

/*
 * OpenSSH's match_pattern(): '*' and '?' only ('[' is literal), no case;
 * the one-star backtracking keeps it linear whatever the pattern.
 */
static int wild_match(const char *s, const char *p)
{
	const char *star = NULL, *mark = NULL;

	while (*s) {
		if (*p == '*') {
			star = ++p;
			mark = s;
		} else if (*p &&
			   (*p == '?' || tolower((unsigned char)*p) ==
					     tolower((unsigned char)*s))) {
			p++;
			s++;
		} else if (star) {
			p = star;
			s = ++mark;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return !*p;
}

/* OpenSSH's host pattern list: "a,b,!c", wildcards, hashed entries. */
static int hosts_match(const char *pats, size_t plen, const char *name)
{
	char pat[512];
	const char *p = pats, *end = pats + plen, *comma;
	size_t n;
	int neg, found = 0;

	if (plen >= 3 && !memcmp(pats, "|1|", 3))
		return hashed_match(pats, plen, name);
	while (p < end) {
		comma = memchr(p, ',', (size_t)(end - p));
		if (!comma)
			comma = end;
		n = (size_t)(comma - p);
		neg = n > 0 && *p == '!';
		if (neg) {
			p++;
			n--;
		}
		if (n > 0 && n < sizeof(pat)) {
			memcpy(pat, p, n);
			pat[n] = '\0';
			if (wild_match(name, pat)) {
				if (neg)
					return 0;
				found = 1;
			}
		}
		p = comma + 1;
	}
	return found;
}

/* A line cut in fields (pointers into the line, not NUL-terminated). */
struct kh_line {
	const char *marker, *hosts, *type, *key;
	size_t marker_len, hosts_len, type_len, key_len;
};

static const char *field(const char **pp, const char *end, size_t *len)
{
	const char *p = *pp, *start;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	start = p;
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	*len = (size_t)(p - start);
	*pp = p;
	return *len ? start : NULL;
}

/* 0 when the line is an entry, -1 for comments, blanks and junk. */
static int parse_line(const char *s, size_t n, struct kh_line *l)
{
	const char *p = s, *end = s + n;

	while (end > p && (end[-1] == '\r' || end[-1] == ' '))
		end--;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p == '#')
		return -1;
	memset(l, 0, sizeof(*l));
	if (*p == '@') {
		l->marker = field(&p, end, &l->marker_len);
		if (!l->marker)
			return -1;
	}
	l->hosts = field(&p, end, &l->hosts_len);
	l->type = field(&p, end, &l->type_len);
	l->key = field(&p, end, &l->key_len);
	if (!l->hosts || !l->type || !l->key)
		return -1;
	return 0;
}

/* 1 when the entry's key is blob. */
static int key_equal(const struct kh_line *l, const unsigned char *blob,
		     size_t len)
{
	unsigned char *dec;
	int n, eq;

	if (l->key_len > MAX_BLOB)
		return 0;
	dec = xmalloc(l->key_len);
	n = b64_decode(l->key, l->key_len, dec, l->key_len);
	eq = n >= 0 && (size_t)n == len && !memcmp(dec, blob, len);
	free(dec);
	return eq;
}

static int read_known(const char *file, struct buf *b, int *missing,
		      struct gpuctl_err *err)
{
	*missing = 0;
	if (read_file(file, b) == 0)
		return 0;
	if (errno == ENOENT) {
		*missing = 1;
		return 0;
	}
	err_set(err, GPUCTL_ERR_IO, "cannot read '%.200s': %s", file,
		strerror(errno));
	return -1;
}

int ssh_int_known_hosts_scan(const char *text, size_t tlen, const char *host,
			     int port, const unsigned char *blob, size_t len,
			     int *line, struct gpuctl_err *err)
{
	struct kh_line l;
	char type[64];
	char *name = NULL;
	const char *p, *nl, *end;
	int r, rc = -1, lineno = 0, same_type = 0, other = 0;

	*line = 0;
	if (blob_type(blob, len, type, sizeof(type)) < 0) {
		err_set(err, GPUCTL_ERR_SSH,
			"the server's host key is malformed");
		return -1;
	}
	name = host_name(host, port);
	p = text;
	end = text + tlen;
	rc = SSH_KNOWN_NEW;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		lineno++;
		r = parse_line(p, (size_t)(nl - p), &l);
		p = nl + 1;
		if (r < 0 || !hosts_match(l.hosts, l.hosts_len, name))
			continue;
		if (l.marker && l.marker_len == 8 &&
		    !memcmp(l.marker, "@revoked", 8)) {
			if (key_equal(&l, blob, len)) {
				*line = lineno;
				rc = SSH_KNOWN_CHANGED;
				goto out;
			}
			continue;
		}
		if (l.marker)
			continue; /* @cert-authority: we do not use certs */
		if (key_equal(&l, blob, len)) {
			if (rc != SSH_KNOWN_MATCH)
				*line = lineno;
			rc = SSH_KNOWN_MATCH;
			continue;
		}
		if (l.type_len == strlen(type) &&
		    !memcmp(l.type, type, l.type_len)) {
			if (!same_type)
				same_type = lineno;
		} else if (!other) {
			other = lineno;
		}
	}
	if (rc == SSH_KNOWN_MATCH)
		goto out;
	/*
	 * Entries for the host, none with this key: changed.  A key of
	 * another type counts too, so that a man in the middle cannot get a
	 * new type trusted on first use; set_prefs() asks the server for the
	 * known types first.
	 */
	if (same_type || other) {
		*line = same_type ? same_type : other;
		rc = SSH_KNOWN_CHANGED;
	}
out:
	free(name);
	return rc;
}

int ssh_known_hosts_check(const char *file, const char *host, int port,
			  const unsigned char *blob, size_t len, int *line,
			  struct gpuctl_err *err)
{
	struct buf b = BUF_INIT;
	char type[64];
	int r, missing;

	*line = 0;
	if (blob_type(blob, len, type, sizeof(type)) < 0) {
		err_set(err, GPUCTL_ERR_SSH,
			"the server's host key is malformed");
		return -1;
	}
	if (read_known(file, &b, &missing, err) < 0)
		return -1;
	r = ssh_int_known_hosts_scan(b.data, b.len, host, port, blob, len, line,
				     err);
	buf_release(&b);
	return r;
}

char *ssh_int_known_types_scan(const char *text, size_t tlen, const char *host,
			       int port)
{
	struct buf types = BUF_INIT;
	struct kh_line l;
	char *name, *t;
	const char *p, *nl, *end;

	name = host_name(host, port);
	p = text;
	end = text + tlen;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (parse_line(p, (size_t)(nl - p), &l) == 0 && !l.marker &&
		    hosts_match(l.hosts, l.hosts_len, name) &&
		    l.type_len < 64) {
			t = xstrndup(l.type, l.type_len);
			if (!strstr(types.data, t))
				buf_addf(&types, "%s%s", types.len ? "," : "",
					 t);
			free(t);
		}
		p = nl + 1;
	}
	free(name);
	return buf_detach(&types, NULL);
}

char *ssh_int_known_types(const char *file, const char *host, int port)
{
	struct buf b = BUF_INIT;
	char *types;

	if (read_file(file, &b) < 0)
		return xstrdup("");
	types = ssh_int_known_types_scan(b.data, b.len, host, port);
	buf_release(&b);
	return types;
}

/* mkdir -p with mode 0700 for the folders it creates. */
static int make_dirs(const char *dir)
{
	char *d = xstrdup(dir), *p;
	int r = 0;

	for (p = d + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(d, 0700) < 0 && errno != EEXIST)
			r = -1;
		*p = '/';
	}
	if (r == 0 && mkdir(d, 0700) < 0 && errno != EEXIST)
		r = -1;
	free(d);
	return r;
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int ssh_known_hosts_add(const char *file, const char *host, int port,
			const unsigned char *blob, size_t len, int replace_line,
			struct gpuctl_err *err)
{
	struct buf b = BUF_INIT, out = BUF_INIT;
	char type[64], *b64 = NULL, *name = NULL, *dir = NULL, *tmp = NULL;
	char *slash;
	const char *p, *nl, *end;
	int r, rc = -1, fd = -1, lineno = 0, missing, done = 0;

	if (blob_type(blob, len, type, sizeof(type)) < 0) {
		err_set(err, GPUCTL_ERR_SSH,
			"the server's host key is malformed");
		return -1;
	}
	r = read_known(file, &b, &missing, err);
	if (r < 0)
		goto out;
	dir = xstrdup(file);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		r = make_dirs(dir);
		if (r < 0) {
			err_set(err, GPUCTL_ERR_IO,
				"cannot create '%.200s': %s", dir,
				strerror(errno));
			goto out;
		}
	}
	b64 = xmalloc(len / 3 * 4 + 8);
	b64_encode(blob, len, b64, 1);
	name = host_name(host, port);

	p = b.data;
	end = b.data + b.len;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		lineno++;
		if (lineno == replace_line) {
			buf_addf(&out, "%s %s %s\n", name, type, b64);
			done = 1;
		} else {
			buf_add(&out, p, (size_t)(nl - p));
			buf_addch(&out, '\n');
		}
		p = nl + 1;
	}
	if (!done)
		buf_addf(&out, "%s %s %s\n", name, type, b64);

	tmp = xasprintf("%s.XXXXXX", file);
	fd = mkstemp(tmp);
	if (fd < 0) {
		err_set(err, GPUCTL_ERR_IO, "cannot create '%.200s': %s", tmp,
			strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	r = fchmod(fd, 0600);
	if (r == 0)
		r = write_all(fd, out.data, out.len);
	if (r == 0)
		r = fsync(fd);
	if (r < 0) {
		err_set(err, GPUCTL_ERR_IO, "cannot write '%.200s': %s", tmp,
			strerror(errno));
		goto out;
	}
	r = close(fd);
	fd = -1;
	if (r < 0) {
		err_set(err, GPUCTL_ERR_IO, "cannot write '%.200s': %s", tmp,
			strerror(errno));
		goto out;
	}
	r = rename(tmp, file);
	if (r < 0) {
		err_set(err, GPUCTL_ERR_IO,
			"cannot rename '%.200s' to '%.200s': %s", tmp, file,
			strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(b64);
	free(name);
	free(dir);
	buf_release(&b);
	buf_release(&out);
	return rc;
}

static int pinned_match(const char *const *pinned, const char *fp)
{
	size_t i;

	for (i = 0; pinned && pinned[i]; i++)
		if (!strcmp(pinned[i], fp))
			return 1;
	return 0;
}

int ssh_int_check_hostkey(struct ssh_session *ss, const struct ssh_target *t,
			  struct ssh_hostkey_info *info, struct gpuctl_err *err)
{
	struct ssh_hostkey_info local;
	const unsigned char *key, *hash;
	size_t len = 0;
	int type = 0, r, line = 0, known;
	char *name = NULL;

	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	key =
	    (const unsigned char *)libssh2_session_hostkey(ss->s, &len, &type);
	hash = (const unsigned char *)libssh2_hostkey_hash(
	    ss->s, LIBSSH2_HOSTKEY_HASH_SHA256);
	if (!key || !hash ||
	    blob_type(key, len, info->type, sizeof(info->type)) < 0) {
		err_set(err, GPUCTL_ERR_SSH, "%.200s sent no usable host key",
			ss->host);
		return -1;
	}
	ssh_fingerprint_format(hash, info->fingerprint);
	if (!t->known_hosts) {
		err_set(err, GPUCTL_ERR_SSH,
			"no known_hosts file to check "
			"the host key against");
		return -1;
	}
	known = ssh_known_hosts_check(t->known_hosts, ss->host, ss->port, key,
				      len, &line, err);
	if (known < 0)
		return -1;
	name = host_name(ss->host, ss->port);
	if (known == SSH_KNOWN_MATCH) {
		r = 0;
		goto out;
	}
	r = -1;
	if (known == SSH_KNOWN_CHANGED) {
		int confirmed = t->new_instance &&
				t->policy != SSH_HOSTKEY_STRICT &&
				pinned_match(t->pinned, info->fingerprint);

		if (t->policy == SSH_HOSTKEY_ACCEPT_NEW || confirmed) {
			r = ssh_known_hosts_add(t->known_hosts, ss->host,
						ss->port, key, len, line, err);
			if (r < 0)
				goto out;
			log_warn("replaced the host key of "
				 "%.200s (%s %s) in %.200s line %d%s",
				 name, info->type, info->fingerprint,
				 t->known_hosts, line,
				 confirmed ? ": the address now belongs to a "
					     "new instance whose console "
					     "output shows this key"
					   : "");
			info->was_new = 1;
			info->was_pinned = confirmed;
			goto out;
		}
		err_set(err, GPUCTL_ERR_SSH,
			"host key for %.200s has changed (now %s %s): the "
			"old key is in %.200s line %d; someone may be doing "
			"something nasty (a man in the middle), or the host "
			"was rebuilt",
			name, info->type, info->fingerprint, t->known_hosts,
			line);
		err_hint(err, "if the instance was replaced, run again with "
			      "--accept-new-hostkey");
		goto out;
	}
	/* New. */
	if (t->policy == SSH_HOSTKEY_STRICT) {
		err_set(err, GPUCTL_ERR_SSH,
			"no host key known for %.200s in %.200s (%s %s)", name,
			t->known_hosts, info->type, info->fingerprint);
		goto out;
	}
	if (t->pinned && t->pinned[0]) {
		if (!pinned_match(t->pinned, info->fingerprint)) {
			err_set(err, GPUCTL_ERR_SSH,
				"host key of %.200s (%s %s) matches none of "
				"the fingerprints in the console output: "
				"possible man in the middle",
				name, info->type, info->fingerprint);
			goto out;
		}
		info->was_pinned = 1;
	}
	r = ssh_known_hosts_add(t->known_hosts, ss->host, ss->port, key, len, 0,
				err);
	if (r < 0)
		goto out;
	info->was_new = 1;
	if (!info->was_pinned)
		log_warn("permanently added %.200s (%s %s) "
			 "to %.200s",
			 name, info->type, info->fingerprint, t->known_hosts);
out:
	free(name);
	return r;
}

/* Appends "SHA256:xxx" found in the line [p, end) to v. */
static void console_line(const char *p, const char *end, char ***v, size_t *n)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *s, *q;
	char *fp;
	size_t i;

	for (s = p; s + 7 <= end; s++) {
		if (memcmp(s, "SHA256:", 7))
			continue;
		q = s + 7;
		while (q < end && *q && strchr(b64, *q))
			q++;
		if (q - (s + 7) != 43)
			return;
		fp = xstrndup(s, (size_t)(q - s));
		for (i = 0; i < *n; i++) {
			if (!strcmp((*v)[i], fp)) {
				free(fp);
				return;
			}
		}
		*v = xrealloc(*v, (*n + 2) * sizeof(**v));
		(*v)[(*n)++] = fp;
		(*v)[*n] = NULL;
		return;
	}
}

static int contains(const char *p, size_t n, const char *needle)
{
	size_t nl = strlen(needle), i;

	for (i = 0; i + nl <= n; i++)
		if (!memcmp(p + i, needle, nl))
			return 1;
	return 0;
}

char **ssh_console_fingerprints(const char *console, size_t len)
{
	static const char begin[] = "-----BEGIN SSH HOST KEY FINGERPRINTS-----";
	static const char endm[] = "-----END SSH HOST KEY FINGERPRINTS-----";
	const char *p = console, *end = console + len, *nl;
	char **v = xcalloc(1, sizeof(*v));
	size_t n = 0, ll;
	int in = 0;

	while (console && p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		ll = (size_t)(nl - p);
		if (contains(p, ll, begin))
			in = 1;
		else if (contains(p, ll, endm))
			in = 0;
		else if (in)
			console_line(p, nl, &v, &n);
		p = nl + 1;
	}
	return v;
}

void ssh_strv_free(char **v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}
