/* Delivering an item: its exact bytes (GET /{id}/raw and friends, with
 * validators and a safe disposition) and its QR codes (rendered once, then
 * served from qrcache.c). */
#include "server_int.h"
#include "qrcache.h"
#include "zk.h"

#include "linksync/units.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Raw content runs in no context of ours: even if a browser rendered it, it
 * could not script, load or frame anything. */
#define RAW_CSP "default-src 'none'; sandbox; frame-ancestors 'none'"

/* 1 when an If-None-Match header lists etag (or is "*"). */
static int etag_matches(const char *header, const char *etag)
{
	size_t n = strlen(etag);
	const char *p = header;

	if (header == NULL)
		return 0;
	while (*p != '\0') {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2; /* weak comparison, as RFC 9110 asks for If-None-Match */
		if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return 1;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return 0;
}

/* A file name for items sent without one. */
static const char *default_name(const lks_item *it)
{
	switch (it->kind) {
	case LKS_KIND_CALENDAR:
		return "event.ics";
	case LKS_KIND_CONTACT:
		return "contact.vcf";
	case LKS_KIND_NOTE:
		return "note.txt";
	case LKS_KIND_FILE:
		break;
	}
	return "download";
}

/* Content-Disposition with an ASCII fallback name and the exact UTF-8 name
 * (RFC 6266, RFC 8187); names were sanitised on the way in, and are escaped
 * again here so that no name can break the header. */
static char *disposition(const lks_item *it, int attachment)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *name = it->name ? it->name : default_name(it);
	size_t n = strlen(name);
	/* The prefix (22 bytes at most), the fallback name (n), the middle (20),
	 * the encoded name (3 per byte at most) and the NUL. */
	char *out = malloc(64 + n * 4), *o;

	if (out == NULL)
		return NULL;
	o = out + sprintf(out, "%s; filename=\"", attachment ? "attachment" : "inline");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if ((c & 0xc0) == 0x80)
			continue; /* one '_' per non-ASCII character, not per byte */
		*o++ = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '_' : (char)c;
	}
	o += sprintf(o, "\"; filename*=UTF-8''");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("!#$&+-.^_`|~", c) != NULL) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

void lks_add_validators(struct MHD_Response *resp, const lks_item *it, int weak)
{
	char etag[48], header[56], date[40];

	lks_item_etag(it, etag, sizeof(etag));
	snprintf(header, sizeof(header), "%s%s", weak ? "W/" : "", etag);
	lks_time_http(date, sizeof(date), it->updated_at);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, header);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, date);
	/* Clients may keep a copy but must ask again: the owner can update it.
	 * A limited item must not be kept where another reader could take it. */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				it->reads_left < 0 ? "private, no-cache" : "no-store");
}

