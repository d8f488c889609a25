// Test harness for the HTTP integration tests: runs a real `stepup serve` on a
// free port with a throw-away SQLite file, and offers small HTTP helpers.
//
// startServer() makes a temp dir, writes a YAML config (see defaultConfig),
// creates users with the CLI (`stepup user add NAME --password-stdin`), spawns
// the server and waits for GET /healthz. stop() always ends the process
// (SIGTERM, then SIGKILL after 5 s) and removes the temp dir. A process-exit
// hook kills anything still running, so a crashed test file leaves no server.
//
// Not thread-safe in any sense that matters: one test file drives its own
// servers sequentially.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../../..');
export const STEPUP_BIN = path.resolve(process.env.STEPUP_BIN || path.join(REPO, 'build/stepup'));

// Access token lifetime used by the default config (seconds).
export const ACCESS_TTL = 120;

// Users every server starts with. Passwords avoid the username and common
// words so the password rules accept them.
export const USERS = {
  alice: { username: 'alice', password: 'violet-Harbor-92-kite' },
  bob: { username: 'bob', password: 'amber-Canyon-47-moss' },
  carol: { username: 'carol', password: 'slate-Meadow-31-fern' },
  dave: { username: 'dave', password: 'copper-Ridge-68-wren' },
  erin: { username: 'erin', password: 'indigo-Fjord-15-lark' },
};

// ---------------------------------------------------------------- processes

const live = new Set();  // child processes not yet reaped
const dirs = new Set();  // temp dirs not yet removed
process.on('exit', () => {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
  for (const dir of dirs) {
    try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
  }
});

// A port that was free a moment ago: listen on 0, read it, close.
export async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

// Runs the CLI to completion. Resolves {code, signal, stdout, stderr}.
export function runCli(args, { stdin, timeoutMs = 30000 } = {}) {
  if (!fs.existsSync(STEPUP_BIN)) {
    throw new Error(`stepup binary not found: ${STEPUP_BIN} (build it or set STEPUP_BIN)`);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(STEPUP_BIN, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); live.delete(child); reject(err); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => { /* the CLI may exit without reading stdin */ });
    child.stdin.end(stdin ?? '');
  });
}

// ---------------------------------------------------------------- config

export function defaultConfig({ port, dir }) {
  return {
    server: {
      listen: `127.0.0.1:${port}`,
      public_url: `http://localhost:${port}`,
      drain_timeout: '2s',
    },
    log: { level: 'info' },
    storage: { path: path.join(dir, 'stepup.db') },
    tokens: { access_ttl: `${ACCESS_TTL}s` },
    cookie: { secure: false },
    passwords: { argon2_memory_kib: 8192, argon2_iterations: 1 },
    levels: {
      aal1: { reached_by: [['pwd']] },
      aal2: { reached_by: [['pwd', 'otp'], ['pwd', 'hwk']], elevation: '15m' },
    },
    base_level: 'aal1',
    rules: [
      { methods: ['POST'], path: '/payments/**', level: 'aal2', max_age: '5m',
        reason: 'Payments need a second factor' },
      { path: '/admin/**', level: 'aal2', max_age: '5m' },
      { path: '/public/**', public: true },
      { path: '/blocked/**', deny: true, reason: 'Blocked for everyone' },
      { path: '/**', level: 'aal1' },
    ],
    default: { deny: true },
    introspection_clients: [{ id: 'gw', secret: 'gw-secret-123' }],
    // Every test talks from 127.0.0.1: the per-IP limits (login 1/s, burst 10
    // by default) would turn later requests into 429s. The one test about
    // rate limits sets its own.
    rate_limits: {
      login: { per_second: 1000, burst: 1000 },
      verify: { per_second: 1000, burst: 1000 },
    },
  };
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// Deep merge: objects merge, arrays and scalars replace, `undefined` removes.
export function merge(base, over) {
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) delete out[k];
    else out[k] = merge(base[k], v);
  }
  return out;
}

function yamlScalar(v) {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return 'null';
  // A JSON string is a valid YAML double-quoted scalar.
  return JSON.stringify(String(v));
}

function yamlFlow(v) {
  if (Array.isArray(v)) return `[${v.map(yamlFlow).join(', ')}]`;
  if (isPlainObject(v)) {
    return `{${Object.entries(v).map(([k, x]) => `${k}: ${yamlFlow(x)}`).join(', ')}}`;
  }
  return yamlScalar(v);
}

