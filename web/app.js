// The compose page (the first terminal): make an event, a contact or a note,
// or choose or drop a file; send it; show its link, QR code and expiry; keep
// the owner tokens of what this browser sent in a short list with Delete.
// With "Encrypt (end-to-end)" (on by default, remembered per browser) the item
// is sealed here (web/crypto.js) before it is sent; the link then ends in
// #KEY, and its QR code is drawn here (web/qr.js): the server never has the key.
// All user content goes into the page as text (textContent), never as markup.
'use strict';

(function () {
  const F = window.LinksyncFormat;
  const $ = (id) => document.getElementById(id);
  const STORE_KEY = 'linksync.sent.v1';
  const ENCRYPT_KEY = 'linksync.encrypt.v1';
  const MAX_SENT = 20;
  const PREVIEW_MAX = 1024 * 1024;

  const form = $('compose');
  const errorBox = $('error');
  const send = $('send');
  const timeZone = (function () {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || '';
    } catch (e) {
      return '';
    }
  })();
  let chosenFile = null;
  let current = null; // the entry shown in the result section

  // ---------------------------------------------------------------- helpers

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function localValue(d) {
    const p = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' +
      p(d.getHours()) + ':' + p(d.getMinutes());
  }

  function whenText(iso) {
    const d = new Date(iso);
    const mins = Math.round((d.getTime() - Date.now()) / 60000);
    let rel = '';
    try {
      const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
      if (Math.abs(mins) < 90) rel = rtf.format(mins, 'minute');
      else if (Math.abs(mins) < 36 * 60) rel = rtf.format(Math.round(mins / 60), 'hour');
      else rel = rtf.format(Math.round(mins / 1440), 'day');
    } catch (e) {
      rel = '';
    }
    const abs = d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
    return rel ? abs + ' (' + rel + ')' : abs;
  }

  function sizeText(n) {
    if (n < 1024) return n + ' bytes';
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
    return (n / 1048576).toFixed(1) + ' MiB';
  }

  function clearErrors() {
    errorBox.hidden = true;
    errorBox.textContent = '';
    for (const f of form.querySelectorAll('[aria-invalid]')) {
      f.removeAttribute('aria-invalid');
      f.removeAttribute('aria-describedby');
    }
  }

  // Shows a message; with a field, marks it invalid and puts the focus there.
  function fail(message, field) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    if (field) {
      field.setAttribute('aria-invalid', 'true');
      field.setAttribute('aria-describedby', 'error');
      field.focus();
    }
    return null;
  }

  // ------------------------------------------------------------------- tabs

  function kind() {
    return form.querySelector('input[name=kind]:checked').value;
  }

  function showPanel() {
    const k = kind();
    for (const r of form.querySelectorAll('input[name=kind]')) {
      const panel = $('panel-' + r.value);
      panel.hidden = r.value !== k;
      panel.disabled = r.value !== k;
    }
    clearErrors();
  }

  function selectKind(k) {
    $('kind-' + k).checked = true;
    showPanel();
  }

  for (const r of form.querySelectorAll('input[name=kind]')) r.addEventListener('change', showPanel);

  // ------------------------------------------------------------------ event

  const evStart = $('ev-start');
  const evEnd = $('ev-end');
  const evAllDay = $('ev-allday');
  const evStartDate = $('ev-start-date');
  const evEndDate = $('ev-end-date');

  function eventDefaults() {
    const start = new Date();
    start.setMinutes(0, 0, 0);
    start.setHours(start.getHours() + 1);
    evStart.value = localValue(start);
    evEnd.value = localValue(new Date(start.getTime() + 3600000));
    evStartDate.value = evStart.value.slice(0, 10);
    evEndDate.value = evStart.value.slice(0, 10);
    evStart.dataset.prev = evStart.value;
    evStartDate.dataset.prev = evStartDate.value;
  }

  $('ev-zone').textContent = timeZone
    ? 'Times are in ' + timeZone + ', this device\u2019s time zone.'
    : 'This browser names no time zone: times are sent as they are here, in UTC.';

  // Moving the start moves the end with it, keeping the duration.
  evStart.addEventListener('change', function () {
    const prev = Date.parse(evStart.dataset.prev || '');
    const now = Date.parse(evStart.value);
    const end = Date.parse(evEnd.value);
    if (!isNaN(prev) && !isNaN(now) && !isNaN(end)) evEnd.value = localValue(new Date(end + now - prev));
    evStart.dataset.prev = evStart.value;
  });
  evStartDate.addEventListener('change', function () {
    const prev = Date.parse(evStartDate.dataset.prev || '');
    const now = Date.parse(evStartDate.value);
    const end = Date.parse(evEndDate.value);
    if (!isNaN(prev) && !isNaN(now) && !isNaN(end))
      evEndDate.value = new Date(end + now - prev).toISOString().slice(0, 10);
    evStartDate.dataset.prev = evStartDate.value;
  });
  evAllDay.addEventListener('change', function () {
    const all = evAllDay.checked;
    if (all && evStart.value) {
      evStartDate.value = evStart.value.slice(0, 10);
      evEndDate.value = (evEnd.value || evStart.value).slice(0, 10);
      evStartDate.dataset.prev = evStartDate.value;
    }
    $('ev-times').hidden = all;
    $('ev-dates').hidden = !all;
    for (const i of [evStart, evEnd]) i.disabled = all;
    for (const i of [evStartDate, evEndDate]) i.disabled = !all;
  });

  function buildEvent() {
    const title = $('ev-title').value.trim();
    if (!title) return fail('Give the event a title.', $('ev-title'));
    const ev = {
      title: title, allDay: evAllDay.checked, timeZone: timeZone,
      location: $('ev-place').value.trim(), notes: $('ev-notes').value.trim(),
    };
    if (ev.allDay) {
      if (!evStartDate.value) return fail('Choose the first day.', evStartDate);
      if (!evEndDate.value) return fail('Choose the last day.', evEndDate);
      if (evEndDate.value < evStartDate.value)
        return fail('The last day cannot be before the first day.', evEndDate);
      ev.start = evStartDate.value;
      ev.end = evEndDate.value;
    } else {
      if (!evStart.value) return fail('Choose when the event starts.', evStart);
      if (!evEnd.value) return fail('Choose when the event ends.', evEnd);
      if (evEnd.value <= evStart.value) return fail('The event must end after it starts.', evEnd);
      ev.start = evStart.value;
      ev.end = evEnd.value;
    }
    return {
      body: F.buildEvent(ev), type: 'text/calendar; charset=utf-8',
      name: F.fileName(title, '.ics'), label: title,
    };
  }

  // ---------------------------------------------------------------- contact

  let rowCount = 1;

  function addRow(listId, what, type) {
    const list = $(listId);
    const n = list.children.length + 1;
    const id = 'ct-' + what.toLowerCase() + '-' + (++rowCount);
    const row = el('div', null, 'row');
    const label = el('label', what + ' ' + n);
    label.htmlFor = id;
    const input = el('input');
    input.id = id;
    input.type = type;
    input.autocomplete = 'off';
    input.maxLength = type === 'email' ? 200 : 100;
    const remove = el('button', 'Remove', 'secondary small');
    remove.type = 'button';
    remove.setAttribute('aria-label', 'Remove ' + what.toLowerCase() + ' ' + n);
    remove.addEventListener('click', function () {
      row.remove();
      list.querySelector('input').focus();
    });
    const line = el('div', null, 'inline');
    line.append(input, remove);
    row.append(label, line);
    list.append(row);
    input.focus();
  }

  $('ct-add-phone').addEventListener('click', () => addRow('ct-phones', 'Phone', 'tel'));
  $('ct-add-email').addEventListener('click', () => addRow('ct-emails', 'Email', 'email'));

  function buildContact() {
    const given = $('ct-given').value.trim();
    const family = $('ct-family').value.trim();
    if (!given && !family) return fail('Give the contact a first or last name.', $('ct-given'));
    const phones = [];
    const emails = [];
    for (const i of $('ct-phones').querySelectorAll('input')) {
      if (!i.value.trim()) continue;
      if (!/[0-9]/.test(i.value)) return fail('A phone number needs digits.', i);
      phones.push(i.value);
    }
    for (const i of $('ct-emails').querySelectorAll('input')) {
      if (!i.value.trim()) continue;
      if (!i.checkValidity()) return fail('This is not an email address.', i);
      emails.push(i.value);
    }
    const label = [given, family].filter(Boolean).join(' ');
    return {
      body: F.buildContact({
        given: given, family: family, org: $('ct-org').value, phones: phones, emails: emails,
      }),
      type: 'text/vcard; charset=utf-8', name: F.fileName(label, '.vcf'), label: label,
    };
  }

  // ------------------------------------------------------------------- note

  function buildNote() {
    const text = $('note').value;
    if (!text.trim()) return fail('Write the note first.', $('note'));
    const first = text.trim().split('\n')[0];
    return {
      body: text, type: 'text/plain; charset=utf-8', name: '',
      label: first.length > 60 ? first.slice(0, 59) + '\u2026' : first,
    };
  }

  // ------------------------------------------------------------------- file

  const preview = $('preview');

  function typeOf(file) {
    const ext = (/\.([^.]+)$/.exec(file.name) || ['', ''])[1].toLowerCase();
    if (ext === 'ics' || ext === 'ical') return 'text/calendar';
    if (ext === 'vcf' || ext === 'vcard') return 'text/vcard';
    return file.type || 'application/octet-stream';
  }

  function previewList(title, items) {
    preview.append(el('p', title, 'preview-title'));
    const ul = el('ul');
    for (const text of items) ul.append(el('li', text));
    preview.append(ul);
  }

  async function showPreview(file) {
    for (const img of preview.querySelectorAll('img')) URL.revokeObjectURL(img.src);
    preview.textContent = '';
    preview.hidden = false;
    const type = typeOf(file);
    preview.append(el('p', file.name + ' \u00b7 ' + sizeText(file.size), 'preview-file'));
    if ((type === 'text/calendar' || type === 'text/vcard') && file.size <= PREVIEW_MAX) {
      let text;
      try {
        text = await file.text();
      } catch (e) {
        preview.append(el('p', 'This file cannot be read.', 'error'));
        return;
      }
      if (file !== chosenFile) return; // another file was chosen meanwhile
      if (type === 'text/calendar') {
        const events = F.previewCalendar(text);
        if (!events.length) {
          preview.append(el('p', 'No events found in this calendar file.', 'error'));
          return;
        }
        previewList(events.length === 1 ? '1 event' : events.length + ' events',
          events.slice(0, 20).map((e) => [e.title || '(no title)', e.when, e.location]
            .filter(Boolean).join(' \u00b7 ')));
      } else {
        const cards = F.previewContacts(text);
        if (!cards.length) {
          preview.append(el('p', 'No contacts found in this file.', 'error'));
          return;
        }
        previewList(cards.length === 1 ? '1 contact' : cards.length + ' contacts',
          cards.slice(0, 20).map((c) => [c.name || '(no name)', c.org].filter(Boolean).join(' \u00b7 ')));
      }
    } else if (/^image\/(png|jpeg|gif|webp)$/.test(type)) {
      const img = el('img', null, 'thumb');
      img.alt = 'Preview of ' + file.name;
      img.src = URL.createObjectURL(file);
      preview.append(img);
    }
  }

  function chooseFile(file) {
    chosenFile = file;
    clearErrors();
    showPreview(file);
  }

  $('file').addEventListener('change', function () {
    if (this.files.length) chooseFile(this.files[0]);
  });

  let dragDepth = 0;
  document.addEventListener('dragenter', function (e) {
    if (!e.dataTransfer || !Array.from(e.dataTransfer.types || []).includes('Files')) return;
    dragDepth++;
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', function () {
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) document.body.classList.remove('dragging');
  });
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', function (e) {
    e.preventDefault();
    dragDepth = 0;
    document.body.classList.remove('dragging');
    const files = e.dataTransfer && e.dataTransfer.files;
    if (!files || !files.length || !$('result').hidden) return;
    selectKind('file');
    try {
      $('file').files = files; // keeps the chooser in step where allowed
    } catch (err) {
      // Older browsers: the dropped file is kept in chosenFile alone.
    }
    chooseFile(files[0]);
  });

  function buildFile() {
    if (!chosenFile) return fail('Choose a file, or drop one on this page.', $('file'));
    return { body: chosenFile, type: typeOf(chosenFile), name: chosenFile.name, label: chosenFile.name };
  }

  // ------------------------------------------------------------- encryption

  const encryptBox = $('encrypt');
  const passwordBox = $('password');

  function showEncryption() {
    $('password-row').hidden = !encryptBox.checked;
    passwordBox.disabled = !encryptBox.checked;
  }

  try {
    // The default is on; a choice made here is kept for the next visit.
    const saved = localStorage.getItem(ENCRYPT_KEY);
    if (saved === '0' || saved === '1') encryptBox.checked = saved === '1';
  } catch (e) {
    // No storage: the default stays.
  }
  encryptBox.addEventListener('change', function () {
    try {
      localStorage.setItem(ENCRYPT_KEY, encryptBox.checked ? '1' : '0');
    } catch (e) {
      // Not kept: fine.
    }
    showEncryption();
  });

  const COMPOSE_KINDS = { event: 'calendar', contact: 'contact', note: 'note', file: 'file' };

  // Seals item here; returns {body, type, proof, fragment} for the request.
  async function sealItem(item) {
    const C = window.LinksyncCrypto;
    const content = typeof item.body === 'string' ? new TextEncoder().encode(item.body)
      : new Uint8Array(await item.body.arrayBuffer());
    const password = passwordBox.value === '' ? null : passwordBox.value;
    const secret = C.newSecret();
    const envelope = await C.seal({
      secret: secret, password: password, type: item.type, name: item.name || null, content: content,
    });
    const keys = await C.deriveKeys({ secret: secret, password: password, header: C.parseHeader(envelope) });
    return { body: envelope, proof: keys.readProof, fragment: C.encodeFragment(secret) };
  }

  // ------------------------------------------------------------------- send

  async function submit(event) {
    event.preventDefault();
    clearErrors();
    const k = kind();
    const item = k === 'event' ? buildEvent() : k === 'contact' ? buildContact()
      : k === 'note' ? buildNote() : buildFile();
    if (!item) return;
    const encrypt = encryptBox.checked;
    if (encrypt && passwordBox.value !== '') {
      try {
        window.LinksyncCrypto.normalizePassword(passwordBox.value);
      } catch (e) {
        fail('This password cannot be used: ' + e.message + '.', passwordBox);
        return;
      }
    }
    const params = new URLSearchParams({ ttl: $('ttl').value });
    if (item.name && !encrypt) params.set('name', item.name); // else it is inside
    send.disabled = true;
    send.textContent = encrypt ? 'Encrypting\u2026' : 'Sending\u2026';
    try {
      let body = item.body;
      const headers = { 'Content-Type': item.type, 'Accept': 'application/json' };
      let sealed = null;
      if (encrypt) {
        try {
          sealed = await sealItem(item);
        } catch (e) {
          fail('Cannot encrypt: ' + (e && e.message ? e.message : e));
          return;
        }
        body = sealed.body;
        headers['Content-Type'] = 'application/vnd.linksync.envelope';
        headers['X-Linksync-Read'] = sealed.proof;
        send.textContent = 'Sending\u2026';
      }
      const response = await fetch('/api/v1/items?' + params.toString(), {
        method: 'POST', headers: headers, body: body,
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok || !answer.url) {
        fail(answer.message || ('The server answered ' + response.status + '.'));
        return;
      }
      // The key goes after '#', which no browser sends to a server.
      const url = sealed ? answer.url + '#' + sealed.fragment : answer.url;
      const entry = {
        id: answer.id, url: url, name: sealed ? item.name || '' : answer.name || '',
        kind: sealed ? COMPOSE_KINDS[k] : answer.kind || k,
        summary: sealed ? item.label || '' : answer.summary || item.label || '',
        expires_at: answer.expires_at, owner_token: answer.owner_token,
      };
      if (sealed) entry.encrypted = true;
      remember(entry);
      // The QR image from this page's own origin: the public URL in the
      // answer may name another host (the LAN address), which the CSP blocks.
      // With a key in the link only this page can draw it.
      showResult(entry, sealed ? window.LinksyncQR.dataUrl(url)
        : '/' + encodeURIComponent(answer.id) + '/qr.svg');
    } catch (e) {
      fail('Cannot reach the server: ' + e.message);
    } finally {
      send.disabled = false;
      send.textContent = 'Send';
    }
  }

  const KIND_WORDS = { calendar: 'Event', contact: 'Contact', note: 'Note', file: 'File' };

  function showResult(entry, qrUrl) {
    current = entry;
    const link = $('link');
    link.textContent = entry.url;
    link.href = /^https?:\/\//.test(entry.url) ? entry.url : '#';
    $('qr').src = qrUrl;
    $('result-e2e').hidden = !entry.encrypted;
    $('result-what').textContent = (KIND_WORDS[entry.kind] || 'Item') + ': ' +
      (entry.summary || entry.name || 'untitled');
    $('expires').textContent = 'Expires ' + whenText(entry.expires_at) + '.';
    $('copied').textContent = '';
    form.hidden = true;
    $('result').hidden = false;
    $('result-title').focus();
  }

  form.addEventListener('submit', submit);

  $('copy').addEventListener('click', async function () {
    const url = $('link').href;
    let ok = false;
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(url);
        ok = true;
      } catch (e) {
        ok = false;
      }
    }
    if (!ok) {
      // Plain HTTP on a LAN has no clipboard API: copy from a selection.
      const t = el('textarea');
      t.value = url;
      t.setAttribute('readonly', '');
      t.className = 'offscreen';
      document.body.append(t);
      t.select();
      try {
        ok = document.execCommand('copy');
      } catch (e) {
        ok = false;
      }
      t.remove();
    }
    $('copied').textContent = ok ? 'Copied.' : 'Select the link and copy it.';
  });

  // A clean form on the same tab: fields emptied, the event's times anew,
  // added phone and email rows and the chosen file dropped.
  function resetForm() {
    const k = kind();
    const keepTtl = $('ttl').value;
    const keepEncrypt = encryptBox.checked;
    form.reset();
    selectKind(k);
    $('ttl').value = keepTtl;
    encryptBox.checked = keepEncrypt;
    showEncryption();
    evAllDay.dispatchEvent(new Event('change'));
    eventDefaults();
    for (const list of [$('ct-phones'), $('ct-emails')])
      while (list.children.length > 1) list.lastElementChild.remove();
    chosenFile = null;
    for (const img of preview.querySelectorAll('img')) URL.revokeObjectURL(img.src);
    preview.textContent = '';
    preview.hidden = true;
  }

  $('again').addEventListener('click', function () {
    current = null;
    resetForm();
    $('result').hidden = true;
    $('qr').removeAttribute('src');
    form.hidden = false;
    const first = $('panel-' + kind()).querySelector('input, textarea');
    if (first) first.focus();
  });

  // ------------------------------------------------- sent from this device

  function loadSent() {
    let list = [];
    try {
      list = JSON.parse(localStorage.getItem(STORE_KEY) || '[]');
    } catch (e) {
      list = [];
    }
    if (!Array.isArray(list)) list = [];
    const now = Date.now();
    return list.filter((e) => e && typeof e.url === 'string' && typeof e.owner_token === 'string' &&
      Date.parse(e.expires_at) > now);
  }

  function saveSent(list) {
    try {
      localStorage.setItem(STORE_KEY, JSON.stringify(list.slice(0, MAX_SENT)));
    } catch (e) {
      // Storage full or disabled (private mode): the list is not kept.
    }
  }

  function remember(entry) {
    const list = loadSent().filter((e) => e.url !== entry.url);
    list.unshift(entry);
    saveSent(list);
    renderSent();
  }

  function idOf(entry) {
    return entry.id || entry.url.replace(/[#?].*$/, '').split('/').pop();
  }

  async function deleteEntry(entry, button) {
    const box = $('sent-error');
    box.hidden = true;
    button.disabled = true;
    try {
      const r = await fetch('/api/v1/items/' + encodeURIComponent(idOf(entry)), {
        method: 'DELETE', headers: { 'Authorization': 'Bearer ' + entry.owner_token },
      });
      // 404: already expired, used up or deleted elsewhere; gone either way.
      if (!r.ok && r.status !== 404) {
        const answer = await r.json().catch(() => ({}));
        box.textContent = answer.message || ('The server answered ' + r.status + '.');
        box.hidden = false;
        button.disabled = false;
        return;
      }
    } catch (e) {
      box.textContent = 'Cannot reach the server: ' + e.message;
      box.hidden = false;
      button.disabled = false;
      return;
    }
    saveSent(loadSent().filter((e) => e.url !== entry.url));
    if (current && current.url === entry.url) {
      $('expires').textContent = 'Deleted: this link no longer works.';
    }
    renderSent();
  }

  function renderSent() {
    const list = loadSent();
    saveSent(list); // drops the expired ones for good
    const ul = $('sent-list');
    ul.textContent = '';
    $('sent').hidden = list.length === 0;
    for (const entry of list) {
      const li = el('li');
      const text = el('div', null, 'sent-text');
      const a = el('a', entry.summary || entry.name || entry.url);
      if (/^https?:\/\//.test(entry.url)) a.href = entry.url;
      text.append(a, el('span', (KIND_WORDS[entry.kind] ? KIND_WORDS[entry.kind] + ' \u00b7 ' : '') +
        'expires ' + whenText(entry.expires_at), 'muted'));
      const del = el('button', 'Delete', 'secondary small');
      del.type = 'button';
      del.setAttribute('aria-label', 'Delete \u201c' + (entry.summary || entry.name || entry.url) + '\u201d');
      del.addEventListener('click', () => deleteEntry(entry, del));
      li.append(text, del);
      ul.append(li);
    }
  }

  eventDefaults();
  showPanel();
  showEncryption();
  renderSent();
})();
