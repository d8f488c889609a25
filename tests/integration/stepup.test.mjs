// Step-up against a real server (docs/api.md "Step-up" and "Factors"): TOTP
// from oathtool, session id rotation, single-use codes and challenges,
// lockout, recovery codes, enrollment, return_to checks and the login rate
// limit. Elevation and one rule's max_age are a few seconds long so lapses
// can be watched happen.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { login, request, startServer } from './lib/server.mjs';
import {
  Browser, addTotp, addUser, assertError, assertInsufficient, cliOutput, forward, kHigh, nextCode,
  stepUpConfig as kStepUpConfig, wrongCode,
} from './lib/stepup.mjs';

const kElevation = 8;      // seconds aal2 is held after a step-up (stepUpConfig)
const kQuickMaxAge = 3;    // max_age of the /quick/** rule
const kAllowedOrigin = 'https://allowed.example';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowSec = () => Date.now() / 1000;
// Sleeps until the wall clock is past Unix second `t` by `slackMs`.
const sleepUntil = async (t, slackMs = 1200) => sleep(Math.max(0, t * 1000 + slackMs - Date.now()));

let srv;
before(async () => { srv = await startServer(kStepUpConfig); });
after(async () => { await srv?.stop(); });

let userSeq = 0;
// A new user (password sign-in only) so tests do not share factors or locks.
async function freshUser(prefix) {
  const name = `${prefix}${++userSeq}`;
  const password = `quartz-Lagoon-${40 + userSeq}-pike`;
  await addUser(srv, name, password);
  return { name, password, login: () => Browser.login(srv, name, password) };
}

// A new user with a confirmed TOTP factor (made by the CLI).
async function userWithTotp(prefix) {
  const u = await freshUser(prefix);
  u.totp = await addTotp(srv, u.name);
  return u;
}

const acrOf = (r) => r.headers.get('x-stepup-acr');

