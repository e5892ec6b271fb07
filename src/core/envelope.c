/* The end-to-end envelope of docs/e2e.md with nettle: the public header, the
 * key schedule (PBKDF2 for a password, HKDF for the two keys), AES-256-GCM
 * over "u32 length | JSON header | content", and the read proof a server
 * checks. Key material is wiped before every return. */
#include "linksync/envelope.h"

#include "linksync/error.h"
#include "linksync/id.h"
#include "linksync/item.h"

#include <assert.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <nettle/gcm.h>
#include <nettle/hkdf.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/pbkdf2.h>
#include <stdlib.h>
#include <string.h>

#define KEY_BYTES 32
#define PW_KEY_BYTES 32
#define LEN_BYTES 4 /* the big-endian length of the JSON header */

static const char info_enc[] = "linksync v1 enc";
static const char info_read[] = "linksync v1 read";

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- secret and fragment ---- */

int lks_e2e_secret_new(uint8_t out[LKS_E2E_SECRET_BYTES])
{
	return lks_random(out, LKS_E2E_SECRET_BYTES);
}

void lks_e2e_fragment_encode(char out[LKS_E2E_FRAGMENT_LEN + 1],
			     const uint8_t secret[LKS_E2E_SECRET_BYTES])
{
	lks_base64url_encode(out, secret, LKS_E2E_SECRET_BYTES);
}

int lks_e2e_fragment_decode(uint8_t out[LKS_E2E_SECRET_BYTES], const char *s, size_t len)
{
	size_t n = 0;

	if (s == NULL || len != LKS_E2E_FRAGMENT_LEN)
		return lks_error_set(LKS_EINVAL, "the key in the link must be %d characters",
				     LKS_E2E_FRAGMENT_LEN);
	if (lks_base64url_decode(out, LKS_E2E_SECRET_BYTES, &n, s, len) < 0 ||
	    n != LKS_E2E_SECRET_BYTES)
		return lks_error_set(LKS_EINVAL, "the key in the link is not valid base64url");
	return 0;
}

/* ---- password ---- */

/* The bytes PBKDF2 gets. strict refuses what RFC 8265 OpaqueString refuses
 * (sealing: tell the user now); otherwise such a password is used as typed
 * (opening: a newer Unicode version may know a character ours calls
 * unassigned, and the sealer's bytes must still be found). */
