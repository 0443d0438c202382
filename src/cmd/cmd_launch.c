/*
 * gpuctl launch: the tutorial's console walk-through in one command.
 * Parses the options and hands them to svc_launch() (svc_provision.h:
 * the AMI, the key pair, the security group, an idempotent RunInstances
 * under the launch journal's client token, the waits), prints the
 * instances, and with --test runs gpuctl test on each (cmd_gputest()).
 */
#include <stdio.h>
#include <string.h>

#include "gpuctl/cmd.h"
#include "gpuctl/ec2.h"
#include "gpuctl/out.h"
#include "gpuctl/svc_inventory.h"
#include "gpuctl/svc_provision.h"
#include "gpuctl/svc_reach.h"

const char cmd_launch_usage[] =
    "usage: gpuctl launch --ami NAME|ID|PATTERN --type TYPE [options]\n"
    "\n"
    "Launches GPU instances the way the console walk-through does, in one "
    "step:\n"
    "resolves the AMI (an ami- ID, an exact name, or a pattern with * and "
    "? whose\n"
    "newest image wins; your own, Amazon's and community images), creates "
    "or\n"
    "reuses a key pair (the private key is kept under "
    "~/.config/gpuctl/keys,\n"
    "mode 0600) and a security group whose only inbound rule is SSH from "
    "your\n"
    "public IP, runs the instances and waits until they are ready.  The "
    "launch\n"
    "is idempotent: re-running the same command after an interruption "
    "adopts\n"
    "the instances of the first run instead of starting others.\n"
    "\n"
    "options:\n"
    "  --ami A            AMI ID, name or pattern (AMIs are regional)\n"
    "  --type T           instance type, e.g. g2.2xlarge, g4dn.xlarge\n"
    "  --name N           the Name tag\n"
    "  --count N          how many instances (default 1)\n"
    "  --key NAME         key pair name (default gpuctl-HOSTNAME)\n"
    "  --key-type T       ed25519 (default) or rsa, for a new key pair\n"
    "  --volume-size G    root volume in GiB (default 16, or the image's "
    "size when\n"
    "                     larger)\n"
    "  --spot             a spot instance\n"
    "  --allow CIDR       admit SSH from CIDR instead of your public IP/32\n"
    "  --subnet ID        launch in this subnet (default: the default "
    "VPC's)\n"
    "  --user-data FILE   a cloud-init script or user data\n"
    "  --wait W           none, running (with a public address) or ssh "
    "(default:\n"
    "                     SSH answers, the host key checks out and a "
    "command runs)\n"
    "  --test             run 'gpuctl test' once SSH is ready\n"
    "  --timeout S        give up waiting after S seconds (default 600; "
    "exit 5)\n"
    "  -l USER            login user for --wait ssh (default: guessed from "
    "the AMI)\n"
    "  --accept-new-hostkey  replace a known host key that changed\n"
    "\n"
    "stdout: the instance IDs, one a line.\n"
    "\n"
    "examples:\n"
    "  gpuctl --region us-west-1 launch --ami vict0rsch-1.0 --type "
    "g2.2xlarge\n"
    "  gpuctl launch --ami 'Deep Learning AMI GPU PyTorch*' --type "
    "g4dn.xlarge --spot\n";

/* Most options go straight into the services' struct. */
struct launch_opts {
	struct svc_launch_opts so; /* volume_size 0: not given */
	const char *user_data_file;
	const char *wait;
	int test;
	long timeout_s;
	struct svc_reach_opts ssh; /* -l, --accept-new-hostkey (no -i) */
	struct buf user_data;	   /* read by launch_check() */
};

static const char *const key_types[] = {"ed25519", "rsa", NULL};
static const char *const waits[] = {"none", "running", "ssh", NULL};

static const struct cmd_option launch_options[] = {
    CMD_OPT_STRING(0, "ami", struct launch_opts, so.ami),
    CMD_OPT_STRING(0, "type", struct launch_opts, so.type),
    CMD_OPT_STRING(0, "name", struct launch_opts, so.name),
    CMD_OPT_LONG(0, "count", struct launch_opts, so.count, 1, 100),
    CMD_OPT_STRING(0, "key", struct launch_opts, so.key),
    CMD_OPT_CHOICE(0, "key-type", struct launch_opts, so.key_type, key_types),
    CMD_OPT_LONG(0, "volume-size", struct launch_opts, so.volume_size, 1,
		 16384),
    CMD_OPT_FLAG(0, "spot", struct launch_opts, so.spot),
    CMD_OPT_STRING(0, "allow", struct launch_opts, so.allow),
    CMD_OPT_STRING(0, "subnet", struct launch_opts, so.subnet),
    CMD_OPT_STRING(0, "user-data", struct launch_opts, user_data_file),
    CMD_OPT_CHOICE(0, "wait", struct launch_opts, wait, waits),
    CMD_OPT_FLAG(0, "test", struct launch_opts, test),
    CMD_OPT_LONG(0, "timeout", struct launch_opts, timeout_s, 1, 86400),
    CMD_OPT_SSH_GROUP(struct launch_opts, ssh),
    CMD_OPT_END(),
};

/*
 * The required options and what goes together; then the user data, read
 * here so that a file EC2 would refuse is a usage error before any
 * credentials are looked for.
 */
static int launch_check(void *opts, const struct cmd_args *args,
			struct gpuctl_err *err)
{
	struct launch_opts *o = opts;

