// stepup.js on the bank's single-page demo (/spa), through nginx: the page's
// POST /api/bank/transfer gets nginx's 401 with stepup's RFC 9470 challenge,
// stepup.fetch opens its dialog with the rule's reason, the user types a TOTP
// code, and the request is retried once and goes through, without leaving the page.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { createUser, launchBrowser, newPage, shot, signIn, startBank } from './lib/bank.mjs';

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

test('stepup.fetch opens the dialog, verifies, and retries the request', async () => {
  const user = await createUser(bank, 'spa', { totp: true });
  const { page } = await newPage(browser, bank);
  await signIn(page, user, '/spa');
  await shot(page, 'bank-spa');

  // Count the app requests the page makes, to see exactly one retry.
  const posts = [];
  page.on('response', (r) => {
    if (r.url().endsWith('/api/bank/transfer')) posts.push(r.status());
  });
  const loadedAt = await page.evaluate(() => performance.timeOrigin);

  await page.fill('#spa-payee', 'Corner Shop');
  await page.fill('#spa-amount', '12.5');
  await page.click('#spa-transfer');
  const dialog = page.locator('dialog#stepup-modal');
  await dialog.waitFor({ state: 'visible' });
  assert.equal(await dialog.evaluate((d) => d.open), true);
  assert.match(await page.locator('#stepup-modal-reason').textContent(),
    /Transfers to a new payee need a second factor/);
  assert.match(await page.locator('#stepup-modal-level').textContent(), /aal2/);
  await page.locator('#stepup-modal-totp').waitFor({ state: 'visible' });
  await shot(page, 'bank-spa-step-up-dialog');

  // A wrong code first: the dialog says so and stays open.
  await page.fill('#stepup-modal-totp', await user.totp.wrong());
  await page.click('#stepup-modal-submit');
  await page.waitForFunction(() => document.querySelector('#stepup-modal-error')?.textContent.trim().length > 0);
  assert.match(await page.locator('#stepup-modal-error').textContent(), /not right/);
  assert.equal(await dialog.evaluate((d) => d.open), true);

  await page.fill('#stepup-modal-totp', await user.totp.next());
  await page.click('#stepup-modal-submit');
  await page.waitForFunction(() => /sent/.test(document.getElementById('spa-result').textContent));
  assert.match(await page.locator('#spa-result').textContent(),
    /Transfer T\d+ sent: €12\.50 to Corner Shop \(level aal2\)/);
  assert.equal(await dialog.evaluate((d) => d.open), false, 'the dialog closed');
  assert.deepEqual(posts, [401, 200], 'one refused request, one retry');
  assert.equal(await page.evaluate(() => performance.timeOrigin), loadedAt, 'the page never reloaded');
  assert.equal(new URL(page.url()).pathname, '/spa');
  await shot(page, 'bank-spa-transfer-sent');
});
