/*
 * Tests of ec2/: the typed parsers against the recorded EC2 responses in
 * $GPUCTL_FIXTURES/ec2-responses (the botocore ones checked against their
 * paired .json, read with jansson), hostile XML, and the request builder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gpuctl/ec2.h"
#include "gpuctl/err.h"
#include "gpuctl/util.h"

#include "../../src/ec2/ec2_int.h"

#define NS "http://ec2.amazonaws.com/doc/2016-11-15/"

static struct buf load(const char *name)
{
	struct buf b = BUF_INIT;
	const char *dir = getenv("GPUCTL_FIXTURES");
	char *path;

	if (!dir)
		dir = "../shared/fixtures";
	path = xasprintf("%s/ec2-responses/%s", dir, name);
	if (read_file(path, &b))
		fail_msg("cannot read %s", path);
	free(path);
	return b;
}

static json_t *load_json(const char *name)
{
	const char *dir = getenv("GPUCTL_FIXTURES");
	char *path;
	json_error_t je;
	json_t *j;

	if (!dir)
		dir = "../shared/fixtures";
	path = xasprintf("%s/ec2-responses/%s", dir, name);
	j = json_load_file(path, 0, &je);
	if (!j)
		fail_msg("cannot read %s: %s", path, je.text);
	free(path);
	return j;
}

/* A JSON string member, NULL when absent. */
static const char *js(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ours is NULL exactly when the JSON value is absent or empty. */
static void eq_ne(const char *want, const char *got)
{
	if (!want || !*want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
}

static long long ji(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void check_tags(json_t *tags, const struct ec2_tag *t, size_t n)
{
	size_t i;

	assert_int_equal(json_array_size(tags), n);
	for (i = 0; i < n; i++) {
		json_t *jt = json_array_get(tags, i);

		assert_string_equal(t[i].key, js(jt, "Key"));
		assert_string_equal(t[i].value, js(jt, "Value"));
	}
}

static void check_instance(json_t *ji_, const struct ec2_instance *in)
{
	json_t *bdm = json_object_get(ji_, "BlockDeviceMappings");
	json_t *sgs = json_object_get(ji_, "SecurityGroups");
	json_t *st = json_object_get(ji_, "State");
	json_t *tags = json_object_get(ji_, "Tags");
	size_t k;

	assert_string_equal(in->id, js(ji_, "InstanceId"));
	eq_ne(js(ji_, "ImageId"), in->image_id);
	eq_ne(js(ji_, "InstanceType"), in->instance_type);
	eq_ne(js(st, "Name"), in->state_name);
	assert_int_equal(in->state_code, ji(st, "Code"));
	eq_ne(js(ji_, "KeyName"), in->key_name);
	eq_ne(js(ji_, "PublicIpAddress"), in->public_ip);
	eq_ne(js(ji_, "PublicDnsName"), in->public_dns);
	eq_ne(js(ji_, "PrivateIpAddress"), in->private_ip);
	eq_ne(js(ji_, "PrivateDnsName"), in->private_dns);
	eq_ne(js(ji_, "LaunchTime"), in->launch_time);
	if (in->launch_time)
		assert_true(in->launch_epoch > 1000000000LL);
	eq_ne(js(json_object_get(ji_, "Placement"), "AvailabilityZone"),
	      in->availability_zone);
	eq_ne(js(ji_, "SubnetId"), in->subnet_id);
	eq_ne(js(ji_, "VpcId"), in->vpc_id);
	eq_ne(js(ji_, "ClientToken"), in->client_token);
	eq_ne(js(ji_, "InstanceLifecycle"), in->lifecycle);
	eq_ne(js(ji_, "Architecture"), in->architecture);
	eq_ne(js(ji_, "RootDeviceName"), in->root_device_name);
	eq_ne(js(ji_, "RootDeviceType"), in->root_device_type);
	eq_ne(js(ji_, "StateTransitionReason"), in->reason);
	eq_ne(js(json_object_get(ji_, "StateReason"), "Code"),
	      in->state_reason_code);
	assert_int_equal(json_array_size(sgs), in->ngroups);
	for (k = 0; k < in->ngroups; k++) {
		eq_ne(js(json_array_get(sgs, k), "GroupId"), in->groups[k].id);
		eq_ne(js(json_array_get(sgs, k), "GroupName"),
		      in->groups[k].name);
	}
	assert_int_equal(json_array_size(bdm), in->ndevices);
	for (k = 0; k < in->ndevices; k++) {
		json_t *b = json_array_get(bdm, k);
		json_t *ebs = json_object_get(b, "Ebs");

		assert_string_equal(in->devices[k].device_name,
				    js(b, "DeviceName"));
		eq_ne(js(ebs, "VolumeId"), in->devices[k].volume_id);
		eq_ne(js(ebs, "Status"), in->devices[k].status);
		assert_int_equal(
		    in->devices[k].delete_on_termination,
		    json_is_true(json_object_get(ebs, "DeleteOnTermination")));
	}
	if (tags)
		check_tags(tags, in->tags, in->ntags);
	else
		assert_int_equal(in->ntags, 0);
}

static void test_describe_instances_botocore(void **state)
{
	struct buf b = load("ec2-describe-instances.xml");
	json_t *j = load_json("ec2-describe-instances.json");
	struct ec2_instance_list l = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	json_t *res, *r, *in;
	size_t i, k, n = 0;

	(void)state;
	assert_int_equal(ec2_parse_describe_instances(b.data, b.len, &l, &err),
			 0);
	res = json_object_get(j, "Reservations");
	json_array_foreach(res, i, r)
	{
		json_array_foreach(json_object_get(r, "Instances"), k, in)
		{
			assert_true(n < l.n);
			check_instance(in, &l.items[n]);
			assert_string_equal(l.items[n].reservation_id,
					    js(r, "ReservationId"));
			n++;
		}
	}
	assert_int_equal(n, l.n);
	assert_true(n >= 2);
	assert_null(l.next_token);
	/* the helpers */
	assert_non_null(ec2_instance_tag(&l.items[0], "notebook"));
	assert_string_equal(ec2_instance_tag(&l.items[0], "notebook"), "");
	assert_null(ec2_instance_tag(&l.items[0], "nope"));
	assert_ptr_equal(ec2_instance_list_find(&l, l.items[1].id),
			 &l.items[1]);
	assert_null(ec2_instance_list_find(&l, "i-none"));
	ec2_instance_list_release(&l);
	assert_null(l.items);
	assert_int_equal(l.n, 0);
	json_decref(j);
	buf_release(&b);
	err_clear(&err);
}

static void test_run_instances_botocore(void **state)
{
	struct buf b = load("ec2-run-instances.xml");
	json_t *j = load_json("ec2-run-instances.json");
	struct ec2_instance_list l = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	json_t *in;
	size_t i;

	(void)state;
	assert_int_equal(ec2_parse_run_instances(b.data, b.len, &l, &err), 0);
	assert_int_equal(l.n, json_array_size(json_object_get(j, "Instances")));
	json_array_foreach(json_object_get(j, "Instances"), i, in)
	{
		check_instance(in, &l.items[i]);
		assert_string_equal(l.items[i].reservation_id,
				    js(j, "ReservationId"));
	}
	ec2_instance_list_release(&l);
	json_decref(j);
	buf_release(&b);
}

static void test_libcloud_instances(void **state)
{
	struct buf b = load("DescribeInstances.xml");
	struct buf r = load("RunInstances.xml");
	struct ec2_instance_list l = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;

	(void)state;
	assert_int_equal(ec2_parse_describe_instances(b.data, b.len, &l, &err),
			 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].id, "i-4382922a");
	assert_string_equal(l.items[0].reservation_id, "r-fd67fb97");
	assert_string_equal(l.items[0].instance_type, "m1.small");
	assert_string_equal(l.items[0].state_name, "stopped");
	assert_string_equal(l.items[0].public_ip, "1.2.3.4");
	assert_null(l.items[0].public_dns);
	assert_string_equal(l.items[0].launch_time, "2013-12-02T11:58:11.000Z");
	assert_int_equal(l.items[0].launch_epoch, 1385985491LL);
	assert_string_equal(l.items[1].id, "i-8474834a");
	assert_string_equal(l.items[1].instance_type, "t1.micro");
	assert_string_equal(l.items[1].subnet_id, "subnet-5fd9d412");
	assert_string_equal(l.items[1].vpc_id, "vpc-61dcd30e");
	assert_string_equal(l.items[1].private_ip, "172.16.9.139");
	assert_string_equal(ec2_instance_tag(&l.items[1], "Name"),
			    "Test Server 2");
	assert_string_equal(ec2_instance_tag(&l.items[1], "Group"), "VPC Test");
	assert_int_equal(l.items[1].ndevices, 1);
	assert_string_equal(l.items[1].devices[0].volume_id, "vol-60124921");
	assert_int_equal(l.items[1].devices[0].delete_on_termination, 0);
	assert_null(l.items[1].client_token);
	ec2_instance_list_release(&l);

	assert_int_equal(ec2_parse_run_instances(r.data, r.len, &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].id, "i-2ba64342");
	assert_string_equal(l.items[0].reservation_id, "r-47a5402e");
	assert_string_equal(l.items[0].state_name, "pending");
	assert_int_equal(l.items[0].state_code, 0);
	assert_string_equal(l.items[0].key_name, "example-key-name");
	ec2_instance_list_release(&l);
	buf_release(&b);
	buf_release(&r);
}

static void test_images(void **state)
{
	struct buf b = load("DescribeImages.xml");
	struct ec2_image_list l = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;

	(void)state;
	assert_int_equal(ec2_parse_describe_images(b.data, b.len, &l, &err), 0);
	assert_true(l.n >= 2);
	assert_string_equal(l.items[0].id, "ami-57ba933a");
	assert_string_equal(l.items[0].name, "Test Image");
	assert_string_equal(l.items[0].description, "Testing Stuff");
	assert_string_equal(l.items[0].owner_id, "123456788908");
	assert_string_equal(l.items[0].image_location,
			    "123456788908/Test Image");
	assert_string_equal(l.items[0].state, "available");
	assert_string_equal(l.items[0].architecture, "x86_64");
	assert_string_equal(l.items[0].root_device_name, "/dev/sda1");
	assert_string_equal(l.items[0].root_device_type, "ebs");
	assert_string_equal(l.items[0].virtualization_type, "paravirtual");
	assert_string_equal(l.items[0].image_type, "machine");
	assert_int_equal(l.items[0].is_public, 0);
	assert_int_equal(l.items[0].root_volume_size, 10);
	assert_string_equal(l.items[0].creation_date,
			    "2021-01-10T18:24:00.000Z");
	assert_int_equal(l.items[0].creation_epoch, 1610303040LL);
	assert_null(l.items[0].owner_alias);
	assert_string_equal(l.items[1].id, "ami-85b2a8ae");
	assert_string_equal(l.items[1].name, "Test Image 2");
	assert_null(l.items[1].description);
	ec2_image_list_release(&l);
	buf_release(&b);
}

static void test_key_pairs(void **state)
{
	struct buf b = load("CreateKeyPair.xml");
	struct buf b2 = load("ec2-create-key-pair.xml");
	struct buf b3 = load("ec2-describe-key-pairs.xml");
	json_t *j = load_json("ec2-create-key-pair.json");
	json_t *j3 = load_json("ec2-describe-key-pairs.json");
	struct ec2_key_pair k = {0};
	struct ec2_key_pair_list l = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	char *want;
	size_t i;

	(void)state;
	assert_int_equal(ec2_parse_create_key_pair(b.data, b.len, &k, &err), 0);
	assert_string_equal(k.name, "my-key-pair");
	assert_string_equal(
	    k.fingerprint,
	    "1f:51:ae:28:bf:89:e9:d8:1f:25:5d:37:2d:7d:b8:ca:9f:f5:f1:6f");
	assert_non_null(k.material);
	assert_true(starts_with(k.material, "---- BEGIN RSA PRIVATE KEY ----"));
	assert_int_equal(strlen(k.material), k.material_len);
	assert_null(k.id);
	ec2_key_pair_release(&k);
	assert_null(k.material);

	assert_int_equal(ec2_parse_create_key_pair(b2.data, b2.len, &k, &err),
			 0);
	assert_string_equal(k.name, js(j, "KeyName"));
	assert_string_equal(k.fingerprint, js(j, "KeyFingerprint"));
	/* the material as botocore reads it, less surrounding blanks */
	want = xstrdup(js(j, "KeyMaterial"));
	while (*want && strchr(" \n\r\t", want[strlen(want) - 1]))
		want[strlen(want) - 1] = '\0';
	assert_string_equal(k.material, want + strspn(want, " \n\r\t"));
	free(want);
	/* a second parse into the same struct replaces it */
	assert_int_equal(ec2_parse_create_key_pair(b2.data, b2.len, &k, &err),
			 0);
	ec2_key_pair_release(&k);

	assert_int_equal(
	    ec2_parse_describe_key_pairs(b3.data, b3.len, &l, &err), 0);
	assert_int_equal(l.n, json_array_size(json_object_get(j3, "KeyPairs")));
	for (i = 0; i < l.n; i++) {
		json_t *jk = json_array_get(json_object_get(j3, "KeyPairs"), i);

		assert_string_equal(l.items[i].name, js(jk, "KeyName"));
		assert_string_equal(l.items[i].fingerprint,
				    js(jk, "KeyFingerprint"));
		assert_null(l.items[i].material);
	}
	ec2_key_pair_list_release(&l);
	json_decref(j);
	json_decref(j3);
	buf_release(&b);
	buf_release(&b2);
	buf_release(&b3);
}

static void test_key_pair_sim_shape(void **state)
{
	const char *x =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<CreateKeyPairResponse xmlns=\"" NS "\"><requestId>r</requestId>"
	    "<keyName>k1</keyName><keyFingerprint>SHA256:abc=</keyFingerprint>"
	    "<keyMaterial>-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"
	    "-----END OPENSSH PRIVATE KEY-----\n</keyMaterial>"
	    "<keyPairId>key-0123</keyPairId><tagSet><item><key>gpuctl:managed"
	    "</key><value>1</value></item></tagSet></CreateKeyPairResponse>";
	const char *imp =
	    "<ImportKeyPairResponse xmlns=\"" NS "\"><keyName>k2</keyName>"
	    "<keyFingerprint>fp</keyFingerprint><keyPairId>key-9</keyPairId>"
	    "</ImportKeyPairResponse>";
	const char *nomat = "<CreateKeyPairResponse xmlns=\"" NS "\">"
			    "<keyName>k1</keyName></CreateKeyPairResponse>";
	struct ec2_key_pair k = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;

	(void)state;
	assert_int_equal(ec2_parse_create_key_pair(x, strlen(x), &k, &err), 0);
	assert_string_equal(k.id, "key-0123");
	assert_string_equal(k.material,
			    "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"
			    "-----END OPENSSH PRIVATE KEY-----");
	assert_int_equal(k.ntags, 1);
	assert_string_equal(k.tags[0].key, "gpuctl:managed");
	assert_int_equal(ec2_parse_import_key_pair(imp, strlen(imp), &k, &err),
			 0);
	assert_null(k.material);
	assert_string_equal(k.name, "k2");
	assert_string_equal(k.id, "key-9");
	assert_int_equal(
	    ec2_parse_create_key_pair(nomat, strlen(nomat), &k, &err), -1);
	assert_int_equal(err.kind, GPUCTL_ERR_PARSE);
	assert_non_null(strstr(err.message, "keyMaterial"));
	ec2_key_pair_release(&k);
	err_clear(&err);
}

static void test_security_groups(void **state)
{
	struct buf b = load("ec2-describe-security-groups.xml");
	struct buf c = load("CreateSecurityGroup.xml");
	struct buf a = load("AuthorizeSecurityGroupIngress.xml");
	json_t *j = load_json("ec2-describe-security-groups.json");
	json_t *groups = json_object_get(j, "SecurityGroups"), *g, *p;
	struct ec2_security_group_list l = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	char *id = NULL;
	size_t i, k, m;

	(void)state;
	assert_int_equal(
	    ec2_parse_describe_security_groups(b.data, b.len, &l, &err), 0);
	assert_int_equal(l.n, json_array_size(groups));
	json_array_foreach(groups, i, g)
	{
		struct ec2_security_group *s = &l.items[i];
		json_t *perms = json_object_get(g, "IpPermissions");

		assert_string_equal(s->id, js(g, "GroupId"));
		assert_string_equal(s->name, js(g, "GroupName"));
		assert_string_equal(s->description, js(g, "Description"));
		eq_ne(js(g, "OwnerId"), s->owner_id);
		eq_ne(js(g, "VpcId"), s->vpc_id);
		assert_int_equal(s->ningress, json_array_size(perms));
		assert_int_equal(s->negress, json_array_size(json_object_get(
						 g, "IpPermissionsEgress")));
		json_array_foreach(perms, k, p)
		{
			json_t *ranges = json_object_get(p, "IpRanges");

			assert_string_equal(s->ingress[k].protocol,
					    js(p, "IpProtocol"));
			if (json_object_get(p, "FromPort"))
				assert_int_equal(s->ingress[k].from_port,
						 ji(p, "FromPort"));
			else
				assert_int_equal(s->ingress[k].from_port, -1);
			if (json_object_get(p, "ToPort"))
				assert_int_equal(s->ingress[k].to_port,
						 ji(p, "ToPort"));
			assert_int_equal(s->ingress[k].nranges,
					 json_array_size(ranges));
			for (m = 0; m < s->ingress[k].nranges; m++)
				assert_string_equal(
				    s->ingress[k].ranges[m].cidr,
				    js(json_array_get(ranges, m), "CidrIp"));
			assert_int_equal(s->ingress[k].ngroups,
					 json_array_size(json_object_get(
					     p, "UserIdGroupPairs")));
		}
	}
	ec2_security_group_list_release(&l);

	assert_int_equal(
	    ec2_parse_create_security_group(c.data, c.len, &id, &err), 0);
	assert_string_equal(id, "sg-52e2f530");
	free(id);
	assert_int_equal(ec2_parse_return("AuthorizeSecurityGroupIngress",
					  a.data, a.len, &err),
			 0);
	/* the answer to another action is not accepted */
	assert_int_equal(
	    ec2_parse_return("RevokeSecurityGroupIngress", a.data, a.len, &err),
	    -1);
	assert_int_equal(err.kind, GPUCTL_ERR_PARSE);
	json_decref(j);
	buf_release(&a);
	buf_release(&b);
	buf_release(&c);
	err_clear(&err);
}

static void test_security_group_sim_shape(void **state)
{
	const char *x =
	    "<DescribeSecurityGroupsResponse xmlns=\"" NS "\">"
	    "<securityGroupInfo><item><ownerId>1</ownerId>"
	    "<groupId>sg-1</groupId><groupName>gpuctl</groupName>"
	    "<groupDescription>d</groupDescription><vpcId>vpc-1</vpcId>"
	    "<ipPermissions><item><ipProtocol>tcp</ipProtocol>"
	    "<fromPort>22</fromPort><toPort>22</toPort><groups/>"
	    "<ipRanges><item><cidrIp>203.0.113.7/32</cidrIp>"
	    "<description>me</description></item></ipRanges>"
	    "<ipv6Ranges><item><cidrIpv6>::/0</cidrIpv6></item></ipv6Ranges>"
	    "</item></ipPermissions><ipPermissionsEgress><item>"
	    "<ipProtocol>-1</ipProtocol><groups><item><groupId>sg-2</groupId>"
	    "<userId>123</userId></item></groups><ipRanges><item>"
	    "<cidrIp>0.0.0.0/0</cidrIp></item></ipRanges></item>"
	    "</ipPermissionsEgress><tagSet><item><key>a</key><value>b</value>"
	    "</item></tagSet></item></securityGroupInfo>"
	    "</DescribeSecurityGroupsResponse>";
	struct ec2_security_group_list l = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ec2_security_group *g;

	(void)state;
	assert_int_equal(
	    ec2_parse_describe_security_groups(x, strlen(x), &l, &err), 0);
	assert_int_equal(l.n, 1);
	g = &l.items[0];
	assert_string_equal(g->vpc_id, "vpc-1");
	assert_int_equal(g->ningress, 1);
	assert_int_equal(g->ingress[0].nranges, 2);
	assert_string_equal(g->ingress[0].ranges[0].cidr, "203.0.113.7/32");
	assert_string_equal(g->ingress[0].ranges[0].description, "me");
	assert_string_equal(g->ingress[0].ranges[1].cidr, "::/0");
	assert_null(g->ingress[0].ranges[1].description);
	assert_int_equal(g->negress, 1);
	assert_string_equal(g->egress[0].protocol, "-1");
	assert_int_equal(g->egress[0].from_port, -1);
	assert_int_equal(g->egress[0].to_port, -1);
	assert_int_equal(g->egress[0].ngroups, 1);
	assert_string_equal(g->egress[0].groups[0].id, "sg-2");
	assert_string_equal(g->egress[0].groups[0].user_id, "123");
	assert_int_equal(g->ntags, 1);
	ec2_security_group_list_release(&l);
}

static void check_changes(const char *xmlname, const char *action,
			  const char *jsonname, const char *key)
{
	struct buf b = load(xmlname);
	json_t *j = load_json(jsonname);
	json_t *arr = json_object_get(j, key), *x;
	struct ec2_state_change_list l = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	size_t i;

	assert_int_equal(
	    ec2_parse_state_changes(action, b.data, b.len, &l, &err), 0);
	assert_int_equal(l.n, json_array_size(arr));
	json_array_foreach(arr, i, x)
	{
		json_t *cur = json_object_get(x, "CurrentState");
		json_t *prev = json_object_get(x, "PreviousState");

		assert_string_equal(l.items[i].instance_id,
				    js(x, "InstanceId"));
		assert_string_equal(l.items[i].current_state, js(cur, "Name"));
		assert_int_equal(l.items[i].current_code, ji(cur, "Code"));
		assert_string_equal(l.items[i].previous_state,
				    js(prev, "Name"));
		assert_int_equal(l.items[i].previous_code, ji(prev, "Code"));
	}
	ec2_state_change_list_release(&l);
	json_decref(j);
	buf_release(&b);
}

static void test_state_changes(void **state)
{
	struct ec2_state_change_list l = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct buf b;

	(void)state;
	check_changes("ec2-start-instances.xml", "StartInstances",
		      "ec2-start-instances.json", "StartingInstances");
	check_changes("ec2-stop-instances.xml", "StopInstances",
		      "ec2-stop-instances.json", "StoppingInstances");

	b = load("StopInstances.xml");
	assert_int_equal(
	    ec2_parse_state_changes("StopInstances", b.data, b.len, &l, &err),
	    0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].instance_id, "i-2ba64342");
	assert_string_equal(l.items[0].current_state, "stopping");
	assert_int_equal(l.items[0].current_code, 64);
	assert_string_equal(l.items[0].previous_state, "running");
	ec2_state_change_list_release(&l);
	buf_release(&b);

	b = load("StartInstances.xml");
	assert_int_equal(
	    ec2_parse_state_changes("StartInstances", b.data, b.len, &l, &err),
	    0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].instance_id, "i-ff5de6aa");
	assert_string_equal(l.items[0].current_state, "pending");
	assert_string_equal(l.items[0].previous_state, "stopped");
	ec2_state_change_list_release(&l);
	buf_release(&b);

	b = load("TerminateInstances.xml");
	assert_int_equal(ec2_parse_state_changes("TerminateInstances", b.data,
						 b.len, &l, &err),
			 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].instance_id, "i-4382922a");
	assert_string_equal(l.items[0].current_state, "shutting-down");
	assert_int_equal(l.items[0].current_code, 32);
	assert_string_equal(l.items[0].previous_state, "running");
	/* a Stop answer is not a Terminate answer */
	assert_int_equal(
	    ec2_parse_state_changes("StopInstances", b.data, b.len, &l, &err),
	    -1);
	assert_non_null(strstr(err.message, "unexpected response to "
					    "StopInstances"));
	ec2_state_change_list_release(&l);
	buf_release(&b);
	err_clear(&err);
}

