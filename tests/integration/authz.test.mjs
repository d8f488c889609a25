// Enforcement endpoints: forward-auth, nginx auth-request and authz/check,
// against the rules of the default test config (lib/server.mjs):
//   POST /payments/** aal2 max_age 5m (with a reason), /admin/** aal2 max_age 5m,
//   /public/** public, /blocked/** deny, /** aal1, default deny.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mustLogin, request, startServer } from './lib/server.mjs';

const kBrowserAccept = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
let srv;
let alice;  // a signed-in session (aal1)
before(async () => {
  srv = await startServer();
  alice = await mustLogin(srv, 'alice');
});
after(async () => { await srv?.stop(); });

// GET /api/v1/authz/forward with the facts of the original request.
function forward({ method = 'GET', uri = '/', proto = 'http', host, cookie, bearer, accept, headers = {} } = {}) {
  return request(srv, 'GET', '/api/v1/authz/forward', {
    cookie, bearer,
    headers: {
      'x-forwarded-method': method,
      'x-forwarded-proto': proto,
      'x-forwarded-host': host ?? `localhost:${srv.port}`,
      'x-forwarded-uri': uri,
      ...(accept ? { accept } : {}),
      ...headers,
    },
  });
}

function authRequest({ method = 'GET', uri = '/', cookie, bearer, accept } = {}) {
  return request(srv, 'GET', '/api/v1/authz/auth-request', {
    cookie, bearer,
    headers: { 'x-original-method': method, 'x-original-uri': uri, ...(accept ? { accept } : {}) },
  });
}

const check = (json, opts = {}) => request(srv, 'POST', '/api/v1/authz/check', { json, ...opts });

// acr_values may be a space-separated string (RFC 9470 style) or a list.
const acrValues = (v) => [].concat(v ?? []).join(' ').split(' ').filter(Boolean);

function assertIdentity(r) {
  assert.equal(r.headers.get('x-stepup-subject'), alice.json.session.subject);
  assert.equal(r.headers.get('x-stepup-acr'), 'aal1');
  assert.equal(r.headers.get('x-stepup-amr'), 'pwd');
  assert.equal(r.headers.get('x-stepup-session'), alice.json.session.id);
}

function assertInsufficient(r, { maxAge = '300', reason } = {}) {
  assert.equal(r.status, 401, r.text);
  const h = r.headers.get('www-authenticate') ?? '';
  assert.match(h, /^Bearer /, h);
  assert.ok(h.includes('error="insufficient_user_authentication"'), h);
  assert.ok(h.includes('acr_values="aal2"'), h);
  assert.ok(h.includes(`max_age="${maxAge}"`), h);
  assert.ok(h.includes('error_description="'), h);
  if (reason) assert.ok(h.includes(reason), `the rule reason is in error_description: ${h}`);
  assert.equal(r.headers.get('x-stepup-subject'), null, 'no identity headers on 401');
}

test('forward-auth: aal1 route with the cookie -> 200 with identity headers', async () => {
  const r = await forward({ uri: '/dashboard?tab=1', cookie: alice.cookie });
  assert.equal(r.status, 200, r.text);
  assertIdentity(r);
  assert.equal(r.text, '', 'empty body');
});

test('forward-auth: aal1 route with a Bearer token -> 200 with identity headers', async () => {
  const r = await forward({ uri: '/dashboard', bearer: alice.access_token });
  assert.equal(r.status, 200, r.text);
  assertIdentity(r);
});

test('forward-auth: no credential -> 401 invalid_token challenge with a JSON body', async () => {
  const r = await forward({ uri: '/dashboard' });
  assert.equal(r.status, 401, r.text);
  const h = r.headers.get('www-authenticate') ?? '';
  assert.match(h, /^Bearer /, h);
  assert.ok(h.includes('error="invalid_token"'), h);
  assert.equal(r.json?.error, 'invalid_token', r.text);
  assert.equal(r.headers.get('x-stepup-subject'), null);
});

