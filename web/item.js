// The item page's progressive parts: the Copy button of a note, and the
// viewer's own time next to times the page states in the event's zone (or in
// UTC for the expiry). The page works without this file. User content is
// only ever read as text here (textContent), never written as markup.
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

  document.querySelectorAll('button[data-copy]').forEach(setupCopy);
  // Only the first time of each line: the start, and the expiry.
  document.querySelectorAll('.when, .expires').forEach(function (line) {
    const first = line.querySelector('time[data-wall]');
    if (first) addLocalTime(line, first);
  });
})();
