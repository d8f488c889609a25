#include "crypto/jws.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include <array>
#include <boost/json.hpp>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/openssl_handles.h"

namespace stepup::crypto {
namespace json = boost::json;

namespace {

constexpr std::size_t kCoordLen = 32;   // P-256 coordinate, Ed25519 public key
constexpr std::size_t kRawSigLen = 64;  // ES256 r||s and Ed25519 signatures
constexpr char kP256GroupName[] = "prime256v1";

// ---- small helpers -------------------------------------------------------

const unsigned char* u8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

const EVP_MD* sha256_md() {
  // Fetched once: name lookups are the expensive part of OpenSSL 3 EVP.
  static const ossl::MdPtr md{EVP_MD_fetch(nullptr, "SHA256", nullptr)};
  return md.get();
}

// ES256 signs with SHA-256; Ed25519 is "pure" EdDSA and takes no digest.
const EVP_MD* digest_for(Alg alg) { return alg == Alg::kES256 ? sha256_md() : nullptr; }

const json::string* string_member(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v != nullptr ? v->if_string() : nullptr;
}

std::string json_quote(std::string_view s) { return json::serialize(json::string_view(s)); }

// ---- the public part of a JWK ------------------------------------------

struct PublicJwk {
  Alg alg = Alg::kES256;
  std::string x;  // raw bytes, kCoordLen
  std::string y;  // raw bytes, kCoordLen; EC only
};

// RFC 7638 §3.2: required members only, lexicographic order, no whitespace.
// Every value here is base64url or a fixed name, so no escaping is needed.
std::string thumbprint_of(const PublicJwk& k) {
  std::string canonical;
  if (k.alg == Alg::kES256) {
    canonical = R"({"crv":"P-256","kty":"EC","x":")" + base64url_encode(k.x) + R"(","y":")" +
                base64url_encode(k.y) + R"("})";
  } else {
    canonical = R"({"crv":"Ed25519","kty":"OKP","x":")" + base64url_encode(k.x) + R"("})";
  }
  return base64url_encode(sha256(canonical));
}

tl::expected<std::string, std::string> decode_coord(const json::object& o, std::string_view name) {
  const json::string* s = string_member(o, name);
  if (s == nullptr) return tl::make_unexpected("JWK member \"" + std::string(name) + "\" missing");
  auto raw = base64url_decode(*s);
  if (!raw) return tl::make_unexpected("JWK member \"" + std::string(name) + "\" is not base64url");
  if (raw->size() != kCoordLen) {
    return tl::make_unexpected("JWK member \"" + std::string(name) + "\" must be 32 bytes");
  }
  return std::move(*raw);
}

// Reads kty/crv/x/y and pins the algorithm from the key type; an "alg" member
// that says otherwise is an error, never an override.
tl::expected<PublicJwk, std::string> parse_public_jwk(const json::object& o) {
  const json::string* kty = string_member(o, "kty");
  const json::string* crv = string_member(o, "crv");
  if (kty == nullptr) return tl::make_unexpected(std::string("JWK has no \"kty\""));
  PublicJwk k;
  if (*kty == "EC") {
    if (crv == nullptr || *crv != "P-256") {
      return tl::make_unexpected(std::string("EC JWK must have \"crv\":\"P-256\""));
    }
    k.alg = Alg::kES256;
    auto x = decode_coord(o, "x");
    if (!x) return tl::make_unexpected(x.error());
    auto y = decode_coord(o, "y");
    if (!y) return tl::make_unexpected(y.error());
    k.x = std::move(*x);
    k.y = std::move(*y);
  } else if (*kty == "OKP") {
    if (crv == nullptr || *crv != "Ed25519") {
      return tl::make_unexpected(std::string("OKP JWK must have \"crv\":\"Ed25519\""));
    }
    k.alg = Alg::kEdDSA;
    auto x = decode_coord(o, "x");
    if (!x) return tl::make_unexpected(x.error());
    k.x = std::move(*x);
  } else {
    return tl::make_unexpected("unsupported JWK kty \"" + std::string(*kty) + "\"");
  }
  if (const json::value* alg = o.if_contains("alg")) {
    if (!alg->is_string() || alg->get_string() != to_string(k.alg)) {
      return tl::make_unexpected("JWK \"alg\" contradicts its key type (expected " +
                                 std::string(to_string(k.alg)) + ")");
    }
  }
  return k;
}

