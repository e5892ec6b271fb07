/* The CLI's pure end-to-end pieces: base64url as the read proof and the
 * fragment are written (the vector of docs/e2e.md §7), and the #key of a
 * link kept apart from everything that is sent. */
/* clang-format off: cmocka.h needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "cli.h"

#include "linksync/error.h"

#include <string.h>

static void test_base64url(void **state)
{
	static const unsigned char k_read[32] = {0x56, 0x64, 0x45, 0xcc, 0xd1, 0x16, 0x2a, 0x8d,
						 0x4b, 0xa7, 0x4b, 0x26, 0x4e, 0x8b, 0x3d, 0xdf,
						 0x0d, 0x9d, 0xc3, 0xf4, 0x45, 0x0b, 0xf8, 0x44,
						 0xff, 0xab, 0x23, 0xe3, 0x1c, 0x51, 0x32, 0x0d};
	static const unsigned char secret[16] = {0x7f, 0xe6, 0x38, 0x45, 0xc2, 0xc8, 0x42, 0xe8,
						 0x32, 0x76, 0x18, 0x52, 0xe3, 0x74, 0x88, 0xa2};
	char out[64];

	(void)state;
	cli_base64url_encode(out, k_read, sizeof(k_read));
	assert_string_equal(out, "VmRFzNEWKo1Lp0smTos93w2dw_RFC_hE_6sj4xxRMg0");
	cli_base64url_encode(out, secret, sizeof(secret));
	assert_string_equal(out, "f-Y4RcLIQugydhhS43SIog");
	cli_base64url_encode(out, (const unsigned char *)"", 0);
	assert_string_equal(out, "");
	cli_base64url_encode(out, (const unsigned char *)"\xff", 1);
	assert_string_equal(out, "_w");
}

static void test_ref_key(void **state)
{
	struct cli_ref r;

	(void)state;
	assert_int_equal(
	    cli_ref_parse(&r, "http://h:8080/aaaaaaaaaaaaaaaaaaaaaaaaaa#f-Y4RcLIQugydhhS43SIog",
			  NULL),
	    0);
	assert_true(r.had_key);
	assert_string_equal(r.key, "f-Y4RcLIQugydhhS43SIog");
	/* Nothing that is sent holds the key. */
	assert_null(strchr(r.url, '#'));
	assert_null(strchr(r.fetch, '#'));
	assert_null(strchr(r.base, '#'));
	cli_ref_clear(&r);
	assert_null(r.key);
	assert_int_equal(cli_ref_parse(&r, "http://h/aaaaaaaaaaaaaaaaaaaaaaaaaa", NULL), 0);
	assert_false(r.had_key);
	assert_null(r.key);
	cli_ref_clear(&r);
	/* A failed parse keeps nothing. */
	assert_int_equal(cli_ref_parse(&r, "http://h/nothing#f-Y4RcLIQugydhhS43SIog", NULL),
			 LKS_EINVAL);
	assert_null(r.key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64url),
	    cmocka_unit_test(test_ref_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
