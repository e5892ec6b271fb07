/* Internal interface of the linksync command-line client: the exit-code table,
 * the pure helpers (types, URLs, file names), the owner-token store, the HTTP
 * layer over libcurl, and one entry point per command. Nothing here is public
 * API; the client uses only include/linksync/ from the core. */
#ifndef LINKSYNC_CLI_H
#define LINKSYNC_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define CLI_DEFAULT_SERVER "http://127.0.0.1:8080"
#define CLI_ID_LEN 26
/* Transfers above this size get a progress bar (when stderr is a terminal). */
#define CLI_PROGRESS_THRESHOLD (4u * 1024u * 1024u)

/* ------------------------------------------------------------------ */
/* Exit codes (cli_exit.c): the one table, printed by --help.          */

/* X(NAME, value, meaning shown to the user) */
#define CLI_EXIT_LIST(X)                                                                           \
	X(CLI_EXIT_OK, 0, "success")                                                               \
	X(CLI_EXIT_FAILURE, 1, "other failure (out of memory, internal error)")                    \
	X(CLI_EXIT_USAGE, 2, "bad usage: unknown option, missing or invalid argument")             \
	X(CLI_EXIT_NETWORK, 3, "network: server unreachable, or the transfer broke off")           \
	X(CLI_EXIT_NOTFOUND, 4, "item not found, expired, used up or deleted (404)")               \
	X(CLI_EXIT_REFUSED, 5, "request refused by the server (other 4xx: size, type...)")         \
	X(CLI_EXIT_SERVER, 6, "server error (5xx) or an answer that makes no sense")               \
	X(CLI_EXIT_IO, 7, "local file error: cannot read or write a file")                         \
	X(CLI_EXIT_NOQR, 8, "no QR code found in the image")                                       \
	X(CLI_EXIT_NOTURL, 9, "scan: the QR code holds text, not an http(s) link")                 \
	X(CLI_EXIT_NOTOKEN, 10, "update/delete: no owner token stored for this item")           \
	X(CLI_EXIT_DECRYPT, 11, "end-to-end encrypted item: wrong key or password, or altered")

enum cli_exit {
#define CLI_X_ENUM(name, value, text) name = value,
	CLI_EXIT_LIST(CLI_X_ENUM)
#undef CLI_X_ENUM
};

/* The exit code for a negative lks_err from a local operation. */
int cli_exit_from_err(int err);

/* The exit code for an HTTP status the server answered (>= 300). */
int cli_exit_from_status(long status);

/* Writes the exit-code table, one "  N  meaning" line each, to f. */
void cli_exit_print_table(FILE *f);

/* Prints "linksync: MESSAGE\n" on stderr and returns code, so a command
 * fails with `return cli_fail(CLI_EXIT_IO, "cannot read %s: %s", ...);`. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "linksync: warning: MESSAGE\n" on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------------------------ */
/* Pure helpers (cli_util.c).                                          */

/* The Content-Type for a file name by its extension (case-insensitive), or
 * NULL when the extension is unknown. Borrowed static string. */
const char *cli_type_for_name(const char *name);

/* The file extension (with its dot) that fits a Content-Type, or "" when
 * none does. Parameters after ';' are ignored. Borrowed static string. */
const char *cli_ext_for_type(const char *type);

/* True when len bytes at p are well-formed UTF-8 (no overlongs, no
 * surrogates, nothing above U+10FFFF). */
bool cli_utf8_valid(const unsigned char *p, size_t len);

/* True when s is a time-to-live the server understands: digits then one of
 * s, m, h, d ("30s", "10m", "2h", "7d"), with a non-zero number. */
bool cli_ttl_valid(const char *s);

/* True when s is 26 RFC 4648 base32 characters, in any case. */
bool cli_id_valid(const char *s);

/* True when s starts with http:// or https:// (any case) and has a host. */
bool cli_is_http_url(const char *s);

/* Normalises a server base URL: checks the scheme, drops a fragment, a query
 * and trailing slashes. *out is allocated. Returns 0, LKS_EINVAL (not an
 * http(s) URL) or LKS_ENOMEM. */
int cli_server_normalize(char **out, const char *url);

/* What an item reference (a link, a raw link, or a bare id) designates. */
struct cli_ref {
	char *id;     /* lower-case id */
	char *base;   /* server base the link lives under (no trailing '/') */
	char *url;    /* the item's link, {base}/{id}, without fragment */
	char *fetch;  /* what to GET for the content: the raw link */
	bool had_key; /* the link carried a #fragment (an end-to-end key) */
	char *key;    /* that fragment's text (never sent anywhere), or NULL */
};

