/*
 * Tests of the HTTP transport and its retry policy against a scripted
 * server on loopback: each test lists what the server answers, runs
 * http_send(), and checks what the client did (requests, connections,
 * the clock it signed with).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gpuctl/http.h"

#define DROP	   "DROP" /* close the connection without answering */
#define MAX_SCRIPT 8

struct server {
	int fd;
	int port;
	pthread_t thread;
	const char *script[MAX_SCRIPT];
	int nscript;
	int requests;
	int connections;
	struct buf last_request;
};

/* Reads one request (headers and Content-Length body); 0 at EOF. */
static int read_request(int fd, struct buf *req)
{
	char c;
	size_t clen = 0;
	const char *h;

	buf_reset(req);
	while (!strstr(req->data, "\r\n\r\n")) {
		if (read(fd, &c, 1) != 1)
			return 0;
		buf_addch(req, c);
	}
	h = strstr(req->data, "Content-Length: ");
	if (h)
		clen = (size_t)atol(h + 16);
	while (clen--) {
		if (read(fd, &c, 1) != 1)
			return 0;
		buf_addch(req, c);
	}
	return 1;
}

static void *serve(void *arg)
{
	struct server *s = arg;
	struct buf req = BUF_INIT;

	while (s->requests < s->nscript) {
		int c = accept(s->fd, NULL, NULL);

		if (c < 0)
			break;
		s->connections++;
		while (s->requests < s->nscript && read_request(c, &req)) {
			const char *answer = s->script[s->requests++];

			buf_reset(&s->last_request);
			buf_add(&s->last_request, req.data, req.len);
			if (!strcmp(answer, DROP))
				break;
			if (write(c, answer, strlen(answer)) < 0)
				break;
		}
		close(c);
	}
	buf_release(&req);
	return NULL;
}

static void server_start(struct server *s, const char **script, int n)
{
	struct sockaddr_in a = {0};
	socklen_t len = sizeof(a);
	int one = 1;

	memset(s, 0, sizeof(*s));
	buf_init(&s->last_request);
	s->nscript = n;
	if (n)
		memcpy(s->script, script, (size_t)n * sizeof(*script));
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 8), 0);
	getsockname(s->fd, (struct sockaddr *)&a, &len);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
	shutdown(s->fd, SHUT_RDWR);
	close(s->fd);
	pthread_join(s->thread, NULL);
	buf_release(&s->last_request);
}

struct ctx {
	char url[64];
	long long now[MAX_SCRIPT];
	int prepared;
	int skew_on_403;
};

static int prepare(void *arg, long long now, struct http_request *req,
		   struct gpuctl_err *err)
{
	struct ctx *x = arg;
	static const struct http_header h[] = {{"X-Test", "yes"}};

	(void)err;
	if (x->prepared < MAX_SCRIPT)
		x->now[x->prepared] = now;
	x->prepared++;
	req->method = "POST";
	req->url = x->url;
	req->headers = h;
	req->nheaders = 1;
	req->body = "Action=Test";
	req->body_len = 11;
	return 0;
}

static enum http_verdict classify(void *arg, const struct http_response *r)
{
	struct ctx *x = arg;

	if (x->skew_on_403 && r->status == 403 &&
	    strstr(r->body.data, "RequestTimeTooSkewed"))
		return HTTP_CLOCK_SKEW;
	return http_status_retryable(r->status) ? HTTP_RETRY : HTTP_DONE;
}

static const char ok200[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
			    "Content-Type: text/xml\r\n\r\nok";
static const char e503[] = "HTTP/1.1 503 Service Unavailable\r\n"
			   "Content-Length: 4\r\n\r\nbusy";
static const char e503_after1[] = "HTTP/1.1 503 Service Unavailable\r\n"
				  "Retry-After: 1\r\nContent-Length: 4\r\n"
				  "\r\nbusy";
static const char e500[] = "HTTP/1.1 500 Internal Server Error\r\n"
			   "Content-Length: 0\r\n\r\n";
static const char e400[] = "HTTP/1.1 400 Bad Request\r\n"
			   "Content-Length: 3\r\n\r\nbad";

static struct http_client *client(long base_ms, int attempts,
				  size_t max_response)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct http_options o = {0};
	struct http_client *c;

	o.base_delay_ms = base_ms;
	o.max_attempts = attempts;
	o.max_response = max_response;
	o.connect_timeout_ms = 2000;
	o.timeout_ms = 5000;
	c = http_client_new(&o, &err);
	assert_non_null(c);
	return c;
}

/* Runs the script through one http_send(); returns its result. */
static int run(struct server *s, struct http_client *c, struct ctx *x,
	       struct http_response *resp, struct gpuctl_err *err)
{
	struct http_exchange ex = {prepare, classify, x};

	snprintf(x->url, sizeof(x->url), "http://127.0.0.1:%d/", s->port);
	return http_send(c, &ex, resp, err);
}

