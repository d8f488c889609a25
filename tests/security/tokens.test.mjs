// Attack catalogue, access tokens: every forged, altered or stale JWT must be
// refused with 401 invalid_token, by the API (Bearer on GET /api/v1/session)
// and by forward-auth. Forgeries use node's crypto; tokens with a valid
// signature and one bad claim are signed with the server's own key (read
// from its SQLite file) so that only the claim under test is wrong, and a
// control case proves that path yields accepted tokens.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import { mustLogin, request, startServer } from '../integration/lib/server.mjs';
import { addTotp, Browser, forward, kHigh } from '../integration/lib/stepup.mjs';
import {
  activeSigningKey, assertContractError, b64u, encodePart, fetchJwks, hs256, nowSec, sessionWithBearer,
  signWith, sleepUntil, split,
} from './lib/attack.mjs';

let srv;
let token;      // a genuine access token of alice
let parts;      // its decoded parts
let jwk;        // the public JWK that signed it
let signer;     // the server's private key {kid, alg, key}

before(async () => {
  srv = await startServer({}, { users: ['alice', 'bob'] });
  // A key the server trusts (published) whose private half the test holds;
  // the server's own private key is sealed in the store.
  signer = await activeSigningKey(srv);
  token = (await mustLogin(srv, 'alice')).access_token;
  parts = split(token);
  jwk = (await fetchJwks(srv)).find((k) => k.kid === parts.header.kid);
  assert.ok(jwk, 'the token kid is published in the JWKS');
  assert.ok((await fetchJwks(srv)).some((k) => k.kid === signer.kid), 'the planted key is published');
  // Re-signed tokens name the planted key, so only the claim under test is wrong.
  parts.header = { ...parts.header, kid: signer.kid };
});
after(async () => { await srv?.stop(); });

// Refused everywhere a Bearer token is accepted.
async function assertRefused(t, what) {
  const s = await sessionWithBearer(srv, t);
  assertContractError(s, 401, 'invalid_token', `${what}: GET /api/v1/session`);
  const f = await forward(srv, { uri: '/dashboard', bearer: t });
  assert.equal(f.status, 401, `${what}: forward-auth status; body ${f.text}`);
  assert.match(f.headers.get('www-authenticate') ?? '', /error="invalid_token"/, `${what}: WWW-Authenticate`);
}

// A payload like the genuine one, with `over` merged in (undefined removes).
function claims(over = {}) {
  const p = { ...parts.payload, ...over };
  for (const [k, v] of Object.entries(over)) if (v === undefined) delete p[k];
  return p;
}

test('control: the genuine token and one re-signed with the server key are accepted', async () => {
  assert.equal((await sessionWithBearer(srv, token)).status, 200);
  const resigned = signWith(signer.key, parts.header, claims({ jti: crypto.randomUUID() }));
  const r = await sessionWithBearer(srv, resigned);
  assert.equal(r.status, 200, `the forging harness makes tokens the server accepts: ${r.text}`);
  assert.equal(r.json.subject, 'alice');
});

test('alg "none" with an empty signature is refused', async () => {
  const t = `${encodePart({ ...parts.header, alg: 'none' })}.${parts.p}.`;
  await assertRefused(t, 'alg none');
});

test('alg "none" keeping the original signature, and case variants None/NONE, are refused', async () => {
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    await assertRefused(`${encodePart({ ...parts.header, alg })}.${parts.p}.${parts.s}`, `alg ${alg} + signature`);
    await assertRefused(`${encodePart({ ...parts.header, alg })}.${parts.p}.`, `alg ${alg} empty signature`);
  }
});

test('alg missing from the header is refused', async () => {
  const { alg, ...header } = parts.header;
  void alg;
  await assertRefused(signWith(signer.key, header, parts.payload), 'no alg');
});

test('HS256 signed with the public JWK (JSON text) as the HMAC key is refused', async () => {
  const header = { ...parts.header, alg: 'HS256' };
  for (const text of [JSON.stringify(jwk), JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y })]) {
    await assertRefused(hs256(header, parts.payload, text), `HS256 with JWK text ${text.slice(0, 40)}...`);
  }
});

test('HS256 signed with the PEM (SPKI) export of the public key is refused', async () => {
  const pem = crypto.createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const der = crypto.createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' });
  for (const alg of ['HS256', 'HS384', 'HS512']) {
    const h = { ...parts.header, alg };
    const md = `sha${alg.slice(2)}`;
    const input = `${encodePart(h)}.${parts.p}`;
    for (const key of [pem, pem.trimEnd(), der]) {
      const t = `${input}.${b64u(crypto.createHmac(md, key).update(input).digest())}`;
      await assertRefused(t, `${alg} with the public key (${Buffer.isBuffer(key) ? 'DER' : 'PEM'})`);
    }
  }
});

