// Soak test for stepup (issue 7, item 5): measures the maximum forward-auth
// decision rate briefly, then runs a paced mix of decisions, session reads,
// refreshes, sign-ins (+ logout of the session they replace) and TOTP
// step-ups at `fraction` x that rate for `duration`, and reports errors,
// per-kind counts and latency, and the server's RSS after warm-up and at the
// end. Exit 0 when errors == 0, RSS growth < 5 % and `audit verify` passes;
// 1 when a check fails; 2 on bad usage or a setup failure.
//
// Only talks to 127.0.0.1 (the server harness from tests/integration binds
// there), stops by itself after `duration`, and always ends the server.
// Single-threaded node: a client (one signed-in session) is used by at most
// one request at a time, so session-id rotation and refresh-token rotation
// never race with another request of the same client (a race would be a
// false "error").
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { REPO, STEPUP_BIN, startServer } from '../../tests/integration/lib/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- options

const kUsage = `usage: bench/soak [--duration 10m] [--fraction 0.5] [--out FILE]
                  [--max-seconds 10] [--warmup DUR] [--users 150]
                  [--clients 256] [--concurrency 64] [--mix forward=935,session=30,refresh=20,signin=10,stepup=5]
  --duration     how long the paced mix runs (s, m, h suffixes; default 10m)
  --fraction     share of the measured maximum decision rate to run at (default 0.5)
  --out          report file (default bench/results/soak-<date>.md)
  --max-seconds  length of the maximum-rate measurement (default 10)
  --warmup       when the start RSS is taken (default max(60s, 10% of duration), at most half of it)
  --users        users created with the CLI, each with a TOTP factor (default 150)
  --clients      signed-in sessions the load cycles through (default 256)
  --concurrency  requests in flight for the max measurement; the soak allows twice as many (default 64)
  --mix          relative weights of the operations in the soak`;

function parseDuration(s) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(s));
  if (!m) throw new Error(`bad duration: ${s}`);
  const mult = { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? 's'];
  return Number(m[1]) * mult;
}

function parseArgs(argv) {
  const o = {
    duration: 600, fraction: 0.5, out: null, maxSeconds: 10, warmup: null,
    users: 150, clients: 256, concurrency: 64,
    mix: { forward: 935, session: 30, refresh: 20, signin: 10, stepup: 5 },
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const [key, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const val = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) throw new Error(`${key} needs a value`);
      return argv[++i];
    };
    switch (key) {
      case '-h': case '--help': console.log(kUsage); process.exit(0); break;
      case '--duration': o.duration = parseDuration(val()); break;
      case '--fraction': o.fraction = Number(val()); break;
      case '--out': o.out = val(); break;
      case '--max-seconds': o.maxSeconds = parseDuration(val()); break;
      case '--warmup': o.warmup = parseDuration(val()); break;
      case '--users': o.users = Number.parseInt(val(), 10); break;
      case '--clients': o.clients = Number.parseInt(val(), 10); break;
      case '--concurrency': o.concurrency = Number.parseInt(val(), 10); break;
      case '--mix': {
        const mix = { forward: 0, session: 0, refresh: 0, signin: 0, stepup: 0 };
        for (const part of val().split(',')) {
          const [k, v] = part.split('=');
          if (!(k in mix) || !(Number(v) >= 0)) throw new Error(`bad --mix entry: ${part}`);
          mix[k] = Number(v);
        }
        o.mix = mix;
        break;
      }
      default: throw new Error(`unknown argument: ${a}`);
    }
  }
  if (!(o.fraction > 0 && o.fraction <= 1)) throw new Error('--fraction must be in (0, 1]');
  if (!(o.duration >= 10)) throw new Error('--duration must be at least 10s');
  if (!(o.users >= 1 && o.clients >= 1 && o.concurrency >= 1)) throw new Error('--users, --clients, --concurrency must be >= 1');
  if (o.clients < 2 * o.concurrency) o.clients = 2 * o.concurrency;
  // A warm-up minute, or 10 % of a long run, but never more than half the run.
  o.warmup ??= Math.min(Math.max(60, o.duration * 0.1), o.duration / 2);
  if (o.warmup >= o.duration) throw new Error('--warmup must be shorter than --duration');
  if (!o.out) {
    const d = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 13);
    o.out = path.join(REPO, 'bench/results', `soak-${d}.md`);
  }
  return o;
}

