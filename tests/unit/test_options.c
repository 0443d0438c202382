/*
 * Tests of the option tables (src/cmd/options.c) and of what the commands
 * build on them (src/cmd/common.c): every type, every rule of
 * include/gpuctl/options.h, the error messages, the global and SSH
 * tables, and cmd_parse_options() putting usage errors before credential
 * errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpuctl/cmd.h"
#include "gpuctl/ec2.h"
#include "gpuctl/log.h"
#include "gpuctl/options.h"
#include "gpuctl/svc_reach.h"
#include "gpuctl/util.h"

struct t_opts {
	int recursive;
	int preserve;
	int verbose;
	int plain;
	const char *name;
	const char *wait;
	long count;
	long offset;
	long timeout;
	struct cmd_opt_list allow;
	const char *mark;
	int halted;
	int failed;
	struct svc_reach_opts ssh;
};

static int mark_cb(const struct cmd_option *opt, void *field, const char *value,
		   struct gpuctl_err *err)
{
	(void)opt;
	if (!strcmp(value, "bad"))
		return err_set(err, GPUCTL_ERR_USAGE, "mark '%s' is bad",
			       value);
	*(const char **)field = value;
	return 0;
}

static int halt_cb(const struct cmd_option *opt, void *field, const char *value,
		   struct gpuctl_err *err)
{
	(void)opt;
	(void)err;
	assert_null(value);
	*(int *)field = 1;
	return 1;
}

/* fails without saying why: the parser words a message */
static int fail_cb(const struct cmd_option *opt, void *field, const char *value,
		   struct gpuctl_err *err)
{
	(void)opt;
	(void)value;
	(void)err;
	*(int *)field = 1;
	return -1;
}

static const char *const waits[] = {"none", "running", "ssh", NULL};

static const struct cmd_option t_options[] = {
    CMD_OPT_FLAG('r', "recursive", struct t_opts, recursive),
    CMD_OPT_FLAG('p', NULL, struct t_opts, preserve),
    CMD_OPT_COUNT('v', "verbose", struct t_opts, verbose),
    CMD_OPT_SET_INT(0, "plain", struct t_opts, plain, 7),
    CMD_OPT_STRING('n', "name", struct t_opts, name),
    CMD_OPT_CHOICE('w', "wait", struct t_opts, wait, waits),
    CMD_OPT_LONG('c', "count", struct t_opts, count, 1, 100),
    CMD_OPT_LONG(0, "offset", struct t_opts, offset, -10, 10),
    CMD_OPT_DURATION('t', "timeout", struct t_opts, timeout, 1, 86400),
    CMD_OPT_LIST(0, "allow", struct t_opts, allow),
    CMD_OPT_CALLBACK(0, "mark", struct t_opts, mark, mark_cb, 0),
    CMD_OPT_CALLBACK(0, "halt", struct t_opts, halted, halt_cb, CMD_OPT_NOARG),
    CMD_OPT_CALLBACK(0, "fail", struct t_opts, failed, fail_cb, 0),
    CMD_OPT_SSH_GROUP(struct t_opts, ssh),
    CMD_OPT_END(),
};

/* argv[0] is "cmd", then the words given; NULL-terminated like main's. */
struct words {
	char *v[40];
	int n;
};

static void set_words(struct words *w, const char *first, va_list ap)
{
	const char *s;

	w->n = 0;
	w->v[w->n++] = (char *)"cmd";
	for (s = first; s; s = va_arg(ap, const char *)) {
		assert_true(w->n < 39);
		w->v[w->n++] = (char *)s;
	}
	w->v[w->n] = NULL;
}

/* Parses the words (NULL-terminated) into o; returns cmd_opt_parse(). */
static int parse(struct t_opts *o, unsigned flags, struct cmd_args *a,
		 struct gpuctl_err *err, struct words *w, const char *first,
		 ...)
{
	va_list ap;

	va_start(ap, first);
	set_words(w, first, ap);
	va_end(ap);
	cmd_opt_release(t_options, o);
	memset(o, 0, sizeof(*o));
	err_clear(err);
	return cmd_opt_parse(w->n, w->v, t_options, o, flags, a, err);
}

