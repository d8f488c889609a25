// Demo bank: a tiny Node.js app (no dependencies) that sits behind nginx and
// stepup. It never checks passwords or codes itself: nginx asks stepup about
// every request (auth_request) and forwards the answer's identity headers
// (X-Stepup-Subject, X-Stepup-Acr, X-Stepup-Amr). The app trusts those headers
// only because it listens on 127.0.0.1 and nginx overwrites them on every
// request; reached without them it refuses to serve anything.
//
//   node app.mjs            listens on 127.0.0.1:$BANK_APP_PORT (default 8082)
//
// Pages: /accounts (aal1), /transfer form + POST (aal2, fresh), /admin (aal2,
// fresher), /spa (single-page demo using stepup.js), JSON under /api/bank/.
// State (balances, transfers) lives in memory and is lost on restart.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const PORT = Number(process.env.BANK_APP_PORT || 8082);
const HOST = process.env.BANK_APP_HOST || '127.0.0.1';
const MAX_BODY = 8 * 1024;

// ------------------------------------------------------------------ state

const ledgers = new Map();   // subject -> { checking, savings }
const transfers = [];        // every transfer, newest last (for /admin)
let nextTransferId = 1;

function ledgerOf(subject) {
  let l = ledgers.get(subject);
  if (!l) {
    // Every customer starts with the same demo money, in cents.
    l = { checking: 250000, savings: 1000000 };
    ledgers.set(subject, l);
  }
  return l;
}

function money(cents) {
  return `€${(cents / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

// Validates a transfer request and books it. Returns {transfer} or {error}.
function book(subject, acr, payee, amountText) {
  payee = String(payee ?? '').trim();
  amountText = String(amountText ?? '').trim();
  if (!payee || payee.length > 64 || /[\u0000-\u001f\u007f]/.test(payee)) {
    return { error: 'Enter the payee name (at most 64 characters).' };
  }
  if (!/^\d{1,7}(\.\d{1,2})?$/.test(amountText)) {
    return { error: 'Enter an amount such as 25 or 25.50.' };
  }
  const cents = Math.round(Number(amountText) * 100);
  const ledger = ledgerOf(subject);
  if (cents <= 0) return { error: 'The amount must be more than zero.' };
  if (cents > ledger.checking) return { error: `The checking account holds only ${money(ledger.checking)}.` };
  ledger.checking -= cents;
  const t = {
    id: `T${String(nextTransferId++).padStart(4, '0')}`,
    subject, payee, cents, acr, at: Math.floor(Date.now() / 1000),
  };
  transfers.push(t);
  return { transfer: t, balance: ledger.checking };
}

// ------------------------------------------------------------------ HTML

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function layout(who, title, body, { scripts = [] } = {}) {
  const nav = [
    ['/accounts', 'Accounts'], ['/transfer', 'New payee transfer'], ['/admin', 'Admin'],
    ['/spa', 'Single-page demo'], ['/account', 'Security settings'],
  ].map(([href, label]) => `<a href="${href}">${esc(label)}</a>`).join('\n      ');
  const tags = scripts.map((s) => `<script src="${esc(s)}" defer></script>`).join('\n  ');
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${esc(title)} · Demo Bank</title>
  <link rel="stylesheet" href="/bank-assets/bank.css">
  ${tags}
</head>
<body>
  <header>
    <p class="brand">Demo Bank</p>
    <nav aria-label="Bank">
      ${nav}
    </nav>
    <p class="identity" id="identity">Signed in as <strong id="subject">${esc(who.subject)}</strong>
      · level <strong id="acr">${esc(who.acr || 'none')}</strong>
      · methods <strong id="amr">${esc(who.amr || 'none')}</strong></p>
  </header>
  <main>
    <h1>${esc(title)}</h1>
${body}
  </main>
</body>
</html>
`;
}