// Block-style YAML, one key per line, so a test can point at a line number.
export function toYaml(value, indent = '') {
  const lines = [];
  for (const [k, v] of Object.entries(value)) {
    if (isPlainObject(v)) {
      lines.push(`${indent}${k}:`);
      lines.push(toYaml(v, indent + '  '));
    } else if (Array.isArray(v) && v.some(isPlainObject)) {
      lines.push(`${indent}${k}:`);
      for (const item of v) {
        const body = toYaml(item, indent + '    ').split('\n');
        lines.push(`${indent}  - ${body[0].trimStart()}`);
        lines.push(...body.slice(1));
      }
    } else {
      lines.push(`${indent}${k}: ${yamlFlow(v)}`);
    }
  }
  return lines.filter((l) => l !== '').join('\n');
}

// ---------------------------------------------------------------- server

async function waitHealthy(url, child, stderrOf, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let exited = null;
  const onExit = (code, signal) => { exited = { code, signal }; };
  child.once('exit', onExit);
  try {
    while (Date.now() < deadline) {
      if (exited) {
        throw new Error(`stepup serve exited early (code ${exited.code}, signal ${exited.signal})\n` +
                        `--- stderr ---\n${stderrOf()}`);
      }
      try {
        const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`stepup serve did not answer GET /healthz 200 within ${timeoutMs} ms\n` +
                    `--- stderr ---\n${stderrOf()}`);
  } finally {
    child.off('exit', onExit);
  }
}

// A fresh /metrics bearer token in a file of its own (removed at exit), for
// `server: { metrics_token_file: file }`: /metrics is not served unless
// configured (docs/configuration.md, "Metrics"). Pass `token` as `bearer`.
export function metricsToken() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepup-metrics-token-'));
  dirs.add(dir);
  const token = crypto.randomBytes(32).toString('base64url');
  const file = path.join(dir, 'metrics.token');
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { file, token };
}

