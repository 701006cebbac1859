// The design system's promises, checked on every page that exists, in both
// languages (简体中文, English) and both modes (standard, 长辈模式):
//
// - axe-core finds no WCAG 2.2 A/AA (or best-practice) violation;
// - <html lang> and <html class> follow the reader's choice, and the switch
//   links in the header work from every page, including pages that answered a
//   form (POST);
// - the page reflows at 320 CSS px and at 200 % zoom without sideways scrolling;
// - a form with errors focuses the error summary, whose links lead to fields;
// - in elderly mode every control is at least 44 px in both directions;
// - every response carries the security headers (strict CSP, nosniff,
//   Referrer-Policy, frame-ancestors 'none');
// - screenshots of every page at phone size (390×844), 320 px and 200 %;
// - registration and login work with the keyboard alone (Tab, Enter, typing),
//   with the focus visible at every stop.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  launchBrowser,
  newPage,
  printServerLogOnFailure,
  problemsOf,
  screenshot,
  startServer,
} from '../lib/harness.js';
import { PASSWORD, addStaff, api, codeFromOutbox, totp } from '../lib/flows.js';
import {
  assertNoAxeViolations,
  assertNoHorizontalScroll,
  assertSecurityHeaders,
  axeViolations,
  focused,
  recordResponses,
  tabTo,
} from '../lib/a11y.js';

const COMBOS = [
  { lang: 'zh-CN', mode: 'standard' },
  { lang: 'en', mode: 'standard' },
  { lang: 'zh-CN', mode: 'elderly' },
  { lang: 'en', mode: 'elderly' },
];
const PHONE_SIZE = { width: 390, height: 844 };
const NARROW = { width: 320, height: 640 };
// A 1280×800 screen zoomed to 200 % lays out 640×400 CSS px.
const ZOOM_200 = { width: 640, height: 400 };

const RESIDENT_PHONE = '13912345601';
const KEYBOARD_LOGIN_PHONE = '13912345602';
const REGISTER_PHONE = '13912345603';
const KEYBOARD_REGISTER_PHONE = '13912345604';
// The counter check verifies the first resident on their own phone.
const COUNTER_PHONE = RESIDENT_PHONE;

/** Every "Try real-name registration as" resident the demo printed. */
function demoResidents(stdout) {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => l.includes('Try real-name registration as'));
  assert.ok(at >= 0, 'the demo names residents to try');
  const residents = [];
  for (const line of lines.slice(at + 1)) {
    const [name, idNumber] = line.trim().split(/\s+/);
    if (!/^\d{17}[\dX]$/.test(idNumber ?? '')) break;
    residents.push({ name, idNumber });
  }
  assert.ok(residents.length >= 2, `at least two demo residents:\n${stdout}`);
  return residents;
}

async function registerAs(server, phone, { name, idNumber }) {
  assert.equal((await api(server.origin, '/api/v1/registration/codes', { phone })).status, 202);
  const code = await codeFromOutbox(server.origin, phone);
  const proof = await api(server.origin, '/api/v1/registration/phone-proofs', { phone, code });
  assert.equal(proof.status, 201);
  const done = await api(server.origin, '/api/v1/registrations', { proof: proof.body.proof, name, id_number: idNumber });
  assert.equal(done.status, 202);
}

async function setPrefs(context, origin, { lang, mode }) {
  await context.addCookies([
    { name: 'lang', value: lang, url: origin },
    { name: 'mode', value: mode, url: origin },
  ]);
}

/** Clicks and waits for the navigation it starts; resolves to the final response. */
async function follow(page, locator) {
  const [response] = await Promise.all([page.waitForNavigation(), locator.click()]);
  return response;
}

