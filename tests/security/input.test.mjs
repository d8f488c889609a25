// Attack catalogue, hostile input: oversized bodies (413), malformed JSON,
// wrong types, deep nesting and invalid UTF-8 (400 with the contract's
// error JSON), wrong content types (415), huge headers (431), slow clients
// cut off by server.read_timeout, and SQL-looking or control characters in
// usernames stored and returned verbatim, never interpreted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { login, mustLogin, rawRequest, request, startServer } from '../integration/lib/server.mjs';
import { addUser, Browser, forward, kHigh } from '../integration/lib/stepup.mjs';
import { assertContractError, trickle } from './lib/attack.mjs';

const kMaxBody = 4096;
const kReadTimeoutMs = 2000;  // server.read_timeout below
const kIdleTimeoutMs = 3000;  // server.idle_timeout below

let srv;
before(async () => {
  srv = await startServer({ server: { max_body_bytes: kMaxBody, read_timeout: '2s', idle_timeout: '3s' }, rate_limits: { login: kHigh, verify: kHigh } },
                          { users: ['alice'] });
});
after(async () => { await srv?.stop(); });

const loginRaw = (body, contentType = 'application/json') =>
  request(srv, 'POST', '/api/v1/login/password', { body, contentType });

async function healthy() {
  const r = await request(srv, 'GET', '/healthz');
  assert.equal(r.status, 200, 'the server still answers');
}

// ---------------------------------------------------------------- bodies

test('a body over server.max_body_bytes -> 413 body_too_large', async () => {
  const body = JSON.stringify({ username: 'alice', password: 'x'.repeat(kMaxBody) });
  assertContractError(await loginRaw(body), 413, 'body_too_large', `${body.length}-byte body`);
  await healthy();
});

test('a declared Content-Length over the limit is refused without waiting for the body', async () => {
  const t0 = Date.now();
  const r = await rawRequest(srv, 'POST /api/v1/login/password HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
                                  `Content-Length: ${100 * 1024 * 1024}\r\n\r\n{"username":`, { timeoutMs: 5000 });
  assert.equal(r.status, 413, r.head);
  // Before read_timeout (2 s, this server's config), which is what would have
  // ended a server waiting for the 100 MiB; not a fixed machine speed.
  assert.ok(Date.now() - t0 < kReadTimeoutMs, `answered in ${Date.now() - t0} ms, before read_timeout`);
  assert.match(r.body, /"body_too_large"/);
});