/* Parses an item reference. A link is split at its last path segment that is
 * an id ("/{id}", "/{id}/raw", "/{id}/{name}"); its fragment is dropped and
 * never reaches any field. A bare id is resolved against server. Fills *out
 * (release with cli_ref_clear). Returns 0, LKS_EINVAL (neither a link with
 * an id nor an id) or LKS_ENOMEM. */
int cli_ref_parse(struct cli_ref *out, const char *arg, const char *server);

/* Frees the fields of a cli_ref (wiping the key) and zeroes it; accepts a
 * zeroed one. */
void cli_ref_clear(struct cli_ref *ref);

/* Extracts the file name a Content-Disposition header proposes: the
 * filename* parameter (RFC 5987, UTF-8 only) wins over filename (a token or
 * a quoted string). *out is allocated, raw (not yet sanitised), or NULL when
 * there is none. Returns 0 or LKS_ENOMEM. */
int cli_disposition_filename(char **out, const char *header);

/* Makes a name proposed by a server safe to create in the current directory:
 * keeps only what follows the last '/' or '\\', replaces control characters
 * and invalid UTF-8 with '_', drops leading dots, spaces and dashes, trims
 * trailing dots and spaces, and keeps at most 200 bytes (cut on a character
 * boundary, keeping the extension). *out is allocated; it is NULL when
 * nothing usable is left. Returns 0 or LKS_ENOMEM. */
int cli_filename_sanitize(char **out, const char *name);

/* Writes base64url without padding (RFC 4648 §5) of len bytes into out
 * (room for (len * 4 + 2) / 3 + 1 bytes): the read proof and the fragment
 * of end-to-end encrypted items. */
void cli_base64url_encode(char *out, const unsigned char *data, size_t len);

/* Formats a byte count for people ("512 B", "4.0 KiB", "25.3 MiB") into buf. */
void cli_format_bytes(char *buf, size_t size, uint64_t bytes);

/* Reads the server's error document {"error": ..., "message": ...}. *code
 * and *message are allocated, or NULL when absent or when body is not that
 * document. Returns 0 or LKS_ENOMEM. */
int cli_error_body_parse(char **code, char **message, const char *body, size_t len);

/* ------------------------------------------------------------------ */
/* Live links: pure helpers (cli_live.c).                              */

/* Longest pause between two retries, in seconds. */
#define CLI_BACKOFF_MAX 30u
/* How long a watched file must stay quiet before it is read: after its
 * writer closed it or renamed it into place, and while a writer keeps it
 * open without closing it (a log, `cat > FILE`). */
#define CLI_SETTLE_MS 100u
#define CLI_SETTLE_OPEN_MS 1000u

/* The next pause of a retry back-off: 1 after 0, then doubling up to
 * CLI_BACKOFF_MAX seconds (1, 2, 4, 8, 16, 30, 30...). */
unsigned cli_backoff_next(unsigned prev);

/* url with "wait=SECONDS" added to its query (after '?' or '&'); a fragment
 * is dropped. *out is allocated. Returns 0 or LKS_ENOMEM. */
int cli_wait_url(char **out, const char *url, unsigned seconds);

/* What an inotify event on the watched file's directory means for it. */
enum cli_watch_event {
	CLI_WATCH_IGNORE,   /* another file, or nothing that changes content */
	CLI_WATCH_WRITING,  /* being written: wait until it is closed or quiet */
	CLI_WATCH_WRITTEN,  /* a new version is complete (closed, renamed over) */
	CLI_WATCH_REMOVED,  /* deleted or renamed away (it may come back) */
	CLI_WATCH_RESCAN,   /* events were lost: look at the file again */
	CLI_WATCH_DIR_GONE, /* the directory itself is gone: nothing to watch */
};

/* Classifies an event of mask on name (NULL or "" for the directory itself)
 * for the file called watched (a base name). */
enum cli_watch_event cli_watch_classify(uint32_t mask, const char *name, const char *watched);

/* Milliseconds to wait after ev before reading the file (0 for none). */
unsigned cli_watch_settle_ms(enum cli_watch_event ev);

/* Parses the server's "YYYY-MM-DDTHH:MM:SS[.fff]Z" into Unix seconds.
 * Returns 0 or LKS_EINVAL. */
int cli_time_parse_utc(int64_t *out, const char *s);

/* ------------------------------------------------------------------ */
/* Owner-token store (cli_tokens.c).                                   */

struct cli_token {
	char *id;
	char *url;
	char *token;
	char *expires_at;
	char *server;
};