// ---- OpenSSL key objects -------------------------------------------------

std::string openssl_error(std::string_view what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  std::string msg(what);
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    msg += ": ";
    msg += buf;
  }
  return msg;
}

tl::expected<ossl::PkeyPtr, std::string> build_public_key(const PublicJwk& k) {
  if (k.alg == Alg::kEdDSA) {
    ossl::PkeyPtr pkey{
        EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr, u8(k.x), k.x.size())};
    if (!pkey) return tl::make_unexpected(openssl_error("bad Ed25519 public key"));
    return pkey;
  }
  // Uncompressed SEC1 point 04||x||y; fromdata decodes it and refuses points
  // that are not on the curve, and the public check below makes that explicit.
  std::array<unsigned char, 1 + 2 * kCoordLen> point{};
  point[0] = 0x04;
  std::memcpy(point.data() + 1, k.x.data(), kCoordLen);
  std::memcpy(point.data() + 1 + kCoordLen, k.y.data(), kCoordLen);
  char group[sizeof kP256GroupName];
  std::memcpy(group, kP256GroupName, sizeof group);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end(),
  };
  ossl::PkeyCtxPtr ctx{EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr)};
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return tl::make_unexpected(openssl_error("EC point is not on P-256"));
  }
  ossl::PkeyPtr pkey{raw};
  ossl::PkeyCtxPtr check{EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr)};
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return tl::make_unexpected(openssl_error("EC point is not on P-256"));
  }
  return pkey;
}

// Extracts the raw public coordinates of a key we hold (for JWK output).
PublicJwk public_of(EVP_PKEY* pkey, Alg alg) {
  PublicJwk k;
  k.alg = alg;
  if (alg == Alg::kEdDSA) {
    k.x.assign(kCoordLen, '\0');
    std::size_t len = kCoordLen;
    if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(k.x.data()), &len) !=
            1 ||
        len != kCoordLen) {
      throw std::runtime_error(openssl_error("cannot read Ed25519 public key"));
    }
    return k;
  }
  auto coord = [&](const char* name) {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) {
      throw std::runtime_error(openssl_error("cannot read EC public key"));
    }
    ossl::BnPtr owned{bn};
    std::string out(kCoordLen, '\0');
    if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), kCoordLen) !=
        static_cast<int>(kCoordLen)) {
      throw std::runtime_error("EC coordinate does not fit 32 bytes");
    }
    return out;
  };
  k.x = coord(OSSL_PKEY_PARAM_EC_PUB_X);
  k.y = coord(OSSL_PKEY_PARAM_EC_PUB_Y);
  return k;
}

bool key_matches_alg(EVP_PKEY* pkey, Alg alg) {
  if (alg == Alg::kEdDSA) return EVP_PKEY_is_a(pkey, "ED25519") == 1;
  if (EVP_PKEY_is_a(pkey, "EC") != 1) return false;
  char group[64] = {0};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) !=
      1) {
    ERR_clear_error();
    return false;
  }
  return std::string_view(group, len) == kP256GroupName;
}

// ---- ES256 signature format ---------------------------------------------
// OpenSSL speaks DER ECDSA-Sig-Value; JOSE uses fixed 32-byte r||s (RFC 7518
// §3.4). The raw->DER direction runs on every verify, so it is hand-encoded
// into a stack buffer instead of allocating BIGNUMs and an ECDSA_SIG.

constexpr std::size_t kMaxDerSig = 2 + 2 * (2 + 1 + kCoordLen);

std::size_t der_put_integer(unsigned char* out, const unsigned char* be32) {
  std::size_t skip = 0;
  while (skip < kCoordLen - 1 && be32[skip] == 0) ++skip;  // minimal encoding, keep one byte
  const std::size_t len = kCoordLen - skip;
  const bool pad = (be32[skip] & 0x80) != 0;  // stays a positive INTEGER
  std::size_t n = 0;
  out[n++] = 0x02;
  out[n++] = static_cast<unsigned char>(len + (pad ? 1 : 0));
  if (pad) out[n++] = 0x00;
  std::memcpy(out + n, be32 + skip, len);
  return n + len;
}

