/* Unit tests of the vCard module: every parsing feature (folding, QP soft
 * breaks, base64 and data: photos, groups, parameter forms, escaping,
 * charsets, several and nested cards), every refusal with its line number, the
 * limits, the 3.0 writer and its round trip, and a walk over the shared corpus
 * of real exports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>

#include "linksync/error.h"
#include "linksync/vcard.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Parses a NUL-terminated literal from an exact-size heap copy, so that
 * AddressSanitizer sees any read past the input, and checks the input was
 * not written. */
static int parse(lks_vcard_list **out, const char *text)
{
	size_t n = strlen(text);
	char *copy = malloc(n ? n : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, text, n);
	rc = lks_vcard_parse(out, copy, n);
	assert_memory_equal(copy, text, n);
	free(copy);
	return rc;
}

static const lks_vcard_card *parse_one(lks_vcard_list **out, const char *text)
{
	int rc = parse(out, text);

	if (rc != 0)
		fail_msg("parse failed: %s", lks_error_message());
	assert_int_equal(lks_vcard_count(*out), 1);
	return lks_vcard_get(*out, 0);
}

/* Expects a refusal with code and a message starting with "line <line>:". */
static void expect_error(const char *text, int code, int line, const char *needle)
{
	lks_vcard_list *l = NULL;
	char prefix[32];
	int rc = parse(&l, text);

	assert_null(l);
	if (rc != code)
		fail_msg("expected %s, got %s (%s)", lks_error_name(code), lks_error_name(rc),
			 lks_error_message());
	snprintf(prefix, sizeof(prefix), "line %d:", line);
	if (strncmp(lks_error_message(), prefix, strlen(prefix)) != 0)
		fail_msg("expected '%s...', got '%s'", prefix, lks_error_message());
	if (needle != NULL && strstr(lks_error_message(), needle) == NULL)
		fail_msg("expected '%s' in '%s'", needle, lks_error_message());
}

static bool has_type(const char *const *types, size_t n, const char *t)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(types[i], t) == 0)
			return true;
	}
	return false;
}

/* ------------------------------------------------------------------ */

static void test_basic_30(void **state)
{
	lks_vcard_list *l = NULL;
	const lks_vcard_card *c =
	    parse_one(&l, "BEGIN:VCARD\r\n"
			  "VERSION:3.0\r\n"
			  "N:Doe;Jane;Q.;Dr.;PhD\r\n"
			  "FN:Dr. Jane Doe\r\n"
			  "ORG:ACME;Research;Lab 4\r\n"
			  "TITLE:Chief\r\n"
			  "TEL;TYPE=CELL:+1 555 0100\r\n"
			  "EMAIL;TYPE=INTERNET,WORK:jane@example.com\r\n"
			  "ADR;TYPE=HOME:;Apt 2;1 Main St;Springfield;IL;62701;USA\r\n"
			  "URL:https://example.com/jane\r\n"
			  "BDAY:19800131\r\n"
			  "NOTE:Hello\r\n"
			  "UID:urn:uuid:1234\r\n"
			  "X-CUSTOM;X-P=1:kept\r\n"
			  "END:VCARD\r\n");

	(void)state;
	assert_int_equal(c->version, LKS_VCARD_30);
	assert_int_equal(c->line, 1);
	assert_string_equal(c->fn, "Dr. Jane Doe");
	assert_string_equal(c->display_name, "Dr. Jane Doe");
	assert_true(c->has_n);
	assert_string_equal(c->n.family, "Doe");
	assert_string_equal(c->n.given, "Jane");
	assert_string_equal(c->n.additional, "Q.");
	assert_string_equal(c->n.prefix, "Dr.");
	assert_string_equal(c->n.suffix, "PhD");
	assert_string_equal(c->org, "ACME");
	assert_int_equal(c->norg_units, 2);
	assert_string_equal(c->org_units[1], "Lab 4");
	assert_string_equal(c->title, "Chief");
	assert_int_equal(c->nphones, 1);
	assert_string_equal(c->phones[0].value, "+1 555 0100");
	assert_true(has_type(c->phones[0].types, c->phones[0].ntypes, "cell"));
	assert_int_equal(c->nemails, 1);
	assert_int_equal(c->emails[0].ntypes, 2);
	assert_true(has_type(c->emails[0].types, 2, "work"));
	assert_int_equal(c->nadrs, 1);
	assert_string_equal(c->adrs[0].street, "1 Main St");
	assert_string_equal(c->adrs[0].postal_code, "62701");
	assert_string_equal(c->adrs[0].formatted, "Apt 2, 1 Main St, Springfield, IL, 62701, USA");
	assert_int_equal(c->nurls, 1);
	assert_string_equal(c->urls[0].value, "https://example.com/jane");
	assert_string_equal(c->bday, "1980-01-31");
	assert_string_equal(c->note, "Hello");
	assert_string_equal(c->uid, "urn:uuid:1234");
	assert_false(c->has_photo);
	assert_int_equal(c->nprops, 13);
	assert_string_equal(c->props[12].name, "X-CUSTOM");
	assert_string_equal(c->props[12].value, "kept");
	assert_int_equal(c->props[12].line, 14);
	assert_string_equal(c->props[12].params[0].name, "X-P");
	assert_null(lks_vcard_get(l, 1));
	assert_null(lks_vcard_get(NULL, 0));
	assert_int_equal(lks_vcard_count(NULL), 0);
	lks_vcard_free(l);
	lks_vcard_free(NULL);
}

static void test_folding(void **state)
{
	lks_vcard_list *l = NULL;
	/* CRLF + space, LF + tab, a fold inside a UTF-8 sequence (é = C3 A9). */
	const lks_vcard_card *c = parse_one(&l, "BEGIN:VCARD\n"
						"VERSION:3.0\n"
						"FN:Jo\r\n"
						" hn Sm\n"
						"\tith\n"
						"NOTE:caf\xC3\r\n"
						" \xA9 au lait\n"
						"N:Smith;John\n"
						" ;;;\n"
						"END:VCARD");

	(void)state;
	assert_string_equal(c->fn, "John Smith");
	assert_string_equal(c->note, "caf\xC3\xA9 au lait");
	assert_string_equal(c->n.given, "John");
	assert_int_equal(c->props[2].line, 6);
	assert_int_equal(c->props[3].line, 8);
	lks_vcard_free(l);
}

