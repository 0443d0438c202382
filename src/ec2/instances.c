/*
 * Instances: RunInstances, DescribeInstances, DescribeInstanceStatus,
 * Stop/Start/Terminate/RebootInstances, CreateTags, DeleteTags and
 * GetConsoleOutput.
 */
#include "ec2_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

static void instance_release(struct ec2_instance *i)
{
	size_t k;

	free(i->id);
	free(i->reservation_id);
	free(i->image_id);
	free(i->instance_type);
	free(i->state_name);
	free(i->state_reason_code);
	free(i->state_reason_message);
	free(i->reason);
	free(i->key_name);
	free(i->public_ip);
	free(i->public_dns);
	free(i->private_ip);
	free(i->private_dns);
	free(i->launch_time);
	free(i->availability_zone);
	free(i->subnet_id);
	free(i->vpc_id);
	free(i->client_token);
	free(i->lifecycle);
	free(i->platform_details);
	free(i->platform);
	free(i->architecture);
	free(i->root_device_name);
	free(i->root_device_type);
	for (k = 0; k < i->ngroups; k++) {
		free(i->groups[k].id);
		free(i->groups[k].name);
		free(i->groups[k].user_id);
	}
	free(i->groups);
	for (k = 0; k < i->ndevices; k++) {
		free(i->devices[k].device_name);
		free(i->devices[k].volume_id);
		free(i->devices[k].status);
	}
	free(i->devices);
	ec2_tags_free(i->tags, i->ntags);
}

void ec2_instance_list_release(struct ec2_instance_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		instance_release(&l->items[i]);
	free(l->items);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

const char *ec2_instance_tag(const struct ec2_instance *i, const char *key)
{
	size_t k;

	for (k = 0; k < i->ntags; k++)
		if (!strcmp(i->tags[k].key, key))
			return i->tags[k].value;
	return NULL;
}

const struct ec2_instance *
ec2_instance_list_find(const struct ec2_instance_list *l, const char *id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->items[i].id, id))
			return &l->items[i];
	return NULL;
}

/* <instanceState><code/><name/></instanceState> and the like. */
static int state_from(struct ec2_doc *d, xmlNode *st, char **name, int *code,
		      struct gpuctl_err *err)
{
	if (!st)
		return 0;
	*name = ec2_xml_text_ne(st, "name");
	return ec2_xml_int(d, st, "code", 0, 65535, code, err);
}

static int instance_from(struct ec2_doc *d, xmlNode *it, const char *rid,
			 int brief, struct ec2_instance *i,
			 struct gpuctl_err *err)
{
	xmlNode *set, *x, *ebs, *sr;
	struct ec2_group_ref *g;
	struct ec2_block_device *b;

	if (ec2_xml_need(d, it, "instanceId", &i->id, err))
		return -1;
	i->instance_type = ec2_xml_text_ne(it, "instanceType");
	if (state_from(d, ec2_xml_child(it, "instanceState"), &i->state_name,
		       &i->state_code, err))
		return -1;
	i->public_ip = ec2_xml_text_ne(it, "ipAddress");
	i->public_dns = ec2_xml_text_ne(it, "dnsName");
	i->launch_time = ec2_xml_text_ne(it, "launchTime");
	if (i->launch_time && ec2_parse_time(i->launch_time, &i->launch_epoch))
		i->launch_epoch = 0;
	if (brief)
		return ec2_xml_tags(d, it, &i->tags, &i->ntags, err);
	i->reservation_id = rid ? xstrdup(rid) : NULL;
	i->image_id = ec2_xml_text_ne(it, "imageId");
	sr = ec2_xml_child(it, "stateReason");
	i->state_reason_code = ec2_xml_text_ne(sr, "code");
	i->state_reason_message = ec2_xml_text_ne(sr, "message");
	i->reason = ec2_xml_text_ne(it, "reason");
	i->key_name = ec2_xml_text_ne(it, "keyName");
	i->private_ip = ec2_xml_text_ne(it, "privateIpAddress");
	i->private_dns = ec2_xml_text_ne(it, "privateDnsName");
	i->availability_zone =
	    ec2_xml_text_ne(ec2_xml_child(it, "placement"), "availabilityZone");
	i->subnet_id = ec2_xml_text_ne(it, "subnetId");
	i->vpc_id = ec2_xml_text_ne(it, "vpcId");
	i->client_token = ec2_xml_text_ne(it, "clientToken");
	i->lifecycle = ec2_xml_text_ne(it, "instanceLifecycle");
	i->platform_details = ec2_xml_text_ne(it, "platformDetails");
	i->platform = ec2_xml_text_ne(it, "platform");
	i->architecture = ec2_xml_text_ne(it, "architecture");
	i->root_device_name = ec2_xml_text_ne(it, "rootDeviceName");
	i->root_device_type = ec2_xml_text_ne(it, "rootDeviceType");
	set = ec2_xml_child(it, "groupSet");
	for (x = ec2_xml_item(set, NULL); x; x = ec2_xml_item(set, x)) {
		g = EC2_APPEND(i->groups, i->ngroups);
		g->id = ec2_xml_text_ne(x, "groupId");
		g->name = ec2_xml_text_ne(x, "groupName");
	}
	set = ec2_xml_child(it, "blockDeviceMapping");
	for (x = ec2_xml_item(set, NULL); x; x = ec2_xml_item(set, x)) {
		b = EC2_APPEND(i->devices, i->ndevices);
		if (ec2_xml_need(d, x, "deviceName", &b->device_name, err))
			return -1;
		ebs = ec2_xml_child(x, "ebs");
		b->volume_id = ec2_xml_text_ne(ebs, "volumeId");
		b->status = ec2_xml_text_ne(ebs, "status");
		b->delete_on_termination =
		    ec2_xml_bool(ebs, "deleteOnTermination");
	}
	return ec2_xml_tags(d, it, &i->tags, &i->ntags, err);
}

