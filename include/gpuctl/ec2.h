/*
 * ec2: the EC2 Query API client.
 *
 * struct ec2_client signs each call with SigV4 (through sigv4/) and sends
 * it through http/ with its retries.  An EC2 error response becomes a
 * GPUCTL_ERR_AWS error carrying the HTTP status, the error code, its
 * message and the request ID.
 */
#ifndef GPUCTL_EC2_H
#define GPUCTL_EC2_H

#include <stddef.h>

#include "gpuctl/err.h"
#include "gpuctl/util.h"

#define EC2_API_VERSION "2016-11-15"

struct ec2_client;

/* Keys handed over by a refresh callback; borrowed. */
struct ec2_credentials {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token; /* NULL when none */
};

/* Everything the client needs; the strings are copied. */
struct ec2_client_options {
	const char *endpoint_url;
	const char *region;
	const char *access_key_id; /* NULL: requests go unsigned */
	const char *secret_access_key;
	const char *session_token; /* NULL when none */
	const char *ca_bundle;	   /* NULL: the system's */
	long timeout_ms;	   /* per attempt, 0: the default */
	int max_attempts;	   /* 0: the default */
	/* another Query API: its signing name ("sts") and Version */
	const char *service;	 /* NULL: "ec2" */
	const char *api_version; /* NULL: EC2_API_VERSION */
	/*
	 * Temporary keys: called before every attempt is signed, with force
	 * set once after the service refused the keys as expired
	 * (ExpiredToken, RequestExpired).  Returns 1 with *out filled (kept
	 * by copy) when there are new keys, 0 when the held ones stand, -1
	 * with err filled to give up.  NULL: the keys never change.
	 */
	int (*refresh)(void *arg, int force, struct ec2_credentials *out,
		       struct gpuctl_err *err);
	void *refresh_arg;
};

struct ec2_param {
	const char *key;
	const char *value;
};

/* Returns NULL with err filled on a bad endpoint URL. */
struct ec2_client *ec2_client_new(const struct ec2_client_options *opts,
				  struct gpuctl_err *err);
/* Wipes the secrets it held. */
void ec2_client_free(struct ec2_client *c);

/*
 * One Query API call: Action=action, Version=2016-11-15 (or the client's
 * api_version) and the params,
 * form-encoded in a signed POST.  On success (HTTP 2xx) returns 0 with the
 * response body in *body.  On an EC2 error returns -1 with err filled
 * (GPUCTL_ERR_AWS) and the body in *body too; on a transport failure
 * returns -1 with err filled and *body empty.
 */
int ec2_call(struct ec2_client *c, const char *action,
	     const struct ec2_param *params, size_t nparams, struct buf *body,
	     struct gpuctl_err *err);

/* Appends key=value form-encoded (RFC 3986, as SigV4 wants) to b. */
void ec2_form_add(struct buf *b, const char *key, const char *value);

/*
 * Reads an EC2 error document (<Response><Errors><Error><Code>…) into err
 * as a GPUCTL_ERR_AWS error with the given HTTP status.  Returns 0 when it
 * was one, -1 (err untouched) when the body is not an EC2 error document.
 */
int ec2_parse_error(const char *body, size_t len, long status,
		    struct gpuctl_err *err);

/*
 * ---------------------------------------------------------------------
 * Typed operations.
 *
 * Conventions that hold for everything below:
 *
 * - Parameters: every const char * and every array passed in is borrowed
 *   for the duration of the call only.  Input tags are struct ec2_param
 *   pairs (key, value); in ec2_delete_tags() a NULL value means "whatever
 *   the value".
 * - Results: every char * inside a result struct is owned by that struct
 *   (NUL-terminated, never pointing into a parser's memory) and freed by
 *   the struct's _release() function.  A string field that the response
 *   did not carry is NULL; a number it did not carry is 0 unless said
 *   otherwise.  Text is kept byte for byte as the server sent it (minus
 *   surrounding white space), so it may hold any UTF-8 or control
 *   character except NUL: the output layer sanitises before printing.
 * - Lists: zero-initialise (= {0}) before the call.  Calls and parse
 *   functions APPEND to the list, so call its _release() whether the call
 *   succeeded or failed; _release() leaves it zeroed and ready for reuse.
 *   A single-struct result (struct ec2_key_pair, ec2_snapshot,
 *   ec2_console_output) is zero-initialised too, replaced (not appended
 *   to) by each call, and released in every case.
 * - Return value: 0, or -1 with err filled: GPUCTL_ERR_AWS for an error
 *   answer from EC2 (err->code holds its code, e.g.
 *   "InvalidKeyPair.NotFound"), GPUCTL_ERR_PARSE for a response we cannot
 *   read ("unexpected response to ACTION: ..."), GPUCTL_ERR_USAGE for
 *   parameters refused before any request, or the transport's error.
 * - Describe calls follow NextToken to the last page and return all items.
 * - Each operation has a pure parse function, ec2_parse_X(xml, len, out,
 *   err), that reads one response body without any I/O (tests, fuzzing).
 *   A parse function refuses: malformed XML, a DOCTYPE (no entity is ever
 *   expanded, nothing external ever loaded), more than EC2_MAX_RESPONSE
 *   bytes, a root element other than <ActionResponse> in a namespace
 *   starting with "http://ec2.amazonaws.com/doc/", a missing required
 *   field (an item's ID), and numbers out of range.  Unknown elements
 *   are ignored.
 * ---------------------------------------------------------------------
 */

