/*
 * sts: STS over the Query client (include/gpuctl/sts.h): the same
 * transport, retries and signer as EC2's, another signing name, Version
 * and namespace.
 */
#include "gpuctl/sts.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "gpuctl/ec2.h"
#include "gpuctl/util.h"

#include "ec2_int.h"

#define STS_NS "https://sts.amazonaws.com/doc/"

int ec2_parse_sts(const char *action, const char *xml, size_t len,
		  struct creds_sts_result *out, struct gpuctl_err *err)
{
	struct ec2_doc d = {0};
	xmlNode *res, *cr, *user;
	char *want = xasprintf("%sResponse", action);
	char *result = xasprintf("%sResult", action);
	int rc = -1;

	d.action = action;
	d.doc = ec2_xml_read(xml, len);
	d.root = d.doc ? xmlDocGetRootElement(d.doc) : NULL;
	if (!d.root || strcmp((const char *)d.root->name, want) ||
	    !d.root->ns || !d.root->ns->href ||
	    strncmp((const char *)d.root->ns->href, STS_NS, strlen(STS_NS))) {
		err_set(err, GPUCTL_ERR_PARSE,
			"unexpected response to STS %s: not an STS answer",
			action);
		goto out;
	}
	res = ec2_xml_child(d.root, result);
	cr = ec2_xml_child(res, "Credentials");
	user = ec2_xml_child(res, "AssumedRoleUser");
	/*
	 * Not ec2_xml_text_secret(): its wipe runs on past its node, over the
	 * fields after it.  Copies freed by libxml2 are wiped (xml.c's
	 * allocator), and the whole tree is when the document is closed.
	 */
	out->access_key_id = ec2_xml_text_ne(cr, "AccessKeyId");
	out->secret_access_key = ec2_xml_text_ne(cr, "SecretAccessKey");
	out->session_token = ec2_xml_text_ne(cr, "SessionToken");
	out->expiration = ec2_xml_text_ne(cr, "Expiration");
	out->assumed_role_id = ec2_xml_text_ne(user, "AssumedRoleId");
	out->arn = ec2_xml_text_ne(user, "Arn");
	if (!out->access_key_id || !out->secret_access_key ||
	    !out->session_token || !out->expiration) {
		creds_sts_result_release(out);
		err_set(err, GPUCTL_ERR_PARSE,
			"unexpected response to STS %s: no Credentials",
			action);
		goto out;
	}
	rc = 0;
out:
	ec2_xml_close(&d, 1);
	free(want);
	free(result);
	return rc;
}

int ec2_sts_call(void *arg, const struct creds_sts_request *req,
		 struct creds_sts_result *out, struct gpuctl_err *err)
{
	struct ec2_client_options o = {0};
	struct ec2_param *p;
	struct ec2_client *c;
	struct buf body = BUF_INIT;
	size_t i;
	int rc = -1;

	(void)arg;
	o.endpoint_url = req->endpoint_url;
	o.region = req->region;
	o.ca_bundle = req->ca_bundle;
	o.access_key_id = req->access_key_id;
	o.secret_access_key = req->secret_access_key;
	o.session_token = req->session_token;
	o.service = "sts";
	o.api_version = EC2_STS_API_VERSION;
	c = ec2_client_new(&o, err);
	if (!c)
		return -1;
	p = xcalloc(req->nparams ? req->nparams : 1, sizeof(*p));
	for (i = 0; i < req->nparams; i++)
		p[i] = (struct ec2_param){req->params[i].key,
					  req->params[i].value};
	/* the answer holds keys: every copy of it is wiped */
	if (!ec2_call_secret(c, req->action, p, req->nparams, &body, err))
		rc = ec2_parse_sts(req->action, body.data, body.len, out, err);
	buf_release_secret(&body);
	free(p);
	ec2_client_free(c);
	return rc;
}
