// bench/http/run.mjs: the HTTP benchmark, driven by bench/http/run (which
// installs nginx, wrk and the peer's npm packages and builds stepup first).
//
// Every contender runs on loopback on this machine and is measured with the
// same wrk command; runs are interleaved (run 1 of every contender, then run
// 2, ...) so drift in the machine's load hits all of them alike, and we report
// the median of the runs and ratios against the baselines of the same run.
// Only Node's standard library is used here.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '../..');
const STEPUP = process.env.STEPUP_BIN || path.join(REPO, 'build-bench/stepup');
const SEED = process.env.STEPUP_SEED_BIN || path.join(REPO, 'build-bench/bench/stepup_bench_seed');
const RULES = path.join(REPO, 'bench/rules.json');
const PEER = path.join(REPO, 'bench/peers/forward_auth.mjs');

// ------------------------------------------------------------------ options

const opts = {
  threads: 2, connections: 64, duration: 5, runs: 3, warmup: 2,
  tokens: 20000, sessions: 100000, signins: 20, out: null,
};
const usage = `usage: bench/http/run [--threads N] [--connections N] [--duration S] [--runs N]
                      [--warmup S] [--tokens N] [--sessions N] [--signins PER_S] [--out FILE]
  threads/connections/duration: the wrk command every contender gets (default 2/64/5)
  runs: measured runs per contender, the median is reported (default 3)
  tokens: distinct access tokens for the rotating load (default 20000)
  sessions: live sessions seeded into the store (default 100000)
  signins: sign-ins per second during the Argon2 load test (default 20)
  out: where the Markdown goes (default bench/results/<date>-<HHMM>.md, UTC)`;
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '-h' || a === '--help') { console.log(usage); process.exit(0); }
  const key = a.replace(/^--/, '');
  if (!(key in opts) || i + 1 >= process.argv.length) { console.error(usage); process.exit(2); }
  const v = process.argv[++i];
  opts[key] = key === 'out' ? v : Number(v);
  if (key !== 'out' && !(opts[key] >= 0)) { console.error(`bad value for --${key}: ${v}`); process.exit(2); }
}

const log = (...a) => console.error('[bench]', ...a);

// ------------------------------------------------------------------ processes

const children = new Set();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'stepup-http-bench-'));
fs.chmodSync(work, 0o755);  // nginx workers (www-data) read the static file below it
function cleanup() {
  for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
  if (!process.env.BENCH_KEEP) fs.rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

function start(cmd, args, { env, name } = {}) {
  const logFile = path.join(work, `${name ?? path.basename(cmd)}.log`);
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
  fs.closeSync(fd);
  children.add(child);
  child.on('exit', () => children.delete(child));
  child.logFile = logFile;
  return child;
}

async function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await once(child, 'exit');
  clearTimeout(t);
}

function run(cmd, args, { input, timeoutMs = 600000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { maxBuffer: 64 << 20, timeout: timeoutMs },
      (err, stdout, stderr) => {
        if (err) { err.stdout = stdout; err.stderr = stderr; reject(err); } else resolve({ stdout, stderr });
      });
    if (input !== undefined) child.stdin.end(input);
  });
}

async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(url, child, ms = 15000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) break;
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.status < 500) return;
    } catch { /* not yet */ }
    await sleep(50);
  }
  const tail = child?.logFile ? fs.readFileSync(child.logFile, 'utf8').slice(-2000) : '';
  throw new Error(`${url} did not come up\n${tail}`);
}

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

// ------------------------------------------------------------------ wrk

function parseDurationMs(text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) return NaN;
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60000 }[m[2]];
}

