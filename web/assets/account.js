// /account: the signed-in user's sessions and factors.
//
// Each change is a plain API call. When the server wants a fresh step-up
// first (401 insufficient_user_authentication, with acr_values and max_age in
// the body), the page sends the user to /step-up with return_to=/account and
// remembers which button they pressed, so that on return it can point them
// at it again; nothing is retried behind their back.
(function () {
  'use strict';
  const P = window.stepupPage;
  const $ = P.byId;
  const error = $('error');
  const status = $('status');
  const kPendingKey = 'stepup.account.pending';
  const accountPath = P.base + 'account';

  let factors = [];
  let enrolling = null;  // factor_id of a TOTP factor waiting for its first code
  let codesShown = [];

  function fail(text) {
    P.say(status, '');
    P.say(error, text);
  }
  function done(text) {
    P.say(error, '');
    P.say(status, text);
  }

  // An answer that is not ok. `action`: {id, label, factorId?} of the button
  // pressed, remembered across a step-up.
  function handle(r, action) {
    const e = r.data.error;
    if (e === 'invalid_token') {
      location.replace(P.loginUrl(accountPath));
      return;
    }
    if (e === 'insufficient_user_authentication' && r.data.acr_values) {
      try {
        sessionStorage.setItem(kPendingKey, JSON.stringify(action || {}));
      } catch (err) { /* private mode: the user just presses the button again */ }
      const q = new URLSearchParams();
      q.set('acr', r.data.acr_values);
      if (typeof r.data.max_age === 'number') q.set('max_age', String(r.data.max_age));
      q.set('return_to', accountPath);
      if (r.data.error_description) q.set('reason', String(r.data.error_description).slice(0, 200));
      location.assign(P.base + 'step-up?' + q.toString());
      return;
    }
    fail(P.describe(r));
  }

  // ---- who am I ----------------------------------------------------------

  const kMethodWords = {
    pwd: 'password', otp: 'one-time code', hwk: 'security key', swk: 'synced passkey',
    sms: 'text message', mfa: 'several factors', user: 'PIN or biometric',
  };

  function renderWho(s) {
    const who = $('who');
    who.textContent = '';
    who.append('Signed in as ', P.el('strong', '', s.subject), '. Current level: ',
               P.el('strong', '', s.acr));
    const methods = (s.amr || []).map((m) => kMethodWords[m] || m);
    if (methods.length) who.append(' (' + methods.join(' + ') + ')');
    if (s.elevated_until) who.append(', held until ' + P.formatClock(s.elevated_until));
    who.append('.');
  }

  // ---- factors -----------------------------------------------------------

  // A factor's own name, unless it only repeats its kind.
  function distinct(name, kind) {
    return typeof name === 'string' && name.trim() !== '' && name.trim().toLowerCase() !== kind;
  }

  function factorLabel(f) {
    switch (f.type) {
      case 'password': return 'Password';
      case 'totp': return distinct(f.name, 'authenticator app') ? 'Authenticator app (' + f.name + ')' : 'Authenticator app';
      case 'recovery_codes': return 'Recovery codes';
      case 'webauthn': return webauthnLabel(f.name);
      default: return f.name || f.type;
    }
  }

  // The server names an unnamed key "Security key" or "Passkey" (synced);
  // a name the user chose is shown after the kind.
  function webauthnLabel(name) {
    const n = typeof name === 'string' ? name.trim() : '';
    if (!n || /^(security key|passkey)$/i.test(n)) return n || 'Security key';
    return 'Security key or passkey (' + n + ')';
  }

  function renderFactors() {
    const list = $('factors-list');
    list.textContent = '';
    for (const f of factors) {
      const li = P.el('li');
      li.dataset.factorId = f.id;
      li.dataset.type = f.type;
      const main = P.el('div', 'item-main');
      const title = P.el('div', 'item-title', factorLabel(f));
      if (!f.confirmed) title.append(P.el('span', 'badge pending', 'Not confirmed'));
      if (f.locked_until) title.append(P.el('span', 'badge pending', 'Locked until ' + P.formatClock(f.locked_until)));
      const meta = [];
      if (f.type === 'recovery_codes' && typeof f.remaining === 'number') {
        meta.push(f.remaining + (f.remaining === 1 ? ' code left' : ' codes left'));
      }
      meta.push('added ' + P.formatDate(f.created_at));
      if (f.type !== 'password') meta.push('last used ' + P.formatAgo(f.last_used_at));
      main.append(title, P.el('div', 'item-meta', meta.join(' · ')));
      li.append(main);
      if (f.type !== 'password') {
        const b = P.el('button', 'danger remove-factor', 'Remove');
        b.type = 'button';
        b.dataset.factorId = f.id;
        b.setAttribute('aria-label', 'Remove ' + factorLabel(f));
        li.append(b);
      }
      list.append(li);
    }
    if (!factors.length) list.append(P.el('li', 'empty', 'No sign-in methods found.'));
    const hasCodes = factors.some((f) => f.type === 'recovery_codes' && f.confirmed);
    $('regen-recovery').textContent = hasCodes ? 'Create new recovery codes' : 'Create recovery codes';
  }

  async function loadFactors() {
    const r = await P.api('GET', '/api/v1/factors');
    if (!r.ok) return handle(r);
    factors = Array.isArray(r.data.factors) ? r.data.factors : [];
    renderFactors();
    $('factors').hidden = false;
  }

  // ---- sessions ----------------------------------------------------------

  function deviceName(ua) {
    if (!ua) return 'Unknown device';
    let browser = null;
    if (/Edg\//.test(ua)) browser = 'Edge';
    else if (/OPR\//.test(ua)) browser = 'Opera';
    else if (/Firefox\//.test(ua)) browser = 'Firefox';
    else if (/Chrom(e|ium)\//.test(ua)) browser = 'Chrome';
    else if (/Safari\//.test(ua)) browser = 'Safari';
    else browser = ua.split(/[\/\s]/)[0].slice(0, 40) || 'Unknown client';
    let os = null;
    if (/Windows/.test(ua)) os = 'Windows';
    else if (/Android/.test(ua)) os = 'Android';
    else if (/iPhone|iPad|iPod/.test(ua)) os = 'iOS';
    else if (/Mac OS X|Macintosh/.test(ua)) os = 'macOS';
    else if (/CrOS/.test(ua)) os = 'ChromeOS';
    else if (/Linux/.test(ua)) os = 'Linux';
    return os ? browser + ' on ' + os : browser;
  }

  function renderSessions(sessions) {
    const list = $('sessions-list');
    list.textContent = '';
    for (const s of sessions) {
      const name = deviceName(s.user_agent);
      const li = P.el('li');
      li.dataset.sessionId = s.id;
      li.dataset.current = s.current ? 'true' : 'false';
      const main = P.el('div', 'item-main');
      const title = P.el('div', 'item-title', name);
      if (s.current) title.append(P.el('span', 'badge', 'This browser'));
      const meta = [];
      if (s.ip) meta.push(s.ip);
      meta.push('signed in ' + P.formatDate(s.created_at));
      meta.push('last active ' + P.formatAgo(s.last_seen_at));
      if (s.acr) meta.push('level ' + s.acr);
      main.append(title, P.el('div', 'item-meta', meta.join(' · ')));
      const b = P.el('button', 'secondary revoke-session', s.current ? 'Sign out here' : 'Sign out');
      b.type = 'button';
      b.dataset.sessionId = s.id;
      b.dataset.current = li.dataset.current;
      b.setAttribute('aria-label', (s.current ? 'Sign out of this browser' : 'Sign out ' + name) +
                     ', signed in ' + P.formatDate(s.created_at));
      li.append(main, b);
      list.append(li);
    }
    if (!sessions.length) list.append(P.el('li', 'empty', 'No active sessions.'));
  }

  async function loadSessions() {
    const r = await P.api('GET', '/api/v1/sessions');
    if (!r.ok) return handle(r);
    renderSessions(Array.isArray(r.data.sessions) ? r.data.sessions : []);
    $('sessions').hidden = false;
  }

  async function logout() {
    const r = await P.api('POST', '/api/v1/logout', {});
    if (r.ok || r.data.error === 'invalid_token') {
      location.replace(P.base + 'login');
      return;
    }
    fail(P.describe(r));
  }

  // ---- TOTP enrollment ---------------------------------------------------

  // The QR code arrives as SVG text: shown as an <img> from a data: URL, so
  // whatever it contains is an image, never part of this document.
  function svgDataUrl(svg) {
    const bytes = new TextEncoder().encode(svg);
    let bin = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return 'data:image/svg+xml;base64,' + btoa(bin);
  }

  async function startEnroll() {
    const button = $('enroll-totp');
    button.disabled = true;
    P.say(error, '');
    const r = await P.api('POST', '/api/v1/factors/totp');
    button.disabled = false;
    if (!r.ok) return handle(r, { id: 'enroll-totp', label: 'Add an authenticator app' });
    enrolling = r.data.factor_id;
    const qr = $('totp-qr');
    if (typeof r.data.qr_svg === 'string' && r.data.qr_svg.trim().startsWith('<')) {
      qr.src = svgDataUrl(r.data.qr_svg);
      qr.hidden = false;
    } else {
      qr.removeAttribute('src');
      qr.hidden = true;
    }
    $('totp-secret').textContent = r.data.secret || '';
    const uri = $('totp-uri');
    if (typeof r.data.otpauth_uri === 'string' && r.data.otpauth_uri.startsWith('otpauth://')) {
      uri.href = r.data.otpauth_uri;
      uri.hidden = false;
    } else {
      uri.hidden = true;
    }
    $('confirm-code').value = '';
    $('enroll-panel').hidden = false;
    button.hidden = true;
    P.say(status, '');
    $('enroll-title').focus();
    loadFactors();
  }

  function closeEnroll() {
    enrolling = null;
    $('enroll-panel').hidden = true;
    $('totp-qr').removeAttribute('src');
    $('totp-secret').textContent = '';
    $('confirm-code').value = '';
    $('enroll-totp').hidden = false;
  }

  async function confirmEnroll() {
    const input = $('confirm-code');
    const code = input.value.replace(/\s+/g, '');
    input.removeAttribute('aria-invalid');
    if (!/^[0-9]{6,8}$/.test(code)) {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return fail('Enter the 6-digit code your authenticator app shows.');
    }
    const submit = $('confirm-submit');
    submit.disabled = true;
    const r = await P.api('POST', '/api/v1/factors/totp/' + encodeURIComponent(enrolling) + '/confirm', { code });
    submit.disabled = false;
    if (!r.ok) {
      if (r.data.error === 'invalid_code' || r.data.error === 'code_already_used') {
        input.value = '';
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return fail(P.describe(r));
      }
      if (r.data.error === 'rate_limited' || r.data.error === 'factor_locked') {
        fail(P.describe(r));
        return P.holdButton(submit, r.retryAfter || 1);
      }
      return handle(r, { id: 'enroll-totp', label: 'Add an authenticator app' });
    }
    closeEnroll();
    await loadFactors();
    const hasCodes = factors.some((f) => f.type === 'recovery_codes' && f.confirmed);
    done('Your authenticator app is set up.' +
         (hasCodes ? '' : ' Next, create recovery codes so you can still get in without your phone.'));
    (hasCodes ? $('enroll-totp') : $('regen-recovery')).focus();
    loadSessions();
  }

  async function cancelEnroll() {
    const id = enrolling;
    closeEnroll();
    $('enroll-totp').focus();
    // The unconfirmed factor is useless; try to drop it (may need a step-up,
    // in which case it simply stays listed as "Not confirmed").
    if (id) await P.api('DELETE', '/api/v1/factors/' + encodeURIComponent(id));
    loadFactors();
  }

  // ---- security keys and passkeys -----------------------------------------

  const W = window.stepupWebAuthn;
  const kAddWebAuthn = { id: 'add-webauthn', label: 'Add a security key or passkey' };

  // Options from the server, the browser's create() ceremony, then the
  // credential back to the server. A user who cancels in the browser's
  // dialog gets a calm note, not an error.
  async function addWebAuthn() {
    const button = $('add-webauthn');
    const nameInput = $('webauthn-name');
    const name = nameInput.value.trim();
    button.disabled = true;
    P.say(error, '');
    P.say(status, 'Asking the server to start…');
    const o = await P.api('POST', '/api/v1/factors/webauthn/options');
    if (!o.ok) {
      button.disabled = false;
      P.say(status, '');
      return handle(o, kAddWebAuthn);
    }
    P.say(status, 'Follow your browser: touch your security key or confirm with your device.');
    const c = await W.ceremony('create', o.data.publicKey || {});
    if (!c.ok) {
      button.disabled = false;
      if (c.cancelled) {
        P.say(error, '');
        P.say(status, c.message);
      } else {
        fail(c.message);
      }
      button.focus();
      return;
    }
    P.say(status, 'Saving…');
    const body = { challenge_id: o.data.challenge_id, credential: c.credential };
    if (name) body.name = name;
    const r = await P.api('POST', '/api/v1/factors/webauthn', body);
    button.disabled = false;
    if (!r.ok) {
      P.say(status, '');
      if (r.data.error === 'conflict') {
        fail('This security key or passkey is already registered.');
        return button.focus();
      }
      if (r.data.error === 'invalid_request') {
        fail('The security key or passkey was not accepted: ' + W.reasonOf(r.data) + '.');
        return button.focus();
      }
      return handle(r, kAddWebAuthn);
    }
    nameInput.value = '';
    await loadFactors();
    const methods = Array.isArray(r.data.methods) ? r.data.methods : [];
    done(webauthnLabel(r.data.name) + ' is added.' +
         (methods.includes('user') ? ' It also checks that it is you (PIN or biometric).' : ''));
    button.focus();
    loadSessions();
  }

  // ---- recovery codes ----------------------------------------------------

  async function regenerate() {
    const button = $('regen-recovery');
    button.disabled = true;
    P.say(error, '');
    const r = await P.api('POST', '/api/v1/factors/recovery-codes');
    button.disabled = false;
    if (!r.ok) return handle(r, { id: 'regen-recovery', label: button.textContent });
    codesShown = Array.isArray(r.data.codes) ? r.data.codes.map(String) : [];
    const list = $('recovery-codes-list');
    list.textContent = '';
    for (const c of codesShown) list.append(P.el('li', '', c));
    $('recovery-panel').hidden = false;
    P.say(status, '');
    $('recovery-title').focus();
    loadFactors();
    loadSessions();
  }

  function closeCodes() {
    codesShown = [];
    $('recovery-codes-list').textContent = '';
    $('recovery-panel').hidden = true;
    done('Recovery codes saved. Each one works once.');
    $('regen-recovery').focus();
  }

  async function copyCodes() {
    try {
      await navigator.clipboard.writeText(codesShown.join('\n') + '\n');
      done('The codes are copied. Paste them somewhere safe.');
    } catch (e) {
      fail('Copying is not available here; write the codes down or select and copy them.');
    }
  }

  // ---- removing and revoking ---------------------------------------------

  async function removeFactor(button) {
    const id = button.dataset.factorId;
    const f = factors.find((x) => x.id === id);
    button.disabled = true;
    const r = await P.api('DELETE', '/api/v1/factors/' + encodeURIComponent(id));
    button.disabled = false;
    if (!r.ok) return handle(r, { id: 'remove-factor', factorId: id, label: 'Remove' });
    done((f ? factorLabel(f) : 'The method') + ' was removed.');
    await loadFactors();
    $('factors-title').focus();
    loadSessions();
  }

  async function revokeSession(button) {
    if (button.dataset.current === 'true') return logout();
    button.disabled = true;
    const r = await P.api('DELETE', '/api/v1/sessions/' + encodeURIComponent(button.dataset.sessionId));
    button.disabled = false;
    if (!r.ok) return handle(r, { id: 'revoke-session', label: 'Sign out' });
    done('That session is signed out.');
    await loadSessions();
    $('sessions-title').focus();
  }

  // ---- after a step-up -----------------------------------------------------

  function resumeHint() {
    let pending = null;
    try {
      pending = JSON.parse(sessionStorage.getItem(kPendingKey) || 'null');
      sessionStorage.removeItem(kPendingKey);
    } catch (e) {
      pending = null;
    }
    if (!pending || !pending.id) return;
    done('You confirmed it is you. Now choose “' + (pending.label || 'the action') + '” again.');
    let target = null;
    if (pending.factorId) {
      target = document.querySelector('#factors-list button.remove-factor[data-factor-id="' +
                                      CSS.escape(pending.factorId) + '"]');
    } else {
      target = $(pending.id);
    }
    if (target) target.focus();
  }

  // ---- wiring --------------------------------------------------------------

  $('enroll-totp').addEventListener('click', startEnroll);
  $('webauthn-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!$('add-webauthn').disabled) addWebAuthn();
  });
  if (!W.supported()) {
    $('webauthn-form').hidden = true;
    $('webauthn-unsupported').hidden = false;
  }
  $('confirm-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (enrolling && !$('confirm-submit').disabled) confirmEnroll();
  });
  $('confirm-code').addEventListener('input', () => $('confirm-code').removeAttribute('aria-invalid'));
  $('enroll-cancel').addEventListener('click', cancelEnroll);
  $('regen-recovery').addEventListener('click', regenerate);
  $('recovery-done').addEventListener('click', closeCodes);
  $('copy-recovery').addEventListener('click', copyCodes);
  $('logout').addEventListener('click', logout);
  $('factors-list').addEventListener('click', (ev) => {
    const b = ev.target.closest('button.remove-factor');
    if (b && !b.disabled) removeFactor(b);
  });
  $('sessions-list').addEventListener('click', (ev) => {
    const b = ev.target.closest('button.revoke-session');
    if (b && !b.disabled) revokeSession(b);
  });
  for (const id of ['factors-title', 'sessions-title']) $(id).tabIndex = -1;

  (async () => {
    const r = await P.api('GET', '/api/v1/session');
    if (!r.ok) return handle(r);
    renderWho(r.data);
    $('logout').hidden = false;
    await Promise.all([loadFactors(), loadSessions()]);
    resumeHint();
  })();
})();
