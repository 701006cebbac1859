// The verifier desk (/desk): a hotel registered with `shengshi verifier add`
// keeps its API key in the desk's browser, verifies a resident's fresh code
// online (the verdict, the attributes and the portrait), and a second hotel
// scanning the same code is refused. Offline, the desk loads from its service
// worker and verifies codes itself against the lists it cached: a fresh code
// is valid, a tampered one and an expired one are refused, and a day later
// the stale status list means "cannot confirm" rather than valid. Without
// JavaScript the form still verifies online.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  assertNoProblems,
  launchBrowser,
  newPage,
  printServerLogOnFailure,
  problemsOf,
  screenshot,
  startServer,
} from '../lib/harness.js';
import { assertNoAxeViolations } from '../lib/a11y.js';
import { demoResident, logIn, registerResident } from '../lib/flows.js';

/** `shengshi verifier add` on the server's database; resolves to the API key it prints. */
function addVerifier(server, name, category, purposes) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('SHENGSHI_')) env[key] = value;
  }
  const child = spawn(
    process.env.SHENGSHI_BIN,
    ['verifier', '--data-dir', server.dataDir, 'add', '--name', name, '--category', category,
      '--purposes', purposes],
    { cwd: server.dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      const key = stdout.trim();
      if (code === 0 && key.startsWith('svk_')) resolve(key);
      else reject(new Error(`shengshi verifier add failed (${code}):\n${stdout}\n${stderr}`));
    });
  });
}

/** Logs the resident in on this page and activates the card. */
async function logInWithCard(page, origin, phone) {
  await logIn(page, origin, phone);
  await page.goto(`${origin}/card`);
  const activate = page.getByRole('button', { name: '开通电子身份证' });
  if (await activate.count()) {
    await activate.click();
    await page.waitForURL('**/card');
  }
}

/** A fresh SS1 code minted with the resident's session (the page's cookies). */
async function mint(page, origin, purpose, category) {
  const response = await page.request.post(`${origin}/api/v1/eid/card/presentations`, {
    data: { purpose, category },
  });
  assert.equal(response.status(), 201, await response.text());
  return (await response.json()).code;
}

/** Scans a code at the desk as a hardware scanner does: types it and presses Enter. */
async function scan(page, text) {
  const field = page.locator('#code');
  await field.focus();
  await field.fill(text);
  await field.press('Enter');
  await page.locator('#desk-verdict .verdict').waitFor();
  return page.locator('#desk-verdict .verdict');
}

