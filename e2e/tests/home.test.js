// First journey: the home page renders in both languages, remembers the
// resident's choice, and is usable from the keyboard on a phone.

import assert from 'node:assert/strict';
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

const htmlLang = (page) => page.locator('html').getAttribute('lang');
const heading = (page) => page.locator('h1').innerText();

describe('home page', () => {
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

  it('is Chinese by default, switches to English, and remembers the choice', async () => {
    const page = await newPage(browser, { lang: 'zh-CN' });
    try {
      const response = await page.goto(`${server.origin}/`);
      assert.equal(response.status(), 200);

      // The strict policy is what keeps injected script out of every page.
      const csp = response.headers()['content-security-policy'];
      assert.ok(csp, 'GET / has no content-security-policy header');
      assert.match(csp, /script-src 'self'/);
      assert.match(csp, /frame-ancestors 'none'/);

      assert.equal(await htmlLang(page), 'zh-CN');
      assert.equal(await heading(page), '欢迎使用省事');
      assert.ok(await page.locator('.demo-banner').isVisible(), 'the demo banner is not visible');
      await assertFitsThePhone(page);
      await screenshot(page, 'home-zh-CN');

      // The switch link is labelled in the language it leads to.
      await page.getByRole('link', { name: 'English', exact: true }).click();
      await page.waitForURL((url) => url.searchParams.get('lang') === 'en');
      assert.equal(await htmlLang(page), 'en');
      assert.equal(await heading(page), 'Welcome to Shengshi');
      assert.ok(await page.locator('.demo-banner').isVisible(), 'the demo banner is not visible in English');
      await assertFitsThePhone(page);
      await screenshot(page, 'home-en');

      // Without ?lang= the cookie, not Accept-Language, decides.
      await page.goto(`${server.origin}/`);
      assert.equal(await htmlLang(page), 'en', 'the English choice was not remembered');
      assert.equal(await heading(page), 'Welcome to Shengshi');

      // And back again.
      await page.getByRole('link', { name: '简体中文', exact: true }).click();
      await page.waitForURL((url) => url.searchParams.get('lang') === 'zh-CN');
      assert.equal(await htmlLang(page), 'zh-CN');
      assert.equal(await heading(page), '欢迎使用省事');

      assertNoProblems(page);
    } finally {
      await page.context().close();
    }
  });

  it('is English on first visit for a browser set to en-GB', async () => {
    const page = await newPage(browser, { lang: 'en-GB' });
    try {
      await page.goto(`${server.origin}/`);
      assert.equal(await htmlLang(page), 'en');
      assert.equal(await heading(page), 'Welcome to Shengshi');
      assert.ok(await page.locator('.demo-banner').isVisible(), 'the demo banner is not visible');
      assertNoProblems(page);
    } finally {
      await page.context().close();
    }
  });

  it('offers the skip link as the first thing Tab reaches', async () => {
    const page = await newPage(browser, { lang: 'zh-CN' });
    try {
      await page.goto(`${server.origin}/`);
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => ({
        text: document.activeElement?.textContent.trim(),
        href: document.activeElement?.getAttribute('href'),
      }));
      assert.deepEqual(focused, { text: '跳到主要内容', href: '#main' });
      // Hidden off-screen until focused; a sighted keyboard user must see it.
      assert.ok(await page.locator('.skip-link').isVisible(), 'the focused skip link is not visible');
      await screenshot(page, 'home-zh-CN-skip-link-focused');

      // Following it lands focus on the main content.
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.activeElement?.id === 'main');
      assertNoProblems(page);
    } finally {
      await page.context().close();
    }
  });

  // Checks the checker: a clean result above only means something if an
  // actual violation would have been caught.
  it('would notice a CSP violation', async () => {
    const page = await newPage(browser, { lang: 'zh-CN' });
    try {
      await page.goto(`${server.origin}/`);
      await page.evaluate(() => {
        const script = document.createElement('script');
        script.textContent = 'window.inlineScriptRan = true';
        document.body.append(script);
      });
      assert.equal(await page.evaluate(() => window.inlineScriptRan), undefined, 'an inline script ran');
      await waitFor(() => problemsOf(page).some((p) => p.kind === 'csp'), 'no CSP violation was recorded');
    } finally {
      await page.context().close();
    }
  });
});

// Nothing may stick out sideways on a 390 px wide phone.
async function assertFitsThePhone(page) {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  assert.ok(scrollWidth <= clientWidth, `the page scrolls sideways: ${scrollWidth} px wide in a ${clientWidth} px viewport`);
}

// Polls a condition that is fed by browser events (they arrive asynchronously).
async function waitFor(condition, failure, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${failure} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