static int password_bytes(char **out, size_t *out_len, const char *password, int strict)
{
	gnutls_datum_t norm = {NULL, 0};
	size_t len = password == NULL ? 0 : strlen(password);
	char *res = NULL;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (len == 0)
		return lks_error_set(LKS_EINVAL, "the password is empty");
	if (len > LKS_ENVELOPE_PASSWORD_MAX)
		return lks_error_set(LKS_EINVAL, "the password is longer than %d bytes",
				     LKS_ENVELOPE_PASSWORD_MAX);
	if (!lks_utf8_valid(password, len))
		return lks_error_set(LKS_EINVAL, "the password is not valid UTF-8");
	/* GnuTLS implements the profile (FreeformClass check, spaces to
	 * U+0020, NFC); with IGNORE_ERRS a refused password comes back as it
	 * was given. web/crypto.js mirrors both. */
	rc = gnutls_utf8_password_normalize((const unsigned char *)password, (unsigned)len, &norm,
					    strict ? 0 : GNUTLS_UTF8_IGNORE_ERRS);
	if (rc == GNUTLS_E_INVALID_UTF8_STRING)
		return lks_error_set(LKS_EINVAL, "the password is not valid UTF-8");
	if (rc == GNUTLS_E_INVALID_PASSWORD_STRING)
		return lks_error_set(LKS_EINVAL, "the password contains a control, invisible or "
						 "unassigned character");
	if (rc == GNUTLS_E_MEMORY_ERROR)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	if (rc < 0)
		return lks_error_set(LKS_EINTERNAL, "password normalisation: %s",
				     gnutls_strerror(rc));
	res = malloc(norm.size + 1);
	if (res == NULL) {
		rc = lks_error_set(LKS_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(res, norm.data, norm.size);
	res[norm.size] = '\0';
	*out = res;
	*out_len = norm.size;
	rc = 0;
out:
	explicit_bzero(norm.data, norm.size);
	gnutls_free(norm.data);
	return rc;
}

int lks_envelope_password_normalize(char **out, size_t *out_len, const char *password)
{
	return password_bytes(out, out_len, password, 1);
}

int lks_envelope_password_for_open(char **out, size_t *out_len, const char *password)
{
	return password_bytes(out, out_len, password, 0);
}

/* ---- public header ---- */

void lks_envelope_header_serialize(uint8_t out[LKS_ENVELOPE_HEADER_BYTES],
				   const lks_envelope_header *h)
{
	uint8_t *p = out;

	memcpy(p, LKS_ENVELOPE_MAGIC, LKS_ENVELOPE_MAGIC_BYTES);
	p += LKS_ENVELOPE_MAGIC_BYTES;
	*p++ = h->flags;
	memcpy(p, h->salt, LKS_ENVELOPE_SALT_BYTES);
	p += LKS_ENVELOPE_SALT_BYTES;
	put_u32(p, h->iterations);
	p += 4;
	memcpy(p, h->iv, LKS_ENVELOPE_IV_BYTES);
}

/* The rules a header must follow, shared by parsing and sealing. */
static int header_validate(const lks_envelope_header *h)
{
	if ((h->flags & ~LKS_ENVELOPE_FLAG_PASSWORD) != 0)
		return lks_error_set(LKS_EINVAL, "unknown envelope flags 0x%02x", h->flags);
	if (!(h->flags & LKS_ENVELOPE_FLAG_PASSWORD)) {
		if (h->iterations != 0)
			return lks_error_set(LKS_EINVAL,
					     "an envelope without a password has 0 iterations");
		return 0;
	}
	if (h->iterations < LKS_ENVELOPE_ITERATIONS_MIN ||
	    h->iterations > LKS_ENVELOPE_ITERATIONS_MAX)
		return lks_error_set(LKS_EINVAL, "%lu PBKDF2 iterations is outside %u..%u",
				     (unsigned long)h->iterations, LKS_ENVELOPE_ITERATIONS_MIN,
				     LKS_ENVELOPE_ITERATIONS_MAX);
	return 0;
}

int lks_envelope_header_parse(lks_envelope_header *out, const void *data, size_t len)
{
	const uint8_t *p = data;
	lks_envelope_header h;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&h, 0, sizeof(h)); /* padding too: callers may memcmp headers */
	if (p == NULL || len < LKS_ENVELOPE_HEADER_BYTES)
		return lks_error_set(LKS_EINVAL, "an envelope header has %d bytes",
				     LKS_ENVELOPE_HEADER_BYTES);
	if (memcmp(p, LKS_ENVELOPE_MAGIC, LKS_ENVELOPE_MAGIC_BYTES) != 0)
		return lks_error_set(LKS_EINVAL, "not a linksync envelope (no \"LKS1\")");
	p += LKS_ENVELOPE_MAGIC_BYTES;
	h.flags = *p++;
	memcpy(h.salt, p, LKS_ENVELOPE_SALT_BYTES);
	p += LKS_ENVELOPE_SALT_BYTES;
	h.iterations = get_u32(p);
	p += 4;
	memcpy(h.iv, p, LKS_ENVELOPE_IV_BYTES);
	rc = header_validate(&h);
	if (rc < 0)
		return rc;
	*out = h;
	return 0;
}

int lks_envelope_check(lks_envelope_header *out, const void *envelope, size_t len)
{
	lks_envelope_header h;
	int rc = lks_envelope_header_parse(&h, envelope, len);

	if (rc < 0)
		return rc;
	if (len < LKS_ENVELOPE_MIN_BYTES)
		return lks_error_set(LKS_EINVAL, "an envelope has at least %d bytes",
				     LKS_ENVELOPE_MIN_BYTES);
	if (len - LKS_ENVELOPE_HEADER_BYTES - LKS_ENVELOPE_TAG_BYTES >
	    LKS_ENVELOPE_CONTENT_MAX + LEN_BYTES + LKS_ENVELOPE_META_MAX)
		return lks_error_set(LKS_EINVAL, "the envelope is larger than any valid one");
	if (out != NULL)
		*out = h;
	return 0;
}

void lks_envelope_header_format(char out[LKS_ENVELOPE_HEADER_LEN + 1], const lks_envelope_header *h)
{
	uint8_t raw[LKS_ENVELOPE_HEADER_BYTES];

	lks_envelope_header_serialize(raw, h);
	lks_base64url_encode(out, raw, sizeof(raw));
}

int lks_envelope_header_from_text(lks_envelope_header *out, const char *s, size_t len)
{
	uint8_t raw[LKS_ENVELOPE_HEADER_BYTES];
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	if (s == NULL || len != LKS_ENVELOPE_HEADER_LEN ||
	    lks_base64url_decode(raw, sizeof(raw), &n, s, len) < 0 || n != sizeof(raw))
		return lks_error_set(LKS_EINVAL, "an envelope header is %d base64url characters",
				     LKS_ENVELOPE_HEADER_LEN);
	return lks_envelope_header_parse(out, raw, n);
}

/* ---- keys ---- */

/* HKDF-SHA256 (RFC 5869) with a 32-byte output. */
static void hkdf_sha256(uint8_t out[KEY_BYTES], const uint8_t *ikm, size_t ikm_len,
			const uint8_t salt[LKS_ENVELOPE_SALT_BYTES], const char *info)
{
	struct hmac_sha256_ctx ctx;
	uint8_t prk[SHA256_DIGEST_SIZE];

	hmac_sha256_set_key(&ctx, LKS_ENVELOPE_SALT_BYTES, salt);
	hkdf_extract(&ctx, (nettle_hash_update_func *)hmac_sha256_update,
		     (nettle_hash_digest_func *)hmac_sha256_digest, SHA256_DIGEST_SIZE, ikm_len,
		     ikm, prk);
	hmac_sha256_set_key(&ctx, sizeof(prk), prk);
	hkdf_expand(&ctx, (nettle_hash_update_func *)hmac_sha256_update,
		    (nettle_hash_digest_func *)hmac_sha256_digest, SHA256_DIGEST_SIZE, strlen(info),
		    (const uint8_t *)info, KEY_BYTES, out);
	explicit_bzero(prk, sizeof(prk));
	explicit_bzero(&ctx, sizeof(ctx));
}

int lks_envelope_keys_derive(lks_envelope_keys *out, const uint8_t secret[LKS_E2E_SECRET_BYTES],
			     const char *password, const lks_envelope_header *header)
{
	uint8_t ikm[LKS_E2E_SECRET_BYTES + PW_KEY_BYTES];
	size_t ikm_len = LKS_E2E_SECRET_BYTES;
	char *pw = NULL;
	size_t pw_len = 0;
	int rc;

	assert(out != NULL && secret != NULL && header != NULL);
	memset(out, 0, sizeof(*out));
	rc = header_validate(header);
	if (rc < 0)
		return rc;
	memcpy(ikm, secret, LKS_E2E_SECRET_BYTES);
	if (header->flags & LKS_ENVELOPE_FLAG_PASSWORD) {
		if (password == NULL || password[0] == '\0') {
			rc = lks_error_set(LKS_EUNAUTHORIZED,
					   "this item is protected by a password");
			goto out;
		}
		rc = lks_envelope_password_for_open(&pw, &pw_len, password);
		if (rc < 0)
			goto out;
		pbkdf2_hmac_sha256(pw_len, (const uint8_t *)pw, header->iterations,
				   LKS_ENVELOPE_SALT_BYTES, header->salt, PW_KEY_BYTES,
				   ikm + LKS_E2E_SECRET_BYTES);
		ikm_len += PW_KEY_BYTES;
	}
	out->header = *header;
	hkdf_sha256(out->enc, ikm, ikm_len, header->salt, info_enc);
	hkdf_sha256(out->read, ikm, ikm_len, header->salt, info_read);
	rc = 0;
out:
	explicit_bzero(ikm, sizeof(ikm));
	if (pw != NULL) {
		explicit_bzero(pw, pw_len);
		free(pw);
	}
	return rc;
}

void lks_envelope_keys_wipe(lks_envelope_keys *keys)
{
	if (keys != NULL)
		explicit_bzero(keys, sizeof(*keys));
}

int lks_envelope_read_proof(uint8_t out[LKS_ENVELOPE_PROOF_BYTES],
			    const uint8_t secret[LKS_E2E_SECRET_BYTES], const char *password,
			    const lks_envelope_header *header)
{
	lks_envelope_keys keys;
	int rc = lks_envelope_keys_derive(&keys, secret, password, header);

	if (rc == 0)
		memcpy(out, keys.read, LKS_ENVELOPE_PROOF_BYTES);
	lks_envelope_keys_wipe(&keys);
	return rc;
}

/* ---- the JSON header inside ---- */

static int type_check(const char *type)
{
	size_t len = type == NULL ? 0 : strlen(type);
	const char *slash;

	if (len == 0 || len > LKS_ENVELOPE_TYPE_MAX)
		return lks_error_set(LKS_EINVAL, "the media type must have 1 to %d bytes",
				     LKS_ENVELOPE_TYPE_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)type[i] < 0x20 || (unsigned char)type[i] > 0x7e)
			return lks_error_set(LKS_EINVAL, "the media type must be printable ASCII");
	slash = strchr(type, '/');
	if (type[0] == ' ' || slash == NULL || slash == type || slash[1] == '\0')
		return lks_error_set(LKS_EINVAL, "'%s' is not a media type", type);
	return 0;
}