/* The <instancesSet> of one reservation (or of RunInstances). */
static int reservation_from(struct ec2_doc *d, xmlNode *res,
			    struct ec2_instance_list *out,
			    struct gpuctl_err *err)
{
	xmlNode *set = ec2_xml_child(res, "instancesSet"), *it = NULL;
	char *rid = ec2_xml_text_ne(res, "reservationId");
	int rc = -1;

	while ((it = ec2_xml_item(set, it)))
		if (instance_from(d, it, rid, out->brief,
				  EC2_APPEND(out->items, out->n), err))
			goto out;
	rc = 0;
out:
	free(rid);
	return rc;
}

static int stream_reservation(struct ec2_doc *d, xmlNode *res, void *out,
			      struct gpuctl_err *err)
{
	return reservation_from(d, res, out, err);
}

/*
 * Streamed (ec2_xml_stream()): a page of 1,000 instances never is one
 * tree, so that `gpuctl list` over 10,000 instances stays small.
 */
int ec2_parse_describe_instances(const char *xml, size_t len,
				 struct ec2_instance_list *out,
				 struct gpuctl_err *err)
{
	struct ec2_doc d;
	size_t n0 = out->n;
	char *tok = NULL;

	if (ec2_xml_stream(&d, "DescribeInstances", xml, len, "reservationSet",
			   stream_reservation, out, &tok, err)) {
		/* nothing from a page that fails */
		while (out->n > n0)
			instance_release(&out->items[--out->n]);
		free(tok);
		return -1;
	}
	free(out->next_token);
	out->next_token = tok;
	return 0;
}

static int parse_instances(const char *xml, size_t len, void *out,
			   struct gpuctl_err *err)
{
	return ec2_parse_describe_instances(xml, len, out, err);
}

int ec2_describe_instances(struct ec2_client *c, const struct ec2_describe *q,
			   struct ec2_instance_list *out,
			   struct gpuctl_err *err)
{
	struct ec2_req r;
	int rc;

	ec2_req_init(&r);
	ec2_req_describe(&r, q, "InstanceId", NULL);
	rc = ec2_req_pages(c, "DescribeInstances", &r, parse_instances, out,
			   &out->next_token, err);
	ec2_req_release(&r);
	return rc;
}

int ec2_parse_run_instances(const char *xml, size_t len,
			    struct ec2_instance_list *out,
			    struct gpuctl_err *err)
{
	struct ec2_doc d;
	int rc;

	if (ec2_xml_open(&d, "RunInstances", xml, len, err))
		return -1;
	rc = reservation_from(&d, d.root, out, err);
	if (!rc && !ec2_xml_item(ec2_xml_child(d.root, "instancesSet"), NULL))
		rc = ec2_xml_fail(&d, err, "no instance in the reservation");
	ec2_xml_close(&d, 0);
	return rc;
}

static void add_int(struct ec2_req *r, const char *key, long v)
{
	char num[32];

	snprintf(num, sizeof(num), "%ld", v);
	ec2_req_add(r, key, num);
}

