/*
 * gpuctl launch: the tutorial's console walk-through in one command.
 * Resolve the AMI, make or reuse the key pair and the security group, run
 * the instances idempotently (client token from the launch journal), wait.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "gpuctl/cmd.h"
#include "gpuctl/ec2.h"
#include "gpuctl/log.h"
#include "gpuctl/out.h"
#include "gpuctl/state.h"
#include "gpuctl/svc.h"

#define GROUP_NAME "gpuctl-ssh"
#define GROUP_DESCRIPTION                                             \
	"gpuctl: SSH (TCP 22) from the addresses you launched from; " \
	"created by gpuctl launch"

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

/* Everything a launch found or made; released at the end. */
struct launch {
	struct gpuctl_ctx *ctx;
	struct launch_opts o;
	struct state_paths paths;
	struct ec2_image_list images;
	const struct ec2_image *image;
	char *vpc_id;
	char *key_name;
	char *key_path;
	char *group_id;
	char *caller_cidr;
	struct buf user_data;
	char *fingerprint;
	char *nonce; /* tags a key pair this run creates */
	struct state_journal_entry journal;
	int journal_open;
	struct ec2_instance_list instances;
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

static int resolve_ami(struct launch *l, struct gpuctl_err *err)
{
	struct ec2_describe q = {0};
	struct ec2_filter f;
	const char *ami = l->o.ami;
	const char *region = l->ctx->cfg.region;
	size_t i, best = 0, same = 0;

	if (starts_with(ami, "ami-")) {
		q.ids = &ami;
		q.nids = 1;
	} else {
		f = (struct ec2_filter){"name", &ami, 1};
		q.filters = &f;
		q.nfilters = 1;
	}
	if (ec2_describe_images(l->ctx->ec2, &q, &l->images, err)) {
		if (err->code && starts_with(err->code, "InvalidAMIID")) {
			err_hint(err,
				 "AMIs are regional: %s may exist only "
				 "in another region (pass --region)",
				 ami);
		}
		return -1;
	}
	for (i = 0; i < l->images.n; i++) {
		const struct ec2_image *a = &l->images.items[i];
		const struct ec2_image *b = &l->images.items[best];

		if (a->state && strcmp(a->state, "available"))
			continue;
		if (i == best)
			continue;
		if (image_rank(a) < image_rank(b) ||
		    (image_rank(a) == image_rank(b) &&
		     a->creation_epoch > b->creation_epoch))
			best = i;
	}
	if (!l->images.n) {
		err_set(err, GPUCTL_ERR_OTHER, "no image %s '%.200s' in %s",
			is_pattern(ami) ? "matches" : "is named", ami, region);
		err_hint(err, "AMIs are regional: the image may exist in "
			      "another region only; pass --region REGION "
			      "(find it with 'gpuctl --region REGION images "
			      "NAME')");
		return -1;
	}
	l->image = &l->images.items[best];
	/* the same exact name from several owners: say which was taken */
	for (i = 0; i < l->images.n && !is_pattern(ami); i++)
		if (l->images.items[i].owner_id && l->image->owner_id &&
		    strcmp(l->images.items[i].owner_id, l->image->owner_id))
			same++;
	if (same)
		log_warn("%zu other images are named '%.100s'; using %s of "
			 "owner %s",
			 same, ami, l->image->id,
			 l->image->owner_id ? l->image->owner_id : "?");
	log_info("image %s (%s)", l->image->id,
		 l->image->name ? l->image->name : "");
	/* the root volume cannot be smaller than the image's snapshot */
	if (l->image->root_volume_size > l->o.volume_size) {
		if (l->o.volume_size_given) {
			err_set(err, GPUCTL_ERR_OTHER,
				"image %s needs a root volume of at least %ld "
				"GiB, not %ld",
				l->image->id, l->image->root_volume_size,
				l->o.volume_size);
			err_hint(err, "pass --volume-size %ld or more",
				 l->image->root_volume_size);
			return -1;
		}
		log_info("root volume of %ld GiB, the image's size",
			 l->image->root_volume_size);
		l->o.volume_size = l->image->root_volume_size;
	}
	return 0;
}

static int find_vpc(struct launch *l, struct gpuctl_err *err)
{
	struct ec2_describe q = {0};
	struct ec2_filter f;
	const char *yes = "true";
	int rc = -1;

	if (l->o.subnet) {
		struct ec2_subnet_list subnets = {0};

		q.ids = &l->o.subnet;
		q.nids = 1;
		if (!ec2_describe_subnets(l->ctx->ec2, &q, &subnets, err) &&
		    subnets.n && subnets.items[0].vpc_id) {
			l->vpc_id = xstrdup(subnets.items[0].vpc_id);
			rc = 0;
		} else if (err->kind == GPUCTL_ERR_NONE) {
			err_set(err, GPUCTL_ERR_OTHER,
				"subnet %.100s not found", l->o.subnet);
		}
		ec2_subnet_list_release(&subnets);
		return rc;
	} else {
		struct ec2_vpc_list vpcs = {0};

		f = (struct ec2_filter){"isDefault", &yes, 1};
		q.filters = &f;
		q.nfilters = 1;
		if (!ec2_describe_vpcs(l->ctx->ec2, &q, &vpcs, err)) {
			if (vpcs.n) {
				l->vpc_id = xstrdup(vpcs.items[0].id);
				rc = 0;
			} else {
				err_set(err, GPUCTL_ERR_OTHER,
					"no default VPC in %s",
					l->ctx->cfg.region);
				err_hint(err, "pass --subnet SUBNET-ID of a "
					      "subnet with public addresses");
			}
		}
		ec2_vpc_list_release(&vpcs);
	}
	return rc;
}

static char *default_key_name(void)
{
	char host[256] = "";
	struct buf b = BUF_INIT;
	const char *p;

	gethostname(host, sizeof(host) - 1);
	buf_adds(&b, "gpuctl-");
	for (p = host; *p && b.len < 64; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')
			buf_addch(&b, *p);
		else if (*p == '.')
			break;
	if (b.len == 7)
		buf_adds(&b, "key");
	return buf_detach(&b, NULL);
}

static int key_tag_matches(const struct ec2_key_pair *k, const char *token)
{
	size_t i;

	for (i = 0; i < k->ntags; i++)
		if (!strcmp(k->tags[i].key, "gpuctl:launch") &&
		    !strcmp(k->tags[i].value, token))
			return 1;
	return 0;
}

/*
 * KEY.pem.creating holds the tag of a key pair being created: a launch
 * interrupted between CreateKeyPair and the private key on disk leaves it,
 * and the next one knows the key pair for its own, lost, and makes it again.
 */
static char *creating_path(const struct launch *l)
{
	return xasprintf("%s.creating", l->key_path);
}

/* 1 when key pair k is the one an interrupted launch was creating. */
static int key_was_being_created(const struct launch *l,
				 const struct ec2_key_pair *k)
{
	struct buf b = BUF_INIT;
	char *path = creating_path(l);
	int r = 0;

	if (!read_file(path, &b) && b.len) {
		if (b.data[b.len - 1] == '\n')
			b.data[--b.len] = '\0';
		r = key_tag_matches(k, b.data);
	}
	buf_release(&b);
	free(path);
	return r;
}

static int create_key(struct launch *l, struct gpuctl_err *err)
{
	struct ec2_key_pair kp = {0};
	struct ec2_param tags[2] = {{SVC_MANAGED_TAG, "true"},
				    {"gpuctl:launch", l->nonce}};
	struct buf pem = BUF_INIT;
	char *creating = creating_path(l);
	int rc = -1, tries;

	if (state_write_private(creating, l->nonce, strlen(l->nonce), 0, err))
		goto out;
	for (tries = 0; tries < 2; tries++) {
		if (!ec2_create_key_pair(l->ctx->ec2, l->key_name,
					 l->o.key_type, tags, 2, &kp, err))
			break;
		ec2_key_pair_release(&kp);
		if (!err->code || strcmp(err->code, "InvalidKeyPair.Duplicate"))
			goto out;
		/*
		 * Ours, made by a request whose answer was lost (the key
		 * material with it): delete it and make it again.
		 */
		{
			struct ec2_key_pair_list kl = {0};
			struct ec2_describe q = {0};
			struct gpuctl_err e2 = GPUCTL_ERR_INIT;
			int ours;

			q.names = (const char *const *)&l->key_name;
			q.nnames = 1;
			ours = !ec2_describe_key_pairs(l->ctx->ec2, &q, &kl,
						       &e2) &&
			       kl.n && key_tag_matches(&kl.items[0], l->nonce);
			ec2_key_pair_list_release(&kl);
			err_clear(&e2);
			if (!ours)
				goto out;
			err_clear(err);
			log_info("key pair %s was made by a request whose "
				 "answer was lost: making it again",
				 l->key_name);
			if (ec2_delete_key_pair(l->ctx->ec2, l->key_name, err))
				goto out;
		}
	}
	if (tries == 2)
		goto out;
	if (!kp.material || !kp.material_len) {
		err_set(err, GPUCTL_ERR_PARSE,
			"CreateKeyPair answered without key material");
		goto out;
	}
	/*
	 * EC2 sends the key without a final newline, and OpenSSH will not
	 * load an OpenSSH-format key without one ("error in libcrypto").
	 */
	buf_add(&pem, kp.material, kp.material_len);
	if (pem.data[pem.len - 1] != '\n')
		buf_addch(&pem, '\n');
	if (state_write_private(l->key_path, pem.data, pem.len, 1, err)) {
		struct gpuctl_err e2 = GPUCTL_ERR_INIT;

		/* an unusable key pair would block the next launch */
		ec2_delete_key_pair(l->ctx->ec2, l->key_name, &e2);
		err_clear(&e2);
		goto out;
	}
	log_info("created key pair %s, private key in %s", l->key_name,
		 l->key_path);
	rc = 0;
out:
	/* kept while a key pair of ours may be lost */
	if (rc == 0)
		unlink(creating);
	free(creating);
	buf_release_secret(&pem);
	ec2_key_pair_release(&kp);
	return rc;
}

static int ensure_key(struct launch *l, struct gpuctl_err *err)
{
	struct ec2_key_pair_list kl = {0};
	struct ec2_describe q = {0};
	struct stat st;
	int have_local, rc = -1;

	l->key_name = l->o.key ? xstrdup(l->o.key) : default_key_name();
	l->key_path =
	    state_key_path(&l->paths, l->ctx->cfg.region, l->key_name);
	have_local = !lstat(l->key_path, &st);
	q.names = (const char *const *)&l->key_name;
	q.nnames = 1;
	if (ec2_describe_key_pairs(l->ctx->ec2, &q, &kl, err)) {
		if (!err->code || strcmp(err->code, "InvalidKeyPair.NotFound"))
			goto out;
		err_clear(err);
		if (have_local) {
			/* a key file whose key pair is gone: keep it aside */
			char *aside = xasprintf("%s.orphaned-%lld", l->key_path,
						(long long)time(NULL));

			if (rename(l->key_path, aside)) {
				err_set(err, GPUCTL_ERR_IO,
					"cannot move %s aside: %s", l->key_path,
					strerror(errno));
				free(aside);
				goto out;
			}
			log_warn("key pair %s no longer exists in %s; its old "
				 "private key was moved to %s",
				 l->key_name, l->ctx->cfg.region, aside);
			free(aside);
		}
		rc = create_key(l, err);
		goto out;
	}
	if (!have_local && kl.n && key_was_being_created(l, &kl.items[0])) {
		log_info("key pair %s was made by an interrupted launch "
			 "before its private key was saved: making it again",
			 l->key_name);
		if (ec2_delete_key_pair(l->ctx->ec2, l->key_name, err))
			goto out;
		rc = create_key(l, err);
		goto out;
	}
	if (!have_local) {
		err_set(err, GPUCTL_ERR_OTHER,
			"key pair %.100s exists in %s, but its private key is "
			"not in %s",
			l->key_name, l->ctx->cfg.region, l->key_path);
		err_hint(err, "copy the private key there (chmod 600), or "
			      "pass --key NEW-NAME to create another key pair");
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		err_set(err, GPUCTL_ERR_OTHER,
			"private key %s is readable by others", l->key_path);
		err_hint(err, "chmod 600 %s", l->key_path);
		goto out;
	}
	rc = 0;
out:
	ec2_key_pair_list_release(&kl);
	return rc;
}

static int has_ingress(const struct ec2_security_group *g, const char *cidr)
{
	size_t i, k;

	for (i = 0; i < g->ningress; i++) {
		const struct ec2_permission *p = &g->ingress[i];
		int all = !strcmp(p->protocol, "-1");

		if (!all && (strcmp(p->protocol, "tcp") || p->from_port > 22 ||
			     p->to_port < 22))
			continue;
		for (k = 0; k < p->nranges; k++)
			if (!strcmp(p->ranges[k].cidr, cidr))
				return 1;
	}
	return 0;
}

static int find_group(struct launch *l, struct ec2_security_group_list *gl,
		      struct gpuctl_err *err)
{
	struct ec2_describe q = {0};
	struct ec2_filter f[2];
	const char *name = GROUP_NAME;

	f[0] = (struct ec2_filter){"group-name", &name, 1};
	f[1] =
	    (struct ec2_filter){"vpc-id", (const char *const *)&l->vpc_id, 1};
	q.filters = f;
	q.nfilters = 2;
	return ec2_describe_security_groups(l->ctx->ec2, &q, gl, err);
}

static int ensure_group(struct launch *l, struct gpuctl_err *err)
{
	struct ec2_security_group_list gl = {0};
	struct ec2_param tags[2] = {{SVC_MANAGED_TAG, "true"},
				    {"Name", GROUP_NAME}};
	struct ec2_rule rule = {"tcp", 22, 22, NULL, NULL};
	char *ip = NULL, *desc = NULL;
	int rc = -1;

	if (l->o.allow) {
		l->caller_cidr = xstrdup(l->o.allow);
	} else {
		if (svc_caller_ip(l->ctx->envp, l->ctx->cfg.ca_bundle, &ip,
				  err))
			goto out;
		l->caller_cidr = xasprintf("%s/32", ip);
	}
	if (!strcmp(l->caller_cidr, "0.0.0.0/0"))
		log_warn("--allow 0.0.0.0/0 opens SSH to the whole internet");
	if (find_group(l, &gl, err))
		goto out;
	if (!gl.n) {
		if (ec2_create_security_group(l->ctx->ec2, GROUP_NAME,
					      GROUP_DESCRIPTION, l->vpc_id,
					      tags, 2, &l->group_id, err)) {
			/* made by a request whose answer was lost */
			if (!err->code ||
			    strcmp(err->code, "InvalidGroup.Duplicate"))
				goto out;
			err_clear(err);
			if (find_group(l, &gl, err))
				goto out;
		}
	}
	if (!l->group_id) {
		if (!gl.n) {
			err_set(err, GPUCTL_ERR_OTHER,
				"security group %s vanished", GROUP_NAME);
			goto out;
		}
		l->group_id = xstrdup(gl.items[0].id);
	}
	if (gl.n && has_ingress(&gl.items[0], l->caller_cidr)) {
		rc = 0;
		goto out;
	}
	desc = xasprintf("SSH for gpuctl launch from %s", l->caller_cidr);
	rule.cidr = l->caller_cidr;
	rule.description = desc;
	if (ec2_authorize_ingress(l->ctx->ec2, l->group_id, &rule, err)) {
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

static int read_user_data(struct launch *l, struct gpuctl_err *err)
{
	if (!l->o.user_data_file)
		return 0;
	if (read_file(l->o.user_data_file, &l->user_data))
		return err_set(err, GPUCTL_ERR_IO, "cannot read %s: %s",
			       l->o.user_data_file, strerror(errno));
	if (l->user_data.len > 16384)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "%s is %zu bytes; EC2 takes at most 16 KiB of "
			       "user data",
			       l->o.user_data_file, l->user_data.len);
	return 0;
}

/* What makes two launches the same request, hashed. */
static void make_fingerprint(struct launch *l)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s\n%s\n%s\n%ld\n%s\n%s\n%s\n%s\n%ld\n%d\n",
		 l->ctx->cfg.region, l->image->id, l->o.type, l->o.count,
		 l->o.name ? l->o.name : "", l->key_name, l->group_id,
		 l->o.subnet ? l->o.subnet : "", l->o.volume_size, l->o.spot);
	buf_add(&b, l->user_data.data, l->user_data.len);
	EVP_Digest(b.data, b.len, md, &n, EVP_sha256(), NULL);
	hex_encode(md, n, hex);
	l->fingerprint = xstrdup(hex);
	buf_release(&b);
}

static void explain_run_error(struct launch *l, struct gpuctl_err *err)
{
	const char *c = err->code ? err->code : "";
	const char *region = l->ctx->cfg.region;

	if (!strcmp(c, "VcpuLimitExceeded") ||
	    !strcmp(c, "InstanceLimitExceeded"))
		err_hint(err,
			 "your account may not run more %s instances in %s "
			 "(new accounts start with a limit of 0): request a "
			 "higher limit for 'Running On-Demand G and VT "
			 "instances' (or P instances) in the Service Quotas "
			 "console, https://console.aws.amazon.com/"
			 "servicequotas/home/services/ec2/quotas, region %s",
			 l->o.type, region, region);
	else if (!strcmp(c, "InsufficientInstanceCapacity"))
		err_hint(err,
			 "AWS has no %s capacity there right now: try "
			 "another zone (--subnet of another zone), "
			 "another type, --spot, or later",
			 l->o.type);
	else if (!strcmp(c, "Unsupported"))
		err_hint(err,
			 "%s is not offered in that zone: try another "
			 "zone (--subnet) or type",
			 l->o.type);
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

static int run(struct launch *l, struct gpuctl_err *err)
{
	struct ec2_run_params p = {0};
	struct ec2_param tags[3];
	size_t ntags = 0, i;
	const char **ids;
	int rc;

	tags[ntags++] = (struct ec2_param){SVC_MANAGED_TAG, "true"};
	tags[ntags++] = (struct ec2_param){"gpuctl:launch", l->journal.token};
	if (l->o.name)
		tags[ntags++] = (struct ec2_param){"Name", l->o.name};
	p.image_id = l->image->id;
	p.instance_type = l->o.type;
	p.min_count = (int)l->o.count;
	p.max_count = (int)l->o.count;
	p.key_name = l->key_name;
	p.security_group_ids = (const char *const *)&l->group_id;
	p.nsecurity_group_ids = 1;
	p.subnet_id = l->o.subnet;
	p.root_device_name = l->image->root_device_name;
	p.volume_size_gib = (int)l->o.volume_size;
	p.volume_type = "gp3";
	p.spot = l->o.spot;
	p.user_data = l->user_data.len ? l->user_data.data : NULL;
	p.user_data_len = l->user_data.len;
	p.tags = tags;
	p.ntags = ntags;
	p.client_token = l->journal.token;
	if (ec2_run_instances(l->ctx->ec2, &p, &l->instances, err)) {
		if (err->kind == GPUCTL_ERR_AWS)
			explain_run_error(l, err);
		return -1;
	}
	if (!l->instances.n)
		return err_set(err, GPUCTL_ERR_PARSE,
			       "RunInstances answered without instances");
	ids = xcalloc(l->instances.n, sizeof(*ids));
	for (i = 0; i < l->instances.n; i++)
		ids[i] = l->instances.items[i].id;
	rc =
	    state_journal_instances(&l->paths, l->ctx->cfg.region,
				    l->journal.token, ids, l->instances.n, err);
	if (!rc)
		rc = state_set_last_instance(&l->paths, l->ctx->cfg.region,
					     ids[0], err);
	free(ids);
	return rc;
}

static int wait_running(struct launch *l, long long deadline,
			struct gpuctl_err *err)
{
	struct svc_progress pr = {cmd_progress, l->ctx};
	struct ec2_instance_list now = {0};
	const char **ids = xcalloc(l->instances.n, sizeof(*ids));
	size_t i;
	int rc;

	for (i = 0; i < l->instances.n; i++)
		ids[i] = l->instances.items[i].id;
	rc =
	    svc_wait_instances(l->ctx->ec2, ids, l->instances.n, "running", 1,
			       (long)(deadline - svc_now_ms()), &pr, &now, err);
	cmd_progress_done(l->ctx);
	free(ids);
	if (!rc) {
		ec2_instance_list_release(&l->instances);
		l->instances = now;
	} else {
		ec2_instance_list_release(&now);
	}
	return rc;
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

static int print_result(struct launch *l)
{
	struct out_table *t;
	size_t i;
	int rc = 0;

	if (l->ctx->output == OUT_TEXT) {
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
		cells[6] = l->o.user ? l->o.user : svc_login_user(l->image);
		cells[7] = l->key_path;
		out_table_add(t, cells);
	}
	rc = out_table_print(t, l->ctx->output, "instances", stdout);
	out_table_free(t);
	return rc;
}

static void launch_release(struct launch *l)
{
	state_paths_release(&l->paths);
	ec2_image_list_release(&l->images);
	free(l->vpc_id);
	free(l->key_name);
	free(l->key_path);
	free(l->group_id);
	free(l->caller_cidr);
	buf_release(&l->user_data);
	free(l->fingerprint);
	free(l->nonce);
	state_journal_entry_release(&l->journal);
	ec2_instance_list_release(&l->instances);
}

int cmd_launch(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct launch l;
	long long deadline;
	const char *what = "launch failed";
	int status, definitive = 0;

	memset(&l, 0, sizeof(l));
	l.ctx = ctx;
	buf_init(&l.user_data);
	if (parse_args(argc, argv, ctx, &l.o, &err)) {
		status = cmd_usage_error("launch", "%s", err.message);
		goto out;
	}
	deadline = svc_now_ms() + l.o.timeout_s * 1000;
	if (read_user_data(&l, &err) || cmd_ec2(ctx, &err) ||
	    state_paths_init(&l.paths, ctx->envp, &err))
		goto fail;
	if (resolve_ami(&l, &err) || find_vpc(&l, &err))
		goto fail;
	l.nonce = state_new_token();
	if (ensure_key(&l, &err) || ensure_group(&l, &err))
		goto fail;
	make_fingerprint(&l);
	if (state_journal_begin(&l.paths, ctx->cfg.region, l.fingerprint,
				(long long)time(NULL), &l.journal, &err))
		goto fail;
	l.journal_open = 1;
	if (l.journal.reused)
		log_warn("resuming an earlier launch of the same request "
			 "(client token %s): no second instance is started",
			 l.journal.token);
	if (run(&l, &err)) {
		/* EC2 said no: nothing was made, the next try is new */
		definitive = err.kind == GPUCTL_ERR_AWS;
		goto fail;
	}
	if (strcmp(l.o.wait, "none")) {
		if (wait_running(&l, deadline, &err)) {
			definitive = err.kind == GPUCTL_ERR_OTHER;
			what = "waiting for the instance failed";
			goto fail;
		}
	}
	if (!strcmp(l.o.wait, "ssh")) {
		struct cmd_ssh_wait w = {0};

		w.image = l.image;
		w.user = l.o.user;
		w.key_path = l.key_path;
		w.accept_new_hostkey = l.o.accept_new_hostkey;
		w.deadline_ms = deadline;
		if (cmd_wait_ssh(ctx, &l.instances, &w, &err)) {
			what = "waiting for SSH failed";
			goto fail;
		}
	}
	state_journal_end(&l.paths, ctx->cfg.region, l.journal.token, &err);
	err_clear(&err);
	l.journal_open = 0;
	status = print_result(&l) ? 1 : 0;
	if (!status && l.o.test)
		status = cmd_test_instances(ctx, &l.instances, l.image,
					    l.o.user, l.key_path);
	goto out;
fail:
	status = cmd_report(&err, what);
	if (l.journal_open && definitive) {
		err_clear(&err);
		state_journal_end(&l.paths, ctx->cfg.region, l.journal.token,
				  &err);
	} else if (l.journal_open && l.instances.n) {
		fprintf(stderr,
			"gpuctl: the instance exists; run the same command "
			"again to go on waiting, or 'gpuctl terminate %s'\n",
			l.instances.items[0].id);
	}
out:
	err_clear(&err);
	launch_release(&l);
	return status;
}
