// The compose page's file builders (web/compose-format.js) in node: RFC 5545
// and vCard 3.0 wire format, escaping, folding, time zones; and the server's
// own checks (libical, the vCard parser) accept what they build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { format as F, checkWireFormat, component, post } from './lib.mjs';

const EVENT = {
  title: 'Team lunch', start: '2026-06-12T12:30', end: '2026-06-12T13:45',
  timeZone: 'Europe/Berlin', location: 'Café Münz, 2nd floor', notes: 'Bring: a; b, c\\d\nline 2',
  now: Date.UTC(2026, 10, 27, 15, 4, 5), uid: 'fixed-uid@linksync',
};

test('fold: 75 octets per line, never inside a UTF-8 sequence', () => {
  assert.equal(F.fold('A'.repeat(75)), 'A'.repeat(75));
  assert.equal(F.fold('A'.repeat(76)), 'A'.repeat(75) + '\r\n A');
  const long = 'SUMMARY:' + 'é'.repeat(100) + '😀'.repeat(30);
  const folded = F.fold(long);
  for (const line of folded.split('\r\n')) assert.ok(Buffer.byteLength(line) <= 75, line);
  assert.equal(folded.replace(/\r\n /g, ''), long);
  // The first continuation cut: 8 ASCII + 33 two-octet letters = 74; a 34th would make 76.
  assert.equal(folded.split('\r\n')[0], 'SUMMARY:' + 'é'.repeat(33));
});

test('escapeText: backslash, semicolon, comma, newlines; control characters dropped', () => {
  assert.equal(F.escapeText('a\\b;c,d\ne\r\nf\rg'), 'a\\\\b\\;c\\,d\\ne\\nf\\ng');
  assert.equal(F.escapeText('x\u0000y\u0007z\tw'), 'xyz\tw');
  assert.equal(F.unescapeText(F.escapeText('a\\b;c,d\ne')), 'a\\b;c,d\ne');
});

test('buildEvent: timed event in the browser zone, with its VTIMEZONE', () => {
  const ics = F.buildEvent(EVENT);
  const lines = checkWireFormat(ics, 'event');
  assert.equal(lines[0], 'BEGIN:VCALENDAR');
  assert.equal(lines.at(-1), 'END:VCALENDAR');
  const cal = component(lines, 'VCALENDAR');
  assert.equal(cal.VERSION[0].value, '2.0');
  assert.match(cal.PRODID[0].value, /linksync/);
  const ev = component(lines, 'VEVENT');
  assert.equal(ev.UID[0].value, 'fixed-uid@linksync');
  assert.equal(ev.DTSTAMP[0].value, '20261127T150405Z');
  assert.deepEqual(ev.DTSTART[0], { params: { TZID: 'Europe/Berlin' }, value: '20260612T123000' });
  assert.deepEqual(ev.DTEND[0], { params: { TZID: 'Europe/Berlin' }, value: '20260612T134500' });
  assert.equal(ev.SUMMARY[0].value, 'Team lunch');
  assert.equal(ev.LOCATION[0].value, 'Café Münz\\, 2nd floor');
  assert.equal(ev.DESCRIPTION[0].value, 'Bring: a\\; b\\, c\\\\d\\nline 2');
  const tz = component(lines, 'VTIMEZONE');
  assert.equal(tz.TZID[0].value, 'Europe/Berlin');
  // 2026: CEST from 29 March 02:00 (+0100), CET from 25 October 03:00 (+0200).
  assert.match(ics, /BEGIN:DAYLIGHT\r\nDTSTART:20260329T020000\r\nTZOFFSETFROM:\+0100\r\nTZOFFSETTO:\+0200\r\n/);
  assert.match(ics, /BEGIN:STANDARD\r\nDTSTART:20261025T030000\r\nTZOFFSETFROM:\+0200\r\nTZOFFSETTO:\+0100\r\n/);
});

