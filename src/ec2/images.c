/*
 * DescribeImages, DescribeRegions, DescribeAvailabilityZones and
 * DescribeAccountAttributes.
 */
#include "ec2_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- DescribeImages ---- */

static void image_release(struct ec2_image *i)
{
	free(i->id);
	free(i->name);
	free(i->description);
	free(i->owner_id);
	free(i->owner_alias);
	free(i->creation_date);
	free(i->state);
	free(i->architecture);
	free(i->platform_details);
	free(i->platform);
	free(i->root_device_name);
	free(i->root_device_type);
	free(i->virtualization_type);
	free(i->image_location);
	free(i->image_type);
	ec2_tags_free(i->tags, i->ntags);
}

void ec2_image_list_release(struct ec2_image_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		image_release(&l->items[i]);
	free(l->items);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

static int image_from(struct ec2_doc *d, xmlNode *it, struct ec2_image *im,
		      struct gpuctl_err *err)
{
	xmlNode *bdm, *b = NULL;

	if (ec2_xml_need(d, it, "imageId", &im->id, err))
		return -1;
	im->name = ec2_xml_text(it, "name");
	im->description = ec2_xml_text(it, "description");
	im->owner_id = ec2_xml_text_ne(it, "imageOwnerId");
	im->owner_alias = ec2_xml_text_ne(it, "imageOwnerAlias");
	im->creation_date = ec2_xml_text_ne(it, "creationDate");
	if (im->creation_date &&
	    ec2_parse_time(im->creation_date, &im->creation_epoch))
		im->creation_epoch = 0;
	im->state = ec2_xml_text_ne(it, "imageState");
	im->architecture = ec2_xml_text_ne(it, "architecture");
	im->platform_details = ec2_xml_text_ne(it, "platformDetails");
	im->platform = ec2_xml_text_ne(it, "platform");
	im->root_device_name = ec2_xml_text_ne(it, "rootDeviceName");
	im->root_device_type = ec2_xml_text_ne(it, "rootDeviceType");
	im->virtualization_type = ec2_xml_text_ne(it, "virtualizationType");
	im->image_location = ec2_xml_text_ne(it, "imageLocation");
	im->image_type = ec2_xml_text_ne(it, "imageType");
	im->is_public = ec2_xml_bool(it, "isPublic");
	bdm = ec2_xml_child(it, "blockDeviceMapping");
	while ((b = ec2_xml_item(bdm, b))) {
		char *dev = ec2_xml_text(b, "deviceName");
		int root = dev && im->root_device_name &&
			   !strcmp(dev, im->root_device_name);

		free(dev);
		if (root &&
		    ec2_xml_long(d, ec2_xml_child(b, "ebs"), "volumeSize", 0,
				 1L << 20, &im->root_volume_size, err))
			return -1;
	}
	return ec2_xml_tags(d, it, &im->tags, &im->ntags, err);
}

int ec2_parse_describe_images(const char *xml, size_t len,
			      struct ec2_image_list *out,
			      struct gpuctl_err *err)
{
	struct ec2_doc d;
	xmlNode *set, *it = NULL;
	int rc = -1;

	if (ec2_xml_open(&d, "DescribeImages", xml, len, err))
		return -1;
	set = ec2_xml_child(d.root, "imagesSet");
	while ((it = ec2_xml_item(set, it)))
		if (image_from(&d, it, EC2_APPEND(out->items, out->n), err))
			goto out;
	ec2_xml_next_token(d.root, &out->next_token);
	rc = 0;
out:
	ec2_xml_close(&d, 0);
	return rc;
}

static int parse_images(const char *xml, size_t len, void *out,
			struct gpuctl_err *err)
{
	return ec2_parse_describe_images(xml, len, out, err);
}

int ec2_describe_images(struct ec2_client *c, const struct ec2_describe *q,
			struct ec2_image_list *out, struct gpuctl_err *err)
{
	struct ec2_req r;
	int rc;

	ec2_req_init(&r);
	ec2_req_describe(&r, q, "ImageId", NULL);
	if (q)
		ec2_req_list(&r, "Owner", q->owners, q->nowners);
	rc = ec2_req_pages(c, "DescribeImages", &r, parse_images, out,
			   &out->next_token, err);
	ec2_req_release(&r);
	return rc;
}

/* ---- DescribeRegions ---- */

void ec2_region_list_release(struct ec2_region_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->items[i].name);
		free(l->items[i].endpoint);
		free(l->items[i].opt_in_status);
	}
	free(l->items);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

int ec2_parse_describe_regions(const char *xml, size_t len,
			       struct ec2_region_list *out,
			       struct gpuctl_err *err)
{
	struct ec2_doc d;
	xmlNode *set, *it = NULL;
	struct ec2_region *r;
	int rc = -1;

	if (ec2_xml_open(&d, "DescribeRegions", xml, len, err))
		return -1;
	set = ec2_xml_child(d.root, "regionInfo");
	while ((it = ec2_xml_item(set, it))) {
		r = EC2_APPEND(out->items, out->n);
		if (ec2_xml_need(&d, it, "regionName", &r->name, err))
			goto out;
		r->endpoint = ec2_xml_text_ne(it, "regionEndpoint");
		r->opt_in_status = ec2_xml_text_ne(it, "optInStatus");
	}
	ec2_xml_next_token(d.root, &out->next_token);
	rc = 0;
out:
	ec2_xml_close(&d, 0);
	return rc;
}

