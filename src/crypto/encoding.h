// Byte encodings used on the wire: base64url without padding (JOSE, tokens),
// standard base64, hex. Decoders reject any character outside the alphabet.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace stepup::crypto {

std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);  // no padding accepted
std::string base64_encode(std::string_view bytes);
std::string hex_encode(std::string_view bytes);
std::optional<std::string> hex_decode(std::string_view text);

}  // namespace stepup::crypto
