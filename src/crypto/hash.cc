#include "crypto/hash.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>

#include <cstdlib>

#include "crypto/encoding.h"
#include "crypto/openssl_handles.h"

namespace stepup::crypto {
namespace {

constexpr std::size_t kSha256Len = 32;

// Fetching algorithms by name is the slow part of OpenSSL 3's EVP; HMAC runs on
// every refresh and code check, so fetch once and share (fetched objects are
// immutable and safe to use from many threads).
const EVP_MD* sha256_md() {
  static const ossl::MdPtr md{EVP_MD_fetch(nullptr, "SHA256", nullptr)};
  return md.get();
}

EVP_MAC* hmac_mac() {
  static const ossl::MacPtr mac{EVP_MAC_fetch(nullptr, "HMAC", nullptr)};
  return mac.get();
}

// These primitives cannot fail on valid inputs with the default provider; a
// failure means a broken OpenSSL install, and returning a wrong digest would
// be worse than stopping.
[[noreturn]] void die() { std::abort(); }

// OpenSSL treats a NULL key pointer as "keep the previous key"; an empty
// string_view may carry a NULL data(), so point at a real (empty) buffer.
const unsigned char* bytes_of(std::string_view s) {
  static const unsigned char kEmpty[1] = {0};
  return s.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string sha256(std::string_view data) {
  const EVP_MD* md = sha256_md();
  if (md == nullptr) die();
  std::string out(kSha256Len, '\0');
  unsigned int len = 0;
  if (EVP_Digest(bytes_of(data), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
                 md, nullptr) != 1 ||
      len != kSha256Len) {
    die();
  }
  return out;
}

std::string sha256_hex(std::string_view data) { return hex_encode(sha256(data)); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  EVP_MAC* mac = hmac_mac();
  if (mac == nullptr) die();
  ossl::MacCtxPtr ctx{EVP_MAC_CTX_new(mac)};
  if (!ctx) die();
  char digest_name[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end(),
  };
  std::string out(kSha256Len, '\0');
  std::size_t len = 0;
  if (EVP_MAC_init(ctx.get(), bytes_of(key), key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), bytes_of(data), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, out.size()) !=
          1 ||
      len != kSha256Len) {
    die();
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace stepup::crypto
