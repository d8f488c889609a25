// Canonical request at every enforcement point: the bypass list and
// variants, refused input (403 on the gateway endpoints, 400 on authz/check),
// gateway headers missing or repeated, absolute-form targets, HEAD under GET
// rules, upstream path semantics, Cache-Control and the refusal metric.
// Rules (lib/server.mjs defaults, plus a GET-only rule):
//   GET /reports/** aal2, POST /payments/** aal2, /admin/** aal2, /public/** public,
//   /blocked/** deny, /** aal1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig, metricsToken, mustLogin, rawRequest, request, startServer } from './lib/server.mjs';

const metrics = metricsToken();  // /metrics is served only when configured
let srv;
let alice;  // aal1 session
before(async () => {
  const rules = defaultConfig({ port: 0, dir: '/tmp' }).rules;
  srv = await startServer({
    server: { metrics_token_file: metrics.file },
    rules: [{ methods: ['GET'], path: '/reports/**', level: 'aal2' }, ...rules],
  });
  alice = await mustLogin(srv, 'alice');
});
after(async () => { await srv?.stop(); });

const forward = (uri, { method = 'GET', cookie = alice.cookie, headers = {} } = {}) =>
  request(srv, 'GET', '/api/v1/authz/forward', {
    cookie,
    headers: {
      'x-forwarded-method': method, 'x-forwarded-proto': 'http',
      'x-forwarded-host': `localhost:${srv.port}`, 'x-forwarded-uri': uri, ...headers,
    },
  });
const authRequest = (uri, { method = 'GET', cookie = alice.cookie } = {}) =>
  request(srv, 'GET', '/api/v1/authz/auth-request', {
    cookie, headers: { 'x-original-method': method, 'x-original-uri': uri },
  });
const check = (path, { method = 'GET', host, cookie = alice.cookie } = {}) =>
  request(srv, 'POST', '/api/v1/authz/check', { cookie, json: { method, path, ...(host ? { host } : {}) } });

// Raw exchange for what fetch cannot send (repeated lines, odd bytes).
function raw(lines) {
  const head = [...lines, `Host: localhost:${srv.port}`,
                `Cookie: stepup_session=${alice.cookie}`, 'Connection: close'].join('\r\n');
  return rawRequest(srv, `${head}\r\n\r\n`);
}