test('vtimezone: southern hemisphere, half-hour DST, fixed zones', () => {
  const syd = F.vtimezone('Australia/Sydney', 2026, 2026).join('\n');
  // AEDT ends 5 April 03:00 (+1100 -> +1000), starts 4 October 02:00.
  assert.match(syd, /BEGIN:STANDARD\nDTSTART:20260405T030000\nTZOFFSETFROM:\+1100\nTZOFFSETTO:\+1000/);
  assert.match(syd, /BEGIN:DAYLIGHT\nDTSTART:20261004T020000\nTZOFFSETFROM:\+1000\nTZOFFSETTO:\+1100/);
  const lh = F.vtimezone('Australia/Lord_Howe', 2026, 2026).join('\n');
  assert.match(lh, /TZOFFSETFROM:\+1100\nTZOFFSETTO:\+1030/);
  const kol = F.vtimezone('Asia/Kolkata', 2026, 2027);
  assert.equal(kol.filter((l) => /^BEGIN:(STANDARD|DAYLIGHT)$/.test(l)).length, 1);
  assert.ok(kol.includes('TZOFFSETTO:+0530'));
  const ny = F.vtimezone('America/New_York', 2026, 2026).join('\n');
  assert.match(ny, /BEGIN:DAYLIGHT\nDTSTART:20260308T020000\nTZOFFSETFROM:-0500\nTZOFFSETTO:-0400\nTZNAME:EDT/);
});

test('buildEvent: all-day as VALUE=DATE with DTEND the day after the last day', () => {
  const ics = F.buildEvent({ ...EVENT, allDay: true, start: '2026-12-31', end: '2027-01-01' });
  const lines = checkWireFormat(ics, 'all-day');
  const ev = component(lines, 'VEVENT');
  assert.deepEqual(ev.DTSTART[0], { params: { VALUE: 'DATE' }, value: '20261231' });
  assert.deepEqual(ev.DTEND[0], { params: { VALUE: 'DATE' }, value: '20270102' });
  assert.equal(component(lines, 'VTIMEZONE'), null, 'no VTIMEZONE for floating dates');
  const one = component(checkWireFormat(F.buildEvent({ ...EVENT, allDay: true, start: '2026-02-28', end: '' }), 'x'), 'VEVENT');
  assert.equal(one.DTEND[0].value, '20260301');
});

test('buildEvent: a UTC browser writes UTC times and no VTIMEZONE', () => {
  const lines = checkWireFormat(F.buildEvent({ ...EVENT, timeZone: 'UTC' }), 'utc');
  const ev = component(lines, 'VEVENT');
  assert.deepEqual(ev.DTSTART[0], { params: {}, value: '20260612T123000Z' });
  assert.equal(component(lines, 'VTIMEZONE'), null);
});

test('buildEvent: hostile and long titles stay one escaped, folded property', () => {
  const title = '<img src=x onerror=alert(1)>;,\\' + ' long'.repeat(40) + '\nBEGIN:VEVENT';
  const lines = checkWireFormat(F.buildEvent({ ...EVENT, title }), 'hostile');
  const ev = component(lines, 'VEVENT');
  assert.equal(F.unescapeText(ev.SUMMARY[0].value), title);
  assert.equal(lines.filter((l) => l === 'BEGIN:VEVENT').length, 1);
  assert.equal(F.previewCalendar(lines.join('\r\n'))[0].title, title);
});

test('uuid: version 4 form, unique', () => {
  const a = F.uuid();
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(a, F.uuid());
});

