/*
 * Option tables: the parser behind every command's options (the rules are
 * in include/gpuctl/options.h).  A table walk finds an entry and the
 * struct its value lives in; one function per rule (long, short bundle,
 * value) and one that stores a value by the entry's type.
 */
#include "gpuctl/options.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpuctl/util.h"

/* An entry found, with the struct its value lives in. */
struct found {
	const struct cmd_option *opt;
	char *base;
};

static char *group_base(const struct cmd_option *o, char *base)
{
	return o->base ? (char *)o->base : base + o->offset;
}

/*
 * The entry named by the long name (n bytes of name) or, when name is
 * NULL, by the short name c; table order, groups where they stand.
 */
static int lookup(const struct cmd_option *o, char *base, const char *name,
		  size_t n, int c, struct found *f)
{
	for (; o->type != CMD_OPTION_END; o++) {
		if (o->type == CMD_OPTION_GROUP) {
			if (lookup(o->group, group_base(o, base), name, n, c,
				   f))
				return 1;
			continue;
		}
		if (name ? o->long_name && strlen(o->long_name) == n &&
			       !memcmp(o->long_name, name, n)
			 : o->short_name == c) {
			f->opt = o;
			f->base = base;
			return 1;
		}
	}
	return 0;
}

static int takes_value(const struct cmd_option *o)
{
	switch (o->type) {
	case CMD_OPTION_FLAG:
	case CMD_OPTION_COUNT:
		return 0;
	case CMD_OPTION_CALLBACK:
		return !(o->flags & CMD_OPT_NOARG);
	default:
		return 1;
	}
}

/* "-1", "-0.5": a number, not an option, unless a table says otherwise. */
static int is_negative_number(const struct cmd_option *options, char *base,
			      const char *a)
{
	struct found f;

	return a[0] == '-' && a[1] >= '0' && a[1] <= '9' &&
	       !lookup(options, base, NULL, 0, (unsigned char)a[1], &f);
}

/* How the user wrote the option: "--name" or "-c". */
static void option_name(const struct cmd_option *o, int as_short, char *out,
			size_t size)
{
	if (as_short)
		snprintf(out, size, "-%c", o->short_name);
	else
		snprintf(out, size, "--%.100s", o->long_name);
}

/* "a, b or c" */
static void add_choices(struct buf *b, const char *const *choices)
{
	size_t k;

	for (k = 0; choices[k]; k++) {
		if (k)
			buf_adds(b, choices[k + 1] ? ", " : " or ");
		buf_adds(b, choices[k]);
	}
}

static int bad_choice(const char *name, const char *const *choices,
		      const char *v, struct gpuctl_err *err)
{
	struct buf b = BUF_INIT;

	add_choices(&b, choices);
	err_set(err, GPUCTL_ERR_USAGE, "option '%s' must be %s, not '%.40s'",
		name, b.data, v);
	buf_release(&b);
	return -1;
}

static int find_choice(const char *const *choices, const char *v)
{
	int k;

	for (k = 0; choices[k]; k++)
		if (!strcmp(choices[k], v))
			return k;
	return -1;
}

int cmd_opt_choice(const struct cmd_option *opt, const char *const *choices,
		   const char *v, struct gpuctl_err *err)
{
	char name[112];
	int k = find_choice(choices, v);

	if (k >= 0)
		return k;
	option_name(opt, !opt->long_name, name, sizeof(name));
	return bad_choice(name, choices, v, err);
}

/* 0, -1 when s is not a decimal number, 1 when it does not fit a long. */
static int parse_number(const char *s, long *out)
{
	char *end;

	if (!*s || !(*s == '-' || (*s >= '0' && *s <= '9')))
		return -1;
	errno = 0;
	*out = strtol(s, &end, 10);
	if (*end || end == s || (*s == '-' && end == s + 1))
		return -1;
	return errno == ERANGE ? 1 : 0;
}

