/* The end-to-end envelope: round trips, every way a wrong key, a wrong
 * password or an altered byte must fail, the limits, the server's proof
 * check and the published vectors (docs/e2e-vectors.json).
 *
 * The binary also has four modes for tools outside C, reading JSON on
 * stdin and writing JSON on stdout:
 *   --seal          [{secret, password, iterations, type, name, content_b64}]
 *                   -> [{envelope_b64}] (fresh random salt and IV)
 *   --open          [{secret, password, envelope_b64}]
 *                   -> [{ok:true, type, name, content_b64} | {ok:false, error}]
 *   --normalize     ["password", ...] -> [{strict, open}]: hex of the PBKDF2
 *                   input when sealing and when opening (null: refused)
 *   --make-vectors  (no input) -> the vectors file, byte for byte
 * tests/js/ uses --seal, --open and --normalize to check C and JavaScript
 * against each other; --make-vectors regenerates docs/e2e-vectors.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include "linksync/envelope.h"
#include "linksync/error.h"
#include "linksync/id.h"

#include <jansson.h>
#include <nettle/base64.h>
#include <nettle/gcm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static void hex_decode(uint8_t *out, size_t n, const char *hex)
{
	assert_int_equal(strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static char *hex_encode(const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);

	if (s == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[in[i] >> 4];
		s[2 * i + 1] = digits[in[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

static char *b64_encode(const uint8_t *in, size_t n)
{
	char *s = malloc(BASE64_ENCODE_RAW_LENGTH(n) + 1);

	if (s == NULL)
		abort();
	base64_encode_raw(s, n, in);
	s[BASE64_ENCODE_RAW_LENGTH(n)] = '\0';
	return s;
}

/* Standard base64 with padding; NULL on malformed text. */
static uint8_t *b64_decode(const char *s, size_t *n)
{
	struct base64_decode_ctx ctx;
	size_t len = s == NULL ? 0 : strlen(s), cap = BASE64_DECODE_LENGTH(len) + 1;
	uint8_t *out;

	if (s == NULL)
		return NULL;
	out = malloc(cap);
	if (out == NULL)
		abort();
	*n = cap;
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, n, out, len, s) || !base64_decode_final(&ctx)) {
		free(out);
		return NULL;
	}
	return out;
}

static char *b64url(const uint8_t *in, size_t n)
{
	char *s = malloc((n * 4 + 2) / 3 + 1);

	if (s == NULL)
		abort();
	lks_base64url_encode(s, in, n);
	return s;
}

static void fill_pattern(uint8_t *buf, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)((i * 7 + seed) % 251);
}

/* Seals an arbitrary plaintext under an envelope's keys: how the tests
 * build authentic envelopes whose inside breaks the format. */
static uint8_t *seal_raw(size_t *out_len, const lks_envelope_keys *keys, const uint8_t *pt,
			 size_t pt_len)
{
	struct gcm_aes256_ctx gcm;
	size_t total = LKS_ENVELOPE_HEADER_BYTES + pt_len + LKS_ENVELOPE_TAG_BYTES;
	uint8_t *env = malloc(total);

	if (env == NULL)
		abort();
	lks_envelope_header_serialize(env, &keys->header);
	gcm_aes256_set_key(&gcm, keys->enc);
	gcm_aes256_set_iv(&gcm, LKS_ENVELOPE_IV_BYTES, keys->header.iv);
	gcm_aes256_update(&gcm, LKS_ENVELOPE_HEADER_BYTES, env);
	gcm_aes256_encrypt(&gcm, pt_len, env + LKS_ENVELOPE_HEADER_BYTES, pt);
	gcm_aes256_digest(&gcm, LKS_ENVELOPE_TAG_BYTES, env + total - LKS_ENVELOPE_TAG_BYTES);
	*out_len = total;
	return env;
}

/* Plaintext "u32 length | json | content". */
static uint8_t *plaintext(size_t *out_len, uint32_t declared, const char *json, const char *body)
{
	size_t jl = strlen(json), bl = strlen(body);
	uint8_t *pt = malloc(4 + jl + bl);

	if (pt == NULL)
		abort();
	pt[0] = (uint8_t)(declared >> 24);
	pt[1] = (uint8_t)(declared >> 16);
	pt[2] = (uint8_t)(declared >> 8);
	pt[3] = (uint8_t)declared;
	memcpy(pt + 4, json, jl);
	memcpy(pt + 4 + jl, body, bl);
	*out_len = 4 + jl + bl;
	return pt;
}

static const uint8_t test_secret[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* Opens and checks the result, freeing everything. */
static void expect_open(const uint8_t *env, size_t len, const uint8_t secret[16],
			const char *password, const char *type, const char *name,
			const uint8_t *content, size_t content_len)
{
	char *t = NULL, *n = NULL;
	uint8_t *c = NULL;
	size_t cl = 0;

	assert_int_equal(lks_envelope_open(&t, &n, &c, &cl, secret, password, env, len), 0);
	assert_string_equal(t, type);
	if (name == NULL)
		assert_null(n);
	else
		assert_string_equal(n, name);
	assert_int_equal(cl, content_len);
	assert_non_null(c);
	if (content_len > 0)
		assert_memory_equal(c, content, content_len);
	assert_int_equal(c[cl], 0);
	free(t);
	free(n);
	free(c);
}

static int open_code(const uint8_t *env, size_t len, const uint8_t secret[16], const char *pw)
{
	char *t = (char *)1, *n = (char *)1;
	uint8_t *c = (uint8_t *)1;
	size_t cl = 1;
	int rc = lks_envelope_open(&t, &n, &c, &cl, secret, pw, env, len);

	if (rc < 0) {
		/* A failure leaves nothing behind. */
		assert_null(t);
		assert_null(n);
		assert_null(c);
		assert_int_equal(cl, 0);
	} else {
		free(t);
		free(n);
		free(c);
	}
	return rc;
}

/* ---- secret, fragment, header ---- */

static void test_secret_and_fragment(void **state)
{
	uint8_t a[16], b[16], back[16];
	char frag[LKS_E2E_FRAGMENT_LEN + 1];

	assert_int_equal(lks_e2e_secret_new(a), 0);
	assert_int_equal(lks_e2e_secret_new(b), 0);
	assert_memory_not_equal(a, b, 16);
	lks_e2e_fragment_encode(frag, a);
	assert_int_equal(strlen(frag), LKS_E2E_FRAGMENT_LEN);
	assert_null(strpbrk(frag, "+/="));
	assert_int_equal(lks_e2e_fragment_decode(back, frag, strlen(frag)), 0);
	assert_memory_equal(a, back, 16);

	lks_e2e_fragment_encode(frag, test_secret);
	assert_string_equal(frag, "AQIDBAUGBwgJCgsMDQ4PEA");
	/* Wrong length, '#' kept, padding, a foreign alphabet, stray low bits. */
	assert_int_equal(lks_e2e_fragment_decode(back, frag, 21), LKS_EINVAL);
	assert_int_equal(lks_e2e_fragment_decode(back, "#AQIDBAUGBwgJCgsMDQ4PEA", 23), LKS_EINVAL);
	assert_int_equal(lks_e2e_fragment_decode(back, "AQIDBAUGBwgJCgsMDQ4PEA==", 24), LKS_EINVAL);
	assert_int_equal(lks_e2e_fragment_decode(back, "AQIDBAUGBwgJCgsMDQ4P+A", 22), LKS_EINVAL);
	assert_int_equal(lks_e2e_fragment_decode(back, "AQIDBAUGBwgJCgsMDQ4PEB", 22), LKS_EINVAL);
	assert_int_equal(lks_e2e_fragment_decode(back, NULL, 0), LKS_EINVAL);
}

static void make_header(uint8_t raw[LKS_ENVELOPE_HEADER_BYTES], uint8_t flags, uint32_t iter)
{
	lks_envelope_header h;

	memset(&h, 0, sizeof(h));
	h.flags = flags;
	h.iterations = iter;
	for (int i = 0; i < 16; i++)
		h.salt[i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < 12; i++)
		h.iv[i] = (uint8_t)(0xc0 + i);
	lks_envelope_header_serialize(raw, &h);
}

static void test_header_parse(void **state)
{
	uint8_t raw[LKS_ENVELOPE_HEADER_BYTES];
	lks_envelope_header h;
	char text[LKS_ENVELOPE_HEADER_LEN + 1];

	make_header(raw, 1, 600000);
	assert_memory_equal(raw, "LKS1\x01", 5);
	assert_memory_equal(raw + 21, "\x00\x09\x27\xc0", 4);
	assert_int_equal(lks_envelope_header_parse(&h, raw, sizeof(raw)), 0);
	assert_int_equal(h.flags, 1);
	assert_int_equal(h.iterations, 600000);
	assert_int_equal(h.salt[15], 0xaf);
	assert_int_equal(h.iv[0], 0xc0);
	lks_envelope_header_format(text, &h);
	assert_int_equal(strlen(text), LKS_ENVELOPE_HEADER_LEN);
	memset(&h, 0xff, sizeof(h));
	assert_int_equal(lks_envelope_header_from_text(&h, text, strlen(text)), 0);
	assert_int_equal(h.iterations, 600000);
	assert_int_equal(lks_envelope_header_from_text(&h, text, strlen(text) - 1), LKS_EINVAL);
	assert_int_equal(lks_envelope_header_from_text(&h, NULL, 0), LKS_EINVAL);

	/* The limits are inclusive. */
	make_header(raw, 1, LKS_ENVELOPE_ITERATIONS_MIN);
	assert_int_equal(lks_envelope_header_parse(&h, raw, sizeof(raw)), 0);
	make_header(raw, 1, LKS_ENVELOPE_ITERATIONS_MAX);
	assert_int_equal(lks_envelope_header_parse(&h, raw, sizeof(raw)), 0);
	make_header(raw, 0, 0);
	assert_int_equal(lks_envelope_header_parse(&h, raw, sizeof(raw)), 0);

	/* Too short, wrong magic, unknown flags, iterations that do not fit. */
	assert_int_equal(lks_envelope_header_parse(&h, raw, sizeof(raw) - 1), LKS_EINVAL);
	assert_int_equal(lks_envelope_header_parse(&h, NULL, 0), LKS_EINVAL);
	raw[3] = '2';
	assert_int_equal(lks_envelope_header_parse(&h, raw, sizeof(raw)), LKS_EINVAL);
	make_header(raw, 2, 0);
	assert_int_equal(lks_envelope_header_parse(&h, raw, sizeof(raw)), LKS_EINVAL);
	make_header(raw, 0x81, 1000);
	assert_int_equal(lks_envelope_header_parse(&h, raw, sizeof(raw)), LKS_EINVAL);
	make_header(raw, 0, 1);
	assert_int_equal(lks_envelope_header_parse(&h, raw, sizeof(raw)), LKS_EINVAL);
	make_header(raw, 1, 0);
	assert_int_equal(lks_envelope_header_parse(&h, raw, sizeof(raw)), LKS_EINVAL);
	make_header(raw, 1, LKS_ENVELOPE_ITERATIONS_MIN - 1);
	assert_int_equal(lks_envelope_header_parse(&h, raw, sizeof(raw)), LKS_EINVAL);
	make_header(raw, 1, LKS_ENVELOPE_ITERATIONS_MAX + 1);
	assert_int_equal(lks_envelope_header_parse(&h, raw, sizeof(raw)), LKS_EINVAL);
	make_header(raw, 1, UINT32_MAX);
	assert_int_equal(lks_envelope_header_parse(&h, raw, sizeof(raw)), LKS_EINVAL);
	assert_non_null(strstr(lks_error_message(), "iterations"));
}

/* ---- round trips ---- */

static void test_round_trip_sizes(void **state)
{
	static const size_t sizes[] = {0, 1, 15, 16, 17, 31, 32, 33, 1000, 65536, 100000};
	uint8_t *content = malloc(100000);

	assert_non_null(content);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *env = NULL;
		size_t len = 0;

		fill_pattern(content, sizes[i], (unsigned)i);
		assert_int_equal(lks_envelope_seal(&env, &len, test_secret, NULL, 0,
						   "application/octet-stream", "data.bin", content,
						   sizes[i]),
				 0);
		/* header, u32, {"type":"application/octet-stream","name":"data.bin"}, tag */
		assert_int_equal(len, 37 + 4 + 53 + sizes[i] + 16);
		assert_memory_equal(env, "LKS1\x00", 5);
		assert_memory_equal(env + 21, "\0\0\0\0", 4);
		expect_open(env, len, test_secret, NULL, "application/octet-stream", "data.bin",
			    content, sizes[i]);
		free(env);
	}
	free(content);
}

