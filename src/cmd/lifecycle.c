/*
 * gpuctl stop|start|terminate INSTANCE... [--wait] [--timeout S]: the end
 * of the work, and the way back.  terminate asks first on a terminal,
 * refuses without --yes elsewhere, and with --snapshot snapshots every
 * EBS volume of the instance and waits for them before terminating it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gpuctl/cmd.h"
#include "gpuctl/ec2.h"
#include "gpuctl/log.h"
#include "gpuctl/out.h"
#include "gpuctl/state.h"
#include "gpuctl/svc.h"
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

enum lc_action { LC_STOP, LC_START, LC_TERMINATE };

struct lc_opts {
	enum lc_action action;
	const char *cmd;
	const char **args;
	size_t nargs;
	int wait;
	int yes;
	int snapshot;
	long timeout_s;
};

struct lc_snapshot {
	char *id;
	char *volume_id;
	char *instance_id;
	char *device;
};

struct lc_snapshots {
	struct lc_snapshot *items;
	size_t n;
};

static void snapshots_release(struct lc_snapshots *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->items[i].id);
		free(s->items[i].volume_id);
		free(s->items[i].instance_id);
		free(s->items[i].device);
	}
	free(s->items);
	s->items = NULL;
	s->n = 0;
}

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

static void snapshot_add(struct lc_snapshots *s, const char *id,
			 const char *vol, const char *inst, const char *dev)
{
	struct lc_snapshot *x;

	s->items = xrealloc(s->items, (s->n + 1) * sizeof(*s->items));
	x = &s->items[s->n++];
	x->id = xstrdup(id);
	x->volume_id = xstrdup(vol);
	x->instance_id = xstrdup(inst);
	x->device = xstrdup(dev);
}

/* How long a snapshot left by an interrupted terminate --snapshot is adopted
 * by the next run instead of taking another. */
#define ADOPT_SNAPSHOT_S (10 * 60)

/*
 * The snapshots gpuctl took of volume vol (device dev) of instance id, not
 * failed, oldest first.  A CreateSnapshot whose answer was lost and retried,
 * or an interrupted run, leaves one behind.
 */
static int own_snapshots(struct gpuctl_ctx *ctx, const char *id,
			 const char *vol, const char *dev,
			 struct ec2_snapshot_list *out, struct gpuctl_err *err)
{
	const char *self = "self";
	struct ec2_filter f[3] = {
	    {"volume-id", &vol, 1},
	    {"tag:gpuctl:instance", &id, 1},
	    {"tag:gpuctl:device", &dev, 1},
	};
	struct ec2_describe q = {0};
	size_t k, n = 0;

	q.filters = f;
	q.nfilters = 3;
	q.owners = &self;
	q.nowners = 1;
	if (ec2_describe_snapshots(ctx->ec2, &q, out, err))
		return -1;
	for (k = 0; k < out->n; k++) {
		struct ec2_snapshot t;

		if (out->items[k].state &&
		    !strcmp(out->items[k].state, "error"))
			continue;
		t = out->items[n];
		out->items[n++] = out->items[k];
		out->items[k] = t;
	}
	while (out->n > n)
		ec2_snapshot_release(&out->items[--out->n]);
	for (k = 1; k < n; k++) { /* oldest first: an insertion sort */
		size_t j = k;

		while (j > 0 && out->items[j - 1].start_epoch >
				    out->items[j].start_epoch) {
			struct ec2_snapshot t = out->items[j];

			out->items[j] = out->items[j - 1];
			out->items[j - 1] = t;
			j--;
		}
	}
	return 0;
}

/* One snapshot of volume vol (device dev) of instance i. */
static int snapshot_volume(struct gpuctl_ctx *ctx, const struct ec2_instance *i,
			   const char *vol, const char *dev,
			   struct lc_snapshots *out, struct gpuctl_err *err)
{
	const char *name = ec2_instance_tag(i, "Name");
	const char *base = strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev;
	struct ec2_snapshot snap = {0};
	struct ec2_snapshot_list have = {0};
	struct ec2_param tags[4];
	char *desc, *tag_name;
	size_t k;
	int rc = -1;

