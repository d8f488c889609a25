// A software WebAuthn authenticator (and a little client) for tests: OpenSSL
// keys for ES256, EdDSA and RS256, real authenticator data (§6.1), COSE keys
// and attestation objects encoded with libcbor (via factors/cbor.h), client
// data JSON, and signatures in WebAuthn's forms (DER ECDSA, raw Ed25519,
// PKCS#1 v1.5). Also makes packed-attestation certificates (§8.2.1).
//
// Header-only because the test CMake glob builds only tests/<layer>/*_test.cc.
// Test-only; not thread-safe (counters mutate).
#pragma once
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "factors/cbor.h"
#include "factors/cose.h"
#include "factors/webauthn.h"

namespace stepup::factors::webauthn::test {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const noexcept { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;

inline constexpr char kRpId[] = "example.com";
inline constexpr char kOrigin[] = "https://example.com";

inline std::string u32_be(std::uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  return s;
}

inline std::string bn_bytes(const BIGNUM* bn) {
  std::string s(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(s.data()));
  return s;
}

inline PkeyPtr generate_key(int alg) {
  switch (alg) {
    case cose::kES256:
      return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    case cose::kEdDSA:
      return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    case cose::kRS256: {
      // RSA key generation takes about half a second here: make one per process.
      static EVP_PKEY* const shared = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048});
      EVP_PKEY_up_ref(shared);
      return PkeyPtr(shared);
    }
    default:
      throw std::runtime_error("unsupported alg");
  }
}

// Signs `data` the way an authenticator does for `alg`.
inline std::string sign_with(EVP_PKEY* key, int alg, std::string_view data) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const EVP_MD* md = alg == cose::kEdDSA ? nullptr : EVP_sha256();
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1)
    throw std::runtime_error("sign init");
  std::size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1)
    throw std::runtime_error("sign len");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     data.size()) != 1) {
    throw std::runtime_error("sign");
  }
  sig.resize(len);
  return sig;
}

// COSE_Key map for an OpenSSL public key (RFC 9053 / RFC 8230 labels).
inline cbor::Value cose_key_of(EVP_PKEY* key, int alg) {
  using cbor::Value;
  Value::Map m;
  switch (alg) {
    case cose::kES256: {
      unsigned char pub[65];
      std::size_t len = 0;
      EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &len);
      const std::string point(reinterpret_cast<char*>(pub), len);  // 04 || x || y
      m.emplace_back(Value::integer(1), Value::integer(2));        // kty EC2
      m.emplace_back(Value::integer(3), Value::integer(-7));       // alg ES256
      m.emplace_back(Value::integer(-1), Value::integer(1));       // crv P-256
      m.emplace_back(Value::integer(-2), Value::bytes(point.substr(1, 32)));
      m.emplace_back(Value::integer(-3), Value::bytes(point.substr(33, 32)));
      break;
    }
    case cose::kEdDSA: {
      std::string x(32, '\0');
      std::size_t len = x.size();
      EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(x.data()), &len);
      m.emplace_back(Value::integer(1), Value::integer(1));   // kty OKP
      m.emplace_back(Value::integer(3), Value::integer(-8));  // alg EdDSA
      m.emplace_back(Value::integer(-1), Value::integer(6));  // crv Ed25519
      m.emplace_back(Value::integer(-2), Value::bytes(x));
      break;
    }
    case cose::kRS256: {
      BIGNUM* n = nullptr;
      BIGNUM* e = nullptr;
      EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n);
      EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e);
      BnPtr n_owner(n), e_owner(e);
      m.emplace_back(Value::integer(1), Value::integer(3));     // kty RSA
      m.emplace_back(Value::integer(3), Value::integer(-257));  // alg RS256
      m.emplace_back(Value::integer(-1), Value::bytes(bn_bytes(n)));
      m.emplace_back(Value::integer(-2), Value::bytes(bn_bytes(e)));
      break;
    }
    default:
      throw std::runtime_error("unsupported alg");
  }
  return Value::map(std::move(m));
}

// clientDataJSON as a browser writes it (member order type, challenge, origin).
inline std::string client_data_json(std::string_view type, std::string_view raw_challenge,
                                    std::string_view origin = kOrigin,
                                    std::optional<bool> cross_origin = false,
                                    std::string_view extra_members = "") {
  std::string s = R"({"type":")" + std::string(type) + R"(","challenge":")" +
                  crypto::base64url_encode(raw_challenge) + R"(","origin":")" +
                  std::string(origin) + '"';
  if (cross_origin) s += std::string(R"(,"crossOrigin":)") + (*cross_origin ? "true" : "false");
  s += extra_members;
  s += '}';
  return s;
}

