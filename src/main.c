/*
 * gpuctl: global options and the command table, as git.c does it: each
 * command's entry says what it needs before it runs (CMD_NEEDS_EC2), and
 * cmd_parse_options() builds it once the command's words are parsed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "gpuctl/cmd.h"
#include "gpuctl/ec2.h"
#include "gpuctl/log.h"
#include "gpuctl/ssh.h"
#include "gpuctl/util.h"

#ifndef GPUCTL_VERSION
#define GPUCTL_VERSION "0"
#endif

extern char **environ;

struct command {
	const char *name;
	int (*fn)(int argc, char **argv, struct gpuctl_ctx *ctx);
	unsigned flags; /* enum cmd_needs */
	const char *summary;
	const char *usage;
};

#define EC2 CMD_NEEDS_EC2

/* The order of `gpuctl --help`. */
static const struct command commands[] = {
    {"launch", cmd_launch, EC2, "launch GPU instances and wait until ready",
     cmd_launch_usage},
    {"list", cmd_list, EC2, "list the instances gpuctl launched",
     cmd_list_usage},
    {"show", cmd_show, EC2, "show one instance in detail", cmd_show_usage},
    {"ssh", cmd_ssh, EC2, "log in, or run a command, on an instance",
     cmd_ssh_usage},
    {"cp", cmd_cp, EC2, "copy files to or from an instance", cmd_cp_usage},
    {"test", cmd_test, EC2, "run the ~/test scripts and check the GPUs",
     cmd_test_usage},
    {"stop", cmd_stop, EC2, "stop instances (the volume is kept, and billed)",
     cmd_stop_usage},
    {"start", cmd_start, EC2, "start stopped instances", cmd_start_usage},
    {"terminate", cmd_terminate, EC2,
     "terminate instances (all gone), optionally snapshot first",
     cmd_terminate_usage},
    {"images", cmd_images, EC2, "search AMIs by name", cmd_images_usage},
    {"rules", cmd_rules, EC2, "show or change security group rules",
     cmd_rules_usage},
    /* reports a credentials failure as one of its checks */
    {"doctor", cmd_doctor, 0, "check why a launch or a login fails",
     cmd_doctor_usage},
    {"ssh-config", cmd_ssh_config, EC2, "print an OpenSSH Host block",
     cmd_ssh_config_usage},
    {"api", cmd_api, EC2, "make one raw signed EC2 Query API call",
     cmd_api_usage},
};

#define NCOMMANDS (sizeof(commands) / sizeof(*commands))

static const char global_help[] =
    "usage: gpuctl [GLOBAL OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "Launch and drive EC2 GPU instances.\n"
    "\n"
    "commands:\n"
    "%s"
    "  help COMMAND   show the help of one command\n"
    "\n"
    "global options (also accepted after the command name):\n"
    "  --region R         region (AWS_REGION, AWS_DEFAULT_REGION, "
    "profile region)\n"
    "  --profile P        profile in ~/.aws/config and credentials "
    "(AWS_PROFILE)\n"
    "  --endpoint-url U   EC2 endpoint (AWS_ENDPOINT_URL_EC2, "
    "AWS_ENDPOINT_URL)\n"
    "  --output F         text, json or table (default: table on a "
    "terminal,\n"
    "                     text when piped)\n"
    "  -q, --quiet        only the result on stdout, no progress\n"
    "  --debug            requests and responses on stderr, secrets "
    "redacted\n"
    "                     (twice: canonical requests too)\n"
    "  --no-color         no colors (also NO_COLOR)\n"
    "  --version          print the version\n"
    "  --help             print this help\n"
    "\n"
    "exit status: 0 success, 1 failure, 2 usage, 3 credentials or "
    "configuration,\n"
    "4 AWS API error, 5 timed out, 255 ssh connection or "
    "authentication failure\n";

