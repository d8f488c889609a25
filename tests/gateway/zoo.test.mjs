// The upstream zoo: the bypass list (attacks.json) sent with an aal1 session
// through real nginx and real Caddy, each run from its recipe in
// examples/gateways/, to three real upstreams with different path semantics:
// express 4 (case-insensitive, optional trailing slash), nginx serving files
// (decodes %2f, merges slashes, resolves dot segments), python's http.server
// (decodes everything, normpath) and a node:http app routing on WHATWG URL
// pathnames (resolves dots and backslashes, keeps empty segments). stepup decides with the zoo
// policy (lib/zoo.mjs zooRules): /admin/** and /transfer need aal2.
//
// Each attack must not be served as a protected resource. Controls show the
// same stack does serve it to an aal2 session and serves the public and
// signed-in areas to aal1, so the assertions can fail; the identity checks
// show what the recipes hand the upstream (no forged or placeholder X-Stepup-*,
// no session cookie).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { rawRequest } from './lib/raw.mjs';
import {
  ATTACKS, describeAnswer, headerOf, sendAttack, servedProtected, sessionCookie,
  startCaddyGateway, startExpress, startNginxGateway, startNginxStatic, startNodeUrl, startPython,
  startZooStepup, tempDir, writeSite,
} from './lib/zoo.mjs';

const procs = [];
let stepup;
const upstreams = {};
const gateways = {};  // `${gateway}/${upstream}` -> proc

before(async () => {
  stepup = await startZooStepup();
  const root = tempDir('site');
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root);
  writeSite(root);
  upstreams.express = await startExpress();
  upstreams['nginx-static'] = await startNginxStatic(root);
  upstreams.python = await startPython(root);
  upstreams['node-url'] = await startNodeUrl();
  procs.push(...Object.values(upstreams));
  for (const [name, up] of Object.entries(upstreams)) {
    const opts = { stepupPort: stepup.srv.port, appPort: up.port };
    gateways[`nginx/${name}`] = await startNginxGateway(opts);
    gateways[`caddy/${name}`] = await startCaddyGateway(opts);
  }
  procs.push(...Object.values(gateways));
});

after(async () => {
  for (const p of procs.reverse()) await p.stop();
  await stepup?.srv.stop();
});

const GATEWAYS = ['nginx', 'caddy'];
const UPSTREAMS = ['express', 'nginx-static', 'python', 'node-url'];

for (const up of UPSTREAMS) {
  test(`${up} directly (no gateway): serves the protected resources, and which attacks it resolves to them`, async (t) => {
    const port = upstreams[up].port;
    const r = await rawRequest(port, { target: '/admin/users' });
    assert.ok(servedProtected(r, 'GET'), `${up} serves /admin/users: ${describeAnswer(r)}`);
    const live = [];
    for (const a of ATTACKS.attacks) {
      if (servedProtected(await sendAttack(port, a), a.method)) live.push(a.id);
    }
    // Not an assertion about stepup: this lists the attacks that would be
    // bypasses if a gateway let them through to this upstream.
    t.diagnostic(`${up} serves a protected resource for ${live.length} of ${ATTACKS.attacks.length} attack targets: ${live.join(', ')}`);
    assert.ok(live.length > 0, 'the list holds attacks that matter for this upstream');
  });
}