int ec2_run_instances(struct ec2_client *c, const struct ec2_run_params *p,
		      struct ec2_instance_list *out, struct gpuctl_err *err)
{
	struct ec2_req r;
	struct buf body = BUF_INIT;
	int min, max, rc = -1;
	char *b64;

	if (!p->client_token || !*p->client_token)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "RunInstances without a client token refused");
	if (strlen(p->client_token) > 64)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "client token longer than 64 characters");
	if (!p->image_id || !p->instance_type)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "RunInstances needs an image and a type");
	min = p->min_count > 0 ? p->min_count : 1;
	max = p->max_count > 0 ? p->max_count : min;
	if (max < min)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "RunInstances: max count %d below min count %d",
			       max, min);
	if (p->user_data_len > 65536)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "user data too large (%zu bytes)",
			       p->user_data_len);
	ec2_req_init(&r);
	ec2_req_add(&r, "ImageId", p->image_id);
	ec2_req_add(&r, "InstanceType", p->instance_type);
	add_int(&r, "MinCount", min);
	add_int(&r, "MaxCount", max);
	ec2_req_add(&r, "ClientToken", p->client_token);
	if (p->key_name)
		ec2_req_add(&r, "KeyName", p->key_name);
	ec2_req_list(&r, "SecurityGroupId", p->security_group_ids,
		     p->nsecurity_group_ids);
	if (p->subnet_id)
		ec2_req_add(&r, "SubnetId", p->subnet_id);
	if (p->availability_zone)
		ec2_req_add(&r, "Placement.AvailabilityZone",
			    p->availability_zone);
	if (p->root_device_name && (p->volume_size_gib > 0 || p->volume_type)) {
		ec2_req_add(&r, "BlockDeviceMapping.1.DeviceName",
			    p->root_device_name);
		if (p->volume_size_gib > 0)
			add_int(&r, "BlockDeviceMapping.1.Ebs.VolumeSize",
				p->volume_size_gib);
		if (p->volume_type)
			ec2_req_add(&r, "BlockDeviceMapping.1.Ebs.VolumeType",
				    p->volume_type);
		ec2_req_add(&r, "BlockDeviceMapping.1.Ebs.DeleteOnTermination",
			    p->keep_root_volume ? "false" : "true");
	}
	if (p->spot)
		ec2_req_add(&r, "InstanceMarketOptions.MarketType", "spot");
	if (p->user_data && p->user_data_len) {
		b64 = ec2_base64(p->user_data, p->user_data_len);
		ec2_req_add(&r, "UserData", b64);
		secure_free_str(b64);
	}
	ec2_req_tag_spec(&r, 1, "instance", p->tags, p->ntags);
	ec2_req_tag_spec(&r, 2, "volume", p->tags, p->ntags);
	if (ec2_req_call(c, "RunInstances", &r, &body, err))
		goto out;
	if (ec2_parse_run_instances(body.data, body.len, out, err))
		goto out;
	rc = 0;
out:
	buf_release(&body);
	ec2_req_release(&r);
	return rc;
}

/* ---- DescribeInstanceStatus ---- */

