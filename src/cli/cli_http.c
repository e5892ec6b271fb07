/* The client's one door to the network: a request over libcurl with a body
 * streamed from a file descriptor or memory, an answer streamed into a file
 * (only when it is a success: an error document never lands in the user's
 * file) or kept in memory, a progress bar for big transfers on a terminal,
 * Ctrl-C turned into a clean abort, and every failure turned into one line
 * that says what to do. */
#include "cli.h"

#include "linksync/error.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* An API answer kept in memory is small JSON; an error document we show is
 * shorter still. */
#define MEM_LIMIT_OK (16u * 1024u * 1024u)
#define MEM_LIMIT_ERROR (64u * 1024u)

static volatile sig_atomic_t interrupted;
/* Set by cli_http_catch_signals: the handlers stay for the process's life. */
static bool signals_caught;
static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	int saved = errno;

	(void)sig;
	interrupted = 1;
	/* Wakes a poll(2) waiting for files or a back-off to pass; a full pipe
	 * has woken it already. */
	if (signal_pipe[1] >= 0 && write(signal_pipe[1], "x", 1) < 0) {
		/* nothing to do */
	}
	errno = saved;
}

int cli_http_catch_signals(void)
{
	struct sigaction sa;

	if (signals_caught)
		return 0;
	if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return lks_error_set(LKS_EIO, "cannot create a pipe: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking call returns EINTR and its caller looks. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	interrupted = 0;
	signals_caught = true;
	return 0;
}

int cli_http_signal_fd(void)
{
	return signal_pipe[0];
}

bool cli_http_interrupted(void)
{
	return interrupted != 0;
}

int cli_http_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return lks_error_set(LKS_EINTERNAL, "libcurl failed to initialise");
	return 0;
}

void cli_http_cleanup(void)
{
	curl_global_cleanup();
}

void cli_response_clear(struct cli_response *resp)
{
	free(resp->body);
	free(resp->content_type);
	free(resp->content_disposition);
	free(resp->location);
	free(resp->etag);
	memset(resp, 0, sizeof(*resp));
}

struct xfer {
	struct cli_request *req;
	struct cli_response *resp;
	CURL *curl;
	size_t mem_cap;
	bool decided; /* the body's destination is chosen */
	bool to_sink;
	bool mem_overflow; /* a success body in memory grew past its limit */
	/* progress bar */
	bool bar_drawn;
	struct timespec started, last_draw;
};

/* ------------------------------------------------------------------ */
/* Headers and body                                                    */

static char *header_value(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);
	const char *v, *end = line + n;

	if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return NULL;
	v = line + k + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	return strndup(v, (size_t)(end - v));
}

static void replace(char **slot, char *value)
{
	free(*slot);
	*slot = value;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nitems;
	char *v;

	/* A new status line (after a 100 Continue or a redirect) starts a new
	 * header block: forget the previous one's fields. */
	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		replace(&x->resp->content_type, NULL);
		replace(&x->resp->content_disposition, NULL);
		replace(&x->resp->location, NULL);
		replace(&x->resp->etag, NULL);
		return n;
	}
	v = header_value(line, n, "Content-Type");
	if (v) {
		replace(&x->resp->content_type, v);
		return n;
	}
	v = header_value(line, n, "Content-Disposition");
	if (v) {
		replace(&x->resp->content_disposition, v);
		return n;
	}
	v = header_value(line, n, "ETag");
	if (v) {
		replace(&x->resp->etag, v);
		return n;
	}
	v = header_value(line, n, "Location");
	if (v)
		replace(&x->resp->location, v);
	return n;
}

static bool type_is_text(const char *type)
{
	size_t n;

	if (!type)
		return false;
	n = strcspn(type, ";");
	if (strncasecmp(type, "text/", 5) == 0)
		return true;
	if ((n == 16 && strncasecmp(type, "application/json", 16) == 0) ||
	    (n == 15 && strncasecmp(type, "application/xml", 15) == 0))
		return true;
	return (n > 5 && (strncasecmp(type + n - 5, "+json", 5) == 0 ||
			  strncasecmp(type + n - 4, "+xml", 4) == 0));
}

static bool mem_append(struct xfer *x, const char *data, size_t n, size_t limit)
{
	struct cli_response *r = x->resp;

	if (r->body_len + n > limit) {
		n = limit - r->body_len;
		if (n == 0)
			return false;
	}
	if (r->body_len + n + 1 > x->mem_cap) {
		size_t cap = x->mem_cap ? x->mem_cap : 4096;
		char *bigger;

		while (cap < r->body_len + n + 1)
			cap *= 2;
		bigger = realloc(r->body, cap);
		if (!bigger)
			return false;
		r->body = bigger;
		x->mem_cap = cap;
	}
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return true;
}