/* As cmd_opt_parse_duration(), and 1 when it does not fit a long. */
static int duration(const char *s, long *seconds)
{
	static const char units[] = "smhd";
	static const long mult[] = {1, 60, 3600, 86400};
	const char *u;
	char *end;
	long v;

	if (!(*s >= '0' && *s <= '9'))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (!*end) {
		*seconds = v;
		return errno == ERANGE ? 1 : 0;
	}
	u = strchr(units, *end);
	if (!u || end[1])
		return -1;
	if (errno == ERANGE || v > LONG_MAX / mult[u - units])
		return 1;
	*seconds = v * mult[u - units];
	return 0;
}

int cmd_opt_parse_duration(const char *s, long *seconds)
{
	long v;

	if (duration(s, &v))
		return -1;
	*seconds = v;
	return 0;
}

/* A number or duration in the entry's range, into *out. */
static int ranged(const char *name, const struct cmd_option *o, const char *v,
		  long *out, struct gpuctl_err *err)
{
	int is_duration = o->type == CMD_OPTION_DURATION;
	long n = 0;
	int r = is_duration ? duration(v, &n) : parse_number(v, &n);

	if (r < 0 && is_duration)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "option '%s' needs a duration (30s, 10m, 2h, "
			       "1d or seconds), not '%.40s'",
			       name, v);
	if (r < 0)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "option '%s' needs a whole number, not '%.40s'",
			       name, v);
	if (r > 0 || n < o->min || n > o->max)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "option '%s' must be %ld to %ld%s, not '%.40s'",
			       name, o->min, o->max,
			       is_duration ? " seconds" : "", v);
	*out = n;
	return 0;
}

/* Stores value (NULL for an option without one) by the entry's type. */
static int store(const struct found *f, const char *name, const char *v,
		 struct gpuctl_err *err)
{
	const struct cmd_option *o = f->opt;
	void *field = f->base + o->offset;
	struct cmd_opt_list *l;
	int r;

	switch (o->type) {
	case CMD_OPTION_FLAG:
		*(int *)field = o->defval;
		return 0;
	case CMD_OPTION_COUNT:
		++*(int *)field;
		return 0;
	case CMD_OPTION_STRING:
		*(const char **)field = v;
		return 0;
	case CMD_OPTION_CHOICE:
		if (find_choice(o->choices, v) < 0)
			return bad_choice(name, o->choices, v, err);
		*(const char **)field = v;
		return 0;
	case CMD_OPTION_LONG:
	case CMD_OPTION_DURATION:
		return ranged(name, o, v, field, err);
	case CMD_OPTION_LIST:
		l = field;
		l->items = xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
		l->items[l->n++] = v;
		return 0;
	case CMD_OPTION_CALLBACK:
		r = o->callback(o, field, v, err);
		if (r < 0 && !err->message)
			err_set(err, GPUCTL_ERR_USAGE,
				"option '%s' has a bad value", name);
		return r;
	default:
		return err_set(err, GPUCTL_ERR_OTHER, "bad option table");
	}
}

/* "--name", "--name=value": 1 done, 2 stop, 0 unknown, -1 error. */
static int parse_long_option(int argc, char **argv, int *i,
			     const struct cmd_option *options, char *base,
			     struct gpuctl_err *err)
{
	const char *a = argv[*i] + 2, *eq = strchr(a, '='), *v = NULL;
	size_t n = eq ? (size_t)(eq - a) : strlen(a);
	char name[112];
	struct found f;
	int r;

	if (!lookup(options, base, a, n, 0, &f))
		return 0;
	option_name(f.opt, 0, name, sizeof(name));
	if (!takes_value(f.opt)) {
		if (eq)
			return err_set(err, GPUCTL_ERR_USAGE,
				       "option '%s' takes no value", name);
	} else if (eq) {
		v = eq + 1;
	} else if (*i + 1 < argc) {
		v = argv[++*i];
	} else {
		return err_set(err, GPUCTL_ERR_USAGE,
			       "option '%s' needs a value", name);
	}
	r = store(&f, name, v, err);
	return r < 0 ? -1 : r > 0 ? 2 : 1;
}

/*
 * The letters of a bundle up to the first that takes a value: the index
 * of the first unknown one, or -1 when all are known.
 */