static void check_snapshot(json_t *x, const struct ec2_snapshot *s)
{
	long long t = 0;

	assert_string_equal(s->id, js(x, "SnapshotId"));
	eq_ne(js(x, "VolumeId"), s->volume_id);
	eq_ne(js(x, "State"), s->state);
	eq_ne(js(x, "Progress"), s->progress);
	eq_ne(js(x, "StartTime"), s->start_time);
	eq_ne(js(x, "OwnerId"), s->owner_id);
	assert_int_equal(s->volume_size_gib, ji(x, "VolumeSize"));
	if (js(x, "Description"))
		assert_string_equal(s->description, js(x, "Description"));
	/* "YYYY-MM-DDTHH:MM:SS.000Z" in one fixture: kept, epoch 0 */
	if (ec2_parse_time(s->start_time, &t))
		assert_int_equal(s->start_epoch, 0);
	else
		assert_true(s->start_epoch == t && t > 1000000000LL);
}

static void test_snapshots(void **state)
{
	struct buf b = load("CreateSnapshot.xml");
	struct buf b2 = load("ec2-create-snapshot.xml");
	struct buf b3 = load("ec2-describe-snapshots.xml");
	json_t *j2 = load_json("ec2-create-snapshot.json");
	json_t *j3 = load_json("ec2-describe-snapshots.json"), *x;
	struct ec2_snapshot s = {0};
	struct ec2_snapshot_list l = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	size_t i;

	(void)state;
	assert_int_equal(ec2_parse_create_snapshot(b.data, b.len, &s, &err), 0);
	assert_string_equal(s.id, "snap-a7cb2hd9");
	assert_string_equal(s.volume_id, "vol-4282672b");
	assert_string_equal(s.state, "pending");
	assert_string_equal(s.progress, "60%");
	assert_int_equal(s.progress_pct, 60);
	assert_int_equal(s.volume_size_gib, 10);
	assert_string_equal(s.description, "Test description");
	assert_int_equal(s.start_epoch, 1376583750LL);
	assert_int_equal(ec2_parse_create_snapshot(b2.data, b2.len, &s, &err),
			 0);
	check_snapshot(j2, &s);
	ec2_snapshot_release(&s);

	assert_int_equal(
	    ec2_parse_describe_snapshots(b3.data, b3.len, &l, &err), 0);
	assert_int_equal(l.n,
			 json_array_size(json_object_get(j3, "Snapshots")));
	json_array_foreach(json_object_get(j3, "Snapshots"), i, x)
	    check_snapshot(x, &l.items[i]);
	assert_int_equal(l.items[0].progress_pct, 100);
	ec2_snapshot_list_release(&l);
	json_decref(j2);
	json_decref(j3);
	buf_release(&b);
	buf_release(&b2);
	buf_release(&b3);
}

