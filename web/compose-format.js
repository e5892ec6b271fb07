// Builds the files the compose page sends (an iCalendar event, RFC 5545; a
// vCard 3.0 contact, RFC 2426) and reads chosen .ics/.vcf files just enough
// to preview them. Pure functions, no DOM: the page (app.js) and the tests
// under tests/browser/ (in node) load the same file.
'use strict';

(function (root) {
  const CRLF = '\r\n';
  const PRODID = '-//linksync//compose page//EN';
  const DAY_MS = 86400000;

  // Folds one content line at 75 octets (RFC 5545 3.1, RFC 2425 5.8.1):
  // continuation lines start with a space, and a UTF-8 sequence is never cut.
  function fold(line) {
    const out = [];
    let cur = '';
    let used = 0;
    for (const ch of line) {
      const cp = ch.codePointAt(0);
      const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      if (used + n > 75) {
        out.push(cur);
        cur = ' ';
        used = 1;
      }
      cur += ch;
      used += n;
    }
    out.push(cur);
    return out.join(CRLF);
  }

  // A TEXT value: backslash, semicolon, comma and newlines escaped; other
  // control characters (not allowed in content lines) dropped.
  function escapeText(s) {
    return String(s)
      .replace(/\r\n?/g, '\n')
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '')
      .replace(/\\/g, '\\\\')
      .replace(/;/g, '\\;')
      .replace(/,/g, '\\,')
      .replace(/\n/g, '\\n');
  }

  function lines(list) {
    return list.map(fold).join(CRLF) + CRLF;
  }

  function pad(n, w) {
    return String(n).padStart(w || 2, '0');
  }

  // "YYYYMMDDTHHMMSS" from the UTC fields of a time value (ms).
  function basicUtcFields(ms) {
    const d = new Date(ms);
    return pad(d.getUTCFullYear(), 4) + pad(d.getUTCMonth() + 1) + pad(d.getUTCDate()) + 'T' +
      pad(d.getUTCHours()) + pad(d.getUTCMinutes()) + pad(d.getUTCSeconds());
  }

  // A random RFC 4122 version 4 UUID. crypto.randomUUID exists only in secure
  // contexts, and this page is often plain HTTP on a LAN.
  function uuid() {
    const b = new Uint8Array(16);
    (root.crypto || globalThis.crypto).getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => pad(x.toString(16))).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' +
      h.slice(16, 20) + '-' + h.slice(20);
  }

  // The zone's UTC offset in minutes at a time value, from the Intl data.
  function offsetFinder(tz) {
    const fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    return function (ms) {
      const whole = Math.floor(ms / 1000) * 1000;
      const v = {};
      for (const p of fmt.formatToParts(new Date(whole))) v[p.type] = p.value;
      const wall = Date.UTC(+v.year, +v.month - 1, +v.day, +v.hour % 24, +v.minute, +v.second);
      return Math.round((wall - whole) / 60000);
    };
  }

  // A short zone abbreviation such as "EST" when Intl has one (not "GMT+1").
  function abbreviation(tz, ms) {
    try {
      const parts = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'short' })
        .formatToParts(new Date(ms));
      const name = (parts.find((p) => p.type === 'timeZoneName') || {}).value || '';
      return /^[A-Z]{2,6}$/.test(name) ? name : '';
    } catch (e) {
      return '';
    }
  }

  function isUtcZone(tz) {
    return /^(Etc\/)?(UTC|UCT|GMT|GMT0|Zulu|Universal|Greenwich)$/i.test(tz);
  }

  function formatOffset(min) {
    const sign = min < 0 ? '-' : '+';
    const a = Math.abs(min);
    return sign + pad(Math.floor(a / 60)) + pad(a % 60);
  }

  // A VTIMEZONE for an IANA zone, built from the browser's own zone data: one
  // observance per offset change from the start of fromYear to the end of
  // toYear (explicit dates rather than RRULEs, so it is exact for those years
  // whatever the zone's rules were), or a single STANDARD for a fixed zone.
  function vtimezone(tz, fromYear, toYear) {
    const offsetAt = offsetFinder(tz);
    const start = Date.UTC(fromYear, 0, 1);
    const end = Date.UTC(toYear + 1, 0, 1);
    const changes = [];
    let prev = offsetAt(start);
    const first = prev;
    for (let t = start + DAY_MS; t <= end; t += DAY_MS) {
      const off = offsetAt(t);
      if (off === prev) continue;
      // The change lies in (t - 1 day, t]: find its minute.
      let lo = t - DAY_MS;
      let hi = t;
      while (hi - lo > 60000) {
        const mid = lo + Math.floor((hi - lo) / 120000) * 60000;
        if (offsetAt(mid) === prev) lo = mid; else hi = mid;
      }
      changes.push({ at: hi, from: prev, to: off });
      prev = off;
    }
    const standardOf = (ms) => {
      const y = new Date(ms).getUTCFullYear();
      return Math.min(offsetAt(Date.UTC(y, 0, 1)), offsetAt(Date.UTC(y, 6, 1)));
    };
    const out = ['BEGIN:VTIMEZONE', 'TZID:' + tz];
    const observance = (at, from, to) => {
      const kind = to > standardOf(at) ? 'DAYLIGHT' : 'STANDARD';
      const name = abbreviation(tz, at);
      out.push('BEGIN:' + kind, 'DTSTART:' + basicUtcFields(at + from * 60000),
        'TZOFFSETFROM:' + formatOffset(from), 'TZOFFSETTO:' + formatOffset(to));
      if (name) out.push('TZNAME:' + name);
      out.push('END:' + kind);
    };
    observance(start, first, first);
    for (const c of changes) observance(c.at, c.from, c.to);
    out.push('END:VTIMEZONE');
    return out;
  }

  // "2026-06-12T12:30" (a datetime-local value) -> "20260612T123000".
  function basicLocal(value) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(value);
    if (!m) throw new Error('not a date and time: ' + value);
    return m[1] + m[2] + m[3] + 'T' + m[4] + m[5] + (m[6] || '00');
  }

  // "2026-06-12" -> "20260612"; plusDays moves it (for the exclusive DTEND).
  function basicDate(value, plusDays) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
    if (!m) throw new Error('not a date: ' + value);
    const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]) + (plusDays || 0) * DAY_MS);
    return pad(d.getUTCFullYear(), 4) + pad(d.getUTCMonth() + 1) + pad(d.getUTCDate());
  }

  // The UTC time value of a wall-clock "YYYY-MM-DDTHH:MM" in zone tz.
  function wallToUtc(value, tz) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(value);
    const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
    const offsetAt = offsetFinder(tz);
    // Two rounds settle the offset except inside a DST gap, where the
    // earlier offset is kept (the wall time does not exist there).
    let utc = wall - offsetAt(wall) * 60000;
    utc = wall - offsetAt(utc) * 60000;
    return utc;
  }

  // The event as an iCalendar file (a string with CRLF line ends).
  // ev: {title, allDay, start, end, timeZone, location, notes, now, uid}
  //   allDay: start/end are "YYYY-MM-DD", end inclusive (the last day);
  //   else start/end are "YYYY-MM-DDTHH:MM" wall-clock times in timeZone.
  // now (ms) and uid are for tests; they default to the clock and a UUID.
  function buildEvent(ev) {
    const tz = ev.timeZone || '';
    const now = ev.now === undefined ? Date.now() : ev.now;
    const out = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:' + PRODID, 'CALSCALE:GREGORIAN',
      'METHOD:PUBLISH'];
    const body = ['BEGIN:VEVENT', 'UID:' + (ev.uid || uuid() + '@linksync'),
      'DTSTAMP:' + basicUtcFields(now) + 'Z'];
    if (ev.allDay) {
      body.push('DTSTART;VALUE=DATE:' + basicDate(ev.start),
        'DTEND;VALUE=DATE:' + basicDate(ev.end || ev.start, 1));
    } else if (tz && !isUtcZone(tz)) {
      const from = +ev.start.slice(0, 4);
      const to = +(ev.end || ev.start).slice(0, 4);
      out.push(...vtimezone(tz, Math.min(from, to), Math.max(from, to)));
      body.push('DTSTART;TZID=' + tz + ':' + basicLocal(ev.start),
        'DTEND;TZID=' + tz + ':' + basicLocal(ev.end));
    } else {
      // UTC, or a browser that names no zone: the times as UTC.
      const toUtc = (v) => tz ? wallToUtc(v, 'UTC') : new Date(v).getTime();
      body.push('DTSTART:' + basicUtcFields(toUtc(ev.start)) + 'Z',
        'DTEND:' + basicUtcFields(toUtc(ev.end)) + 'Z');
    }
    body.push('SUMMARY:' + escapeText(ev.title));
    if (ev.location) body.push('LOCATION:' + escapeText(ev.location));
    if (ev.notes) body.push('DESCRIPTION:' + escapeText(ev.notes));
    body.push('END:VEVENT');
    return lines(out.concat(body, ['END:VCALENDAR']));
  }

  // The contact as a vCard 3.0 file (what iOS and Android import reliably).
  // c: {given, family, org, phones: [..], emails: [..]}
  function buildContact(c) {
    const given = (c.given || '').trim();
    const family = (c.family || '').trim();
    const full = [given, family].filter(Boolean).join(' ') || (c.org || '').trim();
    const out = ['BEGIN:VCARD', 'VERSION:3.0', 'PRODID:' + PRODID,
      'N:' + escapeText(family) + ';' + escapeText(given) + ';;;', 'FN:' + escapeText(full)];
    if (c.org && c.org.trim()) out.push('ORG:' + escapeText(c.org.trim()));
    for (const p of c.phones || []) if (p.trim()) out.push('TEL;TYPE=CELL:' + escapeText(p.trim()));
    for (const e of c.emails || []) if (e.trim()) out.push('EMAIL;TYPE=INTERNET:' + escapeText(e.trim()));
    out.push('END:VCARD');
    return lines(out);
  }

  // A file name from a title: no path separators or control characters, not
  // too long, with the extension.
  function fileName(title, ext) {
    let base = String(title).replace(/[\u0000-\u001f\u007f/\\:*?"<>|]+/g, ' ')
      .replace(/\s+/g, ' ').replace(/^[.\s]+/, '').trim();
    if (base.length > 80) base = Array.from(base).slice(0, 80).join('').trim();
    return (base || 'item') + ext;
  }

  // --- Reading, for previews: unfold, split properties, unescape. ---

  function contentLines(text) {
    return String(text).replace(/\r\n?/g, '\n').replace(/\n[ \t]/g, '').split('\n');
  }

  // {name, params, value} of a content line, or null.
  function property(line) {
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (ch === '"') quoted = !quoted;
      else if (ch === ':' && !quoted) {
        const head = line.slice(0, i).split(';');
        const name = head[0].replace(/^[^.]*\./, '').toUpperCase();
        const params = {};
        for (const p of head.slice(1)) {
          const eq = p.indexOf('=');
          if (eq > 0) params[p.slice(0, eq).toUpperCase()] = p.slice(eq + 1).replace(/"/g, '');
        }
        return { name: name, params: params, value: line.slice(i + 1) };
      }
    }
    return null;
  }

  function unescapeText(s) {
    return s.replace(/\\([\\;,nN])/g, (m, c) => (c === 'n' || c === 'N' ? '\n' : c));
  }

  // "20260612T123000Z" / "20260612" -> "2026-06-12 12:30 UTC" / "2026-06-12".
  function readableTime(value, params) {
    const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})\d{0,2}(Z?))?$/.exec(value || '');
    if (!m) return value || '';
    let s = m[1] + '-' + m[2] + '-' + m[3];
    if (m[4] !== undefined) {
      s += ' ' + m[4] + ':' + m[5];
      if (m[6]) s += ' UTC';
      else if (params && params.TZID) s += ' (' + params.TZID + ')';
    }
    return s;
  }

  // The events of a calendar file: [{title, when, location}].
  function previewCalendar(text) {
    const events = [];
    let cur = null;
    for (const line of contentLines(text)) {
      const p = property(line);
      if (!p) continue;
      const v = p.value.trim().toUpperCase();
      if (p.name === 'BEGIN' && (v === 'VEVENT' || v === 'VTODO')) cur = { title: '', when: '', location: '' };
      else if (p.name === 'END' && cur && (v === 'VEVENT' || v === 'VTODO')) {
        events.push(cur);
        cur = null;
      } else if (cur && p.name === 'SUMMARY') cur.title = unescapeText(p.value);
      else if (cur && p.name === 'DTSTART') cur.when = readableTime(p.value.trim(), p.params);
      else if (cur && p.name === 'LOCATION') cur.location = unescapeText(p.value);
    }
    return events;
  }

  // The contacts of a vCard file: [{name, org, phones, emails}].
  function previewContacts(text) {
    const cards = [];
    let cur = null;
    for (const line of contentLines(text)) {
      const p = property(line);
      if (!p) continue;
      const v = p.value.trim().toUpperCase();
      if (p.name === 'BEGIN' && v === 'VCARD') cur = { name: '', n: '', org: '', phones: 0, emails: 0 };
      else if (p.name === 'END' && cur && v === 'VCARD') {
        cur.name = cur.name || cur.n;
        delete cur.n;
        cards.push(cur);
        cur = null;
      } else if (!cur) continue;
      else if (p.name === 'FN') cur.name = unescapeText(p.value);
      else if (p.name === 'N') {
        const parts = p.value.split(/(?<!\\);/).map(unescapeText);
        cur.n = [parts[3], parts[1], parts[2], parts[0], parts[4]].filter(Boolean).join(' ');
      } else if (p.name === 'ORG') cur.org = unescapeText(p.value.split(/(?<!\\);/)[0]);
      else if (p.name === 'TEL') cur.phones++;
      else if (p.name === 'EMAIL') cur.emails++;
    }
    return cards;
  }

  const api = {
    fold, escapeText, uuid, vtimezone, buildEvent, buildContact, fileName, offsetFinder,
    wallToUtc, previewCalendar, previewContacts, unescapeText, contentLines, property,
  };
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.LinksyncFormat = api;
})(typeof self !== 'undefined' ? self : globalThis);
