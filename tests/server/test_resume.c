/* A parked connection resumed from another thread (a create's group commit
 * done, a long poll woken): once MHD_resume_connection has returned, the
 * connection's own HTTP thread may answer it, close it and free the request
 * and the connection, so the resuming thread must touch neither afterwards.
 * This program's own MHD_resume_connection (which the server's calls reach
 * before libmicrohttpd's) calls the real one and then, before returning,
 * lets the HTTP thread run to the end of the request: a new connection
 * wakes it, and the client's end of the answer is awaited. A later use of
 * the request or the connection is then a use after free, which
 * AddressSanitizer reports (and a plain build may crash on). */
/* clang-format off: cmocka.h needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "linksync/server.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint16_t port;
static atomic_int armed;   /* the next resume is held back */
static atomic_int held;    /* resumes that were held back */
static sem_t answered;     /* the client has read the whole answer */

static int connect_to(uint16_t p)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

void MHD_resume_connection(struct MHD_Connection *connection)
{
	void (*real)(struct MHD_Connection *) =
		(void (*)(struct MHD_Connection *))dlsym(RTLD_NEXT, "MHD_resume_connection");
	struct timespec until;
	int kick;

	real(connection);
	if (!atomic_exchange(&armed, 0))
		return;
	/* A new connection wakes the HTTP thread, which then also takes up
	 * the resumed one: answers it, closes it, frees it. */
	kick = connect_to(port);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	if (sem_timedwait(&answered, &until) == 0)
		atomic_fetch_add(&held, 1);
	usleep(100 * 1000); /* past the close, on the server's side too */
	if (kick >= 0)
		close(kick);
}

/* Reads everything up to the server's close; returns the status, or -1. */
static int read_to_close(int fd, double seconds)
{
	char buf[4096];
	size_t have = 0;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 > seconds)
			return -1;
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		have += (size_t)n;
		if (have == sizeof(buf) - 1)
			have = 0; /* only the status line matters, and it came first */
	}
	buf[have] = '\0';
	return strncmp(buf, "HTTP/1.1 ", 9) == 0 ? atoi(buf + 9) : -1;
}

/* A create parked for its group commit, resumed by the committer thread. */
static void test_resumed_create_is_not_touched_after_resume(void **state)
{
	static const char req[] = "POST /api/v1/items HTTP/1.1\r\nHost: x\r\n"
				  "Content-Type: text/plain\r\nAccept: text/plain\r\n"
				  "Connection: close\r\nContent-Length: 5\r\n\r\nhello";
	char dir[64], url[128];
	lks_server_config cfg;
	lks_server *srv = NULL;
	int fd, status;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/lks-resume-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "sqlite:%s/r.db", dir);
	lks_server_config_init(&cfg);
	cfg.listen = "127.0.0.1:0";
	cfg.store_url = url;
	cfg.public_url = "http://127.0.0.1";
	cfg.threads = 1;
	cfg.quiet = 1;
	assert_int_equal(sem_init(&answered, 0, 0), 0);
	assert_int_equal(lks_server_start(&srv, &cfg), 0);
	port = lks_server_port(srv);
	fd = connect_to(port);
	assert_true(fd >= 0);
	atomic_store(&armed, 1);
	assert_int_equal(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
	status = read_to_close(fd, 10);
	sem_post(&answered);
	close(fd);
	assert_int_equal(status, 201);
	lks_server_stop(srv); /* waits for the committer's callback to end */
	/* The answer came while the resume was held back: the request was
	 * freed before the resuming thread went on. */
	assert_int_equal(atomic_load(&held), 1);
	sem_destroy(&answered);
	snprintf(url, sizeof(url), "rm -rf '%s'", dir);
	assert_int_equal(system(url), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resumed_create_is_not_touched_after_resume),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
