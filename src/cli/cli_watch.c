/* `linksync push --watch`: after the first push, watches the file and PUTs
 * each new version to the same link. Editors save in three ways (writing in
 * place, truncating and writing, or writing a temporary file and renaming it
 * over the original), so the file's directory is watched (inotify) for the
 * file's name rather than the file itself, whose inode a rename replaces. A
 * burst of events is read once the file has been quiet a moment; content
 * that did not change (same SHA-256) is not sent. Each version is read whole
 * into memory first, so what is hashed is what is sent, with the length
 * announced. The item's end (expiry, deletion) is noticed by a metadata
 * request now and then, and ends the watch. */
#include "cli.h"

#include "linksync/error.h"
#include "linksync/id.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Events on the directory that can change the watched name's content, or
 * end the watch. */
#define WATCH_MASK                                                                                 \
	(IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |        \
	 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
/* How often an idle watch asks whether the item still exists. */
#define ALIVE_CHECK_MS 60000

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cli_file_snapshot(unsigned char **out, size_t *len, const char *path)
{
	struct stat st;
	int fd, rc;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return lks_error_set(LKS_ENOTFOUND, "%s: no such file", path);
		return lks_error_set(LKS_EIO, "cannot read %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		rc = lks_error_set(LKS_EIO, "cannot read %s: %s", path,
				   S_ISDIR(st.st_mode) ? "it is a directory" : strerror(errno));
		close(fd);
		return rc;
	}
	rc = cli_read_all(out, len, fd);
	close(fd);
	if (rc == LKS_EIO)
		return lks_error_set(LKS_EIO, "cannot read %s: %s", path, lks_error_message());
	return rc;
}

struct watcher {
	struct cli_global *g;
	const struct cli_watch *w;
	uint8_t pushed[LKS_HASH_BYTES]; /* what the link holds now */
	int64_t expires_at;		/* Unix seconds, 0 when unknown */
	int64_t check_due;		/* monotonic ms of the next alive check */
	unsigned backoff;		/* seconds, while the server fails */
	bool outage;			/* said so already */
	bool missing;			/* said the file is gone already */
};

/* When to ask next whether the item lives: a minute from now, or just after
 * it expires, whichever comes first. */
static void schedule_check(struct watcher *s)
{
	int64_t now = now_ms();

	s->check_due = now + ALIVE_CHECK_MS;
	if (s->expires_at > 0) {
		int64_t left = (s->expires_at - (int64_t)time(NULL)) * 1000 + 1000;

		if (left < 0)
			left = 0;
		if (now + left < s->check_due)
			s->check_due = now + left;
	}
}

static void note_expiry(struct watcher *s, json_t *doc)
{
	int64_t t;

	if (cli_time_parse_utc(&t, json_string_value(json_object_get(doc, "expires_at"))) == 0)
		s->expires_at = t;
}

static int ended(struct watcher *s)
{
	return cli_fail(CLI_EXIT_NOTFOUND,
			"%s has ended (expired, used up or deleted): stopped watching %s",
			s->w->link, s->w->path);
}

/* Reports a failure worth retrying, once per outage. */
static void say_outage(struct watcher *s, int rc, const struct cli_response *resp, const char *what)
{
	if (s->outage || s->g->quiet) {
		s->outage = true;
		return;
	}
	if (rc == 0)
		cli_warn("%s: the server answered %ld; %s", s->w->link, resp->status, what);
	else
		cli_warn("%s: connection failed (%s); %s", s->w->link,
			 resp->curl_error[0] ? resp->curl_error : lks_error_message(), what);
	s->outage = true;
}

static void say_back(struct watcher *s)
{
	if (s->outage && !s->g->quiet)
		fprintf(stderr, "linksync: %s answers again\n", s->w->link);
	s->outage = false;
	s->backoff = 0;
}

static bool transient(int rc, const struct cli_response *resp)
{
	if (rc == LKS_ENETWORK || rc == LKS_EPROTO)
		return true;
	return rc == 0 && (resp->status == 429 || resp->status >= 500);
}

/* Sends the file's current content when it differs from what the link
 * holds. *retry_in is set to the seconds to wait before trying again (0:
 * no retry). Returns 0 to go on watching, or an exit code after reporting. */
