// Single-page demo: sends a transfer with stepup.fetch (served by stepup at
// /stepup.js). stepup.fetch behaves like fetch; when the gateway answers 401
// with `insufficient_user_authentication` it opens the step-up dialog and
// retries the request once, so this code only sees the final answer.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const form = document.getElementById('spa-form');
  const result = document.getElementById('spa-result');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    result.textContent = 'Sending…';
    if (!window.stepup || typeof window.stepup.fetch !== 'function') {
      result.textContent = 'stepup.js did not load.';
      return;
    }
    const body = {
      payee: document.getElementById('spa-payee').value,
      amount: document.getElementById('spa-amount').value,
    };
    try {
      const res = await window.stepup.fetch('/api/bank/transfer', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      const data = await res.json().catch(() => ({}));
      if (res.ok) {
        result.textContent = `Transfer ${data.id} sent: €${data.amount.toFixed(2)} to ${data.payee}` +
          ` (level ${data.acr}). Checking balance: €${data.balance.toFixed(2)}.`;
      } else {
        result.textContent = `Transfer refused (${res.status}): ` +
          (data.error_description || data.error || 'no second factor given');
      }
    } catch (err) {
      result.textContent = `Transfer not sent: ${err.message || err}`;
    }
  });
});
