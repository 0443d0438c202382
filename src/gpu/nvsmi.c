/*
 * Parsers for nvidia-smi's CSV query output and its -L list: GPU
 * knowledge, pure (no I/O), used by the GPU check of `gpuctl test`.
 */
#include "gpuctl/nvsmi.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpuctl/util.h"

#define NVSMI_MAX_FIELDS 64
#define NVSMI_MAX_GPUS	 1024

enum nvsmi_col {
	COL_UNKNOWN = 0,
	COL_INDEX,
	COL_NAME,
	COL_UUID,
	COL_DRIVER,
	COL_MEM_TOTAL,
	COL_MEM_USED,
	COL_UTIL,
	COL_TEMP,
	COL_POWER,
	COL_PSTATE,
};

static const struct {
	const char *name;
	enum nvsmi_col col;
} nvsmi_cols[] = {
    {"index", COL_INDEX},
    {"name", COL_NAME},
    {"uuid", COL_UUID},
    {"driver_version", COL_DRIVER},
    {"memory.total", COL_MEM_TOTAL},
    {"memory.used", COL_MEM_USED},
    {"utilization.gpu", COL_UTIL},
    {"temperature.gpu", COL_TEMP},
    {"power.draw", COL_POWER},
    {"pstate", COL_PSTATE},
};

/* One line of the text, without its line end. */
struct nvsmi_line {
	const char *p;
	size_t len;
};

/* Returns 1 and the next line of text[*pos..len), or 0 at the end. */
static int next_line(const char *text, size_t len, size_t *pos,
		     struct nvsmi_line *l)
{
	const char *nl;
	size_t start = *pos;

	if (start >= len)
		return 0;
	nl = memchr(text + start, '\n', len - start);
	l->p = text + start;
	l->len = nl ? (size_t)(nl - l->p) : len - start;
	*pos = start + l->len + (nl ? 1 : 0);
	while (l->len && (l->p[l->len - 1] == '\r'))
		l->len--;
	return 1;
}

static int blank(const struct nvsmi_line *l)
{
	size_t i;

	for (i = 0; i < l->len; i++) {
		if (!isspace((unsigned char)l->p[i]))
			return 0;
	}
	return 1;
}

/* A copy of at most 120 bytes of s, control characters replaced by '?'. */
static char *shown(const char *s, size_t len)
{
	size_t n = len > 120 ? 120 : len, i;
	char *p = xstrndup(s, n);

	n = strlen(p);
	for (i = 0; i < n; i++) {
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			p[i] = '?';
	}
	return p;
}

static int unexpected(struct gpuctl_err *err, const char *what,
		      const struct nvsmi_line *first)
{
	char *s;

	if (!first) {
		return err_set(err, GPUCTL_ERR_PARSE,
			       "nvidia-smi printed nothing (%s)", what);
	}
	s = shown(first->p, first->len);
	err_set(err, GPUCTL_ERR_PARSE, "nvidia-smi did not print %s: \"%s\"",
		what, s);
	free(s);
	return -1;
}

/* A field with surrounding spaces and any double quotes removed. */
static char *trim_field(const char *p, size_t len)
{
	struct buf b = BUF_INIT;
	size_t i;

	while (len && isspace((unsigned char)*p)) {
		p++;
		len--;
	}
	while (len && isspace((unsigned char)p[len - 1]))
		len--;
	if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
		for (i = 1; i + 1 < len; i++) {
			if (p[i] == '"' && i + 2 < len && p[i + 1] == '"')
				i++;
			buf_addch(&b, p[i]);
		}
		return buf_detach(&b, NULL);
	}
	return xstrndup(p, len);
}

/*
 * Splits a CSV line at commas outside double quotes into at most max
 * fields.  Returns the number of fields, or -1 when there are more.
 */
static int split_csv(const struct nvsmi_line *l, char **f, int max)
{
	size_t i, start = 0;
	int n = 0, quoted = 0;

	for (i = 0; i <= l->len; i++) {
		if (i < l->len && l->p[i] == '"')
			quoted = !quoted;
		if (i < l->len && (l->p[i] != ',' || quoted))
			continue;
		if (n == max) {
			while (n > 0)
				free(f[--n]);
			return -1;
		}
		f[n++] = trim_field(l->p + start, i - start);
		start = i + 1;
	}
	return n;
}

static void free_fields(char **f, int n)
{
	while (n > 0)
		free(f[--n]);
}

static enum nvsmi_col column_of(const char *h)
{
	size_t len = strcspn(h, " [");
	size_t i;

	for (i = 0; i < sizeof(nvsmi_cols) / sizeof(nvsmi_cols[0]); i++) {
		if (strlen(nvsmi_cols[i].name) == len &&
		    !strncmp(h, nvsmi_cols[i].name, len))
			return nvsmi_cols[i].col;
	}
	return COL_UNKNOWN;
}

/* "[N/A]", "N/A", "[Not Supported]", "[Unknown Error]", "": no value. */
static int not_available(const char *v)
{
	return !*v || v[0] == '[' || !strcmp(v, "N/A");
}