static void test_volumes(void **state)
{
	struct buf b = load("ec2-describe-volumes.xml");
	json_t *j = load_json("ec2-describe-volumes.json"), *x, *a;
	struct ec2_volume_list l = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	size_t i, k;

	(void)state;
	assert_int_equal(ec2_parse_describe_volumes(b.data, b.len, &l, &err),
			 0);
	assert_int_equal(l.n, json_array_size(json_object_get(j, "Volumes")));
	json_array_foreach(json_object_get(j, "Volumes"), i, x)
	{
		struct ec2_volume *v = &l.items[i];

		assert_string_equal(v->id, js(x, "VolumeId"));
		assert_int_equal(v->size_gib, ji(x, "Size"));
		eq_ne(js(x, "State"), v->state);
		eq_ne(js(x, "VolumeType"), v->volume_type);
		eq_ne(js(x, "AvailabilityZone"), v->availability_zone);
		eq_ne(js(x, "SnapshotId"), v->snapshot_id);
		eq_ne(js(x, "CreateTime"), v->create_time);
		assert_int_equal(
		    v->nattachments,
		    json_array_size(json_object_get(x, "Attachments")));
		json_array_foreach(json_object_get(x, "Attachments"), k, a)
		{
			eq_ne(js(a, "InstanceId"),
			      v->attachments[k].instance_id);
			eq_ne(js(a, "Device"), v->attachments[k].device);
			eq_ne(js(a, "State"), v->attachments[k].state);
			assert_int_equal(
			    v->attachments[k].delete_on_termination,
			    json_is_true(
				json_object_get(a, "DeleteOnTermination")));
		}
	}
	ec2_volume_list_release(&l);
	json_decref(j);
	buf_release(&b);
}

