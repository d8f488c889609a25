// Harness for the browser tests: the demo bank stack (stepup + bank app +
// nginx, started by examples/bank/run --background), Debian's Chromium driven
// by playwright-core, TOTP codes from oathtool, and screenshots.
//
// startBank() uses the stack named by $BANK_STATE (a state.json written by
// examples/bank/run; tests/browser/run starts one stack for all files) or, when
// unset, starts its own on free ports in a temp dir and stops it in stop().
// Every test creates its own users through the CLI (createUser), so tests do not
// share sessions, factors or TOTP replay state.
//
// One test file runs in one process; nothing here is shared between processes
// except the stack itself.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../../..');
export const SHOTS = path.join(REPO, 'test-output/browser');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

// ---------------------------------------------------------------- the stack

async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

function runScript(args, env, timeoutMs = 120000) {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(REPO, 'examples/bank/run'), args, {
      env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`examples/bank/run ${args.join(' ')} exited ${code}\n${out}`));
    });
  });
}

// Options: transferMaxAge, adminMaxAge (durations as in the config).
export async function startBank({ transferMaxAge = '4s', adminMaxAge = '6s' } = {}) {
  let owned = false;
  let statePath = process.env.BANK_STATE;
  let dataDir;
  if (!statePath) {
    owned = true;
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepup-bank-'));
    const env = {
      BANK_DATA_DIR: dataDir, BANK_FRESH: '1',
      BANK_PORT: String(await freePort()),
      BANK_STEPUP_PORT: String(await freePort()),
      BANK_APP_PORT: String(await freePort()),
      BANK_TRANSFER_MAX_AGE: transferMaxAge,
      BANK_ADMIN_MAX_AGE: adminMaxAge,
    };
    if (!process.env.STEPUP_BIN) env.STEPUP_BIN = path.join(REPO, 'build/stepup');
    await runScript(['--background'], env);
    statePath = path.join(dataDir, 'state.json');
    process.on('exit', () => {
      // Last resort if a test file crashed before stop(): the pids are ours.
      try {
        const st = JSON.parse(fs.readFileSync(statePath, 'utf8'));
        for (const pid of Object.values(st.pids)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      } catch { /* already stopped */ }
    });
  }
  const state = JSON.parse(fs.readFileSync(statePath, 'utf8'));
  const bank = {
    state,
    url: state.url,
    origin: new URL(state.url).origin,
    transferMaxAgeSeconds: parseDuration(state.max_age.transfer),
    adminMaxAgeSeconds: parseDuration(state.max_age.admin),
    // Runs `stepup ARGS --config <the demo config>`; resolves stdout.
    async cli(args, stdin) {
      return new Promise((resolve, reject) => {
        const child = spawn(state.stepup_bin, [...args, '--config', state.stepup_config],
          { stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => { out += d; });
        child.stderr.on('data', (d) => { err += d; });
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(out)
          : reject(new Error(`stepup ${args.join(' ')} exited ${code}: ${out}${err}`))));
        child.stdin.end(stdin ?? '');
      });
    },
    async stop() {
      if (!owned) return;
      await runScript(['--stop'], { BANK_DATA_DIR: dataDir });
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return bank;
}

function parseDuration(text) {
  const m = /^(\d+)([smhd]?)$/.exec(String(text));
  if (!m) throw new Error(`bad duration ${text}`);
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2]];
}

// A user of its own for one test: `stepup user add`, plus a confirmed TOTP
// factor when `totp` (via `stepup factor add-totp --json`).
let userSeq = 0;
export async function createUser(bank, prefix, { totp = false } = {}) {
  const username = `${prefix}${process.pid}x${++userSeq}`;
  const password = `river-Lantern-${userSeq}7-${process.pid}`;
  await bank.cli(['user', 'add', username, '--password-stdin'], `${password}\n`);
  const user = { username, password };
  if (totp) {
    const out = await bank.cli(['factor', 'add-totp', username, '--label', 'Phone', '--json']);
    const f = JSON.parse(out);
    user.secret = f.secret;
    user.totp = new TotpSource(f.secret);
  }
  return user;
}

// ---------------------------------------------------------------- TOTP

