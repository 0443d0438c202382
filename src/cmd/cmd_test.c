/*
 * gpuctl test [INSTANCE] [--dir DIR] [--upload LOCALDIR]: runs the scripts
 * of ~/test on the instance, then a GPU check from nvidia-smi.  Parses;
 * the run and its printer are cmd_gputest()'s (cmd_common.c), shared with
 * launch --test.
 */
#include <string.h>

#include "gpuctl/cmd.h"
#include "gpuctl/ec2.h"
#include "gpuctl/svc_inventory.h"
#include "gpuctl/svc_reach.h"

const char cmd_test_usage[] =
    "usage: gpuctl test [INSTANCE] [--dir DIR] [--upload LOCALDIR] [-l "
    "USER] [-i KEY]\n"
    "\n"
    "Runs every executable file in ~/test (or DIR) on the instance, one "
    "row per\n"
    "script (name, pass or fail, seconds, and the last lines of its output "
    "when\n"
    "it failed), then checks the GPUs with nvidia-smi (name, memory, "
    "driver).\n"
    "Exit status 1 when a script or the GPU check failed.\n"
    "\n"
    "options:\n"
    "  --dir DIR          the folder of scripts (default: test, in the "
    "home)\n"
    "  --upload LOCALDIR  copy the files of LOCALDIR into DIR first\n"
    "  -l USER, -i KEY    as for gpuctl ssh\n";

int cmd_test(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct svc_reach_opts w = {0};
	struct svc_ctx svc;
	struct ec2_instance_list found = {0};
	const char *instance = NULL, *dir = "test", *upload = NULL;
	int status = 1, i, r;

	memset(&svc, 0, sizeof(svc));

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((!strcmp(a, "--dir") || !strcmp(a, "--upload")) &&
		    i + 1 < argc) {
			if (!strcmp(a, "--dir"))
				dir = argv[++i];
			else
				upload = argv[++i];
			continue;
		}
		r = cmd_ssh_common_option(argc, argv, &i, &w, &err);
		if (!r && a[0] == '-')
			r = cmd_global_option(ctx, argc, argv, &i, &err);
		if (r < 0) {
			status = cmd_usage_error("test", "%s", err.message);
			goto out;
		}
		if (r)
			continue;
		if (a[0] == '-' || instance) {
			status =
			    cmd_usage_error("test", "unexpected '%.100s'", a);
			goto out;
		}
		instance = a;
	}
	if (!*dir) {
		status = cmd_usage_error("test", "--dir must not be empty");
		goto out;
	}
	if (cmd_svc_init(ctx, CMD_SVC_STATE, &svc, &err) ||
	    svc_resolve_instances(&svc, instance ? &instance : NULL,
				  instance ? 1 : 0, &found, &err)) {
		status = cmd_report(&err, "test");
		goto out;
	}
	status = cmd_gputest(ctx, &svc, &found.items[0], &w, dir, upload);
out:
	ec2_instance_list_release(&found);
	svc_ctx_release(&svc);
	err_clear(&err);
	return status;
}
