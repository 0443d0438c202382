/*
 * Every ec2_parse_* response parser.  The first byte picks the parser
 * (and is dropped) unless the input starts with '<' or white space: then
 * the whole input is XML and the parser is the one named by its root
 * element (<DescribeInstancesResponse> ...), so the fixtures feed in as
 * they are; a root that names no parser goes to ec2_parse_return().
 * With bit 0x80 of the selector the same body is parsed twice into the
 * same list, to exercise the append and replace rules.
 */
#include <string.h>

#include "gpuctl/ec2.h"
#include "fuzz.h"

enum {
	P_IMAGES,
	P_REGIONS,
	P_ZONES,
	P_ACCOUNT,
	P_CREATE_KEY,
	P_IMPORT_KEY,
	P_KEYS,
	P_GROUPS,
	P_CREATE_GROUP,
	P_VPCS,
	P_SUBNETS,
	P_INSTANCES,
	P_RUN,
	P_STATUS,
	P_STOP,
	P_START,
	P_TERMINATE,
	P_VOLUMES,
	P_CREATE_SNAPSHOT,
	P_SNAPSHOTS,
	P_CONSOLE,
	P_RETURN,
	P_TIME,
	P_COUNT
};

static const char *const actions[P_COUNT] = {
    "DescribeImages",
    "DescribeRegions",
    "DescribeAvailabilityZones",
    "DescribeAccountAttributes",
    "CreateKeyPair",
    "ImportKeyPair",
    "DescribeKeyPairs",
    "DescribeSecurityGroups",
    "CreateSecurityGroup",
    "DescribeVpcs",
    "DescribeSubnets",
    "DescribeInstances",
    "RunInstances",
    "DescribeInstanceStatus",
    "StopInstances",
    "StartInstances",
    "TerminateInstances",
    "DescribeVolumes",
    "CreateSnapshot",
    "DescribeSnapshots",
    "GetConsoleOutput",
    NULL,
    NULL,
};

/*
 * Checks the error contract; returns 1 when rc is 0.  Items are checked
 * only after calls that all succeeded: a failed parse may leave a
 * half-filled item at the end of the list (the caller releases it).
 */
static int check_err(int rc, struct gpuctl_err *err)
{
	if (rc == 0) {
		FUZZ_CHECK(err->kind == GPUCTL_ERR_NONE);
	} else {
		FUZZ_CHECK(rc == -1);
		FUZZ_CHECK(err->kind != GPUCTL_ERR_NONE);
		FUZZ_CHECK(err->message != NULL);
	}
	err_clear(err);
	return rc == 0;
}

static void check_tags(const struct ec2_tag *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		FUZZ_CHECK(t[i].key && t[i].value);
}

/* The root element's local name, into out; 0 when there is none. */
static int root_name(const char *xml, size_t len, char *out, size_t n)
{
	const char *p = xml, *end = xml + len, *s;

	while (p < end) {
		p = memchr(p, '<', (size_t)(end - p));
		if (!p || ++p >= end)
			return 0;
		if (*p == '?' || *p == '!')
			continue;
		s = p;
		while (p < end && *p != ' ' && *p != '>' && *p != '/' &&
		       *p != '\t' && *p != '\n' && *p != '\r')
			p++;
		if ((size_t)(p - s) >= n)
			return 0;
		memcpy(out, s, (size_t)(p - s));
		out[p - s] = '\0';
		return 1;
	}
	return 0;
}

