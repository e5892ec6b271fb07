/* The contact part of the item page: each card's name, organisation, phones
 * (tel: links), emails (mailto: links), addresses, web sites, birthday, note
 * and photo, from the model lks_vcard_parse builds. The photo is shown only
 * when it is inline data of a safe image type, as a data: URI, so the page
 * never fetches anything a sender chose. */
#include "page.h"

#include <stdio.h>
#include <string.h>

/* Inline photos larger than this are left out of the page: they would make
 * it slow on a phone, and "Save contact" carries them anyway. */
#define PHOTO_MAX (1024 * 1024)

static void text(struct buf *b, const char *s)
{
	if (s != NULL)
		lks_page_text(b, s, strlen(s));
}

/* The words a type parameter stands for, or NULL for types not worth
 * showing (they say nothing a reader needs). */
static const char *type_word(const char *t)
{
	static const struct {
		const char *type, *word;
	} words[] = {
	    {"cell", "mobile"},	       {"home", "home"},
	    {"work", "work"},	       {"fax", "fax"},
	    {"pager", "pager"},	       {"iphone", "iPhone"},
	    {"main", "main"},	       {"car", "car"},
	    {"video", "video"},	       {"textphone", "textphone"},
	    {"msg", "messages"},       {"text", "text messages"},
	    {"postal", "postal"},      {"parcel", "parcel"},
	    {"intl", "international"}, {"dom", "domestic"},
	    {"other", "other"},
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(t, words[i].type) == 0)
			return words[i].word;
	return NULL;
}

/* "Phone (mobile, work)": a field's name and what its types or label say. */
static void label(struct buf *b, const char *what, const char *const *types, size_t ntypes,
		  const char *lbl)
{
	int first = 1;

	buf_printf(b, "<dt>%s", what);
	if (lbl != NULL && *lbl != '\0') {
		buf_puts(b, " <span class=\"muted\">(");
		text(b, lbl);
		buf_puts(b, ")</span>");
	} else {
		for (size_t i = 0; i < ntypes; i++) {
			const char *w = type_word(types[i]);

			if (w == NULL)
				continue;
			buf_puts(b, first ? " <span class=\"muted\">(" : ", ");
			buf_puts(b, w);
			first = 0;
		}
		if (!first)
			buf_puts(b, ")</span>");
	}
	buf_puts(b, "</dt>");
}

/* A phone number for a tel: URI (RFC 3966): digits, '+', '*', '#', and
 * pauses (',' and ';'); visual separators are left out. */
static void tel_href(struct buf *b, const char *number)
{
	for (const char *p = number; *p != '\0'; p++)
		if ((*p >= '0' && *p <= '9') || *p == '+' || *p == '*' || *p == '#' || *p == ',' ||
		    *p == ';')
			buf_add(b, p, 1);
}

static int has_dialable(const char *number)
{
	for (const char *p = number; *p != '\0'; p++)
		if (*p >= '0' && *p <= '9')
			return 1;
	return 0;
}

static void phones(struct buf *b, const lks_vcard_card *c)
{
	for (size_t i = 0; i < c->nphones; i++) {
		const lks_vcard_typed *t = &c->phones[i];

		if (*t->value == '\0')
			continue;
		label(b, "Phone", t->types, t->ntypes, t->label);
		buf_puts(b, "<dd>");
		if (has_dialable(t->value)) {
			buf_puts(b, "<a href=\"tel:");
			tel_href(b, t->value);
			buf_puts(b, "\">");
			text(b, t->value);
			buf_puts(b, "</a>");
		} else {
			text(b, t->value);
		}
		buf_puts(b, "</dd>");
	}
}

static void emails(struct buf *b, const lks_vcard_card *c)
{
	for (size_t i = 0; i < c->nemails; i++) {
		const lks_vcard_typed *t = &c->emails[i];

		if (*t->value == '\0')
			continue;
		label(b, "Email", t->types, t->ntypes, t->label);
		buf_puts(b, "<dd><a href=\"mailto:");
		lks_page_url_encode(b, t->value, strlen(t->value), "@+!$*=^{|}");
		buf_puts(b, "\">");
		text(b, t->value);
		buf_puts(b, "</a></dd>");
	}
}

static void addresses(struct buf *b, const lks_vcard_card *c)
{
	for (size_t i = 0; i < c->nadrs; i++) {
		const lks_vcard_adr *a = &c->adrs[i];
		const char *parts[] = {a->pobox,  a->extended,	  a->street, a->locality,
				       a->region, a->postal_code, a->country};
		int any = 0;

		for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++)
			any |= parts[k] != NULL && *parts[k] != '\0';
		if (!any)
			continue;
		label(b, "Address", a->types, a->ntypes, a->label);
		/* One line per part, as an envelope reads. */
		buf_puts(b, "<dd class=\"text\">");
		{
			int first = 1;
			const char *lines[] = {a->pobox, a->extended, a->street};

			for (size_t k = 0; k < 3; k++) {
				if (lines[k] == NULL || *lines[k] == '\0')
					continue;
				if (!first)
					buf_puts(b, "\n");
				text(b, lines[k]);
				first = 0;
			}
			if ((a->postal_code && *a->postal_code) || (a->locality && *a->locality) ||
			    (a->region && *a->region)) {
				if (!first)
					buf_puts(b, "\n");
				text(b, a->postal_code);
				if (a->postal_code && *a->postal_code && a->locality &&
				    *a->locality)
					buf_puts(b, " ");
				text(b, a->locality);
				if (a->region && *a->region) {
					if ((a->postal_code && *a->postal_code) ||
					    (a->locality && *a->locality))
						buf_puts(b, ", ");
					text(b, a->region);
				}
				first = 0;
			}
			if (a->country && *a->country) {
				if (!first)
					buf_puts(b, "\n");
				text(b, a->country);
			}
		}
		buf_puts(b, "</dd>");
	}
}