/* The directory holding the store: $XDG_STATE_HOME/linksync when that is an
 * absolute path, else $HOME/.local/state/linksync. *out is allocated.
 * Returns 0, LKS_EINVAL (no home directory) or LKS_ENOMEM. */
int cli_tokens_dir(char **out);

/* Appends one record to DIR/tokens.jsonl under a lock, creating the
 * directory (0700) and the file (0600) when missing and tightening looser
 * modes; refuses a symlink or a file owned by someone else. The record is
 * written with one write(2) and synced. Returns 0, LKS_EIO or LKS_ENOMEM. */
int cli_tokens_add(const char *dir, const struct cli_token *t);

/* Finds the latest record for id (any case). *out is allocated (free with
 * cli_token_free) or NULL when there is none; a missing store is no error.
 * Returns 0, LKS_EIO or LKS_ENOMEM. */
int cli_tokens_find(struct cli_token **out, const char *dir, const char *id);

/* Rewrites the store without the records for id, nor those whose expires_at
 * is earlier than now ("YYYY-MM-DDTHH:MM:SSZ"; RFC 3339 UTC times compared
 * as text up to the seconds; NULL keeps them), nor unreadable lines, via a
 * temporary file and rename(2) under the lock. A missing store is no error.
 * Returns 0, LKS_EIO or LKS_ENOMEM. */
int cli_tokens_remove(const char *dir, const char *id, const char *now);

/* Frees a record; accepts NULL. */
void cli_token_free(struct cli_token *t);

/* ------------------------------------------------------------------ */
/* HTTP (cli_http.c).                                                   */

struct cli_body {
	int fd;			  /* stream from this descriptor, or -1 */
	const unsigned char *mem; /* or from memory */
	size_t len;		  /* bytes to send (Content-Length) */
	size_t off;		  /* internal: bytes sent so far from mem */
};

struct cli_request {
	const char *method; /* "GET", "POST", "PUT", "DELETE" */
	const char *url;
	const char *content_type;  /* of the body, or NULL */
	const char *bearer;	   /* Authorization: Bearer, or NULL */
	const char *accept;	   /* Accept, or NULL for any type */
	struct cli_body *body;	   /* NULL for no body */
	FILE *sink;		   /* 2xx body goes here; NULL: into memory */
	bool refuse_binary_tty;	   /* abort when sink is a terminal and the
				    * content is not text */
	bool progress;		   /* a progress bar is allowed */
	const char *if_none_match; /* If-None-Match (an ETag), or NULL */
	const char *read_proof;	   /* X-Linksync-Read, or NULL; a request that
				    * carries one follows no redirect */
	long idle_timeout;	   /* seconds the exchange may move nothing
				    * (a long poll waits that long); 0 = 60 */
};

struct cli_response {
	long status;   /* 0 when no answer came */
	int curl_code; /* CURLcode */
	char curl_error[256];
	bool binary_refused; /* refuse_binary_tty stopped the transfer */
	bool sink_failed;    /* writing to the sink failed (sink_errno) */
	int sink_errno;
	bool source_failed; /* reading the body failed (source_errno) */
	int source_errno;
	bool interrupted; /* SIGINT or SIGTERM stopped the transfer */
	char *body;	  /* memory body (2xx without sink, or the
			   * error document), NUL-terminated */
	size_t body_len;
	char *content_type;
	char *content_disposition;
	char *location;
	char *etag;	   /* the ETag of the answer, or NULL */
	uint64_t received; /* bytes written to the sink */
};

/* Global libcurl set-up; call once before any request. Returns 0 or
 * LKS_EINTERNAL. */
int cli_http_init(void);
void cli_http_cleanup(void);

/* Performs one request; the answer (whatever its status) lands in *resp,
 * which the caller releases with cli_response_clear. Returns 0 when an HTTP
 * answer arrived in full (check resp->status), LKS_ENETWORK when none did,
 * LKS_EIO when the sink could not be written, LKS_ENOMEM. */
int cli_http_do(struct cli_response *resp, struct cli_request *req);

void cli_response_clear(struct cli_response *resp);

/* For commands that run until interrupted (push --watch, pull --follow):
 * from now on SIGINT and SIGTERM set a flag for the rest of the process
 * (cli_http_do no longer installs and removes its own handlers, so a signal
 * between two requests is not lost) and make the descriptor
 * cli_http_signal_fd() readable, so a poll(2) wakes. A request started after
 * the signal fails at once as interrupted; one under way stops within about
 * a second. Returns 0 or LKS_EIO. */
int cli_http_catch_signals(void);

/* The read end of the signal pipe (-1 before cli_http_catch_signals). */
int cli_http_signal_fd(void);

