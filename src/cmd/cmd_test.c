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

struct test_opts {
	const char *dir;
	const char *upload;
	struct svc_reach_opts ssh;
};

static const struct cmd_option test_options[] = {
    CMD_OPT_STRING(0, "dir", struct test_opts, dir),
    CMD_OPT_STRING(0, "upload", struct test_opts, upload),
    CMD_OPT_SSH_GROUP(struct test_opts, ssh),
    CMD_OPT_END(),
};

static int test_check(void *opts, const struct cmd_args *args,
		      struct gpuctl_err *err)
{
	const struct test_opts *o = opts;

	if (cmd_check_instance(opts, args, err))
		return -1;
	if (!*o->dir)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "option '--dir' must not be empty");
	return 0;
}

const struct cmd_parse cmd_test_parse = {test_options, 0, test_check};

int cmd_test(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct test_opts o = {"test", NULL, {0}};
	struct cmd_args args;
	struct svc_ctx svc;
	struct ec2_instance_list found = {0};
	const char *instance;
	int status = 1;

	memset(&svc, 0, sizeof(svc));
	if (cmd_parse_options(ctx, argc, argv, &cmd_test_parse, &o, &args,
			      &err)) {
		status = cmd_report_parse(&err, "test");
		goto out;
	}
	instance = args.argc ? args.argv[0] : NULL;
	if (cmd_svc_init(ctx, CMD_SVC_STATE, &svc, &err) ||
	    svc_resolve_instances(&svc, instance ? &instance : NULL,
				  instance ? 1 : 0, &found, &err)) {
		status = cmd_report(&err, "test");
		goto out;
	}
	status =
	    cmd_gputest(ctx, &svc, &found.items[0], &o.ssh, o.dir, o.upload);
out:
	ec2_instance_list_release(&found);
	svc_ctx_release(&svc);
	err_clear(&err);
	return status;
}
