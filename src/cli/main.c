/* linksync, the command-line terminal: parses the global options, picks the
 * command, and holds the help texts (global and per command) and the options
 * every command shares. The commands live in cli_*.c beside this file. */
#include "cli.h"

#include "linksync/error.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct command {
	const char *name;
	int (*run)(struct cli_global *g, int argc, char **argv);
	const char *synopsis;
	const char *help;
};

static const struct command commands[] = {
    {"push", cli_cmd_push,
     "push FILE|- [--ttl T] [--reads N] [--name N] [--type T] [--png F] [--svg F] [--json]\n"
     "                [--watch] [--encrypt [--password]]",
     "Stores FILE (or standard input, '-') on the server and prints its link.\n"
     "\n"
     "  --ttl T       how long the item lives: 30s, 10m, 2h, 7d (server default 24h,\n"
     "                server maximum applies)\n"
     "  --reads N     let it be read N times at most (0 = unlimited)\n"
     "  --name N      file name the receiver sees (default: FILE's base name)\n"
     "  --type T      Content-Type (default: by extension: .ics text/calendar, .vcf\n"
     "                text/vcard, .txt text/plain...; otherwise UTF-8 text is\n"
     "                text/plain and anything else application/octet-stream)\n"
     "  --png F       also write the link's QR code to F as PNG ('-' = stdout)\n"
     "  --svg F       also write the link's QR code to F as SVG ('-' = stdout)\n"
     "  --json        print the server's JSON answer on stdout instead\n"
     "  --watch       then keep the link current: each time FILE is saved with new\n"
     "                content, push it as the item's new version (one line per\n"
     "                version on stderr), until Ctrl-C (exit 130) or the item's\n"
     "                end (exit 4)\n"
     "  --encrypt     end-to-end: encrypt FILE here (AES-256-GCM, docs/e2e.md)\n"
     "                before anything leaves this machine. The server stores an\n"
     "                envelope it cannot read; the key is in the link after '#'\n"
     "                (browsers never send that part), so the link printed and its\n"
     "                QR code (drawn here) are the only copies of it: keep them.\n"
     "                The server then shows no preview and offers no calendar\n"
     "                subscription; the name and type travel inside.\n"
     "  --password    --encrypt, and the reader needs a password as well as the\n"
     "                link: typed twice on the terminal (echo off), or taken from\n"
     "                $LINKSYNC_PASSWORD (for scripts)\n"
     "  -q, --quiet   print the link alone, nothing else\n"
     "\n"
     "Output: when stdout is a terminal, the QR code, the link and its expiry go\n"
     "there. Otherwise stdout gets the link alone (URL=$(linksync push f) works)\n"
     "and the QR code goes to stderr when that is a terminal. The owner token is\n"
     "saved in $XDG_STATE_HOME/linksync/tokens.jsonl for update and delete (never\n"
     "the key). With --encrypt --json, \"link\" is the link with its key.\n"},
    {"pull", cli_cmd_pull, "pull URL|ID [-o FILE | -O [--force]] [--follow]",
     "Fetches an item's content (the exact bytes) to stdout.\n"
     "\n"
     "  -o, --output FILE   write to FILE instead (atomically: a temporary file\n"
     "                      renamed into place); '-' is stdout\n"
     "  -O, --remote-name   save under the name the server gives (made safe: base\n"
     "                      name only, no control characters) in the current\n"
     "                      directory, and print that name on stdout\n"
     "  -f, --force         let -O replace an existing file\n"
     "  --follow            then keep the file current: each new version the owner\n"
     "                      pushes replaces it (atomically) as soon as it comes, with\n"
     "                      a line on stderr; needs -o FILE or -O. Ends with exit 0\n"
     "                      when the item ends (expired, used up, deleted), 130 on\n"
     "                      Ctrl-C; a lost server is retried\n"
     "\n"
     "A bare ID is looked up on --server. A #fragment is never sent. Binary content\n"
     "is not written to a terminal: use -o or -O.\n"
     "\n"
     "An end-to-end encrypted item (a link ending in #KEY) is decrypted here: the\n"
     "password, when it has one, is asked on the terminal or taken from\n"
     "$LINKSYNC_PASSWORD, and -O saves under the name inside the envelope. A wrong\n"
     "key or password (or altered content) exits with 11.\n"},
    {"scan", cli_cmd_scan, "scan IMAGE|- [-o FILE | -O [--force]] [--follow]",
     "Reads the QR code in a PNG or JPEG image ('-' = stdin), prints the link it\n"
     "holds on stderr, then pulls it like `pull` (same options). When the QR code\n"
     "holds text rather than an http(s) link, prints that text on stdout and exits\n"
     "with code 9.\n"},
    {"qr", cli_cmd_qr, "qr TEXT|- [--png F] [--svg F] [--scale N]",
     "Draws TEXT (any link or text; '-' reads it from stdin) as a QR code: in the\n"
     "terminal, or into files.\n"
     "\n"
     "  --png F     write a PNG to F ('-' = stdout)\n"
     "  --svg F     write an SVG to F ('-' = stdout)\n"
     "  --scale N   PNG pixels per module (default 8)\n"},
    {"update", cli_cmd_update,
     "update URL|ID FILE|- [--token T] [--type T] [--json] [--encrypt [--password]]",
     "Replaces the content of an item you pushed; readers of the link get the new\n"
     "version. Uses the owner token saved by push, or --token.\n"
     "\n"
     "  --token T    the owner token (when push ran elsewhere)\n"
     "  --type T     Content-Type, as for push\n"
     "  --json       print the server's JSON answer on stdout\n"
     "  --encrypt    the item is end-to-end encrypted (implied by the metadata):\n"
     "               FILE is encrypted with the key of URL, which must be the whole\n"
     "               link with its #KEY, so the link stays the same; a password\n"
     "               the item has is asked for (or $LINKSYNC_PASSWORD), checked\n"
     "               with the server, and kept\n"
     "  --password   add a password to an encrypted item that has none\n"},
    {"delete", cli_cmd_delete, "delete URL|ID [--token T]",
     "Deletes an item you pushed, with the owner token saved by push or --token,\n"
     "and forgets its token.\n"
     "\n"
     "  --token T   the owner token (when push ran elsewhere)\n"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

static void print_common_options(FILE *f)
{
	fputs("\nOptions of every command:\n"
	      "  -s, --server URL   the linksync server (default: $LINKSYNC_SERVER, else\n"
	      "                     " CLI_DEFAULT_SERVER ")\n"
	      "  -q, --quiet        no progress, no QR code, no chatter\n"
	      "  -h, --help         this help\n",
	      f);
}

static void print_global_help(FILE *f)
{
	size_t i;

	fputs("linksync: move calendar events, contacts, notes and files between your\n"
	      "devices with a link or a QR code.\n\nUsage:\n",
	      f);
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  linksync %s\n", commands[i].synopsis);
	fputs("  linksync --help | COMMAND --help | --version\n", f);
	print_common_options(f);
	fputs("\nEnvironment:\n"
	      "  LINKSYNC_SERVER    default for --server\n"
	      "  XDG_STATE_HOME     where owner tokens are kept (default ~/.local/state)\n"
	      "  LINKSYNC_PASSWORD  the password of end-to-end encrypted items (push,\n"
	      "                     pull, scan, update), instead of typing it\n"
	      "  NO_COLOR           draw terminal QR codes without colours\n"
	      "\nExit codes:\n",
	      f);
	cli_exit_print_table(f);
	fputs("  130  interrupted (Ctrl-C or SIGTERM); also how push --watch and\n"
	      "       pull --follow normally end (nothing is left half written)\n",
	      f);
}

static void print_command_help(const struct command *c, FILE *f)
{
	fprintf(f, "Usage: linksync %s\n\n%s", c->synopsis, c->help);
	print_common_options(f);
	fputs("\nExit codes: see linksync --help.\n", f);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("linksync: ", stderr);
	if (cmd)
		fprintf(stderr, "%s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see linksync %s%s--help)\n", cmd ? cmd : "", cmd ? " " : "");
	return CLI_EXIT_USAGE;
}

static int set_server(struct cli_global *g, const char *url, const char *from)
{
	static char *owned;
	char *norm = NULL;

	if (cli_server_normalize(&norm, url) < 0)
		return cli_usage_error(NULL, "%s '%s' is not an http:// or https:// URL", from,
				       url);
	free(owned);
	owned = norm;
	g->server = owned;
	return 0;
}

int cli_common_option(struct cli_global *g, int c, const char *cmd)
{
	switch (c) {
	case 's':
		return set_server(g, optarg, "--server") == 0 ? CLI_OPT_CONTINUE : CLI_EXIT_USAGE;
	case 'q':
		g->quiet = true;
		return CLI_OPT_CONTINUE;
	case 'h':
		print_command_help(find_command(cmd), stdout);
		return CLI_EXIT_OK;
	case '?':
	case ':':
		/* getopt has said what was wrong. */
		fprintf(stderr, "linksync: see linksync %s --help\n", cmd);
		return CLI_EXIT_USAGE;
	default:
		return CLI_OPT_NOT_COMMON;
	}
}

void cli_now_utc(char buf[21])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    CLI_COMMON_LONGOPTS,
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct cli_global g = {0};
	const struct command *cmd;
	const char *env = getenv("LINKSYNC_SERVER");
	int c, rc;

	g.stdout_tty = isatty(STDOUT_FILENO);
	g.stderr_tty = isatty(STDERR_FILENO);
	g.server = CLI_DEFAULT_SERVER;

	/* "+": stop at the command; its options are its own. */
	opterr = 1;
	for (;;) {
		c = getopt_long(argc, argv, "+" CLI_COMMON_SHORTOPTS "V", opts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'V':
			printf("linksync %s (%s)\n", LKS_VERSION, curl_version());
			return CLI_EXIT_OK;
		case 'h':
			print_global_help(stdout);
			return CLI_EXIT_OK;
		case 's':
			if (set_server(&g, optarg, "--server") != 0)
				return CLI_EXIT_USAGE;
			env = NULL;
			break;
		case 'q':
			g.quiet = true;
			break;
		default:
			fputs("linksync: see linksync --help\n", stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		print_global_help(stderr);
		return CLI_EXIT_USAGE;
	}
	cmd = find_command(argv[optind]);
	if (!cmd) {
		if (strcmp(argv[optind], "help") == 0) {
			if (optind + 1 < argc && find_command(argv[optind + 1])) {
				print_command_help(find_command(argv[optind + 1]), stdout);
				return CLI_EXIT_OK;
			}
			print_global_help(stdout);
			return CLI_EXIT_OK;
		}
		return cli_usage_error(NULL, "unknown command '%s'", argv[optind]);
	}
	if (env && env[0] && set_server(&g, env, "LINKSYNC_SERVER") != 0)
		return CLI_EXIT_USAGE;

	if (cli_http_init() < 0)
		return cli_fail(CLI_EXIT_FAILURE, "%s", lks_error_message());
	/* Each command parses its own options from its name on. */
	argc -= optind;
	argv += optind;
	optind = 0;
	rc = cmd->run(&g, argc, argv);
	cli_http_cleanup();
	if (fflush(stdout) != 0 && rc == CLI_EXIT_OK)
		rc = cli_fail(CLI_EXIT_IO, "cannot write to standard output");
	return rc;
}
