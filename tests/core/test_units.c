/* Durations, sizes, dates; and the error table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "linksync/error.h"
#include "linksync/units.h"

#include <string.h>

static void test_duration_forms(void **state)
{
	int64_t s;
	static const struct {
		const char *text;
		int64_t seconds;
	} ok[] = {{"30", 30}, {"30s", 30}, {"10m", 600}, {"2h", 7200}, {"7d", 604800},
		  {"1w", 604800}, {"1h30m", 5400}, {"1d12h", 129600}};
	static const char *const bad[] = {"", "abc", "0", "0s", "10x", "-5m", "m", "1h30",
					  "99999999999999999999d", "4000d", "1.5h", " 1h"};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(lks_duration_parse(&s, ok[i].text), 0);
		assert_int_equal(s, ok[i].seconds);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lks_error_clear();
		assert_int_equal(lks_duration_parse(&s, bad[i]), LKS_EINVAL);
		assert_true(strlen(lks_error_message()) > 0);
	}
	assert_int_equal(lks_duration_parse(&s, NULL), LKS_EINVAL);
}

static void test_duration_format(void **state)
{
	char out[32];

	lks_duration_format(out, sizeof(out), 5400);
	assert_string_equal(out, "1h30m");
	lks_duration_format(out, sizeof(out), 86400 * 30);
	assert_string_equal(out, "30d");
	lks_duration_format(out, sizeof(out), 61);
	assert_string_equal(out, "1m1s");
	lks_duration_format(out, sizeof(out), 0);
	assert_string_equal(out, "0s");
}

static void test_size_forms(void **state)
{
	uint64_t n;

	assert_int_equal(lks_size_parse(&n, "0"), 0);
	assert_int_equal(n, 0);
	assert_int_equal(lks_size_parse(&n, "1234"), 0);
	assert_int_equal(n, 1234);
	assert_int_equal(lks_size_parse(&n, "25M"), 0);
	assert_int_equal(n, 25u * 1024 * 1024);
	assert_int_equal(lks_size_parse(&n, "1k"), 0);
	assert_int_equal(n, 1024);
	assert_int_equal(lks_size_parse(&n, "2GiB"), 0);
	assert_int_equal(n, 2ull << 30);
	assert_int_equal(lks_size_parse(&n, "3MB"), 0);
	assert_int_equal(n, 3u << 20);
	assert_int_equal(lks_size_parse(&n, "12B"), 0);
	assert_int_equal(n, 12);
	assert_int_equal(lks_size_parse(&n, ""), LKS_EINVAL);
	assert_int_equal(lks_size_parse(&n, "M"), LKS_EINVAL);
	assert_int_equal(lks_size_parse(&n, "5X"), LKS_EINVAL);
	assert_int_equal(lks_size_parse(&n, "5MX"), LKS_EINVAL);
	assert_int_equal(lks_size_parse(&n, "-5"), LKS_EINVAL);
	assert_int_equal(lks_size_parse(&n, "99999999999999999999999"), LKS_EINVAL);
	assert_int_equal(lks_size_parse(&n, "17179869184G"), LKS_EINVAL);
}

static void test_dates(void **state)
{
	char out[40];
	int64_t t;

	lks_time_rfc3339(out, sizeof(out), 1795000000);
	assert_string_equal(out, "2026-11-18T11:06:40Z");
	lks_time_http(out, sizeof(out), 1795000000);
	assert_string_equal(out, "Wed, 18 Nov 2026 11:06:40 GMT");
	assert_int_equal(lks_time_http_parse(&t, out), 0);
	assert_int_equal(t, 1795000000);
	assert_int_equal(lks_time_http_parse(&t, "yesterday"), LKS_EINVAL);
	assert_int_equal(lks_time_http_parse(&t, "Wed, 18 Foo 2026 11:06:40 GMT"), LKS_EINVAL);
	assert_true(lks_now() > 1700000000);
}

static void test_error_table(void **state)
{
	assert_string_equal(lks_strerror(LKS_OK), "success");
	assert_string_equal(lks_strerror(LKS_ENOTFOUND), "not found");
	assert_string_equal(lks_error_name(LKS_ETOOBIG), "LKS_ETOOBIG");
	assert_string_equal(lks_strerror(-999), "unknown error");
	/* Every code from -1 down to the last has a distinct name and text. */
	for (int c = -1; c >= LKS_EINTERNAL; c--) {
		assert_string_not_equal(lks_strerror(c), "unknown error");
		assert_string_not_equal(lks_error_name(c), "LKS_E?");
		for (int d = c - 1; d >= LKS_EINTERNAL; d--)
			assert_string_not_equal(lks_error_name(c), lks_error_name(d));
	}
	assert_int_equal(lks_error_set(LKS_EINVAL, "bad %s %d", "thing", 7), LKS_EINVAL);
	assert_string_equal(lks_error_message(), "bad thing 7");
	lks_error_clear();
	assert_string_equal(lks_error_message(), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_forms), cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_size_forms),     cmocka_unit_test(test_dates),
		cmocka_unit_test(test_error_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
