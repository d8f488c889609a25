#include "service/step_up.h"

#include <algorithm>
#include <boost/json.hpp>

#include "core/return_to.h"
#include "crypto/encoding.h"
#include "crypto/random.h"
#include "service/webauthn_rp.h"

namespace stepup::service {

namespace json = boost::json;

namespace {
std::string api_type(std::string_view factor_type) {
  if (factor_type == kFactorRecovery) return "recovery_code";
  if (factor_type == kFactorWebAuthn) return "webauthn";
  return std::string(factor_type);
}

void record_proof(store::Session& s, const std::string& method, core::UnixTime now) {
  auto it = std::find_if(s.methods.begin(), s.methods.end(),
                         [&](const core::MethodProof& p) { return p.method == method; });
  if (it != s.methods.end()) {
    it->at = now;
  } else {
    s.methods.push_back(core::MethodProof{method, now});
  }
}

bool level_uses(const core::Level& l, std::string_view method) {
  for (const auto& set : l.reached_by) {
    if (std::find(set.begin(), set.end(), method) != set.end()) return true;
  }
  return false;
}
}  // namespace

StepUp::StepUp(const config::Config& cfg, store::Store& store, const Clock& clock,
               Sessions& sessions, FactorCheck& check, Audit& audit)
    : cfg_(cfg), store_(store), clock_(clock), sessions_(sessions), check_(check), audit_(audit) {
  allowed_origins_ = cfg_.allowed_return_origins;
  if (auto o = core::url_origin(cfg_.server.public_url); !o.empty()) allowed_origins_.push_back(o);
}

Result<std::vector<OfferedMethod>> StepUp::offer(std::int64_t user_id, core::LevelIndex level) {
  auto fs = store_.list_factors(user_id);
  if (!fs) return fail(ErrorCode::kUnavailable, "The factor store is unavailable");
  std::vector<OfferedMethod> out;
  const auto& l = cfg_.levels.at(level);
  for (const auto& f : *fs) {
    if (!f.confirmed || f.locked_until < 0) continue;
    if (f.type == kFactorWebAuthn) {
      // Offer a key only when what it can prove (hwk or swk, and user) plus
      // the base methods reaches the level: a synced passkey never reaches aal3.
      auto rec = parse_webauthn_record(f);
      if (!rec) continue;
      std::vector<core::MethodProof> would;
      if (auto base = cfg_.levels.find(cfg_.base_level)) {
        for (const auto& set : cfg_.levels.at(*base).reached_by) {
          for (const auto& m : set) would.push_back(core::MethodProof{m, 1});
        }
      }
      would.push_back(core::MethodProof{rec->cred.backup_eligible ? "swk" : "hwk", 1});
      would.push_back(core::MethodProof{"user", 1});
      bool reaches = false;
      for (const auto& a : cfg_.levels.attainments(would, 1)) reaches |= a.level >= level;
      if (!reaches) continue;
    } else {
      auto m = method_of_factor_type(f.type);
      if (m.empty() || !level_uses(l, m)) continue;
    }
    OfferedMethod om;
    om.type = api_type(f.type);
    om.factor_id = f.id;
    om.name = f.name;
    if (f.type == kFactorRecovery) {
      std::error_code ec;
      auto v = json::parse(f.secret, ec);
      om.remaining = (!ec && v.is_array()) ? static_cast<int>(v.as_array().size()) : 0;
      if (om.remaining == 0) continue;
    }
    out.push_back(std::move(om));
  }
  // Phishing-resistant first, the recovery-code fallback last.
  const auto rank = [](const OfferedMethod& m) {
    return m.type == "webauthn" ? 0 : m.type == "recovery_code" ? 2 : 1;
  };
  std::stable_sort(out.begin(), out.end(), [&](const OfferedMethod& a, const OfferedMethod& b) {
    return rank(a) < rank(b);
  });
  return out;
}

Result<StartedChallenge> StepUp::start(const Authenticated& who, const StepUpRequest& req,
                                       const ClientInfo& client) {
  const auto now = clock_.now();
  std::optional<core::LevelIndex> level;
  std::string_view rest = req.acr_values;
  while (!rest.empty() && !level) {
    auto sp = rest.find(' ');
    auto word = rest.substr(0, sp);
    if (!word.empty()) level = cfg_.levels.find(word);
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
  }
  if (!level) {
    return fail(ErrorCode::kInvalidRequest, "acr_values names no known level");
  }
  if (req.max_age && (*req.max_age < 0 || *req.max_age > 31 * 24 * 3600)) {
    return fail(ErrorCode::kInvalidRequest, "max_age must be between 0 and 2678400 seconds");
  }
  if (!req.return_to.empty() && !core::is_safe_return_to(req.return_to, allowed_origins_)) {
    return fail(ErrorCode::kInvalidRequest,
                "return_to must be a relative path or a URL on an allowed origin");
  }
  auto methods = offer(who.session.user_id, *level);
  if (!methods) return tl::unexpected(methods.error());
  const auto& lvl = cfg_.levels.at(*level);
  if (methods->empty()) {
    return fail(ErrorCode::kNoFactor,
                "No enrolled factor can reach " + lvl.acr + "; enroll one first");
  }
  StartedChallenge out;
  out.acr = lvl.acr;
  auto& c = out.challenge;
  c.id = crypto::random_token(24);
  c.session_public_id = who.session.public_id;
  c.user_id = who.session.user_id;
  c.target_level = lvl.name;
  c.max_age = req.max_age;
  json::array ms;
  for (const auto& m : *methods) ms.emplace_back(m.type);
  c.methods_json = json::serialize(ms);
  c.return_to = req.return_to;
  c.reason = req.reason.empty() ? "This action needs " + lvl.acr : req.reason;
  c.transaction_json = req.transaction_json;
  c.created_at = now;
  c.expires_at = now + cfg_.step_up.challenge_ttl;
  // WebAuthn: one random challenge per step-up, signed by the authenticator.
  json::array allow;
  bool dedupe = false;
  for (const auto& m : *methods) {
    if (m.type != "webauthn") continue;
    if (auto f = store_.find_factor(m.factor_id)) {
      if (auto rec = parse_webauthn_record(*f)) {
        allow.push_back(json::object{{"type", "public-key"},
                                     {"id", crypto::base64url_encode(rec->credential_id)}});
      }
    }
    if (dedupe) continue;
    dedupe = true;
    c.webauthn_challenge = crypto::base64url_encode(crypto::random_bytes(32));
  }
  if (!c.webauthn_challenge.empty()) {
    json::object opts{{"challenge", c.webauthn_challenge},
                      {"rpId", rp_config(cfg_).rp_id},
                      {"allowCredentials", std::move(allow)},
                      {"userVerification", level_needs_uv(lvl) ? "required" : "preferred"},
                      {"timeout", cfg_.webauthn.timeout * 1000}};
    out.webauthn_options_json = json::serialize(opts);
  }
  // A session holds at most max_open_challenges: the oldest is evicted (a
  // user with several tabs or a reloaded page keeps working; the tab with the
  // evicted challenge gets "no such challenge" and starts again).
  if (!store_.add_challenge(c, cfg_.step_up.max_open_challenges)) {
    return fail(ErrorCode::kUnavailable, "cannot store the challenge");
  }
  out.methods = std::move(*methods);
  json::object d{{"challenge_id", c.id}, {"acr", lvl.acr}, {"reason", c.reason}};
  if (!c.transaction_json.empty()) d["transaction"] = json::parse(c.transaction_json);
  audit_.record(
      now, "step_up.requested",
      AuditContext{who.session.subject, who.session.public_id, client.ip, client.user_agent},
      json::serialize(d));
  return out;
}

Result<StepUpResult> StepUp::verify(const Authenticated& who, std::string_view challenge_id,
                                    const StepUpProof& proof, const ClientInfo& client) {
  const auto now = clock_.now();
  auto c = store_.find_challenge(challenge_id);
  // A challenge of another session looks exactly like a missing one.
  if (!c || c->session_public_id != who.session.public_id) {
    if (!c && c.error() != store::StoreError::kNotFound) {
      return fail(ErrorCode::kUnavailable, "The challenge store is unavailable");
    }
    return fail(ErrorCode::kNotFound, "No such challenge");
  }
  if (c->used_at != 0) return fail(ErrorCode::kChallengeInvalid, "This challenge was already used");
  if (c->expires_at <= now) {
    return fail(ErrorCode::kChallengeInvalid, "This challenge has expired; start a new step-up");
  }
  const std::string offered = c->methods_json;
  if (offered.find("\"" + proof.method + "\"") == std::string::npos) {
    return fail(ErrorCode::kInvalidRequest,
                "Method '" + proof.method + "' is not offered by this challenge");
  }
  const AuditContext ctx{who.session.subject, who.session.public_id, client.ip, client.user_agent};
  Result<FactorProof> proven = [&]() -> Result<FactorProof> {
    if (proof.method == "webauthn") {
      if (!proof.assertion) return fail(ErrorCode::kInvalidRequest, "Missing field 'assertion'");
      auto expected = crypto::base64url_decode(c->webauthn_challenge);
      if (!expected || expected->empty()) {
        return fail(ErrorCode::kInvalidRequest, "This challenge has no WebAuthn part");
      }
      auto level = cfg_.levels.find(c->target_level);
      const bool uv = level && level_needs_uv(cfg_.levels.at(*level));
      return check_.webauthn(who.session.user_id, *proof.assertion, *expected, uv, ctx);
    }
    if (proof.code.empty()) return fail(ErrorCode::kInvalidRequest, "Missing field 'code'");
    if (proof.method == "totp") {
      return check_.totp(who.session.user_id, proof.factor_id, proof.code, ctx);
    }
    return check_.recovery_code(who.session.user_id, proof.code, ctx);
  }();
  if (!proven) return tl::unexpected(proven.error());

  // The proof must reach the level asked for (e.g. a key without user
  // verification cannot make aal3); otherwise nothing is recorded.
  {
    store::Session probe = who.session;
    record_proof(probe, proven->method, now);
    for (const auto& m : proven->extra_methods) record_proof(probe, m, now);
    auto target = cfg_.levels.find(c->target_level);
    bool reached = false;
    for (const auto& a : cfg_.levels.attainments(probe.methods, now)) {
      reached |= target && a.level >= *target;
    }
    if (!reached) {
      return fail(ErrorCode::kInvalidCode,
                  "This proof does not reach " + c->target_level +
                      " (a device-bound key with user verification may be needed)");
    }
  }

  // Spend the challenge (a concurrent verify of the same challenge loses here).
  auto spent = store_.consume_challenge(c->id, now);
  if (!spent) {
    if (spent.error() == store::StoreError::kConflict) {
      return fail(ErrorCode::kChallengeInvalid, "This challenge was already used");
    }
    // Evicted meanwhile by a newer step-up of the same session (the session
    // holds at most step_up.max_open_challenges).
    if (spent.error() == store::StoreError::kNotFound) {
      return fail(ErrorCode::kNotFound, "No such challenge (a newer step-up replaced it)");
    }
    return fail(ErrorCode::kUnavailable, "The challenge store is unavailable");
  }

  // Record the proof with its time, then rotate the session id.
  store::Session s = who.session;
  record_proof(s, proven->method, now);
  for (const auto& m : proven->extra_methods) record_proof(s, m, now);
  s.last_seen_at = now;
  s.idle_expires_at = std::min(now + cfg_.sessions.idle_timeout, s.expires_at);
  auto cookie = sessions_.elevate(s);
  if (!cookie) return tl::unexpected(cookie.error());
  auto tokens = sessions_.issue(s, true);
  if (!tokens) return tl::unexpected(tokens.error());

  StepUpResult out;
  out.cookie_value = std::move(*cookie);
  out.session = std::move(s);
  out.tokens = std::move(*tokens);
  out.return_to = c->return_to;
  out.recovery_codes_remaining = proven->recovery_codes_remaining;
  auto view = sessions_.view(out.session);
  json::object d{{"challenge_id", c->id},
                 {"method", proven->method},
                 {"factor_id", proven->factor_id},
                 {"acr", view.acr}};
  audit_.record(now, "step_up.succeeded", ctx, json::serialize(d));
  return out;
}

}  // namespace stepup::service
