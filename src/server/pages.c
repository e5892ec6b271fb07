/* The pages: the item page a phone opens (GET /{id}, server-rendered, works
 * without script), the page an explicit "Open" answers for a read-limited
 * item (POST /{id}/open), the 404 page, and the embedded files of web/.
 * Every page carries a strict Content-Security-Policy (no inline script or
 * style) and escapes every user field. A plain GET never consumes a read:
 * link previewers fetch pages too. */
#include "server_int.h"

#include "html.h"
#include "linksync/envelope.h"
#include "linksync/ical.h"
#include "linksync/units.h"
#include "linksync/vcard.h"
#include "page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Generated from web/ by cmake/embed.cmake. */
struct lks_asset {
	const char *name;
	const unsigned char *data;
	size_t size;
};
extern const struct lks_asset lks_assets[];

#define PAGE_CSP                                                                                   \
	"default-src 'none'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "    \
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
/* As for raw content: a download runs in no context of ours. */
#define DOWNLOAD_CSP "default-src 'none'; sandbox; frame-ancestors 'none'"

/* Bytes of a note shown on its page; the rest is in the download. */
#define NOTE_SHOW_MAX (512 * 1024)

/* How the content appears on a page. */
enum view {
	VIEW_CLOSED, /* a read-limited item on a plain GET: an Open button only */
	VIEW_SHOWN,  /* an unlimited item: everything */
	VIEW_OPENED, /* a read-limited item after POST /{id}/open */
};

