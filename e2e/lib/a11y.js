// Accessibility and layout checks for the design-system tests: axe-core
// (from node_modules, pinned in package.json; never from a CDN), security
// headers, reflow, focus visibility and keyboard-only navigation.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** What axe checks: WCAG 2.0, 2.1 and 2.2 at levels A and AA, plus Deque's best practices. */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

/**
 * Runs axe-core in the page and resolves to its violations, simplified.
 * The source goes in through page.evaluate (the DevTools protocol), which the
 * page's Content-Security-Policy does not govern; a <script> tag would be
 * blocked by it, as it should be.
 */
export async function axeViolations(page) {
  const loaded = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!loaded) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (tags) => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: tags },
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`),
    }));
  }, AXE_TAGS);
}

export async function assertNoAxeViolations(page, where) {
  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], `axe found violations on ${where} (${page.url()}):\n${JSON.stringify(violations, null, 2)}`);
}

/**
 * The headers every response must carry; pages additionally the strict CSP
 * (no inline script or style, no eval, never framed). Only /api/docs (the
 * vendored Swagger UI) may allow inline styles.
 */
export function assertSecurityHeaders(response) {
  const url = new URL(response.url());
  const headers = response.headers();
  const where = `${response.request().method()} ${url.pathname}${url.search} (${response.status()})`;
  assert.equal(headers['x-content-type-options'], 'nosniff', `${where}: X-Content-Type-Options`);
  assert.ok(headers['referrer-policy'], `${where}: no Referrer-Policy`);
  const csp = headers['content-security-policy'];
  assert.ok(csp, `${where}: no Content-Security-Policy`);
  const directives = Object.fromEntries(
    csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([name, ...values]) => [name, values]),
  );
  assert.deepEqual(directives['frame-ancestors'], ["'none'"], `${where}: frame-ancestors`);
  assert.deepEqual(directives['script-src'], ["'self'"], `${where}: script-src`);
  assert.ok(!csp.includes('unsafe-eval'), `${where}: the CSP allows eval`);
  if (!url.pathname.startsWith('/api/docs')) {
    assert.deepEqual(directives['style-src'], ["'self'"], `${where}: style-src`);
    assert.ok(!csp.includes('unsafe-inline'), `${where}: the CSP allows inline code`);
  }
}

/** Records every response from `origin` that the page receives, for assertSecurityHeaders. */
export function recordResponses(page, origin) {
  const responses = [];
  page.on('response', (response) => {
    if (response.url().startsWith(origin)) responses.push(response);
  });
  return responses;
}

/** Nothing sticks out sideways: the page never scrolls horizontally. */
export async function assertNoHorizontalScroll(page, where) {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  assert.ok(
    scrollWidth <= clientWidth,
    `${where}: the page scrolls sideways, ${scrollWidth} px of content in a ${clientWidth} px viewport`,
  );
}

/** The focused element shows it: an outline or a focus shadow, not nothing. */
export async function assertFocusVisible(page) {
  const focus = await page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { none: true };
    const s = getComputedStyle(el);
    return {
      what: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} "${(el.textContent || '').trim().slice(0, 40)}"`,
      outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
      shadow: s.boxShadow !== 'none',
      visible: el.matches(':focus-visible'),
    };
  });
  assert.ok(!focus.none, 'nothing has the focus');
  assert.ok(focus.visible, `${focus.what} is focused but not :focus-visible`);
  assert.ok(focus.outline || focus.shadow, `${focus.what} has no visible focus indicator`);
}

/** What has the focus: tag, id, name and text. */
export function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    return {
      tag: el?.tagName.toLowerCase(),
      id: el?.id || '',
      text: (el?.innerText || el?.value || '').trim(),
      href: el?.getAttribute('href') || '',
    };
  });
}

/**
 * Presses Tab (only Tab) until the focused element matches, checking at each
 * stop that the focus is visible. Fails after `max` presses.
 */
export async function tabTo(page, matches, { max = 40, what = 'the target' } = {}) {
  const seen = [];
  for (let i = 0; i < max; i += 1) {
    await page.keyboard.press('Tab');
    const now = await focused(page);
    seen.push(now.id || now.text || now.tag);
    if (now.tag !== 'body') await assertFocusVisible(page);
    if (matches(now)) return now;
  }
  throw new Error(`Tab never reached ${what}; it went through: ${seen.join(' → ')}`);
}
