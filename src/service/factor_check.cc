#include "service/factor_check.h"

#include <boost/json.hpp>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "factors/recovery_codes.h"
#include "factors/webauthn.h"
#include "service/webauthn_rp.h"

namespace stepup::service {

namespace json = boost::json;

std::string_view method_of_factor_type(std::string_view type) {
  if (type == kFactorTotp) return kMethodTotp;
  if (type == kFactorRecovery) return kMethodRecovery;
  if (type == kFactorWebAuthn) return "hwk";
  return {};
}

FactorCheck::FactorCheck(const config::Config& cfg, store::Store& store, const Clock& clock,
                         const factors::SecretBox& box, Audit& audit)
    : cfg_(cfg), store_(store), clock_(clock), box_(box), audit_(audit) {}

factors::TotpParams FactorCheck::configured_totp() const {
  factors::TotpParams p;
  p.alg =
      factors::totp_alg_from_string(cfg_.factors.totp.algorithm).value_or(factors::TotpAlg::kSha1);
  p.digits = cfg_.factors.totp.digits;
  p.period = static_cast<int>(cfg_.factors.totp.period);
  return p;
}

// Stored form: {"alg":"SHA1","digits":6,"period":30,"sealed":"v1...."}; the
// parameters stay with the factor so a config change does not break it.
std::string FactorCheck::seal_totp(std::string_view factor_id, std::string_view secret,
                                   const factors::TotpParams& p) const {
  json::object o;
  o["alg"] = std::string(factors::to_string(p.alg));
  o["digits"] = p.digits;
  o["period"] = p.period;
  o["sealed"] = box_.seal(secret, factor_id);
  return json::serialize(o);
}

std::optional<std::pair<std::string, factors::TotpParams>> FactorCheck::open_totp(
    const store::Factor& f) const {
  std::error_code ec;
  auto v = json::parse(f.secret, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  const auto* alg = o.if_contains("alg");
  const auto* digits = o.if_contains("digits");
  const auto* period = o.if_contains("period");
  const auto* sealed = o.if_contains("sealed");
  if (!alg || !alg->is_string() || !digits || !digits->is_int64() || !period ||
      !period->is_int64() || !sealed || !sealed->is_string()) {
    return std::nullopt;
  }
  factors::TotpParams p;
  auto a = factors::totp_alg_from_string(alg->get_string());
  if (!a) return std::nullopt;
  p.alg = *a;
  p.digits = static_cast<int>(digits->get_int64());
  p.period = static_cast<int>(period->get_int64());
  auto secret = box_.open(std::string_view(sealed->get_string()), f.id);
  if (!secret) return std::nullopt;
  return std::make_pair(std::move(*secret), p);
}

store::LockoutPolicy FactorCheck::lockout() const {
  return store::LockoutPolicy{cfg_.lockout.max_failures, cfg_.lockout.base_delay,
                              cfg_.lockout.max_delay};
}

Result<store::FactorAttempt> FactorCheck::begin(const store::Factor& f) {
  const auto now = clock_.now();
  auto a = store_.reserve_factor_attempt(f.id, now, lockout());
  if (!a) return fail(ErrorCode::kUnavailable, "The factor store is unavailable");
  if (!a->reserved) {
    Error e{ErrorCode::kFactorLocked,
            "Too many wrong codes. Try again after the lock ends.",
            {},
            {},
            std::max<core::Seconds>(1, a->factor.locked_until - now)};
    return tl::unexpected(std::move(e));
  }
  return std::move(*a);
}

void FactorCheck::failed(const store::FactorAttempt& a, const AuditContext& ctx,
                         std::string_view why) {
  const auto now = clock_.now();
  const store::Factor& f = a.factor;
  json::object d{{"factor_id", f.id}, {"type", f.type}, {"reason", why}, {"failures", f.failures}};
  audit_.record(now, "step_up.failed", ctx, json::serialize(d));
  if (a.last_of_window) {
    // The lock itself was written by the reservation; this is its record.
    json::object l{{"factor_id", f.id}, {"failures", f.failures}, {"locked_until", f.locked_until}};
    audit_.record(now, "factor.locked", ctx, json::serialize(l));
  }
}

Result<FactorProof> FactorCheck::totp(std::int64_t user_id, std::string_view factor_id,
                                      std::string_view code, const AuditContext& ctx,
                                      bool allow_unconfirmed) {
  auto all = store_.list_factors(user_id);
  if (!all) return fail(ErrorCode::kUnavailable, "The factor store is unavailable");
  const store::Factor* chosen = nullptr;
  for (const auto& f : *all) {
    if (f.type != kFactorTotp) continue;
    if (!factor_id.empty() && f.id != factor_id) continue;
    if (!f.confirmed && !(allow_unconfirmed && f.id == factor_id)) continue;
    chosen = &f;  // with several TOTP factors and no id: the most recent one
  }
  if (!chosen) return fail(ErrorCode::kInvalidCode, "The code is not valid");
  auto attempt = begin(*chosen);
  if (!attempt) return tl::unexpected(attempt.error());
  const store::Factor& f = attempt->factor;
  auto opened = open_totp(f);
  if (!opened) return fail(ErrorCode::kInternal, "The TOTP secret cannot be decrypted (key file?)");
  const auto& [secret, params] = *opened;
  const auto now = clock_.now();
  auto step = factors::totp_verify(secret, code, now, f.counter, params);
  if (!step) {
    // A code that matches a step already spent is a replay, not a typo.
    const bool replay =
        factors::totp_verify(secret, code, now, std::numeric_limits<std::int64_t>::min(), params)
            .has_value();
    failed(*attempt, ctx, replay ? "replay" : "wrong_code");
    if (replay)
      return fail(ErrorCode::kCodeReused, "This code was already used; wait for the next one");
    return fail(ErrorCode::kInvalidCode, "The code is not valid");
  }
  auto ok = store_.factor_succeeded(f.id, now, f.counter, *step, std::nullopt);
  if (!ok) {
    if (ok.error() == store::StoreError::kConflict) {
      failed(*attempt, ctx, "replay");
      return fail(ErrorCode::kCodeReused, "This code was already used; wait for the next one");
    }
    return fail(ErrorCode::kUnavailable, "The factor store is unavailable");
  }
  return FactorProof{std::string(kMethodTotp), f.id, -1, {}, 0};
}

Result<FactorProof> FactorCheck::recovery_code(std::int64_t user_id, std::string_view code,
                                               const AuditContext& ctx) {
  auto all = store_.list_factors(user_id);
  if (!all) return fail(ErrorCode::kUnavailable, "The factor store is unavailable");
  const store::Factor* chosen = nullptr;
  for (const auto& f : *all) {
    if (f.type == kFactorRecovery && f.confirmed) chosen = &f;
  }
  if (!chosen) return fail(ErrorCode::kInvalidCode, "The code is not valid");
  auto attempt = begin(*chosen);
  if (!attempt) return tl::unexpected(attempt.error());
  const store::Factor& f = attempt->factor;
  const auto now = clock_.now();
  std::error_code ec;
  auto v = json::parse(f.secret, ec);
  if (ec || !v.is_array()) return fail(ErrorCode::kInternal, "The recovery codes are unreadable");
  auto normalized = factors::normalize_recovery_code(code);
  const std::string probe = factors::recovery_code_hash(normalized.value_or(""));
  json::array rest;
  bool found = false;
  for (const auto& h : v.as_array()) {
    if (!h.is_string()) continue;
    // Compare every entry; keep all but the match.
    const bool match = normalized.has_value() &&
                       crypto::constant_time_equal(std::string_view(h.get_string()), probe);
    if (match && !found) {
      found = true;
    } else {
      rest.push_back(h);
    }
  }
  if (!found) {
    failed(*attempt, ctx, "wrong_code");
    return fail(ErrorCode::kInvalidCode, "The code is not valid");
  }
  const int remaining = static_cast<int>(rest.size());
  auto ok = store_.factor_succeeded(f.id, now, f.counter, f.counter + 1, json::serialize(rest));
  if (!ok) {
    if (ok.error() == store::StoreError::kConflict) {
      return fail(ErrorCode::kCodeReused, "This recovery code was just used");
    }
    return fail(ErrorCode::kUnavailable, "The factor store is unavailable");
  }
  json::object d{{"factor_id", f.id}, {"remaining", remaining}};
  audit_.record(now, "recovery_code.used", ctx, json::serialize(d));
  return FactorProof{std::string(kMethodRecovery), f.id, remaining, {}, 0};
}

}  // namespace stepup::service

namespace stepup::service {

std::string FactorCheck::webauthn_factor_id(std::string_view credential_id) {
  return "wa_" + crypto::base64url_encode(crypto::sha256(credential_id)).substr(0, 27);
}

Result<FactorProof> FactorCheck::webauthn(std::int64_t user_id, const WebAuthnAssertion& a,
                                          std::string_view expected_challenge, bool require_uv,
                                          const AuditContext& ctx) {
  namespace wa = factors::webauthn;
  auto f = store_.find_factor(webauthn_factor_id(a.credential_id));
  if (!f || f->type != kFactorWebAuthn || !f->confirmed ||
      (user_id != 0 && f->user_id != user_id)) {
    if (!f && f.error() != store::StoreError::kNotFound) {
      return fail(ErrorCode::kUnavailable, "The factor store is unavailable");
    }
    return fail(ErrorCode::kInvalidCode, "This security key or passkey is not registered here");
  }
  auto stored = parse_webauthn_record(*f);
  if (!stored) return fail(ErrorCode::kInternal, "The stored credential is unreadable");
  auto after = begin(*f);
  if (!after) return tl::unexpected(after.error());
  wa::RpConfig rp = rp_config(cfg_);
  rp.require_uv = require_uv;
  wa::AssertionInput in;
  in.credential_id = a.credential_id;
  in.client_data_json = a.client_data_json;
  in.authenticator_data = a.authenticator_data;
  in.signature = a.signature;
  in.expected_challenge = std::string(expected_challenge);
  auto r = wa::verify_assertion(rp, stored->cred, in);
  const auto now = clock_.now();
  if (!r) {
    if (r.error() == wa::Error::kSignCountRegression) {
      audit_.record(
          now, "webauthn.clone_suspected", ctx,
          json::serialize(json::object{{"factor_id", f->id}, {"stored_count", f->counter}}));
    }
    failed(*after, ctx, wa::to_string(r.error()));
    if (r.error() == wa::Error::kUserNotVerified) {
      return fail(ErrorCode::kInvalidCode,
                  "This step needs user verification (PIN or biometric) on your key");
    }
    return fail(ErrorCode::kInvalidCode,
                std::string("The security key response was not accepted: ") +
                    std::string(wa::to_string(r.error())));
  }
  auto ok = store_.factor_succeeded(f->id, now, f->counter, r->new_sign_count, std::nullopt);
  if (!ok) {
    if (ok.error() == store::StoreError::kConflict) {
      return fail(ErrorCode::kCodeReused, "This assertion was already used");
    }
    return fail(ErrorCode::kUnavailable, "The factor store is unavailable");
  }
  FactorProof p;
  auto methods = wa::methods_for(r->uv, stored->cred.backup_eligible);
  p.method = methods.empty() ? "hwk" : methods.front();
  for (std::size_t i = 1; i < methods.size(); ++i) p.extra_methods.push_back(methods[i]);
  p.factor_id = f->id;
  p.user_id = f->user_id;
  return p;
}

}  // namespace stepup::service
