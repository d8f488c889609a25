// Helpers for the step-up integration tests: TOTP codes from an independent
// implementation (Debian `oathtool`), a signed-in "browser" that follows
// session id rotation, forward-auth, and the CLI commands for factors.
//
// TOTP codes are single use per factor and the server remembers the last time
// step it accepted, so nextCode() hands out each (secret, step) pair at most
// once and never goes back in time; the server accepts +-1 step, so it may
// pick the next step, and otherwise waits for the clock.
//
// Not thread-safe: one test file at a time drives these (node --test runs
// files in separate processes, so the step memory is per file).
import { execFile } from 'node:child_process';
import assert from 'node:assert/strict';
import { mustLogin, request, USERS } from './server.mjs';

export const kPeriod = 30;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- config

export const kHigh = { per_second: 1000, burst: 1000 };  // rate limits out of the way

// Overrides for startServer(): aal2 held 8 s, a /quick/** rule with max_age
// 3 s, the documented lockout, rate limits out of the way, one allowed
// return_to origin.
export const stepUpConfig = {
  levels: { aal2: { elevation: '8s' } },
  rules: [
    { path: '/quick/**', level: 'aal2', max_age: '3s' },
    { path: '/admin/**', level: 'aal2', max_age: '5m' },
    { path: '/public/**', public: true },
    { path: '/**', level: 'aal1' },
  ],
  step_up: { challenge_ttl: '5m', enrollment_max_age: '5m', revoke_other_sessions_on_factor_change: true },
  lockout: { max_failures: 5, base_delay: '60s', max_delay: '1h' },
  rate_limits: { login: kHigh, verify: kHigh },
  factors: {
    totp: { algorithm: 'SHA1', digits: 6, period: 30, issuer: 'stepup-test' },
    recovery_codes: { count: 10, reaches: 'aal2' },
  },
  return_to_origins: ['https://allowed.example'],
};

// ---------------------------------------------------------------- TOTP