// §6.5.1 attested credential data.
inline std::string attested_credential_data(std::string_view aaguid, std::string_view credential_id,
                                            std::string_view cose_key) {
  std::string s(aaguid);
  s += static_cast<char>((credential_id.size() >> 8) & 0xff);
  s += static_cast<char>(credential_id.size() & 0xff);
  s += credential_id;
  s += cose_key;
  return s;
}

// §6.1 authenticator data: rpIdHash || flags || signCount || rest.
inline std::string authenticator_data(std::string_view rp_id, std::uint8_t flags,
                                      std::uint32_t sign_count, std::string_view rest = "") {
  std::string s = crypto::sha256(rp_id);
  s += static_cast<char>(flags);
  s += u32_be(sign_count);
  s += rest;
  return s;
}

inline std::string attestation_object(std::string_view fmt, cbor::Value att_stmt,
                                      std::string_view auth_data) {
  using cbor::Value;
  Value::Map m;
  m.emplace_back(Value::text("fmt"), Value::text(std::string(fmt)));
  m.emplace_back(Value::text("attStmt"), std::move(att_stmt));
  m.emplace_back(Value::text("authData"), Value::bytes(std::string(auth_data)));
  return cbor::encode(Value::map(std::move(m)));
}

inline std::string challenge_bytes(char fill = 'c') { return std::string(32, fill); }

class SoftAuthenticator {
 public:
  explicit SoftAuthenticator(int alg, std::string credential_id = {})
      : alg_(alg), key_(generate_key(alg)), credential_id_(std::move(credential_id)) {
    if (credential_id_.empty())
      credential_id_ = "cred-" + std::string(cose::alg_name(alg)) + "-0123456789";
    aaguid_ = std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16);
  }

  int alg() const { return alg_; }
  EVP_PKEY* key() const { return key_.get(); }
  const std::string& credential_id() const { return credential_id_; }
  const std::string& aaguid() const { return aaguid_; }
  cbor::Value cose_key_value() const { return cose_key_of(key_.get(), alg_); }
  std::string cose_key() const { return cbor::encode(cose_key_value()); }
  std::string sign(std::string_view data) const { return sign_with(key_.get(), alg_, data); }

  // Knobs for one ceremony; defaults are a well-behaved platform authenticator.
  struct Options {
    std::string rp_id = kRpId;
    std::string origin = kOrigin;
    std::string type;  // "" = the ceremony's own type
    std::string challenge = challenge_bytes();
    std::optional<bool> cross_origin = false;
    std::uint8_t flags = kFlagUp | kFlagUv;
    std::uint32_t sign_count = 0;
    std::string extensions;  // CBOR map bytes; sets ED when non-empty
    std::string trailing;    // bytes appended to the authenticator data
  };

  struct Registration {
    std::string client_data_json;
    std::string auth_data;
    std::string attestation_object;
    RegistrationInput input(std::string_view expected_challenge) const {
      return RegistrationInput{client_data_json, attestation_object,
                               std::string(expected_challenge)};
    }
  };

  std::string registration_auth_data(const Options& o) const {
    std::uint8_t flags = o.flags | kFlagAt;
    if (!o.extensions.empty()) flags |= kFlagEd;
    return authenticator_data(
        o.rp_id, flags, o.sign_count,
        attested_credential_data(aaguid_, credential_id_, cose_key()) + o.extensions + o.trailing);
  }

  // fmt "none" with an empty attStmt.
  Registration make_credential() const { return make_credential(Options()); }
  Registration make_credential(const Options& o) const {
    Registration r;
    r.client_data_json = client_data_json(o.type.empty() ? "webauthn.create" : o.type, o.challenge,
                                          o.origin, o.cross_origin);
    r.auth_data = registration_auth_data(o);
    r.attestation_object = attestation_object("none", cbor::Value::map({}), r.auth_data);
    return r;
  }

  // fmt "packed", self attestation: the credential key signs; `stmt_alg`
  // overrides the alg written in attStmt.
  Registration make_credential_packed_self() const {
    return make_credential_packed_self(Options());
  }
  Registration make_credential_packed_self(const Options& o,
                                           std::optional<int> stmt_alg = {}) const {
    Registration r;
    r.client_data_json = client_data_json(o.type.empty() ? "webauthn.create" : o.type, o.challenge,
                                          o.origin, o.cross_origin);
    r.auth_data = registration_auth_data(o);
    const std::string sig = sign(r.auth_data + crypto::sha256(r.client_data_json));
    r.attestation_object =
        attestation_object("packed", packed_stmt(stmt_alg.value_or(alg_), sig), r.auth_data);
    return r;
  }

  static cbor::Value packed_stmt(int alg, std::string sig,
                                 std::optional<cbor::Value::Array> x5c = {}) {
    using cbor::Value;
    Value::Map m;
    m.emplace_back(Value::text("alg"), Value::integer(alg));
    m.emplace_back(Value::text("sig"), Value::bytes(std::move(sig)));
    if (x5c) m.emplace_back(Value::text("x5c"), Value::array(std::move(*x5c)));
    return Value::map(std::move(m));
  }

  struct Assertion {
    std::string client_data_json;
    std::string auth_data;
    std::string signature;
    AssertionInput input(std::string_view credential_id,
                         std::string_view expected_challenge) const {
      return AssertionInput{std::string(credential_id), client_data_json, auth_data, signature,
                            std::string(expected_challenge)};
    }
  };

  Assertion get_assertion(const Options& o) const {
    Assertion a;
    a.client_data_json = client_data_json(o.type.empty() ? "webauthn.get" : o.type, o.challenge,
                                          o.origin, o.cross_origin);
    std::uint8_t flags = o.flags;
    if (!o.extensions.empty()) flags |= kFlagEd;
    a.auth_data = authenticator_data(o.rp_id, flags, o.sign_count, o.extensions + o.trailing);
    a.signature = sign(a.auth_data + crypto::sha256(a.client_data_json));
    return a;
  }

  StoredCredential stored(std::uint32_t sign_count = 0, bool backup_eligible = false) const {
    return StoredCredential{cose_key(), alg_, sign_count, backup_eligible};
  }

 private:
  int alg_;
  PkeyPtr key_;
  std::string credential_id_;
  std::string aaguid_;
};

