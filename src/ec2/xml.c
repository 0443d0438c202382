/*
 * Reading EC2's XML answers safely.
 *
 * A response is untrusted input.  libxml2 is asked for no network, no
 * entity substitution, no DTD loading, no messages on stderr and its
 * default depth limit (no XML_PARSE_HUGE); on top of that a document with
 * a DOCTYPE is refused before libxml2 sees it (EC2 never sends one), which
 * leaves no entity to expand.  The bytes are parsed as ISO-8859-1, so any
 * byte sequence is a valid document text, and the getters turn the text
 * back into the bytes the server sent: invalid UTF-8 survives unchanged
 * (the output layer sanitises), and NUL bytes are refused.
 */
#include "ec2_int.h"

#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlmemory.h>
#include <libxml/xmlreader.h>
#include <openssl/crypto.h>

#define EC2_NS_PREFIX "http://ec2.amazonaws.com/doc/"

/*
 * libxml2's memory hooks: every block it frees, and every block its
 * reallocations leave behind, is wiped first, so that the copies libxml2
 * makes of a response (its input buffer, its text nodes) do not leave a
 * private key in freed memory.
 */
static void wipe_free(void *p)
{
	if (!p)
		return;
	OPENSSL_cleanse(p, malloc_usable_size(p));
	free(p);
}

static void *wipe_realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (!p)
		return malloc(n);
	old = malloc_usable_size(p);
	q = malloc(n ? n : 1);
	if (!q)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	OPENSSL_cleanse(p, old);
	free(p);
	return q;
}

static char *wipe_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *r = malloc(n);

	if (r)
		memcpy(r, s, n);
	return r;
}

static void sanitise(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

int ec2_xml_fail(struct ec2_doc *d, struct gpuctl_err *err, const char *fmt,
		 ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	sanitise(b.data);
	err_set(err, GPUCTL_ERR_PARSE, "unexpected response to %s: %.300s",
		d->action, b.data);
	buf_release(&b);
	return -1;
}

/* SAX hook: a DOCTYPE stops the parser at once (defence in depth). */
static void refuse_subset(void *ctx, const xmlChar *name,
			  const xmlChar *external_id, const xmlChar *system_id)
{
	(void)name;
	(void)external_id;
	(void)system_id;
	xmlStopParser(ctx);
}

static int contains(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; i + n <= len; i++)
		if (hay[i] == needle[0] && !memcmp(hay + i, needle, n))
			return 1;
	return 0;
}

#define PARSE_OPTIONS                                                \
	(XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | \
	 XML_PARSE_NODICT | XML_PARSE_NOCDATA | XML_PARSE_IGNORE_ENC)

static xmlDoc *parse(xmlParserCtxt *ctxt, const char *xml, size_t len)
{
	xmlMemSetup(wipe_free, malloc, wipe_realloc, wipe_strdup);
	ctxt->sax->internalSubset = refuse_subset;
	ctxt->sax->externalSubset = refuse_subset;
	return xmlCtxtReadMemory(ctxt, xml, (int)len, "response.xml",
				 "ISO-8859-1", PARSE_OPTIONS);
}

xmlDoc *ec2_xml_read(const char *xml, size_t len)
{
	xmlParserCtxt *ctxt;
	xmlDoc *doc = NULL;

	if (!len || len > EC2_MAX_RESPONSE || len > INT_MAX ||
	    ec2_xml_refused(xml, len))
		return NULL;
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return NULL;
	doc = parse(ctxt, xml, len);
	if (doc && (!ctxt->wellFormed || doc->intSubset || doc->extSubset)) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(ctxt);
	return doc;
}

int ec2_xml_refused(const char *xml, size_t len)
{
	return memchr(xml, '\0', len) || contains(xml, len, "<!DOCTYPE") ||
	       contains(xml, len, "<!ENTITY");
}

