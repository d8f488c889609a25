// TOTP (RFC 6238 over RFC 4226 HOTP): code generation and verification, plus
// the enrollment artefacts (base32 secret, otpauth:// URI, QR code as SVG).
//
// Pure: secret bytes, a code and `now` in; no clock, no store. Verification
// accepts +-window steps, compares in constant time, and never accepts a step
// at or before `last_used_step` (each code works at most once per factor).
// Thread-safe (no shared state).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/time.h"

namespace stepup::factors {

enum class TotpAlg { kSha1, kSha256, kSha512 };
std::string_view to_string(TotpAlg a);  // "SHA1" | "SHA256" | "SHA512" (otpauth spelling)
std::optional<TotpAlg> totp_alg_from_string(std::string_view s);  // case-insensitive

struct TotpParams {
  TotpAlg alg = TotpAlg::kSha1;
  int digits = 6;   // 6..8
  int period = 30;  // seconds
  int window = 1;   // steps accepted either side of now
};

// True when digits is 6..8, period is 1..86400 and window is 0..10. With
// invalid params hotp_code/totp_code return "" and totp_verify never matches.
bool totp_params_valid(const TotpParams& p);

// Random secret: 20 bytes (160 bits) for SHA1, 32 for SHA256, 64 for SHA512.
std::string totp_new_secret(const TotpParams& p);

// HOTP value for `counter` (RFC 4226 §5.3 dynamic truncation), zero-padded.
std::string hotp_code(std::string_view secret, std::uint64_t counter, const TotpParams& p);
// TOTP step for a time: floor(t / period) (0 for an invalid period).
std::int64_t totp_step(core::UnixTime t, const TotpParams& p);
std::string totp_code(std::string_view secret, core::UnixTime t, const TotpParams& p);

// The matched step when `code` is valid at `now` (within the window) and its
// step is greater than `last_used_step`; nullopt otherwise. Input that is not
// exactly `digits` ASCII digits (spaces are stripped first) never matches.
std::optional<std::int64_t> totp_verify(std::string_view secret, std::string_view code,
                                        core::UnixTime now, std::int64_t last_used_step,
                                        const TotpParams& p);

// RFC 4648 base32, upper case, no padding; decode is case-insensitive and
// ignores spaces and '=' padding.
std::string base32_encode(std::string_view bytes);
std::optional<std::string> base32_decode(std::string_view text);

// `secret` is the raw secret bytes (base32-encoded into the URI). Label and
// issuer are percent-encoded (RFC 3986 unreserved kept); an empty issuer
// leaves the label as ACCOUNT and omits the issuer parameter.
// otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=...&algorithm=...&digits=...&period=...
std::string otpauth_uri(std::string_view issuer, std::string_view account, std::string_view secret,
                        const TotpParams& p);

// QR code of `text` as a standalone SVG document (libqrencode, ECC level M).
// Deterministic for the same text; "" when the text does not fit in a QR code.
std::string qr_svg(std::string_view text);

}  // namespace stepup::factors
