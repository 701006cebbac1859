// Embargoes in the browser: a public security clerk requests one for a
// resident's account; a missing legal basis and a past end date are refused
// in the error summary (and the title starts "错误："); a supervisor sees the
// request in the console's queues and approves it, but may not approve their
// own; a second request is refused. The confirmation's query survives the
// language switch.

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
import { addStaff, logIn, registerResident, staffLogIn } from '../lib/flows.js';

/** The resident's account number, as their own pages show it. */
async function accountNumber(browser, origin, phone) {
  const page = await newPage(browser, { lang: 'zh-CN' });
  try {
    await logIn(page, origin, phone);
    const me = await page.request.get(`${origin}/api/v1/me`);
    assert.equal(me.status(), 200);
    return (await me.json()).account_id;
  } finally {
    await page.context().close();
  }
}

function isoDay(daysFromNow) {
  return new Date(Date.now() + daysFromNow * 86_400_000).toISOString().slice(0, 10);
}

describe('embargoes', () => {
  let server;
  let browser;
  const uris = {};

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    for (const [username, role] of [['ps.clerk', 'clerk'], ['ps.head', 'supervisor'], ['ps.deputy', 'supervisor']]) {
      uris[username] = await addStaff(server.dataDir, {
        username,
        name: '王芳',
        department: 'public_security',
        role,
      });
    }
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  afterEach((t) => printServerLogOnFailure(t, server));

  it('requests an embargo, refuses bad input, and a supervisor approves it', async () => {
    const phone = '13912340902';
    await registerResident(server, phone);
    const account = await accountNumber(browser, server.origin, phone);

    const clerk = await newPage(browser, { lang: 'zh-CN' });
    try {
      await staffLogIn(clerk, server.origin, 'ps.clerk', uris['ps.clerk']);
      // A clerk may request, but has no queue of embargoes to decide.
      assert.equal(await clerk.locator('[data-queue="embargoes"]').count(), 0);
      await clerk.locator('[data-queue="request-embargo"] a').click();
      await clerk.waitForURL('**/staff/embargoes');
      assert.equal(await clerk.locator('#embargo-queue').count(), 0);

      // No basis and an end in the past: both named, nothing requested.
      await clerk.getByLabel('居民账号', { exact: true }).fill(account);
      await clerk.getByLabel('结束日期', { exact: true }).fill(isoDay(-2));
      await clerk.getByRole('button', { name: '提交申请' }).click();
      await clerk.waitForSelector('.error-summary');
      assert.match(await clerk.locator('.error-summary').innerText(), /法律依据/);
      assert.match(await clerk.title(), /^错误：暂缓告知/);
      assert.equal(await clerk.locator('.error-summary a').first().getAttribute('href'), '#basis');
      await clerk.getByLabel('法律依据', { exact: true }).fill('刑事诉讼法第152条');
      await clerk.getByRole('button', { name: '提交申请' }).click();
      await clerk.waitForSelector('.error-summary');
      assert.match(await clerk.locator('.error-summary').innerText(), /截止时间必须在将来/);
      assert.equal(await clerk.locator('.error-summary a').getAttribute('href'), '#until');
      // More than a year away is refused too.
      await clerk.getByLabel('结束日期', { exact: true }).fill(isoDay(400));
      await clerk.getByRole('button', { name: '提交申请' }).click();
      await clerk.waitForSelector('.error-summary');
      assert.equal(await clerk.locator('.error-summary a').getAttribute('href'), '#until');
      await screenshot(clerk, 'staff-embargoes-error-zh-CN');

      await clerk.getByLabel('结束日期', { exact: true }).fill(isoDay(30));
      await clerk.getByRole('button', { name: '提交申请' }).click();
      await clerk.waitForURL('**/staff/embargoes?requested=1');
      assert.match(await clerk.locator('#embargo-notice').innerText(), /已提交暂缓告知申请/);
      // The language switch keeps the page's own query: the notice stays.
      await clerk.locator('a.lang-switch').click();
      await clerk.waitForURL('**/staff/embargoes?requested=1&lang=en');
      assert.match(await clerk.locator('#embargo-notice').innerText(), /The embargo was requested/);
      assertNoProblems(clerk);
    } finally {
      await clerk.context().close();
    }

    const head = await newPage(browser, { lang: 'zh-CN' });
    try {
      await staffLogIn(head, server.origin, 'ps.head', uris['ps.head']);
      const queue = head.locator('[data-queue="embargoes"]');
      assert.match(await queue.innerText(), /待批准的暂缓告知: 1/);
      await queue.getByRole('link').click();
      await head.waitForURL('**/staff/embargoes');
      const row = head.locator('tr', { hasText: '刑事诉讼法第152条' });
      assert.equal(await row.count(), 1);
      await screenshot(head, 'staff-embargoes-queue-zh-CN');
      await row.getByRole('button', { name: /^批准/ }).click();
      await head.waitForURL('**/staff/embargoes?decided=approved');
      assert.match(await head.locator('#embargo-notice').innerText(), /已批准/);
      assert.match(await head.locator('main').innerText(), /没有待批准的暂缓告知/);

      // The supervisor's own request waits for someone else.
      await head.getByLabel('居民账号', { exact: true }).fill(account);
      await head.getByLabel('法律依据', { exact: true }).fill('PIPL Art. 18(1)');
      await head.getByLabel('结束日期', { exact: true }).fill(isoDay(60));
      await head.getByRole('button', { name: '提交申请' }).click();
      await head.waitForURL('**/staff/embargoes?requested=1');
      await head.locator('tr', { hasText: 'PIPL Art. 18(1)' }).getByRole('button', { name: /^批准/ }).click();
      await head.waitForSelector('.error-summary');
      assert.match(await head.locator('.error-summary').innerText(), /须由申请人以外的主管审批/);
      assert.equal(await head.locator('.error-summary a').getAttribute('href'), '#embargo-queue');
      assertNoProblems(head);
    } finally {
      await head.context().close();
    }

    const deputy = await newPage(browser, { lang: 'zh-CN' });
    try {
      await staffLogIn(deputy, server.origin, 'ps.deputy', uris['ps.deputy']);
      await deputy.goto(`${server.origin}/staff/embargoes`);
      await deputy.locator('tr', { hasText: 'PIPL Art. 18(1)' }).getByRole('button', { name: /^驳回/ }).click();
      await deputy.waitForURL('**/staff/embargoes?decided=refused');
      assert.match(await deputy.locator('#embargo-notice').innerText(), /已驳回/);
      assertNoProblems(deputy);
    } finally {
      await deputy.context().close();
    }
  });
});
