/*
 * svc_snapshot: snapshots of an instance's volumes before it goes
 * (terminate --snapshot), and the snapshot waiter on the one poll loop.
 * Snapshots are tagged Name=NAME-DEVICE, SVC_MANAGED_TAG=true,
 * gpuctl:instance=ID and gpuctl:device=DEVICE.  A run interrupted less
 * than ten minutes ago left snapshots that the next one adopts instead of
 * taking others; a retried request that made one more has it deleted.
 *
 * Ownership: arguments are borrowed; a struct svc_snapshot_list owns its
 * strings (svc_snapshot_list_release()).
 */
#ifndef GPUCTL_SVC_SNAPSHOT_H
#define GPUCTL_SVC_SNAPSHOT_H

#include "gpuctl/ec2.h"
#include "gpuctl/svc.h"

/* One snapshot taken (or adopted): of a volume, attached as device. */
struct svc_snapshot {
	char *id;
	char *volume_id;
	char *instance_id;
	char *device;
};

struct svc_snapshot_list {
	struct svc_snapshot *items;
	size_t n;
};
void svc_snapshot_list_release(struct svc_snapshot_list *l);

/*
 * Snapshots every EBS volume of every instance of l (from its block
 * device mapping, else the volumes attached to it), waits until all are
 * completed (timeout_ms <= 0: no limit), then deletes duplicates.  out
 * gets the snapshots, also those that exist when it fails.  An instance
 * without an EBS volume is an error.
 */
int svc_snapshot_instances(struct svc_ctx *s, const struct ec2_instance_list *l,
			   long timeout_ms, struct svc_snapshot_list *out,
			   struct gpuctl_err *err);

/*
 * Waits until every snapshot in ids is "completed" (svc_poll(); "error"
 * fails at once).  timeout_ms <= 0 means no limit.
 */
int svc_wait_snapshots(struct svc_ctx *s, const char *const *ids, size_t nids,
		       long timeout_ms, struct gpuctl_err *err);

#endif
