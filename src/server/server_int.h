/* Internal to linksyncd: the server's state, one request's state, and the
 * helpers the route handlers share. */
#ifndef LKS_SERVER_INT_H
#define LKS_SERVER_INT_H

#include "linksync/error.h"
#include "linksync/id.h"
#include "linksync/item.h"
#include "linksync/server.h"
#include "linksync/store.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Parked long polls (wait.c). */
struct lks_waits {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	struct waiter *head;
	pthread_t thread;
	int initialised, running, stopping;
};

/* The HTTP threads (workers.c). */
struct lks_worker {
	struct lks_workers *ws;
	struct MHD_Daemon *daemon;
	int wake; /* an eventfd: a resumed connection to look at */
	pthread_t thread;
	int running;
};

struct lks_workers {
	struct lks_worker *workers;
	unsigned count;       /* daemons started */
	unsigned allocated;   /* room in workers */
	int listen_fd;        /* the socket every daemon accepts from */
	int stop[2];          /* a pipe: a byte in it stops every thread */
	unsigned per_ip_limit;
	pthread_mutex_t addr_lock;
	struct addr_count *addrs[1024]; /* connections per address */
	int initialised;
};

struct lks_server {
	lks_server_config cfg;
	struct lks_workers workers;
	lks_store *store;
	struct lks_qrcache *qr_cache; /* rendered QR codes (qrcache.h) */
	char *public_url; /* no trailing slash */
	uint16_t port;
	/* The sweeper thread and how to stop it. */
	pthread_t sweeper;
	int sweeper_running;
	pthread_mutex_t sweep_lock;
	pthread_cond_t sweep_cond;
	int stopping;
	uint64_t purged; /* items the sweeper deleted */
	int creates_parked; /* creates waiting for their group commit */
	int answers_due;    /* woken requests not answered yet */
	struct lks_waits waits;
};

/* A request that parks its connection goes NONE → PARKED → RESUMED (woken,
 * not yet answered) → DONE (answered on its second call). */
enum lks_wait_state { LKS_WAIT_NONE, LKS_WAIT_PARKED, LKS_WAIT_RESUMED, LKS_WAIT_DONE };


/* One HTTP request, from its first header to its completion. */
struct request {
	lks_server *srv;
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	int handled;       /* a response was queued early (413) */
	int has_body;      /* the route takes a body */
	int too_big;       /* the body passed max_size: answer 413 at its end */
	uint64_t drained;  /* bytes of an oversized body read so far */
	enum lks_wait_state wait_state; /* a long poll's or a group commit's progress */
	struct lks_pending_create *pending; /* a create waiting for its commit (items.c) */
	char *body;        /* the upload so far */
	size_t len, cap;
};

/* Wakes a parked request's connection (long poll or create), counting it
 * until its answer is queued, so that lks_server_stop lets it answer. From
 * any thread; req may be freed by the time it returns. */
void lks_resume(struct request *req);

/* Sends a response; takes ownership of body (malloc'd, may be NULL with len 0). */
enum MHD_Result lks_send(struct request *req, unsigned status, const char *type, char *body,
			 size_t len);

/* Sends the JSON error for an lks_err code, with message (or the code's
 * standard message when NULL). */
enum MHD_Result lks_send_error(struct request *req, int code, const char *message);

/* Sends 405 with an Allow header. */
enum MHD_Result lks_send_method_not_allowed(struct request *req, const char *allow);

/* The same 404 for missing, expired, used-up, deleted and malformed ids. */
enum MHD_Result lks_send_not_found(struct request *req);

/* Adds the headers every response carries (nosniff, referrer policy, frames). */
void lks_add_common_headers(struct MHD_Response *resp);

/* A request header or query parameter; borrowed, NULL when absent. */
const char *lks_header(struct request *req, const char *name);
const char *lks_query(struct request *req, const char *name);

/* Frees a create's state (items.c); NULL is fine. */
struct lks_pending_create;
void lks_pending_create_free(struct lks_pending_create *pc);