async function refusedMetric(reason) {
  const r = await request(srv, 'GET', '/metrics', { bearer: metrics.token });
  assert.equal(r.status, 200, r.text);
  const m = new RegExp(`^stepup_requests_refused_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(r.text);
  return m ? Number(m[1]) : NaN;
}

// Resolves to the protected rule at aal1: a step-up is asked, never an allow.
const kStepUp = [
  '/x/../admin', '/public/../admin', '/./admin', '/x/%2e%2e/admin', '/x/%2E%2E/admin',
  '/%61dmin', '/%41dmin/x', '/admin/.', '/admin/./users', '/public/%2e%2e/admin',
  '/public/./../admin/x', '/x/.%2e/admin', '/admin//users',
  // Literally under /admin/**: express routes "/admin/.." as /admin/:page.
  '/admin/..', '/admin/%2e%2e', '/admin/x/../..',
  '/admin?x=/public/', '/ADMIN/users', '/Admin', '/admin/', '/reports/../admin',
];
// No single meaning across upstreams: refused.
const kRefused = [
  ['/.%2e/admin', 'above_root'], ['/admin%2fusers', 'encoded_slash'], ['/public%2f..%2fadmin', 'encoded_slash'],
  ['/admin\\users', 'backslash'], ['/public/..\\admin', 'backslash'], ['/admin%5cusers', 'backslash'],
  ['/admin;x=1', 'semicolon'], ['/public/..;/admin', 'semicolon'], ['/admin%3b', 'semicolon'],
  ['/%252e%252e/admin', 'double_encoding'], ['/public/%252e%252e/admin', 'double_encoding'],
  ['/public/%c0%ae%c0%ae/admin', 'bad_utf8'], ['/admin%00', 'control'], ['/admin%20', null],
  ['/admin%', 'bad_percent'], ['/..', 'above_root'], ['/public/../../admin', 'above_root'],
  ['admin', 'not_origin_form'], ['*', 'not_origin_form'], ['/a#b', 'bad_character'],
  ['http://evil.example/admin', 'host_mismatch'], ['http://user@localhost/admin', 'bad_absolute_form'],
  // A WHATWG URL parser reads "//x/admin" as host x, path /admin.
  ['//admin', 'network_path'], ['//x/admin', 'network_path'], ['///admin', 'network_path'],
  ['/admin//../users', 'empty_dot_dot'],
];

test('bypass paths resolve to the protected rule on every endpoint', async () => {
  for (const uri of kStepUp) {
    const f = await forward(uri);
    assert.equal(f.status, 401, `forward ${uri}: ${f.status} ${f.text}`);
    assert.equal(f.json?.error, 'insufficient_user_authentication', uri);
    const a = await authRequest(uri);
    assert.equal(a.status, 401, `auth-request ${uri}`);
    assert.match(a.headers.get('www-authenticate') ?? '', /acr_values="aal2"/, uri);
    if (!uri.includes('?')) {
      const c = await check(uri);
      assert.equal(c.status, 200, `check ${uri}: ${c.text}`);
      assert.equal(c.json.decision, 'step_up', `check ${uri}`);
    }
  }
});

test('a path read both ways takes the stricter rule: /blocked/../admin is denied', async () => {
  // Resolved it is /admin (aal2); literally (express does not resolve dot
  // segments) it is under /blocked/** (deny). Deny wins.
  assert.equal((await forward('/blocked/../admin')).status, 403);
  assert.equal((await check('/blocked/../admin')).json.decision, 'deny');
  assert.equal((await check('/public/x/../y')).json.decision, 'allow', 'public both ways');
  assert.equal((await check('/public/../home', { cookie: '' })).json.decision, 'login');
});

test('ambiguous paths are refused: 403 on the gateways, 400 on authz/check, counted', async () => {
  for (const [uri, reason] of kRefused) {
    if (uri === '/admin%20') continue;  // %20 is kept encoded and judged; see below
    const before = reason ? await refusedMetric(reason) : 0;
    const f = await forward(uri);
    assert.equal(f.status, 403, `forward ${uri}: ${f.status} ${f.text}`);
    assert.equal(f.json?.error, 'request_refused', uri);
    assert.equal(f.headers.get('cache-control'), 'no-store');
    const a = await authRequest(uri);
    assert.equal(a.status, 403, `auth-request ${uri}`);
    assert.equal(a.text, '', 'auth-request answers have no body');
    const c = await check(uri);
    assert.equal(c.status, 400, `check ${uri}: ${c.text}`);
    assert.equal(c.json.error, 'invalid_request');
    if (reason) assert.equal(await refusedMetric(reason), before + 3, `metric for ${uri}`);
  }
  // An encoded space stays encoded: "/admin%20" is a resource of its own,
  // judged by the catch-all rule (an upstream serving it as /admin would be
  // trimming, which we document as the gateway's job).
  assert.equal((await check('/admin%20')).json.decision, 'allow');
});

test('raw bytes fetch cannot send: control, non-ASCII, tab', async () => {
  for (const uri of ['/admin\u0001x', '/caf\u00e9', '/ad\tmin']) {
    const r = await raw(['GET /api/v1/authz/auth-request HTTP/1.1', 'X-Original-Method: GET',
                         `X-Original-URI: ${uri}`]);
    assert.ok(r.status === 403 || r.status === 400, `${JSON.stringify(uri)}: ${r.status}`);
  }
});

test('gateway headers missing or sent twice are refused', async () => {
  const before = await refusedMetric('gateway_header');
  const base = ['GET /api/v1/authz/auth-request HTTP/1.1'];
  const cases = [
    [...base, 'X-Original-Method: GET'],                                    // no URI
    [...base, 'X-Original-URI: /home'],                                     // no method
    [...base, 'X-Original-Method: GET', 'X-Original-URI: /home', 'X-Original-URI: /public/x'],
    [...base, 'X-Original-Method: GET', 'X-Original-Method: POST', 'X-Original-URI: /home'],
  ];
  for (const lines of cases) {
    const r = await raw(lines);
    assert.equal(r.status, 403, lines.join(' | '));
  }
  const fwd = ['GET /api/v1/authz/forward HTTP/1.1', 'X-Forwarded-Method: GET',
               `X-Forwarded-Host: localhost:${srv.port}`, 'X-Forwarded-Proto: http'];
  for (const extra of [[], ['X-Forwarded-Uri: /public/x', 'X-Forwarded-Uri: /admin'],
                       ['X-Forwarded-Uri: /home', `X-Forwarded-Host: localhost:${srv.port}`]]) {
    const r = await raw([...fwd, ...extra]);
    assert.equal(r.status, 403, extra.join(' | '));
  }
  // Proto and host are required on forward-auth, and must be well-formed.
  assert.equal((await forward('/home', { headers: { 'x-forwarded-proto': 'gopher' } })).status, 403);
  assert.equal((await forward('/home', { headers: { 'x-forwarded-host': 'a.example, b.example' } })).status, 403);
  assert.equal(await refusedMetric('gateway_header'), before + 4 + 3 + 1);
  // The well-formed request still works.
  const ok = await raw([...fwd, 'X-Forwarded-Uri: /home']);
  assert.equal(ok.status, 200, ok.head);
});

test('absolute-form: the path counts when the host is the forwarded one', async () => {
  const same = await forward(`http://localhost:${srv.port}/x/../admin`);
  assert.equal(same.status, 401, same.text);
  const home = await forward(`http://localhost:${srv.port}/home?q`);
  assert.equal(home.status, 200, home.text);
  // Another host never falls through to the catch-all rule.
  const other = await forward('http://evil.example/public/x');
  assert.equal(other.status, 403);
  const c = await check('http://evil.example/home', { host: `localhost:${srv.port}` });
  assert.equal(c.status, 400);
});

