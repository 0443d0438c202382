/*
 * Launching: the VPC, the security group that admits SSH from the
 * caller, the launch fingerprint and journal (so that a re-run adopts the
 * instances of an interrupted one), RunInstances and its error hints, the
 * waits; and the account's instance limit.
 */
#include "gpuctl/svc_provision.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpuctl/digest.h"
#include "gpuctl/log.h"
#include "gpuctl/svc_access.h"
#include "gpuctl/svc_ami.h"
#include "gpuctl/svc_lifecycle.h"
#include "gpuctl/svc_reach.h"

#define GROUP_NAME "gpuctl-ssh"
#define GROUP_DESCRIPTION                                             \
	"gpuctl: SSH (TCP 22) from the addresses you launched from; " \
	"created by gpuctl launch"
#define USER_DATA_MAX 16384

int svc_read_user_data(const char *file, struct buf *out,
		       struct gpuctl_err *err)
{
	if (!file)
		return 0;
	if (read_file(file, out))
		return err_set(err, GPUCTL_ERR_IO, "cannot read %s: %s", file,
			       strerror(errno));
	if (out->len > USER_DATA_MAX)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "%s is %zu bytes; EC2 takes at most 16 KiB of "
			       "user data",
			       file, out->len);
	return 0;
}

static int find_vpc(struct svc_ctx *s, const char *subnet, char **vpc_id,
		    struct gpuctl_err *err)
{
	struct ec2_describe q = {0};
	struct ec2_filter f;
	const char *yes = "true";
	int rc = -1;

	if (subnet) {
		struct ec2_subnet_list subnets = {0};

		q.ids = &subnet;
		q.nids = 1;
		if (!ec2_describe_subnets(s->ec2, &q, &subnets, err) &&
		    subnets.n && subnets.items[0].vpc_id) {
			*vpc_id = xstrdup(subnets.items[0].vpc_id);
			rc = 0;
		} else if (err->kind == GPUCTL_ERR_NONE) {
			err_set(err, GPUCTL_ERR_OTHER,
				"subnet %.100s not found", subnet);
		}
		ec2_subnet_list_release(&subnets);
	} else {
		struct ec2_vpc_list vpcs = {0};

		f = (struct ec2_filter){"isDefault", &yes, 1};
		q.filters = &f;
		q.nfilters = 1;
		if (!ec2_describe_vpcs(s->ec2, &q, &vpcs, err)) {
			if (vpcs.n) {
				*vpc_id = xstrdup(vpcs.items[0].id);
				rc = 0;
			} else {
				err_set(err, GPUCTL_ERR_OTHER,
					"no default VPC in %s", s->region);
				err_hint(err, "pass --subnet SUBNET-ID of a "
					      "subnet with public addresses");
			}
		}
		ec2_vpc_list_release(&vpcs);
	}
	return rc;
}

static int find_group(struct svc_ctx *s, const char *vpc_id,
		      struct ec2_security_group_list *gl,
		      struct gpuctl_err *err)
{
	struct ec2_describe q = {0};
	struct ec2_filter f[2];
	const char *name = GROUP_NAME;

	f[0] = (struct ec2_filter){"group-name", &name, 1};
	f[1] = (struct ec2_filter){"vpc-id", &vpc_id, 1};
	q.filters = f;
	q.nfilters = 2;
	return ec2_describe_security_groups(s->ec2, &q, gl, err);
}

/*
 * The gpuctl-ssh group of the VPC, made when missing, admitting SSH from
 * allow (else the caller's /32).
 */
static int ensure_group(struct svc_ctx *s, const char *allow,
			struct svc_launch *l, struct gpuctl_err *err)
{
	struct ec2_security_group_list gl = {0};
	struct ec2_param tags[2] = {{SVC_MANAGED_TAG, "true"},
				    {"Name", GROUP_NAME}};
	struct ec2_rule rule = {"tcp", 22, 22, NULL, NULL};
	char *ip = NULL, *desc = NULL;
	int rc = -1;

	if (allow) {
		l->caller_cidr = xstrdup(allow);
	} else {
		if (svc_caller_ip(s, &ip, err))
			goto out;
		l->caller_cidr = xasprintf("%s/32", ip);
	}
	if (!strcmp(l->caller_cidr, "0.0.0.0/0"))
		log_warn("--allow 0.0.0.0/0 opens SSH to the whole internet");
	if (find_group(s, l->vpc_id, &gl, err))
		goto out;
	if (!gl.n &&
	    ec2_create_security_group(s->ec2, GROUP_NAME, GROUP_DESCRIPTION,
				      l->vpc_id, tags, 2, &l->group_id, err)) {
		/* made by a request whose answer was lost */
		if (!err->code || strcmp(err->code, "InvalidGroup.Duplicate"))
			goto out;
		err_clear(err);
		if (find_group(s, l->vpc_id, &gl, err))
			goto out;
	}
	if (!l->group_id) {
		if (!gl.n) {
			err_set(err, GPUCTL_ERR_OTHER,
				"security group %s vanished", GROUP_NAME);
			goto out;
		}
		l->group_id = xstrdup(gl.items[0].id);
	}
	if (gl.n && svc_group_admits_ssh(&gl.items[0], l->caller_cidr)) {
		rc = 0;
		goto out;
	}
	desc = xasprintf("SSH for gpuctl launch from %s", l->caller_cidr);
	rule.cidr = l->caller_cidr;
	rule.description = desc;
	if (ec2_authorize_ingress(s->ec2, l->group_id, &rule, err)) {
		if (!err->code ||
		    strcmp(err->code, "InvalidPermission.Duplicate"))
			goto out;
		err_clear(err);
	} else if (gl.n) {
		log_info("security group %s now also admits SSH from %s",
			 l->group_id, l->caller_cidr);
	}
	rc = 0;
out:
	free(ip);
	free(desc);
	ec2_security_group_list_release(&gl);
	return rc;
}