std::size_t raw_to_der(const unsigned char* raw, unsigned char* der) {
  unsigned char body[kMaxDerSig];
  std::size_t n = der_put_integer(body, raw);
  n += der_put_integer(body + n, raw + kCoordLen);
  der[0] = 0x30;
  der[1] = static_cast<unsigned char>(n);  // at most 70: short form length
  std::memcpy(der + 2, body, n);
  return n + 2;
}

std::string der_to_raw(const unsigned char* der, std::size_t len) {
  const unsigned char* p = der;
  ossl::EcdsaSigPtr sig{d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len))};
  if (!sig)
    throw std::runtime_error(openssl_error("OpenSSL produced an unreadable ECDSA signature"));
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string out(kRawSigLen, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(r, o, kCoordLen) != static_cast<int>(kCoordLen) ||
      BN_bn2binpad(s, o + kCoordLen, kCoordLen) != static_cast<int>(kCoordLen)) {
    throw std::runtime_error("ECDSA signature component does not fit 32 bytes");
  }
  return out;
}

// ---- sign / verify -------------------------------------------------------

std::string sign_raw(EVP_PKEY* pkey, Alg alg, std::string_view input) {
  ossl::MdCtxPtr ctx{EVP_MD_CTX_new()};
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, digest_for(alg), nullptr, pkey) != 1) {
    throw std::runtime_error(openssl_error("EVP_DigestSignInit failed"));
  }
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, u8(input), input.size()) != 1) {
    throw std::runtime_error(openssl_error("EVP_DigestSign (size) failed"));
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, u8(input),
                     input.size()) != 1) {
    throw std::runtime_error(openssl_error("EVP_DigestSign failed"));
  }
  sig.resize(len);
  if (alg == Alg::kES256) return der_to_raw(u8(sig), sig.size());
  return sig;
}

// A verify context initialised once per key (EVP_DigestVerifyInit fetches the
// algorithm and sets up the provider context: a measurable slice of each
// verify, and it takes global locks). Per call we only copy it.
ossl::MdCtxPtr make_verify_template(EVP_PKEY* pkey, Alg alg) {
  ossl::MdCtxPtr ctx{EVP_MD_CTX_new()};
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, digest_for(alg), nullptr, pkey) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return ctx;
}

// `signature` is in JOSE form (64 raw bytes for both algorithms). The shared
// template is only read (copied); each call verifies on its own EVP_MD_CTX, so
// this is safe to run concurrently on one key.
bool verify_raw(const EVP_MD_CTX* tmpl, std::string_view input, Alg alg,
                std::string_view signature) {
  if (signature.size() != kRawSigLen) return false;
  unsigned char der[kMaxDerSig];
  const unsigned char* sig = u8(signature);
  std::size_t sig_len = signature.size();
  if (alg == Alg::kES256) {
    sig_len = raw_to_der(sig, der);
    sig = der;
  }
  ossl::MdCtxPtr ctx{EVP_MD_CTX_new()};
  const bool ok = ctx && EVP_MD_CTX_copy_ex(ctx.get(), tmpl) == 1 &&
                  EVP_DigestVerify(ctx.get(), sig, sig_len, u8(input), input.size()) == 1;
  if (!ok) ERR_clear_error();  // a failed verify leaves errors queued on this thread
  return ok;
}

// Headers and payloads of access tokens are small: parse them into a stack
// arena so the common case does not touch the heap allocator.
template <std::size_t N>
struct StackArena {
  unsigned char buffer[N];
  json::monotonic_resource resource{buffer, N};
};

}  // namespace

// ---- names ---------------------------------------------------------------

std::string_view to_string(Alg a) {
  switch (a) {
    case Alg::kES256:
      return "ES256";
    case Alg::kEdDSA:
      return "EdDSA";
  }
  return "?";
}

std::optional<Alg> alg_from_string(std::string_view s) {
  if (s == "ES256") return Alg::kES256;
  if (s == "EdDSA") return Alg::kEdDSA;
  return std::nullopt;
}

