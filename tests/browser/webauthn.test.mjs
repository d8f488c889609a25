// WebAuthn in a real browser: Chromium's virtual authenticator (CDP WebAuthn
// domain: ctap2, internal transport, resident keys, user verification) runs
// navigator.credentials.create/get for the hosted pages and stepup.js.
//
// In the demo bank (through nginx): bob, who has only a password, adds a
// passkey on /account (no step-up needed) and steps up a transfer with it on
// /step-up; a user with a passkey gets the key first in stepup.js's dialog.
//
// The demo bank's config stops at aal2 and lets no level be reached by a
// passkey alone, so usernameless sign-in and the aal3 checks run against a
// stepup of their own (tests/integration/lib/server.mjs: temp SQLite,
// generated config with the default WebAuthn level sets, an aal3 level and an
// /admin3/** rule), serving its hosted pages on http://localhost:PORT: a
// passkey with UV alone signs in at aal2; aal3 is reached only by a
// device-bound key with user verification; a key that does not verify the
// user, or a synced (backup-eligible) passkey, leaves the session below it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startServer, USERS } from '../integration/lib/server.mjs';
import {
  createUser, identity, launchBrowser, newPage, shot, signIn, sleep, startBank, where,
} from './lib/bank.mjs';
import { addAuthenticator, addKeyOnAccount, pageApi, shotWa } from './lib/webauthn.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

// Waits until the hosted step-up page offers the key; resolves what it says.
async function onKeyStepUp(page) {
  await page.waitForURL((u) => u.pathname === '/step-up');
  await page.locator('#use-webauthn').waitFor({ state: 'visible' });
  return {
    reason: (await page.locator('#reason').textContent()).trim(),
    level: (await page.locator('#level-name').textContent()).trim(),
    focused: await page.evaluate(() => document.activeElement?.id),
  };
}

