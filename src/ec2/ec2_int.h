/*
 * ec2_int.h: what the files of src/ec2/ share, and nothing outside it
 * sees: the safe XML reader and the Query request builder.
 */
#ifndef GPUCTL_EC2_INT_H
#define GPUCTL_EC2_INT_H

#include <stddef.h>

#include <libxml/tree.h>

#include "gpuctl/ec2.h"
#include "gpuctl/err.h"
#include "gpuctl/util.h"

/* ---- requests ---- */

/* The parameters of one call; keys and values are owned copies. */
struct ec2_req {
	struct ec2_param *p;
	size_t n;
	size_t alloc;
};

void ec2_req_init(struct ec2_req *r);
/* Wipes the values (user data may be sensitive) and frees. */
void ec2_req_release(struct ec2_req *r);
void ec2_req_add(struct ec2_req *r, const char *key, const char *value);
void ec2_req_addf(struct ec2_req *r, const char *value, const char *keyfmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Removes the parameter key (e.g. NextToken) if present. */
void ec2_req_del(struct ec2_req *r, const char *key);
/* prefix.1, prefix.2, ... */
void ec2_req_list(struct ec2_req *r, const char *prefix, const char *const *v,
		  size_t n);
void ec2_req_filters(struct ec2_req *r, const struct ec2_filter *f, size_t n);
/* prefix.N.Key / prefix.N.Value (Tag.N...). */
void ec2_req_tags(struct ec2_req *r, const char *prefix,
		  const struct ec2_param *tags, size_t n);
/*
 * TagSpecification.spec.ResourceType=type and its tags; nothing when
 * ntags is 0.
 */
void ec2_req_tag_spec(struct ec2_req *r, int spec, const char *type,
		      const struct ec2_param *tags, size_t ntags);
/* Standard base64 (no newlines) of len bytes (caller frees). */
char *ec2_base64(const void *data, size_t len);
/* The common parts of a Describe request. */
void ec2_req_describe(struct ec2_req *r, const struct ec2_describe *q,
		      const char *id_key, const char *name_key);

int ec2_req_call(struct ec2_client *c, const char *action,
		 const struct ec2_req *r, struct buf *body,
		 struct gpuctl_err *err);
/*
 * Calls action with r, parses each page into out with parse (which appends
 * and sets *next_token) and follows NextToken to the end.  Refuses a
 * server that sends the same token twice or more than 10000 pages.
 */
int ec2_req_pages(struct ec2_client *c, const char *action, struct ec2_req *r,
		  int (*parse)(const char *xml, size_t len, void *out,
			       struct gpuctl_err *err),
		  void *out, char **next_token, struct gpuctl_err *err);
/* A call whose answer is <return>true</return>. */
int ec2_req_simple(struct ec2_client *c, const char *action,
		   const struct ec2_req *r, struct gpuctl_err *err);

/* As ec2_call(), but wipes every copy of the response it made. */
int ec2_call_secret(struct ec2_client *c, const char *action,
		    const struct ec2_param *params, size_t nparams,
		    struct buf *body, struct gpuctl_err *err);

/* ---- responses ---- */

struct ec2_doc {
	xmlDoc *doc;
	xmlNode *root;
	const char *action;
};

/*
 * Parses xml as the answer to action: refuses DOCTYPEs, NUL bytes,
 * oversize documents, and a root other than <actionResponse> in EC2's
 * namespace.  Bytes are read as ISO-8859-1 so that any byte sequence from
 * the server survives; the text getters give the original bytes back.
 */
int ec2_xml_open(struct ec2_doc *d, const char *action, const char *xml,
		 size_t len, struct gpuctl_err *err);
/*
 * 1 when xml holds what no EC2 answer holds and no parse may see: a NUL
 * byte, a DOCTYPE or an entity declaration.
 */
int ec2_xml_refused(const char *xml, size_t len);
/*
 * The one libxml2 parse (safe options, DOCTYPE refused, bytes read as
 * ISO-8859-1): a document, or NULL when xml is refused or malformed.
 */
xmlDoc *ec2_xml_read(const char *xml, size_t len);
/* Wipes the text of every node first when wipe is set. */
void ec2_xml_close(struct ec2_doc *d, int wipe);
/*
 * The same checks as ec2_xml_open(), but the answer is read as a stream:
 * only one <item> of the root's first <set> element is a tree at a time.
 * item() gets each (d->doc and d->root are NULL) and returns 0, or -1
 * with err filled, which stops the read.  *next_token (when next_token is
 * not NULL and *next_token is NULL on entry) gets the root's <nextToken>.
 * A page of 1,000 instances is 3 MB of XML; as one tree it took 35 MB.
 * Items before a malformed part are handed over before the error is
 * seen: the caller drops them when this returns -1.
 */
int ec2_xml_stream(struct ec2_doc *d, const char *action, const char *xml,
		   size_t len, const char *set,
		   int (*item)(struct ec2_doc *d, xmlNode *it, void *ctx,
			       struct gpuctl_err *err),
		   void *ctx, char **next_token, struct gpuctl_err *err);
/* Sets the parse error "unexpected response to ACTION: ...". */
int ec2_xml_fail(struct ec2_doc *d, struct gpuctl_err *err, const char *fmt,
		 ...) __attribute__((format(printf, 3, 4)));

xmlNode *ec2_xml_child(xmlNode *n, const char *name);
/* The next <item> child of set after prev (NULL: the first). */
xmlNode *ec2_xml_item(xmlNode *set, xmlNode *prev);
/* The trimmed text of child name of n (caller frees), or NULL. */
char *ec2_xml_text(xmlNode *n, const char *name);
/* Same, but NULL when empty too. */
char *ec2_xml_text_ne(xmlNode *n, const char *name);
/* The text of child name; a parse error when absent or empty. */
int ec2_xml_need(struct ec2_doc *d, xmlNode *n, const char *name, char **out,
		 struct gpuctl_err *err);
/* A number in [min, max]; absent leaves *out untouched; else an error. */
int ec2_xml_long(struct ec2_doc *d, xmlNode *n, const char *name, long min,
		 long max, long *out, struct gpuctl_err *err);
int ec2_xml_int(struct ec2_doc *d, xmlNode *n, const char *name, int min,
		int max, int *out, struct gpuctl_err *err);
/* 1 when the child's text is "true", else 0. */
int ec2_xml_bool(xmlNode *n, const char *name);
/* <tagSet><item><key/><value/></item>... appended to *tags. */
int ec2_xml_tags(struct ec2_doc *d, xmlNode *n, struct ec2_tag **tags,
		 size_t *ntags, struct gpuctl_err *err);
void ec2_tags_free(struct ec2_tag *tags, size_t n);
/* Sets *next_token (freeing the old one) from <nextToken>. */
void ec2_xml_next_token(xmlNode *root, char **next_token);
/* The trimmed text of child name, wiped from the document, or NULL. */
char *ec2_xml_text_secret(xmlNode *n, const char *name, size_t *len);

/*
 * Makes room for one more zeroed element at the end of items (*n elements
 * of size bytes; the capacity doubles at powers of two), counts it in *n
 * and returns the (maybe moved) array.  EC2_APPEND(arr, n) does that and
 * yields a pointer to the new element.
 */
void *ec2_grow(void *items, size_t *n, size_t size);
#define EC2_APPEND(arr, n) \
	((arr) = ec2_grow((arr), &(n), sizeof(*(arr))), &(arr)[(n)-1])

#endif
