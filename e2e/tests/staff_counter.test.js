// A counter check in the browser. A public security clerk, added with
// `shengshi staff add`, logs in with password and authenticator code, adds a
// passkey in the console (Chromium's virtual authenticator stands in for the
// device's fingerprint reader), logs out and back in with the passkey alone,
// then checks a demo resident at the counter. Someone else registered the
// resident's identity first with another phone, so the clerk is asked to
// confirm, and the squatter's account is evicted.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  assertNoProblems,
  launchBrowser,
  newPage,
  printServerLogOnFailure,
  screenshot,
  startServer,
} from '../lib/harness.js';

const PASSWORD = 'Correct-horse-42';

/** Runs `shengshi staff add` on the server's data directory; resolves to the provisioning URI. */
function addStaff(dataDir, { username, name, department, role }) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('SHENGSHI_')) env[key] = value;
  }
  const child = spawn(
    process.env.SHENGSHI_BIN,
    ['staff', 'add', '--data-dir', dataDir, '--username', username, '--name', name,
      '--department', department, '--role', role],
    { cwd: dataDir, env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
  child.stdin.end(`${PASSWORD}\n`);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(stdout.trim());
      else reject(new Error(`shengshi staff add failed (${code}):\n${stderr}`));
    });
  });
}

/** RFC 4648 base32, as in the provisioning URI's `secret`. */
function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/=+$/, '')) {
    const index = alphabet.indexOf(c);
    assert.ok(index >= 0, `not base32: ${c}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** The RFC 6238 code (HMAC-SHA-1, 30 s, 6 digits) for `step` steps after now. */
function totp(uri, step = 0) {
  const secret = base32Decode(new URL(uri).searchParams.get('secret'));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + step));
  const digest = createHmac('sha1', secret).update(counter).digest();
  const offset = digest[19] & 0x0f;
  const binary = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 1_000_000).padStart(6, '0');
}

/** The first "Try real-name registration as" resident the server printed. */
function demoResident(stdout) {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => l.includes('Try real-name registration as'));
  assert.ok(at >= 0, `the demo names residents to try:\n${stdout}`);
  const [name, idNumber] = lines[at + 1].trim().split(/\s+/);
  return { name, idNumber };
}

/** The newest code the demo outbox shows for this phone. */
async function codeFromOutbox(origin, phone) {
  const html = await (await fetch(`${origin}/demo/sms`)).text();
  const code = /(?:验证码是|code is)\s*(\d{6})/;
  const row = html.split('<tr>').find((r) => r.includes(phone) && code.test(r));
  assert.ok(row, `a code for ${phone} in the outbox`);
  return row.match(code)[1];
}

async function api(origin, path, body) {
  const response = await fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** Registers the demo resident with this phone through the JSON API. */
async function registerResident(server, phone) {
  const { name, idNumber } = demoResident(server.stdout());
  assert.equal((await api(server.origin, '/api/v1/registration/codes', { phone })).status, 202);
  const code = await codeFromOutbox(server.origin, phone);
  const proof = await api(server.origin, '/api/v1/registration/phone-proofs', { phone, code });
  assert.equal(proof.status, 201);
  const done = await api(server.origin, '/api/v1/registrations', {
    proof: proof.body.proof,
    name,
    id_number: idNumber,
  });
  assert.equal(done.status, 202);
}

/** A virtual platform authenticator that verifies the user (like a fingerprint). */
async function addVirtualAuthenticator(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
  };
}

describe('staff counter check', () => {
  let server;
  let browser;
  let uri;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    uri = await addStaff(server.dataDir, {
      username: 'hu.zheng',
      name: '胡正',
      department: 'public_security',
      role: 'clerk',
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  afterEach((t) => printServerLogOnFailure(t, server));

  it('logs in with a passkey and evicts a squatter at the counter', async () => {
    const squatterPhone = '13700000099';
    const residentPhone = '13912340099';
    await registerResident(server, squatterPhone);
    const { name, idNumber } = demoResident(server.stdout());

    const page = await newPage(browser, { lang: 'en-GB' });
    const authenticator = await addVirtualAuthenticator(page);
    try {
      // Password and authenticator code first; the passkey box is offered above.
      await page.goto(`${server.origin}/staff/login`);
      await page.getByRole('button', { name: 'Log in with a passkey' }).waitFor();
      await page.getByLabel('Username', { exact: true }).fill('hu.zheng');
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByLabel('Authenticator code', { exact: true }).fill(totp(uri));
      await screenshot(page, 'staff-login-passkey-en');
      await page.getByRole('button', { name: 'Log in', exact: true }).click();
      await page.waitForURL(`${server.origin}/staff`);
      assert.match(await page.locator('main').innerText(), /You have no passkeys yet/);

      // Add a passkey in the console.
      await page.getByLabel('Name for the new passkey').fill('Counter 3');
      await page.getByRole('button', { name: 'Add a passkey' }).click();
      await page.locator('.passkey-list li', { hasText: 'Counter 3' }).waitFor();
      assert.equal((await authenticator.credentials()).length, 1);
      await screenshot(page, 'staff-console-passkey-en');
      assertNoProblems(page);

      // Log out, and in again with the passkey alone.
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.waitForURL('**/staff/login');
      await page.getByRole('button', { name: 'Log in with a passkey' }).click();
      await page.waitForURL(`${server.origin}/staff`);
      assert.match(await page.locator('main').innerText(), /Counter 3/);

      // Step 1: the resident's phone.
      await page.getByRole('link', { name: "Check a resident's identity at the counter" }).click();
      await page.waitForURL('**/staff/counter-check');
      await page.getByLabel("Resident's mobile number", { exact: true }).fill(residentPhone);
      await screenshot(page, 'staff-counter-phone-en');
      await page.getByRole('button', { name: 'Send code to the resident' }).click();
      await page.waitForURL('**/staff/counter-check/identity');
      assert.match(await page.locator('main').innerText(), new RegExp(residentPhone));

      // Step 2: the card and the code the resident reads out.
      await page.getByLabel('Name', { exact: true }).fill(name);
      await page.getByLabel('ID number', { exact: true }).fill(idNumber);
      await page
        .getByLabel('Code the resident reads out', { exact: true })
        .fill(await codeFromOutbox(server.origin, residentPhone));
      await page.getByRole('button', { name: 'Complete the check' }).click();

      // Another phone's account holds the identity: confirm with the resident.
      const summary = page.locator('.error-summary');
      await summary.waitFor();
      assert.match(await summary.innerText(), /different mobile number already holds this identity/);
      const confirm = page.getByLabel(
        'The resident confirms they did not open the account on another phone: evict it',
      );
      assert.equal(await confirm.isChecked(), false);
      await screenshot(page, 'staff-counter-confirm-en');
      await confirm.check();
      await page.getByRole('button', { name: 'Complete the check' }).click();

      const panel = page.locator('.panel');
      await panel.waitFor();
      assert.match(await panel.innerText(), /Other account evicted, new account opened/);
      const main = await page.locator('main').innerText();
      assert.ok(!main.includes(idNumber), 'the ID number is shown masked');
      assert.match(main, /L2/);
      assert.match(main, /add a passkey/);
      await screenshot(page, 'staff-counter-done-en');
      assertNoProblems(page);
    } finally {
      await page.context().close();
    }
  });

  it('shows the counter check in Chinese', async () => {
    const page = await newPage(browser, { lang: 'zh-CN' });
    await addVirtualAuthenticator(page);
    try {
      await page.goto(`${server.origin}/staff/login`);
      await page.getByRole('button', { name: '使用通行密钥登录' }).waitFor();
      await screenshot(page, 'staff-login-passkey-zh-CN');
      await page.getByLabel('用户名', { exact: true }).fill('hu.zheng');
      await page.getByLabel('密码', { exact: true }).fill(PASSWORD);
      // The English test used this step's code; a code is accepted once.
      await page.getByLabel('动态验证码', { exact: true }).fill(totp(uri, 1));
      await page.getByRole('button', { name: '登录', exact: true }).click();
      await page.waitForURL(`${server.origin}/staff`);
      await page.getByRole('link', { name: '在窗口核验居民身份' }).click();
      await page.waitForURL('**/staff/counter-check');
      assert.equal(await page.locator('h1').innerText(), '居民的手机号码');
      // A malformed number is explained in the error summary and beside the field.
      await page.getByLabel('居民手机号码', { exact: true }).fill('139');
      await page.getByRole('button', { name: '向居民发送验证码' }).click();
      await page.locator('.error-summary').waitFor();
      assert.match(await page.locator('#phone-error').innerText(), /11/);
      await screenshot(page, 'staff-counter-phone-error-zh-CN');
      assertNoProblems(page);
    } finally {
      await page.context().close();
    }
  });
});
