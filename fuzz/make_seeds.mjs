// Writes the committed seed corpora under fuzz/corpus/<target>/ (small files,
// one input each). Run it again after changing the fuzz targets' input format:
//   node fuzz/make_seeds.mjs
// The private keys below are test-only and match the public keys in
// fuzz/fuzz_keys.h, so the JWS seeds carry valid signatures.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const NOW = 1790000000;

const ES256 = crypto.createPrivateKey({ format: 'jwk', key: {
  kty: 'EC', crv: 'P-256',
  x: 'K6ezvDPfX_2fod6sNd-xjP6uq40JlZmyh8NrCRSrXls',
  y: 'd2Yf0O03494SSqkiHpO7ft_YHZll2cZk1iMzVCEvZAY',
  d: '0B-jV1o4EkTWto6Xh-HbrtH-CdxxB7bqzVFCWof-mBQ' } });
const ED25519 = crypto.createPrivateKey({ format: 'jwk', key: {
  kty: 'OKP', crv: 'Ed25519',
  x: 'zl-PtAE91_JtEP5glgyuCkalzOSd8ObdSfOqdf_IbPc',
  d: '1In0WeHE8JOffDj0w3OngxuIaopSPX8xr_tnVWG4PeQ' } });

const b64u = (b) => Buffer.from(b).toString('base64url');

function sign(header, claims, key) {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
  const sig = header.alg === 'ES256'
    ? crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
    : crypto.sign(null, Buffer.from(input), key);
  return `${input}.${b64u(sig)}`;
}

const claims = {
  iss: 'https://stepup.fuzz', aud: 'stepup', sub: 'alice', sid: 's-1', jti: 'j-1',
  iat: NOW - 10, exp: NOW + 600, acr: 'aal2', amr: ['pwd', 'otp'], auth_time: NOW - 20,
};
const es = { alg: 'ES256', typ: 'at+jwt', kid: 'fuzz-es256' };
const ed = { alg: 'EdDSA', typ: 'at+jwt', kid: 'fuzz-ed25519' };

