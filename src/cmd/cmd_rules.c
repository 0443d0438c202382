/*
 * gpuctl rules [INSTANCE]: the inbound and outbound rules of an instance's
 * security groups; gpuctl rules add|remove in|out PROTO PORTS CIDR
 * [INSTANCE]: one rule more or less.  Parses the rule; the groups, their
 * rules and the change are svc_access.h's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpuctl/cmd.h"
#include "gpuctl/ec2.h"
#include "gpuctl/out.h"
#include "gpuctl/svc_access.h"
#include "gpuctl/svc_inventory.h"
#include "gpuctl/util.h"

const char cmd_rules_usage[] =
    "usage: gpuctl rules [INSTANCE]\n"
    "   or: gpuctl rules add|remove in|out PROTO PORTS CIDR [INSTANCE]\n"
    "                    [--description TEXT] [--allow-world]\n"
    "\n"
    "Without add or remove, lists the inbound (in) and outbound (out) rules\n"
    "of the instance's security groups, one rule a line: DIRECTION, GROUP,\n"
    "PROTO, PORTS, CIDR (or the source group), DESCRIPTION.\n"
    "\n"
    "add and remove change one rule of the instance's security group (when\n"
    "it has several: the one gpuctl made, named gpuctl-* or tagged\n"
    "" SVC_MANAGED_TAG ", else the first; gpuctl says which on stderr), then\n"
    "print the rule.  A rule to remove must be named exactly as listed.\n"
    "  PROTO   tcp, udp, icmp or all\n"
    "  PORTS   a port (22), a range (8000-8100) or 'all'; for icmp an ICMP\n"
    "          type (8: echo) or 'all'; for all, 'all' (or '-')\n"
    "  CIDR    an IPv4 or IPv6 network, a.b.c.d/n (a bare address means /32);\n"
    "          host bits must be zero (203.0.113.0/24, not 203.0.113.7/24)\n"
    "\n"
    "Port 22 is never opened to the whole internet (0.0.0.0/0 or ::/0)\n"
    "unless --allow-world is given: allow your own address instead.\n"
    "\n"
    "Outbound connections: a new security group lets the instance reach\n"
    "anything (one outbound rule, all traffic to 0.0.0.0/0).  To restrict\n"
    "it, add the outbound rules you need (tcp 443 for pip, conda and git)\n"
    "and then remove 'out all all 0.0.0.0/0'.\n"
    "\n"
    "options:\n"
    "  --description TEXT  the rule's description (add only)\n"
    "  --allow-world       allow opening port 22 to 0.0.0.0/0 or ::/0\n"
    "\n"
    "examples:\n"
    "  gpuctl rules\n"
    "  gpuctl rules add in tcp 8888 203.0.113.7/32 --description jupyter\n"
    "  gpuctl rules add in tcp 22 198.51.100.0/24 my-gpu-box\n"
    "  gpuctl rules remove in tcp 8888 203.0.113.7/32\n"
    "\n"
    "JSON: {\"rules\": [{\"direction\", \"groupId\", \"ipProtocol\", "
    "\"ports\",\n"
    "\"cidr\", \"description\"}]}.\n";

static const struct out_column cols[] = {
    {"DIRECTION", "direction", 0}, {"GROUP", "groupId", 0},
    {"PROTO", "ipProtocol", 0},	   {"PORTS", "ports", 0},
    {"CIDR", "cidr", 0},	   {"DESCRIPTION", "description", 0},
};
#define NCOLS (sizeof(cols) / sizeof(*cols))

/* A rule as the user wrote it, checked and normalised. */
struct rule_spec {
	int add;
	struct svc_rule r; /* protocol "tcp", "udp", "icmp" or "-1" */
	char cidr[64];
	int prefix;
};

static const char *proto_name(const char *p)
{
	if (!strcmp(p, "-1"))
		return "all";
	return p;
}

static void ports_text(struct buf *b, const char *proto, int from, int to)
{
	if (!strcmp(proto, "-1") || (from < 0 && to < 0)) {
		buf_adds(b, "all");
	} else if (!strcmp(proto, "icmp") || !strcmp(proto, "icmpv6")) {
		if (to < 0)
			buf_addf(b, "%d", from);
		else
			buf_addf(b, "%d/%d", from, to);
	} else if ((from == 0 && to == 65535) || from < 0) {
		buf_adds(b, "all");
	} else if (from == to) {
		buf_addf(b, "%d", from);
	} else {
		buf_addf(b, "%d-%d", from, to);
	}
}