// Runs wrk once; returns {rps, p50, p99 (ms), non2xx, errors, requests}.
async function wrk(url, { headers = [], script, scriptArgs = [], duration = opts.duration,
                          connections = opts.connections, threads = opts.threads } = {}) {
  const args = ['-t', String(threads), '-c', String(connections), '-d', `${duration}s`,
                '--latency', '--timeout', '5s'];
  for (const h of headers) args.push('-H', h);
  if (script) args.push('-s', script);
  args.push(url);
  if (scriptArgs.length) args.push('--', ...scriptArgs);
  const { stdout } = await run('wrk', args);
  const num = (re) => { const m = re.exec(stdout); return m ? m[1] : undefined; };
  const r = {
    rps: Number(num(/Requests\/sec:\s+([\d.]+)/)),
    p50: parseDurationMs(num(/^\s+50%\s+(\S+)/m) ?? ''),
    p99: parseDurationMs(num(/^\s+99%\s+(\S+)/m) ?? ''),
    requests: Number(num(/(\d+) requests in/)),
    non2xx: Number(num(/Non-2xx or 3xx responses:\s+(\d+)/) ?? 0),
    errors: 0,
    raw: stdout,
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  if (sock) r.errors = sock.slice(1).map(Number).reduce((a, b) => a + b, 0);
  return r;
}

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ------------------------------------------------------------------ machine

async function machine() {
  const cpus = os.cpus();
  const lines = [
    `- CPU: ${cpus[0]?.model ?? '?'} × ${cpus.length} (nproc ${os.availableParallelism?.() ?? cpus.length})`,
    `- memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; kernel ${os.release()}`,
  ];
  const ver = async (cmd, args) => {
    let out;
    try { const r = await run(cmd, args); out = r.stdout + r.stderr; } catch (e) { out = (e.stdout ?? '') + (e.stderr ?? ''); }
    return out.split('\n')[0].replace(/ \[.*$/, '').trim() || '?';
  };
  lines.push(`- ${await ver('nginx', ['-v'])}; ${await ver('wrk', ['-v'])}; node ${process.version}; ` +
             `${await ver('openssl', ['version'])}`);
  try {
    const head = (await run('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'])).stdout.trim();
    const dirty = (await run('git', ['-C', REPO, 'status', '--porcelain', '--untracked-files=no', 'src', 'include'])).stdout.trim();
    lines.push(`- source: commit ${head}${dirty ? ' with uncommitted changes in src/' : ''}`);
  } catch { /* not a git checkout */ }
  lines.push(`- load average at start: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} ` +
             '(other work on the machine shows up here)');
  return lines;
}

// `openssl speed -elapsed -multi 2 ecdsap256`: the machine's signature-verify
// ceiling with every core busy and nothing else to do.
async function opensslCeiling() {
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const args = ['speed', '-elapsed', '-multi', String(cores), '-seconds', '3', 'ecdsap256'];
  const { stdout } = await run('openssl', args);
  // "256 bits ecdsa (nistp256)   0.0000s   0.0001s  40000.0  13000.0"
  const m = /ecdsa \(nistp256\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)/.exec(stdout);
  return { cmd: `openssl ${args.join(' ')}`, sign: m ? Number(m[1]) : NaN, verify: m ? Number(m[2]) : NaN };
}

// ------------------------------------------------------------------ stepup

const PASSWORD = 'violet-Harbor-92-kite';

const LEVELS_YAML = `levels:
  aal1:
    reached_by: [[pwd]]
  aal2:
    reached_by: [[pwd, otp], [pwd, hwk]]
    elevation: "15m"
base_level: aal1
`;

async function writeStepupConfig(port, dir, storageDir, name) {
  // Production Argon2id parameters (19 MiB, t=2, one hashing worker): the
  // sign-in load test needs sign-ins that really cost. The login rate limit
  // is lifted so the bench can sign in many times from 127.0.0.1.
  const config = `server:
  listen: "127.0.0.1:${port}"
  public_url: "http://localhost:${port}"
  drain_timeout: "2s"
log:
  level: "warn"
storage:
  path: "${storageDir}/stepup.db"
tokens:
  access_ttl: "2h"
sessions:
  idle_timeout: "12h"
  absolute_timeout: "24h"
cookie:
  secure: false
passwords:
  argon2_memory_kib: 19456
  argon2_iterations: 2
  hash_workers: 1
  hash_queue: 64
rate_limits:
  login:
    per_second: 1000000
    burst: 1000000
secrets:
  key_file: "${dir}/stepup.key"
${LEVELS_YAML}rules: ${fs.readFileSync(RULES, 'utf8')}default:
  deny: true
`;
  const configPath = path.join(dir, name);
  fs.writeFileSync(configPath, config);
  return configPath;
}


async function login(base) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const r = await fetch(`${base}/api/v1/login/password`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: PASSWORD }),
    });
    const text = await r.text();
    if (r.status === 200) {
      const j = JSON.parse(text);
      const cookie = (r.headers.getSetCookie().find((c) => c.startsWith('stepup_session=')) ?? '')
        .split(';')[0].slice('stepup_session='.length);
      return { access: j.access_token, refresh: j.refresh_token, cookie };
    }
    if (r.status !== 503 && r.status !== 429) throw new Error(`login: ${r.status} ${text}`);
    await sleep(200);
  }
  throw new Error('login: gave up');
}