static void test_qp_soft_breaks(void **state)
{
	lks_vcard_list *l = NULL;
	const lks_vcard_card *c =
	    parse_one(&l, "BEGIN:VCARD\r\n"
			  "VERSION:2.1\r\n"
			  "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=\r\n"
			  "=BCrgen;;;\r\n"
			  "NOTE;ENCODING=QUOTED-PRINTABLE:line one=0D=0Aline=\r\n"
			  " two=3D=\r\n"
			  "=0D=0A=0C end\r\n"
			  "TEL;CELL:123\r\n"
			  "LABEL;QUOTED-PRINTABLE:bare =\r\n"
			  "param\r\n"
			  "END:VCARD\r\n");

	(void)state;
	assert_string_equal(c->n.family, "M\xC3\xBCller");
	assert_string_equal(c->n.given, "J\xC3\xBCrgen");
	assert_string_equal(c->display_name, "J\xC3\xBCrgen M\xC3\xBCller");
	/* The soft break joins lines verbatim; =0C (form feed) is dropped. */
	assert_string_equal(c->note, "line one\nline two=\n end");
	assert_int_equal(c->nphones, 1);
	assert_string_equal(c->phones[0].value, "123");
	assert_int_equal(c->props[2].line, 5);
	assert_int_equal(c->props[3].line, 8);
	assert_string_equal(c->props[4].value, "bare param");
	assert_int_equal(c->props[4].line, 9);
	lks_vcard_free(l);
}

/* 1x1 GIF. */
static const unsigned char gif[] = {
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0xff, 0xff,
    0xff, 0x00, 0x00, 0x00, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};
#define GIF_B64 "R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="

static void test_photos(void **state)
{
	lks_vcard_list *l = NULL;
	const lks_vcard_card *c;

	(void)state;
	/* 3.0 ENCODING=b, folded; the declared JPEG is overruled by the bytes. */
	c = parse_one(&l, "BEGIN:VCARD\nVERSION:3.0\nFN:x\n"
			  "PHOTO;ENCODING=b;TYPE=JPEG:R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALA\n"
			  " AAAAABAAEAAAICRAEAOw==\nEND:VCARD\n");
	assert_true(c->has_photo);
	assert_string_equal(c->photo.media_type, "image/gif");
	assert_int_equal(c->photo.len, sizeof(gif));
	assert_memory_equal(c->photo.data, gif, sizeof(gif));
	assert_string_equal(c->photo.uri, "");
	assert_true(lks_vcard_photo_displayable(&c->photo));
	lks_vcard_free(l);

	/* 2.1 bare BASE64, continuation lines not indented, ended by a blank line. */
	c = parse_one(&l, "BEGIN:VCARD\r\nVERSION:2.1\r\nN:x\r\n"
			  "PHOTO;BASE64;GIF:\r\n"
			  "R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALA\r\n"
			  "AAAAABAAEAAAICRAEAOw==\r\n"
			  "\r\n"
			  "TEL:1\r\nEND:VCARD\r\n");
	assert_int_equal(c->photo.len, sizeof(gif));
	assert_memory_equal(c->photo.data, gif, sizeof(gif));
	assert_int_equal(c->nphones, 1);
	lks_vcard_free(l);

	/* 4.0 data: URI. */
	c = parse_one(&l, "BEGIN:VCARD\nVERSION:4.0\nFN:x\n"
			  "PHOTO:data:image/gif;base64," GIF_B64 "\nEND:VCARD\n");
	assert_string_equal(c->photo.media_type, "image/gif");
	assert_int_equal(c->photo.len, sizeof(gif));
	lks_vcard_free(l);

	/* Bytes that are no image: kept, but not displayable. */
	c = parse_one(&l, "BEGIN:VCARD\nVERSION:3.0\nFN:x\n"
			  "PHOTO;ENCODING=b;TYPE=JPEG:PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\n"
			  "END:VCARD\n");
	assert_true(c->has_photo);
	assert_string_equal(c->photo.media_type, "application/octet-stream");
	assert_false(lks_vcard_photo_displayable(&c->photo));
	lks_vcard_free(l);

	/* External photos: http(s) only; a javascript: URI is no photo. */
	c = parse_one(&l, "BEGIN:VCARD\nVERSION:4.0\nFN:x\n"
			  "PHOTO;MEDIATYPE=image/png:javascript:alert(1)\n"
			  "PHOTO;MEDIATYPE=image/PNG:https://example.com/a.png\nEND:VCARD\n");
	assert_true(c->has_photo);
	assert_string_equal(c->photo.uri, "https://example.com/a.png");
	assert_string_equal(c->photo.media_type, "image/png");
	assert_null(c->photo.data);
	assert_false(lks_vcard_photo_displayable(&c->photo));
	lks_vcard_free(l);

	/* Broken base64 is skipped, not fatal. */
	c = parse_one(&l, "BEGIN:VCARD\nVERSION:3.0\nFN:x\n"
			  "PHOTO;ENCODING=b:@@@@\nEND:VCARD\n");
	assert_false(c->has_photo);
	lks_vcard_free(l);
}

static void test_groups_and_labels(void **state)
{
	lks_vcard_list *l = NULL;
	const lks_vcard_card *c = parse_one(&l, "BEGIN:VCARD\nVERSION:3.0\nFN:x\n"
						"item1.TEL:111\n"
						"item1.X-ABLabel:_$!<AssistantPhone>!$_\n"
						"ITEM2.EMAIL;type=INTERNET:a@b.c\n"
						"item2.X-ABLabel:Custom\\, label\n"
						"item2.X-ABLabel:second label ignored\n"
						"item3.URL:http\\://x.example\n"
						"TEL:222\n"
						"END:VCARD\n");

	(void)state;
	assert_string_equal(c->phones[0].group, "item1");
	assert_string_equal(c->phones[0].label, "AssistantPhone");
	assert_string_equal(c->emails[0].group, "ITEM2");
	assert_string_equal(c->emails[0].label, "Custom, label");
	assert_string_equal(c->urls[0].value, "http://x.example");
	assert_string_equal(c->urls[0].label, "");
	assert_string_equal(c->phones[1].group, "");
	assert_string_equal(c->phones[1].label, "");
	assert_string_equal(c->props[3].group, "item1");
	assert_string_equal(c->props[3].name, "X-ABLABEL");
	lks_vcard_free(l);
}

