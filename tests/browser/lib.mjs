// Shared helpers of the browser tests: Debian's chromium through
// playwright-core, desktop and phone contexts, guards that fail a test on a
// dialog, a console error, an uncaught exception or a CSP violation,
// screenshots under tests/browser/output/, and QR decoding with zbarimg.
// The server is started by run.sh, which exports LKS_BASE_URL.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import { chromium, devices } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SRC = path.resolve(here, '../..');
export const OUTPUT = process.env.LKS_BROWSER_OUTPUT || path.join(here, 'output');
export const BASE = process.env.LKS_BASE_URL || '';
export const TIME_ZONE = 'Europe/Berlin';
export const format = createRequire(import.meta.url)(path.join(SRC, 'web/compose-format.js'));

if (!BASE) throw new Error('LKS_BASE_URL is not set: run tests/browser/run.sh');

const run = promisify(execFile);

// extraArgs: more chromium flags (e.g. --host-resolver-rules for a name that
// is not a secure context).
export async function launch(extraArgs) {
  return chromium.launch({
    executablePath: process.env.LKS_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update'].concat(extraArgs || []),
  });
}

// Phones, as playwright describes them, less its choice of browser engine:
// chromium with the phone's viewport, scale, touch and user agent.
function phone(name) {
  const d = { ...devices[name] };
  delete d.defaultBrowserType;
  return d;
}
export const PHONES = {
  iphone: phone('iPhone 13'),
  android: phone('Pixel 7'),
};
export const DESKTOP = { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 };

// A new context with the test's time zone and the guards installed.
// opts: playwright context options (viewport, colorScheme, ...).
export async function context(browser, opts) {
  const ctx = await browser.newContext({
    timezoneId: TIME_ZONE, locale: 'en-GB', acceptDownloads: true, ...opts,
  });
  ctx.setDefaultTimeout(10000);
  await ctx.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI);
    });
  });
  return ctx;
}

// Fails the test (at check()) on any dialog, console error, uncaught
// exception or CSP report in any page of the context.
// allow: regular expressions of console errors that a test expects (the
// browser logs every non-2xx answer of fetch as an error).
export function guard(ctx, allow) {
  const problems = [];
  const allowed = (text) => (allow || []).some((re) => re.test(text));
  const watch = (page) => {
    page.on('dialog', (d) => {
      problems.push('dialog: ' + d.type() + ' ' + d.message());
      d.dismiss().catch(() => {});
    });
    page.on('console', (m) => {
      const text = 'console ' + m.type() + ': ' + m.text() + ' at ' + (m.location().url || '?');
      if ((m.type() === 'error' || m.type() === 'warning' && /Content Security Policy/i.test(m.text())) &&
          !allowed(text))
        problems.push(text);
    });
    page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
  };
  ctx.on('page', watch);
  for (const p of ctx.pages()) watch(p);
  return {
    problems,
    check() {
      assert.deepEqual(problems, [], 'the pages logged problems');
    },
  };
}

export function outputPath(...parts) {
  const p = path.join(OUTPUT, ...parts);
  mkdirSync(path.dirname(p), { recursive: true });
  return p;
}