// ---------------------------------------------------------------- stats

// Log-bucketed latency histogram (1 % wide buckets from 1 us): constant
// memory however long the soak runs, percentiles accurate to about 1 %.
class Histogram {
  constructor() { this.buckets = new Map(); this.count = 0; this.max = 0; }
  add(ms) {
    const us = Math.max(1, ms * 1000);
    const b = Math.floor(Math.log(us) / Math.log(1.01));
    this.buckets.set(b, (this.buckets.get(b) ?? 0) + 1);
    this.count++;
    if (ms > this.max) this.max = ms;
  }
  pct(p) {
    if (this.count === 0) return NaN;
    const want = Math.ceil(this.count * p);
    let seen = 0;
    for (const b of [...this.buckets.keys()].sort((x, y) => x - y)) {
      seen += this.buckets.get(b);
      if (seen >= want) return 1.01 ** (b + 0.5) / 1000;
    }
    return this.max;
  }
}

class Stats {
  constructor() { this.kinds = new Map(); this.errors = []; this.errorCount = 0; }
  kind(name) {
    let k = this.kinds.get(name);
    if (!k) { k = { count: 0, errors: 0, hist: new Histogram(), statuses: new Map() }; this.kinds.set(name, k); }
    return k;
  }
  ok(name, ms, status) {
    const k = this.kind(name);
    k.count++;
    k.hist.add(ms);
    k.statuses.set(status, (k.statuses.get(status) ?? 0) + 1);
  }
  error(name, ms, what) {
    const k = this.kind(name);
    k.count++;
    k.errors++;
    if (ms !== null) k.hist.add(ms);
    this.errorCount++;
    if (this.errors.length < 20) this.errors.push(`${name}: ${what}`);
  }
  total() { let n = 0; for (const k of this.kinds.values()) n += k.count; return n; }
}

// ---------------------------------------------------------------- HTTP

let agent;
let base;  // {host, port, origin, cookieName}

// One request over the keep-alive agent. Resolves {status, headers, body,
// json, ms}; rejects only on transport errors.
function call(method, urlPath, { headers = {}, json } = {}) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    let body;
    if (json !== undefined) {
      body = Buffer.from(JSON.stringify(json));
      h['content-type'] = 'application/json';
      h['content-length'] = body.length;
    }
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: base.host, port: base.port, method, path: urlPath, headers: h, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed;
        if (text && /json/.test(res.headers['content-type'] ?? '')) {
          try { parsed = JSON.parse(text); } catch { parsed = undefined; }
        }
        resolve({ status: res.statusCode, headers: res.headers, body: text, json: parsed, ms });
      });
      res.on('error', reject);
    });
    req.setTimeout(15000, () => req.destroy(new Error('timeout after 15 s')));
    req.on('error', reject);
    req.end(body);
  });
}

function sessionCookie(res) {
  const prefix = `${base.cookieName}=`;
  for (const c of res.headers['set-cookie'] ?? []) {
    if (c.startsWith(prefix)) return c.slice(prefix.length).split(';')[0];
  }
  return undefined;
}

// ---------------------------------------------------------------- TOTP

