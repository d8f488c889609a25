// Harness for the gateway suite: real gateways (nginx, Caddy) run from the
// recipe files in examples/, in front of real upstreams (express, nginx
// serving files, python http.server), with a real `stepup serve` deciding.
//
// Every process gets free ports and a temp dir of its own; stopAll() (also
// run on process exit) ends what this file started, by pid, and removes the
// dirs. Gateways read the shipped recipe files and only get their ports (and,
// as root, a `user` line for nginx) substituted, so a test of a gateway is a
// test of the recipe.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { freePort, REPO } from '../../integration/lib/server.mjs';
import { rawRequest } from './raw.mjs';

export { REPO, freePort };
const here = path.dirname(fileURLToPath(import.meta.url));
export const SUITE = path.resolve(here, '..');
export const NGINX = process.env.NGINX_BIN || '/usr/sbin/nginx';
export const CADDY = process.env.CADDY_BIN || '/usr/bin/caddy';
export const ATTACKS = JSON.parse(fs.readFileSync(path.join(SUITE, 'attacks.json'), 'utf8'));

// ---------------------------------------------------------------- processes

const live = new Map();  // child -> name
const dirs = new Set();
process.on('exit', () => {
  for (const child of live.keys()) { try { child.kill('SIGKILL'); } catch { /* gone */ } }
  for (const d of dirs) { try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ } }
});

export function tempDir(prefix) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `stepup-gw-${prefix}-`));
  dirs.add(d);
  return d;
}

// Spawns `cmd args`, keeps its output for error messages, and waits until
// `port` answers HTTP (any status) or the process dies.
export async function startProcess(name, cmd, args, { port, env = {}, cwd } = {}) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.set(child, name);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { out += d; });
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; live.delete(child); });
  const proc = {
    name, child, port, output: () => out,
    async stop() {
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
    },
  };
  const deadline = Date.now() + 15000;
  for (;;) {
    if (exited) throw new Error(`${name} exited early (${JSON.stringify(exited)}):\n${out}`);
    try {
      const r = await rawRequest(port, { target: '/healthz', timeoutMs: 1000 });
      if (r.status > 0) return proc;
    } catch { /* not yet */ }
    if (Date.now() > deadline) { await proc.stop(); throw new Error(`${name} did not answer on ${port}:\n${out}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------- upstreams

// The files both static upstreams serve. Protected: admin.html, admin/,
// transfer.html (bodies start "PROTECTED-"). Public: public/. Signed in: x/.
export function writeSite(root) {
  const files = {
    'index.html': 'HOME\n',
    'admin.html': 'PROTECTED-ADMIN index (static)\n',
    'admin/index.html': 'PROTECTED-ADMIN index (static)\n',
    'admin/users.html': 'PROTECTED-ADMIN users (static)\n',
    'transfer.html': 'PROTECTED-TRANSFER form (static)\n',
    'public/info.html': 'PUBLIC-OK static\n',
    'public/index.html': 'PUBLIC-OK static\n',
    'x/info.html': 'SIGNED-IN-OK static\n',
    'x/index.html': 'SIGNED-IN-OK static\n',
    'healthz': 'ok\n',
  };
  for (const [f, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), body);
  }
}

const asRoot = process.getuid?.() === 0;
// As root, nginx hands its workers to `nobody`, who cannot write the temp
// dirs here (same as examples/bank/run).
const userLine = () => (asRoot ? 'user root root;\n' : '');

function nginxPrefix(name) {
  const dir = tempDir(name);
  fs.mkdirSync(path.join(dir, 'logs'));
  fs.mkdirSync(path.join(dir, 'tmp'));
  return dir;
}

async function runNginx(name, dir, conf, port) {
  fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const args = ['-p', `${dir}/`, '-c', path.join(dir, 'nginx.conf'), '-e', 'logs/error.log'];
  return startProcess(name, NGINX, args, { port });
}

// Upstream 2: nginx serving the site with "clean URLs" (try_files $uri.html).
// nginx decodes the path (%2f too), merges slashes and resolves dot segments
// before it picks a file; locations /admin and /transfer mark the answer.
export async function startNginxStatic(root) {
  const port = await freePort();
  const dir = nginxPrefix('static');
  const echo = `
      add_header X-Zoo-Target $request_uri always;
      add_header X-Zoo-Saw-Subject $http_x_stepup_subject always;
      add_header X-Zoo-Saw-Acr $http_x_stepup_acr always;
      add_header X-Zoo-Saw-Amr $http_x_stepup_amr always;
      add_header X-Zoo-Saw-Session $http_x_stepup_session always;
      add_header X-Zoo-Saw-Cookie $http_cookie always;
      add_header X-Zoo-Saw-Authorization $http_authorization always;
      try_files $uri $uri.html $uri/ =404;`;
  const conf = `${userLine()}daemon off;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log warn;
events { worker_connections 256; }
http {
  client_body_temp_path tmp/client_body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
  access_log off;
  default_type text/plain;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / { ${echo} }
    location /admin { add_header X-Zoo-Protected admin always; ${echo} }
    location /transfer { add_header X-Zoo-Protected transfer always; ${echo} }
  }
}
`;
  return runNginx('nginx-static', dir, conf, port);
}

export async function startExpress() {
  const port = await freePort();
  return startProcess('express', process.execPath, [path.join(SUITE, 'upstreams/express-app.mjs'), String(port)], { port });
}

// Upstream 4: node:http routing on WHATWG URL pathname (like the demo bank).
export async function startNodeUrl() {
  const port = await freePort();
  return startProcess('node-url', process.execPath, [path.join(SUITE, 'upstreams/node-url-app.mjs'), String(port)], { port });
}

export async function startPython(root) {
  const port = await freePort();
  const py = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  return startProcess('python-http.server', py, [path.join(SUITE, 'upstreams/static_server.py'), String(port), root], { port });
}

// ---------------------------------------------------------------- gateways

// examples/gateways/nginx.conf with its three ports replaced.
export async function startNginxGateway({ stepupPort, appPort, recipe = path.join(REPO, 'examples/gateways/nginx.conf') }) {
  const port = await freePort();
  const dir = nginxPrefix('nginx-gw');
  const text = fs.readFileSync(recipe, 'utf8');
  for (const p of ['127.0.0.1:8080', '127.0.0.1:8081', '127.0.0.1:8082']) {
    if (!text.includes(p)) throw new Error(`${recipe} no longer mentions ${p}; update the test`);
  }
  const conf = userLine() + text
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`)
    .replaceAll('127.0.0.1:8081', `127.0.0.1:${stepupPort}`)
    .replaceAll('127.0.0.1:8082', `127.0.0.1:${appPort}`);
  return runNginx('nginx-gateway', dir, conf, port);
}

