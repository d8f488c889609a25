// WebAuthn over HTTP against a real server (docs/api.md "WebAuthn and
// passkeys", docs/webauthn.md): registration, step-up to aal2/aal3 with
// device-bound keys and synced passkeys, usernameless sign-in, every client-
// and authenticator-data check the server documents, the clone (signCount)
// audit and the lockout. The authenticator is lib/softauthn.mjs: real P-256 /
// Ed25519 keys and signatures, CBOR written by its own encoder.
//
// The RP id is the host of server.public_url (`localhost`), the origin its
// origin (`http://localhost:PORT`); nothing in the config sets them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { request, startServer } from './lib/server.mjs';
import {
  Browser, addTotp, addUser, assertError, auditTail, cliOutput, forward, kHigh, stepUpConfig,
} from './lib/stepup.mjs';
import { SoftAuthenticator, b64u, cborEncode, fromB64u, kAlg, kFlags } from './lib/softauthn.mjs';

const kConfig = {
  ...stepUpConfig,
  levels: {
    aal1: { reached_by: [['pwd']] },
    aal2: {
      reached_by: [['pwd', 'otp'], ['pwd', 'hwk'], ['pwd', 'swk'], ['hwk', 'user'], ['swk', 'user']],
      elevation: '8m',
    },
    aal3: { reached_by: [['pwd', 'hwk', 'user']], elevation: '5m' },
  },
  rules: [
    { path: '/admin3/**', level: 'aal3', max_age: '5m' },
    { path: '/pay/**', level: 'aal2' },
    { path: '/public/**', public: true },
    { path: '/**', level: 'aal1' },
  ],
  lockout: { max_failures: 5, base_delay: '60s', max_delay: '1h' },
  rate_limits: { login: kHigh, verify: kHigh },
};

let srv;
before(async () => { srv = await startServer(kConfig, { users: ['alice', 'bob'] }); });
after(async () => { await srv?.stop(); });

let userSeq = 0;
// A new user (password only) so tests share no factors, counters or locks.
async function freshUser(prefix) {
  const name = `${prefix}${++userSeq}`;
  const password = `cobalt-Tundra-${50 + userSeq}-heron`;
  await addUser(srv, name, password);
  return { name, password, login: () => Browser.login(srv, name, password) };
}

const newKey = (opts = {}) => new SoftAuthenticator({ origin: srv.origin, ...opts });

// POST /api/v1/factors/webauthn/options; asserts 200.
async function registrationOptions(b) {
  const o = await b.post('/api/v1/factors/webauthn/options', {});
  assert.equal(o.status, 200, `registration options: ${o.text}`);
  assert.equal(typeof o.json.challenge_id, 'string', o.text);
  return o.json;
}

// Options + POST /api/v1/factors/webauthn; resolves the registration answer.
async function register(b, key, knobs = {}, name = undefined) {
  const o = await registrationOptions(b);
  const credential = key.register(o.publicKey, knobs);
  const body = { challenge_id: o.challenge_id, credential };
  if (name !== undefined) body.name = name;
  return b.post('/api/v1/factors/webauthn', body);
}

async function mustRegister(b, key, knobs = {}) {
  const r = await register(b, key, knobs);
  assert.equal(r.status, 200, `registration: ${r.text}`);
  assert.match(r.json.factor_id, /^\S+$/, r.text);
  return r.json;
}

// POST /api/v1/step-up offering WebAuthn; asserts 200 and a `webauthn` part.
async function startStepUp(b, acr) {
  const c = await b.requestStepUp({ acr_values: acr });
  assert.equal(c.status, 200, `POST /api/v1/step-up ${acr}: ${c.text}`);
  assert.ok(c.json.webauthn, `step-up answer has webauthn options: ${c.text}`);
  return c.json;
}

const verifyWith = (b, challenge, key, knobs = {}) =>
  b.verify(challenge.challenge_id, { method: 'webauthn', credential: key.assert(challenge.webauthn, knobs) });

// A whole WebAuthn step-up that must succeed.
async function stepUp(b, key, acr, knobs = {}) {
  const c = await startStepUp(b, acr);
  const v = await verifyWith(b, c, key, knobs);
  assert.equal(v.status, 200, `verify ${acr} with the key: ${v.text}`);
  return v.json;
}

