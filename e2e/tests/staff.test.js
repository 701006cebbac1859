// The staff console in the browser: an operator adds a staff member with
// `shengshi staff add` (as on a real installation), the staff member logs in
// with username, password and the code an authenticator app would show
// (computed here from the provisioning URI), sees the console, and logs out —
// in Chinese and in English. Keyboard only, no JavaScript needed by the pages.

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
import { PASSWORD, addStaff, totp, typeInto } from '../lib/flows.js';

describe('staff console', () => {
  let server;
  let browser;
  let uri;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    uri = await addStaff(server.dataDir, {
      username: 'chen.jing',
      name: '陈静',
      department: 'civil_affairs',
      role: 'supervisor',
    });
    assert.match(uri, /^otpauth:\/\/totp\/Shengshi:chen\.jing\?secret=/);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  afterEach((t) => printServerLogOnFailure(t, server));

  it('logs a staff member in and out in Chinese', async () => {
    const page = await newPage(browser, { lang: 'zh-CN' });
    try {
      // Not signed in: the console sends you to the login page.
      await page.goto(`${server.origin}/staff`);
      await page.waitForURL('**/staff/login');
      assert.equal(await page.locator('h1').innerText(), '工作人员登录');

      // A wrong code is refused without saying which field was wrong.
      await typeInto(page, '用户名', 'chen.jing');
      await typeInto(page, '密码', PASSWORD);
      await typeInto(page, '动态验证码', '000000');
      await page.keyboard.press('Enter');
      await page.waitForSelector('.error-summary');
      assert.match(await page.locator('.error-summary').innerText(), /用户名、密码或动态验证码不正确/);
      await screenshot(page, 'staff-login-error-zh-CN');

      await typeInto(page, '密码', PASSWORD);
      await typeInto(page, '动态验证码', totp(uri));
      await page.keyboard.press('Enter');
      await page.waitForURL(`${server.origin}/staff`);
      const main = await page.locator('main').innerText();
      assert.match(main, /陈静/);
      assert.match(main, /民政/);
      assert.match(main, /负责人/);
      assert.match(main, /查看本部门的工作人员/);
      const cookies = await page.context().cookies();
      const sid = cookies.find((c) => c.name === 'staff_sid');
      assert.ok(sid?.httpOnly, 'the staff session cookie is HttpOnly');
      assert.equal(sid.sameSite, 'Strict');
      assert.ok(!cookies.some((c) => c.name === 'sid'), 'no resident session');
      await screenshot(page, 'staff-console-zh-CN');

      await page.getByRole('button', { name: '退出登录' }).click();
      await page.waitForURL('**/staff/login');
      await page.goto(`${server.origin}/staff`);
      await page.waitForURL('**/staff/login');
      assertNoProblems(page);
    } finally {
      await page.context().close();
    }
  });

  it('logs a staff member in and out in English', async () => {
    const page = await newPage(browser, { lang: 'en-GB' });
    try {
      await page.goto(`${server.origin}/staff/login`);
      assert.equal(await page.locator('html').getAttribute('lang'), 'en');
      assert.equal(await page.locator('h1').innerText(), 'Staff login');
      await typeInto(page, 'Username', 'chen.jing');
      await typeInto(page, 'Password', PASSWORD);
      // The Chinese login used this step's code; a code is accepted once, so
      // use the next step's (accepted for clock drift).
      await typeInto(page, 'Authenticator code', totp(uri, 1));
      await screenshot(page, 'staff-login-en');
      await page.keyboard.press('Enter');
      await page.waitForURL(`${server.origin}/staff`);
      const main = await page.locator('main').innerText();
      assert.match(main, /Civil Affairs/);
      assert.match(main, /Supervisor/);
      assert.match(main, /Check and decide your department's cases/);
      await screenshot(page, 'staff-console-en');

      await page.getByRole('button', { name: 'Log out' }).click();
      await page.waitForURL('**/staff/login');
      assert.ok(!(await page.context().cookies()).some((c) => c.name === 'staff_sid' && c.value));
      assertNoProblems(page);
    } finally {
      await page.context().close();
    }
  });
});
