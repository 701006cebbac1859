// Holder-bound codes with no network: a resident opens the offline card page
// once online (the phone gets a key and a credential), then the browser goes
// offline and reloads the page — the service worker serves it — and the CLI
// verifies three successive codes the page signs; a code captured more than
// 60 seconds earlier is refused. Back online, the phone reports its codes and
// the access log lists them.

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
import { codeFromOutbox, registerResident } from '../lib/flows.js';

/** What a verifier holds, fetched while online: trust list, root, status list. */
async function verifierFiles(origin) {
  const dir = await mkdtemp(path.join(tmpdir(), 'shengshi-verifier-'));
  const fetchBytes = async (p) => {
    const response = await fetch(`${origin}${p}`);
    assert.equal(response.status, 200, p);
    return Buffer.from(await response.arrayBuffer());
  };
  const files = {
    dir,
    trustList: path.join(dir, 'trust-list.cose'),
    root: path.join(dir, 'trust-root.txt'),
    status: path.join(dir, 'status-list.cwt'),
  };
  await writeFile(files.trustList, await fetchBytes('/.well-known/eid/trust-list'));
  await writeFile(files.root, await fetchBytes('/.well-known/eid/development-trust-root'));
  await writeFile(files.status, await fetchBytes('/eid/status/1'));
  return files;
}

/** `shengshi eid verify` as of `nowSeconds`; resolves to { code, json }. */
async function verify(files, qrText, purpose, nowSeconds) {
  const child = spawn(
    process.env.SHENGSHI_BIN,
    ['eid', 'verify', qrText, '--trust-list', files.trustList, '--trust-root', files.root,
      '--status-list', files.status, '--purpose', purpose, '--now', String(nowSeconds)],
    { cwd: files.dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
  const code = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  try {
    return { code, json: JSON.parse(stdout) };
  } catch {
    throw new Error(`eid verify printed no JSON (exit ${code}):\n${stdout}\n${stderr}`);
  }
}

describe('offline electronic ID card', () => {
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

  it('signs codes offline that verify, and refuses a code older than a minute', async () => {
    const phone = '13912340301';
    await registerResident(server, phone);
    const page = await newPage(browser, { lang: 'zh-CN' });
    const files = await verifierFiles(server.origin);
    try {
      await page.clock.install();
      await page.goto(`${server.origin}/login`);
      await page.getByLabel('手机号', { exact: true }).fill(phone);
      await page.getByRole('button', { name: '发送验证码' }).click();
      await page.waitForURL('**/login/code');
      await page.getByLabel('验证码', { exact: true }).fill(await codeFromOutbox(server.origin, phone));
      await page.getByRole('button', { name: '登录' }).click();
      await page.waitForURL('**/account');
      await page.goto(`${server.origin}/card`);
      await page.getByRole('button', { name: '开通电子身份证' }).click();
      await page.waitForURL('**/card');
      // The status list now knows the new card; the verifier fetches it while online.
      await writeFile(files.status, Buffer.from(await (await fetch(`${server.origin}/eid/status/1`)).arrayBuffer()));

      // Online once: the phone makes its key and gets a credential.
      await page.getByRole('link', { name: '无网络也能用的身份码' }).click();
      await page.waitForURL('**/card/offline');
      const live = page.locator('#eid-live');
      await page.waitForFunction(() => document.getElementById('eid-live').dataset.code);
      await page.evaluate(async () => { await navigator.serviceWorker.ready; });

      // No network from here on: the page still loads and signs codes.
      await page.context().setOffline(true);
      await page.reload();
      await page.waitForFunction(() => document.getElementById('eid-live').dataset.code);
      assert.match(await page.locator('#holder-status').innerText(), /无网络/);
      await screenshot(page, 'card-offline-zh-CN');

      const codes = [];
      for (let i = 0; i < 3; i += 1) {
        if (i > 0) {
          const before = await live.getAttribute('data-code');
          await page.clock.fastForward(30_000);
          await page.waitForFunction(
            (old) => document.getElementById('eid-live').dataset.code !== old,
            before,
          );
        }
        const text = await live.getAttribute('data-code');
        assert.match(text, /^SS2:[0-9A-Z $%*+\-./:]+$/);
        const now = Math.floor((await page.evaluate(() => Date.now())) / 1000);
        codes.push({ text, now });
        const result = await verify(files, text, 'hotel_checkin', now);
        assert.equal(result.code, 0, JSON.stringify(result.json));
        assert.equal(result.json.valid, true);
      }
      assert.equal(new Set(codes.map((c) => c.text)).size, 3, 'each code is new');

      // A screenshot of the first code, shown more than a minute later: refused.
      const later = codes[0].now + 61 + 30;
      const stale = await verify(files, codes[0].text, 'hotel_checkin', later);
      assert.notEqual(stale.code, 0);
      assert.equal(stale.json.valid, false);
      assert.equal(stale.json.code, 'expired');

      // Back online: the phone reports its codes; the access log lists them.
      await page.context().setOffline(false);
      await page.evaluate(() => window.dispatchEvent(new Event('online')));
      await page.clock.fastForward(30_000);
      let reported = [];
      for (let attempt = 0; attempt < 50 && reported.length < 3; attempt += 1) {
        const log = await (await page.request.get(`${server.origin}/api/v1/me/access-log?limit=100`)).json();
        reported = log.entries.filter((e) => e.purpose === 'eid_offline_presentation');
        if (reported.length < 3) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.ok(reported.length >= 3, `the phone reported its codes: ${reported.length}`);
      assert.deepEqual(reported[0].fields, ['name', 'id_number', 'portrait_digest']);
      assertNoProblems(page);
    } finally {
      await page.context().close();
      await rm(files.dir, { recursive: true, force: true });
    }
  });
});
