/* linksyncd's core: the libmicrohttpd daemon (epoll, a thread pool, timeouts
 * and limits against slow clients), the request lifecycle with bounded
 * uploads, the router, the response helpers and the sweeper thread. */
#include "server_int.h"
#include "workers.h"
#include "qrcache.h"

#include "linksync/units.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SWEEP_BATCH 500
/* Compaction rounds (256 pages each) after a sweep that deleted something. */
#define COMPACT_ROUNDS 64
/* The first buffer for a request body; it doubles as data arrives. */
#define INITIAL_BODY ((size_t)256 * 1024)
/* Bytes of an oversized streamed body read (and dropped) so that the client
 * still gets its 413; past this the connection is closed instead. */
#define DRAIN_LIMIT ((uint64_t)64 * 1024 * 1024)

void lks_server_config_init(lks_server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen = "0.0.0.0:8080";
	cfg->store_url = LKS_STORE_DEFAULT_URL;
	cfg->max_size = 25u * 1024 * 1024;
	cfg->default_ttl = 24 * 3600;
	cfg->max_ttl = 30 * 86400;
	cfg->conn_timeout = 30;
	cfg->conn_limit = 10000;
	cfg->sweep_interval = 60;
	cfg->cache_bytes = 32u * 1024 * 1024;
	/* libmicrohttpd keeps this much per connection, idle or not: 4 KiB holds
	 * any request header a browser or the CLI sends (about 1 KiB) and keeps
	 * 10,000 idle connections near 50 MiB (32 KiB made it 330 MiB). */
	cfg->conn_memory = 4096;
	cfg->group_commit = 1;
}

/* ------------------------------------------------------------------------ */
/* Responses */

void lks_add_common_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
}

