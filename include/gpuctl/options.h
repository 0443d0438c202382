/*
 * options: command-line option tables, as git's parse-options.h has them.
 *
 * A command declares its options once, as a static table over a struct of
 * its own, and parses with one call (cmd_parse_options() in cmd.h), which
 * adds the global options, runs the command's own usage checks and then
 * builds what the command's entry in main.c's table says it needs (the
 * EC2 client for CMD_NEEDS_EC2), so that a usage error (exit 2) always
 * comes before a credentials error (exit 3):
 *
 *	struct cp_opts {
 *		int recursive;
 *		int preserve;
 *		struct svc_reach_opts ssh;
 *	};
 *
 *	static const struct cmd_option cp_options[] = {
 *		CMD_OPT_FLAG('r', NULL, struct cp_opts, recursive),
 *		CMD_OPT_FLAG('p', NULL, struct cp_opts, preserve),
 *		CMD_OPT_SSH_GROUP(struct cp_opts, ssh),
 *		CMD_OPT_END(),
 *	};
 *
 *	static int cp_check(void *opts, const struct cmd_args *args,
 *			    struct gpuctl_err *err)
 *	{
 *		(void)opts;
 *		if (args->argc < 2)
 *			return err_set(err, GPUCTL_ERR_USAGE,
 *				       "need SRC... and DST");
 *		return 0;
 *	}
 *
 *	const struct cmd_parse cmd_cp_parse = {cp_options, 0, cp_check};
 *
 *	int cmd_cp(int argc, char **argv, struct gpuctl_ctx *ctx)
 *	{
 *		struct gpuctl_err err = GPUCTL_ERR_INIT;
 *		struct cp_opts o = {0};
 *		struct cmd_args args;
 *		int status = 0;
 *
 *		if (cmd_parse_options(ctx, argc, argv, &cmd_cp_parse, &o,
 *				      &args, &err)) {
 *			status = cmd_report_parse(&err, "cp");
 *			goto out;
 *		}
 *		... args.argv[0 .. args.argc - 1] are SRC... DST, and
 *		ctx->ec2 is ready ...
 *	out:
 *		cmd_opt_release(cp_options, &o);
 *		err_clear(&err);
 *		return status;
 *	}
 *
 * The rules the parser keeps (getopt's and git's):
 *   - long options: "--name VALUE" and "--name=VALUE" (exact names, no
 *     abbreviations); an option without a value given "=VALUE" is an error;
 *   - short options: "-r -p", bundled "-rp"; a short option that takes a
 *     value ends the bundle and takes the rest of the word ("-lroot", also
 *     "-l=root") or else the next word ("-rl root");
 *   - a value is the next word whatever it looks like ("--timeout -1" is a
 *     range error, not a missing value);
 *   - "--" ends the options: every word after it is positional, and
 *     args->dashdash says where they begin (ssh's "-- COMMAND...");
 *   - "-" alone, and a dash followed by a digit ("-1", "-0.5") unless a
 *     table has that digit as a short option, are positional words;
 *   - options may follow positional words, unless CMD_OPT_STOP_AT_NON_OPTION
 *     makes the first positional word end the options (main.c's, so that
 *     the command's words are the command's);
 *   - the positional words come back in order in args->argv, which points
 *     into the caller's argv: the parser moves them forward over the
 *     options it consumed (as git's parse_options does);
 *   - values are borrowed from argv (no allocation), except CMD_OPT_LIST's
 *     array: cmd_opt_release() frees it, after a failure too;
 *   - an option given twice: the last value wins (a list keeps all, a
 *     count counts);
 *   - errors are GPUCTL_ERR_USAGE (exit 2) with one message shape:
 *       unknown option '--frobnicate'
 *       unknown option '-x' in '-rxp'
 *       option '--region' needs a value
 *       option '--spot' takes no value
 *       option '--count' needs a whole number, not 'many'
 *       option '--count' must be 1 to 100, not '0'
 *       option '--timeout' needs a duration (30s, 10m, 2h, 1d or
 *         seconds), not 'soon'
 *       option '--timeout' must be 1 to 86400 seconds, not '2d'
 *       option '--wait' must be none, running or ssh, not 'sometime'
 *     cmd_parse_options() puts the command's name before the message and
 *     adds "see 'gpuctl help NAME'" as the hint (unless the command's
 *     check gave one of its own), so cmd_report() prints
 *       gpuctl: launch: unknown option '--frobnicate'
 *       hint: see 'gpuctl help launch'
 *
 * Tables are static const: each entry says where its value lives as an
 * offset in the struct the table is over (the macros check the member's
 * type at compile time).  CMD_OPT_INCLUDE includes another table whose
 * struct is a member of this one (the SSH options); CMD_OPT_INCLUDE_AT, in
 * a table built at run time, includes one over any struct (how
 * cmd_parse_options() adds the global options over struct gpuctl_ctx).
 * Lookups go in table order, an included table where it is included.
 */