/* The parse fails with exactly this usage error. */
#define assert_usage(call, msg)                               \
	do {                                                  \
		assert_int_equal((call), -1);                 \
		assert_int_equal(err.kind, GPUCTL_ERR_USAGE); \
		assert_string_equal(err.message, (msg));      \
		assert_int_equal(err_exit_status(&err), 2);   \
	} while (0)

static void assert_args(const struct cmd_args *a, int n, ...)
{
	va_list ap;
	int k;

	assert_int_equal(a->argc, n);
	va_start(ap, n);
	for (k = 0; k < n; k++)
		assert_string_equal(a->argv[k], va_arg(ap, const char *));
	va_end(ap);
	assert_null(a->argv[n]);
}

static void test_flags_counts(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct t_opts o = {0};
	struct cmd_args a;
	struct words w;

	(void)state;
	assert_int_equal(parse(&o, 0, &a, &err, &w, "--recursive", "-p",
			       "--verbose", "-v", "-vv", "--plain", NULL),
			 0);
	assert_int_equal(o.recursive, 1);
	assert_int_equal(o.preserve, 1);
	assert_int_equal(o.verbose, 4);
	assert_int_equal(o.plain, 7);
	assert_args(&a, 0);
	assert_usage(parse(&o, 0, &a, &err, &w, "--recursive=yes", NULL),
		     "option '--recursive' takes no value");
	assert_usage(parse(&o, 0, &a, &err, &w, "--plain=", NULL),
		     "option '--plain' takes no value");
	/* nothing is set for a flag that was refused */
	assert_int_equal(o.plain, 0);
	err_clear(&err);
	cmd_opt_release(t_options, &o);
}

static void test_strings_and_forms(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct t_opts o = {0};
	struct cmd_args a;
	struct words w;

	(void)state;
	assert_int_equal(parse(&o, 0, &a, &err, &w, "--name", "box", NULL), 0);
	assert_string_equal(o.name, "box");
	/* borrowed from argv, not copied */
	assert_ptr_equal(o.name, w.v[2]);
	assert_int_equal(parse(&o, 0, &a, &err, &w, "--name=a=b", NULL), 0);
	assert_string_equal(o.name, "a=b");
	assert_int_equal(parse(&o, 0, &a, &err, &w, "--name=", NULL), 0);
	assert_string_equal(o.name, "");
	/* the last one wins */
	assert_int_equal(
	    parse(&o, 0, &a, &err, &w, "-n", "x", "--name", "y", NULL), 0);
	assert_string_equal(o.name, "y");
	/* a value is the next word whatever it looks like */
	assert_int_equal(
	    parse(&o, 0, &a, &err, &w, "--name", "--recursive", NULL), 0);
	assert_string_equal(o.name, "--recursive");
	assert_int_equal(o.recursive, 0);
	assert_int_equal(parse(&o, 0, &a, &err, &w, "-n", "-", NULL), 0);
	assert_string_equal(o.name, "-");
	assert_usage(parse(&o, 0, &a, &err, &w, "--name", NULL),
		     "option '--name' needs a value");
	assert_usage(parse(&o, 0, &a, &err, &w, "-n", NULL),
		     "option '-n' needs a value");
	err_clear(&err);
}

static void test_short_bundles(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct t_opts o = {0};
	struct cmd_args a;
	struct words w;

	(void)state;
	assert_int_equal(parse(&o, 0, &a, &err, &w, "-rp", NULL), 0);
	assert_true(o.recursive && o.preserve);
	assert_int_equal(parse(&o, 0, &a, &err, &w, "-pr", "x", NULL), 0);
	assert_true(o.recursive && o.preserve);
	assert_args(&a, 1, "x");
	/* a letter that takes a value ends the bundle */
	assert_int_equal(parse(&o, 0, &a, &err, &w, "-rlroot", NULL), 0);
	assert_true(o.recursive);
	assert_string_equal(o.ssh.user, "root");
	assert_int_equal(parse(&o, 0, &a, &err, &w, "-rl", "ubuntu", "d", NULL),
			 0);
	assert_string_equal(o.ssh.user, "ubuntu");
	assert_args(&a, 1, "d");
	assert_int_equal(parse(&o, 0, &a, &err, &w, "-l=ec2-user", NULL), 0);
	assert_string_equal(o.ssh.user, "ec2-user");
	assert_int_equal(parse(&o, 0, &a, &err, &w, "-c5", "-t2m", NULL), 0);
	assert_int_equal(o.count, 5);
	assert_int_equal(o.timeout, 120);
	assert_usage(parse(&o, 0, &a, &err, &w, "-rl", NULL),
		     "option '-l' needs a value");
	assert_usage(parse(&o, 0, &a, &err, &w, "-rxp", NULL),
		     "unknown option '-x' in '-rxp'");
	/* nothing of a bundle with an unknown letter is set */
	assert_int_equal(o.recursive, 0);
	assert_usage(parse(&o, 0, &a, &err, &w, "-xr", NULL),
		     "unknown option '-xr'");
	assert_usage(parse(&o, 0, &a, &err, &w, "-frobnicate", NULL),
		     "unknown option '-frobnicate'");
	err_clear(&err);
}