/* What both ec2_xml_open() and ec2_xml_stream() refuse before parsing. */
static int precheck(struct ec2_doc *d, const char *xml, size_t len,
		    struct gpuctl_err *err)
{
	if (!xml || !len)
		return ec2_xml_fail(d, err, "empty response");
	if (len > EC2_MAX_RESPONSE || len > INT_MAX)
		return ec2_xml_fail(d, err, "response too large (%zu bytes)",
				    len);
	if (memchr(xml, '\0', len))
		return ec2_xml_fail(d, err, "NUL byte in the response");
	if (contains(xml, len, "<!DOCTYPE") || contains(xml, len, "<!ENTITY"))
		return ec2_xml_fail(d, err,
				    "document type declaration refused");
	return 0;
}

/* The root element's name and namespace: 0, or -1 with err filled. */
static int check_root(struct ec2_doc *d, const char *name, const char *ns,
		      struct gpuctl_err *err)
{
	char *want = xasprintf("%sResponse", d->action);
	int rc = 0;

	if (strcmp(name, want))
		rc = ec2_xml_fail(d, err, "root element <%.100s>, not <%s>",
				  name, want);
	else if (!starts_with(ns ? ns : "", EC2_NS_PREFIX))
		rc = ec2_xml_fail(d, err, "namespace \"%.100s\" is not EC2's",
				  ns ? ns : "");
	free(want);
	return rc;
}

int ec2_xml_open(struct ec2_doc *d, const char *action, const char *xml,
		 size_t len, struct gpuctl_err *err)
{
	xmlParserCtxt *ctxt = NULL;
	const xmlError *xe;
	int rc = -1;

	d->doc = NULL;
	d->root = NULL;
	d->action = action;
	if (precheck(d, xml, len, err))
		goto out;
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		err_set(err, GPUCTL_ERR_OTHER, "cannot set up the XML parser");
		goto out;
	}
	d->doc = parse(ctxt, xml, len);
	if (!d->doc || !ctxt->wellFormed) {
		xe = xmlCtxtGetLastError(ctxt);
		if (xe && xe->message)
			ec2_xml_fail(d, err, "malformed XML (line %d): %.200s",
				     xe->line, xe->message);
		else
			ec2_xml_fail(d, err, "malformed XML");
		goto out;
	}
	if (d->doc->intSubset || d->doc->extSubset) {
		ec2_xml_fail(d, err, "document type declaration refused");
		goto out;
	}
	d->root = xmlDocGetRootElement(d->doc);
	if (!d->root) {
		ec2_xml_fail(d, err, "no root element");
		goto out;
	}
	if (check_root(d, (const char *)d->root->name,
		       d->root->ns ? (const char *)d->root->ns->href : NULL,
		       err))
		goto out;
	rc = 0;
out:
	if (ctxt)
		xmlFreeParserCtxt(ctxt);
	if (rc) {
		ec2_xml_close(d, 1);
		d->action = action;
	}
	return rc;
}

static char *to_bytes(xmlChar *s, size_t *lenp, int secret);

/* The first error the reader reports, for the message. */
struct reader_error {
	int have, line;
	char msg[200];
};

static void on_reader_error(void *arg, const char *msg,
			    xmlParserSeverities severity,
			    xmlTextReaderLocatorPtr loc)
{
	struct reader_error *e = arg;
	size_t n;

	if (e->have || (severity != XML_PARSER_SEVERITY_ERROR &&
			severity != XML_PARSER_SEVERITY_VALIDITY_ERROR))
		return;
	e->have = 1;
	e->line = loc ? xmlTextReaderLocatorLineNumber(loc) : 0;
	snprintf(e->msg, sizeof(e->msg), "%s", msg ? msg : "");
	n = strlen(e->msg);
	while (n && (e->msg[n - 1] == '\n' || e->msg[n - 1] == ' '))
		e->msg[--n] = '\0';
}

