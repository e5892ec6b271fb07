/*
 * idle_conns: the memory benchmark's client. It opens N TCP connections to a
 * loopback port, sends one complete keep-alive `GET /healthz` on each and reads
 * the whole answer, so every connection has gone through a full request cycle
 * in the server (its buffers allocated and used) and now sits idle in
 * keep-alive. It then prints "ready", holds the sockets open for a while so
 * the caller can read the server's RSS, checks how many the server kept open,
 * and exits. Used by bench/run.sh; compiled on the fly with `cc`.
 *
 * usage: idle_conns PORT N HOLD_SECONDS
 * stdout: "open N failed F" / "ready" / "alive K" (one line each).
 * exit status: 0 when every connection was opened and answered, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Parses a decimal in [min, max]; returns -1 on anything else. */
static long parse_num(const char *s, long min, long max)
{
	char *end = NULL;
	long v = 0;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	return v;
}

/*
 * Reads one HTTP response (headers, then Content-Length bytes of body) from a
 * blocking socket with a receive timeout. Returns 0 for a 2xx answer, -1 for
 * anything else (error, timeout, close, non-2xx, no Content-Length).
 */
static int read_response(int fd)
{
	char buf[8192];
	size_t len = 0;
	char *hdr_end = NULL;
	char *cl = NULL;
	long body = -1;
	size_t need = 0;

	for (;;) {
		ssize_t n = 0;

		if (len == sizeof(buf) - 1)
			return -1;
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		hdr_end = strstr(buf, "\r\n\r\n");
		if (hdr_end == NULL)
			continue;
		if (body < 0) {
			cl = strstr(buf, "\r\nContent-Length:");
			if (cl == NULL || cl > hdr_end)
				return -1;
			body = strtol(cl + strlen("\r\nContent-Length:"), NULL, 10);
			if (body < 0)
				return -1;
			need = (size_t)(hdr_end - buf) + 4 + (size_t)body;
		}
		if (len >= need)
			break;
	}
	if (strncmp(buf, "HTTP/1.1 2", 10) != 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\n"
				  "Host: 127.0.0.1\r\n"
				  "Connection: keep-alive\r\n\r\n";
	struct sockaddr_in sa;
	struct timeval tv = { .tv_sec = 10, .tv_usec = 0 };
	struct sigaction act;
	int *fds = NULL;
	long port = 0, n = 0, hold = 0, i = 0;
	long opened = 0, failed = 0, alive = 0;
	int rc = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: idle_conns PORT N HOLD_SECONDS\n");
		return 2;
	}
	port = parse_num(argv[1], 1, 65535);
	n = parse_num(argv[2], 1, 1000000);
	hold = parse_num(argv[3], 0, 86400);
	if (port < 0 || n < 0 || hold < 0) {
		fprintf(stderr, "idle_conns: bad argument\n");
		return 2;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = on_signal;
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);

	fds = calloc((size_t)n, sizeof(*fds));
	if (fds == NULL) {
		perror("idle_conns: calloc");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	/*
	 * One connection at a time: connect, ask, read the answer. Sequential
	 * round trips on loopback take well under a millisecond each, and this
	 * never overruns the server's listen backlog.
	 */
	for (i = 0; i < n && !stop; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		fds[i] = -1;
		if (fd < 0) {
			if (failed == 0)
				perror("idle_conns: socket");
			failed++;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    send(fd, req, sizeof(req) - 1, 0) != (ssize_t)(sizeof(req) - 1) ||
		    read_response(fd) != 0) {
			if (failed == 0)
				fprintf(stderr, "idle_conns: connection %ld failed: %s\n",
					i, strerror(errno));
			close(fd);
			failed++;
			continue;
		}
		fds[i] = fd;
		opened++;
	}
	printf("open %ld failed %ld\n", opened, failed);
	printf("ready\n");
	fflush(stdout);

	{
		struct timespec end;
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &end);
		end.tv_sec += hold;
		for (;;) {
			struct timespec nap = { .tv_sec = 0, .tv_nsec = 100000000 };

			clock_gettime(CLOCK_MONOTONIC, &now);
			if (stop || now.tv_sec > end.tv_sec ||
			    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
				break;
			nanosleep(&nap, NULL);
		}
	}

	/* A socket the server closed reads as EOF (0) or an error; an open idle
	 * one has nothing to read (EAGAIN). */
	for (i = 0; i < n; i++) {
		char c = 0;
		ssize_t r = 0;

		if (fds[i] < 0)
			continue;
		r = recv(fds[i], &c, 1, MSG_DONTWAIT | MSG_PEEK);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			alive++;
		close(fds[i]);
	}
	printf("alive %ld\n", alive);
	fflush(stdout);
	rc = (failed == 0 && opened == n) ? 0 : 1;
	free(fds);
	return rc;
}
