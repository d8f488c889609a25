// Attack catalogue, cross-site: a state-changing request authenticated by a
// valid session cookie but with a foreign or missing Origin is refused with
// 403 cross_origin_request and changes nothing; hosted pages cannot be framed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, startServer } from '../integration/lib/server.mjs';
import { Browser, stepUpConfig } from '../integration/lib/stepup.mjs';
import { assertContractError } from './lib/attack.mjs';

let srv;
before(async () => { srv = await startServer(stepUpConfig, { users: ['alice', 'bob'] }); });
after(async () => { await srv?.stop(); });

// Origins an attacker's page could send, with the server at http://localhost:PORT.
function foreignOrigins() {
  const p = srv.port;
  return [
    'https://evil.example', 'null', `http://localhost:${p + 1}`, `https://localhost:${p}`,
    `http://localhost:${p}.evil.example`, `http://evil.example#http://localhost:${p}`, `http://127.0.0.1:${p}`,
    `http://localhost.evil.example:${p}`,
  ];
}

// The state changes a cookie can authorize, each with a body that would be
// valid from our own origin.
const kChanges = {
  'POST /api/v1/logout': { method: 'POST', path: () => '/api/v1/logout', json: {} },
  'POST /api/v1/step-up': { method: 'POST', path: () => '/api/v1/step-up', json: { acr_values: 'aal2' } },
  'DELETE /api/v1/sessions/x': { method: 'DELETE', path: (b) => `/api/v1/sessions/${b.session.id}` },
  'POST /api/v1/factors/totp': { method: 'POST', path: () => '/api/v1/factors/totp', json: { name: 'evil' } },
  'POST /api/v1/factors/recovery-codes': { method: 'POST', path: () => '/api/v1/factors/recovery-codes', json: {} },
};

async function stillAlive(b, what) {
  const r = await request(srv, 'GET', '/api/v1/session', { cookie: b.cookie });
  assert.equal(r.status, 200, `${what}: the session is untouched: ${r.text}`);
}

for (const [name, c] of Object.entries(kChanges)) {
  test(`${name} with a valid cookie and a foreign Origin -> 403 cross_origin_request`, async () => {
    const b = await Browser.login(srv, 'alice');
    for (const origin of foreignOrigins()) {
      const r = await request(srv, c.method, c.path(b), { cookie: b.cookie, origin, json: c.json });
      assertContractError(r, 403, 'cross_origin_request', `${name} Origin ${origin}`);
    }
    await stillAlive(b, name);
  });

  test(`${name} with a valid cookie and no Origin -> 403 cross_origin_request`, async () => {
    const b = await Browser.login(srv, 'alice');
    const r = await request(srv, c.method, c.path(b), { cookie: b.cookie, json: c.json });
    assertContractError(r, 403, 'cross_origin_request', `${name} without Origin`);
    for (const site of ['cross-site', 'same-site', 'none']) {
      const s = await request(srv, c.method, c.path(b), { cookie: b.cookie, json: c.json, headers: { 'sec-fetch-site': site } });
      assertContractError(s, 403, 'cross_origin_request', `${name} Sec-Fetch-Site: ${site}`);
    }
    await stillAlive(b, name);
  });
}

test('a foreign Origin with Sec-Fetch-Site: same-origin is still refused (Origin wins)', async () => {
  const b = await Browser.login(srv, 'alice');
  const r = await request(srv, 'POST', '/api/v1/logout',
                          { cookie: b.cookie, origin: 'https://evil.example', headers: { 'sec-fetch-site': 'same-origin' }, json: {} });
  assertContractError(r, 403, 'cross_origin_request', 'forged Sec-Fetch-Site next to a foreign Origin');
  await stillAlive(b, 'logout');
});

test('control: the same logout from our own Origin succeeds', async () => {
  const b = await Browser.login(srv, 'alice');
  const r = await request(srv, 'POST', '/api/v1/logout', { cookie: b.cookie, origin: true, json: {} });
  assert.equal(r.status, 200, r.text);
  assert.equal((await request(srv, 'GET', '/api/v1/session', { cookie: b.cookie })).status, 401);
});

test('a form-encoded cross-site POST (what an HTML form can send) is refused', async () => {
  const b = await Browser.login(srv, 'alice');
  const r = await request(srv, 'POST', '/api/v1/step-up', {
    cookie: b.cookie, origin: 'https://evil.example', body: 'acr_values=aal2',
    contentType: 'application/x-www-form-urlencoded',
  });
  assert.equal(r.status, 403, r.text);
  await stillAlive(b, 'form post');
});

// ---------------------------------------------------------------- framing

for (const page of ['/login', '/step-up', '/account']) {
  test(`GET ${page} cannot be framed: X-Frame-Options DENY and CSP frame-ancestors 'none'`, async (t) => {
    const r = await request(srv, 'GET', page, { headers: { accept: 'text/html' } });
    if (r.status === 404) {
      t.todo(`${page} is not served yet`);
      return;
    }
    assert.equal(r.status, 200, `${page}: ${r.text.slice(0, 200)}`);
    assert.equal((r.headers.get('x-frame-options') ?? '').toUpperCase(), 'DENY', `${page} X-Frame-Options`);
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.match(csp, /frame-ancestors 'none'/, `${page} CSP: ${csp}`);
  });
}