test('end-to-end: 401 RFC 9470 -> step-up with oathtool -> aal2 until max_age and elevation lapse', async () => {
  const u = await userWithTotp('e2e');
  const b = await u.login();
  assert.equal(b.session.acr, 'aal1');

  // aal1 session on an aal2 rule: RFC 9470 challenge.
  const denied = await forward(srv, { uri: '/admin/users', cookie: b.cookie });
  assertInsufficient(denied, 'forward /admin at aal1');
  assert.ok(denied.headers.get('www-authenticate').includes('max_age="300"'), denied.headers.get('www-authenticate'));

  const c = await b.requestStepUp();
  assert.equal(c.status, 200, c.text);
  assert.equal(typeof c.json.challenge_id, 'string');
  assert.ok(c.json.challenge_id.length >= 16, 'challenge id is unguessable');
  assert.equal(c.json.acr, 'aal2');
  assert.ok(c.json.expires_at > nowSec() && c.json.expires_at <= nowSec() + 300 + 5, `expires_at ${c.json.expires_at}`);
  const totp = (c.json.methods ?? []).find((m) => m.type === 'totp');
  assert.ok(totp, `a totp method is offered: ${c.text}`);
  assert.equal(totp.factor_id, u.totp.factor_id);
  assert.ok(!c.text.includes(u.totp.secret), 'the secret is not echoed');

  const oldCookie = b.cookie;
  const v = await b.verify(c.json.challenge_id, { method: 'totp', code: await nextCode(u.totp.secret) });
  const t1 = nowSec();
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.acr, 'aal2');
  assert.ok(Array.isArray(v.json.amr) && v.json.amr.includes('otp'), `amr has otp: ${v.text}`);
  assert.ok(v.json.amr.includes('pwd'), `amr keeps pwd: ${v.text}`);
  assert.ok(Math.abs(v.json.elevated_until - (t1 + kElevation)) <= 2,
            `elevated_until ${v.json.elevated_until} ~ now + ${kElevation}`);
  assert.ok(Math.abs(v.json.auth_time - t1) <= 2, `auth_time ${v.json.auth_time} is now`);
  assert.ok(v.session && v.session !== oldCookie, 'a new session cookie is set');
  assert.equal(typeof v.json.access_token, 'string');
  assert.equal(typeof v.json.refresh_token, 'string');

  const jwks = createRemoteJWKSet(new URL(srv.url + '/.well-known/jwks.json'));
  const { payload } = await jwtVerify(v.json.access_token, jwks, {
    issuer: srv.publicUrl, audience: 'stepup', algorithms: ['ES256'],
  });
  assert.equal(payload.acr, 'aal2');
  assert.ok(payload.amr.includes('otp'), JSON.stringify(payload));
  assert.equal(payload.sid, b.session.id, 'the public session id is stable across rotation');
  assert.ok(payload.exp <= v.json.elevated_until, `exp ${payload.exp} <= elevated_until ${v.json.elevated_until}`);
  assert.equal(payload.auth_time, v.json.auth_time);

  for (const uri of ['/admin/users', `/quick/x`]) {
    const ok = await forward(srv, { uri, cookie: b.cookie });
    assert.equal(ok.status, 200, `${uri} with the new cookie: ${ok.text}`);
    assert.equal(acrOf(ok), 'aal2');
    assert.ok((ok.headers.get('x-stepup-amr') ?? '').split(',').includes('otp'), ok.headers.get('x-stepup-amr'));
  }
  const viaBearer = await forward(srv, { uri: '/admin/users', bearer: v.json.access_token });
  assert.equal(viaBearer.status, 200, `the elevated Bearer token passes: ${viaBearer.text}`);

  // Past the short rule's max_age: that rule asks again, the 5m rule still passes.
  await sleepUntil(v.json.auth_time + kQuickMaxAge);
  assert.ok(nowSec() < v.json.elevated_until, 'test timing: still elevated');
  const stale = await forward(srv, { uri: '/quick/x', cookie: b.cookie });
  assertInsufficient(stale, '/quick after its max_age');
  assert.ok(stale.headers.get('www-authenticate').includes(`max_age="${kQuickMaxAge}"`), stale.headers.get('www-authenticate'));
  const still = await forward(srv, { uri: '/admin/users', cookie: b.cookie });
  assert.equal(still.status, 200, `the 5m rule still passes: ${still.text}`);

  // Step up again: the short rule passes again.
  const v2 = await b.stepUpTotp(u.totp.secret);
  assert.ok(v2.json.elevated_until >= v.json.elevated_until);
  const fresh = await forward(srv, { uri: '/quick/x', cookie: b.cookie });
  assert.equal(fresh.status, 200, `after a second step-up: ${fresh.text}`);

  // Past the elevation: every aal2 rule asks, aal1 still passes at aal1.
  await sleepUntil(v2.json.elevated_until);
  for (const uri of ['/quick/x', '/admin/users']) {
    assertInsufficient(await forward(srv, { uri, cookie: b.cookie }), `${uri} after the elevation lapsed`);
  }
  const base = await forward(srv, { uri: '/dashboard', cookie: b.cookie });
  assert.equal(base.status, 200, base.text);
  assert.equal(acrOf(base), 'aal1', 'the session fell back to aal1');
  const s = await b.get('/api/v1/session');
  assert.equal(s.status, 200, s.text);
  assert.equal(s.json.acr, 'aal1');
});

test('after step-up the old session cookie is dead (id rotated) and the new one works', async () => {
  const u = await userWithTotp('rot');
  const b = await u.login();
  const oldCookie = b.cookie;
  const v = await b.stepUpTotp(u.totp.secret);
  assert.ok(v.session, `Set-Cookie on verify: ${JSON.stringify(v.setCookies)}`);
  assert.notEqual(b.cookie, oldCookie);

  const old = await request(srv, 'GET', '/api/v1/session', { cookie: oldCookie });
  assert.equal(old.status, 401, `old cookie: ${old.text}`);
  const oldForward = await forward(srv, { uri: '/dashboard', cookie: oldCookie });
  assert.equal(oldForward.status, 401, oldForward.text);
  assert.ok((oldForward.headers.get('www-authenticate') ?? '').includes('error="invalid_token"'));

  const now = await b.get('/api/v1/session');
  assert.equal(now.status, 200, now.text);
  assert.equal(now.json.id, b.session.id, 'same public session id');
  assert.equal(now.json.acr, 'aal2');
  assert.equal(typeof now.json.elevated_until, 'number');
  assert.ok(!v.text.includes(b.cookie), 'the body does not leak the new cookie value');
});

test('the same TOTP code on a second challenge -> 401 code_already_used', async () => {
  const u = await userWithTotp('replay');
  const b = await u.login();
  const code = await nextCode(u.totp.secret);
  const c1 = await b.requestStepUp();
  assert.equal(c1.status, 200, c1.text);
  const v1 = await b.verify(c1.json.challenge_id, { method: 'totp', code });
  assert.equal(v1.status, 200, v1.text);
  const c2 = await b.requestStepUp();
  assert.equal(c2.status, 200, c2.text);
  const v2 = await b.verify(c2.json.challenge_id, { method: 'totp', code });
  assertError(v2, 401, 'code_already_used', 'replayed code');
  assert.equal(v2.session, undefined, 'no new cookie on failure');
});