test('a valid ES256 signature under an unknown kid is refused', async () => {
  for (const kid of ['unknown-kid', crypto.randomBytes(32).toString('base64url'), '', ' ' + parts.header.kid]) {
    await assertRefused(signWith(signer.key, { ...parts.header, kid }, parts.payload), `kid ${JSON.stringify(kid)}`);
  }
});

test('path-like and injection-like kids are refused and the server stays up', async () => {
  const kids = ['../../etc/passwd', '/dev/null', '/dev/zero', '/proc/self/environ', 'file:///etc/passwd',
                "x' OR '1'='1", `${parts.header.kid}/../${parts.header.kid}`, 'a\u0000b', 'http://evil.example/jwks.json'];
  for (const kid of kids) {
    await assertRefused(signWith(signer.key, { ...parts.header, kid }, parts.payload), `kid ${JSON.stringify(kid)}`);
  }
  assert.equal((await request(srv, 'GET', '/healthz')).status, 200);
});

test('a header without kid, or with kid of the wrong type, is refused', async () => {
  const { kid, ...noKid } = parts.header;
  void kid;
  await assertRefused(signWith(signer.key, noKid, parts.payload), 'no kid');
  for (const bad of [1, null, [parts.header.kid], { kid: parts.header.kid }]) {
    await assertRefused(signWith(signer.key, { ...parts.header, kid: bad }, parts.payload), `kid ${JSON.stringify(bad)}`);
  }
});

test('alg/kid mismatch: EdDSA header on the ES256 key is refused', async () => {
  const ed = crypto.generateKeyPairSync('ed25519').privateKey;
  await assertRefused(signWith(ed, { ...parts.header, alg: 'EdDSA' }, parts.payload), 'EdDSA by another key');
  await assertRefused(`${encodePart({ ...parts.header, alg: 'ES384' })}.${parts.p}.${parts.s}`, 'ES384 header');
});

test('a token signed by a key the server never published (same kid) is refused', async () => {
  const rogue = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  await assertRefused(signWith(rogue, parts.header, parts.payload), 'rogue P-256 key');
});

test('a token from another stepup server (its own key and kid) is refused', async () => {
  const other = await startServer({}, { users: ['alice'] });
  try {
    const foreign = (await mustLogin(other, 'alice')).access_token;
    assert.equal((await sessionWithBearer(other, foreign)).status, 200, 'valid where it was issued');
    await assertRefused(foreign, 'token of another server');
  } finally {
    await other.stop();
  }
});

test('an expired token with a valid signature is refused', async () => {
  const now = Math.floor(nowSec());
  await assertRefused(signWith(signer.key, parts.header, claims({ iat: now - 7200, exp: now - 3600 })), 'exp 1h ago');
  await assertRefused(signWith(signer.key, parts.header, claims({ exp: undefined })), 'no exp');
  await assertRefused(signWith(signer.key, parts.header, claims({ exp: String(now + 60) })), 'exp as a string');
});

test('nbf in the future is refused', async () => {
  const now = Math.floor(nowSec());
  await assertRefused(signWith(signer.key, parts.header, claims({ nbf: now + 3600 })), 'nbf +1h');
});

test('iat in the future is refused', async () => {
  const now = Math.floor(nowSec());
  await assertRefused(signWith(signer.key, parts.header, claims({ iat: now + 3600, exp: now + 7200 })), 'iat +1h');
});

// Issue 11: an auth_time in the future is "fresh" for every max_age for as
// long as it stays in the future. Beyond the clock skew it is refused like a
// future iat. Control first: the same forged aal2 token with auth_time = now
// passes the /admin/** rule (aal2, max_age 5m), so the refusal is about the time.
test('auth_time in the future (beyond the clock skew) is refused and passes no max_age', async () => {
  const now = Math.floor(nowSec());
  const aal2 = { acr: 'aal2', amr: ['pwd', 'otp'] };
  const fresh = signWith(signer.key, parts.header, claims({ ...aal2, auth_time: now, jti: crypto.randomUUID() }));
  const control = await forward(srv, { uri: '/admin/users', bearer: fresh });
  assert.equal(control.status, 200, `control: a fresh aal2 token passes /admin: ${control.text}`);
  for (const ahead of [3600, 10 * 365 * 86400]) {
    const t = signWith(signer.key, parts.header, claims({ ...aal2, auth_time: now + ahead, jti: crypto.randomUUID() }));
    const admin = await forward(srv, { uri: '/admin/users', bearer: t });
    assert.notEqual(admin.status, 200, `auth_time +${ahead}s passed the max_age rule`);
    await assertRefused(t, `auth_time +${ahead}s`);
  }
});