const kPeriod = 30;
const currentStep = () => Math.floor(Date.now() / 1000 / kPeriod);
const oathTime = (sec) => new Date(sec * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

// The code of `secret` at `step`, computed by oathtool (an implementation
// independent of the server's).
function totpAt(secret, step) {
  return new Promise((resolve, reject) => {
    execFile('oathtool', ['--totp', '-b', '--now', oathTime(step * kPeriod + 1), secret], { timeout: 10000 },
             (err, stdout, stderr) => (err ? reject(new Error(`oathtool: ${err.message} ${stderr}`)) : resolve(stdout.trim())));
  });
}

// A TOTP code is single use per factor and the server refuses steps older
// than the last accepted one; it accepts the current step +-1. So a user can
// step up at most about once per period: hand out max(now, last+1) while it
// is <= now+1, otherwise report "none free" (never wait: the pacer must not
// stall).
function claimStep(user) {
  // One step-up per user at a time: two in flight could arrive out of order
  // (step S+1 before S), and the server then rightly refuses S as replayed.
  if (user.stepping) return null;
  const now = currentStep();
  const step = Math.max(now, user.lastStep + 1);
  if (step > now + 1) return null;
  user.lastStep = step;
  user.stepping = true;
  return step;
}

// ---------------------------------------------------------------- clients

// A client is one signed-in session of one user: cookie, tokens, and what the
// forward-auth answer should be for an aal2 route.
function bearerUsable(c) { return c.access && c.accessExp - Date.now() / 1000 > 15; }

function credHeaders(c, useBearer) {
  if (useBearer && bearerUsable(c)) return { authorization: `Bearer ${c.access}` };
  return { cookie: `${base.cookieName}=${c.cookie}` };
}

function adoptTokens(c, j) {
  c.access = j.access_token;
  c.accessExp = Date.now() / 1000 + j.expires_in;
  if (j.refresh_token) c.refresh = j.refresh_token;
}

async function signIn(user) {
  const r = await call('POST', '/api/v1/login/password', {
    headers: { origin: base.origin }, json: { username: user.name, password: user.password },
  });
  const cookie = sessionCookie(r);
  const ok = r.status === 200 && r.json?.access_token && r.json?.refresh_token && cookie;
  return { r, ok, cookie };
}

// Expected forward-auth outcome for the aal2 rule (/payments/**, max_age 5m,
// elevation 15m): null when too close to a boundary to say.
const kMaxAge = 300;
const kElevation = 900;
const kMargin = 10;
function paymentsExpectation(c) {
  if (c.elevatedAt === null) return 401;
  const age = Date.now() / 1000 - c.elevatedAt;
  if (age < kMaxAge - kMargin && age < kElevation - kMargin) return 200;
  if (age > kMaxAge + kMargin) return 401;
  return null;
}

// ---------------------------------------------------------------- operations

// Each op takes a locked client (or none) and records into stats. They never
// throw: transport errors are counted as errors.
const ops = {
  async forward(stats, c) {
    const pick = Math.random();
    const useBearer = Math.random() < 0.5;
    let method = 'GET';
    let uri = `/app/${(Math.random() * 1e6) | 0}`;
    let expect = 200;
    let headers = credHeaders(c, useBearer);
    if (pick < 0.05) { uri = '/blocked/x'; expect = 403; } else if (pick < 0.10) { headers = {}; expect = 401; } else if (pick < 0.15) {
      const e = paymentsExpectation(c);
      if (e !== null) { method = 'POST'; uri = '/payments/transfer'; expect = e; }
    }
    let kind = 'forward';
    if (Object.keys(headers).length === 0) kind = 'forward, no credential';
    else if (method === 'POST') kind = 'forward POST /payments (aal2)';
    else if (expect === 403) kind = 'forward, denied route';
    try {
      const r = await call('GET', '/api/v1/authz/forward', {
        headers: { ...headers, 'x-forwarded-method': method, 'x-forwarded-proto': 'https',
                   'x-forwarded-host': 'app.example', 'x-forwarded-uri': uri },
      });
      if (r.status !== expect) return stats.error(kind, r.ms, `status ${r.status}, expected ${expect}: ${r.body.slice(0, 200)}`);
      if (expect === 200 && r.headers['x-stepup-subject'] !== c.subject) {
        return stats.error(kind, r.ms, `X-Stepup-Subject ${r.headers['x-stepup-subject']}, expected ${c.subject}`);
      }
      stats.ok(kind, r.ms, r.status);
    } catch (err) { stats.error(kind, null, err.message); }
  },

  async session(stats, c) {
    try {
      const r = await call('GET', '/api/v1/session', { headers: credHeaders(c, Math.random() < 0.5) });
      if (r.status !== 200 || r.json?.subject !== c.subject) return stats.error('session read', r.ms, `status ${r.status}: ${r.body.slice(0, 200)}`);
      stats.ok('session read', r.ms, r.status);
    } catch (err) { stats.error('session read', null, err.message); }
  },

  async refresh(stats, c) {
    try {
      const r = await call('POST', '/api/v1/token/refresh', { json: { refresh_token: c.refresh } });
      if (r.status !== 200 || !r.json?.access_token || !r.json?.refresh_token) {
        return stats.error('refresh', r.ms, `status ${r.status}: ${r.body.slice(0, 200)}`);
      }
      adoptTokens(c, r.json);
      stats.ok('refresh', r.ms, r.status);
    } catch (err) { stats.error('refresh', null, err.message); }
  },

  // A new sign-in replaces the client's session; the old one is logged out so
  // the number of live sessions stays constant.
  async signin(stats, c) {
    try {
      const { r, ok, cookie } = await signIn(c.user);
      if (!ok) return stats.error('sign-in', r.ms, `status ${r.status}: ${r.body.slice(0, 200)}`);
      stats.ok('sign-in', r.ms, r.status);
      const old = { ...c };
      c.cookie = cookie;
      c.subject = r.json.session.subject;
      c.elevatedAt = null;
      adoptTokens(c, r.json);
      const loHeaders = bearerUsable(old) ? { authorization: `Bearer ${old.access}` }
        : { cookie: `${base.cookieName}=${old.cookie}`, origin: base.origin };
      const lo = await call('POST', '/api/v1/logout', { headers: loHeaders });
      if (lo.status !== 200) return stats.error('logout', lo.ms, `status ${lo.status}: ${lo.body.slice(0, 200)}`);
      stats.ok('logout', lo.ms, lo.status);
    } catch (err) { stats.error('sign-in', null, err.message); }
  },

  // Challenge + TOTP verify. Returns false (nothing sent) when the user has
  // no unspent time step left; the caller then sends a decision instead.
  async stepup(stats, c) {
    const step = claimStep(c.user);
    if (step === null) return false;
    try {
      const code = await totpAt(c.user.secret, step);
      const auth = { authorization: `Bearer ${c.access}` };
      if (!bearerUsable(c)) await ops.refresh(stats, c);
      auth.authorization = `Bearer ${c.access}`;
      const ch = await call('POST', '/api/v1/step-up', { headers: auth, json: { acr_values: 'aal2', return_to: '/payments' } });
      if (ch.status !== 200 || !ch.json?.challenge_id) return stats.error('step-up challenge', ch.ms, `status ${ch.status}: ${ch.body.slice(0, 200)}`);
      stats.ok('step-up challenge', ch.ms, ch.status);
      const v = await call('POST', `/api/v1/step-up/${encodeURIComponent(ch.json.challenge_id)}/verify`, {
        headers: auth, json: { method: 'totp', code },
      });
      const cookie = sessionCookie(v);
      if (v.status !== 200 || v.json?.acr !== 'aal2' || !cookie) {
        return stats.error('step-up verify', v.ms, `status ${v.status} (step ${step}, now ${currentStep()}): ${v.body.slice(0, 200)}`);
      }
      stats.ok('step-up verify', v.ms, v.status);
      c.cookie = cookie;  // the session id rotated: the old cookie is dead
      c.elevatedAt = v.json.auth_time ?? Math.floor(Date.now() / 1000);
      adoptTokens(c, v.json);
    } catch (err) { stats.error('step-up', null, err.message); } finally { c.user.stepping = false; }
    return true;
  },
};

// ---------------------------------------------------------------- phases

function rss(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rssKiB: kb('VmRSS'), hwmKiB: kb('VmHWM'), threads: Number(/^Threads:\s+(\d+)/m.exec(s)?.[1] ?? NaN) };
}

