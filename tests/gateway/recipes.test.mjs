// The recipes in examples/gateways/ hand stepup the request the upstream
// will get. stepup is replaced here by a recording stand-in that allows
// everything (without identity headers, like a `public: true` rule), and the
// upstream by one that records the request target it received. For every
// target in attacks.json that reaches the upstream, the URI the gateway sent
// for the decision (nginx: X-Original-URI; Caddy: X-Forwarded-Uri) must be
// byte for byte the target the upstream got, the method likewise, and the
// upstream must get no X-Stepup-* header (Caddy 2.6.2 copies literal
// "{http.reverse_proxy.header.X-Stepup-*}" placeholders unless the recipe
// clears them) and no Cookie or Authorization.
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';

import fs from 'node:fs';
import path from 'node:path';

import { ATTACKS, freePort, REPO, sendAttack, startCaddyGateway, startNginxGateway, tempDir } from './lib/zoo.mjs';

function recorder(handler) {
  const seen = [];
  const server = http.createServer({ insecureHTTPParser: true }, (req, res) => {
    seen.push({ url: req.url, method: req.method, headers: req.headers, raw: req.rawHeaders });
    handler(req, res);
  });
  return { seen, server };
}

let auth;
let app;
const gw = {};

before(async () => {
  auth = recorder((req, res) => { res.writeHead(200, { 'Content-Length': 0 }); res.end(); });
  app = recorder((req, res) => {
    if (req.method === 'HEAD') res.end(); else res.end('app\n');
  });
  for (const s of [auth, app]) {
    s.port = await freePort();
    s.server.listen(s.port, '127.0.0.1');
    await once(s.server, 'listening');
  }
  gw.nginx = await startNginxGateway({ stepupPort: auth.port, appPort: app.port });
  gw.caddy = await startCaddyGateway({ stepupPort: auth.port, appPort: app.port });
});

after(async () => {
  for (const g of Object.values(gw)) await g.stop();
  for (const s of [auth, app]) s?.server.close();
});

const uriHeader = { nginx: 'x-original-uri', caddy: 'x-forwarded-uri' };
const methodHeader = { nginx: 'x-original-method', caddy: 'x-forwarded-method' };
const factHeaders = {
  nginx: { 'x-original-uri': 1, 'x-original-method': 1, 'x-forwarded-uri': 0, 'x-forwarded-method': 0, 'x-forwarded-host': 0 },
  caddy: { 'x-forwarded-uri': 1, 'x-forwarded-method': 1, 'x-forwarded-host': 1, 'x-forwarded-proto': 1 },
};
const forbiddenUpstream = /^x-stepup-|^cookie$|^authorization$/;

// Sends every attack through the gateway on `port`; returns the differences
// between what stepup was asked and what the upstream got.
async function compare(name, port) {
  const mismatches = [];
  let reached = 0;
  for (const a of ATTACKS.attacks) {
    auth.seen.length = 0;
    app.seen.length = 0;
    const r = await sendAttack(port, { ...a, headers: [...(a.headers ?? []), ['Cookie', 'stepup_session=abc']] });
    if (app.seen.length === 0) continue;  // refused before the upstream
    reached++;
    if (auth.seen.length !== 1) {
      mismatches.push(`${a.id}: ${auth.seen.length} decisions for one request (${r.status})`);
      continue;
    }
    const asked = auth.seen[0];
    const got = app.seen[0];
    // Each fact exactly once (stepup refuses repeats), whatever the client sent.
    const count = (h) => asked.raw.filter((v, i) => i % 2 === 0 && v.toLowerCase() === h).length;
    for (const [h, want] of Object.entries(factHeaders[name])) {
      if (count(h) !== want) mismatches.push(`${a.id}: ${count(h)} ${h} headers reached stepup (want ${want})`);
    }
    if (name === 'caddy' && a.target.startsWith('/') && asked.headers['x-forwarded-host'] !== 'localhost') {
      mismatches.push(`${a.id}: stepup was told X-Forwarded-Host ${asked.headers['x-forwarded-host']}`);
    }
    if (asked.headers[uriHeader[name]] !== got.url) {
      mismatches.push(`${a.id}: stepup judged ${JSON.stringify(asked.headers[uriHeader[name]])}, upstream got ${JSON.stringify(got.url)}`);
    }
    if (asked.headers[methodHeader[name]] !== got.method) {
      mismatches.push(`${a.id}: stepup judged method ${asked.headers[methodHeader[name]]}, upstream got ${got.method}`);
    }
    for (const h of Object.keys(got.headers)) {
      if (forbiddenUpstream.test(h)) mismatches.push(`${a.id}: upstream got ${h}: ${got.headers[h]}`);
    }
  }
  return { mismatches, reached };
}