// A user with a registered device-bound ES256 key (UV), signed in.
async function userWithKey(prefix, keyOpts = {}) {
  const u = await freshUser(prefix);
  const b = await u.login();
  const key = newKey(keyOpts);
  const reg = await mustRegister(b, key);
  return { u, b, key, factorId: reg.factor_id };
}

function assertStepUpRequired(r, acr, what) {
  assert.equal(r.status, 401, `${what}: ${r.text}`);
  assert.equal(r.json?.error, 'insufficient_user_authentication', `${what}: ${r.text}`);
  const h = r.headers.get('www-authenticate') ?? '';
  assert.ok(h.includes('error="insufficient_user_authentication"'), `${what}: ${h}`);
  assert.ok(h.includes(`acr_values="${acr}"`), `${what}: ${h}`);
}

const acrOf = (r) => r.headers.get('x-stepup-acr');

// ---------------------------------------------------------------- the encoder

test('softauthn CBOR encoder matches RFC 8949 Appendix A', () => {
  // RFC 8949 Appendix A, the integer, string, array and map rows we use.
  const vectors = [
    [0, '00'], [23, '17'], [24, '1818'], [100, '1864'], [1000, '1903e8'], [1000000, '1a000f4240'],
    [1000000000000, '1b000000e8d4a51000'], [18446744073709551615n, '1bffffffffffffffff'],
    [-1, '20'], [-10, '29'], [-100, '3863'], [-1000, '3903e7'],
    [-18446744073709551616n, '3bffffffffffffffff'],
    ['', '60'], ['a', '6161'], ['IETF', '6449455446'], ['\u00fc', '62c3bc'], ['\u6c34', '63e6b0b4'],
    [Buffer.from([1, 2, 3, 4]), '4401020304'], [[], '80'], [[1, [2, 3], [4, 5]], '8301820203820405'],
    [Array.from({ length: 25 }, (_, i) => i + 1), '98190102030405060708090a0b0c0d0e0f101112131415161718181819'],
    [new Map(), 'a0'], [new Map([[1, 2], [3, 4]]), 'a201020304'], [{ a: 1, b: [2, 3] }, 'a26161016162820203'],
    [false, 'f4'], [true, 'f5'], [null, 'f6'],
  ];
  for (const [v, hex] of vectors) assert.equal(cborEncode(v).toString('hex'), hex, `encode ${String(v)}`);
});

// ---------------------------------------------------------------- registration

