/*
 * Tests of svc/ that need no EC2: the one group-admits-SSH check and the
 * CIDR helpers under it, rules, the poll loop, the login-user guess, the
 * root volume rule, instance lists, user data, the caller's IP.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpuctl/svc.h"
#include "gpuctl/svc_access.h"
#include "gpuctl/svc_ami.h"
#include "gpuctl/svc_inventory.h"
#include "gpuctl/svc_provision.h"

static void test_cidr_contains(void **state)
{
	(void)state;
	assert_true(svc_cidr_contains("203.0.113.0/24", "203.0.113.7"));
	assert_false(svc_cidr_contains("203.0.113.0/24", "203.0.114.7"));
	assert_true(svc_cidr_contains("203.0.113.7/32", "203.0.113.7"));
	assert_true(svc_cidr_contains("203.0.113.7", "203.0.113.7"));
	assert_true(svc_cidr_contains("0.0.0.0/0", "198.51.100.1"));
	/* host bits in the rule do not matter */
	assert_true(svc_cidr_contains("203.0.113.9/24", "203.0.113.200"));
	/* a network inside a network, not the other way round */
	assert_true(svc_cidr_contains("203.0.113.0/24", "203.0.113.7/32"));
	assert_true(svc_cidr_contains("203.0.0.0/16", "203.0.113.0/24"));
	assert_false(svc_cidr_contains("203.0.113.0/24", "203.0.0.0/16"));
	/* IPv6, and no mixing of the families */
	assert_true(svc_cidr_contains("2001:db8::/32", "2001:db8:1::7"));
	assert_false(svc_cidr_contains("2001:db8::/32", "2001:db9::7"));
	assert_true(svc_cidr_contains("::/0", "2001:db8::1"));
	assert_true(svc_cidr_contains("2001:db8::/48", "2001:db8:0:1::/64"));
	assert_false(svc_cidr_contains("::/0", "203.0.113.7"));
	assert_false(svc_cidr_contains("0.0.0.0/0", "2001:db8::1"));
	/* not CIDRs */
	assert_false(svc_cidr_contains("203.0.113.0/33", "203.0.113.7"));
	assert_false(svc_cidr_contains("nonsense", "203.0.113.7"));
	assert_false(svc_cidr_contains("203.0.113.0/24", ""));
	assert_false(svc_cidr_contains("203.0.113.0/x", "203.0.113.7"));
}

static void test_cidr_canonical(void **state)
{
	struct buf why = BUF_INIT;
	char out[64];

	(void)state;
	assert_int_equal(
	    svc_cidr_canonical("203.0.113.7", out, sizeof(out), &why), 32);
	assert_string_equal(out, "203.0.113.7/32");
	assert_int_equal(
	    svc_cidr_canonical("198.51.100.0/24", out, sizeof(out), &why), 24);
	assert_string_equal(out, "198.51.100.0/24");
	assert_int_equal(
	    svc_cidr_canonical("0.0.0.0/0", out, sizeof(out), &why), 0);
	assert_int_equal(
	    svc_cidr_canonical("2001:DB8::/32", out, sizeof(out), &why), 32);
	assert_string_equal(out, "2001:db8::/32");
	assert_int_equal(why.len, 0);
	assert_int_equal(
	    svc_cidr_canonical("203.0.113.7/24", out, sizeof(out), &why), -1);
	assert_string_equal(why.data, "'203.0.113.7/24' has host bits set: "
				      "did you mean 203.0.113.0/24?");
	buf_reset(&why);
	assert_int_equal(
	    svc_cidr_canonical("2001:db8::1/64", out, sizeof(out), &why), -1);
	assert_string_equal(why.data, "'2001:db8::1/64' has host bits set: "
				      "did you mean 2001:db8::/64?");
	buf_reset(&why);
	assert_int_equal(
	    svc_cidr_canonical("203.0.113.0/40", out, sizeof(out), &why), -1);
	assert_string_equal(why.data, "'203.0.113.0/40' is not a CIDR "
				      "(a.b.c.d/n, n 0 to 32)");
	buf_release(&why);
}

