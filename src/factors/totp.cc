#include "factors/totp.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <qrencode.h>

#include <array>
#include <cstdlib>
#include <memory>

#include "crypto/hash.h"
#include "crypto/random.h"

namespace stepup::factors {
namespace {

constexpr int kMinDigits = 6;
constexpr int kMaxDigits = 8;
constexpr int kMaxPeriod = 86400;
// Each extra step of window multiplies the guessing odds; more than a few
// minutes of drift means a broken clock, not a user to accommodate.
constexpr int kMaxWindow = 10;
constexpr int kQuietZone = 4;  // modules of white border required by ISO/IEC 18004
constexpr std::string_view kBase32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// Local RAII owners: crypto/openssl_handles.h is private to the crypto layer.
struct MacFree {
  void operator()(EVP_MAC* m) const noexcept { EVP_MAC_free(m); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};
struct QrFree {
  void operator()(QRcode* q) const noexcept { QRcode_free(q); }
};
using MacPtr = std::unique_ptr<EVP_MAC, MacFree>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;
using QrPtr = std::unique_ptr<QRcode, QrFree>;

// Fetching is the slow part of OpenSSL 3's EVP and every code check runs
// 2*window+1 HMACs: fetch once; fetched objects are immutable and thread-safe.
EVP_MAC* hmac_mac() {
  static const MacPtr mac{EVP_MAC_fetch(nullptr, "HMAC", nullptr)};
  return mac.get();
}

const char* digest_name(TotpAlg a) {
  switch (a) {
    case TotpAlg::kSha1:
      return "SHA1";
    case TotpAlg::kSha256:
      return "SHA256";
    case TotpAlg::kSha512:
      return "SHA512";
  }
  return "SHA1";
}

// HMAC cannot fail on valid inputs with the default provider; a failure means
// a broken OpenSSL install, and a wrong code would be worse than stopping.
[[noreturn]] void die() {
  ERR_clear_error();
  std::abort();
}

// OpenSSL treats a NULL key as "keep the previous key"; an empty string_view
// may carry a NULL data(), so point at a real (empty) buffer.
const unsigned char* bytes_of(std::string_view s) {
  static const unsigned char kEmpty[1] = {0};
  return s.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

std::string hmac(TotpAlg alg, std::string_view key, std::string_view data) {
  EVP_MAC* mac = hmac_mac();
  if (mac == nullptr) die();
  MacCtxPtr ctx{EVP_MAC_CTX_new(mac)};
  if (!ctx) die();
  // OSSL_PARAM wants a mutable char*; the buffer outlives the init call.
  std::array<char, 8> name{};
  const char* n = digest_name(alg);
  for (std::size_t i = 0; n[i] != '\0' && i + 1 < name.size(); ++i) name[i] = n[i];
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, name.data(), 0),
      OSSL_PARAM_construct_end(),
  };
  std::string out(EVP_MAX_MD_SIZE, '\0');
  std::size_t len = 0;
  if (EVP_MAC_init(ctx.get(), bytes_of(key), key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), bytes_of(data), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, out.size()) !=
          1) {
    die();
  }
  out.resize(len);
  return out;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int base32_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0f]);
    }
  }
  return out;
}

}  // namespace

std::string_view to_string(TotpAlg a) { return digest_name(a); }

std::optional<TotpAlg> totp_alg_from_string(std::string_view s) {
  std::string upper(s);
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  if (upper == "SHA1") return TotpAlg::kSha1;
  if (upper == "SHA256") return TotpAlg::kSha256;
  if (upper == "SHA512") return TotpAlg::kSha512;
  return std::nullopt;
}

bool totp_params_valid(const TotpParams& p) {
  return p.digits >= kMinDigits && p.digits <= kMaxDigits && p.period >= 1 &&
         p.period <= kMaxPeriod && p.window >= 0 && p.window <= kMaxWindow;
}

std::string totp_new_secret(const TotpParams& p) {
  // RFC 4226 §4 asks for at least 128 bits and recommends 160; match the
  // secret to the hash's output size as RFC 6238's reference vectors do.
  switch (p.alg) {
    case TotpAlg::kSha1:
      return crypto::random_bytes(20);
    case TotpAlg::kSha256:
      return crypto::random_bytes(32);
    case TotpAlg::kSha512:
      return crypto::random_bytes(64);
  }
  return crypto::random_bytes(20);
}

std::string hotp_code(std::string_view secret, std::uint64_t counter, const TotpParams& p) {
  if (!totp_params_valid(p)) return {};
  std::array<char, 8> msg{};
  for (int i = 7; i >= 0; --i) {
    msg[static_cast<std::size_t>(i)] = static_cast<char>(counter & 0xff);
    counter >>= 8;
  }
  const std::string mac = hmac(p.alg, secret, std::string_view(msg.data(), msg.size()));
  // RFC 4226 §5.3: the low nibble of the last byte picks 4 bytes; the top bit
  // is masked so the result does not depend on signed/unsigned arithmetic.
  const auto byte = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(mac[i]));
  };
  const std::size_t offset = byte(mac.size() - 1) & 0x0f;
  const std::uint32_t bin = ((byte(offset) & 0x7f) << 24) | (byte(offset + 1) << 16) |
                            (byte(offset + 2) << 8) | byte(offset + 3);
  std::uint32_t modulus = 1;
  for (int i = 0; i < p.digits; ++i) modulus *= 10;
  std::uint32_t value = bin % modulus;
  std::string out(static_cast<std::size_t>(p.digits), '0');
  for (int i = p.digits - 1; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out;
}

