/* `linksync qr`: draws any text or link as a QR code, in the terminal or into
 * PNG and SVG files, with the core's encoder; and the two drawing helpers
 * push shares (terminal and file). */
#include "cli.h"

#include "linksync/error.h"
#include "linksync/qr.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_qr_print(FILE *f, bool tty, const char *text)
{
	char *drawing = NULL;
	unsigned flags = tty && !getenv("NO_COLOR") ? LKS_QR_TEXT_COLOR : 0;
	int rc = lks_qr_text(&drawing, text, flags);

	if (rc < 0)
		return rc;
	fputs(drawing, f);
	free(drawing);
	return 0;
}

int cli_qr_write(const char *path, const char *url, bool png, unsigned scale)
{
	unsigned char *data = NULL;
	char *svg = NULL;
	size_t len = 0;
	int rc;

	rc = png ? lks_qr_png(&data, &len, url, scale) : lks_qr_svg(&svg, &len, url);
	if (rc < 0) {
		if (rc == LKS_ETOOBIG)
			return cli_fail(CLI_EXIT_USAGE, "too long for a QR code (%zu bytes)",
					strlen(url));
		if (rc == LKS_EINVAL)
			return cli_fail(CLI_EXIT_USAGE, "nothing to draw: the text is empty");
		return cli_fail(cli_exit_from_err(rc), "cannot draw the QR code: %s",
				lks_error_message()[0] ? lks_error_message() : lks_strerror(rc));
	}
	rc = cli_write_file(path, png ? (const void *)data : (const void *)svg, len);
	free(data);
	free(svg);
	if (rc < 0)
		return cli_fail(CLI_EXIT_IO, "%s", lks_error_message());
	return 0;
}

int cli_cmd_qr(struct cli_global *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"png", required_argument, NULL, 'P'},
	    {"svg", required_argument, NULL, 'S'},
	    {"scale", required_argument, NULL, 'z'},
	    CLI_COMMON_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	const char *png = NULL, *svg = NULL;
	unsigned char *input = NULL;
	char *text = NULL;
	unsigned long scale = 0;
	size_t len;
	int c, rc, exit_code = CLI_EXIT_OK;

	for (;;) {
		char *end = NULL;

		c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, opts, NULL);
		if (c == -1)
			break;
		rc = cli_common_option(g, c, "qr");
		if (rc != CLI_OPT_NOT_COMMON) {
			if (rc == CLI_OPT_CONTINUE)
				continue;
			return rc;
		}
		switch (c) {
		case 'P':
			png = optarg;
			break;
		case 'S':
			svg = optarg;
			break;
		case 'z':
			scale = strtoul(optarg, &end, 10);
			if (optarg[0] < '1' || optarg[0] > '9' || *end || scale > 64)
				return cli_usage_error("qr", "bad --scale '%s': use 1 to 64",
						       optarg);
			break;
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("qr", optind >= argc ? "what to draw? give TEXT, or - for "
							      "standard input"
							    : "one TEXT at a time (quote it)");
	if (png && svg && strcmp(png, "-") == 0 && strcmp(svg, "-") == 0)
		return cli_usage_error("qr", "--png - and --svg - cannot both use stdout");

	text = argv[optind];
	if (strcmp(text, "-") == 0) {
		rc = cli_read_all(&input, &len, STDIN_FILENO);
		if (rc < 0)
			return cli_fail(rc == LKS_ENOMEM ? CLI_EXIT_FAILURE : CLI_EXIT_IO,
					"cannot read standard input: %s", lks_error_message());
		/* `echo URL | linksync qr -`: the newline is not part of the link. */
		while (len > 0 && (input[len - 1] == '\n' || input[len - 1] == '\r'))
			input[--len] = '\0';
		if (strlen((char *)input) != len) {
			exit_code =
			    cli_fail(CLI_EXIT_USAGE, "standard input holds a NUL byte: a QR "
						     "code of text cannot carry it");
			goto out;
		}
		text = (char *)input;
	}
	if (png) {
		exit_code = cli_qr_write(png, text, true, (unsigned)scale);
		if (exit_code != 0)
			goto out;
	}
	if (svg) {
		exit_code = cli_qr_write(svg, text, false, 0);
		if (exit_code != 0)
			goto out;
	}
	if (!png && !svg) {
		rc = cli_qr_print(stdout, g->stdout_tty, text);
		if (rc == LKS_ETOOBIG)
			exit_code = cli_fail(CLI_EXIT_USAGE, "too long for a QR code (%zu bytes)",
					     strlen(text));
		else if (rc == LKS_EINVAL)
			exit_code = cli_fail(CLI_EXIT_USAGE, "nothing to draw: the text is empty");
		else if (rc < 0)
			exit_code = cli_fail(cli_exit_from_err(rc), "cannot draw the QR code: %s",
					     lks_error_message());
	}
out:
	free(input);
	return exit_code;
}
