/* Unit tests of the client's pure helpers (src/cli/cli_util.c and the exit
 * code table in cli_exit.c): types, UTF-8, ttl and id checks, item links and
 * their fragments, Content-Disposition names and how they are made safe. The
 * helpers are internal to the client, so their source is compiled in here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli.h"
#include "linksync/error.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


static void test_types(void **state)
{
	(void)state;
	assert_string_equal(cli_type_for_name("event.ics"), "text/calendar");
	assert_string_equal(cli_type_for_name("dir.d/EVENT.ICS"), "text/calendar");
	assert_string_equal(cli_type_for_name("card.vcf"), "text/vcard");
	assert_string_equal(cli_type_for_name("notes.txt"), "text/plain; charset=utf-8");
	assert_string_equal(cli_type_for_name("a.tar.gz"), "application/gzip");
	assert_string_equal(cli_type_for_name("photo.JPG"), "image/jpeg");
	assert_string_equal(cli_type_for_name("doc.pdf"), "application/pdf");
	assert_null(cli_type_for_name("README"));
	assert_null(cli_type_for_name(".bashrc"));
	assert_null(cli_type_for_name("trailing."));
	assert_null(cli_type_for_name("x.unknownext"));
	/* A dot in a directory name is not an extension. */
	assert_null(cli_type_for_name("v1.2/Makefile"));

	assert_string_equal(cli_ext_for_type("text/calendar"), ".ics");
	assert_string_equal(cli_ext_for_type("text/plain; charset=utf-8"), ".txt");
	assert_string_equal(cli_ext_for_type("TEXT/VCARD"), ".vcf");
	assert_string_equal(cli_ext_for_type("image/jpeg"), ".jpg");
	assert_string_equal(cli_ext_for_type("application/x-unknown"), "");
	assert_string_equal(cli_ext_for_type(NULL), "");
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(cli_utf8_valid((const unsigned char *)"", 0));
	assert_true(cli_utf8_valid((const unsigned char *)"plain ascii\n", 12));
	assert_true(cli_utf8_valid(
	    (const unsigned char *)"na\xc3\xafve \xe2\x82\xac \xf0\x9f\x98\x80", 15));
	assert_false(cli_utf8_valid((const unsigned char *)"\xff", 1));
	assert_false(cli_utf8_valid((const unsigned char *)"\xc3", 1));		    /* cut */
	assert_false(cli_utf8_valid((const unsigned char *)"\xc0\xaf", 2));	    /* overlong */
	assert_false(cli_utf8_valid((const unsigned char *)"\xe0\x80\xaf", 3));	    /* overlong */
	assert_false(cli_utf8_valid((const unsigned char *)"\xed\xa0\x80", 3));	    /* surrogate */
	assert_false(cli_utf8_valid((const unsigned char *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(cli_utf8_valid((const unsigned char *)"a\x80z", 3));
}

static void test_ttl(void **state)
{
	(void)state;
	assert_true(cli_ttl_valid("30s"));
	assert_true(cli_ttl_valid("10m"));
	assert_true(cli_ttl_valid("2h"));
	assert_true(cli_ttl_valid("7d"));
	assert_true(cli_ttl_valid("007d"));
	assert_false(cli_ttl_valid("0s"));
	assert_false(cli_ttl_valid("2"));
	assert_false(cli_ttl_valid("h"));
	assert_false(cli_ttl_valid("2w"));
	assert_false(cli_ttl_valid("2hh"));
	assert_false(cli_ttl_valid("-2h"));
	assert_false(cli_ttl_valid(" 2h"));
	assert_false(cli_ttl_valid("9999999999s"));
	assert_false(cli_ttl_valid(""));
	assert_false(cli_ttl_valid(NULL));
}

#define ID "abcdefghijklmnopqrstuvwxyz"
#define ID_UP "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

static void test_ids_and_urls(void **state)
{
	(void)state;
	assert_true(cli_id_valid(ID));
	assert_true(cli_id_valid(ID_UP));
	assert_true(cli_id_valid("234567abcdefghijklmnopqrst"));
	assert_false(cli_id_valid("abcdefghijklmnopqrstuvwxy"));  /* 25 */
	assert_false(cli_id_valid("abcdefghijklmnopqrstuvwxy1")); /* 1 is not base32 */
	assert_false(cli_id_valid("abcdefghijklmnopqrstuvwxyz0"));

	assert_true(cli_is_http_url("http://h"));
	assert_true(cli_is_http_url("HTTPS://H/x"));
	assert_false(cli_is_http_url("http://"));
	assert_false(cli_is_http_url("http:///path"));
	assert_false(cli_is_http_url("ftp://h/x"));
	assert_false(cli_is_http_url("http://h/a b"));
	assert_false(cli_is_http_url("WIFI:S:net;P:pw;;"));
}

static void test_server_normalize(void **state)
{
	char *s = NULL;

	(void)state;
	assert_int_equal(cli_server_normalize(&s, "http://127.0.0.1:8080/"), 0);
	assert_string_equal(s, "http://127.0.0.1:8080");
	free(s);
	assert_int_equal(cli_server_normalize(&s, "https://h/prefix//?q=1#frag"), 0);
	assert_string_equal(s, "https://h/prefix");
	free(s);
	assert_int_equal(cli_server_normalize(&s, "127.0.0.1:8080"), LKS_EINVAL);
	assert_null(s);
}

static void expect_ref(const char *arg, const char *server, const char *base, const char *url,
		       const char *fetch, bool had_key)
{
	struct cli_ref r;

	assert_int_equal(cli_ref_parse(&r, arg, server), 0);
	assert_string_equal(r.id, ID);
	assert_string_equal(r.base, base);
	assert_string_equal(r.url, url);
	assert_string_equal(r.fetch, fetch);
	assert_int_equal(r.had_key, had_key);
	/* The key never reaches anything that is sent. */
	assert_null(strchr(r.url, '#'));
	assert_null(strchr(r.fetch, '#'));
	assert_null(strstr(r.fetch, "secretkey"));
	cli_ref_clear(&r);
}

static void test_ref_parse(void **state)
{
	struct cli_ref r;
	const char *h = "http://h:8080";

	(void)state;
	expect_ref("http://h:8080/" ID, NULL, h, "http://h:8080/" ID, "http://h:8080/" ID "/raw",
		   false);
	expect_ref("http://h:8080/" ID "#secretkey", NULL, h, "http://h:8080/" ID,
		   "http://h:8080/" ID "/raw", true);
	expect_ref("http://h:8080/" ID "/raw", NULL, h, "http://h:8080/" ID,
		   "http://h:8080/" ID "/raw", false);
	expect_ref("http://h:8080/" ID "/", NULL, h, "http://h:8080/" ID,
		   "http://h:8080/" ID "/raw", false);
	expect_ref("http://h:8080/" ID "/qr.png?x=1#secretkey", NULL, h, "http://h:8080/" ID,
		   "http://h:8080/" ID "/raw", true);
	expect_ref("http://h:8080/" ID ".ics", NULL, h, "http://h:8080/" ID,
		   "http://h:8080/" ID "/raw", false);
	expect_ref("http://h:8080/api/v1/items/" ID, NULL, h, "http://h:8080/" ID,
		   "http://h:8080/" ID "/raw", false);
	/* A server under a path prefix keeps it. */
	expect_ref("https://example.org/ls/" ID, NULL, "https://example.org/ls",
		   "https://example.org/ls/" ID, "https://example.org/ls/" ID "/raw", false);
	/* An upper-cased QR payload (alphanumeric mode). */
	expect_ref("HTTP://H:8080/" ID_UP, NULL, "HTTP://H:8080", "HTTP://H:8080/" ID,
		   "HTTP://H:8080/" ID "/raw", false);
	/* A bare id is resolved against the server. */
	expect_ref(ID_UP, h, h, "http://h:8080/" ID, "http://h:8080/" ID "/raw", false);

	/* A fragment that looks like an id is not one. */
	assert_int_equal(cli_ref_parse(&r, "http://h/x#" ID, NULL), LKS_EINVAL);
	assert_int_equal(cli_ref_parse(&r, "http://h/", NULL), LKS_EINVAL);
	assert_int_equal(cli_ref_parse(&r, "http://h", NULL), LKS_EINVAL);
	assert_int_equal(cli_ref_parse(&r, "http://h/a/b/" ID "x", NULL), LKS_EINVAL);
	assert_int_equal(cli_ref_parse(&r, "nonsense", "http://h"), LKS_EINVAL);
	assert_int_equal(cli_ref_parse(&r, ID, NULL), LKS_EINVAL);
	/* The host is not a path segment. */
	assert_int_equal(cli_ref_parse(&r, "http://" ID "/", NULL), LKS_EINVAL);
	cli_ref_clear(&r);
}

static void expect_disposition(const char *header, const char *name)
{
	char *got = NULL;

	assert_int_equal(cli_disposition_filename(&got, header), 0);
	if (!name) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, name);
	free(got);
}

static void test_disposition(void **state)
{
	(void)state;
	expect_disposition("attachment; filename=\"x.ics\"; filename*=UTF-8''x.ics", "x.ics");
	expect_disposition("attachment; filename=\"fallback.txt\"; filename*=UTF-8''na%C3%AFve.txt",
			   "na\xc3\xafve.txt");
	expect_disposition("attachment; filename*=utf-8'en'a%20b.pdf; filename=\"ab.pdf\"",
			   "a b.pdf");
	expect_disposition("attachment; filename=plain.txt", "plain.txt");
	expect_disposition("inline; filename = \"sp ace.txt\" ", "sp ace.txt");
	expect_disposition("attachment; filename=\"q\\\"uote\\\\.txt\"", "q\"uote\\.txt");
	expect_disposition("attachment; FILENAME=\"Upper.txt\"", "Upper.txt");
	/* Another charset, or broken escapes, fall back to filename. */
	expect_disposition("attachment; filename*=ISO-8859-1''caf%E9.txt; filename=\"cafe.txt\"",
			   "cafe.txt");
	expect_disposition("attachment; filename*=UTF-8''bad%zz; filename=\"ok\"", "ok");
	expect_disposition("attachment; filename*=UTF-8''nul%00.txt", NULL);
	expect_disposition("inline", NULL);
	expect_disposition("attachment; size=3", NULL);
	expect_disposition(NULL, NULL);
	/* Unterminated quoted string: take what is there. */
	expect_disposition("attachment; filename=\"open", "open");
}

static void expect_safe(const char *in, const char *out)
{
	char *got = NULL;

	assert_int_equal(cli_filename_sanitize(&got, in), 0);
	if (!out) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, out);
	free(got);
}

