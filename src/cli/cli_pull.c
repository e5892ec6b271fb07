/* `linksync pull` and `linksync scan`: fetch an item's exact bytes to stdout,
 * to a named file, or under the name the server proposes (made safe), never
 * leaving half a file behind; scan first reads the link out of a QR code. */
#include "cli.h"

#include "linksync/error.h"
#include "linksync/qr.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_pull_remote_name(char **out, const struct cli_ref *ref, const struct cli_response *resp)
{
	char *proposed = NULL;
	int rc;

	*out = NULL;
	rc = cli_disposition_filename(&proposed, resp->content_disposition);
	if (rc < 0)
		return rc;
	rc = cli_filename_sanitize(out, proposed);
	free(proposed);
	if (rc < 0 || *out)
		return rc;
	if (ref->id) {
		const char *ext = cli_ext_for_type(resp->content_type);
		size_t size = strlen(ref->id) + strlen(ext) + 1;

		*out = malloc(size);
		if (!*out)
			return LKS_ENOMEM;
		snprintf(*out, size, "%s%s", ref->id, ext);
		return 0;
	}
	{
		const char *end = ref->fetch + strcspn(ref->fetch, "?#");
		const char *seg = end;
		char *last;

		while (seg > ref->fetch && seg[-1] != '/')
			seg--;
		last = strndup(seg, (size_t)(end - seg));
		if (!last)
			return LKS_ENOMEM;
		rc = cli_filename_sanitize(out, last);
		free(last);
		if (rc < 0 || *out)
			return rc;
	}
	*out = strdup("download");
	return *out ? 0 : LKS_ENOMEM;
}

int cli_pull_ref(struct cli_global *g, const struct cli_ref *ref, const struct cli_pull_opts *o)
{
	struct cli_tmpfile tmp;
	struct cli_request req = {0};
	struct cli_response resp = {0};
	char *name = NULL;
	const char *dest = NULL;
	struct stat st;
	int rc, exit_code = CLI_EXIT_OK;
	bool to_stdout = !o->remote_name && (!o->output || strcmp(o->output, "-") == 0);

	memset(&tmp, 0, sizeof(tmp));
	if (ref->had_key) {
		/* The #key stays here: the metadata says whether to decrypt. */
		bool plain = false;

		rc = cli_e2e_pull(g, ref, o, &plain);
		if (!plain)
			return rc;
		if (!g->quiet)
			cli_warn("the link has a #key but the item is not end-to-end encrypted: "
				 "pulled as it is");
	}
	if (!to_stdout) {
		/* -O writes beside the current directory's files under a name
		 * known only once the answer arrives: a temporary file here,
		 * renamed at the end. */
		dest = o->remote_name ? "./linksync-download" : o->output;
		rc = cli_tmpfile_open(&tmp, dest);
		if (rc < 0)
			return cli_fail(rc == LKS_ENOMEM ? CLI_EXIT_FAILURE : CLI_EXIT_IO, "%s",
					lks_error_message());
	}

	req.method = "GET";
	req.url = ref->fetch;
	req.sink = to_stdout ? stdout : tmp.f;
	req.refuse_binary_tty = to_stdout && !o->output && g->stdout_tty;
	req.progress = g->stderr_tty && !g->quiet;
	rc = cli_http_do(&resp, &req);
	if (rc < 0 || resp.status < 200 || resp.status >= 300) {
		exit_code = cli_http_fail(rc, &resp, ref->url, false);
		goto out;
	}
	if (to_stdout) {
		if (fflush(stdout) != 0)
			exit_code = cli_fail(CLI_EXIT_IO, "cannot write to standard output: %s",
					     strerror(errno));
		goto out;
	}
	if (!o->remote_name) {
		rc = cli_tmpfile_commit(&tmp, false);
		if (rc < 0)
			exit_code = cli_fail(CLI_EXIT_IO, "%s", lks_error_message());
		goto out;
	}

	rc = cli_pull_remote_name(&name, ref, &resp);
	if (rc < 0) {
		exit_code = cli_fail(CLI_EXIT_FAILURE, "out of memory");
		goto out;
	}
	if (!o->force && lstat(name, &st) == 0) {
		exit_code = cli_fail(
		    CLI_EXIT_IO, "%s already exists: pass --force to replace it, or -o FILE", name);
		goto out;
	}
	/* Point the commit at the chosen name. */
	free(tmp.dest);
	tmp.dest = strdup(name);
	if (!tmp.dest) {
		exit_code = cli_fail(CLI_EXIT_FAILURE, "out of memory");
		goto out;
	}
	rc = cli_tmpfile_commit(&tmp, !o->force);
	if (rc < 0) {
		exit_code = cli_fail(CLI_EXIT_IO, "%s", lks_error_message());
		goto out;
	}
	if (!g->quiet)
		printf("%s\n", name);
out:
	cli_tmpfile_abort(&tmp);
	free(name);
	cli_response_clear(&resp);
	return exit_code;
}

/* Parses pull's and scan's options into o. Returns CLI_OPT_CONTINUE, or an
 * exit code. */
