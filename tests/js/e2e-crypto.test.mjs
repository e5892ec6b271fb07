// web/crypto.js's behaviour beyond the vectors, with WebCrypto and with the
// noble fallback: round trips, every way a wrong key or an altered byte must
// fail, the limits and the password rules (the same as the C side's, see
// tests/core/test_envelope.c), and how the page finds its crypto.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { ROOT, hex, loadCrypto } from './lib.mjs';

const SECRET = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
const code = (c) => (e) => {
  assert.equal(e.code, c, e.message);
  return true;
};

function makeHeader(flags, iterations) {
  const h = new Uint8Array(37);
  h.set([0x4c, 0x4b, 0x53, 0x31, flags]);
  for (let i = 0; i < 16; i++) h[5 + i] = 0xa0 + i;
  new DataView(h.buffer).setUint32(21, iterations >>> 0);
  for (let i = 0; i < 12; i++) h[25 + i] = 0xc0 + i;
  return h;
}

test('base64url: canonical, no padding, strict decoding', () => {
  const { api: C } = loadCrypto('webcrypto');
  for (let n = 0; n < 40; n++) {
    const bytes = new Uint8Array(n).map((_, i) => (i * 37 + n) & 255);
    const text = C.base64urlEncode(bytes);
    assert.equal(text, Buffer.from(bytes).toString('base64url'));
    assert.equal(hex(C.base64urlDecode(text)), hex(bytes));
  }
  assert.throws(() => C.base64urlDecode('a+b'), code('EINVAL'));
  assert.throws(() => C.base64urlDecode('abcde'), code('EINVAL'));
  assert.throws(() => C.base64urlDecode('AB'), code('EINVAL')); // stray bits
  assert.throws(() => C.base64urlDecode('AQ=='), code('EINVAL'));
});

test('secret and fragment', () => {
  const { api: C } = loadCrypto('fallback');
  const a = C.newSecret();
  const b = C.newSecret();
  assert.equal(a.length, 16);
  assert.notEqual(hex(a), hex(b));
  assert.equal(C.encodeFragment(SECRET), 'AQIDBAUGBwgJCgsMDQ4PEA');
  assert.equal(hex(C.decodeFragment('AQIDBAUGBwgJCgsMDQ4PEA')), hex(SECRET));
  for (const bad of ['AQIDBAUGBwgJCgsMDQ4PE', '#AQIDBAUGBwgJCgsMDQ4PEA', 'AQIDBAUGBwgJCgsMDQ4P+A', 'AQIDBAUGBwgJCgsMDQ4PEB', null])
    assert.throws(() => C.decodeFragment(bad), code('EINVAL'), String(bad));
  assert.throws(() => C.encodeFragment(new Uint8Array(15)), code('EINVAL'));
});

test('header: layout, limits inclusive, refusals', () => {
  const { api: C } = loadCrypto('webcrypto');
  const h = C.parseHeader(makeHeader(1, 600000));
  assert.equal(h.password, true);
  assert.equal(h.iterations, 600000);
  assert.equal(hex(h.bytes.subarray(21, 25)), '000927c0');
  assert.equal(C.headerToText(h).length, 50);
  assert.equal(C.headerFromText(C.headerToText(h)).iterations, 600000);
  C.parseHeader(makeHeader(1, 1000));
  C.parseHeader(makeHeader(1, 5000000));
  C.parseHeader(makeHeader(0, 0));
  const bad = [makeHeader(2, 0), makeHeader(0x81, 1000), makeHeader(0, 1), makeHeader(1, 0), makeHeader(1, 999),
    makeHeader(1, 5000001), makeHeader(1, 0xffffffff), makeHeader(0, 0).subarray(0, 36)];
  const magic = makeHeader(0, 0);
  magic[3] = 0x32;
  bad.push(magic);
  for (const b of bad) assert.throws(() => C.parseHeader(b), code('EINVAL'), hex(b));
  assert.throws(() => C.headerFromText('short'), code('EINVAL'));
});

