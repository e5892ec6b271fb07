/* Long polls: a GET that waits for the next version of an item parks its
 * connection (libmicrohttpd suspend, so a waiting client costs no thread)
 * until the item changes or its deadline passes. One thread keeps the
 * deadlines. Changes made on this node wake waiters directly; on a store
 * shared by several nodes (PostgreSQL) the store's watch reports changes
 * made through any node, so a waiter here wakes when another node updates
 * its item. */
#include "server_int.h"

#include "linksync/units.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct waiter {
	struct request *req;
	char id[LKS_ID_LEN + 1];
	int64_t version; /* the version the client has */
	struct timespec deadline;
	struct waiter *next;
};

static int before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Resumes w's connection; the caller holds the lock and has unlinked w. */
static void fire(struct waiter *w)
{
	lks_resume(w->req);
	free(w);
}

static void *deadline_main(void *arg)
{
	lks_server *srv = arg;
	struct lks_waits *ws = &srv->waits;

	pthread_mutex_lock(&ws->lock);
	while (!ws->stopping) {
		struct timespec now, next = {0, 0};
		struct waiter **pp = &ws->head;
		int have_next = 0;

		clock_gettime(CLOCK_MONOTONIC, &now);
		while (*pp != NULL) {
			struct waiter *w = *pp;
			if (!before(&now, &w->deadline)) {
				*pp = w->next;
				fire(w);
				continue;
			}
			if (!have_next || before(&w->deadline, &next)) {
				next = w->deadline;
				have_next = 1;
			}
			pp = &w->next;
		}
		if (have_next)
			pthread_cond_timedwait(&ws->cond, &ws->lock, &next);
		else
			pthread_cond_wait(&ws->cond, &ws->lock);
	}
	pthread_mutex_unlock(&ws->lock);
	return NULL;
}

/* Wakes the waiters on id that have a version older than version, or all of
 * them when version is 0 (the item is gone, or any change on this node). A
 * notification of a version the waiter has already seen (a client that
 * asked again at once) leaves it parked. */
static void wake(lks_server *srv, const char *id, int64_t version)
{
	struct lks_waits *ws = &srv->waits;
	struct waiter **pp;

	pthread_mutex_lock(&ws->lock);
	pp = &ws->head;
	while (*pp != NULL) {
		struct waiter *w = *pp;
		if (strcmp(w->id, id) == 0 && (version == 0 || w->version < version)) {
			*pp = w->next;
			fire(w);
		} else {
			pp = &w->next;
		}
	}
	pthread_mutex_unlock(&ws->lock);
}

/* After the store's watch was cut off: asks the store about every item
 * someone waits on and wakes the waiters whose item changed meanwhile. */
static void recheck(lks_server *srv)
{
	struct lks_waits *ws = &srv->waits;
	char (*ids)[LKS_ID_LEN + 1] = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&ws->lock);
	for (struct waiter *w = ws->head; w != NULL; w = w->next)
		cap++;
	if (cap > 0)
		ids = calloc(cap, sizeof(*ids));
	for (struct waiter *w = ws->head; ids != NULL && w != NULL; w = w->next)
		memcpy(ids[n++], w->id, sizeof(ids[0]));
	if (cap > 0 && ids == NULL) {
		/* Out of memory: wake everyone; each asks the store itself. */
		while (ws->head != NULL) {
			struct waiter *w = ws->head;
			ws->head = w->next;
			fire(w);
		}
	}
	pthread_mutex_unlock(&ws->lock);
	if (!srv->cfg.quiet)
		fprintf(stderr,
			"linksyncd: store notifications resumed after a lost connection; "
			"checking %zu long polls\n",
			n);
	for (size_t i = 0; i < n; i++) {
		lks_item *it = NULL;
		int rc = lks_store_get(srv->store, &it, ids[i], lks_now());

		if (rc == 0)
			wake(srv, ids[i], it->version);
		else if (rc == LKS_ENOTFOUND)
			wake(srv, ids[i], 0);
		/* else the store is unreachable: the waiter's deadline still holds */
		lks_item_free(it);
	}
	free(ids);
}

