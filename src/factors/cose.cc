#include "factors/cose.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <cstring>

namespace stepup::factors::cose {
namespace {

// COSE_Key labels (RFC 9052 §7.1, RFC 9053 §7, RFC 8230 §4).
constexpr std::int64_t kLabelKty = 1;
constexpr std::int64_t kLabelAlg = 3;
constexpr std::int64_t kLabelCrv = -1;   // EC2 / OKP
constexpr std::int64_t kLabelX = -2;     // EC2 / OKP
constexpr std::int64_t kLabelY = -3;     // EC2
constexpr std::int64_t kLabelD = -4;     // EC2 / OKP private key
constexpr std::int64_t kLabelN = -1;     // RSA modulus
constexpr std::int64_t kLabelE = -2;     // RSA public exponent
constexpr std::int64_t kLabelRsaD = -3;  // RSA private exponent (first private label)

constexpr std::int64_t kKtyOkp = 1;
constexpr std::int64_t kKtyEc2 = 2;
constexpr std::int64_t kKtyRsa = 3;
constexpr std::int64_t kCrvP256 = 1;
constexpr std::int64_t kCrvEd25519 = 6;

constexpr std::size_t kCoordLen = 32;
constexpr int kRsaMinBits = 2048;
constexpr int kRsaMaxBits = 8192;  // bounds verify cost for hostile keys
constexpr std::size_t kRsaMaxExponentLen = 8;

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const noexcept { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using MdPtr = std::unique_ptr<EVP_MD, Deleter<EVP_MD, EVP_MD_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;

const unsigned char* u8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

const EVP_MD* sha256_md() {
  // Fetched once: name lookups are the expensive part of OpenSSL 3 EVP.
  static const MdPtr md{EVP_MD_fetch(nullptr, "SHA256", nullptr)};
  return md.get();
}

template <typename T>
tl::expected<T, KeyError> fail(KeyError e) {
  ERR_clear_error();
  return tl::make_unexpected(e);
}

const std::string* bytes_member(const cbor::Value& key, std::int64_t label) {
  const cbor::Value* v = key.find(label);
  return v != nullptr ? v->as_bytes() : nullptr;
}

// Builds a key from OSSL_PARAMs ("EC" or "RSA"). EC keys then get the
// public-key check so an off-curve point never gets pinned. RSA skips it:
// OpenSSL's RSA public check runs a primality test on n (about 20 ms here)
// and buys a verifier nothing; size, parity and exponent are checked by the
// caller instead.
tl::expected<PkeyPtr, KeyError> from_params(const char* type, OSSL_PARAM* params) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return fail<PkeyPtr>(KeyError::kInvalidKey);
  }
  PkeyPtr key(raw);
  if (std::strcmp(type, "EC") != 0) return key;
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1)
    return fail<PkeyPtr>(KeyError::kInvalidKey);
  return key;
}

tl::expected<PkeyPtr, KeyError> ec2_key(const cbor::Value& key) {
  const cbor::Value* crv = key.find(kLabelCrv);
  if (crv == nullptr || crv->as_int() != kCrvP256) return fail<PkeyPtr>(KeyError::kBadCurve);
  const std::string* x = bytes_member(key, kLabelX);
  const std::string* y = bytes_member(key, kLabelY);  // WebAuthn: uncompressed points only
  if (x == nullptr || y == nullptr || x->size() != kCoordLen || y->size() != kCoordLen ||
      key.find(kLabelD) != nullptr) {
    return fail<PkeyPtr>(KeyError::kBadParameter);
  }
  std::string point = "\x04" + *x + *y;  // SEC 1 uncompressed form
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return fail<PkeyPtr>(KeyError::kInvalidKey);
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return fail<PkeyPtr>(KeyError::kInvalidKey);
  return from_params("EC", params.get());
}

tl::expected<PkeyPtr, KeyError> okp_key(const cbor::Value& key) {
  const cbor::Value* crv = key.find(kLabelCrv);
  if (crv == nullptr || crv->as_int() != kCrvEd25519) return fail<PkeyPtr>(KeyError::kBadCurve);
  const std::string* x = bytes_member(key, kLabelX);
  if (x == nullptr || x->size() != kCoordLen || key.find(kLabelD) != nullptr) {
    return fail<PkeyPtr>(KeyError::kBadParameter);
  }
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, u8(*x), x->size()));
  if (!pkey) return fail<PkeyPtr>(KeyError::kInvalidKey);
  return pkey;
}

tl::expected<PkeyPtr, KeyError> rsa_key(const cbor::Value& key) {
  const std::string* n = bytes_member(key, kLabelN);
  const std::string* e = bytes_member(key, kLabelE);
  if (n == nullptr || e == nullptr || n->empty() || e->empty() || e->size() > kRsaMaxExponentLen ||
      key.find(kLabelRsaD) != nullptr) {
    return fail<PkeyPtr>(KeyError::kBadParameter);
  }
  BnPtr bn_n(BN_bin2bn(u8(*n), static_cast<int>(n->size()), nullptr));
  BnPtr bn_e(BN_bin2bn(u8(*e), static_cast<int>(e->size()), nullptr));
  if (!bn_n || !bn_e) return fail<PkeyPtr>(KeyError::kInvalidKey);
  const int bits = BN_num_bits(bn_n.get());
  if (bits < kRsaMinBits || bits > kRsaMaxBits || !BN_is_odd(bn_n.get()) ||
      !BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get())) {
    return fail<PkeyPtr>(KeyError::kInvalidKey);
  }
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return fail<PkeyPtr>(KeyError::kInvalidKey);
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return fail<PkeyPtr>(KeyError::kInvalidKey);
  return from_params("RSA", params.get());
}