// ------------------------------------------------------------------ nginx

function nginxConf({ dir, ports, stepupPort }) {
  // One nginx, four servers. Protected locations serve a static file
  // (try_files): `return` would run before auth_request.
  const protectedLoc = (authLoc) => `
    location / {
      auth_request ${authLoc};
      try_files /ok.txt =404;
    }`;
  const authProxy = (loc, upstream, uri) => `
    location = ${loc} {
      internal;
      proxy_pass http://${upstream}${uri};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header Host $host;
    }`;
  return `worker_processes auto;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_body_temp_path ${dir}/tmp;
  proxy_temp_path ${dir}/tmp;
  fastcgi_temp_path ${dir}/tmp;
  uwsgi_temp_path ${dir}/tmp;
  scgi_temp_path ${dir}/tmp;
  upstream empty200 { server 127.0.0.1:${ports.upstream}; keepalive 64; }
  upstream stepup { server 127.0.0.1:${stepupPort}; keepalive 64; }
  # baseline A: the HTTP ceiling
  server {
    listen 127.0.0.1:${ports.a};
    location / { return 200; }
  }
  # the empty-200 auth upstream of baseline B
  server {
    listen 127.0.0.1:${ports.upstream};
    location / { return 200; }
  }
  # baseline B: auth_request to an nginx upstream answering an empty 200
  server {
    listen 127.0.0.1:${ports.b};
    root ${dir}/www;
    ${protectedLoc('/_auth')}
    ${authProxy('/_auth', 'empty200', '/')}
  }
  # stepup behind nginx auth_request
  server {
    listen 127.0.0.1:${ports.s};
    root ${dir}/www;
    ${protectedLoc('/_stepup')}
    ${authProxy('/_stepup', 'stepup', '/api/v1/authz/auth-request')}
  }
}
`;
}

// ------------------------------------------------------------------ main

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—');
const fmtMs = (x) => (Number.isFinite(x) ? (x < 10 ? x.toFixed(2) : x.toFixed(1)) : '—');