/* The largest response body a parse function accepts. */
#define EC2_MAX_RESPONSE ((size_t)64 << 20)

/* Filter.N.Name=name, Filter.N.Value.M=values[M-1].  Borrowed. */
struct ec2_filter {
	const char *name;
	const char *const *values;
	size_t nvalues;
};

/*
 * What a Describe call selects (all borrowed; zero-initialise and set what
 * you need).  Which fields each call uses is said at the call.
 */
struct ec2_describe {
	const char *const *ids; /* InstanceId.N, ImageId.N, VolumeId.N, ... */
	size_t nids;
	const char *const
	    *names; /* GroupName.N, KeyName.N, RegionName.N, ... */
	size_t nnames;
	const char *const *owners; /* Owner.N: "self", "amazon", an account */
	size_t nowners;
	const struct ec2_filter *filters;
	size_t nfilters;
	int max_results;	   /* MaxResults per page; 0: not sent */
	int include_all_instances; /* DescribeInstanceStatus */
	int include_public_key;	   /* DescribeKeyPairs */
};

/* A tag in a result (owned by the result). */
struct ec2_tag {
	char *key;
	char *value; /* "" when the tag has an empty value, never NULL */
};

/*
 * Reads an ISO 8601 UTC time as EC2 writes it ("2016-11-01T12:00:00.000Z",
 * also without fraction, or with a +00:00 offset) into seconds since the
 * epoch.  Returns 0, or -1 when s is not such a time.
 */
int ec2_parse_time(const char *s, long long *out);

/*
 * Generic parse of a response whose only content is <return>true</return>
 * (DeleteKeyPair, DeleteSecurityGroup, Authorize..., CreateTags, ...):
 * checks the root is <ACTIONResponse>; a <return>false</return> is an
 * error (GPUCTL_ERR_AWS, code "ReturnFalse").
 */
int ec2_parse_return(const char *action, const char *xml, size_t len,
		     struct gpuctl_err *err);

/* ---- DescribeImages ---- */

struct ec2_image {
	char *id; /* required */
	char *name;
	char *description;
	char *owner_id;
	char *owner_alias;	   /* "amazon", "aws-marketplace", or NULL */
	char *creation_date;	   /* as sent, e.g. 2016-08-01T12:00:00.000Z */
	long long creation_epoch;  /* 0 when absent or unreadable */
	char *state;		   /* "available", "pending", ... */
	char *architecture;	   /* "x86_64", "arm64", ... */
	char *platform_details;	   /* "Linux/UNIX", ... */
	char *platform;		   /* "windows" or NULL */
	char *root_device_name;	   /* "/dev/sda1" */
	char *root_device_type;	   /* "ebs" or "instance-store" */
	char *virtualization_type; /* "hvm" or "paravirtual" */
	char *image_location;
	char *image_type; /* "machine", ... */
	int is_public;
	long root_volume_size; /* GiB of the root device's snapshot, 0: ? */
	struct ec2_tag *tags;
	size_t ntags;
};

struct ec2_image_list {
	struct ec2_image *items;
	size_t n;
	char *next_token; /* of the last page parsed; NULL at the end */
};