test('a wrong or missing iss is refused', async () => {
  for (const iss of ['https://evil.example', `${parts.payload.iss}/`, parts.payload.iss.toUpperCase(), undefined]) {
    await assertRefused(signWith(signer.key, parts.header, claims({ iss })), `iss ${iss}`);
  }
});

test('a wrong or missing aud is refused', async () => {
  for (const aud of ['other-service', 'Stepup', ['other-service'], undefined]) {
    await assertRefused(signWith(signer.key, parts.header, claims({ aud })), `aud ${JSON.stringify(aud)}`);
  }
});

test('a payload edited and re-encoded with the original signature is refused', async () => {
  const edits = [{ acr: 'aal2' }, { sub: 'bob' }, { amr: ['pwd', 'otp'] }, { exp: parts.payload.exp + 3600 },
                 { auth_time: parts.payload.auth_time + 1 }];
  for (const e of edits) {
    await assertRefused(`${parts.h}.${encodePart(claims(e))}.${parts.s}`, `edited ${JSON.stringify(e)}`);
  }
  // The same claims with different whitespace are different bytes: also refused.
  await assertRefused(`${parts.h}.${encodePart(JSON.stringify(parts.payload, null, 1))}.${parts.s}`, 'reformatted payload');
});

test('every signature byte flipped: each of them is refused', async () => {
  const sig = parts.sig;
  assert.equal(sig.length, 64, 'ES256 raw signature is 64 bytes');
  const accepted = [];
  for (let i = 0; i < sig.length; i++) {
    const bad = Buffer.from(sig);
    bad[i] ^= 0x01;
    const r = await sessionWithBearer(srv, `${parts.h}.${parts.p}.${b64u(bad)}`);
    if (r.status !== 401 || r.json?.error !== 'invalid_token') accepted.push(`${i}:${r.status}`);
  }
  assert.deepEqual(accepted, [], 'bytes whose flip was not refused');
  assert.equal((await sessionWithBearer(srv, token)).status, 200, 'the genuine token still works');
});

test('a DER-encoded (instead of raw r||s) signature is refused', async () => {
  const input = `${parts.h}.${parts.p}`;
  const der = crypto.sign('sha256', Buffer.from(input), { key: signer.key, dsaEncoding: 'der' });
  await assertRefused(`${input}.${b64u(der)}`, 'DER signature');
});

test('truncated tokens are refused', async () => {
  const cuts = [
    `${parts.h}.${parts.p}`, `${parts.h}.${parts.p}.`, `${parts.h}..${parts.s}`, `.${parts.p}.${parts.s}`,
    token.slice(0, -1), token.slice(0, -2), `${parts.h}.${parts.p}.${parts.s.slice(0, 43)}`, token.slice(0, token.length / 2),
    parts.h, `${token}.`, `${token}.${parts.s}`,
  ];
  for (const t of cuts) await assertRefused(t, `truncated to ${t.length} chars`);
});

test('malformed encodings (standard base64, padding, spaces) are refused', async () => {
  const std = (s) => Buffer.from(s, 'base64url').toString('base64');
  await assertRefused(`${std(parts.h)}.${std(parts.p)}.${std(parts.s)}`, 'standard base64 with padding');
  await assertRefused(`${parts.h}.${parts.p}.${parts.s}==`, 'padded signature');
  await assertRefused(`${parts.h} .${parts.p}.${parts.s}`, 'space inside');
});

test('an oversized header (10 KB, 100 KB) is refused without harm', async () => {
  // 10 KB fits the HTTP header limit (16 KB): the token verifier refuses it.
  const mid = signWith(signer.key, { ...parts.header, pad: 'A'.repeat(10 * 1024) }, parts.payload);
  assertContractError(await sessionWithBearer(srv, mid), 401, 'invalid_token', '10 KB header');
  // 100 KB is over the HTTP header limit: the transport refuses it first.
  const big = signWith(signer.key, { ...parts.header, pad: 'A'.repeat(100 * 1024) }, parts.payload);
  const r = await sessionWithBearer(srv, big).catch((err) => ({ status: 0, text: String(err) }));
  assert.ok([401, 431].includes(r.status), `100 KB header: ${r.status} ${r.text.slice(0, 200)}`);
  assert.equal((await sessionWithBearer(srv, token)).status, 200, 'the server still answers');
});

