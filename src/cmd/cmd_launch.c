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

struct launch_opts {
	const char *ami;
	const char *type;
	const char *name;
	long count;
	const char *key;
	const char *key_type;
	long volume_size;
	int volume_size_given;
	int spot;
	const char *allow;
	const char *subnet;
	const char *user_data_file;
	const char *wait;
	int test;
	long timeout_s;
	const char *user;
	int accept_new_hostkey;
};

static const char *const value_opts[] = {
    "--ami",	  "--type",	   "--name",  "--count",  "--key",
    "--key-type", "--volume-size", "--allow", "--subnet", "--user-data",
    "--wait",	  "--timeout",	   "-l",
};

static int set_value(struct launch_opts *o, const char *opt, const char *v,
		     struct gpuctl_err *err)
{
	if (!strcmp(opt, "--ami"))
		o->ami = v;
	else if (!strcmp(opt, "--type"))
		o->type = v;
	else if (!strcmp(opt, "--name"))
		o->name = v;
	else if (!strcmp(opt, "--count")) {
		if (parse_long(v, 1, 100, &o->count))
			return err_set(err, GPUCTL_ERR_USAGE,
				       "--count must be 1 to 100, not "
				       "'%.40s'",
				       v);
	} else if (!strcmp(opt, "--key"))
		o->key = v;
	else if (!strcmp(opt, "--key-type")) {
		if (strcmp(v, "ed25519") && strcmp(v, "rsa"))
			return err_set(err, GPUCTL_ERR_USAGE,
				       "--key-type must be ed25519 or rsa");
		o->key_type = v;
	} else if (!strcmp(opt, "--volume-size")) {
		if (parse_long(v, 1, 16384, &o->volume_size))
			return err_set(err, GPUCTL_ERR_USAGE,
				       "--volume-size must be 1 to 16384 "
				       "(GiB), not '%.40s'",
				       v);
		o->volume_size_given = 1;
	} else if (!strcmp(opt, "--allow"))
		o->allow = v;
	else if (!strcmp(opt, "--subnet"))
		o->subnet = v;
	else if (!strcmp(opt, "--user-data"))
		o->user_data_file = v;
	else if (!strcmp(opt, "--wait")) {
		if (strcmp(v, "none") && strcmp(v, "running") &&
		    strcmp(v, "ssh"))
			return err_set(err, GPUCTL_ERR_USAGE,
				       "--wait must be none, running or ssh");
		o->wait = v;
	} else if (!strcmp(opt, "--timeout")) {
		if (parse_long(v, 1, 86400, &o->timeout_s))
			return err_set(err, GPUCTL_ERR_USAGE,
				       "--timeout must be 1 to 86400 "
				       "(seconds)");
	} else if (!strcmp(opt, "-l"))
		o->user = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct gpuctl_ctx *ctx,
		      struct launch_opts *o, struct gpuctl_err *err)
{
	int i;
	size_t k;

	o->count = 1;
	o->key_type = "ed25519";
	o->volume_size = 16;
	o->wait = "ssh";
	o->timeout_s = 600;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		int r;

		if (!strcmp(a, "--spot")) {
			o->spot = 1;
			continue;
		}
		if (!strcmp(a, "--test")) {
			o->test = 1;
			continue;
		}
		if (!strcmp(a, "--accept-new-hostkey")) {
			o->accept_new_hostkey = 1;
			continue;
		}
		for (k = 0; k < sizeof(value_opts) / sizeof(*value_opts); k++) {
			size_t n = strlen(value_opts[k]);

			if (strncmp(a, value_opts[k], n) ||
			    (a[n] && a[n] != '='))
				continue;
			if (a[n] == '=') {
				if (set_value(o, value_opts[k], a + n + 1, err))
					return -1;
			} else if (i + 1 >= argc) {
				return err_set(err, GPUCTL_ERR_USAGE,
					       "option %s needs a value",
					       value_opts[k]);
			} else if (set_value(o, value_opts[k], argv[++i],
					     err)) {
				return -1;
			}
			break;
		}
		if (k < sizeof(value_opts) / sizeof(*value_opts))
			continue;
		r = cmd_global_option(ctx, argc, argv, &i, err);
		if (r < 0)
			return -1;
		if (!r)
			return err_set(err, GPUCTL_ERR_USAGE,
				       "unexpected argument '%.100s'", a);
	}
	if (!o->ami || !o->type)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "--ami and --type are required");
	if (o->test && strcmp(o->wait, "ssh"))
		return err_set(err, GPUCTL_ERR_USAGE,
			       "--test needs --wait ssh (the default)");
	return 0;
}

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
		cells[6] = o->user ? o->user : svc_login_user(l->image);
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
	w.user = o->user;
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
	struct svc_launch_opts so = {0};
	struct svc_launch l;
	struct svc_ctx svc;
	struct buf user_data = BUF_INIT;
	int status;

	memset(&o, 0, sizeof(o));
	memset(&l, 0, sizeof(l));
	memset(&svc, 0, sizeof(svc));
	if (parse_args(argc, argv, ctx, &o, &err)) {
		status = cmd_usage_error("launch", "%s", err.message);
		goto out;
	}
	so.deadline_ms = svc_now_ms() + o.timeout_s * 1000;
	if (svc_read_user_data(o.user_data_file, &user_data, &err) ||
	    cmd_svc_init(ctx, CMD_SVC_STATE, &svc, &err))
		goto fail;
	so.ami = o.ami;
	so.type = o.type;
	so.name = o.name;
	so.count = o.count;
	so.key = o.key;
	so.key_type = o.key_type;
	so.volume_size = o.volume_size;
	so.volume_size_given = o.volume_size_given;
	so.spot = o.spot;
	so.allow = o.allow;
	so.subnet = o.subnet;
	so.user_data = &user_data;
	so.wait = !strcmp(o.wait, "none")      ? SVC_LAUNCH_WAIT_NONE
		  : !strcmp(o.wait, "running") ? SVC_LAUNCH_WAIT_RUNNING
					       : SVC_LAUNCH_WAIT_SSH;
	so.user = o.user;
	so.accept_new_hostkey = o.accept_new_hostkey;
	if (svc_launch(&svc, &so, &l, &err))
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
	buf_release(&user_data);
	svc_launch_release(&l);
	svc_ctx_release(&svc);
	return status;
}
