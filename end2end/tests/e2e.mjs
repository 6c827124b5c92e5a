// End-to-end acceptance test of the Images page, against a running bty-web:
// playwright-core drives Debian's /usr/bin/chromium (no browser download).
//
//   BASE_URL=http://127.0.0.1:8080 BTY_IMAGE_ROOT=/path/to/images \
//   BTY_ADMIN_PASSWORD=... BTY_RELEASE_CATALOG_URL=http://127.0.0.1:PORT/catalog.toml \
//   node end2end/tests/e2e.mjs
//
// scripts/test.sh starts the server with a fresh, empty state dir and
// BTY_RELEASE_CATALOG_URL on a free loopback port, and runs this; this test
// serves the release catalog on that port itself. Each check is named;
// failures are collected (with a screenshot in end2end/results/) and the
// last line is `e2e: N passed, M failed`. No check is ever skipped.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startReleaseCatalog } from './release_catalog.mjs';
import { startSlowUpstream } from './slow_upstream.mjs';

const BASE = (process.env.BASE_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
const IMAGE_ROOT = process.env.BTY_IMAGE_ROOT;
const PASSWORD = process.env.BTY_ADMIN_PASSWORD;
const USERNAME = process.env.BTY_ADMIN_USER ?? 'admin';
const RELEASE_CATALOG_URL = process.env.BTY_RELEASE_CATALOG_URL;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));
const IMAGE_NAME = 'e2e-disk.img';
const IMAGE_BYTES = 64 * 1024 * 1024;
const MiB = 1024 * 1024;
const DROPPED = [{ name: 'e2e-drop-a.img', size: 8 * MiB }, { name: 'e2e-drop-b.img.gz', size: 3 * MiB }];
const CANCELLED_NAME = 'e2e-cancel.img';
const CANCELLED_BYTES = 4 * 1024 * MiB; // sparse on disk here; the server gets real bytes
const ACCEPT = '.img,.img.gz,.img.xz,.img.zst,.img.bz2,.qcow2';
const WATCHDOG_MS = Number(process.env.E2E_TIMEOUT_MS ?? 300_000);
// Catalog entries on a host that cannot exist (RFC 2606): nothing is ever downloaded.
const CATALOG_ENTRIES = [
  { name: 'e2e A (x86_64)', src: 'http://127.0.0.1:9/a.img.gz', sha256: 'ab'.repeat(32) },
  { name: 'e2e B', src: 'http://127.0.0.1:9/b.img.xz' },
];
// What the release host serves for Fetch catalog (same unreachable port).
const RELEASE_ENTRIES = [
  { name: 'e2e release A (x86_64)', src: 'http://127.0.0.1:9/release-a.img.gz', sha256: 'cd'.repeat(32) },
  { name: 'e2e release B', src: 'http://127.0.0.1:9/release-b.img.xz' },
];
const URL_IMAGE = 'http://127.0.0.1:9/e2e-url.img.gz';
const URL_IMAGE_NAME = 'e2e-url.img.gz';
// Served by our own slow upstream for the download checks: Fetch and watch,
// then Evict; the other is cancelled half-way (so it is slower still).
const FETCHED = { name: 'e2e-fetch.img', size: 64 * MiB, bytesPerSecond: 8 * MiB };
const CANCELLED_DOWNLOAD = { name: 'e2e-cancel-download.img', size: 64 * MiB, bytesPerSecond: 2 * MiB };
const EVENTS_UPLOAD = 'e2e-events-live.img';
const UNSAFE_QCOW2 = 'e2e-backing.qcow2';

