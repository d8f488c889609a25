// Attack catalogue, step-up: challenges are single use, bound to the session
// that asked, and expire; factor changes need a fresh elevation; a rule's
// max_age is honoured to the second (checked at ~2 s and ~4 s of a 3 s rule,
// which is tight but does not depend on sub-second timing over HTTP).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, startServer } from '../integration/lib/server.mjs';
import {
  addTotp, addUser, assertInsufficient, Browser, forward, nextCode, stepUpConfig, wrongCode,
} from '../integration/lib/stepup.mjs';
import { assertContractError, nowSec, sleepUntil } from './lib/attack.mjs';

let srv;
before(async () => { srv = await startServer(stepUpConfig, { users: [] }); });
after(async () => { await srv?.stop(); });

let seq = 0;
async function member(prefix = 'm', s = srv) {
  const name = `${prefix}${++seq}`;
  const password = `cobalt-Willow-${50 + seq}-dune`;
  await addUser(s, name, password);
  const totp = await addTotp(s, name);
  return { name, password, totp, login: () => Browser.login(s, name, password) };
}

async function challenge(b, body) {
  const c = await b.requestStepUp(body);
  assert.equal(c.status, 200, c.text);
  return c.json.challenge_id;
}

test('a challenge answered once cannot be used again (400 invalid_challenge)', async () => {
  const u = await member('reuse');
  const b = await u.login();
  const id = await challenge(b);
  assert.equal((await b.verify(id, { method: 'totp', code: await nextCode(u.totp.secret) })).status, 200);
  assertContractError(await b.verify(id, { method: 'totp', code: await nextCode(u.totp.secret) }), 400, 'invalid_challenge',
                      'second answer');
});

test("a challenge cannot be answered from the same user's other session (404)", async () => {
  const u = await member('bound');
  const owner = await u.login();
  const thief = await u.login();
  const id = await challenge(owner);
  const code = await nextCode(u.totp.secret);
  assertContractError(await thief.verify(id, { method: 'totp', code }), 404, 'not_found', 'cookie of another session');
  const viaBearer = await request(srv, 'POST', `/api/v1/step-up/${id}/verify`,
                                  { bearer: thief.accessToken, json: { method: 'totp', code } });
  assertContractError(viaBearer, 404, 'not_found', 'Bearer of another session');
  assert.equal((await thief.get('/api/v1/session')).json.acr, 'aal1', 'the thief gained nothing');
  assert.equal((await owner.verify(id, { method: 'totp', code })).status, 200, 'the owner still can');
});

test("a challenge cannot be answered by another user's session (404), even with that user's valid code", async () => {
  const victim = await member('vict');
  const attacker = await member('att');
  const vb = await victim.login();
  const ab = await attacker.login();
  const id = await challenge(vb);
  const r = await ab.verify(id, { method: 'totp', code: await nextCode(attacker.totp.secret) });
  assertContractError(r, 404, 'not_found', "someone else's challenge");
  assert.equal((await vb.get('/api/v1/session')).json.acr, 'aal1');
});

test('a challenge of a logged-out session is dead', async () => {
  const u = await member('gone');
  const b = await u.login();
  const id = await challenge(b);
  assert.equal((await b.post('/api/v1/logout')).status, 200);
  const r = await request(srv, 'POST', `/api/v1/step-up/${id}/verify`,
                          { cookie: b.cookie, origin: true, json: { method: 'totp', code: await nextCode(u.totp.secret) } });
  assertContractError(r, 401, 'invalid_token', 'the session is gone');
  const again = await u.login();
  assertContractError(await again.verify(id, { method: 'totp', code: await nextCode(u.totp.secret) }), 404, 'not_found',
                      'a new session of the same user');
});

test('an expired challenge (challenge_ttl 2s) is refused with 400 invalid_challenge', async () => {
  const s = await startServer({ ...stepUpConfig, step_up: { challenge_ttl: '2s' } }, { users: [] });
  try {
    const u = await member('exp', s);
    const b = await u.login();
    const c = await b.requestStepUp();
    assert.equal(c.status, 200, c.text);
    assert.ok(c.json.expires_at <= nowSec() + 3, `expires_at ${c.json.expires_at}`);
    const code = await nextCode(u.totp.secret);
    await sleepUntil(c.json.expires_at, 1200);
    assertContractError(await b.verify(c.json.challenge_id, { method: 'totp', code }), 400, 'invalid_challenge', 'expired');
    assert.equal((await b.get('/api/v1/session')).json.acr, 'aal1');
  } finally {
    await s.stop();
  }
});

test('a wrong code does not burn the challenge for its owner', async () => {
  const u = await member('keep');
  const b = await u.login();
  const id = await challenge(b);
  assertContractError(await b.verify(id, { method: 'totp', code: await wrongCode(u.totp.secret) }), 401, 'invalid_code', 'wrong');
  assert.equal((await b.verify(id, { method: 'totp', code: await nextCode(u.totp.secret) })).status, 200);
});

// ---------------------------------------------------------------- factor changes