std::int64_t totp_step(core::UnixTime t, const TotpParams& p) {
  if (p.period <= 0) return 0;
  return floor_div(t, p.period);  // RFC 6238 §4.2 with T0 = 0
}

std::string totp_code(std::string_view secret, core::UnixTime t, const TotpParams& p) {
  if (!totp_params_valid(p)) return {};
  return hotp_code(secret, static_cast<std::uint64_t>(totp_step(t, p)), p);
}

std::optional<std::int64_t> totp_verify(std::string_view secret, std::string_view code,
                                        core::UnixTime now, std::int64_t last_used_step,
                                        const TotpParams& p) {
  if (!totp_params_valid(p)) return std::nullopt;
  // Authenticator apps show "123 456"; anything longer than a few groups is
  // not a code, so bound the work before copying.
  if (code.size() > 32) return std::nullopt;
  std::string digits;
  for (const char c : code) {
    if (c == ' ') continue;
    if (c < '0' || c > '9') return std::nullopt;
    digits.push_back(c);
  }
  if (digits.size() != static_cast<std::size_t>(p.digits)) return std::nullopt;

  const std::int64_t now_step = totp_step(now, p);
  // Every candidate is computed and compared so timing does not reveal which
  // step (if any) matched. The earliest fresh match wins.
  std::int64_t matched = -1;
  bool found = false;
  for (std::int64_t step = now_step - p.window; step <= now_step + p.window; ++step) {
    if (step < 0) continue;  // before 1970: no such counter
    const std::string candidate = hotp_code(secret, static_cast<std::uint64_t>(step), p);
    const bool equal = crypto::constant_time_equal(candidate, digits);
    const bool take = equal & (step > last_used_step) & !found;
    matched = take ? step : matched;
    found = found | take;
  }
  if (!found) return std::nullopt;
  return matched;
}

std::string base32_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char ch : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(ch);
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 0x1f]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 0x1f]);
  return out;
}

std::optional<std::string> base32_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 5 / 8);
  std::uint32_t buffer = 0;
  int bits = 0;
  std::size_t symbols = 0;
  for (const char c : text) {
    if (c == ' ' || c == '=') continue;
    const int v = base32_value(c);
    if (v < 0) return std::nullopt;
    ++symbols;
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  // RFC 4648 §6: a final quantum has 2, 4, 5 or 7 symbols; 1, 3 or 6 cannot
  // come from any byte string. Leftover bits must be zero (canonical form)
  // so each secret has exactly one spelling.
  const std::size_t tail = symbols % 8;
  if (tail == 1 || tail == 3 || tail == 6) return std::nullopt;
  if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string otpauth_uri(std::string_view issuer, std::string_view account, std::string_view secret,
                        const TotpParams& p) {
  // Google Authenticator Key URI format: the label's ':' stays literal, so
  // an issuer containing ':' is percent-encoded and cannot be mis-split.
  std::string uri = "otpauth://totp/";
  if (!issuer.empty()) {
    uri += percent_encode(issuer);
    uri += ':';
  }
  uri += percent_encode(account);
  uri += "?secret=";
  uri += base32_encode(secret);
  if (!issuer.empty()) {
    uri += "&issuer=";
    uri += percent_encode(issuer);
  }
  uri += "&algorithm=";
  uri += to_string(p.alg);
  uri += "&digits=";
  uri += std::to_string(p.digits);
  uri += "&period=";
  uri += std::to_string(p.period);
  return uri;
}

std::string qr_svg(std::string_view text) {
  // encodeData (not encodeString8bit) so the length is explicit and an
  // embedded NUL cannot truncate the payload.
  const QrPtr qr{QRcode_encodeData(static_cast<int>(text.size()),
                                   reinterpret_cast<const unsigned char*>(text.data()), 0,
                                   QR_ECLEVEL_M)};
  if (!qr) return {};
  const int width = qr->width;
  const int size = width + 2 * kQuietZone;
  const std::string dim = std::to_string(size);

  // One path; each horizontal run of dark modules is one rectangle, which
  // keeps the document small (a typical otpauth QR is ~2 KB).
  std::string path;
  for (int y = 0; y < width; ++y) {
    int x = 0;
    while (x < width) {
      // Bit 0 of each module byte is "dark"; the other bits describe structure.
      if ((qr->data[y * width + x] & 1) == 0) {
        ++x;
        continue;
      }
      const int start = x;
      while (x < width && (qr->data[y * width + x] & 1) != 0) ++x;
      path += 'M';
      path += std::to_string(start + kQuietZone);
      path += ' ';
      path += std::to_string(y + kQuietZone);
      path += 'h';
      path += std::to_string(x - start);
      path += "v1h-";
      path += std::to_string(x - start);
      path += 'z';
    }
  }

  std::string svg;
  svg.reserve(path.size() + 400);
  svg += R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 )";
  svg += dim + ' ' + dim;
  svg += R"(" width=")" + std::to_string(size * 4) + R"(" height=")" + std::to_string(size * 4);
  svg += R"(" shape-rendering="crispEdges" role="img" aria-labelledby="qr-title">)";
  svg += R"(<title id="qr-title">QR code for your authenticator app</title>)";
  svg += R"(<rect width="100%" height="100%" fill="#ffffff"/>)";
  svg += R"(<path fill="#000000" d=")" + path + R"("/>)";
  svg += "</svg>";
  return svg;
}

}  // namespace stepup::factors