/* What makes two launches the same request, hashed. */
static char *fingerprint(const struct svc_ctx *s,
			 const struct svc_launch_opts *o,
			 const struct svc_launch *l)
{
	char hex[2 * DIGEST_SHA256_LEN + 1];
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s\n%s\n%s\n%ld\n%s\n%s\n%s\n%s\n%ld\n%d\n", s->region,
		 l->image->id, o->type, o->count, o->name ? o->name : "",
		 l->key.name, l->group_id, o->subnet ? o->subnet : "",
		 l->volume_size, o->spot);
	if (o->user_data)
		buf_add(&b, o->user_data->data, o->user_data->len);
	digest_sha256_hex(b.data, b.len, hex);
	buf_release(&b);
	return xstrdup(hex);
}

static void explain_run_error(const struct svc_ctx *s,
			      const struct svc_launch_opts *o,
			      struct gpuctl_err *err)
{
	const char *c = err->code ? err->code : "";
	const char *region = s->region;

	if (!strcmp(c, "VcpuLimitExceeded") ||
	    !strcmp(c, "InstanceLimitExceeded"))
		err_hint(err,
			 "your account may not run more %s instances in %s "
			 "(new accounts start with a limit of 0): request a "
			 "higher limit for 'Running On-Demand G and VT "
			 "instances' (or P instances) in the Service Quotas "
			 "console, https://console.aws.amazon.com/"
			 "servicequotas/home/services/ec2/quotas, region %s",
			 o->type, region, region);
	else if (!strcmp(c, "InsufficientInstanceCapacity"))
		err_hint(err,
			 "AWS has no %s capacity there right now: try "
			 "another zone (--subnet of another zone), "
			 "another type, --spot, or later",
			 o->type);
	else if (!strcmp(c, "Unsupported"))
		err_hint(err,
			 "%s is not offered in that zone: try another "
			 "zone (--subnet) or type",
			 o->type);
	else if (!strcmp(c, "UnauthorizedOperation"))
		err_hint(err,
			 "your IAM identity may not launch instances: "
			 "ask for ec2:RunInstances (and ec2:CreateTags) "
			 "in %s",
			 region);
	else if (!strcmp(c, "SpotMaxPriceTooLow") ||
		 !strcmp(c, "MaxSpotInstanceCountExceeded"))
		err_hint(err, "launch without --spot, or request a higher "
			      "spot limit");
	else if (!strcmp(c, "InvalidParameterValue") && err->message &&
		 strstr(err->message, "InstanceType"))
		err_hint(err,
			 "check the instance type name (e.g. "
			 "g4dn.xlarge) and that %s offers it",
			 region);
}

/* RunInstances under the journal's client token; records the IDs. */
static int run(struct svc_ctx *s, const struct svc_launch_opts *o,
	       struct svc_launch *l, struct gpuctl_err *err)
{
	struct ec2_run_params p = {0};
	struct ec2_param tags[3];
	size_t ntags = 0, i;
	const char **ids;
	int rc;

	tags[ntags++] = (struct ec2_param){SVC_MANAGED_TAG, "true"};
	tags[ntags++] = (struct ec2_param){"gpuctl:launch", l->journal.token};
	if (o->name)
		tags[ntags++] = (struct ec2_param){"Name", o->name};
	p.image_id = l->image->id;
	p.instance_type = o->type;
	p.min_count = (int)o->count;
	p.max_count = (int)o->count;
	p.key_name = l->key.name;
	p.security_group_ids = (const char *const *)&l->group_id;
	p.nsecurity_group_ids = 1;
	p.subnet_id = o->subnet;
	p.root_device_name = l->image->root_device_name;
	p.volume_size_gib = (int)l->volume_size;
	p.volume_type = "gp3";
	p.spot = o->spot;
	if (o->user_data && o->user_data->len) {
		p.user_data = o->user_data->data;
		p.user_data_len = o->user_data->len;
	}
	p.tags = tags;
	p.ntags = ntags;
	p.client_token = l->journal.token;
	if (ec2_run_instances(s->ec2, &p, &l->instances, err)) {
		if (err->kind == GPUCTL_ERR_AWS)
			explain_run_error(s, o, err);
		return -1;
	}
	if (!l->instances.n)
		return err_set(err, GPUCTL_ERR_PARSE,
			       "RunInstances answered without instances");
	ids = xcalloc(l->instances.n, sizeof(*ids));
	for (i = 0; i < l->instances.n; i++)
		ids[i] = l->instances.items[i].id;
	rc = state_journal_instances(&s->paths, s->region, l->journal.token,
				     ids, l->instances.n, err);
	if (!rc)
		rc = state_set_last_instance(&s->paths, s->region, ids[0], err);
	free(ids);
	return rc;
}

