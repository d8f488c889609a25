// Attack catalogue, one-time codes: TOTP replay, brute force into the
// lockout (429 factor_locked with Retry-After), a new challenge does not
// reset the failure count, codes of another user's factor, recovery code
// reuse, and the per-IP verify rate limit. Codes come from oathtool.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, startServer } from '../integration/lib/server.mjs';
import {
  addTotp, addUser, Browser, currentStep, kHigh, markUsed, nextCode, stepUpConfig, totpAt, wrongCode,
} from '../integration/lib/stepup.mjs';
import { assertContractError } from './lib/attack.mjs';

let srv;
before(async () => { srv = await startServer(stepUpConfig, { users: [] }); });
after(async () => { await srv?.stop(); });

let seq = 0;
// A new user with a confirmed TOTP factor, signed in: no shared locks.
async function victim(prefix = 'u') {
  const name = `${prefix}${++seq}`;
  const password = `granite-Orchid-${70 + seq}-vale`;
  await addUser(srv, name, password);
  const totp = await addTotp(srv, name);
  const b = await Browser.login(srv, name, password);
  return { name, password, totp, b, login: () => Browser.login(srv, name, password) };
}

async function challenge(b) {
  const c = await b.requestStepUp();
  assert.equal(c.status, 200, c.text);
  return c.json.challenge_id;
}

const acrOf = async (b) => (await b.get('/api/v1/session')).json?.acr;

test('TOTP replay: an accepted code is refused on the next challenge (code_already_used)', async () => {
  const u = await victim('replay');
  const code = await nextCode(u.totp.secret);
  const v1 = await u.b.verify(await challenge(u.b), { method: 'totp', code });
  assert.equal(v1.status, 200, v1.text);
  const v2 = await u.b.verify(await challenge(u.b), { method: 'totp', code });
  assertContractError(v2, 401, 'code_already_used', 'replayed code');
  assert.equal(v2.session, undefined, 'no new session cookie on a refused code');
});

test('TOTP replay from another session of the same user is refused too', async () => {
  const u = await victim('replay2');
  const code = await nextCode(u.totp.secret);
  assert.equal((await u.b.verify(await challenge(u.b), { method: 'totp', code })).status, 200);
  const other = await u.login();  // e.g. a phisher who saw the code
  const r = await other.verify(await challenge(other), { method: 'totp', code });
  assertContractError(r, 401, 'code_already_used', 'code replayed from a second session');
  assert.equal(await acrOf(other), 'aal1');
});

test('an older code is refused once a newer step was accepted (no going back in time)', async () => {
  const u = await victim('older');
  const now = currentStep();
  const newer = await totpAt(u.totp.secret, now + 1);
  markUsed(u.totp.secret, now + 1);
  assert.equal((await u.b.verify(await challenge(u.b), { method: 'totp', code: newer })).status, 200);
  const older = await totpAt(u.totp.secret, now);
  const r = await u.b.verify(await challenge(u.b), { method: 'totp', code: older });
  assert.equal(r.status, 401, `the code of the previous step: ${r.text}`);
  assert.ok(['code_already_used', 'invalid_code'].includes(r.json?.error), r.text);
});

test('brute force: after 5 wrong codes -> 429 factor_locked with Retry-After, even for the right code', async () => {
  const u = await victim('brute');
  const id = await challenge(u.b);
  for (let i = 1; i <= 5; i++) {
    assertContractError(await u.b.verify(id, { method: 'totp', code: await wrongCode(u.totp.secret) }), 401, 'invalid_code',
                        `wrong code #${i}`);
  }
  const locked = await u.b.verify(id, { method: 'totp', code: await nextCode(u.totp.secret) });
  assertContractError(locked, 429, 'factor_locked', 'the right code while locked');
  const retry = Number(locked.headers.get('retry-after'));
  assert.ok(Number.isInteger(retry) && retry >= 30 && retry <= 60, `Retry-After ${locked.headers.get('retry-after')} ~ base_delay 60s`);
  assert.equal(await acrOf(u.b), 'aal1', 'no elevation while locked');
  // More guesses while locked stay locked (and do not shorten it).
  const more = await u.b.verify(id, { method: 'totp', code: '000000' });
  assertContractError(more, 429, 'factor_locked', 'guess while locked');
  assert.ok(Number(more.headers.get('retry-after')) >= retry - 1, 'the lock is not shortened');
});

test('a new challenge does not reset the failure count', async () => {
  const u = await victim('reset');
  for (let i = 1; i <= 4; i++) {
    // A fresh challenge before every guess: the attacker's cheapest reset attempt.
    const r = await u.b.verify(await challenge(u.b), { method: 'totp', code: await wrongCode(u.totp.secret) });
    assertContractError(r, 401, 'invalid_code', `wrong code #${i}`);
  }
  const fifth = await u.b.verify(await challenge(u.b), { method: 'totp', code: await wrongCode(u.totp.secret) });
  assertContractError(fifth, 401, 'invalid_code', 'wrong code #5');
  const sixth = await u.b.verify(await challenge(u.b), { method: 'totp', code: await nextCode(u.totp.secret) });
  assertContractError(sixth, 429, 'factor_locked', '6th attempt on a new challenge');
});

