/*
 * gpuctl show [INSTANCE]: one instance in detail, one record (the
 * instance from svc_inventory.h, its key file from svc_keypair.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpuctl/cmd.h"
#include "gpuctl/ec2.h"
#include "gpuctl/out.h"
#include "gpuctl/svc_inventory.h"
#include "gpuctl/svc_keypair.h"
#include "gpuctl/util.h"

const char cmd_show_usage[] =
    "usage: gpuctl show [INSTANCE]\n"
    "\n"
    "Shows one instance in detail, one field a line: ID, name, type, state,\n"
    "image, key pair, public and private addresses, zone, subnet, VPC,\n"
    "security groups, launch time, uptime, lifecycle (spot or on-demand),\n"
    "root device and volumes, tags, the login user guessed from the image,\n"
    "and the private key file when it is on this machine.\n"
    "\n"
    "INSTANCE is an instance ID (i-...) or a Name tag; without it, the\n"
    "instance last launched with gpuctl in this region.\n"
    "\n"
    "examples:\n"
    "  gpuctl show\n"
    "  gpuctl show my-gpu-box --output table\n"
    "  gpuctl --output json show i-0123456789abcdef0 | jq .publicDnsName\n"
    "\n"
    "Text output is KEY<TAB>VALUE lines with the JSON keys; JSON is one\n"
    "object (with uptimeSeconds as a number instead of uptime).\n";

enum { SHOW_ALL, SHOW_TEXT, SHOW_JSON };

struct field {
	const char *title;
	const char *key;
	int numeric;
	int where;
};

enum {
	F_ID,
	F_NAME,
	F_TYPE,
	F_STATE,
	F_REASON,
	F_IMAGE,
	F_KEY,
	F_IP,
	F_DNS,
	F_PRIVATE_IP,
	F_ZONE,
	F_SUBNET,
	F_VPC,
	F_GROUPS,
	F_LAUNCH,
	F_UPTIME,
	F_UPTIME_S,
	F_LIFECYCLE,
	F_ROOT,
	F_VOLUMES,
	F_TAGS,
	F_USER,
	F_KEYFILE,
	F_COUNT
};

static const struct field fields[F_COUNT] = {
    {"Instance ID", "instanceId", 0, SHOW_ALL},
    {"Name", "name", 0, SHOW_ALL},
    {"Type", "instanceType", 0, SHOW_ALL},
    {"State", "instanceState", 0, SHOW_ALL},
    {"State reason", "stateReason", 0, SHOW_ALL},
    {"Image", "imageId", 0, SHOW_ALL},
    {"Key pair", "keyName", 0, SHOW_ALL},
    {"Public IP", "ipAddress", 0, SHOW_ALL},
    {"Public DNS", "publicDnsName", 0, SHOW_ALL},
    {"Private IP", "privateIpAddress", 0, SHOW_ALL},
    {"Zone", "availabilityZone", 0, SHOW_ALL},
    {"Subnet", "subnetId", 0, SHOW_ALL},
    {"VPC", "vpcId", 0, SHOW_ALL},
    {"Security groups", "securityGroups", 0, SHOW_ALL},
    {"Launched", "launchTime", 0, SHOW_ALL},
    {"Uptime", "uptime", 0, SHOW_TEXT},
    {"Uptime", "uptimeSeconds", 1, SHOW_JSON},
    {"Lifecycle", "lifecycle", 0, SHOW_ALL},
    {"Root device", "rootDevice", 0, SHOW_ALL},
    {"Volumes", "volumes", 0, SHOW_ALL},
    {"Tags", "tags", 0, SHOW_ALL},
    {"Login user", "loginUser", 0, SHOW_ALL},
    {"Key file", "keyFile", 0, SHOW_ALL},
};

/*
 * The login user of the instance's image, "unknown" when the image is no
 * longer visible.  Returns 0, or -1 on another error.
 */
static int login_user(struct svc_ctx *s, const struct ec2_instance *i,
		      const char **user, struct gpuctl_err *err)
{
	struct ec2_image_list l = {0};
	const struct ec2_image *img = svc_instance_image(s, i, &l, err);

	*user = img ? svc_login_user(img) : "unknown";
	ec2_image_list_release(&l);
	return err->kind == GPUCTL_ERR_NONE ? 0 : -1;
}

