/*
 * cmd: what every subcommand shares (src/cmd/cmd_common.c).  main.c parses the
 * global options into struct gpuctl_ctx and hands it to the command.  A
 * command parses its words with cmd_parse_options() (its option table,
 * the global options again, its own usage checks, then the EC2 client when
 * its entry in main.c's table says CMD_NEEDS_EC2; see gpuctl/options.h),
 * fills the services' context from ctx (cmd_svc_init()), calls services
 * (gpuctl/svc*.h), hands its rows to out/, and reports errors through cmd_report(), which picks nothing but
 * the message: the exit status comes from err_exit_status().  Services
 * never see struct gpuctl_ctx, and no command calls into another's file.
 */
#ifndef GPUCTL_CMD_H
#define GPUCTL_CMD_H

#include "gpuctl/creds.h"
#include "gpuctl/err.h"
#include "gpuctl/options.h"
#include "gpuctl/out.h"

struct gpuctl_ctx {
	const char *region_flag;
	const char *profile_flag;
	const char *endpoint_flag;
	enum out_format output;
	int quiet;
	int debug;
	int color;
	int progress_shown; /* a progress line is on stderr */
	char **envp;
	unsigned cmd_flags; /* the running command's CMD_NEEDS_* (main.c) */
	/* filled by cmd_ec2() */
	struct creds_config cfg;
	int have_cfg;
	struct ec2_client *ec2;
};

/*
 * The global options, declared once, over struct gpuctl_ctx: --region R,
 * --profile P, --endpoint-url URL, --output text|json|table, --debug
 * (twice: more), -q/--quiet, --no-color.  main.c parses them before the
 * command name (with its own --help, -h and --version); every command
 * accepts them after its name too, as the AWS CLI does.
 */
extern const struct cmd_option cmd_global_options[];

/* What the global options do at once: the log level (--debug, -q). */
void cmd_apply_globals(const struct gpuctl_ctx *ctx);

/* What a command needs before it runs: flags of main.c's command table. */
enum cmd_needs {
	CMD_NEEDS_EC2 = 1 << 0, /* ctx->ec2 (region, endpoint, credentials) */
};

/*
 * How a command parses its words: cmd_NAME_parse, beside its static
 * option table in its file (the unit tests read every one).
 */
struct cmd_parse {
	const struct cmd_option *options; /* its table, or NULL: none */
	unsigned flags;			  /* enum cmd_parse_flags */
	/*
	 * Its own usage checks on the parsed options and positional words,
	 * or NULL: return 0, or -1 with err filled (GPUCTL_ERR_USAGE, the
	 * message without the command's name; a hint of its own is kept).
	 * Runs before anything the command needs is built, so that usage
	 * errors come first; it may keep what it worked out in opts (the
	 * command frees it) and read what a usage check needs (launch's
	 * --user-data file: an error reading it keeps its own kind).
	 */
	int (*check)(void *opts, const struct cmd_args *args,
		     struct gpuctl_err *err);
};

/*
 * Parses argv (argv[0] is the command's name) against p->options over the
 * struct at opts and the global options over ctx, applies the global
 * options, runs p->check, and then builds what ctx->cmd_flags asks for
 * (CMD_NEEDS_EC2: cmd_ec2()).  Returns 0 with the positional words in
 * args, or -1 with err filled: a usage error's message starts with the
 * command's name and its hint is "see 'gpuctl help NAME'" (unless the
 * check gave one), so that cmd_report(err, NULL) prints it in the usual
 * shape and returns 2; an error building the client is cmd_ec2()'s (exit
 * 3 for credentials).  cmd_report_parse() reports either.
 * cmd_opt_release(p->options, opts) frees the lists, after a failure too.
 */
int cmd_parse_options(struct gpuctl_ctx *ctx, int argc, char **argv,
		      const struct cmd_parse *p, void *opts,
		      struct cmd_args *args, struct gpuctl_err *err);

/*
 * Reports what cmd_parse_options() failed on: a usage error as it is
 * (the command's name is in it), any other with what before it, as the
 * command reports its other failures ("launch failed", "ssh", or NULL).
 * Returns the exit status.
 */
int cmd_report_parse(const struct gpuctl_err *err, const char *what);

/*
 * Checks for struct cmd_parse: a command that takes no positional word;
 * one that takes at most one INSTANCE.  The first word too many is
 * "unexpected argument 'X'" (with ": one INSTANCE at a time").
 */
