// Benchmark peer: a forward-auth service written the way a developer would
// write one with fastify + jose, doing the same check as stepup's
// GET /api/v1/authz/forward for Bearer tokens:
//   - request facts from X-Forwarded-Method / -Host / -Uri, first matching
//     rule of the same 50-rule table (bench/rules.json);
//   - verify the ES256 access token against stepup's JWKS (fetched once at
//     start), iss, aud, exp (30 s skew), then acr >= the rule's level and
//     now - auth_time <= the rule's max_age;
//   - 200 + X-Stepup-* headers, 401 with an RFC 9470 WWW-Authenticate
//     challenge, 403 for deny rules; always an empty body.
// It does NOT check session revocation (stepup does: a store read per Bearer
// request today), which favours the peer.
//
// Environment: PORT, JWKS_URL, ISSUER, AUDIENCE, RULES (path to rules.json),
// WORKERS (default: number of cores), CACHE (entries; 0 = no token cache).
// The cache maps token -> verified claims, bounded (oldest out first), an
// entry never outlives the token's exp; level and freshness still run per
// request.
import cluster from 'node:cluster';
import fs from 'node:fs';
import os from 'node:os';
import Fastify from 'fastify';
import { createLocalJWKSet, jwtVerify } from 'jose';

const env = process.env;
const PORT = Number(env.PORT || 8090);
const WORKERS = Number(env.WORKERS || os.availableParallelism?.() || os.cpus().length);
const CACHE = Number(env.CACHE || 0);
const LEVELS = ['aal1', 'aal2'];  // ordered, lowest first (as in the bench config)

function parseDuration(text) {
  if (text === undefined) return undefined;
  const m = /^(\d+)([smhd]?)$/.exec(String(text));
  if (!m) throw new Error(`bad duration ${text}`);
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2]];
}

// `*` stays inside one segment, `**` spans any number of segments.
function globToRegExp(glob) {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '/' && glob.startsWith('/**', i) && (i + 3 === glob.length || glob[i + 3] === '/')) {
      re += '(?:/[^/]*)*';
      i += 2;
    } else if (c === '*') {
      re += '[^/]*';
    } else {
      re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

function hostMatcher(pattern) {
  const p = pattern.toLowerCase();
  if (p.startsWith('*.')) {
    const suffix = p.slice(1);
    return (h) => h.length > suffix.length && h.endsWith(suffix);
  }
  return (h) => h === p;
}

function compileRules(list) {
  return list.map((r) => ({
    methods: r.methods ? new Set(r.methods) : null,
    hosts: r.hosts ? r.hosts.map(hostMatcher) : null,
    path: globToRegExp(r.path ?? '/**'),
    effect: r.public ? 'public' : r.deny ? 'deny' : 'require',
    level: r.level ? LEVELS.indexOf(r.level) : 0,
    acr: r.level,
    maxAge: parseDuration(r.max_age),
    reason: r.reason ?? '',
  }));
}

function match(rules, method, host, path) {
  const h = host.toLowerCase().replace(/:\d+$/, '');
  for (const r of rules) {
    if (r.methods && !r.methods.has(method)) continue;
    if (r.hosts && !r.hosts.some((m) => m(h))) continue;
    if (!r.path.test(path)) continue;
    return r;
  }
  return null;  // default: deny
}

async function worker() {
  const rules = compileRules(JSON.parse(fs.readFileSync(env.RULES, 'utf8')));
  const jwksRes = await fetch(env.JWKS_URL);
  const jwks = createLocalJWKSet(await jwksRes.json());
  const verifyOptions = {
    issuer: env.ISSUER,
    audience: env.AUDIENCE,
    algorithms: ['ES256'],
    clockTolerance: 30,
    requiredClaims: ['sub', 'sid', 'iat', 'exp', 'acr', 'auth_time'],
  };
  const cache = new Map();  // token -> payload

  async function claimsOf(token, now) {
    if (CACHE > 0) {
      const hit = cache.get(token);
      if (hit !== undefined) {
        if (hit.exp + 30 > now) return hit;
        cache.delete(token);
      }
    }
    const { payload } = await jwtVerify(token, jwks, verifyOptions);
    if (CACHE > 0) {
      if (cache.size >= CACHE) cache.delete(cache.keys().next().value);
      cache.set(token, payload);
    }
    return payload;
  }

  const app = Fastify({ logger: false });
  app.get('/authz', async (req, reply) => {
    const h = req.headers;
    const uri = h['x-forwarded-uri'] ?? '/';
    const q = uri.indexOf('?');
    const rule = match(rules, h['x-forwarded-method'] ?? 'GET', h['x-forwarded-host'] ?? '',
                       q < 0 ? uri : uri.slice(0, q));
    if (!rule || rule.effect === 'deny') return reply.code(403).send();
    if (rule.effect === 'public') return reply.code(200).send();
    const auth = h.authorization ?? '';
    if (!auth.startsWith('Bearer ')) {
      return reply.code(401).header('www-authenticate', 'Bearer error="invalid_token"').send();
    }
    const now = Math.floor(Date.now() / 1000);
    let claims;
    try {
      claims = await claimsOf(auth.slice(7), now);
    } catch {
      return reply.code(401).header('www-authenticate', 'Bearer error="invalid_token"').send();
    }
    const held = LEVELS.indexOf(claims.acr);
    const fresh = rule.maxAge === undefined || now - claims.auth_time <= rule.maxAge;
    if (held < rule.level || !fresh) {
      let challenge = `Bearer error="insufficient_user_authentication", ` +
        `error_description="${rule.reason || 'A higher or fresher level is required'}", ` +
        `acr_values="${rule.acr}"`;
      if (rule.maxAge !== undefined) challenge += `, max_age="${rule.maxAge}"`;
      return reply.code(401).header('www-authenticate', challenge).send();
    }
    return reply.code(200)
      .header('x-stepup-subject', claims.sub)
      .header('x-stepup-acr', claims.acr)
      .header('x-stepup-amr', Array.isArray(claims.amr) ? claims.amr.join(',') : '')
      .send();
  });
  await app.listen({ port: PORT, host: '127.0.0.1' });
}

if (cluster.isPrimary && WORKERS > 1) {
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  cluster.on('exit', (w, code, signal) => {
    if (signal !== 'SIGTERM' && code !== 0) console.error(`worker ${w.process.pid} died (${code ?? signal})`);
  });
  const stop = () => { for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM'); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  worker().catch((err) => { console.error(err); process.exit(1); });
}