/*
 * A number with an optional unit ("143771 MiB", "126.41 W", "0 %").  The
 * unit, when there, must be one of units (NULL-terminated); *scale gets
 * the factor for it.  Returns 0, 1 when the value is not available, or -1
 * when it is not a number.
 */
static int parse_number(const char *v, const char *const *units,
			const double *scales, double *out)
{
	char *end;
	double d;
	size_t i;

	if (not_available(v))
		return 1;
	errno = 0;
	d = strtod(v, &end);
	if (end == v || errno || !isfinite(d))
		return -1;
	while (*end == ' ')
		end++;
	if (!*end) {
		*out = d;
		return 0;
	}
	for (i = 0; units && units[i]; i++) {
		if (!strcmp(end, units[i])) {
			*out = d * scales[i];
			return 0;
		}
	}
	return -1;
}

static void gpu_init(struct nvsmi_gpu *g)
{
	memset(g, 0, sizeof(*g));
	g->index = -1;
	g->memory_total_mib = -1;
	g->memory_used_mib = -1;
	g->utilization_pct = -1;
	g->temperature_c = -1;
	g->power_draw_w = -1;
}

static void gpu_release(struct nvsmi_gpu *g)
{
	free(g->name);
	free(g->uuid);
	free(g->driver_version);
	free(g->pstate);
	gpu_init(g);
}

void nvsmi_list_release(struct nvsmi_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		gpu_release(&l->gpus[i]);
	free(l->gpus);
	l->gpus = NULL;
	l->n = 0;
}

static struct nvsmi_gpu *list_add(struct nvsmi_list *l)
{
	struct nvsmi_gpu *g;

	l->gpus = xrealloc(l->gpus, (l->n + 1) * sizeof(*l->gpus));
	g = &l->gpus[l->n++];
	gpu_init(g);
	return g;
}

static char *str_value(const char *v)
{
	return not_available(v) ? NULL : xstrdup(v);
}

/* A header may name a column twice: the last value wins, none leaks. */
static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = str_value(v);
}

/* Sets one field of g from the value v of column c.  Returns 0 or -1. */
static int set_field(struct nvsmi_gpu *g, enum nvsmi_col c, const char *v)
{
	static const char *const mem_units[] = {"MiB", "GiB", "KiB", NULL};
	static const double mem_scales[] = {1, 1024, 1.0 / 1024};
	static const char *const pct_units[] = {"%", NULL};
	static const char *const temp_units[] = {"C", NULL};
	static const char *const w_units[] = {"W", NULL};
	static const double one[] = {1};
	double d = -1;
	int r = 0;

	switch (c) {
	case COL_UNKNOWN:
		return 0;
	case COL_NAME:
		set_str(&g->name, v);
		return 0;
	case COL_UUID:
		set_str(&g->uuid, v);
		return 0;
	case COL_DRIVER:
		set_str(&g->driver_version, v);
		return 0;
	case COL_PSTATE:
		set_str(&g->pstate, v);
		return 0;
	case COL_INDEX:
		r = parse_number(v, NULL, NULL, &d);
		if (!r && (d < 0 || d > 1e6 || d != (double)(long)d))
			r = -1;
		if (!r)
			g->index = (int)d;
		break;
	case COL_MEM_TOTAL:
	case COL_MEM_USED:
		r = parse_number(v, mem_units, mem_scales, &d);
		if (!r && (d < 0 || d > 1e15))
			r = -1;
		if (!r && c == COL_MEM_TOTAL)
			g->memory_total_mib = (long long)d;
		else if (!r)
			g->memory_used_mib = (long long)d;
		break;
	case COL_UTIL:
		r = parse_number(v, pct_units, one, &d);
		if (!r && (d < 0 || d > 100))
			r = -1;
		if (!r)
			g->utilization_pct = (int)d;
		break;
	case COL_TEMP:
		r = parse_number(v, temp_units, one, &d);
		if (!r && (d < -100 || d > 1000))
			r = -1;
		if (!r)
			g->temperature_c = (int)d;
		break;
	case COL_POWER:
		r = parse_number(v, w_units, one, &d);
		if (!r && (d < 0 || d > 1e6))
			r = -1;
		if (!r)
			g->power_draw_w = d;
		break;
	}
	return r < 0 ? -1 : 0;
}

int nvsmi_parse_csv(const char *text, size_t len, struct nvsmi_list *out,
		    struct gpuctl_err *err)
{
	struct nvsmi_list l = NVSMI_LIST_INIT;
	struct nvsmi_line line, first;
	enum nvsmi_col cols[NVSMI_MAX_FIELDS];
	char *f[NVSMI_MAX_FIELDS];
	size_t pos = 0, lineno = 0;
	int ncols = -1, nf, i, known = 0, have_first = 0, rc = -1;

