/* `linksync push`: opens the file (streamed when it is a regular file, read
 * into memory when it is stdin or a pipe), picks its type, POSTs it, keeps the
 * owner token, and shows the link: the URL on stdout for scripts, the QR code
 * where a person is looking. */
#include "cli.h"

#include "linksync/error.h"
#include "linksync/id.h"
#include "linksync/qr.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* The upload source, shared with update                               */

/* Text or not, judged on a file's first bytes; a multi-byte character cut
 * by the end of the sample does not count against it. */
static bool looks_like_text(const unsigned char *p, size_t n, bool complete)
{
	size_t cut;

	if (memchr(p, '\0', n))
		return false;
	if (cli_utf8_valid(p, n))
		return true;
	if (complete)
		return false;
	for (cut = 1; cut <= 3 && cut <= n; cut++) {
		if (cli_utf8_valid(p, n - cut))
			return true;
	}
	return false;
}

void cli_source_close(struct cli_source *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->mem);
	free(s->name);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->body.fd = -1;
}

int cli_source_open(struct cli_source *s, const char *path, const char *type_override)
{
	struct stat st;
	const char *slash;
	int rc;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->body.fd = -1;
	s->label = path;
	if (strcmp(path, "-") == 0) {
		s->label = "standard input";
		rc = cli_read_all(&s->mem, &s->body.len, STDIN_FILENO);
		if (rc < 0)
			goto read_failed;
		s->body.mem = s->mem;
		s->type = type_override				       ? type_override
			  : looks_like_text(s->mem, s->body.len, true) ? "text/plain; charset=utf-8"
								       : "application/octet-stream";
		return 0;
	}

	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		rc = errno;
		cli_source_close(s);
		if (rc == ENOENT)
			return cli_fail(CLI_EXIT_IO, "%s: no such file", path);
		return cli_fail(CLI_EXIT_IO, "cannot read %s: %s", path, strerror(rc));
	}
	if (fstat(s->fd, &st) != 0) {
		rc = lks_error_set(LKS_EIO, "%s", strerror(errno));
		goto read_failed;
	}
	if (S_ISDIR(st.st_mode)) {
		cli_source_close(s);
		return cli_fail(CLI_EXIT_IO,
				"%s is a directory: push one file (or an archive of it)", path);
	}
	if (S_ISREG(st.st_mode)) {
		/* A pipe's name ("63" for <(cmd)) means nothing to the receiver. */
		slash = strrchr(path, '/');
		s->name = strdup(slash ? slash + 1 : path);
		if (!s->name) {
			rc = LKS_ENOMEM;
			goto read_failed;
		}
		/* Streamed: a 25 MiB file is not held in memory. */
		s->body.fd = s->fd;
		s->body.len = (size_t)st.st_size;
	} else {
		/* A pipe or a device has no length to announce. */
		rc = cli_read_all(&s->mem, &s->body.len, s->fd);
		if (rc < 0)
			goto read_failed;
		s->body.mem = s->mem;
	}
	s->type = type_override ? type_override : cli_type_for_name(path);
	if (!s->type) {
		unsigned char sample[4096];
		ssize_t n;
		bool complete;

		if (s->mem) {
			n = (ssize_t)(s->body.len < sizeof(sample) ? s->body.len : sizeof(sample));
			memcpy(sample, s->mem, (size_t)n);
		} else {
			n = pread(s->fd, sample, sizeof(sample), 0);
			if (n < 0) {
				rc = lks_error_set(LKS_EIO, "%s", strerror(errno));
				goto read_failed;
			}
		}
		complete = (size_t)n == s->body.len;
		s->type = looks_like_text(sample, (size_t)n, complete) ? "text/plain; charset=utf-8"
								       : "application/octet-stream";
	}
	return 0;
read_failed:
	cli_source_close(s);
	if (rc == LKS_ENOMEM)
		return cli_fail(CLI_EXIT_FAILURE, "out of memory");
	return cli_fail(CLI_EXIT_IO, "cannot read %s: %s", path, lks_error_message());
}

/* ------------------------------------------------------------------ */
/* Showing the link                                                    */