static void test_vpcs_subnets(void **state)
{
	struct buf b = load("ec2-describe-vpcs.xml");
	struct buf b2 = load("ec2-describe-subnets.xml");
	json_t *j = load_json("ec2-describe-vpcs.json");
	json_t *j2 = load_json("ec2-describe-subnets.json"), *x;
	struct ec2_vpc_list v = {0};
	struct ec2_subnet_list s = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	size_t i;

	(void)state;
	assert_int_equal(ec2_parse_describe_vpcs(b.data, b.len, &v, &err), 0);
	assert_int_equal(v.n, json_array_size(json_object_get(j, "Vpcs")));
	json_array_foreach(json_object_get(j, "Vpcs"), i, x)
	{
		assert_string_equal(v.items[i].id, js(x, "VpcId"));
		eq_ne(js(x, "CidrBlock"), v.items[i].cidr_block);
		eq_ne(js(x, "State"), v.items[i].state);
		assert_int_equal(v.items[i].is_default,
				 json_is_true(json_object_get(x, "IsDefault")));
	}
	ec2_vpc_list_release(&v);
	assert_int_equal(ec2_parse_describe_subnets(b2.data, b2.len, &s, &err),
			 0);
	assert_int_equal(s.n, json_array_size(json_object_get(j2, "Subnets")));
	json_array_foreach(json_object_get(j2, "Subnets"), i, x)
	{
		struct ec2_subnet *n = &s.items[i];

		assert_string_equal(n->id, js(x, "SubnetId"));
		eq_ne(js(x, "VpcId"), n->vpc_id);
		eq_ne(js(x, "CidrBlock"), n->cidr_block);
		eq_ne(js(x, "AvailabilityZone"), n->availability_zone);
		eq_ne(js(x, "State"), n->state);
		assert_int_equal(n->available_ips,
				 ji(x, "AvailableIpAddressCount"));
		assert_int_equal(
		    n->default_for_az,
		    json_is_true(json_object_get(x, "DefaultForAz")));
		assert_int_equal(
		    n->map_public_ip_on_launch,
		    json_is_true(json_object_get(x, "MapPublicIpOnLaunch")));
	}
	ec2_subnet_list_release(&s);
	json_decref(j);
	json_decref(j2);
	buf_release(&b);
	buf_release(&b2);
}