static int name_check(const char *name, size_t len)
{
	if (len > LKS_ENVELOPE_NAME_MAX)
		return lks_error_set(LKS_EINVAL, "the file name is longer than %d bytes",
				     LKS_ENVELOPE_NAME_MAX);
	if (!lks_utf8_valid(name, len))
		return lks_error_set(LKS_EINVAL, "the file name is not valid UTF-8");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return lks_error_set(LKS_EINVAL,
					     "the file name contains a control character");
	return 0;
}

/* Appends s as a JSON string. After type_check/name_check only '"' and '\'
 * need escaping, which gives the bytes JSON.stringify gives. */
static size_t put_json_string(char *dst, const char *s)
{
	size_t n = 0;

	dst[n++] = '"';
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			dst[n++] = '\\';
		dst[n++] = *s;
	}
	dst[n++] = '"';
	return n;
}

/* The canonical JSON header: {"type":"…"} or {"type":"…","name":"…"}. */
static int meta_build(char **out, size_t *out_len, const char *type, const char *name)
{
	size_t cap = 32 + 2 * strlen(type) + (name != NULL ? 2 * strlen(name) : 0);
	char *buf = malloc(cap);
	size_t n = 0;

	*out = NULL;
	if (buf == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	memcpy(buf + n, "{\"type\":", 8);
	n += 8;
	n += put_json_string(buf + n, type);
	if (name != NULL) {
		memcpy(buf + n, ",\"name\":", 8);
		n += 8;
		n += put_json_string(buf + n, name);
	}
	buf[n++] = '}';
	assert(n <= cap && n <= LKS_ENVELOPE_META_MAX);
	*out = buf;
	*out_len = n;
	return 0;
}

/* Reads the JSON header of an authenticated plaintext. */
static int meta_parse(char **type, char **name, const uint8_t *json, size_t len)
{
	json_error_t jerr;
	/* jansson refuses "\u0000" in strings unless asked to allow it. */
	json_t *root = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *t, *nm;
	const char *ts, *ns = NULL;
	size_t nlen = 0;
	int rc;

	*type = NULL;
	if (name != NULL)
		*name = NULL;
	if (root == NULL || !json_is_object(root)) {
		rc = lks_error_set(LKS_EINVAL, "the encrypted header is not a JSON object%s%s",
				   root == NULL ? ": " : "", root == NULL ? jerr.text : "");
		goto out;
	}
	t = json_object_get(root, "type");
	if (!json_is_string(t)) {
		rc = lks_error_set(LKS_EINVAL, "the encrypted header has no \"type\"");
		goto out;
	}
	ts = json_string_value(t);
	rc = type_check(ts);
	if (rc < 0)
		goto out;
	nm = json_object_get(root, "name");
	if (nm != NULL && !json_is_null(nm)) {
		if (!json_is_string(nm)) {
			rc = lks_error_set(LKS_EINVAL,
					   "\"name\" in the encrypted header is not a string");
			goto out;
		}
		ns = json_string_value(nm);
		nlen = json_string_length(nm);
		rc = name_check(ns, nlen);
		if (rc < 0)
			goto out;
	}
	*type = strdup(ts);
	if (*type == NULL) {
		rc = lks_error_set(LKS_ENOMEM, "out of memory");
		goto out;
	}
	if (name != NULL && ns != NULL && nlen > 0) {
		*name = strdup(ns);
		if (*name == NULL) {
			free(*type);
			*type = NULL;
			rc = lks_error_set(LKS_ENOMEM, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* ---- seal ---- */

int lks_envelope_seal_explicit(uint8_t **out, size_t *out_len,
			       const uint8_t secret[LKS_E2E_SECRET_BYTES], const char *password,
			       uint32_t iterations, const uint8_t salt[LKS_ENVELOPE_SALT_BYTES],
			       const uint8_t iv[LKS_ENVELOPE_IV_BYTES], const char *type,
			       const char *name, const void *content, size_t len)
{
	lks_envelope_header h;
	lks_envelope_keys keys;
	struct gcm_aes256_ctx gcm;
	char *meta = NULL;
	size_t meta_len = 0, pt_len, total;
	uint8_t *env = NULL, *pt;
	int rc;

	assert(out != NULL && out_len != NULL && secret != NULL && salt != NULL && iv != NULL);
	*out = NULL;
	*out_len = 0;
	memset(&keys, 0, sizeof(keys));
	if (name != NULL && name[0] == '\0')
		name = NULL;
	rc = type_check(type);
	if (rc < 0)
		return rc;
	if (name != NULL) {
		rc = name_check(name, strlen(name));
		if (rc < 0)
			return rc;
	}
	if (len > LKS_ENVELOPE_CONTENT_MAX)
		return lks_error_set(LKS_ETOOBIG, "an envelope holds at most %zu bytes",
				     LKS_ENVELOPE_CONTENT_MAX);
	if (content == NULL && len > 0)
		return lks_error_set(LKS_EINVAL, "no content");
	if (password != NULL) {
		/* Only passwords every reader derives alike are sealed. */
		char *pw = NULL;
		size_t pw_len = 0;
		rc = lks_envelope_password_normalize(&pw, &pw_len, password);
		if (rc < 0)
			return rc;
		explicit_bzero(pw, pw_len);
		free(pw);
	}

	memset(&h, 0, sizeof(h));
	if (password != NULL) {
		h.flags = LKS_ENVELOPE_FLAG_PASSWORD;
		h.iterations = iterations == 0 ? LKS_ENVELOPE_ITERATIONS_DEFAULT : iterations;
	}
	memcpy(h.salt, salt, LKS_ENVELOPE_SALT_BYTES);
	memcpy(h.iv, iv, LKS_ENVELOPE_IV_BYTES);
	rc = lks_envelope_keys_derive(&keys, secret, password, &h);
	if (rc < 0)
		goto out;
	rc = meta_build(&meta, &meta_len, type, name);
	if (rc < 0)
		goto out;

	pt_len = LEN_BYTES + meta_len + len;
	total = LKS_ENVELOPE_HEADER_BYTES + pt_len + LKS_ENVELOPE_TAG_BYTES;
	env = malloc(total);
	if (env == NULL) {
		rc = lks_error_set(LKS_ENOMEM, "out of memory");
		goto out;
	}
	lks_envelope_header_serialize(env, &h);
	pt = env + LKS_ENVELOPE_HEADER_BYTES;
	put_u32(pt, (uint32_t)meta_len);
	memcpy(pt + LEN_BYTES, meta, meta_len);
	if (len > 0)
		memcpy(pt + LEN_BYTES + meta_len, content, len);

	/* Encrypt in place; the header is the associated data. */
	gcm_aes256_set_key(&gcm, keys.enc);
	gcm_aes256_set_iv(&gcm, LKS_ENVELOPE_IV_BYTES, h.iv);
	gcm_aes256_update(&gcm, LKS_ENVELOPE_HEADER_BYTES, env);
	gcm_aes256_encrypt(&gcm, pt_len, pt, pt);
	gcm_aes256_digest(&gcm, LKS_ENVELOPE_TAG_BYTES, pt + pt_len);
	explicit_bzero(&gcm, sizeof(gcm));

	*out = env;
	*out_len = total;
	env = NULL;
	rc = 0;
out:
	lks_envelope_keys_wipe(&keys);
	free(meta);
	free(env);
	return rc;
}

int lks_envelope_seal(uint8_t **out, size_t *out_len, const uint8_t secret[LKS_E2E_SECRET_BYTES],
		      const char *password, uint32_t iterations, const char *type, const char *name,
		      const void *content, size_t len)
{
	uint8_t rnd[LKS_ENVELOPE_SALT_BYTES + LKS_ENVELOPE_IV_BYTES];
	int rc = lks_random(rnd, sizeof(rnd));

	if (rc < 0) {
		*out = NULL;
		*out_len = 0;
		return rc;
	}
	return lks_envelope_seal_explicit(out, out_len, secret, password, iterations, rnd,
					  rnd + LKS_ENVELOPE_SALT_BYTES, type, name, content, len);
}

/* ---- open ---- */

int lks_envelope_open_keys(char **type, char **name, uint8_t **content, size_t *content_len,
			   const lks_envelope_keys *keys, const void *envelope, size_t len)
{
	const uint8_t *env = envelope;
	uint8_t raw[LKS_ENVELOPE_HEADER_BYTES], tag[LKS_ENVELOPE_TAG_BYTES];
	struct gcm_aes256_ctx gcm;
	uint8_t *pt = NULL;
	size_t pt_len, body;
	uint32_t meta_len;
	char *t = NULL, *n = NULL;
	int rc;

	assert(type != NULL && content != NULL && content_len != NULL && keys != NULL);
	*type = NULL;
	if (name != NULL)
		*name = NULL;
	*content = NULL;
	*content_len = 0;
	rc = lks_envelope_check(NULL, env, len);
	if (rc < 0)
		return rc;
	lks_envelope_header_serialize(raw, &keys->header);
	if (memcmp(raw, env, LKS_ENVELOPE_HEADER_BYTES) != 0)
		return lks_error_set(LKS_ECRYPTO, "the envelope's header is not the one the keys "
						  "were derived for (was the item updated?)");

	pt_len = len - LKS_ENVELOPE_HEADER_BYTES - LKS_ENVELOPE_TAG_BYTES;
	pt = malloc(pt_len + 1);
	if (pt == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	gcm_aes256_set_key(&gcm, keys->enc);
	gcm_aes256_set_iv(&gcm, LKS_ENVELOPE_IV_BYTES, keys->header.iv);
	gcm_aes256_update(&gcm, LKS_ENVELOPE_HEADER_BYTES, env);
	gcm_aes256_decrypt(&gcm, pt_len, pt, env + LKS_ENVELOPE_HEADER_BYTES);
	gcm_aes256_digest(&gcm, sizeof(tag), tag);
	explicit_bzero(&gcm, sizeof(gcm));
	if (!memeql_sec(tag, env + len - LKS_ENVELOPE_TAG_BYTES, sizeof(tag))) {
		rc = lks_error_set(LKS_ECRYPTO, "cannot decrypt: the key or the password is "
						"wrong, or the item was altered");
		goto fail;
	}

	/* Authentic from here on: what remains is the sealer's own format. */
	meta_len = get_u32(pt);
	if (meta_len > LKS_ENVELOPE_META_MAX || meta_len > pt_len - LEN_BYTES) {
		rc = lks_error_set(LKS_EINVAL, "the encrypted header's length is out of range");
		goto fail;
	}
	rc = meta_parse(&t, name != NULL ? &n : NULL, pt + LEN_BYTES, meta_len);
	if (rc < 0)
		goto fail;
	body = pt_len - LEN_BYTES - meta_len;
	memmove(pt, pt + LEN_BYTES + meta_len, body);
	explicit_bzero(pt + body, pt_len - body);
	pt[body] = '\0';
	if (body < pt_len) {
		uint8_t *shrunk = realloc(pt, body + 1);
		if (shrunk != NULL)
			pt = shrunk;
	}
	*type = t;
	if (name != NULL)
		*name = n;
	*content = pt;
	*content_len = body;
	return 0;
fail:
	explicit_bzero(pt, pt_len);
	free(pt);
	free(t);
	free(n);
	return rc;
}

int lks_envelope_open(char **type, char **name, uint8_t **content, size_t *content_len,
		      const uint8_t secret[LKS_E2E_SECRET_BYTES], const char *password,
		      const void *envelope, size_t len)
{
	lks_envelope_header h;
	lks_envelope_keys keys;
	int rc;

	*type = NULL;
	if (name != NULL)
		*name = NULL;
	*content = NULL;
	*content_len = 0;
	rc = lks_envelope_check(&h, envelope, len);
	if (rc < 0)
		return rc;
	rc = lks_envelope_keys_derive(&keys, secret, password, &h);
	if (rc == 0)
		rc = lks_envelope_open_keys(type, name, content, content_len, &keys, envelope, len);
	lks_envelope_keys_wipe(&keys);
	return rc;
}

/* ---- the server's side of the read proof ---- */

void lks_envelope_proof_hash(uint8_t out[32], const uint8_t proof[LKS_ENVELOPE_PROOF_BYTES])
{
	lks_sha256(out, proof, LKS_ENVELOPE_PROOF_BYTES);
}

int lks_envelope_proof_hash_text(uint8_t out[32], const char *text, size_t len)
{
	uint8_t proof[LKS_ENVELOPE_PROOF_BYTES];
	size_t n = 0;

	if (text == NULL || len != LKS_ENVELOPE_PROOF_LEN ||
	    lks_base64url_decode(proof, sizeof(proof), &n, text, len) < 0 || n != sizeof(proof))
		return lks_error_set(LKS_EINVAL, "%s must be %d base64url characters",
				     LKS_ENVELOPE_READ_HEADER, LKS_ENVELOPE_PROOF_LEN);
	lks_envelope_proof_hash(out, proof);
	return 0;
}

int lks_envelope_proof_check(const uint8_t stored_hash[32], const char *text, size_t len)
{
	uint8_t hash[32];

	if (text == NULL || len == 0)
		return lks_error_set(LKS_EUNAUTHORIZED,
				     "this item is end-to-end encrypted: open its full link");
	if (lks_envelope_proof_hash_text(hash, text, len) < 0 || !lks_hash_equal(hash, stored_hash))
		return lks_error_set(LKS_EFORBIDDEN,
				     "the key or the password in this request is wrong");
	return 0;
}