// Starts a server. `overrides` is deep-merged into defaultConfig (arrays
// replace, `undefined` deletes). `options.users` lists usernames from USERS to
// create (default: all of them).
export async function startServer(overrides = {}, options = {}) {
  if (!fs.existsSync(STEPUP_BIN)) {
    throw new Error(`stepup binary not found: ${STEPUP_BIN} (build it or set STEPUP_BIN)`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepup-integ-'));
  dirs.add(dir);
  const port = await freePort();
  const config = merge(defaultConfig({ port, dir }), overrides);
  const configPath = path.join(dir, 'stepup.yaml');
  fs.writeFileSync(configPath, toYaml(config) + '\n');

  const srv = {
    port,
    dir,
    configPath,
    config,
    db: config.storage?.path ?? path.join(dir, 'stepup.db'),
    url: `http://127.0.0.1:${port}`,       // where the tests connect
    publicUrl: config.server.public_url,    // issuer, origin, link base
    origin: new URL(config.server.public_url).origin,
    child: null,
    stderr: '',
    stdout: '',

    // Runs `stepup ARGS --config FILE`.
    cli(args, { stdin } = {}) {
      const full = args.includes('--config') ? args : [...args, '--config', configPath];
      return runCli(full, { stdin });
    },

    // Spawns `stepup serve` and waits until /healthz answers 200.
    async startProcess() {
      if (srv.child) throw new Error('server already running');
      srv.stderr = '';
      srv.stdout = '';
      const child = spawn(STEPUP_BIN, ['serve', '--config', configPath],
                          { stdio: ['ignore', 'pipe', 'pipe'] });
      live.add(child);
      srv.child = child;
      child.exitPromise = new Promise((resolve) => {
        child.on('exit', (code, signal) => { live.delete(child); resolve({ code, signal }); });
      });
      child.stdout.setEncoding('utf8').on('data', (d) => { srv.stdout += d; });
      child.stderr.setEncoding('utf8').on('data', (d) => { srv.stderr += d; });
      child.on('error', (err) => { srv.stderr += `\n[spawn error] ${err.message}`; });
      try {
        await waitHealthy(srv.url, child, () => srv.stderr);
      } catch (err) {
        await srv.stopProcess('SIGKILL');
        throw err;
      }
    },

    // Sends `signal`, waits for exit (SIGKILL after 5 s). Resolves {code, signal}.
    async stopProcess(signal = 'SIGTERM') {
      const child = srv.child;
      if (!child) return null;
      srv.child = null;
      if (child.exitCode !== null || child.signalCode !== null) return child.exitPromise;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const result = await child.exitPromise;
      clearTimeout(timer);
      return result;
    },

    async restart(signal = 'SIGTERM') {
      await srv.stopProcess(signal);
      await srv.startProcess();
    },

    // Ends the process and removes the temp dir. Safe to call twice.
    async stop() {
      await srv.stopProcess('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
      dirs.delete(dir);
    },
  };

  try {
    for (const name of options.users ?? Object.keys(USERS)) {
      const u = USERS[name];
      const r = await srv.cli(['user', 'add', u.username, '--password-stdin'], { stdin: `${u.password}\n` });
      if (r.code !== 0) {
        throw new Error(`stepup user add ${u.username} failed (exit ${r.code})\n${r.stdout}${r.stderr}`);
      }
    }
    await srv.startProcess();
  } catch (err) {
    await srv.stop();
    throw err;
  }
  return srv;
}

// ---------------------------------------------------------------- HTTP

// One HTTP exchange. Options: json (object -> JSON body), body (raw),
// contentType, headers, cookie (session id value), bearer (access token),
// origin (true: the server's public origin, or a string).
// Resolves {status, headers, text, json, setCookies, session}.
export async function request(srv, method, urlPath, opts = {}) {
  const headers = { ...(opts.headers ?? {}) };
  let body = opts.body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['content-type'] ??= 'application/json';
  }
  if (opts.contentType) headers['content-type'] = opts.contentType;
  const cookieName = srv.cookieName ?? 'stepup_session';
  if (opts.cookie) headers.cookie = `${cookieName}=${opts.cookie}`;
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
  if (opts.origin === true) headers.origin = srv.origin;
  else if (typeof opts.origin === 'string') headers.origin = opts.origin;

  const res = await fetch(srv.url + urlPath, {
    method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(15000),
  });
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  const setCookies = res.headers.getSetCookie();
  const own = setCookies.find((c) => c.startsWith(`${cookieName}=`));
  const session = own ? own.slice(cookieName.length + 1).split(';')[0] : undefined;
  return { status: res.status, headers: res.headers, text, json, setCookies, setCookie: own, session };
}

// Password sign-in. Resolves the response plus `cookie` (the new session id
// from Set-Cookie) and the JSON fields. Asserts nothing.
export async function login(srv, username, password, extra = {}) {
  if (password === undefined) password = USERS[username]?.password;
  const r = await request(srv, 'POST', '/api/v1/login/password', { ...extra, json: { username, password } });
  return { ...r, cookie: r.session, ...(r.json ?? {}) };
}

// Signs in and fails loudly if it did not work, for tests that need a session.
export async function mustLogin(srv, username, password) {
  const r = await login(srv, username, password);
  if (r.status !== 200 || !r.access_token || !r.cookie) {
    throw new Error(`login of ${username} failed: ${r.status} ${r.text}\n` +
                    `set-cookie: ${JSON.stringify(r.setCookies)}`);
  }
  return r;
}

// Decodes a JWS part without verifying (for header/claim inspection only).
export function decodePart(token, i) {
  return JSON.parse(Buffer.from(token.split('.')[i], 'base64url').toString('utf8'));
}

// Raw TCP request: writes `raw` and collects everything until the server
// closes (or `timeoutMs`). Survives a reset after the answer was sent.
export function rawRequest(srv, raw, { timeoutMs = 5000 } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(srv.port, '127.0.0.1');
    const chunks = [];
    let error = null;
    const timer = setTimeout(() => sock.destroy(), timeoutMs);
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', (e) => { error = e; });
    sock.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      const split = text.indexOf('\r\n\r\n');
      resolve({
        status: m ? Number(m[1]) : 0,
        head: split >= 0 ? text.slice(0, split) : text,
        body: split >= 0 ? text.slice(split + 4) : '',
        error,
      });
    });
    sock.write(raw, () => {});
  });
}

// Polls `fn` until it returns truthy or `ms` pass; returns the last value.
export async function eventually(fn, ms = 2000, step = 100) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() >= deadline) return v;
    await new Promise((r) => setTimeout(r, step));
  }
}