std::string_view to_string(JwsError e) {
  switch (e) {
    case JwsError::kMalformed:
      return "malformed";
    case JwsError::kBadHeader:
      return "bad_header";
    case JwsError::kAlgNotAllowed:
      return "alg_not_allowed";
    case JwsError::kMissingKid:
      return "missing_kid";
    case JwsError::kUnknownKid:
      return "unknown_kid";
    case JwsError::kAlgKidMismatch:
      return "alg_kid_mismatch";
    case JwsError::kBadSignature:
      return "bad_signature";
    case JwsError::kBadPayload:
      return "bad_payload";
    case JwsError::kTooLarge:
      return "too_large";
  }
  return "?";
}

tl::expected<std::string, std::string> jwk_thumbprint(std::string_view jwk_json) {
  json::error_code ec;
  json::value v = json::parse(json::string_view(jwk_json.data(), jwk_json.size()), ec);
  if (ec || !v.is_object()) return tl::make_unexpected(std::string("JWK is not a JSON object"));
  auto k = parse_public_jwk(v.get_object());
  if (!k) return tl::make_unexpected(k.error());
  return thumbprint_of(*k);
}

// ---- SigningKey ----------------------------------------------------------

struct SigningKey::Impl {
  Alg alg;
  std::string kid;
  ossl::PkeyPtr pkey;
  PublicJwk pub;
};

SigningKey::SigningKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SigningKey::~SigningKey() = default;
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;

SigningKey SigningKey::generate(Alg alg) {
  EVP_PKEY* raw = alg == Alg::kES256 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                                     : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (raw == nullptr) throw std::runtime_error(openssl_error("key generation failed"));
  auto impl = std::make_unique<Impl>();
  impl->alg = alg;
  impl->pkey.reset(raw);
  impl->pub = public_of(raw, alg);
  impl->kid = thumbprint_of(impl->pub);
  return SigningKey(std::move(impl));
}

tl::expected<SigningKey, std::string> SigningKey::from_pem(std::string_view pem, Alg alg,
                                                           std::string kid) {
  ossl::BioPtr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  if (!bio) return tl::make_unexpected(openssl_error("BIO_new_mem_buf failed"));
  ossl::PkeyPtr pkey{PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)};
  if (!pkey) return tl::make_unexpected(openssl_error("not a PEM private key"));
  if (!key_matches_alg(pkey.get(), alg)) {
    return tl::make_unexpected("private key type does not fit " + std::string(to_string(alg)));
  }
  auto impl = std::make_unique<Impl>();
  impl->alg = alg;
  try {
    impl->pub = public_of(pkey.get(), alg);
  } catch (const std::exception& e) {
    return tl::make_unexpected(std::string(e.what()));
  }
  impl->kid = kid.empty() ? thumbprint_of(impl->pub) : std::move(kid);
  impl->pkey = std::move(pkey);
  return SigningKey(std::move(impl));
}

Alg SigningKey::alg() const { return impl_->alg; }
const std::string& SigningKey::kid() const { return impl_->kid; }

std::string SigningKey::private_pem() const {
  ossl::BioPtr bio{BIO_new(BIO_s_mem())};
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), impl_->pkey.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    throw std::runtime_error(openssl_error("PEM_write_bio_PrivateKey failed"));
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string SigningKey::public_jwk_json() const {
  json::object o;
  if (impl_->alg == Alg::kES256) {
    o["kty"] = "EC";
    o["crv"] = "P-256";
    o["x"] = base64url_encode(impl_->pub.x);
    o["y"] = base64url_encode(impl_->pub.y);
  } else {
    o["kty"] = "OKP";
    o["crv"] = "Ed25519";
    o["x"] = base64url_encode(impl_->pub.x);
  }
  o["kid"] = impl_->kid;
  o["alg"] = to_string(impl_->alg);
  o["use"] = "sig";
  return json::serialize(o);
}