test('register an ES256 key: options, factor listed, 409 on the same credential, exclusion, fresh elevation', async () => {
  const u = await freshUser('reg');
  const b = await u.login();

  // No second factor yet: no step-up needed to register.
  const o = await registrationOptions(b);
  const pk = o.publicKey;
  assert.equal(pk.rp.id, 'localhost', JSON.stringify(pk.rp));
  assert.deepEqual(pk.excludeCredentials, []);
  assert.deepEqual(pk.pubKeyCredParams.map((p) => p.alg), [-7, -8, -257]);
  for (const p of pk.pubKeyCredParams) assert.equal(p.type, 'public-key');
  assert.equal(pk.attestation, 'none');
  assert.ok(fromB64u(pk.challenge).length >= 16, `challenge of >= 16 bytes: ${pk.challenge}`);
  assert.ok(pk.user.id && pk.user.id.length > 0, 'user.id is set');
  assert.ok(!fromB64u(pk.user.id).toString('latin1').includes(u.name), 'user.id does not contain the name');
  assert.equal(pk.user.name, u.name);
  assert.ok(pk.timeout > 0, `timeout ${pk.timeout}`);
  assert.equal(typeof pk.authenticatorSelection, 'object');

  const key = newKey({ alg: kAlg.ES256, uv: true });
  const credential = key.register(pk);
  const r = await b.post('/api/v1/factors/webauthn', { challenge_id: o.challenge_id, name: 'Desk key', credential });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.name, 'Desk key');
  assert.deepEqual([...r.json.methods].sort(), ['hwk', 'user']);
  const factorId = r.json.factor_id;

  const fs = await b.get('/api/v1/factors');
  assert.equal(fs.status, 200, fs.text);
  const listed = fs.json.factors.find((f) => f.id === factorId);
  assert.ok(listed, `factor ${factorId} listed: ${fs.text}`);
  assert.equal(listed.type, 'webauthn');
  assert.equal(listed.confirmed, true);

  // Now the user holds a second factor (hwk + user: aal3): changing factors
  // needs a fresh aal3.
  assertStepUpRequired(await b.post('/api/v1/factors/webauthn/options', {}), 'aal3', 'options without fresh elevation');

  await stepUp(b, key, 'aal3');
  // The first registration challenge is spent.
  const again = await b.post('/api/v1/factors/webauthn',
                             { challenge_id: o.challenge_id, credential: newKey().register(pk) });
  assertError(again, 400, 'invalid_challenge', 'a registration challenge used twice');

  const o2 = await registrationOptions(b);
  assert.deepEqual(o2.publicKey.excludeCredentials, [{ type: 'public-key', id: key.id }],
                   'the second registration excludes the first credential');
  // The same credential again (a browser would refuse; we insist): 409.
  const dup = await b.post('/api/v1/factors/webauthn',
                           { challenge_id: o2.challenge_id, credential: key.register(o2.publicKey, { ignoreExclude: true }) });
  assertError(dup, 409, 'conflict', 'same credential again');

  // Another key registers, and both are excluded from then on.
  const key2 = newKey({ alg: kAlg.EdDSA });
  await mustRegister(b, key2);
  const o3 = await registrationOptions(b);
  assert.deepEqual(o3.publicKey.excludeCredentials.map((c) => c.id).sort(), [key.id, key2.id].sort());
});

test('registration negatives: each refused 400 with the failed check named', async () => {
  const u = await freshUser('regbad');
  const b = await u.login();
  const es512 = newKey({ alg: kAlg.ES512 });
  const cases = [
    ['attStmt not empty with fmt none', newKey(), { attStmt: new Map([['sig', Buffer.alloc(8, 1)]]) }, 'bad_attestation'],
    ['trailing bytes after the attestation object', newKey(), { trailing: Buffer.from([0x00]) }, 'trailing_bytes'],
    ['unsupported alg (ES512 COSE key)', es512, { ignoreAlgs: true }, 'unsupported_algorithm'],
    ['credential id of 1024 bytes', newKey(), { credentialId: crypto.randomBytes(1024) }, 'credential_id_too_long'],
    ['BS without BE', newKey(), { be: false, bs: true }, 'bad_backup_flags'],
    ['unknown attestation format', newKey(), { fmt: 'fido-u2f' }, 'bad_attestation'],
    ['type webauthn.get', newKey(), { type: 'webauthn.get' }, 'wrong_type'],
    ['wrong origin', newKey(), { origin: 'http://evil.example' }, 'origin_not_allowed'],
    ['wrong rpId hash', newKey(), { rpId: 'evil.example' }, 'rp_id_hash_mismatch'],
    ['wrong challenge', newKey(), { challenge: b64u(crypto.randomBytes(32)) }, 'challenge_mismatch'],
    ['UP missing', newKey(), { up: false }, 'user_not_present'],
    ['AT missing', newKey(), { at: false }, 'bad_authenticator_data'],
    ['crossOrigin true', newKey(), { crossOrigin: true }, 'cross_origin'],
    ['extra key in the attestation object', newKey(), null, 'bad_attestation_object'],
  ];
  for (const [what, key, knobs, reason] of cases) {
    const o = await registrationOptions(b);
    let k = knobs;
    if (k === null) {
      // {fmt, attStmt, authData, extra}: build the real one, then add a key.
      const good = key.register(o.publicKey);
      const ao = fromB64u(good.response.attestationObject);
      // a3 -> a4 (4 pairs), then append "extra": 0.
      const patched = Buffer.concat([Buffer.from([0xa4]), ao.subarray(1), cborEncode('extra'), cborEncode(0)]);
      good.response.attestationObject = b64u(patched);
      const r = await b.post('/api/v1/factors/webauthn', { challenge_id: o.challenge_id, credential: good });
      assertError(r, 400, 'invalid_request', what);
      assert.ok(r.json.error_description.includes(reason), `${what}: ${r.json.error_description}`);
      continue;
    }
    const credential = key.register(o.publicKey, k);
    const r = await b.post('/api/v1/factors/webauthn', { challenge_id: o.challenge_id, credential });
    assertError(r, 400, 'invalid_request', what);
    assert.ok(r.json.error_description.includes(reason), `${what}: expected ${reason} in ${r.json.error_description}`);
    // The challenge is spent whatever the outcome: a good answer to it fails too.
    const retry = await b.post('/api/v1/factors/webauthn',
                               { challenge_id: o.challenge_id, credential: newKey().register(o.publicKey) });
    assertError(retry, 400, 'invalid_challenge', `${what}: the challenge was consumed`);
  }
  // Nothing was registered, and a correct key still registers (no fresh step-up needed).
  const fs = await b.get('/api/v1/factors');
  assert.equal(fs.json.factors.filter((f) => f.type === 'webauthn').length, 0, fs.text);
  await mustRegister(b, newKey());
});

