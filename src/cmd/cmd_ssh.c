/*
 * gpuctl ssh [INSTANCE] [-l USER] [-i KEY] [-t] [-L SPEC] [-R SPEC] [-N]
 *            [-- COMMAND...]: a shell, a command or forwards over the
 * session svc_ssh_connect() opens (svc_reach.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpuctl/cmd.h"
#include "gpuctl/ec2.h"
#include "gpuctl/ssh.h"
#include "gpuctl/svc_inventory.h"
#include "gpuctl/svc_reach.h"

const char cmd_ssh_usage[] =
    "usage: gpuctl ssh [INSTANCE] [-l USER] [-i KEY] [-t] [-L SPEC]... "
    "[-R SPEC]...\n"
    "                  [-N] [--accept-new-hostkey] [-- COMMAND...]\n"
    "\n"
    "Without a command, an interactive login shell in a terminal.  With "
    "one, runs\n"
    "it with stdin, stdout and stderr streamed both ways and exits with "
    "its exit\n"
    "status (128+N for a signal N, 255 when the connection or the login "
    "fails).\n"
    "INSTANCE is an instance ID, a Name, or omitted: the last launched.\n"
    "\n"
    "options:\n"
    "  -l USER      login user (default: guessed from the AMI)\n"
    "  -i KEY       private key (default: the key pair's, under "
    "~/.config/gpuctl)\n"
    "  -t           a terminal for COMMAND too\n"
    "  -L [BIND:]PORT:HOST:HOSTPORT\n"
    "               forward local PORT to HOST:HOSTPORT as seen from the "
    "instance\n"
    "               (a notebook or TensorBoard in your browser)\n"
    "  -R PORT:HOST:HOSTPORT\n"
    "               forward the instance's PORT to HOST:HOSTPORT here\n"
    "  -N           forward only, no command (until Ctrl-C)\n"
    "  --accept-new-hostkey  replace a known host key that changed\n"
    "\n"
    "examples:\n"
    "  gpuctl ssh\n"
    "  gpuctl ssh my-gpu -- nvidia-smi\n"
    "  tar c data | gpuctl ssh -- tar x -C work\n"
    "  gpuctl ssh -N -L 8888:localhost:8888\n";

/* Joins argv as the remote shell will read it, like OpenSSH: spaces. */
static char *join_command(int argc, char **argv)
{
	struct buf b = BUF_INIT;
	int i;

	for (i = 0; i < argc; i++) {
		if (i)
			buf_addch(&b, ' ');
		buf_adds(&b, argv[i]);
	}
	return buf_detach(&b, NULL);
}

/* The -L and -R forwards, in command-line order. */
struct forwards {
	struct ssh_forward *items;
	size_t n;
};

struct ssh_opts {
	struct svc_reach_opts ssh;
	int pty;	/* -t */
	int no_command; /* -N */
	struct forwards fw;
};

/* -L SPEC and -R SPEC, both into one list. */
static int forward_cb(const struct cmd_option *opt, void *field, const char *v,
		      struct gpuctl_err *err)
{
	struct forwards *l = field;

	l->items = xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
	memset(&l->items[l->n], 0, sizeof(*l->items));
	if (ssh_forward_parse(v, opt->short_name == 'R', &l->items[l->n], err))
		return -1;
	l->n++;
	return 0;
}

static const struct cmd_option ssh_options[] = {
    CMD_OPT_SSH_GROUP(struct ssh_opts, ssh),
    CMD_OPT_FLAG('t', NULL, struct ssh_opts, pty),
    CMD_OPT_FLAG('N', NULL, struct ssh_opts, no_command),
    CMD_OPT_CALLBACK('L', NULL, struct ssh_opts, fw, forward_cb, 0),
    CMD_OPT_CALLBACK('R', NULL, struct ssh_opts, fw, forward_cb, 0),
    CMD_OPT_END(),
};

/* The words after "--", or none. */
static int has_command(const struct cmd_args *args)
{
	return args->dashdash >= 0 && args->dashdash < args->argc;
}

/* [INSTANCE] before "--", the command after it. */
static int ssh_check(void *opts, const struct cmd_args *args,
		     struct gpuctl_err *err)
{
	const struct ssh_opts *o = opts;
	struct cmd_args before = *args;

	if (args->dashdash >= 0)
		before.argc = args->dashdash;
	if (cmd_check_words(&before, 1, "put -- before the command", err))
		return -1;
	if (o->no_command && has_command(args))
		return err_set(err, GPUCTL_ERR_USAGE,
			       "option '-N' takes no command");
	if (o->no_command && !o->fw.n)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "option '-N' needs -L or -R");
	return 0;
}

const struct cmd_parse cmd_ssh_parse = {ssh_options, 0, ssh_check};

/* The session's work: forwards, a shell, or the command; 0 or -1. */
static int run(struct gpuctl_ctx *ctx, struct ssh_session *s,
	       const struct ssh_opts *o, const char *command, int *status,
	       struct gpuctl_err *err)
{
	struct ssh_exec_opts eo = {0};

	eo.fd_in = STDIN_FILENO;
	eo.fd_out = STDOUT_FILENO;
	eo.fd_err = STDERR_FILENO;
	eo.term = env_get(ctx->envp, "TERM");
	eo.pty = o->pty;
	if (o->fw.n)
		return ssh_run_with_forwards(s, o->fw.items, o->fw.n,
					     o->no_command ? NULL : command,
					     &eo, status, err);
	if (!command && isatty(STDIN_FILENO))
		return ssh_shell(s, eo.term ? eo.term : "xterm", status, err);
	/* no terminal: a shell reading stdin, as ssh does */
	return ssh_exec(s, command ? command : "exec \"${SHELL:-/bin/sh}\"",
			&eo, status, err);
}

int cmd_ssh(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ssh_opts o = {0};
	struct cmd_args args;
	struct svc_ctx svc;
	struct ec2_instance_list found = {0};
	struct ssh_session *s = NULL;
	const char *instance = NULL;
	char *command = NULL;
	size_t k;
	int status = 255;

	memset(&svc, 0, sizeof(svc));
	if (cmd_parse_options(ctx, argc, argv, &cmd_ssh_parse, &o, &args, &err))
		goto fail;
	if (args.argc && args.dashdash != 0)
		instance = args.argv[0];
	if (has_command(&args))
		command = join_command(args.argc - args.dashdash,
				       args.argv + args.dashdash);
	if (cmd_svc_init(ctx, CMD_SVC_STATE, &svc, &err) ||
	    svc_resolve_instances(&svc, instance ? &instance : NULL,
				  instance ? 1 : 0, &found, &err))
		goto fail;
	s = svc_ssh_connect(&svc, &found.items[0], &o.ssh, &err);
	if (!s || run(ctx, s, &o, command, &status, &err)) {
		/* ssh's convention: 255 for connection and login failures */
		cmd_report(&err, "ssh");
		status = 255;
	}
	goto out;
fail:
	status = cmd_report_parse(&err, "ssh");
	if (status == 1 || status == 4)
		status = 255;
out:
	ssh_close(s);
	for (k = 0; k < o.fw.n; k++)
		ssh_forward_release(&o.fw.items[k]);
	free(o.fw.items);
	free(command);
	ec2_instance_list_release(&found);
	svc_ctx_release(&svc);
	err_clear(&err);
	return status;
}
