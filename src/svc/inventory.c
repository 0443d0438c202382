/*
 * Which instances there are and which one the user means: an ID, a Name
 * tag or the last instance launched; the list for `list`; the image an
 * instance came from and the login user it expects.
 */
#include "gpuctl/svc_inventory.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gpuctl/log.h"

static int is_instance_id(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 10 || n > 19 || strncmp(s, "i-", 2))
		return 0;
	for (i = 2; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return 0;
	return 1;
}

void svc_instances_take(struct ec2_instance_list *to,
			struct ec2_instance_list *from, size_t i)
{
	to->items = xrealloc(to->items, (to->n + 1) * sizeof(*to->items));
	to->items[to->n++] = from->items[i];
	memmove(&from->items[i], &from->items[i + 1],
		(from->n - i - 1) * sizeof(*from->items));
	from->n--;
}

static int resolve_one(struct svc_ctx *s, const char *arg,
		       struct ec2_instance_list *out, struct gpuctl_err *err)
{
	struct ec2_instance_list found = {0};
	struct ec2_describe q = {0};
	struct ec2_filter f[2];
	const char *states[] = {"pending", "running", "stopping", "stopped",
				"shutting-down"};
	struct buf list = BUF_INIT;
	size_t i;
	int rc = -1;

	if (is_instance_id(arg)) {
		q.ids = &arg;
		q.nids = 1;
	} else {
		f[0] = (struct ec2_filter){"tag:Name", &arg, 1};
		f[1] = (struct ec2_filter){"instance-state-name", states, 5};
		q.filters = f;
		q.nfilters = 2;
	}
	if (ec2_describe_instances(s->ec2, &q, &found, err)) {
		if (err->code &&
		    !strcmp(err->code, "InvalidInstanceID.NotFound"))
			err_hint(err, "the instance may be in another region "
				      "(--region), or gone for a while");
		goto out;
	}
	if (found.n == 0) {
		err_set(err, GPUCTL_ERR_OTHER,
			"no instance named '%.100s' (not terminated) in this "
			"region",
			arg);
		err_hint(err, "see 'gpuctl list', or pass an instance ID");
		goto out;
	}
	if (found.n > 1) {
		for (i = 0; i < found.n; i++)
			buf_addf(&list, "%s%s", i ? ", " : "",
				 found.items[i].id);
		err_set(err, GPUCTL_ERR_OTHER,
			"%zu instances are named '%.100s': %s", found.n, arg,
			list.data);
		err_hint(err, "pass an instance ID instead");
		goto out;
	}
	svc_instances_take(out, &found, 0);
	rc = 0;
out:
	buf_release(&list);
	ec2_instance_list_release(&found);
	return rc;
}

int svc_last_instance(struct svc_ctx *s, char **id, struct gpuctl_err *err)
{
	*id = NULL;
	if (svc_ctx_paths(s, err))
		return -1;
	return state_last_instance(&s->paths, s->region, id, err);
}

int svc_resolve_instances(struct svc_ctx *s, const char *const *args,
			  size_t nargs, struct ec2_instance_list *out,
			  struct gpuctl_err *err)
{
	char *last = NULL;
	size_t i;
	int rc = -1;

	if (nargs == 0) {
		if (svc_last_instance(s, &last, err))
			return -1;
		if (!last) {
			err_set(err, GPUCTL_ERR_OTHER,
				"no instance given, and none launched with "
				"gpuctl in %s",
				s->region);
			err_hint(err, "pass an instance ID or Name (see "
				      "'gpuctl list')");
			return -1;
		}
		rc = resolve_one(s, last, out, err);
		free(last);
		return rc;
	}
	for (i = 0; i < nargs; i++)
		if (resolve_one(s, args[i], out, err))
			return -1;
	return 0;
}