void ec2_image_list_release(struct ec2_image_list *l);
/* Uses ids (ImageId.N), owners (Owner.N), filters, max_results. */
int ec2_describe_images(struct ec2_client *c, const struct ec2_describe *q,
			struct ec2_image_list *out, struct gpuctl_err *err);
int ec2_parse_describe_images(const char *xml, size_t len,
			      struct ec2_image_list *out,
			      struct gpuctl_err *err);

/* ---- DescribeRegions, DescribeAvailabilityZones ---- */

struct ec2_region {
	char *name; /* required */
	char *endpoint;
	char *opt_in_status;
};

struct ec2_region_list {
	struct ec2_region *items;
	size_t n;
	char *next_token;
};

void ec2_region_list_release(struct ec2_region_list *l);
/* Uses names (RegionName.N) and filters. */
int ec2_describe_regions(struct ec2_client *c, const struct ec2_describe *q,
			 struct ec2_region_list *out, struct gpuctl_err *err);
int ec2_parse_describe_regions(const char *xml, size_t len,
			       struct ec2_region_list *out,
			       struct gpuctl_err *err);

struct ec2_zone {
	char *name;  /* required, e.g. "us-west-1a" */
	char *state; /* "available", ... */
	char *region_name;
	char *zone_id; /* "usw1-az1" */
};

struct ec2_zone_list {
	struct ec2_zone *items;
	size_t n;
	char *next_token;
};

void ec2_zone_list_release(struct ec2_zone_list *l);
/* Uses names (ZoneName.N) and filters. */
int ec2_describe_availability_zones(struct ec2_client *c,
				    const struct ec2_describe *q,
				    struct ec2_zone_list *out,
				    struct gpuctl_err *err);
int ec2_parse_describe_availability_zones(const char *xml, size_t len,
					  struct ec2_zone_list *out,
					  struct gpuctl_err *err);

/* ---- DescribeAccountAttributes ---- */

struct ec2_account_attribute {
	char *name; /* required, e.g. "max-instances", "default-vpc" */
	char **values;
	size_t nvalues;
};

struct ec2_account_attribute_list {
	struct ec2_account_attribute *items;
	size_t n;
	char *next_token;
};

void ec2_account_attribute_list_release(struct ec2_account_attribute_list *l);
/* The first value of attribute name, or NULL (borrowed from l). */
const char *
ec2_account_attribute_value(const struct ec2_account_attribute_list *l,
			    const char *name);
/* Uses names (AttributeName.N). */
int ec2_describe_account_attributes(struct ec2_client *c,
				    const struct ec2_describe *q,
				    struct ec2_account_attribute_list *out,
				    struct gpuctl_err *err);
int ec2_parse_describe_account_attributes(
    const char *xml, size_t len, struct ec2_account_attribute_list *out,
    struct gpuctl_err *err);

/* ---- Key pairs ---- */

struct ec2_key_pair {
	char *id;   /* keyPairId; NULL in old responses */
	char *name; /* required */
	char *fingerprint;
	char *type;	   /* "rsa" or "ed25519"; NULL when not sent */
	char *create_time; /* DescribeKeyPairs only */
	char *public_key;  /* DescribeKeyPairs with include_public_key */
	/*
	 * SECRET: the unencrypted private key (PEM or OpenSSH), CreateKeyPair
	 * only, else NULL.  material_len is its length.  ec2_key_pair_release()
	 * wipes it; a caller that copies it wipes its copy (secure_free_str).
	 */
	char *material;
	size_t material_len;
	struct ec2_tag *tags;
	size_t ntags;
};

struct ec2_key_pair_list {
	struct ec2_key_pair *items;
	size_t n;
	char *next_token;
};

/* Wipes the key material, frees everything, leaves k zeroed. */
void ec2_key_pair_release(struct ec2_key_pair *k);
void ec2_key_pair_list_release(struct ec2_key_pair_list *l);

/*
 * CreateKeyPair: name, key_type "rsa" or "ed25519" (NULL: EC2's default,
 * rsa), tags (TagSpecification ResourceType=key-pair).  out must be
 * zero-initialised; release it in every case.  The response body, which
 * holds the private key, is wiped before it is freed.
 */
int ec2_create_key_pair(struct ec2_client *c, const char *name,
			const char *key_type, const struct ec2_param *tags,
			size_t ntags, struct ec2_key_pair *out,
			struct gpuctl_err *err);
