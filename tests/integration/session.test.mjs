// Sessions: GET /api/v1/session(s), DELETE /api/v1/sessions/{id}, logout and
// the cross-origin rule for cookie-authenticated state changes (docs/api.md).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mustLogin, request, startServer } from './lib/server.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

const refresh = (token) => request(srv, 'POST', '/api/v1/token/refresh', { json: { refresh_token: token } });

function assertSessionObject(body, login) {
  const s = login.json.session;
  assert.equal(body.id, s.id);
  assert.equal(body.subject, s.subject);
  assert.equal(body.acr, 'aal1');
  assert.deepEqual(body.amr, ['pwd']);
  assert.equal(body.auth_time, s.auth_time);
  assert.equal(body.elevated_until, null);
  assert.equal(typeof body.expires_at, 'number');
  assert.equal(typeof body.idle_expires_at, 'number');
  assert.ok(Array.isArray(body.factors), `factors is a list: ${JSON.stringify(body)}`);
  const pwd = body.factors.find((f) => f.type === 'password');
  if (pwd) {
    for (const k of ['id', 'type', 'name', 'created_at', 'last_used_at']) assert.ok(k in pwd, `factor.${k}`);
  }
}

test('GET /api/v1/session with the cookie', async () => {
  const l = await mustLogin(srv, 'alice');
  const r = await request(srv, 'GET', '/api/v1/session', { cookie: l.cookie });
  assert.equal(r.status, 200, r.text);
  assertSessionObject(r.json, l);
});

test('GET /api/v1/session with a Bearer token', async () => {
  const l = await mustLogin(srv, 'alice');
  const r = await request(srv, 'GET', '/api/v1/session', { bearer: l.access_token });
  assert.equal(r.status, 200, r.text);
  assertSessionObject(r.json, l);
});

test('GET /api/v1/session without a credential or with a bad one is 401', async () => {
  for (const opts of [{}, { cookie: 'x'.repeat(43) }, { bearer: 'not.a.token' }]) {
    const r = await request(srv, 'GET', '/api/v1/session', opts);
    assert.equal(r.status, 401, `${JSON.stringify(opts)}: ${r.text}`);
    assert.equal(r.json?.error, 'invalid_token', r.text);
  }
});

test('GET /api/v1/sessions lists both sessions of a user, newest first, with current flags', async () => {
  const a = await mustLogin(srv, 'bob');
  const b = await mustLogin(srv, 'bob');
  const r = await request(srv, 'GET', '/api/v1/sessions', { bearer: a.access_token });
  assert.equal(r.status, 200, r.text);
  const list = r.json.sessions;
  assert.ok(Array.isArray(list));
  const ids = list.map((s) => s.id);
  assert.ok(ids.includes(a.json.session.id), `has session A: ${r.text}`);
  assert.ok(ids.includes(b.json.session.id), `has session B: ${r.text}`);
  for (const s of list) {
    for (const k of ['id', 'current', 'created_at', 'last_seen_at', 'expires_at', 'acr', 'ip', 'user_agent']) {
      assert.ok(k in s, `sessions[].${k} in ${JSON.stringify(s)}`);
    }
    assert.equal(s.current, s.id === a.json.session.id, `current flag of ${s.id}`);
  }
  for (let i = 1; i < list.length; i++) {
    assert.ok(list[i - 1].created_at >= list[i].created_at, 'newest first');
  }
  // Seen from B, B is current.
  const rb = await request(srv, 'GET', '/api/v1/sessions', { cookie: b.cookie });
  assert.equal(rb.status, 200, rb.text);
  assert.deepEqual(rb.json.sessions.filter((s) => s.current).map((s) => s.id), [b.json.session.id]);
  // Other users' sessions are not listed.
  const c = await mustLogin(srv, 'carol');
  assert.ok(!ids.includes(c.json.session.id));
  const rc = await request(srv, 'GET', '/api/v1/sessions', { bearer: c.access_token });
  assert.ok(!rc.json.sessions.some((s) => s.id === a.json.session.id), 'no cross-user listing');
});