static size_t on_body(char *data, size_t size, size_t nitems, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nitems;
	long status = 0;

	if (!x->decided) {
		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
		x->resp->status = status;
		x->decided = true;
		x->to_sink = x->req->sink && status >= 200 && status < 300;
		if (x->to_sink && x->req->refuse_binary_tty &&
		    (!type_is_text(x->resp->content_type) || memchr(data, '\0', n))) {
			x->resp->binary_refused = true;
			return 0; /* aborts the transfer */
		}
	}
	if (x->to_sink) {
		if (fwrite(data, 1, n, x->req->sink) != n) {
			x->resp->sink_failed = true;
			x->resp->sink_errno = errno;
			return 0;
		}
		x->resp->received += n;
		return n;
	}
	if (x->resp->status >= 200 && x->resp->status < 300) {
		if (!mem_append(x, data, n, MEM_LIMIT_OK)) {
			x->mem_overflow = true;
			return 0;
		}
		return n;
	}
	/* An error document: keep its start, drop the rest quietly. */
	if (x->resp->body_len < MEM_LIMIT_ERROR)
		mem_append(x, data, n, MEM_LIMIT_ERROR);
	return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct xfer *x = userdata;
	struct cli_body *b = x->req->body;
	size_t want = size * nitems;

	if (b->fd >= 0) {
		for (;;) {
			ssize_t got = read(b->fd, buf, want);

			if (got >= 0)
				return (size_t)got;
			if (errno != EINTR || interrupted) {
				x->resp->source_failed = errno != EINTR;
				x->resp->source_errno = errno;
				return CURL_READFUNC_ABORT;
			}
		}
	}
	if (want > b->len - b->off)
		want = b->len - b->off;
	memcpy(buf, b->mem + b->off, want);
	b->off += want;
	return want;
}

static int on_seek(void *userdata, curl_off_t offset, int origin)
{
	struct xfer *x = userdata;
	struct cli_body *b = x->req->body;

	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > b->len)
		return CURL_SEEKFUNC_CANTSEEK;
	if (b->fd >= 0)
		return lseek(b->fd, (off_t)offset, SEEK_SET) < 0 ? CURL_SEEKFUNC_FAIL
								 : CURL_SEEKFUNC_OK;
	b->off = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

/* ------------------------------------------------------------------ */
/* Progress                                                            */

