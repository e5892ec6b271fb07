/* Media types, kinds, names and UTF-8 checks of the item model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "linksync/error.h"
#include "linksync/item.h"

#include <stdlib.h>
#include <string.h>

static void expect_type(const char *in, const char *want)
{
	char *out = NULL;

	assert_int_equal(lks_type_normalize(&out, in), 0);
	assert_string_equal(out, want);
	free(out);
}

static void test_type_normalize(void **state)
{
	char *out = NULL;
	char longer[300];

	expect_type(NULL, "application/octet-stream");
	expect_type("", "application/octet-stream");
	expect_type("Text/Calendar", "text/calendar; charset=utf-8");
	expect_type("text/plain;charset=UTF-8", "text/plain; charset=utf-8");
	expect_type("text/x-vcard", "text/vcard; charset=utf-8");
	expect_type("image/PNG", "image/png");
	expect_type("text/plain; Format=\"flowed\";", "text/plain; format=\"flowed\"; charset=utf-8");
	expect_type("application/json; charset=utf-8; x=1",
		    "application/json; charset=utf-8; x=1");
	static const char *const bad[] = {"text", "text/", "/plain", "text/plain garbage",
					  "text/plain; x", "text/plain; x=\"open",
					  "te xt/plain", "text/plain; x=\"a\nb\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(lks_type_normalize(&out, bad[i]), LKS_EINVAL);
		assert_null(out);
	}
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	longer[5] = '/';
	assert_int_equal(lks_type_normalize(&out, longer), LKS_EINVAL);
}

static void test_kinds(void **state)
{
	assert_int_equal(lks_kind_from_type("text/calendar; charset=utf-8"), LKS_KIND_CALENDAR);
	assert_int_equal(lks_kind_from_type("text/vcard"), LKS_KIND_CONTACT);
	assert_int_equal(lks_kind_from_type("text/plain; charset=utf-8"), LKS_KIND_NOTE);
	assert_int_equal(lks_kind_from_type("text/plainx"), LKS_KIND_FILE);
	assert_int_equal(lks_kind_from_type("image/png"), LKS_KIND_FILE);
	assert_int_equal(lks_kind_from_type(NULL), LKS_KIND_FILE);
	assert_string_equal(lks_kind_name(LKS_KIND_CALENDAR), "calendar");
	assert_string_equal(lks_kind_name(LKS_KIND_FILE), "file");
}

static void test_type_from_name_and_inline(void **state)
{
	assert_string_equal(lks_type_from_name("Event.ICS"), "text/calendar");
	assert_string_equal(lks_type_from_name("a.vcf"), "text/vcard");
	assert_string_equal(lks_type_from_name("photo.jpeg"), "image/jpeg");
	assert_string_equal(lks_type_from_name("noext"), "application/octet-stream");
	assert_string_equal(lks_type_from_name(NULL), "application/octet-stream");
	assert_true(lks_type_is_inline_safe("text/plain; charset=utf-8"));
	assert_true(lks_type_is_inline_safe("image/png"));
	assert_false(lks_type_is_inline_safe("text/html; charset=utf-8"));
	assert_false(lks_type_is_inline_safe("image/svg+xml"));
	assert_false(lks_type_is_inline_safe("application/xml"));
	assert_false(lks_type_is_inline_safe("text/javascript"));
	assert_false(lks_type_is_inline_safe("application/octet-stream"));
}

static void expect_name(const char *in, const char *want)
{
	char *out = NULL;

	assert_int_equal(lks_name_sanitize(&out, in, strlen(in)), 0);
	if (want == NULL) {
		assert_null(out);
	} else {
		assert_non_null(out);
		assert_string_equal(out, want);
	}
	free(out);
}

static void test_name_sanitize(void **state)
{
	char *out = NULL;
	char longname[600];

	expect_name("report.pdf", "report.pdf");
	expect_name("../../etc/passwd", "passwd");
	expect_name("C:\\Users\\me\\a.txt", "a.txt");
	expect_name("..", NULL);
	expect_name(".hidden", "hidden");
	expect_name("a\"b\r\nX: y;.txt", "a_b__X: y_.txt");
	expect_name("café ☕.txt", "café ☕.txt");
	expect_name("", NULL);
	assert_int_equal(lks_name_sanitize(&out, "bad\xff", 4), LKS_EINVAL);
	/* Cut at a character boundary, never inside a UTF-8 sequence. */
	for (size_t i = 0; i + 2 < sizeof(longname); i += 2)
		memcpy(longname + i, "\xc3\xa9", 2);
	longname[sizeof(longname) - 2] = '\0';
	assert_int_equal(lks_name_sanitize(&out, longname, strlen(longname)), 0);
	assert_true(strlen(out) <= LKS_NAME_MAX);
	assert_true(lks_utf8_valid(out, strlen(out)));
	free(out);
}

static void test_utf8(void **state)
{
	assert_true(lks_utf8_valid("plain", 5));
	assert_true(lks_utf8_valid("\xf0\x9f\x98\x80", 4));
	assert_false(lks_utf8_valid("\xc0\xaf", 2));         /* overlong */
	assert_false(lks_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(lks_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
	assert_false(lks_utf8_valid("\xe2\x82", 2));         /* truncated */
	assert_false(lks_utf8_valid("a\0b", 3));
}

static void test_etag_changes_with_version_and_content(void **state)
{
	lks_item a, b;
	char ea[48], eb[48];

	memset(&a, 0, sizeof(a));
	a.version = 1;
	b = a;
	lks_item_etag(&a, ea, sizeof(ea));
	b.version = 2;
	lks_item_etag(&b, eb, sizeof(eb));
	assert_string_not_equal(ea, eb);
	b.version = 1;
	b.content_hash[0] = 1;
	lks_item_etag(&b, eb, sizeof(eb));
	assert_string_not_equal(ea, eb);
	assert_int_equal(ea[0], '"');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_normalize),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_type_from_name_and_inline),
		cmocka_unit_test(test_name_sanitize),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_etag_changes_with_version_and_content),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