enum MHD_Result lks_send(struct request *req, unsigned status, const char *type, char *body,
			 size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body ? body : "",
					       body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	if (type != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	lks_add_common_headers(resp);
	ret = MHD_queue_response(req->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static const struct {
	int code;
	unsigned status;
	const char *name;
	const char *message;
} error_table[] = {
	{LKS_EINVAL, 400, "bad_request", "The request is malformed."},
	{LKS_EUNAUTHORIZED, 401, "unauthorized", "Send the owner token as 'Authorization: Bearer TOKEN'."},
	{LKS_EFORBIDDEN, 403, "forbidden", "The owner token does not match this item."},
	{LKS_ENOTFOUND, 404, "not_found",
	 "No item here: the link is wrong, has expired, was used up or was deleted."},
	{LKS_EMETHOD, 405, "method_not_allowed", "This method is not allowed here."},
	{LKS_ETOOBIG, 413, "too_large", "The item is larger than this server accepts."},
	{LKS_EUNSUPPORTED, 415, "unsupported_type", "This content type is not accepted."},
	{LKS_EBADCONTENT, 422, "invalid_content", "The content is not what its type says."},
	{LKS_ERATELIMIT, 429, "rate_limited", "Too many requests: wait a minute and try again."},
	{LKS_ESTORE, 503, "storage_unavailable", "The server cannot reach its storage: try again soon."},
	{LKS_EUNAVAILABLE, 503, "unavailable", "The server is busy: try again soon."},
	{LKS_ENOMEM, 503, "unavailable", "The server is out of memory: try again soon."},
};

enum MHD_Result lks_send_error(struct request *req, int code, const char *message)
{
	unsigned status = 500;
	const char *name = "internal", *std = "Internal error.";
	json_t *obj;
	char *text;

	for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++)
		if (error_table[i].code == code) {
			status = error_table[i].status;
			name = error_table[i].name;
			std = error_table[i].message;
		}
	/* Storage and internal details are for the log, not for clients. */
	if (status >= 500) {
		if (message != NULL && *message != '\0')
			fprintf(stderr, "linksyncd: %s %s: %s\n", req->method, req->url, message);
		message = NULL;
	}
	obj = json_pack("{s:s, s:s}", "error", name, "message",
			message && *message ? message : std);
	text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (text == NULL)
		return MHD_NO;
	{
		size_t n = strlen(text);
		char *body = realloc(text, n + 2);
		if (body == NULL) {
			free(text);
			return MHD_NO;
		}
		body[n] = '\n';
		body[n + 1] = '\0';
		return lks_send(req, status, "application/json", body, n + 1);
	}
}

enum MHD_Result lks_send_method_not_allowed(struct request *req, const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	static const char body[] = "{\"error\":\"method_not_allowed\",\"message\":"
				   "\"This method is not allowed here.\"}\n";

	resp = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body,
					       MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	lks_add_common_headers(resp);
	ret = MHD_queue_response(req->conn, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result lks_send_not_found(struct request *req)
{
	return lks_send_error(req, LKS_ENOTFOUND, NULL);
}

const char *lks_header(struct request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *lks_query(struct request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

char *lks_item_url(lks_server *srv, const char *id, const char *suffix)
{
	size_t n = strlen(srv->public_url) + 1 + strlen(id) + (suffix ? strlen(suffix) : 0) + 1;
	char *url = malloc(n);

	if (url != NULL)
		snprintf(url, n, "%s/%s%s", srv->public_url, id, suffix ? suffix : "");
	return url;
}

/* ------------------------------------------------------------------------ */
/* Routing */

static int is_method(struct request *req, const char *m)
{
	return strcmp(req->method, m) == 0;
}

static int is_get(struct request *req)
{
	return is_method(req, MHD_HTTP_METHOD_GET) || is_method(req, MHD_HTTP_METHOD_HEAD);
}

/* Routes that take a request body. */
static int route_has_body(const char *method, const char *url)
{
	if (strcmp(method, MHD_HTTP_METHOD_POST) == 0)
		return strcmp(url, "/api/v1/items") == 0;
	if (strcmp(method, MHD_HTTP_METHOD_PUT) == 0)
		return 1; /* PUT /, PUT /{name}, PUT /api/v1/items/{id} */
	return 0;
}

/* Splits "/{id}{rest}": parses the id and points *rest after it. */
static int split_id(char id[LKS_ID_LEN + 1], const char **rest, const char *path)
{
	const char *end = path;

	while (*end != '\0' && *end != '/' && *end != '.')
		end++;
	if (lks_id_parse(id, path, (size_t)(end - path)) < 0)
		return -1;
	*rest = end;
	return 0;
}

/* 1 when the client is a browser asking for a page. */
static int wants_html(struct request *req)
{
	const char *accept = lks_header(req, MHD_HTTP_HEADER_ACCEPT);

	return accept != NULL && strstr(accept, "text/html") != NULL;
}

static enum MHD_Result dispatch(struct request *req)
{
	const char *url = req->url, *rest;
	char id[LKS_ID_LEN + 1];

	if (strcmp(url, "/healthz") == 0) {
		if (!is_get(req))
			return lks_send_method_not_allowed(req, "GET, HEAD");
		return lks_send(req, 200, "text/plain; charset=utf-8", strdup("ok\n"), 3);
	}
	if (strcmp(url, "/api/v1/items") == 0) {
		if (!is_method(req, MHD_HTTP_METHOD_POST))
			return lks_send_method_not_allowed(req, "POST");
		return lks_handle_create(req, NULL);
	}
	if (strncmp(url, "/api/v1/items/", 14) == 0) {
		if (split_id(id, &rest, url + 14) < 0 || *rest != '\0')
			return lks_send_not_found(req);
		if (is_get(req))
			return lks_handle_meta(req, id);
		if (is_method(req, MHD_HTTP_METHOD_PUT))
			return lks_handle_owner_update(req, id);
		if (is_method(req, MHD_HTTP_METHOD_DELETE))
			return lks_handle_owner_delete(req, id);
		return lks_send_method_not_allowed(req, "GET, HEAD, PUT, DELETE");
	}
	if (strncmp(url, "/api/", 5) == 0)
		return lks_send_not_found(req);
	if (strncmp(url, "/static/", 8) == 0) {
		if (!is_get(req))
			return lks_send_method_not_allowed(req, "GET, HEAD");
		return lks_handle_asset(req, url + 8);
	}
	if (strcmp(url, "/") == 0) {
		if (is_method(req, MHD_HTTP_METHOD_PUT))
			return lks_handle_create(req, NULL);
		if (!is_get(req))
			return lks_send_method_not_allowed(req, "GET, HEAD, PUT");
		return lks_handle_asset(req, "index.html");
	}
	/* PUT /{name}: curl -T file http://host/ */
	if (is_method(req, MHD_HTTP_METHOD_PUT) && strchr(url + 1, '/') == NULL)
		return lks_handle_create(req, url + 1);
	if (split_id(id, &rest, url + 1) == 0) {
		if (strcmp(rest, "/open") == 0) {
			/* The page's Open button: the one page request that
			 * consumes a read, so never on a GET (link previewers). */
			if (is_method(req, MHD_HTTP_METHOD_POST))
				return lks_handle_open(req, id);
			if (is_get(req)) {
				char page[LKS_ID_LEN + 2];
				snprintf(page, sizeof(page), "/%s", id);
				return lks_send_see_other(req, page);
			}
			return lks_send_method_not_allowed(req, "GET, HEAD, POST");
		}
		if (!is_get(req))
			return lks_send_method_not_allowed(req, "GET, HEAD");
		if (*rest == '\0') {
			if (wants_html(req))
				return lks_handle_item_page(req, id);
			return lks_handle_raw(req, id);
		}
		if (strcmp(rest, ".ics") == 0)
			return lks_handle_ics(req, id);
		if (strcmp(rest, ".vcf") == 0)
			return lks_handle_vcf(req, id);
		if (strcmp(rest, "/raw") == 0)
			return lks_handle_raw(req, id);
		if (strcmp(rest, "/qr.svg") == 0 || strcmp(rest, "/qr.png") == 0 ||
		    strcmp(rest, "/qr.txt") == 0)
			return lks_handle_qr(req, id, rest + 4);
		if (strcmp(rest, "/add-to-calendar") == 0)
			return lks_handle_add_to_calendar(req, id);
		/* /{id}/{name}: the raw bytes under a readable name. */
		if (rest[0] == '/' && rest[1] != '\0' && strchr(rest + 1, '/') == NULL)
			return lks_handle_raw(req, id);
		return wants_html(req) ? lks_send_not_found_page(req) : lks_send_not_found(req);
	}
	if (!is_get(req))
		return lks_send_method_not_allowed(req, "GET, HEAD");
	return wants_html(req) ? lks_send_not_found_page(req) : lks_send_not_found(req);
}

/* ------------------------------------------------------------------------ */
/* The request lifecycle */

void lks_resume(struct request *req)
{
	lks_server *srv = req->srv;

	__atomic_add_fetch(&srv->answers_due, 1, __ATOMIC_SEQ_CST);
	req->wait_state = LKS_WAIT_RESUMED;
	/* The last use of req: once resumed, its thread may answer and free it. */
	lks_workers_resume(srv, req->conn);
}

static enum MHD_Result send_too_big(struct request *req)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "This server accepts items of up to %llu bytes (%.1f MiB).",
		 (unsigned long long)req->srv->cfg.max_size,
		 (double)req->srv->cfg.max_size / (1024 * 1024));
	return lks_send_error(req, LKS_ETOOBIG, msg);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	lks_server *srv = cls;
	struct request *req = *con_cls;

	if (req == NULL) {
		req = calloc(1, sizeof(*req));
		if (req == NULL)
			return MHD_NO;
		req->srv = srv;
		req->conn = conn;
		req->method = method;
		req->url = url;
		req->has_body = route_has_body(method, url);
		*con_cls = req;
		if (req->has_body) {
			const char *cl = lks_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
			uint64_t declared = 0;

			if (cl != NULL && lks_size_parse(&declared, cl) == 0 &&
			    declared > srv->cfg.max_size) {
				const char *expect = lks_header(req, MHD_HTTP_HEADER_EXPECT);

				/* A client that waits for 100 Continue is refused before it
				 * sends a byte. One that sends at once would be reset by
				 * the close before reading the answer (no lingering close
				 * here), so drain its body, bounded, and answer at the end. */
				if ((expect != NULL && strcasecmp(expect, "100-continue") == 0) ||
				    declared > DRAIN_LIMIT) {
					req->handled = 1;
					return send_too_big(req);
				}
				req->too_big = 1;
				return MHD_YES;
			}
			if (declared > 0 && declared <= srv->cfg.max_size) {
				/* Room for what is declared, up to what a client must
				 * actually send before it gets more: a declared length
				 * alone reserves no large buffer. */
				size_t first = declared < INITIAL_BODY ? (size_t)declared : INITIAL_BODY;

				req->body = malloc(first);
				if (req->body == NULL)
					return MHD_NO;
				req->cap = first;
			}
		}
		/* Answering on the first call would make libmicrohttpd close the
		 * connection: wait for the next one. */
		return MHD_YES;
	}
	if (req->wait_state == LKS_WAIT_RESUMED) {
		/* A parked request woke up: answer it now. */
		enum MHD_Result ret = dispatch(req);

		req->wait_state = LKS_WAIT_DONE;
		__atomic_sub_fetch(&srv->answers_due, 1, __ATOMIC_SEQ_CST);
		return ret;
	}
	if (req->handled)
		return MHD_YES;
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (!req->has_body)
			return MHD_YES;
		if (req->too_big) {
			/* libmicrohttpd 0.9.75 cannot answer before the body ends: drain
			 * it (holding nothing) up to a bound, then drop the connection. */
			req->drained += n;
			return req->drained > DRAIN_LIMIT ? MHD_NO : MHD_YES;
		}
		if (n > srv->cfg.max_size - req->len) {
			req->too_big = 1;
			req->drained = req->len + n;
			free(req->body);
			req->body = NULL;
			req->len = req->cap = 0;
			return MHD_YES;
		}
		if (req->len + n > req->cap) {
			size_t cap = req->cap ? req->cap : 4096;
			char *p;

			while (cap < req->len + n)
				cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
			if (cap > srv->cfg.max_size)
				cap = (size_t)srv->cfg.max_size;
			p = realloc(req->body, cap);
			if (p == NULL)
				return MHD_NO;
			req->body = p;
			req->cap = cap;
		}
		memcpy(req->body + req->len, upload_data, n);
		req->len += n;
		return MHD_YES;
	}
	if (req->too_big)
		return send_too_big(req);
	req->handled = 1;
	return dispatch(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *req = *con_cls;

	if (req == NULL)
		return;
	if (req->wait_state == LKS_WAIT_RESUMED) /* woken, but the client left */
		__atomic_sub_fetch(&req->srv->answers_due, 1, __ATOMIC_SEQ_CST);
	lks_pending_create_free(req->pending);
	free(req->body);
	free(req);
	*con_cls = NULL;
}

/* ------------------------------------------------------------------------ */
/* The sweeper: deletes expired items in small batches on a timer. */

static void *sweeper_main(void *arg)
{
	lks_server *srv = arg;

	int more_to_compact = 0;

	pthread_mutex_lock(&srv->sweep_lock);
	while (!srv->stopping) {
		struct timespec until;
		unsigned purged = 0, total = 0;

		pthread_mutex_unlock(&srv->sweep_lock);
		do {
			if (lks_store_sweep(srv->store, &purged, lks_now(), SWEEP_BATCH) < 0) {
				fprintf(stderr, "linksyncd: sweep: %s\n", lks_error_message());
				break;
			}
			total += purged;
		} while (purged == SWEEP_BATCH && !__atomic_load_n(&srv->stopping, __ATOMIC_RELAXED));
		if (total > 0 || more_to_compact) {
			/* A bounded share per tick (SQLite frees pages more slowly
			 * the longer its free list is): what is left is reused by
			 * new items, or given back at the next ticks. */
			int round = 0;

			do
				more_to_compact = lks_store_compact(srv->store) == 1;
			while (more_to_compact && ++round < COMPACT_ROUNDS &&
			       !__atomic_load_n(&srv->stopping, __ATOMIC_RELAXED));
			__atomic_add_fetch(&srv->purged, total, __ATOMIC_RELAXED);
		}
		pthread_mutex_lock(&srv->sweep_lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += srv->cfg.sweep_interval ? srv->cfg.sweep_interval : 60;
		while (!srv->stopping &&
		       pthread_cond_timedwait(&srv->sweep_cond, &srv->sweep_lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&srv->sweep_lock);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Start and stop */

/* Parses "ADDR:PORT", "[V6]:PORT", ":PORT" or "PORT" into a socket address. */
static int parse_listen(struct sockaddr_storage *ss, socklen_t *sslen, char *host, size_t hostsz,
			const char *listen)
{
	const char *colon, *port_s;
	char addr[INET6_ADDRSTRLEN + 1] = "0.0.0.0";
	char *end;
	long port;

	memset(ss, 0, sizeof(*ss));
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (close == NULL || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof(addr))
			goto bad;
		memcpy(addr, listen + 1, (size_t)(close - listen - 1));
		addr[close - listen - 1] = '\0';
		port_s = close + 2;
	} else {
		colon = strrchr(listen, ':');
		if (colon != NULL) {
			if ((size_t)(colon - listen) >= sizeof(addr))
				goto bad;
			if (colon != listen) {
				memcpy(addr, listen, (size_t)(colon - listen));
				addr[colon - listen] = '\0';
			}
			port_s = colon + 1;
		} else {
			port_s = listen;
		}
	}
	errno = 0;
	port = strtol(port_s, &end, 10);
	if (*port_s == '\0' || *end != '\0' || errno != 0 || port < 0 || port > 65535)
		goto bad;
	if (strcmp(addr, "localhost") == 0)
		snprintf(addr, sizeof(addr), "127.0.0.1");
	snprintf(host, hostsz, "%s", addr);
	{
		struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
			in4->sin_family = AF_INET;
			in4->sin_port = htons((uint16_t)port);
			*sslen = sizeof(*in4);
			return 0;
		}
		if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons((uint16_t)port);
			*sslen = sizeof(*in6);
			return 0;
		}
	}
bad:
	return lks_error_set(LKS_EINVAL, "bad listen address '%s': use ADDR:PORT, e.g. 0.0.0.0:8080",
			     listen);
}

/* Room for the connection limit: raise the soft file limit to the hard one. */
static void raise_fd_limit(unsigned want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max &&
	    rl.rlim_cur < (rlim_t)want + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int check_public_url(const char *url)
{
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return lks_error_set(LKS_EINVAL, "public URL '%s' must start with http:// or https://",
				     url);
	if (strchr(url, '?') != NULL || strchr(url, '#') != NULL)
		return lks_error_set(LKS_EINVAL, "public URL '%s' cannot have a query or fragment", url);
	return 0;
}

int lks_server_start(lks_server **out, const lks_server_config *cfg)
{
	lks_server *srv = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	char host[INET6_ADDRSTRLEN + 1];
	lks_store_options sopts = {0};
	unsigned threads = cfg->threads;
	int rc;

	*out = NULL;
	rc = parse_listen(&ss, &sslen, host, sizeof(host), cfg->listen);
	if (rc < 0)
		return rc;
	if (cfg->public_url != NULL && *cfg->public_url != '\0') {
		rc = check_public_url(cfg->public_url);
		if (rc < 0)
			return rc;
	}
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	srv->cfg = *cfg;
	pthread_mutex_init(&srv->sweep_lock, NULL);
	pthread_cond_init(&srv->sweep_cond, NULL);
	sopts.sync_full = cfg->sync_full;
	sopts.cache_bytes = (size_t)cfg->cache_bytes;
	rc = lks_store_open(&srv->store, cfg->store_url, &sopts);
	if (rc < 0)
		goto fail;
	rc = lks_qrcache_new(&srv->qr_cache, LKS_QRCACHE_DEFAULT_BYTES);
	if (rc < 0)
		goto fail;
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (unsigned)n : 1;
	}
	raise_fd_limit(cfg->conn_limit);
	rc = lks_workers_start(srv, (struct sockaddr *)&ss, sslen, threads, on_request,
			       on_completed);
	if (rc < 0)
		goto fail;
	if (cfg->public_url != NULL && *cfg->public_url != '\0') {
		size_t n = strlen(cfg->public_url);
		srv->public_url = strdup(cfg->public_url);
		if (srv->public_url != NULL)
			while (n > 0 && srv->public_url[n - 1] == '/')
				srv->public_url[--n] = '\0';
	} else {
		const char *warning = NULL;
		srv->public_url = lks_derive_public_url(host, srv->port, &warning);
		if (warning != NULL && !cfg->quiet)
			fprintf(stderr, "linksyncd: warning: %s\n", warning);
	}
	if (srv->public_url == NULL) {
		rc = lks_error_set(LKS_ENOMEM, "out of memory");
		goto fail;
	}
	rc = lks_waits_start(srv);
	if (rc < 0)
		goto fail;
	if (pthread_create(&srv->sweeper, NULL, sweeper_main, srv) != 0) {
		rc = lks_error_set(LKS_ENOMEM, "cannot start the sweeper thread");
		goto fail;
	}
	srv->sweeper_running = 1;
	*out = srv;
	return 0;
fail:
	lks_server_stop(srv);
	return rc;
}

const char *lks_server_public_url(const lks_server *srv)
{
	return srv->public_url;
}

uint16_t lks_server_port(const lks_server *srv)
{
	return srv->port;
}

void lks_server_stop(lks_server *srv)
{
	if (srv == NULL)
		return;
	if (srv->sweeper_running) {
		pthread_mutex_lock(&srv->sweep_lock);
		__atomic_store_n(&srv->stopping, 1, __ATOMIC_RELAXED);
		pthread_cond_signal(&srv->sweep_cond);
		pthread_mutex_unlock(&srv->sweep_lock);
		pthread_join(srv->sweeper, NULL);
	}
	/* New creates are refused from here on (stopping is set above, or
	 * below when the sweeper never ran); the parked ones are committed and
	 * woken before libmicrohttpd goes away under them. */
	__atomic_store_n(&srv->stopping, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&srv->creates_parked, __ATOMIC_SEQ_CST) > 0) {
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
	lks_waits_stop(srv);
	/* Let the woken requests queue their answers (a bounded wait: a client
	 * may be gone). */
	for (int i = 0; i < 2000 && __atomic_load_n(&srv->answers_due, __ATOMIC_SEQ_CST) > 0; i++) {
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
	lks_workers_stop(srv);
	lks_waits_destroy(srv);
	lks_store_free(srv->store);
	lks_qrcache_free(srv->qr_cache);
	pthread_cond_destroy(&srv->sweep_cond);
	pthread_mutex_destroy(&srv->sweep_lock);
	free(srv->public_url);
	free(srv);
}
