/*
 * svc: services the commands share, above ec2/ and state/: finding the
 * instances a command names, waiting for states, guessing the login user
 * of an image, learning the caller's public IP.  Nothing here prints to
 * stdout; progress is reported through callbacks.
 *
 * Ownership: arguments are borrowed; results belong to the caller.
 */
#ifndef GPUCTL_SVC_H
#define GPUCTL_SVC_H

#include "gpuctl/ec2.h"
#include "gpuctl/err.h"
#include "gpuctl/state.h"

/* The tag every instance gpuctl launches carries. */
#define SVC_MANAGED_TAG "gpuctl:managed"

/*
 * Finds the instances that args name: an instance ID (i-...), or the value
 * of a Name tag (among instances not terminated; a name matching several is
 * an error listing them).  With no args, the instance last launched with
 * gpuctl in this region (an error saying so when there is none).  Appends
 * them to out in the order named.  An unknown ID or name fails with a
 * GPUCTL_ERR_OTHER error naming it (exit 1).
 */
int svc_resolve_instances(struct ec2_client *ec2, const struct state_paths *p,
			  const char *region, const char *const *args,
			  size_t nargs, struct ec2_instance_list *out,
			  struct gpuctl_err *err);

/* What the waiters report as they go (may be NULL). */
struct svc_progress {
	void (*report)(void *ctx, const char *what, double elapsed_s);
	void *ctx;
};

/*
 * Waits until every instance in ids is in state (e.g. "running",
 * "stopped", "terminated"); with need_public_ip, until each also has a
 * public IP.  Polls DescribeInstances with an interval that starts near
 * 1 s and grows slowly (capped at 5 s), tolerating InvalidInstanceID.NotFound
 * (eventual consistency) until the deadline.  An instance that reaches a
 * state from which the target cannot come (terminated while waiting for
 * running, ...) fails at once, with its state reason.  timeout_ms <= 0
 * means no limit.  On success the final descriptions are appended to out
 * (out may be NULL).  A timeout is GPUCTL_ERR_TIMEOUT.
 */
int svc_wait_instances(struct ec2_client *ec2, const char *const *ids,
		       size_t nids, const char *state, int need_public_ip,
		       long timeout_ms, const struct svc_progress *progress,
		       struct ec2_instance_list *out, struct gpuctl_err *err);

/* Waits until every snapshot is "completed" ("error" fails at once). */
int svc_wait_snapshots(struct ec2_client *ec2, const char *const *ids,
		       size_t nids, long timeout_ms,
		       const struct svc_progress *progress,
		       struct gpuctl_err *err);

/*
 * The login user for an image, guessed from its name, description and
 * platform: "ubuntu", "ec2-user", "admin" (Debian), "centos", "fedora",
 * "rocky", "core", "bitnami"...; "ec2-user" when nothing matches.
 * Returns a static string.
 */
const char *svc_login_user(const struct ec2_image *img);

/*
 * The image instance i was launched from, looked up and appended to out.
 * NULL when i names no image or EC2 no longer shows it (deregistered
 * images vanish: that is no error); NULL with err filled on another
 * error.  The image belongs to out.
 */
const struct ec2_image *svc_instance_image(struct ec2_client *ec2,
					   const struct ec2_instance *i,
					   struct ec2_image_list *out,
					   struct gpuctl_err *err);

/*
 * The caller's public IPv4 address as a.b.c.d: GPUCTL_CALLER_IP from envp
 * when set (tests), else https://checkip.amazonaws.com.  *ip belongs to
 * the caller.
 */
int svc_caller_ip(char *const *envp, const char *ca_bundle, char **ip,
		  struct gpuctl_err *err);

/* 1 when cidr (a.b.c.d/n) contains the IPv4 address ip. */
int svc_cidr_contains(const char *cidr, const char *ip);

/* Milliseconds on the monotonic clock. */
long long svc_now_ms(void);

#endif
