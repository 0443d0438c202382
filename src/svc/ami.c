/*
 * Which image: launch's --ami resolved (ID, exact name, pattern -> newest,
 * owner rank), the root volume size rule, and the AMI search of `images`.
 */
#include "gpuctl/svc_ami.h"

#include <stdlib.h>
#include <string.h>

#include "gpuctl/log.h"

static int is_pattern(const char *s)
{
	return strchr(s, '*') || strchr(s, '?');
}

/* Own images first, then Amazon's, then the newest. */
static int image_rank(const struct ec2_image *img)
{
	if (img->owner_alias && !strcmp(img->owner_alias, "self"))
		return 0;
	if (img->owner_alias && !strcmp(img->owner_alias, "amazon"))
		return 1;
	return 2;
}

int svc_resolve_ami(struct svc_ctx *s, const char *ami,
		    struct ec2_image_list *images,
		    const struct ec2_image **image, struct gpuctl_err *err)
{
	struct ec2_describe q = {0};
	struct ec2_filter f;
	const struct ec2_image *img;
	size_t i, best = 0, same = 0;

	*image = NULL;
	if (starts_with(ami, "ami-")) {
		q.ids = &ami;
		q.nids = 1;
	} else {
		f = (struct ec2_filter){"name", &ami, 1};
		q.filters = &f;
		q.nfilters = 1;
	}
	if (ec2_describe_images(s->ec2, &q, images, err)) {
		if (err->code && starts_with(err->code, "InvalidAMIID")) {
			err_hint(err,
				 "AMIs are regional: %s may exist only "
				 "in another region (pass --region)",
				 ami);
		}
		return -1;
	}
	for (i = 0; i < images->n; i++) {
		const struct ec2_image *a = &images->items[i];
		const struct ec2_image *b = &images->items[best];

		if (a->state && strcmp(a->state, "available"))
			continue;
		if (i == best)
			continue;
		if (image_rank(a) < image_rank(b) ||
		    (image_rank(a) == image_rank(b) &&
		     a->creation_epoch > b->creation_epoch))
			best = i;
	}
	if (!images->n) {
		err_set(err, GPUCTL_ERR_OTHER, "no image %s '%.200s' in %s",
			is_pattern(ami) ? "matches" : "is named", ami,
			s->region);
		err_hint(err, "AMIs are regional: the image may exist in "
			      "another region only; pass --region REGION "
			      "(find it with 'gpuctl --region REGION images "
			      "NAME')");
		return -1;
	}
	img = &images->items[best];
	/* the same exact name from several owners: say which was taken */
	for (i = 0; i < images->n && !is_pattern(ami); i++)
		if (images->items[i].owner_id && img->owner_id &&
		    strcmp(images->items[i].owner_id, img->owner_id))
			same++;
	if (same)
		log_warn("%zu other images are named '%.100s'; using %s of "
			 "owner %s",
			 same, ami, img->id,
			 img->owner_id ? img->owner_id : "?");
	log_info("image %s (%s)", img->id, img->name ? img->name : "");
	*image = img;
	return 0;
}

int svc_root_volume(const struct ec2_image *img, long *size_gib, int given,
		    struct gpuctl_err *err)
{
	/* the root volume cannot be smaller than the image's snapshot */
	if (img->root_volume_size <= *size_gib)
		return 0;
	if (given) {
		err_set(err, GPUCTL_ERR_OTHER,
			"image %s needs a root volume of at least %ld "
			"GiB, not %ld",
			img->id, img->root_volume_size, *size_gib);
		err_hint(err, "pass --volume-size %ld or more",
			 img->root_volume_size);
		return -1;
	}
	log_info("root volume of %ld GiB, the image's size",
		 img->root_volume_size);
	*size_gib = img->root_volume_size;
	return 0;
}

static int newest_first(const void *a, const void *b)
{
	const struct ec2_image *x = a, *y = b;
	int r;

	if (x->creation_epoch != y->creation_epoch)
		return x->creation_epoch > y->creation_epoch ? -1 : 1;
	r = strcmp(x->name ? x->name : "", y->name ? y->name : "");
	return r ? r : strcmp(x->id, y->id);
}

/* An image ID, looked up by ID rather than by name. */
static int is_image_id(const char *s)
{
	size_t i;

	if (!starts_with(s, "ami-") || !s[4])
		return 0;
	for (i = 4; s[i]; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return 0;
	return 1;
}

int svc_search_images(struct svc_ctx *s, const char *pattern, const char *owner,
		      struct ec2_image_list *out, struct gpuctl_err *err)
{
	struct ec2_describe q = {0};
	struct ec2_filter f;
	size_t before = out->n;

	if (is_image_id(pattern)) {
		q.ids = &pattern;
		q.nids = 1;
	} else {
		f.name = "name";
		f.values = &pattern;
		f.nvalues = 1;
		q.filters = &f;
		q.nfilters = 1;
	}
	if (strcmp(owner, "all")) {
		q.owners = &owner;
		q.nowners = 1;
	}
	if (ec2_describe_images(s->ec2, &q, out, err)) {
		if (!err->code || !starts_with(err->code, "InvalidAMIID"))
			return -1;
		err_clear(err);
	}
	if (out->n > before)
		qsort(out->items + before, out->n - before, sizeof(*out->items),
		      newest_first);
	return 0;
}