/* "in 2 h" style rendering of an RFC 3339 UTC time, in local time. */
static void describe_expiry(char *buf, size_t size, const char *expires_at)
{
	struct tm tm;
	char when[64];
	const char *end;
	time_t t, now = time(NULL);
	long left;

	memset(&tm, 0, sizeof(tm));
	end = expires_at ? strptime(expires_at, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!end) {
		snprintf(buf, size, "%s", expires_at ? expires_at : "unknown");
		return;
	}
	t = timegm(&tm);
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M %Z", &tm);
	left = (long)difftime(t, now);
	if (left < 0)
		snprintf(buf, size, "%s", when);
	else if (left < 3600)
		snprintf(buf, size, "%s (in %ld min)", when, (left + 59) / 60);
	else if (left < 2 * 86400)
		snprintf(buf, size, "%s (in %ld h)", when, (left + 1800) / 3600);
	else
		snprintf(buf, size, "%s (in %ld days)", when, (left + 43200) / 86400);
}

/* ------------------------------------------------------------------ */
/* push                                                                */

static int append_param(char **url, const char *key, const char *value, bool *first)
{
	char *esc = curl_easy_escape(NULL, value, 0);
	size_t size;
	char *bigger;

	if (!esc)
		return LKS_ENOMEM;
	size = strlen(*url) + strlen(key) + strlen(esc) + 3;
	bigger = realloc(*url, size);
	if (!bigger) {
		curl_free(esc);
		return LKS_ENOMEM;
	}
	snprintf(bigger + strlen(bigger), size - strlen(bigger), "%c%s=%s", *first ? '?' : '&', key,
		 esc);
	*first = false;
	*url = bigger;
	curl_free(esc);
	return 0;
}

struct push_opts {
	const char *ttl, *name, *type, *reads, *png, *svg;
	bool json, watch, encrypt, password;
};

/* Saves the owner token; a failure costs update/delete, not the push. */
static void save_token(struct cli_global *g, json_t *doc)
{
	struct cli_token t = {0};
	char *dir = NULL;
	int rc;

	t.id = (char *)json_string_value(json_object_get(doc, "id"));
	t.url = (char *)json_string_value(json_object_get(doc, "url"));
	t.token = (char *)json_string_value(json_object_get(doc, "owner_token"));
	t.expires_at = (char *)json_string_value(json_object_get(doc, "expires_at"));
	t.server = (char *)g->server;
	if (!t.token || !t.id)
		return;
	rc = cli_tokens_dir(&dir);
	if (rc == 0)
		rc = cli_tokens_add(dir, &t);
	if (rc < 0)
		cli_warn("cannot save the owner token (%s): update and delete will need "
			 "--token %s",
			 lks_error_message()[0] ? lks_error_message() : lks_strerror(rc), t.token);
	free(dir);
}

/* push --watch sends a snapshot read into memory rather than a stream, so
 * the version pushed is exactly the one hashed, even when the file is saved
 * again during the upload. Returns 0 or an exit code after reporting. */
static int watch_snapshot(struct cli_source *s)
{
	int rc;

	if (s->body.fd < 0)
		return cli_usage_error("push", "--watch needs a regular file (%s is not one)",
				       s->label);
	rc = cli_read_all(&s->mem, &s->body.len, s->body.fd);
	if (rc == LKS_ENOMEM)
		return cli_fail(CLI_EXIT_FAILURE, "out of memory");
	if (rc < 0)
		return cli_fail(CLI_EXIT_IO, "cannot read %s: %s", s->label, lks_error_message());
	s->body.mem = s->mem;
	s->body.fd = -1;
	return 0;
}

/* Hands the pushed item over to the watcher. Returns an exit code. */
static int watch(struct cli_global *g, const struct cli_source *src, const char *path,
		 const char *link, json_t *doc)
{
	struct cli_watch w = {0};
	const char *id = json_string_value(json_object_get(doc, "id"));
	char *api = NULL;
	size_t size;
	int exit_code;

	w.token = json_string_value(json_object_get(doc, "owner_token"));
	if (!id || !cli_id_valid(id) || !w.token)
		return cli_fail(CLI_EXIT_SERVER,
				"%s answered without an id or owner token: cannot watch",
				g->server);
	/* Updates go where the push went (the link may name a public address
	 * this machine reaches differently). */
	size = strlen(g->server) + sizeof("/api/v1/items/") + strlen(id);
	api = malloc(size);
	if (!api)
		return cli_fail(CLI_EXIT_FAILURE, "out of memory");
	snprintf(api, size, "%s/api/v1/items/%s", g->server, id);
	w.path = path;
	w.type = src->type;
	w.link = link;
	w.api = api;
	lks_sha256(w.hash, src->body.mem, src->body.len);
	if (cli_time_parse_utc(&w.expires_at,
			       json_string_value(json_object_get(doc, "expires_at"))) < 0)
		w.expires_at = 0;
	exit_code = cli_watch_run(g, &w);
	free(api);
	return exit_code;
}

