// stepup's `upstream:` setting against the upstream it describes, with the
// same list, gateway (examples/gateways/nginx.conf) and express app as
// zoo.test.mjs:
//   - `{path_case: insensitive, trailing_slash: ignored}` is the truth for
//     express's defaults: nothing gets through, and an aal2 session is served;
//   - `{path_case: sensitive, trailing_slash: significant}` is a lie about
//     express: /ADMIN/users and /transfer/ then get through. That this is
//     seen shows the zoo's assertions catch a matcher weaker than its upstream.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { rawRequest } from './lib/raw.mjs';
import {
  ATTACKS, describeAnswer, sendAttack, servedProtected, sessionCookie, startExpress,
  startNginxGateway, startZooStepup,
} from './lib/zoo.mjs';

let app;
before(async () => { app = await startExpress(); });
after(async () => { await app?.stop(); });

async function bypassesThrough(port, cookie) {
  const out = [];
  for (const a of ATTACKS.attacks) {
    const r = await sendAttack(port, a, [sessionCookie(cookie)]);
    if (servedProtected(r, a.method)) out.push(a.id);
  }
  return out;
}

for (const [label, upstream, expectBypass] of [
  ['express described truly (insensitive, trailing slash ignored)', { path_case: 'insensitive', trailing_slash: 'ignored' }, false],
  ['express described falsely (sensitive, trailing slash significant)', { path_case: 'sensitive', trailing_slash: 'significant' }, true],
]) {
  describe(label, () => {
    let stepup;
    let gw;
    before(async () => {
      stepup = await startZooStepup({ upstream });
      gw = await startNginxGateway({ stepupPort: stepup.srv.port, appPort: app.port });
    });
    after(async () => { await gw?.stop(); await stepup?.srv.stop(); });

    test('aal2 is served /ADMIN/users and /transfer/, aal1 the public area', async () => {
      for (const target of ['/ADMIN/users', '/transfer/', '/admin/users']) {
        const r = await rawRequest(gw.port, { target, headers: [sessionCookie(stepup.aal2)] });
        assert.ok(servedProtected(r, 'GET'), `aal2 GET ${target}: ${describeAnswer(r)}`);
      }
      const r = await rawRequest(gw.port, { target: '/PUBLIC/info', headers: [sessionCookie(stepup.aal1)] });
      assert.equal(r.status, 200, describeAnswer(r));
    });

    test(expectBypass ? 'the false description lets case and trailing-slash variants through (the zoo sees it)'
      : 'no attack reaches a protected resource with an aal1 session', async () => {
      const got = await bypassesThrough(gw.port, stepup.aal1);
      if (expectBypass) {
        for (const id of ['upper', 'trailing-slash']) assert.ok(got.includes(id), `${id} expected among ${got.join(', ')}`);
      } else {
        assert.deepEqual(got, []);
      }
    });
  });
}
