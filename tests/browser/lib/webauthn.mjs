// Chromium's virtual WebAuthn authenticator, driven over the Chrome DevTools
// Protocol (WebAuthn domain), for the browser tests: a platform authenticator
// (ctap2, internal transport) with resident keys and user verification, so
// navigator.credentials.create/get in the page run a real ceremony with a real
// key pair inside the browser, with no dialog.
//
// One authenticator belongs to one page (CDP session); it survives
// navigations of that page. Use http://localhost:PORT pages: an IP address
// cannot be an RP ID.
import fs from 'node:fs';
import path from 'node:path';

import { SHOTS } from './bank.mjs';

// Adds an authenticator to `page`. `options` override the defaults (e.g.
// {isUserVerified: false}, {hasUserVerification: false},
// {defaultBackupEligibility: true} for a synced-passkey lookalike).
// Resolves {id, cdp, credentials(), setUserVerified(bool), remove()}.
export async function addAuthenticator(context, page, options = {}) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
      ...options,
    },
  });
  return {
    id: authenticatorId,
    cdp,
    // The credentials the authenticator holds (CDP Credential objects:
    // credentialId, isResidentCredential, rpId, userHandle, signCount, ...).
    async credentials() {
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      return credentials;
    },
    // Whether the next ceremonies succeed at user verification.
    async setUserVerified(isUserVerified) {
      await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified });
    },
    // Makes the next answers lie (CDP setResponseOverrideBits): {isBadUV}
    // clears the UV flag, {isBadUP} the UP flag, {isBogusSignature} breaks the
    // signature. {} turns the lies off.
    async overrideResponse(bits) {
      await cdp.send('WebAuthn.setResponseOverrideBits', {
        authenticatorId,
        isBogusSignature: !!bits.isBogusSignature,
        isBadUV: !!bits.isBadUV,
        isBadUP: !!bits.isBadUP,
      });
    },
    async remove() {
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    },
  };
}

// On /account: names and adds a security key or passkey with the page's
// "Add a security key or passkey" form; resolves the new factor's list item
// text once the list shows one more webauthn factor.
export async function addKeyOnAccount(page, name) {
  await page.locator('#add-webauthn').waitFor({ state: 'visible' });
  const before = await page.locator('#factors-list li[data-type="webauthn"]').count();
  if (name !== undefined) await page.fill('#webauthn-name', name);
  await page.click('#add-webauthn');
  await page.waitForFunction(
    (n) => document.querySelectorAll('#factors-list li[data-type="webauthn"]').length > n, before);
  await page.waitForFunction(() => /is added/.test(document.getElementById('status').textContent));
  return (await page.locator('#factors-list li[data-type="webauthn"]').last().textContent()).trim();
}

// Calls the JSON API from the page (same origin, the page's session cookie).
export async function pageApi(page, method, apiPath, body) {
  return page.evaluate(async ([m, p, b]) => {
    const init = { method: m, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (b !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(b);
    }
    const res = await fetch(p, init);
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = text; }
    return { status: res.status, data };
  }, [method, apiPath, body]);
}

// Saves a screenshot as test-output/browser/webauthn-<name>.png.
export async function shotWa(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `webauthn-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
