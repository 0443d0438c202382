/*
 * process: credential_process, run without a shell, and the helpers it
 * needs (shlex-style splitting, ISO 8601 times).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "gpuctl/creds.h"
#include "gpuctl/util.h"
#include "creds_int.h"

#define PROCESS_MAX_OUTPUT (1024 * 1024)

void creds_argv_free(char **argv)
{
	size_t i;

	if (!argv)
		return;
	for (i = 0; argv[i]; i++)
		secure_free_str(argv[i]);
	free(argv);
}

static void push_word(char ***argv, int *argc, size_t *alloc, struct buf *w)
{
	if ((size_t)*argc + 2 > *alloc) {
		*alloc = *alloc ? 2 * *alloc : 8;
		*argv = xrealloc(*argv, *alloc * sizeof(**argv));
	}
	(*argv)[(*argc)++] = buf_detach(w, NULL);
	(*argv)[*argc] = NULL;
}

char **creds_split_command(const char *line, int *argc)
{
	struct buf w = BUF_INIT;
	char **argv = NULL;
	size_t alloc = 0;
	const char *p;
	int n = 0, in_word = 0;
	char quote = 0;

	for (p = line; *p; p++) {
		char c = *p;

		if (quote == '\'') {
			if (c == '\'')
				quote = 0;
			else
				buf_addch(&w, c);
			continue;
		}
		if (quote == '"') {
			if (c == '"') {
				quote = 0;
			} else if (c == '\\' && (p[1] == '"' || p[1] == '\\')) {
				buf_addch(&w, p[1]);
				p++;
			} else {
				buf_addch(&w, c);
			}
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (in_word)
				push_word(&argv, &n, &alloc, &w);
			in_word = 0;
			continue;
		}
		in_word = 1;
		if (c == '\'' || c == '"') {
			quote = c;
		} else if (c == '\\') {
			if (!p[1])
				goto fail; /* "No escaped character" */
			buf_addch(&w, p[1]);
			p++;
		} else {
			buf_addch(&w, c);
		}
	}
	if (quote)
		goto fail; /* "No closing quotation" */
	if (in_word)
		push_word(&argv, &n, &alloc, &w);
	if (!argv) {
		argv = xcalloc(1, sizeof(*argv));
		n = 0;
	}
	*argc = n;
	return argv;
fail:
	buf_release_secret(&w);
	creds_argv_free(argv);
	return NULL;
}

/* Reads exactly n digits; returns the number or -1. */
static int digits(const char **s, int n)
{
	int v = 0;

	while (n--) {
		if (**s < '0' || **s > '9')
			return -1;
		v = v * 10 + (*(*s)++ - '0');
	}
	return v;
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

int creds_parse_time(const char *s, long long *out)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, zh = 0, zm = 0, sign = 0;
	long long t;

	y = digits(&s, 4);
	if (y < 0 || *s++ != '-')
		return -1;
	mo = digits(&s, 2);
	if (mo < 1 || mo > 12 || *s++ != '-')
		return -1;
	d = digits(&s, 2);
	if (d < 1 || d > mdays[mo - 1])
		return -1;
	if (mo == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -1;
	s++;
	h = digits(&s, 2);
	if (h < 0 || h > 23 || *s++ != ':')
		return -1;
	mi = digits(&s, 2);
	if (mi < 0 || mi > 59 || *s++ != ':')
		return -1;
	sec = digits(&s, 2);
	if (sec < 0 || sec > 60)
		return -1;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		zh = digits(&s, 2);
		if (zh < 0 || zh > 23)
			return -1;
		if (*s == ':')
			s++;
		if (*s) {
			zm = digits(&s, 2);
			if (zm < 0 || zm > 59)
				return -1;
		}
	}
	if (*s)
		return -1;
	t = days_from_civil(y, mo, d) * 86400LL + h * 3600LL + mi * 60LL + sec;
	t -= sign * (zh * 3600LL + zm * 60LL);
	*out = t;
	return 0;
}

void creds_format_time(long long t, char out[21])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm))
		memcpy(out, "1970-01-01T00:00:00Z", 21);
}

/* Runs argv with envp; stdout (at most PROCESS_MAX_OUTPUT) into out. */
static int run_capture(const char *profile, char **argv, char *const *envp,
		       struct buf *out, struct gpuctl_err *err)
{
	static char *const empty_env[] = {NULL};
	posix_spawn_file_actions_t fa;
	char chunk[4096];
	int fds[2] = {-1, -1}, fa_ok = 0, too_big = 0, status, rc = -1, r;
	pid_t pid = -1;
	ssize_t n;

