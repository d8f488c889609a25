// The `stepup` CLI against the same config and SQLite file as a running server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import {
  decodePart, eventually, merge, mustLogin, login, request, startServer, toYaml,
} from './lib/server.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

// A list printed either bare or wrapped as {"<key>": [...]}.
function listOf(stdout, key) {
  const v = JSON.parse(stdout);
  const list = Array.isArray(v) ? v : v?.[key];
  assert.ok(Array.isArray(list), `a JSON list (or {"${key}": [...]}): ${stdout}`);
  return list;
}

const output = (r) => `${r.stdout}${r.stderr}`;

// Writes the running config deep-merged with `over` to a new file in the
// server's temp dir; returns {file, text}.
function writeConfig(name, over = {}) {
  const file = path.join(srv.dir, name);
  const text = toYaml(merge(srv.config, over)) + '\n';
  fs.writeFileSync(file, text);
  return { file, text };
}

const lineOf = (text, needle) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

test('config check passes on the generated config', async () => {
  const r = await srv.cli(['config', 'check']);
  assert.equal(r.code, 0, output(r));
});

test('config check fails on an unknown key with FILE:LINE: and the key name', async () => {
  const { file, text } = writeConfig('unknown-key.yaml', { tokens: { acess_ttl: '5m' } });
  const line = lineOf(text, 'acess_ttl');
  assert.ok(line > 0);
  const r = await srv.cli(['config', 'check', '--config', file]);
  assert.notEqual(r.code, 0, `must fail: ${output(r)}`);
  assert.ok(r.stderr.includes(`${file}:${line}:`), `stderr names ${file}:${line}: -> ${r.stderr}`);
  assert.ok(r.stderr.includes('acess_ttl'), `stderr names the key: ${r.stderr}`);
});

test('config check reports every problem, each with its line', async () => {
  const { file, text } = writeConfig('two-errors.yaml', {
    tokens: { access_ttl: 'soon' },
    cookie: { same_site: 'Sideways' },
  });
  const r = await srv.cli(['config', 'check', '--config', file]);
  assert.notEqual(r.code, 0, output(r));
  assert.ok(r.stderr.includes(`${file}:${lineOf(text, 'access_ttl')}:`), r.stderr);
  assert.ok(r.stderr.includes(`${file}:${lineOf(text, 'same_site')}:`), r.stderr);
});

test('config check: no warnings on the generated config (stderr empty, --strict passes)', async () => {
  const r = await srv.cli(['config', 'check', '--strict']);
  assert.equal(r.code, 0, output(r));
  assert.equal(r.stderr, '', `no warnings: ${r.stderr}`);
});

test('config check warns about unprovable methods and hidden rules; exit 0, or 1 with --strict', async () => {
  const { file } = writeConfig('warnings.yaml', {
    levels: {
      aal1: { reached_by: [['pwd']] },
      aal2: { reached_by: [['pwd', 'otp'], ['pwd', 'sms']], elevation: '15m' },
      aal3: { reached_by: [['pwd', 'face']], elevation: '5m' },
    },
    rules: [
      { methods: ['GET', 'POST'], path: '/admin/**', level: 'aal2' },
      { methods: ['HEAD'], path: '/admin/reports/*', level: 'aal3' },   // hidden: GET covers HEAD
      { path: '/public/**', public: true },
      { path: '/public/*/secret', level: 'aal3' },                     // hidden
      { methods: ['DELETE'], path: '/admin/x', level: 'aal3' },        // not hidden: DELETE not covered
      { path: '/**', level: 'aal1' },
      { path: '/late', level: 'aal3' },                                // hidden by /**
    ],
  });
  const r = await srv.cli(['config', 'check', '--config', file]);
  assert.equal(r.code, 0, `warnings alone do not fail the check: ${output(r)}`);
  const lines = r.stderr.trim().split('\n');
  assert.ok(lines.every((l) => l.startsWith('warning: ')), r.stderr);
  assert.match(r.stderr, /level aal2: method "sms"/);
  assert.match(r.stderr, /level aal3: method "face"/);
  assert.match(r.stderr, /level aal3 can never be reached/);
  assert.doesNotMatch(r.stderr, /level aal2 can never be reached/, 'aal2 has a provable set');
  assert.match(r.stderr, /rule 2 \(HEAD \/admin\/reports\/\*\) can never match: rule 1 /);
  assert.match(r.stderr, /rule 4 \(\/public\/\*\/secret\) can never match: rule 3 /);
  assert.match(r.stderr, /rule 7 \(\/late\) can never match: rule 6 /);
  assert.doesNotMatch(r.stderr, /rule 5 /, 'a DELETE rule is not covered by a GET/POST rule');
  assert.equal(lines.length, 6, r.stderr);
  assert.match(r.stdout, /6 warning/);

  const strict = await srv.cli(['config', 'check', '--strict', '--config', file]);
  assert.equal(strict.code, 1, `--strict fails on warnings: ${output(strict)}`);
});

test('user add rejects a too-short password', async () => {
  const r = await srv.cli(['user', 'add', 'shorty', '--password-stdin'], { stdin: 'Ab3$x\n' });
  assert.notEqual(r.code, 0, output(r));
  assert.match(output(r), /short|at least|minimum/i);
  assert.equal((await login(srv, 'shorty', 'Ab3$x')).status, 401, 'the user was not created');
});

