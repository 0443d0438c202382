/*
 * cmd: what every subcommand shares (src/cmd/cmd_common.c).  main.c parses the
 * global options into struct gpuctl_ctx and hands it to the command.  A
 * command parses its arguments, fills the services' context from ctx
 * (cmd_svc_init()), calls services (gpuctl/svc*.h), hands its rows to
 * out/, and reports errors through cmd_report(), which picks nothing but
 * the message: the exit status comes from err_exit_status().  Services
 * never see struct gpuctl_ctx, and no command calls into another's file.
 */
#ifndef GPUCTL_CMD_H
#define GPUCTL_CMD_H

#include "gpuctl/creds.h"
#include "gpuctl/err.h"
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
	/* filled by cmd_ec2() */
	struct creds_config cfg;
	int have_cfg;
	struct ec2_client *ec2;
};

/*
 * Consumes a global option at argv[*i] (--region R, --region=R, --profile,
 * --endpoint-url, --output, --debug, -q/--quiet, --no-color), so that they
 * may also follow the command name as with the AWS CLI.  Returns 1 when
 * one was consumed (*i then points at its last word), 0 when argv[*i] is
 * not one, -1 with err filled when it is one but malformed.
 */
int cmd_global_option(struct gpuctl_ctx *ctx, int argc, char **argv, int *i,
		      struct gpuctl_err *err);

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
