// Real-name registration in the browser, as a newcomer does it on the demo:
// phone number → code read from the demo SMS outbox → name and ID number of a
// fictional resident printed at start-up → "check your phone". Keyboard only.

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
import { codeFromOutbox, demoResident, typeInto } from '../lib/flows.js';
import { focused, tabTo } from '../lib/a11y.js';

describe('registration', () => {
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

  it('opens an account for a fictional resident, with the code from the demo outbox', async () => {
    const resident = demoResident(server.stdout());
    const page = await newPage(browser, { lang: 'zh-CN' });
    const phone = '13912340001';
    try {
      await page.goto(`${server.origin}/`);
      await page.getByRole('link', { name: '实名注册' }).click();
      assert.equal(await page.locator('h1').innerText(), '您的手机号是多少？');

      // A wrong number is refused beside its field and in the error summary.
      await typeInto(page, '手机号', '12345');
      await page.keyboard.press('Enter');
      await page.waitForSelector('.error-summary');
      assert.match(await page.locator('.error-summary').innerText(), /11 位数字/);
      await screenshot(page, 'register-phone-error-zh-CN');

      await page.getByLabel('手机号', { exact: true }).fill('');
      await typeInto(page, '手机号', phone);
      await page.keyboard.press('Enter');
      await page.waitForURL('**/register/code');
      assert.match(await page.locator('main').innerText(), /139\*\*\*\*0001/);

      // Read the code the way the demo tells a newcomer to: on the outbox page.
      const outbox = await browser.newPage();
      await outbox.goto(`${server.origin}/demo/sms`);
      const row = outbox.locator('tr', { hasText: phone }).first();
      const code = (await row.innerText()).match(/验证码是\s*(\d{6})/)[1];
      await outbox.close();

      await typeInto(page, '验证码', code);
      await page.keyboard.press('Enter');
      await page.waitForURL('**/register/identity');

      // A name that does not match the registry gets its own answer.
      await typeInto(page, '姓名', '查无此人');
      await typeInto(page, '居民身份证号', resident.idNumber);
      await page.keyboard.press('Enter');
      await page.waitForSelector('.error-summary');
      assert.match(await page.locator('.error-summary').innerText(), /姓名与人口信息系统/);

      await page.getByLabel('姓名', { exact: true }).fill('');
      await typeInto(page, '姓名', resident.name);
      await page.keyboard.press('Enter');
      await page.waitForURL('**/register/done');
      assert.equal(await page.locator('h1').innerText(), '请查看您的手机短信');
      await screenshot(page, 'register-done-zh-CN');
      assertNoProblems(page);

      const messages = await browser.newPage();
      await messages.goto(`${server.origin}/demo/sms`);
      assert.match(await messages.locator('main').innerText(), /账号已开通/);
      await messages.close();

      // Log in with the same phone, see the account at L2, then log out everywhere.
      await page.goto(`${server.origin}/`);
      await page.getByRole('link', { name: '登录' }).click();
      await typeInto(page, '手机号', phone);
      await page.keyboard.press('Enter');
      await page.waitForURL('**/login/code');
      const outbox2 = await browser.newPage();
      await outbox2.goto(`${server.origin}/demo/sms`);
      const loginRow = outbox2.locator('tr', { hasText: phone }).filter({ hasText: '验证码' }).first();
      const loginCode = (await loginRow.innerText()).match(/验证码是\s*(\d{6})/)[1];
      await outbox2.close();
      await typeInto(page, '验证码', loginCode);
      await page.keyboard.press('Enter');
      await page.waitForURL('**/account');
      const account = await page.locator('main').innerText();
      assert.match(account, /L2/);
      assert.ok(!account.includes(resident.idNumber), 'the ID number is shown masked');
      const cookies = await page.context().cookies();
      const sid = cookies.find((c) => c.name === 'sid');
      assert.ok(sid?.httpOnly, 'the session cookie is HttpOnly');
      assert.equal(sid.sameSite, 'Lax');
      await screenshot(page, 'account-zh-CN');
      await page.getByRole('button', { name: '在所有设备上退出' }).click();
      await page.waitForURL(`${server.origin}/`);
      await page.goto(`${server.origin}/account`);
      await page.waitForURL('**/login');
      assertNoProblems(page);
    } finally {
      await page.close();
    }
  });

  it('refuses a form posted from another site', async () => {
    const response = await fetch(`${server.origin}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: 'phone=13912340002&csrf=x',
    });
    assert.equal(response.status, 403);
  });

  it('registers in elderly mode with the keyboard alone', async () => {
    const resident = demoResident(server.stdout(), 1);
    const phone = '13912340003';
    const page = await newPage(browser, { lang: 'zh-CN' });
    try {
      await page.goto(`${server.origin}/`);
      // Switch to 长辈模式 from the header, by Tab and Enter only.
      await tabTo(page, (f) => f.href === '?mode=elderly', { what: 'the elderly mode switch' });
      await Promise.all([page.waitForURL('**/?mode=elderly'), page.keyboard.press('Enter')]);
      assert.equal(await page.locator('html').getAttribute('class'), 'mode-elderly');

      await tabTo(page, (f) => f.href === '/register', { what: 'the register link' });
      await Promise.all([page.waitForURL('**/register'), page.keyboard.press('Enter')]);
      // The mode is remembered on the next page.
      assert.equal(await page.locator('html').getAttribute('class'), 'mode-elderly');

      // A wrong number: the error summary has the focus and leads to the field.
      await tabTo(page, (f) => f.id === 'phone', { what: 'the phone field' });
      await page.keyboard.type('139');
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
      await page.waitForFunction(() => document.activeElement?.classList.contains('error-summary'));
      assert.match(await page.title(), /^错误：/);
      await page.keyboard.press('Tab');
      assert.equal((await focused(page)).href, '#phone');
      await page.keyboard.press('Enter');
      if ((await focused(page)).id !== 'phone') await tabTo(page, (f) => f.id === 'phone', { max: 2, what: 'the phone field' });
      await page.keyboard.press('Control+A');
      await page.keyboard.type(phone);
      await Promise.all([page.waitForURL('**/register/code'), page.keyboard.press('Enter')]);
      assert.equal(await page.locator('html').getAttribute('class'), 'mode-elderly');

      await tabTo(page, (f) => f.id === 'code', { what: 'the code field' });
      await page.keyboard.type(await codeFromOutbox(server.origin, phone));
      await Promise.all([page.waitForURL('**/register/identity'), page.keyboard.press('Enter')]);

      await tabTo(page, (f) => f.id === 'name', { what: 'the name field' });
      await page.keyboard.type(resident.name);
      await tabTo(page, (f) => f.id === 'id_number', { max: 1, what: 'the ID number field' });
      await page.keyboard.type(resident.idNumber);
      // Enter submits from the last field, as the button would.
      await Promise.all([page.waitForURL('**/register/done'), page.keyboard.press('Enter')]);
      assert.equal(await page.locator('h1').innerText(), '请查看您的手机短信');
      assert.equal(await page.locator('html').getAttribute('class'), 'mode-elderly');
      await screenshot(page, 'register-done-keyboard-elderly-zh-CN');
      assertNoProblems(page);
    } finally {
      await page.close();
    }
  });

  it('shows the registration pages in English too', async () => {
    const page = await newPage(browser, { lang: 'en-GB' });
    try {
      await page.goto(`${server.origin}/register`);
      assert.equal(await page.locator('html').getAttribute('lang'), 'en');
      assert.equal(await page.locator('h1').innerText(), 'What is your mobile number?');
      await screenshot(page, 'register-phone-en');
      assertNoProblems(page);
    } finally {
      await page.close();
    }
  });
});
