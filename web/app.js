// The compose page: send a note or a file, then show its link and QR code.
// All user content is put into the page as text (textContent), never as markup.
'use strict';

(function () {
  const form = document.getElementById('compose');
  const note = document.getElementById('note');
  const file = document.getElementById('file');
  const ttl = document.getElementById('ttl');
  const send = document.getElementById('send');
  const error = document.getElementById('error');
  const result = document.getElementById('result');
  const link = document.getElementById('link');
  const qr = document.getElementById('qr');
  const expires = document.getElementById('expires');
  const copied = document.getElementById('copied');
  let dropped = null;

  function showError(message) {
    error.textContent = message;
    error.hidden = false;
  }

  async function submit(event) {
    event.preventDefault();
    error.hidden = true;
    const chosen = dropped || (file.files.length ? file.files[0] : null);
    let body, type, name = '';
    if (chosen) {
      body = chosen;
      type = chosen.type || 'application/octet-stream';
      name = chosen.name;
    } else if (note.value.trim() !== '') {
      body = note.value;
      type = 'text/plain; charset=utf-8';
    } else {
      showError('Write a note or choose a file first.');
      return;
    }
    const params = new URLSearchParams({ ttl: ttl.value });
    if (name) params.set('name', name);
    send.disabled = true;
    try {
      const response = await fetch('/api/v1/items?' + params.toString(), {
        method: 'POST',
        headers: { 'Content-Type': type, 'Accept': 'application/json' },
        body: body,
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) {
        showError(answer.message || ('The server answered ' + response.status + '.'));
        return;
      }
      link.textContent = answer.url;
      link.href = answer.url;
      qr.src = answer.qr_svg_url;
      expires.textContent = 'Expires ' + new Date(answer.expires_at).toLocaleString() + '.';
      form.hidden = true;
      result.hidden = false;
    } catch (e) {
      showError('Cannot reach the server: ' + e.message);
    } finally {
      send.disabled = false;
    }
  }

  form.addEventListener('submit', submit);
  document.getElementById('copy').addEventListener('click', async function () {
    try {
      await navigator.clipboard.writeText(link.href);
    } catch (e) {
      // Plain HTTP on a LAN has no clipboard API: select the link instead.
      const range = document.createRange();
      range.selectNodeContents(link);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      document.execCommand('copy');
    }
    copied.hidden = false;
  });
  document.getElementById('again').addEventListener('click', function () {
    form.reset();
    dropped = null;
    copied.hidden = true;
    result.hidden = true;
    form.hidden = false;
  });
  document.addEventListener('dragover', function (e) {
    e.preventDefault();
    document.getElementById('drop').hidden = false;
  });
  document.addEventListener('drop', function (e) {
    e.preventDefault();
    if (e.dataTransfer.files.length) {
      dropped = e.dataTransfer.files[0];
      document.getElementById('drop').textContent = 'Ready to send: ' + dropped.name;
    }
  });
})();
