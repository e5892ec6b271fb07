/* End-to-end encryption: the secret that travels in a link's #fragment, the
 * envelope the server stores without being able to read it (a public header,
 * then AES-256-GCM over a small JSON header and the content), and the read
 * proof by which a reader shows the server that it holds the key. The byte
 * layout is specified in docs/e2e.md; web/crypto.js is the browser twin and
 * docs/e2e-vectors.json holds the vectors both sides are tested on. */
#ifndef LINKSYNC_ENVELOPE_H
#define LINKSYNC_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LKS_E2E_SECRET_BYTES 16 /* S */
#define LKS_E2E_FRAGMENT_LEN 22 /* base64url(S), no padding */

#define LKS_ENVELOPE_MAGIC "LKS1"
#define LKS_ENVELOPE_MAGIC_BYTES 4
#define LKS_ENVELOPE_FLAG_PASSWORD 0x01u
#define LKS_ENVELOPE_SALT_BYTES 16
#define LKS_ENVELOPE_IV_BYTES 12
#define LKS_ENVELOPE_HEADER_BYTES 37 /* magic, flags, salt, iterations, IV */
#define LKS_ENVELOPE_HEADER_LEN 50   /* the header in base64url */
#define LKS_ENVELOPE_TAG_BYTES 16
/* Header, the 4-byte length of the JSON header, the shortest JSON header
 * ({"type":"a/b"}), the tag: no valid envelope is shorter. */
#define LKS_ENVELOPE_MIN_BYTES (LKS_ENVELOPE_HEADER_BYTES + 4 + 14 + LKS_ENVELOPE_TAG_BYTES)

#define LKS_ENVELOPE_PROOF_BYTES 32 /* k_read */
#define LKS_ENVELOPE_PROOF_LEN 43   /* base64url(k_read): X-Linksync-Read */
#define LKS_ENVELOPE_READ_HEADER "X-Linksync-Read"
/* The Content-Type under which an envelope is pushed and served. */
#define LKS_ENVELOPE_MEDIA_TYPE "application/vnd.linksync.envelope"

/* PBKDF2-SHA256 iterations: OWASP's 2023 advice by default; readers refuse
 * counts outside [MIN, MAX] so a forged header cannot stall them. */
#define LKS_ENVELOPE_ITERATIONS_DEFAULT 600000u
#define LKS_ENVELOPE_ITERATIONS_MIN 1000u
#define LKS_ENVELOPE_ITERATIONS_MAX 5000000u

#define LKS_ENVELOPE_PASSWORD_MAX 1024 /* bytes of UTF-8, before normalisation */
#define LKS_ENVELOPE_TYPE_MAX 127      /* bytes, as LKS_TYPE_MAX */
#define LKS_ENVELOPE_NAME_MAX 255      /* bytes of UTF-8, as LKS_NAME_MAX */
#define LKS_ENVELOPE_META_MAX 4096     /* bytes of the JSON header */
#define LKS_ENVELOPE_CONTENT_MAX ((size_t)1 << 30)

/* The public header: not secret, it is the AES-GCM associated data, the
 * server hands it out, and a reader needs it to derive its read proof. */
typedef struct lks_envelope_header {
	uint8_t flags; /* LKS_ENVELOPE_FLAG_PASSWORD or 0 */
	uint8_t salt[LKS_ENVELOPE_SALT_BYTES];
	uint32_t iterations; /* 0 without a password */
	uint8_t iv[LKS_ENVELOPE_IV_BYTES];
} lks_envelope_header;

/* Fills out with a new random secret from the kernel's CSPRNG. Returns 0 or
 * LKS_EIO. */
int lks_e2e_secret_new(uint8_t out[LKS_E2E_SECRET_BYTES]);

/* Writes base64url(secret) into out: LKS_E2E_FRAGMENT_LEN characters and a
 * NUL, what follows '#' in the link. */
void lks_e2e_fragment_encode(char out[LKS_E2E_FRAGMENT_LEN + 1],
			     const uint8_t secret[LKS_E2E_SECRET_BYTES]);

/* Decodes a fragment (without its '#') into out. Only the canonical
 * spelling is accepted: exactly 22 base64url characters whose last one
 * carries no stray bits. Returns 0 or LKS_EINVAL. */