static void test_round_trip_fresh_salt_and_iv(void **state)
{
	uint8_t *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;

	assert_int_equal(
	    lks_envelope_seal(&a, &al, test_secret, NULL, 0, "text/plain", NULL, "x", 1), 0);
	assert_int_equal(
	    lks_envelope_seal(&b, &bl, test_secret, NULL, 0, "text/plain", NULL, "x", 1), 0);
	assert_int_equal(al, bl);
	assert_memory_not_equal(a + 5, b + 5, 16);   /* salt */
	assert_memory_not_equal(a + 25, b + 25, 12); /* IV */
	assert_memory_not_equal(a + 37, b + 37, al - 37);
	expect_open(a, al, test_secret, NULL, "text/plain", NULL, (const uint8_t *)"x", 1);
	/* A name of "" means none; a password given to an envelope without one
	 * is ignored. */
	free(a);
	assert_int_equal(lks_envelope_seal(&a, &al, test_secret, NULL, 0, "text/plain", "", "", 0),
			 0);
	expect_open(a, al, test_secret, "unneeded", "text/plain", NULL, NULL, 0);
	free(a);
	free(b);
}

static void test_round_trip_password(void **state)
{
	static const char content[] = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada\r\nEND:VCARD\r\n";
	uint8_t *env = NULL;
	size_t len = 0;
	lks_envelope_header h;

	assert_int_equal(lks_envelope_seal(&env, &len, test_secret, "s3cret pass", 1000,
					   "text/vcard", "ada.vcf", content, strlen(content)),
			 0);
	assert_int_equal(lks_envelope_header_parse(&h, env, len), 0);
	assert_int_equal(h.flags, LKS_ENVELOPE_FLAG_PASSWORD);
	assert_int_equal(h.iterations, 1000);
	expect_open(env, len, test_secret, "s3cret pass", "text/vcard", "ada.vcf",
		    (const uint8_t *)content, strlen(content));

	/* Missing, empty, wrong password; wrong secret with the right one. */
	assert_int_equal(open_code(env, len, test_secret, NULL), LKS_EUNAUTHORIZED);
	assert_non_null(strstr(lks_error_message(), "password"));
	assert_int_equal(open_code(env, len, test_secret, ""), LKS_EUNAUTHORIZED);
	assert_int_equal(open_code(env, len, test_secret, "s3cret pasS"), LKS_ECRYPTO);
	assert_non_null(strstr(lks_error_message(), "wrong"));
	assert_int_equal(open_code(env, len, test_secret, "s3cret pass "), LKS_ECRYPTO);
	{
		uint8_t other[16];
		memcpy(other, test_secret, 16);
		other[15] ^= 1;
		assert_int_equal(open_code(env, len, other, "s3cret pass"), LKS_ECRYPTO);
	}
	/* A password no sealer accepts is tried as typed, and is wrong here;
	 * one that is not UTF-8 is refused. */
	assert_int_equal(open_code(env, len, test_secret, "tab\there"), LKS_ECRYPTO);
	assert_int_equal(open_code(env, len, test_secret, "bad\xff"), LKS_EINVAL);
	free(env);
}

static void test_default_iterations(void **state)
{
	uint8_t *env = NULL;
	size_t len = 0;
	lks_envelope_header h;

	/* 0 means the default; iterations without a password are ignored. */
	assert_int_equal(
	    lks_envelope_seal(&env, &len, test_secret, NULL, 5000, "text/plain", NULL, "a", 1), 0);
	assert_int_equal(lks_envelope_header_parse(&h, env, len), 0);
	assert_int_equal(h.iterations, 0);
	free(env);
	assert_int_equal(
	    lks_envelope_seal(&env, &len, test_secret, "pw", 0, "text/plain", NULL, "a", 1), 0);
	assert_int_equal(lks_envelope_header_parse(&h, env, len), 0);
	assert_int_equal(h.iterations, LKS_ENVELOPE_ITERATIONS_DEFAULT);
	free(env);
}

/* ---- altered, truncated, wrong ---- */

static void test_every_flipped_bit_fails(void **state)
{
	uint8_t *env = NULL;
	size_t len = 0;

	assert_int_equal(
	    lks_envelope_seal(&env, &len, test_secret, NULL, 0, "text/plain", "n.txt", "hello", 5),
	    0);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			int rc;
			env[i] ^= (uint8_t)(1u << bit);
			rc = open_code(env, len, test_secret, NULL);
			env[i] ^= (uint8_t)(1u << bit);
			if (i < 5 || (i >= 21 && i < 25))
				/* Magic, flags (the password flag with 0 iterations
				 * included), iterations: the header is refused. */
				assert_int_equal(rc, LKS_EINVAL);
			else
				/* salt, IV, ciphertext, tag */
				assert_int_equal(rc, LKS_ECRYPTO);
		}
	}
	assert_int_equal(open_code(env, len, test_secret, NULL), 0);
	free(env);
}

