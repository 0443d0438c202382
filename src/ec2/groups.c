/*
 * Security groups (create, describe, authorize, revoke, delete), VPCs and
 * subnets.
 */
#include "ec2_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- security groups ---- */

static void refs_free(struct ec2_group_ref *g, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(g[i].id);
		free(g[i].name);
		free(g[i].user_id);
	}
	free(g);
}

static void perms_free(struct ec2_permission *p, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		free(p[i].protocol);
		for (j = 0; j < p[i].nranges; j++) {
			free(p[i].ranges[j].cidr);
			free(p[i].ranges[j].description);
		}
		free(p[i].ranges);
		refs_free(p[i].groups, p[i].ngroups);
	}
	free(p);
}

void ec2_security_group_list_release(struct ec2_security_group_list *l)
{
	size_t i;
	struct ec2_security_group *g;

	for (i = 0; i < l->n; i++) {
		g = &l->items[i];
		free(g->id);
		free(g->name);
		free(g->description);
		free(g->vpc_id);
		free(g->owner_id);
		perms_free(g->ingress, g->ningress);
		perms_free(g->egress, g->negress);
		ec2_tags_free(g->tags, g->ntags);
	}
	free(l->items);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

static int ranges_from(struct ec2_doc *d, xmlNode *set, const char *field,
		       struct ec2_permission *p, struct gpuctl_err *err)
{
	xmlNode *it = NULL;
	struct ec2_ip_range *r;

	while ((it = ec2_xml_item(set, it))) {
		r = EC2_APPEND(p->ranges, p->nranges);
		if (ec2_xml_need(d, it, field, &r->cidr, err))
			return -1;
		r->description = ec2_xml_text_ne(it, "description");
	}
	return 0;
}

static int perms_from(struct ec2_doc *d, xmlNode *set,
		      struct ec2_permission **perms, size_t *n,
		      struct gpuctl_err *err)
{
	xmlNode *it = NULL, *gs, *g;
	struct ec2_permission *p;
	struct ec2_group_ref *ref;

	while ((it = ec2_xml_item(set, it))) {
		p = EC2_APPEND(*perms, *n);
		p->from_port = -1;
		p->to_port = -1;
		if (ec2_xml_need(d, it, "ipProtocol", &p->protocol, err) ||
		    ec2_xml_int(d, it, "fromPort", -1, 65535, &p->from_port,
				err) ||
		    ec2_xml_int(d, it, "toPort", -1, 65535, &p->to_port, err))
			return -1;
		if (ranges_from(d, ec2_xml_child(it, "ipRanges"), "cidrIp", p,
				err) ||
		    ranges_from(d, ec2_xml_child(it, "ipv6Ranges"), "cidrIpv6",
				p, err))
			return -1;
		gs = ec2_xml_child(it, "groups");
		for (g = ec2_xml_item(gs, NULL); g; g = ec2_xml_item(gs, g)) {
			ref = EC2_APPEND(p->groups, p->ngroups);
			ref->id = ec2_xml_text_ne(g, "groupId");
			ref->name = ec2_xml_text_ne(g, "groupName");
			ref->user_id = ec2_xml_text_ne(g, "userId");
		}
	}
	return 0;
}

static int group_from(struct ec2_doc *d, xmlNode *it,
		      struct ec2_security_group *g, struct gpuctl_err *err)
{
	if (ec2_xml_need(d, it, "groupId", &g->id, err))
		return -1;
	g->name = ec2_xml_text_ne(it, "groupName");
	g->description = ec2_xml_text(it, "groupDescription");
	g->vpc_id = ec2_xml_text_ne(it, "vpcId");
	g->owner_id = ec2_xml_text_ne(it, "ownerId");
	if (perms_from(d, ec2_xml_child(it, "ipPermissions"), &g->ingress,
		       &g->ningress, err) ||
	    perms_from(d, ec2_xml_child(it, "ipPermissionsEgress"), &g->egress,
		       &g->negress, err))
		return -1;
	return ec2_xml_tags(d, it, &g->tags, &g->ntags, err);
}

int ec2_parse_describe_security_groups(const char *xml, size_t len,
				       struct ec2_security_group_list *out,
				       struct gpuctl_err *err)
{
	struct ec2_doc d;
	xmlNode *set, *it = NULL;
	int rc = -1;

	if (ec2_xml_open(&d, "DescribeSecurityGroups", xml, len, err))
		return -1;
	set = ec2_xml_child(d.root, "securityGroupInfo");
	while ((it = ec2_xml_item(set, it)))
		if (group_from(&d, it, EC2_APPEND(out->items, out->n), err))
			goto out;
	ec2_xml_next_token(d.root, &out->next_token);
	rc = 0;
out:
	ec2_xml_close(&d, 0);
	return rc;
}

static int parse_groups(const char *xml, size_t len, void *out,
			struct gpuctl_err *err)
{
	return ec2_parse_describe_security_groups(xml, len, out, err);
}

int ec2_describe_security_groups(struct ec2_client *c,
				 const struct ec2_describe *q,
				 struct ec2_security_group_list *out,
				 struct gpuctl_err *err)
{
	struct ec2_req r;
	int rc;

	ec2_req_init(&r);
	ec2_req_describe(&r, q, "GroupId", "GroupName");
	rc = ec2_req_pages(c, "DescribeSecurityGroups", &r, parse_groups, out,
			   &out->next_token, err);
	ec2_req_release(&r);
	return rc;
}

int ec2_parse_create_security_group(const char *xml, size_t len,
				    char **group_id, struct gpuctl_err *err)
{
	struct ec2_doc d;
	char *id = NULL;
	int rc = -1;

	if (ec2_xml_open(&d, "CreateSecurityGroup", xml, len, err))
		return -1;
	if (ec2_xml_need(&d, d.root, "groupId", &id, err))
		goto out;
	*group_id = id;
	rc = 0;
out:
	ec2_xml_close(&d, 0);
	return rc;
}

int ec2_create_security_group(struct ec2_client *c, const char *name,
			      const char *description, const char *vpc_id,
			      const struct ec2_param *tags, size_t ntags,
			      char **group_id, struct gpuctl_err *err)
{
	struct ec2_req r;
	struct buf body = BUF_INIT;
	int rc = -1;

	ec2_req_init(&r);
	ec2_req_add(&r, "GroupName", name);
	ec2_req_add(&r, "GroupDescription", description ? description : name);
	if (vpc_id)
		ec2_req_add(&r, "VpcId", vpc_id);
	ec2_req_tag_spec(&r, 1, "security-group", tags, ntags);
	if (ec2_req_call(c, "CreateSecurityGroup", &r, &body, err))
		goto out;
	if (ec2_parse_create_security_group(body.data, body.len, group_id, err))
		goto out;
	rc = 0;
out:
	buf_release(&body);
	ec2_req_release(&r);
	return rc;
}

static int rule_call(struct ec2_client *c, const char *action,
		     const char *group_id, const struct ec2_rule *rule,
		     struct gpuctl_err *err)
{
	struct ec2_req r;
	char num[16];
	int all, v6, rc;

	if (!group_id || !rule || !rule->protocol || !rule->cidr)
		return err_set(err, GPUCTL_ERR_USAGE,
			       "%s: a group, a protocol and a CIDR are needed",
			       action);
	all = !strcmp(rule->protocol, "-1") || !strcmp(rule->protocol, "all");
	v6 = strchr(rule->cidr, ':') != NULL;
	ec2_req_init(&r);
	ec2_req_add(&r, "GroupId", group_id);
	ec2_req_add(&r, "IpPermissions.1.IpProtocol",
		    all ? "-1" : rule->protocol);
	if (!all) {
		snprintf(num, sizeof(num), "%d", rule->from_port);
		ec2_req_add(&r, "IpPermissions.1.FromPort", num);
		snprintf(num, sizeof(num), "%d", rule->to_port);
		ec2_req_add(&r, "IpPermissions.1.ToPort", num);
	}
	ec2_req_add(&r,
		    v6 ? "IpPermissions.1.Ipv6Ranges.1.CidrIpv6"
		       : "IpPermissions.1.IpRanges.1.CidrIp",
		    rule->cidr);
	if (rule->description)
		ec2_req_add(&r,
			    v6 ? "IpPermissions.1.Ipv6Ranges.1.Description"
			       : "IpPermissions.1.IpRanges.1.Description",
			    rule->description);
	rc = ec2_req_simple(c, action, &r, err);
	ec2_req_release(&r);
	return rc;
}

int ec2_authorize_ingress(struct ec2_client *c, const char *group_id,
			  const struct ec2_rule *rule, struct gpuctl_err *err)
{
	return rule_call(c, "AuthorizeSecurityGroupIngress", group_id, rule,
			 err);
}

int ec2_authorize_egress(struct ec2_client *c, const char *group_id,
			 const struct ec2_rule *rule, struct gpuctl_err *err)
{
	return rule_call(c, "AuthorizeSecurityGroupEgress", group_id, rule,
			 err);
}

int ec2_revoke_ingress(struct ec2_client *c, const char *group_id,
		       const struct ec2_rule *rule, struct gpuctl_err *err)
{
	return rule_call(c, "RevokeSecurityGroupIngress", group_id, rule, err);
}

int ec2_revoke_egress(struct ec2_client *c, const char *group_id,
		      const struct ec2_rule *rule, struct gpuctl_err *err)
{
	return rule_call(c, "RevokeSecurityGroupEgress", group_id, rule, err);
}

int ec2_delete_security_group(struct ec2_client *c, const char *group_id,
			      struct gpuctl_err *err)
{
	struct ec2_req r;
	int rc;

	ec2_req_init(&r);
	ec2_req_add(&r, "GroupId", group_id);
	rc = ec2_req_simple(c, "DeleteSecurityGroup", &r, err);
	ec2_req_release(&r);
	return rc;
}

/* ---- VPCs ---- */

void ec2_vpc_list_release(struct ec2_vpc_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->items[i].id);
		free(l->items[i].cidr_block);
		free(l->items[i].state);
		free(l->items[i].owner_id);
		ec2_tags_free(l->items[i].tags, l->items[i].ntags);
	}
	free(l->items);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