static void test_unknown_long(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct t_opts o = {0};
	struct cmd_args a;
	struct words w;

	(void)state;
	assert_usage(parse(&o, 0, &a, &err, &w, "x", "--frobnicate", NULL),
		     "unknown option '--frobnicate'");
	assert_usage(parse(&o, 0, &a, &err, &w, "--frobnicate=3", NULL),
		     "unknown option '--frobnicate'");
	/* exact names only: no abbreviations */
	assert_usage(parse(&o, 0, &a, &err, &w, "--recur", NULL),
		     "unknown option '--recur'");
	assert_usage(parse(&o, 0, &a, &err, &w, "--Recursive", NULL),
		     "unknown option '--Recursive'");
	err_clear(&err);
}

static void test_numbers(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct t_opts o = {0};
	struct cmd_args a;
	struct words w;

	(void)state;
	assert_int_equal(
	    parse(&o, 0, &a, &err, &w, "--count", "100", "--offset=-10", NULL),
	    0);
	assert_int_equal(o.count, 100);
	assert_int_equal(o.offset, -10);
	assert_int_equal(parse(&o, 0, &a, &err, &w, "--offset", "-3", NULL), 0);
	assert_int_equal(o.offset, -3);
	assert_usage(parse(&o, 0, &a, &err, &w, "--count", "0", NULL),
		     "option '--count' must be 1 to 100, not '0'");
	assert_usage(parse(&o, 0, &a, &err, &w, "--count", "101", NULL),
		     "option '--count' must be 1 to 100, not '101'");
	assert_usage(parse(&o, 0, &a, &err, &w, "-c", "-1", NULL),
		     "option '-c' must be 1 to 100, not '-1'");
	assert_usage(parse(&o, 0, &a, &err, &w, "--count",
			   "99999999999999999999999", NULL),
		     "option '--count' must be 1 to 100, not "
		     "'99999999999999999999999'");
	assert_usage(parse(&o, 0, &a, &err, &w, "--count", "many", NULL),
		     "option '--count' needs a whole number, not 'many'");
	assert_usage(parse(&o, 0, &a, &err, &w, "--count=", NULL),
		     "option '--count' needs a whole number, not ''");
	assert_usage(parse(&o, 0, &a, &err, &w, "--count", "5x", NULL),
		     "option '--count' needs a whole number, not '5x'");
	assert_usage(parse(&o, 0, &a, &err, &w, "--count", " 5", NULL),
		     "option '--count' needs a whole number, not ' 5'");
	assert_usage(parse(&o, 0, &a, &err, &w, "--count", "+5", NULL),
		     "option '--count' needs a whole number, not '+5'");
	assert_usage(parse(&o, 0, &a, &err, &w, "--offset", "-", NULL),
		     "option '--offset' needs a whole number, not '-'");
	err_clear(&err);
}