const corpora = {
  jws: {
    es256_valid: sign(es, claims, ES256),
    eddsa_valid: sign(ed, claims, ED25519),
    aud_array: sign(es, { ...claims, aud: ['x', 'stepup'] }, ES256),
    expired: sign(es, { ...claims, exp: NOW - 1000 }, ES256),
    nbf_future: sign(ed, { ...claims, nbf: NOW + 1000 }, ED25519),
    missing_acr: sign(es, { ...claims, acr: undefined }, ES256),
    wrong_iss: sign(ed, { ...claims, iss: 'https://evil' }, ED25519),
    alg_none: `${b64u(JSON.stringify({ alg: 'none', kid: 'fuzz-es256' }))}.${b64u(JSON.stringify(claims))}.`,
    hs256: `${b64u(JSON.stringify({ alg: 'HS256', kid: 'fuzz-es256' }))}.${b64u(JSON.stringify(claims))}.${b64u('x'.repeat(32))}`,
    kid_path: sign({ ...es, kid: '../../etc/passwd' }, claims, ES256),
    alg_kid_mismatch: sign({ ...ed, kid: 'fuzz-es256' }, claims, ED25519),
    two_parts: 'eyJhbGciOiJFUzI1NiJ9.e30',
  },
  json_body: {
    login: '{"username":"alice","password":"violet-Harbor-92-kite"}',
    step_up: '{"acr_values":"aal2","max_age":300,"return_to":"/transfer","reason":"r","transaction":{"amount":5,"to":["a",{"b":null}]}}',
    verify: '{"method":"totp","code":"123456","factor_id":"f-1"}',
    refresh: '{"refresh_token":"rt_abc"}',
    wrong_types: '{"username":1,"password":["x"],"return_to":null,"reason":true}',
    escapes: '{"username":"\\u00e9\\ud83d\\ude00\\n\\"","password":"a\\u0000b"}',
    deep: `${'['.repeat(20)}${']'.repeat(20)}`,
    not_object: '"just a string"',
    numbers: '{"a":-0,"b":1e400,"c":18446744073709551616,"d":-9223372036854775809}',
    bad_utf8: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
    dup_keys: '{"username":"a","username":"b"}',
  },
  config: {
    minimal: 'server:\n  listen: 127.0.0.1:8080\n  public_url: http://localhost:8080\nstorage:\n  path: stepup.db\n',
    full: [
      'server:', '  listen: "127.0.0.1:8080"', '  public_url: "http://localhost:8080"', '  drain_timeout: "2s"',
      '  max_body_bytes: 65536', '  trust_forwarded_for: false',
      'log:', '  level: info', 'storage:', '  path: /tmp/x.db', 'tokens:', '  access_ttl: 120s',
      'cookie:', '  secure: false', 'passwords:', '  argon2_memory_kib: 8192', '  argon2_iterations: 1',
      'levels:', '  aal1:', '    reached_by: [[pwd]]', '  aal2:', '    reached_by: [[pwd, otp], [pwd, hwk]]',
      '    elevation: 15m', 'base_level: aal1', 'rules:',
      '  - { methods: [POST], path: "/payments/**", level: aal2, max_age: 5m, reason: "Payments" }',
      '  - { path: "/admin/**", level: aal2, max_age: 5m }', '  - { path: "/public/**", public: true }',
      '  - { path: "/blocked/**", deny: true }', '  - { path: "/**", level: aal1 }',
      'default: { deny: true }', 'introspection_clients:', '  - { id: gw, secret: gw-secret-123 }', '',
    ].join('\n'),
    unknown_key: 'server:\n  lisen: x\n',
    anchors: 'a: &x {b: [1, 2]}\nserver: *x\nrules: [*x, *x]\n',
    tags: 'server: !!binary aGVsbG8=\nlevels: !!set {a, b}\n',
    bad_duration: 'tokens:\n  access_ttl: 99999999999999999999d\n',
    not_map: '- a\n- b\n',
    multi_doc: '---\nserver: {}\n...\n---\nlog: {level: 3}\n',
  },
  cookie: {
    simple: 'stepup_session=abc123',
    several: 'a=b; stepup_session="quoted"; __Host-stepup_session=x; stepup_session=second',
    spaces: ' \tstepup_session = v ;; =x; novalue; k=v',
    bearer: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig',
    bearer_case: 'bEaReR   tok  ',
    form: 'token=a%20b+c&other=%zz&token=second',
    url: 'https://Example.COM:8443/path?q=1#frag',
    ctl: Buffer.from('stepup_session=a\x01b; x=\x7f'),
  },
  return_to: {
    path: '/transfer?amount=5#top',
    dbl_slash: '//evil.example',
    backslash: '/\\evil.example',
    enc_slash: '/%2F%2Fevil.example',
    dbl_enc: '/%252F%252Fevil.example',
    triple_enc: '/%25252F%25252Fevil',
    js: 'javascript:alert(1)',
    allowed_abs: 'https://app.example.com/x',
    userinfo: 'https://app.example.com@evil.example/',
    enc_at: 'https://app.example.com%40evil.example/',
    suffix: 'https://app.example.com.evil/',
    case: 'HTTPS://APP.EXAMPLE.COM/',
    port: 'http://localhost:8080/cb',
    tab: '/\t/evil',
  },
  totp: {
    // First byte: parameter selector; then SECRET \n CODE.
    rfc6238_sha1: Buffer.concat([Buffer.from([0]), Buffer.from('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n287082')]),
    sha256: Buffer.concat([Buffer.from([1]), Buffer.from('gezd gnbv gy3t qojq====\n123 456')]),
    sha512_8: Buffer.concat([Buffer.from([0x4a]), Buffer.from('JBSWY3DPEHPK3PXP\n12345678')]),
    bad_b32: Buffer.concat([Buffer.from([0x80]), Buffer.from('1890!!\n000000')]),
    long_code: Buffer.concat([Buffer.from([0x12]), Buffer.from('JBSWY3DP\n' + '1'.repeat(40))]),
  },
};

// canonical: "HOST\nTARGET", one per attack of the gateway suite's list
// (tests/gateway/attacks.json), next to the hand-written case files.
corpora.canonical = {};
const attacks = JSON.parse(fs.readFileSync(path.join(here, '../tests/gateway/attacks.json'), 'utf8'));
for (const a of attacks.attacks) {
  if (typeof a.target === 'string') corpora.canonical[`gw-${a.id}`] = `localhost:8080\n${a.target}`;
}

for (const [target, seeds] of Object.entries(corpora)) {
  const dir = path.join(here, 'corpus', target);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(seeds)) {
    fs.writeFileSync(path.join(dir, name), content);
  }
}
console.log('seeds written under', path.join(here, 'corpus'));
