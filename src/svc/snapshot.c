/*
 * Snapshots before terminate, and the snapshot waiter: DescribeSnapshots
 * on the one poll loop until every snapshot is completed.
 */
#include "gpuctl/svc_snapshot.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpuctl/log.h"
#include "gpuctl/out.h"

/*
 * How long a snapshot left by an interrupted terminate --snapshot is
 * adopted by the next run instead of taking another.
 */
#define ADOPT_SNAPSHOT_S (10 * 60)

void svc_snapshot_list_release(struct svc_snapshot_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->items[i].id);
		free(l->items[i].volume_id);
		free(l->items[i].instance_id);
		free(l->items[i].device);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static void snapshot_add(struct svc_snapshot_list *l, const char *id,
			 const char *vol, const char *inst, const char *dev)
{
	struct svc_snapshot *x;

	l->items = xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
	x = &l->items[l->n++];
	x->id = xstrdup(id);
	x->volume_id = xstrdup(vol);
	x->instance_id = xstrdup(inst);
	x->device = xstrdup(dev);
}

/*
 * The snapshots gpuctl took of volume vol (device dev) of instance id, not
 * failed, oldest first.  A CreateSnapshot whose answer was lost and
 * retried, or an interrupted run, leaves one behind.
 */
static int own_snapshots(struct svc_ctx *s, const char *id, const char *vol,
			 const char *dev, struct ec2_snapshot_list *out,
			 struct gpuctl_err *err)
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
	if (ec2_describe_snapshots(s->ec2, &q, out, err))
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
static int snapshot_volume(struct svc_ctx *s, const struct ec2_instance *i,
			   const char *vol, const char *dev,
			   struct svc_snapshot_list *out,
			   struct gpuctl_err *err)
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
	if (own_snapshots(s, i->id, vol, dev, &have, err))
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
	if (ec2_create_snapshot(s->ec2, vol, desc, tags, 4, &snap, err))
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
static int snapshot_instance(struct svc_ctx *s, const struct ec2_instance *i,
			     struct svc_snapshot_list *out,
			     struct gpuctl_err *err)
{
	struct ec2_volume_list vl = {0};
	struct ec2_describe q = {0};
	struct ec2_filter f;
	size_t k, a, before = out->n;
	int rc = -1;

	for (k = 0; k < i->ndevices; k++) {
		if (!i->devices[k].volume_id)
			continue;
		if (snapshot_volume(s, i, i->devices[k].volume_id,
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
	if (ec2_describe_volumes(s->ec2, &q, &vl, err))
		goto out;
	for (k = 0; k < vl.n; k++)
		for (a = 0; a < vl.items[k].nattachments; a++) {
			const struct ec2_volume_attachment *at =
			    &vl.items[k].attachments[a];

			if (!at->instance_id || strcmp(at->instance_id, i->id))
				continue;
			if (snapshot_volume(s, i, vl.items[k].id,
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

/*
 * A retried CreateSnapshot whose first answer was lost, or the request of
 * an interrupted run that the server carried out late, made one snapshot
 * more: those started since t0 that are not ours go.  Best effort.
 */
static void drop_duplicates(struct svc_ctx *s,
			    const struct svc_snapshot_list *l, long long t0)
{
	struct gpuctl_err e2 = GPUCTL_ERR_INIT;
	size_t k, j, m;

	for (k = 0; k < l->n; k++) {
		struct ec2_snapshot_list have = {0};
		const struct svc_snapshot *x = &l->items[k];

		if (own_snapshots(s, x->instance_id, x->volume_id, x->device,
				  &have, &e2)) {
			err_clear(&e2);
			continue;
		}
		for (j = 0; j < have.n; j++) {
			int ours = 0;

			for (m = 0; m < l->n; m++)
				ours |=
				    !strcmp(have.items[j].id, l->items[m].id);
			if (ours || have.items[j].start_epoch < t0)
				continue;
			if (!ec2_delete_snapshot(s->ec2, have.items[j].id, &e2))
				log_info(
				    "deleted %s, a duplicate of snapshot %s",
				    have.items[j].id, x->id);
			err_clear(&e2);
		}
		ec2_snapshot_list_release(&have);
	}
}

int svc_snapshot_instances(struct svc_ctx *s, const struct ec2_instance_list *l,
			   long timeout_ms, struct svc_snapshot_list *out,
			   struct gpuctl_err *err)
{
	const char **ids = NULL;
	long long t0 = (long long)time(NULL) - 5; /* some leeway for clocks */
	size_t k;
	int rc = -1;

	for (k = 0; k < l->n; k++)
		if (snapshot_instance(s, &l->items[k], out, err))
			goto out;
	ids = xcalloc(out->n + 1, sizeof(*ids));
	for (k = 0; k < out->n; k++)
		ids[k] = out->items[k].id;
	rc = svc_wait_snapshots(s, ids, out->n, timeout_ms, err);
	if (!rc)
		drop_duplicates(s, out, t0);
out:
	free(ids);
	return rc;
}

struct snapshot_wait {
	struct svc_ctx *s;
	struct ec2_describe q;
};

/* One look: 1 when every snapshot is completed, 0 not yet, -1 failed. */
static int snapshots_done(void *arg, struct buf *what, struct gpuctl_err *err)
{
	struct snapshot_wait *w = arg;
	struct ec2_snapshot_list l = {0};
	size_t i, done = 0;
	int rc = 0;

	if (ec2_describe_snapshots(w->s->ec2, &w->q, &l, err)) {
		ec2_snapshot_list_release(&l);
		if (!err->code || strcmp(err->code, "InvalidSnapshot.NotFound"))
			return -1;
		err_clear(err);
	}
	for (i = 0; i < l.n; i++) {
		const struct ec2_snapshot *x = &l.items[i];

		if (x->state && !strcmp(x->state, "error")) {
			err_set(err, GPUCTL_ERR_OTHER,
				"snapshot %s of %s failed", x->id,
				x->volume_id ? x->volume_id : "?");
			rc = -1;
			goto out;
		}
		if (x->state && !strcmp(x->state, "completed"))
			done++;
		buf_addf(what, "%s%s: %s %d%%", i ? ", " : "", x->id,
			 x->state ? x->state : "?", x->progress_pct);
	}
	if (done == w->q.nids)
		rc = 1;
out:
	ec2_snapshot_list_release(&l);
	return rc;
}

int svc_wait_snapshots(struct svc_ctx *s, const char *const *ids, size_t nids,
		       long timeout_ms, struct gpuctl_err *err)
{
	struct snapshot_wait w = {0};
	struct svc_poll p = {0};

	w.s = s;
	w.q.ids = ids;
	w.q.nids = nids;
	p.check = snapshots_done;
	p.arg = &w;
	p.waiting_for = "snapshots";
	p.timeout_ms = timeout_ms;
	return svc_poll(s, &p, err);
}