static int unknown_letter(const char *a, const struct cmd_option *options,
			  char *base)
{
	struct found f;
	int k;

	for (k = 1; a[k]; k++) {
		if (!lookup(options, base, NULL, 0, (unsigned char)a[k], &f))
			return k;
		if (takes_value(f.opt))
			break;
	}
	return -1;
}

/* "-r", "-rp", "-lUSER", "-rl USER": as parse_long_option(). */
static int parse_short_options(int argc, char **argv, int *i,
			       const struct cmd_option *options, char *base,
			       struct gpuctl_err *err)
{
	const char *a = argv[*i], *v;
	char name[8];
	struct found f;
	int k, r;

	if (unknown_letter(a, options, base) >= 0)
		return 0;
	for (k = 1; a[k]; k++) {
		lookup(options, base, NULL, 0, (unsigned char)a[k], &f);
		option_name(f.opt, 1, name, sizeof(name));
		v = NULL;
		if (takes_value(f.opt)) {
			if (a[k + 1])
				v = a + k + 1 + (a[k + 1] == '=');
			else if (*i + 1 < argc)
				v = argv[++*i];
			else
				return err_set(err, GPUCTL_ERR_USAGE,
					       "option '%s' needs a value",
					       name);
		}
		r = store(&f, name, v, err);
		if (r)
			return r < 0 ? -1 : 2;
		if (v)
			break;
	}
	return 1;
}

static int parse_word(int argc, char **argv, int *i,
		      const struct cmd_option *options, char *base,
		      struct gpuctl_err *err)
{
	const char *a = argv[*i];

	if (a[0] != '-' || !a[1] || !strcmp(a, "--") ||
	    is_negative_number(options, base, a))
		return 0;
	if (a[1] == '-')
		return parse_long_option(argc, argv, i, options, base, err);
	return parse_short_options(argc, argv, i, options, base, err);
}

static int unknown(const char *a, const struct cmd_option *options, char *base,
		   struct gpuctl_err *err)
{
	const char *eq = strchr(a, '=');
	int k;

	if (a[1] == '-')
		return err_set(err, GPUCTL_ERR_USAGE, "unknown option '%.*s'",
			       (int)(eq && eq - a < 100 ? eq - a : 100), a);
	k = unknown_letter(a, options, base);
	if (k > 1)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "unknown option '-%c' in '%.100s'", a[k], a);
	return err_set(err, GPUCTL_ERR_USAGE, "unknown option '%.100s'", a);
}

int cmd_opt_parse(int argc, char **argv, const struct cmd_option *options,
		  void *base, unsigned flags, struct cmd_args *args,
		  struct gpuctl_err *err)
{
	int i, n = 0, r;

	args->argc = 0;
	args->argv = argc > 0 ? argv + 1 : argv;
	args->dashdash = -1;
	for (i = 1; i < argc; i++) {
		char *a = argv[i];

		if (!strcmp(a, "--")) {
			args->dashdash = n;
			i++;
			break;
		}
		r = parse_word(argc, argv, &i, options, base, err);
		if (r < 0)
			return -1;
		if (r == 2) {
			i++;
			break;
		}
		if (r)
			continue;
		if (a[0] == '-' && a[1] &&
		    !is_negative_number(options, base, a))
			return unknown(a, options, base, err);
		if (flags & CMD_OPT_STOP_AT_NON_OPTION)
			break;
		/* moved forward over the consumed options: 1 + n <= i */
		argv[1 + n++] = a;
	}
	for (; i < argc; i++)
		argv[1 + n++] = argv[i];
	if (1 + n < argc)
		argv[1 + n] = NULL;
	args->argc = n;
	return 0;
}

void cmd_opt_release(const struct cmd_option *o, void *base)
{
	char *b = base;

	for (; o->type != CMD_OPTION_END; o++) {
		if (o->type == CMD_OPTION_GROUP) {
			cmd_opt_release(o->group, group_base(o, b));
		} else if (o->type == CMD_OPTION_LIST) {
			struct cmd_opt_list *l = (void *)(b + o->offset);

			free(l->items);
			l->items = NULL;
			l->n = 0;
		}
	}
}