// ---------------------------------------------------------------- step-up

for (const [algName, alg] of [['ES256', kAlg.ES256], ['EdDSA', kAlg.EdDSA]]) {
  test(`step-up with a device-bound ${algName} key with UV reaches aal3; /admin3 passes`, async () => {
    const u = await freshUser(`su${algName}`);
    const b = await u.login();
    const key = newKey({ alg, uv: true });
    const reg = await mustRegister(b, key);
    // A TOTP factor too (operator CLI), so the ordering of methods shows.
    await addTotp(srv, u.name);

    assertStepUpRequired(await forward(srv, { uri: '/admin3/x', cookie: b.cookie }), 'aal3', 'forward /admin3 at aal1');

    const c = await startStepUp(b, 'aal3');
    assert.equal(c.acr, 'aal3');
    assert.equal(c.methods[0].type, 'webauthn', `webauthn listed first: ${JSON.stringify(c.methods)}`);
    assert.equal(c.methods[0].factor_id, reg.factor_id);
    assert.ok(!c.methods.some((m) => m.type === 'totp'), `otp cannot reach aal3: ${JSON.stringify(c.methods)}`);
    assert.equal(c.webauthn.rpId, 'localhost');
    assert.equal(c.webauthn.userVerification, 'required');
    assert.ok(fromB64u(c.webauthn.challenge).length >= 16);
    assert.deepEqual(c.webauthn.allowCredentials.map((x) => x.id), [key.id]);
    for (const x of c.webauthn.allowCredentials) assert.equal(x.type, 'public-key');

    const oldCookie = b.cookie;
    const v = await verifyWith(b, c, key);
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.acr, 'aal3');
    for (const m of ['pwd', 'hwk', 'user']) assert.ok(v.json.amr.includes(m), `amr has ${m}: ${v.text}`);
    assert.ok(!v.json.amr.includes('swk'), `amr has no swk: ${v.text}`);
    assert.ok(v.session && v.session !== oldCookie, 'the session id is rotated');
    assert.equal(typeof v.json.access_token, 'string');
    const old = await forward(srv, { uri: '/', cookie: oldCookie });
    assert.equal(old.status, 401, 'the old session id is dead');

    const admin = await forward(srv, { uri: '/admin3/x', cookie: b.cookie });
    assert.equal(admin.status, 200, `forward /admin3/x after aal3: ${admin.text}`);
    assert.equal(acrOf(admin), 'aal3');
    const pay = await forward(srv, { uri: '/pay/x', bearer: v.json.access_token });
    assert.equal(pay.status, 200, `forward /pay/x with the new token: ${pay.text}`);

    // The challenge is single use.
    const replay = await verifyWith(b, c, key);
    assertError(replay, 400, 'invalid_challenge', 'verify on a spent challenge');

    // The aal2 options for the same user do not insist on UV.
    const c2 = await startStepUp(b, 'aal2');
    assert.equal(c2.webauthn.userVerification, 'preferred');
    assert.equal(c2.methods[0].type, 'webauthn');
    assert.ok(c2.methods.some((m) => m.type === 'totp'), `totp offered for aal2: ${JSON.stringify(c2.methods)}`);
  });
}