// RSS without transient buffers: the lowest of 10 readings over one second.
// Each sign-in's Argon2id hash holds its memory (8 MiB here) only while it
// runs; a single reading that lands inside a hash would be 8 MiB high and
// say nothing about growth.
async function settledRss(pid) {
  let best = null;
  for (let i = 0; i < 10; i++) {
    const s = rss(pid);
    if (best === null || s.rssKiB < best.rssKiB) best = s;
    if (i < 9) await sleep(100);
  }
  return best;
}

// CPU seconds (user + system) the process has used so far.
function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;  // utime, stime in USER_HZ (100 on Linux)
}

// Idle-client pool: a client is handed to one operation at a time.
class Pool {
  constructor(clients) { this.idle = [...clients]; }
  take() {
    if (this.idle.length === 0) return null;
    const i = (Math.random() * this.idle.length) | 0;
    const c = this.idle[i];
    this.idle[i] = this.idle[this.idle.length - 1];
    this.idle.pop();
    return c;
  }
  give(c) { this.idle.push(c); }
}

// Closed loop: `concurrency` workers issue aal1 forward-auth decisions back
// to back for `seconds`. The measured rate is what this box does with this
// client and the server sharing the CPUs.
async function measureMax(clients, concurrency, seconds) {
  const stats = new Stats();
  const pool = new Pool(clients);
  let stop = false;
  const worker = async () => {
    while (!stop) {
      const c = pool.take();
      const t0 = process.hrtime.bigint();
      try {
        const r = await call('GET', '/api/v1/authz/forward', {
          headers: { ...credHeaders(c, Math.random() < 0.5), 'x-forwarded-method': 'GET', 'x-forwarded-proto': 'https',
                     'x-forwarded-host': 'app.example', 'x-forwarded-uri': '/app/max' },
        });
        if (r.status === 200) stats.ok('forward', r.ms, r.status);
        else stats.error('forward', r.ms, `status ${r.status}: ${r.body.slice(0, 200)}`);
      } catch (err) {
        stats.error('forward', Number(process.hrtime.bigint() - t0) / 1e6, err.message);
      } finally { pool.give(c); }
    }
  };
  const t0 = Date.now();
  const workers = Array.from({ length: concurrency }, worker);
  await sleep(seconds * 1000);
  stop = true;
  await Promise.all(workers);
  const secs = (Date.now() - t0) / 1000;
  return { stats, secs, rate: stats.kind('forward').count / secs };
}