void ec2_instance_status_list_release(struct ec2_instance_status_list *l)
{
	size_t i;
	struct ec2_instance_status *s;

	for (i = 0; i < l->n; i++) {
		s = &l->items[i];
		free(s->instance_id);
		free(s->availability_zone);
		free(s->state_name);
		free(s->system_status);
		free(s->instance_status);
	}
	free(l->items);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

int ec2_parse_describe_instance_status(const char *xml, size_t len,
				       struct ec2_instance_status_list *out,
				       struct gpuctl_err *err)
{
	struct ec2_doc d;
	xmlNode *set, *it = NULL;
	struct ec2_instance_status *s;
	int rc = -1;

	if (ec2_xml_open(&d, "DescribeInstanceStatus", xml, len, err))
		return -1;
	set = ec2_xml_child(d.root, "instanceStatusSet");
	while ((it = ec2_xml_item(set, it))) {
		s = EC2_APPEND(out->items, out->n);
		if (ec2_xml_need(&d, it, "instanceId", &s->instance_id, err))
			goto out;
		s->availability_zone = ec2_xml_text_ne(it, "availabilityZone");
		if (state_from(&d, ec2_xml_child(it, "instanceState"),
			       &s->state_name, &s->state_code, err))
			goto out;
		s->system_status = ec2_xml_text_ne(
		    ec2_xml_child(it, "systemStatus"), "status");
		s->instance_status = ec2_xml_text_ne(
		    ec2_xml_child(it, "instanceStatus"), "status");
	}
	ec2_xml_next_token(d.root, &out->next_token);
	rc = 0;
out:
	ec2_xml_close(&d, 0);
	return rc;
}

static int parse_status(const char *xml, size_t len, void *out,
			struct gpuctl_err *err)
{
	return ec2_parse_describe_instance_status(xml, len, out, err);
}

int ec2_describe_instance_status(struct ec2_client *c,
				 const struct ec2_describe *q,
				 struct ec2_instance_status_list *out,
				 struct gpuctl_err *err)
{
	struct ec2_req r;
	int rc;

	ec2_req_init(&r);
	ec2_req_describe(&r, q, "InstanceId", NULL);
	if (q && q->include_all_instances)
		ec2_req_add(&r, "IncludeAllInstances", "true");
	rc = ec2_req_pages(c, "DescribeInstanceStatus", &r, parse_status, out,
			   &out->next_token, err);
	ec2_req_release(&r);
	return rc;
}

/* ---- Stop, Start, Terminate, Reboot ---- */

void ec2_state_change_list_release(struct ec2_state_change_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->items[i].instance_id);
		free(l->items[i].previous_state);
		free(l->items[i].current_state);
	}
	free(l->items);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

int ec2_parse_state_changes(const char *action, const char *xml, size_t len,
			    struct ec2_state_change_list *out,
			    struct gpuctl_err *err)
{
	struct ec2_doc d;
	xmlNode *set, *it = NULL, *cur;
	struct ec2_state_change *s;
	int rc = -1;

	if (ec2_xml_open(&d, action, xml, len, err))
		return -1;
	set = ec2_xml_child(d.root, "instancesSet");
	while ((it = ec2_xml_item(set, it))) {
		/* older answers to TerminateInstances say shutdownState */
		cur = ec2_xml_child(it, "currentState");
		if (!cur)
			cur = ec2_xml_child(it, "shutdownState");
		s = EC2_APPEND(out->items, out->n);
		if (ec2_xml_need(&d, it, "instanceId", &s->instance_id, err) ||
		    state_from(&d, ec2_xml_child(it, "previousState"),
			       &s->previous_state, &s->previous_code, err) ||
		    state_from(&d, cur, &s->current_state, &s->current_code,
			       err))
			goto out;
	}
	rc = 0;
out:
	ec2_xml_close(&d, 0);
	return rc;
}

static int change(struct ec2_client *c, const char *action,
		  const char *const *ids, size_t nids,
		  struct ec2_state_change_list *out, struct gpuctl_err *err)
{
	struct ec2_req r;
	struct buf body = BUF_INIT;
	int rc = -1;

	if (!nids)
		return err_set(err, GPUCTL_ERR_USAGE, "%s: no instance given",
			       action);
	ec2_req_init(&r);
	ec2_req_list(&r, "InstanceId", ids, nids);
	if (ec2_req_call(c, action, &r, &body, err))
		goto out;
	if (ec2_parse_state_changes(action, body.data, body.len, out, err))
		goto out;
	rc = 0;
out:
	buf_release(&body);
	ec2_req_release(&r);
	return rc;
}

int ec2_stop_instances(struct ec2_client *c, const char *const *ids,
		       size_t nids, struct ec2_state_change_list *out,
		       struct gpuctl_err *err)
{
	return change(c, "StopInstances", ids, nids, out, err);
}

int ec2_start_instances(struct ec2_client *c, const char *const *ids,
			size_t nids, struct ec2_state_change_list *out,
			struct gpuctl_err *err)
{
	return change(c, "StartInstances", ids, nids, out, err);
}

int ec2_terminate_instances(struct ec2_client *c, const char *const *ids,
			    size_t nids, struct ec2_state_change_list *out,
			    struct gpuctl_err *err)
{
	return change(c, "TerminateInstances", ids, nids, out, err);
}

int ec2_reboot_instances(struct ec2_client *c, const char *const *ids,
			 size_t nids, struct gpuctl_err *err)
{
	struct ec2_req r;
	int rc;

	if (!nids)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "RebootInstances: no instance given");
	ec2_req_init(&r);
	ec2_req_list(&r, "InstanceId", ids, nids);
	rc = ec2_req_simple(c, "RebootInstances", &r, err);
	ec2_req_release(&r);
	return rc;
}

/* ---- tags ---- */