static void test_durations(void **state)
{
	static const struct {
		const char *s;
		long v;
	} good[] = {{"30s", 30}, {"10m", 600}, {"2h", 7200}, {"1d", 86400},
		    {"90", 90},	 {"0", 0},     {"0h", 0},    {"007s", 7}};
	static const char *const bad[] = {"",
					  "s",
					  "-5",
					  "+5",
					  "5x",
					  "5ms",
					  "5 s",
					  " 5",
					  "1.5h",
					  "5S",
					  "h5",
					  "99999999999999999999",
					  "9223372036854775807d"};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct t_opts o = {0};
	struct cmd_args a;
	struct words w;
	size_t k;
	long v;

	(void)state;
	for (k = 0; k < sizeof(good) / sizeof(*good); k++) {
		v = -1;
		assert_int_equal(cmd_opt_parse_duration(good[k].s, &v), 0);
		assert_int_equal(v, good[k].v);
	}
	for (k = 0; k < sizeof(bad) / sizeof(*bad); k++) {
		v = -1;
		assert_int_equal(cmd_opt_parse_duration(bad[k], &v), -1);
		assert_int_equal(v, -1);
	}
	assert_int_equal(parse(&o, 0, &a, &err, &w, "--timeout", "10m", NULL),
			 0);
	assert_int_equal(o.timeout, 600);
	assert_int_equal(parse(&o, 0, &a, &err, &w, "--timeout=600", NULL), 0);
	assert_int_equal(o.timeout, 600);
	assert_usage(parse(&o, 0, &a, &err, &w, "--timeout", "soon", NULL),
		     "option '--timeout' needs a duration (30s, 10m, 2h, 1d or "
		     "seconds), not 'soon'");
	assert_usage(parse(&o, 0, &a, &err, &w, "--timeout", "2d", NULL),
		     "option '--timeout' must be 1 to 86400 seconds, not '2d'");
	assert_usage(parse(&o, 0, &a, &err, &w, "--timeout", "0s", NULL),
		     "option '--timeout' must be 1 to 86400 seconds, not '0s'");
	assert_usage(parse(&o, 0, &a, &err, &w, "--timeout",
			   "9223372036854775807d", NULL),
		     "option '--timeout' must be 1 to 86400 seconds, not "
		     "'9223372036854775807d'");
	err_clear(&err);
}

static void test_choices(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct t_opts o = {0};
	struct cmd_args a;
	struct words w;

	(void)state;
	assert_int_equal(parse(&o, 0, &a, &err, &w, "--wait", "running", NULL),
			 0);
	assert_string_equal(o.wait, "running");
	assert_int_equal(parse(&o, 0, &a, &err, &w, "-wnone", NULL), 0);
	assert_string_equal(o.wait, "none");
	assert_usage(parse(&o, 0, &a, &err, &w, "--wait=sometime", NULL),
		     "option '--wait' must be none, running or ssh, not "
		     "'sometime'");
	assert_usage(parse(&o, 0, &a, &err, &w, "-w", "SSH", NULL),
		     "option '-w' must be none, running or ssh, not 'SSH'");
	assert_null(o.wait);
	err_clear(&err);
}

static void test_lists(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct t_opts o = {0};
	struct cmd_args a;
	struct words w;

	(void)state;
	assert_int_equal(parse(&o, 0, &a, &err, &w, "--allow", "10.0.0.0/8",
			       "x", "--allow=192.0.2.1/32", "--allow", "",
			       NULL),
			 0);
	assert_int_equal(o.allow.n, 3);
	assert_string_equal(o.allow.items[0], "10.0.0.0/8");
	assert_string_equal(o.allow.items[1], "192.0.2.1/32");
	assert_string_equal(o.allow.items[2], "");
	assert_args(&a, 1, "x");
	cmd_opt_release(t_options, &o);
	assert_null(o.allow.items);
	assert_int_equal(o.allow.n, 0);
	/* released after a failure too (ASan sees a leak otherwise) */
	assert_usage(
	    parse(&o, 0, &a, &err, &w, "--allow", "a", "--allow", NULL),
	    "option '--allow' needs a value");
	assert_int_equal(o.allow.n, 1);
	cmd_opt_release(t_options, &o);
	err_clear(&err);
}

