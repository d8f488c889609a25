// The audit trail: step-up flows leave hash-chained rows that `stepup audit
// tail` shows and `stepup audit verify` checks; a row edited behind the
// server's back (triggers dropped, as an attacker with file access would) is
// found and named.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startServer } from './lib/server.mjs';
import {
  Browser, addTotp, assertError, auditTail, cliOutput, nextCode, stepUpConfig, wrongCode,
} from './lib/stepup.mjs';

let srv;
before(async () => { srv = await startServer(stepUpConfig, { users: ['alice', 'bob'] }); });
after(async () => { await srv?.stop(); });

function sqlite(db, sql) {
  return new Promise((resolve) => {
    execFile('sqlite3', [db, sql], { timeout: 10000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

const secretsSeen = [];  // credentials that must never reach the audit trail
let alice;
let bob;

test('flows: login, step-up (failed and succeeded), recovery code, lockout', async () => {
  const aliceTotp = await addTotp(srv, 'alice');
  const bobTotp = await addTotp(srv, 'bob');
  alice = await Browser.login(srv, 'alice');
  secretsSeen.push(alice.cookie, alice.refreshToken, aliceTotp.secret, bobTotp.secret);

  const c = await alice.requestStepUp({ reason: 'audit test' });
  assert.equal(c.status, 200, c.text);
  const wrong = await wrongCode(aliceTotp.secret);
  assertError(await alice.verify(c.json.challenge_id, { method: 'totp', code: wrong }), 401, 'invalid_code');
  const code = await nextCode(aliceTotp.secret);
  const v = await alice.verify(c.json.challenge_id, { method: 'totp', code });
  assert.equal(v.status, 200, v.text);
  secretsSeen.push(alice.cookie, alice.refreshToken);

  const gen = await alice.post('/api/v1/factors/recovery-codes');
  assert.equal(gen.status, 200, gen.text);
  secretsSeen.push(...gen.json.codes);
  const c2 = await alice.requestStepUp();
  assert.equal(c2.status, 200, c2.text);
  const rc = await alice.verify(c2.json.challenge_id, { method: 'recovery_code', code: gen.json.codes[0] });
  assert.equal(rc.status, 200, rc.text);
  secretsSeen.push(alice.cookie, alice.refreshToken);

  bob = await Browser.login(srv, 'bob');
  const cb = await bob.requestStepUp();
  assert.equal(cb.status, 200, cb.text);
  for (let i = 1; i <= 5; i++) {
    assertError(await bob.verify(cb.json.challenge_id, { method: 'totp', code: await wrongCode(bobTotp.secret) }),
                401, 'invalid_code', `bob's wrong code #${i}`);
  }
  assertError(await bob.verify(cb.json.challenge_id, { method: 'totp', code: await wrongCode(bobTotp.secret) }),
              429, 'factor_locked');
});

test('audit tail --json shows the events as a hash chain, without secrets', async () => {
  const rows = await auditTail(srv, ['-n', '1000']);
  const events = new Set(rows.map((r) => r.event));
  for (const e of ['login.succeeded', 'step_up.requested', 'step_up.succeeded', 'step_up.failed',
                   'factor.locked', 'recovery_code.used']) {
    assert.ok(events.has(e), `${e} in ${[...events].join(', ')}`);
  }
  for (const r of rows) {
    for (const k of ['seq', 'at', 'event', 'subject', 'session', 'ip', 'user_agent', 'details', 'hash', 'prev_hash']) {
      assert.ok(k in r, `row ${r.seq} has ${k}: ${JSON.stringify(r)}`);
    }
  }
  const sorted = [...rows].sort((a, b) => a.seq - b.seq);
  for (let i = 1; i < sorted.length; i++) {
    assert.ok(sorted[i].seq > sorted[i - 1].seq, 'seq increases');
    if (sorted[i].seq === sorted[i - 1].seq + 1) {
      assert.equal(sorted[i].prev_hash, sorted[i - 1].hash, `row ${sorted[i].seq} chains to ${sorted[i - 1].seq}`);
    }
  }
  assert.equal(new Set(rows.map((r) => r.hash)).size, rows.length, 'hashes are distinct');
  const locked = rows.find((r) => r.event === 'factor.locked');
  assert.equal(locked.subject, bob.session.subject, 'factor.locked names bob');
  const stepped = rows.find((r) => r.event === 'step_up.succeeded');
  assert.equal(stepped.subject, alice.session.subject);
  assert.equal(stepped.ip, '127.0.0.1');
  const now = Date.now() / 1000;
  assert.ok(Math.abs(stepped.at - now) < 300, `at ${stepped.at} is Unix seconds`);

  const text = JSON.stringify(rows);
  for (const s of secretsSeen) {
    assert.ok(s && !text.includes(s), `a credential leaked into the audit trail: ${s}`);
  }
});

test('audit tail --user and -n filter', async () => {
  const bobRows = await auditTail(srv, ['--user', 'bob']);
  assert.ok(bobRows.length > 0, 'bob has rows');
  for (const r of bobRows) assert.equal(r.subject, bob.session.subject, JSON.stringify(r));
  assert.ok(bobRows.some((r) => r.event === 'factor.locked'));
  const three = await auditTail(srv, ['-n', '3']);
  assert.equal(three.length, 3, JSON.stringify(three));
  const all = await auditTail(srv, ['-n', '1000']);
  const newest = Math.max(...all.map((r) => r.seq));
  assert.ok(three.some((r) => r.seq === newest), '-n shows the newest rows');
});

test('audit verify: ok when intact, names seq 2 after a row is edited', async () => {
  const ok = await srv.cli(['audit', 'verify']);
  assert.equal(ok.code, 0, cliOutput(ok));
  assert.match(ok.stdout, /\bok\b/i, cliOutput(ok));

  await srv.stopProcess('SIGTERM');
  const triggers = await sqlite(srv.db, "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='audit_events';");
  assert.equal(triggers.code, 0, triggers.stderr);
  const names = triggers.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  // The store refuses a plain UPDATE (append-only triggers), if it has them.
  const plain = await sqlite(srv.db, "UPDATE audit_events SET details='{\"x\":1}' WHERE seq=2;");
  if (names.length > 0) assert.notEqual(plain.code, 0, 'an UPDATE on audit_events is refused by a trigger');

  const drops = names.map((n) => `DROP TRIGGER "${n.replaceAll('"', '""')}";`).join(' ');
  const tamper = await sqlite(srv.db,
    `${drops} UPDATE audit_events SET details='{"tampered":true}' WHERE seq=2; SELECT changes();`);
  assert.equal(tamper.code, 0, tamper.stderr);
  assert.equal(tamper.stdout.trim().split('\n').pop(), '1', `row 2 was edited: ${tamper.stdout}`);

  const bad = await srv.cli(['audit', 'verify']);
  assert.notEqual(bad.code, 0, `verify must fail: ${cliOutput(bad)}`);
  const text = `${bad.stdout}\n${bad.stderr}`;
  assert.match(text, /(seq(uence)?|row|event)\D{0,4}\b2\b/i, `names seq 2: ${text}`);
});