test('a chunked body growing over the limit -> 413', async () => {
  const chunk = 'a'.repeat(1024);
  let raw = 'POST /api/v1/login/password HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
  for (let i = 0; i < 8; i++) raw += `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
  raw += '0\r\n\r\n';
  const r = await rawRequest(srv, raw);
  assert.equal(r.status, 413, r.head);
  await healthy();
});

test('malformed JSON -> 400 invalid_request', async () => {
  const bad = ['', '{', '}', '{"username":"alice",}', "{'username':'alice'}", '{"username":"alice"} x',
               '{"username":"alice","password":"p"}{"username":"bob"}', '{"a":NaN}', '{"a":1}/* c */', '{username:"alice"}',
               '{"username":"al\\ice"}', '\u0000', 'nul', '{"a":"\u0001"}'];
  for (const body of bad) assertContractError(await loginRaw(body), 400, 'invalid_request', `body ${JSON.stringify(body)}`);
});

test('a JSON value that is not an object -> 400 invalid_request', async () => {
  for (const body of ['[]', '["alice","pw"]', 'null', 'true', '"alice"', '42']) {
    assertContractError(await loginRaw(body), 400, 'invalid_request', `body ${body}`);
  }
});

test('wrong types for username and password -> 400 invalid_request', async () => {
  for (const v of [1, 1.5, true, null, [], ['alice'], {}, { $ne: '' }]) {
    assertContractError(await loginRaw(JSON.stringify({ username: v, password: 'violet-Harbor-92-kite' })), 400,
                        'invalid_request', `username ${JSON.stringify(v)}`);
    assertContractError(await loginRaw(JSON.stringify({ username: 'alice', password: v })), 400, 'invalid_request',
                        `password ${JSON.stringify(v)}`);
  }
});

test('wrong types in step-up and refresh bodies -> 400 invalid_request', async () => {
  const b = await Browser.login(srv, 'alice');
  for (const body of [{ acr_values: 2 }, { acr_values: ['aal2'] }, { acr_values: 'aal2', max_age: '300' },
                      { acr_values: 'aal2', max_age: 1.5 }, { acr_values: 'aal2', return_to: 7 },
                      { acr_values: 'aal2', transaction: 'x' }, {}]) {
    assertContractError(await b.post('/api/v1/step-up', body), 400, 'invalid_request', JSON.stringify(body));
  }
  for (const body of [{}, { refresh_token: 1 }, { refresh_token: null }, { refresh_token: [b.refreshToken] }]) {
    const r = await request(srv, 'POST', '/api/v1/token/refresh', { json: body });
    assertContractError(r, 400, 'invalid_request', JSON.stringify(body));
  }
});

test('deep nesting (1000 nested arrays, 600 nested objects) -> 400 invalid_request, quickly', async () => {
  const arrays = '['.repeat(1000) + ']'.repeat(1000);
  const objects = '{"a":'.repeat(600) + '1' + '}'.repeat(600);
  // Baseline from the same run: flat bodies of the same sizes, also refused
  // with 400. Nested ones may cost more, but not orders of magnitude more
  // (a parser that recursed or backtracked would).
  const nested = [arrays, `{"username":${arrays},"password":"x"}`, objects, `{"username":"alice","x":${objects}}`];
  const flat = nested.map((b) => `{"username":1,"pad":"${'x'.repeat(b.length)}"}`);
  const cost = { nested: [], flat: [] };
  for (let round = 0; round < 5; round++) {
    for (const [kind, bodies] of round % 2 ? [['flat', flat], ['nested', nested]] : [['nested', nested], ['flat', flat]]) {
      const t0 = process.hrtime.bigint();
      for (const body of bodies) {
        assert.ok(body.length < kMaxBody, 'under the body limit, so the parser is what refuses');
        assertContractError(await loginRaw(body), 400, 'invalid_request', `${kind} body of ${body.length} bytes`);
      }
      cost[kind].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  assert.ok(med(cost.nested) < 20 * med(cost.flat),
            `no pathological parse time: nested ${med(cost.nested).toFixed(1)} ms vs flat ${med(cost.flat).toFixed(1)} ms`);
  await healthy();
});

test('invalid UTF-8 in a JSON string -> 400 invalid_request', async () => {
  const cases = {
    'byte 0xff': [0xff], 'lone continuation byte': [0x80], 'overlong slash 0xc0 0xaf': [0xc0, 0xaf],
    'truncated 3-byte sequence': [0xe2, 0x82], 'UTF-8 encoded surrogate': [0xed, 0xa0, 0x80],
    'code point over U+10FFFF': [0xf4, 0x90, 0x80, 0x80],
  };
  for (const [what, bytes] of Object.entries(cases)) {
    const body = Buffer.concat([Buffer.from('{"username":"al'), Buffer.from(bytes), Buffer.from('ice","password":"violet-Harbor-92-kite"}')]);
    assertContractError(await loginRaw(body), 400, 'invalid_request', what);
  }
});

test('a wrong or missing Content-Type -> 415 unsupported_media_type', async () => {
  const body = JSON.stringify({ username: 'alice', password: 'violet-Harbor-92-kite' });
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
                    'application/jsonx', 'application/json-patch+json', 'text/json', 'json']) {
    assertContractError(await loginRaw(body, ct), 415, 'unsupported_media_type', `Content-Type ${ct}`);
  }
  // A Buffer body makes fetch send no Content-Type at all.
  const none = await request(srv, 'POST', '/api/v1/login/password', { body: Buffer.from(body) });
  assertContractError(none, 415, 'unsupported_media_type', 'no Content-Type');
  // Control: parameters and case do not matter for the real type.
  assert.equal((await loginRaw(body, 'Application/JSON; charset=utf-8')).status, 200);
});

// ---------------------------------------------------------------- headers

test('huge headers (one 20 KB header, or 300 small ones) -> 431', async () => {
  const one = await rawRequest(srv, `GET /api/v1/session HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
  assert.equal(one.status, 431, one.head);
  assert.match(one.body, /"request_header_fields_too_large"/);
  let many = 'GET /api/v1/session HTTP/1.1\r\nHost: x\r\n';
  for (let i = 0; i < 300; i++) many += `X-H${i}: ${'b'.repeat(80)}\r\n`;
  const r = await rawRequest(srv, `${many}\r\n`);
  assert.equal(r.status, 431, r.head);
  await healthy();
});

