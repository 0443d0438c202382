/*
 * util: memory helpers that never return NULL, a growable string buffer,
 * and secret wiping.
 *
 * Ownership: every char * returned here belongs to the caller (free()).
 */
#ifndef GPUCTL_UTIL_H
#define GPUCTL_UTIL_H

#include <stdarg.h>
#include <stddef.h>

/* Allocation that aborts on exhaustion: callers never see NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Wipe then free a secret (NULL is fine). */
void secure_free(void *p, size_t n);
/* Wipe then free a NUL-terminated secret string (NULL is fine). */
void secure_free_str(char *s);

/*
 * A growable byte buffer that is always NUL-terminated.  Like git's strbuf,
 * buf.data is never NULL after buf_init() (it points at a static empty
 * string until the first write), and buf_detach() is the one way to take
 * ownership of the bytes.
 */
struct buf {
	char *data;
	size_t len;
	size_t alloc;
};

#define BUF_INIT                 \
	{                        \
		buf_empty_, 0, 0 \
	}
extern char buf_empty_[];

void buf_init(struct buf *b);
/* Frees the memory; the buffer is ready for reuse. */
void buf_release(struct buf *b);
/* Wipes the contents, then releases (for buffers that held a secret). */
void buf_release_secret(struct buf *b);
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addch(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *fmt, va_list ap);
void buf_reset(struct buf *b);
/* Returns the data (caller frees) and leaves the buffer empty. */
char *buf_detach(struct buf *b, size_t *len);

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);

/* Reads a whole file into b.  Returns 0, or -1 with errno set. */
int read_file(const char *path, struct buf *b);

/* 1 when s starts with prefix. */
int starts_with(const char *s, const char *prefix);

/* The value of name in envp ("K=V" strings); an empty value is NULL. */
const char *env_get(char *const *envp, const char *name);
/* $HOME from envp, else the passwd entry's; NULL when neither. */
char *env_home(char *const *envp);

/*
 * Parses a non-negative decimal in [min, max] from the whole of s.
 * Returns 0, or -1 when s is not such a number.
 */
int parse_long(const char *s, long min, long max, long *out);

#endif
