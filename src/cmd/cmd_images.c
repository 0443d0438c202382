/*
 * gpuctl images PATTERN [--owner self|amazon|all]: AMI search
 * (svc_search_images()), one row per image.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpuctl/cmd.h"
#include "gpuctl/ec2.h"
#include "gpuctl/out.h"
#include "gpuctl/svc_ami.h"
#include "gpuctl/util.h"

const char cmd_images_usage[] =
    "usage: gpuctl images PATTERN [--owner self|amazon|all]\n"
    "\n"
    "Searches the AMIs of the region by name, newest first: ID, name, owner\n"
    "(alias or account ID), creation date and region.  PATTERN is an exact\n"
    "name, a pattern with '*' (any characters) and '?' (one character), or\n"
    "an image ID (ami-...).  Quote patterns so the shell leaves them alone.\n"
    "\n"
    "AMIs are regional: an image found in one region does not exist in\n"
    "another (the tutorial's vict0rsch-1.0 lives only in us-west-1).  When\n"
    "nothing matches, gpuctl says so on stderr and exits with status 1.\n"
    "\n"
    "options:\n"
    "  --owner self       only your own images\n"
    "  --owner amazon     only Amazon's images\n"
    "  --owner all        also public and community images (the default)\n"
    "\n"
    "examples:\n"
    "  gpuctl --region us-west-1 images vict0rsch-1.0\n"
    "  gpuctl images 'Deep Learning*PyTorch*' --owner amazon\n"
    "  gpuctl --output json images 'al2023-ami-*' | jq -r "
    "'.images[0].imageId'\n"
    "\n"
    "JSON: {\"images\": [{\"imageId\", \"name\", \"ownerId\", \"ownerAlias\",\n"
    "\"creationDate\", \"region\", \"description\"}]}.\n";

static const struct out_column text_cols[] = {
    {"ID", "imageId", 0},    {"NAME", "name", 0},
    {"OWNER", "owner", 0},   {"CREATED", "creationDate", 0},
    {"REGION", "region", 0},
};

static const struct out_column json_cols[] = {
    {"ID", "imageId", 0},
    {"NAME", "name", 0},
    {"OWNER ID", "ownerId", 0},
    {"OWNER ALIAS", "ownerAlias", 0},
    {"CREATED", "creationDate", 0},
    {"REGION", "region", 0},
    {"DESCRIPTION", "description", 0},
};

static void print_none(const char *pattern, const char *region)
{
	struct buf b = BUF_INIT;

	out_sanitize(&b, pattern);
	fprintf(stderr,
		"gpuctl: no image matches '%.200s' in %s (AMIs are regional; "
		"try --region)\n",
		b.data, region);
	buf_release(&b);
}

static void add_row(struct out_table *t, const struct ec2_image *im,
		    enum out_format fmt, const char *region)
{
	if (fmt == OUT_JSON) {
		const char *cells[] = {
		    im->id,	     im->name,		im->owner_id,
		    im->owner_alias, im->creation_date, region,
		    im->description,
		};

		out_table_add(t, cells);
	} else {
		const char *cells[] = {
		    im->id,
		    im->name,
		    im->owner_alias ? im->owner_alias : im->owner_id,
		    im->creation_date,
		    region,
		};

		out_table_add(t, cells);
	}
}

struct images_opts {
	const char *owner;
};

static const char *const owners[] = {"self", "amazon", "all", NULL};

static const struct cmd_option images_options[] = {
    CMD_OPT_CHOICE(0, "owner", struct images_opts, owner, owners),
    CMD_OPT_END(),
};

/* Exactly one PATTERN. */
static int images_check(void *opts, const struct cmd_args *args,
			struct gpuctl_err *err)
{
	(void)opts;
	if (!args->argc || !*args->argv[0])
		return err_set(err, GPUCTL_ERR_USAGE, "missing the PATTERN");
	return cmd_check_words(args, 1, "one PATTERN at a time", err);
}

const struct cmd_parse cmd_images_parse = {images_options, 0, images_check};

int cmd_images(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct images_opts o = {"all"};
	struct cmd_args args;
	struct svc_ctx svc;
	struct ec2_image_list l = {0};
	struct out_table *t = NULL;
	const char *pattern;
	size_t k;
	int status = 0;

	memset(&svc, 0, sizeof(svc));
	if (cmd_parse_options(ctx, argc, argv, &cmd_images_parse, &o, &args,
			      &err))
		goto fail;
	pattern = args.argv[0];
	if (cmd_svc_init(ctx, CMD_SVC_EC2, &svc, &err))
		goto fail;
	if (svc_search_images(&svc, pattern, o.owner, &l, &err)) {
		status = cmd_report(&err, "images failed");
		goto out;
	}
	if (!l.n) {
		print_none(pattern, ctx->cfg.region);
		status = 1;
		goto out;
	}
	t = ctx->output == OUT_JSON
		? out_table_new(json_cols,
				sizeof(json_cols) / sizeof(*json_cols))
		: out_table_new(text_cols,
				sizeof(text_cols) / sizeof(*text_cols));
	for (k = 0; k < l.n; k++)
		add_row(t, &l.items[k], ctx->output, ctx->cfg.region);
	if (out_table_print(t, ctx->output, "images", stdout))
		status = 1;
	goto out;
fail:
	status = cmd_report(&err, NULL);
out:
	out_table_free(t);
	ec2_image_list_release(&l);
	svc_ctx_release(&svc);
	err_clear(&err);
	return status;
}
