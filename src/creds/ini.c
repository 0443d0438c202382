/*
 * ini: the AWS config and credentials file format, read as botocore's
 * configloader reads it (Python's configparser.RawConfigParser).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpuctl/util.h"
#include "creds_int.h"

static int is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' ||
	       c == '\n';
}

/* Moves s and e inward past the blanks at both ends removed. */
static void strip(const char **s, const char **e)
{
	while (*s < *e && is_blank((unsigned char)**s))
		(*s)++;
	while (*e > *s && is_blank((unsigned char)(*e)[-1]))
		(*e)--;
}

static struct creds_ini_section *find_section(struct creds_ini *ini,
					      const char *name)
{
	size_t i;

	if (!strcmp(name, "DEFAULT"))
		return &ini->defaults;
	for (i = 0; i < ini->nr; i++)
		if (!strcmp(ini->sections[i].name, name))
			return &ini->sections[i];
	return NULL;
}

static struct creds_ini_section *add_section(struct creds_ini *ini,
					     const char *name)
{
	struct creds_ini_section *s = find_section(ini, name);

	if (s)
		return s;
	if (ini->nr == ini->alloc) {
		ini->alloc = ini->alloc ? 2 * ini->alloc : 8;
		ini->sections = xrealloc(ini->sections,
					 ini->alloc * sizeof(*ini->sections));
	}
	s = &ini->sections[ini->nr++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	return s;
}

/* Sets key (replacing a value given earlier); returns the entry. */
static struct creds_ini_entry *set_entry(struct creds_ini_section *s,
					 const char *key, const char *value)
{
	struct creds_ini_entry *e;
	size_t i;

	for (i = 0; i < s->nr; i++) {
		if (!strcmp(s->entries[i].key, key)) {
			e = &s->entries[i];
			secure_free_str(e->value);
			e->value = xstrdup(value);
			return e;
		}
	}
	if (s->nr == s->alloc) {
		s->alloc = s->alloc ? 2 * s->alloc : 8;
		s->entries =
		    xrealloc(s->entries, s->alloc * sizeof(*s->entries));
	}
	e = &s->entries[s->nr++];
	e->key = xstrdup(key);
	e->value = xstrdup(value);
	return e;
}

/* Appends blanks + 1 newlines and then the text [s, e) to ent's value. */
static void append_value(struct creds_ini_entry *ent, size_t blanks,
			 const char *s, const char *e)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_adds(&b, ent->value);
	for (i = 0; i <= blanks; i++)
		buf_addch(&b, '\n');
	buf_add(&b, s, (size_t)(e - s));
	secure_free_str(ent->value);
	ent->value = buf_detach(&b, NULL);
}

static void release_section(struct creds_ini_section *s)
{
	size_t i;

	for (i = 0; i < s->nr; i++) {
		free(s->entries[i].key);
		secure_free_str(s->entries[i].value);
	}
	free(s->entries);
	free(s->name);
	memset(s, 0, sizeof(*s));
}

void creds_ini_release(struct creds_ini *ini)
{
	size_t i;

	for (i = 0; i < ini->nr; i++)
		release_section(&ini->sections[i]);
	free(ini->sections);
	release_section(&ini->defaults);
	free(ini->path);
	memset(ini, 0, sizeof(*ini));
}

