#include "factors/webauthn.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/json.hpp>
#include <memory>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "factors/cose.h"

namespace stepup::factors::webauthn {
namespace json = boost::json;

namespace {

constexpr std::size_t kRpIdHashLen = 32;
constexpr std::size_t kAuthDataMinLen = kRpIdHashLen + 1 + 4;
constexpr std::size_t kAaguidLen = 16;
constexpr std::size_t kMaxX5cLen = 8;  // certificates in one packed x5c chain
// id-fido-gen-ce-aaguid (WebAuthn §8.2.1).
constexpr char kAaguidExtensionOid[] = "1.3.6.1.4.1.45724.1.1.4";
constexpr char kAttestationOu[] = "Authenticator Attestation";

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const noexcept { Free(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, Deleter<ASN1_OBJECT, ASN1_OBJECT_free>>;
using OctetStringPtr =
    std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;

const unsigned char* u8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::uint8_t byte_at(std::string_view s, std::size_t i) { return static_cast<std::uint8_t>(s[i]); }

// ---- client data (§7.1 steps 5-10, §7.2 steps 9-14) ------------------------

const json::string* string_member(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v != nullptr ? v->if_string() : nullptr;
}

tl::expected<void, Error> verify_client_data(const RpConfig& rp, std::string_view client_data_json,
                                             std::string_view expected_type,
                                             std::string_view expected_challenge) {
  // Steps "UTF-8 decode" and "parse JSON": Boost.JSON refuses invalid UTF-8.
  boost::system::error_code ec;
  json::value parsed = json::parse(client_data_json, ec);
  if (ec || !parsed.is_object()) return tl::make_unexpected(Error::kBadClientData);
  const json::object& c = parsed.get_object();
  const json::string* type = string_member(c, "type");
  const json::string* challenge = string_member(c, "challenge");
  const json::string* origin = string_member(c, "origin");
  if (type == nullptr || challenge == nullptr || origin == nullptr) {
    return tl::make_unexpected(Error::kBadClientData);
  }
  // §7.1 step 7 / §7.2 step 11: the ceremony type.
  if (*type != expected_type) return tl::make_unexpected(Error::kWrongType);
  // §7.1 step 8 / §7.2 step 12: C.challenge is the base64url of the issued
  // challenge; compare the encodings in constant time (the challenge is a secret
  // until used).
  if (expected_challenge.size() < kMinChallengeLen)
    return tl::make_unexpected(Error::kWeakChallenge);
  if (!crypto::constant_time_equal(std::string_view(*challenge),
                                   crypto::base64url_encode(expected_challenge))) {
    return tl::make_unexpected(Error::kChallengeMismatch);
  }
  // §7.1 step 9 / §7.2 step 13: an exact origin from the configured list.
  if (std::find(rp.origins.begin(), rp.origins.end(), std::string_view(*origin)) ==
      rp.origins.end()) {
    return tl::make_unexpected(Error::kOriginNotAllowed);
  }
  // Same steps, Level 3 wording: a ceremony run in a cross-origin iframe
  // (crossOrigin true, or a topOrigin given) is not one we asked for.
  if (const json::value* co = c.if_contains("crossOrigin"); co != nullptr) {
    if (!co->is_bool()) return tl::make_unexpected(Error::kBadClientData);
    if (co->get_bool()) return tl::make_unexpected(Error::kCrossOrigin);
  }
  if (c.contains("topOrigin")) return tl::make_unexpected(Error::kCrossOrigin);
  // §7.1 step 10 / §7.2 step 14: we never negotiate Token Binding, so a client
  // claiming it is "present" on this connection disagrees with us.
  if (const json::value* tb = c.if_contains("tokenBinding"); tb != nullptr) {
    if (!tb->is_object()) return tl::make_unexpected(Error::kBadClientData);
    const json::string* status = string_member(tb->get_object(), "status");
    if (status == nullptr) return tl::make_unexpected(Error::kBadClientData);
    if (*status == "present") return tl::make_unexpected(Error::kBadClientData);
  }
  return {};
}

bool alg_allowed(const RpConfig& rp, int alg) {
  return std::find(rp.algorithms.begin(), rp.algorithms.end(), alg) != rp.algorithms.end();
}

Error from_key_error(cose::KeyError e) {
  switch (e) {
    case cose::KeyError::kUnsupportedAlg:
      return Error::kUnsupportedAlgorithm;
    case cose::KeyError::kBadCbor:
      return Error::kBadCbor;
    case cose::KeyError::kNotAMap:
    case cose::KeyError::kMissingKty:
    case cose::KeyError::kMissingAlg:
    case cose::KeyError::kKtyAlgMismatch:
    case cose::KeyError::kBadCurve:
    case cose::KeyError::kBadParameter:
    case cose::KeyError::kInvalidKey:
      return Error::kBadCoseKey;
  }
  return Error::kBadCoseKey;
}

Error from_cbor_error(cbor::DecodeError e) {
  return e == cbor::DecodeError::kTrailingBytes ? Error::kTrailingBytes : Error::kBadCbor;
}

// The rpIdHash / UP / UV / BE-BS checks shared by both ceremonies.
tl::expected<void, Error> verify_flags(const RpConfig& rp, const AuthData& ad) {
  // §7.1 step 13 / §7.2 step 15. Not secret, but constant time costs nothing.
  if (!crypto::constant_time_equal(ad.rp_id_hash, crypto::sha256(rp.rp_id))) {
    return tl::make_unexpected(Error::kRpIdHashMismatch);
  }
  // §7.1 step 14 / §7.2 step 16.
  if (!ad.up()) return tl::make_unexpected(Error::kUserNotPresent);
  // §7.1 step 15 / §7.2 step 17.
  if (rp.require_uv && !ad.uv()) return tl::make_unexpected(Error::kUserNotVerified);
  // Level 3 §6.1.3: a credential cannot be backed up unless it is eligible.
  if (ad.bs() && !ad.be()) return tl::make_unexpected(Error::kBadBackupFlags);
  return {};
}

// ---- packed attestation (§8.2) ---------------------------------------------

std::string name_entry(X509_NAME* name, int nid) {
  const int idx = X509_NAME_get_index_by_NID(name, nid, -1);
  if (idx < 0) return {};
  ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  if (s == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

// §8.2.1 requirements on the attestation certificate, and the AAGUID
// extension (when present) against authData. No chain building: there is no
// metadata service to give us trust anchors.
tl::expected<void, Error> check_attestation_cert(X509* cert, std::string_view aaguid) {
  if (X509_get_version(cert) != X509_VERSION_3) return tl::make_unexpected(Error::kBadAttestation);
  X509_NAME* subject = X509_get_subject_name(cert);
  if (subject == nullptr || name_entry(subject, NID_organizationalUnitName) != kAttestationOu ||
      name_entry(subject, NID_countryName).empty() ||
      name_entry(subject, NID_organizationName).empty() ||
      name_entry(subject, NID_commonName).empty()) {
    return tl::make_unexpected(Error::kBadAttestation);
  }
  // Basic Constraints CA must be false (an absent extension means false).
  const std::uint32_t xflags = X509_get_extension_flags(cert);
  if ((xflags & EXFLAG_INVALID) != 0 || (xflags & EXFLAG_CA) != 0) {
    return tl::make_unexpected(Error::kBadAttestation);
  }
  Asn1ObjectPtr oid(OBJ_txt2obj(kAaguidExtensionOid, 1));
  if (!oid) return tl::make_unexpected(Error::kBadAttestation);
  const int idx = X509_get_ext_by_OBJ(cert, oid.get(), -1);
  if (idx >= 0) {
    X509_EXTENSION* ext = X509_get_ext(cert, idx);
    if (X509_EXTENSION_get_critical(ext) != 0) return tl::make_unexpected(Error::kBadAttestation);
    // extnValue holds the DER of an OCTET STRING of the 16 AAGUID bytes.
    const ASN1_OCTET_STRING* outer = X509_EXTENSION_get_data(ext);
    const unsigned char* p = ASN1_STRING_get0_data(outer);
    const long len = ASN1_STRING_length(outer);
    OctetStringPtr inner(d2i_ASN1_OCTET_STRING(nullptr, &p, len));
    if (!inner || p != ASN1_STRING_get0_data(outer) + len ||
        ASN1_STRING_length(inner.get()) != static_cast<int>(kAaguidLen) ||
        std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(inner.get())),
                         kAaguidLen) != aaguid) {
      return tl::make_unexpected(Error::kBadAttestation);
    }
  }
  return {};
}

tl::expected<AttestationType, Error> verify_packed(const cbor::Value& stmt, const AuthData& ad,
                                                   std::string_view auth_data_bytes,
                                                   std::string_view client_data_hash,
                                                   const cose::PublicKey& credential_key) {
  // packedStmtFormat: {alg, sig} or {alg, sig, x5c}; nothing else.
  for (const auto& [k, v] : *stmt.as_map()) {
    const std::string* name = k.as_text();
    if (name == nullptr || (*name != "alg" && *name != "sig" && *name != "x5c")) {
      return tl::make_unexpected(Error::kBadAttestation);
    }
  }
  const cbor::Value* alg_v = stmt.find("alg");
  const cbor::Value* sig_v = stmt.find("sig");
  const auto alg = alg_v != nullptr ? alg_v->as_int() : std::nullopt;
  if (!alg || sig_v == nullptr || sig_v->as_bytes() == nullptr) {
    return tl::make_unexpected(Error::kBadAttestation);
  }
  const std::string& sig = *sig_v->as_bytes();
  std::string signed_data(auth_data_bytes);
  signed_data += client_data_hash;

  const cbor::Value* x5c = stmt.find("x5c");
  if (x5c == nullptr) {
    // Self attestation: alg must be the credential key's own, and the
    // credential key signs.
    if (*alg != credential_key.alg()) return tl::make_unexpected(Error::kBadAttestation);
    if (!credential_key.verify(signed_data, sig)) return tl::make_unexpected(Error::kBadSignature);
    return AttestationType::kSelf;
  }

  // x5c: the leaf (first) certificate's key signs; the rest of the chain is
  // only checked to be certificate-shaped bytes.
  const cbor::Value::Array* chain = x5c->as_array();
  if (chain == nullptr || chain->empty() || chain->size() > kMaxX5cLen) {
    return tl::make_unexpected(Error::kBadAttestation);
  }
  for (const cbor::Value& c : *chain) {
    if (c.as_bytes() == nullptr || c.as_bytes()->empty()) {
      return tl::make_unexpected(Error::kBadAttestation);
    }
  }
  const std::string& leaf_der = *chain->front().as_bytes();
  const unsigned char* p = u8(leaf_der);
  X509Ptr leaf(d2i_X509(nullptr, &p, static_cast<long>(leaf_der.size())));
  if (!leaf || p != u8(leaf_der) + leaf_der.size()) {
    ERR_clear_error();
    return tl::make_unexpected(Error::kBadAttestation);
  }
  if (auto ok = check_attestation_cert(leaf.get(), ad.aaguid); !ok) {
    ERR_clear_error();
    return tl::make_unexpected(ok.error());
  }
  EVP_PKEY* leaf_key = X509_get0_pubkey(leaf.get());
  unsigned char* spki = nullptr;
  const int spki_len = leaf_key != nullptr ? i2d_PUBKEY(leaf_key, &spki) : -1;
  if (spki_len <= 0) {
    ERR_clear_error();
    return tl::make_unexpected(Error::kBadAttestation);
  }
  std::string spki_der(reinterpret_cast<const char*>(spki), static_cast<std::size_t>(spki_len));
  OPENSSL_free(spki);
  if (*alg < -0x10000 || *alg > 0x10000) return tl::make_unexpected(Error::kBadAttestation);
  auto attestation_key = cose::PublicKey::from_spki_der(spki_der, static_cast<int>(*alg));
  if (!attestation_key) return tl::make_unexpected(Error::kBadAttestation);
  if (!attestation_key->verify(signed_data, sig)) return tl::make_unexpected(Error::kBadSignature);
  return AttestationType::kBasic;
}

}  // namespace

std::string_view to_string(Error e) {
  switch (e) {
    case Error::kBadClientData:
      return "bad_client_data";
    case Error::kWrongType:
      return "wrong_type";
    case Error::kWeakChallenge:
      return "weak_challenge";
    case Error::kChallengeMismatch:
      return "challenge_mismatch";
    case Error::kOriginNotAllowed:
      return "origin_not_allowed";
    case Error::kCrossOrigin:
      return "cross_origin";
    case Error::kBadCbor:
      return "bad_cbor";
    case Error::kTrailingBytes:
      return "trailing_bytes";
    case Error::kBadAttestationObject:
      return "bad_attestation_object";
    case Error::kBadAuthData:
      return "bad_authenticator_data";
    case Error::kRpIdHashMismatch:
      return "rp_id_hash_mismatch";
    case Error::kUserNotPresent:
      return "user_not_present";
    case Error::kUserNotVerified:
      return "user_not_verified";
    case Error::kBadBackupFlags:
      return "bad_backup_flags";
    case Error::kBackupEligibilityChanged:
      return "backup_eligibility_changed";
    case Error::kUnsupportedAlgorithm:
      return "unsupported_algorithm";
    case Error::kBadCoseKey:
      return "bad_cose_key";
    case Error::kCredentialIdTooLong:
      return "credential_id_too_long";
    case Error::kBadAttestation:
      return "bad_attestation";
    case Error::kBadSignature:
      return "bad_signature";
    case Error::kSignCountRegression:
      return "sign_count_regression";
    case Error::kUnknownCredential:
      return "unknown_credential";
    case Error::kCredentialAlreadyRegistered:
      return "credential_already_registered";
  }
  return "unknown_webauthn_error";
}

std::string_view to_string(AttestationType t) {
  switch (t) {
    case AttestationType::kNone:
      return "none";
    case AttestationType::kSelf:
      return "self";
    case AttestationType::kBasic:
      return "basic";
  }
  return "unknown";
}

tl::expected<AuthData, Error> parse_authenticator_data(std::string_view bytes,
                                                       bool expect_attested) {
  if (bytes.size() < kAuthDataMinLen) return tl::make_unexpected(Error::kBadAuthData);
  AuthData ad;
  ad.rp_id_hash = std::string(bytes.substr(0, kRpIdHashLen));
  ad.flags = byte_at(bytes, kRpIdHashLen);
  ad.sign_count = (std::uint32_t{byte_at(bytes, 33)} << 24) |
                  (std::uint32_t{byte_at(bytes, 34)} << 16) |
                  (std::uint32_t{byte_at(bytes, 35)} << 8) | std::uint32_t{byte_at(bytes, 36)};
  std::string_view rest = bytes.substr(kAuthDataMinLen);
  // Registration always carries attested credential data; an assertion never does.
  if (ad.at() != expect_attested) return tl::make_unexpected(Error::kBadAuthData);
  if (ad.at()) {
    if (rest.size() < kAaguidLen + 2) return tl::make_unexpected(Error::kBadAuthData);
    ad.aaguid = std::string(rest.substr(0, kAaguidLen));
    const std::size_t id_len =
        (std::size_t{byte_at(rest, kAaguidLen)} << 8) | std::size_t{byte_at(rest, kAaguidLen + 1)};
    rest.remove_prefix(kAaguidLen + 2);
    // Level 3 §7.1: credential ids longer than 1023 bytes are refused.
    if (id_len > kMaxCredentialIdLen || id_len == 0) {
      return tl::make_unexpected(Error::kCredentialIdTooLong);
    }
    if (rest.size() < id_len) return tl::make_unexpected(Error::kBadAuthData);
    ad.credential_id = std::string(rest.substr(0, id_len));
    rest.remove_prefix(id_len);
    // The COSE key's length is only known by decoding it.
    auto key = cbor::decode_prefix(rest);
    if (!key) return tl::make_unexpected(Error::kBadCbor);
    ad.credential_public_key = std::string(rest.substr(0, key->consumed));
    rest.remove_prefix(key->consumed);
  }
  if (ad.ed()) {
    auto ext = cbor::decode(rest);
    if (!ext) return tl::make_unexpected(from_cbor_error(ext.error()));
    if (!ext->is_map()) return tl::make_unexpected(Error::kBadAuthData);
    ad.extensions = std::string(rest);
    rest = {};
  }
  if (!rest.empty()) return tl::make_unexpected(Error::kTrailingBytes);
  return ad;
}

tl::expected<AttestationObject, Error> parse_attestation_object(std::string_view bytes) {
  auto v = cbor::decode(bytes);
  if (!v) return tl::make_unexpected(from_cbor_error(v.error()));
  const cbor::Value::Map* m = v->as_map();
  if (m == nullptr || m->size() != 3) return tl::make_unexpected(Error::kBadAttestationObject);
  const cbor::Value* fmt = v->find("fmt");
  const cbor::Value* stmt = v->find("attStmt");
  const cbor::Value* auth = v->find("authData");
  if (fmt == nullptr || fmt->as_text() == nullptr || stmt == nullptr || !stmt->is_map() ||
      auth == nullptr || auth->as_bytes() == nullptr) {
    return tl::make_unexpected(Error::kBadAttestationObject);
  }
  AttestationObject out;
  out.fmt = *fmt->as_text();
  out.att_stmt = *stmt;
  out.auth_data = *auth->as_bytes();
  return out;
}

tl::expected<Credential, Error> verify_registration(const RpConfig& rp,
                                                    const RegistrationInput& in) {
  // §7.1 steps 5-10: client data.
  if (auto ok =
          verify_client_data(rp, in.client_data_json, "webauthn.create", in.expected_challenge);
      !ok) {
    return tl::make_unexpected(ok.error());
  }
  // Step 11.
  const std::string client_data_hash = crypto::sha256(in.client_data_json);
  // Step 12: CBOR-decode the attestation object, then the authenticator data.
  auto att = parse_attestation_object(in.attestation_object);
  if (!att) return tl::make_unexpected(att.error());
  auto ad = parse_authenticator_data(att->auth_data, /*expect_attested=*/true);
  if (!ad) return tl::make_unexpected(ad.error());
  // Steps 13-15 and Level 3's BE/BS consistency.
  if (auto ok = verify_flags(rp, *ad); !ok) return tl::make_unexpected(ok.error());
  // Step 16: the credential key's alg must be one we asked for.
  auto key = cose::PublicKey::from_cose_bytes(ad->credential_public_key);
  if (!key) return tl::make_unexpected(from_key_error(key.error()));
  if (!alg_allowed(rp, key->alg())) return tl::make_unexpected(Error::kUnsupportedAlgorithm);
  // Step 17: we request no extensions, so their outputs are not interpreted.
  // Steps 18-19: attestation statement by exact fmt match.
  AttestationType type = AttestationType::kNone;
  if (att->fmt == "none") {
    if (!att->att_stmt.as_map()->empty()) return tl::make_unexpected(Error::kBadAttestation);
  } else if (att->fmt == "packed") {
    auto t = verify_packed(att->att_stmt, *ad, att->auth_data, client_data_hash, *key);
    if (!t) return tl::make_unexpected(t.error());
    type = *t;
  } else {
    return tl::make_unexpected(Error::kBadAttestation);
  }
  // Steps 20-21: no metadata service, so no trust anchors; every verified
  // statement (including none) is accepted. Step 22 is the caller's.
  Credential c;
  c.id = ad->credential_id;
  c.alg = key->alg();
  c.public_key_cose = ad->credential_public_key;
  c.sign_count = ad->sign_count;
  c.uv = ad->uv();
  c.backup_eligible = ad->be();
  c.backed_up = ad->bs();
  c.aaguid = ad->aaguid;
  c.fmt = att->fmt;
  c.attestation = type;
  return c;
}

tl::expected<AssertionResult, Error> verify_assertion(const RpConfig& rp,
                                                      const StoredCredential& cred,
                                                      const AssertionInput& in) {
  // Steps 5-7 (allowCredentials, owner, lookup) are the caller's; the id it
  // used must at least be one a registration could have produced.
  if (in.credential_id.empty() || in.credential_id.size() > kMaxCredentialIdLen) {
    return tl::make_unexpected(Error::kCredentialIdTooLong);
  }
  // Steps 9-14: client data.
  if (auto ok = verify_client_data(rp, in.client_data_json, "webauthn.get", in.expected_challenge);
      !ok) {
    return tl::make_unexpected(ok.error());
  }
  auto ad = parse_authenticator_data(in.authenticator_data, /*expect_attested=*/false);
  if (!ad) return tl::make_unexpected(ad.error());
  // Steps 15-17 and BS-without-BE.
  if (auto ok = verify_flags(rp, *ad); !ok) return tl::make_unexpected(ok.error());
  // Level 3 §7.2: BE is fixed when the credential is made.
  if (ad->be() != cred.backup_eligible)
    return tl::make_unexpected(Error::kBackupEligibilityChanged);
  // Step 18: no extensions requested. The stored alg may have been dropped
  // from the configuration since registration.
  if (!alg_allowed(rp, cred.alg)) return tl::make_unexpected(Error::kUnsupportedAlgorithm);
  auto key = cose::PublicKey::from_cose_bytes(cred.public_key_cose);
  if (!key) return tl::make_unexpected(from_key_error(key.error()));
  if (key->alg() != cred.alg) return tl::make_unexpected(Error::kBadCoseKey);
  // Steps 19-20: signature over authData || SHA-256(clientDataJSON).
  std::string signed_data = in.authenticator_data;
  signed_data += crypto::sha256(in.client_data_json);
  if (!key->verify(signed_data, in.signature)) return tl::make_unexpected(Error::kBadSignature);
  // Step 21: a counter that does not grow, while either side uses one, may be
  // a cloned authenticator. We fail; the caller audits it.
  if ((ad->sign_count != 0 || cred.sign_count != 0) && ad->sign_count <= cred.sign_count) {
    return tl::make_unexpected(Error::kSignCountRegression);
  }
  return AssertionResult{ad->sign_count, ad->uv(), ad->bs()};
}

std::vector<std::string> methods_for(bool uv, bool backup_eligible) {
  std::vector<std::string> m{backup_eligible ? "swk" : "hwk"};
  if (uv) m.emplace_back("user");
  return m;
}

std::string aaguid_string(std::string_view aaguid) {
  if (aaguid.size() != kAaguidLen) return {};
  const std::string hex = crypto::hex_encode(aaguid);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

}  // namespace stepup::factors::webauthn
