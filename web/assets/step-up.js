// /step-up?acr=aal2&max_age=300&return_to=...&reason=...
//
// Asks the server for a challenge (POST /api/v1/step-up), says why and which
// level is needed, offers only the methods the challenge lists (a security
// key or passkey first, then TOTP, recovery code as the fallback), verifies,
// and goes to the return_to the server hands back. Not signed in: off to
// /login, which comes back here.
(function () {
  'use strict';
  const P = window.stepupPage;
  const $ = P.byId;

  const params = new URLSearchParams(location.search);
  const acr = (params.get('acr') || params.get('acr_values') || '').trim();
  const maxAgeParam = params.get('max_age');
  const maxAge = /^[0-9]{1,9}$/.test(maxAgeParam || '') ? parseInt(maxAgeParam, 10) : null;
  const returnTo = params.get('return_to') || '';
  const reasonParam = (params.get('reason') || '').slice(0, 200);

  const form = $('verify-form');
  const totpField = $('totp-field');
  const totpInput = $('totp-code');
  const recoveryField = $('recovery-field');
  const recoveryInput = $('recovery-code');
  const submit = $('verify-submit');
  const useRecovery = $('use-recovery');
  const useTotp = $('use-totp');
  const error = $('error');
  const status = $('status');
  const loading = $('loading');
  const W = window.stepupWebAuthn;
  const webauthnBox = $('webauthn-box');
  const useWebAuthn = $('use-webauthn');

  let challenge = null;
  let mode = 'totp';  // or 'recovery_code'

  function offered(type) {
    return challenge ? challenge.methods.filter((m) => m.type === type) : [];
  }

  function describeAge(seconds) {
    if (seconds === 0) return ', confirmed just now';
    return ', confirmed within the last ' + P.formatWait(seconds);
  }

  function showTransaction(tx) {
    const dl = $('transaction');
    dl.textContent = '';
    if (!tx || typeof tx !== 'object') return;
    for (const [k, v] of Object.entries(tx)) {
      if (v === null || typeof v === 'object') continue;
      dl.append(P.el('dt', '', k.replace(/_/g, ' ')), P.el('dd', '', String(v)));
    }
    dl.hidden = dl.childElementCount === 0;
  }

  // `quiet`: do not move focus (the key button has it).
  function setMode(next, quiet) {
    mode = next;
    const recovery = mode === 'recovery_code';
    totpField.hidden = recovery;
    recoveryField.hidden = !recovery;
    useRecovery.hidden = recovery || offered('recovery_code').length === 0;
    useTotp.hidden = !recovery || offered('totp').length === 0;
    if (quiet) return;
    P.say(error, '');
    (recovery ? recoveryInput : totpInput).focus();
  }

  // The challenge offers WebAuthn and this browser can run it.
  function webauthnOffered() {
    return offered('webauthn').length > 0 && challenge.webauthn && typeof challenge.webauthn === 'object' &&
      W.supported();
  }

  function invalid(input, yes) {
    if (yes) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  function fail(text) {
    P.say(status, '');
    P.say(error, text);
  }

  function thisPage() {
    return location.pathname + location.search;
  }

  // POST /api/v1/step-up and render what it offers. `again`: a replacement
  // for an expired or foreign challenge (keeps the current error text).
  // `note`: an error to show once the new challenge is on the page.
  async function start(again, note) {
    form.hidden = true;
    webauthnBox.hidden = true;
    $('restart-box').hidden = true;
    loading.hidden = false;
    if (!acr) {
      loading.hidden = true;
      return fail('This link does not say which level is needed (the acr parameter is missing).');
    }
    const body = { acr_values: acr };
    if (maxAge !== null) body.max_age = maxAge;
    if (returnTo) body.return_to = returnTo;
    if (reasonParam) body.reason = reasonParam;
    const r = await P.api('POST', '/api/v1/step-up', body);
    loading.hidden = true;
    if (!r.ok) {
      challenge = null;
      switch (r.data.error) {
        case 'invalid_token':
          location.replace(P.loginUrl(thisPage()));
          return;
        case 'no_factor_enrolled':
          $('no-factor').hidden = false;
          return fail(P.describe(r));
        case 'invalid_request':
          return fail('This link cannot be used: ' + (r.data.error_description || 'a parameter is not valid') + '.');
        default:
          $('restart-box').hidden = false;
          return fail(P.describe(r));
      }
    }
    challenge = r.data;
    challenge.methods = Array.isArray(challenge.methods) ? challenge.methods : [];

    const reason = challenge.reason || reasonParam;
    $('reason').textContent = reason || 'This action needs you to confirm it is you.';
    $('reason').hidden = false;
    $('level-name').textContent = challenge.acr || acr;
    $('freshness').textContent = typeof challenge.max_age === 'number' ? describeAge(challenge.max_age) : '';
    $('level').hidden = false;
    showTransaction(challenge.transaction);

    const totp = offered('totp');
    const recovery = offered('recovery_code');
    const name = totp.length === 1 ? String(totp[0].name || '').trim() : '';
    if (name && name.toLowerCase() !== 'authenticator app') $('totp-name').textContent = ' (' + name + ')';
    if (recovery.length && typeof recovery[0].remaining === 'number') {
      $('recovery-remaining').textContent = ' (' + recovery[0].remaining + ' left)';
    }
    const key = webauthnOffered();
    const codes = totp.length > 0 || recovery.length > 0;
    if (!key && !codes) {
      return fail(offered('webauthn').length
        ? 'Only a security key or passkey can confirm this, and this browser cannot use one here.'
        : 'None of your sign-in methods can be used on this page yet.');
    }
    if (!again) P.say(error, '');
    // With only a key, the form stays for its Cancel link; the code parts go.
    webauthnBox.hidden = !key;
    $('webauthn-or').hidden = !codes;
    $('webauthn-uv').textContent = key && challenge.webauthn.userVerification === 'required'
      ? ' with its PIN or biometric (this level needs it)' : '';
    useWebAuthn.disabled = false;
    form.hidden = false;
    submit.hidden = !codes;
    if (codes) {
      setMode(totp.length ? (mode === 'recovery_code' && recovery.length ? mode : 'totp') : 'recovery_code', key);
    } else {
      totpField.hidden = true;
      recoveryField.hidden = true;
      useRecovery.hidden = true;
      useTotp.hidden = true;
    }
    if (key) useWebAuthn.focus();
    if (again) P.say(error, note || P.describe({ data: { error: 'invalid_challenge' } }));
  }

  // navigator.credentials.get with the challenge's request options, then
  // verify. A cancelled browser dialog is not an error: the user may try
  // again or type a code. A refused answer gets a fresh challenge, so the
  // next try signs new bytes.
  async function verifyWebAuthn() {
    P.say(error, '');
    P.say(status, 'Follow your browser: touch your security key or unlock this device.');
    useWebAuthn.disabled = true;
    const c = await W.ceremony('get', challenge.webauthn);
    if (!c.ok) {
      useWebAuthn.disabled = false;
      if (c.cancelled && challenge.webauthn.userVerification !== 'required') {
        P.say(status, c.message);
      } else {
        fail(c.message);
      }
      useWebAuthn.focus();
      return;
    }
    P.say(status, 'Checking…');
    const body = { method: 'webauthn', credential: c.credential };
    const r = await P.api('POST', '/api/v1/step-up/' + encodeURIComponent(challenge.challenge_id) + '/verify', body);
    if (r.ok) {
      P.say(status, 'Thank you. Taking you back…');
      location.replace(P.verifiedTarget(r.data.return_to) || P.base + 'account');
      return;
    }
    P.say(status, '');
    useWebAuthn.disabled = false;
    switch (r.data.error) {
      case 'invalid_code':
      case 'code_already_used':
        return start(true, 'Your security key or passkey was not accepted: ' + W.reasonOf(r.data) + '.');
      case 'factor_locked':
        return fail(r.retryAfter
          ? 'Too many failed tries. Your security key is locked until ' +
            P.formatClock(Date.now() / 1000 + r.retryAfter) + ' (in ' + P.formatWait(r.retryAfter) + ').'
          : 'Too many failed tries. Your security key is locked for now; try again later.');
      case 'rate_limited':
        fail(P.describe(r));
        return P.holdButton(useWebAuthn, r.retryAfter || 1);
      case 'invalid_challenge':
      case 'not_found':
        return start(true);
      case 'invalid_token':
        location.replace(P.loginUrl(thisPage()));
        return;
      default:
        return fail(P.describe(r));
    }
  }

  async function verify() {
    const input = mode === 'recovery_code' ? recoveryInput : totpInput;
    const code = input.value.replace(/\s+/g, '');
    invalid(input, false);
    if (mode === 'totp' && !/^[0-9]{6,8}$/.test(code)) {
      invalid(input, true);
      input.focus();
      return fail('Enter the 6-digit code from your authenticator app.');
    }
    if (mode === 'recovery_code' && code.length < 4) {
      invalid(input, true);
      input.focus();
      return fail('Enter one of your recovery codes.');
    }
    P.say(error, '');
    P.say(status, 'Checking…');
    submit.disabled = true;
    const r = await P.api('POST', '/api/v1/step-up/' + encodeURIComponent(challenge.challenge_id) + '/verify',
                          { method: mode, code });
    if (r.ok) {
      P.say(status, 'Thank you. Taking you back…');
      location.replace(P.verifiedTarget(r.data.return_to) || P.base + 'account');
      return;
    }
    submit.disabled = false;
    P.say(status, '');
    switch (r.data.error) {
      case 'invalid_code':
      case 'code_already_used':
        input.value = '';
        invalid(input, true);
        input.focus();
        return fail(P.describe(r));
      case 'factor_locked':
      case 'rate_limited': {
        fail(P.describe(r));
        P.holdButton(submit, r.retryAfter || 1, () => {
          P.say(error, '');
          P.say(status, 'You can try again now.');
        });
        return;
      }
      case 'invalid_challenge':
      case 'not_found':
        input.value = '';
        return start(true);
      case 'invalid_token':
        location.replace(P.loginUrl(thisPage()));
        return;
      default:
        return fail(P.describe(r));
    }
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!submit.disabled && challenge) verify();
  });
  useWebAuthn.addEventListener('click', () => {
    if (!useWebAuthn.disabled && challenge) verifyWebAuthn();
  });
  useRecovery.addEventListener('click', () => setMode('recovery_code'));
  useTotp.addEventListener('click', () => setMode('totp'));
  totpInput.addEventListener('input', () => invalid(totpInput, false));
  recoveryInput.addEventListener('input', () => invalid(recoveryInput, false));
  $('restart').addEventListener('click', () => start(false));
  $('cancel').addEventListener('click', (ev) => {
    // Back to where the user came from; the link's href is the fallback.
    if (history.length > 1) {
      ev.preventDefault();
      history.back();
    }
  });

  start(false);
})();
