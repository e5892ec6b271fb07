/* `linksync update` and `linksync delete`: act on an item one pushed, with the
 * owner token push saved (or --token), against the server the link points
 * at; delete forgets the token, and prunes expired ones, afterwards. */
#include "cli.h"

#include "linksync/error.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct manage {
	struct cli_ref ref;
	struct cli_token *stored;
	const char *token;
	char *dir;
	char *api; /* {base}/api/v1/items/{id} */
};

static void manage_clear(struct manage *m)
{
	cli_ref_clear(&m->ref);
	cli_token_free(m->stored);
	free(m->dir);
	free(m->api);
	memset(m, 0, sizeof(*m));
}

/* Resolves the item, its API address and its token. Returns 0 or an exit
 * code after reporting. */
static int manage_open(struct manage *m, struct cli_global *g, const char *arg, const char *token,
		       const char *cmd)
{
	const char *base;
	size_t size;
	int rc;

	memset(m, 0, sizeof(*m));
	rc = cli_ref_parse(&m->ref, arg, g->server);
	if (rc == LKS_ENOMEM)
		return cli_fail(CLI_EXIT_FAILURE, "out of memory");
	if (rc < 0)
		return cli_usage_error(cmd, "%s", lks_error_message());
	rc = cli_tokens_dir(&m->dir);
	if (rc == 0)
		rc = cli_tokens_find(&m->stored, m->dir, m->ref.id);
	if (rc < 0 && !token)
		return cli_fail(cli_exit_from_err(rc), "cannot read the saved tokens: %s",
				lks_error_message());
	m->token = token ? token : m->stored ? m->stored->token : NULL;
	if (!m->token || !m->token[0])
		return cli_fail(CLI_EXIT_NOTOKEN,
				"no owner token saved for %s: pass --token TOKEN (push --json "
				"printed it as owner_token)",
				m->ref.url);
	/* A link names its server; a bare id is found where it was pushed. */
	base = m->ref.base;
	if (!cli_is_http_url(arg) && m->stored && cli_is_http_url(m->stored->server))
		base = m->stored->server;
	size = strlen(base) + sizeof("/api/v1/items/") + strlen(m->ref.id);
	m->api = malloc(size);
	if (!m->api)
		return cli_fail(CLI_EXIT_FAILURE, "out of memory");
	snprintf(m->api, size, "%s/api/v1/items/%s", base, m->ref.id);
	return 0;
}

static void forget(struct manage *m)
{
	char now[21];

	cli_now_utc(now);
	if (m->dir && cli_tokens_remove(m->dir, m->ref.id, now) < 0)
		cli_warn("cannot update the saved tokens: %s", lks_error_message());
}

