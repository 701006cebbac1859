// Shared helpers for Shengshi's browser tests: start the real binary, drive
// Debian's chromium through playwright-core, record what the page complained
// about, and take screenshots.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const E2E_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

const LISTENING = /listening on (http:\/\/localhost:\d+)/;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

// Servers still running when this process exits (a test crashed or forgot to
// stop one): killed on exit so no stray shengshi outlives the test run.
const running = new Set();
process.on('exit', () => {
  for (const server of running) {
    server.child.kill('SIGKILL');
    rmSync(server.dataDir, { recursive: true, force: true });
  }
});

function requireBinary() {
  const bin = process.env.SHENGSHI_BIN;
  if (!bin) {
    throw new Error(
      'SHENGSHI_BIN is not set: point it at a built shengshi binary, e.g. ' +
        'SHENGSHI_BIN=$CARGO_TARGET_DIR/debug/shengshi npm test',
    );
  }
  const resolved = path.resolve(bin);
  try {
    accessSync(resolved, constants.X_OK);
  } catch {
    throw new Error(`SHENGSHI_BIN=${bin} is not an executable file (resolved to ${resolved})`);
  }
  return resolved;
}

// The server's environment: ours minus every SHENGSHI_* variable, so a
// developer's SHENGSHI_DATABASE_URL or SHENGSHI_CONFIG cannot leak into a test
// (and SHENGSHI_BIN does not trigger the "unknown variable" warning).
function serverEnv(extra) {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('SHENGSHI_')) env[name] = value;
  }
  return { ...env, SHENGSHI_LOG_FORMAT: 'json', ...extra };
}

/**
 * Starts `shengshi serve --demo` on a free port with a fresh data directory.
 * Resolves once the server prints its origin.
 *
 * @param {object} [options]
 * @param {string[]} [options.args] extra arguments after the defaults
 * @param {Record<string,string>} [options.env] extra environment variables
 * @returns {Promise<{origin: string, dataDir: string, stderr: () => string,
 *   stdout: () => string, stop: () => Promise<void>}>}
 */
export async function startServer({ args = [], env = {} } = {}) {
  const bin = requireBinary();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'shengshi-e2e-'));
  const child = spawn(
    bin,
    ['serve', '--demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...args],
    { cwd: dataDir, env: serverEnv(env), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const server = { child, dataDir };
  running.add(server);

  // Keep everything the server says: a failing test prints it.
  const stdoutChunks = [];
  const stderrChunks = [];
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => stderrChunks.push(chunk));
  const stderr = () => stderrChunks.join('');
  const stdout = () => stdoutChunks.join('');

  // A forgotten server must not keep this process alive; the exit hook above
  // kills it instead.
  child.unref();
  child.stdout.unref?.();
  child.stderr.unref?.();

  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // spawn failures (ENOENT, EACCES) arrive as 'error' and no 'exit'.
    child.once('error', (error) => resolve({ error }));
  });

  let origin;
  try {
    origin = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`shengshi did not report "listening on" within ${START_TIMEOUT_MS / 1000} s`)),
        START_TIMEOUT_MS,
      );
      createInterface({ input: child.stdout }).on('line', (line) => {
        stdoutChunks.push(line + '\n');
        const match = LISTENING.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      exited.then(({ code, signal, error }) => {
        clearTimeout(timer);
        const how = error ? `could not start: ${error.message}` : `exited (code ${code}, signal ${signal})`;
        reject(new Error(`shengshi ${how} before listening`));
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    running.delete(server);
    await rm(dataDir, { recursive: true, force: true });
    error.message += `\n--- shengshi stderr ---\n${stderr() || '(empty)'}\n--- shengshi stdout ---\n${stdout() || '(empty)'}`;
    throw error;
  }

  let stopping;
  async function stop() {
    // Idempotent: after() hooks may call it after a test already did.
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        // This timer also keeps the event loop alive while we wait for the
        // (unref'd) child to exit.
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      running.delete(server);
      await rm(dataDir, { recursive: true, force: true });
    })();
    return stopping;
  }

  return { origin, dataDir, stderr, stdout, stop };
}