test("a code of another user's factor -> 401 invalid_code", async () => {
  const u = await userWithTotp('own');
  const other = await userWithTotp('other');
  const b = await u.login();
  const c = await b.requestStepUp();
  assert.equal(c.status, 200, c.text);
  const v = await b.verify(c.json.challenge_id, { method: 'totp', code: await nextCode(other.totp.secret) });
  assertError(v, 401, 'invalid_code', "other user's code");
  const wrongFactor = await b.verify(c.json.challenge_id,
                                     { method: 'totp', factor_id: other.totp.factor_id, code: await nextCode(other.totp.secret) });
  assert.ok([400, 401, 404].includes(wrongFactor.status), `naming another user's factor fails: ${wrongFactor.text}`);
  const s = await b.get('/api/v1/session');
  assert.equal(s.json?.acr, 'aal1', 'still aal1');
});

test('challenges: used twice -> 400, from another session -> 404, unknown -> 404', async () => {
  const u = await userWithTotp('chal');
  const b = await u.login();
  const c = await b.requestStepUp();
  assert.equal(c.status, 200, c.text);
  const v = await b.verify(c.json.challenge_id, { method: 'totp', code: await nextCode(u.totp.secret) });
  assert.equal(v.status, 200, v.text);
  const again = await b.verify(c.json.challenge_id, { method: 'totp', code: await nextCode(u.totp.secret) });
  assertError(again, 400, 'invalid_challenge', 'used challenge');

  // Bound to the session that asked: the same user's other session gets 404.
  const b1 = await u.login();
  const b2 = await u.login();
  const mine = await b1.requestStepUp();
  assert.equal(mine.status, 200, mine.text);
  const code = await nextCode(u.totp.secret);
  const theirs = await b2.verify(mine.json.challenge_id, { method: 'totp', code });
  assertError(theirs, 404, 'not_found', "another session's challenge");
  const bearer = await request(srv, 'POST', `/api/v1/step-up/${mine.json.challenge_id}/verify`,
                               { bearer: b2.accessToken, json: { method: 'totp', code } });
  assertError(bearer, 404, 'not_found', "another session's challenge via Bearer");
  const owner = await b1.verify(mine.json.challenge_id, { method: 'totp', code });
  assert.equal(owner.status, 200, `the owner can still use it: ${owner.text}`);

  const unknown = await b1.verify('A'.repeat(43), { method: 'totp', code: '123456' });
  assertError(unknown, 404, 'not_found', 'unknown challenge');
});

test('verify input errors: missing code, method not offered -> 400 invalid_request', async () => {
  const u = await userWithTotp('input');
  const b = await u.login();
  const c = await b.requestStepUp();
  assert.equal(c.status, 200, c.text);
  assertError(await b.verify(c.json.challenge_id, { method: 'totp' }), 400, 'invalid_request', 'no code');
  assertError(await b.verify(c.json.challenge_id, { method: 'sms', code: '123456' }), 400, 'invalid_request',
              'method not offered');
  const unknownLevel = await b.requestStepUp({ acr_values: 'aal9' });
  assertError(unknownLevel, 400, 'invalid_request', 'unknown level');
  const v = await b.verify(c.json.challenge_id, { method: 'totp', code: await nextCode(u.totp.secret) });
  assert.equal(v.status, 200, `the challenge survives bad input: ${v.text}`);
});

test('a user without a second factor cannot step up: 403 no_factor_enrolled', async () => {
  const u = await freshUser('nofactor');
  const b = await u.login();
  const r = await b.requestStepUp();
  assertError(r, 403, 'no_factor_enrolled', 'no factor');
});

test('an expired challenge (challenge_ttl 2s) -> 400 invalid_challenge', async () => {
  const short = await startServer({ ...kStepUpConfig, step_up: { challenge_ttl: '2s' } }, { users: ['alice'] });
  try {
    const { secret } = await addTotp(short, 'alice');
    const b = await Browser.login(short, 'alice');
    const code = await nextCode(secret);
    const c = await b.requestStepUp();
    assert.equal(c.status, 200, c.text);
    assert.ok(c.json.expires_at <= nowSec() + 3, `expires_at ${c.json.expires_at} honours challenge_ttl 2s`);
    await sleepUntil(c.json.expires_at);
    const v = await b.verify(c.json.challenge_id, { method: 'totp', code });
    assertError(v, 400, 'invalid_challenge', 'expired challenge');
  } finally {
    await short.stop();
  }
});

