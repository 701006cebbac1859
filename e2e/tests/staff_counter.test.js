// A counter check in the browser. A public security clerk, added with
// `shengshi staff add`, logs in with password and authenticator code, adds a
// passkey in the console (Chromium's virtual authenticator stands in for the
// device's fingerprint reader), logs out and back in with the passkey alone,
// then checks a demo resident at the counter. Someone else registered the
// resident's identity first with another phone, so the clerk is asked to
// confirm, and the squatter's account is evicted.

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
import { PASSWORD, addStaff, totp, demoResident, codeFromOutbox, registerResident, addVirtualAuthenticator } from '../lib/flows.js';

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