/* The parse wipes every intermediate copy of the key material. */
int ec2_parse_create_key_pair(const char *xml, size_t len,
			      struct ec2_key_pair *out, struct gpuctl_err *err);
/*
 * ImportKeyPair: public_key is the OpenSSH public key line ("ssh-ed25519
 * AAAA... comment"); it is base64-encoded for the request.
 */
int ec2_import_key_pair(struct ec2_client *c, const char *name,
			const char *public_key, const struct ec2_param *tags,
			size_t ntags, struct ec2_key_pair *out,
			struct gpuctl_err *err);
int ec2_parse_import_key_pair(const char *xml, size_t len,
			      struct ec2_key_pair *out, struct gpuctl_err *err);
/*
 * Uses names (KeyName.N), ids (KeyPairId.N), filters,
 * include_public_key.  A name that does not exist fails with
 * GPUCTL_ERR_AWS and err->code "InvalidKeyPair.NotFound".
 */
int ec2_describe_key_pairs(struct ec2_client *c, const struct ec2_describe *q,
			   struct ec2_key_pair_list *out,
			   struct gpuctl_err *err);
int ec2_parse_describe_key_pairs(const char *xml, size_t len,
				 struct ec2_key_pair_list *out,
				 struct gpuctl_err *err);
int ec2_delete_key_pair(struct ec2_client *c, const char *name,
			struct gpuctl_err *err);

/* ---- Security groups ---- */

struct ec2_ip_range {
	char *cidr; /* "203.0.113.7/32" or an IPv6 CIDR; required */
	char *description;
};

struct ec2_group_ref {
	char *id;
	char *name;
	char *user_id; /* group pairs only */
};

struct ec2_permission {
	char *protocol; /* "tcp", "udp", "icmp", "-1" (all), ...; required */
	int from_port;	/* -1 when absent (all ports) */
	int to_port;	/* -1 when absent */
	struct ec2_ip_range *ranges; /* ipRanges then ipv6Ranges */
	size_t nranges;
	struct ec2_group_ref *groups; /* groups (userIdGroupPairs) */
	size_t ngroups;
};

struct ec2_security_group {
	char *id; /* required */
	char *name;
	char *description;
	char *vpc_id;
	char *owner_id;
	struct ec2_permission *ingress; /* ipPermissions */
	size_t ningress;
	struct ec2_permission *egress; /* ipPermissionsEgress */
	size_t negress;
	struct ec2_tag *tags;
	size_t ntags;
};

struct ec2_security_group_list {
	struct ec2_security_group *items;
	size_t n;
	char *next_token;
};

void ec2_security_group_list_release(struct ec2_security_group_list *l);

/*
 * CreateSecurityGroup: vpc_id may be NULL (the default VPC); tags go in a
 * TagSpecification ResourceType=security-group.  *group_id (caller frees)
 * is set on success.
 */
int ec2_create_security_group(struct ec2_client *c, const char *name,
			      const char *description, const char *vpc_id,
			      const struct ec2_param *tags, size_t ntags,
			      char **group_id, struct gpuctl_err *err);
int ec2_parse_create_security_group(const char *xml, size_t len,
				    char **group_id, struct gpuctl_err *err);
/* Uses ids (GroupId.N), names (GroupName.N), filters, max_results. */
int ec2_describe_security_groups(struct ec2_client *c,
				 const struct ec2_describe *q,
				 struct ec2_security_group_list *out,
				 struct gpuctl_err *err);
int ec2_parse_describe_security_groups(const char *xml, size_t len,
				       struct ec2_security_group_list *out,
				       struct gpuctl_err *err);

/*
 * One rule to authorize or revoke (borrowed).  protocol: "tcp", "udp",
 * "icmp" or "-1" (all; ports are then not sent).  For tcp and udp the
 * ports are a range; for icmp from_port is the type and to_port the code
 * (-1: all).  cidr is IPv4 (IpRanges) or, when it holds a ':', IPv6
 * (Ipv6Ranges).  description may be NULL.
 */
struct ec2_rule {
	const char *protocol;
	int from_port;
	int to_port;
	const char *cidr;
	const char *description;
};

int ec2_authorize_ingress(struct ec2_client *c, const char *group_id,
			  const struct ec2_rule *rule, struct gpuctl_err *err);
int ec2_authorize_egress(struct ec2_client *c, const char *group_id,
			 const struct ec2_rule *rule, struct gpuctl_err *err);