test('a deeply nested JWS header is refused without harm', async () => {
  const nested = '{"alg":"ES256","kid":"' + parts.header.kid + '","x":' + '['.repeat(2000) + ']'.repeat(2000) + '}';
  const input = `${b64u(nested)}.${parts.p}`;
  const sig = crypto.sign('sha256', Buffer.from(input), { key: signer.key, dsaEncoding: 'ieee-p1363' });
  await assertRefused(`${input}.${b64u(sig)}`, 'nested header');
});

test('a refresh token or a session cookie value used as a Bearer token is refused', async () => {
  const l = await mustLogin(srv, 'bob');
  await assertRefused(l.refresh_token, 'refresh token as Bearer');
  await assertRefused(l.cookie, 'cookie value as Bearer');
});

test("a revoked session's unexpired token is refused", async () => {
  const l = await mustLogin(srv, 'bob');
  assert.equal((await sessionWithBearer(srv, l.access_token)).status, 200);
  const out = await request(srv, 'POST', '/api/v1/logout', { bearer: l.access_token });
  assert.equal(out.status, 200, out.text);
  await assertRefused(l.access_token, 'after logout');
});

// ---------------------------------------------------------------- elevation

const kElevation = 3;
const kElevatedConfig = {
  tokens: { access_ttl: '1h' },
  levels: { aal2: { elevation: `${kElevation}s` } },
  rules: [{ path: '/admin/**', level: 'aal2' }, { path: '/**', level: 'aal1' }],
  rate_limits: { login: kHigh, verify: kHigh },
  introspection_clients: [{ id: 'gw', secret: 'gw-secret-123' }],
};

test('an elevated token is capped at elevated_until and no longer passes an aal2 rule after it', async () => {
  const e = await startServer(kElevatedConfig, { users: ['carol'] });
  try {
    const { secret } = await addTotp(e, 'carol');
    const b = await Browser.login(e, 'carol');
    const v = await b.stepUpTotp(secret);
    const up = v.json.access_token;
    const claimsUp = split(up).payload;
    assert.equal(claimsUp.acr, 'aal2');
    assert.ok(claimsUp.exp <= v.json.elevated_until, `exp ${claimsUp.exp} <= elevated_until ${v.json.elevated_until}`);
    assert.ok(claimsUp.exp - claimsUp.iat <= kElevation + 1, `lifetime ${claimsUp.exp - claimsUp.iat}s despite access_ttl 1h`);
    const ok = await forward(e, { uri: '/admin/x', bearer: up });
    assert.equal(ok.status, 200, `while elevated: ${ok.text}`);

    await sleepUntil(v.json.elevated_until, 1200);
    const late = await forward(e, { uri: '/admin/x', bearer: up });
    assert.equal(late.status, 401, `after elevated_until: ${late.text}`);
    // A plain JWT library with no leeway refuses it too: the cap is in exp.
    const jwks = createRemoteJWKSet(new URL(e.url + '/.well-known/jwks.json'));
    await assert.rejects(jwtVerify(up, jwks, { issuer: e.publicUrl, audience: 'stepup' }),
                         (err) => err instanceof joseErrors.JWTExpired);
  } finally {
    await e.stop();
  }
});

test('introspection reports an elevated token inactive once elevated_until has passed', async () => {
  const e = await startServer(kElevatedConfig, { users: ['carol'] });
  try {
    const { secret } = await addTotp(e, 'carol');
    const b = await Browser.login(e, 'carol');
    const v = await b.stepUpTotp(secret);
    const introspect = (t) => request(e, 'POST', '/api/v1/introspect', {
      body: `token=${encodeURIComponent(t)}`, contentType: 'application/x-www-form-urlencoded',
      headers: { authorization: `Basic ${Buffer.from('gw:gw-secret-123').toString('base64')}` },
    });
    const live = await introspect(v.json.access_token);
    assert.equal(live.json?.active, true, live.text);
    assert.equal(live.json.acr, 'aal2');
    await sleepUntil(v.json.elevated_until, 1200);
    const late = await introspect(v.json.access_token);
    assert.equal(late.status, 200, late.text);
    assert.equal(late.json?.active, false,
                 `an aal2 token past elevated_until must not be reported active (RFC 7662): ${late.text}`);
  } finally {
    await e.stop();
  }
});
