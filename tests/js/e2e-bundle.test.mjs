// web/crypto-fallback.js is committed generated code: it must be what
// tools/bundle-noble.mjs makes from the locked npm packages, a classic script
// (no module syntax, nothing a strict CSP forbids), and small.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { ROOT } from './lib.mjs';

const haveEsbuild = existsSync(path.join(ROOT, 'node_modules/esbuild')) && existsSync(path.join(ROOT, 'node_modules/@noble/hashes'));

test('the committed bundle is what the bundle script makes, twice', { skip: haveEsbuild ? false : 'npm ci first' }, async () => {
  const { bundle } = await import(path.join(ROOT, 'tools/bundle-noble.mjs'));
  const a = await bundle();
  const b = await bundle();
  assert.equal(a, b, 'reproducible');
  assert.equal(readFileSync(path.join(ROOT, 'web/crypto-fallback.js'), 'utf8'), a,
    'web/crypto-fallback.js is stale: run node tools/bundle-noble.mjs');
});

test('crypto.js and the bundle: classic scripts, no eval, no inline-script needs', () => {
  for (const rel of ['web/crypto.js', 'web/crypto-fallback.js']) {
    const text = readFileSync(path.join(ROOT, rel), 'utf8');
    assert.doesNotThrow(() => new vm.Script(text, { filename: rel }), `${rel} parses as a classic script`);
    assert.doesNotMatch(text, /\beval\s*\(|new\s+Function\s*\(|\bimport\s*\(/, rel);
    assert.doesNotMatch(text, /^\s*(import|export)\s/m, rel);
    assert.doesNotMatch(text, /innerHTML|document\.write/, rel);
  }
  const size = statSync(path.join(ROOT, 'web/crypto-fallback.js')).size;
  assert.ok(size < 40 * 1024, `crypto-fallback.js is ${size} bytes`);
});

test('the bundle defines LinksyncNoble with what crypto.js uses', () => {
  const ctx = vm.createContext({ setTimeout, TextEncoder });
  vm.runInContext(readFileSync(path.join(ROOT, 'web/crypto-fallback.js'), 'utf8'), ctx);
  const N = ctx.LinksyncNoble;
  assert.ok(Object.isFrozen(N));
  for (const f of ['gcm', 'hkdf', 'pbkdf2Async', 'sha256']) assert.equal(typeof N[f], 'function', f);
  // SHA-256("abc"), FIPS 180-2.
  const digest = Buffer.from(N.sha256(vm.runInContext('new Uint8Array([0x61, 0x62, 0x63])', ctx))).toString('hex');
  assert.equal(digest, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});