	if (name && *name)
		desc = xasprintf("gpuctl snapshot of %s (%s) of %s (%.*s) "
				 "before terminate",
				 vol, dev, i->id, out_utf8_prefix(name, 100),
				 name);
	else
		desc = xasprintf("gpuctl snapshot of %s (%s) of %s before "
				 "terminate",
				 vol, dev, i->id);
	if (!name || !*name)
		name = i->id;
	tag_name = xasprintf("%.*s-%.*s", out_utf8_prefix(name, 200), name,
			     out_utf8_prefix(base, 50), base);
	tags[0] = (struct ec2_param){"Name", tag_name};
	tags[1] = (struct ec2_param){SVC_MANAGED_TAG, "true"};
	tags[2] = (struct ec2_param){"gpuctl:instance", i->id};
	tags[3] = (struct ec2_param){"gpuctl:device", dev};
	/* a run interrupted a moment ago took it already: adopt it */
	if (own_snapshots(ctx, i->id, vol, dev, &have, err))
		goto out;
	for (k = have.n; k-- > 0;)
		if (have.items[k].start_epoch >
		    (long long)time(NULL) - ADOPT_SNAPSHOT_S) {
			log_info("adopting snapshot %s of %s", have.items[k].id,
				 vol);
			snapshot_add(out, have.items[k].id, vol, i->id, dev);
			rc = 0;
			goto out;
		}
	ec2_snapshot_list_release(&have);
	if (ec2_create_snapshot(ctx->ec2, vol, desc, tags, 4, &snap, err))
		goto out;
	snapshot_add(out, snap.id, vol, i->id, dev);
	rc = 0;
out:
	ec2_snapshot_list_release(&have);
	ec2_snapshot_release(&snap);
	free(tag_name);
	free(desc);
	return rc;
}

/* Snapshots every EBS volume of instance i. */
static int snapshot_instance(struct gpuctl_ctx *ctx,
			     const struct ec2_instance *i,
			     struct lc_snapshots *out, struct gpuctl_err *err)
{
	struct ec2_volume_list vl = {0};
	struct ec2_describe q = {0};
	struct ec2_filter f;
	size_t k, a, before = out->n;
	int rc = -1;

	for (k = 0; k < i->ndevices; k++) {
		if (!i->devices[k].volume_id)
			continue;
		if (snapshot_volume(ctx, i, i->devices[k].volume_id,
				    i->devices[k].device_name, out, err))
			goto out;
	}
	if (out->n > before) {
		rc = 0;
		goto out;
	}
	/* no block device mapping: ask for the volumes attached to it */
	f.name = "attachment.instance-id";
	f.values = (const char *const *)&i->id;
	f.nvalues = 1;
	q.filters = &f;
	q.nfilters = 1;
	if (ec2_describe_volumes(ctx->ec2, &q, &vl, err))
		goto out;
	for (k = 0; k < vl.n; k++)
		for (a = 0; a < vl.items[k].nattachments; a++) {
			const struct ec2_volume_attachment *at =
			    &vl.items[k].attachments[a];

			if (!at->instance_id || strcmp(at->instance_id, i->id))
				continue;
			if (snapshot_volume(ctx, i, vl.items[k].id,
					    at->device ? at->device : "?", out,
					    err))
				goto out;
		}
	if (out->n == before) {
		err_set(err, GPUCTL_ERR_OTHER,
			"%s has no EBS volume to snapshot", i->id);
		err_hint(err, "terminate it without --snapshot");
		goto out;
	}
	rc = 0;
out:
	ec2_volume_list_release(&vl);
	return rc;
}

/* After a failed snapshot: what was left, and which snapshots exist. */
static void report_left(const struct ec2_instance_list *l,
			const struct lc_snapshots *s)
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

/*
 * A retried CreateSnapshot whose first answer was lost, or the request of an
 * interrupted run that the server carried out late, made one snapshot more:
 * those started since t0 that are not ours go.  Best effort.
 */