static void test_account_regions_zones(void **state)
{
	struct buf b = load("DescribeAccountAttributes.xml");
	struct buf b2 = load("ec2-describe-account-attributes.xml");
	struct buf b3 = load("ec2-describe-regions.xml");
	struct buf b4 = load("ec2-describe-availability-zones.xml");
	json_t *j2 = load_json("ec2-describe-account-attributes.json");
	json_t *j3 = load_json("ec2-describe-regions.json");
	json_t *j4 = load_json("ec2-describe-availability-zones.json"), *x, *y;
	struct ec2_account_attribute_list a = {0};
	struct ec2_region_list r = {0};
	struct ec2_zone_list z = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	size_t i, k;

	(void)state;
	assert_int_equal(
	    ec2_parse_describe_account_attributes(b.data, b.len, &a, &err), 0);
	assert_string_equal(ec2_account_attribute_value(&a, "max-instances"),
			    "20");
	assert_string_equal(ec2_account_attribute_value(&a, "max-elastic-ips"),
			    "5");
	assert_null(ec2_account_attribute_value(&a, "default-vpc"));
	ec2_account_attribute_list_release(&a);
	assert_int_equal(
	    ec2_parse_describe_account_attributes(b2.data, b2.len, &a, &err),
	    0);
	assert_int_equal(
	    a.n, json_array_size(json_object_get(j2, "AccountAttributes")));
	json_array_foreach(json_object_get(j2, "AccountAttributes"), i, x)
	{
		json_t *vals = json_object_get(x, "AttributeValues");

		assert_string_equal(a.items[i].name, js(x, "AttributeName"));
		assert_int_equal(a.items[i].nvalues, json_array_size(vals));
		json_array_foreach(vals, k, y) assert_string_equal(
		    a.items[i].values[k], js(y, "AttributeValue"));
	}
	ec2_account_attribute_list_release(&a);

	assert_int_equal(ec2_parse_describe_regions(b3.data, b3.len, &r, &err),
			 0);
	assert_int_equal(r.n, json_array_size(json_object_get(j3, "Regions")));
	json_array_foreach(json_object_get(j3, "Regions"), i, x)
	{
		assert_string_equal(r.items[i].name, js(x, "RegionName"));
		eq_ne(js(x, "Endpoint"), r.items[i].endpoint);
	}
	ec2_region_list_release(&r);

	assert_int_equal(
	    ec2_parse_describe_availability_zones(b4.data, b4.len, &z, &err),
	    0);
	assert_int_equal(
	    z.n, json_array_size(json_object_get(j4, "AvailabilityZones")));
	json_array_foreach(json_object_get(j4, "AvailabilityZones"), i, x)
	{
		assert_string_equal(z.items[i].name, js(x, "ZoneName"));
		eq_ne(js(x, "State"), z.items[i].state);
		eq_ne(js(x, "RegionName"), z.items[i].region_name);
	}
	ec2_zone_list_release(&z);
	json_decref(j2);
	json_decref(j3);
	json_decref(j4);
	buf_release(&b);
	buf_release(&b2);
	buf_release(&b3);
	buf_release(&b4);
}