static int parse_pull_opts(struct cli_global *g, struct cli_pull_opts *o, int argc, char **argv,
			   const char *cmd)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"remote-name", no_argument, NULL, 'O'},
	    {"force", no_argument, NULL, 'f'},
	    {"follow", no_argument, NULL, 'F'},
	    CLI_COMMON_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	int c, rc;

	memset(o, 0, sizeof(*o));
	for (;;) {
		c = getopt_long(argc, argv, "o:Of" CLI_COMMON_SHORTOPTS, opts, NULL);
		if (c == -1)
			break;
		rc = cli_common_option(g, c, cmd);
		if (rc != CLI_OPT_NOT_COMMON) {
			if (rc == CLI_OPT_CONTINUE)
				continue;
			return rc;
		}
		switch (c) {
		case 'o':
			if (optarg[0] == '\0')
				return cli_usage_error(cmd, "-o needs a file name");
			o->output = optarg;
			break;
		case 'O':
			o->remote_name = true;
			break;
		case 'f':
			o->force = true;
			break;
		case 'F':
			o->follow = true;
			break;
		}
	}
	if (o->output && o->remote_name)
		return cli_usage_error(cmd, "-o and -O exclude each other");
	/* Versions one after the other on a stream could not be told apart:
	 * following replaces a file. */
	if (o->follow && !o->remote_name && (!o->output || strcmp(o->output, "-") == 0))
		return cli_usage_error(cmd, "--follow needs -o FILE or -O (each new version "
					    "replaces the file)");
	if (optind + 1 != argc)
		return cli_usage_error(cmd,
				       optind >= argc ? "missing argument" : "too many arguments");
	return CLI_OPT_CONTINUE;
}

/* A reference for a link that is not a linksync item link: fetched as is. */
static int plain_ref(struct cli_ref *ref, const char *url)
{
	memset(ref, 0, sizeof(*ref));
	ref->url = strndup(url, strcspn(url, "#"));
	ref->fetch = ref->url ? strdup(ref->url) : NULL;
	ref->had_key = strchr(url, '#') != NULL && strchr(url, '#')[1] != '\0';
	if (!ref->fetch) {
		cli_ref_clear(ref);
		return LKS_ENOMEM;
	}
	return 0;
}

static int pull_arg(struct cli_global *g, const char *arg, const struct cli_pull_opts *o,
		    const char *cmd)
{
	struct cli_ref ref;
	int rc = cli_ref_parse(&ref, arg, g->server);

	if (rc == LKS_EINVAL && cli_is_http_url(arg))
		rc = plain_ref(&ref, arg);
	if (rc == LKS_ENOMEM)
		return cli_fail(CLI_EXIT_FAILURE, "out of memory");
	if (rc < 0)
		return cli_usage_error(cmd, "%s", lks_error_message());
	if (o->follow && !ref.id) {
		cli_ref_clear(&ref);
		return cli_usage_error(cmd, "--follow needs a linksync link (%s is not one)", arg);
	}
	if (o->follow && ref.had_key) {
		bool plain = false;

		/* Refuses an encrypted item: following does not decrypt. */
		rc = cli_e2e_pull(g, &ref, o, &plain);
		if (!plain) {
			cli_ref_clear(&ref);
			return rc;
		}
	}
	rc = o->follow ? cli_follow(g, &ref, o) : cli_pull_ref(g, &ref, o);
	cli_ref_clear(&ref);
	return rc;
}

int cli_cmd_pull(struct cli_global *g, int argc, char **argv)
{
	struct cli_pull_opts o;
	int rc = parse_pull_opts(g, &o, argc, argv, "pull");

	if (rc != CLI_OPT_CONTINUE)
		return rc;
	return pull_arg(g, argv[optind], &o, "pull");
}

int cli_cmd_scan(struct cli_global *g, int argc, char **argv)
{
	struct cli_pull_opts o;
	unsigned char *image = NULL;
	char *payload = NULL;
	const char *path;
	size_t len = 0;
	int rc = parse_pull_opts(g, &o, argc, argv, "scan");

	if (rc != CLI_OPT_CONTINUE)
		return rc;
	path = argv[optind];
	if (strcmp(path, "-") == 0) {
		rc = cli_read_all(&image, &len, STDIN_FILENO);
		if (rc == 0)
			rc = lks_qr_decode_image(&payload, image, len);
		free(image);
		path = "standard input";
	} else {
		rc = lks_qr_decode_file(&payload, path);
	}
	switch (rc) {
	case 0:
		break;
	case LKS_ENOQR:
		return cli_fail(CLI_EXIT_NOQR,
				"no QR code found in %s: try a sharper, "
				"closer, better lit picture",
				path);
	case LKS_EUNSUPPORTED:
		return cli_fail(CLI_EXIT_IO, "%s is not a PNG or JPEG image", path);
	case LKS_ENOMEM:
		return cli_fail(CLI_EXIT_FAILURE, "out of memory");
	case LKS_EIO:
		/* The core's message names the file already. */
		if (lks_error_message()[0])
			return cli_fail(CLI_EXIT_IO, "cannot read the image %s",
					lks_error_message());
		return cli_fail(CLI_EXIT_IO, "cannot read the image %s", path);
	default:
		return cli_fail(cli_exit_from_err(rc), "cannot read the QR code in %s: %s", path,
				lks_error_message()[0] ? lks_error_message() : lks_strerror(rc));
	}
	if (!cli_is_http_url(payload)) {
		/* Not a link (a Wi-Fi password, a note): the text is the result. */
		printf("%s\n", payload);
		free(payload);
		if (!g->quiet)
			fprintf(stderr, "linksync: the QR code holds text, not an http(s) link\n");
		return CLI_EXIT_NOTURL;
	}
	/* The key, if any, is not repeated on the terminal. */
	if (!g->quiet)
		fprintf(stderr, "linksync: found %.*s%s\n", (int)strcspn(payload, "#"), payload,
			strchr(payload, '#') ? " (with an end-to-end key)" : "");
	rc = pull_arg(g, payload, &o, "scan");
	explicit_bzero(payload, strlen(payload));
	free(payload);
	return rc;
}