std::string SigningKey::sign_compact(std::string_view payload_json, std::string_view typ) const {
  std::string header = R"({"alg":")" + std::string(to_string(impl_->alg)) + R"(","typ":)" +
                       json_quote(typ) + R"(,"kid":)" + json_quote(impl_->kid) + "}";
  std::string out = base64url_encode(header);
  out += '.';
  out += base64url_encode(payload_json);
  const std::string sig = sign_raw(impl_->pkey.get(), impl_->alg, out);
  out += '.';
  out += base64url_encode(sig);
  return out;
}

// ---- KeySet --------------------------------------------------------------

namespace {
struct KeyEntry {
  std::string kid;
  Alg alg;
  ossl::PkeyPtr pkey;         // built once at add time, shared read-only by verify()
  ossl::MdCtxPtr verify_ctx;  // initialised for pkey/alg; copied per verify, never used directly
};

tl::expected<KeyEntry, std::string> entry_from_jwk(const json::object& o) {
  if (o.contains("d")) {
    return tl::make_unexpected(std::string("JWK holds private key material (\"d\")"));
  }
  if (const json::value* use = o.if_contains("use")) {
    if (!use->is_string() || use->get_string() != "sig") {
      return tl::make_unexpected(std::string("JWK \"use\" must be \"sig\""));
    }
  }
  auto pub = parse_public_jwk(o);
  if (!pub) return tl::make_unexpected(pub.error());
  KeyEntry e;
  e.alg = pub->alg;
  if (const json::value* kid = o.if_contains("kid")) {
    if (!kid->is_string() || kid->get_string().empty()) {
      return tl::make_unexpected(std::string("JWK \"kid\" must be a non-empty string"));
    }
    e.kid = std::string(kid->get_string());
  } else {
    e.kid = thumbprint_of(*pub);  // same rule our own keys use
  }
  auto pkey = build_public_key(*pub);
  if (!pkey) return tl::make_unexpected(pkey.error());
  e.pkey = std::move(*pkey);
  e.verify_ctx = make_verify_template(e.pkey.get(), e.alg);
  if (!e.verify_ctx) return tl::make_unexpected(std::string("cannot set up verification for key"));
  return e;
}
}  // namespace

struct KeySet::Impl {
  // A handful of keys at most (current + next + retiring): a linear scan beats
  // hashing the kid.
  std::vector<KeyEntry> keys;

  const KeyEntry* find(std::string_view kid) const {
    for (const auto& k : keys) {
      if (k.kid == kid) return &k;
    }
    return nullptr;
  }

  // All-or-nothing: a JWKS with one bad key adds none.
  tl::expected<void, std::string> add_all(std::vector<KeyEntry> fresh) {
    for (std::size_t i = 0; i < fresh.size(); ++i) {
      const std::string& kid = fresh[i].kid;
      bool dup = find(kid) != nullptr;
      for (std::size_t j = 0; j < i && !dup; ++j) dup = fresh[j].kid == kid;
      if (dup) return tl::make_unexpected("duplicate kid \"" + kid + "\"");
    }
    for (auto& e : fresh) keys.push_back(std::move(e));
    return {};
  }
};

KeySet::KeySet() : impl_(std::make_unique<Impl>()) {}
KeySet::~KeySet() = default;
KeySet::KeySet(KeySet&&) noexcept = default;
KeySet& KeySet::operator=(KeySet&&) noexcept = default;

std::size_t KeySet::size() const { return impl_->keys.size(); }

tl::expected<void, std::string> KeySet::add_jwk(std::string_view jwk_json) {
  json::error_code ec;
  json::value v = json::parse(json::string_view(jwk_json.data(), jwk_json.size()), ec);
  if (ec || !v.is_object()) return tl::make_unexpected(std::string("JWK is not a JSON object"));
  auto e = entry_from_jwk(v.get_object());
  if (!e) return tl::make_unexpected(e.error());
  std::vector<KeyEntry> one;
  one.push_back(std::move(*e));
  return impl_->add_all(std::move(one));
}

