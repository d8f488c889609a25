// Crash-safety test: concurrent sign-ins, step-ups, refreshes and factor
// changes against a real `stepup serve` on a SQLite file; SIGKILL at a random
// moment; restart on the same file; then check that everything the server
// answered 200 is durable and consistent, that nothing half-written is
// visible, that `PRAGMA integrity_check` says ok and that `stepup audit
// verify` passes. Repeats with different kill points.
//
//   node tests/crash/crash.mjs [ROUNDS]      (tests/crash/run wraps this)
//
// Env: STEPUP_BIN (default build/stepup), CRASH_ROUNDS (default 6),
// CRASH_SEED (random seed for the kill points; printed, so a failing round can
// be replayed). Prints "N passed, N failed" (one per round) and exits non-zero
// on any failure.
//
// Requests that got no answer (in flight at the kill) may or may not have
// taken effect; the checks accept both outcomes but demand consistency (e.g. a
// refresh in flight: the old token either still works, or it counts as reused
// and the session is revoked).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { startServer, request, login, USERS } from '../integration/lib/server.mjs';
import { totpAt, kPeriod } from '../integration/lib/stepup.mjs';

const ROUNDS = Number(process.argv[2] ?? process.env.CRASH_ROUNDS ?? 6);
let seed = Number(process.env.CRASH_SEED ?? (Date.now() % 1000000));
const SEED0 = seed;
// Small deterministic PRNG (mulberry32) so a seed reproduces the kill points.
function rand() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const kHigh = { per_second: 100000, burst: 100000 };
const WORKER_USERS = ['alice', 'bob', 'carol', 'dave', 'erin'];

// Factor changes must not revoke other sessions here: every login that was
// answered 200 has to be found alive after the crash.
const CONFIG = {
  levels: { aal2: { elevation: '15m' } },
  step_up: { challenge_ttl: '5m', enrollment_max_age: '5m', revoke_other_sessions_on_factor_change: false },
  lockout: { max_failures: 100, base_delay: '1s', max_delay: '2s' },
  rate_limits: { login: kHigh, verify: kHigh },
  factors: { totp: { algorithm: 'SHA1', digits: 6, period: kPeriod, issuer: 'crash' },
             recovery_codes: { count: 10, reaches: 'aal2' } },
  tokens: { refresh_reuse_grace: '0s' },
};