static int tags_call(struct ec2_client *c, const char *action,
		     const char *const *ids, size_t nids,
		     const struct ec2_param *tags, size_t ntags,
		     struct gpuctl_err *err)
{
	struct ec2_req r;
	int rc;

	if (!nids)
		return err_set(err, GPUCTL_ERR_USAGE, "%s: no resource given",
			       action);
	ec2_req_init(&r);
	ec2_req_list(&r, "ResourceId", ids, nids);
	ec2_req_tags(&r, "Tag", tags, ntags);
	rc = ec2_req_simple(c, action, &r, err);
	ec2_req_release(&r);
	return rc;
}

int ec2_create_tags(struct ec2_client *c, const char *const *resource_ids,
		    size_t nids, const struct ec2_param *tags, size_t ntags,
		    struct gpuctl_err *err)
{
	if (!ntags)
		return err_set(err, GPUCTL_ERR_USAGE, "CreateTags: no tag");
	return tags_call(c, "CreateTags", resource_ids, nids, tags, ntags, err);
}

int ec2_delete_tags(struct ec2_client *c, const char *const *resource_ids,
		    size_t nids, const struct ec2_param *tags, size_t ntags,
		    struct gpuctl_err *err)
{
	return tags_call(c, "DeleteTags", resource_ids, nids, tags, ntags, err);
}

/* ---- GetConsoleOutput ---- */

void ec2_console_output_release(struct ec2_console_output *o)
{
	free(o->instance_id);
	free(o->timestamp);
	free(o->output);
	memset(o, 0, sizeof(*o));
}

/*
 * Decodes base64 that may hold line breaks or other white space.  Returns
 * 0 with *out (caller frees, NUL-terminated) and *outlen, or -1.
 */
static int base64_decode(const char *in, size_t len, char **out, size_t *outlen)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	unsigned char *buf;
	size_t off = 0, o = 0, chunk;
	int n = 0, rc = -1;

	if (!ctx)
		return -1;
	buf = xmalloc(len / 4 * 3 + 4);
	EVP_DecodeInit(ctx);
	while (off < len) {
		chunk = len - off > 65536 ? 65536 : len - off;
		if (EVP_DecodeUpdate(ctx, buf + o, &n,
				     (const unsigned char *)in + off,
				     (int)chunk) < 0)
			goto out;
		o += (size_t)n;
		off += chunk;
	}
	if (EVP_DecodeFinal(ctx, buf + o, &n) < 0)
		goto out;
	o += (size_t)n;
	buf[o] = '\0';
	*out = (char *)buf;
	*outlen = o;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	EVP_ENCODE_CTX_free(ctx);
	return rc;
}

int ec2_parse_get_console_output(const char *xml, size_t len,
				 struct ec2_console_output *out,
				 struct gpuctl_err *err)
{
	struct ec2_doc d;
	char *b64 = NULL, *p, *q;
	int rc = -1;

	if (ec2_xml_open(&d, "GetConsoleOutput", xml, len, err))
		return -1;
	ec2_console_output_release(out);
	out->instance_id = ec2_xml_text_ne(d.root, "instanceId");
	out->timestamp = ec2_xml_text_ne(d.root, "timestamp");
	b64 = ec2_xml_text(d.root, "output");
	if (!b64)
		b64 = xstrdup("");
	/* keep only base64 characters: EVP_DecodeUpdate wants lines */
	for (p = q = b64; *p; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			*q++ = *p;
	*q = '\0';
	if (base64_decode(b64, (size_t)(q - b64), &out->output,
			  &out->output_len)) {
		ec2_xml_fail(&d, err, "<output> is not base64");
		goto out;
	}
	rc = 0;
out:
	free(b64);
	ec2_xml_close(&d, 0);
	return rc;
}

int ec2_get_console_output(struct ec2_client *c, const char *instance_id,
			   int latest, struct ec2_console_output *out,
			   struct gpuctl_err *err)
{
	struct ec2_req r;
	struct buf body = BUF_INIT;
	int rc = -1;

	ec2_req_init(&r);
	ec2_req_add(&r, "InstanceId", instance_id);
	if (latest)
		ec2_req_add(&r, "Latest", "true");
	if (ec2_req_call(c, "GetConsoleOutput", &r, &body, err))
		goto out;
	if (ec2_parse_get_console_output(body.data, body.len, out, err))
		goto out;
	rc = 0;
out:
	buf_release(&body);
	ec2_req_release(&r);
	return rc;
}
