/* vCard 2.1/3.0/4.0 parser, model builder and vCard 3.0 writer. The input is
 * only read: physical lines are unfolded into a scratch buffer, each logical
 * line is copied into the list's arena and split there into group, name,
 * parameters and value; when END:VCARD arrives the card's properties are
 * decoded (quoted-printable, charset, UTF-8 sanitising) and interpreted into
 * the model of vcard.h. Every string of a list lives in one arena, freed at
 * once by lks_vcard_free. */
#include "linksync/vcard.h"

#include "linksync/error.h"

#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LKS_VERSION
#define LKS_VERSION "0"
#endif

/* ------------------------------------------------------------------ */
/* Arena                                                               */
/* ------------------------------------------------------------------ */

struct chunk {
	struct chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

typedef struct arena {
	struct chunk *head;
} arena;

#define ARENA_CHUNK 65536

static void *arena_alloc(arena *a, size_t n)
{
	struct chunk *c = NULL;
	void *p = NULL;

	if (n > SIZE_MAX - 32)
		return NULL;
	n = (n + 15) & ~(size_t)15;
	if (n == 0)
		n = 16;
	if (a->head == NULL || a->head->cap - a->head->used < n) {
		size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		c = malloc(sizeof(*c) + cap);
		if (c == NULL)
			return NULL;
		c->used = 0;
		c->cap = cap;
		if (a->head != NULL && n >= ARENA_CHUNK) {
			/* A big block goes behind the head so the head's room stays usable. */
			c->next = a->head->next;
			a->head->next = c;
			c->used = n;
			return c->data;
		}
		c->next = a->head;
		a->head = c;
	}
	p = a->head->data + a->head->used;
	a->head->used += n;
	return p;
}

static void arena_release(arena *a)
{
	struct chunk *c = a->head;

	while (c != NULL) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
}

static char *arena_strndup(arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	if (p == NULL)
		return NULL;
	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* ------------------------------------------------------------------ */
/* Growable byte buffer (scratch and output)                           */
/* ------------------------------------------------------------------ */

struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static int buf_reserve(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *p = NULL;

	if (b->oom)
		return -1;
	if (extra > SIZE_MAX / 2 - b->len - 1) {
		b->oom = 1;
		return -1;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

static void buf_put(struct buf *b, const char *s, size_t n)
{
	if (n == 0 || buf_reserve(b, n) < 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void buf_putc(struct buf *b, char c)
{
	buf_put(b, &c, 1);
}

/* ------------------------------------------------------------------ */
/* Small character helpers                                             */
/* ------------------------------------------------------------------ */

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static int upper(int c)
{
	return (c >= 'a' && c <= 'z') ? c - 32 : c;
}

static bool is_ws(int c)
{
	return c == ' ' || c == '\t';
}

static bool is_name_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static bool eq_nocase(const char *a, const char *b)
{
	while (*a != '\0' && lower((unsigned char)*a) == lower((unsigned char)*b)) {
		a++;
		b++;
	}
	return *a == '\0' && *b == '\0';
}

static bool eqn_nocase(const char *a, size_t n, const char *b)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (b[i] == '\0' || lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
	}
	return b[n] == '\0';
}

static bool prefix_nocase(const char *s, const char *prefix)
{
	while (*prefix != '\0') {
		if (lower((unsigned char)*s) != lower((unsigned char)*prefix))
			return false;
		s++;
		prefix++;
	}
	return true;
}

/* s[0..n) with surrounding spaces and tabs removed. */
static void trim_span(const char **s, size_t *n)
{
	while (*n > 0 && is_ws((unsigned char)(*s)[0])) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_ws((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/* Trims a NUL-terminated arena string in place (it is ours to modify). */
static char *trim_inplace(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (is_ws((unsigned char)s[n - 1]) || s[n - 1] == '\n'))
		s[--n] = '\0';
	while (is_ws((unsigned char)*s) || *s == '\n')
		s++;
	return s;
}

/* A printable ASCII excerpt of user input for error messages, which end up
 * in JSON and logs: other bytes become '?'. */
static const char *excerpt(char out[48], const char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n && o < 40; i++) {
		unsigned char c = (unsigned char)s[i];
		out[o++] = (c >= 0x20 && c < 0x7f && c != '\'') ? (char)c : '?';
	}
	if (i < n) {
		out[o++] = '.';
		out[o++] = '.';
		out[o++] = '.';
	}
	out[o] = '\0';
	return out;
}

/* ------------------------------------------------------------------ */
/* Physical lines and unfolding                                        */
/* ------------------------------------------------------------------ */

struct reader {
	const unsigned char *p, *end;
	size_t lineno; /* number of the next line */
};

/* Returns the next physical line without its end (LF, CRLF or CR), or false
 * at the end of input. */
static bool next_line(struct reader *r, const unsigned char **s, size_t *n, size_t *lineno)
{
	const unsigned char *p = r->p;

	if (p >= r->end)
		return false;
	*s = p;
	while (p < r->end && *p != '\n' && *p != '\r')
		p++;
	*n = (size_t)(p - *s);
	*lineno = r->lineno++;
	/* CR LF, LF, a lone CR, and CR CR LF (iOS 5 exports) each end one line. */
	while (p < r->end && *p == '\r')
		p++;
	if (p < r->end && *p == '\n')
		p++;
	r->p = p;
	return true;
}

static bool is_blank(const unsigned char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!is_ws(s[i]))
			return false;
	}
	return true;
}

/* Binary data (NUL and other C0 controls besides tab) is refused outright:
 * no text vCard contains it, and a page must never see it. */
static int check_physical(const unsigned char *s, size_t n, size_t lineno)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < 0x20 && s[i] != '\t')
			return lks_error_set(
			    LKS_EBADCONTENT,
			    "line %zu: binary data (byte 0x%02x), not a text vCard", lineno, s[i]);
	}
	if (n > LKS_VCARD_MAX_LINE)
		return lks_error_set(LKS_ETOOBIG, "line %zu: line longer than %u bytes", lineno,
				     LKS_VCARD_MAX_LINE);
	return 0;
}

/* Case-insensitive search for word in the part of a line before its value
 * (up to the first ':' outside double quotes). */
static bool header_has(const char *s, size_t n, const char *word)
{
	size_t i, wl = strlen(word);
	bool quoted = false;

	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			quoted = !quoted;
		else if (s[i] == ':' && !quoted)
			break;
		else if (!quoted && n - i >= wl && eqn_nocase(s + i, wl, word))
			return true;
	}
	return false;
}

static bool is_b64_line(const unsigned char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || c == '=' || is_ws(c)))
			return false;
	}
	return n > 0;
}

static size_t sanitize(unsigned char *out, const unsigned char *in, size_t n);
static bool needs_sanitize(const unsigned char *s, size_t n);

/* ------------------------------------------------------------------ */
/* Parser state                                                        */
/* ------------------------------------------------------------------ */

struct propvec {
	lks_vcard_prop *v;
	size_t n, cap;
};

struct rawparam {
	const char *name;
	const char *values[LKS_VCARD_MAX_PARAMS];
	size_t nvalues;
};

struct parser {
	struct reader rd;
	arena *ar;
	struct buf line; /* the current logical (unfolded) line */
	size_t line_no;	 /* its first physical line */
	struct propvec props;
	struct rawparam params[LKS_VCARD_MAX_PARAMS];
	size_t nparams;
};

struct lks_vcard_list {
	arena ar;
	lks_vcard_card *cards;
	size_t ncards;
};

static int line_append(struct parser *ps, const unsigned char *s, size_t n)
{
	if (ps->line.len + n > LKS_VCARD_MAX_LINE)
		return lks_error_set(LKS_ETOOBIG, "line %zu: unfolded line longer than %u bytes",
				     ps->line_no, LKS_VCARD_MAX_LINE);
	buf_put(&ps->line, (const char *)s, n);
	if (ps->line.oom)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	return 0;
}

/* Reads the next non-blank logical line into ps->line: folded lines (a line
 * starting with space or tab continues the previous one, minus that one
 * character), quoted-printable soft line breaks (a QP line ending in '='), and
 * 2.1 BASE64 values whose continuation lines are not indented. Sets *eof at
 * the end of input. */