static void test_instance_status(void **state)
{
	struct buf b = load("ec2-describe-instance-status.xml");
	json_t *j = load_json("ec2-describe-instance-status.json"), *x;
	struct ec2_instance_status_list l = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	size_t i;

	(void)state;
	assert_int_equal(
	    ec2_parse_describe_instance_status(b.data, b.len, &l, &err), 0);
	assert_int_equal(
	    l.n, json_array_size(json_object_get(j, "InstanceStatuses")));
	json_array_foreach(json_object_get(j, "InstanceStatuses"), i, x)
	{
		json_t *st = json_object_get(x, "InstanceState");

		assert_string_equal(l.items[i].instance_id,
				    js(x, "InstanceId"));
		eq_ne(js(x, "AvailabilityZone"), l.items[i].availability_zone);
		eq_ne(js(st, "Name"), l.items[i].state_name);
		assert_int_equal(l.items[i].state_code, ji(st, "Code"));
		eq_ne(js(json_object_get(x, "SystemStatus"), "Status"),
		      l.items[i].system_status);
		eq_ne(js(json_object_get(x, "InstanceStatus"), "Status"),
		      l.items[i].instance_status);
	}
	ec2_instance_status_list_release(&l);
	json_decref(j);
	buf_release(&b);
}

static void test_console_output(void **state)
{
	struct buf b = load("GetConsoleOutput.xml");
	struct ec2_console_output o = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	const char *wrapped =
	    "<GetConsoleOutputResponse xmlns=\"" NS "\"><instanceId>i-1"
	    "</instanceId><output>\n  SGVsbG8s\r\nIHdv\ncmxk\n  </output>"
	    "</GetConsoleOutputResponse>";
	const char *empty = "<GetConsoleOutputResponse xmlns=\"" NS "\">"
			    "<instanceId>i-1</instanceId><timestamp>"
			    "2024-01-01T00:00:00Z</timestamp>"
			    "</GetConsoleOutputResponse>";
	const char *bad = "<GetConsoleOutputResponse xmlns=\"" NS "\">"
			  "<output>@@@@</output></GetConsoleOutputResponse>";

	(void)state;
	assert_int_equal(ec2_parse_get_console_output(b.data, b.len, &o, &err),
			 0);
	assert_string_equal(o.instance_id, "i-40128925");
	assert_string_equal(o.timestamp, "2013-12-02T12:31:38.000Z");
	assert_string_equal(o.output, "Test String");
	assert_int_equal(o.output_len, 11);
	assert_int_equal(
	    ec2_parse_get_console_output(wrapped, strlen(wrapped), &o, &err),
	    0);
	assert_string_equal(o.output, "Hello, world");
	assert_int_equal(
	    ec2_parse_get_console_output(empty, strlen(empty), &o, &err), 0);
	assert_non_null(o.output);
	assert_int_equal(o.output_len, 0);
	assert_int_equal(
	    ec2_parse_get_console_output(bad, strlen(bad), &o, &err), -1);
	assert_int_equal(err.kind, GPUCTL_ERR_PARSE);
	ec2_console_output_release(&o);
	buf_release(&b);
	err_clear(&err);
}

static void test_error_fixtures(void **state)
{
	struct buf b = load("ErrorResponse-InvalidKeyPair.NotFound.xml");
	struct buf b2 = load("ErrorResponse-IdempotentParameterMismatch.xml");
	struct buf b3 = load("errors/ec2-describe-instances.xml");
	json_t *j3 = load_json("errors/ec2-describe-instances.json");
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ec2_key_pair_list l = {0};

	(void)state;
	assert_int_equal(ec2_parse_error(b.data, b.len, 400, &err), 0);
	assert_int_equal(err.kind, GPUCTL_ERR_AWS);
	assert_string_equal(err.code, "InvalidKeyPair.NotFound");
	assert_string_equal(err.message,
			    "The key pair 'test-key-pair' does not exist");
	assert_string_equal(err.request_id,
			    "31b97300-eb8e-405e-9567-b0f57b791fed");
	/* an error document is not a DescribeKeyPairs answer */
	assert_int_equal(ec2_parse_describe_key_pairs(b.data, b.len, &l, &err),
			 -1);
	assert_int_equal(err.kind, GPUCTL_ERR_PARSE);
	assert_int_equal(ec2_parse_error(b2.data, b2.len, 400, &err), 0);
	assert_string_equal(err.code, "IdempotentParameterMismatch");
	assert_true(starts_with(err.message, "Arguments on this idempotent"));
	assert_int_equal(ec2_parse_error(b3.data, b3.len, 400, &err), 0);
	assert_string_equal(err.code, js(json_object_get(j3, "Error"), "Code"));
	assert_string_equal(err.message,
			    js(json_object_get(j3, "Error"), "Message"));
	assert_string_equal(
	    err.request_id,
	    js(json_object_get(j3, "ResponseMetadata"), "RequestId"));
	ec2_key_pair_list_release(&l);
	json_decref(j3);
	buf_release(&b);
	buf_release(&b2);
	buf_release(&b3);
	err_clear(&err);
}

/* ---- pagination ---- */

static void test_next_token(void **state)
{
	const char *p1 =
	    "<DescribeInstancesResponse xmlns=\"" NS "\"><reservationSet><item>"
	    "<reservationId>r-1</reservationId><instancesSet><item><instanceId>"
	    "i-1</instanceId></item></instancesSet></item></reservationSet>"
	    "<nextToken> tok-1 </nextToken></DescribeInstancesResponse>";
	const char *p2 =
	    "<DescribeInstancesResponse xmlns=\"" NS "\"><reservationSet><item>"
	    "<instancesSet><item><instanceId>i-2</instanceId></item><item>"
	    "<instanceId>i-3</instanceId></item></instancesSet></item>"
	    "</reservationSet></DescribeInstancesResponse>";
	const char *v1 = "<DescribeVolumesResponse xmlns=\"" NS "\">"
			 "<volumeSet/><nextToken>v2</nextToken>"
			 "</DescribeVolumesResponse>";
	struct ec2_instance_list l = {0};
	struct ec2_volume_list v = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;

	(void)state;
	assert_int_equal(ec2_parse_describe_instances(p1, strlen(p1), &l, &err),
			 0);
	assert_string_equal(l.next_token, "tok-1");
	assert_int_equal(ec2_parse_describe_instances(p2, strlen(p2), &l, &err),
			 0);
	assert_null(l.next_token);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.items[0].id, "i-1");
	assert_string_equal(l.items[2].id, "i-3");
	assert_null(l.items[2].reservation_id);
	ec2_instance_list_release(&l);
	assert_int_equal(ec2_parse_describe_volumes(v1, strlen(v1), &v, &err),
			 0);
	assert_int_equal(v.n, 0);
	assert_string_equal(v.next_token, "v2");
	ec2_volume_list_release(&v);
}