test('a key without UV reaches aal2 only; an aal3 step-up requires UV', async () => {
  const u = await freshUser('noUv');
  const b = await u.login();
  const key = newKey({ uv: false });
  const reg = await mustRegister(b, key);
  assert.deepEqual(reg.methods, ['hwk']);

  const c = await startStepUp(b, 'aal2');
  assert.equal(c.webauthn.userVerification, 'preferred');
  const v = await verifyWith(b, c, key, { flags: kFlags.UP });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.acr, 'aal2');
  assert.ok(v.json.amr.includes('hwk') && !v.json.amr.includes('user'), `amr ${v.text}`);

  const pay = await forward(srv, { uri: '/pay/x', cookie: b.cookie });
  assert.equal(pay.status, 200, pay.text);
  assert.equal(acrOf(pay), 'aal2');
  assertStepUpRequired(await forward(srv, { uri: '/admin3/x', cookie: b.cookie }), 'aal3', 'forward /admin3 at aal2');

  const c3 = await startStepUp(b, 'aal3');
  assert.equal(c3.webauthn.userVerification, 'required');
  const refused = await verifyWith(b, c3, key, { flags: kFlags.UP });
  assertError(refused, 401, 'invalid_code', 'UP-only assertion for aal3');
  assert.match(refused.json.error_description, /verif/i, refused.json.error_description);
  assertStepUpRequired(await forward(srv, { uri: '/admin3/x', cookie: b.cookie }), 'aal3', 'still short of aal3');

  // The same key doing UV this time gets there.
  const ok = await verifyWith(b, c3, key, { uv: true });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.acr, 'aal3');
  assert.equal((await forward(srv, { uri: '/admin3/x', cookie: b.cookie })).status, 200);
});

test('a backup-eligible passkey proves swk, not hwk, and never reaches aal3', async () => {
  const u = await freshUser('synced');
  const b = await u.login();
  const key = newKey({ uv: true, backupEligible: true, backedUp: true });
  const reg = await mustRegister(b, key);
  assert.deepEqual([...reg.methods].sort(), ['swk', 'user']);

  const v = await stepUp(b, key, 'aal2');
  assert.equal(v.acr, 'aal2');
  assert.ok(v.amr.includes('swk') && v.amr.includes('user'), `amr ${JSON.stringify(v.amr)}`);
  assert.ok(!v.amr.includes('hwk'), `no hwk for a synced passkey: ${JSON.stringify(v.amr)}`);
  const s = await b.get('/api/v1/session');
  assert.equal(s.json.acr, 'aal2', s.text);
  assertStepUpRequired(await forward(srv, { uri: '/admin3/x', cookie: b.cookie }), 'aal3', 'swk is not aal3');

  // Not yet backed up (BE without BS) is still a synced passkey: swk.
  const u2 = await freshUser('synced');
  const b2 = await u2.login();
  const key2 = newKey({ uv: true, backupEligible: true, backedUp: false });
  assert.deepEqual([...(await mustRegister(b2, key2)).methods].sort(), ['swk', 'user']);
  const v2 = await stepUp(b2, key2, 'aal2');
  assert.ok(v2.amr.includes('swk') && !v2.amr.includes('hwk'), JSON.stringify(v2.amr));

  // BE is fixed at registration: an assertion claiming otherwise is refused.
  const c = await startStepUp(b2, 'aal2');
  const flipped = await verifyWith(b2, c, key2, { be: false, bs: false });
  assertError(flipped, 401, 'invalid_code', 'BE changed');
  assert.ok(flipped.json.error_description.includes('backup_eligibility_changed'), flipped.json.error_description);
});

test('aal3 step-up for a user whose only key is a synced passkey: 403 no_factor_enrolled (api.md)', async () => {
  const u = await freshUser('syncedOnly');
  const b = await u.login();
  const key = newKey({ uv: true, backupEligible: true });
  await mustRegister(b, key);
  const c = await b.requestStepUp({ acr_values: 'aal3' });
  if (c.status === 200) {
    // Whatever is offered must not end in a 200 that leaves the level short.
    const v = await verifyWith(b, c.json, key);
    assert.ok(v.status !== 200 || v.json.acr === 'aal3', `verify answered 200 with acr ${v.json?.acr}: ${v.text}`);
  }
  assertError(c, 403, 'no_factor_enrolled', 'aal3 with only swk');
});