static void test_callbacks(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct t_opts o = {0};
	struct cmd_args a;
	struct words w;

	(void)state;
	assert_int_equal(parse(&o, 0, &a, &err, &w, "--mark", "here", NULL), 0);
	assert_string_equal(o.mark, "here");
	assert_usage(parse(&o, 0, &a, &err, &w, "--mark=bad", NULL),
		     "mark 'bad' is bad");
	assert_usage(parse(&o, 0, &a, &err, &w, "--fail", "x", NULL),
		     "option '--fail' has a bad value");
	assert_int_equal(o.failed, 1);
	assert_usage(parse(&o, 0, &a, &err, &w, "--halt=1", NULL),
		     "option '--halt' takes no value");
	/* 1 from a callback ends the options: the rest is positional */
	assert_int_equal(
	    parse(&o, 0, &a, &err, &w, "-r", "--halt", "--bogus", "-p", NULL),
	    0);
	assert_int_equal(o.halted, 1);
	assert_int_equal(o.preserve, 0);
	assert_args(&a, 2, "--bogus", "-p");
	assert_int_equal(a.dashdash, -1);
	err_clear(&err);
}

static void test_positionals(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct t_opts o = {0};
	struct cmd_args a;
	struct words w;

	(void)state;
	/* options after positional words, positional words in order */
	assert_int_equal(parse(&o, 0, &a, &err, &w, "add", "in", "-r", "tcp",
			       "22", "--name", "n", "192.0.2.0/24", NULL),
			 0);
	assert_args(&a, 5, "add", "in", "tcp", "22", "192.0.2.0/24");
	assert_ptr_equal(a.argv, w.v + 1);
	assert_int_equal(a.dashdash, -1);
	assert_true(o.recursive);
	/* "-" and negative numbers are words */
	assert_int_equal(
	    parse(&o, 0, &a, &err, &w, "-", "-1", "-0.5", "-9x", NULL), 0);
	assert_args(&a, 4, "-", "-1", "-0.5", "-9x");
	/* "--" ends the options; dashdash says where */
	assert_int_equal(parse(&o, 0, &a, &err, &w, "box", "-r", "--", "ls",
			       "-l", "--", "--bogus", NULL),
			 0);
	assert_args(&a, 5, "box", "ls", "-l", "--", "--bogus");
	assert_int_equal(a.dashdash, 1);
	assert_null(o.ssh.user);
	assert_int_equal(parse(&o, 0, &a, &err, &w, "--", NULL), 0);
	assert_args(&a, 0);
	assert_int_equal(a.dashdash, 0);
	assert_int_equal(parse(&o, 0, &a, &err, &w, "-p", "--", "-r", NULL), 0);
	assert_args(&a, 1, "-r");
	assert_int_equal(a.dashdash, 0);
	assert_int_equal(o.recursive, 0);
	assert_int_equal(parse(&o, 0, &a, &err, &w, NULL), 0);
	assert_args(&a, 0);
	err_clear(&err);
}

static void test_stop_at_non_option(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct t_opts o = {0};
	struct cmd_args a;
	struct words w;

	(void)state;
	assert_int_equal(parse(&o, CMD_OPT_STOP_AT_NON_OPTION, &a, &err, &w,
			       "-r", "--name", "x", "list", "--bogus", "-p",
			       "--", "y", NULL),
			 0);
	assert_true(o.recursive);
	assert_int_equal(o.preserve, 0);
	assert_string_equal(o.name, "x");
	assert_args(&a, 5, "list", "--bogus", "-p", "--", "y");
	assert_int_equal(a.dashdash, -1);
	assert_int_equal(parse(&o, CMD_OPT_STOP_AT_NON_OPTION, &a, &err, &w,
			       "-p", "--", "-r", NULL),
			 0);
	assert_args(&a, 1, "-r");
	assert_int_equal(a.dashdash, 0);
	assert_int_equal(parse(&o, CMD_OPT_STOP_AT_NON_OPTION, &a, &err, &w,
			       "-1", "-r", NULL),
			 0);
	assert_args(&a, 2, "-1", "-r");
	assert_usage(parse(&o, CMD_OPT_STOP_AT_NON_OPTION, &a, &err, &w,
			   "--bogus", "list", NULL),
		     "unknown option '--bogus'");
	err_clear(&err);
}

struct digits {
	int one;
	const char *name;
};

static void test_digit_short_option(void **state)
{
	static const struct cmd_option options[] = {
	    CMD_OPT_FLAG('1', NULL, struct digits, one),
	    CMD_OPT_STRING('n', NULL, struct digits, name),
	    CMD_OPT_END(),
	};
	char *argv[] = {(char *)"cmd", (char *)"-1", (char *)"-2",
			(char *)"-n",  (char *)"-3", NULL};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct digits d = {0, NULL};
	struct cmd_args a;

	(void)state;
	/* a digit the table knows is an option; others stay numbers */
	assert_int_equal(cmd_opt_parse(5, argv, options, &d, 0, &a, &err), 0);
	assert_int_equal(d.one, 1);
	assert_string_equal(d.name, "-3");
	assert_args(&a, 1, "-2");
}