static void test_sanitize(void **state)
{
	char long_name[400], *got = NULL;

	(void)state;
	expect_safe("x.ics", "x.ics");
	expect_safe("../../x", "x");
	expect_safe("/etc/passwd", "passwd");
	expect_safe("..\\..\\win.ini", "win.ini");
	expect_safe("a/b/", NULL);
	expect_safe("..", NULL);
	expect_safe(".", NULL);
	expect_safe("", NULL);
	expect_safe(NULL, NULL);
	expect_safe(".bashrc", "bashrc");
	expect_safe("-rf", "rf");
	expect_safe(" . - x", "x");
	expect_safe("name. . ", "name");
	expect_safe("tab\there\n.txt", "tab_here_.txt");
	expect_safe("esc\x1b[31mred", "esc_[31mred");
	expect_safe("del\x7f", "del_");
	expect_safe("bad\xff\xfe.txt", "bad__.txt");
	expect_safe("c1\xc2\x9b.txt", "c1_.txt");
	expect_safe("na\xc3\xafve \xe2\x82\xac.txt", "na\xc3\xafve \xe2\x82\xac.txt");
	/* U+202E RIGHT-TO-LEFT OVERRIDE: "txt.exe" shown as "exe.txt". */
	expect_safe("a\xe2\x80\xaetxt.exe", "a_txt.exe");

	/* Long names are cut on a character boundary and keep the extension. */
	memset(long_name, 0, sizeof(long_name));
	for (int i = 0; i < 150; i++)
		memcpy(long_name + 2 * i, "\xc3\xa9", 2); /* 300 bytes of "é" */
	memcpy(long_name + 300, ".pdf", 5);
	assert_int_equal(cli_filename_sanitize(&got, long_name), 0);
	assert_non_null(got);
	assert_true(strlen(got) <= 200);
	assert_true(cli_utf8_valid((const unsigned char *)got, strlen(got)));
	assert_string_equal(got + strlen(got) - 4, ".pdf");
	free(got);
}