for (const mode of ['webcrypto', 'fallback']) {
  const { api: C } = loadCrypto(mode);

  test(`${mode}: round trips of many sizes, fresh salt and IV each time`, async () => {
    for (const n of [0, 1, 15, 16, 17, 31, 32, 33, 1000, 65536, 100000]) {
      const content = new Uint8Array(n).map((_, i) => (i * 7 + n) % 251);
      const env = await C.seal({ secret: SECRET, type: 'application/octet-stream', name: 'data.bin', content });
      assert.equal(env.length, 37 + 4 + 53 + n + 16);
      assert.equal(hex(env.subarray(0, 5)), '4c4b533100');
      const out = await C.open({ secret: SECRET, envelope: env });
      assert.equal(out.type, 'application/octet-stream');
      assert.equal(out.name, 'data.bin');
      assert.equal(hex(out.content), hex(content));
    }
    const a = await C.seal({ secret: SECRET, type: 'text/plain', content: 'x' });
    const b = await C.seal({ secret: SECRET, type: 'text/plain', content: 'x' });
    assert.notEqual(hex(a.subarray(5, 21)), hex(b.subarray(5, 21)));
    assert.notEqual(hex(a.subarray(25, 37)), hex(b.subarray(25, 37)));
    // A string is sent as UTF-8; "" and null names mean none; a password is
    // ignored by an envelope sealed without one.
    const s = await C.seal({ secret: SECRET, type: 'text/plain; charset=utf-8', name: '', content: 'Grüße ✓' });
    const o = await C.open({ secret: SECRET, password: 'unneeded', envelope: s });
    assert.equal(o.name, null);
    assert.equal(new TextDecoder().decode(o.content), 'Grüße ✓');
  });

  test(`${mode}: a password: right, wrong, missing`, async () => {
    const env = await C.seal({ secret: SECRET, password: 's3cret pass', iterations: 1000, type: 'text/vcard', name: 'ada.vcf', content: 'BEGIN:VCARD' });
    const h = C.parseHeader(env);
    assert.equal(h.password, true);
    assert.equal(h.iterations, 1000);
    assert.equal((await C.open({ secret: SECRET, password: 's3cret pass', envelope: env })).name, 'ada.vcf');
    await assert.rejects(C.open({ secret: SECRET, envelope: env }), code('EPASSWORD'));
    await assert.rejects(C.open({ secret: SECRET, password: '', envelope: env }), code('EPASSWORD'));
    await assert.rejects(C.readProof({ secret: SECRET, header: h }), code('EPASSWORD'));
    await assert.rejects(C.open({ secret: SECRET, password: 's3cret pasS', envelope: env }), code('ECRYPTO'));
    await assert.rejects(C.open({ secret: SECRET, password: 'tab\there', envelope: env }), code('ECRYPTO'));
    const other = SECRET.slice();
    other[15] ^= 1;
    await assert.rejects(C.open({ secret: other, password: 's3cret pass', envelope: env }), code('ECRYPTO'));
    // Decomposed on one side, composed on the other: the same password.
    const nfd = await C.seal({ secret: SECRET, password: 'Ce\u0301sar\u00a0pw', iterations: 1000, type: 'text/plain', content: 'hi' });
    assert.equal((await C.open({ secret: SECRET, password: 'César pw', envelope: nfd })).type, 'text/plain');
    await assert.rejects(C.open({ secret: SECRET, password: 'Cesar pw', envelope: nfd }), code('ECRYPTO'));
  });

  test(`${mode}: every flipped bit and every truncation fails`, async () => {
    const env = await C.seal({ secret: SECRET, type: 'text/plain', name: 'n.txt', content: 'hello' });
    for (let i = 0; i < env.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = env.slice();
        bad[i] ^= bit;
        const want = i < 5 || (i >= 21 && i < 25) ? 'EINVAL' : 'ECRYPTO';
        await assert.rejects(C.open({ secret: SECRET, envelope: bad }), code(want), `byte ${i}`);
      }
    }
    for (let n = 0; n < env.length; n++) {
      await assert.rejects(C.open({ secret: SECRET, envelope: env.subarray(0, n) }), (e) =>
        n < 71 ? e.code === 'EINVAL' : e.code === 'EINVAL' || e.code === 'ECRYPTO');
    }
    const longer = new Uint8Array(env.length + 1);
    longer.set(env);
    await assert.rejects(C.open({ secret: SECRET, envelope: longer }), code('ECRYPTO'));
    assert.equal((await C.open({ secret: SECRET, envelope: env })).name, 'n.txt');
  });

  test(`${mode}: iteration counts outside the limits are refused before any work`, async () => {
    const env = new Uint8Array(37 + 80);
    env.set(makeHeader(1, 0xffffffff));
    const t = Date.now();
    await assert.rejects(C.open({ secret: SECRET, password: 'pw', envelope: env }), code('EINVAL'));
    assert.ok(Date.now() - t < 1000);
    for (const iterations of [999, 5000001, 1.5])
      await assert.rejects(C.seal({ secret: SECRET, password: 'pw', iterations, type: 'text/plain', content: 'a' }), code('EINVAL'), String(iterations));
  });

  test(`${mode}: keys derived once open only their envelope`, async () => {
    const a = await C.seal({ secret: SECRET, type: 'text/plain', content: '1' });
    const b = await C.seal({ secret: SECRET, type: 'text/plain', content: '2' });
    const keys = await C.deriveKeys({ secret: SECRET, header: C.parseHeader(a) });
    assert.equal(keys.readProof.length, 43);
    assert.notEqual(hex(keys.readProofBytes), hex(keys.kEnc));
    await assert.rejects(keys.open(b), (e) => e.code === 'ECRYPTO' && /updated/.test(e.message));
    assert.equal(new TextDecoder().decode((await keys.open(a)).content), '1');
    assert.equal(await C.readProof({ secret: SECRET, header: C.headerToText(C.parseHeader(a)) }), keys.readProof);
    assert.equal(await C.proofHash(keys.readProof), hex(await crypto.subtle.digest('SHA-256', keys.readProofBytes)));
    await assert.rejects(C.proofHash('AAAA'), code('EINVAL'));
  });
}

