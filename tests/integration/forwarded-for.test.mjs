// server.trust_forwarded_for (issue 11): the client address is the
// right-most X-Forwarded-For entry, the one the trusted proxy appended, taken
// over ALL X-Forwarded-For field lines combined in order (RFC 9110 §5.3). A
// client that sends its own line first must not choose the address the
// per-IP limits count. Requests are written raw (fetch would join the lines
// itself) and the limit's work is counted: which attempt number gets 429.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rawRequest, startServer } from './lib/server.mjs';

const kBurst = 3;
let srv;
before(async () => {
  srv = await startServer({
    server: { trust_forwarded_for: true },
    // A bucket that refills once in ~17 minutes: only the burst counts here.
    rate_limits: { login: { per_second: 0.001, burst: kBurst } },
  });
});
after(async () => { await srv?.stop(); });

// A wrong-password sign-in carrying the given X-Forwarded-For lines.
function loginWith(xffLines) {
  const body = JSON.stringify({ username: 'alice', password: 'not-the-password-1' });
  const raw = [
    'POST /api/v1/login/password HTTP/1.1',
    `Host: 127.0.0.1:${srv.port}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...xffLines.map((l) => `X-Forwarded-For: ${l}`),
    'Connection: close',
    '', body,
  ].join('\r\n');
  // A hang guard only (the answer ends the wait): sign-ins hash with Argon2id.
  return rawRequest(srv, raw, { timeoutMs: 30000 });
}

let spoof = 0;
const clientChosen = () => `198.51.100.${++spoof}`;  // a new address every time

test('two X-Forwarded-For lines: the proxy-appended right-most address is limited, not the client line', async () => {
  const proxySaw = '203.0.113.9';
  const statuses = [];
  for (let i = 0; i < kBurst + 2; i++) {
    statuses.push((await loginWith([clientChosen(), proxySaw])).status);
  }
  assert.deepEqual(statuses, [401, 401, 401, 429, 429],
                   `the burst of ${kBurst} is spent by ${proxySaw} whatever the first line says`);
  // The same address on one comma-joined line is the same client.
  assert.equal((await loginWith([`${clientChosen()}, ${proxySaw}`])).status, 429);
});

test('control: different right-most addresses have their own buckets', async () => {
  for (const ip of ['203.0.113.20', '203.0.113.21']) {
    const r = await loginWith(['203.0.113.9', ip]);
    assert.equal(r.status, 401, `${ip} is a new client: ${r.head}`);
  }
});

test('an unparsable right-most entry counts as the peer, never as a client-chosen neighbour', async () => {
  // Every request names a fresh address on the left; the right-most entry is
  // junk. All of them share the peer's (127.0.0.1) bucket.
  const statuses = [];
  for (let i = 0; i < kBurst + 1; i++) {
    statuses.push((await loginWith([clientChosen(), 'unknown'])).status);
  }
  assert.deepEqual(statuses, [401, 401, 401, 429]);
  assert.equal((await loginWith([`${clientChosen()},`])).status, 429, 'empty right-most entry');
});