/** In elderly mode every control (not a link inside text) is at least 44×44 px. */
async function assertBigTargets(page, where) {
  const small = await page.evaluate(() =>
    [...document.querySelectorAll('button, .button, input:not([type=hidden]), select, textarea, .header-link, .brand, .link-list a')]
      .filter((el) => el.getClientRects().length > 0)
      .map((el) => {
        const r = el.getBoundingClientRect();
        return { what: `${el.tagName.toLowerCase()}#${el.id} "${(el.innerText || '').trim().slice(0, 30)}"`, w: r.width, h: r.height };
      })
      .filter((t) => t.w < 44 || t.h < 44),
  );
  assert.deepEqual(small, [], `${where}: targets smaller than 44 px in elderly mode`);
}

describe('design system', () => {
  let server;
  let browser;
  let residents;
  let clerkUri;
  let supervisorUri;
  let registrarUri;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    residents = demoResidents(server.stdout());
    await registerAs(server, RESIDENT_PHONE, residents[0]);
    await registerAs(server, KEYBOARD_LOGIN_PHONE, residents[1]);
    clerkUri = await addStaff(server.dataDir, {
      username: 'lin.clerk', name: '林文', department: 'public_security', role: 'clerk',
    });
    supervisorUri = await addStaff(server.dataDir, {
      username: 'zhou.sup', name: '周敏', department: 'civil_affairs', role: 'supervisor',
    });
    registrarUri = await addStaff(server.dataDir, {
      username: 'wu.ops', name: '吴刚', department: 'platform_operations', role: 'administrator',
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  afterEach((t) => printServerLogOnFailure(t, server));

  /** A browser context of its own (cookies), phone-sized, recording responses. */
  async function open() {
    const page = await newPage(browser, { lang: 'zh-CN' });
    const recorded = recordResponses(page, server.origin);
    return { page, recorded };
  }

  /**
   * Checks the page in front of us as `name` under `combo`; in the first
   * combination also follows both switch links from it.
   */
  async function check(page, combo, name, { status = 200, response } = {}) {
    const where = `${name} [${combo.lang}, ${combo.mode}]`;
    if (response) assert.equal(response.status(), status, `${where}: status`);
    const html = page.locator('html');
    assert.equal(await html.getAttribute('lang'), combo.lang, `${where}: <html lang>`);
    assert.equal(await html.getAttribute('class'), `mode-${combo.mode}`, `${where}: <html class>`);

    if ((await page.locator('.error-summary').count()) > 0) {
      // Focused on arrival (autofocus: no script), so a screen reader reads it first.
      await page.waitForFunction(() => document.activeElement?.classList.contains('error-summary'), null, { timeout: 5_000 })
        .catch(() => assert.fail(`${where}: the error summary does not have the focus`));
      const targets = await page.locator('.error-summary a').evaluateAll((links) =>
        links.map((a) => ({ href: a.getAttribute('href'), tag: document.getElementById(a.getAttribute('href').slice(1))?.tagName.toLowerCase() ?? null })),
      );
      assert.ok(targets.length > 0, `${where}: an error summary without links`);
      for (const target of targets) {
        assert.ok(['input', 'select', 'textarea'].includes(target.tag), `${where}: the summary link ${target.href} leads to no field`);
      }
    }

    await assertNoAxeViolations(page, where);
    if (combo.mode === 'elderly') await assertBigTargets(page, where);
    await assertNoHorizontalScroll(page, where);
    const shot = `${name}-${combo.lang}-${combo.mode}`;
    await screenshot(page, shot);
    await page.setViewportSize(NARROW);
    await assertNoHorizontalScroll(page, `${where} at 320 px`);
    await screenshot(page, `${shot}-320px`);
    await page.setViewportSize(ZOOM_200);
    await assertNoHorizontalScroll(page, `${where} at 200 % zoom`);
    await screenshot(page, `${shot}-zoom200`);
    await page.setViewportSize(PHONE_SIZE);

    if (combo === COMBOS[0]) await checkSwitches(page, combo, where, status);
  }

  /** The header's links switch language and mode from this page, and the choice sticks. */
  async function checkSwitches(page, combo, where, status) {
    const context = page.context();
    const other = combo.lang === 'zh-CN' ? 'en' : 'zh-CN';
    let response = await follow(page, page.locator('.lang-switch'));
    assert.equal(response.status(), status, `${where}: after the language switch`);
    assert.equal(await page.locator('html').getAttribute('lang'), other, `${where}: the language switch`);
    response = await follow(page, page.locator('.mode-switch'));
    assert.equal(response.status(), status, `${where}: after the mode switch`);
    assert.equal(await page.locator('html').getAttribute('class'), 'mode-elderly', `${where}: the mode switch`);
    assert.equal(await page.locator('html').getAttribute('lang'), other, `${where}: the language is remembered`);
    const cookies = Object.fromEntries((await context.cookies()).map((c) => [c.name, c.value]));
    assert.equal(cookies.lang, other, `${where}: the lang cookie`);
    assert.equal(cookies.mode, 'elderly', `${where}: the mode cookie`);
    await setPrefs(context, server.origin, combo);
  }

  async function visit(page, combo, name, path, options = {}) {
    const response = await page.goto(`${server.origin}${path}`);
    await check(page, combo, name, { ...options, response });
  }

  /** Opens `path`, lets `fill` fill in the form, submits it with `button`, checks the answer. */
  async function submit(page, combo, name, path, button, fill = async () => {}) {
    await page.goto(`${server.origin}${path}`);
    await fill(page);
    const response = await follow(page, page.locator(button));
    await check(page, combo, name, { response });
  }

  function assertNoCspOrScriptProblems(page) {
    const problems = problemsOf(page).filter((p) => p.kind !== 'console' || !/status of 40[34]/.test(p.text));
    assert.deepEqual(problems, [], `the page at ${page.url()} reported problems`);
  }

  it('every page passes axe, reflows, and switches language and mode, in 简体中文/English × standard/长辈模式', async () => {
    const pages = [];
    try {
      // Anyone: home, outbox, the first steps and their errors, the staff login, a 404.
      const anon = await open();
      pages.push(anon);
      for (const combo of COMBOS) {
        const p = anon.page;
        await setPrefs(p.context(), server.origin, combo);
        await visit(p, combo, 'home', '/');
        await visit(p, combo, 'demo-sms', '/demo/sms');
        await visit(p, combo, 'register-phone', '/register');
        await submit(p, combo, 'register-phone-error', '/register', 'form[action="/register"] button', (q) => q.fill('#phone', '12345'));
        await visit(p, combo, 'login-phone', '/login');
        await submit(p, combo, 'login-phone-error', '/login', 'form[action="/login"] button', (q) => q.fill('#phone', '1'));
        await visit(p, combo, 'staff-login', '/staff/login');
        await visit(p, combo, 'desk', '/desk');
        await visit(p, combo, 'verifier-apply', '/verifiers/apply');
        await submit(p, combo, 'verifier-apply-error', '/verifiers/apply', 'form[action="/verifiers/apply"] button');
        await submit(p, combo, 'staff-login-error', '/staff/login', 'form[action="/staff/login"] button');
        await visit(p, combo, 'error-not-found', '/no-such-page', { status: 404 });
      }

      // Registration: the code step and the identity step, with their errors.
      const reg = await open();
      pages.push(reg);
      await reg.page.goto(`${server.origin}/register`);
      await reg.page.fill('#phone', REGISTER_PHONE);
      await follow(reg.page, reg.page.locator('form[action="/register"] button'));
      for (const combo of COMBOS) {
        await setPrefs(reg.page.context(), server.origin, combo);
        await visit(reg.page, combo, 'register-code', '/register/code');
        await submit(reg.page, combo, 'register-code-error', '/register/code', 'form[action="/register/code"] button', (q) => q.fill('#code', '12'));
      }
      await reg.page.goto(`${server.origin}/register/code`);
      await reg.page.fill('#code', await codeFromOutbox(server.origin, REGISTER_PHONE));
      await follow(reg.page, reg.page.locator('form[action="/register/code"] button'));
      for (const combo of COMBOS) {
        await setPrefs(reg.page.context(), server.origin, combo);
        await visit(reg.page, combo, 'register-identity', '/register/identity');
        await submit(reg.page, combo, 'register-identity-error', '/register/identity', 'form[action="/register/identity"] button');
        await visit(reg.page, combo, 'register-done', '/register/done');
      }

      // A resident: login code step, account, sessions, access log, privacy, the e-ID card
      // page (before activation), and their errors.
      const res = await open();
      pages.push(res);
      await res.page.goto(`${server.origin}/login`);
      await res.page.fill('#phone', RESIDENT_PHONE);
      await follow(res.page, res.page.locator('form[action="/login"] button'));
      for (const combo of COMBOS) {
        await setPrefs(res.page.context(), server.origin, combo);
        await visit(res.page, combo, 'login-code', '/login/code');
        await submit(res.page, combo, 'login-code-error', '/login/code', 'form[action="/login/code"] button', (q) => q.fill('#code', '1'));
      }
      await res.page.goto(`${server.origin}/login/code`);
      await res.page.fill('#code', await codeFromOutbox(server.origin, RESIDENT_PHONE));
      await follow(res.page, res.page.locator('form[action="/login/code"] button'));
      assert.ok(res.page.url().endsWith('/account'), `logged in: ${res.page.url()}`);
      // One correction request, so that the privacy page shows its table.
      await res.page.goto(`${server.origin}/account/privacy`);
      await res.page.selectOption('#field', 'address');
      await res.page.fill('#proposed_value', '广东省广州市越秀区东风中路 305 号');
      await follow(res.page, res.page.locator('form[action="/account/privacy/corrections"] button'));
      for (const combo of COMBOS) {
        const p = res.page;
        await setPrefs(p.context(), server.origin, combo);
        await visit(p, combo, 'account', '/account');
        await visit(p, combo, 'sessions', '/account/sessions');
        await visit(p, combo, 'access-log', '/account/access-log');
        await visit(p, combo, 'access-log-error', '/account/access-log?purpose=nonsense');
        await visit(p, combo, 'privacy', '/account/privacy');
        await visit(p, combo, 'mandates', '/account/mandates');
        await submit(p, combo, 'mandates-grant-error', '/account/mandates', 'form[action="/account/mandates"] button');
        await visit(p, combo, 'card', '/card');
        await submit(p, combo, 'privacy-correction-error', '/account/privacy', 'form[action="/account/privacy/corrections"] button');
        await submit(p, combo, 'privacy-close-error', '/account/privacy', 'form[action="/account/privacy/close"] button');
      }
      // The e-ID card once activated: the card face, a live code, the offline card.
      await res.page.goto(`${server.origin}/card`);
      await follow(res.page, res.page.locator('form[action="/card/activate"] button'));
      for (const combo of COMBOS) {
        const p = res.page;
        await setPrefs(p.context(), server.origin, combo);
        await visit(p, combo, 'card-active', '/card');
        await visit(p, combo, 'card-show', '/card/show?purpose=age_over_18&category=retail');
        await visit(p, combo, 'card-offline', '/card/offline');
      }
      // The printable identity document: the form, its error, the result to print, the list.
      for (const combo of COMBOS) {
        const p = res.page;
        await setPrefs(p.context(), server.origin, combo);
        await visit(p, combo, 'card-document', '/card/document');
        await submit(p, combo, 'card-document-error', '/card/document', 'form[action="/card/document"] button');
        await submit(p, combo, 'card-document-done', '/card/document', 'form[action="/card/document"] button', (q) => q.check('#fields'));
      }

      // A public security clerk: console and the counter check's steps and errors.
      const staff = await open();
      pages.push(staff);
      await staff.page.goto(`${server.origin}/staff/login`);
      await staff.page.fill('#username', 'lin.clerk');
      await staff.page.fill('#password', PASSWORD);
      await staff.page.fill('#code', totp(clerkUri));
      await follow(staff.page, staff.page.locator('form[action="/staff/login"] button'));
      assert.ok(staff.page.url().endsWith('/staff'), `staff logged in: ${staff.page.url()}`);
      for (const combo of COMBOS) {
        const p = staff.page;
        await setPrefs(p.context(), server.origin, combo);
        await visit(p, combo, 'staff-console', '/staff');
        await visit(p, combo, 'counter-phone', '/staff/counter-check');
        await submit(p, combo, 'counter-phone-error', '/staff/counter-check', 'form[action="/staff/counter-check/code"] button', (q) => q.fill('#phone', '139'));
        await visit(p, combo, 'staff-corrections', '/staff/corrections');
        await visit(p, combo, 'staff-break-glass', '/staff/break-glass');
        await submit(p, combo, 'staff-break-glass-error', '/staff/break-glass', 'form[action="/staff/break-glass"] button');
        await visit(p, combo, 'staff-embargoes', '/staff/embargoes');
        await submit(p, combo, 'staff-embargoes-error', '/staff/embargoes', 'form[action="/staff/embargoes"] button');
      }
      // Casework: the resident's correction request taken and opened, with a
      // refused decision; a record opened by break-glass.
      await res.page.goto(`${server.origin}/account/privacy`);
      await res.page.selectOption('#field', 'address');
      await res.page.fill('#proposed_value', '浙江省杭州市西湖区文三路 478 号');
      await follow(res.page, res.page.locator('form[action="/account/privacy/corrections"] button'));
      await staff.page.goto(`${server.origin}/staff/corrections`);
      const request = await staff.page.locator('tr[data-request]').first().getAttribute('data-request');
      await follow(staff.page, staff.page.locator('form[action="/staff/corrections/take"] button').first());
      for (const combo of COMBOS) {
        const p = staff.page;
        await setPrefs(p.context(), server.origin, combo);
        await visit(p, combo, 'staff-correction', `/staff/corrections/${request}`);
        await submit(p, combo, 'staff-correction-error', `/staff/corrections/${request}`, `form[action="/staff/corrections/${request}/decision"] button`, (q) => q.check('#decision-rejected'));
        await submit(p, combo, 'staff-break-glass-open', '/staff/break-glass', 'form[action="/staff/break-glass"] button', async (q) => {
          await q.fill('#id_number', residents[0].idNumber);
          await q.fill('#justification', 'An ambulance crew at the counter needs this identity now');
        });
      }
      await staff.page.goto(`${server.origin}/staff/counter-check`);
      await staff.page.fill('#phone', COUNTER_PHONE);
      await follow(staff.page, staff.page.locator('form[action="/staff/counter-check/code"] button'));
      for (const combo of COMBOS) {
        await setPrefs(staff.page.context(), server.origin, combo);
        await visit(staff.page, combo, 'counter-identity', '/staff/counter-check/identity');
        await submit(staff.page, combo, 'counter-identity-error', '/staff/counter-check/identity', 'form[action="/staff/counter-check/identity"] button');
      }
      // The outcome page answers the completed check (once: the code is used up).
      {
        const combo = COMBOS[2];
        const p = staff.page;
        await setPrefs(p.context(), server.origin, combo);
        await p.goto(`${server.origin}/staff/counter-check/identity`);
        await p.fill('#name', residents[0].name);
        await p.fill('#id_number', residents[0].idNumber);
        await p.fill('#code', await codeFromOutbox(server.origin, COUNTER_PHONE));
        const response = await follow(p, p.locator('form[action="/staff/counter-check/identity"] button'));
        await p.locator('.panel').waitFor();
        await check(p, combo, 'counter-done', { response });
      }

      // A supervisor of another department: the counter check is forbidden (403 page).
      const sup = await open();
      pages.push(sup);
      await sup.page.goto(`${server.origin}/staff/login`);
      await sup.page.fill('#username', 'zhou.sup');
      await sup.page.fill('#password', PASSWORD);
      await sup.page.fill('#code', totp(supervisorUri));
      await follow(sup.page, sup.page.locator('form[action="/staff/login"] button'));
      for (const combo of COMBOS) {
        await setPrefs(sup.page.context(), server.origin, combo);
        await visit(sup.page, combo, 'staff-forbidden', '/staff/counter-check', { status: 403 });
        await visit(sup.page, combo, 'staff-break-glass-alerts', '/staff/break-glass/alerts');
        await visit(sup.page, combo, 'staff-embargoes-supervisor', '/staff/embargoes?decided=approved');
      }

      // An administrator of platform operations: verifier organisations, an
      // application under review (and its refusal without a reason), and the
      // page that shows a new API key once (the approval, then new keys).
      const applied = await api(server.origin, '/api/v1/verifier-applications', {
        name: '西湖大酒店', category: 'hotel', purposes: ['hotel_checkin'], contact: 'desk@xihu.example',
      });
      assert.equal(applied.status, 201);
      const ops = await open();
      pages.push(ops);
      await ops.page.goto(`${server.origin}/staff/login`);
      await ops.page.fill('#username', 'wu.ops');
      await ops.page.fill('#password', PASSWORD);
      await ops.page.fill('#code', totp(registrarUri));
      await follow(ops.page, ops.page.locator('form[action="/staff/login"] button'));
      const review = `/staff/verifiers/applications/${applied.body.id}`;
      for (const combo of COMBOS) {
        await setPrefs(ops.page.context(), server.origin, combo);
        await visit(ops.page, combo, 'staff-verifiers-queue', '/staff/verifiers');
        await visit(ops.page, combo, 'staff-verifier-review', review);
        await submit(ops.page, combo, 'staff-verifier-review-error', review, `form[action="${review}/refuse"] button`);
      }
      for (const combo of COMBOS) {
        await setPrefs(ops.page.context(), server.origin, combo);
        if (combo === COMBOS[0]) {
          await submit(ops.page, combo, 'staff-verifier-key', review, `form[action="${review}/approve"] button`);
        } else {
          await submit(ops.page, combo, 'staff-verifier-key', '/staff/verifiers', 'form[action$="/rotate"] button');
        }
        await visit(ops.page, combo, 'staff-verifiers', '/staff/verifiers');
      }

      // Every response of all of the above carried the security headers.
      const all = pages.flatMap((p) => p.recorded);
      assert.ok(all.length > 100, `responses recorded: ${all.length}`);
      for (const response of all) assertSecurityHeaders(response);
      for (const { page } of pages) assertNoCspOrScriptProblems(page);
    } finally {
      for (const { page } of pages) await page.context().close();
    }
  });

  it('registers with the keyboard alone, and the error summary leads back to the field', async () => {
    const page = await newPage(browser, { lang: 'zh-CN' });
    try {
      await page.goto(`${server.origin}/`);
      await tabTo(page, (f) => f.href === '/register', { what: 'the register link' });
      await Promise.all([page.waitForURL('**/register'), page.keyboard.press('Enter')]);

      // A wrong number: the summary has the focus; its link leads to the field.
      await tabTo(page, (f) => f.id === 'phone', { what: 'the phone field' });
      await page.keyboard.type('123');
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
      await page.waitForFunction(() => document.activeElement?.classList.contains('error-summary'));
      await page.keyboard.press('Tab');
      assert.equal((await focused(page)).href, '#phone');
      await page.keyboard.press('Enter');
      if ((await focused(page)).id !== 'phone') await tabTo(page, (f) => f.id === 'phone', { max: 2, what: 'the phone field' });
      await page.keyboard.press('Control+A');
      await page.keyboard.type(KEYBOARD_REGISTER_PHONE);
      await Promise.all([page.waitForURL('**/register/code'), page.keyboard.press('Enter')]);

      await tabTo(page, (f) => f.id === 'code', { what: 'the code field' });
      await page.keyboard.type(await codeFromOutbox(server.origin, KEYBOARD_REGISTER_PHONE));
      await Promise.all([page.waitForURL('**/register/identity'), page.keyboard.press('Enter')]);

      await tabTo(page, (f) => f.id === 'name', { what: 'the name field' });
      // The first resident already has an account: the answer is the same (it never tells).
      await page.keyboard.type(residents[0].name);
      await tabTo(page, (f) => f.id === 'id_number', { max: 1, what: 'the ID number field' });
      await page.keyboard.type(residents[0].idNumber);
      await Promise.all([page.waitForURL('**/register/done'), page.keyboard.press('Enter')]);
      assert.equal(await page.locator('h1').innerText(), '请查看您的手机短信');
      await screenshot(page, 'keyboard-register-done-zh-CN');
    } finally {
      await page.context().close();
    }
  });

  it('logs in with the keyboard alone, in elderly mode chosen from the keyboard', async () => {
    const page = await newPage(browser, { lang: 'zh-CN' });
    try {
      await page.goto(`${server.origin}/`);
      await tabTo(page, (f) => f.text === '长辈模式', { what: 'the elderly mode switch' });
      await Promise.all([page.waitForURL('**/?mode=elderly'), page.keyboard.press('Enter')]);
      assert.equal(await page.locator('html').getAttribute('class'), 'mode-elderly');

      await tabTo(page, (f) => f.href === '/login', { what: 'the login link' });
      await Promise.all([page.waitForURL('**/login'), page.keyboard.press('Enter')]);
      assert.equal(await page.locator('html').getAttribute('class'), 'mode-elderly', 'the mode is remembered');
      await tabTo(page, (f) => f.id === 'phone', { what: 'the phone field' });
      await page.keyboard.type(KEYBOARD_LOGIN_PHONE);
      await Promise.all([page.waitForURL('**/login/code'), page.keyboard.press('Enter')]);
      await tabTo(page, (f) => f.id === 'code', { what: 'the code field' });
      await page.keyboard.type(await codeFromOutbox(server.origin, KEYBOARD_LOGIN_PHONE));
      await Promise.all([page.waitForURL('**/account'), page.keyboard.press('Enter')]);
      assert.match(await page.locator('main').innerText(), /L2/);
      await screenshot(page, 'keyboard-login-account-zh-CN-elderly');

      // The e-ID card with the keyboard alone: activate, pick a purpose, see the code.
      await tabTo(page, (f) => f.href === '/card', { what: 'the card link' });
      await Promise.all([page.waitForURL('**/card'), page.keyboard.press('Enter')]);
      await tabTo(page, (f) => f.text === '开通电子身份证', { what: 'the activate button' });
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
      await tabTo(page, (f) => f.text === '酒店入住', { what: 'the hotel check-in choice' });
      await Promise.all([page.waitForURL('**/card/show?**'), page.keyboard.press('Enter')]);
      assert.match(await page.locator('#eid-live').getAttribute('data-code'), /^SS1:/);
      await screenshot(page, 'keyboard-card-zh-CN-elderly');
    } finally {
      await page.context().close();
    }
  });

  // Checks the checker: a clean axe result only means something if a real
  // violation would have been reported.
  it('would notice an accessibility violation', async () => {
    const page = await newPage(browser, { lang: 'zh-CN' });
    try {
      await page.goto(`${server.origin}/`);
      await page.evaluate(() => {
        const img = document.createElement('img');
        img.src = '/static/favicon.svg';
        document.querySelector('main').append(img);
      });
      const violations = await axeViolations(page);
      assert.ok(violations.some((v) => v.id === 'image-alt'), `image-alt not reported: ${JSON.stringify(violations)}`);
    } finally {
      await page.context().close();
    }
  });
});
