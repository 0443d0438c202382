/*
 * Who may reach an instance: the one group-admits-SSH check, CIDRs
 * (containment, canonical form; IPv4 and IPv6), the caller's public IP,
 * and the rules of an instance's security groups.
 */
#include "gpuctl/svc_access.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpuctl/http.h"

/* An address or a network, parsed. */
struct cidr {
	int af;
	unsigned char addr[16];
	int bits; /* the prefix length; the address length when bare */
};

/*
 * Reads "a.b.c.d/n", an IPv6 "x:y::z/n" or a bare address.  Returns 0,
 * or -1 when s is none of them.
 */
static int cidr_parse(const char *s, struct cidr *c)
{
	const char *slash = strchr(s, '/');
	char *host = xstrndup(s, slash ? (size_t)(slash - s) : strlen(s));
	long bits;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	c->af = strchr(host, ':') ? AF_INET6 : AF_INET;
	c->bits = c->af == AF_INET ? 32 : 128;
	bits = c->bits;
	if (inet_pton(c->af, host, c->addr) != 1 ||
	    (slash && parse_long(slash + 1, 0, c->bits, &bits)))
		goto out;
	c->bits = (int)bits;
	rc = 0;
out:
	free(host);
	return rc;
}

/* The address with every bit past the prefix cleared. */
static void cidr_mask(const struct cidr *c, unsigned char out[16])
{
	int k;

	memcpy(out, c->addr, 16);
	for (k = 0; k < 16; k++) {
		int keep = c->bits - k * 8;

		if (keep >= 8)
			continue;
		out[k] &= keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
	}
}

int svc_cidr_contains(const char *cidr, const char *addr)
{
	struct cidr net, a;
	unsigned char x[16], y[16];

	if (cidr_parse(cidr, &net) || cidr_parse(addr, &a) || net.af != a.af ||
	    a.bits < net.bits)
		return 0;
	a.bits = net.bits; /* compare the network's bits only */
	cidr_mask(&net, x);
	cidr_mask(&a, y);
	return !memcmp(x, y, sizeof(x));
}

int svc_cidr_canonical(const char *s, char *out, size_t outlen, struct buf *why)
{
	struct cidr c;
	unsigned char masked[16];
	char text[INET6_ADDRSTRLEN];

	if (cidr_parse(s, &c)) {
		buf_addf(why, "'%.60s' is not a CIDR (a.b.c.d/n, n 0 to 32)",
			 s);
		return -1;
	}
	cidr_mask(&c, masked);
	inet_ntop(c.af, masked, text, sizeof(text));
	if (memcmp(masked, c.addr, sizeof(masked))) {
		buf_addf(why, "'%.60s' has host bits set: did you mean %s/%d?",
			 s, text, c.bits);
		return -1;
	}
	snprintf(out, outlen, "%s/%d", text, c.bits);
	return c.bits;
}

int svc_permission_covers_tcp(const struct ec2_permission *p, int port)
{
	if (!strcmp(p->protocol, "-1"))
		return 1;
	if (strcmp(p->protocol, "tcp") && strcmp(p->protocol, "6"))
		return 0;
	return p->from_port < 0 || (p->from_port <= port && p->to_port >= port);
}

const struct ec2_ip_range *
svc_group_admits_ssh(const struct ec2_security_group *g, const char *addr)
{
	size_t k, r;

	for (k = 0; k < g->ningress; k++) {
		const struct ec2_permission *p = &g->ingress[k];

		if (!svc_permission_covers_tcp(p, 22))
			continue;
		for (r = 0; r < p->nranges; r++)
			if (svc_cidr_contains(p->ranges[r].cidr, addr))
				return &p->ranges[r];
	}
	return NULL;
}

const struct ec2_ip_range *
svc_groups_admit_ssh(const struct ec2_security_group_list *gl, const char *addr,
		     const struct ec2_security_group **group)
{
	const struct ec2_ip_range *range;
	size_t g;

	for (g = 0; g < gl->n; g++) {
		range = svc_group_admits_ssh(&gl->items[g], addr);
		if (range) {
			if (group)
				*group = &gl->items[g];
			return range;
		}
	}
	return NULL;
}

int svc_instance_groups(struct svc_ctx *s, const struct ec2_instance *inst,
			struct ec2_security_group_list *gl,
			struct gpuctl_err *err)
{
	struct ec2_describe q = {0};
	const char **ids;
	size_t k, n = 0;
	int rc;

	if (!inst->ngroups)
		return 0;
	ids = xcalloc(inst->ngroups, sizeof(*ids));
	for (k = 0; k < inst->ngroups; k++)
		if (inst->groups[k].id)
			ids[n++] = inst->groups[k].id;
	q.ids = ids;
	q.nids = n;
	rc = n ? ec2_describe_security_groups(s->ec2, &q, gl, err) : 0;
	free(ids);
	return rc;
}

struct checkip {
	const char *url;
};

static int checkip_prepare(void *ctx, long long now, struct http_request *req,
			   struct gpuctl_err *err)
{
	struct checkip *c = ctx;

	(void)now;
	(void)err;
	req->method = "GET";
	req->url = c->url;
	return 0;
}