test('lockout: 5 wrong codes then 429 factor_locked; survives restart; user unlock clears it', async () => {
  const u = await userWithTotp('lock');
  const b = await u.login();
  const c1 = await b.requestStepUp();
  assert.equal(c1.status, 200, c1.text);
  for (let i = 1; i <= 3; i++) {
    assertError(await b.verify(c1.json.challenge_id, { method: 'totp', code: await wrongCode(u.totp.secret) }),
                401, 'invalid_code', `wrong code #${i}`);
  }
  // A new challenge does not reset the count.
  const c2 = await b.requestStepUp();
  assert.equal(c2.status, 200, c2.text);
  for (let i = 4; i <= 5; i++) {
    assertError(await b.verify(c2.json.challenge_id, { method: 'totp', code: await wrongCode(u.totp.secret) }),
                401, 'invalid_code', `wrong code #${i}`);
  }
  // The sixth attempt is refused even with the right code.
  const locked = await b.verify(c2.json.challenge_id, { method: 'totp', code: await nextCode(u.totp.secret) });
  assertError(locked, 429, 'factor_locked', 'sixth attempt');
  const retry = Number(locked.headers.get('retry-after'));
  assert.ok(Number.isInteger(retry) && retry > 0 && retry <= 3600, `Retry-After ${locked.headers.get('retry-after')}`);

  await srv.restart();
  const c3 = await b.requestStepUp();
  assert.equal(c3.status, 200, `the session survives the restart: ${c3.text}`);
  const afterRestart = await b.verify(c3.json.challenge_id, { method: 'totp', code: await nextCode(u.totp.secret) });
  assertError(afterRestart, 429, 'factor_locked', 'after restart');

  const r = await srv.cli(['user', 'unlock', u.name]);
  assert.equal(r.code, 0, cliOutput(r));
  const v = await b.verify(c3.json.challenge_id, { method: 'totp', code: await nextCode(u.totp.secret) });
  assert.equal(v.status, 200, `after user unlock: ${v.text}`);
  assert.equal(v.json.acr, 'aal2');
});

test('recovery codes: need fresh aal2, step up once each, regenerate replaces the set', async () => {
  const u = await userWithTotp('rc');
  const b = await u.login();

  const first = await b.post('/api/v1/factors/recovery-codes');
  assertInsufficient(first, 'recovery codes at aal1');
  assert.equal(first.json?.error, 'insufficient_user_authentication', first.text);
  assert.ok(first.json.acr_values !== undefined && first.json.max_age !== undefined, `acr_values/max_age in body: ${first.text}`);

  await b.stepUpTotp(u.totp.secret);
  const gen = await b.post('/api/v1/factors/recovery-codes');
  assert.equal(gen.status, 200, gen.text);
  const codes = gen.json.codes;
  assert.ok(Array.isArray(codes) && codes.length === 10, `10 codes: ${gen.text}`);
  assert.equal(new Set(codes).size, 10, 'codes are distinct');
  for (const code of codes) assert.ok(typeof code === 'string' && code.length >= 10, `code ${code}`);

  const listed = await b.get('/api/v1/factors');
  assert.equal(listed.status, 200, listed.text);
  assert.ok(!listed.text.includes(codes[0]), 'codes are shown once');
  const rcFactor = listed.json.factors.find((f) => f.type === 'recovery_code' || f.type === 'recovery_codes');
  assert.ok(rcFactor, `a recovery-code factor is listed: ${listed.text}`);
  if (rcFactor.remaining !== undefined) assert.equal(rcFactor.remaining, 10);

  const c = await b.requestStepUp();
  assert.equal(c.status, 200, c.text);
  const rcMethod = c.json.methods.find((m) => m.type === 'recovery_code');
  assert.ok(rcMethod, `recovery_code is offered: ${c.text}`);
  assert.equal(rcMethod.remaining, 10);
  const used = await b.verify(c.json.challenge_id, { method: 'recovery_code', code: codes[0] });
  assert.equal(used.status, 200, used.text);
  assert.equal(used.json.acr, 'aal2');
  assert.equal(used.json.recovery_codes_remaining, 9);

  const c2 = await b.requestStepUp();
  assert.equal(c2.status, 200, c2.text);
  const reused = await b.verify(c2.json.challenge_id, { method: 'recovery_code', code: codes[0] });
  assertError(reused, 401, 'invalid_code', 'a spent recovery code');

  // Still fresh from the recovery-code step-up: regenerate.
  const regen = await b.post('/api/v1/factors/recovery-codes');
  assert.equal(regen.status, 200, regen.text);
  const codes2 = regen.json.codes;
  assert.equal(codes2.length, 10);
  assert.ok(!codes2.some((x) => codes.includes(x)), 'a new set');
  const oldCode = await b.verify(c2.json.challenge_id, { method: 'recovery_code', code: codes[1] });
  assertError(oldCode, 401, 'invalid_code', 'a code of the replaced set');
  const newCode = await b.verify(c2.json.challenge_id, { method: 'recovery_code', code: codes2[0] });
  assert.equal(newCode.status, 200, newCode.text);
  assert.equal(newCode.json.recovery_codes_remaining, 9);
});

