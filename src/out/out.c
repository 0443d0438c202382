/* Text, table and JSON output of rows, records and documents. */
#include "gpuctl/out.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

struct out_table {
	const struct out_column *cols;
	size_t ncols;
	char **cells; /* rows * ncols, NULL for empty */
	size_t rows, alloc;
};

struct out_table *out_table_new(const struct out_column *cols, size_t ncols)
{
	struct out_table *t = xcalloc(1, sizeof(*t));

	t->cols = cols;
	t->ncols = ncols;
	return t;
}

void out_table_free(struct out_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->rows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

void out_table_add(struct out_table *t, const char *const *cells)
{
	size_t i;

	if (t->rows == t->alloc) {
		t->alloc = t->alloc ? 2 * t->alloc : 16;
		t->cells =
		    xrealloc(t->cells, t->alloc * t->ncols * sizeof(*t->cells));
	}
	for (i = 0; i < t->ncols; i++)
		t->cells[t->rows * t->ncols + i] =
		    cells[i] ? xstrdup(cells[i]) : NULL;
	t->rows++;
}

size_t out_table_rows(const struct out_table *t)
{
	return t->rows;
}

/*
 * Length of the valid UTF-8 sequence at s (1-4), or 0 when the bytes there
 * are not one.  *cp gets the code point.
 */
static size_t utf8_seq(const unsigned char *s, unsigned int *cp)
{
	size_t n, i;
	unsigned int c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 3 && c < 0x800) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static int is_control(unsigned int cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	       cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

void out_sanitize(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (p && *p) {
		unsigned int cp;
		size_t n = utf8_seq(p, &cp);

		if (!n) {
			buf_addch(b, '?');
			p++;
		} else if (is_control(cp)) {
			buf_addch(b, '?');
			p += n;
		} else {
			buf_add(b, p, n);
			p += n;
		}
	}
}

/* Valid UTF-8 for JSON: invalid bytes become U+FFFD. */
static void json_clean(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned int cp;
		size_t n = utf8_seq(p, &cp);

		if (!n) {
			buf_adds(b, "\xef\xbf\xbd");
			p++;
		} else {
			buf_add(b, p, n);
			p += n;
		}
	}
}

size_t out_display_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;

	while (*p) {
		unsigned int cp;
		size_t n = utf8_seq(p, &cp);

		if (!n) {
			w++;
			p++;
			continue;
		}
		/* East Asian wide and emoji ranges take two columns */
		if ((cp >= 0x1100 && cp <= 0x115f) ||
		    (cp >= 0x2e80 && cp <= 0xa4cf) ||
		    (cp >= 0xac00 && cp <= 0xd7a3) ||
		    (cp >= 0xf900 && cp <= 0xfaff) ||
		    (cp >= 0xfe30 && cp <= 0xfe4f) ||
		    (cp >= 0xff00 && cp <= 0xff60) ||
		    (cp >= 0xffe0 && cp <= 0xffe6) ||
		    (cp >= 0x1f300 && cp <= 0x1faff) ||
		    (cp >= 0x20000 && cp <= 0x3fffd))
			w += 2;
		else
			w++;
		p += n;
	}
	return w;
}

void out_duration(struct buf *b, long long s)
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		buf_addf(b, "%lldd %lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		buf_addf(b, "%lldh %02lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		buf_addf(b, "%lldm", s / 60);
	else
		buf_addf(b, "%llds", s);
}

void out_iso_time(struct buf *b, long long epoch, const char *sent)
{
	struct tm tm;
	time_t t = (time_t)epoch;
	char s[32];

	if (epoch > 0 && gmtime_r(&t, &tm) &&
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm))
		buf_adds(b, s);
	else if (sent)
		buf_adds(b, sent);
}

