/* Pure helpers of the command-line client, kept free of I/O so the unit tests
 * can pin them down: content types by extension, UTF-8 and ttl checks, item
 * links (id, base, raw link, the fragment that must never be sent), the file
 * name a server proposes in Content-Disposition and how it is made safe. */
#include "cli.h"

#include "linksync/error.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* Content types                                                       */

static const struct {
	const char *ext;
	const char *type;
} type_table[] = {
    {"ics", "text/calendar"},
    {"ical", "text/calendar"},
    {"ifb", "text/calendar"},
    {"vcf", "text/vcard"},
    {"vcard", "text/vcard"},
    {"txt", "text/plain; charset=utf-8"},
    {"text", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css"},
    {"js", "text/javascript"},
    {"json", "application/json"},
    {"xml", "application/xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"heic", "image/heic"},
    {"svg", "image/svg+xml"},
    {"bmp", "image/bmp"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tgz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"xz", "application/x-xz"},
    {"7z", "application/x-7z-compressed"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"wav", "audio/wav"},
    {"m4a", "audio/mp4"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mov", "video/quicktime"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"epub", "application/epub+zip"},
};

const char *cli_type_for_name(const char *name)
{
	const char *slash = strrchr(name, '/');
	const char *base = slash ? slash + 1 : name;
	const char *dot = strrchr(base, '.');
	size_t i;

	if (!dot || dot == base || dot[1] == '\0')
		return NULL;
	for (i = 0; i < sizeof(type_table) / sizeof(type_table[0]); i++) {
		if (strcasecmp(dot + 1, type_table[i].ext) == 0)
			return type_table[i].type;
	}
	return NULL;
}

const char *cli_ext_for_type(const char *type)
{
	size_t n, i;

	if (!type)
		return "";
	n = strcspn(type, ";");
	while (n > 0 && (type[n - 1] == ' ' || type[n - 1] == '\t'))
		n--;
	/* The first row of the table for a type is its preferred extension. */
	for (i = 0; i < sizeof(type_table) / sizeof(type_table[0]); i++) {
		const char *t = type_table[i].type;
		size_t tn = strcspn(t, ";");

		if (tn == n && strncasecmp(t, type, n) == 0) {
			static _Thread_local char ext[16];

			snprintf(ext, sizeof(ext), ".%s", type_table[i].ext);
			return ext;
		}
	}
	return "";
}

/* ------------------------------------------------------------------ */
/* Small checks                                                        */

/* Length of the well-formed UTF-8 sequence at p (at most len bytes), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t len)
{
	unsigned char c = p[0];
	size_t n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool cli_utf8_valid(const unsigned char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n;

		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_seq(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

bool cli_ttl_valid(const char *s)
{
	size_t digits = 0;
	bool nonzero = false;

	if (!s)
		return false;
	while (isdigit((unsigned char)s[digits])) {
		if (s[digits] != '0')
			nonzero = true;
		digits++;
	}
	if (digits == 0 || digits > 9 || !nonzero)
		return false;
	return strchr("smhd", s[digits]) != NULL && s[digits] != '\0' && s[digits + 1] == '\0';
}

static bool is_base32(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7');
}

static bool id_valid_n(const char *s, size_t n)
{
	size_t i;

	if (n != CLI_ID_LEN)
		return false;
	for (i = 0; i < n; i++) {
		if (!is_base32(s[i]))
			return false;
	}
	return true;
}

bool cli_id_valid(const char *s)
{
	return s && id_valid_n(s, strlen(s));
}

/* Length of "http://" or "https://" at the start of s (any case), or 0. */
static size_t scheme_len(const char *s)
{
	if (strncasecmp(s, "http://", 7) == 0)
		return 7;
	if (strncasecmp(s, "https://", 8) == 0)
		return 8;
	return 0;
}

bool cli_is_http_url(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = scheme_len(s);
	if (n == 0)
		return false;
	/* A host, and no whitespace or control character anywhere. */
	if (s[n] == '\0' || strchr("/?#", s[n]))
		return false;
	for (; *s; s++) {
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return false;
	}
	return true;
}

int cli_server_normalize(char **out, const char *url)
{
	char *copy = NULL;
	size_t n;

	*out = NULL;
	if (!cli_is_http_url(url))
		return lks_error_set(LKS_EINVAL, "'%s' is not an http:// or https:// URL", url);
	n = strcspn(url, "?#");
	copy = strndup(url, n);
	if (!copy)
		return LKS_ENOMEM;
	while (n > scheme_len(copy) && copy[n - 1] == '/')
		copy[--n] = '\0';
	*out = copy;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Item references                                                     */

void cli_ref_clear(struct cli_ref *ref)
{
	free(ref->id);
	free(ref->base);
	free(ref->url);
	free(ref->fetch);
	if (ref->key) {
		explicit_bzero(ref->key, strlen(ref->key));
		free(ref->key);
	}
	memset(ref, 0, sizeof(*ref));
}

static char *join(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 1);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

/* Fills ref from a base and an id of n characters (any case). */
static int ref_fill(struct cli_ref *ref, const char *base, size_t base_len, const char *id)
{
	size_t i;

	ref->base = strndup(base, base_len);
	ref->id = strndup(id, CLI_ID_LEN);
	if (!ref->base || !ref->id)
		return LKS_ENOMEM;
	for (i = 0; ref->id[i]; i++)
		ref->id[i] = (char)tolower((unsigned char)ref->id[i]);
	ref->url = join(ref->base, "/", ref->id);
	if (!ref->url)
		return LKS_ENOMEM;
	ref->fetch = join(ref->url, "/raw", "");
	if (!ref->fetch)
		return LKS_ENOMEM;
	return 0;
}

/* Is the segment [s, s+n) an id, or an id followed by ".ics" / ".vcf"? */
static bool segment_is_id(const char *s, size_t n)
{
	if (id_valid_n(s, n))
		return true;
	return n == CLI_ID_LEN + 4 && id_valid_n(s, CLI_ID_LEN) &&
	       (strncasecmp(s + CLI_ID_LEN, ".ics", 4) == 0 ||
		strncasecmp(s + CLI_ID_LEN, ".vcf", 4) == 0);
}

int cli_ref_parse(struct cli_ref *out, const char *arg, const char *server)
{
	const char *path, *end, *seg_end, *seg;
	int rc = 0, tries;

	memset(out, 0, sizeof(*out));
	if (!cli_is_http_url(arg)) {
		if (cli_id_valid(arg) && server) {
			rc = ref_fill(out, server, strlen(server), arg);
			if (rc < 0)
				goto fail;
			return 0;
		}
		return lks_error_set(
		    LKS_EINVAL, "'%s' is neither a linksync link (http://HOST/ID) nor an id", arg);
	}
	end = arg + strcspn(arg, "#");
	out->had_key = *end == '#' && end[1] != '\0';
	if (out->had_key) {
		out->key = strdup(end + 1);
		if (!out->key) {
			rc = LKS_ENOMEM;
			goto fail;
		}
	}
	end = arg + strcspn(arg, "?#");
	path = arg + scheme_len(arg);
	path += strcspn(path, "/?#");
	if (path > end)
		path = end;

	/* The id is the last segment, or the one before it ("/{id}/raw",
	 * "/{id}/{name}", "/{id}/qr.png"). */
	seg_end = end;
	while (seg_end > path && seg_end[-1] == '/')
		seg_end--;
	for (tries = 0; tries < 2 && seg_end > path; tries++) {
		seg = seg_end;
		while (seg > path && seg[-1] != '/')
			seg--;
		if (segment_is_id(seg, (size_t)(seg_end - seg))) {
			const char *base_end = seg - 1; /* the '/' before the id */
			static const char api[] = "/api/v1/items";

			if ((size_t)(base_end - arg) >= sizeof(api) - 1 &&
			    strncmp(base_end - (sizeof(api) - 1), api, sizeof(api) - 1) == 0)
				base_end -= sizeof(api) - 1;
			rc = ref_fill(out, arg, (size_t)(base_end - arg), seg);
			if (rc < 0)
				goto fail;
			return 0;
		}
		seg_end = seg - 1;
	}
	rc = lks_error_set(LKS_EINVAL, "'%.*s' holds no linksync item id", (int)(end - arg), arg);
fail:
	cli_ref_clear(out);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Content-Disposition                                                 */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes an RFC 5987 ext-value ("UTF-8''na%C3%AFve.txt"); NULL for another
 * charset or a malformed value. */
static char *ext_value_decode(const char *v, size_t n, bool *oom)
{
	const char *q1, *q2, *end = v + n;
	char *out, *o;

	q1 = memchr(v, '\'', n);
	if (!q1 || (size_t)(q1 - v) != 5 || strncasecmp(v, "UTF-8", 5) != 0)
		return NULL;
	q2 = memchr(q1 + 1, '\'', (size_t)(end - q1 - 1));
	if (!q2)
		return NULL;
	out = malloc((size_t)(end - q2));
	if (!out) {
		*oom = true;
		return NULL;
	}
	o = out;
	for (v = q2 + 1; v < end; v++) {
		if (*v == '%') {
			int hi, lo;

			if (end - v < 3)
				goto bad;
			hi = hexval((unsigned char)v[1]);
			lo = hexval((unsigned char)v[2]);
			if (hi < 0 || lo < 0)
				goto bad;
			*o++ = (char)(hi * 16 + lo);
			v += 2;
		} else {
			*o++ = *v;
		}
	}
	*o = '\0';
	/* A NUL decoded from %00 would cut the name short: refuse it. */
	if (strlen(out) != (size_t)(o - out))
		goto bad;
	return out;
bad:
	free(out);
	return NULL;
}

int cli_disposition_filename(char **out, const char *header)
{
	const char *p = header;
	char *plain = NULL, *ext = NULL;
	bool oom = false;

	*out = NULL;
	if (!header)
		return 0;
	p += strcspn(p, ";"); /* skip the disposition type */
	while (*p == ';') {
		const char *name, *value;
		size_t name_len;
		char *decoded = NULL;

		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		name = p;
		while (*p && *p != '=' && *p != ';' && *p != ' ' && *p != '\t')
			p++;
		name_len = (size_t)(p - name);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=') {
			p += strcspn(p, ";");
			continue;
		}
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '"') {
			size_t cap = strlen(p), k = 0;

			decoded = malloc(cap + 1);
			if (!decoded) {
				oom = true;
				goto out;
			}
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				decoded[k++] = *p;
			}
			decoded[k] = '\0';
			if (*p == '"')
				p++;
			p += strcspn(p, ";");
		} else {
			size_t n;

			value = p;
			n = strcspn(p, ";");
			while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
				n--;
			p += strcspn(p, ";");
			if (name_len == 9 && strncasecmp(name, "filename*", 9) == 0) {
				decoded = ext_value_decode(value, n, &oom);
				if (oom)
					goto out;
			} else {
				decoded = strndup(value, n);
				if (!decoded) {
					oom = true;
					goto out;
				}
			}
		}
		if (name_len == 9 && strncasecmp(name, "filename*", 9) == 0 && decoded && !ext) {
			ext = decoded;
		} else if (name_len == 8 && strncasecmp(name, "filename", 8) == 0 && !plain) {
			plain = decoded;
		} else {
			free(decoded);
		}
	}
out:
	if (oom) {
		free(plain);
		free(ext);
		return LKS_ENOMEM;
	}
	if (ext) {
		free(plain);
		*out = ext;
	} else {
		*out = plain;
	}
	return 0;
}

int cli_filename_sanitize(char **out, const char *name)
{
	const char *base = name;
	const unsigned char *p;
	char *buf = NULL;
	size_t len, k = 0, start, i;
	const size_t max = 200;

	*out = NULL;
	if (!name)
		return 0;
	for (p = (const unsigned char *)name; *p; p++) {
		if (*p == '/' || *p == '\\')
			base = (const char *)p + 1;
	}
	len = strlen(base);
	buf = malloc(len + 1);
	if (!buf)
		return LKS_ENOMEM;
	p = (const unsigned char *)base;
	i = 0;
	while (i < len) {
		size_t n = utf8_seq(p + i, len - i);

		if (n == 0 || p[i] < 0x20 || p[i] == 0x7f) {
			buf[k++] = '_';
			i++;
			continue;
		}
		/* C1 controls (U+0080..U+009F) drive some terminals too. */
		if (n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0) {
			buf[k++] = '_';
			i += 2;
			continue;
		}
		/* Bidirectional overrides make "gpj.exe" read as "exe.jpg". */
		if (n == 3 && p[i] == 0xe2 &&
		    ((p[i + 1] == 0x80 && p[i + 2] >= 0xaa && p[i + 2] <= 0xae) ||
		     (p[i + 1] == 0x81 && p[i + 2] >= 0xa6 && p[i + 2] <= 0xa9))) {
			buf[k++] = '_';
			i += 3;
			continue;
		}
		memcpy(buf + k, p + i, n);
		k += n;
		i += n;
	}
	buf[k] = '\0';

	/* No hidden files, no option look-alikes, no trailing dots or spaces. */
	start = strspn(buf, ". -");
	memmove(buf, buf + start, k - start + 1);
	k -= start;
	while (k > 0 && (buf[k - 1] == '.' || buf[k - 1] == ' '))
		buf[--k] = '\0';

	if (k > max) {
		const char *dot = strrchr(buf, '.');
		size_t ext_len = dot ? k - (size_t)(dot - buf) : 0;
		size_t stem;

		if (ext_len > 16)
			ext_len = 0;
		stem = max - ext_len;
		/* Back up to a character boundary. */
		while (stem > 0 && ((unsigned char)buf[stem] & 0xc0) == 0x80)
			stem--;
		memmove(buf + stem, buf + k - ext_len, ext_len + 1);
		k = stem + ext_len;
	}
	if (k == 0) {
		free(buf);
		return 0;
	}
	*out = buf;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Presentation and the server's error document                        */

void cli_format_bytes(char *buf, size_t size, uint64_t bytes)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1024) {
		snprintf(buf, size, "%" PRIu64 " B", bytes);
		return;
	}
	v /= 1024.0;
	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, size, "%.1f %s", v, units[u]);
}

int cli_error_body_parse(char **code, char **message, const char *body, size_t len)
{
	json_t *doc = NULL;
	const char *c = NULL, *m = NULL;
	int rc = 0;

	*code = NULL;
	*message = NULL;
	if (!body || len == 0)
		return 0;
	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(doc))
		goto out;
	c = json_string_value(json_object_get(doc, "error"));
	m = json_string_value(json_object_get(doc, "message"));
	if (c) {
		*code = strdup(c);
		if (!*code)
			rc = LKS_ENOMEM;
	}
	if (m && rc == 0) {
		*message = strdup(m);
		if (!*message)
			rc = LKS_ENOMEM;
	}
	if (rc < 0) {
		free(*code);
		free(*message);
		*code = NULL;
		*message = NULL;
	}
out:
	json_decref(doc);
	return rc;
}

/* ------------------------------------------------------------------ */
/* base64url                                                           */

void cli_base64url_encode(char *out, const unsigned char *data, size_t len)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | data[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = a[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = a[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}