async function main() {
  const started = new Date();
  const md = [];
  log(`work dir ${work}`);
  const machineLines = await machine();

  // fsync cost of the disk the store lives on: every committed SQLite write
  // (synchronous=FULL) pays one.
  let fsyncMs = NaN;
  try {
    const t0 = process.hrtime.bigint();
    const { stderr } = await run('dd', ['if=/dev/zero', `of=${path.join(work, 'fsync-probe')}`, 'bs=4k', 'count=200', 'oflag=dsync']);
    fsyncMs = Number(process.hrtime.bigint() - t0) / 1e6 / 200;
    fs.rmSync(path.join(work, 'fsync-probe'), { force: true });
    void stderr;
  } catch { /* no dd: leave it out */ }

  log('openssl speed (signature-verify ceiling)');
  const ceiling = await opensslCeiling();

  // ---- stepup with seeded sessions
  const sdir = path.join(work, 'stepup');
  fs.mkdirSync(sdir);
  const sport = await freePort();
  // The store is built on tmpfs (every Store::create_session is its own
  // fsync'ed transaction; on this disk that would take minutes for 100k),
  // then copied next to the config on the real disk, where the server runs.
  const shm = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/stepup-bench-') : fs.mkdtempSync(path.join(work, 'seed-'));
  process.on('exit', () => fs.rmSync(shm, { recursive: true, force: true }));
  const seedConfig = await writeStepupConfig(sport, sdir, shm, 'seed.yaml');
  const configPath = await writeStepupConfig(sport, sdir, sdir, 'stepup.yaml');
  await run(STEPUP, ['user', 'add', 'alice', '--password-stdin', '--config', seedConfig], { input: `${PASSWORD}\n` });
  const cookiesFile = path.join(work, 'cookies.txt');
  const tokensFile = path.join(work, 'tokens.txt');
  const refreshFile = path.join(work, 'refresh.txt');
  const nRefresh = opts.runs * (opts.connections + opts.threads);
  const nSessions = Math.max(opts.sessions, nRefresh);
  log(`seeding ${nSessions} sessions, ${opts.tokens} access tokens, ${nRefresh} refresh tokens`);
  const seedStart = Date.now();
  await run(SEED, ['--config', seedConfig, '--user', 'alice', '--count', String(nSessions),
                   '--cookies', cookiesFile,
                   '--tokens', String(opts.tokens), '--tokens-out', tokensFile,
                   '--refresh', String(nRefresh), '--refresh-out', refreshFile],
            { timeoutMs: 3600000 });
  for (const f of fs.readdirSync(shm)) fs.copyFileSync(path.join(shm, f), path.join(sdir, f));
  fs.rmSync(shm, { recursive: true, force: true });
  const seedSeconds = (Date.now() - seedStart) / 1000;
  const base = `http://127.0.0.1:${sport}`;
  const stepup = start(STEPUP, ['serve', '--config', configPath], { name: 'stepup' });
  await waitFor(`${base}/healthz`, stepup);
  await sleep(500);
  const rssStart = rssKiB(stepup.pid);
  const dbSize = () => ['stepup.db', 'stepup.db-wal']
    .map((f) => { try { return fs.statSync(path.join(sdir, f)).size; } catch { return 0; } })
    .reduce((a, b) => a + b, 0);
  const dbAfterSeed = dbSize();

  // ---- credentials: one real sign-in for the repeated token and cookie;
  // the rotating tokens and the refresh-chain heads were issued by the seed
  // tool (service::Sessions::issue, the same code sign-in uses).
  log('signing in');
  const primary = await login(base);

  // ---- refresh-token rotation: a store write per request.
  log('refresh-token rotation');
  const refreshAll = fs.readFileSync(refreshFile, 'utf8').split('\n').filter(Boolean);
  const refreshRuns = [];
  const perRun = opts.connections + opts.threads;
  for (let i = 0; i < opts.runs; i++) {
    const seeds = path.join(work, `refresh-seeds-${i}.txt`);
    // One chain per connection plus a spare per thread (see refresh.lua).
    fs.writeFileSync(seeds, refreshAll.slice(i * perRun, (i + 1) * perRun).join('\n') + '\n');
    refreshRuns.push(await wrk(`${base}/api/v1/token/refresh`, {
      script: path.join(here, 'refresh.lua'),
      scriptArgs: [seeds, path.join(work, `refresh-out-${i}`), String(opts.threads)],
    }));
  }
  const tokens = fs.readFileSync(tokensFile, 'utf8').split('\n').filter(Boolean);

  // ---- nginx and the Node peers
  const ndir = path.join(work, 'nginx');
  fs.mkdirSync(path.join(ndir, 'www'), { recursive: true });
  fs.mkdirSync(path.join(ndir, 'tmp'), { recursive: true });
  fs.writeFileSync(path.join(ndir, 'www/ok.txt'), 'ok\n');
  const ports = { a: await freePort(), b: await freePort(), s: await freePort(), upstream: await freePort() };
  fs.writeFileSync(path.join(ndir, 'nginx.conf'), nginxConf({ dir: ndir, ports, stepupPort: sport }));
  const nginx = start('nginx', ['-p', ndir, '-c', path.join(ndir, 'nginx.conf'), '-g', 'daemon off;'],
                      { name: 'nginx' });
  await waitFor(`http://127.0.0.1:${ports.a}/`, nginx);

  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const peerEnv = (port, cache) => ({
    PORT: String(port), WORKERS: String(cores), CACHE: String(cache), RULES,
    JWKS_URL: `${base}/.well-known/jwks.json`, ISSUER: `http://localhost:${sport}`, AUDIENCE: 'stepup',
  });
  const peerPort = await freePort();
  const peerCachePort = await freePort();
  const peer = start('node', [PEER], { env: peerEnv(peerPort, 0), name: 'peer' });
  const peerCached = start('node', [PEER], { env: peerEnv(peerCachePort, 10000), name: 'peer-cache' });
  await waitFor(`http://127.0.0.1:${peerPort}/authz`, peer);
  await waitFor(`http://127.0.0.1:${peerCachePort}/authz`, peerCached);

  // ---- contenders
  const URI = '/app/accounts/42/history';
  const fwd = ['X-Forwarded-Method: GET', 'X-Forwarded-Proto: https', 'X-Forwarded-Host: bank.local',
               `X-Forwarded-Uri: ${URI}`];
  const bearer = `Authorization: Bearer ${primary.access}`;
  const cookie = `Cookie: stepup_session=${primary.cookie}`;
  const rotTokens = { script: path.join(here, 'rotate.lua'), scriptArgs: [tokensFile, 'Authorization', 'Bearer '] };
  const rotCookies = { script: path.join(here, 'rotate.lua'), scriptArgs: [cookiesFile, 'Cookie', 'stepup_session='] };
  const forward = `${base}/api/v1/authz/forward`;
  const viaNginx = `http://127.0.0.1:${ports.s}${URI}`;
  const peerUrl = `http://127.0.0.1:${peerPort}/authz`;
  const peerCacheUrl = `http://127.0.0.1:${peerCachePort}/authz`;
  const nTok = tokens.length.toLocaleString('en-US');
  const nSes = opts.sessions.toLocaleString('en-US');
  const contenders = [
    { id: 'A', name: 'baseline A: nginx `return 200`', url: `http://127.0.0.1:${ports.a}${URI}`, base: 'A' },
    { id: 'B', name: 'baseline B: nginx `auth_request` → nginx empty 200', url: `http://127.0.0.1:${ports.b}${URI}`, base: 'B' },
    { id: 'sa', name: 'stepup forward: one Bearer token repeated', url: forward, headers: [...fwd, bearer], base: 'A' },
    { id: 'sb', name: `stepup forward: ${nTok} distinct Bearer tokens`, url: forward, headers: fwd, ...rotTokens, base: 'A', verifies: true },
    { id: 'sc', name: 'stepup forward: one session cookie repeated', url: forward, headers: [...fwd, cookie], base: 'A' },
    { id: 'sd', name: `stepup forward: ${nSes} distinct session cookies`, url: forward, headers: fwd, ...rotCookies, base: 'A' },
    { id: 'na', name: 'nginx → stepup auth-request: one Bearer token', url: viaNginx, headers: ['Host: bank.local', bearer], base: 'B' },
    { id: 'nb', name: `nginx → stepup auth-request: ${nTok} distinct Bearer tokens`, url: viaNginx, headers: ['Host: bank.local'], ...rotTokens, base: 'B', verifies: true },
    { id: 'nc', name: 'nginx → stepup auth-request: one session cookie', url: viaNginx, headers: ['Host: bank.local', cookie], base: 'B' },
    { id: 'pa', name: `peer (fastify+jose, ${cores} workers, no cache): one Bearer token`, url: peerUrl, headers: [...fwd, bearer], base: 'A', verifies: true },
    { id: 'pb', name: `peer (no cache): ${nTok} distinct Bearer tokens`, url: peerUrl, headers: fwd, ...rotTokens, base: 'A', verifies: true },
    { id: 'pc', name: 'peer (token cache, 10k entries): one Bearer token', url: peerCacheUrl, headers: [...fwd, bearer], base: 'A' },
  ];

  // Each contender must answer 200 with its credential before we time it.
  for (const c of contenders) {
    const h = Object.fromEntries((c.headers ?? []).filter((x) => !x.startsWith('Host:'))
      .map((x) => [x.slice(0, x.indexOf(':')), x.slice(x.indexOf(':') + 2)]));
    if (c.script) {
      const first = fs.readFileSync(c.scriptArgs[0], 'utf8').split('\n')[0];
      h[c.scriptArgs[1]] = c.scriptArgs[2] + first;
    }
    const r = await fetch(c.url, { headers: h });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`${c.name}: expected 200, got ${r.status} ${r.headers.get('www-authenticate') ?? ''}`);
  }

  log(`warm-up ${opts.warmup}s each`);
  if (opts.warmup > 0) {
    for (const c of contenders) await wrk(c.url, { ...c, duration: opts.warmup });
  }
  const results = new Map(contenders.map((c) => [c.id, []]));
  for (let i = 0; i < opts.runs; i++) {
    for (const c of contenders) {
      log(`run ${i + 1}/${opts.runs}: ${c.name}`);
      results.get(c.id).push(await wrk(c.url, c));
    }
  }
  const med = (id, k) => median(results.get(id).map((r) => r[k]));
  const A = med('A', 'rps');
  const B = med('B', 'rps');

  // ---- p99 at half the maximum rate, then the same with sign-ins hammering
  // the Argon2id pool.
  const halfTarget = med('sa', 'rps') / 2;
  const pacedConns = opts.connections;
  const delayMs = Math.max(1, Math.round((pacedConns * 1000) / halfTarget - med('sa', 'p50')));
  const paced = { url: forward, headers: [...fwd, bearer], script: path.join(here, 'paced.lua'),
                  scriptArgs: [String(delayMs)], connections: pacedConns };
  log(`paced runs at ~${fmt(halfTarget)} req/s (delay ${delayMs} ms × ${pacedConns} connections)`);
  const halfRuns = [];
  for (let i = 0; i < opts.runs; i++) halfRuns.push(await wrk(paced.url, paced));

  log(`paced runs while ${opts.signins} sign-ins/s arrive`);
  const signinRuns = [];
  const signinStats = { ok: 0, overloaded: 0, other: 0 };
  for (let i = 0; i < opts.runs; i++) {
    let stopSignins = false;
    const inflight = new Set();
    const gen = (async () => {
      const period = 1000 / opts.signins;
      let nextAt = Date.now();
      while (!stopSignins) {
        const p = fetch(`${base}/api/v1/login/password`, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'alice', password: PASSWORD }),
        }).then(async (r) => {
          await r.arrayBuffer();
          if (r.status === 200) signinStats.ok++;
          else if (r.status === 503) signinStats.overloaded++;
          else signinStats.other++;
        }).catch(() => { signinStats.other++; });
        inflight.add(p);
        p.finally(() => inflight.delete(p));
        nextAt += period;
        await sleep(Math.max(0, nextAt - Date.now()));
      }
    })();
    await sleep(1500);  // let the hashing queue fill first
    signinRuns.push(await wrk(paced.url, paced));
    stopSignins = true;
    await gen;
    await Promise.allSettled([...inflight]);
  }
  const rssEnd = rssKiB(stepup.pid);

  // ---- Markdown
  const cfgLine = `wrk -t${opts.threads} -c${opts.connections} -d${opts.duration}s --latency, ` +
                  `median of ${opts.runs} interleaved runs (after a ${opts.warmup} s warm-up each)`;
  md.push(`# HTTP benchmark ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`, '');
  md.push(`Command: \`bench/http/run ${process.argv.slice(2).join(' ')}\`; ${cfgLine}. ` +
          `Request: \`GET ${URI}\` (rule 46 of ${JSON.parse(fs.readFileSync(RULES, 'utf8')).length}: aal1, max_age 1d).`, '');
  md.push(...machineLines, '');
  md.push('| contender | req/s | p50 ms | p99 ms | × A | × B | non-2xx | vs verify ceiling |');
  md.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of contenders) {
    const rps = med(c.id, 'rps');
    const bad = results.get(c.id).reduce((a, r) => a + r.non2xx + r.errors, 0);
    md.push(`| ${c.name} | ${fmt(rps)} | ${fmtMs(med(c.id, 'p50'))} | ${fmtMs(med(c.id, 'p99'))} | ` +
            `${(rps / A).toFixed(2)} | ${(rps / B).toFixed(2)} | ${bad} | ` +
            `${c.verifies ? (rps / ceiling.verify).toFixed(2) : ''} |`);
  }
  md.push('');
  const peerRot = med('pb', 'rps');
  md.push('Other measurements of the same run:', '');
  md.push('| what | result |', '|---|---|');
  md.push(`| signature-verify ceiling: \`${ceiling.cmd}\` | ${fmt(ceiling.verify)} ECDSA P-256 verify/s (${fmt(ceiling.sign)} sign/s) |`);
  md.push(`| disk fsync (\`dd bs=4k count=200 oflag=dsync\` in the store's directory) | ${fmtMs(fsyncMs)} ms per synchronous write: about ${fmt(1000 / fsyncMs)} commits/s for one writer |`);
  md.push(`| distinct tokens, stepup direct vs uncached peer | ${(med('sb', 'rps') / peerRot).toFixed(2)} × |`);
  const half = { rps: median(halfRuns.map((r) => r.rps)), p50: median(halfRuns.map((r) => r.p50)), p99: median(halfRuns.map((r) => r.p99)) };
  const sg = { rps: median(signinRuns.map((r) => r.rps)), p50: median(signinRuns.map((r) => r.p50)), p99: median(signinRuns.map((r) => r.p99)) };
  md.push(`| p99 at about half the max rate (stepup forward, one Bearer token; ${pacedConns} connections, ${delayMs} ms pause after each response) | ${fmtMs(half.p99)} ms at ${fmt(half.rps)} req/s (p50 ${fmtMs(half.p50)} ms) |`);
  md.push(`| same load while ${opts.signins} sign-ins/s (Argon2id 19 MiB, t=2, 1 hashing worker) arrive | p99 ${fmtMs(sg.p99)} ms at ${fmt(sg.rps)} req/s (p50 ${fmtMs(sg.p50)} ms): p99 × ${(sg.p99 / half.p99).toFixed(2)}; sign-ins: ${signinStats.ok} ok, ${signinStats.overloaded} 503 overloaded, ${signinStats.other} other |`);
  md.push(`| refresh-token rotations/s on SQLite (\`POST /api/v1/token/refresh\`, same wrk command) | ${fmt(median(refreshRuns.map((r) => r.rps)))} /s, p50 ${fmtMs(median(refreshRuns.map((r) => r.p50)))} ms, p99 ${fmtMs(median(refreshRuns.map((r) => r.p99)))} ms, non-2xx ${refreshRuns.reduce((a, r) => a + r.non2xx, 0)} |`);
  md.push(`| ${fmt(nSessions)} sessions seeded with \`stepup_bench_seed\` (Store::create_session, one transaction each; then the tokens issued) | ${fmt(seedSeconds, 1)} s; SQLite file + WAL ${fmt(dbAfterSeed / 2 ** 20, 1)} MiB |`);
  md.push(`| stepup RSS with ${nSes} live sessions in the store | ${fmt(rssStart / 1024, 1)} MiB after start, ${fmt(rssEnd / 1024, 1)} MiB after the whole run |`);
  md.push('');
  const text = md.join('\n') + '\n';
  const stamp = started.toISOString().slice(0, 16).replace('T', '-').replace(':', '');
  const outFile = opts.out ?? path.join(REPO, 'bench/results', `${stamp}.md`);
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, text);
  // Raw wrk output, for whoever wants to look closer.
  const raw = [];
  for (const c of contenders) results.get(c.id).forEach((r, i) => raw.push(`## ${c.name} run ${i + 1}\n${r.raw}`));
  fs.writeFileSync(outFile.replace(/\.md$/, '.raw.txt'), raw.join('\n'));
  process.stdout.write(text);
  log(`written to ${path.relative(REPO, outFile)}`);

  await Promise.all([stop(peer), stop(peerCached), stop(nginx), stop(stepup)]);
}

main().catch((err) => { console.error(err.stack || err); process.exit(1); });
