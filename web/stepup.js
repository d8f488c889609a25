/* stepup.js: step-up for single-page apps, served by `stepup serve` at /stepup.js.
 *
 *   <script src="/stepup.js"></script>
 *   const res = await stepup.fetch('/api/transfers', { method: 'POST', ... });
 *
 * stepup.fetch(input, init) works like fetch(). When the answer is a 401 whose
 * WWW-Authenticate carries error="insufficient_user_authentication" (RFC 9470;
 * or the same error in a JSON body), it opens a modal <dialog>, runs the
 * step-up against the stepup server (POST /api/v1/step-up, then .../verify with
 * a security key or passkey (WebAuthn, offered first when the user has one), a
 * TOTP or a recovery code), and retries the original request once. It resolves
 * with the retried response; if the user cancels, with the original 401.
 *
 * The stepup server must be reachable on the page's origin (same site, e.g.
 * behind the same nginx), because the calls use the session cookie. The base
 * URL is the origin this script was loaded from; override it with
 * stepup.configure({ base }). See docs/hosted-pages.md.
 *
 * No dependencies, no inline styles (works under a strict CSP); everything the
 * server says is shown with textContent.
 */
(function (global) {
  'use strict';

  const script = document.currentScript;
  const config = {
    base: script && script.src ? new URL(script.src, location.href).origin : location.origin,
    // Called when there is no valid session at all; default: go to the hosted login.
    onLogin: null,
    // Called with the verify answer (access_token, refresh_token, acr, ...).
    onVerified: null,
  };

  // ---- RFC 9470 challenge ------------------------------------------------

  // Parses a WWW-Authenticate value; returns {acr_values, max_age, error_description}
  // for an insufficient_user_authentication Bearer challenge, else null.
  function parseChallenge(header) {
    if (!header || !/^\s*Bearer\b/i.test(header)) return null;
    const params = {};
    const re = /([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))/g;
    let m;
    while ((m = re.exec(header)) !== null) {
      const key = m[1].toLowerCase();
      if (!(key in params)) params[key] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
    }
    if (params.error !== 'insufficient_user_authentication') return null;
    const out = { acr_values: params.acr_values || '', error_description: params.error_description || '' };
    if (/^[0-9]+$/.test(params.max_age || '')) out.max_age = parseInt(params.max_age, 10);
    return out;
  }

  async function challengeOf(res) {
    let c = parseChallenge(res.headers.get('WWW-Authenticate'));
    if (!c) {
      // Cross-origin answers hide the header unless exposed: try the body.
      try {
        const body = await res.clone().json();
        if (body && body.error === 'insufficient_user_authentication') {
          c = { acr_values: body.acr_values || '', error_description: body.error_description || '' };
          if (typeof body.max_age === 'number') c.max_age = body.max_age;
        }
      } catch (e) { /* not JSON */ }
    }
    return c && c.acr_values ? c : null;
  }

  // ---- talking to the stepup server --------------------------------------

  async function api(path, body, authorization) {
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (authorization) headers.Authorization = authorization;
    let res;
    try {
      res = await fetch(config.base + path, {
        method: 'POST', headers, body: JSON.stringify(body), credentials: 'include', cache: 'no-store',
      });
    } catch (e) {
      return { ok: false, status: 0, data: { error: 'network_error' }, retryAfter: 0 };
    }
    let data = {};
    try { data = (await res.json()) || {}; } catch (e) { data = {}; }
    const ra = parseInt(res.headers.get('Retry-After') || '', 10);
    return { ok: res.ok, status: res.status, data, retryAfter: Number.isFinite(ra) && ra > 0 ? ra : 0 };
  }

  // ---- WebAuthn -------------------------------------------------------------
  // The API sends binary fields as base64url without padding; the browser
  // wants ArrayBuffers (the same conversions as the hosted pages' webauthn.js,
  // repeated so that this file works alone).

  function webauthnSupported() {
    return typeof global.PublicKeyCredential === 'function' && !!navigator.credentials &&
      typeof navigator.credentials.get === 'function';
  }

  function toBuffer(b64url) {
    const s = String(b64url || '').replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(s + '='.repeat((4 - (s.length % 4)) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toBase64url(buf) {
    const bytes = new Uint8Array(buf);
    let bin = '';
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  // Resolves {ok, credential} or {ok: false, cancelled, message}; never rejects.
  async function webauthnGet(options) {
    const publicKey = Object.assign({}, options, {
      challenge: toBuffer(options.challenge),
      allowCredentials: (Array.isArray(options.allowCredentials) ? options.allowCredentials : [])
        .map((d) => Object.assign({}, d, { id: toBuffer(d.id) })),
    });
    try {
      const cred = await navigator.credentials.get({ publicKey });
      if (!cred) return { ok: false, cancelled: true, message: 'Nothing was chosen. You can try again.' };
      const r = cred.response;
      const credential = {
        id: cred.id, rawId: toBase64url(cred.rawId), type: cred.type,
        response: {
          clientDataJSON: toBase64url(r.clientDataJSON),
          authenticatorData: toBase64url(r.authenticatorData),
          signature: toBase64url(r.signature),
        },
      };
      if (r.userHandle && r.userHandle.byteLength) credential.response.userHandle = toBase64url(r.userHandle);
      return { ok: true, credential };
    } catch (e) {
      if (e && e.name === 'NotAllowedError') {
        return {
          ok: false, cancelled: true,
          message: options.userVerification === 'required'
            ? 'The check was cancelled, timed out, or your key could not verify you (this needs its PIN or biometric).'
            : 'The check was cancelled or timed out. You can try again.',
        };
      }
      return { ok: false, cancelled: false,
               message: 'The security key or passkey did not answer (' + ((e && e.name) || 'error') + ').' };
    }
  }

  // The server's reason for refusing an answer, without its generic prefix;
  // check names (bad_signature) read as words.
  function reasonOf(data) {
    const d = String((data && data.error_description) || '')
      .replace(/^The security key response was not accepted:\s*/, '').replace(/_/g, ' ').replace(/\.$/, '');
    return d || 'it did not pass the check';
  }

  function waitWords(s) {
    s = Math.max(1, Math.ceil(s));
    if (s < 60) return s + (s === 1 ? ' second' : ' seconds');
    const m = Math.ceil(s / 60);
    return m + (m === 1 ? ' minute' : ' minutes');
  }

  function describe(r) {
    const e = r.data || {};
    switch (e.error) {
      case 'invalid_code': return 'That code is not right. Enter the code your app shows now.';
      case 'code_already_used': return 'That code was already used. Wait for a new code, then enter it.';
      case 'factor_locked': {
        const until = new Date(Date.now() + (r.retryAfter || 0) * 1000)
          .toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
        return 'Too many wrong codes. Locked until ' + until + ' (in ' + waitWords(r.retryAfter || 1) + ').';
      }
      case 'rate_limited': return 'Too many attempts. Please wait ' + waitWords(r.retryAfter || 1) + '.';
      case 'invalid_challenge': return 'This check expired. A new one was started: enter a fresh code.';
      case 'no_factor_enrolled': return 'You have no second factor for this yet. Add one in your account settings.';
      case 'network_error': return 'The server could not be reached. Try again.';
      default: return e.error_description || 'Something went wrong (' + (e.error || r.status) + ').';
    }
  }

  // ---- the dialog ----------------------------------------------------------

  let ui = null;

  function el(tag, attrs, text) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'hidden') n.hidden = !!v;
      else n.setAttribute(k, v);
    }
    if (text !== undefined) n.textContent = text;
    return n;
  }

  function buildDialog() {
    if (ui) return ui;
    if (!document.querySelector('link[data-stepup-style]')) {
      const link = el('link', { rel: 'stylesheet', href: config.base + '/assets/stepup-modal.css', 'data-stepup-style': '' });
      document.head.append(link);
    }
    const d = el('dialog', { id: 'stepup-modal', class: 'stepup-modal', 'aria-labelledby': 'stepup-modal-title',
                             'aria-describedby': 'stepup-modal-reason' });
    const title = el('h2', { id: 'stepup-modal-title', class: 'stepup-modal-title' }, 'Confirm it’s you');
    const reason = el('p', { id: 'stepup-modal-reason', class: 'stepup-modal-reason' });
    const level = el('p', { id: 'stepup-modal-level', class: 'stepup-modal-level' });
    const error = el('div', { id: 'stepup-modal-error', class: 'stepup-modal-error', role: 'alert', 'aria-live': 'assertive' });
    const loading = el('p', { id: 'stepup-modal-loading', class: 'stepup-modal-level' }, 'Preparing the check…');
    const form = el('form', { id: 'stepup-modal-form', novalidate: '' });

    const keyBox = el('div', { class: 'stepup-modal-webauthn', hidden: true });
    const useKey = el('button', { id: 'stepup-modal-use-webauthn', type: 'button', class: 'stepup-modal-primary' },
                      'Use your security key or passkey');
    const keyOr = el('p', { class: 'stepup-modal-or', hidden: true }, 'or enter a code');
    keyBox.append(useKey, keyOr);

    const totpField = el('div', { class: 'stepup-modal-field' });
    const totpLabel = el('label', { for: 'stepup-modal-totp' }, 'Code from your authenticator app');
    const totp = el('input', { id: 'stepup-modal-totp', type: 'text', autocomplete: 'one-time-code',
                               inputmode: 'numeric', pattern: '[0-9]*', maxlength: '8', class: 'stepup-modal-input' });
    totpField.append(totpLabel, totp);

    const recField = el('div', { class: 'stepup-modal-field', hidden: true });
    const recLabel = el('label', { for: 'stepup-modal-recovery' }, 'Recovery code');
    const rec = el('input', { id: 'stepup-modal-recovery', type: 'text', autocomplete: 'off', autocapitalize: 'none',
                              spellcheck: 'false', class: 'stepup-modal-input' });
    recField.append(recLabel, rec);

    const actions = el('div', { class: 'stepup-modal-actions' });
    const submit = el('button', { id: 'stepup-modal-submit', type: 'submit', class: 'stepup-modal-primary' }, 'Verify');
    const cancel = el('button', { id: 'stepup-modal-cancel', type: 'button', class: 'stepup-modal-secondary' }, 'Cancel');
    actions.append(submit, cancel);
    const useRec = el('button', { id: 'stepup-modal-use-recovery', type: 'button', class: 'stepup-modal-link', hidden: true },
                      'Use a recovery code instead');
    const useTotp = el('button', { id: 'stepup-modal-use-totp', type: 'button', class: 'stepup-modal-link', hidden: true },
                       'Use your authenticator app instead');
    const accountLink = el('a', { id: 'stepup-modal-account', href: config.base + '/account', hidden: true },
                           'Open account settings');
    form.append(keyBox, totpField, recField, actions, useRec, useTotp);
    d.append(title, reason, level, loading, error, form, accountLink);
    document.body.append(d);
    ui = { d, reason, level, error, loading, form, keyBox, useKey, keyOr, totpField, totp, recField, rec, submit, cancel,
           useRec, useTotp, accountLink };
    return ui;
  }

  // One step-up at a time: concurrent 401s share it.
  let running = null;

  // Runs the step-up dialog. Resolves with the verify answer, or null when the
  // user cancelled or it could not be done.
  function stepUp(challenge, authorization) {
    if (!running) {
      running = runStepUp(challenge || {}, authorization).finally(() => { running = null; });
    }
    return running;
  }

  function runStepUp(ch, authorization) {
    const u = buildDialog();
    return new Promise((resolve) => {
      let started = null;
      let mode = 'totp';
      let finished = false;
      const before = document.activeElement;

      const say = (t) => { u.error.textContent = t || ''; };
      const offered = (type) => (started ? started.methods.filter((m) => m.type === type) : []);
      const setMode = (m, quiet) => {
        mode = m;
        const recovery = m === 'recovery_code';
        u.totpField.hidden = recovery;
        u.recField.hidden = !recovery;
        u.useRec.hidden = recovery || !offered('recovery_code').length;
        u.useTotp.hidden = !recovery || !offered('totp').length;
        if (!quiet) (recovery ? u.rec : u.totp).focus();
      };
      const keyOffered = () => offered('webauthn').length > 0 && started.webauthn &&
        typeof started.webauthn === 'object' && webauthnSupported();
      const finish = (value) => {
        if (finished) return;
        finished = true;
        u.form.onsubmit = null;
        u.cancel.onclick = null;
        u.useRec.onclick = null;
        u.useTotp.onclick = null;
        u.useKey.onclick = null;
        u.d.oncancel = null;
        if (u.d.open) u.d.close();
        if (before && typeof before.focus === 'function') before.focus();
        resolve(value);
      };

      async function start(again, note) {
        u.form.hidden = true;
        u.loading.hidden = false;
        const body = { acr_values: ch.acr_values || '' };
        if (typeof ch.max_age === 'number') body.max_age = ch.max_age;
        if (ch.error_description) body.reason = String(ch.error_description).slice(0, 200);
        if (ch.transaction) body.transaction = ch.transaction;
        const r = await api('/api/v1/step-up', body, authorization);
        if (finished) return;
        u.loading.hidden = true;
        if (!r.ok) {
          started = null;
          if (r.data.error === 'invalid_token') {
            finish(null);
            if (config.onLogin) config.onLogin();
            else location.assign(config.base + '/login?return_to=' +
                                 encodeURIComponent(location.pathname + location.search + location.hash));
            return;
          }
          if (r.data.error === 'no_factor_enrolled') u.accountLink.hidden = false;
          say(describe(r));
          u.cancel.focus();
          return;
        }
        started = r.data;
        started.methods = Array.isArray(started.methods) ? started.methods : [];
        u.reason.textContent = started.reason || ch.error_description || 'This action needs you to confirm it is you.';
        let lvl = 'Level needed: ' + (started.acr || ch.acr_values);
        if (typeof started.max_age === 'number') lvl += ', confirmed within the last ' + waitWords(started.max_age);
        u.level.textContent = lvl;
        u.form.hidden = false;
        const hasTotp = offered('totp').length > 0;
        const key = keyOffered();
        const codes = hasTotp || offered('recovery_code').length > 0;
        if (!key && !codes) {
          say('None of your sign-in methods can be used here.');
          u.form.hidden = true;
          u.accountLink.hidden = false;
          u.cancel.focus();
          return;
        }
        u.keyBox.hidden = !key;
        u.keyOr.hidden = !codes;
        u.useKey.disabled = false;
        u.submit.hidden = !codes;
        if (codes) {
          setMode(hasTotp && !(mode === 'recovery_code' && offered('recovery_code').length) ? 'totp' : 'recovery_code', key);
        } else {
          u.totpField.hidden = true;
          u.recField.hidden = true;
          u.useRec.hidden = true;
          u.useTotp.hidden = true;
        }
        if (key) u.useKey.focus();
        if (again) say(note || describe({ data: { error: 'invalid_challenge' } }));
      }

      // The browser's WebAuthn dialog, then verify. A refused answer gets a
      // fresh challenge, so the next try signs new bytes.
      async function verifyKey() {
        say('');
        u.useKey.disabled = true;
        const c = await webauthnGet(started.webauthn);
        if (finished) return;
        u.useKey.disabled = false;
        if (!c.ok) {
          say(c.message);
          u.useKey.focus();
          return;
        }
        u.useKey.disabled = true;
        const r = await api('/api/v1/step-up/' + encodeURIComponent(started.challenge_id) + '/verify',
                            { method: 'webauthn', credential: c.credential }, authorization);
        if (finished) return;
        u.useKey.disabled = false;
        if (r.ok) {
          if (config.onVerified) {
            try { config.onVerified(r.data); } catch (e) { /* the app's problem */ }
          }
          finish(r.data);
          return;
        }
        const e = r.data.error;
        if (e === 'invalid_code' || e === 'code_already_used') {
          start(true, 'Your security key or passkey was not accepted: ' + reasonOf(r.data) + '.');
          return;
        }
        if (e === 'invalid_challenge' || e === 'not_found') {
          start(true);
          return;
        }
        if (e === 'factor_locked') {
          say('Too many failed tries. Your security key is locked for ' + waitWords(r.retryAfter || 1) + '.');
        } else {
          say(describe(r));
        }
        u.useKey.focus();
      }

      async function verify() {
        const input = mode === 'recovery_code' ? u.rec : u.totp;
        const code = input.value.replace(/\s+/g, '');
        if (!code) {
          say(mode === 'totp' ? 'Enter the code from your authenticator app.' : 'Enter a recovery code.');
          input.focus();
          return;
        }
        u.submit.disabled = true;
        say('');
        const r = await api('/api/v1/step-up/' + encodeURIComponent(started.challenge_id) + '/verify',
                            { method: mode, code }, authorization);
        if (finished) return;
        u.submit.disabled = false;
        if (r.ok) {
          if (config.onVerified) {
            try { config.onVerified(r.data); } catch (e) { /* the app's problem */ }
          }
          finish(r.data);
          return;
        }
        const e = r.data.error;
        if (e === 'invalid_challenge' || e === 'not_found') {
          input.value = '';
          start(true);
          return;
        }
        if (e === 'invalid_code' || e === 'code_already_used') input.value = '';
        if (e === 'factor_locked' || e === 'rate_limited') {
          u.submit.disabled = true;
          setTimeout(() => { u.submit.disabled = false; }, (r.retryAfter || 1) * 1000);
        }
        say(describe(r));
        input.focus();
      }

      // Reset what a previous run left behind.
      u.totp.value = '';
      u.rec.value = '';
      u.reason.textContent = ch.error_description || '';
      u.level.textContent = '';
      u.accountLink.hidden = true;
      u.keyBox.hidden = true;
      u.submit.disabled = false;
      say('');

      u.form.onsubmit = (ev) => {
        ev.preventDefault();
        if (started && !u.submit.disabled) verify();
      };
      u.cancel.onclick = () => finish(null);
      u.d.oncancel = (ev) => { ev.preventDefault(); finish(null); };  // Escape
      u.useRec.onclick = () => { say(''); setMode('recovery_code'); };
      u.useTotp.onclick = () => { say(''); setMode('totp'); };
      u.useKey.onclick = () => { if (started && !u.useKey.disabled) verifyKey(); };
      u.d.showModal();
      start(false);
    });
  }

  // ---- the fetch wrapper ---------------------------------------------------

  function authorizationOf(input, init) {
    const h = init && init.headers ? new Headers(init.headers)
      : input instanceof Request ? input.headers : null;
    const v = h ? h.get('Authorization') : null;
    return v && /^Bearer\s/i.test(v) ? v : null;
  }

  async function stepupFetch(input, init) {
    // A Request body can be read once: keep a copy for the retry.
    const again = input instanceof Request ? input.clone() : input;
    const res = await fetch(input, init);
    if (res.status !== 401) return res;
    const ch = await challengeOf(res);
    if (!ch) return res;
    const authorization = authorizationOf(input, init);
    const verified = await stepUp(ch, authorization);
    if (!verified) return res;
    let retryInit = init;
    if (authorization && verified.access_token) {
      // The old bearer token does not carry the new level; the fresh one does.
      const headers = new Headers((init && init.headers) || (input instanceof Request ? input.headers : undefined));
      headers.set('Authorization', 'Bearer ' + verified.access_token);
      retryInit = Object.assign({}, init, { headers });
    }
    return fetch(again, retryInit);
  }

  global.stepup = {
    fetch: stepupFetch,
    // Open the dialog without a failed request first, e.g. after
    // POST /api/v1/authz/check said "step_up": stepup.stepUp({acr_values, max_age, reason}).
    stepUp: (opts) => stepUp({
      acr_values: opts && opts.acr_values,
      max_age: opts && opts.max_age,
      error_description: opts && opts.reason,
      transaction: opts && opts.transaction,
    }, opts && opts.authorization),
    configure: (opts) => Object.assign(config, opts || {}),
    parseChallenge,
  };
})(window);
