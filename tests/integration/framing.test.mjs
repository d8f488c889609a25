// Strict HTTP/1.1 framing (RFC 9112) against a real `stepup serve`, over a raw
// socket: a Transfer-Encoding other than exactly "chunked", obs-fold lines, a
// missing or repeated Host, and conflicting Content-Length values get one 400
// invalid_request with Connection: close, and the connection closes.
//
// The smuggling check: every case carries a second, complete request in the
// bytes a lenient server would read as "the next request". It targets a
// path of its own; it must never be answered (one status line in all the
// bytes the server sent), which is what answered before the fix for the
// identity/gzip/"chunked, chunked"/gzip+Content-Length cases.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer } from './lib/server.mjs';

let srv;
before(async () => { srv = await startServer({}, { users: [] }); });
after(async () => { await srv?.stop(); });

// Writes `raw`, collects every byte until the server closes (10 s at most).
function exchange(raw) {
  return new Promise((resolve) => {
    const sock = net.connect(srv.port, '127.0.0.1');
    const chunks = [];
    let closedByServer = false;
    const timer = setTimeout(() => sock.destroy(), 10000);
    sock.on('data', (d) => chunks.push(d));
    sock.on('end', () => { closedByServer = true; });
    sock.on('error', () => { closedByServer = true; });  // a reset after the answer
    sock.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const statusLines = text.match(/HTTP\/1\.[01] \d{3} [^\r\n]*/g) ?? [];
      resolve({ text, statusLines, closedByServer });
    });
    sock.write(raw);
  });
}

const host = () => `127.0.0.1:${srv.port}`;
const smuggled = (name) => `GET /smuggled-${name} HTTP/1.1\r\nHost: ${host()}\r\nConnection: close\r\n\r\n`;

// name -> [request line and fields (no final CRLF), what follows the header]
const cases = (name) => {
  const s = smuggled(name);
  const post = `POST /api/v1/login/password HTTP/1.1\r\nHost: ${host()}\r\n`;
  const lastChunk = '0\r\n\r\n';
  return {
    te_identity: [post + 'Transfer-Encoding: identity\r\n', s],
    te_gzip: [post + 'Transfer-Encoding: gzip\r\n', s],
    te_gzip_chunked: [post + 'Transfer-Encoding: gzip, chunked\r\n', lastChunk + s],
    te_chunked_chunked: [post + 'Transfer-Encoding: chunked, chunked\r\n', s],
    te_two_lines: [post + 'Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n', lastChunk + s],
    te_two_chunked_lines: [post + 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', lastChunk + s],
    te_and_content_length: [post + 'Transfer-Encoding: gzip\r\nContent-Length: 0\r\n', s],
    chunked_and_content_length: [post + 'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', lastChunk + s],
    te_in_http10: ['POST /api/v1/login/password HTTP/1.0\r\nTransfer-Encoding: chunked\r\n', lastChunk + s],
    two_content_lengths: [post + `Content-Length: 0\r\nContent-Length: ${Buffer.byteLength(s)}\r\n`, s],
    obs_fold: [`GET /healthz HTTP/1.1\r\nHost: ${host()}\r\nX-Note: a\r\n b\r\n`, s],
    obs_fold_tab: [`GET /healthz HTTP/1.1\r\nX-Note: a\r\n\tb\r\nHost: ${host()}\r\n`, s],
    obs_fold_content_length: [`POST /healthz HTTP/1.1\r\nHost: ${host()}\r\nX-Note: a\r\n Content-Length: ${Buffer.byteLength(s)}\r\n`, s],
    no_host: ['GET /healthz HTTP/1.1\r\n', s],
    two_hosts: [`GET /healthz HTTP/1.1\r\nHost: ${host()}\r\nHost: evil.example\r\n`, s],
    host_with_path: ['GET /healthz HTTP/1.1\r\nHost: evil.example/x\r\n', s],
  };
};
// The cases' names (the table needs the port, known only once the server runs).
const names = ['te_identity', 'te_gzip', 'te_gzip_chunked', 'te_chunked_chunked', 'te_two_lines',
  'te_two_chunked_lines', 'te_and_content_length', 'chunked_and_content_length', 'te_in_http10',
  'two_content_lengths', 'obs_fold', 'obs_fold_tab', 'obs_fold_content_length', 'no_host',
  'two_hosts', 'host_with_path'];

test('control: a valid request followed by a second one gets two answers', async () => {
  // Shows that the counting below sees a second answer when there is one.
  const r = await exchange(`GET /healthz HTTP/1.1\r\nHost: ${host()}\r\n\r\n` + smuggled('control'));
  assert.equal(r.statusLines.length, 2, r.text);
  assert.match(r.statusLines[0], / 200 /);
  assert.match(r.statusLines[1], / 404 /);
});

for (const name of names) {
  test(`framing: ${name} gets 400 invalid_request, close, and the smuggled request is not answered`, async () => {
    const [head, rest] = cases(name)[name];
    assert.ok(head, `case ${name} is in the table`);
    const r = await exchange(head + '\r\n' + rest);
    assert.equal(r.statusLines.length, 1, `exactly one answer, got:\n${r.text}`);
    assert.match(r.statusLines[0], /^HTTP\/1\.1 400 /, r.text);
    assert.doesNotMatch(r.text, /smuggled/, 'nothing about the smuggled request');
    const split = r.text.indexOf('\r\n\r\n');
    const headers = r.text.slice(0, split);
    assert.match(headers, /\r\nConnection: close(\r\n|$)/i, headers);
    assert.match(headers, /\r\nContent-Type: application\/json(\r\n|$)/i, headers);
    const body = JSON.parse(r.text.slice(split + 4));
    assert.equal(body.error, 'invalid_request', r.text);
    assert.equal(typeof body.error_description, 'string');
    assert.ok(r.closedByServer, 'the server closed the connection');
  });
}

test('chunked bodies still work, in any letter case', async () => {
  const body = '{"username":"nobody","password":"wrong-password"}';
  const chunk = (s) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
  const r = await exchange(
    `POST /api/v1/login/password HTTP/1.1\r\nHost: ${host()}\r\nContent-Type: application/json\r\n` +
    'Transfer-Encoding: Chunked\r\nConnection: close\r\n\r\n' +
    chunk(body.slice(0, 10)) + chunk(body.slice(10)) + '0\r\n\r\n');
  assert.equal(r.statusLines.length, 1, r.text);
  assert.match(r.statusLines[0], / 401 /, r.text);  // parsed and judged: unknown user
  assert.match(r.text, /"invalid_credentials"/);
});