test('enrollment: TOTP over the API, then changes need a fresh step-up and revoke other sessions', async () => {
  const u = await freshUser('enroll');
  const b = await u.login();

  // First factor: no step-up needed.
  const e = await b.post('/api/v1/factors/totp', { name: 'Phone' });
  assert.equal(e.status, 200, e.text);
  assert.equal(typeof e.json.factor_id, 'string');
  assert.match(e.json.secret, /^[A-Z2-7]+=*$/, 'base32 secret');
  assert.ok(e.json.secret.replace(/=+$/, '').length >= 32, 'at least 160 bits');
  assert.ok(e.json.otpauth_uri.startsWith('otpauth://totp/'), e.json.otpauth_uri);
  const uri = new URL(e.json.otpauth_uri);
  assert.equal(uri.searchParams.get('secret'), e.json.secret.replace(/=+$/, ''));
  assert.equal(uri.searchParams.get('issuer'), 'stepup-test');
  assert.ok(e.json.qr_svg.includes('<svg'), 'qr_svg is an SVG');

  const notYet = await b.requestStepUp();
  assertError(notYet, 403, 'no_factor_enrolled', 'an unconfirmed factor does not count');

  const bad = await b.post(`/api/v1/factors/totp/${e.json.factor_id}/confirm`, { code: await wrongCode(e.json.secret) });
  assertError(bad, 401, 'invalid_code', 'confirm with a wrong code');
  const ok = await b.post(`/api/v1/factors/totp/${e.json.factor_id}/confirm`, { code: await nextCode(e.json.secret) });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.factor_id, e.json.factor_id);
  assert.equal(ok.json.confirmed, true);

  const list = await b.get('/api/v1/factors');
  assert.equal(list.status, 200, list.text);
  const f = list.json.factors.find((x) => x.id === e.json.factor_id);
  assert.ok(f, `listed: ${list.text}`);
  assert.equal(f.type, 'totp');
  assert.equal(f.confirmed, true);
  assert.equal(f.name, 'Phone');
  assert.ok(!list.text.includes(e.json.secret), 'the secret is never listed');

  // A second TOTP without a fresh step-up: RFC 9470 challenge.
  const second = await b.post('/api/v1/factors/totp', { name: 'Tablet' });
  assertInsufficient(second, 'second factor without step-up');
  assert.equal(second.json?.error, 'insufficient_user_authentication', second.text);

  await b.stepUpTotp(e.json.secret);
  const e2 = await b.post('/api/v1/factors/totp', { name: 'Tablet' });
  assert.equal(e2.status, 200, e2.text);
  const ok2 = await b.post(`/api/v1/factors/totp/${e2.json.factor_id}/confirm`, { code: await nextCode(e2.json.secret) });
  assert.equal(ok2.status, 200, ok2.text);

  // Removing a factor while fresh: 200, and the user's other sessions die.
  const other = await u.login();
  assert.equal((await other.get('/api/v1/session')).status, 200);
  const del = await b.del(`/api/v1/factors/${e2.json.factor_id}`);
  assert.equal(del.status, 200, del.text);
  assert.equal(del.json.deleted, e2.json.factor_id);
  const otherAfter = await request(srv, 'GET', '/api/v1/session', { cookie: other.cookie });
  assert.equal(otherAfter.status, 401, `the other session is revoked: ${otherAfter.text}`);
  const otherRefresh = await request(srv, 'POST', '/api/v1/token/refresh', { json: { refresh_token: other.refreshToken } });
  assert.equal(otherRefresh.status, 401, otherRefresh.text);
  const mine = await b.get('/api/v1/session');
  assert.equal(mine.status, 200, `the acting session lives: ${mine.text}`);
  const left = await b.get('/api/v1/factors');
  assert.ok(!left.json.factors.some((x) => x.id === e2.json.factor_id), left.text);
  assert.ok(left.json.factors.some((x) => x.id === e.json.factor_id), left.text);
});

