// The nginx layer of the demo, without a browser: what nginx does with
// stepup's auth-request answers (redirects for pages, 401 + WWW-Authenticate
// for the JSON API, identity headers for the app, nothing forged passes).
// Requests go to the nginx origin exactly as a browser's would.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { createUser, sleep, startBank } from './lib/bank.mjs';

let bank;
before(async () => { bank = await startBank(); });
after(async () => { await bank?.stop(); });

const COOKIE = 'stepup_session';

async function req(method, path, { cookie, headers = {}, json, form } = {}) {
  const h = { ...headers };
  let body;
  if (cookie) h.cookie = `${COOKIE}=${cookie}`;
  if (json !== undefined) { body = JSON.stringify(json); h['content-type'] = 'application/json'; }
  if (form !== undefined) { body = new URLSearchParams(form).toString(); h['content-type'] = 'application/x-www-form-urlencoded'; }
  if (method !== 'GET' && method !== 'HEAD') h.origin ??= bank.origin;
  const res = await fetch(bank.url + path, { method, headers: h, body, redirect: 'manual', signal: AbortSignal.timeout(15000) });
  const text = await res.text();
  const set = res.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`));
  return { status: res.status, headers: res.headers, text, newCookie: set && set.slice(COOKIE.length + 1).split(';')[0] };
}

async function signIn(user) {
  const r = await req('POST', '/api/v1/login/password', { json: { username: user.username, password: user.password } });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.newCookie, 'sign-in sets the session cookie');
  return r.newCookie;
}

// Steps up over the API (what the hosted page does); returns the rotated cookie.
async function stepUp(user, cookie, returnTo) {
  const c = await req('POST', '/api/v1/step-up', { cookie, json: { acr_values: 'aal2', max_age: bank.transferMaxAgeSeconds, return_to: returnTo } });
  assert.equal(c.status, 200, c.text);
  const { challenge_id: id } = JSON.parse(c.text);
  const v = await req('POST', `/api/v1/step-up/${id}/verify`, { cookie, json: { method: 'totp', code: await user.totp.next() } });
  assert.equal(v.status, 200, v.text);
  assert.ok(v.newCookie, 'verify rotates the session cookie');
  return v.newCookie;
}

function location(r) {
  const loc = r.headers.get('location');
  assert.ok(loc, `expected a Location header, got ${r.status} ${r.text.slice(0, 200)}`);
  return new URL(loc, bank.url);
}

describe('signed out', () => {
  test('a bank page redirects to the hosted login with return_to', async () => {
    const r = await req('GET', '/accounts');
    assert.equal(r.status, 303);
    const to = location(r);
    assert.equal(to.origin, bank.origin);
    assert.equal(to.pathname, '/login');
    assert.equal(to.searchParams.get('return_to'), '/accounts');
    assert.equal(r.headers.get('cache-control'), 'no-store');
  });

  test('a return_to with a query that nginx cannot encode is cut to its path', async () => {
    const plain = location(await req('GET', '/transfer?payee=carol'));
    assert.equal(plain.searchParams.get('return_to'), '/transfer?payee=carol');
    const amp = location(await req('GET', '/transfer?payee=carol&amount=5'));
    assert.equal(amp.searchParams.get('return_to'), '/transfer');
    assert.equal(amp.searchParams.get('amount'), null, 'no parameter smuggled into the login URL');
  });

  test('the JSON API gets 401 invalid_token, not a redirect', async () => {
    const r = await req('GET', '/api/bank/accounts');
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    assert.deepEqual(JSON.parse(r.text), { error: 'invalid_token' });
  });

  test('forged identity headers do not get a request through', async () => {
    const r = await req('GET', '/accounts', { headers: { 'x-stepup-subject': 'mallory', 'x-stepup-acr': 'aal2' } });
    assert.equal(r.status, 303);
  });

  test("stepup's own endpoints pass through nginx without auth_request", async () => {
    const jwks = await req('GET', '/.well-known/jwks.json');
    assert.equal(jwks.status, 200);
    assert.ok(JSON.parse(jwks.text).keys.length >= 1);
    const conf = JSON.parse((await req('GET', '/.well-known/stepup-configuration')).text);
    assert.equal(conf.issuer, bank.url);
  });

  test('the internal auth location cannot be requested from outside', async () => {
    const r = await req('GET', '/_stepup_auth');
    assert.equal(r.status, 404);
  });

  test('the app itself refuses requests that did not come through nginx', async () => {
    const r = await fetch(`http://127.0.0.1:${bank.state.ports.app}/accounts`,
      { headers: {}, redirect: 'manual' });
    assert.equal(r.status, 401);
    await r.arrayBuffer();
  });
});

