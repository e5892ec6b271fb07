// C and JavaScript against each other on random inputs: the C library seals
// and web/crypto.js opens (with WebCrypto and with the noble fallback), and
// the other way round, with and without a password; and both sides turn the
// same passwords into the same PBKDF2 input. The C side is the test_envelope
// binary of a build (LKS_BIN, or ./build): `make test` builds it first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, cBinary, fromB64, hex, loadCrypto, runC } from './lib.mjs';

const BIN = cBinary();
const skip = BIN ? false : 'no C build: build test_envelope (cmake) and set LKS_BIN to its directory';

// A small deterministic generator, so a failure can be replayed.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const TYPES = ['text/plain; charset=utf-8', 'text/calendar', 'text/vcard', 'application/octet-stream', 'image/png',
  'application/x-"odd\\type"'];
const NAMES = [null, 'a.txt', 'Überweisung – 月報 📅.pdf', 'say "hi" \\ there.txt', 'x'.repeat(255), 'line\u2028sep.txt'];
const PASSWORDS = [null, null, 'pw', 'correct horse battery staple', 'Ce\u0301sar\u00a0Fre\u0301de\u0301ric', 'パスワード', '🔑 key',
  'tab\tas typed'];
const SIZES = [0, 1, 15, 16, 17, 255, 4096, 70001];

function cases(seed, n) {
  const r = rng(seed);
  const pick = (a) => a[Math.floor(r() * a.length)];
  const out = [];
  for (let i = 0; i < n; i++) {
    const secret = new Uint8Array(16).map(() => Math.floor(r() * 256));
    const size = pick(SIZES);
    out.push({
      secret,
      password: pick(PASSWORDS),
      type: pick(TYPES),
      name: pick(NAMES),
      content: new Uint8Array(size).map(() => Math.floor(r() * 256)),
    });
  }
  return out;
}

// 'tab\tas typed' is refused when sealing (both sides); the other cases seal.
const sealable = (c) => c.password !== 'tab\tas typed';

test('C seals, JavaScript opens (WebCrypto and fallback)', { skip }, async () => {
  const input = cases(1, 40).filter(sealable);
  const fromC = runC(BIN, '--seal', input.map((c) => ({
    secret: Buffer.from(c.secret).toString('base64url'), password: c.password, iterations: 1000,
    type: c.type, name: c.name, content_b64: b64(c.content),
  })));
  assert.equal(fromC.length, input.length);
  for (const mode of ['webcrypto', 'fallback']) {
    const { api: C } = loadCrypto(mode);
    for (let i = 0; i < input.length; i++) {
      const c = input[i];
      const envelope = fromB64(fromC[i].envelope_b64);
      const out = await C.open({ secret: c.secret, password: c.password, envelope });
      assert.equal(out.type, c.type, `${mode} case ${i}`);
      assert.equal(out.name, c.name);
      assert.equal(hex(out.content), hex(c.content));
      if (c.password !== null) {
        await assert.rejects(C.open({ secret: c.secret, password: c.password + '!', envelope }), (e) => e.code === 'ECRYPTO');
        await assert.rejects(C.open({ secret: c.secret, envelope }), (e) => e.code === 'EPASSWORD');
      }
    }
  }
});

