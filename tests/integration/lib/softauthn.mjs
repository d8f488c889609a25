// A software WebAuthn authenticator (plus the bit of the browser that writes
// clientDataJSON) for the HTTP integration tests: it turns the server's
// `publicKey` options into the PublicKeyCredential JSON the API takes
// (docs/api.md "WebAuthn and passkeys"), with real keys and real signatures.
//
//   const key = new SoftAuthenticator({ origin: srv.origin, alg: -7, uv: true });
//   const credential = key.register(optionsJson.publicKey);        // webauthn.create
//   const assertion = key.assert(stepUpJson.webauthn);             // webauthn.get
//
// Keys come from node's `crypto`: ES256 (P-256, DER signatures as WebAuthn
// requires, not the raw r||s of JWS), EdDSA (Ed25519, 64 raw bytes), RS256
// (RSASSA-PKCS1-v1_5), and ES512 (P-521) only to be refused. CBOR is written by
// the small encoder below (RFC 8949 preferred serialization of the types we
// need); nothing here reads CBOR.
//
// Every part can be broken on purpose through the `knobs` argument of
// register()/assert(): flags, rpId hash, origin, challenge, type, crossOrigin,
// signCount, signature, attestation statement, trailing bytes, credential id.
//
// Not thread-safe: an instance keeps its signature counter; use one per test.
import crypto from 'node:crypto';

// ---------------------------------------------------------------- CBOR

// Head of a data item: major type and argument, shortest form (RFC 8949 §3).
function head(major, n) {
  if (typeof n === 'bigint') {
    const b = Buffer.alloc(9);
    b[0] = (major << 5) | 27;
    b.writeBigUInt64BE(n, 1);
    return b;
  }
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`CBOR argument out of range: ${n}`);
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(n, 1);
    return b;
  }
  if (n < 0x100000000) {
    const b = Buffer.alloc(5);
    b[0] = (major << 5) | 26;
    b.writeUInt32BE(n, 1);
    return b;
  }
  return head(major, BigInt(n));
}

// A value whose encoding is given as is (e.g. to write a broken item).
export class RawCbor {
  constructor(bytes) { this.bytes = Buffer.from(bytes); }
}

// Encodes integers (number or bigint), byte strings (Buffer/Uint8Array), text
// strings, arrays, maps (Map for any key type, in insertion order; a plain
// object for text keys), booleans, null and undefined. Floats are refused.
export function cborEncode(v) {
  if (v instanceof RawCbor) return v.bytes;
  if (typeof v === 'number' || typeof v === 'bigint') {
    if (typeof v === 'number' && !Number.isInteger(v)) throw new TypeError(`no floats in CBOR here: ${v}`);
    const big = BigInt(v);
    if (big >= 0n) return head(0, big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big);
    const m = -1n - big;
    return head(1, m <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(m) : m);
  }
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) {
    return Buffer.concat([head(2, v.length), Buffer.from(v)]);
  }
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([head(3, b.length), b]);
  }
  if (Array.isArray(v)) return Buffer.concat([head(4, v.length), ...v.map(cborEncode)]);
  if (v instanceof Map) {
    const parts = [head(5, v.size)];
    for (const [k, x] of v) parts.push(cborEncode(k), cborEncode(x));
    return Buffer.concat(parts);
  }
  if (v === false) return Buffer.from([0xf4]);
  if (v === true) return Buffer.from([0xf5]);
  if (v === null) return Buffer.from([0xf6]);
  if (v === undefined) return Buffer.from([0xf7]);
  if (typeof v === 'object') return cborEncode(new Map(Object.entries(v)));
  throw new TypeError(`cannot encode ${typeof v} as CBOR`);
}

// ---------------------------------------------------------------- helpers

export const b64u = (buf) => Buffer.from(buf).toString('base64url');
export const fromB64u = (s) => Buffer.from(s, 'base64url');
export const sha256 = (data) => crypto.createHash('sha256').update(data).digest();

