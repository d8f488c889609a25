#include "service/enrollment.h"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "core/decision.h"
#include "crypto/random.h"
#include "factors/recovery_codes.h"
#include "factors/totp.h"
#include "service/webauthn_rp.h"

namespace stepup::service {

namespace json = boost::json;

std::optional<core::LevelIndex> strongest_level(const config::Config& cfg,
                                                const std::vector<store::Factor>& factors) {
  std::set<std::string> have;
  for (const auto& f : factors) {
    if (!f.confirmed) continue;
    if (f.type == kFactorWebAuthn) {
      // A synced passkey proves swk, a device-bound key hwk; "user" if it
      // verified the user at registration.
      auto rec = parse_webauthn_record(f);
      have.insert(rec && rec->cred.backup_eligible ? "swk" : "hwk");
      if (rec && rec->uv) have.insert("user");
      continue;
    }
    auto m = method_of_factor_type(f.type);
    if (!m.empty()) have.insert(std::string(m));
  }
  if (have.empty()) return std::nullopt;
  // Base-level methods (pwd) are assumed: the user signed in with them.
  if (auto base = cfg.levels.find(cfg.base_level)) {
    for (const auto& set : cfg.levels.at(*base).reached_by) {
      for (const auto& m : set) have.insert(m);
    }
  }
  std::optional<core::LevelIndex> best;
  for (int i = 0; i < cfg.levels.size(); ++i) {
    for (const auto& set : cfg.levels.at(i).reached_by) {
      if (std::all_of(set.begin(), set.end(),
                      [&](const std::string& m) { return have.count(m); })) {
        best = i;
      }
    }
  }
  return best;
}

Enrollment::Enrollment(const config::Config& cfg, store::Store& store, const Clock& clock,
                       Sessions& sessions, FactorCheck& check, Audit& audit)
    : cfg_(cfg), store_(store), clock_(clock), sessions_(sessions), check_(check), audit_(audit) {}

Result<void> Enrollment::require_fresh(const Authenticated& who) {
  auto fs = store_.list_factors(who.session.user_id);
  if (!fs) return fail(ErrorCode::kUnavailable, "The factor store is unavailable");
  auto level = strongest_level(cfg_, *fs);
  if (!level) return {};
  const auto now = clock_.now();
  const auto max_age = cfg_.step_up.enrollment_max_age;
  for (const auto& a : who.held) {
    if (a.level >= *level && a.until > now &&
        core::fresh_enough(a.reached_at, now, max_age, cfg_.tokens.clock_skew)) {
      return {};
    }
  }
  Error e{
      ErrorCode::kStepUpRequired,
      "Changing your security settings needs a recent " + cfg_.levels.at(*level).acr + " sign-in",
      cfg_.levels.at(*level).acr, max_age, 0};
  return tl::unexpected(std::move(e));
}

void Enrollment::after_change(const Authenticated& who, std::string_view event, std::string details,
                              const ClientInfo& client) {
  const auto now = clock_.now();
  audit_.record(
      now, event,
      AuditContext{who.session.subject, who.session.public_id, client.ip, client.user_agent},
      details);
  if (cfg_.step_up.revoke_other_sessions_on_factor_change) {
    auto n = store_.revoke_user_sessions(who.session.user_id, who.session.public_id, now);
    sessions_.invalidate_caches();
    if (n && *n > 0) {
      json::object d{{"revoked_sessions", *n}, {"because", event}};
      audit_.record(
          now, "session.revoked",
          AuditContext{who.session.subject, who.session.public_id, client.ip, client.user_agent},
          json::serialize(d));
    }
  }
}

Result<TotpEnrollment> Enrollment::create_totp(std::int64_t user_id, const std::string& account,
                                               std::string name, bool confirmed) {
  const auto now = clock_.now();
  const auto params = check_.configured_totp();
  const std::string secret = factors::totp_new_secret(params);
  store::Factor f;
  f.id = crypto::random_token(12);
  f.user_id = user_id;
  f.type = std::string(kFactorTotp);
  f.name = name.empty() ? "Authenticator app" : std::move(name);
  f.secret = check_.seal_totp(f.id, secret, params);
  f.confirmed = confirmed;
  f.created_at = now;
  // Codes from before enrollment never count.
  f.counter = factors::totp_step(now, params) - params.window - 1;
  if (!store_.add_factor(f)) return fail(ErrorCode::kUnavailable, "cannot store the factor");
  TotpEnrollment out;
  out.factor_id = f.id;
  out.secret_base32 = factors::base32_encode(secret);
  out.otpauth_uri = factors::otpauth_uri(cfg_.factors.totp.issuer, account, secret, params);
  out.qr_svg = factors::qr_svg(out.otpauth_uri);
  return out;
}

Result<TotpEnrollment> Enrollment::add_totp(const Authenticated& who, std::string name,
                                            const ClientInfo& client) {
  if (auto ok = require_fresh(who); !ok) return tl::unexpected(ok.error());
  auto out = create_totp(who.session.user_id, who.session.subject, std::move(name), false);
  if (!out) return out;
  audit_.record(
      clock_.now(), "factor.enrollment_started",
      AuditContext{who.session.subject, who.session.public_id, client.ip, client.user_agent},
      json::serialize(json::object{{"factor_id", out->factor_id}, {"type", "totp"}}));
  return out;
}

Result<TotpEnrollment> Enrollment::add_confirmed_totp(const store::User& user, std::string name) {
  auto out = create_totp(user.id, user.username, std::move(name), true);
  if (!out) return out;
  audit_.record(clock_.now(), "factor.added", AuditContext{user.username, "", "", "cli"},
                json::serialize(json::object{
                    {"factor_id", out->factor_id}, {"type", "totp"}, {"by", "operator"}}));
  return out;
}

Result<void> Enrollment::confirm_totp(const Authenticated& who, std::string_view factor_id,
                                      std::string_view code, const ClientInfo& client) {
  if (auto ok = require_fresh(who); !ok) return tl::unexpected(ok.error());
  auto f = store_.find_factor(factor_id);
  if (!f || f->user_id != who.session.user_id || f->type != kFactorTotp) {
    return fail(ErrorCode::kNotFound, "No such factor");
  }
  if (f->confirmed) return fail(ErrorCode::kConflict, "This factor is already confirmed");
  const AuditContext ctx{who.session.subject, who.session.public_id, client.ip, client.user_agent};
  auto proof = check_.totp(who.session.user_id, factor_id, code, ctx, true);
  if (!proof) return tl::unexpected(proof.error());
  auto fresh = store_.find_factor(factor_id);
  if (!fresh) return fail(ErrorCode::kUnavailable, "The factor store is unavailable");
  fresh->confirmed = true;
  if (!store_.update_factor(*fresh))
    return fail(ErrorCode::kUnavailable, "cannot update the factor");
  after_change(who, "factor.added",
               json::serialize(json::object{{"factor_id", fresh->id}, {"type", "totp"}}), client);
  return {};
}

Result<RecoveryCodes> Enrollment::new_recovery_codes(const Authenticated& who,
                                                     const ClientInfo& client) {
  if (auto ok = require_fresh(who); !ok) return tl::unexpected(ok.error());
  auto fs = store_.list_factors(who.session.user_id);
  if (!fs) return fail(ErrorCode::kUnavailable, "The factor store is unavailable");
  for (const auto& f : *fs) {
    if (f.type == kFactorRecovery) (void)store_.delete_factor(f.id);
  }
  RecoveryCodes out;
  out.codes = factors::generate_recovery_codes(cfg_.factors.recovery_code_count);
  json::array hashes;
  for (const auto& c : out.codes) {
    hashes.emplace_back(factors::recovery_code_hash(*factors::normalize_recovery_code(c)));
  }
  store::Factor f;
  f.id = crypto::random_token(12);
  f.user_id = who.session.user_id;
  f.type = std::string(kFactorRecovery);
  f.name = "Recovery codes";
  f.secret = json::serialize(hashes);
  f.confirmed = true;
  f.created_at = clock_.now();
  if (!store_.add_factor(f)) return fail(ErrorCode::kUnavailable, "cannot store the codes");
  out.factor_id = f.id;
  after_change(who, "factor.added",
               json::serialize(json::object{
                   {"factor_id", f.id}, {"type", "recovery_codes"}, {"count", out.codes.size()}}),
               client);
  return out;
}

Result<void> Enrollment::remove(const Authenticated& who, std::string_view factor_id,
                                const ClientInfo& client) {
  auto f = store_.find_factor(factor_id);
  if (!f || f->user_id != who.session.user_id) return fail(ErrorCode::kNotFound, "No such factor");
  // Removing an unconfirmed enrollment needs no step-up; anything else does.
  if (f->confirmed) {
    if (auto ok = require_fresh(who); !ok) return tl::unexpected(ok.error());
  }
  if (!store_.delete_factor(factor_id))
    return fail(ErrorCode::kUnavailable, "cannot delete the factor");
  if (f->confirmed) {
    after_change(who, "factor.removed",
                 json::serialize(json::object{{"factor_id", f->id}, {"type", f->type}}), client);
  }
  return {};
}

}  // namespace stepup::service