static int stream_malformed(struct ec2_doc *d, const struct reader_error *e,
			    struct gpuctl_err *err)
{
	if (e->have && e->msg[0])
		return ec2_xml_fail(d, err, "malformed XML (line %d): %.200s",
				    e->line, e->msg);
	return ec2_xml_fail(d, err, "malformed XML");
}

int ec2_xml_stream(struct ec2_doc *d, const char *action, const char *xml,
		   size_t len, const char *set,
		   int (*item)(struct ec2_doc *d, xmlNode *it, void *ctx,
			       struct gpuctl_err *err),
		   void *ctx, char **next_token, struct gpuctl_err *err)
{
	struct reader_error re = {0, 0, {0}};
	xmlTextReaderPtr rd;
	const char *name;
	xmlNode *n;
	xmlChar *s;
	int r, type, depth, root = 0, in_set = 0, set_done = 0, rc = -1;

	d->doc = NULL;
	d->root = NULL;
	d->action = action;
	if (precheck(d, xml, len, err))
		return -1;
	xmlMemSetup(wipe_free, malloc, wipe_realloc, wipe_strdup);
	rd = xmlReaderForMemory(xml, (int)len, "response.xml", "ISO-8859-1",
				PARSE_OPTIONS);
	if (!rd)
		return err_set(err, GPUCTL_ERR_OTHER,
			       "cannot set up the XML parser");
	xmlTextReaderSetErrorHandler(rd, on_reader_error, &re);
	r = xmlTextReaderRead(rd);
	while (r == 1) {
		type = xmlTextReaderNodeType(rd);
		depth = xmlTextReaderDepth(rd);
		if (type == XML_READER_TYPE_DOCUMENT_TYPE) {
			ec2_xml_fail(d, err,
				     "document type declaration refused");
			goto out;
		}
		if (type == XML_READER_TYPE_END_ELEMENT && depth == 1 &&
		    in_set) {
			in_set = 0;
			set_done = 1;
		}
		if (type != XML_READER_TYPE_ELEMENT) {
			r = xmlTextReaderRead(rd);
			continue;
		}
		name = (const char *)xmlTextReaderConstLocalName(rd);
		if (!name)
			name = "";
		if (depth == 0) {
			if (check_root(d, name,
				       (const char *)
					   xmlTextReaderConstNamespaceUri(rd),
				       err))
				goto out;
			root = 1;
		} else if (depth == 1 && !strcmp(name, set) && !set_done &&
			   !xmlTextReaderIsEmptyElement(rd)) {
			in_set = 1;
		} else if (depth == 1 && next_token && !*next_token &&
			   !strcmp(name, "nextToken")) {
			/* the first one, as ec2_xml_next_token() */
			n = xmlTextReaderExpand(rd);
			if (!n)
				break;
			s = xmlNodeGetContent(n);
			*next_token = s ? to_bytes(s, NULL, 0) : NULL;
			xmlFree(s);
			if (*next_token && !**next_token) {
				free(*next_token);
				*next_token = NULL;
			}
			r = xmlTextReaderNext(rd);
			continue;
		} else if (depth == 1) {
			r = xmlTextReaderNext(rd);
			continue;
		} else if (depth == 2 && in_set) {
			if (!strcmp(name, "item")) {
				/* this item as a tree, freed once passed */
				n = xmlTextReaderExpand(rd);
				if (!n)
					break;
				if (item(d, n, ctx, err))
					goto out;
			}
			r = xmlTextReaderNext(rd);
			continue;
		}
		r = xmlTextReaderRead(rd);
	}
	if (r != 0) {
		stream_malformed(d, &re, err);
		goto out;
	}
	if (!root) {
		ec2_xml_fail(d, err, "no root element");
		goto out;
	}
	rc = 0;
out:
	xmlFreeTextReader(rd);
	return rc;
}