static void parse(int which, int twice, const char *action, const char *xml,
		  size_t len)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	int rc, round, ok = 1;
	size_t i;

	switch (which) {
	case P_IMAGES: {
		struct ec2_image_list l = {0};
		for (round = 0; round <= twice; round++) {
			rc = ec2_parse_describe_images(xml, len, &l, &err);
			ok &= check_err(rc, &err);
		}
		for (i = 0; ok && i < l.n; i++) {
			FUZZ_CHECK(l.items[i].id);
			check_tags(l.items[i].tags, l.items[i].ntags);
		}
		ec2_image_list_release(&l);
		FUZZ_CHECK(!l.items && !l.n && !l.next_token);
		break;
	}
	case P_REGIONS: {
		struct ec2_region_list l = {0};
		for (round = 0; round <= twice; round++) {
			rc = ec2_parse_describe_regions(xml, len, &l, &err);
			ok &= check_err(rc, &err);
		}
		for (i = 0; ok && i < l.n; i++)
			FUZZ_CHECK(l.items[i].name);
		ec2_region_list_release(&l);
		break;
	}
	case P_ZONES: {
		struct ec2_zone_list l = {0};
		for (round = 0; round <= twice; round++) {
			rc = ec2_parse_describe_availability_zones(xml, len, &l,
								   &err);
			ok &= check_err(rc, &err);
		}
		for (i = 0; ok && i < l.n; i++)
			FUZZ_CHECK(l.items[i].name);
		ec2_zone_list_release(&l);
		break;
	}
	case P_ACCOUNT: {
		struct ec2_account_attribute_list l = {0};
		for (round = 0; round <= twice; round++) {
			rc = ec2_parse_describe_account_attributes(xml, len, &l,
								   &err);
			ok &= check_err(rc, &err);
		}
		for (i = 0; ok && i < l.n; i++)
			FUZZ_CHECK(l.items[i].name);
		if (ok)
			(void)ec2_account_attribute_value(&l, "max-instances");
		ec2_account_attribute_list_release(&l);
		break;
	}
	case P_CREATE_KEY:
	case P_IMPORT_KEY: {
		struct ec2_key_pair k = {0};
		for (round = 0; round <= twice; round++) {
			rc =
			    which == P_CREATE_KEY
				? ec2_parse_create_key_pair(xml, len, &k, &err)
				: ec2_parse_import_key_pair(xml, len, &k, &err);
			if (rc == 0)
				FUZZ_CHECK(k.name);
			if (rc == 0 && k.material)
				FUZZ_CHECK(strlen(k.material) <=
					   k.material_len);
			ok &= check_err(rc, &err);
		}
		if (ok)
			check_tags(k.tags, k.ntags);
		ec2_key_pair_release(&k);
		break;
	}
	case P_KEYS: {
		struct ec2_key_pair_list l = {0};
		for (round = 0; round <= twice; round++) {
			rc = ec2_parse_describe_key_pairs(xml, len, &l, &err);
			ok &= check_err(rc, &err);
		}
		for (i = 0; ok && i < l.n; i++)
			FUZZ_CHECK(l.items[i].name);
		ec2_key_pair_list_release(&l);
		break;
	}
	case P_GROUPS: {
		struct ec2_security_group_list l = {0};
		for (round = 0; round <= twice; round++) {
			rc = ec2_parse_describe_security_groups(xml, len, &l,
								&err);
			ok &= check_err(rc, &err);
		}
		for (i = 0; ok && i < l.n; i++) {
			size_t j;

			FUZZ_CHECK(l.items[i].id);
			for (j = 0; j < l.items[i].ningress; j++)
				FUZZ_CHECK(l.items[i].ingress[j].protocol);
			for (j = 0; j < l.items[i].negress; j++)
				FUZZ_CHECK(l.items[i].egress[j].protocol);
		}
		ec2_security_group_list_release(&l);
		break;
	}
	case P_CREATE_GROUP: {
		char *id = NULL;
		rc = ec2_parse_create_security_group(xml, len, &id, &err);
		if (rc == 0)
			FUZZ_CHECK(id);
		ok &= check_err(rc, &err);
		free(id);
		break;
	}
	case P_VPCS: {
		struct ec2_vpc_list l = {0};
		for (round = 0; round <= twice; round++) {
			rc = ec2_parse_describe_vpcs(xml, len, &l, &err);
			ok &= check_err(rc, &err);
		}
		for (i = 0; ok && i < l.n; i++)
			FUZZ_CHECK(l.items[i].id);
		ec2_vpc_list_release(&l);
		break;
	}
	case P_SUBNETS: {
		struct ec2_subnet_list l = {0};
		for (round = 0; round <= twice; round++) {
			rc = ec2_parse_describe_subnets(xml, len, &l, &err);
			ok &= check_err(rc, &err);
		}
		for (i = 0; ok && i < l.n; i++)
			FUZZ_CHECK(l.items[i].id);
		ec2_subnet_list_release(&l);
		break;
	}
	case P_INSTANCES:
	case P_RUN: {
		struct ec2_instance_list l = {0};
		for (round = 0; round <= twice; round++) {
			rc = which == P_INSTANCES
				 ? ec2_parse_describe_instances(xml, len, &l,
								&err)
				 : ec2_parse_run_instances(xml, len, &l, &err);
			ok &= check_err(rc, &err);
		}
		for (i = 0; ok && i < l.n; i++) {
			size_t j;

			FUZZ_CHECK(l.items[i].id);
			check_tags(l.items[i].tags, l.items[i].ntags);
			for (j = 0; j < l.items[i].ndevices; j++)
				FUZZ_CHECK(l.items[i].devices[j].device_name);
			(void)ec2_instance_tag(&l.items[i], "Name");
			FUZZ_CHECK(ec2_instance_list_find(&l, l.items[i].id) !=
				   NULL);
		}
		ec2_instance_list_release(&l);
		break;
	}
	case P_STATUS: {
		struct ec2_instance_status_list l = {0};
		for (round = 0; round <= twice; round++) {
			rc = ec2_parse_describe_instance_status(xml, len, &l,
								&err);
			ok &= check_err(rc, &err);
		}
		for (i = 0; ok && i < l.n; i++)
			FUZZ_CHECK(l.items[i].instance_id);
		ec2_instance_status_list_release(&l);
		break;
	}
	case P_STOP:
	case P_START:
	case P_TERMINATE: {
		struct ec2_state_change_list l = {0};
		for (round = 0; round <= twice; round++) {
			rc = ec2_parse_state_changes(actions[which], xml, len,
						     &l, &err);
			ok &= check_err(rc, &err);
		}
		for (i = 0; ok && i < l.n; i++)
			FUZZ_CHECK(l.items[i].instance_id);
		ec2_state_change_list_release(&l);
		break;
	}
	case P_VOLUMES: {
		struct ec2_volume_list l = {0};
		for (round = 0; round <= twice; round++) {
			rc = ec2_parse_describe_volumes(xml, len, &l, &err);
			ok &= check_err(rc, &err);
		}
		for (i = 0; ok && i < l.n; i++)
			FUZZ_CHECK(l.items[i].id);
		ec2_volume_list_release(&l);
		break;
	}
	case P_CREATE_SNAPSHOT: {
		struct ec2_snapshot s = {0};
		for (round = 0; round <= twice; round++) {
			rc = ec2_parse_create_snapshot(xml, len, &s, &err);
			if (rc == 0)
				FUZZ_CHECK(s.id);
			ok &= check_err(rc, &err);
		}
		ec2_snapshot_release(&s);
		break;
	}
	case P_SNAPSHOTS: {
		struct ec2_snapshot_list l = {0};
		for (round = 0; round <= twice; round++) {
			rc = ec2_parse_describe_snapshots(xml, len, &l, &err);
			ok &= check_err(rc, &err);
		}
		for (i = 0; ok && i < l.n; i++) {
			FUZZ_CHECK(l.items[i].id);
			FUZZ_CHECK(l.items[i].progress_pct >= 0 &&
				   l.items[i].progress_pct <= 100);
		}
		ec2_snapshot_list_release(&l);
		break;
	}
	case P_CONSOLE: {
		struct ec2_console_output o = {0};
		for (round = 0; round <= twice; round++) {
			rc = ec2_parse_get_console_output(xml, len, &o, &err);
			if (rc == 0) {
				FUZZ_CHECK(o.output);
				FUZZ_CHECK(o.output[o.output_len] == '\0');
			}
			ok &= check_err(rc, &err);
		}
		ec2_console_output_release(&o);
		break;
	}
	case P_RETURN:
		rc = ec2_parse_return(action ? action : "DeleteKeyPair", xml,
				      len, &err);
		ok &= check_err(rc, &err);
		break;
	case P_TIME: {
		char *s = fuzz_strndup((const uint8_t *)xml, len);
		long long t = 0;

		if (ec2_parse_time(s, &t) == 0)
			FUZZ_CHECK(t > -62167219201LL && t < 253402300800LL);
		free(s);
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *xml = (const char *)data;
	char root[128], action[128];
	int which = -1, twice = 0, i;

	if (size == 0)
		return 0;
	if (data[0] == '<' || data[0] == ' ' || data[0] == '\n' ||
	    data[0] == '\t' || data[0] == '\r') {
		action[0] = '\0';
		if (root_name(xml, size, root, sizeof(root))) {
			const char *colon = strchr(root, ':');
			const char *local = colon ? colon + 1 : root;
			size_t n = strlen(local);

			if (n > 8 && !strcmp(local + n - 8, "Response")) {
				memcpy(action, local, n - 8);
				action[n - 8] = '\0';
			}
		}
		for (i = 0; i < P_COUNT && which < 0; i++)
			if (actions[i] && !strcmp(actions[i], action))
				which = i;
		if (which < 0)
			which = P_RETURN;
		parse(which, 0, action[0] ? action : NULL, xml, size);
		return 0;
	}
	which = (data[0] & 0x7f) % P_COUNT;
	twice = (data[0] & 0x80) != 0;
	parse(which, twice, which == P_RETURN ? "CreateTags" : actions[which],
	      xml + 1, size - 1);
	return 0;
}
