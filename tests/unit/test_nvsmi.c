/*
 * Tests of the nvidia-smi parsers: the recorded output in
 * $GPUCTL_FIXTURES/nvidia-smi/ (the CSV and -L values are checked against
 * the -q -x XML report of the same machine, read here with libxml2), and
 * hand-written edge cases in $GPUCTL_TESTDATA/nvsmi/.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "gpuctl/err.h"
#include "gpuctl/nvsmi.h"
#include "gpuctl/util.h"

static double dabs(double d)
{
	return d < 0 ? -d : d;
}

static const char *fixtures_dir(void)
{
	const char *d = getenv("GPUCTL_FIXTURES");

	return d && *d ? d : "../shared/fixtures";
}

static const char *data_dir(void)
{
	const char *d = getenv("GPUCTL_TESTDATA");

	return d && *d ? d : "tests/unit/data";
}

static char *slurp(const char *dir, const char *sub, const char *name,
		   size_t *len)
{
	struct buf path = BUF_INIT, b = BUF_INIT;

	buf_addf(&path, "%s/%s/%s", dir, sub, name);
	if (read_file(path.data, &b))
		fail_msg("cannot read %s", path.data);
	buf_release(&path);
	return buf_detach(&b, len);
}

/* What the XML report says about one GPU. */
struct xml_gpu {
	char *product_name, *uuid, *minor_number, *performance_state;
	char *fb_total, *fb_used, *gpu_util, *gpu_temp, *avg_power;
};

struct xml_report {
	char *driver_version;
	int attached;
	struct xml_gpu gpus[16];
	int n;
};

static xmlNode *child(xmlNode *n, const char *name)
{
	xmlNode *c;

	for (c = n ? n->children : NULL; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE &&
		    !strcmp((const char *)c->name, name))
			return c;
	}
	return NULL;
}

static char *text_of(xmlNode *n)
{
	xmlChar *t;
	char *s;

	assert_non_null(n);
	t = xmlNodeGetContent(n);
	s = xstrdup((const char *)t);
	xmlFree(t);
	return s;
}

static void read_report(struct xml_report *rep)
{
	size_t len;
	char *x = slurp(fixtures_dir(), "nvidia-smi", "nvidia-smi-q.xml", &len);
	xmlDoc *doc = xmlReadMemory(x, (int)len, "nvidia-smi-q.xml", NULL,
				    XML_PARSE_NONET);
	xmlNode *root, *g;
	char *att;

	assert_non_null(doc);
	root = xmlDocGetRootElement(doc);
	assert_string_equal((const char *)root->name, "nvidia_smi_log");
	memset(rep, 0, sizeof(*rep));
	rep->driver_version = text_of(child(root, "driver_version"));
	att = text_of(child(root, "attached_gpus"));
	rep->attached = atoi(att);
	free(att);
	for (g = root->children; g; g = g->next) {
		struct xml_gpu *xg;

		if (g->type != XML_ELEMENT_NODE ||
		    strcmp((const char *)g->name, "gpu"))
			continue;
		assert_true(rep->n < 16);
		xg = &rep->gpus[rep->n++];
		xg->product_name = text_of(child(g, "product_name"));
		xg->uuid = text_of(child(g, "uuid"));
		xg->minor_number = text_of(child(g, "minor_number"));
		xg->performance_state = text_of(child(g, "performance_state"));
		xg->fb_total =
		    text_of(child(child(g, "fb_memory_usage"), "total"));
		xg->fb_used =
		    text_of(child(child(g, "fb_memory_usage"), "used"));
		xg->gpu_util =
		    text_of(child(child(g, "utilization"), "gpu_util"));
		xg->gpu_temp =
		    text_of(child(child(g, "temperature"), "gpu_temp"));
		xg->avg_power = text_of(child(child(g, "gpu_power_readings"),
					      "average_power_draw"));
	}
	xmlFreeDoc(doc);
	free(x);
}