// ---------------------------------------------------------------- usernameless sign-in

async function loginOptions() {
  const o = await request(srv, 'POST', '/api/v1/login/webauthn/options', { json: {} });
  assert.equal(o.status, 200, `login options: ${o.text}`);
  return o.json;
}

const passkeyLogin = (challengeId, credential) =>
  request(srv, 'POST', '/api/v1/login/webauthn', { json: { challenge_id: challengeId, credential } });

test('usernameless sign-in with a passkey: UV required, single-use challenge, unknown credential', async () => {
  const { u, key } = await userWithKey('passkey');

  const o = await loginOptions();
  assert.equal(typeof o.challenge_id, 'string');
  assert.equal(o.publicKey.rpId, 'localhost');
  assert.deepEqual(o.publicKey.allowCredentials, []);
  assert.equal(o.publicKey.userVerification, 'required');
  assert.ok(fromB64u(o.publicKey.challenge).length >= 16);

  const r = await passkeyLogin(o.challenge_id, key.assert(o.publicKey));
  assert.equal(r.status, 200, r.text);
  assert.equal(typeof r.json.access_token, 'string');
  assert.equal(r.json.token_type, 'Bearer');
  assert.equal(typeof r.json.refresh_token, 'string');
  assert.ok(r.session, `a session cookie is set: ${JSON.stringify(r.setCookies)}`);
  assert.equal(r.json.session.subject, u.name);
  assert.equal(r.json.session.acr, 'aal2');
  assert.deepEqual([...r.json.session.amr].sort(), ['hwk', 'user']);

  const s = await request(srv, 'GET', '/api/v1/session', { cookie: r.session });
  assert.equal(s.status, 200, s.text);
  assert.equal(s.json.subject, u.name);
  assert.equal(s.json.acr, 'aal2');
  const pay = await forward(srv, { uri: '/pay/x', bearer: r.json.access_token });
  assert.equal(pay.status, 200, pay.text);
  // No password in this session: aal3 ([pwd, hwk, user]) is out of reach.
  assertStepUpRequired(await forward(srv, { uri: '/admin3/x', cookie: r.session }), 'aal3', 'passkey sign-in is not aal3');

  // The challenge is spent.
  const reuse = await passkeyLogin(o.challenge_id, key.assert(o.publicKey));
  assertError(reuse, 400, 'invalid_challenge', 'challenge reuse');

  // Without UV: refused, like a wrong password.
  const o2 = await loginOptions();
  const noUv = await passkeyLogin(o2.challenge_id, key.assert(o2.publicKey, { uv: false }));
  assertError(noUv, 401, 'invalid_credentials', 'no UV');
  assert.equal(noUv.session, undefined, 'no cookie on failure');

  // A credential the server never saw.
  const o3 = await loginOptions();
  const stranger = newKey();
  stranger.rpId = 'localhost';
  stranger.userHandle = crypto.randomBytes(16);
  assertError(await passkeyLogin(o3.challenge_id, stranger.assert(o3.publicKey)), 401, 'invalid_credentials', 'unknown credential');

  // A bad signature.
  const o4 = await loginOptions();
  assertError(await passkeyLogin(o4.challenge_id, key.assert(o4.publicKey, { flipSignature: true })),
              401, 'invalid_credentials', 'bad signature');

  // An unknown challenge id.
  assertError(await passkeyLogin('no-such-challenge-0123456789', key.assert(o4.publicKey)), 404, 'not_found', 'unknown challenge');

  // A synced passkey signs in with swk.
  const { u: u2, key: synced } = await userWithKey('passkey', { backupEligible: true });
  const o5 = await loginOptions();
  const r5 = await passkeyLogin(o5.challenge_id, synced.assert(o5.publicKey));
  assert.equal(r5.status, 200, r5.text);
  assert.equal(r5.json.session.subject, u2.name);
  assert.deepEqual([...r5.json.session.amr].sort(), ['swk', 'user']);
  assert.equal(r5.json.session.acr, 'aal2');
});

