/*
 * Stop, start, terminate, and the instance waiter: DescribeInstances on
 * the one poll loop until every instance reaches a state.
 */
#include "gpuctl/svc_lifecycle.h"

#include <stdlib.h>
#include <string.h>

#include "gpuctl/svc_inventory.h"

/*
 * 1 when an instance in state now can still reach target.  Only the end
 * of an instance is final: a "stopped" seen just after StartInstances may
 * be DescribeInstances lagging behind (eventual consistency).
 */
static int can_reach(const char *now, const char *target)
{
	if (!strcmp(now, "terminated") || !strcmp(now, "shutting-down"))
		return !strcmp(target, "terminated") ||
		       !strcmp(target, "shutting-down");
	return 1;
}

struct instance_wait {
	struct svc_ctx *s;
	struct ec2_describe q;
	const char *state;
	int need_public_ip;
	struct ec2_instance_list *out;
};

/* One look: 1 when every instance is there, 0 not yet, -1 never. */
static int instances_ready(void *arg, struct buf *what, struct gpuctl_err *err)
{
	struct instance_wait *w = arg;
	struct ec2_instance_list l = {0};
	size_t i, ready = 0;
	int rc = 0;

	if (ec2_describe_instances(w->s->ec2, &w->q, &l, err)) {
		ec2_instance_list_release(&l);
		/* a new instance may be unknown for a while */
		if (!err->code ||
		    strcmp(err->code, "InvalidInstanceID.NotFound"))
			return -1;
		buf_adds(what, "waiting for EC2 to know the instance");
		err_clear(err);
		return 0;
	}
	for (i = 0; i < l.n; i++) {
		const struct ec2_instance *x = &l.items[i];
		const char *st = x->state_name ? x->state_name : "unknown";
		int there = !strcmp(st, w->state);

		if (!can_reach(st, w->state)) {
			err_set(
			    err, GPUCTL_ERR_OTHER,
			    "%s is %s, it will not become %s%s%.200s", x->id,
			    st, w->state, x->state_reason_message ? ": " : "",
			    x->state_reason_message ? x->state_reason_message
						    : "");
			rc = -1;
			goto out;
		}
		if (there && (!w->need_public_ip || x->public_ip))
			ready++;
		buf_addf(what, "%s%s: %s", i ? ", " : "", x->id,
			 there && w->need_public_ip && !x->public_ip
			     ? "waiting for its address"
			     : st);
	}
	if (l.n == w->q.nids && ready == w->q.nids) {
		while (w->out && l.n)
			svc_instances_take(w->out, &l, 0);
		rc = 1;
	}
out:
	ec2_instance_list_release(&l);
	return rc;
}

int svc_wait_instances(struct svc_ctx *s, const struct ec2_instance_list *l,
		       const char *state, int need_public_ip, long timeout_ms,
		       struct ec2_instance_list *out, struct gpuctl_err *err)
{
	struct instance_wait w = {0};
	struct svc_poll p = {0};
	const char **ids = xcalloc(l->n + 1, sizeof(*ids));
	size_t i;
	int rc;

	for (i = 0; i < l->n; i++)
		ids[i] = l->items[i].id;
	w.s = s;
	w.q.ids = ids;
	w.q.nids = l->n;
	w.state = state;
	w.need_public_ip = need_public_ip;
	w.out = out;
	p.check = instances_ready;
	p.arg = &w;
	p.waiting_for = state;
	p.timeout_hint =
	    "wait longer with --timeout SECONDS, or see 'gpuctl show'";
	p.timeout_ms = timeout_ms;
	rc = svc_poll(s, &p, err);
	free(ids);
	return rc;
}

int svc_change_state(struct svc_ctx *s, enum svc_lifecycle_action a,
		     const struct ec2_instance_list *l,
		     struct ec2_state_change_list *ch, struct gpuctl_err *err)
{
	const char **ids = xcalloc(l->n + 1, sizeof(*ids));
	size_t k;
	int r;

	for (k = 0; k < l->n; k++)
		ids[k] = l->items[k].id;
	if (a == SVC_STOP)
		r = ec2_stop_instances(s->ec2, ids, l->n, ch, err);
	else if (a == SVC_START)
		r = ec2_start_instances(s->ec2, ids, l->n, ch, err);
	else
		r = ec2_terminate_instances(s->ec2, ids, l->n, ch, err);
	for (k = 0; r && a == SVC_STOP && k < l->n; k++)
		if (l->items[k].lifecycle &&
		    !strcmp(l->items[k].lifecycle, "spot"))
			err_hint(err,
				 "%s is a Spot instance: a one-time Spot "
				 "instance cannot be stopped, only terminated "
				 "('gpuctl terminate %s')",
				 l->items[k].id, l->items[k].id);
	free(ids);
	return r;
}

int svc_wait_state(struct svc_ctx *s, enum svc_lifecycle_action a,
		   const struct ec2_instance_list *l, long timeout_ms,
		   struct ec2_instance_list *out, struct gpuctl_err *err)
{
	static const char *const targets[] = {
	    [SVC_STOP] = "stopped",
	    [SVC_START] = "running",
	    [SVC_TERMINATE] = "terminated",
	};

	return svc_wait_instances(s, l, targets[a], a == SVC_START, timeout_ms,
				  out, err);
}
