// Durability: sessions, refresh tokens and signing keys live in the SQLite
// file and survive a graceful stop (SIGTERM) and a crash (SIGKILL).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { mustLogin, request, startServer } from './lib/server.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

const refresh = (token) => request(srv, 'POST', '/api/v1/token/refresh', { json: { refresh_token: token } });

test('SIGTERM exits cleanly (status 0)', async () => {
  const result = await srv.stopProcess('SIGTERM');
  assert.deepEqual(result, { code: 0, signal: null }, `stderr:\n${srv.stderr}`);
  await srv.startProcess();
});

test('after SIGTERM and a restart on the same SQLite file, cookie and refresh token still work', async () => {
  const l = await mustLogin(srv, 'alice');
  await srv.restart('SIGTERM');
  const s = await request(srv, 'GET', '/api/v1/session', { cookie: l.cookie });
  assert.equal(s.status, 200, s.text);
  assert.equal(s.json.id, l.json.session.id);
  const r = await refresh(l.refresh_token);
  assert.equal(r.status, 200, r.text);
  const again = await request(srv, 'GET', '/api/v1/session', { bearer: r.json.access_token });
  assert.equal(again.status, 200, again.text);
});

test('an access token issued before a restart still verifies (keys are persisted)', async () => {
  const l = await mustLogin(srv, 'bob');
  await srv.restart('SIGTERM');
  const jwks = createRemoteJWKSet(new URL(srv.url + '/.well-known/jwks.json'));
  await jwtVerify(l.access_token, jwks, { issuer: srv.publicUrl, audience: 'stepup', algorithms: ['ES256'] });
  const s = await request(srv, 'GET', '/api/v1/session', { bearer: l.access_token });
  assert.equal(s.status, 200, s.text);
});

test('SIGKILL right after a login answer: the session is still there after restart', async () => {
  const l = await mustLogin(srv, 'carol');
  await srv.stopProcess('SIGKILL');
  await srv.startProcess();
  const s = await request(srv, 'GET', '/api/v1/session', { cookie: l.cookie });
  assert.equal(s.status, 200, s.text);
  assert.equal(s.json.id, l.json.session.id);
  const r = await refresh(l.refresh_token);
  assert.equal(r.status, 200, r.text);
});

test('a refresh rotation answered before SIGKILL is durable: the old token counts as reused', async () => {
  const l = await mustLogin(srv, 'dave');
  const r = await refresh(l.refresh_token);
  assert.equal(r.status, 200, r.text);
  await srv.stopProcess('SIGKILL');
  await srv.startProcess();
  const reuse = await refresh(l.refresh_token);
  assert.equal(reuse.status, 401, reuse.text);
  assert.equal(reuse.json?.error, 'refresh_token_reused');
});

test('a logout answered before SIGKILL is durable', async () => {
  const l = await mustLogin(srv, 'erin');
  const out = await request(srv, 'POST', '/api/v1/logout', { bearer: l.access_token });
  assert.equal(out.status, 200, out.text);
  await srv.stopProcess('SIGKILL');
  await srv.startProcess();
  const s = await request(srv, 'GET', '/api/v1/session', { cookie: l.cookie });
  assert.equal(s.status, 401, s.text);
});
