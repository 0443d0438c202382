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
	struct svc_reach_opts w = {0};
	struct svc_ctx svc;
	struct ssh_copy_opts co = {0};
	struct ec2_instance_list found = {0};
	struct ssh_session *s = NULL;
	struct progress pr = {ctx, 0};
	const char **args = xcalloc((size_t)argc, sizeof(*args));
	const char **paths_of = xcalloc((size_t)argc, sizeof(*paths_of));
	char *instance = NULL, *other = NULL;
	size_t nargs = 0, k, nremote = 0;
	int status = 1, i, r, upload;

	memset(&svc, 0, sizeof(svc));

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			for (i++; i < argc; i++)
				args[nargs++] = argv[i];
			break;
		}
		if (a[0] == '-' && a[1] && strcmp(a, "-")) {
			if (!strcmp(a, "-r") || !strcmp(a, "-p") ||
			    !strcmp(a, "-rp") || !strcmp(a, "-pr")) {
				co.recursive |= strchr(a, 'r') != NULL;
				co.preserve |= strchr(a, 'p') != NULL;
				continue;
			}
			r = cmd_ssh_common_option(argc, argv, &i, &w, &err);
			if (!r)
				r = cmd_global_option(ctx, argc, argv, &i,
						      &err);
			if (r < 0) {
				status =
				    cmd_usage_error("cp", "%s", err.message);
				goto out;
			}
			if (!r) {
				status = cmd_usage_error(
				    "cp", "unknown option '%.100s'", a);
				goto out;
			}
			continue;
		}
		args[nargs++] = a;
	}
	if (nargs < 2) {
		status = cmd_usage_error("cp", "need SRC... and DST");
		goto out;
	}
	/* one side remote, one instance */
	for (k = 0; k < nargs; k++) {
		char *inst = NULL;

		if (!split_remote(args[k], &inst, &paths_of[k])) {
			paths_of[k] = args[k];
			continue;
		}
		nremote++;
		if (instance && strcmp(instance, inst)) {
			free(inst);
			status = cmd_usage_error(
			    "cp", "all remote paths must be on one "
				  "instance");
			goto out;
		}
		free(instance);
		instance = inst;
	}
	upload = split_remote(args[nargs - 1], &other, &paths_of[nargs - 1]);
	free(other);
	if (!nremote || (upload && nremote != 1) ||
	    (!upload && nremote != nargs - 1)) {
		status = cmd_usage_error(
		    "cp", "copy either to an instance (SRC... "
			  "INSTANCE:PATH) or from one (INSTANCE:PATH... "
			  "DST)");
		goto out;
	}
	if (cmd_svc_init(ctx, CMD_SVC_STATE, &svc, &err))
		goto fail;
	{
		const char *name = instance;

		if (svc_resolve_instances(&svc, *instance ? &name : NULL,
					  *instance ? 1 : 0, &found, &err))
			goto fail;
	}
	s = svc_ssh_connect(&svc, &found.items[0], &w, &err);
	if (!s) {
		cmd_report(&err, "cp");
		status = 255;
		goto out;
	}
	if (isatty(STDERR_FILENO) && !ctx->quiet) {
		pr.start = svc_now_ms();
		co.progress = show_progress;
		co.progress_ctx = &pr;
	}
	r = upload ? ssh_upload(s, paths_of, nargs - 1, paths_of[nargs - 1],
				&co, &err)
		   : ssh_download(s, paths_of, nargs - 1, paths_of[nargs - 1],
				  &co, &err);
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
	status = cmd_report(&err, "cp");
out:
	ssh_close(s);
	free(instance);
	free(args);
	free(paths_of);
	ec2_instance_list_release(&found);
	svc_ctx_release(&svc);
	err_clear(&err);
	return status;
}