/**
 * For an afterEach hook: when the test just failed, print the end of the
 * server's log so the failure explains itself.
 *
 *   afterEach((t) => printServerLogOnFailure(t, server));
 */
export function printServerLogOnFailure(t, server, lines = 60) {
  if (t.passed !== false || !server) return;
  const tail = server.stderr().trimEnd().split('\n').slice(-lines).join('\n');
  console.error(`--- shengshi stderr, last ${lines} lines (after "${t.name}") ---\n${tail || '(empty)'}`);
}

// ---------------------------------------------------------------------------
// The browser
// ---------------------------------------------------------------------------

const CHROMIUM = process.env.SHENGSHI_CHROMIUM || '/usr/bin/chromium';

// Without the background-networking flags chromium tries to reach Google,
// and the closed network refuses it (noise at best, hangs at worst).
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches Debian's chromium (never a downloaded one). */
export async function launchBrowser() {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`${CHROMIUM} not found: install it with apt-get install chromium (scripts/e2e.sh does)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

// A phone: most residents will use Shengshi on one.
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

// What each page complained about, kept outside the Page object.
const problemsByPage = new WeakMap();

/**
 * Opens a page in a fresh context (no cookies) with a phone viewport.
 * `lang` becomes the browser locale, hence navigator.language and the
 * Accept-Language header.
 *
 * The page records console errors, uncaught exceptions and CSP violations;
 * read them with problemsOf(page) or assert with assertNoProblems(page).
 * Close it with page.context().close().
 */
export async function newPage(browser, { lang = 'zh-CN' } = {}) {
  const context = await browser.newContext({ ...PHONE, locale: lang });
  const problems = [];

  // The securitypolicyviolation event catches every CSP block, including
  // ones chromium does not log; the binding is installed through the
  // DevTools protocol, so it is not itself subject to the page's CSP.
  await context.exposeBinding('__shengshiCspViolation', ({ page }, v) => {
    problemsByPage.get(page)?.push({ kind: 'csp', text: `${v.directive} blocked ${v.blocked} (${v.source})` });
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__shengshiCspViolation({
        directive: e.effectiveDirective,
        blocked: e.blockedURI || '(inline)',
        source: `${e.sourceFile || e.documentURI}:${e.lineNumber}`,
      });
    });
  });

  const page = await context.newPage();
  problemsByPage.set(page, problems);
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // Chromium also logs CSP blocks as console errors; label them as such.
    const kind = /Content Security Policy/i.test(message.text()) ? 'csp' : 'console';
    const { url, lineNumber } = message.location();
    problems.push({ kind, text: `${message.text()}${url ? ` (${url}:${lineNumber})` : ''}` });
  });
  page.on('pageerror', (error) => problems.push({ kind: 'pageerror', text: String(error) }));
  return page;
}

/** Everything the page complained about so far: [{ kind, text }]. */
export function problemsOf(page) {
  return problemsByPage.get(page) ?? [];
}

/** Fails with the list of console errors, page errors and CSP violations, if any. */
export function assertNoProblems(page) {
  assert.deepEqual(problemsOf(page), [], `the page at ${page.url()} reported problems`);
}

// ---------------------------------------------------------------------------
// Screenshots
// ---------------------------------------------------------------------------

let screenshotDir;

/** The folder screenshots go to: $SHENGSHI_SCREENSHOTS, else e2e/screenshots. */
export function screenshotFolder() {
  const configured = process.env.SHENGSHI_SCREENSHOTS;
  return configured ? path.resolve(configured) : path.join(E2E_DIR, 'screenshots');
}

/** Saves a full-page PNG named `<name>.png` and returns its path. */
export async function screenshot(page, name) {
  if (!screenshotDir) {
    screenshotDir = screenshotFolder();
    mkdirSync(screenshotDir, { recursive: true });
    console.log(`screenshots: ${screenshotDir}`);
  }
  const file = path.join(screenshotDir, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