int lks_e2e_fragment_decode(uint8_t out[LKS_E2E_SECRET_BYTES], const char *s, size_t len);

/* Applies the password rule of docs/e2e.md (RFC 8265 OpaqueString: every
 * Unicode space becomes U+0020, then NFC; controls, ignorable and unassigned
 * code points refused) and writes the bytes PBKDF2 uses into *out (caller
 * frees with free; NUL-terminated, *out_len bytes before the NUL). Sealing
 * applies it as is; opening uses a refused password's UTF-8 as typed, since a
 * sealer with a newer Unicode table may have accepted it. Returns 0,
 * LKS_EINVAL (empty, longer than LKS_ENVELOPE_PASSWORD_MAX, not UTF-8, or a
 * refused character) or LKS_ENOMEM. */
int lks_envelope_password_normalize(char **out, size_t *out_len, const char *password);

/* What opening derives from: the result of lks_envelope_password_normalize,
 * or the password's UTF-8 as typed when that refuses it. Same contract,
 * without the refusals. */
int lks_envelope_password_for_open(char **out, size_t *out_len, const char *password);

/* Encrypts content[0..len) with its media type and optional file name into a
 * new envelope *out of *out_len bytes (caller frees with free). password NULL
 * seals with the secret alone; otherwise the reader needs both. iterations 0
 * means LKS_ENVELOPE_ITERATIONS_DEFAULT and is ignored without a password.
 * type: 1..LKS_ENVELOPE_TYPE_MAX printable ASCII bytes with a '/'; name: NULL
 * or "" for none, else valid UTF-8 without control characters, at most
 * LKS_ENVELOPE_NAME_MAX bytes. The salt and IV are fresh random bytes.
 * Returns 0, LKS_EINVAL (a bad argument; the message says which), LKS_ETOOBIG
 * (len above LKS_ENVELOPE_CONTENT_MAX), LKS_EIO (no random bytes) or
 * LKS_ENOMEM. */
int lks_envelope_seal(uint8_t **out, size_t *out_len, const uint8_t secret[LKS_E2E_SECRET_BYTES],
		      const char *password, uint32_t iterations, const char *type, const char *name,
		      const void *content, size_t len);

/* lks_envelope_seal with a caller-chosen salt and IV, for test vectors only:
 * reusing a (secret, salt) pair with another IV or content loses the
 * guarantees of the scheme. Same contract and codes otherwise. */
int lks_envelope_seal_explicit(uint8_t **out, size_t *out_len,
			       const uint8_t secret[LKS_E2E_SECRET_BYTES], const char *password,
			       uint32_t iterations, const uint8_t salt[LKS_ENVELOPE_SALT_BYTES],
			       const uint8_t iv[LKS_ENVELOPE_IV_BYTES], const char *type,
			       const char *name, const void *content, size_t len);

/* Decrypts envelope[0..len). On success *type and *content (of *content_len
 * bytes, with a NUL after them for convenience) are new strings the caller
 * frees, and *name is a new string or NULL when the item has no file name.
 * name may be NULL when the caller does not want it. A password given for an
 * envelope sealed without one is ignored. On failure every output is NULL/0.
 * Returns 0, LKS_EINVAL (not an envelope, a truncated header, iterations out
 * of range, a password that is not UTF-8, or a malformed inner header),
 * LKS_EUNAUTHORIZED (the envelope needs a password and none was given),
 * LKS_ECRYPTO (wrong secret or password, or the envelope was altered: GCM
 * cannot tell these apart) or LKS_ENOMEM. */
int lks_envelope_open(char **type, char **name, uint8_t **content, size_t *content_len,
		      const uint8_t secret[LKS_E2E_SECRET_BYTES], const char *password,
		      const void *envelope, size_t len);

/* Parses the first LKS_ENVELOPE_HEADER_BYTES of data[0..len) into *out
 * (bytes after the header are not looked at). Returns 0 or LKS_EINVAL (too
 * short, wrong magic, unknown flags, or iterations that do not fit the
 * flags: 0 without a password, MIN..MAX with one). */
int lks_envelope_header_parse(lks_envelope_header *out, const void *data, size_t len);

