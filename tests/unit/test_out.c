/* Tests of out/: text, table and JSON output, and sanitising. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gpuctl/out.h"

static const struct out_column cols[] = {
    {"ID", "instanceId", 0},
    {"NAME", "name", 0},
    {"SECONDS", "uptimeSeconds", 1},
};

/* Prints into a memory buffer and returns it (caller frees). */
static char *render(const struct out_table *t, enum out_format fmt, int record)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);

	assert_non_null(f);
	if (record)
		assert_int_equal(out_record_print(t, fmt, "instance", f), 0);
	else
		assert_int_equal(out_table_print(t, fmt, "instances", f), 0);
	fclose(f);
	return mem;
}

static struct out_table *sample(void)
{
	struct out_table *t = out_table_new(cols, 3);
	const char *r1[] = {"i-1", "gpu box", "42"};
	const char *r2[] = {"i-22", "\x1b]0;pwned\x07\ttab\nnl", NULL};
	const char *r3[] = {"i-3", "caf\xc3\xa9 \xff\xfe bad", "7"};

	out_table_add(t, r1);
	out_table_add(t, r2);
	out_table_add(t, r3);
	return t;
}

static void test_text(void **state)
{
	struct out_table *t = sample();
	char *s = render(t, OUT_TEXT, 0);

	(void)state;
	assert_string_equal(s, "i-1\tgpu box\t42\n"
			       "i-22\t?]0;pwned??tab?nl\t\n"
			       "i-3\tcaf\xc3\xa9 ?? bad\t7\n");
	free(s);
	out_table_free(t);
}

static void test_table(void **state)
{
	struct out_table *t = sample();
	char *s = render(t, OUT_TABLE, 0);

	(void)state;
	assert_string_equal(s, "ID    NAME               SECONDS\n"
			       "i-1   gpu box            42\n"
			       "i-22  ?]0;pwned??tab?nl  -\n"
			       "i-3   caf\xc3\xa9 ?? bad        7\n");
	free(s);
	out_table_free(t);
}

static void test_json(void **state)
{
	struct out_table *t = sample();
	char *s = render(t, OUT_JSON, 0);
	json_error_t e;
	json_t *doc = json_loads(s, 0, &e), *arr, *row;

	(void)state;
	assert_non_null(doc);
	arr = json_object_get(doc, "instances");
	assert_int_equal(json_array_size(arr), 3);
	row = json_array_get(arr, 0);
	assert_string_equal(
	    json_string_value(json_object_get(row, "instanceId")), "i-1");
	assert_int_equal(
	    json_integer_value(json_object_get(row, "uptimeSeconds")), 42);
	row = json_array_get(arr, 1);
	/* the escape sequence survives as data, escaped by JSON */
	assert_string_equal(json_string_value(json_object_get(row, "name")),
			    "\x1b]0;pwned\x07\ttab\nnl");
	assert_true(json_is_null(json_object_get(row, "uptimeSeconds")));
	assert_null(strchr(s, '\x1b'));
	row = json_array_get(arr, 2);
	assert_string_equal(json_string_value(json_object_get(row, "name")),
			    "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd bad");
	json_decref(doc);
	free(s);
	out_table_free(t);
}

static void test_record(void **state)
{
	struct out_table *t = sample();
	char *s;

	(void)state;
	s = render(t, OUT_TEXT, 1);
	assert_string_equal(s, "instanceId\ti-1\nname\tgpu box\n"
			       "uptimeSeconds\t42\n");
	free(s);
	s = render(t, OUT_TABLE, 1);
	assert_string_equal(s, "ID       i-1\nNAME     gpu box\nSECONDS  42\n");
	free(s);
	s = render(t, OUT_JSON, 1);
	assert_non_null(strstr(s, "\"instance\": {"));
	free(s);
	out_table_free(t);
}