static struct ec2_permission perm(char *proto, int from, int to,
				  struct ec2_ip_range *ranges, size_t n)
{
	struct ec2_permission p = {0};

	p.protocol = proto;
	p.from_port = from;
	p.to_port = to;
	p.ranges = ranges;
	p.nranges = n;
	return p;
}

static void test_permission_covers_tcp(void **state)
{
	struct ec2_permission p;

	(void)state;
	p = perm("-1", -1, -1, NULL, 0);
	assert_true(svc_permission_covers_tcp(&p, 22));
	p = perm("tcp", 22, 22, NULL, 0);
	assert_true(svc_permission_covers_tcp(&p, 22));
	assert_false(svc_permission_covers_tcp(&p, 443));
	p = perm("6", 0, 65535, NULL, 0);
	assert_true(svc_permission_covers_tcp(&p, 22));
	p = perm("tcp", -1, -1, NULL, 0);
	assert_true(svc_permission_covers_tcp(&p, 443));
	p = perm("tcp", 80, 443, NULL, 0);
	assert_false(svc_permission_covers_tcp(&p, 22));
	assert_true(svc_permission_covers_tcp(&p, 443));
	p = perm("udp", 22, 22, NULL, 0);
	assert_false(svc_permission_covers_tcp(&p, 22));
	p = perm("icmp", -1, -1, NULL, 0);
	assert_false(svc_permission_covers_tcp(&p, 22));
}

/*
 * The three copies this replaced disagreed: launch took exact CIDRs and
 * tcp only, the login diagnosis tcp only, doctor also "6" and ports -1.
 * One answer now, whoever asks.
 */
static void test_group_admits_ssh(void **state)
{
	struct ec2_ip_range r_udp[] = {{"0.0.0.0/0", NULL}};
	struct ec2_ip_range r_web[] = {{"0.0.0.0/0", NULL}};
	struct ec2_ip_range r_net[] = {{"2001:db8::/32", NULL},
				       {"198.51.100.0/24", "office"}};
	struct ec2_ip_range r_six[] = {{"203.0.113.7/32", NULL}};
	struct ec2_permission g1_in[] = {
	    perm("udp", 22, 22, r_udp, 1),
	    perm("tcp", 80, 443, r_web, 1),
	    perm("tcp", 22, 22, r_net, 2),
	};
	struct ec2_permission g2_in[] = {
	    perm("6", -1, -1, r_six, 1),
	};
	struct ec2_security_group g[2];
	struct ec2_security_group_list gl;
	const struct ec2_security_group *which = NULL;
	const struct ec2_ip_range *r;

	(void)state;
	memset(g, 0, sizeof(g));
	g[0].id = "sg-1";
	g[0].ingress = g1_in;
	g[0].ningress = 3;
	g[1].id = "sg-2";
	g[1].ingress = g2_in;
	g[1].ningress = 1;
	gl.items = g;
	gl.n = 2;
	gl.next_token = NULL;

	/* containment, not equality; the range that admits is returned */
	r = svc_group_admits_ssh(&g[0], "198.51.100.7");
	assert_non_null(r);
	assert_string_equal(r->cidr, "198.51.100.0/24");
	assert_non_null(svc_group_admits_ssh(&g[0], "198.51.100.7/32"));
	assert_non_null(svc_group_admits_ssh(&g[0], "198.51.100.0/25"));
	assert_null(svc_group_admits_ssh(&g[0], "198.51.0.0/16"));
	/* udp 22 and tcp 80-443 open to all do not admit SSH */
	assert_null(svc_group_admits_ssh(&g[0], "203.0.113.7"));
	/* IPv6 */
	assert_non_null(svc_group_admits_ssh(&g[0], "2001:db8::42"));
	/* protocol "6" with no ports */
	assert_non_null(svc_group_admits_ssh(&g[1], "203.0.113.7"));
	assert_non_null(svc_group_admits_ssh(&g[1], "203.0.113.7/32"));
	assert_null(svc_group_admits_ssh(&g[1], "203.0.113.8"));
	/* over the list: which group */
	r = svc_groups_admit_ssh(&gl, "203.0.113.7", &which);
	assert_non_null(r);
	assert_string_equal(which->id, "sg-2");
	assert_null(svc_groups_admit_ssh(&gl, "192.0.2.1", &which));
	assert_non_null(svc_groups_admit_ssh(&gl, "198.51.100.9", NULL));
}