tl::expected<void, std::string> KeySet::add_jwks(std::string_view jwks_json) {
  json::error_code ec;
  json::value v = json::parse(json::string_view(jwks_json.data(), jwks_json.size()), ec);
  if (ec || !v.is_object()) return tl::make_unexpected(std::string("JWKS is not a JSON object"));
  const json::value* keys = v.get_object().if_contains("keys");
  if (keys == nullptr || !keys->is_array()) {
    return tl::make_unexpected(std::string("JWKS has no \"keys\" array"));
  }
  std::vector<KeyEntry> fresh;
  std::size_t index = 0;
  for (const json::value& k : keys->get_array()) {
    if (!k.is_object()) {
      return tl::make_unexpected("JWKS key " + std::to_string(index) + " is not an object");
    }
    auto e = entry_from_jwk(k.get_object());
    if (!e) return tl::make_unexpected("JWKS key " + std::to_string(index) + ": " + e.error());
    fresh.push_back(std::move(*e));
    ++index;
  }
  return impl_->add_all(std::move(fresh));
}

tl::expected<void, JwsError> KeySet::verify_signature(std::string_view kid, Alg alg,
                                                      std::string_view signing_input,
                                                      std::string_view signature) const {
  const KeyEntry* key = impl_->find(kid);
  if (key == nullptr) return tl::make_unexpected(JwsError::kUnknownKid);
  if (key->alg != alg) return tl::make_unexpected(JwsError::kAlgKidMismatch);
  if (!verify_raw(key->verify_ctx.get(), signing_input, alg, signature)) {
    return tl::make_unexpected(JwsError::kBadSignature);
  }
  return {};
}

tl::expected<KeySet::Verified, JwsError> KeySet::verify(std::string_view compact,
                                                        std::size_t max_len) const {
  // Cheap structural checks first, so junk costs nothing.
  if (compact.size() > max_len) return tl::make_unexpected(JwsError::kTooLarge);
  const std::size_t dot1 = compact.find('.');
  if (dot1 == std::string_view::npos) return tl::make_unexpected(JwsError::kMalformed);
  const std::size_t dot2 = compact.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || compact.find('.', dot2 + 1) != std::string_view::npos) {
    return tl::make_unexpected(JwsError::kMalformed);
  }
  const std::string_view header_b64 = compact.substr(0, dot1);
  const std::string_view payload_b64 = compact.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_b64 = compact.substr(dot2 + 1);

  auto header = base64url_decode(header_b64);
  if (!header) return tl::make_unexpected(JwsError::kMalformed);

  StackArena<1024> header_arena;
  json::error_code ec;
  const json::value hv =
      json::parse(json::string_view(header->data(), header->size()), ec, &header_arena.resource);
  if (ec || !hv.is_object()) return tl::make_unexpected(JwsError::kBadHeader);
  const json::object& h = hv.get_object();
  const json::string* alg_name = string_member(h, "alg");
  if (alg_name == nullptr) return tl::make_unexpected(JwsError::kBadHeader);
  const std::optional<Alg> alg = alg_from_string(*alg_name);
  if (!alg) return tl::make_unexpected(JwsError::kAlgNotAllowed);
  // RFC 7515 §4.1.11: we understand no extensions, so any "crit" is fatal.
  if (h.contains("crit")) return tl::make_unexpected(JwsError::kBadHeader);
  const json::string* kid = string_member(h, "kid");
  if (kid == nullptr) return tl::make_unexpected(JwsError::kMissingKid);

  const KeyEntry* key = impl_->find(*kid);
  if (key == nullptr) return tl::make_unexpected(JwsError::kUnknownKid);
  if (key->alg != *alg) return tl::make_unexpected(JwsError::kAlgKidMismatch);

  auto signature = base64url_decode(signature_b64);
  if (!signature) return tl::make_unexpected(JwsError::kMalformed);
  if (!verify_raw(key->verify_ctx.get(), compact.substr(0, dot2), *alg, *signature)) {
    return tl::make_unexpected(JwsError::kBadSignature);
  }

  auto payload = base64url_decode(payload_b64);
  if (!payload) return tl::make_unexpected(JwsError::kMalformed);
  {
    StackArena<2048> payload_arena;
    const json::value pv = json::parse(json::string_view(payload->data(), payload->size()), ec,
                                       &payload_arena.resource);
    if (ec || !pv.is_object()) return tl::make_unexpected(JwsError::kBadPayload);
  }
  return Verified{std::move(*header), std::move(*payload), std::string(*kid), *alg};
}

}  // namespace stepup::crypto