test('a huge Cookie header -> 431, not a crash', async () => {
  const r = await rawRequest(srv, `GET /api/v1/session HTTP/1.1\r\nHost: x\r\nCookie: stepup_session=${'c'.repeat(40 * 1024)}\r\n\r\n`);
  assert.equal(r.status, 431, r.head);
  await healthy();
});

test('request smuggling: Content-Length together with Transfer-Encoding is not treated as two requests', async () => {
  const smuggled = 'GET /api/v1/session HTTP/1.1\r\nHost: x\r\n\r\n';
  const raw = 'POST /api/v1/login/password HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
              `Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`;
  const r = await rawRequest(srv, raw, { timeoutMs: 4000 });
  const statuses = [...`${r.head}\r\n\r\n${r.body}`.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
  // RFC 9112 6.3: reject, or answer this one request and close the
  // connection; never run the bytes after the chunked body as a request.
  assert.equal(statuses.length, 1, `one answer, then close: ${statuses.join(',')}\n${r.head}`);
  await healthy();
});

// ---------------------------------------------------------------- slow clients

test('a slow client (one header byte per second) is cut off by read_timeout 2s', async () => {
  const head = 'GET /api/v1/session HTTP/1.1\r\nHost: localhost\r\nX-Slow: ' + 'z'.repeat(40) + '\r\n\r\n';
  const slow = trickle(srv, [...head], { intervalMs: 1000, giveUpMs: 20000 });
  // Others are served meanwhile.
  await new Promise((r) => setTimeout(r, 500));
  await healthy();
  const r = await slow;
  // Counted in bytes, not in wall time: at one byte per interval the whole
  // head would take head.length intervals; the cut came well before, and not
  // before read_timeout (a timer never fires early).
  assert.ok(r.sent < head.length / 2, `cut off after ${r.sent} of ${head.length} bytes`);
  assert.ok(r.closedAfterMs >= kReadTimeoutMs - 100, `not before read_timeout: ${r.closedAfterMs} ms`);
  assert.notEqual(r.status, 200, 'never served');
});

test('a slow body (complete headers, one body byte per second) is cut off too', async () => {
  const body = JSON.stringify({ username: 'alice', password: 'violet-Harbor-92-kite' });
  const head = 'POST /api/v1/login/password HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
               `Content-Length: ${body.length}\r\n\r\n`;
  const r = await trickle(srv, [head, ...body], { intervalMs: 1000, giveUpMs: 20000 });
  assert.ok(r.sent - 1 < body.length / 2, `cut off after ${r.sent - 1} of ${body.length} body bytes`);
  assert.ok(r.closedAfterMs >= kReadTimeoutMs - 100, `not before read_timeout: ${r.closedAfterMs} ms`);
  assert.doesNotMatch(r.text, /access_token/, 'no sign-in happened');
});

test('a connection that never sends anything is closed after server.idle_timeout (3s)', async () => {
  // The server closes it (we would give up only after 20 s, far beyond any
  // timeout configured here), and not before idle_timeout.
  const r = await trickle(srv, [], { giveUpMs: 20000 });
  assert.ok(r.closedByServer, `closed by the server, not by our give-up timer (${r.closedAfterMs} ms)`);
  assert.ok(r.closedAfterMs >= kIdleTimeoutMs - 100, `not before idle_timeout: ${r.closedAfterMs} ms`);
});

// ---------------------------------------------------------------- usernames

const kSqlNames = ["' OR 1=1 --", "robert'); DROP TABLE users;--", '"; DELETE FROM sessions; --', "admin'--",
                   '%27%20OR%201%3D1', 'x\' UNION SELECT password_hash FROM users --'];

test('SQL-looking usernames are stored verbatim, sign in as themselves, and break nothing', async () => {
  for (const [i, name] of kSqlNames.entries()) {
    await addUser(srv, name, `zircon-Prairie-${10 + i}-hawk`);
  }
  const list = await srv.cli(['user', 'list', '--json']);
  assert.equal(list.code, 0, list.stderr);
  const names = JSON.parse(list.stdout).map((u) => u.username);
  for (const name of kSqlNames) assert.ok(names.includes(name), `listed verbatim: ${JSON.stringify(name)} in ${list.stdout}`);
  assert.ok(names.includes('alice'), 'the users table is intact');

  for (const [i, name] of kSqlNames.entries()) {
    const r = await mustLogin(srv, name, `zircon-Prairie-${10 + i}-hawk`);
    assert.equal(r.json.session.subject, name, 'session subject verbatim');
    const s = await request(srv, 'GET', '/api/v1/session', { cookie: r.cookie });
    assert.equal(s.json.subject, name);
    const f = await forward(srv, { uri: '/dashboard', cookie: r.cookie });
    assert.equal(f.status, 200);
    assert.equal(f.headers.get('x-stepup-subject'), name, 'identity header verbatim');
  }
  assert.equal((await login(srv, 'alice')).status, 200, 'alice still signs in');
  const sessions = await srv.cli(['session', 'list', '--all', '--json']);
  assert.equal(sessions.code, 0, sessions.stderr);
  assert.ok(sessions.stdout.includes(JSON.stringify(kSqlNames[1]).slice(1, -1)), 'session list shows the subject verbatim');
});

test('SQL injection in the login body does not bypass the password', async () => {
  const attempts = [
    ["alice' --", 'anything'], ["alice'/*", 'x'], ["' OR '1'='1", "' OR '1'='1"], ['alice', "' OR '1'='1"],
    ['alice', "x' OR 1=1 --"], ["alice\" --", 'x'], ['%', 'x'], ['_lice', 'violet-Harbor-92-kite'], ['al%', 'violet-Harbor-92-kite'],
  ];
  for (const [username, password] of attempts) {
    const r = await login(srv, username, password);
    assertContractError(r, 401, 'invalid_credentials', `${JSON.stringify(username)} / ${JSON.stringify(password)}`);
  }
});

test("control characters: 'a\\u0000b' never matches user 'a', and the CLI refuses control characters", async () => {
  await addUser(srv, 'nulbyte', 'basalt-Estuary-55-crane');
  for (const username of ['nulbyte\u0000', 'nulbyte\u0000x', 'nul\u0000byte', '\u0000nulbyte', 'nulbyte\n', 'nulbyte\r\n']) {
    const r = await login(srv, username, 'basalt-Estuary-55-crane');
    assert.ok([400, 401].includes(r.status), `${JSON.stringify(username)}: ${r.status} ${r.text}`);
    assert.equal(r.setCookies.length, 0, 'no session');
  }
  for (const name of ['evil\nX-Injected: 1', 'tab\there', 'bell\u0007', 'del\u007f']) {
    const r = await srv.cli(['user', 'add', name, '--password-stdin'], { stdin: 'basalt-Estuary-56-crane\n' });
    assert.notEqual(r.code, 0, `user add ${JSON.stringify(name)} is refused: ${r.stdout}${r.stderr}`);
  }
});

test('unicode usernames (RTL override, combining marks, emoji) round-trip verbatim', async () => {
  const names = ['\u202Eevil\u202C', 'Ze\u0301ro', 'caf\u00e9', '\u{1F512}lock'];
  const added = [];
  for (const [i, name] of names.entries()) {
    const r = await srv.cli(['user', 'add', name, '--password-stdin'], { stdin: `opal-Tundra-${30 + i}-finch\n` });
    if (r.code !== 0) continue;  // refusing is fine; storing it altered is not
    added.push(name);
    const l = await mustLogin(srv, name, `opal-Tundra-${30 + i}-finch`);
    assert.equal(l.json.session.subject, name, `subject of ${JSON.stringify(name)}`);
  }
  const list = JSON.parse((await srv.cli(['user', 'list', '--json'])).stdout).map((u) => u.username);
  for (const name of added) assert.ok(list.includes(name), `listed verbatim: ${JSON.stringify(name)}`);
});

test('path traversal on hosted assets never serves files outside web/', async () => {
  for (const p of ['/assets/../../../../etc/passwd', '/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/assets/..%2f..%2f..%2fetc%2fpasswd',
                   '/assets/....//....//etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/assets/%00', '/assets/style.css%00.html']) {
    const r = await rawRequest(srv, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.ok(r.status >= 400 && r.status < 500, `${p}: ${r.head.split('\r\n')[0]}`);
    assert.doesNotMatch(r.body, /root:.*:0:0:/, `${p} leaked /etc/passwd`);
  }
});