// examples/gateways/Caddyfile, run as is; its addresses come from the
// environment variables it documents.
export async function startCaddyGateway({ stepupPort, appPort, recipe = path.join(REPO, 'examples/gateways/Caddyfile') }) {
  const port = await freePort();
  const dir = tempDir('caddy');
  const env = {
    SITE_ADDRESS: `:${port}`,
    STEPUP_UPSTREAM: `127.0.0.1:${stepupPort}`,
    APP_UPSTREAM: `127.0.0.1:${appPort}`,
    CADDY_ADMIN: 'off',
    HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir,
  };
  return startProcess('caddy', CADDY, ['run', '--config', recipe, '--adapter', 'caddyfile'], { port, env });
}

// ---------------------------------------------------------------- verdicts

const first = (r, h) => (r.headers[h.toLowerCase()] ?? [])[0];

// True when the answer is a protected resource of an upstream: a 2xx with
// its marker header (nginx adds it per location, also to a 404, hence the
// status), a body starting "PROTECTED-", a bank page marker, or a HEAD that
// got a 2xx (every attack aims at a protected resource).
export function servedProtected(r, method, markers = []) {
  const ok = r.status >= 200 && r.status < 300;
  if (ok && first(r, 'X-Zoo-Protected')) return true;
  if (/PROTECTED-/.test(r.body)) return true;
  if (markers.some((m) => r.body.includes(m))) return true;
  if (method === 'HEAD' && ok) return true;
  return false;
}

// Sends one attack entry with `extraHeaders` (e.g. the session cookie).
export function sendAttack(port, attack, extraHeaders = []) {
  return rawRequest(port, {
    method: attack.method, target: attack.target,
    headers: [...(attack.headers ?? []), ...extraHeaders], body: attack.body ?? '',
  });
}

export function describeAnswer(r) {
  const h = Object.entries(r.headers).filter(([k]) => k.startsWith('x-zoo') || k === 'location')
    .map(([k, v]) => `${k}: ${v.join(' | ')}`).join('; ');
  return `${r.status} ${h} body=${JSON.stringify(r.body.slice(0, 80))}`;
}

export { first as headerOf };

// ---------------------------------------------------------------- stepup

// The zoo's policy: /admin/** and /transfer (GET, POST) need aal2, /public/**
// is public, everything else needs a session (aal1). `upstream` is stepup's
// `upstream:` config section (absent: stepup's defaults).
export function zooRules() {
  return [
    { path: '/admin/**', level: 'aal2', reason: 'Admin needs a second factor' },
    { methods: ['GET', 'POST'], path: '/transfer', level: 'aal2', reason: 'Transfers need a second factor' },
    { path: '/public/**', public: true },
    { path: '/**', level: 'aal1' },
  ];
}

export async function startZooStepup({ upstream } = {}) {
  const { startServer } = await import('../../integration/lib/server.mjs');
  const { Browser, addTotp, stepUpConfig } = await import('../../integration/lib/stepup.mjs');
  const overrides = {
    rules: zooRules(),
    factors: stepUpConfig.factors,
    rate_limits: stepUpConfig.rate_limits,
  };
  if (upstream) overrides.upstream = upstream;
  const srv = await startServer(overrides, { users: ['alice', 'bob'] });
  // alice: password only (aal1). bob: password + TOTP, stepped up (aal2).
  const aal1 = await Browser.login(srv, 'alice');
  const totp = await addTotp(srv, 'bob');
  const aal2 = await Browser.login(srv, 'bob');
  await aal2.stepUpTotp(totp.secret);
  return { srv, aal1: aal1.cookie, aal1Token: aal1.accessToken, aal2: aal2.cookie };
}

export const sessionCookie = (id) => ['Cookie', `stepup_session=${id}`];