test('enrolling a factor without a fresh elevation -> 401 insufficient_user_authentication', async () => {
  const u = await member('enr');
  const b = await u.login();
  for (const path of ['/api/v1/factors/totp', '/api/v1/factors/recovery-codes']) {
    const r = await b.post(path, {});
    assertInsufficient(r, `POST ${path} at aal1`);
    assertContractError(r, 401, 'insufficient_user_authentication', path);
  }
  const list = await b.get('/api/v1/factors');
  assert.equal(list.json.factors.length, 1, `nothing was added: ${list.text}`);
});

test('removing a factor without a fresh elevation -> 401 and the factor stays', async () => {
  const u = await member('rm');
  const b = await u.login();
  const r = await b.del(`/api/v1/factors/${u.totp.factor_id}`);
  assertInsufficient(r, 'DELETE factor at aal1');
  const list = await b.get('/api/v1/factors');
  assert.ok(list.json.factors.some((f) => f.id === u.totp.factor_id), list.text);
});

test("an aal1 access token from before the step-up does not inherit the session's elevation", async () => {
  const u = await member('oldtok');
  const b = await u.login();
  const before = b.accessToken;
  await b.stepUpTotp(u.totp.secret);
  const add = await request(srv, 'POST', '/api/v1/factors/totp', { bearer: before, json: {} });
  assert.equal(add.status, 401, `enrolling with the old aal1 token: ${add.text}`);
  assert.equal((await forward(srv, { uri: '/admin/x', bearer: before })).status, 401, 'aal2 rule with the old token');
  assert.equal((await forward(srv, { uri: '/admin/x', bearer: b.accessToken })).status, 200, 'the new token passes');
});

test('an elevation older than enrollment_max_age (2 s) is not fresh enough to change factors', async () => {
  const s = await startServer({ ...stepUpConfig, step_up: { enrollment_max_age: '2s' } }, { users: [] });
  try {
    const u = await member('stale', s);
    const b = await u.login();
    const v = await b.stepUpTotp(u.totp.secret);
    await sleepUntil(v.json.auth_time + 3);
    assert.ok(nowSec() < v.json.elevated_until, 'test timing: still elevated (8 s)');
    assert.equal((await b.get('/api/v1/session')).json.acr, 'aal2');
    assertInsufficient(await b.post('/api/v1/factors/totp', {}), 'stale elevation');
    assertInsufficient(await b.del(`/api/v1/factors/${u.totp.factor_id}`), 'stale elevation, delete');
  } finally {
    await s.stop();
  }
});

// ---------------------------------------------------------------- max_age

const check = (b, path) => request(srv, 'POST', '/api/v1/authz/check',
                                   { cookie: b.cookie, json: { method: 'GET', path } });

test("a rule's max_age (3 s) is honoured to the second: allowed at ~2 s, refused at ~4 s", async () => {
  const u = await member('maxage');
  const b = await u.login();
  const v = await b.stepUpTotp(u.totp.secret);
  const t = v.json.auth_time;
  assert.ok(v.json.elevated_until >= t + 8, 'the elevation (8 s) outlasts the test');

  await sleepUntil(t + 2, 250);
  const early = await forward(srv, { uri: '/quick/x', cookie: b.cookie });
  const earlyCheck = await check(b, '/quick/x');
  const at = nowSec() - t;
  assert.ok(at < 3, `test timing: checked at ${at.toFixed(2)} s`);
  assert.equal(early.status, 200, `forward at ${at.toFixed(2)} s: ${early.text}`);
  assert.equal(earlyCheck.json?.decision, 'allow', earlyCheck.text);

  await sleepUntil(t + 4, 250);
  const late = await forward(srv, { uri: '/quick/x', cookie: b.cookie });
  const lateCheck = await check(b, '/quick/x');
  assertInsufficient(late, `forward at ${(nowSec() - t).toFixed(2)} s`);
  assert.match(late.headers.get('www-authenticate'), /max_age="3"/);
  assert.equal(lateCheck.json?.decision, 'step_up', lateCheck.text);
  assert.equal(lateCheck.json.max_age, 3);
  const authReq = await request(srv, 'GET', '/api/v1/authz/auth-request',
                                { cookie: b.cookie, headers: { 'x-original-method': 'GET', 'x-original-uri': '/quick/x' } });
  assert.equal(authReq.status, 401, 'auth-request agrees');
  assert.equal(authReq.text, '', 'auth-request has an empty body');
  // The 5-minute rule on the same session still passes: it is freshness, not the level.
  assert.equal((await forward(srv, { uri: '/admin/x', cookie: b.cookie })).status, 200);
});

test('a step-up request with a max_age shorter than the elevation age is answered by a fresh proof only', async () => {
  const u = await member('fresh');
  const b = await u.login();
  const v = await b.stepUpTotp(u.totp.secret);
  await sleepUntil(v.json.auth_time + 2);
  // Asking again with max_age 1 yields a challenge (not a silent pass).
  const c = await b.requestStepUp({ max_age: 1 });
  assert.equal(c.status, 200, c.text);
  assert.equal(typeof c.json.challenge_id, 'string');
  assert.ok(c.json.methods.length > 0, c.text);
});
