// The printable identity document (MOSIP Claim 169) in the browser: a demo
// resident activates the card, opens the document page, ticks name and date
// of birth, and gets a page that shows those details only, with a QR code
// whose text `shengshi eid verify` checks offline against what the server
// publishes. The resident then revokes the document on the page, and the
// same command now says it is revoked.

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
import { assertNoAxeViolations } from '../lib/a11y.js';
import { demoResident, registerResident, logIn } from '../lib/flows.js';

/** Runs `shengshi eid verify` offline on a document; resolves to { code, json }. */
async function verifyWithCli(origin, qrText) {
  const dir = await mkdtemp(path.join(tmpdir(), 'shengshi-document-'));
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
        '--status-list', files.status],
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

describe('printable identity document', () => {
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

  it('shows only the chosen details, verifies offline, and is revoked from the page', async () => {
    const phone = '13912340301';
    await registerResident(server, phone);
    const { name } = demoResident(server.stdout(), 0);
    const page = await newPage(browser, { lang: 'zh-CN' });
    try {
      await logIn(page, server.origin, phone);
      await page.goto(`${server.origin}/card?lang=en`);
      await page.getByRole('button', { name: 'Activate my card' }).click();
      await page.waitForURL('**/card');
      await page.getByRole('link', { name: 'Printable identity document' }).click();
      await page.waitForURL('**/card/document');
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Printable identity document');
      assert.match(await page.locator('main').innerText(), /A photocopy or a photo of the paper works just as well/);
      assert.match(await page.locator('main').innerText(), /You have not made any printable document/);

      // Nothing ticked: a clear error, and nothing is made.
      await page.getByRole('button', { name: 'Make the document' }).click();
      await page.waitForURL('**/card/document');
      assert.match(await page.locator('.error-summary').innerText(), /Tick at least one detail/);
      assert.match(await page.locator('main').innerText(), /You have not made any printable document/);

      await page.getByLabel('Name', { exact: true }).check();
      await page.getByLabel('Date of birth', { exact: true }).check();
      await page.getByLabel('1 year', { exact: true }).check();
      await page.getByRole('button', { name: 'Make the document' }).click();
      await page.waitForURL('**/card/document');
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Your printable identity document');
      await page.getByRole('img', { name: 'QR code of your printable identity document' }).waitFor();

      // Exactly the chosen details, nothing else.
      const labels = await page.locator('#disclosed dt').allInnerTexts();
      assert.deepEqual(labels, ['Name', 'Date of birth']);
      const values = await page.locator('#disclosed dd').allInnerTexts();
      assert.equal(values[0], name);
      assert.match(values[1], /^\d{4}-\d{2}-\d{2}$/);
      await assertNoAxeViolations(page, 'document result');
      await screenshot(page, 'card-document-done-en');
      await page.emulateMedia({ media: 'print' });
      assert.equal(await page.locator('header').first().isVisible(), false, 'no header on paper');
      await screenshot(page, 'card-document-done-en-print');
      await page.emulateMedia({ media: 'screen' });

      const text = await page.locator('#document-code').textContent();
      assert.match(text, /^[0-9A-Z $%*+\-./:]+$/);
      const verified = await verifyWithCli(server.origin, text);
      assert.equal(verified.code, 0, JSON.stringify(verified.json));
      assert.equal(verified.json.mode, 'claim169');
      assert.equal(verified.json.document.disclosed.full_name, name);
      assert.equal(verified.json.document.disclosed.date_of_birth, values[1].replaceAll('-', ''));
      for (const absent of ['id', 'address', 'gender', 'nationality', 'photo_format']) {
        assert.equal(verified.json.document.disclosed[absent], undefined, absent);
      }

      // The list: one valid document; revoke it.
      await page.goto(`${server.origin}/card/document`);
      const row = page.locator('tr[data-document]');
      assert.equal(await row.count(), 1);
      assert.match(await row.innerText(), /Name, Date of birth/);
      assert.equal(await row.locator('[data-state]').getAttribute('data-state'), 'valid');
      await row.getByRole('button', { name: /Revoke/ }).click();
      await page.waitForURL('**/card/document');
      assert.equal(await page.locator('tr[data-document] [data-state]').getAttribute('data-state'), 'revoked');
      assert.equal(await page.locator('tr[data-document] button').count(), 0, 'nothing left to revoke');
      await screenshot(page, 'card-document-revoked-en');

      const revoked = await verifyWithCli(server.origin, text);
      assert.equal(revoked.code, 1, JSON.stringify(revoked.json));
      assert.equal(revoked.json.valid, false);
      assert.equal(revoked.json.code, 'revoked');

      // The access log names the issuance with the chosen details.
      await page.goto(`${server.origin}/account/access-log`);
      assert.match(await page.locator('main').innerText(), /A printable identity document was made for you/);
      assertNoProblems(page);
    } finally {
      await page.context().close();
    }
  });
});
