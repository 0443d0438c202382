/*
 * gpuctl stop|start|terminate INSTANCE... [--wait] [--timeout S]: the end
 * of the work, and the way back.  terminate asks first on a terminal,
 * refuses without --yes elsewhere, and with --snapshot snapshots every
 * EBS volume of the instance and waits for them before terminating it.
 * The work is svc_lifecycle.h's and svc_snapshot.h's; here are the
 * question, the messages about what was left, and the rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpuctl/cmd.h"
#include "gpuctl/ec2.h"
#include "gpuctl/out.h"
#include "gpuctl/svc_inventory.h"
#include "gpuctl/svc_lifecycle.h"
#include "gpuctl/svc_snapshot.h"
#include "gpuctl/util.h"

const char cmd_stop_usage[] =
    "usage: gpuctl stop [INSTANCE...] [--wait] [--timeout SECONDS]\n"
    "\n"
    "Stops instances: they stop costing compute time, and their EBS volumes\n"
    "are kept (and billed) until you start or terminate them.  Stopping an\n"
    "instance that is already stopped is fine.  A one-time Spot instance\n"
    "cannot be stopped: terminate it instead.\n"
    "\n"
    "INSTANCE is an instance ID (i-...) or a Name tag; without one, the\n"
    "instance last launched with gpuctl in this region.  Prints the\n"
    "instance IDs, one a line.\n"
    "\n"
    "options:\n"
    "  --wait             wait until they are stopped\n"
    "  --timeout S        give up waiting after S seconds (default 600;\n"
    "                     exit status 5)\n"
    "\n"
    "examples:\n"
    "  gpuctl stop\n"
    "  gpuctl stop my-gpu-box --wait\n";

const char cmd_start_usage[] =
    "usage: gpuctl start [INSTANCE...] [--wait] [--timeout SECONDS]\n"
    "\n"
    "Starts stopped instances.  They come back with the same volumes but,\n"
    "usually, a new public IP address and DNS name (see 'gpuctl show').\n"
    "\n"
    "INSTANCE is an instance ID (i-...) or a Name tag; without one, the\n"
    "instance last launched with gpuctl in this region.  Prints the\n"
    "instance IDs, one a line.\n"
    "\n"
    "options:\n"
    "  --wait             wait until they run and have a public address\n"
    "  --timeout S        give up waiting after S seconds (default 600;\n"
    "                     exit status 5)\n"
    "\n"
    "examples:\n"
    "  gpuctl start --wait && gpuctl ssh\n"
    "  gpuctl start i-0123456789abcdef0 i-0fedcba9876543210\n";

const char cmd_terminate_usage[] =
    "usage: gpuctl terminate [INSTANCE...] [--yes] [--snapshot] [--wait]\n"
    "                        [--timeout SECONDS]\n"
    "\n"
    "Terminates instances: they are gone for good, with their root volumes\n"
    "(and every volume marked delete-on-termination), and cost nothing more.\n"
    "On a terminal gpuctl asks first; when stdin is not a terminal it\n"
    "refuses (exit status 2) unless --yes is given.  The security group and\n"
    "key pair gpuctl made are kept for the next launch.\n"
    "\n"
    "With --snapshot, every EBS volume of each instance is snapshotted first\n"
    "(cheaper storage than a volume; a snapshot can become a volume or an\n"
    "image again), and the instances are terminated only once every\n"
    "snapshot is completed.  If a snapshot fails or the wait times out,\n"
    "nothing is terminated.  Snapshots are tagged "
    "Name=NAME-DEVICE,\n" SVC_MANAGED_TAG
    "=true, gpuctl:instance=ID and gpuctl:device=DEVICE.\n"
    "\n"
    "INSTANCE is an instance ID (i-...) or a Name tag; without one, the\n"
    "instance last launched with gpuctl in this region.  Prints the\n"
    "instance IDs, one a line, then one line per snapshot:\n"
    "SNAPSHOT<TAB>VOLUME<TAB>INSTANCE<TAB>DEVICE.\n"
    "\n"
    "options:\n"
    "  --yes              do not ask for confirmation\n"
    "  --snapshot         snapshot every EBS volume first, and wait for it\n"
    "  --wait             wait until they are terminated\n"
    "  --timeout S        give up waiting after S seconds, for the snapshots\n"
    "                     and for the termination each (default 600; exit\n"
    "                     status 5)\n"
    "\n"
    "examples:\n"
    "  gpuctl terminate\n"
    "  gpuctl terminate my-gpu-box --snapshot --yes\n"
    "  gpuctl --output json terminate --yes --wait i-0123456789abcdef0\n";

/* --wait and --timeout: every one of the three. */
struct lc_wait {
	int wait;
	long timeout_s;
};

struct lc_opts {
	struct lc_wait w;
	int yes;      /* terminate only */
	int snapshot; /* terminate only */
};