	if (pipe(fds) < 0) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"could not run credential_process for profile "
			"\"%.100s\": pipe: %s",
			profile, strerror(errno));
		goto out;
	}
	if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(fds[1], F_SETFD, FD_CLOEXEC) < 0 ||
	    posix_spawn_file_actions_init(&fa) != 0) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"could not run credential_process for profile "
			"\"%.100s\": %s",
			profile, strerror(errno));
		goto out;
	}
	fa_ok = 1;
	r = posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	if (!r)
		r = posix_spawnp(&pid, argv[0], &fa, NULL, argv,
				 envp ? envp : empty_env);
	if (r) {
		pid = -1;
		err_set(err, GPUCTL_ERR_CONFIG,
			"could not run credential_process for profile "
			"\"%.100s\": %.200s: %s",
			profile, argv[0], strerror(r));
		goto out;
	}
	close(fds[1]);
	fds[1] = -1;
	for (;;) {
		n = read(fds[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out->len + (size_t)n > PROCESS_MAX_OUTPUT) {
			too_big = 1;
			kill(pid, SIGKILL);
			break;
		}
		buf_add(out, chunk, (size_t)n);
	}
	close(fds[0]);
	fds[0] = -1;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			err_set(err, GPUCTL_ERR_CONFIG,
				"credential_process for profile \"%.100s\": "
				"waitpid: %s",
				profile, strerror(errno));
			goto out;
		}
	}
	if (too_big) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"credential_process for profile \"%.100s\" printed "
			"more than %d bytes",
			profile, PROCESS_MAX_OUTPUT);
		goto out;
	}
	if (n < 0) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"could not read the output of credential_process for "
			"profile \"%.100s\": %s",
			profile, strerror(errno));
		goto out;
	}
	if (WIFSIGNALED(status)) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"credential_process for profile \"%.100s\" was killed "
			"by signal %d",
			profile, WTERMSIG(status));
		goto out;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !out->len) {
		/* where the spawn cannot report a failed exec (a fork in
		 * place of vfork, as under valgrind), the child says 127 */
		err_set(err, GPUCTL_ERR_CONFIG,
			"could not run credential_process for profile "
			"\"%.100s\": %.200s: not found or not executable "
			"(exit status 127)",
			profile, argv[0]);
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"credential_process for profile \"%.100s\" exited with "
			"status %d",
			profile, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		goto out;
	}
	rc = 0;
out:
	explicit_bzero(chunk, sizeof(chunk));
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return rc;
}

/* The string member name of o, or NULL (also when it is not a string). */
static const char *member_string(json_t *o, const char *name, int *wrong_type)
{
	json_t *v = json_object_get(o, name);

	*wrong_type = 0;
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*wrong_type = 1;
		return NULL;
	}
	return json_string_value(v);
}

int creds_process_parse(const char *profile, const char *text, size_t len,
			long long now, struct creds_config *out,
			struct gpuctl_err *err)
{
	static const char *const required[] = {"AccessKeyId",
					       "SecretAccessKey"};
	json_error_t jerr;
	json_t *doc = NULL, *ver;
	const char *vals[2], *tok, *exp;
	long long when = 0;
	int wrong, rc = -1;
	size_t i;

	doc = json_loadb(text, len, 0, &jerr);
	if (!doc || !json_is_object(doc)) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"credential_process for profile \"%.100s\" did not "
			"print a JSON object",
			profile);
		err_hint(err, "it must print {\"Version\": 1, \"AccessKeyId\": "
			      "…, \"SecretAccessKey\": …} on stdout");
		goto out;
	}
	ver = json_object_get(doc, "Version");
	if (!ver || !((json_is_integer(ver) && json_integer_value(ver) == 1) ||
		      (json_is_real(ver) && json_real_value(ver) == 1.0))) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"credential_process for profile \"%.100s\": %s",
			profile,
			ver ? "unsupported Version, the supported version is 1"
			    : "no Version in its output (want 1)");
		goto out;
	}
	for (i = 0; i < 2; i++) {
		vals[i] = member_string(doc, required[i], &wrong);
		if (!vals[i] || !*vals[i]) {
			err_set(err, GPUCTL_ERR_CONFIG,
				"credential_process for profile \"%.100s\": "
				"%s %s",
				profile, required[i],
				wrong ? "is not a string" : "is missing");
			goto out;
		}
	}
	tok = member_string(doc, "SessionToken", &wrong);
	if (wrong) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"credential_process for profile \"%.100s\": "
			"SessionToken is not a string",
			profile);
		goto out;
	}
	exp = member_string(doc, "Expiration", &wrong);
	if (wrong || (exp && creds_parse_time(exp, &when) < 0)) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"credential_process for profile \"%.100s\": Expiration "
			"is not an ISO 8601 time such as 2026-11-26T12:00:00Z",
			profile);
		goto out;
	}
	if (exp && when <= now) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"the credentials from credential_process for profile "
			"\"%.100s\" expired at %.40s",
			profile, exp);
		goto out;
	}
	out->access_key_id = xstrdup(vals[0]);
	out->secret_access_key = xstrdup(vals[1]);
	out->session_token = tok && *tok ? xstrdup(tok) : NULL;
	out->expiration = exp ? when : 0;
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

int creds_process_fetch(const char *profile, const char *cmdline,
			char *const *envp, long long now,
			struct creds_config *out, struct gpuctl_err *err)
{
	struct buf b = BUF_INIT;
	char **argv = NULL;
	int argc, rc = -1;

	argv = creds_split_command(cmdline, &argc);
	if (!argv || argc == 0) {
		err_set(err, GPUCTL_ERR_CONFIG,
			"the credential_process of profile \"%.100s\" is %s",
			profile,
			argv ? "empty"
			     : "not a valid command line (a quote "
			       "or backslash is unfinished)");
		goto out;
	}
	if (run_capture(profile, argv, envp, &b, err) < 0)
		goto out;
	rc = creds_process_parse(profile, b.data, b.len, now, out, err);
out:
	buf_release_secret(&b);
	creds_argv_free(argv);
	return rc;
}
