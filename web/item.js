// The item page's progressive parts: the Copy button of a note, and the
// viewer's own time next to times the page states in the event's zone (or in
// UTC for the expiry). The page works without this file, except for an end-to-
// end encrypted item: the server sends a shell (#zk), and this file reads the
// key from location.hash (never sent to the server), fetches the envelope
// with its read proof, decrypts it (web/crypto.js) and renders the event,
// contact, note or file with the classes of the server's pages, its downloads
// built from the decrypted bytes, and the QR code of the whole link
// (web/qr.js). User content is only ever written as text (textContent), never
// as markup.
'use strict';

(function () {
  // Copy: the clipboard API needs a secure context (HTTPS or localhost); a
  // plain-HTTP page on a LAN gets the text selected instead, so the phone's
  // own Copy menu is one tap away.
  function selectText(el) {
    const range = document.createRange();
    range.selectNodeContents(el);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  function setupCopy(button) {
    const target = document.getElementById(button.getAttribute('data-copy'));
    if (!target) return;
    const status = button.parentNode.querySelector('.copied');
    button.hidden = false;
    button.addEventListener('click', async function () {
      let done = false;
      if (navigator.clipboard && window.isSecureContext) {
        try {
          await navigator.clipboard.writeText(target.textContent);
          done = true;
        } catch (e) {
          done = false;
        }
      }
      if (!done) {
        selectText(target);
        try {
          done = document.execCommand('copy');
        } catch (e) {
          done = false;
        }
      }
      if (status) {
        status.textContent = done ? 'Copied.' : 'Selected: use your device\u2019s Copy.';
      }
    });
  }

  function pad(n) {
    return (n < 10 ? '0' : '') + n;
  }

  // Adds "(your time: …)" at the end of line when the viewer's zone shows
  // the instant of its <time data-wall> el at another wall time.
  function addLocalTime(line, el) {
    const when = new Date(el.getAttribute('datetime'));
    if (isNaN(when.getTime())) return;
    const local = when.getFullYear() + '-' + pad(when.getMonth() + 1) + '-' +
      pad(when.getDate()) + 'T' + pad(when.getHours()) + ':' + pad(when.getMinutes());
    if (local === el.getAttribute('data-wall')) return;
    const span = document.createElement('span');
    span.className = 'local';
    span.textContent = '(your time: ' + when.toLocaleString(undefined, {
      weekday: 'short', day: 'numeric', month: 'short', year: 'numeric',
      hour: '2-digit', minute: '2-digit',
    }) + ')';
    line.appendChild(span);
  }

  // ------------------------------------------------- end-to-end encrypted

  const $ = (id) => document.getElementById(id);

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function essence(type) {
    return String(type || '').split(';')[0].trim().toLowerCase();
  }

  function kindOf(type) {
    const t = essence(type);
    if (t === 'text/calendar') return 'calendar';
    if (t === 'text/vcard' || t === 'text/x-vcard' || t === 'text/directory') return 'contact';
    if (t === 'text/plain') return 'note';
    return 'file';
  }

  function sizeText(n) {
    if (n < 1024) return n + (n === 1 ? ' byte' : ' bytes');
    if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
    if (n < 1073741824) return (n / 1048576).toFixed(1) + ' MiB';
    return (n / 1073741824).toFixed(1) + ' GiB';
  }

  // A name for a download: no path, no control characters, something left.
  function safeName(name, fallback) {
    let n = String(name || '').split(/[/\\]/).pop().replace(/[\u0000-\u001f\u007f"]/g, '_');
    n = n.replace(/^[.\s-]+/, '').trim();
    return n || fallback;
  }

  // A download of bytes under a name, made here (the server has only the
  // envelope). Blob URLs are only ever used for downloads and images.
  function downloadButton(label, bytes, type, name, primary) {
    const a = el('a', label, primary ? 'button' : 'button secondary');
    const url = URL.createObjectURL(new Blob([bytes], { type: type }));
    a.href = url;
    a.download = name;
    a.rel = 'noopener';
    return a;
  }

  function dlRow(dl, label, value, cls) {
    if (value === undefined || value === null || value === '') return;
    dl.append(el('dt', label));
    const dd = typeof value === 'string' ? el('dd', value, cls) : value;
    dl.append(dd);
  }

  // ---- iCalendar and vCard, read minimally (LinksyncFormat parses lines)

  function components(text, names) {
    const F = window.LinksyncFormat;
    const out = [];
    let cur = null;
    let depth = 0;
    for (const line of F.contentLines(text)) {
      const p = F.property(line);
      if (!p) continue;
      const v = p.value.trim().toUpperCase();
      if (p.name === 'BEGIN') {
        if (cur) depth++;
        else if (names.includes(v)) cur = { kind: v, props: {} };
        continue;
      }
      if (p.name === 'END' && cur) {
        if (depth > 0) depth--;
        else {
          out.push(cur);
          cur = null;
        }
        continue;
      }
      if (cur && depth === 0) (cur.props[p.name] ||= []).push(p);
    }
    return out;
  }

  function first(c, name) {
    const list = c.props[name];
    return list && list.length ? list[0] : null;
  }

  function textOf(c, name) {
    const p = first(c, name);
    return p ? window.LinksyncFormat.unescapeText(p.value) : '';
  }

  function param(p, name) {
    const v = p && p.params ? p.params[name] || p.params[name.toLowerCase()] : undefined;
    return Array.isArray(v) ? v[0] : v;
  }

  const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
  const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
    'September', 'October', 'November', 'December'];

  // "Monday 1 March 2027", as the server's pages write dates.
  function dayWords(y, m, d) {
    const day = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
    return DAYS[day] + ' ' + d + ' ' + MONTHS[m - 1] + ' ' + y;
  }

  // {date, time, zone, allDay} of a DTSTART/DTEND property, or null.
  function timeOf(p) {
    if (!p) return null;
    const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$/.exec(p.value.trim());
    if (!m) return null;
    const t = { y: +m[1], mo: +m[2], d: +m[3], allDay: !m[4] };
    t.date = dayWords(t.y, t.mo, t.d);
    if (!t.allDay) {
      t.time = m[4] + ':' + m[5] + (m[6] !== '00' ? ':' + m[6] : '');
      t.zone = m[7] ? 'UTC' : param(p, 'TZID') || 'local time';
      if (m[7]) t.utc = Date.UTC(t.y, t.mo - 1, t.d, +m[4], +m[5], +m[6]);
    }
    return t;
  }

  function whenText(start, end) {
    if (!start) return '';
    if (start.allDay) {
      let s = start.date;
      if (end && end.allDay) {
        const last = new Date(Date.UTC(end.y, end.mo - 1, end.d) - 86400000);
        const lastWords = dayWords(last.getUTCFullYear(), last.getUTCMonth() + 1, last.getUTCDate());
        if (lastWords !== start.date && last.getTime() > Date.UTC(start.y, start.mo - 1, start.d))
          s += ' \u2013 ' + lastWords;
      }
      return s + ' (all day)';
    }
    let s = start.date + ', ' + start.time;
    if (end && !end.allDay) {
      if (end.zone !== start.zone) return s + ' (' + start.zone + ') \u2013 ' + end.date + ', ' + end.time + ' (' + end.zone + ')';
      s += ' \u2013 ' + (end.date === start.date ? end.time : end.date + ', ' + end.time);
    }
    return s + ' (' + start.zone + ')';
  }

  function renderCalendar(box, text) {
    const entries = components(text, ['VEVENT', 'VTODO', 'VJOURNAL']);
    if (!entries.length) {
      box.append(el('p', 'This calendar holds no events.', 'muted'));
      return null;
    }
    for (const c of entries.slice(0, 100)) {
      const art = el('article', null, 'entry');
      const title = textOf(c, 'SUMMARY');
      if (entries.length > 1) art.append(el('h2', title || '(no title)'));
      const status = textOf(c, 'STATUS').toUpperCase();
      if (status === 'CANCELLED') art.append(el('p', 'Cancelled', 'badge cancelled'));
      else if (c.kind === 'VTODO') art.append(el('p', 'To-do', 'badge'));
      else if (c.kind === 'VJOURNAL') art.append(el('p', 'Journal entry', 'badge'));
      const start = timeOf(first(c, 'DTSTART'));
      const end = timeOf(first(c, c.kind === 'VTODO' ? 'DUE' : 'DTEND'));
      const when = el('p', null, 'when');
      when.textContent = c.kind === 'VTODO' && !start ? (end ? 'due ' + whenText(end, null) : 'no due date')
        : whenText(start, end);
      if (start && start.utc !== undefined) {
        const local = new Date(start.utc);
        const span = el('span', '(your time: ' + local.toLocaleString(undefined, {
          weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit',
        }) + ')', 'local');
        when.append(span);
      }
      art.append(when);
      const rrule = first(c, 'RRULE');
      if (rrule) art.append(el('p', 'Repeats (' + rrule.value + ')', 'repeat'));
      const dl = el('dl');
      dlRow(dl, 'Place', textOf(c, 'LOCATION'));
      const url = textOf(c, 'URL');
      if (/^https?:\/\/[^\s"<>]+$/i.test(url)) {
        const dd = el('dd');
        const a = el('a', url);
        a.href = url;
        a.rel = 'noopener noreferrer nofollow';
        dd.append(a);
        dlRow(dl, 'Link', dd);
      }
      dlRow(dl, 'Notes', textOf(c, 'DESCRIPTION'), 'text');
      if (dl.children.length) art.append(dl);
      box.append(art);
    }
    if (entries.length > 100)
      box.append(el('p', 'and ' + (entries.length - 100) + ' more: add the calendar to see them all.', 'muted'));
    return entries.length === 1 ? textOf(entries[0], 'SUMMARY') : null;
  }

  function split(value) {
    return value.split(/(?<!\\);/).map((v) => window.LinksyncFormat.unescapeText(v));
  }

  function renderContacts(box, text) {
    const cards = components(text, ['VCARD']);
    let version = '';
    let title = null;
    for (const c of cards.slice(0, 100)) {
      version = version || (first(c, 'VERSION') ? first(c, 'VERSION').value.trim() : '');
      let name = textOf(c, 'FN');
      if (!name && first(c, 'N')) {
        const n = split(first(c, 'N').value);
        name = [n[3], n[1], n[2], n[0], n[4]].filter(Boolean).join(' ');
      }
      if (cards.length === 1) title = name || null;
      const art = el('article', null, 'entry contact');
      const who = el('div', null, 'who');
      const head = el('div');
      if (cards.length > 1) head.append(name ? el('h2', name) : el('h2', '(no name)'));
      const org = first(c, 'ORG') ? split(first(c, 'ORG').value).filter(Boolean) : [];
      const role = textOf(c, 'TITLE');
      if (org.length || role) head.append(el('p', [role, org.join(' \u00b7 ')].filter(Boolean).join(', '), 'org'));
      who.append(head);
      art.append(who);
      const dl = el('dl');
      for (const p of c.props.TEL || []) {
        const num = window.LinksyncFormat.unescapeText(p.value).replace(/^tel:/i, '');
        const dd = el('dd');
        const a = el('a', num);
        a.href = 'tel:' + num.replace(/[^0-9+*#]/g, '');
        dd.append(a);
        dlRow(dl, 'Phone', dd);
      }
      for (const p of c.props.EMAIL || []) {
        const mail = window.LinksyncFormat.unescapeText(p.value);
        const dd = el('dd');
        const a = el('a', mail);
        a.href = 'mailto:' + encodeURIComponent(mail).replace(/%40/g, '@');
        dd.append(a);
        dlRow(dl, 'Email', dd);
      }
      for (const p of c.props.ADR || []) {
        const a = split(p.value);
        const lines = [a[0], a[1], a[2], [a[5], a[3]].filter(Boolean).join(' '), a[4], a[6]]
          .filter((x) => x && x.trim());
        dlRow(dl, 'Address', lines.join('\n'), 'text');
      }
      for (const p of c.props.URL || []) {
        const url = window.LinksyncFormat.unescapeText(p.value);
        if (!/^https?:\/\/[^\s"<>]+$/i.test(url)) continue;
        const dd = el('dd');
        const a = el('a', url);
        a.href = url;
        a.rel = 'noopener noreferrer nofollow';
        dd.append(a);
        dlRow(dl, 'Website', dd);
      }
      dlRow(dl, 'Birthday', textOf(c, 'BDAY'));
      dlRow(dl, 'Note', textOf(c, 'NOTE'), 'text');
      if (dl.children.length) art.append(dl);
      box.append(art);
    }
    if (cards.length > 100) box.append(el('p', 'and ' + (cards.length - 100) + ' more.', 'muted'));
    return { title: title, version: version, count: cards.length };
  }

  // ---- the page

  function zkError(message) {
    const box = $('zk-error');
    box.textContent = message;
    box.hidden = false;
  }

  function zkStatus(message) {
    $('zk-status').textContent = message;
  }

  function setTitle(title, kindLabel) {
    $('zk-title').textContent = title;
    document.title = title + ' \u00b7 linksync';
    $('zk-kind').textContent = kindLabel + ' \u00b7 end-to-end encrypted';
  }

  // The QR code and the link to pass it on: the whole link, key included.
  function showShare() {
    const share = $('zk-share');
    const link = $('zk-link');
    if (!share || !window.LinksyncQR) return;
    const url = location.href;
    $('zk-qr').src = window.LinksyncQR.dataUrl(url);
    link.textContent = url;
    link.href = url;
    share.hidden = false;
  }

  function render(item, id) {
    const box = $('zk-content');
    box.textContent = '';
    const kind = kindOf(item.type);
    const type = essence(item.type) || 'application/octet-stream';
    const actions = el('div', null, 'actions');
    let title = item.name || null;
    if (kind === 'calendar' || kind === 'contact' || kind === 'note') {
      let text;
      try {
        text = new TextDecoder('utf-8', { fatal: false }).decode(item.content);
      } catch (e) {
        text = '';
      }
      if (kind === 'calendar') {
        title = renderCalendar(box, text) || title || 'A calendar';
        actions.append(downloadButton('Add to calendar', item.content, 'text/calendar',
          safeName(item.name, 'event.ics').replace(/(\.ics)?$/i, '.ics'), true));
        box.append(actions);
        box.append(el('p', 'Add to calendar saves the events as a file your calendar opens. ' +
          'An encrypted item offers no subscription: calendar apps fetch from the server, ' +
          'which cannot read it.', 'hint'));
        setTitle(title, 'Calendar');
      } else if (kind === 'contact') {
        const r = renderContacts(box, text);
        title = r.title || (r.count > 1 ? 'Contacts' : 'A contact');
        actions.append(downloadButton('Save contact', item.content, 'text/vcard',
          safeName(item.name, 'contact.vcf').replace(/(\.vcf)?$/i, '.vcf'), true));
        box.append(actions);
        if (r.version === '4.0')
          box.append(el('p', 'This contact is in vCard 4.0, saved as it was sent: some phones ' +
            'import only vCard 3.0.', 'hint'));
        setTitle(title, r.count > 1 ? 'Contacts' : 'Contact');
      } else {
        const pre = el('pre', text.length > 524288 ? text.slice(0, 524288) : text, 'note');
        pre.id = 'note-text';
        pre.tabIndex = 0;
        pre.setAttribute('aria-label', 'Note text');
        box.append(pre);
        if (text.length > 524288)
          box.append(el('p', 'The note is longer than this page shows: download it to read it all.', 'muted'));
        const copy = el('button', 'Copy', 'button');
        copy.type = 'button';
        copy.setAttribute('data-copy', 'note-text');
        copy.hidden = true;
        actions.append(copy, downloadButton('Download', item.content, 'text/plain',
          safeName(item.name, 'note.txt'), false), el('span', null, 'copied'));
        actions.lastChild.setAttribute('role', 'status');
        box.append(actions);
        setupCopy(copy);
        setTitle(title || 'A note', 'Note');
      }
      return;
    }
    const dl = el('dl', null, 'facts');
    if (!item.name) dlRow(dl, 'Name', '(none given)', 'muted');
    dlRow(dl, 'Size', sizeText(item.content.length) +
      (item.content.length >= 1024 ? ' (' + item.content.length + ' bytes)' : ''));
    dlRow(dl, 'Type', item.type);
    box.append(dl);
    // Only images a browser cannot be tricked into running (no SVG).
    if (/^image\/(png|jpeg|gif|webp)$/.test(type)) {
      const img = el('img', null, 'preview');
      img.alt = 'Preview of ' + (item.name || 'the image');
      img.src = URL.createObjectURL(new Blob([item.content], { type: type }));
      box.append(img);
    }
    // Saved as bytes, never opened here: the type only names the file.
    actions.append(downloadButton('Download', item.content, 'application/octet-stream',
      safeName(item.name, id), true));
    box.append(actions);
    setTitle(title || 'A file', 'File');
  }

  async function zkMain(root) {
    const C = window.LinksyncCrypto;
    const id = root.getAttribute('data-id');
    const reads = parseInt(root.getAttribute('data-reads'), 10);
    const form = $('zk-password');
    const openBox = $('zk-open');
    let secret;
    let meta = null;
    let header = null;
    let busy = false;
    const fragment = location.hash.slice(1);
    if (!C) {
      zkError('This page could not load its decryption code: reload it.');
      return;
    }
    if (!fragment) {
      zkStatus('This item is end-to-end encrypted, and this link has no key: the key is the ' +
        'part after \u201c#\u201d. Open the whole link you were given.');
      return;
    }
    try {
      secret = C.decodeFragment(fragment);
    } catch (e) {
      zkError('The key in this link is damaged: copy or scan the whole link again.');
      return;
    }
    if (reads !== 0) showShare();

    async function loadMeta() {
      const r = await fetch('/api/v1/items/' + encodeURIComponent(id), {
        headers: { Accept: 'application/json' }, cache: 'no-store',
      });
      if (r.status === 404) throw new Error('gone');
      if (!r.ok) throw new Error('The server answered ' + r.status + ': try again.');
      meta = await r.json();
      if (!meta.encrypted) throw new Error('changed');
      header = C.headerFromText(meta.envelope_header);
    }

    function gone() {
      zkStatus('');
      zkError('Nothing here: this link is wrong, has expired, was used up or was deleted.');
      if (form) form.hidden = true;
      if (openBox) openBox.hidden = true;
    }

    async function attempt(password, retried) {
      busy = true;
      $('zk-error').hidden = true;
      zkStatus('Decrypting\u2026');
      try {
        const keys = await C.deriveKeys({ secret: secret, password: password, header: header });
        const r = await fetch('/' + encodeURIComponent(id) + '/raw', {
          headers: { 'X-Linksync-Read': keys.readProof }, cache: 'no-store',
        });
        if (r.status === 404) return gone();
        if (r.status === 403) {
          if (!retried) {
            // Perhaps updated since the metadata came: derive anew once
            // (a wrong password costs one try, not two).
            const before = meta.envelope_header;
            await loadMeta();
            if (meta.envelope_header !== before) return attempt(password, true);
          }
          zkStatus('');
          if (password !== null) {
            zkError('Wrong password (or the link is incomplete). Try again.');
            form.hidden = false;
            $('zk-pw').value = '';
            $('zk-pw').focus();
          } else {
            zkError('The key in this link is wrong: copy or scan the whole link again.');
          }
          return undefined;
        }
        if (r.status === 429) {
          zkStatus('');
          zkError('Too many wrong tries: wait ' + (r.headers.get('Retry-After') || '60') +
            ' seconds, then try again.');
          if (password !== null) form.hidden = false;
          return undefined;
        }
        if (!r.ok) {
          zkStatus('');
          zkError('The server answered ' + r.status + ': try again.');
          return undefined;
        }
        const item = await keys.open(new Uint8Array(await r.arrayBuffer()));
        form.hidden = true;
        if (openBox) openBox.hidden = true;
        zkStatus(reads > 0 ? (reads - 1 > 0 ? 'Decrypted in this browser. This link can be opened ' +
          (reads - 1) + ' more time' + (reads - 1 === 1 ? '' : 's') + '.' : 'Decrypted in this browser. ' +
          'This was the last open: the link no longer works. Keep what you need now.')
          : 'Decrypted in this browser: the server cannot read this item.');
        if (reads === 1) $('zk-share').hidden = true;
        render(item, id);
      } catch (e) {
        zkStatus('');
        if (e && e.message === 'gone') return gone();
        if (e && e.code === 'ECRYPTO') zkError('Cannot decrypt this item: the key or the password ' +
          'is wrong, or it was altered.');
        else if (e && e.code === 'ENOCRYPTO') zkError('This browser cannot decrypt: ' + e.message);
        else zkError('Cannot open this item: ' + (e && e.message ? e.message : e));
      } finally {
        busy = false;
      }
      return undefined;
    }

    function start() {
      if (header.flags & 1) {
        zkStatus('Enter the password to decrypt it here.');
        form.hidden = false;
        $('zk-pw').focus();
        return;
      }
      attempt(null, false);
    }

    form.addEventListener('submit', function (e) {
      e.preventDefault();
      const pw = $('zk-pw').value;
      if (!pw || busy) return;
      form.hidden = true;
      attempt(pw, false);
    });

    try {
      await loadMeta();
    } catch (e) {
      if (e.message === 'gone' || e.message === 'changed') return gone();
      zkError(e.message);
      return;
    }
    if (reads > 0 && openBox) {
      // As for plain items: only an explicit tap spends a read.
      zkStatus('This link can be opened ' + reads + ' more time' + (reads === 1 ? '' : 's') +
        '. Opening it decrypts it here and uses one.');
      openBox.hidden = false;
      $('zk-open-button').addEventListener('click', function () {
        openBox.hidden = true;
        start();
      });
      return;
    }
    start();
  }

  document.querySelectorAll('button[data-copy]').forEach(setupCopy);
  // Only the first time of each line: the start, and the expiry.
  document.querySelectorAll('.when, .expires').forEach(function (line) {
    const first = line.querySelector('time[data-wall]');
    if (first) addLocalTime(line, first);
  });
  const zk = document.getElementById('zk');
  if (zk) zkMain(zk);
})();