static void test_parameter_forms(void **state)
{
	lks_vcard_list *l = NULL;
	const lks_vcard_card *c = parse_one(
	    &l, "BEGIN:VCARD\nVERSION:4.0\nFN:x\n"
		"TEL;VALUE=uri;TYPE=\"voice,cell\";PREF=1:tel:+1-555-0100;ext=7\n"
		"TEL;TYPE=home;TYPE=work;type=HOME:2\n"
		"TEL;CELL;VOICE;PREF:3\n"
		"ADR;LABEL=\"1 Main St.;\\nSpringfield: IL\";TYPE=work:;;1 Main St;Springfield\n"
		"NOTE;X-Q=\"say ^'hi^' ^^ ^n\";X-E=;X-L=a,b:n\n"
		"END:VCARD\n");
	const lks_vcard_param *pa;

	(void)state;
	assert_string_equal(c->phones[0].value, "+1-555-0100,7");
	assert_int_equal(c->phones[0].pref, 1);
	assert_int_equal(c->phones[0].ntypes, 2);
	assert_string_equal(c->phones[0].types[0], "voice");
	assert_string_equal(c->phones[0].types[1], "cell");
	assert_int_equal(c->phones[1].ntypes, 2);
	assert_string_equal(c->phones[1].types[0], "home");
	assert_string_equal(c->phones[1].types[1], "work");
	assert_int_equal(c->phones[2].ntypes, 2);
	assert_string_equal(c->phones[2].types[0], "cell");
	assert_int_equal(c->phones[2].pref, 1);
	assert_string_equal(c->adrs[0].street, "1 Main St");
	assert_string_equal(c->adrs[0].locality, "Springfield");
	pa = &c->props[5].params[0];
	assert_string_equal(pa->name, "LABEL");
	assert_int_equal(pa->nvalues, 1);
	assert_string_equal(pa->values[0], "1 Main St.;\\nSpringfield: IL");
	pa = &c->props[6].params[0];
	assert_string_equal(pa->values[0], "say \"hi\" ^ \n");
	assert_string_equal(c->props[6].params[1].values[0], "");
	assert_int_equal(c->props[6].params[2].nvalues, 2);
	assert_string_equal(c->note, "n");
	lks_vcard_free(l);
}

static void test_escaping(void **state)
{
	lks_vcard_list *l = NULL;
	const lks_vcard_card *c = parse_one(&l, "BEGIN:VCARD\nVERSION:3.0\n"
						"FN:Smith\\, John\n"
						"N:Smith\\;Jones;John\\,Jack;;;\n"
						"NOTE:a\\nb\\Nc\\\\n\\;\\,\\:\\\"C:\\temp\n"
						"ORG:A\\;B;C\n"
						"END:VCARD\n");

	(void)state;
	assert_string_equal(c->fn, "Smith, John");
	assert_string_equal(c->n.family, "Smith;Jones");
	assert_string_equal(c->n.given, "John,Jack");
	assert_string_equal(c->note, "a\nb\nc\\n;,:\"C:\\temp");
	assert_string_equal(c->org, "A;B");
	assert_string_equal(c->org_units[0], "C");
	lks_vcard_free(l);

	/* 2.1 knows only \; : other backslashes and commas are literal. */
	c = parse_one(&l, "BEGIN:VCARD\nVERSION:2.1\nN:O\\;Brien;Pat\n"
			  "NOTE:C:\\new\\dir, ok\nEND:VCARD\n");
	assert_string_equal(c->n.family, "O;Brien");
	assert_string_equal(c->note, "C:\\new\\dir, ok");
	lks_vcard_free(l);
}