static void test_password_flag_bit_flips(void **state)
{
	uint8_t *env = NULL;
	size_t len = 0;

	assert_int_equal(
	    lks_envelope_seal(&env, &len, test_secret, "pw", 1000, "text/plain", NULL, "hello", 5),
	    0);
	/* Dropping the flag leaves iterations that no longer fit. */
	env[4] = 0;
	assert_int_equal(open_code(env, len, test_secret, "pw"), LKS_EINVAL);
	env[4] = 1;
	/* Each iterations byte changed: a different key or out of range. */
	env[24] ^= 1;
	assert_int_equal(open_code(env, len, test_secret, "pw"), LKS_ECRYPTO);
	env[24] ^= 1;
	env[21] = 0xff;
	assert_int_equal(open_code(env, len, test_secret, "pw"), LKS_EINVAL);
	free(env);
}

static void test_truncated_envelopes_fail(void **state)
{
	uint8_t *env = NULL;
	size_t len = 0;

	assert_int_equal(lks_envelope_seal(&env, &len, test_secret, NULL, 0, "text/plain", NULL,
					   "some content", 12),
			 0);
	for (size_t n = 0; n < len; n++) {
		int rc = open_code(env, n, test_secret, NULL);
		assert_true(rc == LKS_EINVAL || rc == LKS_ECRYPTO);
		if (n < LKS_ENVELOPE_MIN_BYTES)
			assert_int_equal(rc, LKS_EINVAL);
	}
	assert_int_equal(open_code(NULL, 0, test_secret, NULL), LKS_EINVAL);
	/* An appended byte shifts the tag. */
	{
		uint8_t *longer = malloc(len + 1);
		assert_non_null(longer);
		memcpy(longer, env, len);
		longer[len] = 0;
		assert_int_equal(open_code(longer, len + 1, test_secret, NULL), LKS_ECRYPTO);
		free(longer);
	}
	free(env);
}

static void test_huge_iterations_refused_fast(void **state)
{
	uint8_t raw[LKS_ENVELOPE_HEADER_BYTES + 80];
	uint8_t proof[32];
	lks_envelope_header h;

	/* Were the count believed, PBKDF2 would run for hours. */
	memset(raw, 0, sizeof(raw));
	make_header(raw, 1, UINT32_MAX);
	assert_int_equal(open_code(raw, sizeof(raw), test_secret, "pw"), LKS_EINVAL);
	memset(&h, 0, sizeof(h));
	h.flags = 1;
	h.iterations = LKS_ENVELOPE_ITERATIONS_MAX + 1;
	assert_int_equal(lks_envelope_read_proof(proof, test_secret, "pw", &h), LKS_EINVAL);
	/* Sealing refuses them too. */
	{
		uint8_t *env = NULL;
		size_t len = 0;
		assert_int_equal(lks_envelope_seal(&env, &len, test_secret, "pw",
						   LKS_ENVELOPE_ITERATIONS_MAX + 1, "text/plain",
						   NULL, "a", 1),
				 LKS_EINVAL);
		assert_null(env);
		assert_int_equal(lks_envelope_seal(&env, &len, test_secret, "pw",
						   LKS_ENVELOPE_ITERATIONS_MIN - 1, "text/plain",
						   NULL, "a", 1),
				 LKS_EINVAL);
		assert_null(env);
	}
}

/* ---- arguments and limits ---- */

static void test_seal_rejects_bad_arguments(void **state)
{
	char long_type[LKS_ENVELOPE_TYPE_MAX + 2], long_name[LKS_ENVELOPE_NAME_MAX + 2];
	static const char *bad_types[] = {"",
					  "text",
					  "/plain",
					  "text/",
					  " text/plain",
					  "text/pl\nain",
					  "text/\x7f",
					  "t\xc3\xa9xt/plain"};
	static const char *bad_names[] = {"a\nb",	  "tab\t", "\x7f",
					  "bad\xff utf8", "\xc3",  "nul\x01"};
	uint8_t *env = NULL;
	size_t len = 0;

	for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++)
		assert_int_equal(
		    lks_envelope_seal(&env, &len, test_secret, NULL, 0, bad_types[i], NULL, "a", 1),
		    LKS_EINVAL);
	assert_int_equal(lks_envelope_seal(&env, &len, test_secret, NULL, 0, NULL, NULL, "a", 1),
			 LKS_EINVAL);
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		assert_int_equal(lks_envelope_seal(&env, &len, test_secret, NULL, 0, "text/plain",
						   bad_names[i], "a", 1),
				 LKS_EINVAL);

	memset(long_type, 'a', sizeof(long_type));
	long_type[1] = '/';
	long_type[LKS_ENVELOPE_TYPE_MAX] = '\0';
	assert_int_equal(
	    lks_envelope_seal(&env, &len, test_secret, NULL, 0, long_type, NULL, "", 0), 0);
	free(env);
	long_type[LKS_ENVELOPE_TYPE_MAX] = 'a';
	long_type[LKS_ENVELOPE_TYPE_MAX + 1] = '\0';
	assert_int_equal(
	    lks_envelope_seal(&env, &len, test_secret, NULL, 0, long_type, NULL, "", 0),
	    LKS_EINVAL);

	memset(long_name, 'n', sizeof(long_name));
	long_name[LKS_ENVELOPE_NAME_MAX] = '\0';
	assert_int_equal(
	    lks_envelope_seal(&env, &len, test_secret, NULL, 0, "text/plain", long_name, "", 0), 0);
	free(env);
	long_name[LKS_ENVELOPE_NAME_MAX] = 'n';
	long_name[LKS_ENVELOPE_NAME_MAX + 1] = '\0';
	assert_int_equal(
	    lks_envelope_seal(&env, &len, test_secret, NULL, 0, "text/plain", long_name, "", 0),
	    LKS_EINVAL);

	/* Empty and invalid passwords; content above the limit (never read). */
	assert_int_equal(
	    lks_envelope_seal(&env, &len, test_secret, "", 1000, "text/plain", NULL, "a", 1),
	    LKS_EINVAL);
	assert_int_equal(
	    lks_envelope_seal(&env, &len, test_secret, "a\x01", 1000, "text/plain", NULL, "a", 1),
	    LKS_EINVAL);
	assert_int_equal(lks_envelope_seal(&env, &len, test_secret, NULL, 0, "text/plain", NULL,
					   "a", LKS_ENVELOPE_CONTENT_MAX + 1),
			 LKS_ETOOBIG);
	assert_int_equal(
	    lks_envelope_seal(&env, &len, test_secret, NULL, 0, "text/plain", NULL, NULL, 5),
	    LKS_EINVAL);
	assert_null(env);
	assert_int_equal(len, 0);
}

static void test_json_escaping(void **state)
{
	static const char type[] = "application/x-\"odd\\type\"";
	static const char name[] = "a \"quoted\" \\ name \xe2\x80\xa8.txt";
	static const char want[] =
	    "{\"type\":\"application/x-\\\"odd\\\\type\\\"\",\"name\":\"a \\\"quoted\\\" "
	    "\\\\ name \xe2\x80\xa8.txt\"}";
	uint8_t *env = NULL, *pt;
	size_t len = 0;
	lks_envelope_keys keys;
	lks_envelope_header h;
	struct gcm_aes256_ctx gcm;
	size_t pt_len;

	assert_int_equal(lks_envelope_seal(&env, &len, test_secret, NULL, 0, type, name, "z", 1),
			 0);
	expect_open(env, len, test_secret, NULL, type, name, (const uint8_t *)"z", 1);
	/* The inside is the canonical JSON, as JSON.stringify writes it. */
	assert_int_equal(lks_envelope_header_parse(&h, env, len), 0);
	assert_int_equal(lks_envelope_keys_derive(&keys, test_secret, NULL, &h), 0);
	pt_len = len - 37 - 16;
	pt = malloc(pt_len);
	assert_non_null(pt);
	gcm_aes256_set_key(&gcm, keys.enc);
	gcm_aes256_set_iv(&gcm, 12, h.iv);
	gcm_aes256_update(&gcm, 37, env);
	gcm_aes256_decrypt(&gcm, pt_len, pt, env + 37);
	assert_int_equal(((size_t)pt[2] << 8 | pt[3]), strlen(want));
	assert_memory_equal(pt + 4, want, strlen(want));
	assert_int_equal(pt[4 + strlen(want)], 'z');
	lks_envelope_keys_wipe(&keys);
	free(pt);
	free(env);
}

