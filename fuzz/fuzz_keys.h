// Fixed public keys for the JWS fuzz target, shared with the seed generator
// (fuzz/make_jws_seeds.mjs holds the matching private keys, test-only). With
// fixed keys the committed seed tokens carry valid signatures, so the fuzzer
// starts past the signature check and reaches the claim checks.
// Header-only, constants only.
#pragma once

namespace stepup::fuzz {

inline constexpr char kIssuer[] = "https://stepup.fuzz";
inline constexpr char kAudience[] = "stepup";
// The fixed "now" the seed tokens were minted around (iat = kNow - 10).
inline constexpr long long kNow = 1790000000;

inline constexpr char kJwks[] = R"({"keys":[
{"kty":"EC","crv":"P-256","x":"K6ezvDPfX_2fod6sNd-xjP6uq40JlZmyh8NrCRSrXls","y":"d2Yf0O03494SSqkiHpO7ft_YHZll2cZk1iMzVCEvZAY","kid":"fuzz-es256","alg":"ES256","use":"sig"},
{"kty":"OKP","crv":"Ed25519","x":"zl-PtAE91_JtEP5glgyuCkalzOSd8ObdSfOqdf_IbPc","kid":"fuzz-ed25519","alg":"EdDSA","use":"sig"}
]})";

}  // namespace stepup::fuzz
