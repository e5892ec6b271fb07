// web/qr.js, the QR encoder bundled from qrcode-generator by
// tools/bundle-qr.mjs: the committed file is what the tool builds from
// node_modules, and it draws a link with its key as a square of the size
// error correction M needs, quiet zone included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import { bundle } from '../../tools/bundle-qr.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const committed = readFileSync(path.join(ROOT, 'web/qr.js'), 'utf8');

test('web/qr.js is what tools/bundle-qr.mjs builds', async () => {
  assert.equal(committed, await bundle(), 'run node tools/bundle-qr.mjs');
});

test('LinksyncQR draws a link with its key', () => {
  const ctx = { TextEncoder, encodeURIComponent };
  ctx.globalThis = ctx;
  vm.createContext(ctx);
  vm.runInContext(committed, ctx);
  const link = 'http://192.168.1.20:8080/wdrkeregbn2xsiq2lwi3w35rne#f-Y4RcLIQugydhhS43SIog';
  const m = ctx.LinksyncQR.matrix(link);
  // 72 bytes at level M: version 5 (37 modules).
  assert.equal(m.size, 37);
  // Finder patterns in three corners.
  for (const [r, c] of [[0, 0], [0, m.size - 7], [m.size - 7, 0]]) {
    assert.ok(m.dark(r, c) && m.dark(r + 6, c + 6) && !m.dark(r + 1, c + 1) && m.dark(r + 3, c + 3));
  }
  const url = ctx.LinksyncQR.dataUrl(link);
  assert.match(url, /^data:image\/svg\+xml,/);
  assert.ok(decodeURIComponent(url).includes('viewBox="0 0 45 45"'));
});
