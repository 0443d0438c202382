/*
 * out: results on stdout as text (tab-separated, one record a line, no
 * header: stable for cut and awk), an aligned table with a header, or one
 * JSON document (jansson); a document (an API response, a config block)
 * as it is; and the small formatting helpers commands share (durations,
 * times, UTF-8 cuts).  Commands hand their results here and never print
 * them themselves.
 *
 * Every cell is untrusted (tag values come from anyone who can tag): in
 * text and table output control characters (C0, DEL, C1), tabs and
 * newlines become '?', and invalid UTF-8 bytes become '?', so a value
 * cannot drive the terminal or break the columns.  In JSON, strings are
 * valid UTF-8 (invalid bytes become U+FFFD) and jansson escapes the rest.
 *
 * Ownership: cells passed in are copied.  struct out_table belongs to the
 * caller (out_table_free()).
 */
#ifndef GPUCTL_OUT_H
#define GPUCTL_OUT_H

#include <stdio.h>

#include "gpuctl/util.h"

/* --output text|json|table */
enum out_format { OUT_TEXT, OUT_JSON, OUT_TABLE };

struct out_column {
	const char *title;    /* table header, e.g. "INSTANCE" */
	const char *json_key; /* e.g. "instanceId" */
	int numeric;	      /* JSON: a number (cells holding digits) */
};

struct out_table;

/* The columns are borrowed: keep them alive (static) while in use. */
struct out_table *out_table_new(const struct out_column *cols, size_t ncols);
void out_table_free(struct out_table *t);
/* Adds a row of ncols cells; a NULL cell is empty (JSON null). */
void out_table_add(struct out_table *t, const char *const *cells);
size_t out_table_rows(const struct out_table *t);

/*
 * Prints the rows: text and table one row a line, JSON as
 * {"<json_root>": [ {...}, ... ]}.  Returns 0, or -1 when writing failed.
 */
int out_table_print(const struct out_table *t, enum out_format fmt,
		    const char *json_root, FILE *f);

/*
 * One record as key/value lines: text "key<TAB>value", table aligned
 * "Title  value", JSON one object (under json_root when it is not NULL).
 * The table's single row is the record.
 */
int out_record_print(const struct out_table *t, enum out_format fmt,
		     const char *json_root, FILE *f);

/*
 * Several tables as one JSON document: {"<roots[0]>": [...], ...}.
 * Returns 0, or -1 when writing failed.
 */
int out_json_tables(const struct out_table *const *t, const char *const *roots,
		    size_t n, FILE *f);

/* Appends s to b made safe for a terminal (see above). */
void out_sanitize(struct buf *b, const char *s);

/* Number of terminal columns s takes (code points; wide CJK count 2). */
size_t out_display_width(const char *s);

/* "3d 4h", "2h 05m", "12m", "40s" for a duration in seconds. */
void out_duration(struct buf *b, long long seconds);

/*
 * "2024-10-10T12:00:00Z" for a time in seconds since the epoch; when epoch
 * is 0 or unreadable, sent (the time as the server wrote it; may be NULL).
 */
void out_iso_time(struct buf *b, long long epoch, const char *sent);

/*
 * The length of the longest prefix of s, at most max bytes, that ends on
 * a UTF-8 character boundary: for cutting text without splitting one.
 */
int out_utf8_prefix(const char *s, size_t max);

/*
 * A document written as it is (an API response, a config block), with a
 * final newline added when it has none (nothing for an empty one).
 * Returns 0, or -1 when writing failed.
 */
int out_document(const char *text, size_t len, FILE *f);

#endif