/* Every name once, across the tables a command sees. */
static void collect(const struct cmd_option *o, const char **longs, size_t *nl,
		    int *shorts, size_t *ns)
{
	size_t k;

	for (; o->type != CMD_OPTION_END; o++) {
		if (o->type == CMD_OPTION_GROUP) {
			collect(o->group, longs, nl, shorts, ns);
			continue;
		}
		assert_true(o->short_name || o->long_name);
		for (k = 0; o->long_name && k < *nl; k++)
			assert_string_not_equal(longs[k], o->long_name);
		for (k = 0; o->short_name && k < *ns; k++)
			assert_int_not_equal(shorts[k], o->short_name);
		if (o->long_name)
			longs[(*nl)++] = o->long_name;
		if (o->short_name)
			shorts[(*ns)++] = o->short_name;
	}
}

static void test_tables_unique(void **state)
{
	const char *longs[64];
	int shorts[64];
	size_t nl = 0, ns = 0;

	(void)state;
	collect(cmd_global_options, longs, &nl, shorts, &ns);
	collect(cmd_ssh_options, longs, &nl, shorts, &ns);
	assert_int_equal(nl, 8);
	assert_int_equal(ns, 3);
	nl = ns = 0;
	collect(t_options, longs, &nl, shorts, &ns);
}

/* Whether the table includes group, and no -l, -i or --accept-new-hostkey
 * of its own outside it. */
static int has_ssh_group(const struct cmd_option *o)
{
	int found = 0;

	for (; o->type != CMD_OPTION_END; o++) {
		if (o->type == CMD_OPTION_GROUP) {
			if (o->group == cmd_ssh_options)
				found = 1;
			else
				found |= has_ssh_group(o->group);
			continue;
		}
		assert_int_not_equal(o->short_name, 'l');
		assert_int_not_equal(o->short_name, 'i');
		assert_false(o->long_name &&
			     !strcmp(o->long_name, "accept-new-hostkey"));
		/* "-1" stays a word (rules' PROTO): no digit options */
		assert_false(o->short_name >= '0' && o->short_name <= '9');
	}
	return found;
}

/* Every command's table with the global options: each name once. */
static void test_command_tables(void **state)
{
	static const struct {
		const char *name;
		const struct cmd_parse *p;
		int ssh;
	} cmds[] = {
	    {"launch", &cmd_launch_parse, 1},
	    {"list", &cmd_list_parse, 0},
	    {"show", &cmd_show_parse, 0},
	    {"ssh", &cmd_ssh_parse, 1},
	    {"cp", &cmd_cp_parse, 1},
	    {"test", &cmd_test_parse, 1},
	    {"stop", &cmd_stop_parse, 0},
	    {"start", &cmd_start_parse, 0},
	    {"terminate", &cmd_terminate_parse, 0},
	    {"images", &cmd_images_parse, 0},
	    {"rules", &cmd_rules_parse, 0},
	    {"doctor", &cmd_doctor_parse, 0},
	    {"ssh-config", &cmd_ssh_config_parse, 1},
	    {"api", &cmd_api_parse, 0},
	};
	const char *longs[64];
	int shorts[64];
	size_t k, nl, ns;

	(void)state;
	for (k = 0; k < sizeof(cmds) / sizeof(*cmds); k++) {
		const struct cmd_option *o = cmds[k].p->options;

		print_message("%s\n", cmds[k].name);
		nl = ns = 0;
		collect(cmd_global_options, longs, &nl, shorts, &ns);
		if (!o)
			continue;
		collect(o, longs, &nl, shorts, &ns);
		assert_int_equal(has_ssh_group(o), cmds[k].ssh);
	}
}

static void ctx_init(struct gpuctl_ctx *ctx, char **envp)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->envp = envp;
	ctx->output = OUT_TABLE;
	ctx->color = 1;
}

