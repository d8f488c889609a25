#include "service/webauthn_rp.h"

#include <algorithm>
#include <boost/json.hpp>

#include "core/return_to.h"
#include "crypto/encoding.h"

namespace stepup::service {

namespace json = boost::json;
namespace wa = factors::webauthn;

namespace {
std::string host_of(std::string_view url) {
  auto p = url.find("://");
  if (p == std::string_view::npos) return {};
  auto rest = url.substr(p + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (!rest.empty() && rest.front() == '[') return std::string(rest.substr(0, rest.find(']') + 1));
  return std::string(rest.substr(0, rest.find(':')));
}
bool is_webauthn_method(const std::string& m) { return m == "hwk" || m == "swk"; }
}  // namespace

wa::RpConfig rp_config(const config::Config& cfg) {
  wa::RpConfig rp;
  rp.rp_id = cfg.webauthn.rp_id.empty() ? host_of(cfg.server.public_url) : cfg.webauthn.rp_id;
  rp.origins = cfg.webauthn.origins;
  if (rp.origins.empty()) rp.origins.push_back(core::url_origin(cfg.server.public_url));
  return rp;
}

std::string webauthn_record_json(const wa::Credential& c) {
  json::object o{{"cred_id", crypto::base64url_encode(c.id)},
                 {"alg", c.alg},
                 {"cose", crypto::base64url_encode(c.public_key_cose)},
                 {"be", c.backup_eligible},
                 {"aaguid", wa::aaguid_string(c.aaguid)},
                 {"fmt", c.fmt},
                 {"uv", c.uv},
                 {"attestation", std::string(wa::to_string(c.attestation))}};
  return json::serialize(o);
}

std::optional<WebAuthnRecord> parse_webauthn_record(const store::Factor& f) {
  std::error_code ec;
  auto v = json::parse(f.secret, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  const auto* id = o.if_contains("cred_id");
  const auto* alg = o.if_contains("alg");
  const auto* cose = o.if_contains("cose");
  const auto* be = o.if_contains("be");
  if (!id || !id->is_string() || !alg || !alg->is_int64() || !cose || !cose->is_string() || !be ||
      !be->is_bool()) {
    return std::nullopt;
  }
  auto raw_id = crypto::base64url_decode(std::string_view(id->get_string()));
  auto raw_cose = crypto::base64url_decode(std::string_view(cose->get_string()));
  if (!raw_id || !raw_cose) return std::nullopt;
  WebAuthnRecord r;
  r.credential_id = std::move(*raw_id);
  r.cred.public_key_cose = std::move(*raw_cose);
  r.cred.alg = static_cast<int>(alg->get_int64());
  r.cred.backup_eligible = be->get_bool();
  r.cred.sign_count = static_cast<std::uint32_t>(std::max<std::int64_t>(0, f.counter));
  if (const auto* a = o.if_contains("aaguid"); a && a->is_string()) r.aaguid_hex = a->get_string();
  if (const auto* fm = o.if_contains("fmt"); fm && fm->is_string()) r.fmt = fm->get_string();
  if (const auto* u = o.if_contains("uv"); u && u->is_bool()) r.uv = u->get_bool();
  return r;
}

bool level_uses_webauthn(const core::Level& level) {
  for (const auto& set : level.reached_by) {
    if (std::any_of(set.begin(), set.end(), is_webauthn_method)) return true;
  }
  return false;
}

bool level_needs_uv(const core::Level& level) {
  bool any = false;
  for (const auto& set : level.reached_by) {
    if (!std::any_of(set.begin(), set.end(), is_webauthn_method)) continue;
    any = true;
    if (std::find(set.begin(), set.end(), "user") == set.end()) return false;
  }
  return any;
}

}  // namespace stepup::service
