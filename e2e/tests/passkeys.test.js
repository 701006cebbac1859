// Passkeys in the browser, with Chromium's virtual authenticator standing in
// for a phone's fingerprint reader: a resident registered on the demo adds a
// passkey on the account page, logs out, and logs in with it without typing
// a phone number or a code; then removes it again.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  assertNoProblems,
  launchBrowser,
  newPage,
  printServerLogOnFailure,
  screenshot,
  startServer,
} from '../lib/harness.js';

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

describe('passkeys', () => {
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

  it('adds a passkey, logs in with it without a code, and removes it', async () => {
    const phone = '13912340077';
    await registerResident(server, phone);
    const page = await newPage(browser, { lang: 'en-GB' });
    const authenticator = await addVirtualAuthenticator(page);
    try {
      // Log in with an SMS code first.
      await page.goto(`${server.origin}/login`);
      await page.getByLabel('Mobile number', { exact: true }).fill(phone);
      await page.getByRole('button', { name: 'Send code' }).click();
      await page.waitForURL('**/login/code');
      await page.getByLabel('Code', { exact: true }).fill(await codeFromOutbox(server.origin, phone));
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL('**/account');
      assert.match(await page.locator('main').innerText(), /You have no passkeys yet/);

      // Add one, named.
      await page.getByLabel('Name for the new passkey').fill('Test phone');
      await page.getByRole('button', { name: 'Add a passkey' }).click();
      await page.locator('.passkey-list li', { hasText: 'Test phone' }).waitFor();
      const stored = await authenticator.credentials();
      assert.equal(stored.length, 1, 'the authenticator holds one passkey');
      assert.equal(stored[0].isResidentCredential, true, 'discoverable, so login names nobody');
      await screenshot(page, 'account-passkey-en');
      assertNoProblems(page);

      // Log out, then in again with the passkey alone.
      await page.getByRole('button', { name: 'Log out', exact: true }).click();
      await page.waitForURL(`${server.origin}/`);
      await page.goto(`${server.origin}/login`);
      const passkeyButton = page.getByRole('button', { name: 'Log in with a passkey' });
      await passkeyButton.waitFor();
      await screenshot(page, 'login-passkey-en');
      await passkeyButton.click();
      await page.waitForURL('**/account');
      assert.match(await page.locator('main').innerText(), /Test phone/);
      assertNoProblems(page);

      // Remove it (a plain form); the next passkey login is refused with a clear message.
      await page.getByRole('button', { name: 'Remove: Test phone' }).click();
      await page.waitForURL('**/account');
      assert.match(await page.locator('main').innerText(), /You have no passkeys yet/);
      await page.getByRole('button', { name: 'Log out', exact: true }).click();
      await page.waitForURL(`${server.origin}/`);
      await page.goto(`${server.origin}/login`);
      await page.getByRole('button', { name: 'Log in with a passkey' }).click();
      const error = page.locator('#passkey-login-error');
      await error.waitFor();
      assert.match(await error.innerText(), /could not log you in/);
      assert.ok(page.url().endsWith('/login'), 'still on the login page');
    } finally {
      await page.context().close();
    }
  });

  it('shows the passkey login in Chinese', async () => {
    const page = await newPage(browser, { lang: 'zh-CN' });
    await addVirtualAuthenticator(page);
    try {
      await page.goto(`${server.origin}/login`);
      await page.getByRole('button', { name: '使用通行密钥登录' }).waitFor();
      await screenshot(page, 'login-passkey-zh-CN');
      assertNoProblems(page);
    } finally {
      await page.context().close();
    }
  });
});
