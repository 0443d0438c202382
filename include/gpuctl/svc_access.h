/*
 * svc_access: who may reach an instance.  THE check "does this security
 * group admit SSH from this address" (launch, the login diagnosis and
 * doctor all ask it, and get one answer), CIDR helpers, the caller's
 * public IP, and the rules of an instance's security groups for `rules`.
 *
 * Ownership: arguments are borrowed.  Pointers returned into a group list
 * are borrowed from it; a struct svc_rule_list borrows its strings from
 * the group list it was made from and is freed with
 * svc_rule_list_release().  *ip belongs to the caller.
 */
#ifndef GPUCTL_SVC_ACCESS_H
#define GPUCTL_SVC_ACCESS_H

#include <stddef.h>

#include "gpuctl/ec2.h"
#include "gpuctl/svc.h"

/*
 * 1 when cidr (IPv4 a.b.c.d/n or IPv6; a bare address is a /32 or /128)
 * contains addr: an address, or a network (a CIDR) all of whose addresses
 * it holds.  0 when it does not, or when either is not readable.
 */
int svc_cidr_contains(const char *cidr, const char *addr);

/*
 * Checks a CIDR a user wrote and writes it in canonical form into out
 * (outlen bytes; a bare address becomes a /32 or /128).  Returns the
 * prefix length, or -1 with why filled: not a CIDR, or host bits set
 * ("did you mean 203.0.113.0/24?").
 */
int svc_cidr_canonical(const char *s, char *out, size_t outlen,
		       struct buf *why);

/*
 * 1 when permission p covers TCP port: protocol "-1" (all traffic), or
 * "tcp" (or "6") with a port range holding it (ports -1: all of them).
 */
int svc_permission_covers_tcp(const struct ec2_permission *p, int port);

/*
 * THE group-admits-SSH check: the first inbound range of g that covers
 * TCP 22 (as above) and contains addr (an address or a CIDR, IPv4 or
 * IPv6), or NULL when none does.
 */
const struct ec2_ip_range *
svc_group_admits_ssh(const struct ec2_security_group *g, const char *addr);
/* The same over several groups; *group (may be NULL) gets the one. */
const struct ec2_ip_range *
svc_groups_admit_ssh(const struct ec2_security_group_list *gl, const char *addr,
		     const struct ec2_security_group **group);

/*
 * The security groups of inst, described, appended to gl (nothing, and
 * no request, when it has none).
 */
int svc_instance_groups(struct svc_ctx *s, const struct ec2_instance *inst,
			struct ec2_security_group_list *gl,
			struct gpuctl_err *err);

/*
 * The caller's public IPv4 address as a.b.c.d: GPUCTL_CALLER_IP from
 * s->envp when set (tests), else https://checkip.amazonaws.com.
 */
int svc_caller_ip(struct svc_ctx *s, char **ip, struct gpuctl_err *err);

/* One rule of a security group, one source a rule. */
struct svc_rule {
	int egress;
	const char *group_id;
	const char *protocol; /* "tcp", "udp", "icmp", "-1" (all), ... */
	int from_port;	      /* -1: none (all) */
	int to_port;
	const char *cidr; /* a CIDR, a source group's ID (or name), or NULL */
	const char *description; /* or NULL */
};

struct svc_rule_list {
	struct svc_rule *items;
	size_t n;
};
void svc_rule_list_release(struct svc_rule_list *l);

/*
 * The rules of inst's groups in gl, in the instance's order of groups,
 * each group's inbound rules first: one per CIDR, one per source group,
 * and one with no source for a permission that has neither.
 */
void svc_rules_of(const struct ec2_instance *inst,
		  const struct ec2_security_group_list *gl,
		  struct svc_rule_list *out);

/*
 * The group a rule change goes to: of inst's groups in gl, the one gpuctl
 * made (named gpuctl-* or tagged SVC_MANAGED_TAG), else the first; NULL
 * when it has none.
 */
const struct ec2_security_group *
svc_rules_group(const struct ec2_security_group_list *gl,
		const struct ec2_instance *inst);

/*
 * Adds (add) or removes rule r (r->group_id, direction, protocol, ports,
 * r->cidr; the description only when adding).  A duplicate or a rule not
 * found gets a hint.
 */
int svc_rule_change(struct svc_ctx *s, int add, const struct svc_rule *r,
		    struct gpuctl_err *err);

/*
 * 1 when an inbound rule for protocol (normalised: "tcp", "udp", "icmp",
 * "-1") and ports from-to from a /prefix would let the whole internet
 * (prefix 0) reach port 22.
 */
int svc_rule_opens_ssh_to_world(int egress, const char *protocol, int from,
				int to, int prefix);

#endif