test('seal refuses bad types, names, passwords and content', async () => {
  const { api: C } = loadCrypto('webcrypto');
  const seal = (o) => C.seal({ secret: SECRET, type: 'text/plain', content: 'a', ...o });
  for (const type of ['', 'text', '/plain', 'text/', ' text/plain', 'text/pl\nain', 'text/\x7f', 'téxt/plain', null, 'a/' + 'b'.repeat(126)])
    await assert.rejects(seal({ type }), code('EINVAL'), JSON.stringify(type));
  assert.ok(await seal({ type: 'a/' + 'b'.repeat(125) }));
  for (const name of ['a\nb', 'tab\t', '\x7f', 'lone \ud800 surrogate', 'é'.repeat(128), 5])
    await assert.rejects(seal({ name }), code('EINVAL'), JSON.stringify(name));
  assert.ok(await seal({ name: 'é'.repeat(127) + 'n' }));
  for (const password of ['', 'a\x01', 'zero\u200dwidth'])
    await assert.rejects(seal({ password, iterations: 1000 }), code('EINVAL'), JSON.stringify(password));
  await assert.rejects(seal({ secret: new Uint8Array(15) }), code('EINVAL'));
  await assert.rejects(seal({ content: 42 }), code('EINVAL'));
  await assert.rejects(seal({ salt: new Uint8Array(8) }), code('EINVAL'));
  // Without iterations a password gets the default.
  const env = await seal({ password: 'pw' });
  assert.equal(C.parseHeader(env).iterations, C.ITERATIONS_DEFAULT);
  assert.equal(C.ITERATIONS_DEFAULT, 600000);
});

