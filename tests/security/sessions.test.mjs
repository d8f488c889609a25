// Attack catalogue, sessions: fixation, id rotation, server-side logout and
// revocation, cookie flags (incl. the __Host- prefix), idle and absolute
// timeouts. Timeouts use configs with a few seconds so lapses can be watched.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { login, mustLogin, request, startServer } from '../integration/lib/server.mjs';
import { addTotp, Browser, forward, stepUpConfig } from '../integration/lib/stepup.mjs';
import { assertContractError, sessionWithBearer, sleep } from './lib/attack.mjs';

let srv;
before(async () => { srv = await startServer(stepUpConfig, { users: ['alice', 'bob', 'carol'] }); });
after(async () => { await srv?.stop(); });

const withCookie = (s, cookie) => request(s, 'GET', '/api/v1/session', { cookie });
const refreshWith = (s, refreshToken) => request(s, 'POST', '/api/v1/token/refresh', { json: { refresh_token: refreshToken } });
const cookieAttrs = (setCookie) => setCookie.split(';').slice(1).map((a) => a.trim());

test('fixation: a cookie planted before sign-in is not adopted and never authenticates', async () => {
  const planted = crypto.randomBytes(32).toString('base64url');
  const r = await login(srv, 'alice', undefined, { cookie: planted });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.cookie && r.cookie !== planted, `a fresh id is set, not the planted one: ${r.setCookie}`);
  const attacker = await withCookie(srv, planted);
  assertContractError(attacker, 401, 'invalid_token', 'the planted id after the victim signed in');
  assert.equal((await withCookie(srv, r.cookie)).status, 200);
});

test("fixation: the attacker's own live session id, planted in the victim's browser, stays the attacker's", async () => {
  const attacker = await mustLogin(srv, 'bob');
  const victim = await login(srv, 'alice', undefined, { cookie: attacker.cookie });
  assert.equal(victim.status, 200, victim.text);
  assert.notEqual(victim.cookie, attacker.cookie, 'the victim gets a new id');
  const a = await withCookie(srv, attacker.cookie);
  assert.equal(a.status, 200, a.text);
  assert.equal(a.json.subject, 'bob', "the planted id never becomes alice's session");
  const v = await withCookie(srv, victim.cookie);
  assert.equal(v.json.subject, 'alice');
});

test('the session id is new at every sign-in and is a 256-bit random value, not the public id', async () => {
  const seen = new Set();
  for (let i = 0; i < 5; i++) {
    const r = await mustLogin(srv, 'alice');
    assert.ok(!seen.has(r.cookie), 'distinct cookie per sign-in');
    seen.add(r.cookie);
    assert.ok(Buffer.from(r.cookie, 'base64url').length >= 32 || /^[0-9a-f]{64,}$/.test(r.cookie),
              `at least 256 bits: ${r.cookie}`);
    assert.notEqual(r.cookie, r.json.session.id, 'the cookie is not the public session id');
    assertContractError(await withCookie(srv, r.json.session.id), 401, 'invalid_token', 'public id as cookie');
  }
});

test('a cookie value with one character changed is refused', async () => {
  const r = await mustLogin(srv, 'alice');
  const last = r.cookie.at(-1);
  const tampered = r.cookie.slice(0, -1) + (last === 'A' ? 'B' : 'A');
  assertContractError(await withCookie(srv, tampered), 401, 'invalid_token', 'tampered cookie');
  assertContractError(await withCookie(srv, r.cookie + 'A'), 401, 'invalid_token', 'extended cookie');
  assertContractError(await withCookie(srv, 'A'.repeat(5000)), 401, 'invalid_token', 'huge cookie');
});

