/*
 * gpuctl api ACTION [KEY=VALUE...]: one raw signed Query API call.  The
 * one command that calls ec2/ itself: the raw call is what it is for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpuctl/cmd.h"
#include "gpuctl/ec2.h"
#include "gpuctl/out.h"
#include "gpuctl/util.h"

const char cmd_api_usage[] =
    "usage: gpuctl api ACTION [KEY=VALUE...]\n"
    "\n"
    "Sends one signed EC2 Query API request (POST, Version " EC2_API_VERSION
    ")\n"
    "and prints the response body (XML) on stdout.  Each KEY=VALUE becomes "
    "one\n"
    "request parameter; everything after the first '=' is the value, sent "
    "as\n"
    "given (spaces, '&', '=', '+', '%' and UTF-8 are encoded as SigV4 "
    "requires).\n"
    "\n"
    "examples:\n"
    "  gpuctl api DescribeRegions\n"
    "  gpuctl api DescribeImages Filter.1.Name=name "
    "Filter.1.Value.1='vict0rsch-*'\n"
    "  gpuctl --region us-east-1 api DescribeInstances MaxResults=5\n"
    "\n"
    "An EC2 error exits with status 4 and prints its code, message and "
    "request ID.\n";

static int valid_action(const char *s)
{
	size_t i;

	if (!*s || strlen(s) > 128)
		return 0;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

/* ACTION, then KEY=VALUE words. */
static int api_check(void *opts, const struct cmd_args *args,
		     struct gpuctl_err *err)
{
	int i;

	(void)opts;
	if (!args->argc)
		return err_set(err, GPUCTL_ERR_USAGE, "missing the ACTION");
	if (!valid_action(args->argv[0]))
		return err_set(err, GPUCTL_ERR_USAGE,
			       "'%.100s' is not an API action name",
			       args->argv[0]);
	for (i = 1; i < args->argc; i++) {
		const char *eq = strchr(args->argv[i], '=');

		if (!eq || eq == args->argv[i])
			return err_set(err, GPUCTL_ERR_USAGE,
				       "'%.100s' is not KEY=VALUE",
				       args->argv[i]);
	}
	return 0;
}

const struct cmd_parse cmd_api_parse = {NULL, 0, api_check};

int cmd_api(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ec2_param *params = xcalloc((size_t)argc, sizeof(*params));
	char **keys = xcalloc((size_t)argc, sizeof(*keys));
	struct buf body = BUF_INIT;
	struct cmd_args args;
	size_t n = 0, k;
	int status = 0;

	if (cmd_parse_options(ctx, argc, argv, &cmd_api_parse, NULL, &args,
			      &err))
		goto fail;
	for (n = 0; n + 1 < (size_t)args.argc; n++) {
		const char *kv = args.argv[n + 1], *eq = strchr(kv, '=');

		keys[n] = xstrndup(kv, (size_t)(eq - kv));
		params[n].key = keys[n];
		params[n].value = eq + 1;
	}
	if (ec2_call(ctx->ec2, args.argv[0], params, n, &body, &err)) {
		struct buf what = BUF_INIT;

		buf_addf(&what, "%s failed", args.argv[0]);
		status = cmd_report(&err, what.data);
		buf_release(&what);
		goto out;
	}
	out_document(body.data, body.len, stdout);
	goto out;
fail:
	status = cmd_report(&err, NULL);
out:
	err_clear(&err);
	buf_release(&body);
	for (k = 0; k < n; k++)
		free(keys[k]);
	free(keys);
	free(params);
	return status;
}
