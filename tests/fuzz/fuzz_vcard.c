/* libFuzzer harness for the vCard parser: any bytes either parse or are
 * refused with a message; a parsed list must hold only page-safe strings,
 * serialise as vCard 3.0, and parse again into the same names, phones and
 * emails. */
#include "linksync/error.h"
#include "linksync/vcard.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Valid UTF-8 without controls other than tab and newline, or abort. */
static void check_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL)
		abort();
	while (*p != '\0') {
		size_t len = *p < 0x80 ? 1 : *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC2 ? 2 : 0;
		if (len == 0 || (*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7F)
			abort();
		for (size_t i = 1; i < len; i++) {
			if ((p[i] & 0xC0) != 0x80)
				abort();
		}
		if (p[0] == 0xC2 && p[1] < 0xA0)
			abort(); /* C1 control */
		p += len;
	}
}

static void check_typed(const lks_vcard_typed *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		check_text(t[i].value);
		check_text(t[i].group);
		check_text(t[i].label);
		for (size_t k = 0; k < t[i].ntypes; k++)
			check_text(t[i].types[k]);
	}
}

static void check_card(const lks_vcard_card *c)
{
	check_text(c->fn);
	check_text(c->display_name);
	check_text(c->n.family);
	check_text(c->n.given);
	check_text(c->n.additional);
	check_text(c->n.prefix);
	check_text(c->n.suffix);
	check_text(c->org);
	for (size_t i = 0; i < c->norg_units; i++)
		check_text(c->org_units[i]);
	check_text(c->title);
	check_text(c->nickname);
	check_text(c->bday);
	check_text(c->note);
	check_text(c->uid);
	check_text(c->kind);
	check_text(c->gender);
	check_typed(c->phones, c->nphones);
	check_typed(c->emails, c->nemails);
	check_typed(c->urls, c->nurls);
	for (size_t i = 0; i < c->nadrs; i++) {
		check_text(c->adrs[i].formatted);
		check_text(c->adrs[i].street);
		check_text(c->adrs[i].label);
	}
	if (c->has_photo) {
		check_text(c->photo.media_type);
		check_text(c->photo.uri);
		if (c->photo.data != NULL && c->photo.len > 0) {
			volatile unsigned char x = c->photo.data[c->photo.len - 1];
			(void)x;
		}
	}
	for (size_t i = 0; i < c->nprops; i++) {
		check_text(c->props[i].name);
		check_text(c->props[i].group);
		check_text(c->props[i].value);
		for (size_t k = 0; k < c->props[i].nparams; k++) {
			check_text(c->props[i].params[k].name);
			for (size_t j = 0; j < c->props[i].params[k].nvalues; j++)
				check_text(c->props[i].params[k].values[j]);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lks_vcard_list *l = NULL, *again = NULL;
	char *out = NULL, *sum = NULL;
	size_t out_len = 0;
	int rc;

	rc = lks_vcard_parse(&l, (const char *)data, size);
	if (rc != 0) {
		if (l != NULL || lks_error_message()[0] == '\0')
			abort();
		return 0;
	}
	for (size_t i = 0; i < lks_vcard_count(l); i++)
		check_card(lks_vcard_get(l, i));
	if (lks_vcard_summary(&sum, l) != 0)
		abort();
	check_text(sum);
	if (lks_vcard_to_v30(&out, &out_len, l) != 0)
		abort();
	if (lks_vcard_parse(&again, out, out_len) != 0) {
		fprintf(stderr, "reparse failed: %s\n%s\n", lks_error_message(), out);
		abort();
	}
	if (lks_vcard_count(again) != lks_vcard_count(l))
		abort();
	for (size_t i = 0; i < lks_vcard_count(l); i++) {
		const lks_vcard_card *a = lks_vcard_get(l, i), *b = lks_vcard_get(again, i);
		if (strcmp(a->display_name, b->display_name) != 0 || a->nphones != b->nphones ||
		    a->nemails != b->nemails) {
			fprintf(stderr, "round trip changed card %zu: '%s' vs '%s'\n%s\n", i,
				a->display_name, b->display_name, out);
			abort();
		}
		for (size_t k = 0; k < a->nphones; k++) {
			if (strcmp(a->phones[k].value, b->phones[k].value) != 0)
				abort();
		}
		for (size_t k = 0; k < a->nemails; k++) {
			if (strcmp(a->emails[k].value, b->emails[k].value) != 0)
				abort();
		}
	}
	free(out);
	free(sum);
	lks_vcard_free(again);
	lks_vcard_free(l);
	return 0;
}