const t0 = Date.now();
const log = (...a) => console.log(`[e2e +${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
const pathOf = (url) => new URL(url, BASE).pathname;

if (!IMAGE_ROOT || !PASSWORD || !RELEASE_CATALOG_URL) {
  console.error('BTY_IMAGE_ROOT, BTY_ADMIN_PASSWORD and BTY_RELEASE_CATALOG_URL must be set (scripts/test.sh sets them)');
  console.log('e2e: 0 passed, 1 failed');
  process.exit(2);
}

// Never hang CI: whatever happens, stop after WATCHDOG_MS.
const watchdog = setTimeout(() => {
  console.error(`e2e: watchdog: still running after ${WATCHDOG_MS} ms, giving up`);
  console.log(`e2e: ${passed.length} passed, ${failed.length + 1} failed`);
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();

fs.rmSync(RESULTS, { recursive: true, force: true });
fs.mkdirSync(RESULTS, { recursive: true });

const passed = [];
const failed = [];
const details = {};
let page; // the one browser tab the checks share

// Run one named check. `needs` names checks that must have passed first;
// without them this one fails at once instead of timing out in turn.
async function check(name, fn, { needs = [] } = {}) {
  const missing = needs.filter((n) => !passed.includes(n));
  if (missing.length) {
    failed.push(name);
    details[name] = `not run: needs ${missing.join(', ')}`;
    log('FAIL', name, '-', details[name]);
    return;
  }
  const start = Date.now();
  try {
    const result = await fn();
    passed.push(name);
    details[name] = result ?? 'ok';
    log('PASS', name, `(${Date.now() - start} ms)`, result === undefined ? '' : JSON.stringify(result));
  } catch (e) {
    failed.push(name);
    details[name] = `FAIL: ${e.message}`;
    log('FAIL', name, `(${Date.now() - start} ms)`);
    console.log(String(e.stack ?? e).replace(/^/gm, '    '));
    if (page && !page.isClosed()) {
      const file = path.join(RESULTS, `${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`);
      try {
        await page.screenshot({ path: file, fullPage: true });
        log('     screenshot:', path.relative(process.cwd(), file), 'at', page.url());
      } catch (err) {
        log('     (no screenshot:', err.message, ')');
      }
    }
  }
}

// SHA-256 of a file, streamed.
async function sha256File(file) {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

// Polls `probe` until it returns a truthy value or `ms` pass; returns the value.
async function eventually(probe, ms, what) {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// A regular expression matching exactly `text`.
const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const exactly = (text) => new RegExp(`^\\s*${escapeRegExp(text)}\\s*$`);

// The catalog table's row whose first name is `name` (in `tab`, the shared one by default).
const catalogRow = (name, tab = page) => tab.locator('tr.bty-catalog-row')
  .filter({ has: tab.locator('.bty-name:not(.bty-name-alias)', { hasText: exactly(name) }) });

// A catalog.toml (schema version 1) listing `entries`.
function catalogToml(entries) {
  const toml = ['version = 1', ''];
  for (const entry of entries) {
    toml.push('[[images]]');
    for (const [key, value] of Object.entries(entry)) toml.push(`${key} = ${JSON.stringify(value)}`);
    toml.push('');
  }
  return toml.join('\n');
}

// The catalog's rows as the JSON API lists them (with the page's session).
async function catalogEntries() {
  const r = await page.request.get('/catalog/entries');
  assert.equal(r.status(), 200, `GET /catalog/entries: HTTP ${r.status()}`);
  return r.json();
}

// Submits `form` and waits for the server's 303 back to /ui/images (any
// section query gone); returns the `error` the page was sent back with.
async function submitBackToImages(form) {
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/ui/images' && !u.searchParams.has('section'), { timeout: 30_000 }),
    form.locator('[type=submit]').click(),
  ]).catch((e) => {
    throw new Error(`after submitting, the browser is at ${page.url()}: ${e.message.split('\n')[0]}`);
  });
  await page.waitForLoadState('load');
  return new URL(page.url()).searchParams.get('error');
}

// The method, action and encoding a form is sent with.
const formTarget = (form) => form.evaluate((f) => ({
  method: f.method, action: new URL(f.action).pathname, enctype: f.enctype,
}));

// A file of random bytes, written outside the image root and renamed in, so
// the server's watcher only ever sees the complete file. Returns its sha256.
function writeRandomImage(root, name, size) {
  const staging = path.join(path.dirname(root), `.${name}.e2e-partial`);
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(staging, 'w');
  try {
    for (let done = 0; done < size; ) {
      const chunk = crypto.randomBytes(Math.min(1 << 20, size - done));
      hash.update(chunk);
      fs.writeSync(fd, chunk);
      done += chunk.length;
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const target = path.join(root, name);
  try {
    fs.renameSync(staging, target);
  } catch (e) {
    if (e.code !== 'EXDEV') throw e;
    fs.copyFileSync(staging, target); // another file system: copy instead
    fs.rmSync(staging);
  }
  return { file: target, sha256: hash.digest('hex') };
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const browserErrors = [];
let sparseDir; // holds the big file of the cancel check, removed at the end
let upstream; // the slow file server of the download checks, closed at the end
let release; // the release host of the Fetch catalog checks, closed at the end
let catalogDir; // holds the catalog files the upload checks send, removed at the end
try {
  const context = await browser.newContext({ baseURL: BASE });
  context.setDefaultTimeout(15_000);
  // Every tab's errors count, the second tab's of the Fetch catalog check too.
  context.on('page', (tab) => {
    tab.on('console', (m) => {
      if (m.type() !== 'error') return;
      const where = m.location()?.url;
      if (where && pathOf(where) === '/favicon.ico') return; // the browser's own guess, not the page's
      browserErrors.push(`console: ${m.text()}${where ? ` (${where})` : ''}`);
    });
    tab.on('pageerror', (e) => browserErrors.push(`pageerror: ${e.message}`));
    tab.on('requestfailed', (r) => {
      // Requests a navigation or a page close cut short are not errors.
      const why = r.failure()?.errorText ?? '';
      if (!/ERR_ABORTED/.test(why)) browserErrors.push(`request failed: ${r.method()} ${r.url()} ${why}`);
    });
    tab.on('response', (r) => { if (r.status() >= 400) browserErrors.push(`http ${r.status()}: ${r.request().method()} ${r.url()}`); });
  });
  page = await context.newPage();
  let mainFrameNavigations = 0;
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) mainFrameNavigations += 1; });

  await check('site assets are served', async () => {
    const want = { js: /javascript/, wasm: /^application\/wasm/, css: /^text\/css/ };
    const got = {};
    for (const [ext, type] of Object.entries(want)) {
      const r = await fetch(`${BASE}/pkg/bty-web.${ext}`);
      const ct = r.headers.get('content-type') ?? '';
      assert.equal(r.status, 200, `/pkg/bty-web.${ext}: HTTP ${r.status}`);
      assert.match(ct, type, `/pkg/bty-web.${ext}: content-type ${ct}`);
      got[ext] = (await r.arrayBuffer()).byteLength;
    }
    return got;
  });

  // (a) The page needs a login.
  await check('logged out, /ui/images redirects to /ui/login', async () => {
    const r = await fetch(`${BASE}/ui/images`, { redirect: 'manual' });
    assert.ok([302, 303, 307].includes(r.status), `GET /ui/images: HTTP ${r.status}, want a redirect`);
    const location = r.headers.get('location') ?? '';
    assert.equal(pathOf(location), '/ui/login', `Location: ${location}`);
    await page.goto('/ui/images');
    assert.equal(pathOf(page.url()), '/ui/login', `the browser ended on ${page.url()}`);
    await page.locator('input[name=password]').waitFor();
    return { status: r.status, location };
  });

  // (b) Log in through the form; an empty image root shows "No images yet".
  await check('log in through the form and land on /ui/images', async () => {
    if (pathOf(page.url()) !== '/ui/login') await page.goto('/ui/login');
    const form = page.locator('form:has(input[name=password])');
    await form.locator('input[name=username]').fill(USERNAME);
    await form.locator('input[name=password]').fill(PASSWORD);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/ui/images', { timeout: 20_000 }),
      form.locator('[type=submit]').first().click(),
    ]).catch((e) => {
      throw new Error(`after submitting the login form the browser is at ${page.url()}: ${e.message.split('\n')[0]}`);
    });
    await page.waitForLoadState('load');
    // No reload may happen from here on (checked in (d)).
    await page.evaluate(() => { window.__marker = 1; });
    mainFrameNavigations = 0;
    return { url: page.url() };
  }, { needs: ['logged out, /ui/images redirects to /ui/login'] });

  await check('server-rendered /ui/images says "No images yet"', async () => {
    // The HTML exactly as the server renders it (before any WASM runs), with
    // the browser's session cookie.
    const r = await page.request.get('/ui/images', { maxRedirects: 0 });
    assert.equal(r.status(), 200, `GET /ui/images with the session: HTTP ${r.status()}`);
    const html = await r.text();
    assert.ok(html.includes('No images yet'), 'the server-rendered HTML has no "No images yet"');
    assert.ok(html.includes('/pkg/bty-web.js'), 'the page does not load /pkg/bty-web.js');
    await page.getByText('No images yet').first().waitFor();
    return { html_bytes: html.length };
  }, { needs: ['log in through the form and land on /ui/images'] });

  // (c) Hydrated, and the live stream is open.
  await check('page hydrates and the live stream opens (#bty-live[data-state=open])', async () => {
    const start = Date.now();
    await page.locator('#bty-live[data-state=open]').waitFor({ state: 'attached', timeout: 30_000 });
    return { ms: Date.now() - start };
  }, { needs: ['log in through the form and land on /ui/images'] });

  // (d) A file dropped into the image root shows up, hashed, without a reload
  // (whether that hash is right is (e)'s question).
  let image;
  await check(`a new ${IMAGE_NAME} appears hashed, live, without a reload`, async () => {
    assert.ok(fs.existsSync(IMAGE_ROOT), `the image root ${IMAGE_ROOT} does not exist (the server should create it)`);
    image = writeRandomImage(IMAGE_ROOT, IMAGE_NAME, IMAGE_BYTES);
    log(`     wrote ${IMAGE_BYTES} random bytes to ${image.file}, sha256 ${image.sha256}`);
    const start = Date.now();
    const handle = await page.waitForFunction((name) => {
      const firstName = (row) =>
        row.dataset.name
        ?? row.querySelector('.bty-name')?.textContent.trim()
        ?? row.querySelector('td')?.textContent.trim().split(/\s+/)[0];
      for (const row of document.querySelectorAll('tr.bty-catalog-row')) {
        const code = row.querySelector('code.bty-sha');
        const sha = code?.getAttribute('title') ?? '';
        if (firstName(row) === name && /^[0-9a-f]{64}$/.test(sha)) {
          return { sha, text: code.textContent.trim() };
        }
      }
      return null;
    }, IMAGE_NAME, { timeout: 60_000, polling: 250 });
    const { sha, text } = await handle.jsonValue();
    const seconds = (Date.now() - start) / 1000;
    assert.equal(text, `${sha.slice(0, 12)}...`, 'the visible sha is not its first 12 hex characters and "..."');
    const job = page.locator(`tbody.bty-hashes-tbody tr.bty-job-row[data-name="${IMAGE_NAME}"][data-status=completed]`);
    await job.first().waitFor({ state: 'attached', timeout: 10_000 });
    assert.equal(await page.evaluate(() => window.__marker), 1, 'the page was reloaded (window.__marker is gone)');
    assert.equal(mainFrameNavigations, 0, `the page navigated ${mainFrameNavigations} time(s)`);
    return { sha256: sha, seconds_until_row: seconds };
  }, { needs: ['page hydrates and the live stream opens (#bty-live[data-state=open])'] });

  // (e) ...and the sha the page shows (its title, its start, what its copy
  // button copies) is what sha256sum says of the file.
  await check('the sha shown equals sha256sum of the file', async () => {
    const out = execFileSync('sha256sum', [image.file], { encoding: 'utf8' });
    const sum = out.split(/\s+/)[0];
    assert.equal(sum, image.sha256, `sha256sum says ${sum}, node:crypto ${image.sha256}`);
    const row = catalogRow(IMAGE_NAME);
    const code = row.locator('code.bty-sha');
    const shown = await code.getAttribute('title');
    assert.equal(shown, sum, `the page shows ${shown}`);
    assert.equal((await code.textContent()).trim(), `${sum.slice(0, 12)}...`, 'the visible start of the sha');
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
    await row.locator('.bty-copy-sha').click();
    await row.locator('.bty-copy-sha.copied').waitFor({ state: 'attached', timeout: 5_000 });
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, sum, 'Copy SHA-256 copied something else');
    return { sha256sum: sum };
  }, { needs: [`a new ${IMAGE_NAME} appears hashed, live, without a reload`] });

  // (f) Two files dropped on the Upload image zone go up in parallel, each
  // with its progress, and land in the catalog with their SHA, live.
  await check('two files dropped on the upload zone are uploaded and listed with their sha, live', async () => {
    await page.goto('/ui/images?section=upload-image');
    await page.locator('#bty-live[data-state=open]').waitFor({ state: 'attached', timeout: 30_000 });
    await page.locator('#bty-dropzone[data-ready=true]').waitFor({ state: 'attached' });
    const input = page.locator('#upload-file');
    assert.equal(await input.getAttribute('accept'), ACCEPT, 'the picker accepts other formats');
    assert.ok(await input.evaluate((el) => el.multiple), 'the picker takes one file only');
    await page.locator('tbody.bty-uploads-tbody tr.bty-uploads-empty').waitFor({ state: 'attached' });
    await page.evaluate(() => { window.__marker = 2; });
    mainFrameNavigations = 0;

    // Random bytes made in the page, hashed there, handed over as a real drop.
    const dataTransfer = await page.evaluateHandle(async (files) => {
      const transfer = new DataTransfer();
      window.__e2eDropShas = {};
      for (const { name, size } of files) {
        const bytes = new Uint8Array(size);
        for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, Math.min(at + 65536, size)));
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
        window.__e2eDropShas[name] = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
        transfer.items.add(new File([bytes], name, { type: 'application/octet-stream' }));
      }
      return transfer;
    }, DROPPED);
    const shas = await page.evaluate(() => window.__e2eDropShas);
    await page.dispatchEvent('#bty-dropzone', 'dragenter', { dataTransfer });
    await page.dispatchEvent('#bty-dropzone', 'dragover', { dataTransfer });
    assert.ok(await page.locator('#bty-dropzone').evaluate((el) => el.classList.contains('dragover')),
      'the drop zone is not highlighted while a file is dragged over it');
    await page.dispatchEvent('#bty-dropzone', 'drop', { dataTransfer });
    assert.ok(!(await page.locator('#bty-dropzone').evaluate((el) => el.classList.contains('dragover'))),
      'the drop zone stays highlighted after the drop');
    // Both start at once: each has its row right after the drop.
    const started = await page.evaluate(() =>
      [...document.querySelectorAll('tr.bty-upload-row')].map((r) => [r.dataset.name, r.dataset.status]));
    assert.deepEqual(started.map(([name]) => name).sort(), DROPPED.map((f) => f.name).sort(),
      `rows right after the drop: ${JSON.stringify(started)}`);

    for (const { name } of DROPPED) {
      const selector = `tbody.bty-uploads-tbody tr.bty-upload-row[data-name="${name}"]`;
      const row = page.locator(selector);
      await page.locator(`${selector}[data-status=completed]`).waitFor({ state: 'attached', timeout: 60_000 })
        .catch(async (e) => {
          const status = await row.getAttribute('data-status').catch(() => '?');
          const result = await row.locator('.bty-upload-result').textContent().catch(() => '?');
          throw new Error(`${name}: status ${status}, ${result.trim()} (${e.message.split('\n')[0]})`);
        });
      assert.equal(await row.locator('[role=progressbar]').getAttribute('aria-valuenow'), '100', `${name}: the bar is not at 100`);
      assert.equal(await row.locator('code.bty-upload-sha').getAttribute('title'), shas[name], `${name}: the upload row's sha`);
      assert.equal(await row.locator('.bty-upload-cancel').count(), 0, `${name}: a finished upload still offers Cancel`);
    }
    const handle = await page.waitForFunction((want) => {
      const found = {};
      for (const row of document.querySelectorAll('tr.bty-catalog-row')) {
        const name = row.querySelector('.bty-name')?.textContent.trim();
        const sha = row.querySelector('code.bty-sha')?.getAttribute('title');
        if (name in want && sha === want[name]) found[name] = sha;
      }
      return Object.keys(found).length === Object.keys(want).length ? found : null;
    }, shas, { timeout: 30_000, polling: 250 });
    await handle.dispose();
    for (const { name, size } of DROPPED) {
      const file = path.join(IMAGE_ROOT, name);
      assert.ok(fs.existsSync(file), `${file} does not exist`);
      assert.equal(fs.statSync(file).size, size, `${file}: size`);
      assert.equal(await sha256File(file), shas[name], `${file}: sha256 of the bytes on disk`);
    }
    assert.equal(await page.evaluate(() => window.__marker), 2, 'the page was reloaded (window.__marker is gone)');
    assert.equal(mainFrameNavigations, 0, `the page navigated ${mainFrameNavigations} time(s)`);

    // The uploads are page state: switching pills keeps them.
    await page.locator('a.pill[data-section=list]').click();
    await page.locator('tbody.bty-uploads-tbody').waitFor({ state: 'detached' });
    await page.locator('a.pill[data-section=upload-image]').click();
    for (const { name } of DROPPED) {
      await page.locator(`tr.bty-upload-row[data-name="${name}"][data-status=completed]`).waitFor({ state: 'attached' });
    }
    assert.equal(await page.evaluate(() => window.__marker), 2, 'switching pills reloaded the page');
    return { shas };
  }, { needs: ['page hydrates and the live stream opens (#bty-live[data-state=open])'] });

  // (g) A large upload can be cancelled half-way; the server keeps nothing.
  await check('a running upload can be cancelled and leaves no file and no row', async () => {
    if (!(await page.locator('#bty-dropzone[data-ready=true]').count())) {
      await page.goto('/ui/images?section=upload-image');
      await page.locator('#bty-dropzone[data-ready=true]').waitFor({ state: 'attached', timeout: 30_000 });
    }
    sparseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bty-e2e-'));
    const big = path.join(sparseDir, CANCELLED_NAME);
    fs.closeSync(fs.openSync(big, 'w'));
    fs.truncateSync(big, CANCELLED_BYTES);
    const leftovers = () => fs.readdirSync(IMAGE_ROOT).filter((n) => n.includes('e2e-cancel'));

    await page.setInputFiles('#upload-file', big);
    const row = `tbody.bty-uploads-tbody tr.bty-upload-row[data-name="${CANCELLED_NAME}"]`;
    const progress = await page.waitForFunction((selector) => {
      const value = Number(document.querySelector(`${selector} [role=progressbar]`)?.getAttribute('aria-valuenow'));
      return value > 0 && value < 100 ? value : null;
    }, row, { polling: 'raf', timeout: 30_000 });
    const percentSeen = await progress.jsonValue();
    // What a cancel could leave: the hidden file the bytes go to meanwhile.
    const partial = await eventually(() => leftovers()[0], 10_000,
      'the image root holds no file of the upload while it runs');
    await page.locator(`${row} .bty-upload-cancel`).click();
    await page.locator(`${row}[data-status=cancelled]`).waitFor({ state: 'attached', timeout: 10_000 });
    const percentAtCancel = Number(await page.locator(`${row} [role=progressbar]`).getAttribute('aria-valuenow'));
    assert.ok(percentAtCancel < 100, `cancelled at ${percentAtCancel}%`);
    assert.equal(await page.locator(`${row} .bty-upload-cancel`).count(), 0, 'a cancelled upload still offers Cancel');

    await eventually(() => leftovers().length === 0, 10_000,
      `the image root still holds ${JSON.stringify(leftovers())}`);
    await new Promise((r) => setTimeout(r, 1500)); // anything late would show by now
    assert.deepEqual(leftovers(), [], 'a file of the cancelled upload came back');
    const listed = await page.evaluate((name) =>
      [...document.querySelectorAll('tr.bty-catalog-row')].some((r) => r.textContent.includes(name)), CANCELLED_NAME);
    assert.ok(!listed, `the catalog lists ${CANCELLED_NAME}`);
    fs.rmSync(sparseDir, { recursive: true, force: true });
    return { percent_seen: percentSeen, percent_at_cancel: percentAtCancel, partial_while_running: partial };
  }, { needs: ['page hydrates and the live stream opens (#bty-live[data-state=open])'] });

  // (h) Fetch catalog: the server pulls catalog.toml from the release host
  // (ours, on the loopback port BTY_RELEASE_CATALOG_URL names); the rows
  // land on the page it returns to, and live in another open tab.
  const fetchChecks = [
    'Fetch catalog pulls the release catalog.toml and its rows appear live',
    'a release catalog that is missing or does not parse is reported and changes nothing',
  ];
  await check(fetchChecks[0], async () => {
    release ??= await startReleaseCatalog(RELEASE_CATALOG_URL);
    const served = catalogToml(RELEASE_ENTRIES);
    release.serve(200, served);
    const watcher = await page.context().newPage();
    try {
      await watcher.goto('/ui/images');
      await watcher.locator('#bty-live[data-state=open]').waitFor({ state: 'attached', timeout: 30_000 });
      await watcher.evaluate(() => { window.__marker = 'watcher'; });
      for (const { name } of RELEASE_ENTRIES) {
        assert.equal(await catalogRow(name, watcher).count(), 0, `${name} is listed before the fetch`);
      }

      await page.goto('/ui/images?section=fetch');
      const button = page.locator('#bty-fetch-release-btn');
      assert.match(await button.textContent(), /Fetch latest catalog\.toml/, 'the button text');
      const form = page.locator('form:has(#bty-fetch-release-btn)');
      assert.deepEqual(await formTarget(form), {
        method: 'post', action: '/ui/catalog/fetch-release', enctype: 'application/x-www-form-urlencoded',
      });
      const link = page.locator('a[href^="https://github.com/"][href$="/releases/latest"]');
      assert.equal(await link.count(), 1, 'no link to the latest release');
      assert.equal(await link.getAttribute('target'), '_blank');
      assert.match(await link.getAttribute('rel'), /\bnoopener\b/);
      const manifest = (await page.locator('code.bty-manifest-path').textContent()).trim();
      assert.ok(manifest.endsWith('catalog.toml'), `manifest path ${manifest}`);
      assert.deepEqual(release.requests, [], 'the release host was asked before the click');

      const error = await submitBackToImages(form);
      assert.equal(error, null, `sent back with ?error=${error}`);
      assert.equal(await page.locator('.alert-danger').count(), 0, 'the page shows an error');
      assert.deepEqual(release.requests, [{ method: 'GET', path: new URL(RELEASE_CATALOG_URL).pathname }],
        'the release host was not asked for the catalog exactly once');
      for (const tab of [page, watcher]) {
        for (const { name, src } of RELEASE_ENTRIES) {
          const row = catalogRow(name, tab);
          await row.first().waitFor({ state: 'attached', timeout: 15_000 }).catch((e) => {
            throw new Error(`${tab === page ? 'the page fetched from' : 'the other tab'} does not list ${name}: ${e.message.split('\n')[0]}`);
          });
          assert.equal(await row.locator('.bty-source[data-kind=manifest]', { hasText: src }).count(), 1,
            `${name}: no manifest source ${src}`);
        }
      }
      const sha = RELEASE_ENTRIES[0].sha256;
      assert.equal(await catalogRow(RELEASE_ENTRIES[0].name).locator('code.bty-sha').getAttribute('title'), sha,
        `${RELEASE_ENTRIES[0].name}: the catalog's sha is not shown`);
      assert.equal(await watcher.evaluate(() => window.__marker), 'watcher', 'the other tab was reloaded');
      assert.equal(fs.readFileSync(manifest, 'utf8'), served, `${manifest} is not the fetched catalog`);
      const srcs = (await catalogEntries()).map((e) => e.src);
      for (const { src } of RELEASE_ENTRIES) assert.ok(srcs.includes(src), `GET /catalog/entries has no ${src}`);
      return { manifest, requests: release.requests.length };
    } finally {
      await watcher.close();
    }
  }, { needs: ['log in through the form and land on /ui/images'] });

  await check(fetchChecks[1], async () => {
    await page.goto('/ui/images?section=fetch');
    const manifest = (await page.locator('code.bty-manifest-path').first().textContent()).trim();
    const kept = fs.readFileSync(manifest, 'utf8');
    const before = await catalogEntries();
    const alerts = [];
    const cases = [
      { status: 404, body: 'Not Found', want: /^release fetch failed: HTTP 404/ },
      { status: 200, body: 'version = 2\n\n[[images]]\nname = "e2e release broken"\nsrc = "http://127.0.0.1:9/broken.img"\n',
        want: /^fetched catalog parse failed/ },
    ];
    for (const { status, body, want } of cases) {
      release.serve(status, body);
      const asked = release.requests.length;
      await page.goto('/ui/images?section=fetch');
      const error = await submitBackToImages(page.locator('form:has(#bty-fetch-release-btn)'));
      assert.equal(release.requests.length, asked + 1, 'the release host was not asked');
      assert.match(error ?? '', want, `HTTP ${status}: sent back with ?error=${error}`);
      const alert = page.locator('.alert-danger');
      await alert.first().waitFor();
      const text = (await alert.first().textContent()).trim();
      assert.match(text, want, `HTTP ${status}: the alert says: ${text}`);
      alerts.push(text);
    }
    assert.equal(await catalogRow('e2e release broken').count(), 0, 'the broken catalog\'s entry is listed');
    for (const { name } of RELEASE_ENTRIES) await catalogRow(name).first().waitFor({ state: 'attached' });
    assert.deepEqual(await catalogEntries(), before, 'GET /catalog/entries changed');
    assert.equal(fs.readFileSync(manifest, 'utf8'), kept, `${manifest} changed`);
    return { alerts };
  }, { needs: [fetchChecks[0]] });

  // (i) Upload catalog: its entries are listed, as manifest sources.
  catalogDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bty-e2e-catalog-'));
  const catalogFile = path.join(catalogDir, 'e2e-catalog.toml');
  await check('an uploaded catalog.toml lists its entries as manifest sources', async () => {
    fs.writeFileSync(catalogFile, catalogToml(CATALOG_ENTRIES));
    await page.goto('/ui/images?section=upload-catalog');
    const form = page.locator('form:has(#catalog-file)');
    assert.deepEqual(await formTarget(form), {
      method: 'post', action: '/ui/catalog/upload', enctype: 'multipart/form-data',
    });
    await page.setInputFiles('#catalog-file', catalogFile);
    const error = await submitBackToImages(form);
    assert.equal(error, null, `sent back with ?error=${error}`);
    assert.equal(await page.locator('.alert-danger').count(), 0, 'the page shows an error');
    for (const { name, src } of CATALOG_ENTRIES) {
      const row = catalogRow(name);
      await row.first().waitFor({ state: 'attached' });
      const source = row.locator('.bty-source[data-kind=manifest]', { hasText: src });
      assert.equal(await source.count(), 1, `${name}: no manifest source ${src}`);
    }
    return { rows: await page.locator('tr.bty-catalog-row').count() };
  }, { needs: ['log in through the form and land on /ui/images'] });

  // (j) A broken catalog is refused and changes nothing.
  await check('a catalog.toml that does not parse is refused and changes nothing', async () => {
    const before = await catalogEntries();
    const broken = path.join(catalogDir, 'e2e-broken.toml');
    fs.writeFileSync(broken, 'version = 2\n\n[[images]]\nname = "e2e broken"\nsrc = "http://127.0.0.1:9/broken.img"\n');
    await page.goto('/ui/images?section=upload-catalog');
    const form = page.locator('form:has(#catalog-file)');
    await page.setInputFiles('#catalog-file', broken);
    const error = await submitBackToImages(form);
    assert.ok(error, 'not sent back with ?error=');
    const alert = page.locator('.alert-danger');
    await alert.first().waitFor();
    const text = (await alert.first().textContent()).trim();
    assert.match(text, /catalog parse failed/, `the alert says: ${text}`);
    for (const { name } of CATALOG_ENTRIES) {
      await catalogRow(name).first().waitFor({ state: 'attached' });
    }
    assert.equal(await catalogRow('e2e broken').count(), 0, 'the broken catalog\'s entry is listed');
    const after = await catalogEntries();
    assert.deepEqual(after, before, 'GET /catalog/entries changed');
    return { alert: text };
  }, { needs: ['an uploaded catalog.toml lists its entries as manifest sources'] });

  // (k) Upload image (from URL): one entry, a url source with Delete entry.
  await check('an image added by URL is listed as a url source with Delete entry', async () => {
    await page.goto('/ui/images?section=upload-image-from-url');
    const form = page.locator('form:has(#image_url)');
    assert.deepEqual(await formTarget(form), {
      method: 'post', action: '/ui/catalog/entries', enctype: 'application/x-www-form-urlencoded',
    });
    assert.equal(await page.locator('#sha_url').getAttribute('name'), 'sha_url');
    await page.locator('#image_url').fill(URL_IMAGE);
    const error = await submitBackToImages(form);
    assert.equal(error, null, `sent back with ?error=${error}`);
    assert.equal(await page.locator('.alert-danger').count(), 0, 'the page shows an error');
    const row = catalogRow(URL_IMAGE_NAME);
    await row.first().waitFor({ state: 'attached' });
    assert.equal(await row.locator('.bty-source[data-kind=url]', { hasText: URL_IMAGE }).count(), 1,
      `no url source ${URL_IMAGE}`);
    assert.equal(await row.locator(`.bty-catalog-entry-delete-btn[data-src="${URL_IMAGE}"]`).count(), 1,
      'no Delete entry button for it');
  }, { needs: ['log in through the form and land on /ui/images'] });

  // (l) Delete entry: confirmed, the row goes, live.
  await check('Delete entry, confirmed, removes the row live', async () => {
    await page.locator('#bty-live[data-state=open]').waitFor({ state: 'attached', timeout: 30_000 });
    await page.evaluate(() => { window.__marker = 3; });
    mainFrameNavigations = 0;
    let question;
    page.once('dialog', (dialog) => { question = dialog.message(); dialog.accept(); });
    const row = catalogRow(URL_IMAGE_NAME);
    await row.locator('.bty-catalog-entry-delete-btn').click();
    await row.first().waitFor({ state: 'detached', timeout: 15_000 });
    assert.ok(question?.includes(URL_IMAGE), `the confirmation asked: ${question}`);
    assert.equal(await page.locator('.alert-danger').count(), 0, 'the page shows an error');
    assert.ok(!(await catalogEntries()).some((e) => e.src === URL_IMAGE), 'GET /catalog/entries still lists it');
    assert.equal(await page.evaluate(() => window.__marker), 3, 'the page was reloaded (window.__marker is gone)');
    assert.equal(mainFrameNavigations, 0, `the page navigated ${mainFrameNavigations} time(s)`);
    return { confirm: question };
  }, { needs: ['an image added by URL is listed as a url source with Delete entry'] });

  // (l2) The catalog filter narrows the table, and keeps working live.
  await check('the catalog filter narrows the table and new matching rows appear live', async () => {
    await page.goto('/ui/images');
    await page.locator('#bty-live[data-state=open]').waitFor({ state: 'attached', timeout: 30_000 });
    await page.evaluate(() => { window.__marker = 4; });
    const filter = page.locator('#bty-catalog-q');
    await filter.fill('e2e-live');
    await page.locator('tr.bty-catalog-nomatch').waitFor({ state: 'attached', timeout: 15_000 });
    assert.equal(await page.locator('tr.bty-catalog-row').count(), 0, 'rows that do not match are shown');
    const name = 'e2e-live-filter.img';
    const { sha256 } = writeRandomImage(IMAGE_ROOT, name, 4096);
    // Hashed too, so that its events are over before the next check counts events.
    await catalogRow(name).locator(`code.bty-sha[title="${sha256}"]`).waitFor({ state: 'attached', timeout: 30_000 });
    assert.equal(await page.locator('tr.bty-catalog-row').count(), 1, 'only the matching row is shown');
    assert.equal(await filter.inputValue(), 'e2e-live', 'the filter was kept');
    assert.ok(page.url().includes('q=e2e-live'), `the address keeps the filter: ${page.url()}`);
    await filter.fill('');
    await page.locator('tr.bty-catalog-row').nth(1).waitFor({ state: 'attached', timeout: 15_000 });
    assert.equal(await page.evaluate(() => window.__marker), 4, 'the page was reloaded');
  }, { needs: ['log in through the form and land on /ui/images'] });

  // (n) The Events page filtered to images takes a new upload live, on top,
  // and leaves out an event of another subject kind.
  await check('the Events page filtered to images shows a new upload live, and only that', async () => {
    await page.goto('/ui/events?subject_kind=image');
    await page.locator('#bty-live[data-state=open]').waitFor({ state: 'attached', timeout: 30_000 });
    await page.evaluate(() => { window.__marker = 5; });
    mainFrameNavigations = 0;
    const rows = page.locator('tbody.bty-events-page-tbody tr.bty-event-row');
    const topBefore = (await rows.count()) ? Number(await rows.first().getAttribute('data-event-id')) : 0;

    // Another subject kind first: a catalog entry added by URL.
    const otherUrl = 'http://127.0.0.1:9/e2e-events-other.img.gz';
    const added = await page.request.post('/catalog/entries', { data: { image_url: otherUrl } });
    assert.equal(added.status(), 201, `POST /catalog/entries: HTTP ${added.status()} ${await added.text()}`);
    // Then an image upload, through the API with the page's session.
    const uploaded = await page.request.put(`/images/${EVENTS_UPLOAD}`, {
      data: crypto.randomBytes(64 * 1024), headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(uploaded.status(), 200, `PUT /images/${EVENTS_UPLOAD}: HTTP ${uploaded.status()} ${await uploaded.text()}`);

    const row = rows.filter({ has: page.locator('.bty-event-kind', { hasText: exactly('image.uploaded') }) })
      .filter({ hasText: EVENTS_UPLOAD });
    await row.first().waitFor({ state: 'attached', timeout: 15_000 });
    const id = Number(await row.first().getAttribute('data-event-id'));
    assert.ok(id > topBefore, `the new event #${id} is not newer than the top row #${topBefore}`);
    const ids = (await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.eventId))));
    assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'the rows are not newest first');
    // Only the upload's own later events (its hash, its inspection) may be above it.
    const above = (await rows.allTextContents()).slice(0, ids.indexOf(id));
    assert.ok(above.every((text) => text.includes(EVENTS_UPLOAD)),
      `the upload's event is row ${ids.indexOf(id) + 1}, under events of something else: ${JSON.stringify(above)}`);

    // The catalog event happened (the API lists it) but is not on this page.
    const listed = await page.request.get('/events?subject_kind=catalog&kind=catalog.entry.added&limit=5');
    const catalogEvent = (await listed.json()).events.find((e) => e.subject_id === otherUrl);
    assert.ok(catalogEvent, 'GET /events has no catalog.entry.added event for the added URL');
    assert.equal(await page.locator(`tr.bty-event-row[data-event-id="${catalogEvent.id}"]`).count(), 0,
      'the catalog event is listed on the page filtered to images');
    assert.equal(await page.locator('.bty-event-kind', { hasText: /^catalog\./ }).count(), 0,
      'a catalog event is listed on the page filtered to images');
    assert.equal(await page.locator('#bty-events-subject_kind').inputValue(), 'image', 'the filter was lost');
    assert.ok(page.url().endsWith('/ui/events?subject_kind=image'), `the address changed: ${page.url()}`);
    assert.equal(await page.evaluate(() => window.__marker), 5, 'the page was reloaded');
    assert.equal(mainFrameNavigations, 0, `the page navigated ${mainFrameNavigations} time(s)`);

    // Clean up: the URL entry goes again.
    await page.request.delete(`/catalog/entries?src=${encodeURIComponent(otherUrl)}`);
    return { event_id: id, rows: ids.length };
  }, { needs: ['log in through the form and land on /ui/images'] });

  // (o) Downloads from a slow upstream of our own: Fetch shows a moving
  // progress bar and ends cached; a second download is cancelled half-way;
  // Evict drops the cached bytes and keeps the entry.
  const downloadChecks = [
    'Fetch downloads an entry with a moving progress bar and the row turns cached, live',
    'a running download can be cancelled and offers Retry',
    'Evict, confirmed, drops the cached bytes and keeps the entry, live',
  ];
  upstream = await startSlowUpstream({
    [FETCHED.name]: FETCHED,
    [CANCELLED_DOWNLOAD.name]: CANCELLED_DOWNLOAD,
  });
  log(`     slow upstream on ${upstream.base}`);
  const jobRow = (name) => page.locator(`tbody.bty-downloads-tbody tr.bty-job-row[data-name="${name}"]`);
  const addEntry = async (name) => {
    const r = await page.request.post('/catalog/entries', { data: { image_url: upstream.files[name].url } });
    assert.equal(r.status(), 201, `POST /catalog/entries ${name}: HTTP ${r.status()} ${await r.text()}`);
  };
  const cached = path.join(path.dirname(IMAGE_ROOT), 'cache', upstream.files[FETCHED.name].sha256);

  await check(downloadChecks[0], async () => {
    await page.goto('/ui/images');
    await page.locator('#bty-live[data-state=open]').waitFor({ state: 'attached', timeout: 30_000 });
    await page.evaluate(() => { window.__marker = 6; });
    mainFrameNavigations = 0;
    await addEntry(FETCHED.name);
    const row = catalogRow(FETCHED.name);
    await row.locator('.bty-fetch-btn').waitFor({ timeout: 15_000 });
    await row.locator('.bty-fetch-btn').click();
    // The button says so while the download runs.
    await row.locator('.bty-fetch-btn[disabled]', { hasText: 'Fetching…' }).waitFor({ state: 'attached', timeout: 10_000 });
    // The bar moves: several values strictly between 0 and 100.
    const job = jobRow(FETCHED.name);
    const seen = new Set();
    await eventually(async () => {
      const value = Number(await job.locator('[role=progressbar]').getAttribute('aria-valuenow').catch(() => NaN));
      if (value > 0 && value < 100) seen.add(value);
      return seen.size >= 3;
    }, 30_000, `the progress bar did not move (seen ${[...seen]})`);
    const bar = job.locator('.progress-bar');
    assert.match(await bar.textContent(), /^\s*\d+%\s*$/, 'the bar does not show its percentage');
    assert.match(await bar.getAttribute('class'), /bg-success/, 'the bar is not green');
    assert.match(await job.locator('.bty-job-bytes').textContent(), /\/ 64\.0 MiB/, 'the bytes do not name the total');
    await job.locator('.bty-job-cancel').waitFor({ state: 'attached' });
    await page.locator(`tbody.bty-downloads-tbody tr.bty-job-row[data-name="${FETCHED.name}"][data-status=completed]`)
      .waitFor({ state: 'attached', timeout: 60_000 });
    await row.locator('.badge-cached').waitFor({ state: 'attached', timeout: 15_000 });
    const sha = upstream.files[FETCHED.name].sha256;
    await row.locator(`code.bty-sha[title="${sha}"]`).waitFor({ state: 'attached', timeout: 15_000 });
    await row.locator('.bty-cache-delete-btn').waitFor({ state: 'attached' });
    assert.ok(fs.existsSync(cached), `${cached} does not exist`);
    assert.equal(await sha256File(cached), sha, 'the cached bytes are not what the upstream served');
    const usage = (await page.locator('.bty-cache-usage').textContent()).trim();
    assert.match(usage, /^Cache: 1 file, 64\.0 MiB used, .+ free$/, `the cache line says: ${usage}`);
    assert.equal(await page.evaluate(() => window.__marker), 6, 'the page was reloaded');
    assert.equal(mainFrameNavigations, 0, `the page navigated ${mainFrameNavigations} time(s)`);
    return { percents_seen: [...seen].sort((a, b) => a - b), cache: usage };
  }, { needs: ['page hydrates and the live stream opens (#bty-live[data-state=open])'] });

  await check(downloadChecks[1], async () => {
    await page.locator('#bty-live[data-state=open]').waitFor({ state: 'attached', timeout: 30_000 });
    // What a cancel could leave is in the cache dir: the complete file, or
    // the hidden partial file the bytes go to until they are verified.
    const cacheDir = path.join(path.dirname(IMAGE_ROOT), 'cache');
    const cacheFiles = () => (fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir).sort() : []);
    const usageLine = async () => (await page.locator('.bty-cache-usage').textContent()).trim();
    const before = { files: cacheFiles(), usage: await usageLine() };
    await addEntry(CANCELLED_DOWNLOAD.name);
    const row = catalogRow(CANCELLED_DOWNLOAD.name);
    await row.locator('.bty-fetch-btn').click();
    const job = jobRow(CANCELLED_DOWNLOAD.name);
    await eventually(async () => {
      const value = Number(await job.locator('[role=progressbar]').getAttribute('aria-valuenow').catch(() => NaN));
      return value > 0 && value < 100;
    }, 30_000, 'the download did not start');
    const partial = await eventually(() => cacheFiles().find((n) => !before.files.includes(n)), 10_000,
      `no new file in ${cacheDir} while the download runs (there: ${cacheFiles()})`);
    assert.ok(fs.statSync(path.join(cacheDir, partial)).size > 0, `${partial} is empty while the download runs`);
    await job.locator('.bty-job-cancel').click();
    await page.locator(`tbody.bty-downloads-tbody tr.bty-job-row[data-name="${CANCELLED_DOWNLOAD.name}"][data-status=cancelled]`)
      .waitFor({ state: 'attached', timeout: 15_000 });
    assert.equal(await job.locator('.bty-job-cancel').count(), 0, 'a cancelled download still offers Cancel');
    await job.locator('.bty-job-retry').waitFor({ state: 'attached' });
    await row.locator('.badge-available').waitFor({ state: 'attached' });
    await row.locator('.bty-fetch-btn:not([disabled])').waitFor({ state: 'attached' });
    await eventually(() => JSON.stringify(cacheFiles()) === JSON.stringify(before.files), 5_000,
      `the cancelled download left ${JSON.stringify(cacheFiles().filter((n) => !before.files.includes(n)))} in ${cacheDir}`);
    await eventually(async () => (await usageLine()) === before.usage, 10_000,
      `the cache line says "${await usageLine()}", not "${before.usage}" as before the download`);
    // Clean up: the entry goes again (nothing was cached).
    await page.request.delete(`/catalog/entries?src=${encodeURIComponent(upstream.files[CANCELLED_DOWNLOAD.name].url)}`);
    return { partial_while_running: partial, cache: before.usage };
  }, { needs: ['page hydrates and the live stream opens (#bty-live[data-state=open])'] });

  await check('Pin keeps a cached row in the cache with a pin badge, live and audited; Unpin takes it off', async () => {
    await page.evaluate(() => { window.__marker = 8; });
    mainFrameNavigations = 0;
    const row = catalogRow(FETCHED.name);
    const entry = async () => (await catalogEntries()).find((e) => e.src === upstream.files[FETCHED.name].url);
    assert.equal((await entry())?.keep_cached, false, 'the entry starts pinned');
    assert.equal(await row.locator('.badge-pinned').count(), 0, 'a pin badge before Pin');
    await row.locator('.bty-pin-btn').click();
    await row.locator('.badge-pinned', { hasText: 'pinned' }).waitFor({ state: 'attached', timeout: 15_000 });
    await row.locator('.bty-unpin-btn').waitFor({ state: 'attached', timeout: 15_000 });
    assert.equal(await row.locator('.bty-pin-btn').count(), 0, 'a pinned row still offers Pin');
    assert.equal((await entry())?.keep_cached, true, 'GET /catalog/entries does not say keep_cached');
    const pinned = await page.request.get(`/events?kind=catalog.cache.pinned&limit=5`);
    const event = (await pinned.json()).events.find((e) => e.subject_id === FETCHED.name);
    assert.ok(event, 'no catalog.cache.pinned event names the entry');
    assert.equal(event.actor, USERNAME, `the pin was recorded as ${event.actor}`);
    await row.locator('.bty-unpin-btn').click();
    await row.locator('.bty-pin-btn').waitFor({ state: 'attached', timeout: 15_000 });
    assert.equal(await row.locator('.badge-pinned').count(), 0, 'the pin badge stayed after Unpin');
    assert.equal((await entry())?.keep_cached, false, 'Unpin did not reach the entry');
    assert.equal(await page.evaluate(() => window.__marker), 8, 'the page was reloaded');
    assert.equal(mainFrameNavigations, 0, `the page navigated ${mainFrameNavigations} time(s)`);
    return { event_id: event.id };
  }, { needs: [downloadChecks[0]] });

  await check(downloadChecks[2], async () => {
    await page.evaluate(() => { window.__marker = 7; });
    mainFrameNavigations = 0;
    const row = catalogRow(FETCHED.name);
    let question;
    page.once('dialog', (dialog) => { question = dialog.message(); dialog.accept(); });
    await row.locator('.bty-cache-delete-btn').click();
    await row.locator('.badge-available').waitFor({ state: 'attached', timeout: 15_000 });
    await row.locator('.bty-fetch-btn').waitFor({ state: 'attached' });
    assert.ok(question?.includes(FETCHED.name), `the confirmation asked: ${question}`);
    assert.equal(await row.locator('.bty-cache-delete-btn').count(), 0, 'an evicted row still offers Evict');
    assert.ok(!fs.existsSync(cached), `${cached} is still there`);
    const entries = await catalogEntries();
    assert.ok(entries.some((e) => e.src === upstream.files[FETCHED.name].url), 'the entry is gone too');
    await eventually(async () => /^Cache: 0 files, /.test((await page.locator('.bty-cache-usage').textContent()).trim()),
      10_000, 'the cache line does not say 0 files');
    assert.equal(await page.evaluate(() => window.__marker), 7, 'the page was reloaded');
    assert.equal(mainFrameNavigations, 0, `the page navigated ${mainFrameNavigations} time(s)`);
    return { confirm: question };
  }, { needs: [downloadChecks[0]] });

  // (l1) An uploaded qcow2 whose backing file would make qemu-img read a
  // host file is inspected, and its row turns "unsafe", with the reason,
  // live; flash clients are refused its bytes.
  await check(`an uploaded qcow2 with a backing file shows "unsafe" live`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bty-e2e-qcow2-'));
    const base = path.join(dir, 'base.raw');
    const overlay = path.join(dir, UNSAFE_QCOW2);
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', base, '1M']);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'raw', overlay]);
    await page.goto('/ui/images?section=upload-image');
    await page.locator('#bty-live[data-state=open]').waitFor({ state: 'attached', timeout: 30_000 });
    await page.locator('#bty-dropzone[data-ready=true]').waitFor({ state: 'attached' });
    await page.evaluate(() => { window.__marker = 8; });
    mainFrameNavigations = 0;
    await page.locator('#upload-file').setInputFiles(overlay);
    await page.locator(`tr.bty-upload-row[data-name="${UNSAFE_QCOW2}"][data-status=completed]`)
      .waitFor({ state: 'attached', timeout: 60_000 });
    assert.equal(mainFrameNavigations, 0, `the page navigated ${mainFrameNavigations} time(s)`);
    // A pill is a same-document navigation (history.pushState): the marker shows no reload.
    await page.locator('a.pill[data-section=list]').click();
    const badge = catalogRow(UNSAFE_QCOW2).locator('.bty-inspection-unsafe');
    const start = Date.now();
    await badge.waitFor({ state: 'visible', timeout: 30_000 });
    const seconds = (Date.now() - start) / 1000;
    const text = (await badge.textContent()).trim();
    assert.ok(text.startsWith('unsafe: '), `the badge says ${JSON.stringify(text)}`);
    assert.ok(text.includes('backing file') && text.includes(base), `the badge does not name the backing file: ${text}`);
    const bytes = await page.request.get(`/images/${UNSAFE_QCOW2}`);
    assert.equal(bytes.status(), 409, `GET /images/${UNSAFE_QCOW2}: HTTP ${bytes.status()}`);
    assert.equal(await page.evaluate(() => window.__marker), 8, 'the page was reloaded');
    for (const name of [UNSAFE_QCOW2, `${UNSAFE_QCOW2}.sha256`]) {
      fs.rmSync(path.join(IMAGE_ROOT, name), { force: true });
    }
    fs.rmSync(dir, { recursive: true, force: true });
    return { badge: text, seconds_until_badge: seconds };
  }, { needs: ['page hydrates and the live stream opens (#bty-live[data-state=open])'] });

  // (l2) API tokens: create one on /ui/tokens, copy its secret (shown once),
  // use it as a bearer token, revoke it (confirmed) and see it refused.
  await check('an API token made on /ui/tokens works as a bearer token until revoked', async () => {
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
    await page.getByRole('link', { name: 'API tokens' }).click();
    await page.waitForURL((url) => pathOf(url) === '/ui/tokens');
    await page.fill('input[name=name]', 'e2e-runner');
    await Promise.all([
      page.waitForResponse((r) => pathOf(r.url()) === '/ui/tokens' && r.request().method() === 'POST'),
      page.locator('form.bty-token-form button[type=submit]').click(),
    ]);
    const secret = (await page.locator('.bty-token-secret').textContent()).trim();
    assert.match(secret, /^bty_[0-9a-f]{64}$/, `the secret shown: ${secret}`);
    // Before hydration the button does nothing: click until it says copied.
    await eventually(async () => {
      await page.locator('.bty-copy-token').click();
      return (await page.locator('.bty-copy-token.copied').count()) === 1;
    }, 10_000, 'the copy button never showed it copied');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, secret, 'the clipboard holds the secret');
    const bearer = { authorization: `Bearer ${secret}` };
    const before = await fetch(`${BASE}/catalog/entries`, { headers: bearer });
    assert.equal(before.status, 200, 'the new token opens the JSON API');
    await page.goto('/ui/tokens');
    assert.equal(await page.locator('.bty-token-secret').count(), 0, 'the secret is shown again');
    const row = page.locator('.bty-token-row', { hasText: 'e2e-runner' });
    // Revoke asks only once the page is hydrated. Until then a click would
    // post at once, so probe with a submit event that sends nothing: once
    // it asks, a dismissed question must keep the form from being sent.
    let question;
    let answer = 'dismiss';
    const onDialog = (dialog) => { question = dialog.message(); dialog[answer](); };
    page.on('dialog', onDialog);
    const revokeForm = row.locator('form:has(.bty-token-revoke)');
    await eventually(() => revokeForm.evaluate((form) => {
      const event = new SubmitEvent('submit', { bubbles: true, cancelable: true });
      form.dispatchEvent(event);
      return event.defaultPrevented;
    }), 10_000, 'Revoke never asked for a confirmation');
    assert.ok(question?.includes("'e2e-runner'"), `the confirmation asked: ${question}`);
    answer = 'accept';
    question = undefined;
    await Promise.all([
      page.waitForURL((url) => pathOf(url) === '/ui/tokens'),
      row.locator('.bty-token-revoke').click(),
    ]);
    await row.getByText('revoked').waitFor({ timeout: 10_000 });
    page.off('dialog', onDialog);
    assert.ok(question?.includes("'e2e-runner'"), `the confirmation asked: ${question}`);
    const after = await fetch(`${BASE}/catalog/entries`, { headers: bearer });
    assert.equal(after.status, 401, 'a revoked token still opens the API');
    return { confirm: question };
  }, { needs: ['log in through the form and land on /ui/images'] });

  // (m) Log out: back to the login page, and the session is gone.
  await check('"Log out" lands on /ui/login and /ui/images needs a login again', async () => {
    const cookies = await page.context().cookies(BASE);
    const cookieHeader = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const button = page.getByRole('button', { name: 'Log out' });
    const form = await button.evaluate((b) => b.form && { action: b.form.action, method: b.form.method });
    assert.ok(form, 'the "Log out" button is not in a form');
    assert.deepEqual([pathOf(form.action), form.method], ['/ui/logout', 'post'], 'the "Log out" form does not POST to /ui/logout');
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/ui/login', { timeout: 20_000 }),
      button.click(),
    ]);
    await page.goto('/ui/images');
    assert.equal(pathOf(page.url()), '/ui/login', `after logging out, /ui/images shows ${page.url()}`);
    // The old session cookie must be dead on the server, not just dropped by the browser.
    const r = await fetch(`${BASE}/ui/images`, { redirect: 'manual', headers: { cookie: cookieHeader } });
    assert.ok([302, 303, 307].includes(r.status), `the old session cookie still gets HTTP ${r.status}`);
    assert.equal(pathOf(r.headers.get('location') ?? ''), '/ui/login');
    return { cookies: cookies.map((c) => c.name) };
  }, { needs: ['log in through the form and land on /ui/images'] });

  await check('no browser console errors', async () => {
    assert.deepEqual(browserErrors, [], `${browserErrors.length} error(s):\n  ${browserErrors.join('\n  ')}`);
  });
} finally {
  await browser.close().catch(() => {});
  if (upstream) await upstream.close().catch(() => {});
  if (release) await release.close().catch(() => {});
  if (sparseDir) fs.rmSync(sparseDir, { recursive: true, force: true });
  if (catalogDir) fs.rmSync(catalogDir, { recursive: true, force: true });
  if (IMAGE_ROOT) fs.rmSync(path.join(path.dirname(IMAGE_ROOT), `.${IMAGE_NAME}.e2e-partial`), { force: true });
}

if (browserErrors.length) log('browser errors:', browserErrors);
fs.writeFileSync(path.join(RESULTS, 'e2e-results.json'),
  JSON.stringify({ base: BASE, passed, failed, details, browserErrors }, null, 2));
if (failed.length) log('failed checks:', failed);
console.log(`e2e: ${passed.length} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
