/*
 * cmd: what every subcommand shares (src/cmd/cmd_common.c).  main.c parses the
 * global options into struct gpuctl_ctx and hands it to the command.  A
 * command parses its words with cmd_parse_options() (its option table,
 * the global options again, its own usage checks, then the EC2 client when
 * its entry in main.c's table says CMD_NEEDS_EC2; see gpuctl/options.h),
 * fills the services' context from ctx (cmd_svc_init()), calls services (gpuctl/svc*.h), hands its rows to
 * out/, and reports errors through cmd_report(), which picks nothing but
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

/*
 * Consumes a global option at argv[*i] (cmd_opt_parse_one() over
 * cmd_global_options, then cmd_apply_globals()), for the commands' argv
 * loops until they use cmd_parse_options().  Returns 1 when one was
 * consumed (*i then points at its last word), 0 when argv[*i] is not one,
 * -1 with err filled when it is one but malformed.
 */
int cmd_global_option(struct gpuctl_ctx *ctx, int argc, char **argv, int *i,
		      struct gpuctl_err *err);

/* What a command needs before it runs: flags of main.c's command table. */
enum cmd_needs {
	CMD_NEEDS_EC2 = 1 << 0, /* ctx->ec2 (region, endpoint, credentials) */
};

/* How a command parses its words (a static const per command). */
struct cmd_parse {
	const struct cmd_option *options; /* its table, or NULL: none */
	unsigned flags;			  /* enum cmd_parse_flags */
	/*
	 * Its own usage checks on the parsed options and positional words,
	 * or NULL: return 0, or -1 with err filled (GPUCTL_ERR_USAGE, the
	 * message without the command's name).  Runs before anything the
	 * command needs is built, so that usage errors come first.
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
 * command's name and its hint is "see 'gpuctl help NAME'", so that
 * cmd_report(err, NULL) prints it in the usual shape and returns 2; an
 * error building the client is cmd_ec2()'s (exit 3 for credentials).
 * cmd_opt_release(p->options, opts) frees the lists, after a failure too.
 */
int cmd_parse_options(struct gpuctl_ctx *ctx, int argc, char **argv,
		      const struct cmd_parse *p, void *opts,
		      struct cmd_args *args, struct gpuctl_err *err);

/*
 * The SSH options of ssh, cp, test, launch and ssh-config, declared once:
 * -l USER, -i KEY, --accept-new-hostkey.  A command includes them with
 * CMD_OPT_SSH_GROUP(struct its_opts, member) over a struct cmd_ssh_opts
 * member of its own struct.
 */
struct cmd_ssh_opts {
	const char *user;     /* -l, or NULL: guessed from the AMI */
	const char *key_path; /* -i, or NULL: the key pair's */
	int accept_new_hostkey;
};

extern const struct cmd_option cmd_ssh_options[];

#define CMD_OPT_SSH_GROUP(T, m) \
	CMD_OPT_INCLUDE(T, m, struct cmd_ssh_opts, cmd_ssh_options)

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
struct svc_reach_opts;

/*
 * Consumes -l USER, -i KEY or --accept-new-hostkey at argv[*i] into o:
 * 1 when it did, 0 when argv[*i] is none of them, -1 on a missing value.
 */
int cmd_ssh_common_option(int argc, char **argv, int *i,
			  struct svc_reach_opts *o, struct gpuctl_err *err);

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

/* Prints a usage error and returns 2. */
int cmd_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Subcommands, one file each (src/cmd/cmd_NAME.c; cmd_lifecycle.c holds
 * stop, start and terminate): cmd_NAME() returns the process exit status;
 * cmd_NAME_usage is its help text.
 */
#define GPUCTL_COMMAND(name)                                           \
	int cmd_##name(int argc, char **argv, struct gpuctl_ctx *ctx); \
	extern const char cmd_##name##_usage[]

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