describe('demo bank', () => {
  let bank;
  before(async () => {
    bank = await startBank();
  });
  after(async () => {
    await bank?.stop();
  });

  test('bob adds a passkey on /account and steps up a transfer with it', async () => {
    const bob = { username: 'bob', password: bank.state.users.bob.password };
    const { context, page } = await newPage(browser, bank);
    const key = await addAuthenticator(context, page);

    await signIn(page, bob, '/account');
    await page.locator('#factors-list li').first().waitFor();
    assert.equal(await page.locator('#factors-list li[data-type="webauthn"]').count(), 0);
    assert.equal(await page.locator('#webauthn-name').getAttribute('maxlength'), '64');
    await shotWa(page, 'account');

    // Cancelling the browser's dialog is not an error. (The virtual
    // authenticator never cancels, so the page's create() is made to throw
    // what a browser throws when the user closes its dialog.)
    await page.evaluate(() => {
      navigator.credentials.create = async () => {
        throw new DOMException('The operation either timed out or was not allowed.', 'NotAllowedError');
      };
    });
    await page.click('#add-webauthn');
    await page.waitForFunction(() => /Cancelled/.test(document.getElementById('status').textContent));
    assert.equal((await page.locator('#error').textContent()).trim(), '', 'no error for a cancel');
    assert.equal(await page.locator('#add-webauthn').isEnabled(), true);
    await shotWa(page, 'account-cancelled');
    await page.reload();

    // bob has no second factor: no step-up is asked before adding the first one.
    const item = await addKeyOnAccount(page, 'Test laptop');
    assert.match(item, /Test laptop/);
    assert.match(item, /last used never/);
    assert.match(await page.locator('#status').textContent(), /is added\. It also checks that it is you/);
    assert.equal(where(page), '/account', 'no detour through /step-up');
    const creds = await key.credentials();
    assert.equal(creds.length, 1);
    assert.equal(creds[0].isResidentCredential, true, 'a discoverable credential (passkey)');
    assert.equal(creds[0].rpId, 'localhost');
    await shotWa(page, 'account-added');

    // A transfer: the step-up page offers the key first (bob has nothing else).
    await page.goto('/transfer');
    const up = await onKeyStepUp(page);
    assert.equal(up.reason, 'Transfers to a new payee need a second factor');
    assert.equal(up.level, 'aal2');
    assert.equal(up.focused, 'use-webauthn', 'the key button has the focus');
    assert.equal(await page.locator('#totp-code').isVisible(), false, 'bob has no authenticator app');
    assert.equal(await page.locator('#cancel').isVisible(), true);
    await shotWa(page, 'step-up');
    await page.click('#use-webauthn');
    await page.waitForURL((u) => u.pathname === '/transfer');
    await page.locator('#transfer-form').waitFor();
    const who = await identity(page);
    assert.equal(who.subject, 'bob');
    assert.equal(who.acr, 'aal2');
    // amr lists the methods of the sets that make the held levels: the demo's
    // aal2 is [pwd, hwk] (a device-bound key; a synced passkey would be swk).
    assert.deepEqual(who.amr.split(',').sort(), ['hwk', 'pwd'], 'password and a device-bound key');
    await page.fill('#payee', 'Key Locksmith');
    await page.fill('#amount', '19.99');
    await page.click('#transfer-submit');
    await page.locator('#transfer-result').waitFor();
    assert.match(await page.locator('#transfer-result').textContent(), /€19\.99\s+to Key Locksmith/);
    await shotWa(page, 'transfer-sent');
    assert.ok((await key.credentials())[0].signCount >= 1, 'the key signed');

    // /account shows it as used just now.
    await page.goto('/account');
    await page.waitForFunction(() => /last used just now/.test(
      document.querySelector('#factors-list li[data-type="webauthn"]')?.textContent || ''));

    // The same authenticator again (the step-up just now makes the change
    // fresh enough): excludeCredentials makes the browser refuse it.
    await page.fill('#webauthn-name', 'Again');
    await page.click('#add-webauthn');
    await page.waitForFunction(() => document.getElementById('error').textContent.trim().length > 0);
    assert.match(await page.locator('#error').textContent(), /already registered/);
    assert.equal(where(page), '/account');
    assert.equal(await page.locator('#factors-list li[data-type="webauthn"]').count(), 1);
    assert.equal((await key.credentials()).length, 1);
    await shotWa(page, 'account-already-registered');

    // Removing it works like removing any factor (the step-up above is still fresh).
    await page.click('#factors-list li[data-type="webauthn"] button.remove-factor');
    await page.waitForFunction(() => /was removed/.test(document.getElementById('status').textContent));
    // The page says so first, then reloads the list.
    await page.waitForFunction(() => !document.querySelector('#factors-list li[data-type="webauthn"]'));
    assert.equal((await pageApi(page, 'GET', '/api/v1/factors')).data.factors
      .filter((f) => f.type === 'webauthn').length, 0, 'gone on the server');
    assert.equal(where(page), '/account');

    await context.close();
  });

  test('stepup.js offers the key first in its dialog and retries the request', async () => {
    const user = await createUser(bank, 'wamodal', { totp: true });
    const { context, page } = await newPage(browser, bank);
    await addAuthenticator(context, page);
    await signIn(page, user, '/account');
    // With TOTP enrolled, adding a key needs a fresh step-up first: the page
    // sends the user to /step-up and back.
    await page.click('#add-webauthn');
    await page.waitForURL((u) => u.pathname === '/step-up');
    await page.locator('#totp-code').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#use-webauthn').isVisible(), false, 'no key yet');
    await page.fill('#totp-code', await user.totp.next());
    await page.click('#verify-submit');
    await page.waitForURL((u) => u.pathname === '/account');
    await page.waitForFunction(() => /Now choose/.test(document.getElementById('status').textContent));
    await addKeyOnAccount(page);

    // Let the transfer rule's freshness (a few seconds in the tests) lapse.
    await sleep((bank.transferMaxAgeSeconds + 1) * 1000);
    await page.goto('/spa');
    const posts = [];
    page.on('response', (r) => {
      if (r.url().endsWith('/api/bank/transfer')) posts.push(r.status());
    });
    await page.fill('#spa-payee', 'Hardware Store');
    await page.fill('#spa-amount', '7');
    await page.click('#spa-transfer');
    const dialog = page.locator('dialog#stepup-modal');
    await dialog.waitFor({ state: 'visible' });
    const useKey = page.locator('#stepup-modal-use-webauthn');
    await useKey.waitFor({ state: 'visible' });
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'stepup-modal-use-webauthn');
    assert.equal(await page.locator('#stepup-modal-totp').isVisible(), true, 'the code stays available');
    // The key comes before the code field in the dialog.
    assert.equal(await page.evaluate(() => {
      const k = document.getElementById('stepup-modal-use-webauthn');
      const t = document.getElementById('stepup-modal-totp');
      return Boolean(k.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING);
    }), true);
    await shotWa(page, 'modal');
    await useKey.click();
    await page.waitForFunction(() => /sent/.test(document.getElementById('spa-result').textContent));
    assert.match(await page.locator('#spa-result').textContent(), /€7\.00 to Hardware Store \(level aal2\)/);
    assert.equal(await dialog.evaluate((d) => d.open), false);
    assert.deepEqual(posts, [401, 200], 'one refused request, one retry');
    await shotWa(page, 'modal-transfer-sent');
    await context.close();
  });
});