/* True once SIGINT or SIGTERM arrived (since cli_http_catch_signals). */
bool cli_http_interrupted(void);

/* Turns a failed exchange into one line on stderr that says what to do, and
 * returns the exit code. rc is cli_http_do's result; where names the server
 * or the link for the message; via_server says it came from --server or
 * LINKSYNC_SERVER (so the hint names them). */
int cli_http_fail(int rc, const struct cli_response *resp, const char *where, bool via_server);

/* ------------------------------------------------------------------ */
/* Commands and shared options.                                        */

struct cli_global {
	const char *server; /* normalised server base URL */
	bool quiet;
	bool stdout_tty;
	bool stderr_tty;
};

int cli_cmd_push(struct cli_global *g, int argc, char **argv);
int cli_cmd_pull(struct cli_global *g, int argc, char **argv);
int cli_cmd_scan(struct cli_global *g, int argc, char **argv);
int cli_cmd_qr(struct cli_global *g, int argc, char **argv);
int cli_cmd_update(struct cli_global *g, int argc, char **argv);
int cli_cmd_delete(struct cli_global *g, int argc, char **argv);

/* Options every command takes: --server/-s URL, --quiet/-q, --help/-h. */
/* clang-format off */
#define CLI_COMMON_LONGOPTS \
	{"server", required_argument, NULL, 's'}, \
	{"quiet", no_argument, NULL, 'q'}, \
	{"help", no_argument, NULL, 'h'}
/* clang-format on */
#define CLI_COMMON_SHORTOPTS "s:qh"
#define CLI_OPT_NOT_COMMON (-1)
#define CLI_OPT_CONTINUE (-2)

/* Handles getopt_long's answer c when it is a common option or an error
 * (main.c): returns CLI_OPT_CONTINUE to go on parsing, CLI_OPT_NOT_COMMON
 * when c is the command's own, or an exit code to return at once (after
 * --help, or a usage error it has reported). */
int cli_common_option(struct cli_global *g, int c, const char *cmd);

/* Reports a usage error for cmd ("linksync: push: MESSAGE (see linksync push
 * --help)") and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The current UTC time as "YYYY-MM-DDTHH:MM:SSZ" into buf (21 bytes). */
void cli_now_utc(char buf[21]);

/* A file (or "-" for standard input) opened for upload (cli_push.c). */
struct cli_source {
	struct cli_body body;
	int fd;		    /* owned, or -1 */
	unsigned char *mem; /* owned, or NULL */
	const char *type;   /* the Content-Type to send */
	char *name;	    /* the file's base name, or NULL for stdin */
	const char *label;  /* for messages: the path or "standard input" */
};

/* Opens path for upload: a regular file is streamed, anything else (stdin,
 * a pipe) is read into memory. The type is type_override, else by extension,
 * else sniffed (UTF-8 text or octet-stream). Returns 0 or an exit code after
 * reporting the problem. */
int cli_source_open(struct cli_source *s, const char *path, const char *type_override);
void cli_source_close(struct cli_source *s);

/* Shared by pull and scan: fetches what ref designates to stdout, -o FILE or
 * -O (cli_pull.c). */
struct cli_pull_opts {
	const char *output; /* -o FILE, "-" for stdout, or NULL */
	bool remote_name;   /* -O */
	bool force;	    /* --force: -O may overwrite */
	bool follow;	    /* --follow: keep the file current */
};
int cli_pull_ref(struct cli_global *g, const struct cli_ref *ref, const struct cli_pull_opts *o);

/* The name -O saves under: the server's proposal (Content-Disposition) made
 * safe, else the id with an extension that fits the type, else the link's
 * last segment, else "download". *out is allocated. Returns 0 or
 * LKS_ENOMEM. */
int cli_pull_remote_name(char **out, const struct cli_ref *ref, const struct cli_response *resp);

/* pull --follow (cli_follow.c): keeps o->output (or, with -O, the name the
 * first version gives) equal to the newest version of ref's item, each
 * version written atomically, until the item ends (0 once a version was
 * written, CLI_EXIT_NOTFOUND when there never was one) or a signal (130).
 * Returns an exit code after reporting. */
int cli_follow(struct cli_global *g, const struct cli_ref *ref, const struct cli_pull_opts *o);

/* push --watch (cli_watch.c): what the first push left to go on. */
struct cli_watch {
	const char *path;   /* FILE as the user gave it */
	const char *type;   /* the Content-Type every version is sent with */
	const char *link;   /* the item's link, for messages */
	const char *api;    /* {server}/api/v1/items/{id} */
	const char *token;  /* the owner token */
	uint8_t hash[32];   /* SHA-256 of the content pushed */
	int64_t expires_at; /* Unix seconds, or 0 when unknown */
};