static void test_empty_table(void **state)
{
	struct out_table *t = out_table_new(cols, 3);
	char *s = render(t, OUT_TABLE, 0);

	(void)state;
	assert_string_equal(s, ""); /* no header for nothing */
	free(s);
	s = render(t, OUT_JSON, 0);
	assert_string_equal(s, "{\n  \"instances\": []\n}\n");
	free(s);
	out_table_free(t);
}

static void check_clean(const char *in, const char *want)
{
	struct buf b = BUF_INIT;

	out_sanitize(&b, in);
	assert_string_equal(b.data, want);
	buf_release(&b);
}

static void test_sanitize(void **state)
{
	(void)state;
	check_clean("plain", "plain");
	check_clean("\xc2\x9b"
		    "31m",
		    "?31m"); /* C1 CSI */
	check_clean("\xe2\x80\xae"
		    "evil",
		    "?evil");				     /* RTL override */
	check_clean("\xc0\xaf", "??");			     /* overlong '/' */
	check_clean("\xed\xa0\x80", "???");		     /* surrogate */
	check_clean("\xf0\x9f\x9a\x80", "\xf0\x9f\x9a\x80"); /* emoji */
	check_clean("\x7f", "?");
	check_clean("a\xe2\x82", "a??"); /* truncated sequence */
}

static void test_width_and_duration(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(out_display_width("abc"), 3);
	assert_int_equal(out_display_width("caf\xc3\xa9"), 4);
	assert_int_equal(out_display_width("\xe6\x97\xa5\xe6\x9c\xac"), 4);
	out_duration(&b, 40);
	assert_string_equal(b.data, "40s");
	buf_reset(&b);
	out_duration(&b, 125);
	assert_string_equal(b.data, "2m");
	buf_reset(&b);
	out_duration(&b, 3 * 3600 + 5 * 60);
	assert_string_equal(b.data, "3h 05m");
	buf_reset(&b);
	out_duration(&b, 2 * 86400 + 7 * 3600);
	assert_string_equal(b.data, "2d 7h");
	buf_reset(&b);
	out_duration(&b, -5);
	assert_string_equal(b.data, "0s");
	buf_release(&b);
}

static void test_iso_time(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	out_iso_time(&b, 1728561600, "ignored");
	assert_string_equal(b.data, "2024-10-10T12:00:00Z");
	buf_reset(&b);
	out_iso_time(&b, 0, "2024-10-10T12:00:00.000Z");
	assert_string_equal(b.data, "2024-10-10T12:00:00.000Z");
	buf_reset(&b);
	out_iso_time(&b, 0, NULL);
	assert_string_equal(b.data, "");
	buf_release(&b);
}

static void test_utf8_prefix(void **state)
{
	(void)state;
	assert_int_equal(out_utf8_prefix("abc", 10), 3);
	assert_int_equal(out_utf8_prefix("abcdef", 4), 4);
	/* "caf\xc3\xa9": a cut at 4 would split the e-acute */
	assert_int_equal(out_utf8_prefix("caf\xc3\xa9!", 4), 3);
	assert_int_equal(out_utf8_prefix("caf\xc3\xa9!", 5), 5);
	/* a 4-byte character cut anywhere inside */
	assert_int_equal(out_utf8_prefix("\xf0\x9f\x98\x80x", 3), 0);
	assert_int_equal(out_utf8_prefix("", 0), 0);
}

static void test_document(void **state)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);

	(void)state;
	assert_non_null(f);
	assert_int_equal(out_document("<a/>", 4, f), 0);
	assert_int_equal(out_document("b\n", 2, f), 0);
	assert_int_equal(out_document("", 0, f), 0);
	fclose(f);
	assert_string_equal(mem, "<a/>\nb\n");
	free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text),
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_record),
	    cmocka_unit_test(test_empty_table),
	    cmocka_unit_test(test_sanitize),
	    cmocka_unit_test(test_width_and_duration),
	    cmocka_unit_test(test_iso_time),
	    cmocka_unit_test(test_utf8_prefix),
	    cmocka_unit_test(test_document),
	};

	return cmocka_run_group_tests_name("out", tests, NULL, NULL);
}