// Authenticator data flags (WebAuthn §6.1).
export const kFlags = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40, ED: 0x80 };

// COSE algorithm identifiers (RFC 9053, RFC 8812).
export const kAlg = { ES256: -7, EdDSA: -8, RS256: -257, ES512: -36 };

function keyPairFor(alg) {
  switch (alg) {
    case kAlg.ES256: return crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case kAlg.ES512: return crypto.generateKeyPairSync('ec', { namedCurve: 'P-521' });
    case kAlg.EdDSA: return crypto.generateKeyPairSync('ed25519');
    case kAlg.RS256: return crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    default: throw new Error(`softauthn: no key type for COSE alg ${alg}`);
  }
}

// The COSE_Key (RFC 9052 §7, RFC 9053 §2.1/§7) of a public key, as a Map
// with integer labels.
function coseKeyOf(alg, publicKey) {
  const jwk = publicKey.export({ format: 'jwk' });
  switch (alg) {
    case kAlg.ES256:   // kty EC2, crv P-256
      return new Map([[1, 2], [3, alg], [-1, 1], [-2, fromB64u(jwk.x)], [-3, fromB64u(jwk.y)]]);
    case kAlg.ES512:   // kty EC2, crv P-521
      return new Map([[1, 2], [3, alg], [-1, 3], [-2, fromB64u(jwk.x)], [-3, fromB64u(jwk.y)]]);
    case kAlg.EdDSA:   // kty OKP, crv Ed25519
      return new Map([[1, 1], [3, alg], [-1, 6], [-2, fromB64u(jwk.x)]]);
    case kAlg.RS256:   // kty RSA, n, e
      return new Map([[1, 3], [3, alg], [-1, fromB64u(jwk.n)], [-2, fromB64u(jwk.e)]]);
    default: throw new Error(`softauthn: no COSE key for alg ${alg}`);
  }
}

// A signature over `data` in the form WebAuthn carries it for `alg`.
function signWith(alg, privateKey, data) {
  switch (alg) {
    case kAlg.ES256: return crypto.sign('sha256', data, { key: privateKey, dsaEncoding: 'der' });
    case kAlg.ES512: return crypto.sign('sha512', data, { key: privateKey, dsaEncoding: 'der' });
    case kAlg.EdDSA: return crypto.sign(null, data, privateKey);
    case kAlg.RS256: return crypto.sign('sha256', data, { key: privateKey, padding: crypto.constants.RSA_PKCS1_PADDING });
    default: throw new Error(`softauthn: cannot sign with alg ${alg}`);
  }
}