static void wipe_tree(xmlNode *n)
{
	/* iterative: libxml2 already bounds the depth, but stay flat */
	while (n) {
		if ((n->type == XML_TEXT_NODE ||
		     n->type == XML_CDATA_SECTION_NODE) &&
		    n->content)
			OPENSSL_cleanse(n->content,
					strlen((const char *)n->content));
		if (n->children) {
			n = n->children;
			continue;
		}
		while (n && !n->next)
			n = n->parent && n->parent->type != XML_DOCUMENT_NODE
				? n->parent
				: NULL;
		if (n)
			n = n->next;
	}
}

void ec2_xml_close(struct ec2_doc *d, int wipe)
{
	if (d->doc) {
		if (wipe)
			wipe_tree(xmlDocGetRootElement(d->doc));
		xmlFreeDoc(d->doc);
	}
	d->doc = NULL;
	d->root = NULL;
}

xmlNode *ec2_xml_child(xmlNode *n, const char *name)
{
	for (n = n ? n->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    !strcmp((const char *)n->name, name))
			return n;
	return NULL;
}

xmlNode *ec2_xml_item(xmlNode *set, xmlNode *prev)
{
	xmlNode *n;

	if (!set)
		return NULL;
	for (n = prev ? prev->next : set->children; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    !strcmp((const char *)n->name, "item"))
			return n;
	return NULL;
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * libxml2's UTF-8 text back to the server's bytes: code points up to
 * U+00FF (all that ISO-8859-1 input yields) become one byte; anything
 * else (from a character reference) stays UTF-8.  Trims white space.
 * Wipes s when secret.
 */
static char *to_bytes(xmlChar *s, size_t *lenp, int secret)
{
	size_t n = strlen((const char *)s), i, j = 0;
	unsigned char *in = s;
	char *r = xmalloc(n + 1);
	size_t start, end;

	for (i = 0; i < n; i++) {
		if ((in[i] == 0xc2 || in[i] == 0xc3) && i + 1 < n &&
		    (in[i + 1] & 0xc0) == 0x80) {
			r[j++] =
			    (char)(((in[i] & 0x1f) << 6) | (in[i + 1] & 0x3f));
			i++;
		} else {
			r[j++] = (char)in[i];
		}
	}
	start = 0;
	end = j;
	while (start < end && is_space((unsigned char)r[start]))
		start++;
	while (end > start && is_space((unsigned char)r[end - 1]))
		end--;
	if (start)
		memmove(r, r + start, end - start);
	if (secret && end - start < j)
		OPENSSL_cleanse(r + (end - start), j - (end - start));
	r[end - start] = '\0';
	if (lenp)
		*lenp = end - start;
	if (secret)
		OPENSSL_cleanse(s, n);
	return r;
}

char *ec2_xml_text(xmlNode *n, const char *name)
{
	xmlNode *c = ec2_xml_child(n, name);
	xmlChar *s;
	char *r;

	if (!c)
		return NULL;
	s = xmlNodeGetContent(c);
	if (!s)
		return xstrdup("");
	r = to_bytes(s, NULL, 0);
	xmlFree(s);
	return r;
}

char *ec2_xml_text_ne(xmlNode *n, const char *name)
{
	char *r = ec2_xml_text(n, name);

	if (r && !*r) {
		free(r);
		r = NULL;
	}
	return r;
}

char *ec2_xml_text_secret(xmlNode *n, const char *name, size_t *len)
{
	xmlNode *c = ec2_xml_child(n, name);
	xmlChar *s;
	char *r;

	if (!c)
		return NULL;
	s = xmlNodeGetContent(c);
	if (!s)
		return NULL;
	r = to_bytes(s, len, 1);
	xmlFree(s);
	wipe_tree(c->children);
	return r;
}

int ec2_xml_need(struct ec2_doc *d, xmlNode *n, const char *name, char **out,
		 struct gpuctl_err *err)
{
	char *s = ec2_xml_text_ne(n, name);

	if (!s)
		return ec2_xml_fail(d, err, "<%s> without <%s>",
				    (const char *)n->name, name);
	free(*out);
	*out = s;
	return 0;
}

int ec2_xml_long(struct ec2_doc *d, xmlNode *n, const char *name, long min,
		 long max, long *out, struct gpuctl_err *err)
{
	char *s = ec2_xml_text(n, name);
	const char *p;
	long v = 0;
	int neg = 0, rc = -1;

	if (!s || !*s) {
		free(s);
		return 0;
	}
	p = s;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (!*p)
		goto out;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			goto out;
		if (v > (LONG_MAX - (*p - '0')) / 10)
			goto out;
		v = v * 10 + (*p - '0');
	}
	if (neg)
		v = -v;
	if (v < min || v > max)
		goto out;
	*out = v;
	rc = 0;
out:
	if (rc)
		ec2_xml_fail(d, err,
			     "<%s> is not a number in [%ld, %ld]: %.40s", name,
			     min, max, s);
	free(s);
	return rc;
}

