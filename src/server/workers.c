/* linksyncd's HTTP threads: one libmicrohttpd daemon per thread, each in
 * external epoll mode, all accepting from one listening socket. Not
 * libmicrohttpd's own thread pool: in 0.9.75 its internal epoll loop drains
 * the kernel's queue with a blocking epoll_wait whenever a call returns its
 * full batch of 128 events, so a thread whose ready connections are exactly a
 * multiple of 128 waits for some unrelated event, up to the connection
 * timeout, before serving any of them (measured: 128 or 256 busy keep-alive
 * connections on one thread got 77 to 2,900 answers a second instead of
 * 60,000). Driven from outside, a daemon never blocks inside: MHD_run
 * handles what is ready and returns, and this loop waits on the daemon's
 * epoll descriptor for at most libmicrohttpd's next timeout. A connection
 * resumed from another thread (a long poll woken, a create committed) wakes
 * its daemon's loop through an eventfd: in external mode libmicrohttpd
 * leaves that to the application.
 *
 * The per-address connection limit is kept here, across the daemons (each
 * daemon would only count its own connections). */
#include "server_int.h"
#include "workers.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Connections per address, over every daemon */

#define ADDR_BUCKETS (sizeof(((struct lks_workers *)0)->addrs) / sizeof(struct addr_count *))

struct addr_count {
	unsigned char key[17]; /* family byte, then the address */
	unsigned count;
	struct addr_count *next;
};

/* The key of an address (its port left out); 0, or -1 for a family that is
 * not counted. */
static int addr_key(unsigned char key[17], const struct sockaddr *sa)
{
	memset(key, 0, 17);
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 0;
	}
	return -1;
}

static unsigned bucket_of(const unsigned char key[17])
{
	unsigned h = 2166136261u;

	for (int i = 0; i < 17; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % ADDR_BUCKETS;
}

/* The entry of key, made when create is set and it is missing (NULL when
 * out of memory); the caller holds the lock. */
static struct addr_count *addr_find(struct lks_workers *ws, const unsigned char key[17],
				    int create)
{
	struct addr_count **head = &ws->addrs[bucket_of(key)], *a;

	for (a = *head; a != NULL; a = a->next)
		if (memcmp(a->key, key, 17) == 0)
			return a;
	if (!create)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	memcpy(a->key, key, 17);
	a->next = *head;
	*head = a;
	return a;
}

static void addr_drop(struct lks_workers *ws, const unsigned char key[17])
{
	struct addr_count **pp = &ws->addrs[bucket_of(key)];

	for (; *pp != NULL; pp = &(*pp)->next) {
		struct addr_count *a = *pp;

		if (memcmp(a->key, key, 17) == 0) {
			if (--a->count == 0) {
				*pp = a->next;
				free(a);
			}
			return;
		}
	}
}

/* libmicrohttpd asks before it takes a connection on. A connection counts
 * from its start (on_connection), so that every count is given back at its
 * close; two daemons accepting from one address at the same instant may
 * both pass the check, so the limit can be overshot by the threads less one
 * in that race, never more. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *sa, socklen_t len)
{
	struct lks_workers *ws = cls;
	unsigned char key[17];
	struct addr_count *a;
	enum MHD_Result ok = MHD_YES;

	(void)len;
	if (addr_key(key, sa) < 0)
		return MHD_YES;
	pthread_mutex_lock(&ws->addr_lock);
	a = addr_find(ws, key, 0);
	if (a != NULL && a->count >= ws->per_ip_limit)
		ok = MHD_NO;
	pthread_mutex_unlock(&ws->addr_lock);
	return ok;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct lks_workers *ws = cls;
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	unsigned char key[17];
	struct addr_count *a;

	if (info == NULL || info->client_addr == NULL || addr_key(key, info->client_addr) < 0)
		return;
	pthread_mutex_lock(&ws->addr_lock);
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		a = addr_find(ws, key, 1);
		if (a != NULL)
			a->count++;
		/* The mark tells the close that this start was counted
		 * (not, when out of memory). */
		*socket_context = a != NULL ? ws : NULL;
	} else if (*socket_context == ws) {
		addr_drop(ws, key);
	}
	pthread_mutex_unlock(&ws->addr_lock);
}

/* ------------------------------------------------------------------------ */
/* The threads */

static void *worker_main(void *arg)
{
	struct lks_worker *w = arg;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	int epfd = info != NULL ? info->epoll_fd : -1;

	for (;;) {
		struct pollfd fds[3] = {
			{w->ws->stop[0], POLLIN, 0}, {epfd, POLLIN, 0}, {w->wake, POLLIN, 0}};
		MHD_UNSIGNED_LONG_LONG ms = 0;
		int timeout = -1;
		uint64_t n;

		if (MHD_get_timeout(w->daemon, &ms) == MHD_YES)
			timeout = ms > INT_MAX ? INT_MAX : (int)ms;
		if (poll(fds, 3, timeout) < 0 && errno != EINTR)
			break;
		if (fds[0].revents != 0)
			break;
		if (fds[2].revents != 0 && read(w->wake, &n, sizeof(n)) < 0 && errno != EAGAIN)
			break;
		MHD_run(w->daemon);
	}
	return NULL;
}

void lks_workers_resume(lks_server *srv, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_DAEMON);
	struct lks_workers *ws = &srv->workers;
	uint64_t one = 1;
	int wake = -1;

	/* The daemon's eventfd first: once resumed, conn may be gone. */
	for (unsigned i = 0; info != NULL && i < ws->count; i++)
		if (ws->workers[i].daemon == info->daemon)
			wake = ws->workers[i].wake;
	MHD_resume_connection(conn);
	/* An eventfd's counter: a write never blocks (short of 2^64 wakes). */
	if (wake >= 0 && write(wake, &one, sizeof(one)) < 0) {
		/* Cannot fail with a counter this far from its limit; were it
		 * to, the connection waits for its daemon's next event. */
	}
}

