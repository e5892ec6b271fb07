/* End-to-end encryption in the command line (docs/e2e.md): push --encrypt
 * seals the file before anything leaves the machine and keeps the secret for
 * the link's #fragment; pull and scan of a link with a #key fetch the
 * envelope with the read proof and decrypt it; update re-seals with the same
 * secret. The key and the password never go to the server, to a log or to a
 * message; they are wiped from memory once used. */
#include "cli.h"

#include "linksync/envelope.h"
#include "linksync/error.h"
#include "linksync/item.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define PASSWORD_READ_MAX 4096

/* ------------------------------------------------------------------ */
/* Passwords                                                           */

/* The terminal's settings while echo is off, to restore them on Ctrl-C. */
static struct termios saved_tty;
static volatile sig_atomic_t tty_fd = -1;

static void restore_and_die(int sig)
{
	if (tty_fd >= 0)
		tcsetattr(tty_fd, TCSAFLUSH, &saved_tty);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Prints prompt on the terminal fd and reads one line with echo off into
 * buf. Returns the length, or -1. */
static ssize_t read_hidden(int fd, const char *prompt, char *buf, size_t size)
{
	struct termios quiet;
	struct sigaction sa, old_int, old_term;
	size_t n = 0;
	ssize_t r;
	char c;
	bool echo_off = false;

	if (write(fd, prompt, strlen(prompt)) < 0)
		return -1;
	if (tcgetattr(fd, &saved_tty) == 0) {
		quiet = saved_tty;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = restore_and_die;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		tty_fd = fd;
		echo_off = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	for (;;) {
		r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n' || c == '\r')
			break;
		if (n + 1 < size)
			buf[n++] = c;
	}
	buf[n] = '\0';
	if (tty_fd >= 0) {
		if (echo_off)
			tcsetattr(fd, TCSAFLUSH, &saved_tty);
		tty_fd = -1;
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
	}
	return r < 0 ? -1 : (ssize_t)n;
}

int cli_password_get(char **out, bool confirm, const char *cmd)
{
	const char *env = getenv("LINKSYNC_PASSWORD");
	char *first = NULL, *second = NULL;
	int fd = -1, exit_code = 0;
	ssize_t n;

	*out = NULL;
	if (env && env[0]) {
		*out = strdup(env);
		return *out ? 0 : cli_fail(CLI_EXIT_FAILURE, "out of memory");
	}
	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return cli_usage_error(cmd, "a password is needed and there is no terminal to type "
					    "it: set LINKSYNC_PASSWORD");
	first = malloc(PASSWORD_READ_MAX);
	second = malloc(PASSWORD_READ_MAX);
	if (!first || !second) {
		exit_code = cli_fail(CLI_EXIT_FAILURE, "out of memory");
		goto out;
	}
	n = read_hidden(fd, confirm ? "New password: " : "Password: ", first, PASSWORD_READ_MAX);
	if (n < 0) {
		exit_code = cli_fail(CLI_EXIT_IO, "cannot read the password from the terminal");
		goto out;
	}
	if (n == 0) {
		exit_code = cli_usage_error(cmd, "the password is empty");
		goto out;
	}
	if (confirm) {
		n = read_hidden(fd, "Same password again: ", second, PASSWORD_READ_MAX);
		if (n < 0 || strcmp(first, second) != 0) {
			exit_code = cli_usage_error(cmd, "the two passwords differ");
			goto out;
		}
	}
	*out = first;
	first = NULL;
out:
	if (first) {
		explicit_bzero(first, PASSWORD_READ_MAX);
		free(first);
	}
	if (second) {
		explicit_bzero(second, PASSWORD_READ_MAX);
		free(second);
	}
	close(fd);
	return exit_code;
}

static void password_free(char *p)
{
	if (p) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

/* ------------------------------------------------------------------ */
/* Sealing                                                             */

/* The read proof of an envelope for the secret and password, as text. */
static int proof_text(char proof[44], const uint8_t *envelope, size_t len,
		      const uint8_t secret[LKS_E2E_SECRET_BYTES], const char *password)
{
	lks_envelope_header h;
	uint8_t k_read[LKS_ENVELOPE_PROOF_BYTES];
	int rc = lks_envelope_header_parse(&h, envelope, len);

	if (rc == 0)
		rc = lks_envelope_read_proof(k_read, secret, password, &h);
	if (rc == 0)
		cli_base64url_encode(proof, k_read, sizeof(k_read));
	explicit_bzero(k_read, sizeof(k_read));
	return rc;
}

/* Reads a streamed source into memory: what is sealed must be whole. */
static int source_in_memory(struct cli_source *src)
{
	int rc;

	if (src->body.fd < 0)
		return 0;
	rc = cli_read_all(&src->mem, &src->body.len, src->body.fd);
	if (rc == LKS_ENOMEM)
		return cli_fail(CLI_EXIT_FAILURE, "out of memory");
	if (rc < 0)
		return cli_fail(CLI_EXIT_IO, "cannot read %s: %s", src->label, lks_error_message());
	src->body.mem = src->mem;
	src->body.fd = -1;
	return 0;
}

/* Seals src's content with secret and password and makes src send the
 * envelope; *proof gets its read proof. Returns 0 or an exit code. */
static int seal_into(struct cli_source *src, const char *name,
		     const uint8_t secret[LKS_E2E_SECRET_BYTES], const char *password,
		     char proof[44])
{
	uint8_t *envelope = NULL;
	size_t len = 0;
	char *type = NULL;
	int rc, exit_code;

	exit_code = source_in_memory(src);
	if (exit_code != 0)
		return exit_code;
	/* The type as the server would have normalised it, so that a reader
	 * sees the same "text/plain; charset=utf-8" either way. */
	rc = lks_type_normalize(&type, src->type);
	if (rc == LKS_ENOMEM)
		return cli_fail(CLI_EXIT_FAILURE, "out of memory");
	if (rc < 0)
		return cli_fail(CLI_EXIT_USAGE, "cannot encrypt %s: bad type '%s'", src->label,
				src->type);
	rc = lks_envelope_seal(&envelope, &len, secret, password, 0, type, name, src->body.mem,
			       src->body.len);
	free(type);
	if (rc == LKS_ENOMEM)
		return cli_fail(CLI_EXIT_FAILURE, "out of memory");
	if (rc < 0)
		return cli_fail(rc == LKS_EINVAL ? CLI_EXIT_USAGE : cli_exit_from_err(rc),
				"cannot encrypt %s: %s", src->label, lks_error_message());
	rc = proof_text(proof, envelope, len, secret, password);
	if (rc < 0) {
		free(envelope);
		return cli_fail(CLI_EXIT_FAILURE, "cannot derive the read proof: %s",
				lks_error_message());
	}
	/* The plaintext is no longer needed: only the envelope goes out. */
	if (src->mem) {
		explicit_bzero(src->mem, src->body.len);
		free(src->mem);
	}
	src->mem = envelope;
	src->body.mem = envelope;
	src->body.len = len;
	src->body.fd = -1;
	src->type = LKS_ENVELOPE_MEDIA_TYPE;
	return 0;
}

int cli_e2e_seal_source(struct cli_source *src, const char *name, const char *password,
			char proof[44], char fragment[23])
{
	uint8_t secret[LKS_E2E_SECRET_BYTES];
	int exit_code;

	if (lks_e2e_secret_new(secret) < 0)
		return cli_fail(CLI_EXIT_FAILURE, "no random bytes: %s", lks_error_message());
	exit_code = seal_into(src, name, secret, password, proof);
	if (exit_code == 0)
		lks_e2e_fragment_encode(fragment, secret);
	explicit_bzero(secret, sizeof(secret));
	return exit_code;
}

/* ------------------------------------------------------------------ */
/* Metadata                                                            */

struct e2e_meta {
	bool encrypted;
	lks_envelope_header header;
};

/* GETs the metadata at api ({base}/api/v1/items/{id}; NULL: from ref).
 * With lenient, an answer that is not a linksync item's metadata (an error
 * status, not JSON) is taken as "not encrypted": the request that follows
 * then reports what is wrong with the link. Returns 0 or an exit code. */
static int fetch_meta(struct e2e_meta *m, const struct cli_ref *ref, const char *api, bool lenient)
{
	struct cli_request req = {0};
	struct cli_response resp = {0};
	char *url = NULL;
	json_t *doc = NULL;
	const char *text;
	size_t size = strlen(ref->base) + sizeof("/api/v1/items/") + strlen(ref->id);
	int rc, exit_code = 0;

	memset(m, 0, sizeof(*m));
	url = api ? strdup(api) : malloc(size);
	if (!url)
		return cli_fail(CLI_EXIT_FAILURE, "out of memory");
	if (!api)
		snprintf(url, size, "%s/api/v1/items/%s", ref->base, ref->id);
	req.method = "GET";
	req.url = url;
	req.accept = "application/json";
	rc = cli_http_do(&resp, &req);
	if (lenient && rc == 0 && (resp.status < 200 || resp.status >= 300))
		goto out;
	if (rc < 0 || resp.status < 200 || resp.status >= 300) {
		exit_code = cli_http_fail(rc, &resp, ref->url, false);
		goto out;
	}
	doc = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL);
	if (lenient && !json_is_object(doc))
		goto out;
	if (!json_is_object(doc)) {
		exit_code = cli_fail(CLI_EXIT_SERVER,
				     "%s: the metadata is not JSON: is it a "
				     "linksync server?",
				     ref->url);
		goto out;
	}
	m->encrypted = json_is_true(json_object_get(doc, "encrypted"));
	if (!m->encrypted)
		goto out;
	text = json_string_value(json_object_get(doc, "envelope_header"));
	if (!text || lks_envelope_header_from_text(&m->header, text, strlen(text)) < 0)
		exit_code = cli_fail(CLI_EXIT_SERVER,
				     "%s: the server gave no valid envelope header for this "
				     "encrypted item",
				     ref->url);
out:
	json_decref(doc);
	cli_response_clear(&resp);
	free(url);
	return exit_code;
}

/* The secret of ref's #key. Returns 0 or an exit code. */
static int ref_secret(uint8_t secret[LKS_E2E_SECRET_BYTES], const struct cli_ref *ref,
		      const char *cmd)
{
	if (!ref->key)
		return cli_fail(CLI_EXIT_DECRYPT,
				"%s is end-to-end encrypted and the link has no #key: %s needs the "
				"whole link, with the part after '#'",
				ref->url, cmd);
	if (lks_e2e_fragment_decode(secret, ref->key, strlen(ref->key)) < 0)
		return cli_fail(CLI_EXIT_DECRYPT,
				"the #key of the link to %s is not a valid key (%d characters of "
				"base64url): copy the whole link",
				ref->url, LKS_E2E_FRAGMENT_LEN);
	return 0;
}

/* Derives the keys of header, asking for the password when it needs one;
 * *password keeps what was typed (or NULL). Returns 0 or an exit code. */
static int derive(lks_envelope_keys *keys, char **password,
		  const uint8_t secret[LKS_E2E_SECRET_BYTES], const lks_envelope_header *header,
		  const char *cmd)
{
	int rc, exit_code;

	*password = NULL;
	if (header->flags & LKS_ENVELOPE_FLAG_PASSWORD) {
		exit_code = cli_password_get(password, false, cmd);
		if (exit_code != 0)
			return exit_code;
	}
	rc = lks_envelope_keys_derive(keys, secret, *password, header);
	if (rc == LKS_ENOMEM)
		return cli_fail(CLI_EXIT_FAILURE, "out of memory");
	if (rc < 0)
		return cli_fail(CLI_EXIT_DECRYPT, "cannot derive the keys: %s",
				lks_error_message());
	return 0;
}

/* The failure of a request that carried a read proof. */
static int proof_fail(int rc, const struct cli_response *resp, const struct cli_ref *ref,
		      bool with_password)
{
	if (rc == 0 && resp->status == 403)
		return cli_fail(CLI_EXIT_DECRYPT,
				"%s: the server refused the key%s: %s (or the item was updated "
				"meanwhile: try again)",
				ref->url, with_password ? " and password" : "",
				with_password ? "the password or the link is wrong"
					      : "the link's #key is wrong");
	return cli_http_fail(rc, resp, ref->url, false);
}

/* ------------------------------------------------------------------ */
/* pull                                                                */

/* The name -O saves a decrypted item under: its own, made safe twice (the
 * server's rules, then the client's), else the id with an extension. */
static int decrypted_name(char **out, const struct cli_ref *ref, const char *name, const char *type)
{
	char *clean = NULL;
	const char *ext;
	size_t size;
	int rc;

	*out = NULL;
	if (name) {
		rc = lks_name_sanitize(&clean, name, strlen(name));
		if (rc == LKS_ENOMEM)
			return rc;
		if (clean) {
			rc = cli_filename_sanitize(out, clean);
			free(clean);
			if (rc < 0 || *out)
				return rc;
		}
	}
	ext = cli_ext_for_type(type);
	size = strlen(ref->id) + strlen(ext) + 1;
	*out = malloc(size);
	if (!*out)
		return LKS_ENOMEM;
	snprintf(*out, size, "%s%s", ref->id, ext);
	return 0;
}

/* Writes the decrypted content as o says. Returns an exit code. */
static int write_plaintext(struct cli_global *g, const struct cli_ref *ref,
			   const struct cli_pull_opts *o, const char *type, const char *name,
			   const uint8_t *content, size_t len)
{
	struct cli_tmpfile tmp;
	char *chosen = NULL;
	const char *dest;
	struct stat st;
	int rc, exit_code = CLI_EXIT_OK;

	memset(&tmp, 0, sizeof(tmp));
	if (!o->remote_name && (!o->output || strcmp(o->output, "-") == 0)) {
		if (!o->output && g->stdout_tty &&
		    (memchr(content, '\0', len) || !cli_utf8_valid(content, len)))
			return cli_fail(CLI_EXIT_USAGE,
					"not writing %s content to the terminal: use -o FILE or "
					"-O, or pipe it",
					type);
		if (len > 0 && fwrite(content, 1, len, stdout) != len)
			return cli_fail(CLI_EXIT_IO, "cannot write to standard output: %s",
					strerror(errno));
		if (fflush(stdout) != 0)
			return cli_fail(CLI_EXIT_IO, "cannot write to standard output: %s",
					strerror(errno));
		return CLI_EXIT_OK;
	}
	dest = o->output;
	if (o->remote_name) {
		rc = decrypted_name(&chosen, ref, name, type);
		if (rc < 0)
			return cli_fail(CLI_EXIT_FAILURE, "out of memory");
		if (!o->force && lstat(chosen, &st) == 0) {
			exit_code = cli_fail(CLI_EXIT_IO,
					     "%s already exists: pass --force to replace it, or -o "
					     "FILE",
					     chosen);
			goto out;
		}
		dest = chosen;
	}
	rc = cli_tmpfile_open(&tmp, dest);
	if (rc < 0) {
		exit_code = cli_fail(rc == LKS_ENOMEM ? CLI_EXIT_FAILURE : CLI_EXIT_IO, "%s",
				     lks_error_message());
		goto out;
	}
	if (len > 0 && fwrite(content, 1, len, tmp.f) != len) {
		exit_code = cli_fail(CLI_EXIT_IO, "cannot write %s: %s", dest, strerror(errno));
		goto out;
	}
	rc = cli_tmpfile_commit(&tmp, o->remote_name && !o->force);
	if (rc < 0) {
		exit_code = cli_fail(CLI_EXIT_IO, "%s", lks_error_message());
		goto out;
	}
	if (o->remote_name && !g->quiet)
		printf("%s\n", chosen);
out:
	cli_tmpfile_abort(&tmp);
	free(chosen);
	return exit_code;
}

int cli_e2e_pull(struct cli_global *g, const struct cli_ref *ref, const struct cli_pull_opts *o,
		 bool *plain)
{
	struct e2e_meta meta;
	lks_envelope_keys keys;
	uint8_t secret[LKS_E2E_SECRET_BYTES];
	struct cli_request req = {0};
	struct cli_response resp = {0};
	char proof[LKS_ENVELOPE_PROOF_LEN + 1];
	char *password = NULL, *type = NULL, *name = NULL, *buf = NULL;
	uint8_t *content = NULL;
	size_t content_len = 0, buf_len = 0;
	FILE *mem = NULL;
	int rc, exit_code;

	*plain = false;
	memset(&keys, 0, sizeof(keys));
	memset(secret, 0, sizeof(secret));
	proof[0] = '\0';
	exit_code = fetch_meta(&meta, ref, NULL, true);
	if (exit_code != 0)
		return exit_code;
	if (!meta.encrypted) {
		*plain = true;
		return CLI_EXIT_OK;
	}
	if (o->follow)
		return cli_usage_error("pull", "--follow does not decrypt end-to-end encrypted "
					       "items: pull them without it");
	exit_code = ref_secret(secret, ref, "pull");
	if (exit_code != 0)
		goto out;
	exit_code = derive(&keys, &password, secret, &meta.header, "pull");
	if (exit_code != 0)
		goto out;
	cli_base64url_encode(proof, keys.read, sizeof(keys.read));

	/* The envelope, whole, in memory: it is decrypted at once. */
	mem = open_memstream(&buf, &buf_len);
	if (!mem) {
		exit_code = cli_fail(CLI_EXIT_FAILURE, "out of memory");
		goto out;
	}
	req.method = "GET";
	req.url = ref->fetch;
	req.sink = mem;
	req.read_proof = proof;
	req.accept = LKS_ENVELOPE_MEDIA_TYPE;
	req.progress = g->stderr_tty && !g->quiet;
	rc = cli_http_do(&resp, &req);
	if (rc < 0 || resp.status < 200 || resp.status >= 300) {
		exit_code = proof_fail(rc, &resp, ref, password != NULL);
		goto out;
	}
	if (fclose(mem) != 0) {
		mem = NULL;
		exit_code = cli_fail(CLI_EXIT_FAILURE, "out of memory");
		goto out;
	}
	mem = NULL;
	rc = lks_envelope_open_keys(&type, &name, &content, &content_len, &keys, buf, buf_len);
	if (rc == LKS_ENOMEM) {
		exit_code = cli_fail(CLI_EXIT_FAILURE, "out of memory");
		goto out;
	}
	if (rc == LKS_ECRYPTO) {
		exit_code = cli_fail(CLI_EXIT_DECRYPT,
				     "cannot decrypt %s: %s (a wrong key or password and altered "
				     "bytes look the same, by design)",
				     ref->url, lks_error_message());
		goto out;
	}
	if (rc < 0) {
		exit_code = cli_fail(CLI_EXIT_DECRYPT, "%s is not a valid envelope: %s", ref->url,
				     lks_error_message());
		goto out;
	}
	exit_code = write_plaintext(g, ref, o, type, name, content, content_len);
out:
	if (mem)
		fclose(mem);
	free(buf);
	if (content) {
		explicit_bzero(content, content_len);
		free(content);
	}
	free(type);
	free(name);
	lks_envelope_keys_wipe(&keys);
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(proof, sizeof(proof));
	password_free(password);
	cli_response_clear(&resp);
	return exit_code;
}

/* ------------------------------------------------------------------ */
/* update                                                              */

/* Checks keys against the server with a HEAD of the raw content (which
 * delivers and consumes nothing). Returns 0 or an exit code. */
static int check_keys(const struct cli_ref *ref, const lks_envelope_keys *keys, bool with_password)
{
	struct cli_request req = {0};
	struct cli_response resp = {0};
	char proof[LKS_ENVELOPE_PROOF_LEN + 1];
	int rc, exit_code = 0;

	cli_base64url_encode(proof, keys->read, sizeof(keys->read));
	req.method = "HEAD";
	req.url = ref->fetch;
	req.read_proof = proof;
	rc = cli_http_do(&resp, &req);
	if (rc < 0 || resp.status < 200 || resp.status >= 300)
		exit_code = proof_fail(rc, &resp, ref, with_password);
	explicit_bzero(proof, sizeof(proof));
	cli_response_clear(&resp);
	return exit_code;
}

int cli_e2e_update_source(struct cli_global *g, const struct cli_ref *ref, const char *api,
			  struct cli_source *src, bool encrypt, bool add_password, char proof[44],
			  bool *plain)
{
	struct e2e_meta meta;
	lks_envelope_keys keys;
	uint8_t secret[LKS_E2E_SECRET_BYTES];
	char *password = NULL;
	int exit_code;

	(void)g;
	*plain = false;
	memset(&keys, 0, sizeof(keys));
	memset(secret, 0, sizeof(secret));
	exit_code = fetch_meta(&meta, ref, api, false);
	if (exit_code != 0)
		return exit_code;
	if (!meta.encrypted) {
		if (encrypt)
			return cli_usage_error(
			    "update",
			    "%s is not end-to-end encrypted, and its link cannot "
			    "gain a key: push the file anew with --encrypt",
			    ref->url);
		*plain = true;
		return CLI_EXIT_OK;
	}
	exit_code = ref_secret(secret, ref, "update");
	if (exit_code != 0)
		goto out;
	if (meta.header.flags & LKS_ENVELOPE_FLAG_PASSWORD) {
		/* The same password, checked first: a typo would lock every
		 * reader out. */
		exit_code = derive(&keys, &password, secret, &meta.header, "update");
		if (exit_code == 0)
			exit_code = check_keys(ref, &keys, true);
	} else if (add_password) {
		exit_code = cli_password_get(&password, true, "update");
	}
	if (exit_code != 0)
		goto out;
	/* The same secret, so the link stays; a new salt and IV, so new keys. */
	exit_code = seal_into(src, src->name, secret, password, proof);
out:
	lks_envelope_keys_wipe(&keys);
	explicit_bzero(secret, sizeof(secret));
	password_free(password);
	return exit_code;
}
