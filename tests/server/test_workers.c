/* linksyncd's HTTP threads (src/server/workers.c), through a real server in
 * this process: 128 and 256 keep-alive connections on one thread, each round
 * all of them asking at once, are all answered at once (libmicrohttpd's own
 * thread pool stalled until the connection timeout when a thread had exactly
 * a multiple of 128 connections ready); a create parked for group commit is
 * answered (its connection is resumed from another thread); and stopping
 * with connections open is clean. The server runs in a child process, so
 * that it can be stopped (SIGSTOP) while the connections write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "linksync/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct fx {
	char dir[64];
	pid_t server; /* a child process running the server */
	uint16_t port;
};

/* The child: starts the server, tells its port through fd, and stops it
 * cleanly on SIGTERM (exit status 0). */
static void serve(const char *dir, int fd)
{
	lks_server_config cfg;
	lks_server *srv = NULL;
	char url[128];
	sigset_t set;
	uint16_t port;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	snprintf(url, sizeof(url), "sqlite:%s/w.db", dir);
	lks_server_config_init(&cfg);
	cfg.listen = "127.0.0.1:0";
	cfg.store_url = url;
	cfg.public_url = "http://127.0.0.1";
	cfg.threads = 1;
	cfg.quiet = 1;
	cfg.conn_timeout = 60; /* a stall would last this long */
	if (lks_server_start(&srv, &cfg) < 0)
		_exit(2);
	port = lks_server_port(srv);
	if (write(fd, &port, sizeof(port)) != sizeof(port))
		_exit(3);
	sigwait(&set, &sig);
	lks_server_stop(srv);
	_exit(0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int p[2];

	snprintf(f->dir, sizeof(f->dir), "/tmp/lks-workers-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(pipe(p), 0);
	f->server = fork();
	assert_true(f->server >= 0);
	if (f->server == 0) {
		close(p[0]);
		serve(f->dir, p[1]);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &f->port, sizeof(f->port)), sizeof(f->port));
	close(p[0]);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	int status = -1;

	kill(f->server, SIGCONT);
	kill(f->server, SIGTERM);
	assert_int_equal(waitpid(f->server, &status, 0), f->server);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int connect_to(uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Reads one whole answer (headers and Content-Length bytes) from fd within
 * the deadline; returns its status, or -1 at the deadline. */
static int read_answer(int fd, double deadline, char *body, size_t body_size)
{
	char buf[4096];
	size_t have = 0;

	for (;;) {
		char *end = memmem(buf, have, "\r\n\r\n", 4);
		struct pollfd p = {fd, POLLIN, 0};
		double left = deadline - now_s();
		ssize_t n;

		if (end != NULL) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			size_t head = (size_t)(end - buf) + 4;
			size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0;

			if (have >= head + want) {
				snprintf(body, body_size, "%.*s", (int)want, buf + head);
				return atoi(buf + 9);
			}
		}
		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			return -1;
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = '\0';
	}
}

/* Rounds of n keep-alive connections all asking at once (the server is
 * stopped while they write, so that all n are ready together when it goes
 * on); every answer must come within 5 s (a stall lasts the 60 s
 * connection timeout). */
static void all_at_once(struct fx *f, int n, int rounds)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	int *fds = calloc((size_t)n, sizeof(int));
	char body[64];

	for (int i = 0; i < n; i++)
		fds[i] = connect_to(f->port);
	for (int r = 0; r < rounds; r++) {
		double deadline;
		int answered = 0;

		/* The first round takes the connections on, one by one. */
		if (r > 0)
			assert_int_equal(kill(f->server, SIGSTOP), 0);
		for (int i = 0; i < n; i++)
			assert_int_equal(write(fds[i], req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
		if (r > 0)
			assert_int_equal(kill(f->server, SIGCONT), 0);
		deadline = now_s() + 5;
		for (int i = 0; i < n; i++)
			answered += read_answer(fds[i], deadline, body, sizeof(body)) == 200;
		if (answered != n)
			fail_msg("round %d of %d connections: %d answered within 5 s", r, n, answered);
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
}

static void test_128_connections_at_once(void **state)
{
	all_at_once(*state, 128, 10);
}

static void test_256_connections_at_once(void **state)
{
	all_at_once(*state, 256, 10);
}

/* A create waits for its group commit on a parked connection, which the
 * committer thread resumes: answered, also many at once. */
static void test_parked_creates_are_answered(void **state)
{
	static const char req[] = "POST /api/v1/items HTTP/1.1\r\nHost: x\r\n"
				  "Content-Type: text/plain\r\nAccept: text/plain\r\n"
				  "Content-Length: 5\r\n\r\nhello";
	struct fx *f = *state;
	enum { N = 64 };
	int fds[N];
	char body[256];
	double deadline;

	for (int i = 0; i < N; i++)
		fds[i] = connect_to(f->port);
	for (int r = 0; r < 5; r++) {
		deadline = now_s() + 5;
		for (int i = 0; i < N; i++)
			assert_int_equal(write(fds[i], req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
		for (int i = 0; i < N; i++) {
			assert_int_equal(read_answer(fds[i], deadline, body, sizeof(body)), 201);
			assert_non_null(strstr(body, "http://127.0.0.1/"));
		}
	}
	/* Stopping with these connections open (teardown) must be clean. */
	for (int i = 0; i < N / 2; i++)
		close(fds[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_128_connections_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_256_connections_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parked_creates_are_answered, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
