// POST /api/v1/token/refresh: rotation and reuse detection (docs/api.md).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { ACCESS_TTL, decodePart, mustLogin, request, startServer } from './lib/server.mjs';
import { Browser, addTotp, addUser } from './lib/stepup.mjs';

let srv;
let jwks;
before(async () => {
  srv = await startServer();
  jwks = createRemoteJWKSet(new URL(srv.url + '/.well-known/jwks.json'));
});
after(async () => { await srv?.stop(); });

const refresh = (token) => request(srv, 'POST', '/api/v1/token/refresh', { json: { refresh_token: token } });

test('rotation returns a new pair whose access token verifies with jose', async () => {
  const l = await mustLogin(srv, 'alice');
  const r = await refresh(l.refresh_token);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.token_type, 'Bearer');
  assert.equal(r.json.expires_in, ACCESS_TTL);
  assert.equal(typeof r.json.refresh_token, 'string');
  assert.notEqual(r.json.refresh_token, l.refresh_token, 'the refresh token is rotated');
  assert.notEqual(r.json.access_token, l.access_token);
  const { payload, protectedHeader } = await jwtVerify(r.json.access_token, jwks, {
    issuer: srv.publicUrl, audience: 'stepup', algorithms: ['ES256'],
  });
  assert.equal(protectedHeader.typ, 'at+jwt');
  assert.equal(payload.sid, l.json.session.id, 'same session');
  assert.equal(payload.sub, l.json.session.subject);
  assert.equal(payload.acr, 'aal1');
  assert.deepEqual(payload.amr, ['pwd']);
  assert.equal(payload.auth_time, l.json.session.auth_time, 'refresh is not a new authentication');
  assert.equal(payload.exp - payload.iat, ACCESS_TTL);
  // The new refresh token rotates again.
  const r2 = await refresh(r.json.refresh_token);
  assert.equal(r2.status, 200, r2.text);
  assert.notEqual(r2.json.refresh_token, r.json.refresh_token);
  // The session is alive throughout.
  const s = await request(srv, 'GET', '/api/v1/session', { bearer: r2.json.access_token });
  assert.equal(s.status, 200, s.text);
});

test('reusing a rotated refresh token is refresh_token_reused and kills the whole session', async () => {
  const l = await mustLogin(srv, 'bob');
  const r = await refresh(l.refresh_token);
  assert.equal(r.status, 200, r.text);
  const reuse = await refresh(l.refresh_token);
  assert.equal(reuse.status, 401, reuse.text);
  assert.equal(reuse.json?.error, 'refresh_token_reused');
  // The legitimate successor is dead too, and so is the cookie.
  const next = await refresh(r.json.refresh_token);
  assert.equal(next.status, 401, next.text);
  assert.equal(next.json?.error, 'invalid_refresh_token');
  const viaCookie = await request(srv, 'GET', '/api/v1/session', { cookie: l.cookie });
  assert.equal(viaCookie.status, 401, viaCookie.text);
  const viaBearer = await request(srv, 'GET', '/api/v1/session', { bearer: r.json.access_token });
  assert.equal(viaBearer.status, 401, `revoked session's access token: ${viaBearer.text}`);
});

// Issue 11 (ASVS 7.2.4): a refresh token issued before a level change dies
// with the session id the step-up rotated away. Used afterwards it must not
// mint an aal2 access token; it counts as reuse and ends the session.
test('a refresh token from before a step-up is refresh_token_reused afterwards and kills the session', async () => {
  await addUser(srv, 'carol-su', 'basalt-Finch-91-moor');
  const totp = await addTotp(srv, 'carol-su');
  const b = await Browser.login(srv, 'carol-su', 'basalt-Finch-91-moor');
  const signInRefresh = b.refreshToken;
  assert.equal(typeof signInRefresh, 'string');
  const up = await b.stepUpTotp(totp.secret);
  assert.equal(up.json.acr, 'aal2');
  const stepUpRefresh = up.json.refresh_token;
  assert.notEqual(stepUpRefresh, signInRefresh);

  const stale = await refresh(signInRefresh);
  if (stale.status === 200) {
    assert.fail(`the sign-in refresh token minted an ${decodePart(stale.json.access_token, 1).acr} token after the step-up`);
  }
  assert.equal(stale.status, 401, stale.text);
  assert.equal(stale.json?.error, 'refresh_token_reused', stale.text);
  // Reuse revokes the session: the step-up's own tokens and cookie die too.
  const next = await refresh(stepUpRefresh);
  assert.equal(next.status, 401, next.text);
  assert.equal(next.json?.error, 'invalid_refresh_token');
  const viaCookie = await request(srv, 'GET', '/api/v1/session', { cookie: b.cookie });
  assert.equal(viaCookie.status, 401, viaCookie.text);
});

test('the refresh token returned by the step-up verify rotates and keeps aal2', async () => {
  await addUser(srv, 'dave-su', 'cobalt-Wren-27-fell');
  const totp = await addTotp(srv, 'dave-su');
  const b = await Browser.login(srv, 'dave-su', 'cobalt-Wren-27-fell');
  const up = await b.stepUpTotp(totp.secret);
  const r = await refresh(up.json.refresh_token);
  assert.equal(r.status, 200, r.text);
  assert.equal(decodePart(r.json.access_token, 1).acr, 'aal2');
});

test('a garbage refresh token is 401 invalid_refresh_token', async () => {
  for (const token of ['garbage', 'A'.repeat(43), 'x.y.z']) {
    const r = await refresh(token);
    assert.equal(r.status, 401, `${JSON.stringify(token)}: ${r.text}`);
    assert.equal(r.json?.error, 'invalid_refresh_token');
  }
});

test('an access token is not accepted as a refresh token', async () => {
  const l = await mustLogin(srv, 'carol');
  const r = await refresh(l.access_token);
  assert.equal(r.status, 401, r.text);
  assert.equal(r.json?.error, 'invalid_refresh_token');
});

test('a refresh request without refresh_token is 400 invalid_request', async () => {
  for (const json of [{}, { refresh_token: 7 }, { token: 'x' }]) {
    const r = await request(srv, 'POST', '/api/v1/token/refresh', { json });
    assert.equal(r.status, 400, `${JSON.stringify(json)}: ${r.text}`);
    assert.equal(r.json?.error, 'invalid_request');
  }
});