/* A listening socket for addr, non-blocking (every daemon is woken by a new
 * connection; all but one find nothing to accept). */
static int listen_on(int *out, const struct sockaddr *addr, socklen_t len, const char *name)
{
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	*out = -1;
	if (fd < 0)
		return lks_error_set(LKS_EIO, "cannot listen on %s: %s", name, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (addr->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, addr, len) < 0 || listen(fd, 1024) < 0) {
		int err = errno;

		close(fd);
		return lks_error_set(LKS_EIO, "cannot listen on %s: %s", name, strerror(err));
	}
	*out = fd;
	return 0;
}

int lks_workers_start(lks_server *srv, const struct sockaddr *addr, socklen_t len,
		      unsigned threads, MHD_AccessHandlerCallback handler,
		      MHD_RequestCompletedCallback completed)
{
	struct lks_workers *ws = &srv->workers;
	const lks_server_config *cfg = &srv->cfg;
	unsigned limit = (cfg->conn_limit + threads - 1) / threads;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	int rc;

	pthread_mutex_init(&ws->addr_lock, NULL);
	ws->initialised = 1;
	ws->stop[0] = ws->stop[1] = ws->listen_fd = -1;
	ws->per_ip_limit = cfg->per_ip_limit;
	ws->workers = calloc(threads, sizeof(*ws->workers));
	if (ws->workers == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	ws->allocated = threads;
	for (unsigned i = 0; i < threads; i++)
		ws->workers[i].wake = -1;
	if (pipe2(ws->stop, O_CLOEXEC) < 0) {
		ws->stop[0] = ws->stop[1] = -1;
		return lks_error_set(LKS_ENOMEM, "cannot make a pipe: %s", strerror(errno));
	}
	rc = listen_on(&ws->listen_fd, addr, len, cfg->listen);
	if (rc < 0)
		return rc;
	if (getsockname(ws->listen_fd, (struct sockaddr *)&bound, &blen) == 0)
		srv->port = ntohs(bound.ss_family == AF_INET6
					  ? ((struct sockaddr_in6 *)&bound)->sin6_port
					  : ((struct sockaddr_in *)&bound)->sin_port);
	if (addr->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	for (unsigned i = 0; i < threads; i++) {
		struct lks_worker *w = &ws->workers[i];

		/* Each daemon closes the socket it was given when it stops: a
		 * descriptor of its own for the one socket. */
		int fd = fcntl(ws->listen_fd, F_DUPFD_CLOEXEC, 0);

		if (fd < 0)
			return lks_error_set(LKS_EIO, "cannot listen on %s: %s", cfg->listen,
					     strerror(errno));
		w->ws = ws;
		w->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->wake < 0) {
			close(fd);
			return lks_error_set(LKS_ENOMEM, "cannot make an eventfd: %s", strerror(errno));
		}
		/* Without a per-address limit, no accounting: the options end
		 * before its callback. */
		w->daemon = MHD_start_daemon(
			flags, 0, cfg->per_ip_limit > 0 ? on_accept : NULL, ws, handler, srv,
			MHD_OPTION_LISTEN_SOCKET, fd,
			MHD_OPTION_CONNECTION_TIMEOUT, cfg->conn_timeout,
			MHD_OPTION_CONNECTION_LIMIT, limit > 0 ? limit : 1,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->conn_memory,
			MHD_OPTION_NOTIFY_COMPLETED, completed, srv,
			cfg->per_ip_limit > 0 ? MHD_OPTION_NOTIFY_CONNECTION : MHD_OPTION_END,
			on_connection, ws,
			MHD_OPTION_END);
		if (w->daemon == NULL)
			return lks_error_set(LKS_EIO, "cannot start an HTTP thread on %s", cfg->listen);
		ws->count++;
	}
	for (unsigned i = 0; i < ws->count; i++) {
		if (pthread_create(&ws->workers[i].thread, NULL, worker_main, &ws->workers[i]) != 0)
			return lks_error_set(LKS_ENOMEM, "cannot start an HTTP thread");
		ws->workers[i].running = 1;
	}
	return 0;
}

void lks_workers_stop(lks_server *srv)
{
	struct lks_workers *ws = &srv->workers;
	ssize_t n;

	if (!ws->initialised)
		return;
	if (ws->stop[1] >= 0) {
		do
			n = write(ws->stop[1], "", 1);
		while (n < 0 && errno == EINTR);
	}
	for (unsigned i = 0; i < ws->count; i++) {
		if (ws->workers[i].running)
			pthread_join(ws->workers[i].thread, NULL);
		MHD_stop_daemon(ws->workers[i].daemon);
	}
	for (unsigned i = 0; i < ws->allocated; i++)
		if (ws->workers[i].wake >= 0)
			close(ws->workers[i].wake);
	if (ws->listen_fd >= 0)
		close(ws->listen_fd);
	for (int i = 0; i < 2; i++)
		if (ws->stop[i] >= 0)
			close(ws->stop[i]);
	for (unsigned i = 0; i < ADDR_BUCKETS; i++)
		while (ws->addrs[i] != NULL) {
			struct addr_count *a = ws->addrs[i];

			ws->addrs[i] = a->next;
			free(a);
		}
	free(ws->workers);
	pthread_mutex_destroy(&ws->addr_lock);
	memset(ws, 0, sizeof(*ws));
}
