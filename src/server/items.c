/* The item API: create (POST /api/v1/items, PUT /, PUT /{name}), metadata
 * (GET /api/v1/items/{id}) and the owner's update and delete. */
#include "server_int.h"
#include "workers.h"
#include "zk.h"

#include "linksync/check.h"
#include "linksync/units.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A query parameter, else the X-Linksync-* header of the same meaning. */
static const char *option(struct request *req, const char *query, const char *header)
{
	const char *v = lks_query(req, query);

	return v != NULL ? v : lks_header(req, header);
}

/* An end-to-end encrypted envelope: the server knows neither its type nor
 * its name, keeps its public header and the hash of its read proof, and
 * checks nothing else of it (docs/e2e.md §6). */
static int describe_envelope(struct request *req, lks_item *it, int named)
{
	const char *body = req->body ? req->body : "";

	if (named)
		return lks_error_set(LKS_EINVAL, "An encrypted item carries its name inside the "
						 "envelope: send no name with it.");
	it->kind = LKS_KIND_FILE;
	it->type = strdup(LKS_ENVELOPE_MEDIA_TYPE);
	if (it->type == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	it->name = NULL;
	it->summary = NULL;
	it->size = (int64_t)req->len;
	lks_sha256(it->content_hash, body, req->len);
	return lks_zk_describe(it, body, req->len, lks_header(req, LKS_ENVELOPE_READ_HEADER));
}

/* The content's type, name and summary from the request, checked; put_name
 * is the name when the request gives none (the PUT path, or the name an
 * update keeps; put_name_given: it came with this request). On failure the
 * error is already set (code returned). */
static int describe_content(struct request *req, lks_item *it, const char *put_name,
			    int put_name_given)
{
	const char *ct = lks_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *name = lks_query(req, "name");
	char *decoded = NULL;
	int rc;

	if (ct != NULL && strncasecmp(ct, LKS_ENVELOPE_MEDIA_TYPE,
				      strlen(LKS_ENVELOPE_MEDIA_TYPE)) == 0) {
		char *type = NULL;

		rc = lks_type_normalize(&type, ct);
		if (rc == 0 && lks_type_is_envelope(type)) {
			free(type);
			return describe_envelope(req, it,
						 name != NULL ||
						     lks_header(req, "X-Linksync-Name") != NULL ||
						     (put_name_given && put_name != NULL));
		}
		free(type);
	}
	/* A proof without an envelope is a client's mistake worth saying. */
	if (lks_header(req, LKS_ENVELOPE_READ_HEADER) != NULL)
		return lks_error_set(LKS_EINVAL, "X-Linksync-Read goes with Content-Type: %s.",
				     LKS_ENVELOPE_MEDIA_TYPE);
	if (name == NULL) {
		name = lks_header(req, "X-Linksync-Name");
		if (name != NULL) {
			/* Headers are ASCII: non-ASCII names come percent-encoded. */
			decoded = strdup(name);
			if (decoded == NULL)
				return lks_error_set(LKS_ENOMEM, "out of memory");
			decoded[MHD_http_unescape(decoded)] = '\0';
			name = decoded;
		}
	}
	if (name == NULL)
		name = put_name;
	rc = lks_name_sanitize(&it->name, name, name ? strlen(name) : 0);
	free(decoded);
	if (rc < 0)
		return rc;
	/* curl -T sends no type, curl --data-binary a form type: take it from
	 * the name. An explicit application/octet-stream is respected. */
	if ((ct == NULL || *ct == '\0' ||
	     strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0) &&
	    it->name != NULL)
		ct = lks_type_from_name(it->name);
	rc = lks_type_normalize(&it->type, ct);
	if (rc < 0)
		return rc;
	it->kind = lks_kind_from_type(it->type);
	rc = lks_content_check(&it->summary, it->kind, req->body ? req->body : "", req->len);
	if (rc < 0)
		return rc;
	it->size = (int64_t)req->len;
	lks_sha256(it->content_hash, req->body ? req->body : "", req->len);
	return 0;
}

static int parse_lifetime(struct request *req, lks_item *it, int64_t now)
{
	lks_server_config *cfg = &req->srv->cfg;
	const char *ttl_s = option(req, "ttl", "X-Linksync-Ttl");
	const char *reads_s = option(req, "reads", "X-Linksync-Reads");
	int64_t ttl = cfg->default_ttl;
	int rc;

	if (ttl_s != NULL) {
		rc = lks_duration_parse(&ttl, ttl_s);
		if (rc < 0)
			return rc;
	}
	if (ttl > cfg->max_ttl) {
		char max[32];
		lks_duration_format(max, sizeof(max), cfg->max_ttl);
		return lks_error_set(LKS_EINVAL, "ttl %s is longer than this server allows (%s)",
				     ttl_s, max);
	}
	it->expires_at = now + ttl;
	it->reads_left = LKS_READS_UNLIMITED;
	if (reads_s != NULL) {
		char *end;
		long long n = strtoll(reads_s, &end, 10);

		if (*reads_s == '\0' || *end != '\0' || n < 0 || n > 1000000)
			return lks_error_set(LKS_EINVAL,
					     "reads must be a number from 0 (unlimited) to 1000000");
		if (n > 0)
			it->reads_left = n;
	}
	return 0;
}

/* The item's public description; never its content or token. */
static json_t *item_json(lks_server *srv, const lks_item *it)
{
	json_t *o = json_object();
	char when[40], etag[48];
	char *url = lks_item_url(srv, it->id, NULL);
	char *raw = lks_item_url(srv, it->id, "/raw");
	char *svg = lks_item_url(srv, it->id, "/qr.svg");
	char *png = lks_item_url(srv, it->id, "/qr.png");
	char *txt = lks_item_url(srv, it->id, "/qr.txt");

	if (o == NULL || !url || !raw || !svg || !png || !txt) {
		json_decref(o);
		o = NULL;
		goto out;
	}
	json_object_set_new(o, "id", json_string(it->id));
	json_object_set_new(o, "url", json_string(url));
	json_object_set_new(o, "raw_url", json_string(raw));
	/* The QR code of an encrypted item must hold the key, which the server
	 * never has: the client draws it. */
	if (!it->encrypted) {
		json_object_set_new(o, "qr_svg_url", json_string(svg));
		json_object_set_new(o, "qr_png_url", json_string(png));
		json_object_set_new(o, "qr_txt_url", json_string(txt));
	}
	if (it->kind == LKS_KIND_CALENDAR && it->reads_left < 0) {
		/* webcal:// is the calendar's own URL with the scheme calendar
		 * apps take as "subscribe". */
		const char *rest = strstr(url, "://");
		size_t n = strlen("webcal") + strlen(rest) + strlen(".ics") + 1;
		char *webcal = malloc(n);

		if (webcal != NULL) {
			snprintf(webcal, n, "webcal%s.ics", rest);
			json_object_set_new(o, "webcal_url", json_string(webcal));
			free(webcal);
		}
	}
	json_object_set_new(o, "kind",
			    json_string(it->encrypted ? "encrypted" : lks_kind_name(it->kind)));
	json_object_set_new(o, "encrypted", json_boolean(it->encrypted));
	if (it->encrypted) {
		lks_envelope_header h;
		char text[LKS_ENVELOPE_HEADER_LEN + 1];

		/* Stored headers were checked on the way in. */
		if (lks_envelope_header_parse(&h, it->envelope_header,
					      LKS_ENVELOPE_HEADER_BYTES) == 0) {
			lks_envelope_header_format(text, &h);
			json_object_set_new(o, "envelope_header", json_string(text));
			json_object_set_new(o, "password", json_boolean(h.flags &
									LKS_ENVELOPE_FLAG_PASSWORD));
		}
	}
	json_object_set_new(o, "type", json_string(it->type));
	json_object_set_new(o, "name", it->name ? json_string(it->name) : json_null());
	json_object_set_new(o, "summary", it->summary ? json_string(it->summary) : json_null());
	json_object_set_new(o, "size", json_integer(it->size));
	lks_time_rfc3339(when, sizeof(when), it->created_at);
	json_object_set_new(o, "created_at", json_string(when));
	lks_time_rfc3339(when, sizeof(when), it->updated_at);
	json_object_set_new(o, "updated_at", json_string(when));
	lks_time_rfc3339(when, sizeof(when), it->expires_at);
	json_object_set_new(o, "expires_at", json_string(when));
	json_object_set_new(o, "version", json_integer(it->version));
	json_object_set_new(o, "reads_left",
			    it->reads_left < 0 ? json_null() : json_integer(it->reads_left));
	lks_item_etag(it, etag, sizeof(etag));
	json_object_set_new(o, "etag", json_string(etag));
out:
	free(url);
	free(raw);
	free(svg);
	free(png);
	free(txt);
	return o;
}

/* Sends a JSON object (consumed) with a status and, when given, a Location. */
static enum MHD_Result send_json(struct request *req, unsigned status, json_t *o,
				 const char *location)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
	size_t n;

	json_decref(o);
	if (text == NULL)
		return lks_send_error(req, LKS_ENOMEM, "out of memory");
	n = strlen(text);
	{
		char *p = realloc(text, n + 2);
		if (p == NULL) {
			free(text);
			return MHD_NO;
		}
		text = p;
		text[n++] = '\n';
		text[n] = '\0';
	}
	resp = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (location != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
	lks_add_common_headers(resp);
	ret = MHD_queue_response(req->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* 1 when the client asked for the bare URL rather than JSON. */
static int wants_text(struct request *req, const char *put_name)
{
	const char *accept = lks_header(req, MHD_HTTP_HEADER_ACCEPT);

	if (strcmp(req->method, MHD_HTTP_METHOD_PUT) == 0)
		return accept == NULL || strstr(accept, "application/json") == NULL;
	(void)put_name;
	return accept != NULL && strncmp(accept, "text/plain", 10) == 0;
}

/* A create between its two calls of the handler: queued for group commit
 * while the connection is suspended, then answered when it wakes. */
struct lks_pending_create {
	lks_item it;
	char token[LKS_TOKEN_LEN + 1];
	lks_store_put_job job;
};

void lks_pending_create_free(struct lks_pending_create *pc)
{
	if (pc == NULL)
		return;
	free(pc->it.type);
	free(pc->it.name);
	free(pc->it.summary);
	free(pc);
}

/* On the store's committer thread: the item is durable (or refused); wake
 * the connection, whose handler then answers. */
static void create_committed(lks_store_put_job *job)
{
	struct request *req = job->ctx;
	lks_server *srv = req->srv;

	lks_resume(req);
	/* The last thing touched: lks_server_stop waits for this count. */
	__atomic_sub_fetch(&srv->creates_parked, 1, __ATOMIC_RELEASE);
}

/* The 201: the URL alone for curl -T and Accept: text/plain, else JSON. */
static enum MHD_Result send_created(struct request *req, const lks_item *it, const char *token,
				    const char *put_name)
{
	char *url = lks_item_url(req->srv, it->id, NULL);
	struct MHD_Response *resp;
	enum MHD_Result ret;
	json_t *o;

	if (url == NULL)
		return lks_send_error(req, LKS_ENOMEM, NULL);
	if (!wants_text(req, put_name)) {
		o = item_json(req->srv, it);
		if (o != NULL)
			json_object_set_new(o, "owner_token", json_string(token));
		ret = send_json(req, MHD_HTTP_CREATED, o, url);
		free(url);
		return ret;
	}
	{
		size_t n = strlen(url);
		char *body = malloc(n + 2);

		if (body == NULL) {
			free(url);
			return lks_send_error(req, LKS_ENOMEM, NULL);
		}
		memcpy(body, url, n);
		body[n] = '\n';
		body[n + 1] = '\0';
		resp = MHD_create_response_from_buffer(n + 1, body, MHD_RESPMEM_MUST_FREE);
		if (resp == NULL) {
			free(body);
			free(url);
			return MHD_NO;
		}
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, url);
	MHD_add_response_header(resp, "X-Linksync-Owner-Token", token);
	lks_add_common_headers(resp);
	ret = MHD_queue_response(req->conn, MHD_HTTP_CREATED, resp);
	MHD_destroy_response(resp);
	free(url);
	return ret;
}

enum MHD_Result lks_handle_create(struct request *req, const char *put_name)
{
	struct lks_pending_create *pc = req->pending;
	int64_t now = lks_now();
	int rc;

	if (pc != NULL) {
		/* Second call: the committer has woken us. */
		if (pc->job.rc < 0)
			return lks_send_error(req, pc->job.rc, pc->job.message);
		return send_created(req, &pc->it, pc->token, put_name);
	}
	pc = calloc(1, sizeof(*pc));
	if (pc == NULL)
		return lks_send_error(req, LKS_ENOMEM, NULL);
	req->pending = pc;
	lks_error_clear();
	rc = describe_content(req, &pc->it, put_name, 1);
	if (rc == 0)
		rc = parse_lifetime(req, &pc->it, now);
	if (rc == 0)
		rc = lks_id_new(pc->it.id);
	if (rc == 0)
		rc = lks_token_new(pc->token);
	if (rc < 0)
		return lks_send_error(req, rc, lks_error_message());
	lks_token_hash(pc->it.token_hash, pc->token, LKS_TOKEN_LEN);
	pc->it.created_at = pc->it.updated_at = now;
	pc->it.version = 1;
	if (req->srv->cfg.group_commit) {
		/* Park the connection (suspend first: the committer may finish
		 * before lks_store_put_async returns) and let the committer
		 * write this item with the others waiting. */
		lks_server *srv = req->srv;

		pc->job = (lks_store_put_job){.item = &pc->it, .content = req->body ? req->body : "",
					      .len = req->len, .done = create_committed, .ctx = req};
		/* Counted before the stopping test, so that lks_server_stop, which
		 * sets stopping and then waits for the count, never misses one. */
		/* Sequentially consistent, as in lks_server_stop: each side stores
		 * one flag and loads the other's, which weaker orders allow to
		 * miss each other. */
		__atomic_add_fetch(&srv->creates_parked, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&srv->stopping, __ATOMIC_SEQ_CST)) {
			__atomic_sub_fetch(&srv->creates_parked, 1, __ATOMIC_RELEASE);
			return lks_send_error(req, LKS_EUNAVAILABLE, "The server is stopping.");
		}
		MHD_suspend_connection(req->conn);
		req->wait_state = LKS_WAIT_PARKED;
		rc = lks_store_put_async(srv->store, &pc->job);
		if (rc == 0)
			return MHD_YES;
		req->wait_state = LKS_WAIT_NONE;
		lks_workers_resume(srv, req->conn);
		__atomic_sub_fetch(&srv->creates_parked, 1, __ATOMIC_RELEASE);
		return lks_send_error(req, rc, lks_error_message());
	}
	rc = lks_store_put(req->srv->store, &pc->it, req->body, req->len);
	if (rc < 0)
		return lks_send_error(req, rc, lks_error_message());
	return send_created(req, &pc->it, pc->token, put_name);
}

enum MHD_Result lks_handle_meta(struct request *req, const char *id)
{
	lks_item *it = NULL;
	int rc = lks_store_get(req->srv->store, &it, id, lks_now());
	json_t *o;

	if (rc == LKS_ENOTFOUND)
		return lks_send_not_found(req);
	if (rc < 0)
		return lks_send_error(req, rc, lks_error_message());
	o = item_json(req->srv, it);
	lks_item_free(it);
	return send_json(req, MHD_HTTP_OK, o, NULL);
}

/* Checks the bearer token against the item; on success *out is the item. */
static int authorize(struct request *req, lks_item **out, const char *id)
{
	const char *auth = lks_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
	uint8_t hash[LKS_HASH_BYTES];
	lks_item *it = NULL;
	int rc;

	*out = NULL;
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0 || auth[7] == '\0')
		return lks_error_set(LKS_EUNAUTHORIZED,
				     "Send the owner token as 'Authorization: Bearer TOKEN'.");
	rc = lks_store_get(req->srv->store, &it, id, lks_now());
	if (rc < 0)
		return rc;
	auth += 7;
	while (*auth == ' ')
		auth++;
	lks_token_hash(hash, auth, strlen(auth));
	if (!lks_hash_equal(hash, it->token_hash)) {
		lks_item_free(it);
		return lks_error_set(LKS_EFORBIDDEN, "The owner token does not match this item.");
	}
	*out = it;
	return 0;
}

enum MHD_Result lks_handle_owner_update(struct request *req, const char *id)
{
	lks_item *old = NULL, *updated = NULL, changes;
	int rc;

	memset(&changes, 0, sizeof(changes));
	rc = authorize(req, &old, id);
	if (rc < 0)
		goto out;
	/* An update keeps the name unless it gives one. */
	rc = describe_content(req, &changes, old->name, 0);
	if (rc < 0)
		goto out;
	/* Readers hold a link with a key, or one without: an update cannot
	 * change which, and plain content never replaces an envelope by
	 * mistake (an old client, curl -T). */
	if (changes.encrypted != old->encrypted) {
		rc = lks_error_set(LKS_EINVAL,
				   old->encrypted
				       ? "This item is end-to-end encrypted: update it with an envelope "
					 "sealed with the key of its link (linksync update LINK#KEY FILE)."
				       : "This item is not end-to-end encrypted, and its link has no key: "
					 "push an encrypted item anew instead.");
		goto out;
	}
	rc = lks_store_update(req->srv->store, &updated, id, &changes, req->body, req->len,
			      lks_now());
	if (rc == 0)
		lks_wait_notify(req->srv, id);
out:
	lks_item_free(old);
	free(changes.type);
	free(changes.name);
	free(changes.summary);
	if (rc == LKS_ENOTFOUND)
		return lks_send_not_found(req);
	if (rc < 0)
		return lks_send_error(req, rc, lks_error_message());
	{
		json_t *o = item_json(req->srv, updated);
		lks_item_free(updated);
		return send_json(req, MHD_HTTP_OK, o, NULL);
	}
}

enum MHD_Result lks_handle_owner_delete(struct request *req, const char *id)
{
	lks_item *it = NULL;
	int rc = authorize(req, &it, id);

	lks_item_free(it);
	if (rc == 0)
		rc = lks_store_delete(req->srv->store, id);
	if (rc == 0)
		lks_wait_notify(req->srv, id);
	if (rc == LKS_ENOTFOUND)
		return lks_send_not_found(req);
	if (rc < 0)
		return lks_send_error(req, rc, lks_error_message());
	return lks_send(req, MHD_HTTP_NO_CONTENT, NULL, NULL, 0);
}