int ec2_parse_describe_vpcs(const char *xml, size_t len,
			    struct ec2_vpc_list *out, struct gpuctl_err *err)
{
	struct ec2_doc d;
	xmlNode *set, *it = NULL;
	struct ec2_vpc *v;
	int rc = -1;

	if (ec2_xml_open(&d, "DescribeVpcs", xml, len, err))
		return -1;
	set = ec2_xml_child(d.root, "vpcSet");
	while ((it = ec2_xml_item(set, it))) {
		v = EC2_APPEND(out->items, out->n);
		if (ec2_xml_need(&d, it, "vpcId", &v->id, err))
			goto out;
		v->cidr_block = ec2_xml_text_ne(it, "cidrBlock");
		v->state = ec2_xml_text_ne(it, "state");
		v->owner_id = ec2_xml_text_ne(it, "ownerId");
		v->is_default = ec2_xml_bool(it, "isDefault");
		if (ec2_xml_tags(&d, it, &v->tags, &v->ntags, err))
			goto out;
	}
	ec2_xml_next_token(d.root, &out->next_token);
	rc = 0;
out:
	ec2_xml_close(&d, 0);
	return rc;
}

static int parse_vpcs(const char *xml, size_t len, void *out,
		      struct gpuctl_err *err)
{
	return ec2_parse_describe_vpcs(xml, len, out, err);
}