// An attestation certificate (§8.2.1) for `subject_key`, signed by
// `issuer_key`; every knob can be set wrong on purpose.
struct CertOptions {
  long version = X509_VERSION_3;
  std::string ou = "Authenticator Attestation";
  bool ca = false;
  std::optional<std::string> aaguid;  // adds id-fido-gen-ce-aaguid
  bool aaguid_critical = false;
};

inline std::string make_attestation_cert(EVP_PKEY* subject_key, EVP_PKEY* issuer_key,
                                         const CertOptions& o = {}) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), o.version);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 4242);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600L * 24 * 365);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  auto add = [](X509_NAME* n, const char* field, const std::string& v) {
    X509_NAME_add_entry_by_txt(n, field, MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(v.c_str()), -1, -1, 0);
  };
  add(subject, "C", "SE");
  add(subject, "O", "Stepup Test Vendor");
  add(subject, "OU", o.ou);
  add(subject, "CN", "Stepup Test Batch 1");
  X509_NAME* issuer = X509_get_issuer_name(cert.get());
  add(issuer, "C", "SE");
  add(issuer, "O", "Stepup Test Vendor");
  add(issuer, "CN", "Stepup Test Attestation Root");
  X509_set_pubkey(cert.get(), subject_key);
  if (o.version == X509_VERSION_3) {
    X509_EXTENSION* bc = X509V3_EXT_nconf_nid(nullptr, nullptr, NID_basic_constraints,
                                              o.ca ? "critical,CA:TRUE" : "CA:FALSE");
    X509_add_ext(cert.get(), bc, -1);
    X509_EXTENSION_free(bc);
    if (o.aaguid) {
      ASN1_OCTET_STRING* inner = ASN1_OCTET_STRING_new();
      ASN1_OCTET_STRING_set(inner, reinterpret_cast<const unsigned char*>(o.aaguid->data()),
                            static_cast<int>(o.aaguid->size()));
      unsigned char* der = nullptr;
      const int der_len = i2d_ASN1_OCTET_STRING(inner, &der);
      ASN1_OCTET_STRING* outer = ASN1_OCTET_STRING_new();
      ASN1_OCTET_STRING_set(outer, der, der_len);
      ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1);
      X509_EXTENSION* ext =
          X509_EXTENSION_create_by_OBJ(nullptr, oid, o.aaguid_critical ? 1 : 0, outer);
      X509_add_ext(cert.get(), ext, -1);
      X509_EXTENSION_free(ext);
      ASN1_OBJECT_free(oid);
      ASN1_OCTET_STRING_free(outer);
      OPENSSL_free(der);
      ASN1_OCTET_STRING_free(inner);
    }
  }
  const EVP_MD* md = EVP_PKEY_is_a(issuer_key, "ED25519") ? nullptr : EVP_sha256();
  if (X509_sign(cert.get(), issuer_key, md) <= 0) throw std::runtime_error("X509_sign");
  unsigned char* out = nullptr;
  const int len = i2d_X509(cert.get(), &out);
  std::string der(reinterpret_cast<char*>(out), static_cast<std::size_t>(len));
  OPENSSL_free(out);
  return der;
}

}  // namespace stepup::factors::webauthn::test
