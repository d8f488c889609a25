// Attack catalogue, redirects: every return_to that could send the user to
// another origin after a step-up is refused at POST /api/v1/step-up with
// 400 invalid_request. The server's public origin is http://localhost:PORT
// and https://allowed.example is the one configured extra origin.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../integration/lib/server.mjs';
import { addTotp, Browser, nextCode, stepUpConfig } from '../integration/lib/stepup.mjs';
import { assertContractError } from './lib/attack.mjs';

const kAllowed = 'https://allowed.example';

let srv;
let b;        // alice's signed-in browser
let secret;   // alice's TOTP secret
before(async () => {
  srv = await startServer(stepUpConfig, { users: ['alice'] });
  ({ secret } = await addTotp(srv, 'alice'));
  b = await Browser.login(srv, 'alice');
});
after(async () => { await srv?.stop(); });

// Each row: a category and the values in it. Every value must be refused.
const kRefused = {
  'other origins': ['https://evil.com/', 'http://evil.com', 'https://evil.com:443/path', 'ftp://evil.com/',
                    'https://allowed.example.evil.com/', 'https://evil.com/https://allowed.example'],
  'scheme-relative //evil': ['//evil.com', '///evil.com', '////evil.com/', '//evil.com/%2F..', '//allowed.example@evil.com'],
  'backslash /\\evil': ['/\\evil.com', '\\\\evil.com', '\\/evil.com', '/\\/evil.com', '\\evil.com'],
  'javascript: and other active schemes': ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', ' javascript:alert(1)',
                                           'java\tscript:alert(1)', 'javascript://%0aalert(1)', 'vbscript:msgbox(1)'],
  'data: URLs': ['data:text/html,<script>alert(1)</script>', 'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='],
  'scheme without slashes (http:evil.com)': ['http:evil.com', 'https:evil.com', 'https:/evil.com', 'http:\\\\evil.com'],
  'percent-encoded slashes and backslashes': ['%2F%2Fevil.com', '/%2F%2Fevil.com', '/%2Fevil.com', '/%5Cevil.com',
                                              '/%5C%5Cevil.com', '%5C%5Cevil.com', '/%09/evil.com'],
  'double-encoded variants': ['%252F%252Fevil.com', '/%252F%252Fevil.com', '/%255Cevil.com', '/%252Fevil.com',
                              '%25252F%25252Fevil.com'],
  'userinfo tricks': ['https://allowed.example@evil.com', 'https://allowed.example@evil.com/', 'https://allowed.example:443@evil.com/',
                      'https://user@allowed.example', 'https://user:pass@allowed.example/', 'https://allowed.example%40evil.com/',
                      'https://evil.com\\@allowed.example/'],
  'allowed host, wrong scheme or port': ['http://allowed.example/', 'https://allowed.example:8443/', 'wss://allowed.example/'],
  'tab, newline and other controls': ['/\t/evil.com', '/\n/evil.com', '/\r\n/evil.com', '\t//evil.com', ' //evil.com',
                                      '//evil.com\n', '/\u0000/evil.com', '/x\r\nLocation: https://evil.com'],
};

for (const [category, values] of Object.entries(kRefused)) {
  test(`return_to ${category} -> 400 invalid_request`, async () => {
    const accepted = [];
    for (const returnTo of values) {
      const r = await b.requestStepUp({ return_to: returnTo });
      if (r.status !== 400 || r.json?.error !== 'invalid_request') accepted.push(`${JSON.stringify(returnTo)} -> ${r.status} ${r.text}`);
      else assertContractError(r, 400, 'invalid_request', JSON.stringify(returnTo));
    }
    assert.deepEqual(accepted, [], 'values that were not refused');
  });
}

test('control: a relative path, our own origin and the allowed origin are accepted and echoed after verify', async () => {
  for (const ok of ['/transfer?x=1', `${srv.publicUrl}/account`, `${kAllowed}/after?y=2`]) {
    const r = await b.requestStepUp({ return_to: ok });
    assert.equal(r.status, 200, `${ok}: ${r.text}`);
  }
  const c = await b.requestStepUp({ return_to: '/transfer?x=1' });
  const v = await b.verify(c.json.challenge_id, { method: 'totp', code: await nextCode(secret) });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.return_to, '/transfer?x=1', 'returned verbatim');
});

test('a refused return_to does not create a challenge (nothing to verify later)', async () => {
  const r = await b.requestStepUp({ return_to: '//evil.com' });
  assertContractError(r, 400, 'invalid_request', '//evil.com');
  assert.equal(r.json?.challenge_id, undefined, r.text);
});

test('forward-auth login redirects stay on the public origin whatever X-Forwarded-Host says', async () => {
  const r = await fetch(`${srv.url}/api/v1/authz/forward`, {
    redirect: 'manual',
    headers: {
      accept: 'text/html', 'x-forwarded-method': 'GET', 'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.com', 'x-forwarded-uri': '/dashboard',
    },
  });
  await r.arrayBuffer();
  assert.equal(r.status, 302);
  const loc = new URL(r.headers.get('location'));
  assert.equal(loc.origin, srv.origin, `the redirect goes to our own login page: ${loc}`);
});
