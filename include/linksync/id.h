/* Item ids and owner tokens: random values from the kernel's CSPRNG, their
 * text forms (ids in RFC 4648 base32, tokens in base64url) and the hash under
 * which a token is stored. */
#ifndef LINKSYNC_ID_H
#define LINKSYNC_ID_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LKS_ID_BYTES 16    /* 128 bits */
#define LKS_ID_LEN 26      /* base32, lower case, no padding */
#define LKS_TOKEN_BYTES 32 /* 256 bits */
#define LKS_TOKEN_LEN 43   /* base64url, no padding */
#define LKS_HASH_BYTES 32  /* SHA-256 */

/* Fills buf with len bytes from getrandom(2). Returns 0 or LKS_EIO. */
int lks_random(void *buf, size_t len);

/* Writes a new random id into out (LKS_ID_LEN characters and a NUL).
 * Returns 0 or LKS_EIO. */
int lks_id_new(char out[LKS_ID_LEN + 1]);

/* Checks that s[0..len) is an id in any letter case and writes its canonical
 * lower-case form into out. Returns 0 or LKS_EINVAL (wrong length, a character
 * outside the alphabet, or non-zero padding bits: every id has one spelling). */
int lks_id_parse(char out[LKS_ID_LEN + 1], const char *s, size_t len);

/* Writes a new random owner token into out (LKS_TOKEN_LEN characters and a
 * NUL). Returns 0 or LKS_EIO. */
int lks_token_new(char out[LKS_TOKEN_LEN + 1]);

/* SHA-256 of the token's text, the only form in which a server keeps it. */
void lks_token_hash(uint8_t out[LKS_HASH_BYTES], const char *token, size_t len);

/* Compares two hashes in time independent of their contents: 1 when equal. */
int lks_hash_equal(const uint8_t a[LKS_HASH_BYTES], const uint8_t b[LKS_HASH_BYTES]);

/* SHA-256 of arbitrary bytes. */
void lks_sha256(uint8_t out[LKS_HASH_BYTES], const void *data, size_t len);

/* RFC 4648 base32 of in[0..len), lower case, no padding, NUL-terminated.
 * out must hold (len * 8 + 4) / 5 + 1 bytes. */
void lks_base32_encode(char *out, const uint8_t *in, size_t len);

/* RFC 4648 base64url of in[0..len), no padding, NUL-terminated.
 * out must hold (len * 4 + 2) / 3 + 1 bytes. */
void lks_base64url_encode(char *out, const uint8_t *in, size_t len);

/* Decodes unpadded base64url text into out (room for outcap bytes); *out_len
 * gets the byte count. Returns 0 or LKS_EINVAL. */
int lks_base64url_decode(uint8_t *out, size_t outcap, size_t *out_len, const char *in, size_t len);

#ifdef __cplusplus
}
#endif
#endif
