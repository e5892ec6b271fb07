/* The item model, its kinds, and the checks on client-supplied types and names. */
#include "linksync/item.h"

#include "linksync/error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void lks_item_free(lks_item *item)
{
	if (item == NULL)
		return;
	free(item->type);
	free(item->name);
	free(item->summary);
	free(item);
}

static int dup_str(char **out, const char *s)
{
	*out = NULL;
	if (s == NULL)
		return 0;
	*out = strdup(s);
	return *out ? 0 : LKS_ENOMEM;
}

int lks_item_dup(lks_item **out, const lks_item *src)
{
	lks_item *item = malloc(sizeof(*item));

	*out = NULL;
	if (item == NULL)
		return LKS_ENOMEM;
	*item = *src;
	item->type = item->name = item->summary = NULL;
	if (dup_str(&item->type, src->type) < 0 || dup_str(&item->name, src->name) < 0 ||
	    dup_str(&item->summary, src->summary) < 0) {
		lks_item_free(item);
		return lks_error_set(LKS_ENOMEM, "out of memory");
	}
	*out = item;
	return 0;
}

void lks_item_etag(const lks_item *item, char *out, size_t outsz)
{
	snprintf(out, outsz, "\"%lld-%02x%02x%02x%02x%02x%02x%02x%02x\"", (long long)item->version,
		 item->content_hash[0], item->content_hash[1], item->content_hash[2],
		 item->content_hash[3], item->content_hash[4], item->content_hash[5],
		 item->content_hash[6], item->content_hash[7]);
}

const char *lks_kind_name(lks_kind kind)
{
	switch (kind) {
	case LKS_KIND_NOTE:
		return "note";
	case LKS_KIND_CALENDAR:
		return "calendar";
	case LKS_KIND_CONTACT:
		return "contact";
	case LKS_KIND_FILE:
		break;
	}
	return "file";
}

/* Length of the "type/subtype" part of a normalised type. */
static size_t essence_len(const char *type)
{
	const char *semi = strchr(type, ';');

	return semi ? (size_t)(semi - type) : strlen(type);
}

static int essence_is(const char *type, const char *what)
{
	size_t n = essence_len(type);

	return strlen(what) == n && strncmp(type, what, n) == 0;
}

lks_kind lks_kind_from_type(const char *type)
{
	if (type == NULL)
		return LKS_KIND_FILE;
	if (essence_is(type, "text/calendar"))
		return LKS_KIND_CALENDAR;
	if (essence_is(type, "text/vcard"))
		return LKS_KIND_CONTACT;
	if (essence_is(type, "text/plain"))
		return LKS_KIND_NOTE;
	return LKS_KIND_FILE;
}

int lks_type_is_envelope(const char *type)
{
	return type != NULL && essence_is(type, LKS_ENVELOPE_MEDIA_TYPE);
}

/* RFC 9110 token characters. */
static int is_tchar(int c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Appends s[0..n) to buf (capacity cap, length *len), lower-cased if asked. */
static int append(char *buf, size_t cap, size_t *len, const char *s, size_t n, int lower)
{
	if (*len + n + 1 > cap)
		return -1;
	for (size_t i = 0; i < n; i++)
		buf[(*len)++] = lower ? (char)tolower((unsigned char)s[i]) : s[i];
	buf[*len] = '\0';
	return 0;
}

int lks_type_normalize(char **out, const char *ct)
{
	char buf[LKS_TYPE_MAX + 1];
	size_t len = 0, n;
	const char *p = ct;
	int has_charset = 0, is_charset;

	*out = NULL;
	if (ct == NULL)
		ct = p = "";
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0') {
		*out = strdup("application/octet-stream");
		return *out ? 0 : LKS_ENOMEM;
	}
	/* type "/" subtype */
	for (n = 0; is_tchar((unsigned char)p[n]); n++)
		;
	if (n == 0 || p[n] != '/' || append(buf, sizeof(buf), &len, p, n + 1, 1) < 0)
		goto bad;
	p += n + 1;
	for (n = 0; is_tchar((unsigned char)p[n]); n++)
		;
	if (n == 0 || append(buf, sizeof(buf), &len, p, n, 1) < 0)
		goto bad;
	p += n;
	/* Legacy spellings of vCard. */
	if (strcmp(buf, "text/x-vcard") == 0 || strcmp(buf, "text/directory") == 0) {
		len = 0;
		append(buf, sizeof(buf), &len, "text/vcard", 10, 0);
	}
	/* *( ";" name "=" ( token / quoted-string ) ) */
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (*p != ';')
			goto bad;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break; /* a trailing ';' is harmless */
		for (n = 0; is_tchar((unsigned char)p[n]); n++)
			;
		if (n == 0 || p[n] != '=')
			goto bad;
		is_charset = n == 7 && strncasecmp(p, "charset", 7) == 0;
		has_charset |= is_charset;
		if (append(buf, sizeof(buf), &len, "; ", 2, 0) < 0 ||
		    append(buf, sizeof(buf), &len, p, n + 1, 1) < 0)
			goto bad;
		p += n + 1;
		if (*p == '"') {
			for (n = 1; p[n] != '"'; n++)
				if (p[n] == '\0' || (unsigned char)p[n] < 0x20 || p[n] == 0x7f ||
				    (p[n] == '\\' && p[++n] == '\0'))
					goto bad;
			n++;
		} else {
			for (n = 0; is_tchar((unsigned char)p[n]); n++)
				;
			if (n == 0)
				goto bad;
		}
		/* charset values are case-insensitive: keep them lower case. */
		if (append(buf, sizeof(buf), &len, p, n, is_charset) < 0)
			goto bad;
		p += n;
	}
	if (!has_charset && strncmp(buf, "text/", 5) == 0 &&
	    append(buf, sizeof(buf), &len, "; charset=utf-8", 15, 0) < 0)
		goto bad;
	*out = strdup(buf);
	return *out ? 0 : LKS_ENOMEM;