static void print_help(FILE *f)
{
	struct buf list = BUF_INIT;
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		buf_addf(&list, "  %-14s %s\n", commands[i].name,
			 commands[i].summary);
	fprintf(f, global_help, list.data);
	buf_release(&list);
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int help_command(const char *name)
{
	const struct command *c = find_command(name);

	if (!c) {
		fprintf(stderr, "gpuctl: no such command '%.100s'\n", name);
		return 2;
	}
	fputs(c->usage, stdout);
	return 0;
}

/* stdout is checked before exit, so a full disk or closed pipe is an error. */
static int finish_stdout(int status)
{
	if (fflush(stdout) || ferror(stdout)) {
		perror("gpuctl: write error on stdout");
		return status ? status : 1;
	}
	return status;
}

static void release_ctx(struct gpuctl_ctx *ctx)
{
	ec2_client_free(ctx->ec2);
	ctx->ec2 = NULL;
	creds_config_release(&ctx->cfg);
	log_forget_secrets();
}

/* --help and --version end the options: what follows them is ignored. */
struct main_opts {
	int help;
	int version;
};

static int stop_here(const struct cmd_option *opt, void *field,
		     const char *value, struct gpuctl_err *err)
{
	(void)opt;
	(void)value;
	(void)err;
	*(int *)field = 1;
	return 1;
}

static const struct cmd_option main_options[] = {
    CMD_OPT_CALLBACK('h', "help", struct main_opts, help, stop_here,
		     CMD_OPT_NOARG),
    CMD_OPT_CALLBACK(0, "version", struct main_opts, version, stop_here,
		     CMD_OPT_NOARG),
    CMD_OPT_END(),
};

int main(int argc, char **argv)
{
	struct gpuctl_ctx ctx = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct main_opts m = {0};
	struct cmd_option options[] = {
	    CMD_OPT_INCLUDE_AT(main_options, &m),
	    CMD_OPT_INCLUDE_AT(cmd_global_options, &ctx),
	    CMD_OPT_END(),
	};
	struct cmd_args args;
	const struct command *c;
	const char *no_color = getenv("NO_COLOR");
	int status;

	ctx.envp = environ;
	ctx.output = isatty(STDOUT_FILENO) ? OUT_TABLE : OUT_TEXT;
	ctx.color = isatty(STDERR_FILENO) && !(no_color && *no_color);
	log_set_level(LOG_WARN);
	LIBXML_TEST_VERSION;

	/* up to the command's name; the command parses the rest */
	if (cmd_opt_parse(argc, argv, options, NULL, CMD_OPT_STOP_AT_NON_OPTION,
			  &args, &err)) {
		err_hint(&err, "see 'gpuctl --help'");
		status = cmd_report(&err, NULL);
		err_clear(&err);
		return status;
	}
	cmd_apply_globals(&ctx);
	if (m.help) {
		print_help(stdout);
		return finish_stdout(0);
	}
	if (m.version) {
		printf("gpuctl %s (libssh2 %s%s)\n", GPUCTL_VERSION,
		       ssh_lib_version(),
		       ssh_rsa_sha2_logins()
			   ? ""
			   : ": no RSA logins to OpenSSH 8.8+, no strict key "
			     "exchange");
		return finish_stdout(0);
	}
	if (args.argc < 1) {
		print_help(stderr);
		return 2;
	}
	if (!strcmp(args.argv[0], "help")) {
		if (args.argc < 2) {
			print_help(stdout);
			return finish_stdout(0);
		}
		return finish_stdout(help_command(args.argv[1]));
	}
	c = find_command(args.argv[0]);
	if (!c) {
		fprintf(stderr,
			"gpuctl: '%.100s' is not a gpuctl command\n"
			"hint: see 'gpuctl --help'\n",
			args.argv[0]);
		return 2;
	}
	if (args.argc > 1 &&
	    (!strcmp(args.argv[1], "--help") || !strcmp(args.argv[1], "-h"))) {
		fputs(c->usage, stdout);
		return finish_stdout(0);
	}
	ctx.cmd_flags = c->flags;
	status = c->fn(args.argc, args.argv, &ctx);
	release_ctx(&ctx);
	xmlCleanupParser();
	return finish_stdout(status);
}