test('password rules: OpaqueString when sealing, as typed when refused on opening', () => {
  const { api: C } = loadCrypto('webcrypto');
  const s = (pw) => Buffer.from(C.normalizePassword(pw)).toString('utf8');
  assert.equal(s('Ce\u0301sar\u00a0pw'), 'César pw');
  assert.equal(s('a\u3000b\uff21'), 'a b\uff21'); // ideographic space mapped, width kept
  assert.equal(s('plain ascii ~!'), 'plain ascii ~!');
  assert.equal(s('🔑 key'), '🔑 key');
  for (const bad of ['', 'tab\there', 'new\nline', 'a\u200db', 'soft\u00adhyphen', 'line\u2028sep', 'non\ufdd0char', 'private\ue000', 'p'.repeat(1025), 'lone\ud800'])
    assert.throws(() => C.normalizePassword(bad), code('EINVAL'), JSON.stringify(bad));
  assert.equal(C.normalizePassword('p'.repeat(1024)).length, 1024);
  assert.equal(Buffer.from(C.passwordForOpen('tab\tCe\u0301sar')).toString('utf8'), 'tab\tCe\u0301sar');
  assert.equal(Buffer.from(C.passwordForOpen('Ce\u0301sar\u00a0pw')).toString('utf8'), 'César pw');
  for (const bad of ['', 'lone\ud800', 'p'.repeat(1025)]) assert.throws(() => C.passwordForOpen(bad), code('EINVAL'));
});

test('no crypto.subtle and no fallback loaded: a clear error, not a crash', async () => {
  const { api: C } = loadCrypto('none');
  await assert.rejects(C.backendName(), code('ENOCRYPTO'));
  await assert.rejects(C.seal({ secret: SECRET, type: 'text/plain', content: 'a' }), code('ENOCRYPTO'));
  // Parsing needs no crypto.
  assert.equal(C.encodeFragment(SECRET).length, 22);
});

test('a page without crypto.subtle loads crypto-fallback.js beside crypto.js on demand', async () => {
  const appended = [];
  const doc = {
    currentScript: { src: 'http://192.168.1.20:8080/static/crypto.js' },
    createElement: (tag) => ({ tag }),
    head: { appendChild: (el) => appended.push(el) },
  };
  const ctx = vm.createContext({
    crypto: { getRandomValues: (a) => globalThis.crypto.getRandomValues(a) },
    document: doc, TextEncoder, TextDecoder, URL, setTimeout, clearTimeout,
  });
  ctx.self = ctx; // a window is its own self
  vm.runInContext(readFileSync(path.join(ROOT, 'web/crypto.js'), 'utf8'), ctx);
  const C = ctx.LinksyncCrypto;
  const pending = C.backendName();
  assert.equal(appended.length, 1);
  assert.equal(appended[0].tag, 'script');
  assert.equal(appended[0].src, 'http://192.168.1.20:8080/static/crypto-fallback.js');
  // The browser runs it, then fires load.
  vm.runInContext(readFileSync(path.join(ROOT, 'web/crypto-fallback.js'), 'utf8'), ctx);
  appended[0].onload();
  assert.equal(await pending, 'noble');
  const env = await C.seal({ secret: SECRET, type: 'text/plain', content: 'lan' });
  assert.equal(new TextDecoder().decode((await C.open({ secret: SECRET, envelope: env })).content), 'lan');
  assert.equal(appended.length, 1, 'loaded once');
});

test('a failed fallback load is reported and retried', async () => {
  const appended = [];
  const ctx = vm.createContext({
    crypto: {},
    document: { currentScript: { src: 'http://h/static/crypto.js' }, createElement: () => ({}), head: { appendChild: (el) => appended.push(el) } },
    TextEncoder, TextDecoder, URL, setTimeout, clearTimeout,
  });
  vm.runInContext(readFileSync(path.join(ROOT, 'web/crypto.js'), 'utf8'), ctx);
  const first = ctx.LinksyncCrypto.backendName();
  appended[0].onerror();
  await assert.rejects(first, code('ENOCRYPTO'));
  const second = ctx.LinksyncCrypto.backendName();
  assert.equal(appended.length, 2);
  appended[1].onerror();
  await assert.rejects(second, code('ENOCRYPTO'));
});

test('crypto.js is a classic script that defines one global', () => {
  const ctx = vm.createContext({ crypto: globalThis.crypto, TextEncoder, TextDecoder, URL });
  const before = new Set(Object.keys(ctx));
  vm.runInContext(readFileSync(path.join(ROOT, 'web/crypto.js'), 'utf8'), ctx);
  assert.deepEqual(Object.keys(ctx).filter((k) => !before.has(k)), ['LinksyncCrypto']);
});