static int read_logical(struct parser *ps, bool *eof)
{
	const unsigned char *s = NULL;
	size_t n = 0, ln = 0;
	bool qp, b64;
	int rc;

	*eof = false;
	for (;;) {
		if (!next_line(&ps->rd, &s, &n, &ln)) {
			*eof = true;
			return 0;
		}
		rc = check_physical(s, n, ln);
		if (rc < 0)
			return rc;
		if (!is_blank(s, n))
			break;
	}
	/* Stray indentation on a line that continues nothing. */
	while (n > 0 && is_ws(*s)) {
		s++;
		n--;
	}
	ps->line.len = 0;
	ps->line_no = ln;
	rc = line_append(ps, s, n);
	if (rc < 0)
		return rc;
	qp = header_has(ps->line.p, ps->line.len, "QUOTED-PRINTABLE");
	b64 = header_has(ps->line.p, ps->line.len, "BASE64");

	for (;;) {
		struct reader save = ps->rd;

		if (!next_line(&ps->rd, &s, &n, &ln))
			break;
		if (qp && ps->line.len > 0 && ps->line.p[ps->line.len - 1] == '=') {
			ps->line.len--;
		} else if (n > 0 && is_ws(s[0])) {
			s++;
			n--;
		} else if (!(b64 && is_b64_line(s, n))) {
			ps->rd = save;
			break;
		}
		rc = check_physical(s, n, ln);
		if (rc < 0)
			return rc;
		rc = line_append(ps, s, n);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Splitting a logical line into a property                            */
/* ------------------------------------------------------------------ */

/* RFC 6868: ^n newline, ^^ caret, ^' double quote; in place. */
static void caret_decode(char *s)
{
	char *o = s;

	while (*s != '\0') {
		if (s[0] == '^' && (s[1] == 'n' || s[1] == 'N')) {
			*o++ = '\n';
			s += 2;
		} else if (s[0] == '^' && s[1] == '^') {
			*o++ = '^';
			s += 2;
		} else if (s[0] == '^' && s[1] == '\'') {
			*o++ = '"';
			s += 2;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

static void upcase(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)upper((unsigned char)*s);
}

static int add_param_value(struct parser *ps, const char *name, const char *value)
{
	size_t i;
	struct rawparam *rp = NULL;

	for (i = 0; i < ps->nparams; i++) {
		if (strcmp(ps->params[i].name, name) == 0) {
			rp = &ps->params[i];
			break;
		}
	}
	if (rp == NULL) {
		if (ps->nparams == LKS_VCARD_MAX_PARAMS)
			return lks_error_set(LKS_ETOOBIG, "line %zu: more than %d parameters",
					     ps->line_no, LKS_VCARD_MAX_PARAMS);
		rp = &ps->params[ps->nparams++];
		rp->name = name;
		rp->nvalues = 0;
	}
	if (rp->nvalues == LKS_VCARD_MAX_PARAMS)
		return lks_error_set(LKS_ETOOBIG, "line %zu: more than %d values for parameter %s",
				     ps->line_no, LKS_VCARD_MAX_PARAMS, name);
	rp->values[rp->nvalues++] = value;
	return 0;
}

/* Adds value as one value, or for TYPE as the comma-separated values in it. */
static int add_param_values(struct parser *ps, const char *name, char *value, bool split)
{
	char *p = value;
	int rc;

	for (;;) {
		char *comma = split ? strchr(p, ',') : NULL;
		const char *v;
		size_t vn;

		if (comma != NULL)
			*comma = '\0';
		v = p;
		vn = strlen(p);
		trim_span(&v, &vn);
		/* Parameter values reach pages too: valid UTF-8 without DEL or C1
		 * controls (fuzzing found DEL getting through). */
		if (needs_sanitize((const unsigned char *)v, vn)) {
			unsigned char *clean = arena_alloc(ps->ar, vn * 3 + 1);
			if (clean == NULL)
				return lks_error_set(LKS_ENOMEM, "out of memory");
			sanitize(clean, (const unsigned char *)v, vn);
			v = (const char *)clean;
		} else {
			((char *)v)[vn] = '\0';
		}
		rc = add_param_value(ps, name, v);
		if (rc < 0)
			return rc;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

static bool is_encoding_word(const char *s)
{
	return eq_nocase(s, "QUOTED-PRINTABLE") || eq_nocase(s, "BASE64") || eq_nocase(s, "8BIT") ||
	       eq_nocase(s, "7BIT");
}

/* Splits ps->line into *prop (strings in the arena). */
static int parse_prop(struct parser *ps, lks_vcard_prop *prop)
{
	char ex[48];
	char *s = NULL, *p, *end, *name, *group = "";
	lks_vcard_param *params = NULL;
	size_t i;
	char c;
	int rc;

	if (memchr(ps->line.p, ':', ps->line.len) == NULL)
		return lks_error_set(LKS_EBADCONTENT,
				     "line %zu: not a vCard property (no ':'): '%s'", ps->line_no,
				     excerpt(ex, ps->line.p, ps->line.len));
	s = arena_strndup(ps->ar, ps->line.p, ps->line.len);
	if (s == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	end = s + ps->line.len;
	p = s;
	name = p;
	while (p < end && is_name_char((unsigned char)*p))
		p++;
	if (p < end && *p == '.' && p > name) {
		*p++ = '\0';
		group = name;
		name = p;
		while (p < end && is_name_char((unsigned char)*p))
			p++;
	}
	if (p == name || p == end || (*p != ';' && *p != ':'))
		return lks_error_set(LKS_EBADCONTENT, "line %zu: invalid property name in '%s'",
				     ps->line_no, excerpt(ex, ps->line.p, ps->line.len));
	c = *p;
	*p++ = '\0';
	upcase(name);

	ps->nparams = 0;
	while (c == ';') {
		char *pname = p;
		char sep;

		while (p < end && is_name_char((unsigned char)*p))
			p++;
		if (p == end)
			goto no_colon;
		sep = *p;
		if (p == pname) {
			if (sep == ';' || sep == ':') {
				/* An empty parameter (";;"): harmless, skip it. */
				c = sep;
				p++;
				continue;
			}
			return lks_error_set(LKS_EBADCONTENT, "line %zu: invalid parameter in '%s'",
					     ps->line_no, excerpt(ex, ps->line.p, ps->line.len));
		}
		if (sep == '=') {
			bool is_type;

			*p++ = '\0';
			upcase(pname);
			is_type = strcmp(pname, "TYPE") == 0;
			for (;;) {
				char *v;

				if (p < end && *p == '"') {
					char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
					if (q == NULL)
						return lks_error_set(
						    LKS_EBADCONTENT,
						    "line %zu: unterminated quoted parameter value",
						    ps->line_no);
					v = p + 1;
					*q = '\0';
					p = q + 1;
					/* Tolerate junk between the closing quote and the
					 * separator. */
					while (p < end && *p != ',' && *p != ';' && *p != ':')
						p++;
					if (p == end)
						goto no_colon;
					sep = *p;
					caret_decode(v);
					rc = add_param_values(ps, pname, v, is_type);
				} else {
					v = p;
					while (p < end && *p != ',' && *p != ';' && *p != ':')
						p++;
					if (p == end)
						goto no_colon;
					sep = *p;
					*p = '\0';
					caret_decode(v);
					rc = add_param_values(ps, pname, v, false);
				}
				if (rc < 0)
					return rc;
				p++;
				if (sep != ',')
					break;
			}
			c = sep;
		} else if (sep == ';' || sep == ':') {
			/* A bare 2.1 parameter: TEL;CELL;VOICE, PHOTO;BASE64;JPEG. */
			*p++ = '\0';
			rc = add_param_value(ps, is_encoding_word(pname) ? "ENCODING" : "TYPE",
					     pname);
			if (rc < 0)
				return rc;
			c = sep;
		} else {
			return lks_error_set(LKS_EBADCONTENT, "line %zu: invalid parameter in '%s'",
					     ps->line_no, excerpt(ex, ps->line.p, ps->line.len));
		}
	}
	if (c != ':')
		goto no_colon;

	if (ps->nparams > 0) {
		params = arena_alloc(ps->ar, ps->nparams * sizeof(*params));
		if (params == NULL)
			return lks_error_set(LKS_ENOMEM, "out of memory");
		for (i = 0; i < ps->nparams; i++) {
			const char **vals =
			    arena_alloc(ps->ar, ps->params[i].nvalues * sizeof(*vals));
			if (vals == NULL)
				return lks_error_set(LKS_ENOMEM, "out of memory");
			memcpy(vals, ps->params[i].values, ps->params[i].nvalues * sizeof(*vals));
			params[i].name = ps->params[i].name;
			params[i].values = vals;
			params[i].nvalues = ps->params[i].nvalues;
		}
	}
	prop->group = group;
	prop->name = name;
	prop->params = params;
	prop->nparams = ps->nparams;
	prop->value = p;
	prop->line = ps->line_no;
	return 0;

no_colon:
	return lks_error_set(LKS_EBADCONTENT, "line %zu: no ':' after the parameters in '%s'",
			     ps->line_no, excerpt(ex, ps->line.p, ps->line.len));
}

/* ------------------------------------------------------------------ */
/* Decoding values: quoted-printable, charsets, UTF-8                  */
/* ------------------------------------------------------------------ */

static const lks_vcard_param *find_param(const lks_vcard_prop *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nparams; i++) {
		if (strcmp(p->params[i].name, name) == 0)
			return &p->params[i];
	}
	return NULL;
}

static bool param_has(const lks_vcard_prop *p, const char *name, const char *value)
{
	const lks_vcard_param *pa = find_param(p, name);
	size_t i;

	if (pa == NULL)
		return false;
	for (i = 0; i < pa->nvalues; i++) {
		if (eq_nocase(pa->values[i], value))
			return true;
	}
	return false;
}

static const char *param_first(const lks_vcard_prop *p, const char *name)
{
	const lks_vcard_param *pa = find_param(p, name);

	return (pa != NULL && pa->nvalues > 0) ? pa->values[0] : NULL;
}

static bool is_base64_prop(const lks_vcard_prop *p)
{
	return param_has(p, "ENCODING", "b") || param_has(p, "ENCODING", "BASE64");
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Quoted-printable decoding into out (room for n bytes); returns the length.
 * '=' not followed by two hex digits is kept as written. */
static size_t qp_decode(unsigned char *out, const char *in, size_t n)
{
	size_t i = 0, o = 0;

	while (i < n) {
		if (in[i] == '=' && i + 2 < n && hexval((unsigned char)in[i + 1]) >= 0 &&
		    hexval((unsigned char)in[i + 2]) >= 0) {
			out[o++] = (unsigned char)(hexval((unsigned char)in[i + 1]) * 16 +
						   hexval((unsigned char)in[i + 2]));
			i += 3;
		} else {
			out[o++] = (unsigned char)in[i++];
		}
	}
	return o;
}

static size_t put_utf8(unsigned char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | (cp >> 18));
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when invalid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		len = 2;
		c = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3;
		c = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
	    (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	uint32_t cp;

	while (i < n) {
		size_t l = utf8_seq(s + i, n - i, &cp);
		if (l == 0)
			return false;
		i += l;
	}
	return true;
}

/* Windows-1252 0x80..0x9F (WHATWG: the five holes map to C1 controls). */
static const uint16_t cp1252_hi[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

/* Writes the page-safe form of UTF-8-ish text: invalid sequences become
 * U+FFFD, CR LF and lone CR become LF, other C0 controls, DEL and C1
 * controls are dropped. out needs room for 3 * n + 1 bytes. */
static size_t sanitize(unsigned char *out, const unsigned char *in, size_t n)
{
	size_t i = 0, o = 0;
	uint32_t cp;

	while (i < n) {
		size_t l = utf8_seq(in + i, n - i, &cp);
		if (l == 0) {
			o += put_utf8(out + o, 0xFFFD);
			i++;
			continue;
		}
		if (cp == '\r') {
			out[o++] = '\n';
			i += (i + 1 < n && in[i + 1] == '\n') ? 2 : 1;
			continue;
		}
		if ((cp < 0x20 && cp != '\t' && cp != '\n') || (cp >= 0x7F && cp < 0xA0)) {
			i += l;
			continue;
		}
		memcpy(out + o, in + i, l);
		o += l;
		i += l;
	}
	out[o] = '\0';
	return o;
}

/* Whether sanitize() would change s[0..n). */
static bool needs_sanitize(const unsigned char *s, size_t n)
{
	size_t i = 0;
	uint32_t cp;

	while (i < n) {
		size_t l = utf8_seq(s + i, n - i, &cp);
		if (l == 0 || (cp < 0x20 && cp != '\t' && cp != '\n') || (cp >= 0x7F && cp < 0xA0))
			return true;
		i += l;
	}
	return false;
}

static bool charset_is(const char *cs, const char *const *names)
{
	for (; *names != NULL; names++) {
		if (eq_nocase(cs, *names))
			return true;
	}
	return false;
}

static const char *const cs_utf8[] = {"UTF-8", "UTF8", "US-ASCII", "ASCII", NULL};
static const char *const cs_1252[] = {"ISO-8859-1",   "ISO8859-1", "ISO_8859-1", "LATIN1", "L1",
				      "WINDOWS-1252", "CP1252",	   "X-CP1252",	 NULL};

/* Converts in[0..n) from charset into UTF-8 in a malloc'd buffer, via iconv
 * for charsets other than UTF-8 and Windows-1252. Returns NULL when iconv does
 * not know the charset (or memory runs out). */
static unsigned char *iconv_utf8(const char *charset, const unsigned char *in, size_t n,
				 size_t *outlen)
{
	iconv_t cd;
	unsigned char *out = NULL;
	size_t cap, used = 0;
	char *ip = (char *)in;
	size_t ileft = n;

	for (const char *c = charset; *c != '\0'; c++) {
		if (!is_name_char((unsigned char)*c) && *c != '.' && *c != ':')
			return NULL;
	}
	if (strlen(charset) > 40)
		return NULL;
	cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1)
		return NULL;
	cap = n * 4 + 16;
	out = malloc(cap);
	if (out == NULL)
		goto out;
	while (ileft > 0) {
		char *op = (char *)out + used;
		size_t oleft = cap - used - 4;
		size_t r = iconv(cd, &ip, &ileft, &op, &oleft);
		used = (size_t)(op - (char *)out);
		if (r != (size_t)-1)
			break;
		if (errno == E2BIG) {
			unsigned char *bigger;
			if (cap > SIZE_MAX / 2) {
				free(out);
				out = NULL;
				goto out;
			}
			bigger = realloc(out, cap * 2);
			if (bigger == NULL) {
				free(out);
				out = NULL;
				goto out;
			}
			out = bigger;
			cap *= 2;
		} else if (errno == EILSEQ) {
			used += put_utf8(out + used, 0xFFFD);
			ip++;
			ileft--;
			iconv(cd, NULL, NULL, NULL, NULL);
		} else {
			/* EINVAL: an incomplete sequence at the end. */
			used += put_utf8(out + used, 0xFFFD);
			break;
		}
	}
	*outlen = used;
out:
	iconv_close(cd);
	return out;
}

/* Decodes a property's value: quoted-printable, then its CHARSET (without one,
 * text that is not valid UTF-8 is read as Windows-1252, which is what old
 * exporters wrote), then sanitize(). Base64 text is only sanitised. */
static int decode_value(arena *a, lks_vcard_prop *p)
{
	const char *raw = p->value;
	size_t n = strlen(raw);
	unsigned char *tmp = NULL, *conv = NULL, *out = NULL;
	const unsigned char *src = (const unsigned char *)raw;
	const char *charset = param_first(p, "CHARSET");
	size_t len = n;
	int rc = 0;

	if (!is_base64_prop(p) && param_has(p, "ENCODING", "QUOTED-PRINTABLE")) {
		tmp = malloc(n + 1);
		if (tmp == NULL) {
			rc = lks_error_set(LKS_ENOMEM, "out of memory");
			goto out;
		}
		len = qp_decode(tmp, raw, n);
		src = tmp;
	}
	if (!is_base64_prop(p) && !utf8_valid(src, len)) {
		size_t clen = 0;

		if (charset != NULL && !charset_is(charset, cs_utf8) &&
		    !charset_is(charset, cs_1252))
			conv = iconv_utf8(charset, src, len, &clen);
		if (conv == NULL && (charset == NULL || !charset_is(charset, cs_utf8))) {
			/* Windows-1252 (ISO-8859-1 as browsers read it). */
			size_t i, o = 0;
			conv = malloc(len * 3 + 1);
			if (conv == NULL) {
				rc = lks_error_set(LKS_ENOMEM, "out of memory");
				goto out;
			}
			for (i = 0; i < len; i++) {
				unsigned char c = src[i];
				if (c < 0x80)
					conv[o++] = c;
				else if (c < 0xA0)
					o += put_utf8(conv + o, cp1252_hi[c - 0x80]);
				else
					o += put_utf8(conv + o, c);
			}
			clen = o;
		}
		if (conv != NULL) {
			src = conv;
			len = clen;
		}
	}
	if (src == (const unsigned char *)raw && !needs_sanitize(src, len))
		goto out; /* already clean: keep the arena copy as it is */
	if (len > (SIZE_MAX - 1) / 3) {
		rc = lks_error_set(LKS_ETOOBIG, "line %zu: value too large", p->line);
		goto out;
	}
	out = arena_alloc(a, len * 3 + 1);
	if (out == NULL) {
		rc = lks_error_set(LKS_ENOMEM, "out of memory");
		goto out;
	}
	sanitize(out, src, len);
	p->value = (const char *)out;
out:
	free(tmp);
	free(conv);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Escapes and components                                              */
/* ------------------------------------------------------------------ */

/* End of the component that starts at s (the next ';' not escaped by '\'). */
static const char *component_end(const char *s, const char *end)
{
	while (s < end && *s != ';') {
		if (*s == '\\' && s + 1 < end)
			s++;
		s++;
	}
	return s;
}

/* Unescapes s[0..n) into the arena. 3.0/4.0: \n \N \, \; \\ \: \" (the last two
 * are written by Gmail and Apple); other backslashes stay. 2.1 knows only \;.
 * The result is trimmed. */
static char *unescape(arena *a, const char *s, size_t n, lks_vcard_version v)
{
	char *out = arena_alloc(a, n + 1);
	size_t i = 0, o = 0;

	if (out == NULL)
		return NULL;
	while (i < n) {
		char c = s[i];
		if (c == '\\' && i + 1 < n) {
			char d = s[i + 1];
			if (v == LKS_VCARD_21) {
				if (d == ';') {
					out[o++] = ';';
					i += 2;
					continue;
				}
			} else if (d == 'n' || d == 'N') {
				out[o++] = '\n';
				i += 2;
				continue;
			} else if (d == ',' || d == ';' || d == '\\' || d == ':' || d == '"') {
				out[o++] = d;
				i += 2;
				continue;
			}
		}
		out[o++] = c;
		i++;
	}
	out[o] = '\0';
	return trim_inplace(out);
}

/* Splits a structured value (still escaped) at its unescaped ';' into exactly
 * want unescaped components: missing ones are "", extra ones are dropped.
 * Returns false when out of memory. */
static bool split_components(arena *a, const char *value, lks_vcard_version v, const char **comp,
			     size_t want)
{
	const char *p = value, *end = value + strlen(value);
	size_t i;

	for (i = 0; i < want; i++) {
		const char *e;

		if (p > end) {
			comp[i] = "";
			continue;
		}
		e = component_end(p, end);
		comp[i] = unescape(a, p, (size_t)(e - p), v);
		if (comp[i] == NULL)
			return false;
		p = e + 1;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Base64, data: URIs, image signatures                                */
/* ------------------------------------------------------------------ */

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decodes base64 (whitespace ignored, padding optional, decoding stops at the
 * first '='). Returns false on any other character. out needs n * 3 / 4 + 3. */
static bool b64_decode(unsigned char *out, size_t *outlen, const char *in, size_t n)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)in[i];
		int v;
		if (c == '=')
			break;
		if (is_ws(c) || c == '\n')
			continue;
		v = b64val(c);
		if (v < 0)
			return false;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*outlen = o;
	return true;
}

static const char *sniff_image(const unsigned char *d, size_t n)
{
	if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
		return "image/jpeg";
	if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "image/png";
	if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0))
		return "image/gif";
	if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
		return "image/webp";
	if (n >= 2 && d[0] == 'B' && d[1] == 'M')
		return "image/bmp";
	return "application/octet-stream";
}

/* A declared photo type (TYPE=JPEG, TYPE=image/png, MEDIATYPE=...) as a
 * lower-case media type, or "" when there is none or it is unusable. */
static const char *declared_type(arena *a, const lks_vcard_prop *p)
{
	const char *t = param_first(p, "MEDIATYPE");
	char *m;
	size_t i, n;

	if (t == NULL)
		t = param_first(p, "TYPE");
	if (t == NULL)
		return "";
	if (strchr(t, '/') == NULL) {
		if (eq_nocase(t, "JPEG") || eq_nocase(t, "JPG"))
			return "image/jpeg";
		if (eq_nocase(t, "PNG"))
			return "image/png";
		if (eq_nocase(t, "GIF"))
			return "image/gif";
		if (eq_nocase(t, "WEBP"))
			return "image/webp";
		if (eq_nocase(t, "BMP"))
			return "image/bmp";
		return "";
	}
	n = strlen(t);
	if (n > 100)
		return "";
	for (i = 0; i < n; i++) {
		if (!is_name_char((unsigned char)t[i]) && t[i] != '/' && t[i] != '.' && t[i] != '+')
			return "";
	}
	m = arena_strndup(a, t, n);
	if (m == NULL)
		return "";
	for (i = 0; i < n; i++)
		m[i] = (char)lower((unsigned char)m[i]);
	return m;
}

/* Fills card->photo from PHOTO property p when it is usable. Returns 0 (also
 * when the photo is unusable: a broken photo is skipped, not fatal) or
 * LKS_ENOMEM. */
static int take_photo(arena *a, lks_vcard_card *card, const lks_vcard_prop *p)
{
	const char *v = p->value;
	size_t n = strlen(v);
	unsigned char *data = NULL;
	size_t dlen = 0;
	const char *val = param_first(p, "VALUE");

	if (is_base64_prop(p)) {
		data = arena_alloc(a, n / 4 * 3 + 3);
		if (data == NULL)
			return lks_error_set(LKS_ENOMEM, "out of memory");
		if (!b64_decode(data, &dlen, v, n) || dlen == 0)
			return 0;
	} else if (prefix_nocase(v, "data:")) {
		const char *comma = strchr(v, ',');
		bool base64;
		size_t i, o = 0;

		if (comma == NULL)
			return 0;
		base64 = comma - v >= 7 && eqn_nocase(comma - 7, 7, ";base64");
		data = arena_alloc(a, strlen(comma + 1) + 3);
		if (data == NULL)
			return lks_error_set(LKS_ENOMEM, "out of memory");
		if (base64) {
			if (!b64_decode(data, &dlen, comma + 1, strlen(comma + 1)) || dlen == 0)
				return 0;
		} else {
			const char *d = comma + 1;
			for (i = 0; d[i] != '\0'; i++) {
				if (d[i] == '%' && hexval((unsigned char)d[i + 1]) >= 0 &&
				    hexval((unsigned char)d[i + 2]) >= 0) {
					data[o++] =
					    (unsigned char)(hexval((unsigned char)d[i + 1]) * 16 +
							    hexval((unsigned char)d[i + 2]));
					i += 2;
				} else {
					data[o++] = (unsigned char)d[i];
				}
			}
			dlen = o;
			if (dlen == 0)
				return 0;
		}
	} else if (val == NULL || eq_nocase(val, "uri") || eq_nocase(val, "url")) {
		const char *u = v;
		size_t un = n;
		char *uri;

		trim_span(&u, &un);
		if (!(prefix_nocase(u, "http://") || prefix_nocase(u, "https://")))
			return 0;
		for (size_t i = 0; i < un; i++) {
			if ((unsigned char)u[i] <= ' ' || u[i] == '"' || u[i] == '<' || u[i] == '>')
				return 0;
		}
		uri = arena_strndup(a, u, un);
		if (uri == NULL)
			return lks_error_set(LKS_ENOMEM, "out of memory");
		card->has_photo = 1;
		card->photo.uri = uri;
		card->photo.data = NULL;
		card->photo.len = 0;
		card->photo.media_type = declared_type(a, p);
		return 0;
	} else {
		return 0;
	}
	card->has_photo = 1;
	card->photo.uri = "";
	card->photo.data = data;
	card->photo.len = dlen;
	card->photo.media_type = sniff_image(data, dlen);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Building a card                                                     */
/* ------------------------------------------------------------------ */

struct label {
	const char *group;
	const char *text;
	size_t order;
};

static int cmp_nocase(const char *a, const char *b)
{
	while (*a != '\0' && lower((unsigned char)*a) == lower((unsigned char)*b)) {
		a++;
		b++;
	}
	return lower((unsigned char)*a) - lower((unsigned char)*b);
}

static int label_cmp(const void *x, const void *y)
{
	return cmp_nocase(((const struct label *)x)->group, ((const struct label *)y)->group);
}

/* Group, then file order: the first label of a group wins. */
static int label_order_cmp(const void *x, const void *y)
{
	const struct label *a = x, *b = y;
	int c = label_cmp(a, b);

	if (c != 0)
		return c;
	return (a->order > b->order) - (a->order < b->order);
}

static const char *find_label(const struct label *labels, size_t n, const char *group)
{
	struct label key = {group, NULL, 0};
	const struct label *l;

	if (group[0] == '\0' || n == 0)
		return "";
	l = bsearch(&key, labels, n, sizeof(*labels), label_cmp);
	return l != NULL ? l->text : "";
}

/* TYPE values in lower case without "pref" and duplicates, and the preference
 * (TYPE=pref is 1, 4.0 PREF=n is n). */
static int fill_types(arena *a, const lks_vcard_prop *p, const char *const **types, size_t *ntypes,
		      int *pref)
{
	const lks_vcard_param *t = find_param(p, "TYPE");
	const char *pv = param_first(p, "PREF");
	const char **arr = NULL;
	size_t i, j, n = 0;

	*pref = 0;
	if (pv != NULL) {
		int val = 0;
		for (i = 0; pv[i] >= '0' && pv[i] <= '9' && i < 4; i++)
			val = val * 10 + (pv[i] - '0');
		if (pv[i] == '\0' && val >= 1 && val <= 100)
			*pref = val;
	}
	*types = NULL;
	*ntypes = 0;
	if (t == NULL)
		return 0;
	arr = arena_alloc(a, t->nvalues * sizeof(*arr));
	if (arr == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	for (i = 0; i < t->nvalues; i++) {
		const char *v = t->values[i];
		char *low;
		bool dup = false;

		if (v[0] == '\0')
			continue;
		if (eq_nocase(v, "pref")) {
			if (*pref == 0)
				*pref = 1;
			continue;
		}
		for (j = 0; j < n && !dup; j++)
			dup = eq_nocase(arr[j], v);
		if (dup)
			continue;
		low = arena_strndup(a, v, strlen(v));
		if (low == NULL)
			return lks_error_set(LKS_ENOMEM, "out of memory");
		for (j = 0; low[j] != '\0'; j++)
			low[j] = (char)lower((unsigned char)low[j]);
		arr[n++] = low;
	}
	*types = arr;
	*ntypes = n;
	return 0;
}

/* TEL values: a tel: URI becomes its number, ";ext=N" a ",N" pause. */
static char *phone_value(arena *a, char *v)
{
	char *semi, *ext;
	struct buf b = {0};
	char *out = NULL;

	if (!prefix_nocase(v, "tel:"))
		return v;
	/* "tel:tel:1" too, so that writing and reading again is stable; v is
	 * already trimmed at its end, so only its start needs skipping (a
	 * strlen per round would make "tel:tel:..." quadratic). */
	while (prefix_nocase(v, "tel:")) {
		v += 4;
		while (is_ws((unsigned char)*v) || *v == '\n')
			v++;
	}
	semi = strchr(v, ';');
	if (semi == NULL)
		return v;
	*semi = '\0';
	ext = semi + 1;
	while (ext != NULL && *ext != '\0') {
		char *next = strchr(ext, ';');
		if (next != NULL)
			*next++ = '\0';
		if (prefix_nocase(ext, "ext=") && ext[4] != '\0') {
			buf_puts(&b, v);
			buf_putc(&b, ',');
			buf_puts(&b, ext + 4);
			if (b.oom)
				break;
			out = arena_strndup(a, b.p, b.len);
			free(b.p);
			return out;
		}
		ext = next;
	}
	free(b.p);
	return b.oom ? NULL : v;
}

static int fill_typed(arena *a, const lks_vcard_prop *p, lks_vcard_version v, lks_vcard_typed *t,
		      const struct label *labels, size_t nlabels)
{
	char *val = unescape(a, p->value, strlen(p->value), v);
	int rc;

	if (val == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	if (strcmp(p->name, "TEL") == 0) {
		val = phone_value(a, val);
		if (val == NULL)
			return lks_error_set(LKS_ENOMEM, "out of memory");
	} else if (strcmp(p->name, "EMAIL") == 0) {
		while (prefix_nocase(val, "mailto:")) {
			val += 7;
			while (is_ws((unsigned char)*val) || *val == '\n')
				val++;
		}
	}
	t->value = val;
	t->group = p->group;
	t->label = find_label(labels, nlabels, p->group);
	rc = fill_types(a, p, &t->types, &t->ntypes, &t->pref);
	return rc;
}

static int fill_adr(arena *a, const lks_vcard_prop *p, lks_vcard_version v, lks_vcard_adr *adr,
		    const struct label *labels, size_t nlabels)
{
	const char *c[7];
	struct buf b = {0};
	size_t i;
	int rc;

	if (!split_components(a, p->value, v, c, 7))
		return lks_error_set(LKS_ENOMEM, "out of memory");
	adr->pobox = c[0];
	adr->extended = c[1];
	adr->street = c[2];
	adr->locality = c[3];
	adr->region = c[4];
	adr->postal_code = c[5];
	adr->country = c[6];
	for (i = 0; i < 7; i++) {
		const char *s = c[i];
		size_t len = strlen(s);

		/* "Silicon Alley 5," must not give ",," once joined. */
		while (len > 0 && (s[len - 1] == ',' || is_ws((unsigned char)s[len - 1])))
			len--;
		if (len == 0)
			continue;
		if (b.len > 0)
			buf_puts(&b, ", ");
		for (size_t k = 0; k < len; k++) {
			if (s[k] == '\n')
				buf_puts(&b, ", ");
			else
				buf_putc(&b, s[k]);
		}
	}
	if (b.oom) {
		free(b.p);
		return lks_error_set(LKS_ENOMEM, "out of memory");
	}
	adr->formatted = arena_strndup(a, b.p ? b.p : "", b.len);
	free(b.p);
	if (adr->formatted == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	adr->group = p->group;
	adr->label = find_label(labels, nlabels, p->group);
	rc = fill_types(a, p, &adr->types, &adr->ntypes, &adr->pref);
	return rc;
}

static bool all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return true;
}

/* BDAY as "YYYY-MM-DD" or "--MM-DD" where the written form allows. */
static const char *bday_value(arena *a, const lks_vcard_prop *p, lks_vcard_version v)
{
	char *s = unescape(a, p->value, strlen(p->value), v);
	const char *omit = param_first(p, "X-APPLE-OMIT-YEAR");
	size_t n;
	char *o;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if (omit != NULL && strlen(omit) == 4 && n >= 10 && memcmp(s, omit, 4) == 0 &&
	    s[4] == '-') {
		s += 3;
		s[0] = '-';
		s[1] = '-';
		return s;
	}
	if (n == 6 && s[0] == '-' && s[1] == '-' && all_digits(s + 2, 4)) {
		o = arena_alloc(a, 8);
		if (o == NULL)
			return NULL;
		memcpy(o, "--", 2);
		memcpy(o + 2, s + 2, 2);
		o[4] = '-';
		memcpy(o + 5, s + 4, 2);
		o[7] = '\0';
		return o;
	}
	if (n == 8 && all_digits(s, 8)) {
		o = arena_alloc(a, 11);
		if (o == NULL)
			return NULL;
		memcpy(o, s, 4);
		o[4] = '-';
		memcpy(o + 5, s + 4, 2);
		o[7] = '-';
		memcpy(o + 8, s + 6, 2);
		o[10] = '\0';
		return o;
	}
	return s;
}

/* "_$!<HomePage>!$_" (Apple's built-in labels) becomes "HomePage". */
static const char *clean_label(char *s)
{
	size_t n = strlen(s);

	if (n >= 8 && memcmp(s, "_$!<", 4) == 0 && memcmp(s + n - 4, ">!$_", 4) == 0) {
		s[n - 4] = '\0';
		return s + 4;
	}
	return s;
}

static const char *join_name(arena *a, const lks_vcard_name *n)
{
	const char *parts[5] = {n->prefix, n->given, n->additional, n->family, n->suffix};
	struct buf b = {0};
	const char *out;
	size_t i;

	for (i = 0; i < 5; i++) {
		if (parts[i][0] == '\0')
			continue;
		if (b.len > 0)
			buf_putc(&b, ' ');
		buf_puts(&b, parts[i]);
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	out = arena_strndup(a, b.p ? b.p : "", b.len);
	free(b.p);
	return out;
}

#define NOMEM() lks_error_set(LKS_ENOMEM, "out of memory")

static int parse_version(const lks_vcard_prop *ver, lks_vcard_version *v)
{
	char ex[48];
	const char *s = ver->value;
	size_t n = strlen(s);

	trim_span(&s, &n);
	if (eqn_nocase(s, n, "2.1"))
		*v = LKS_VCARD_21;
	else if (eqn_nocase(s, n, "3.0"))
		*v = LKS_VCARD_30;
	else if (eqn_nocase(s, n, "4.0"))
		*v = LKS_VCARD_40;
	else
		return lks_error_set(LKS_EBADCONTENT,
				     "line %zu: unknown VERSION '%s' (2.1, 3.0 and 4.0 are known)",
				     ver->line, excerpt(ex, s, n));
	return 0;
}

/* Turns the properties collected in ps->props into *card. */
static int build_card(struct parser *ps, lks_vcard_card *card, size_t begin_line)
{
	arena *a = ps->ar;
	lks_vcard_prop *props = NULL;
	const lks_vcard_prop *ver = NULL;
	struct label *labels = NULL;
	lks_vcard_typed *phones = NULL, *emails = NULL, *urls = NULL;
	lks_vcard_adr *adrs = NULL;
	struct buf note = {0};
	size_t n = ps->props.n, i, nlabels = 0, np = 0, ne = 0, nu = 0, na = 0;
	bool has_fn = false, has_org = false, has_title = false, has_nick = false;
	bool has_bday = false, has_uid = false, has_kind = false, has_gender = false;
	lks_vcard_version v = LKS_VCARD_30;
	int rc = 0;

	for (i = 0; i < n; i++) {
		if (strcmp(ps->props.v[i].name, "VERSION") == 0) {
			ver = &ps->props.v[i];
			break;
		}
	}
	if (ver == NULL)
		return lks_error_set(LKS_EBADCONTENT,
				     "line %zu: the vCard that begins here has no VERSION",
				     begin_line);
	rc = parse_version(ver, &v);
	if (rc < 0)
		return rc;

	memset(card, 0, sizeof(*card));
	card->version = v;
	card->line = begin_line;
	card->fn = card->display_name = card->org = card->title = card->nickname = "";
	card->n.family = card->n.given = card->n.additional = card->n.prefix = card->n.suffix = "";
	card->bday = card->note = card->uid = card->kind = card->gender = "";
	card->photo.media_type = card->photo.uri = "";

	if (n > 0) {
		props = arena_alloc(a, n * sizeof(*props));
		if (props == NULL)
			return NOMEM();
		memcpy(props, ps->props.v, n * sizeof(*props));
	}
	card->props = props;
	card->nprops = n;

	for (i = 0; i < n; i++) {
		const char *name = props[i].name;

		rc = decode_value(a, &props[i]);
		if (rc < 0)
			goto out;
		if (strcmp(name, "TEL") == 0)
			np++;
		else if (strcmp(name, "EMAIL") == 0)
			ne++;
		else if (strcmp(name, "URL") == 0)
			nu++;
		else if (strcmp(name, "ADR") == 0)
			na++;
		else if (strcmp(name, "X-ABLABEL") == 0 && props[i].group[0] != '\0')
			nlabels++;
		else if (strcmp(name, "FN") == 0)
			has_fn = true;
	}

	if (v != LKS_VCARD_21 && !has_fn) {
		rc = lks_error_set(LKS_EBADCONTENT,
				   "line %zu: the vCard %s that begins here has no FN (required)",
				   begin_line, v == LKS_VCARD_30 ? "3.0" : "4.0");
		goto out;
	}

	if (nlabels > 0) {
		size_t k = 0;
		labels = malloc(nlabels * sizeof(*labels));
		if (labels == NULL) {
			rc = NOMEM();
			goto out;
		}
		for (i = 0; i < n; i++) {
			char *t;
			if (strcmp(props[i].name, "X-ABLABEL") != 0 || props[i].group[0] == '\0')
				continue;
			t = unescape(a, props[i].value, strlen(props[i].value), v);
			if (t == NULL) {
				rc = NOMEM();
				goto out;
			}
			labels[k].group = props[i].group;
			labels[k].text = clean_label(t);
			labels[k].order = k;
			k++;
		}
		qsort(labels, nlabels, sizeof(*labels), label_order_cmp);
		for (i = 1, k = 1; i < nlabels; i++) {
			if (label_cmp(&labels[i], &labels[k - 1]) != 0)
				labels[k++] = labels[i];
		}
		nlabels = k;
	}
	phones = np ? arena_alloc(a, np * sizeof(*phones)) : NULL;
	emails = ne ? arena_alloc(a, ne * sizeof(*emails)) : NULL;
	urls = nu ? arena_alloc(a, nu * sizeof(*urls)) : NULL;
	adrs = na ? arena_alloc(a, na * sizeof(*adrs)) : NULL;
	if ((np && !phones) || (ne && !emails) || (nu && !urls) || (na && !adrs)) {
		rc = NOMEM();
		goto out;
	}
	card->phones = phones;
	card->emails = emails;
	card->urls = urls;
	card->adrs = adrs;

	for (i = 0; i < n; i++) {
		const lks_vcard_prop *p = &props[i];
		const char *name = p->name;

		if (strcmp(name, "FN") == 0 && card->fn[0] == '\0') {
			card->fn = unescape(a, p->value, strlen(p->value), v);
		} else if (strcmp(name, "N") == 0 && !card->has_n) {
			const char *c[5];
			if (!split_components(a, p->value, v, c, 5)) {
				rc = NOMEM();
				goto out;
			}
			card->has_n = 1;
			card->n.family = c[0];
			card->n.given = c[1];
			card->n.additional = c[2];
			card->n.prefix = c[3];
			card->n.suffix = c[4];
		} else if (strcmp(name, "ORG") == 0 && !has_org) {
			const char *end = p->value + strlen(p->value), *s = p->value;
			size_t k = 0, count = 0;
			const char **units;

			for (s = p->value; s <= end; s = component_end(s, end) + 1)
				count++;
			units = arena_alloc(a, count * sizeof(*units));
			if (units == NULL) {
				rc = NOMEM();
				goto out;
			}
			for (s = p->value; s <= end; s = component_end(s, end) + 1) {
				const char *e = component_end(s, end);
				units[k] = unescape(a, s, (size_t)(e - s), v);
				if (units[k] == NULL) {
					rc = NOMEM();
					goto out;
				}
				k++;
			}
			while (k > 1 && units[k - 1][0] == '\0')
				k--;
			has_org = true;
			card->org = units[0];
			card->org_units = units + 1;
			card->norg_units = k - 1;
		} else if (strcmp(name, "TITLE") == 0 && !has_title) {
			has_title = true;
			card->title = unescape(a, p->value, strlen(p->value), v);
		} else if (strcmp(name, "NICKNAME") == 0 && !has_nick) {
			has_nick = true;
			card->nickname = unescape(a, p->value, strlen(p->value), v);
		} else if (strcmp(name, "UID") == 0 && !has_uid) {
			has_uid = true;
			card->uid = unescape(a, p->value, strlen(p->value), v);
		} else if (strcmp(name, "BDAY") == 0 && !has_bday) {
			has_bday = true;
			card->bday = bday_value(a, p, v);
		} else if (strcmp(name, "KIND") == 0 && !has_kind) {
			char *k = unescape(a, p->value, strlen(p->value), v);
			has_kind = true;
			if (k != NULL) {
				for (char *q = k; *q != '\0'; q++)
					*q = (char)lower((unsigned char)*q);
			}
			card->kind = k;
		} else if (strcmp(name, "GENDER") == 0 && !has_gender) {
			const char *c[1];
			has_gender = true;
			if (!split_components(a, p->value, v, c, 1)) {
				rc = NOMEM();
				goto out;
			}
			card->gender = c[0];
		} else if (strcmp(name, "NOTE") == 0) {
			const char *t = unescape(a, p->value, strlen(p->value), v);
			if (t == NULL) {
				rc = NOMEM();
				goto out;
			}
			if (t[0] != '\0') {
				if (note.len > 0)
					buf_putc(&note, '\n');
				buf_puts(&note, t);
			}
		} else if (strcmp(name, "TEL") == 0) {
			rc = fill_typed(a, p, v, &phones[card->nphones], labels, nlabels);
			/* An empty number (Android writes "TEL;HOME:") is nothing to show. */
			if (rc == 0 && phones[card->nphones].value[0] != '\0')
				card->nphones++;
		} else if (strcmp(name, "EMAIL") == 0) {
			rc = fill_typed(a, p, v, &emails[card->nemails], labels, nlabels);
			if (rc == 0 && emails[card->nemails].value[0] != '\0')
				card->nemails++;
		} else if (strcmp(name, "URL") == 0) {
			rc = fill_typed(a, p, v, &urls[card->nurls], labels, nlabels);
			if (rc == 0 && urls[card->nurls].value[0] != '\0')
				card->nurls++;
		} else if (strcmp(name, "ADR") == 0) {
			rc = fill_adr(a, p, v, &adrs[card->nadrs++], labels, nlabels);
		} else if (strcmp(name, "PHOTO") == 0 && !card->has_photo) {
			rc = take_photo(a, card, p);
		}
		if (rc < 0)
			goto out;
		if (card->fn == NULL || card->title == NULL || card->nickname == NULL ||
		    card->uid == NULL || card->bday == NULL || card->kind == NULL) {
			rc = NOMEM();
			goto out;
		}
	}
	if (note.oom) {
		rc = NOMEM();
		goto out;
	}
	if (note.len > 0) {
		card->note = arena_strndup(a, note.p, note.len);
		if (card->note == NULL) {
			rc = NOMEM();
			goto out;
		}
	}

	if (v == LKS_VCARD_21 && !card->has_n && card->fn[0] == '\0' && card->org[0] == '\0' &&
	    card->nphones == 0 && card->nemails == 0) {
		/* 2.1 requires N; real phones omit it for contacts that have no
		 * name but a number or an address, and those are accepted. */
		rc = lks_error_set(LKS_EBADCONTENT,
				   "line %zu: the vCard 2.1 that begins here has no N (required)",
				   begin_line);
		goto out;
	}

	if (card->fn[0] != '\0') {
		card->display_name = card->fn;
	} else if (card->has_n) {
		card->display_name = join_name(a, &card->n);
		if (card->display_name == NULL) {
			rc = NOMEM();
			goto out;
		}
	}
	if (card->display_name[0] == '\0') {
		if (card->org[0] != '\0')
			card->display_name = card->org;
		else if (card->nemails > 0)
			card->display_name = card->emails[0].value;
		else if (card->nphones > 0)
			card->display_name = card->phones[0].value;
	}
out:
	free(labels);
	free(note.p);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Cards in a file                                                     */
/* ------------------------------------------------------------------ */

/* Whether the logical line is "<word>:VCARD" (any case, spaces allowed). */
static bool is_marker(const char *s, size_t n, const char *word)
{
	size_t wl = strlen(word);
	const char *v;
	size_t vn;

	if (n < wl + 1 || !eqn_nocase(s, wl, word))
		return false;
	v = s + wl;
	vn = n - wl;
	trim_span(&v, &vn);
	if (vn == 0 || v[0] != ':')
		return false;
	v++;
	vn--;
	trim_span(&v, &vn);
	return eqn_nocase(v, vn, "VCARD");
}

/* Skips a nested card (2.1 AGENT) whose BEGIN:VCARD was just read. */
static int skip_nested(struct parser *ps)
{
	size_t depth = 1, start = ps->line_no;
	bool eof = false;
	int rc;

	while (depth > 0) {
		rc = read_logical(ps, &eof);
		if (rc < 0)
			return rc;
		if (eof)
			return lks_error_set(LKS_EBADCONTENT,
					     "line %zu: the nested vCard (AGENT) that begins here "
					     "has no END:VCARD",
					     start);
		if (is_marker(ps->line.p, ps->line.len, "BEGIN")) {
			if (++depth > LKS_VCARD_MAX_DEPTH)
				return lks_error_set(LKS_ETOOBIG,
						     "line %zu: vCards nested more than %d deep",
						     ps->line_no, LKS_VCARD_MAX_DEPTH);
		} else if (is_marker(ps->line.p, ps->line.len, "END")) {
			depth--;
		}
	}
	return 0;
}

static int push_prop(struct parser *ps, const lks_vcard_prop *p)
{
	if (ps->props.n == LKS_VCARD_MAX_PROPS)
		return lks_error_set(LKS_ETOOBIG, "line %zu: more than %d properties in one vCard",
				     p->line, LKS_VCARD_MAX_PROPS);
	if (ps->props.n == ps->props.cap) {
		size_t cap = ps->props.cap ? ps->props.cap * 2 : 32;
		lks_vcard_prop *nv = realloc(ps->props.v, cap * sizeof(*nv));
		if (nv == NULL)
			return NOMEM();
		ps->props.v = nv;
		ps->props.cap = cap;
	}
	ps->props.v[ps->props.n++] = *p;
	return 0;
}

int lks_vcard_parse(lks_vcard_list **out, const char *data, size_t len)
{
	char ex[48];
	struct parser *ps = NULL;
	lks_vcard_list *list = NULL;
	const unsigned char *d = (const unsigned char *)data;
	size_t capc = 0, begin_line = 0;
	bool in_card = false, eof = false;
	int rc = 0;

	if (out == NULL || (data == NULL && len > 0))
		return lks_error_set(LKS_EINVAL, "lks_vcard_parse: NULL argument");
	*out = NULL;
	if (data == NULL)
		d = (const unsigned char *)"";
	ps = calloc(1, sizeof(*ps));
	list = calloc(1, sizeof(*list));
	if (ps == NULL || list == NULL) {
		rc = NOMEM();
		goto fail;
	}
	ps->ar = &list->ar;

	if (len >= 2 && ((d[0] == 0xFF && d[1] == 0xFE) || (d[0] == 0xFE && d[1] == 0xFF))) {
		rc = lks_error_set(LKS_EBADCONTENT,
				   "line 1: UTF-16 text; a vCard must be saved as UTF-8");
		goto fail;
	}
	if (len >= 3 && d[0] == 0xEF && d[1] == 0xBB && d[2] == 0xBF) {
		d += 3;
		len -= 3;
	}
	/* A DOS end-of-file mark after the last line. */
	if (len > 0 && d[len - 1] == 0x1A)
		len--;
	ps->rd.p = d;
	ps->rd.end = d + len;
	ps->rd.lineno = 1;

	for (;;) {
		lks_vcard_prop prop;

		rc = read_logical(ps, &eof);
		if (rc < 0)
			goto fail;
		if (eof)
			break;
		if (!in_card) {
			if (is_marker(ps->line.p, ps->line.len, "BEGIN")) {
				in_card = true;
				begin_line = ps->line_no;
				ps->props.n = 0;
				continue;
			}
			if (list->ncards == 0)
				rc = lks_error_set(LKS_EBADCONTENT,
						   "line %zu: not a vCard: expected BEGIN:VCARD, "
						   "found '%s'",
						   ps->line_no,
						   excerpt(ex, ps->line.p, ps->line.len));
			else
				rc = lks_error_set(
				    LKS_EBADCONTENT,
				    "line %zu: '%s' outside any vCard (after END:VCARD)",
				    ps->line_no, excerpt(ex, ps->line.p, ps->line.len));
			goto fail;
		}
		rc = parse_prop(ps, &prop);
		if (rc < 0)
			goto fail;
		if (strcmp(prop.name, "BEGIN") == 0) {
			if (!is_marker(ps->line.p, ps->line.len, "BEGIN")) {
				rc = lks_error_set(LKS_EBADCONTENT, "line %zu: '%s' inside a vCard",
						   ps->line_no,
						   excerpt(ex, ps->line.p, ps->line.len));
				goto fail;
			}
			rc = skip_nested(ps);
			if (rc < 0)
				goto fail;
			continue;
		}
		if (strcmp(prop.name, "END") == 0) {
			if (!is_marker(ps->line.p, ps->line.len, "END")) {
				rc = lks_error_set(
				    LKS_EBADCONTENT,
				    "line %zu: '%s' does not close the vCard that "
				    "begins on line %zu",
				    ps->line_no, excerpt(ex, ps->line.p, ps->line.len), begin_line);
				goto fail;
			}
			if (list->ncards == LKS_VCARD_MAX_CARDS) {
				rc = lks_error_set(LKS_ETOOBIG,
						   "line %zu: more than %d vCards in one file",
						   begin_line, LKS_VCARD_MAX_CARDS);
				goto fail;
			}
			if (list->ncards == capc) {
				size_t nc = capc ? capc * 2 : 4;
				lks_vcard_card *cards = realloc(list->cards, nc * sizeof(*cards));
				if (cards == NULL) {
					rc = NOMEM();
					goto fail;
				}
				list->cards = cards;
				capc = nc;
			}
			rc = build_card(ps, &list->cards[list->ncards], begin_line);
			if (rc < 0)
				goto fail;
			list->ncards++;
			in_card = false;
			continue;
		}
		rc = push_prop(ps, &prop);
		if (rc < 0)
			goto fail;
	}
	if (in_card) {
		rc = lks_error_set(LKS_EBADCONTENT,
				   "line %zu: the vCard that begins here has no END:VCARD",
				   begin_line);
		goto fail;
	}
	if (list->ncards == 0) {
		rc = lks_error_set(LKS_EBADCONTENT, "line 1: no BEGIN:VCARD: the input is empty");
		goto fail;
	}
	*out = list;
	list = NULL;
fail:
	if (ps != NULL) {
		free(ps->line.p);
		free(ps->props.v);
		free(ps);
	}
	lks_vcard_free(list);
	return rc;
}

void lks_vcard_free(lks_vcard_list *list)
{
	if (list == NULL)
		return;
	arena_release(&list->ar);
	free(list->cards);
	free(list);
}

size_t lks_vcard_count(const lks_vcard_list *list)
{
	return list != NULL ? list->ncards : 0;
}

const lks_vcard_card *lks_vcard_get(const lks_vcard_list *list, size_t i)
{
	if (list == NULL || i >= list->ncards)
		return NULL;
	return &list->cards[i];
}

int lks_vcard_photo_displayable(const lks_vcard_photo *photo)
{
	const char *t;

	if (photo == NULL || photo->data == NULL || photo->len == 0 || photo->media_type == NULL)
		return 0;
	t = photo->media_type;
	return strcmp(t, "image/jpeg") == 0 || strcmp(t, "image/png") == 0 ||
	       strcmp(t, "image/gif") == 0 || strcmp(t, "image/webp") == 0;
}

int lks_vcard_summary(char **out, const lks_vcard_list *list)
{
	struct buf b = {0};
	const char *name;

	if (out == NULL || list == NULL || list->ncards == 0)
		return lks_error_set(LKS_EINVAL, "lks_vcard_summary: no cards");
	*out = NULL;
	name = list->cards[0].display_name;
	buf_puts(&b, name[0] != '\0' ? name : "Unnamed contact");
	if (list->ncards > 1) {
		char more[48];
		snprintf(more, sizeof(more), " + %zu more", list->ncards - 1);
		buf_puts(&b, more);
	}
	if (b.oom) {
		free(b.p);
		return NOMEM();
	}
	*out = b.p;
	return 0;
}

/* ------------------------------------------------------------------ */
/* vCard 3.0 writer                                                    */
/* ------------------------------------------------------------------ */

struct writer {
	struct buf out;	 /* the whole file */
	struct buf line; /* the content line being built */
};

static void w_begin(struct writer *w, const char *group, const char *name)
{
	w->line.len = 0;
	if (w->line.p != NULL)
		w->line.p[0] = '\0';
	if (group != NULL && group[0] != '\0') {
		buf_puts(&w->line, group);
		buf_putc(&w->line, '.');
	}
	buf_puts(&w->line, name);
}

/* Folds the content line at 75 octets (continuations start with a space and
 * carry 74), never inside a UTF-8 sequence, and ends it with CRLF. */
static void w_end(struct writer *w)
{
	const char *s = w->line.p ? w->line.p : "";
	size_t len = w->line.len, pos = 0;
	bool first = true;

	while (pos < len || first) {
		size_t limit = first ? 75 : 74;
		size_t take = len - pos < limit ? len - pos : limit;

		if (pos + take < len) {
			while (take > 0 && ((unsigned char)s[pos + take] & 0xC0) == 0x80)
				take--;
			if (take == 0)
				take = limit;
		}
		if (!first)
			buf_putc(&w->out, ' ');
		buf_put(&w->out, s + pos, take);
		buf_put(&w->out, "\r\n", 2);
		pos += take;
		first = false;
	}
}

static void w_simple(struct writer *w, const char *text)
{
	w_begin(w, NULL, text);
	w_end(w);
}

/* 3.0 text escaping: backslash, comma, semicolon, newline. */
static void esc_text(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '\\':
			buf_put(b, "\\\\", 2);
			break;
		case ',':
			buf_put(b, "\\,", 2);
			break;
		case ';':
			buf_put(b, "\\;", 2);
			break;
		case '\n':
			buf_put(b, "\\n", 2);
			break;
		case '\r':
			break;
		default:
			buf_putc(b, *s);
		}
	}
}

/* NAME:escaped text, skipped when the text is empty. */
static void w_text(struct writer *w, const char *name, const char *text)
{
	if (text == NULL || text[0] == '\0')
		return;
	w_begin(w, NULL, name);
	buf_putc(&w->line, ':');
	esc_text(&w->line, text);
	w_end(w);
}

/* A parameter value: quoted when it holds separators, with the characters a
 * quoted value cannot hold removed. */
static void w_param_value(struct writer *w, const char *v)
{
	bool quote = strpbrk(v, ";:, \t") != NULL;
	const char *s;

	if (quote)
		buf_putc(&w->line, '"');
	for (s = v; *s != '\0'; s++) {
		if (*s != '"' && (unsigned char)*s >= 0x20)
			buf_putc(&w->line, *s);
	}
	if (quote)
		buf_putc(&w->line, '"');
}

static bool safe_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (!is_name_char((unsigned char)*s))
			return false;
	}
	return true;
}

/* ;TYPE=A,B[,PREF] in 3.0 form; 4.0's "text" becomes MSG. */
static void w_types(struct writer *w, const char *const *types, size_t n, int pref,
		    const char *extra)
{
	size_t i, count = 0;

	for (i = 0; i < n; i++) {
		const char *t = types[i];
		if (!safe_token(t))
			continue;
		buf_puts(&w->line, count++ == 0 ? ";TYPE=" : ",");
		if (strcmp(t, "text") == 0)
			t = "msg";
		for (; *t != '\0'; t++)
			buf_putc(&w->line, (char)upper((unsigned char)*t));
	}
	if (extra != NULL) {
		buf_puts(&w->line, count++ == 0 ? ";TYPE=" : ",");
		buf_puts(&w->line, extra);
	}
	if (pref > 0)
		buf_puts(&w->line, count == 0 ? ";TYPE=PREF" : ",PREF");
}

static void w_typed(struct writer *w, const char *name, const lks_vcard_typed *t)
{
	if (t->value[0] == '\0')
		return;
	w_begin(w, t->group, name);
	w_types(w, t->types, t->ntypes, t->pref, NULL);
	buf_putc(&w->line, ':');
	esc_text(&w->line, t->value);
	w_end(w);
}

static void w_components(struct writer *w, const char *const *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(&w->line, ';');
		esc_text(&w->line, c[i]);
	}
}

static void b64_encode(struct buf *b, const unsigned char *d, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	if (buf_reserve(b, (n + 2) / 3 * 4) < 0)
		return;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
		char q[4] = {tab[v >> 18], tab[(v >> 12) & 63], tab[(v >> 6) & 63], tab[v & 63]};
		buf_put(b, q, 4);
	}
	if (i < n) {
		uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0);
		char q[4] = {tab[v >> 18], tab[(v >> 12) & 63],
			     i + 1 < n ? tab[(v >> 6) & 63] : '=', '='};
		buf_put(b, q, 4);
	}
}

static const char *photo_type_word(const char *media_type)
{
	if (strcmp(media_type, "image/jpeg") == 0)
		return "JPEG";
	if (strcmp(media_type, "image/png") == 0)
		return "PNG";
	if (strcmp(media_type, "image/gif") == 0)
		return "GIF";
	if (strcmp(media_type, "image/webp") == 0)
		return "WEBP";
	if (strcmp(media_type, "image/bmp") == 0)
		return "BMP";
	return NULL;
}

static void w_photo(struct writer *w, const lks_vcard_photo *ph)
{
	const char *word = photo_type_word(ph->media_type);

	w_begin(w, NULL, "PHOTO");
	if (ph->data != NULL) {
		buf_puts(&w->line, ";ENCODING=b");
		if (word != NULL) {
			buf_puts(&w->line, ";TYPE=");
			buf_puts(&w->line, word);
		}
		buf_putc(&w->line, ':');
		b64_encode(&w->line, ph->data, ph->len);
	} else {
		buf_puts(&w->line, ";VALUE=uri");
		if (word != NULL) {
			buf_puts(&w->line, ";TYPE=");
			buf_puts(&w->line, word);
		}
		buf_putc(&w->line, ':');
		buf_puts(&w->line, ph->uri);
	}
	w_end(w);
}

static bool name_in(const char *name, const char *const *list)
{
	for (; *list != NULL; list++) {
		if (strcmp(name, *list) == 0)
			return true;
	}
	return false;
}

/* Properties the model writes itself, and 4.0 ones 3.0 cannot hold. */
static const char *const modelled[] = {"BEGIN",	 "END",	  "VERSION",  "PRODID", "FN",	 "N",
				       "ORG",	 "TITLE", "NICKNAME", "TEL",	"EMAIL", "ADR",
				       "URL",	 "BDAY",  "NOTE",     "UID",	"PHOTO", "KIND",
				       "GENDER", "AGENT", NULL};
static const char *const dropped[] = {"LANG",	    "CLIENTPIDMAP", "RELATED",	 "XML",
				      "BIRTHPLACE", "DEATHPLACE",   "DEATHDATE", NULL};

static bool card_has(const lks_vcard_card *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nprops; i++) {
		if (strcmp(c->props[i].name, name) == 0)
			return true;
	}
	return false;
}

/* Copies a property the model does not cover, in 3.0 form; has_x_anniv says
 * whether the card has its own X-ANNIVERSARY. */
static void w_passthrough(struct writer *w, const lks_vcard_card *c, const lks_vcard_prop *p,
			  bool has_x_anniv)
{
	const char *name = p->name, *value = p->value;
	bool b64 = is_base64_prop(p);
	bool uri = false;
	size_t i, j;
	const char *val = param_first(p, "VALUE");

	if (name_in(name, modelled) || name_in(name, dropped))
		return;
	if (strcmp(name, "ANNIVERSARY") == 0) {
		if (has_x_anniv)
			return;
		name = "X-ANNIVERSARY";
	} else if (strcmp(name, "MEMBER") == 0) {
		name = "X-ADDRESSBOOKSERVER-MEMBER";
	}
	if (c->version == LKS_VCARD_40 && !b64 && val == NULL &&
	    (strcmp(name, "LOGO") == 0 || strcmp(name, "SOUND") == 0 || strcmp(name, "KEY") == 0)) {
		if (prefix_nocase(value, "data:"))
			return;
		uri = strchr(value, ':') != NULL;
	}

	w_begin(w, p->group, name);
	if (b64)
		buf_puts(&w->line, ";ENCODING=b");
	for (i = 0; i < p->nparams; i++) {
		const lks_vcard_param *pa = &p->params[i];
		bool keep = strcmp(pa->name, "TYPE") == 0 || strcmp(pa->name, "LANGUAGE") == 0 ||
			    prefix_nocase(pa->name, "X-");

		if (strcmp(pa->name, "VALUE") == 0 && pa->nvalues > 0 &&
		    (eq_nocase(pa->values[0], "uri") || eq_nocase(pa->values[0], "url") ||
		     eq_nocase(pa->values[0], "text") || eq_nocase(pa->values[0], "date") ||
		     eq_nocase(pa->values[0], "date-time")) &&
		    !b64)
			keep = true;
		if (!keep || pa->nvalues == 0)
			continue;
		buf_putc(&w->line, ';');
		buf_puts(&w->line, pa->name);
		buf_putc(&w->line, '=');
		for (j = 0; j < pa->nvalues; j++) {
			if (j > 0)
				buf_putc(&w->line, ',');
			w_param_value(w, pa->values[j]);
		}
	}
	if (uri)
		buf_puts(&w->line, ";VALUE=uri");

	if (strcmp(name, "GEO") == 0 && prefix_nocase(value, "geo:")) {
		/* geo:lat,lon[;params] becomes lat;lon. */
		const char *s = value + 4;
		buf_putc(&w->line, ':');
		for (; *s != '\0' && *s != ';'; s++) {
			if (*s == '\\' && s[1] == ',')
				continue;
			buf_putc(&w->line, *s == ',' ? ';' : *s);
		}
		w_end(w);
		return;
	}
	if (strcmp(name, "TZ") == 0 && c->version == LKS_VCARD_40) {
		size_t n = strlen(value);
		if (n == 5 && (value[0] == '+' || value[0] == '-') && all_digits(value + 1, 4)) {
			buf_putc(&w->line, ':');
			buf_put(&w->line, value, 3);
			buf_putc(&w->line, ':');
			buf_put(&w->line, value + 3, 2);
			w_end(w);
			return;
		}
		if (!(n == 6 && value[3] == ':') && val == NULL)
			buf_puts(&w->line, ";VALUE=text");
	}

	buf_putc(&w->line, ':');
	if (b64) {
		for (const char *s = value; *s != '\0'; s++) {
			if (!is_ws((unsigned char)*s) && *s != '\n')
				buf_putc(&w->line, *s);
		}
	} else if (c->version == LKS_VCARD_21) {
		/* 2.1 has no escapes besides \; : escape for 3.0. */
		for (const char *s = value; *s != '\0'; s++) {
			if (s[0] == '\\' && s[1] == ';') {
				buf_put(&w->line, "\\;", 2);
				s++;
			} else if (*s == '\\') {
				buf_put(&w->line, "\\\\", 2);
			} else if (*s == ',') {
				buf_put(&w->line, "\\,", 2);
			} else if (*s == '\n') {
				buf_put(&w->line, "\\n", 2);
			} else {
				buf_putc(&w->line, *s);
			}
		}
	} else {
		for (const char *s = value; *s != '\0'; s++) {
			if (*s == '\n')
				buf_put(&w->line, "\\n", 2);
			else
				buf_putc(&w->line, *s);
		}
	}
	w_end(w);
}

static void w_card(struct writer *w, const lks_vcard_card *c)
{
	size_t i;
	bool org_named = c->fn[0] == '\0' && !c->has_n && c->org[0] != '\0';
	bool has_x_anniv = card_has(c, "X-ANNIVERSARY");

	w_simple(w, "BEGIN:VCARD");
	w_simple(w, "VERSION:3.0");
	w_simple(w, "PRODID:-//linksync//linksync " LKS_VERSION "//EN");

	/* 3.0 requires N and FN. Without N, the display name goes into the
	 * given name so phones that sort by N show it (not for a company). */
	w_begin(w, NULL, "N:");
	if (c->has_n) {
		const char *n[5] = {c->n.family, c->n.given, c->n.additional, c->n.prefix,
				    c->n.suffix};
		w_components(w, n, 5);
	} else {
		const char *n[5] = {"", org_named ? "" : c->display_name, "", "", ""};
		w_components(w, n, 5);
	}
	w_end(w);
	w_begin(w, NULL, "FN:");
	esc_text(&w->line, c->display_name);
	w_end(w);

	if (strcmp(c->kind, "org") == 0 || org_named)
		w_simple(w, "X-ABShowAs:COMPANY");
	else if (strcmp(c->kind, "group") == 0)
		w_simple(w, "X-ADDRESSBOOKSERVER-KIND:group");
	else if (c->kind[0] != '\0' && strcmp(c->kind, "individual") != 0)
		w_text(w, "X-KIND", c->kind);

	if (c->org[0] != '\0' || c->norg_units > 0) {
		w_begin(w, NULL, "ORG:");
		esc_text(&w->line, c->org);
		for (i = 0; i < c->norg_units; i++) {
			buf_putc(&w->line, ';');
			esc_text(&w->line, c->org_units[i]);
		}
		w_end(w);
	}
	w_text(w, "TITLE", c->title);
	w_text(w, "NICKNAME", c->nickname);
	for (i = 0; i < c->nphones; i++)
		w_typed(w, "TEL", &c->phones[i]);
	for (i = 0; i < c->nemails; i++)
		w_typed(w, "EMAIL", &c->emails[i]);
	for (i = 0; i < c->nadrs; i++) {
		const lks_vcard_adr *a = &c->adrs[i];
		const char *comp[7] = {a->pobox,  a->extended,	  a->street, a->locality,
				       a->region, a->postal_code, a->country};
		w_begin(w, a->group, "ADR");
		w_types(w, a->types, a->ntypes, a->pref, NULL);
		buf_putc(&w->line, ':');
		w_components(w, comp, 7);
		w_end(w);
	}
	for (i = 0; i < c->nurls; i++)
		w_typed(w, "URL", &c->urls[i]);
	if (c->bday[0] != '\0') {
		if (strlen(c->bday) == 7 && c->bday[0] == '-' && c->bday[1] == '-') {
			w_begin(w, NULL, "BDAY;X-APPLE-OMIT-YEAR=1604:1604-");
			buf_puts(&w->line, c->bday + 2);
			w_end(w);
		} else {
			w_text(w, "BDAY", c->bday);
		}
	}
	w_text(w, "NOTE", c->note);
	w_text(w, "UID", c->uid);
	if (c->has_photo)
		w_photo(w, &c->photo);
	if (c->gender[0] != '\0' && !card_has(c, "X-GENDER"))
		w_text(w, "X-GENDER", c->gender);
	for (i = 0; i < c->nprops; i++)
		w_passthrough(w, c, &c->props[i], has_x_anniv);
	w_simple(w, "END:VCARD");
}

int lks_vcard_to_v30(char **out, size_t *out_len, const lks_vcard_list *list)
{
	struct writer w = {{0}, {0}};
	size_t i;
	int rc = 0;

	if (out == NULL || out_len == NULL || list == NULL)
		return lks_error_set(LKS_EINVAL, "lks_vcard_to_v30: NULL argument");
	*out = NULL;
	*out_len = 0;
	for (i = 0; i < list->ncards; i++)
		w_card(&w, &list->cards[i]);
	if (w.out.oom || w.line.oom || w.out.p == NULL) {
		rc = NOMEM();
		free(w.out.p);
		goto out;
	}
	*out = w.out.p;
	*out_len = w.out.len;
out:
	free(w.line.p);
	return rc;
}
