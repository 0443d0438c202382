/* EBS: DescribeVolumes, CreateSnapshot, DescribeSnapshots, DeleteSnapshot. */
#include "ec2_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- volumes ---- */

void ec2_volume_list_release(struct ec2_volume_list *l)
{
	size_t i, k;
	struct ec2_volume *v;

	for (i = 0; i < l->n; i++) {
		v = &l->items[i];
		free(v->id);
		free(v->state);
		free(v->volume_type);
		free(v->availability_zone);
		free(v->snapshot_id);
		free(v->create_time);
		for (k = 0; k < v->nattachments; k++) {
			free(v->attachments[k].instance_id);
			free(v->attachments[k].device);
			free(v->attachments[k].state);
		}
		free(v->attachments);
		ec2_tags_free(v->tags, v->ntags);
	}
	free(l->items);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

static int volume_from(struct ec2_doc *d, xmlNode *it, struct ec2_volume *v,
		       struct gpuctl_err *err)
{
	xmlNode *set, *a = NULL;
	struct ec2_volume_attachment *at;

	if (ec2_xml_need(d, it, "volumeId", &v->id, err) ||
	    ec2_xml_long(d, it, "size", 0, 1L << 20, &v->size_gib, err))
		return -1;
	v->state = ec2_xml_text_ne(it, "status");
	v->volume_type = ec2_xml_text_ne(it, "volumeType");
	v->availability_zone = ec2_xml_text_ne(it, "availabilityZone");
	v->snapshot_id = ec2_xml_text_ne(it, "snapshotId");
	v->create_time = ec2_xml_text_ne(it, "createTime");
	set = ec2_xml_child(it, "attachmentSet");
	while ((a = ec2_xml_item(set, a))) {
		at = EC2_APPEND(v->attachments, v->nattachments);
		at->instance_id = ec2_xml_text_ne(a, "instanceId");
		at->device = ec2_xml_text_ne(a, "device");
		at->state = ec2_xml_text_ne(a, "status");
		at->delete_on_termination =
		    ec2_xml_bool(a, "deleteOnTermination");
	}
	return ec2_xml_tags(d, it, &v->tags, &v->ntags, err);
}

int ec2_parse_describe_volumes(const char *xml, size_t len,
			       struct ec2_volume_list *out,
			       struct gpuctl_err *err)
{
	struct ec2_doc d;
	xmlNode *set, *it = NULL;
	int rc = -1;

	if (ec2_xml_open(&d, "DescribeVolumes", xml, len, err))
		return -1;
	set = ec2_xml_child(d.root, "volumeSet");
	while ((it = ec2_xml_item(set, it)))
		if (volume_from(&d, it, EC2_APPEND(out->items, out->n), err))
			goto out;
	ec2_xml_next_token(d.root, &out->next_token);
	rc = 0;
out:
	ec2_xml_close(&d, 0);
	return rc;
}

static int parse_volumes(const char *xml, size_t len, void *out,
			 struct gpuctl_err *err)
{
	return ec2_parse_describe_volumes(xml, len, out, err);
}

int ec2_describe_volumes(struct ec2_client *c, const struct ec2_describe *q,
			 struct ec2_volume_list *out, struct gpuctl_err *err)
{
	struct ec2_req r;
	int rc;

	ec2_req_init(&r);
	ec2_req_describe(&r, q, "VolumeId", NULL);
	rc = ec2_req_pages(c, "DescribeVolumes", &r, parse_volumes, out,
			   &out->next_token, err);
	ec2_req_release(&r);
	return rc;
}

/* ---- snapshots ---- */

void ec2_snapshot_release(struct ec2_snapshot *s)
{
	free(s->id);
	free(s->volume_id);
	free(s->state);
	free(s->progress);
	free(s->start_time);
	free(s->description);
	free(s->owner_id);
	ec2_tags_free(s->tags, s->ntags);
	memset(s, 0, sizeof(*s));
}

void ec2_snapshot_list_release(struct ec2_snapshot_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		ec2_snapshot_release(&l->items[i]);
	free(l->items);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

static int snapshot_from(struct ec2_doc *d, xmlNode *it, struct ec2_snapshot *s,
			 struct gpuctl_err *err)
{
	long pct;

	if (ec2_xml_need(d, it, "snapshotId", &s->id, err) ||
	    ec2_xml_long(d, it, "volumeSize", 0, 1L << 20, &s->volume_size_gib,
			 err))
		return -1;
	s->volume_id = ec2_xml_text_ne(it, "volumeId");
	s->state = ec2_xml_text_ne(it, "status");
	s->progress = ec2_xml_text_ne(it, "progress");
	if (s->progress) {
		char *num = xstrdup(s->progress), *pc = strchr(num, '%');

		if (pc && !pc[1])
			*pc = '\0';
		if (!parse_long(num, 0, 100, &pct))
			s->progress_pct = (int)pct;
		free(num);
	}
	s->start_time = ec2_xml_text_ne(it, "startTime");
	if (s->start_time && ec2_parse_time(s->start_time, &s->start_epoch))
		s->start_epoch = 0;
	s->description = ec2_xml_text(it, "description");
	s->owner_id = ec2_xml_text_ne(it, "ownerId");
	return ec2_xml_tags(d, it, &s->tags, &s->ntags, err);
}

int ec2_parse_create_snapshot(const char *xml, size_t len,
			      struct ec2_snapshot *out, struct gpuctl_err *err)
{
	struct ec2_doc d;
	int rc;

	if (ec2_xml_open(&d, "CreateSnapshot", xml, len, err))
		return -1;
	ec2_snapshot_release(out);
	rc = snapshot_from(&d, d.root, out, err);
	ec2_xml_close(&d, 0);
	return rc;
}

int ec2_create_snapshot(struct ec2_client *c, const char *volume_id,
			const char *description, const struct ec2_param *tags,
			size_t ntags, struct ec2_snapshot *out,
			struct gpuctl_err *err)
{
	struct ec2_req r;
	struct buf body = BUF_INIT;
	int rc = -1;

	ec2_req_init(&r);
	ec2_req_add(&r, "VolumeId", volume_id);
	if (description)
		ec2_req_add(&r, "Description", description);
	ec2_req_tag_spec(&r, 1, "snapshot", tags, ntags);
	if (ec2_req_call(c, "CreateSnapshot", &r, &body, err))
		goto out;
	if (ec2_parse_create_snapshot(body.data, body.len, out, err))
		goto out;
	rc = 0;
out:
	buf_release(&body);
	ec2_req_release(&r);
	return rc;
}

int ec2_parse_describe_snapshots(const char *xml, size_t len,
				 struct ec2_snapshot_list *out,
				 struct gpuctl_err *err)
{
	struct ec2_doc d;
	xmlNode *set, *it = NULL;
	int rc = -1;

	if (ec2_xml_open(&d, "DescribeSnapshots", xml, len, err))
		return -1;
	set = ec2_xml_child(d.root, "snapshotSet");
	while ((it = ec2_xml_item(set, it)))
		if (snapshot_from(&d, it, EC2_APPEND(out->items, out->n), err))
			goto out;
	ec2_xml_next_token(d.root, &out->next_token);
	rc = 0;
out:
	ec2_xml_close(&d, 0);
	return rc;
}

static int parse_snapshots(const char *xml, size_t len, void *out,
			   struct gpuctl_err *err)
{
	return ec2_parse_describe_snapshots(xml, len, out, err);
}

int ec2_describe_snapshots(struct ec2_client *c, const struct ec2_describe *q,
			   struct ec2_snapshot_list *out,
			   struct gpuctl_err *err)
{
	struct ec2_req r;
	int rc;

	ec2_req_init(&r);
	ec2_req_describe(&r, q, "SnapshotId", NULL);
	if (q)
		ec2_req_list(&r, "Owner", q->owners, q->nowners);
	rc = ec2_req_pages(c, "DescribeSnapshots", &r, parse_snapshots, out,
			   &out->next_token, err);
	ec2_req_release(&r);
	return rc;
}

int ec2_delete_snapshot(struct ec2_client *c, const char *snapshot_id,
			struct gpuctl_err *err)
{
	struct ec2_req r;
	int rc;

	ec2_req_init(&r);
	ec2_req_add(&r, "SnapshotId", snapshot_id);
	rc = ec2_req_simple(c, "DeleteSnapshot", &r, err);
	ec2_req_release(&r);
	return rc;
}
