// Attack catalogue, refresh tokens: a stolen refresh token replayed after the
// owner rotated it kills the whole session; refresh after logout or
// revocation fails; refresh cannot extend an elevation; parallel use of one
// token yields at most one new pair.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mustLogin, request, startServer } from '../integration/lib/server.mjs';
import { addTotp, Browser, stepUpConfig } from '../integration/lib/stepup.mjs';
import { assertContractError, sessionWithBearer, sleepUntil, split } from './lib/attack.mjs';

let srv;
before(async () => { srv = await startServer(stepUpConfig, { users: ['alice', 'bob', 'carol'] }); });
after(async () => { await srv?.stop(); });

const refresh = (t) => request(srv, 'POST', '/api/v1/token/refresh', { json: { refresh_token: t } });

test('reuse after rotation: 401 refresh_token_reused and the whole session is revoked', async () => {
  const l = await mustLogin(srv, 'alice');
  const r1 = await refresh(l.refresh_token);
  assert.equal(r1.status, 200, r1.text);
  assert.notEqual(r1.json.refresh_token, l.refresh_token, 'rotated');
  // The attacker replays the stolen original.
  assertContractError(await refresh(l.refresh_token), 401, 'refresh_token_reused', 'replayed refresh token');
  // Every credential of the session is dead, the legitimate new pair included.
  assert.equal((await refresh(r1.json.refresh_token)).status, 401, 'the new refresh token');
  assertContractError(await sessionWithBearer(srv, r1.json.access_token), 401, 'invalid_token', 'the new access token');
  assertContractError(await sessionWithBearer(srv, l.access_token), 401, 'invalid_token', 'the old access token');
  assertContractError(await request(srv, 'GET', '/api/v1/session', { cookie: l.cookie }), 401, 'invalid_token', 'the cookie');
});

test('reuse of a token two rotations back is detected too', async () => {
  const l = await mustLogin(srv, 'alice');
  const r1 = await refresh(l.refresh_token);
  const r2 = await refresh(r1.json.refresh_token);
  assert.equal(r2.status, 200, r2.text);
  assertContractError(await refresh(l.refresh_token), 401, 'refresh_token_reused', 'generation 0 after 2 rotations');
  assert.equal((await refresh(r2.json.refresh_token)).status, 401, 'the latest token dies with the session');
});

test('parallel use of one refresh token yields at most one new pair', async () => {
  const l = await mustLogin(srv, 'bob');
  const answers = await Promise.all(Array.from({ length: 6 }, () => refresh(l.refresh_token)));
  const ok = answers.filter((r) => r.status === 200);
  assert.ok(ok.length <= 1, `successes: ${ok.length}; ${answers.map((r) => r.status).join(',')}`);
  for (const r of answers.filter((x) => x.status !== 200)) {
    assert.equal(r.status, 401, r.text);
    assert.ok(['refresh_token_reused', 'invalid_refresh_token'].includes(r.json?.error), r.text);
  }
});

test('refresh after logout -> 401 invalid_refresh_token', async () => {
  const b = await Browser.login(srv, 'alice');
  assert.equal((await b.post('/api/v1/logout')).status, 200);
  assertContractError(await refresh(b.refreshToken), 401, 'invalid_refresh_token', 'refresh after logout');
});

test('refresh after the session was revoked by the CLI -> 401', async () => {
  const l = await mustLogin(srv, 'alice');
  const r = await srv.cli(['session', 'revoke', l.json.session.id]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assertContractError(await refresh(l.refresh_token), 401, 'invalid_refresh_token', 'refresh after session revoke');
});

test('garbage, edited and cross-type refresh tokens are refused', async () => {
  const l = await mustLogin(srv, 'bob');
  const t = l.refresh_token;
  const edited = t.slice(0, -1) + (t.at(-1) === 'A' ? 'B' : 'A');
  for (const bad of [edited, t + 'x', t.slice(0, t.length - 4), l.access_token, l.cookie, 'A'.repeat(43), "' OR 1=1 --"]) {
    assertContractError(await refresh(bad), 401, 'invalid_refresh_token', `refresh_token ${bad.slice(0, 20)}...`);
  }
  assert.equal((await refresh(t)).status, 200, 'the genuine one still works (no false reuse)');
});

test('a refreshed token keeps the subject and session of its refresh token', async () => {
  const a = await mustLogin(srv, 'alice');
  const r = await refresh(a.refresh_token);
  assert.equal(r.status, 200);
  assert.equal(split(r.json.access_token).payload.sub, 'alice', 'the refreshed token keeps its subject');
  assert.equal(split(r.json.access_token).payload.sid, a.json.session.id, 'and its session');
});

test('refresh cannot extend an elevation: after elevated_until the new token is aal1', async () => {
  const s = await startServer({ ...stepUpConfig, levels: { aal2: { elevation: '3s' } }, tokens: { access_ttl: '1h' } },
                              { users: ['carol'] });
  try {
    const { secret } = await addTotp(s, 'carol');
    const b = await Browser.login(s, 'carol');
    const v = await b.stepUpTotp(secret);
    const during = await request(s, 'POST', '/api/v1/token/refresh', { json: { refresh_token: b.refreshToken } });
    assert.equal(during.status, 200, during.text);
    const d = split(during.json.access_token).payload;
    assert.equal(d.acr, 'aal2');
    assert.ok(d.exp <= v.json.elevated_until, `a refreshed aal2 token is capped too: exp ${d.exp} <= ${v.json.elevated_until}`);
    await sleepUntil(v.json.elevated_until, 1200);
    const afterIt = await request(s, 'POST', '/api/v1/token/refresh', { json: { refresh_token: during.json.refresh_token } });
    assert.equal(afterIt.status, 200, afterIt.text);
    assert.equal(split(afterIt.json.access_token).payload.acr, 'aal1', 'back to the base level');
  } finally {
    await s.stop();
  }
});