static void free_report(struct xml_report *rep)
{
	int i;

	free(rep->driver_version);
	for (i = 0; i < rep->n; i++) {
		struct xml_gpu *g = &rep->gpus[i];

		free(g->product_name);
		free(g->uuid);
		free(g->minor_number);
		free(g->performance_state);
		free(g->fb_total);
		free(g->fb_used);
		free(g->gpu_util);
		free(g->gpu_temp);
		free(g->avg_power);
	}
}

/* The leading number of an XML value such as "143771 MiB" or "35 C". */
static double num(const char *s)
{
	char *end;
	double d = strtod(s, &end);

	assert_true(end != s);
	return d;
}

static void test_fixture_csv(void **state)
{
	struct nvsmi_list l = NVSMI_LIST_INIT;
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	struct xml_report rep;
	size_t len;
	char *csv;
	int i;

	(void)state;
	read_report(&rep);
	assert_true(rep.n >= 1);
	assert_int_equal(rep.n, rep.attached);
	csv = slurp(fixtures_dir(), "nvidia-smi", "nvidia-smi-query.csv", &len);
	/* the header is exactly the query asked for, with units */
	assert_true(starts_with(csv, "index, name, uuid, driver_version, "));
	assert_int_equal(nvsmi_parse_csv(csv, len, &l, &e), 0);
	assert_int_equal(l.n, (size_t)rep.n);
	for (i = 0; i < rep.n; i++) {
		struct nvsmi_gpu *g = &l.gpus[i];
		struct xml_gpu *x = &rep.gpus[i];

		assert_int_equal(g->index, atoi(x->minor_number));
		assert_string_equal(g->name, x->product_name);
		assert_string_equal(g->uuid, x->uuid);
		assert_string_equal(g->driver_version, rep.driver_version);
		assert_int_equal(g->memory_total_mib,
				 (long long)num(x->fb_total));
		assert_int_equal(g->memory_used_mib,
				 (long long)num(x->fb_used));
		assert_int_equal(g->utilization_pct, (int)num(x->gpu_util));
		assert_int_equal(g->temperature_c, (int)num(x->gpu_temp));
		assert_string_equal(g->pstate, x->performance_state);
		/* sampled a moment apart: close to the XML's average */
		assert_true(g->power_draw_w > 0);
		assert_true(dabs(g->power_draw_w - num(x->avg_power)) < 5.0);
	}
	nvsmi_list_release(&l);
	assert_null(l.gpus);
	free(csv);
	free_report(&rep);
}

static void test_fixture_list(void **state)
{
	struct nvsmi_list l = NVSMI_LIST_INIT, c = NVSMI_LIST_INIT;
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	struct xml_report rep;
	size_t len, clen;
	char *txt, *csv;
	int i;

	(void)state;
	read_report(&rep);
	txt = slurp(fixtures_dir(), "nvidia-smi", "nvidia-smi-L.txt", &len);
	csv =
	    slurp(fixtures_dir(), "nvidia-smi", "nvidia-smi-query.csv", &clen);
	assert_int_equal(nvsmi_parse_list(txt, len, &l, &e), 0);
	assert_int_equal(nvsmi_parse_csv(csv, clen, &c, &e), 0);
	assert_int_equal(l.n, (size_t)rep.n);
	assert_int_equal(l.n, c.n);
	for (i = 0; i < rep.n; i++) {
		assert_int_equal(l.gpus[i].index,
				 atoi(rep.gpus[i].minor_number));
		assert_string_equal(l.gpus[i].name, rep.gpus[i].product_name);
		assert_string_equal(l.gpus[i].uuid, rep.gpus[i].uuid);
		assert_string_equal(l.gpus[i].name, c.gpus[i].name);
		assert_string_equal(l.gpus[i].uuid, c.gpus[i].uuid);
		assert_null(l.gpus[i].driver_version);
		assert_int_equal(l.gpus[i].memory_total_mib, -1);
	}
	nvsmi_list_release(&l);
	nvsmi_list_release(&c);
	free(txt);
	free(csv);
	free_report(&rep);
}