static int wait_running(struct svc_ctx *s, const struct svc_launch_opts *o,
			struct svc_launch *l, struct gpuctl_err *err)
{
	struct ec2_instance_list now = {0};

	if (svc_wait_instances(s, &l->instances, "running", 1,
			       (long)(o->deadline_ms - svc_now_ms()), &now,
			       err)) {
		ec2_instance_list_release(&now);
		return -1;
	}
	ec2_instance_list_release(&l->instances);
	l->instances = now;
	return 0;
}

static int wait_ssh(struct svc_ctx *s, const struct svc_launch_opts *o,
		    struct svc_launch *l, struct gpuctl_err *err)
{
	struct svc_reach_opts r = {0};

	r.image = l->image;
	r.user = o->user;
	r.key_path = l->key.path;
	r.accept_new_hostkey = o->accept_new_hostkey;
	r.deadline_ms = o->deadline_ms;
	return svc_wait_ssh(s, &l->instances, &r, err);
}

/* AMI, VPC, key pair, group, the journal entry. */
static int prepare(struct svc_ctx *s, const struct svc_launch_opts *o,
		   struct svc_launch *l, struct gpuctl_err *err)
{
	l->volume_size = o->volume_size;
	if (svc_ctx_paths(s, err) ||
	    svc_resolve_ami(s, o->ami, &l->images, &l->image, err) ||
	    svc_root_volume(l->image, &l->volume_size, o->volume_size_given,
			    err) ||
	    find_vpc(s, o->subnet, &l->vpc_id, err) ||
	    svc_keypair_ensure(s, o->key, o->key_type, &l->key, err) ||
	    ensure_group(s, o->allow, l, err))
		return -1;
	l->fingerprint = fingerprint(s, o, l);
	if (state_journal_begin(&s->paths, s->region, l->fingerprint,
				(long long)time(NULL), &l->journal, err))
		return -1;
	l->journal_open = 1;
	if (l->journal.reused)
		log_warn("resuming an earlier launch of the same request "
			 "(client token %s): no second instance is started",
			 l->journal.token);
	return 0;
}

static void journal_end(struct svc_ctx *s, struct svc_launch *l)
{
	struct gpuctl_err e2 = GPUCTL_ERR_INIT;

	state_journal_end(&s->paths, s->region, l->journal.token, &e2);
	err_clear(&e2);
	l->journal_open = 0;
}

int svc_launch(struct svc_ctx *s, const struct svc_launch_opts *o,
	       struct svc_launch *l, struct gpuctl_err *err)
{
	int definitive = 0;

	memset(l, 0, sizeof(*l));
	l->stage = SVC_LAUNCH_AT_PREPARE;
	if (prepare(s, o, l, err))
		goto fail;
	l->stage = SVC_LAUNCH_AT_RUN;
	if (run(s, o, l, err)) {
		/* EC2 said no: nothing was made, the next try is new */
		definitive = err->kind == GPUCTL_ERR_AWS;
		goto fail;
	}
	if (o->wait != SVC_LAUNCH_WAIT_NONE) {
		l->stage = SVC_LAUNCH_AT_RUNNING;
		if (wait_running(s, o, l, err)) {
			/* it will never run */
			definitive = err->kind == GPUCTL_ERR_OTHER;
			goto fail;
		}
	}
	if (o->wait == SVC_LAUNCH_WAIT_SSH) {
		l->stage = SVC_LAUNCH_AT_SSH;
		if (wait_ssh(s, o, l, err))
			goto fail;
	}
	journal_end(s, l);
	l->stage = SVC_LAUNCH_AT_END;
	return 0;
fail:
	if (l->journal_open && definitive)
		journal_end(s, l);
	return -1;
}

void svc_launch_release(struct svc_launch *l)
{
	ec2_image_list_release(&l->images);
	free(l->vpc_id);
	svc_keypair_release(&l->key);
	free(l->group_id);
	free(l->caller_cidr);
	free(l->fingerprint);
	state_journal_entry_release(&l->journal);
	ec2_instance_list_release(&l->instances);
	memset(l, 0, sizeof(*l));
}

int svc_account_max_instances(struct svc_ctx *s, char **max,
			      struct gpuctl_err *err)
{
	struct ec2_account_attribute_list al = {0};
	struct ec2_describe q = {0};
	const char *names[] = {"max-instances"};
	const char *v;
	int rc = -1;

	*max = NULL;
	q.names = names;
	q.nnames = 1;
	if (ec2_describe_account_attributes(s->ec2, &q, &al, err))
		goto out;
	v = ec2_account_attribute_value(&al, "max-instances");
	*max = v ? xstrdup(v) : NULL;
	rc = 0;
out:
	ec2_account_attribute_list_release(&al);
	return rc;
}
