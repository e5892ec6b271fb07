/* Fuzzes what a reader and a server parse of an envelope: arbitrary bytes as
 * an envelope (header parse, server check, open with a fixed key), as the
 * texts of the metadata endpoint, X-Linksync-Read and a fragment, and as a
 * password; and arbitrary bytes as the plaintext of an authentic envelope, so
 * the inner JSON header is reached past the tag check. The first input byte
 * chooses the target. */
#include "linksync/envelope.h"
#include "linksync/error.h"

#include <nettle/gcm.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t secret[LKS_E2E_SECRET_BYTES] = "fuzzing secret!";

static void open_bytes(const uint8_t *data, size_t len)
{
	lks_envelope_header h;
	char *type = NULL, *name = NULL;
	uint8_t *content = NULL;
	size_t clen = 0;
	int rc;

	if (lks_envelope_header_parse(&h, data, len) == 0) {
		char text[LKS_ENVELOPE_HEADER_LEN + 1];
		lks_envelope_header back;
		lks_envelope_header_format(text, &h);
		if (lks_envelope_header_from_text(&back, text, strlen(text)) != 0 ||
		    back.flags != h.flags || back.iterations != h.iterations ||
		    memcmp(back.salt, h.salt, sizeof(h.salt)) != 0 ||
		    memcmp(back.iv, h.iv, sizeof(h.iv)) != 0)
			abort();
	}
	(void)lks_envelope_check(NULL, data, len);
	/* No password: a password-flagged header stops before PBKDF2. */
	rc = lks_envelope_open(&type, &name, &content, &clen, secret, NULL, data, len);
	if (rc == 0 && (type == NULL || content == NULL))
		abort();
	free(type);
	free(name);
	free(content);
}

static void texts(const uint8_t *data, size_t len)
{
	const char *s = (const char *)data;
	lks_envelope_header h;
	uint8_t out[LKS_E2E_SECRET_BYTES], hash[32] = {0};
	char *pw = memchr(data, 0, len) == NULL ? malloc(len + 1) : NULL;
	size_t pw_len = 0;

	(void)lks_envelope_header_from_text(&h, s, len);
	(void)lks_e2e_fragment_decode(out, s, len);
	(void)lks_envelope_proof_check(hash, s, len);
	if (pw != NULL) {
		char *norm = NULL;
		memcpy(pw, data, len);
		pw[len] = '\0';
		if (lks_envelope_password_normalize(&norm, &pw_len, pw) == 0 &&
		    norm[pw_len] != '\0')
			abort();
		free(norm);
		if (lks_envelope_password_for_open(&norm, &pw_len, pw) == 0 && norm[pw_len] != '\0')
			abort();
		free(norm);
		free(pw);
	}
}

/* Seals data as the plaintext under fixed keys; opening must get past the
 * tag, and whatever opens must seal and open again to the same item. */
static void inside(const uint8_t *data, size_t len)
{
	static lks_envelope_keys keys;
	static int ready;
	struct gcm_aes256_ctx gcm;
	size_t total = LKS_ENVELOPE_HEADER_BYTES + len + LKS_ENVELOPE_TAG_BYTES;
	uint8_t *env = malloc(total), *content = NULL;
	char *type = NULL, *name = NULL;
	size_t clen = 0;
	int rc;

	if (!ready) {
		lks_envelope_header h;
		memset(&h, 0, sizeof(h));
		if (lks_envelope_keys_derive(&keys, secret, NULL, &h) != 0)
			abort();
		ready = 1;
	}
	if (env == NULL)
		return;
	lks_envelope_header_serialize(env, &keys.header);
	gcm_aes256_set_key(&gcm, keys.enc);
	gcm_aes256_set_iv(&gcm, LKS_ENVELOPE_IV_BYTES, keys.header.iv);
	gcm_aes256_update(&gcm, LKS_ENVELOPE_HEADER_BYTES, env);
	gcm_aes256_encrypt(&gcm, len, env + LKS_ENVELOPE_HEADER_BYTES, data);
	gcm_aes256_digest(&gcm, LKS_ENVELOPE_TAG_BYTES, env + total - LKS_ENVELOPE_TAG_BYTES);
	rc = lks_envelope_open_keys(&type, &name, &content, &clen, &keys, env, total);
	if (rc == LKS_ECRYPTO)
		abort();
	if (rc == 0) {
		uint8_t *again = NULL, *c2 = NULL;
		size_t alen = 0, c2len = 0;
		char *t2 = NULL, *n2 = NULL;
		if (lks_envelope_seal_explicit(&again, &alen, secret, NULL, 0, keys.header.salt,
					       keys.header.iv, type, name, content, clen) != 0 ||
		    lks_envelope_open(&t2, &n2, &c2, &c2len, secret, NULL, again, alen) != 0 ||
		    strcmp(t2, type) != 0 || (name == NULL) != (n2 == NULL) ||
		    (name != NULL && strcmp(name, n2) != 0) || c2len != clen ||
		    memcmp(c2, content, clen) != 0)
			abort();
		free(again);
		free(c2);
		free(t2);
		free(n2);
	}
	free(type);
	free(name);
	free(content);
	free(env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		open_bytes(data + 1, size - 1);
		break;
	case 1:
		texts(data + 1, size - 1);
		break;
	default:
		inside(data + 1, size - 1);
		break;
	}
	lks_error_clear();
	return 0;
}
