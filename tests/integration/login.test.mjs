// POST /api/v1/login/password against a real server (docs/api.md "Sign-in").
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import {
  ACCESS_TTL, USERS, decodePart, login, mustLogin, rawRequest, request, startServer,
} from './lib/server.mjs';

const kMaxBody = 4096;
let srv;
before(async () => { srv = await startServer({ server: { max_body_bytes: kMaxBody } }); });
after(async () => { await srv?.stop(); });

function assertError(r, status, code) {
  assert.equal(r.status, status, `status; body: ${r.text}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(r.json?.error, code, `error code; body: ${r.text}`);
  assert.equal(typeof r.json.error_description, 'string');
  assert.ok(r.json.error_description.length > 0, 'error_description is not empty');
}

test('good login answers 200 with the documented fields', async () => {
  const before = Math.floor(Date.now() / 1000);
  const r = await login(srv, 'alice');
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(r.json.token_type, 'Bearer');
  assert.equal(typeof r.json.access_token, 'string');
  assert.equal(r.json.access_token.split('.').length, 3, 'JWS compact form');
  assert.equal(typeof r.json.refresh_token, 'string');
  assert.ok(r.json.refresh_token.length >= 20, 'refresh token has enough entropy to be a secret');
  assert.equal(r.json.expires_in, ACCESS_TTL);
  const s = r.json.session;
  assert.ok(s && typeof s === 'object', 'session object');
  for (const k of ['id', 'subject', 'acr', 'amr', 'auth_time', 'elevated_until', 'expires_at', 'idle_expires_at']) {
    assert.ok(k in s, `session.${k} present`);
  }
  assert.equal(typeof s.id, 'string');
  assert.equal(s.acr, 'aal1');
  assert.deepEqual(s.amr, ['pwd']);
  assert.equal(s.elevated_until, null);
  assert.ok(s.auth_time >= before - 1 && s.auth_time <= before + 5, `auth_time ${s.auth_time} is now`);
  assert.ok(s.expires_at > s.auth_time);
  assert.ok(s.idle_expires_at > s.auth_time && s.idle_expires_at <= s.expires_at);
  assert.notEqual(s.id, r.cookie, 'the public session id is not the cookie credential');
  assert.ok(!r.text.includes(r.cookie), 'the body does not leak the cookie value');
});

test('Set-Cookie is stepup_session with Path=/, HttpOnly, SameSite=Lax and no Secure', async () => {
  const r = await mustLogin(srv, 'alice');
  const c = r.setCookie;
  assert.ok(c, `a stepup_session cookie is set: ${JSON.stringify(r.setCookies)}`);
  const [pair, ...attrs] = c.split(';').map((x) => x.trim());
  const value = pair.slice('stepup_session='.length);
  assert.ok(value.length >= 32, `cookie value holds a 256-bit id: ${value}`);
  const lower = attrs.map((a) => a.toLowerCase());
  assert.ok(lower.includes('path=/'), c);
  assert.ok(lower.includes('httponly'), c);
  assert.ok(lower.includes('samesite=lax'), c);
  assert.ok(!lower.includes('secure'), `no Secure with cookie.secure: false: ${c}`);
  assert.ok(!r.setCookies.some((x) => x.startsWith('__Host-')), 'no __Host- cookie on plain http');
});

test('the access token verifies with jose against the JWKS and carries the claims', async () => {
  const r = await mustLogin(srv, 'alice');
  const jwks = createRemoteJWKSet(new URL(srv.url + '/.well-known/jwks.json'));
  const { payload, protectedHeader } = await jwtVerify(r.access_token, jwks, {
    issuer: srv.publicUrl, audience: 'stepup', algorithms: ['ES256'],
  });
  assert.equal(protectedHeader.alg, 'ES256');
  assert.equal(typeof protectedHeader.kid, 'string');
  assert.ok(protectedHeader.kid.length > 0);
  assert.equal(protectedHeader.typ, 'at+jwt');
  assert.equal(payload.sub, r.json.session.subject);
  assert.equal(payload.sid, r.json.session.id);
  assert.equal(payload.acr, 'aal1');
  assert.deepEqual(payload.amr, ['pwd']);
  assert.equal(payload.auth_time, r.json.session.auth_time);
  assert.equal(typeof payload.jti, 'string');
  assert.ok(payload.jti.length > 0);
  assert.equal(typeof payload.iat, 'number');
  assert.equal(payload.exp - payload.iat, ACCESS_TTL);
  assert.ok(Math.abs(payload.iat - Date.now() / 1000) < 10, 'iat is now');
});

test('two logins get distinct jti, session ids and cookies', async () => {
  const a = await mustLogin(srv, 'alice');
  const b = await mustLogin(srv, 'alice');
  assert.notEqual(decodePart(a.access_token, 1).jti, decodePart(b.access_token, 1).jti);
  assert.notEqual(a.json.session.id, b.json.session.id);
  assert.notEqual(a.cookie, b.cookie);
  assert.notEqual(a.refresh_token, b.refresh_token);
});

test('a token with a flipped signature bit does not verify', async () => {
  const r = await mustLogin(srv, 'alice');
  const jwks = createRemoteJWKSet(new URL(srv.url + '/.well-known/jwks.json'));
  const [h, p, s] = r.access_token.split('.');
  const sig = Buffer.from(s, 'base64url');
  sig[10] ^= 0x01;
  await assert.rejects(jwtVerify(`${h}.${p}.${sig.toString('base64url')}`, jwks, { issuer: srv.publicUrl }));
});

test('unknown user and wrong password give the same 401 invalid_credentials', async () => {
  const wrongPw = await login(srv, 'alice', 'not-the-Right-pass-99');
  const noUser = await login(srv, 'mallory', 'not-the-Right-pass-99');
  assertError(wrongPw, 401, 'invalid_credentials');
  assertError(noUser, 401, 'invalid_credentials');
  assert.equal(noUser.status, wrongPw.status);
  assert.equal(noUser.text, wrongPw.text, 'identical bodies');
  assert.equal(wrongPw.setCookie, undefined, 'no session cookie on failure');
  assert.equal(noUser.setCookie, undefined, 'no session cookie on failure');
});

test('missing fields give 400 invalid_request', async () => {
  for (const json of [{}, { username: 'alice' }, { password: USERS.alice.password }]) {
    const r = await request(srv, 'POST', '/api/v1/login/password', { json });
    assertError(r, 400, 'invalid_request');
  }
});

test('wrong JSON types give 400 invalid_request', async () => {
  const bodies = [
    { username: 42, password: USERS.alice.password },
    { username: 'alice', password: ['x'] },
    { username: null, password: null },
    ['alice', USERS.alice.password],
    'alice',
  ];
  for (const json of bodies) {
    const r = await request(srv, 'POST', '/api/v1/login/password', { json });
    assertError(r, 400, 'invalid_request');
  }
});

test('malformed JSON gives 400 invalid_request', async () => {
  for (const body of ['{"username": "alice", "password": ', 'not json', '', '{"username":"alice"']) {
    const r = await request(srv, 'POST', '/api/v1/login/password', { body, contentType: 'application/json' });
    assertError(r, 400, 'invalid_request');
  }
});

test('a text/plain body gives 415 unsupported_media_type', async () => {
  const r = await request(srv, 'POST', '/api/v1/login/password', {
    body: JSON.stringify({ username: 'alice', password: USERS.alice.password }),
    contentType: 'text/plain',
  });
  assertError(r, 415, 'unsupported_media_type');
  assert.equal(r.setCookie, undefined);
});

test('a body over server.max_body_bytes gives 413 body_too_large', async () => {
  const body = JSON.stringify({ username: 'alice', password: 'x'.repeat(kMaxBody * 3) });
  const raw = 'POST /api/v1/login/password HTTP/1.1\r\n' +
              `Host: 127.0.0.1:${srv.port}\r\n` +
              'Content-Type: application/json\r\n' +
              `Content-Length: ${Buffer.byteLength(body)}\r\n` +
              'Connection: close\r\n\r\n' + body;
  const r = await rawRequest(srv, raw);
  assert.equal(r.status, 413, `answer: ${r.head}\n${r.body}`);
  assert.equal(JSON.parse(r.body).error, 'body_too_large');
});

test('a cookie sent with the login request is not adopted', async () => {
  const first = await mustLogin(srv, 'alice');
  const planted = 'A'.repeat(43);
  for (const cookie of [first.cookie, planted]) {
    const r = await login(srv, 'alice', undefined, { cookie, origin: true });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.cookie, 'a new cookie is set');
    assert.notEqual(r.cookie, cookie, 'the presented session id is not reused');
  }
  // The planted id did not become a session.
  const probe = await request(srv, 'GET', '/api/v1/session', { cookie: planted });
  assert.equal(probe.status, 401);
});