#ifndef GPUCTL_OPTIONS_H
#define GPUCTL_OPTIONS_H

#include <stddef.h>

#include "gpuctl/err.h"

enum cmd_option_type {
	CMD_OPTION_END = 0,
	CMD_OPTION_FLAG,     /* int: set to defval (1 for CMD_OPT_FLAG) */
	CMD_OPTION_COUNT,    /* int: one more each time (--debug --debug) */
	CMD_OPTION_STRING,   /* const char *: the value, borrowed from argv */
	CMD_OPTION_CHOICE,   /* const char *: one of choices (borrowed) */
	CMD_OPTION_LONG,     /* long: a decimal number in [min, max] */
	CMD_OPTION_DURATION, /* long: seconds, "30s", "10m", "2h", "1d" or
				bare seconds, in [min, max] */
	CMD_OPTION_LIST,     /* struct cmd_opt_list: every value, in order */
	CMD_OPTION_CALLBACK, /* callback(opt, field, value, err) */
	CMD_OPTION_GROUP,    /* another table, included here */
};

/* Per-entry flags. */
enum cmd_option_flags {
	CMD_OPT_NOARG = 1, /* a callback that takes no value (it gets NULL) */
};

/* Parser flags. */
enum cmd_parse_flags {
	/* the first positional word ends the options */
	CMD_OPT_STOP_AT_NON_OPTION = 1,
};

struct cmd_option;

/*
 * A callback gets its field (the struct's address plus the entry's
 * offset) and the value (NULL for CMD_OPT_NOARG).  It returns 0, -1 with
 * err filled (GPUCTL_ERR_USAGE), or 1 to end the options after this one:
 * the words after it are then positional, untouched (main.c's --help).
 */
typedef int cmd_opt_cb(const struct cmd_option *opt, void *field,
		       const char *value, struct gpuctl_err *err);

struct cmd_option {
	enum cmd_option_type type;
	int short_name;			/* 'r', or 0 */
	const char *long_name;		/* "recursive" (no dashes), or NULL */
	size_t offset;			/* of the value in the table's struct */
	unsigned flags;			/* enum cmd_option_flags */
	long min, max;			/* LONG, DURATION: the range */
	int defval;			/* FLAG: the value set */
	const char *const *choices;	/* CHOICE: NULL-terminated */
	cmd_opt_cb *callback;		/* CALLBACK */
	const struct cmd_option *group; /* GROUP: the included table */
	void *base; /* GROUP: its struct; NULL: at offset in this one's */
};

/* What CMD_OPTION_LIST fills: the array is the caller's, the strings
 * are argv's. */
struct cmd_opt_list {
	const char **items;
	size_t n;
};

/* The positional words, in order. */
struct cmd_args {
	int argc;
	char **argv;  /* into the caller's argv; argv[argc] is NULL when the
			caller's argv[argc] was */
	int dashdash; /* index in argv of the first word after "--", or -1 */
};

/* The offset of member m of struct type T, which must be of type type. */
#define CMD_OPT_AT_(T, m, type) \
	(offsetof(T, m) + _Generic(((T *)0)->m, type : 0))

