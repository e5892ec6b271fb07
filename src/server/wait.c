/* Long polls: a GET that waits for the next version of an item parks its
 * connection (libmicrohttpd suspend, so a waiting client costs no thread)
 * until the item changes on this node or its deadline passes. One thread
 * keeps the deadlines. */
#include "server_int.h"

#include "linksync/units.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct waiter {
	struct request *req;
	char id[LKS_ID_LEN + 1];
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
	w->req->wait_state = LKS_WAIT_RESUMED;
	MHD_resume_connection(w->req->conn);
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

int lks_waits_start(lks_server *srv)
{
	struct lks_waits *ws = &srv->waits;
	pthread_condattr_t attr;

	pthread_mutex_init(&ws->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&ws->cond, &attr);
	pthread_condattr_destroy(&attr);
	ws->initialised = 1;
	if (pthread_create(&ws->thread, NULL, deadline_main, srv) != 0)
		return lks_error_set(LKS_ENOMEM, "cannot start the long-poll thread");
	ws->running = 1;
	return 0;
}

void lks_waits_stop(lks_server *srv)
{
	struct lks_waits *ws = &srv->waits;

	if (!ws->initialised)
		return;
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
	struct lks_waits *ws = &srv->waits;
	struct waiter **pp;

	pthread_mutex_lock(&ws->lock);
	pp = &ws->head;
	while (*pp != NULL) {
		struct waiter *w = *pp;
		if (strcmp(w->id, id) == 0) {
			*pp = w->next;
			fire(w);
		} else {
			pp = &w->next;
		}
	}
	pthread_mutex_unlock(&ws->lock);
}
