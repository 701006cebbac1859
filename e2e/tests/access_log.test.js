// "Who accessed my data" in the browser: a resident registered on the demo
// logs in with an SMS code, follows the link from the account page, and sees
// their own visit to the account page in the table, in Chinese.

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

describe('who accessed my data', () => {
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

  it('lists the account page visit, newest first, in Chinese', async () => {
    const phone = '13912340088';
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

      await page.getByRole('link', { name: '谁查看了我的信息' }).click();
      await page.waitForURL('**/account/access-log');
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), '谁查看了我的信息');

      const table = page.getByRole('table', { name: '您的个人信息被访问的记录，最新的在前' });
      await table.waitFor();
      const rows = table.locator('tbody tr');
      assert.ok((await rows.count()) >= 1, 'at least the account page visit');
      const newest = await rows.first().innerText();
      assert.match(newest, /您本人/);
      assert.match(newest, /您查看了自己的账号/);
      assert.match(newest, /姓名、身份证号、手机号/);
      assert.ok(await rows.first().getByRole('link', { name: /证明/ }).isVisible());

      // The filter is a plain GET form.
      await page.getByLabel('事由').selectOption('counter_check');
      await page.getByRole('button', { name: '查看' }).click();
      await page.waitForURL('**/account/access-log?purpose=counter_check');
      assert.match(await page.locator('main').innerText(), /这里没有该事由的访问记录/);
      await page.getByLabel('事由').selectOption('own_account');
      await page.getByRole('button', { name: '查看' }).click();
      await page.waitForURL('**/account/access-log?purpose=own_account');
      await table.waitFor();

      await screenshot(page, 'access-log-zh-CN');
      assertNoProblems(page);
    } finally {
      await page.context().close();
    }
  });
});
