// Bounded state over HTTP (docs/security.md "Bounded state"): a session holds
// at most step_up.max_open_challenges open challenges (starting one more
// evicts the oldest, which then answers 404), and passkey sign-in options,
// which anyone may ask for, keep at most webauthn.max_login_challenges rows.
// Thousands of requests go through HTTP; the assertion is the row count in
// the SQLite file (read with the sqlite3 CLI), never a duration. The
// 100,000-request versions are unit tests (tests/store/sqlite_bounds_test.cc).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { request, startServer } from './lib/server.mjs';
import { Browser, addTotp, assertError, kHigh, nextCode, stepUpConfig } from './lib/stepup.mjs';

const kOpen = 5;
const kLoginBound = 100;

let srv;
before(async () => {
  srv = await startServer({
    ...stepUpConfig,
    step_up: { ...stepUpConfig.step_up, max_open_challenges: kOpen },
    webauthn: { max_login_challenges: kLoginBound },
    rate_limits: { login: kHigh, verify: kHigh },
  }, { users: ['alice'] });
});
after(async () => { await srv?.stop(); });

function rows(table) {
  const out = execFileSync('sqlite3', ['-readonly', srv.db, `SELECT count(*) FROM ${table};`],
    { encoding: 'utf8' });
  return Number(out.trim());
}

// Runs `fn(i)` for i in [0, n) with `width` requests in flight.
async function pool(n, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await fn(next++);
  }));
}

test('a session keeps at most max_open_challenges; the evicted ones no longer verify', async () => {
  const totp = await addTotp(srv, 'alice');
  const b = await Browser.login(srv, 'alice');
  const first = await b.requestStepUp();
  assert.equal(first.status, 200, first.text);
  let maxRows = 0;
  await pool(2000, 8, async (i) => {
    const r = await b.requestStepUp();
    assert.equal(r.status, 200, r.text);
    if (i % 250 === 0) maxRows = Math.max(maxRows, rows('challenges'));
  });
  maxRows = Math.max(maxRows, rows('challenges'));
  assert.ok(maxRows <= kOpen, `challenges rows ${maxRows} > ${kOpen}`);
  assertError(await b.verify(first.json.challenge_id, { method: 'totp', code: '000000' }), 404,
    'not_found', 'an evicted challenge');
  const last = await b.requestStepUp();
  assert.equal(last.status, 200, last.text);
  const v = await b.verify(last.json.challenge_id, { method: 'totp', code: await nextCode(totp.secret) });
  assert.equal(v.status, 200, `the newest challenge still verifies: ${v.text}`);
});

test('passkey sign-in options have a global bound', async () => {
  const first = await request(srv, 'POST', '/api/v1/login/webauthn/options', { json: {}, origin: true });
  assert.equal(first.status, 200, first.text);
  let maxRows = 0;
  await pool(3000, 8, async (i) => {
    const r = await request(srv, 'POST', '/api/v1/login/webauthn/options', { json: {}, origin: true });
    assert.equal(r.status, 200, r.text);
    if (i % 250 === 0) maxRows = Math.max(maxRows, rows('login_challenges'));
  });
  maxRows = Math.max(maxRows, rows('login_challenges'));
  assert.ok(maxRows <= kLoginBound, `login_challenges rows ${maxRows} > ${kLoginBound}`);
  // The first one was evicted: a sign-in with it is "no such challenge".
  const r = await request(srv, 'POST', '/api/v1/login/webauthn', {
    origin: true,
    json: {
      challenge_id: first.json.challenge_id,
      credential: {
        id: 'AAAA', rawId: 'AAAA', type: 'public-key',
        response: { clientDataJSON: 'AAAA', authenticatorData: 'AAAA', signature: 'AAAA' },
      },
    },
  });
  assertError(r, 404, 'not_found', 'an evicted sign-in challenge');
});
