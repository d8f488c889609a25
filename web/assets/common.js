// Shared helpers for the hosted pages (/login, /step-up, /account).
//
// Everything the server says is put on the page with textContent, never as
// HTML. API calls are same-origin fetches that carry the session cookie; the
// browser adds the Origin header the server checks on POST/DELETE.
// Exposes window.stepupPage.
(function () {
  'use strict';

  // Directory the pages are served from ("/" or, behind a proxy, "/auth/"),
  // so the pages and API calls work at the origin root or under a prefix.
  const base = location.pathname.replace(/[^/]*$/, '');

  // One API exchange. Resolves {ok, status, data, retryAfter}; never rejects:
  // a network failure becomes status 0 with error "network_error".
  async function api(method, path, body) {
    const init = {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json' },
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(base + path.replace(/^\//, ''), init);
    } catch (e) {
      return {
        ok: false, status: 0, retryAfter: 0,
        data: { error: 'network_error', error_description: 'The server could not be reached.' },
      };
    }
    let data = null;
    try {
      const text = await res.text();
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
    if (!res.ok && (!data || typeof data.error !== 'string')) {
      data = { error: 'http_' + res.status, error_description: 'The server answered ' + res.status + '.' };
    }
    const ra = parseInt(res.headers.get('Retry-After') || '', 10);
    return {
      ok: res.ok,
      status: res.status,
      data: data || {},
      retryAfter: Number.isFinite(ra) && ra > 0 ? ra : 0,
    };
  }

  // A path on this site: starts with exactly one "/" (not "//" or "/\", which
  // browsers treat as another host), no control characters or backslashes.
  function localPath(s) {
    if (typeof s !== 'string' || s.length === 0 || s.length > 2048) return null;
    if (s[0] !== '/' || s[1] === '/' || s[1] === '\\') return null;
    if (/[\u0000-\u001f\u007f\\]/.test(s)) return null;
    return s;
  }

  // A local path, or an absolute http(s) URL on this very origin.
  function sameOriginTarget(s) {
    if (localPath(s)) return s;
    if (typeof s !== 'string' || !/^https?:\/\//i.test(s) || /[\u0000-\u001f\u007f\\]/.test(s)) return null;
    try {
      const u = new URL(s);
      if (u.origin !== location.origin || u.username || u.password) return null;
      return u.pathname + u.search + u.hash;
    } catch (e) {
      return null;
    }
  }

  // Where to go after a step-up: the server validated return_to against its
  // allowed origins already; here only the shape is checked again (a local
  // path or an http(s) URL) so no other scheme can ever be navigated to.
  function verifiedTarget(s) {
    if (localPath(s)) return s;
    if (typeof s !== 'string' || !/^https?:\/\//i.test(s) || /[\u0000-\u001f\u007f\\]/.test(s)) return null;
    try {
      const u = new URL(s);
      return u.username || u.password ? null : u.href;
    } catch (e) {
      return null;
    }
  }

  // "1 minute 5 seconds", "30 seconds", "2 hours 3 minutes".
  function formatWait(seconds) {
    seconds = Math.max(1, Math.ceil(seconds));
    const plural = (n, w) => n + ' ' + w + (n === 1 ? '' : 's');
    if (seconds < 60) return plural(seconds, 'second');
    const m = Math.floor(seconds / 60);
    const s = seconds % 60;
    if (m < 60) return plural(m, 'minute') + (s ? ' ' + plural(s, 'second') : '');
    const h = Math.floor(m / 60);
    return plural(h, 'hour') + (m % 60 ? ' ' + plural(m % 60, 'minute') : '');
  }

  function formatClock(unixSeconds) {
    return new Date(unixSeconds * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  function formatDate(unixSeconds) {
    if (!unixSeconds) return 'never';
    return new Date(unixSeconds * 1000).toLocaleString([], {
      year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
    });
  }

  // "just now", "5 minutes ago", "yesterday"-ish; falls back to the date.
  function formatAgo(unixSeconds) {
    if (!unixSeconds) return 'never';
    const d = Date.now() / 1000 - unixSeconds;
    if (d < 60) return 'just now';
    if (d < 3600) return Math.floor(d / 60) + ' min ago';
    if (d < 86400) return Math.floor(d / 3600) + ' h ago';
    return formatDate(unixSeconds);
  }

  // Plain words for an API error. `retryAfter` (seconds) comes from the header.
  function describe(r) {
    const e = r.data || {};
    const wait = r.retryAfter;
    switch (e.error) {
      case 'invalid_credentials':
        return 'That username and password do not match. Check them and try again.';
      case 'invalid_code':
        return 'That code is not right. Check that you typed the code your app shows now, and try again.';
      case 'code_already_used':
        return 'That code was already used. Wait for your app to show a new code, then enter it.';
      case 'factor_locked':
        return wait
          ? 'Too many wrong codes. This method is locked until ' + formatClock(Date.now() / 1000 + wait) +
            ' (in ' + formatWait(wait) + ').'
          : 'Too many wrong codes. This method is locked for now; try again later.';
      case 'rate_limited':
        return 'Too many attempts. Please wait ' + formatWait(wait || 1) + ' before trying again.';
      case 'overloaded':
      case 'unavailable':
        return 'The server is busy. Please try again in a moment.';
      case 'invalid_challenge':
        return 'This check has expired. A new one was started: enter a fresh code.';
      case 'no_factor_enrolled':
        return 'You have no second factor that reaches this level yet.';
      case 'cross_origin_request':
        return 'This request was refused because it did not come from this site. Reload the page and try again.';
      case 'invalid_token':
        return 'Your session has ended. Please sign in again.';
      case 'network_error':
        return 'The server could not be reached. Check your connection and try again.';
      default:
        return e.error_description || 'Something went wrong (' + (e.error || r.status) + '). Please try again.';
    }
  }

  // Shows `text` in a live region; an empty string clears it.
  function say(el, text) {
    if (el) el.textContent = text || '';
  }

  // Disables `button` for `seconds`, then calls `done` (if given).
  function holdButton(button, seconds, done) {
    button.disabled = true;
    window.setTimeout(() => {
      button.disabled = false;
      if (done) done();
    }, Math.max(1, seconds) * 1000);
  }

  function loginUrl(returnTo) {
    return base + 'login?return_to=' + encodeURIComponent(returnTo);
  }

  function byId(id) {
    return document.getElementById(id);
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  window.stepupPage = {
    base, api, localPath, sameOriginTarget, verifiedTarget, formatWait, formatClock,
    formatDate, formatAgo, describe, say, holdButton, loginUrl, byId, el,
  };
})();