// Open loop: every tick, send what the schedule says is due (rate x elapsed),
// as long as fewer than `cap` are in flight and an idle client exists;
// otherwise count the slot as "not sent" (the report says so: the achieved
// rate is then below the target).
async function soak({ clients, rate, seconds, cap, mix, onTick }) {
  const stats = new Stats();
  const pool = new Pool(clients);
  const names = Object.keys(mix).filter((k) => mix[k] > 0);
  const total = names.reduce((s, k) => s + mix[k], 0);
  const pickOp = () => {
    let x = Math.random() * total;
    for (const k of names) { x -= mix[k]; if (x < 0) return k; }
    return names[names.length - 1];
  };
  let inflight = 0;
  let issued = 0;
  let notSent = 0;
  let stepupDeferred = 0;
  const pending = new Set();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let lastTick = t0;
  for (;;) {
    const now = performance.now();
    if (now >= end) break;
    const due = Math.floor(((now - t0) / 1000) * rate) - issued;
    for (let i = 0; i < due; i++) {
      issued++;
      const c = inflight < cap ? pool.take() : null;
      if (!c) { notSent++; continue; }
      inflight++;
      const name = pickOp();
      const p = (async () => {
        if (name === 'stepup') {
          if (!(await ops.stepup(stats, c))) { stepupDeferred++; await ops.forward(stats, c); }
        } else {
          await ops[name](stats, c);
        }
      })().finally(() => { inflight--; pool.give(c); pending.delete(p); });
      pending.add(p);
    }
    if (now - lastTick >= 1000) { lastTick = now; onTick?.(stats, (now - t0) / 1000); }
    await sleep(2);
  }
  await Promise.all(pending);
  const secs = (performance.now() - t0) / 1000;
  return { stats, secs, issued, notSent, stepupDeferred };
}

// ---------------------------------------------------------------- setup

async function pmap(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) { const i = next++; out[i] = await fn(items[i], i); }
  }));
  return out;
}

const kHigh = { per_second: 1000000, burst: 1000000 };