int ec2_xml_int(struct ec2_doc *d, xmlNode *n, const char *name, int min,
		int max, int *out, struct gpuctl_err *err)
{
	long v = *out;

	if (ec2_xml_long(d, n, name, min, max, &v, err))
		return -1;
	*out = (int)v;
	return 0;
}

int ec2_xml_bool(xmlNode *n, const char *name)
{
	char *s = ec2_xml_text(n, name);
	int r = s && !strcmp(s, "true");

	free(s);
	return r;
}

int ec2_xml_tags(struct ec2_doc *d, xmlNode *n, struct ec2_tag **tags,
		 size_t *ntags, struct gpuctl_err *err)
{
	xmlNode *set = ec2_xml_child(n, "tagSet"), *it = NULL;
	struct ec2_tag *t;

	while ((it = ec2_xml_item(set, it))) {
		char *key = ec2_xml_text(it, "key");

		if (!key)
			return ec2_xml_fail(d, err, "tag without <key>");
		t = EC2_APPEND(*tags, *ntags);
		t->key = key;
		t->value = ec2_xml_text(it, "value");
		if (!t->value)
			t->value = xstrdup("");
	}
	return 0;
}

void ec2_tags_free(struct ec2_tag *tags, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(tags[i].key);
		free(tags[i].value);
	}
	free(tags);
}

void ec2_xml_next_token(xmlNode *root, char **next_token)
{
	free(*next_token);
	*next_token = ec2_xml_text_ne(root, "nextToken");
}

void *ec2_grow(void *items, size_t *n, size_t size)
{
	size_t cap;
	char *p = items;

	if (*n == 0 || (*n & (*n - 1)) == 0) {
		cap = *n ? *n * 2 : 1;
		if (cap > SIZE_MAX / size)
			abort();
		p = xrealloc(p, cap * size);
	}
	memset(p + *n * size, 0, size);
	(*n)++;
	return p;
}

static int two(const char *s, int *v)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	*v = (s[0] - '0') * 10 + (s[1] - '0');
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static long long days_from_civil(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int ec2_parse_time(const char *s, long long *out)
{
	int c, y2, mo, d, h, mi, se;
	const char *p;
	long long y;

	if (!s || strlen(s) < 19)
		return -1;
	if (two(s, &c) || two(s + 2, &y2) || s[4] != '-' || two(s + 5, &mo) ||
	    s[7] != '-' || two(s + 8, &d) || (s[10] != 'T' && s[10] != ' ') ||
	    two(s + 11, &h) || s[13] != ':' || two(s + 14, &mi) ||
	    s[16] != ':' || two(s + 17, &se))
		return -1;
	y = c * 100 + y2;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60)
		return -1;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p && strcmp(p, "Z") && strcmp(p, "+00:00") && strcmp(p, "+0000"))
		return -1;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}