test('GET rules cover HEAD', async () => {
  for (const method of ['GET', 'HEAD']) {
    const f = await forward('/reports/q3', { method });
    assert.equal(f.status, 401, `${method}: ${f.text}`);
  }
  // Methods are case-sensitive: "head" is not HEAD, and is refused.
  assert.equal((await forward('/reports/q3', { method: 'head' })).status, 403);
  const post = await forward('/reports/q3', { method: 'POST' });
  assert.equal(post.status, 200, 'POST falls to the catch-all aal1 rule');
  assert.equal((await check('/reports/q3', { method: 'HEAD' })).json.decision, 'step_up');
});

test('authz/check: missing method or path is 400, not GET /', async () => {
  for (const json of [{ path: '/admin' }, { method: 'GET' }, { method: '', path: '/home' },
                      { method: 'GET', path: '' }, { method: 'G T', path: '/home' }]) {
    const r = await request(srv, 'POST', '/api/v1/authz/check', { cookie: alice.cookie, json });
    assert.equal(r.status, 400, JSON.stringify(json));
    assert.equal(r.json.error, 'invalid_request');
  }
});

test('every enforcement answer carries Cache-Control: no-store', async () => {
  const allow = await forward('/home');
  assert.equal(allow.status, 200);
  assert.equal(allow.headers.get('cache-control'), 'no-store');
  const allowNginx = await authRequest('/home');
  assert.equal(allowNginx.status, 200);
  assert.equal(allowNginx.headers.get('cache-control'), 'no-store');
  assert.equal((await authRequest('/admin')).headers.get('cache-control'), 'no-store');
  assert.equal((await authRequest('/blocked/x')).headers.get('cache-control'), 'no-store');
  assert.equal((await forward('/home', { cookie: 'nope' })).headers.get('cache-control'), 'no-store');
});

test('upstream semantics: case and trailing slash, both ways', async () => {
  const rules = [
    { path: '/public/**', public: true },
    { path: '/transfer', level: 'aal2' },
    { path: '/admin/**', level: 'aal2' },
    { path: '/**', level: 'aal1' },
  ];
  const ask = async (s, uri, cookie) => {
    const r = await request(s, 'POST', '/api/v1/authz/check', { cookie, json: { method: 'GET', path: uri } });
    return r.json.decision;
  };
  // A case-insensitive upstream ignoring trailing slashes (express defaults).
  const express = await startServer({ rules, upstream: { path_case: 'insensitive', trailing_slash: 'ignored' } });
  // A case-sensitive upstream where the slash matters (nginx static files).
  const exact = await startServer({ rules, upstream: { path_case: 'sensitive', trailing_slash: 'significant' } });
  // The default: unknown, both readings, the stricter one.
  const unknown = await startServer({ rules });
  try {
    const a = await mustLogin(express, 'alice');
    const b = await mustLogin(exact, 'alice');
    const c = await mustLogin(unknown, 'alice');
    assert.equal(await ask(express, '/ADMIN/users', a.cookie), 'step_up');
    assert.equal(await ask(express, '/transfer/', a.cookie), 'step_up');
    assert.equal(await ask(express, '/PUBLIC/logo.png'), 'allow');
    assert.equal(await ask(exact, '/ADMIN/users', b.cookie), 'allow', 'another resource there: aal1');
    assert.equal(await ask(exact, '/PUBLIC/logo.png'), 'login', 'not the public area there');
    assert.equal(await ask(exact, '/transfer/', b.cookie), 'allow');
    assert.equal(await ask(unknown, '/ADMIN/users', c.cookie), 'step_up');
    assert.equal(await ask(unknown, '/transfer/', c.cookie), 'step_up');
    assert.equal(await ask(unknown, '/PUBLIC/logo.png'), 'login', 'public only where both readings agree');
    assert.equal(await ask(unknown, '/public/logo.png'), 'allow');
  } finally {
    await Promise.all([express.stop(), exact.stop(), unknown.stop()]);
  }
});

test('authz/check needs the host when rules match on hosts', async () => {
  const hosted = await startServer({
    rules: [{ hosts: ['admin.example.com'], path: '/**', level: 'aal2' }, { path: '/**', level: 'aal1' }],
  });
  try {
    const a = await mustLogin(hosted, 'alice');
    const no = await request(hosted, 'POST', '/api/v1/authz/check', { cookie: a.cookie, json: { method: 'GET', path: '/x' } });
    assert.equal(no.status, 400, no.text);
    assert.match(no.json.error_description, /host/);
    const yes = await request(hosted, 'POST', '/api/v1/authz/check',
                              { cookie: a.cookie, json: { method: 'GET', path: '/x', host: 'admin.example.com' } });
    assert.equal(yes.json.decision, 'step_up');
  } finally {
    await hosted.stop();
  }
});

test('config refuses a glob that is not a canonical path', async () => {
  await assert.rejects(startServer({ rules: [{ path: '/%61dmin/**', level: 'aal2' }] }), /canonical/);
  await assert.rejects(startServer({ rules: [{ path: '/x/../admin', level: 'aal2' }] }), /canonical/);
});

test('config refuses an unknown upstream semantics value', async () => {
  await assert.rejects(startServer({ upstream: { path_case: 'sometimes' } }), /path_case/);
});
