/* What the server checks about content before storing it. */
#ifndef LINKSYNC_CHECK_H
#define LINKSYNC_CHECK_H

#include "linksync/item.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Checks data[0..len) against its kind: a calendar must be valid iCalendar
 * (RFC 5545), a contact valid vCard; notes and files are taken as they are.
 * The bytes are only read. On success *summary is a one-line description
 * (the first event's title and start, the contact's name) or NULL, freed by
 * the caller. Returns 0, LKS_EBADCONTENT (with what is wrong and its line in
 * lks_error_message), LKS_ETOOBIG (too many components) or LKS_ENOMEM. */
int lks_content_check(char **summary, lks_kind kind, const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
