/*
 * Key pairs: CreateKeyPair, ImportKeyPair, DescribeKeyPairs,
 * DeleteKeyPair.  CreateKeyPair's answer holds a private key: the response
 * body, libxml2's copies and every intermediate string are wiped.
 */
#include "ec2_int.h"

#include <stdlib.h>
#include <string.h>

void ec2_key_pair_release(struct ec2_key_pair *k)
{
	free(k->id);
	free(k->name);
	free(k->fingerprint);
	free(k->type);
	free(k->create_time);
	free(k->public_key);
	if (k->material)
		secure_free(k->material, k->material_len + 1);
	ec2_tags_free(k->tags, k->ntags);
	memset(k, 0, sizeof(*k));
}

void ec2_key_pair_list_release(struct ec2_key_pair_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		ec2_key_pair_release(&l->items[i]);
	free(l->items);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

static int key_from(struct ec2_doc *d, xmlNode *n, struct ec2_key_pair *k,
		    struct gpuctl_err *err)
{
	if (ec2_xml_need(d, n, "keyName", &k->name, err))
		return -1;
	k->id = ec2_xml_text_ne(n, "keyPairId");
	k->fingerprint = ec2_xml_text_ne(n, "keyFingerprint");
	k->type = ec2_xml_text_ne(n, "keyType");
	k->create_time = ec2_xml_text_ne(n, "createTime");
	k->public_key = ec2_xml_text_ne(n, "publicKey");
	return ec2_xml_tags(d, n, &k->tags, &k->ntags, err);
}

int ec2_parse_create_key_pair(const char *xml, size_t len,
			      struct ec2_key_pair *out, struct gpuctl_err *err)
{
	struct ec2_doc d;
	int rc = -1;

	if (ec2_xml_open(&d, "CreateKeyPair", xml, len, err))
		return -1;
	ec2_key_pair_release(out);
	if (key_from(&d, d.root, out, err))
		goto out;
	out->material =
	    ec2_xml_text_secret(d.root, "keyMaterial", &out->material_len);
	if (!out->material || !out->material_len) {
		ec2_xml_fail(&d, err, "no <keyMaterial>");
		goto out;
	}
	rc = 0;
out:
	ec2_xml_close(&d, 1);
	return rc;
}

int ec2_create_key_pair(struct ec2_client *c, const char *name,
			const char *key_type, const struct ec2_param *tags,
			size_t ntags, struct ec2_key_pair *out,
			struct gpuctl_err *err)
{
	struct ec2_req r;
	struct buf body = BUF_INIT;
	int rc = -1;

	ec2_req_init(&r);
	ec2_req_add(&r, "KeyName", name);
	if (key_type)
		ec2_req_add(&r, "KeyType", key_type);
	ec2_req_tag_spec(&r, 1, "key-pair", tags, ntags);
	if (ec2_call_secret(c, "CreateKeyPair", r.p, r.n, &body, err))
		goto out;
	if (ec2_parse_create_key_pair(body.data, body.len, out, err))
		goto out;
	rc = 0;
out:
	buf_release_secret(&body);
	ec2_req_release(&r);
	return rc;
}

int ec2_parse_import_key_pair(const char *xml, size_t len,
			      struct ec2_key_pair *out, struct gpuctl_err *err)
{
	struct ec2_doc d;
	int rc;

	if (ec2_xml_open(&d, "ImportKeyPair", xml, len, err))
		return -1;
	ec2_key_pair_release(out);
	rc = key_from(&d, d.root, out, err);
	ec2_xml_close(&d, 0);
	return rc;
}

int ec2_import_key_pair(struct ec2_client *c, const char *name,
			const char *public_key, const struct ec2_param *tags,
			size_t ntags, struct ec2_key_pair *out,
			struct gpuctl_err *err)
{
	struct ec2_req r;
	struct buf body = BUF_INIT;
	char *b64;
	int rc = -1;

	ec2_req_init(&r);
	ec2_req_add(&r, "KeyName", name);
	b64 = ec2_base64(public_key, strlen(public_key));
	ec2_req_add(&r, "PublicKeyMaterial", b64);
	free(b64);
	ec2_req_tag_spec(&r, 1, "key-pair", tags, ntags);
	if (ec2_req_call(c, "ImportKeyPair", &r, &body, err))
		goto out;
	if (ec2_parse_import_key_pair(body.data, body.len, out, err))
		goto out;
	rc = 0;
out:
	buf_release(&body);
	ec2_req_release(&r);
	return rc;
}

int ec2_parse_describe_key_pairs(const char *xml, size_t len,
				 struct ec2_key_pair_list *out,
				 struct gpuctl_err *err)
{
	struct ec2_doc d;
	xmlNode *set, *it = NULL;
	int rc = -1;

	if (ec2_xml_open(&d, "DescribeKeyPairs", xml, len, err))
		return -1;
	set = ec2_xml_child(d.root, "keySet");
	while ((it = ec2_xml_item(set, it)))
		if (key_from(&d, it, EC2_APPEND(out->items, out->n), err))
			goto out;
	ec2_xml_next_token(d.root, &out->next_token);
	rc = 0;
out:
	ec2_xml_close(&d, 0);
	return rc;
}

static int parse_keys(const char *xml, size_t len, void *out,
		      struct gpuctl_err *err)
{
	return ec2_parse_describe_key_pairs(xml, len, out, err);
}

int ec2_describe_key_pairs(struct ec2_client *c, const struct ec2_describe *q,
			   struct ec2_key_pair_list *out,
			   struct gpuctl_err *err)
{
	struct ec2_req r;
	int rc;

	ec2_req_init(&r);
	ec2_req_describe(&r, q, "KeyPairId", "KeyName");
	if (q && q->include_public_key)
		ec2_req_add(&r, "IncludePublicKey", "true");
	rc = ec2_req_pages(c, "DescribeKeyPairs", &r, parse_keys, out,
			   &out->next_token, err);
	ec2_req_release(&r);
	return rc;
}

int ec2_delete_key_pair(struct ec2_client *c, const char *name,
			struct gpuctl_err *err)
{
	struct ec2_req r;
	int rc;

	ec2_req_init(&r);
	ec2_req_add(&r, "KeyName", name);
	rc = ec2_req_simple(c, "DeleteKeyPair", &r, err);
	ec2_req_release(&r);
	return rc;
}