/* ---- hostile input ---- */

static void expect_parse_error(const char *x, size_t len, const char *what)
{
	struct ec2_instance_list l = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;

	assert_int_equal(ec2_parse_describe_instances(x, len, &l, &err), -1);
	assert_int_equal(err.kind, GPUCTL_ERR_PARSE);
	assert_non_null(err.message);
	assert_true(starts_with(err.message,
				"unexpected response to DescribeInstances: "));
	if (what && !strstr(err.message, what))
		fail_msg("\"%s\" not in \"%s\"", what, err.message);
	ec2_instance_list_release(&l);
	err_clear(&err);
}

static void test_hostile(void **state)
{
	const char *laughs =
	    "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n"
	    "<!ENTITY lol \"lol\">\n"
	    "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	    "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
	    "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	    "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
	    "<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
	    "<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
	    "<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
	    "<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
	    "<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
	    "]>\n<DescribeInstancesResponse xmlns=\"" NS "\"><reservationSet>"
	    "<item><instancesSet><item><instanceId>&lol9;</instanceId></item>"
	    "</instancesSet></item></reservationSet>"
	    "</DescribeInstancesResponse>";
	const char *xxe =
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>\n"
	    "<DescribeInstancesResponse xmlns=\"" NS "\"><reservationSet>"
	    "<item><instancesSet><item><instanceId>&e;</instanceId></item>"
	    "</instancesSet></item></reservationSet>"
	    "</DescribeInstancesResponse>";
	const char *ext = "<!DOCTYPE x SYSTEM \"http://127.0.0.1:1/x.dtd\">"
			  "<DescribeInstancesResponse xmlns=\"" NS "\"/>";
	const char *wrong_ns = "<DescribeInstancesResponse "
			       "xmlns=\"http://example.com/doc/\"/>";
	const char *no_ns = "<DescribeInstancesResponse/>";
	const char *wrong_root = "<DescribeImagesResponse xmlns=\"" NS "\"/>";
	const char *missing =
	    "<DescribeInstancesResponse xmlns=\"" NS "\"><reservationSet>"
	    "<item><instancesSet><item><imageId>ami-1</imageId></item>"
	    "</instancesSet></item></reservationSet>"
	    "</DescribeInstancesResponse>";
	const char *bignum =
	    "<DescribeInstancesResponse xmlns=\"" NS "\"><reservationSet>"
	    "<item><instancesSet><item><instanceId>i-1</instanceId>"
	    "<instanceState><code>99999999999999999999999</code></"
	    "instanceState>"
	    "</item></instancesSet></item></reservationSet>"
	    "</DescribeInstancesResponse>";
	const char *negnum =
	    "<DescribeInstancesResponse xmlns=\"" NS "\"><reservationSet>"
	    "<item><instancesSet><item><instanceId>i-1</instanceId>"
	    "<instanceState><code>-16</code></instanceState>"
	    "</item></instancesSet></item></reservationSet>"
	    "</DescribeInstancesResponse>";
	const char *junknum =
	    "<DescribeInstancesResponse xmlns=\"" NS "\"><reservationSet>"
	    "<item><instancesSet><item><instanceId>i-1</instanceId>"
	    "<instanceState><code>16x</code></instanceState>"
	    "</item></instancesSet></item></reservationSet>"
	    "</DescribeInstancesResponse>";
	const char nul[] = "<DescribeInstancesResponse xmlns=\"" NS "\">"
			   "<requestId>a\0b</requestId>"
			   "</DescribeInstancesResponse>";
	struct buf b = BUF_INIT;
	char *big;
	int i;

	(void)state;
	expect_parse_error("", 0, "empty");
	expect_parse_error("<a", 2, "malformed");
	expect_parse_error("not xml at all", 14, "malformed");
	expect_parse_error(laughs, strlen(laughs), "document type");
	expect_parse_error(xxe, strlen(xxe), "document type");
	expect_parse_error(ext, strlen(ext), "document type");
	expect_parse_error(wrong_ns, strlen(wrong_ns), "namespace");
	expect_parse_error(no_ns, strlen(no_ns), "namespace");
	expect_parse_error(wrong_root, strlen(wrong_root), "root element");
	expect_parse_error(missing, strlen(missing), "instanceId");
	expect_parse_error(bignum, strlen(bignum), "code");
	expect_parse_error(negnum, strlen(negnum), "code");
	expect_parse_error(junknum, strlen(junknum), "code");
	expect_parse_error(nul, sizeof(nul) - 1, "NUL");
	/* ec2_parse_error refuses the same documents */
	{
		struct gpuctl_err e = GPUCTL_ERR_INIT;
		const char *err_laughs =
		    "<!DOCTYPE r [<!ENTITY a \"aaaaaaaa\">]><Response><Errors>"
		    "<Error><Code>&a;</Code></Error></Errors></Response>";

		assert_int_equal(
		    ec2_parse_error(err_laughs, strlen(err_laughs), 400, &e),
		    -1);
		assert_int_equal(e.kind, GPUCTL_ERR_NONE);
	}

	/* 10,000-deep nesting: libxml2's depth limit, no crash */
	buf_adds(&b, "<DescribeInstancesResponse xmlns=\"" NS "\">");
	for (i = 0; i < 10000; i++)
		buf_adds(&b, "<a>");
	for (i = 0; i < 10000; i++)
		buf_adds(&b, "</a>");
	buf_adds(&b, "</DescribeInstancesResponse>");
	expect_parse_error(b.data, b.len, "malformed");
	buf_release(&b);

	/* oversize: refused before parsing */
	big = xmalloc(EC2_MAX_RESPONSE + 2);
	memset(big, ' ', EC2_MAX_RESPONSE + 1);
	memcpy(big, "<DescribeInstancesResponse>", 27);
	big[EC2_MAX_RESPONSE + 1] = '\0';
	expect_parse_error(big, EC2_MAX_RESPONSE + 1, "too large");
	free(big);

	/* UTF-16: refused (NUL bytes), never reinterpreted */
	{
		const char u16[] = "\xff\xfe<\0D\0/\0>\0";

		expect_parse_error(u16, sizeof(u16) - 1, "NUL");
	}
}

static void test_truncated(void **state)
{
	const char *files[] = {"ec2-describe-instances.xml",
			       "DescribeInstances.xml"};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	size_t f, cut;

	(void)state;
	for (f = 0; f < 2; f++) {
		struct buf b = load(files[f]);

		for (cut = 0; cut < b.len - 30; cut += 97) {
			struct ec2_instance_list l = {0};
			int rc =
			    ec2_parse_describe_instances(b.data, cut, &l, &err);

			assert_int_equal(rc, -1);
			assert_int_equal(err.kind, GPUCTL_ERR_PARSE);
			assert_true(starts_with(err.message, "unexpected "
							     "response to "));
			ec2_instance_list_release(&l);
			err_clear(&err);
		}
		buf_release(&b);
	}
}

