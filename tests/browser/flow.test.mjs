// The demo's main story in a real browser, through nginx: alice signs in,
// views her accounts, starts a transfer to a new payee, is sent to the step-up
// page that says why, types her TOTP code, comes back to the transfer form,
// sends the money; once the transfer's max_age has passed, the next transfer
// asks again. Uses the demo user alice as examples/bank/run created her.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  TotpSource, identity, launchBrowser, newPage, onStepUp, shot, signIn, sleep, startBank,
  submitTotp,
} from './lib/bank.mjs';

const REASON = 'Transfers to a new payee need a second factor';

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

test('sign in, accounts, transfer with step-up, and again after max_age', async () => {
  const a = bank.state.users.alice;
  const alice = { username: 'alice', password: a.password, totp: new TotpSource(a.totp_secret) };
  const { page } = await newPage(browser, bank);

  // Signed out: nginx sends the browser to the hosted login page.
  await signIn(page, alice, '/accounts', { shotName: 'login' });

  // Accounts at aal1, with the identity nginx forwarded.
  assert.deepEqual(await identity(page), { subject: 'alice', acr: 'aal1', amr: 'pwd' });
  assert.match(await page.locator('#accounts-table').textContent(), /Checking\s*€2,500\.00/);
  await shot(page, 'bank-accounts');

  // Start a transfer: the step-up page says why and what is needed.
  await page.click('#start-transfer');
  const up = await onStepUp(page);
  assert.equal(up.reason, REASON);
  assert.equal(up.level, 'aal2');
  assert.equal(up.params.get('return_to'), '/transfer');
  assert.equal(up.params.get('max_age'), String(bank.transferMaxAgeSeconds));
  const totpInput = page.locator('#totp-code');
  assert.equal(await totpInput.getAttribute('autocomplete'), 'one-time-code');
  assert.equal(await totpInput.getAttribute('inputmode'), 'numeric');
  await shot(page, 'step-up-totp');

  // The code, computed by oathtool from alice's secret: back on the form.
  await submitTotp(page, await alice.totp.next());
  await page.waitForURL((u) => u.pathname === '/transfer');
  await page.locator('#transfer-form').waitFor();
  assert.deepEqual(await identity(page), { subject: 'alice', acr: 'aal2', amr: 'pwd,otp' });
  await shot(page, 'bank-transfer-form');

  // The transfer goes through.
  await page.fill('#payee', "Carol's Bakery");
  await page.fill('#amount', '42');
  await page.click('#transfer-submit');
  await page.locator('#transfer-result').waitFor();
  assert.match(await page.locator('#transfer-result').textContent(),
    /Transfer T\d+ sent: €42\.00\s+to Carol's Bakery\. Checking balance: €2,458\.00\./);
  await shot(page, 'bank-transfer-sent');

  // /admin needs its own freshness (6 s in the tests): still fresh now.
  await page.goto('/admin');
  await page.locator('#admin-transfers').waitFor();
  assert.match(await page.locator('#admin-transfers').textContent(), /alice\s*Carol's Bakery\s*€42\.00\s*aal2/);
  await shot(page, 'bank-admin');

  // The elevation (15 min) still holds, but the transfer rule wants a proof
  // from the last few seconds: once that passed, the next transfer asks again.
  await sleep((bank.transferMaxAgeSeconds + 1) * 1000);
  await page.goto('/accounts');
  assert.equal((await identity(page)).acr, 'aal2');
  assert.match(await page.locator('#recent-transfers').textContent(), /€42\.00 to Carol's Bakery/);
  await page.click('#start-transfer');
  const again = await onStepUp(page);
  assert.equal(again.reason, REASON);
  await shot(page, 'step-up-again-after-max-age');
  await submitTotp(page, await alice.totp.next());
  await page.waitForURL((u) => u.pathname === '/transfer');
  await page.fill('#payee', 'Dan the Plumber');
  await page.fill('#amount', '8.5');
  await page.click('#transfer-submit');
  await page.locator('#transfer-result').waitFor();
  assert.match(await page.locator('#transfer-result').textContent(), /€8\.50\s+to Dan the Plumber/);
});