static const struct cmd_option wait_options[] = {
    CMD_OPT_FLAG(0, "wait", struct lc_wait, wait),
    CMD_OPT_LONG(0, "timeout", struct lc_wait, timeout_s, 1, 7 * 86400),
    CMD_OPT_END(),
};

/* stop and start */
static const struct cmd_option lc_options[] = {
    CMD_OPT_INCLUDE(struct lc_opts, w, struct lc_wait, wait_options),
    CMD_OPT_END(),
};

static const struct cmd_option terminate_options[] = {
    CMD_OPT_FLAG('y', "yes", struct lc_opts, yes),
    CMD_OPT_FLAG(0, "snapshot", struct lc_opts, snapshot),
    CMD_OPT_INCLUDE(struct lc_opts, w, struct lc_wait, wait_options),
    CMD_OPT_END(),
};

/* Off a terminal, terminate asks for --yes instead of a question. */
static int terminate_check(void *opts, const struct cmd_args *args,
			   struct gpuctl_err *err)
{
	const struct lc_opts *o = opts;

	(void)args;
	if (o->yes || isatty(STDIN_FILENO))
		return 0;
	err_set(err, GPUCTL_ERR_USAGE,
		"refusing to terminate without confirmation: stdin is not a "
		"terminal");
	err_hint(err, "pass --yes to terminate without being asked");
	return -1;
}

const struct cmd_parse cmd_stop_parse = {lc_options, 0, NULL};
const struct cmd_parse cmd_start_parse = {lc_options, 0, NULL};
const struct cmd_parse cmd_terminate_parse = {terminate_options, 0,
					      terminate_check};

/* The instance's Name tag made safe for a terminal, or "". */
static void add_name(struct buf *b, const struct ec2_instance *i)
{
	const char *name = ec2_instance_tag(i, "Name");
	struct buf s = BUF_INIT;

	if (!name || !*name)
		return;
	out_sanitize(&s, name);
	buf_addf(b, " (%.*s)", out_utf8_prefix(s.data, 100), s.data);
	buf_release(&s);
}

/*
 * Asks "Terminate i-... (name)? ..." on stderr and reads the answer from
 * the terminal.  Returns 1 for yes.
 */
static int confirm(const struct ec2_instance_list *l, int snapshot)
{
	struct buf q = BUF_INIT;
	char line[64];
	FILE *in = fopen("/dev/tty", "r");
	size_t k;
	int yes = 0;

	buf_adds(&q, "Terminate ");
	for (k = 0; k < l->n; k++) {
		buf_addf(&q, "%s%s", k ? ", " : "", l->items[k].id);
		add_name(&q, &l->items[k]);
	}
	buf_addf(&q, "? This deletes %s.%s [y/N] ",
		 l->n > 1 ? "their root volumes" : "its root volume",
		 snapshot ? " (Snapshots are taken first.)" : "");
	fputs(q.data, stderr);
	fflush(stderr);
	if (fgets(line, sizeof(line), in ? in : stdin)) {
		line[strcspn(line, "\r\n")] = '\0';
		yes = !strcmp(line, "y") || !strcmp(line, "Y") ||
		      !strcmp(line, "yes") || !strcmp(line, "YES") ||
		      !strcmp(line, "Yes");
	} else {
		fputc('\n', stderr);
	}
	if (in)
		fclose(in);
	buf_release(&q);
	return yes;
}

/* After a failed snapshot: what was left, and which snapshots exist. */
static void report_left(const struct ec2_instance_list *l,
			const struct svc_snapshot_list *s)
{
	size_t k;

	for (k = 0; k < l->n; k++)
		fprintf(stderr,
			"gpuctl: terminate: %s was not terminated (left %s)\n",
			l->items[k].id,
			l->items[k].state_name ? l->items[k].state_name
					       : "as it was");
	for (k = 0; k < s->n; k++)
		fprintf(stderr,
			"gpuctl: terminate: snapshot %s of %s (%s) of %s "
			"exists\n",
			s->items[k].id, s->items[k].volume_id,
			s->items[k].device, s->items[k].instance_id);
	if (s->n)
		fprintf(stderr, "hint: once the snapshots are completed "
				"(aws ec2 describe-snapshots), run 'gpuctl "
				"terminate --yes' without --snapshot, or "
				"delete them\n");
}

static const struct out_column id_cols[] = {
    {"ID", "instanceId", 0},
};

static const struct out_column change_cols[] = {
    {"ID", "instanceId", 0},
    {"PREVIOUS", "previousState", 0},
    {"CURRENT", "currentState", 0},
};

static const struct out_column snap_cols[] = {
    {"SNAPSHOT", "snapshotId", 0},
    {"VOLUME", "volumeId", 0},
    {"INSTANCE", "instanceId", 0},
    {"DEVICE", "device", 0},
};