/* Route handlers (items.c, content.c, pages.c). id is canonical. */
enum MHD_Result lks_handle_create(struct request *req, const char *put_name);
enum MHD_Result lks_handle_meta(struct request *req, const char *id);
enum MHD_Result lks_handle_owner_update(struct request *req, const char *id);
enum MHD_Result lks_handle_owner_delete(struct request *req, const char *id);
enum MHD_Result lks_handle_raw(struct request *req, const char *id);
enum MHD_Result lks_handle_qr(struct request *req, const char *id, const char *format);
enum MHD_Result lks_handle_item_page(struct request *req, const char *id);
enum MHD_Result lks_handle_asset(struct request *req, const char *name);

/* The second terminal's page and downloads (pages.c, feeds.c). POST
 * /{id}/open consumes one read and answers the page with the content, or
 * with a download (a file; ?as=ics, ?as=vcf). /{id}.ics is the calendar
 * feed of an unlimited calendar item, /{id}.vcf a contact as vCard 3.0, and
 * /{id}/add-to-calendar redirects (303) to the .ics so that iOS imports it
 * rather than offering a subscription. */
enum MHD_Result lks_handle_open(struct request *req, const char *id);
enum MHD_Result lks_handle_ics(struct request *req, const char *id);
enum MHD_Result lks_handle_vcf(struct request *req, const char *id);
enum MHD_Result lks_handle_add_to_calendar(struct request *req, const char *id);
/* The HTML 404 page browsers get for missing items and unknown paths. */
enum MHD_Result lks_send_not_found_page(struct request *req);
/* 303 See Other to location (a path on this server). */
enum MHD_Result lks_send_see_other(struct request *req, const char *location);
/* Answers a calendar (as its feed: lks_ical_feed) or a contact (as vCard
 * 3.0) as an attachment; takes ownership of content. With validators, ETag
 * (weak: the feed's refresh hint follows the item's remaining life) and
 * Last-Modified are sent; else the answer is no-store. */
enum MHD_Result lks_send_export(struct request *req, const lks_item *it, void *content, size_t len,
				int validators);

/* ETag (weak, W/"...", when the bytes vary with the time of the request, as
 * a feed's refresh hint does), Last-Modified and Cache-Control of an item. */
void lks_add_validators(struct MHD_Response *resp, const lks_item *it, int weak);

/* 304 with the item's validators. */
enum MHD_Result lks_send_not_modified(struct request *req, const lks_item *it, int weak);

/* 1 when the client's copy of it is current: If-None-Match lists its ETag
 * (weak comparison), or, without If-None-Match (which then wins, RFC 9110),
 * If-Modified-Since is no earlier than its version's time. */
int lks_client_is_fresh(struct request *req, const lks_item *it);

/* content.c's Content-Disposition builder (malloc'd). */
char *lks_disposition(const lks_item *it, int attachment);

/* Long polls (wait.c). lks_wait_park suspends req's connection until the
 * item id changes from etag or seconds pass, then libmicrohttpd calls the
 * handler again with req->wait_state == LKS_WAIT_RESUMED. Returns 0 when
 * parked, 1 when the item already changed (answer now), or a negative code. */
int lks_waits_start(lks_server *srv);
void lks_waits_stop(lks_server *srv);
void lks_waits_destroy(lks_server *srv);
int lks_wait_park(struct request *req, const char *id, const char *etag, unsigned seconds);
/* Wakes every long poll on id (after an update or delete on this node). */
void lks_wait_notify(lks_server *srv, const char *id);

/* The public URL of an item, "{public_url}/{id}"; malloc'd. */
char *lks_item_url(lks_server *srv, const char *id, const char *suffix);

/* Derives the public URL from the listening address and the machine's
 * interfaces (sets *warning when other devices may not reach it). */
char *lks_derive_public_url(const char *host, uint16_t port, const char **warning);

#endif
