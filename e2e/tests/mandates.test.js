// 亲友代办 on pages: a resident gives her son a mandate for one service, the
// son records what he did for her, she sees it and revokes the mandate, and
// his next attempt is refused. Each in a browser of their own, in Chinese.

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
import { registerResident, logIn } from '../lib/flows.js';

describe('family mandates', () => {
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

  it('grant, act, see, revoke, refused', async () => {
    const mother = '13912340401';
    const son = '13912340402';
    await registerResident(server, mother, 0);
    await registerResident(server, son, 1);
    const sonPage = await newPage(browser, { lang: 'zh-CN' });
    const motherPage = await newPage(browser, { lang: 'zh-CN' });
    try {
      // The son reads his account number from the page.
      await logIn(sonPage, server.origin, son);
      await sonPage.getByRole('link', { name: '亲友代办' }).click();
      await sonPage.waitForURL('**/account/mandates');
      const sonAccount = (await sonPage.locator('.account-number').innerText()).trim();
      assert.match(sonAccount, /^[0-9a-f-]{36}$/);

      // The mother gives him a mandate; a bad date first.
      await logIn(motherPage, server.origin, mother);
      await motherPage.goto(`${server.origin}/account/mandates`);
      await motherPage.getByLabel('对方的账号').fill(sonAccount);
      await motherPage.getByLabel('对方是您的').selectOption('child');
      await motherPage.getByLabel('可代办的服务').fill('social_security.pension');
      await motherPage.getByRole('button', { name: '授权', exact: true }).click();
      await motherPage.locator('.error-summary').waitFor();
      assert.ok(await motherPage.getByRole('link', { name: /日期/ }).isVisible());
      await motherPage.getByLabel('有效期至（含当天）').fill('2099-01-01');
      await motherPage.getByRole('button', { name: '授权', exact: true }).click();
      await motherPage.locator('.error-summary').waitFor();
      const nextYear = new Date(Date.now() + 180 * 24 * 3600 * 1000).toISOString().slice(0, 10);
      await motherPage.getByLabel('有效期至（含当天）').fill(nextYear);
      await motherPage.getByRole('button', { name: '授权', exact: true }).click();
      await motherPage.waitForURL('**/account/mandates');
      const given = motherPage.getByRole('table', { name: '您给出的授权' });
      await given.waitFor();
      assert.match(await given.innerText(), /子女[\s\S]*social_security\.pension[\s\S]*有效/);

      // The son records something he did for her.
      await sonPage.reload();
      await sonPage.getByLabel('您办理的事项').fill('social_security.pension.certified_alive');
      await sonPage.getByRole('button', { name: '记录' }).click();
      await sonPage.waitForURL('**/account/mandates');
      await screenshot(sonPage, 'mandates-received-zh-CN');

      // She sees it, and revokes the mandate.
      await motherPage.reload();
      const done = motherPage.getByRole('table', { name: '代您办理的事项' });
      await done.waitFor();
      assert.match(await done.innerText(), /social_security\.pension\.certified_alive/);
      await screenshot(motherPage, 'mandates-given-zh-CN');
      await motherPage.getByRole('button', { name: /^撤销/ }).click();
      await motherPage.waitForURL('**/account/mandates');
      assert.match(await given.innerText(), /已撤销/);

      // His page no longer offers the form; a stale form is refused.
      const stale = await sonPage.locator('form[action="/account/mandates/act"]').count();
      assert.equal(stale, 1, 'the son still has the old page open');
      await sonPage.getByLabel('您办理的事项').fill('social_security.pension.certified_alive');
      await sonPage.getByRole('button', { name: '记录' }).click();
      await sonPage.locator('.error-summary').waitFor();
      assert.match(await sonPage.locator('.error-summary').innerText(), /已被撤销/);
      assertNoProblems(motherPage);
    } finally {
      await sonPage.context().close();
      await motherPage.context().close();
    }
  });
});