bad:
	return lks_error_set(LKS_EINVAL,
			     "Content-Type '%.60s' is not a media type (e.g. text/plain, text/calendar)",
			     ct);
}

static const struct {
	const char *ext;
	const char *type;
} ext_types[] = {
	{"ics", "text/calendar"}, {"ical", "text/calendar"}, {"ifb", "text/calendar"},
	{"vcf", "text/vcard"}, {"vcard", "text/vcard"}, {"txt", "text/plain"},
	{"text", "text/plain"}, {"md", "text/markdown"}, {"csv", "text/csv"},
	{"json", "application/json"}, {"pdf", "application/pdf"}, {"png", "image/png"},
	{"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"gif", "image/gif"},
	{"webp", "image/webp"}, {"heic", "image/heic"}, {"svg", "image/svg+xml"},
	{"html", "text/html"}, {"htm", "text/html"}, {"xml", "application/xml"},
	{"js", "text/javascript"}, {"zip", "application/zip"}, {"gz", "application/gzip"},
	{"tar", "application/x-tar"}, {"mp3", "audio/mpeg"}, {"m4a", "audio/mp4"},
	{"ogg", "audio/ogg"}, {"mp4", "video/mp4"}, {"mov", "video/quicktime"},
	{"webm", "video/webm"}, {"doc", "application/msword"},
	{"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
	{"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	{"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
	{"odt", "application/vnd.oasis.opendocument.text"}, {"epub", "application/epub+zip"},
	{"apk", "application/vnd.android.package-archive"},
};

const char *lks_type_from_name(const char *name)
{
	const char *dot = name ? strrchr(name, '.') : NULL;

	if (dot != NULL && strchr(dot, '/') == NULL)
		for (size_t i = 0; i < sizeof(ext_types) / sizeof(ext_types[0]); i++)
			if (strcasecmp(dot + 1, ext_types[i].ext) == 0)
				return ext_types[i].type;
	return "application/octet-stream";
}

int lks_type_is_inline_safe(const char *type)
{
	static const char *const safe[] = {
		"text/plain", "text/calendar", "text/vcard", "text/csv", "text/markdown",
		"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf",
		"audio/mpeg", "audio/mp4", "audio/ogg", "video/mp4", "video/webm",
	};

	for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++)
		if (essence_is(type, safe[i]))
			return 1;
	return 0;
}

int lks_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n;
		unsigned cp;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates, past U+10FFFF. */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int lks_name_sanitize(char **out, const char *name, size_t len)
{
	const char *start = name;
	char *res;
	size_t n = 0;

	*out = NULL;
	if (name == NULL || len == 0)
		return 0;
	if (!lks_utf8_valid(name, len))
		return lks_error_set(LKS_EINVAL, "the file name is not valid UTF-8");
	/* The last path component, with either separator. */
	for (size_t i = 0; i < len; i++)
		if (name[i] == '/' || name[i] == '\\')
			start = name + i + 1;
	len -= (size_t)(start - name);
	while (len > 0 && (*start == ' ' || *start == '.'))
		start++, len--; /* no hidden files, no "..", no leading blanks */
	if (len > LKS_NAME_MAX) {
		/* Cut at a character boundary. */
		len = LKS_NAME_MAX;
		while (len > 0 && ((unsigned char)start[len] & 0xc0) == 0x80)
			len--;
	}
	if (len == 0)
		return 0;
	res = malloc(len + 1);
	if (res == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)start[i];
		res[n++] = (c < 0x20 || c == 0x7f || c == '"' || c == ';' || c == '%') ? '_' : (char)c;
	}
	res[n] = '\0';
	*out = res;
	return 0;
}
