/*
 * gpuctl ssh-config [INSTANCE]: an OpenSSH Host block for the instance,
 * from the login svc_reach.h works out (after one connection, so that
 * known_hosts holds its verified host key).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpuctl/cmd.h"
#include "gpuctl/ec2.h"
#include "gpuctl/out.h"
#include "gpuctl/ssh.h"
#include "gpuctl/svc_inventory.h"
#include "gpuctl/svc_keypair.h"
#include "gpuctl/svc_reach.h"

const char cmd_ssh_config_usage[] =
    "usage: gpuctl ssh-config [INSTANCE] [-l USER] [-i KEY]\n"
    "\n"
    "Prints an OpenSSH Host block for the instance (HostName, User, "
    "IdentityFile,\n"
    "UserKnownHostsFile with gpuctl's verified host key, "
    "StrictHostKeyChecking\n"
    "yes), so that ssh, scp, rsync and editors can reuse it:\n"
    "\n"
    "  gpuctl ssh-config >> ~/.ssh/config\n"
    "  gpuctl ssh-config my-gpu > gpu.conf && ssh -F gpu.conf my-gpu\n";

/* A Host alias OpenSSH takes as it is: the Name, else the ID. */
static char *host_alias(const struct ec2_instance *i)
{
	const char *name = ec2_instance_tag(i, "Name");
	struct buf b = BUF_INIT;
	const char *p;

	for (p = name; p && *p && b.len < 64; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-_.", *p))
			buf_addch(&b, *p);
	if (!b.len)
		buf_adds(&b, i->id);
	return buf_detach(&b, NULL);
}

/* ssh_config values are split on blanks: quote a path that has some. */
static void add_path(struct buf *b, const char *key, const char *path)
{
	buf_addf(b, "  %s ", key);
	if (strpbrk(path, " \t"))
		buf_addf(b, "\"%s\"\n", path);
	else
		buf_addf(b, "%s\n", path);
}

/* The Host block of inst, on stdout; 0 or -1. */
static int print_block(struct svc_ctx *svc, const struct ec2_instance *inst,
		       const struct svc_reach_opts *o, struct gpuctl_err *err)
{
	struct svc_login login = {0};
	struct buf b = BUF_INIT;
	char *alias = host_alias(inst), *key = NULL;
	int rc = -1;

	if (svc_login_of(svc, inst, o, &login, err))
		goto out;
	/* an instance without a key pair: the path of an empty name */
	key = login.key_path ? xstrdup(login.key_path)
			     : svc_key_path(svc, "", err);
	if (!key)
		goto out;
	buf_addf(&b, "Host %s\n", alias);
	buf_addf(&b, "  HostName %s\n", inst->public_ip);
	buf_addf(&b, "  User %s\n", login.user);
	add_path(&b, "IdentityFile", key);
	buf_adds(&b, "  IdentitiesOnly yes\n");
	add_path(&b, "UserKnownHostsFile", login.known_hosts);
	buf_adds(&b, "  StrictHostKeyChecking yes\n");
	out_document(b.data, b.len, stdout);
	rc = 0;
out:
	buf_release(&b);
	free(alias);
	free(key);
	svc_login_release(&login);
	return rc;
}

struct ssh_config_opts {
	struct svc_reach_opts ssh;
};

static const struct cmd_option ssh_config_options[] = {
    CMD_OPT_SSH_GROUP(struct ssh_config_opts, ssh),
    CMD_OPT_END(),
};

const struct cmd_parse cmd_ssh_config_parse = {ssh_config_options, 0,
					       cmd_check_instance};

int cmd_ssh_config(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ssh_config_opts o = {{0}};
	struct cmd_args args;
	struct svc_ctx svc;
	struct ec2_instance_list found = {0};
	struct ssh_session *s;
	const struct ec2_instance *inst;
	const char *instance;
	int status = 1;

	memset(&svc, 0, sizeof(svc));
	if (cmd_parse_options(ctx, argc, argv, &cmd_ssh_config_parse, &o, &args,
			      &err)) {
		status = cmd_report_parse(&err, "ssh-config");
		goto out;
	}
	instance = args.argc ? args.argv[0] : NULL;
	if (cmd_svc_init(ctx, CMD_SVC_STATE, &svc, &err) ||
	    svc_resolve_instances(&svc, instance ? &instance : NULL,
				  instance ? 1 : 0, &found, &err))
		goto fail;
	inst = &found.items[0];
	if (!inst->public_ip) {
		err_set(&err, GPUCTL_ERR_OTHER, "%s has no public address (%s)",
			inst->id, inst->state_name ? inst->state_name : "?");
		goto fail;
	}
	/*
	 * Connect once, so that known_hosts holds the verified host key the
	 * block points OpenSSH at; this also checks user and key.
	 */
	s = svc_ssh_connect(&svc, inst, &o.ssh, &err);
	if (!s) {
		cmd_report(&err, "ssh-config");
		status = 255;
		goto out;
	}
	ssh_close(s);
	if (print_block(&svc, inst, &o.ssh, &err))
		goto fail;
	status = 0;
	goto out;
fail:
	status = cmd_report(&err, "ssh-config");
out:
	ec2_instance_list_release(&found);
	svc_ctx_release(&svc);
	err_clear(&err);
	return status;
}