	if (cmd_check_no_words(opts, args, err))
		return -1;
	if (!o->so.ami || !o->so.type)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "options '--ami' and '--type' are required");
	if (o->ssh.key_path)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "option '-i' does not go with launch: it logs "
			       "in with the key pair's key (see --key)");
	if (o->test && strcmp(o->wait, "ssh"))
		return err_set(err, GPUCTL_ERR_USAGE,
			       "option '--test' needs --wait ssh (the "
			       "default)");
	return svc_read_user_data(o->user_data_file, &o->user_data, err);
}

const struct cmd_parse cmd_launch_parse = {launch_options, 0, launch_check};

static const struct out_column launch_cols[] = {
    {"INSTANCE", "instanceId", 0}, {"NAME", "name", 0},
    {"TYPE", "instanceType", 0},   {"STATE", "instanceState", 0},
    {"PUBLIC IP", "ipAddress", 0}, {"PUBLIC DNS", "dnsName", 0},
    {"USER", "loginUser", 0},	   {"KEY", "keyFile", 0},
};

/* Text output: the instance IDs, one a line. */
static const struct out_column id_cols[] = {
    {"INSTANCE", "instanceId", 0},
};

static int print_result(struct gpuctl_ctx *ctx, const struct launch_opts *o,
			const struct svc_launch *l)
{
	struct out_table *t;
	size_t i;
	int rc = 0;

	if (ctx->output == OUT_TEXT) {
		t = out_table_new(id_cols, 1);
		for (i = 0; i < l->instances.n; i++)
			out_table_add(
			    t, (const char *const *)&l->instances.items[i].id);
		rc = out_table_print(t, OUT_TEXT, "instances", stdout);
		out_table_free(t);
		return rc;
	}
	t = out_table_new(launch_cols,
			  sizeof(launch_cols) / sizeof(*launch_cols));
	for (i = 0; i < l->instances.n; i++) {
		const struct ec2_instance *x = &l->instances.items[i];
		const char *cells[8];

		cells[0] = x->id;
		cells[1] = ec2_instance_tag(x, "Name");
		cells[2] = x->instance_type;
		cells[3] = x->state_name;
		cells[4] = x->public_ip;
		cells[5] = x->public_dns;
		cells[6] = o->ssh.user ? o->ssh.user : svc_login_user(l->image);
		cells[7] = l->key.path;
		out_table_add(t, cells);
	}
	rc = out_table_print(t, ctx->output, "instances", stdout);
	out_table_free(t);
	return rc;
}

/* launch --test: gpuctl test on each instance; the worst exit status. */
static int test_all(struct gpuctl_ctx *ctx, struct svc_ctx *svc,
		    const struct launch_opts *o, const struct svc_launch *l)
{
	struct svc_reach_opts w = {0};
	size_t i;
	int status = 0, r;

	w.image = l->image;
	w.user = o->ssh.user;
	w.key_path = l->key.path;
	for (i = 0; i < l->instances.n; i++) {
		r = cmd_gputest(ctx, svc, &l->instances.items[i], &w, "test",
				NULL);
		if (r > status)
			status = r;
	}
	return status;
}

int cmd_launch(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	static const char *const what[] = {
	    [SVC_LAUNCH_AT_PREPARE] = "launch failed",
	    [SVC_LAUNCH_AT_RUN] = "launch failed",
	    [SVC_LAUNCH_AT_RUNNING] = "waiting for the instance failed",
	    [SVC_LAUNCH_AT_SSH] = "waiting for SSH failed",
	    [SVC_LAUNCH_AT_END] = "launch failed",
	};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct launch_opts o;
	struct cmd_args args;
	struct svc_launch l;
	struct svc_ctx svc;
	int status;

	memset(&o, 0, sizeof(o));
	memset(&l, 0, sizeof(l));
	memset(&svc, 0, sizeof(svc));
	o.so.count = 1;
	o.so.key_type = "ed25519";
	o.wait = "ssh";
	o.timeout_s = 600;
	buf_init(&o.user_data);
	if (cmd_parse_options(ctx, argc, argv, &cmd_launch_parse, &o, &args,
			      &err)) {
		status = cmd_report_parse(&err, what[SVC_LAUNCH_AT_PREPARE]);
		goto out;
	}
	o.so.deadline_ms = svc_now_ms() + o.timeout_s * 1000;
	if (cmd_svc_init(ctx, CMD_SVC_STATE, &svc, &err))
		goto fail;
	o.so.volume_size_given = o.so.volume_size != 0;
	if (!o.so.volume_size_given)
		o.so.volume_size = 16;
	o.so.user_data = &o.user_data;
	o.so.wait = !strcmp(o.wait, "none")	 ? SVC_LAUNCH_WAIT_NONE
		    : !strcmp(o.wait, "running") ? SVC_LAUNCH_WAIT_RUNNING
						 : SVC_LAUNCH_WAIT_SSH;
	o.so.user = o.ssh.user;
	o.so.accept_new_hostkey = o.ssh.accept_new_hostkey;
	if (svc_launch(&svc, &o.so, &l, &err))
		goto fail;
	status = print_result(ctx, &o, &l) ? 1 : 0;
	if (!status && o.test)
		status = test_all(ctx, &svc, &o, &l);
	goto out;
fail:
	status = cmd_report(&err, what[l.stage]);
	if (l.journal_open && l.instances.n)
		fprintf(stderr,
			"gpuctl: the instance exists; run the same command "
			"again to go on waiting, or 'gpuctl terminate %s'\n",
			l.instances.items[0].id);
out:
	err_clear(&err);
	buf_release(&o.user_data);
	svc_launch_release(&l);
	svc_ctx_release(&svc);
	return status;
}
