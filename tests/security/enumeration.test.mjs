// Attack catalogue, user enumeration: an unknown username and a known one
// with a wrong password get the same status, body and headers, and the same
// work: one Argon2id verification each, counted by
// stepup_password_verifications_total (no clock involved), and median times
// that differ by less than half the hash cost measured in the same run
// (production Argon2id cost, 19 MiB and 2 passes; no fixed milliseconds).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { login, metricsToken, request, startServer } from '../integration/lib/server.mjs';
import { kHigh } from '../integration/lib/stepup.mjs';

const metrics = metricsToken();  // /metrics is served only when configured
let srv;
before(async () => {
  srv = await startServer({
    server: { metrics_token_file: metrics.file },
    passwords: { argon2_memory_kib: 19456, argon2_iterations: 2 },
    rate_limits: { login: kHigh, verify: kHigh },
  }, { users: ['alice'] });
});
after(async () => { await srv?.stop(); });

const kTries = 30;
// Timing is compared with a baseline measured in the same run, never with a
// fixed number of milliseconds: `hashing` is the median cost of a known-user
// sign-in above a request that hashes nothing, and the two paths may differ
// by at most kShareOfHash of it. Skipping the hash on one path makes the
// difference the whole hash, whatever this machine's Argon2id speed.
const kShareOfHash = 0.5;
// Headers that may differ between any two answers.
const kVolatile = new Set(['date', 'content-length', 'connection', 'keep-alive']);
const headerShape = (r) => [...r.headers.keys()].filter((k) => !kVolatile.has(k)).sort()
  .map((k) => `${k}: ${r.headers.get(k)}`);

test('unknown user and wrong password: same status, body and headers', async () => {
  const unknown = await login(srv, 'mallory-nobody', 'violet-Harbor-92-kite');
  const wrong = await login(srv, 'alice', 'not-the-password-77');
  assert.equal(unknown.status, 401, unknown.text);
  assert.equal(wrong.status, 401, wrong.text);
  assert.equal(unknown.text, wrong.text, 'byte-identical bodies');
  assert.equal(unknown.json?.error, 'invalid_credentials');
  assert.deepEqual(headerShape(unknown), headerShape(wrong), 'the same headers');
  assert.equal(unknown.setCookies.length, 0, 'no cookie for a failure');
  // Known user with the right password of another (or no) account: same again.
  const emptyish = await login(srv, 'ALICE', 'violet-Harbor-92-kite');
  if (emptyish.status === 401) assert.equal(emptyish.text, wrong.text, 'case variant of a known name');
});

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// Reads stepup_password_verifications_total from /metrics.
async function verifications() {
  const r = await request(srv, 'GET', '/metrics', { bearer: metrics.token });
  assert.equal(r.status, 200, r.text);
  const m = r.text.match(/^stepup_password_verifications_total (\d+)$/m);
  assert.ok(m, `/metrics has stepup_password_verifications_total:\n${r.text}`);
  return Number(m[1]);
}

test('unknown and known user: each sign-in runs exactly one Argon2id verification', async () => {
  for (const [user, what] of [['alice', 'known user, wrong password'],
    ['mallory-nobody-2', 'unknown user'], ['alice', 'known user again'], ['ghost-3', 'unknown again']]) {
    const before = await verifications();
    const r = await login(srv, user, 'wrong-Password-1-x');
    assert.equal(r.status, 401, r.text);
    assert.equal(await verifications() - before, 1, `${what}: one verification`);
  }
  // A request that is refused before any password work costs none (the
  // counter counts work, it is not a request counter).
  const before = await verifications();
  const bad = await request(srv, 'POST', '/api/v1/login/password', { json: { username: 'alice' } });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(await verifications() - before, 0, 'a 400 without a password hashes nothing');
});

test(`unknown vs known user: median times differ by at most ${kShareOfHash * 100}% of the hash cost measured in this run (${kTries} tries)`,
     async (t) => {
       const times = { unknown: [], known: [], baseline: [] };
       // Warm-up: the first hashes pay for page faults of the 19 MiB arena.
       for (let i = 0; i < 3; i++) {
         await login(srv, 'alice', 'warm-up-password-1');
         await login(srv, `ghost-warm-${i}`, 'warm-up-password-1');
       }
       // Interleaved so drift on a shared machine hits all kinds alike. The
       // baseline is the same endpoint refused before hashing (no password).
       const kinds = ['known', 'unknown', 'baseline'];
       for (let i = 0; i < kTries; i++) {
         for (let k = 0; k < kinds.length; k++) {
           const kind = kinds[(i + k) % kinds.length];
           const user = kind === 'unknown' ? `ghost-${i}-${Math.random().toString(36).slice(2, 8)}` : 'alice';
           const t0 = process.hrtime.bigint();
           const r = kind === 'baseline'
             ? await request(srv, 'POST', '/api/v1/login/password', { json: { username: user } })
             : await login(srv, user, `wrong-Password-${i}-x`);
           const ms = Number(process.hrtime.bigint() - t0) / 1e6;
           assert.equal(r.status, kind === 'baseline' ? 400 : 401, r.text);
           times[kind].push(ms);
         }
       }
       const mu = median(times.unknown);
       const mk = median(times.known);
       const mb = median(times.baseline);
       const hashing = mk - mb;
       const tolerance = kShareOfHash * hashing;
       const summary = `median unknown ${mu.toFixed(1)} ms, known ${mk.toFixed(1)} ms, ` +
                       `no-hash baseline ${mb.toFixed(1)} ms, hash cost ${hashing.toFixed(1)} ms, ` +
                       `difference ${Math.abs(mu - mk).toFixed(1)} ms, tolerance ${tolerance.toFixed(1)} ms`;
       t.diagnostic(summary);
       assert.ok(hashing > 0, `a known-user sign-in costs more than a refused one: ${summary}`);
       assert.ok(mu - mb > tolerance, `the unknown-user path did the hashing too: ${summary}`);
       assert.ok(Math.abs(mu - mk) <= tolerance, summary);
     });