static double seconds_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void draw_bar(struct xfer *x, const char *verb, curl_off_t now, curl_off_t total)
{
	char done[32], all[32], rate[32];
	double elapsed = seconds_since(&x->started);
	int width = 30, filled = 0, pct = 0, i;
	char bar[31];

	cli_format_bytes(done, sizeof(done), (uint64_t)now);
	cli_format_bytes(rate, sizeof(rate),
			 elapsed > 0.05 ? (uint64_t)((double)now / elapsed) : 0);
	if (total > 0) {
		pct = (int)((now * 100) / total);
		filled = (int)((now * width) / total);
		cli_format_bytes(all, sizeof(all), (uint64_t)total);
	}
	for (i = 0; i < width; i++)
		bar[i] = i < filled ? '#' : '-';
	bar[width] = '\0';
	if (total > 0)
		fprintf(stderr, "\r%s %3d%% [%s] %s / %s  %s/s\033[K", verb, pct, bar, done, all,
			rate);
	else
		fprintf(stderr, "\r%s %s  %s/s\033[K", verb, done, rate);
	fflush(stderr);
	x->bar_drawn = true;
	clock_gettime(CLOCK_MONOTONIC, &x->last_draw);
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = userdata;
	const curl_off_t threshold = CLI_PROGRESS_THRESHOLD;

	if (interrupted) {
		x->resp->interrupted = true;
		return 1; /* aborts the transfer */
	}
	if (!x->req->progress)
		return 0;
	if (x->bar_drawn && seconds_since(&x->last_draw) < 0.1)
		return 0;
	if (ultotal > threshold && (ulnow < ultotal || dlnow == 0))
		draw_bar(x, "upload  ", ulnow, ultotal);
	else if (dltotal > threshold || (dltotal <= 0 && dlnow > threshold))
		draw_bar(x, "download", dlnow, dltotal);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The request                                                         */

int cli_http_do(struct cli_response *resp, struct cli_request *req)
{
	struct xfer x;
	struct curl_slist *headers = NULL, *more;
	char line[512];
	struct sigaction sa, old_int, old_term;
	CURLcode cc;
	CURL *curl = NULL;
	int rc = 0;
	bool is_get = strcmp(req->method, "GET") == 0;

	memset(resp, 0, sizeof(*resp));
	memset(&x, 0, sizeof(x));
	x.req = req;
	x.resp = resp;
	curl = curl_easy_init();
	if (!curl)
		return LKS_ENOMEM;
	x.curl = curl;

	snprintf(line, sizeof(line), "Accept: %s", req->accept ? req->accept : "*/*");
	more = curl_slist_append(headers, line);
	if (!more)
		goto oom;
	headers = more;
	if (req->content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s", req->content_type);
		more = curl_slist_append(headers, line);
		if (!more)
			goto oom;
		headers = more;
	}
	if (req->if_none_match) {
		/* An ETag is a quoted string: nothing in it can end the header
		 * line, but a server could send anything. */
		if (strpbrk(req->if_none_match, "\r\n")) {
			curl_easy_cleanup(curl);
			return lks_error_set(LKS_EPROTO, "a malformed ETag");
		}
		snprintf(line, sizeof(line), "If-None-Match: %s", req->if_none_match);
		more = curl_slist_append(headers, line);
		if (!more)
			goto oom;
		headers = more;
	}
	if (req->read_proof) {
		/* 43 base64url characters from our own encoder; checked anyway. */
		if (strlen(req->read_proof) > 64 || strpbrk(req->read_proof, "\r\n")) {
			curl_easy_cleanup(curl);
			return lks_error_set(LKS_EINVAL, "a malformed read proof");
		}
		snprintf(line, sizeof(line), "X-Linksync-Read: %s", req->read_proof);
		more = curl_slist_append(headers, line);
		explicit_bzero(line, sizeof(line));
		if (!more)
			goto oom;
		headers = more;
	}
	if (req->bearer) {
		size_t size = strlen(req->bearer) + 32;
		char *auth = malloc(size);

		if (!auth)
			goto oom;
		snprintf(auth, size, "Authorization: Bearer %s", req->bearer);
		more = curl_slist_append(headers, auth);
		explicit_bzero(auth, size);
		free(auth);
		if (!more)
			goto oom;
		headers = more;
	}

	curl_easy_setopt(curl, CURLOPT_URL, req->url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "linksync/" LKS_VERSION);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, resp->curl_error);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
	/* No total timeout (25 MiB on a slow link takes a while), but a stalled
	 * transfer is given up after a minute. */
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
			 req->idle_timeout > 0 ? req->idle_timeout : 60L);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &x);
	if (is_get && !req->read_proof) {
		/* Links may be redirected (http to https); uploads never are, nor
		 * requests with a read proof (it would follow to any host). */
		curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
	}
	if (req->body) {
		req->body->off = 0;
		curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(curl, CURLOPT_READDATA, &x);
		curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(curl, CURLOPT_SEEKDATA, &x);
		if (strcmp(req->method, "POST") == 0) {
			curl_easy_setopt(curl, CURLOPT_POST, 1L);
			curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
					 (curl_off_t)req->body->len);
		} else {
			curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE,
					 (curl_off_t)req->body->len);
			if (strcmp(req->method, "PUT") != 0)
				curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
		}
	} else if (strcmp(req->method, "HEAD") == 0) {
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	} else if (!is_get) {
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
	}

	/* Ctrl-C during a transfer aborts it through the progress callback, so
	 * the caller can remove a half-written temporary file. */
	if (signals_caught) {
		/* A signal between two requests must not be forgotten. */
		if (interrupted) {
			resp->interrupted = true;
			rc = lks_error_set(LKS_ENETWORK, "interrupted");
			goto out;
		}
	} else {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESETHAND;
		interrupted = 0;
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
	}
	clock_gettime(CLOCK_MONOTONIC, &x.started);

	cc = curl_easy_perform(curl);

	if (!signals_caught) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
	}
	if (x.bar_drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	if (interrupted)
		resp->interrupted = true;
	resp->curl_code = (int)cc;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (cc == CURLE_OK) {
		if (resp->status == 0)
			rc = lks_error_set(LKS_EPROTO, "no HTTP answer");
		goto out;
	}
	if (resp->sink_failed) {
		rc = lks_error_set(LKS_EIO, "%s", strerror(resp->sink_errno));
		goto out;
	}
	if (x.mem_overflow) {
		rc = lks_error_set(LKS_EPROTO, "the answer is larger than expected");
		goto out;
	}
	/* A server that refuses an upload may answer and close before it has
	 * read the body: its answer is what counts. */
	if (resp->status >= 400 && !resp->binary_refused && !resp->interrupted &&
	    !resp->source_failed)
		goto out;
	/* No answer, or a success that broke off half way: not an answer. */
	rc = lks_error_set(LKS_ENETWORK, "%s",
			   resp->curl_error[0] ? resp->curl_error : curl_easy_strerror(cc));
	goto out;
oom:
	rc = LKS_ENOMEM;
out:
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Failures in words                                                   */

static const char *status_advice(long status)
{
	switch (status) {
	case 400:
		return "the server did not understand the request";
	case 401:
		return "the owner token is missing: pass --token TOKEN";
	case 403:
		return "the owner token is wrong for this item: pass the right --token";
	case 404:
	case 410:
		return "no such item: the link is wrong, or it expired, was used up or was deleted";
	case 405:
		return "this server does not support that request: is linksyncd up to date?";
	case 413:
		return "too large for this server: its limit is set with linksyncd --max-size";
	case 415:
		return "the server does not accept this type: pass another --type";
	case 422:
		return "the content is not what its type says: check the file, or pass --type";
	case 429:
		return "too many requests: wait a minute and try again";
	case 503:
		return "the server is busy or its storage unavailable: try again later";
	default:
		if (status >= 500)
			return "the server failed: try again later, its log says why";
		return "the server refused the request";
	}
}

int cli_http_fail(int rc, const struct cli_response *resp, const char *where, bool via_server)
{
	const char *hint = via_server
			       ? ": is linksyncd running there? set --server or LINKSYNC_SERVER"
			       : ": check the link, and that its server is up";
	char *code = NULL, *message = NULL;
	long status = resp->status;
	int exit_code;

	if (rc == LKS_ENOMEM)
		return cli_fail(CLI_EXIT_FAILURE, "out of memory");
	if (resp->interrupted)
		return cli_fail(130, "interrupted");
	if (resp->binary_refused)
		return cli_fail(CLI_EXIT_USAGE,
				"not writing %s content to the terminal: use -o FILE or -O, or "
				"pipe it",
				resp->content_type ? resp->content_type : "binary");
	if (resp->sink_failed)
		return cli_fail(CLI_EXIT_IO, "cannot write the output: %s",
				strerror(resp->sink_errno));
	if (resp->source_failed)
		return cli_fail(CLI_EXIT_IO, "cannot read the input: %s",
				strerror(resp->source_errno));
	if (rc == LKS_EPROTO)
		return cli_fail(CLI_EXIT_SERVER,
				"%s gave an unexpected answer (%s): is it a linksync server?",
				where, lks_error_message());
	if (rc == LKS_ENETWORK || (rc < 0 && status == 0)) {
		switch ((CURLcode)resp->curl_code) {
		case CURLE_COULDNT_CONNECT:
			return cli_fail(CLI_EXIT_NETWORK, "cannot reach %s (connection refused)%s",
					where, hint);
		case CURLE_COULDNT_RESOLVE_HOST:
			return cli_fail(CLI_EXIT_NETWORK, "cannot reach %s (unknown host name)%s",
					where, hint);
		case CURLE_OPERATION_TIMEDOUT:
			return cli_fail(CLI_EXIT_NETWORK, "%s did not answer in time (%s)%s", where,
					resp->curl_error, hint);
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CERTPROBLEM:
			return cli_fail(CLI_EXIT_NETWORK,
					"TLS with %s failed (%s): check its certificate", where,
					resp->curl_error);
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
			return cli_fail(CLI_EXIT_USAGE, "bad address %s (%s)", where,
					resp->curl_error);
		case CURLE_TOO_MANY_REDIRECTS:
			return cli_fail(CLI_EXIT_SERVER, "%s redirects in a loop", where);
		default:
			return cli_fail(CLI_EXIT_NETWORK,
					"the exchange with %s broke off (%s): try again", where,
					resp->curl_error[0]
					    ? resp->curl_error
					    : curl_easy_strerror((CURLcode)resp->curl_code));
		}
	}
	if (status >= 300 && status < 400)
		return cli_fail(CLI_EXIT_SERVER,
				"%s answered %ld (a redirect to %s): use the final address", where,
				status, resp->location ? resp->location : "nowhere");

	exit_code = cli_exit_from_status(status);
	if (cli_error_body_parse(&code, &message, resp->body, resp->body_len) < 0)
		return cli_fail(CLI_EXIT_FAILURE, "out of memory");
	if (message && message[0])
		cli_fail(exit_code, "%s: %s [%ld%s%s]", where, message, status, code ? " " : "",
			 code ? code : "");
	else
		cli_fail(exit_code, "%s: %s [%ld]", where, status_advice(status), status);
	free(code);
	free(message);
	return exit_code;
}
