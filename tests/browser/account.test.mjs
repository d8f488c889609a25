// The hosted /account page through nginx, in a real browser: a user without a
// second factor enrolls TOTP by reading the secret the page shows and typing a
// code for it, then uses it for a transfer; a user signed in on two browsers
// signs the other one out.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  TotpSource, createUser, identity, launchBrowser, newPage, onStepUp, shot, signIn,
  startBank, submitTotp,
} from './lib/bank.mjs';

let bank;
let browser;
before(async () => {
  bank = await startBank();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await bank?.stop();
});

test('enroll TOTP from /account, then step up with it', async () => {
  const user = await createUser(bank, 'enroll');
  const { page } = await newPage(browser, bank);
  await signIn(page, user, '/account');
  await page.locator('#factors-list').waitFor();
  assert.equal(await page.locator('#factors-list li[data-type="totp"]').count(), 0);
  await shot(page, 'account');

  await page.click('#enroll-totp');
  await page.locator('#totp-secret').waitFor({ state: 'visible' });
  const secret = (await page.locator('#totp-secret').textContent()).trim();
  assert.match(secret, /^[A-Z2-7]{16,}$/, 'a base32 secret');
  assert.ok(await page.locator('#totp-qr').isVisible(), 'the QR code is shown');
  await shot(page, 'account-enroll-totp');

  const totp = new TotpSource(secret);
  await page.fill('#confirm-code', await totp.next());
  await page.click('#confirm-submit');
  // The list shows the factor as unconfirmed from the start; the code turns it
  // into a confirmed one.
  await page.waitForFunction(() => {
    const li = document.querySelector('#factors-list li[data-type="totp"]');
    return li && !/Not confirmed/i.test(li.textContent);
  });
  assert.equal(await page.locator('#factors-list li[data-type="totp"]').count(), 1);
  assert.equal(await page.locator('#totp-secret').isVisible(), false, 'the secret is no longer shown');
  await shot(page, 'account-totp-enrolled');

  // The new factor is what the step-up page now offers for a transfer.
  await page.goto('/transfer');
  await onStepUp(page);
  await submitTotp(page, await totp.next());
  await page.waitForURL((u) => u.pathname === '/transfer');
  assert.deepEqual(await identity(page), { subject: user.username, acr: 'aal2', amr: 'pwd,otp' });
});

test('a user without a second factor is told so on the step-up page', async () => {
  const user = await createUser(bank, 'nofactor');
  const { page } = await newPage(browser, bank);
  await signIn(page, user, '/transfer', { landing: '/step-up' });
  await page.locator('#no-factor').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#totp-code').isVisible(), false);
  await shot(page, 'step-up-no-factor');
});

test('revoke another session from /account', async () => {
  const user = await createUser(bank, 'revoke');
  const laptop = await newPage(browser, bank);
  const phone = await newPage(browser, bank, { viewport: { width: 375, height: 740 } });
  await signIn(phone.page, user, '/accounts');
  await shot(phone.page, 'bank-accounts-phone');
  await signIn(laptop.page, user, '/account');

  const sessions = laptop.page.locator('#sessions-list li[data-session-id]');
  await sessions.first().waitFor();
  assert.equal(await sessions.count(), 2);
  const other = laptop.page.locator('#sessions-list li[data-current="false"]');
  assert.equal(await other.count(), 1);
  await shot(laptop.page, 'account-sessions');
  await other.locator('button.revoke-session').click();
  await laptop.page.waitForFunction(
    () => document.querySelectorAll('#sessions-list li[data-session-id]').length === 1);
  assert.equal(await laptop.page.locator('#sessions-list li[data-current="true"]').count(), 1);
  await shot(laptop.page, 'account-session-revoked');

  // The phone's session is dead: nginx sends it to the login page.
  await phone.page.goto('/accounts');
  await phone.page.waitForURL((u) => u.pathname === '/login');
  assert.equal(new URL(phone.page.url()).searchParams.get('return_to'), '/accounts');
  // ... while the laptop still gets in.
  await laptop.page.goto('/accounts');
  assert.equal((await identity(laptop.page)).subject, user.username);
});