int svc_caller_ip(struct svc_ctx *s, char **ip, struct gpuctl_err *err)
{
	const char *fixed = env_get(s->envp, "GPUCTL_CALLER_IP");
	struct checkip c = {"https://checkip.amazonaws.com/"};
	struct http_exchange x = {checkip_prepare, NULL, &c};
	struct http_options o = {0};
	struct http_response resp;
	struct http_client *h = NULL;
	struct in_addr a;
	char text[INET_ADDRSTRLEN];
	size_t n;
	int rc = -1;

	*ip = NULL;
	if (fixed) {
		if (inet_pton(AF_INET, fixed, &a) != 1)
			return err_set(err, GPUCTL_ERR_CONFIG,
				       "GPUCTL_CALLER_IP '%.64s' is not an "
				       "IPv4 address",
				       fixed);
		*ip = xstrdup(fixed);
		return 0;
	}
	o.ca_bundle = s->ca_bundle;
	o.timeout_ms = 10000;
	o.max_attempts = 3;
	o.max_response = 1024;
	http_response_init(&resp);
	h = http_client_new(&o, err);
	if (!h || http_send(h, &x, &resp, err))
		goto fail;
	n = strcspn(resp.body.data, "\r\n \t");
	if (resp.status != 200 || n >= sizeof(text)) {
		err_set(err, GPUCTL_ERR_NETWORK, "%s answered HTTP %ld", c.url,
			resp.status);
		goto fail;
	}
	memcpy(text, resp.body.data, n);
	text[n] = '\0';
	if (inet_pton(AF_INET, text, &a) != 1) {
		err_set(err, GPUCTL_ERR_NETWORK,
			"%s did not answer with an IPv4 address", c.url);
		goto fail;
	}
	*ip = xstrdup(text);
	rc = 0;
	goto out;
fail:
	err_prefix(err, "cannot learn this machine's public IP address");
	err_hint(err, "pass --allow CIDR (e.g. --allow 203.0.113.7/32)");
out:
	http_response_release(&resp);
	http_client_free(h);
	return rc;
}

void svc_rule_list_release(struct svc_rule_list *l)
{
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static void rule_add(struct svc_rule_list *l, int egress,
		     const struct ec2_security_group *g,
		     const struct ec2_permission *p, const char *cidr,
		     const char *description)
{
	struct svc_rule *r;

	l->items = xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
	r = &l->items[l->n++];
	r->egress = egress;
	r->group_id = g->id;
	r->protocol = p->protocol;
	r->from_port = p->from_port;
	r->to_port = p->to_port;
	r->cidr = cidr;
	r->description = description;
}

static void group_rules(const struct ec2_security_group *g, int egress,
			struct svc_rule_list *out)
{
	const struct ec2_permission *perms = egress ? g->egress : g->ingress;
	size_t np = egress ? g->negress : g->ningress, k, r;

	for (k = 0; k < np; k++) {
		const struct ec2_permission *p = &perms[k];

		for (r = 0; r < p->nranges; r++)
			rule_add(out, egress, g, p, p->ranges[r].cidr,
				 p->ranges[r].description);
		for (r = 0; r < p->ngroups; r++)
			rule_add(out, egress, g, p,
				 p->groups[r].id ? p->groups[r].id
						 : p->groups[r].name,
				 NULL);
		if (!p->nranges && !p->ngroups)
			rule_add(out, egress, g, p, NULL, NULL);
	}
}

void svc_rules_of(const struct ec2_instance *inst,
		  const struct ec2_security_group_list *gl,
		  struct svc_rule_list *out)
{
	size_t i, k;

	for (i = 0; i < inst->ngroups; i++)
		for (k = 0; k < gl->n; k++)
			if (inst->groups[i].id &&
			    !strcmp(gl->items[k].id, inst->groups[i].id)) {
				group_rules(&gl->items[k], 0, out);
				group_rules(&gl->items[k], 1, out);
			}
}

const struct ec2_security_group *
svc_rules_group(const struct ec2_security_group_list *gl,
		const struct ec2_instance *inst)
{
	const struct ec2_security_group *first = NULL;
	size_t i, k, t;

	for (i = 0; i < inst->ngroups; i++)
		for (k = 0; k < gl->n; k++) {
			const struct ec2_security_group *g = &gl->items[k];

			if (!inst->groups[i].id ||
			    strcmp(g->id, inst->groups[i].id))
				continue;
			if (!first)
				first = g;
			if (g->name && starts_with(g->name, "gpuctl-"))
				return g;
			for (t = 0; t < g->ntags; t++)
				if (!strcmp(g->tags[t].key, SVC_MANAGED_TAG))
					return g;
		}
	return first;
}

int svc_rule_change(struct svc_ctx *s, int add, const struct svc_rule *r,
		    struct gpuctl_err *err)
{
	struct ec2_rule rule = {0};
	int rc;

	rule.protocol = r->protocol;
	rule.from_port = r->from_port;
	rule.to_port = r->to_port;
	rule.cidr = r->cidr;
	rule.description = add ? r->description : NULL;
	if (add && r->egress)
		rc = ec2_authorize_egress(s->ec2, r->group_id, &rule, err);
	else if (add)
		rc = ec2_authorize_ingress(s->ec2, r->group_id, &rule, err);
	else if (r->egress)
		rc = ec2_revoke_egress(s->ec2, r->group_id, &rule, err);
	else
		rc = ec2_revoke_ingress(s->ec2, r->group_id, &rule, err);
	if (rc && err->code &&
	    !strcmp(err->code, "InvalidPermission.Duplicate"))
		err_hint(err, "the rule is already there (see 'gpuctl rules')");
	else if (rc && err->code &&
		 !strcmp(err->code, "InvalidPermission.NotFound"))
		err_hint(err, "no rule matches exactly: see 'gpuctl rules' for "
			      "its protocol, ports and CIDR");
	return rc;
}

int svc_rule_opens_ssh_to_world(int egress, const char *protocol, int from,
				int to, int prefix)
{
	if (egress || prefix != 0)
		return 0;
	if (!strcmp(protocol, "-1"))
		return 1;
	return !strcmp(protocol, "tcp") && from <= 22 && to >= 22;
}
