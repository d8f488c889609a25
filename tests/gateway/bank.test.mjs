// The shipped demo must refuse every bypass: examples/bank/run brings up the
// demo's own nginx.conf, app.mjs and stepup.yaml (on free ports, as the
// browser tests do), and the whole of attacks.json is sent with an aal1
// session (password only) through its nginx. The bank app resolves paths with
// WHATWG URL (dot segments, %2e, backslash as "/"), so /x/../admin is its
// admin page. Nothing may reach the admin page, the transfer form or a booked
// transfer. Controls: an aal2 session gets those pages through the same
// nginx, and the aal1 session gets its accounts page.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { createUser, startBank } from '../browser/lib/bank.mjs';
import { rawRequest } from './lib/raw.mjs';
import { ATTACKS, describeAnswer, sendAttack, servedProtected, sessionCookie } from './lib/zoo.mjs';

// What only the protected pages of examples/bank/app.mjs contain.
const MARKERS = ['id="admin-transfers"', 'id="transfer-form"', 'id="transfer-result"', 'Transfer sent'];

let bank;
let port;
let aal1;
let aal2;

async function api(method, path, { cookie, json } = {}) {
  const headers = { origin: bank.origin };
  if (cookie) headers.cookie = `stepup_session=${cookie}`;
  if (json) headers['content-type'] = 'application/json';
  const res = await fetch(bank.url + path, { method, headers, body: json && JSON.stringify(json), redirect: 'manual' });
  const text = await res.text();
  const set = res.headers.getSetCookie().find((c) => c.startsWith('stepup_session='));
  return { status: res.status, text, json: text ? JSON.parse(text) : undefined, cookie: set?.slice(15).split(';')[0] };
}

before(async () => {
  bank = await startBank({ transferMaxAge: '10m', adminMaxAge: '10m' });
  port = Number(new URL(bank.url).port);
  const a = await createUser(bank, 'gwaal1');
  let r = await api('POST', '/api/v1/login/password', { json: { username: a.username, password: a.password } });
  assert.equal(r.status, 200, r.text);
  aal1 = r.cookie;
  const b = await createUser(bank, 'gwaal2', { totp: true });
  r = await api('POST', '/api/v1/login/password', { json: { username: b.username, password: b.password } });
  assert.equal(r.status, 200, r.text);
  const c = await api('POST', '/api/v1/step-up', { cookie: r.cookie, json: { acr_values: 'aal2' } });
  assert.equal(c.status, 200, c.text);
  const v = await api('POST', `/api/v1/step-up/${c.json.challenge_id}/verify`,
    { cookie: r.cookie, json: { method: 'totp', code: await b.totp.next() } });
  assert.equal(v.status, 200, v.text);
  aal2 = v.cookie;
});

after(async () => { await bank?.stop(); });

test('controls: aal2 gets /admin and /transfer through the demo nginx, aal1 its accounts but not /admin', async () => {
  for (const [method, target] of [['GET', '/admin'], ['GET', '/transfer'], ['HEAD', '/transfer']]) {
    const r = await rawRequest(port, { method, target, headers: [sessionCookie(aal2)] });
    assert.ok(servedProtected(r, method, MARKERS), `aal2 ${method} ${target}: ${describeAnswer(r)}`);
  }
  let r = await rawRequest(port, { target: '/accounts', headers: [sessionCookie(aal1)] });
  assert.equal(r.status, 200, describeAnswer(r));
  assert.match(r.body, /id="accounts-table"/);
  r = await rawRequest(port, { target: '/admin', headers: [sessionCookie(aal1)] });
  assert.equal(r.status, 303, describeAnswer(r));
  assert.match(r.headers.location?.[0] ?? '', /^\/step-up\?/);
});

test('no attack in attacks.json reaches a protected page of the demo bank with an aal1 session', async () => {
  const bypasses = [];
  const statuses = {};
  for (const a of ATTACKS.attacks) {
    const r = await sendAttack(port, a, [sessionCookie(aal1)]);
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    if (servedProtected(r, a.method, MARKERS)) bypasses.push(`${a.id} (${a.method} ${JSON.stringify(a.target)}): ${r.status} ${r.body.slice(0, 60).replace(/\s+/g, ' ')}`);
  }
  assert.deepEqual(bypasses, [], `bypasses through the demo (answers by status: ${JSON.stringify(statuses)})`);
  // No POST got through to book a transfer either.
  const r = await rawRequest(port, { target: '/accounts', headers: [sessionCookie(aal1)] });
  assert.match(r.body, /No transfers yet\./, 'the aal1 user has no transfers');
});