static void test_charsets(void **state)
{
	lks_vcard_list *l = NULL;
	const lks_vcard_card *c =
	    parse_one(&l, "BEGIN:VCARD\nVERSION:2.1\n"
			  "N;CHARSET=ISO-8859-1:Ren\xE9;Zo\xEB\n"
			  "NOTE;CHARSET=WINDOWS-1252;ENCODING=QUOTED-PRINTABLE:=80 =93q=94\n"
			  "TITLE:caf\xE9\n"
			  "ORG;CHARSET=UTF-8:bad \xFF\xC3(\n"
			  "X-L15;CHARSET=ISO-8859-15:\xA4\n"
			  "X-CTRL:a\x7F"
			  "b\xC2\x85"
			  "c\n"
			  "END:VCARD\n");

	(void)state;
	assert_string_equal(c->n.family, "Ren\xC3\xA9");
	assert_string_equal(c->n.given, "Zo\xC3\xAB");
	assert_string_equal(c->note, "\xE2\x82\xAC \xE2\x80\x9Cq\xE2\x80\x9D");
	/* No charset and not UTF-8: read as Windows-1252. */
	assert_string_equal(c->title, "caf\xC3\xA9");
	/* Declared UTF-8 but invalid: replacement characters. */
	assert_string_equal(c->org, "bad \xEF\xBF\xBD\xEF\xBF\xBD(");
	/* Other charsets through iconv: ISO-8859-15 0xA4 is the euro sign. */
	assert_string_equal(c->props[5].value, "\xE2\x82\xAC");
	/* DEL and C1 controls never reach a page. */
	assert_string_equal(c->props[6].value, "abc");
	lks_vcard_free(l);

	/* Overlong forms and surrogates are invalid UTF-8. */
	c = parse_one(&l, "BEGIN:VCARD\nVERSION:4.0\nFN;CHARSET=UTF-8:\xC0\xAF\xED\xA0\x80!\n"
			  "END:VCARD\n");
	assert_string_equal(c->fn, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD!");
	lks_vcard_free(l);
}

static void test_several_cards_and_summary(void **state)
{
	lks_vcard_list *l = NULL;
	char *s = NULL;
	int rc = parse(&l, "BEGIN:VCARD\nVERSION:3.0\nFN:Ann\nEND:VCARD\n\n"
			   "begin:vcard\nversion:4.0\nfn:Bob\nend:vcard\n"
			   "BEGIN:VCARD\nVERSION:2.1\nN:Carr;Cy\nEND:VCARD\n");

	(void)state;
	assert_int_equal(rc, 0);
	assert_int_equal(lks_vcard_count(l), 3);
	assert_string_equal(lks_vcard_get(l, 1)->fn, "Bob");
	assert_int_equal(lks_vcard_get(l, 1)->line, 6);
	assert_string_equal(lks_vcard_get(l, 2)->display_name, "Cy Carr");
	assert_int_equal(lks_vcard_summary(&s, l), 0);
	assert_string_equal(s, "Ann + 2 more");
	free(s);
	lks_vcard_free(l);

	(void)parse_one(&l, "BEGIN:VCARD\nVERSION:3.0\nFN:\nEND:VCARD\n");
	assert_int_equal(lks_vcard_summary(&s, l), 0);
	assert_string_equal(s, "Unnamed contact");
	free(s);
	lks_vcard_free(l);
	assert_int_equal(lks_vcard_summary(&s, NULL), LKS_EINVAL);
}

static void test_nested_agent(void **state)
{
	lks_vcard_list *l = NULL;
	const lks_vcard_card *c =
	    parse_one(&l, "BEGIN:VCARD\nVERSION:2.1\nN:Boss;Big\n"
			  "AGENT:\n"
			  "BEGIN:VCARD\nVERSION:2.1\nN:Assistant;Al\nTEL:999\n"
			  "AGENT:\nBEGIN:VCARD\nN:Deeper\nEND:VCARD\n"
			  "END:VCARD\n"
			  "TEL:111\n"
			  "END:VCARD\n");
	struct {
		char *p;
		size_t n;
	} deep = {NULL, 0};

	(void)state;
	assert_string_equal(c->n.family, "Boss");
	assert_int_equal(c->nphones, 1);
	assert_string_equal(c->phones[0].value, "111");
	lks_vcard_free(l);

	/* More than LKS_VCARD_MAX_DEPTH nested cards. */
	deep.p = calloc(1, 4096);
	assert_non_null(deep.p);
	strcat(deep.p, "BEGIN:VCARD\nVERSION:2.1\nN:a\n");
	for (int i = 0; i < LKS_VCARD_MAX_DEPTH + 1; i++)
		strcat(deep.p, "AGENT:\nBEGIN:VCARD\n");
	expect_error(deep.p, LKS_ETOOBIG, 4 + 2 * LKS_VCARD_MAX_DEPTH + 1, "nested");
	free(deep.p);

	/* A nested card without its END, and an outer card without its END. */
	expect_error("BEGIN:VCARD\nVERSION:2.1\nN:a\nAGENT:\nBEGIN:VCARD\nN:b\n", LKS_EBADCONTENT,
		     5, "nested");
	expect_error("BEGIN:VCARD\nVERSION:2.1\nN:a\nAGENT:\nBEGIN:VCARD\nN:b\nEND:VCARD\n",
		     LKS_EBADCONTENT, 1, "no END:VCARD");
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("", LKS_EBADCONTENT, 1, "no BEGIN:VCARD");
	expect_error("\n\n  \n", LKS_EBADCONTENT, 1, "no BEGIN:VCARD");
	expect_error("\nhello world\n", LKS_EBADCONTENT, 2, "expected BEGIN:VCARD");
	expect_error("BEGIN:VCALENDAR\nEND:VCALENDAR\n", LKS_EBADCONTENT, 1, "BEGIN:VCALENDAR");
	expect_error("BEGIN:VCARD\nVERSION:3.0\nFN:a\n", LKS_EBADCONTENT, 1, "END:VCARD");
	expect_error("BEGIN:VCARD\nVERSION:3.0\nFN:a\nEND:VCARD\nBEGIN:VCARD\nVERSION:3.0\n",
		     LKS_EBADCONTENT, 5, "END:VCARD");
	expect_error("BEGIN:VCARD\nFN:a\nEND:VCARD\n", LKS_EBADCONTENT, 1, "VERSION");
	expect_error("\n\nBEGIN:VCARD\nVERSION:3.0\nN:a;b\nEND:VCARD\n", LKS_EBADCONTENT, 3, "FN");
	expect_error("BEGIN:VCARD\nVERSION:4.0\nEND:VCARD\n", LKS_EBADCONTENT, 1, "FN");
	expect_error("BEGIN:VCARD\nVERSION:2.1\nNOTE:nothing to name it by\nEND:VCARD\n",
		     LKS_EBADCONTENT, 1, "no N");
	expect_error("BEGIN:VCARD\nVERSION:3.0\nFN:a\nNOTE:x\n y\nthis is garbage\nEND:VCARD\n",
		     LKS_EBADCONTENT, 6, "no ':'");
	expect_error("BEGIN:VCARD\nVERSION:5.0\nFN:a\nEND:VCARD\n", LKS_EBADCONTENT, 2,
		     "unknown VERSION '5.0'");
	expect_error("BEGIN:VCARD\nVERSION:3.0\nFN:a\nEND:VCARD\nEND:VCARD\n", LKS_EBADCONTENT, 5,
		     "outside");
	expect_error("BEGIN:VCARD\nVERSION:3.0\nFN:a\nEND:VCALENDAR\n", LKS_EBADCONTENT, 4,
		     "does not close");
	expect_error("BEGIN:VCARD\nVERSION:3.0\nFN:a\nBEGIN:VEVENT\n", LKS_EBADCONTENT, 4,
		     "inside");
	expect_error("BEGIN:VCARD\nVERSION:3.0\nFN;X=\"open:a\nEND:VCARD\n", LKS_EBADCONTENT, 3,
		     "unterminated");
	expect_error("BEGIN:VCARD\nVERSION:3.0\nF N:a\nEND:VCARD\n", LKS_EBADCONTENT, 3,
		     "invalid property name");
	expect_error("BEGIN:VCARD\nVERSION:3.0\nFN;X\"=1:a\nEND:VCARD\n", LKS_EBADCONTENT, 3,
		     "invalid parameter");
	expect_error("\xFF\xFE"
		     "B\0E\0",
		     LKS_EBADCONTENT, 1, NULL);
}

static void test_binary(void **state)
{
	static const char bin[] = "BEGIN:VCARD\nVERSION:3.0\nFN:a\nNOTE:x\0y\nEND:VCARD\n";
	static const char utf16[] = "\xFF\xFE"
				    "B\0E\0G\0";
	lks_vcard_list *l = NULL;

	(void)state;
	assert_int_equal(lks_vcard_parse(&l, bin, sizeof(bin) - 1), LKS_EBADCONTENT);
	assert_string_equal(lks_error_message(),
			    "line 4: binary data (byte 0x00), not a text vCard");
	assert_int_equal(lks_vcard_parse(&l, "\x01\x02\x03", 3), LKS_EBADCONTENT);
	assert_non_null(strstr(lks_error_message(), "line 1: binary data"));
	assert_int_equal(lks_vcard_parse(&l, utf16, sizeof(utf16) - 1), LKS_EBADCONTENT);
	assert_non_null(strstr(lks_error_message(), "UTF-16"));
	assert_null(l);
	assert_int_equal(lks_vcard_parse(NULL, "x", 1), LKS_EINVAL);
	assert_int_equal(lks_vcard_parse(&l, NULL, 1), LKS_EINVAL);
}

static void test_tolerance(void **state)
{
	lks_vcard_list *l = NULL;
	const lks_vcard_card *c;

	(void)state;
	/* BOM, CR CR LF (iOS 5), VERSION late with spaces, blank lines inside,
	 * empty parameters, a DOS EOF mark. */
	c = parse_one(&l, "\xEF\xBB\xBF"
			  "BEGIN:VCARD\r\r\n"
			  "BDAY;VALUE=DATE:1963-09-21\r\r\n"
			  "VERSION: 4.0 \r\r\n"
			  "\r\r\n"
			  "FN;;:Derik\r\r\n"
			  " Stenerson\r\r\n"
			  "ORG: Open Text Inc. \r\r\n"
			  "END:VCARD\r\r\n\x1A");
	assert_int_equal(c->version, LKS_VCARD_40);
	assert_string_equal(c->fn, "DerikStenerson");
	assert_string_equal(c->org, "Open Text Inc.");
	assert_string_equal(c->bday, "1963-09-21");
	lks_vcard_free(l);

	/* Android 2.1: nameless contacts with only a number or an address. */
	c = parse_one(&l, "BEGIN:VCARD\r\nVERSION:2.1\r\nEMAIL;PREF:john@example.com\r\n"
			  "END:VCARD\r\n");
	assert_string_equal(c->display_name, "john@example.com");
	lks_vcard_free(l);

	/* Old Mac CR-only line ends. */
	c = parse_one(&l, "BEGIN:VCARD\rVERSION:3.0\rFN:Mac\rEND:VCARD\r");
	assert_string_equal(c->fn, "Mac");
	lks_vcard_free(l);

	/* No FN but N: the display name is built. */
	c = parse_one(&l, "BEGIN:VCARD\nVERSION:2.1\nN:Doe;John;;Mr.;\nEND:VCARD\n");
	assert_string_equal(c->fn, "");
	assert_string_equal(c->display_name, "Mr. John Doe");
	lks_vcard_free(l);

	/* Apple's year-less birthday. */
	c = parse_one(&l, "BEGIN:VCARD\nVERSION:3.0\nFN:x\n"
			  "BDAY;X-APPLE-OMIT-YEAR=1604:1604-02-03\nEND:VCARD\n");
	assert_string_equal(c->bday, "--02-03");
	lks_vcard_free(l);
}

static void test_limits(void **state)
{
	const char *card = "BEGIN:VCARD\nVERSION:3.0\nFN:a\nEND:VCARD\n";
	size_t cl = strlen(card), i, n = 0;
	size_t size = cl * (LKS_VCARD_MAX_CARDS + 1) + 1;
	char *big = malloc(size > LKS_VCARD_MAX_LINE + 4096 ? size : LKS_VCARD_MAX_LINE + 4096);
	lks_vcard_list *l = NULL;

	(void)state;
	assert_non_null(big);
	/* Exactly the maximum of cards parses. */
	for (i = 0; i < LKS_VCARD_MAX_CARDS; i++, n += cl)
		memcpy(big + n, card, cl);
	assert_int_equal(lks_vcard_parse(&l, big, n), 0);
	assert_int_equal(lks_vcard_count(l), LKS_VCARD_MAX_CARDS);
	lks_vcard_free(l);
	memcpy(big + n, card, cl);
	n += cl;
	assert_int_equal(lks_vcard_parse(&l, big, n), LKS_ETOOBIG);
	assert_non_null(strstr(lks_error_message(), "more than 10000 vCards"));

	/* Properties per card. */
	n = 0;
	memcpy(big, "BEGIN:VCARD\nVERSION:3.0\nFN:a\n", 29);
	n = 29;
	for (i = 0; i < LKS_VCARD_MAX_PROPS; i++) {
		memcpy(big + n, "X-A:b\n", 6);
		n += 6;
	}
	memcpy(big + n, "END:VCARD\n", 10);
	assert_int_equal(lks_vcard_parse(&l, big, n + 10), LKS_ETOOBIG);
	assert_non_null(strstr(lks_error_message(), "properties"));

	/* Parameters per property. */
	n = 0;
	memcpy(big, "BEGIN:VCARD\nVERSION:3.0\nFN:a\nTEL", 32);
	n = 32;
	for (i = 0; i <= LKS_VCARD_MAX_PARAMS; i++)
		n += (size_t)snprintf(big + n, 32, ";X-P%zu=1", i);
	memcpy(big + n, ":1\nEND:VCARD\n", 13);
	assert_int_equal(lks_vcard_parse(&l, big, n + 13), LKS_ETOOBIG);
	assert_non_null(strstr(lks_error_message(), "line 4: more than 64 parameters"));

	/* Values per parameter. */
	n = 0;
	memcpy(big, "BEGIN:VCARD\nVERSION:3.0\nFN:a\nTEL;TYPE=a", 39);
	n = 39;
	for (i = 0; i < LKS_VCARD_MAX_PARAMS; i++) {
		memcpy(big + n, ",b", 2);
		n += 2;
	}
	memcpy(big + n, ":1\nEND:VCARD\n", 13);
	assert_int_equal(lks_vcard_parse(&l, big, n + 13), LKS_ETOOBIG);

	/* Line length, physical and unfolded. */
	memcpy(big, "BEGIN:VCARD\nVERSION:3.0\nFN:a\nNOTE:", 34);
	memset(big + 34, 'x', LKS_VCARD_MAX_LINE);
	memcpy(big + 34 + LKS_VCARD_MAX_LINE, "\nEND:VCARD\n", 11);
	assert_int_equal(lks_vcard_parse(&l, big, 45 + LKS_VCARD_MAX_LINE), LKS_ETOOBIG);
	assert_non_null(strstr(lks_error_message(), "line 4:"));
	big[34 + LKS_VCARD_MAX_LINE / 2] = '\n';
	big[34 + LKS_VCARD_MAX_LINE / 2 + 1] = ' ';
	assert_int_equal(lks_vcard_parse(&l, big, 45 + LKS_VCARD_MAX_LINE), LKS_ETOOBIG);
	assert_non_null(strstr(lks_error_message(), "unfolded"));
	assert_null(l);
	free(big);
}

/* Every output line ends in CRLF, holds at most 75 octets, and no fold
 * splits a UTF-8 sequence. */
static void check_v30_form(const char *s, size_t n)
{
	size_t start = 0, i;

	assert_int_equal(strlen(s), n);
	for (i = 0; i < n; i++) {
		if (s[i] == '\n') {
			assert_true(i > 0 && s[i - 1] == '\r');
			assert_true(i - 1 - start <= 75);
			if (i + 1 < n && s[i + 1] == ' ')
				assert_true(i + 2 < n && ((unsigned char)s[i + 2] & 0xC0) != 0x80);
			start = i + 1;
		} else if (s[i] == '\r') {
			assert_true(i + 1 < n && s[i + 1] == '\n');
		}
	}
	assert_int_equal(start, n);
}

static void assert_typed_equal(const lks_vcard_typed *a, const lks_vcard_typed *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(a[i].value, b[i].value);
		assert_int_equal(a[i].ntypes, b[i].ntypes);
		for (size_t k = 0; k < a[i].ntypes; k++) {
			/* 4.0 "text" is written as 3.0 "msg". */
			if (strcmp(a[i].types[k], "text") == 0)
				assert_string_equal(b[i].types[k], "msg");
			else
				assert_string_equal(a[i].types[k], b[i].types[k]);
		}
		assert_int_equal(a[i].pref != 0, b[i].pref != 0);
		assert_string_equal(a[i].label, b[i].label);
	}
}