/* clang-format off */
#define CMD_OPT_END() {CMD_OPTION_END, 0, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL}
#define CMD_OPT_FLAG(s, l, T, m) \
	{CMD_OPTION_FLAG, (s), (l), CMD_OPT_AT_(T, m, int), 0, 0, 0, 1, NULL, NULL, NULL, NULL}
#define CMD_OPT_SET_INT(s, l, T, m, v) \
	{CMD_OPTION_FLAG, (s), (l), CMD_OPT_AT_(T, m, int), 0, 0, 0, (v), NULL, NULL, NULL, NULL}
#define CMD_OPT_COUNT(s, l, T, m) \
	{CMD_OPTION_COUNT, (s), (l), CMD_OPT_AT_(T, m, int), 0, 0, 0, 0, NULL, NULL, NULL, NULL}
#define CMD_OPT_STRING(s, l, T, m) \
	{CMD_OPTION_STRING, (s), (l), CMD_OPT_AT_(T, m, const char *), 0, 0, 0, 0, NULL, NULL, NULL, NULL}
#define CMD_OPT_CHOICE(s, l, T, m, choices) \
	{CMD_OPTION_CHOICE, (s), (l), CMD_OPT_AT_(T, m, const char *), 0, 0, 0, 0, (choices), NULL, NULL, NULL}
#define CMD_OPT_LONG(s, l, T, m, lo, hi) \
	{CMD_OPTION_LONG, (s), (l), CMD_OPT_AT_(T, m, long), 0, (lo), (hi), 0, NULL, NULL, NULL, NULL}
#define CMD_OPT_DURATION(s, l, T, m, lo, hi) \
	{CMD_OPTION_DURATION, (s), (l), CMD_OPT_AT_(T, m, long), 0, (lo), (hi), 0, NULL, NULL, NULL, NULL}
#define CMD_OPT_LIST(s, l, T, m) \
	{CMD_OPTION_LIST, (s), (l), CMD_OPT_AT_(T, m, struct cmd_opt_list), 0, 0, 0, 0, NULL, NULL, NULL, NULL}
/* The callback gets the field of member m (any type: it knows which). */
#define CMD_OPT_CALLBACK(s, l, T, m, fn, fl) \
	{CMD_OPTION_CALLBACK, (s), (l), offsetof(T, m), (fl), 0, 0, 0, NULL, (fn), NULL, NULL}
/* table is over ST, and member m of T is an ST. */
#define CMD_OPT_INCLUDE(T, m, ST, table) \
	{CMD_OPTION_GROUP, 0, NULL, CMD_OPT_AT_(T, m, ST), 0, 0, 0, 0, NULL, NULL, (table), NULL}
/* In a table built at run time: table over the struct at ptr. */
#define CMD_OPT_INCLUDE_AT(table, ptr) \
	{CMD_OPTION_GROUP, 0, NULL, 0, 0, 0, 0, 0, NULL, NULL, (table), (ptr)}
/* clang-format on */

/*
 * Parses argv[1 .. argc - 1] (argv[0] is the command's name) against
 * options, writing the values into the struct at base, and returns the
 * positional words in args (see the rules above).  flags: enum
 * cmd_parse_flags.  Returns 0, or -1 with err filled (GPUCTL_ERR_USAGE,
 * the message without the command's name: see cmd_parse_options()).
 */
int cmd_opt_parse(int argc, char **argv, const struct cmd_option *options,
		  void *base, unsigned flags, struct cmd_args *args,
		  struct gpuctl_err *err);

/* Frees the lists a parse filled into the struct at base (zeroing them). */
void cmd_opt_release(const struct cmd_option *options, void *base);

/*
 * For callbacks over an enum: the index of v in choices (NULL-terminated),
 * or -1 with the usage error filled as CMD_OPT_CHOICE words it.
 */
int cmd_opt_choice(const struct cmd_option *opt, const char *const *choices,
		   const char *v, struct gpuctl_err *err);

/*
 * Parses a duration: "30s", "10m", "2h", "1d" or bare seconds, into
 * *seconds.  Returns 0, or -1 when s is not one (or does not fit a long).
 */
int cmd_opt_parse_duration(const char *s, long *seconds);

#endif
