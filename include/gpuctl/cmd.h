/*
 * cmd: what every subcommand shares.  main.c parses the global options
 * into struct gpuctl_ctx and hands it to the command; a command asks for
 * the EC2 client when it needs one, and reports errors through
 * cmd_report(), which picks nothing but the message: the exit status comes
 * from err_exit_status().
 */
#ifndef GPUCTL_CMD_H
#define GPUCTL_CMD_H

#include "gpuctl/creds.h"
#include "gpuctl/err.h"

enum out_format { OUT_TEXT, OUT_JSON, OUT_TABLE };

struct gpuctl_ctx {
	const char *region_flag;
	const char *profile_flag;
	const char *endpoint_flag;
	enum out_format output;
	int quiet;
	int debug;
	int color;
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
 * Prints "gpuctl: WHAT: MESSAGE" on stderr (with "CODE: " before the
 * message and " (request ID …)" after it for AWS errors), then the hint
 * line, with untrusted text cut and stripped of control characters.
 * Returns err_exit_status(err).
 */
int cmd_report(const struct gpuctl_err *err, const char *what);

/* Prints a usage error and returns 2. */
int cmd_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Subcommands: each returns the process exit status. */
int cmd_api(int argc, char **argv, struct gpuctl_ctx *ctx);

#endif