/* The summary table mentions the same driver and memory as the CSV. */
static void test_fixture_summary_agrees(void **state)
{
	struct nvsmi_list c = NVSMI_LIST_INIT;
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	size_t len, clen;
	char *txt, *csv, *want;

	(void)state;
	txt = slurp(fixtures_dir(), "nvidia-smi", "nvidia-smi.txt", &len);
	csv =
	    slurp(fixtures_dir(), "nvidia-smi", "nvidia-smi-query.csv", &clen);
	assert_int_equal(nvsmi_parse_csv(csv, clen, &c, &e), 0);
	want = xasprintf("Driver Version: %s", c.gpus[0].driver_version);
	assert_non_null(strstr(txt, want));
	free(want);
	want = xasprintf("%lldMiB / %lldMiB", c.gpus[0].memory_used_mib,
			 c.gpus[0].memory_total_mib);
	assert_non_null(strstr(txt, want));
	free(want);
	/* the summary table is not CSV: a clear error, quoting it */
	assert_int_equal(nvsmi_parse_csv(txt, len, &c, &e), -1);
	assert_int_equal(e.kind, GPUCTL_ERR_PARSE);
	nvsmi_list_release(&c);
	err_clear(&e);
	free(txt);
	free(csv);
}

static void parse_data(const char *name, struct nvsmi_list *l, int want_rc,
		       struct gpuctl_err *e)
{
	size_t len;
	char *t = slurp(data_dir(), "nvsmi", name, &len);
	int r;

	if (strstr(name, "-L"))
		r = nvsmi_parse_list(t, len, l, e);
	else
		r = nvsmi_parse_csv(t, len, l, e);
	if (r != want_rc)
		fail_msg("%s: rc %d, want %d (%s)", name, r, want_rc,
			 e->message ? e->message : "");
	free(t);
}

/*
 * Recorded by running gpuctl test's own GPU check (NVSMI_QUERY_COMMAND)
 * and nvidia-smi -L on a machine with one H200 (recorded-on.txt says
 * when and with which driver): the parsed values must agree with the -L
 * listing, the summary table and the driver report recorded beside them.
 */
static void test_recorded_gpu_check(void **state)
{
	struct nvsmi_list q = NVSMI_LIST_INIT, l = NVSMI_LIST_INIT;
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	struct buf want = BUF_INIT;
	size_t len;
	char *summary, *about;

	(void)state;
	parse_data("recorded-h200/nvidia-smi-query.csv", &q, 0, &e);
	parse_data("recorded-h200/nvidia-smi-L.txt", &l, 0, &e);
	summary =
	    slurp(data_dir(), "nvsmi/recorded-h200", "nvidia-smi.txt", &len);
	about =
	    slurp(data_dir(), "nvsmi/recorded-h200", "recorded-on.txt", &len);
	assert_int_equal(q.n, 1);
	assert_int_equal(l.n, 1);
	assert_int_equal(q.gpus[0].index, 0);
	assert_string_equal(q.gpus[0].name, l.gpus[0].name);
	assert_string_equal(q.gpus[0].uuid, l.gpus[0].uuid);
	assert_true(strstr(q.gpus[0].name, "H200") != NULL);
	buf_addf(&want, "DRIVER version      : %s", q.gpus[0].driver_version);
	assert_non_null(strstr(about, want.data));
	buf_reset(&want);
	buf_addf(&want, "%lldMiB", q.gpus[0].memory_total_mib);
	assert_non_null(strstr(summary, want.data));
	assert_true(q.gpus[0].power_draw_w > 0);
	buf_release(&want);
	free(summary);
	free(about);
	nvsmi_list_release(&q);
	nvsmi_list_release(&l);
}