int out_utf8_prefix(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return (int)n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

int out_document(const char *text, size_t len, FILE *f)
{
	fwrite(text, 1, len, f);
	if (len && text[len - 1] != '\n')
		fputc('\n', f);
	return ferror(f) ? -1 : 0;
}

static const char *cell(const struct out_table *t, size_t r, size_t c)
{
	return t->cells[r * t->ncols + c];
}

static json_t *json_cell(const struct out_column *col, const char *v)
{
	struct buf b = BUF_INIT;
	json_t *j;
	long long n;
	char *end;

	if (!v)
		return json_null();
	if (col->numeric && *v) {
		n = strtoll(v, &end, 10);
		if (!*end)
			return json_integer(n);
	}
	json_clean(&b, v);
	j = json_stringn(b.data, b.len);
	buf_release(&b);
	return j ? j : json_null();
}

static json_t *json_row(const struct out_table *t, size_t r)
{
	json_t *o = json_object();
	size_t c;

	for (c = 0; c < t->ncols; c++)
		json_object_set_new(o, t->cols[c].json_key,
				    json_cell(&t->cols[c], cell(t, r, c)));
	return o;
}

static int print_json(json_t *doc, FILE *f)
{
	/* ASCII only: no raw C1 control can reach a terminal */
	int rc = json_dumpf(
	    doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);

	json_decref(doc);
	if (rc || fputc('\n', f) == EOF)
		return -1;
	return 0;
}

static void pad(FILE *f, size_t n)
{
	while (n--)
		fputc(' ', f);
}

static json_t *json_rows(const struct out_table *t)
{
	json_t *arr = json_array();
	size_t r;

	for (r = 0; r < t->rows; r++)
		json_array_append_new(arr, json_row(t, r));
	return arr;
}

int out_json_tables(const struct out_table *const *t, const char *const *roots,
		    size_t n, FILE *f)
{
	json_t *doc = json_object();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_set_new(doc, roots[i], json_rows(t[i]));
	return print_json(doc, f);
}

int out_table_print(const struct out_table *t, enum out_format fmt,
		    const char *json_root, FILE *f)
{
	struct buf b = BUF_INIT;
	size_t *width, r, c;

	if (fmt == OUT_JSON)
		return out_json_tables(&t, &json_root, 1, f);
	width = xcalloc(t->ncols, sizeof(*width));
	/* the sanitised cells, so widths match what is printed */
	for (r = 0; fmt == OUT_TABLE && r < t->rows; r++)
		for (c = 0; c < t->ncols; c++) {
			size_t w;

			buf_reset(&b);
			out_sanitize(&b, cell(t, r, c) ? cell(t, r, c) : "-");
			w = out_display_width(b.data);
			if (w > width[c])
				width[c] = w;
		}
	if (fmt == OUT_TABLE && t->rows) {
		for (c = 0; c < t->ncols; c++) {
			size_t w = strlen(t->cols[c].title);

			if (w > width[c])
				width[c] = w;
			fputs(t->cols[c].title, f);
			if (c + 1 < t->ncols)
				pad(f, width[c] - w + 2);
		}
		fputc('\n', f);
	}
	for (r = 0; r < t->rows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *v = cell(t, r, c);

			buf_reset(&b);
			out_sanitize(&b, v ? v : (fmt == OUT_TABLE ? "-" : ""));
			fputs(b.data, f);
			if (c + 1 == t->ncols)
				break;
			if (fmt == OUT_TEXT)
				fputc('\t', f);
			else
				pad(f,
				    width[c] - out_display_width(b.data) + 2);
		}
		fputc('\n', f);
	}
	free(width);
	buf_release(&b);
	return ferror(f) ? -1 : 0;
}

int out_record_print(const struct out_table *t, enum out_format fmt,
		     const char *json_root, FILE *f)
{
	struct buf b = BUF_INIT;
	size_t c, w = 0;

	if (!t->rows)
		return 0;
	if (fmt == OUT_JSON) {
		json_t *o = json_row(t, 0);

		if (json_root) {
			json_t *doc = json_object();

			json_object_set_new(doc, json_root, o);
			o = doc;
		}
		return print_json(o, f);
	}
	for (c = 0; c < t->ncols; c++)
		if (strlen(t->cols[c].title) > w)
			w = strlen(t->cols[c].title);
	for (c = 0; c < t->ncols; c++) {
		const char *v = cell(t, 0, c);

		buf_reset(&b);
		out_sanitize(&b, v ? v : (fmt == OUT_TABLE ? "-" : ""));
		if (fmt == OUT_TEXT) {
			fprintf(f, "%s\t%s\n", t->cols[c].json_key, b.data);
		} else {
			fputs(t->cols[c].title, f);
			pad(f, w - strlen(t->cols[c].title) + 2);
			fprintf(f, "%s\n", b.data);
		}
	}
	buf_release(&b);
	return ferror(f) ? -1 : 0;
}