/* The store's watch: a change through any node. */
static void on_store_change(void *ctx, const char *id, int64_t version)
{
	lks_server *srv = ctx;

	if (id == NULL && version < 0) {
		/* Cut off: long polls still end at their deadline, and are all
		 * checked again once the watch is back. */
		if (!srv->cfg.quiet)
			fprintf(stderr, "linksyncd: store notifications lost; reconnecting\n");
	} else if (id == NULL) {
		recheck(srv);
	} else {
		wake(srv, id, version);
	}
}

int lks_waits_start(lks_server *srv)
{
	struct lks_waits *ws = &srv->waits;
	pthread_condattr_t attr;
	int rc;

	pthread_mutex_init(&ws->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&ws->cond, &attr);
	pthread_condattr_destroy(&attr);
	ws->initialised = 1;
	if (pthread_create(&ws->thread, NULL, deadline_main, srv) != 0)
		return lks_error_set(LKS_ENOMEM, "cannot start the long-poll thread");
	ws->running = 1;
	/* Changes through other nodes (a no-op on a single-node store). */
	rc = lks_store_watch(srv->store, on_store_change, srv);
	if (rc < 0)
		return rc;
	return 0;
}

void lks_waits_stop(lks_server *srv)
{
	struct lks_waits *ws = &srv->waits;

	if (!ws->initialised)
		return;
	/* First, so that no notification arrives while the rest goes away. */
	lks_store_unwatch(srv->store);
	pthread_mutex_lock(&ws->lock);
	ws->stopping = 1;
	/* libmicrohttpd must not stop with parked connections: release them. */
	while (ws->head != NULL) {
		struct waiter *w = ws->head;
		ws->head = w->next;
		fire(w);
	}
	pthread_cond_signal(&ws->cond);
	pthread_mutex_unlock(&ws->lock);
	if (ws->running)
		pthread_join(ws->thread, NULL);
	ws->running = 0;
}

void lks_waits_destroy(lks_server *srv)
{
	struct lks_waits *ws = &srv->waits;

	if (!ws->initialised)
		return;
	pthread_cond_destroy(&ws->cond);
	pthread_mutex_destroy(&ws->lock);
	ws->initialised = 0;
}

int lks_wait_park(struct request *req, const char *id, const char *etag, unsigned seconds)
{
	lks_server *srv = req->srv;
	struct lks_waits *ws = &srv->waits;
	struct waiter *w = calloc(1, sizeof(*w));
	lks_item *it = NULL;
	char now_etag[48];
	int rc;

	if (w == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	w->req = req;
	memcpy(w->id, id, sizeof(w->id));
	clock_gettime(CLOCK_MONOTONIC, &w->deadline);
	w->deadline.tv_sec += seconds;
	/* Check again under the lock: an update between the caller's check and
	 * parking would otherwise be missed until the deadline. Updates notify
	 * under the same lock, so they come either before this check or after
	 * the connection is parked. */
	pthread_mutex_lock(&ws->lock);
	if (ws->stopping) {
		rc = 1;
		goto out;
	}
	rc = lks_store_get(srv->store, &it, id, lks_now());
	if (rc < 0)
		goto out;
	lks_item_etag(it, now_etag, sizeof(now_etag));
	w->version = it->version;
	if (strcmp(now_etag, etag) != 0) {
		rc = 1; /* changed already: answer at once */
		goto out;
	}
	/* Wake when the item expires, not later: the answer is then a 404. */
	{
		int64_t left = it->expires_at - lks_now() + 1;
		if (left < (int64_t)seconds)
			w->deadline.tv_sec -= (time_t)((int64_t)seconds - (left > 0 ? left : 0));
	}
	MHD_suspend_connection(req->conn);
	req->wait_state = LKS_WAIT_PARKED;
	w->next = ws->head;
	ws->head = w;
	w = NULL;
	pthread_cond_signal(&ws->cond);
	rc = 0;
out:
	pthread_mutex_unlock(&ws->lock);
	lks_item_free(it);
	free(w);
	return rc;
}

void lks_wait_notify(lks_server *srv, const char *id)
{
	wake(srv, id, 0);
}