enum MHD_Result lks_send_not_modified(struct request *req, const lks_item *it, int weak)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (resp == NULL)
		return MHD_NO;
	lks_add_validators(resp, it, weak);
	lks_add_common_headers(resp);
	ret = MHD_queue_response(req->conn, MHD_HTTP_NOT_MODIFIED, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Longest long poll, in seconds: beyond it clients simply ask again. */
#define MAX_WAIT 300

/* The ?wait=SECONDS of a long poll, clamped; 0 when absent or malformed. */
static unsigned wait_seconds(struct request *req)
{
	const char *s = lks_query(req, "wait");
	char *end;
	unsigned long v;

	if (s == NULL || *s < '0' || *s > '9')
		return 0;
	v = strtoul(s, &end, 10);
	if (*end != '\0')
		return 0;
	return v > MAX_WAIT ? MAX_WAIT : (unsigned)v;
}

int lks_client_is_fresh(struct request *req, const lks_item *it)
{
	const char *inm = lks_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH);
	const char *ims;
	char etag[48];
	int64_t since;

	if (inm != NULL) {
		lks_item_etag(it, etag, sizeof(etag));
		return etag_matches(inm, etag);
	}
	ims = lks_header(req, MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
	return ims != NULL && lks_time_http_parse(&since, ims) == 0 && it->updated_at <= since;
}

/* What conditional() decided. */
enum { SEND_CONTENT, ANSWERED, CHANGED };

/* For a request with If-None-Match or If-Modified-Since, given the item as
 * just read: answers 304 when the client's copy is current, or parks a long
 * poll until it is not (ANSWERED); says SEND_CONTENT when the client needs
 * the content read, or CHANGED when a newer version came while it looked. */
static int conditional(struct request *req, const lks_item *it, enum MHD_Result *answered)
{
	char etag[48];
	unsigned wait;
	int rc;

	if (!lks_client_is_fresh(req, it))
		return SEND_CONTENT;
	wait = wait_seconds(req);
	if (wait == 0 || req->wait_state != LKS_WAIT_NONE) {
		*answered = lks_send_not_modified(req, it, 0);
		return ANSWERED;
	}
	lks_item_etag(it, etag, sizeof(etag));
	rc = lks_wait_park(req, it->id, etag, wait);
	if (rc == 1)
		return CHANGED;
	if (rc == 0)
		*answered = MHD_YES; /* parked: answered when it wakes */
	else if (rc == LKS_ENOTFOUND)
		*answered = lks_send_not_found(req);
	else
		*answered = lks_send_error(req, rc, lks_error_message());
	return ANSWERED;
}

enum MHD_Result lks_handle_raw(struct request *req, const char *id)
{
	int head = strcmp(req->method, MHD_HTTP_METHOD_HEAD) == 0;
	int conditional_request = lks_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH) != NULL ||
				  lks_header(req, MHD_HTTP_HEADER_IF_MODIFIED_SINCE) != NULL;
	int64_t now = lks_now();
	lks_item *it = NULL;
	void *content = NULL;
	size_t len = 0;
	struct MHD_Response *resp;
	enum MHD_Result ret, answered;
	char *disp;
	uint8_t proof_hash[LKS_HASH_BYTES];
	int rc, attachment, again = 0, proved;

	/* One uncounted read serves the common case (an unlimited item): the
	 * checks below need the item, and none of them may use up a read. */
	rc = lks_store_read(req->srv->store, &it, &content, &len, id, now, 0);
	if (rc == LKS_ENOTFOUND)
		return lks_send_not_found(req);
	if (rc < 0)
		return lks_send_error(req, rc, lks_error_message());
	/* An encrypted item first wants its read proof: 404 before it (so a
	 * proof tells nothing about existence), then 401/403/429 without
	 * delivering or consuming anything (docs/e2e.md §6). */
	if (it->encrypted && lks_zk_check_read(req, it, &answered))
		goto answered;
	if (conditional_request) {
		int c = conditional(req, it, &answered);

		if (c == ANSWERED)
			goto answered;
		again = c == CHANGED;
	}
	/* A delivery of a limited item consumes a read: read again, counted.
	 * HEAD delivers nothing, so it consumes nothing. */
	if (again || (it->reads_left >= 0 && !head)) {
		proved = it->encrypted;
		memcpy(proof_hash, it->proof_hash, sizeof(proof_hash));
		lks_item_free(it);
		free(content);
		it = NULL;
		content = NULL;
		rc = lks_store_read(req->srv->store, &it, &content, &len, id, now,
				    head ? 0 : LKS_STORE_COUNT);
		if (rc == LKS_ENOTFOUND)
			return lks_send_not_found(req);
		if (rc < 0)
			return lks_send_error(req, rc, lks_error_message());
		/* Updated between the check and this read: the proof must still be
		 * the one checked. (A read limit has then paid for nothing, an
		 * accepted cost of a race with the owner.) */
		if (it->encrypted && (!proved || !lks_hash_equal(proof_hash, it->proof_hash)) &&
		    lks_zk_check_read(req, it, &answered))
			goto answered;
	}
	resp = MHD_create_response_from_buffer(len, content, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(content);
		lks_item_free(it);
		return MHD_NO;
	}
	attachment = it->encrypted || !lks_type_is_inline_safe(it->type) ||
		     lks_query(req, "download") != NULL;
	disp = disposition(it, attachment);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, it->type);
	if (disp != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disp);
	lks_add_validators(resp, it, 0);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY, RAW_CSP);
	lks_add_common_headers(resp);
	ret = MHD_queue_response(req->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	free(disp);
	lks_item_free(it);
	return ret;
answered:
	free(content);
	lks_item_free(it);
	return answered;
}

