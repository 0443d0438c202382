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

int cmd_ssh(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct svc_reach_opts w = {0};
	struct svc_ctx svc;
	struct ssh_forward *fw = NULL;
	struct ec2_instance_list found = {0};
	struct ssh_session *s = NULL;
	struct ssh_exec_opts eo = {0};
	const char *instance = NULL;
	char *command = NULL;
	size_t nfw = 0, k;
	int force_pty = 0, no_command = 0, status = 255, i, r;

	memset(&svc, 0, sizeof(svc));

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "-t")) {
			force_pty = 1;
			continue;
		}
		if (!strcmp(a, "-N")) {
			no_command = 1;
			continue;
		}
		if (!strcmp(a, "-L") || !strcmp(a, "-R")) {
			if (i + 1 >= argc) {
				status = cmd_usage_error("ssh",
							 "%s needs a value", a);
				goto out;
			}
			fw = xrealloc(fw, (nfw + 1) * sizeof(*fw));
			memset(&fw[nfw], 0, sizeof(*fw));
			if (ssh_forward_parse(argv[++i], a[1] == 'R', &fw[nfw],
					      &err)) {
				status =
				    cmd_usage_error("ssh", "%s", err.message);
				goto out;
			}
			nfw++;
			continue;
		}
		r = cmd_ssh_common_option(argc, argv, &i, &w, &err);
		if (!r && a[0] == '-')
			r = cmd_global_option(ctx, argc, argv, &i, &err);
		if (r < 0) {
			status = cmd_usage_error("ssh", "%s", err.message);
			goto out;
		}
		if (r)
			continue;
		if (a[0] == '-') {
			status = cmd_usage_error("ssh",
						 "unknown option '%.100s'", a);
			goto out;
		}
		if (instance) {
			status = cmd_usage_error(
			    "ssh",
			    "unexpected '%.100s': put -- before "
			    "the command",
			    a);
			goto out;
		}
		instance = a;
	}
	if (i < argc)
		command = join_command(argc - i, argv + i);
	if (no_command && command) {
		status = cmd_usage_error("ssh", "-N takes no command");
		goto out;
	}
	if (no_command && !nfw) {
		status = cmd_usage_error("ssh", "-N needs -L or -R");
		goto out;
	}
	if (cmd_svc_init(ctx, CMD_SVC_STATE, &svc, &err) ||
	    svc_resolve_instances(&svc, instance ? &instance : NULL,
				  instance ? 1 : 0, &found, &err))
		goto fail;
	s = svc_ssh_connect(&svc, &found.items[0], &w, &err);
	if (!s)
		goto fail_ssh;
	eo.fd_in = STDIN_FILENO;
	eo.fd_out = STDOUT_FILENO;
	eo.fd_err = STDERR_FILENO;
	eo.term = env_get(ctx->envp, "TERM");
	eo.pty = force_pty;
	if (nfw) {
		r = ssh_run_with_forwards(s, fw, nfw,
					  no_command ? NULL : command, &eo,
					  &status, &err);
	} else if (!command && isatty(STDIN_FILENO)) {
		r = ssh_shell(s, eo.term ? eo.term : "xterm", &status, &err);
	} else {
		/* no terminal: a shell reading stdin, as ssh does */
		r = ssh_exec(s,
			     command ? command : "exec \"${SHELL:-/bin/sh}\"",
			     &eo, &status, &err);
	}
	if (r)
		goto fail_ssh;
	goto out;
fail_ssh:
	/* ssh's convention: 255 for connection and login failures */
	cmd_report(&err, "ssh");
	status = 255;
	goto out;
fail:
	status = cmd_report(&err, "ssh");
	if (status == 1 || status == 4)
		status = 255;
out:
	ssh_close(s);
	for (k = 0; k < nfw; k++)
		ssh_forward_release(&fw[k]);
	free(fw);
	free(command);
	ec2_instance_list_release(&found);
	svc_ctx_release(&svc);
	err_clear(&err);
	return status;
}
