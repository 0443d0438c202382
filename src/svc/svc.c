/*
 * Services the commands share: naming instances, waiting, login users,
 * the caller's public IP.
 */
#include "gpuctl/svc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gpuctl/http.h"
#include "gpuctl/log.h"

long long svc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int is_instance_id(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 10 || n > 19 || strncmp(s, "i-", 2))
		return 0;
	for (i = 2; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return 0;
	return 1;
}

/* Moves item i of from to the end of to (shallow: ownership moves). */
static void take_item(struct ec2_instance_list *to,
		      struct ec2_instance_list *from, size_t i)
{
	to->items = xrealloc(to->items, (to->n + 1) * sizeof(*to->items));
	to->items[to->n++] = from->items[i];
	memmove(&from->items[i], &from->items[i + 1],
		(from->n - i - 1) * sizeof(*from->items));
	from->n--;
}

static int resolve_one(struct ec2_client *ec2, const char *arg,
		       struct ec2_instance_list *out, struct gpuctl_err *err)
{
	struct ec2_instance_list found = {0};
	struct ec2_describe q = {0};
	struct ec2_filter f[2];
	const char *states[] = {"pending", "running", "stopping", "stopped",
				"shutting-down"};
	struct buf list = BUF_INIT;
	size_t i;
	int rc = -1;

	if (is_instance_id(arg)) {
		q.ids = &arg;
		q.nids = 1;
	} else {
		f[0] = (struct ec2_filter){"tag:Name", &arg, 1};
		f[1] = (struct ec2_filter){"instance-state-name", states, 5};
		q.filters = f;
		q.nfilters = 2;
	}
	if (ec2_describe_instances(ec2, &q, &found, err)) {
		if (err->code &&
		    !strcmp(err->code, "InvalidInstanceID.NotFound"))
			err_hint(err, "the instance may be in another region "
				      "(--region), or gone for a while");
		goto out;
	}
	if (found.n == 0) {
		err_set(err, GPUCTL_ERR_OTHER,
			"no instance named '%.100s' (not terminated) in this "
			"region",
			arg);
		err_hint(err, "see 'gpuctl list', or pass an instance ID");
		goto out;
	}
	if (found.n > 1) {
		for (i = 0; i < found.n; i++)
			buf_addf(&list, "%s%s", i ? ", " : "",
				 found.items[i].id);
		err_set(err, GPUCTL_ERR_OTHER,
			"%zu instances are named '%.100s': %s", found.n, arg,
			list.data);
		err_hint(err, "pass an instance ID instead");
		goto out;
	}
	take_item(out, &found, 0);
	rc = 0;
out:
	buf_release(&list);
	ec2_instance_list_release(&found);
	return rc;
}

int svc_resolve_instances(struct ec2_client *ec2, const struct state_paths *p,
			  const char *region, const char *const *args,
			  size_t nargs, struct ec2_instance_list *out,
			  struct gpuctl_err *err)
{
	char *last = NULL;
	size_t i;
	int rc = -1;

	if (nargs == 0) {
		if (state_last_instance(p, region, &last, err))
			return -1;
		if (!last) {
			err_set(err, GPUCTL_ERR_OTHER,
				"no instance given, and none launched with "
				"gpuctl in %s",
				region);
			err_hint(err, "pass an instance ID or Name (see "
				      "'gpuctl list')");
			return -1;
		}
		rc = resolve_one(ec2, last, out, err);
		free(last);
		return rc;
	}
	for (i = 0; i < nargs; i++)
		if (resolve_one(ec2, args[i], out, err))
			return -1;
	return 0;
}

/*
 * 1 when an instance in state now can still reach target.  Only the end
 * of an instance is final: a "stopped" seen just after StartInstances may
 * be DescribeInstances lagging behind (eventual consistency).
 */
static int can_reach(const char *now, const char *target)
{
	if (!strcmp(now, "terminated") || !strcmp(now, "shutting-down"))
		return !strcmp(target, "terminated") ||
		       !strcmp(target, "shutting-down");
	return 1;
}

int svc_wait_instances(struct ec2_client *ec2, const char *const *ids,
		       size_t nids, const char *state, int need_public_ip,
		       long timeout_ms, const struct svc_progress *progress,
		       struct ec2_instance_list *out, struct gpuctl_err *err)
{
	long long start = svc_now_ms();
	long interval = 1000;
	struct buf what = BUF_INIT;
	struct ec2_describe q = {0};
	int rc = -1;