function accountsPage(who) {
  const l = ledgerOf(who.subject);
  const mine = transfers.filter((t) => t.subject === who.subject).slice(-5).reverse();
  const recent = mine.length
    ? `<ul id="recent-transfers">${mine.map((t) =>
      `<li>${esc(t.id)}: ${esc(money(t.cents))} to ${esc(t.payee)}</li>`).join('')}</ul>`
    : '<p id="recent-transfers">No transfers yet.</p>';
  return layout(who, 'Your accounts', `
    <table id="accounts-table">
      <caption>Balances</caption>
      <thead><tr><th scope="col">Account</th><th scope="col">Balance</th></tr></thead>
      <tbody>
        <tr><td>Checking</td><td id="balance-checking">${esc(money(l.checking))}</td></tr>
        <tr><td>Savings</td><td id="balance-savings">${esc(money(l.savings))}</td></tr>
      </tbody>
    </table>
    <h2>Recent transfers</h2>
    ${recent}
    <p><a href="/transfer" id="start-transfer">Send money to a new payee</a></p>`);
}

function transferPage(who, { error = '', payee = '', amount = '' } = {}) {
  return layout(who, 'Transfer to a new payee', `
    <p>This page needs a recent second factor: nginx asked stepup, and stepup said
      your level <strong>${esc(who.acr)}</strong> is fresh enough.</p>
    <form id="transfer-form" method="post" action="/transfer">
      <p id="transfer-error" class="error" role="alert">${esc(error)}</p>
      <label for="payee">Payee name</label>
      <input id="payee" name="payee" required maxlength="64" autocomplete="off" value="${esc(payee)}">
      <label for="amount">Amount (€)</label>
      <input id="amount" name="amount" required inputmode="decimal" pattern="[0-9]+([.][0-9]{1,2})?" value="${esc(amount)}">
      <button id="transfer-submit" type="submit">Send</button>
    </form>`);
}

function transferDonePage(who, t, balance) {
  return layout(who, 'Transfer sent', `
    <p id="transfer-result" role="status">Transfer ${esc(t.id)} sent: ${esc(money(t.cents))}
      to ${esc(t.payee)}. Checking balance: ${esc(money(balance))}.</p>
    <p>Approved at level <strong>${esc(t.acr)}</strong>.</p>
    <p><a href="/accounts">Back to your accounts</a> · <a href="/transfer" id="another-transfer">Another transfer</a></p>`);
}

function adminPage(who) {
  const rows = transfers.slice().reverse().map((t) => `<tr><td>${esc(t.id)}</td><td>${esc(t.subject)}</td>
        <td>${esc(t.payee)}</td><td>${esc(money(t.cents))}</td><td>${esc(t.acr)}</td></tr>`).join('\n');
  return layout(who, 'Admin', `
    <p>The admin area needs a second factor reached within the last few minutes.</p>
    <table id="admin-transfers">
      <caption>All transfers (${transfers.length})</caption>
      <thead><tr><th scope="col">Id</th><th scope="col">Customer</th><th scope="col">Payee</th>
        <th scope="col">Amount</th><th scope="col">Level</th></tr></thead>
      <tbody>${rows}</tbody>
    </table>`);
}

function spaPage(who) {
  return layout(who, 'Single-page demo', `
    <p>This page stays loaded: the button calls <code>POST /api/bank/transfer</code> with
      <code>stepup.fetch</code>. When stepup answers that a second factor is needed, a
      dialog asks for it and the request is sent again.</p>
    <form id="spa-form">
      <label for="spa-payee">Payee name</label>
      <input id="spa-payee" name="payee" required maxlength="64" autocomplete="off" value="Carol's Bakery">
      <label for="spa-amount">Amount (€)</label>
      <input id="spa-amount" name="amount" required inputmode="decimal" value="12.50">
      <button id="spa-transfer" type="submit">Send with stepup.fetch</button>
    </form>
    <p id="spa-result" role="status" aria-live="polite"></p>`,
  { scripts: ['/stepup.js', '/bank-assets/spa.js'] });
}

// ------------------------------------------------------------------ HTTP

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  // Not no-referrer: with that policy Chromium sends `Origin: null` on form
  // posts, and the same-origin check below could not tell them apart.
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

