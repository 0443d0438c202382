/*
 * cmd: what every subcommand shares.  main.c parses the global options
 * into struct gpuctl_ctx and hands it to the command with the flags of the
 * command's entry in its table; the command parses its words with
 * cmd_parse_options() (its option table, the global options again, its
 * own usage checks, then the EC2 client when its entry says
 * CMD_NEEDS_EC2; see include/gpuctl/options.h), and reports errors through
 * cmd_report(), which picks nothing but the message: the exit status comes
 * from err_exit_status().
 */
#ifndef GPUCTL_CMD_H
#define GPUCTL_CMD_H

#include "gpuctl/creds.h"
#include "gpuctl/err.h"
#include "gpuctl/options.h"

enum out_format { OUT_TEXT, OUT_JSON, OUT_TABLE };

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
 * Prints "gpuctl: WHAT: MESSAGE" on stderr (with "CODE: " before the
 * message and " (request ID …)" after it for AWS errors), then the hint
 * line, with untrusted text cut and stripped of control characters.
 * Returns err_exit_status(err).
 */
int cmd_report(const struct gpuctl_err *err, const char *what);

/*
 * A live progress line on stderr ("\r" rewritten) when stderr is a
 * terminal and not --quiet; cmd_progress_done() clears it.  Fits the
 * svc_progress callback (ctx is the struct gpuctl_ctx).
 */
void cmd_progress(void *ctx, const char *what, double elapsed_s);
void cmd_progress_done(struct gpuctl_ctx *ctx);

/*
 * SSH to instances, shared by launch, ssh, cp, test and ssh-config
 * (src/cmd/sshcommon.c).
 */
struct ec2_image;
struct ec2_instance;
struct ec2_instance_list;
struct ssh_session;

struct cmd_ssh_wait {
	const struct ec2_image *image; /* for the login user; may be NULL */
	const char *user;	       /* -l, or NULL: guessed */
	const char *key_path;	       /* -i, or NULL: the key pair's */
	int accept_new_hostkey;
	long long deadline_ms; /* svc_now_ms() clock; 0: no deadline */
};

/*
 * Waits until SSH on every instance answers, its host key checks out
 * (pinned from the console output when it shows the fingerprints, else
 * trusted on first use) and a command runs.  Progress on a terminal.
 */
int cmd_wait_ssh(struct gpuctl_ctx *ctx, const struct ec2_instance_list *l,
		 const struct cmd_ssh_wait *w, struct gpuctl_err *err);

/*
 * Connects to one instance (no waiting): the session, or NULL with err
 * filled, its message saying which of the usual causes of a failed login
 * applies (not running, wrong key, wrong address, wrong user, a security
 * group that does not admit this machine's IP).
 */
struct ssh_session *cmd_ssh_connect(struct gpuctl_ctx *ctx,
				    const struct ec2_instance *inst,
				    const struct cmd_ssh_wait *w,
				    struct gpuctl_err *err);

/* The login user for inst: user when set, else guessed from its AMI. */
char *cmd_login_user(struct gpuctl_ctx *ctx, const struct ec2_instance *inst,
		     const char *user);

/*
 * Consumes -l USER, -i KEY or --accept-new-hostkey at argv[*i] into w:
 * 1 when it did, 0 when argv[*i] is none of them, -1 on a missing value.
 */
int cmd_ssh_common_option(int argc, char **argv, int *i, struct cmd_ssh_wait *w,
			  struct gpuctl_err *err);

/* Runs gpuctl test on instances (launch --test); returns the exit status. */
int cmd_test_instances(struct gpuctl_ctx *ctx,
		       const struct ec2_instance_list *l,
		       const struct ec2_image *image, const char *user,
		       const char *key_path);

/* Prints a usage error and returns 2. */
int cmd_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Subcommands, one file each (src/cmd/NAME.c): cmd_NAME() returns the
 * process exit status; cmd_NAME_usage is its help text.
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