	while (next_line(text, len, &pos, &line)) {
		lineno++;
		if (blank(&line))
			continue;
		if (!have_first) {
			first = line;
			have_first = 1;
		}
		nf = split_csv(&line, f, NVSMI_MAX_FIELDS);
		if (ncols < 0) {
			if (nf < 0) {
				unexpected(err, "a CSV header", &first);
				goto out;
			}
			for (i = 0; i < nf; i++) {
				cols[i] = column_of(f[i]);
				if (cols[i] != COL_UNKNOWN)
					known++;
			}
			free_fields(f, nf);
			if (!known) {
				unexpected(err, "a CSV header", &first);
				goto out;
			}
			ncols = nf;
			continue;
		}
		if (nf != ncols) {
			char *s = shown(line.p, line.len);

			if (nf > 0)
				free_fields(f, nf);
			err_set(err, GPUCTL_ERR_PARSE,
				"nvidia-smi output line %zu has %d fields, "
				"expected %d: \"%s\"",
				lineno, nf < 0 ? NVSMI_MAX_FIELDS : nf, ncols,
				s);
			free(s);
			goto out;
		}
		if (l.n >= NVSMI_MAX_GPUS) {
			free_fields(f, nf);
			err_set(err, GPUCTL_ERR_PARSE,
				"nvidia-smi listed more than %d GPUs",
				NVSMI_MAX_GPUS);
			goto out;
		}
		{
			struct nvsmi_gpu *g = list_add(&l);

			for (i = 0; i < nf; i++) {
				if (!set_field(g, cols[i], f[i]))
					continue;
				{
					char *s = shown(f[i], strlen(f[i]));

					err_set(err, GPUCTL_ERR_PARSE,
						"nvidia-smi output line %zu: "
						"bad value \"%s\"",
						lineno, s);
					free(s);
				}
				free_fields(f, nf);
				goto out;
			}
		}
		free_fields(f, nf);
	}
	if (ncols < 0) {
		unexpected(err, "a CSV header", have_first ? &first : NULL);
		goto out;
	}
	*out = l;
	l.gpus = NULL;
	l.n = 0;
	rc = 0;
out:
	nvsmi_list_release(&l);
	return rc;
}

/* Finds needle in l, last occurrence; returns its offset or -1. */
static long find_last(const struct nvsmi_line *l, const char *needle)
{
	size_t n = strlen(needle), i;
	long at = -1;

	for (i = 0; i + n <= l->len; i++) {
		if (!memcmp(l->p + i, needle, n))
			at = (long)i;
	}
	return at;
}

/* Parses "GPU N: NAME (UUID: U)" into g.  Returns 0, or -1 if not one. */
static int parse_list_line(const struct nvsmi_line *l, struct nvsmi_gpu *g)
{
	size_t i = 4;
	long idx = 0, u;
	const char *name;
	size_t name_len, uuid_len;

	if (l->len < 6 || memcmp(l->p, "GPU ", 4))
		return -1;
	if (i >= l->len || !isdigit((unsigned char)l->p[i]))
		return -1;
	while (i < l->len && isdigit((unsigned char)l->p[i]) && idx < 1000000)
		idx = idx * 10 + (l->p[i++] - '0');
	if (i + 2 > l->len || l->p[i] != ':' || l->p[i + 1] != ' ')
		return -1;
	name = l->p + i + 2;
	u = find_last(l, " (UUID: ");
	if (u < (long)(i + 2) || l->p[l->len - 1] != ')')
		return -1;
	name_len = (size_t)u - (i + 2);
	uuid_len = l->len - 1 - ((size_t)u + 8);
	if (!name_len || !uuid_len)
		return -1;
	g->index = (int)idx;
	g->name = xstrndup(name, name_len);
	g->uuid = xstrndup(l->p + u + 8, uuid_len);
	return 0;
}

int nvsmi_parse_list(const char *text, size_t len, struct nvsmi_list *out,
		     struct gpuctl_err *err)
{
	struct nvsmi_list l = NVSMI_LIST_INIT;
	struct nvsmi_line line, first;
	struct nvsmi_gpu g;
	size_t pos = 0;
	int have_first = 0, rc = -1;

	while (next_line(text, len, &pos, &line)) {
		if (blank(&line))
			continue;
		if (!have_first) {
			first = line;
			have_first = 1;
		}
		/* MIG devices are listed indented under their GPU */
		if (isspace((unsigned char)line.p[0]))
			continue;
		gpu_init(&g);
		if (parse_list_line(&line, &g)) {
			unexpected(err, "a GPU list", &line);
			goto out;
		}
		if (l.n >= NVSMI_MAX_GPUS) {
			gpu_release(&g);
			err_set(err, GPUCTL_ERR_PARSE,
				"nvidia-smi listed more than %d GPUs",
				NVSMI_MAX_GPUS);
			goto out;
		}
		*list_add(&l) = g;
	}
	if (!l.n) {
		unexpected(err, "a GPU list", have_first ? &first : NULL);
		goto out;
	}
	*out = l;
	l.gpus = NULL;
	l.n = 0;
	rc = 0;
out:
	nvsmi_list_release(&l);
	return rc;
}
