/*
 * gpuctl list [--all] [--state S]: the instances gpuctl launched
 * (svc_list_instances()), one row each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpuctl/cmd.h"
#include "gpuctl/ec2.h"
#include "gpuctl/out.h"
#include "gpuctl/svc_inventory.h"
#include "gpuctl/util.h"

const char cmd_list_usage[] =
    "usage: gpuctl list [--all] [--state STATE[,STATE...]]\n"
    "\n"
    "Lists the instances launched with gpuctl (those tagged " SVC_MANAGED_TAG
    ")\n"
    "in the region, oldest first: ID, name, type, state, public DNS name\n"
    "(or the public IP when the instance has no DNS name), launch time and,\n"
    "for running instances, uptime.  Terminated instances are hidden unless\n"
    "--state names 'terminated'.  Nothing is printed when there are none.\n"
    "\n"
    "options:\n"
    "  --all              every instance in the region, not only gpuctl's\n"
    "  --state STATE      only instances in these states (repeatable, or a\n"
    "                     comma list): pending, running, stopping, stopped,\n"
    "                     shutting-down, terminated\n"
    "\n"
    "examples:\n"
    "  gpuctl list\n"
    "  gpuctl list --state stopped --output table\n"
    "  gpuctl list --all --state running,stopped\n"
    "  gpuctl --output json list | jq -r '.instances[].instanceId'\n"
    "\n"
    "JSON: {\"instances\": [{\"instanceId\", \"name\", \"instanceType\",\n"
    "\"instanceState\", \"publicDnsName\", \"ipAddress\", \"launchTime\",\n"
    "\"uptimeSeconds\"}]}.\n";

static const char *const known_states[] = {
    "pending",	     "running",	   "stopping", "stopped",
    "shutting-down", "terminated", NULL,
};
#define NSTATES (sizeof(known_states) / sizeof(*known_states) - 1)

static const struct out_column text_cols[] = {
    {"ID", "instanceId", 0},
    {"NAME", "name", 0},
    {"TYPE", "instanceType", 0},
    {"STATE", "instanceState", 0},
    {"PUBLIC DNS", "publicDnsName", 0},
    {"LAUNCHED", "launchTime", 0},
    {"UPTIME", "uptime", 0},
};

static const struct out_column json_cols[] = {
    {"ID", "instanceId", 0},
    {"NAME", "name", 0},
    {"TYPE", "instanceType", 0},
    {"STATE", "instanceState", 0},
    {"PUBLIC DNS", "publicDnsName", 0},
    {"PUBLIC IP", "ipAddress", 0},
    {"LAUNCHED", "launchTime", 0},
    {"UPTIME", "uptimeSeconds", 1},
};

struct list_opts {
	int all;
	int want[NSTATES]; /* --state: each state asked for */
};

/* --state S[,S...], repeatable: the states into want[]. */
static int state_cb(const struct cmd_option *opt, void *field, const char *v,
		    struct gpuctl_err *err)
{
	int *want = field;
	const char *p = v;

	for (;;) {
		size_t n = strcspn(p, ",");
		char *one = xstrndup(p, n);
		int k = cmd_opt_choice(opt, known_states, one, err);

		free(one);
		if (k < 0)
			return -1;
		want[k] = 1;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

static const struct cmd_option list_options[] = {
    CMD_OPT_FLAG(0, "all", struct list_opts, all),
    CMD_OPT_CALLBACK(0, "state", struct list_opts, want, state_cb, 0),
    CMD_OPT_END(),
};

const struct cmd_parse cmd_list_parse = {list_options, 0, cmd_check_no_words};

static void add_row(struct out_table *t, const struct ec2_instance *i,
		    enum out_format fmt, long long now)
{
	struct buf launched = BUF_INIT, up = BUF_INIT;
	const char *name = ec2_instance_tag(i, "Name");
	int running = i->state_name && !strcmp(i->state_name, "running");

	out_iso_time(&launched, i->launch_epoch, i->launch_time);
	if (running && i->launch_epoch > 0) {
		if (fmt == OUT_JSON)
			buf_addf(&up, "%lld",
				 now > i->launch_epoch ? now - i->launch_epoch
						       : 0);
		else
			out_duration(&up, now - i->launch_epoch);
	}
	if (fmt == OUT_JSON) {
		const char *cells[] = {
		    i->id,
		    name,
		    i->instance_type,
		    i->state_name,
		    i->public_dns,
		    i->public_ip,
		    launched.len ? launched.data : NULL,
		    up.len ? up.data : NULL,
		};

		out_table_add(t, cells);
	} else {
		const char *cells[] = {
		    i->id,
		    name,
		    i->instance_type,
		    i->state_name,
		    i->public_dns ? i->public_dns : i->public_ip,
		    launched.len ? launched.data : NULL,
		    up.len ? up.data : NULL,
		};

		out_table_add(t, cells);
	}
	buf_release(&launched);
	buf_release(&up);
}

int cmd_list(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct list_opts o = {0};
	struct cmd_args args;
	struct svc_ctx svc;
	struct ec2_instance_list l = {0};
	const char *states[NSTATES];
	struct out_table *t = NULL;
	int any_state = 0, status = 0;
	size_t k, nstates = 0;

	memset(&svc, 0, sizeof(svc));
	if (cmd_parse_options(ctx, argc, argv, &cmd_list_parse, &o, &args,
			      &err))
		goto fail;
	for (k = 0; k < NSTATES; k++)
		any_state |= o.want[k];
	/* terminated instances only when asked for by name */
	for (k = 0; k < NSTATES; k++)
		if (any_state ? o.want[k]
			      : strcmp(known_states[k], "terminated") != 0)
			states[nstates++] = known_states[k];
	if (cmd_svc_init(ctx, CMD_SVC_EC2, &svc, &err))
		goto fail;
	if (svc_list_instances(&svc, o.all, states, nstates, &l, &err)) {
		status = cmd_report(&err, "list failed");
		goto out;
	}
	if (ctx->output == OUT_JSON)
		t = out_table_new(json_cols,
				  sizeof(json_cols) / sizeof(*json_cols));
	else
		t = out_table_new(text_cols,
				  sizeof(text_cols) / sizeof(*text_cols));
	for (k = 0; k < l.n; k++)
		add_row(t, &l.items[k], ctx->output, (long long)time(NULL));
	if (out_table_print(t, ctx->output, "instances", stdout))
		status = 1;
	goto out;
fail:
	status = cmd_report(&err, NULL);
out:
	out_table_free(t);
	ec2_instance_list_release(&l);
	svc_ctx_release(&svc);
	err_clear(&err);
	return status;
}
