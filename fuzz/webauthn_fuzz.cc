// libFuzzer target: the WebAuthn parsers for outside bytes — the attestation
// object (CBOR), authenticator data in both shapes (registration with
// attested credential data, assertion without), COSE keys, and the whole
// registration path behind them (packed attestation, X.509 parsing) with a
// fixed, valid clientDataJSON so the fuzz bytes reach past the client data
// checks.
//
// Besides "no crash, no sanitizer report" it checks invariants:
//  - CBOR: decode(encode(v)) == v for every decoded value without floats;
//  - accepted authenticator data accounts for every input byte
//    (37 + attested credential data + extensions == size) with the AT/ED
//    flags and field sizes it reports;
//  - an accepted registration names an algorithm from the configured list.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "factors/cbor.h"
#include "factors/cose.h"
#include "factors/webauthn.h"

namespace {

namespace wa = stepup::factors::webauthn;
namespace cbor = stepup::factors::cbor;

constexpr char kChallenge[] = "0123456789abcdef0123456789abcdef";
// base64url of kChallenge.
constexpr char kClientData[] =
    R"({"type":"webauthn.create","challenge":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY","origin":"https://example.com"})";

const wa::RpConfig& rp() {
  static const wa::RpConfig config = [] {
    wa::RpConfig c;
    c.rp_id = "example.com";
    c.origins = {"https://example.com"};
    return c;
  }();
  return config;
}

bool has_float(const cbor::Value& v) {
  switch (v.type()) {
    case cbor::Type::kFloat:
      return true;
    case cbor::Type::kArray:
      for (const auto& i : *v.as_array()) {
        if (has_float(i)) return true;
      }
      return false;
    case cbor::Type::kMap:
      for (const auto& [k, val] : *v.as_map()) {
        if (has_float(k) || has_float(val)) return true;
      }
      return false;
    case cbor::Type::kTag:
      return v.tagged() != nullptr && has_float(*v.tagged());
    default:
      return false;
  }
}

void check_cbor(std::string_view bytes) {
  auto v = cbor::decode_prefix(bytes);
  if (!v) return;
  if (v->consumed == 0 || v->consumed > bytes.size()) std::abort();
  if (has_float(v->value)) return;  // NaN != NaN; floats are re-encoded wider
  auto again = cbor::decode(cbor::encode(v->value));
  if (!again || !(*again == v->value)) std::abort();
}

void check_auth_data(std::string_view bytes, bool attested) {
  auto ad = wa::parse_authenticator_data(bytes, attested);
  if (!ad) return;
  if (ad->rp_id_hash.size() != 32 || ad->at() != attested) std::abort();
  std::size_t total = 37 + ad->extensions.size();
  if (attested) {
    if (ad->aaguid.size() != 16 || ad->credential_id.empty() ||
        ad->credential_id.size() > wa::kMaxCredentialIdLen || ad->credential_public_key.empty()) {
      std::abort();
    }
    total += 16 + 2 + ad->credential_id.size() + ad->credential_public_key.size();
  }
  if (ad->ed() != !ad->extensions.empty()) std::abort();
  if (total != bytes.size()) std::abort();
  (void)stepup::factors::cose::PublicKey::from_cose_bytes(ad->credential_public_key);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_cbor(bytes);
  check_auth_data(bytes, true);
  check_auth_data(bytes, false);
  (void)stepup::factors::cose::PublicKey::from_cose_bytes(bytes);

  if (auto att = wa::parse_attestation_object(bytes); att) {
    check_auth_data(att->auth_data, true);
  }
  wa::RegistrationInput in{kClientData, std::string(bytes), kChallenge};
  if (auto cred = wa::verify_registration(rp(), in); cred) {
    bool listed = false;
    for (int alg : rp().algorithms) listed = listed || alg == cred->alg;
    if (!listed) std::abort();
  }
  return 0;
}
