/* libFuzzer harness of the iCalendar module: parse any bytes, and for what
 * is accepted exercise the model, the summary, the words of each recurrence
 * rule and the feed, checking the invariants the pages rely on. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linksync/error.h"
#include "linksync/ical.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lks_calendar *cal = NULL;
	char *text = NULL, *feed = NULL;
	size_t feed_len = 0, i;
	int rc;

	rc = lks_ical_parse(&cal, (const char *)data, size);
	if (rc != 0) {
		/* every refusal says why */
		if (rc == LKS_EBADCONTENT && lks_error_message()[0] == '\0')
			abort();
		if (cal)
			abort();
		/* the words of a rule must never crash either */
		if (size < 512) {
			char rule[512];

			memcpy(rule, data, size);
			rule[size] = '\0';
			if (lks_ical_rrule_words(&text, rule) == 0 && !text)
				abort();
			free(text);
		}
		return 0;
	}
	for (i = 0; i < lks_ical_count(cal); i++) {
		const lks_ical_component *c = lks_ical_get(cal, i);

		if (!c || !c->uid || (c->kind == LKS_ICAL_EVENT && !c->start.present))
			abort();
		if (c->summary)
			(void)strlen(c->summary);
		if (c->start.zone == LKS_ICAL_TZID && !c->start.tzid)
			abort();
	}
	if (lks_ical_summary(&text, cal) != 0 || !text)
		abort();
	free(text);
	if (lks_ical_feed(&feed, &feed_len, (const char *)data, size, 3600) != 0 || feed_len < size)
		abort();
	free(feed);
	lks_ical_free(cal);
	return 0;
}
