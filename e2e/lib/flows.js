// Steps that several browser tests share: demo residents registered through
// the JSON API with codes from the demo outbox, staff members added with
// `shengshi staff add` and their authenticator codes, Chromium's virtual
// passkey authenticator, and keyboard typing.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';

/** Every test staff member's password. */
export const PASSWORD = 'Correct-horse-42';

/** Runs `shengshi staff add` on the server's data directory; resolves to the provisioning URI. */
export function addStaff(dataDir, { username, name, department, role }) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('SHENGSHI_')) env[key] = value;
  }
  const child = spawn(
    process.env.SHENGSHI_BIN,
    ['staff', 'add', '--data-dir', dataDir, '--username', username, '--name', name,
      '--department', department, '--role', role],
    { cwd: dataDir, env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
  child.stdin.end(`${PASSWORD}\n`);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(stdout.trim());
      else reject(new Error(`shengshi staff add failed (${code}):\n${stderr}`));
    });
  });
}

/** RFC 4648 base32, as in the provisioning URI's `secret`. */
export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/=+$/, '')) {
    const index = alphabet.indexOf(c);
    assert.ok(index >= 0, `not base32: ${c}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** The RFC 6238 code (HMAC-SHA-1, 30 s, 6 digits) for `step` steps after now. */
export function totp(uri, step = 0) {
  const secret = base32Decode(new URL(uri).searchParams.get('secret'));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + step));
  const digest = createHmac('sha1', secret).update(counter).digest();
  const offset = digest[19] & 0x0f;
  const binary = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 1_000_000).padStart(6, '0');
}

/** The `index`th (0 or 1) "Try real-name registration as" resident the server printed. */
export function demoResident(stdout, index = 0) {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => l.includes('Try real-name registration as'));
  assert.ok(at >= 0, `the demo names residents to try:\n${stdout}`);
  const [name, idNumber] = lines[at + 1 + index].trim().split(/\s+/);
  return { name, idNumber };
}

/** The newest code the demo outbox shows for this phone. */
export async function codeFromOutbox(origin, phone) {
  const html = await (await fetch(`${origin}/demo/sms`)).text();
  const code = /(?:验证码是|code is)\s*(\d{6})/;
  const row = html.split('<tr>').find((r) => r.includes(phone) && code.test(r));
  assert.ok(row, `a code for ${phone} in the outbox`);
  return row.match(code)[1];
}

export async function api(origin, path, body) {
  const response = await fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** Registers the (`index`th) demo resident with this phone through the JSON API. */
export async function registerResident(server, phone, index = 0) {
  const { name, idNumber } = demoResident(server.stdout(), index);
  assert.equal((await api(server.origin, '/api/v1/registration/codes', { phone })).status, 202);
  const code = await codeFromOutbox(server.origin, phone);
  const proof = await api(server.origin, '/api/v1/registration/phone-proofs', { phone, code });
  assert.equal(proof.status, 201);
  const done = await api(server.origin, '/api/v1/registrations', {
    proof: proof.body.proof,
    name,
    id_number: idNumber,
  });
  assert.equal(done.status, 202);
}

/** A virtual platform authenticator that verifies the user (like a fingerprint). */
export async function addVirtualAuthenticator(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
  };
}

/** Fills a field by focusing it and typing, as a keyboard user would. */
export async function typeInto(page, label, text) {
  const field = page.getByLabel(label, { exact: true });
  await field.focus();
  await page.keyboard.type(text);
}

/** Logs a resident in with an SMS code from the demo outbox, in any language; ends on /account. */
export async function logIn(page, origin, phone) {
  await page.goto(`${origin}/login`);
  await page.fill('#phone', phone);
  await Promise.all([page.waitForURL('**/login/code'), page.locator('form[action="/login"] button').click()]);
  await page.fill('#code', await codeFromOutbox(origin, phone));
  await Promise.all([page.waitForURL('**/account'), page.locator('form[action="/login/code"] button').click()]);
}

/** Logs a staff member in with password and authenticator code (`step` steps ahead), in any language; ends on /staff. */
export async function staffLogIn(page, origin, username, uri, step = 0) {
  await page.goto(`${origin}/staff/login`);
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await page.fill('#code', totp(uri, step));
  await Promise.all([page.waitForURL(`${origin}/staff`), page.locator('form[action="/staff/login"] button').click()]);
}
