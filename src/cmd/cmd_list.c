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
    "pending", "running", "stopping", "stopped", "shutting-down", "terminated",
};
#define NSTATES (sizeof(known_states) / sizeof(*known_states))

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

/* Adds the states of a comma list to want[]; -1 on an unknown one. */
static int add_states(const char *list, int *want, const char **bad)
{
	const char *p = list;

	for (;;) {
		size_t n = strcspn(p, ","), k;

		for (k = 0; k < NSTATES; k++)
			if (strlen(known_states[k]) == n &&
			    !strncmp(known_states[k], p, n))
				break;
		if (k == NSTATES) {
			*bad = p;
			return -1;
		}
		want[k] = 1;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

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
	struct svc_ctx svc;
	struct ec2_instance_list l = {0};
	const char *states[NSTATES];
	struct out_table *t = NULL;
	int want[NSTATES] = {0}, any_state = 0, all = 0, i, r, status = 0;
	size_t k, nstates = 0;

	memset(&svc, 0, sizeof(svc));

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL, *bad = NULL;

		if (!strcmp(a, "--all")) {
			all = 1;
			continue;
		}
		if (!strcmp(a, "--state")) {
			if (i + 1 >= argc) {
				status = cmd_usage_error(
				    "list", "option --state needs a value");
				goto out;
			}
			v = argv[++i];
		} else if (starts_with(a, "--state=")) {
			v = a + strlen("--state=");
		}
		if (v) {
			if (add_states(v, want, &bad)) {
				status =
				    cmd_usage_error("list",
						    "'%.40s' is not an "
						    "instance state (pending, "
						    "running, stopping, "
						    "stopped, shutting-down, "
						    "terminated)",
						    bad);
				goto out;
			}
			any_state = 1;
			continue;
		}
		if (a[0] == '-') {
			r = cmd_global_option(ctx, argc, argv, &i, &err);
			if (r < 0)
				goto fail;
			if (r)
				continue;
			status = cmd_usage_error("list",
						 "unknown option '%.100s'", a);
			goto out;
		}
		status =
		    cmd_usage_error("list", "unexpected argument '%.100s'", a);
		goto out;
	}

	/* terminated instances only when asked for by name */
	for (k = 0; k < NSTATES; k++)
		if (any_state ? want[k]
			      : strcmp(known_states[k], "terminated") != 0)
			states[nstates++] = known_states[k];
	if (cmd_svc_init(ctx, CMD_SVC_EC2, &svc, &err))
		goto fail;
	if (svc_list_instances(&svc, all, states, nstates, &l, &err)) {
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