test('step-up rotates the id at every step-up and each old id is dead at once', async () => {
  const { secret } = await addTotp(srv, 'carol');
  const b = await Browser.login(srv, 'carol');
  const ids = [b.cookie];
  for (let i = 0; i < 2; i++) {
    await b.stepUpTotp(secret);
    assert.ok(!ids.includes(b.cookie), `step-up #${i + 1} sets a new id`);
    ids.push(b.cookie);
  }
  for (const old of ids.slice(0, -1)) {
    assertContractError(await withCookie(srv, old), 401, 'invalid_token', 'an id from before a step-up');
    assert.equal((await forward(srv, { uri: '/dashboard', cookie: old })).status, 401, 'forward-auth with an old id');
  }
  const cur = await withCookie(srv, b.cookie);
  assert.equal(cur.status, 200);
  assert.equal(cur.json.acr, 'aal2');
});

test('logout is server-side: the saved cookie, access token and refresh token all die', async () => {
  const b = await Browser.login(srv, 'alice');
  const saved = { cookie: b.cookie, access: b.accessToken, refresh: b.refreshToken };
  const out = await b.post('/api/v1/logout');
  assert.equal(out.status, 200, out.text);
  assert.equal(out.json.logged_out, true);
  assert.ok(out.setCookie && /max-age=0/i.test(out.setCookie), `the cookie is cleared: ${out.setCookie}`);
  assertContractError(await withCookie(srv, saved.cookie), 401, 'invalid_token', 'cookie replayed after logout');
  assertContractError(await sessionWithBearer(srv, saved.access), 401, 'invalid_token', 'token after logout');
  assert.equal((await forward(srv, { uri: '/dashboard', bearer: saved.access })).status, 401);
  assert.equal((await refreshWith(srv, saved.refresh)).status, 401, 'refresh after logout');
});

test('DELETE /api/v1/sessions/{id} is server-side: the revoked session is dead on every credential', async () => {
  const victim = await mustLogin(srv, 'alice');
  const me = await Browser.login(srv, 'alice');
  const del = await me.del(`/api/v1/sessions/${encodeURIComponent(victim.json.session.id)}`);
  assert.equal(del.status, 200, del.text);
  assertContractError(await withCookie(srv, victim.cookie), 401, 'invalid_token', 'revoked cookie');
  assertContractError(await sessionWithBearer(srv, victim.access_token), 401, 'invalid_token', 'revoked token');
  assert.equal((await refreshWith(srv, victim.refresh_token)).status, 401, 'revoked refresh token');
  assert.equal((await me.get('/api/v1/session')).status, 200, 'the acting session lives');
});

test("another user's session cannot be revoked (404) and stays alive", async () => {
  const victim = await mustLogin(srv, 'bob');
  const attacker = await Browser.login(srv, 'alice');
  const del = await attacker.del(`/api/v1/sessions/${encodeURIComponent(victim.json.session.id)}`);
  assertContractError(del, 404, 'not_found', "bob's session revoked by alice");
  assert.equal((await withCookie(srv, victim.cookie)).status, 200, "bob's session is untouched");
});

test('cookie flags (cookie.secure false): HttpOnly, SameSite=Lax, Path=/, no Domain, no Secure', async () => {
  const r = await mustLogin(srv, 'alice');
  const attrs = cookieAttrs(r.setCookie).map((a) => a.toLowerCase());
  assert.ok(r.setCookie.startsWith('stepup_session='), r.setCookie);
  assert.ok(attrs.includes('httponly'), r.setCookie);
  assert.ok(attrs.includes('samesite=lax'), r.setCookie);
  assert.ok(attrs.includes('path=/'), r.setCookie);
  assert.ok(!attrs.some((a) => a.startsWith('domain=')), `no Domain: ${r.setCookie}`);
  assert.ok(!attrs.includes('secure'), r.setCookie);
});