test('forward-auth: a bad Bearer token or unknown cookie -> 401 invalid_token', async () => {
  const [h, p, s] = alice.access_token.split('.');
  const sig = Buffer.from(s, 'base64url');
  sig[5] ^= 0x80;
  for (const opts of [{ bearer: `${h}.${p}.${sig.toString('base64url')}` }, { cookie: 'Z'.repeat(43) }]) {
    const r = await forward({ uri: '/dashboard', ...opts });
    assert.equal(r.status, 401, `${JSON.stringify(opts)}: ${r.text}`);
    assert.ok((r.headers.get('www-authenticate') ?? '').includes('error="invalid_token"'));
  }
});

test('forward-auth: POST /payments/x at aal1 -> 401 insufficient_user_authentication (RFC 9470)', async () => {
  const r = await forward({ method: 'POST', uri: '/payments/x', cookie: alice.cookie });
  assertInsufficient(r, { reason: 'Payments need a second factor' });
  assert.equal(r.json?.error, 'insufficient_user_authentication', r.text);
  const viaBearer = await forward({ method: 'POST', uri: '/payments/x?amount=5', bearer: alice.access_token });
  assertInsufficient(viaBearer);
});

test('forward-auth: the payments rule is POST-only, GET /payments/x falls to aal1', async () => {
  const r = await forward({ method: 'GET', uri: '/payments/x', cookie: alice.cookie });
  assert.equal(r.status, 200, r.text);
});

test('forward-auth: /admin/** needs aal2 for any method', async () => {
  const r = await forward({ method: 'GET', uri: '/admin/users', bearer: alice.access_token });
  assertInsufficient(r);
});

test('forward-auth: /blocked/x -> 403 even with a session', async () => {
  for (const opts of [{ cookie: alice.cookie }, {}]) {
    const r = await forward({ uri: '/blocked/x', ...opts });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json?.error, 'access_denied', r.text);
  }
});

test('forward-auth: /public/x without a credential -> 200', async () => {
  const r = await forward({ uri: '/public/x' });
  assert.equal(r.status, 200, r.text);
  const q = await forward({ uri: '/public/x?next=/admin' });
  assert.equal(q.status, 200, 'the query string is ignored for matching');
});

test('forward-auth: the query string is ignored for matching', async () => {
  const r = await forward({ uri: '/blocked/x?public=/public/y', cookie: alice.cookie });
  assert.equal(r.status, 403, r.text);
});

test('forward-auth: a browser without a session is redirected to /login with return_to', async () => {
  const original = `http://localhost:${srv.port}/dashboard?tab=1`;
  const r = await forward({ uri: '/dashboard?tab=1', accept: kBrowserAccept });
  assert.equal(r.status, 302, r.text);
  const loc = new URL(r.headers.get('location'));
  assert.equal(`${loc.origin}${loc.pathname}`, `${srv.publicUrl}/login`);
  assert.equal(loc.searchParams.get('return_to'), original);
});

test('forward-auth: a browser with a session on an aal2 route is redirected to /step-up', async () => {
  const original = `http://localhost:${srv.port}/admin/users`;
  const r = await forward({ uri: '/admin/users', cookie: alice.cookie, accept: kBrowserAccept });
  assert.equal(r.status, 302, r.text);
  const loc = new URL(r.headers.get('location'));
  assert.equal(`${loc.origin}${loc.pathname}`, `${srv.publicUrl}/step-up`);
  assert.equal(loc.searchParams.get('acr'), 'aal2');
  assert.equal(loc.searchParams.get('max_age'), '300');
  assert.equal(loc.searchParams.get('return_to'), original);
});

test('forward-auth: a request with Authorization is not treated as a browser', async () => {
  const r = await forward({ uri: '/dashboard', bearer: 'not.a.token', accept: kBrowserAccept });
  assert.equal(r.status, 401, r.text);
  assert.equal(r.headers.get('location'), null);
});

