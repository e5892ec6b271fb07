/* The server's limit on wrong read proofs (src/server/zk.c): ten wrong
 * proofs a minute per item, then a wait until the minute is over; items do
 * not share a limit; and a proof check of an envelope push. */
/* clang-format off: cmocka.h needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "zk.h"

#include "linksync/envelope.h"
#include "linksync/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void new_id(char id[LKS_ID_LEN + 1])
{
	assert_int_equal(lks_id_new(id), 0);
}

/* The wait before id takes a proof at now (0: it takes one), found by
 * checking a right proof, which costs nothing. */
static unsigned retry_after(const char *id, int64_t now)
{
	lks_zk_ticket t;
	unsigned wait = lks_zk_reserve(&t, id, now);

	if (wait == 0)
		lks_zk_verdict(&t, 1);
	return wait;
}

/* Sends a wrong proof for id at now: the wait when it was refused, else 0. */
static unsigned wrong(const char *id, int64_t now)
{
	lks_zk_ticket t;
	unsigned wait = lks_zk_reserve(&t, id, now);

	if (wait == 0)
		lks_zk_verdict(&t, 0);
	return wait;
}

static void test_ten_a_minute(void **state)
{
	char id[LKS_ID_LEN + 1], other[LKS_ID_LEN + 1];
	int64_t t = 1000;

	(void)state;
	new_id(id);
	new_id(other);
	for (int i = 0; i < LKS_ZK_WRONG_MAX; i++)
		assert_int_equal(wrong(id, t + i), 0);
	/* The 11th try within the minute waits until the minute is over. */
	assert_int_equal(retry_after(id, t + 10), LKS_ZK_WINDOW - 10);
	assert_int_equal(retry_after(id, t + 59), 1);
	/* Another item is not affected. */
	assert_int_equal(retry_after(other, t + 10), 0);
	/* A new minute, a new allowance. */
	assert_int_equal(wrong(id, t + LKS_ZK_WINDOW), 0);
	assert_int_equal(retry_after(id, t + LKS_ZK_WINDOW + 1), 0);
}

static void test_nine_do_not_limit(void **state)
{
	char id[LKS_ID_LEN + 1];

	(void)state;
	new_id(id);
	for (int i = 0; i < LKS_ZK_WRONG_MAX - 1; i++)
		assert_int_equal(wrong(id, 5000), 0);
	assert_int_equal(retry_after(id, 5000), 0);
	assert_int_equal(wrong(id, 5000), 0);
	assert_true(retry_after(id, 5000) > 0);
}

/* Many items failing at once: each keeps its own count (the table holds
 * far more than this). */
static void test_many_items(void **state)
{
	static char ids[2000][LKS_ID_LEN + 1];

	(void)state;
	for (int i = 0; i < 2000; i++) {
		new_id(ids[i]);
		for (int k = 0; k < LKS_ZK_WRONG_MAX; k++)
			assert_int_equal(wrong(ids[i], 9000), 0);
	}
	for (int i = 0; i < 2000; i++)
		assert_true(retry_after(ids[i], 9001) > 0);
}

static void test_describe(void **state)
{
	uint8_t secret[LKS_E2E_SECRET_BYTES] = {1, 2, 3};
	uint8_t *env = NULL, proof[LKS_ENVELOPE_PROOF_BYTES], hash[32];
	lks_envelope_header h;
	size_t len = 0;
	lks_item it;
	char text[LKS_ENVELOPE_PROOF_LEN + 1];
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned acc = 0, bits = 0, o = 0;

	(void)state;
	assert_int_equal(
	    lks_envelope_seal(&env, &len, secret, NULL, 0, "text/plain", NULL, "hi", 2), 0);
	assert_int_equal(lks_envelope_header_parse(&h, env, len), 0);
	assert_int_equal(lks_envelope_read_proof(proof, secret, NULL, &h), 0);
	for (size_t i = 0; i < sizeof(proof); i++) {
		acc = (acc << 8) | proof[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			text[o++] = a[(acc >> bits) & 63];
		}
	}
	text[o++] = a[(acc << (6 - bits)) & 63];
	text[o] = '\0';

	memset(&it, 0, sizeof(it));
	assert_int_equal(lks_zk_describe(&it, env, len, text), 0);
	assert_int_equal(it.encrypted, 1);
	assert_memory_equal(it.envelope_header, env, LKS_ENVELOPE_HEADER_BYTES);
	lks_envelope_proof_hash(hash, proof);
	assert_memory_equal(it.proof_hash, hash, 32);

	memset(&it, 0, sizeof(it));
	assert_int_equal(lks_zk_describe(&it, env, len, NULL), LKS_EINVAL);
	assert_int_equal(lks_zk_describe(&it, env, len, "short"), LKS_EINVAL);
	assert_int_equal(lks_zk_describe(&it, env, 40, text), LKS_EINVAL);
	assert_int_equal(lks_zk_describe(&it, "LKS2", 4, text), LKS_EINVAL);
	assert_int_equal(it.encrypted, 0);
	free(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ten_a_minute),
	    cmocka_unit_test(test_nine_do_not_limit),
	    cmocka_unit_test(test_many_items),
	    cmocka_unit_test(test_describe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