int ec2_revoke_ingress(struct ec2_client *c, const char *group_id,
		       const struct ec2_rule *rule, struct gpuctl_err *err);
int ec2_revoke_egress(struct ec2_client *c, const char *group_id,
		      const struct ec2_rule *rule, struct gpuctl_err *err);
int ec2_delete_security_group(struct ec2_client *c, const char *group_id,
			      struct gpuctl_err *err);

/* ---- VPCs and subnets ---- */

struct ec2_vpc {
	char *id; /* required */
	char *cidr_block;
	char *state;
	char *owner_id;
	int is_default;
	struct ec2_tag *tags;
	size_t ntags;
};

struct ec2_vpc_list {
	struct ec2_vpc *items;
	size_t n;
	char *next_token;
};

void ec2_vpc_list_release(struct ec2_vpc_list *l);
/* Uses ids (VpcId.N), filters (e.g. isDefault=true), max_results. */
int ec2_describe_vpcs(struct ec2_client *c, const struct ec2_describe *q,
		      struct ec2_vpc_list *out, struct gpuctl_err *err);
int ec2_parse_describe_vpcs(const char *xml, size_t len,
			    struct ec2_vpc_list *out, struct gpuctl_err *err);

struct ec2_subnet {
	char *id; /* required */
	char *vpc_id;
	char *availability_zone;
	char *availability_zone_id;
	char *cidr_block;
	char *state;
	long available_ips;
	int default_for_az;
	int map_public_ip_on_launch;
	struct ec2_tag *tags;
	size_t ntags;
};

struct ec2_subnet_list {
	struct ec2_subnet *items;
	size_t n;
	char *next_token;
};

void ec2_subnet_list_release(struct ec2_subnet_list *l);
/*
 * Uses ids (SubnetId.N), filters (vpc-id, default-for-az,
 * availability-zone, ...), max_results.
 */
int ec2_describe_subnets(struct ec2_client *c, const struct ec2_describe *q,
			 struct ec2_subnet_list *out, struct gpuctl_err *err);
int ec2_parse_describe_subnets(const char *xml, size_t len,
			       struct ec2_subnet_list *out,
			       struct gpuctl_err *err);

/* ---- Instances ---- */

struct ec2_block_device {
	char *device_name; /* required, "/dev/sda1" */
	char *volume_id;
	char *status; /* "attached", ... */
	int delete_on_termination;
};

struct ec2_instance {
	char *id; /* required */
	char *reservation_id;
	char *image_id;
	char *instance_type;
	char *state_name; /* "pending", "running", ...; NULL when not sent */
	int state_code;	  /* 0 pending, 16 running, 32 shutting-down, ... */
	char *state_reason_code; /* "Client.UserInitiatedShutdown", ... */
	char *state_reason_message;
	char *reason; /* stateTransitionReason */
	char *key_name;
	char *public_ip;	/* ipAddress */
	char *public_dns;	/* dnsName; NULL (not "") when it is empty */
	char *private_ip;	/* privateIpAddress */
	char *private_dns;	/* privateDnsName; NULL when empty */
	char *launch_time;	/* as sent */
	long long launch_epoch; /* 0 when absent or unreadable */
	char *availability_zone;
	char *subnet_id;
	char *vpc_id;
	char *client_token; /* NULL when empty */
	char *lifecycle;    /* "spot", or NULL (on-demand) */
	char *platform_details;
	char *platform; /* "windows" or NULL */
	char *architecture;
	char *root_device_name;
	char *root_device_type;
	struct ec2_group_ref *groups; /* security groups (id, name) */
	size_t ngroups;
	struct ec2_block_device *devices;
	size_t ndevices;
	struct ec2_tag *tags;
	size_t ntags;
};

struct ec2_instance_list {
	struct ec2_instance *items;
	size_t n;
	char *next_token;
	/*
	 * Set by the caller before DescribeInstances: keep only the ID, the
	 * type, the state, the addresses and DNS names, the launch time and
	 * the tags (what `gpuctl list` prints).  10,000 instances then take
	 * a third of the memory.
	 */
	int brief;
};

void ec2_instance_list_release(struct ec2_instance_list *l);
/* The value of tag key on i, or NULL (borrowed from i). */
const char *ec2_instance_tag(const struct ec2_instance *i, const char *key);
/* The instance with this ID in l, or NULL (borrowed from l). */
const struct ec2_instance *
ec2_instance_list_find(const struct ec2_instance_list *l, const char *id);

