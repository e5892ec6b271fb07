// Helpers for the end-to-end encryption tests: web/crypto.js loaded the way a
// browser loads it (a classic script in its own global scope, through vm),
// with WebCrypto or, as on a plain-HTTP page, without crypto.subtle and with
// web/crypto-fallback.js; the published vectors; the C side through the
// test_envelope binary's --seal/--open/--normalize modes.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function script(rel) {
  return new vm.Script(readFileSync(path.join(ROOT, rel), 'utf8'), { filename: rel });
}

// mode: 'webcrypto' (crypto.subtle present), 'fallback' (no crypto.subtle,
// crypto-fallback.js loaded first, as a page would with two script tags) or
// 'none' (no crypto.subtle and no fallback). Returns the context's
// LinksyncCrypto and the context itself.
export function loadCrypto(mode) {
  const realCrypto = globalThis.crypto;
  const cryptoObj =
    mode === 'webcrypto'
      ? realCrypto
      : { getRandomValues: (a) => realCrypto.getRandomValues(a) }; // no .subtle
  const ctx = vm.createContext({ crypto: cryptoObj, TextEncoder, TextDecoder, URL, setTimeout, clearTimeout });
  if (mode === 'fallback') script('web/crypto-fallback.js').runInContext(ctx);
  script('web/crypto.js').runInContext(ctx);
  return { api: ctx.LinksyncCrypto, ctx };
}

export const vectors = JSON.parse(readFileSync(path.join(ROOT, 'docs/e2e-vectors.json'), 'utf8'));

export const hex = (bytes) => Buffer.from(bytes).toString('hex');
export const b64 = (bytes) => Buffer.from(bytes).toString('base64');
export const fromHex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
export const fromB64 = (s) => new Uint8Array(Buffer.from(s, 'base64'));

// The C test binary, or null when there is no build to use. LKS_BIN (the
// build directory, as `make test` sets it) must hold it when given.
export function cBinary() {
  if (process.env.LKS_BIN) {
    const p = path.join(process.env.LKS_BIN, 'test_envelope');
    if (!existsSync(p)) throw new Error(`LKS_BIN is set but ${p} does not exist`);
    return p;
  }
  const p = path.join(ROOT, 'build', 'test_envelope');
  return existsSync(p) ? p : null;
}

export function runC(bin, mode, input) {
  const out = execFileSync(bin, [mode], {
    input: JSON.stringify(input),
    maxBuffer: 1 << 30,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return JSON.parse(out.toString('utf8'));
}