static int push_if_changed(struct watcher *s, unsigned *retry_in)
{
	const struct cli_watch *w = s->w;
	unsigned char *data = NULL;
	uint8_t hash[LKS_HASH_BYTES];
	struct cli_body body = {.fd = -1};
	struct cli_request req = {0};
	struct cli_response resp = {0};
	json_t *doc = NULL;
	char size[32];
	size_t len = 0;
	int rc, exit_code = 0;

	*retry_in = 0;
	rc = cli_file_snapshot(&data, &len, w->path);
	if (rc == LKS_ENOTFOUND) {
		/* Some editors remove the file before writing it anew. */
		if (!s->missing && !s->g->quiet)
			fprintf(stderr,
				"linksync: %s was removed; waiting for it to come back (Ctrl-C to "
				"stop)\n",
				w->path);
		s->missing = true;
		return 0;
	}
	if (rc == LKS_ENOMEM)
		return cli_fail(CLI_EXIT_FAILURE, "out of memory");
	if (rc < 0) {
		cli_warn("%s; watching for the next version", lks_error_message());
		return 0;
	}
	s->missing = false;
	lks_sha256(hash, data, len);
	if (memcmp(hash, s->pushed, sizeof(hash)) == 0)
		goto out; /* saved without a change */

	body.mem = data;
	body.len = len;
	req.method = "PUT";
	req.url = w->api;
	req.content_type = w->type;
	req.bearer = w->token;
	req.accept = "application/json";
	req.body = &body;
	req.progress = s->g->stderr_tty && !s->g->quiet;
	rc = cli_http_do(&resp, &req);
	if (resp.interrupted || cli_http_interrupted()) {
		exit_code = cli_fail(130, "interrupted");
		goto out;
	}
	if (rc == LKS_ENOMEM) {
		exit_code = cli_fail(CLI_EXIT_FAILURE, "out of memory");
		goto out;
	}
	if (transient(rc, &resp)) {
		s->backoff = cli_backoff_next(s->backoff);
		say_outage(s, rc, &resp, "will retry (Ctrl-C to stop)");
		*retry_in = s->backoff;
		goto out;
	}
	if (rc == 0 && (resp.status == 404 || resp.status == 410)) {
		exit_code = ended(s);
		goto out;
	}
	if (rc < 0 || resp.status < 200 || resp.status >= 300) {
		say_back(s);
		exit_code = cli_http_fail(rc, &resp, w->link, false);
		/* A version the server refuses (too large, not a valid calendar
		 * yet) may be followed by one it takes; a refused token, a
		 * redirect or a broken answer will not get better. */
		if (rc == 0 && resp.status >= 400 && resp.status < 500 && resp.status != 401 &&
		    resp.status != 403) {
			cli_warn("this version of %s was not pushed; watching for the next one",
				 w->path);
			exit_code = 0;
		}
		goto out;
	}
	say_back(s);
	memcpy(s->pushed, hash, sizeof(hash));
	doc = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL);
	note_expiry(s, doc);
	schedule_check(s);
	if (!s->g->quiet) {
		json_t *version = json_object_get(doc, "version");

		cli_format_bytes(size, sizeof(size), len);
		if (json_is_integer(version))
			fprintf(stderr, "linksync: pushed %s as version %lld (%s)\n", w->path,
				(long long)json_integer_value(version), size);
		else
			fprintf(stderr, "linksync: pushed %s (%s)\n", w->path, size);
	}
out:
	json_decref(doc);
	cli_response_clear(&resp);
	free(data);
	return exit_code;
}

/* Asks whether the item still exists (metadata: consumes no read). Returns
 * 0 to go on, or an exit code after reporting its end. */
static int check_alive(struct watcher *s)
{
	struct cli_request req = {0};
	struct cli_response resp = {0};
	json_t *doc = NULL;
	int rc, exit_code = 0;

	req.method = "GET";
	req.url = s->w->api;
	req.accept = "application/json";
	rc = cli_http_do(&resp, &req);
	if (resp.interrupted || cli_http_interrupted()) {
		exit_code = cli_fail(130, "interrupted");
		goto out;
	}
	if (rc == 0 && (resp.status == 404 || resp.status == 410)) {
		exit_code = ended(s);
		goto out;
	}
	/* Anything else is left to the next push to report. */
	if (rc == 0 && resp.status == 200) {
		doc = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL);
		note_expiry(s, doc);
	}
out:
	schedule_check(s);
	json_decref(doc);
	cli_response_clear(&resp);
	return exit_code;
}