/*
 * Uses ids (InstanceId.N), filters (e.g. tag:gpuctl:managed,
 * instance-state-name, tag:Name), max_results (not with ids: EC2 refuses
 * the combination).
 */
int ec2_describe_instances(struct ec2_client *c, const struct ec2_describe *q,
			   struct ec2_instance_list *out,
			   struct gpuctl_err *err);
/* One page: appends its instances and sets out->next_token. */
int ec2_parse_describe_instances(const char *xml, size_t len,
				 struct ec2_instance_list *out,
				 struct gpuctl_err *err);

/* RunInstances.  All borrowed. */
struct ec2_run_params {
	const char *image_id;		       /* required */
	const char *instance_type;	       /* required */
	int min_count;			       /* 0: 1 */
	int max_count;			       /* 0: min_count */
	const char *key_name;		       /* NULL: none */
	const char *const *security_group_ids; /* SecurityGroupId.N */
	size_t nsecurity_group_ids;
	const char *subnet_id;	       /* NULL: the default subnet */
	const char *availability_zone; /* Placement.AvailabilityZone */
	/*
	 * Root volume: sent as BlockDeviceMapping.1 when root_device_name is
	 * set and volume_size_gib or volume_type is too.  DeleteOnTermination
	 * is true unless keep_root_volume.
	 */
	const char *root_device_name;
	int volume_size_gib;	 /* 0: the image's */
	const char *volume_type; /* "gp3", ...; NULL: EC2's default */
	int keep_root_volume;
	int spot; /* InstanceMarketOptions.MarketType=spot */
	/* raw bytes (a cloud-init script); base64-encoded for the request */
	const char *user_data;
	size_t user_data_len;
	/* applied to the instance AND its volumes (TagSpecification) */
	const struct ec2_param *tags;
	size_t ntags;
	/* required (idempotency; at most 64 ASCII characters) */
	const char *client_token;
};

/*
 * Refuses (GPUCTL_ERR_USAGE, no request) without a client token, image or
 * type.  Appends the reservation's instances to out.
 */
int ec2_run_instances(struct ec2_client *c, const struct ec2_run_params *p,
		      struct ec2_instance_list *out, struct gpuctl_err *err);
int ec2_parse_run_instances(const char *xml, size_t len,
			    struct ec2_instance_list *out,
			    struct gpuctl_err *err);

/* ---- DescribeInstanceStatus ---- */

struct ec2_instance_status {
	char *instance_id; /* required */
	char *availability_zone;
	char *state_name;
	int state_code;
	char *system_status;   /* "ok", "initializing", "impaired", ... */
	char *instance_status; /* same values */
};

struct ec2_instance_status_list {
	struct ec2_instance_status *items;
	size_t n;
	char *next_token;
};

void ec2_instance_status_list_release(struct ec2_instance_status_list *l);
/* Uses ids (InstanceId.N), filters, include_all_instances, max_results. */
int ec2_describe_instance_status(struct ec2_client *c,
				 const struct ec2_describe *q,
				 struct ec2_instance_status_list *out,
				 struct gpuctl_err *err);
int ec2_parse_describe_instance_status(const char *xml, size_t len,
				       struct ec2_instance_status_list *out,
				       struct gpuctl_err *err);

/* ---- Stop, Start, Terminate, Reboot ---- */

struct ec2_state_change {
	char *instance_id; /* required */
	char *previous_state;
	int previous_code;
	char *current_state;
	int current_code;
};

struct ec2_state_change_list {
	struct ec2_state_change *items;
	size_t n;
	char *next_token; /* always NULL */
};

void ec2_state_change_list_release(struct ec2_state_change_list *l);
int ec2_stop_instances(struct ec2_client *c, const char *const *ids,
		       size_t nids, struct ec2_state_change_list *out,
		       struct gpuctl_err *err);
int ec2_start_instances(struct ec2_client *c, const char *const *ids,
			size_t nids, struct ec2_state_change_list *out,
			struct gpuctl_err *err);
int ec2_terminate_instances(struct ec2_client *c, const char *const *ids,
			    size_t nids, struct ec2_state_change_list *out,
			    struct gpuctl_err *err);