static void assert_same_model(const lks_vcard_card *a, const lks_vcard_card *b)
{
	assert_int_equal(b->version, LKS_VCARD_30);
	assert_string_equal(a->display_name, b->display_name);
	if (a->has_n) {
		assert_string_equal(a->n.family, b->n.family);
		assert_string_equal(a->n.given, b->n.given);
		assert_string_equal(a->n.additional, b->n.additional);
		assert_string_equal(a->n.prefix, b->n.prefix);
		assert_string_equal(a->n.suffix, b->n.suffix);
	}
	assert_string_equal(a->org, b->org);
	assert_int_equal(a->norg_units, b->norg_units);
	for (size_t i = 0; i < a->norg_units; i++)
		assert_string_equal(a->org_units[i], b->org_units[i]);
	assert_string_equal(a->title, b->title);
	assert_string_equal(a->nickname, b->nickname);
	assert_int_equal(a->nphones, b->nphones);
	assert_typed_equal(a->phones, b->phones, a->nphones);
	assert_int_equal(a->nemails, b->nemails);
	assert_typed_equal(a->emails, b->emails, a->nemails);
	assert_int_equal(a->nurls, b->nurls);
	assert_typed_equal(a->urls, b->urls, a->nurls);
	assert_int_equal(a->nadrs, b->nadrs);
	for (size_t i = 0; i < a->nadrs; i++) {
		assert_string_equal(a->adrs[i].pobox, b->adrs[i].pobox);
		assert_string_equal(a->adrs[i].extended, b->adrs[i].extended);
		assert_string_equal(a->adrs[i].street, b->adrs[i].street);
		assert_string_equal(a->adrs[i].locality, b->adrs[i].locality);
		assert_string_equal(a->adrs[i].region, b->adrs[i].region);
		assert_string_equal(a->adrs[i].postal_code, b->adrs[i].postal_code);
		assert_string_equal(a->adrs[i].country, b->adrs[i].country);
		assert_string_equal(a->adrs[i].formatted, b->adrs[i].formatted);
		assert_string_equal(a->adrs[i].label, b->adrs[i].label);
	}
	assert_string_equal(a->bday, b->bday);
	assert_string_equal(a->note, b->note);
	assert_string_equal(a->uid, b->uid);
	assert_int_equal(a->has_photo, b->has_photo);
	if (a->has_photo) {
		assert_string_equal(a->photo.media_type, b->photo.media_type);
		assert_int_equal(a->photo.len, b->photo.len);
		if (a->photo.len > 0)
			assert_memory_equal(a->photo.data, b->photo.data, a->photo.len);
		assert_string_equal(a->photo.uri, b->photo.uri);
	}
}