static void test_password_normalize(void **state)
{
	char *out = NULL, big[LKS_ENVELOPE_PASSWORD_MAX + 2];
	size_t n = 0;

	/* NFD becomes NFC; a no-break space and an ideographic space become
	 * U+0020; width is kept (fullwidth A stays). */
	assert_int_equal(lks_envelope_password_normalize(&out, &n, "Ce\xcc\x81sar\xc2\xa0pw"), 0);
	assert_string_equal(out, "C\xc3\xa9sar pw");
	assert_int_equal(n, strlen(out));
	free(out);
	assert_int_equal(lks_envelope_password_normalize(&out, &n,
							 "a\xe3\x80\x80"
							 "b\xef\xbc\xa1"),
			 0);
	assert_string_equal(out, "a b\xef\xbc\xa1");
	free(out);
	assert_int_equal(lks_envelope_password_normalize(&out, &n, "plain ascii ~!"), 0);
	assert_string_equal(out, "plain ascii ~!");
	free(out);
	assert_int_equal(lks_envelope_password_normalize(&out, &n, "\xf0\x9f\x94\x91 key"), 0);
	assert_string_equal(out, "\xf0\x9f\x94\x91 key");
	free(out);

	/* Refused: empty, controls, zero-width joiner, soft hyphen, a line
	 * separator, a noncharacter, broken UTF-8, too long. */
	static const char *bad[] = {"",
				    "tab\there",
				    "new\nline",
				    "a\xe2\x80\x8d"
				    "b",
				    "soft\xc2\xad"
				    "hyphen",
				    "line\xe2\x80\xa8sep",
				    "non\xef\xb7\x90"
				    "char",
				    "bad\xff",
				    "\xc3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(lks_envelope_password_normalize(&out, &n, bad[i]), LKS_EINVAL);
		assert_null(out);
	}
	/* Opening tries a refused password as typed (not normalised); empty,
	 * broken UTF-8 and over-long ones stay refused. */
	assert_int_equal(lks_envelope_password_for_open(&out, &n, "tab\tCe\xcc\x81sar"), 0);
	assert_string_equal(out, "tab\tCe\xcc\x81sar");
	free(out);
	assert_int_equal(lks_envelope_password_for_open(&out, &n, "Ce\xcc\x81sar\xc2\xa0pw"), 0);
	assert_string_equal(out, "C\xc3\xa9sar pw");
	free(out);
	assert_int_equal(lks_envelope_password_for_open(&out, &n, ""), LKS_EINVAL);
	assert_int_equal(lks_envelope_password_for_open(&out, &n, "bad\xff"), LKS_EINVAL);
	assert_null(out);
	assert_int_equal(lks_envelope_password_normalize(&out, &n, NULL), LKS_EINVAL);
	memset(big, 'p', sizeof(big));
	big[LKS_ENVELOPE_PASSWORD_MAX] = '\0';
	assert_int_equal(lks_envelope_password_normalize(&out, &n, big), 0);
	free(out);
	big[LKS_ENVELOPE_PASSWORD_MAX] = 'p';
	big[LKS_ENVELOPE_PASSWORD_MAX + 1] = '\0';
	assert_int_equal(lks_envelope_password_normalize(&out, &n, big), LKS_EINVAL);
}

static void test_normalised_passwords_open(void **state)
{
	uint8_t *env = NULL;
	size_t len = 0;

	/* Typed decomposed on one device, composed on the other. */
	assert_int_equal(lks_envelope_seal(&env, &len, test_secret, "Ce\xcc\x81sar\xc2\xa0pw", 1000,
					   "text/plain", NULL, "hi", 2),
			 0);
	expect_open(env, len, test_secret, "C\xc3\xa9sar pw", "text/plain", NULL,
		    (const uint8_t *)"hi", 2);
	assert_int_equal(open_code(env, len, test_secret, "Cesar pw"), LKS_ECRYPTO);
	free(env);
}

static void test_refused_password_opens_as_typed(void **state)
{
	static const char pw[] = "tab\tCe\xcc\x81sar";
	static const char json[] = "{\"type\":\"text/plain\"}";
	lks_envelope_header h;
	lks_envelope_keys keys;
	uint8_t *pt, *env = NULL, proof[32];
	size_t pt_len, env_len;

	/* Sealers refuse it... */
	assert_int_equal(
	    lks_envelope_seal(&env, &env_len, test_secret, pw, 1000, "text/plain", NULL, "x", 1),
	    LKS_EINVAL);
	assert_null(env);
	/* ...but a sealer whose Unicode tables accept a character ours refuse
	 * derived from the bytes as typed, and so does the reader. */
	memset(&h, 0, sizeof(h));
	h.flags = LKS_ENVELOPE_FLAG_PASSWORD;
	h.iterations = 1000;
	assert_int_equal(lks_envelope_keys_derive(&keys, test_secret, pw, &h), 0);
	pt = plaintext(&pt_len, (uint32_t)strlen(json), json, "typed");
	env = seal_raw(&env_len, &keys, pt, pt_len);
	expect_open(env, env_len, test_secret, pw, "text/plain", NULL, (const uint8_t *)"typed", 5);
	/* Not normalised: the composed form is another password. */
	assert_int_equal(open_code(env, env_len, test_secret, "tab\tC\xc3\xa9sar"), LKS_ECRYPTO);
	assert_int_equal(lks_envelope_read_proof(proof, test_secret, pw, &h), 0);
	assert_memory_equal(proof, keys.read, 32);
	lks_envelope_keys_wipe(&keys);
	free(pt);
	free(env);
}

/* ---- the inside, authentic but malformed ---- */

static void test_inner_header_rules(void **state)
{
	static const struct {
		uint32_t declared; /* 0xffffffff: use the JSON's length */
		const char *json;
		int rc;
	} cases[] = {
	    {0xffffffffu, "{\"type\":\"text/plain\"}", 0},
	    {0xffffffffu, "{\"type\":\"text/plain\",\"name\":null}", 0},
	    {0xffffffffu, "{\"type\":\"text/plain\",\"name\":\"\"}", 0},
	    {0xffffffffu, "{ \"name\" : \"x.txt\", \"type\" : \"text/plain\", \"v\": 2 }", 0},
	    {0xffffffffu, "{\"type\":\"text/plain\",\"name\":\"a\\u0000b\"}", LKS_EINVAL},
	    {0xffffffffu, "{\"type\":\"text/plain\",\"name\":\"a\\nb\"}", LKS_EINVAL},
	    {0xffffffffu, "{\"type\":\"text/plain\",\"name\":5}", LKS_EINVAL},
	    {0xffffffffu, "{\"type\":\"text/plain\",\"type\":\"text/html\"}", LKS_EINVAL},
	    {0xffffffffu, "{\"type\":\"plain\"}", LKS_EINVAL},
	    {0xffffffffu, "{\"type\":7}", LKS_EINVAL},
	    {0xffffffffu, "{\"name\":\"x\"}", LKS_EINVAL},
	    {0xffffffffu, "[\"text/plain\"]", LKS_EINVAL},
	    {0xffffffffu, "{\"type\":\"text/plain\"", LKS_EINVAL},
	    {0xffffffffu, "not json at all", LKS_EINVAL},
	    {0xffffff00u, "{\"type\":\"text/plain\"}", LKS_EINVAL},
	    {4097, "{\"type\":\"text/plain\"}", LKS_EINVAL},
	    {3, "{\"type\":\"text/plain\"}", LKS_EINVAL},
	};
	lks_envelope_header h;
	lks_envelope_keys keys;

	memset(&h, 0, sizeof(h));
	h.salt[0] = 9;
	h.iv[0] = 7;
	assert_int_equal(lks_envelope_keys_derive(&keys, test_secret, NULL, &h), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t pt_len, env_len;
		uint32_t declared = cases[i].declared == 0xffffffffu
					? (uint32_t)strlen(cases[i].json)
					: cases[i].declared;
		uint8_t *pt = plaintext(&pt_len, declared, cases[i].json, "BODY");
		uint8_t *env = seal_raw(&env_len, &keys, pt, pt_len);
		char *t = NULL, *n = NULL;
		uint8_t *c = NULL;
		size_t cl = 0;
		int rc = lks_envelope_open_keys(&t, &n, &c, &cl, &keys, env, env_len);

		if (rc != cases[i].rc)
			fail_msg("case %zu (%s): got %d (%s)", i, cases[i].json, rc,
				 lks_error_message());
		if (rc == 0) {
			assert_string_equal(t, "text/plain");
			assert_int_equal(cl, 4);
			assert_memory_equal(c, "BODY", 4);
			if (strstr(cases[i].json, "x.txt") != NULL)
				assert_string_equal(n, "x.txt");
			else
				assert_null(n);
		}
		free(t);
		free(n);
		free(c);
		free(env);
		free(pt);
	}
	lks_envelope_keys_wipe(&keys);
}

