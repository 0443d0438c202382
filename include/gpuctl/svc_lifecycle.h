/*
 * svc_lifecycle: the end of the work and the way back -- stop, start,
 * terminate -- and the instance waiter (on the one poll loop) that launch
 * and the lifecycle commands wait with.
 *
 * Ownership: arguments are borrowed; lists are appended to and belong to
 * the caller.
 */
#ifndef GPUCTL_SVC_LIFECYCLE_H
#define GPUCTL_SVC_LIFECYCLE_H

#include "gpuctl/ec2.h"
#include "gpuctl/svc.h"

enum svc_lifecycle_action { SVC_STOP, SVC_START, SVC_TERMINATE };

/*
 * Stops, starts or terminates every instance of l, appending EC2's
 * state changes to ch.  Stopping a one-time Spot instance fails with a
 * hint to terminate it instead.
 */
int svc_change_state(struct svc_ctx *s, enum svc_lifecycle_action a,
		     const struct ec2_instance_list *l,
		     struct ec2_state_change_list *ch, struct gpuctl_err *err);

/*
 * Waits until every instance of l is where action a takes it: stopped,
 * running with a public address, or terminated (svc_wait_instances()).
 */
int svc_wait_state(struct svc_ctx *s, enum svc_lifecycle_action a,
		   const struct ec2_instance_list *l, long timeout_ms,
		   struct ec2_instance_list *out, struct gpuctl_err *err);

/*
 * Waits until every instance of l is in state (e.g. "running", "stopped",
 * "terminated"); with need_public_ip, until each also has a public IP.
 * Polls DescribeInstances (svc_poll()), tolerating
 * InvalidInstanceID.NotFound (eventual consistency) until the deadline.
 * An instance that reaches a state from which the target cannot come
 * (terminated while waiting for running, ...) fails at once
 * (GPUCTL_ERR_OTHER), with its state reason.  timeout_ms <= 0 means no
 * limit.  On success the final descriptions are appended to out (out may
 * be NULL).  A timeout is GPUCTL_ERR_TIMEOUT.
 */
int svc_wait_instances(struct svc_ctx *s, const struct ec2_instance_list *l,
		       const char *state, int need_public_ip, long timeout_ms,
		       struct ec2_instance_list *out, struct gpuctl_err *err);

#endif