test('usernameless sign-in: a userHandle naming another user is refused (webauthn.md §7.2 steps 5-7)', async () => {
  const { key } = await userWithKey('handle');
  const { key: other } = await userWithKey('handle');
  // Control: with its own userHandle the key signs in.
  const own = await loginOptions();
  const r0 = await passkeyLogin(own.challenge_id, key.assert(own.publicKey));
  assert.equal(r0.status, 200, `own userHandle: ${r0.text}`);
  assert.notDeepEqual(key.userHandle, other.userHandle, 'the two users have different handles');
  const o = await loginOptions();
  const r = await passkeyLogin(o.challenge_id, key.assert(o.publicKey, { userHandle: other.userHandle }));
  assertError(r, 401, 'invalid_credentials', 'userHandle of another user');
});

// ---------------------------------------------------------------- negatives at verify

test('step-up verify refuses each broken assertion with 401 invalid_code', async (t) => {
  const { b, key } = await userWithKey('neg');
  const cases = [
    ['wrong origin', { origin: 'http://localhost.evil.example' }, 'origin_not_allowed'],
    ['origin with another port', { origin: `http://localhost:${srv.port + 1}` }, 'origin_not_allowed'],
    ['wrong rpId hash', { rpId: 'example.com' }, 'rp_id_hash_mismatch'],
    ['wrong challenge', { challenge: b64u(crypto.randomBytes(32)) }, 'challenge_mismatch'],
    ['wrong type (webauthn.create in an assertion)', { type: 'webauthn.create' }, 'wrong_type'],
    ['UP missing', { up: false }, 'user_not_present'],
    ['bad signature (a flipped bit)', { flipSignature: true }, 'bad_signature'],
    ['bad signature (first byte)', { flipSignature: 0 }, 'bad_signature'],
    ['crossOrigin true', { crossOrigin: true }, 'cross_origin'],
    ['topOrigin present', { topOrigin: 'http://evil.example' }, 'cross_origin'],
    ['AT set in an assertion', { at: true }, 'bad_authenticator_data'],
    ['bytes after the authenticator data', { authDataTrailing: Buffer.from([0]) }, 'trailing_bytes'],
    ['BS without BE', { bs: true }, 'bad_backup_flags'],
    ['tokenBinding present', { extra: { tokenBinding: { status: 'present', id: 'AAAA' } } }, 'bad_client_data'],
    ['clientDataJSON not JSON', { clientDataJSON: 'not json' }, 'bad_client_data'],
  ];
  for (const [what, knobs, reason] of cases) {
    await t.test(what, async () => {
      const c = await startStepUp(b, 'aal2');
      const r = await verifyWith(b, c, key, knobs);
      assertError(r, 401, 'invalid_code', what);
      assert.ok(r.json.error_description.includes(reason), `${what}: expected ${reason} in ${r.json.error_description}`);
      assert.equal(r.session, undefined, 'no new session cookie');
      // The challenge survives a failed attempt, the key works, and the
      // success resets the failure count (so the lockout never trips here).
      const ok = await verifyWith(b, c, key);
      assert.equal(ok.status, 200, `${what}: a good assertion afterwards: ${ok.text}`);
    });
  }
});

test("step-up verify: another user's credential and an unknown credential are refused", async () => {
  const alice = await Browser.login(srv, 'alice');
  const aliceKey = newKey();
  await mustRegister(alice, aliceKey);
  const bob = await Browser.login(srv, 'bob');
  const bobKey = newKey();
  await mustRegister(bob, bobKey);

  const c = await startStepUp(bob, 'aal2');
  assert.deepEqual(c.webauthn.allowCredentials.map((x) => x.id), [bobKey.id], 'bob is offered only his key');
  const theft = await verifyWith(bob, c, aliceKey, { ignoreAllowList: true });
  assertError(theft, 401, 'invalid_code', "alice's credential in bob's step-up");
  assert.equal(acrOf(await forward(srv, { uri: '/', cookie: bob.cookie })), 'aal1', 'bob stays at aal1');

  const stranger = newKey();
  stranger.rpId = 'localhost';
  assertError(await verifyWith(bob, c, stranger, { ignoreAllowList: true }), 401, 'invalid_code', 'unknown credential');

  // A registered credential id with a signature by another key.
  const forged = await verifyWith(bob, c, aliceKey, { ignoreAllowList: true, credentialId: bobKey.credentialId });
  assertError(forged, 401, 'invalid_code', "bob's credential id signed by alice's key");
  assert.ok(forged.json.error_description.includes('bad_signature'), forged.json.error_description);

  // Bob's own key still works on the same challenge.
  const ok = await verifyWith(bob, c, bobKey);
  assert.equal(ok.status, 200, ok.text);
});