for (const name of ['nginx', 'caddy']) {
  describe(`${name} recipe`, () => {
    test('stepup is asked about exactly the method and URI the upstream gets; no credential or X-Stepup-* reaches the upstream', async (t) => {
      const { mismatches, reached } = await compare(name, gw[name].port);
      t.diagnostic(`${reached} of ${ATTACKS.attacks.length} targets reached the upstream (the gateway refused the rest itself)`);
      assert.ok(reached >= ATTACKS.attacks.length / 2, 'most targets reach the upstream, so the comparison means something');
      assert.deepEqual(mismatches, []);
    });

    test('a public allow with a cookie, a bearer token and forged identity reaches the app with none of them', async () => {
      app.seen.length = 0;
      await sendAttack(gw[name].port, {
        method: 'GET', target: '/public/info',
        headers: [['Cookie', 'stepup_session=abc'], ['Authorization', 'Bearer abc'], ['X-Stepup-Subject', 'mallory'], ['X-Stepup-Acr', 'aal2']],
      });
      assert.equal(app.seen.length, 1);
      const h = app.seen[0].headers;
      assert.deepEqual(Object.keys(h).filter((k) => forbiddenUpstream.test(k)), [], JSON.stringify(h));
    });
  });
}

// The comparison can fail: recipes broken the way the docs warn about are caught.
describe('broken recipes are caught', () => {
  test('nginx with `proxy_pass http://app/;` (the upstream gets the normalised $uri)', async () => {
    const dir = tempDir('broken-nginx');
    const recipe = path.join(dir, 'nginx.conf');
    const text = fs.readFileSync(path.join(REPO, 'examples/gateways/nginx.conf'), 'utf8');
    const broken = text.replace(/^(\s*)proxy_pass http:\/\/app;$/m, '$1proxy_pass http://app/;');
    assert.notEqual(broken, text);
    fs.writeFileSync(recipe, broken);
    const g = await startNginxGateway({ stepupPort: auth.port, appPort: app.port, recipe });
    try {
      const { mismatches, reached } = await compare('nginx', g.port);
      assert.ok(mismatches.some((m) => m.startsWith('dotdot:')), `${reached} reached; ${mismatches.join('\n')}`);
    } finally { await g.stop(); }
  });

  test('Caddy 2.6.2 without the placeholder clearing passes literal {http.reverse_proxy.header.*} upstream', async () => {
    const dir = tempDir('broken-caddy');
    const recipe = path.join(dir, 'Caddyfile');
    const text = fs.readFileSync(path.join(REPO, 'examples/gateways/Caddyfile'), 'utf8');
    const cut = text.split('\n').filter((l) => !/@unset_/.test(l)).join('\n');
    assert.notEqual(cut, text);
    fs.writeFileSync(recipe, cut);
    const g = await startCaddyGateway({ stepupPort: auth.port, appPort: app.port, recipe });
    try {
      app.seen.length = 0;
      await sendAttack(g.port, { method: 'GET', target: '/public/info' });
      assert.match(app.seen[0]?.headers['x-stepup-subject'] ?? '', /^\{http\.reverse_proxy\.header\.X-Stepup-Subject\}$/);
    } finally { await g.stop(); }
  });
});