static void test_multi_gpu(void **state)
{
	struct nvsmi_list l = NVSMI_LIST_INIT;
	struct gpuctl_err e = GPUCTL_ERR_INIT;

	(void)state;
	parse_data("multi-gpu.csv", &l, 0, &e);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.gpus[1].index, 1);
	assert_string_equal(l.gpus[1].name, "Tesla T4");
	assert_string_equal(l.gpus[1].uuid,
			    "GPU-0a1b2c3d-0000-1111-2222-333344445556");
	assert_int_equal(l.gpus[1].memory_total_mib, 15360);
	assert_int_equal(l.gpus[1].memory_used_mib, 1024);
	assert_int_equal(l.gpus[1].utilization_pct, 57);
	assert_int_equal(l.gpus[1].temperature_c, 61);
	assert_true(dabs(l.gpus[1].power_draw_w - 69.5) < 1e-9);
	assert_string_equal(l.gpus[0].pstate, "P8");
	nvsmi_list_release(&l);
}

static void test_na_fields_crlf(void **state)
{
	struct nvsmi_list l = NVSMI_LIST_INIT;
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	struct nvsmi_gpu *g;

	(void)state;
	parse_data("na-fields.csv", &l, 0, &e);
	assert_int_equal(l.n, 1);
	g = &l.gpus[0];
	assert_string_equal(g->name, "GRID K520");
	assert_string_equal(g->driver_version, "367.57");
	assert_int_equal(g->memory_total_mib, 4095);
	assert_int_equal(g->memory_used_mib, -1);
	assert_int_equal(g->utilization_pct, -1);
	assert_int_equal(g->temperature_c, -1);
	assert_true(g->power_draw_w == -1);
	assert_null(g->pstate);
	nvsmi_list_release(&l);
}

static void test_reordered_quoted(void **state)
{
	struct nvsmi_list l = NVSMI_LIST_INIT;
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	struct nvsmi_gpu *g;

	(void)state;
	parse_data("reordered.csv", &l, 0, &e);
	assert_int_equal(l.n, 1);
	g = &l.gpus[0];
	assert_int_equal(g->index, 3);
	assert_string_equal(g->name, "NVIDIA A100-SXM4-80GB");
	assert_string_equal(g->uuid,
			    "GPU-11111111-2222-3333-4444-555555555555");
	assert_string_equal(g->driver_version, "550.54.15");
	assert_int_equal(g->memory_total_mib, 81920);
	assert_int_equal(g->memory_used_mib, 40000);
	assert_int_equal(g->utilization_pct, 100);
	assert_int_equal(g->temperature_c, 44);
	assert_true(dabs(g->power_draw_w - 299.1) < 1e-9);
	assert_string_equal(g->pstate, "P2");
	nvsmi_list_release(&l);
}

static void test_eight_gpus(void **state)
{
	struct nvsmi_list l = NVSMI_LIST_INIT, m = NVSMI_LIST_INIT;
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	size_t i;

	(void)state;
	parse_data("eight-gpus.csv", &l, 0, &e);
	parse_data("eight-gpus-L.txt", &m, 0, &e);
	assert_int_equal(l.n, 8);
	assert_int_equal(m.n, 8);
	for (i = 0; i < 8; i++) {
		assert_int_equal(l.gpus[i].index, (int)i);
		assert_int_equal(m.gpus[i].index, (int)i);
		assert_string_equal(l.gpus[i].name, "NVIDIA H100 80GB HBM3");
		assert_string_equal(m.gpus[i].name, l.gpus[i].name);
		assert_string_equal(m.gpus[i].uuid, l.gpus[i].uuid);
		assert_int_equal(l.gpus[i].memory_used_mib,
				 (long long)i * 1000);
		assert_int_equal(l.gpus[i].temperature_c, 30 + (int)i);
	}
	nvsmi_list_release(&l);
	nvsmi_list_release(&m);
}