/* Watches w->path and PUTs each new version (content changed) to the item
 * until a signal (130), the item's end (CLI_EXIT_NOTFOUND), a refused token
 * (CLI_EXIT_REFUSED) or the loss of the file's directory (CLI_EXIT_IO).
 * Returns an exit code after reporting. */
int cli_watch_run(struct cli_global *g, const struct cli_watch *w);

/* Reads the whole of path into memory (a snapshot: what is hashed is what
 * is sent). *out is allocated. Returns 0, LKS_ENOTFOUND (no such file),
 * LKS_EIO (details in lks_error_message) or LKS_ENOMEM. */
int cli_file_snapshot(unsigned char **out, size_t *len, const char *path);

/* ------------------------------------------------------------------ */
/* End-to-end encryption (cli_e2e.c).                                  */

/* The password of an encrypted item: $LINKSYNC_PASSWORD when set (for
 * scripts), else typed on the terminal (/dev/tty) with echo off, twice when
 * confirm (a new password). *out is allocated; wipe it before freeing.
 * Returns 0 or an exit code after reporting (no terminal, empty, mismatch). */
int cli_password_get(char **out, bool confirm, const char *cmd);

/* push --encrypt: turns src into an envelope sealed with a new secret (and
 * password when not NULL): src->body then sends the envelope, *proof gets
 * X-Linksync-Read and *fragment the link's key. Returns 0 or an exit code
 * after reporting. */
int cli_e2e_seal_source(struct cli_source *src, const char *name, const char *password,
			char proof[44], char fragment[23]);

/* pull/scan of a link with a #key: fetches the item's metadata; when the item
 * is end-to-end encrypted, derives its keys (asking for the password when
 * its header says so), fetches the envelope with the read proof, decrypts it
 * and writes the content as o says (the name for -O comes from inside the
 * envelope). Sets *plain and returns 0 without doing anything when the item
 * is not encrypted. Returns an exit code after reporting. */
int cli_e2e_pull(struct cli_global *g, const struct cli_ref *ref, const struct cli_pull_opts *o,
		 bool *plain);

/* update of an item: when it is end-to-end encrypted (metadata at api), re-seals src
 * with the secret of ref's #key (required) and the same password (asked for
 * and checked against the server without consuming a read) or, with
 * add_password and none before, a new one; sets *proof (X-Linksync-Read).
 * Sets *plain when the item is not encrypted (then encrypt must be false).
 * Returns 0 or an exit code after reporting. */
int cli_e2e_update_source(struct cli_global *g, const struct cli_ref *ref, const char *api,
			  struct cli_source *src, bool encrypt, bool add_password, char proof[44],
			  bool *plain);

/* Shared file helpers (cli_file.c). */

/* Reads all of stream fd into memory. *out is allocated (NUL-terminated for
 * convenience), *len its length. Returns 0, LKS_EIO or LKS_ENOMEM. */
int cli_read_all(unsigned char **out, size_t *len, int fd);

/* Writes len bytes to path atomically: a temporary file in the same
 * directory, synced, then renamed over path; "-" writes to stdout. Returns
 * 0 or LKS_EIO (details in lks_error_message). */
int cli_write_file(const char *path, const void *data, size_t len);

/* A temporary file beside a destination, renamed into place on commit. */
struct cli_tmpfile {
	char *path; /* the temporary file */
	char *dest;
	FILE *f;
};

/* Creates the temporary file next to dest. Returns 0, LKS_EIO, LKS_ENOMEM. */
int cli_tmpfile_open(struct cli_tmpfile *t, const char *dest);

/* Flushes, syncs and renames into place. With no_replace an existing dest
 * is kept and LKS_EIO returned with errno EEXIST recorded in the message.
 * Always releases t. Returns 0, LKS_EIO. */
int cli_tmpfile_commit(struct cli_tmpfile *t, bool no_replace);

/* Removes the temporary file and releases t; accepts a released one. */
void cli_tmpfile_abort(struct cli_tmpfile *t);

/* Writes the QR code of text to path ("-" = stdout) as PNG (scale pixels per
 * module, 0 = default) or SVG, atomically. Returns 0 or an exit code after
 * reporting the problem (cli_push.c). */
int cli_qr_write(const char *path, const char *text, bool png, unsigned scale);

/* The QR code of text, drawn for a terminal on stream f (colours when f is a
 * terminal and NO_COLOR is unset). Returns 0 or a negative lks_err. */
int cli_qr_print(FILE *f, bool tty, const char *text);

#endif