static void test_global_options(void **state)
{
	char *argv[] = {(char *)"list",		  (char *)"--region=us-east-1",
			(char *)"--profile",	  (char *)"p",
			(char *)"--endpoint-url", (char *)"http://127.0.0.1:1",
			(char *)"--output=json",  (char *)"--debug",
			(char *)"--debug",	  (char *)"-q",
			(char *)"--no-color",	  NULL};
	struct gpuctl_ctx ctx;
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct cmd_args a;

	(void)state;
	ctx_init(&ctx, NULL);
	assert_int_equal(
	    cmd_parse_options(&ctx, 11, argv, NULL, NULL, &a, &err), 0);
	assert_string_equal(ctx.region_flag, "us-east-1");
	assert_string_equal(ctx.profile_flag, "p");
	assert_string_equal(ctx.endpoint_flag, "http://127.0.0.1:1");
	assert_int_equal(ctx.output, OUT_JSON);
	assert_int_equal(ctx.debug, 2);
	assert_int_equal(ctx.quiet, 1);
	assert_int_equal(ctx.color, 0);
	assert_int_equal(log_get_level(), LOG_DEBUG2);
	assert_args(&a, 0);
	/* -q alone quiets the log; --debug wins over it, in either order */
	argv[1] = (char *)"-q";
	ctx_init(&ctx, NULL);
	log_set_level(LOG_WARN);
	assert_int_equal(cmd_parse_options(&ctx, 2, argv, NULL, NULL, &a, &err),
			 0);
	assert_int_equal(log_get_level(), LOG_ERROR);
	argv[1] = (char *)"--debug";
	argv[2] = (char *)"-q";
	ctx_init(&ctx, NULL);
	assert_int_equal(cmd_parse_options(&ctx, 3, argv, NULL, NULL, &a, &err),
			 0);
	assert_int_equal(log_get_level(), LOG_DEBUG);
	log_set_level(LOG_WARN);
	/* the parse moves positional words forward over argv: set again */
	argv[1] = (char *)"--output";
	argv[2] = (char *)"text";
	ctx_init(&ctx, NULL);
	assert_int_equal(cmd_parse_options(&ctx, 3, argv, NULL, NULL, &a, &err),
			 0);
	assert_int_equal(ctx.output, OUT_TEXT);
	argv[1] = (char *)"--output";
	argv[2] = (char *)"table";
	ctx.output = OUT_TEXT;
	assert_int_equal(cmd_parse_options(&ctx, 3, argv, NULL, NULL, &a, &err),
			 0);
	assert_int_equal(ctx.output, OUT_TABLE);
	argv[1] = (char *)"--output";
	argv[2] = (char *)"yaml";
	assert_usage(cmd_parse_options(&ctx, 3, argv, NULL, NULL, &a, &err),
		     "list: option '--output' must be text, json or table, "
		     "not 'yaml'");
	assert_string_equal(err.hint, "see 'gpuctl help list'");
	err_clear(&err);
}

/* A command like show: --all and one INSTANCE at most. */
struct show_opts {
	int all;
	struct svc_reach_opts ssh;
};

static const struct cmd_option show_options[] = {
    CMD_OPT_FLAG(0, "all", struct show_opts, all),
    CMD_OPT_SSH_GROUP(struct show_opts, ssh),
    CMD_OPT_END(),
};

static const struct cmd_parse show_parse = {show_options, 0,
					    cmd_check_instance};

/* What cmd_report() writes on stderr. */
static char *reported(const struct gpuctl_err *err, int *status)
{
	FILE *f = tmpfile();
	struct buf b = BUF_INIT;
	char chunk[256];
	size_t n;
	int saved;

	assert_non_null(f);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
	*status = cmd_report(err, NULL);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	return buf_detach(&b, NULL);
}

