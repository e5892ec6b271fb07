/* Random ids and tokens, base32/base64url text forms, token hashing. */
#include "linksync/id.h"

#include "linksync/error.h"

#include <errno.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>
#include <string.h>
#include <sys/random.h>

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int lks_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return lks_error_set(LKS_EIO, "getrandom: %s", strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes in[0..len) as groups of bits (5 for base32, 6 for base64url) from
 * alphabet, the last group padded with zero bits, no '=' padding. */
static void encode_bits(char *out, const uint8_t *in, size_t len, const char *alphabet, int bits)
{
	uint32_t acc = 0, mask = (1u << bits) - 1;
	int have = 0;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		have += 8;
		while (have >= bits) {
			out[o++] = alphabet[(acc >> (have - bits)) & mask];
			have -= bits;
		}
	}
	if (have > 0)
		out[o++] = alphabet[(acc << (bits - have)) & mask];
	out[o] = '\0';
}

void lks_base32_encode(char *out, const uint8_t *in, size_t len)
{
	encode_bits(out, in, len, b32, 5);
}

void lks_base64url_encode(char *out, const uint8_t *in, size_t len)
{
	encode_bits(out, in, len, b64u, 6);
}

static int b64u_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int lks_base64url_decode(uint8_t *out, size_t outcap, size_t *out_len, const char *in, size_t len)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (len % 4 == 1)
		return lks_error_set(LKS_EINVAL, "base64url text has an impossible length");
	for (size_t i = 0; i < len; i++) {
		int v = b64u_value(in[i]);
		if (v < 0)
			return lks_error_set(LKS_EINVAL, "'%c' is not a base64url character", in[i]);
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			if (o >= outcap)
				return lks_error_set(LKS_EINVAL, "base64url text is too long");
			out[o++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return lks_error_set(LKS_EINVAL, "base64url text has stray trailing bits");
	*out_len = o;
	return 0;
}

int lks_id_new(char out[LKS_ID_LEN + 1])
{
	uint8_t raw[LKS_ID_BYTES];
	int rc = lks_random(raw, sizeof(raw));

	if (rc < 0)
		return rc;
	lks_base32_encode(out, raw, sizeof(raw));
	return 0;
}

int lks_id_parse(char out[LKS_ID_LEN + 1], const char *s, size_t len)
{
	int last = 0;

	if (s == NULL || len != LKS_ID_LEN)
		return lks_error_set(LKS_EINVAL, "an id has %d characters", LKS_ID_LEN);
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c >= 'a' && c <= 'z')
			last = c - 'a';
		else if (c >= '2' && c <= '7')
			last = c - '2' + 26;
		else
			return lks_error_set(LKS_EINVAL, "'%c' cannot appear in an id", s[i]);
		out[i] = c;
	}
	/* 26 characters carry 130 bits for 128: the last two must be zero. */
	if ((last & 3) != 0)
		return lks_error_set(LKS_EINVAL, "not a canonical id");
	out[LKS_ID_LEN] = '\0';
	return 0;
}

int lks_token_new(char out[LKS_TOKEN_LEN + 1])
{
	uint8_t raw[LKS_TOKEN_BYTES];
	int rc = lks_random(raw, sizeof(raw));

	if (rc < 0)
		return rc;
	lks_base64url_encode(out, raw, sizeof(raw));
	return 0;
}

void lks_sha256(uint8_t out[LKS_HASH_BYTES], const void *data, size_t len)
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, len, data);
	sha256_digest(&ctx, LKS_HASH_BYTES, out);
}

void lks_token_hash(uint8_t out[LKS_HASH_BYTES], const char *token, size_t len)
{
	lks_sha256(out, token, len);
}

int lks_hash_equal(const uint8_t a[LKS_HASH_BYTES], const uint8_t b[LKS_HASH_BYTES])
{
	return memeql_sec(a, b, LKS_HASH_BYTES);
}
