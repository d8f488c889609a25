// Health, metrics, discovery metadata, JWKS and RFC 7662 introspection.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mustLogin, request, startServer } from './lib/server.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

const basic = (id, secret) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
function introspect(token, auth = basic('gw', 'gw-secret-123')) {
  return request(srv, 'POST', '/api/v1/introspect', {
    body: new URLSearchParams({ token }).toString(),
    contentType: 'application/x-www-form-urlencoded',
    headers: auth ? { authorization: auth } : {},
  });
}

test('GET /healthz is 200 {"status":"ok"}', async () => {
  const r = await request(srv, 'GET', '/healthz');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { status: 'ok' });
});

test('GET /readyz is 200 while the store answers', async () => {
  const r = await request(srv, 'GET', '/readyz');
  assert.equal(r.status, 200, r.text);
});

test('GET /metrics without metrics_listen or metrics_token_file: direct local requests only', async () => {
  // The default (docs/security.md, "Metrics"); metrics.test.mjs covers the
  // configured ways and the exposition itself.
  const r = await request(srv, 'GET', '/metrics');
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /^# TYPE stepup_decisions_total counter$/m);
  const relayed = await request(srv, 'GET', '/metrics', { headers: { 'x-forwarded-for': '198.51.100.7' } });
  assert.equal(relayed.status, 404, relayed.text);
  assert.doesNotMatch(relayed.text, /stepup_/);
});

test('GET /.well-known/stepup-configuration has the discovery fields', async () => {
  const r = await request(srv, 'GET', '/.well-known/stepup-configuration');
  assert.equal(r.status, 200, r.text);
  const c = r.json;
  assert.equal(c.issuer, srv.publicUrl);
  assert.equal(c.jwks_uri, `${srv.publicUrl}/.well-known/jwks.json`);
  assert.ok(Array.isArray(c.acr_values_supported));
  assert.ok(c.acr_values_supported.includes('aal1') && c.acr_values_supported.includes('aal2'),
            JSON.stringify(c.acr_values_supported));
  assert.ok(Array.isArray(c.amr_values_supported));
  assert.ok(c.amr_values_supported.includes('pwd'));
  assert.ok(Array.isArray(c.token_signing_alg_values_supported));
  assert.ok(c.token_signing_alg_values_supported.includes('ES256'));
  assert.ok(c.endpoints && typeof c.endpoints === 'object', 'endpoints object');
});

test('JWKS publishes public EC P-256 keys only', async () => {
  const r = await request(srv, 'GET', '/.well-known/jwks.json');
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type') ?? '', /json/);
  const { keys } = r.json;
  assert.ok(Array.isArray(keys) && keys.length >= 1, r.text);
  for (const k of keys) {
    assert.equal(k.kty, 'EC');
    assert.equal(k.crv, 'P-256');
    assert.equal(k.alg, 'ES256');
    assert.equal(typeof k.kid, 'string');
    assert.equal(Buffer.from(k.x, 'base64url').length, 32);
    assert.equal(Buffer.from(k.y, 'base64url').length, 32);
    assert.ok(!('d' in k), 'no private key material');
  }
  assert.equal(new Set(keys.map((k) => k.kid)).size, keys.length, 'kids are unique');
  assert.ok(!/"d"\s*:/.test(r.text));
});

test('introspection with the right client -> active true with the claims', async () => {
  const l = await mustLogin(srv, 'alice');
  const r = await introspect(l.access_token);
  assert.equal(r.status, 200, r.text);
  const c = r.json;
  assert.equal(c.active, true);
  assert.equal(c.sub, l.json.session.subject);
  assert.equal(c.sid, l.json.session.id);
  assert.equal(c.acr, 'aal1');
  assert.deepEqual(c.amr, ['pwd']);
  assert.equal(c.auth_time, l.json.session.auth_time);
  assert.equal(c.iss, srv.publicUrl);
  assert.ok([].concat(c.aud).includes('stepup'), `aud: ${JSON.stringify(c.aud)}`);
  for (const k of ['iat', 'exp']) assert.equal(typeof c[k], 'number');
  assert.equal(typeof c.jti, 'string');
  assert.equal(c.token_type, 'access_token');
  assert.equal(c.client_id, 'gw');
});

test('introspection with a wrong secret or no client auth -> 401 invalid_client', async () => {
  const l = await mustLogin(srv, 'alice');
  for (const auth of [basic('gw', 'wrong-secret'), basic('nobody', 'gw-secret-123'), basic('gw', 'gw-secret-12'), null]) {
    const r = await introspect(l.access_token, auth);
    assert.equal(r.status, 401, `${auth}: ${r.text}`);
    assert.equal(r.json?.error, 'invalid_client', r.text);
    assert.match(r.headers.get('www-authenticate') ?? '', /^Basic realm="stepup"/);
    assert.ok(!r.text.includes('"active"'), 'no token information for a bad client');
  }
});

test('introspection of a garbage token -> {"active": false}', async () => {
  for (const token of ['garbage', 'a.b.c', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.']) {
    const r = await introspect(token);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { active: false });
  }
});

test("introspection of a revoked session's token -> {\"active\": false}", async () => {
  const l = await mustLogin(srv, 'bob');
  const before = await introspect(l.access_token);
  assert.equal(before.json?.active, true, before.text);
  const out = await request(srv, 'POST', '/api/v1/logout', { bearer: l.access_token });
  assert.equal(out.status, 200, out.text);
  const r = await introspect(l.access_token);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { active: false });
});

test('unknown path -> 404 not_found JSON', async () => {
  for (const path of ['/no/such/path', '/api/v1/nope', '/.well-known/unknown']) {
    const r = await request(srv, 'GET', path);
    assert.equal(r.status, 404, `${path}: ${r.text}`);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(r.json?.error, 'not_found');
    assert.equal(typeof r.json.error_description, 'string');
  }
});

test('known path with the wrong method -> 405 method_not_allowed with Allow', async () => {
  const r = await request(srv, 'GET', '/api/v1/login/password');
  assert.equal(r.status, 405, r.text);
  assert.equal(r.json?.error, 'method_not_allowed');
  assert.match(r.headers.get('allow') ?? '', /POST/);
});