/* Reads the pending inotify events; *due becomes the moment to read the
 * file (unchanged when no event concerns it). Returns 0, or an exit code
 * after reporting. */
static int drain_events(struct watcher *s, int ifd, const char *base, int64_t *due)
{
	char buf[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
	    __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		ssize_t n = read(ifd, buf, sizeof(buf));
		char *p;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return cli_fail(CLI_EXIT_IO, "cannot watch %s: %s", s->w->path,
					n < 0 ? strerror(errno) : "inotify closed");
		for (p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			enum cli_watch_event what =
			    cli_watch_classify(ev->mask, ev->len ? ev->name : NULL, base);
			unsigned settle = cli_watch_settle_ms(what);

			p += sizeof(struct inotify_event) + ev->len;
			if (what == CLI_WATCH_DIR_GONE)
				return cli_fail(CLI_EXIT_IO,
						"the directory of %s was removed or moved: stopped "
						"watching",
						s->w->path);
			/* The last event decides: a new burst of writes after a
			 * close pushes the reading back. */
			if (settle > 0)
				*due = now_ms() + settle;
		}
	}
}

int cli_watch_run(struct cli_global *g, const struct cli_watch *w)
{
	struct watcher s = {.g = g, .w = w, .expires_at = w->expires_at};
	char *real = NULL, *dcopy = NULL, *bcopy = NULL;
	const char *dir, *base;
	struct pollfd p[2];
	int64_t due = -1;
	int ifd = -1, exit_code = 0;

	memcpy(s.pushed, w->hash, sizeof(s.pushed));
	if (cli_http_catch_signals() < 0)
		return cli_fail(CLI_EXIT_FAILURE, "%s", lks_error_message());
	/* A symbolic link is followed once: editors write through it to its
	 * target, which is what changes. */
	real = realpath(w->path, NULL);
	dcopy = strdup(real ? real : w->path);
	bcopy = strdup(real ? real : w->path);
	if (!dcopy || !bcopy) {
		exit_code = cli_fail(CLI_EXIT_FAILURE, "out of memory");
		goto out;
	}
	dir = dirname(dcopy);
	base = basename(bcopy);
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd < 0 || inotify_add_watch(ifd, dir, WATCH_MASK) < 0) {
		exit_code = cli_fail(CLI_EXIT_IO, "cannot watch %s: %s%s", dir, strerror(errno),
				     errno == ENOSPC ? " (raise fs.inotify.max_user_watches)" : "");
		goto out;
	}
	if (!g->quiet)
		fprintf(stderr,
			"linksync: watching %s; each new version goes to %s (Ctrl-C to "
			"stop)\n",
			w->path, w->link);
	/* A save between the first push and the watch would go unseen: look
	 * once now (nothing is sent when it is unchanged). */
	due = now_ms();
	schedule_check(&s);

	p[0].fd = ifd;
	p[0].events = POLLIN;
	p[1].fd = cli_http_signal_fd();
	p[1].events = POLLIN;
	for (;;) {
		int64_t now = now_ms(), next = s.check_due;
		int timeout;

		if (cli_http_interrupted()) {
			exit_code = cli_fail(130, "interrupted");
			goto out;
		}
		if (due >= 0 && due < next)
			next = due;
		timeout = next <= now ? 0 : (int)(next - now);
		if (poll(p, 2, timeout) < 0 && errno != EINTR) {
			exit_code = cli_fail(CLI_EXIT_FAILURE, "poll: %s", strerror(errno));
			goto out;
		}
		if (cli_http_interrupted())
			continue;
		if (p[0].revents & POLLIN) {
			exit_code = drain_events(&s, ifd, base, &due);
			if (exit_code != 0)
				goto out;
		}
		now = now_ms();
		if (due >= 0 && now >= due) {
			unsigned retry_in = 0;

			due = -1;
			exit_code = push_if_changed(&s, &retry_in);
			if (exit_code != 0)
				goto out;
			if (retry_in > 0)
				due = now_ms() + (int64_t)retry_in * 1000;
		}
		if (now_ms() >= s.check_due) {
			exit_code = check_alive(&s);
			if (exit_code != 0)
				goto out;
		}
	}
out:
	if (ifd >= 0)
		close(ifd);
	free(real);
	free(dcopy);
	free(bcopy);
	return exit_code;
}
