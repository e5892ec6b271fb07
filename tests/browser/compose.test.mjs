// The compose page on its own: looks (screenshots, light and dark, desktop
// and phone), keyboard use, validation, the server's 422 shown to the user,
// file previews, Copy, the "Sent from this device" list with Delete, and
// hostile input shown as text. Every test fails on a dialog, a console
// error, an uncaught exception or a CSP violation.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE, DESKTOP, PHONES, launch, context, guard, shot, openCompose, fillEvent, fillContact,
  dropFile, sendAndWait, chooseTab,
} from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// Runs fn(page) in a fresh context; checks the guards afterwards.
async function withPage(opts, fn, allow) {
  const ctx = await context(browser, opts);
  const g = guard(ctx, allow);
  try {
    const page = await openCompose(ctx);
    await fn(page, ctx);
  } finally {
    await ctx.close();
  }
  g.check();
}

// In the page: the selectors whose text has less than 4.5:1 contrast with
// the first opaque background behind it.
function contrastProblems(selectors) {
  const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const out = [];
  for (const sel of selectors) {
    const el = document.querySelector(sel);
    if (!el) { out.push(sel + ': missing'); continue; }
    let bgEl = el;
    let bg = null;
    while (bgEl) {
      const c = rgb(getComputedStyle(bgEl).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) { bg = c.slice(0, 3); break; }
      bgEl = bgEl.parentElement;
    }
    bg = bg || [255, 255, 255];
    const fg = rgb(getComputedStyle(el).color).slice(0, 3);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) out.push(sel + ': ' + ratio.toFixed(2));
  }
  return out;
}

test('the compose page in light and dark, desktop and phone', async () => {
  for (const [device, opts] of [['desktop', DESKTOP], ['phone', PHONES.iphone]]) {
    for (const scheme of ['light', 'dark']) {
      await withPage({ ...opts, colorScheme: scheme }, async (page) => {
        await shot(page, `compose/event-${device}-${scheme}`);
        await chooseTab(page, 'Contact');
        await page.getByRole('button', { name: 'Add another phone' }).click();
        await shot(page, `compose/contact-${device}-${scheme}`);
        await chooseTab(page, 'File');
        await dropFile(page, 'holidays.ics', 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Beach\r\n' +
          'DTSTART;VALUE=DATE:20270801\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n');
        await page.getByText('Beach').waitFor();
        await shot(page, `compose/file-${device}-${scheme}`);
        // Text contrast (WCAG AA, 4.5:1) of every kind of text on the page.
        const low = await page.evaluate(contrastProblems, ['h1', '.lead', 'legend', 'label[for=file]',
          '.tabs label[for=kind-event]', '.tabs label[for=kind-file]', '#send', '.drop', '.preview li',
          '.preview-title', 'label[for=ttl]', 'select']);
        assert.deepEqual(low, [], scheme + ' ' + device + ': low contrast');
        const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        assert.equal(bg, scheme === 'dark' ? 'rgb(18, 20, 23)' : 'rgb(255, 255, 255)');
      });
    }
  }
});

test('tabs work from the keyboard, with a visible focus', async () => {
  await withPage(DESKTOP, async (page) => {
    await page.getByRole('radio', { name: 'Event' }).focus();
    await page.keyboard.press('ArrowRight');
    assert.ok(await page.getByRole('radio', { name: 'Contact' }).isChecked());
    assert.ok(await page.getByLabel('First name').isVisible());
    assert.ok(!(await page.getByLabel('Title').isVisible()));
    const outline = await page.locator('label[for=kind-contact]').evaluate((l) => getComputedStyle(l).outlineStyle);
    assert.equal(outline, 'solid', 'the focused tab shows an outline');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'note');
    await page.keyboard.type('typed from the keyboard');
    await page.keyboard.press('Tab'); // Encrypt (end-to-end), off here: no password field
    assert.equal(await page.evaluate(() => document.activeElement.id), 'encrypt');
    await page.keyboard.press('Tab'); // the expiry
    await page.keyboard.press('Tab'); // Send
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Open this on the other device' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'result-title');
  });
});

test('every field has a label', async () => {
  await withPage(DESKTOP, async (page) => {
    const unlabelled = await page.evaluate(() => Array.from(
      document.querySelectorAll('input, select, textarea'))
      .filter((i) => !i.labels || i.labels.length === 0)
      .map((i) => i.id || i.name));
    assert.deepEqual(unlabelled, []);
  });
});

test('validation: a title is needed, the end comes after the start', async () => {
  await withPage(DESKTOP, async (page) => {
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'Give the event a title.' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'ev-title');
    assert.equal(await page.getByLabel('Title').getAttribute('aria-invalid'), 'true');
    await fillEvent(page, { title: 'Backwards', start: '2027-06-12T12:30', end: '2027-06-12T11:00' });
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.getByText('The event must end after it starts.').waitFor();
    // Moving the start keeps the duration.
    await page.getByLabel('Ends').fill('2027-06-12T14:00');
    await page.getByLabel('Starts').fill('2027-06-13T09:00');
    assert.equal(await page.getByLabel('Ends').inputValue(), '2027-06-13T10:30');
    await chooseTab(page, 'Contact');
    await page.getByLabel('Email').fill('not an address');
    await page.getByLabel('First name').fill('Someone');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.getByText('This is not an email address.').waitFor();
  });
});

