// Upstream 1 of the zoo: an express 4 app with express's defaults, i.e.
// case-insensitive routes and an optional trailing slash ("/ADMIN/users/" is
// "/admin/users"), HEAD served by GET handlers.
//
//   node express-app.mjs PORT
//
// Protected resources answer with the marker header X-Zoo-Protected and a
// body starting "PROTECTED-"; every answer echoes what the gateway handed on
// (see echoHeaders), so a test can see the identity headers, cookies and the
// request target that reached the app.
import express from 'express';

const port = Number(process.argv[2]);
const app = express();
app.disable('x-powered-by');

// X-Zoo-Target: the request target as received; X-Zoo-Saw-<name>: each
// identity or credential header that reached the app (absent when it did not).
const SAW = ['X-Stepup-Subject', 'X-Stepup-Acr', 'X-Stepup-Amr', 'X-Stepup-Session', 'Cookie', 'Authorization'];
app.use((req, res, next) => {
  res.set('X-Zoo-Target', encodeURI(req.originalUrl));
  for (const h of SAW) {
    const v = req.get(h);
    if (v !== undefined) res.set(`X-Zoo-Saw-${h.replace(/^X-Stepup-/, '')}`, encodeURI(v));
  }
  next();
});

const protectedPage = (what) => (req, res) => {
  res.set('X-Zoo-Protected', what);
  res.type('text/plain').send(`PROTECTED-${what.toUpperCase()} served by express for ${req.method} ${req.originalUrl}\n`);
};
app.get('/admin', protectedPage('admin'));
app.get('/admin/users', protectedPage('admin'));
app.get('/transfer', protectedPage('transfer'));
app.post('/transfer', protectedPage('transfer'));
app.get('/public/info', (req, res) => res.type('text/plain').send('PUBLIC-OK express\n'));
app.get('/x/info', (req, res) => res.type('text/plain').send('SIGNED-IN-OK express\n'));
app.get('/healthz', (req, res) => res.send('ok\n'));
app.use((req, res) => res.status(404).type('text/plain').send('not found\n'));

const server = app.listen(port, '127.0.0.1');
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { server.close(); process.exit(0); });
