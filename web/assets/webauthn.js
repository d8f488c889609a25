// WebAuthn helpers for the hosted pages (/login, /step-up, /account).
//
// The API speaks the JSON shape of PublicKeyCredential with every binary field
// in base64url without padding (docs/api.md, "WebAuthn and passkeys"); the
// browser wants ArrayBuffers. This file converts both ways and turns the
// DOMException names of navigator.credentials into plain words. It holds no
// state. Exposes window.stepupWebAuthn. (stepup.js carries its own copy of the
// conversions, because single-page apps load it alone.)
(function () {
  'use strict';

  // Whether this browser can run a ceremony at all (an old browser, or a page
  // that is not a secure context, has no PublicKeyCredential).
  function supported() {
    return typeof window.PublicKeyCredential === 'function' &&
      !!navigator.credentials && typeof navigator.credentials.create === 'function';
  }

  function toBuffer(b64url) {
    const s = String(b64url || '').replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(s + '='.repeat((4 - (s.length % 4)) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toBase64url(buf) {
    if (buf === null || buf === undefined) return null;
    const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    let bin = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function descriptors(list) {
    return (Array.isArray(list) ? list : []).map((d) => Object.assign({}, d, { id: toBuffer(d.id) }));
  }

  // The server's `publicKey` for navigator.credentials.create, with the
  // binary fields decoded. Everything else passes through unchanged.
  function creationOptions(pk) {
    const o = Object.assign({}, pk);
    o.challenge = toBuffer(pk.challenge);
    o.user = Object.assign({}, pk.user, { id: toBuffer(pk.user && pk.user.id) });
    o.excludeCredentials = descriptors(pk.excludeCredentials);
    return o;
  }

  // The server's request options for navigator.credentials.get.
  function requestOptions(pk) {
    const o = Object.assign({}, pk);
    o.challenge = toBuffer(pk.challenge);
    o.allowCredentials = descriptors(pk.allowCredentials);
    return o;
  }

  // A new credential (navigator.credentials.create) as the API wants it.
  function attestationJson(cred) {
    return {
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      response: {
        clientDataJSON: toBase64url(cred.response.clientDataJSON),
        attestationObject: toBase64url(cred.response.attestationObject),
      },
    };
  }

  // An assertion (navigator.credentials.get) as the API wants it.
  function assertionJson(cred) {
    const r = cred.response;
    const out = {
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      response: {
        clientDataJSON: toBase64url(r.clientDataJSON),
        authenticatorData: toBase64url(r.authenticatorData),
        signature: toBase64url(r.signature),
      },
    };
    if (r.userHandle && r.userHandle.byteLength) out.response.userHandle = toBase64url(r.userHandle);
    return out;
  }

  // Runs a ceremony. Resolves {ok: true, credential} or {ok: false, cancelled,
  // message}; never rejects. `kind`: "create" or "get".
  async function ceremony(kind, publicKey) {
    if (!supported()) {
      return { ok: false, cancelled: false, message: 'This browser cannot use security keys or passkeys here.' };
    }
    try {
      const cred = kind === 'create'
        ? await navigator.credentials.create({ publicKey: creationOptions(publicKey) })
        : await navigator.credentials.get({ publicKey: requestOptions(publicKey) });
      if (!cred) return { ok: false, cancelled: true, message: 'Nothing was chosen.' };
      return { ok: true, credential: kind === 'create' ? attestationJson(cred) : assertionJson(cred) };
    } catch (e) {
      return { ok: false, cancelled: e && e.name === 'NotAllowedError', message: describeError(e, kind, publicKey) };
    }
  }

  // Plain words for what navigator.credentials threw.
  function describeError(e, kind, publicKey) {
    const name = e && e.name;
    switch (name) {
      case 'NotAllowedError':
        if (kind === 'get' && publicKey && publicKey.userVerification === 'required') {
          return 'The check was cancelled, timed out, or your key could not verify you ' +
                 '(this step needs its PIN or biometric). You can try again.';
        }
        return kind === 'create'
          ? 'Cancelled: nothing was added. You can try again whenever you like.'
          : 'The check was cancelled or timed out. You can try again.';
      case 'InvalidStateError':
        return kind === 'create'
          ? 'This security key or passkey is already registered to your account.'
          : 'That security key or passkey cannot be used here.';
      case 'SecurityError':
        return 'This site cannot use security keys or passkeys at this address. Open it by its usual name.';
      case 'NotSupportedError':
        return 'Your security key or passkey does not support what this site asks for.';
      case 'AbortError':
        return 'The check was stopped. You can try again.';
      default:
        return 'The security key or passkey did not answer (' + (name || 'error') + '). You can try again.';
    }
  }

  // The server's reason for refusing an answer (error_description), without
  // its generic prefix; check names (bad_signature) read as words.
  function reasonOf(data) {
    const d = String((data && data.error_description) || '')
      .replace(/^The security key response was not accepted:\s*/, '').replace(/_/g, ' ').replace(/\.$/, '');
    return d || 'it did not pass the check';
  }

  window.stepupWebAuthn = {
    supported, reasonOf, toBuffer, toBase64url, creationOptions, requestOptions, attestationJson, assertionJson,
    ceremony, describeError,
  };
})();