static void drop_duplicates(struct gpuctl_ctx *ctx,
			    const struct lc_snapshots *s, long long t0)
{
	struct gpuctl_err e2 = GPUCTL_ERR_INIT;
	size_t k, j, m;

	for (k = 0; k < s->n; k++) {
		struct ec2_snapshot_list have = {0};
		const struct lc_snapshot *x = &s->items[k];

		if (own_snapshots(ctx, x->instance_id, x->volume_id, x->device,
				  &have, &e2)) {
			err_clear(&e2);
			continue;
		}
		for (j = 0; j < have.n; j++) {
			int ours = 0;

			for (m = 0; m < s->n; m++)
				ours |=
				    !strcmp(have.items[j].id, s->items[m].id);
			if (ours || have.items[j].start_epoch < t0)
				continue;
			if (!ec2_delete_snapshot(ctx->ec2, have.items[j].id,
						 &e2))
				log_info(
				    "deleted %s, a duplicate of snapshot %s",
				    have.items[j].id, x->id);
			err_clear(&e2);
		}
		ec2_snapshot_list_release(&have);
	}
}

static int snapshot_all(struct gpuctl_ctx *ctx,
			const struct ec2_instance_list *l,
			const struct lc_opts *o, struct lc_snapshots *out,
			struct gpuctl_err *err)
{
	struct svc_progress progress = {cmd_progress, ctx};
	const char **ids = NULL;
	long long t0 = (long long)time(NULL) - 5; /* some leeway for clocks */
	size_t k;
	int rc = -1;

	for (k = 0; k < l->n; k++)
		if (snapshot_instance(ctx, &l->items[k], out, err))
			goto out;
	ids = xcalloc(out->n, sizeof(*ids));
	for (k = 0; k < out->n; k++)
		ids[k] = out->items[k].id;
	rc = svc_wait_snapshots(ctx->ec2, ids, out->n, o->timeout_s * 1000,
				&progress, err);
	cmd_progress_done(ctx);
	if (!rc)
		drop_duplicates(ctx, out, t0);
out:
	free(ids);
	return rc;
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
			const struct lc_snapshots *snaps)
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

static int parse_options(int argc, char **argv, struct gpuctl_ctx *ctx,
			 struct lc_opts *o, struct gpuctl_err *err)
{
	int i, r;

	o->args = xcalloc((size_t)argc, sizeof(*o->args));
	o->timeout_s = 600;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;

		if (!strcmp(a, "--wait")) {
			o->wait = 1;
		} else if (o->action == LC_TERMINATE && !strcmp(a, "--yes")) {
			o->yes = 1;
		} else if (o->action == LC_TERMINATE && !strcmp(a, "-y")) {
			o->yes = 1;
		} else if (o->action == LC_TERMINATE &&
			   !strcmp(a, "--snapshot")) {
			o->snapshot = 1;
		} else if (!strcmp(a, "--timeout") ||
			   starts_with(a, "--timeout=")) {
			if (a[9] == '=')
				v = a + 10;
			else if (i + 1 < argc)
				v = argv[++i];
			if (!v || parse_long(v, 1, 7 * 86400, &o->timeout_s))
				return cmd_usage_error(
				    o->cmd,
				    "--timeout needs a number of seconds "
				    "(1 to 604800)");
		} else if (a[0] == '-' && a[1]) {
			r = cmd_global_option(ctx, argc, argv, &i, err);
			if (r < 0)
				return cmd_report(err, NULL);
			if (!r)
				return cmd_usage_error(
				    o->cmd, "unknown option '%.100s'", a);
		} else {
			o->args[o->nargs++] = a;
		}
	}
	return 0;
}

/* Drops instances named twice (by ID and by name, say). */
static void dedupe(struct ec2_instance_list *l)
{
	size_t i, j;

	for (i = 1; i < l->n;) {
		for (j = 0; j < i; j++)
			if (!strcmp(l->items[j].id, l->items[i].id))
				break;
		if (j == i) {
			i++;
			continue;
		}
		{
			struct ec2_instance_list one = {0};

			one.items = xmalloc(sizeof(*one.items));
			one.items[0] = l->items[i];
			one.n = 1;
			ec2_instance_list_release(&one);
		}
		memmove(&l->items[i], &l->items[i + 1],
			(l->n - i - 1) * sizeof(*l->items));
		l->n--;
	}
}

