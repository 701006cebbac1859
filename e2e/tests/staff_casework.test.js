// Purpose-bound staff access in the browser. A resident asks for a
// correction; a public security clerk finds it in the queue (no personal
// data), cannot open the record until the request is theirs, takes it, reads
// the record and rejects without a reason (refused), then decides with a
// note. The clerk then opens another record by break-glass: a short
// justification is refused, a real one opens it. Their supervisor sees the
// alert on the dashboard and reviews it. The resident reads the decision and
// sees both accesses in the access log, the emergency one flagged.

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
import { assertNoAxeViolations } from '../lib/a11y.js';
import { addStaff, demoResident, logIn, registerResident, staffLogIn } from '../lib/flows.js';

describe('staff casework and break-glass', () => {
  let server;
  let browser;
  let clerkUri;
  let bossUri;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    clerkUri = await addStaff(server.dataDir, {
      username: 'li.qing',
      name: '李青',
      department: 'public_security',
      role: 'clerk',
    });
    bossUri = await addStaff(server.dataDir, {
      username: 'zhou.min',
      name: '周敏',
      department: 'public_security',
      role: 'supervisor',
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  afterEach((t) => printServerLogOnFailure(t, server));

  it('opens a record only for assigned work or with a justification that alerts the supervisor', async () => {
    const phone = '13912340077';
    const otherPhone = '13912340078';
    await registerResident(server, phone, 0);
    await registerResident(server, otherPhone, 1);
    const resident = demoResident(server.stdout(), 0);
    const other = demoResident(server.stdout(), 1);

    // The resident asks for a correction.
    const home = await newPage(browser, { lang: 'en-GB' });
    const clerk = await newPage(browser, { lang: 'en-GB' });
    const boss = await newPage(browser, { lang: 'en-GB' });
    try {
      await logIn(home, server.origin, phone);
      await home.goto(`${server.origin}/account/privacy`);
      await home.getByLabel('Which detail is wrong').selectOption('name');
      await home.getByLabel('What it should say').fill('Corrected Name');
      await home.getByRole('button', { name: 'Send correction request' }).click();
      await home.waitForURL('**/account/privacy#corrections');

      // The clerk's dashboard counts the waiting request.
      await staffLogIn(clerk, server.origin, 'li.qing', clerkUri);
      const queueLink = clerk.getByRole('link', { name: 'Correction requests waiting' });
      assert.match(await queueLink.locator('xpath=..').innerText(), /: 1/);
      await queueLink.click();
      await clerk.waitForURL('**/staff/corrections');
      const main = clerk.locator('main');
      assert.ok(!(await main.innerText()).includes(resident.name), 'the queue shows no personal data');
      await assertNoAxeViolations(clerk, 'correction queue');
      await screenshot(clerk, 'staff-corrections-queue-en');

      // Not yet assigned: the record stays closed.
      const row = clerk.locator('tr[data-request]').first();
      const id = await row.getAttribute('data-request');
      await clerk.goto(`${server.origin}/staff/corrections/${id}`);
      assert.match(await clerk.locator('.error-summary').innerText(), /not assigned to you/);
      assert.ok(!(await main.innerText()).includes(resident.name));

      // Taken, it opens.
      await clerk.getByRole('button', { name: /^Take/ }).first().click();
      await clerk.waitForURL(`**/staff/corrections/${id}`);
      assert.equal(await clerk.locator('[data-record-name]').innerText(), resident.name);
      assert.equal(await clerk.locator('[data-proposed]').innerText(), 'Corrected Name');
      await assertNoAxeViolations(clerk, 'correction case');
      await screenshot(clerk, 'staff-correction-case-en');

      // A rejection without a reason is refused, with the error first in the title.
      await clerk.getByLabel('No, not corrected').check();
      await clerk.getByRole('button', { name: 'Save decision' }).click();
      await clerk.locator('#note-error').waitFor();
      assert.match(await clerk.title(), /^Error: /);
      await assertNoAxeViolations(clerk, 'correction case with an error');
      await clerk.getByLabel('Yes, corrected in the registry').check();
      await clerk.getByLabel('Note to the resident').fill('Corrected in the household register.');
      await clerk.getByRole('button', { name: 'Save decision' }).click();
      await clerk.waitForURL('**/staff/corrections?notice=decided');
      assert.match(await main.innerText(), /No correction request is waiting/);
      assertNoProblems(clerk);

      // Break-glass: a justification is required, then the record opens.
      await clerk.goto(`${server.origin}/staff`);
      await clerk.getByRole('link', { name: 'Emergency access to a record' }).click();
      await clerk.waitForURL('**/staff/break-glass');
      await assertNoAxeViolations(clerk, 'break-glass form');
      await clerk.getByLabel("The resident's ID number").fill(other.idNumber);
      await clerk.getByLabel('Why this cannot wait').fill('urgent');
      await clerk.getByRole('button', { name: 'Open the record and alert my supervisors' }).click();
      await clerk.locator('#justification-error').waitFor();
      assert.ok(!(await main.innerText()).includes(other.name));
      await clerk.getByLabel('Why this cannot wait').fill('Ambulance crew at the counter needs the identity of an unconscious resident.');
      await clerk.getByRole('button', { name: 'Open the record and alert my supervisors' }).click();
      await clerk.locator('[data-record-name]').waitFor();
      assert.equal(await clerk.locator('[data-record-name]').innerText(), other.name);
      assert.equal((await clerk.request.get(`${server.origin}/staff/break-glass`)).headers()['cache-control'], 'no-store');
      await screenshot(clerk, 'staff-break-glass-open-en');
      assertNoProblems(clerk);

      // The supervisor is alerted and reviews it.
      await staffLogIn(boss, server.origin, 'zhou.min', bossUri);
      const alertsLink = boss.getByRole('link', { name: 'Emergency access alerts to review' });
      assert.match(await alertsLink.locator('xpath=..').innerText(), /: 1/);
      await alertsLink.click();
      await boss.waitForURL('**/staff/break-glass/alerts');
      const alert = boss.locator('[data-alert]').first();
      assert.match(await alert.innerText(), /Ambulance crew/);
      assert.match(await alert.innerText(), /li\.qing/);
      await assertNoAxeViolations(boss, 'break-glass alerts');
      await screenshot(boss, 'staff-break-glass-alerts-en');
      // A referral needs a note.
      await alert.getByLabel('Refer to the auditors').check();
      await alert.getByRole('button', { name: 'Save review' }).click();
      await boss.locator('#review-error').waitFor();
      await boss.locator('[data-alert]').first().getByLabel('Justified').check();
      await boss.locator('[data-alert]').first().getByRole('button', { name: 'Save review' }).click();
      await boss.waitForURL('**/staff/break-glass/alerts');
      assert.match(await boss.locator('[data-alert]').first().innerText(), /Justified ·/);
      assertNoProblems(boss);

      // The resident reads the decision and sees the clerk's access.
      await home.goto(`${server.origin}/account/privacy`);
      const corrections = home.locator('table', { hasText: 'Corrected Name' });
      assert.match(await corrections.innerText(), /Corrected/);
      assert.match(await corrections.innerText(), /Corrected in the household register\./);
      await home.goto(`${server.origin}/account/access-log?purpose=case_work`);
      const log = await home.locator('main table').innerText();
      assert.match(log, /for a case assigned to them/);
      assert.match(log, /Public Security/);
      assert.ok(!log.includes('李青'), 'the clerk is not named');
    } finally {
      await home.context().close();
      await clerk.context().close();
      await boss.context().close();
    }

    // The other resident sees the emergency access flagged.
    const second = await newPage(browser, { lang: 'en-GB' });
    try {
      await logIn(second, server.origin, otherPhone);
      await second.goto(`${server.origin}/account/access-log`);
      const flagged = second.locator('tr', { hasText: 'Emergency access' });
      await flagged.first().waitFor();
      assert.match(await flagged.first().innerText(), /Public Security/);
      await assertNoAxeViolations(second, 'access log with a break-glass entry');
      await screenshot(second, 'access-log-break-glass-en');
    } finally {
      await second.context().close();
    }
  });
});
