/* The item model: what the server stores for each link, the kinds of item it
 * understands, and the checks on the type and name a client sends. */
#ifndef LINKSYNC_ITEM_H
#define LINKSYNC_ITEM_H

#include "linksync/envelope.h"
#include "linksync/id.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lks_kind {
	LKS_KIND_FILE = 0,     /* anything else: served as a download */
	LKS_KIND_NOTE = 1,     /* text/plain */
	LKS_KIND_CALENDAR = 2, /* text/calendar */
	LKS_KIND_CONTACT = 3,  /* text/vcard */
} lks_kind;

#define LKS_READS_UNLIMITED (-1)
#define LKS_NAME_MAX 255 /* bytes of a file name */
#define LKS_TYPE_MAX 127 /* bytes of a media type with its parameters */

/* One stored item's metadata. The strings belong to the item and are freed by
 * lks_item_free. */
typedef struct lks_item {
	char id[LKS_ID_LEN + 1];
	lks_kind kind;
	char *type;    /* normalised media type, e.g. "text/plain; charset=utf-8" */
	char *name;    /* file name, or NULL */
	char *summary; /* one line for lists and previews, or NULL */
	int64_t size;  /* content bytes */
	int64_t created_at;
	int64_t updated_at; /* time of the current version */
	int64_t expires_at;
	int64_t version; /* 1 at creation, +1 per update */
	int64_t reads_left; /* LKS_READS_UNLIMITED or what is left */
	uint8_t token_hash[LKS_HASH_BYTES];   /* SHA-256 of the owner token */
	uint8_t content_hash[LKS_HASH_BYTES]; /* SHA-256 of the content */
	/* End-to-end encrypted (docs/e2e.md): the content is an LKS1 envelope
	 * the server cannot read, type is LKS_ENVELOPE_MEDIA_TYPE and kind
	 * LKS_KIND_FILE (the real ones are inside), and the server keeps the
	 * envelope's public header and the SHA-256 of its read proof. 0 and
	 * zeros for every other item. */
	int encrypted;
	uint8_t proof_hash[LKS_HASH_BYTES];
	uint8_t envelope_header[LKS_ENVELOPE_HEADER_BYTES];
} lks_item;

/* Frees an item and its strings; NULL is fine. */
void lks_item_free(lks_item *item);

/* Deep copy of src into *out (caller frees). Returns 0 or LKS_ENOMEM. */
int lks_item_dup(lks_item **out, const lks_item *src);

/* The item's ETag, quoted, into out (at least 40 bytes): it changes with
 * every version and every content. */
void lks_item_etag(const lks_item *item, char *out, size_t outsz);

/* "file", "note", "calendar" or "contact". */
const char *lks_kind_name(lks_kind kind);

/* The kind of a normalised media type. */
lks_kind lks_kind_from_type(const char *type);

/* 1 when a normalised media type is LKS_ENVELOPE_MEDIA_TYPE (parameters
 * aside): the body is an end-to-end encrypted envelope. */
int lks_type_is_envelope(const char *type);

/* Checks a Content-Type header value and writes its normalised form into
 * *out (caller frees): type and subtype in lower case, parameters kept in
 * order with their names in lower case, text without a charset given
 * "charset=utf-8"; NULL or empty gives "application/octet-stream". The legacy
 * text/x-vcard and text/directory become text/vcard. Returns 0, LKS_EINVAL
 * (not a media type, or longer than LKS_TYPE_MAX) or LKS_ENOMEM. */
int lks_type_normalize(char **out, const char *content_type);

/* The media type of a file name's extension (".ics" is "text/calendar"),
 * or "application/octet-stream"; the result is static. */
const char *lks_type_from_name(const char *name);

/* 1 when content of this type is safe to show inline in a browser on the
 * server's origin (text, common images, PDF), 0 when it must be an
 * attachment (HTML, SVG, XML, JavaScript, anything unknown). */
int lks_type_is_inline_safe(const char *type);

/* Checks a client-supplied file name and writes a safe one into *out (caller
 * frees): the last path component only, control characters and quotes
 * replaced, valid UTF-8, at most LKS_NAME_MAX bytes, never "." or "..".
 * An empty result leaves *out NULL. Returns 0, LKS_EINVAL (not UTF-8) or
 * LKS_ENOMEM. */
int lks_name_sanitize(char **out, const char *name, size_t len);

/* 1 when s[0..len) is valid UTF-8 without NUL bytes. */
int lks_utf8_valid(const char *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif
