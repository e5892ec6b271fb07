/* `linksync pull --follow`: keeps a file equal to the newest version of an
 * item. The first version comes from a plain GET; after it, a long poll
 * (GET raw?wait=60 with If-None-Match) parks on the server until the owner
 * updates the item, so a new version arrives at once and an idle link costs
 * one request a minute. Each version is written to a temporary file and
 * renamed into place, so a reader of the file never sees half a version. The
 * item's end (expiry, deletion, reads used up) ends the loop; a lost server
 * is retried with a back-off. */
#include "cli.h"

#include "linksync/error.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Seconds each long poll asks the server to wait (its maximum is 300): short
 * enough that a dead connection a proxy forgot is noticed within minutes. */
#define FOLLOW_WAIT 60u
/* A 304 that came back sooner than this means the server does not park
 * requests (no long polls, or it is stopping): poll at this pace instead of
 * spinning. */
#define FOLLOW_MIN_ROUND_MS 1000

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps ms milliseconds unless a signal comes first. */
static void pause_ms(int64_t ms)
{
	struct pollfd p = {.fd = cli_http_signal_fd(), .events = POLLIN};
	int64_t until = now_ms() + ms;

	while (!cli_http_interrupted()) {
		int64_t left = until - now_ms();

		if (left <= 0)
			return;
		if (poll(&p, 1, (int)left) > 0)
			return;
	}
}

/* A failure worth retrying: no answer, or the server busy or failing. */
static bool transient(int rc, const struct cli_response *resp)
{
	if (rc == LKS_ENETWORK || rc == LKS_EPROTO)
		return true;
	return rc == 0 && (resp->status == 429 || resp->status >= 500);
}

struct follow {
	struct cli_global *g;
	const struct cli_ref *ref;
	const struct cli_pull_opts *o;
	char *dest; /* where versions go; NULL for -O until the first one */
	char *etag; /* of the version in dest */
	unsigned versions;
};

/* Puts the version in tmp into place. Returns 0 or an exit code after
 * reporting. */
static int commit_version(struct follow *f, struct cli_tmpfile *tmp,
			  const struct cli_response *resp)
{
	char size[32];
	struct stat st;
	bool first_remote = f->o->remote_name && !f->dest;
	int rc;

	if (first_remote) {
		/* -O: the first version names the file; later ones replace
		 * the file this command created. */
		rc = cli_pull_remote_name(&f->dest, f->ref, resp);
		if (rc < 0)
			return cli_fail(CLI_EXIT_FAILURE, "out of memory");
		if (!f->o->force && lstat(f->dest, &st) == 0)
			return cli_fail(CLI_EXIT_IO,
					"%s already exists: pass --force to replace it, or -o FILE",
					f->dest);
		free(tmp->dest);
		tmp->dest = strdup(f->dest);
		if (!tmp->dest)
			return cli_fail(CLI_EXIT_FAILURE, "out of memory");
	}
	rc = cli_tmpfile_commit(tmp, first_remote && !f->o->force);
	if (rc < 0)
		return cli_fail(CLI_EXIT_IO, "%s", lks_error_message());
	if (first_remote && !f->g->quiet) {
		printf("%s\n", f->dest);
		fflush(stdout);
	}
	f->versions++;
	if (!f->g->quiet) {
		cli_format_bytes(size, sizeof(size), resp->received);
		fprintf(stderr, "linksync: wrote %s (%s, ETag %s)\n", f->dest, size, resp->etag);
	}
	return 0;
}

