/* Calendar and contact downloads for phones: GET /{id}.ics (the stored
 * calendar as a subscription feed, with refresh hints), GET /{id}.vcf (the
 * contact as vCard 3.0, which iOS and Android import reliably), and GET
 * /{id}/add-to-calendar, a 303 to the .ics: iOS offers to *subscribe* to a
 * link that answers a calendar directly, and imports the events when the
 * link redirects to it. */
#include "server_int.h"

#include "linksync/ical.h"
#include "linksync/units.h"
#include "linksync/vcard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* As for raw content: even rendered by a browser, it could not run. */
#define EXPORT_CSP "default-src 'none'; sandbox; frame-ancestors 'none'"

enum MHD_Result lks_send_see_other(struct request *req, const char *location)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	lks_add_common_headers(resp);
	ret = MHD_queue_response(req->conn, MHD_HTTP_SEE_OTHER, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* 1 when name ends in ext (".ics"), in any case. */
static int has_ext(const char *name, const char *ext)
{
	size_t n = strlen(name), e = strlen(ext);

	return n > e && strcasecmp(name + n - e, ext) == 0;
}

/* The download's file name: the item's name with ext, else base + ext.
 * malloc'd; NULL when out of memory. */
static char *file_name(const lks_item *it, const char *base, const char *ext)
{
	const char *name = it->name;
	size_t n;
	char *out;

	if (name != NULL && has_ext(name, ext))
		return strdup(name);
	if (name != NULL) {
		const char *dot = strrchr(name, '.');

		n = dot != NULL && dot != name ? (size_t)(dot - name) : strlen(name);
	} else {
		name = base;
		n = strlen(base);
	}
	out = malloc(n + strlen(ext) + 1);
	if (out != NULL) {
		memcpy(out, name, n);
		memcpy(out + n, ext, strlen(ext) + 1);
	}
	return out;
}

/* The calendar as a feed: its refresh hint is the item's remaining life,
 * which lks_ical_feed bounds. On content the writer cannot handle (stored by
 * an older, laxer server) the stored bytes are served as they are: a live
 * item's feed never fails. */
static int calendar_body(char **out, size_t *out_len, char **name, const lks_item *it,
			 void *content, size_t len)
{
	int64_t ttl = it->expires_at - lks_now();
	int rc;

	*name = file_name(it, "calendar", ".ics");
	if (*name == NULL)
		return LKS_ENOMEM;
	rc = lks_ical_feed(out, out_len, content, len, ttl > 0 ? (long)ttl : 0);
	if (rc == LKS_ENOMEM)
		return rc;
	if (rc < 0) {
		*out = content;
		*out_len = len;
		return 1; /* content is now *out */
	}
	return 0;
}

/* The contact as vCard 3.0, named after the first card when the item has
 * no name. Falls back to the stored bytes like calendar_body. */
static int contact_body(char **out, size_t *out_len, char **name, const lks_item *it, void *content,
			size_t len)
{
	lks_vcard_list *cards = NULL;
	int rc = lks_vcard_parse(&cards, content, len);

	if (rc == 0)
		rc = lks_vcard_to_v30(out, out_len, cards);
	if (rc == 0 && it->name == NULL && lks_vcard_count(cards) == 1 &&
	    *lks_vcard_get(cards, 0)->display_name != '\0') {
		char *clean = NULL, *dn = strdup(lks_vcard_get(cards, 0)->display_name);

		/* A name, not a path: separators and characters file systems
		 * refuse become '_' before the usual sanitising. */
		for (char *p = dn; p != NULL && *p != '\0'; p++)
			if (strchr("/\\:*?\"<>|", *p) != NULL)
				*p = '_';
		if (dn != NULL && lks_name_sanitize(&clean, dn, strlen(dn)) == 0 && clean != NULL) {
			size_t n = strlen(clean);

			/* Not file_name(): "J. Doe" has no extension to replace. */
			*name = malloc(n + sizeof(".vcf"));
			if (*name != NULL) {
				memcpy(*name, clean, n);
				memcpy(*name + n, ".vcf", sizeof(".vcf"));
			}
			free(clean);
		}
		free(dn);
	}
	lks_vcard_free(cards);
	if (rc == LKS_ENOMEM)
		return rc;
	if (*name == NULL)
		*name = file_name(it, "contact", ".vcf");
	if (*name == NULL) {
		if (rc == 0)
			free(*out);
		return LKS_ENOMEM;
	}
	if (rc < 0) {
		*out = content;
		*out_len = len;
		return 1;
	}
	return 0;
}

enum MHD_Result lks_send_export(struct request *req, const lks_item *it, void *content, size_t len,
				int validators)
{
	char *body = NULL, *name = NULL, *disp = NULL;
	size_t body_len = 0;
	const char *type;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	lks_item named;
	int rc;

	if (it->kind == LKS_KIND_CALENDAR) {
		type = "text/calendar; charset=utf-8";
		rc = calendar_body(&body, &body_len, &name, it, content, len);
	} else {
		type = "text/vcard; charset=utf-8";
		rc = contact_body(&body, &body_len, &name, it, content, len);
	}
	if (rc < 0) {
		free(content);
		free(name);
		return lks_send_error(req, rc, "out of memory");
	}
	if (rc == 0)
		free(content); /* body is a new buffer */
	named = *it;
	named.name = name;
	disp = lks_disposition(&named, 1);
	free(name);
	resp = MHD_create_response_from_buffer(body_len, body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		free(disp);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (disp != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disp);
	free(disp);
	if (validators)
		lks_add_validators(resp, it, 1);
	else
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY, EXPORT_CSP);
	lks_add_common_headers(resp);
	ret = MHD_queue_response(req->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Looks up a live item of the given kind; answers 404 (and returns 1) when
 * there is none, or when a calendar feed is asked of a limited item. */
static int find(struct request *req, lks_item **out, const char *id, lks_kind kind,
		int unlimited_only, enum MHD_Result *answered)
{
	int rc = lks_store_get(req->srv->store, out, id, lks_now());

	/* An encrypted item's kind is not known here: never one to convert. */
	if (rc == 0 && ((*out)->kind != kind || (*out)->encrypted ||
			(unlimited_only && (*out)->reads_left >= 0)))
		rc = LKS_ENOTFOUND;
	if (rc == 0)
		return 0;
	lks_item_free(*out);
	*out = NULL;
	*answered = rc == LKS_ENOTFOUND ? lks_send_not_found(req)
					: lks_send_error(req, rc, lks_error_message());
	return 1;
}

/* GET /{id}.ics and /{id}.vcf. The feed is only for unlimited calendars: a
 * subscriber polls it, which must not use up reads; a contact follows the
 * raw rules (a delivery consumes a read, HEAD and 304 do not). */
static enum MHD_Result serve_export(struct request *req, const char *id, lks_kind kind)
{
	int unlimited_only = kind == LKS_KIND_CALENDAR;
	int head = strcmp(req->method, MHD_HTTP_METHOD_HEAD) == 0;
	lks_item *it = NULL;
	void *content = NULL;
	size_t len = 0;
	enum MHD_Result answered;
	unsigned flags;
	int rc;

	if (find(req, &it, id, kind, unlimited_only, &answered))
		return answered;
	if (lks_client_is_fresh(req, it)) {
		answered = lks_send_not_modified(req, it, 1);
		lks_item_free(it);
		return answered;
	}
	flags = head || it->reads_left < 0 ? 0 : LKS_STORE_COUNT;
	lks_item_free(it);
	it = NULL;
	rc = lks_store_read(req->srv->store, &it, &content, &len, id, lks_now(), flags);
	if (rc == 0 && (it->kind != kind || it->encrypted ||
			(unlimited_only && it->reads_left >= 0)))
		rc = LKS_ENOTFOUND; /* updated into something else meanwhile */
	if (rc < 0) {
		free(content);
		lks_item_free(it);
		return rc == LKS_ENOTFOUND ? lks_send_not_found(req)
					   : lks_send_error(req, rc, lks_error_message());
	}
	answered = lks_send_export(req, it, content, len, 1);
	lks_item_free(it);
	return answered;
}

enum MHD_Result lks_handle_ics(struct request *req, const char *id)
{
	return serve_export(req, id, LKS_KIND_CALENDAR);
}

enum MHD_Result lks_handle_vcf(struct request *req, const char *id)
{
	return serve_export(req, id, LKS_KIND_CONTACT);
}

enum MHD_Result lks_handle_add_to_calendar(struct request *req, const char *id)
{
	lks_item *it = NULL;
	enum MHD_Result answered;
	char location[LKS_ID_LEN + 8];

	if (find(req, &it, id, LKS_KIND_CALENDAR, 0, &answered))
		return answered;
	/* A limited item is added with the page's button, which spends a read
	 * on purpose; a GET never does. */
	snprintf(location, sizeof(location), "/%s%s", id, it->reads_left < 0 ? ".ics" : "");
	lks_item_free(it);
	return lks_send_see_other(req, location);
}