/* action: "StopInstances", "StartInstances" or "TerminateInstances". */
int ec2_parse_state_changes(const char *action, const char *xml, size_t len,
			    struct ec2_state_change_list *out,
			    struct gpuctl_err *err);
int ec2_reboot_instances(struct ec2_client *c, const char *const *ids,
			 size_t nids, struct gpuctl_err *err);

/* ---- Tags ---- */

int ec2_create_tags(struct ec2_client *c, const char *const *resource_ids,
		    size_t nids, const struct ec2_param *tags, size_t ntags,
		    struct gpuctl_err *err);
/* A tag with a NULL value is deleted whatever its value. */
int ec2_delete_tags(struct ec2_client *c, const char *const *resource_ids,
		    size_t nids, const struct ec2_param *tags, size_t ntags,
		    struct gpuctl_err *err);

/* ---- Volumes ---- */

struct ec2_volume_attachment {
	char *instance_id;
	char *device;
	char *state; /* "attached", ... */
	int delete_on_termination;
};

struct ec2_volume {
	char *id; /* required */
	long size_gib;
	char *state; /* "in-use", "available", ... */
	char *volume_type;
	char *availability_zone;
	char *snapshot_id; /* NULL when empty */
	char *create_time;
	struct ec2_volume_attachment *attachments;
	size_t nattachments;
	struct ec2_tag *tags;
	size_t ntags;
};

struct ec2_volume_list {
	struct ec2_volume *items;
	size_t n;
	char *next_token;
};

void ec2_volume_list_release(struct ec2_volume_list *l);
/* Uses ids (VolumeId.N), filters (attachment.instance-id, ...). */
int ec2_describe_volumes(struct ec2_client *c, const struct ec2_describe *q,
			 struct ec2_volume_list *out, struct gpuctl_err *err);
int ec2_parse_describe_volumes(const char *xml, size_t len,
			       struct ec2_volume_list *out,
			       struct gpuctl_err *err);

/* ---- Snapshots ---- */

struct ec2_snapshot {
	char *id; /* required */
	char *volume_id;
	char *state;	  /* "pending", "completed", "error" */
	char *progress;	  /* as sent, "80%" */
	int progress_pct; /* 0..100; 0 when absent or unreadable */
	char *start_time;
	long long start_epoch;
	char *description;
	char *owner_id;
	long volume_size_gib;
	struct ec2_tag *tags;
	size_t ntags;
};

struct ec2_snapshot_list {
	struct ec2_snapshot *items;
	size_t n;
	char *next_token;
};

void ec2_snapshot_release(struct ec2_snapshot *s);
void ec2_snapshot_list_release(struct ec2_snapshot_list *l);
/*
 * Tags go in TagSpecification ResourceType=snapshot; description may be
 * NULL.
 */
int ec2_create_snapshot(struct ec2_client *c, const char *volume_id,
			const char *description, const struct ec2_param *tags,
			size_t ntags, struct ec2_snapshot *out,
			struct gpuctl_err *err);
int ec2_parse_create_snapshot(const char *xml, size_t len,
			      struct ec2_snapshot *out, struct gpuctl_err *err);
/* Uses ids (SnapshotId.N), owners (Owner.N, e.g. "self"), filters. */
int ec2_describe_snapshots(struct ec2_client *c, const struct ec2_describe *q,
			   struct ec2_snapshot_list *out,
			   struct gpuctl_err *err);
int ec2_parse_describe_snapshots(const char *xml, size_t len,
				 struct ec2_snapshot_list *out,
				 struct gpuctl_err *err);
int ec2_delete_snapshot(struct ec2_client *c, const char *snapshot_id,
			struct gpuctl_err *err);

/* ---- GetConsoleOutput ---- */

struct ec2_console_output {
	char *instance_id;
	char *timestamp;
	/*
	 * The decoded console text (never NULL after a successful call; ""
	 * when the instance has none yet), output_len bytes plus a NUL.  It
	 * may hold any byte, NUL included: use output_len.
	 */
	char *output;
	size_t output_len;
};

void ec2_console_output_release(struct ec2_console_output *o);
/* latest: Latest=true (the most recent output, Nitro instances). */
int ec2_get_console_output(struct ec2_client *c, const char *instance_id,
			   int latest, struct ec2_console_output *out,
			   struct gpuctl_err *err);
int ec2_parse_get_console_output(const char *xml, size_t len,
				 struct ec2_console_output *out,
				 struct gpuctl_err *err);

#endif