// Hands out codes that the server will accept: stepup accepts the steps within
// +-1 of now but never a step at or before the last one used (replay), so a
// second code in the same 30 s uses the next step, and a third waits.
export class TotpSource {
  constructor(secret) {
    this.secret = secret;
    this.lastStep = -1;
  }

  static async codeAt(secret, unixSeconds) {
    const { stdout } = await execFileP('oathtool', ['--totp', '-b', secret, '--now', `@${unixSeconds}`]);
    return stdout.trim();
  }

  // A code for a step the server has not seen yet (waits when both now and
  // now+1 are spent). Records it as used.
  async next() {
    for (;;) {
      const now = Math.floor(Date.now() / 1000);
      const step = Math.floor(now / 30);
      // Near the end of a step, prefer the next one: it stays valid longer.
      const candidates = now % 30 >= 25 ? [step + 1] : [step, step + 1];
      const pick = candidates.find((s) => s > this.lastStep);
      if (pick !== undefined) {
        this.lastStep = pick;
        return TotpSource.codeAt(this.secret, pick * 30);
      }
      await sleep(1000);
    }
  }

  // A six-digit code that is wrong for every step the server would accept now.
  async wrong() {
    const now = Math.floor(Date.now() / 1000);
    const valid = new Set();
    for (const d of [-60, -30, 0, 30, 60]) valid.add(await TotpSource.codeAt(this.secret, now + d));
    for (let n = 0; ; n++) {
      const c = String((123456 + n * 111111) % 1000000).padStart(6, '0');
      if (!valid.has(c)) return c;
    }
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- browser

let playwright;
export async function launchBrowser() {
  playwright ??= await import('playwright-core');
  return playwright.chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-gpu'],
  });
}

export async function newPage(browser, bank, { viewport = { width: 1280, height: 900 } } = {}) {
  const context = await browser.newContext({ baseURL: bank.url, viewport });
  context.setDefaultTimeout(15000);
  const page = await context.newPage();
  return { context, page };
}

// Saves a full-page screenshot as test-output/browser/<name>.png.
export async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// The path (plus query) the page is on.
export function where(page) {
  const u = new URL(page.url());
  return u.pathname + u.search;
}

// Opens `target` while signed out and expects the hosted login page with
// return_to pointing back at it (set by nginx for bank pages, by the page
// itself for /account). Fills in the form, submits, and waits until the
// browser is on `landing` (a path; default: target's path).
export async function signIn(page, user, target = '/accounts', { shotName, landing } = {}) {
  await page.goto(target);
  await page.waitForURL((u) => u.pathname === '/login');
  const back = new URL(page.url()).searchParams.get('return_to');
  if (back === null || new URL(back, page.url()).pathname !== target.split('?')[0]) {
    throw new Error(`login page got return_to=${back}, expected ${target}`);
  }
  await page.locator('#username').waitFor();
  if (shotName) await shot(page, shotName);
  await page.fill('#username', user.username);
  await page.fill('#password', user.password);
  await page.click('#login-submit');
  const want = landing ?? target.split('?')[0];
  await page.waitForURL((u) => u.pathname === want);
}

// Waits for the hosted step-up page to be ready for a TOTP code; returns what
// it says: {reason, level, params} (params: the page URL's query).
export async function onStepUp(page) {
  await page.waitForURL((u) => u.pathname === '/step-up');
  await page.locator('#totp-code').waitFor({ state: 'visible' });
  return {
    reason: (await page.locator('#reason').textContent()).trim(),
    level: (await page.locator('#level-name').textContent()).trim(),
    params: new URL(page.url()).searchParams,
  };
}

// On the hosted step-up page: types a TOTP code and submits.
export async function submitTotp(page, code) {
  await page.fill('#totp-code', code);
  await page.click('#verify-submit');
}

// Text of the live error region once it says something.
export async function errorText(page, sel = '#error') {
  const loc = page.locator(sel);
  await page.waitForFunction((s) => document.querySelector(s)?.textContent.trim().length > 0, sel);
  return (await loc.textContent()).trim();
}

// The identity line the bank prints from nginx's X-Stepup-* headers.
export async function identity(page) {
  return {
    subject: (await page.locator('#subject').textContent()).trim(),
    acr: (await page.locator('#acr').textContent()).trim(),
    amr: (await page.locator('#amr').textContent()).trim(),
  };
}