test('DELETE /api/v1/sessions/{other id} revokes that session: cookie and refresh token die', async () => {
  const a = await mustLogin(srv, 'dave');
  const b = await mustLogin(srv, 'dave');
  const del = await request(srv, 'DELETE', `/api/v1/sessions/${encodeURIComponent(b.json.session.id)}`,
                            { bearer: a.access_token });
  assert.equal(del.status, 200, del.text);
  assert.deepEqual(del.json, { revoked: b.json.session.id });
  const viaCookie = await request(srv, 'GET', '/api/v1/session', { cookie: b.cookie });
  assert.equal(viaCookie.status, 401, viaCookie.text);
  const viaRefresh = await refresh(b.refresh_token);
  assert.equal(viaRefresh.status, 401, viaRefresh.text);
  assert.equal(viaRefresh.json?.error, 'invalid_refresh_token');
  // A itself is untouched.
  const stillA = await request(srv, 'GET', '/api/v1/session', { cookie: a.cookie });
  assert.equal(stillA.status, 200, stillA.text);
  const list = await request(srv, 'GET', '/api/v1/sessions', { bearer: a.access_token });
  assert.ok(!list.json.sessions.some((s) => s.id === b.json.session.id), 'B is no longer listed');
});

test("deleting someone else's session is 404 not_found and leaves it alive", async () => {
  const mine = await mustLogin(srv, 'alice');
  const theirs = await mustLogin(srv, 'erin');
  const r = await request(srv, 'DELETE', `/api/v1/sessions/${encodeURIComponent(theirs.json.session.id)}`,
                          { bearer: mine.access_token });
  assert.equal(r.status, 404, r.text);
  assert.equal(r.json?.error, 'not_found');
  const still = await request(srv, 'GET', '/api/v1/session', { cookie: theirs.cookie });
  assert.equal(still.status, 200, still.text);
  const unknown = await request(srv, 'DELETE', '/api/v1/sessions/no-such-session', { bearer: mine.access_token });
  assert.equal(unknown.status, 404, unknown.text);
});

test('logout with Bearer: the cookie and refresh token of that session stop working', async () => {
  const l = await mustLogin(srv, 'alice');
  const out = await request(srv, 'POST', '/api/v1/logout', { bearer: l.access_token });
  assert.equal(out.status, 200, out.text);
  assert.deepEqual(out.json, { logged_out: true });
  const viaCookie = await request(srv, 'GET', '/api/v1/session', { cookie: l.cookie });
  assert.equal(viaCookie.status, 401, viaCookie.text);
  const viaRefresh = await refresh(l.refresh_token);
  assert.equal(viaRefresh.status, 401, viaRefresh.text);
  assert.equal(viaRefresh.json?.error, 'invalid_refresh_token');
});

test('cookie-authenticated logout without Origin is 403 cross_origin_request', async () => {
  const l = await mustLogin(srv, 'alice');
  const r = await request(srv, 'POST', '/api/v1/logout', { cookie: l.cookie });
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json?.error, 'cross_origin_request');
  const foreign = await request(srv, 'POST', '/api/v1/logout', { cookie: l.cookie, origin: 'http://evil.example' });
  assert.equal(foreign.status, 403, foreign.text);
  assert.equal(foreign.json?.error, 'cross_origin_request');
  // The refused request did not log out.
  const still = await request(srv, 'GET', '/api/v1/session', { cookie: l.cookie });
  assert.equal(still.status, 200, still.text);
});

test('cookie-authenticated logout with the public Origin is 200 and clears the cookie', async () => {
  const l = await mustLogin(srv, 'alice');
  const r = await request(srv, 'POST', '/api/v1/logout', {
    cookie: l.cookie, headers: { origin: `http://localhost:${srv.port}` },
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { logged_out: true });
  assert.ok(r.setCookie, `the cookie is cleared: ${JSON.stringify(r.setCookies)}`);
  assert.match(r.setCookie, /max-age=0|expires=/i);
  const after = await request(srv, 'GET', '/api/v1/session', { cookie: l.cookie });
  assert.equal(after.status, 401, after.text);
});

test('cookie-authenticated DELETE with Sec-Fetch-Site: same-origin passes the origin check', async () => {
  const a = await mustLogin(srv, 'carol');
  const b = await mustLogin(srv, 'carol');
  const path = `/api/v1/sessions/${encodeURIComponent(b.json.session.id)}`;
  const refused = await request(srv, 'DELETE', path, { cookie: a.cookie });
  assert.equal(refused.status, 403, refused.text);
  assert.equal(refused.json?.error, 'cross_origin_request');
  const ok = await request(srv, 'DELETE', path, { cookie: a.cookie, headers: { 'sec-fetch-site': 'same-origin' } });
  assert.equal(ok.status, 200, ok.text);
});