test('auth-request: 200 / 401 / 403 with empty bodies and the RFC 9470 header', async () => {
  const cases = [
    { opts: { uri: '/dashboard', cookie: alice.cookie }, status: 200 },
    { opts: { uri: '/dashboard', bearer: alice.access_token }, status: 200 },
    { opts: { uri: '/public/x' }, status: 200 },
    { opts: { uri: '/dashboard' }, status: 401, challenge: 'error="invalid_token"' },
    { opts: { uri: '/dashboard', accept: kBrowserAccept }, status: 401, challenge: 'error="invalid_token"' },
    { opts: { method: 'POST', uri: '/payments/x', cookie: alice.cookie }, status: 401,
      challenge: 'error="insufficient_user_authentication"' },
    { opts: { uri: '/admin/x', cookie: alice.cookie, accept: kBrowserAccept }, status: 401,
      challenge: 'acr_values="aal2"' },
    { opts: { uri: '/blocked/x', cookie: alice.cookie }, status: 403 },
  ];
  for (const c of cases) {
    const r = await authRequest(c.opts);
    const what = JSON.stringify(c.opts);
    assert.equal(r.status, c.status, `${what}: ${r.text}`);
    assert.equal(r.text, '', `${what}: empty body`);
    assert.equal(r.headers.get('content-length'), '0', `${what}: Content-Length: 0`);
    if (c.challenge) {
      assert.ok((r.headers.get('www-authenticate') ?? '').includes(c.challenge),
                `${what}: ${r.headers.get('www-authenticate')}`);
    }
    if (c.status === 200 && (c.opts.cookie || c.opts.bearer)) assertIdentity(r);
  }
  const r = await authRequest({ method: 'POST', uri: '/payments/x', cookie: alice.cookie });
  assertInsufficient(r);
});

test('authz/check: allow, step_up, login and deny decisions', async () => {
  const allow = await check({ method: 'GET', path: '/dashboard' }, { bearer: alice.access_token });
  assert.equal(allow.status, 200, allow.text);
  assert.equal(allow.json.decision, 'allow');
  assert.equal(allow.json.subject, alice.json.session.subject);
  assert.equal(typeof allow.json.reason, 'string');

  const stepUp = await check({ method: 'POST', path: '/payments/x', host: 'shop.example' },
                             { bearer: alice.access_token });
  assert.equal(stepUp.status, 200, stepUp.text);
  assert.equal(stepUp.json.decision, 'step_up');
  assert.deepEqual(acrValues(stepUp.json.acr_values), ['aal2']);
  assert.equal(stepUp.json.max_age, 300);
  assert.equal(typeof stepUp.json.reason, 'string');

  const loginNeeded = await check({ method: 'GET', path: '/dashboard' });
  assert.equal(loginNeeded.status, 200, loginNeeded.text);
  assert.equal(loginNeeded.json.decision, 'login');

  const deny = await check({ method: 'GET', path: '/blocked/x' }, { bearer: alice.access_token });
  assert.equal(deny.status, 200, deny.text);
  assert.equal(deny.json.decision, 'deny');

  const pub = await check({ method: 'GET', path: '/public/x' });
  assert.equal(pub.status, 200, pub.text);
  assert.equal(pub.json.decision, 'allow');
});

test('authz/check: a malformed body is 400 invalid_request', async () => {
  for (const json of [{}, { method: 'GET' }, { method: 1, path: '/x' }]) {
    const r = await check(json, { bearer: alice.access_token });
    assert.equal(r.status, 400, `${JSON.stringify(json)}: ${r.text}`);
    assert.equal(r.json?.error, 'invalid_request');
  }
});

test("a revoked session's unexpired access token is refused by forward-auth", async () => {
  const l = await mustLogin(srv, 'bob');
  const before = await forward({ uri: '/dashboard', bearer: l.access_token });
  assert.equal(before.status, 200, before.text);
  const out = await request(srv, 'POST', '/api/v1/logout', { bearer: l.access_token });
  assert.equal(out.status, 200, out.text);
  const r = await forward({ uri: '/dashboard', bearer: l.access_token });
  assert.equal(r.status, 401, `revocation is honoured for Bearer too: ${r.text}`);
  assert.ok((r.headers.get('www-authenticate') ?? '').includes('error="invalid_token"'));
  const viaCheck = await check({ method: 'GET', path: '/dashboard' }, { bearer: l.access_token });
  assert.equal(viaCheck.json?.decision, 'login', viaCheck.text);
});
