/*
 * Building Query API parameters (Filter.N.Name, TagSpecification.N...,
 * InstanceId.N) and the paging loop's bookkeeping.
 */
#include "ec2_int.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* Pages of one Describe call before we decide the server loops. */
#define EC2_MAX_PAGES 10000

void ec2_req_init(struct ec2_req *r)
{
	r->p = NULL;
	r->n = 0;
	r->alloc = 0;
}

void ec2_req_release(struct ec2_req *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free((char *)r->p[i].key);
		secure_free_str((char *)r->p[i].value);
	}
	free(r->p);
	ec2_req_init(r);
}

static void add_owned(struct ec2_req *r, char *key, char *value)
{
	if (r->n == r->alloc) {
		r->alloc = r->alloc ? r->alloc * 2 : 16;
		r->p = xrealloc(r->p, r->alloc * sizeof(*r->p));
	}
	r->p[r->n].key = key;
	r->p[r->n].value = value;
	r->n++;
}

void ec2_req_add(struct ec2_req *r, const char *key, const char *value)
{
	add_owned(r, xstrdup(key), xstrdup(value));
}

void ec2_req_addf(struct ec2_req *r, const char *value, const char *keyfmt, ...)
{
	struct buf k = BUF_INIT;
	va_list ap;

	va_start(ap, keyfmt);
	buf_vaddf(&k, keyfmt, ap);
	va_end(ap);
	add_owned(r, buf_detach(&k, NULL), xstrdup(value));
}

void ec2_req_del(struct ec2_req *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (strcmp(r->p[i].key, key))
			continue;
		free((char *)r->p[i].key);
		secure_free_str((char *)r->p[i].value);
		memmove(r->p + i, r->p + i + 1, (r->n - i - 1) * sizeof(*r->p));
		r->n--;
		return;
	}
}

void ec2_req_list(struct ec2_req *r, const char *prefix, const char *const *v,
		  size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ec2_req_addf(r, v[i], "%s.%zu", prefix, i + 1);
}

void ec2_req_filters(struct ec2_req *r, const struct ec2_filter *f, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		ec2_req_addf(r, f[i].name, "Filter.%zu.Name", i + 1);
		for (j = 0; j < f[i].nvalues; j++)
			ec2_req_addf(r, f[i].values[j], "Filter.%zu.Value.%zu",
				     i + 1, j + 1);
	}
}

void ec2_req_tags(struct ec2_req *r, const char *prefix,
		  const struct ec2_param *tags, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		ec2_req_addf(r, tags[i].key, "%s.%zu.Key", prefix, i + 1);
		if (tags[i].value)
			ec2_req_addf(r, tags[i].value, "%s.%zu.Value", prefix,
				     i + 1);
	}
}

void ec2_req_tag_spec(struct ec2_req *r, int spec, const char *type,
		      const struct ec2_param *tags, size_t ntags)
{
	char *prefix;

	if (!ntags)
		return;
	ec2_req_addf(r, type, "TagSpecification.%d.ResourceType", spec);
	prefix = xasprintf("TagSpecification.%d.Tag", spec);
	ec2_req_tags(r, prefix, tags, ntags);
	free(prefix);
}

char *ec2_base64(const void *data, size_t len)
{
	const unsigned char *in = data;
	size_t chunk, off = 0, o = 0;
	char *r;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		abort();
	r = xmalloc(4 * ((len + 2) / 3) + 1);
	/* EVP_EncodeBlock takes an int: go by whole 3-byte groups */
	do {
		chunk = len - off > 3 * 4096 ? 3 * 4096 : len - off;
		o += (size_t)EVP_EncodeBlock((unsigned char *)r + o, in + off,
					     (int)chunk);
		off += chunk;
	} while (off < len);
	r[o] = '\0';
	return r;
}

void ec2_req_describe(struct ec2_req *r, const struct ec2_describe *q,
		      const char *id_key, const char *name_key)
{
	char num[32];

	if (!q)
		return;
	if (id_key)
		ec2_req_list(r, id_key, q->ids, q->nids);
	if (name_key)
		ec2_req_list(r, name_key, q->names, q->nnames);
	ec2_req_filters(r, q->filters, q->nfilters);
	if (q->max_results > 0) {
		snprintf(num, sizeof(num), "%d", q->max_results);
		ec2_req_add(r, "MaxResults", num);
	}
}

int ec2_req_call(struct ec2_client *c, const char *action,
		 const struct ec2_req *r, struct buf *body,
		 struct gpuctl_err *err)
{
	return ec2_call(c, action, r->p, r->n, body, err);
}

/*
 * After a page: 1 when *next_token asks for another page (NextToken set in
 * r), 0 at the end, -1 with err filled when the server loops.
 */
static int next_page(struct ec2_req *r, const char *action, char **next_token,
		     char **prev, int *pages, struct gpuctl_err *err)
{
	ec2_req_del(r, "NextToken");
	if (!*next_token)
		return 0;
	if (*prev && !strcmp(*prev, *next_token)) {
		err_set(err, GPUCTL_ERR_PARSE,
			"unexpected response to %s: the same NextToken twice",
			action);
		return -1;
	}
	if (++*pages >= EC2_MAX_PAGES) {
		err_set(err, GPUCTL_ERR_PARSE,
			"unexpected response to %s: more than %d pages", action,
			EC2_MAX_PAGES);
		return -1;
	}
	free(*prev);
	*prev = xstrdup(*next_token);
	ec2_req_add(r, "NextToken", *next_token);
	return 1;
}

int ec2_req_pages(struct ec2_client *c, const char *action, struct ec2_req *r,
		  int (*parse)(const char *xml, size_t len, void *out,
			       struct gpuctl_err *err),
		  void *out, char **next_token, struct gpuctl_err *err)
{
	struct buf body = BUF_INIT;
	char *prev = NULL;
	int pages = 0, more, rc = -1;

	for (;;) {
		if (ec2_req_call(c, action, r, &body, err))
			goto out;
		if (parse(body.data, body.len, out, err))
			goto out;
		more = next_page(r, action, next_token, &prev, &pages, err);
		if (more < 0)
			goto out;
		if (!more)
			break;
	}
	rc = 0;
out:
	ec2_req_del(r, "NextToken");
	buf_release(&body);
	free(prev);
	return rc;
}

int ec2_req_simple(struct ec2_client *c, const char *action,
		   const struct ec2_req *r, struct gpuctl_err *err)
{
	struct buf body = BUF_INIT;
	int rc = -1;

	if (ec2_req_call(c, action, r, &body, err))
		goto out;
	if (ec2_parse_return(action, body.data, body.len, err))
		goto out;
	rc = 0;
out:
	buf_release(&body);
	return rc;
}

int ec2_parse_return(const char *action, const char *xml, size_t len,
		     struct gpuctl_err *err)
{
	struct ec2_doc d;
	char *ret = NULL;
	int rc = -1;

	if (ec2_xml_open(&d, action, xml, len, err))
		return -1;
	ret = ec2_xml_text(d.root, "return");
	if (ret && strcmp(ret, "true")) {
		err_set(err, GPUCTL_ERR_AWS, "%s returned false", action);
		err->code = xstrdup("ReturnFalse");
		goto out;
	}
	rc = 0;
out:
	free(ret);
	ec2_xml_close(&d, 0);
	return rc;
}
