// Upstream 4 of the zoo: a plain node:http app that routes on
// `new URL(req.url, base).pathname`, the way examples/bank/app.mjs does.
// WHATWG URL parsing resolves "." and ".." (also %2e forms), turns "\" into
// "/", and keeps empty segments (RFC 3986 dot removal without merging
// slashes: "/admin//../users" is "/admin/users"). Exact, case-sensitive
// routes; a trailing slash is a different path.
//
//   node node-url-app.mjs PORT
//
// Same markers and echo headers as the other upstreams.
import http from 'node:http';

const port = Number(process.argv[2]);
const SAW = ['x-stepup-subject', 'x-stepup-acr', 'x-stepup-amr', 'x-stepup-session', 'cookie', 'authorization'];
const PROTECTED = { '/admin': 'admin', '/admin/users': 'admin', '/transfer': 'transfer' };
const OTHER = { '/public/info': 'PUBLIC-OK node-url\n', '/x/info': 'SIGNED-IN-OK node-url\n', '/healthz': 'ok\n' };

http.createServer((req, res) => {
  let p;
  try { p = new URL(req.url, 'http://upstream.invalid').pathname; } catch { p = null; }
  const headers = { 'Content-Type': 'text/plain', 'X-Zoo-Target': encodeURI(req.url) };
  for (const h of SAW) {
    if (req.headers[h] !== undefined) headers[`X-Zoo-Saw-${h.replace(/^x-stepup-/, '')}`] = encodeURI(req.headers[h]);
  }
  const get = req.method === 'GET' || req.method === 'HEAD';
  let status = 404;
  let body = 'not found\n';
  if (PROTECTED[p] && (get || (p === '/transfer' && req.method === 'POST'))) {
    status = 200;
    headers['X-Zoo-Protected'] = PROTECTED[p];
    body = `PROTECTED-${PROTECTED[p].toUpperCase()} served by node-url for ${req.method} ${p}\n`;
  } else if (OTHER[p] && get) {
    status = 200;
    body = OTHER[p];
  }
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}).listen(port, '127.0.0.1');
