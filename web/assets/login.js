// /login?return_to=...: password sign-in, then back to return_to when it is a
// path on this site (or a URL on this origin), else to /account. A foreign
// return_to is ignored rather than followed: the login page must not be an
// open redirect. "Sign in with a passkey" does the same after a usernameless
// WebAuthn ceremony (discoverable credential, user verification required).
(function () {
  'use strict';
  const P = window.stepupPage;
  const form = P.byId('login-form');
  const username = P.byId('username');
  const password = P.byId('password');
  const submit = P.byId('login-submit');
  const error = P.byId('error');
  const status = P.byId('status');

  const params = new URLSearchParams(location.search);
  const target = P.sameOriginTarget(params.get('return_to')) || P.base + 'account';

  function invalid(field, yes) {
    if (yes) field.setAttribute('aria-invalid', 'true');
    else field.removeAttribute('aria-invalid');
  }

  function fail(text, field) {
    P.say(status, '');
    P.say(error, text);
    if (field) {
      invalid(field, true);
      field.focus();
    }
  }

  // Someone already signed in gets a way on without typing anything.
  (async () => {
    const r = await P.api('GET', '/api/v1/session');
    if (r.ok && r.data.subject) {
      P.byId('signed-in-name').textContent = r.data.subject;
      P.byId('continue-link').href = target;
      P.byId('signed-in').hidden = false;
    }
  })();

  username.addEventListener('input', () => invalid(username, false));
  password.addEventListener('input', () => invalid(password, false));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (submit.disabled) return;
    invalid(username, false);
    invalid(password, false);
    if (!username.value.trim()) return fail('Enter your username.', username);
    if (!password.value) return fail('Enter your password.', password);

    P.say(error, '');
    P.say(status, 'Signing in…');
    submit.disabled = true;
    const r = await P.api('POST', '/api/v1/login/password', {
      username: username.value.trim(),
      password: password.value,
    });
    if (r.ok) {
      P.say(status, 'Signed in. Taking you back…');
      location.replace(target);
      return;
    }
    submit.disabled = false;
    switch (r.data.error) {
      case 'invalid_credentials':
        password.value = '';
        invalid(username, true);
        return fail(P.describe(r), password);
      case 'rate_limited':
      case 'overloaded':
      case 'unavailable': {
        const wait = r.retryAfter || 1;
        fail(P.describe(r));
        P.holdButton(submit, wait, () => {
          P.say(error, '');
          P.say(status, 'You can try again now.');
        });
        return;
      }
      default:
        return fail(P.describe(r));
    }
  });

  // ---- passkey ------------------------------------------------------------

  const W = window.stepupWebAuthn;
  const passkey = P.byId('passkey-login');

  async function passkeyLogin() {
    P.say(error, '');
    P.say(status, 'Follow your browser: choose your passkey and unlock it.');
    passkey.disabled = true;
    const o = await P.api('POST', '/api/v1/login/webauthn/options');
    if (!o.ok) {
      passkey.disabled = false;
      if (o.data.error === 'not_found') return fail('Passkey sign-in is not turned on for this site.');
      if (o.data.error === 'rate_limited') {
        fail(P.describe(o));
        return P.holdButton(passkey, o.retryAfter || 1);
      }
      return fail(P.describe(o));
    }
    const c = await W.ceremony('get', o.data.publicKey || {});
    if (!c.ok) {
      passkey.disabled = false;
      if (c.cancelled) {
        P.say(error, '');
        P.say(status, 'No passkey was used. You can try again, or sign in with your password.');
      } else {
        fail(c.message);
      }
      passkey.focus();
      return;
    }
    P.say(status, 'Signing in…');
    const r = await P.api('POST', '/api/v1/login/webauthn', { challenge_id: o.data.challenge_id, credential: c.credential });
    if (r.ok) {
      P.say(status, 'Signed in. Taking you back…');
      location.replace(target);
      return;
    }
    passkey.disabled = false;
    switch (r.data.error) {
      case 'invalid_credentials':
        fail('That passkey was not accepted here. It may have been removed from your account, or it ' +
             'could not verify you (PIN or biometric). Sign in with your password instead.');
        return passkey.focus();
      case 'factor_locked':
        return fail('Too many failed tries with this passkey. Sign in with your password, or try again later.');
      case 'rate_limited':
        fail(P.describe(r));
        return P.holdButton(passkey, r.retryAfter || 1);
      default:
        return fail(P.describe(r));
    }
  }

  if (W.supported()) {
    P.byId('passkey-box').hidden = false;
    passkey.addEventListener('click', () => {
      if (!passkey.disabled) passkeyLogin();
    });
  }

  username.focus();
})();