int cli_cmd_push(struct cli_global *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"ttl", required_argument, NULL, 't'},
	    {"name", required_argument, NULL, 'n'},
	    {"type", required_argument, NULL, 'T'},
	    {"reads", required_argument, NULL, 'r'},
	    {"png", required_argument, NULL, 'P'},
	    {"svg", required_argument, NULL, 'S'},
	    {"json", no_argument, NULL, 'j'},
	    {"watch", no_argument, NULL, 'w'},
	    {"encrypt", no_argument, NULL, 'E'},
	    {"password", no_argument, NULL, 'p'},
	    CLI_COMMON_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	struct push_opts o = {0};
	struct cli_source src;
	struct cli_request req = {0};
	struct cli_response resp = {0};
	char *url = NULL, *full = NULL, *password = NULL;
	char proof[44] = "", fragment[23] = "";
	json_t *doc = NULL;
	const char *link, *expires;
	char when[128];
	FILE *show;
	bool first = true, stdout_taken;
	int c, rc, exit_code = CLI_EXIT_OK;

	memset(&src, 0, sizeof(src));
	src.fd = -1;
	for (;;) {
		c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, opts, NULL);
		if (c == -1)
			break;
		rc = cli_common_option(g, c, "push");
		if (rc != CLI_OPT_NOT_COMMON) {
			if (rc == CLI_OPT_CONTINUE)
				continue;
			return rc;
		}
		switch (c) {
		case 't':
			o.ttl = optarg;
			break;
		case 'n':
			o.name = optarg;
			break;
		case 'T':
			o.type = optarg;
			break;
		case 'r':
			o.reads = optarg;
			break;
		case 'P':
			o.png = optarg;
			break;
		case 'S':
			o.svg = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'w':
			o.watch = true;
			break;
		case 'E':
			o.encrypt = true;
			break;
		case 'p':
			o.encrypt = o.password = true;
			break;
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("push", optind >= argc ? "which file? give FILE, or - for "
								"standard input"
							      : "one file at a time");
	if (o.ttl && !cli_ttl_valid(o.ttl))
		return cli_usage_error("push", "bad --ttl '%s': use e.g. 30s, 10m, 2h or 7d",
				       o.ttl);
	if (o.reads && (o.reads[0] == '\0' || strspn(o.reads, "0123456789") != strlen(o.reads) ||
			strlen(o.reads) > 9))
		return cli_usage_error("push", "bad --reads '%s': use a number (0 = unlimited)",
				       o.reads);
	if (o.type && (o.type[0] == '\0' || strpbrk(o.type, "\r\n")))
		return cli_usage_error("push", "bad --type");
	stdout_taken = (o.png && strcmp(o.png, "-") == 0) || (o.svg && strcmp(o.svg, "-") == 0);
	if (o.png && o.svg && strcmp(o.png, "-") == 0 && strcmp(o.svg, "-") == 0)
		return cli_usage_error("push", "--png - and --svg - cannot both use stdout");
	if (stdout_taken && o.json)
		return cli_usage_error("push",
				       "--json and a QR code on stdout (-) exclude each other");

	if (o.watch && o.encrypt)
		return cli_usage_error("push", "--watch does not encrypt: update an encrypted item "
					       "with linksync update LINK FILE");
	if (o.watch && strcmp(argv[optind], "-") == 0)
		return cli_usage_error("push", "--watch needs a FILE to watch, not standard input");
	/* From here on a Ctrl-C is the normal end of a watch, never lost
	 * between two requests. */
	if (o.watch && cli_http_catch_signals() < 0)
		return cli_fail(CLI_EXIT_FAILURE, "%s", lks_error_message());

	rc = cli_source_open(&src, argv[optind], o.type);
	if (rc != 0)
		return rc;
	if (o.encrypt) {
		/* Sealed here: the server gets the envelope alone, and the name
		 * travels inside it. */
		if (o.password) {
			exit_code = cli_password_get(&password, true, "push");
			if (exit_code != 0)
				goto out;
		}
		exit_code = cli_e2e_seal_source(&src, o.name ? o.name : src.name, password, proof,
						fragment);
		if (exit_code != 0)
			goto out;
	}
	if (o.watch) {
		exit_code = watch_snapshot(&src);
		if (exit_code != 0)
			goto out;
	}

	url = malloc(strlen(g->server) + sizeof("/api/v1/items"));
	if (!url)
		goto oom;
	snprintf(url, strlen(g->server) + sizeof("/api/v1/items"), "%s/api/v1/items", g->server);
	if ((o.ttl && append_param(&url, "ttl", o.ttl, &first) < 0) ||
	    (o.reads && append_param(&url, "reads", o.reads, &first) < 0))
		goto oom;
	if (!o.encrypt && (o.name || src.name)) {
		if (append_param(&url, "name", o.name ? o.name : src.name, &first) < 0)
			goto oom;
	}

	req.method = "POST";
	req.url = url;
	req.content_type = src.type;
	req.accept = "application/json";
	req.body = &src.body;
	req.read_proof = o.encrypt ? proof : NULL;
	req.progress = g->stderr_tty && !g->quiet;
	rc = cli_http_do(&resp, &req);
	if (rc < 0 || resp.status < 200 || resp.status >= 300) {
		exit_code = cli_http_fail(rc, &resp, g->server, true);
		goto out;
	}

	doc = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL);
	link = json_string_value(json_object_get(doc, "url"));
	if (!link || !cli_is_http_url(link) || strchr(link, '#')) {
		exit_code = cli_fail(CLI_EXIT_SERVER,
				     "%s answered %ld without a link: is it a linksync server?",
				     g->server, resp.status);
		goto out;
	}
	/* The token store keeps the server's link, never the key. */
	save_token(g, doc);
	if (o.encrypt) {
		/* The key goes after '#' (browsers never send it); the link
		 * with it is what the user asked for, on screen and in the
		 * QR code, and nowhere else. */
		size_t n = strlen(link) + 1 + strlen(fragment) + 1;

		full = malloc(n);
		if (!full)
			goto oom;
		snprintf(full, n, "%s#%s", link, fragment);
		link = full;
		if (json_object_set_new(doc, "link", json_string(full)) < 0)
			goto oom;
	}

	if (o.png) {
		exit_code = cli_qr_write(o.png, link, true, 0);
		if (exit_code != 0)
			goto out;
	}
	if (o.svg) {
		exit_code = cli_qr_write(o.svg, link, false, 0);
		if (exit_code != 0)
			goto out;
	}

	if (o.json && o.encrypt) {
		/* The server's answer plus "link", the link with its key. */
		char *text = json_dumps(doc, JSON_INDENT(2));

		if (!text)
			goto oom;
		printf("%s\n", text);
		explicit_bzero(text, strlen(text));
		free(text);
		goto shown;
	}
	if (o.json) {
		fwrite(resp.body, 1, resp.body_len, stdout);
		if (resp.body_len == 0 || resp.body[resp.body_len - 1] != '\n')
			putchar('\n');
		goto shown;
	}
	expires = json_string_value(json_object_get(doc, "expires_at"));
	if (stdout_taken) {
		/* stdout carries the image: the link goes beside it. */
		if (!g->quiet)
			fprintf(stderr, "%s\n", link);
		goto shown;
	}
	if (g->quiet || (!g->stdout_tty && !g->stderr_tty)) {
		printf("%s\n", link);
		goto shown;
	}
	/* The QR code goes where a person looks; stdout, when it is not a
	 * terminal, keeps the bare link for scripts. */
	describe_expiry(when, sizeof(when), expires);
	show = g->stdout_tty ? stdout : stderr;
	if (cli_qr_print(show, true, link) < 0)
		cli_warn("cannot draw the QR code: %s", lks_error_message());
	fprintf(show, "%s\nexpires %s\n", link, when);
	if (!g->stdout_tty)
		printf("%s\n", link);
shown:
	if (o.watch) {
		/* Whoever waits for the link (a script reading stdout) gets it
		 * now, not when the watch ends. */
		if (fflush(stdout) != 0) {
			exit_code = cli_fail(CLI_EXIT_IO, "cannot write to standard output");
			goto out;
		}
		exit_code = watch(g, &src, argv[optind], link, doc);
	}
	goto out;
oom:
	exit_code = cli_fail(CLI_EXIT_FAILURE, "out of memory");
out:
	json_decref(doc);
	cli_response_clear(&resp);
	free(url);
	if (full) {
		explicit_bzero(full, strlen(full));
		free(full);
	}
	if (password) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	explicit_bzero(fragment, sizeof(fragment));
	explicit_bzero(proof, sizeof(proof));
	cli_source_close(&src);
	return exit_code;
}