int cli_cmd_update(struct cli_global *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"token", required_argument, NULL, 'k'},
	    {"type", required_argument, NULL, 'T'},
	    {"json", no_argument, NULL, 'j'},
	    {"encrypt", no_argument, NULL, 'E'},
	    {"password", no_argument, NULL, 'p'},
	    CLI_COMMON_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	struct manage m;
	struct cli_source src;
	char proof[44] = "";
	bool encrypt = false, add_password = false, plain = true;
	struct cli_request req = {0};
	struct cli_response resp = {0};
	const char *token = NULL, *type = NULL;
	json_t *doc = NULL;
	bool json = false;
	int c, rc, exit_code;

	memset(&m, 0, sizeof(m));
	memset(&src, 0, sizeof(src));
	src.fd = -1;
	for (;;) {
		c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, opts, NULL);
		if (c == -1)
			break;
		rc = cli_common_option(g, c, "update");
		if (rc != CLI_OPT_NOT_COMMON) {
			if (rc == CLI_OPT_CONTINUE)
				continue;
			return rc;
		}
		if (c == 'k')
			token = optarg;
		else if (c == 'T')
			type = optarg;
		else if (c == 'j')
			json = true;
		else if (c == 'E')
			encrypt = true;
		else if (c == 'p')
			encrypt = add_password = true;
	}
	if (optind + 2 != argc)
		return cli_usage_error("update", "give the item's URL (or id) and the new FILE");
	if (type && (type[0] == '\0' || strpbrk(type, "\r\n")))
		return cli_usage_error("update", "bad --type");

	exit_code = manage_open(&m, g, argv[optind], token, "update");
	if (exit_code != 0)
		goto out;
	exit_code = cli_source_open(&src, argv[optind + 1], type);
	if (exit_code != 0)
		goto out;
	/* An encrypted item is re-sealed with the secret of its link; the
	 * metadata says whether it is one. (Plain content for an encrypted item
	 * the server refuses.) */
	if (encrypt || m.ref.had_key) {
		exit_code = cli_e2e_update_source(g, &m.ref, m.api, &src, encrypt, add_password,
						  proof, &plain);
		if (exit_code != 0)
			goto out;
	}

	req.method = "PUT";
	req.url = m.api;
	req.content_type = src.type;
	req.bearer = m.token;
	req.accept = "application/json";
	req.read_proof = plain ? NULL : proof;
	req.body = &src.body;
	req.progress = g->stderr_tty && !g->quiet;
	rc = cli_http_do(&resp, &req);
	if (rc < 0 || resp.status < 200 || resp.status >= 300) {
		exit_code = cli_http_fail(rc, &resp, m.ref.url, false);
		goto out;
	}
	/* Keep the latest expiry beside the token. */
	doc = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL);
	if (json_is_string(json_object_get(doc, "expires_at")) && m.stored) {
		struct cli_token t = *m.stored;

		t.expires_at = (char *)json_string_value(json_object_get(doc, "expires_at"));
		if (cli_tokens_add(m.dir, &t) < 0)
			cli_warn("cannot update the saved tokens: %s", lks_error_message());
	}
	if (json) {
		fwrite(resp.body ? resp.body : "{}", 1, resp.body ? resp.body_len : 2, stdout);
		if (!resp.body || resp.body_len == 0 || resp.body[resp.body_len - 1] != '\n')
			putchar('\n');
	} else if (!g->quiet && g->stderr_tty) {
		fprintf(stderr, "linksync: updated %s\n", m.ref.url);
	}
out:
	json_decref(doc);
	cli_response_clear(&resp);
	cli_source_close(&src);
	manage_clear(&m);
	explicit_bzero(proof, sizeof(proof));
	return exit_code;
}

int cli_cmd_delete(struct cli_global *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"token", required_argument, NULL, 'k'},
	    CLI_COMMON_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	struct manage m;
	struct cli_request req = {0};
	struct cli_response resp = {0};
	const char *token = NULL;
	int c, rc, exit_code;

	for (;;) {
		c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, opts, NULL);
		if (c == -1)
			break;
		rc = cli_common_option(g, c, "delete");
		if (rc != CLI_OPT_NOT_COMMON) {
			if (rc == CLI_OPT_CONTINUE)
				continue;
			return rc;
		}
		if (c == 'k')
			token = optarg;
	}
	if (optind + 1 != argc)
		return cli_usage_error("delete", "give the item's URL (or id)");

	exit_code = manage_open(&m, g, argv[optind], token, "delete");
	if (exit_code != 0)
		goto out;
	req.method = "DELETE";
	req.url = m.api;
	req.bearer = m.token;
	req.accept = "application/json";
	rc = cli_http_do(&resp, &req);
	if (rc < 0 || resp.status < 200 || resp.status >= 300) {
		/* Gone already (expired, deleted elsewhere): the token is useless. */
		if (rc == 0 && resp.status == 404)
			forget(&m);
		exit_code = cli_http_fail(rc, &resp, m.ref.url, false);
		goto out;
	}
	forget(&m);
	if (!g->quiet && g->stderr_tty)
		fprintf(stderr, "linksync: deleted %s\n", m.ref.url);
out:
	cli_response_clear(&resp);
	manage_clear(&m);
	return exit_code;
}
