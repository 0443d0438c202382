/*
 * svc_ami: which image.  Resolves launch's --ami (an ami- ID, an exact
 * name, or a pattern with * and ? whose newest image wins; own images
 * first, then Amazon's), says how big the root volume must be, and
 * searches images for `images`.
 *
 * Ownership: arguments are borrowed; image lists are appended to and
 * belong to the caller, and an image returned points into one.
 */
#ifndef GPUCTL_SVC_AMI_H
#define GPUCTL_SVC_AMI_H

#include "gpuctl/ec2.h"
#include "gpuctl/svc.h"

/*
 * The image ami names in s->region, looked up into images: *image is the
 * chosen one.  An image found nowhere is an error whose hint says that
 * AMIs are regional.  Several images of the same exact name from other
 * owners are named in a warning.
 */
int svc_resolve_ami(struct svc_ctx *s, const char *ami,
		    struct ec2_image_list *images,
		    const struct ec2_image **image, struct gpuctl_err *err);

/*
 * The root volume for img: *size_gib when the image's snapshot fits in
 * it; else the image's size when the size was not given, an error
 * (with the size to pass) when it was.
 */
int svc_root_volume(const struct ec2_image *img, long *size_gib, int given,
		    struct gpuctl_err *err);

/*
 * The images pattern names (an ami- ID, an exact name or a pattern),
 * owned by owner ("self", "amazon", or "all"), newest first, appended to
 * out.  An ID EC2 does not know gives no image, not an error.
 */
int svc_search_images(struct svc_ctx *s, const char *pattern, const char *owner,
		      struct ec2_image_list *out, struct gpuctl_err *err);

#endif
