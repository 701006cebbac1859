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
import { codeFromOutbox, registerResident, addVirtualAuthenticator } from '../lib/flows.js';

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
