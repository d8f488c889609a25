// Attack catalogue, user enumeration: an unknown username and a known one
// with a wrong password get the same status, body and headers, and the same
// time within a stated tolerance (medians of 30 tries each with the
// production Argon2id cost, 19 MiB and 2 passes).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { login, startServer } from '../integration/lib/server.mjs';
import { kHigh } from '../integration/lib/stepup.mjs';

let srv;
before(async () => {
  srv = await startServer({
    passwords: { argon2_memory_kib: 19456, argon2_iterations: 2 },
    rate_limits: { login: kHigh, verify: kHigh },
  }, { users: ['alice'] });
});
after(async () => { await srv?.stop(); });

const kTries = 30;
const kRelTolerance = 0.20;   // 20 % of the larger median ...
const kAbsToleranceMs = 15;   // ... or 15 ms, whichever is larger

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

test(`unknown vs known user: median times within max(${kRelTolerance * 100}%, ${kAbsToleranceMs} ms) over ${kTries} tries`,
     async (t) => {
       const times = { unknown: [], known: [] };
       // Warm-up: the first hashes pay for page faults of the 19 MiB arena.
       for (let i = 0; i < 3; i++) {
         await login(srv, 'alice', 'warm-up-password-1');
         await login(srv, `ghost-warm-${i}`, 'warm-up-password-1');
       }
       // Interleaved so drift on a shared machine hits both sides alike.
       for (let i = 0; i < kTries; i++) {
         for (const kind of i % 2 ? ['unknown', 'known'] : ['known', 'unknown']) {
           const user = kind === 'known' ? 'alice' : `ghost-${i}-${Math.random().toString(36).slice(2, 8)}`;
           const t0 = process.hrtime.bigint();
           const r = await login(srv, user, `wrong-Password-${i}-x`);
           const ms = Number(process.hrtime.bigint() - t0) / 1e6;
           assert.equal(r.status, 401, r.text);
           times[kind].push(ms);
         }
       }
       const mu = median(times.unknown);
       const mk = median(times.known);
       const tolerance = Math.max(kRelTolerance * Math.max(mu, mk), kAbsToleranceMs);
       const summary = `median unknown ${mu.toFixed(1)} ms, known ${mk.toFixed(1)} ms, ` +
                       `difference ${Math.abs(mu - mk).toFixed(1)} ms, tolerance ${tolerance.toFixed(1)} ms`;
       t.diagnostic(summary);
       assert.ok(mk > 20, `the known-user path did real Argon2id work (${mk.toFixed(1)} ms)`);
       assert.ok(Math.abs(mu - mk) <= tolerance, summary);
     });