int cmd_check_no_words(void *opts, const struct cmd_args *args,
		       struct gpuctl_err *err);
int cmd_check_instance(void *opts, const struct cmd_args *args,
		       struct gpuctl_err *err);

/*
 * What they say, for a command's own check: 0 when args holds at most max
 * words, else -1 with "unexpected argument 'X'" and, when why is not
 * NULL, ": WHY" after it.
 */
int cmd_check_words(const struct cmd_args *args, int max, const char *why,
		    struct gpuctl_err *err);

/*
 * The SSH options of ssh, cp, test, launch and ssh-config, declared once:
 * -l USER, -i KEY, --accept-new-hostkey, over the services' login options
 * (struct svc_reach_opts, svc_reach.h: user, key_path,
 * accept_new_hostkey), so that what they parse goes to svc_ssh_connect()
 * as it is.  A command includes them with CMD_OPT_SSH_GROUP(struct
 * its_opts, member) over a struct svc_reach_opts member of its own.
 */
struct svc_reach_opts;
extern const struct cmd_option cmd_ssh_options[];

#define CMD_OPT_SSH_GROUP(T, m) \
	CMD_OPT_INCLUDE(T, m, struct svc_reach_opts, cmd_ssh_options)

/* Resolves region, endpoint and credentials, then makes ctx->ec2. */
int cmd_ec2(struct gpuctl_ctx *ctx, struct gpuctl_err *err);

/*
 * The services' context from ctx: cmd_ec2(), then the client, region, CA
 * bundle, environment and the progress line (cmd_progress()); with
 * CMD_SVC_STATE also gpuctl's local folders, at once.  s is zeroed first
 * and is released with svc_ctx_release() whatever this returns.
 */
struct svc_ctx;
enum cmd_svc_needs { CMD_SVC_EC2 = 0, CMD_SVC_STATE = 1 };
int cmd_svc_init(struct gpuctl_ctx *ctx, enum cmd_svc_needs needs,
		 struct svc_ctx *s, struct gpuctl_err *err);

/*
 * Prints "gpuctl: WHAT: MESSAGE" on stderr (with "CODE: " before the
 * message and " (request ID …)" after it for AWS errors), then the hint
 * line, with untrusted text cut and stripped of control characters.
 * Returns err_exit_status(err).
 */
int cmd_report(const struct gpuctl_err *err, const char *what);

/*
 * A live progress line on stderr ("\r" rewritten) when stderr is a
 * terminal and not --quiet; cmd_progress_done() clears it.  They are the
 * services' reporter (struct svc_reporter; ctx is the struct gpuctl_ctx).
 */
void cmd_progress(void *ctx, const char *what, double elapsed_s);
void cmd_progress_done(void *ctx);

struct ec2_instance;

/*
 * gpuctl test on one instance (also launch --test): connects, uploads
 * upload (may be NULL) into dir, runs the scripts of dir and the GPU
 * check (svc_gputest.h), prints the last lines of each failed check's
 * output on stderr and the rows on stdout.  Returns the exit status: 1
 * when a check failed, 255 when SSH did.
 */
int cmd_gputest(struct gpuctl_ctx *ctx, struct svc_ctx *svc,
		const struct ec2_instance *inst, const struct svc_reach_opts *o,
		const char *dir, const char *upload);

/*
 * Subcommands, one file each (src/cmd/cmd_NAME.c; cmd_lifecycle.c holds
 * stop, start and terminate): cmd_NAME() returns the process exit status;
 * cmd_NAME_usage is its help text; cmd_NAME_parse how it parses its words
 * (its option table over a struct of its own, and its checks).
 */
#define GPUCTL_COMMAND(name)                                           \
	int cmd_##name(int argc, char **argv, struct gpuctl_ctx *ctx); \
	extern const char cmd_##name##_usage[];                        \
	extern const struct cmd_parse cmd_##name##_parse

GPUCTL_COMMAND(launch);
GPUCTL_COMMAND(list);
GPUCTL_COMMAND(show);
GPUCTL_COMMAND(ssh);
GPUCTL_COMMAND(cp);
GPUCTL_COMMAND(test);
GPUCTL_COMMAND(stop);
GPUCTL_COMMAND(start);
GPUCTL_COMMAND(terminate);
GPUCTL_COMMAND(images);
GPUCTL_COMMAND(rules);
GPUCTL_COMMAND(doctor);
GPUCTL_COMMAND(ssh_config);
GPUCTL_COMMAND(api);

#endif