int creds_ini_parse(struct creds_ini *ini, const char *name, const char *text,
		    size_t len, struct gpuctl_err *err)
{
	const char *p = text, *end = text + len;
	struct creds_ini_section *cur = NULL;
	struct creds_ini_entry *opt = NULL;
	size_t indent_level = 0, blanks = 0;
	unsigned lineno = 0;
	char *tmp;

	while (p < end) {
		const char *ls = p, *le, *s, *e, *q;
		size_t indent;

		while (p < end && *p != '\n' && *p != '\r')
			p++;
		le = p;
		if (p < end && *p == '\r') {
			p++;
			if (p < end && *p == '\n')
				p++;
		} else if (p < end) {
			p++;
		}
		lineno++;

		s = ls;
		e = le;
		strip(&s, &e);
		if (s < e && (*s == '#' || *s == ';'))
			continue; /* a comment, even inside a value */
		if (s == e) {
			if (opt)
				blanks++;
			continue;
		}
		if (memchr(s, '\0', (size_t)(e - s)))
			return err_set(err, GPUCTL_ERR_CONFIG,
				       "could not parse %s line %u: NUL byte",
				       name, lineno);
		indent = (size_t)(s - ls);
		if (cur && opt && indent > indent_level) {
			append_value(opt, blanks, s, e);
			blanks = 0;
			continue;
		}
		indent_level = indent;
		blanks = 0;
		if (*s == '[') {
			q = e;
			while (q > s && q[-1] != ']')
				q--;
			if (q - s < 3)
				return err_set(err, GPUCTL_ERR_CONFIG,
					       "could not parse %s line %u: "
					       "bad section header",
					       name, lineno);
			tmp = xstrndup(s + 1, (size_t)(q - 1 - (s + 1)));
			cur = add_section(ini, tmp);
			free(tmp);
			opt = NULL;
			continue;
		}
		if (!cur)
			return err_set(err, GPUCTL_ERR_CONFIG,
				       "could not parse %s line %u: "
				       "a setting before the first [section]",
				       name, lineno);
		for (q = s; q < e && *q != '=' && *q != ':'; q++)
			;
		if (q == e)
			return err_set(err, GPUCTL_ERR_CONFIG,
				       "could not parse %s line %u: "
				       "expected \"key = value\"",
				       name, lineno);
		{
			const char *ks = s, *ke = q, *vs = q + 1, *ve = e;
			char *key, *val;
			size_t i;

			strip(&ks, &ke);
			strip(&vs, &ve);
			if (ks == ke)
				return err_set(err, GPUCTL_ERR_CONFIG,
					       "could not parse %s line %u: "
					       "empty key",
					       name, lineno);
			key = xstrndup(ks, (size_t)(ke - ks));
			for (i = 0; key[i]; i++)
				key[i] = (char)tolower((unsigned char)key[i]);
			val = xstrndup(vs, (size_t)(ve - vs));
			opt = set_entry(cur, key, val);
			free(key);
			secure_free_str(val);
		}
	}
	return 0;
}

int creds_ini_load(struct creds_ini *ini, const char *path,
		   struct gpuctl_err *err)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	struct stat st;
	ssize_t n;
	int fd = -1, rc = -1;

	if (!path)
		return 0;
	ini->path = xstrdup(path);
	if (stat(path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return err_set(err, GPUCTL_ERR_CONFIG, "could not read %s: %s",
			       path, strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return 0; /* as botocore: only a regular file counts */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err_set(err, GPUCTL_ERR_CONFIG, "could not read %s: %s", path,
			strerror(errno));
		goto out;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set(err, GPUCTL_ERR_CONFIG, "could not read %s: %s",
				path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		buf_add(&b, chunk, (size_t)n);
	}
	ini->exists = 1;
	ini->mode = (unsigned)(st.st_mode & 07777);
	if (creds_ini_parse(ini, path, b.data, b.len, err) < 0)
		goto out;
	rc = 0;
out:
	explicit_bzero(chunk, sizeof(chunk));
	buf_release_secret(&b);
	if (fd >= 0)
		close(fd);
	return rc;
}

const struct creds_ini_section *creds_ini_section(const struct creds_ini *ini,
						  const char *name)
{
	size_t i;

	for (i = 0; i < ini->nr; i++)
		if (!strcmp(ini->sections[i].name, name))
			return &ini->sections[i];
	return NULL;
}

const char *creds_ini_section_get(const struct creds_ini_section *s,
				  const char *key)
{
	size_t i;

	for (i = 0; i < s->nr; i++)
		if (!strcmp(s->entries[i].key, key))
			return s->entries[i].value;
	return NULL;
}

const char *creds_ini_get(const struct creds_ini *ini,
			  const struct creds_ini_section *sect, const char *key)
{
	const char *v;

	if (!sect)
		return NULL;
	v = creds_ini_section_get(sect, key);
	if (!v)
		v = creds_ini_section_get(&ini->defaults, key);
	return v;
}

char *creds_ini_subvalue(const char *block, const char *key)
{
	const char *p = block, *ls, *le, *eq;

	while (*p) {
		ls = p;
		while (*p && *p != '\n')
			p++;
		le = p;
		if (*p)
			p++;
		eq = memchr(ls, '=', (size_t)(le - ls));
		if (!eq)
			continue;
		{
			const char *ks = ls, *ke = eq, *vs = eq + 1, *ve = le;

			strip(&ks, &ke);
			strip(&vs, &ve);
			if ((size_t)(ke - ks) == strlen(key) &&
			    !memcmp(ks, key, (size_t)(ke - ks)))
				return xstrndup(vs, (size_t)(ve - vs));
		}
	}
	return NULL;
}