test('enrollment changes are refused without a fresh step-up (DELETE too)', async () => {
  const u = await userWithTotp('stale');
  const b = await u.login();
  const del = await b.del(`/api/v1/factors/${u.totp.factor_id}`);
  assertInsufficient(del, 'delete at aal1');
  const still = await b.get('/api/v1/factors');
  assert.ok(still.json.factors.some((x) => x.id === u.totp.factor_id), 'not deleted');
});

test('return_to: a relative path comes back after verify; open redirects are refused', async () => {
  const u = await userWithTotp('ret');
  const b = await u.login();
  const bad = [
    '//evil.com', '/\\evil.com', '\\\\evil.com', 'javascript:alert(1)', 'JavaScript:alert(1)',
    'data:text/html,hi', 'https://evil.com/', 'http://evil.com', '%2F%2Fevil.com', '/%2F%2Fevil.com',
    '/%5Cevil.com', '/%5C%5Cevil.com', 'https://user@allowed.example', 'https://allowed.example@evil.com/',
    'https://allowed.example.evil.com/', 'http://allowed.example/', '/\t/evil.com', ' //evil.com',
  ];
  for (const returnTo of bad) {
    const r = await b.requestStepUp({ return_to: returnTo });
    assertError(r, 400, 'invalid_request', `return_to ${JSON.stringify(returnTo)}`);
  }
  const allowed = await b.requestStepUp({ return_to: `${kAllowedOrigin}/after?y=2` });
  assert.equal(allowed.status, 200, `an allowed origin: ${allowed.text}`);

  const c = await b.requestStepUp({ return_to: '/transfer?x=1' });
  assert.equal(c.status, 200, c.text);
  const v = await b.verify(c.json.challenge_id, { method: 'totp', code: await nextCode(u.totp.secret) });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.return_to, '/transfer?x=1');
});

test('CLI: factor add-totp / list / remove', async () => {
  const u = await freshUser('cli');
  const added = await addTotp(srv, u.name);
  assert.ok(added.otpauth_uri.startsWith('otpauth://totp/'), added.otpauth_uri);
  // The CLI factor is confirmed at once: it steps up.
  const b = await u.login();
  await b.stepUpTotp(added.secret);

  const list = await srv.cli(['factor', 'list', u.name, '--json']);
  assert.equal(list.code, 0, cliOutput(list));
  let rows = JSON.parse(list.stdout);
  if (!Array.isArray(rows)) rows = rows.factors;
  const row = rows.find((f) => f.id === added.factor_id || f.factor_id === added.factor_id);
  assert.ok(row, `listed: ${list.stdout}`);
  assert.ok(!list.stdout.includes(added.secret), 'the secret is not listed');

  const rm = await srv.cli(['factor', 'remove', u.name, added.factor_id]);
  assert.equal(rm.code, 0, cliOutput(rm));
  const list2 = await srv.cli(['factor', 'list', u.name, '--json']);
  assert.ok(!list2.stdout.includes(added.factor_id), list2.stdout);
  const b2 = await u.login();
  assertError(await b2.requestStepUp(), 403, 'no_factor_enrolled', 'after factor remove');
});

test('login rate limit per IP (per_second 0.001, burst 3): the 4th attempt -> 429 rate_limited', async () => {
  const limited = await startServer(
    { ...kStepUpConfig, rate_limits: { login: { per_second: 0.001, burst: 3 }, verify: kHigh } },
    { users: ['alice'] });
  try {
    for (let i = 1; i <= 3; i++) {
      const r = await login(limited, 'alice');
      assert.equal(r.status, 200, `attempt ${i}: ${r.text}`);
    }
    const r = await login(limited, 'alice');
    assertError(r, 429, 'rate_limited', '4th login');
    const retry = Number(r.headers.get('retry-after'));
    assert.ok(Number.isInteger(retry) && retry > 0, `Retry-After ${r.headers.get('retry-after')}`);
    const wrong = await login(limited, 'alice', 'not-the-password-1');
    assertError(wrong, 429, 'rate_limited', 'a wrong password is limited too');
  } finally {
    await limited.stop();
  }
});