describe('signed in', () => {
  test('aal1 pages are served with the identity from stepup; forged headers are replaced', async () => {
    const user = await createUser(bank, 'gw');
    const cookie = await signIn(user);
    const r = await req('GET', '/accounts', { cookie, headers: { 'x-stepup-subject': 'mallory', 'x-stepup-acr': 'aal3' } });
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.match(r.text, new RegExp(`<strong id="subject">${user.username}</strong>`));
    assert.match(r.text, /<strong id="acr">aal1<\/strong>/);
    assert.match(r.text, /<strong id="amr">pwd<\/strong>/);
    assert.doesNotMatch(r.text, /mallory|aal3/);
  });

  test('a transfer at aal1 redirects to step-up with level, max_age, reason and return_to', async () => {
    const user = await createUser(bank, 'gw', { totp: true });
    const cookie = await signIn(user);
    for (const method of ['GET', 'POST']) {
      const r = await req(method, '/transfer', { cookie, form: method === 'POST' ? { payee: 'x', amount: '1' } : undefined });
      assert.equal(r.status, 303, `${method} /transfer`);
      const to = location(r);
      assert.equal(to.pathname, '/step-up');
      assert.equal(to.searchParams.get('acr'), 'aal2');
      assert.equal(to.searchParams.get('max_age'), String(bank.transferMaxAgeSeconds));
      assert.equal(to.searchParams.get('reason'), 'Transfers to a new payee need a second factor');
      assert.equal(to.searchParams.get('return_to'), '/transfer');
    }
  });

  test('the JSON API gets the RFC 9470 challenge for stepup.js', async () => {
    const user = await createUser(bank, 'gw', { totp: true });
    const cookie = await signIn(user);
    const ok = await req('GET', '/api/bank/accounts', { cookie });
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.text).subject, user.username);
    const r = await req('POST', '/api/bank/transfer', { cookie, json: { payee: 'Carol', amount: '5' } });
    assert.equal(r.status, 401);
    const www = r.headers.get('www-authenticate') ?? '';
    assert.match(www, /^Bearer error="insufficient_user_authentication"/);
    assert.match(www, /acr_values="aal2"/);
    assert.match(www, new RegExp(`max_age="${bank.transferMaxAgeSeconds}"`));
    assert.match(www, /error_description="Transfers to a new payee need a second factor"/);
    assert.equal(JSON.parse(r.text).error, 'insufficient_user_authentication');
  });

  test('after a step-up the transfer goes through; after max_age it asks again', async () => {
    const user = await createUser(bank, 'gw', { totp: true });
    let cookie = await signIn(user);
    cookie = await stepUp(user, cookie, '/transfer');

    const form = await req('GET', '/transfer', { cookie });
    assert.equal(form.status, 200);
    assert.match(form.text, /<strong id="acr">aal2<\/strong>/);
    assert.match(form.text, /<strong id="amr">pwd,otp<\/strong>/);

    const done = await req('POST', '/transfer', { cookie, form: { payee: 'Carol', amount: '25.50' } });
    assert.equal(done.status, 200, done.text.slice(0, 300));
    assert.match(done.text, /Transfer T\d+ sent: €25\.50\s+to Carol/);

    const api = await req('POST', '/api/bank/transfer', { cookie, json: { payee: 'Dan', amount: '1' } });
    assert.equal(api.status, 200, `${api.text} ${[...api.headers].join(' ')}`);
    assert.equal(JSON.parse(api.text).acr, 'aal2');

    // A cross-site form post is refused by the app even with a valid session.
    const csrf = await req('POST', '/transfer', { cookie, headers: { origin: 'http://evil.example' }, form: { payee: 'Eve', amount: '1' } });
    assert.equal(csrf.status, 403);

    await sleep((bank.transferMaxAgeSeconds + 1) * 1000);
    const again = await req('GET', '/transfer', { cookie });
    assert.equal(again.status, 303);
    assert.equal(location(again).pathname, '/step-up');
    // ... while the elevation itself still holds for pages without max_age.
    const accounts = await req('GET', '/accounts', { cookie });
    assert.equal(accounts.status, 200);
    assert.match(accounts.text, /<strong id="acr">aal2<\/strong>/);
  });

  test('/admin needs aal2 and its own, shorter freshness', async () => {
    const user = await createUser(bank, 'gw', { totp: true });
    let cookie = await signIn(user);
    const before = location(await req('GET', '/admin', { cookie }));
    assert.equal(before.pathname, '/step-up');
    assert.equal(before.searchParams.get('max_age'), String(bank.adminMaxAgeSeconds));
    assert.equal(before.searchParams.get('return_to'), '/admin');
    cookie = await stepUp(user, cookie, '/admin');
    const r = await req('GET', '/admin', { cookie });
    assert.equal(r.status, 200);
    assert.match(r.text, /id="admin-transfers"/);
  });

  test('a signed-out session (logout) is sent to login again', async () => {
    const user = await createUser(bank, 'gw');
    const cookie = await signIn(user);
    assert.equal((await req('GET', '/accounts', { cookie })).status, 200);
    const out = await req('POST', '/api/v1/logout', { cookie });
    assert.equal(out.status, 200, out.text);
    const r = await req('GET', '/accounts', { cookie });
    assert.equal(r.status, 303);
    assert.equal(location(r).pathname, '/login');
  });
});
