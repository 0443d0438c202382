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
