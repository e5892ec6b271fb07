/* Ids, tokens, base32/base64url and token hashing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "linksync/error.h"
#include "linksync/id.h"

#include <string.h>

static void test_base32_rfc4648_vectors(void **state)
{
	char out[32];
	static const struct {
		const char *in, *out;
	} v[] = {{"", ""}, {"f", "my"}, {"fo", "mzxq"}, {"foo", "mzxw6"},
		 {"foob", "mzxw6yq"}, {"fooba", "mzxw6ytb"}, {"foobar", "mzxw6ytboi"}};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		lks_base32_encode(out, (const uint8_t *)v[i].in, strlen(v[i].in));
		assert_string_equal(out, v[i].out);
	}
}

static void test_base64url_round_trip(void **state)
{
	uint8_t in[40], back[40];
	char text[64];
	size_t n;

	for (size_t len = 0; len <= sizeof(in); len++) {
		assert_int_equal(lks_random(in, len), 0);
		lks_base64url_encode(text, in, len);
		assert_null(strpbrk(text, "+/="));
		assert_int_equal(lks_base64url_decode(back, sizeof(back), &n, text, strlen(text)), 0);
		assert_int_equal(n, len);
		assert_memory_equal(in, back, len);
	}
	lks_base64url_encode(text, (const uint8_t *)"\xfb\xff", 2);
	assert_string_equal(text, "-_8");
	assert_int_equal(lks_base64url_decode(back, sizeof(back), &n, "a+b", 3), LKS_EINVAL);
	assert_int_equal(lks_base64url_decode(back, sizeof(back), &n, "abcde", 5), LKS_EINVAL);
	assert_int_equal(lks_base64url_decode(back, 1, &n, "AAAA", 4), LKS_EINVAL);
}

static void test_id_new_is_canonical_and_random(void **state)
{
	char a[LKS_ID_LEN + 1], b[LKS_ID_LEN + 1], parsed[LKS_ID_LEN + 1];

	assert_int_equal(lks_id_new(a), 0);
	assert_int_equal(lks_id_new(b), 0);
	assert_int_equal(strlen(a), LKS_ID_LEN);
	assert_string_not_equal(a, b);
	assert_int_equal(strspn(a, "abcdefghijklmnopqrstuvwxyz234567"), LKS_ID_LEN);
	assert_int_equal(lks_id_parse(parsed, a, strlen(a)), 0);
	assert_string_equal(parsed, a);
}

static void test_id_parse_any_case_and_rejects(void **state)
{
	char id[LKS_ID_LEN + 1], upper[LKS_ID_LEN + 1], out[LKS_ID_LEN + 1];

	assert_int_equal(lks_id_new(id), 0);
	for (int i = 0; i < LKS_ID_LEN; i++)
		upper[i] = (char)(id[i] >= 'a' && id[i] <= 'z' ? id[i] - 32 : id[i]);
	upper[LKS_ID_LEN] = '\0';
	assert_int_equal(lks_id_parse(out, upper, LKS_ID_LEN), 0);
	assert_string_equal(out, id);
	/* wrong length, bad characters, non-zero padding bits */
	assert_int_equal(lks_id_parse(out, id, LKS_ID_LEN - 1), LKS_EINVAL);
	assert_int_equal(lks_id_parse(out, "aaaaaaaaaaaaaaaaaaaaaaaaa1", LKS_ID_LEN), LKS_EINVAL);
	assert_int_equal(lks_id_parse(out, "aaaaaaaaaaaaaaaaaaaaaaaaa/", LKS_ID_LEN), LKS_EINVAL);
	assert_int_equal(lks_id_parse(out, "aaaaaaaaaaaaaaaaaaaaaaaaab", LKS_ID_LEN), LKS_EINVAL);
	assert_int_equal(lks_id_parse(out, "aaaaaaaaaaaaaaaaaaaaaaaaae", LKS_ID_LEN), 0);
	assert_int_equal(lks_id_parse(out, NULL, 0), LKS_EINVAL);
}

static void test_token_and_hash(void **state)
{
	char t1[LKS_TOKEN_LEN + 1], t2[LKS_TOKEN_LEN + 1];
	uint8_t h1[LKS_HASH_BYTES], h1b[LKS_HASH_BYTES], h2[LKS_HASH_BYTES];
	uint8_t abc[LKS_HASH_BYTES];
	static const uint8_t abc_sha256[LKS_HASH_BYTES] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
		0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
		0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};

	assert_int_equal(lks_token_new(t1), 0);
	assert_int_equal(lks_token_new(t2), 0);
	assert_int_equal(strlen(t1), LKS_TOKEN_LEN);
	assert_string_not_equal(t1, t2);
	lks_token_hash(h1, t1, strlen(t1));
	lks_token_hash(h1b, t1, strlen(t1));
	lks_token_hash(h2, t2, strlen(t2));
	assert_true(lks_hash_equal(h1, h1b));
	assert_false(lks_hash_equal(h1, h2));
	lks_sha256(abc, "abc", 3);
	assert_memory_equal(abc, abc_sha256, LKS_HASH_BYTES);
	lks_token_hash(h1, "abc", 3);
	assert_memory_equal(h1, abc_sha256, LKS_HASH_BYTES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base32_rfc4648_vectors),
		cmocka_unit_test(test_base64url_round_trip),
		cmocka_unit_test(test_id_new_is_canonical_and_random),
		cmocka_unit_test(test_id_parse_any_case_and_rejects),
		cmocka_unit_test(test_token_and_hash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
