/*
 * svc_inventory: which instances there are and which one the user means.
 * Resolves the INSTANCE argument of every command (an ID, a Name tag, or
 * nothing: the last instance launched), lists the instances for `list`,
 * and knows an instance's image and the login user it expects.
 *
 * Ownership: arguments are borrowed; lists are appended to and belong to
 * the caller; returned char * belong to the caller.
 */
#ifndef GPUCTL_SVC_INVENTORY_H
#define GPUCTL_SVC_INVENTORY_H

#include "gpuctl/ec2.h"
#include "gpuctl/svc.h"

/*
 * Finds the instances that args name: an instance ID (i-...), or the value
 * of a Name tag (among instances not terminated; a name matching several is
 * an error listing them).  With no args, the instance last launched with
 * gpuctl in this region (an error saying so when there is none).  Appends
 * them to out in the order named.  An unknown ID or name fails with a
 * GPUCTL_ERR_OTHER error naming it (exit 1).
 */
int svc_resolve_instances(struct svc_ctx *s, const char *const *args,
			  size_t nargs, struct ec2_instance_list *out,
			  struct gpuctl_err *err);

/* The instance last launched with gpuctl in the region; *id NULL if none. */
int svc_last_instance(struct svc_ctx *s, char **id, struct gpuctl_err *err);

/* Drops instances named twice (by ID and by name, say), keeping the first. */
void svc_instances_dedupe(struct ec2_instance_list *l);

/* Moves item i of from to the end of to (ownership moves with it). */
void svc_instances_take(struct ec2_instance_list *to,
			struct ec2_instance_list *from, size_t i);

/*
 * The instances for `list`: those in one of states (instance-state-name
 * values), only gpuctl's (tagged SVC_MANAGED_TAG) unless all, oldest
 * first.  Brief descriptions (what `list` prints).
 */
int svc_list_instances(struct svc_ctx *s, int all, const char *const *states,
		       size_t nstates, struct ec2_instance_list *out,
		       struct gpuctl_err *err);

/*
 * The image instance i was launched from, looked up and appended to out.
 * NULL when i names no image or EC2 no longer shows it (deregistered
 * images vanish: that is no error); NULL with err filled on another
 * error.  The image belongs to out.
 */
const struct ec2_image *svc_instance_image(struct svc_ctx *s,
					   const struct ec2_instance *i,
					   struct ec2_image_list *out,
					   struct gpuctl_err *err);

/*
 * The login user for an image, guessed from its name, description and
 * location: "ubuntu", "ec2-user", "admin" (Debian), "centos", "fedora",
 * "rocky", "core", "bitnami"...; "ec2-user" when nothing matches or img
 * is NULL.  Returns a static string.
 */
const char *svc_login_user(const struct ec2_image *img);

/*
 * The login user to log in to i as: user when not NULL, else guessed from
 * image, else from i's image, looked up and appended to images (a warning
 * is logged when it cannot be seen: "ec2-user" is tried).
 */
char *svc_instance_login_user(struct svc_ctx *s, const struct ec2_instance *i,
			      const struct ec2_image *image, const char *user,
			      struct ec2_image_list *images);

#endif