static int print_result(struct gpuctl_ctx *ctx,
			const struct ec2_state_change_list *ch,
			const struct ec2_instance_list *final,
			const struct svc_snapshot_list *snaps)
{
	struct out_table *t, *s = NULL;
	size_t k;
	int rc;

	if (ctx->output == OUT_TEXT)
		t = out_table_new(id_cols, 1);
	else
		t = out_table_new(change_cols, 3);
	for (k = 0; k < ch->n; k++) {
		const struct ec2_state_change *c = &ch->items[k];
		const struct ec2_instance *f =
		    final ? ec2_instance_list_find(final, c->instance_id)
			  : NULL;
		const char *cells[] = {
		    c->instance_id,
		    c->previous_state,
		    f && f->state_name ? f->state_name : c->current_state,
		};

		out_table_add(t, cells);
	}
	if (snaps && snaps->n) {
		s = out_table_new(snap_cols, 4);
		for (k = 0; k < snaps->n; k++) {
			const char *cells[] = {
			    snaps->items[k].id,
			    snaps->items[k].volume_id,
			    snaps->items[k].instance_id,
			    snaps->items[k].device,
			};

			out_table_add(s, cells);
		}
	}
	if (ctx->output == OUT_JSON && s) {
		{
			const struct out_table *both[2] = {t, s};
			const char *roots[2] = {"instances", "snapshots"};

			rc = out_json_tables(both, roots, 2, stdout);
		}
	} else {
		rc = out_table_print(t, ctx->output, "instances", stdout);
		if (!rc && s) {
			if (ctx->output == OUT_TABLE)
				fputc('\n', stdout);
			rc = out_table_print(s, ctx->output, "snapshots",
					     stdout);
		}
	}
	out_table_free(t);
	out_table_free(s);
	return rc;
}

static int lifecycle(int argc, char **argv, struct gpuctl_ctx *ctx,
		     enum svc_lifecycle_action action)
{
	static const char *const names[] = {"stop", "start", "terminate"};
	static const struct cmd_parse *const parse[] = {
	    &cmd_stop_parse, &cmd_start_parse, &cmd_terminate_parse};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct lc_opts o = {{0, 600}, 0, 0};
	struct cmd_args args;
	struct svc_ctx svc;
	struct ec2_instance_list l = {0}, final = {0};
	struct ec2_state_change_list ch = {0};
	struct svc_snapshot_list snaps = {0};
	struct buf what = BUF_INIT;
	int waited = 0, status = 0;

	memset(&svc, 0, sizeof(svc));
	buf_addf(&what, "%s failed", names[action]);
	if (cmd_parse_options(ctx, argc, argv, parse[action], &o, &args,
			      &err) ||
	    cmd_svc_init(ctx, CMD_SVC_STATE, &svc, &err)) {
		status = cmd_report(&err, NULL);
		goto out;
	}
	if (svc_resolve_instances(&svc, (const char *const *)args.argv,
				  (size_t)args.argc, &l, &err)) {
		status = cmd_report(&err, what.data);
		goto out;
	}
	svc_instances_dedupe(&l);
	if (action == SVC_TERMINATE && !o.yes && !confirm(&l, o.snapshot)) {
		fprintf(stderr, "gpuctl: terminate: not confirmed; nothing "
				"was terminated\n");
		status = 1;
		goto out;
	}
	if (action == SVC_TERMINATE && o.snapshot &&
	    svc_snapshot_instances(&svc, &l, o.w.timeout_s * 1000, &snaps,
				   &err)) {
		status = cmd_report(&err, "terminate --snapshot failed");
		report_left(&l, &snaps);
		goto out;
	}
	if (svc_change_state(&svc, action, &l, &ch, &err)) {
		status = cmd_report(&err, what.data);
		if (snaps.n)
			report_left(&l, &snaps);
		goto out;
	}
	if (o.w.wait) {
		waited = 1;
		if (svc_wait_state(&svc, action, &l, o.w.timeout_s * 1000,
				   &final, &err)) {
			/* what was done is done: say so, then the error */
			print_result(ctx, &ch, NULL, &snaps);
			buf_reset(&what);
			buf_addf(&what, "%s --wait failed", names[action]);
			status = cmd_report(&err, what.data);
			goto out;
		}
	}
	if (print_result(ctx, &ch, waited ? &final : NULL, &snaps))
		status = 1;
out:
	cmd_progress_done(ctx);
	svc_ctx_release(&svc);
	svc_snapshot_list_release(&snaps);
	ec2_state_change_list_release(&ch);
	ec2_instance_list_release(&final);
	ec2_instance_list_release(&l);
	buf_release(&what);
	err_clear(&err);
	return status;
}

int cmd_stop(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	return lifecycle(argc, argv, ctx, SVC_STOP);
}

int cmd_start(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	return lifecycle(argc, argv, ctx, SVC_START);
}

int cmd_terminate(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	return lifecycle(argc, argv, ctx, SVC_TERMINATE);
}