/* Checks what a server can check of an envelope it is asked to store: a
 * valid header and a length no valid envelope is below. *out (may be NULL)
 * gets the header. Returns 0 or LKS_EINVAL. */
int lks_envelope_check(lks_envelope_header *out, const void *envelope, size_t len);

/* The header's LKS_ENVELOPE_HEADER_BYTES bytes. */
void lks_envelope_header_serialize(uint8_t out[LKS_ENVELOPE_HEADER_BYTES],
				   const lks_envelope_header *header);

/* The header in base64url (LKS_ENVELOPE_HEADER_LEN characters and a NUL),
 * as the metadata endpoint gives it out. */
void lks_envelope_header_format(char out[LKS_ENVELOPE_HEADER_LEN + 1],
				const lks_envelope_header *header);

/* Parses the base64url text of a header (the metadata endpoint's
 * "envelope_header"). Returns 0 or LKS_EINVAL. */
int lks_envelope_header_from_text(lks_envelope_header *out, const char *s, size_t len);

/* The two keys of one envelope, derived once: a reader needs k_read to
 * fetch the envelope and k_enc to open it, and with a password each
 * derivation costs a full PBKDF2 run. Wipe with lks_envelope_keys_wipe. */
typedef struct lks_envelope_keys {
	lks_envelope_header header;		/* the header they were derived for */
	uint8_t enc[32];			/* k_enc: the AES-256-GCM key */
	uint8_t read[LKS_ENVELOPE_PROOF_BYTES]; /* k_read: the read proof */
} lks_envelope_keys;

/* Derives both keys of an envelope with this header into *out (the password
 * as lks_envelope_password_normalize has it, or as typed when that refuses
 * it). Returns 0, LKS_EUNAUTHORIZED (the header needs a password and
 * password is NULL or ""), LKS_EINVAL (a password that is not UTF-8 or too
 * long, or an invalid header) or LKS_ENOMEM. A password given for a header
 * without the password flag is ignored. */
int lks_envelope_keys_derive(lks_envelope_keys *out, const uint8_t secret[LKS_E2E_SECRET_BYTES],
			     const char *password, const lks_envelope_header *header);

/* Overwrites the keys with zeros (in a way the compiler keeps). */
void lks_envelope_keys_wipe(lks_envelope_keys *keys);

/* lks_envelope_open with keys derived beforehand. An envelope whose header
 * differs from keys->header (the item was updated in between) fails with
 * LKS_ECRYPTO and says so. Same outputs and codes otherwise, without
 * LKS_EUNAUTHORIZED. */
int lks_envelope_open_keys(char **type, char **name, uint8_t **content, size_t *content_len,
			   const lks_envelope_keys *keys, const void *envelope, size_t len);

/* Derives k_read, the reader's proof for this header, into out; send it
 * base64url-encoded as X-Linksync-Read. Returns 0, LKS_EUNAUTHORIZED (the
 * header needs a password and password is NULL or ""), LKS_EINVAL (as for
 * lks_envelope_keys_derive) or LKS_ENOMEM. */
int lks_envelope_read_proof(uint8_t out[LKS_ENVELOPE_PROOF_BYTES],
			    const uint8_t secret[LKS_E2E_SECRET_BYTES], const char *password,
			    const lks_envelope_header *header);

/* SHA-256 of a proof: the only form in which a server keeps it. */
void lks_envelope_proof_hash(uint8_t out[32], const uint8_t proof[LKS_ENVELOPE_PROOF_BYTES]);

/* Decodes the text of an X-Linksync-Read header (LKS_ENVELOPE_PROOF_LEN
 * base64url characters) and writes the SHA-256 of the proof into out: what a
 * server stores when an envelope is pushed. Returns 0 or LKS_EINVAL. */
int lks_envelope_proof_hash_text(uint8_t out[32], const char *text, size_t len);

/* Checks the text of an X-Linksync-Read header against the stored hash, in
 * time independent of the hash. Returns 0 (the reader holds the key),
 * LKS_EUNAUTHORIZED (text NULL or empty: ask for a proof) or LKS_EFORBIDDEN
 * (malformed or wrong: refuse without giving out the envelope). */
int lks_envelope_proof_check(const uint8_t stored_hash[32], const char *text, size_t len);

#ifdef __cplusplus
}
#endif
#endif
