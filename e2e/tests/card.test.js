// The electronic ID card in the browser: a demo resident activates the card,
// picks hotel check-in, and the code the page draws verifies with
// `shengshi eid verify` against the trust list, trust root and status list the
// server publishes; thirty seconds later the page shows a new code. Without
// scripts the page shows a server-rendered image instead.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  assertNoProblems,
  launchBrowser,
  newPage,
  printServerLogOnFailure,
  screenshot,
  startServer,
} from '../lib/harness.js';
import { registerResident, logIn } from '../lib/flows.js';

/** Runs `shengshi eid verify` offline; resolves to { code, json }. */
async function verifyWithCli(origin, qrText, purpose) {
  const dir = await mkdtemp(path.join(tmpdir(), 'shengshi-verifier-'));
  try {
    const fetchBytes = async (p) => {
      const response = await fetch(`${origin}${p}`);
      assert.equal(response.status, 200, p);
      return Buffer.from(await response.arrayBuffer());
    };
    const files = {
      trustList: path.join(dir, 'trust-list.cose'),
      root: path.join(dir, 'trust-root.txt'),
      status: path.join(dir, 'status-list.cwt'),
    };
    await writeFile(files.trustList, await fetchBytes('/.well-known/eid/trust-list'));
    await writeFile(files.root, await fetchBytes('/.well-known/eid/development-trust-root'));
    await writeFile(files.status, await fetchBytes('/eid/status/1'));
    const child = spawn(
      process.env.SHENGSHI_BIN,
      ['eid', 'verify', qrText, '--trust-list', files.trustList, '--trust-root', files.root,
        '--status-list', files.status, '--purpose', purpose],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
    const code = await new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    let json;
    try {
      json = JSON.parse(stdout);
    } catch {
      throw new Error(`eid verify printed no JSON (exit ${code}):\n${stdout}\n${stderr}`);
    }
    return { code, json };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('electronic ID card', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  afterEach((t) => printServerLogOnFailure(t, server));

  it('activates, shows a live code that verifies offline, and refreshes it', async () => {
    const phone = '13912340201';
    await registerResident(server, phone);
    const page = await newPage(browser, { lang: 'zh-CN' });
    try {
      // Fake timers from the start, so the 30-second refresh can be hurried.
      await page.clock.install();
      await logIn(page, server.origin, phone);
      await page.goto(`${server.origin}/card`);
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), '您的居民电子身份证');
      await page.getByRole('button', { name: '开通电子身份证' }).click();
      await page.waitForURL('**/card');
      assert.match(await page.locator('.eid-card').innerText(), /有效/);
      await screenshot(page, 'card-zh-CN');

      await page.getByRole('link', { name: '酒店入住' }).click();
      await page.waitForURL('**/card/show?purpose=hotel_checkin&category=hotel');
      const live = page.locator('#eid-live');
      // The script replaced the server's image with a drawing of the same code.
      await live.locator('canvas').waitFor();
      const first = await live.getAttribute('data-code');
      assert.match(first, /^SS1:[0-9A-Z $%*+\-./:]+$/);
      assert.match(await page.locator('#eid-countdown').innerText(), /剩余有效时间 \d+ 秒/);
      await screenshot(page, 'card-show-zh-CN');

      const verified = await verifyWithCli(server.origin, first, 'hotel_checkin');
      assert.equal(verified.code, 0, JSON.stringify(verified.json));
      assert.equal(verified.json.valid, true);

      // The wrong purpose at the desk is refused, with its own code.
      const wrong = await verifyWithCli(server.origin, first, 'travel_security');
      assert.notEqual(wrong.code, 0);
      assert.equal(wrong.json.valid, false);
      assert.equal(wrong.json.code, 'purpose_mismatch');

      // Thirty seconds on, the page asks for and draws a new code.
      await page.clock.fastForward(31_000);
      await page.waitForFunction(
        (old) => document.getElementById('eid-live').dataset.code !== old,
        first,
      );
      const second = await live.getAttribute('data-code');
      assert.notEqual(second, first);
      assert.equal((await verifyWithCli(server.origin, second, 'hotel_checkin')).code, 0);
      assertNoProblems(page);
    } finally {
      await page.context().close();
    }
  });

  it('works without scripts: a server-rendered image and a self-refreshing page', async () => {
    const phone = '13912340202';
    await registerResident(server, phone, 1);
    const context = await browser.newContext({ javaScriptEnabled: false, locale: 'zh-CN' });
    const page = await context.newPage();
    try {
      // Log in in Chinese (the demo outbox's codes are read from Chinese
      // texts), then switch the card pages to English.
      await logIn(page, server.origin, phone);
      await page.goto(`${server.origin}/card?lang=en`);
      await page.getByRole('button', { name: 'Activate my card' }).click();
      await page.waitForURL('**/card');
      await page.getByRole('link', { name: 'Prove I am over 18' }).click();
      await page.waitForURL('**/card/show?**');
      const image = page.getByRole('img', { name: 'QR code of your electronic ID' });
      await image.waitFor();
      const src = await image.getAttribute('src');
      const svg = await page.request.get(`${server.origin}${src}`);
      assert.equal(svg.status(), 200);
      assert.equal(svg.headers()['content-type'], 'image/svg+xml');
      assert.match(await svg.text(), /^<svg /);
      // The image is for its holder only.
      const stranger = await fetch(`${server.origin}${src}`);
      assert.equal(stranger.status, 401);

      const code = await page.locator('#eid-live').getAttribute('data-code');
      const verified = await verifyWithCli(server.origin, code, 'age_over_18');
      assert.equal(verified.code, 0, JSON.stringify(verified.json));
      await screenshot(page, 'card-show-en-noscript');
    } finally {
      await context.close();
    }
  });
});