for (const gw of GATEWAYS) {
  describe(`${gw} (examples/gateways/${gw === 'nginx' ? 'nginx.conf' : 'Caddyfile'})`, () => {
    for (const up of UPSTREAMS) {
      const port = () => gateways[`${gw}/${up}`].port;

      test(`${up}: controls (aal2 gets the protected resources, aal1 the public and signed-in areas, not /admin)`, async () => {
        const aal2 = [sessionCookie(stepup.aal2)];
        const aal1 = [sessionCookie(stepup.aal1)];
        for (const [method, target] of [['GET', '/admin/users'], ['GET', '/transfer'], ['HEAD', '/transfer']]) {
          const r = await rawRequest(port(), { method, target, headers: aal2 });
          assert.ok(servedProtected(r, method), `aal2 ${method} ${target} is served: ${describeAnswer(r)}`);
        }
        let r = await rawRequest(port(), { target: '/public/info', headers: aal1 });
        assert.equal(r.status, 200, describeAnswer(r));
        assert.match(r.body, /PUBLIC-OK/);
        r = await rawRequest(port(), { target: '/x/info', headers: aal1 });
        assert.equal(r.status, 200, describeAnswer(r));
        assert.match(r.body, /SIGNED-IN-OK/);
        for (const target of ['/admin/users', '/admin', '/transfer']) {
          r = await rawRequest(port(), { target, headers: aal1 });
          assert.ok(!servedProtected(r, 'GET'), `aal1 GET ${target}: ${describeAnswer(r)}`);
          assert.ok([302, 303, 401].includes(r.status), `aal1 GET ${target} is sent to step up: ${describeAnswer(r)}`);
        }
      });

      test(`${up}: no attack in attacks.json reaches a protected resource with an aal1 session`, async () => {
        const bypasses = [];
        const statuses = {};
        for (const a of ATTACKS.attacks) {
          const r = await sendAttack(port(), a, [sessionCookie(stepup.aal1)]);
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          if (servedProtected(r, a.method)) bypasses.push(`${a.id} (${a.method} ${JSON.stringify(a.target)}): ${describeAnswer(r)}`);
        }
        assert.deepEqual(bypasses, [], `bypasses through ${gw} to ${up} (answers by status: ${JSON.stringify(statuses)})`);
      });

      test(`${up}: the app gets no forged, placeholder or credential headers`, async () => {
        // Signed out, on a public route (stepup's allow has no identity),
        // with forged identity headers and a bearer token.
        const forged = [['X-Stepup-Subject', 'mallory'], ['X-Stepup-Acr', 'aal2'], ['X-Stepup-Amr', 'pwd,otp'], ['X-Stepup-Session', 'forged']];
        let r = await rawRequest(port(), { target: '/public/info', headers: [...forged, ['Cookie', 'theme=dark']] });
        assert.equal(r.status, 200, describeAnswer(r));
        assert.match(r.body, /PUBLIC-OK/);
        for (const h of ['Subject', 'Acr', 'Amr', 'Session']) {
          assert.equal(headerOf(r, `X-Zoo-Saw-${h}`), undefined, `public route: the app got X-Stepup-${h}: ${describeAnswer(r)}`);
        }
        // Signed in at aal1 on a signed-in route, with the same forgeries.
        r = await rawRequest(port(), { target: '/x/info', headers: [...forged, sessionCookie(stepup.aal1)] });
        assert.equal(r.status, 200, describeAnswer(r));
        assert.equal(headerOf(r, 'X-Zoo-Saw-Subject'), 'alice', describeAnswer(r));
        assert.equal(headerOf(r, 'X-Zoo-Saw-Acr'), 'aal1', describeAnswer(r));
        assert.equal(headerOf(r, 'X-Zoo-Saw-Cookie'), undefined, `the session cookie reached the app: ${describeAnswer(r)}`);
        assert.notEqual(headerOf(r, 'X-Zoo-Saw-Session'), 'forged', describeAnswer(r));
        // A bearer token is a credential too.
        r = await rawRequest(port(), { target: '/x/info', headers: [['Authorization', `Bearer ${stepup.aal1Token}`]] });
        assert.equal(r.status, 200, describeAnswer(r));
        assert.equal(headerOf(r, 'X-Zoo-Saw-Subject'), 'alice', describeAnswer(r));
        assert.equal(headerOf(r, 'X-Zoo-Saw-Authorization'), undefined, `the bearer token reached the app: ${describeAnswer(r)}`);
        for (const [k, v] of Object.entries(r.headers)) {
          if (k.startsWith('x-zoo-saw-')) assert.doesNotMatch(v.join(), /%7B|\{/, `placeholder text in ${k}`);
        }
      });
    }
  });
}