static void test_open_keys_header_mismatch(void **state)
{
	uint8_t *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;
	lks_envelope_header h;
	lks_envelope_keys keys;
	char *t = NULL, *n = NULL;
	uint8_t *c = NULL;
	size_t cl = 0;

	assert_int_equal(
	    lks_envelope_seal(&a, &al, test_secret, NULL, 0, "text/plain", NULL, "1", 1), 0);
	assert_int_equal(
	    lks_envelope_seal(&b, &bl, test_secret, NULL, 0, "text/plain", NULL, "2", 1), 0);
	assert_int_equal(lks_envelope_header_parse(&h, a, al), 0);
	assert_int_equal(lks_envelope_keys_derive(&keys, test_secret, NULL, &h), 0);
	assert_int_equal(lks_envelope_open_keys(&t, &n, &c, &cl, &keys, b, bl), LKS_ECRYPTO);
	assert_non_null(strstr(lks_error_message(), "updated"));
	assert_int_equal(lks_envelope_open_keys(&t, NULL, &c, &cl, &keys, a, al), 0);
	assert_string_equal(t, "text/plain");
	assert_int_equal(c[0], '1');
	lks_envelope_keys_wipe(&keys);
	for (size_t i = 0; i < sizeof(keys); i++)
		assert_int_equal(((uint8_t *)&keys)[i], 0);
	lks_envelope_keys_wipe(NULL);
	free(t);
	free(c);
	free(a);
	free(b);
}

/* ---- the read proof on both sides ---- */

static void test_read_proof_and_server_check(void **state)
{
	uint8_t *env = NULL, proof[32], again[32], stored[32], other[16];
	char text[LKS_ENVELOPE_PROOF_LEN + 1], bad[LKS_ENVELOPE_PROOF_LEN + 1];
	size_t len = 0;
	lks_envelope_header h;
	lks_envelope_keys keys;

	assert_int_equal(
	    lks_envelope_seal(&env, &len, test_secret, "pw", 1000, "text/plain", NULL, "x", 1), 0);
	assert_int_equal(lks_envelope_check(&h, env, len), 0);
	assert_int_equal(lks_envelope_read_proof(proof, test_secret, NULL, &h), LKS_EUNAUTHORIZED);
	assert_int_equal(lks_envelope_read_proof(proof, test_secret, "pw", &h), 0);
	assert_int_equal(lks_envelope_keys_derive(&keys, test_secret, "pw", &h), 0);
	assert_memory_equal(keys.read, proof, 32);
	assert_memory_not_equal(keys.read, keys.enc, 32);
	lks_envelope_keys_wipe(&keys);

	/* The pusher's proof is stored hashed; readers are compared to it. */
	lks_base64url_encode(text, proof, 32);
	assert_int_equal(strlen(text), LKS_ENVELOPE_PROOF_LEN);
	assert_int_equal(lks_envelope_proof_hash_text(stored, text, strlen(text)), 0);
	lks_envelope_proof_hash(again, proof);
	assert_memory_equal(stored, again, 32);
	lks_sha256(again, proof, 32);
	assert_memory_equal(stored, again, 32);
	assert_int_equal(lks_envelope_proof_check(stored, text, strlen(text)), 0);
	assert_int_equal(lks_envelope_proof_check(stored, NULL, 0), LKS_EUNAUTHORIZED);
	assert_int_equal(lks_envelope_proof_check(stored, "", 0), LKS_EUNAUTHORIZED);
	assert_int_equal(lks_envelope_proof_check(stored, text, strlen(text) - 1), LKS_EFORBIDDEN);
	assert_int_equal(lks_envelope_proof_check(stored, "!!!", 3), LKS_EFORBIDDEN);
	assert_int_equal(lks_envelope_proof_hash_text(again, "!!!", 3), LKS_EINVAL);

	/* Wrong password, wrong secret: another proof, refused. */
	assert_int_equal(lks_envelope_read_proof(proof, test_secret, "pW", &h), 0);
	lks_base64url_encode(bad, proof, 32);
	assert_int_equal(lks_envelope_proof_check(stored, bad, strlen(bad)), LKS_EFORBIDDEN);
	memcpy(other, test_secret, 16);
	other[0] ^= 0x80;
	assert_int_equal(lks_envelope_read_proof(proof, other, "pw", &h), 0);
	lks_base64url_encode(bad, proof, 32);
	assert_int_equal(lks_envelope_proof_check(stored, bad, strlen(bad)), LKS_EFORBIDDEN);

	/* A new envelope (an update) has a new salt, so a new proof. */
	free(env);
	assert_int_equal(
	    lks_envelope_seal(&env, &len, test_secret, "pw", 1000, "text/plain", NULL, "y", 1), 0);
	assert_int_equal(lks_envelope_check(&h, env, len), 0);
	assert_int_equal(lks_envelope_read_proof(proof, test_secret, "pw", &h), 0);
	lks_base64url_encode(bad, proof, 32);
	assert_int_equal(lks_envelope_proof_check(stored, bad, strlen(bad)), LKS_EFORBIDDEN);
	free(env);
}

static void test_check_for_servers(void **state)
{
	uint8_t *env = NULL;
	size_t len = 0;
	lks_envelope_header h;

	assert_int_equal(lks_envelope_seal(&env, &len, test_secret, NULL, 0, "a/b", NULL, "", 0),
			 0);
	assert_int_equal(len, LKS_ENVELOPE_MIN_BYTES);
	assert_int_equal(lks_envelope_check(&h, env, len), 0);
	assert_int_equal(lks_envelope_check(&h, env, len - 1), LKS_EINVAL);
	assert_int_equal(lks_envelope_check(NULL, env, len), 0);
	assert_int_equal(lks_envelope_check(NULL, "plain text, not sealed at all, long enough", 43),
			 LKS_EINVAL);
	free(env);
}

/* ---- vectors ---- */