test('a file the server refuses (422) shows the server\'s message', async () => {
  await withPage(DESKTOP, async (page) => {
    await dropFile(page, 'broken.ics', 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VCALENDAR\r\n');
    assert.ok(await page.getByRole('radio', { name: 'File' }).isChecked(), 'a drop selects the File tab');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const alert = page.locator('#error');
    await alert.waitFor();
    const text = await alert.textContent();
    assert.match(text, /line|VEVENT|VCALENDAR|END/i, 'the message says what is wrong: ' + text);
    assert.ok(await page.locator('#compose').isVisible(), 'the form stays for a retry');
    await shot(page, 'compose/error-422-desktop');
  }, [/status of 422/]);
});

test('a chosen .vcf file is previewed by name, as text', async () => {
  await withPage(PHONES.android, async (page) => {
    await chooseTab(page, 'File');
    await page.getByLabel(/Choose a file/).setInputFiles({
      name: 'people.vcf', mimeType: 'text/x-vcard',
      buffer: Buffer.from('BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Grace <b>Hopper</b>\r\nORG:Navy\r\nEND:VCARD\r\n' +
        'BEGIN:VCARD\r\nVERSION:3.0\r\nN:Turing;Alan;;;\r\nEND:VCARD\r\n'),
    });
    await page.getByText('2 contacts').waitFor();
    await page.getByText('Grace <b>Hopper</b> · Navy').waitFor();
    await page.getByText('Alan Turing').waitFor();
    assert.equal(await page.locator('#preview b').count(), 0, 'no markup from the file');
    await shot(page, 'compose/preview-vcf-phone');
  });
});

test('a note: link, QR code, Copy, expiry; the sent list keeps it, Delete removes it', async () => {
  await withPage(DESKTOP, async (page, ctx) => {
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
    await chooseTab(page, 'Note');
    await page.getByLabel('Text').fill('The wifi password is hunter2');
    await page.getByLabel('Link expires after').selectOption('10m');
    const { url } = await sendAndWait(page);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/[a-z2-7]{26}$/);
    const box = await page.locator('#qr').boundingBox();
    assert.ok(box.width >= 300 && box.height >= 300, 'the QR code is large on a desktop: ' + box.width);
    assert.match(await page.locator('#expires').textContent(), /Expires .*\(in 10 minutes\)/);
    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await page.getByText('Copied.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url);
    await shot(page, 'compose/result-note-desktop');

    const list = page.getByRole('list').filter({ has: page.getByRole('link', { name: 'The wifi password is hunter2' }) });
    await list.waitFor();
    // Kept across a reload; expired entries are dropped, from storage too.
    await page.evaluate(() => {
      const l = JSON.parse(localStorage.getItem('linksync.sent.v1'));
      l.push({ url: 'http://127.0.0.1/aaaaaaaaaaaaaaaaaaaaaaaaaa', summary: 'Old one', owner_token: 't',
        expires_at: '2020-01-01T00:00:00Z' });
      localStorage.setItem('linksync.sent.v1', JSON.stringify(l));
    });
    await page.reload();
    await page.getByRole('heading', { name: 'Sent from this device' }).waitFor();
    assert.equal(await page.getByText('Old one').count(), 0);
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('linksync.sent.v1')));
    assert.deepEqual(stored.map((e) => e.summary), ['The wifi password is hunter2']);
    assert.deepEqual(Object.keys(stored[0]).sort(),
      ['expires_at', 'id', 'kind', 'name', 'owner_token', 'summary', 'url']);
    await shot(page, 'compose/sent-list-desktop');

    const id = url.split('/').pop();
    assert.equal((await fetch(BASE + '/' + id + '/raw')).status, 200);
    const [req] = await Promise.all([
      page.waitForRequest((r) => r.method() === 'DELETE'),
      page.getByRole('button', { name: /^Delete .*hunter2/ }).click(),
    ]);
    assert.equal(req.url(), BASE + '/api/v1/items/' + id);
    assert.equal(req.headers().authorization, 'Bearer ' + stored[0].owner_token);
    await page.getByRole('heading', { name: 'Sent from this device' }).waitFor({ state: 'hidden' });
    assert.equal((await fetch(BASE + '/' + id + '/raw')).status, 404, 'the item is gone');
  });
});

test('newest first in the sent list', async () => {
  await withPage(PHONES.iphone, async (page) => {
    for (const text of ['first note', 'second note']) {
      await chooseTab(page, 'Note');
      await page.getByLabel('Text').fill(text);
      await sendAndWait(page);
      await page.getByRole('button', { name: 'Send something else' }).click();
      assert.equal(await page.getByLabel('Text').inputValue(), '', 'a clean form');
      assert.ok(await page.getByRole('radio', { name: 'Note' }).isChecked(), 'on the same tab');
    }
    const names = await page.locator('#sent-list a').allTextContents();
    assert.deepEqual(names.slice(0, 2), ['second note', 'first note']);
    await shot(page, 'compose/sent-list-phone');
  });
});

test('hostile input in the form stays text on the compose page', async () => {
  const hostile = '<img src=x onerror=alert(1)>';
  await withPage(DESKTOP, async (page) => {
    await fillEvent(page, { title: hostile, start: '2027-06-12T12:30', end: '2027-06-12T13:00', place: '<script>alert(2)</script>' });
    await sendAndWait(page);
    assert.ok((await page.locator('#result-what').textContent()).startsWith('Event: ' + hostile));
    await page.locator('#sent-list').getByRole('link', { name: hostile }).waitFor();
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    await page.waitForTimeout(200); // an onerror would have fired by now
  });
});