test('a new session does not reset the failure count either (the lock is per factor)', async () => {
  const u = await victim('sess');
  for (let i = 1; i <= 5; i++) {
    const b = await u.login();
    assertContractError(await b.verify(await challenge(b), { method: 'totp', code: await wrongCode(u.totp.secret) }),
                        401, 'invalid_code', `wrong code #${i} in session ${i}`);
  }
  const b = await u.login();
  const r = await b.verify(await challenge(b), { method: 'totp', code: await nextCode(u.totp.secret) });
  assertContractError(r, 429, 'factor_locked', 'a fresh session');
});

test("a code of another user's factor is refused, also when naming that factor", async () => {
  const u = await victim('mine');
  const other = await victim('theirs');
  const id = await challenge(u.b);
  assertContractError(await u.b.verify(id, { method: 'totp', code: await nextCode(other.totp.secret) }), 401, 'invalid_code',
                      "other user's code");
  const named = await u.b.verify(id, { method: 'totp', factor_id: other.totp.factor_id, code: await nextCode(other.totp.secret) });
  assert.ok([400, 401, 404].includes(named.status), `naming another user's factor: ${named.status} ${named.text}`);
  assert.equal(await acrOf(u.b), 'aal1');
  // The other user's factor was not consumed or locked by this.
  const mine = await other.b.verify(await challenge(other.b), { method: 'totp', code: await nextCode(other.totp.secret) });
  assert.equal(mine.status, 200, mine.text);
});

test('recovery codes: each works once; reuse and codes of another user are refused', async () => {
  const u = await victim('rc');
  await u.b.stepUpTotp(u.totp.secret);
  const gen = await u.b.post('/api/v1/factors/recovery-codes');
  assert.equal(gen.status, 200, gen.text);
  const codes = gen.json.codes;
  const first = await u.b.verify(await challenge(u.b), { method: 'recovery_code', code: codes[0] });
  assert.equal(first.status, 200, first.text);
  const again = await u.b.verify(await challenge(u.b), { method: 'recovery_code', code: codes[0] });
  assertContractError(again, 401, 'invalid_code', 'a spent recovery code');
  // Case and separator variants of the spent code are the same code: refused too.
  const variants = [codes[0].toUpperCase(), codes[0].replaceAll('-', ''), ` ${codes[0]} `];
  for (const v of variants) {
    const r = await u.b.verify(await challenge(u.b), { method: 'recovery_code', code: v });
    assert.ok([400, 401].includes(r.status), `variant ${JSON.stringify(v)} of a spent code: ${r.text}`);
  }

  const o = await victim('rcother');
  const id = await challenge(o.b);
  const stolen = await o.b.verify(id, { method: 'recovery_code', code: codes[1] });
  assert.ok([400, 401].includes(stolen.status), `another user's recovery code: ${stolen.text}`);
  assert.equal(await acrOf(o.b), 'aal1');
});

test('malformed codes (letters, too long, empty, wrong type) never elevate and never 500', async () => {
  const u = await victim('fmt');
  const id = await challenge(u.b);
  for (const code of ['abcdef', '12345', '1234567', '', ' 123456', '１２３４５６', '123456'.repeat(10), "' OR 1=1 --"]) {
    const r = await u.b.verify(id, { method: 'totp', code });
    // 429 once the wrong ones reach the lockout: also a refusal.
    assert.ok([400, 401, 429].includes(r.status), `code ${JSON.stringify(code)}: ${r.status} ${r.text}`);
  }
  for (const code of [123456, null, ['123456'], { code: '123456' }]) {
    const r = await u.b.verify(id, { method: 'totp', code });
    assertContractError(r, 400, 'invalid_request', `code ${JSON.stringify(code)}`);
  }
  assert.equal(await acrOf(u.b), 'aal1');
});

test('per-IP verify rate limit (burst 3): further guesses -> 429 rate_limited with Retry-After', async () => {
  const s = await startServer({ ...stepUpConfig, rate_limits: { login: kHigh, verify: { per_second: 0.001, burst: 3 } } },
                              { users: ['alice'] });
  try {
    const { secret } = await addTotp(s, 'alice');
    const b = await Browser.login(s, 'alice');
    const c = await b.requestStepUp();
    assert.equal(c.status, 200, c.text);
    for (let i = 1; i <= 3; i++) {
      const r = await b.verify(c.json.challenge_id, { method: 'totp', code: await wrongCode(secret) });
      assert.equal(r.status, 401, `guess ${i}: ${r.text}`);
    }
    const r = await request(s, 'POST', `/api/v1/step-up/${c.json.challenge_id}/verify`,
                            { cookie: b.cookie, origin: true, json: { method: 'totp', code: await wrongCode(secret) } });
    assertContractError(r, 429, 'rate_limited', '4th guess');
    assert.ok(Number(r.headers.get('retry-after')) > 0, `Retry-After ${r.headers.get('retry-after')}`);
  } finally {
    await s.stop();
  }
});