int cli_follow(struct cli_global *g, const struct cli_ref *ref, const struct cli_pull_opts *o)
{
	struct follow f = {.g = g, .ref = ref, .o = o};
	struct cli_tmpfile tmp;
	struct cli_request req;
	struct cli_response resp = {0};
	char *wait_url = NULL;
	unsigned backoff = 0;
	bool outage = false;
	int rc, exit_code = CLI_EXIT_OK;

	memset(&tmp, 0, sizeof(tmp));
	if (ref->had_key && !g->quiet)
		cli_warn("the link's #key was not sent to the server; --follow does not decrypt "
			 "(use pull without --follow for an encrypted item)");
	if (cli_http_catch_signals() < 0)
		return cli_fail(CLI_EXIT_FAILURE, "%s", lks_error_message());
	if (cli_wait_url(&wait_url, ref->fetch, FOLLOW_WAIT) < 0)
		return cli_fail(CLI_EXIT_FAILURE, "out of memory");
	if (o->output) {
		f.dest = strdup(o->output);
		if (!f.dest) {
			exit_code = cli_fail(CLI_EXIT_FAILURE, "out of memory");
			goto out;
		}
	}
	if (g->stderr_tty && !g->quiet)
		fprintf(stderr, "linksync: following %s (Ctrl-C to stop)\n", ref->url);

	for (;;) {
		int64_t started;

		/* -O: a placeholder name in the current directory until the
		 * first version names the file. */
		rc = cli_tmpfile_open(&tmp, f.dest ? f.dest : "./linksync-download");
		if (rc < 0) {
			exit_code = cli_fail(rc == LKS_ENOMEM ? CLI_EXIT_FAILURE : CLI_EXIT_IO,
					     "%s", lks_error_message());
			goto out;
		}
		memset(&req, 0, sizeof(req));
		req.method = "GET";
		req.url = f.etag ? wait_url : ref->fetch;
		req.if_none_match = f.etag;
		req.sink = tmp.f;
		/* A parked request moves no byte until it is answered. */
		req.idle_timeout = f.etag ? FOLLOW_WAIT + 30 : 0;
		req.progress = g->stderr_tty && !g->quiet;
		started = now_ms();
		rc = cli_http_do(&resp, &req);

		if (resp.interrupted || cli_http_interrupted()) {
			exit_code = cli_fail(130, "interrupted%s%s", f.versions ? ": " : "",
					     f.versions ? "the file holds the last version" : "");
			goto out;
		}
		if (rc == LKS_ENOMEM) {
			exit_code = cli_fail(CLI_EXIT_FAILURE, "out of memory");
			goto out;
		}
		/* The first answer decides whether the link is right at all;
		 * after it, a lost server is waited for. */
		if (f.versions > 0 && transient(rc, &resp) && !resp.sink_failed) {
			if (!outage && !g->quiet) {
				if (rc == 0)
					cli_warn("%s: the server answered %ld; retrying (Ctrl-C to "
						 "stop)",
						 ref->url, resp.status);
				else
					cli_warn("%s: connection lost (%s); retrying (Ctrl-C to "
						 "stop)",
						 ref->url,
						 resp.curl_error[0] ? resp.curl_error
								    : lks_error_message());
			}
			outage = true;
			backoff = cli_backoff_next(backoff);
			cli_tmpfile_abort(&tmp);
			cli_response_clear(&resp);
			pause_ms((int64_t)backoff * 1000);
			continue;
		}
		if (rc < 0) {
			exit_code = cli_http_fail(rc, &resp, ref->url, false);
			goto out;
		}
		if (outage && !g->quiet)
			fprintf(stderr, "linksync: %s answers again\n", ref->url);
		outage = false;
		backoff = 0;

		if (resp.status == 304) {
			cli_tmpfile_abort(&tmp);
			cli_response_clear(&resp);
			if (now_ms() - started < FOLLOW_MIN_ROUND_MS)
				pause_ms(FOLLOW_MIN_ROUND_MS - (now_ms() - started));
			continue;
		}
		if ((resp.status == 404 || resp.status == 410) && f.versions > 0) {
			/* The normal end of a live link. */
			if (!g->quiet)
				fprintf(stderr,
					"linksync: %s has ended (expired, used up or deleted); "
					"%s holds its last version\n",
					ref->url, f.dest);
			goto out;
		}
		if (resp.status < 200 || resp.status >= 300) {
			exit_code = cli_http_fail(rc, &resp, ref->url, false);
			goto out;
		}
		if (!resp.etag || !resp.etag[0]) {
			/* Without a validator there is no asking for the next
			 * version: keep this one and say why we stop. */
			exit_code = commit_version(&f, &tmp, &resp);
			if (exit_code == 0)
				exit_code = cli_fail(CLI_EXIT_SERVER,
						     "%s sends no ETag, so it cannot be followed: "
						     "is it a linksync link?",
						     ref->url);
			goto out;
		}
		if (f.etag && strcmp(f.etag, resp.etag) == 0) {
			/* The same version again (a cache that ignores
			 * If-None-Match): nothing to write; do not spin. */
			cli_tmpfile_abort(&tmp);
			cli_response_clear(&resp);
			pause_ms(FOLLOW_MIN_ROUND_MS);
			continue;
		}
		exit_code = commit_version(&f, &tmp, &resp);
		if (exit_code != 0)
			goto out;
		free(f.etag);
		f.etag = resp.etag;
		resp.etag = NULL;
		cli_response_clear(&resp);
	}
out:
	cli_tmpfile_abort(&tmp);
	cli_response_clear(&resp);
	free(wait_url);
	free(f.dest);
	free(f.etag);
	return exit_code;
}
