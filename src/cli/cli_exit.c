/* The client's exit codes: the one table the help text and docs/cli.md show,
 * and the two mappings into it (local lks_err codes and the server's HTTP
 * statuses), plus the one-line error printer every command uses. */
#include "cli.h"

#include "linksync/error.h"

#include <stdarg.h>
#include <stdio.h>

int cli_exit_from_err(int err)
{
	switch (err) {
	case LKS_OK:
		return CLI_EXIT_OK;
	case LKS_EINVAL:
		return CLI_EXIT_USAGE;
	case LKS_ENOTFOUND:
		return CLI_EXIT_NOTFOUND;
	case LKS_ETOOBIG:
	case LKS_EUNSUPPORTED:
	case LKS_EBADCONTENT:
	case LKS_EUNAUTHORIZED:
	case LKS_EFORBIDDEN:
	case LKS_ERATELIMIT:
	case LKS_EMETHOD:
		return CLI_EXIT_REFUSED;
	case LKS_ESTORE:
	case LKS_EPROTO:
	case LKS_EUNAVAILABLE:
		return CLI_EXIT_SERVER;
	case LKS_EIO:
		return CLI_EXIT_IO;
	case LKS_ENETWORK:
		return CLI_EXIT_NETWORK;
	case LKS_ENOQR:
		return CLI_EXIT_NOQR;
	default:
		return CLI_EXIT_FAILURE;
	}
}

int cli_exit_from_status(long status)
{
	if (status == 404 || status == 410)
		return CLI_EXIT_NOTFOUND;
	if (status >= 400 && status < 500)
		return CLI_EXIT_REFUSED;
	if (status >= 200 && status < 300)
		return CLI_EXIT_OK;
	/* 5xx, and anything a client that follows redirects should never see. */
	return CLI_EXIT_SERVER;
}

void cli_exit_print_table(FILE *f)
{
#define CLI_X_ROW(name, value, text) fprintf(f, "  %3d  %s\n", value, text);
	CLI_EXIT_LIST(CLI_X_ROW)
#undef CLI_X_ROW
}

int cli_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("linksync: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("linksync: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