describe('aal3 on a stepup of its own', () => {
  const kReason = 'The admin area needs a security key with its PIN or biometric';
  let srv;
  before(async () => {
    srv = await startServer({
      levels: {
        aal1: { reached_by: [['pwd']] },
        aal2: {
          reached_by: [['pwd', 'otp'], ['pwd', 'hwk'], ['pwd', 'swk'], ['hwk', 'user'], ['swk', 'user']],
          elevation: '15m',
        },
        aal3: { reached_by: [['pwd', 'hwk', 'user']], elevation: '5m' },
      },
      rules: [
        { path: '/admin3/**', level: 'aal3', max_age: '5m', reason: kReason },
        { path: '/**', level: 'aal1' },
      ],
    }, { users: ['alice', 'bob', 'carol', 'dave'] });
  });
  after(async () => {
    await srv?.stop();
  });

  // A browser page on the server's own origin (http://localhost:PORT), signed
  // in with a password, with a virtual authenticator and one key added.
  async function signedInWithKey(who, authenticatorOptions) {
    const context = await browser.newContext({ baseURL: srv.publicUrl, viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(15000);
    const page = await context.newPage();
    const key = await addAuthenticator(context, page, authenticatorOptions);
    await signIn(page, USERS[who], '/account');
    await addKeyOnAccount(page);
    return { context, page, key };
  }

  const admin3 = (page) => pageApi(page, 'POST', '/api/v1/authz/check', { method: 'GET', path: '/admin3/x' });
  const session = async (page) => (await pageApi(page, 'GET', '/api/v1/session')).data;

  test('sign in without a username with a passkey from /login', async () => {
    const { context, page } = await signedInWithKey('dave');
    await page.click('#logout');
    await page.waitForURL((u) => u.pathname === '/login');
    assert.equal((await pageApi(page, 'GET', '/api/v1/session')).status, 401, 'signed out');

    await page.goto('/account');
    await page.waitForURL((u) => u.pathname === '/login');
    assert.equal(new URL(page.url()).searchParams.get('return_to'), '/account');
    await page.locator('#passkey-login').waitFor({ state: 'visible' });
    await shotWa(page, 'login');
    await page.click('#passkey-login');
    await page.waitForURL((u) => u.pathname === '/account');
    await page.locator('#who strong').nth(1).waitFor();
    const s = await session(page);
    assert.equal(s.subject, 'dave');
    assert.equal(s.acr, 'aal2', 'a passkey with UV alone reaches aal2');
    assert.deepEqual([...s.amr].sort(), ['hwk', 'user'], 'no password was used');
    assert.match(await page.locator('#who').textContent(), /Signed in as dave\. Current level: aal2 \(security key \+ PIN or biometric\)/);
    await shotWa(page, 'login-signed-in');
    await context.close();

    // A browser whose authenticator holds no passkey for this site: the
    // browser's dialog ends without one; the page says so calmly.
    const other = await browser.newContext({ baseURL: srv.publicUrl });
    other.setDefaultTimeout(15000);
    const p2 = await other.newPage();
    await addAuthenticator(other, p2);
    await p2.goto('/login');
    await p2.locator('#passkey-login').waitFor({ state: 'visible' });
    await p2.click('#passkey-login');
    await p2.waitForFunction(() => /No passkey was used/.test(document.getElementById('status').textContent));
    assert.equal((await p2.locator('#error').textContent()).trim(), '');
    assert.equal(where(p2), '/login');
    assert.equal(await p2.locator('#passkey-login').isEnabled(), true);
    await shotWa(p2, 'login-no-passkey');
    await other.close();
  });

  test('a device-bound key with user verification reaches aal3 and passes the aal3 rule', async () => {
    const { context, page, key } = await signedInWithKey('alice');
    const before3 = await admin3(page);
    assert.equal(before3.status, 200);
    assert.equal(before3.data.decision, 'step_up');
    assert.equal(before3.data.acr_values, 'aal3');

    await page.goto('/step-up?acr=aal3&max_age=300&return_to=/account&reason=' + encodeURIComponent(kReason));
    const up = await onKeyStepUp(page);
    assert.equal(up.level, 'aal3');
    assert.match(await page.locator('#webauthn-hint').textContent(), /PIN or biometric/);
    await shotWa(page, 'step-up-aal3');

    // An answer that claims no user verification although this level needs
    // it: the server refuses it, the page gives its reason and a new challenge.
    await key.overrideResponse({ isBadUV: true });
    await page.click('#use-webauthn');
    await page.waitForFunction(() => document.getElementById('error').textContent.trim().length > 0);
    assert.match(await page.locator('#error').textContent(),
      /not accepted: This step needs user verification \(PIN or biometric\) on your key/);
    assert.equal(where(page).startsWith('/step-up'), true);
    await page.locator('#use-webauthn').waitFor({ state: 'visible' });
    await shotWa(page, 'step-up-aal3-refused');
    assert.equal((await session(page)).acr, 'aal1');

    // A broken signature: refused as well.
    await key.overrideResponse({ isBogusSignature: true });
    await page.evaluate(() => { document.getElementById('error').textContent = ''; });
    await page.click('#use-webauthn');
    await page.waitForFunction(() => document.getElementById('error').textContent.trim().length > 0);
    assert.match(await page.locator('#error').textContent(), /not accepted: bad signature\./);

    await key.overrideResponse({});
    await page.click('#use-webauthn');
    await page.waitForURL((u) => u.pathname === '/account');
    await page.locator('#who strong').nth(1).waitFor();

    const s = await session(page);
    assert.equal(s.acr, 'aal3');
    for (const m of ['pwd', 'hwk', 'user']) assert.ok(s.amr.includes(m), `amr has ${m}: ${s.amr}`);
    assert.ok(!s.amr.includes('swk'));
    const after3 = await admin3(page);
    assert.equal(after3.data.decision, 'allow');
    assert.match(await page.locator('#who').textContent(), /aal3/);
    await shotWa(page, 'account-aal3');
    await context.close();
  });

  test('without user verification the aal3 step-up fails with a clear message and the session stays aal2', async () => {
    // A security key with no PIN and no biometric: it can never verify the
    // user. (Chromium's virtual authenticator with hasUserVerification but
    // isUserVerified false fails every ceremony that asks for UV, even
    // "preferred"; a key without UV answers those with UV clear.)
    const { context, page } = await signedInWithKey('bob', { hasUserVerification: false, isUserVerified: false });

    // aal2 needs no UV: the key alone (on top of the password) reaches it.
    await page.goto('/step-up?acr=aal2&return_to=/account');
    await onKeyStepUp(page);
    await page.click('#use-webauthn');
    await page.waitForURL((u) => u.pathname === '/account');
    let s = await session(page);
    assert.equal(s.acr, 'aal2');

    // aal3 requires UV: the ceremony cannot succeed and the page says why.
    await page.goto('/step-up?acr=aal3&max_age=300&return_to=/account');
    await onKeyStepUp(page);
    await page.click('#use-webauthn');
    await page.waitForFunction(() => document.getElementById('error').textContent.trim().length > 0);
    const text = (await page.locator('#error').textContent()).trim();
    assert.match(text, /PIN or biometric/, text);
    assert.equal(where(page).startsWith('/step-up'), true, 'still on the step-up page');
    assert.equal(await page.locator('#use-webauthn').isEnabled(), true, 'the user may try again');
    await shotWa(page, 'step-up-aal3-no-uv');

    s = await session(page);
    assert.equal(s.acr, 'aal2');
    assert.equal((await admin3(page)).data.decision, 'step_up');
    await context.close();
  });

  test('a synced (backup-eligible) passkey proves swk: aal2 but never aal3', async () => {
    const { context, page } = await signedInWithKey('carol', { defaultBackupEligibility: true });
    await page.goto('/step-up?acr=aal2&return_to=/account');
    await onKeyStepUp(page);
    await page.click('#use-webauthn');
    await page.waitForURL((u) => u.pathname === '/account');
    const s = await session(page);
    assert.equal(s.acr, 'aal2');
    assert.ok(s.amr.includes('swk') && !s.amr.includes('hwk'), `amr ${s.amr}`);
    assert.ok(s.amr.includes('user'));
    assert.equal((await admin3(page)).data.decision, 'step_up');
    await context.close();
  });
});