// "YYYY-MM-DD HH:MM:SS UTC" for oathtool --now.
function oathTime(unixSeconds) {
  return new Date(unixSeconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export const currentStep = () => Math.floor(Date.now() / 1000 / kPeriod);

// The code of `secret` (base32) at time step `step`, computed by oathtool.
export function totpAt(secret, step) {
  return new Promise((resolve, reject) => {
    execFile('oathtool', ['--totp', '-b', '--now', oathTime(step * kPeriod + 1), secret],
             { timeout: 10000 }, (err, stdout, stderr) => {
               if (err) reject(new Error(`oathtool failed: ${err.message}\n${stderr}`));
               else resolve(stdout.trim());
             });
  });
}

const lastStep = new Map();  // secret -> last step handed out

// A code for a step this secret has not used yet, within the server's +-1
// window: the current step, else the next one, else wait for the clock.
export async function nextCode(secret) {
  for (;;) {
    const now = currentStep();
    const step = Math.max(now, (lastStep.get(secret) ?? -Infinity) + 1);
    if (step <= now + 1) {
      lastStep.set(secret, step);
      return totpAt(secret, step);
    }
    const msToNext = (now + 1) * kPeriod * 1000 - Date.now();
    await sleep(Math.max(0, msToNext) + 100);
  }
}

// Marks the step of a code the server accepted some other way (e.g. a
// confirmation we did not get through nextCode) as used.
export function markUsed(secret, step) {
  lastStep.set(secret, Math.max(step, lastStep.get(secret) ?? -Infinity));
}

// A well-formed 6-digit code that is wrong for every step near now.
export async function wrongCode(secret) {
  const now = currentStep();
  const near = new Set(await Promise.all([-3, -2, -1, 0, 1, 2, 3].map((d) => totpAt(secret, now + d))));
  for (let n = 0; ; n++) {
    const c = String((123457 + n * 7919) % 1000000).padStart(6, '0');
    if (!near.has(c)) return c;
  }
}

// ---------------------------------------------------------------- sessions

// A signed-in user agent: sends the session cookie (and Origin, for the
// same-origin rule on state changes) and adopts every new session cookie the
// server sets (step-up rotates the id).
export class Browser {
  constructor(srv, loginResult) {
    this.srv = srv;
    this.cookie = loginResult.cookie;
    this.accessToken = loginResult.access_token;
    this.refreshToken = loginResult.refresh_token;
    this.session = loginResult.json?.session;
  }

  static async login(srv, username, password) {
    return new Browser(srv, await mustLogin(srv, username, password ?? USERS[username]?.password));
  }

  adopt(r) {
    if (r.session) this.cookie = r.session;
    if (r.json?.access_token) this.accessToken = r.json.access_token;
    if (r.json?.refresh_token) this.refreshToken = r.json.refresh_token;
    return r;
  }

  async send(method, urlPath, json) {
    const opts = { cookie: this.cookie, origin: true };
    if (json !== undefined) opts.json = json;
    return this.adopt(await request(this.srv, method, urlPath, opts));
  }

  get(urlPath) { return this.send('GET', urlPath); }
  post(urlPath, json = {}) { return this.send('POST', urlPath, json); }
  del(urlPath) { return this.send('DELETE', urlPath); }

  // POST /api/v1/step-up; asserts nothing.
  requestStepUp(body = {}) {
    return this.post('/api/v1/step-up', { acr_values: 'aal2', ...body });
  }

  verify(challengeId, body) {
    return this.post(`/api/v1/step-up/${encodeURIComponent(challengeId)}/verify`, body);
  }

  // A whole TOTP step-up that must succeed; resolves the verify answer.
  async stepUpTotp(secret, body = {}) {
    const c = await this.requestStepUp(body);
    assert.equal(c.status, 200, `POST /api/v1/step-up: ${c.text}`);
    const code = await nextCode(secret);
    const v = await this.verify(c.json.challenge_id, { method: 'totp', code });
    assert.equal(v.status, 200, `verify with a fresh oathtool code: ${v.text}`);
    return v;
  }
}

// GET /api/v1/authz/forward for a request to `uri` (API client: no text/html).
export function forward(srv, { method = 'GET', uri = '/', cookie, bearer } = {}) {
  return request(srv, 'GET', '/api/v1/authz/forward', {
    cookie, bearer,
    headers: {
      'x-forwarded-method': method,
      'x-forwarded-proto': 'http',
      'x-forwarded-host': `localhost:${srv.port}`,
      'x-forwarded-uri': uri,
    },
  });
}

export function assertError(r, status, code, what = '') {
  assert.equal(r.status, status, `${what} status; body: ${r.text}`);
  assert.equal(r.json?.error, code, `${what} error code; body: ${r.text}`);
}

// 401 insufficient_user_authentication with the RFC 9470 challenge header.
export function assertInsufficient(r, what = '') {
  assert.equal(r.status, 401, `${what}: ${r.text}`);
  const h = r.headers.get('www-authenticate') ?? '';
  assert.match(h, /^Bearer /, `${what}: WWW-Authenticate ${h}`);
  assert.ok(h.includes('error="insufficient_user_authentication"'), `${what}: ${h}`);
  assert.ok(h.includes('acr_values="aal2"'), `${what}: ${h}`);
}

// ---------------------------------------------------------------- CLI

const out = (r) => `exit ${r.code}\n${r.stdout}${r.stderr}`;

// `stepup user add NAME --password-stdin`.
export async function addUser(srv, username, password) {
  const r = await srv.cli(['user', 'add', username, '--password-stdin'], { stdin: `${password}\n` });
  assert.equal(r.code, 0, `user add ${username}: ${out(r)}`);
}

// `stepup factor add-totp NAME --json` -> {factor_id, secret, otpauth_uri}.
export async function addTotp(srv, username) {
  const r = await srv.cli(['factor', 'add-totp', username, '--json']);
  assert.equal(r.code, 0, `factor add-totp ${username}: ${out(r)}`);
  let v;
  try { v = JSON.parse(r.stdout); } catch { assert.fail(`factor add-totp --json prints JSON: ${r.stdout}`); }
  assert.equal(typeof v.factor_id, 'string', r.stdout);
  assert.match(v.secret, /^[A-Z2-7]+=*$/, `base32 secret: ${r.stdout}`);
  return v;
}

// `stepup audit tail --json [...]` -> rows.
export async function auditTail(srv, args = []) {
  const r = await srv.cli(['audit', 'tail', ...args, '--json']);
  assert.equal(r.code, 0, `audit tail: ${out(r)}`);
  let rows;
  try { rows = JSON.parse(r.stdout); } catch { assert.fail(`audit tail --json prints JSON: ${r.stdout}`); }
  if (!Array.isArray(rows) && Array.isArray(rows?.events)) rows = rows.events;
  assert.ok(Array.isArray(rows), `audit tail --json prints an array: ${r.stdout}`);
  return rows;
}

export { out as cliOutput };