	q.ids = ids;
	q.nids = nids;
	for (;;) {
		struct ec2_instance_list l = {0};
		size_t i, ready = 0;
		long long elapsed;

		buf_reset(&what);
		if (ec2_describe_instances(ec2, &q, &l, err)) {
			ec2_instance_list_release(&l);
			/* a new instance may be unknown for a while */
			if (!err->code ||
			    strcmp(err->code, "InvalidInstanceID.NotFound"))
				goto out;
			buf_adds(&what, "waiting for EC2 to know the instance");
			err_clear(err);
		} else {
			for (i = 0; i < l.n; i++) {
				const struct ec2_instance *x = &l.items[i];
				const char *s =
				    x->state_name ? x->state_name : "unknown";

				if (!can_reach(s, state)) {
					err_set(err, GPUCTL_ERR_OTHER,
						"%s is %s, it will not become "
						"%s%s%.200s",
						x->id, s, state,
						x->state_reason_message ? ": "
									: "",
						x->state_reason_message
						    ? x->state_reason_message
						    : "");
					ec2_instance_list_release(&l);
					goto out;
				}
				if (!strcmp(s, state) &&
				    (!need_public_ip || x->public_ip))
					ready++;
				buf_addf(&what, "%s%s: %s", i ? ", " : "",
					 x->id,
					 !strcmp(s, state) && need_public_ip &&
						 !x->public_ip
					     ? "waiting for its address"
					     : s);
			}
			if (l.n == nids && ready == nids) {
				if (out) {
					while (l.n)
						take_item(out, &l, 0);
				}
				ec2_instance_list_release(&l);
				break;
			}
			ec2_instance_list_release(&l);
		}
		elapsed = svc_now_ms() - start;
		if (progress && progress->report)
			progress->report(progress->ctx, what.data,
					 (double)elapsed / 1000.0);
		if (timeout_ms > 0 && elapsed + interval > timeout_ms) {
			err_set(err, GPUCTL_ERR_TIMEOUT,
				"timed out after %.0f s waiting for %s (%s)",
				(double)elapsed / 1000.0, state, what.data);
			err_hint(err, "wait longer with --timeout SECONDS, or "
				      "see 'gpuctl show'");
			goto out;
		}
		sleep_ms(interval);
		/* start near 1 s, grow slowly, never past 5 s */
		interval = interval + interval / 4 > 5000
			       ? 5000
			       : interval + interval / 4;
	}
	rc = 0;
out:
	buf_release(&what);
	return rc;
}

int svc_wait_snapshots(struct ec2_client *ec2, const char *const *ids,
		       size_t nids, long timeout_ms,
		       const struct svc_progress *progress,
		       struct gpuctl_err *err)
{
	long long start = svc_now_ms();
	long interval = 1000;
	struct buf what = BUF_INIT;
	struct ec2_describe q = {0};
	int rc = -1;

	q.ids = ids;
	q.nids = nids;
	for (;;) {
		struct ec2_snapshot_list l = {0};
		size_t i, done = 0;
		long long elapsed;

		buf_reset(&what);
		if (ec2_describe_snapshots(ec2, &q, &l, err)) {
			ec2_snapshot_list_release(&l);
			if (!err->code ||
			    strcmp(err->code, "InvalidSnapshot.NotFound"))
				goto out;
			err_clear(err);
		}
		for (i = 0; i < l.n; i++) {
			const struct ec2_snapshot *s = &l.items[i];

			if (s->state && !strcmp(s->state, "error")) {
				err_set(err, GPUCTL_ERR_OTHER,
					"snapshot %s of %s failed", s->id,
					s->volume_id ? s->volume_id : "?");
				ec2_snapshot_list_release(&l);
				goto out;
			}
			if (s->state && !strcmp(s->state, "completed"))
				done++;
			buf_addf(&what, "%s%s: %s %d%%", i ? ", " : "", s->id,
				 s->state ? s->state : "?", s->progress_pct);
		}
		ec2_snapshot_list_release(&l);
		if (done == nids)
			break;
		elapsed = svc_now_ms() - start;
		if (progress && progress->report)
			progress->report(progress->ctx, what.data,
					 (double)elapsed / 1000.0);
		if (timeout_ms > 0 && elapsed + interval > timeout_ms) {
			err_set(err, GPUCTL_ERR_TIMEOUT,
				"timed out after %.0f s waiting for snapshots "
				"(%s)",
				(double)elapsed / 1000.0, what.data);
			goto out;
		}
		sleep_ms(interval);
		interval = interval + interval / 4 > 5000
			       ? 5000
			       : interval + interval / 4;
	}
	rc = 0;
out:
	buf_release(&what);
	return rc;
}

const struct ec2_image *svc_instance_image(struct ec2_client *ec2,
					   const struct ec2_instance *i,
					   struct ec2_image_list *out,
					   struct gpuctl_err *err)
{
	struct ec2_describe q = {0};
	size_t before = out->n;