static char *vectors_path(void)
{
	const char *src = getenv("LKS_SRC");
	const char *rel = "/docs/e2e-vectors.json";
	char *path;

	if (src == NULL) {
		/* Without ctest's environment: two levels up from this file. */
		static char from_file[4096];
		const char *me = __FILE__;
		const char *cut = strstr(me, "/tests/core/");
		if (cut == NULL)
			return NULL;
		snprintf(from_file, sizeof(from_file), "%.*s", (int)(cut - me), me);
		src = from_file;
	}
	path = malloc(strlen(src) + strlen(rel) + 1);
	if (path == NULL)
		abort();
	memcpy(path, src, strlen(src));
	memcpy(path + strlen(src), rel, strlen(rel) + 1);
	return path;
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int code_of(const char *expect)
{
	if (strcmp(expect, "crypto") == 0)
		return LKS_ECRYPTO;
	if (strcmp(expect, "format") == 0)
		return LKS_EINVAL;
	if (strcmp(expect, "password_required") == 0)
		return LKS_EUNAUTHORIZED;
	fail_msg("unknown expectation %s", expect);
	return 0;
}

static void check_vector(json_t *v)
{
	uint8_t secret[16], salt[16], iv[12], *content, *env, *want_env, *c = NULL;
	uint8_t kenc[32], hash[32];
	size_t clen, wlen, elen = 0, cl = 0;
	const char *pw = jstr(v, "password"), *name = jstr(v, "name");
	uint32_t iter = (uint32_t)json_integer_value(json_object_get(v, "iterations"));
	lks_envelope_header h;
	lks_envelope_keys keys;
	char *t = NULL, *n = NULL, *s;
	char frag[LKS_E2E_FRAGMENT_LEN + 1], htext[LKS_ENVELOPE_HEADER_LEN + 1];

	hex_decode(secret, 16, jstr(v, "secret_hex"));
	hex_decode(salt, 16, jstr(v, "salt_hex"));
	hex_decode(iv, 12, jstr(v, "iv_hex"));
	lks_e2e_fragment_encode(frag, secret);
	assert_string_equal(frag, jstr(v, "fragment"));
	content = b64_decode(jstr(v, "content_b64"), &clen);
	want_env = b64_decode(jstr(v, "envelope_b64"), &wlen);
	assert_non_null(content);
	assert_non_null(want_env);
	assert_int_equal(clen, json_integer_value(json_object_get(v, "content_len")));

	if (json_is_true(json_object_get(v, "seal_refuses"))) {
		char *norm = NULL;
		size_t nl = 0;
		assert_int_equal(lks_envelope_password_normalize(&norm, &nl, pw), LKS_EINVAL);
		s = hex_encode((const uint8_t *)pw, strlen(pw));
		assert_string_equal(s, jstr(v, "password_normalized_hex"));
		free(s);
		assert_int_equal(lks_envelope_seal_explicit(&env, &elen, secret, pw, iter, salt, iv,
							    jstr(v, "type"), name, content, clen),
				 LKS_EINVAL);
	} else {
		if (pw != NULL) {
			char *norm = NULL;
			size_t nl = 0;
			assert_int_equal(lks_envelope_password_normalize(&norm, &nl, pw), 0);
			s = hex_encode((const uint8_t *)norm, nl);
			assert_string_equal(s, jstr(v, "password_normalized_hex"));
			free(s);
			free(norm);
		}
		/* Sealing with the vector's salt and IV gives its bytes exactly. */
		assert_int_equal(lks_envelope_seal_explicit(&env, &elen, secret, pw, iter, salt, iv,
							    jstr(v, "type"), name, content, clen),
				 0);
		assert_int_equal(elen, wlen);
		assert_memory_equal(env, want_env, wlen);
		free(env);
	}

	/* Header, keys, proof. */
	assert_int_equal(lks_envelope_check(&h, want_env, wlen), 0);
	lks_envelope_header_format(htext, &h);
	assert_string_equal(htext, jstr(v, "header_b64url"));
	assert_int_equal(lks_envelope_keys_derive(&keys, secret, pw, &h), 0);
	hex_decode(kenc, 32, jstr(v, "k_enc_hex"));
	assert_memory_equal(keys.enc, kenc, 32);
	s = b64url(keys.read, 32);
	assert_string_equal(s, jstr(v, "read_proof_b64url"));
	free(s);
	lks_envelope_proof_hash(hash, keys.read);
	s = hex_encode(hash, 32);
	assert_string_equal(s, jstr(v, "read_proof_sha256_hex"));
	free(s);
	hex_decode(hash, 32, jstr(v, "read_proof_sha256_hex"));
	assert_int_equal(lks_envelope_proof_check(hash, jstr(v, "read_proof_b64url"),
						  strlen(jstr(v, "read_proof_b64url"))),
			 0);

	/* And it opens. */
	assert_int_equal(lks_envelope_open_keys(&t, &n, &c, &cl, &keys, want_env, wlen), 0);
	assert_string_equal(t, jstr(v, "type"));
	if (name == NULL)
		assert_null(n);
	else
		assert_string_equal(n, name);
	assert_int_equal(cl, clen);
	if (clen > 0)
		assert_memory_equal(c, content, clen);
	lks_envelope_keys_wipe(&keys);
	free(t);
	free(n);
	free(c);
	free(content);
	free(want_env);
}

static void test_published_vectors(void **state)
{
	char *path = vectors_path();
	json_error_t err;
	json_t *root, *arr, *v;
	size_t i;

	assert_non_null(path);
	root = json_load_file(path, 0, &err);
	if (root == NULL)
		fail_msg("%s: %s (line %d)", path, err.text, err.line);
	assert_string_equal(jstr(root, "scheme"), "LKS1");
	arr = json_object_get(root, "vectors");
	assert_true(json_array_size(arr) >= 8);
	json_array_foreach(arr, i, v) check_vector(v);

	arr = json_object_get(root, "invalid");
	assert_true(json_array_size(arr) >= 10);
	json_array_foreach(arr, i, v)
	{
		uint8_t secret[16], *env;
		size_t elen;
		int rc;

		hex_decode(secret, 16, jstr(v, "secret_hex"));
		env = b64_decode(jstr(v, "envelope_b64"), &elen);
		assert_non_null(env);
		rc = open_code(env, elen, secret, jstr(v, "password"));
		if (rc != code_of(jstr(v, "expect")))
			fail_msg("invalid vector %s: got %s (%s)", jstr(v, "id"),
				 lks_error_name(rc), lks_error_message());
		free(env);
	}
	json_decref(root);
	free(path);
}

/* ---- modes for other tools ---- */

static json_t *read_stdin_json(void)
{
	json_error_t err;
	json_t *root = json_loadf(stdin, 0, &err);

	if (root == NULL || !json_is_array(root)) {
		fprintf(stderr, "stdin: a JSON array expected: %s\n", err.text);
		exit(2);
	}
	return root;
}

static int secret_from(uint8_t secret[16], json_t *o)
{
	const char *s = jstr(o, "secret");

	return s == NULL ? LKS_EINVAL : lks_e2e_fragment_decode(secret, s, strlen(s));
}

static int mode_seal(void)
{
	json_t *in = read_stdin_json(), *out = json_array(), *o;
	size_t i;

	json_array_foreach(in, i, o)
	{
		uint8_t secret[16], *content, *env = NULL;
		size_t clen = 0, elen = 0;
		int rc;
		char *b;

		content = b64_decode(jstr(o, "content_b64"), &clen);
		if (content == NULL || secret_from(secret, o) < 0) {
			fprintf(stderr, "case %zu: bad secret or content\n", i);
			return 2;
		}
		rc = lks_envelope_seal(
		    &env, &elen, secret, jstr(o, "password"),
		    (uint32_t)json_integer_value(json_object_get(o, "iterations")), jstr(o, "type"),
		    jstr(o, "name"), content, clen);
		if (rc < 0) {
			fprintf(stderr, "case %zu: %s\n", i, lks_error_message());
			return 1;
		}
		b = b64_encode(env, elen);
		json_array_append_new(out, json_pack("{s:s}", "envelope_b64", b));
		free(b);
		free(env);
		free(content);
	}
	json_dumpf(out, stdout, JSON_COMPACT);
	json_decref(in);
	json_decref(out);
	return 0;
}

static int mode_open(void)
{
	json_t *in = read_stdin_json(), *out = json_array(), *o;
	size_t i;

	json_array_foreach(in, i, o)
	{
		uint8_t secret[16], *env, *c = NULL;
		size_t elen = 0, cl = 0;
		char *t = NULL, *n = NULL, *b;
		int rc;

		env = b64_decode(jstr(o, "envelope_b64"), &elen);
		if (env == NULL || secret_from(secret, o) < 0) {
			fprintf(stderr, "case %zu: bad secret or envelope\n", i);
			return 2;
		}
		rc = lks_envelope_open(&t, &n, &c, &cl, secret, jstr(o, "password"), env, elen);
		if (rc < 0) {
			json_array_append_new(out, json_pack("{s:b,s:s,s:s}", "ok", 0, "error",
							     lks_error_name(rc), "message",
							     lks_error_message()));
		} else {
			b = b64_encode(c, cl);
			json_array_append_new(out, json_pack("{s:b,s:s,s:s?,s:s}", "ok", 1, "type",
							     t, "name", n, "content_b64", b));
			free(b);
		}
		free(t);
		free(n);
		free(c);
		free(env);
	}
	json_dumpf(out, stdout, JSON_COMPACT);
	json_decref(in);
	json_decref(out);
	return 0;
}

static int mode_normalize(void)
{
	json_t *in = read_stdin_json(), *out = json_array(), *o;
	size_t i;

	json_array_foreach(in, i, o)
	{
		const char *pw = json_is_string(o) ? json_string_value(o) : NULL;
		json_t *res = json_object();
		char *norm = NULL, *h;
		size_t nl = 0;

		if (lks_envelope_password_normalize(&norm, &nl, pw) == 0) {
			h = hex_encode((const uint8_t *)norm, nl);
			json_object_set_new(res, "strict", json_string(h));
			free(h);
			free(norm);
		} else {
			json_object_set_new(res, "strict", json_null());
		}
		if (lks_envelope_password_for_open(&norm, &nl, pw) == 0) {
			h = hex_encode((const uint8_t *)norm, nl);
			json_object_set_new(res, "open", json_string(h));
			free(h);
			free(norm);
		} else {
			json_object_set_new(res, "open", json_null());
		}
		json_array_append_new(out, res);
	}
	json_dumpf(out, stdout, JSON_COMPACT);
	json_decref(in);
	json_decref(out);
	return 0;
}

/* Deterministic bytes for a vector: SHA-256("linksync vector ID WHAT"). */
static void vector_bytes(uint8_t *out, size_t n, const char *id, const char *what)
{
	char label[256];
	uint8_t h[32];

	snprintf(label, sizeof(label), "linksync vector %s %s", id, what);
	lks_sha256(h, label, strlen(label));
	memcpy(out, h, n);
}

struct vector_def {
	const char *id, *description, *password;
	uint32_t iterations;
	const char *type, *name;
	const char *text; /* content, or NULL for the pattern */
	size_t pattern_len;
};

static const struct vector_def vector_defs[] = {
    {"empty", "no password, empty content, no name", NULL, 0, "text/plain; charset=utf-8", NULL, "",
     0},
    {"note", "no password, a short note", NULL, 0, "text/plain; charset=utf-8", NULL,
     "Hello from linksync!\n", 0},
    {"block-16", "no password, content of exactly one AES block", NULL, 0,
     "application/octet-stream", "sixteen.bin", "0123456789abcdef", 0},
    {"calendar", "no password, a calendar event with a file name", NULL, 0, "text/calendar",
     "meeting.ics",
     "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//linksync//vectors//EN\r\nBEGIN:VEVENT\r\n"
     "UID:vector-1@linksync\r\nDTSTAMP:20250101T090000Z\r\nDTSTART:20250102T100000Z\r\n"
     "SUMMARY:Planning\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
     0},
    {"pattern-100k", "no password, 102400 bytes where byte i is i mod 251", NULL, 0,
     "application/octet-stream", "pattern.bin", NULL, 102400},
    {"utf8-name", "no password, a UTF-8 file name", NULL, 0, "application/pdf",
     "\xc3\x9c"
     "berweisung \xe2\x80\x93 \xe6\x9c\x88\xe5\xa0\xb1 \xf0\x9f\x93\x85.pdf",
     "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", 0},
    {"json-escapes", "no password, quotes and a backslash in the type and the name", NULL, 0,
     "application/x-\"odd\\type\"", "say \"hi\" \\ there.txt", "escaped", 0},
    {"password-1000", "password, 1000 iterations (fast)", "correct horse battery staple", 1000,
     "text/plain; charset=utf-8", NULL, "The password is not in the link.\n", 0},
    {"password-normalised",
     "password typed decomposed with a no-break space: it is normalised to NFC and U+0020 "
     "before PBKDF2",
     "Ce\xcc\x81sar\xc2\xa0"
     "Fr\xc3\xa9"
     "d\xc3\xa9ric",
     1000, "text/vcard", "contact.vcf",
     "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:C\xc3\xa9sar\r\nEND:VCARD\r\n", 0},
    {"password-600000", "password with the default 600000 iterations", "linksync", 600000,
     "text/plain; charset=utf-8", "secret.txt", "Sealed with the default iteration count.\n", 0},
    {"password-as-typed",
     "a password outside the OpaqueString rules (a tab): sealers refuse it, readers derive "
     "from its UTF-8 as typed, without NFC (seal_refuses)",
     "tab\tCe\xcc\x81sar", 1000, "text/plain; charset=utf-8", NULL, "typed as is\n", 0},
};

static json_t *vector_json(const struct vector_def *d, uint8_t **env_out, size_t *env_len)
{
	uint8_t secret[16], salt[16], iv[12], *content, *env = NULL, hash[32];
	size_t clen = d->text != NULL ? strlen(d->text) : d->pattern_len, elen = 0;
	lks_envelope_header h;
	lks_envelope_keys keys;
	char frag[LKS_E2E_FRAGMENT_LEN + 1], htext[LKS_ENVELOPE_HEADER_LEN + 1];
	json_t *o = json_object();
	char *s;

	vector_bytes(secret, 16, d->id, "secret");
	vector_bytes(salt, 16, d->id, "salt");
	vector_bytes(iv, 12, d->id, "iv");
	content = malloc(clen + 1);
	if (content == NULL)
		abort();
	if (d->text != NULL)
		memcpy(content, d->text, clen);
	else
		for (size_t i = 0; i < clen; i++)
			content[i] = (uint8_t)(i % 251);
	if (lks_envelope_seal_explicit(&env, &elen, secret, d->password, d->iterations, salt, iv,
				       d->type, d->name, content, clen) == LKS_EINVAL &&
	    d->password != NULL && d->name == NULL) {
		/* A password sealers refuse: seal as a lenient sealer would. */
		char json[256];
		uint8_t *pt;
		size_t pt_len;
		snprintf(json, sizeof(json), "{\"type\":\"%s\"}", d->type);
		memset(&h, 0, sizeof(h));
		h.flags = LKS_ENVELOPE_FLAG_PASSWORD;
		h.iterations = d->iterations;
		memcpy(h.salt, salt, 16);
		memcpy(h.iv, iv, 12);
		if (lks_envelope_keys_derive(&keys, secret, d->password, &h) < 0)
			exit(1);
		pt = plaintext(&pt_len, (uint32_t)strlen(json), json, d->text);
		env = seal_raw(&elen, &keys, pt, pt_len);
		lks_envelope_keys_wipe(&keys);
		free(pt);
		json_object_set_new(o, "seal_refuses", json_true());
	}
	if (env == NULL || lks_envelope_check(&h, env, elen) < 0 ||
	    lks_envelope_keys_derive(&keys, secret, d->password, &h) < 0) {
		fprintf(stderr, "%s: %s\n", d->id, lks_error_message());
		exit(1);
	}
	lks_e2e_fragment_encode(frag, secret);
	lks_envelope_header_format(htext, &h);

	json_object_set_new(o, "id", json_string(d->id));
	json_object_set_new(o, "description", json_string(d->description));
	json_object_set_new(o, "secret_hex", json_string(s = hex_encode(secret, 16)));
	free(s);
	json_object_set_new(o, "fragment", json_string(frag));
	json_object_set_new(o, "password", d->password ? json_string(d->password) : json_null());
	if (d->password != NULL) {
		char *norm = NULL;
		size_t nl = 0;
		json_object_set_new(
		    o, "password_hex",
		    json_string(s = hex_encode((const uint8_t *)d->password, strlen(d->password))));
		free(s);
		if (lks_envelope_password_normalize(&norm, &nl, d->password) < 0)
			/* Refused: the bytes as typed. */
			s = hex_encode((const uint8_t *)d->password, strlen(d->password));
		else
			s = hex_encode((const uint8_t *)norm, nl);
		json_object_set_new(o, "password_normalized_hex", json_string(s));
		free(s);
		free(norm);
	} else {
		json_object_set_new(o, "password_hex", json_null());
		json_object_set_new(o, "password_normalized_hex", json_null());
	}
	json_object_set_new(o, "iterations", json_integer(h.iterations));
	json_object_set_new(o, "salt_hex", json_string(s = hex_encode(salt, 16)));
	free(s);
	json_object_set_new(o, "iv_hex", json_string(s = hex_encode(iv, 12)));
	free(s);
	json_object_set_new(o, "type", json_string(d->type));
	json_object_set_new(o, "name", d->name ? json_string(d->name) : json_null());
	json_object_set_new(o, "content_len", json_integer((json_int_t)clen));
	json_object_set_new(o, "content_b64", json_string(s = b64_encode(content, clen)));
	free(s);
	json_object_set_new(o, "header_b64url", json_string(htext));
	json_object_set_new(o, "k_enc_hex", json_string(s = hex_encode(keys.enc, 32)));
	free(s);
	json_object_set_new(o, "read_proof_b64url", json_string(s = b64url(keys.read, 32)));
	free(s);
	lks_envelope_proof_hash(hash, keys.read);
	json_object_set_new(o, "read_proof_sha256_hex", json_string(s = hex_encode(hash, 32)));
	free(s);
	json_object_set_new(o, "envelope_len", json_integer((json_int_t)elen));
	json_object_set_new(o, "envelope_b64", json_string(s = b64_encode(env, elen)));
	free(s);
	lks_envelope_keys_wipe(&keys);
	free(content);
	*env_out = env;
	*env_len = elen;
	return o;
}

static void add_invalid(json_t *arr, const char *id, const char *why, const uint8_t secret[16],
			const char *password, const uint8_t *env, size_t len, const char *expect)
{
	char *sh = hex_encode(secret, 16), *eb = b64_encode(env, len);

	/* The generator checks its own claim before publishing it. */
	if (open_code(env, len, secret, password) != code_of(expect)) {
		fprintf(stderr, "invalid vector %s does not fail as %s\n", id, expect);
		exit(1);
	}
	json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s?,s:s,s:s}", "id", id, "description",
					     why, "secret_hex", sh, "password", password,
					     "envelope_b64", eb, "expect", expect));
	free(sh);
	free(eb);
}