static void add_rule_row(struct out_table *t, const struct svc_rule *r)
{
	struct buf ports = BUF_INIT;
	const char *cells[NCOLS];

	ports_text(&ports, r->protocol, r->from_port, r->to_port);
	cells[0] = r->egress ? "out" : "in";
	cells[1] = r->group_id;
	cells[2] = proto_name(r->protocol);
	cells[3] = ports.data;
	cells[4] = r->cidr;
	cells[5] = r->description;
	out_table_add(t, cells);
	buf_release(&ports);
}

static int parse_port(const char *s, long max, int *out)
{
	long v;

	if (parse_long(s, 0, max, &v))
		return -1;
	*out = (int)v;
	return 0;
}

/* PORTS for proto into from/to.  Returns 0, or -1 with *why set. */
static int parse_ports(const char *proto, const char *s, int *from, int *to,
		       const char **why)
{
	const char *dash = strchr(s, '-');
	char *a;
	int r;

	if (!strcmp(s, "all") || !strcmp(s, "-")) {
		if (!strcmp(proto, "tcp") || !strcmp(proto, "udp")) {
			*from = 0;
			*to = 65535;
		} else {
			*from = *to = -1;
		}
		return 0;
	}
	if (!strcmp(proto, "-1")) {
		*why = "with PROTO all, PORTS must be 'all'";
		return -1;
	}
	if (!strcmp(proto, "icmp")) {
		*to = -1;
		if (parse_port(s, 255, from)) {
			*why = "for icmp, PORTS is an ICMP type (0-255) or "
			       "'all'";
			return -1;
		}
		return 0;
	}
	*why = "PORTS must be a port (0-65535), a range FROM-TO with FROM <= "
	       "TO, or 'all'";
	if (!dash) {
		if (parse_port(s, 65535, from))
			return -1;
		*to = *from;
		return 0;
	}
	a = xstrndup(s, (size_t)(dash - s));
	r = parse_port(a, 65535, from) || parse_port(dash + 1, 65535, to) ||
	    *from > *to;
	free(a);
	return r ? -1 : 0;
}

static int change(struct gpuctl_ctx *ctx, struct svc_ctx *s,
		  const struct ec2_instance *inst,
		  const struct ec2_security_group_list *gl, struct rule_spec *r,
		  struct gpuctl_err *err)
{
	const struct ec2_security_group *g = svc_rules_group(gl, inst);
	struct out_table *t = NULL;
	int rc = -1;

	if (!g) {
		err_set(err, GPUCTL_ERR_OTHER, "%s has no security group",
			inst->id);
		return -1;
	}
	if (inst->ngroups > 1 && !ctx->quiet) {
		struct buf name = BUF_INIT;

		out_sanitize(&name, g->name ? g->name : "");
		fprintf(stderr,
			"gpuctl: rules: changing %s (%.100s), one of the %zu "
			"security groups of %s\n",
			g->id, name.data, inst->ngroups, inst->id);
		buf_release(&name);
	}
	r->r.group_id = g->id;
	if (!r->add)
		r->r.description = NULL;
	if (svc_rule_change(s, r->add, &r->r, err))
		goto out;
	t = out_table_new(cols, NCOLS);
	add_rule_row(t, &r->r);
	rc = out_table_print(t, ctx->output, "rules", stdout);
	if (rc)
		err_set(err, GPUCTL_ERR_IO, "cannot write the output");
out:
	out_table_free(t);
	return rc;
}

static int list(struct gpuctl_ctx *ctx, const struct ec2_instance *inst,
		const struct ec2_security_group_list *gl,
		struct gpuctl_err *err)
{
	struct out_table *t = out_table_new(cols, NCOLS);
	struct svc_rule_list rules = {0};
	size_t k;
	int rc = 0;

	svc_rules_of(inst, gl, &rules);
	for (k = 0; k < rules.n; k++)
		add_rule_row(t, &rules.items[k]);
	if (out_table_print(t, ctx->output, "rules", stdout))
		rc = err_set(err, GPUCTL_ERR_IO, "cannot write the output");
	svc_rule_list_release(&rules);
	out_table_free(t);
	return rc;
}