static void test_rules_of_and_group(void **state)
{
	struct ec2_ip_range ranges[] = {{"203.0.113.7/32", "me"},
					{"2001:db8::/32", NULL}};
	struct ec2_group_ref refs[] = {{"sg-src", "src", NULL},
				       {NULL, "by-name", NULL}};
	struct ec2_permission in1[] = {perm("tcp", 22, 22, ranges, 2)};
	struct ec2_permission out1[] = {perm("-1", -1, -1, NULL, 0)};
	struct ec2_permission in2[] = {perm("tcp", 80, 80, NULL, 0)};
	struct ec2_tag tag = {SVC_MANAGED_TAG, "true"};
	struct ec2_security_group g[2];
	struct ec2_security_group_list gl;
	struct ec2_group_ref inst_groups[] = {{"sg-b", NULL, NULL},
					      {"sg-a", NULL, NULL}};
	struct ec2_instance inst;
	struct svc_rule_list rules = {0};

	(void)state;
	in2[0].groups = refs;
	in2[0].ngroups = 2;
	memset(g, 0, sizeof(g));
	memset(&inst, 0, sizeof(inst));
	g[0].id = "sg-a";
	g[0].name = "default";
	g[0].ingress = in1;
	g[0].ningress = 1;
	g[0].egress = out1;
	g[0].negress = 1;
	g[1].id = "sg-b";
	g[1].name = "other";
	g[1].ingress = in2;
	g[1].ningress = 1;
	gl.items = g;
	gl.n = 2;
	gl.next_token = NULL;
	inst.id = "i-0123456789abcdef0";
	inst.groups = inst_groups;
	inst.ngroups = 2;

	/* the instance's order of groups (sg-b first), inbound first */
	svc_rules_of(&inst, &gl, &rules);
	assert_int_equal(rules.n, 5);
	assert_string_equal(rules.items[0].group_id, "sg-b");
	assert_string_equal(rules.items[0].cidr, "sg-src");
	assert_string_equal(rules.items[1].cidr, "by-name");
	assert_null(rules.items[1].description);
	assert_string_equal(rules.items[2].cidr, "203.0.113.7/32");
	assert_string_equal(rules.items[2].description, "me");
	assert_false(rules.items[2].egress);
	assert_string_equal(rules.items[3].cidr, "2001:db8::/32");
	assert_true(rules.items[4].egress);
	assert_null(rules.items[4].cidr);
	assert_string_equal(rules.items[4].protocol, "-1");
	svc_rule_list_release(&rules);

	/* no gpuctl group: the first of the instance's */
	assert_string_equal(svc_rules_group(&gl, &inst)->id, "sg-b");
	/* a tagged one wins, and so does one named gpuctl-* */
	g[0].tags = &tag;
	g[0].ntags = 1;
	assert_string_equal(svc_rules_group(&gl, &inst)->id, "sg-a");
	g[0].tags = NULL;
	g[0].ntags = 0;
	g[0].name = "gpuctl-ssh";
	assert_string_equal(svc_rules_group(&gl, &inst)->id, "sg-a");
	inst.ngroups = 0;
	assert_null(svc_rules_group(&gl, &inst));
}

static void test_opens_ssh_to_world(void **state)
{
	(void)state;
	assert_true(svc_rule_opens_ssh_to_world(0, "tcp", 22, 22, 0));
	assert_true(svc_rule_opens_ssh_to_world(0, "tcp", 0, 65535, 0));
	assert_true(svc_rule_opens_ssh_to_world(0, "-1", -1, -1, 0));
	assert_false(svc_rule_opens_ssh_to_world(0, "tcp", 22, 22, 32));
	assert_false(svc_rule_opens_ssh_to_world(1, "tcp", 22, 22, 0));
	assert_false(svc_rule_opens_ssh_to_world(0, "tcp", 443, 443, 0));
	assert_false(svc_rule_opens_ssh_to_world(0, "udp", 22, 22, 0));
}