static void test_format_bytes(void **state)
{
	char buf[32];

	(void)state;
	cli_format_bytes(buf, sizeof(buf), 0);
	assert_string_equal(buf, "0 B");
	cli_format_bytes(buf, sizeof(buf), 1023);
	assert_string_equal(buf, "1023 B");
	cli_format_bytes(buf, sizeof(buf), 1536);
	assert_string_equal(buf, "1.5 KiB");
	cli_format_bytes(buf, sizeof(buf), 25u * 1024 * 1024);
	assert_string_equal(buf, "25.0 MiB");
	cli_format_bytes(buf, sizeof(buf), 3ull * 1024 * 1024 * 1024);
	assert_string_equal(buf, "3.0 GiB");
}

static void test_error_body(void **state)
{
	char *code = NULL, *msg = NULL;
	const char *doc = "{\"error\": \"too_large\", \"message\": \"at most 1 MiB\"}";

	(void)state;
	assert_int_equal(cli_error_body_parse(&code, &msg, doc, strlen(doc)), 0);
	assert_string_equal(code, "too_large");
	assert_string_equal(msg, "at most 1 MiB");
	free(code);
	free(msg);
	assert_int_equal(cli_error_body_parse(&code, &msg, "<html>", 6), 0);
	assert_null(code);
	assert_null(msg);
	assert_int_equal(cli_error_body_parse(&code, &msg, "{\"error\": 3}", 12), 0);
	assert_null(code);
	assert_int_equal(cli_error_body_parse(&code, &msg, NULL, 0), 0);
	assert_null(msg);
}