/* add|remove in|out PROTO PORTS CIDR from args into r; 0 or -1. */
static int parse_rule(char **args, struct rule_spec *r, struct gpuctl_err *err)
{
	struct buf why = BUF_INIT;
	const char *msg = NULL;
	int rc = 0;

	r->add = !strcmp(args[0], "add");
	if (strcmp(args[1], "in") && strcmp(args[1], "out"))
		return err_set(err, GPUCTL_ERR_USAGE,
			       "direction must be in or out, not '%.40s'",
			       args[1]);
	r->r.egress = !strcmp(args[1], "out");
	if (!strcmp(args[2], "tcp") || !strcmp(args[2], "udp") ||
	    !strcmp(args[2], "icmp"))
		r->r.protocol = args[2];
	else if (!strcmp(args[2], "all") || !strcmp(args[2], "-1"))
		r->r.protocol = "-1";
	else
		return err_set(err, GPUCTL_ERR_USAGE,
			       "PROTO must be tcp, udp, icmp or all, not "
			       "'%.40s'",
			       args[2]);
	if (parse_ports(r->r.protocol, args[3], &r->r.from_port, &r->r.to_port,
			&msg))
		return err_set(err, GPUCTL_ERR_USAGE, "%s ('%.40s')", msg,
			       args[3]);
	r->prefix = svc_cidr_canonical(args[4], r->cidr, sizeof(r->cidr), &why);
	r->r.cidr = r->cidr;
	if (r->prefix < 0)
		rc = err_set(err, GPUCTL_ERR_USAGE, "%s", why.data);
	buf_release(&why);
	return rc;
}

struct rules_opts {
	const char *desc;
	int allow_world;
	/* worked out by rules_check() */
	int changing;
	const char *inst;
	struct rule_spec r;
};

static const struct cmd_option rules_options[] = {
    CMD_OPT_STRING(0, "description", struct rules_opts, desc),
    CMD_OPT_FLAG(0, "allow-world", struct rules_opts, allow_world),
    CMD_OPT_END(),
};

/* add|remove in|out PROTO PORTS CIDR [INSTANCE]: the rule, its options. */
static int check_change(struct rules_opts *o, const struct cmd_args *args,
			struct gpuctl_err *err)
{
	struct rule_spec *r = &o->r;

	if (args->argc < 5 || args->argc > 6)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "%s needs in|out PROTO PORTS CIDR [INSTANCE]",
			       args->argv[0]);
	if (parse_rule(args->argv, r, err))
		return -1;
	if (args->argc == 6)
		o->inst = args->argv[5];
	if (o->desc && !r->add)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "option '--description' goes with add only");
	if (o->desc && strlen(o->desc) > 255)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "the description is longer than 255 "
			       "characters");
	r->r.description = o->desc;
	if (r->add && !o->allow_world &&
	    svc_rule_opens_ssh_to_world(r->r.egress, r->r.protocol,
					r->r.from_port, r->r.to_port,
					r->prefix)) {
		err_set(err, GPUCTL_ERR_USAGE,
			"refusing to open port 22 to the whole internet (%s)",
			r->cidr);
		err_hint(err, "allow only your address (gpuctl rules add in "
			      "tcp 22 YOUR.IP/32), or pass --allow-world if "
			      "you really mean it");
		return -1;
	}
	return 0;
}

static int rules_check(void *opts, const struct cmd_args *args,
		       struct gpuctl_err *err)
{
	struct rules_opts *o = opts;

	o->changing = args->argc && (!strcmp(args->argv[0], "add") ||
				     !strcmp(args->argv[0], "remove"));
	if (o->changing)
		return check_change(o, args, err);
	if (cmd_check_instance(opts, args, err))
		return -1;
	if (o->desc || o->allow_world)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "options '--description' and '--allow-world' "
			       "go with add");
	o->inst = args->argc ? args->argv[0] : NULL;
	return 0;
}

const struct cmd_parse cmd_rules_parse = {rules_options, 0, rules_check};

int cmd_rules(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct rules_opts o;
	struct cmd_args args;
	struct svc_ctx svc;
	struct ec2_instance_list l = {0};
	struct ec2_security_group_list gl = {0};
	const struct rule_spec *r = &o.r;
	int status = 0;

	memset(&o, 0, sizeof(o));
	memset(&svc, 0, sizeof(svc));
	if (cmd_parse_options(ctx, argc, argv, &cmd_rules_parse, &o, &args,
			      &err) ||
	    cmd_svc_init(ctx, CMD_SVC_STATE, &svc, &err)) {
		status = cmd_report(&err, NULL);
		goto out;
	}
	if (svc_resolve_instances(&svc, &o.inst, o.inst ? 1 : 0, &l, &err) ||
	    svc_instance_groups(&svc, &l.items[0], &gl, &err) ||
	    (o.changing ? change(ctx, &svc, &l.items[0], &gl, &o.r, &err)
			: list(ctx, &l.items[0], &gl, &err))) {
		status =
		    cmd_report(&err, o.changing ? (r->add ? "rules add failed"
							  : "rules remove "
							    "failed")
						: "rules failed");
		goto out;
	}
out:
	svc_ctx_release(&svc);
	ec2_security_group_list_release(&gl);
	ec2_instance_list_release(&l);
	err_clear(&err);
	return status;
}