test('user add rejects a common password', async () => {
  const r = await srv.cli(['user', 'add', 'commoner', '--password-stdin'], { stdin: 'password\n' });
  assert.notEqual(r.code, 0, output(r));
  assert.match(output(r), /common/i);
  assert.equal((await login(srv, 'commoner', 'password')).status, 401, 'the user was not created');
});

test('user add rejects a duplicate username', async () => {
  const r = await srv.cli(['user', 'add', 'alice', '--password-stdin'], { stdin: 'quartz-Lagoon-73-pike\n' });
  assert.notEqual(r.code, 0, output(r));
  assert.match(output(r), /exist|already|duplicate|taken/i);
  // The original password still works, the new one does not.
  assert.equal((await login(srv, 'alice')).status, 200);
  assert.equal((await login(srv, 'alice', 'quartz-Lagoon-73-pike')).status, 401);
});

test('a user added while the server runs can sign in', async () => {
  const r = await srv.cli(['user', 'add', 'frank', '--password-stdin'], { stdin: 'hazel-Summit-84-crow\n' });
  assert.equal(r.code, 0, output(r));
  const l = await login(srv, 'frank', 'hazel-Summit-84-crow');
  assert.equal(l.status, 200, l.text);
});

test('user list --json lists the users without password hashes', async () => {
  const r = await srv.cli(['user', 'list', '--json']);
  assert.equal(r.code, 0, output(r));
  const users = listOf(r.stdout, 'users');
  const names = users.map((u) => u.username ?? u.name);
  for (const n of ['alice', 'bob', 'carol']) assert.ok(names.includes(n), `${n} in ${r.stdout}`);
  assert.ok(!/argon2/i.test(r.stdout), 'no password hashes in the listing');
});

test('session list --json shows a fresh login', async () => {
  const l = await mustLogin(srv, 'bob');
  const r = await srv.cli(['session', 'list', '--json']);
  assert.equal(r.code, 0, output(r));
  const sessions = listOf(r.stdout, 'sessions');
  const mine = sessions.find((s) => s.id === l.json.session.id);
  assert.ok(mine, `session ${l.json.session.id} in ${r.stdout}`);
  assert.ok(!r.stdout.includes(l.cookie), 'the cookie credential is not printed');
  assert.ok(!r.stdout.includes(l.refresh_token), 'the refresh token is not printed');
});

test('session revoke ID kills the session for the running server', async () => {
  const l = await mustLogin(srv, 'carol');
  const ok = await request(srv, 'GET', '/api/v1/session', { cookie: l.cookie });
  assert.equal(ok.status, 200, ok.text);
  const r = await srv.cli(['session', 'revoke', l.json.session.id]);
  assert.equal(r.code, 0, output(r));
  const status = await eventually(async () => {
    const s = await request(srv, 'GET', '/api/v1/session', { cookie: l.cookie });
    return s.status === 401 ? 401 : 0;
  }, 2000);
  assert.equal(status, 401, 'the cookie is refused after revocation');
  const refreshed = await request(srv, 'POST', '/api/v1/token/refresh', { json: { refresh_token: l.refresh_token } });
  assert.equal(refreshed.status, 401, refreshed.text);
});

test('session revoke of an unknown id fails', async () => {
  const r = await srv.cli(['session', 'revoke', 'no-such-session']);
  assert.notEqual(r.code, 0, output(r));
});

test('keys rotate: after a restart JWKS has 2 keys, old tokens verify, new tokens use the new kid', async () => {
  const jwksBefore = (await request(srv, 'GET', '/.well-known/jwks.json')).json;
  assert.equal(jwksBefore.keys.length, 1, JSON.stringify(jwksBefore));
  const old = await mustLogin(srv, 'dave');
  const oldKid = decodePart(old.access_token, 0).kid;
  assert.equal(oldKid, jwksBefore.keys[0].kid);

  const r = await srv.cli(['keys', 'rotate']);
  assert.equal(r.code, 0, output(r));
  await srv.restart();

  const jwksAfter = (await request(srv, 'GET', '/.well-known/jwks.json')).json;
  assert.equal(jwksAfter.keys.length, 2, JSON.stringify(jwksAfter));
  const kids = jwksAfter.keys.map((k) => k.kid);
  assert.ok(kids.includes(oldKid), 'the retired key is still published');

  const jwks = createRemoteJWKSet(new URL(srv.url + '/.well-known/jwks.json'));
  const opts = { issuer: srv.publicUrl, audience: 'stepup', algorithms: ['ES256'] };
  await jwtVerify(old.access_token, jwks, opts);

  const fresh = await mustLogin(srv, 'dave');
  const { protectedHeader } = await jwtVerify(fresh.access_token, jwks, opts);
  assert.notEqual(protectedHeader.kid, oldKid, 'signed with the new key');
  assert.ok(kids.includes(protectedHeader.kid));
  // The old session survived the restart too.
  const s = await request(srv, 'GET', '/api/v1/session', { cookie: old.cookie });
  assert.equal(s.status, 200, s.text);
});