function u32be(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

function u16be(n) {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}

// ---------------------------------------------------------------- authenticator

export class SoftAuthenticator {
  // origin: the web origin the "browser" reports (e.g. srv.origin).
  // alg: COSE alg of the credential key. uv: the authenticator verifies the
  // user (sets UV). backupEligible/backedUp: BE/BS (a synced passkey).
  // counter: 'increment' (signCount 1, 2, ...) or 'zero' (always 0, like many
  // passkeys). credentialIdLength: bytes of the random credential id.
  constructor({ origin, alg = kAlg.ES256, uv = true, backupEligible = false, backedUp = false,
                counter = 'increment', credentialIdLength = 32, aaguid } = {}) {
    if (!origin) throw new Error('softauthn: origin is required');
    this.origin = origin;
    this.alg = alg;
    this.uv = uv;
    this.backupEligible = backupEligible;
    this.backedUp = backedUp;
    this.counterMode = counter;
    this.signCount = 0;
    this.credentialId = crypto.randomBytes(credentialIdLength);
    this.aaguid = aaguid ? Buffer.from(aaguid) : Buffer.alloc(16);  // "none" zeroes it
    const { publicKey, privateKey } = keyPairFor(alg);
    this.publicKey = publicKey;
    this.privateKey = privateKey;
    this.rpId = null;        // learned at registration (options.rp.id)
    this.userHandle = null;  // learned at registration (options.user.id), raw bytes
  }

  get id() { return b64u(this.credentialId); }

  nextCount() {
    if (this.counterMode === 'zero') return 0;
    this.signCount += 1;
    return this.signCount;
  }

  flagsFrom(knobs, attested) {
    if (knobs.flags !== undefined) return knobs.flags;
    let f = 0;
    if (knobs.up ?? true) f |= kFlags.UP;
    if (knobs.uv ?? this.uv) f |= kFlags.UV;
    if (knobs.be ?? this.backupEligible) f |= kFlags.BE;
    if (knobs.bs ?? this.backedUp) f |= kFlags.BS;
    if (knobs.at ?? attested) f |= kFlags.AT;
    if (knobs.ed) f |= kFlags.ED;
    return f;
  }

  // clientDataJSON as a browser writes it (WebAuthn §5.8.1), with knobs:
  // type, challenge (base64url string), origin, crossOrigin, topOrigin, extra
  // (members merged in last), clientDataJSON (the bytes, verbatim).
  clientData(type, challenge, knobs) {
    if (knobs.clientDataJSON !== undefined) return Buffer.from(knobs.clientDataJSON);
    const cd = {
      type: knobs.type ?? type,
      challenge: knobs.challenge ?? b64u(fromB64u(challenge)),
      origin: knobs.origin ?? this.origin,
      crossOrigin: knobs.crossOrigin ?? false,
    };
    if (knobs.topOrigin !== undefined) cd.topOrigin = knobs.topOrigin;
    Object.assign(cd, knobs.extra ?? {});
    return Buffer.from(JSON.stringify(cd), 'utf8');
  }

  // authenticatorMakeCredential + the browser around it. `publicKey` is the
  // server's options object (base64url fields as JSON). Knobs (all optional):
  //   flags (whole byte) | up, uv, be, bs, at, ed   authenticator data flags
  //   rpId            hash this RP id instead of options.rp.id
  //   signCount       counter in authenticator data (default: next count)
  //   credentialId    Buffer to use as the credential id in the response
  //   coseKey         Map (or RawCbor) instead of the real COSE key
  //   fmt, attStmt    attestation format and statement (default "none", {})
  //   attestationObject  an object/Map to encode instead of {fmt, attStmt, authData}
  //   trailing        Buffer appended after the attestation object
  //   authDataTrailing   Buffer appended after the authenticator data
  //   type, challenge, origin, crossOrigin, topOrigin, extra, clientDataJSON
  //   ignoreExclude   register even if excludeCredentials names this key
  // Returns the PublicKeyCredential JSON for POST /api/v1/factors/webauthn.
  register(publicKey, knobs = {}) {
    if (!publicKey?.rp?.id && knobs.rpId === undefined) throw new Error('softauthn: options have no rp.id');
    const algs = (publicKey.pubKeyCredParams ?? []).map((p) => p.alg);
    if (!knobs.ignoreAlgs && algs.length > 0 && !algs.includes(this.alg)) {
      throw new Error(`softauthn: the RP does not accept alg ${this.alg} (offers ${algs})`);
    }
    const excluded = (publicKey.excludeCredentials ?? []).some((c) => c.id === this.id);
    if (excluded && !knobs.ignoreExclude) {
      // A real authenticator answers InvalidStateError here.
      throw new Error('softauthn: this credential is in excludeCredentials');
    }
    this.rpId = publicKey.rp?.id ?? knobs.rpId;
    if (publicKey.user?.id) this.userHandle = fromB64u(publicKey.user.id);

    const credentialId = knobs.credentialId ?? this.credentialId;
    const coseKey = knobs.coseKey ?? coseKeyOf(this.alg, this.publicKey);
    const attested = Buffer.concat([
      this.aaguid, u16be(credentialId.length), credentialId, cborEncode(coseKey),
    ]);
    const authData = Buffer.concat([
      sha256(knobs.rpId ?? this.rpId),
      Buffer.from([this.flagsFrom(knobs, true)]),
      u32be(knobs.signCount ?? (this.counterMode === 'zero' ? 0 : this.signCount)),
      attested,
      knobs.authDataTrailing ?? Buffer.alloc(0),
    ]);
    const clientDataJSON = this.clientData('webauthn.create', publicKey.challenge, knobs);
    const attObj = knobs.attestationObject ?? new Map([
      ['fmt', knobs.fmt ?? 'none'],
      ['attStmt', knobs.attStmt ?? new Map()],
      ['authData', authData],
    ]);
    const attestationObject = Buffer.concat([cborEncode(attObj), knobs.trailing ?? Buffer.alloc(0)]);
    return {
      id: b64u(credentialId),
      rawId: b64u(credentialId),
      type: 'public-key',
      response: {
        clientDataJSON: b64u(clientDataJSON),
        attestationObject: b64u(attestationObject),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  // authenticatorGetAssertion + the browser around it. `options` is a request
  // options object ({challenge, rpId, allowCredentials, userVerification}).
  // Knobs (all optional):
  //   flags | up, uv, be, bs, at, ed   authenticator data flags
  //   rpId             hash this RP id instead of the registered one
  //   signCount        counter (default: next count)
  //   authDataTrailing Buffer appended after the authenticator data
  //   flipSignature    true (last byte) or a byte index to XOR with 0x01
  //   signature        Buffer to send instead of the real signature
  //   credentialId     Buffer naming another credential in the response
  //   userHandle       Buffer (or null for none) instead of the stored handle
  //   type, challenge, origin, crossOrigin, topOrigin, extra, clientDataJSON
  //   ignoreAllowList  answer even if allowCredentials does not name this key
  // Returns the PublicKeyCredential JSON for step-up verify / passkey login.
  assert(options, knobs = {}) {
    if (!options?.challenge) throw new Error('softauthn: request options have no challenge');
    if (!this.rpId) throw new Error('softauthn: register the credential first');
    if (options.rpId !== undefined && options.rpId !== this.rpId && !knobs.ignoreRpId) {
      throw new Error(`softauthn: credential is scoped to ${this.rpId}, options ask for ${options.rpId}`);
    }
    const allow = options.allowCredentials ?? [];
    if (allow.length > 0 && !allow.some((c) => c.id === this.id) && !knobs.ignoreAllowList) {
      // A real authenticator finds no credential and the browser shows an error.
      throw new Error('softauthn: this credential is not in allowCredentials');
    }
    const authData = Buffer.concat([
      sha256(knobs.rpId ?? this.rpId),
      Buffer.from([this.flagsFrom(knobs, false)]),
      u32be(knobs.signCount ?? this.nextCount()),
      knobs.authDataTrailing ?? Buffer.alloc(0),
    ]);
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, knobs);
    let signature = knobs.signature ??
      signWith(this.alg, this.privateKey, Buffer.concat([authData, sha256(clientDataJSON)]));
    if (knobs.flipSignature !== undefined && knobs.flipSignature !== false) {
      signature = Buffer.from(signature);
      const i = knobs.flipSignature === true ? signature.length - 1 : knobs.flipSignature;
      signature[i] ^= 0x01;
    }
    const credentialId = knobs.credentialId ?? this.credentialId;
    const userHandle = knobs.userHandle === undefined ? this.userHandle : knobs.userHandle;
    const response = {
      clientDataJSON: b64u(clientDataJSON),
      authenticatorData: b64u(authData),
      signature: b64u(signature),
    };
    if (userHandle) response.userHandle = b64u(userHandle);
    return {
      id: b64u(credentialId),
      rawId: b64u(credentialId),
      type: 'public-key',
      response,
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}
