// From one device to another, for an event: compose it on a desktop, take
// the QR code from the page and decode it (zbarimg), open that URL on an
// iPhone and an Android phone (viewports and user agents), see the title and
// the local time with its zone, tap "Add to calendar" and check the download
// is a valid .ics with the same event. Hostile input typed into the form
// stays text on both pages. Screenshots go to output/event/.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE, DESKTOP, PHONES, launch, context, guard, shot, openCompose, fillEvent, sendAndWait,
  decodeQr, onDevice, download, control, checkWireFormat, component, post, format,
} from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// Composes on a desktop; returns {url, id, sent} (sent: the stored .ics).
async function composeOnDesktop(ev, name) {
  const ctx = await context(browser, DESKTOP);
  const g = guard(ctx);
  let out;
  try {
    const page = await openCompose(ctx);
    await fillEvent(page, ev);
    const { url, text } = await sendAndWait(page);
    assert.equal(text, url, 'the page shows the URL');
    const scanned = await decodeQr(page.locator('#qr'), name + '/qr-desktop');
    assert.equal(scanned, url, 'the QR code holds the link');
    await shot(page, name + '/compose-result-desktop');
    const id = url.split('/').pop();
    const raw = await fetch(BASE + '/' + id + '/raw');
    out = { url, id, sent: await raw.text() };
  } finally {
    await ctx.close();
  }
  g.check();
  return out;
}

// The .ics a phone downloaded holds the event the desktop sent.
function checkSameEvent(got, sent, what) {
  const lines = checkWireFormat(got, what);
  const cal = component(lines, 'VCALENDAR');
  assert.equal(cal.VERSION[0].value, '2.0', what + ': VERSION');
  assert.ok(cal.PRODID, what + ': PRODID');
  const a = component(lines, 'VEVENT');
  const b = component(format.contentLines(sent), 'VEVENT');
  assert.ok(a, what + ': has a VEVENT');
  for (const prop of ['UID', 'SUMMARY', 'DTSTART', 'DTEND', 'LOCATION', 'DESCRIPTION']) {
    const norm = (v) => (v || []).map((x) => ({ params: x.params, value: format.unescapeText(x.value) }));
    assert.deepEqual(norm(a[prop]), norm(b[prop]), what + ': same ' + prop);
  }
  assert.ok(component(lines, 'VTIMEZONE'), what + ': keeps the VTIMEZONE');
  return a;
}

test('event: desktop to iPhone and Android, Add to calendar', async () => {
  const ev = {
    title: 'Team lunch', start: '2027-06-12T12:30', end: '2027-06-12T13:45',
    place: 'Café Münz, 2nd floor', notes: 'Bring: the slides; a pen, paper.\nTable for 6',
  };
  const { url, sent } = await composeOnDesktop(ev, 'event');
  const built = component(format.contentLines(sent), 'VEVENT');
  assert.deepEqual(built.DTSTART[0], { params: { TZID: 'Europe/Berlin' }, value: '20270612T123000' });

  await onDevice(browser, { ...DESKTOP }, url, 'event/item-desktop');
  for (const [phone, scheme] of [['iphone', 'light'], ['android', 'dark']]) {
    await onDevice(browser, { ...PHONES[phone], colorScheme: scheme }, url, `event/item-${phone}-${scheme}`,
      async (page) => {
        await page.getByRole('heading', { name: 'Team lunch' }).waitFor();
        const when = page.locator('time').filter({ hasText: '12:30' }).first();
        await when.waitFor();
        assert.match(await when.textContent(), /12 June 2027/);
        await page.getByText('13:45').first().waitFor();
        await page.getByText('Europe/Berlin').first().waitFor();
        await page.getByText('Café Münz, 2nd floor').waitFor();
        const sub = control(page, 'Subscribe');
        assert.match(await sub.getAttribute('href'), /^webcal:\/\/127\.0\.0\.1:\d+\/[a-z2-7]{26}\.ics$/);
        const file = await download(page, 'Add to calendar', `event/add-to-calendar-${phone}.ics`);
        assert.match(file.name, /\.ics$/, 'a .ics file: ' + file.name);
        checkSameEvent(file.text, sent, phone);
        // Valid for the server's own checks (libical plus RFC 5545 rules) too.
        const [status, answer] = await post(file.text, 'text/calendar', { ttl: '10m' });
        assert.equal(status, 201, JSON.stringify(answer));
      });
  }
});

test('all-day event: dates on the phone, VALUE=DATE in the download', async () => {
  const { url, sent } = await composeOnDesktop({
    title: 'Company retreat', allDay: true, firstDay: '2027-07-01', lastDay: '2027-07-03',
  }, 'event-all-day');
  await onDevice(browser, PHONES.android, url, 'event-all-day/item-android', async (page) => {
    await page.getByRole('heading', { name: 'Company retreat' }).waitFor();
    await page.getByText(/1 July 2027/).first().waitFor();
    await page.getByText(/3 July 2027/).first().waitFor();
    const file = await download(page, 'Add to calendar', 'event-all-day/add-to-calendar-android.ics');
    const a = component(checkWireFormat(file.text, 'all-day'), 'VEVENT');
    const b = component(format.contentLines(sent), 'VEVENT');
    assert.deepEqual(a.DTSTART, [{ params: { VALUE: 'DATE' }, value: '20270701' }]);
    assert.deepEqual(a.DTEND, [{ params: { VALUE: 'DATE' }, value: '20270704' }]);
    assert.deepEqual(a.UID, b.UID);
  });
});

test('hostile input typed into the form stays text on both pages', async () => {
  const hostile = '<img src=x onerror=alert(1)>';
  const { url, sent } = await composeOnDesktop({
    title: hostile, start: '2027-06-12T12:30', end: '2027-06-12T13:00',
    place: '"><script>alert(2)</script>', notes: '<b>bold</b> & <i>x</i>',
  }, 'event-hostile');
  const ev = component(format.contentLines(sent), 'VEVENT');
  assert.equal(format.unescapeText(ev.SUMMARY[0].value), hostile);
  for (const [phone, opts] of [['iphone', PHONES.iphone], ['desktop', DESKTOP]]) {
    await onDevice(browser, opts, url, `event-hostile/item-${phone}`, async (page) => {
      await page.getByRole('heading', { name: hostile }).waitFor();
      await page.getByText('"><script>alert(2)</script>').waitFor();
      await page.getByText('<b>bold</b> & <i>x</i>').waitFor();
      assert.equal(await page.locator('img[src="x"], main b, main i, main script').count(), 0,
        'no element from the input');
      await page.waitForTimeout(200); // an onerror would have fired by now
    });
  }
});
