// Helpers for the attack catalogue: forging JWS tokens with node's crypto,
// reading a server's signing key out of its SQLite file (so a token can carry
// a valid signature and bad claims), asserting the contract's error JSON, and
// a raw socket client that trickles bytes.
//
// The server harness itself is tests/integration/lib/server.mjs (imported,
// not copied); the TOTP helpers are tests/integration/lib/stepup.mjs.
//
// Not thread-safe in any sense that matters: one test file drives its own
// servers sequentially.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import net from 'node:net';
import { request } from '../../integration/lib/server.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const nowSec = () => Date.now() / 1000;
// Sleeps until the wall clock is `slackMs` past Unix second `t`.
export const sleepUntil = (t, slackMs = 300) => sleep(Math.max(0, t * 1000 + slackMs - Date.now()));

// ---------------------------------------------------------------- JWS

export const b64u = (bytes) => Buffer.from(bytes).toString('base64url');
export const encodePart = (obj) => b64u(typeof obj === 'string' ? obj : JSON.stringify(obj));

// Splits a compact JWS into its encoded parts and decoded header/payload.
export function split(token) {
  const [h, p, s] = token.split('.');
  return {
    h, p, s,
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
    sig: Buffer.from(s ?? '', 'base64url'),
  };
}

// HS256 over header.payload with `key` (a string or bytes) as the HMAC secret.
export function hs256(header, payload, key) {
  const input = `${encodePart(header)}.${encodePart(payload)}`;
  return `${input}.${b64u(crypto.createHmac('sha256', key).update(input).digest())}`;
}

// ES256 (raw r||s, RFC 7518 3.4) or EdDSA over header.payload with `key`.
export function signWith(key, header, payload) {
  const input = `${encodePart(header)}.${encodePart(payload)}`;
  const sig = header.alg === 'EdDSA'
    ? crypto.sign(null, Buffer.from(input), key)
    : crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64u(sig)}`;
}

export async function fetchJwks(srv) {
  const r = await request(srv, 'GET', '/.well-known/jwks.json');
  assert.equal(r.status, 200, r.text);
  assert.ok(Array.isArray(r.json?.keys) && r.json.keys.length > 0, r.text);
  return r.json.keys;
}

function sqlite(db, sql, { write = false } = {}) {
  return new Promise((resolve, reject) => {
    execFile('sqlite3', [...(write ? [] : ['-readonly']), '-json', db, sql], { timeout: 10000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`sqlite3 failed: ${err.message}\n${stderr}`));
      else resolve(stdout.trim() ? JSON.parse(stdout) : []);
    });
  });
}

// The server's active signing key, read from its SQLite file: what an
// attacker holding the key would sign with. Used to make tokens whose
// signature is valid so that only the claim under test is wrong.
export async function activeSigningKey(srv) {
  // Private keys are sealed in the store (a stolen database file cannot mint
  // tokens), so the catalogue plants a key of its own, the way an operator's
  // older plain-PEM row would look: retired (never used to sign) but still
  // published, then restarts the server so it trusts it.
  if (srv.__plantedKey) return srv.__plantedKey;
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const kid = 'planted-' + crypto.randomBytes(6).toString('hex');
  const publicJwk = JSON.stringify({ kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, kid, alg: 'ES256', use: 'sig' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  const now = Math.floor(Date.now() / 1000);
  const q = (v) => "'" + String(v).replaceAll("'", "''") + "'";
  await sqlite(srv.db,
    `INSERT INTO signing_keys(kid, algorithm, private_pem, public_jwk, created_at, retired_at, publish_until) ` +
    `VALUES(${q(kid)}, 'ES256', ${q(pem)}, ${q(publicJwk)}, ${now}, ${now}, 0)`, { write: true });
  await srv.restart();
  srv.__plantedKey = { kid, alg: 'ES256', key: privateKey };
  return srv.__plantedKey;
}

// ---------------------------------------------------------------- HTTP

// The credential check every case uses: GET /api/v1/session with a Bearer.
export const sessionWithBearer = (srv, token) => request(srv, 'GET', '/api/v1/session', { bearer: token });

// The contract's error JSON: status, JSON content type, {error, error_description}.
export function assertContractError(r, status, code, what = '') {
  assert.equal(r.status, status, `${what}: status; body: ${r.text}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/, `${what}: content-type`);
  assert.equal(r.json?.error, code, `${what}: error code; body: ${r.text}`);
  assert.equal(typeof r.json?.error_description, 'string', `${what}: error_description; body: ${r.text}`);
}

// Raw TCP: writes `chunks` (strings or Buffers) one every `intervalMs`, and
// collects what comes back until the server closes. Resolves
// {closedAfterMs, sent (number of chunks written), text, status,
// closedByServer (false when giveUpMs ran out first)}.
export function trickle(srv, chunks, { intervalMs = 1000, giveUpMs = 30000 } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const sock = net.connect(srv.port, '127.0.0.1');
    const got = [];
    let sent = 0;
    let timer = null;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(giveUp);
      const text = Buffer.concat(got).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ closedAfterMs: Date.now() - started, sent, text, status: m ? Number(m[1]) : 0,
                closedByServer: !gaveUp });
    };
    let gaveUp = false;
    const giveUp = setTimeout(() => { gaveUp = true; sock.destroy(); }, giveUpMs);
    const next = () => {
      if (done || sent >= chunks.length) return;
      sock.write(chunks[sent], () => {});
      sent++;
      timer = setTimeout(next, intervalMs);
    };
    sock.on('connect', next);
    sock.on('data', (d) => got.push(d));
    sock.on('error', () => {});
    sock.on('close', finish);
  });
}