	if (!i->image_id)
		return NULL;
	q.ids = (const char *const *)&i->image_id;
	q.nids = 1;
	if (ec2_describe_images(ec2, &q, out, err)) {
		if (err->code && starts_with(err->code, "InvalidAMIID"))
			err_clear(err);
		return NULL;
	}
	return out->n > before ? &out->items[before] : NULL;
}

static int icontains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; hay && *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return 1;
	return 0;
}

const char *svc_login_user(const struct ec2_image *img)
{
	static const struct {
		const char *word;
		const char *user;
	} table[] = {
	    {"ubuntu", "ubuntu"},	  {"debian", "admin"},
	    {"centos", "centos"},	  {"fedora", "fedora"},
	    {"rocky", "rocky"},		  {"almalinux", "ec2-user"},
	    {"flatcar", "core"},	  {"coreos", "core"},
	    {"bitnami", "bitnami"},	  {"suse", "ec2-user"},
	    {"amazon linux", "ec2-user"}, {"amzn", "ec2-user"},
	    {"al2023", "ec2-user"},	  {"rhel", "ec2-user"},
	    {"red hat", "ec2-user"},	  {"freebsd", "ec2-user"},
	};
	const char *fields[3];
	size_t i, k;

	if (!img)
		return "ec2-user";
	fields[0] = img->name;
	fields[1] = img->description;
	fields[2] = img->image_location;
	for (k = 0; k < 3; k++)
		for (i = 0; i < sizeof(table) / sizeof(*table); i++)
			if (icontains(fields[k], table[i].word))
				return table[i].user;
	return "ec2-user";
}

int svc_cidr_contains(const char *cidr, const char *ip)
{
	char net[INET_ADDRSTRLEN];
	const char *slash = strchr(cidr, '/');
	struct in_addr a, b;
	long bits = 32;
	unsigned long mask;
	size_t n;

	n = slash ? (size_t)(slash - cidr) : strlen(cidr);
	if (n >= sizeof(net))
		return 0;
	memcpy(net, cidr, n);
	net[n] = '\0';
	if (slash && parse_long(slash + 1, 0, 32, &bits))
		return 0;
	if (inet_pton(AF_INET, net, &a) != 1 || inet_pton(AF_INET, ip, &b) != 1)
		return 0;
	mask = bits ? (0xffffffffUL << (32 - bits)) & 0xffffffffUL : 0;
	return (ntohl(a.s_addr) & mask) == (ntohl(b.s_addr) & mask);
}

struct checkip {
	const char *url;
};

static int checkip_prepare(void *ctx, long long now, struct http_request *req,
			   struct gpuctl_err *err)
{
	struct checkip *c = ctx;

	(void)now;
	(void)err;
	req->method = "GET";
	req->url = c->url;
	return 0;
}

int svc_caller_ip(char *const *envp, const char *ca_bundle, char **ip,
		  struct gpuctl_err *err)
{
	const char *fixed = env_get(envp, "GPUCTL_CALLER_IP");
	struct checkip c = {"https://checkip.amazonaws.com/"};
	struct http_exchange x = {checkip_prepare, NULL, &c};
	struct http_options o = {0};
	struct http_response resp;
	struct http_client *h = NULL;
	struct in_addr a;
	char text[INET_ADDRSTRLEN];
	size_t n;
	int rc = -1;

	*ip = NULL;
	if (fixed) {
		if (inet_pton(AF_INET, fixed, &a) != 1)
			return err_set(err, GPUCTL_ERR_CONFIG,
				       "GPUCTL_CALLER_IP '%.64s' is not an "
				       "IPv4 address",
				       fixed);
		*ip = xstrdup(fixed);
		return 0;
	}
	o.ca_bundle = ca_bundle;
	o.timeout_ms = 10000;
	o.max_attempts = 3;
	o.max_response = 1024;
	http_response_init(&resp);
	h = http_client_new(&o, err);
	if (!h || http_send(h, &x, &resp, err))
		goto fail;
	n = strcspn(resp.body.data, "\r\n \t");
	if (resp.status != 200 || n >= sizeof(text)) {
		err_set(err, GPUCTL_ERR_NETWORK, "%s answered HTTP %ld", c.url,
			resp.status);
		goto fail;
	}
	memcpy(text, resp.body.data, n);
	text[n] = '\0';
	if (inet_pton(AF_INET, text, &a) != 1) {
		err_set(err, GPUCTL_ERR_NETWORK,
			"%s did not answer with an IPv4 address", c.url);
		goto fail;
	}
	*ip = xstrdup(text);
	rc = 0;
	goto out;
fail:
	err_prefix(err, "cannot learn this machine's public IP address");
	err_hint(err, "pass --allow CIDR (e.g. --allow 203.0.113.7/32)");
out:
	http_response_release(&resp);
	http_client_free(h);
	return rc;
}