/* Longest a browser keeps a QR code without asking again. */
#define QR_MAX_AGE 86400

/* A code never changes while its item lives, so a browser may keep it for the
 * item's remaining life, at most a day (a deleted item's code is only a dead
 * link, but need not linger), then revalidate with the ETag: 304, or 404 once
 * the item is gone. A read-limited item's code is a way to take a read: not
 * kept, as its content is not (lks_add_validators). */
static void add_qr_validators(struct MHD_Response *resp, const char *etag, int limited,
			      int64_t life)
{
	char cc[48];

	if (life < 0)
		life = 0;
	snprintf(cc, sizeof(cc), "private, max-age=%lld",
		 (long long)(life < QR_MAX_AGE ? life : QR_MAX_AGE));
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, limited ? "no-store" : cc);
}

enum MHD_Result lks_handle_qr(struct request *req, const char *id, const char *format)
{
	int64_t now = lks_now(), life = 0;
	lks_item *it = NULL;
	char *url = NULL;
	void *out = NULL;
	size_t len = 0;
	char etag[LKS_QRCACHE_ETAG_SIZE];
	const char *type;
	lks_qr_format fmt;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned status = MHD_HTTP_OK;
	int rc, limited = 0;

	/* Looked up every time, though the image is cached: a deleted, expired
	 * or used-up item is 404 at once. */
	rc = lks_store_get(req->srv->store, &it, id, now);
	/* The QR code of an encrypted item holds its key: only a client can
	 * draw it. */
	if (rc == 0 && it->encrypted)
		rc = LKS_ENOTFOUND;
	if (rc == 0) {
		limited = it->reads_left >= 0;
		life = it->expires_at - now;
	}
	lks_item_free(it);
	if (rc == LKS_ENOTFOUND)
		return lks_send_not_found(req);
	if (rc < 0)
		return lks_send_error(req, rc, lks_error_message());
	if (strcmp(format, "svg") == 0) {
		type = "image/svg+xml";
		fmt = LKS_QR_SVG;
	} else if (strcmp(format, "png") == 0) {
		type = "image/png";
		fmt = LKS_QR_PNG;
	} else {
		type = "text/plain; charset=utf-8";
		fmt = LKS_QR_TXT;
	}
	url = lks_item_url(req->srv, id, NULL);
	if (url == NULL)
		return lks_send_error(req, LKS_ENOMEM, NULL);
	rc = lks_qrcache_get(req->srv->qr_cache, &out, &len, etag, url, fmt);
	free(url);
	if (rc < 0)
		return lks_send_error(req, rc, lks_error_message());
	if (etag_matches(lks_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH), etag)) {
		free(out);
		out = NULL;
		status = MHD_HTTP_NOT_MODIFIED;
		resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_buffer(len, out, MHD_RESPMEM_MUST_FREE);
	}
	if (resp == NULL) {
		free(out);
		return MHD_NO;
	}
	if (status == MHD_HTTP_OK)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	add_qr_validators(resp, etag, limited, life);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY, RAW_CSP);
	lks_add_common_headers(resp);
	ret = MHD_queue_response(req->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* Shared with the calendar and contact downloads (feeds.c). */

char *lks_disposition(const lks_item *it, int attachment)
{
	return disposition(it, attachment);
}
