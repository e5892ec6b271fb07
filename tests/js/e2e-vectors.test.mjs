// docs/e2e-vectors.json in web/crypto.js, once with WebCrypto and once with
// the noble fallback (no crypto.subtle, as on a plain-HTTP page): every
// vector seals to its exact bytes, opens, and gives its read proof; every
// invalid envelope fails the way the vectors say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, fromB64, fromHex, hex, loadCrypto, vectors } from './lib.mjs';

const EXPECT = { crypto: 'ECRYPTO', format: 'EINVAL', password_required: 'EPASSWORD' };

test('the vectors file covers what docs/e2e.md promises', () => {
  assert.equal(vectors.scheme, 'LKS1');
  const ids = vectors.vectors.map((v) => v.id);
  const sizes = vectors.vectors.map((v) => v.content_len);
  assert.ok(sizes.includes(0) && sizes.includes(102400), 'an empty and a 100 KiB content');
  assert.ok(vectors.vectors.some((v) => v.password && v.iterations === 1000));
  assert.ok(vectors.vectors.some((v) => v.password && v.iterations === 600000));
  assert.ok(vectors.vectors.some((v) => v.name && /[^\x00-\x7f]/.test(v.name)), 'a UTF-8 name');
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(vectors.invalid.length >= 10);
});

for (const mode of ['webcrypto', 'fallback']) {
  const { api: C } = loadCrypto(mode);

  test(`${mode}: the backend in use`, async () => {
    assert.equal(await C.backendName(), mode === 'webcrypto' ? 'webcrypto' : 'noble');
  });

  for (const v of vectors.vectors) {
    test(`${mode}: vector ${v.id}`, async () => {
      const secret = fromHex(v.secret_hex);
      const content = fromB64(v.content_b64);
      assert.equal(C.encodeFragment(secret), v.fragment);
      assert.equal(hex(C.decodeFragment(v.fragment)), v.secret_hex);
      if (v.password !== null) {
        assert.equal(Buffer.from(v.password, 'utf8').toString('hex'), v.password_hex);
        assert.equal(hex(C.passwordForOpen(v.password)), v.password_normalized_hex);
      }
      if (v.seal_refuses) {
        assert.throws(() => C.normalizePassword(v.password), { code: 'EINVAL' });
        await assert.rejects(
          C.seal({ secret, password: v.password, iterations: v.iterations, type: v.type, name: v.name, content }),
          { code: 'EINVAL' },
        );
      } else {
        if (v.password !== null) assert.equal(hex(C.normalizePassword(v.password)), v.password_normalized_hex);
        const env = await C.seal({
          secret, password: v.password, iterations: v.iterations, type: v.type, name: v.name,
          content, salt: fromHex(v.salt_hex), iv: fromHex(v.iv_hex),
        });
        assert.equal(env.length, v.envelope_len);
        assert.equal(b64(env), v.envelope_b64);
      }

      const envelope = fromB64(v.envelope_b64);
      const header = C.parseHeader(envelope);
      assert.equal(C.headerToText(header), v.header_b64url);
      assert.equal(C.headerFromText(v.header_b64url).iterations, v.iterations);
      assert.equal(header.password, v.password !== null);
      assert.equal(hex(header.salt), v.salt_hex);
      assert.equal(hex(header.iv), v.iv_hex);

      const keys = await C.deriveKeys({ secret, password: v.password, header });
      assert.equal(hex(keys.kEnc), v.k_enc_hex);
      assert.equal(keys.readProof, v.read_proof_b64url);
      assert.equal(await C.proofHash(keys.readProof), v.read_proof_sha256_hex);

      const opened = await keys.open(envelope);
      assert.equal(opened.type, v.type);
      assert.equal(opened.name, v.name);
      assert.equal(hex(opened.content), hex(content));
      // The one-call forms derive again: not worth 600000 more iterations.
      if (v.iterations <= 1000) {
        assert.equal(await C.readProof({ secret, password: v.password, header: v.header_b64url }), v.read_proof_b64url);
        const again = await C.open({ secret, password: v.password, envelope });
        assert.equal(hex(again.content), hex(content));
      }
    });
  }

  test(`${mode}: the invalid envelopes fail as published`, async () => {
    for (const v of vectors.invalid) {
      await assert.rejects(
        C.open({ secret: fromHex(v.secret_hex), password: v.password ?? null, envelope: fromB64(v.envelope_b64) }),
        (e) => {
          assert.equal(e.name, 'LinksyncCryptoError', v.id);
          assert.equal(e.code, EXPECT[v.expect], `${v.id}: ${e.message}`);
          return true;
        },
      );
    }
  });
}