// A full-page screenshot under output/NAME.png; returns its path.
export async function shot(page, name) {
  const file = outputPath(name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// Decodes the QR code shown by a locator (an <img>): screenshot, zbarimg.
export async function decodeQr(locator, name) {
  const file = outputPath(name + '.png');
  await locator.screenshot({ path: file });
  const { stdout } = await run('zbarimg', ['--raw', '-q', file]);
  return stdout.trim();
}

export function save(name, data) {
  const file = outputPath(name);
  writeFileSync(file, data);
  return file;
}

// Checks an iCalendar text the way RFC 5545 wants it written: CRLF line
// ends, lines of at most 75 octets, no bare CR or LF. Returns the unfolded
// content lines.
export function checkWireFormat(text, what) {
  assert.ok(text.endsWith('\r\n'), what + ' ends with CRLF');
  assert.ok(!/[^\r]\n/.test(text) && !/\r[^\n]/.test(text), what + ' uses CRLF only');
  for (const line of text.split('\r\n')) {
    assert.ok(Buffer.byteLength(line, 'utf8') <= 75, what + ': line longer than 75 octets: ' + line);
  }
  return format.contentLines(text).filter((l) => l !== '');
}

// The properties of the first component NAME of an unfolded text:
// {PROP: [{params, value}]}.
export function component(lines, name) {
  const out = {};
  let depth = -1;
  for (const line of lines) {
    const p = format.property(line);
    if (!p) continue;
    if (p.name === 'BEGIN') {
      if (depth >= 0) depth++;
      else if (p.value === name) depth = 0;
      continue;
    }
    if (p.name === 'END' && depth >= 0) {
      if (depth === 0) return out;
      depth--;
      continue;
    }
    if (depth === 0) (out[p.name] ||= []).push({ params: p.params, value: p.value });
  }
  return depth === 0 ? out : null;
}

// POSTs a body to the server as an item; returns [status, JSON].
export async function post(body, type, params) {
  const q = new URLSearchParams(params || {}).toString();
  const r = await fetch(BASE + '/api/v1/items' + (q ? '?' + q : ''), {
    method: 'POST', headers: { 'Content-Type': type, 'Accept': 'application/json' }, body,
  });
  return [r.status, await r.json()];
}

// --- The compose page, as a person uses it. ---

// Opens the compose page (with the guards already on the context). Its
// "Encrypt (end-to-end)" is on by default; the tests of the server-rendered
// pages turn it off, as a person would (opts.encrypt true keeps it on).
export async function openCompose(ctx, opts) {
  const page = await ctx.newPage();
  await page.goto(BASE + '/');
  await page.getByRole('heading', { name: 'Send to another device' }).waitFor();
  assert.ok(await page.getByLabel('Encrypt (end-to-end)').isChecked(), 'encryption is on by default');
  if (!(opts && opts.encrypt)) await page.getByLabel('Encrypt (end-to-end)').uncheck();
  return page;
}

// Chooses a tab (Event, Contact, Note, File) by clicking it, as a person does.
export async function chooseTab(page, name) {
  await page.locator('.tabs').getByText(name, { exact: true }).click();
  assert.ok(await page.getByRole('radio', { name }).isChecked(), name + ' tab chosen');
}

// Fills the Event tab. ev: {title, start, end, place, notes, allDay, firstDay, lastDay}.
export async function fillEvent(page, ev) {
  await chooseTab(page, 'Event');
  await page.getByLabel('Title').fill(ev.title);
  if (ev.allDay) {
    await page.getByLabel('All day').check();
    await page.getByLabel('First day').fill(ev.firstDay);
    await page.getByLabel('Last day').fill(ev.lastDay);
  } else {
    await page.getByLabel('Starts').fill(ev.start);
    await page.getByLabel('Ends').fill(ev.end);
  }
  if (ev.place) await page.getByLabel('Place').fill(ev.place);
  if (ev.notes) await page.getByLabel('Notes').fill(ev.notes);
}

// Fills the Contact tab. c: {given, family, phones: [], emails: [], org}.
export async function fillContact(page, c) {
  await chooseTab(page, 'Contact');
  await page.getByLabel('First name').fill(c.given || '');
  await page.getByLabel('Last name').fill(c.family || '');
  for (let i = 0; i < (c.phones || []).length; i++) {
    if (i > 0) await page.getByRole('button', { name: 'Add another phone' }).click();
    await page.locator('#ct-phones input').nth(i).fill(c.phones[i]);
  }
  for (let i = 0; i < (c.emails || []).length; i++) {
    if (i > 0) await page.getByRole('button', { name: 'Add another email' }).click();
    await page.locator('#ct-emails input').nth(i).fill(c.emails[i]);
  }
  if (c.org) await page.getByLabel('Organisation').fill(c.org);
}

// Drops a file (name, text or Buffer, type) on the page as a person would
// drag it from a file manager.
export async function dropFile(page, name, content, type) {
  const bytes = Array.from(Buffer.from(content));
  const dt = await page.evaluateHandle(([n, b, t]) => {
    const d = new DataTransfer();
    d.items.add(new File([new Uint8Array(b)], n, { type: t || '' }));
    return d;
  }, [name, bytes, type || '']);
  await page.dispatchEvent('main', 'dragenter', { dataTransfer: dt });
  await page.dispatchEvent('main', 'dragover', { dataTransfer: dt });
  await page.dispatchEvent('main', 'drop', { dataTransfer: dt });
}

// Presses Send and waits for the result: returns {url, text} of the link.
export async function sendAndWait(page) {
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  const heading = page.getByRole('heading', { name: 'Open this on the other device' });
  await heading.waitFor();
  const link = page.locator('#link');
  return { url: await link.getAttribute('href'), text: await link.textContent() };
}

// --- The item page on a phone. ---

// A control with this exact visible name, link or button.
export function control(page, name) {
  return page.getByRole('link', { name, exact: true })
    .or(page.getByRole('button', { name, exact: true })).first();
}

// Opens url in a new guarded context (a phone: opts from PHONES); runs
// fn(page, ctx); saves a screenshot as NAME; checks the guards.
// The item page links no icon, so browsers ask for /favicon.ico, which the
// server answers 404: the one console error accepted there (see the report;
// linking /static/favicon.svg from the page head would remove it).
const ITEM_PAGE_ALLOW = [];

export async function onDevice(browser, opts, url, name, fn, allow) {
  const ctx = await context(browser, opts);
  const g = guard(ctx, ITEM_PAGE_ALLOW.concat(allow || []));
  try {
    const page = await ctx.newPage();
    const response = await page.goto(url);
    assert.equal(response.status(), 200, url);
    await page.waitForLoadState('load');
    await shot(page, name);
    if (fn) await fn(page, ctx);
  } finally {
    await ctx.close();
  }
  g.check();
}

// Taps (touch) or clicks a control and returns the download it starts:
// {name, text, bytes}.
export async function download(page, name, file) {
  const c = control(page, name);
  const touch = await page.evaluate(() => 'ontouchstart' in window);
  const [dl] = await Promise.all([page.waitForEvent('download'), touch ? c.tap() : c.click()]);
  const failure = await dl.failure();
  assert.equal(failure, null, 'download of ' + name);
  const p = outputPath(file || dl.suggestedFilename());
  await dl.saveAs(p);
  const bytes = readFileSync(p);
  return { name: dl.suggestedFilename(), text: bytes.toString('utf8'), bytes };
}