test('JavaScript seals (WebCrypto and fallback), C opens', { skip }, async () => {
  for (const [mode, seed] of [['webcrypto', 2], ['fallback', 3]]) {
    const { api: C } = loadCrypto(mode);
    const input = cases(seed, 40).filter(sealable);
    const sealed = [];
    for (const c of input) {
      sealed.push(await C.seal({ secret: c.secret, password: c.password, iterations: 1000, type: c.type, name: c.name, content: c.content }));
    }
    const req = [];
    input.forEach((c, i) => {
      const secret = Buffer.from(c.secret).toString('base64url');
      req.push({ secret, password: c.password, envelope_b64: b64(sealed[i]) });
      // The wrong password, or none where one is needed.
      if (c.password !== null) req.push({ secret, password: c.password + '!', envelope_b64: b64(sealed[i]) });
      if (c.password !== null) req.push({ secret, password: null, envelope_b64: b64(sealed[i]) });
    });
    const res = runC(BIN, '--open', req);
    let k = 0;
    input.forEach((c, i) => {
      const ok = res[k++];
      assert.equal(ok.ok, true, `${mode} case ${i}: ${ok.message}`);
      assert.equal(ok.type, c.type);
      assert.equal(ok.name ?? null, c.name);
      assert.equal(ok.content_b64, b64(c.content));
      if (c.password !== null) {
        assert.deepEqual([res[k].ok, res[k].error], [false, 'LKS_ECRYPTO']);
        k++;
        assert.deepEqual([res[k].ok, res[k].error], [false, 'LKS_EUNAUTHORIZED']);
        k++;
      }
    });
    assert.equal(k, res.length);
  }
});

test('C and JavaScript normalise passwords alike', { skip }, () => {
  const { api: C } = loadCrypto('webcrypto');
  const samples = [
    'abc', 'Ce\u0301sar', 'e\u0301\u0323', '\u1e9b\u0323', 'A\u030a', '\u212b', '\u00c5', '\ufb01', '\uff21\uff42',
    'a\u00a0b', 'a\u2003b', 'a\u3000b', 'a\u202fb', 'a\u205fb', 'a\u1680b', ' lead and trail ', 'tab\t', 'nl\n',
    'a\u200bb', 'a\u200cb', 'a\u200db', 'a\u00adb', 'a\u2028b', 'a\u2029b', 'a\u0085b', 'a\ufeffb', 'a\ufdd0b',
    'a\uffffb', 'a\ue000b', 'a\u{f0000}b', 'a\u0378b', 'a\u2060b', 'a\u180eb', 'a\u034fb', 'a\u115fb',
    'a\u00b7b', 'a\u0375b', 'a\u05f3b', 'a\u0660b', 'a\u06f0b', 'a\u30fbb', 'a\u0640b', 'a\u3007b', 'a\u00dfb',
    'a\u03c2b', 'a\u0f0bb', 'a\u2168b', 'a\u00bdb', 'a\u2126b', 'a\u1100\u1161\u11a8b', '\uac00\u11a8',
    'パスワード', 'ﾊﾟｽﾜｰﾄﾞ', '密码', 'пароль', 'كلمة السر', 'סיסמה', '🔑🗝️', '👩‍👩‍👧', '🇫🇷',
    'x\u0301\u0302\u0303', '\u0958', '\u2000\u2001\u2002', '\u00a0', 'Å', 'ǅ', 'ﬀ', '①', '㍻', '™',
  ];
  const got = runC(BIN, '--normalize', samples);
  const norm = (f, s) => {
    try {
      return hex(f(s));
    } catch (e) {
      return null;
    }
  };
  samples.forEach((s, i) => {
    assert.equal(norm(C.normalizePassword, s), got[i].strict, `strict ${JSON.stringify(s)}`);
    assert.equal(norm(C.passwordForOpen, s), got[i].open, `open ${JSON.stringify(s)}`);
  });
  // Every code point assigned since Unicode 6 and before 14, between letters.
  const all = [];
  for (let cp = 0x20; cp < 0x30000; cp += 7) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCodePoint(cp);
    if (!/\p{Assigned}/u.test(ch) || /\p{Cn}/u.test(ch)) continue;
    all.push('x' + ch + 'y');
  }
  const many = runC(BIN, '--normalize', all);
  let differ = 0;
  all.forEach((s, i) => {
    if (norm(C.passwordForOpen, s) !== many[i].open) differ++;
  });
  // JavaScript's Unicode tables are newer than libunistring's; as typed,
  // characters the older ones call unassigned still agree.
  assert.equal(differ, 0);
});