test('cookie flags (cookie.secure true): __Host- prefix, Secure, HttpOnly, Path=/, no Domain', async () => {
  const s = await startServer({ cookie: { secure: true } }, { users: ['alice'] });
  s.cookieName = '__Host-stepup_session';
  try {
    const r = await login(s, 'alice');
    assert.equal(r.status, 200, r.text);
    assert.ok(r.setCookie, `a __Host- cookie is set: ${JSON.stringify(r.setCookies)}`);
    const attrs = cookieAttrs(r.setCookie).map((a) => a.toLowerCase());
    for (const want of ['secure', 'httponly', 'path=/']) assert.ok(attrs.includes(want), `${want}: ${r.setCookie}`);
    assert.ok(attrs.some((a) => a === 'samesite=lax' || a === 'samesite=strict'), r.setCookie);
    assert.ok(!attrs.some((a) => a.startsWith('domain=')), `__Host- forbids Domain: ${r.setCookie}`);
    assert.equal((await withCookie(s, r.cookie)).status, 200, 'the __Host- cookie authenticates');
    // The unprefixed name (settable by a sibling subdomain or over http) is ignored.
    const plain = await request(s, 'GET', '/api/v1/session', { headers: { cookie: `stepup_session=${r.cookie}` } });
    assertContractError(plain, 401, 'invalid_token', 'unprefixed cookie name');
    const out = await request(s, 'POST', '/api/v1/logout', { cookie: r.cookie, origin: true });
    assert.equal(out.status, 200, out.text);
    assert.ok(out.setCookie && /;\s*secure/i.test(out.setCookie) && /max-age=0/i.test(out.setCookie),
              `the clearing cookie keeps the prefix rules: ${out.setCookie}`);
  } finally {
    await s.stop();
  }
});

test('idle timeout (2 s): an unused session dies server-side', async () => {
  const s = await startServer({ sessions: { idle_timeout: '2s', absolute_timeout: '1h' } }, { users: ['alice'] });
  try {
    const r = await mustLogin(s, 'alice');
    assert.ok(r.json.session.idle_expires_at <= Math.ceil(Date.now() / 1000) + 3, JSON.stringify(r.json.session));
    assert.equal((await withCookie(s, r.cookie)).status, 200, 'fresh');
    await sleep(3500);
    assertContractError(await withCookie(s, r.cookie), 401, 'invalid_token', 'after 3.5 s idle');
    const again = await mustLogin(s, 'alice');
    assert.equal((await withCookie(s, again.cookie)).status, 200, 'a new sign-in works');
  } finally {
    await s.stop();
  }
});

test('absolute timeout (3 s): a session in constant use still ends, on cookie, token and refresh', async () => {
  const s = await startServer({ sessions: { idle_timeout: '1h', absolute_timeout: '3s' }, tokens: { access_ttl: '1h' } },
                              { users: ['alice'] });
  try {
    const r = await mustLogin(s, 'alice');
    const end = r.json.session.expires_at;
    assert.ok(end <= Math.ceil(Date.now() / 1000) + 4, `expires_at ${end}`);
    // Keep it busy; activity must not extend the absolute limit.
    while (Date.now() / 1000 < end - 0.5) {
      assert.equal((await withCookie(s, r.cookie)).status, 200, 'in use before the limit');
      await sleep(400);
    }
    await sleep(Math.max(0, end * 1000 + 1200 - Date.now()));
    assertContractError(await withCookie(s, r.cookie), 401, 'invalid_token', 'cookie after the absolute limit');
    assertContractError(await sessionWithBearer(s, r.access_token), 401, 'invalid_token', 'token after the absolute limit');
    assert.equal((await refreshWith(s, r.refresh_token)).status, 401, 'refresh after the absolute limit');
  } finally {
    await s.stop();
  }
});

test('a refreshed token never outlives the session: exp <= expires_at', async () => {
  const s = await startServer({ sessions: { absolute_timeout: '5s' }, tokens: { access_ttl: '1h' } }, { users: ['alice'] });
  try {
    const r = await mustLogin(s, 'alice');
    const exp = (t) => JSON.parse(Buffer.from(t.split('.')[1], 'base64url')).exp;
    assert.ok(exp(r.access_token) <= r.json.session.expires_at, 'sign-in token');
    const f = await refreshWith(s, r.refresh_token);
    assert.equal(f.status, 200, f.text);
    assert.ok(exp(f.json.access_token) <= r.json.session.expires_at, 'refreshed token');
  } finally {
    await s.stop();
  }
});