static int parse_regions(const char *xml, size_t len, void *out,
			 struct gpuctl_err *err)
{
	return ec2_parse_describe_regions(xml, len, out, err);
}

int ec2_describe_regions(struct ec2_client *c, const struct ec2_describe *q,
			 struct ec2_region_list *out, struct gpuctl_err *err)
{
	struct ec2_req r;
	int rc;

	ec2_req_init(&r);
	ec2_req_describe(&r, q, NULL, "RegionName");
	rc = ec2_req_pages(c, "DescribeRegions", &r, parse_regions, out,
			   &out->next_token, err);
	ec2_req_release(&r);
	return rc;
}

/* ---- DescribeAvailabilityZones ---- */

void ec2_zone_list_release(struct ec2_zone_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->items[i].name);
		free(l->items[i].state);
		free(l->items[i].region_name);
		free(l->items[i].zone_id);
	}
	free(l->items);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

int ec2_parse_describe_availability_zones(const char *xml, size_t len,
					  struct ec2_zone_list *out,
					  struct gpuctl_err *err)
{
	struct ec2_doc d;
	xmlNode *set, *it = NULL;
	struct ec2_zone *z;
	int rc = -1;

	if (ec2_xml_open(&d, "DescribeAvailabilityZones", xml, len, err))
		return -1;
	set = ec2_xml_child(d.root, "availabilityZoneInfo");
	while ((it = ec2_xml_item(set, it))) {
		z = EC2_APPEND(out->items, out->n);
		if (ec2_xml_need(&d, it, "zoneName", &z->name, err))
			goto out;
		z->state = ec2_xml_text_ne(it, "zoneState");
		z->region_name = ec2_xml_text_ne(it, "regionName");
		z->zone_id = ec2_xml_text_ne(it, "zoneId");
	}
	ec2_xml_next_token(d.root, &out->next_token);
	rc = 0;
out:
	ec2_xml_close(&d, 0);
	return rc;
}

static int parse_zones(const char *xml, size_t len, void *out,
		       struct gpuctl_err *err)
{
	return ec2_parse_describe_availability_zones(xml, len, out, err);
}

int ec2_describe_availability_zones(struct ec2_client *c,
				    const struct ec2_describe *q,
				    struct ec2_zone_list *out,
				    struct gpuctl_err *err)
{
	struct ec2_req r;
	int rc;

	ec2_req_init(&r);
	ec2_req_describe(&r, q, NULL, "ZoneName");
	rc = ec2_req_pages(c, "DescribeAvailabilityZones", &r, parse_zones, out,
			   &out->next_token, err);
	ec2_req_release(&r);
	return rc;
}

/* ---- DescribeAccountAttributes ---- */

void ec2_account_attribute_list_release(struct ec2_account_attribute_list *l)
{
	size_t i, j;

	for (i = 0; i < l->n; i++) {
		free(l->items[i].name);
		for (j = 0; j < l->items[i].nvalues; j++)
			free(l->items[i].values[j]);
		free(l->items[i].values);
	}
	free(l->items);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

const char *
ec2_account_attribute_value(const struct ec2_account_attribute_list *l,
			    const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->items[i].name, name) && l->items[i].nvalues)
			return l->items[i].values[0];
	return NULL;
}

int ec2_parse_describe_account_attributes(
    const char *xml, size_t len, struct ec2_account_attribute_list *out,
    struct gpuctl_err *err)
{
	struct ec2_doc d;
	xmlNode *set, *it = NULL, *vs, *v;
	struct ec2_account_attribute *a;
	int rc = -1;

	if (ec2_xml_open(&d, "DescribeAccountAttributes", xml, len, err))
		return -1;
	set = ec2_xml_child(d.root, "accountAttributeSet");
	while ((it = ec2_xml_item(set, it))) {
		a = EC2_APPEND(out->items, out->n);
		if (ec2_xml_need(&d, it, "attributeName", &a->name, err))
			goto out;
		vs = ec2_xml_child(it, "attributeValueSet");
		for (v = ec2_xml_item(vs, NULL); v; v = ec2_xml_item(vs, v)) {
			char *s = ec2_xml_text(v, "attributeValue");

			if (!s)
				continue;
			*EC2_APPEND(a->values, a->nvalues) = s;
		}
	}
	ec2_xml_next_token(d.root, &out->next_token);
	rc = 0;
out:
	ec2_xml_close(&d, 0);
	return rc;
}

static int parse_attrs(const char *xml, size_t len, void *out,
		       struct gpuctl_err *err)
{
	return ec2_parse_describe_account_attributes(xml, len, out, err);
}

int ec2_describe_account_attributes(struct ec2_client *c,
				    const struct ec2_describe *q,
				    struct ec2_account_attribute_list *out,
				    struct gpuctl_err *err)
{
	struct ec2_req r;
	int rc;

	ec2_req_init(&r);
	if (q)
		ec2_req_list(&r, "AttributeName", q->names, q->nnames);
	rc = ec2_req_pages(c, "DescribeAccountAttributes", &r, parse_attrs, out,
			   &out->next_token, err);
	ec2_req_release(&r);
	return rc;
}
