// From one device to another, for a contact, a dropped file and a note:
// compose or drop on a desktop, decode the page's QR code (zbarimg), open
// the URL on phones, and check what they show and what they download
// ("Save contact", "Add to calendar", "Download", "Copy").
// Screenshots go to output/contact/, output/dropped-ics/, output/...
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE, DESKTOP, PHONES, launch, context, guard, shot, openCompose, fillContact, chooseTab,
  dropFile, sendAndWait, decodeQr, onDevice, download, control, checkWireFormat, component, format,
} from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// Runs fill(page) on the desktop compose page, sends, decodes the QR code;
// returns the URL.
async function composeOnDesktop(name, fill) {
  const ctx = await context(browser, DESKTOP);
  const g = guard(ctx);
  let url;
  try {
    const page = await openCompose(ctx);
    await fill(page);
    ({ url } = await sendAndWait(page));
    assert.equal(await decodeQr(page.locator('#qr'), name + '/qr-desktop'), url);
    await shot(page, name + '/compose-result-desktop');
  } finally {
    await ctx.close();
  }
  g.check();
  return url;
}

test('contact: desktop to iPhone and Android, Save contact gives vCard 3.0', async () => {
  const c = {
    given: 'Ada', family: 'Lovelace', org: 'Analytical Engines; Ltd',
    phones: ['+44 20 7946 0958', '+44 7700 900123'], emails: ['ada@example.org'],
  };
  const url = await composeOnDesktop('contact', (page) => fillContact(page, c));
  await onDevice(browser, DESKTOP, url, 'contact/item-desktop');
  for (const [phone, scheme] of [['iphone', 'dark'], ['android', 'light']]) {
    await onDevice(browser, { ...PHONES[phone], colorScheme: scheme }, url, `contact/item-${phone}-${scheme}`,
      async (page) => {
        await page.getByRole('heading', { name: 'Ada Lovelace' }).waitFor();
        await page.getByText('+44 20 7946 0958').waitFor();
        await page.getByText('+44 7700 900123').waitFor();
        await page.getByText('ada@example.org').waitFor();
        await page.getByText('Analytical Engines; Ltd').waitFor();
        const file = await download(page, 'Save contact', `contact/save-contact-${phone}.vcf`);
        assert.match(file.name, /\.vcf$/, 'a .vcf file: ' + file.name);
        const card = component(checkWireFormat(file.text, phone), 'VCARD');
        assert.equal(card.VERSION[0].value, '3.0');
        assert.equal(card.FN[0].value, 'Ada Lovelace');
        assert.match(card.N[0].value, /^Lovelace;Ada;/);
        assert.deepEqual(card.TEL.map((t) => t.value).sort(), c.phones.slice().sort());
        assert.equal(card.EMAIL[0].value, 'ada@example.org');
        assert.equal(format.unescapeText(card.ORG[0].value.replace(/;+$/, '')), c.org);
      });
  }
});

const HOLIDAYS = [
  'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//dropped file//EN',
  'BEGIN:VEVENT', 'UID:beach-2027@test', 'DTSTAMP:20261101T090000Z',
  'DTSTART;VALUE=DATE:20270801', 'DTEND;VALUE=DATE:20270815', 'SUMMARY:Beach holiday', 'END:VEVENT',
  'BEGIN:VEVENT', 'UID:flight-2027@test', 'DTSTAMP:20261101T090000Z',
  'DTSTART:20270801T061500Z', 'DTEND:20270801T084000Z', 'SUMMARY:Flight to Faro\\, seat 12A',
  'LOCATION:Terminal 1', 'END:VEVENT', 'END:VCALENDAR', '',
].join('\r\n');

test('dropped .ics file: previewed, sent, both events on the phone and in the download', async () => {
  const url = await composeOnDesktop('dropped-ics', async (page) => {
    await dropFile(page, 'holidays.ics', HOLIDAYS, '');
    await page.getByText('2 events').waitFor();
    await page.getByText('Beach holiday · 2027-08-01').waitFor();
    await page.getByText('Flight to Faro, seat 12A · 2027-08-01 06:15 UTC · Terminal 1').waitFor();
    await shot(page, 'dropped-ics/compose-preview-desktop');
  });
  await onDevice(browser, DESKTOP, url, 'dropped-ics/item-desktop');
  for (const phone of ['iphone', 'android']) {
    await onDevice(browser, PHONES[phone], url, `dropped-ics/item-${phone}`, async (page) => {
      await page.getByText('Beach holiday').first().waitFor();
      await page.getByText('Flight to Faro, seat 12A').first().waitFor();
      // 06:15 UTC is 08:15 in Berlin: either time, with its zone, is shown.
      await page.getByText(/06:15|08:15/).first().waitFor();
      const file = await download(page, 'Add to calendar', `dropped-ics/add-to-calendar-${phone}.ics`);
      const lines = checkWireFormat(file.text, phone);
      const uids = lines.filter((l) => l.startsWith('UID:')).sort();
      assert.deepEqual(uids, ['UID:beach-2027@test', 'UID:flight-2027@test']);
      assert.ok(lines.includes('SUMMARY:Flight to Faro\\, seat 12A'));
    });
  }
});

test('dropped photo: the phone downloads the same bytes', async () => {
  // A 2x2 PNG.
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==', 'base64');
  const url = await composeOnDesktop('dropped-photo', async (page) => {
    await dropFile(page, 'dot.png', png, 'image/png');
    await page.getByRole('img', { name: 'Preview of dot.png' }).waitFor();
  });
  await onDevice(browser, PHONES.android, url, 'dropped-photo/item-android', async (page) => {
    const file = await download(page, 'Download', 'dropped-photo/download-android.png');
    assert.ok(file.bytes.equals(png), 'the same bytes');
  });
});

test('note: the phone shows the text and copies it', async () => {
  const text = 'Door code 4711 <b>not bold</b>\nsecond line';
  const url = await composeOnDesktop('note', async (page) => {
    await chooseTab(page, 'Note');
    await page.getByLabel('Text').fill(text);
  });
  await onDevice(browser, PHONES.iphone, url, 'note/item-iphone', async (page, ctx) => {
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
    await page.getByText('Door code 4711 <b>not bold</b>').waitFor();
    assert.equal(await page.locator('main b').count(), 0);
    await control(page, 'Copy').tap();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), text);
  });
});