void svc_instances_dedupe(struct ec2_instance_list *l)
{
	struct ec2_instance_list dropped = {0};
	size_t i, j;

	for (i = 1; i < l->n;) {
		for (j = 0; j < i; j++)
			if (!strcmp(l->items[j].id, l->items[i].id))
				break;
		if (j == i)
			i++;
		else
			svc_instances_take(&dropped, l, i);
	}
	ec2_instance_list_release(&dropped);
}

static int by_launch(const void *a, const void *b)
{
	const struct ec2_instance *x = a, *y = b;

	if (x->launch_epoch != y->launch_epoch)
		return x->launch_epoch < y->launch_epoch ? -1 : 1;
	return strcmp(x->id, y->id);
}

int svc_list_instances(struct svc_ctx *s, int all, const char *const *states,
		       size_t nstates, struct ec2_instance_list *out,
		       struct gpuctl_err *err)
{
	struct ec2_describe q = {0};
	struct ec2_filter filters[2];
	const char *managed[] = {SVC_MANAGED_TAG};
	size_t nfilters = 0, before = out->n;

	filters[nfilters].name = "instance-state-name";
	filters[nfilters].values = states;
	filters[nfilters].nvalues = nstates;
	nfilters++;
	if (!all) {
		filters[nfilters].name = "tag-key";
		filters[nfilters].values = managed;
		filters[nfilters].nvalues = 1;
		nfilters++;
	}
	q.filters = filters;
	q.nfilters = nfilters;
	q.max_results = 1000;
	out->brief = 1; /* only what is printed: a third of the memory */
	if (ec2_describe_instances(s->ec2, &q, out, err))
		return -1;
	if (out->n > before)
		qsort(out->items + before, out->n - before, sizeof(*out->items),
		      by_launch);
	return 0;
}

const struct ec2_image *svc_instance_image(struct svc_ctx *s,
					   const struct ec2_instance *i,
					   struct ec2_image_list *out,
					   struct gpuctl_err *err)
{
	struct ec2_describe q = {0};
	size_t before = out->n;

	if (!i->image_id)
		return NULL;
	q.ids = (const char *const *)&i->image_id;
	q.nids = 1;
	if (ec2_describe_images(s->ec2, &q, out, err)) {
		if (err->code && starts_with(err->code, "InvalidAMIID"))
			err_clear(err);
		return NULL;
	}
	return out->n > before ? &out->items[before] : NULL;
}

static int icontains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; hay && *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return 1;
	return 0;
}

const char *svc_login_user(const struct ec2_image *img)
{
	static const struct {
		const char *word;
		const char *user;
	} table[] = {
	    {"ubuntu", "ubuntu"},	  {"debian", "admin"},
	    {"centos", "centos"},	  {"fedora", "fedora"},
	    {"rocky", "rocky"},		  {"almalinux", "ec2-user"},
	    {"flatcar", "core"},	  {"coreos", "core"},
	    {"bitnami", "bitnami"},	  {"suse", "ec2-user"},
	    {"amazon linux", "ec2-user"}, {"amzn", "ec2-user"},
	    {"al2023", "ec2-user"},	  {"rhel", "ec2-user"},
	    {"red hat", "ec2-user"},	  {"freebsd", "ec2-user"},
	};
	const char *fields[3];
	size_t i, k;

	if (!img)
		return "ec2-user";
	fields[0] = img->name;
	fields[1] = img->description;
	fields[2] = img->image_location;
	for (k = 0; k < 3; k++)
		for (i = 0; i < sizeof(table) / sizeof(*table); i++)
			if (icontains(fields[k], table[i].word))
				return table[i].user;
	return "ec2-user";
}

char *svc_instance_login_user(struct svc_ctx *s, const struct ec2_instance *i,
			      const struct ec2_image *image, const char *user,
			      struct ec2_image_list *images)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;

	if (user)
		return xstrdup(user);
	if (!image)
		image = svc_instance_image(s, i, images, &err);
	err_clear(&err);
	if (!image)
		log_warn("cannot see image %s to guess the login user; "
			 "trying ec2-user (pass -l USER)",
			 i->image_id ? i->image_id : "?");
	return xstrdup(svc_login_user(image));
}
