/* The pages: the item page a phone opens (server-rendered, no script needed)
 * and the embedded files of web/ (compose page, style, script). Every page
 * carries a strict Content-Security-Policy and escapes every user field. */
#include "server_int.h"

#include "html.h"
#include "linksync/units.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Generated from web/ by cmake/embed.cmake. */
struct lks_asset {
	const char *name;
	const unsigned char *data;
	size_t size;
};
extern const struct lks_asset lks_assets[];

#define PAGE_CSP                                                                          \
	"default-src 'none'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; " \
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

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
	lks_add_common_headers(resp);
	ret = MHD_queue_response(req->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void page_head(struct buf *b, const char *title)
{
	buf_puts(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		    "<meta name=\"color-scheme\" content=\"light dark\">"
		    "<meta name=\"robots\" content=\"noindex\">"
		    "<link rel=\"stylesheet\" href=\"/static/style.css\"><title>");
	buf_html(b, title);
	buf_puts(b, " · linksync</title></head><body><main>\n");
}

static void human_size(char *out, size_t outsz, int64_t n)
{
	if (n < 1024)
		snprintf(out, outsz, "%lld bytes", (long long)n);
	else if (n < 1024 * 1024)
		snprintf(out, outsz, "%.1f KiB", (double)n / 1024);
	else
		snprintf(out, outsz, "%.1f MiB", (double)n / (1024 * 1024));
}

enum MHD_Result lks_handle_item_page(struct request *req, const char *id)
{
	struct buf b = {0};
	lks_item *it = NULL;
	char size[32], when[40];
	int rc = lks_store_get(req->srv->store, &it, id, lks_now());

	if (rc == LKS_ENOTFOUND) {
		page_head(&b, "Not found");
		buf_puts(&b, "<h1>Nothing here</h1><p>This link is wrong, has expired, was used up "
			     "or was deleted. Ask the sender for a new one.</p></main></body></html>\n");
		return send_page(req, MHD_HTTP_NOT_FOUND, &b);
	}
	if (rc < 0)
		return lks_send_error(req, rc, lks_error_message());
	page_head(&b, it->name ? it->name : lks_kind_name(it->kind));
	buf_puts(&b, "<h1>");
	buf_html(&b, it->name ? it->name : "Shared item");
	buf_puts(&b, "</h1>\n<dl><dt>Kind</dt><dd>");
	buf_html(&b, lks_kind_name(it->kind));
	buf_puts(&b, "</dd><dt>Type</dt><dd>");
	buf_html(&b, it->type);
	human_size(size, sizeof(size), it->size);
	buf_printf(&b, "</dd><dt>Size</dt><dd>%s</dd>", size);
	if (it->summary != NULL) {
		buf_puts(&b, "<dt>Summary</dt><dd>");
		buf_html(&b, it->summary);
		buf_puts(&b, "</dd>");
	}
	lks_time_rfc3339(when, sizeof(when), it->expires_at);
	buf_printf(&b, "<dt>Expires</dt><dd><time datetime=\"%s\">%s</time></dd></dl>\n", when, when);
	if (it->reads_left < 0)
		buf_printf(&b, "<p><a class=\"button\" href=\"/%s/raw?download=1\">Download</a></p>\n",
			   it->id);
	else
		buf_printf(&b, "<p>This item can be opened %lld more time(s). "
			       "<a class=\"button\" href=\"/%s/raw?download=1\">Download</a></p>\n",
			   (long long)it->reads_left, it->id);
	buf_printf(&b, "<figure><img class=\"qr\" src=\"/%s/qr.svg\" alt=\"QR code of this link\" "
		       "width=\"240\" height=\"240\"><figcaption>Scan to open on another device"
		       "</figcaption></figure>\n</main></body></html>\n", it->id);
	lks_item_free(it);
	return send_page(req, MHD_HTTP_OK, &b);
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
					strstr(name, ".html") ? "no-cache" : "public, max-age=3600");
		lks_add_common_headers(resp);
		ret = MHD_queue_response(req->conn, MHD_HTTP_OK, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	return lks_send_not_found(req);
}
