// /metrics: who may read it (server.metrics_listen, server.metrics_token_file,
// neither) and what it says: after some traffic, `promtool check metrics`
// (Debian `prometheus`; ./run installs it) must find nothing to complain about,
// so every family has # HELP and # TYPE and follows the naming rules.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, mustLogin, login, request, startServer } from './lib/server.mjs';

const tokenDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepup-metrics-token-'));
after(() => fs.rmSync(tokenDir, { recursive: true, force: true }));

function tokenFile() {
  const token = crypto.randomBytes(32).toString('base64');
  const file = path.join(tokenDir, `token-${crypto.randomUUID()}`);
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, file };
}

async function get(url, headers = {}) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(15000) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

function promtool(text) {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.ifError(r.error);  // ENOENT: promtool missing (./run installs Debian `prometheus`)
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

describe('neither metrics_listen nor metrics_token_file (the default)', () => {
  let srv;
  before(async () => { srv = await startServer({}, { users: [] }); });
  after(async () => { await srv?.stop(); });

  test('a direct request from this machine gets the exposition, and promtool accepts it', async () => {
    const r = await get(`${srv.url}/metrics`);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /^# HELP stepup_decisions_total /m);
    const lint = promtool(r.text);
    assert.equal(lint.status, 0, lint.output);
    assert.match(srv.stderr, /metrics served only to direct requests from this machine/);
  });

  test('anything relayed by a proxy is not served: 404, and no counter leaks', async () => {
    for (const h of [{ 'x-forwarded-for': '203.0.113.9' }, { forwarded: 'for=203.0.113.9' },
                     { via: '1.1 nginx' }, { 'x-real-ip': '203.0.113.9' },
                     { 'x-forwarded-host': 'bank.example' }, { 'x-original-uri': '/metrics' }]) {
      const r = await get(`${srv.url}/metrics`, h);
      assert.equal(r.status, 404, `${JSON.stringify(h)}: ${r.text}`);
      assert.equal(JSON.parse(r.text).error, 'not_found');
      assert.doesNotMatch(r.text, /stepup_/);
    }
  });
});

describe('metrics_token_file on the main listener', () => {
  let srv;
  let token;
  before(async () => {
    const t = tokenFile();
    token = t.token;
    srv = await startServer({ server: { metrics_token_file: t.file } }, { users: [] });
  });
  after(async () => { await srv?.stop(); });

  test('without a token: 401 with a Bearer challenge and no error code (RFC 6750 §3.1)', async () => {
    const r = await get(`${srv.url}/metrics`);
    assert.equal(r.status, 401, r.text);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="stepup metrics"');
    assert.equal(JSON.parse(r.text).error, 'invalid_token');
    assert.doesNotMatch(r.text, /stepup_/);
  });

  test('a wrong token, a prefix of it, or another scheme: 401 invalid_token', async () => {
    for (const authorization of [`Bearer ${token.slice(0, -1)}`, `Bearer ${token}x`,
      `Bearer ${'A'.repeat(token.length)}`, `Basic ${Buffer.from(`x:${token}`).toString('base64')}`]) {
      const r = await get(`${srv.url}/metrics`, { authorization });
      assert.equal(r.status, 401, `${authorization}: ${r.text}`);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer realm="stepup metrics"/);
      assert.doesNotMatch(r.text, /stepup_/);
    }
    const wrong = await get(`${srv.url}/metrics`, { authorization: `Bearer ${token}x` });
    assert.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="stepup metrics", error="invalid_token"');
  });

  test('the right token: 200 Prometheus text', async () => {
    const r = await get(`${srv.url}/metrics`, { authorization: `Bearer ${token}` });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(r.text, /^stepup_decisions_total\{verdict="allow"\} \d+$/m);
  });
});