test('signCount regression is refused and audited as webauthn.clone_suspected', async () => {
  const { u, b, key, factorId } = await userWithKey('clone');
  await stepUp(b, key, 'aal2', { signCount: 10 });

  const c = await startStepUp(b, 'aal2');
  const same = await verifyWith(b, c, key, { signCount: 10 });
  assertError(same, 401, 'invalid_code', 'signCount equal to the stored one');
  assert.ok(same.json.error_description.includes('sign_count_regression'), same.json.error_description);
  const lower = await verifyWith(b, c, key, { signCount: 3 });
  assertError(lower, 401, 'invalid_code', 'signCount below the stored one');
  const zero = await verifyWith(b, c, key, { signCount: 0 });
  assertError(zero, 401, 'invalid_code', 'signCount 0 after a non-zero one');

  const rows = await auditTail(srv, ['--user', u.name, '-n', '100']);
  const clone = rows.filter((r) => r.event === 'webauthn.clone_suspected');
  assert.ok(clone.length >= 3, `webauthn.clone_suspected rows: ${JSON.stringify(rows.map((r) => r.event))}`);
  const details = typeof clone[0].details === 'string' ? JSON.parse(clone[0].details) : clone[0].details;
  assert.equal(details.factor_id, factorId, JSON.stringify(clone[0]));

  // A counter above the stored one passes again.
  const ok = await verifyWith(b, c, key, { signCount: 11 });
  assert.equal(ok.status, 200, ok.text);

  // A passkey that always reports 0: the check does not apply.
  const { b: b0, key: zeroKey } = await userWithKey('clone', { counter: 'zero', backupEligible: true });
  await stepUp(b0, zeroKey, 'aal2');
  await stepUp(b0, zeroKey, 'aal2');
});

// ---------------------------------------------------------------- lockout

test('5 failed WebAuthn assertions lock the factor: 429 factor_locked', async () => {
  const { u, b, key, factorId } = await userWithKey('lock');
  const c = await startStepUp(b, 'aal2');
  for (let i = 1; i <= 5; i++) {
    assertError(await verifyWith(b, c, key, { flipSignature: true }), 401, 'invalid_code', `bad assertion #${i}`);
  }
  const locked = await verifyWith(b, c, key);
  assertError(locked, 429, 'factor_locked', 'a good assertion on a locked factor');
  const retry = Number(locked.headers.get('retry-after'));
  assert.ok(retry > 0 && retry <= 60, `Retry-After ${locked.headers.get('retry-after')}`);

  // Passkey sign-in with the locked key is refused as well.
  const o = await loginOptions();
  const pl = await passkeyLogin(o.challenge_id, key.assert(o.publicKey));
  assertError(pl, 429, 'factor_locked', 'passkey sign-in with a locked key');

  const fs = await b.get('/api/v1/factors');
  const f = fs.json.factors.find((x) => x.id === factorId);
  assert.ok(f?.locked_until > Date.now() / 1000, `locked_until shown: ${fs.text}`);
  const rows = await auditTail(srv, ['--user', u.name, '-n', '100']);
  assert.ok(rows.some((r) => r.event === 'factor.locked'), JSON.stringify(rows.map((r) => r.event)));

  // The operator unlocks; the key works again.
  const un = await srv.cli(['user', 'unlock', u.name]);
  assert.equal(un.code, 0, cliOutput(un));
  const ok = await verifyWith(b, c, key);
  assert.equal(ok.status, 200, ok.text);
});
