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

int cmd_api(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ec2_param *params = xcalloc((size_t)argc, sizeof(*params));
	char **keys = xcalloc((size_t)argc, sizeof(*keys));
	struct buf body = BUF_INIT;
	const char *action = NULL;
	size_t n = 0, k;
	int i, r, status = 0;

	for (i = 1; i < argc; i++) {
		const char *eq;

		if (argv[i][0] == '-') {
			r = cmd_global_option(ctx, argc, argv, &i, &err);
			if (r < 0)
				goto fail;
			if (!r) {
				status = cmd_usage_error(
				    "api", "unknown option '%.100s'", argv[i]);
				goto out;
			}
			continue;
		}
		if (!action) {
			action = argv[i];
			if (!valid_action(action)) {
				status = cmd_usage_error(
				    "api", "'%.100s' is not an API action name",
				    action);
				goto out;
			}
			continue;
		}
		eq = strchr(argv[i], '=');
		if (!eq || eq == argv[i]) {
			status = cmd_usage_error(
			    "api", "'%.100s' is not KEY=VALUE", argv[i]);
			goto out;
		}
		keys[n] = xstrndup(argv[i], (size_t)(eq - argv[i]));
		params[n].key = keys[n];
		params[n].value = eq + 1;
		n++;
	}
	if (!action) {
		status = cmd_usage_error("api", "missing the ACTION");
		goto out;
	}
	if (cmd_ec2(ctx, &err))
		goto fail;
	if (ec2_call(ctx->ec2, action, params, n, &body, &err)) {
		struct buf what = BUF_INIT;

		buf_addf(&what, "%s failed", action);
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
