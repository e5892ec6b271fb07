/* Group commit: creates from many connections wait in a queue, and one
 * committer thread per store writes all that are waiting in one transaction,
 * so that one flush to disk (SQLite with synchronous=FULL, PostgreSQL)
 * covers many items. While a commit runs the next batch gathers: the busier
 * the server, the larger the batches. */
#include "backend.h"
#include "linksync/error.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define BATCH_MAX 256            /* puts in one transaction */
#define BATCH_BYTES (32u << 20)  /* content in one transaction */

struct lks_group {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	lks_store_put_job *head, *tail;
	pthread_t thread;
	int stopping;
};

static void finish(lks_store_put_job *put, int rc)
{
	put->rc = rc;
	snprintf(put->message, sizeof(put->message), "%s", rc < 0 ? lks_error_message() : "");
	put->done(put);
}

/* Commits one batch (a NULL-terminated list) and tells each put its result. */
static void commit(lks_store *store, lks_store_put_job *list)
{
	lks_store_put_job *next;
	int rc = -1;

	if (store->ops->put_batch != NULL && list->next != NULL)
		rc = store->ops->put_batch(store, list);
	if (rc == 0) {
		for (; list != NULL; list = next) {
			next = list->next;
			finish(list, 0);
		}
		return;
	}
	/* One at a time: a single put, no batch support, or a batch that failed
	 * (each then gets its own answer). */
	for (; list != NULL; list = next) {
		next = list->next;
		finish(list, store->ops->put(store, list->item, list->content, list->len));
	}
}

static void *committer(void *arg)
{
	lks_store *store = arg;
	struct lks_group *g = store->group;

	pthread_mutex_lock(&g->lock);
	for (;;) {
		lks_store_put_job *batch, *last;
		size_t n = 1, bytes;

		while (g->head == NULL && !g->stopping)
			pthread_cond_wait(&g->cond, &g->lock);
		if (g->head == NULL)
			break; /* stopping, and nothing left */
		/* Take what waits, up to the bounds of one transaction. */
		batch = last = g->head;
		bytes = last->len;
		while (last->next != NULL && n < BATCH_MAX && bytes + last->next->len <= BATCH_BYTES) {
			last = last->next;
			bytes += last->len;
			n++;
		}
		g->head = last->next;
		if (g->head == NULL)
			g->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&g->lock);
		commit(store, batch);
		pthread_mutex_lock(&g->lock);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

/* The store's group, started on first use. Only the first caller can race
 * here when two threads put at once for the very first time: guard it. */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

static struct lks_group *group_of(lks_store *store)
{
	struct lks_group *g;

	pthread_mutex_lock(&start_lock);
	g = store->group;
	if (g == NULL) {
		g = calloc(1, sizeof(*g));
		if (g != NULL) {
			pthread_mutex_init(&g->lock, NULL);
			pthread_cond_init(&g->cond, NULL);
			store->group = g;
			if (pthread_create(&g->thread, NULL, committer, store) != 0) {
				store->group = NULL;
				pthread_cond_destroy(&g->cond);
				pthread_mutex_destroy(&g->lock);
				free(g);
				g = NULL;
			}
		}
	}
	pthread_mutex_unlock(&start_lock);
	return g;
}

int lks_store_put_async(lks_store *store, lks_store_put_job *put)
{
	struct lks_group *g = group_of(store);

	if (g == NULL)
		return lks_error_set(LKS_ENOMEM, "cannot start the group-commit thread");
	put->next = NULL;
	put->rc = 0;
	put->message[0] = '\0';
	pthread_mutex_lock(&g->lock);
	if (g->tail != NULL)
		g->tail->next = put;
	else
		g->head = put;
	g->tail = put;
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	return 0;
}

void lks_group_stop(lks_store *store)
{
	struct lks_group *g = store->group;

	if (g == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	g->stopping = 1;
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	free(g);
	store->group = NULL;
}
