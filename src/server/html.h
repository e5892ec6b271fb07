/* A growing text buffer for pages (user content goes through lks_page_text,
 * page.h, which escapes it). */
#ifndef LKS_SERVER_HTML_H
#define LKS_SERVER_HTML_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len, cap;
	int failed; /* an allocation failed: the text is incomplete */
};

/* Appends s[0..n) as it is (for our own markup only). */
void buf_add(struct buf *b, const char *s, size_t n);
/* Appends a NUL-terminated string as it is. */
void buf_puts(struct buf *b, const char *s);
/* Appends printf output as it is: never pass user content through it. */
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees the buffer's memory. */
void buf_free(struct buf *b);

#endif