static void websites(struct buf *b, const lks_vcard_card *c)
{
	for (size_t i = 0; i < c->nurls; i++) {
		const lks_vcard_typed *t = &c->urls[i];

		if (!lks_page_is_web_url(t->value))
			continue;
		label(b, "Website", t->types, t->ntypes, t->label);
		buf_puts(b, "<dd><a rel=\"noopener noreferrer nofollow\" href=\"");
		text(b, t->value);
		buf_puts(b, "\">");
		text(b, t->value);
		buf_puts(b, "</a></dd>");
	}
}

/* "1980-03-01" reads "1 March 1980", "--03-01" reads "1 March". */
static void birthday(struct buf *b, const char *bday)
{
	static const char *const months[] = {"January",	  "February", "March",	  "April",
					     "May",	  "June",     "July",	  "August",
					     "September", "October",  "November", "December"};
	int y, m, d;
	char rest;

	if (*bday == '\0')
		return;
	buf_puts(b, "<dt>Birthday</dt><dd>");
	if (sscanf(bday, "%4d-%2d-%2d%c", &y, &m, &d, &rest) == 3 && m >= 1 && m <= 12 && d >= 1 &&
	    d <= 31)
		buf_printf(b, "%d %s %d", d, months[m - 1], y);
	else if (sscanf(bday, "--%2d-%2d%c", &m, &d, &rest) == 2 && m >= 1 && m <= 12 && d >= 1 &&
		 d <= 31)
		buf_printf(b, "%d %s", d, months[m - 1]);
	else
		text(b, bday);
	buf_puts(b, "</dd>");
}

static void base64(struct buf *b, const unsigned char *data, size_t len)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char out[4];

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)data[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)data[i + 1] << 8;
		if (i + 2 < len)
			v |= data[i + 2];
		out[0] = tab[(v >> 18) & 63];
		out[1] = tab[(v >> 12) & 63];
		out[2] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		out[3] = i + 2 < len ? tab[v & 63] : '=';
		buf_add(b, out, 4);
	}
}

static void photo(struct buf *b, const lks_vcard_card *c)
{
	const lks_vcard_photo *p = &c->photo;

	if (!c->has_photo || !lks_vcard_photo_displayable(p) || p->len > PHOTO_MAX)
		return;
	/* media_type comes from the bytes' signature and is one of four known
	 * image types, so it needs no escaping; the alt text does. */
	buf_printf(b, "<img class=\"photo\" width=\"96\" height=\"96\" src=\"data:%s;base64,",
		   p->media_type);
	base64(b, p->data, p->len);
	buf_puts(b, "\" alt=\"Photo of ");
	text(b, *c->display_name ? c->display_name : "this contact");
	buf_puts(b, "\">");
}

/* One card; its name is left out when the page's h1 already says it. */
static void card(struct buf *b, const lks_vcard_card *c, int titled)
{
	buf_puts(b, "<article class=\"entry contact\">\n<div class=\"who\">");
	photo(b, c);
	buf_puts(b, "<div>");
	if (!titled) {
		buf_puts(b, "<h2>");
		if (*c->display_name != '\0')
			text(b, c->display_name);
		else
			buf_puts(b, "<span class=\"muted\">(no name)</span>");
		buf_puts(b, "</h2>");
	}
	if (*c->title != '\0' || *c->org != '\0') {
		buf_puts(b, "<p class=\"org\">");
		text(b, c->title);
		if (*c->title != '\0' && *c->org != '\0')
			buf_puts(b, ", ");
		text(b, c->org);
		for (size_t i = 0; i < c->norg_units; i++) {
			if (*c->org_units[i] == '\0')
				continue;
			buf_puts(b, " · ");
			text(b, c->org_units[i]);
		}
		buf_puts(b, "</p>");
	}
	buf_puts(b, "</div></div>\n<dl>");
	phones(b, c);
	emails(b, c);
	addresses(b, c);
	websites(b, c);
	if (*c->nickname != '\0') {
		buf_puts(b, "<dt>Nickname</dt><dd>");
		text(b, c->nickname);
		buf_puts(b, "</dd>");
	}
	birthday(b, c->bday);
	if (*c->note != '\0') {
		buf_puts(b, "<dt>Note</dt><dd class=\"text\">");
		text(b, c->note);
		buf_puts(b, "</dd>");
	}
	buf_puts(b, "</dl>\n</article>\n");
}

void lks_page_contacts(struct buf *b, const lks_vcard_list *cards, int titled)
{
	size_t n = lks_vcard_count(cards);
	size_t shown = n < LKS_PAGE_MAX_ENTRIES ? n : LKS_PAGE_MAX_ENTRIES;

	for (size_t i = 0; i < shown; i++)
		card(b, lks_vcard_get(cards, i), titled && n == 1);
	if (n > shown)
		buf_printf(
		    b, "<p class=\"muted\">and %zu more: save the contacts to see them all.</p>\n",
		    n - shown);
}