/* A poll check that counts its looks and answers from a script. */
struct script {
	int answers[4];
	int looks;
};

static int scripted(void *arg, struct buf *status, struct gpuctl_err *err)
{
	struct script *s = arg;
	int a = s->answers[s->looks++];

	buf_addf(status, "look %d", s->looks);
	if (a < 0)
		err_set(err, GPUCTL_ERR_OTHER, "it broke");
	return a;
}

struct reports {
	int progress, done;
	char last[64];
};

static void on_progress(void *arg, const char *what, double elapsed_s)
{
	struct reports *r = arg;

	(void)elapsed_s;
	r->progress++;
	snprintf(r->last, sizeof(r->last), "%s", what);
}

static void on_done(void *arg)
{
	((struct reports *)arg)->done++;
}

static void test_poll(void **state)
{
	struct reports rep = {0};
	struct svc_ctx s;
	struct script sc = {{1, 0, 0, 0}, 0};
	struct svc_poll p = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.report.progress = on_progress;
	s.report.done = on_done;
	s.report.arg = &rep;
	p.check = scripted;
	p.arg = &sc;
	p.waiting_for = "the test";
	p.timeout_hint = "wait longer";

	/* over at the first look: no progress, one done */
	assert_int_equal(svc_poll(&s, &p, &err), 0);
	assert_int_equal(sc.looks, 1);
	assert_int_equal(rep.progress, 0);
	assert_int_equal(rep.done, 1);

	/* a failed look stops it with its error */
	sc = (struct script){{-1, 0, 0, 0}, 0};
	assert_int_equal(svc_poll(&s, &p, &err), -1);
	assert_string_equal(err.message, "it broke");
	assert_int_equal(rep.done, 2);
	err_clear(&err);

	/* a deadline shorter than the first interval: one look, then out */
	sc = (struct script){{0, 0, 0, 0}, 0};
	p.timeout_ms = 1;
	assert_int_equal(svc_poll(&s, &p, &err), -1);
	assert_int_equal(sc.looks, 1);
	assert_int_equal(err.kind, GPUCTL_ERR_TIMEOUT);
	assert_string_equal(
	    err.message, "timed out after 0 s waiting for the test (look 1)");
	assert_string_equal(err.hint, "wait longer");
	assert_int_equal(rep.progress, 1);
	assert_string_equal(rep.last, "look 1");
	assert_int_equal(rep.done, 3);
	err_clear(&err);

	/* no reporter at all is fine */
	memset(&s.report, 0, sizeof(s.report));
	sc = (struct script){{1, 0, 0, 0}, 0};
	assert_int_equal(svc_poll(&s, &p, &err), 0);
}

static void test_login_user(void **state)
{
	struct ec2_image img;

	(void)state;
	memset(&img, 0, sizeof(img));
	assert_string_equal(svc_login_user(NULL), "ec2-user");
	img.name = "vict0rsch-1.0";
	assert_string_equal(svc_login_user(&img), "ec2-user");
	img.description = "Ubuntu 14.04 with CUDA";
	assert_string_equal(svc_login_user(&img), "ubuntu");
	img.name = "debian-12-amd64-20240717";
	assert_string_equal(svc_login_user(&img), "admin");
	img.name = "al2023-ami-2023.5";
	img.description = NULL;
	assert_string_equal(svc_login_user(&img), "ec2-user");
	img.name = NULL;
	img.image_location = "bitnami/some-stack";
	assert_string_equal(svc_login_user(&img), "bitnami");
}