int ec2_describe_vpcs(struct ec2_client *c, const struct ec2_describe *q,
		      struct ec2_vpc_list *out, struct gpuctl_err *err)
{
	struct ec2_req r;
	int rc;

	ec2_req_init(&r);
	ec2_req_describe(&r, q, "VpcId", NULL);
	rc = ec2_req_pages(c, "DescribeVpcs", &r, parse_vpcs, out,
			   &out->next_token, err);
	ec2_req_release(&r);
	return rc;
}

/* ---- subnets ---- */

void ec2_subnet_list_release(struct ec2_subnet_list *l)
{
	size_t i;
	struct ec2_subnet *s;

	for (i = 0; i < l->n; i++) {
		s = &l->items[i];
		free(s->id);
		free(s->vpc_id);
		free(s->availability_zone);
		free(s->availability_zone_id);
		free(s->cidr_block);
		free(s->state);
		ec2_tags_free(s->tags, s->ntags);
	}
	free(l->items);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

int ec2_parse_describe_subnets(const char *xml, size_t len,
			       struct ec2_subnet_list *out,
			       struct gpuctl_err *err)
{
	struct ec2_doc d;
	xmlNode *set, *it = NULL;
	struct ec2_subnet *s;
	int rc = -1;

	if (ec2_xml_open(&d, "DescribeSubnets", xml, len, err))
		return -1;
	set = ec2_xml_child(d.root, "subnetSet");
	while ((it = ec2_xml_item(set, it))) {
		s = EC2_APPEND(out->items, out->n);
		if (ec2_xml_need(&d, it, "subnetId", &s->id, err))
			goto out;
		s->vpc_id = ec2_xml_text_ne(it, "vpcId");
		s->availability_zone = ec2_xml_text_ne(it, "availabilityZone");
		s->availability_zone_id =
		    ec2_xml_text_ne(it, "availabilityZoneId");
		s->cidr_block = ec2_xml_text_ne(it, "cidrBlock");
		s->state = ec2_xml_text_ne(it, "state");
		s->default_for_az = ec2_xml_bool(it, "defaultForAz");
		s->map_public_ip_on_launch =
		    ec2_xml_bool(it, "mapPublicIpOnLaunch");
		if (ec2_xml_long(&d, it, "availableIpAddressCount", 0, 1L << 32,
				 &s->available_ips, err) ||
		    ec2_xml_tags(&d, it, &s->tags, &s->ntags, err))
			goto out;
	}
	ec2_xml_next_token(d.root, &out->next_token);
	rc = 0;
out:
	ec2_xml_close(&d, 0);
	return rc;
}

static int parse_subnets(const char *xml, size_t len, void *out,
			 struct gpuctl_err *err)
{
	return ec2_parse_describe_subnets(xml, len, out, err);
}

int ec2_describe_subnets(struct ec2_client *c, const struct ec2_describe *q,
			 struct ec2_subnet_list *out, struct gpuctl_err *err)
{
	struct ec2_req r;
	int rc;

	ec2_req_init(&r);
	ec2_req_describe(&r, q, "SubnetId", NULL);
	rc = ec2_req_pages(c, "DescribeSubnets", &r, parse_subnets, out,
			   &out->next_token, err);
	ec2_req_release(&r);
	return rc;
}