static int lifecycle(int argc, char **argv, struct gpuctl_ctx *ctx,
		     enum lc_action action)
{
	static const char *const names[] = {"stop", "start", "terminate"};
	static const char *const targets[] = {"stopped", "running",
					      "terminated"};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct lc_opts o = {0};
	struct ec2_instance_list l = {0}, final = {0};
	struct ec2_state_change_list ch = {0};
	struct lc_snapshots snaps = {0};
	struct state_paths p = {0};
	struct svc_progress progress = {cmd_progress, ctx};
	struct buf what = BUF_INIT;
	const char **ids = NULL;
	size_t k;
	int r, have_paths = 0, waited = 0, status = 0;

	o.action = action;
	o.cmd = names[action];
	buf_addf(&what, "%s failed", o.cmd);
	status = parse_options(argc, argv, ctx, &o, &err);
	if (status)
		goto out;
	if (action == LC_TERMINATE && !o.yes && !isatty(STDIN_FILENO)) {
		fprintf(stderr, "gpuctl: terminate: refusing to terminate "
				"without confirmation: stdin is not a "
				"terminal\n"
				"hint: pass --yes to terminate without being "
				"asked\n");
		status = 2;
		goto out;
	}
	if (cmd_ec2(ctx, &err) || state_paths_init(&p, ctx->envp, &err)) {
		status = cmd_report(&err, NULL);
		goto out;
	}
	have_paths = 1;
	if (svc_resolve_instances(ctx->ec2, &p, ctx->cfg.region, o.args,
				  o.nargs, &l, &err)) {
		status = cmd_report(&err, what.data);
		goto out;
	}
	dedupe(&l);
	if (action == LC_TERMINATE && !o.yes && !confirm(&l, o.snapshot)) {
		fprintf(stderr, "gpuctl: terminate: not confirmed; nothing "
				"was terminated\n");
		status = 1;
		goto out;
	}
	if (action == LC_TERMINATE && o.snapshot &&
	    snapshot_all(ctx, &l, &o, &snaps, &err)) {
		cmd_progress_done(ctx);
		status = cmd_report(&err, "terminate --snapshot failed");
		report_left(&l, &snaps);
		goto out;
	}
	ids = xcalloc(l.n, sizeof(*ids));
	for (k = 0; k < l.n; k++)
		ids[k] = l.items[k].id;
	if (action == LC_STOP)
		r = ec2_stop_instances(ctx->ec2, ids, l.n, &ch, &err);
	else if (action == LC_START)
		r = ec2_start_instances(ctx->ec2, ids, l.n, &ch, &err);
	else
		r = ec2_terminate_instances(ctx->ec2, ids, l.n, &ch, &err);
	if (r) {
		for (k = 0; action == LC_STOP && k < l.n; k++)
			if (l.items[k].lifecycle &&
			    !strcmp(l.items[k].lifecycle, "spot"))
				err_hint(&err,
					 "%s is a Spot instance: a "
					 "one-time Spot instance cannot "
					 "be stopped, only terminated "
					 "('gpuctl terminate %s')",
					 l.items[k].id, l.items[k].id);
		status = cmd_report(&err, what.data);
		if (snaps.n)
			report_left(&l, &snaps);
		goto out;
	}
	if (o.wait) {
		waited = 1;
		r = svc_wait_instances(ctx->ec2, ids, l.n, targets[action],
				       action == LC_START, o.timeout_s * 1000,
				       &progress, &final, &err);
		cmd_progress_done(ctx);
		if (r) {
			/* what was done is done: say so, then the error */
			print_result(ctx, &ch, NULL, &snaps);
			buf_reset(&what);
			buf_addf(&what, "%s --wait failed", o.cmd);
			status = cmd_report(&err, what.data);
			goto out;
		}
	}
	if (print_result(ctx, &ch, waited ? &final : NULL, &snaps))
		status = 1;
out:
	cmd_progress_done(ctx);
	free(ids);
	free(o.args);
	if (have_paths)
		state_paths_release(&p);
	snapshots_release(&snaps);
	ec2_state_change_list_release(&ch);
	ec2_instance_list_release(&final);
	ec2_instance_list_release(&l);
	buf_release(&what);
	err_clear(&err);
	return status;
}

int cmd_stop(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	return lifecycle(argc, argv, ctx, LC_STOP);
}

int cmd_start(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	return lifecycle(argc, argv, ctx, LC_START);
}

int cmd_terminate(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	return lifecycle(argc, argv, ctx, LC_TERMINATE);
}
