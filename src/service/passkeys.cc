#include "service/passkeys.h"

#include <boost/json.hpp>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "factors/webauthn.h"
#include "service/webauthn_rp.h"

namespace stepup::service {

namespace json = boost::json;
namespace wa = factors::webauthn;

namespace {
constexpr std::string_view kRegisterMethod = "webauthn.create";

// Opaque and stable: no name or email in it.
std::string user_handle(std::int64_t user_id) {
  return crypto::sha256("stepup-user-handle:" + std::to_string(user_id)).substr(0, 16);
}
}  // namespace

Passkeys::Passkeys(const config::Config& cfg, store::Store& store, const Clock& clock,
                   Sessions& sessions, FactorCheck& check, Enrollment& enrollment, Audit& audit)
    : cfg_(cfg),
      store_(store),
      clock_(clock),
      sessions_(sessions),
      check_(check),
      enrollment_(enrollment),
      audit_(audit) {}

Result<RegistrationOptions> Passkeys::registration_options(const Authenticated& who) {
  if (auto ok = enrollment_.require_fresh(who); !ok) return tl::unexpected(ok.error());
  const auto now = clock_.now();
  auto fs = store_.list_factors(who.session.user_id);
  if (!fs) return fail(ErrorCode::kUnavailable, "The factor store is unavailable");
  json::array exclude;
  for (const auto& f : *fs) {
    if (f.type != kFactorWebAuthn) continue;
    if (auto rec = parse_webauthn_record(f)) {
      exclude.push_back(json::object{{"type", "public-key"},
                                     {"id", crypto::base64url_encode(rec->credential_id)}});
    }
  }
  store::Challenge c;
  c.id = crypto::random_token(24);
  c.session_public_id = who.session.public_id;
  c.user_id = who.session.user_id;
  c.target_level = "";
  c.methods_json = "[\"" + std::string(kRegisterMethod) + "\"]";
  c.webauthn_challenge = crypto::base64url_encode(crypto::random_bytes(32));
  c.created_at = now;
  c.expires_at = now + cfg_.step_up.challenge_ttl;
  // Shares the session's bound with step-up challenges.
  if (!store_.add_challenge(c, cfg_.step_up.max_open_challenges)) {
    return fail(ErrorCode::kUnavailable, "cannot store the challenge");
  }

  const auto rp = rp_config(cfg_);
  const std::string handle = user_handle(who.session.user_id);
  json::array params;
  for (int alg : rp.algorithms)
    params.push_back(json::object{{"type", "public-key"}, {"alg", alg}});
  json::object pk{{"rp", json::object{{"id", rp.rp_id}, {"name", cfg_.webauthn.rp_name}}},
                  {"user", json::object{{"id", crypto::base64url_encode(handle)},
                                        {"name", who.session.subject},
                                        {"displayName", who.session.subject}}},
                  {"challenge", c.webauthn_challenge},
                  {"pubKeyCredParams", std::move(params)},
                  {"timeout", cfg_.webauthn.timeout * 1000},
                  {"excludeCredentials", std::move(exclude)},
                  {"authenticatorSelection",
                   json::object{{"residentKey", "preferred"}, {"userVerification", "preferred"}}},
                  {"attestation", "none"}};
  return RegistrationOptions{c.id, json::serialize(pk)};
}

Result<NewCredential> Passkeys::register_credential(const Authenticated& who,
                                                    std::string_view challenge_id, std::string name,
                                                    std::string client_data_json,
                                                    std::string attestation_object,
                                                    const ClientInfo& client) {
  if (auto ok = enrollment_.require_fresh(who); !ok) return tl::unexpected(ok.error());
  const auto now = clock_.now();
  auto c = store_.find_challenge(challenge_id);
  if (!c || c->session_public_id != who.session.public_id ||
      c->methods_json.find(kRegisterMethod) == std::string::npos) {
    return fail(ErrorCode::kNotFound, "No such registration challenge");
  }
  if (c->used_at != 0 || c->expires_at <= now) {
    return fail(ErrorCode::kChallengeInvalid, "This registration challenge is used or expired");
  }
  if (auto spent = store_.consume_challenge(c->id, now); !spent) {
    return fail(ErrorCode::kChallengeInvalid, "This registration challenge was already used");
  }
  auto expected = crypto::base64url_decode(c->webauthn_challenge);
  wa::RegistrationInput in{std::move(client_data_json), std::move(attestation_object),
                           expected.value_or("")};
  auto cred = wa::verify_registration(rp_config(cfg_), in);
  const AuditContext ctx{who.session.subject, who.session.public_id, client.ip, client.user_agent};
  if (!cred) {
    audit_.record(now, "factor.rejected", ctx,
                  json::serialize(json::object{
                      {"type", "webauthn"}, {"reason", std::string(wa::to_string(cred.error()))}}));
    return fail(ErrorCode::kInvalidRequest,
                std::string("The security key response was not accepted: ") +
                    std::string(wa::to_string(cred.error())));
  }
  store::Factor f;
  f.id = FactorCheck::webauthn_factor_id(cred->id);
  f.user_id = who.session.user_id;
  f.type = std::string(kFactorWebAuthn);
  f.name = name.empty() ? (cred->backup_eligible ? "Passkey" : "Security key") : std::move(name);
  f.secret = webauthn_record_json(*cred);
  f.confirmed = true;
  f.created_at = now;
  f.counter = cred->sign_count;
  if (auto added = store_.add_factor(f); !added) {
    if (added.error() == store::StoreError::kConflict) {
      return fail(ErrorCode::kConflict, "This security key or passkey is already registered");
    }
    return fail(ErrorCode::kUnavailable, "cannot store the credential");
  }
  enrollment_.after_change(
      who, "factor.added",
      json::serialize(json::object{{"factor_id", f.id},
                                   {"type", "webauthn"},
                                   {"attestation", std::string(wa::to_string(cred->attestation))},
                                   {"aaguid", wa::aaguid_string(cred->aaguid)},
                                   {"backup_eligible", cred->backup_eligible}}),
      client);
  return NewCredential{f.id, f.name, wa::methods_for(cred->uv, cred->backup_eligible)};
}

Result<LoginOptions> Passkeys::login_options() {
  if (!cfg_.webauthn.passkey_login) return fail(ErrorCode::kNotFound, "Passkey sign-in is off");
  const auto now = clock_.now();
  LoginOptions o;
  o.challenge_id = crypto::random_token(24);
  const std::string challenge = crypto::base64url_encode(crypto::random_bytes(32));
  if (!store_.add_login_challenge(o.challenge_id, challenge, now,
                                  now + cfg_.step_up.challenge_ttl,
                                  cfg_.webauthn.max_login_challenges)) {
    return fail(ErrorCode::kUnavailable, "cannot store the challenge");
  }
  json::object pk{{"challenge", challenge},
                  {"rpId", rp_config(cfg_).rp_id},
                  {"allowCredentials", json::array{}},
                  {"userVerification", "required"},
                  {"timeout", cfg_.webauthn.timeout * 1000}};
  o.public_key_json = json::serialize(pk);
  return o;
}

Result<NewSession> Passkeys::login(std::string_view challenge_id, const WebAuthnAssertion& a,
                                   const ClientInfo& client) {
  if (!cfg_.webauthn.passkey_login) return fail(ErrorCode::kNotFound, "Passkey sign-in is off");
  const auto now = clock_.now();
  auto challenge = store_.consume_login_challenge(challenge_id, now);
  if (!challenge) {
    if (challenge.error() == store::StoreError::kNotFound) {
      return fail(ErrorCode::kNotFound, "No such sign-in challenge");
    }
    if (challenge.error() == store::StoreError::kConflict) {
      return fail(ErrorCode::kChallengeInvalid, "This sign-in challenge is used or expired");
    }
    return fail(ErrorCode::kUnavailable, "The challenge store is unavailable");
  }
  auto expected = crypto::base64url_decode(*challenge);
  const AuditContext anon{"", "", client.ip, client.user_agent};
  // Usernameless sign-in must verify the user: the key is the whole proof.
  auto proof = check_.webauthn(0, a, expected.value_or(""), /*require_uv=*/true, anon);
  if (!proof) {
    audit_.record(now, "login.failed", anon, R"({"method":"webauthn"})");
    if (proof.error().code == ErrorCode::kFactorLocked) return tl::unexpected(proof.error());
    return fail(ErrorCode::kInvalidCredentials, "The passkey was not accepted");
  }
  auto user = store_.find_user_by_id(proof->user_id);
  if (!user || user->disabled) {
    return fail(ErrorCode::kInvalidCredentials, "The passkey was not accepted");
  }
  // WebAuthn §7.2 steps 5-6: the user handle the authenticator returns must
  // be the one of the credential's owner.
  if (!a.user_handle.empty() &&
      !crypto::constant_time_equal(a.user_handle, user_handle(user->id))) {
    audit_.record(now, "login.failed", anon, R"({"method":"webauthn","reason":"user_handle"})");
    return fail(ErrorCode::kInvalidCredentials, "The passkey was not accepted");
  }
  std::vector<core::MethodProof> methods{core::MethodProof{proof->method, now}};
  for (const auto& m : proof->extra_methods) methods.push_back(core::MethodProof{m, now});
  auto s = sessions_.create(*user, std::move(methods), client);
  if (!s) return s;
  audit_.record(
      now, "login.succeeded",
      AuditContext{user->username, s->session.public_id, client.ip, client.user_agent},
      json::serialize(json::object{{"method", "webauthn"}, {"factor_id", proof->factor_id}}));
  return s;
}

}  // namespace stepup::service