static void test_mig_list(void **state)
{
	struct nvsmi_list l = NVSMI_LIST_INIT;
	struct gpuctl_err e = GPUCTL_ERR_INIT;

	(void)state;
	parse_data("mig-L.txt", &l, 0, &e);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.gpus[0].name, "NVIDIA A100-SXM4-40GB");
	assert_string_equal(l.gpus[1].uuid,
			    "GPU-5fd3f8b4-4c3e-0bd9-1b77-9e8e0c3a3f02");
	nvsmi_list_release(&l);
}

static void test_errors(void **state)
{
	struct nvsmi_list l = NVSMI_LIST_INIT;
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	const char *nasty = "\x1b]0;owned\x07 NVIDIA-SMI has failed\n";

	(void)state;
	parse_data("driver-failed.txt", &l, -1, &e);
	assert_int_equal(e.kind, GPUCTL_ERR_PARSE);
	assert_non_null(strstr(e.message, "\"NVIDIA-SMI has failed because "
					  "it couldn't communicate"));
	assert_true(strlen(e.message) < 200);
	parse_data("driver-failed-L.txt", &l, -1, &e);
	assert_non_null(strstr(e.message, "NVIDIA-SMI has failed"));
	parse_data("truncated.csv", &l, -1, &e);
	assert_non_null(strstr(e.message, "line 3 has 3 fields, expected 10"));
	parse_data("no-devices.txt", &l, -1, &e);
	assert_non_null(strstr(e.message, "\"No devices were found\""));
	assert_int_equal(l.n, 0);
	assert_null(l.gpus);

	/* control characters never reach the message */
	assert_int_equal(nvsmi_parse_csv(nasty, strlen(nasty), &l, &e), -1);
	assert_null(strchr(e.message, '\x1b'));
	assert_null(strchr(e.message, '\x07'));
	assert_int_equal(nvsmi_parse_list(nasty, strlen(nasty), &l, &e), -1);
	assert_null(strchr(e.message, '\x1b'));

	assert_int_equal(nvsmi_parse_csv("", 0, &l, &e), -1);
	assert_non_null(strstr(e.message, "printed nothing"));
	assert_int_equal(nvsmi_parse_list("\n\n", 2, &l, &e), -1);
	assert_non_null(strstr(e.message, "printed nothing"));

	/* a value that is not a number */
	assert_int_equal(
	    nvsmi_parse_csv("index, memory.total [MiB]\n0, lots\n", 34, &l, &e),
	    -1);
	assert_non_null(strstr(e.message, "bad value \"lots\""));
	err_clear(&e);
}

static void test_header_only(void **state)
{
	struct nvsmi_list l = NVSMI_LIST_INIT;
	struct gpuctl_err e = GPUCTL_ERR_INIT;

	(void)state;
	parse_data("header-only.csv", &l, 0, &e);
	assert_int_equal(l.n, 0);
	nvsmi_list_release(&l);
}

static void test_query_macro(void **state)
{
	(void)state;
	assert_string_equal(NVSMI_QUERY_FIELDS,
			    "index,name,uuid,driver_version,memory.total,"
			    "memory.used,utilization.gpu,temperature.gpu,"
			    "power.draw,pstate");
	assert_true(starts_with(NVSMI_QUERY_COMMAND,
				"nvidia-smi --query-gpu=index,name,"));
	assert_non_null(strstr(NVSMI_QUERY_COMMAND, " --format=csv"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixture_csv),
	    cmocka_unit_test(test_fixture_list),
	    cmocka_unit_test(test_fixture_summary_agrees),
	    cmocka_unit_test(test_recorded_gpu_check),
	    cmocka_unit_test(test_multi_gpu),
	    cmocka_unit_test(test_na_fields_crlf),
	    cmocka_unit_test(test_reordered_quoted),
	    cmocka_unit_test(test_eight_gpus),
	    cmocka_unit_test(test_mig_list),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_header_only),
	    cmocka_unit_test(test_query_macro),
	};
	int r;

	r = cmocka_run_group_tests(tests, NULL, NULL);
	xmlCleanupParser();
	return r;
}