test('buildContact: vCard 3.0 with N, FN, ORG, TEL, EMAIL, escaped and folded', () => {
  const vcf = F.buildContact({
    given: 'Ada', family: 'King, Countess; of Lovelace', org: 'Analytical Engines; Ltd',
    phones: ['+44 20 7946 0958', ' ', '+44 7700 900123'], emails: ['ada@example.org'],
  });
  const lines = checkWireFormat(vcf, 'contact');
  const card = component(lines, 'VCARD');
  assert.equal(card.VERSION[0].value, '3.0');
  assert.equal(card.FN[0].value, 'Ada King\\, Countess\\; of Lovelace');
  assert.equal(card.N[0].value, 'King\\, Countess\\; of Lovelace;Ada;;;');
  assert.equal(card.ORG[0].value, 'Analytical Engines\\; Ltd');
  assert.deepEqual(card.TEL.map((t) => [t.params.TYPE, t.value]),
    [['CELL', '+44 20 7946 0958'], ['CELL', '+44 7700 900123']]);
  assert.equal(card.EMAIL[0].value, 'ada@example.org');
  const p = F.previewContacts(vcf);
  assert.deepEqual(p, [{ name: 'Ada King, Countess; of Lovelace', org: 'Analytical Engines; Ltd', phones: 2, emails: 1 }]);
});

test('fileName: no path separators or control characters, bounded', () => {
  assert.equal(F.fileName('Team lunch', '.ics'), 'Team lunch.ics');
  assert.equal(F.fileName('../a/b\\c\u0001d', '.ics'), 'a b c d.ics');
  assert.equal(F.fileName('   ', '.vcf'), 'item.vcf');
  assert.ok(F.fileName('x'.repeat(300), '.ics').length <= 84);
});

test('previews: folded lines, several events and cards, N when FN is missing', () => {
  const cal = 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:One\\, two\r\nDTSTART:20260102T030000Z\r\nEND:VEVENT\r\n' +
    'BEGIN:VEVENT\r\nSUMMARY:Th\r\n ree\r\nDTSTART;VALUE=DATE:20260105\r\nLOCATION:Here\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
  assert.deepEqual(F.previewCalendar(cal), [
    { title: 'One, two', when: '2026-01-02 03:00 UTC', location: '' },
    { title: 'Three', when: '2026-01-05', location: 'Here' },
  ]);
  const vcf = 'BEGIN:VCARD\nVERSION:4.0\nN:Hopper;Grace;Brewster;RAdm.;\nEND:VCARD\n' +
    'BEGIN:VCARD\nVERSION:3.0\nitem1.FN:Alan Turing\nitem1.TEL;TYPE=CELL:1\nEND:VCARD\n';
  assert.deepEqual(F.previewContacts(vcf).map((c) => c.name), ['RAdm. Grace Brewster Hopper', 'Alan Turing']);
});

// The server checks calendars with libical (and RFC 5545 rules libical does
// not) and contacts with its own parser: what the page builds must pass, in
// zones with all kinds of rules.
test('the server accepts built events in many zones, and contacts', async () => {
  const zones = ['Europe/Berlin', 'America/New_York', 'America/St_Johns', 'Australia/Lord_Howe',
    'Pacific/Chatham', 'Asia/Kolkata', 'Asia/Kathmandu', 'America/Sao_Paulo', 'Africa/Casablanca',
    'Europe/Dublin', 'UTC'];
  for (const tz of zones) {
    const ics = F.buildEvent({ ...EVENT, title: 'In ' + tz, start: '2026-10-25T01:30', end: '2027-03-28T04:00', timeZone: tz, uid: undefined, now: undefined });
    const [status, answer] = await post(ics, 'text/calendar', { name: 'x.ics', ttl: '10m' });
    assert.equal(status, 201, tz + ': ' + JSON.stringify(answer));
    assert.equal(answer.kind, 'calendar');
    assert.match(answer.summary, new RegExp('^In ' + tz.replace('/', '\\/')));
  }
  const allDay = F.buildEvent({ ...EVENT, allDay: true, start: '2026-06-12', end: '2026-06-14' });
  assert.equal((await post(allDay, 'text/calendar', { ttl: '10m' }))[0], 201);
  const vcf = F.buildContact({ given: 'Ada', family: 'Lovelace', org: 'A; B', phones: ['+1 555'], emails: ['a@b.example'] });
  const [status, answer] = await post(vcf, 'text/vcard; charset=utf-8', { ttl: '10m' });
  assert.equal(status, 201, JSON.stringify(answer));
  assert.equal(answer.kind, 'contact');
  assert.equal(answer.summary, 'Ada Lovelace');
});
