/*
 * gpuctl cp [-r] [-p] SRC... DST: scp's syntax, over SFTP.  The instance
 * comes from svc_inventory.h, the session from svc_reach.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpuctl/cmd.h"
#include "gpuctl/ec2.h"
#include "gpuctl/out.h"
#include "gpuctl/ssh.h"
#include "gpuctl/svc_inventory.h"
#include "gpuctl/svc_reach.h"

const char cmd_cp_usage[] =
    "usage: gpuctl cp [-r] [-p] [-l USER] [-i KEY] SRC... DST\n"
    "\n"
    "Copies files to or from an instance over SFTP, in scp's syntax: a "
    "remote\n"
    "path is INSTANCE:PATH (an instance ID or Name) or :PATH for the last "
    "launched\n"
    "instance; relative remote paths start in the login user's home.  "
    "Files are\n"
    "written under a temporary name and renamed when complete, so a "
    "partial copy\n"
    "never replaces a good file.\n"
    "\n"
    "options:\n"
    "  -r     copy folders recursively\n"
    "  -p     keep modes and modification times\n"
    "  -l USER, -i KEY, --accept-new-hostkey   as for gpuctl ssh\n"
    "\n"
    "examples:\n"
    "  gpuctl cp -r results :work/           # upload to the last "
    "instance\n"
    "  gpuctl cp -rp my-gpu:work/out ./out   # download\n";

/*
 * Splits an scp argument: remote when it has a ':' before any '/', as scp
 * decides.  *instance is "" for ":PATH" (the last instance).
 */
static int split_remote(const char *arg, char **instance, const char **path)
{
	const char *colon = strchr(arg, ':');
	const char *slash = strchr(arg, '/');

	if (!colon || (slash && slash < colon))
		return 0;
	*instance = xstrndup(arg, (size_t)(colon - arg));
	*path = colon[1] ? colon + 1 : ".";
	return 1;
}

struct cp_opts {
	int recursive;
	int preserve;
	struct svc_reach_opts ssh;
	/* worked out by cp_check() */
	char *instance;	    /* "" for the last instance */
	const char **paths; /* the words without their INSTANCE: */
	size_t n;	    /* SRC... DST */
	int upload;
};

static const struct cmd_option cp_options[] = {
    CMD_OPT_FLAG('r', NULL, struct cp_opts, recursive),
    CMD_OPT_FLAG('p', NULL, struct cp_opts, preserve),
    CMD_OPT_SSH_GROUP(struct cp_opts, ssh),
    CMD_OPT_END(),
};

/* SRC... DST: one side remote, on one instance. */
static int cp_check(void *opts, const struct cmd_args *args,
		    struct gpuctl_err *err)
{
	struct cp_opts *o = opts;
	size_t k, nremote = 0;

	if (args->argc < 2)
		return err_set(err, GPUCTL_ERR_USAGE, "need SRC... and DST");
	o->n = (size_t)args->argc;
	o->paths = xcalloc(o->n, sizeof(*o->paths));
	for (k = 0; k < o->n; k++) {
		char *inst = NULL;

		if (!split_remote(args->argv[k], &inst, &o->paths[k])) {
			o->paths[k] = args->argv[k];
			continue;
		}
		nremote++;
		o->upload = k == o->n - 1;
		if (o->instance && strcmp(o->instance, inst)) {
			free(inst);
			return err_set(err, GPUCTL_ERR_USAGE,
				       "all remote paths must be on one "
				       "instance");
		}
		free(o->instance);
		o->instance = inst;
	}
	if (!nremote || (o->upload && nremote != 1) ||
	    (!o->upload && nremote != o->n - 1))
		return err_set(err, GPUCTL_ERR_USAGE,
			       "copy either to an instance (SRC... "
			       "INSTANCE:PATH) or from one (INSTANCE:PATH... "
			       "DST)");
	return 0;
}

const struct cmd_parse cmd_cp_parse = {cp_options, 0, cp_check};

struct progress {
	struct gpuctl_ctx *ctx;
	long long start;
};

static void show_progress(void *arg, const char *name, unsigned long long done,
			  unsigned long long total)
{
	struct progress *p = arg;
	struct buf b = BUF_INIT;
	double s = (double)(svc_now_ms() - p->start) / 1000.0;

	out_sanitize(&b, name);
	if (total)
		buf_addf(&b, "  %3llu%%", done * 100 / total);
	buf_addf(&b, "  %.1f MB  %.1f MB/s", (double)done / 1e6,
		 s > 0 ? (double)done / 1e6 / s : 0.0);
	cmd_progress(p->ctx, b.data, s);
	buf_release(&b);
}

int cmd_cp(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct cp_opts o;
	struct cmd_args args;
	struct svc_ctx svc;
	struct ssh_copy_opts co = {0};
	struct ec2_instance_list found = {0};
	struct ssh_session *s = NULL;
	struct progress pr = {ctx, 0};
	const char *name;
	int status = 1, r;

	memset(&o, 0, sizeof(o));
	memset(&svc, 0, sizeof(svc));
	if (cmd_parse_options(ctx, argc, argv, &cmd_cp_parse, &o, &args, &err))
		goto fail;
	name = o.instance;
	if (cmd_svc_init(ctx, CMD_SVC_STATE, &svc, &err) ||
	    svc_resolve_instances(&svc, *name ? &name : NULL, *name ? 1 : 0,
				  &found, &err))
		goto fail;
	s = svc_ssh_connect(&svc, &found.items[0], &o.ssh, &err);
	if (!s) {
		cmd_report(&err, "cp");
		status = 255;
		goto out;
	}
	co.recursive = o.recursive;
	co.preserve = o.preserve;
	if (isatty(STDERR_FILENO) && !ctx->quiet) {
		pr.start = svc_now_ms();
		co.progress = show_progress;
		co.progress_ctx = &pr;
	}
	r = o.upload
		? ssh_upload(s, o.paths, o.n - 1, o.paths[o.n - 1], &co, &err)
		: ssh_download(s, o.paths, o.n - 1, o.paths[o.n - 1], &co,
			       &err);
	cmd_progress_done(ctx);
	if (r) {
		status = cmd_report(&err, "cp");
		if (status == 4)
			status = 1;
		goto out;
	}
	status = 0;
	goto out;
fail:
	status = cmd_report_parse(&err, "cp");
out:
	ssh_close(s);
	free(o.instance);
	free(o.paths);
	ec2_instance_list_release(&found);
	svc_ctx_release(&svc);
	err_clear(&err);
	return status;
}
