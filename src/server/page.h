/* Internal to linksyncd: the pieces the item page is built from (pages.c
 * frames them; page_calendar.c and page_contact.c render the parsed models;
 * page_text.c holds the text helpers). Every function appends to a struct buf
 * and escapes whatever came from the user. */
#ifndef LKS_SERVER_PAGE_H
#define LKS_SERVER_PAGE_H

#include "html.h"
#include "linksync/ical.h"
#include "linksync/vcard.h"

#include <stddef.h>
#include <stdint.h>

/* At most this many events or cards are rendered on one page; the rest are
 * counted ("and 120 more") and reach the phone through the download. */
#define LKS_PAGE_MAX_ENTRIES 100

/* Appends s[0..len) as HTML text: markup characters escaped, bytes that are
 * not UTF-8 and control characters other than tab and newline replaced by
 * U+FFFD, so a page never carries a NUL or a broken sequence. */
void lks_page_text(struct buf *b, const char *s, size_t len);

/* Appends s[0..len) percent-encoded for a URL component: everything except
 * RFC 3986 unreserved characters and the bytes in keep is %XX. The result is
 * plain ASCII without quotes or angle brackets, safe in an attribute. */
void lks_page_url_encode(struct buf *b, const char *s, size_t len, const char *keep);

/* 1 when url starts with http:// or https:// (any case) and has no
 * characters a URL cannot hold unencoded (spaces, controls, quotes, <>). */
int lks_page_is_web_url(const char *url);

/* Writes a calendar date as English words, "Monday 1 March 2027", into out. */
void lks_page_date(char *out, size_t outsz, int year, int month, int day);

/* Appends when a component happens, in the zone it was written in, e.g.
 * "Monday 1 March 2027, 12:30 – 14:00 (Europe/Paris)", "Saturday 6 March
 * 2027 (all day)"; to-dos read "due ...". Zoned start times are wrapped in a
 * <time> element whose datetime is the UTC instant and whose data-wall is
 * the wall time, so item.js can add the viewer's local time. */
void lks_page_when(struct buf *b, const lks_ical_component *c);

/* Appends the calendar's events, to-dos and journal entries (sorted by start,
 * at most LKS_PAGE_MAX_ENTRIES) as HTML sections. titled: the page's h1
 * already names the only entry, so its own heading is left out. */
void lks_page_calendar(struct buf *b, const lks_calendar *cal, int titled);

/* The page title for a calendar: its name, the only entry's title, or NULL
 * (borrowed from cal). */
const char *lks_page_calendar_title(const lks_calendar *cal);

/* Appends every card (at most LKS_PAGE_MAX_ENTRIES) as HTML sections:
 * name, organisation, phones as tel: links, emails as mailto: links,
 * addresses, web sites, birthday, note, and the photo when it is inline
 * image data of a safe type (as a data: URI; nothing is fetched). titled as
 * for lks_page_calendar. */
void lks_page_contacts(struct buf *b, const lks_vcard_list *cards, int titled);

/* Writes "in 3 hours"-style text for a time that lies seconds ahead. */
void lks_page_relative(char *out, size_t outsz, int64_t seconds);

#endif
