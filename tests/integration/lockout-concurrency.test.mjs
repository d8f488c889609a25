// Lockout under concurrency (issue 11): wrong codes sent in parallel to
// POST /api/v1/step-up/{id}/verify. An attempt is reserved (failure counted,
// lock decided) in one store transaction before its code is checked, so at
// most lockout.max_failures codes are ever looked at per lock window, the
// rest get 429 factor_locked, and the lock is the first of the schedule
// (base_delay) in every run, not whichever racing lock write landed last.
// The work is counted (audit events, the factor row), not timed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import {
  Browser, addTotp, addUser, auditTail, cliOutput, stepUpConfig, wrongCode,
} from './lib/stepup.mjs';

const kParallel = 20;
const kMaxFailures = 5;     // stepUpConfig.lockout
const kBaseDelay = 60;      // seconds, stepUpConfig.lockout.base_delay

let srv;
before(async () => { srv = await startServer(stepUpConfig); });
after(async () => { await srv?.stop(); });

let seq = 0;
async function freshUser(prefix) {
  const name = `${prefix}${++seq}`;
  const password = `granite-Heron-${70 + seq}-vale`;
  await addUser(srv, name, password);
  return { name, password, login: () => Browser.login(srv, name, password) };
}

async function factorRow(user, type) {
  const r = await srv.cli(['factor', 'list', user, '--json']);
  assert.equal(r.code, 0, cliOutput(r));
  const row = JSON.parse(r.stdout).find((f) => f.type === type);
  assert.ok(row, `a ${type} factor: ${r.stdout}`);
  return row;
}

// Sends kParallel verifies of `body` at once; resolves the answers and the
// wall-clock bounds (whole seconds) the attempts fell in.
async function burst(b, challengeId, body) {
  const t0 = Math.floor(Date.now() / 1000);
  const answers = await Promise.all(Array.from({ length: kParallel }, () => b.verify(challengeId, body)));
  const t1 = Math.ceil(Date.now() / 1000);
  return { answers, t0, t1 };
}

async function assertAtMostMaxFailuresChecked(user, type, { answers, t0, t1 }) {
  const byStatus = {};
  for (const a of answers) {
    const key = `${a.status} ${a.json?.error}`;
    byStatus[key] = (byStatus[key] ?? 0) + 1;
  }
  const summary = JSON.stringify(byStatus);
  assert.equal(byStatus['401 invalid_code'] ?? 0, kMaxFailures, `codes checked: ${summary}`);
  assert.equal(byStatus['429 factor_locked'] ?? 0, kParallel - kMaxFailures, `refused as locked: ${summary}`);
  for (const a of answers.filter((x) => x.status === 429)) {
    const retry = Number(a.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= kBaseDelay, `Retry-After ${retry} within the first lock`);
  }
  // The audit trail counts the codes looked at: exactly max_failures.
  const events = await auditTail(srv, ['--user', user, '-n', '1000']);
  const failed = events.filter((e) => e.event === 'step_up.failed').length;
  const locks = events.filter((e) => e.event === 'factor.locked').length;
  assert.equal(failed, kMaxFailures, `step_up.failed events: ${failed}`);
  assert.equal(locks, 1, `factor.locked events: ${locks}`);
  // The lock is the first one of the schedule: same length in every run.
  const row = await factorRow(user, type);
  assert.equal(row.failures, kMaxFailures, JSON.stringify(row));
  assert.ok(row.locked_until >= t0 + kBaseDelay && row.locked_until <= t1 + kBaseDelay,
            `locked_until ${row.locked_until} is base_delay after the burst [${t0}, ${t1}]`);
}

for (let round = 1; round <= 3; round++) {
  test(`${kParallel} parallel wrong TOTP codes: ${kMaxFailures} checked, the rest 429, first lock (run ${round})`, async () => {
    const u = await freshUser('race');
    const totp = await addTotp(srv, u.name);
    const b = await u.login();
    const c = await b.requestStepUp();
    assert.equal(c.status, 200, c.text);
    const code = await wrongCode(totp.secret);
    const result = await burst(b, c.json.challenge_id, { method: 'totp', code });
    await assertAtMostMaxFailuresChecked(u.name, 'totp', result);
  });
}

test(`${kParallel} parallel wrong recovery codes share the same lockout`, async () => {
  const u = await freshUser('rcrace');
  const b = await u.login();
  const gen = await b.post('/api/v1/factors/recovery-codes');
  assert.equal(gen.status, 200, gen.text);
  const c = await b.requestStepUp();
  assert.equal(c.status, 200, c.text);
  assert.ok(c.json.methods.some((m) => m.type === 'recovery_code'), c.text);
  const result = await burst(b, c.json.challenge_id, { method: 'recovery_code', code: '0000-0000-0000' });
  await assertAtMostMaxFailuresChecked(u.name, 'recovery_codes', result);
});