async function setup(o, log) {
  const srv = await startServer({
    log: { level: 'warn' },
    tokens: { access_ttl: '120s' },
    levels: { aal2: { elevation: `${kElevation}s` } },
    rules: [
      { methods: ['POST'], path: '/payments/**', level: 'aal2', max_age: `${kMaxAge}s`, reason: 'Payments need a second factor' },
      { path: '/public/**', public: true },
      { path: '/blocked/**', deny: true, reason: 'Blocked for everyone' },
      { path: '/**', level: 'aal1' },
    ],
    rate_limits: { login: kHigh, verify: kHigh },
    lockout: { max_failures: 5, base_delay: '60s', max_delay: '1h' },
  }, { users: [] });
  base = { host: '127.0.0.1', port: srv.port, origin: srv.origin, cookieName: 'stepup_session' };
  agent = new http.Agent({ keepAlive: true, maxSockets: 2 * o.concurrency, maxFreeSockets: 2 * o.concurrency });

  const t0 = Date.now();
  const users = await pmap(Array.from({ length: o.users }, (_, i) => i), 2, async (i) => {
    const name = `soak${String(i).padStart(4, '0')}`;
    const password = `soak-${i}-Quartz-${(i * 7919) % 10007}-glade`;
    const a = await srv.cli(['user', 'add', name, '--password-stdin'], { stdin: `${password}\n` });
    if (a.code !== 0) throw new Error(`user add ${name}: exit ${a.code} ${a.stdout}${a.stderr}`);
    const f = await srv.cli(['factor', 'add-totp', name, '--json']);
    if (f.code !== 0) throw new Error(`factor add-totp ${name}: exit ${f.code} ${f.stdout}${f.stderr}`);
    const { secret } = JSON.parse(f.stdout);
    if (!/^[A-Z2-7]+=*$/.test(secret ?? '')) throw new Error(`factor add-totp ${name}: no base32 secret in ${f.stdout}`);
    return { name, password, secret, lastStep: -Infinity, stepping: false };
  });
  log(`created ${users.length} users with TOTP in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const clients = await pmap(Array.from({ length: o.clients }, (_, i) => users[i % users.length]), 8, async (user) => {
    const { r, ok, cookie } = await signIn(user);
    if (!ok) throw new Error(`sign-in of ${user.name}: ${r.status} ${r.body}`);
    const c = { user, cookie, subject: r.json.session.subject, access: null, accessExp: 0, refresh: null, elevatedAt: null };
    adoptTokens(c, r.json);
    return c;
  });
  log(`signed in ${clients.length} sessions`);
  return { srv, users, clients };
}

// ---------------------------------------------------------------- report

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const mib = (kib) => (kib / 1024).toFixed(1);
const dur = (s) => (s % 60 === 0 ? `${s / 60}m` : `${s}s`);

function kindTable(stats, secs) {
  const rows = ['| kind | requests | req/s | errors | p50 ms | p99 ms | max ms | statuses |', '|---|---:|---:|---:|---:|---:|---:|---|'];
  const order = [...stats.kinds.keys()].sort((a, b) => stats.kinds.get(b).count - stats.kinds.get(a).count);
  for (const name of order) {
    const k = stats.kinds.get(name);
    const st = [...k.statuses.entries()].map(([s, n]) => `${s}×${n}`).join(' ');
    rows.push(`| ${name} | ${k.count} | ${f1(k.count / secs)} | ${k.errors} | ${f2(k.hist.pct(0.5))} | ${f2(k.hist.pct(0.99))} | ${f1(k.hist.max)} | ${st} |`);
  }
  rows.push(`| **all** | ${stats.total()} | ${f1(stats.total() / secs)} | ${stats.errorCount} | | | | |`);
  return rows.join('\n');
}

function render(o, r) {
  const lines = [];
  lines.push(`# stepup soak, ${r.startedAt}`, '');
  lines.push(`Command: \`bench/soak ${r.argv}\``, '');
  lines.push(`Machine: ${os.cpus().length} CPU (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; ` +
             `load average at start ${r.loadStart.map((x) => x.toFixed(2)).join(' ')}; binary \`${STEPUP_BIN}\`.`, '');
  lines.push(`Setup: ${o.users} users created with \`stepup user add\` + \`stepup factor add-totp\`, ` +
             `${o.clients} signed-in sessions, SQLite file in a temp dir, Argon2id 8 MiB / t=1, rate limits off.`, '');
  lines.push('## Verdict', '');
  lines.push(`- **${r.pass ? 'PASS' : 'FAIL'}**: errors ${r.soak.stats.errorCount} (must be 0), RSS growth ${f2(r.growth)} % (must be < 5 %), audit verify ${r.auditOk ? 'ok' : 'FAILED'}.`);
  const reached = (100 * (r.soak.issued - r.soak.notSent)) / Math.max(1, r.soak.issued);
  lines.push(`- Load: ${f1(reached)} % of the target operations were sent` +
             (reached < 95 ? ' (the server could not keep up with this mix at this rate: see "not sent" below).' : '.'));
  lines.push('');
  lines.push('## Maximum decision rate', '');
  lines.push(`${dur(o.maxSeconds)} closed loop, ${o.concurrency} concurrent keep-alive connections, ` +
             'GET /api/v1/authz/forward for an aal1 route, half by cookie and half by bearer token:', '');
  lines.push(`- **${f1(r.max.rate)} decisions/s** (p50 ${f2(r.max.stats.kind('forward').hist.pct(0.5))} ms, ` +
             `p99 ${f2(r.max.stats.kind('forward').hist.pct(0.99))} ms, errors ${r.max.stats.errorCount}). ` +
             'Client (one node process) and server share the same CPUs, so this is the ceiling of this set-up, not of the server alone.', '');
  lines.push('## Soak', '');
  const mixTotal = Object.values(o.mix).reduce((a, b) => a + b, 0);
  lines.push(`${dur(o.duration)} at ${o.fraction} × max = **${f1(r.rate)} operations/s** target; ` +
             `mix (of operations): ${Object.entries(o.mix).map(([k, v]) => `${k} ${f1((100 * v) / mixTotal)} %`).join(', ')}. ` +
             'A sign-in also logs out the session it replaces; a step-up is a challenge plus a TOTP verify (code from oathtool). ' +
             'Decisions are 85 % aal1 GET (200), 5 % denied route (403), 5 % no credential (401), ' +
             '5 % POST /payments (aal2, max_age 5m: 200 within 5 min of the client\'s step-up, else 401).', '');
  lines.push(`- operations issued ${r.soak.issued}, not sent because ${2 * o.concurrency} were in flight or no session was idle: ${r.soak.notSent}; ` +
             `step-ups replaced by a decision because every user's next TOTP step was spent: ${r.soak.stepupDeferred}.`);
  lines.push(`- achieved ${f1(r.soak.stats.total() / r.soak.secs)} requests/s over ${f1(r.soak.secs)} s; ` +
             `CPU used: server ${f2(r.cpuUse.server)} cores, load client ${f2(r.cpuUse.client)} cores (of ${os.cpus().length}).`, '');
  lines.push(kindTable(r.soak.stats, r.soak.secs), '');
  if (r.soak.stats.errors.length) {
    lines.push('First errors:', '', '```', ...r.soak.stats.errors, '```', '');
  }
  lines.push('## Server memory', '');
  lines.push('RSS is VmRSS from /proc/PID/status, the lowest of 10 readings over one second (an Argon2id hash in flight adds its 8 MiB while it runs).', '');
  lines.push(`- RSS after warm-up (${f1(o.warmup)} s): **${mib(r.rssStart.rssKiB)} MiB**; at the end: **${mib(r.rssEnd.rssKiB)} MiB**; ` +
             `growth **${f2(r.growth)} %**; peak (VmHWM) ${mib(r.rssEnd.hwmKiB)} MiB; threads ${r.rssEnd.threads}.`);
  lines.push(`- RSS before the maximum-rate phase: ${mib(r.rssBoot.rssKiB)} MiB. SQLite file at the end: ${mib(r.dbKiB)} MiB.`);
  lines.push(`- RSS samples (s: MiB): ${r.samples.map(([t, k]) => `${t.toFixed(0)}: ${mib(k)}`).join(', ')}`, '');
  lines.push(`\`stepup audit verify\` after the run: ${r.auditOk ? 'ok' : 'FAILED'} (${r.auditOut.trim().split('\n').slice(-1)[0] ?? ''}).`, '');
  return lines.join('\n');
}

// ---------------------------------------------------------------- main

async function main() {
  let o;
  try { o = parseArgs(process.argv.slice(2)); } catch (err) { console.error(`soak: ${err.message}\n${kUsage}`); return 2; }
  const log = (m) => console.error(`[soak ${new Date().toISOString().slice(11, 19)}] ${m}`);
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const loadStart = os.loadavg();
  log(`binary ${STEPUP_BIN}; duration ${o.duration} s, fraction ${o.fraction}, warm-up ${o.warmup} s`);

  let env;
  try { env = await setup(o, log); } catch (err) { console.error(`soak: setup failed: ${err.message}`); return 2; }
  const { srv, clients } = env;
  const pid = srv.child.pid;
  try {
    const rssBoot = rss(pid);
    // A short closed-loop warm-up so connection set-up and first-touch costs
    // are not in the measurement.
    await measureMax(clients, o.concurrency, 2);
    const max = await measureMax(clients, o.concurrency, o.maxSeconds);
    log(`max decision rate ${max.rate.toFixed(0)}/s (errors ${max.stats.errorCount})`);
    if (max.stats.errorCount > 0) log(`max-rate errors: ${max.stats.errors.slice(0, 3).join(' | ')}`);

    const rate = max.rate * o.fraction;
    const samples = [];
    let rssStart = null;
    let startPending = null;
    const cpu0 = { server: cpuSeconds(pid), client: process.cpuUsage() };
    let nextSample = 0;
    const soakRes = await soak({
      clients, rate, seconds: o.duration, cap: 2 * o.concurrency, mix: o.mix,
      onTick: (stats, t) => {
        if (srv.child === null || srv.child.exitCode !== null || srv.child.signalCode !== null) {
          throw new Error(`server exited during the soak\n${srv.stderr.slice(-2000)}`);
        }
        if (startPending === null && t >= o.warmup) {
          startPending = settledRss(pid).then((s) => { rssStart = s; samples.push([t, s.rssKiB]); log(`warm-up done: RSS ${mib(s.rssKiB)} MiB`); },
                                              () => { /* the process is gone: the next tick reports it */ });
        }
        if (t >= nextSample) {
          nextSample += Math.max(5, o.duration / 30);
          const total = stats.total();
          const errs = stats.errorCount;
          settledRss(pid).then((s) => {
            if (startPending !== null && t > o.warmup) samples.push([t, s.rssKiB]);
            log(`t=${t.toFixed(0)}s requests ${total} errors ${errs} RSS ${mib(s.rssKiB)} MiB`);
          }, () => { /* the process is gone: the next tick reports it */ });
        }
      },
    });
    await startPending;
    const rssEnd = await settledRss(pid);
    const cpuUse = {
      server: (cpuSeconds(pid) - cpu0.server) / soakRes.secs,
      client: ((u) => (u.user + u.system) / 1e6 / soakRes.secs)(process.cpuUsage(cpu0.client)),
    };
    samples.push([soakRes.secs, rssEnd.rssKiB]);
    samples.sort((a, b) => a[0] - b[0]);
    for (let i = samples.length - 1; i > 0; i--) if (samples[i][0] === samples[i - 1][0]) samples.splice(i, 1);
    rssStart ??= rssEnd;
    const growth = (100 * (rssEnd.rssKiB - rssStart.rssKiB)) / rssStart.rssKiB;

    await srv.stopProcess('SIGTERM');
    let dbKiB = 0;
    for (const suffix of ['', '-wal']) {
      try { dbKiB += fs.statSync(srv.db + suffix).size / 1024; } catch { /* no WAL after a clean stop */ }
    }
    const audit = await srv.cli(['audit', 'verify']);
    const auditOk = audit.code === 0;

    const pass = soakRes.stats.errorCount === 0 && growth < 5 && auditOk;
    const report = render(o, {
      startedAt, argv: process.argv.slice(2).join(' '), loadStart, max, rate, soak: soakRes,
      rssBoot, rssStart, rssEnd, growth, cpuUse, samples, dbKiB, auditOk, auditOut: audit.stdout + audit.stderr, pass,
    });
    fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
    fs.writeFileSync(o.out, report);
    console.log(report);
    log(`report written to ${o.out}`);
    return pass ? 0 : 1;
  } catch (err) {
    console.error(`soak: ${err.stack ?? err.message}`);
    return 1;
  } finally {
    agent.destroy();
    await srv.stop();
  }
}

process.exitCode = await main();