static int show(struct gpuctl_ctx *ctx, struct svc_ctx *s,
		const struct ec2_instance *i, struct gpuctl_err *err)
{
	struct buf v[F_COUNT];
	const char *cells[F_COUNT];
	struct out_column cols[F_COUNT];
	struct out_table *t = NULL;
	const char *user = NULL;
	char *keyfile = NULL;
	size_t k, n = 0;
	long long now = (long long)time(NULL);
	int running = i->state_name && !strcmp(i->state_name, "running");
	int rc = -1;

	for (k = 0; k < F_COUNT; k++)
		buf_init(&v[k]);
	if (login_user(s, i, &user, err))
		goto out;
	keyfile = svc_key_file(s, i->key_name);

	buf_adds(&v[F_ID], i->id);
	if (ec2_instance_tag(i, "Name"))
		buf_adds(&v[F_NAME], ec2_instance_tag(i, "Name"));
	if (i->instance_type)
		buf_adds(&v[F_TYPE], i->instance_type);
	if (i->state_name)
		buf_adds(&v[F_STATE], i->state_name);
	if (i->state_reason_message)
		buf_adds(&v[F_REASON], i->state_reason_message);
	if (i->image_id)
		buf_adds(&v[F_IMAGE], i->image_id);
	if (i->key_name)
		buf_adds(&v[F_KEY], i->key_name);
	if (i->public_ip)
		buf_adds(&v[F_IP], i->public_ip);
	if (i->public_dns)
		buf_adds(&v[F_DNS], i->public_dns);
	if (i->private_ip)
		buf_adds(&v[F_PRIVATE_IP], i->private_ip);
	if (i->availability_zone)
		buf_adds(&v[F_ZONE], i->availability_zone);
	if (i->subnet_id)
		buf_adds(&v[F_SUBNET], i->subnet_id);
	if (i->vpc_id)
		buf_adds(&v[F_VPC], i->vpc_id);
	for (k = 0; k < i->ngroups; k++) {
		buf_addf(&v[F_GROUPS], "%s%s", k ? ", " : "",
			 i->groups[k].id ? i->groups[k].id : "?");
		if (i->groups[k].name)
			buf_addf(&v[F_GROUPS], "(%s)", i->groups[k].name);
	}
	out_iso_time(&v[F_LAUNCH], i->launch_epoch, i->launch_time);
	if (running && i->launch_epoch > 0) {
		out_duration(&v[F_UPTIME], now - i->launch_epoch);
		buf_addf(&v[F_UPTIME_S], "%lld",
			 now > i->launch_epoch ? now - i->launch_epoch : 0);
	}
	buf_adds(&v[F_LIFECYCLE], i->lifecycle ? i->lifecycle : "on-demand");
	if (i->root_device_name) {
		buf_adds(&v[F_ROOT], i->root_device_name);
		for (k = 0; k < i->ndevices; k++)
			if (i->devices[k].volume_id &&
			    !strcmp(i->devices[k].device_name,
				    i->root_device_name))
				buf_addf(&v[F_ROOT], " (%s)",
					 i->devices[k].volume_id);
	}
	for (k = 0; k < i->ndevices; k++)
		buf_addf(&v[F_VOLUMES], "%s%s (%s)", k ? ", " : "",
			 i->devices[k].volume_id ? i->devices[k].volume_id
						 : "?",
			 i->devices[k].device_name);
	for (k = 0; k < i->ntags; k++)
		buf_addf(&v[F_TAGS], "%s%s=%s", k ? ", " : "", i->tags[k].key,
			 i->tags[k].value);
	buf_adds(&v[F_USER], user);
	if (keyfile)
		buf_adds(&v[F_KEYFILE], keyfile);

	for (k = 0; k < F_COUNT; k++) {
		int w = fields[k].where;

		if ((w == SHOW_JSON && ctx->output != OUT_JSON) ||
		    (w == SHOW_TEXT && ctx->output == OUT_JSON))
			continue;
		cols[n].title = fields[k].title;
		cols[n].json_key = fields[k].key;
		cols[n].numeric = fields[k].numeric;
		cells[n] = v[k].len ? v[k].data : NULL;
		n++;
	}
	t = out_table_new(cols, n);
	out_table_add(t, cells);
	if (out_record_print(t, ctx->output, NULL, stdout)) {
		err_set(err, GPUCTL_ERR_IO, "cannot write the output");
		goto out;
	}
	rc = 0;
out:
	out_table_free(t);
	free(keyfile);
	for (k = 0; k < F_COUNT; k++)
		buf_release(&v[k]);
	return rc;
}

const struct cmd_parse cmd_show_parse = {NULL, 0, cmd_check_instance};

int cmd_show(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ec2_instance_list l = {0};
	struct svc_ctx svc;
	struct cmd_args args;
	const char *arg;
	int status = 0;

	memset(&svc, 0, sizeof(svc));
	if (cmd_parse_options(ctx, argc, argv, &cmd_show_parse, NULL, &args,
			      &err))
		goto fail;
	arg = args.argc ? args.argv[0] : NULL;
	if (cmd_svc_init(ctx, CMD_SVC_STATE, &svc, &err))
		goto fail;
	if (svc_resolve_instances(&svc, &arg, arg ? 1 : 0, &l, &err) ||
	    show(ctx, &svc, &l.items[0], &err)) {
		status = cmd_report(&err, "show failed");
		goto out;
	}
	goto out;
fail:
	status = cmd_report(&err, NULL);
out:
	svc_ctx_release(&svc);
	ec2_instance_list_release(&l);
	err_clear(&err);
	return status;
}