static char *to_v30_reparse(const lks_vcard_list *l, lks_vcard_list **again)
{
	char *out = NULL;
	size_t n = 0;

	assert_int_equal(lks_vcard_to_v30(&out, &n, l), 0);
	check_v30_form(out, n);
	if (lks_vcard_parse(again, out, n) != 0)
		fail_msg("reparse failed: %s\n%s", lks_error_message(), out);
	assert_int_equal(lks_vcard_count(*again), lks_vcard_count(l));
	return out;
}

/* The output with its folds undone, for searching (in place). */
static char *unfold(char *s)
{
	char *o = s, *p = s;

	while (*p != '\0') {
		if (p[0] == '\r' && p[1] == '\n' && p[2] == ' ')
			p += 3;
		else
			*o++ = *p++;
	}
	*o = '\0';
	return s;
}

static void test_to_v30_roundtrip(void **state)
{
	lks_vcard_list *l = NULL, *again = NULL;
	char *out;
	int rc = parse(
	    &l,
	    "BEGIN:VCARD\r\nVERSION:4.0\r\n"
	    "FN:J\xC3\xBCrgen \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE6\x97\xA5\xE6\x9C\xAC"
	    "\xE8\xAA\x9E\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"
	    "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE6\x97\xA5\r"
	    "\n"
	    "N:M\xC3\xBCller\\, Jr.;J\xC3\xBCrgen;A,B;;\r\n"
	    "ORG:ACME\\, Inc.;R&D;\r\n"
	    "TITLE:Boss\\; chief\r\n"
	    "NICKNAME:Jay\r\n"
	    "TEL;VALUE=uri;TYPE=\"work,voice,text\";PREF=1:tel:+1-418-656-9254;ext=102\r\n"
	    "TEL;TYPE=cell:+49 171 1234567\r\n"
	    "item1.EMAIL;TYPE=home:j@example.com\r\n"
	    "item1.X-ABLabel:_$!<Other>!$_\r\n"
	    "ADR;TYPE=work:;Suite 1;2875 Laurier\\nBldg 2;Qu\xC3\xA9"
	    "bec;QC;G1V 2M2;Canada\r\n"
	    "URL:https://example.com/a,b\r\n"
	    "BDAY:--0203\r\n"
	    "NOTE:line 1\\nline 2 with \\\\ backslash\\, comma\\; semicolon\r\n"
	    "UID:urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6\r\n"
	    "PHOTO:data:image/gif;base64," GIF_B64 "\r\n"
	    "KIND:group\r\n"
	    "GENDER:F;grrrl\r\n"
	    "LANG:fr\r\n"
	    "GEO:geo:46.772673,-71.282945\r\n"
	    "TZ:-0500\r\n"
	    "ANNIVERSARY:20090808\r\n"
	    "X-SOCIAL;X-SERVICE=\"a;b\":@j\r\n"
	    "END:VCARD\r\n"
	    "BEGIN:VCARD\r\nVERSION:2.1\r\n"
	    "N;CHARSET=ISO-8859-1:Ren\xE9;A\r\n"
	    "TEL;HOME;VOICE;PREF:555\r\n"
	    "EMAIL;INTERNET:a@b.c\r\n"
	    "NOTE;ENCODING=QUOTED-PRINTABLE:a=0D=0Ab, c=\r\n"
	    "d\r\n"
	    "PHOTO;ENCODING=BASE64;TYPE=GIF:\r\n"
	    "    " GIF_B64 "\r\n"
	    "\r\n"
	    "LABEL;WORK;ENCODING=QUOTED-PRINTABLE:1 Main=0D=0ACity, ST\r\n"
	    "KEY;X509;ENCODING=BASE64:\r\n"
	    "    AAEC\r\n"
	    "    AwQF\r\n"
	    "\r\n"
	    "END:VCARD\r\n");

	(void)state;
	assert_int_equal(rc, 0);
	out = to_v30_reparse(l, &again);
	for (size_t i = 0; i < lks_vcard_count(l); i++)
		assert_same_model(lks_vcard_get(l, i), lks_vcard_get(again, i));
	unfold(out);

	/* The 4.0-only parts, mapped. */
	assert_non_null(strstr(out, "\r\nTEL;TYPE=WORK,VOICE,MSG,PREF:+1-418-656-9254\\,102\r\n"));
	assert_non_null(strstr(out, "\r\nX-ADDRESSBOOKSERVER-KIND:group\r\n"));
	assert_non_null(strstr(out, "\r\nX-GENDER:F\r\n"));
	assert_null(strstr(out, "LANG"));
	assert_null(strstr(out, "\r\nKIND:"));
	assert_null(strstr(out, "\r\nGENDER:"));
	assert_non_null(strstr(out, "\r\nGEO:46.772673;-71.282945\r\n"));
	assert_non_null(strstr(out, "\r\nTZ:-05:00\r\n"));
	assert_non_null(strstr(out, "\r\nX-ANNIVERSARY:20090808\r\n"));
	assert_non_null(strstr(out, "\r\nBDAY;X-APPLE-OMIT-YEAR=1604:1604-02-03\r\n"));
	assert_non_null(strstr(out, "\r\nPHOTO;ENCODING=b;TYPE=GIF:" GIF_B64 "\r\n"));
	assert_non_null(strstr(out, "\r\nitem1.EMAIL;TYPE=HOME:j@example.com\r\n"));
	assert_non_null(strstr(out, "\r\nitem1.X-ABLABEL:_$!<Other>!$_\r\n"));
	assert_non_null(strstr(out, "\r\nX-SOCIAL;X-SERVICE=\"a;b\":@j\r\n"));
	assert_non_null(strstr(out, "\r\nVERSION:3.0\r\n"));
	assert_null(strstr(out, "VERSION:4.0"));
	/* 2.1 specifics: QP and charsets decoded, 2.1 text escaped for 3.0. */
	assert_non_null(strstr(out, "\r\nN:Ren\xC3\xA9;A;;;\r\n"));
	assert_non_null(strstr(out, "\r\nTEL;TYPE=HOME,VOICE,PREF:555\r\n"));
	assert_non_null(strstr(out, "\r\nNOTE:a\\nb\\, cd\r\n"));
	assert_non_null(strstr(out, "\r\nLABEL;TYPE=WORK:1 Main\\nCity\\, ST\r\n"));
	assert_non_null(strstr(out, "\r\nKEY;ENCODING=b;TYPE=X509:AAECAwQF\r\n"));
	assert_null(strstr(out, "QUOTED-PRINTABLE"));
	assert_null(strstr(out, "CHARSET"));
	free(out);
	lks_vcard_free(again);
	lks_vcard_free(l);
}

