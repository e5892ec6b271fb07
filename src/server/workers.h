/* Internal to linksyncd: the HTTP threads (workers.c), one libmicrohttpd
 * daemon each in external epoll mode, sharing one listening socket. */
#ifndef LKS_SERVER_WORKERS_H
#define LKS_SERVER_WORKERS_H

#include <microhttpd.h>
#include <sys/socket.h>

typedef struct lks_server lks_server;

/* Listens on addr and starts threads HTTP threads that answer with handler
 * and completed (their cls is srv), under srv->cfg's limits; sets srv->port.
 * On failure, what was started is stopped by lks_workers_stop. Returns 0,
 * LKS_EIO (cannot listen) or LKS_ENOMEM. */
int lks_workers_start(lks_server *srv, const struct sockaddr *addr, socklen_t len,
		      unsigned threads, MHD_AccessHandlerCallback handler,
		      MHD_RequestCompletedCallback completed);

/* Resumes conn, suspended on one of srv's daemons, and wakes that daemon's
 * thread (in external mode libmicrohttpd leaves that to the application).
 * From any thread. Nothing of conn is touched after the resume: from then
 * on its thread may answer it and free it (and its request) at once. */
void lks_workers_resume(lks_server *srv, struct MHD_Connection *conn);

/* Stops the threads, closes every connection and the listening socket.
 * Safe when never started. */
void lks_workers_stop(lks_server *srv);

#endif