describe('metrics_listen (with and without a token)', () => {
  let srv;
  let metricsUrl;
  before(async () => {
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}`;
    srv = await startServer({ server: { metrics_listen: `127.0.0.1:${port}` } });
  });
  after(async () => { await srv?.stop(); });

  test('served on its own listener only: 404 on the main listener', async () => {
    const main = await get(`${srv.url}/metrics`);
    assert.equal(main.status, 404, main.text);
    assert.doesNotMatch(main.text, /stepup_/);
    const own = await get(`${metricsUrl}/metrics`);
    assert.equal(own.status, 200, own.text);
    assert.match(own.text, /^stepup_http_requests_total \d+$/m);
  });

  test('the metrics listener serves nothing else', async () => {
    for (const p of ['/healthz', '/api/v1/session', '/.well-known/jwks.json', '/metrics/x']) {
      const r = await get(`${metricsUrl}${p}`);
      assert.equal(r.status, 404, `${p}: ${r.text}`);
    }
    const post = await fetch(`${metricsUrl}/metrics`, { method: 'POST', body: '' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  test('promtool check metrics passes on the live output after traffic', async () => {
    // Traffic that moves most counters: sign-ins both ways, a refresh, and
    // decisions of each kind the default rules give.
    const alice = await mustLogin(srv, 'alice');
    assert.equal((await login(srv, 'alice', 'wrong password')).status, 401);
    const refreshed = await request(srv, 'POST', '/api/v1/token/refresh',
      { json: { refresh_token: alice.refresh_token } });
    assert.equal(refreshed.status, 200, refreshed.text);
    for (const [uri, cookie] of [['/x', alice.cookie], ['/admin/x', alice.cookie],
      ['/blocked/x', alice.cookie], ['/x', undefined]]) {
      await request(srv, 'GET', '/api/v1/authz/auth-request',
        { cookie, headers: { 'x-original-uri': uri, 'x-original-method': 'GET' } });
    }
    const r = await get(`${metricsUrl}/metrics`);
    assert.equal(r.status, 200, r.text);
    const value = (re) => Number((r.text.match(re) ?? [])[1]);
    assert.ok(value(/^stepup_logins_total\{result="ok"\} (\d+)$/m) >= 1, r.text);
    assert.ok(value(/^stepup_logins_total\{result="failed"\} (\d+)$/m) >= 1, r.text);
    assert.ok(value(/^stepup_token_refreshes_total (\d+)$/m) >= 1, r.text);
    assert.ok(value(/^stepup_decisions_total\{verdict="allow"\} (\d+)$/m) >= 1, r.text);
    // Every sample's family has HELP and TYPE (promtool checks it too; this
    // names the offender when it fails).
    for (const [, name] of r.text.matchAll(/^([a-z_:][a-z0-9_:]*)(?:\{[^}]*\})? \S+$/gm)) {
      assert.match(r.text, new RegExp(`^# HELP ${name} \\S`, 'm'), `# HELP for ${name}`);
      assert.match(r.text, new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'), `# TYPE for ${name}`);
    }
    const lint = promtool(r.text);
    assert.equal(lint.status, 0, lint.output);
    assert.equal(lint.output, '', 'promtool has no complaint');
  });

  test('promtool does complain about a family without HELP (the judge works)', () => {
    const lint = promtool('# TYPE stepup_x_total counter\nstepup_x_total 1\n');
    assert.notEqual(lint.status, 0, lint.output);
    assert.match(lint.output, /no help text/);
  });
});

describe('metrics_listen with metrics_token_file', () => {
  let srv;
  let metricsUrl;
  let token;
  before(async () => {
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}`;
    const t = tokenFile();
    token = t.token;
    srv = await startServer({ server: { metrics_listen: `127.0.0.1:${port}`, metrics_token_file: t.file } },
      { users: [] });
  });
  after(async () => { await srv?.stop(); });

  test('the token is required on the metrics listener, and the main one still says 404', async () => {
    assert.equal((await get(`${metricsUrl}/metrics`)).status, 401);
    assert.equal((await get(`${metricsUrl}/metrics`, { authorization: `Bearer ${token}` })).status, 200);
    const main = await get(`${srv.url}/metrics`, { authorization: `Bearer ${token}` });
    assert.equal(main.status, 404, main.text);
  });
});
