/* The error table: names, descriptions and the per-thread detail message. */
#include "linksync/error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_message[512];

const char *lks_strerror(int code)
{
	switch (code) {
#define LKS_X_TEXT(name, value, text) \
	case value:                   \
		return text;
		LKS_ERROR_LIST(LKS_X_TEXT)
#undef LKS_X_TEXT
	}
	return "unknown error";
}

const char *lks_error_name(int code)
{
	switch (code) {
#define LKS_X_NAME(name, value, text) \
	case value:                   \
		return #name;
		LKS_ERROR_LIST(LKS_X_NAME)
#undef LKS_X_NAME
	}
	return "LKS_E?";
}

int lks_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_message, sizeof(last_message), fmt, ap);
	va_end(ap);
	return code;
}

const char *lks_error_message(void)
{
	return last_message;
}

void lks_error_clear(void)
{
	last_message[0] = '\0';
}