static void test_parse_options_usage_first(void **state)
{
	/* a region but no credentials anywhere: exit 3 once parsed */
	char *no_creds[] = {
	    (char *)"HOME=/nonexistent",
	    (char *)"AWS_CONFIG_FILE=/nonexistent/config",
	    (char *)"AWS_SHARED_CREDENTIALS_FILE=/nonexistent/c",
	    (char *)"AWS_REGION=us-west-1", NULL};
	char *creds[] = {(char *)"HOME=/nonexistent",
			 (char *)"AWS_CONFIG_FILE=/nonexistent/config",
			 (char *)"AWS_SHARED_CREDENTIALS_FILE=/nonexistent/c",
			 (char *)"AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
			 (char *)"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+"
				 "bPxRfiCYEXAMPLEKEY",
			 (char *)"AWS_ENDPOINT_URL=http://127.0.0.1:1",
			 NULL};
	char *argv[6];
	struct gpuctl_ctx ctx;
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct show_opts o = {0, {0}};
	struct cmd_args a;
	char *text;
	int status;

	(void)state;
	argv[0] = (char *)"show";
	argv[1] = (char *)"--frobnicate";
	argv[2] = NULL;
	ctx_init(&ctx, no_creds);
	ctx.cmd_flags = CMD_NEEDS_EC2;
	assert_usage(
	    cmd_parse_options(&ctx, 2, argv, &show_parse, &o, &a, &err),
	    "show: unknown option '--frobnicate'");
	assert_string_equal(err.hint, "see 'gpuctl help show'");
	text = reported(&err, &status);
	assert_string_equal(text,
			    "gpuctl: show: unknown option '--frobnicate'\n"
			    "hint: see 'gpuctl help show'\n");
	assert_int_equal(status, 2);
	free(text);
	assert_null(ctx.ec2);
	/* the command's own check: a usage error too, before the client */
	argv[1] = (char *)"a";
	argv[2] = (char *)"--all";
	argv[3] = (char *)"b";
	argv[4] = NULL;
	err_clear(&err);
	assert_usage(
	    cmd_parse_options(&ctx, 4, argv, &show_parse, &o, &a, &err),
	    "show: unexpected argument 'b': one INSTANCE at a time");
	assert_null(ctx.ec2);
	/* parsed fine: now the credentials are missing (exit 3) */
	argv[1] = (char *)"--all";
	argv[2] = (char *)"-lroot";
	argv[3] = (char *)"i-1";
	err_clear(&err);
	assert_int_equal(
	    cmd_parse_options(&ctx, 4, argv, &show_parse, &o, &a, &err), -1);
	assert_int_equal(err.kind, GPUCTL_ERR_CONFIG);
	assert_int_equal(err_exit_status(&err), 3);
	assert_true(o.all);
	assert_string_equal(o.ssh.user, "root");
	assert_null(ctx.ec2);
	creds_config_release(&ctx.cfg);
	/* without CMD_NEEDS_EC2 nothing is built */
	ctx_init(&ctx, no_creds);
	err_clear(&err);
	argv[1] = (char *)"i-1";
	assert_int_equal(
	    cmd_parse_options(&ctx, 2, argv, &show_parse, &o, &a, &err), 0);
	assert_null(ctx.ec2);
	assert_args(&a, 1, "i-1");
	/* with credentials: the client is ready, globals after the name */
	ctx_init(&ctx, creds);
	ctx.cmd_flags = CMD_NEEDS_EC2;
	argv[1] = (char *)"i-1";
	argv[2] = (char *)"--region=us-east-1";
	argv[3] = NULL;
	assert_int_equal(
	    cmd_parse_options(&ctx, 3, argv, &show_parse, &o, &a, &err), 0);
	assert_non_null(ctx.ec2);
	assert_string_equal(ctx.cfg.region, "us-east-1");
	assert_args(&a, 1, "i-1");
	ec2_client_free(ctx.ec2);
	creds_config_release(&ctx.cfg);
	log_forget_secrets();
	log_set_level(LOG_WARN);
	err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flags_counts),
	    cmocka_unit_test(test_strings_and_forms),
	    cmocka_unit_test(test_short_bundles),
	    cmocka_unit_test(test_unknown_long),
	    cmocka_unit_test(test_numbers),
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_choices),
	    cmocka_unit_test(test_lists),
	    cmocka_unit_test(test_callbacks),
	    cmocka_unit_test(test_positionals),
	    cmocka_unit_test(test_stop_at_non_option),
	    cmocka_unit_test(test_digit_short_option),
	    cmocka_unit_test(test_tables_unique),
	    cmocka_unit_test(test_command_tables),
	    cmocka_unit_test(test_global_options),
	    cmocka_unit_test(test_parse_options_usage_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
