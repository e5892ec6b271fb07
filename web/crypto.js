// linksync's end-to-end encryption in the browser: the secret in the link's
// #fragment, the LKS1 envelope (seal and open) and the read proof sent as
// X-Linksync-Read, byte for byte as docs/e2e.md specifies and as the C library
// (src/core/envelope.c) does; docs/e2e-vectors.json holds the vectors both
// pass. WebCrypto does the work where the page is a secure context; a plain
// HTTP page on a LAN has no crypto.subtle, and then the same operations run on
// @noble/ciphers and @noble/hashes from crypto-fallback.js, loaded on demand
// (or beforehand with its own <script> tag). A classic script that defines
// window.LinksyncCrypto; node loads it with require() or vm.
'use strict';

(function (root) {
  const VERSION = 'LKS1';
  const MAGIC = [0x4c, 0x4b, 0x53, 0x31]; // "LKS1"
  const FLAG_PASSWORD = 0x01;
  const SECRET_BYTES = 16;
  const FRAGMENT_LEN = 22;
  const SALT_BYTES = 16;
  const IV_BYTES = 12;
  const HEADER_BYTES = 37;
  const HEADER_LEN = 50; // base64url
  const TAG_BYTES = 16;
  const PROOF_LEN = 43; // base64url
  const ITERATIONS_DEFAULT = 600000;
  const ITERATIONS_MIN = 1000;
  const ITERATIONS_MAX = 5000000;
  const PASSWORD_MAX = 1024; // UTF-8 bytes, before normalisation
  const TYPE_MAX = 127;
  const NAME_MAX = 255;
  const META_MAX = 4096;
  const CONTENT_MAX = 1 << 30;
  const MIN_BYTES = HEADER_BYTES + 4 + 14 + TAG_BYTES; // {"type":"a/b"}
  const INFO_ENC = 'linksync v1 enc';
  const INFO_READ = 'linksync v1 read';

  const utf8 = new TextEncoder();
  const utf8Strict = new TextDecoder('utf-8', { fatal: true });

  // Codes match the C library's: EINVAL (malformed: LKS_EINVAL), ECRYPTO
  // (wrong key or password, or altered: LKS_ECRYPTO), EPASSWORD (a password
  // is needed: LKS_EUNAUTHORIZED), ETOOBIG, ENOCRYPTO (no crypto at all).
  class LinksyncCryptoError extends Error {
    constructor(code, message) {
      super(message);
      this.name = 'LinksyncCryptoError';
      this.code = code;
    }
  }
  function fail(code, message) {
    throw new LinksyncCryptoError(code, message);
  }

  // ---- bytes and text ----

  function toBytes(data, what) {
    if (typeof data === 'string') return utf8.encode(data);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (data instanceof ArrayBuffer || Object.prototype.toString.call(data) === '[object ArrayBuffer]')
      return new Uint8Array(data);
    return fail('EINVAL', what + ' must be bytes or a string');
  }

  function concat(parts) {
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  const B64U = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

  function base64urlEncode(bytes) {
    let out = '';
    let acc = 0;
    let bits = 0;
    for (let i = 0; i < bytes.length; i++) {
      acc = ((acc << 8) | bytes[i]) & 0xffff;
      bits += 8;
      while (bits >= 6) {
        out += B64U[(acc >> (bits - 6)) & 63];
        bits -= 6;
      }
    }
    if (bits > 0) out += B64U[(acc << (6 - bits)) & 63];
    return out;
  }

  // Unpadded base64url in its one canonical spelling (no stray bits), as the
  // C side decodes it.
  function base64urlDecode(text) {
    if (typeof text !== 'string' || text.length % 4 === 1) fail('EINVAL', 'not base64url text');
    const out = new Uint8Array(Math.floor((text.length * 6) / 8));
    let acc = 0;
    let bits = 0;
    let o = 0;
    for (let i = 0; i < text.length; i++) {
      const v = B64U.indexOf(text[i]);
      if (v < 0) fail('EINVAL', "'" + text[i] + "' is not a base64url character");
      acc = ((acc << 6) | v) & 0xffff;
      bits += 6;
      if (bits >= 8) {
        out[o++] = (acc >> (bits - 8)) & 0xff;
        bits -= 8;
      }
    }
    if (bits > 0 && (acc & ((1 << bits) - 1)) !== 0) fail('EINVAL', 'base64url text has stray trailing bits');
    return out;
  }

  function hex(bytes) {
    let s = '';
    for (let i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    return s;
  }

  function putU32(buf, at, v) {
    buf[at] = (v >>> 24) & 0xff;
    buf[at + 1] = (v >>> 16) & 0xff;
    buf[at + 2] = (v >>> 8) & 0xff;
    buf[at + 3] = v & 0xff;
  }

  function getU32(buf, at) {
    return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
  }

  // ---- secret and fragment ----

  function randomBytes(n) {
    const c = root.crypto;
    if (!c || typeof c.getRandomValues !== 'function') fail('ENOCRYPTO', 'this browser has no crypto.getRandomValues');
    const out = new Uint8Array(n);
    c.getRandomValues(out);
    return out;
  }

  function newSecret() {
    return randomBytes(SECRET_BYTES);
  }

  function encodeFragment(secret) {
    const s = toBytes(secret, 'the secret');
    if (s.length !== SECRET_BYTES) fail('EINVAL', 'a secret has ' + SECRET_BYTES + ' bytes');
    return base64urlEncode(s);
  }

  function decodeFragment(text) {
    if (typeof text !== 'string' || text.length !== FRAGMENT_LEN)
      fail('EINVAL', 'the key in the link must be ' + FRAGMENT_LEN + ' characters');
    try {
      return base64urlDecode(text);
    } catch (e) {
      return fail('EINVAL', 'the key in the link is not valid base64url');
    }
  }

  // ---- password (RFC 8265 OpaqueString, as GnuTLS applies it in C) ----

  // RFC 5892 2.6 exceptions: refused, or allowed whatever their category.
  const EXC_REFUSED = new Set([
    0x0b7, 0x375, 0x5f3, 0x5f4, 0x30fb, 0x660, 0x661, 0x662, 0x663, 0x664, 0x665, 0x666, 0x667,
    0x668, 0x669, 0x6f0, 0x6f1, 0x6f2, 0x6f3, 0x6f4, 0x6f5, 0x6f6, 0x6f7, 0x6f8, 0x6f9, 0x640,
    0x7fa, 0x302e, 0x302f, 0x3031, 0x3032, 0x3033, 0x3034, 0x3035, 0x303b,
  ]);
  const EXC_ALLOWED = new Set([0xdf, 0x3c2, 0x6fd, 0x6fe, 0xf0b, 0x3007]);
  const RE_IGNORABLE = /^[\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}\p{Join_Control}]$/u;
  const RE_SPACE = /^\p{Zs}$/u;
  const RE_FREEFORM = /^[\p{L}\p{N}\p{M}\p{S}\p{P}\p{Zs}]$/u;

  // The bytes PBKDF2 gets for a password: every Unicode space becomes
  // U+0020, then NFC. strict (sealing) refuses controls, ignorable,
  // unassigned and private-use code points (FreeformClass); otherwise
  // (opening) such a password is used as typed, since a sealer with other
  // Unicode tables may have accepted it. "" and over-long ones never pass.
  function passwordBytes(password, strict) {
    if (typeof password !== 'string' || password.length === 0) fail('EINVAL', 'the password is empty');
    if (/\p{Cs}/u.test(password)) fail('EINVAL', 'the password is not valid Unicode');
    const typed = utf8.encode(password);
    if (typed.length > PASSWORD_MAX) fail('EINVAL', 'the password is longer than ' + PASSWORD_MAX + ' bytes');
    let mapped = '';
    for (const ch of password) {
      const cp = ch.codePointAt(0);
      let refused = RE_IGNORABLE.test(ch) || EXC_REFUSED.has(cp);
      let c = ch;
      if (!refused && !EXC_ALLOWED.has(cp)) {
        if (RE_SPACE.test(ch)) c = ' ';
        // Outside the classes a character passes only with a compatibility
        // decomposition (RFC 8264 9.17, HasCompat).
        refused = (cp < 0x21 || cp > 0x7e) && !RE_FREEFORM.test(c) && c.normalize('NFKC') === c;
      }
      if (refused) {
        if (strict) fail('EINVAL', 'the password contains a control, invisible or unassigned character');
        return typed;
      }
      mapped += c;
    }
    return utf8.encode(mapped.normalize('NFC'));
  }

  function normalizePassword(password) {
    return passwordBytes(password, true);
  }

  function passwordForOpen(password) {
    return passwordBytes(password, false);
  }

  // ---- public header ----

  function validateHeader(h) {
    if ((h.flags & ~FLAG_PASSWORD) !== 0) fail('EINVAL', 'unknown envelope flags ' + h.flags);
    if (!Number.isInteger(h.iterations)) fail('EINVAL', 'the iteration count must be an integer');
    if (!(h.flags & FLAG_PASSWORD)) {
      if (h.iterations !== 0) fail('EINVAL', 'an envelope without a password has 0 iterations');
    } else if (!(h.iterations >= ITERATIONS_MIN && h.iterations <= ITERATIONS_MAX)) {
      fail('EINVAL', h.iterations + ' PBKDF2 iterations is outside ' + ITERATIONS_MIN + '..' + ITERATIONS_MAX);
    }
  }

  function serializeHeader(h) {
    const out = new Uint8Array(HEADER_BYTES);
    out.set(MAGIC, 0);
    out[4] = h.flags;
    out.set(h.salt, 5);
    putU32(out, 21, h.iterations);
    out.set(h.iv, 25);
    return out;
  }

  // {flags, password, salt, iterations, iv, bytes} of the first 37 bytes.
  function parseHeader(data) {
    const b = toBytes(data, 'the header');
    if (b.length < HEADER_BYTES) fail('EINVAL', 'an envelope header has ' + HEADER_BYTES + ' bytes');
    for (let i = 0; i < 4; i++) if (b[i] !== MAGIC[i]) fail('EINVAL', 'not a linksync envelope (no "LKS1")');
    const h = {
      flags: b[4],
      salt: b.slice(5, 21),
      iterations: getU32(b, 21),
      iv: b.slice(25, 37),
    };
    validateHeader(h);
    h.password = (h.flags & FLAG_PASSWORD) !== 0;
    h.bytes = b.slice(0, HEADER_BYTES);
    return h;
  }

  function headerFromText(text) {
    if (typeof text !== 'string' || text.length !== HEADER_LEN)
      fail('EINVAL', 'an envelope header is ' + HEADER_LEN + ' base64url characters');
    return parseHeader(base64urlDecode(text));
  }

  function headerToText(header) {
    return base64urlEncode(header.bytes || serializeHeader(header));
  }

  // ---- the JSON header inside ----

  function checkType(type) {
    if (typeof type !== 'string' || type.length === 0 || type.length > TYPE_MAX)
      fail('EINVAL', 'the media type must have 1 to ' + TYPE_MAX + ' bytes');
    if (!/^[\x20-\x7e]+$/.test(type)) fail('EINVAL', 'the media type must be printable ASCII');
    const slash = type.indexOf('/');
    if (type[0] === ' ' || slash <= 0 || slash === type.length - 1) fail('EINVAL', "'" + type + "' is not a media type");
  }

  function checkName(name) {
    if (typeof name !== 'string') fail('EINVAL', 'the file name must be a string');
    if (/\p{Cs}/u.test(name)) fail('EINVAL', 'the file name is not valid Unicode');
    if (/[\u0000-\u001f\u007f]/.test(name)) fail('EINVAL', 'the file name contains a control character');
    if (utf8.encode(name).length > NAME_MAX) fail('EINVAL', 'the file name is longer than ' + NAME_MAX + ' bytes');
  }

  // Canonical: {"type":…} or {"type":…,"name":…}, as the C side writes it.
  function buildMeta(type, name) {
    return utf8.encode(JSON.stringify(name ? { type: type, name: name } : { type: type }));
  }

  function parseMeta(bytes) {
    let meta;
    try {
      meta = JSON.parse(utf8Strict.decode(bytes));
    } catch (e) {
      return fail('EINVAL', 'the encrypted header is not a JSON object');
    }
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta))
      fail('EINVAL', 'the encrypted header is not a JSON object');
    if (typeof meta.type !== 'string') fail('EINVAL', 'the encrypted header has no "type"');
    checkType(meta.type);
    let name = null;
    if (meta.name !== undefined && meta.name !== null) {
      if (typeof meta.name !== 'string') fail('EINVAL', '"name" in the encrypted header is not a string');
      checkName(meta.name);
      if (meta.name !== '') name = meta.name;
    }
    return { type: meta.type, name: name };
  }

  // ---- backends: WebCrypto, or noble ----

  function webcryptoBackend(subtle) {
    return {
      name: 'webcrypto',
      async pbkdf2(password, salt, iterations) {
        const key = await subtle.importKey('raw', password, 'PBKDF2', false, ['deriveBits']);
        const bits = await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: salt, iterations: iterations }, key, 256);
        return new Uint8Array(bits);
      },
      async hkdf(ikm, salt, info) {
        const key = await subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
        const bits = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: salt, info: utf8.encode(info) }, key, 256);
        return new Uint8Array(bits);
      },
      async encrypt(key, iv, aad, plaintext) {
        const k = await subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt']);
        const ct = await subtle.encrypt({ name: 'AES-GCM', iv: iv, additionalData: aad, tagLength: 128 }, k, plaintext);
        return new Uint8Array(ct);
      },
      async decrypt(key, iv, aad, ciphertext) {
        const k = await subtle.importKey('raw', key, 'AES-GCM', false, ['decrypt']);
        let pt;
        try {
          pt = await subtle.decrypt({ name: 'AES-GCM', iv: iv, additionalData: aad, tagLength: 128 }, k, ciphertext);
        } catch (e) {
          return null; // OperationError: the tag does not match
        }
        return new Uint8Array(pt);
      },
      async sha256(data) {
        return new Uint8Array(await subtle.digest('SHA-256', data));
      },
    };
  }

  function nobleBackend(noble) {
    return {
      name: 'noble',
      async pbkdf2(password, salt, iterations) {
        // The async form yields now and then: the page stays responsive.
        return noble.pbkdf2Async(noble.sha256, password, salt, { c: iterations, dkLen: 32, asyncTick: 20 });
      },
      async hkdf(ikm, salt, info) {
        return noble.hkdf(noble.sha256, ikm, salt, utf8.encode(info), 32);
      },
      async encrypt(key, iv, aad, plaintext) {
        return noble.gcm(key, iv, aad).encrypt(plaintext);
      },
      async decrypt(key, iv, aad, ciphertext) {
        try {
          return noble.gcm(key, iv, aad).decrypt(ciphertext);
        } catch (e) {
          return null; // invalid tag
        }
      },
      async sha256(data) {
        return noble.sha256(data);
      },
    };
  }

  // Where this file was loaded from: crypto-fallback.js sits beside it.
  const scriptSrc = typeof document !== 'undefined' && document.currentScript ? document.currentScript.src : null;

  function loadFallbackScript() {
    return new Promise(function (resolve, reject) {
      if (typeof document === 'undefined' || !scriptSrc) {
        reject(new LinksyncCryptoError('ENOCRYPTO', 'no WebCrypto here and crypto-fallback.js is not loaded'));
        return;
      }
      const s = document.createElement('script');
      s.src = new URL('crypto-fallback.js', scriptSrc).href;
      s.async = true;
      s.onload = function () {
        if (root.LinksyncNoble) resolve(root.LinksyncNoble);
        else reject(new LinksyncCryptoError('ENOCRYPTO', 'crypto-fallback.js did not load'));
      };
      s.onerror = function () {
        reject(new LinksyncCryptoError('ENOCRYPTO', 'crypto-fallback.js could not be loaded'));
      };
      document.head.appendChild(s);
    });
  }

  // options: {subtle, noble, fallback: true to skip WebCrypto}; by default
  // crypto.subtle when present, else window.LinksyncNoble, else the script.
  function create(options) {
    const opts = options || {};
    let pending = null;

    function backend() {
      if (pending) return pending;
      const subtle = 'subtle' in opts ? opts.subtle : root.crypto && root.crypto.subtle;
      if (subtle && !opts.fallback) pending = Promise.resolve(webcryptoBackend(subtle));
      else if (opts.noble || root.LinksyncNoble) pending = Promise.resolve(nobleBackend(opts.noble || root.LinksyncNoble));
      else pending = loadFallbackScript().then(nobleBackend);
      pending.catch(function () {
        pending = null; // try again next time
      });
      return pending;
    }

    // The key schedule: ikm = S, or S || PBKDF2(password); HKDF for each key.
    async function deriveKeys(args) {
      const secret = toBytes(args.secret, 'the secret');
      if (secret.length !== SECRET_BYTES) fail('EINVAL', 'a secret has ' + SECRET_BYTES + ' bytes');
      const header = args.header && args.header.bytes ? args.header : parseHeader(args.header);
      validateHeader(header);
      let pw = null;
      if (header.flags & FLAG_PASSWORD) {
        if (args.password == null || args.password === '')
          fail('EPASSWORD', 'this item is protected by a password');
        pw = passwordForOpen(args.password);
      }
      const b = await backend();
      let ikm = secret;
      if (pw !== null) ikm = concat([secret, await b.pbkdf2(pw, header.salt, header.iterations)]);
      const kEnc = await b.hkdf(ikm, header.salt, INFO_ENC);
      const kRead = await b.hkdf(ikm, header.salt, INFO_READ);
      const headerBytes = header.bytes || serializeHeader(header);
      return {
        header: header,
        kEnc: kEnc,
        readProofBytes: kRead,
        readProof: base64urlEncode(kRead),
        // Opens an envelope with these keys; its header must be theirs.
        open: function (envelope) {
          return openWith(b, kEnc, headerBytes, envelope);
        },
      };
    }

    async function openWith(b, kEnc, headerBytes, envelope) {
      const env = toBytes(envelope, 'the envelope');
      const h = parseHeader(env);
      if (env.length < MIN_BYTES) fail('EINVAL', 'an envelope has at least ' + MIN_BYTES + ' bytes');
      for (let i = 0; i < HEADER_BYTES; i++)
        if (h.bytes[i] !== headerBytes[i])
          fail('ECRYPTO', "the envelope's header is not the one the keys were derived for (was the item updated?)");
      const pt = await b.decrypt(kEnc, h.iv, h.bytes, env.subarray(HEADER_BYTES));
      if (pt === null) fail('ECRYPTO', 'cannot decrypt: the key or the password is wrong, or the item was altered');
      const metaLen = getU32(pt, 0);
      if (metaLen > META_MAX || metaLen > pt.length - 4) fail('EINVAL', "the encrypted header's length is out of range");
      const meta = parseMeta(pt.subarray(4, 4 + metaLen));
      return { type: meta.type, name: meta.name, content: pt.subarray(4 + metaLen) };
    }

    // args: {secret, password?, iterations?, type, name?, content, salt?, iv?}
    // → the envelope (Uint8Array). salt and iv only for test vectors.
    async function seal(args) {
      const secret = toBytes(args.secret, 'the secret');
      if (secret.length !== SECRET_BYTES) fail('EINVAL', 'a secret has ' + SECRET_BYTES + ' bytes');
      checkType(args.type);
      const name = args.name == null || args.name === '' ? null : args.name;
      if (name !== null) checkName(name);
      const content = toBytes(args.content == null ? new Uint8Array(0) : args.content, 'the content');
      if (content.length > CONTENT_MAX) fail('ETOOBIG', 'an envelope holds at most ' + CONTENT_MAX + ' bytes');
      const password = args.password == null ? null : args.password;
      if (password !== null) normalizePassword(password); // only passwords every reader derives alike
      const salt = args.salt ? toBytes(args.salt, 'the salt') : randomBytes(SALT_BYTES);
      const iv = args.iv ? toBytes(args.iv, 'the IV') : randomBytes(IV_BYTES);
      if (salt.length !== SALT_BYTES || iv.length !== IV_BYTES) fail('EINVAL', 'the salt has 16 bytes and the IV 12');
      const header = {
        flags: password !== null ? FLAG_PASSWORD : 0,
        salt: salt,
        iterations: password !== null ? args.iterations || ITERATIONS_DEFAULT : 0,
        iv: iv,
      };
      validateHeader(header);
      header.bytes = serializeHeader(header);
      const keys = await deriveKeys({ secret: secret, password: password, header: header });
      const meta = buildMeta(args.type, name);
      const pt = new Uint8Array(4 + meta.length + content.length);
      putU32(pt, 0, meta.length);
      pt.set(meta, 4);
      pt.set(content, 4 + meta.length);
      const b = await backend();
      const ct = await b.encrypt(keys.kEnc, iv, header.bytes, pt);
      return concat([header.bytes, ct]);
    }

    // args: {secret, password?, envelope} → {type, name, content}
    async function open(args) {
      const env = toBytes(args.envelope, 'the envelope');
      const header = parseHeader(env);
      if (env.length < MIN_BYTES) fail('EINVAL', 'an envelope has at least ' + MIN_BYTES + ' bytes');
      const keys = await deriveKeys({ secret: args.secret, password: args.password, header: header });
      return keys.open(env);
    }

    // args: {secret, password?, header (bytes, text or parsed)} → base64url
    async function readProof(args) {
      const header = typeof args.header === 'string' ? headerFromText(args.header) : args.header;
      return (await deriveKeys({ secret: args.secret, password: args.password, header: header })).readProof;
    }

    // What the server keeps: SHA-256 of the proof, in hex.
    async function proofHash(proof) {
      const bytes = typeof proof === 'string' ? base64urlDecode(proof) : toBytes(proof, 'the proof');
      if (bytes.length !== 32) fail('EINVAL', 'a read proof has 32 bytes');
      return hex(await (await backend()).sha256(bytes));
    }

    return {
      VERSION: VERSION,
      SECRET_BYTES: SECRET_BYTES,
      FRAGMENT_LEN: FRAGMENT_LEN,
      HEADER_BYTES: HEADER_BYTES,
      HEADER_LEN: HEADER_LEN,
      PROOF_LEN: PROOF_LEN,
      ITERATIONS_DEFAULT: ITERATIONS_DEFAULT,
      ITERATIONS_MIN: ITERATIONS_MIN,
      ITERATIONS_MAX: ITERATIONS_MAX,
      READ_HEADER: 'X-Linksync-Read',
      LinksyncCryptoError: LinksyncCryptoError,
      create: create,
      backendName: function () {
        return backend().then(function (b) {
          return b.name;
        });
      },
      newSecret: newSecret,
      encodeFragment: encodeFragment,
      decodeFragment: decodeFragment,
      normalizePassword: normalizePassword,
      passwordForOpen: passwordForOpen,
      parseHeader: parseHeader,
      headerFromText: headerFromText,
      headerToText: headerToText,
      base64urlEncode: base64urlEncode,
      base64urlDecode: base64urlDecode,
      deriveKeys: deriveKeys,
      seal: seal,
      open: open,
      readProof: readProof,
      proofHash: proofHash,
    };
  }

  const api = create();
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.LinksyncCrypto = api;
})(typeof self !== 'undefined' ? self : globalThis);