describe('verifier desk', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });

  after(async () => {
    await residentPage?.context().close();
    await browser?.close();
    await server?.stop();
  });

  afterEach((t) => printServerLogOnFailure(t, server));

  // Demo resident 0 (who has a registry portrait), registered, logged in and
  // with a card once, for the tests that need codes from them.
  let residentPage;
  async function residentZero() {
    if (!residentPage) {
      const phone = '13912340501';
      await registerResident(server, phone, 0);
      residentPage = await newPage(browser, { lang: 'zh-CN' });
      await logInWithCard(residentPage, server.origin, phone);
    }
    return residentPage;
  }

  /** The page's problems, less the 4xx answers a refused verification is. */
  function assertOnlyRefusals(page) {
    const problems = problemsOf(page).filter((p) => !/status of 4\d\d .*\/api\/v1\/verifier\/verifications/.test(p.text));
    assert.deepEqual(problems, [], `the page at ${page.url()} reported problems`);
  }

  it('verifies online with the stored key, shows the portrait, and a second hotel is refused', async () => {
    const resident = await residentZero();
    const { name, idNumber } = demoResident(server.stdout(), 0);
    const hotel = await addVerifier(server, '西湖大酒店', 'hotel', 'hotel_checkin,age_over_18');
    const other = await addVerifier(server, '湖滨饭店', 'hotel', 'hotel_checkin');
    const desk = await newPage(browser, { lang: 'zh-CN' });
    const second = await newPage(browser, { lang: 'en' });
    try {
      const code = await mint(resident, server.origin, 'hotel_checkin', 'hotel');

      // The first scan asks for the key once; the browser keeps it.
      await desk.goto(`${server.origin}/desk`);
      await desk.locator('#api_key').fill(hotel);
      let verdict = await scan(desk, code);
      assert.match(await verdict.getAttribute('class'), /verdict-valid/);
      const text = await verdict.innerText();
      assert.match(text, /有效/);
      assert.match(text, /Valid/, 'the verdict in the other language too');
      assert.ok(text.includes(name) && text.includes(idNumber), text);
      const portrait = desk.locator('#desk-verdict img.desk-portrait');
      assert.match(await portrait.getAttribute('src'), /^data:image\/(jpeg|png);base64,/);
      assert.ok(await portrait.evaluate((img) => img.complete && img.naturalWidth > 0), 'the portrait shows');
      assert.equal(await desk.evaluate(() => localStorage.getItem('shengshi-desk-api-key')), hotel);
      assert.equal(await desk.locator('#api_key').isVisible(), false, 'the key is not asked again');
      await screenshot(desk, 'desk-valid-zh-CN');
      await assertNoAxeViolations(desk, 'desk with a valid verdict');

      // The next code needs no key typed; an age check shows only the age.
      const age = await mint(resident, server.origin, 'age_over_18', 'hotel');
      verdict = await scan(desk, age);
      assert.match(await verdict.getAttribute('class'), /verdict-valid/);
      assert.ok(!(await verdict.innerText()).includes(name), 'an age check shows no name');

      // Another hotel replaying the first code: refused, nothing disclosed.
      await second.goto(`${server.origin}/desk`);
      await second.locator('#api_key').fill(other);
      verdict = await scan(second, code);
      assert.match(await verdict.getAttribute('class'), /verdict-refused/);
      const refused = await verdict.innerText();
      assert.match(refused, /Refused/);
      assert.match(refused, /Another organisation already accepted this code/);
      assert.ok(!refused.includes(name) && !refused.includes(idNumber), refused);
      await screenshot(second, 'desk-refused-en');
      await assertNoAxeViolations(second, 'desk with a refusal');

      // "Forget key" removes it from the browser.
      await desk.getByRole('button', { name: '忘记密钥' }).click();
      assert.equal(await desk.evaluate(() => localStorage.getItem('shengshi-desk-api-key')), null);
      assert.equal(await desk.locator('#api_key').isVisible(), true);
      assertNoProblems(desk);
      assertOnlyRefusals(second);
    } finally {
      await desk.context().close();
      await second.context().close();
    }
  });

  it('verifies offline with the cached lists: fresh, tampered, expired, and a stale status list', async () => {
    const phone = '13912340502';
    await registerResident(server, phone, 1);
    const holder = await newPage(browser, { lang: 'zh-CN' });
    const context = holder.context();
    try {
      await holder.clock.install();
      await logInWithCard(holder, server.origin, phone);
      // The resident's phone gets its offline credential (for the stale-list check below).
      await holder.goto(`${server.origin}/card/offline`);
      await holder.waitForFunction(() => document.getElementById('eid-live').dataset.code);
      const code = await mint(holder, server.origin, 'hotel_checkin', 'hotel');

      // The desk opens once online: it caches the lists (the new card is in
      // the status list) and its service worker keeps the page.
      const desk = await context.newPage();
      await desk.goto(`${server.origin}/desk`);
      await desk.waitForFunction(() => localStorage.getItem('shengshi-desk-lists'));
      await desk.evaluate(async () => { await navigator.serviceWorker.ready; });
      assert.match(await desk.locator('#desk-lists').innerText(), /信任列表有效至/);

      // No network from here on.
      await context.setOffline(true);
      await desk.reload();
      await desk.locator('#desk-offline-section').waitFor();

      let verdict = await scan(desk, code);
      assert.match(await verdict.getAttribute('class'), /verdict-valid/);
      assert.match(await verdict.innerText(), /已在本设备离线核验/);
      assert.match(await verdict.innerText(), /无法判断此身份码是否已在其他核验台使用过/);
      await screenshot(desk, 'desk-offline-valid-zh-CN');

      // One character changed: refused.
      const at = 60;
      const swapped = code[at] === 'A' ? 'B' : 'A';
      const tampered = code.slice(0, at) + swapped + code.slice(at + 1);
      verdict = await scan(desk, tampered);
      assert.match(await verdict.getAttribute('class'), /verdict-refused/);

      // A minute and a half later the same code has expired.
      await desk.clock.fastForward(91_000);
      verdict = await scan(desk, code);
      assert.match(await verdict.getAttribute('class'), /verdict-refused/);
      assert.match(await verdict.innerText(), /身份码已过期/);

      // A day later: the phone still signs codes offline (its credential lives
      // 7 days), but the desk's status list is too old to say "not revoked".
      const before = await holder.locator('#eid-live').getAttribute('data-code');
      await desk.clock.fastForward('25:00:00');
      await holder.waitForFunction(
        (old) => document.getElementById('eid-live').dataset.code !== old,
        before,
      );
      const later = await holder.locator('#eid-live').getAttribute('data-code');
      assert.match(later, /^SS2:/);
      verdict = await scan(desk, later);
      assert.match(await verdict.getAttribute('class'), /verdict-unknown/);
      const stale = await verdict.innerText();
      assert.match(stale, /无法确认证件未被注销/);
      assert.match(stale, /超过 24 小时/);
      await screenshot(desk, 'desk-offline-stale-zh-CN');
      await assertNoAxeViolations(desk, 'desk with a "cannot confirm" verdict');
    } finally {
      await context.close();
    }
  });

  it('without JavaScript the form verifies online with the key it carries', async () => {
    const resident = await residentZero();
    const key = await addVerifier(server, '南站', 'railway', 'travel_security');
    const context = await browser.newContext({ javaScriptEnabled: false, locale: 'en-GB' });
    const page = await context.newPage();
    try {
      const code = await mint(resident, server.origin, 'travel_security', 'railway');
      await page.goto(`${server.origin}/desk?lang=en`);
      // Without a key: a clear error beside the field, nothing verified.
      await page.locator('#code').fill(code);
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      await page.waitForURL('**/desk');
      assert.match(await page.locator('.error-summary').innerText(), /Enter your organisation's API key/);
      await page.locator('#api_key').fill(key);
      await page.locator('#code').fill(code);
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      await page.locator('.verdict').waitFor();
      assert.match(await page.locator('.verdict').getAttribute('class'), /verdict-valid/);
      assert.match(await page.locator('.verdict').innerText(), /Checked online/);
      assert.equal(await page.locator('#api_key').inputValue(), '', 'the key is never echoed');
      assert.match(await page.locator('img.desk-portrait').getAttribute('src'), /^data:image\//);
    } finally {
      await context.close();
    }
  });
});
