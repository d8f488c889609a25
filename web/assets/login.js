// /login?return_to=...: password sign-in, then back to return_to when it is a
// path on this site (or a URL on this origin), else to /account. A foreign
// return_to is ignored rather than followed: the login page must not be an
// open redirect.
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

  username.focus();
})();