function send(res, status, type, body, extra = {}) {
  const buf = Buffer.from(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': buf.length, ...extra,
  });
  res.end(res.req.method === 'HEAD' ? undefined : buf);
}
const html = (res, status, body) => send(res, status, 'text/html; charset=utf-8', body);
const json = (res, status, obj) => send(res, status, 'application/json', JSON.stringify(obj));

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) { reject(new Error('too large')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// A state-changing request must come from a page of this origin. The stepup
// cookie is SameSite=Lax (so a cross-site POST arrives without a session and
// nginx already refuses it); this is the second fence. Browsers send Origin on
// every POST; "null" (opaque origins, sandboxed frames) and a missing Origin
// are judged by Sec-Fetch-Site when present. A client that sends neither is
// not a browser, so no other site can be acting through it.
function sameOrigin(req) {
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  if (origin && origin !== 'null') {
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }
  if (site) return site === 'same-origin';
  return origin === undefined;
}

const ASSETS = {
  '/bank-assets/bank.css': ['bank.css', 'text/css; charset=utf-8'],
  '/bank-assets/spa.js': ['spa.js', 'text/javascript; charset=utf-8'],
};

async function handle(req, res) {
  const url = new URL(req.url, 'http://bank.invalid');
  const p = url.pathname;
  const who = {
    subject: req.headers['x-stepup-subject'] || '',
    acr: req.headers['x-stepup-acr'] || '',
    amr: req.headers['x-stepup-amr'] || '',
  };
  if (p === '/healthz') return json(res, 200, { status: 'ok' });

  // Without the identity headers the request did not come through nginx and
  // stepup: refuse rather than guess.
  if (!who.subject) {
    return send(res, 401, 'text/plain; charset=utf-8',
      'No X-Stepup-Subject: this app only serves requests that passed nginx auth_request.\n');
  }
  const get = req.method === 'GET' || req.method === 'HEAD';

  if (ASSETS[p] && get) {
    const [file, type] = ASSETS[p];
    return send(res, 200, type, fs.readFileSync(path.join(here, 'public', file)),
      { 'Cache-Control': 'no-cache' });
  }
  if ((p === '/' || p === '/accounts') && get) {
    if (p === '/') return send(res, 302, 'text/plain', '', { Location: '/accounts' });
    return html(res, 200, accountsPage(who));
  }
  if (p === '/transfer' && get) return html(res, 200, transferPage(who));
  if (p === '/transfer' && req.method === 'POST') {
    if (!sameOrigin(req)) return html(res, 403, layout(who, 'Refused', '<p>Cross-site request refused.</p>'));
    let form;
    try {
      form = new URLSearchParams(await readBody(req));
    } catch {
      return html(res, 413, layout(who, 'Too large', '<p>The form was too large.</p>'));
    }
    const r = book(who.subject, who.acr, form.get('payee'), form.get('amount'));
    if (r.error) {
      return html(res, 400, transferPage(who, { error: r.error, payee: form.get('payee') ?? '', amount: form.get('amount') ?? '' }));
    }
    return html(res, 200, transferDonePage(who, r.transfer, r.balance));
  }
  if (p === '/admin' && get) return html(res, 200, adminPage(who));
  if (p === '/spa' && get) return html(res, 200, spaPage(who));

  if (p === '/api/bank/accounts' && get) {
    const l = ledgerOf(who.subject);
    return json(res, 200, { subject: who.subject, acr: who.acr, checking: l.checking, savings: l.savings });
  }
  if (p === '/api/bank/transfer' && req.method === 'POST') {
    if (!sameOrigin(req)) return json(res, 403, { error: 'cross_origin_request' });
    let body;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return json(res, 400, { error: 'invalid_request', error_description: 'Send a JSON object' });
    }
    const r = book(who.subject, who.acr, body?.payee, body?.amount);
    if (r.error) return json(res, 400, { error: 'invalid_request', error_description: r.error });
    return json(res, 200, {
      id: r.transfer.id, payee: r.transfer.payee, amount: r.transfer.cents / 100,
      balance: r.balance / 100, subject: who.subject, acr: who.acr, amr: who.amr,
    });
  }
  return html(res, 404, layout(who, 'Not found', '<p>There is no such page.</p>'));
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
  });
});
server.keepAliveTimeout = 65000;  // longer than nginx's upstream keepalive_timeout
server.listen(PORT, HOST, () => {
  console.log(`bank app listening on http://${HOST}:${PORT}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => server.close(() => process.exit(0)).closeAllConnections());
}