static enum MHD_Result send_page(struct request *req, unsigned status, struct buf *b)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (b->failed) {
		buf_free(b);
		return lks_send_error(req, LKS_ENOMEM, NULL);
	}
	resp = MHD_create_response_from_buffer(b->len, b->data, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		buf_free(b);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY, PAGE_CSP);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	/* The page differs for browsers and other clients at the same URL. */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept");
	lks_add_common_headers(resp);
	ret = MHD_queue_response(req->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void page_head(struct buf *b, const char *title)
{
	buf_puts(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		    "<meta name=\"color-scheme\" content=\"light dark\">\n"
		    "<meta name=\"robots\" content=\"noindex, nofollow\">\n"
		    "<link rel=\"stylesheet\" href=\"/static/style.css\">\n"
		    "<link rel=\"stylesheet\" href=\"/static/item.css\">\n"
		    "<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">\n<title>");
	lks_page_text(b, title, strlen(title));
	buf_puts(b, " · linksync</title>\n</head>\n<body class=\"item\">\n"
		    "<header class=\"bar\"><a href=\"/\">linksync</a></header>\n<main>\n");
}

static void page_foot(struct buf *b)
{
	buf_puts(b, "</main>\n<script src=\"/static/item.js\" defer></script>\n</body></html>\n");
}

enum MHD_Result lks_send_not_found_page(struct request *req)
{
	struct buf b = {0};

	page_head(&b, "Not found");
	buf_puts(&b, "<h1>Nothing here</h1>\n<p>This link is wrong, has expired, was used up or "
		     "was deleted. Ask the sender for a new one.</p>\n"
		     "<p><a class=\"button secondary\" href=\"/\">Send something</a></p>\n");
	page_foot(&b);
	return send_page(req, MHD_HTTP_NOT_FOUND, &b);
}

static void human_size(char *out, size_t outsz, int64_t n)
{
	if (n < 1024)
		snprintf(out, outsz, "%lld byte%s", (long long)n, n == 1 ? "" : "s");
	else if (n < 1024 * 1024)
		snprintf(out, outsz, "%.1f KiB", (double)n / 1024);
	else if (n < 1024LL * 1024 * 1024)
		snprintf(out, outsz, "%.1f MiB", (double)n / (1024 * 1024));
	else
		snprintf(out, outsz, "%.1f GiB", (double)n / (1024 * 1024 * 1024));
}

static const char *kind_label(lks_kind kind)
{
	switch (kind) {
	case LKS_KIND_CALENDAR:
		return "Calendar";
	case LKS_KIND_CONTACT:
		return "Contact";
	case LKS_KIND_NOTE:
		return "Note";
	case LKS_KIND_FILE:
		break;
	}
	return "File";
}

/* 1 when the public URL's host is one that only this network reaches
 * (private and loopback addresses, single-label and .local names): Google's
 * servers could not fetch a feed there. */
static int lan_only(const char *url)
{
	const char *h = strstr(url, "://");
	char host[256];
	size_t n = 0;
	unsigned a, bb;

	if (h == NULL)
		return 1;
	h += 3;
	if (*h == '[')
		return strncasecmp(h, "[fe80", 5) == 0 || strncasecmp(h, "[fc", 3) == 0 ||
		       strncasecmp(h, "[fd", 3) == 0 || strncmp(h, "[::1]", 5) == 0;
	while (h[n] != '\0' && h[n] != ':' && h[n] != '/' && n < sizeof(host) - 1) {
		host[n] = h[n];
		n++;
	}
	host[n] = '\0';
	if (sscanf(host, "%u.%u.", &a, &bb) == 2 && strspn(host, "0123456789.") == n)
		return a == 10 || a == 127 || (a == 172 && bb >= 16 && bb <= 31) ||
		       (a == 192 && bb == 168) || (a == 169 && bb == 254) ||
		       (a == 100 && bb >= 64 && bb <= 127);
	if (strchr(host, '.') == NULL)
		return 1;
	n = strlen(host);
	return (n > 6 && strcasecmp(host + n - 6, ".local") == 0) ||
	       (n > 4 && strcasecmp(host + n - 4, ".lan") == 0) ||
	       (n > 10 && strcasecmp(host + n - 10, ".home.arpa") == 0) ||
	       (n > 9 && strcasecmp(host + n - 9, ".internal") == 0);
}

/* "Expires Saturday 28 November 2026 at 15:15 UTC (in 23 hours)". */
static void expiry(struct buf *b, const lks_item *it)
{
	time_t t = (time_t)it->expires_at;
	struct tm tm;
	char date[64], rel[48];

	gmtime_r(&t, &tm);
	lks_page_date(date, sizeof(date), tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	lks_page_relative(rel, sizeof(rel), it->expires_at - lks_now());
	buf_printf(b,
		   "<p class=\"expires\">This link expires on <time datetime=\"%04d-%02d-%02dT%02d:"
		   "%02d:%02dZ\" data-wall=\"%04d-%02d-%02dT%02d:%02d\">%s at %02d:%02d UTC</time> "
		   "(%s).</p>\n",
		   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, date,
		   tm.tm_hour, tm.tm_min, rel);
}

/* "Open (3 left)"-style POST buttons; as is NULL, "ics" or "vcf". */
static void open_form(struct buf *b, const char *id, const char *as, const char *label, int primary)
{
	buf_printf(b,
		   "<form class=\"inline\" method=\"post\" action=\"/%s/open%s%s\">"
		   "<button type=\"submit\" class=\"button%s\">%s</button></form>\n",
		   id, as ? "?as=" : "", as ? as : "", primary ? "" : " secondary", label);
}

/* The closed view of a read-limited item: what it is, how many opens are
 * left, and the buttons that spend one. */
static void closed(struct buf *b, const lks_item *it)
{
	char label[64];
	long long n = (long long)it->reads_left;

	buf_printf(b,
		   "<p class=\"notice\">This link can be opened <strong>%lld more time%s</strong>. "
		   "Opening it shows the %s here and uses one.</p>\n<div class=\"actions\">\n",
		   n, n == 1 ? "" : "s",
		   it->kind == LKS_KIND_FILE	   ? "download"
		   : it->kind == LKS_KIND_CALENDAR ? "events"
		   : it->kind == LKS_KIND_CONTACT  ? "contact"
						   : "note");
	snprintf(label, sizeof(label), "%s (%lld left)",
		 it->kind == LKS_KIND_FILE ? "Download" : "Open", n);
	open_form(b, it->id, NULL, label, 1);
	if (it->kind == LKS_KIND_CALENDAR)
		open_form(b, it->id, "ics", "Add to calendar (uses one open)", 0);
	if (it->kind == LKS_KIND_CONTACT)
		open_form(b, it->id, "vcf", "Save contact (uses one open)", 0);
	buf_puts(b, "</div>\n");
}

static void opened_notice(struct buf *b, const lks_item *it)
{
	if (it->reads_left > 0)
		buf_printf(b,
			   "<p class=\"notice\" role=\"status\">Opened. This link can be opened "
			   "%lld more time%s.</p>\n",
			   (long long)it->reads_left, it->reads_left == 1 ? "" : "s");
	else
		buf_puts(b, "<p class=\"notice warn\" role=\"status\">This was the last open: the "
			    "link no longer works. Keep what you need now.</p>\n");
}

static void calendar_actions(struct buf *b, struct request *req, const lks_item *it, enum view view)
{
	char *url, *rest;

	buf_puts(b, "<div class=\"actions\">\n");
	if (view == VIEW_OPENED) {
		if (it->reads_left > 0)
			open_form(b, it->id, "ics", "Add to calendar (uses one more open)", 1);
		buf_puts(b, "</div>\n");
		return;
	}
	buf_printf(b, "<a class=\"button\" href=\"/%s/add-to-calendar\">Add to calendar</a>\n",
		   it->id);
	url = lks_item_url(req->srv, it->id, ".ics");
	rest = url ? strstr(url, "://") : NULL;
	if (rest == NULL) {
		free(url);
		buf_puts(b, "</div>\n");
		return;
	}
	/* The public URL is checked at start-up (no quotes, no query), and the
	 * id is base32: escaping keeps it that way regardless. */
	buf_puts(b, "<a class=\"button secondary\" href=\"webcal");
	lks_page_text(b, rest, strlen(rest));
	buf_puts(b, "\">Subscribe</a>\n<a class=\"button secondary\" rel=\"noopener noreferrer\" "
		    "href=\"https://calendar.google.com/calendar/r?cid=");
	{
		struct buf webcal = {0};

		buf_puts(&webcal, "webcal");
		buf_puts(&webcal, rest);
		if (!webcal.failed)
			lks_page_url_encode(b, webcal.data, webcal.len, NULL);
		else
			b->failed = 1;
		buf_free(&webcal);
	}
	buf_puts(b, "\">Subscribe in Google Calendar</a>\n</div>\n");
	buf_puts(b,
		 "<p class=\"hint\"><strong>Add to calendar</strong> copies the events into your "
		 "calendar. <strong>Subscribe</strong> keeps them in step with the sender's "
		 "updates until the link expires.");
	if (lan_only(url))
		buf_puts(b, " Google Calendar fetches subscriptions from Google's servers, so that "
			    "button works only when this server can be reached from the internet.");
	buf_puts(b, "</p>\n");
	free(url);
}

static void contact_actions(struct buf *b, const lks_item *it, enum view view)
{
	buf_puts(b, "<div class=\"actions\">\n");
	if (view == VIEW_OPENED) {
		if (it->reads_left > 0)
			open_form(b, it->id, "vcf", "Save contact (uses one more open)", 1);
	} else {
		buf_printf(b, "<a class=\"button\" href=\"/%s.vcf\">Save contact</a>\n", it->id);
	}
	buf_puts(b, "</div>\n");
}

/* The note's text, cut at NOTE_SHOW_MAX on a character boundary. */
static void note(struct buf *b, const lks_item *it, const char *text, size_t len, enum view view)
{
	size_t show = len;

	if (show > NOTE_SHOW_MAX) {
		show = NOTE_SHOW_MAX;
		while (show > 0 && ((unsigned char)text[show] & 0xc0) == 0x80)
			show--;
	}
	buf_puts(b,
		 "<pre class=\"note\" id=\"note-text\" tabindex=\"0\" aria-label=\"Note text\">");
	lks_page_text(b, text, show);
	buf_puts(b, "</pre>\n");
	if (show < len)
		buf_printf(b,
			   "<p class=\"muted\">The note is longer than this page shows (%zu of %zu "
			   "bytes)%s.</p>\n",
			   show, len, view == VIEW_SHOWN ? ": download it to read it all" : "");
	buf_puts(b, "<div class=\"actions\">\n<button type=\"button\" class=\"button\" "
		    "data-copy=\"note-text\" hidden>Copy</button>\n");
	if (view == VIEW_SHOWN)
		buf_printf(
		    b, "<a class=\"button secondary\" href=\"/%s/raw?download=1\">Download</a>\n",
		    it->id);
	buf_puts(b,
		 "<span class=\"copied\" role=\"status\" aria-live=\"polite\"></span>\n</div>\n");
}

static int previewable_image(const char *type)
{
	static const char *const types[] = {"image/png", "image/jpeg", "image/gif", "image/webp"};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t n = strlen(types[i]);
		if (strncasecmp(type, types[i], n) == 0 && (type[n] == '\0' || type[n] == ';'))
			return 1;
	}
	return 0;
}

static void file(struct buf *b, const lks_item *it, enum view view)
{
	char size[32];

	human_size(size, sizeof(size), it->size);
	/* The name is the page's h1; a file sent without one says so. */
	buf_puts(b, "<dl class=\"facts\">");
	if (it->name == NULL)
		buf_puts(b, "<dt>Name</dt><dd class=\"muted\">(none given)</dd>");
	buf_printf(b, "<dt>Size</dt><dd>%s", size);
	if (it->size >= 1024)
		buf_printf(b, " (%lld bytes)", (long long)it->size);
	buf_puts(b, "</dd><dt>Type</dt><dd>");
	lks_page_text(b, it->type, strlen(it->type));
	buf_puts(b, "</dd></dl>\n");
	if (view != VIEW_SHOWN)
		return;
	/* Only images a browser cannot be tricked into running (no SVG). */
	if (previewable_image(it->type) && it->size <= 20 * 1024 * 1024) {
		buf_printf(b, "<img class=\"preview\" src=\"/%s/raw\" alt=\"Preview of ", it->id);
		lks_page_text(b, it->name ? it->name : "the image",
			      strlen(it->name ? it->name : "the image"));
		buf_puts(b, "\">\n");
	}
	buf_printf(b,
		   "<div class=\"actions\"><a class=\"button\" href=\"/%s/raw?download=1\" "
		   "download>Download</a></div>\n",
		   it->id);
}

/* The title of the page (and of its h1). */
static const char *page_title(const lks_item *it, const lks_calendar *cal,
			      const lks_vcard_list *cards, enum view view)
{
	if (view != VIEW_CLOSED && cal != NULL && lks_page_calendar_title(cal) != NULL)
		return lks_page_calendar_title(cal);
	if (view != VIEW_CLOSED && cards != NULL && lks_vcard_count(cards) == 1 &&
	    *lks_vcard_get(cards, 0)->display_name != '\0')
		return lks_vcard_get(cards, 0)->display_name;
	switch (it->kind) {
	case LKS_KIND_CALENDAR:
		return "A calendar";
	case LKS_KIND_CONTACT:
		return cards != NULL && lks_vcard_count(cards) > 1 ? "Contacts" : "A contact";
	case LKS_KIND_NOTE:
		return it->name ? it->name : "A note";
	case LKS_KIND_FILE:
		break;
	}
	return it->name ? it->name : "A file";
}

/* The whole item page. content (len bytes) is NULL in the closed view and
 * for files. */
static enum MHD_Result item_page(struct request *req, const lks_item *it, const char *content,
				 size_t len, enum view view)
{
	struct buf b = {0};
	lks_calendar *cal = NULL;
	lks_vcard_list *cards = NULL;
	char *url = NULL;
	const char *title;
	int unreadable = 0;

	if (view != VIEW_CLOSED && content != NULL) {
		if (it->kind == LKS_KIND_CALENDAR)
			unreadable = lks_ical_parse(&cal, content, len) < 0;
		else if (it->kind == LKS_KIND_CONTACT)
			unreadable = lks_vcard_parse(&cards, content, len) < 0;
	}
	title = page_title(it, cal, cards, view);
	page_head(&b, title);
	buf_printf(&b, "<p class=\"kind\">%s", kind_label(it->kind));
	if (cal != NULL && lks_ical_count(cal) > 1)
		buf_printf(&b, " · %zu entries", lks_ical_count(cal));
	if (cards != NULL && lks_vcard_count(cards) > 1)
		buf_printf(&b, " · %zu contacts", lks_vcard_count(cards));
	buf_puts(&b, "</p>\n<h1>");
	lks_page_text(&b, title, strlen(title));
	buf_puts(&b, "</h1>\n");
	if (view == VIEW_CLOSED) {
		if (it->kind == LKS_KIND_FILE)
			file(&b, it, view);
		closed(&b, it);
	} else {
		if (view == VIEW_OPENED)
			opened_notice(&b, it);
		if (unreadable) {
			buf_puts(&b, "<p class=\"notice warn\">This server cannot show this item's "
				     "content; the download still has it as it was sent.</p>\n");
		}
		switch (it->kind) {
		case LKS_KIND_CALENDAR:
			if (cal != NULL)
				lks_page_calendar(&b, cal,
						  lks_ical_name(cal) == NULL ||
						      *lks_ical_name(cal) == '\0');
			calendar_actions(&b, req, it, view);
			break;
		case LKS_KIND_CONTACT:
			if (cards != NULL)
				lks_page_contacts(&b, cards, 1);
			contact_actions(&b, it, view);
			break;
		case LKS_KIND_NOTE:
			note(&b, it, content ? content : "", content ? len : 0, view);
			break;
		case LKS_KIND_FILE:
			file(&b, it, view);
			break;
		}
	}
	buf_puts(&b, "<section class=\"meta\" aria-label=\"About this link\">\n");
	expiry(&b, it);
	if (it->reads_left < 0 && it->version > 1)
		buf_printf(&b, "<p class=\"muted\">Updated by the sender (version %lld).</p>\n",
			   (long long)it->version);
	buf_puts(&b, "</section>\n");
	url = lks_item_url(req->srv, it->id, NULL);
	if (url != NULL && (view != VIEW_OPENED || it->reads_left > 0)) {
		buf_printf(&b,
			   "<section class=\"share\">\n<h2>Open it on another device</h2>\n"
			   "<img class=\"qr\" src=\"/%s/qr.svg\" alt=\"QR code of this link\" "
			   "width=\"240\" height=\"240\">\n<p class=\"link\"><a href=\"",
			   it->id);
		lks_page_text(&b, url, strlen(url));
		buf_puts(&b, "\">");
		lks_page_text(&b, url, strlen(url));
		buf_puts(&b, "</a></p>\n</section>\n");
	}
	free(url);
	page_foot(&b);
	lks_ical_free(cal);
	lks_vcard_free(cards);
	return send_page(req, MHD_HTTP_OK, &b);
}

/* The page of an end-to-end encrypted item: a shell the server fills with
 * what it knows (that the item is encrypted, whether a password protects
 * it, its expiry and reads), which item.js completes in the browser: it
 * reads the key from location.hash (never sent here), fetches the envelope
 * with its read proof, decrypts it and renders it with the classes of the
 * server's own pages. Without script it says how else to open it. */
static enum MHD_Result encrypted_page(struct request *req, const lks_item *it)
{
	lks_envelope_header h;
	struct buf b = {0};
	int password = lks_envelope_header_parse(&h, it->envelope_header,
						 LKS_ENVELOPE_HEADER_BYTES) == 0 &&
		       (h.flags & LKS_ENVELOPE_FLAG_PASSWORD);
	long long reads = (long long)it->reads_left;

	page_head(&b, "Encrypted item");
	buf_printf(&b,
		   "<p class=\"kind\" id=\"zk-kind\">End-to-end encrypted</p>\n"
		   "<h1 id=\"zk-title\">Encrypted item</h1>\n"
		   "<div id=\"zk\" data-id=\"%s\" data-password=\"%d\" data-reads=\"%lld\">\n"
		   "<p class=\"notice\" id=\"zk-status\" role=\"status\">This item is end-to-end "
		   "encrypted: the key is the part of the link after \xe2\x80\x9c#\xe2\x80\x9d, "
		   "which never reaches the server. It is decrypted here, in your browser.</p>\n"
		   "<noscript><p class=\"notice warn\">Opening it needs JavaScript, or the "
		   "command line: <code>linksync pull 'LINK'</code> with the whole link.</p>"
		   "</noscript>\n",
		   it->id, password, reads);
	buf_puts(&b, "<form id=\"zk-password\" class=\"zk-password\" hidden>\n"
		     "<label for=\"zk-pw\">Password</label>\n"
		     "<input id=\"zk-pw\" type=\"password\" autocomplete=\"current-password\" "
		     "required>\n"
		     "<p class=\"hint\">The sender protected this item with a password as well as "
		     "the link.</p>\n"
		     "<div class=\"actions\"><button type=\"submit\" class=\"button\" "
		     "id=\"zk-unlock\">Unlock</button></div>\n</form>\n");
	if (reads >= 0)
		buf_printf(&b,
			   "<div class=\"actions\" id=\"zk-open\" hidden><button type=\"button\" "
			   "class=\"button\" id=\"zk-open-button\">Open (%lld left)</button></div>\n",
			   reads);
	buf_puts(&b, "<p id=\"zk-error\" class=\"notice warn\" role=\"alert\" hidden></p>\n"
		     "<div id=\"zk-content\"></div>\n</div>\n");
	buf_puts(&b, "<section class=\"meta\" aria-label=\"About this link\">\n");
	expiry(&b, it);
	if (reads >= 0)
		buf_printf(&b,
			   "<p class=\"muted\" id=\"zk-reads\">It can be opened %lld more "
			   "time%s.</p>\n",
			   reads, reads == 1 ? "" : "s");
	if (it->reads_left < 0 && it->version > 1)
		buf_printf(&b, "<p class=\"muted\">Updated by the sender (version %lld).</p>\n",
			   (long long)it->version);
	buf_puts(&b, "</section>\n");
	/* The QR code must hold the key: item.js draws it from the address bar. */
	buf_puts(&b, "<section class=\"share\" id=\"zk-share\" hidden>\n"
		     "<h2>Open it on another device</h2>\n"
		     "<img class=\"qr\" id=\"zk-qr\" alt=\"QR code of this link, with its key\" "
		     "width=\"240\" height=\"240\">\n"
		     "<p class=\"link\"><a id=\"zk-link\" href=\"#\"></a></p>\n</section>\n");
	buf_puts(&b, "</main>\n<script src=\"/static/crypto.js\" defer></script>\n"
		     "<script src=\"/static/qr.js\" defer></script>\n"
		     "<script src=\"/static/compose-format.js\" defer></script>\n"
		     "<script src=\"/static/item.js\" defer></script>\n</body></html>\n");
	return send_page(req, MHD_HTTP_OK, &b);
}

enum MHD_Result lks_handle_item_page(struct request *req, const char *id)
{
	lks_item *it = NULL, *now_it = NULL;
	void *content = NULL;
	size_t len = 0;
	enum MHD_Result ret;
	int rc = lks_store_get(req->srv->store, &it, id, lks_now());

	if (rc == LKS_ENOTFOUND)
		return lks_send_not_found_page(req);
	if (rc < 0)
		return lks_send_error(req, rc, lks_error_message());
	if (it->encrypted) {
		ret = encrypted_page(req, it);
		lks_item_free(it);
		return ret;
	}
	if (it->reads_left >= 0 || it->kind == LKS_KIND_FILE) {
		ret = item_page(req, it, NULL, 0, it->reads_left >= 0 ? VIEW_CLOSED : VIEW_SHOWN);
		lks_item_free(it);
		return ret;
	}
	/* Unlimited: show the content without counting a read. */
	rc = lks_store_read(req->srv->store, &now_it, &content, &len, id, lks_now(), 0);
	lks_item_free(it);
	if (rc == LKS_ENOTFOUND)
		return lks_send_not_found_page(req);
	if (rc < 0)
		return lks_send_error(req, rc, lks_error_message());
	ret = item_page(req, now_it, content, len,
			now_it->reads_left >= 0 ? VIEW_CLOSED : VIEW_SHOWN);
	free(content);
	lks_item_free(now_it);
	return ret;
}

/* A file delivered by the Open button: always an attachment. */
static enum MHD_Result send_download(struct request *req, const lks_item *it, void *content,
				     size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *disp;

	resp = MHD_create_response_from_buffer(len, content, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(content);
		return MHD_NO;
	}
	disp = lks_disposition(it, 1);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, it->type);
	if (disp != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disp);
	free(disp);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY, DOWNLOAD_CSP);
	lks_add_common_headers(resp);
	ret = MHD_queue_response(req->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result lks_handle_open(struct request *req, const char *id)
{
	const char *as = lks_query(req, "as");
	lks_item *it = NULL;
	void *content = NULL;
	size_t len = 0;
	enum MHD_Result ret;
	int rc;

	/* The envelope goes only to a reader with the proof (GET /{id}/raw):
	 * the page's own script opens an encrypted item. */
	rc = lks_store_get(req->srv->store, &it, id, lks_now());
	if (rc == LKS_ENOTFOUND)
		return lks_send_not_found_page(req);
	if (rc < 0)
		return lks_send_error(req, rc, lks_error_message());
	if (it->encrypted) {
		char page[LKS_ID_LEN + 2];

		lks_item_free(it);
		snprintf(page, sizeof(page), "/%s", id);
		return lks_send_see_other(req, page);
	}
	lks_item_free(it);
	it = NULL;
	rc = lks_store_read(req->srv->store, &it, &content, &len, id, lks_now(), LKS_STORE_COUNT);
	/* Encrypted meanwhile by its owner: nothing of it here. */
	if (rc == 0 && it->encrypted) {
		free(content);
		lks_item_free(it);
		return lks_send_not_found_page(req);
	}
	if (rc == LKS_ENOTFOUND)
		return lks_send_not_found_page(req);
	if (rc < 0)
		return lks_send_error(req, rc, lks_error_message());
	if (as != NULL && ((strcmp(as, "ics") == 0 && it->kind == LKS_KIND_CALENDAR) ||
			   (strcmp(as, "vcf") == 0 && it->kind == LKS_KIND_CONTACT))) {
		ret = lks_send_export(req, it, content, len, 0);
		lks_item_free(it);
		return ret;
	}
	/* A note too long to show whole would lose its end with this read:
	 * deliver it as a file instead. */
	if (it->kind == LKS_KIND_FILE || (it->kind == LKS_KIND_NOTE && len > NOTE_SHOW_MAX)) {
		ret = send_download(req, it, content, len);
		lks_item_free(it);
		return ret;
	}
	ret = item_page(req, it, content, len, it->reads_left < 0 ? VIEW_SHOWN : VIEW_OPENED);
	free(content);
	lks_item_free(it);
	return ret;
}

static const char *asset_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL)
		return "application/octet-stream";
	if (strcmp(dot, ".html") == 0)
		return "text/html; charset=utf-8";
	if (strcmp(dot, ".css") == 0)
		return "text/css; charset=utf-8";
	if (strcmp(dot, ".js") == 0)
		return "text/javascript; charset=utf-8";
	if (strcmp(dot, ".svg") == 0)
		return "image/svg+xml";
	if (strcmp(dot, ".png") == 0)
		return "image/png";
	return "application/octet-stream";
}

enum MHD_Result lks_handle_asset(struct request *req, const char *name)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	for (const struct lks_asset *a = lks_assets; a->name != NULL; a++) {
		if (strcmp(a->name, name) != 0)
			continue;
		resp = MHD_create_response_from_buffer(a->size, (void *)a->data,
						       MHD_RESPMEM_PERSISTENT);
		if (resp == NULL)
			return MHD_NO;
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, asset_type(name));
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY, PAGE_CSP);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
					strstr(name, ".html") ? "no-cache"
							      : "public, max-age=3600");
		lks_add_common_headers(resp);
		ret = MHD_queue_response(req->conn, MHD_HTTP_OK, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	return lks_send_not_found(req);
}
