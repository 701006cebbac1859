// Verifier organisations in the browser: a hotel applies on the public page
// (a purpose its kind may not ask for is refused with the error summary, and
// the title says "Error"); an administrator of platform operations sees the
// application in the console's queues, approves it and reads the API key once;
// the key then verifies a code minted for a resident with POST
// /api/v1/verifier/verifications. A clerk is not let into the page.

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

async function residentCode(browser, origin, phone) {
  const page = await newPage(browser, { lang: 'zh-CN' });
  try {
    await logIn(page, origin, phone);
    const headers = { origin, 'content-type': 'application/json' };
    const card = await page.request.post(`${origin}/api/v1/eid/card`, { headers, data: {} });
    assert.equal(card.status(), 201, await card.text());
    const minted = await page.request.post(`${origin}/api/v1/eid/card/presentations`, {
      headers,
      data: { purpose: 'hotel_checkin', category: 'hotel' },
    });
    assert.equal(minted.status(), 201, await minted.text());
    return (await minted.json()).code;
  } finally {
    await page.context().close();
  }
}

describe('verifier organisations', () => {
  let server;
  let browser;
  let adminUri;
  let clerkUri;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    adminUri = await addStaff(server.dataDir, {
      username: 'ops.admin',
      name: '周敏',
      department: 'platform_operations',
      role: 'administrator',
    });
    clerkUri = await addStaff(server.dataDir, {
      username: 'ps.clerk',
      name: '李伟',
      department: 'public_security',
      role: 'clerk',
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  afterEach((t) => printServerLogOnFailure(t, server));

  it('takes an application, approves it, and the key verifies a code', async () => {
    const page = await newPage(browser, { lang: 'zh-CN' });
    try {
      await page.goto(`${server.origin}/verifiers/apply`);
      assert.equal(await page.locator('h1').innerText(), '申请在线核验电子身份证');
      await page.getByLabel('单位名称', { exact: true }).fill('西湖大酒店');
      await page.getByLabel('单位类别', { exact: true }).selectOption('hotel');
      await page.getByLabel('酒店入住登记（仅限酒店）').check();
      await page.getByLabel('完整身份信息（仅限银行和政府窗口）').check();
      await page.getByLabel('联系方式', { exact: true }).fill('frontdesk@xihu-hotel.example');
      await page.getByRole('button', { name: '提交申请' }).click();
      // A hotel may not ask for the full identity: nothing is stored, the
      // error is summarised and linked to the purposes, the title says so.
      await page.waitForSelector('.error-summary');
      assert.match(await page.locator('.error-summary').innerText(), /“酒店”类单位不能申请“完整身份信息”/);
      assert.match(await page.title(), /^错误：申请核验电子身份证/);
      assert.equal(
        await page.locator('.error-summary a').getAttribute('href'),
        '#purposes',
      );
      // What was entered is kept.
      assert.equal(await page.getByLabel('单位名称', { exact: true }).inputValue(), '西湖大酒店');
      await screenshot(page, 'verifier-apply-error-zh-CN');
      await page.getByLabel('完整身份信息（仅限银行和政府窗口）').uncheck();
      await page.getByRole('button', { name: '提交申请' }).click();
      await page.waitForSelector('#application-received');
      assert.match(await page.locator('#application-received').innerText(), /申请编号是 [0-9a-f-]{36}/);
      assertNoProblems(page);
    } finally {
      await page.context().close();
    }

    // A clerk is not let in.
    const clerk = await newPage(browser, { lang: 'zh-CN' });
    try {
      await staffLogIn(clerk, server.origin, 'ps.clerk', clerkUri);
      assert.equal(await clerk.locator('[data-queue="verifier-applications"]').count(), 0);
      const response = await clerk.goto(`${server.origin}/staff/verifiers`);
      assert.equal(response.status(), 403);
    } finally {
      await clerk.context().close();
    }

    const admin = await newPage(browser, { lang: 'zh-CN' });
    let key;
    try {
      await staffLogIn(admin, server.origin, 'ops.admin', adminUri);
      const queue = admin.locator('[data-queue="verifier-applications"]');
      assert.match(await queue.innerText(), /待审核的核验单位申请: 1/);
      await screenshot(admin, 'staff-console-queues-zh-CN');
      await queue.getByRole('link').click();
      await admin.waitForURL('**/staff/verifiers');
      await admin.locator('tr', { hasText: '西湖大酒店' }).getByRole('link', { name: /审核/ }).click();
      assert.match(await admin.locator('h1').innerText(), /西湖大酒店/);
      assert.match(await admin.locator('main').innerText(), /酒店入住登记/);
      // Refusing without a reason is an error; nothing is decided.
      await admin.getByRole('button', { name: '不予批准' }).click();
      await admin.waitForSelector('.error-summary');
      assert.match(await admin.locator('.error-summary').innerText(), /请填写不予批准的理由/);
      assert.match(await admin.title(), /^错误：/);
      await admin.getByRole('button', { name: '批准并发放 API 密钥' }).click();
      key = await admin.locator('#api-key').innerText();
      assert.match(key, /^svk_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/);
      await admin.getByRole('link', { name: '返回核验单位' }).click();
      await admin.waitForURL('**/staff/verifiers');
      assert.match(await admin.locator('main').innerText(), /没有待审核的申请/);
      const row = admin.locator('tr', { hasText: '西湖大酒店' });
      assert.match(await row.innerText(), /正常/);
      await screenshot(admin, 'staff-verifiers-zh-CN');
      assertNoProblems(admin);
    } finally {
      await admin.context().close();
    }

    // The key works against the online verification service.
    const phone = '13912340901';
    await registerResident(server, phone);
    const code = await residentCode(browser, server.origin, phone);
    const verify = (text) => fetch(`${server.origin}/api/v1/verifier/verifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${text}`, 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    const verified = await verify(key);
    const body = await verified.json();
    assert.equal(verified.status, 200, JSON.stringify(body));
    assert.equal(body.verdict, 'valid');
    assert.equal(body.purpose, 'hotel_checkin');
    assert.equal((await verify(`${key.slice(0, -1)}x`)).status, 401);
  });

  it('suspends and resumes an organisation, and a new key replaces the old', async () => {
    const admin = await newPage(browser, { lang: 'zh-CN' });
    try {
      // The first test used this step's code (accepted once): the next one.
      await staffLogIn(admin, server.origin, 'ops.admin', adminUri, 1);
      await admin.goto(`${server.origin}/staff/verifiers?lang=en`);
      assert.equal(await admin.locator('h1').innerText(), 'Verifier organisations');
      const row = admin.locator('tr', { hasText: '西湖大酒店' });
      await row.getByRole('button', { name: /Suspend/ }).click();
      await admin.waitForURL('**/staff/verifiers');
      assert.match(await admin.locator('tr', { hasText: '西湖大酒店' }).innerText(), /Suspended/);
      await admin.locator('tr', { hasText: '西湖大酒店' }).getByRole('button', { name: /Resume/ }).click();
      await admin.waitForURL('**/staff/verifiers');
      assert.match(await admin.locator('tr', { hasText: '西湖大酒店' }).innerText(), /Active/);
      await admin.locator('tr', { hasText: '西湖大酒店' }).getByRole('button', { name: /Issue a new API key/ }).click();
      assert.match(await admin.locator('#api-key').innerText(), /^svk_/);
      assert.match(await admin.locator('main').innerText(), /Older keys of this organisation have stopped working/);
      assertNoProblems(admin);
    } finally {
      await admin.context().close();
    }
  });
});
