// The step-up page when things go wrong, and the recovery-code fallback, in a
// real browser through nginx: a wrong code gets a specific message and the user
// can try again; a code that was already spent is named as such; a user who
// lost their phone uses a recovery code (generated over the API after an
// earlier step-up) and still gets back to the transfer.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  createUser, errorText, identity, launchBrowser, newPage, onStepUp, shot, signIn, sleep,
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

test('a wrong code says so; a reused code says so; the right one gets through', async () => {
  const user = await createUser(bank, 'wrong', { totp: true });
  const { page } = await newPage(browser, bank);
  await signIn(page, user, '/transfer', { landing: '/step-up' });
  await onStepUp(page);

  await submitTotp(page, await user.totp.wrong());
  assert.match(await errorText(page), /That code is not right/);
  assert.equal(await page.locator('#totp-code').getAttribute('aria-invalid'), 'true');
  assert.equal(new URL(page.url()).pathname, '/step-up', 'still on the step-up page');
  await shot(page, 'step-up-wrong-code');

  const code = await user.totp.next();
  await submitTotp(page, code);
  await page.waitForURL((u) => u.pathname === '/transfer');
  assert.equal((await identity(page)).acr, 'aal2');

  // After max_age the transfer asks again; the code just used is refused as a
  // replay (it is still inside the accepted time window).
  await sleep((bank.transferMaxAgeSeconds + 1) * 1000);
  await page.goto('/transfer');
  await onStepUp(page);
  await submitTotp(page, code);
  assert.match(await errorText(page), /already used/);
  await shot(page, 'step-up-code-already-used');
  await submitTotp(page, await user.totp.next());
  await page.waitForURL((u) => u.pathname === '/transfer');
});

test('recovery code fallback', async () => {
  const user = await createUser(bank, 'recover', { totp: true });
  const { context, page } = await newPage(browser, bank);
  await signIn(page, user, '/transfer', { landing: '/step-up' });
  await onStepUp(page);
  await submitTotp(page, await user.totp.next());
  await page.waitForURL((u) => u.pathname === '/transfer');

  // Fresh from the step-up, the user may create recovery codes (the API call
  // carries the browser's session cookie and Origin, as the account page's would).
  const gen = await context.request.post('/api/v1/factors/recovery-codes', {
    headers: { Origin: bank.origin, 'Content-Type': 'application/json' }, data: {},
  });
  assert.equal(gen.status(), 200, await gen.text());
  const { codes } = await gen.json();
  assert.equal(codes.length, 10);

  // Later, without the phone: the step-up page offers the fallback.
  await sleep((bank.transferMaxAgeSeconds + 1) * 1000);
  await page.goto('/transfer');
  await onStepUp(page);
  await page.click('#use-recovery');
  await page.locator('#recovery-code').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#totp-code').isVisible(), false, 'one method at a time');
  await page.fill('#recovery-code', 'zzzz-zzzz-zzzz-zzzz');
  await page.click('#verify-submit');
  assert.match(await errorText(page), /not right|not valid|wrong|recovery/i);
  await page.fill('#recovery-code', codes[3]);
  await shot(page, 'step-up-recovery-code');
  await page.click('#verify-submit');
  await page.waitForURL((u) => u.pathname === '/transfer');
  assert.equal((await identity(page)).acr, 'aal2');
  await page.fill('#payee', 'Locksmith');
  await page.fill('#amount', '60');
  await page.click('#transfer-submit');
  await page.locator('#transfer-result').waitFor();
  assert.match(await page.locator('#transfer-result').textContent(), /€60\.00\s+to Locksmith/);

  // The code is spent: the factor list says one fewer is left.
  const factors = await (await context.request.get('/api/v1/factors')).json();
  const rc = factors.factors.find((f) => f.type === 'recovery_code' || f.type === 'recovery_codes');
  assert.ok(rc, JSON.stringify(factors));
  assert.equal(rc.remaining, 9);
});