static void test_to_v30_no_name(void **state)
{
	lks_vcard_list *l = NULL, *again = NULL;
	char *out;

	(void)state;
	/* 3.0 needs N and FN: a nameless 2.1 card gets both from its display
	 * name, an organisation is marked as one. */
	assert_int_equal(parse(&l,
			       "BEGIN:VCARD\nVERSION:2.1\nTEL;CELL:123\nEND:VCARD\n"
			       "BEGIN:VCARD\nVERSION:4.0\nKIND:org\nFN:\nORG:ACME\nEND:VCARD\n"),
			 0);
	out = to_v30_reparse(l, &again);
	assert_non_null(strstr(out, "\r\nN:;123;;;\r\nFN:123\r\n"));
	assert_non_null(strstr(out, "\r\nN:;;;;\r\nFN:ACME\r\nX-ABShowAs:COMPANY\r\n"));
	assert_string_equal(lks_vcard_get(again, 0)->display_name, "123");
	assert_string_equal(lks_vcard_get(again, 1)->display_name, "ACME");
	free(out);
	lks_vcard_free(again);
	lks_vcard_free(l);
	assert_int_equal(lks_vcard_to_v30(&out, NULL, NULL), LKS_EINVAL);
}

static void test_fold_long_utf8(void **state)
{
	lks_vcard_list *l = NULL, *again = NULL;
	char text[2048] = "BEGIN:VCARD\nVERSION:3.0\nFN:x\nNOTE:";
	char *out;

	(void)state;
	/* 1-, 2-, 3- and 4-byte sequences at every alignment. */
	for (int i = 0; i < 60; i++)
		strcat(text, "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
	strcat(text, "\nEND:VCARD\n");
	assert_int_equal(parse(&l, text), 0);
	out = to_v30_reparse(l, &again);
	assert_string_equal(lks_vcard_get(l, 0)->note, lks_vcard_get(again, 0)->note);
	free(out);
	lks_vcard_free(again);
	lks_vcard_free(l);
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A card around body repeated to about size bytes, parsed and written in
 * well under the time a quadratic pass would need (hours at this size). */
static void time_pathological(const char *head, const char *unit, const char *tail, size_t size)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail), n = 0;
	char *buf = malloc(hl + size + ul + tl + 64);
	lks_vcard_list *l = NULL;
	double t0;
	int rc;

	assert_non_null(buf);
	memcpy(buf, head, hl);
	n = hl;
	while (n < hl + size) {
		memcpy(buf + n, unit, ul);
		n += ul;
	}
	memcpy(buf + n, tail, tl);
	n += tl;
	t0 = now_seconds();
	rc = lks_vcard_parse(&l, buf, n);
	if (rc == 0) {
		char *out = NULL;
		size_t ol = 0;
		assert_int_equal(lks_vcard_to_v30(&out, &ol, l), 0);
		free(out);
	}
	lks_vcard_free(l);
	if (now_seconds() - t0 > 20.0)
		fail_msg("'%s' x %zu took %.1f s", unit, size / ul, now_seconds() - t0);
	free(buf);
}

static void test_linear_time(void **state)
{
	const char *h = "BEGIN:VCARD\nVERSION:3.0\nFN:x\n";
	size_t mb4 = 4u << 20;

	(void)state;
	time_pathological(h, "TEL:tel:", "1\nEND:VCARD\n", 1u << 20);
	time_pathological(h, "EMAIL:mailto:", "a\nEND:VCARD\n", 1u << 20);
	time_pathological(h, "TEL:", "tel:", 0);
	time_pathological("BEGIN:VCARD\nVERSION:3.0\nFN:x\nTEL:", "tel:", "1\nEND:VCARD\n", mb4);
	time_pathological("BEGIN:VCARD\nVERSION:3.0\nFN:x\nNOTE:", "\n ", "\nEND:VCARD\n", mb4);
	time_pathological("BEGIN:VCARD\nVERSION:2.1\nN:x\nNOTE;QUOTED-PRINTABLE:", "a=\n",
			  "\nEND:VCARD\n", mb4);
	time_pathological("BEGIN:VCARD\nVERSION:3.0\nFN:x\nORG:", ";", "\nEND:VCARD\n", mb4);
	time_pathological("BEGIN:VCARD\nVERSION:3.0\nFN:x\nNOTE:", "\\,", "\nEND:VCARD\n", mb4);
	time_pathological("BEGIN:VCARD\nVERSION:3.0\nFN:x\nN:", "\\;", "\nEND:VCARD\n", mb4);
	time_pathological("BEGIN:VCARD\nVERSION:2.1\nN:x\nPHOTO;BASE64:\n", "QUFB\n",
			  "\nEND:VCARD\n", mb4);
	time_pathological(h, "a.X-ABLABEL:l\na.TEL:1\n", "END:VCARD\n",
			  (LKS_VCARD_MAX_PROPS - 2) / 2 * 22);
	time_pathological(h, "ANNIVERSARY:1\n", "END:VCARD\n", (LKS_VCARD_MAX_PROPS - 2) * 14);
	time_pathological("", "BEGIN:VCARD\nVERSION:2.1\nN:x\nAGENT:\n", "", 1u << 20);
	time_pathological("BEGIN:VCARD\nVERSION:3.0\nFN:x\nTEL;X=", "\"\",", ":1\n", 200);
}