function sh(cmd, args) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 60000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function sql(db, query) {
  const r = await sh('sqlite3', ['-json', db, query]);
  if (r.code !== 0) throw new Error(`sqlite3 ${query}: ${r.stderr}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : [];
}

// ---------------------------------------------------------------- load

class Round {
  constructor(srv, n) {
    this.srv = srv;
    this.n = n;
    this.killed = false;
    this.lineages = [];       // one per answered login
    this.users = new Map();   // username -> {factors, recovery, apiTotp, ...}
    this.problems = [];       // unexpected answers during the load
    this.counts = { login: 0, refresh: 0, step_up: 0, factor: 0, unknown: 0 };
  }

  // One HTTP exchange. Resolves {answered:true, r} or {answered:false}.
  async call(method, path, opts) {
    try {
      const r = await request(this.srv, method, path, opts);
      return { answered: true, r };
    } catch (err) {
      this.counts.unknown++;
      return { answered: false, err };
    }
  }

  expect(what, res, status = 200) {
    if (!res.answered) return false;
    if (res.r.status === status) return true;
    if (!this.killed) this.problems.push(`${what}: ${res.r.status} ${res.r.text}`);
    return false;
  }

  // A TOTP code for one of the user's CLI factors whose next step is free.
  // The server refuses a step at or before the last one it accepted, so a
  // factor serves one step-up at a time (release() when the verify is over):
  // otherwise a later step verified first would make an earlier one "used".
  async freshCode(u) {
    const now = Math.floor(Date.now() / 1000 / kPeriod);
    for (const f of u.factors) {
      if (f.busy) continue;
      const step = Math.max(now, f.lastStep + 1);
      if (step <= now + 1) {
        f.lastStep = step;
        f.busy = true;
        return { factor: f, step, code: await totpAt(f.secret, step), release() { f.busy = false; } };
      }
    }
    return null;
  }

  async worker(username) {
    const u = this.users.get(username);
    const password = USERS[username].password;
    while (!this.killed) {
      const lg = { kind: 'login' };
      const res = await this.call('POST', '/api/v1/login/password', { json: { username, password } });
      if (!this.expect(`login ${username}`, res)) { if (!res.answered) break; continue; }
      this.counts.login++;
      const r = res.r;
      const lin = {
        user: username, publicId: r.json.session.id, cookie: r.session, oldCookies: [],
        rt: r.json.refresh_token, lastRefresh: null, unknown: null, acr: 'aal1', usedCode: null,
      };
      this.lineages.push(lin);

      const refresh = async () => {
        const old = lin.rt;
        const x = await this.call('POST', '/api/v1/token/refresh', { json: { refresh_token: old } });
        if (!x.answered) { lin.unknown = { kind: 'refresh', old }; return false; }
        if (!this.expect(`refresh ${username}`, x)) return false;
        this.counts.refresh++;
        lin.rt = x.r.json.refresh_token;
        lin.lastRefresh = { old, next: lin.rt };
        return true;
      };

      if (!(await refresh())) continue;
      if (rand() < 0.5 && !(await refresh())) continue;

      // Step-up with a fresh TOTP code, then a factor change while elevated.
      const fc = await this.freshCode(u);
      if (fc && !this.killed) {
        const c = await this.call('POST', '/api/v1/step-up',
                                  { cookie: lin.cookie, origin: true, json: { acr_values: 'aal2' } });
        if (!this.expect(`step-up ${username}`, c)) { fc.release(); continue; }
        const v = await this.call('POST', `/api/v1/step-up/${c.r.json.challenge_id}/verify`, {
          cookie: lin.cookie, origin: true,
          json: { method: 'totp', code: fc.code, factor_id: fc.factor.id },
        });
        fc.release();
        if (!v.answered) { lin.unknown = { kind: 'step_up', cookie: lin.cookie }; continue; }
        if (!this.expect(`verify ${username}`, v)) continue;
        this.counts.step_up++;
        lin.oldCookies.push(lin.cookie);
        lin.cookie = v.r.session;
        lin.rt = v.r.json.refresh_token;
        lin.lastRefresh = null;  // the step-up issued a new token; no refresh pair to check
        lin.acr = 'aal2';
        lin.usedCode = fc;
        if (!(await this.factorChange(u, lin))) continue;
      }
      if (!(await refresh())) continue;
    }
  }

  // One factor change on an elevated lineage: new recovery codes, a new TOTP
  // factor (created + confirmed), or deleting a TOTP factor added earlier.
  async factorChange(u, lin) {
    const auth = { cookie: lin.cookie, origin: true };
    const pick = u.ops++ % 3;
    if (pick === 0) {
      u.pending.push({ kind: 'recovery' });
      const x = await this.call('POST', '/api/v1/factors/recovery-codes', { ...auth, json: {} });
      if (!x.answered) { u.recoveryUnknown = true; return false; }
      if (!this.expect('recovery-codes', x)) return false;
      u.recovery = { id: x.r.json.factor_id, codes: x.r.json.codes };
      u.recoveryUnknown = false;
    } else if (pick === 1 || u.apiTotp.length === 0) {
      const x = await this.call('POST', '/api/v1/factors/totp', { ...auth, json: { name: `api-${u.ops}` } });
      if (!x.answered) return false;
      if (!this.expect('factors/totp', x)) return false;
      const f = { id: x.r.json.factor_id, secret: x.r.json.secret, confirmed: 'no' };
      u.apiTotp.push(f);
      const code = await totpAt(f.secret, Math.floor(Date.now() / 1000 / kPeriod));
      const y = await this.call('POST', `/api/v1/factors/totp/${f.id}/confirm`, { ...auth, json: { code } });
      if (!y.answered) { f.confirmed = 'unknown'; return false; }
      if (!this.expect('totp confirm', y)) return false;
      f.confirmed = 'yes';
    } else {
      const f = u.apiTotp.find((t) => t.confirmed === 'yes' && !t.deleted);
      if (!f) return true;
      f.deleted = 'unknown';
      const x = await this.call('DELETE', `/api/v1/factors/${f.id}`, auth);
      if (!x.answered) return false;
      if (!this.expect('delete factor', x)) return false;
      f.deleted = 'yes';
    }
    this.counts.factor++;
    return true;
  }
}

// ---------------------------------------------------------------- checks

async function checkRound(round, fail) {
  const { srv } = round;
  const db = srv.db;
  const get = (path, cookie) => request(srv, 'GET', path, { cookie });
  const post = (path, json, cookie) => request(srv, 'POST', path, { json, cookie, origin: cookie ? true : undefined });

  // Nothing half-written: rotations are whole, no orphans.
  const fk = await sql(db, 'PRAGMA foreign_key_check');
  if (fk.length) fail(`foreign_key_check: ${JSON.stringify(fk)}`);
  const rts = await sql(db, 'SELECT token_hash, rotated_at, replaced_by FROM refresh_tokens');
  const hashes = new Set(rts.map((t) => t.token_hash));
  for (const t of rts) {
    // rotated_at -1 (store kRefreshTokenRevoked): revoked without a successor,
    // at a step-up or with other sessions; otherwise rotated iff replaced.
    if (t.rotated_at === -1) {
      if (t.replaced_by !== '') fail(`revoked refresh token with a successor: ${JSON.stringify(t)}`);
    } else if ((t.rotated_at !== 0) !== (t.replaced_by !== '')) {
      fail(`refresh token half-rotated: ${JSON.stringify(t)}`);
    }
    if (t.replaced_by && !hashes.has(t.replaced_by)) fail(`refresh token replaced by a missing token: ${t.token_hash}`);
  }
  const sessions = new Map((await sql(db, 'SELECT public_id, revoked_at, methods FROM sessions'))
    .map((s) => [s.public_id, s]));
  for (const s of sessions.values()) {
    try { JSON.parse(s.methods); } catch { fail(`session ${s.public_id}: methods is not JSON`); }
  }
  const factors = await sql(db, 'SELECT f.id, f.type, f.confirmed, u.username FROM factors f JOIN users u ON u.id = f.user_id');

  // Every answered login is a live session; answered step-ups are reflected.
  for (const lin of round.lineages) {
    const s = sessions.get(lin.publicId);
    if (!s) { fail(`login of ${lin.user} answered 200 but session ${lin.publicId} is gone`); continue; }
    if (s.revoked_at !== 0) fail(`session ${lin.publicId} of ${lin.user} revoked after the crash`);
    const methods = JSON.parse(s.methods).map((m) => m.method);
    if (lin.acr === 'aal2' && !methods.includes('otp')) fail(`step-up of ${lin.publicId} answered 200 but otp not recorded`);
    for (const old of lin.oldCookies) {
      const r = await get('/api/v1/session', old);
      if (r.status !== 401) fail(`session ${lin.publicId}: a cookie rotated away by step-up still works (${r.status})`);
    }
    const r = await get('/api/v1/session', lin.cookie);
    if (lin.unknown?.kind === 'step_up') {
      // Rotation may or may not have happened; if the old cookie works, no elevation.
      if (r.status === 200 && (r.json.id !== lin.publicId || r.json.acr !== 'aal1')) fail(`session ${lin.publicId}: half a step-up (${r.text})`);
      if (r.status !== 200 && r.status !== 401) fail(`session ${lin.publicId}: ${r.status}`);
      if (r.status === 401 && !methods.includes('otp')) fail(`session ${lin.publicId}: cookie rotated but otp not recorded`);
      continue;
    }
    if (r.status !== 200) { fail(`session ${lin.publicId} of ${lin.user}: GET /session ${r.status} ${r.text}`); continue; }
    if (r.json.id !== lin.publicId) fail(`session ${lin.publicId}: cookie names session ${r.json.id}`);
    if (r.json.acr !== lin.acr) fail(`session ${lin.publicId}: acr ${r.json.acr}, expected ${lin.acr}`);
    // The TOTP step that step-up spent stays spent.
    if (lin.usedCode && Math.floor(Date.now() / 1000 / kPeriod) <= lin.usedCode.step + 1) {
      const c = await post('/api/v1/step-up', { acr_values: 'aal2' }, lin.cookie);
      if (c.status === 200) {
        const v = await post(`/api/v1/step-up/${c.json.challenge_id}/verify`,
                             { method: 'totp', code: lin.usedCode.code, factor_id: lin.usedCode.factor.id }, lin.cookie);
        if (v.status !== 401 || v.json?.error !== 'code_already_used') fail(`replayed TOTP code after the crash: ${v.status} ${v.text}`);
      } else {
        fail(`step-up request after the crash: ${c.status} ${c.text}`);
      }
    }
  }

  // Factor changes answered 200 are there; in-flight ones are whole or absent.
  for (const [name, u] of round.users) {
    const mine = factors.filter((f) => f.username === name);
    const rec = mine.filter((f) => f.type !== 'totp' && f.type !== 'password');
    if (rec.length > 1) fail(`${name}: ${rec.length} recovery-code sets (replacement half-done)`);
    if (u.recovery && !u.recoveryUnknown && !rec.some((f) => f.id === u.recovery.id)) {
      fail(`${name}: recovery codes ${u.recovery.id} answered 200 but not stored`);
    }
    for (const f of u.factors) {
      if (!mine.some((m) => m.id === f.id)) fail(`${name}: CLI factor ${f.id} is gone`);
    }
    for (const f of u.apiTotp) {
      const row = mine.find((m) => m.id === f.id);
      if (f.deleted === 'yes' && row) fail(`${name}: factor ${f.id} deleted (200) but still there`);
      if (f.deleted) continue;
      if (!row) { fail(`${name}: TOTP factor ${f.id} created (200) but gone`); continue; }
      if (f.confirmed === 'yes' && row.confirmed !== 1) fail(`${name}: TOTP factor ${f.id} confirmed (200) but not confirmed`);
    }
    // The newest answered recovery-code set works (all its rows were written).
    if (u.recovery && !u.recoveryUnknown) {
      const l = await login(srv, name);
      const c = l.status === 200 ? await post('/api/v1/step-up', { acr_values: 'aal2' }, l.cookie) : l;
      const v = c.status === 200
        ? await post(`/api/v1/step-up/${c.json.challenge_id}/verify`,
                     { method: 'recovery_code', code: u.recovery.codes[9] }, l.cookie)
        : c;
      if (v.status !== 200) fail(`${name}: a recovery code of the stored set fails: ${v.status} ${v.text}`);
    }
  }

  // Refreshes (destructive, so last): the new token works, the old one counts
  // as reused and revokes the session. In flight: one or the other, consistently.
  for (const lin of round.lineages) {
    if (lin.unknown?.kind === 'step_up') continue;
    if (lin.unknown?.kind === 'refresh') {
      const r = await post('/api/v1/token/refresh', { refresh_token: lin.unknown.old });
      const s = await get('/api/v1/session', lin.cookie);
      if (r.status === 200) {
        if (s.status !== 200) fail(`${lin.publicId}: in-flight refresh not applied, but session dead (${s.status})`);
      } else if (r.status === 401 && r.json?.error === 'refresh_token_reused') {
        if (s.status !== 401) fail(`${lin.publicId}: in-flight refresh applied and reused, but session alive`);
      } else {
        fail(`${lin.publicId}: in-flight refresh token gives ${r.status} ${r.text}`);
      }
      continue;
    }
    const r = await post('/api/v1/token/refresh', { refresh_token: lin.rt });
    if (r.status !== 200) { fail(`${lin.publicId}: newest refresh token fails after the crash: ${r.status} ${r.text}`); continue; }
    if (lin.lastRefresh) {
      const o = await post('/api/v1/token/refresh', { refresh_token: lin.lastRefresh.old });
      if (o.status !== 401 || o.json?.error !== 'refresh_token_reused') fail(`${lin.publicId}: rotated refresh token not spent: ${o.status} ${o.text}`);
      const s = await get('/api/v1/session', lin.cookie);
      if (s.status !== 401) fail(`${lin.publicId}: reuse did not revoke the session (${s.status})`);
    }
  }
}

async function storeChecks(srv, fail, when) {
  const ic = await sh('sqlite3', [srv.db, 'PRAGMA integrity_check']);
  if (ic.code !== 0 || ic.stdout.trim() !== 'ok') fail(`${when}: integrity_check: ${ic.stdout}${ic.stderr}`);
  const av = await srv.cli(['audit', 'verify']);
  if (av.code !== 0) fail(`${when}: audit verify exit ${av.code}: ${av.stdout}${av.stderr}`);
}

// ---------------------------------------------------------------- main

async function runRound(n) {
  const problems = [];
  const fail = (m) => problems.push(m);
  const srv = await startServer(CONFIG);
  try {
    const round = new Round(srv, n);
    for (const name of WORKER_USERS) {
      const factors = [];
      for (let i = 0; i < 2; i++) {
        const r = await srv.cli(['factor', 'add-totp', name, '--label', `cli-${i}`, '--json']);
        if (r.code !== 0) throw new Error(`factor add-totp: ${r.stdout}${r.stderr}`);
        const v = JSON.parse(r.stdout);
        factors.push({ id: v.factor_id, secret: v.secret, lastStep: -1 });
      }
      round.users.set(name, { factors, apiTotp: [], recovery: null, recoveryUnknown: false, ops: n, pending: [] });
    }
    // Two workers per user: concurrent requests on the same rows.
    const workers = [];
    for (const name of WORKER_USERS) workers.push(round.worker(name), round.worker(name));
    const killAfter = Math.round(400 + rand() * 3600);
    await sleep(killAfter);
    srv.child.kill('SIGKILL');
    round.killed = true;
    await srv.stopProcess('SIGKILL');
    await Promise.all(workers);
    problems.push(...round.problems);
    await storeChecks(srv, fail, 'after the kill');
    await srv.startProcess();
    await checkRound(round, fail);
    await srv.stopProcess('SIGTERM');
    await storeChecks(srv, fail, 'after the checks');
    const c = round.counts;
    const line = `round ${n}: killed after ${killAfter} ms; answered 200: ${c.login} logins, ` +
      `${c.refresh} refreshes, ${c.step_up} step-ups, ${c.factor} factor changes; ${c.unknown} in flight`;
    return { line, problems, counts: c };
  } finally {
    await srv.stop();
  }
}

let passed = 0;
let failed = 0;
console.log(`crash test: ${ROUNDS} rounds, seed ${SEED0} (CRASH_SEED=${SEED0} replays the kill points)`);
for (let n = 1; n <= ROUNDS; n++) {
  let res;
  try {
    res = await runRound(n);
  } catch (err) {
    res = { line: `round ${n}: error`, problems: [String(err?.stack ?? err)] };
  }
  if (res.problems.length === 0 && res.counts && res.counts.login > 0) {
    passed++;
    console.log(`ok   ${res.line}`);
  } else {
    failed++;
    if (res.counts && res.counts.login === 0) res.problems.push('no login was answered before the kill');
    console.log(`FAIL ${res.line}`);
    for (const p of res.problems.slice(0, 30)) console.log(`     ${p}`);
  }
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