static void test_root_volume(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ec2_image img;
	long size = 16;

	(void)state;
	memset(&img, 0, sizeof(img));
	img.id = "ami-0123";
	img.root_volume_size = 8;
	assert_int_equal(svc_root_volume(&img, &size, 0, &err), 0);
	assert_int_equal(size, 16);
	img.root_volume_size = 50;
	assert_int_equal(svc_root_volume(&img, &size, 0, &err), 0);
	assert_int_equal(size, 50);
	size = 20;
	assert_int_equal(svc_root_volume(&img, &size, 1, &err), -1);
	assert_string_equal(err.message, "image ami-0123 needs a root volume "
					 "of at least 50 GiB, not 20");
	assert_string_equal(err.hint, "pass --volume-size 50 or more");
	err_clear(&err);
}

static void add_instance(struct ec2_instance_list *l, const char *id)
{
	l->items = xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
	memset(&l->items[l->n], 0, sizeof(*l->items));
	l->items[l->n++].id = xstrdup(id);
}

static void test_instances_dedupe_take(void **state)
{
	struct ec2_instance_list l = {0}, to = {0};

	(void)state;
	add_instance(&l, "i-1");
	add_instance(&l, "i-2");
	add_instance(&l, "i-1");
	add_instance(&l, "i-3");
	add_instance(&l, "i-2");
	svc_instances_dedupe(&l);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.items[0].id, "i-1");
	assert_string_equal(l.items[1].id, "i-2");
	assert_string_equal(l.items[2].id, "i-3");
	svc_instances_take(&to, &l, 1);
	assert_int_equal(l.n, 2);
	assert_int_equal(to.n, 1);
	assert_string_equal(to.items[0].id, "i-2");
	assert_string_equal(l.items[1].id, "i-3");
	ec2_instance_list_release(&l);
	ec2_instance_list_release(&to);
}

static void test_user_data(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct buf b = BUF_INIT;
	char path[] = "/tmp/gpuctl-userdata-XXXXXX";
	int fd = mkstemp(path);
	char big[16385];

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(svc_read_user_data(NULL, &b, &err), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
	assert_int_equal(svc_read_user_data(path, &b, &err), 0);
	assert_string_equal(b.data, "#!/bin/sh\n");
	buf_reset(&b);
	memset(big, 'x', sizeof(big));
	assert_int_equal(write(fd, big, sizeof(big)), (int)sizeof(big));
	assert_int_equal(svc_read_user_data(path, &b, &err), -1);
	assert_int_equal(err.kind, GPUCTL_ERR_USAGE);
	err_clear(&err);
	close(fd);
	unlink(path);
	buf_reset(&b);
	assert_int_equal(svc_read_user_data(path, &b, &err), -1);
	assert_int_equal(err.kind, GPUCTL_ERR_IO);
	err_clear(&err);
	buf_release(&b);
}

static void test_caller_ip_fixed(void **state)
{
	char *env_ok[] = {"GPUCTL_CALLER_IP=203.0.113.7", NULL};
	char *env_bad[] = {"GPUCTL_CALLER_IP=localhost", NULL};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct svc_ctx s;
	char *ip = NULL;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.envp = env_ok;
	assert_int_equal(svc_caller_ip(&s, &ip, &err), 0);
	assert_string_equal(ip, "203.0.113.7");
	free(ip);
	s.envp = env_bad;
	assert_int_equal(svc_caller_ip(&s, &ip, &err), -1);
	assert_null(ip);
	assert_int_equal(err.kind, GPUCTL_ERR_CONFIG);
	err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cidr_contains),
	    cmocka_unit_test(test_cidr_canonical),
	    cmocka_unit_test(test_permission_covers_tcp),
	    cmocka_unit_test(test_group_admits_ssh),
	    cmocka_unit_test(test_rules_of_and_group),
	    cmocka_unit_test(test_opens_ssh_to_world),
	    cmocka_unit_test(test_poll),
	    cmocka_unit_test(test_login_user),
	    cmocka_unit_test(test_root_volume),
	    cmocka_unit_test(test_instances_dedupe_take),
	    cmocka_unit_test(test_user_data),
	    cmocka_unit_test(test_caller_ip_fixed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