/* Inputs the fuzzer found, reduced. */
static void test_fuzz_regressions(void **state)
{
	lks_vcard_list *l = NULL;
	const lks_vcard_card *c;

	(void)state;
	/* DEL and C1 controls in a parameter value reached the model. */
	c = parse_one(&l, "BEGIN:VCARD\nVERSION:3.0\nFN:x\n"
			  "TEL;TYPE=work,msg\x7F\x7F,\xC2\x85v;X-A=\"q\x7F\":1\nEND:VCARD\n");
	assert_string_equal(c->phones[0].types[1], "msg");
	assert_string_equal(c->phones[0].types[2], "v");
	assert_string_equal(c->props[2].params[1].values[0], "q");
	lks_vcard_free(l);
}

/* ------------------------------------------------------------------ */
/* Corpus                                                              */
/* ------------------------------------------------------------------ */

struct tally {
	int accepted, rejected;
	char rejected_names[4096];
	int real_export_rejected;
};

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
	if (n >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

static void check_corpus_file(const char *path, struct tally *t)
{
	size_t len = 0;
	char *data = read_file(path, &len);
	lks_vcard_list *l = NULL, *again = NULL;
	int rc;

	assert_non_null(data);
	rc = lks_vcard_parse(&l, data, len);
	if (rc == 0) {
		char *out = to_v30_reparse(l, &again), *sum = NULL;

		for (size_t i = 0; i < lks_vcard_count(l); i++) {
			const lks_vcard_card *a = lks_vcard_get(l, i), *b = lks_vcard_get(again, i);
			assert_string_equal(a->display_name, b->display_name);
			assert_int_equal(a->nphones, b->nphones);
			for (size_t k = 0; k < a->nphones; k++)
				assert_string_equal(a->phones[k].value, b->phones[k].value);
			assert_int_equal(a->nemails, b->nemails);
			for (size_t k = 0; k < a->nemails; k++)
				assert_string_equal(a->emails[k].value, b->emails[k].value);
			assert_same_model(a, b);
		}
		assert_int_equal(lks_vcard_summary(&sum, l), 0);
		assert_true(sum[0] != '\0');
		free(sum);
		free(out);
		t->accepted++;
	} else {
		const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		size_t used = strlen(t->rejected_names);

		if (rc != LKS_EBADCONTENT || lks_error_message()[0] == '\0')
			fail_msg("%s: %s (%s)", path, lks_error_name(rc), lks_error_message());
		print_message("  rejected %s: %s\n", base, lks_error_message());
		snprintf(t->rejected_names + used, sizeof(t->rejected_names) - used, "%s%s",
			 used ? ", " : "", base);
		/* The ez-vcard folder holds real client exports: all must pass. */
		if (strstr(path, "/ez-vcard/") != NULL)
			t->real_export_rejected++;
		t->rejected++;
	}
	lks_vcard_free(again);
	lks_vcard_free(l);
	free(data);
}

/* Walks dir recursively with an explicit stack of paths (no recursion). */
static void walk_corpus(const char *root, struct tally *t)
{
	char **stack = NULL;
	size_t n = 0, cap = 0;

	stack = malloc(sizeof(*stack) * 16);
	assert_non_null(stack);
	cap = 16;
	stack[n++] = strdup(root);
	while (n > 0) {
		char *dir = stack[--n];
		DIR *d = opendir(dir);
		struct dirent *e;

		if (d == NULL) {
			free(dir);
			continue;
		}
		for (e = readdir(d); e != NULL; e = readdir(d)) {
			char path[4096];
			struct stat st;
			size_t nl = strlen(e->d_name);

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (stat(path, &st) != 0)
				continue;
			if (S_ISDIR(st.st_mode)) {
				if (n == cap) {
					cap *= 2;
					stack = realloc(stack, sizeof(*stack) * cap);
					assert_non_null(stack);
				}
				stack[n++] = strdup(path);
			} else if (S_ISREG(st.st_mode) && nl > 4 &&
				   strcmp(e->d_name + nl - 4, ".vcf") == 0) {
				check_corpus_file(path, t);
			}
		}
		closedir(d);
		free(dir);
	}
	free(stack);
}

static void test_corpus(void **state)
{
	const char *corpus = getenv("LKS_CORPUS");
	const char *src = getenv("LKS_SRC");
	char root[4096];
	struct tally t;
	struct stat st;

	(void)state;
	memset(&t, 0, sizeof(t));
	if (corpus != NULL && corpus[0] != '\0')
		snprintf(root, sizeof(root), "%s/vcard", corpus);
	else
		snprintf(root, sizeof(root), "%s/../shared/corpus/vcard", src ? src : ".");
	if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
		print_message("corpus not found at %s\n", root);
		skip();
	}
	walk_corpus(root, &t);
	print_message("vcard corpus: %d accepted, %d rejected (%s)\n", t.accepted, t.rejected,
		      t.rejected ? t.rejected_names : "none");
	assert_true(t.accepted > 0);
	assert_int_equal(t.real_export_rejected, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic_30),
	    cmocka_unit_test(test_folding),
	    cmocka_unit_test(test_qp_soft_breaks),
	    cmocka_unit_test(test_photos),
	    cmocka_unit_test(test_groups_and_labels),
	    cmocka_unit_test(test_parameter_forms),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_charsets),
	    cmocka_unit_test(test_several_cards_and_summary),
	    cmocka_unit_test(test_nested_agent),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_binary),
	    cmocka_unit_test(test_tolerance),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_to_v30_roundtrip),
	    cmocka_unit_test(test_to_v30_no_name),
	    cmocka_unit_test(test_fold_long_utf8),
	    cmocka_unit_test(test_linear_time),
	    cmocka_unit_test(test_fuzz_regressions),
	    cmocka_unit_test(test_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