static void test_exit_codes(void **state)
{
	(void)state;
	assert_int_equal(cli_exit_from_status(404), CLI_EXIT_NOTFOUND);
	assert_int_equal(cli_exit_from_status(413), CLI_EXIT_REFUSED);
	assert_int_equal(cli_exit_from_status(400), CLI_EXIT_REFUSED);
	assert_int_equal(cli_exit_from_status(405), CLI_EXIT_REFUSED);
	assert_int_equal(cli_exit_from_status(429), CLI_EXIT_REFUSED);
	assert_int_equal(cli_exit_from_status(500), CLI_EXIT_SERVER);
	assert_int_equal(cli_exit_from_status(503), CLI_EXIT_SERVER);
	assert_int_equal(cli_exit_from_status(302), CLI_EXIT_SERVER);
	assert_int_equal(cli_exit_from_err(LKS_ENETWORK), CLI_EXIT_NETWORK);
	assert_int_equal(cli_exit_from_err(LKS_ENOQR), CLI_EXIT_NOQR);
	assert_int_equal(cli_exit_from_err(LKS_EIO), CLI_EXIT_IO);
	assert_int_equal(cli_exit_from_err(LKS_ENOTFOUND), CLI_EXIT_NOTFOUND);
	assert_int_equal(cli_exit_from_err(LKS_ENOMEM), CLI_EXIT_FAILURE);
	/* Every code in the table is distinct. */
	{
		static const int codes[] = {
#define CLI_X_VALUE(name, value, text) value,
		    CLI_EXIT_LIST(CLI_X_VALUE)
#undef CLI_X_VALUE
		};
		size_t i, j, n = sizeof(codes) / sizeof(codes[0]);

		for (i = 0; i < n; i++)
			for (j = i + 1; j < n; j++)
				assert_int_not_equal(codes[i], codes[j]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_types),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_ttl),
	    cmocka_unit_test(test_ids_and_urls),
	    cmocka_unit_test(test_server_normalize),
	    cmocka_unit_test(test_ref_parse),
	    cmocka_unit_test(test_disposition),
	    cmocka_unit_test(test_sanitize),
	    cmocka_unit_test(test_format_bytes),
	    cmocka_unit_test(test_error_body),
	    cmocka_unit_test(test_exit_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