// The key type an alg demands, for keys that did not come from COSE.
bool key_fits_alg(EVP_PKEY* key, int alg) {
  switch (alg) {
    case kES256: {
      if (!EVP_PKEY_is_a(key, "EC")) return false;
      char group[64] = {0};
      std::size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                         &len) != 1) {
        return false;
      }
      return std::strcmp(group, "prime256v1") == 0 || std::strcmp(group, "P-256") == 0;
    }
    case kEdDSA:
      return EVP_PKEY_is_a(key, "ED25519") == 1;
    case kRS256: {
      const int bits = EVP_PKEY_get_bits(key);
      return EVP_PKEY_is_a(key, "RSA") == 1 && bits >= kRsaMinBits && bits <= kRsaMaxBits;
    }
    default:
      return false;
  }
}

}  // namespace

bool is_supported_alg(int alg) { return alg == kES256 || alg == kEdDSA || alg == kRS256; }

std::string_view alg_name(int alg) {
  switch (alg) {
    case kES256:
      return "ES256";
    case kEdDSA:
      return "EdDSA";
    case kRS256:
      return "RS256";
    default:
      return "unknown";
  }
}

std::string_view to_string(KeyError e) {
  switch (e) {
    case KeyError::kBadCbor:
      return "COSE key is not one well-formed CBOR item";
    case KeyError::kNotAMap:
      return "COSE key is not a CBOR map";
    case KeyError::kMissingKty:
      return "COSE key has no integer kty";
    case KeyError::kMissingAlg:
      return "COSE key has no integer alg";
    case KeyError::kUnsupportedAlg:
      return "COSE key alg is not ES256, EdDSA or RS256";
    case KeyError::kKtyAlgMismatch:
      return "COSE key kty does not fit its alg";
    case KeyError::kBadCurve:
      return "COSE key curve does not fit its alg";
    case KeyError::kBadParameter:
      return "COSE key parameter missing, malformed or private";
    case KeyError::kInvalidKey:
      return "COSE key rejected by OpenSSL";
  }
  return "unknown COSE key error";
}

struct PublicKey::Impl {
  PkeyPtr key;
  int alg = 0;
};

PublicKey::PublicKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PublicKey::~PublicKey() = default;
PublicKey::PublicKey(PublicKey&&) noexcept = default;
PublicKey& PublicKey::operator=(PublicKey&&) noexcept = default;

tl::expected<PublicKey, KeyError> PublicKey::from_cose(const cbor::Value& key) {
  if (!key.is_map()) return tl::make_unexpected(KeyError::kNotAMap);
  const cbor::Value* kty_v = key.find(kLabelKty);
  const auto kty = kty_v != nullptr ? kty_v->as_int() : std::nullopt;
  if (!kty) return tl::make_unexpected(KeyError::kMissingKty);
  const cbor::Value* alg_v = key.find(kLabelAlg);
  const auto alg = alg_v != nullptr ? alg_v->as_int() : std::nullopt;
  if (!alg) return tl::make_unexpected(KeyError::kMissingAlg);
  if (*alg < -0x10000 || *alg > 0x10000 || !is_supported_alg(static_cast<int>(*alg))) {
    return tl::make_unexpected(KeyError::kUnsupportedAlg);
  }
  tl::expected<PkeyPtr, KeyError> pkey = tl::make_unexpected(KeyError::kKtyAlgMismatch);
  switch (static_cast<int>(*alg)) {
    case kES256:
      if (*kty == kKtyEc2) pkey = ec2_key(key);
      break;
    case kEdDSA:
      if (*kty == kKtyOkp) pkey = okp_key(key);
      break;
    case kRS256:
      if (*kty == kKtyRsa) pkey = rsa_key(key);
      break;
  }
  if (!pkey) return tl::make_unexpected(pkey.error());
  auto impl = std::make_unique<Impl>();
  impl->key = std::move(*pkey);
  impl->alg = static_cast<int>(*alg);
  return PublicKey(std::move(impl));
}

tl::expected<PublicKey, KeyError> PublicKey::from_cose_bytes(std::string_view bytes) {
  auto v = cbor::decode(bytes);
  if (!v) return tl::make_unexpected(KeyError::kBadCbor);
  return from_cose(*v);
}

tl::expected<PublicKey, KeyError> PublicKey::from_spki_der(std::string_view der, int alg) {
  if (!is_supported_alg(alg)) return tl::make_unexpected(KeyError::kUnsupportedAlg);
  const unsigned char* p = u8(der);
  PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!key || p != u8(der) + der.size()) return fail<PublicKey>(KeyError::kInvalidKey);
  if (!key_fits_alg(key.get(), alg)) return fail<PublicKey>(KeyError::kKtyAlgMismatch);
  auto impl = std::make_unique<Impl>();
  impl->key = std::move(key);
  impl->alg = alg;
  return PublicKey(std::move(impl));
}

int PublicKey::alg() const { return impl_->alg; }

std::string PublicKey::spki_der() const {
  unsigned char* buf = nullptr;
  const int len = i2d_PUBKEY(impl_->key.get(), &buf);
  if (len <= 0) {
    ERR_clear_error();
    return {};
  }
  std::string out(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(len));
  OPENSSL_free(buf);
  return out;
}

bool PublicKey::verify(std::string_view data, std::string_view signature) const {
  // Ed25519 is "pure" EdDSA and takes no digest; the other two hash with SHA-256
  // (RSA's default padding in OpenSSL is PKCS#1 v1.5, which RS256 wants).
  const EVP_MD* md = impl_->alg == kEdDSA ? nullptr : sha256_md();
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, impl_->key.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), u8(signature), signature.size(), u8(data), data.size()) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

}  // namespace stepup::factors::cose