static int mode_make_vectors(void)
{
	json_t *root = json_object(), *vecs = json_array(), *bad = json_array();
	uint8_t *note = NULL, *pwenv = NULL, *tmp, notesecret[16], pwsecret[16], other[16];
	size_t note_len = 0, pw_len = 0;

	for (size_t i = 0; i < sizeof(vector_defs) / sizeof(vector_defs[0]); i++) {
		uint8_t *env = NULL;
		size_t elen = 0;
		json_array_append_new(vecs, vector_json(&vector_defs[i], &env, &elen));
		if (strcmp(vector_defs[i].id, "note") == 0) {
			note = env;
			note_len = elen;
			vector_bytes(notesecret, 16, "note", "secret");
		} else if (strcmp(vector_defs[i].id, "password-1000") == 0) {
			pwenv = env;
			pw_len = elen;
			vector_bytes(pwsecret, 16, "password-1000", "secret");
		} else {
			free(env);
		}
	}

	/* Derived from "note" (no password) and "password-1000". */
	tmp = malloc(note_len + pw_len);
	if (tmp == NULL)
		abort();
	memcpy(other, notesecret, 16);
	other[0] ^= 1;
	add_invalid(bad, "wrong-secret", "the note with one bit of the secret changed", other, NULL,
		    note, note_len, "crypto");
	add_invalid(bad, "wrong-password", "password-1000 with another password", pwsecret,
		    "correct horse battery stable", pwenv, pw_len, "crypto");
	add_invalid(bad, "missing-password", "password-1000 without a password", pwsecret, NULL,
		    pwenv, pw_len, "password_required");
	static const struct {
		const char *id, *why;
		size_t at;
		uint8_t x;
		const char *expect;
	} flips[] = {
	    {"magic", "'LKS1' became 'LKS2'", 3, 0x03, "format"},
	    {"unknown-flag", "flags 0x02: no such flag", 4, 0x02, "format"},
	    {"flag-without-iterations", "the password flag set with 0 iterations", 4, 0x01,
	     "format"},
	    {"iterations-without-flag", "no password flag but iterations 1", 24, 0x01, "format"},
	    {"salt", "one bit of the salt changed", 5, 0x01, "crypto"},
	    {"iv", "one bit of the IV changed", 30, 0x80, "crypto"},
	    {"ciphertext", "one bit of the ciphertext changed", 45, 0x10, "crypto"},
	    {"tag", "one bit of the tag changed", (size_t)-1, 0x01, "crypto"},
	};
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		char id[64];
		size_t at = flips[i].at == (size_t)-1 ? note_len - 1 : flips[i].at;
		memcpy(tmp, note, note_len);
		tmp[at] ^= flips[i].x;
		snprintf(id, sizeof(id), "altered-%s", flips[i].id);
		add_invalid(bad, id, flips[i].why, notesecret, NULL, tmp, note_len,
			    flips[i].expect);
	}
	memcpy(tmp, pwenv, pw_len);
	tmp[21] = 0x00, tmp[22] = 0x4c, tmp[23] = 0x4b, tmp[24] = 0x41; /* 5000001 */
	add_invalid(bad, "iterations-above-max", "password-1000 claiming 5000001 iterations",
		    pwsecret, "correct horse battery staple", tmp, pw_len, "format");
	memcpy(tmp, pwenv, pw_len);
	tmp[21] = 0, tmp[22] = 0, tmp[23] = 0x03, tmp[24] = 0xe7; /* 999 */
	add_invalid(bad, "iterations-below-min", "password-1000 claiming 999 iterations", pwsecret,
		    "correct horse battery staple", tmp, pw_len, "format");
	memcpy(tmp, pwenv, pw_len);
	tmp[24] ^= 0x01; /* 1001 */
	add_invalid(bad, "iterations-changed", "password-1000 claiming 1001 iterations", pwsecret,
		    "correct horse battery staple", tmp, pw_len, "crypto");
	add_invalid(bad, "truncated-header", "the note cut to 36 bytes", notesecret, NULL, note, 36,
		    "format");
	add_invalid(bad, "too-short", "the note cut below the shortest possible envelope",
		    notesecret, NULL, note, LKS_ENVELOPE_MIN_BYTES - 1, "format");
	add_invalid(bad, "truncated-tag", "the note without its last byte", notesecret, NULL, note,
		    note_len - 1, "crypto");
	memcpy(tmp, note, note_len);
	tmp[note_len] = 0;
	add_invalid(bad, "appended-byte", "the note with a zero byte appended", notesecret, NULL,
		    tmp, note_len + 1, "crypto");

	/* Authentic envelopes whose inside breaks the format. */
	{
		static const struct {
			const char *id, *why, *json;
			uint32_t declared;
		} inner[] = {
		    {"inner-length", "the JSON length points past the plaintext",
		     "{\"type\":\"text/plain\"}", 0x00010000},
		    {"inner-not-json", "the JSON header is not JSON", "type=text/plain", 0},
		    {"inner-no-type", "the JSON header has no type", "{\"name\":\"a.txt\"}", 0},
		    {"inner-bad-type", "the type is not a media type", "{\"type\":\"plain\"}", 0},
		    {"inner-control-name", "the name contains a newline",
		     "{\"type\":\"text/plain\",\"name\":\"a\\nb\"}", 0},
		};
		lks_envelope_header h;
		lks_envelope_keys keys;

		memset(&h, 0, sizeof(h));
		vector_bytes(h.salt, 16, "inner", "salt");
		vector_bytes(h.iv, 12, "inner", "iv");
		if (lks_envelope_keys_derive(&keys, notesecret, NULL, &h) < 0)
			return 1;
		for (size_t i = 0; i < sizeof(inner) / sizeof(inner[0]); i++) {
			size_t pl, el;
			uint32_t d =
			    inner[i].declared ? inner[i].declared : (uint32_t)strlen(inner[i].json);
			uint8_t *pt = plaintext(&pl, d, inner[i].json, "content");
			uint8_t *env = seal_raw(&el, &keys, pt, pl);
			add_invalid(bad, inner[i].id, inner[i].why, notesecret, NULL, env, el,
				    "format");
			free(pt);
			free(env);
		}
		lks_envelope_keys_wipe(&keys);
	}

	json_object_set_new(root, "scheme", json_string("LKS1"));
	json_object_set_new(root, "spec", json_string("docs/e2e.md"));
	json_object_set_new(
	    root, "encodings",
	    json_string("*_hex: lower-case hex; *_b64: RFC 4648 base64 with padding; "
			"*_b64url and fragment: base64url without padding; password: the "
			"text as typed (password_hex: its UTF-8), before normalisation"));
	json_object_set_new(root, "vectors", vecs);
	json_object_set_new(root, "invalid", bad);
	json_object_set_new(
	    root, "invalid_expect",
	    json_string("crypto: authentication fails (wrong key or password, altered bytes); "
			"format: refused before or after decryption as malformed; "
			"password_required: the header asks for a password and none was given"));
	json_dumpf(root, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(root);
	free(tmp);
	free(note);
	free(pwenv);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_secret_and_fragment),
	    cmocka_unit_test(test_header_parse),
	    cmocka_unit_test(test_round_trip_sizes),
	    cmocka_unit_test(test_round_trip_fresh_salt_and_iv),
	    cmocka_unit_test(test_round_trip_password),
	    cmocka_unit_test(test_default_iterations),
	    cmocka_unit_test(test_every_flipped_bit_fails),
	    cmocka_unit_test(test_password_flag_bit_flips),
	    cmocka_unit_test(test_truncated_envelopes_fail),
	    cmocka_unit_test(test_huge_iterations_refused_fast),
	    cmocka_unit_test(test_seal_rejects_bad_arguments),
	    cmocka_unit_test(test_json_escaping),
	    cmocka_unit_test(test_password_normalize),
	    cmocka_unit_test(test_normalised_passwords_open),
	    cmocka_unit_test(test_refused_password_opens_as_typed),
	    cmocka_unit_test(test_inner_header_rules),
	    cmocka_unit_test(test_open_keys_header_mismatch),
	    cmocka_unit_test(test_read_proof_and_server_check),
	    cmocka_unit_test(test_check_for_servers),
	    cmocka_unit_test(test_published_vectors),
	};

	if (argc == 2 && strcmp(argv[1], "--seal") == 0)
		return mode_seal();
	if (argc == 2 && strcmp(argv[1], "--open") == 0)
		return mode_open();
	if (argc == 2 && strcmp(argv[1], "--normalize") == 0)
		return mode_normalize();
	if (argc == 2 && strcmp(argv[1], "--make-vectors") == 0)
		return mode_make_vectors();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