static void test_bytes_kept(void **state)
{
	/* invalid UTF-8 and control characters survive byte for byte */
	const char x[] = "<DescribeImagesResponse xmlns='" NS "'><imagesSet>"
			 "<item><imageId>ami-1</imageId><name>\xff\xfe caf\xc3"
			 "\xa9 \x1b</name><description>&#x263a;&amp;&lt;"
			 "</description></item></imagesSet>"
			 "</DescribeImagesResponse>";
	const char y[] = "<DescribeImagesResponse xmlns='" NS "'><imagesSet>"
			 "<item><imageId>ami-1</imageId><name>\xff\xfe caf\xc3"
			 "\xa9</name><description>&#x263a;&amp;&lt;"
			 "</description></item></imagesSet>"
			 "</DescribeImagesResponse>";
	struct ec2_image_list l = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;

	(void)state;
	/* a raw ESC is not an XML character: refused */
	assert_int_equal(ec2_parse_describe_images(x, sizeof(x) - 1, &l, &err),
			 -1);
	ec2_image_list_release(&l);
	assert_int_equal(ec2_parse_describe_images(y, sizeof(y) - 1, &l, &err),
			 0);
	assert_string_equal(l.items[0].name, "\xff\xfe caf\xc3\xa9");
	assert_string_equal(l.items[0].description, "\xe2\x98\xba&<");
	ec2_image_list_release(&l);
	err_clear(&err);
}

/* ---- requests ---- */

static const char *param(const struct ec2_req *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (!strcmp(r->p[i].key, key))
			return r->p[i].value;
	return NULL;
}

static void test_request_builder(void **state)
{
	const char *const vals[] = {"running", "pending"};
	const char *const ids[] = {"i-1", "i-2"};
	struct ec2_filter f[] = {{"instance-state-name", vals, 2},
				 {"tag:gpuctl:managed", NULL, 0}};
	struct ec2_param tags[] = {{"Name", "x"}, {"gpuctl:managed", "1"}};
	struct ec2_describe q = {0};
	struct ec2_req r;
	char *b64;

	(void)state;
	ec2_req_init(&r);
	q.ids = ids;
	q.nids = 2;
	q.filters = f;
	q.nfilters = 2;
	q.max_results = 50;
	ec2_req_describe(&r, &q, "InstanceId", NULL);
	assert_string_equal(param(&r, "InstanceId.1"), "i-1");
	assert_string_equal(param(&r, "InstanceId.2"), "i-2");
	assert_string_equal(param(&r, "Filter.1.Name"), "instance-state-name");
	assert_string_equal(param(&r, "Filter.1.Value.1"), "running");
	assert_string_equal(param(&r, "Filter.1.Value.2"), "pending");
	assert_string_equal(param(&r, "Filter.2.Name"), "tag:gpuctl:managed");
	assert_null(param(&r, "Filter.2.Value.1"));
	assert_string_equal(param(&r, "MaxResults"), "50");
	ec2_req_tag_spec(&r, 1, "instance", tags, 2);
	ec2_req_tag_spec(&r, 2, "volume", tags, 2);
	ec2_req_tag_spec(&r, 3, "snapshot", tags, 0);
	assert_string_equal(param(&r, "TagSpecification.1.ResourceType"),
			    "instance");
	assert_string_equal(param(&r, "TagSpecification.1.Tag.2.Key"),
			    "gpuctl:managed");
	assert_string_equal(param(&r, "TagSpecification.2.Tag.1.Value"), "x");
	assert_null(param(&r, "TagSpecification.3.ResourceType"));
	ec2_req_add(&r, "NextToken", "abc");
	ec2_req_del(&r, "NextToken");
	assert_null(param(&r, "NextToken"));
	ec2_req_release(&r);

	b64 = ec2_base64("#!/bin/sh\n", 10);
	assert_string_equal(b64, "IyEvYmluL3NoCg==");
	free(b64);
	b64 = ec2_base64("", 0);
	assert_string_equal(b64, "");
	free(b64);
}

static void test_run_refused(void **state)
{
	struct ec2_run_params p = {0};
	struct ec2_instance_list l = {0};
	struct gpuctl_err err = GPUCTL_ERR_INIT;

	(void)state;
	p.image_id = "ami-1";
	p.instance_type = "g2.2xlarge";
	/* no client token: refused before any request (c is not used) */
	assert_int_equal(ec2_run_instances(NULL, &p, &l, &err), -1);
	assert_int_equal(err.kind, GPUCTL_ERR_USAGE);
	assert_non_null(strstr(err.message, "client token"));
	p.client_token = "";
	assert_int_equal(ec2_run_instances(NULL, &p, &l, &err), -1);
	p.client_token = "tok";
	p.image_id = NULL;
	assert_int_equal(ec2_run_instances(NULL, &p, &l, &err), -1);
	assert_int_equal(err.kind, GPUCTL_ERR_USAGE);
	assert_int_equal(l.n, 0);
	err_clear(&err);
}

static void test_time(void **state)
{
	long long t = 0;

	(void)state;
	assert_int_equal(ec2_parse_time("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(ec2_parse_time("2016-11-15T12:34:56.000Z", &t), 0);
	assert_int_equal(t, 1479213296LL);
	assert_int_equal(ec2_parse_time("2024-02-29T00:00:00+00:00", &t), 0);
	assert_int_equal(t, 1709164800LL);
	assert_int_equal(ec2_parse_time("2024-13-01T00:00:00Z", &t), -1);
	assert_int_equal(ec2_parse_time("2024-01-01T00:00:00+02:00", &t), -1);
	assert_int_equal(ec2_parse_time("yesterday", &t), -1);
	assert_int_equal(ec2_parse_time(NULL, &t), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_describe_instances_botocore),
	    cmocka_unit_test(test_run_instances_botocore),
	    cmocka_unit_test(test_libcloud_instances),
	    cmocka_unit_test(test_images),
	    cmocka_unit_test(test_key_pairs),
	    cmocka_unit_test(test_key_pair_sim_shape),
	    cmocka_unit_test(test_security_groups),
	    cmocka_unit_test(test_security_group_sim_shape),
	    cmocka_unit_test(test_state_changes),
	    cmocka_unit_test(test_snapshots),
	    cmocka_unit_test(test_volumes),
	    cmocka_unit_test(test_vpcs_subnets),
	    cmocka_unit_test(test_account_regions_zones),
	    cmocka_unit_test(test_instance_status),
	    cmocka_unit_test(test_console_output),
	    cmocka_unit_test(test_error_fixtures),
	    cmocka_unit_test(test_next_token),
	    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_bytes_kept),
	    cmocka_unit_test(test_request_builder),
	    cmocka_unit_test(test_run_refused),
	    cmocka_unit_test(test_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
