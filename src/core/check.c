/* Checks that content is what its kind says (a calendar parses as iCalendar,
 * a contact as vCard) and gives its one-line summary. */
#include "linksync/check.h"

#include "linksync/error.h"
#include "linksync/ical.h"
#include "linksync/vcard.h"

#include <stdlib.h>

int lks_content_check(char **summary, lks_kind kind, const void *data, size_t len)
{
	lks_calendar *cal = NULL;
	lks_vcard_list *cards = NULL;
	int rc = 0;

	*summary = NULL;
	switch (kind) {
	case LKS_KIND_CALENDAR:
		rc = lks_ical_parse(&cal, data, len);
		if (rc == 0)
			rc = lks_ical_summary(summary, cal);
		lks_ical_free(cal);
		break;
	case LKS_KIND_CONTACT:
		rc = lks_vcard_parse(&cards, data, len);
		if (rc == 0)
			rc = lks_vcard_summary(summary, cards);
		lks_vcard_free(cards);
		break;
	case LKS_KIND_NOTE:
	case LKS_KIND_FILE:
		break;
	}
	return rc;
}
