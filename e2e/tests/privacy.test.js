// "Your data and your rights" in the browser, in Chinese: a resident
// registered on the demo logs in with an SMS code, follows the link from the
// account page, downloads their data, sends a correction request, and closes
// the account by typing the confirmation word, ending on the home page.

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
import { codeFromOutbox, registerResident } from '../lib/flows.js';

describe('your data and your rights', () => {
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

  it('downloads, asks for a correction and closes the account, in Chinese', async () => {
    const phone = '13912340099';
    await registerResident(server, phone);
    const page = await newPage(browser, { lang: 'zh-CN' });
    try {
      await page.goto(`${server.origin}/login`);
      await page.getByLabel('手机号', { exact: true }).fill(phone);
      await page.getByRole('button', { name: '发送验证码' }).click();
      await page.waitForURL('**/login/code');
      await page.getByLabel('验证码', { exact: true }).fill(await codeFromOutbox(server.origin, phone));
      await page.getByRole('button', { name: '登录' }).click();
      await page.waitForURL('**/account');

      await page.getByRole('link', { name: /您的个人信息与权利/ }).click();
      await page.waitForURL('**/account/privacy');
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), '您的个人信息与权利');

      // The download link answers with the JSON export, not cached.
      const download = page.getByRole('link', { name: '下载我的个人信息（JSON）' });
      assert.equal(await download.getAttribute('href'), '/api/v1/me/export');
      const response = await page.request.get(`${server.origin}/api/v1/me/export`);
      assert.equal(response.status(), 200);
      assert.equal(response.headers()['cache-control'], 'no-store');
      const exported = await response.json();
      assert.equal(exported.format, 'shengshi-subject-export');
      assert.equal(exported.profile.phone, phone);
      await screenshot(page, 'privacy-zh-CN');
      assertNoProblems(page);

      // A correction request: sent, then listed back.
      await page.getByLabel('哪一项有误').selectOption('address');
      await page.getByLabel('正确的内容').fill('浙江省杭州市西湖区文三路 478 号');
      await page.getByLabel('说明（选填）').fill('三月已搬家');
      await page.getByRole('button', { name: '提交更正申请' }).click();
      await page.waitForURL('**/account/privacy#corrections');
      const table = page.locator('table', { hasText: '文三路 478 号' });
      await table.waitFor();
      assert.match(await table.innerText(), /等待审核/);
      await screenshot(page, 'privacy-correction-zh-CN');
      assertNoProblems(page);

      // Closing without the word is refused with a message beside the field.
      await page.getByRole('button', { name: '永久注销我的账号' }).click();
      await page.locator('#confirmation-error').waitFor();
      assert.match(await page.locator('.error-summary').innerText(), /CLOSE/);
      await screenshot(page, 'privacy-close-refused-zh-CN');

      // With the word, the account is closed and the resident is home, logged out.
      await page.getByLabel(/请输入以下字样以确认/).fill('CLOSE');
      await page.getByRole('button', { name: '永久注销我的账号' }).click();
      await page.waitForURL(`${server.origin}/`);
      await screenshot(page, 'privacy-closed-home-zh-CN');
      assertNoProblems(page);
      const afterwards = await page.request.get(`${server.origin}/api/v1/me`);
      assert.equal(afterwards.status(), 401);
    } finally {
      await page.context().close();
    }
  });
});
