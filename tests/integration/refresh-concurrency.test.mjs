// Concurrent refresh-token rotations: the store puts concurrent writes into
// one shared commit (group commit, docs/design.md). Whatever lands in the same
// commit, every rotation must behave as if it ran alone: each chain rotates,
// a token raced against itself wins exactly once, and /metrics counts the
// commits and the writes they carried.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { metricsToken, mustLogin, request, startServer } from './lib/server.mjs';

// /metrics needs a bearer token here (or its own listener); see metrics.test.mjs.
const metrics = metricsToken();

let srv;
before(async () => { srv = await startServer({ server: { metrics_token_file: metrics.file } }); });
after(async () => { await srv?.stop(); });

const refresh = (token) => request(srv, 'POST', '/api/v1/token/refresh', { json: { refresh_token: token } });

async function storeCounters() {
  const r = await request(srv, 'GET', '/metrics', { bearer: metrics.token });
  assert.equal(r.status, 200, r.text);
  const value = (name) => {
    const m = r.text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
    assert.ok(m, `${name} in /metrics`);
    return Number(m[1]);
  };
  return { commits: value('stepup_store_commits_total'), writes: value('stepup_store_writes_total') };
}

test('parallel rotations of many chains all succeed and every new token works', async () => {
  const chains = [];
  for (const user of ['alice', 'bob', 'carol', 'dave', 'erin']) {
    for (let i = 0; i < 4; i++) chains.push((await mustLogin(srv, user)).refresh_token);
  }
  const before = await storeCounters();
  const rounds = 5;
  for (let round = 0; round < rounds; round++) {
    const rs = await Promise.all(chains.map((t) => refresh(t)));
    rs.forEach((r, i) => {
      assert.equal(r.status, 200, `round ${round} chain ${i}: ${r.text}`);
      assert.notEqual(r.json.refresh_token, chains[i]);
      chains[i] = r.json.refresh_token;
    });
    // Each new access token names a live session.
    const s = await request(srv, 'GET', '/api/v1/session', { bearer: rs[0].json.access_token });
    assert.equal(s.status, 200, s.text);
  }
  const now = await storeCounters();
  const writes = now.writes - before.writes;
  const commits = now.commits - before.commits;
  assert.ok(writes >= chains.length * rounds, `one write per rotation at least (${writes})`);
  assert.ok(commits >= 1 && commits <= writes, `commits ${commits} for ${writes} writes`);
});

test('the same refresh token sent 8 times at once rotates exactly once', async () => {
  const l = await mustLogin(srv, 'alice');
  const rs = await Promise.all(Array.from({ length: 8 }, () => refresh(l.refresh_token)));
  const ok = rs.filter((r) => r.status === 200);
  assert.equal(ok.length, 1, rs.map((r) => `${r.status} ${r.json?.error ?? ''}`).join(', '));
  for (const r of rs.filter((x) => x.status !== 200)) {
    assert.equal(r.status, 401, r.text);
    assert.ok(['invalid_refresh_token', 'refresh_token_reused'].includes(r.json?.error), r.text);
  }
});