static void test_keepalive(void **state)
{
	const char *script[] = {ok200, ok200};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct http_response resp;
	struct http_client *c = client(1, 3, 0);
	struct ctx x = {0};
	struct server s;

	(void)state;
	server_start(&s, script, 2);
	http_response_init(&resp);
	assert_int_equal(run(&s, c, &x, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body.data, "ok");
	assert_int_equal(run(&s, c, &x, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	/* the server recorded the request before it answered */
	assert_non_null(strstr(s.last_request.data, "X-Test: yes"));
	assert_null(strstr(s.last_request.data, "Expect:"));
	http_client_free(c);
	server_stop(&s);
	assert_int_equal(s.requests, 2);
	assert_int_equal(s.connections, 1);
	http_response_release(&resp);
}

static void test_retry_5xx_and_drop(void **state)
{
	const char *script[] = {e503, DROP, e500, ok200};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct http_response resp;
	struct http_client *c = client(1, 5, 0);
	struct ctx x = {0};
	struct server s;

	(void)state;
	server_start(&s, script, 4);
	http_response_init(&resp);
	assert_int_equal(run(&s, c, &x, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	/*
	 * Signed afresh for each of our attempts; libcurl itself may resend
	 * once on a fresh connection when a reused one was closed under it.
	 */
	assert_true(x.prepared == 3 || x.prepared == 4);
	http_client_free(c);
	server_stop(&s);
	assert_int_equal(s.requests, 4);
	http_response_release(&resp);
}

static void test_attempts_are_bounded(void **state)
{
	const char *script[] = {e500, e500, e500, ok200};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct http_response resp;
	struct http_client *c = client(1, 3, 0);
	struct ctx x = {0};
	struct server s;

	(void)state;
	server_start(&s, script, 4);
	http_response_init(&resp);
	/* the last answer stands once the attempts are spent */
	assert_int_equal(run(&s, c, &x, &resp, &err), 0);
	assert_int_equal(resp.status, 500);
	assert_int_equal(x.prepared, 3);
	http_client_free(c);
	/* the server still expects a fourth request: give it one */
	c = client(1, 1, 0);
	assert_int_equal(run(&s, c, &x, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	http_client_free(c);
	server_stop(&s);
	http_response_release(&resp);
}

static void test_client_error_not_retried(void **state)
{
	const char *script[] = {e400};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct http_response resp;
	struct http_client *c = client(1, 5, 0);
	struct ctx x = {0};
	struct server s;

	(void)state;
	server_start(&s, script, 1);
	http_response_init(&resp);
	assert_int_equal(run(&s, c, &x, &resp, &err), 0);
	assert_int_equal(resp.status, 400);
	assert_string_equal(resp.body.data, "bad");
	assert_int_equal(x.prepared, 1);
	http_client_free(c);
	server_stop(&s);
	http_response_release(&resp);
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_retry_after_honoured(void **state)
{
	const char *script[] = {e503_after1, ok200};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct http_response resp;
	struct http_client *c = client(1, 3, 0);
	struct ctx x = {0};
	struct server s;
	long long t0;

	(void)state;
	server_start(&s, script, 2);
	http_response_init(&resp);
	t0 = mono_ms();
	assert_int_equal(run(&s, c, &x, &resp, &err), 0);
	/* a lower bound only: it cannot pass by luck */
	assert_true(mono_ms() - t0 >= 1000);
	assert_int_equal(resp.status, 200);
	http_client_free(c);
	server_stop(&s);
	http_response_release(&resp);
}

static void test_clock_skew_corrected_once(void **state)
{
	struct buf skewed = BUF_INIT, date = BUF_INIT;
	const char *script[3];
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct http_response resp;
	struct http_client *c = client(1, 5, 0);
	struct ctx x = {0};
	struct server s;
	time_t ahead = time(NULL) + 3600;
	struct tm tm;
	char when[64];
	static const char body[] = "<Code>RequestTimeTooSkewed</Code>";

	(void)state;
	gmtime_r(&ahead, &tm);
	strftime(when, sizeof(when), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	buf_addf(&skewed,
		 "HTTP/1.1 403 Forbidden\r\nDate: %s\r\nContent-Length: "
		 "%zu\r\n\r\n%s",
		 when, strlen(body), body);
	script[0] = skewed.data;
	script[1] = skewed.data;
	script[2] = ok200;
	x.skew_on_403 = 1;
	server_start(&s, script, 3);
	http_response_init(&resp);
	/* corrected once; a second skew error is final */
	assert_int_equal(run(&s, c, &x, &resp, &err), 0);
	assert_int_equal(resp.status, 403);
	assert_int_equal(x.prepared, 2);
	assert_true(x.now[1] - x.now[0] >= 3590);
	assert_true(http_clock_offset(c) >= 3590 &&
		    http_clock_offset(c) <= 3610);
	/* the offset sticks for later calls */
	assert_int_equal(run(&s, c, &x, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	assert_true(x.now[2] - (long long)time(NULL) >= 3590);
	http_client_free(c);
	server_stop(&s);
	http_response_release(&resp);
	buf_release(&skewed);
	buf_release(&date);
}

static void test_response_too_large(void **state)
{
	struct buf big = BUF_INIT;
	const char *script[1];
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct http_response resp;
	struct http_client *c = client(1, 3, 1000);
	struct ctx x = {0};
	struct server s;
	int i;

	(void)state;
	buf_adds(&big, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n");
	for (i = 0; i < 5000; i++)
		buf_addch(&big, 'x');
	script[0] = big.data;
	server_start(&s, script, 1);
	http_response_init(&resp);
	assert_int_equal(run(&s, c, &x, &resp, &err), -1);
	assert_int_equal(err.kind, GPUCTL_ERR_PARSE);
	assert_non_null(strstr(err.message, "larger than 1000 bytes"));
	assert_int_equal(x.prepared, 1);
	err_clear(&err);
	http_client_free(c);
	server_stop(&s);
	http_response_release(&resp);
	buf_release(&big);
}

static void test_connection_refused(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct http_response resp;
	struct http_client *c = client(1, 2, 0);
	struct http_exchange ex;
	struct ctx x = {0};
	struct server s;
	int port;

	(void)state;
	/* a port that was just free and is closed again */
	server_start(&s, NULL, 0);
	port = s.port;
	server_stop(&s);
	snprintf(x.url, sizeof(x.url), "http://127.0.0.1:%d/", port);
	ex = (struct http_exchange){prepare, classify, &x};
	http_response_init(&resp);
	assert_int_equal(http_send(c, &ex, &resp, &err), -1);
	assert_int_equal(err.kind, GPUCTL_ERR_NETWORK);
	assert_int_equal(x.prepared, 2);
	assert_non_null(err.hint);
	err_clear(&err);
	http_client_free(c);
	http_response_release(&resp);
}

static void test_backoff(void **state)
{
	(void)state;
	/* full jitter: uniform under the exponential cap */
	assert_int_equal(http_backoff_ms(1, 100, 20000, -1, 0.0), 0);
	assert_int_equal(http_backoff_ms(1, 100, 20000, -1, 0.5), 50);
	assert_int_equal(http_backoff_ms(3, 100, 20000, -1, 0.5), 200);
	assert_true(http_backoff_ms(1, 100, 20000, -1, 0.999) < 100);
	/* capped */
	assert_int_equal(http_backoff_ms(30, 100, 20000, -1, 0.5), 10000);
	assert_true(http_backoff_ms(60, 100, 20000, -1, 0.9999) <= 20000);
	/* Retry-After is a floor */
	assert_int_equal(http_backoff_ms(1, 100, 20000, 3, 0.5), 3000);
	/* out-of-range draws do not overshoot */
	assert_int_equal(http_backoff_ms(2, 100, 20000, -1, 7.0), 0);
}

static void test_status_retryable(void **state)
{
	(void)state;
	assert_true(http_status_retryable(429));
	assert_true(http_status_retryable(500));
	assert_true(http_status_retryable(502));
	assert_true(http_status_retryable(503));
	assert_true(http_status_retryable(504));
	assert_false(http_status_retryable(400));
	assert_false(http_status_retryable(403));
	assert_false(http_status_retryable(501));
	assert_false(http_status_retryable(200));
}

static void check_url(const char *url, const char *host, const char *path)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	char *h, *p;

	assert_int_equal(http_url_parts(url, &h, &p, &err), 0);
	assert_string_equal(h, host);
	assert_string_equal(p, path);
	free(h);
	free(p);
}

static void check_bad_url(const char *url)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	char *h, *p;

	assert_int_equal(http_url_parts(url, &h, &p, &err), -1);
	assert_int_equal(err.kind, GPUCTL_ERR_CONFIG);
	assert_null(h);
	assert_null(p);
	err_clear(&err);
}

static void test_url_parts(void **state)
{
	(void)state;
	check_url("http://127.0.0.1:8080", "127.0.0.1:8080", "/");
	check_url("https://ec2.us-west-1.amazonaws.com",
		  "ec2.us-west-1.amazonaws.com", "/");
	check_url("https://ec2.us-west-1.amazonaws.com:443/",
		  "ec2.us-west-1.amazonaws.com", "/");
	check_url("http://localhost:80/ec2/", "localhost", "/ec2/");
	check_url("https://h.example:8443/x", "h.example:8443", "/x");
	check_bad_url("ftp://example.com/");
	check_bad_url("http://example.com/?a=b");
	check_bad_url("http://user:pw@example.com/");
	check_bad_url("not a url");
	check_bad_url("");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keepalive),
	    cmocka_unit_test(test_retry_5xx_and_drop),
	    cmocka_unit_test(test_attempts_are_bounded),
	    cmocka_unit_test(test_client_error_not_retried),
	    cmocka_unit_test(test_retry_after_honoured),
	    cmocka_unit_test(test_clock_skew_corrected_once),
	    cmocka_unit_test(test_response_too_large),
	    cmocka_unit_test(test_connection_refused),
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_status_retryable),
	    cmocka_unit_test(test_url_parts),
	};

	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
